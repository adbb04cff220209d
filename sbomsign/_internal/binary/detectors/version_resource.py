"""Windows version resources (VS_VERSIONINFO) as the package a PE file says it belongs to.

A DLL or program built with a resource script names its product, version and maker
(`ProductName`, `ProductVersion`, `FileVersion`, `CompanyName`): zlib1.dll says "zlib 1.2.13".
That is a `PACKAGE` component like a package note's (what the file is, `linking` `NONE`),
found by the version resource, with no purl (the resource names no ecosystem) and no CPE
(its vendor would be a guess).
"""

from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign.models import Component, ComponentKind, Evidence, Linking

#: Version-resource strings kept as `sbomsign:version-resource:<key>` properties.
_KEPT = ("CompanyName", "FileDescription", "FileVersion", "InternalName", "OriginalFilename",
         "ProductName", "ProductVersion")
_MAX_VALUE = 256


def detect(facts: Facts) -> Detection:
    """A `PACKAGE` component from the version resource's product name and version."""
    strings = {k: v.strip()[:_MAX_VALUE] for k, v in facts.version_info if v.strip()}
    name = strings.get("ProductName", "")
    version = strings.get("ProductVersion") or strings.get("FileVersion", "")
    if not name or not version:
        return Detection()
    return Detection(components=(Component(
        kind=ComponentKind.PACKAGE,
        name=name,
        version=version,
        linking=Linking.NONE,
        found_by="version resource",
        supplier=strings.get("CompanyName", ""),
        properties=tuple(sorted((f"sbomsign:version-resource:{k}", strings[k])
                                for k in _KEPT if k in strings)),
        evidence=(Evidence(technique="binary-analysis", confidence=0.8,
                           source="version resource", location=".rsrc"),),
    ),))
