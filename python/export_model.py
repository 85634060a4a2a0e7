#!/usr/bin/python3
"""Export a GPT-2 checkpoint to ONNX for the C engine and ONNX Runtime.

This is: the command-line exporter (torch.onnx.export + a few graph rewrites with the
`onnx` package) and the library functions make_fixtures.py uses. docs/model-format.md
is the authority on what the written graphs contain.
This is not: a general ONNX optimiser or an ONNX Runtime quantiser; the int8 file is
plain standard ONNX (DequantizeLinear feeding Gemm/Gather), with no ORT-specific ops.

    /usr/bin/python3 python/export_model.py --checkpoint PATH --out DIR
        [--opset 13..17] [--fp16] [--int8] [--past] [--tokenizer DIR] [--name model.onnx]
        [--safetensors-fp16]

PATH is our checkpoint file, an HF directory (config.json + model.safetensors or
pytorch_model.bin) or a .safetensors file with config.json beside it. DIR receives
model.onnx, config.json and the tokenizer files; with --safetensors-fp16 also the weights as
model.safetensors in float16 (what python/adapt.py fine-tunes from: the C engine prefers
model.onnx when both are there).

What the rewrites do, in order (each one checked, any surprise is an error):
  1. names: torch is given a copy of the model whose every parameter holds distinct
     random values, so its initializer de-duplication (which merges equal tensors such
     as freshly initialised zero biases) cannot merge two of our weights; the real
     values are put back afterwards and every initializer gets its HF state-dict name.
  2. tied head: constant folding turns the LM head's Transpose(wte) into a second copy
     of wte; it is replaced by one Transpose node reading `transformer.wte.weight`.
  3. --int8: each weight matrix W becomes W_quantized (int8) + W_scale (f32, one per
     output channel) + W_zero_point (int8 zeros) and a DequantizeLinear whose output
     keeps the name W, so the nodes that read W are untouched.
  4. --fp16: each remaining float parameter P becomes P_fp16 (float16) and a Cast to
     float whose output keeps the name P.
  5. metadata_props: autocorrect.* keys carry the hyperparameters (n_head is not
     recoverable from shapes alone).
"""

import argparse
import copy
import inspect
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import load_model, trained_positions, with_positions  # noqa: E402
from safetensors_io import safetensors_save  # noqa: E402

OPSET_MIN, OPSET_MAX = 13, 17
# Protobuf cannot serialise 2 GiB; above this many bytes of weights we write external data.
EXTERNAL_DATA_BYTES = 1_800_000_000
WTE = "transformer.wte.weight"
WTE_T = "transformer.wte.weight_transposed"
TOKENIZER_SETS = (("vocab.json", "merges.txt"), ("tokenizer.json",), ("encoder.json", "vocab.bpe"))


def int8_weight_names(model):
    """Names of the matrices that --int8 quantises, each with its DequantizeLinear axis
    (the output-channel axis): Conv1D weights [n_in, n_out] -> axis 1; wte
    [n_vocab, n_embd] -> axis 0 (a row is an output channel of the tied LM head and
    also the embedding the Gather reads). wpe, biases and LayerNorms stay float."""
    out = {WTE: 0}
    for name, p in model.named_parameters():
        if name.endswith((".c_attn.weight", ".c_proj.weight", ".c_fc.weight")):
            assert p.dim() == 2
            out[name] = 1
    return out


def quantize_int8(w, axis):
    """Symmetric per-channel int8: scale[c] = max|w along the channel| / 127 (1.0 for an
    all-zero channel), q = round_half_even(w / scale) clamped to [-127, 127].
    w: float tensor [R, C]; axis: the channel axis (0 or 1).
    Returns (q int8 tensor like w, scale float32 tensor [w.shape[axis]])."""
    w = w.detach().float()
    amax = w.abs().amax(dim=1 - axis)                       # [channels]
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    s = scale.unsqueeze(1 - axis)                           # broadcastable against w
    q = torch.clamp(torch.round(w / s), -127, 127).to(torch.int8)
    return q, scale


