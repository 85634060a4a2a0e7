#!/usr/bin/env bash
# test_engine_cli.sh: `autocorrect topk` and `autocorrect info` on the tiny fixture: output formats,
# agreement with PyTorch's log-probabilities (expected.json), threads, int8, control characters in
# token text printed escaped, and the exit statuses of bad usage (2) and failures (1).
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PY=${PYTHON:-/usr/bin/python3}
AC=$BUILD/bin/autocorrect
TINY=tests/fixtures/tiny
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }

if [ ! -x "$AC" ]; then
  echo "FAIL: build: $AC is missing (run make)"
  exit 1
fi
# the fixture's 22 ids, and a comma list of them
IDS=$("$PY" -c 'import json; print(",".join(map(str, json.load(open("'$TINY'/expected.json"))["ids"])))')

# 1. topk text: K lines "ID<TAB>LOGPROB", most likely first, the top token = PyTorch's argmax
if "$AC" topk --model $TINY --ids "$IDS" --k 5 > "$tmp/top.txt" 2> "$tmp/err"; then
  if "$PY" - "$tmp/top.txt" $TINY/expected.json <<'PYEOF'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
ref = json.load(open(sys.argv[2]))["references"]["f32"]["logprobs"][-1]
assert len(rows) == 5, rows
ids = [int(r[0]) for r in rows]; lps = [float(r[1]) for r in rows]
assert lps == sorted(lps, reverse=True), lps
want = sorted(range(len(ref)), key=lambda v: -ref[v])[:5]
assert ids == want, (ids, want)
assert max(abs(lp - ref[i]) for i, lp in zip(ids, lps)) < 1e-4
PYEOF
  then pass topk_text; else fail topk_text "output does not match PyTorch's top 5: $(head -c 300 "$tmp/top.txt")"; fi
else
  fail topk_text "exit status $?: $(cat "$tmp/err")"
fi

# 2. topk --json, and the same from the safetensors copy and with 2 threads
ok=1
for args in "--model $TINY" "--model $TINY/model.safetensors" "--model $TINY --threads 2"; do
  # shellcheck disable=SC2086
  "$AC" topk $args --ids "$IDS" --k 4 --json > "$tmp/top.json" 2> "$tmp/err" || { ok=0; break; }
  "$PY" - "$tmp/top.json" $TINY/expected.json <<'PYEOF' || { ok=0; break; }
import json, sys
out = json.load(open(sys.argv[1]))
ref = json.load(open(sys.argv[2]))["references"]["f32"]["logprobs"][-1]
toks = out["tokens"]
assert len(toks) == 4
assert [t["id"] for t in toks] == sorted(range(len(ref)), key=lambda v: -ref[v])[:4]
assert all(abs(t["logprob"] - ref[t["id"]]) < 1e-4 for t in toks)
PYEOF
done
[ $ok = 1 ] && pass topk_json_onnx_safetensors_threads || fail topk_json_onnx_safetensors_threads "args '$args': $(cat "$tmp/err")"

# 3. every position, every log-probability: PyTorch's within 1e-4 (f32), and int8 close
if "$AC" topk --model $TINY --ids "$IDS" --all-positions --json --full > "$tmp/full.json" 2> "$tmp/err" &&
   "$AC" topk --model $TINY --ids "$IDS" --all-positions --json --full --int8 > "$tmp/full8.json" 2>> "$tmp/err"; then
  if msg=$("$PY" - "$tmp/full.json" "$tmp/full8.json" $TINY/expected.json <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))
ref = json.load(open(sys.argv[3]))["references"]["f32"]["logprobs"]
assert a["n_vocab"] == 297 and len(a["logprobs"]) == len(ref)
d = max(abs(x - y) for r1, r2 in zip(a["logprobs"], ref) for x, y in zip(r1, r2))
assert d < 1e-4, "f32 max diff %g" % d
d8 = max(abs(x - y) for r1, r2 in zip(q["logprobs"], ref) for x, y in zip(r1, r2))
assert d8 < 0.3, "int8 max diff %g" % d8
print("f32 %.2g, int8 %.3g" % (d, d8))
PYEOF
  ); then pass "topk_all_positions_full ($msg)"; else fail topk_all_positions_full "$msg"; fi
else
  fail topk_all_positions_full "exit status: $(cat "$tmp/err")"
fi

# 4. --all-positions as text and JSON
"$AC" topk --model $TINY --ids 51,256,275 --all-positions --k 2 > "$tmp/pos.txt" 2>&1 &&
  [ "$(grep -c '^position ' "$tmp/pos.txt")" = 3 ] &&
  "$AC" topk --model $TINY --ids 51,256,275 --all-positions --k 2 --json | "$PY" -c '
import json, sys; o = json.load(sys.stdin); assert len(o["positions"]) == 3 and all(len(p["tokens"]) == 2 for p in o["positions"])' \
  && pass topk_all_positions_formats || fail topk_all_positions_formats "$(head -c 300 "$tmp/pos.txt")"

# 5. info, text and JSON
if "$AC" info --model $TINY > "$tmp/info.txt" 2> "$tmp/err" && grep -q '^n_embd     32$' "$tmp/info.txt" &&
   grep -q '^n_layer    2$' "$tmp/info.txt" && grep -q '^source     onnx' "$tmp/info.txt"; then
  pass info_text
