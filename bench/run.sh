#!/usr/bin/env bash
# `make bench`: runs every benchmark and prints its report. Benchmarks are reports, not tests: they
# measure speeds as ratios against a reference measured in the same run (these machines are noisy).
# Programs: $BUILD/bench/bench_* (from bench/bench_*.c) and bench/bench_*.sh, in name order.
# A substring argument runs only the matching benchmarks.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD PYTHON=${PYTHON:-/usr/bin/python3}
filter=${1:-}
status=0
for p in $(ls "$BUILD"/bench/bench_* bench/bench_*.sh 2>/dev/null | sort -t/ -k3); do
  [ -n "$filter" ] && [[ "$p" != *"$filter"* ]] && continue
  [[ "$p" == *.sh || -x "$p" ]] || continue   # not the compiler's dependency files (bench_*.d)
  echo "=== $p"
  case "$p" in
    *.sh) bash "$p" || status=1 ;;
    *) "$p" || status=1 ;;
  esac
  echo
done
exit $status
