#!/usr/bin/env bash
# End-to-end check of the node agent on an emulated board:
#   provisioning/test-on-qemu.sh ARCH      ARCH: aarch64, riscv64 (x86_64 runs natively)
# Starts a real coordinator on loopback, provisions a bundle, enrolls dist/flotilla-node-linux-ARCH
# under qemu-ARCH-static with the board's own libc/libcurl/libcrypto (the cached sysroot), runs its
# heartbeat loop, and exits 0 only when `flotilla nodes --json` shows the node online with
# arch = ARCH and real readings, and after `flotilla apply` of the example fleet/ shows the signed
# release applied, with the skill files in the emulated node's workspace byte for byte.
# Builds what is missing.
set -euo pipefail

ARCH="${1:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
case "$ARCH" in
    x86_64|aarch64|riscv64) ;;
    *) echo "usage: $0 ARCH   (ARCH: aarch64, riscv64, x86_64)" >&2; exit 2 ;;
esac

AGENT="$ROOT/dist/flotilla-node-linux-$ARCH"
[ -x "$AGENT" ] || "$ROOT/provisioning/build-node.sh" "$ARCH"
FLOTILLA="$ROOT/.build/debug/flotilla"
[ -x "$FLOTILLA" ] || (cd "$ROOT" && swift build --product flotilla)

RUNNER=()
if [ "$ARCH" != x86_64 ]; then
    QEMU="qemu-$ARCH-static"
    if ! command -v "$QEMU" >/dev/null; then
        [ "$(id -u)" -eq 0 ] || { echo "$QEMU missing: install qemu-user-static" >&2; exit 1; }
        apt-get install -y --no-install-recommends qemu-user-static >/dev/null \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends qemu-user-static >/dev/null; }
    fi
    # -L: the dynamic loader and shared libraries come from the board's sysroot.
    RUNNER=("$QEMU" -L "$ROOT/.sysroots/$ARCH")
fi

# Group names are lowercase letters, digits and hyphens.
GROUP="qemu-$(echo "$ARCH" | tr _ -)"
WORK="$(mktemp -d /tmp/flotilla-qemu-XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$FLOTILLA" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --heartbeat-interval 2s >"$WORK/serve.out" 2>"$WORK/serve.log" &
PIDS+=($!)
for _ in $(seq 1 300); do [ -f "$WORK/data/admin.url" ] && break; sleep 0.1; done
[ -f "$WORK/data/admin.url" ] || { echo "coordinator did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

"$FLOTILLA" provision --data-dir "$WORK/data" --group "$GROUP" --out "$WORK/bundle" \
    --provisioning-dir "$ROOT/provisioning" >/dev/null
NAME="emulated-$ARCH"
echo "==> enrolling $NAME (${RUNNER[*]:-native})"
"${RUNNER[@]}" "$AGENT" enroll --config "$WORK/bundle/node.conf" --state-dir "$WORK/state" --name "$NAME"
mkdir -p "$WORK/picoclaw/workspace"
"${RUNNER[@]}" "$AGENT" run --state-dir "$WORK/state" --runtime picoclaw --workspace "$WORK/picoclaw/workspace" \
    --picoclaw-home "$WORK/picoclaw" 2>"$WORK/agent.log" &
AGENT_PID=$!
PIDS+=("$AGENT_PID")

check() {
    "$FLOTILLA" nodes --data-dir "$WORK/data" --json | python3 -c '
import json, sys
arch, name = sys.argv[1], sys.argv[2]
nodes = [n for n in json.load(sys.stdin) if n["name"] == name]
if not nodes:
    sys.exit(1)
n = nodes[0]
ok = (n["status"] == "online" and n["arch"] == arch and (n["mem_total_bytes"] or 0) > 0
      and (n["disk_free_bytes"] or 0) > 0 and (n["uptime_seconds"] or 0) > 0 and n["cpu_percent"] is not None
      and n["agent_version"])
if ok:
    print("%s: %s, arch %s, kernel %s, cpu %.1f%%, mem %d/%d B available, disk free %d B" % (
        name, n["status"], n["arch"], n["kernel"], n["cpu_percent"], n["mem_available_bytes"],
        n["mem_total_bytes"], n["disk_free_bytes"]))
sys.exit(0 if ok else 1)
' "$ARCH" "$NAME"
}

for _ in $(seq 1 60); do
    if check; then
        # Two heartbeats at least: the loop, not only the first request, works under emulation.
        sleep 3
        grep -c 'msg="heartbeat ok"' "$WORK/agent.log" | awk '{ if ($1 < 2) exit 1 }' \
            || { echo "agent did not keep heartbeating:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
        echo "==> flotilla apply fleet/ to the emulated node"
        rm -rf "$WORK/fleet" && cp -r "$ROOT/fleet" "$WORK/fleet"
        # The example targets group demo; point it at this node's group.
        sed -i "s/^  demo:/  $GROUP:/" "$WORK/fleet/fleet.yaml"
        "$FLOTILLA" apply "$WORK/fleet" --yes --data-dir "$WORK/data" \
            || { echo "apply did not complete:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
        "$FLOTILLA" nodes --data-dir "$WORK/data" --json | python3 -c '
import json, sys
n = [n for n in json.load(sys.stdin) if n["name"] == sys.argv[1]][0]
sys.exit(0 if n["release_status"] == "applied" and n["release_version"] == 1 else 1)
' "$NAME" || { echo "release not applied on the emulated node:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
        diff -r "$ROOT/fleet/skills" "$WORK/picoclaw/workspace/skills" >&2 \
            || { echo "skills in the emulated workspace differ from fleet/skills" >&2; exit 1; }
        echo "release 1 applied; skills byte for byte in the emulated node's workspace"
        kill -TERM "$AGENT_PID"
        wait "$AGENT_PID" || { echo "agent did not stop cleanly on SIGTERM" >&2; exit 1; }
        echo "PASS: $ARCH agent enrolled, online and applied a signed release under $([ "$ARCH" = x86_64 ] && echo 'native execution' || echo "qemu-$ARCH-static")"
        exit 0
    fi
    sleep 1
done
echo "FAIL: $NAME never showed online with arch $ARCH and real readings" >&2
cat "$WORK/agent.log" >&2
"$FLOTILLA" nodes --data-dir "$WORK/data" >&2 || true
exit 1
