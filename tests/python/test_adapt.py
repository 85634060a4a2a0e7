"""Tests for python/adapt.py (`autocorrect adapt`): gathering text from a folder (notes, an mbox
with headers, quotes and signatures, binaries and big files skipped), the config edit, and one
whole run on the tiny fixture model: a few training steps make the held-out loss fall, the export
loads in the C engine, and the config file gets model_path while keeping its other lines.
HOME and the XDG folders point into a temporary folder. PASS/FAIL/SKIP lines; exit 1 on FAIL."""
import email
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
BUILD = os.environ.get("AC_TEST_BUILD", "build")
AC = os.path.join(ROOT, BUILD, "bin", "autocorrect")
TINY = os.path.join(ROOT, "tests", "fixtures", "tiny")
ADAPT = os.path.join(ROOT, "python", "adapt.py")

import adapt  # noqa: E402
import testlib  # noqa: E402 (tests/python/testlib.py: PASS/FAIL/SKIP lines, the failure count)
from testlib import check  # noqa: E402

MBOX = """From alice@example.com Mon Jan  1 00:00:00 2024
From: Alice <alice@example.com>
To: Bob <bob@example.com>
Subject: HEADERSUBJECT lunch
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <1@example.com>

Hi Bob,

the meeting moves to noon tomorrow; please bring the draft of the spring report.

On Sunday, Bob wrote:
> QUOTEDLINE are we still meeting?
> QUOTEDLINE two

-- 
Alice SIGNATURELINE
+1 555 0100

From bob@example.com Tue Jan  2 00:00:00 2024
From: Bob <bob@example.com>
Subject: Re: HEADERSUBJECT lunch
Content-Type: multipart/alternative; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8

Thanks, noon works for me. I will print the report before we meet.

-----Original Message-----
From: Alice
FORWARDEDLINE the old mail
--XX
Content-Type: text/html

<p>HTMLPART should not be used when a plain part exists</p>
--XX--
"""