def dequantize_int8(q, scale, axis):
    """What DequantizeLinear computes (zero point 0): float(q) * scale, in float32."""
    return q.float() * scale.unsqueeze(1 - axis)


def rounded_model(model, weights):
    """A copy of `model` whose parameters hold what the exported `weights` variant
    ("f32", "fp16", "int8" or "int8+fp16") makes the graph compute with: int8 replaces
    the int8_weight_names matrices by their dequantised values; fp16 rounds every
    other parameter through float16. Used for the PyTorch references of each variant."""
    if weights not in ("f32", "fp16", "int8", "int8+fp16"):
        raise ValueError("weights must be f32, fp16, int8 or int8+fp16")
    m = copy.deepcopy(model).eval()
    quantized = int8_weight_names(m) if "int8" in weights else {}
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name in quantized:
                q, s = quantize_int8(p, quantized[name])
                p.copy_(dequantize_int8(q, s, quantized[name]))
            elif "fp16" in weights:
                p.copy_(p.half().float())
    return m


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids)


class _WithPast(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, *past_flat):
        n = self.model.config.n_layer
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(n)]
        logits, presents = self.model(input_ids, past, use_cache=True)
        return (logits,) + tuple(t for kv in presents for t in kv)


def past_io_names(n_layer):
    """(past input names, present output names), in graph order: key then value per layer."""
    past, present = [], []
    for i in range(n_layer):
        past += ["past_key_values.%d.key" % i, "past_key_values.%d.value" % i]
        present += ["present.%d.key" % i, "present.%d.value" % i]
    return past, present


def _torch_export(module, args, path, input_names, output_names, dynamic_axes, opset):
    kwargs = dict(input_names=input_names, output_names=output_names,
                  dynamic_axes=dynamic_axes, opset_version=opset,
                  do_constant_folding=True, export_params=True)
    # torch >= 2.5 has a second (dynamo) exporter; the graphs documented are the
    # TorchScript exporter's, so ask for it where the choice exists.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)


def _fingerprinted(model, seed=1234):
    """Copy of model with distinct random values in every parameter (see header, step 1)."""
    m = copy.deepcopy(model).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return m


