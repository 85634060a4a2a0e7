# tests/shell/lib.sh: what the shell integration tests (tests/sh/test_shell_*.sh) share: PASS/FAIL
# lines, a private temporary directory, tmux on a private server (-L, always killed on exit), the
# real daemon on a temporary socket, and waiting for text on the screen. Sourced by bash; not a test.
#
# Every process a test starts is a background job of the test's shell, killed by its id on exit
# if it still runs (T_PIDS lists them).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
ACQ="$PY $ROOT/tests/shell/acq.py"
T_STATUS=0
T_PIDS=()
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ac-shell.XXXXXX")
T_TMUX="ac-test-$$-0"   # a new name per t_start_shell: a dying server may still hold the old one
T_NSHELL=0
export XDG_CONFIG_HOME=$T_DIR/config XDG_DATA_HOME=$T_DIR/data XDG_RUNTIME_DIR=$T_DIR/run
export TMUX_TMPDIR=$T_DIR/tmux   # the tmux sockets go with the directory
unset TMUX
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" "$T_DIR/home" "$TMUX_TMPDIR"
chmod 700 "$XDG_RUNTIME_DIR"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; T_STATUS=1; }
skip() { echo "SKIP: $1: $2"; }

t_cleanup() {
  tmux -L "$T_TMUX" kill-server 2>/dev/null
  # only children still alive (a pid already reaped may belong to someone else by now)
  local p
  for p in $(jobs -pr) $(jobs -ps); do
    kill -CONT "$p" 2>/dev/null
    kill "$p" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$T_DIR"
}
trap t_cleanup EXIT

tm() { tmux -L "$T_TMUX" -f /dev/null "$@"; }

# t_start_daemon SOCK [extra args]: the real daemon with the tiny fixture model; DAEMON_PID is set.
# It reads a config of its own (not the user's), which pins beam_width at 4: the expected
# completions of the shell tests are what the tiny model's search finds with 4 beams.
# Returns 1 (with the log on stdout) when the socket does not appear within 20 s.
t_start_daemon() {
  local sock=$1; shift
  rm -f "$sock"
  printf 'beam_width = 4\n' > "$T_DIR/daemon.toml"
  OMP_NUM_THREADS=1 "$BUILD/bin/autocorrectd" --config "$T_DIR/daemon.toml" --model "$ROOT/tests/fixtures/tiny" \
    --socket "$sock" "$@" \
    >>"$T_DIR/daemon.log" 2>&1 &
  DAEMON_PID=$!
  T_PIDS+=("$DAEMON_PID")
  local i
  for ((i = 0; i < 400; i++)); do
    [ -S "$sock" ] && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "daemon did not start; its log:"
  sed 's/^/    /' "$T_DIR/daemon.log"
  return 1
}

# t_start_fake SOCK [LOG]: the test double (tests/shell/fake_daemon.py); FAKE_PID is set.
t_start_fake() {
  rm -f "$1"
  $PY "$ROOT/tests/shell/fake_daemon.py" "$@" >>"$T_DIR/fake.log" 2>&1 &
  FAKE_PID=$!
  T_PIDS+=("$FAKE_PID")
  local i
  for ((i = 0; i < 200; i++)); do
    [ -S "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# t_start_shell COMMAND...: a new tmux server running COMMAND in a 150x40 pane (the old server, if
# any, is killed first; the new one gets a new socket name). The environment is empty but for what is given here.
t_start_shell() {
  tm kill-server 2>/dev/null
  T_NSHELL=$((T_NSHELL + 1))
  T_TMUX="ac-test-$$-$T_NSHELL"
  tm new-session -d -x 150 -y 40 -- env -i HOME="$T_DIR/home" TERM=screen-256color LANG=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin XDG_CONFIG_HOME="$XDG_CONFIG_HOME" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" \
    "$@"
  tm set-option -t 0 remain-on-exit on 2>/dev/null
}

# t_pane_state: "alive", or "dead (status N)" when the shell has exited (remain-on-exit keeps the
# pane and its last screen).
t_pane_state() {
  local d
  d=$(tm display -p -t 0 '#{pane_dead} #{pane_dead_status}' 2>/dev/null) || { echo "no tmux server"; return; }
  case $d in
    1*) echo "dead (status ${d#1 })" ;;
    *)
      local pid
      pid=$(tm display -p -t 0 '#{pane_pid}')
      echo "alive (pid $pid: state $(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null), in $(cat /proc/$pid/wchan 2>/dev/null), syscall $(cut -d' ' -f1 /proc/$pid/syscall 2>/dev/null))"
      ;;
  esac
}

