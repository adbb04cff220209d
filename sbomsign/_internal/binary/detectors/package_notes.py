"""Package metadata notes as components: the distribution package a binary was built as.

The notes themselves (ELF `.note.package`, PE `.pkgnote`) are read by the format readers
(`binary/notes.py`); this detector turns them into components with `pkg:deb`/`pkg:rpm`/...
purls.
"""

import re
from collections.abc import Sequence

from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign._internal.purl import purl
from sbomsign.models import (
    Component,
    ComponentKind,
    Evidence,
    Linking,
    PackageNote,
)

# Distribution architecture names for sbomsign's normalised ones, used only when the note does
# not name its architecture. Only unambiguous mappings are listed: "arm" could be armel, armhf,
# armv7hl, ...; "i386" is i386 on Debian but i586/i686 on RPM distributions.
_DEB_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "i386": "i386",
    "ppc64le": "ppc64el",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64el": "mips64el",
    "mipsel": "mipsel",
    "loongarch64": "loong64",
}
_RPM_ARCH = {
    "x86_64": "x86_64",
    "aarch64": "aarch64",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loongarch64",
}
_APK_ARCH = {
    "x86_64": "x86_64",
    "aarch64": "aarch64",
    "i386": "x86",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loongarch64",
}
_ALPM_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64", "riscv64": "riscv64"}
_DISTRO_TYPES = {"rpm": _RPM_ARCH, "deb": _DEB_ARCH, "apk": _APK_ARCH, "alpm": _ALPM_ARCH}

_CPE23 = re.compile(r"^cpe:2\.3:[aho*-]:")
_CPE22 = re.compile(r"^cpe:/[aho]:", re.IGNORECASE)


def _cpe_product_version(cpe: str) -> tuple[str, str]:
    """(product, version) of a CPE 2.3 formatted string or a CPE 2.2 URI, or empty strings."""
    if _CPE23.match(cpe):
        parts = re.split(r"(?<!\\):", cpe)
        product = parts[4] if len(parts) > 4 else ""
        version = parts[5] if len(parts) > 5 else ""
    elif _CPE22.match(cpe):
        parts = cpe[5:].split(":")
        product = parts[2] if len(parts) > 2 else ""
        version = parts[3] if len(parts) > 3 else ""
    else:
        return "", ""
    clean = [v if v not in ("*", "-") else "" for v in (product, version)]
    return clean[0].replace("\\", ""), clean[1].replace("\\", "")


def package_purl(note: PackageNote, binary_arch: str = "") -> str:
    """The purl of the package a note names, following syft's mapping (`elf_package.go`).

    `rpm`, `deb`, `apk` and `alpm` map to those purl types with the OS id as namespace and a
    `distro=<os>-<osVersion>` qualifier; the OS id and version come from `osCpe` when the note
    lacks them. The `arch` qualifier is the note's `architecture`, else the binary's
    architecture in the distribution's spelling when that is unambiguous. Other types give a
    `pkg:generic` purl whose namespace is the note's `system` (or OS id). Returns "" when the
    note has no name.
    """
    name = note.get("name")
    if not name:
        return ""
    os_id, os_version = note.get("os"), note.get("osVersion")
    cpe_product, cpe_version = _cpe_product_version(note.get("osCpe"))
    if not os_id:
        os_id = cpe_product
    if not os_version and (not cpe_product or cpe_product == os_id):
        os_version = cpe_version
    ptype = note.get("type").lower()
    qualifiers: dict[str, str] = {}
    if os_id:
        qualifiers["distro"] = f"{os_id}-{os_version}" if os_version else os_id
    if ptype in _DISTRO_TYPES:
        arch = note.get("architecture") or _DISTRO_TYPES[ptype].get(binary_arch, "")
        qualifiers["arch"] = arch
        namespace = os_id
    else:
        ptype = "generic"
        namespace = note.get("system") or os_id
    return purl(ptype, namespace, name, note.get("version"), qualifiers)


def package_components(
    notes: Sequence[PackageNote], binary_arch: str = ""
) -> tuple[Component, ...]:
    """One `PACKAGE` component per package note that names a package.

    The component describes the package the binary belongs to, not code in it (`linking` is
    `NONE`). Its CPE is the note's `appCpe`; every note field is kept as a
    `sbomsign:package-note:<name>` property. Notes without a `name` are skipped.
    """
    out: dict[str, Component] = {}
    for note in notes:
        name = note.get("name")
        if not name:
            continue
        comp = Component(
            kind=ComponentKind.PACKAGE,
            name=name,
            version=note.get("version"),
            purl=package_purl(note, binary_arch),
            linking=Linking.NONE,
            found_by="package note",
            cpe=note.get("appCpe"),
            properties=tuple(sorted((f"sbomsign:package-note:{k}", v) for k, v in note.fields)),
            evidence=(
                Evidence(
                    technique="binary-analysis",
                    confidence=1.0,
                    source="package note",
                    location=note.location,
                    offset=note.offset,
                ),
            ),
        )
        # NOTE: several notes for the same package (one per linked object) are legitimate.
        out.setdefault(comp.ref, comp)
    return tuple(out.values())


def detect(facts: Facts) -> Detection:
    """The distribution packages the image's package notes name."""
    return Detection(components=package_components(facts.package_notes, facts.arch))
