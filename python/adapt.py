#!/usr/bin/python3
"""Adapt the default model to your own writing: one command, on CPU, in minutes.

    /usr/bin/python3 python/adapt.py FOLDER [--model DIR] [--out DIR] [--minutes 10]
        [--config PATH] [--git] [--dry-run]
    autocorrect adapt FOLDER ...        (the CLI runs this script)

What it does, in order:
  1. gathers text from FOLDER (recursively): notes (.txt .md .markdown .rst .org .text), mail
     (.eml files, mbox files, Maildir messages: headers, quoted replies, attribution lines,
     signatures and forwarded copies stripped; HTML-only mail reduced to its text) and, with
     --git, the commit messages of FOLDER's git repository (your own, by `git config user.email`,
     unless --git-all-authors). Hidden folders, binary files and files over --max-file-mb are
     skipped. It prints what it found;
  2. holds out about 10% of the documents (at least 4 KB, at most 100 KB of text) for validation;
  3. tokenizes with the model's own tokenizer (`autocorrect tokenize --out-u16`);
  4. fine-tunes the model's float weights with python/train.py: learning rate 3e-4 falling to
     3e-5 (the default model trained at 1e-3), 20 warm-up steps, for --minutes or --epochs passes
     over your text, whichever ends first (a few timed steps first fit the schedule's length to
     the time), keeping the checkpoint with the best loss on the first 16k held-out tokens.
     Against forgetting, 20% of the fine-tuning tokens are the original training data when it is
     at hand (data/tokens/train.bin in a source tree, or --mix-data);
  5. reports validation perplexity per character before and after, on your held-out text (and
     on the original validation text when at hand);
  6. exports int8 ONNX into --out with the tokenizer, the dictionary (the model's dictionary.tsv)
     and float16 weights (model.safetensors, so you can adapt it again later); a previous model
     in --out is kept as OUT.previous;
  7. sets model_path in your config file ($XDG_CONFIG_HOME/autocorrect/config.toml), changing
     only that line (a copy of the old file is kept next to it), and tells you how to reload the
     daemon.

This is not: training from scratch (python/train.py), nor the corpus tools (python/corpus/).
The model directory must hold config.json, the tokenizer (vocab.json + merges.txt) and float
weights: model.safetensors (float32 or float16), or else an int8/fp16/f32 model.onnx written by
export_model.py, whose weights are dequantized.
"""

import argparse
import datetime
import email
import email.policy
import hashlib
import html.parser
import json
import mailbox
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)    # the source tree, or PREFIX/share/autocorrect once installed
sys.path.insert(0, HERE)

EOT_TEXT = "<|endoftext|>"
NOTE_EXTS = {".txt", ".md", ".markdown", ".rst", ".org", ".text"}
MAIL_EXTS = {".eml", ".mbox", ".mbx"}
SKIP_DIRS = {"node_modules", "__pycache__", "venv", ".venv"}
MIN_TOKENS = 2000
EVAL_TOKENS = 16384   # held-out tokens train.py validates on (picking the best checkpoint)

# Fine-tuning settings, as one visible block (the command line overrides each).
DEFAULTS = dict(lr=3e-4, min_lr=3e-5, warmup_steps=20, batch_size=16, block_size=128,
                epochs=4.0, mix_fraction=0.2, valid_fraction=0.1, valid_min_chars=4000,
                valid_max_chars=100000, max_file_mb=20.0)


