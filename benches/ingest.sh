#!/usr/bin/env bash
# Ingest benchmark against a fresh `sextant serve`: load, then peak RSS, idle CPU, bytes per span
# on disk after flush, and trace-by-id latency on what was stored. Prints one summary block;
# figures go to BENCHMARKS.md by hand.
#
#   benches/ingest.sh [DURATION_S] [--random-ids] [--payload-bytes N]
#   GEN=python benches/ingest.sh ...   # the peers' generator (../shared/bench/otlp_load.py)
#   BENCH_SEXTANT=/path/sextant BENCH_LOAD=/path/load benches/ingest.sh ...   # given binaries, no build
#   BENCH_HTTP_PORT / BENCH_OTLP_PORT / BENCH_GRPC_PORT: ports (default 3200, 4318, 4317)
#   BENCH_SETTLE=0: do not wait for compaction before counting bytes (throughput-only runs)
#
# The default generator (GEN=rust, crates/sextant/benches/load.rs) sends the same bodies as the
# peers' one (dumped by benches/load_template.py) but needs ~3 % of a core instead of ~50 %, so
# it measures the server rather than the generator on this 2-core machine.
set -euo pipefail
DURATION="${1:-20}"; shift || true
RANDOM_IDS=""; PAYLOAD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --random-ids) RANDOM_IDS=1; shift ;;
    --payload-bytes) PAYLOAD="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
GEN="${GEN:-rust}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="$REPO/../shared"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sextant-target}"
if [ -z "${BENCH_SEXTANT:-}" ]; then
  cargo build --release -q -p sextant --bins --benches
fi
BIN="${BENCH_SEXTANT:-$CARGO_TARGET_DIR/release/sextant}"
LOAD="${BENCH_LOAD:-$(ls -t "$CARGO_TARGET_DIR"/release/deps/load-* | grep -v '\.d$' | head -1)}"
WORK="$(mktemp -d)"; trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
HTTP_PORT="${BENCH_HTTP_PORT:-3200}"; OTLP_PORT="${BENCH_OTLP_PORT:-4318}"; GRPC_PORT="${BENCH_GRPC_PORT:-4317}"
for p in "$HTTP_PORT" "$OTLP_PORT" "$GRPC_PORT"; do
  if ss -ltn | grep -q "127.0.0.1:$p "; then echo "port $p is in use; set BENCH_*_PORT" >&2; exit 1; fi
done
PORTS=(SEXTANT_SERVER_HTTP_LISTEN=127.0.0.1:$HTTP_PORT SEXTANT_SERVER_OTLP_HTTP_LISTEN=127.0.0.1:$OTLP_PORT
       SEXTANT_SERVER_OTLP_GRPC_LISTEN=127.0.0.1:$GRPC_PORT)

env "${PORTS[@]}" "$BIN" serve --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -sf localhost:$HTTP_PORT/ready >/dev/null && break; sleep 0.1; done
kill -0 $PID 2>/dev/null || { echo "sextant serve did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

if [ "$GEN" = python ]; then
  flags=(); [ -n "$RANDOM_IDS" ] && flags+=(--random-ids); [ "$PAYLOAD" != 0 ] && flags+=(--payload-bytes "$PAYLOAD")
  cpu0=$(awk '{print $14+$15}' "/proc/$PID/stat")
  python3 "$SHARED/bench/otlp_load.py" --endpoint http://127.0.0.1:$OTLP_PORT/v1/traces --duration "$DURATION" \
    --concurrency 8 --spans-per-request 80 --procs 2 --json-out "$WORK/load.json" \
    --trace-ids-out "$WORK/ids.txt" "${flags[@]}" | tail -1
  cpu1=$(awk '{print $14+$15}' "/proc/$PID/stat")
  python3 -c "import json; d=json.load(open('$WORK/load.json')); s=d.get('ok_spans') or d.get('spans') or 0; print('server CPU %.3f ms/span' % (($cpu1-$cpu0)*10/max(s,1)))" 2>/dev/null || true
else
  tflags=(); [ "$PAYLOAD" != 0 ] && tflags+=(--payload-bytes "$PAYLOAD")
  python3 "$REPO/benches/load_template.py" "$WORK/template.json" "${tflags[@]}"
  lflags=(); [ -n "$RANDOM_IDS" ] && lflags+=(--random-ids)
  "$LOAD" --template "$WORK/template.json" --addr 127.0.0.1:$OTLP_PORT --seconds "$DURATION" \
    --concurrency 8 --server-pid "$PID" --ids-out "$WORK/ids.txt" "${lflags[@]}"
fi

cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }
c0=$(cpu); sleep 5; c1=$(cpu)
hz=$(getconf CLK_TCK)
peak_kb=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
echo "peak RSS: $((peak_kb / 1024)) MiB"
echo "idle CPU after load: $(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN{printf "%.1f%%", 100*d/hz/5}') of one core"

"$BIN" bench trace-by-id --endpoint "http://127.0.0.1:$HTTP_PORT" --ids "$WORK/ids.txt" --requests 2000 | sed 's/^/head+blocks: /'

# Bytes are counted once the store has settled: the flushed blocks of the load compacted (the
# first maintenance pass starts 30 s after start; compaction moves long values into a block's
# content store), then SIGTERM flushes what is left in the head.
metric() { curl -sf "localhost:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
settled=0; stable=0
[ "${BENCH_SETTLE:-1}" = 0 ] && settled=skipped
for _ in $(seq 300); do
  [ "$settled" = skipped ] && break
  blocks=$(metric sextant_blocks); compactions=$(metric sextant_compactions_total)
  # A pass merges in rounds of up to 16 blocks: settled once nothing changed for 5 s.
  if ! ls -d "$WORK"/data/tenants/*/blocks/.tmp-* >/dev/null 2>&1 && [ "$blocks" = "${prev:-}" ]; then
    stable=$((stable + 1))
  else
    stable=0
  fi
  if [ "${blocks%.*}" -lt 4 ] 2>/dev/null || { [ "${compactions%.*}" -gt 0 ] 2>/dev/null && [ $stable -ge 5 ]; }; then
    settled=1; break
  fi
  prev=$blocks; sleep 1
done
echo "store settled: $settled (blocks $(metric sextant_blocks), compactions $(metric sextant_compactions_total)); peak RSS with compaction: $(( $(awk '/VmHWM/{print $2}' "/proc/$PID/status") / 1024 )) MiB"
kill -TERM $PID; wait $PID || true
spans=$(cat "$WORK"/data/tenants/*/blocks/*/meta.json | python3 -c 'import sys,json,re; print(sum(int(m) for m in re.findall(r"\"spans\": (\d+)", sys.stdin.read())))')
bytes=$(du -sb "$WORK"/data/tenants | cut -f1)
echo "on disk after flush and compaction: $bytes bytes for $spans spans = $(python3 -c "print(round($bytes/$spans,1))") B/span"

env "${PORTS[@]}" "$BIN" serve --data-dir "$WORK/data" >>"$WORK/serve.log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -sf localhost:$HTTP_PORT/ready >/dev/null && break; sleep 0.1; done
"$BIN" bench trace-by-id --endpoint "http://127.0.0.1:$HTTP_PORT" --ids "$WORK/ids.txt" --requests 2000 | sed 's/^/blocks only: /'
