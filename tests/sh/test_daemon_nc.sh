#!/usr/bin/env bash
# The real autocorrectd with the tiny fixture model, driven the way a shell user would: the
# seed's plain-text fallback verbatim (`echo -n text | nc -U SOCKET` with Debian's netcat-openbsd),
# a JSON request through nc, the exit statuses of the command line, and SIGTERM.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-build}
daemon=$BUILD/bin/autocorrectd
fail=0
pass() { echo "PASS: $1"; }
failed() { echo "FAIL: $1: $2"; fail=1; }
if [ ! -x "$daemon" ]; then echo "SKIP: daemon_nc: $daemon is not built"; exit 0; fi
if ! command -v nc >/dev/null; then echo "SKIP: daemon_nc: nc (netcat-openbsd) is not installed"; exit 0; fi

# command line
"$daemon" --help > /dev/null 2>&1 && pass help_exit_0 || failed help_exit_0 "status $?"
"$daemon" --version | grep -q '^autocorrectd ' && pass version || failed version "no version line"
"$daemon" --no-such-option > /dev/null 2>&1; st=$?
[ $st = 2 ] && pass bad_option_exit_2 || failed bad_option_exit_2 "status $st"

tmp=$(mktemp -d /tmp/test_daemon_nc_XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sock=$tmp/ac.sock
printf 'model_path = "%s"\n' "$(realpath tests/fixtures/tiny)" > "$tmp/config.toml"
"$daemon" --config "$tmp/config.toml" --check-config > "$tmp/check.out" 2>&1 \
  && grep -q 'config OK' "$tmp/check.out" && pass check_config || failed check_config "$(tail -1 "$tmp/check.out")"
"$daemon" --config "$tmp/missing.toml" > /dev/null 2>&1; st=$?
[ $st = 1 ] && pass missing_config_exit_1 || failed missing_config_exit_1 "status $st"

"$daemon" --config "$tmp/config.toml" --socket "$sock" 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
mode=$(stat -c %a "$sock" 2>/dev/null)
[ "$mode" = 600 ] && pass socket_mode_0600 || failed socket_mode_0600 "mode $mode"

# the fallback, verbatim: no newline, and nc does not shut down its sending side
start=$EPOCHREALTIME
out=$(echo -n "some text" | timeout 10 nc -U "$sock"); st=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
lines=$(printf '%s' "$out" | grep -c '' || true)
if [ $st = 0 ] && [ "$lines" -ge 1 ] && awk -v s="$secs" 'BEGIN { exit !(s < 3) }'; then
  pass nc_plain_text
else
  failed nc_plain_text "status $st, $lines lines in ${secs}s: $out"
fi
out=$(echo "the quick brown" | timeout 10 nc -U "$sock"); st=$?
[ $st = 0 ] && [ -n "$out" ] && pass nc_plain_text_newline || failed nc_plain_text_newline "status $st: $out"

# JSON through nc -N (shuts down its sending side: the reply comes, then the close)
out=$(echo '{"id":5,"op":"tokenize","text":"Hello"}' | timeout 10 nc -N -U "$sock"); st=$?
echo "$out" | grep -q '"id":5,"tokens":\[' && pass nc_json || failed nc_json "status $st: $out"
out=$(echo '{"id":6,"op":"health"}' | timeout 10 nc -N -U "$sock")
echo "$out" | grep -q '"status":"ok"' && pass nc_health || failed nc_health "$out"

kill -TERM "$pid"; wait "$pid"; st=$?; pid=
[ $st = 0 ] && pass sigterm_exit_0 || failed sigterm_exit_0 "status $st"
[ ! -e "$sock" ] && pass socket_removed || failed socket_removed "$sock still exists"
grep -q "loaded .* in [0-9]* ms" "$tmp/daemon.log" && pass startup_log || failed startup_log "$(head -2 "$tmp/daemon.log")"
exit $fail
