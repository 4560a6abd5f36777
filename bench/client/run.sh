#!/bin/sh
# libsessmon benchmarks: events decoded and delivered to listener callbacks per second on one core
# (in-process, fed through the library's receive path), then end to end from a real sessmond.
# Usage: run.sh [SECONDS] [SESSIONS]   (defaults 2 s per figure, 1000 sessions end to end)
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
SECONDS_EACH=${1:-2}
SESSIONS=${2:-1000}
"$BUILD/bench/client/bench_client_dispatch" "$SECONDS_EACH"

DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
"$BUILD/server/sessmond" --port 0 --port-file "$DIR/port" >"$DIR/sessmond.log" 2>&1 &
PID=$!
i=0
while [ ! -s "$DIR/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$DIR/port" ] || { echo "sessmond did not start"; cat "$DIR/sessmond.log"; exit 1; }
"$BUILD/bench/client/bench_client_e2e" "ws://127.0.0.1:$(cat "$DIR/port")" "$SESSIONS" "$SECONDS_EACH"
