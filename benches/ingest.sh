#!/usr/bin/env bash
# Ingest benchmark: the peers' load generator (../shared/bench/otlp_load.py) against a fresh
# `sextant serve`, then peak RSS, idle CPU, bytes per span on disk after flush, and trace-by-id
# latency on what was stored. Prints one summary block; figures go to BENCHMARKS.md by hand.
#
#   benches/ingest.sh [DURATION_S] [extra otlp_load.py flags, e.g. --random-ids --payload-bytes 256]
set -euo pipefail
DURATION="${1:-20}"; shift || true
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="$REPO/../shared"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sextant-target}"
cargo build --release -q -p sextant
BIN="$CARGO_TARGET_DIR/release/sextant"
WORK="$(mktemp -d)"; trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" serve --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -sf localhost:3200/ready >/dev/null && break; sleep 0.1; done

python3 "$SHARED/bench/otlp_load.py" --endpoint http://127.0.0.1:4318/v1/traces --duration "$DURATION" \
  --concurrency 8 --spans-per-request 80 --procs 2 --json-out "$WORK/load.json" \
  --trace-ids-out "$WORK/ids.txt" "$@" | tail -1

cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }
c0=$(cpu); sleep 5; c1=$(cpu)
hz=$(getconf CLK_TCK)
peak_kb=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
echo "peak RSS: $((peak_kb / 1024)) MiB"
echo "idle CPU after load: $(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN{printf "%.1f%%", 100*d/hz/5}') of one core"

"$BIN" bench trace-by-id --ids "$WORK/ids.txt" --requests 2000 | sed 's/^/head+blocks: /'

kill -TERM $PID; wait $PID || true
spans=$(cat "$WORK"/data/tenants/*/blocks/*/meta.json | python3 -c 'import sys,json,re; print(sum(int(m) for m in re.findall(r"\"spans\": (\d+)", sys.stdin.read())))')
bytes=$(du -sb "$WORK"/data/tenants | cut -f1)
echo "on disk after flush: $bytes bytes for $spans spans = $(python3 -c "print(round($bytes/$spans,1))") B/span"

"$BIN" serve --data-dir "$WORK/data" >>"$WORK/serve.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -sf localhost:3200/ready >/dev/null && break; sleep 0.1; done
"$BIN" bench trace-by-id --ids "$WORK/ids.txt" --requests 2000 | sed 's/^/blocks only: /'