def make_folder(root, n_notes=14, seed=0):
    """Notes (markdown with a code block, plain text, org), an mbox, a binary and a big file."""
    rng = random.Random(seed)
    words = ("the quick report about our spring garden plans goes out on friday after lunch "
             "with notes on tomatoes beans and the new fence near the shed").split()
    os.makedirs(os.path.join(root, "notes", "deep"), exist_ok=True)
    os.makedirs(os.path.join(root, "mail"), exist_ok=True)
    os.makedirs(os.path.join(root, ".hidden"), exist_ok=True)
    for i in range(n_notes):
        ext = (".md", ".txt", ".org")[i % 3]
        sub = "deep" if i % 4 == 0 else ""
        with open(os.path.join(root, "notes", sub, "note%02d%s" % (i, ext)), "w", encoding="utf-8") as f:
            if ext == ".md":
                f.write("# Garden note %d\n\n```\nCODEBLOCK = 1\n```\n\n" % i)
            if ext == ".org":
                f.write("#+TITLE: ORGTITLE\n")
            for _ in range(5):
                f.write(" ".join(rng.choice(words) for _ in range(30)).capitalize() + ".\n\n")
    with open(os.path.join(root, "mail", "inbox.mbox"), "w", encoding="utf-8") as f:
        f.write(MBOX)
    with open(os.path.join(root, "notes", "photo.txt"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    with open(os.path.join(root, "notes", "big.txt"), "w") as f:
        f.write("BIGFILE " * 200000)            # 1.6 MB, over --max-file-mb 1
    with open(os.path.join(root, ".hidden", "secret.txt"), "w") as f:
        f.write("HIDDENFILE")
    with open(os.path.join(root, "notes", "dup.txt"), "w") as f:
        f.write("the same text twice")
    with open(os.path.join(root, "notes", "dup2.txt"), "w") as f:
        f.write("the same text twice")


def gathers_the_folder():
    with tempfile.TemporaryDirectory() as tmp:
        make_folder(tmp)
        found = adapt.gather(tmp, max_file_mb=1.0)
    all_text = "\n".join(t for t, _, _ in found.docs)
    problems = []
    if found.files["notes"] != 16 or found.files["mail"] != 1 or found.messages != 2:
        problems.append("files %s, messages %d" % (found.files, found.messages))
    for marker in ("HEADERSUBJECT", "QUOTEDLINE", "SIGNATURELINE", "FORWARDEDLINE", "HTMLPART", "CODEBLOCK",
                   "ORGTITLE", "BIGFILE", "HIDDENFILE", "PNG", "Bob wrote", "alice@example.com"):
        if marker in all_text:
            problems.append("%r was kept" % marker)
    for kept in ("the meeting moves to noon tomorrow", "noon works for me", "Garden note", "Hi Bob"):
        if kept not in all_text:
            problems.append("%r was lost" % kept)
    skipped = {os.path.basename(p): why for p, why in found.skipped}
    if "photo.txt" not in skipped or "big.txt" not in skipped:
        problems.append("skipped %s" % skipped)
    if found.duplicates != 1:
        problems.append("%d duplicates" % found.duplicates)
    return not problems, "; ".join(problems)


def mail_cleaning_rules():
    body = ("Sounds good.\n\nOn Tue, 2 Jan 2024 at 10:00, Ann <ann@x.org> wrote:\n> old\n>> older\n\n"
            "See you then.\n\n--\nAnn\n")
    got = adapt.clean_mail_body(body)
    msg = email.message_from_string("From: a@b\nSubject: S\nContent-Type: text/html\n\n<html><head><style>x{}</style>"
                                    "</head><body><p>Hello <b>there</b></p><p>Bye</p></body></html>")
    html = adapt.mail_text(msg)
    ok = got == "Sounds good.\n\nSee you then." and "Hello there" in html and "x{}" not in html and "Bye" in html
    return ok, "%r / %r" % (got, html)


def git_messages():
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        return None, "git is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_CONFIG_GLOBAL=os.path.join(tmp, "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
                   HOME=tmp)
        repo = os.path.join(tmp, "repo")
        os.makedirs(repo)

        def git(*args, email="me@example.com"):
            e = dict(env, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_EMAIL=email, GIT_AUTHOR_NAME="x",
                     GIT_COMMITTER_NAME="x")
            subprocess.run(["git", "-C", repo] + list(args), check=True, capture_output=True, env=e)
        git("init", "-q")
        git("config", "user.email", "me@example.com")
        git("commit", "-q", "--allow-empty", "-m", "Fix the frobnicator\n\nIt broke on Mondays.\n\nSigned-off-by: x <me@example.com>")
        git("commit", "-q", "--allow-empty", "-m", "THEIRCOMMIT by someone else", email="other@example.com")
        old = os.environ.copy()
        os.environ.update(env)
        try:
            mine = adapt.Found()
            adapt.gather_git(repo, mine)
            everyone = adapt.Found()
            adapt.gather_git(repo, everyone, all_authors=True)
        finally:
            os.environ.clear()
            os.environ.update(old)
    text = "\n".join(t for t, _, _ in mine.docs)
    ok = (mine.commits == 1 and "It broke on Mondays." in text and "Signed-off-by" not in text
          and everyone.commits == 2)
    return ok, "mine %d %r, everyone %d" % (mine.commits, text, everyone.commits)


def config_edit_keeps_the_rest():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config.toml")
        original = ('# my settings\nbeam_width = 4  # keep this\nmodel_path = "/old/model"  # the old one\n'
                    'threads = 2\n')
        with open(cfg, "w") as f:
            f.write(original)
        backup = adapt.set_model_path(cfg, os.path.join(tmp, 'we"ird\\dir'))
        with open(cfg) as f:
            text = f.read()
        with open(backup) as f:
            saved = f.read()
        want = original.replace('"/old/model"', '"%s"' % os.path.join(tmp, 'we\\"ird\\\\dir'))
        fresh = os.path.join(tmp, "sub", "new.toml")
        adapt.set_model_path(fresh, "/x/y")
        with open(fresh) as f:
            fresh_text = f.read()
    ok = text == want and saved == original and 'model_path = "/x/y"' in fresh_text
    return ok, "got %r, backup %r, fresh %r" % (text, saved, fresh_text)


def config_edit_adds_the_key():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config.toml")
        with open(cfg, "w") as f:
            f.write("# comment\n#model_path = \"commented\"\nbeam_width = 3\n")
        adapt.set_model_path(cfg, "/m")
        with open(cfg) as f:
            lines = f.read().split("\n")
    ok = lines[:3] == ["# comment", "#model_path = \"commented\"", "beam_width = 3"] and 'model_path = "/m"' in lines
    return ok, "%s" % lines


def whole_run():
    if not os.path.exists(AC):
        return None, "no %s (make all)" % AC
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "writing")
        make_folder(folder, n_notes=24)
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"), OMP_NUM_THREADS="1")
        cfg_dir = os.path.join(tmp, "config", "autocorrect")
        os.makedirs(cfg_dir)
        cfg = os.path.join(cfg_dir, "config.toml")
        with open(cfg, "w") as f:
            f.write("# my own settings\nbeam_width = 3  # fewer beams\n")
        work = os.path.join(tmp, "work")
        # "original training data" with the tiny tokenizer, to mix in and to check forgetting on
        mix = os.path.join(tmp, "mix")
        os.makedirs(mix)
        rng = random.Random(1)
        for name, n in (("train.bin", 6000), ("valid.bin", 3000)):
            with open(os.path.join(mix, name), "wb") as f:
                f.write(bytes(b for _ in range(n) for b in rng.randrange(296).to_bytes(2, "little")))
        with open(os.path.join(mix, "meta.json"), "w") as f:
            json.dump({"vocab_size": 297, "eot_id": 296, "tokenizer": TINY}, f)
        r = subprocess.run([sys.executable, ADAPT, folder, "--model", TINY, "--threads", "1", "--block-size", "32",
                            "--batch-size", "8", "--max-steps", "24", "--eval-interval", "8", "--lr", "3e-3",
                            "--max-file-mb", "1", "--work", work, "--autocorrect", AC,
                            "--mix-data", os.path.join(mix, "train.bin")],
                           capture_output=True, text=True, env=env, timeout=240)
        out = r.stdout + r.stderr
        if r.returncode != 0:
            return False, "exit %d: %s" % (r.returncode, out[-1500:])
        model_dir = os.path.join(tmp, "data", "autocorrect", "models", "personal")
        problems = []
        m = re.search(r"Before: ([\d.]+) bits/char.*\n(?:.*\n)*?After:  ([\d.]+) bits/char", out)
        if not m or not float(m.group(2)) < float(m.group(1)):
            problems.append("held-out bits/char did not fall: %s" % (m.groups() if m else out[-800:]))
        if "notes: 26 files" not in out or "2 messages" not in out:
            problems.append("summary: %s" % out[:400])
        with open(os.path.join(work, "train.txt"), encoding="utf-8") as f:
            train_text = f.read()
        with open(os.path.join(work, "valid.txt"), encoding="utf-8") as f:
            valid_text = f.read()
        if "HEADERSUBJECT" in train_text + valid_text or "Subject:" in train_text + valid_text:
            problems.append("mail headers reached the training text")
        for f in ("model.onnx", "config.json", "vocab.json", "merges.txt", "model.safetensors", "adapt.json"):
            if not os.path.exists(os.path.join(model_dir, f)):
                problems.append("no %s in the export" % f)
        info = subprocess.run([AC, "info", "--model", model_dir], capture_output=True, text=True)
        if info.returncode != 0 or "n_vocab    297" not in info.stdout:
            problems.append("autocorrect info: %s %s" % (info.stdout, info.stderr))
        with open(cfg) as f:
            cfg_text = f.read()
        if not cfg_text.startswith("# my own settings\nbeam_width = 3  # fewer beams\n") or \
                ('model_path = "%s"' % model_dir) not in cfg_text:
            problems.append("config: %r" % cfg_text)
        if not [f for f in os.listdir(cfg_dir) if f.startswith("config.toml.bak-")]:
            problems.append("no backup of the config")
        if "kill -HUP" not in out:
            problems.append("no reload hint")
        if not re.search(r"Mixed in \d+ tokens of the original training data \(2\d%", out) or \
                "General text" not in out:
            problems.append("no mixing or forgetting check: %s" % out[-600:])
        # the adapted model can be adapted again (float16 safetensors), and the old one is kept
        # (by time this once: a few timed steps size the schedule to --minutes)
        r2 = subprocess.run([sys.executable, ADAPT, folder, "--model", model_dir, "--threads", "1",
                             "--block-size", "32", "--batch-size", "8", "--minutes", "0.05", "--max-file-mb", "1",
                             "--no-config", "--autocorrect", AC], capture_output=True, text=True, env=env, timeout=240)
        if r2.returncode != 0 or not os.path.isdir(model_dir + ".previous") or "steps fit in" not in r2.stdout:
            problems.append("second run: exit %d %s" % (r2.returncode, (r2.stdout + r2.stderr)[-600:]))
    return not problems, "; ".join(problems)


