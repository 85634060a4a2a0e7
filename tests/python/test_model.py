"""Tests for python/model.py and python/safetensors_io.py: HF names and math, loading paths,
causality, the past-KV forward, activations, the safetensors reader/writer, and that the
committed fixtures agree with the model. PASS/FAIL/SKIP lines; exit 1 on any FAIL."""
import json
import math
import os
import struct
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tiny")
sys.path.insert(0, os.path.join(ROOT, "python"))

from model import (GPT2Config, GPT2LMHeadModel, load_model, save_checkpoint,  # noqa: E402
                   save_hf_dir, gelu_new)
from safetensors_io import (SafetensorsError, safetensors_dumps, safetensors_loads,  # noqa: E402
                            safetensors_save, safetensors_load)
import testlib  # noqa: E402 (tests/python/testlib.py: PASS/FAIL/SKIP lines, the failure count)
from testlib import check  # noqa: E402

torch.set_num_threads(1)
def small_model(seed=0, **kw):
    cfg = dict(vocab_size=61, n_positions=24, n_embd=16, n_layer=2, n_head=4)
    cfg.update(kw)
    m = GPT2LMHeadModel(GPT2Config(**cfg))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-trivial weights everywhere, biases and LayerNorms included
        for name, p in m.named_parameters():
            r = torch.randn(p.shape, generator=g)
            p.copy_(1 + 0.2 * r if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight"))
                    else (0.1 * r if p.dim() == 1 else r / math.sqrt(p.shape[0]) * 0.8))
    return m.eval()


def hf_parameter_list(n_layer, n_embd, n_vocab, n_ctx, n_inner):
    """Hugging Face GPT2LMHeadModel's state-dict entries (parameters; HF's mask buffers
    attn.bias / attn.masked_bias excluded), in HF's order, written out independently."""
    out = [("transformer.wte.weight", [n_vocab, n_embd]), ("transformer.wpe.weight", [n_ctx, n_embd])]
    for i in range(n_layer):
        p = "transformer.h.%d." % i
        out += [(p + "ln_1.weight", [n_embd]), (p + "ln_1.bias", [n_embd]),
                (p + "attn.c_attn.weight", [n_embd, 3 * n_embd]), (p + "attn.c_attn.bias", [3 * n_embd]),
                (p + "attn.c_proj.weight", [n_embd, n_embd]), (p + "attn.c_proj.bias", [n_embd]),
                (p + "ln_2.weight", [n_embd]), (p + "ln_2.bias", [n_embd]),
                (p + "mlp.c_fc.weight", [n_embd, n_inner]), (p + "mlp.c_fc.bias", [n_inner]),
                (p + "mlp.c_proj.weight", [n_inner, n_embd]), (p + "mlp.c_proj.bias", [n_embd])]
    out += [("transformer.ln_f.weight", [n_embd]), ("transformer.ln_f.bias", [n_embd]),
            ("lm_head.weight", [n_vocab, n_embd])]
    return out


