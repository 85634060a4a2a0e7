#!/usr/bin/python3
"""Builds the spelling evaluation's test data (bench/eval_spelling.sh runs it; nothing is committed).

What this is: the procedure that turns two sources the model never trained on into test files.

1. Realistic misspellings: codespell's dictionary of common misspellings (Debian package
   `codespell`, codespell_lib/data/dictionary.txt, lines `typo->correction`). Kept: entries with
   exactly one correction, both sides lower-case letters (apostrophes allowed), typo != correction.
   Split in two halves by a hash of the typo: `dev` (for tuning the error model and thresholds)
   and `test` (for reporting). Written as isolated_{dev,test}.tsv: `typo<TAB>correction`.
2. Sentences with misspellings: sentences from data/corpus/valid.txt (documents held out of
   training), 8 to 40 words, prose-like (no code characters, no digits, mostly letters). In each,
   every word whose lower-case form is the correction of some codespell typo of the same half is
   replaced, with probability --rate, by one of those typos chosen at random (capitalisation of the
   first letter kept). Repeated sentences are used once. Sentences are split dev/test by a hash
   of their text. Written as
   sentences_{dev,test}.tsv: `corrupted<TAB>original<TAB>spans`, spans = `start:end:word` joined
   by spaces: the byte offsets of each injected typo in the corrupted sentence and the word it
   replaced. Deterministic (seeded) for the same inputs.

3. Real-word errors: the same kind of sentences, each holding at least one word of a confusion
   pair (their/there, than/then, its/it's, your/you're, were/where, lose/loose, affect/effect,
   from -> form, ...: REAL_WORD_PAIRS below, a subset of src/corrector/confusables.c). In half of
   them (chosen at random) one such word is swapped for its partner; the other half stay as they
   are, to count correct words broken. Written as realword_{dev,test}.tsv in the sentences format.

What this is not: the evaluator (bench/eval_spelling.c computes the numbers).

Usage: /usr/bin/python3 bench/eval_spelling_data.py --out DIR [--codespell FILE] [--valid FILE]
       [--sentences 2000] [--rate 0.15] [--seed 1]
"""

import argparse
import glob
import hashlib
import os
import random
import re
import sys

WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")
ENTRY = re.compile(r"^([a-z]+(?:'[a-z]+)*)->([a-z]+(?:'[a-z]+)*),?\s*$")
CODE_CHARS = set("_/\\=<>{}[]|~^$#%&*+`@0123456789")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


# intended word -> what people type instead (one way each; both ways where both happen)
REAL_WORD_PAIRS = {
    "their": "there", "there": "their", "they're": "their", "its": "it's", "it's": "its",
    "your": "you're", "you're": "your", "than": "then", "then": "than", "from": "form",
    "were": "where", "where": "were", "lose": "loose", "loose": "lose", "affect": "effect",
    "effect": "affect", "accept": "except", "except": "accept", "quite": "quiet", "quiet": "quite",
    "whether": "weather", "weather": "whether", "whose": "who's", "who's": "whose",
    "principle": "principal", "principal": "principle", "piece": "peace", "peace": "piece",
    "here": "hear", "hear": "here", "past": "passed", "passed": "past", "later": "latter",
    "latter": "later", "through": "though", "though": "through", "choose": "chose", "chose": "choose",
}


def half(text):
    return "dev" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def find_codespell():
    for path in glob.glob("/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt"):
        return path
    return None


def read_codespell(path):
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            m = ENTRY.match(line.strip())
            if not m or m.group(1) == m.group(2):
                continue
            pairs.append((m.group(1), m.group(2)))
    return pairs