t_screen() { tm capture-pane -p -J -t 0 2>/dev/null; }
t_screen_e() { tm capture-pane -p -e -J -t 0 2>/dev/null; }

# t_wait_for ERE [SECONDS]: until the screen (plain text) matches; 1 on timeout.
t_wait_for() {
  local re=$1 secs=${2:-5} i n
  n=$(awk -v s="$secs" 'BEGIN { printf "%d", s / 0.03 }')
  for ((i = 0; i < n; i++)); do
    t_screen | grep -qE -- "$re" && return 0
    sleep 0.03
  done
  return 1
}

# t_wait_ghost PREFIX [SECONDS]: until the line starting with PREFIX shows ghost text; GHOST is set.
t_wait_ghost() {
  local prefix=$1 secs=${2:-5} i n
  n=$(awk -v s="$secs" 'BEGIN { printf "%d", s / 0.05 }')
  GHOST=''
  for ((i = 0; i < n; i++)); do
    GHOST=$(t_screen_e | $ACQ ghost "$prefix") && [ -n "$GHOST" ] && return 0
    sleep 0.05
  done
  return 1
}

# t_wait_ghost_is PREFIX WANT [SECONDS]: until the ghost text after PREFIX is WANT (a trimmed older
# suggestion may show first); GHOST is what was seen last.
t_wait_ghost_is() {
  local prefix=$1 want=$2 secs=${3:-5} i n
  n=$(awk -v s="$secs" 'BEGIN { printf "%d", s / 0.05 }')
  GHOST=''
  for ((i = 0; i < n; i++)); do
    GHOST=$(t_screen_e | $ACQ ghost "$prefix") && [ "$GHOST" = "$want" ] && return 0
    sleep 0.05
  done
  return 1
}

# t_echo_ms: sends one character and waits until the cursor has moved past it; prints the
# milliseconds (the cursor, not the text: the ghost text may hold the same characters).
t_echo_ms() {
  local start end i x want
  x=$(tm display -p -t 0 '#{cursor_x}')
  want=$((x + 1))
  start=$EPOCHREALTIME
  tm send-keys -t 0 -l x
  for ((i = 0; i < 2000; i++)); do
    [ "$(tm display -p -t 0 '#{cursor_x}')" = "$want" ] && break
    sleep 0.002
  done
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}

# t_median_echo_ms N PREFIX: types PREFIX (waits for it), then N single characters, one at a time;
# prints the median echo time in ms.
t_median_echo_ms() {
  local n=$1 prefix=$2 k
  local -a ms=()
  tm send-keys -t 0 -l "$prefix"
  t_wait_for "$prefix" 5
  sleep 0.2
  for ((k = 0; k < n; k++)); do ms+=("$(t_echo_ms)"); done
  printf '%s\n' "${ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# t_re TEXT: TEXT as an ERE matching itself.
t_re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# t_type_line TEXT: clears the line (Ctrl-U), types TEXT, waits until "$ TEXT" is on screen.
t_type_line() {
  tm send-keys -t 0 C-u
  tm send-keys -t 0 -l "$1"
  t_wait_for "^\\\$ $(t_re "$1")" 5
}

# t_ms_since START: milliseconds since $EPOCHREALTIME was START.
t_ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

t_daemon_ok() {
  if [ -x "$BUILD/bin/autocorrectd" ] && [ -f "$ROOT/tests/fixtures/tiny/model.onnx" ]; then return 0; fi
  return 1
}

t_exit() {
  exit $T_STATUS
}
