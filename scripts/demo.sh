#!/usr/bin/env bash
# demo.sh: what `make demo` shows a new user. Starts autocorrectd on a temporary socket with the
# shipped model (models/default; the tiny test model when that is not built yet), asks it for a
# completion and a correction through the `autocorrect` client and for a completion through plain
# `nc -U` (the fallback any shell has), then stops it (SIGTERM) and removes its temporary directory,
# also when a step fails. Exits non-zero when a step fails. Not a test (tests/sh/ has those).
#
#   scripts/demo.sh            (BUILD=build by default: the programs are $BUILD/bin/*)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AC=$BUILD/bin/autocorrect
DAEMON=$BUILD/bin/autocorrectd
TYPO="Teh wether is nice todya"

for p in "$AC" "$DAEMON"; do
  [ -x "$p" ] || { echo "demo: $p is not built (run make)" >&2; exit 1; }
done
model=models/default
prompt="The president of the United" # the shipped model knows general English (DEMO_PROMPT: another)
if [ ! -f $model/model.onnx ] && [ ! -f $model/model.safetensors ]; then
  model=tests/fixtures/tiny
  prompt="The quick brown"
  note="note: the shipped model (models/default) is not built yet (make model); this runs the tiny test model, whose words are random"
fi
PROMPT=${DEMO_PROMPT:-$prompt}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autocorrect-demo.XXXXXX") || exit 1
sock=$tmp/autocorrect.sock
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
failed() { # what went wrong; the daemon's log helps
  echo "demo: $1" >&2
  [ -s "$tmp/daemon.log" ] && sed 's/^/  autocorrectd: /' "$tmp/daemon.log" | tail -5 >&2
  exit 1
}
# The daemon's own defaults (an empty config.toml): the demo does not depend on the user's config.
# The user dictionary is the user's, read only (nothing is learned).
: > "$tmp/config.toml"

echo "autocorrect demo: autocorrectd with $model on a temporary socket"
[ -n "${note:-}" ] && echo "$note"
"$DAEMON" --config "$tmp/config.toml" --model "$model" --socket "$sock" 2> "$tmp/daemon.log" &
pid=$!
for _ in $(seq 300); do # 30 s at most: loading the model takes a second or two
  [ -S "$sock" ] && break
  kill -0 "$pid" 2>/dev/null || { pid=; failed "autocorrectd did not start"; }
  sleep 0.1
done
[ -S "$sock" ] || failed "autocorrectd did not open $sock within 30 s"
echo

# show COMMAND COMMENT OUTPUT: the command as a user types it, what it does, then its output
# indented (or a line saying there was none)
show() {
  printf '%-54s # %s\n' "\$ $1" "$2"
  if [ -n "$3" ]; then printf '%s\n' "$3" | sed 's/^/    /'; else echo "    (nothing: the model abstained)"; fi
}

out=$("$AC" complete --socket "$sock" "$PROMPT" 2> "$tmp/err") || failed "autocorrect complete: $(cat "$tmp/err")"
show "autocorrect complete \"$PROMPT\"" "completions, most typing saved first" "$out"

out=$(echo "$TYPO" | "$AC" correct --socket "$sock" 2> "$tmp/err") || failed "autocorrect correct: $(cat "$tmp/err")"
[ -n "$out" ] || failed "autocorrect correct printed nothing"
show "echo \"$TYPO\" | autocorrect correct" "each line comes back corrected" "$out"

if command -v nc > /dev/null && nc -h 2>&1 | grep -q -- '-U'; then
  # Debian's nc does not end its side of the connection at the end of its input: the daemon answers
  # after a pause of 200 ms (docs/protocol.md), then closes, which ends nc.
  out=$(echo -n "some text" | timeout 10 nc -U "$sock" 2> "$tmp/err") || failed "nc -U: $(cat "$tmp/err")"
  case "$out" in error:*) failed "the daemon answered nc with: $out" ;; esac
  show "echo -n \"some text\" | nc -U \$SOCKET" "plain text in, completions out: any shell" "$out"
else
  echo "(skipped: echo -n \"some text\" | nc -U \$SOCKET, the plain-text fallback: no nc with -U; install netcat-openbsd)"
fi

echo
kill -TERM "$pid"
wait "$pid"; st=$?
pid=
[ $st = 0 ] || failed "autocorrectd exited with status $st on SIGTERM"
echo "autocorrectd stopped. Next: make install, then autocorrectd & (README.md, Using it)."
