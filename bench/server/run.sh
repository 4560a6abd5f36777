#!/bin/sh
# Runs the sessmond benchmark (15,000 sessions by default) from a Release build; extra arguments go
# to bench_server (e.g. -n 5000).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/server/bench_server" "$@"
