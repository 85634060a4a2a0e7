#!/usr/bin/env bash
# Runs every test program and prints the totals as the last line: "N passed, N failed, N skipped".
#
# Test programs: the C binaries built from tests/<module>/test_*.c (in $BUILD/tests), Python tests
# tests/python/test_*.py and shell tests tests/sh/test_*.sh. Each prints PASS:/FAIL:/SKIP: lines
# and exits non-zero on failure; a program that exits non-zero without a FAIL line (a crash, a
# timeout) counts as one failure. Options: --c-only (the sanitizer run), a substring filter.
# Per-program output is kept in $BUILD/test-logs/.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
TIMEOUT=${TEST_TIMEOUT:-300}
c_only=0
filter=""
for a in "$@"; do
  case "$a" in
    --c-only) c_only=1 ;;
    *) filter=$a ;;
  esac
done
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE AC_TEST_BUILD="$BUILD" PYTHON
logs=$BUILD/test-logs
mkdir -p "$logs"

programs=()
while IFS= read -r f; do programs+=("$f"); done < <(find "$BUILD/tests" -type f -perm -u+x -name 'test_*' 2>/dev/null | sort)
if [ $c_only = 0 ]; then
  for f in tests/python/test_*.py tests/sh/test_*.sh; do [ -e "$f" ] && programs+=("$f"); done
fi

pass=0; fail=0; skip=0; failed_lines=()
for p in "${programs[@]}"; do
  [ -n "$filter" ] && [[ "$p" != *"$filter"* ]] && continue
  name=$(echo "$p" | tr '/' '_')
  log=$logs/$name.log
  start=$EPOCHREALTIME
  case "$p" in
    *.py) timeout "$TIMEOUT" "$PYTHON" "$p" > "$log" 2>&1 ;;
    *.sh) timeout "$TIMEOUT" bash "$p" > "$log" 2>&1 ;;
    *)    timeout "$TIMEOUT" "$p" > "$log" 2>&1 ;;
  esac
  rc=$?
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  np=$(grep -c '^PASS: ' "$log"); nf=$(grep -c '^FAIL: ' "$log"); ns=$(grep -c '^SKIP: ' "$log")
  if [ "$rc" != 0 ] && [ "$nf" = 0 ]; then
    nf=1
    why="exit status $rc"; [ "$rc" = 124 ] && why="timed out after ${TIMEOUT}s"
    echo "FAIL: $p: $why (see $log)" >> "$log"
  fi
  if [ "$rc" = 0 ] && [ "$nf" != 0 ]; then
    echo "FAIL: $p: printed FAIL lines but exited 0" >> "$log"
  fi
  pass=$((pass + np)); fail=$((fail + nf)); skip=$((skip + ns))
  printf '%-55s %3d passed %3d failed %3d skipped  %ss\n' "$p" "$np" "$nf" "$ns" "$secs"
  while IFS= read -r l; do failed_lines+=("$l"); done < <(grep -E '^(FAIL|SKIP): ' "$log")
done

if [ ${#failed_lines[@]} -gt 0 ]; then
  echo
  printf '%s\n' "${failed_lines[@]}"
fi
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
