"""Library resolution inside an image for programs musl's loader runs (Alpine and other musl
images), on programs musl-gcc builds and Debian's musl package as the loader.

musl's loader searches RPATH and RUNPATH alike, then the directories of
`etc/ld-musl-ARCH.path` or else /lib, /usr/local/lib and /usr/lib, and answers the libc
names (`libc.so`, `libpthread.so.0`, ...) itself (musl's `ldso/dynlink.c`). glibc's rules
would miss a library in /usr/local/lib, which Alpine images built from source often use."""

from __future__ import annotations

import shutil
from pathlib import Path

from sbomsign.scan import scan_paths
from tests.images import debs, rootfs_image, run


def _build(work: Path) -> tuple[Path, Path]:
    """A shared library and a program that needs it, both built by musl-gcc."""
    (work / "demo.c").write_text("int demo(void) { return 7; }\n")
    (work / "main.c").write_text("int demo(void);\nint main(void) { return demo(); }\n")
    library, program = work / "libdemo.so.1", work / "app"
    run("musl-gcc", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", library,
        work / "demo.c")
    run("musl-gcc", "-o", program, work / "main.c", "-L", work, "-l:libdemo.so.1")
    return library, program


def _links(tmp_path: Path, library_dirs: tuple[str, ...], path_file: str = ""
           ) -> dict[tuple[str, str], str]:
    """(binary, library) -> the file it resolves to in an image of the program, its library
    in each of `library_dirs` and musl's loader."""
    work = tmp_path / "build"
    work.mkdir(parents=True)
    library, program = _build(work)
    root = tmp_path / "root"
    (musl,) = debs(("musl",))
    run("dpkg-deb", "-x", musl, root)  # the loader: /lib/ld-musl-x86_64.so.1 and its libc
    # NOTE: Debian's package names its own directories in a path file; Alpine has none.
    (root / "etc" / "ld-musl-x86_64.path").unlink()
    for directory in library_dirs:
        (root / directory).mkdir(parents=True, exist_ok=True)
        shutil.copy(library, root / directory / library.name)
    shutil.copy(program, root / "app")
    if path_file:
        (root / "etc" / "ld-musl-x86_64.path").write_text(path_file)
    layout = rootfs_image(root, tmp_path / "oci")
    inventory = scan_paths([f"oci-dir:{layout}:1.0"], jobs=1)
    assert not inventory.problems
    (container,) = inventory.containers
    return {(link.binary, link.library): link.resolved for link in container.links}


LIBC = "/lib/x86_64-linux-musl/libc.so"  # where Debian's musl package puts the loader


def test_the_default_directories_include_usr_local_lib(tmp_path: Path) -> None:
    links = _links(tmp_path, ("usr/local/lib",))
    assert links["/app", "libdemo.so.1"] == "/usr/local/lib/libdemo.so.1"
    # libc.so is the loader itself, resolved through its symlink to the file; a shared
    # library names no loader, and in an image whose only loader is musl's it is musl's
    assert links["/app", "libc.so"] == LIBC
    assert links["/usr/local/lib/libdemo.so.1", "libc.so"] == LIBC


def test_the_path_file_replaces_the_defaults(tmp_path: Path) -> None:
    links = _links(tmp_path, ("usr/local/lib", "opt/lib"), path_file="/opt/lib:/lib\n")
    assert links["/app", "libdemo.so.1"] == "/opt/lib/libdemo.so.1"
    links_without = _links(tmp_path / "only-usr-lib", ("usr/lib",), path_file="/opt/lib\n")
    assert links_without["/app", "libdemo.so.1"] == ""  # /usr/lib is not searched any more
