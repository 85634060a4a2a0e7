/* synth.h: test helpers for the tokenizer tests: a seeded random generator, a synthetic byte-level
 * BPE built in memory (random merges over a small alphabet, so that long merge chains and
 * overlapping pairs are common), and a naive twin of BPE encoding to check the fast one against.
 * Header-only, included by tests/tokenizer/test_*.c. */
#ifndef AC_TESTS_TOKENIZER_SYNTH_H
#define AC_TESTS_TOKENIZER_SYNTH_H

#include "autocorrect/tokenizer.h"
#include "tokenizer/bpe_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: deterministic across machines. */
static uint64_t synth_rng = 0x9E3779B97F4A7C15ull;
static inline void synth_seed(uint64_t s) { synth_rng = s * 2654435761u + 0x9E3779B97F4A7C15ull; }
static inline uint64_t synth_next(void)
{
    synth_rng ^= synth_rng >> 12;
    synth_rng ^= synth_rng << 25;
    synth_rng ^= synth_rng >> 27;
    return synth_rng * 0x2545F4914F6CDD1Dull;
}
static inline uint32_t synth_below(uint32_t n) { return (uint32_t)(synth_next() % n); }

/* The synthetic vocabulary: tokens as byte strings, merges in rank order. */
typedef struct synth_vocab {
    int32_t n_tok;
    uint8_t *tok[4096];
    uint32_t len[4096];
    int32_t merges[4096][2];
    int32_t n_merges;
    int32_t *rank; /* [n_tok * n_tok] merge rank of (left, right), -1 for none (synth_ranks) */
} synth_vocab;

static inline int32_t synth_find(const synth_vocab *v, const uint8_t *b, size_t n)
{
    for (int32_t i = 0; i < v->n_tok; i++)
        if (v->len[i] == n && !memcmp(v->tok[i], b, n))
            return i;
    return -1;
}

static inline void synth_add(synth_vocab *v, const uint8_t *b, size_t n)
{
    v->tok[v->n_tok] = malloc(n);
    memcpy(v->tok[v->n_tok], b, n);
    v->len[v->n_tok] = (uint32_t)n;
    v->n_tok++;
}

/* 256 bytes in GPT-2's order, then up to n_merges random merges among tokens made of `alphabet`
 * (and space), then "<|endoftext|>" if with_eot. */
static inline void synth_make(synth_vocab *v, const char *alphabet, int n_merges, int with_eot, uint64_t seed)
{
    memset(v, 0, sizeof *v);
    synth_seed(seed);
    for (int i = 0; i < 256; i++) {
        uint8_t b = ac__gpt2_byte(i);
        synth_add(v, &b, 1);
    }
    int32_t pool[4096];
    int n_pool = 0;
    for (const char *a = alphabet; *a; a++)
        pool[n_pool++] = synth_find(v, (const uint8_t *)a, 1);
    uint8_t buf[2048];
    for (int tries = 0; v->n_merges < n_merges && tries < 100000; tries++) {
        int32_t x = pool[synth_below((uint32_t)n_pool)], y = pool[synth_below((uint32_t)n_pool)];
        if (v->len[x] + v->len[y] > 64)
            continue;
        memcpy(buf, v->tok[x], v->len[x]);
        memcpy(buf + v->len[x], v->tok[y], v->len[y]);
        size_t n = v->len[x] + v->len[y];
        int dup = 0;
        for (int m = 0; m < v->n_merges; m++)
            dup |= v->merges[m][0] == x && v->merges[m][1] == y;
        if (dup)
            continue;
        if (synth_find(v, buf, n) < 0) {
            synth_add(v, buf, n);
            pool[n_pool++] = v->n_tok - 1;
        }
        v->merges[v->n_merges][0] = x;
        v->merges[v->n_merges][1] = y;
        v->n_merges++;
    }
    if (with_eot)
        synth_add(v, (const uint8_t *)"<|endoftext|>", 13);
    size_t nn = (size_t)v->n_tok * (size_t)v->n_tok;
    v->rank = malloc(nn * sizeof *v->rank);
    for (size_t i = 0; i < nn; i++)
        v->rank[i] = -1;
    for (int r = v->n_merges - 1; r >= 0; r--)
        v->rank[(size_t)v->merges[r][0] * (size_t)v->n_tok + (size_t)v->merges[r][1]] = r;
}

static inline void synth_free(synth_vocab *v)
{
    for (int32_t i = 0; i < v->n_tok; i++)
        free(v->tok[i]);
    free(v->rank);
}

/* The tokenizer of a synthetic vocabulary, built through the internal builder. */
static inline ac_bpe *synth_bpe(const synth_vocab *v, char *err)
{
    ac_bpe *bpe;
    if (ac__bpe_alloc(v->n_tok, &bpe, err))
        return NULL;
    for (int32_t i = 0; i < v->n_tok; i++)
        if (ac__bpe_set_token(bpe, i, v->tok[i], v->len[i], 0, err)) {
            ac_bpe_free(bpe);
            return NULL;
        }
    if (ac__bpe_index_strings(bpe, err) ||
        ac__bpe_finish(bpe, (const int32_t(*)[2])v->merges, v->n_merges, "synthetic", err)) {
        ac_bpe_free(bpe);
        return NULL;
    }
    return bpe;
}

/* Naive BPE of one piece: the textbook loop (find the lowest-ranked adjacent pair, merge its
 * leftmost occurrence, repeat). out has room for n ids; returns the count. */
static inline size_t synth_naive_piece(const synth_vocab *v, const uint8_t *p, size_t n, int32_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = synth_find(v, p + i, 1);
    size_t m = n;
    for (;;) {
        int best_rank = -1;
        size_t best_i = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t r = v->rank[(size_t)out[i] * (size_t)v->n_tok + (size_t)out[i + 1]];
            if (r >= 0 && (best_rank < 0 || r < best_rank)) {
                best_rank = r;
                best_i = i;
            }
        }
        if (best_rank < 0)
            return m;
        uint8_t buf[4096];
        int32_t a = out[best_i], b = out[best_i + 1];
        memcpy(buf, v->tok[a], v->len[a]);
        memcpy(buf + v->len[a], v->tok[b], v->len[b]);
        out[best_i] = synth_find(v, buf, v->len[a] + v->len[b]);
        memmove(out + best_i + 1, out + best_i + 2, (m - best_i - 2) * sizeof *out);
        m--;
    }
}

typedef struct synth_naive_ctx {
    const synth_vocab *v;
    const uint8_t *text;
    int32_t *out;
    size_t n;
} synth_naive_ctx;

static inline void synth_naive_cb(size_t start, size_t end, void *user)
{
    synth_naive_ctx *c = user;
    c->n += synth_naive_piece(c->v, c->text + start, end - start, c->out + c->n);
}

/* Naive encode (no special tokens): pre-tokens by ac_bpe_pretokenize, then synth_naive_piece. */
static inline size_t synth_naive_encode(const synth_vocab *v, const uint8_t *text, size_t len, int32_t *out)
{
    synth_naive_ctx c = {v, text, out, 0};
    ac_bpe_pretokenize(text, len, synth_naive_cb, &c);
    return c.n;
}

#endif
