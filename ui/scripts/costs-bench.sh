#!/bin/bash
# Times the costs API (what the Costs page calls) on a data directory, e.g. the 10 M spans
# first-screen.mjs loads: starts `sextant serve` on it (compaction off) on its own ports, asks
# for a rollup by model and by agent over the last RANGE seconds three times each, and prints
# wall times and the server's CPU seconds for each three (from /proc/PID/stat).
#
#   ui/scripts/costs-bench.sh SEXTANT_BIN DATA_DIR [LABEL]
#   RANGE (default 7200), PORT_BASE (default 23200: API on it, OTLP on PORT_BASE+1117/+1118)
set -euo pipefail
BIN=$1 DIR=$2 LABEL=${3:-run}
RANGE=${RANGE:-7200} BASE=${PORT_BASE:-23200}
API=127.0.0.1:$BASE
SEXTANT_STORAGE_COMPACTION_ENABLED=false SEXTANT_SERVER_HTTP_LISTEN=$API \
  SEXTANT_SERVER_OTLP_GRPC_LISTEN=127.0.0.1:$((BASE + 1117)) \
  SEXTANT_SERVER_OTLP_HTTP_LISTEN=127.0.0.1:$((BASE + 1118)) SEXTANT_LOG_LEVEL=warn \
  "$BIN" serve --data-dir "$DIR" >/dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "$API/ready" >/dev/null && break; sleep 0.2; done
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$PID/stat"; }
END=$(date +%s)
START=$((END - RANGE))
for by in model agent; do
  c0=$(cpu)
  for _ in 1 2 3; do
    curl -sf -o /dev/null -w "$LABEL costs group_by=$by ${RANGE}s step 60: %{time_total} s\n" \
      "$API/sextant/api/v1/costs?group_by=$by&start=$START&end=$END&step=60"
  done
  echo "$LABEL group_by=$by: server CPU for 3 queries: $(echo "$(cpu) - $c0" | bc) s"
done
