"""GPT-2 in plain PyTorch, with Hugging Face GPT2LMHeadModel's names, shapes and math.

This is: the model that train.py trains and export_model.py exports; a state dict of
Hugging Face's GPT2LMHeadModel (GPT-2, DistilGPT-2, ...) loads into it without the
`transformers` package, and gives the same logits.
This is not: a general HF port (no cross-attention, no padding attention mask, no
head masks, no scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn), nor the
inference engine (that is the C code under src/).

Math (identical to HF's GPT-2, in this order):
    h = wte[ids] + wpe[past_len + arange(T)]
    per block:  a = ln_1(h);  q,k,v = split(a @ c_attn.W + c_attn.b)   (Conv1D: [in, out])
                k, v = cat(past, new) along the sequence
                s = (q @ k^T) / sqrt(head_dim);  s = where(causal, s, finfo(dtype).min)
                h = h + c_proj(softmax(s) @ v)
                h = h + mlp.c_proj(act(mlp.c_fc(ln_2(h))))
    logits = ln_f(h) @ wte^T                     (lm_head tied to wte)
act is "gelu_new" (tanh approximation, HF's formula) or "gelu" (erf); LayerNorm eps is
config.layer_norm_epsilon (1e-5). The causal mask is the same as HF's (torch.where with
the dtype's most negative finite value, not -inf), built from two aranges rather than
read from a [n_ctx, n_ctx] buffer, so the ONNX graph carries no mask initializer.

Attention runs on 3-D [batch*n_head, T, head_dim] tensors with torch.bmm: in torch 1.13
on CPU that is ~10x faster than a 4-D matmul, and the math is unchanged. In training under
torch 2.x (no past, a causal mask), it runs as F.scaled_dot_product_attention instead: the same
softmax(q k^T / sqrt(head_dim)) v, fused (flash attention on a GPU), without the [T, T] scores
in memory. Evaluation and export keep the path above. AC_PLAIN_ATTENTION=1 turns it off.
"""

import dataclasses
import json
import math
import os
import pickle
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from safetensors_io import safetensors_load, safetensors_save

# torch 2.x's fused attention, for training (see the module's docstring); torch 1.13 has none.
FUSED_ATTENTION = (hasattr(F, "scaled_dot_product_attention")
                   and os.environ.get("AC_PLAIN_ATTENTION", "") in ("", "0"))

CHECKPOINT_FORMAT = "autocorrect-gpt2"
CHECKPOINT_VERSION = 1


@dataclass
class GPT2Config:
    """Hyperparameters, with Hugging Face's names (n_vocab / n_ctx are our aliases)."""
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: Optional[int] = None          # MLP width; None means 4 * n_embd
    activation_function: str = "gelu_new"  # "gelu_new" (tanh) or "gelu" (erf)
    layer_norm_epsilon: float = 1e-5
    embd_pdrop: float = 0.0                # dropouts (HF's default is 0.1; no effect in eval)
    attn_pdrop: float = 0.0
    resid_pdrop: float = 0.0

    @property
    def n_vocab(self):
        return self.vocab_size

    @property
    def n_ctx(self):
        return self.n_positions

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    @property
    def mlp_dim(self):
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd

    def check(self):
        """Raise ValueError if the hyperparameters cannot make a model."""
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if int(getattr(self, name)) <= 0:
                raise ValueError("config: %s must be > 0" % name)
        if self.n_embd % self.n_head:
            raise ValueError("config: n_embd %d is not a multiple of n_head %d"
                             % (self.n_embd, self.n_head))
        if self.activation_function not in ACTIVATIONS:
            raise ValueError("config: activation_function %r is not one of %s"
                             % (self.activation_function, sorted(ACTIVATIONS)))
        if self.n_inner is not None and self.n_inner <= 0:
            raise ValueError("config: n_inner must be > 0 or null")
        return self

    @classmethod
    def from_dict(cls, d):
        """Build from an HF config.json dict (or ours); unknown keys are ignored.

        Accepts the aliases n_vocab / n_ctx. Raises ValueError for HF options this
        model does not implement.
        """
        d = dict(d)
        if "n_vocab" in d:
            d.setdefault("vocab_size", d["n_vocab"])
        if "n_ctx" in d and "n_positions" not in d:
            d["n_positions"] = d["n_ctx"]
        if d.get("scale_attn_by_inverse_layer_idx") or d.get("reorder_and_upcast_attn"):
            raise ValueError("config: scale_attn_by_inverse_layer_idx / "
                             "reorder_and_upcast_attn are not supported")
        if d.get("scale_attn_weights", True) is False:
            raise ValueError("config: scale_attn_weights=false is not supported")
        names = {f.name for f in dataclasses.fields(cls)}
        cfg = cls(**{k: v for k, v in d.items() if k in names})
        return cfg.check()

    def to_dict(self):
        """HF-style config.json contents (loadable by transformers' GPT2Config too)."""
        d = dataclasses.asdict(self)
        d.update({
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "n_ctx": self.n_positions,
            "bos_token_id": self.vocab_size - 1,
            "eos_token_id": self.vocab_size - 1,
            "tie_word_embeddings": True,
        })
        return d


