#!/usr/bin/env bash
# Runs every test: installs missing system packages, builds the node agent with Embedded Swift for
# x86_64, aarch64 and riscv64 (so the Embedded subset can never silently break), builds the package
# and runs all Swift tests (end-to-end tests with real processes on loopback included), then runs
# the aarch64 and riscv64 agents under qemu-user against a real coordinator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

# Debian testing's Release file on our mirror can lapse between syncs; signatures stay checked.
export FLOTILLA_SYSROOT_ALLOW_EXPIRED="${FLOTILLA_SYSROOT_ALLOW_EXPIRED:-1}"

echo "==> Embedded Swift builds of the node agent"
for arch in x86_64 aarch64 riscv64; do
    provisioning/build-node.sh "$arch"
    file "dist/flotilla-node-linux-$arch"
done
dist/flotilla-node-linux-x86_64 version

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
FLOTILLA_EMBEDDED_AGENT="$PWD/dist/flotilla-node-linux-x86_64" swift test --skip-build

echo "==> node agent under qemu-user (sysroots cached in .sysroots/)"
for arch in aarch64 riscv64; do
    provisioning/test-on-qemu.sh "$arch"
done
