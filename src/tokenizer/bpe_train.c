/* bpe_train.c: learns a byte-level BPE vocabulary from a corpus (ac_bpe_train).
 *
 * How: (1) split every document into GPT-2 pre-tokens and count the distinct ones in a hash table;
 * (2) turn each distinct pre-token ("word") into its byte ids and count every adjacent pair,
 * weighted by the word's count, remembering which words hold each pair; (3) repeatedly take the
 * best pair from a max-heap, merge it in the words that hold it, and update only the counts of the
 * pairs around each merge. The heap is lazy: an entry holds a pair's count when it was pushed, which
 * is never below the pair's count now (counts only fall, except for pairs with the new token, which
 * are pushed again after each merge); a popped entry that is too high is pushed back with the true
 * count. Ties: see ac_bpe_train in tokenizer.h. This file does not encode (bpe.c) or write the files
 * (bpe_files.c). */
#include "tokenizer/bpe_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ac_bpe_train_params ac_bpe_train_default_params(void)
{
    ac_bpe_train_params p = {50257, 256, stderr};
    return p;
}

/* --- growable arrays ------------------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* --- (1) counting pre-tokens ------------------------------------------------------------------------ */

typedef struct word_slot {
    uint64_t hash;
    uint64_t count;  /* 0: free slot */
    uint32_t off;    /* bytes in the arena */
    uint32_t len;
} word_slot;

typedef struct word_table {
    word_slot *slots; /* [mask + 1] */
    size_t mask, used;
    uint8_t *arena;   /* [arena_len] the words' bytes */
    size_t arena_len, arena_cap;
} word_table;

static int word_table_grow(word_table *t)
{
    size_t size = (t->mask + 1) * 2;
    word_slot *s = calloc(size, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        word_slot *o = &t->slots[i];
        if (!o->count)
            continue;
        for (size_t h = o->hash;; h++)
            if (!s[h & (size - 1)].count) {
                s[h & (size - 1)] = *o;
                break;
            }
    }
    free(t->slots);
    t->slots = s;
    t->mask = size - 1;
    return 0;
}

static int word_table_add(word_table *t, const uint8_t *p, size_t n)
{
    uint64_t h = ac__hash_bytes(p, n);
    for (size_t i = h;; i++) {
        word_slot *s = &t->slots[i & t->mask];
        if (!s->count) {
            if (grow((void **)&t->arena, &t->arena_cap, t->arena_len + n, 1) || t->arena_len + n > UINT32_MAX)
                return -1;
            memcpy(t->arena + t->arena_len, p, n);
            s->hash = h;
            s->count = 1;
            s->off = (uint32_t)t->arena_len;
            s->len = (uint32_t)n;
            t->arena_len += n;
            if (++t->used * 2 > t->mask + 1)
                return word_table_grow(t);
            return 0;
        }
        if (s->hash == h && s->len == n && !memcmp(t->arena + s->off, p, n)) {
            s->count++;
            return 0;
        }
    }
}

/* --- (2) words and pairs ------------------------------------------------------------------------------ */

typedef struct pair_info {
    int32_t left, right;
    int64_t count;     /* weighted occurrences now */
    int32_t *where;    /* [n_where] words that held the pair at some point (may repeat, may be stale) */
    uint32_t n_where, cap_where;
    int32_t last_word; /* the last word appended to where, to skip immediate repeats */
    int32_t touched;   /* the merge step that last raised the count */
} pair_info;

