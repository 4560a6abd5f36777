#!/bin/sh
# Runs the in-process monitor benchmarks from a Release build: bench_tui (100,000 sessions, then
# 10,000 events/s fed into the model and painted to a virtual screen; extra arguments go to it:
# -n sessions, -r events/s, -s seconds per phase), then bench_tui_paint (a frame's CPU on a
# fixed input, the same on every run). The real monitor end to end: run-e2e.sh.
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
"$BUILD/bench/tui/bench_tui" "$@"
exec "$BUILD/bench/tui/bench_tui_paint"