else
  fail info_text "$(cat "$tmp/info.txt" "$tmp/err")"
fi
if "$AC" info --model $TINY/erf --json --int8 | "$PY" -c '
import json, sys
o = json.load(sys.stdin)
assert (o["n_vocab"], o["n_embd"], o["n_head"], o["n_layer"], o["gelu"], o["quantize"]) == (297, 24, 3, 1, "erf", "int8"), o
assert o["source"].startswith("safetensors") and o["weight_bytes"] > 0'; then
  pass info_json
else
  fail info_json "bad JSON from info --json"
fi

# 6. token text with control characters: the tiny tokenizer with its last merge (id 295) made
# "Â ħ" (bytes C2 85, the C1 control NEL), beside the byte token 221 (DEL). All 297 tokens printed:
# DEL and C1 must come out as \u007F and \u0085 in both formats, no raw DEL or C1 byte anywhere.
mkdir -p "$tmp/ctl"
ln -s "$PWD/$TINY/model.onnx" "$tmp/ctl/model.onnx"
"$PY" - "$TINY" "$tmp/ctl" <<'PYEOF'
import json, sys
src, dst = sys.argv[1:]
vocab = json.load(open(src + "/vocab.json"))
assert vocab.pop("\u0120th") == 295
vocab["\u00c2\u0127"] = 295
json.dump(vocab, open(dst + "/vocab.json", "w"))
merges = open(src + "/merges.txt", encoding="utf-8").read().splitlines()
assert merges[-1] == "\u0120t h"
open(dst + "/merges.txt", "w", encoding="utf-8").write("\n".join(merges[:-1] + ["\u00c2 \u0127"]) + "\n")
PYEOF
if "$AC" topk --model "$tmp/ctl" --k 297 x > "$tmp/ctl.txt" 2> "$tmp/err" &&
   "$AC" topk --model "$tmp/ctl" --k 297 --json x > "$tmp/ctl.json" 2>> "$tmp/err"; then
  if msg=$("$PY" - "$tmp/ctl.txt" "$tmp/ctl.json" 2>&1 <<'PYEOF'
import json, re, sys
raw_txt, raw_json = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
for name, raw in (("text", raw_txt), ("json", raw_json)):
    bad = re.search(rb"\x7f|\xc2[\x80-\x9f]", raw)
    assert not bad, "%s output holds the raw byte(s) %r" % (name, bad.group())
rows = {int(l.split("\t")[0]): l.split("\t")[2] for l in raw_txt.decode().splitlines()}
assert len(rows) == 297, len(rows)
assert rows[221] == '"\\u007F"' and rows[295] == '"\\u0085"', (rows[221], rows[295])
texts = {t["id"]: t["text"] for t in json.loads(raw_json)["tokens"]}
assert texts[221] == "\x7f" and texts[295] == "\x85", (texts[221], texts[295])
assert b'"\\u007F"' in raw_json and b'"\\u0085"' in raw_json
PYEOF
  ); then pass topk_token_controls_escaped; else fail topk_token_controls_escaped "$(tail -n 1 <<< "$msg")"; fi
else
  fail topk_token_controls_escaped "exit status: $(cat "$tmp/err")"
fi

# 7. exit statuses: usage errors 2, failures 1, --help 0
check_status() { # name, want, command...
  local name=$1 want=$2; shift 2
  "$@" > "$tmp/out" 2> "$tmp/err"
  local got=$?
  if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "exit status $got, want $want: $(head -c 200 "$tmp/err")"; fi
}
check_status topk_help 0 "$AC" topk --help
check_status info_help 0 "$AC" info --help
check_status topk_no_model_uses_configured 0 env AUTOCORRECT_MODEL=$TINY "$AC" topk --no-daemon --ids 1,2 # the lookup of route.h
check_status topk_no_ids 2 "$AC" topk --model $TINY
check_status topk_bad_id_text 2 "$AC" topk --model $TINY --ids 1,x
check_status topk_bad_k 2 "$AC" topk --model $TINY --ids 1 --k 0
check_status topk_unknown_option 2 "$AC" topk --model $TINY --ids 1 --frobnicate
check_status info_no_model_uses_configured 0 env AUTOCORRECT_MODEL=$TINY "$AC" info --no-daemon
check_status topk_id_outside_vocab 1 "$AC" topk --model $TINY --ids 1,297
grep -q "outside the vocabulary" "$tmp/err" && pass topk_id_outside_vocab_message || fail topk_id_outside_vocab_message "$(cat "$tmp/err")"
check_status topk_missing_model 1 "$AC" topk --model "$tmp/nope" --ids 1
check_status info_missing_model 1 "$AC" info --model "$tmp/nope"
printf 'not a model' > "$tmp/bad.onnx"
check_status info_bad_model 1 "$AC" info --model "$tmp/bad.onnx"
long=$(seq -s, 1 65)
check_status topk_context_full 1 "$AC" topk --model $TINY --ids "$long"
grep -q "context full" "$tmp/err" && pass topk_context_full_message || fail topk_context_full_message "$(cat "$tmp/err")"

[ $fails = 0 ]
