# autocorrect.zsh: ghost-text completions and line correction from autocorrectd, for zsh >= 5.3.
#
# What it is: a zle integration. As you type, the line is sent to the local daemon over its UNIX
# socket and the completion it returns is drawn after the cursor in a dim colour (POSTDISPLAY +
# region_highlight). Right arrow or End accepts it, Alt-f accepts one word; Alt-s or Ctrl-x c
# corrects the typos of the line (undo with Ctrl-_); optionally Enter asks before running a line
# whose command name is an obvious typo of a command on PATH.
# What it is not: a history-based suggester (zsh-autosuggestions is; both can be loaded, see
# docs/shell.md for who wins), or a client that blocks: one persistent connection per shell,
# registered with `zle -F`, carries every request; replies are read when they arrive and a reply
# to anything but the newest request is dropped. No process is started per keystroke.
#
# Enable:  source /usr/local/share/autocorrect/shell/autocorrect.zsh   (in ~/.zshrc)
# Settings (set them before or after sourcing; read at use): see docs/shell.md.
#   AUTOCORRECT_SOCKET            the daemon's socket (default: as autocorrectd resolves it)
#   AUTOCORRECT_HIGHLIGHT         how the ghost text looks (region_highlight spec), fg=8
#   AUTOCORRECT_MAX_TOKENS        tokens per completion, 8
#   AUTOCORRECT_MIN_CHARS         ask only once the line is this long, 1
#   AUTOCORRECT_MAX_CHARS         lines longer than this get no suggestion, 1000
#   AUTOCORRECT_HISTORY           1: prefer completions that continue a line of your history, 0
#   AUTOCORRECT_HISTORY_CONTEXT   N: send your last N history lines as context (to the local daemon), 0
#   AUTOCORRECT_CHECK_COMMAND     1: ask before running an obvious command-name typo, 0
#   AUTOCORRECT_CORRECT_TIMEOUT   seconds the correction key waits for the daemon, 0.5
#   AUTOCORRECT_DISABLE           1: no requests, no ghost text (the keys keep their normal widgets)
#   AUTOCORRECT_DEBUG_LOG         a file: one line per request and reply (ids and counts, no text)
#
# Names: every function and widget starts with `_autocorrect` (widgets starting with `_` are left
# alone by zsh-autosuggestions' widget wrapping); state lives in `_autocorrect_*` globals.

[[ -o interactive ]] || return 0
autoload -Uz is-at-least
if ! is-at-least 5.3; then
  print -u2 "autocorrect.zsh: needs zsh 5.3 or newer (zle hooks); not loaded"
  return 1
fi
zmodload zsh/zle zsh/net/socket zsh/system zsh/datetime zsh/parameter || {
  print -u2 "autocorrect.zsh: a zsh module is missing (zsh/net/socket, zsh/system); not loaded"
  return 1
}
autoload -Uz add-zle-hook-widget

# --- state ---------------------------------------------------------------------------------------
# Sourced again (a reloaded ~/.zshrc): close the old connection before the state is reset.
if [[ -n ${_autocorrect_fd:-} ]]; then
  zle -F $_autocorrect_fd 2>/dev/null
  exec {_autocorrect_fd}>&- 2>/dev/null
fi
typeset -g  _autocorrect_fd=''          # the daemon connection, '' when closed
typeset -g  _autocorrect_rbuf=''        # bytes read and not yet a whole line
typeset -gi _autocorrect_seq=0          # id of the newest request sent
typeset -gi _autocorrect_inflight=0     # requests sent and not answered yet
typeset -gi _autocorrect_wanted=0       # a completion request waits for the replies to come in
typeset -gF _autocorrect_oldest=0       # when the oldest unanswered request was sent
typeset -gF _autocorrect_retry_at=0     # no reconnect before this time (after a failure)
typeset -g  _autocorrect_req_line=''    # the line of the newest complete request
typeset -g  _autocorrect_ghost=''       # our suggestion: what follows _autocorrect_base
typeset -g  _autocorrect_base=''        # the line the suggestion continues
typeset -g  _autocorrect_shown=''       # what we last put in POSTDISPLAY
typeset -g  _autocorrect_hl=''          # our region_highlight entry, '' when none
typeset -g  _autocorrect_seen=$'\0none' # BUFFER at the last redraw
typeset -gi _autocorrect_seen_cursor=-1
typeset -gi _autocorrect_correct_id=-1  # the correction request waiting for its reply
typeset -g  _autocorrect_correct_reply=''
typeset -g  _autocorrect_last_error=''  # the last error reply (for debugging: not shown)
typeset -g  _autocorrect_last_reply=''  # the last reply used (for debugging: not shown)
typeset -gA _autocorrect_fallback       # "KEYMAP:KEYS" -> the widget the key had before us
typeset -g  _autocorrect_socket_default=''