def say(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------------- gathering text

class _HTMLText(html.parser.HTMLParser):
    """Text of an HTML mail body: paragraphs and line breaks kept, scripts and styles dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1
        elif tag in ("p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(s):
    p = _HTMLText()
    p.feed(s)
    return "".join(p.parts)


_ATTRIBUTION = re.compile(r"^(on .{0,200}wrote:|.{0,100}\bwrote:|le .{0,200}a écrit\s?:|am .{0,200}schrieb .{0,100}:)\s*$",
                          re.IGNORECASE)
_FORWARD_CUT = re.compile(r"^\s*(-{2,}\s*(original message|forwarded message)\s*-{2,}|begin forwarded message:)",
                          re.IGNORECASE)
_OUTLOOK_HEADER = re.compile(r"^\s*(from|sent|to|subject|date|cc):\s", re.IGNORECASE)


def clean_mail_body(text):
    """The author's own words of a plain-text mail body: quoted lines ("> ..."), the attribution
    line before a quote ("On Monday, Ann wrote:"), the signature (from a "-- " line) and
    forwarded or "Original Message" copies (everything from their marker) are removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.rstrip() == "--":
            break                                   # the signature delimiter "-- " (or "--")
        if _FORWARD_CUT.match(line):
            break
        if (_OUTLOOK_HEADER.match(line) and i > 0 and not lines[i - 1].strip()
                and any(_OUTLOOK_HEADER.match(x) for x in lines[i + 1:i + 3])):
            break                                   # a pasted header block of a quoted mail
        if line.lstrip().startswith(">"):
            # drop the quote and an attribution line (and blank lines) just before it
            while out and not out[-1].strip():
                out.pop()
            if out and _ATTRIBUTION.match(out[-1].strip()):
                out.pop()
            continue
        out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    # an attribution whose quote was cut off
    if out and _ATTRIBUTION.match(out[-1].strip()):
        out.pop()
    text = "\n".join(out).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def mail_text(msg):
    """The cleaned body of an email.message.Message (headers never included): its text/plain
    parts that are not attachments, else its text/html parts reduced to text."""
    plain, htmls = [], []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        disp = (part.get("Content-Disposition") or "").lower()
        if disp.startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True)
            if payload is None:
                continue
            charset = part.get_content_charset() or "utf-8"
            try:
                body = payload.decode(charset, errors="replace")
            except LookupError:
                body = payload.decode("utf-8", errors="replace")
        except Exception:  # noqa: BLE001 (a broken part is skipped, not fatal)
            continue
        (plain if ctype == "text/plain" else htmls).append(body)
    bodies = plain or [html_to_text(h) for h in htmls]
    return "\n\n".join(t for t in (clean_mail_body(b) for b in bodies) if t.strip())


def _strip_markup(text, ext):
    """Notes: drop code blocks and front matter, which are not prose you would type."""
    if ext in (".md", ".markdown"):
        text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)            # YAML front matter
        text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    elif ext == ".org":
        text = re.sub(r"^\s*#\+begin_(src|example).*?^\s*#\+end_\1[^\n]*$", "", text,
                      flags=re.S | re.M | re.I)
        text = re.sub(r"^\s*#\+\w+:.*$", "", text, flags=re.M)
    elif ext == ".rst":
        text = re.sub(r"^\.\. code(-block)?::.*?(?=^\S)", "", text, flags=re.S | re.M)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode_text(data):
    """Text of a file's bytes, or None when it looks binary (a NUL byte, or not UTF-8 and
    mostly non-printable in Latin-1)."""
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        bad = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\t\n\r\f")
        return None if bad > len(text[:8192]) * 0.01 else text


def _looks_like_mbox(first):
    return first.startswith(b"From ") and b"\n" in first


def _looks_like_message(first):
    return re.match(rb"^(Return-Path|Received|From|Date|Message-ID|Delivered-To|X-[\w-]+):", first, re.I) is not None


class Found:
    """What gathering found: documents (text, kind, source) and what it skipped."""

    def __init__(self):
        self.docs = []          # (text, kind, source)
        self.files = {"notes": 0, "mail": 0}
        self.messages = 0
        self.commits = 0
        self.skipped = []       # (path, why)
        self.duplicates = 0
        self._seen = set()

    def add(self, text, kind, source):
        """Adds a document; an exact copy of one already added (the same mail in two folders, a
        note saved twice) is counted, not added."""
        text = text.replace(EOT_TEXT, "").strip()
        if not text:
            return
        h = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).digest()
        if h in self._seen:
            self.duplicates += 1
            return
        self._seen.add(h)
        self.docs.append((text, kind, source))

    def chars(self, kind=None):
        return sum(len(t) for t, k, _ in self.docs if kind is None or k == kind)

    def bytes(self, kind=None):
        return sum(len(t.encode("utf-8")) for t, k, _ in self.docs if kind is None or k == kind)


