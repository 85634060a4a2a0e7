#!/usr/bin/env bash
# tests/nvim/screenshot.sh: makes docs/screenshots/nvim.png, Neovim with the plugin in use.
#
# Starts the daemon (build/bin/autocorrectd) with MODEL_DIR (default: the tiny test fixture, whose
# suggestions are nonsense until a trained model ships) on a temporary socket, runs Neovim with the
# plugin in a private tmux server, types a few lines of a markdown file key by key (typos get fixed
# as words end, one less sure fix is underlined, the ghost text shows at the end), captures the pane
# with its colours (tmux capture-pane -e) and renders it to PNG (tests/lib/ansi_png.py, PIL).
# Not a test: run it by hand after changing how things look. Needs tmux, python3-pil, fonts-dejavu.
#
#   tests/nvim/screenshot.sh [MODEL_DIR] [OUT.png]
set -eu
cd "$(dirname "$0")/../.."
root=$PWD
model=${1:-tests/fixtures/tiny}
out=${2:-docs/screenshots/nvim.png}
tmp=$(mktemp -d /tmp/ac-shot.XXXXXX)
tmux_=(tmux -L "acshot$$" -f /dev/null)
daemon_pid=
cleanup() {
  "${tmux_[@]}" kill-server 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

printf 'user_dictionary_path = "%s/user.txt"\nthreads = 1\n' "$tmp" > "$tmp/config.toml"
build/bin/autocorrectd --config "$tmp/config.toml" --model "$model" --socket "$tmp/sock" 2> "$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
[ -S "$tmp/sock" ] || { cat "$tmp/daemon.log"; exit 1; }

cat > "$tmp/init.lua" <<LUA
vim.opt.rtp:prepend('$root/editors/nvim')
vim.cmd('runtime plugin/autocorrect.lua')
vim.opt.termguicolors = true
vim.opt.background = 'dark'
vim.cmd('colorscheme slate')
vim.cmd('highlight Normal guibg=#1c1c1c guifg=#d0d0d0')
vim.cmd('highlight NonText guibg=#1c1c1c guifg=#444444')
vim.opt.number = true
vim.opt.laststatus = 2
vim.opt.showmode = true
vim.opt.statusline = ' %t %m%= autocorrect: %{luaeval("require(\'autocorrect.client\').status().state")}  model: $(basename "$model") '
require('autocorrect').setup({
  socket = '$tmp/sock',
  -- for the picture: keep the replaced words highlighted, and underline the less sure fixes
  correct = { highlight_ms = 600000, apply_probability = 0.97 },
})
LUA
cat > "$tmp/notes.md" <<'MD'
# Release notes

The daemon answers over a UNIX socket, one JSON object per line.
MD

"${tmux_[@]}" new-session -d -x 100 -y 14 -s shot \
  "env TERM=tmux-256color COLORTERM=truecolor nvim -u $tmp/init.lua -i NONE -n $tmp/notes.md"
sleep 1.5
type_slowly() {
  local s=$1 i
  for ((i = 0; i < ${#s}; i++)); do
    "${tmux_[@]}" send-keys -t shot -l -- "${s:i:1}"
    sleep 0.06
  done
}
"${tmux_[@]}" send-keys -t shot G o
sleep 0.3
type_slowly "The plan is simpel: ship the daemon first, then the editor plugins."
"${tmux_[@]}" send-keys -t shot Enter
type_slowly "I definately want teh Neovim plugin in it. Thank you for your hel"
sleep 1.0
"${tmux_[@]}" capture-pane -e -p -t shot > "$tmp/capture.ansi"
cursor=$("${tmux_[@]}" display -p -t shot '#{cursor_y},#{cursor_x}')
mkdir -p "$(dirname "$out")"
/usr/bin/python3 tests/lib/ansi_png.py "$tmp/capture.ansi" "$out" --cols 100 --cursor "$cursor"
cp "$tmp/capture.ansi" "${AC_SHOT_ANSI:-/dev/null}" 2>/dev/null || true
echo "wrote $out"
