#!/usr/bin/env bash
# The spelling corrector's quality evaluation: builds the test data (bench/eval_spelling_data.py:
# codespell's misspellings, split dev/test; held-out sentences of data/corpus/valid.txt with
# misspellings injected) and runs bench/eval_spelling.c on the test half.
#
# Usage: bench/eval_spelling.sh [--model DIR] [--dictionary PATH] [--half dev|test] [other
#        eval_spelling options...]. Without --model it ranks by the dictionary alone.
# Needs: the Debian package codespell (installed here when missing and we are root), a built
# library (make), data/corpus/valid.txt (make corpus).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
if ! "$PYTHON" -c 'import codespell_lib' 2>/dev/null && ! ls /usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q codespell >/dev/null
  else
    echo "eval_spelling: install the Debian package codespell first" >&2; exit 1
  fi
fi
[ -f "$BUILD/libautocorrect.a" ] || make -s BUILD="$BUILD" all
mkdir -p "$BUILD/eval" "$BUILD/bench"
if [ ! -f "$BUILD/eval/sentences_test.tsv" ] || [ bench/eval_spelling_data.py -nt "$BUILD/eval/sentences_test.tsv" ] || \
   [ data/corpus/valid.txt -nt "$BUILD/eval/sentences_test.tsv" ]; then
  "$PYTHON" bench/eval_spelling_data.py --out "$BUILD/eval"
fi
bin=$BUILD/bench/eval_spelling
if [ ! -x "$bin" ] || [ bench/eval_spelling.c -nt "$bin" ] || [ "$BUILD/libautocorrect.a" -nt "$bin" ]; then
  $CC -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o "$bin" bench/eval_spelling.c "$BUILD/libautocorrect.a" \
      -lprotobuf-c -lutf8proc -ljansson -lmicrohttpd -lm -lpthread
fi
exec "$bin" --data "$BUILD/eval" "$@"
