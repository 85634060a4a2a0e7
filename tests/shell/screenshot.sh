#!/usr/bin/env bash
# tests/shell/screenshot.sh [MODEL_DIR] [OUT.png]: the zsh ghost-text screenshot of docs/shell.md.
# Starts the daemon on MODEL_DIR (default: models/default when it holds a model, else the tiny
# test fixture, whose text is noise), types a line in zsh in tmux, waits for the ghost text, and
# renders `tmux capture-pane -e` with tests/lib/ansi_png.py (default OUT: docs/screenshots/zsh.png).
# AC_SHOT_ANSI=FILE keeps the capture. A documentation tool, not a test.
. "$(dirname "$0")/lib.sh"
MODEL=${1:-}
OUT=${2:-$ROOT/docs/screenshots/zsh.png}
if [ -z "$MODEL" ]; then
  MODEL=$ROOT/models/default
  [ -f "$MODEL/model.onnx" ] || MODEL=$ROOT/tests/fixtures/tiny
fi
LINE=${SHOT_LINE:-echo It was the best of}
SOCK=$XDG_RUNTIME_DIR/autocorrect.sock
rm -f "$SOCK"
OMP_NUM_THREADS=1 "$BUILD/bin/autocorrectd" --model "$MODEL" --socket "$SOCK" >"$T_DIR/daemon.log" 2>&1 &
T_PIDS+=($!)
for ((i = 0; i < 200; i++)); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$T_DIR/daemon.log"; exit 1; }

mkdir -p "$T_DIR/zd" "$T_DIR/notes"
touch "$T_DIR/notes/draft.md" "$T_DIR/notes/ideas.txt" "$T_DIR/notes/todo.txt"
cat >"$T_DIR/zd/.zshrc" <<EOT
PS1='%F{blue}~/notes%f %F{green}\$%f '
cd $T_DIR/notes
source $ROOT/shell/autocorrect.zsh
EOT
tm kill-server 2>/dev/null
tm new-session -d -x 72 -y 6 -- env -i HOME="$T_DIR/home" TERM=screen-256color LANG=C.UTF-8 \
  PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" ZDOTDIR="$T_DIR/zd" zsh -d -i
t_wait_for 'notes \$' 10
tm send-keys -t 0 -l ls
tm send-keys -t 0 Enter
sleep 0.3
want=$($ACQ complete "$SOCK" "$LINE" | head -1)
tm send-keys -t 0 -l "$LINE"
t_wait_ghost_is "~/notes \$ $LINE" "$want" 10 || { echo "no ghost text: '$GHOST' (want '$want')"; exit 1; }
t_screen_e >"$T_DIR/shot.txt"
cursor=$(tm display -p -t 0 '#{cursor_y},#{cursor_x}')
$PY "$ROOT/tests/lib/ansi_png.py" "$T_DIR/shot.txt" "$OUT" --cursor "$cursor" --cols 72 --rows 4 --size 18 \
  --title "zsh with autocorrect.zsh"
cp "$T_DIR/shot.txt" "${AC_SHOT_ANSI:-/dev/null}" 2>/dev/null || true
echo "wrote $OUT ($LINE + ghost '$want', model $MODEL)"
