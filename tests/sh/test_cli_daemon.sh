#!/usr/bin/env bash
# test_cli_daemon.sh: the `autocorrect` commands routed through a real autocorrectd (the tiny fixture
# model, on a socket in a temporary XDG_RUNTIME_DIR) give the same output as in process
# (--no-daemon --model tests/fixtures/tiny --int8, the daemon's weights being int8 by config
# default), text and --json (timings and load times aside); the lookup without options reaches the
# daemon, --config's socket_path too; without a daemon the commands run in process; an explicit
# --socket or $AUTOCORRECT_SOCKET with nothing there fails (1) with a clear message; learn through
# the daemon stops the daemon correcting the word at once; usage errors exit 2.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PY=${PYTHON:-/usr/bin/python3}
AC=$BUILD/bin/autocorrect
DAEMON=$BUILD/bin/autocorrectd
TINY=tests/fixtures/tiny
DICT=models/default/dictionary.tsv
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
if [ ! -x "$AC" ] || [ ! -x "$DAEMON" ]; then
  echo "SKIP: cli_daemon: $AC or $DAEMON is not built"
  exit 0
fi

tmp=$(mktemp -d /tmp/test_cli_daemon_XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
# everything the commands look up lives in $tmp: config, user dictionary, the default socket
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_RUNTIME_DIR=$tmp/run
unset AUTOCORRECT_SOCKET AUTOCORRECT_MODEL AUTOCORRECT_TIMEOUT_MS
mkdir -p "$XDG_CONFIG_HOME/autocorrect" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
sock=$XDG_RUNTIME_DIR/autocorrect.sock
# A generous deadline so that a loaded machine never cuts a search short (the output would then
# differ for a good reason), one thread each. model_path names nothing: whatever answers without
# --model in these checks is the daemon (started with --model).
cat > "$XDG_CONFIG_HOME/autocorrect/config.toml" <<EOF
model_path = "$tmp/no-model-here"
deadline_ms = 60000
threads = 1
workers = 1
EOF
IN="--no-daemon --model $TINY --int8"
IN_TOK="--no-daemon --model $TINY" # the tokenizer commands load no weights

# compare NAME A B: two outputs, equal or a FAIL showing both
same() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "daemon: $(printf '%s' "$2" | head -c 300) | in process: $(printf '%s' "$3" | head -c 300)"; fi
}
# JSON lines without the parts that measure time (timings, load_ms)
untimed() {
  "$PY" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    o.pop("timings", None); o.pop("load_ms", None)
    print(json.dumps(o, sort_keys=True))'
}
status_of() { "$@" > "$tmp/out" 2> "$tmp/err"; echo $?; }

# --- before the daemon: in process, and explicit sockets with nothing there -------------------------
out=$(AUTOCORRECT_MODEL=$TINY "$AC" complete "the quick bro" 2> "$tmp/err"); st=$?
[ $st = 0 ] && [ -n "$out" ] && pass fallback_in_process_without_daemon || fail fallback_in_process_without_daemon "status $st: $(cat "$tmp/err")"
st=$(status_of "$AC" complete "the quick bro")
[ "$st" = 1 ] && grep -q -- "--model" "$tmp/err" && pass no_daemon_no_model_says_what_to_do \
  || fail no_daemon_no_model_says_what_to_do "status $st: $(cat "$tmp/err")"
for cmd in "complete x" "info" "topk x" "tokenize" "detokenize" "correct x" "learn xyzzy"; do
  st=$(status_of "$AC" $cmd --socket "$tmp/nothing.sock" < /dev/null)
  if [ "$st" = 1 ] && grep -q "no daemon is listening on $tmp/nothing.sock" "$tmp/err"; then
    pass "explicit_socket_without_daemon_fails: ${cmd%% *}"
  else
    fail "explicit_socket_without_daemon_fails: ${cmd%% *}" "status $st: $(cat "$tmp/err")"
  fi
done
st=$(AUTOCORRECT_SOCKET=$tmp/nothing.sock status_of "$AC" complete x)
[ "$st" = 1 ] && grep -q "no daemon is listening" "$tmp/err" && pass env_socket_without_daemon_fails \
  || fail env_socket_without_daemon_fails "status $st: $(cat "$tmp/err")"

# --- the daemon --------------------------------------------------------------------------------------
"$DAEMON" --model "$TINY" --socket "$sock" 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
if [ ! -S "$sock" ]; then
  fail daemon_starts "$(tail -3 "$tmp/daemon.log")"
  exit 1