def onnx_weights_fallback():
    # a model directory with only the int8 ONNX: its dequantized weights give the logits of the
    # f32 model with int8-rounded matrices (export_model.rounded_model)
    import torch
    torch.set_num_threads(1)
    import shutil
    from export_model import rounded_model
    from model import load_model
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("config.json", "vocab.json", "merges.txt"):
            shutil.copy(os.path.join(TINY, f), tmp)
        shutil.copy(os.path.join(TINY, "model_int8.onnx"), os.path.join(tmp, "model.onnx"))
        got, src = adapt.load_base(tmp)
    ref = rounded_model(load_model(TINY), "int8")
    ids = torch.tensor([[51, 256, 275, 10, 200]])
    with torch.no_grad():
        d = float((got(ids) - ref(ids)).abs().max())
    return d < 1e-4 and "dequantized" in src, "max |logit difference| %g (%s)" % (d, src)


def split_holds_out():
    docs = ["doc %d " % i + "word " * (50 + i) for i in range(30)]
    train, valid = adapt.split_docs(docs, 0.1, 100, 10 ** 6)
    one = ["para one. " * 40 + "\n\n" + "para two. " * 40 + "\n\n" + "para three. " * 40]
    t1, v1 = adapt.split_docs(one, 0.1, 100, 10 ** 6)
    ok = (set(train) | set(valid) == set(docs) and not set(train) & set(valid) and 0.05 < sum(map(len, valid)) /
          sum(map(len, docs)) < 0.3 and len(v1) == 1 and v1[0].startswith("para three") and t1)
    return ok, "%d/%d documents held out; single: %s" % (len(valid), len(docs), [v[:12] for v in v1])