typedef struct heap_entry {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct trainer {
    /* tokens: bytes of each id */
    uint8_t *tok_bytes;
    size_t tok_bytes_len, tok_bytes_cap;
    uint32_t *tok_off, *tok_len; /* [n_tok] */
    size_t tok_cap;
    int32_t n_tok;
    int32_t *tok_slots;          /* bytes -> id + 1, [tok_mask + 1] */
    size_t tok_mask;
    uint32_t cp[256];            /* GPT-2 code point of each byte, for the tie rule */
    /* words */
    int32_t *sym;                /* all words' symbols, back to back */
    uint32_t *w_off, *w_len;     /* [n_words] */
    uint64_t *w_count;
    size_t n_words;
    /* pairs */
    pair_info *pairs;
    size_t n_pairs, cap_pairs;
    int32_t *pair_slots;         /* (left, right) -> pair index + 1, [pair_mask + 1] */
    size_t pair_mask;
    heap_entry *heap;
    size_t n_heap, cap_heap;
    int32_t *raised;             /* pairs whose count rose in the current step */
    size_t n_raised, cap_raised;
    /* output */
    int32_t (*merges)[2];
    size_t n_merges, cap_merges;
} trainer;

static int tok_index_put(trainer *t, int32_t id);

static int tok_add(trainer *t, const uint8_t *p, size_t n)
{
    if (grow((void **)&t->tok_bytes, &t->tok_bytes_cap, t->tok_bytes_len + n, 1))
        return -1;
    size_t cap = t->tok_cap;
    if (grow((void **)&t->tok_off, &cap, (size_t)t->n_tok + 1, sizeof *t->tok_off) ||
        grow((void **)&t->tok_len, &t->tok_cap, (size_t)t->n_tok + 1, sizeof *t->tok_len))
        return -1;
    memcpy(t->tok_bytes + t->tok_bytes_len, p, n);
    t->tok_off[t->n_tok] = (uint32_t)t->tok_bytes_len;
    t->tok_len[t->n_tok] = (uint32_t)n;
    t->tok_bytes_len += n;
    t->n_tok++;
    return tok_index_put(t, t->n_tok - 1);
}

static int tok_index_put(trainer *t, int32_t id)
{
    if ((size_t)t->n_tok * 2 > t->tok_mask + 1) {
        size_t size = (t->tok_mask + 1) * 2;
        int32_t *s = calloc(size, sizeof *s);
        if (!s)
            return -1;
        free(t->tok_slots);
        t->tok_slots = s;
        t->tok_mask = size - 1;
        for (int32_t k = 0; k < t->n_tok; k++)
            if (k != id && tok_index_put(t, k))
                return -1;
    }
    for (uint64_t h = ac__hash_bytes(t->tok_bytes + t->tok_off[id], t->tok_len[id]);; h++) {
        int32_t *s = &t->tok_slots[h & t->tok_mask];
        if (!*s) {
            *s = id + 1;
            return 0;
        }
    }
}

static int32_t tok_find(const trainer *t, const uint8_t *p, size_t n)
{
    for (uint64_t h = ac__hash_bytes(p, n);; h++) {
        int32_t s = t->tok_slots[h & t->tok_mask];
        if (!s)
            return -1;
        if (t->tok_len[s - 1] == n && !memcmp(t->tok_bytes + t->tok_off[s - 1], p, n))
            return s - 1;
    }
}

/* The pair (left, right)'s index, created with count 0 if new; -1 when out of memory. */
static int32_t pair_get(trainer *t, int32_t left, int32_t right)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 17;
    for (;; h++) {
        int32_t *s = &t->pair_slots[h & t->pair_mask];
        if (*s) {
            pair_info *p = &t->pairs[*s - 1];
            if (p->left == left && p->right == right)
                return *s - 1;
            continue;
        }
        if (grow((void **)&t->pairs, &t->cap_pairs, t->n_pairs + 1, sizeof *t->pairs))
            return -1;
        pair_info *p = &t->pairs[t->n_pairs];
        memset(p, 0, sizeof *p);
        p->left = left;
        p->right = right;
        p->last_word = -1;
        p->touched = -1;
        *s = (int32_t)++t->n_pairs;
        if (t->n_pairs * 2 > t->pair_mask + 1) { /* rehash */
            size_t size = (t->pair_mask + 1) * 2;
            int32_t *slots = calloc(size, sizeof *slots);
            if (!slots)
                return -1;
            for (size_t k = 0; k < t->n_pairs; k++) {
                uint64_t kk = (uint64_t)(uint32_t)t->pairs[k].left << 32 | (uint32_t)t->pairs[k].right;
                for (uint64_t g = (kk * 0x9E3779B97F4A7C15ull) >> 17;; g++)
                    if (!slots[g & (size - 1)]) {
                        slots[g & (size - 1)] = (int32_t)k + 1;
                        break;
                    }
            }
            free(t->pair_slots);
            t->pair_slots = slots;
            t->pair_mask = size - 1;
        }
        return (int32_t)t->n_pairs - 1;
    }
}

static int pair_add_word(pair_info *p, int32_t w)
{
    if (p->last_word == w)
        return 0;
    if (p->n_where == p->cap_where) {
        uint32_t cap = p->cap_where ? 2 * p->cap_where : 4;
        int32_t *q = realloc(p->where, cap * sizeof *q);
        if (!q)
            return -1;
        p->where = q;
        p->cap_where = cap;
    }
    p->where[p->n_where++] = w;
    p->last_word = w;
    return 0;
}

