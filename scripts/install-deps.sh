#!/usr/bin/env bash
# Installs the Debian packages Flotilla builds against, if any are missing:
# libcurl and OpenSSL (node agent), SQLite (coordinator), pkg-config, and for the board
# architectures: the Debian archive keyring (signed sysroots), qemu-user-static, file; and
# python3-venv when the machine's Python cannot make a virtualenv (gateway SDK tests).
# With --with-browser also Debian's chromium and its chromedriver (the dashboard's browser tests);
# with --with-postgres Debian's PostgreSQL server (the shared backend's tests and benchmarks).
set -euo pipefail

PACKAGES=(libcurl4-openssl-dev libssl-dev libsqlite3-dev pkg-config debian-archive-keyring qemu-user-static file)
for option in "$@"; do
    case "$option" in
    --with-browser) PACKAGES+=(chromium chromium-driver) ;;
    --with-postgres) PACKAGES+=(postgresql) ;;
    esac
done
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# The gateway tests need a Python that can make a virtualenv (for the openai/anthropic SDKs).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3 python3-venv); fi
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "missing packages ${missing[*]}: install them as root" >&2; exit 1; }
    SUDO=(sudo)
fi
echo "installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
