"""`sbomsign scan`: print what is inside binaries."""

from __future__ import annotations

import argparse
import enum
import json
from collections.abc import Sequence
from typing import assert_never

from sbomsign._cli import env_default
from sbomsign._cli._output import emit
from sbomsign._cli._shared import PATHS_HELP, add_scan_options, exit_code, scan_for
from sbomsign.models import Artifact, Binary, Container, Inventory


class ScanFormat(enum.StrEnum):
    """Output formats of `scan`."""

    TABLE = "table"
    JSON = "json"


def register(parser: argparse.ArgumentParser) -> None:
    """Add `scan`'s arguments."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help=PATHS_HELP)
    parser.add_argument(
        "--format",
        choices=[f.value for f in ScanFormat],
        default=env_default("format", ScanFormat.TABLE.value),
        help="human table, or the inventory as JSON",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE ('-' = stdout)")
    add_scan_options(parser)


def run(args: argparse.Namespace) -> int:
    """Scan and print; exit 2 when any file could not be inspected."""
    fmt = ScanFormat(args.format)
    inventory = scan_for(args, "scan")
    if fmt is ScanFormat.JSON:
        data = json.dumps(inventory.to_json(), indent=2, sort_keys=False).encode() + b"\n"
    elif fmt is ScanFormat.TABLE:
        data = render_table(inventory).encode()
    else:  # pragma: no cover
        assert_never(fmt)
    emit(data, args.output)
    return exit_code(inventory)


def _yn(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _binary_lines(b: Binary) -> list[str]:
    lines = [
        f"  {b.format} {b.arch} {b.bits}-bit {b.endianness}-endian {b.os} ({b.os_abi}) "
        f"{b.file_type}, {'static' if b.linkage.static else 'dynamic'}"
        + (f", interpreter {b.linkage.interpreter}" if b.linkage.interpreter else "")
    ]
    if b.build_id:
        lines.append(f"  build-id   {b.build_id}")
    if b.pe_timestamp is not None:
        lines.append(f"  timestamp  {b.pe_timestamp}")
    h = b.hardening
    parts = [f"PIE {_yn(h.pie)}", f"NX {_yn(h.nx)}"]
    if b.format == "elf":
        parts += [
            f"RELRO {h.relro}",
            f"stack-protector {_yn(h.stack_protector)}",
            f"FORTIFY {_yn(h.fortify)}",
        ]
    if b.format == "pe":
        parts += [
            f"ASLR {_yn(h.aslr)}",
            f"DEP {_yn(h.dep)}",
            f"CFG {_yn(h.cfg)}",
            f"high-entropy-VA {_yn(h.high_entropy_va)}",
        ]
    if b.format == "macho":
        parts.append(f"code-signature {_yn(h.code_signature)}")
    parts.append(f"stripped {_yn(h.stripped)}")
    lines.append("  hardening  " + ", ".join(parts))
    lines.extend(f"  links      {lib.name} ({lib.how})" for lib in b.linkage.libraries)
    lines.extend(f"  rpath      {rp}" for rp in b.linkage.rpath)
    lines.extend(f"  runpath    {rp}" for rp in b.linkage.runpath)
    if b.go is not None:
        g = b.go
        ver = g.go_version + "".join(f" X:{x}" for x in g.experiments)
        lines.append(f"  go         {ver} ({g.evidence})")
        if g.path:
            lines.append(f"  go path    {g.path}")
        if g.main is not None:
            src = f" [{g.main_version_source}]" if g.main_version_source else ""
            lines.append(f"  go main    {g.main.path} {g.main_version or g.main.version}{src}")
        for k, v in g.settings:
            lines.append(f"  go build   {k}={v}")
    if b.rust is not None:
        lines.append(
            f"  rust       cargo-auditable format {b.rust.format}, {len(b.rust.packages)} crates"
        )
    for note in b.package_notes:
        desc = " ".join(f"{k}={v}" for k, v in note.fields)
        lines.append(f"  package    {desc} ({note.location})")
    return lines


def _artifact_lines(a: Artifact) -> list[str]:
    lines = [f"{a.path}  {_size(a.size)}", f"  sha256     {a.digests.sha256}"]
    for b in a.binaries:
        if len(a.binaries) > 1:
            lines.append(f"  slice at offset {b.slice_offset}:")
        lines.extend(_binary_lines(b))
    if a.components:
        lines.append(f"  components ({len(a.components)}):")
        lines.extend(_table([("KIND", "NAME", "VERSION", "FOUND BY", "PURL")] + [
            (c.kind.value, c.name, c.version or "-", c.found_by or "-", c.purl or "-")
            for c in a.components
        ]))
    return lines


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows as aligned columns, indented under their heading; the last column is not
    padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["    " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False))
            + "  " + r[-1] for r in rows]


def _container_lines(c: Container) -> list[str]:
    lines = [f"{c.kind} {c.name}" + (f"  {c.platform}" if c.platform else ""),
             f"  digest     sha256:{c.digests.sha256}"]
    if c.purl:
        lines.append(f"  purl       {c.purl}")
    lines.extend(f"  layer      {layer.digest}" for layer in c.layers)
    if c.distro:
        lines.append(f"  distro     {c.distro}")
    if c.kind == "image" or c.packages:
        db = c.package_database or "none found (the package list is incomplete)"
        lines.append(f"  packages   {len(c.packages)}" + (f" from {db}" if c.kind == "image"
                                                          else ""))
        if c.packages:
            lines.extend(_table([("NAME", "VERSION", "LICENCE", "PURL")] + [
                (p.name, p.version or "-", " AND ".join(p.licenses) or "-", p.purl or "-")
                for p in c.packages]))
    if c.licenses:
        lines.append(f"  licence    {' AND '.join(c.licenses)}")
    lines.append(f"  binaries   {len(c.files)}")
    for link in c.links:
        where = link.resolved or f"not found in the {c.kind}"
        owner = f" ({link.package})" if link.package else ""
        lines.append(f"  library    {link.binary} -> {link.library}: {where}{owner}")
    return lines


def render_table(inventory: Inventory) -> str:
    """The human-readable report."""
    out: list[str] = []
    for c in inventory.containers:
        out.extend(_container_lines(c))
        out.append("")
    for a in inventory.artifacts:
        out.extend(_artifact_lines(a))
        out.append("")
    if not inventory.artifacts:
        out.append("no binaries found")
    return "\n".join(out).rstrip("\n") + "\n"
