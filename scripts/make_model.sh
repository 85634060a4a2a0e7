#!/usr/bin/env bash
# `make model`: rebuilds the default model (models/default/) from scratch:
#   corpus -> tokenizer (C trainer) -> token files -> train.py -> int8 ONNX export -> dictionary.
# Every step is idempotent or resumable: run it again after an interruption and it goes on
# (training resumes from its run directory's ckpt.pt).
#
# Two recipes. With a CUDA GPU (or RECIPE=gpu): the shipped model's two stages, scripts/gpu_card.sh's
# card (6 layers of d320, 320M tokens at 128-token windows; 7 minutes on an H100) in data/train/gpu,
# then scripts/gpu_card_next.sh's (the same weights trained on at 256-token windows, 249M tokens;
# 6 minutes) in data/train/gpu_next. (The shipped stage 1 ran before the corpus had its mail
# source; here both stages read today's corpus.) Without one (or
# RECIPE=cpu): the smaller CPU model below (4 layers of d256, two stages, about 3.5 hours on one
# core), which was the default until a GPU trained the present one; the GPU card on a CPU would take
# days. Change the settings in the cards, not on the command line, so the cards and models agree.
#
# Environment: RECIPE (auto, gpu or cpu); TRAIN_MINUTES bounds each training run's time (CPU
# default 115 for stage 1, 135 for stage 2; GPU: none, the card's token budget ends it);
# TRAIN_THREADS (CPU, default 1: the machine is usually shared, and on 2 cores with other load one
# OpenMP thread beats two); DEVICE (auto: CUDA when present).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
AC=build/bin/autocorrect

VOCAB_SIZE=8192          # measured: 3.81 bytes/token on valid (4096: 3.44, 16384: 4.11)
N_LAYER=4
N_EMBD=256
N_HEAD=8
BLOCK_SIZE=128
N_POSITIONS=256
BATCH_SIZE=16
MAX_STEPS=3600           # stage 1: 3600 x 2048 = 7.4M tokens (float32, 80 min on one core here)
LR=1e-3
MIN_LR=1e-4
# Stage 2 goes on from stage 1's best checkpoint with a new warm-up and cosine decay: the recipe
# grew this way (the first session's CPU time ended after stage 1). bf16 autocast where the CPU has
# it (train.py --dtype auto): 13000 x 2048 = 26.6M more tokens, about 95 minutes on one core here.
STAGE2_STEPS=13000
STAGE2_LR=8e-4
STAGE2_MIN_LR=5e-5

TOK=data/tok/v$VOCAB_SIZE
RUN=data/train/default
RUN2=data/train/stage2
OUT=models/default

make all
$PYTHON python/corpus/build_corpus.py --out data/corpus
[ -f $TOK/vocab.json ] || $AC tokenizer-train --vocab-size $VOCAB_SIZE --out $TOK data/corpus/train.txt
$PYTHON python/prepare_data.py --corpus data/corpus --tokenizer $TOK --out data/tokens
RECIPE=${RECIPE:-auto}
if [ "$RECIPE" = auto ]; then
    RECIPE=$($PYTHON -c "import torch; print('gpu' if torch.cuda.is_available() else 'cpu')")
fi
if [ "$RECIPE" = gpu ]; then
    . scripts/gpu_card.sh
    RUN_GPU=data/train/gpu
    $PYTHON python/train.py --data data/tokens --out $RUN_GPU --resume --device "${DEVICE:-cuda}" \
        "${GPU_MODEL_ARGS[@]}" "${GPU_OPT_ARGS[@]}" ${TRAIN_MINUTES:+--max-time $TRAIN_MINUTES}
    . scripts/gpu_card_next.sh
    RUN_GPU2=data/train/gpu_next
    $PYTHON python/train.py --data data/tokens --out $RUN_GPU2 --resume --init $RUN_GPU/best.pt \
        --device "${DEVICE:-cuda}" "${GPU_MODEL_ARGS[@]}" "${GPU_OPT_ARGS[@]}" \
        ${TRAIN_MINUTES:+--max-time $TRAIN_MINUTES}
    BEST=$RUN_GPU2/best.pt
    for ((i = 0; i < ${#GPU_MODEL_ARGS[@]} - 1; i++)); do
        [ "${GPU_MODEL_ARGS[i]}" = --block-size ] && BLOCK_SIZE=${GPU_MODEL_ARGS[i + 1]}
    done
else
    $PYTHON python/train.py --data data/tokens --out $RUN --resume \
        --n-layer $N_LAYER --n-embd $N_EMBD --n-head $N_HEAD --block-size $BLOCK_SIZE \
        --n-positions $N_POSITIONS --batch-size $BATCH_SIZE --lr $LR --min-lr $MIN_LR \
        --warmup-steps 200 --max-steps $MAX_STEPS --max-time "${TRAIN_MINUTES:-115}" \
        --threads "${TRAIN_THREADS:-1}" --device "${DEVICE:-auto}" --dtype f32 --eval-interval 250 --eval-tokens 32768
    $PYTHON python/train.py --data data/tokens --out $RUN2 --resume --init $RUN/best.pt \
        --n-layer $N_LAYER --n-embd $N_EMBD --n-head $N_HEAD --block-size $BLOCK_SIZE \
        --n-positions $N_POSITIONS --batch-size $BATCH_SIZE --lr $STAGE2_LR --min-lr $STAGE2_MIN_LR \
        --warmup-steps 200 --max-steps $STAGE2_STEPS --max-time "${TRAIN_MINUTES:-135}" \
        --threads "${TRAIN_THREADS:-1}" --device "${DEVICE:-auto}" --eval-interval 500 --eval-tokens 32768
    BEST=$RUN2/best.pt
fi
mkdir -p $OUT
# int8 ONNX for the engine (adapt fine-tunes from it dequantized; no float copy, so that a larger
# model fits models/default's 40 MB). Only the positions trained on (--block-size) are kept: the rows after them in a model made with
# more n_positions were never trained (checkpoints from before session 4 do not record it).
$PYTHON python/export_model.py --checkpoint $BEST --out $OUT --int8 --tokenizer $TOK \
    --positions $BLOCK_SIZE
make dictionary
cp "$(dirname $BEST)/loss.png" docs/loss.png 2>/dev/null || true
echo "make_model: wrote $OUT ($(du -sh $OUT | cut -f1))"
