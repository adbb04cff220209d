"""OS package databases inside an image: dpkg, distroless' `status.d`, apk and rpm (sqlite;
Berkeley DB for RHEL 8 and older; ndb for SUSE; the package manifest of Azure Linux's
distroless images).

Each reader takes the system files the tree kept and gives the installed packages as
`OS_PACKAGE` components, with purls as syft writes them (`pkg:deb/debian/libc6@2.36-9?
arch=amd64&distro=debian-12&upstream=glibc`), and which package owns which file, where the
database lists files. The distro comes from `os-release` (`ID` and `VERSION_ID`). A package's
licences come from its database entry (apk, rpm) or its Debian copyright file (`licences`).
`READERS` is asked in order; every database found is read (an image may hold more than one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sbomsign._internal.binary.detectors import classifiers
from sbomsign._internal.purl import purl
from sbomsign._internal.sources import licences, rpmbdb, rpmheader, rpmndb
from sbomsign._internal.sources.streams import first_line
from sbomsign.errors import InputError
from sbomsign.models import Component, ComponentKind, Evidence, Linking


@dataclass
class Packages:
    """What the databases of one tree say."""

    distro: str = ""
    databases: list[str] = field(default_factory=list)
    components: dict[str, Component] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """Path (relative, no leading `/`) -> ref of the package whose file list names it."""
    warnings: list[str] = field(default_factory=list)
    resolve: Callable[[str], str | None] | None = None
    """Follows symlinks in the tree (Debian links one package's doc directory to another's)."""


Kept = dict[str, "bytes | str"]
Reader = Callable[[Kept, "Packages", str], bool]


def read(kept: Kept, resolve: Callable[[str], str | None] | None = None) -> Packages:
    """Every package database among the kept files; `resolve` follows the tree's symlinks."""
    found = Packages(resolve=resolve)
    release = _os_release(kept)
    distro_id = release.get("ID", "")
    found.distro = "-".join(x for x in (distro_id, release.get("VERSION_ID", "")) if x)
    for name, reader in READERS:
        try:
            if reader(kept, found, distro_id):
                found.databases.append(name)
        except (InputError, UnicodeDecodeError) as e:
            found.warnings.append(f"{name} database: unreadable ({first_line(e)})")
    return found


def _os_release(kept: Kept) -> dict[str, str]:
    raw = kept.get("etc/os-release", kept.get("usr/lib/os-release", b""))
    out: dict[str, str] = {}
    if not isinstance(raw, bytes):
        return out
    for line in raw.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z0-9_]+", key.strip()):
            out[key.strip()] = value.strip().strip("\"'")
    return out


def _add(found: Packages, component: Component, files: list[str]) -> None:
    found.components[component.ref] = component
    for path in files:
        found.owners.setdefault(path.lstrip("/"), component.ref)


def _component(ecosystem: str, namespace: str, name: str, version: str, qualifiers: dict[str, str],
               *, source: str, location: str, extra: dict[str, str],
               supplier: str = "", licence_names: tuple[str, ...] = ()) -> Component:
    # NOTE: licence fields of package databases are free text ("GPLv2+", "MIT or
    # Apache-2.0"): they travel as written in a property, and as SPDX licences only where
    # every name maps exactly (`licences`).
    props = tuple(sorted((f"sbomsign:os-package:{k}", v) for k, v in extra.items() if v))
    spdx = licences.declared(list(licence_names))
    # NOTE: a CPE only where the product table maps the package (or its source package) to
    # the NVD's vendor:product; no vendor is made up from a package name.
    return Component(
        kind=ComponentKind.OS_PACKAGE,
        name=name,
        version=version,
        purl=purl(ecosystem, namespace, name, version, qualifiers),
        cpe=classifiers.package_cpe((name, _source_name(extra)), version),
        linking=Linking.NONE,
        found_by=source,
        supplier=supplier,
        licenses=spdx,
        license_names=() if spdx else tuple(sorted(set(filter(None, licence_names)))),
        properties=props,
        evidence=(Evidence("manifest-analysis", 1.0, source, location=location),),
    )


def _source_name(extra: dict[str, str]) -> str:
    """The source package's name: dpkg's `glibc (2.36-9)`, apk's origin, rpm's
    `glibc-2.34-100.el9.src.rpm`."""
    source = (extra.get("source") or extra.get("origin") or "").split(" ")[0]
    if source.endswith(".src.rpm"):
        return source.rsplit("-", 2)[0]
    return source


# --- dpkg ------------------------------------------------------------------------------------


