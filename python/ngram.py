#!/usr/bin/python3
"""An interpolated modified Kneser-Ney n-gram language model over BPE token ids: the baseline the
neural model has to beat.

This is: counting (numpy: sorted integer keys, no Python dicts, so 20M tokens fit in about 2 GB
and count in a minute or two), the smoothed probabilities (one token at a time over a whole stream
for perplexity, or the full next-token distribution of one context for beam search), choosing the
order and tuning the top order's discounts on the first half of valid.bin, and a command line
that reports held-out bits per character with the accounting of python/eval_lm.py.
This is not: a general toolkit (no pruning, no ARPA files, no sentence boundaries other than the
end-of-text token, which is an ordinary token here), nor the keystroke simulation
(bench/ngram_baseline.py drives this model through a port of the C decoder).

The smoothing (Chen & Goodman's interpolated modified Kneser-Ney), for a model of order N:

    p_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h .)  +  gamma_k(h) * p_{k-1}(w | h')
    gamma_k(h) = (D_k1 * N1(h .) + D_k2 * N2(h .) + D_k3 * N3+(h .)) / c_k(h .)
    p_0(w)     = 1 / V

where h' is h without its first token, c_N are raw counts, and for k < N c_k(h w) is the
continuation count N1+(. h w) (how many distinct tokens precede h w). c_k(h .) sums c_k(h w) over
w, N_r(h .) counts the w with c_k(h w) = r. A context never seen (c_k(h .) = 0) passes the lower
order's probability through unchanged. The three discounts per order come from that order's
count-of-counts n_1..n_4: Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2,
D3+ = 3 - 4Y n4/n3 (each clamped to [0, r], and kept non-decreasing). Every p_k sums to 1
over the vocabulary.

The training stream repeats documents (build_corpus.py weights sources up to 4x), which
inflates the raw counts' n_2..n_4: the top order's estimated discounts come out too low or
zero, so they are tuned on held-out tokens (coordinate search, tune_top_discounts). The
continuation counts of the lower orders count distinct predecessors, which repetition does
not change, and keep their estimates. Held-out chunks of train.bin would not do for tuning
(their documents have copies elsewhere in it): the order and the top discounts are chosen on
the first half of valid.bin, and the second half is reported apart as the untouched check.

Storage: the k-grams of order k are numbered by their rank in a sorted int64 array of keys
`prefix_id * V + last_token`, where prefix_id numbers the (k-1)-gram (for k = 1 the id is the
token itself). All k-grams that share a context are therefore one contiguous run of the array.

    /usr/bin/python3 python/ngram.py --data data/tokens --valid-text data/corpus/valid.txt
        [--orders 2,3,4,5] [--json OUT]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _log(msg):
    print("ngram: " + msg, file=sys.stderr)
    sys.stderr.flush()


def kn_discounts(counts):
    """Modified KN discounts (D1, D2, D3+) from an array of n-gram counts (zeros ignored).
    Falls back to (0.5, 1.0, 1.5) where a count-of-count is 0 (tiny corpora)."""
    c = np.asarray(counts)
    n = [int(np.count_nonzero(c == r)) for r in (1, 2, 3, 4)]
    d = [0.5, 1.0, 1.5]
    if n[0] > 0 and n[1] > 0:
        y = n[0] / (n[0] + 2.0 * n[1])
        d[0] = 1.0 - 2.0 * y * n[1] / n[0]
        d[1] = 2.0 - 3.0 * y * n[2] / n[1]
        if n[2] > 0:
            d[2] = 3.0 - 4.0 * y * n[3] / n[2]
    d = [float(min(max(x, 0.0), r)) for r, x in zip((1, 2, 3), d)]
    # Repeated documents (the corpus weights some sources by repeating them) inflate n_2..n_4 of
    # raw counts and can drive D3+ to 0, which would leave no mass for unseen tokens: keep the
    # discounts non-decreasing (choose_order then tunes the top order's on held-out tokens).
    d[1] = max(d[1], d[0])
    d[2] = max(d[2], d[1])
    return tuple(d)


def _discount_of(c, d):
    """D(c) for an int array of counts: 0, D1, D2 or D3+."""
    return np.where(c >= 3, d[2], np.where(c == 2, d[1], np.where(c == 1, d[0], 0.0)))


def _lookup(keys, q):
    """Index of each query key in the sorted array keys, or -1 where absent. q: int64 array."""
    idx = np.searchsorted(keys, q)
    idx_c = np.minimum(idx, len(keys) - 1)
    found = (idx < len(keys)) & (keys[idx_c] == q) if len(keys) else np.zeros(len(q), bool)
    return np.where(found, idx_c, -1)


class KneserNey:
    """The counts of every order 1..max_order, and the smoothed model of any order up to it.

    keys[k]  int64 [n_k]  sorted keys prefix_id * V + token of the distinct k-grams (k >= 2)
    raw[k]   int64 [n_k]  how often each k-gram occurs (k = 1: [V], indexed by token)
    cont[k]  int64 [n_k]  continuation counts N1+(. gram) (for k < max_order)
    """

    def __init__(self, vocab_size, max_order):
        if max_order < 1:
            raise ValueError("order must be >= 1")
        self.V = int(vocab_size)
        self.max_order = int(max_order)
        self.keys, self.raw, self.cont = {}, {}, {}
        self.order = self.max_order      # the order probabilities use; set_order changes it
        self._stats = {}                 # (k, variant) -> context statistics, built lazily
        self.discounts = {}              # (k, variant) -> (D1, D2, D3+) overriding the estimate
        self._dist_cache = {}

    # ------------------------------------------------------------------ counting

    @classmethod
    def train(cls, tokens, vocab_size, max_order, exclude=None, verbose=False):
        """Counts every k-gram (k <= max_order) of the token stream (uint16 or int array). An
        `exclude` bool mask [len(tokens)] leaves those positions out: no counted k-gram covers
        an excluded position."""
        self = cls(vocab_size, max_order)
        V = self.V
        t = np.asarray(tokens).astype(np.int64)
        if len(t) and (t.min() < 0 or t.max() >= V):
            raise ValueError("token ids must be in 0..%d" % (V - 1))
        keep = np.ones(len(t), bool) if exclude is None else ~np.asarray(exclude, bool)
        t0 = time.time()
        self.raw[1] = np.bincount(t[keep], minlength=V).astype(np.int64)
        prev = np.where(keep, t, -1)      # id of the (k-1)-gram ending at each position
        for k in range(2, max_order + 1):
            ok = (prev[:-1] >= 0) & keep[1:]
            pos = np.flatnonzero(ok) + 1
            key = prev[pos - 1] * V + t[pos]
            uniq, first, inv, cnt = np.unique(key, return_index=True, return_inverse=True,
                                              return_counts=True)
            # continuation counts of order k-1: each distinct k-gram adds 1 to its suffix
            suffix = prev[pos[first]]
            n_prev = V if k == 2 else len(self.keys[k - 1])
            self.cont[k - 1] = np.bincount(suffix, minlength=n_prev).astype(np.int64)
            self.keys[k] = uniq
            self.raw[k] = cnt.astype(np.int64)
            cur = np.full(len(t), -1, np.int64)
            cur[pos] = inv
            prev = cur
            del key, first, inv, cnt, suffix, pos, ok
            if verbose:
                _log("order %d: %d distinct %d-grams (%.0f s)" % (k, len(uniq), k, time.time() - t0))
        return self

    def set_order(self, order):
        """Use the model of this order (1..max_order): raw counts at the top, continuation below."""
        if not 1 <= order <= self.max_order:
            raise ValueError("order %d is outside 1..%d" % (order, self.max_order))
        self.order = int(order)
        self._dist_cache = {}
        return self

    def set_discounts(self, k, variant, d):
        """Override the discounts of order k's raw or continuation counts (None: the estimate)."""
        if d is None:
            self.discounts.pop((k, variant), None)
        else:
            self.discounts[(k, variant)] = tuple(float(x) for x in d)
        self._stats.pop((k, variant), None)
        self._dist_cache = {}

    def discounts_of(self, k):
        """The discounts order k uses under the current model order."""
        return self._context_stats(k)[2]

    def _counts(self, k):
        return self.raw[k] if k == self.order else self.cont[k]

    def _segments(self, k, variant):
        """Per context of order k (the (k-1)-grams), from the raw or continuation counts:
        (total [n_ctx], n1 [n_ctx], n2 [n_ctx], n3+ [n_ctx] as float64, offsets [n_ctx + 1]
        into keys[k]); for k = 1 scalars and offsets None. Cached: discounts do not change them."""
        key = ("seg", k, variant)
        if key in self._stats:
            return self._stats[key]
        c = self.raw[k] if variant == "raw" else self.cont[k]
        if k == 1:
            seg = (float(c.sum()), float(np.count_nonzero(c == 1)), float(np.count_nonzero(c == 2)),
                   float(np.count_nonzero(c >= 3)), None)
        else:
            V = self.V
            n_ctx = V if k == 2 else len(self.keys[k - 1])
            off = np.searchsorted(self.keys[k], np.arange(n_ctx + 1, dtype=np.int64) * V)

            def seg_sum(x):
                cs = np.concatenate([[0], np.cumsum(x, dtype=np.int64)])
                return (cs[off[1:]] - cs[off[:-1]]).astype(np.float64)
            seg = (seg_sum(c), seg_sum(c == 1), seg_sum(c == 2), seg_sum(c >= 3), off)
        self._stats[key] = seg
        return seg

    def _context_stats(self, k):
        """For order k under the current model order: (total [n_ctx], gamma [n_ctx],
        discounts (D1, D2, D3), offsets [n_ctx + 1] into keys[k]) over the contexts (the
        (k-1)-grams); for k = 1 total and gamma are scalars and offsets is None."""
        variant = "raw" if k == self.order else "cont"
        key = (k, variant)
        if key in self._stats:
            return self._stats[key]
        d = self.discounts.get(key) or kn_discounts(self._counts(k))
        total, n1, n2, n3, off = self._segments(k, variant)
        mass = d[0] * n1 + d[1] * n2 + d[2] * n3
        if k == 1:
            gamma = mass / total if total > 0 else 1.0
        else:
            gamma = np.where(total > 0, mass / np.maximum(total, 1), 1.0)
        st = (total, gamma, d, off)
        self._stats[key] = st
        return st

    # ------------------------------------------------------------------ probabilities

    def gram_ids(self, stream, order=None):
        """g[k][i]: the id of the k-gram of `stream` ending at position i, or -1 (unseen, or
        i < k - 1), for k = 1..order (default: the model's). stream: int array."""
        s = np.asarray(stream).astype(np.int64)
        g = {1: s.copy()}
        for k in range(2, (order or self.order) + 1):
            cur = np.full(len(s), -1, np.int64)
            if len(s) >= k:
                p = g[k - 1][:-1]
                ok = p >= 0
                q = p[ok] * self.V + s[1:][ok]
                idx = np.flatnonzero(ok) + 1
                cur[idx] = _lookup(self.keys[k], q)
            g[k] = cur
        return g

    def stream_terms(self, stream, start=1):
        """What scoring stream[start:] needs from the counts, for any order up to max_order:
        {"w": tokens, k: (context id [n], k-gram id [n])} (ids -1 where unseen)."""
        s = np.asarray(stream).astype(np.int64)
        g = self.gram_ids(s, self.max_order)
        idx = np.arange(start, len(s))
        terms = {"w": s[idx]}
        for k in range(2, self.max_order + 1):
            terms[k] = (g[k - 1][idx - 1], g[k][idx])
        return terms

    def logprob_terms(self, terms):
        """Natural-log probabilities of the positions described by stream_terms."""
        w = terms["w"]
        total, gamma, d, _ = self._context_stats(1)
        c = self._counts(1)[w]
        p = np.maximum(c - _discount_of(c, d), 0) / total + gamma / self.V
        for k in range(2, self.order + 1):
            total, gamma, d, _ = self._context_stats(k)
            h, gid = terms[k]
            seen = h >= 0
            hs = np.where(seen, h, 0)
            tot = np.where(seen, total[hs], 0.0)
            live = tot > 0
            c = np.where(gid >= 0, self._counts(k)[np.maximum(gid, 0)], 0)
            pk = np.maximum(c - _discount_of(c, d), 0) / np.where(live, tot, 1.0) + gamma[hs] * p
            p = np.where(live, pk, p)
        with np.errstate(divide="ignore"):   # a trial discount of 0 can leave p = 0: NLL inf
            return np.log(p)

    def logprob_stream(self, stream, start=1):
        """Natural-log probabilities of stream[i] given the tokens before it (at most order - 1
        of them), for i = start .. len - 1: float64 [len - start]."""
        return self.logprob_terms(self.stream_terms(stream, start))

    def _context_id(self, ctx, k):
        """Id of the (k-1)-gram formed by the last k-1 tokens of ctx, or -1."""
        m = k - 1
        if len(ctx) < m:
            return -1
        gid = int(ctx[-m])
        for j in range(2, m + 1):
            q = gid * self.V + int(ctx[-m + j - 1])
            keys = self.keys[j]
            i = int(np.searchsorted(keys, q))
            if i >= len(keys) or keys[i] != q:
                return -1
            gid = i
        return gid

    def dist(self, ctx):
        """The next-token distribution after the token sequence ctx (only its last order - 1
        tokens matter): float64 [V], summing to 1."""
        ctx = tuple(int(x) for x in ctx[-(self.order - 1):]) if self.order > 1 else ()
        hit = self._dist_cache.get(ctx)
        if hit is not None:
            return hit
        total, gamma, d, _ = self._context_stats(1)
        c = self._counts(1)
        p = np.maximum(c - _discount_of(c, d), 0) / total + gamma / self.V
        for k in range(2, self.order + 1):
            h = self._context_id(ctx, k)
            if h < 0:
                break  # a longer context containing an unseen one is unseen too
            total, gamma, d, off = self._context_stats(k)
            if total[h] <= 0:
                continue
            lo, hi = off[h], off[h + 1]
            ws = self.keys[k][lo:hi] % self.V
            c = self._counts(k)[lo:hi]
            p = gamma[h] * p
            p[ws] += np.maximum(c - _discount_of(c, d), 0) / total[h]
        if len(self._dist_cache) > 4096:
            self._dist_cache.clear()
        self._dist_cache[ctx] = p
        return p

    def n_grams(self):
        return {k: (self.V if k == 1 else len(self.keys[k])) for k in range(1, self.max_order + 1)}