def gelu_new(x):
    """GELU, tanh approximation, written exactly as HF's NewGELUActivation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {"gelu_new": gelu_new, "gelu": F.gelu}


class Conv1D(nn.Module):
    """HF's Conv1D: y = x @ weight + bias, weight [n_in, n_out] (transposed vs nn.Linear)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))  # [n_in, n_out]
        self.bias = nn.Parameter(torch.zeros(n_out))           # [n_out]

    def forward(self, x):
        # x: [..., n_in] -> [..., n_out]; addmm on a 2-D view as HF does (exports as Gemm)
        size_out = x.size()[:-1] + (self.weight.size(1),)
        y = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return y.view(size_out)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.head_dim = cfg.head_dim
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)
        self.attn_dropout = nn.Dropout(cfg.attn_pdrop)
        self.resid_dropout = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x, mask, layer_past=None):
        # x: [B, T, C]; mask: [T, S] bool (True = may attend); layer_past: (k, v) each
        # [B, n_head, P, head_dim] or None. Returns (y [B, T, C], (k, v) [B, n_head, S, head_dim]).
        B, T, C = x.size()
        H, D = self.n_head, self.head_dim
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)   # each [B, T, C]
        q = q.view(B, T, H, D).permute(0, 2, 1, 3)           # [B, H, T, D]
        k = k.view(B, T, H, D).permute(0, 2, 1, 3)
        v = v.view(B, T, H, D).permute(0, 2, 1, 3)
        if layer_past is not None:
            k = torch.cat((layer_past[0], k), dim=-2)        # [B, H, S, D]
            v = torch.cat((layer_past[1], v), dim=-2)
        present = (k, v)
        if FUSED_ATTENTION and self.training and layer_past is None:
            # no past: the mask is the plain causal one, which is_causal states
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout.p, is_causal=True)  # [B, H, T, D]
            y = y.permute(0, 2, 1, 3).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y)), present
        S = k.size(-2)
        q3 = q.reshape(B * H, T, D)                            # [B*H, T, D]
        k3 = k.reshape(B * H, S, D)                            # [B*H, S, D]
        v3 = v.reshape(B * H, S, D)
        att = torch.bmm(q3, k3.transpose(1, 2))                # [B*H, T, S]
        # HF divides by a 0-d tensor holding sqrt(head_dim); same here
        att = att / torch.full([], D ** 0.5, dtype=att.dtype, device=att.device)
        mask_value = torch.full([], torch.finfo(att.dtype).min, dtype=att.dtype, device=att.device)
        att = torch.where(mask, att, mask_value)
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = torch.bmm(att, v3)                                 # [B*H, T, D]
        y = y.view(B, H, T, D).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y, present


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, cfg.mlp_dim)
        self.c_proj = Conv1D(cfg.mlp_dim, cfg.n_embd)
        self.act = ACTIVATIONS[cfg.activation_function]
        self.dropout = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, mask, layer_past=None):
        a, present = self.attn(self.ln_1(x), mask, layer_past)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT2Model(nn.Module):
    """The transformer body: names under `transformer.` in GPT2LMHeadModel."""

    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)      # [n_vocab, n_embd]
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)     # [n_ctx, n_embd]
        self.drop = nn.Dropout(cfg.embd_pdrop)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)

    def forward(self, input_ids, past_key_values=None):
        # input_ids: [B, T] int64. Returns (h [B, T, n_embd], presents: list of (k, v)).
        B, T = input_ids.size()
        past_len = past_key_values[0][0].size(-2) if past_key_values is not None else 0
        device = input_ids.device
        pos = torch.arange(past_len, past_len + T, dtype=torch.long, device=device)  # [T]
        h = self.drop(self.wte(input_ids) + self.wpe(pos).unsqueeze(0))
        # causal mask [T, S]: query t (absolute position past_len + t) sees keys 0..past_len+t
        q_pos = pos.unsqueeze(1)                                                    # [T, 1]
        k_pos = torch.arange(0, past_len + T, dtype=torch.long, device=device)      # [S]
        mask = k_pos.unsqueeze(0) <= q_pos                                           # [T, S]
        presents = []
        for i, block in enumerate(self.h):
            layer_past = past_key_values[i] if past_key_values is not None else None
            h, present = block(h, mask, layer_past)
            presents.append(present)
        return self.ln_f(h), presents


