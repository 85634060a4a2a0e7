#!/usr/bin/env bash
# `make model`: rebuilds the shipped default model (models/default/) from scratch:
#   corpus -> tokenizer (C trainer) -> token files -> train.py -> int8 ONNX export -> dictionary.
# Every step is idempotent or resumable: run it again after an interruption and it goes on
# (training resumes from data/train/default/ckpt.pt). The settings below are the default model's
# card; change them here, not on the command line, so the card and the model agree.
#
# Environment: TRAIN_MINUTES (default 115 for stage 1, 135 for stage 2) bounds each stage's time;
# TRAIN_THREADS (default 1: the machine is usually shared, and on 2 cores with other load one
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
mkdir -p $OUT
# int8 ONNX for the engine, and float16 safetensors beside it for `autocorrect adapt` to fine-tune from
$PYTHON python/export_model.py --checkpoint $RUN2/best.pt --out $OUT --int8 --safetensors-fp16 --tokenizer $TOK
make dictionary
cp $RUN2/loss.png docs/loss.png 2>/dev/null || true
echo "make_model: wrote $OUT ($(du -sh $OUT | cut -f1))"
