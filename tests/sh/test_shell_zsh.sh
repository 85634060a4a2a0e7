#!/usr/bin/env bash
# shell/autocorrect.zsh in a real interactive zsh driven through tmux (send-keys, capture-pane),
# against the real daemon (build/bin/autocorrectd with the tiny fixture model) on a temporary socket:
# the ghost text is the daemon's completion, drawn dim after the cursor; Right, End and Alt-f accept
# it and only it (the line that runs holds it); without a suggestion the keys keep their widgets;
# the correction key applies the daemon's corrections (undoable); history ranking and context;
# the opt-in command-name check; zsh-autosuggestions loaded too; control characters, invalid UTF-8,
# NUL and very long lines; the time to echo a typed character without the integration, with it,
# with the daemon killed, gone, or hung (SIGSTOP); reconnecting when it comes back; the `nc -U`
# fallback. One check uses the fake daemon (tests/shell/fake_daemon.py): a reply that arrives after
# a newer request must be dropped, which the real daemon's own supersession would hide.
# Isolated: HOME, ZDOTDIR, XDG dirs in a temporary directory; tmux on a private server.
. "$(dirname "$0")/lib/shell_session.sh"

t_require zsh_integration zsh tmux nc

ZD=$T_DIR/zd
mkdir -p "$ZD" "$T_DIR/zplain"
cat >"$ZD/.zshrc" <<EOF
PS1='\$ '
HISTFILE=\$T_HIST
HISTSIZE=1000
SAVEHIST=1000
unsetopt flowcontrol
[[ -n \$T_ZAS ]] && source /usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh
source $ROOT/shell/autocorrect.zsh
[[ -n \$T_ZAS_AFTER ]] && source /usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh
# test helpers: bytes a terminal cannot type
_t_ins_bad() { LBUFFER+=\$'\\xff\\xfe'ok }
_t_ins_nul() { LBUFFER+=\$'a\\0b' }
zle -N _t_ins_bad; zle -N _t_ins_nul
bindkey '^Xi' _t_ins_bad
bindkey '^Xn' _t_ins_nul
EOF
printf '%s\n' "PS1='\$ '" "unsetopt flowcontrol" >"$T_DIR/zplain/.zshrc"

# zsh_start [VAR=value...]: the integration's zsh with those settings (history from
# $ZD/history-next, if any; T_DEBUG_DIR set: a debug log per start there).
zsh_start() {
  t_start_prompt_hist "$ZD" ZDOTDIR="$ZD" \
    ${T_DEBUG_DIR:+AUTOCORRECT_DEBUG_LOG=$T_DEBUG_DIR/zsh-$((T_NHIST + 1)).log} "$@" zsh -d -i
}

t_session_daemon

# --- loading ------------------------------------------------------------------------------------
zsh_start
t_check_loads_clean zsh_loads_clean $?

# --- ghost text -----------------------------------------------------------------------------------
if ! t_pick_completed 1 "echo hel" "echo the qu" "echo wor" "ls -l" "git st"; then
  fail ghost_text_appears "the daemon completes none of the candidate lines"
  t_exit
fi
t_type_line "$LINE"
if t_wait_ghost_is "\$ $LINE" "$EXPECT" 5; then
  pass "ghost_text_appears ('$LINE' + dim '$GHOST', the daemon's best completion)"
else
  fail ghost_text_appears "ghost '$GHOST', the daemon's completion is '$EXPECT': $(t_screen | head -3)"
fi

