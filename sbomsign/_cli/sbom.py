"""`sbomsign sbom`: write CycloneDX / SPDX SBOMs for binaries."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sbomsign._cli import env_default
from sbomsign._cli._output import atomic_write, emit
from sbomsign._cli._shared import PATHS_HELP, add_scan_options
from sbomsign.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, InputError
from sbomsign.models import Artifact, Inventory
from sbomsign.sbom import PROFILE_CHECKS, SbomFormat

logger = logging.getLogger("sbomsign")

_EPILOG = """\
file names:
  one document per artifact and format, named <artifact-file-name>.cdx.json, .cdx.xml,
  .spdx.json, .spdx or .spdx3.json, in DIR (--output-dir) or beside the artifact.
  With --merge, one document per format describes every artifact (e.g. the amd64, arm64 and
  loong64 builds of one service) with shared components listed once. It is named
  <prefix>.merged.cdx.json (and so on), where <prefix> is the artifacts' common file-name
  prefix without trailing '-', '_' or '.' ("demo-svc-linux" for demo-svc-linux-amd64 and
  demo-svc-linux-arm64; "artifacts" when they share none), in DIR, else in the artifacts'
  closest common directory, else in the current directory.
  -o FILE names the single document written (one format; one artifact or --merge);
  -o - writes it to stdout.

reproducibility:
  with the same inputs and SOURCE_DATE_EPOCH the documents are byte-identical; without it
  they carry the current time.

supplier and author (NTIA minimum elements):
  NAME is 'Name', 'Organization: Name (email)' or 'Person: Name (email)'. Without them the
  documents are valid and say NOASSERTION.
"""


def _formats(text: str) -> list[SbomFormat]:
    out: list[SbomFormat] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            fmt = SbomFormat(part)
        except ValueError:
            choices = ", ".join(f.value for f in SbomFormat)
            raise argparse.ArgumentTypeError(
                f"unknown format {part!r} (choose from {choices})"
            ) from None
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise argparse.ArgumentTypeError("no format given")
    return out


def _default_formats() -> str:
    # NOTE: SBOMSIGN_FORMAT is shared with `scan` (table/json); it is a default here only when
    # it names SBOM formats, so a value meant for `scan` does not break `sbom`.
    value = env_default("format")
    if value:
        try:
            _formats(value)
        except argparse.ArgumentTypeError:
            value = None
    return value or SbomFormat.CYCLONEDX_JSON.value


def register(parser: argparse.ArgumentParser) -> None:
    """Add `sbom`'s arguments."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("paths", nargs="+", metavar="PATH", help=PATHS_HELP)
    parser.add_argument(
        "--format",
        dest="formats",
        type=_formats,
        action="append",
        metavar="FMT[,FMT...]",
        help="cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tv, spdx3-json (SPDX 3.0.1); "
        "comma-separated or repeated "
        f"(default: {_default_formats()})",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="FILE",
                       help="write the one document to FILE ('-' = stdout)")
    where.add_argument("--output-dir", metavar="DIR", type=Path,
                       help="write the documents into DIR (created if missing)")
    parser.add_argument("--merge", action="store_true",
                        help="one document describing all artifacts (per format)")
    parser.add_argument("--supplier", default=env_default("supplier"), metavar="NAME",
                        help="supplier of the artifacts (env SBOMSIGN_SUPPLIER)")
    parser.add_argument("--author", default=env_default("author"), metavar="NAME",
                        help="author of the SBOM data (env SBOMSIGN_AUTHOR)")
    parser.add_argument(
        "--spec-version",
        default=env_default("spec-version"),
        metavar="VERSION",
        help="CycloneDX spec version: 1.6 (default), 1.7 or 1.5; SPDX is always 2.3 "
        "(spdx3-json: 3.0.1)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILE_CHECKS),
        default=env_default("profile"),
        metavar="PROFILE",
        help="add what a buyer's profile asks and the scan can know: bsi (TR-03183-2 v2.1.0, "
        "CycloneDX 1.6+: the bsi:component:* properties), openchain-telco (OpenChain Telco "
        "SBOM Guide 1.1/1.2, SPDX 2.3; needs --supplier and an organization as --author)",
    )
    parser.add_argument(
        "--check",
        choices=sorted(PROFILE_CHECKS),
        metavar="PROFILE",
        help="check the PATHs, SBOMs made by any tool, against a buyer's required fields "
        "instead of writing SBOMs: bsi (TR-03183-2 v2.1.0, CycloneDX JSON), openchain-telco "
        "(OpenChain Telco SBOM Guide 1.2, SPDX 2 JSON or tag-value); exit 1 when a field is "
        "missing",
    )
    add_scan_options(parser)


def _check(args: argparse.Namespace) -> int:
    """Report each document's missing fields on stdout; 1 when any document lacks one."""
    from sbomsign._cli._output import read_bounded
    from sbomsign.errors import SbomError
    title, problems_of = PROFILE_CHECKS[args.check]
    failed = unreadable = False
    for path in args.paths:
        try:
            problems = problems_of(read_bounded(Path(path)), path)
        except (OSError, SbomError, InputError) as e:
            reason = str(e.strerror) if isinstance(e, OSError) else e.message
            print(f"sbomsign sbom: error: {path}: {reason.removeprefix(f'{path}: ')}",
                  file=sys.stderr)
            unreadable = True
            continue
        if problems:
            failed = True
            report = f"{path}: {title}: {len(problems)} required field(s) missing\n" + \
                "".join(f"  {line}\n" for line in problems)
        else:
            report = f"{path}: {title}: every required field present\n"
        emit(report.encode(), None)
    return EXIT_USAGE if unreadable else EXIT_FAILURE if failed else EXIT_OK


