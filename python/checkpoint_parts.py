"""Cut a model checkpoint into float16 parts of bounded size, and join them back.

This is: a way to carry trained weights through a channel that limits the size of each file
(the GPU machine this project is sometimes lent returns files of at most 16 MiB: a 10M-parameter
float32 checkpoint is 40 MB). The parts hold the weights only, in float16, plus the model's config;
joining writes our checkpoint format (python/model.py's save_checkpoint), float32, which
export_model.py, eval_lm.py and train.py --init read.
This is not: a resumable training state (the optimizer is dropped) nor a lossless copy (float16
keeps 11 significant bits; the shipped model is int8 and float16 anyway).

    /usr/bin/python3 python/checkpoint_parts.py split data/train/gpu/best.pt OUTDIR --max-mib 15
    /usr/bin/python3 python/checkpoint_parts.py join OUTDIR data/train/gpu/best.pt
"""

import argparse
import glob
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2Config, load_model, model_from_state_dict, save_checkpoint, trained_positions  # noqa: E402

PART_FORMAT = "autocorrect-gpt2-part"
PART_NAME = "part-%02d-of-%02d.pt"


def split_checkpoint(checkpoint, out_dir, max_bytes):
    """Writes the model of `checkpoint` (anything load_model reads) as float16 parts of at most
    about max_bytes of tensor data each into out_dir; returns the part paths. A single tensor larger
    than max_bytes gets a part of its own (and is over the limit: ValueError)."""
    model = load_model(checkpoint)
    trained = trained_positions(checkpoint)
    sd = {k: v.detach().to(torch.float16).contiguous() for k, v in model.export_state_dict().items()}
    groups, current, size = [], {}, 0
    for name, t in sd.items():
        nbytes = t.numel() * t.element_size()
        if nbytes > max_bytes:
            raise ValueError("%s: tensor %s is %d bytes, over the part size %d" % (checkpoint, name, nbytes, max_bytes))
        if current and size + nbytes > max_bytes:
            groups.append(current)
            current, size = {}, 0
        current[name] = t
        size += nbytes
    if current:
        groups.append(current)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i, tensors in enumerate(groups):
        path = os.path.join(out_dir, PART_NAME % (i + 1, len(groups)))
        torch.save({"format": PART_FORMAT, "index": i, "count": len(groups),
                    "config": model.config.to_dict(), "trained_positions": trained, "tensors": tensors}, path)
        paths.append(path)
    return paths


def join_parts(part_dir):
    """(model, trained_positions): the model (float32, eval mode) whose parts split_checkpoint
    wrote into part_dir, and the positions it was trained on (None when the parts do not say).
    Raises ValueError when a part is missing, repeated, from another split, or not a part at all."""
    paths = sorted(glob.glob(os.path.join(part_dir, "part-*-of-*.pt")))
    if not paths:
        raise ValueError("%s: no part-NN-of-NN.pt files" % part_dir)
    parts = []
    for p in paths:
        d = torch.load(p, map_location="cpu")
        if not isinstance(d, dict) or d.get("format") != PART_FORMAT:
            raise ValueError("%s: not a checkpoint part" % p)
        parts.append(d)
    count = parts[0]["count"]
    indices = sorted(d["index"] for d in parts)
    if indices != list(range(count)) or any(d["count"] != count or d["config"] != parts[0]["config"]
                                            for d in parts):
        raise ValueError("%s: parts %s do not make one whole of %d (mixed or missing parts)"
                         % (part_dir, indices, count))
    sd = {}
    for d in parts:
        sd.update({k: v.to(torch.float32) for k, v in d["tensors"].items()})
    return (model_from_state_dict(sd, GPT2Config.from_dict(parts[0]["config"])),
            parts[0].get("trained_positions"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split", help="checkpoint -> float16 parts")
    s.add_argument("checkpoint")
    s.add_argument("out_dir")
    s.add_argument("--max-mib", type=float, default=15.0, help="tensor data per part (MiB)")
    j = sub.add_parser("join", help="parts -> our float32 checkpoint")
    j.add_argument("part_dir")
    j.add_argument("out")
    a = p.parse_args(argv)
    try:
        if a.cmd == "split":
            for path in split_checkpoint(a.checkpoint, a.out_dir, int(a.max_mib * 1024 * 1024)):
                print("%s  %.1f MiB" % (path, os.path.getsize(path) / 2 ** 20))
        else:
            model, trained = join_parts(a.part_dir)
            save_checkpoint(model, a.out, extra={"trained_positions": trained} if trained else None)
            print(a.out)
    except (OSError, ValueError) as e:
        print("checkpoint_parts: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
