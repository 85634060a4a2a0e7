#!/usr/bin/env bash
# shell/autocorrect.bash in a real interactive bash driven through tmux, against the real daemon
# (build/bin/autocorrectd with the tiny fixture model) and the real `autocorrect` CLI: Ctrl-x a
# inserts the daemon's best completion (the line that runs holds it), lists the alternatives and
# cycles through them; completes in the middle of a line; Ctrl-x c applies the daemon's corrections
# and Ctrl-_ undoes them; history ranking and context; with the daemon killed or hung the key
# gives up within its budget and typing is as quick as without the integration; control
# characters, invalid UTF-8 and a very long line; a missing CLI.
# Isolated: HOME and XDG dirs in a temporary directory; tmux on a private server.
. "$(dirname "$0")/lib/shell_session.sh"

t_require bash_integration --cli bash tmux timeout

BH=$T_DIR/bh
mkdir -p "$BH" "$T_DIR/bplain"
cat >"$BH/.bashrc" <<EOF
PS1='\$ '
HISTFILE=\$T_HIST
HISTSIZE=1000
stty -ixon
source $ROOT/shell/autocorrect.bash
# test helper: bytes a terminal cannot type (a readline macro)
bind '"\\C-xi": "\\377\\376ok"'
EOF
printf '%s\n' "PS1='\$ '" "stty -ixon" >"$T_DIR/bplain/.bashrc"

# bash_start [VAR=value...]: the integration's bash (history from $BH/history-next, if any).
bash_start() {
  t_start_prompt_hist "$BH" PATH="$BUILD/bin:/usr/local/bin:/usr/bin:/bin" "$@" \
    bash --noprofile --rcfile "$BH/.bashrc" -i
}

t_session_daemon

bash_start AUTOCORRECT_TIMEOUT=2
t_check_loads_clean bash_loads_clean $?

# --- Ctrl-x a: complete, list, cycle --------------------------------------------------------------
if ! t_pick_completed 4 "echo hel" "echo the qu" "echo wor" "ls -l" "git st"; then
  fail complete_key "the daemon completes none of the candidate lines"
  t_exit
