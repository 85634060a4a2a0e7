# autocorrect.bash: completion and correction of the command line from autocorrectd, for bash >= 4.
#
# What it is: two readline bindings (bind -x). Ctrl-x a completes the line at the cursor with the
# daemon's best completion and lists the others below the prompt; pressing it again right away
# puts the next one in its place (it cycles). Ctrl-x c replaces the line with its spelling
# corrections. Each press runs one short-lived `autocorrect` client (the CLI, which speaks to the
# daemon) under a time budget (AUTOCORRECT_TIMEOUT, 0.1 s): with the daemon slow or gone the key
# gives up quickly and the line stays as it was. Nothing runs while you type.
# What it is not: ghost text as you type (readline has no asynchronous display; zsh has it, see
# autocorrect.zsh), or a replacement for Tab completion.
#
# Enable:  source /usr/local/share/autocorrect/shell/autocorrect.bash   (in ~/.bashrc)
# Settings (shell variables, read at each keypress; see docs/shell.md):
#   AUTOCORRECT_SOCKET            the daemon's socket (default: as autocorrectd resolves it)
#   AUTOCORRECT_CLI               the `autocorrect` program, default: the one on PATH
#   AUTOCORRECT_TIMEOUT           seconds a keypress may wait for the daemon, 0.1
#   AUTOCORRECT_MAX_TOKENS        tokens per completion, 8
#   AUTOCORRECT_HISTORY           1: prefer completions that continue a line of your history, 0
#   AUTOCORRECT_HISTORY_CONTEXT   N: send your last N history lines as context (to the local daemon), 0
#   AUTOCORRECT_COMPLETE_KEY      readline key sequence, default "\C-xa" (set before sourcing)
#   AUTOCORRECT_CORRECT_KEY       readline key sequence, default "\C-xc" (set before sourcing)
# Names: functions and state start with `_autocorrect`.

[[ $- == *i* ]] || return 0
if ((BASH_VERSINFO[0] < 4)); then
  echo "autocorrect.bash: needs bash 4 or newer (bind -x with READLINE_LINE); not loaded" >&2
  return 1
fi

# The socket autocorrectd uses with the same settings: $AUTOCORRECT_SOCKET, else socket_path from
# config.toml, else $XDG_RUNTIME_DIR/autocorrect.sock, else ${TMPDIR:-/tmp}/autocorrect-$UID/.
# The CLI is always given the path: without one it would load the model itself when no daemon
# answers, which takes far longer than a keypress may.
_autocorrect_socket() {
  if [[ -n ${AUTOCORRECT_SOCKET:-} ]]; then
    REPLY=$AUTOCORRECT_SOCKET
    return
  fi
  local cfg=${XDG_CONFIG_HOME:-$HOME/.config}/autocorrect/config.toml line re
  REPLY=''
  re='^[[:space:]]*socket_path[[:space:]]*=[[:space:]]*["'"'"']([^"'"'"']*)["'"'"']'
  if [[ -r $cfg ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      [[ $line =~ $re ]] && REPLY=${BASH_REMATCH[1]}
    done <"$cfg"
    [[ $REPLY == '~/'* ]] && REPLY=$HOME/${REPLY#'~/'}
  fi
  if [[ -z $REPLY ]]; then
    if [[ -n ${XDG_RUNTIME_DIR:-} ]]; then
      REPLY=$XDG_RUNTIME_DIR/autocorrect.sock
    else
      REPLY=${TMPDIR:-/tmp}/autocorrect-$UID/autocorrect.sock
    fi
  fi
}

# Runs the CLI with "$@" under the time budget, the text on standard input. Returns its status:
# 0 answered, 124 over the budget, 127 no CLI, other: no daemon or an error.
_autocorrect_cli() {
  local text=$1
  shift
  local cli=${AUTOCORRECT_CLI:-autocorrect}
  if ! type -P "$cli" >/dev/null && [[ ! -x $cli ]]; then
    return 127
  fi
  _autocorrect_socket
  [[ -S $REPLY ]] || return 2
  printf '%s' "$text" | timeout -k 0.1 "${AUTOCORRECT_TIMEOUT:-0.1}" "$cli" "$1" --socket "$REPLY" "${@:2}" 2>/dev/null
}

_autocorrect_say() {
  printf '\e[2mautocorrect: %s\e[0m\n' "$1" >&2
}

_autocorrect_why() {
  case $1 in
    124) _autocorrect_say "no answer within ${AUTOCORRECT_TIMEOUT:-0.1}s" ;;
    127) _autocorrect_say "the autocorrect command is not on PATH (set AUTOCORRECT_CLI)" ;;
    *) _autocorrect_socket; _autocorrect_say "the daemon is not running ($REPLY)" ;;
  esac
}

