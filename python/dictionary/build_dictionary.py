#!/usr/bin/python3
"""Builds the spelling dictionary the corrector ships with (models/default/dictionary.tsv).

What this is: a reader of Debian's SCOWL word lists (package `scowl`, /usr/share/dict/scowl) that
keeps the words up to a size tier in the chosen spelling variants, counts how often each appears in
a training corpus (documents separated by <|endoftext|> lines), optionally adds frequent corpus
words that SCOWL lacks (jargon in lower case, names capitalised) unless they look like typos of a
far more frequent word and are rare, and writes one `word<TAB>count` line per word, sorted by word
(byte order), after a header.

What this is not: the corrector's index (src/corrector builds that at load time) nor the error
model; it downloads nothing (install scowl with scripts/install-deps.sh).

Output format (version 1), UTF-8:
    #autocorrect-dictionary<TAB>1
    # free-form comment lines start with '#'
    word<TAB>count          count = occurrences in the corpus (case variants summed, see below)
Possessives ("dog's") are not listed: the corrector accepts WORD's when WORD is known.

Counting: the corpus is split into words (letters with inner apostrophes). A dictionary entry in
lower case counts its lower-case and Capitalised occurrences (sentence starts); an entry with
capitals ("English", "Monday") counts its exact form and its ALL-CAPS form.

Usage: /usr/bin/python3 python/dictionary/build_dictionary.py [--corpus data/corpus/train.txt]
       [--out models/default/dictionary.tsv] [--max-size 70] [--extra-min-count 10]
"""

import argparse
import collections
import os
import re
import sys

FORMAT_LINE = "#autocorrect-dictionary\t1"
SIZES = (10, 20, 35, 40, 50, 55, 60, 70, 80, 95)
# SCOWL list categories we take: ordinary words, capitalised words (proper adjectives, days,
# places), contractions, proper names and abbreviations ("etc", "OK": the corrector never touches
# an ALL-CAPS token, but the lower-case "ok" must be known).
CATEGORIES = ("words", "upper", "contractions", "proper-names", "abbreviations")
WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


def log(message):
    sys.stderr.write("[dictionary] %s\n" % message)
    sys.stderr.flush()


def read_scowl(scowl_dir, max_size, variants, max_name_size):
    """Returns the set of SCOWL words up to max_size in the given spelling variants."""
    words = set()
    if not os.path.isdir(scowl_dir):
        raise SystemExit("no SCOWL lists in %s: install the Debian package `scowl`" % scowl_dir)
    for variant in variants:
        for category in CATEGORIES:
            limit = max_name_size if category == "proper-names" else max_size
            for size in SIZES:
                if size > limit:
                    continue
                path = os.path.join(scowl_dir, "%s-%s.%d" % (variant, category, size))
                if not os.path.exists(path):
                    continue
                with open(path, encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        word = line.strip()
                        if not word or word.endswith("'s"):
                            continue
                        if not WORD_RE.fullmatch(word):
                            continue          # "e.g.", "o'clock" stays, digits and dots go
                        words.add(word)   # ALL-CAPS ones too: "ok" is known through "OK"
    return words


def count_corpus(path):
    """Counts word forms (exact case) in a corpus file, streaming it line by line."""
    counts = collections.Counter()
    tokens = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("<|endoftext|>"):
                continue
            found = WORD_RE.findall(line.replace("\u2019", "'"))
            tokens += len(found)
            counts.update(found)
    return counts, tokens


def entry_count(word, counts):
    if word == word.lower():
        return counts.get(word, 0) + counts.get(word[:1].upper() + word[1:], 0)
    return counts.get(word, 0) + counts.get(word.upper(), 0)


def deletes1(word):
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def looks_like_typo(word, count, known_by_delete, lower_counts):
    """A corpus-only word is a likely typo when a dictionary word within one edit is 30 times as
    frequent (checked through shared single deletions, which covers one edit of any kind)."""
    keys = deletes1(word) | {word}
    for key in keys:
        for other in known_by_delete.get(key, ()):
            if other != word and lower_counts.get(other, 0) >= 30 * count:
                return True
    return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scowl-dir", default="/usr/share/dict/scowl")
    parser.add_argument("--corpus", default=os.path.join(root, "data/corpus/train.txt"))
    parser.add_argument("--out", default=os.path.join(root, "models/default/dictionary.tsv"))
    parser.add_argument("--max-size", type=int, default=70, help="largest SCOWL size tier kept")
    parser.add_argument("--max-name-size", type=int, default=50,
                        help="largest SCOWL size tier for proper names")
    parser.add_argument("--variants", default="english,american,british,canadian",
                        help="SCOWL spelling variants (comma-separated list prefixes)")
    parser.add_argument("--extra-min-count", type=int, default=0,
                        help="add corpus words missing from SCOWL seen this often (0: off)")
    parser.add_argument("--extra-typo-safe-count", type=int, default=40,
                        help="a corpus word seen this often is added even when it looks like a typo")
    args = parser.parse_args()

    words = read_scowl(args.scowl_dir, args.max_size, args.variants.split(","), args.max_name_size)
    log("%d SCOWL words (size <= %d, variants %s)" % (len(words), args.max_size, args.variants))

    counts, tokens = collections.Counter(), 0
    if args.corpus and os.path.exists(args.corpus):
        counts, tokens = count_corpus(args.corpus)
        log("%d corpus tokens, %d distinct forms in %s" % (tokens, len(counts), args.corpus))
    else:
        log("no corpus at %s: all counts are 0" % args.corpus)

    entries = {word: entry_count(word, counts) for word in words}

    extra = 0
    if args.extra_min_count > 0 and counts:
        lower_known = {w.lower() for w in words}
        lower_counts = collections.Counter()
        for word, n in entries.items():
            lower_counts[word.lower()] += n
        known_by_delete = collections.defaultdict(list)
        for word in lower_known:
            for key in deletes1(word) | {word}:
                known_by_delete[key].append(word)
        for form, n in counts.items():
            if n < args.extra_min_count or len(form) < 3 or "'" in form:
                continue
            lower = form.lower()
            if lower in lower_known:
                continue
            if form == lower:
                # a lower-case word (jargon, commands): with its sentence-initial occurrences
                n_total = n + counts.get(form[:1].upper() + form[1:], 0)
            elif form[0].isupper() and form[1:] == lower[1:]:
                # a capitalised word (a name): only when it is rarely seen in lower case
                if counts.get(lower, 0) * 10 > n:
                    continue
                n_total = n
            else:
                continue
            if n_total < args.extra_typo_safe_count and looks_like_typo(lower, n_total, known_by_delete, lower_counts):
                continue
            entries[form] = n_total
            extra += 1
        log("%d frequent corpus words added (count >= %d; looking like a typo of a 30 times more "
            "frequent word and seen under %d times: left out)"
            % (extra, args.extra_min_count, args.extra_typo_safe_count))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write(FORMAT_LINE + "\n")
        out.write("# words: SCOWL (Kevin Atkinson, Debian package scowl) sizes <= %d, variants %s, "
                  "proper names <= %d; %d corpus words added\n"
                  % (args.max_size, args.variants, args.max_name_size, extra))
        out.write("# counts: occurrences in %s (%d word tokens)\n"
                  % (os.path.relpath(args.corpus, root) if counts else "(none)", tokens))
        for word in sorted(entries, key=lambda w: w.encode("utf-8")):
            out.write("%s\t%d\n" % (word, entries[word]))
    os.replace(tmp, args.out)
    log("wrote %d words to %s (%d bytes)" % (len(entries), args.out, os.path.getsize(args.out)))


if __name__ == "__main__":
    main()
