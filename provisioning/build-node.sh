#!/usr/bin/env bash
# Builds the flotilla-node agent as an Embedded Swift binary for one board architecture.
#   provisioning/build-node.sh ARCH        ARCH: x86_64, aarch64, riscv64
# Output: dist/flotilla-node-linux-ARCH (stripped), dynamically linked against the board's glibc,
# libcurl and libcrypto. The compiler and linker are the Swift toolchain's own (swiftc, clang,
# lld); no other toolchain is downloaded. x86_64 links against the host's libraries (installed
# with apt-get when missing); aarch64 and riscv64 against a sysroot built from Debian's signed
# packages by provisioning/sysroot.sh and cached in .sysroots/ARCH.
set -euo pipefail

ARCH="${1:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT_BIN="${SWIFT_BIN:-/opt/swift/usr/bin}"
SWIFTC="$SWIFT_BIN/swiftc"
CLANG="$SWIFT_BIN/clang"
DIST="$ROOT/dist"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

usage() {
    echo "usage: $0 ARCH   (ARCH: x86_64, aarch64, riscv64)" >&2
    exit 2
}

ensure_host_packages() {
    local missing=()
    for package in libcurl4-openssl-dev libssl-dev; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root or install them)" >&2
        exit 1
    fi
    echo "installing ${missing[*]}" >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

# Per-architecture settings: Swift target, clang target, extra C flags, sysroot.
SWIFT_TARGET=()
CLANG_TARGET=()
SYSROOT_FLAGS=()
LINK_TARGET=()
case "$ARCH" in
    x86_64)
        ensure_host_packages
        SWIFT_TARGET=(-target x86_64-unknown-linux-gnu)
        LINK_TARGET=(--target=x86_64-unknown-linux-gnu)
        ;;
    aarch64)
        SYSROOT="$("$ROOT/provisioning/sysroot.sh" aarch64)"
        SWIFT_TARGET=(-target aarch64-none-none-elf)
        CLANG_TARGET=(-clang-target aarch64-unknown-linux-gnu)
        SYSROOT_FLAGS=(-Xcc "--sysroot=$SYSROOT" -Xcc -I -Xcc "$SYSROOT/usr/include/aarch64-linux-gnu"
                       -Xcc -I -Xcc "$SYSROOT/usr/include")
        LINK_TARGET=(--target=aarch64-linux-gnu "--sysroot=$SYSROOT")
        ;;
    riscv64)
        SYSROOT="$("$ROOT/provisioning/sysroot.sh" riscv64)"
        # Debian's riscv64 port is RV64GC with the double-float ABI; without lp64d the link mixes
        # soft- and double-float objects and fails.
        SWIFT_TARGET=(-target riscv64-none-none-eabi)
        CLANG_TARGET=(-clang-target riscv64-unknown-linux-gnu -Xcc -march=rv64gc -Xcc -mabi=lp64d)
        SYSROOT_FLAGS=(-Xcc "--sysroot=$SYSROOT" -Xcc -I -Xcc "$SYSROOT/usr/include/riscv64-linux-gnu"
                       -Xcc -I -Xcc "$SYSROOT/usr/include")
        LINK_TARGET=(--target=riscv64-linux-gnu "--sysroot=$SYSROOT" -march=rv64gc -mabi=lp64d)
        ;;
    "")
        usage
        ;;
    *)
        echo "unsupported ARCH '$ARCH' (supported: x86_64, aarch64, riscv64)" >&2
        exit 2
        ;;
esac

SOURCES=()
while IFS= read -r -d '' file; do SOURCES+=("$file"); done \
    < <(find "$ROOT/Sources/FlotillaNode" -name '*.swift' -print0 | sort -z)
SOURCES+=("$ROOT/Sources/flotilla-node/main.swift")

OBJECT="$WORK/flotilla-node.o"
"$SWIFTC" -enable-experimental-feature Embedded -wmo -Osize -Xfrontend -function-sections -Xllvm -enable-machine-outliner \
    "${SWIFT_TARGET[@]}" "${CLANG_TARGET[@]}" "${SYSROOT_FLAGS[@]}" \
    -module-name flotilla_node \
    -I "$ROOT/Sources/CFlotillaCurl" -I "$ROOT/Sources/CFlotillaCrypto" -I "$ROOT/Sources/CFlotillaSystem" \
    -c "${SOURCES[@]}" -o "$OBJECT"

mkdir -p "$DIST"
OUTPUT="$DIST/flotilla-node-linux-$ARCH"
"$CLANG" "${LINK_TARGET[@]}" -fuse-ld=lld "$OBJECT" -o "$OUTPUT" \
    -Wl,--gc-sections -Wl,--icf=all -Wl,--as-needed -Wl,-s \
    -lcurl -lcrypto

echo "$OUTPUT $(stat -c %s "$OUTPUT") bytes"
