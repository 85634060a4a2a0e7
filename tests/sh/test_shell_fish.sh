#!/usr/bin/env bash
# shell/autocorrect.fish against the real daemon (build/bin/autocorrectd with the tiny fixture model)
# and the real `autocorrect` CLI. Non-interactive: the script loads in `fish -c` and
# `autocorrect_suggest` returns the daemon's completions; with no daemon it fails at once.
# Interactive (fish in tmux): Alt-a inserts the best completion (the line that runs holds it) and
# cycles; Alt-x applies the daemon's corrections; with the daemon hung Alt-a gives up within its
# 0.1 s budget and the line stays. Isolated: HOME and XDG dirs in a temporary directory.
. "$(dirname "$0")/lib/shell_session.sh"

t_require fish_integration --cli fish tmux timeout

FENV=(env -i HOME="$T_DIR/home" XDG_CONFIG_HOME="$T_DIR/home/.config" XDG_DATA_HOME="$T_DIR/data"
      XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" LANG=C.UTF-8 PATH="$BUILD/bin:/usr/bin:/bin")
t_session_daemon

# --- non-interactive -----------------------------------------------------------------------------------
if ! t_pick_completed 4 "echo hel" "echo wor" "ls -l" "git st"; then
  fail fish_suggest "the daemon completes none of the candidate lines"
  t_exit
fi
want=$($ACQ complete "$SOCK" "$LINE" 4)
mapfile -t ALTS <<<"$want"
got=$("${FENV[@]}" fish --no-config -c "source $ROOT/shell/autocorrect.fish; and set autocorrect_timeout 2; and autocorrect_suggest '$LINE'" 2>&1)
rc=$?
if [ $rc = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ]; then
  pass "fish_loads_and_suggests (autocorrect_suggest '$LINE': $(tr '\n' ' ' <<<"$got"))"
else
  fail fish_loads_and_suggests "status $rc, got '$got', the daemon's completions are '$want'"
fi
start=$EPOCHREALTIME
got=$("${FENV[@]}" AUTOCORRECT_SOCKET="$T_DIR/none.sock" fish --no-config -c "source $ROOT/shell/autocorrect.fish; autocorrect_suggest '$LINE'" 2>&1)
rc=$?
ms=$(t_ms_since "$start")
if [ $rc != 0 ] && [ -z "$got" ]; then pass "fish_no_daemon_fails_fast (status $rc, ${ms} ms with fish's own start)"
else fail fish_no_daemon_fails_fast "status $rc, output '$got'"; fi

# --- interactive ---------------------------------------------------------------------------------------
mkdir -p "$T_DIR/home/.config/fish"
cat >"$T_DIR/home/.config/fish/config.fish" <<EOF
function fish_prompt; echo -n '\$ '; end
function fish_greeting; end
set -g fish_autosuggestion_enabled 0
if set -q T_TIMEOUT; set -g autocorrect_timeout \$T_TIMEOUT; end
source $ROOT/shell/autocorrect.fish
EOF
fish_start() {
  t_start_prompt PATH="$BUILD/bin:/usr/bin:/bin" XDG_CONFIG_HOME="$T_DIR/home/.config" XDG_DATA_HOME="$T_DIR/data" "$@" fish -i
}

fish_start T_TIMEOUT=2
t_check_loads_clean fish_interactive_loads_clean $?
t_type_line "$LINE"
tm send-keys -t 0 M-a
if t_wait_line "$LINE${ALTS[0]}" 5; then pass "alt_a_inserts ('$LINE' + '${ALTS[0]}')"
else fail alt_a_inserts "expected '\$ $LINE${ALTS[0]}': $(t_screen | grep -v '^$' | tail -3)"; fi
if [ ${#ALTS[@]} -gt 1 ]; then
  tm send-keys -t 0 M-a
  if t_wait_line "$LINE${ALTS[1]}" 5; then pass "alt_a_cycles ('$LINE${ALTS[1]}')"
  else fail alt_a_cycles "expected '\$ $LINE${ALTS[1]}': $(t_screen | grep -v '^$' | tail -3)"; fi
fi
tm send-keys -t 0 Enter
if [[ $LINE == "echo "* ]]; then
  if t_wait_for "^$(t_re "${LINE#echo }${ALTS[1]:-${ALTS[0]}}")\$" 5; then pass "completed_line_runs"
  else fail completed_line_runs "$(t_screen | grep -v '^$' | tail -3)"; fi
fi
tm send-keys -t 0 C-l
sleep 0.3

if t_pick_corrected "echo the quick brwn fox" "echo teh cat sat" "echo wrold peace"; then
  t_type_line "$CLINE"
  tm send-keys -t 0 M-x
  if t_wait_line "$CEXP" 5; then pass "alt_x_corrects ('$CLINE' -> '$CEXP')"
  else fail alt_x_corrects "expected '\$ $CEXP': $(t_screen | grep -v '^$' | tail -3)"; fi
else
  fail alt_x_corrects "the daemon corrects none of the candidate lines"
fi
tm send-keys -t 0 C-u C-l
sleep 0.3

# the daemon hung, the default budget: Alt-a comes back at once and the line stays
fish_start
kill -STOP "$DAEMON_PID"
t_type_line "echo hung"
start=$EPOCHREALTIME
tm send-keys -t 0 M-a
t_wait_for 'autocorrect: no answer within 0.1s' 5
ms=$(t_ms_since "$start")
tm send-keys -t 0 -l Z
if t_wait_line "echo hungZ" 3 && [ "$ms" -lt 1000 ]; then pass "hung_daemon_gives_up (Alt-a came back in ${ms} ms, the line unchanged)"
else fail hung_daemon_gives_up "${ms} ms: $(t_screen | grep -v '^$' | tail -3)"; fi
kill -CONT "$DAEMON_PID"

t_exit
