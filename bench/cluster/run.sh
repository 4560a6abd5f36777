#!/bin/sh
# Runs the cluster benchmark (5 nodes x 15,000 sessions by default, its own redis-server on a free
# loopback port, persistence off) from a Release build; extra arguments go to bench_cluster
# (e.g. -N 3 -n 5000, --only latency --latency-runs 3).
set -eu
BUILD=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build-bench}
exec "$BUILD/bench/cluster/bench_cluster" "$@"
