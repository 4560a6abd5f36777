#!/bin/sh
# Runs the in-process monitor benchmark (100,000 sessions, then 10,000 events/s fed into the
# model and painted to a virtual screen) from a Release build; extra arguments go to bench_tui
# (-n sessions, -r events/s, -s seconds per phase). The real monitor end to end: run-e2e.sh.
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/tui/bench_tui" "$@"
