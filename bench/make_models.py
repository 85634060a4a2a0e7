#!/usr/bin/python3
"""Makes the random GPT-2 models the engine benchmark runs (bench/bench_engine.sh).

This is: for each shape below, a GPT-2 with GPT-2's random initialisation (python/model.py),
saved as an HF directory (config.json + model.safetensors) and exported with
python/export_model.py to model.onnx (no cache) and model_past.onnx (past_key_values), in
build/bench-models/NAME/. A model already there is kept (they take minutes to export).
This is not: a trained model (speed does not depend on the values), nor a test fixture.

    /usr/bin/python3 bench/make_models.py [--out build/bench-models] [NAME ...]
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import torch  # noqa: E402

from model import GPT2Config, GPT2LMHeadModel, save_hf_dir  # noqa: E402

# name: hyperparameters (head_dim 64, as GPT-2, except d256x4: the CPU-trained model's shape)
SHAPES = {
    "d320x6": dict(vocab_size=8192, n_positions=256, n_embd=320, n_layer=6, n_head=5),  # the default model's
    "d320x9": dict(vocab_size=8192, n_positions=256, n_embd=320, n_layer=9, n_head=5),   # the default grown
    "d320x12": dict(vocab_size=8192, n_positions=256, n_embd=320, n_layer=12, n_head=5), # in depth (grow_model.py)
    "d256x4": dict(vocab_size=8192, n_positions=256, n_embd=256, n_layer=4, n_head=8),  # the CPU recipe's
    "d256x6": dict(vocab_size=8192, n_positions=1024, n_embd=256, n_layer=6, n_head=4),
    "d384x8": dict(vocab_size=8192, n_positions=256, n_embd=384, n_layer=8, n_head=6),   # candidates for the
    "d448x8": dict(vocab_size=8192, n_positions=256, n_embd=448, n_layer=8, n_head=7),   # next default model
    "d512x8": dict(vocab_size=8192, n_positions=1024, n_embd=512, n_layer=8, n_head=8),
    "gpt2-124m": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12),
}


def make(name, out_root):
    out = os.path.join(out_root, name)
    done = all(os.path.exists(os.path.join(out, f))
               for f in ("config.json", "model.safetensors", "model.onnx", "model_past.onnx"))
    if done:
        print("make_models: %s is there" % out)
        return
    torch.manual_seed(1234)
    model = GPT2LMHeadModel(GPT2Config(**SHAPES[name])).eval()
    save_hf_dir(model, out)
    exporter = os.path.join(HERE, "..", "python", "export_model.py")
    for extra, fname in (([], "model.onnx"), (["--past"], "model_past.onnx")):
        subprocess.check_call([sys.executable, exporter, "--checkpoint", out, "--out", out, "--name", fname]
                              + extra)
    print("make_models: wrote %s" % out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "build", "bench-models"))
    ap.add_argument("names", nargs="*", help="shapes to make (default: all): %s" % ", ".join(SHAPES))
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in a.names or list(SHAPES):
        if name not in SHAPES:
            print("make_models: unknown shape %s (one of %s)" % (name, ", ".join(SHAPES)), file=sys.stderr)
            return 2
        make(name, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
