#!/usr/bin/env bash
# fuzz/run.sh: runs libFuzzer targets for a bounded time each (what `make fuzz` calls after building).
#
#   BUILD=build FUZZ_SECONDS=30 fuzz/run.sh [TARGET...]      (default: every fuzz/fuzz_*.c)
#
# Each target starts from its committed seeds (fuzz/corpus/NAME/) and past findings
# (fuzz/regressions/NAME/), read-only; inputs that reach new code are written to
# $BUILD/fuzz-work/NAME/ (kept between runs, never committed). Options per target: a dictionary
# fuzz/dict/NAME.dict when present, and the -max_len below. A crash, a sanitizer report, a failed
# check, a timeout or running out of memory stops that target with its input saved in
# $BUILD/fuzz-artifacts/NAME/; the script then exits 1 after the other targets ran. To keep a
# finding: fix it, copy the file into fuzz/regressions/NAME/ (or, when someone else must fix it, list
# it in fuzz/regressions/NAME/KNOWN_FAILING with the reason), and `make test` replays it forever.
# Prints one summary line per target: executions, speed, coverage, corpus size.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-30}
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
  for f in fuzz/fuzz_*.c; do n=${f#fuzz/fuzz_}; targets+=("${n%.c}"); done
fi

max_len_of() {
  case "$1" in
    onnx) echo 65536 ;;        # the seeds are ~40 KB
    safetensors) echo 16384 ;;
    server) echo 8192 ;;       # over its max_line_bytes (4096): too_large is reachable
    *) echo 4096 ;;
  esac
}

status=0
summary=()
for t in "${targets[@]}"; do
  bin=$BUILD/fuzz/fuzz_$t
  if [ ! -x "$bin" ]; then echo "fuzz: $bin is not built (make fuzz-build)"; status=1; continue; fi
  work=$BUILD/fuzz-work/$t
  art=$BUILD/fuzz-artifacts/$t
  mkdir -p "$work" "$art"
  dirs=("$work")
  [ -d "fuzz/corpus/$t" ] && dirs+=("fuzz/corpus/$t")
  # KNOWN_FAILING inputs would stop the run at once: leave the regressions out while there are any
  [ -d "fuzz/regressions/$t" ] && [ ! -f "fuzz/regressions/$t/KNOWN_FAILING" ] && dirs+=("fuzz/regressions/$t")
  opts=(-max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -max_len="$(max_len_of "$t")"
        -print_final_stats=1 -artifact_prefix="$art/" -close_fd_mask=0)
  [ -f "fuzz/dict/$t.dict" ] && opts+=(-dict="fuzz/dict/$t.dict")
  log=$BUILD/fuzz-work/$t.log
  echo "=== fuzz_$t for ${secs}s (log: $log)"
  start=$EPOCHREALTIME
  "$bin" "${opts[@]}" "${dirs[@]}" > "$log" 2>&1
  rc=$?
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
  execs=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$log" | tail -1 | awk '{print $2}')
  speed=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(ls "$work" | wc -l)
  line="fuzz_$t: ${execs:-?} execs in ${took}s (${speed:-?}/s), cov ${cov:-?}, $corpus new corpus files"
  if [ $rc != 0 ]; then
    status=1
    line="$line: FAILED (exit $rc)"
    grep -E 'ERROR: |SUMMARY: |check failed|Test unit written' "$log" | head -8
    ls -t "$art" | head -3 | sed "s|^|  artifact: $art/|"
  fi
  echo "$line"
  summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