def hf_reference_logits(sd, cfg, ids):
    """An independent forward written the way HF's modeling_gpt2 does it: 4-D matmuls, a
    lower-triangular mask table sliced per call, torch.where with finfo.min, Conv1D addmm."""
    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (cfg.n_embd,), sd[p + ".weight"], sd[p + ".bias"],
                                              cfg.layer_norm_epsilon)

    def conv1d(x, p):
        shape = x.size()[:-1] + (sd[p + ".weight"].size(1),)
        return torch.addmm(sd[p + ".bias"], x.view(-1, x.size(-1)), sd[p + ".weight"]).view(shape)

    B, T = ids.shape
    H, D = cfg.n_head, cfg.n_embd // cfg.n_head
    table = torch.tril(torch.ones((cfg.n_positions, cfg.n_positions), dtype=torch.bool)).view(
        1, 1, cfg.n_positions, cfg.n_positions)
    h = sd["transformer.wte.weight"][ids] + sd["transformer.wpe.weight"][torch.arange(T)]
    for i in range(cfg.n_layer):
        p = "transformer.h.%d." % i
        q, k, v = conv1d(ln(h, p + "ln_1"), p + "attn.c_attn").split(cfg.n_embd, dim=2)
        q, k, v = (t.view(B, T, H, D).permute(0, 2, 1, 3) for t in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5)
        w = torch.where(table[:, :, :T, :T], w, torch.full([], torch.finfo(w.dtype).min))
        a = torch.matmul(torch.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(B, T, cfg.n_embd)
        h = h + conv1d(a, p + "attn.c_proj")
        x = conv1d(ln(h, p + "ln_2"), p + "mlp.c_fc")
        x = (0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
             if cfg.activation_function == "gelu_new" else torch.nn.functional.gelu(x))
        h = h + conv1d(x, p + "mlp.c_proj")
    return ln(h, "transformer.ln_f") @ sd["transformer.wte.weight"].t()


def test_names():
    cfg = GPT2Config(vocab_size=50, n_positions=20, n_embd=12, n_layer=3, n_head=3)
    m = GPT2LMHeadModel(cfg)
    got = [(k, list(v.shape)) for k, v in m.state_dict().items()]
    want = hf_parameter_list(3, 12, 50, 20, 48)
    if got != want:
        return False, "state dict %s != HF's %s" % (got[:4], want[:4])
    cfg2 = GPT2Config(vocab_size=50, n_positions=20, n_embd=12, n_layer=1, n_head=3, n_inner=20)
    got2 = [(k, list(v.shape)) for k, v in GPT2LMHeadModel(cfg2).state_dict().items()]
    if got2 != hf_parameter_list(1, 12, 50, 20, 20):
        return False, "n_inner=20 gives %s" % got2
    if m.lm_head.weight.data_ptr() != m.transformer.wte.weight.data_ptr():
        return False, "lm_head is not tied to wte"
    return True, ""


def test_hf_math():
    m = small_model(1)
    ids = torch.tensor([[5, 9, 1, 60, 33, 2, 7, 7, 14, 0, 41], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]])
    sd = {k: v.detach() for k, v in m.state_dict().items()}
    with torch.no_grad():
        ours = m(ids)
        ref = hf_reference_logits(sd, m.config, ids)
    d = (ours - ref).abs().max().item()
    return d < 2e-5 and ours.shape == (2, 11, 61), "max |diff| %.3g vs an HF-style forward, shape %s" % (d, list(ours.shape))


def test_prefix_loading():
    m = small_model(2)
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        a, b, c = (os.path.join(tmp, x) for x in "abc")
        save_hf_dir(m, a, prefix=True)
        save_hf_dir(m, b, prefix=False)
        # an HF-style pytorch_model.bin: no prefix, lm_head.weight, the mask buffers
        os.makedirs(c)
        sd = {k[len("transformer."):]: v.clone() for k, v in m.export_state_dict().items()}
        sd["lm_head.weight"] = m.transformer.wte.weight.detach().clone()
        for i in range(m.config.n_layer):
            sd["h.%d.attn.bias" % i] = torch.tril(torch.ones(1, 1, 24, 24, dtype=torch.uint8))
            sd["h.%d.attn.masked_bias" % i] = torch.tensor(-1e4)
        torch.save(sd, os.path.join(c, "pytorch_model.bin"))
        with open(os.path.join(c, "config.json"), "w") as f:
            json.dump({"vocab_size": 61, "n_ctx": 24, "n_embd": 16, "n_layer": 2, "n_head": 4}, f)
        want = m(ids)
        outs = [load_model(x)(ids) for x in (a, b, c, os.path.join(a, "model.safetensors"))]
    same = [torch.equal(o, want) for o in outs]
    return all(same), "identical logits per path (prefix, no prefix, .bin, .safetensors file): %s" % same


def test_checkpoint_roundtrip():
    m = small_model(3, activation_function="gelu")
    ids = torch.tensor([[7, 8, 9]])
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        p = os.path.join(tmp, "ckpt.pt")
        save_checkpoint(m, p, extra={"step": 12})
        m2 = load_model(p)
        ok = torch.equal(m(ids), m2(ids)) and m2.config == m.config
    return ok, "checkpoint reload differs"