/* Token x's string before token y's in GPT-2's byte-to-unicode form (code point order). */
static int tok_cmp(const trainer *t, int32_t x, int32_t y)
{
    const uint8_t *a = t->tok_bytes + t->tok_off[x], *b = t->tok_bytes + t->tok_off[y];
    uint32_t la = t->tok_len[x], lb = t->tok_len[y];
    for (uint32_t i = 0; i < la && i < lb; i++)
        if (a[i] != b[i])
            return t->cp[a[i]] < t->cp[b[i]] ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

/* Heap order: higher count first; on ties the smaller (left, right) strings first. */
static int heap_before(const trainer *t, heap_entry a, heap_entry b)
{
    if (a.count != b.count)
        return a.count > b.count;
    const pair_info *p = &t->pairs[a.pair], *q = &t->pairs[b.pair];
    int c = tok_cmp(t, p->left, q->left);
    if (!c)
        c = tok_cmp(t, p->right, q->right);
    return c < 0;
}

static int heap_push(trainer *t, int32_t pair)
{
    if (grow((void **)&t->heap, &t->cap_heap, t->n_heap + 1, sizeof *t->heap))
        return -1;
    heap_entry x = {t->pairs[pair].count, pair};
    size_t i = t->n_heap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!heap_before(t, x, t->heap[up]))
            break;
        t->heap[i] = t->heap[up];
        i = up;
    }
    t->heap[i] = x;
    return 0;
}

static heap_entry heap_pop(trainer *t)
{
    heap_entry top = t->heap[0], x = t->heap[--t->n_heap];
    size_t i = 0, n = t->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_before(t, t->heap[c + 1], t->heap[c]))
            c++;
        if (!heap_before(t, t->heap[c], x))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n)
        t->heap[i] = x;
    return top;
}

/* Adds delta (weighted) to pair (l, r); a rise records word w and marks the pair for a push. */
static int pair_change(trainer *t, int32_t l, int32_t r, int64_t delta, int32_t w, int32_t step)
{
    int32_t k = pair_get(t, l, r);
    if (k < 0)
        return -1;
    pair_info *p = &t->pairs[k];
    p->count += delta;
    if (delta > 0) {
        if (pair_add_word(p, w))
            return -1;
        if (p->touched != step) {
            p->touched = step;
            if (grow((void **)&t->raised, &t->cap_raised, t->n_raised + 1, sizeof *t->raised))
                return -1;
            t->raised[t->n_raised++] = k;
        }
    }
    return 0;
}

/* Merges every (a, b) in word w into id m, left to right, updating the neighbours' pair counts. */
static int merge_word(trainer *t, int32_t w, int32_t a, int32_t b, int32_t m, int32_t step)
{
    int32_t *s = t->sym + t->w_off[w];
    uint32_t n = t->w_len[w];
    int64_t c = (int64_t)t->w_count[w];
    uint32_t i = 0, o = 0; /* read and write positions */
    while (i < n) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (o > 0 && (pair_change(t, s[o - 1], a, -c, w, step) || pair_change(t, s[o - 1], m, c, w, step)))
                return -1;
            if (i + 2 < n && (pair_change(t, b, s[i + 2], -c, w, step) || pair_change(t, m, s[i + 2], c, w, step)))
                return -1;
            s[o++] = m;
            i += 2;
        } else {
            s[o++] = s[i++];
        }
    }
    t->w_len[w] = o;
    return 0;
}

static void trainer_free(trainer *t)
{
    free(t->tok_bytes);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_slots);
    free(t->sym);
    free(t->w_off);
    free(t->w_len);
    free(t->w_count);
    for (size_t k = 0; k < t->n_pairs; k++)
        free(t->pairs[k].where);
    free(t->pairs);
    free(t->pair_slots);
    free(t->heap);
    free(t->raised);
    free(t->merges);
}

/* --- driver ------------------------------------------------------------------------------------------ */