def cli_runs_the_script():
    if not os.path.exists(AC):
        return None, "no %s (make all)" % AC
    r = subprocess.run([AC, "--help"], capture_output=True, text=True)
    if "adapt" not in r.stdout:
        return None, "this build of autocorrect has no adapt command (rebuild)"
    with tempfile.TemporaryDirectory() as tmp:
        make_folder(tmp, n_notes=3)
        env = dict(os.environ, AUTOCORRECT_PYTHON=sys.executable, HOME=tmp)
        r = subprocess.run([AC, "adapt", tmp, "--dry-run", "--max-file-mb", "1"], capture_output=True, text=True,
                           env=env, timeout=60)
        bad = subprocess.run([AC, "adapt", os.path.join(tmp, "nope")], capture_output=True, text=True, env=env,
                             timeout=60)
    ok = r.returncode == 0 and "notes: 5 files" in r.stdout and bad.returncode != 0 and "not a folder" in bad.stderr
    return ok, "exit %d: %s / %s" % (r.returncode, r.stdout[-300:], bad.stderr[-200:])


def main():
    check("gather: notes, mbox messages; headers, quotes, signatures, code, binaries, big and hidden files out",
          gathers_the_folder)
    check("gather: mail rules (attribution line, '--' signature, HTML-only mail)", mail_cleaning_rules)
    check("gather: --git takes your own commit messages (trailers dropped)", git_messages)
    check("split: whole documents held out, or a paragraph tail of a single one", split_holds_out)
    check("config: model_path replaced in place, comments and other keys kept, backup made", config_edit_keeps_the_rest)
    check("config: model_path added when only commented out", config_edit_adds_the_key)
    check("model: int8 ONNX weights dequantized when there is no safetensors file", onnx_weights_fallback)
    check("cli: `autocorrect adapt --dry-run FOLDER` runs the script", cli_runs_the_script)
    check("adapt: whole run on the tiny model (held-out loss falls, export loads in C, config set, re-adapt)",
          whole_run)
    return testlib.exit_status()


if __name__ == "__main__":
    sys.exit(main())
