# The deep default model's card (sourced by scripts/train_on_gpu.sh; scripts/gpu_lease.sh picks
# it with GROW_LAYERS): stage 2's weights (scripts/gpu_card_next.sh) made 12 blocks deep by
# python/grow_model.py (each trained block followed by a copy of itself whose output projections
# are zero, so training starts at stage 2's loss), then trained on the corpus with the mail,
# windows of 256, at a learning rate below stage 2's (the trained blocks are already in a good
# place; the new ones start from copies). The shape comes from the --init checkpoint, dropout too.
# 12 x d320 is 17.5M parameters; a keystroke (bench_complete, 5 beams x 4 tokens, int8, 2 threads,
# random weights of the shape) took 4.6 ms p50 / 6.0 ms p99 here against 2.1 / 2.6 for 6 blocks.
# Session 6 (one H100, --compile, TRAIN_MINUTES=8.8): 639M tokens at 1.3M tokens/s; the training
# loss fell to 2.75 while the validation loss rose from 3.5507 (first evaluation) to 3.576: the
# corpus is learnt by heart. With dropout 0.25 and lr 2e-4 (2.4 minutes) it matched stage 2 (3.5229)
# and no more. Not shipped: docs/training.md, section 2.
GPU_MODEL_ARGS=(--block-size 256)
GPU_OPT_ARGS=(--batch-size 256 --lr 6e-4 --min-lr 3e-5 --warmup-steps 300
              --eval-interval 250 --eval-tokens 0 --save-interval-s 60)