fi

# complete: plain and JSON, default and explicit search settings (--beams 8: more than the daemon's
# default `completions`, which the CLI must not get instead of the 8 it shows in process)
for args in "" "--beams 3 --max-tokens 2 --stop word --min-score -inf" "--after ck --stop line" "--beams 8 --min-score -inf"; do
  d=$("$AC" complete $args "the quick bro" 2>&1); i=$("$AC" complete $IN $args "the quick bro" 2>&1)
  same "complete_same_text: ${args:-defaults}" "$d" "$i"
  d=$("$AC" complete --json $args "the quick bro" 2>&1 | untimed); i=$("$AC" complete --json $IN $args "the quick bro" 2>&1 | untimed)
  same "complete_same_json: ${args:-defaults}" "$d" "$i"
done
[ -n "$("$AC" complete "the quick bro")" ] && pass complete_answers || fail complete_answers "no completion"
d=$(printf 'the fox and\n' | "$AC" complete --json | untimed); i=$(printf 'the fox and\n' | AUTOCORRECT_MODEL=$TINY "$AC" complete --no-daemon --json | untimed)
same complete_configured_model_in_process_same "$d" "$i"
d=$("$AC" complete --json --socket "$sock" "the quick bro" | untimed); i=$("$AC" complete --json "the quick bro" | untimed)
same complete_explicit_socket "$d" "$i"
# --config FILE: its socket_path leads to the daemon (its model_path is nowhere)
printf 'socket_path = "%s"\nmodel_path = "%s/nowhere"\n' "$sock" "$tmp" > "$tmp/other.toml"
out=$(XDG_RUNTIME_DIR=$tmp/elsewhere "$AC" info --config "$tmp/other.toml" 2> "$tmp/err"); st=$?
[ $st = 0 ] && echo "$out" | grep -q "^n_vocab    297$" && pass config_socket_path_reaches_daemon \
  || fail config_socket_path_reaches_daemon "status $st: $(cat "$tmp/err")"

# topk after a text
d=$("$AC" topk --k 5 "the quick" 2>&1); i=$("$AC" topk $IN --k 5 "the quick" 2>&1)
same topk_same_text "$d" "$i"
d=$("$AC" topk --json --k 5 "the quick" 2>&1); i=$("$AC" topk $IN --json --k 5 "the quick" 2>&1)
same topk_same_json "$d" "$i"
e=$("$AC" topk --json --k 5 --socket "$sock" "the quick" 2>&1)
same topk_default_lookup_is_the_daemon "$e" "$d"
[ "$(printf '%s\n' "$d" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))')" = 5 ] \
  && pass topk_k_tokens || fail topk_k_tokens "$d"

# tokenize and detokenize (UTF-8 through the daemon; other bytes with the daemon's tokenizer)
d=$(printf 'Hello world, caf\xc3\xa9\n' | "$AC" tokenize 2>&1); i=$(printf 'Hello world, caf\xc3\xa9\n' | "$AC" tokenize $IN_TOK 2>&1)
same tokenize_same_text "$d" "$i"
ids=$d
d=$(printf 'Hello' | "$AC" tokenize --json 2>&1); i=$(printf 'Hello' | "$AC" tokenize --json --no-daemon --tokenizer "$TINY" 2>&1)
same tokenize_same_json "$d" "$i"
d=$(printf 'ab\xff\xfe' | "$AC" tokenize 2>&1); i=$(printf 'ab\xff\xfe' | "$AC" tokenize $IN_TOK 2>&1)
same tokenize_not_utf8_same "$d" "$i"
d=$(echo "$ids" | "$AC" detokenize | od -An -tx1); i=$(echo "$ids" | "$AC" detokenize $IN_TOK | od -An -tx1)
w=$(printf 'Hello world, caf\xc3\xa9\n' | od -An -tx1)
same detokenize_same_bytes "$d" "$i"
[ "$d" = "$w" ] && pass detokenize_round_trip || fail detokenize_round_trip "$d"
# an id that is half a character: the exact byte, not U+FFFD, whichever path answers
half=$(printf '\xc3' | "$AC" tokenize --no-daemon --tokenizer "$TINY")
d=$(echo "$half" | "$AC" detokenize | od -An -tx1); i=$(echo "$half" | "$AC" detokenize $IN_TOK | od -An -tx1)
same detokenize_half_character_same "$d" "$i"
[ "$(echo $d)" = c3 ] && pass detokenize_half_character_exact || fail detokenize_half_character_exact "$d"
d=$(echo "$ids $half" | "$AC" detokenize --json); i=$(echo "$ids $half" | "$AC" detokenize --json $IN_TOK)
same detokenize_same_json "$d" "$i"

