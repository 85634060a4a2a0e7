/* beam.c: the beam search behind ac_complete, over an abstract next-token scorer (ac__scorer).
 *
 * This file is: one search from a root's logits to a ranked list of completion texts, with token
 * healing's constraint on the first tokens, the stop rules, de-duplication, the after-cursor rules,
 * the abstain threshold, the deadline and the cancel flag. It is not: tokenization, the engine, or
 * the cache (complete.c wires those in); it allocates nothing per token (the scratch is reserved).
 *
 * The search, one step per token:
 *   - Every live beam scores its next token: log-softmax over the tokens it may take (all of them,
 *     or, while the typed bytes are not yet reproduced, only those consistent with them; the first
 *     such step renormalises over that set, later ones keep the model's full log-softmax, so that
 *     a non-canonical split of the typed word pays for its unlikeliness).
 *   - Tokens that would end the completion right at their start under the stop rule (and the
 *     end-of-text token) are pooled into one "stop here" event whose probability is their sum: the
 *     beam's text as it is becomes a finished hypothesis. Summing matters: P(the word ends after
 *     "brown") is the mass of every token that starts a new word, not that of the likeliest one.
 *   - Of the other tokens, each beam proposes its 2 * beam_width best. A proposal whose text the
 *     stop rule cuts inside the token is a finished hypothesis (its text up to the cut); the rest,
 *     best first by total log-probability (every beam has decoded the same number of tokens), fill
 *     the next step's beam_width beams, skipping texts a better beam already holds.
 *   - Each beam carries the word rule's state (enum ac__word_state). When the typed text ends in a
 *     word, a beam that has added nothing is at that word's end: a word character goes on with it,
 *     a space opens the next word (" States" after "the United"), and anything else stops there.
 *   - A proposal whose text can no longer be valid UTF-8 is dropped.
 *   - A finished hypothesis scores sum(log p) / n_tokens^length_penalty (the stop event counts as
 *     a token). Its text is trimmed to whole UTF-8 characters and passed through the after-cursor
 *     rules before it enters the pool of the 2 * beam_width best distinct texts.
 *   - The result is the pool's best beam_width by score, or, with AC_ORDER_SAVING, the pooled
 *     completions that save the most typing (order_saving below).
 *   - A beam is dropped when even a perfect future (log p = 0 for every remaining token) could not
 *     lift its score to min_score or into a full pool; the search ends when no beam is left or after
 *     max_tokens tokens, whose beams enter the pool as they are (n_tokens = max_tokens).
 * Ties break by beam index, then token id, then text bytes, so a search is deterministic.
 */
#include "decoder/decoder_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct beam {
    double sum;         /* total log-probability of its tokens */
    int n_tok;          /* tokens decoded */
    int rem;            /* bytes of the required prefix still to reproduce */
    int word;           /* word state for the stop rules (enum ac__word_state) */
    int len;            /* completion bytes in text */
    char *text;         /* [text_cap] the completion so far (bytes after the typed text) */
} beam;

typedef struct hyp {
    double score;       /* normalised */
    double sum;         /* total log-probability (the saving order weighs hypotheses by exp(sum)) */
    int n_tok;
    int len;
    char *text;         /* [text_cap] */
} hyp;

/* A proposal: beam `beam` takes token `tok`. */
typedef struct cand {
    double sum;         /* the beam's sum + log p of this event */
    int beam;
    int32_t tok;        /* -1: the pooled stop event */
    int skip;           /* bytes of tok that reproduce the typed text (token healing) */
    int stop;           /* -1: continues; >= 0: stops, keeping this many bytes of tok after skip */
} cand;

struct ac__beam_scratch {
    int max_beams, n_vocab, text_cap;
    float *logits;      /* [max_beams][n_vocab] the scorer's rows */
    int32_t *allowed;   /* [n_vocab] token healing's consistent tokens */
    beam *cur, *next;   /* [max_beams] each */
    hyp *pool;          /* [2 * max_beams] finished, best score first */
    cand *cands;        /* [max_beams * (2 * max_beams + 1)] one step's proposals */
    char *tmp;          /* [text_cap] */
    int *src;           /* [max_beams] */
    int32_t *tok;       /* [max_beams] */
    char *arena;        /* the texts */
};

