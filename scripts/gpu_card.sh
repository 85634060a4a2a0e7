# The default model's card when trained on a GPU (sourced by scripts/train_on_gpu.sh and
# scripts/make_model.sh; bash arrays of train.py arguments). The shipped model (session 3) is this
# card, trained on one H100 in 6.6 minutes (bf16 autocast, about 800k tokens/s without
# torch.compile).
#
# 6 layers of d320 (10.1M parameters): int8 ONNX 10.6 MB + dictionary and tokenizer 1.8 MB stays
# under models/default's 40 MB (a float16 copy for adapt was shipped too until session 4), and a
# keystroke (5 beams x 4 tokens) stays in single-digit milliseconds on 2 cores. The 19.9M-token corpus is seen 16 times
# (320M tokens), hence dropout.
GPU_MODEL_ARGS=(--n-layer 6 --n-embd 320 --n-head 5 --block-size 128 --n-positions 256 --dropout 0.1)
GPU_OPT_ARGS=(--batch-size 512 --lr 2e-3 --min-lr 1e-4 --warmup-steps 300 --max-tokens 320000000
              --eval-interval 250 --eval-tokens 0 --save-interval-s 60)