def sentences(path):
    """Yields candidate sentences from a corpus file (documents separated by <|endoftext|>)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line or line == "<|endoftext|>":
                continue
            for sent in SENTENCE_END.split(line):
                sent = " ".join(sent.split())
                words = sent.split(" ")
                if not 8 <= len(words) <= 40:
                    continue
                if any(c in CODE_CHARS for c in sent):
                    continue
                letters = sum(c.isalpha() for c in sent)
                if letters < 0.75 * len(sent.replace(" ", "")):
                    continue
                if not sent[0].isupper() or sent[-1] not in ".!?":
                    continue
                yield sent


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--codespell", default=find_codespell())
    parser.add_argument("--valid", default=os.path.join(root, "data/corpus/valid.txt"))
    parser.add_argument("--sentences", type=int, default=2000, help="sentences per half, at most")
    parser.add_argument("--rate", type=float, default=0.15,
                        help="probability of misspelling a word that has a codespell typo")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.codespell or not os.path.exists(args.codespell):
        raise SystemExit("codespell's dictionary.txt not found: apt-get install codespell")
    os.makedirs(args.out, exist_ok=True)

    pairs = read_codespell(args.codespell)
    by_half = {"dev": [], "test": []}
    for typo, fix in pairs:
        by_half[half(typo)].append((typo, fix))
    for name, items in by_half.items():
        with open(os.path.join(args.out, "isolated_%s.tsv" % name), "w", encoding="utf-8") as out:
            for typo, fix in items:
                out.write("%s\t%s\n" % (typo, fix))
    sys.stderr.write("[eval data] %d codespell pairs: %d dev, %d test\n"
                     % (len(pairs), len(by_half["dev"]), len(by_half["test"])))

    typos_of = {h: {} for h in by_half}
    for h, items in by_half.items():
        for typo, fix in items:
            typos_of[h].setdefault(fix, []).append(typo)

    rng = random.Random(args.seed)
    written = {"dev": 0, "test": 0}
    outs = {h: open(os.path.join(args.out, "sentences_%s.tsv" % h), "w", encoding="utf-8") for h in by_half}
    injected = {"dev": 0, "test": 0}
    seen = set()
    if os.path.exists(args.valid):
        for sent in sentences(args.valid):
            if sent in seen:
                continue
            seen.add(sent)
            h = half(sent)
            if written[h] >= args.sentences:
                if all(written[k] >= args.sentences for k in written):
                    break
                continue
            pieces, spans, pos = [], [], 0
            for m in WORD.finditer(sent):
                pieces.append(sent[pos:m.start()])
                word = m.group(0)
                lower = word.lower()
                options = typos_of[h].get(lower)
                shape_ok = word == lower or (word[0].isupper() and word[1:] == lower[1:])
                if options and shape_ok and rng.random() < args.rate:
                    typo = rng.choice(options)
                    if word[0].isupper():
                        typo = typo[0].upper() + typo[1:]
                    start = len("".join(pieces).encode("utf-8"))
                    pieces.append(typo)
                    spans.append("%d:%d:%s" % (start, start + len(typo.encode("utf-8")), word))
                else:
                    pieces.append(word)
                pos = m.end()
            pieces.append(sent[pos:])
            corrupted = "".join(pieces)
            outs[h].write("%s\t%s\t%s\n" % (corrupted, sent, " ".join(spans)))
            written[h] += 1
            injected[h] += len(spans)
    for handle in outs.values():
        handle.close()

    # real-word errors
    rw_written = {"dev": 0, "test": 0}
    rw_injected = {"dev": 0, "test": 0}
    rw_out = {h: open(os.path.join(args.out, "realword_%s.tsv" % h), "w", encoding="utf-8") for h in by_half}
    seen = set()
    if os.path.exists(args.valid):
        for sent in sentences(args.valid):
            if sent in seen:
                continue
            seen.add(sent)
            h = half(sent)
            if rw_written[h] >= args.sentences // 2:
                if all(rw_written[k] >= args.sentences // 2 for k in rw_written):
                    break
                continue
            words = [m for m in WORD.finditer(sent) if m.group(0).replace("\u2019", "'").lower() in REAL_WORD_PAIRS]
            if not words:
                continue
            spans, corrupted = [], sent
            if rng.random() < 0.5:
                m = rng.choice(words)
                word = m.group(0)
                typo = REAL_WORD_PAIRS[word.replace("\u2019", "'").lower()]
                if word[0].isupper():
                    typo = typo[0].upper() + typo[1:]
                corrupted = sent[:m.start()] + typo + sent[m.end():]
                start = len(sent[:m.start()].encode("utf-8"))
                spans.append("%d:%d:%s" % (start, start + len(typo.encode("utf-8")), word))
            rw_out[h].write("%s\t%s\t%s\n" % (corrupted, sent, " ".join(spans)))
            rw_written[h] += 1
            rw_injected[h] += len(spans)
    for handle in rw_out.values():
        handle.close()
    sys.stderr.write("[eval data] real-word sentences: dev %d (%d swapped), test %d (%d swapped)\n"
                     % (rw_written["dev"], rw_injected["dev"], rw_written["test"], rw_injected["test"]))
    sys.stderr.write("[eval data] sentences from %s: dev %d (%d typos), test %d (%d typos)\n"
                     % (args.valid, written["dev"], injected["dev"], written["test"], injected["test"]))


if __name__ == "__main__":
    main()
