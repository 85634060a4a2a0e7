#!/usr/bin/env bash
# test_engine_ort.sh: the C engine against ONNX Runtime (onnxruntime-node, installed at test time by
# tests/node/install.sh) on the tiny fixture's ONNX files: log-probabilities at every position,
# through `autocorrect topk --all-positions --json --full`, within 1e-4. SKIPs with the reason
# when onnxruntime-node cannot be installed or loaded.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PY=${PYTHON:-/usr/bin/python3}
AC=$BUILD/bin/autocorrect
TINY=tests/fixtures/tiny
TOL=1e-4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$AC" ]; then
  echo "FAIL: build: $AC is missing (run make)"
  exit 1
fi
if ! command -v node > /dev/null; then
  echo "SKIP: engine_vs_onnxruntime: node is not installed"
  exit 0
fi
sh tests/node/install.sh > "$tmp/install.log" 2>&1
if ! (cd tests/node && node -e 'require("onnxruntime-node")') > "$tmp/require.log" 2>&1; then
  echo "SKIP: engine_vs_onnxruntime: onnxruntime-node cannot be installed or loaded: $(tail -n 2 "$tmp/install.log" "$tmp/require.log" | tr '\n' ' ' | head -c 300)"
  exit 0
fi

IDS=$("$PY" -c 'import json; print(",".join(map(str, json.load(open("'$TINY'/expected.json"))["ids"])))')
# a longer sequence (60 of the 64 positions: four KV blocks), deterministic
LONG=$("$PY" -c 'print(",".join(str((i * 97 + 13) % 297) for i in range(60)))')

fails=0
# name, file, ids, extra ort_logprobs.js options
compare() {
  local name=$1 file=$2 ids=$3; shift 3
  if ! node tests/node/ort_logprobs.js "$TINY/$file" "$ids" "$@" > "$tmp/ort.json" 2> "$tmp/err"; then
    echo "FAIL: $name: ort_logprobs.js failed: $(head -c 300 "$tmp/err")"; fails=$((fails + 1)); return
  fi
  if ! "$AC" topk --model "$TINY/$file" --ids "$ids" --all-positions --json --full > "$tmp/c.json" 2> "$tmp/err"; then
    echo "FAIL: $name: autocorrect topk failed: $(head -c 300 "$tmp/err")"; fails=$((fails + 1)); return
  fi
  local msg
  if msg=$("$PY" - "$tmp/ort.json" "$tmp/c.json" "$TOL" <<'PYEOF'
import json, sys
o = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2])); tol = float(sys.argv[3])
assert len(o["logprobs"]) == len(c["logprobs"]), "rows %d vs %d" % (len(o["logprobs"]), len(c["logprobs"]))
d = max(abs(x - y) for r1, r2 in zip(o["logprobs"], c["logprobs"]) for x, y in zip(r1, r2))
print("max |C - ORT| = %.2g over %d positions" % (d, len(c["logprobs"])))
sys.exit(0 if d <= tol else 1)
PYEOF
  ); then echo "PASS: $name ($msg)"; else echo "FAIL: $name: $msg (tolerance $TOL)"; fails=$((fails + 1)); fi
}

compare ort_model_onnx model.onnx "$IDS"
compare ort_model_onnx_long model.onnx "$LONG"
compare ort_model_op13 model_op13.onnx "$IDS"
compare ort_model_fp16 model_fp16.onnx "$IDS"
# ORT's default optimizations fuse DequantizeLinear into integer kernels that also quantize the
# activations (docs/model-format.md); at "basic" it computes the file's exact math
compare ort_model_int8_basic model_int8.onnx "$IDS" --opt basic
compare ort_model_erf model_erf.onnx "$IDS"
compare ort_model_past_split model_past.onnx "$LONG" --split 37

[ $fails = 0 ]
