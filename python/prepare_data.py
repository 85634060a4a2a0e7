"""Tokenize the corpus into the uint16 token files python/train.py reads.

This is: a thin driver around the C tokenizer (`autocorrect tokenize --out-u16`), which is
GPT-2-exact and fast; it writes OUT/train.bin, OUT/valid.bin and OUT/meta.json.
This is not: corpus building (python/corpus/) or tokenizer training (`autocorrect
tokenizer-train`).

    /usr/bin/python3 python/prepare_data.py --corpus data/corpus --tokenizer data/tokenizer \
        --out data/tokens [--autocorrect build/bin/autocorrect]

meta.json: {"vocab_size", "eot_id", "train_tokens", "valid_tokens", "train_bytes",
"valid_bytes", "tokenizer": path, "corpus": path}. Idempotent: files newer than their
inputs are kept.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tokenizer_vocab(tok_dir):
    """(vocab_size, eot_id) from the tokenizer's vocab.json."""
    with open(os.path.join(tok_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    if "<|endoftext|>" not in vocab:
        raise SystemExit("prepare_data: %s has no <|endoftext|> token" % tok_dir)
    return len(vocab), vocab["<|endoftext|>"]


def up_to_date(out, inputs):
    return os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(i) for i in inputs)


def tokenize(exe, tok_dir, text_path, out_path):
    """Runs the C tokenizer on one text file, writing little-endian uint16 ids."""
    tmp = out_path + ".tmp"
    with open(text_path, "rb") as src:
        r = subprocess.run([exe, "tokenize", "--tokenizer", tok_dir, "--special", "--out-u16", tmp],
                           stdin=src, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("prepare_data: tokenizing %s failed: %s" % (text_path, r.stderr.decode(errors="replace")))
    os.replace(tmp, out_path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default="data/corpus", help="directory with train.txt and valid.txt")
    p.add_argument("--tokenizer", required=True, help="directory with vocab.json + merges.txt")
    p.add_argument("--out", default="data/tokens")
    p.add_argument("--autocorrect", default=os.path.join(ROOT, "build", "bin", "autocorrect"))
    a = p.parse_args(argv)
    vocab_size, eot = tokenizer_vocab(a.tokenizer)
    if vocab_size > 65536:
        raise SystemExit("prepare_data: vocab_size %d does not fit uint16 token files" % vocab_size)
    os.makedirs(a.out, exist_ok=True)
    meta = {"vocab_size": vocab_size, "eot_id": eot, "tokenizer": os.path.abspath(a.tokenizer),
            "corpus": os.path.abspath(a.corpus)}
    tok_files = [os.path.join(a.tokenizer, "vocab.json"), os.path.join(a.tokenizer, "merges.txt")]
    for split in ("train", "valid"):
        text = os.path.join(a.corpus, split + ".txt")
        out = os.path.join(a.out, split + ".bin")
        if not up_to_date(out, [text] + tok_files):
            print("prepare_data: tokenizing %s (%.1f MB)" % (text, os.path.getsize(text) / 1e6), file=sys.stderr)
            tokenize(a.autocorrect, a.tokenizer, text, out)
        ids = np.memmap(out, dtype=np.dtype("<u2"), mode="r")
        if len(ids) and int(ids.max()) >= vocab_size:
            raise SystemExit("prepare_data: %s holds id %d >= vocab_size %d" % (out, int(ids.max()), vocab_size))
        meta[split + "_tokens"] = int(len(ids))
        meta[split + "_bytes"] = os.path.getsize(text)
        print("prepare_data: %s: %d tokens, %.3f bytes/token" % (out, len(ids), meta[split + "_bytes"] / max(1, len(ids))),
              file=sys.stderr)
    with open(os.path.join(a.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
