"""Go: build info decoded as `debug/buildinfo` does it, and the components it names.

- `buildinfo` — the build-info header (inline and pointer formats);
- `modinfo` — the module-info text and Go string literals;
- `version` — `go version -m` output and the main module's version for `(devel)` builds;
- `recover` — modules recovered from the module-info blob when the header is gone;
- `components` — the main module, its dependencies and `stdlib` as components;
- `symbols` — for builds without module information, modules inferred from the pclntab's
  function names.

`detect` is the detector: it reads the region `Facts.go` names and, when the header is
missing or damaged, searches the whole file for the module-info blob.
"""

from __future__ import annotations

from sbomsign._internal.binary._common import SegmentSpace
from sbomsign._internal.binary.detectors.golang import symbols
from sbomsign._internal.binary.detectors.golang.buildinfo import find_buildinfo
from sbomsign._internal.binary.detectors.golang.components import go_components
from sbomsign._internal.binary.detectors.golang.recover import recover_from_blob
from sbomsign._internal.binary.facts import Detection, Facts
from sbomsign.errors import Error
from sbomsign.models import GoBuildInfo

_RECOVERED = (
    "Go modules recovered from the module-info blob and the Go version from the "
    "runtime version string, not from the build-info header (weaker evidence)"
)
_RECOVERED_NO_VERSION = (
    "Go modules recovered from the module-info blob, not from the build-info header "
    "(weaker evidence); no Go version string was found"
)


def detect(facts: Facts) -> Detection:
    """Decode Go build info from the data start, falling back to the module-info sentinels."""
    search, view = facts.go, facts.view
    region = search.region
    data = view.read(region.offset, min(region.size, search.limit)) if region else b""
    location = region.name if region else ""
    error = ""
    info: GoBuildInfo | None = None
    try:
        info = find_buildinfo(
            data, region.offset if region else None, SegmentSpace(view, facts.mappings)
        )
    except Error as e:
        error = f"Go build info is damaged: {e.diagnostics()}"
    warnings: tuple[str, ...] = ()
    if info is None and search.scan_file:
        try:
            info = recover_from_blob(view.mm)
        except Error as e:
            error = error or f"Go module info is damaged: {e.diagnostics()}"
        if info is not None:
            location = "go modinfo"
            warnings = (_RECOVERED if info.go_version else _RECOVERED_NO_VERSION,)
    errors = (error,) if error else ()
    if info is None:
        return Detection(warnings=warnings, errors=errors)
    components = go_components(info, location)
    if info.main is None and not info.deps:
        # GOPATH mode (no module information): the function table still names the packages.
        named = symbols.components(facts, info.path)
        if named:
            components = (*named, *components)
            warnings = (*warnings, f"no Go modules recorded (a GOPATH build); {len(named)} "
                        f"module(s) inferred from the function names, without versions")
    return Detection(components=components, go=info, warnings=warnings, errors=errors)
