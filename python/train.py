"""Train the GPT-2 language model on a tokenized corpus: from scratch, or fine-tuning our
checkpoint or a Hugging Face GPT-2 checkpoint.

This is: the training loop (AdamW, warmup + cosine learning rate, gradient accumulation,
resumable checkpoints, validation perplexity, a progress line, a loss-curve PNG), on CPU
(Debian's torch 1.13) or CUDA (torch 2.x, bf16 autocast), on one process or several through
torchrun (DistributedDataParallel; gloo on CPU, nccl on CUDA).
This is not: tokenization (python/prepare_data.py writes the .bin files this reads) or
export (python/export_model.py).

Data: DIR/train.bin and DIR/valid.bin hold little-endian uint16 token ids, documents
separated by the end-of-text id; DIR/meta.json says {"vocab_size": N, "eot_id": N-1,
"valid_bytes": bytes of text behind valid.bin, ...}. Batches are random windows of
block_size + 1 tokens.

Output (--out DIR): ckpt.pt (the latest state, resumable: model, optimizer, step, tokens,
rng), best.pt (the weights with the best validation loss, as python/model.py's checkpoint),
log.jsonl (one line per evaluation), loss.png.

    /usr/bin/python3 python/train.py --data data/tokens --out data/train/default \
        --n-layer 6 --n-embd 256 --n-head 8 --block-size 128 --max-time 120
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT2Config, GPT2LMHeadModel, load_model, save_checkpoint  # noqa: E402
from model import trained_positions as recorded_positions  # noqa: E402

# Defaults, as one visible block (config is data): a 6-layer d256 model, the size DESIGN.md
# measured; the command line overrides each.
DEFAULTS = dict(
    n_layer=6, n_embd=256, n_head=8, block_size=128, n_positions=256,
    batch_size=16, grad_accum=1, lr=1e-3, min_lr=1e-4, warmup_steps=200, weight_decay=0.1,
    beta1=0.9, beta2=0.95, grad_clip=1.0, max_steps=0, max_tokens=0, max_time=0.0,
    eval_interval=250, eval_tokens=65536, save_interval_s=300.0, seed=1337, threads=0,
    dropout=0.0,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="directory with train.bin, valid.bin, meta.json")
    p.add_argument("--out", required=True, help="directory for checkpoints and logs")
    p.add_argument("--init", default="scratch",
                   help="'scratch', our checkpoint file, or an HF checkpoint directory to fine-tune")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/ckpt.pt if it exists (otherwise start as --init says)")
    for k, v in DEFAULTS.items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--dtype", default="auto",
                   help="auto (bf16 on CUDA and on CPUs with native bf16 arithmetic, else f32), f32 or bf16")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (torch 2.x)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    a = p.parse_args(argv)
    if a.max_steps <= 0 and a.max_tokens <= 0 and a.max_time <= 0:
        p.error("give a budget: --max-steps, --max-tokens or --max-time (minutes)")
    return a


# ---------------------------------------------------------------- distributed setup

def setup_distributed(device_arg):
    """Returns (rank, world_size, device). Under torchrun (RANK/WORLD_SIZE set) it joins the
    process group: nccl on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_arg == "auto":
        device_arg = "cuda" if torch.cuda.is_available() else "cpu"
    if device_arg == "cuda" and world > 1:
        if local_rank >= torch.cuda.device_count():
            raise SystemExit("train: process %d of this machine wants a GPU of its own, and there are %d: "
                             "start at most that many (torchrun --nproc_per_node), or --device cpu"
                             % (local_rank, torch.cuda.device_count()))
        device_arg = "cuda:%d" % local_rank
    device = torch.device(device_arg)
    if device.type == "cuda":
        if device.index is None:  # torch 2.x's set_device wants an index: "cuda" is the current one
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    if world > 1:
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


# ---------------------------------------------------------------- data

