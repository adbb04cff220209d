#!/usr/bin/env python3
"""Describe the fixture binaries and write fixtures.json.

Usage: describe.py BIN_DIR MANIFEST OUTPUT_JSON

MANIFEST is a tab-separated file written by build-assets.sh, one line per
fixture: file (relative to BIN_DIR), os, expected arch, description. Every other
value in the output is read from the file itself by the small ELF / PE /
Mach-O header parsers below (standard library only), and then cross-checked
against the toolchain's own tools: readelf and objdump (binutils) for ELF and
PE, llvm-objdump for Mach-O.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"
NOTE_FDO_PACKAGE = 0xCAFE1A7E
NOTE_FDO_DLOPEN = 0x407C0C0A


def go_buildinfo(data: bytes) -> dict[str, Any]:
    """Find the Go build-info header (16-byte aligned) and report its format."""
    i = data.find(GO_BUILDINFO_MAGIC)
    while i != -1 and i % 16:
        i = data.find(GO_BUILDINFO_MAGIC, i + 1)
    if i == -1:
        return {"go": False}
    flags = data[i + 15]
    return {
        "go": True,
        # Go >= 1.18 stores the version and module strings inline (flag 0x2);
        # older toolchains store two pointers to string headers instead.
        "go_buildinfo_format": "inline" if flags & 0x2 else "pointer",
    }


# --------------------------------------------------------------------------- ELF

ELF_MACHINES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv64",
    258: "loongarch64",
}
PT_DYNAMIC, PT_INTERP, PT_NOTE = 2, 3, 4
SHT_SYMTAB, SHT_NOTE, SHT_DYNSYM = 2, 7, 11
DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS_1 = 1, 5, 14, 15, 29, 0x6FFFFFFB
DF_1_PIE = 0x08000000


def elf_arch(machine: int, bits: int, endian: str) -> str:
    arch = ELF_MACHINES.get(machine, f"elf-machine-{machine}")
    if arch == "ppc64" and endian == "little":
        return "ppc64le"
    if arch == "mips":
        arch = "mips64" if bits == 64 else "mips"
        return arch + ("el" if endian == "little" else "")
    if arch == "s390x" and bits == 32:
        return "s390"
    return arch


def parse_notes(blob: bytes, e: str) -> list[tuple[str, int, bytes]]:
    notes = []
    off = 0
    while off + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from(e + "III", blob, off)
        off += 12
        name = blob[off : off + namesz].rstrip(b"\0").decode("ascii", "replace")
        off += (namesz + 3) & ~3
        desc = blob[off : off + descsz]
        off += (descsz + 3) & ~3
        notes.append((name, ntype, desc))
    return notes


def describe_elf(data: bytes) -> dict[str, Any]:
    bits = {1: 32, 2: 64}[data[4]]
    endian = {1: "little", 2: "big"}[data[5]]
    e = "<" if endian == "little" else ">"
    if bits == 64:
        (e_type, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum,
         e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(e + "HHIQQQIHHHHHH", data, 16)
    else:
        (e_type, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum,
         e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(e + "HHIIIIIHHHHHH", data, 16)

    segments = []
    for n in range(e_phnum):
        o = e_phoff + n * e_phentsize
        if bits == 64:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from(e + "IIQQQQQQ", data, o)
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = struct.unpack_from(e + "IIIIIIII", data, o)
        segments.append((p_type, p_offset, p_vaddr, p_filesz))

    sections = []
    for n in range(e_shnum):
        o = e_shoff + n * e_shentsize
        if bits == 64:
            sh_name, sh_type, _, sh_addr, sh_offset, sh_size = struct.unpack_from(e + "IIQQQQ", data, o)
        else:
            sh_name, sh_type, _, sh_addr, sh_offset, sh_size = struct.unpack_from(e + "IIIIII", data, o)
        sections.append([sh_name, sh_type, sh_addr, sh_offset, sh_size])
    if sections:
        strtab = sections[e_shstrndx]
        for s in sections:
            end = data.index(b"\0", strtab[3] + s[0])
            s[0] = data[strtab[3] + s[0] : end].decode()
    section_names = [s[0] for s in sections]

    def vaddr_to_offset(addr: int) -> int:
        for p_type, p_offset, p_vaddr, p_filesz in segments:
            if p_type == 1 and p_vaddr <= addr < p_vaddr + p_filesz:
                return addr - p_vaddr + p_offset
        raise ValueError(f"address {addr:#x} not in a PT_LOAD segment")

    interp = None
    dyn: list[tuple[int, int]] = []
    for p_type, p_offset, _, p_filesz in segments:
        if p_type == PT_INTERP:
            interp = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == PT_DYNAMIC:
            fmt, size = (e + "qQ", 16) if bits == 64 else (e + "iI", 8)
            for o in range(p_offset, p_offset + p_filesz, size):
                tag, val = struct.unpack_from(fmt, data, o)
                if tag == 0:
                    break
                dyn.append((tag, val))

    def dynstr(val: int) -> str:
        base = vaddr_to_offset(next(v for t, v in dyn if t == DT_STRTAB))
        return data[base + val : data.index(b"\0", base + val)].decode()

    needed = [dynstr(v) for t, v in dyn if t == DT_NEEDED]
    rpath = next((dynstr(v) for t, v in dyn if t == DT_RPATH), None)
    runpath = next((dynstr(v) for t, v in dyn if t == DT_RUNPATH), None)
    soname = next((dynstr(v) for t, v in dyn if t == DT_SONAME), None)
    flags_1 = next((v for t, v in dyn if t == DT_FLAGS_1), 0)

    notes = []
    note_sections = [s for s in sections if s[1] == SHT_NOTE]
    if note_sections:
        for s in note_sections:
            notes += parse_notes(data[s[3] : s[3] + s[4]], e)
    else:
        for p_type, p_offset, _, p_filesz in segments:
            if p_type == PT_NOTE:
                notes += parse_notes(data[p_offset : p_offset + p_filesz], e)
    package_metadata = [
        json.loads(d.rstrip(b"\0")) for n, t, d in notes if n == "FDO" and t == NOTE_FDO_PACKAGE
    ]
    dlopen: list[str] = []
    for n, t, d in notes:
        if n == "FDO" and t == NOTE_FDO_DLOPEN:
            for entry in json.loads(d.rstrip(b"\0")):
                dlopen += entry["soname"]
    build_id = next((d.hex() for n, t, d in notes if n == "GNU" and t == 3), None)

    if e_type == 3 and interp is None and not flags_1 & DF_1_PIE:
        kind, pie = "shared-library", None
    else:
        kind = "executable"
        pie = e_type == 3
    # A shared library is dynamic by nature, even one without DT_NEEDED.
    static = kind == "executable" and interp is None and not needed
    return {
        "format": "elf",
        "kind": kind,
        "arch": elf_arch(e_machine, bits, endian),
        "bits": bits,
        "endianness": endian,
        "static": static,
        "stripped": ".symtab" not in section_names,
        "pie": pie,
        "interpreter": interp,
        "soname": soname,
        "needed": needed,
        "rpath": rpath,
        "runpath": runpath,
        "build_id": build_id,
        "package_notes": len(package_metadata),
        "package_metadata": package_metadata,
        "dlopen": dlopen,
        "sections": [n for n in section_names if n in (".dep-v0", ".note.package", ".note.dlopen")],
    }


# ---------------------------------------------------------------------------- PE

PE_MACHINES = {0x14C: "i386", 0x8664: "x86_64", 0xAA64: "aarch64", 0x1C4: "arm"}
PE_DLL_CHARACTERISTICS = {
    0x0020: "HIGH_ENTROPY_VA",
    0x0040: "DYNAMIC_BASE",
    0x0100: "NX_COMPAT",
    0x0400: "NO_SEH",
    0x4000: "GUARD_CF",
    0x8000: "TERMINAL_SERVER_AWARE",
}


def describe_pe(data: bytes) -> dict[str, Any]:
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe : pe + 4] == b"PE\0\0"
    machine, nsect, _, symptr, nsyms, optsize, characteristics = struct.unpack_from("<HHIIIHH", data, pe + 4)
    opt = pe + 24
    magic = struct.unpack_from("<H", data, opt)[0]
    bits = {0x10B: 32, 0x20B: 64}[magic]
    dllchar = struct.unpack_from("<H", data, opt + 70)[0]
    ddir = opt + (96 if bits == 32 else 112)
    import_rva, _ = struct.unpack_from("<II", data, ddir + 8)

    sections = []
    sh = opt + optsize
    for n in range(nsect):
        raw_name, vsize, vaddr, rawsize, rawptr = struct.unpack_from("<8sIIII", data, sh + 40 * n)
        name = raw_name.rstrip(b"\0").decode()
        if name.startswith("/") and symptr:
            # long section name: offset into the COFF string table
            strtab = symptr + 18 * nsyms
            off = strtab + int(name[1:])
            name = data[off : data.index(b"\0", off)].decode()
        sections.append((name, vaddr, max(vsize, rawsize), rawptr, rawsize))

    def rva_to_offset(rva: int) -> int:
        for _, vaddr, size, rawptr, _ in sections:
            if vaddr <= rva < vaddr + size:
                return rva - vaddr + rawptr
        raise ValueError(f"RVA {rva:#x} not in a section")

    needed = []
    if import_rva:
        o = rva_to_offset(import_rva)
        while True:
            desc = struct.unpack_from("<IIIII", data, o)
            if not any(desc):
                break
            name_off = rva_to_offset(desc[3])
            needed.append(data[name_off : data.index(b"\0", name_off)].decode())
            o += 20

    package_metadata = []
    for name, _, _, rawptr, rawsize in sections:
        if name == ".pkgnote":
            package_metadata.append(json.loads(data[rawptr : rawptr + rawsize].split(b"\0")[0]))
    return {
        "format": "pe",
        "kind": "shared-library" if characteristics & 0x2000 else "executable",
        "arch": PE_MACHINES.get(machine, f"pe-machine-{machine:#x}"),
        "bits": bits,
        "endianness": "little",
        "static": not needed,
        "stripped": symptr == 0 or nsyms == 0,
        "pie": bool(dllchar & 0x40),
        "dll_characteristics": [v for k, v in sorted(PE_DLL_CHARACTERISTICS.items()) if dllchar & k],
        "needed": needed,
        "rpath": None,
        "runpath": None,
        "package_notes": len(package_metadata),
        "package_metadata": package_metadata,
        "dlopen": [],
        "sections": [s[0] for s in sections if s[0] in (".pkgnote", ".dep-v0")],
    }


# ------------------------------------------------------------------------ Mach-O

MACHO_CPUS = {7: "i386", 0x01000007: "x86_64", 12: "arm", 0x0100000C: "aarch64"}
LC_SYMTAB, LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_RPATH = 0x2, 0xC, 0x80000018, 0x8000001F, 0x8000001C
MH_PIE = 0x200000
N_STAB, N_TYPE, N_SECT = 0xE0, 0x0E, 0x0E


def describe_macho(data: bytes) -> dict[str, Any]:
    magic = struct.unpack_from("<I", data, 0)[0]
    bits = {0xFEEDFACE: 32, 0xFEEDFACF: 64}[magic]
    cputype, _, filetype, ncmds, _, flags = struct.unpack_from("<iiIIII", data, 4)
    cputype &= 0xFFFFFFFF
    o = 32 if bits == 64 else 28
    needed, rpaths = [], []
    defined_symbols = 0
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, o)
        if cmd in (LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_RPATH):
            str_off = struct.unpack_from("<I", data, o + 8)[0]
            s = data[o + str_off : o + size].split(b"\0")[0].decode()
            (rpaths if cmd == LC_RPATH else needed).append(s)
        elif cmd == LC_SYMTAB:
            symoff, nsyms = struct.unpack_from("<II", data, o + 8)
            entsize = 16 if bits == 64 else 12
            for n in range(nsyms):
                n_type = data[symoff + n * entsize + 4]
                if not n_type & N_STAB and n_type & N_TYPE == N_SECT:
                    defined_symbols += 1
        o += size
    return {
        "format": "macho",
        "kind": {2: "executable", 6: "shared-library"}.get(filetype, f"macho-filetype-{filetype}"),
        "arch": MACHO_CPUS.get(cputype, f"macho-cpu-{cputype:#x}"),
        "bits": bits,
        "endianness": "little",
        "static": not needed,
        # Go's -s keeps only the undefined (imported) symbols dyld needs.
        "stripped": defined_symbols == 0,
        "pie": bool(flags & MH_PIE),
        "needed": needed,
        "rpath": ":".join(rpaths) or None,
        "runpath": None,
        "package_notes": 0,
        "package_metadata": [],
        "dlopen": [],
        "sections": [],
    }


def describe_fat(data: bytes) -> dict[str, Any]:
    nfat = struct.unpack_from(">I", data, 4)[0]
    slices = []
    for n in range(nfat):
        _, _, offset, size, _ = struct.unpack_from(">iiIII", data, 8 + 20 * n)
        s = describe_macho(data[offset : offset + size])
        s.update(go_buildinfo(data[offset : offset + size]))
        slices.append(s)
    first = dict(slices[0])
    for key in ("pie", "stripped", "static", "bits", "go"):
        values = {s[key] for s in slices}
        first[key] = values.pop() if len(values) == 1 else None  # None: the slices differ
    first.update(
        format="macho-fat",
        arch="universal",
        slices=[{k: s[k] for k in ("arch", "bits", "endianness", "pie", "stripped", "go")} for s in slices],
    )
    return first


def describe(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if data[:4] == b"\x7fELF":
        d = describe_elf(data)
    elif data[:2] == b"MZ":
        d = describe_pe(data)
    elif data[:4] == b"\xca\xfe\xba\xbe":
        d = describe_fat(data)
    elif data[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        d = describe_macho(data)
    else:
        raise SystemExit(f"{path}: unknown format")
    d.update(go_buildinfo(data))
    d["size"] = len(data)
    d["sha256"] = hashlib.sha256(data).hexdigest()
    return d


# ------------------------------------------------------------------ cross-check


def run(*cmd: str, ok: tuple[int, ...] = (0,)) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def find_tool(*names: str) -> str | None:
    return next((shutil.which(n) for n in names if shutil.which(n)), None)


def cross_check(path: Path, d: dict[str, Any]) -> None:
    """Compare the parsed values with what binutils / LLVM report."""
    problems = []
    if d["format"] == "elf":
        dyn = run("readelf", "-dW", str(path))
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", dyn)
        rpath = re.findall(r"\(RPATH\)\s+Library rpath: \[(.*)\]", dyn)
        runpath = re.findall(r"\(RUNPATH\)\s+Library runpath: \[(.*)\]", dyn)
        # binutils 2.40 readelf exits 1 after printing a note type it does not
        # know (the FDO dlopen note), having printed everything else.
        notes = run("readelf", "-nW", str(path), ok=(0, 1))
        pkg = len(re.findall(r"FDO_PACKAGING_METADATA", notes))
        dl = len(re.findall(r"Unknown note type: \(0x407c0c0a\)|FDO_DLOPEN_METADATA", notes))
        hdr = run("readelf", "-hW", str(path))
        if needed != d["needed"]:
            problems.append(f"needed {needed} != {d['needed']}")
        if (rpath[0] if rpath else None) != d["rpath"]:
            problems.append(f"rpath {rpath} != {d['rpath']}")
        if (runpath[0] if runpath else None) != d["runpath"]:
            problems.append(f"runpath {runpath} != {d['runpath']}")
        if pkg != d["package_notes"]:
            problems.append(f"readelf sees {pkg} package notes, parser {d['package_notes']}")
        if bool(dl) != bool(d["dlopen"]):
            problems.append("dlopen note mismatch")
        want = {32: "ELF32", 64: "ELF64"}[d["bits"]]
        if want not in hdr or ("big endian" in hdr) != (d["endianness"] == "big"):
            problems.append("class/endianness mismatch")
    elif d["format"] == "pe":
        objdump = find_tool("x86_64-w64-mingw32-objdump", "objdump")
        assert objdump
        out = run(objdump, "-p", str(path))
        dlls = re.findall(r"^\s*DLL Name: (.*)$", out, re.M)
        if dlls != d["needed"]:
            problems.append(f"objdump DLLs {dlls} != {d['needed']}")
        if bool(re.search(r"^Magic\s+020b", out, re.M)) != (d["bits"] == 64):
            problems.append("PE32/PE32+ mismatch")
    elif d["format"] in ("macho", "macho-fat"):
        llvm_objdump = find_tool("llvm-objdump", *(f"llvm-objdump-{v}" for v in range(20, 12, -1)))
        if llvm_objdump:
            out = run(llvm_objdump, "--macho", "--dylibs-used", str(path))
            libs = sorted({m.strip() for m in re.findall(r"^\s+(\S+) \(compatibility", out, re.M)})
            if libs != sorted(set(d["needed"])):
                problems.append(f"llvm-objdump dylibs {libs} != {d['needed']}")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems))


FIELD_ORDER = [
    "file", "description", "format", "kind", "os", "arch", "bits", "endianness", "static",
    "go", "go_buildinfo_format", "stripped", "pie", "dll_characteristics", "interpreter",
    "soname", "needed", "rpath", "runpath", "build_id", "package_notes", "package_metadata",
    "dlopen", "sections", "slices", "size", "sha256",
]


def main() -> int:
    bin_dir, manifest, output = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    fixtures = []
    for line in manifest.read_text().splitlines():
        file, os_name, arch, description = line.split("\t")
        d = describe(bin_dir / file)
        if d["arch"] != arch:
            raise SystemExit(f"{file}: built for {arch} but the file says {d['arch']}")
        cross_check(bin_dir / file, d)
        d.update(file=file, os=os_name, description=description)
        if not d["go"]:
            d.pop("go_buildinfo_format", None)
        fixtures.append({k: d[k] for k in FIELD_ORDER if k in d})
    output.write_text(json.dumps(fixtures, indent=2) + "\n")
    print(f"describe: wrote {len(fixtures)} fixtures to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
