#!/usr/bin/env bash
# `autocorrect tokenizer-train` and `autocorrect tokenize --out-u16` end to end: train on a small
# corpus with <|endoftext|> separators, then check with Python (/usr/bin/python3, standard library
# only) that the files are well-formed Hugging Face vocab.json + merges.txt, that a plain Python BPE
# over them gives our ids (on ASCII text, where a stdlib regex can stand in for \p{L} and \p{N}),
# and that the uint16 file decodes back to the documents with one <|endoftext|> after each.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
BIN=$BUILD/bin/autocorrect
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d /tmp/ac_tok_train_sh.XXXXXX)
trap 'rm -rf "$T"' EXIT
status=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; status=1; }

# A corpus: the licenses Debian ships (base-files), one document each, plus generated lines.
{
    for f in /usr/share/common-licenses/*; do
        [ -f "$f" ] && cat "$f" && printf '\n<|endoftext|>\n'
    done
    for i in $(seq 1 300); do echo "Line $i: it's the ${i}th line, isn't it? Don't say 'S. \$$((i * 37)).00 (${i}%)"; done
} > "$T/corpus.txt"
ndocs=$(grep -cx '<|endoftext|>' "$T/corpus.txt")
ndocs=$((ndocs + 1))

if "$BIN" tokenizer-train --vocab-size 1200 --out "$T/tok" "$T/corpus.txt" 2> "$T/train.log"; then
    if grep -q "tokenizer-train: wrote" "$T/train.log"; then pass "tokenizer_train_cli ($(tail -1 "$T/train.log" | sed 's/^tokenizer-train: //'))"
    else fail tokenizer_train_cli "no progress lines on stderr"; fi
else
    fail tokenizer_train_cli "exit status $?: $(tail -3 "$T/train.log")"
fi
"$BIN" tokenizer-train --vocab-size 1200 --out "$T/tok2" --quiet "$T/corpus.txt" 2> "$T/quiet.log"
if cmp -s "$T/tok/vocab.json" "$T/tok2/vocab.json" && cmp -s "$T/tok/merges.txt" "$T/tok2/merges.txt" && [ ! -s "$T/quiet.log" ]; then
    pass tokenizer_train_deterministic_and_quiet
else
    fail tokenizer_train_deterministic_and_quiet "second run differs or --quiet printed"
fi
"$BIN" tokenizer-train --out "$T/x" "$T/corpus.txt" 2>/dev/null; rc1=$?
"$BIN" tokenizer-train --vocab-size 1200 --out "$T/x" /nonexistent 2>/dev/null; rc2=$?
if [ $rc1 = 2 ] && [ $rc2 = 1 ]; then pass tokenizer_train_cli_errors
else fail tokenizer_train_cli_errors "exit statuses $rc1 (want 2) and $rc2 (want 1)"; fi

# Python reads the files and encodes ASCII text the same.
grep -a -v '[^ -~]' "$T/corpus.txt" | grep -v '<|endoftext|>' | head -c 200000 > "$T/ascii.txt"
"$BIN" tokenize --tokenizer "$T/tok" < "$T/ascii.txt" > "$T/ascii.ids"
if out=$("$PY" - "$T/tok" "$T/ascii.txt" "$T/ascii.ids" <<'PYEOF' 2>&1
import json, re, sys
d, text_path, ids_path = sys.argv[1:]
vocab = json.load(open(d + "/vocab.json", encoding="utf-8"))
lines = open(d + "/merges.txt", encoding="utf-8").read().split("\n")
assert lines[0].startswith("#version"), "merges.txt: no #version line"
merges = [tuple(l.split(" ")) for l in lines[1:] if l]
ids = sorted(vocab.values())
assert ids == list(range(len(ids))), "ids are not 0..n-1"
# GPT-2's byte <-> unicode map, written out here on its own
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
b2u = {b: chr(c) for b, c in zip(bs, cs)}
inv = {v: k for k, v in vocab.items()}
assert [inv[i] for i in range(256)] == [b2u[b] for b in bs], "the first 256 ids are not the bytes in GPT-2's order"
assert inv[len(ids) - 1] == "<|endoftext|>", "<|endoftext|> is not the last id"
for k, (a, b) in enumerate(merges):
    assert a in vocab and b in vocab and a + b in vocab, "merge %d: %s %s" % (k + 1, a, b)
rank = {m: i for i, m in enumerate(merges)}
pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
text = open(text_path, encoding="ascii").read()
out = []
for w in pat.findall(text):
    parts = [b2u[c] for c in w.encode()]
    while len(parts) > 1:
        r, i = min((rank.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1))
        if r == 1 << 30:
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    out += [vocab[p] for p in parts]
ours = [int(x) for x in open(ids_path).read().split()]
assert out == ours, "Python's ids differ from ours (%d vs %d ids)" % (len(out), len(ours))
print("%d ids, %d merges" % (len(out), len(merges)))
PYEOF
); then pass "tokenizer_files_read_by_python ($out)"
else fail tokenizer_files_read_by_python "$out"; fi

# Bulk mode: uint16 ids, <|endoftext|> after every document.
if "$BIN" tokenize --tokenizer "$T/tok" --out-u16 "$T/corpus.u16" "$T/corpus.txt" 2> "$T/u16.log"; then
    if out=$("$PY" - "$T/tok" "$T/corpus.txt" "$T/corpus.u16" "$ndocs" <<'PYEOF' 2>&1
import array, json, sys
d, corpus_path, u16_path, ndocs = sys.argv[1:]
vocab = json.load(open(d + "/vocab.json", encoding="utf-8"))
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
u2b = {chr(c): b for b, c in zip(bs, cs)}
tok = {i: bytes(u2b[ch] for ch in s) for s, i in vocab.items() if s != "<|endoftext|>"}
eot = vocab["<|endoftext|>"]
a = array.array("H")
a.frombytes(open(u16_path, "rb").read())
if sys.byteorder != "little":
    a.byteswap()
docs, cur = [], []
for i in a:
    if i == eot:
        docs.append(b"".join(cur)); cur = []
    else:
        cur.append(tok[i])
assert not cur, "the file does not end with <|endoftext|>"
raw = open(corpus_path, "rb").read()
want = [x for x in raw.split(b"\n<|endoftext|>\n")]
want = [w + b"\n" if k < len(want) - 1 else w for k, w in enumerate(want)]
want = [w for w in want if w]
assert len(docs) == int(ndocs) == len(want), "%d documents, expected %s" % (len(docs), ndocs)
assert docs == want, "the documents do not decode back"
print("%d documents, %d ids" % (len(docs), len(a)))
PYEOF
); then pass "tokenize_out_u16 ($out)"
    else fail tokenize_out_u16 "$out"; fi
else
    fail tokenize_out_u16 "exit status $?: $(cat "$T/u16.log")"
fi
exit $status