def export_onnx(model, opset=17, fp16=False, int8=False, past=False):
    """Export `model` (a GPT2LMHeadModel) and return the rewritten onnx.ModelProto
    (weights inside the proto; see save_onnx for writing it).

    Graph: input `input_ids` int64 [batch, seq] -> output `logits` float32
    [batch, seq, n_vocab]; with past=True also inputs past_key_values.{i}.key/value and
    outputs present.{i}.key/value (see past_io_names), float32 [batch, n_head,
    past_seq | total_seq, head_dim]. Raises ValueError on a bad opset or if the
    exported graph does not look as documented.
    """
    import onnx
    from onnx import helper, numpy_helper

    if not (OPSET_MIN <= opset <= OPSET_MAX):
        raise ValueError("opset %d is outside %d..%d" % (opset, OPSET_MIN, OPSET_MAX))
    cfg = model.config
    model = model.float().cpu().eval()
    fake = _fingerprinted(model)
    ids = torch.tensor([[1 % cfg.vocab_size, 2 % cfg.vocab_size, 3 % cfg.vocab_size]])
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    if past:
        past_names, present_names = past_io_names(cfg.n_layer)
        pk = torch.zeros(1, cfg.n_head, 2, cfg.head_dim)
        args = (ids,) + tuple(pk.clone() for _ in past_names)
        for n in past_names:
            dyn[n] = {0: "batch", 2: "past_seq"}
        for n in present_names:
            dyn[n] = {0: "batch", 2: "total_seq"}
        module, inputs, outputs = _WithPast(fake), ["input_ids"] + past_names, ["logits"] + present_names
    else:
        module, inputs, outputs = _LogitsOnly(fake), ["input_ids"], ["logits"]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        _torch_export(module, args if past else (ids,), path, inputs, outputs, dyn, opset)
        proto = onnx.load(path)   # also reads external data files, if torch wrote any

    graph = proto.graph
    real = {k: v.detach() for k, v in model.named_parameters()}      # tied wte once
    fake_params = {k: v.detach() for k, v in fake.named_parameters()}
    fake_wte_t = fake_params[WTE].t().contiguous().numpy()

    # step 1: names and real values
    rename = {}
    kept = []
    for init in graph.initializer:
        name = init.name[len("model."):] if init.name.startswith("model.") else init.name
        if name in real:
            if name in rename.values():
                raise ValueError("export: parameter %s appears twice" % name)
            rename[init.name] = name
            kept.append(numpy_helper.from_array(real[name].numpy(), name))
            continue
        arr = numpy_helper.to_array(init)
        if arr.shape == fake_wte_t.shape and arr.dtype == np.float32 and np.array_equal(arr, fake_wte_t):
            rename[init.name] = WTE_T     # step 2 below puts a Transpose node here
            continue
        if arr.dtype.kind == "f" and arr.size >= cfg.n_embd:
            raise ValueError("export: unexpected float initializer %s %s" % (init.name, arr.shape))
        kept.append(init)                 # small constants (shapes, scalars)
    missing = sorted(set(real) - set(rename.values()))
    if missing:
        raise ValueError("export: parameters missing from the graph: %s" % missing)
    del graph.initializer[:]
    graph.initializer.extend(kept)

    def tidy(x):
        # drop the export wrapper's scope: "/model/transformer/h.0/..." -> "/transformer/h.0/..."
        return "/" + x[len("/model/"):] if x.startswith("/model/") else x

    for node in graph.node:
        node.name = tidy(node.name)
        for i, x in enumerate(node.input):
            node.input[i] = rename.get(x, tidy(x))
        for i, x in enumerate(node.output):
            node.output[i] = tidy(x)

    # step 2: the tied LM head reads wte through one Transpose
    head_nodes = []
    if WTE_T in rename.values():
        head_nodes.append(helper.make_node("Transpose", [WTE], [WTE_T], name="lm_head_transpose", perm=[1, 0]))
    new_nodes = []   # DequantizeLinear / Cast nodes producing the parameters

    # step 3: int8 weight-only quantisation
    if int8:
        by_name = {t.name: i for i, t in enumerate(graph.initializer)}
        for name, axis in int8_weight_names(model).items():
            q, s = quantize_int8(real[name], axis)
            inits = [numpy_helper.from_array(q.numpy(), name + "_quantized"),
                     numpy_helper.from_array(s.numpy().astype(np.float32), name + "_scale"),
                     numpy_helper.from_array(np.zeros(s.shape, np.int8), name + "_zero_point")]
            graph.initializer[by_name[name]].CopyFrom(inits[0])
            graph.initializer.extend(inits[1:])
            new_nodes.append(helper.make_node(
                "DequantizeLinear", [n.name for n in inits], [name],
                name=name + "_dequantize", axis=axis))

    # step 4: float16 storage of the remaining float parameters
    if fp16:
        for init in graph.initializer:
            if init.name in real and init.data_type == onnx.TensorProto.FLOAT:
                name = init.name
                init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + "_fp16"))
                new_nodes.append(helper.make_node("Cast", [name + "_fp16"], [name],
                                                  name=name + "_cast", to=onnx.TensorProto.FLOAT))

    # the new nodes read only initializers (the Transpose reads wte, possibly made by a
    # DequantizeLinear or Cast), so this order is topological
    old = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + head_nodes + old)

    # step 5: metadata
    meta = {
        "autocorrect.format": "gpt2",
        "autocorrect.version": "1",
        "n_vocab": cfg.vocab_size, "n_ctx": cfg.n_positions, "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_inner": cfg.mlp_dim,
        "activation_function": cfg.activation_function,
        "layer_norm_epsilon": repr(float(cfg.layer_norm_epsilon)),
        "weights": "int8" if int8 else ("fp16" if fp16 else "f32"),
        "past": "1" if past else "0",
    }
    if int8 and fp16:
        meta["weights"] = "int8+fp16"
    del proto.metadata_props[:]
    for k, v in meta.items():
        key = k if k.startswith("autocorrect.") else "autocorrect." + k
        proto.metadata_props.add(key=key, value=str(v))
    proto.producer_name = "autocorrect export_model.py"
    proto.doc_string = "GPT-2 (HF GPT2LMHeadModel layout); see docs/model-format.md"
    return proto