ac__beam_scratch *ac__beam_scratch_new(const ac__vocab *v, int max_beams)
{
    if (max_beams < 1 || max_beams > AC_COMPLETE_MAX_BEAMS)
        return NULL;
    ac__beam_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_beams = max_beams;
    s->n_vocab = v->n_vocab;
    s->text_cap = AC_COMPLETE_MAX_TOKENS * (v->max_len > 0 ? v->max_len : 1) + 8;
    size_t n_pool = 2 * (size_t)max_beams, n_texts = 2 * (size_t)max_beams + n_pool + 1;
    s->logits = malloc(sizeof(float) * (size_t)max_beams * (size_t)v->n_vocab);
    s->allowed = malloc(sizeof(int32_t) * (size_t)v->n_vocab);
    s->cur = calloc((size_t)max_beams, sizeof(beam));
    s->next = calloc((size_t)max_beams, sizeof(beam));
    s->pool = calloc(n_pool, sizeof(hyp));
    s->cands = malloc(sizeof(cand) * (size_t)max_beams * (2 * (size_t)max_beams + 1));
    s->src = malloc(sizeof(int) * (size_t)max_beams);
    s->tok = malloc(sizeof(int32_t) * (size_t)max_beams);
    s->arena = malloc(n_texts * (size_t)s->text_cap);
    if (!s->logits || !s->allowed || !s->cur || !s->next || !s->pool || !s->cands || !s->src || !s->tok ||
        !s->arena) {
        ac__beam_scratch_free(s);
        return NULL;
    }
    char *p = s->arena;
    for (int i = 0; i < max_beams; i++, p += 2 * (size_t)s->text_cap) {
        s->cur[i].text = p;
        s->next[i].text = p + s->text_cap;
    }
    for (size_t i = 0; i < n_pool; i++, p += s->text_cap)
        s->pool[i].text = p;
    s->tmp = p;
    return s;
}

void ac__beam_scratch_free(ac__beam_scratch *s)
{
    if (!s)
        return;
    free(s->logits);
    free(s->allowed);
    free(s->cur);
    free(s->next);
    free(s->pool);
    free(s->cands);
    free(s->src);
    free(s->tok);
    free(s->arena);
    free(s);
}

float *ac__beam_scratch_logits(ac__beam_scratch *s)
{
    return s->logits;
}

/* ------------------------------------------------------------------------------ the pool */

typedef struct search {
    const ac__vocab *v;
    const ac__beam_params *p;
    ac__beam_scratch *s;
    int n_pool, cap_pool;
} search;

static double normalise(const search *q, double sum, int n_tok)
{
    if (q->p->length_penalty == 0.0f || n_tok <= 1)
        return sum;
    return sum / pow((double)n_tok, (double)q->p->length_penalty);
}

/* The best score a beam could still reach: every remaining token certain (log p = 0), the most
 * tokens it could end with (max_tokens, a stop event included) dividing its (negative) sum. */
static double best_reachable(const search *q, const beam *b)
{
    double best = normalise(q, b->sum, b->n_tok);
    for (int n = b->n_tok + 1; n <= q->p->max_tokens; n++) {
        double s = normalise(q, b->sum, n);
        if (s > best)
            best = s;
    }
    return best;
}

static int text_cmp(const char *a, int na, const char *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : (na > nb) - (na < nb);
}

/* 1 when hypothesis a ranks above (score, then text) b. */
static int ranks_above(double sa, const char *ta, int na, double sb, const char *tb, int nb)
{
    if (sa != sb)
        return sa > sb;
    return text_cmp(ta, na, tb, nb) < 0;
}

/* The pool's worst score when it is full, else -infinity (anything may still enter). */
static double pool_floor(const search *q)
{
    return q->n_pool == q->cap_pool ? q->s->pool[q->n_pool - 1].score : -INFINITY;
}

