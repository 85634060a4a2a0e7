#!/usr/bin/python3
"""Write the fuzzers' binary seed inputs: micro GPT-2 models as ONNX and safetensors.

This is: the generator of fuzz/corpus/onnx/*, fuzz/corpus/safetensors/* and
fuzz/data/onnx/weights.bin (the external data file the external-data seed points at);
deterministic (fixed seed, one thread). The text seeds of the other targets are written
by hand. This is not: a test fixture generator (python/make_fixtures.py is), nor a fuzzer.

    /usr/bin/python3 fuzz/make_seeds.py          # from the repository root

A micro model (vocabulary 16, 1 layer, n_embd 8, 8 positions) keeps each seed a few KB, so
the fuzzer's mutations land on structure rather than on weights.
"""

import os
import struct
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from export_model import export_onnx  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel, save_hf_dir  # noqa: E402

MICRO = dict(vocab_size=16, n_positions=8, n_embd=8, n_layer=1, n_head=2,
             activation_function="gelu_new")


def micro_model(seed, **over):
    cfg = dict(MICRO, **over)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(**cfg)).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model


def main():
    import onnx
    from onnx import external_data_helper

    torch.set_num_threads(1)
    onnx_dir = os.path.join(ROOT, "fuzz", "corpus", "onnx")
    st_dir = os.path.join(ROOT, "fuzz", "corpus", "safetensors")
    data_dir = os.path.join(ROOT, "fuzz", "data", "onnx")
    for d in (onnx_dir, st_dir, data_dir):
        os.makedirs(d, exist_ok=True)

    model = micro_model(7)
    variants = [
        ("micro_op17.onnx", dict(opset=17)),
        ("micro_op13.onnx", dict(opset=13)),
        ("micro_fp16.onnx", dict(opset=17, fp16=True)),
        ("micro_int8.onnx", dict(opset=17, int8=True)),
        ("micro_past.onnx", dict(opset=17, past=True)),
    ]
    for name, opts in variants:
        proto = export_onnx(model, **opts)
        with open(os.path.join(onnx_dir, name), "wb") as f:
            f.write(proto.SerializeToString())
    erf = export_onnx(micro_model(8, activation_function="gelu"), opset=17)
    with open(os.path.join(onnx_dir, "micro_erf.onnx"), "wb") as f:
        f.write(erf.SerializeToString())

    # the same model with every initializer in fuzz/data/onnx/weights.bin (ONNX external data),
    # moved out by hand: onnx's helper names unnamed tensors with random UUIDs (not reproducible)
    proto = export_onnx(model, opset=17)
    blob = b""
    for t in proto.graph.initializer:
        if not t.raw_data:
            continue
        blob += b"\0" * (-len(blob) % 64)
        external_data_helper.set_external_data(t, location="weights.bin", offset=len(blob),
                                               length=len(t.raw_data))
        blob += t.raw_data
        t.ClearField("raw_data")
        t.data_location = onnx.TensorProto.EXTERNAL
    with open(os.path.join(data_dir, "weights.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(onnx_dir, "micro_external.onnx"), "wb") as f:
        f.write(proto.SerializeToString())

    # safetensors: the input's first byte picks the config (fuzz_safetensors.c): 0 tied, 1 untied
    tmp = os.path.join(ROOT, "build", "fuzz-seeds")
    for prefix, fname in ((True, "micro_prefix"), (False, "micro_noprefix")):
        save_hf_dir(model, tmp, prefix=prefix)
        with open(os.path.join(tmp, "model.safetensors"), "rb") as f:
            body = f.read()
        with open(os.path.join(st_dir, fname), "wb") as f:
            f.write(b"\x00" + body)
    # untied: the same tensors plus an lm_head.weight of its own
    sd = model.export_state_dict()
    sd["lm_head.weight"] = torch.flip(sd["transformer.wte.weight"], [0]).contiguous()
    with open(os.path.join(st_dir, "micro_untied"), "wb") as f:
        f.write(b"\x01" + safetensors_bytes(sd))
    sd = model.export_state_dict()
    for dtype in ("F16", "BF16"):
        with open(os.path.join(st_dir, "micro_" + dtype.lower()), "wb") as f:
            f.write(b"\x00" + safetensors_bytes(sd, dtype))
    print("make_seeds: wrote %s, %s and %s" % (onnx_dir, st_dir, data_dir))
    return 0


def safetensors_bytes(sd, dtype="F32"):
    """A safetensors file of a state dict in F32, F16 or BF16 (names sorted, offsets in order)."""
    import json
    header, blobs, off = {}, [], 0
    for k in sorted(sd):
        t = sd[k].detach().contiguous()
        if dtype == "F32":
            b = t.to(torch.float32).numpy().tobytes()
        elif dtype == "F16":
            b = t.to(torch.float16).numpy().tobytes()
        else:  # numpy has no bfloat16: write its bits
            b = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        header[k] = {"dtype": dtype, "shape": list(sd[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


if __name__ == "__main__":
    sys.exit(main())