def save_onnx(proto, path):
    """Write the proto to `path`; with more than EXTERNAL_DATA_BYTES of initializers the
    tensors go to `<basename>.data` beside it (ONNX external data, one file). In that case
    the proto's tensors are moved out to the file (it is not copied: a big model would
    not fit twice), so do not reuse the proto afterwards."""
    import onnx
    size = sum(len(t.raw_data) for t in proto.graph.initializer)
    if size > EXTERNAL_DATA_BYTES:
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data", size_threshold=1024)
    else:
        onnx.save_model(proto, path)


def copy_tokenizer(src_dir, out_dir):
    """Copy the first complete tokenizer file set found in src_dir (vocab.json +
    merges.txt, tokenizer.json, or encoder.json + vocab.bpe). Returns the names copied
    ([] if none)."""
    for names in TOKENIZER_SETS:
        if all(os.path.isfile(os.path.join(src_dir, n)) for n in names):
            for n in names:
                dst = os.path.join(out_dir, n)
                if os.path.abspath(os.path.join(src_dir, n)) != os.path.abspath(dst):
                    shutil.copyfile(os.path.join(src_dir, n), dst)
            return list(names)
    return []


def write_config(model, out_dir):
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(model.config.to_dict(), f, indent=2, sort_keys=True)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export a GPT-2 checkpoint to ONNX (docs/model-format.md).")
    ap.add_argument("--checkpoint", required=True, help="our checkpoint file, an HF directory, or a .safetensors file")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset, 13..17 (17: fused LayerNormalization)")
    ap.add_argument("--fp16", action="store_true", help="store float parameters as float16 (+ Cast)")
    ap.add_argument("--int8", action="store_true", help="int8 weight-only matrices (DequantizeLinear)")
    ap.add_argument("--past", action="store_true", help="add past_key_values inputs and present outputs")
    ap.add_argument("--tokenizer", help="directory with the tokenizer files (default: the checkpoint's directory)")
    ap.add_argument("--name", default="model.onnx", help="file name of the graph in --out")
    ap.add_argument("--safetensors-fp16", action="store_true",
                    help="also write the weights as float16 model.safetensors (for fine-tuning)")
    ap.add_argument("--positions", type=int,
                    help="keep only the first N position embeddings: the positions the model was "
                         "trained on (default: what the checkpoint records of train.py's --block-size, "
                         "else all of n_positions)")
    a = ap.parse_args(argv)
    try:
        model = load_model(a.checkpoint)
        positions = a.positions if a.positions is not None else trained_positions(a.checkpoint)
        if positions and positions < model.config.n_positions:
            print("export_model: keeping the %d trained positions of %d" % (positions, model.config.n_positions),
                  file=sys.stderr)
        model = with_positions(model, model.config.n_positions if positions is None else positions)
        os.makedirs(a.out, exist_ok=True)
        proto = export_onnx(model, opset=a.opset, fp16=a.fp16, int8=a.int8, past=a.past)
        save_onnx(proto, os.path.join(a.out, a.name))
        write_config(model, a.out)
        if a.safetensors_fp16:
            safetensors_save({k: v.half() for k, v in model.export_state_dict().items()},
                             os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
        tok_dir = a.tokenizer or (a.checkpoint if os.path.isdir(a.checkpoint) else os.path.dirname(a.checkpoint))
        copied = copy_tokenizer(tok_dir, a.out) if tok_dir else []
    except (OSError, ValueError) as e:
        print("export_model: %s" % e, file=sys.stderr)
        return 1
    if not copied:
        print("export_model: warning: no tokenizer files found in %s" % tok_dir, file=sys.stderr)
    print("export_model: wrote %s (%s), config.json%s" % (
        os.path.join(a.out, a.name), dict((p.key, p.value) for p in proto.metadata_props)["autocorrect.weights"],
        (", " + ", ".join(copied)) if copied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
