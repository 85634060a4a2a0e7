# bench/lib.sh: what the engine reports (bench_engine.sh, bench_roofline.sh) share: the random
# GPT-2 models they run (bench/make_models.py, made once into $BUILD/bench-models/, not committed),
# onnxruntime-node for the ORT columns, and how many repetitions a model gets.
# Sourced by bash from the repository root, after BUILD and PY are set; not a report of its own.

# bench_models_make WHO MODEL...: makes each MODEL that $BUILD/bench-models/MODEL lacks (a few
# minutes for gpt2-124m, seconds for the small ones). Returns 1 when make_models.py fails.
bench_models_make() {
  local who=$1 m
  shift
  for m in "$@"; do
    [ -f "$BUILD/bench-models/$m/model_past.onnx" ] && continue
    echo "$who: making $m (once; a few minutes for gpt2-124m)"
    OMP_NUM_THREADS=1 nice "$PY" bench/make_models.py --out "$BUILD/bench-models" "$m" > /dev/null || return 1
  done
}

# bench_ort_ready WHO: installs onnxruntime-node into tests/node (tests/node/install.sh, once) and
# returns 0 when node can load it; otherwise says so (the ORT columns stay empty) and returns 1.
# BENCH_ORT=0 skips it (a machine without node or a network, where npm would only wait).
bench_ort_ready() {
  if [ "${BENCH_ORT:-1}" = 0 ]; then
    echo "$1: BENCH_ORT=0: ORT columns left empty"
    return 1
  fi
  sh tests/node/install.sh > /dev/null 2>&1
  (cd tests/node && node -e 'require("onnxruntime-node")') > /dev/null 2>&1 && return 0
  echo "$1: onnxruntime-node is not available: ORT columns left empty"
  return 1
}

# bench_reps MODEL: the repetitions a timing of MODEL gets (fewer for the big one).
bench_reps() {
  if [ "$1" = gpt2-124m ]; then echo 3; else echo 5; fi
}
