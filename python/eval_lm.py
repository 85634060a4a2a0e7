#!/usr/bin/python3
"""Held-out bits per character of a language model, with one accounting for every model (the
neural checkpoints here, the n-gram baseline in python/ngram.py), so their figures compare.

This is: the accounting and the neural model's side of it.
This is not: the training loop's validation loss (train.py averages over a sample of windows for
picking checkpoints; the figures here cover the whole file exactly once).

The accounting:
  - The token stream is valid.bin with the end-of-text id put in front (as the decoder does at
    the start of a text), and every token of valid.bin is predicted exactly once: the total
    negative log-likelihood covers all of them, the end-of-text tokens between documents too.
  - The units are those of the text behind valid.bin (valid.txt) without the `<|endoftext|>`
    markers (they are one special token, not typed text): characters are Unicode code points,
    bytes are UTF-8 bytes.
  - bits/char = NLL / ln 2 / characters; per-character perplexity = 2^(bits/char) =
    exp(NLL / characters); bits/byte likewise. Token perplexity is given too, but compares only
    models with the same tokenizer.
  - The n-gram model's order and discounts are tuned on the first half of valid.bin (whole
    documents, python/ngram.py), so each half is reported too (document_halves): the second
    half is held out from every choice of either model's settings... except that train.py
    picks its best checkpoint on the first 32k tokens of valid.bin, which lie in the first half.
  - The neural model reads overlapping windows of `block` tokens (its training length) moved by
    `stride` tokens; each window scores only the tokens no earlier window scored, so each token
    after the first window sees at least block - stride tokens of context (64 with the defaults
    128 / 64). An n-gram model sees its order - 1 previous tokens.

    /usr/bin/python3 python/eval_lm.py --checkpoint data/train/default/best.pt \
        [--data data/tokens] [--valid-text data/corpus/valid.txt] [--block 128] [--stride 64]
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EOT_TEXT = "<|endoftext|>"


def eval_stream(valid_bin, eot):
    """[eot] + the ids of valid_bin (uint16 file): int64 [1 + n]."""
    ids = np.fromfile(valid_bin, dtype="<u2").astype(np.int64)
    return np.concatenate([np.array([eot], np.int64), ids])


def units_of(text, special=EOT_TEXT):
    """{"chars": code points, "bytes": UTF-8 bytes} of a str without the special marker strings."""
    text = text.replace(special, "")
    return {"chars": len(text), "bytes": len(text.encode("utf-8"))}


def text_units(path, special=EOT_TEXT):
    """units_of the text file at path."""
    with open(path, encoding="utf-8") as f:
        return units_of(f.read(), special)


def document_halves(stream, text_path, eot, special=EOT_TEXT):
    """Splits the evaluation at the end-of-text token nearest the middle of the stream: the first
    half is targets 1 .. cut (whole documents, that end-of-text included), the second the rest.
    Returns {"cut": cut, "first": units, "second": units} with the units of the matching parts
    of the text (cut after the same number of markers)."""
    s = np.asarray(stream)
    ends = np.flatnonzero(s[1:] == eot) + 1
    if len(ends) == 0:
        raise ValueError("the stream holds no end-of-text token to split at")
    cut = int(ends[np.argmin(np.abs(ends - len(s) / 2))])
    m = int(np.count_nonzero(s[1:cut + 1] == eot))
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    at = -len(special)
    for _ in range(m):
        at = text.index(special, at + len(special))
    at += len(special)
    return {"cut": cut, "first": units_of(text[:at], special), "second": units_of(text[at:], special)}


def half_summaries(nll, halves):
    """bits/char and bits/byte of each half, from per-target NLLs (nll[i] is target i + 1)."""
    out = {}
    for name, part in (("first", nll[:halves["cut"]]), ("second", nll[halves["cut"]:])):
        u = halves[name]
        tot = float(np.sum(part))
        out[name] = {"tokens": int(len(part)), "chars": u["chars"],
                     "bits_per_char": tot / math.log(2) / u["chars"],
                     "bits_per_byte": tot / math.log(2) / u["bytes"]}
    return out


def summary(name, nll, n_tokens, units):
    """The figures from a total NLL (nats) over n_tokens tokens of a text of `units`."""
    bpc = nll / math.log(2) / units["chars"]
    return {"model": name, "nll_nats": nll, "tokens": int(n_tokens), "chars": units["chars"],
            "bytes": units["bytes"], "bits_per_char": bpc, "char_perplexity": 2.0 ** bpc,
            "bits_per_byte": nll / math.log(2) / units["bytes"],
            "token_perplexity": math.exp(nll / max(n_tokens, 1))}


def window_plan(n, block, stride):
    """Windows over a stream of n tokens: a list of (start, first) where the window's inputs
    are stream[start : start + block] and it scores the targets stream[first .. start + block]
    (1-based target positions, first > start). Together they score targets 1 .. n-1 once each."""
    if n < 2:
        return []
    if stride < 1 or stride > block:
        raise ValueError("stride must be in 1..block")
    plan, done, s = [], 0, 0     # done: the last target already scored
    while done < n - 1:
        s = min(s, max(0, n - 1 - block))
        end = min(s + block, n - 1)
        plan.append((s, done + 1))
        done = end
        s += stride
    return plan


def neural_nll(model, stream, block=128, stride=64, batch=16, device="cpu", per_token=False):
    """Total NLL (nats) of stream[1:] under a python/model.py model, by window_plan; with
    per_token, the NLL of each target instead (float64 [len - 1], entry i for target i + 1)."""
    import torch
    import torch.nn.functional as F
    s = torch.as_tensor(np.asarray(stream), dtype=torch.long)
    n = len(s)
    block = min(block, n - 1)
    stride = min(stride, block)
    plan = window_plan(n, block, stride)
    total = 0.0
    scored = 0
    each = np.zeros(max(n - 1, 0), np.float64)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(plan), batch):
            chunk = plan[i:i + batch]
            x = torch.stack([s[a:a + block] for a, _ in chunk]).to(device)          # [B, block]
            y = torch.stack([s[a + 1:a + 1 + block] for a, _ in chunk]).to(device)  # [B, block]
            logp = F.log_softmax(model(x).float(), dim=-1)                           # [B, block, V]
            tok = logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).double()              # [B, block]
            for j, (a, first) in enumerate(chunk):
                k = first - (a + 1)          # targets a+1 .. a+block; skip those scored before
                total -= float(tok[j, k:].sum())
                each[first - 1:a + block] = -tok[j, k:].cpu().numpy()
                scored += block - k
    assert scored == n - 1, (scored, n - 1)
    return each if per_token else total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True,
                    help="our checkpoint (best.pt), an HF directory or a .safetensors file")
    ap.add_argument("--data", default="data/tokens")
    ap.add_argument("--valid-text", default="data/corpus/valid.txt")
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--stride", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="write the result here too")
    a = ap.parse_args(argv)
    import torch
    from model import load_model
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    with open(os.path.join(a.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    t0 = time.time()
    model = load_model(a.checkpoint).to(a.device)
    stream = eval_stream(os.path.join(a.data, "valid.bin"), int(meta["eot_id"]))
    block = min(a.block, model.config.n_positions)
    nll = neural_nll(model, stream, block, min(a.stride, block), device=a.device, per_token=True)
    res = summary(os.path.basename(a.checkpoint), float(nll.sum()), len(stream) - 1, text_units(a.valid_text))
    res["halves"] = half_summaries(nll, document_halves(stream, a.valid_text, int(meta["eot_id"])))
    res.update({"block": block, "stride": min(a.stride, block), "seconds": round(time.time() - t0, 1)})
    log = os.path.join(os.path.dirname(a.checkpoint), "log.jsonl")
    if os.path.basename(a.checkpoint) == "best.pt" and os.path.exists(log):
        # train.py writes best.pt at the evaluation with the lowest validation loss so far
        rows = [json.loads(l) for l in open(log, encoding="utf-8") if l.strip()]
        if rows:
            res["step"] = min(rows, key=lambda r: r["valid_loss"])["step"]
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
