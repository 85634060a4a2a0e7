#!/usr/bin/env bash
# Load: 64 concurrent clients (tests/load/load_client.c) send mixed, pipelined requests (complete,
# correct, topk, tokenize, info, health; supersession in sessions shared across connections; cancels
# by id and by session; hang-ups with requests in flight) to the real autocorrectd on the tiny fixture
# model for LOAD_SECONDS (20). Checks: no error replies, a reply to every live request (cancelled ones
# included), well-formed replies, the daemon's RSS after warm-up grows by at most LOAD_RSS_GROWTH_MB
# (32), the daemon still answers afterwards, and SIGTERM ends it with status 0. Prints the counts,
# p50/p99 latencies and RSS. bench/bench_load.sh runs the same longer (LOAD_SECONDS=60).
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
daemon=$BUILD/bin/autocorrectd
client=$BUILD/tests/load/load_client
secs=${LOAD_SECONDS:-20}
clients=${LOAD_CLIENTS:-64}
growth=${LOAD_RSS_GROWTH_MB:-32}
if [ ! -x "$daemon" ] || [ ! -x "$client" ]; then
  echo "SKIP: load: $daemon or $client is not built (make test-build)"; exit 0
fi
tmp=$(mktemp -d /tmp/test_load_XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
dict=$(realpath models/default/dictionary.tsv 2>/dev/null)
if [ ! -f "$dict" ]; then
  dict=$tmp/dictionary.tsv
  printf '#autocorrect-dictionary\t1\nthe\t500\ncat\t30\nbrown\t20\ndog\t25\nsaw\t10\nfriends\t9\nbest\t12\ntheir\t40\nthere\t45\n' > "$dict"
fi
cat > "$tmp/config.toml" <<CFG
model_path = "$(realpath tests/fixtures/tiny)"
dictionary_path = "$dict"
user_dictionary_path = "$tmp/user.txt"
workers = 2
threads = 1
max_clients = 100
max_queue = 512
max_sessions = 32
CFG
"$daemon" --config "$tmp/config.toml" --socket "$tmp/d.sock" 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
# the socket exists before the model is loaded: wait for an answer, so latencies are the server's
for _ in $(seq 100); do
  echo '{"op":"health"}' | timeout 5 nc -N -U "$tmp/d.sock" 2>/dev/null | grep -q '"ok"' && break; sleep 0.1
done
if [ ! -S "$tmp/d.sock" ]; then echo "FAIL: load_daemon_start: $(tail -3 "$tmp/daemon.log")"; exit 1; fi

"$client" "$tmp/d.sock" --clients "$clients" --seconds "$secs" --pid "$pid" --rss-growth-mb "$growth"
status=$?

out=$(echo '{"id":1,"op":"health"}' | timeout 5 nc -N -U "$tmp/d.sock" 2>&1)
if echo "$out" | grep -q '"status":"ok"'; then echo "PASS: load_daemon_alive"; else echo "FAIL: load_daemon_alive: $out"; status=1; fi
kill -TERM "$pid"
st=0; wait "$pid" || st=$?
pid=
if [ "$st" = 0 ]; then echo "PASS: load_daemon_clean_exit"; else echo "FAIL: load_daemon_clean_exit: status $st"; tail -5 "$tmp/daemon.log"; status=1; fi
exit $status