# The most recent history line that starts with $1 and is longer (AUTOCORRECT_HISTORY=1): REPLY.
_autocorrect_history_match() {
  local h
  REPLY=''
  while IFS= read -r h; do
    h=${h#"${h%%[![:space:]]*}"}
    if [[ $h == "$1"?* ]]; then
      REPLY=$h
      return 0
    fi
  done < <(fc -lnr -1000 2>/dev/null)
  return 1
}

# State of the last completion, so the next press can cycle.
_autocorrect_alts=()
_autocorrect_idx=0
_autocorrect_before=''
_autocorrect_after=''
_autocorrect_result=''
_autocorrect_result_point=-1

_autocorrect_put() {
  local c=${_autocorrect_alts[_autocorrect_idx]}
  READLINE_LINE=$_autocorrect_before$c$_autocorrect_after
  # characters in bash >= 5.1 (bytes before): at the line's end both agree
  if [[ -z $_autocorrect_after ]]; then
    READLINE_POINT=${#READLINE_LINE}
  else
    READLINE_POINT=$((${#_autocorrect_before} + ${#c}))
  fi
  _autocorrect_result=$READLINE_LINE
  _autocorrect_result_point=$READLINE_POINT
  if ((${#_autocorrect_alts[@]} > 1)); then
    local i list=''
    for i in "${!_autocorrect_alts[@]}"; do
      if ((i == _autocorrect_idx)); then list+=" [${_autocorrect_alts[i]}]"; else list+="  ${_autocorrect_alts[i]}"; fi
    done
    printf '\e[2m%s\e[0m\n' "${list# }"
  fi
}

_autocorrect_complete() {
  # pressed again on our own result: the next alternative
  if [[ $READLINE_LINE == "$_autocorrect_result" ]] && ((READLINE_POINT == _autocorrect_result_point)) \
     && ((${#_autocorrect_alts[@]} > 1)); then
    _autocorrect_idx=$(((_autocorrect_idx + 1) % ${#_autocorrect_alts[@]}))
    _autocorrect_put
    return
  fi
  local before=${READLINE_LINE:0:READLINE_POINT} after=${READLINE_LINE:READLINE_POINT}
  [[ $before == *[![:space:]]* ]] || return
  local text=$before ctx=''
  if ((${AUTOCORRECT_HISTORY_CONTEXT:-0} > 0)); then
    local h
    while IFS= read -r h; do
      h=${h#"${h%%[![:space:]]*}"}
      [[ -n $h ]] && ctx+=$h$'\n'
    done < <(fc -ln -"$AUTOCORRECT_HISTORY_CONTEXT" 2>/dev/null)
    text=$ctx$before
  fi
  local -a args=(complete --stop line --max-tokens "${AUTOCORRECT_MAX_TOKENS:-8}" --beams 4)
  [[ -n $after ]] && args+=(--after "$after")
  local out rc
  out=$(_autocorrect_cli "$text"$'\n' "${args[@]}")
  rc=$?
  if ((rc != 0)); then
    _autocorrect_why $rc
    return
  fi
  local -a alts=()
  local c
  while IFS= read -r c; do
    c=${c//[[:cntrl:]]/}
    [[ -n $c ]] && alts+=("$c")
  done <<<"$out"
  if ((${#alts[@]} == 0)); then
    _autocorrect_say "no completion"
    return
  fi
  if [[ ${AUTOCORRECT_HISTORY:-0} == 1 ]] && _autocorrect_history_match "$before"; then
    local cont=${REPLY#"$before"} i
    for i in "${!alts[@]}"; do
      if [[ $cont == "${alts[i]}"* || ${alts[i]} == "$cont"* ]]; then
        c=${alts[i]}
        unset 'alts[i]'
        alts=("$c" "${alts[@]}")
        break
      fi
    done
  fi
  _autocorrect_alts=("${alts[@]}")
  _autocorrect_idx=0
  _autocorrect_before=$before
  _autocorrect_after=$after
  _autocorrect_put
}

# The line with the daemon's spelling corrections; the changed words are listed below the prompt.
_autocorrect_correct() {
  [[ $READLINE_LINE == *[![:space:]]* ]] || return
  local out rc
  out=$(_autocorrect_cli "$READLINE_LINE"$'\n' correct)
  rc=$?
  if ((rc != 0)); then
    _autocorrect_why $rc
    return
  fi
  out=${out%$'\n'}
  if [[ -z $out || $out == "$READLINE_LINE" ]]; then
    _autocorrect_say "no corrections"
    return
  fi
  local -a old new
  read -ra old <<<"$READLINE_LINE"
  read -ra new <<<"$out"
  local i msg=''
  if ((${#old[@]} == ${#new[@]})); then
    for i in "${!old[@]}"; do
      [[ ${old[i]} != "${new[i]}" ]] && msg+="${msg:+, }${old[i]} -> ${new[i]}"
    done
  fi
  READLINE_LINE=$out
  READLINE_POINT=${#READLINE_LINE}
  _autocorrect_say "${msg:-corrected}"
}

bind -x "\"${AUTOCORRECT_COMPLETE_KEY:-\\C-xa}\": _autocorrect_complete"
bind -x "\"${AUTOCORRECT_CORRECT_KEY:-\\C-xc}\": _autocorrect_correct"