def test_load_errors():
    m = small_model(4)
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        save_hf_dir(m, tmp)
        st = os.path.join(tmp, "model.safetensors")
        sd, _ = safetensors_load(st)
        cases = {
            "missing": {k: v for k, v in sd.items() if "ln_f.bias" not in k},
            "shape": dict(sd, **{"transformer.h.0.attn.c_attn.weight": torch.zeros(16, 47)}),
            "untied": dict(sd, **{"lm_head.weight": torch.zeros(61, 16)}),
            "extra": dict(sd, **{"transformer.h.9.ln_1.weight": torch.zeros(16)}),
        }
        for name, bad in cases.items():
            safetensors_save(bad, st)
            try:
                load_model(tmp)
                errors.append(name + " loaded")
            except ValueError:
                pass
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump({"vocab_size": 61, "n_positions": 24, "n_embd": 16, "n_layer": 2, "n_head": 5}, f)
        try:
            load_model(tmp)
            errors.append("n_embd % n_head accepted")
        except ValueError:
            pass
    for bad_cfg in ({"scale_attn_by_inverse_layer_idx": True}, {"activation_function": "relu"}):
        try:
            GPT2Config.from_dict(dict({"n_embd": 16, "n_head": 4}, **bad_cfg))
            errors.append("accepted %s" % bad_cfg)
        except ValueError:
            pass
    c = GPT2Config.from_dict({"n_vocab": 10, "n_ctx": 7, "n_embd": 8, "n_head": 2, "n_layer": 1, "foo": 1})
    if (c.n_vocab, c.vocab_size, c.n_ctx, c.n_positions) != (10, 10, 7, 7):
        errors.append("aliases n_vocab/n_ctx not honoured")
    return not errors, "; ".join(errors)


def test_causal():
    m = small_model(5)
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
    ids2 = ids.clone()
    ids2[0, 6] = 40
    with torch.no_grad():
        a, b = m(ids), m(ids2)
    before = (a[0, :6] - b[0, :6]).abs().max().item()
    after = (a[0, 6:] - b[0, 6:]).abs().max().item()
    return before == 0.0 and after > 1e-3, "earlier positions changed by %.3g, later by %.3g" % (before, after)


def test_past_kv():
    m = small_model(6)
    ids = torch.tensor([[4, 8, 15, 16, 23, 42, 0, 3, 9, 11, 12, 5], [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 60, 2]])
    with torch.no_grad():
        full = m(ids)
        worst = 0.0
        for split in (1, 5, 11):
            l1, past = m(ids[:, :split], use_cache=True)
            l2, pres = m(ids[:, split:], past_key_values=past, use_cache=True)
            worst = max(worst, (torch.cat([l1, l2], 1) - full).abs().max().item())
            if pres[0][0].shape != (2, 4, 12, 4):
                return False, "present shape %s" % list(pres[0][0].shape)
        # token by token, as a decoder does
        past, rows = None, []
        for t in range(ids.shape[1]):
            lt, past = m(ids[:, t:t + 1], past_key_values=past, use_cache=True)
            rows.append(lt)
        worst = max(worst, (torch.cat(rows, 1) - full).abs().max().item())
    return worst < 1e-5, "past-KV logits differ from the full forward by %.3g" % worst


def test_activations():
    m = small_model(7)
    e = GPT2LMHeadModel(GPT2Config(**dict(vars(m.config), activation_function="gelu"))).eval()
    e.load_state_dict(m.state_dict())
    ids = torch.tensor([[2, 4, 6, 8, 10]])
    with torch.no_grad():
        d = (m(ids) - e(ids)).abs().max().item()
    x = torch.linspace(-6, 6, 1001)
    want = 0.5 * x * (1 + torch.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))
    dg = (gelu_new(x) - want).abs().max().item()
    return 1e-4 < d < 1.0 and dg < 1e-6, "tanh vs erf logits differ by %.3g; gelu_new vs formula %.3g" % (d, dg)