static int mkdir_p(const char *dir, char *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return ac__errorf(err, AC_E_ARG, "path too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return ac__errorf(err, AC_E_IO, "cannot create %s: %s", path, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return AC_OK;
}

#define OOM(err) ac__errorf(err, AC_E_NOMEM, "out of memory while training")

int ac_bpe_train_memory(const char *text, size_t len, const char *out_dir, const ac_bpe_train_params *params,
                        char *err)
{
    ac_bpe_train_params p = params ? *params : ac_bpe_train_default_params();
    if (p.vocab_size < 257 || p.vocab_size > (1 << 24))
        return ac__errorf(err, AC_E_ARG, "vocab_size %d is out of range (257..%d)", (int)p.vocab_size, 1 << 24);
    if (p.max_word_bytes <= 0)
        p.max_word_bytes = 256;
    FILE *log = p.progress;
    int rc = mkdir_p(out_dir, err);
    if (rc)
        return rc;
    ac__pretok_init();
    double t0 = ac_now();

    /* (1) count the distinct pre-tokens */
    word_table wt = {0};
    wt.mask = (1 << 16) - 1;
    wt.slots = calloc(wt.mask + 1, sizeof *wt.slots);
    if (!wt.slots)
        return OOM(err);
    size_t pos = 0, n_docs = 0, n_pieces = 0, next_report = 64u << 20;
    const char *doc;
    size_t doc_len;
    rc = AC_OK;
    while (!rc && ac_corpus_next_doc(text, len, &pos, &doc, &doc_len)) {
        const uint8_t *s = (const uint8_t *)doc;
        n_docs++;
        for (size_t i = 0; i < doc_len;) {
            size_t end = ac__pretok_next(s, doc_len, i);
            if (end - i >= 2 && end - i <= (size_t)p.max_word_bytes && word_table_add(&wt, s + i, end - i)) {
                rc = OOM(err);
                break;
            }
            n_pieces++;
            i = end;
        }
        if (log && pos >= next_report) {
            double dt = ac_now() - t0;
            fprintf(log, "tokenizer-train: counting: %.0f / %.0f MB, %zu distinct words, %.1f MB/s\n", pos / 1e6,
                    len / 1e6, wt.used, dt > 0 ? pos / 1e6 / dt : 0.0);
            next_report += 64u << 20;
        }
    }
    double t_count = ac_now() - t0;
    if (log)
        fprintf(log, "tokenizer-train: %.1f MB, %zu documents, %zu pre-tokens, %zu distinct of 2..%d bytes in %.1f s (%.1f MB/s)\n",
                len / 1e6, n_docs, n_pieces, wt.used, (int)p.max_word_bytes, t_count,
                t_count > 0 ? len / 1e6 / t_count : 0.0);

    /* (2) tokens, words and pairs */
    trainer t = {0};
    for (int b = 0; b < 256; b++)
        t.cp[b] = ac__byte_to_cp((uint8_t)b);
    int32_t byte_id[256];
    t.tok_mask = 1023;
    t.tok_slots = calloc(t.tok_mask + 1, sizeof *t.tok_slots);
    t.pair_mask = (1 << 16) - 1;
    t.pair_slots = calloc(t.pair_mask + 1, sizeof *t.pair_slots);
    t.n_words = wt.used;
    t.sym = malloc((wt.arena_len + 1) * sizeof *t.sym);
    t.w_off = malloc((t.n_words + 1) * sizeof *t.w_off);
    t.w_len = malloc((t.n_words + 1) * sizeof *t.w_len);
    t.w_count = malloc((t.n_words + 1) * sizeof *t.w_count);
    if (!rc && (!t.tok_slots || !t.pair_slots || !t.sym || !t.w_off || !t.w_len || !t.w_count))
        rc = OOM(err);
    for (int i = 0; i < 256 && !rc; i++) {
        uint8_t b = ac__gpt2_byte(i);
        byte_id[b] = i;
        if (tok_add(&t, &b, 1))
            rc = OOM(err);
    }
    size_t n_sym = 0, w = 0;
    for (size_t k = 0; k <= wt.mask && !rc; k++) {
        const word_slot *s = &wt.slots[k];
        if (!s->count)
            continue;
        t.w_off[w] = (uint32_t)n_sym;
        t.w_len[w] = s->len;
        t.w_count[w] = s->count;
        for (uint32_t i = 0; i < s->len; i++)
            t.sym[n_sym + i] = byte_id[wt.arena[s->off + i]];
        for (uint32_t i = 0; i + 1 < s->len && !rc; i++) {
            int32_t pk = pair_get(&t, t.sym[n_sym + i], t.sym[n_sym + i + 1]);
            if (pk < 0 || pair_add_word(&t.pairs[pk], (int32_t)w))
                rc = OOM(err);
            else
                t.pairs[pk].count += (int64_t)s->count;
        }
        n_sym += s->len;
        w++;
    }
    free(wt.slots);
    free(wt.arena);
    for (size_t k = 0; k < t.n_pairs && !rc; k++)
        if (heap_push(&t, (int32_t)k))
            rc = OOM(err);

    /* (3) merge */
    int32_t target = p.vocab_size - 1; /* ids before <|endoftext|> */
    double t1 = ac_now(), next_log = t1 + 2.0;
    int32_t step = 0;
    uint8_t joined[2 * AC_BPE_MAX_TOKEN_BYTES];
    while (!rc && t.n_tok < target && t.n_heap) {
        heap_entry top = heap_pop(&t);
        pair_info *pi = &t.pairs[top.pair];
        if (pi->count <= 0 || top.count < pi->count)
            continue; /* no longer present, or an older entry of a pair pushed again since */
        if (top.count > pi->count) {
            if (heap_push(&t, top.pair))
                rc = OOM(err);
            continue;
        }
        int32_t a = pi->left, b = pi->right;
        size_t la = t.tok_len[a], lb = t.tok_len[b];
        if (la + lb > AC_BPE_MAX_TOKEN_BYTES) { /* would be refused by the loader: never merge it */
            pi->count = 0;
            continue;
        }
        memcpy(joined, t.tok_bytes + t.tok_off[a], la);
        memcpy(joined + la, t.tok_bytes + t.tok_off[b], lb);
        int32_t m = tok_find(&t, joined, la + lb);
        if (m < 0) {
            if (tok_add(&t, joined, la + lb)) {
                rc = OOM(err);
                break;
            }
            m = t.n_tok - 1;
        }
        if (grow((void **)&t.merges, &t.cap_merges, t.n_merges + 1, sizeof *t.merges)) {
            rc = OOM(err);
            break;
        }
        t.merges[t.n_merges][0] = a;
        t.merges[t.n_merges][1] = b;
        t.n_merges++;
        /* The pair's word list is taken over here: merge_word may append to other pairs' lists
         * (and so reallocate t.pairs), and the pair itself may come back later (when m is an old id). */
        int32_t *where = pi->where;
        uint32_t n_where = pi->n_where;
        pi->where = NULL;
        pi->n_where = pi->cap_where = 0;
        pi->last_word = -1;
        t.n_raised = 0;
        for (uint32_t k = 0; k < n_where && !rc; k++)
            if (merge_word(&t, where[k], a, b, m, step))
                rc = OOM(err);
        free(where);
        t.pairs[top.pair].count = 0; /* every occurrence merged (re-read: t.pairs may have moved) */
        for (size_t k = 0; k < t.n_raised && !rc; k++)
            if (t.pairs[t.raised[k]].count > 0 && heap_push(&t, t.raised[k]))
                rc = OOM(err);
        step++;
        if (log && (ac_now() >= next_log || t.n_tok == target)) {
            ac_buf u = {0};
            ac__bytes_to_unicode(joined, la + lb, &u);
            fprintf(log, "tokenizer-train: merge %d, vocabulary %d / %d, \"%.40s\" (count %lld), %.1f s\n", (int)step,
                    (int)t.n_tok + 1, (int)p.vocab_size, u.data ? u.data : "", (long long)top.count, ac_now() - t1);
            ac_buf_free(&u);
            next_log = ac_now() + 2.0;
        }
    }
    if (!rc && t.n_tok < target && log)
        fprintf(log, "tokenizer-train: no pairs left: stopped at %d ids\n", (int)t.n_tok + 1);

    /* write: the tokens, then <|endoftext|> */
    if (!rc && tok_add(&t, (const uint8_t *)"<|endoftext|>", 13))
        rc = OOM(err);
    if (!rc) {
        const uint8_t **tok = malloc((size_t)t.n_tok * sizeof *tok);
        if (!tok) {
            rc = OOM(err);
        } else {
            for (int32_t k = 0; k < t.n_tok; k++)
                tok[k] = t.tok_bytes + t.tok_off[k];
            rc = ac__write_hf_files(out_dir, t.n_tok, tok, t.tok_len, (const int32_t(*)[2])t.merges,
                                    (int32_t)t.n_merges, err);
            free(tok);
        }
    }
    if (!rc && log) {
        double dt = ac_now() - t0;
        fprintf(log, "tokenizer-train: wrote %s/vocab.json (%d ids) and merges.txt (%zu merges); %.1f s in all, %.2f MB/s\n",
                out_dir, (int)t.n_tok, t.n_merges, dt, dt > 0 ? len / 1e6 / dt : 0.0);
    }
    trainer_free(&t);
    return rc;
}

int ac_bpe_train(const char *corpus_path, const char *out_dir, const ac_bpe_train_params *params, char *err)
{
    const void *data;
    size_t len;
    int rc = ac_file_map(corpus_path, &data, &len, err);
    if (rc)
        return rc;
    rc = ac_bpe_train_memory(data ? data : "", len, out_dir, params, err);
    ac_file_unmap(data, len);
    return rc;
}
