#!/usr/bin/env bash
# The main job, locally: builds Flotilla, starts a coordinator on the default data directory
# (~/.local/share/flotilla, or $FLOTILLA_DATA_DIR) and three node agents (the Embedded Swift
# build, as shipped to boards) enrolled over loopback. Ctrl-C stops them all; run it again and
# the same fleet comes back.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"
REPO=$PWD
DEMO="$REPO/.demo"
LISTEN="${FLOTILLA_DEMO_LISTEN:-127.0.0.1:7443}"

scripts/install-deps.sh
echo "==> building flotilla (release) and the Embedded node agent"
swift build -c release --product flotilla
provisioning/build-node.sh x86_64 >/dev/null
FLOTILLA="$REPO/.build/release/flotilla"
AGENT="$REPO/dist/flotilla-node-linux-x86_64"
DATA="${FLOTILLA_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/flotilla}"

mkdir -p "$DEMO/logs"
install -d -m 0700 "$DEMO/nodes"
PIDS=()
cleanup() {
    echo
    echo "==> stopping the demo fleet"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -f "$DATA/admin.url"
"$FLOTILLA" serve --data-dir "$DATA" --listen "$LISTEN" > >(tee "$DEMO/logs/coordinator.out") 2>"$DEMO/logs/coordinator.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -f "$DATA/admin.url" ] && break; sleep 0.1; done
[ -f "$DATA/admin.url" ] || { echo "coordinator did not start; see $DEMO/logs/coordinator.log" >&2; exit 1; }

if [ ! -f "$DEMO/nodes/demo-1/node.json" ] || [ ! -f "$DEMO/nodes/demo-2/node.json" ] || [ ! -f "$DEMO/nodes/demo-3/node.json" ]; then
    rm -rf "$DEMO/bundle"
    "$FLOTILLA" provision --data-dir "$DATA" --group demo --uses 3 --ttl 1h --out "$DEMO/bundle" >/dev/null
fi
for i in 1 2 3; do
    state="$DEMO/nodes/demo-$i"
    if [ ! -f "$state/node.json" ]; then
        rm -rf "$state"
        "$AGENT" enroll --config "$DEMO/bundle/node.conf" --state-dir "$state" --name "demo-$i" 2>>"$DEMO/logs/demo-$i.log" \
            || { echo "enrolling demo-$i failed: $(tail -n 1 "$DEMO/logs/demo-$i.log")" >&2; exit 1; }
    fi
    # Each demo node manages its own PicoClaw home: config.json and workspace/skills/.
    mkdir -p "$state/picoclaw/workspace"
    "$AGENT" run --state-dir "$state" --runtime picoclaw --workspace "$state/picoclaw/workspace" \
        --picoclaw-home "$state/picoclaw" 2>>"$DEMO/logs/demo-$i.log" &
    PIDS+=($!)
done

for _ in $(seq 1 50); do
    [ "$("$FLOTILLA" nodes --data-dir "$DATA" --group demo | grep -c ' online ')" -ge 3 ] && break
    sleep 0.2
done
echo
echo "==> flotilla apply fleet/ (signed release of the example spec, canary first)"
"$FLOTILLA" apply "$REPO/fleet" --yes --data-dir "$DATA" || true
echo
"$FLOTILLA" nodes --data-dir "$DATA"
echo
echo "demo-1's PicoClaw workspace now holds: $(cd "$DEMO/nodes/demo-1/picoclaw/workspace/skills" 2>/dev/null && ls | tr '\n' ' ')"
cat <<MSG

A coordinator (data: $DATA) and 3 node agents are running. In another terminal:
  export PATH="$REPO/.build/release:\$PATH"
  flotilla nodes                     # fleet view (add --json for scripts)
  flotilla node show demo-1          # one node in detail
  flotilla token list                # enrollment tokens
  flotilla plan fleet/               # edit fleet/skills or fleet/fleet.yaml, then see the change
  flotilla apply fleet/              # publish it as a signed release and follow the rollout
  flotilla rollout list              # releases and their rollouts
  flotilla provision --group lab --out /tmp/lab-bundle   # a bundle for a real board
Logs: $DEMO/logs. Press Ctrl-C to stop the fleet.
MSG
wait "${PIDS[0]}"
