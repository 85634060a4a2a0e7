#!/usr/bin/env bash
# One lease of a GPU machine, as one command (session 5 ran it so): trains a card with
# scripts/train_on_gpu.sh (the CUDA checks and the CPU suites beside it), starting from carried
# weights when there are any; meanwhile checks that the C engine reads this PyTorch's export of
# those weights; afterwards, with the GPU work done, measures the engine's roofline at 1 to 16
# threads on the machine's CPU (issue 9's scaling).
#
#   scripts/gpu_lease.sh OUT CARRY_DIR TOKENS_DIR
#
# CARRY_DIR: from scripts/gpu_lease_prepare.sh (programs, libraries, parts/ when a model is to be
# continued). TOKENS_DIR: train.bin.xz (or train.bin), valid.bin, meta.json. OUT receives
# device.log and run/ (train_on_gpu.sh's files: the weights as parts of at most 15 MiB): 7 files.
# Environment: CARD (default scripts/gpu_card_next.sh when parts were carried, else
# scripts/gpu_card.sh), TRAIN_MINUTES (6), ROOF_MODELS ("gpt2-124m d320x6"), ROOF_THREADS
# ("1 2 4 8 16"; empty: no roofline), ROOF_TIMEOUT (150 s), PYTHON (python3), DEVICE (cuda).
# Measured in session 5 on one H100: 6 minutes of training, then the roofline in 45 s; 441 s in
# all. A dry run on a CPU: DEVICE=cpu PYTHON=/usr/bin/python3 TRAIN_MINUTES=0.3
# TRAIN_EXTRA="--batch-size 2 --threads 1" ROOF_MODELS=d256x4 ROOF_THREADS="1 2".
set -u
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/gpu_lease.sh OUT CARRY_DIR TOKENS_DIR}
CARRY=${2:?usage: scripts/gpu_lease.sh OUT CARRY_DIR TOKENS_DIR}
TOKENS=${3:?usage: scripts/gpu_lease.sh OUT CARRY_DIR TOKENS_DIR}
PY=${PYTHON:-python3}
ROOF_MODELS=${ROOF_MODELS-gpt2-124m d320x6}
ROOF_THREADS=${ROOF_THREADS-1 2 4 8 16}
export PYTHONUNBUFFERED=1 LD_LIBRARY_PATH=$PWD/$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$OUT"
log=$OUT/device.log
{ date; echo "cpus: $(nproc)"; grep -m1 "model name" /proc/cpuinfo; grep -o -m1 "avx512_vnni" /proc/cpuinfo
  free -g | head -2; } >>"$log" 2>&1

init=()
card=scripts/gpu_card.sh
if [ -d "$CARRY/parts" ]; then
    $PY python/checkpoint_parts.py join "$CARRY/parts" /tmp/lease_init.pt >>"$log" 2>&1 ||
        { echo "gpu_lease: joining $CARRY/parts failed" >>"$log"; exit 1; }
    init=(--init /tmp/lease_init.pt)
    card=scripts/gpu_card_next.sh
    if [ -n "${GROW_LAYERS:-}" ]; then
        $PY python/grow_model.py --checkpoint /tmp/lease_init.pt --n-layer "$GROW_LAYERS" \
            --out /tmp/lease_grown.pt >>"$log" 2>&1 || { echo "gpu_lease: grow_model failed" >>"$log"; exit 1; }
        init=(--init /tmp/lease_grown.pt)
        card=scripts/gpu_card_deep.sh
    fi
fi
fused=$($PY tests/python/test_model.py 2>&1 | grep "fused_attention")
echo "${fused:-fused_attention: no result}" >>"$log"
case $fused in PASS*|SKIP*) ;; *) export AC_PLAIN_ATTENTION=1; echo "gpu_lease: training with plain attention" >>"$log" ;; esac
GPU_CHECKS=${GPU_CHECKS:-beside} CARD=${CARD:-$card} TRAIN_MINUTES=${TRAIN_MINUTES:-6} \
    TRAIN_EXTRA="${init[*]} ${TRAIN_EXTRA:-}" PYTHON=$PY DEVICE=${DEVICE:-cuda} RUN_DIR=/tmp/lease_run \
    scripts/train_on_gpu.sh "$TOKENS" "$OUT/run" >>"$log" 2>&1 &
train=$!

# Beside the training, on the CPU: the carried weights exported by this PyTorch and read by the C
# engine (their perplexity, float32 and int8, to compare with an export made here), and the
# random models the roofline runs.
(
    if [ ${#init[@]} -gt 0 ]; then
        echo "== this PyTorch's export of the carried weights, read by the engine"
        $PY python/export_model.py --checkpoint /tmp/lease_init.pt --out /tmp/lease_export &&
            "$CARRY/build/bench/bench_engine" --model /tmp/lease_export/model.onnx \
                --perplexity "$TOKENS/valid.bin" --tokens 20000 --threads 4
        echo "== export check exit $?"
    fi
    if [ -n "$ROOF_THREADS" ]; then
        mkdir -p "$CARRY/build/bench-models"
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=4 nice $PY bench/make_models.py --out "$CARRY/build/bench-models" $ROOF_MODELS >/dev/null
        echo "== make_models exit $?"
    fi
) >>"$log" 2>&1
wait $train
echo "== training done $(date)" >>"$log"
if [ -n "$ROOF_THREADS" ]; then
    BENCH_ORT=0 BUILD=$CARRY/build PYTHON=$PY ROOFLINE_MODELS="$ROOF_MODELS" ROOFLINE_THREADS="$ROOF_THREADS" \
        timeout "${ROOF_TIMEOUT:-150}" bench/bench_roofline.sh >>"$log" 2>&1
    echo "== roofline exit $? $(date)" >>"$log"
fi
