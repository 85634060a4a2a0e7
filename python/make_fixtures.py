#!/usr/bin/python3
"""Make the committed test fixtures: a tiny GPT-2, its tokenizer, its ONNX exports,
PyTorch's reference log-probabilities, and deliberately broken files.

This is: the generator behind `make fixtures`; deterministic (fixed seeds, one
thread) and idempotent (running it twice writes identical bytes on one machine).
This is not: a tokenizer trainer for real use (the BPE learner here is a few lines for
a ~40-merge toy vocabulary), nor a test (tests/python/ and the C tests read its files).

    /usr/bin/python3 python/make_fixtures.py tests/fixtures

Writes (docs/model-format.md describes every file):
    tiny/config.json, tiny/model.safetensors      tiny model, HF names with `transformer.`
    tiny/vocab.json, tiny/merges.txt              byte-level BPE, 256 bytes + merges + <|endoftext|>
    tiny/model.onnx          opset 17 (LayerNormalization), f32
    tiny/model_op13.onnx     opset 13 (LayerNorm decomposed), f32
    tiny/model_fp16.onnx     opset 17, float16 parameters + Cast
    tiny/model_int8.onnx     opset 17, int8 matrices + DequantizeLinear
    tiny/model_past.onnx     opset 17, f32, past_key_values inputs / present outputs
    tiny/model_erf.onnx      opset 17, a second model with activation "gelu" (Erf)
    tiny/erf/config.json, tiny/erf/model.safetensors   that second model's weights
    tiny/erf_noprefix/config.json, model.safetensors  the same, names without `transformer.`
    tiny/expected.json       ids + log-probabilities at every position per weight variant
    bad/unknown_op.onnx      model_erf.onnx with one Softmax renamed to op type "NoSuchOp"
    bad/wrong_shape.onnx     model_erf.onnx with h.0 attn.c_attn.weight cut to [n_embd, 3*n_embd-1]
(the copies without the prefix and the bad files are of the smaller erf model, to keep
the fixtures under 2 MB)
"""

import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import export_onnx, rounded_model, save_onnx  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel, save_hf_dir  # noqa: E402

N_MERGES = 40
EOT = "<|endoftext|>"

# The BPE merges are learned from this text; the fixture's ids are the encoding of TEXT.
TRAIN_TEXT = (
    "the quick brown fox jumps over the lazy dog. the dog sleeps in the sun, "
    "and the fox thinks that the dog is there. then the fox runs over the hill "
    "and the dog wakes up; they are the best of friends, the fox and the dog. "
    "in the morning there is rain, in the evening there is sun. "
    "she sells sea shells on the sea shore, and the shells she sells are sea shells. "
)
TEXT = "The fox and the dog sleep in the sun; then 42 shells!"

TINY = dict(vocab_size=256 + N_MERGES + 1, n_positions=64, n_embd=32, n_layer=2, n_head=4,
            activation_function="gelu_new")
ERF = dict(vocab_size=256 + N_MERGES + 1, n_positions=64, n_embd=24, n_layer=1, n_head=3,
           activation_function="gelu")
SEED_TINY, SEED_ERF = 20240501, 20240502


# ------------------------------------------------------------------ byte-level BPE