class GPT2LMHeadModel(nn.Module):
    """GPT-2 with a tied LM head. forward(input_ids) -> logits [B, T, n_vocab]."""

    def __init__(self, cfg):
        super().__init__()
        cfg.check()
        self.config = cfg
        self.transformer = GPT2Model(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight         # tied
        self.init_weights()

    def init_weights(self, std=0.02, generator=None):
        """GPT-2's initialisation: normal(0, std) matrices and embeddings, zero biases,
        LayerNorm weight 1 / bias 0, and the residual projections scaled by
        1/sqrt(2 * n_layer) as in GPT-2's paper."""
        proj_std = std / math.sqrt(2 * self.config.n_layer)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                    p.fill_(1.0)
                elif name.endswith(".bias"):
                    p.zero_()
                elif name.endswith("c_proj.weight"):
                    p.normal_(0.0, proj_std, generator=generator)
                else:
                    p.normal_(0.0, std, generator=generator)

    def forward(self, input_ids, past_key_values=None, use_cache=False):
        """input_ids [B, T] int64; past_key_values: None or one (key, value) per layer,
        each [B, n_head, P, head_dim]. Returns logits [B, T, n_vocab], or with
        use_cache (logits, presents) where presents are the (key, value) pairs
        [B, n_head, P + T, head_dim] to pass back as past_key_values."""
        h, presents = self.transformer(input_ids, past_key_values)
        logits = self.lm_head(h)
        if use_cache:
            return logits, presents
        return logits

    def export_state_dict(self):
        """State dict without the tied lm_head.weight (what safetensors files hold)."""
        return {k: v for k, v in self.state_dict().items() if k != "lm_head.weight"}


# ---------------------------------------------------------------- state dict loading

_HF_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def normalize_state_dict(sd, cfg):
    """Map an HF (or our) GPT-2 state dict onto this model's names.

    Accepts keys with or without the `transformer.` prefix; drops HF's attention mask
    buffers (attn.bias / attn.masked_bias); checks that an lm_head.weight, if present,
    equals wte (the head must be tied). Returns {name: tensor} with exactly the
    model's parameter names except lm_head.weight. Raises ValueError otherwise.
    """
    out = {}
    lm_head = None
    for key, value in sd.items():
        if key.endswith(_HF_IGNORED_SUFFIXES):
            continue
        if key == "lm_head.weight":
            lm_head = value
            continue
        name = key if key.startswith("transformer.") else "transformer." + key
        if name in out:
            raise ValueError("state dict: %s appears twice (with and without prefix)" % key)
        out[name] = value
    wte = out.get("transformer.wte.weight")
    if lm_head is not None and wte is not None and not torch.equal(lm_head.to(wte.dtype), wte):
        raise ValueError("state dict: lm_head.weight differs from transformer.wte.weight "
                         "(an untied head is not supported)")
    return out


def model_from_state_dict(sd, cfg):
    """Build a GPT2LMHeadModel (float32, CPU, eval mode) from a state dict, strictly:
    any missing, unexpected or wrongly-shaped tensor raises ValueError."""
    model = GPT2LMHeadModel(cfg)
    sd = normalize_state_dict(sd, cfg)
    want = model.export_state_dict()
    missing = sorted(set(want) - set(sd))
    extra = sorted(set(sd) - set(want))
    if missing or extra:
        raise ValueError("state dict does not match the config: missing %s, unexpected %s"
                         % (missing[:8], extra[:8]))
    for name, t in want.items():
        if tuple(sd[name].shape) != tuple(t.shape):
            raise ValueError("state dict: %s has shape %s, config wants %s"
                             % (name, list(sd[name].shape), list(t.shape)))
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    return model.eval()


def with_positions(model, n):
    """The same model with only its first n position embeddings (n <= n_positions), so that
    whoever runs it never reaches positions it was not trained on: train.py trains windows of
    --block-size tokens, and a model made with a larger n_positions has untrained rows after
    them (their loss was 4.4-5.0 nats against 3.4 before, for the default model). Returns a
    new float32 model in eval mode; n == n_positions returns `model` itself."""
    cfg = model.config
    if not 1 <= n <= cfg.n_positions:
        raise ValueError("positions %d: the model has 1..%d" % (n, cfg.n_positions))
    if n == cfg.n_positions:
        return model
    sd = dict(model.export_state_dict())
    sd["transformer.wpe.weight"] = sd["transformer.wpe.weight"][:n].clone()
    small = GPT2Config.from_dict(dict(cfg.to_dict(), n_positions=n))
    return model_from_state_dict(sd, small)


def trained_positions(path):
    """The positions a checkpoint file of train.py was trained on (its `trained_positions`:
    the largest --block-size it ran with), or None for files that do not say (older
    checkpoints, HF directories, safetensors)."""
    if not os.path.isfile(path) or path.endswith(".safetensors"):
        return None
    value = _torch_load(path).get("trained_positions")
    return int(value) if value is not None else None


def _torch_load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch without the weights_only argument
        return torch.load(path, map_location="cpu")
    except pickle.UnpicklingError:
        # torch 1.13's weights-only unpickler refuses plain floats, which our checkpoints hold
        # (config, optimizer settings): a full unpickle runs code, so load only files you trust.
        return torch.load(path, map_location="cpu")


def load_model(path):
    """Load a model from:
      - an HF checkpoint directory: config.json + model.safetensors or pytorch_model.bin;
      - a .safetensors file with config.json beside it;
      - our checkpoint file (torch.save of {"format": "autocorrect-gpt2", "version": 1,
        "config": {...}, "model": state_dict, ...}, as save_checkpoint writes).
    Returns a GPT2LMHeadModel in eval mode on CPU (float32). Raises ValueError or
    OSError with a message naming the file on failure.
    """
    if os.path.isdir(path):
        cfg = load_config(os.path.join(path, "config.json"))
        st = os.path.join(path, "model.safetensors")
        pt = os.path.join(path, "pytorch_model.bin")
        if os.path.exists(st):
            sd, _ = safetensors_load(st)
        elif os.path.exists(pt):
            sd = _torch_load(pt)
        else:
            raise OSError("%s: no model.safetensors or pytorch_model.bin" % path)
        return model_from_state_dict(sd, cfg)
    if path.endswith(".safetensors"):
        cfg = load_config(os.path.join(os.path.dirname(path) or ".", "config.json"))
        sd, _ = safetensors_load(path)
        return model_from_state_dict(sd, cfg)
    ckpt = _torch_load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("%s: not an %s checkpoint (and not an HF directory)"
                         % (path, CHECKPOINT_FORMAT))
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError("%s: checkpoint version %r, this code reads %d"
                         % (path, ckpt.get("version"), CHECKPOINT_VERSION))
    return model_from_state_dict(ckpt["model"], GPT2Config.from_dict(ckpt["config"]))


def load_config(path):
    with open(path, "r", encoding="utf-8") as f:
        return GPT2Config.from_dict(json.load(f))


def save_checkpoint(model, path, extra=None):
    """Write our checkpoint file (see load_model); `extra` adds keys (optimizer state,
    step, ...) that load_model ignores."""
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "config": model.config.to_dict(), "model": model.export_state_dict()}
    if extra:
        ckpt.update(extra)
    torch.save(ckpt, path)


def save_hf_dir(model, out_dir, prefix=True):
    """Write an HF-style directory: config.json + model.safetensors (float32, names with
    the `transformer.` prefix unless prefix=False; no lm_head.weight, as it is tied)."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(model.config.to_dict(), f, indent=2, sort_keys=True)
        f.write("\n")
    sd = model.export_state_dict()
    if not prefix:
        sd = {k[len("transformer."):]: v for k, v in sd.items()}
    safetensors_save(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