def test_safetensors():
    ts = {
        "f32": torch.randn(3, 5), "f16": torch.randn(7).half(), "bf16": torch.randn(2, 2).bfloat16(),
        "f64": torch.randn(2).double(), "i64": torch.arange(4), "i32": torch.arange(3, dtype=torch.int32),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8), "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "b": torch.tensor([True, False]), "empty": torch.zeros(0, 4), "scalar": torch.tensor(2.5),
        "strided": torch.randn(4, 6).t(),
    }
    data = safetensors_dumps(ts, {"format": "pt"})
    (n,) = struct.unpack("<Q", data[:8])
    if (8 + n) % 8:
        return False, "header not padded to 8 bytes"
    back, meta = safetensors_loads(data)
    bad = [k for k in ts if not (back[k].dtype == ts[k].dtype and torch.equal(back[k], ts[k]))]
    if bad or meta != {"format": "pt"} or list(back) != list(ts):
        return False, "round trip differs for %s, metadata %s" % (bad, meta)
    header = json.loads(data[8:8 + n])
    corrupt = {
        "short": data[:5],
        "truncated": data[:-3],
        "huge header": struct.pack("<Q", 1 << 40) + data[8:],
        "not json": data[:8] + b"{" * n + data[8 + n:],
        "trailing": data + b"\0",
    }
    h2 = dict(header)
    h2["f32"] = dict(h2["f32"], data_offsets=[0, 8])
    t2 = json.dumps(h2).encode()
    corrupt["bad size"] = struct.pack("<Q", len(t2)) + t2 + data[8 + n:]
    h3 = dict(header)
    h3["f32"] = dict(h3["f32"], dtype="Q9")
    t3 = json.dumps(h3).encode()
    corrupt["bad dtype"] = struct.pack("<Q", len(t3)) + t3 + data[8 + n:]
    accepted = []
    for name, blob in corrupt.items():
        try:
            safetensors_loads(blob)
            accepted.append(name)
        except SafetensorsError:
            pass
    return not accepted, "corrupt files accepted: %s" % accepted


def test_fixtures():
    """The committed fixtures' safetensors + expected.json agree with model.py today."""
    path = os.path.join(FIXTURES, "expected.json")
    if not os.path.exists(path):
        return False, "no %s (run make fixtures)" % path
    from export_model import rounded_model
    exp = json.load(open(path))
    ids = torch.tensor([exp["ids"]])
    worst = {}
    with torch.no_grad():
        tiny = load_model(FIXTURES)
        models = {"f32": tiny, "fp16": rounded_model(tiny, "fp16"), "int8": rounded_model(tiny, "int8"),
                  "erf": load_model(os.path.join(FIXTURES, "erf")),
                  "erf_noprefix": load_model(os.path.join(FIXTURES, "erf_noprefix"))}
        for name, model in models.items():
            ref = torch.tensor(exp["references"][name.split("_")[0]]["logprobs"], dtype=torch.float64)
            lp = torch.log_softmax(model(ids)[0].double(), -1)
            worst[name] = (lp - ref).abs().max().item()
    ok = all(v < 2e-5 for v in worst.values())
    flat = max(r[0] for r in exp["references"]["f32"]["logprobs"]) - min(r[0] for r in exp["references"]["f32"]["logprobs"])
    return ok and flat > 0.5, "max |diff| per reference %s; logprob spread %.3g" % (worst, flat)


def test_fused_attention():
    """Training under torch 2.x runs attention fused (model.FUSED_ATTENTION); without dropout it
    gives the logits and gradients of the plain path, which export and evaluation use."""
    import model as model_module
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        return None, "torch %s has no scaled_dot_product_attention (the plain path is all)" % torch.__version__
    m = small_model(n_layer=2).train()  # dropout 0 in small_model's config
    ids = torch.randint(0, 61, (2, 24), generator=torch.Generator().manual_seed(3))
    saved = model_module.FUSED_ATTENTION
    out = {}
    try:
        for fused in (False, True):
            model_module.FUSED_ATTENTION = fused
            m.zero_grad()
            logits = m(ids)
            logits.square().mean().backward()
            out[fused] = (logits.detach(), m.transformer.h[0].attn.c_attn.weight.grad.clone())
    finally:
        model_module.FUSED_ATTENTION = saved
    dl = (out[True][0] - out[False][0]).abs().max().item()
    dg = (out[True][1] - out[False][1]).abs().max().item()
    return dl < 1e-4 and dg < 1e-4, "max |logit diff| %.3g, |grad diff| %.3g" % (dl, dg)


def main():
    t0 = time.time()
    check("names_and_shapes_equal_hf", test_names)
    check("math_equals_hf_style_forward", test_hf_math)
    check("load_with_and_without_prefix", test_prefix_loading)
    check("checkpoint_roundtrip", test_checkpoint_roundtrip)
    check("load_errors", test_load_errors)
    check("causal", test_causal)
    check("past_kv_equals_full_forward", test_past_kv)
    check("tanh_vs_erf_activation", test_activations)
    check("safetensors_roundtrip_and_corruption", test_safetensors)
    check("fixtures_match_model", test_fixtures)
    check("fused_attention_equals_plain", test_fused_attention)
    print("test_model.py: %.1f s" % (time.time() - t0))
    return testlib.exit_status()


if __name__ == "__main__":
    sys.exit(main())
