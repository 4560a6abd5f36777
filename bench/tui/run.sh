#!/bin/sh
# Runs the monitor benchmark (100,000 sessions, then 10,000 events/s) from a Release build; extra
# arguments go to bench_tui (-n sessions, -r events/s, -s seconds per phase).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/tui/bench_tui" "$@"
