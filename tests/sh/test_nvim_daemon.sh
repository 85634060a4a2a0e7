#!/usr/bin/env bash
# tests/sh/test_nvim_daemon.sh: the Neovim plugin (editors/nvim) in a real headless Neovim against
# the REAL daemon ($BUILD/bin/autocorrectd) with the tiny fixture model: tests/nvim/daemon_spec.lua,
# which starts and stops its own daemons on temporary sockets. Prints PASS:/FAIL:/SKIP: lines.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-build}
daemon=$PWD/$BUILD/bin/autocorrectd
if ! command -v nvim >/dev/null 2>&1; then
  echo "SKIP: nvim daemon tests: nvim is not installed"
  exit 0
fi
if [ ! -x "$daemon" ]; then
  echo "SKIP: nvim daemon tests: $daemon is not built (make)"
  exit 0
fi
tmp=$(mktemp -d /tmp/ac-nvimd.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
AC_NVIM_TMP=$tmp AC_NVIM_DAEMON=$daemon AC_NVIM_SPEC=tests/nvim/daemon_spec.lua timeout 240 \
  nvim --headless -u NONE -i NONE -n -c 'luafile tests/nvim/run.lua' </dev/null 2>&1
