#!/usr/bin/env bash
# The main job, locally: builds Flotilla, starts a coordinator on the default data directory
# (~/.local/share/flotilla, or $FLOTILLA_DATA_DIR) and three node agents (the Embedded Swift
# build, as shipped to boards) enrolled over loopback, each managing a PicoClaw (the stand-in from
# Tests/Python, which follows PicoClaw's own rules: real PicoClaw is a Go binary we do not build
# here), applies fleet/ (a signed release, and the LLM gateway with a local fake provider standing
# in for OpenAI), lets each PicoClaw call the gateway with the model entry and key its release gave
# it, and shows the cost per node. Ctrl-C stops them all; run it again and the same fleet comes back.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/opt/swift/usr/bin:$PATH"
REPO=$PWD
DEMO="$REPO/.demo"
STANDIN="$REPO/Tests/Python/picoclaw_standin.py"
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
    for i in 1 2 3; do
        pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$DEMO/nodes/demo-$i/picoclaw/.picoclaw.pid" 2>/dev/null || true)
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -f "$DATA/admin.url"
"$FLOTILLA" serve --data-dir "$DATA" --listen "$LISTEN" > >(tee "$DEMO/logs/coordinator.out") 2>"$DEMO/logs/coordinator.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -f "$DATA/admin.url" ] && break; sleep 0.1; done
[ -f "$DATA/admin.url" ] || { echo "coordinator did not start; see $DEMO/logs/coordinator.log" >&2; exit 1; }

# Demo nodes enrolled with another coordinator (another data directory: another fleet CA) are
# enrolled again with this one; nodes of this one that knew it at another address are told its
# address now (as re-provisioning a board would).
ADMIN_URL=$(cat "$DATA/admin.url")
for i in 1 2 3; do
    state="$DEMO/nodes/demo-$i"
    [ -f "$state/node.json" ] || continue
    if ! cmp -s "$state/ca.pem" "$DATA/ca.pem"; then
        echo "demo-$i was enrolled with another coordinator: enrolling it again"
        rm -rf "$state"
    elif ! python3 -c 'import json, os, sys
p = sys.argv[1]
n = json.load(open(p))
n["coordinator_url"] = sys.argv[2]
n["coordinators"] = [sys.argv[2]]
with open(p + ".tmp", "w") as f:
    json.dump(n, f)
os.replace(p + ".tmp", p)' "$state/node.json" "$ADMIN_URL"; then
        echo "demo-$i's state cannot be read: enrolling it again"
        rm -rf "$state"
    fi
done
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
    # Each demo node has its own PicoClaw home. A board's user configured PicoClaw before Flotilla
    # came: a local model of their own, which stays beside the fleet's gateway models.
    home="$state/picoclaw"
    mkdir -p "$home/workspace"
    if ! grep -qs '"version": 3' "$home/config.json"; then
        cat > "$home/config.json" <<JSON
{"version": 3, "gateway": {"host": "127.0.0.1", "port": $((18790 + i)), "log_level": "info"},
 "agents": {"defaults": {"model_name": "local"}},
 "model_list": [{"model_name": "local", "provider": "ollama", "model": "llama3", "api_base": "http://127.0.0.1:11434/v1"}]}
JSON
    fi
    # PicoClaw's gateway, restarted by the agent to take a release (as `systemctl restart` would).
    PICOCLAW_HOME="$home" python3 "$STANDIN" restart
    PICOCLAW_HOME="$home" "$AGENT" run --state-dir "$state" --runtime picoclaw \
        --picoclaw-restart "python3 '$STANDIN' restart" 2>>"$DEMO/logs/demo-$i.log" &
    PIDS+=($!)
done

for _ in $(seq 1 50); do
    [ "$("$FLOTILLA" nodes --data-dir "$DATA" --group demo | grep -c ' online ')" -ge 3 ] && break
    sleep 0.2
done
# No real provider key here: a local fake provider (OpenAI- and Anthropic-shaped) stands in for
# OpenAI, and the demo applies a copy of fleet/ whose provider points at it.
PROVIDER_KEY="sk-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
FLOTILLA_FAKE_PROVIDER_KEY="$PROVIDER_KEY" "$FLOTILLA" bench fake-provider --listen 127.0.0.1:0 \
    >"$DEMO/logs/provider.out" 2>"$DEMO/logs/provider.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$DEMO/logs/provider.out" ] && break; sleep 0.1; done
