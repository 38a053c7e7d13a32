#!/usr/bin/env bash
# Creates (once) and prints the path of a Debian sysroot for a board architecture:
#   provisioning/sysroot.sh ARCH         ARCH: aarch64, riscv64
# The sysroot holds the board's libc, libcurl and libcrypto (headers and shared libraries) and
# everything they load at run time, so the agent can be linked for the board and run under
# qemu-user. Packages come from Debian with Debian's signature checks on: a private APT
# configuration (own lists, cache and status) fetches the target architecture's indexes, which apt
# verifies against the signed InRelease with the machine's Debian archive keyring, and
# `apt-get download` checks each package against those indexes. The machine's own apt setup is not
# touched. Cached in .sysroots/ARCH (git-ignored); delete that folder to rebuild it.
# Environment: FLOTILLA_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#              FLOTILLA_SYSROOT_SUITE (default bookworm for aarch64, forky for riscv64).
set -euo pipefail

ARCH="${1:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIRROR="${FLOTILLA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

case "$ARCH" in
    aarch64) DEB_ARCH=arm64; SUITE="${FLOTILLA_SYSROOT_SUITE:-bookworm}" ;;
    # bookworm has no riscv64 port; trixie's riscv64 indexes on our mirror fail their signed
    # sizes, so the default is the testing suite, whose binaries also run on trixie userlands.
    riscv64) DEB_ARCH=riscv64; SUITE="${FLOTILLA_SYSROOT_SUITE:-forky}" ;;
    *) echo "usage: $0 ARCH   (ARCH: aarch64, riscv64)" >&2; exit 2 ;;
esac

# Signatures and hashes are always checked. The Valid-Until freshness check can be relaxed with
# FLOTILLA_SYSROOT_ALLOW_EXPIRED=1 (CI does, for the testing suite, whose Release files on our
# mirror lapse between syncs): a sysroot is a build input whose libraries the board replaces with
# its own at run time, so authentic-but-stale indexes are acceptable there; forged ones are not.
CHECK_VALID_UNTIL=true
[ "${FLOTILLA_SYSROOT_ALLOW_EXPIRED:-0}" = 1 ] && CHECK_VALID_UNTIL=false

SYSROOT="$ROOT/.sysroots/$ARCH"
if [ -f "$SYSROOT/.complete" ]; then
    echo "$SYSROOT"
    exit 0
fi
[ -r "$KEYRING" ] || { echo "missing $KEYRING (Debian package debian-archive-keyring)" >&2; exit 1; }

WORK="$ROOT/.sysroots/.work-$ARCH"
rm -rf "$WORK" "$SYSROOT"
mkdir -p "$WORK/lists/partial" "$WORK/archives/partial" "$WORK/debs" "$WORK/etc/preferences.d" "$WORK/etc/apt.conf.d"
touch "$WORK/status"
echo "deb [arch=$DEB_ARCH signed-by=$KEYRING] $MIRROR $SUITE main" >"$WORK/sources.list"
cat >"$WORK/apt.conf" <<CONF
APT::Architecture "$DEB_ARCH";
APT::Architectures { "$DEB_ARCH"; };
APT::Get::AllowUnauthenticated "false";
Acquire::AllowInsecureRepositories "false";
Acquire::Languages "none";
Acquire::Check-Valid-Until "$CHECK_VALID_UNTIL";
Dir::State "$WORK";
Dir::State::lists "$WORK/lists";
Dir::State::status "$WORK/status";
Dir::Cache "$WORK";
Dir::Cache::archives "$WORK/archives";
Dir::Etc::SourceList "$WORK/sources.list";
Dir::Etc::SourceParts "$WORK/etc/sources.list.d";
Dir::Etc::Preferences "$WORK/etc/preferences";
Dir::Etc::PreferencesParts "$WORK/etc/preferences.d";
Dir::Etc::Parts "$WORK/etc/apt.conf.d";
CONF
export APT_CONFIG="$WORK/apt.conf"

echo "==> fetching signed $SUITE/$DEB_ARCH indexes from $MIRROR" >&2
if ! apt-get -q update >"$WORK/update.log" 2>&1; then
    cat "$WORK/update.log" >&2
    if grep -q 'is expired' "$WORK/update.log"; then
        echo "the $SUITE Release file is authentic but past its Valid-Until date; set" \
             "FLOTILLA_SYSROOT_ALLOW_EXPIRED=1 to accept it (signatures stay checked)" >&2
    fi
    exit 1
fi
if grep -qE '^(W|E):' "$WORK/update.log"; then
    cat "$WORK/update.log" >&2
    echo "apt reported problems with the $SUITE indexes; refusing to build an unverified sysroot" >&2
    exit 1
fi

# The development packages plus the run-time closure of the libraries the agent loads.
ROOTS=(libc6-dev libcurl4-openssl-dev libssl-dev)
GCC_DEV="$(apt-cache search --names-only '^libgcc-[0-9]+-dev$' | awk '{print $1}' | sort -V | tail -1)"
[ -n "$GCC_DEV" ] || { echo "no libgcc-N-dev in $SUITE/$DEB_ARCH" >&2; exit 1; }
ROOTS+=("$GCC_DEV")
PACKAGES="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances --no-pre-depends "${ROOTS[@]}" \
    | awk '/^[a-z0-9]/ { print $1 }' \
    | grep -vE '^(debconf|perl-base|dpkg|install-info|gcc-[0-9]+-base|tar|coreutils|bash|sensible-utils|libc-dev-bin|rpcsvc-proto|libgomp1|libitm1|libatomic1|libasan[0-9]+|liblsan0|libtsan[0-9]+|libubsan1|libhwasan0|libquadmath0|cpp.*|gcc.*)$' \
    | sort -u)"
echo "==> downloading $(echo "$PACKAGES" | wc -l) packages (checked against the signed indexes)" >&2
(cd "$WORK/debs" && apt-get -q download $PACKAGES >"$WORK/download.log" 2>&1) \
    || { cat "$WORK/download.log" >&2; exit 1; }

STAGE="$WORK/root"
mkdir -p "$STAGE"
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$STAGE"; done

rm -rf "$STAGE/usr/share/doc" "$STAGE/usr/share/man" "$STAGE/usr/share/locale"
# The agent links dynamically: static archives are dead weight, apart from the glue ones the
# libc and compiler-runtime linker scripts name.
find "$STAGE" -name '*.a' ! -name '*_nonshared.a' ! -name 'libgcc*.a' -delete
# Absolute symlinks inside the sysroot (e.g. libfoo.so -> /lib/...) must point into it.
while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    case "$target" in
        /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$STAGE$target")" "$link" ;;
    esac
done < <(find "$STAGE" -type l -print0)
# Debian is merged-/usr: /lib and /lib64 are /usr/lib and /usr/lib64.
for dir in lib lib64; do
    if [ -d "$STAGE/usr/$dir" ] && [ ! -e "$STAGE/$dir" ]; then ln -s "usr/$dir" "$STAGE/$dir"; fi
done

mkdir -p "$(dirname "$SYSROOT")"
mv "$STAGE" "$SYSROOT"
touch "$SYSROOT/.complete"
rm -rf "$WORK"
echo "==> sysroot ready: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))" >&2
echo "$SYSROOT"
