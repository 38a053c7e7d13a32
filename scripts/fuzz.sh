#!/usr/bin/env bash
# Builds the libFuzzer targets (swiftc -sanitize=fuzzer,address) and runs each for a bounded time.
#   scripts/fuzz.sh [--seconds N] [TARGET ...]     TARGET: json release config heartbeat (default: all)
# The test command runs each for 30 s; run longer on demand, e.g. scripts/fuzz.sh --seconds 3600.
# Seeds: Fuzz/corpus/TARGET (committed). What the fuzzers learn goes to .build-fuzz/corpus/TARGET
# (kept between runs, never committed); a crash leaves its input in .build-fuzz/artifacts and
# makes the script fail. Reproduce one with:
#   FLOTILLA_FUZZ_TARGET=TARGET .build-fuzz/node-fuzz ARTIFACT     (heartbeat: .build-fuzz/heartbeat-fuzz)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFTC="${SWIFT_BIN:-/opt/swift/usr/bin}/swiftc"
OUT="$ROOT/.build-fuzz"
SECONDS_EACH=30
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        json|release|config|heartbeat) TARGETS+=("$1"); shift ;;
        *) echo "usage: $0 [--seconds N] [json|release|config|heartbeat ...]" >&2; exit 2 ;;
    esac
done
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(json release config heartbeat)
mkdir -p "$OUT/artifacts" "$OUT/modules"

FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -suppress-warnings)

# Rebuilds a binary only when one of its sources is newer.
build() {
    local output="$1"; shift
    local stale=1
    if [ -x "$output" ]; then
        stale=0
        for argument in "$@"; do
            case "$argument" in *.swift|*.a) [ "$argument" -nt "$output" ] && stale=1 ;; esac
        done
    fi
    [ "$stale" -eq 1 ] || return 0
    echo "==> building $(basename "$output")"
    "$SWIFTC" "${FLAGS[@]}" "$@" -o "$output" 2> "$output.log" || { cat "$output.log" >&2; exit 1; }
}

NODE_SOURCES=()
while IFS= read -r -d '' file; do NODE_SOURCES+=("$file"); done \
    < <(find "$ROOT/Sources/FlotillaNode" -name '*.swift' -print0 | sort -z)
PROTOCOL_SOURCES=()
while IFS= read -r -d '' file; do PROTOCOL_SOURCES+=("$file"); done \
    < <(find "$ROOT/Sources/FlotillaProtocol" -name '*.swift' -print0 | sort -z)

for target in "${TARGETS[@]}"; do
    case "$target" in
        heartbeat)
            # FlotillaProtocol as a module of its own (the decoder imports it), then the target.
            build "$OUT/libFlotillaProtocol.a" -module-name FlotillaProtocol -emit-module -emit-module-path "$OUT/modules/FlotillaProtocol.swiftmodule" \
                -emit-library -static "${PROTOCOL_SOURCES[@]}"
            binary="$OUT/heartbeat-fuzz"
            build "$binary" -module-name HeartbeatFuzz -I "$OUT/modules" -L "$OUT" -lFlotillaProtocol "$OUT/libFlotillaProtocol.a" \
                "$ROOT/Sources/FlotillaCoordinator/Heartbeats/HeartbeatDecoder.swift" "$ROOT/Fuzz/HeartbeatFuzzTarget.swift"
            ;;
        *)
            binary="$OUT/node-fuzz"
            build "$binary" -module-name NodeFuzz \
                -I "$ROOT/Sources/CFlotillaCurl" -I "$ROOT/Sources/CFlotillaCrypto" -I "$ROOT/Sources/CFlotillaSystem" \
                "${NODE_SOURCES[@]}" "$ROOT/Fuzz/NodeFuzzTargets.swift" -lcurl -lcrypto
            ;;
    esac
    corpus="$OUT/corpus/$target"
    mkdir -p "$corpus"
    echo "==> fuzzing $target for ${SECONDS_EACH}s"
    # SWIFT_BACKTRACE: Swift's own crash handler would get in the way of ASan's report.
    if ! SWIFT_BACKTRACE=enable=no FLOTILLA_FUZZ_TARGET="$target" "$binary" "$corpus" "$ROOT/Fuzz/corpus/$target" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$OUT/artifacts/$target-" -print_final_stats=1 > "$OUT/$target.log" 2>&1; then
        tail -40 "$OUT/$target.log" >&2
        echo "FAIL: fuzz target $target found a crash; input in $OUT/artifacts/" >&2
        exit 1
    fi
    echo "    $(grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$OUT/$target.log" | tr -s ' ' | tr '\n' ' ')"
done
echo "PASS: fuzz targets ${TARGETS[*]} ran ${SECONDS_EACH}s each without a crash"