/* Offers a finished text (applies UTF-8 trimming and the after-cursor rules first). */
static void pool_offer(search *q, const char *text, int len, double sum, int n_tok)
{
    const ac__beam_params *p = q->p;
    size_t n = ac__utf8_keep(p->pending, p->pending_len, text, (size_t)len);
    if (n == 0 || !ac__after_rule(text, &n, p->after, p->after_len))
        return;
    double score = normalise(q, sum, n_tok);
    hyp *pool = q->s->pool;
    /* The same text already pooled: keep the better. */
    for (int i = 0; i < q->n_pool; i++) {
        if (pool[i].len != (int)n || memcmp(pool[i].text, text, n) != 0)
            continue;
        if (score <= pool[i].score)
            return;
        /* Remove it, then insert anew below. */
        hyp gone = pool[i];
        memmove(pool + i, pool + i + 1, sizeof(hyp) * (size_t)(q->n_pool - i - 1));
        pool[--q->n_pool] = gone;
        break;
    }
    int at = q->n_pool;
    while (at > 0 && ranks_above(score, text, (int)n, pool[at - 1].score, pool[at - 1].text, pool[at - 1].len))
        at--;
    if (at >= q->cap_pool)
        return;
    /* Shift down, recycling the last slot's text buffer (dropped when the pool is full). */
    hyp spare = pool[q->n_pool < q->cap_pool ? q->n_pool : q->cap_pool - 1];
    int last = q->n_pool < q->cap_pool ? q->n_pool : q->cap_pool - 1;
    memmove(pool + at + 1, pool + at, sizeof(hyp) * (size_t)(last - at));
    spare.score = score;
    spare.sum = sum;
    spare.n_tok = n_tok;
    spare.len = (int)n;
    memcpy(spare.text, text, n);
    pool[at] = spare;
    if (q->n_pool < q->cap_pool)
        q->n_pool++;
}

/* ------------------------------------------------------------------------------ one step */

/* Keeps the k best (value, id) in vals[]/ids[] (value desc, then first offered); returns the count. */
static int topk_push(float *vals, int32_t *ids, int n, int k, float val, int32_t id)
{
    if (n == k && !(val > vals[n - 1]))
        return n; /* ties keep the one offered first: the lower id, or in a healing step byte order */
    int at = n < k ? n : k - 1;
    while (at > 0 && val > vals[at - 1]) {
        vals[at] = vals[at - 1];
        ids[at] = ids[at - 1];
        at--;
    }
    vals[at] = val;
    ids[at] = id;
    return n < k ? n + 1 : n;
}

