#!/usr/bin/env bash
# Runs every test: installs missing system packages and the Python SDKs the gateway tests use,
# starts a throwaway PostgreSQL cluster (the shared backend's tests run against it and SQLite alike),
# builds the node agent with Embedded Swift for
# x86_64, aarch64 and riscv64 (so the Embedded subset can never silently break), builds the package
# and runs all Swift tests (end-to-end tests with real processes on loopback included), runs the
# libFuzzer targets for 30 s each (scripts/fuzz.sh), then runs the aarch64 and riscv64 agents
# under qemu-user against a real coordinator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh --with-browser --with-postgres

# A PostgreSQL cluster of the test run's own (initdb in a temporary directory, loopback only, a
# random password in a 0600 passfile), stopped when the tests end however they end.
postgres_dir=$(mktemp -d /tmp/flotilla-test-postgres.XXXXXX)
chmod 0755 "$postgres_dir"
trap 'scripts/postgres.sh stop "$postgres_dir"' EXIT
echo "==> PostgreSQL for the shared-backend tests ($postgres_dir)"
FLOTILLA_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$postgres_dir")
export FLOTILLA_TEST_POSTGRES_URL FLOTILLA_REQUIRE_POSTGRES=1

# The gateway's end-to-end tests call it with the official openai and anthropic Python SDKs, /metrics is
# parsed by prometheus_client and the dashboard is driven in Debian's chromium through selenium,
# installed from PyPI into a project-local virtualenv (git-ignored).
echo "==> Python SDKs for the gateway tests (.venv-test)"
if [ ! -x .venv-test/bin/python ]; then python3 -m venv .venv-test; fi
.venv-test/bin/pip install --quiet --disable-pip-version-check openai anthropic prometheus_client selenium
export FLOTILLA_TEST_PYTHON="$PWD/.venv-test/bin/python"

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

echo "==> fuzz targets (30 s each; scripts/fuzz.sh --seconds N for longer runs)"
scripts/fuzz.sh --seconds 30

echo "==> node agent under qemu-user (sysroots cached in .sysroots/)"
for arch in aarch64 riscv64; do
    provisioning/test-on-qemu.sh "$arch"
done