# Right accepts: the command that runs holds the completion, and the ghost is not part of the output.
tm send-keys -t 0 Right
sleep 0.3
tm send-keys -t 0 Enter
out=${LINE#echo }$EXPECT
if t_wait_for "^$(t_re "$out")\$" 5; then
  pass "accept_right_inserts (ran 'echo ${out}')"
else
  fail accept_right_inserts "no output line '$out': $(t_screen | tail -5)"
fi
row=$(t_screen_e | $ACQ ghost "\$ $LINE$EXPECT")
if [ -z "$row" ]; then pass "ghost_cleared_on_enter"; else fail ghost_cleared_on_enter "the run line still shows dim '$row'"; fi
tm send-keys -t 0 C-l
sleep 0.2

# End accepts too.
t_type_line "$LINE"
if t_wait_ghost_is "\$ $LINE" "$EXPECT" 5; then
  tm send-keys -t 0 End
  sleep 0.3
  tm send-keys -t 0 Enter
  if t_wait_for "^$(t_re "$out")\$" 5; then pass accept_end_inserts
  else fail accept_end_inserts "no output line '$out': $(t_screen | tail -5)"; fi
else
  fail accept_end_inserts "no ghost text to accept"
fi
tm send-keys -t 0 C-l
sleep 0.2

# Alt-f accepts one word: needs a completion with a word after a space.
WLINE=''
word_re='^( *[^ ]+)( +[^ ].*)$'
for c in "echo the" "echo a" "echo hello" "echo it is" "ls" "cat" "echo to be" "echo i" "echo we"; do
  e=$($ACQ complete "$SOCK" "$c" | head -1)
  if [[ $e =~ $word_re ]]; then WLINE=$c; WEXP=$e; WFIRST=${BASH_REMATCH[1]}; break; fi
done
if [ -z "$WLINE" ]; then
  skip accept_word_alt_f "the tiny model completes none of the candidate lines with two words"
else
  WEXP=${WEXP%"${WEXP##*[! ]}"}
  t_type_line "$WLINE"
  if t_wait_ghost_is "\$ $WLINE" "$WEXP" 5; then
    tm send-keys -t 0 M-f
    sleep 0.3
    got=$(t_screen | $ACQ plain-line "\$ $WLINE")
    ghost=$(t_screen_e | $ACQ ghost "\$ $WLINE$WFIRST")
    if [[ $got == "\$ $WLINE$WFIRST"* ]] && [ -n "$ghost" ] && [ "$WFIRST$ghost" = "$WEXP" ]; then
      pass "accept_word_alt_f ('$WLINE' + '$WFIRST', '$ghost' still dim)"
    else
      fail accept_word_alt_f "ghost '$WEXP': after Alt-f the line is '$got' with dim '$ghost'"
    fi
  else
    fail accept_word_alt_f "no ghost text after '$WLINE'"
  fi
fi

# Without a suggestion the keys keep their widgets: Right and Alt-f move, End goes to the end.
t_type_line "echo abc def"
tm send-keys -t 0 C-a Right
tm send-keys -t 0 -l X
tm send-keys -t 0 M-f
tm send-keys -t 0 -l Y
tm send-keys -t 0 C-a End
tm send-keys -t 0 -l Z
# (zsh's forward-word stops at the start of the next word)
if t_wait_for '^\$ eXcho Yabc defZ' 3; then pass "keys_keep_their_widgets (Right, Alt-f and End moved the cursor)"
else fail keys_keep_their_widgets "expected '\$ eXcho Yabc defZ', screen: $(t_screen | grep '^\$' | tail -1)"; fi
tm send-keys -t 0 C-u C-l
sleep 0.2

# --- the correction key ---------------------------------------------------------------------------
if ! t_pick_corrected "echo the quick brwn fox" "echo teh cat sat" "echo wrold peace" "echo definately"; then
  fail correct_key "the daemon corrects none of the candidate lines"
else
  for key in M-s C-x; do
    t_type_line "$CLINE"
    if [ $key = C-x ]; then tm send-keys -t 0 C-x c; name="correct_key_ctrl_x_c"; else tm send-keys -t 0 M-s; name="correct_key_alt_s"; fi
    if t_wait_for "^\\\$ $(t_re "$CEXP")" 3; then
      pass "$name ('$CLINE' -> '$CEXP', the daemon's corrections)"
      tm send-keys -t 0 C-_
      if t_wait_for "^\\\$ $(t_re "$CLINE")" 3; then pass "${name}_undo"
      else fail "${name}_undo" "Ctrl-_ did not restore '$CLINE': $(t_screen | grep '^\$' | tail -1)"; fi
    else
      fail $name "expected '$CEXP', screen: $(t_screen | head -3)"
    fi
    tm send-keys -t 0 C-u C-l
    sleep 0.2
  done
fi

# --- bytes the daemon must never see raw ------------------------------------------------------------
# Control characters (typed with Ctrl-V), invalid UTF-8 and NUL (inserted by the test widgets): the
# request must still be valid JSON (no error reply) and the prompt keeps working.
t_type_line "echo a"
tm send-keys -t 0 C-v C-a
tm send-keys -t 0 -l 'b"\'
tm send-keys -t 0 C-v Tab
tm send-keys -t 0 -l c
tm send-keys -t 0 C-x i
tm send-keys -t 0 C-x n
tm send-keys -t 0 -l ' q'
sleep 0.6
tm send-keys -t 0 C-u
tm send-keys -t 0 -l 'print -r -- "E[$_autocorrect_last_error]"'
tm send-keys -t 0 Enter
if t_wait_for '^E\[\]$' 3; then pass "odd_bytes_make_valid_requests (control characters, quote, backslash, tab, invalid UTF-8, NUL: no error reply)"
else fail odd_bytes_make_valid_requests "$(t_screen | grep '^E\[' | tail -1)"; fi
tm send-keys -t 0 C-l
sleep 0.2

# A very long line: no request (over AUTOCORRECT_MAX_CHARS), typing stays quick, the prompt works.
long=$(printf 'a%.0s' $(seq 1 3000))
tm send-keys -t 0 -l "echo $long"
for ((i = 0; i < 600; i++)); do [ "$(t_screen | tr -cd a | wc -c)" -ge 3000 ] && break; sleep 0.05; done
start=$EPOCHREALTIME
tm send-keys -t 0 -l Q
t_wait_for 'Q' 5
ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
tm send-keys -t 0 C-u C-l
sleep 0.2
# a long line under the limit: sent, answered (the daemon cuts its context window), no error
mid=$(printf 'word%d %.0s' $(seq 1 150))
tm send-keys -t 0 -l "echo $mid"
sleep 1
tm send-keys -t 0 C-u
tm send-keys -t 0 -l 'print -r -- "E[$_autocorrect_last_error]"'
tm send-keys -t 0 Enter
if t_wait_for '^E\[\]$' 5 && [ "$ms" -lt 1000 ]; then
  pass "long_lines (after 3000 chars a character echoes in ${ms} ms; a ${#mid}-char line is answered without error)"
else
  fail long_lines "echo took ${ms} ms; $(t_screen | grep '^E\[' | tail -1)"
fi
tm send-keys -t 0 C-l
sleep 0.2

# --- history: ranking and context (opt-in) ----------------------------------------------------------
# AUTOCORRECT_HISTORY=1: of the daemon's completions, the one a history line continues wins.
if ! t_pick_rivals 3 "echo hel" "echo wor" "ls -l" "git st" "echo the qu" "cat" "echo a" "make"; then
  skip history_ranking "no candidate line gets two different completions from the tiny model"
else
  printf '%s\n' "echo unrelated" "$HLINE$H2" >"$ZD/history-next"
  zsh_start AUTOCORRECT_HISTORY=1
  t_type_line "$HLINE"
  if t_wait_ghost_is "\$ $HLINE" "$H2" 5; then
    pass "history_ranking ('$HLINE': the daemon ranks '$H1' first, history has '$HLINE$H2', the ghost is '$GHOST')"
  else
    fail history_ranking "expected '$H2' (history) over '$H1', the ghost is '$GHOST'"
  fi
fi

# AUTOCORRECT_HISTORY_CONTEXT=2: the last two history lines go to the daemon as context.
if ! t_pick_context 1; then
  skip history_context "the tiny model's completion never changes with the context tried"
else
  printf '%s\n' "$CTX1" "$CTX2" >"$ZD/history-next"
  zsh_start AUTOCORRECT_HISTORY_CONTEXT=2
  t_type_line "$CLINE_CTX"
  if t_wait_ghost_is "\$ $CLINE_CTX" "$WITH" 5; then
    pass "history_context ('$CLINE_CTX' after '$CTX1', '$CTX2': '$GHOST'; without context '$WITHOUT')"
  else
    fail history_context "expected '$WITH' (with context), without context '$WITHOUT'; the ghost is '$GHOST'"
  fi
fi

# --- the command-name check (opt-in) ---------------------------------------------------------------
zsh_start AUTOCORRECT_CHECK_COMMAND=1
t_type_line "ecoh hi there"
tm send-keys -t 0 Enter
if t_wait_for "run 'echo' instead of 'ecoh'\\?" 3; then
  tm send-keys -t 0 y
  if t_wait_for '^hi there$' 3; then pass "command_check_yes (ecoh -> echo, then ran)"
  else fail command_check_yes "no output after y: $(t_screen | tail -4)"; fi
else
  fail command_check_yes "no question: $(t_screen | head -4)"
fi
tm send-keys -t 0 C-l; sleep 0.2
t_type_line "ecoh as typed"
tm send-keys -t 0 Enter
t_wait_for "instead of 'ecoh'" 3
tm send-keys -t 0 n
if t_wait_for 'command not found: ecoh' 3; then pass "command_check_no (ran as typed)"
else fail command_check_no "$(t_screen | tail -4)"; fi
tm send-keys -t 0 C-l; sleep 0.2
t_type_line "ecoh keep editing"
tm send-keys -t 0 Enter
t_wait_for "instead of 'ecoh'" 3
tm send-keys -t 0 e
sleep 0.3
tm send-keys -t 0 -l Z
if t_wait_for '^\$ ecoh keep editingZ' 3 && ! t_screen | grep -q 'command not found'; then pass "command_check_edit (back to the line, nothing ran)"
else fail command_check_edit "$(t_screen | tail -4)"; fi
tm send-keys -t 0 C-u C-l; sleep 0.2
t_type_line "echo fine"
tm send-keys -t 0 Enter
if t_wait_for '^fine$' 3 && ! t_screen | grep -q 'instead of'; then pass "command_check_quiet_on_real_commands"
else fail command_check_quiet_on_real_commands "$(t_screen | tail -4)"; fi

# --- beside zsh-autosuggestions --------------------------------------------------------------------
ZAS=/usr/share/zsh-autosuggestions/zsh-autosuggestions.zsh
if [ ! -f $ZAS ]; then
  skip with_zsh_autosuggestions "zsh-autosuggestions is not installed (apt-get install zsh-autosuggestions)"
else
  printf '%s\n' "echo zas from history" >"$ZD/history-next"
  zsh_start T_ZAS=1 AUTOCORRECT_HIGHLIGHT=fg=5
  t_type_line "echo zas"
  sleep 0.8   # our reply has come by now: it must not replace theirs
  theirs=$(t_screen_e | $ACQ ghost '$ echo zas')
  ours=$(t_screen_e | ACQ_FG=35 $ACQ ghost '$ echo zas')
  if [ "$theirs" = " from history" ] && [ -z "$ours" ]; then pass "zas_history_suggestion_wins ('echo zas' + their ' from history'; ours not drawn)"
  else fail zas_history_suggestion_wins "theirs '$theirs', ours '$ours'"; fi
  tm send-keys -t 0 Right
  sleep 0.2
  tm send-keys -t 0 Enter
  if t_wait_for '^zas from history$' 3; then pass "zas_right_accepts_theirs"
  else fail zas_right_accepts_theirs "$(t_screen | tail -3)"; fi
  tm send-keys -t 0 C-l; sleep 0.2
  t_type_line "$LINE"
  if ACQ_FG=35 t_wait_ghost_is "\$ $LINE" "$EXPECT" 5; then
    pass "zas_ours_when_theirs_is_empty ('$LINE' + '$GHOST' in our colour)"
    tm send-keys -t 0 Right
    sleep 0.2
    tm send-keys -t 0 Enter
    if t_wait_for "^$(t_re "$out")\$" 3; then pass "zas_right_accepts_ours"
    else fail zas_right_accepts_ours "$(t_screen | tail -3)"; fi
  else
    fail zas_ours_when_theirs_is_empty "expected '$EXPECT' in colour 35, got '$GHOST'; the shell is $(t_pane_state); screen: $(t_screen_e | cat -v | grep -v '^$' | head -3)"
  fi
  tm send-keys -t 0 C-l; sleep 0.2
  tm send-keys -t 0 -l 'print -r -- "W[$widgets[_autocorrect_readable]|$widgets[_autocorrect_pre_redraw]]"'
  tm send-keys -t 0 Enter
  if t_wait_for '^W\[user:_autocorrect_readable\|user:_autocorrect_pre_redraw\]$' 3; then pass "zas_leaves_our_widgets_unwrapped"
  else fail zas_leaves_our_widgets_unwrapped "$(t_screen | grep '^W' | tail -1)"; fi
  # loaded in the other order
  printf '%s\n' "echo zas from history" >"$ZD/history-next"
  zsh_start T_ZAS_AFTER=1 AUTOCORRECT_HIGHLIGHT=fg=5
  t_type_line "echo zas"
  sleep 0.8
  theirs=$(t_screen_e | $ACQ ghost '$ echo zas')
  t_type_line "$LINE"
  if [ "$theirs" = " from history" ] && ACQ_FG=35 t_wait_ghost_is "\$ $LINE" "$EXPECT" 5; then
    pass "zas_sourced_after_us (theirs from history, ours otherwise)"
  else
    fail zas_sourced_after_us "theirs '$theirs', ours '$GHOST'"
  fi
  fi

# --- stale replies (the fake daemon: its replies to older requests come late, and all of them) ------
FSOCK=$T_DIR/fake.sock
if FAKE_NO_SUPERSEDE=1 t_start_fake "$FSOCK" "$T_DIR/fake-requests.log"; then
  zsh_start AUTOCORRECT_SOCKET="$FSOCK"
  tm send-keys -t 0 -l "echo slow"
  sleep 0.15
  tm send-keys -t 0 C-u
  tm send-keys -t 0 -l "echo he"
  t_wait_ghost_is '$ echo he' "llo world" 3
  first=$GHOST
  sleep 1   # the reply to "echo slow" (" reply", 0.6 s late) has come by now
  later=$(t_screen_e | $ACQ ghost '$ echo he')
  if [ "$first" = "llo world" ] && [ "$later" = "llo world" ] && ! t_screen | grep -q 'reply' \
     && grep -q '"before":"echo slow"' "$T_DIR/fake-requests.log"; then
    pass "stale_reply_dropped (the late answer to 'echo slow' did not replace 'echo he' + 'llo world')"
  else
    fail stale_reply_dropped "ghost '$first' then '$later'; screen: $(t_screen | head -2)"
  fi
  kill "$FAKE_PID" 2>/dev/null
else
  fail stale_reply_dropped "the fake daemon did not start: $(cat "$T_DIR/fake.log")"
fi

# --- typing is never blocked: the time to echo a character --------------------------------------------
# Median of 9 characters typed one at a time, each measured from send-keys until the cursor moves.
N=9
t_start_prompt ZDOTDIR="$T_DIR/zplain" zsh -d -i
base=$(t_median_echo_ms $N "echo ")
zsh_start
live=$(t_median_echo_ms $N "echo ")
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null   # killed: the socket file stays, connect is refused
killed=$(t_median_echo_ms $N " y")
rm -f "$SOCK"                                          # gone: no socket file
gone=$(t_median_echo_ms $N " z")
t_start_daemon "$SOCK" >/dev/null
zsh_start
t_type_line "$LINE"
t_wait_ghost_is "\$ $LINE" "$EXPECT" 5
kill -STOP "$DAEMON_PID"                               # hung: connected, never answers
hung=$(t_median_echo_ms $N " w")
# a budget generous enough for a loaded 2-core machine, far below a blocking timeout
limit=$((base + 40)); [ $limit -lt 60 ] && limit=60
msg="echo median: plain zsh ${base} ms; with the daemon ${live} ms; daemon killed ${killed} ms, socket gone ${gone} ms, daemon hung ${hung} ms (limit ${limit} ms)"
if [ "$live" -le $limit ] && [ "$killed" -le $limit ] && [ "$gone" -le $limit ] && [ "$hung" -le $limit ]; then
  pass "typing_never_blocked ($msg)"
else
  fail typing_never_blocked "$msg"
fi
echo "# $msg"
# a hung daemon is dropped after 3 s without answers, and typing goes on
sleep 3.2
hung2=$(t_median_echo_ms 5 " v")
if [ "$hung2" -le $limit ]; then pass "hung_daemon_still_quick_after_3s (${hung2} ms)"
else fail hung_daemon_still_quick_after_3s "${hung2} ms"; fi
kill -CONT "$DAEMON_PID"

# the daemon comes back: the shell reconnects by itself (a failed connect waits 2 s before the next)
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
zsh_start
t_type_line "$LINE"
sleep 0.3
t_start_daemon "$SOCK" >/dev/null
sleep 2.1
t_type_line "$LINE"
if t_wait_ghost_is "\$ $LINE" "$EXPECT" 5; then pass "reconnects_when_the_daemon_returns"
else fail reconnects_when_the_daemon_returns "no ghost text after the restart: '$GHOST'"; fi

# --- the seed's fallback ------------------------------------------------------------------------------
start=$EPOCHREALTIME
plain=$(echo -n "echo hel" | timeout 5 nc -U "$SOCK")
ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
if [ -n "$plain" ] && [ "$ms" -lt 3000 ]; then pass "nc_fallback (echo -n text | nc -U: '$(head -1 <<<"$plain")' in ${ms} ms)"
else fail nc_fallback "reply '$plain' after ${ms} ms"; fi

t_exit
