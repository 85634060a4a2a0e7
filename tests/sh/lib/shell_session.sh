# tests/sh/lib/shell_session.sh: the session set-up the shell integration tests (tests/sh/test_shell_
# bash.sh, test_shell_zsh.sh, test_shell_fish.sh) share, on top of tests/shell/lib.sh (PASS/FAIL
# lines, the temporary directory, tmux, the daemon, the screen), which it sources: the checks that
# the tools and the build are there, the daemon on the default socket path, a shell started at its
# "$ " prompt (with a fresh history file, for the history checks), and the lines the checks pick
# by asking the daemon first (one it completes, one it corrects, one with two rival completions,
# one whose completion changes with history context).
#
# Sourced by bash; not a test (tests/run.sh runs only tests/sh/test_*.sh, not this folder). What
# each shell does with a key, and the checks themselves, stay in the test of that shell.
. "$(dirname "${BASH_SOURCE[0]}")/../../shell/lib.sh"

# t_require NAME [--cli] TOOL...: SKIP NAME and exit 0 when a tool is not installed; FAIL NAME and
# exit when the daemon or the tiny fixture (and with --cli the `autocorrect` CLI) is not built.
t_require() {
  local name=$1 cli=0 tool
  shift
  if [ "${1:-}" = --cli ]; then cli=1; shift; fi
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      skip "$name" "$tool is not installed (scripts/install-deps.sh)"
      exit 0
    fi
  done
  if ! t_daemon_ok || { [ $cli = 1 ] && [ ! -x "$BUILD/bin/autocorrect" ]; }; then
    local what="$BUILD/bin/autocorrectd"
    [ $cli = 1 ] && what+=", $BUILD/bin/autocorrect"
    fail "$name" "$what or tests/fixtures/tiny is missing (run make)"
    t_exit
  fi
}

# t_session_daemon: the real daemon on the default socket path, SOCK (the integrations must find it
# unaided), and the check daemon_starts; the test ends when it does not start.
t_session_daemon() {
  SOCK=$XDG_RUNTIME_DIR/autocorrect.sock
  if ! t_start_daemon "$SOCK"; then
    fail daemon_starts "see the log above"
    t_exit
  fi
  pass "daemon_starts (tiny fixture model on $SOCK)"
}

# t_start_prompt [VAR=value...] COMMAND...: t_start_shell, then waits up to 10 s for the prompt
# "$ " on a line of its own (the tests' rc files set it); 1 when it does not come.
t_start_prompt() {
  t_start_shell "$@"
  t_wait_for '^\$ $' 10
}

# t_start_prompt_hist DIR [VAR=value...] COMMAND...: t_start_prompt with T_HIST, for the rc file's
# history file, set to a new file DIR/history-N holding the lines of DIR/history-next (moved there:
# write it before each start that wants a history). A new file per start, because a shell killed
# later saves its own history over its file. T_NHIST is N.
T_NHIST=0
t_start_prompt_hist() {
  local dir=$1
  shift
  T_NHIST=$((T_NHIST + 1))
  touch "$dir/history-next"
  mv "$dir/history-next" "$dir/history-$T_NHIST"
  t_start_prompt T_HIST="$dir/history-$T_NHIST" "$@"
}

# t_check_loads_clean NAME STATUS: the check NAME on a shell just started by t_start_prompt, which
# returned STATUS: its prompt came and nothing on the screen mentions autocorrect (the integration
# loads silently). Without a prompt the test ends: nothing after it could run.
t_check_loads_clean() {
  local name=$1 status=$2 scr
  if [ "$status" != 0 ]; then
    fail "$name" "no prompt in 10 s: $(t_screen | head -5)"
    t_exit
  fi
  scr=$(t_screen)
  if grep -q 'autocorrect' <<<"$scr"; then fail "$name" "startup printed: $(grep autocorrect <<<"$scr" | head -3)"
  else pass "$name"; fi
}

# t_wait_line TEXT [SECONDS]: until the line "$ TEXT" (the whole line, trailing spaces aside) is on
# screen; 1 on timeout (default 5 s).
t_wait_line() { t_wait_for "^\\\$ $(t_re "$1") *\$" "${2:-5}"; }

# t_rtrim TEXT: TEXT without its trailing spaces (a completion's trailing spaces are not on screen).
t_rtrim() { printf '%s' "${1%"${1##*[! ]}"}"; }

# t_pick_completed N CANDIDATE...: the first candidate line the daemon completes, asked for N
# completions the way the integrations ask (tests/shell/acq.py): LINE, its completions ALTS (as
# the daemon gives them, one an element) and EXPECT, the best one without trailing spaces. A
# completion of spaces only counts as none. 1 when no candidate is completed.
t_pick_completed() {
  local n=$1 c
  shift
  for c in "$@"; do
    mapfile -t ALTS < <($ACQ complete "$SOCK" "$c" "$n")
    EXPECT=$(t_rtrim "${ALTS[0]:-}")
    if [ -n "$EXPECT" ]; then LINE=$c; return 0; fi
  done
  return 1
}

# t_pick_corrected CANDIDATE...: the first candidate line the daemon's corrections change: CLINE
# and CEXP (the line corrected); 1, with CLINE empty, when they change none.
t_pick_corrected() {
  local c e
  CLINE=''
  for c in "$@"; do
    e=$($ACQ correct "$SOCK" "$c")
    if [ -n "$e" ] && [ "$e" != "$c" ]; then CLINE=$c; CEXP=$e; return 0; fi
  done
  return 1
}

# t_pick_rivals N CANDIDATE...: for the history ranking checks, the first candidate line whose two
# best of N completions are both there and neither starts the other (history can then pick the
# second): HLINE, H1 and H2 (without trailing spaces); 1, with HLINE empty, when there is none.
t_pick_rivals() {
  local n=$1 c c1 c2
  local -a cs
  shift
  HLINE=''
  for c in "$@"; do
    mapfile -t cs < <($ACQ complete "$SOCK" "$c" "$n")
    [ ${#cs[@]} -ge 2 ] || continue
    c1=$(t_rtrim "${cs[0]}"); c2=$(t_rtrim "${cs[1]}")
    [ -n "$c1" ] && [ -n "$c2" ] && [[ $c2 != "$c1"* ]] && [[ $c1 != "$c2"* ]] || continue
    HLINE=$c; H1=$c1; H2=$c2
    return 0
  done
  return 1
}

# t_pick_context N: for the history context checks, two history lines and a line after them whose
# best completion (of N, without trailing spaces) changes when the daemon is given those lines
# as context: CTX1, CTX2, CLINE_CTX, WITH (the completion with the context) and WITHOUT; 1 when no
# pair and line tried changes it.
t_pick_context() {
  local n=$1 ctx c
  for ctx in "ls -l|echo hello" "git status|git st" "cd /tmp|ls" "make|make test"; do
    CTX1=${ctx%|*}; CTX2=${ctx#*|}
    for c in "echo hel" "ls -l" "git st" "echo wor"; do
      WITH=$(t_rtrim "$($ACQ complete "$SOCK" "hex:$(printf '%s\n%s\n%s' "$CTX1" "$CTX2" "$c" | od -An -tx1 | tr -d ' \n')" "$n" | head -1)")
      WITHOUT=$(t_rtrim "$($ACQ complete "$SOCK" "$c" "$n" | head -1)")
      if [ -n "$WITH" ] && [ "$WITH" != "$WITHOUT" ]; then CLINE_CTX=$c; return 0; fi
    done
  done
  return 1
}
