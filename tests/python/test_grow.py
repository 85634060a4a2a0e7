"""Tests for python/grow_model.py: the deeper model computes the same logits, its new blocks are
the identity yet train, the new blocks are spread as documented, and the command line keeps the
trained positions and refuses a shallower model. PASS/FAIL/SKIP lines; exit 1 on any FAIL."""
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)

from grow_model import grow_depth, new_blocks_after  # noqa: E402
from model import load_model, save_checkpoint, save_hf_dir, trained_positions  # noqa: E402
from test_model import small_model  # noqa: E402 (random weights everywhere, biases included)
import testlib  # noqa: E402
from testlib import check  # noqa: E402

GROW = os.path.join(ROOT, "python", "grow_model.py")
torch.set_num_threads(1)


def ids():
    return torch.randint(0, 61, (3, 20), generator=torch.Generator().manual_seed(1))


def same_logits():
    model = small_model(n_layer=3)
    worst = 0.0
    for n in (3, 4, 6, 7):
        grown = grow_depth(model, n).eval()
        if grown.config.n_layer != n:
            return False, "asked %d blocks, got %d" % (n, grown.config.n_layer)
        with torch.no_grad():
            worst = max(worst, (grown(ids()) - model(ids())).abs().max().item())
    return worst < 1e-5, "max |logit difference| %.3g" % worst


def new_blocks_train():
    """The zeroed projections get a gradient at once, and after a step the grown model differs
    from the trained one (the new blocks are not stuck at the identity)."""
    model = small_model(n_layer=2)
    grown = grow_depth(model, 4).train()
    x = ids()
    loss = torch.nn.functional.cross_entropy(grown(x[:, :-1]).reshape(-1, 61), x[:, 1:].reshape(-1))
    loss.backward()
    new = grown.transformer.h[1]  # the copy inserted after trained block 0
    if new.attn.c_proj.weight.abs().max().item() != 0.0:
        return False, "the new block's attention output projection is not zero"
    g = new.mlp.c_proj.weight.grad
    return g is not None and g.abs().max().item() > 0, "gradient of the new MLP projection: %s" % (
        None if g is None else g.abs().max().item())


def spread():
    cases = {(6, 12): [1] * 6, (6, 9): [0, 1, 0, 1, 0, 1], (6, 6): [0] * 6, (3, 4): [0, 0, 1],
             (2, 7): [2, 3]}
    bad = {k: new_blocks_after(*k) for k, want in cases.items() if new_blocks_after(*k) != want}
    return not bad, "got %s" % bad


def command_line():
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "src.pt"), os.path.join(d, "grown.pt")
        save_checkpoint(small_model(n_layer=2), src, extra={"trained_positions": 16})
        r = subprocess.run([sys.executable, GROW, "--checkpoint", src, "--n-layer", "3", "--out", out],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            return False, "exit %d: %s" % (r.returncode, r.stderr)
        if load_model(out).config.n_layer != 3 or trained_positions(out) != 16:
            return False, "n_layer %d, trained_positions %s" % (load_model(out).config.n_layer,
                                                               trained_positions(out))
        # an HF directory was trained on all its positions (train.py --init counts it so)
        hf = os.path.join(d, "hf")
        save_hf_dir(small_model(n_layer=2), hf)
        r = subprocess.run([sys.executable, GROW, "--checkpoint", hf, "--n-layer", "3", "--out", out],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or trained_positions(out) != 24:
            return False, "from an HF directory: exit %d, trained_positions %s (want 24)" % (
                r.returncode, trained_positions(out))
        r = subprocess.run([sys.executable, GROW, "--checkpoint", src, "--n-layer", "1", "--out", out],
                           capture_output=True, text=True, timeout=120)
        return r.returncode != 0 and "fewer than" in r.stderr, "shallower: exit %d, %r" % (
            r.returncode, r.stderr.strip())


def main():
    check("grown_model_same_logits", same_logits)
    check("new_blocks_are_identity_and_train", new_blocks_train)
    check("new_blocks_spread_evenly", spread)
    check("command_line_keeps_positions_refuses_fewer", command_line)
    return testlib.exit_status()


if __name__ == "__main__":
    sys.exit(main())
