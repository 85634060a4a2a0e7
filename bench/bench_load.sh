#!/usr/bin/env bash
# bench_load.sh: the load test (tests/sh/test_load.sh) run longer: 64 clients of mixed, pipelined
# requests against autocorrectd on the tiny fixture model for LOAD_SECONDS (60), reporting requests/s,
# p50/p99 latencies per op and the daemon's RSS. The tiny model makes this a measure of the server,
# not of the model (bench_daemon.sh measures the model's latency).
set -u
cd "$(dirname "$0")/.."
export AC_TEST_BUILD=${BUILD:-build}
make -s BUILD="$AC_TEST_BUILD" "$AC_TEST_BUILD/tests/load/load_client" || exit 1
LOAD_SECONDS=${LOAD_SECONDS:-60} bash tests/sh/test_load.sh
