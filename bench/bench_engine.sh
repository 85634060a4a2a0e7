#!/usr/bin/env bash
# bench_engine.sh: the C engine beside ONNX Runtime on random GPT-2 models (a report, not a test).
#
# Models (bench/make_models.py, made once into build/bench-models/ by bench/lib.sh, not committed):
# d256 x 6 layers and d512 x 8 (vocab 8192), and GPT-2 124M (vocab 50257). For 1 and 2 threads, a table of:
#   C prefill   ms for a 128-token prefill (logits of the last position), f32 and int8
#   C decode    ms per token decoded with the KV cache, f32 and int8 (after the 128-token prompt)
#   C beams     ms per step of 5 beams decoded in one batch (ac_session_decode_batch), f32 and int8,
#               and that over one decode (reading the weights once for the batch keeps it low)
#   ORT         onnxruntime-node on the same model: a no-cache forward of the 128-token window
#               (model.onnx, what the seed ran per token) and a token with past_key_values
#               (model_past.onnx), same thread count
# and the ratios (bigger = C faster): ORT no-cache / C prefill, ORT no-cache / C decode (the target
# is >= 10), ORT past / C decode. Medians over repetitions; compare only numbers from one run.
# Options (environment): BENCH_MODELS="d320x6 d256x4 d512x8 gpt2-124m", BENCH_THREADS="1 2", BENCH_ORT=0
# (no ORT columns).
# With models/default/model.onnx (or data/train/default exported by hand) and data/tokens/valid.bin,
# also the perplexity of float32 and int8 over 50k held-out tokens (BENCH_PPL_MODEL=PATH picks the
# model, BENCH_PPL_TOKENS the count).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
MODELS=${BENCH_MODELS:-"d320x6 d256x4 d512x8 gpt2-124m"}
THREADS=${BENCH_THREADS:-"1 2"}
BIN=$BUILD/bench/bench_engine
out=$(mktemp)
trap 'rm -f "$out"' EXIT

[ -x "$BIN" ] || { echo "bench_engine.sh: $BIN is missing (make bench)"; exit 1; }
. bench/lib.sh
bench_models_make bench_engine.sh $MODELS || exit 1
ort=1
bench_ort_ready bench_engine.sh || ort=0

for m in $MODELS; do
  dir=$BUILD/bench-models/$m
  reps=$(bench_reps "$m")
  for t in $THREADS; do
    for q in "" --int8; do
      # shellcheck disable=SC2086
      line=$("$BIN" --model "$dir/model.safetensors" --threads "$t" --reps $reps --decode 32 --beams 5 $q) || exit 1
      echo "{\"name\":\"$m\",\"c\":$line}" >> "$out"
    done
    if [ $ort = 1 ]; then
      line=$(node bench/ort_bench.js "$dir" --threads "$t" --reps $reps --decode 32) || exit 1
      echo "{\"name\":\"$m\",\"ort\":$line}" >> "$out"
    fi
  done
done

"$PY" - "$out" <<'PYEOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "c" in o:
        c = o["c"]
        rows.setdefault((o["name"], c["threads"]), {})[c["quant"]] = c
    else:
        rows.setdefault((o["name"], o["ort"]["threads"]), {})["ort"] = o["ort"]
def f(x): return "%.2f" % x if x is not None else "-"
def r(a, b): return "%.1fx" % (a / b) if a is not None and b else "-"
print("| model | threads | C prefill 128 f32 / int8 (ms) | ORT no-cache 128 (ms) | ORT/C prefill f32 "
      "| C decode f32 / int8 (ms/token) | C 5 beams/step f32 / int8 (ms) | 5 beams / 1 decode f32, int8 "
      "| ORT past (ms/token) | ORT no-cache / C decode f32, int8 | ORT past / C decode f32 |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (name, t), v in rows.items():
    f32, q8, ort = v.get("f32"), v.get("int8"), v.get("ort", {})
    nc, past = ort.get("nocache_ms"), ort.get("past_decode_ms")
    print("| %s | %d | %s / %s | %s | %s | %s / %s | %s / %s | %s, %s | %s | %s, %s | %s |" % (
        name, t, f(f32["prefill_ms"]), f(q8["prefill_ms"]), f(nc), r(nc, f32["prefill_ms"]),
        f(f32["decode_ms"]), f(q8["decode_ms"]), f(f32["batch_ms"]), f(q8["batch_ms"]),
        r(f32["batch_ms"], f32["decode_ms"]), r(q8["batch_ms"], q8["decode_ms"]), f(past),
        r(nc, f32["decode_ms"]), r(nc, q8["decode_ms"]), r(past, f32["decode_ms"])))
first = next(iter(rows.values()))
print("\nkernels: %s; machine load during the run (1-minute average): %s" % (
    first["f32"]["kernels"], open("/proc/loadavg").read().split()[0] if True else "?"))
PYEOF

ppl_model=${BENCH_PPL_MODEL:-models/default/model.onnx}
if [ -f "$ppl_model" ] && [ -f data/tokens/valid.bin ]; then
  echo
  echo "Perplexity over data/tokens/valid.bin (float32, then int8 made at load):"
  "$BIN" --model "$ppl_model" --perplexity data/tokens/valid.bin --tokens "${BENCH_PPL_TOKENS:-50000}" || exit 1
fi