def merged_directory(artifacts: list[Artifact]) -> Path:
    """Where a merged document goes without --output-dir: the artifacts' closest common
    directory, or the current directory when they have none."""
    parents = [os.path.dirname(a.path) or "." for a in artifacts]
    try:
        return Path(os.path.commonpath(parents))
    except ValueError:  # absolute and relative paths mixed, or different drives
        return Path(".")


def _spec_for(fmt: SbomFormat, spec: str | None, formats: list[SbomFormat]) -> str | None:
    if not spec:
        return None
    if _accepts(fmt, spec):
        return spec
    if any(_accepts(f, spec) for f in formats):
        return None  # the version was meant for the documents of another format
    if fmt is SbomFormat.SPDX3_JSON:
        raise InputError(f"--spec-version {spec}: spdx3-json documents are always SPDX 3.0.1")
    raise InputError(f"--spec-version {spec}: SPDX documents are always SPDX 2.3")


def _accepts(fmt: SbomFormat, spec: str) -> bool:
    """Whether `--spec-version` may be meant for documents of this format: any version for
    CycloneDX (the writer checks it), the one version an SPDX format writes."""
    if fmt.is_cyclonedx:
        return True
    return spec.removeprefix("SPDX-") == ("3.0.1" if fmt is SbomFormat.SPDX3_JSON else "2.3")


Unit = Inventory | list[Artifact]
"""What one document describes: an inventory of one container, or artifacts."""


def _units(inventory: Inventory) -> list[tuple[Unit, str, Path]]:
    """(unit, file-name stem, default directory) of each document of one format."""
    from sbomsign.sbom import document_stem

    units: list[tuple[Unit, str, Path]] = []
    for c in inventory.containers:
        one = Inventory(inventory.contents(c), (), inventory.tool_version, (c,))
        where = Path(".") if c.kind == "image" else Path(os.path.dirname(c.name) or ".")
        units.append((one, document_stem(c), where))
    units.extend(([a], a.name, Path(os.path.dirname(a.path) or "."))
                 for a in inventory.artifacts if not a.container)
    return units


def _plan(args: argparse.Namespace, inventory: Inventory,
          formats: list[SbomFormat]) -> list[tuple[Unit, SbomFormat, str | None]]:
    """(unit, format, destination) for each document; destination None = stdout."""
    from sbomsign.sbom import merged_name

    artifacts = list(inventory.artifacts)
    if args.merge and inventory.containers:
        raise InputError("--merge joins loose files; an image, archive or package is "
                         "already described by one document each")
    units = _units(inventory)
    if args.output is not None:
        if not args.merge and len(units) > 1:
            raise InputError(f"-o names one document, but there are {len(units)} "
                             f"artifacts or images: use --merge or --output-dir")
        dest = None if args.output == "-" else args.output
        return [(units[0][0] if units and not args.merge else artifacts, formats[0], dest)]
    if args.merge:
        directory = args.output_dir or merged_directory(artifacts)
        stem = merged_name(artifacts) + ".merged"
        return [(artifacts, f, str(directory / (stem + f.suffix))) for f in formats]
    plan: list[tuple[Unit, SbomFormat, str | None]] = []
    for unit, stem, where in units:
        directory = args.output_dir or where
        plan.extend((unit, f, str(directory / (stem + f.suffix))) for f in formats)
    return plan


def run(args: argparse.Namespace) -> int:
    """Scan, write the documents, and exit 2 when any file could not be inspected."""
    from sbomsign._cli._shared import exit_code, scan_for
    from sbomsign.sbom import prepare, resolve_timestamp, write

    if args.check:
        return _check(args)

    formats: list[SbomFormat] = []
    for group in args.formats or [_formats(_default_formats())]:
        formats.extend(f for f in group if f not in formats)
    if args.output is not None and len(formats) > 1:
        raise InputError("-o names one document: give one --format, or use --output-dir")
    for fmt in formats:
        _spec_for(fmt, args.spec_version, formats)
    # NOTE: one time for every document of the run, so the JSON and XML of a BOM agree.
    timestamp = resolve_timestamp(None)

    # NOTE: the writers load while the scan waits for its last files, not after it.
    inventory = scan_for(args, "sbom", while_waiting=lambda: prepare(formats))
    code = exit_code(inventory)
    # NOTE: an image or package without binaries (a distroless base image) still has its
    # packages to describe.
    if not inventory.artifacts and not inventory.containers:
        if inventory.problems:
            return code
        raise InputError("no binaries found in " + " ".join(args.paths))

    # NOTE: every document is built before any is written, so a refusal (a bad --supplier,
    # an unsupported spec version) leaves no partial set of files behind.
    documents = [
        (dest, write(arts, fmt, supplier=args.supplier, author=args.author,
                     spec_version=_spec_for(fmt, args.spec_version, formats),
                     timestamp=timestamp, merge=args.merge, profile=args.profile or ""))
        for arts, fmt, dest in _plan(args, inventory, formats)
    ]
    if args.output_dir is not None:
        try:
            args.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{args.output_dir}: cannot create: {e.strerror}") from e
    for dest, data in documents:
        if dest is None:
            emit(data, None)
        else:
            atomic_write(Path(dest), data)
            logger.info("wrote %s", dest)
    return code
