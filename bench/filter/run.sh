#!/bin/sh
# Runs the filter regex benchmark (worst regex per 4 KB value, compile time, memory per filter,
# worst filter over 15,000 sessions) from a Release build; extra arguments go to bench_filter (-n sessions).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/filter/bench_filter" "$@"