fi
t_type_line "$LINE"
tm send-keys -t 0 C-x a
if t_wait_line "$LINE$EXPECT" 5; then pass "complete_key_inserts ('$LINE' + '$EXPECT', the daemon's best completion)"
else fail complete_key_inserts "expected '\$ $LINE$EXPECT': $(t_screen | grep -v '^$' | tail -3)"; fi
if [ ${#ALTS[@]} -gt 1 ]; then
  listing="[${ALTS[0]}]"
  for a in "${ALTS[@]:1}"; do listing+="  $a"; done
  if t_screen | grep -qF -- "$listing"; then pass "complete_key_lists_alternatives ($listing)"
  else fail complete_key_lists_alternatives "no line '$listing': $(t_screen | grep -v '^$' | tail -3)"; fi
  tm send-keys -t 0 C-x a
  if t_wait_line "$LINE${ALTS[1]}" 5; then pass "complete_key_cycles ('$LINE${ALTS[1]}' on the second press)"
  else fail complete_key_cycles "expected '\$ $LINE${ALTS[1]}': $(t_screen | grep -v '^$' | tail -3)"; fi
  tm send-keys -t 0 C-x a
  t_wait_line "$LINE${ALTS[2]:-${ALTS[0]}}" 5
else
  skip complete_key_lists_alternatives "the daemon gives one completion of '$LINE'"
fi
# the line that runs holds the completion
tm send-keys -t 0 C-u
t_type_line "$LINE"
tm send-keys -t 0 C-x a
t_wait_line "$LINE$EXPECT" 5
tm send-keys -t 0 Enter
if t_wait_for "^$(t_re "${LINE#echo }$EXPECT")\$" 5; then pass "completed_line_runs (printed '${LINE#echo }$EXPECT')"
else fail completed_line_runs "$(t_screen | grep -v '^$' | tail -3)"; fi
tm send-keys -t 0 C-l
sleep 0.2

# in the middle of the line: the text after the cursor goes as `after` and stays after
MID_AFTER=" world"
mexp=$($ACQ complete "$SOCK" "$LINE" 4 8 "$MID_AFTER" | head -1)
t_type_line "$LINE$MID_AFTER"
for ((i = 0; i < ${#MID_AFTER}; i++)); do tm send-keys -t 0 Left; done
tm send-keys -t 0 C-x a
if [ -z "$mexp" ]; then
  sleep 0.5
  if t_screen | grep -q 'no completion' && t_wait_line "$LINE$MID_AFTER" 1; then pass "complete_mid_line (no completion with after='$MID_AFTER', line unchanged)"
  else fail complete_mid_line "$(t_screen | grep -v '^$' | tail -2)"; fi
elif t_wait_line "$LINE$mexp$MID_AFTER" 5; then
  tm send-keys -t 0 -l Q
  if t_wait_line "$LINE${mexp}Q$MID_AFTER" 3; then pass "complete_mid_line ('$LINE' + '$mexp' before '$MID_AFTER', cursor after the insertion)"
  else fail complete_mid_line "cursor not after the insertion: $(t_screen | grep -v '^$' | tail -1)"; fi
else
  fail complete_mid_line "expected '\$ $LINE$mexp$MID_AFTER': $(t_screen | grep -v '^$' | tail -2)"
fi
tm send-keys -t 0 C-e C-u C-l
sleep 0.2

# --- Ctrl-x c: correct -------------------------------------------------------------------------------
if ! t_pick_corrected "echo the quick brwn fox" "echo teh cat sat" "echo wrold peace"; then
  fail correct_key "the daemon corrects none of the candidate lines"
else
  t_type_line "$CLINE"
  tm send-keys -t 0 C-x c
  if t_wait_line "$CEXP" 5; then
    pass "correct_key ('$CLINE' -> '$CEXP', the daemon's corrections)"
    tm send-keys -t 0 C-_
    if t_wait_line "$CLINE" 3; then pass "correct_key_undo"
    else fail correct_key_undo "Ctrl-_ did not restore '$CLINE': $(t_screen | grep -v '^$' | tail -1)"; fi
  else
    fail correct_key "expected '\$ $CEXP': $(t_screen | grep -v '^$' | tail -3)"
  fi
fi
tm send-keys -t 0 C-u C-l
sleep 0.2

# --- odd bytes and a very long line --------------------------------------------------------------------
t_type_line "echo a"
tm send-keys -t 0 C-v C-a
tm send-keys -t 0 -l 'b"\'
tm send-keys -t 0 C-x i
tm send-keys -t 0 C-x a
sleep 1
tm send-keys -t 0 C-u
t_type_line "echo still fine"
tm send-keys -t 0 Enter
if t_wait_for '^still fine$' 3; then pass "odd_bytes_leave_the_prompt_working (control character, quote, backslash, invalid UTF-8)"
else fail odd_bytes_leave_the_prompt_working "$(t_screen | grep -v '^$' | tail -3)"; fi
tm send-keys -t 0 C-l
sleep 0.2
long="echo $(printf 'word%d ' $(seq 1 500))"
tm send-keys -t 0 -l "$long"
for ((i = 0; i < 400; i++)); do [ "$(t_screen | tr -cd w | wc -c)" -ge 500 ] && break; sleep 0.05; done
start=$EPOCHREALTIME
tm send-keys -t 0 C-x a
sleep 0.3
tm send-keys -t 0 C-u
tm send-keys -t 0 -l "echo long ok"
tm send-keys -t 0 Enter
if t_wait_for '^long ok$' 5; then pass "long_line (${#long} chars: completed or not, the prompt works; $(t_ms_since "$start") ms)"
else fail long_line "$(t_screen | grep -v '^$' | tail -3)"; fi
tm send-keys -t 0 C-l
sleep 0.2

# --- history: ranking and context (opt-in) -----------------------------------------------------------
# key_after_history NAME LINE WANT DETAIL VAR=value...: bash with those settings and the history of
# $BH/history-next; Ctrl-x a after LINE must give "$ LINE WANT". DETAIL goes in the PASS/FAIL line.
key_after_history() {
  local name=$1 line=$2 want=$3 detail=$4
  shift 4
  bash_start AUTOCORRECT_TIMEOUT=2 "$@"
  t_type_line "$line"
  tm send-keys -t 0 C-x a
  if t_wait_line "$line$want" 5; then pass "$name ($detail)"
  else fail "$name" "expected '\$ $line$want' ($detail): $(t_screen | grep -v '^$' | tail -2)"; fi
}

if ! t_pick_rivals 4 "echo hel" "echo wor" "ls -l" "git st" "echo the qu" "cat" "make"; then
  skip history_ranking "no candidate line gets two different completions from the tiny model"
else
  printf '%s\n' "echo unrelated" "$HLINE$H2" >"$BH/history-next"
  key_after_history history_ranking "$HLINE" "$H2" "'$HLINE': the daemon ranks '$H1' first, history has '$HLINE$H2'" \
    AUTOCORRECT_HISTORY=1
fi

if ! t_pick_context 4; then
  skip history_context "the tiny model's completion never changes with the context tried"
else
  printf '%s\n' "$CTX1" "$CTX2" >"$BH/history-next"
  key_after_history history_context "$CLINE_CTX" "$WITH" \
    "'$CLINE_CTX' after '$CTX1', '$CTX2': '$WITH'; without context '$WITHOUT'" AUTOCORRECT_HISTORY_CONTEXT=2
fi

# --- never blocked: the daemon killed, hung; the CLI missing --------------------------------------------
# The key with the default budget (0.1 s): how long until the prompt is back, and the line unchanged.
key_ms() { # TEXT: types TEXT, presses Ctrl-x a, waits for the message; prints ms
  t_type_line "$1"
  local s=$EPOCHREALTIME
  tm send-keys -t 0 C-x a
  t_wait_for "autocorrect: $2" 5
  t_ms_since "$s"
}
t_start_prompt PATH="$BUILD/bin:/usr/bin:/bin" bash --noprofile --rcfile "$T_DIR/bplain/.bashrc" -i
base=$(t_median_echo_ms 9 "echo ")
bash_start
live=$(t_median_echo_ms 9 "echo ")
tm send-keys -t 0 C-u C-l
kill -STOP "$DAEMON_PID"
hung_key=$(key_ms "echo hung" "no answer within 0.1s")
hung=$(t_median_echo_ms 9 " x")
if t_wait_line "echo hung xxxxxxxxxx" 1; then unchanged=1; else unchanged=0; fi
kill -CONT "$DAEMON_PID"
tm send-keys -t 0 C-u C-l
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
gone_key=$(key_ms "echo gone" "the daemon is not running")
gone=$(t_median_echo_ms 9 " y")
limit=$((base + 40)); [ $limit -lt 60 ] && limit=60
msg="echo median: plain bash ${base} ms, with the integration ${live} ms, daemon hung ${hung} ms, killed ${gone} ms (limit ${limit} ms); Ctrl-x a with the daemon hung returns in ${hung_key} ms, killed ${gone_key} ms"
echo "# $msg"
if [ "$live" -le $limit ] && [ "$hung" -le $limit ] && [ "$gone" -le $limit ] && [ "$hung_key" -lt 1000 ] \
   && [ "$gone_key" -lt 1000 ] && [ $unchanged = 1 ]; then
  pass "never_blocked ($msg)"
else
  fail never_blocked "$msg; line unchanged: $unchanged"
fi
bash_start AUTOCORRECT_CLI=/nonexistent/autocorrect
missing_key=$(key_ms "echo nocli" "the autocorrect command is not on PATH")
if [ "$missing_key" -lt 1000 ] && t_wait_line "echo nocli" 1; then pass "missing_cli_says_so (${missing_key} ms)"
else fail missing_cli_says_so "$(t_screen | grep -v '^$' | tail -2)"; fi

t_exit