def paragraphs(text: str) -> Iterator[dict[str, str]]:
    """The paragraphs of a Debian control-format text (dpkg status, a control file)."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, ""
        elif line[0] in " \t":
            if key:
                fields[key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
    if fields:
        yield fields


def add_deb(found: Packages, para: dict[str, str], distro: str, location: str,
            files: list[str], kept: Kept | None = None) -> None:
    """Record one installed Debian package (a dpkg paragraph) and the files it lists; its
    licences from its copyright file among the `kept` files."""
    name, version = para.get("Package", ""), para.get("Version", "")
    if not name or not version:
        return
    if "Status" in para and not para["Status"].endswith(" installed"):
        return
    arch = para.get("Architecture", "")
    source = para.get("Source", "")
    upstream = source.split(" ")[0] if source else ""
    source_version = source[source.find("(") + 1 : source.find(")")] if "(" in source else ""
    qualifiers = {"arch": arch, "distro": distro_qualifier(found, distro)}
    if upstream and upstream != name:
        # NOTE: as syft writes it: the source version only where it differs (binNMUs).
        differs = source_version and source_version != version
        qualifiers["upstream"] = f"{upstream}@{source_version}" if differs else upstream
    supplier = re.sub(r"\s*<[^>]*>", "", para.get("Maintainer", "")).strip()
    names, declared = _copyright(found, kept or {}, name)
    _add(found, _component(
        "deb", distro or "debian", name, version, qualifiers, source="dpkg database",
        location=location, supplier=supplier,
        licence_names=tuple(names) if declared else (),
        extra={"arch": arch, "source": source, "homepage": para.get("Homepage", ""),
               "license": ", ".join(names)},
    ), files)


def _copyright(found: Packages, kept: Kept, name: str) -> tuple[list[str], bool]:
    path = f"usr/share/doc/{name}/copyright"
    raw = kept.get((found.resolve(path) if found.resolve else None) or path)
    if not isinstance(raw, bytes):
        return [], False
    return licences.debian_copyright(raw.decode("utf-8", "replace"))


def distro_qualifier(found: Packages, distro_id: str) -> str:
    """The `distro` purl qualifier: `debian-12`, `alpine-3.19.1`, ..."""
    return found.distro if distro_id else ""


def _dpkg(kept: Kept, found: Packages, distro: str) -> bool:
    raw = kept.get("var/lib/dpkg/status")
    if not isinstance(raw, bytes):
        return False
    for para in paragraphs(raw.decode("utf-8", "replace")):
        name = para.get("Package", "")
        arch = para.get("Architecture", "")
        listing = kept.get(f"var/lib/dpkg/info/{name}:{arch}.list",
                           kept.get(f"var/lib/dpkg/info/{name}.list", b""))
        files = (listing.decode("utf-8", "replace").splitlines()
                 if isinstance(listing, bytes) else [])
        add_deb(found, para, distro, "/var/lib/dpkg/status", files, kept)
    return True


def _distroless(kept: Kept, found: Packages, distro: str) -> bool:
    prefix = "var/lib/dpkg/status.d/"
    names = sorted(p for p in kept if p.startswith(prefix) and not p.endswith(".md5sums"))
    for path in names:
        raw = kept[path]
        if not isinstance(raw, bytes):
            continue
        sums = kept.get(path + ".md5sums", b"")
        files = [line.split(None, 1)[1] for line in sums.decode("utf-8", "replace").splitlines()
                 if len(line.split(None, 1)) == 2] if isinstance(sums, bytes) else []
        for para in paragraphs(raw.decode("utf-8", "replace")):
            add_deb(found, para, distro, "/" + path, files, kept)
    return bool(names)


# --- apk -------------------------------------------------------------------------------------


#: Where apk keeps its database: `/lib`, or `/usr/lib` where `/lib` is merged into `/usr`
#: (Wolfi and Chainguard's images, Alpine since its /usr merge).
_APK_DATABASES = ("lib/apk/db/installed", "usr/lib/apk/db/installed")


def _apk(kept: Kept, found: Packages, distro: str) -> bool:
    path = next((p for p in _APK_DATABASES if isinstance(kept.get(p), bytes)), "")
    raw = kept.get(path)
    if not isinstance(raw, bytes):
        return False
    for block in raw.decode("utf-8", "replace").split("\n\n"):
        fields: dict[str, str] = {}
        files: list[str] = []
        directory = ""
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if not sep or len(key) != 1:
                continue
            if key == "F":
                directory = value
            elif key == "R":
                files.append(f"{directory}/{value}" if directory else value)
            else:
                fields.setdefault(key, value)
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name or not version:
            continue
        arch, origin = fields.get("A", ""), fields.get("o", "")
        qualifiers = {"arch": arch, "distro": distro_qualifier(found, distro)}
        if origin and origin != name:
            qualifiers["upstream"] = origin
        licence = fields.get("L", "")
        _add(found, _component(
            "apk", distro or "alpine", name, version, qualifiers, source="apk database",
            location="/" + path,
            supplier=re.sub(r"\s*<[^>]*>", "", fields.get("m", "")).strip(),
            licence_names=(licence,) if licence else (),
            extra={"arch": arch, "origin": origin, "license": licence},
        ), files)
    return True


# --- rpm -------------------------------------------------------------------------------------

#: Most rows read from an rpm database.
_MAX_RPM_ROWS = 100_000


Rows = Callable[[str, str], Iterator[tuple[str, bytes]]]
"""The header blobs of an rpm database file, each with the label that names it."""


def _rpm_file(name: str, rows: Rows) -> Reader:
    """A reader of the rpm database file `name` (`rpmdb.sqlite`, `Packages`, `Packages.db`),
    whose header blobs `rows` gives."""
    def read(kept: Kept, found: Packages, distro: str) -> bool:
        path = next((p for p in kept if p.endswith("/" + name)), "")
        disk = kept.get(path) if path else None
        if not isinstance(disk, str):
            return False
        for count, (label, blob) in enumerate(rows(disk, "/" + path)):
            if count >= _MAX_RPM_ROWS:
                break
            add_rpm(found, rpmheader.parse_blob(blob, f"/{path} {label}"), distro, "/" + path)
        return True

    return read


def _sqlite_rows(disk: str, what: str) -> Iterator[tuple[str, bytes]]:
    # NOTE: imported here, as only UBI and Fedora images have such a database.
    import sqlite3

    try:
        with sqlite3.connect(f"file:{disk}?mode=ro&immutable=1", uri=True) as db:
            for hnum, blob in db.execute("SELECT hnum, blob FROM Packages LIMIT ?",
                                         (_MAX_RPM_ROWS,)):
                if isinstance(blob, bytes):
                    yield f"row {hnum}", blob
    except sqlite3.Error as e:
        raise InputError(first_line(e)) from None


def _records(headers: Callable[[str, str], Iterator[bytes]]) -> Rows:
    """Rows of a database whose records have no number of their own: counted from 1."""
    return lambda disk, what: ((f"record {n}", blob)
                               for n, blob in enumerate(headers(disk, what), 1))


_RPM_MANIFEST = "var/lib/rpmmanifest/container-manifest-2"


def _rpm_manifest(kept: Kept, found: Packages, distro: str) -> bool:
    """CBL-Mariner's and Azure Linux's distroless images hold no rpm database, only the
    output of `rpm -qa --queryformat` with NAME, VERSION-RELEASE, INSTALLTIME, BUILDTIME,
    VENDOR, EPOCH, SIZE, ARCH, EPOCHNUM and SOURCERPM, tab-separated, one package a line
    (the image toolkit's `container-manifest-2`); it lists no files."""
    raw = kept.get(_RPM_MANIFEST)
    if not isinstance(raw, bytes):
        return False
    for line in raw.decode("utf-8", "replace").splitlines()[:_MAX_RPM_ROWS]:
        fields = line.split("\t")
        version, _, release = fields[1].partition("-") if len(fields) >= 10 else ("", "", "")
        if not fields[0] or not version or not release or "-" in release:
            continue  # NOTE: as syft, a line that is not ten fields of a package is skipped
        tags: dict[int, str | tuple[str, ...] | tuple[int, ...]] = {
            rpmheader.NAME: fields[0], rpmheader.VERSION: version, rpmheader.RELEASE: release,
            rpmheader.VENDOR: fields[4], rpmheader.ARCH: fields[7],
            rpmheader.SOURCERPM: fields[9]}
        epoch = fields[8]
        if fields[5] != "(none)" and epoch.isascii() and epoch.isdigit() and len(epoch) < 10:
            tags[rpmheader.EPOCH] = (int(epoch),)
        add_rpm(found, rpmheader.Header(tags), distro, "/" + _RPM_MANIFEST)
    return True


def add_rpm(found: Packages, header: rpmheader.Header, distro: str, location: str) -> Component:
    """Record one rpm header as a package, and the files it lists."""
    name = header.text(rpmheader.NAME)
    version = header.text(rpmheader.VERSION)
    release = header.text(rpmheader.RELEASE)
    full = f"{version}-{release}" if release else version
    epoch = header.number(rpmheader.EPOCH)
    arch = header.text(rpmheader.ARCH)
    qualifiers = {"arch": arch, "distro": distro_qualifier(found, distro),
                  "epoch": str(epoch) if epoch else "",
                  "upstream": header.text(rpmheader.SOURCERPM)}
    licence = header.text(rpmheader.LICENSE)
    component = _component(
        "rpm", _rpm_namespace(distro), name, full, qualifiers, source="rpm database",
        location=location, supplier=header.text(rpmheader.VENDOR),
        licence_names=(licence,) if licence else (),
        extra={"arch": arch, "source": header.text(rpmheader.SOURCERPM), "license": licence},
    )
    _add(found, component, header.files())
    return component


def _rpm_namespace(distro: str) -> str:
    """The purl namespace of an rpm, as syft writes it: RHEL's (and UBI's) `rhel` is
    `redhat`, every openSUSE is `opensuse`."""
    if distro in ("", "rhel", "hummingbird"):
        return "redhat"
    return "opensuse" if distro.startswith("opensuse") else distro


READERS: tuple[tuple[str, Reader], ...] = (
    ("dpkg", _dpkg),
    ("dpkg status.d", _distroless),
    ("apk", _apk),
    ("rpm", _rpm_file("rpmdb.sqlite", _sqlite_rows)),
    ("rpm Berkeley DB", _rpm_file("Packages", _records(rpmbdb.headers))),
    ("rpm ndb", _rpm_file("Packages.db", _records(rpmndb.headers))),
    ("rpm manifest", _rpm_manifest),
)
