#!/usr/bin/python3
"""The baseline table: the neural model against an n-gram model built from the same tokens, on
held-out bits per character and on keystroke savings.

This is: a Python port of what bench/eval_keystrokes measures (the simulated user of
src/decoder/keystrokes.c, ac_complete's token healing from src/decoder/complete.c, the beam search
of src/decoder/beam.c, the text rules of src/decoder/text.c and the vocabulary tables of
src/decoder/vocab.c), driven by the Kneser-Ney model of python/ngram.py instead of the engine, plus
a byte-level BPE encoder that mirrors src/tokenizer (pretokenize.c, merge ranks), and the driver
that runs both models and prints the table. The port follows the C code rule for rule, so the two
tools differ only in the language model; tests/python/test_ngram.py checks the port against the C
decoder (`autocorrect complete` on the tiny fixture model, scored here by python/model.py).
This is not: a decoder anyone types with (the daemon runs the C one), nor the neural evaluation
itself (python/eval_lm.py and build/bench/eval_keystrokes do that; this script runs them).

Not ported, because the evaluation never reaches them: the text after the cursor (the simulated
user types at the end of its text; with no text after the cursor the after-cursor rules only drop
a completion that is all whitespace), the fix span, the deadline and cancel flag, and the cut of
contexts longer than the model's window (lines are cut at 300 characters, far below it).

    /usr/bin/python3 bench/ngram_baseline.py [--checkpoint data/train/default/best.pt]
        [--order N] [--limit 100] [--json data/eval/baseline.json]
"""

import argparse
import bisect
import json
import math
import os
import subprocess
import sys
import time
import unicodedata

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

STOP_WORD, STOP_PHRASE, STOP_LINE = 0, 1, 2
WORD_BEFORE, WORD_IN, WORD_END = 0, 1, 2   # the word states of text.c (enum ac__word_state)
STOP_NAMES = {"word": STOP_WORD, "phrase": STOP_PHRASE, "line": STOP_LINE}


# ------------------------------------------------------------------ byte-level BPE (src/tokenizer)

def bytes_to_unicode():
    """GPT-2's byte -> printable character map (src/tokenizer/bytes_unicode.c)."""
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


_JS_SPACES = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
              0x3000, 0xFEFF}
CLS_SPACE, CLS_LETTER, CLS_NUMBER, CLS_OTHER = 0, 1, 2, 3


def cp_class(ch):
    """pretokenize.c's ac__cp_class: JavaScript's \\s, then \\p{L}, \\p{N}, other."""
    cp = ord(ch)
    if cp in _JS_SPACES or 0x2000 <= cp <= 0x200A:
        return CLS_SPACE
    cat = unicodedata.category(ch)
    if cat[0] == "L":
        return CLS_LETTER
    if cat in ("Nd", "Nl", "No"):
        return CLS_NUMBER
    return CLS_OTHER


def pretokenize(s):
    """GPT-2's pre-tokenizer on a str, as pretokenize.c's scanner (ac__pretok_next) runs it."""
    out, i, n = [], 0, len(s)
    while i < n:
        j = _pretok_next(s, i, n)
        out.append(s[i:j])
        i = j
    return out


def _run_end(s, j, n, k):
    while j < n and cp_class(s[j]) == k:
        j += 1
    return j


def _pretok_next(s, i, n):
    c = s[i]
    if c == "'" and i + 1 < n:
        d = s[i + 1]
        if d in "stmd":
            return i + 2
        if i + 2 < n and ((d in "rv" and s[i + 2] == "e") or (d == "l" and s[i + 2] == "l")):
            return i + 3
    if c == " " and i + 1 < n:
        k2 = cp_class(s[i + 1])
        if k2 != CLS_SPACE:
            return _run_end(s, i + 2, n, k2)
    k = cp_class(c)
    if k != CLS_SPACE:
        return _run_end(s, i + 1, n, k)
    j, last, count = i + 1, i, 1
    while j < n and cp_class(s[j]) == CLS_SPACE:
        last = j
        j += 1
        count += 1
    if j == n or count == 1:
        return j
    return last