# --- the socket path ---------------------------------------------------------------------------

# The path autocorrectd listens on with the same config: socket_path from config.toml if set,
# else $XDG_RUNTIME_DIR/autocorrect.sock, else ${TMPDIR:-/tmp}/autocorrect-$UID/autocorrect.sock.
# Read once at load (no process started).
() {
  local cfg=${XDG_CONFIG_HOME:-$HOME/.config}/autocorrect/config.toml line
  if [[ -r $cfg ]]; then
    local -a lines
    lines=("${(@f)$(<$cfg)}")
    for line in $lines; do
      if [[ $line =~ '^[[:space:]]*socket_path[[:space:]]*=[[:space:]]*["'"'"']([^"'"'"']*)["'"'"']' ]]; then
        _autocorrect_socket_default=${match[1]/#\~\//$HOME/}
      fi
    done
  fi
  if [[ -z $_autocorrect_socket_default ]]; then
    if [[ -n $XDG_RUNTIME_DIR ]]; then
      _autocorrect_socket_default=$XDG_RUNTIME_DIR/autocorrect.sock
    else
      _autocorrect_socket_default=${TMPDIR:-/tmp}/autocorrect-$UID/autocorrect.sock
    fi
  fi
}

_autocorrect_log() {
  [[ -n $AUTOCORRECT_DEBUG_LOG ]] && print -r -- "$EPOCHREALTIME $*" >>$AUTOCORRECT_DEBUG_LOG
  return 0
}

# --- JSON ----------------------------------------------------------------------------------------

# REPLY = $1 as a JSON string body: quotes, backslashes and control characters escaped, bytes that
# are not UTF-8 replaced by U+FFFD (the daemon takes only valid UTF-8).
_autocorrect_json_escape() {
  emulate -L zsh
  setopt multibyte
  local s=$1 c out hex
  if [[ $s == *[[:INVALID:][:INCOMPLETE:]]* ]]; then
    # zsh's patterns lose sync after a bad byte, so judge one character at a time (rare path)
    out=''
    for c in ${(s::)s}; do
      if [[ $c == [[:INVALID:][:INCOMPLETE:]] ]]; then out+=$'\uFFFD'; else out+=$c; fi
    done
    s=$out
  fi
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  if [[ $s == *[[:cntrl:]]* ]]; then
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    s=${s//$'\0'/\\ufffd}
    for c in ${(u)${(s::)${s//[^[:cntrl:]]/}}}; do
      printf -v hex '%04x' "'$c"
      s=${s//$c/\\u$hex}
    done
  fi
  REPLY=$s
}

# Decodes the JSON string whose body starts at index $2 of $1 (just after the opening quote).
# REPLY = the text; _autocorrect_jpos = the index after the closing quote. Returns 1 on bad input.
_autocorrect_json_string() {
  emulate -L zsh
  setopt multibyte
  local s=$1 out='' chunk c hex
  integer i=$2 code low
  while (( i <= $#s )); do
    chunk=${s[i,-1]%%[\"\\]*}
    out+=$chunk
    (( i += $#chunk ))
    c=$s[i]
    if [[ $c == '"' ]]; then
      REPLY=$out
      typeset -gi _autocorrect_jpos=$(( i + 1 ))
      return 0
    fi
    [[ $c == '\' ]] || return 1
    c=$s[i+1]
    case $c in
      n) out+=$'\n' ;;
      t) out+=$'\t' ;;
      r) out+=$'\r' ;;
      b) out+=$'\b' ;;
      f) out+=$'\f' ;;
      u)
        hex=$s[i+2,i+5]
        [[ $hex == [[:xdigit:]][[:xdigit:]][[:xdigit:]][[:xdigit:]] ]] || return 1
        code=$(( 16#$hex ))
        if (( code >= 0xD800 && code < 0xDC00 )) && [[ $s[i+6,i+7] == '\u' ]]; then
          hex=$s[i+8,i+11]
          [[ $hex == [[:xdigit:]][[:xdigit:]][[:xdigit:]][[:xdigit:]] ]] || return 1
          low=$(( 16#$hex ))
          code=$(( 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) ))
          (( i += 6 ))
        fi
        (( code >= 0xD800 && code < 0xE000 )) && code=0xFFFD
        out+=${(#)code}
        (( i += 4 ))
        ;;
      *) out+=$c ;;   # \" \\ \/
    esac
    (( i += 2 ))
  done
  return 1
}

# reply = the "text" of each object in the reply's "completions" array, in the reply's order (the
# one expected to save the most typing first).
_autocorrect_json_completions() {
  emulate -L zsh
  local line=$1 tail
  reply=()
  [[ $line == *'"completions":['* ]] || return 1
  tail=${line#*\"completions\":\[}
  integer i=1
  while [[ $tail[i,i+8] == '{"text":"' ]]; do
    _autocorrect_json_string "$tail" $(( i + 9 )) || return 1
    reply+=("$REPLY")
    i=$_autocorrect_jpos
    # skip the rest of the object (numbers only: "score") to the next one or the end
    local rest=${tail[i,-1]}
    local skip=${rest%%\}*}
    (( i += $#skip + 1 ))
    if [[ $tail[i] == ',' ]]; then (( i++ )); else break; fi
  done
  return 0
}

# --- the connection ------------------------------------------------------------------------------

_autocorrect_disconnect() {
  emulate -L zsh
  _autocorrect_log "disconnect fd=$_autocorrect_fd inflight=$_autocorrect_inflight"
  if [[ -n $_autocorrect_fd ]]; then
    zle -F $_autocorrect_fd 2>/dev/null
    exec {_autocorrect_fd}>&-
  fi
  _autocorrect_fd=''
  _autocorrect_rbuf=''
  _autocorrect_inflight=0
  _autocorrect_wanted=0
}

# Opens the connection if it is not open. A missing socket or a refused connection returns 1 at
# once and stops further tries for 2 seconds: a dead daemon costs one stat() per keystroke.
_autocorrect_connect() {
  emulate -L zsh
  [[ -n $_autocorrect_fd ]] && return 0
  (( EPOCHREALTIME < _autocorrect_retry_at )) && return 1
  local sock=${AUTOCORRECT_SOCKET:-$_autocorrect_socket_default}
  if [[ ! -S $sock ]] || ! zsocket $sock 2>/dev/null; then
    _autocorrect_retry_at=$(( EPOCHREALTIME + 2 ))
    return 1
  fi
  _autocorrect_fd=$REPLY
  _autocorrect_rbuf=''
  _autocorrect_inflight=0
  _autocorrect_log "connect fd=$_autocorrect_fd"
  zle -F -w $_autocorrect_fd _autocorrect_readable
  return 0
}

# Drops the connection when requests have been waiting 3 seconds without a reply (a hung daemon).
# Returns 1 when it did.
_autocorrect_check_hung() {
  if (( _autocorrect_inflight > 0 && EPOCHREALTIME - _autocorrect_oldest > 3 )); then
    _autocorrect_disconnect
    _autocorrect_retry_at=$(( EPOCHREALTIME + 2 ))
    return 1
  fi
  return 0
}

# Sends one request line. Never blocks for long: at most 16 requests are left unanswered (a few
# KB in a socket buffer of hundreds), and a daemon that answers none for 3 seconds is dropped.
_autocorrect_send() {
  emulate -L zsh
  _autocorrect_connect || return 1
  if (( _autocorrect_inflight >= 16 )); then
    _autocorrect_log "not sent: inflight=$_autocorrect_inflight"
    _autocorrect_check_hung
    return 1
  fi
  # A daemon that went away since the last reply: notice it before writing (no SIGPIPE).
  local chunk
  sysread -t 0 -s 65536 -i $_autocorrect_fd chunk
  case $? in
    0) _autocorrect_rbuf+=$chunk; _autocorrect_process ;;
    5|2) _autocorrect_disconnect; _autocorrect_retry_at=$(( EPOCHREALTIME + 2 )); return 1 ;;
  esac
  local data=$1$'\n'
  integer n
  while (( $#data )); do
    if ! syswrite -c n -o $_autocorrect_fd -- $data; then
      _autocorrect_disconnect
      _autocorrect_retry_at=$(( EPOCHREALTIME + 2 ))
      return 1
    fi
    # n counts bytes: cut by bytes
    () { setopt localoptions nomultibyte; data=${data[n+1,-1]} }
  done
  (( _autocorrect_inflight++ == 0 )) && _autocorrect_oldest=$EPOCHREALTIME
  _autocorrect_log "sent ${1[1,20]} inflight=$_autocorrect_inflight"
  return 0
}

# Asks for a completion of the line if it wants one: cursor at the end, not blank, not too long.
# While 4 requests are unanswered (typing faster than the daemon answers, or a hung daemon) it
# only notes that the line wants one: the next reply sends it, so a burst of keys costs few requests.
_autocorrect_maybe_request() {
  emulate -L zsh
  _autocorrect_wanted=0
  (( CURSOR == $#BUFFER && $#BUFFER >= ${AUTOCORRECT_MIN_CHARS:-1} \
     && $#BUFFER <= ${AUTOCORRECT_MAX_CHARS:-1000} )) && [[ $BUFFER == *[^[:space:]]* ]] || return
  if [[ -n $_autocorrect_fd ]] && (( _autocorrect_inflight >= 4 )); then
    _autocorrect_check_hung && _autocorrect_wanted=1
    return
  fi
  _autocorrect_request_completion
}

# The request for the current line (the whole line as `before`, ending at the end of the line).
_autocorrect_request_completion() {
  emulate -L zsh
  local line=$BUFFER ctx='' h
  _autocorrect_json_escape "$line"
  local before=$REPLY
  integer n=1
  [[ $AUTOCORRECT_HISTORY == 1 ]] && n=3
  if (( ${AUTOCORRECT_HISTORY_CONTEXT:-0} > 0 )); then
    integer k=$HISTCMD
    local -a lines
    while (( k > 0 && $#lines < AUTOCORRECT_HISTORY_CONTEXT && HISTCMD - k < 200 )); do
      (( k-- ))
      h=${history[$k]}
      [[ -n $h && $h != *$'\n'* ]] && lines=("$h" $lines)
    done
    if (( $#lines )); then
      _autocorrect_json_escape "${(pj:\n:)lines}"$'\n'
      before=$REPLY$before
    fi
  fi
  (( _autocorrect_seq++ ))
  _autocorrect_req_line=$line
  _autocorrect_send "{\"id\":$_autocorrect_seq,\"op\":\"complete\",\"session\":\"zsh-$$\",\"before\":\"$before\",\"max_tokens\":${AUTOCORRECT_MAX_TOKENS:-8},\"n\":$n,\"stop_rule\":\"line\"}"
}

# --- the ghost text ------------------------------------------------------------------------------

_autocorrect_unhighlight() {
  if [[ -n $_autocorrect_hl ]]; then
    region_highlight=("${(@)region_highlight:#$_autocorrect_hl}")
    _autocorrect_hl=''
  fi
}

# Puts our suggestion on screen if it fits the line, or takes it off. Leaves POSTDISPLAY alone when
# someone else (zsh-autosuggestions) has put text there: their suggestion wins.
_autocorrect_show() {
  emulate -L zsh
  local want=''
  if [[ -n $_autocorrect_ghost && $BUFFER == $_autocorrect_base ]] && (( CURSOR == $#BUFFER )); then
    want=$_autocorrect_ghost
  fi
  if [[ -n $POSTDISPLAY && $POSTDISPLAY != $_autocorrect_shown && $POSTDISPLAY != $want ]]; then
    _autocorrect_log "show: defer (${#POSTDISPLAY} chars not ours)"
    # not ours: defer
    _autocorrect_shown=''
    _autocorrect_unhighlight
    return
  fi
  if [[ $POSTDISPLAY != $want ]]; then
    _autocorrect_log "show: ${#want} chars (was ${#POSTDISPLAY}) widget=$WIDGET"
    POSTDISPLAY=$want
  fi
  _autocorrect_shown=$want
  _autocorrect_unhighlight
  if [[ -n $want ]]; then
    _autocorrect_hl="$#BUFFER $(( $#BUFFER + $#want )) ${AUTOCORRECT_HIGHLIGHT:-fg=8}"
    region_highlight+=("$_autocorrect_hl")
  fi
}

_autocorrect_forget() {
  _autocorrect_ghost=''
  _autocorrect_base=''
}

# Before every redraw: when the line changed, keep the part of the suggestion that still fits
# (typing its next characters), or drop it, and ask for a new one.
_autocorrect_pre_redraw() {
  emulate -L zsh
  [[ $AUTOCORRECT_DISABLE == 1 ]] && { _autocorrect_forget; _autocorrect_show; return }
  if [[ $BUFFER == $_autocorrect_seen ]] && (( CURSOR == _autocorrect_seen_cursor )); then
    _autocorrect_show
    return
  fi
  local old=$_autocorrect_seen
  _autocorrect_seen=$BUFFER
  _autocorrect_seen_cursor=$CURSOR
  if [[ -n $_autocorrect_ghost ]]; then
    local typed=${BUFFER#$_autocorrect_base}
    if [[ $BUFFER != $_autocorrect_base && $BUFFER == $_autocorrect_base$typed && -n $typed \
          && $_autocorrect_ghost == $typed?* ]]; then
      _autocorrect_ghost=${_autocorrect_ghost#$typed}
      _autocorrect_base=$BUFFER
    elif [[ $BUFFER != $_autocorrect_base ]]; then
      _autocorrect_forget
    fi
  fi
  _autocorrect_show
  [[ $BUFFER == $old ]] && return   # only the cursor moved
  _autocorrect_maybe_request
}

# AUTOCORRECT_HISTORY=1: among the completions (in the reply's order), the first that agrees with the most
# recent history line starting with the typed line; else the first. REPLY = the choice.
_autocorrect_pick() {
  emulate -L zsh
  local line=$1; shift
  REPLY=$1
  [[ $AUTOCORRECT_HISTORY == 1 && -n $line ]] || return
  local h=${history[(r)${(b)line}?*]}
  [[ -n $h ]] || return
  local cont=${h#$line} c
  for c in "$@"; do
    # (a parameter in a [[ ]] pattern matches literally)
    if [[ -n $c && ( $cont == $c* || $c == $cont* ) ]]; then
      REPLY=$c
      return
    fi
  done
}

_autocorrect_handle_line() {
  emulate -L zsh
  local line=$1
  [[ $line =~ '"id":(-?[0-9]+)' ]] || return
  integer id=$match[1]
  (( _autocorrect_inflight > 0 && _autocorrect_inflight-- ))
  _autocorrect_log "reply id=$id inflight=$_autocorrect_inflight seq=$_autocorrect_seq ${${(M)line#*\"(cancelled|error)\"}##*\"}"
  (( _autocorrect_inflight > 0 )) && _autocorrect_oldest=$EPOCHREALTIME
  if (( id == _autocorrect_correct_id )); then
    _autocorrect_correct_reply=$line
    return
  fi
  (( id == _autocorrect_seq )) || return                       # stale: a newer request is out
  [[ $line == *'"cancelled":true'* ]] && return
  if [[ $line == *'"error":{'* ]]; then
    _autocorrect_last_error=$line
    return
  fi
  [[ $BUFFER == $_autocorrect_req_line ]] && (( CURSOR == $#BUFFER )) || return
  _autocorrect_last_reply=$line
  _autocorrect_json_completions "$line" || return
  _autocorrect_log "completions: $#reply"
  (( $#reply )) || { _autocorrect_forget; return }
  _autocorrect_pick "$BUFFER" "${reply[@]}"
  local text=${REPLY%%$'\n'*}
  text=${text//[[:cntrl:]]/}
  if [[ -n $text ]]; then
    _autocorrect_ghost=$text
    _autocorrect_base=$BUFFER
  else
    _autocorrect_forget
  fi
}

# Reads what is there (never waits), handles each whole line.
_autocorrect_drain() {
  emulate -L zsh
  local chunk
  while [[ -n $_autocorrect_fd ]]; do
    sysread -t 0 -s 65536 -i $_autocorrect_fd chunk
    case $? in
      0) _autocorrect_rbuf+=$chunk ;;
      4) break ;;
      *) _autocorrect_disconnect; _autocorrect_retry_at=$(( EPOCHREALTIME + 2 )); break ;;
    esac
  done
  _autocorrect_process
}

# Handles each whole line in the read buffer.
_autocorrect_process() {
  emulate -L zsh
  while [[ $_autocorrect_rbuf == *$'\n'* ]]; do
    local line=${_autocorrect_rbuf%%$'\n'*}
    _autocorrect_rbuf=${_autocorrect_rbuf#*$'\n'}
    _autocorrect_handle_line "$line"
  done
  (( $#_autocorrect_rbuf > 1048576 )) && _autocorrect_disconnect   # no newline in 1 MB: not our daemon
}

# zle -F handler (a widget, so it may change the display): $1 the fd, $2 set on an error.
_autocorrect_readable() {
  emulate -L zsh
  _autocorrect_log "readable $*"
  if [[ $1 != $_autocorrect_fd ]]; then
    zle -F $1 2>/dev/null
    return
  fi
  if [[ -n $2 && $2 != hup ]]; then
    _autocorrect_disconnect
  else
    _autocorrect_drain
  fi
  if (( _autocorrect_wanted && _autocorrect_inflight < 4 )) && [[ -n $_autocorrect_fd ]] \
     && [[ $BUFFER == $_autocorrect_seen ]]; then
    _autocorrect_maybe_request
  fi
  local before=$POSTDISPLAY
  _autocorrect_show
  # redraw only for a change: a redraw also wipes a message another widget is showing
  [[ $POSTDISPLAY == $before ]] || zle -R
}

# --- keys ----------------------------------------------------------------------------------------

_autocorrect_has_ghost() {
  emulate -L zsh
  [[ -n $_autocorrect_ghost && $_autocorrect_shown == $_autocorrect_ghost && $POSTDISPLAY == $_autocorrect_ghost \
     && $BUFFER == $_autocorrect_base ]] && (( CURSOR == $#BUFFER ))
}

# The widget the key in $KEYS had before we bound it (or $1).
_autocorrect_call_fallback() {
  local w=${_autocorrect_fallback[$KEYMAP:$KEYS]:-${_autocorrect_fallback[emacs:$KEYS]:-$1}}
  shift
  zle $w -- "$@"
}

_autocorrect_accept() {
  emulate -L zsh
  if _autocorrect_has_ghost; then
    BUFFER+=$_autocorrect_ghost
    CURSOR=$#BUFFER
    _autocorrect_forget
    _autocorrect_show
  else
    local def=forward-char
    [[ $KEYS == (*F|*4~|*8~) ]] && def=end-of-line
    _autocorrect_call_fallback $def "$@"
  fi
}

_autocorrect_accept_word() {
  emulate -L zsh
  setopt extendedglob
  if _autocorrect_has_ghost; then
    local word=${(M)_autocorrect_ghost##[[:space:]]#[^[:space:]]##}
    [[ -n $word ]] || word=$_autocorrect_ghost
    BUFFER+=$word
    CURSOR=$#BUFFER
    _autocorrect_ghost=${_autocorrect_ghost#$word}
    _autocorrect_base=$BUFFER
    _autocorrect_seen=$BUFFER
    _autocorrect_seen_cursor=$CURSOR
    [[ -n $_autocorrect_ghost ]] || _autocorrect_forget
    _autocorrect_show
  else
    _autocorrect_call_fallback forward-word "$@"
  fi
}

# Alt-s / Ctrl-x c: the daemon's corrections of the line, applied at once as one change (Ctrl-_
# undoes it). Waits at most AUTOCORRECT_CORRECT_TIMEOUT seconds: the user asked and is waiting.
_autocorrect_correct() {
  emulate -L zsh
  if [[ -z $BUFFER ]]; then
    return
  fi
  local line=$BUFFER
  _autocorrect_json_escape "$line"
  (( _autocorrect_seq++ ))
  _autocorrect_correct_id=$_autocorrect_seq
  _autocorrect_correct_reply=''
  if ! _autocorrect_send "{\"id\":$_autocorrect_seq,\"op\":\"correct\",\"session\":\"zsh-$$-c\",\"before\":\"$REPLY\"}"; then
    zle -M "autocorrect: the daemon is not running (${AUTOCORRECT_SOCKET:-$_autocorrect_socket_default})"
    return 1
  fi
  local -F until=$(( EPOCHREALTIME + ${AUTOCORRECT_CORRECT_TIMEOUT:-0.5} ))
  local chunk
  while [[ -z $_autocorrect_correct_reply && -n $_autocorrect_fd ]] && (( EPOCHREALTIME < until )); do
    sysread -t $(( until - EPOCHREALTIME )) -s 65536 -i $_autocorrect_fd chunk
    case $? in
      0) _autocorrect_rbuf+=$chunk; _autocorrect_drain ;;
      4) ;;
      *) _autocorrect_disconnect ;;
    esac
  done
  _autocorrect_correct_id=-1
  local rep=$_autocorrect_correct_reply
  if [[ -z $rep ]]; then
    zle -M "autocorrect: no answer in ${AUTOCORRECT_CORRECT_TIMEOUT:-0.5}s"
    return 1
  fi
  if [[ $rep == *'"error":{'* ]]; then
    zle -M "autocorrect: the daemon said: ${${rep#*\"message\":\"}%%\"*}"
    return 1
  fi
  [[ $BUFFER == $line ]] || return 1
  # corrections: {"start":S,"end":E,"original":"...","replacement":"...","score":X}, in text order
  local -a starts ends repls origs
  local rest=${rep#*\"corrections\":\[}
  while [[ $rest =~ '^\{"start":([0-9]+),"end":([0-9]+),"original":"' ]]; do
    starts+=($match[1]); ends+=($match[2])
    _autocorrect_json_string "$rest" $(( $#MATCH + 1 )) || break
    origs+=("$REPLY")
    rest=${rest[_autocorrect_jpos,-1]}
    [[ $rest == ',"replacement":"'* ]] || break
    _autocorrect_json_string "$rest" 17 || break
    repls+=("$REPLY")
    rest=${rest[_autocorrect_jpos,-1]}
    # past "score" and "candidates" to the next correction ('{"start":' only starts one)
    [[ $rest == *'{"start":'* ]] || break
    rest='{"start":'${rest#*\{\"start\":}
  done
  if (( ! $#repls )); then
    zle -M "autocorrect: no corrections"
    return 0
  fi
  local at_end=0 msg='' new
  (( CURSOR == $#BUFFER )) && at_end=1
  integer k
  # byte offsets: splice without multibyte, from the last to the first
  () {
    setopt localoptions nomultibyte
    new=$line
    for (( k = $#repls; k >= 1; k-- )); do
      new=${new[1,starts[k]]}${repls[k]}${new[ends[k]+1,-1]}
    done
  }
  for (( k = 1; k <= $#repls; k++ )); do
    msg+="${msg:+, }${origs[k]} -> ${repls[k]}"
  done
  BUFFER=$new
  (( at_end )) && CURSOR=$#BUFFER
  zle -M "autocorrect: $msg (Ctrl-_ undoes)"
}

# --- the command-name check (AUTOCORRECT_CHECK_COMMAND=1) ----------------------------------------

# REPLY = the one command on PATH (or function, alias, builtin) at edit distance 1 from $1
# (one letter replaced, added, dropped, or two neighbours swapped); empty when none or several.
_autocorrect_command_suggestion() {
  emulate -L zsh
  local w=$1 q
  integer i n=$#w
  local -a pats cands
  for (( i = 1; i <= n; i++ )); do
    pats+=("${(b)w[1,i-1]}?${(b)w[i+1,-1]}")            # replaced
    pats+=("${(b)w[1,i-1]}${(b)w[i+1,-1]}")             # dropped
    (( i < n )) && pats+=("${(b)w[1,i-1]}${(b)w[i+1]}${(b)w[i]}${(b)w[i+2,-1]}")  # swapped
  done
  for (( i = 0; i <= n; i++ )); do
    pats+=("${(b)w[1,i]}?${(b)w[i+1,-1]}")              # added
  done
  q="(${(j:|:)pats})"
  cands=(${(k)commands[(I)$~q]} ${(k)functions[(I)$~q]} ${(k)aliases[(I)$~q]} ${(k)builtins[(I)$~q]})
  cands=(${(u)cands:#_*})
  cands=(${cands:#$w})
  REPLY=''
  (( $#cands == 1 )) && REPLY=$cands[1]
}

_autocorrect_accept_line() {
  emulate -L zsh
  if [[ $AUTOCORRECT_CHECK_COMMAND == 1 && $AUTOCORRECT_DISABLE != 1 ]]; then
    local -a words
    words=(${(z)BUFFER})
    integer i=1
    while [[ $words[i] == (sudo|command|exec|nohup|time|nice|env|builtin|noglob|doas) ]]; do (( i++ )); done
    local cmd=$words[i]
    if [[ -n $cmd && $#cmd -ge 2 && $cmd != *[/=\$\\\'\"\(\)\{\}\[\]\!\~\*\?\<\>\|\&\;\`]* ]] \
       && (( ! $+commands[$cmd] && ! $+functions[$cmd] && ! $+aliases[$cmd] && ! $+builtins[$cmd] \
             && ! ${reswords[(Ie)$cmd]} )) && [[ ! -d $cmd ]]; then
      _autocorrect_command_suggestion $cmd
      local fix=$REPLY
      if [[ -n $fix ]]; then
        # where the command word is: the first whole-word occurrence after the modifiers
        local head=${(j: :)words[1,i-1]}
        integer at=${BUFFER[(i)${(b)cmd}]}
        if (( at <= $#BUFFER )); then
          # no reply handling while we ask: its redraw would wipe the question
          [[ -n $_autocorrect_fd ]] && zle -F $_autocorrect_fd
          zle -R "autocorrect: run '$fix' instead of '$cmd'? [y]es [n]o (run as typed) [e]dit"
          local key
          read -k 1 key
          [[ -n $_autocorrect_fd ]] && zle -F -w $_autocorrect_fd _autocorrect_readable
          case $key in
            y|Y) BUFFER=${BUFFER[1,at-1]}$fix${BUFFER[at+$#cmd,-1]} ;;
            n|N|$'\r'|$'\n') ;;
            *) zle -M ''; return 0 ;;
          esac
        fi
      fi
    fi
  fi
  zle _autocorrect_orig_accept_line -- "$@"
}

# --- line start and end --------------------------------------------------------------------------

# zsh-autosuggestions' async mode answers through its autosuggest-suggest widget from its own
# `zle -F` handler, which no redraw hook follows: an empty answer (no history match) would wipe
# our suggestion. So that widget is wrapped: after it, ours is drawn again if theirs is empty.
_autocorrect_zas_suggest() {
  zle _autocorrect_orig_zas_suggest -- "$@"
  local ret=$? before=$POSTDISPLAY
  _autocorrect_show
  [[ $POSTDISPLAY == $before ]] || zle -R
  return ret
}

_autocorrect_line_init() {
  if (( $+widgets[autosuggest-suggest] )) && [[ $widgets[autosuggest-suggest] != user:_autocorrect_zas_suggest ]]; then
    zle -A autosuggest-suggest _autocorrect_orig_zas_suggest
    zle -N autosuggest-suggest _autocorrect_zas_suggest
  fi
  _autocorrect_forget
  _autocorrect_shown=''
  _autocorrect_seen=$'\0none'
  _autocorrect_seen_cursor=-1
  _autocorrect_hl=''
  # replies that came while a command ran are stale: read and drop them
  [[ -n $_autocorrect_fd ]] && _autocorrect_drain
}

# The ghost must not stay on screen after the line is accepted or aborted.
_autocorrect_line_finish() {
  emulate -L zsh
  _autocorrect_forget
  if [[ -n $_autocorrect_shown && $POSTDISPLAY == $_autocorrect_shown ]]; then
    POSTDISPLAY=''
    _autocorrect_unhighlight
    _autocorrect_shown=''
    zle -R
  fi
}

# --- setup ---------------------------------------------------------------------------------------

zle -N _autocorrect_readable
zle -N _autocorrect_accept
zle -N _autocorrect_accept_word
zle -N _autocorrect_correct
zle -N _autocorrect_pre_redraw
zle -N _autocorrect_line_init
zle -N _autocorrect_line_finish
add-zle-hook-widget line-pre-redraw _autocorrect_pre_redraw
add-zle-hook-widget line-init _autocorrect_line_init
add-zle-hook-widget line-finish _autocorrect_line_finish

# The accept keys fall back to what they were bound to, so without a suggestion they do what they
# always did. Sequences: normal and application cursor mode, and what terminfo says.
() {
  emulate -L zsh
  local -a accept=('^[[C' '^[OC' '^[[F' '^[OF' '^[[4~' '^[[8~')
  local k raw
  for k in kcuf1 kend; do
    raw=${terminfo[$k]}
    [[ -n $raw ]] && accept+=("${raw//$'\e'/^[}")
  done
  accept=(${(u)accept})
  local km seq cur l key keys
  local -A bound
  for km in emacs viins; do
    bound=()
    for l in "${(@f)$(bindkey -M $km)}"; do
      [[ $l == \"*\"\ * ]] || continue
      key=${${l%\" *}#\"}
      bound[$key]=${l##* }
    done
    for seq in $accept '^[f'; do
      cur=${bound[$seq]}
      keys=${(g:c:)seq}   # the raw bytes, as $KEYS will hold them
      if [[ -n $cur && $cur != _autocorrect_* && $cur != undefined-key ]]; then
        _autocorrect_fallback[$km:$keys]=$cur
      fi
      if [[ $seq == '^[f' ]]; then
        bindkey -M $km $seq _autocorrect_accept_word
      else
        bindkey -M $km $seq _autocorrect_accept
      fi
    done
    bindkey -M $km '^[s' _autocorrect_correct
    bindkey -M $km '^Xc' _autocorrect_correct
  done
}

if [[ $AUTOCORRECT_CHECK_COMMAND == 1 ]] && [[ $widgets[accept-line] != user:_autocorrect_accept_line ]]; then
  zle -A accept-line _autocorrect_orig_accept_line
  zle -N accept-line _autocorrect_accept_line
fi
