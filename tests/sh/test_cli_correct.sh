#!/usr/bin/env bash
# Tests `autocorrect correct` (the spelling filter) and `autocorrect learn` end to end: plain and
# JSON output, byte offsets, invalid UTF-8 passed through, the user dictionary, and the language
# model path on the tiny fixture. Needs build/bin/autocorrect and models/default/dictionary.tsv.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
bin=$BUILD/bin/autocorrect
dict=models/default/dictionary.tsv
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
if [ ! -x "$bin" ] || [ ! -f "$dict" ]; then
  echo "SKIP: cli_correct: no $bin or $dict"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/data

# plain filter: line endings kept, every line back
out=$(printf 'Teh quick brwn fox.\r\nNothing wrong here.\nno newline at teh end' | "$bin" correct --dictionary "$dict" | od -c | tr -s ' ')
want=$(printf 'The quick brown fox.\r\nNothing wrong here.\nno newline at the end' | od -c | tr -s ' ')
[ "$out" = "$want" ] && pass filter_plain || fail filter_plain "got $(printf '%s' "$out" | head -3)"

# what is never touched
in='teh2 http://teh.example.com TEH teh_var x.teh NASA O(n) 42'
out=$("$bin" correct --dictionary "$dict" "$in")
[ "$out" = "$in" ] && pass filter_leaves_code_alone || fail filter_leaves_code_alone "$out"

# invalid UTF-8 comes back byte for byte
printf 'teh \xff\xfe caf\xc3\n' > "$tmp/bad"
"$bin" correct --dictionary "$dict" < "$tmp/bad" > "$tmp/bad.out"; rc=$?
cmp -s "$tmp/bad" "$tmp/bad.out" && [ $rc = 0 ] && pass filter_invalid_utf8_unchanged || fail filter_invalid_utf8_unchanged "rc $rc, output differs"

# JSON: one object per line, byte offsets into the line, candidates best first
printf 'caf\xc3\xa9 \xe2\x80\x94 teh wrod\n\xff teh\n' | "$bin" correct --json --dictionary "$dict" > "$tmp/j"
"$PY" - "$tmp/j" <<'PYEOF' && pass filter_json || fail filter_json "see above"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 2, lines
a = json.loads(lines[0]); b = json.loads(lines[1])
line = "café — teh wrod".encode()
assert a["text"] == "café — the word", a
c = a["corrections"]
assert [x["original"] for x in c] == ["teh", "wrod"], c
for x in c:
    assert line[x["start"]:x["end"]].decode() == x["original"], x
    s = [y["score"] for y in x["candidates"]]
    assert s == sorted(s, reverse=True) and x["candidates"][0]["text"] == x["replacement"], x
    assert x["score"] <= 0
assert b["corrections"] == [] and b["error"] == "invalid UTF-8", b
PYEOF

# learn: the word lands in $XDG_DATA_HOME/autocorrect/user-dictionary.txt (0600) and is then kept
"$bin" learn wrod Zyxxle > /dev/null
f=$XDG_DATA_HOME/autocorrect/user-dictionary.txt
mode=$(stat -c %a "$f" 2>/dev/null)
out=$("$bin" correct --dictionary "$dict" "teh wrod zyxxle")
[ "$mode" = 600 ] && [ "$out" = "the wrod zyxxle" ] && [ "$(cat "$f")" = "$(printf 'wrod\nZyxxle')" ] \
  && pass learn_user_dictionary || fail learn_user_dictionary "mode $mode, output '$out'"
"$bin" learn 'not a word' 2>/dev/null; rc=$?
[ $rc = 2 ] && pass learn_rejects_non_words || fail learn_rejects_non_words "exit $rc"
out=$("$bin" correct --no-user-dictionary --dictionary "$dict" "wrod")
[ "$out" = "word" ] && pass no_user_dictionary || fail no_user_dictionary "$out"

# --help says that without --model it is the dictionary alone
"$bin" correct --help | grep -q 'Without --model the dictionary alone' && pass help_mentions_dictionary_only \
  || fail help_mentions_dictionary_only "not in --help"

# the language model path runs (tiny random model: the ranking is not meaningful, the plumbing is)
out=$(printf 'I saw teh cat\nform the store\n' | "$bin" correct --model tests/fixtures/tiny --dictionary "$dict" --json --threads 1)
n=$(printf '%s\n' "$out" | "$PY" -c 'import sys, json; print(sum(1 for l in sys.stdin if "text" in json.loads(l)))')
[ "$n" = 2 ] && pass filter_with_model || fail filter_with_model "$out"

"$bin" correct --dictionary /nonexistent.tsv "x" 2>/dev/null; rc=$?
[ $rc = 1 ] && pass missing_dictionary_fails || fail missing_dictionary_fails "exit $rc"

[ $fails = 0 ]
