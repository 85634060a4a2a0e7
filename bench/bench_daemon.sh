#!/usr/bin/env bash
# bench_daemon.sh: autocorrectd's latency and throughput, measured through its socket.
#
#   1. round trip of a trivial request (health): p50/p99, sequential, one connection
#   2. per-keystroke completion latency: a paragraph typed one character at a time in one session
#      (p50/p99), beside the same replay with the session cache disabled ("cache": false)
#   3. throughput with 1, 8 and 64 clients, each typing the paragraph in its own session
#
# Uses $BUILD/bin/autocorrectd with models/default when it holds a model, else the tiny test
# fixture (whose numbers measure the server more than the model: say which in any report).
# Options (environment): SECONDS_PER_RUN (3), WORKERS (2), THREADS (1), MODEL (a model dir),
# BEAMS (the config's beam_width; unset: the daemon's default).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
daemon=$BUILD/bin/autocorrectd
if [ ! -x "$daemon" ]; then echo "bench_daemon: $daemon is missing (run make)"; exit 1; fi
mkdir -p "$BUILD/bench"
cc -O2 -pthread -Wall -Wextra bench/daemon_load.c -o "$BUILD/bench/daemon_load" || exit 1
load=$BUILD/bench/daemon_load

model=${MODEL:-}
if [ -z "$model" ]; then
  if [ -e models/default/model.onnx ] || [ -e models/default/model.safetensors ]; then model=models/default
  else model=tests/fixtures/tiny; fi
fi
secs=${SECONDS_PER_RUN:-3}
tmp=$(mktemp -d /tmp/bench_daemon_XXXXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
sock=$tmp/d.sock
cat > "$tmp/config.toml" <<CFG
model_path = "$(realpath "$model")"
workers = ${WORKERS:-2}
threads = ${THREADS:-1}
deadline_ms = 2000
max_sessions = 80
max_clients = 100
${BEAMS:+beam_width = $BEAMS}
CFG
# A paragraph of ordinary prose, typed as someone would.
cat > "$tmp/paragraph.txt" <<'TXT'
The morning train was late again, so I walked to the office along the river. The water was high
after the rain, and a few people were fishing from the old stone bridge. By the time I arrived the
meeting had already started, but nobody seemed to mind; they were still arguing about the budget.
TXT
tr '\n' ' ' < "$tmp/paragraph.txt" > "$tmp/p1.txt"

"$daemon" --config "$tmp/config.toml" --socket "$sock" 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
# wait until the model is loaded (the socket exists from the start; health answers after loading)
"$load" rt "$sock" 1 > /dev/null || { cat "$tmp/daemon.log"; exit 1; }
echo "model: $model ($(grep -o 'loaded .* in [0-9]* ms' "$tmp/daemon.log" | head -1 | cut -c1-160))"
echo "machine: $(nproc) cores; workers ${WORKERS:-2}, model threads ${THREADS:-1}"
"$load" rt "$sock" 5000
"$load" typing "$sock" "$tmp/p1.txt"
"$load" typing "$sock" "$tmp/p1.txt" nocache
for n in 1 8 64; do "$load" clients "$sock" $n "$secs" "$tmp/p1.txt"; done
kill -TERM $pid
wait $pid
status=$?
[ $status = 0 ] || { echo "bench_daemon: the daemon exited with status $status"; tail "$tmp/daemon.log"; exit 1; }