# info: the same lines but the load time
d=$("$AC" info 2>&1 | grep -v '^load '); i=$("$AC" info $IN 2>&1 | grep -v '^load ')
same info_same_text "$d" "$i"
d=$("$AC" info --json 2>&1 | untimed); i=$("$AC" info --json $IN 2>&1 | untimed)
same info_same_json "$d" "$i"

# correct (the LM ranks in both: the daemon's model, and --model in process) and learn
if [ -f "$DICT" ]; then
  text=$(printf 'I saw teh cat and the brwn dog\nform the store\nnothing wrong here\n\xff teh\n')
  d=$(printf '%s\n' "$text" | "$AC" correct 2>&1 | od -c); i=$(printf '%s\n' "$text" | "$AC" correct $IN 2>&1 | od -c)
  same correct_same_text "$d" "$i"
  d=$(printf '%s\n' "$text" | "$AC" correct --json 2>&1); i=$(printf '%s\n' "$text" | "$AC" correct --json $IN 2>&1)
  same correct_same_json "$d" "$i"
  e=$(printf '%s\n' "$text" | "$AC" correct --json --socket "$sock" 2>&1)
  same correct_default_lookup_is_the_daemon "$e" "$d"
  d=$("$AC" correct --json --candidates 5 "teh cat" 2>&1); i=$("$AC" correct --json --candidates 5 $IN "teh cat" 2>&1)
  same correct_same_json_candidates "$d" "$i"
  before=$("$AC" correct "I saw brwn today")
  out=$("$AC" learn brwn 2> "$tmp/err"); st=$?
  after=$("$AC" correct "I saw brwn today")
  want="learned 'brwn' ($XDG_DATA_HOME/autocorrect/user-dictionary.txt)"
  [ $st = 0 ] && [ "$out" = "$want" ] && pass learn_through_daemon_output || fail learn_through_daemon_output "status $st: '$out' $(cat "$tmp/err")"
  if [ "$before" != "I saw brwn today" ] && [ "$after" = "I saw brwn today" ]; then
    pass learn_through_daemon_stops_correcting
  else
    fail learn_through_daemon_stops_correcting "before: '$before', after: '$after'"
  fi
  grep -qx brwn "$XDG_DATA_HOME/autocorrect/user-dictionary.txt" && pass learn_through_daemon_writes_file \
    || fail learn_through_daemon_writes_file "not in the user dictionary"
  st=$(status_of "$AC" learn 'two words')
  [ "$st" = 2 ] && pass learn_bad_word_through_daemon_exit_2 || fail learn_bad_word_through_daemon_exit_2 "status $st"
else
  echo "SKIP: correct_and_learn: no $DICT"
fi

# usage errors: 2 (before anything is sent)
usage2() { # name, args...
  local name=$1; shift
  local st; st=$(status_of "$AC" "$@" < /dev/null)
  [ "$st" = 2 ] && pass "usage_exit_2: $name" || fail "usage_exit_2: $name" "status $st: $(head -c 200 "$tmp/err")"
}
usage2 socket_with_model complete --socket "$sock" --model "$TINY" x
usage2 socket_with_no_daemon info --socket "$sock" --no-daemon
usage2 config_without_value complete x --config
usage2 complete_bad_beams complete --beams 0 x
usage2 correct_bad_candidates correct --candidates 0 x
usage2 topk_no_text topk
usage2 topk_text_and_ids topk --ids 1,2 x
usage2 info_unknown_option info --frobnicate
usage2 tokenize_unknown_option tokenize --frobnicate
usage2 detokenize_unknown_option detokenize --frobnicate
usage2 learn_no_word learn
for cmd in complete correct topk tokenize detokenize info learn; do
  st=$(status_of "$AC" $cmd --help)
  [ "$st" = 0 ] && grep -q -- "--socket" "$tmp/out" && pass "help_mentions_socket: $cmd" || fail "help_mentions_socket: $cmd" "status $st"
done

kill -TERM "$pid"; wait "$pid"; pid=
[ $fails = 0 ]