def gather(folder, max_file_mb=20.0, git=False, git_all_authors=False):
    """Walks `folder` and returns a Found. Never follows symbolic links; skips hidden folders."""
    found = Found()
    limit = int(max_file_mb * 1e6)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        in_maildir = os.path.basename(dirpath) in ("cur", "new")
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            ext = os.path.splitext(name)[1].lower()
            size = os.path.getsize(path)
            try:
                with open(path, "rb") as f:
                    first = f.read(512)
            except OSError as e:
                found.skipped.append((path, str(e)))
                continue
            is_note = ext in NOTE_EXTS
            is_mbox = ext in (".mbox", ".mbx") or (ext == "" and name.lower() in ("mbox", "inbox", "sent")
                                                    and _looks_like_mbox(first))
            is_msg = ext == ".eml" or (in_maildir and _looks_like_message(first))
            if not (is_note or is_mbox or is_msg):
                continue
            if size > limit:
                found.skipped.append((path, "%.1f MB is over --max-file-mb %g" % (size / 1e6, max_file_mb)))
                continue
            if b"\0" in first:
                found.skipped.append((path, "binary"))
                continue
            try:
                if is_mbox:
                    n = 0
                    box = mailbox.mbox(path, create=False)
                    for msg in box:
                        found.add(mail_text(msg), "mail", path)
                        n += 1
                    box.close()
                    found.files["mail"] += 1
                    found.messages += n
                elif is_msg:
                    with open(path, "rb") as f:
                        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
                    found.add(mail_text(msg), "mail", path)
                    found.files["mail"] += 1
                    found.messages += 1
                else:
                    with open(path, "rb") as f:
                        text = _decode_text(f.read())
                    if text is None:
                        found.skipped.append((path, "binary"))
                        continue
                    found.add(_strip_markup(text, ext), "notes", path)
                    found.files["notes"] += 1
            except Exception as e:  # noqa: BLE001 (one unreadable file must not stop the run)
                found.skipped.append((path, "%s: %s" % (type(e).__name__, e)))
    if git:
        gather_git(folder, found, all_authors=git_all_authors)
    return found