# ---------------------------------------------------------------------- order selection

def tune_top_discounts(model, terms, passes=2, steps=16):
    """Coordinate search of the top order's three discounts (raw counts) for the lowest NLL
    on the held-out terms. Returns (discounts, nll in nats/token)."""
    k = model.order
    d = list(model.discounts_of(k))

    def nll(dd):
        model.set_discounts(k, "raw", dd)
        return -float(model.logprob_terms(terms).mean())
    best = nll(d)
    for _ in range(passes):
        for r in range(3):
            lo = d[r - 1] if r > 0 else 0.0
            hi = (d[r + 1] if r < 2 else 3.0)
            for x in np.linspace(lo, min(hi, r + 1.0), steps):
                trial = d[:]
                trial[r] = float(x)
                v = nll(trial)
                if v < best:
                    best, d = v, trial
    model.set_discounts(k, "raw", d)
    return tuple(d), best


def choose_order(model, dev_stream, orders, verbose=True):
    """For each order (<= model.max_order) tunes the top order's discounts on dev_stream (held-out
    tokens: not train.bin's, whose weighted sources repeat documents, so that chunks of it are
    not really unseen) and scores it. Leaves the model at the best order with its tuned
    discounts. Returns (best order, {order: dev nll nats/token}, {order: tuned discounts})."""
    terms = model.stream_terms(dev_stream, start=1)
    res, tuned = {}, {}
    for n in orders:
        model.set_order(n)
        est = model.discounts_of(n)
        before = -float(model.logprob_terms(terms).mean())
        tuned[n], res[n] = tune_top_discounts(model, terms)
        if verbose:
            _log("order %d: %.4f nats/token on the tuning half with the estimated discounts %s, "
                 "%.4f with %s" % (n, before, _fmt(est), res[n], _fmt(tuned[n])))
    best = min(res, key=res.get)
    model.set_order(best)
    model.set_discounts(best, "raw", tuned[best])
    return best, res, tuned