PROVIDER_URL=$(head -n 1 "$DEMO/logs/provider.out" | awk '{print $NF}')
[ -n "$PROVIDER_URL" ] || { echo "the fake provider did not start; see $DEMO/logs/provider.log" >&2; exit 1; }
rm -rf "$DEMO/fleet"
cp -R "$REPO/fleet" "$DEMO/fleet"
sed -i "s#https://api.openai.com/v1#$PROVIDER_URL/v1#" "$DEMO/fleet/fleet.yaml"

echo
echo "==> flotilla apply fleet/ (signed release of the example spec, canary first; gateway providers and prices)"
"$FLOTILLA" apply "$DEMO/fleet" --yes --data-dir "$DATA" || true
echo
echo "==> flotilla secret set openai (the key from stdin; encrypted at rest, never sent to a node)"
printf '%s\n' "$PROVIDER_KEY" | "$FLOTILLA" secret set openai --data-dir "$DATA"

echo
echo "==> demo-1's PicoClaw config after the release (its own model kept, the gateway's added, the key by reference)"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(json.dumps({"version": c["version"], "agents": c["agents"], "model_list": c["model_list"]}, indent=1))' \
    "$DEMO/nodes/demo-1/picoclaw/config.json"
echo
echo "==> LLM calls by each node's PicoClaw (picoclaw agent -m), with the api_base and key its config names (demo-N makes 2N calls)"
for i in 1 2 3; do
    home="$DEMO/nodes/demo-$i/picoclaw"
    # The fleet CA next to the system's roots, as install.sh sets it for PicoClaw's service.
    for n in $(seq 1 $((2 * i))); do
        answer=$(PICOCLAW_HOME="$home" SSL_CERT_DIR="/etc/ssl/certs:$home/flotilla-ca" python3 "$STANDIN" agent -m "How is demo-$i? ($n)" || true)
        [ "$n" -eq 1 ] && echo "demo-$i: $answer" | cut -c1-200
    done
done
echo
"$FLOTILLA" usage --by node --data-dir "$DATA"
echo
"$FLOTILLA" budgets --data-dir "$DATA"
echo
"$FLOTILLA" nodes --data-dir "$DATA"
echo
echo "demo-1's PicoClaw workspace now holds: $(cd "$DEMO/nodes/demo-1/picoclaw/workspace/skills" 2>/dev/null && ls | tr '\n' ' ')"
echo "demo-1's PicoClaw (pid $(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$DEMO/nodes/demo-1/picoclaw/.picoclaw.pid")) was restarted by its agent to take the release; see $DEMO/nodes/demo-1/picoclaw/logs/gateway.log"
ADMIN_URL=$(cat "$DATA/admin.url")
cat <<MSG

Dashboard: $ADMIN_URL/ui/  (sign in with the admin token in $DATA/admin.token; the browser will
  warn about the fleet's own CA: trust $DATA/ca.pem or accept it once)
Prometheus: curl --cacert $DATA/ca.pem -H "Authorization: Bearer \$(cat $DATA/metrics.token)" $ADMIN_URL/metrics

A coordinator (data: $DATA) and 3 node agents are running. In another terminal:
  export PATH="$REPO/.build/release:\$PATH"
  flotilla nodes                     # fleet view (add --json for scripts)
  flotilla node show demo-1          # one node in detail
  flotilla token list                # enrollment tokens
  flotilla usage --by model          # gateway calls, tokens and cost (also --by group|provider, --json)
  flotilla budgets                   # budgets: spent, held, limit, state (fleet.yaml budgets:)
  flotilla events                    # soft thresholds crossed, budgets exhausted, rate limits hit
  flotilla secret list               # provider keys: names and when set, never values
  flotilla node rotate-key demo-1    # its old gateway key stops working; the node fetches a new one
  flotilla plan $DEMO/fleet     # a copy of fleet/ whose provider is the local fake one: edit it,
  flotilla apply $DEMO/fleet    #   see the change, publish it and follow the rollout
  flotilla rollout list              # releases and their rollouts
  flotilla provision --group lab --out /tmp/lab-bundle   # a bundle for a real board
  flotilla audit                     # who did what, from where (hash-chained); flotilla audit verify
Logs: $DEMO/logs. Press Ctrl-C to stop the fleet.
MSG
wait "${PIDS[0]}"
