"""Make a trained model deeper without changing what it computes, to train it on as a larger one.

This is: new transformer blocks inserted between the trained ones, each a copy of the block
before it with its two output projections (attention's c_proj, the MLP's c_proj) set to zero,
so the new block adds nothing to the residual stream and the deeper model gives the same logits
as the trained one. Training then starts from the trained model's loss instead of a random
model's, and the new blocks learn from there. The new blocks are spread evenly (6 -> 12: one
after each trained block; 6 -> 9: one after every second).
This is not: a wider model (a width change under LayerNorm does not keep the function this
simply), nor training: train it on with `train.py --init OUT`.

    /usr/bin/python3 python/grow_model.py --checkpoint data/train/gpu_next/best.pt --n-layer 12 --out grown.pt

The output is our checkpoint format (model.py's save_checkpoint), float32, recording the positions
the input was trained on (as train.py --init counts them), so training it on keeps them.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2Config, load_model, model_from_state_dict, save_checkpoint  # noqa: E402
from train import init_trained_positions  # noqa: E402

BLOCK = "transformer.h.%d."
# The block's parameters whose zeroing makes it the identity: what it adds to the residual
# stream is attn.c_proj(...) + mlp.c_proj(...), weights and biases.
OUTPUT_PROJECTIONS = ("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")


def new_blocks_after(old_layers, new_layers):
    """For each trained block, how many new blocks follow it: the extra ones spread evenly,
    the last trained block always followed by one when there are any (so the top is refined)."""
    extra = new_layers - old_layers
    return [((i + 1) * extra) // old_layers - (i * extra) // old_layers for i in range(old_layers)]


def grow_depth(model, n_layer):
    """A new float32 model with n_layer blocks (>= the model's) computing the same function."""
    cfg = model.config
    if n_layer < cfg.n_layer:
        raise ValueError("--n-layer %d is fewer than the model's %d blocks" % (n_layer, cfg.n_layer))
    sd = dict(model.export_state_dict())
    grown = {k: v for k, v in sd.items() if not k.startswith("transformer.h.")}
    target = 0
    for source, copies in enumerate(new_blocks_after(cfg.n_layer, n_layer)):
        prefix = BLOCK % source
        block = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        for copy in range(1 + copies):
            for name, value in block.items():
                value = value.clone()
                if copy > 0 and name in OUTPUT_PROJECTIONS:
                    value.zero_()
                grown[BLOCK % target + name] = value
            target += 1
    return model_from_state_dict(grown, GPT2Config.from_dict(dict(cfg.to_dict(), n_layer=n_layer)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="the trained model (anything load_model reads)")
    p.add_argument("--n-layer", type=int, required=True, help="blocks of the deeper model")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    a = p.parse_args(argv)
    try:
        model = load_model(a.checkpoint)
        grown = grow_depth(model, a.n_layer)
    except (OSError, ValueError) as e:
        raise SystemExit("grow_model: %s" % e)
    # the positions the input was trained on, as train.py --init counts them (an export: all)
    positions = init_trained_positions(a.checkpoint, model.config.n_positions)
    save_checkpoint(grown, a.out, extra={"trained_positions": positions} if positions else None)
    print("grow_model: %d -> %d blocks, %.1fM -> %.1fM parameters, %s"
          % (model.config.n_layer, a.n_layer, sum(t.numel() for t in model.parameters()) / 1e6,
             sum(t.numel() for t in grown.parameters()) / 1e6, a.out))


if __name__ == "__main__":
    main()
