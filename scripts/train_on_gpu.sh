#!/usr/bin/env bash
# The GPU recipe: on a machine with one CUDA GPU and PyTorch 2.x, checks the CUDA path
# (tests/python/test_cuda.py, then the CPU suites under that PyTorch) and trains the GPU default
# model from the token files, within a time budget; the weights come back as float16 parts of at
# most 15 MiB (python/checkpoint_parts.py), because the lent GPU machine returns files of at most
# 16 MiB. Join them here with `python/checkpoint_parts.py join`, then export (docs/training.md).
#
#   scripts/train_on_gpu.sh TOKENS_DIR OUT_DIR            (TOKENS_DIR: train.bin or train.bin.xz,
#                                                          valid.bin, meta.json)
# Environment: TRAIN_MINUTES (default 8) bounds the training; PYTHON (default python3); CARD (default
# scripts/gpu_card.sh) is the card to train; GPU_CHECKS=beside runs the CUDA checks beside the
# training instead of before it (training starts at once, without torch.compile, which the checks
# gate), GPU_CHECKS=none skips them (compile then only with --compile in TRAIN_EXTRA: for a lease
# whose PyTorch passed them before); DEVICE (default cuda) and TRAIN_EXTRA (arguments appended to
# train.py's, which override the card's: --init CHECKPOINT continues a model) make a dry run on a
# CPU possible: DEVICE=cpu TRAIN_EXTRA="--batch-size 4" TRAIN_MINUTES=0.5.
# OUT_DIR receives tests.log, train.log, log.jsonl, loss.png and part-NN-of-NN.pt, refreshed
# while it trains, so whatever was best so far is there even if the machine is taken back.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TOKENS=$1
OUT=$2
RUN=${RUN_DIR:-/tmp/gpu_run}
DATA=$RUN.tokens
CARD=${CARD:-scripts/gpu_card.sh}
CHECKS=${GPU_CHECKS:-before}
case $CHECKS in before|beside|none) ;; *) echo "train_on_gpu.sh: GPU_CHECKS is before, beside or none, not '$CHECKS'" >&2; exit 2 ;; esac

. "$CARD" || exit 1   # GPU_MODEL_ARGS, GPU_OPT_ARGS: the model's card

mkdir -p "$OUT" "$DATA" "$RUN"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PYTHON -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"; } 2>&1 | tee "$OUT/tests.log"
for f in meta.json valid.bin train.bin; do
    if [ -f "$TOKENS/$f" ]; then cp "$TOKENS/$f" "$DATA/"; fi
done
if [ -f "$TOKENS/train.bin.xz" ]; then
    $PYTHON -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'), 1<<22)" \
        "$TOKENS/train.bin.xz" "$DATA/train.bin" || exit 1
fi

# 1. The CUDA checks first: they say whether torch.compile works here (beside: no compile).
COMPILE=()
if [ "$CHECKS" = before ]; then
    timeout 150 $PYTHON tests/python/test_cuda.py 2>&1 | tee -a "$OUT/tests.log"
    grep -q "^PASS: train_cuda_bf16_compile" "$OUT/tests.log" && COMPILE=(--compile)
fi
echo "card $CARD: ${GPU_MODEL_ARGS[*]} ${GPU_OPT_ARGS[*]} ${TRAIN_EXTRA:-}" >>"$OUT/tests.log"

# 2. Training in the background; the CPU suites under this PyTorch beside it (other cores).
# torch.compile fails at the first step when it fails: then the time left trains without it.
train() {  # MINUTES COMPILE_ARGS... ; appends to train.log
    local minutes=$1; shift
    $PYTHON python/train.py --data "$DATA" --out "$RUN" --device "${DEVICE:-cuda}" --dtype auto "$@" \
        "${GPU_MODEL_ARGS[@]}" "${GPU_OPT_ARGS[@]}" --max-time "$minutes" --quiet ${EXTRA} >>"$OUT/train.log" 2>&1
}
EXTRA=${TRAIN_EXTRA:-}
: >"$OUT/train.log"
(
    t0=$(date +%s)
    train "${TRAIN_MINUTES:-8}" "${COMPILE[@]}"; rc=$?
    if [ $rc -ne 0 ] && [ ! -f "$RUN/best.pt" ] && [[ " ${COMPILE[*]} $EXTRA " == *" --compile "* ]]; then
        left=$(awk -v m="${TRAIN_MINUTES:-8}" -v s=$(( $(date +%s) - t0 )) 'BEGIN {printf "%.2f", m - s / 60}')
        echo "train_on_gpu: the run with --compile failed (exit $rc); $left minutes without it" >>"$OUT/train.log"
        EXTRA=${EXTRA//--compile/}
        train "$left"; rc=$?
    fi
    exit $rc
) &
TRAIN_PID=$!
if [ "$CHECKS" = beside ]; then
    echo "== test_cuda (beside the training)" >>"$OUT/tests.log"
    timeout 200 $PYTHON tests/python/test_cuda.py >>"$OUT/tests.log" 2>&1
fi
for t in test_model test_grow test_export test_train; do
    echo "== $t" >>"$OUT/tests.log"
    OMP_NUM_THREADS=2 timeout 300 nice $PYTHON tests/python/$t.py >>"$OUT/tests.log" 2>&1
    echo "== $t exit $?" >>"$OUT/tests.log"
done

# 3. While it trains, and once at the end: the best weights so far as parts, the log and curve.
export_best() {
    [ -f "$RUN/best.pt" ] || return 0
    rm -rf "$RUN/parts.new" && $PYTHON python/checkpoint_parts.py split "$RUN/best.pt" "$RUN/parts.new" --max-mib 15 >/dev/null &&
        rm -f "$OUT"/part-*.pt && cp "$RUN"/parts.new/part-*.pt "$OUT/"
    cp "$RUN/log.jsonl" "$OUT/" 2>/dev/null
    cp "$RUN/loss.png" "$OUT/" 2>/dev/null
}
while kill -0 $TRAIN_PID 2>/dev/null; do
    for _ in $(seq 45); do kill -0 $TRAIN_PID 2>/dev/null && sleep 1; done
    export_best
done
wait $TRAIN_PID
echo "train exit $?" >>"$OUT/train.log"
export_best
ls -la "$OUT"
tail -5 "$OUT/train.log"
