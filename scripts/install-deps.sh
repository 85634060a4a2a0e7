#!/usr/bin/env bash
# Installs the Debian 12 packages autocorrect needs to build, test and train. Idempotent: it installs
# only what is missing, and runs apt-get update only when something is. Run as root or with sudo.
set -eu

packages=(
  # build
  build-essential pkg-config
  # C libraries: ONNX parsing (protobuf-c + Debian's onnx.proto), Unicode, JSON, HTTP
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libutf8proc-dev libjansson-dev libmicrohttpd-dev
  # Python side: training, export, fixtures (Debian's torch is for /usr/bin/python3)
  python3 python3-torch python3-numpy python3-onnx libopenblas0-openmp python3-matplotlib
  # test references and clients: node for onnxruntime-node and js-tiktoken, editors and shells
  nodejs npm neovim zsh fish tmux netcat-openbsd zsh-autosuggestions
  # screenshots of the editor integrations (tests/nvim/screenshot.sh renders tmux captures)
  python3-pil fonts-dejavu-core
  # spelling: SCOWL word lists for the dictionary, codespell's misspellings for bench/eval_spelling.sh
  scowl codespell
  # fuzzing, sanitizers and valgrind (make fuzz, make asan, tests/sh/test_valgrind_daemon.sh)
  clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian on some machines: accept working commands instead.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