def gather_git(folder, found, all_authors=False):
    """Adds the commit messages of the git repository at `folder` (no merges): the user's own
    (git config user.email) unless all_authors."""
    try:
        inside = subprocess.run(["git", "-C", folder, "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True)
    except FileNotFoundError:
        found.skipped.append((folder, "git is not installed"))
        return
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        found.skipped.append((folder, "not a git repository (--git)"))
        return
    cmd = ["git", "-C", folder, "log", "--no-merges", "--format=%B%x00"]
    if not all_authors:
        me = subprocess.run(["git", "-C", folder, "config", "user.email"], capture_output=True, text=True)
        if me.returncode == 0 and me.stdout.strip():
            cmd.append("--author=" + me.stdout.strip())
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        found.skipped.append((folder, "git log failed: %s" % r.stderr.decode(errors="replace").strip()))
        return
    for msg in r.stdout.decode("utf-8", errors="replace").split("\0"):
        lines = [l for l in msg.strip().split("\n") if not re.match(r"^(Signed-off-by|Co-authored-by|Change-Id):", l)]
        text = "\n".join(lines).strip()
        if text:
            found.add(text, "commits", "git log")
            found.commits += 1


def split_docs(docs, valid_fraction, min_chars, max_chars):
    """(train texts, valid texts): documents in a fixed pseudo-random order (a hash of their
    text) go to validation until it holds valid_fraction of the characters (clamped to
    [min_chars, max_chars], and never more than half). With fewer than 4 documents the last
    part of each document, at a paragraph break, is held out instead."""
    total = sum(len(t) for t in docs)
    target = min(max(total * valid_fraction, min_chars), max_chars, total / 2)
    if len(docs) >= 4:
        order = sorted(range(len(docs)), key=lambda i: hashlib.sha256(docs[i].encode()).hexdigest())
        valid, have = set(), 0
        for i in order:
            if have >= target:
                break
            if have + len(docs[i]) > 2 * target and have > 0:
                continue
            valid.add(i)
            have += len(docs[i])
        if have >= target * 0.5 and len(valid) < len(docs):
            return ([d for i, d in enumerate(docs) if i not in valid],
                    [d for i, d in enumerate(docs) if i in valid])
    train, valid = [], []
    for d in docs:
        want = len(d) * target / max(total, 1)
        cut = d.rfind("\n\n", 0, max(1, len(d) - int(want)))
        if cut <= 0:
            cut = d.rfind(" ", 0, max(1, len(d) - int(want)))
        if cut <= 0:
            train.append(d)
            continue
        train.append(d[:cut].strip())
        valid.append(d[cut:].strip())
    return [t for t in train if t], [v for v in valid if v]


# ---------------------------------------------------------------------- the model

def find_autocorrect(given=None):
    """The `autocorrect` program: --autocorrect, the source tree's build, the installed one
    beside this script's share directory, then PATH."""
    cands = [given] if given else []
    cands += [os.path.join(ROOT, "build", "bin", "autocorrect"),
              os.path.join(ROOT, "..", "..", "bin", "autocorrect"),
              shutil.which("autocorrect")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def load_onnx_weights(model_dir):
    """Float weights of an ONNX file written by export_model.py (f32, fp16 or int8): a state dict
    with the HF names, dequantized (int8: q * scale per channel; fp16: cast to float32)."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
    proto = onnx.load(os.path.join(model_dir, "model.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    axes = {}
    for node in proto.graph.node:
        if node.op_type == "DequantizeLinear":
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            axes[node.output[0]] = (node.input[0], node.input[1], axis)
    sd = {}
    for name, (qn, sn, axis) in axes.items():
        q, s = inits[qn].astype(np.float32), inits[sn].astype(np.float32)
        shape = [1] * q.ndim
        shape[axis] = -1
        sd[name] = torch.from_numpy(q * s.reshape(shape))
    for name, arr in inits.items():
        if name.startswith("transformer.") and not name.endswith(("_quantized", "_scale", "_zero_point")):
            key = name[:-len("_fp16")] if name.endswith("_fp16") else name
            if key not in sd and arr.dtype.kind == "f":
                sd[key] = torch.from_numpy(arr.astype(np.float32))
    return sd


def load_base(model_dir):
    """The model to fine-tune, float32: from model.safetensors if there, else from model.onnx."""
    from model import load_config, load_model, model_from_state_dict
    if os.path.exists(os.path.join(model_dir, "model.safetensors")):
        return load_model(model_dir), "model.safetensors"
    if os.path.exists(os.path.join(model_dir, "model.onnx")):
        cfg = load_config(os.path.join(model_dir, "config.json"))
        return model_from_state_dict(load_onnx_weights(model_dir), cfg), "model.onnx (dequantized)"
    raise SystemExit("adapt: %s holds neither model.safetensors nor model.onnx" % model_dir)


def tokenize(exe, tok_dir, texts, txt_path, bin_path):
    """Writes the documents as a corpus file (documents separated by <|endoftext|> lines) and
    its uint16 ids; returns the number of tokens."""
    with open(txt_path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n" + EOT_TEXT + "\n")
    r = subprocess.run([exe, "tokenize", "--tokenizer", tok_dir, "--special", "--out-u16", bin_path, txt_path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("adapt: tokenizing failed: %s" % r.stderr.strip())
    return os.path.getsize(bin_path) // 2


def mix_source(given, model_dir, vocab_size):
    """The original training tokens to mix in, or (None, why): --mix-data if given ('' for
    none), else MODEL/mix.bin, else the source tree's data/tokens/train.bin. Used only when its
    meta.json (beside it) or the model agrees on the vocabulary: same vocab_size, and the same
    vocab.json when meta.json names the tokenizer."""
    if given is not None:
        cands = [given] if given else []
    else:
        cands = [os.path.join(model_dir, "mix.bin"), os.path.join(ROOT, "data", "tokens", "train.bin")]
    for path in cands:
        if not os.path.exists(path):
            continue
        meta_path = os.path.join(os.path.dirname(path), "meta.json")
        if os.path.basename(path) == "mix.bin" and os.path.dirname(os.path.abspath(path)) == os.path.abspath(model_dir):
            return path, "the model's own sample"
        if not os.path.exists(meta_path):
            continue
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if int(meta.get("vocab_size", -1)) != vocab_size:
            continue
        tok = meta.get("tokenizer")
        if tok and os.path.exists(os.path.join(tok, "vocab.json")):
            with open(os.path.join(tok, "vocab.json"), "rb") as f1, \
                    open(os.path.join(model_dir, "vocab.json"), "rb") as f2:
                if f1.read() != f2.read():
                    continue
        return path, "same tokenizer"
    return None, "none found with this model's tokenizer"


def mix_original(train_bin, mix_path, fraction, seed=0):
    """Appends chunks of the original training tokens so that they make `fraction` of
    train.bin; returns how many tokens were added."""
    import numpy as np
    if fraction <= 0 or not mix_path or not os.path.exists(mix_path):
        return 0
    user = np.fromfile(train_bin, dtype="<u2")
    orig = np.memmap(mix_path, dtype="<u2", mode="r")
    want = int(len(user) * fraction / (1 - fraction))
    chunk = 1024       # random windows of this many tokens (the last one cut to size)
    if len(orig) < 2 * chunk or want < 1:
        return 0
    rng = np.random.RandomState(seed)
    starts = rng.randint(0, len(orig) - chunk, size=-(-want // chunk))
    extra = np.concatenate([np.asarray(orig[s:s + chunk]) for s in starts])[:want]
    np.concatenate([user, extra]).astype("<u2").tofile(train_bin)
    return len(extra)


def perplexity(model, bin_path, text_chars, eot, block, threads):
    """{"bpc", "char_ppl", "token_ppl"} of the tokens in bin_path with the end-of-text id in
    front, by python/eval_lm.py's accounting (the per-character figures only when text_chars is
    given)."""
    import eval_lm
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    stream = np.concatenate([[eot], np.fromfile(bin_path, dtype="<u2").astype(np.int64)])
    b = min(block, model.config.n_positions)
    nll = eval_lm.neural_nll(model, stream, block=b, stride=max(1, b // 2))
    out = {"token_ppl": math.exp(min(nll / max(len(stream) - 1, 1), 50.0))}
    if text_chars:
        out["bpc"] = nll / math.log(2) / text_chars
        out["char_ppl"] = 2.0 ** min(out["bpc"], 50.0)
    return out


def step_seconds(model, batch, block, threads, device):
    """Seconds one training step (forward, backward, AdamW) takes here: the best of two timed
    steps after a warm-up, on a copy of the model."""
    import copy
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    m = copy.deepcopy(model).to(device).train()
    opt = torch.optim.AdamW(m.parameters(), lr=0.0)
    V = m.config.vocab_size
    x = torch.randint(0, V, (batch, block + 1), generator=torch.Generator().manual_seed(0)).to(device)
    times = []
    for _ in range(3):
        t0 = time.time()
        logits = m(x[:, :-1])
        F.cross_entropy(logits.float().reshape(-1, V), x[:, 1:].reshape(-1)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.time() - t0)
    return min(times[1:])


# ---------------------------------------------------------------------- the config file

def default_config_path():
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "autocorrect", "config.toml")


def default_out_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "autocorrect", "models", "personal")


def toml_string(s):
    """A TOML basic string (the config reader's "double quotes" with \\ escapes)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_KEY_LINE = re.compile(r'^(\s*)model_path(\s*)=(\s*)("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^#\s]*)(.*)$')


def set_model_path(config_path, model_dir):
    """Sets model_path in the config file: replaces the value on its (first) model_path line,
    keeping any comment after it, or adds the line before the first [table] (at the end when
    there is none); creates the file when missing. Returns the backup's path (or None)."""
    value = toml_string(os.path.abspath(model_dir))
    backup = None
    if os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = config_path + ".bak-" + stamp
        shutil.copy2(config_path, backup)
        done = False
        for i, line in enumerate(lines):
            m = _KEY_LINE.match(line)
            if m:
                lines[i] = "%smodel_path%s=%s%s%s" % (m.group(1), m.group(2), m.group(3) or " ", value, m.group(5))
                done = True
                break
        if not done:
            at = next((i for i, l in enumerate(lines) if l.lstrip().startswith("[")), None)
            new = ["# set by `autocorrect adapt` on %s" % datetime.date.today().isoformat(), "model_path = " + value]
            if at is None:
                while lines and lines[-1] == "":
                    lines.pop()
                lines += new + [""]
            else:
                lines[at:at] = new + [""]
        text = "\n".join(lines)
    else:
        os.makedirs(os.path.dirname(config_path) or ".", exist_ok=True)
        text = ("# autocorrect settings (see config.example.toml for every key)\n"
                "# model_path was set by `autocorrect adapt` on %s\nmodel_path = %s\n"
                % (datetime.date.today().isoformat(), value))
    tmp = config_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, config_path)
    return backup


# ---------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(prog="autocorrect adapt",
                                description="Adapt the default model to a folder of your own writing.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("folder", help="a folder of your notes, mail, ... (searched recursively)")
    p.add_argument("--model", default=os.path.join(ROOT, "models", "default"),
                   help="the model to start from (default: the shipped one)")
    p.add_argument("--out", default=default_out_dir(), help="where the adapted model goes "
                   "(default: $XDG_DATA_HOME/autocorrect/models/personal)")
    p.add_argument("--config", default=default_config_path(),
                   help="the config file whose model_path is set (default: $XDG_CONFIG_HOME/autocorrect/config.toml)")
    p.add_argument("--no-config", action="store_true", help="leave the config file alone")
    p.add_argument("--minutes", type=float, default=10.0, help="training time at most (default 10)")
    p.add_argument("--epochs", type=float, default=DEFAULTS["epochs"],
                   help="passes over your text at most (default %g)" % DEFAULTS["epochs"])
    p.add_argument("--max-steps", type=int, default=0, help="optimizer steps at most (0: by --epochs)")
    p.add_argument("--git", action="store_true", help="also learn from FOLDER's git commit messages")
    p.add_argument("--git-all-authors", action="store_true", help="with --git: everyone's commits, not just yours")
    p.add_argument("--max-file-mb", type=float, default=DEFAULTS["max_file_mb"], help="skip larger files")
    p.add_argument("--mix-data", default=None,
                   help="original training tokens (uint16 .bin) to mix in against forgetting; '' for none "
                   "(default: MODEL/mix.bin, else data/tokens/train.bin of a source tree, if the tokenizer matches)")
    p.add_argument("--mix-fraction", type=float, default=DEFAULTS["mix_fraction"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--min-lr", type=float, default=DEFAULTS["min_lr"])
    p.add_argument("--warmup-steps", type=int, default=DEFAULTS["warmup_steps"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--block-size", type=int, default=DEFAULTS["block_size"])
    p.add_argument("--eval-interval", type=int, default=0, help="steps between validations (0: about 8 per run)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: one per core, at most 4)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda on a machine with a GPU")
    p.add_argument("--autocorrect", help="the autocorrect program (for its tokenizer)")
    p.add_argument("--work", help="keep the intermediate files here (default: a temporary folder)")
    p.add_argument("--dry-run", action="store_true", help="only show what would be learnt from")
    p.add_argument("--seed", type=int, default=1337)
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    t_start = time.time()
    if not os.path.isdir(a.folder):
        raise SystemExit("adapt: %s is not a folder" % a.folder)
    threads = a.threads or max(1, min(4, os.cpu_count() or 1))

    # 1. gather
    say("Reading %s ..." % os.path.abspath(a.folder))
    found = gather(a.folder, a.max_file_mb, a.git, a.git_all_authors)
    say("  notes: %d files, %.2f MB" % (found.files["notes"], found.bytes("notes") / 1e6))
    say("  mail:  %d files, %d messages, %.2f MB of your own words" % (found.files["mail"], found.messages,
                                                                       found.bytes("mail") / 1e6))
    if a.git:
        say("  git:   %d commit messages, %.2f MB" % (found.commits, found.bytes("commits") / 1e6))
    for path, why in found.skipped[:10]:
        say("  skipped %s: %s" % (path, why))
    if len(found.skipped) > 10:
        say("  ... and %d more skipped" % (len(found.skipped) - 10))
    say("  in all: %d documents, %.2f MB, %d characters%s" % (
        len(found.docs), found.bytes() / 1e6, found.chars(),
        " (%d exact duplicates left out)" % found.duplicates if found.duplicates else ""))
    if a.dry_run:
        return 0
    if not found.docs:
        raise SystemExit("adapt: found no text to learn from in %s" % a.folder)

    # the model
    for f in ("config.json", "vocab.json", "merges.txt"):
        if not os.path.exists(os.path.join(a.model, f)):
            raise SystemExit("adapt: %s has no %s" % (a.model, f))
    exe = find_autocorrect(a.autocorrect)
    if not exe:
        raise SystemExit("adapt: cannot find the autocorrect program (build it with `make`, or pass --autocorrect)")
    try:
        import numpy as np
        import torch
    except ImportError as e:
        raise SystemExit("adapt: %s: fine-tuning needs NumPy and PyTorch for %s (Debian: apt install "
                         "python3-torch; or set AUTOCORRECT_PYTHON)" % (e, sys.executable))
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    base, weights_from = load_base(a.model)
    with open(os.path.join(a.model, "vocab.json"), encoding="utf-8") as f:
        eot = json.load(f).get(EOT_TEXT, base.config.vocab_size - 1)
    block = min(a.block_size, base.config.n_positions)

    work_tmp = None
    if a.work:
        work = a.work
        os.makedirs(work, exist_ok=True)
    else:
        work_tmp = tempfile.TemporaryDirectory(prefix="autocorrect-adapt-")
        work = work_tmp.name
    try:
        # 2-3. split and tokenize
        train_txt, valid_txt = split_docs([t for t, _, _ in found.docs], DEFAULTS["valid_fraction"],
                                          DEFAULTS["valid_min_chars"], DEFAULTS["valid_max_chars"])
        if not valid_txt:
            raise SystemExit("adapt: too little text to hold any out for validation")
        data = os.path.join(work, "data")
        os.makedirs(data, exist_ok=True)
        n_train = tokenize(exe, a.model, train_txt, os.path.join(work, "train.txt"), os.path.join(data, "train.bin"))
        n_valid = tokenize(exe, a.model, valid_txt, os.path.join(work, "valid.txt"), os.path.join(data, "valid.bin"))
        import eval_lm
        valid_chars = eval_lm.text_units(os.path.join(work, "valid.txt"))["chars"]
        say("Tokenized with %s's tokenizer: %d tokens to learn from, %d held out (%d characters)"
            % (a.model, n_train, n_valid, valid_chars))
        if n_train < MIN_TOKENS:
            raise SystemExit("adapt: only %d tokens of text; adapting needs at least %d (about %d KB)"
                             % (n_train, MIN_TOKENS, MIN_TOKENS * 4 // 1000))
        if n_valid < block + 2:
            raise SystemExit("adapt: the held-out part is too short (%d tokens)" % n_valid)
        mix_path, why = mix_source(a.mix_data, a.model, base.config.vocab_size)
        mixed = mix_original(os.path.join(data, "train.bin"), mix_path, a.mix_fraction, a.seed) if mix_path else 0
        if mixed:
            say("Mixed in %d tokens of the original training data (%.0f%%, from %s) against forgetting"
                % (mixed, 100.0 * mixed / (n_train + mixed), mix_path))
        else:
            say("No original training data mixed in (%s): learning from your text alone" % why)
        with open(os.path.join(data, "meta.json"), "w", encoding="utf-8") as f:
            json.dump({"vocab_size": base.config.vocab_size, "eot_id": eot, "train_tokens": n_train + mixed,
                       "valid_tokens": n_valid}, f)

        # 5a. before
        before = perplexity(base, os.path.join(data, "valid.bin"), valid_chars, eot, block, threads)
        say("Before: %.3f bits/char (character perplexity %.3f, token perplexity %.1f) on your held-out text"
            % (before["bpc"], before["char_ppl"], before["token_ppl"]))

        # 4. fine-tune
        tokens_per_step = a.batch_size * block
        by_epochs = max(10, int(a.epochs * (n_train + mixed) / tokens_per_step))
        if a.max_steps:
            steps = a.max_steps
        else:
            # fit the learning-rate schedule to the time: measure a step, keep 15% for validation
            sec = step_seconds(base, a.batch_size, block, threads, a.device)
            by_time = int(a.minutes * 60 * 0.85 / max(sec, 1e-6))
            steps = max(10, min(by_epochs, by_time))
            say("One training step takes %.2f s here: %d steps fit in %g minutes (%d would make %g passes)"
                % (sec, by_time, a.minutes, by_epochs, a.epochs))
        init = os.path.join(work, "init")
        from model import save_hf_dir
        save_hf_dir(base, init)
        del base
        interval = a.eval_interval or max(5, steps // 8)
        run = os.path.join(work, "run")
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--data", data, "--out", run, "--init", init,
               "--block-size", str(block), "--batch-size", str(a.batch_size), "--lr", str(a.lr),
               "--min-lr", str(a.min_lr), "--warmup-steps", str(a.warmup_steps), "--max-steps", str(steps),
               "--max-time", str(a.minutes * 1.1), "--eval-interval", str(interval),
               "--eval-tokens", str(EVAL_TOKENS),
               "--save-interval-s", "1e9", "--threads", str(threads), "--device", a.device,
               "--seed", str(a.seed)]
        if not sys.stderr.isatty():
            cmd.append("--quiet")
        say("Fine-tuning for at most %g minutes or %d steps (%d tokens each, learning rate %g), on %d thread%s ..."
            % (a.minutes, steps, tokens_per_step, a.lr, threads, "" if threads == 1 else "s"))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        r = subprocess.run(cmd, env=env)
        if r.returncode != 0:
            raise SystemExit("adapt: training failed (exit %d)" % r.returncode)
        best = os.path.join(run, "best.pt")
        if not os.path.exists(best):
            raise SystemExit("adapt: training wrote no checkpoint")
        from model import load_model
        tuned = load_model(best)
        after = perplexity(tuned, os.path.join(data, "valid.bin"), valid_chars, eot, block, threads)
        say("After:  %.3f bits/char (character perplexity %.3f, token perplexity %.1f) on your held-out text"
            % (after["bpc"], after["char_ppl"], after["token_ppl"]))
        general = None
        orig_valid = os.path.join(os.path.dirname(mix_path), "valid.bin") if mix_path else ""
        if orig_valid and os.path.exists(orig_valid):
            # the first 20k tokens of the original validation text: has the model forgotten?
            sample = os.path.join(work, "orig_valid.bin")
            np.fromfile(orig_valid, dtype="<u2")[:20000].tofile(sample)
            g0 = perplexity(load_model(init), sample, None, eot, block, threads)["token_ppl"]
            g1 = perplexity(tuned, sample, None, eot, block, threads)["token_ppl"]
            general = (g0, g1)
            say("General text (original validation, 20k tokens): token perplexity %.1f -> %.1f" % general)

        # 6. export
        out = os.path.abspath(a.out)
        staging = out + ".new"
        shutil.rmtree(staging, ignore_errors=True)
        r = subprocess.run([sys.executable, os.path.join(HERE, "export_model.py"), "--checkpoint", best,
                            "--out", staging, "--int8", "--tokenizer", a.model, "--safetensors-fp16"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("adapt: export failed: %s" % r.stderr.strip())
        dict_src = os.path.join(a.model, "dictionary.tsv")
        if os.path.exists(dict_src):
            shutil.copyfile(dict_src, os.path.join(staging, "dictionary.tsv"))
        with open(os.path.join(staging, "adapt.json"), "w", encoding="utf-8") as f:
            json.dump({"from_model": os.path.abspath(a.model), "weights_from": weights_from,
                       "folder": os.path.abspath(a.folder), "date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "documents": len(found.docs), "bytes": found.bytes(), "train_tokens": n_train,
                       "valid_tokens": n_valid, "mixed_original_tokens": mixed, "steps_max": steps,
                       "lr": a.lr, "min_lr": a.min_lr, "minutes": a.minutes,
                       "valid_bits_per_char_before": before["bpc"], "valid_bits_per_char_after": after["bpc"],
                       "general_token_ppl_before_after": general}, f, indent=1)
        if os.path.isdir(out):
            prev = out + ".previous"
            shutil.rmtree(prev, ignore_errors=True)
            os.replace(out, prev)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        os.replace(staging, out)
        say("Wrote %s (%.1f MB)" % (out, sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)) / 1e6))
    finally:
        if work_tmp:
            work_tmp.cleanup()

    # 7. config
    if not a.no_config:
        backup = set_model_path(a.config, out)
        say("Set model_path in %s%s" % (a.config, " (the old file is %s)" % backup if backup else ""))
    say("Reload the daemon to use it:  kill -HUP $(pidof autocorrectd)   "
        "(or: systemctl --user reload autocorrectd)")
    say("Done in %.1f minutes." % ((time.time() - t_start) / 60))
    return 0


if __name__ == "__main__":
    sys.exit(main())