def _fmt(d):
    return "(" + ", ".join("%.3f" % x for x in d) + ")"


def evaluate(model, eval_lm, data_dir, valid_text, orders, verbose=True):
    """Chooses the order and top discounts on the first half of valid.bin (whole documents) and
    scores the whole file and each half. Returns (the result dict: python/eval_lm.py's summary
    plus the choice, the NLL of each target [n - 1])."""
    with open(os.path.join(data_dir, "meta.json"), encoding="utf-8") as f:
        eot = int(json.load(f)["eot_id"])
    stream = eval_lm.eval_stream(os.path.join(data_dir, "valid.bin"), eot)
    halves = eval_lm.document_halves(stream, valid_text, eot)
    order, choice, tuned = choose_order(model, stream[:halves["cut"] + 1], orders, verbose)
    lp = -model.logprob_stream(stream, start=1)     # NLL of targets 1 .. n-1
    res = eval_lm.summary("kn%d" % order, float(lp.sum()), len(lp), eval_lm.text_units(valid_text))
    res["halves"] = eval_lm.half_summaries(lp, halves)
    res.update({"order": order, "tuning_nll": {str(k): v for k, v in choice.items()},
                "discounts": {str(k): model.discounts_of(k) for k in range(1, order + 1)},
                "smoothing": "interpolated modified Kneser-Ney; order and top-order discounts tuned on "
                             "the first half of valid.bin", "n_grams": model.n_grams()})
    return res, lp


def main(argv=None):
    import eval_lm
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/tokens", help="train.bin, valid.bin, meta.json")
    ap.add_argument("--valid-text", default="data/corpus/valid.txt",
                    help="the text behind valid.bin (for the per-character figures)")
    ap.add_argument("--orders", default="2,3,4,5", help="orders to choose from (on valid's first half)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    with open(os.path.join(a.data, "meta.json"), encoding="utf-8") as f:
        V = int(json.load(f)["vocab_size"])
    train = np.memmap(os.path.join(a.data, "train.bin"), dtype="<u2", mode="r")
    t0 = time.time()
    orders = [int(x) for x in a.orders.split(",")]
    model = KneserNey.train(train, V, max(orders), verbose=True)
    res, _ = evaluate(model, eval_lm, a.data, a.valid_text, orders)
    res["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
