#!/usr/bin/env bash
# Footprint benchmark of the Embedded Swift node agent:
#   provisioning/measure-node.sh [--cycles N]
# Builds what is missing, starts a real coordinator on loopback, enrolls the x86_64 agent and lets
# it run N heartbeat cycles (default 10, 1 s apart) over mutual TLS, then prints the stripped
# binary size, peak RSS (VmHWM) and private dirty memory (smaps_rollup) read from /proc while it
# runs, and the stripped sizes of the aarch64 and riscv64 binaries. Goals: binary <= 200 KB on
# every arch, private memory <= 2 MB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
CYCLES=10
while [ $# -gt 0 ]; do
    case "$1" in
        --cycles) CYCLES=$2; shift 2 ;;
        *) echo "usage: $0 [--cycles N]" >&2; exit 2 ;;
    esac
done

for arch in x86_64 aarch64 riscv64; do
    [ -x "$ROOT/dist/flotilla-node-linux-$arch" ] || "$ROOT/provisioning/build-node.sh" "$arch" >&2
done
FLOTILLA="$ROOT/.build/debug/flotilla"
[ -x "$FLOTILLA" ] || (cd "$ROOT" && swift build --product flotilla >&2)
AGENT="$ROOT/dist/flotilla-node-linux-x86_64"

WORK="$(mktemp -d /tmp/flotilla-measure-XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$FLOTILLA" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --heartbeat-interval 1s >"$WORK/serve.out" 2>"$WORK/serve.log" &
PIDS+=($!)
for _ in $(seq 1 300); do [ -f "$WORK/data/admin.url" ] && break; sleep 0.1; done
[ -f "$WORK/data/admin.url" ] || { cat "$WORK/serve.log" >&2; exit 1; }
"$FLOTILLA" provision --data-dir "$WORK/data" --group bench --out "$WORK/bundle" >/dev/null
"$AGENT" enroll --config "$WORK/bundle/node.conf" --state-dir "$WORK/state" --name measured >/dev/null 2>&1

"$AGENT" run --state-dir "$WORK/state" 2>"$WORK/agent.log" &
AGENT_PID=$!
PIDS+=("$AGENT_PID")

# Sample while it runs: the peak of private dirty memory over the cycles, and VmHWM at the end.
PEAK_PRIVATE_KB=0
for _ in $(seq 1 "$((CYCLES * 10))"); do
    kill -0 "$AGENT_PID" 2>/dev/null || { echo "agent exited:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
    private_kb=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$AGENT_PID/smaps_rollup")
    [ "$private_kb" -gt "$PEAK_PRIVATE_KB" ] && PEAK_PRIVATE_KB=$private_kb
    sleep 0.1
done
HWM_KB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status")
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status")
BEATS=$(grep -c 'msg="heartbeat ok"' "$WORK/agent.log" || true)
[ "$BEATS" -ge 2 ] || { echo "agent did not heartbeat:" >&2; cat "$WORK/agent.log" >&2; exit 1; }

size_of() { stat -c %s "$ROOT/dist/flotilla-node-linux-$1"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
echo "flotilla-node footprint ($BEATS heartbeats over mutual TLS, x86_64 Embedded build)"
printf '  %-34s %s (%s bytes)\n' "stripped binary, x86_64:" "$(kb "$(size_of x86_64)")" "$(size_of x86_64)"
printf '  %-34s %s (%s bytes)\n' "stripped binary, aarch64:" "$(kb "$(size_of aarch64)")" "$(size_of aarch64)"
printf '  %-34s %s (%s bytes)\n' "stripped binary, riscv64:" "$(kb "$(size_of riscv64)")" "$(size_of riscv64)"
printf '  %-34s %s KB (now %s KB; mostly shared libcurl/OpenSSL pages)\n' "peak RSS (VmHWM):" "$HWM_KB" "$RSS_KB"
printf '  %-34s %s KB\n' "peak private dirty memory:" "$PEAK_PRIVATE_KB"
