#!/bin/sh
# Runs the attack benchmark (regex listeners, login flood, idle connections, pipelined pings, fd
# exhaustion; a real sessmond per attack) from a Release build; extra arguments go to bench_attacks
# (e.g. --only login,idle).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/server/bench_attacks" "$@"
