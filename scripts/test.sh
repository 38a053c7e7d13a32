#!/usr/bin/env bash
# Runs every test: installs missing system packages, builds the node agent with Embedded Swift
# (so the Embedded subset can never silently break), builds the package and runs all Swift tests,
# end-to-end tests with real processes on loopback included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

echo "==> Embedded Swift build of the node agent (x86_64)"
provisioning/build-node.sh x86_64
dist/flotilla-node-linux-x86_64 version

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
FLOTILLA_EMBEDDED_AGENT="$PWD/dist/flotilla-node-linux-x86_64" swift test --skip-build
