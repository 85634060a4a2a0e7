#!/usr/bin/env bash
# tests/sh/test_nvim.sh: the Neovim plugin (editors/nvim) in a real headless Neovim, against a fake
# daemon written in Lua (tests/nvim/*_spec.lua except daemon_spec.lua, which needs the real daemon:
# tests/sh/test_nvim_daemon.sh). Prints the specs' PASS:/FAIL:/SKIP: lines.
set -u
cd "$(dirname "$0")/../.."
if ! command -v nvim >/dev/null 2>&1; then
  echo "SKIP: nvim plugin: nvim is not installed"
  exit 0
fi
tmp=$(mktemp -d /tmp/ac-nvim.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0
for spec in tests/nvim/*_spec.lua; do
  case "$spec" in *daemon_spec.lua) continue ;; esac
  AC_NVIM_TMP=$tmp AC_NVIM_SPEC=$spec timeout 180 nvim --headless -u NONE -i NONE -n \
    -c 'luafile tests/nvim/run.lua' </dev/null 2>&1 || rc=1
done
exit $rc