class ByteBPE:
    """vocab.json + merges.txt (Hugging Face's GPT-2 files): encode text to ids by merge rank,
    and every id's bytes. Tokens whose strings are not in byte-to-unicode form are special
    (`<|endoftext|>`), as src/tokenizer/bpe_files.c decides."""

    def __init__(self, tok_dir):
        with open(os.path.join(tok_dir, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        self.encoder = vocab
        self.byte_enc = bytes_to_unicode()
        dec = {c: b for b, c in self.byte_enc.items()}
        self.n_vocab = max(vocab.values()) + 1
        self.token_bytes = [b""] * self.n_vocab
        self.special = [False] * self.n_vocab
        for s, i in vocab.items():
            if all(ch in dec for ch in s):
                self.token_bytes[i] = bytes(dec[ch] for ch in s)
            else:
                self.token_bytes[i] = s.encode("utf-8")
                self.special[i] = True
        self.eot = vocab.get("<|endoftext|>", -1)
        self.ranks = {}
        with open(os.path.join(tok_dir, "merges.txt"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#version"):
                    continue
                a, b = line.split(" ")
                self.ranks[(a, b)] = len(self.ranks)
        self._cache = {}

    def _bpe(self, piece):
        word = [self.byte_enc[b] for b in piece.encode("utf-8")]
        while len(word) > 1:
            best, best_rank = None, None
            for pair in zip(word, word[1:]):
                r = self.ranks.get(pair)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = pair, r
            if best is None:
                break
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return [self.encoder[w] for w in word]

    def encode(self, text):
        """Ids of a str (no special tokens recognised, as ac_bpe_encode without AC_BPE_SPECIAL)."""
        ids = []
        for piece in pretokenize(text):
            hit = self._cache.get(piece)
            if hit is None:
                hit = self._bpe(piece)
                if len(self._cache) < 200000:
                    self._cache[piece] = hit
            ids.extend(hit)
        return ids


# ------------------------------------------------------------------ text rules (src/decoder/text.c)

_WORD_CATS = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc"}
_PHRASE_MARKS = {ord(c) for c in ".,;:!?"}


def is_word_cp(cp):
    """ac__is_word_cp: letters, marks, numbers, '_', ' and U+2019; -1 (a bad byte) counts."""
    if cp < 0:
        return True
    if cp < 128:
        return (97 <= cp <= 122) or (65 <= cp <= 90) or (48 <= cp <= 57) or cp in (95, 39)
    if cp == 0x2019:
        return True
    return unicodedata.category(chr(cp)) in _WORD_CATS


def _lead_len(c):
    if c < 0x80:
        return 1
    if 0xC2 <= c <= 0xDF:
        return 2
    if 0xE0 <= c <= 0xEF:
        return 3
    if 0xF0 <= c <= 0xF4:
        return 4
    return 0


def next_cp(s, i):
    """(code point or -1, length) of the character at s[i] (bytes), as text.c's next_cp."""
    c = s[i]
    if c < 0x80:
        return c, 1
    k = _lead_len(c)
    if k == 0 or i + k > len(s):
        return -1, 1
    try:
        return ord(s[i:i + k].decode("utf-8")), k
    except UnicodeDecodeError:
        return -1, 1


def has_word_char(s):
    i = 0
    while i < len(s):
        cp, k = next_cp(s, i)
        if is_word_cp(cp):
            return True
        i += k
    return False


def stop_scan(stop, state, s):
    """ac__stop_scan: (bytes kept when the rule stops inside s, or -1; the word state after)."""
    i = 0
    while i < len(s):
        cp, k = next_cp(s, i)
        word = is_word_cp(cp)
        newline = cp in (10, 13)
        if stop == STOP_WORD:
            # at the typed word's end only a space leads on (to the next word)
            if not word and (newline or state == WORD_IN or (state == WORD_END and cp != 32)):
                return i, state
        elif stop == STOP_PHRASE:
            if newline:
                return i, state
            if cp in _PHRASE_MARKS:
                return i + k, state
        else:
            if newline:
                return i, state
        if word:
            state = WORD_IN
        elif state == WORD_END:
            state = WORD_BEFORE
        i += k
    return -1, state


def utf8_incomplete_tail(s):
    n = len(s)
    for k in range(1, 4):
        if k > n:
            break
        c = s[n - k]
        if c & 0xC0 == 0x80:
            continue
        return k if _lead_len(c) > k else 0
    return 0


def text_ends_in_word(s):
    n = len(s)
    if n == 0:
        return False
    if utf8_incomplete_tail(s):
        return True
    start = n - 1
    while start > 0 and n - start < 4 and s[start] & 0xC0 == 0x80:
        start -= 1
    return is_word_cp(next_cp(s[:n], start)[0])


def utf8_keep(pending, s):
    """ac__utf8_keep: the longest k such that pending + s[:k] is valid UTF-8 ending on a boundary."""
    i, n = 0, len(s)
    if pending:
        L = _lead_len(pending[0])
        if L <= len(pending) or len(pending) > 3:
            return 0
        need = L - len(pending)
        if n < need:
            return 0
        try:
            (pending + s[:need]).decode("utf-8")
        except UnicodeDecodeError:
            return 0
        i = need
    while i < n:
        if s[i] < 0x80:
            i += 1
            continue
        cp, k = next_cp(s, i)
        if cp < 0:
            break
        i += k
    return i


def utf8_viable(pending, s):
    """ac__utf8_viable: pending + s is valid UTF-8 or a prefix of it."""
    need, lo, hi = 0, 0x80, 0xBF
    for c in pending + s:
        if need == 0:
            if c < 0x80:
                continue
            lo, hi = 0x80, 0xBF
            if 0xC2 <= c <= 0xDF:
                need = 1
            elif c == 0xE0:
                need, lo = 2, 0xA0
            elif c == 0xED:
                need, hi = 2, 0x9F
            elif 0xE1 <= c <= 0xEF:
                need = 2
            elif c == 0xF0:
                need, lo = 3, 0x90
            elif 0xF1 <= c <= 0xF3:
                need = 3
            elif c == 0xF4:
                need, hi = 3, 0x8F
            else:
                return False
        else:
            if c < lo or c > hi:
                return False
            need -= 1
            lo, hi = 0x80, 0xBF
    return True


def after_rule_no_after(text):
    """ac__after_rule with no text after the cursor: drop a completion that is only whitespace."""
    return len(text.rstrip(b" \t\n\r\f\v")) > 0


# ------------------------------------------------------------------ vocabulary tables (vocab.c)

class DecoderVocab:
    """ac__vocab: every token's bytes, special and control flags, the stop offsets of a rule for
    both word states, and the byte-sorted index behind the consistent-token lookups."""

    def __init__(self, bpe, n_vocab, stop):
        self.n_vocab = n_vocab
        self.stop = stop
        self.eos = bpe.eot if 0 <= bpe.eot < n_vocab else -1
        self.bytes = [bpe.token_bytes[t] if t < bpe.n_vocab else b"" for t in range(n_vocab)]
        special = np.zeros(n_vocab, bool)
        control = np.zeros(n_vocab, bool)
        for t in range(n_vocab):
            b = self.bytes[t]
            special[t] = (t < bpe.n_vocab and bpe.special[t]) or len(b) == 0 or t == self.eos
            if not special[t]:
                control[t] = any((c < 0x20 and c not in (9, 10, 13)) or c == 0x7F for c in b)
        self.special, self.control = special, control
        self.stop_at = np.full((3, n_vocab), -1, np.int32)     # [word state][token]
        self.sets_started = np.zeros(n_vocab, bool)
        for t in range(n_vocab):
            if special[t]:
                continue
            for s in (WORD_BEFORE, WORD_IN, WORD_END):
                self.stop_at[s, t] = stop_scan(stop, s, self.bytes[t])[0]
            self.sets_started[t] = has_word_char(self.bytes[t])
        ids = np.arange(n_vocab)
        is_eos = ids == self.eos
        self.gen = (~special & ~control) | is_eos                # a free step may generate these
        self.stop_mask = [(self.stop_at[s] == 0) | is_eos for s in (WORD_BEFORE, WORD_IN, WORD_END)]
        self.max_len = max(len(b) for b in self.bytes)
        order = sorted((self.bytes[t], t) for t in range(n_vocab) if not special[t])
        self.sorted_bytes = [b for b, _ in order]
        self.sorted_ids = np.array([t for _, t in order], np.int64)
        self.exact = {b: t for b, t in order}

    def consistent(self, r):
        """ac__vocab_consistent: tokens that are a proper prefix of r (shortest first), then the
        tokens that start with r (in byte order)."""
        pre = [self.exact[r[:j]] for j in range(1, len(r)) if r[:j] in self.exact]
        lo = bisect.bisect_left(self.sorted_bytes, r)
        hi = bisect.bisect_right(self.sorted_bytes, r + b"\xff" * (self.max_len + 1), lo)
        return np.concatenate([np.array(pre, np.int64), self.sorted_ids[lo:hi]])

    def has_prefix(self, r):
        """ac__vocab_has_prefix: whether a non-special token starts with r (or is r)."""
        i = bisect.bisect_left(self.sorted_bytes, r)
        return i < len(self.sorted_bytes) and self.sorted_bytes[i].startswith(r)


# ------------------------------------------------------------------ ac_complete (complete.c, beam.c)

ORDER_SCORE, ORDER_SAVING = 0, 1   # enum ac_order


def order_saving(pool, min_score, W):
    """beam.c order_saving: up to W of the pooled [score, text, n_tok, sum] (best score first), in
    the order that saves the most typing: hypothesis d weighs exp(sum), a completion c gains on d
    the code points of c when c is a prefix of d and beats what the places above already gain."""
    world = [h for h in pool if h[0] >= min_score]
    prob = [math.exp(h[3]) for h in world]
    chars = [count_chars(h[1]) for h in world]
    got = [0] * len(world)
    used = [False] * len(world)
    out = []
    while len(out) < min(W, len(world)):
        best, best_v = -1, -1.0
        for c in range(len(world)):
            if used[c]:
                continue
            v = 0.0
            for d in range(len(world)):
                if world[d][1].startswith(world[c][1]) and chars[c] > got[d]:
                    v += prob[d] * (chars[c] - got[d])
            if v > best_v:
                best, best_v = c, v
        used[best] = True
        for d in range(len(world)):
            if world[d][1].startswith(world[best][1]) and chars[best] > got[d]:
                got[d] = chars[best]
        out.append(world[best])
    return out


class Params:
    """ac_complete_default_params (src/decoder/params.c)."""

    def __init__(self, beam_width=5, max_tokens=4, stop=STOP_PHRASE, length_penalty=1.0,
                 min_score=-2.5, order=ORDER_SAVING):
        self.beam_width, self.max_tokens, self.stop = beam_width, max_tokens, stop
        self.length_penalty, self.min_score, self.order = length_penalty, min_score, order


def _word_byte_at(s, last):
    if not s:
        return False
    return text_ends_in_word(s) if last else (has_word_char(s[:1]) or s[0] >= 0x80)


def _topk(L, ids, k):
    """The k best of L[ids] (value descending, ties: the one earlier in ids), as topk_push keeps
    them. ids: int64 array; returns the chosen ids."""
    if len(ids) == 0:
        return ids
    vals = L[ids]
    if len(ids) > k:
        thr = np.partition(vals, len(ids) - k)[len(ids) - k]
        keep = vals >= thr
        ids, vals = ids[keep], vals[keep]
        pos = np.flatnonzero(keep)
    else:
        pos = np.arange(len(ids))
    order = np.lexsort((pos, -vals))
    return ids[order[:k]]


HEAL_MAX_TOKENS = 8   # complete.c


class Completer:
    """ac_complete for one language model. `logp(ctx)` returns natural-log next-token
    probabilities [n_vocab] after the token tuple ctx (for the n-gram these are its
    probabilities; for a neural model the log-softmax of its logits)."""

    def __init__(self, bpe, vocab, logp, params=None):
        self.bpe, self.v, self.logp = bpe, vocab, logp
        self.p = params or Params()

    # -- the request: encode, token healing's back-off (complete.c, ac_complete)
    def complete(self, text):
        """Completions of the typed bytes `text`: a list of (completion bytes, score), best first."""
        v = self.v
        ids = self.bpe.encode(text.decode("utf-8", errors="surrogateescape"))
        lead = [v.eos] if v.eos >= 0 else []
        all_ids = lead + ids
        n_all = len(all_ids)
        back, required_len = 0, 0
        if ids:
            in_word = 1   # the tokens of the word being typed (HEAL_MAX_TOKENS at most)
            while (in_word < HEAL_MAX_TOKENS and in_word < len(ids)
                   and _word_byte_at(v.bytes[all_ids[-in_word - 1]], True)
                   and _word_byte_at(v.bytes[all_ids[-in_word]], False)):
                in_word += 1
            back = min(in_word, 2)
            if in_word > 2 and v.has_prefix(b"".join(v.bytes[t] for t in all_ids[n_all - in_word:])):
                back = in_word   # a token starts with the whole word: take the word off
            if n_all - back < 1:
                back = n_all - 1
            required_len = sum(len(v.bytes[all_ids[n_all - 1 - i]]) for i in range(back))
        n_model = n_all - back
        if n_model < 1:
            return []
        ctx = tuple(all_ids[:n_model])
        required = text[len(text) - required_len:] if required_len else b""
        pend = utf8_incomplete_tail(text)
        return self._search(ctx, required, text_ends_in_word(text), text[len(text) - pend:] if pend else b"")

    # -- beam.c
    def _normalise(self, s, n):
        lp = self.p.length_penalty
        if lp == 0.0 or n <= 1:
            return s
        return s / math.pow(n, lp)

    def _search(self, ctx, required, started, pending):
        v, p = self.v, self.p
        W = p.beam_width
        cap = 2 * W
        pool = []          # [score, text, n_tok, sum], best score first

        def floor():
            return pool[-1][0] if len(pool) == cap else -math.inf

        def offer(text, s, n_tok):
            n = utf8_keep(pending, text)
            text = text[:n]
            if n == 0 or not after_rule_no_after(text):
                return
            score = self._normalise(s, n_tok)
            for i, h in enumerate(pool):
                if h[1] == text:
                    if score <= h[0]:
                        return
                    del pool[i]
                    break
            at = len(pool)
            while at > 0 and (score > pool[at - 1][0] or (score == pool[at - 1][0] and text < pool[at - 1][1])):
                at -= 1
            if at >= cap:
                return
            pool.insert(at, [score, text, n_tok, s])
            del pool[cap:]

        def reachable(b):
            best = self._normalise(b["sum"], b["n_tok"])
            for n in range(b["n_tok"] + 1, p.max_tokens + 1):
                best = max(best, self._normalise(b["sum"], n))
            return best

        beams = [{"sum": 0.0, "n_tok": 0, "rem": len(required), "word": WORD_END if started else WORD_BEFORE,
                  "text": b"", "toks": ()}]
        rows = [self.logp(ctx)]
        for step in range(p.max_tokens):
            cands = []     # (sum, beam, tok, skip, stop)
            for bi, b in enumerate(beams):
                self._propose(bi, b, rows[bi], required, cands)
            cands.sort(key=lambda c: (-c[0], c[1], c[2]))
            nxt = []
            for csum, bi, tok, skip, stop in cands:
                b = beams[bi]
                text = b["text"]
                st = b["word"]
                if tok >= 0:
                    tb = v.bytes[tok]
                    add = max(len(tb) - skip, 0)
                    if 0 <= stop < add:
                        add = stop
                    piece = tb[skip:skip + add]
                    text = text + piece
                    if stop < 0 and add > 0:
                        has_word = v.sets_started[tok] if skip == 0 else has_word_char(piece)
                        if has_word:
                            st = WORD_IN
                        elif st == WORD_END:
                            st = WORD_BEFORE
                if len(text) > len(b["text"]) and not utf8_viable(pending, text):
                    continue
                if stop >= 0:
                    offer(text, csum, b["n_tok"] + 1)
                    continue
                if len(nxt) == W:
                    continue
                rem = b["rem"] - skip if skip > 0 else b["rem"]
                if any(n["rem"] == rem and n["text"] == text for n in nxt):
                    continue
                nb = {"sum": csum, "n_tok": b["n_tok"] + 1, "rem": rem, "word": st, "text": text,
                      "toks": b["toks"] + (tok,)}
                reach = reachable(nb)
                if reach < p.min_score or reach < floor():
                    continue
                nxt.append(nb)
            beams = nxt
            if not beams:
                break
            if step == p.max_tokens - 1:
                for b in beams:
                    if b["rem"] == 0:
                        offer(b["text"], b["sum"], b["n_tok"])
                beams = []
                break
            rows = [self.logp(ctx + b["toks"]) for b in beams]
        if p.order == ORDER_SAVING:
            return [(h[1], h[0]) for h in order_saving(pool, p.min_score, W)]
        out = []
        for score, text, _, _ in pool:
            if score < p.min_score or len(out) == W:
                continue
            out.append((text, score))
        return out

    def _propose(self, bi, b, L, required, cands):
        v, p = self.v, self.p
        k = 2 * p.beam_width
        L = np.asarray(L, np.float64)
        if b["rem"] > 0:
            # token healing: only tokens consistent with the typed bytes still to reproduce
            rem = b["rem"]
            r = required[len(required) - rem:]
            allowed = v.consistent(r)
            if len(allowed) == 0:
                return
            La = L[allowed]
            m = La.max()
            lse = m + math.log(float(np.exp(La - m).sum()))
            if b["n_tok"] > 0:
                # beam.c: only the first healing step is renormalised over the consistent set;
                # later ones keep the model's full log-softmax
                fin = L[np.isfinite(L)]
                mf = fin.max()
                lse = mf + math.log(float(np.exp(fin - mf).sum()))
            order = np.lexsort((np.arange(len(allowed)), -La))
            picked = []
            for j in order:
                t = int(allowed[j])
                tb = v.bytes[t]
                if len(tb) > rem:
                    after = tb[rem:]
                    first = 1
                    while first < len(after) and first < 4 and after[first] & 0xC0 == 0x80:
                        first += 1
                    if stop_scan(p.stop, b["word"], after[:first])[0] == 0:
                        continue
                if La[j] > -math.inf:
                    picked.append(t)
                    if len(picked) == k:
                        break
            for t in picked:
                tb = v.bytes[t]
                stop = -1
                if len(tb) > rem:
                    stop = stop_scan(p.stop, b["word"], tb[rem:])[0]
                cands.append((b["sum"] + (float(L[t]) - lse), bi, t, min(len(tb), rem), stop))
            return
        # free step: log-softmax over every token the model may generate
        s = b["word"]
        gen = v.gen
        m = float(L[gen].max())
        e = np.exp(L - m)
        z = float(e[gen].sum())
        stop_mask = gen & v.stop_mask[s]
        z_stop = float(e[stop_mask].sum())
        lse = m + math.log(z)
        if len(b["text"]) > 0 and z_stop > 0:
            cands.append((b["sum"] + (m + math.log(z_stop) - lse), bi, -1, 0, 0))
        ids = np.flatnonzero(gen & ~v.stop_mask[s] & (L > -np.inf))
        for t in _topk(L, ids, k):
            t = int(t)
            cands.append((b["sum"] + (float(L[t]) - lse), bi, t, 0, int(v.stop_at[s, t])))


# ------------------------------------------------------------------ the simulated user (keystrokes.c)

def count_chars(s):
    """Code points in bytes s (a byte that does not start a character counts as one)."""
    return sum(1 for c in s if c & 0xC0 != 0x80)


def char_bytes(s, pos):
    k = 1
    while k < len(s) - pos and s[pos + k] & 0xC0 == 0x80 and k < 4:
        k += 1
    return k


class KsStats:
    def __init__(self):
        self.chars = self.keystrokes = self.accepts = self.accepted_chars = self.requests = 0

    def savings(self):
        return 1.0 - self.keystrokes / self.chars if self.chars else 0.0

    def as_dict(self):
        return dict(chars=self.chars, keystrokes=self.keystrokes, accepts=self.accepts,
                    accepted_chars=self.accepted_chars, requests=self.requests, savings=self.savings())


def keystroke_sim(target, shown, suggest, st):
    """A port of ac__keystroke_sim (src/decoder/keystrokes.c), rule for rule: typing the bytes
    `target`, before every keystroke the user is shown suggest(typed bytes, shown) (a list of
    completion bytes, best first); if some shown completion is a prefix of the rest of the target
    the user accepts the longest such one (one keystroke), otherwise types the next character
    (one keystroke per code point)."""
    if not 1 <= shown <= 16:
        raise ValueError("shown %d is outside 1..16" % shown)
    st.chars += count_chars(target)
    pos, n = 0, len(target)
    while pos < n:
        texts = suggest(target[:pos], shown)
        st.requests += 1
        best = 0
        for t in texts[:shown]:
            if len(t) > best and len(t) <= n - pos and target[pos:pos + len(t)] == t:
                best = len(t)
        st.keystrokes += 1
        if best:
            st.accepts += 1
            st.accepted_chars += count_chars(target[pos:pos + best])
            pos += best
        else:
            pos += char_bytes(target, pos)


def eval_lines(path, limit=0, max_chars=300):
    """The lines bench/eval_keystrokes.c types: trailing CR and spaces trimmed, empty lines and
    the corpus's document ends (<|endoftext|>) skipped, each cut at the last space before
    max_chars bytes; at most `limit` (0: all)."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for line in data.split(b"\n"):
        if limit > 0 and len(out) >= limit:
            break
        if line == b"<|endoftext|>":
            continue
        n = len(line)
        while n and line[n - 1] in (13, 32):
            n -= 1
        if n == 0:
            continue
        if max_chars > 0 and n > max_chars:
            cut = max_chars
            while cut > 0 and line[cut] != 32:
                cut -= 1
            n = cut if cut else max_chars
            while n < max_chars and line[n] & 0xC0 == 0x80:
                n += 1
        out.append(line[:n])
    return out


def ngram_keystrokes(completer, lines, shown_list, width_floor=5, log=None):
    """Keystroke savings of a Completer on `lines` for each number shown (beam width max(K, 5) as
    eval_keystrokes.c uses). Completions are memoised per typed prefix and beam width."""
    memo = {}
    results = {}
    for k in shown_list:
        completer.p.beam_width = max(k, width_floor)
        w = completer.p.beam_width

        def suggest(typed, shown):
            key = (w, typed)
            r = memo.get(key)
            if r is None:
                r = [t for t, _ in completer.complete(typed)]
                memo[key] = r
            return r[:shown]
        st = KsStats()
        t0 = time.time()
        for i, line in enumerate(lines):
            keystroke_sim(line, k, suggest, st)
            if log and (i + 1) % 10 == 0:
                log("n-gram, %d shown: %d/%d lines, savings so far %.2f%%" % (k, i + 1, len(lines), 100 * st.savings()))
        d = st.as_dict()
        d.update(lines=len(lines), seconds=round(time.time() - t0, 1))
        results[k] = d
    return results


# ------------------------------------------------------------------ the driver

def _log(msg):
    print("ngram_baseline: " + msg, file=sys.stderr)
    sys.stderr.flush()


def neural_keystrokes(model_dir, input_path, limit, max_chars, shown, tokenizer=None, stop="phrase"):
    """Runs build/bench/eval_keystrokes and returns {shown: its JSON summary line}."""
    exe = os.path.join(ROOT, "build", "bench", "eval_keystrokes")
    cmd = [exe, "--model", model_dir, "--input", input_path, "--limit", str(limit),
           "--max-chars", str(max_chars), "--shown", ",".join(map(str, shown)), "--int8", "--stop", stop]
    if tokenizer:
        cmd += ["--tokenizer", tokenizer]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("eval_keystrokes failed: %s" % r.stderr.strip())
    out = {}
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            out[d["shown"]] = d
    return out


def ngram_row(a, meta, V, lines, shown):
    """Builds the Kneser-Ney model on train.bin and measures it: bits/char on valid.txt and, unless
    --skip-keystrokes, keystroke savings on `lines`. Returns its table row."""
    import eval_lm
    import ngram
    train = np.memmap(os.path.join(a.data, "train.bin"), dtype="<u2", mode="r")
    orders = [a.order] if a.order else [int(x) for x in a.orders.split(",")]
    model = ngram.KneserNey.train(train, V, max(orders), verbose=True)
    row, kn_nll = ngram.evaluate(model, eval_lm, a.data, a.valid_text, orders)
    if a.save_nll:
        os.makedirs(a.save_nll, exist_ok=True)
        np.save(os.path.join(a.save_nll, "ngram_nll.npy"), kn_nll)
    order = row["order"]
    row["model"] = "kn%d (interpolated modified Kneser-Ney)" % order
    _log("n-gram: order %d, %.4f bits/char" % (order, row["bits_per_char"]))
    if not a.skip_keystrokes:
        bpe = ByteBPE(a.tokenizer)
        stop = STOP_NAMES[a.stop]
        vocab = DecoderVocab(bpe, V, stop)
        logcache = {}

        def logp(ctx):
            key = ctx[-(order - 1):] if order > 1 else ()
            r = logcache.get(key)
            if r is None:
                r = np.log(model.dist(key))
                if len(logcache) > 20000:
                    logcache.clear()
                logcache[key] = r
            return r
        comp = Completer(bpe, vocab, logp, Params(stop=stop))
        row["keystrokes"] = ngram_keystrokes(comp, lines, shown, log=_log)
    return row


def reused_ngram_row(path, settings, need_keystrokes):
    """The n-gram row of an earlier run's JSON, when that run had exactly these settings (the
    same token files, texts, lines and shown counts) and, if need_keystrokes, measured keystroke
    savings; raises SystemExit naming the difference."""
    with open(path, encoding="utf-8") as f:
        old = json.load(f)
    theirs = old.get("settings")
    if theirs is None:
        raise SystemExit("ngram_baseline: %s records no settings; rebuild the n-gram (drop --reuse-ngram)" % path)
    for k, v in settings.items():
        if theirs.get(k) != v:
            raise SystemExit("ngram_baseline: %s was made with %s = %r, not %r; rebuild the n-gram"
                             % (path, k, theirs.get(k), v))
    row = next((r for r in old["rows"] if r["model"].startswith("kn")), None)
    if row is None:
        raise SystemExit("ngram_baseline: %s holds no n-gram row" % path)
    if need_keystrokes and "keystrokes" not in row:
        raise SystemExit("ngram_baseline: %s has no keystroke savings (it ran with --skip-keystrokes)" % path)
    if "keystrokes" in row:     # JSON keys are strings; the table indexes by int
        row["keystrokes"] = {int(k): v for k, v in row["keystrokes"].items()}
    return row


def main(argv=None):
    import eval_lm
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/tokens")
    ap.add_argument("--valid-text", default="data/corpus/valid.txt")
    ap.add_argument("--prose", default="data/corpus/valid_prose.txt")
    ap.add_argument("--tokenizer", default="data/tok/v8192")
    ap.add_argument("--order", type=int, default=0, help="n-gram order (0: choose on valid's first half)")
    ap.add_argument("--orders", default="2,3,4,5")
    ap.add_argument("--checkpoint", help="the neural model to compare (e.g. data/train/default/best.pt)")
    ap.add_argument("--neural-dir", default="data/eval/neural",
                    help="where the checkpoint is exported (int8 ONNX + tokenizer) for eval_keystrokes")
    ap.add_argument("--limit", type=int, default=100, help="lines of --prose typed")
    ap.add_argument("--max-chars", type=int, default=300)
    ap.add_argument("--shown", default="3,5")
    ap.add_argument("--skip-keystrokes", action="store_true")
    ap.add_argument("--stop", choices=sorted(STOP_NAMES), default="phrase",
                    help="the completions' stop rule in the keystroke simulation (both models)")
    ap.add_argument("--save-nll", help="write each model's per-token NLL of valid.bin here (.npy)")
    ap.add_argument("--json", default="data/eval/baseline.json")
    ap.add_argument("--reuse-ngram", metavar="JSON",
                    help="take the n-gram row from an earlier --json of this script instead of rebuilding "
                         "it (about an hour of CPU); refused unless its data and settings are these")
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    shown = [int(x) for x in a.shown.split(",")]
    with open(os.path.join(a.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    V, eot = int(meta["vocab_size"]), int(meta["eot_id"])
    units = eval_lm.text_units(a.valid_text)
    stream = eval_lm.eval_stream(os.path.join(a.data, "valid.bin"), eot)
    rows = []

    lines = eval_lines(a.prose, a.limit, a.max_chars)
    settings = {"data_meta": meta, "valid_text": a.valid_text, "prose": a.prose, "lines": len(lines),
                "max_chars": a.max_chars, "shown": shown, "order": a.order, "orders": a.orders,
                "stop": a.stop}
    if a.reuse_ngram:
        row = reused_ngram_row(a.reuse_ngram, settings, not a.skip_keystrokes)
        _log("n-gram: order %d, %.4f bits/char (from %s)" % (row["order"], row["bits_per_char"], a.reuse_ngram))
    else:
        row = ngram_row(a, meta, V, lines, shown)
    rows.append(row)     # (ngram_row's counts, about 2 GB, are gone before the neural model loads)

    if a.checkpoint:
        import torch
        from model import load_model
        torch.set_num_threads(1)
        torch.set_flush_denormal(True)
        t0 = time.time()
        net = load_model(a.checkpoint)
        blk = min(128, net.config.n_positions)      # the default model's training length
        nll = eval_lm.neural_nll(net, stream, blk, blk // 2, per_token=True)
        nrow = eval_lm.summary(a.checkpoint, float(nll.sum()), len(stream) - 1, units)
        nrow["halves"] = eval_lm.half_summaries(nll, eval_lm.document_halves(stream, a.valid_text, eot))
        if a.save_nll:
            np.save(os.path.join(a.save_nll, "neural_nll.npy"), nll)
        log_path = os.path.join(os.path.dirname(a.checkpoint), "log.jsonl")
        if os.path.exists(log_path):
            logs = [json.loads(l) for l in open(log_path, encoding="utf-8") if l.strip()]
            if logs:
                nrow["step"] = min(logs, key=lambda r: r["valid_loss"])["step"]
                nrow["last_step_logged"] = logs[-1]["step"]
        _log("neural: %.4f bits/char (%.0f s)" % (nrow["bits_per_char"], time.time() - t0))
        if not a.skip_keystrokes:
            subprocess.run([sys.executable, os.path.join(ROOT, "python", "export_model.py"), "--checkpoint",
                            a.checkpoint, "--out", a.neural_dir, "--int8", "--tokenizer", a.tokenizer],
                           check=True, stdout=subprocess.DEVNULL)
            nrow["keystrokes"] = neural_keystrokes(a.neural_dir, a.prose, len(lines), a.max_chars, shown,
                                                   stop=a.stop)
        rows.append(nrow)

    print("| model | bits/char | char perplexity | bits/byte | token ppl | bits/char, 2nd half | " +
          " | ".join("savings, %d shown" % k for k in shown) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(shown))
    for r in rows:
        ks = r.get("keystrokes", {})
        cells = ["%.2f%%" % (100 * ks[k]["savings"]) if k in ks else "-" for k in shown]
        name = r["model"] + (" (step %d)" % r["step"] if "step" in r else "")
        print("| %s | %.4f | %.4f | %.4f | %.2f | %.4f | %s |" % (
            name, r["bits_per_char"], r["char_perplexity"], r["bits_per_byte"], r["token_perplexity"],
            r["halves"]["second"]["bits_per_char"], " | ".join(cells)))
    print("\n%d lines of %s typed (%d characters), valid.bin: %d tokens, %d characters"
          % (len(lines), a.prose, sum(count_chars(l) for l in lines), len(stream) - 1, units["chars"]))
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "lines": len(lines), "prose": a.prose, "settings": settings}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