class TokenData:
    """Random training windows and fixed validation windows over uint16 token files."""

    def __init__(self, data_dir, block_size):
        with open(os.path.join(data_dir, "meta.json"), encoding="utf-8") as f:
            self.meta = json.load(f)
        self.block_size = block_size
        self.train = self._open(os.path.join(data_dir, "train.bin"))
        self.valid = self._open(os.path.join(data_dir, "valid.bin"))
        self.vocab_size = int(self.meta["vocab_size"])

    def _open(self, path):
        arr = np.memmap(path, dtype=np.dtype("<u2"), mode="r")
        if len(arr) < self.block_size + 2:
            raise ValueError("%s holds %d tokens, fewer than block_size + 2 = %d"
                             % (path, len(arr), self.block_size + 2))
        return arr

    def batch(self, gen, batch_size, device):
        """x, y: [batch_size, block_size] int64; y is x shifted by one token."""
        T = self.block_size
        starts = torch.randint(0, len(self.train) - T - 1, (batch_size,), generator=gen)
        rows = [torch.from_numpy(self.train[s:s + T + 1].astype(np.int64)) for s in starts.tolist()]
        xy = torch.stack(rows)
        return xy[:, :-1].to(device, non_blocking=True), xy[:, 1:].to(device, non_blocking=True)

    def valid_windows(self, n_tokens):
        """Non-overlapping windows over the first n_tokens of valid.bin (all of it if 0 or
        larger): a fixed set, so validation losses compare across runs."""
        T = self.block_size
        n = len(self.valid) - 1
        if n_tokens > 0:
            n = min(n, n_tokens)
        count = max(1, n // T)
        return [(i * T, T) for i in range(count)]


@torch.no_grad()
def evaluate(model, data, windows, device, batch_size, autocast):
    """Mean cross-entropy (nats per token) over the validation windows, and the token count."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch_size):
        chunk = windows[i:i + batch_size]
        xy = torch.stack([torch.from_numpy(data.valid[s:s + T + 1].astype(np.int64)) for s, T in chunk])
        x, y = xy[:, :-1].to(device), xy[:, 1:].to(device)
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
        total += loss.item()
        count += y.numel()
    model.train()
    return total / max(count, 1), count


# ---------------------------------------------------------------- schedule, progress, plot

def learning_rate(step, a, total_steps):
    """Linear warmup, then cosine decay to min_lr at total_steps (constant after)."""
    if step < a.warmup_steps:
        return a.lr * (step + 1) / a.warmup_steps
    if total_steps <= a.warmup_steps:
        return a.lr
    t = min(1.0, (step - a.warmup_steps) / (total_steps - a.warmup_steps))
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * t))


def format_seconds(s):
    s = int(max(0, s))
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def progress_line(step, total_steps, loss, tok_s, elapsed, remaining):
    width = 24
    frac = min(1.0, step / total_steps) if total_steps else 0.0
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    return "\r[%s] step %d/%d  loss %.4f  %.0f tok/s  elapsed %s  left %s " % (
        bar, step, total_steps, loss, tok_s, format_seconds(elapsed), format_seconds(remaining))


def plot_losses(log_path, png_path):
    """Draw train and validation loss against tokens seen from log.jsonl into png_path."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("train: matplotlib is not installed; no loss curve", file=sys.stderr)
        return
    rows = [json.loads(line) for line in open(log_path, encoding="utf-8") if line.strip()]
    if not rows:
        return
    tok = [r["tokens"] / 1e6 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(tok, [r["train_loss"] for r in rows], label="train")
    ax.plot(tok, [r["valid_loss"] for r in rows], label="validation")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------- model set-up

def build_model(a, data, device):
    """(model, positions): a fresh model from the hyperparameters, or the --init checkpoint to
    fine-tune, and the positions that checkpoint was trained on already (init_trained_positions)."""
    if a.init == "scratch":
        # --dropout sets GPT-2's three dropouts (embeddings, attention, residual): worth it when
        # the corpus is seen many times over, as on a GPU; no effect in eval or export.
        cfg = GPT2Config(vocab_size=data.vocab_size, n_positions=a.n_positions, n_embd=a.n_embd,
                         n_layer=a.n_layer, n_head=a.n_head, embd_pdrop=a.dropout,
                         attn_pdrop=a.dropout, resid_pdrop=a.dropout)
        torch.manual_seed(a.seed)
        model = GPT2LMHeadModel(cfg)
    else:
        model = load_model(a.init)
        if model.config.vocab_size != data.vocab_size:
            raise SystemExit("train: %s has vocab_size %d but the data has %d: tokenize the data "
                             "with the model's own tokenizer" % (a.init, model.config.vocab_size,
                                                                 data.vocab_size))
    if a.block_size > model.config.n_positions:
        raise SystemExit("train: --block-size %d is over the model's n_positions %d"
                         % (a.block_size, model.config.n_positions))
    already = init_trained_positions(a.init, model.config.n_positions) or 0
    if max(a.block_size, already) < model.config.n_positions:
        print("train: note: positions 0-%d of the model's %d are trained (windows of %d tokens%s); "
              "the checkpoints record it (trained_positions) and export_model.py keeps only those"
              % (max(a.block_size, already) - 1, model.config.n_positions, a.block_size,
                 ", %d by the --init model" % already if already else ""), file=sys.stderr)
    return model.to(device).train(), already


def init_trained_positions(init, n_positions):
    """The positions an --init model was trained on already: a train.py checkpoint's record (None
    when an older one does not say), or all n_positions of an exported model (an HF directory or
    .safetensors: our exports keep only the trained positions, and GPT-2's own checkpoints trained
    all of theirs). None from scratch. `autocorrect adapt` trains 128-token windows on the shipped
    model, whose 256 positions were all trained: without this its export would drop 128 of them."""
    if init == "scratch":
        return None
    if os.path.isdir(init) or init.endswith(".safetensors"):
        return n_positions
    return recorded_positions(init)


def make_optimizer(model, a, device):
    """AdamW with weight decay on matrices only (not biases, LayerNorms, embeddings' rows
    are matrices and do decay, as in GPT-2 recipes)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": a.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    kwargs = dict(lr=a.lr, betas=(a.beta1, a.beta2))
    if device.type == "cuda":
        kwargs["fused"] = True
    try:
        return torch.optim.AdamW(groups, **kwargs)
    except TypeError:  # torch without fused AdamW
        kwargs.pop("fused", None)
        return torch.optim.AdamW(groups, **kwargs)


def cpu_has_native_bf16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX): there bf16 autocast
    trains about twice as fast as f32 (measured on the default model: 4,650 vs 2,580 tokens/s on
    one thread, the same loss to 4 digits after 30 steps); elsewhere it would be emulated, slower."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


# With a time budget (--max-time), the schedule is sized to the steps that fit in it: the first
# FIT_SKIP_STEPS steps of a run are not timed (compilation, allocator and cache warm-up), the next
# FIT_MEASURE_STEPS are. A step budget smaller than that stays as it is.
FIT_SKIP_STEPS = 10
FIT_MEASURE_STEPS = 40
FIT_MARGIN = 0.97  # evaluations and checkpoints take some of the time too


def steps_within_budget(step, elapsed, measure_t0, measured_steps, time_budget):
    """The step count at which a run now at `step`, `elapsed` seconds in, ends its time budget,
    from the speed over the last `measured_steps` steps (which began at `measure_t0` seconds)."""
    per_step = (elapsed - measure_t0) / max(1, measured_steps)
    left = max(0.0, time_budget - elapsed) * FIT_MARGIN
    return step + max(1, int(left / max(per_step, 1e-9)))


def main(argv=None):
    a = parse_args(argv)
    rank, world, device = setup_distributed(a.device)
    master = rank == 0
    if device.type == "cpu":
        torch.set_num_threads(a.threads if a.threads > 0 else max(1, (os.cpu_count() or 1) // world))
        torch.set_flush_denormal(True)
    use_bf16 = a.dtype == "bf16" or (a.dtype == "auto" and (device.type == "cuda" or cpu_has_native_bf16()))
    if use_bf16:
        def autocast():
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    else:
        import contextlib
        autocast = contextlib.nullcontext

    data = TokenData(a.data, a.block_size)
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    log_path = os.path.join(a.out, "log.jsonl")

    state = None
    if a.resume and os.path.exists(ckpt_path):
        state = torch.load(ckpt_path, map_location="cpu")
        model = load_model(ckpt_path).to(device).train()
        init_positions = init_trained_positions(a.init, model.config.n_positions) or 0
        if master:
            print("train: resuming from %s at step %d (%.1fM tokens)"
                  % (ckpt_path, state["step"], state["tokens"] / 1e6), file=sys.stderr)
    else:
        model, init_positions = build_model(a, data, device)
        if master and os.path.exists(log_path):
            os.remove(log_path)  # a fresh run starts a fresh log
    optimizer = make_optimizer(model, a, device)
    # The positions this model has been trained on: windows of --block-size tokens, whatever its
    # n_positions, and those the --init model had been trained on already. Checkpoints carry it so
    # that export_model.py drops the untrained rest.
    trained_positions = max(a.block_size, (state or {}).get("trained_positions") or 0, init_positions)
    step, tokens, best_valid, train_seconds = 0, 0, float("inf"), 0.0
    gen = torch.Generator().manual_seed(a.seed + rank)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        step, tokens = state["step"], state["tokens"]
        best_valid = state.get("best_valid", best_valid)
        train_seconds = state.get("train_seconds", 0.0)
        if world == 1 and state.get("world", 1) == 1:
            gen.set_state(state["rng"])
        else:  # generator states are per rank and not gathered: reseed by rank and step
            gen.manual_seed(a.seed + rank + 7919 * step)

    raw_model = model
    if a.compile and hasattr(torch, "compile"):
        model = torch.compile(model)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    tokens_per_step = a.batch_size * a.grad_accum * a.block_size * world
    total_steps = a.max_steps if a.max_steps > 0 else 0
    if a.max_tokens > 0:
        by_tokens = math.ceil(a.max_tokens / tokens_per_step)
        total_steps = min(total_steps, by_tokens) if total_steps else by_tokens
    time_budget = a.max_time * 60.0 if a.max_time > 0 else float("inf")
    if not total_steps:
        total_steps = 10 ** 9  # only the time budget limits; the schedule then assumes a guess
        schedule_steps = max(a.warmup_steps * 10, 10000)
    else:
        schedule_steps = total_steps
    windows = data.valid_windows(a.eval_tokens)
    n_params = sum(p.numel() for p in raw_model.parameters())
    if master:
        print("train: %.2fM parameters, %d tokens/step, %d train tokens, %d valid windows, device %s%s"
              % (n_params / 1e6, tokens_per_step, len(data.train), len(windows), device,
                 ", bf16" if use_bf16 else ""), file=sys.stderr)

    def save(final=False):
        if not master:
            return
        tmp = ckpt_path + ".tmp"
        save_checkpoint(raw_model, tmp, extra={
            "optimizer": optimizer.state_dict(), "step": step, "tokens": tokens,
            "rng": gen.get_state(), "world": world,
            "best_valid": best_valid, "train_seconds": train_seconds, "args": vars(a),
            "trained_positions": trained_positions})
        os.replace(tmp, ckpt_path)  # atomic: an interrupted save never corrupts ckpt.pt

    def run_eval():
        nonlocal best_valid
        vloss, vcount = evaluate(raw_model, data, windows, device, a.batch_size, autocast)
        if world > 1:
            t = torch.tensor([vloss], device=device)
            torch.distributed.broadcast(t, 0)
            vloss = t.item()
        row = {"step": step, "tokens": tokens, "train_loss": smooth_loss, "valid_loss": vloss,
               "valid_ppl": math.exp(min(vloss, 50)), "seconds": round(train_seconds, 1)}
        covered = vcount / max(1, len(data.valid) - 1)
        if "valid_bytes" in data.meta and covered >= 0.9:
            # bits per byte of text: comparable across tokenizers (and with an n-gram model).
            # Only over (nearly) the whole validation file, whose byte count meta.json holds.
            row["valid_bits_per_byte"] = vloss * vcount / math.log(2) / (data.meta["valid_bytes"] * covered)
        if master:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            if vloss < best_valid:
                best_valid = vloss
                save_checkpoint(raw_model, os.path.join(a.out, "best.pt"),
                                extra={"trained_positions": trained_positions})
            plot_losses(log_path, os.path.join(a.out, "loss.png"))
            if not a.quiet:
                sys.stderr.write("\n")
            print("train: step %d  tokens %.2fM  train %.4f  valid %.4f  ppl %.2f"
                  % (step, tokens / 1e6, smooth_loss, vloss, row["valid_ppl"]), file=sys.stderr)
        return vloss

    smooth_loss = float("nan")
    # The loss stays on the device between prints: a .item() every step would make the host wait
    # for the accelerator each step (on CUDA that idles it while the next batch is cut).
    smooth_loss_t = None
    t_start = time.time()
    last_save = time.time()
    last_print = 0.0
    run_tokens, run_seconds = 0, 0.0
    run_first_step = step
    fitted = a.max_time <= 0  # with a time budget, the schedule is sized once from measured steps
    while step < total_steps:
        t0 = time.time()
        lr = learning_rate(step, a, schedule_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=device)
        for micro in range(a.grad_accum):
            x, y = data.batch(gen, a.batch_size, device)
            sync = micro == a.grad_accum - 1
            ctx = model.no_sync() if (world > 1 and not sync) else _null()
            with ctx:
                with autocast():
                    logits = model(x)
                loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
                (loss / a.grad_accum).backward()
            loss_sum += loss.detach() / a.grad_accum
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), a.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens += tokens_per_step
        dt = time.time() - t0
        train_seconds += dt
        run_tokens += tokens_per_step
        run_seconds += dt
        smooth_loss_t = loss_sum if smooth_loss_t is None else 0.95 * smooth_loss_t + 0.05 * loss_sum
        elapsed = time.time() - t_start
        out_of_time = elapsed >= time_budget
        if not fitted and step - run_first_step >= FIT_MEASURE_STEPS + FIT_SKIP_STEPS:
            fitted = True
            fit = steps_within_budget(step, elapsed, fit_t0, step - fit_step0, time_budget)
            if world > 1:  # every rank must agree on the schedule: the slowest rank's count
                t = torch.tensor([float(fit)], device=device)
                torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MIN)
                fit = int(t.item())
            if fit < total_steps:
                total_steps = schedule_steps = fit
                if master:
                    print("\ntrain: the time budget fits %d steps at the measured speed: the learning "
                          "rate schedule now ends there" % fit, file=sys.stderr)
        if step - run_first_step == FIT_SKIP_STEPS:
            fit_t0, fit_step0 = elapsed, step  # steps before this one include compilation and warm-up
        if world > 1:  # every rank must stop at the same step
            flag = torch.tensor([1.0 if out_of_time else 0.0], device=device)
            torch.distributed.all_reduce(flag)
            out_of_time = flag.item() > 0
        if master and not a.quiet and time.time() - last_print > 1.0:
            smooth_loss = smooth_loss_t.item()
            tok_s = run_tokens / max(run_seconds, 1e-9)
            if a.max_time > 0 and (total_steps >= 10 ** 9 or elapsed / max(step, 1) * (total_steps - step) > time_budget - elapsed):
                remaining = time_budget - elapsed
                shown_total = step + int(remaining / max(run_seconds / max(1, run_tokens / tokens_per_step), 1e-9))
            else:
                remaining = (total_steps - step) * tokens_per_step / max(tok_s, 1e-9)
                shown_total = total_steps
            sys.stderr.write(progress_line(step, shown_total, smooth_loss, tok_s, elapsed, remaining))
            sys.stderr.flush()
            last_print = time.time()
        if step % a.eval_interval == 0 or step == total_steps or out_of_time:
            smooth_loss = smooth_loss_t.item()
            run_eval()
        if time.time() - last_save > a.save_interval_s or step == total_steps or out_of_time:
            save()
            last_save = time.time()
        if out_of_time:
            break
    if master:
        save()
        print("train: done at step %d, %.2fM tokens, best validation loss %.4f (ppl %.2f); %s"
              % (step, tokens / 1e6, best_valid, math.exp(min(best_valid, 50)), a.out), file=sys.stderr)
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