/* Proposals of beam bi (its logits row L) into q->s->cands[*nc..]. */
static void propose(search *q, int bi, const float *L, int *nc)
{
    const ac__vocab *v = q->v;
    const ac__beam_params *p = q->p;
    const beam *b = &q->s->cur[bi];
    cand *out = q->s->cands;
    int k = 2 * p->beam_width;
    float vals[2 * AC_COMPLETE_MAX_BEAMS];
    int32_t ids[2 * AC_COMPLETE_MAX_BEAMS];
    int n = 0;

    if (b->rem > 0) {
        /* Token healing: only tokens consistent with the typed bytes still to reproduce. */
        const char *r = p->required + (p->required_len - (size_t)b->rem);
        int na = ac__vocab_consistent(v, r, (size_t)b->rem, q->s->allowed);
        if (na == 0)
            return;
        float m = -INFINITY;
        for (int i = 0; i < na; i++)
            if (L[q->s->allowed[i]] > m)
                m = L[q->s->allowed[i]];
        double z = 0;
        for (int i = 0; i < na; i++)
            z += exp((double)L[q->s->allowed[i]] - m);
        double lse = m + log(z);
        if (b->n_tok > 0) {
            /* Only the first healing step is renormalised over the consistent set (what the user
             * typed is given). Later steps keep the model's own probability: renormalising them too
             * made non-canonical splits ("...for you" + "room" for the typed "your") look as likely
             * as the real tokenization, and the completion then read "oom". */
            double zf = 0, mf = -INFINITY;
            for (int t = 0; t < v->n_vocab; t++)
                if (L[t] > mf)
                    mf = L[t];
            for (int t = 0; t < v->n_vocab; t++)
                zf += exp((double)L[t] - mf);
            lse = mf + log(zf);
        }
        for (int i = 0; i < na; i++) {
            int32_t t = q->s->allowed[i];
            size_t len;
            const char *tb = ac__vocab_bytes(v, t, &len);
            if ((int)len > b->rem) {
                /* Does the rule stop at the first character after the typed bytes? Then the word
                 * (phrase, line) ends right at the cursor: no completion. One character suffices. */
                const char *after = tb + b->rem;
                size_t first = 1;
                while (first < len - (size_t)b->rem && first < 4 && ((unsigned char)after[first] & 0xc0) == 0x80)
                    first++;
                int st = b->word;
                if (ac__stop_scan(p->stop, &st, after, first) == 0)
                    continue;
            }
            if (L[t] > -INFINITY)
                n = topk_push(vals, ids, n, k, L[t], t);
        }
        for (int i = 0; i < n; i++) {
            size_t len;
            const char *tb = ac__vocab_bytes(v, ids[i], &len);
            cand *c = &out[(*nc)++];
            c->sum = b->sum + ((double)vals[i] - lse);
            c->beam = bi;
            c->tok = ids[i];
            c->skip = (int)len < b->rem ? (int)len : b->rem;
            c->stop = -1;
            if ((int)len > b->rem) {
                int st = b->word;
                c->stop = ac__stop_scan(p->stop, &st, tb + b->rem, len - (size_t)b->rem);
            }
        }
        return;
    }

    /* Free step: log-softmax over every token the model may generate (end of text included; no
     * control characters). */
    const int16_t *stop_at = v->stop_at[p->stop][b->word];
    float m = -INFINITY;
    for (int t = 0; t < v->n_vocab; t++)
        if (((!v->special[t] && !v->control[t]) || t == v->eos) && L[t] > m)
            m = L[t];
    double z = 0, z_stop = 0;
    for (int t = 0; t < v->n_vocab; t++) {
        if ((v->special[t] && t != v->eos) || v->control[t])
            continue;
        double e = expf(L[t] - m); /* float exp: a tenth of the time of exp, and exact enough */
        z += e;
        if (t == v->eos || stop_at[t] == 0)
            z_stop += e;
        else if (L[t] > -INFINITY)
            n = topk_push(vals, ids, n, k, L[t], t);
    }
    double lse = m + log(z);
    if (b->len > 0 && z_stop > 0) {
        cand *c = &out[(*nc)++];
        c->sum = b->sum + (m + log(z_stop) - lse);
        c->beam = bi;
        c->tok = -1;
        c->skip = 0;
        c->stop = 0;
    }
    for (int i = 0; i < n; i++) {
        cand *c = &out[(*nc)++];
        c->sum = b->sum + ((double)vals[i] - lse);
        c->beam = bi;
        c->tok = ids[i];
        c->skip = 0;
        c->stop = stop_at[ids[i]];
    }
}

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->sum != b->sum)
        return a->sum > b->sum ? -1 : 1;
    if (a->beam != b->beam)
        return a->beam < b->beam ? -1 : 1;
    return (a->tok > b->tok) - (a->tok < b->tok);
}

/* ------------------------------------------------------------------------------ the search */

static int cancelled(const ac__beam_params *p)
{
    return p->cancel && __atomic_load_n(p->cancel, __ATOMIC_RELAXED) != 0;
}