def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters:
    printable Latin-1 bytes map to themselves, the others to U+0100 + n in byte order.
    Returns (list of the 256 bytes in id order, {byte: char})."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
          + list(range(ord("\xae"), ord("\xff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, {b: chr(c) for b, c in zip(bs, cs)}


# GPT-2's pre-tokenizer pattern restricted to ASCII letters and digits: on ASCII text
# it splits exactly as GPT-2's \p{L} / \p{N} pattern does (TEXT and TRAIN_TEXT are ASCII).
PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def pretokens(text):
    _, b2u = bytes_to_unicode()
    assert text.isascii(), "the fixture's pre-tokenizer is ASCII-only"
    return ["".join(b2u[b] for b in w.encode("utf-8")) for w in PRETOKEN.findall(text)]


def learn_merges(text, n_merges):
    """Classic BPE: repeatedly merge the most frequent adjacent pair over the
    pre-tokenized words (ties: the lexicographically smallest pair)."""
    words = {}
    for w in pretokens(text):
        words[tuple(w)] = words.get(tuple(w), 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + c
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        new_words = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + c
        words = new_words
    if len(merges) != n_merges:
        raise ValueError("training text too short for %d merges" % n_merges)
    return merges


def build_vocab(merges):
    """ids: the 256 byte characters in bytes_to_unicode order (as GPT-2's encoder.json),
    then one token per merge in rank order, then <|endoftext|> last."""
    bs, b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(bs)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    return vocab


def bpe_encode(text, vocab, merges):
    """Encode with merge ranks (always apply the lowest-ranked pair present)."""
    rank = {m: i for i, m in enumerate(merges)}
    ids = []
    for w in pretokens(text):
        parts = list(w)
        while len(parts) > 1:
            pairs = [(rank.get(p, len(rank)), i) for i, p in enumerate(zip(parts, parts[1:]))]
            r, i = min(pairs)
            if r == len(rank):
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [vocab[p] for p in parts]
    return ids


def write_tokenizer(out_dir, vocab, merges):
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))


# ------------------------------------------------------------------ model weights

def fixture_init(model, seed):
    """Weights with larger scales than GPT-2's 0.02 so logits and attention are far from
    flat: matrices N(0, 1/fan_in), wte N(0, 0.4^2), wpe N(0, 0.3^2), biases N(0, 0.1^2),
    LayerNorm weights 1 + N(0, 0.2^2). Parameters are drawn in named_parameters order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            elif name.endswith("wte.weight"):
                p.copy_(0.4 * r)
            elif name.endswith("wpe.weight"):
                p.copy_(0.3 * r)
            else:
                p.copy_(r / p.shape[0] ** 0.5)
    return model.eval()


def logprobs(model, ids):
    """PyTorch reference: float32 forward, log_softmax in float64. [T, n_vocab] list."""
    with torch.no_grad():
        logits = model(torch.tensor([ids], dtype=torch.long))[0]
        return torch.log_softmax(logits.double(), dim=-1).tolist()


def round7(rows):
    return [[float("%.7g" % x) for x in row] for row in rows]


def onnx_summary(proto):
    inputs = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim])
              for i in proto.graph.input]
    outputs = [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim])
               for o in proto.graph.output]
    meta = {p.key: p.value for p in proto.metadata_props}
    return {
        "opset": max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "ops": sorted({n.op_type for n in proto.graph.node}),
        "inputs": [{"name": n, "shape": s} for n, s in inputs],
        "outputs": [{"name": n, "shape": s} for n, s in outputs],
        "weights": meta["autocorrect.weights"],
    }


# ------------------------------------------------------------------ main

def main(argv):
    if len(argv) != 2:
        print("usage: make_fixtures.py OUT_DIR (normally tests/fixtures)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = argv[1]
    tiny_dir = os.path.join(root, "tiny")
    bad_dir = os.path.join(root, "bad")
    for d in (tiny_dir, bad_dir, os.path.join(tiny_dir, "erf"), os.path.join(tiny_dir, "erf_noprefix")):
        os.makedirs(d, exist_ok=True)

    merges = learn_merges(TRAIN_TEXT, N_MERGES)
    vocab = build_vocab(merges)
    assert len(vocab) == TINY["vocab_size"]
    write_tokenizer(tiny_dir, vocab, merges)
    ids = bpe_encode(TEXT, vocab, merges)

    tiny = fixture_init(GPT2LMHeadModel(GPT2Config(**TINY)), SEED_TINY)
    erf = fixture_init(GPT2LMHeadModel(GPT2Config(**ERF)), SEED_ERF)
    save_hf_dir(tiny, tiny_dir)
    save_hf_dir(erf, os.path.join(tiny_dir, "erf"))
    save_hf_dir(erf, os.path.join(tiny_dir, "erf_noprefix"), prefix=False)

    variants = [  # file, model, export options, reference name
        ("model.onnx", tiny, dict(opset=17), "f32"),
        ("model_op13.onnx", tiny, dict(opset=13), "f32"),
        ("model_fp16.onnx", tiny, dict(opset=17, fp16=True), "fp16"),
        ("model_int8.onnx", tiny, dict(opset=17, int8=True), "int8"),
        ("model_past.onnx", tiny, dict(opset=17, past=True), "f32"),
        ("model_erf.onnx", erf, dict(opset=17), "erf"),
    ]
    files = {}
    protos = {}
    for fname, model, opts, ref in variants:
        proto = export_onnx(model, **opts)
        save_onnx(proto, os.path.join(tiny_dir, fname))
        protos[fname] = proto
        files[fname] = dict(onnx_summary(proto), reference=ref)
    files["model_erf.onnx"]["config"] = "erf/config.json"

    references = {
        "f32": {"weights": "model.safetensors", "config": "config.json",
                "logprobs": round7(logprobs(tiny, ids))},
        "fp16": {"weights": "model.safetensors", "config": "config.json",
                 "rounding": "every parameter rounded to float16 and back",
                 "logprobs": round7(logprobs(rounded_model(tiny, "fp16"), ids))},
        "int8": {"weights": "model.safetensors", "config": "config.json",
                 "rounding": "wte and the c_attn/c_proj/c_fc matrices replaced by "
                             "dequantize(quantize_int8(W)) (per output channel, see docs)",
                 "logprobs": round7(logprobs(rounded_model(tiny, "int8"), ids))},
        "erf": {"weights": "erf/model.safetensors", "config": "erf/config.json",
                "logprobs": round7(logprobs(erf, ids))},
    }
    expected = {
        "format": "autocorrect-expected-logprobs",
        "version": 1,
        "text": TEXT,
        "ids": ids,
        "note": "logprobs[t][v] = log P(next token = v | ids[0..t]); PyTorch float32 forward "
                "on CPU with 1 thread, log_softmax in float64, 7 significant digits. "
                "ids = tiny BPE encoding of text. See docs/model-format.md.",
        "files": files,
        "references": references,
    }
    with open(os.path.join(tiny_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")

    write_bad_files(protos["model_erf.onnx"], bad_dir)
    print("make_fixtures: wrote %s (%d ids, %d variants)" % (root, len(ids), len(variants)))
    return 0


def write_bad_files(proto, bad_dir):
    import onnx
    from onnx import numpy_helper

    p = onnx.ModelProto()
    p.CopyFrom(proto)
    node = next(n for n in p.graph.node if n.op_type == "Softmax")
    node.op_type = "NoSuchOp"
    save_onnx(p, os.path.join(bad_dir, "unknown_op.onnx"))

    p = onnx.ModelProto()
    p.CopyFrom(proto)
    name = "transformer.h.0.attn.c_attn.weight"
    init = next(t for t in p.graph.initializer if t.name == name)
    arr = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array(arr[:, :-1].copy(), name))
    save_onnx(p, os.path.join(bad_dir, "wrong_shape.onnx"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
