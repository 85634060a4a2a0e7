#!/usr/bin/env bash
# Keystroke savings of the completer (see bench/eval_keystrokes.c for the simulated user): builds
# build/bench/eval_keystrokes and runs it with the arguments given, e.g.
#   bench/eval_keystrokes.sh --model models/default --limit 100
#   bench/eval_keystrokes.sh --model tests/fixtures/tiny --limit 5      # the smoke run
# Not part of `make bench` (it types a whole file through the model: minutes with a real model).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make -s "$BUILD/bench/eval_keystrokes" >&2
exec "$BUILD/bench/eval_keystrokes" "$@"