/* Code points in s[0..n) (a byte that does not start a character counts as one). */
static int count_chars(const char *s, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* AC_ORDER_SAVING: writes into pick[] the pool indices of up to beam_width completions in the
 * order that saves the most typing, and returns how many. The pooled hypotheses (those at or above
 * min_score) stand for what the user may go on to type, hypothesis d with probability exp(d.sum);
 * a user accepts the longest shown completion that is a prefix of what they type, so the typing a
 * set of shown completions saves is sum over d of exp(d.sum) * (code points of the longest shown
 * completion that is a prefix of d's text). Greedily, each place goes to the completion that adds
 * the most to that sum given the places above it (ties: the better score, as in the pool). The
 * first completion is the one that alone saves the most; a completion that only extends a shown
 * one ("States'" under "States") adds little and moves down; and since each choice depends only on
 * those above it, the first K of a longer list are the best K of this rule for any K. */
static int order_saving(const search *q, int *pick)
{
    const hyp *pool = q->s->pool;
    int n = 0;
    int idx[2 * AC_COMPLETE_MAX_BEAMS];           /* [n] the pool entries that may be shown */
    double prob[2 * AC_COMPLETE_MAX_BEAMS];       /* [n] exp(sum) */
    double got[2 * AC_COMPLETE_MAX_BEAMS];        /* [n] code points the chosen ones save on it */
    int chars[2 * AC_COMPLETE_MAX_BEAMS], used[2 * AC_COMPLETE_MAX_BEAMS];
    /* prefix[c][d]: completion c is a prefix of hypothesis d */
    unsigned char prefix[2 * AC_COMPLETE_MAX_BEAMS][2 * AC_COMPLETE_MAX_BEAMS];
    for (int i = 0; i < q->n_pool; i++) {
        if (pool[i].score < q->p->min_score)
            continue;
        idx[n] = i;
        prob[n] = exp(pool[i].sum);
        got[n] = 0;
        chars[n] = count_chars(pool[i].text, pool[i].len);
        used[n] = 0;
        n++;
    }
    for (int c = 0; c < n; c++)
        for (int d = 0; d < n; d++) {
            const hyp *hc = &pool[idx[c]], *hd = &pool[idx[d]];
            prefix[c][d] = hc->len <= hd->len && memcmp(hc->text, hd->text, (size_t)hc->len) == 0;
        }
    int k = 0;
    while (k < n && k < q->p->beam_width) {
        int best = -1;
        double best_v = -1;
        for (int c = 0; c < n; c++) {
            if (used[c])
                continue;
            double v = 0;
            for (int d = 0; d < n; d++)
                if (prefix[c][d] && chars[c] > got[d])
                    v += prob[d] * (chars[c] - got[d]);
            if (v > best_v) { /* strict: a tie keeps the earlier, better scored one */
                best_v = v;
                best = c;
            }
        }
        used[best] = 1;
        for (int d = 0; d < n; d++)
            if (prefix[best][d] && chars[best] > got[d])
                got[d] = chars[best];
        pick[k++] = idx[best];
    }
    return k;
}

/* Copies the pool's best (at most beam_width, at or above min_score; in the request's order) into
 * out. */
static int finish(search *q, ac_complete_result *out, char *err)
{
    const ac__beam_params *p = q->p;
    int pick[2 * AC_COMPLETE_MAX_BEAMS]; /* pool indices, in the order returned */
    int n = 0;
    for (int i = 0; i < q->n_pool; i++)
        if (q->s->pool[i].score < p->min_score)
            out->abstained++;
    if (p->order == AC_ORDER_SAVING) {
        n = order_saving(q, pick);
    } else {
        for (int i = 0; i < q->n_pool && n < p->beam_width; i++)
            if (q->s->pool[i].score >= p->min_score)
                pick[n++] = i;
    }
    if (n == 0)
        return AC_OK;
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += (size_t)q->s->pool[pick[i]].len + 1;
    out->store = malloc(bytes);
    if (!out->store)
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for %zu bytes of completions", bytes);
    char *w = out->store;
    for (int i = 0; i < n; i++) {
        const hyp *h = &q->s->pool[pick[i]];
        ac_completion *c = &out->items[out->n++];
        memcpy(w, h->text, (size_t)h->len);
        w[h->len] = 0;
        c->text = w;
        c->len = (size_t)h->len;
        c->score = (float)h->score;
        c->n_tokens = h->n_tok;
        w += h->len + 1;
    }
    return AC_OK;
}

int ac__beam_search(const ac__vocab *v, const ac__scorer *sc, ac__beam_scratch *s, const float *logits0,
                    const ac__beam_params *p, ac_complete_result *out, char *err)
{
    if (p->beam_width < 1 || p->beam_width > s->max_beams)
        return ac__errorf(err, AC_E_ARG, "decoder: beam_width %d is outside 1..%d", p->beam_width, s->max_beams);
    if (p->max_tokens < 1 || p->max_tokens > AC_COMPLETE_MAX_TOKENS)
        return ac__errorf(err, AC_E_ARG, "decoder: max_tokens %d is outside 1..%d", p->max_tokens,
                          AC_COMPLETE_MAX_TOKENS);
    if (p->stop < 0 || p->stop >= AC__N_STOP)
        return ac__errorf(err, AC_E_ARG, "decoder: unknown stop rule %d", p->stop);
    if (p->order != AC_ORDER_SCORE && p->order != AC_ORDER_SAVING)
        return ac__errorf(err, AC_E_ARG, "decoder: unknown order %d", p->order);
    if (p->required_len > (size_t)s->text_cap)
        return ac__errorf(err, AC_E_ARG, "decoder: %zu bytes to heal is over the limit", p->required_len);
    search q = {v, p, s, 0, 2 * p->beam_width};
    int W = p->beam_width;

    beam *root = &s->cur[0];
    root->sum = 0;
    root->n_tok = 0;
    root->rem = (int)p->required_len;
    /* The typed word's end: its state holds while the first tokens reproduce the typed bytes (they
     * add nothing), so it applies to whatever comes after them. */
    root->word = p->started ? AC__WORD_END : AC__WORD_BEFORE;
    root->len = 0;
    int n_cur = 1;
    if (logits0 != s->logits)
        memcpy(s->logits, logits0, sizeof(float) * (size_t)v->n_vocab);

    for (int step = 0; step < p->max_tokens && n_cur > 0; step++) {
        if (cancelled(p))
            return ac__errorf(err, AC_E_CANCELLED, "decoder: cancelled");
        int nc = 0;
        for (int i = 0; i < n_cur; i++)
            propose(&q, i, s->logits + (size_t)i * (size_t)v->n_vocab, &nc);
        qsort(s->cands, (size_t)nc, sizeof(cand), cand_cmp);

        /* Finished proposals go to the pool; the best continuing ones become the next beams. */
        int n_next = 0;
        for (int ci = 0; ci < nc; ci++) {
            const cand *c = &s->cands[ci];
            const beam *b = &s->cur[c->beam];
            int len = b->len;
            memcpy(s->tmp, b->text, (size_t)len);
            int word = b->word;
            if (c->tok >= 0) {
                size_t tl;
                const char *tb = ac__vocab_bytes(v, c->tok, &tl);
                int add = (int)tl - c->skip;
                if (add < 0)
                    add = 0;
                if (c->stop >= 0 && c->stop < add)
                    add = c->stop;
                memcpy(s->tmp + len, tb + c->skip, (size_t)add);
                if (c->stop < 0 && add > 0) /* the rule did not stop inside the added bytes */
                    word = ac__word_state_after(word, c->skip == 0 ? v->sets_started[c->tok]
                                                                   : ac__has_word_char(s->tmp + len, (size_t)add));
                len += add;
            }
            /* Bytes that can never become valid UTF-8 (a byte token in the wrong place) end a beam. */
            if (len > b->len && !ac__utf8_viable(p->pending, p->pending_len, s->tmp, (size_t)len))
                continue;
            if (c->stop >= 0) {
                pool_offer(&q, s->tmp, len, c->sum, b->n_tok + 1);
                continue;
            }
            if (n_next == W)
                continue;
            int rem = b->rem;
            if (c->skip > 0)
                rem -= c->skip;
            int dup = 0;
            for (int j = 0; j < n_next && !dup; j++)
                dup = s->next[j].rem == rem && s->next[j].len == len && memcmp(s->next[j].text, s->tmp, (size_t)len) == 0;
            if (dup)
                continue;
            beam *nb = &s->next[n_next];
            nb->sum = c->sum;
            nb->n_tok = b->n_tok + 1;
            nb->rem = rem;
            nb->word = word;
            nb->len = len;
            memcpy(nb->text, s->tmp, (size_t)len);
            /* Hopeless beams go: they cannot reach the threshold or a full pool's last place. */
            double reach = best_reachable(&q, nb);
            if (reach < p->min_score || reach < pool_floor(&q))
                continue;
            s->src[n_next] = c->beam;
            s->tok[n_next] = c->tok;
            n_next++;
        }
        beam *t = s->cur;
        s->cur = s->next;
        s->next = t;
        n_cur = n_next;
        if (n_cur == 0)
            break;

        int last = step == p->max_tokens - 1;
        if (!last && p->deadline > 0 && ac_now() >= p->deadline)
            out->partial = 1;
        if (last || out->partial) {
            /* Out of tokens or of time: the beams end where they are. */
            for (int i = 0; i < n_cur; i++)
                if (s->cur[i].rem == 0)
                    pool_offer(&q, s->cur[i].text, s->cur[i].len, s->cur[i].sum, s->cur[i].n_tok);
            n_cur = 0;
            break;
        }
        if (cancelled(p))
            return ac__errorf(err, AC_E_CANCELLED, "decoder: cancelled");
        int rc = sc->advance(sc->ctx, n_cur, s->src, s->tok, s->logits, err);
        if (rc)
            return rc;
        out->timings.decode_steps++;
    }
    return finish(&q, out, err);
}
