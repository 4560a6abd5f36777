#!/bin/sh
# Runs the end-to-end monitor benchmark: the real sessmon in a 200x50 pty against a real sessmond
# holding 15,000 sessions from sessmon-load at --update-rate 10,000. Extra arguments go to
# bench_tui_e2e (-n sessions, -r events/s, -s seconds per scenario).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/tui/bench_tui_e2e" "$@"
