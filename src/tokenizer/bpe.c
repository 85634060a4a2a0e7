/* bpe.c: the byte-level BPE tokenizer's core: its tables, encode (pre-tokens, then merges by rank,
 * with a pre-token cache), decode and the accessors. Loading files is bpe_files.c, the prefix index
 * bpe_prefix.c, the stream decoder bpe_stream.c, training bpe_train.c. */
#include "tokenizer/bpe_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- building --------------------------------------------------------------------------------- */

static uint64_t next_serial = 1;

int ac__bpe_alloc(int32_t n_vocab, ac_bpe **out, char *err)
{
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > (1 << 24))
        return ac__errorf(err, AC_E_LIMIT, "vocabulary size %d is out of range (1..%d)", (int)n_vocab, 1 << 24);
    ac_bpe *bpe = calloc(1, sizeof *bpe);
    if (!bpe)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the tokenizer");
    bpe->n_vocab = n_vocab;
    bpe->eot = -1;
    bpe->tok_off = calloc((size_t)n_vocab, sizeof *bpe->tok_off);
    bpe->tok_len = calloc((size_t)n_vocab, sizeof *bpe->tok_len);
    bpe->tok_flags = calloc((size_t)n_vocab, 1);
    bpe->tok_bytes_cap = (size_t)n_vocab * 8 + 64;
    bpe->tok_bytes = malloc(bpe->tok_bytes_cap);
    if (!bpe->tok_off || !bpe->tok_len || !bpe->tok_flags || !bpe->tok_bytes) {
        ac_bpe_free(bpe);
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a vocabulary of %d tokens", (int)n_vocab);
    }
    for (int b = 0; b < 256; b++)
        bpe->byte_id[b] = -1;
    bpe->serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
    *out = bpe;
    return AC_OK;
}

int ac__bpe_set_token(ac_bpe *bpe, int32_t id, const uint8_t *bytes, size_t len, int special, char *err)
{
    if (id < 0 || id >= bpe->n_vocab)
        return ac__errorf(err, AC_E_ARG, "token id %d is out of range", (int)id);
    if (bpe->tok_flags[id] & AC__TOK_USED)
        return ac__errorf(err, AC_E_ARG, "token id %d is given twice", (int)id);
    if (len == 0 || len > AC_BPE_MAX_TOKEN_BYTES)
        return ac__errorf(err, AC_E_LIMIT, "token id %d has %zu bytes (1..%d allowed)", (int)id, len,
                          AC_BPE_MAX_TOKEN_BYTES);
    if (bpe->tok_bytes_len + len > bpe->tok_bytes_cap) {
        size_t cap = bpe->tok_bytes_cap * 2 + len;
        if (cap > UINT32_MAX)
            return ac__errorf(err, AC_E_LIMIT, "the vocabulary's tokens are over 4 GiB");
        uint8_t *p = realloc(bpe->tok_bytes, cap);
        if (!p)
            return ac__errorf(err, AC_E_NOMEM, "out of memory for the vocabulary");
        bpe->tok_bytes = p;
        bpe->tok_bytes_cap = cap;
    }
    memcpy(bpe->tok_bytes + bpe->tok_bytes_len, bytes, len);
    bpe->tok_off[id] = (uint32_t)bpe->tok_bytes_len;
    bpe->tok_len[id] = (uint32_t)len;
    bpe->tok_bytes_len += len;
    bpe->tok_flags[id] = (uint8_t)(AC__TOK_USED | (special ? AC__TOK_SPECIAL : 0));
    return AC_OK;
}

int ac__bpe_index_strings(ac_bpe *bpe, char *err)
{
    uint64_t size = 64;
    while (size < 2 * (uint64_t)bpe->n_vocab)
        size *= 2;
    free(bpe->str_slots);
    bpe->str_slots = calloc(size, sizeof *bpe->str_slots);
    if (!bpe->str_slots)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the vocabulary index");
    bpe->str_mask = size - 1;
    for (int32_t id = 0; id < bpe->n_vocab; id++) {
        if (!(bpe->tok_flags[id] & AC__TOK_USED))
            continue;
        const uint8_t *p = bpe->tok_bytes + bpe->tok_off[id];
        uint32_t n = bpe->tok_len[id];
        uint64_t h = ac__hash_bytes(p, n);
        for (;; h++) {
            int32_t *slot = &bpe->str_slots[h & bpe->str_mask];
            if (!*slot) {
                *slot = id + 1;
                break;
            }
            int32_t other = *slot - 1;
            if (bpe->tok_len[other] == n && !memcmp(bpe->tok_bytes + bpe->tok_off[other], p, n))
                break; /* two ids with the same bytes: lookups find the first */
        }
    }
    return AC_OK;
}

int32_t ac__bpe_lookup(const ac_bpe *bpe, const uint8_t *bytes, size_t len)
{
    for (uint64_t h = ac__hash_bytes(bytes, len);; h++) {
        int32_t slot = bpe->str_slots[h & bpe->str_mask];
        if (!slot)
            return -1;
        int32_t id = slot - 1;
        if (bpe->tok_len[id] == len && !memcmp(bpe->tok_bytes + bpe->tok_off[id], bytes, len))
            return id;
    }
}

static int cmp_special(const void *a, const void *b, void *bpe_)
{
    const ac_bpe *bpe = bpe_;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (bpe->tok_len[x] != bpe->tok_len[y])
        return bpe->tok_len[x] > bpe->tok_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

int ac__bpe_finish(ac_bpe *bpe, const int32_t (*merges)[2], int32_t n_merges, const char *name, char *err)
{
    if (!bpe->str_slots) {
        int rc = ac__bpe_index_strings(bpe, err);
        if (rc)
            return rc;
    }
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        bpe->byte_id[b] = ac__bpe_lookup(bpe, &byte, 1);
        if (bpe->byte_id[b] < 0)
            return ac__errorf(err, AC_E_FORMAT, "%s: the vocabulary has no token for the byte 0x%02X", name, b);
    }
    uint64_t size = 64;
    while (size < 2 * (uint64_t)n_merges + 2)
        size *= 2;
    bpe->pairs = malloc(size * sizeof *bpe->pairs);
    bpe->merges = malloc(((size_t)n_merges + 1) * sizeof *bpe->merges);
    if (!bpe->pairs || !bpe->merges)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for %d merges", (int)n_merges);
    for (uint64_t i = 0; i < size; i++)
        bpe->pairs[i].key = AC__PAIR_EMPTY;
    bpe->pair_mask = size - 1;
    uint8_t joined[2 * AC_BPE_MAX_TOKEN_BYTES];
    for (int32_t r = 0; r < n_merges; r++) {
        int32_t a = merges[r][0], b = merges[r][1];
        if (a < 0 || a >= bpe->n_vocab || b < 0 || b >= bpe->n_vocab || !(bpe->tok_flags[a] & AC__TOK_USED) ||
            !(bpe->tok_flags[b] & AC__TOK_USED))
            return ac__errorf(err, AC_E_FORMAT, "%s: merge %d names an unknown token", name, (int)r + 1);
        size_t la = bpe->tok_len[a], lb = bpe->tok_len[b];
        memcpy(joined, bpe->tok_bytes + bpe->tok_off[a], la);
        memcpy(joined + la, bpe->tok_bytes + bpe->tok_off[b], lb);
        int32_t m = ac__bpe_lookup(bpe, joined, la + lb);
        if (m < 0)
            return ac__errorf(err, AC_E_FORMAT, "%s: merge %d makes a token that is not in the vocabulary", name,
                              (int)r + 1);
        bpe->merges[r][0] = a;
        bpe->merges[r][1] = b;
        bpe->tok_flags[m] |= AC__TOK_MERGED;
        uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        for (uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 20;; h++) {
            ac__pair_slot *slot = &bpe->pairs[h & bpe->pair_mask];
            if (slot->key == key)
                break; /* a repeated merge keeps its first (lowest) rank */
            if (slot->key == AC__PAIR_EMPTY) {
                slot->key = key;
                slot->rank = r;
                slot->merged = m;
                break;
            }
        }
    }
    bpe->n_merges = n_merges;
    /* Special tokens: the ones marked so, and those neither a byte nor a merge's result. */
    int32_t n_special = 0;
    for (int32_t id = 0; id < bpe->n_vocab; id++) {
        uint8_t f = bpe->tok_flags[id];
        if (!(f & AC__TOK_USED))
            continue;
        int is_byte = bpe->tok_len[id] == 1 && bpe->byte_id[bpe->tok_bytes[bpe->tok_off[id]]] == id;
        if (!is_byte && !(f & AC__TOK_MERGED))
            bpe->tok_flags[id] = f |= AC__TOK_SPECIAL;
        if (f & AC__TOK_SPECIAL)
            n_special++;
    }
    bpe->specials = malloc(((size_t)n_special + 1) * sizeof *bpe->specials);
    if (!bpe->specials)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    bpe->n_specials = 0;
    for (int32_t id = 0; id < bpe->n_vocab; id++)
        if (bpe->tok_flags[id] & AC__TOK_SPECIAL)
            bpe->specials[bpe->n_specials++] = id;
    qsort_r(bpe->specials, (size_t)bpe->n_specials, sizeof *bpe->specials, cmp_special, bpe);
    static const char eot[] = "<|endoftext|>";
    bpe->eot = ac__bpe_lookup(bpe, (const uint8_t *)eot, sizeof eot - 1);
    return ac__bpe_build_prefix_index(bpe, err);
}

void ac_bpe_free(ac_bpe *bpe)
{
    if (!bpe)
        return;
    free(bpe->tok_bytes);
    free(bpe->tok_off);
    free(bpe->tok_len);
    free(bpe->tok_flags);
    free(bpe->merges);
    free(bpe->pairs);
    free(bpe->str_slots);
    free(bpe->specials);
    free(bpe->sorted);
    free(bpe);
}

/* --- accessors ---------------------------------------------------------------------------------- */

int32_t ac_bpe_n_vocab(const ac_bpe *bpe) { return bpe->n_vocab; }
int32_t ac_bpe_n_merges(const ac_bpe *bpe) { return bpe->n_merges; }
int32_t ac_bpe_eot(const ac_bpe *bpe) { return bpe->eot; }

size_t ac_bpe_memory_bytes(const ac_bpe *bpe)
{
    size_t n = (size_t)bpe->n_vocab;
    return sizeof *bpe + bpe->tok_bytes_cap + n * (sizeof *bpe->tok_off + sizeof *bpe->tok_len + 1) +
           ((size_t)bpe->n_merges + 1) * sizeof *bpe->merges + (bpe->pair_mask + 1) * sizeof *bpe->pairs +
           (bpe->str_mask + 1) * sizeof *bpe->str_slots + ((size_t)bpe->n_specials + 1) * sizeof *bpe->specials +
           (n + 1) * sizeof *bpe->sorted;
}

const uint8_t *ac_bpe_token_bytes(const ac_bpe *bpe, int32_t id, size_t *len)
{
    if (id < 0 || id >= bpe->n_vocab || !(bpe->tok_flags[id] & AC__TOK_USED)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = bpe->tok_len[id];
    return bpe->tok_bytes + bpe->tok_off[id];
}

int ac_bpe_is_special(const ac_bpe *bpe, int32_t id)
{
    return id >= 0 && id < bpe->n_vocab && (bpe->tok_flags[id] & AC__TOK_SPECIAL) != 0;
}

int32_t ac_bpe_token_id(const ac_bpe *bpe, const void *bytes, size_t len)
{
    if (len == 0 || len > AC_BPE_MAX_TOKEN_BYTES)
        return -1;
    return ac__bpe_lookup(bpe, bytes, len);
}

/* --- the pre-token cache ------------------------------------------------------------------------ */

typedef struct cache_entry {
    uint64_t hash;
    uint32_t key_off;  /* in keys */
    uint32_t ids_off;  /* in ids */
    uint16_t key_len;  /* 0: free slot */
    uint16_t n_ids;
} cache_entry;

struct ac_bpe_cache {
    uint64_t serial;       /* the tokenizer the entries were made with */
    cache_entry *slots;    /* [mask + 1] */
    uint32_t mask, n_used, max_used;
    uint8_t *keys;         /* [keys_cap] pre-token bytes */
    size_t keys_len, keys_cap;
    int32_t *ids;          /* [ids_cap] their ids */
    size_t ids_len, ids_cap;
};

#define CACHE_MAX_KEY 255 /* longer pre-tokens are rarely repeated: not cached */

ac_bpe_cache *ac_bpe_cache_new(size_t max_bytes)
{
    if (max_bytes == 0)
        max_bytes = 8u << 20;
    if (max_bytes < 64u << 10)
        max_bytes = 64u << 10;
    ac_bpe_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    uint32_t slots = 1024;
    while ((uint64_t)slots * 2 * sizeof(cache_entry) <= max_bytes / 2 && slots < (1u << 30))
        slots *= 2;
    c->mask = slots - 1;
    c->max_used = slots / 2;
    c->keys_cap = max_bytes / 4;
    c->ids_cap = max_bytes / 4 / sizeof(int32_t);
    c->slots = calloc(slots, sizeof *c->slots);
    c->keys = malloc(c->keys_cap);
    c->ids = malloc(c->ids_cap * sizeof *c->ids);
    if (!c->slots || !c->keys || !c->ids) {
        ac_bpe_cache_free(c);
        return NULL;
    }
    return c;
}

void ac_bpe_cache_free(ac_bpe_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c->keys);
    free(c->ids);
    free(c);
}

static void cache_clear(ac_bpe_cache *c, uint64_t serial)
{
    memset(c->slots, 0, ((size_t)c->mask + 1) * sizeof *c->slots);
    c->n_used = 0;
    c->keys_len = 0;
    c->ids_len = 0;
    c->serial = serial;
}

/* The cached ids of piece p[0..n) (count in *n_ids), or NULL. */
static inline const int32_t *cache_get(const ac_bpe_cache *c, uint64_t h, const uint8_t *p, size_t n,
                                       size_t *n_ids)
{
    for (uint32_t i = (uint32_t)h;; i++) {
        const cache_entry *e = &c->slots[i & c->mask];
        if (!e->key_len)
            return NULL;
        if (e->hash == h && e->key_len == n && !memcmp(c->keys + e->key_off, p, n)) {
            *n_ids = e->n_ids;
            return c->ids + e->ids_off;
        }
    }
}

static void cache_put(ac_bpe_cache *c, uint64_t h, const uint8_t *p, size_t n, const int32_t *ids, size_t n_ids)
{
    if (c->n_used >= c->max_used || c->keys_len + n > c->keys_cap || c->ids_len + n_ids > c->ids_cap)
        cache_clear(c, c->serial);
    cache_entry *e;
    for (uint32_t i = (uint32_t)h;; i++) {
        e = &c->slots[i & c->mask];
        if (!e->key_len)
            break;
    }
    e->hash = h;
    e->key_off = (uint32_t)c->keys_len;
    e->ids_off = (uint32_t)c->ids_len;
    e->key_len = (uint16_t)n;
    e->n_ids = (uint16_t)n_ids;
    memcpy(c->keys + c->keys_len, p, n);
    memcpy(c->ids + c->ids_len, ids, n_ids * sizeof *ids);
    c->keys_len += n;
    c->ids_len += n_ids;
    c->n_used++;
}

/* --- merging ------------------------------------------------------------------------------------ */

#define SMALL_PIECE 256 /* pieces up to this many bytes merge on the stack */

/* BPE of a short piece (1 < n <= SMALL_PIECE) into out[0..return): repeatedly merge the lowest
 * ranked adjacent pair, leftmost first. Quadratic in n, but with plain integer scans. */
static size_t merge_small(const ac_bpe *bpe, const uint8_t *p, size_t n, int32_t *out)
{
    uint32_t rank[SMALL_PIECE]; /* [m - 1] rank of (out[i], out[i+1]), UINT32_MAX for none */
    int32_t merged[SMALL_PIECE]; /* [m - 1] the id that pair makes */
    for (size_t i = 0; i < n; i++)
        out[i] = bpe->byte_id[p[i]];
    for (size_t i = 0; i + 1 < n; i++)
        rank[i] = (uint32_t)ac__bpe_pair(bpe, out[i], out[i + 1], &merged[i]);
    size_t m = n;
    while (m > 1) {
        uint32_t best = UINT32_MAX;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if (rank[i] < best) {
                best = rank[i];
                bi = i;
            }
        if (best == UINT32_MAX)
            break;
        out[bi] = merged[bi];
        size_t tail = m - bi - 2; /* elements after the pair */
        memmove(out + bi + 1, out + bi + 2, tail * sizeof *out);
        memmove(rank + bi + 1, rank + bi + 2, (tail ? tail - 1 : 0) * sizeof *rank);
        memmove(merged + bi + 1, merged + bi + 2, (tail ? tail - 1 : 0) * sizeof *merged);
        m--;
        if (bi + 1 < m)
            rank[bi] = (uint32_t)ac__bpe_pair(bpe, out[bi], out[bi + 1], &merged[bi]);
        if (bi > 0)
            rank[bi - 1] = (uint32_t)ac__bpe_pair(bpe, out[bi - 1], out[bi], &merged[bi - 1]);
    }
    return m;
}

/* A heap entry of merge_large: the pair starting at symbol `pos` had rank `rank` when pushed. */
typedef struct heap_item {
    uint32_t rank, pos;
} heap_item;

static inline int heap_less(heap_item a, heap_item b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(heap_item *h, size_t *n, heap_item x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(x, h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = x;
}

static heap_item heap_pop(heap_item *h, size_t *n)
{
    heap_item top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c]))
            c++;
        if (!heap_less(h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = x;
    return top;
}

/* The same result as merge_small for any n, in O(n log n): symbols in a linked list, candidate pairs
 * in a heap ordered by (rank, position); a popped pair whose symbols changed since is skipped. */
static int merge_large(const ac_bpe *bpe, const uint8_t *p, size_t n, int32_t *out, size_t *n_out)
{
    int32_t *id = malloc(n * sizeof *id);      /* [n] symbol ids; -1 once merged into the left one */
    uint32_t *next = malloc(n * sizeof *next); /* [n] next live symbol, n at the end */
    uint32_t *prev = malloc(n * sizeof *prev); /* [n] previous live symbol, UINT32_MAX at the start */
    heap_item *heap = malloc(3 * n * sizeof *heap); /* n - 1 pairs + 2 per merge */
    if (!id || !next || !prev || !heap) {
        free(id); free(next); free(prev); free(heap);
        return AC_E_NOMEM;
    }
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        id[i] = bpe->byte_id[p[i]];
        next[i] = (uint32_t)(i + 1);
        prev[i] = i ? (uint32_t)(i - 1) : UINT32_MAX;
    }
    int32_t m;
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t r = ac__bpe_pair(bpe, id[i], id[i + 1], &m);
        if (r >= 0)
            heap_push(heap, &hn, (heap_item){(uint32_t)r, (uint32_t)i});
    }
    while (hn) {
        heap_item top = heap_pop(heap, &hn);
        uint32_t a = top.pos, b = next[a];
        if (id[a] < 0 || b >= n)
            continue;
        int32_t r = ac__bpe_pair(bpe, id[a], id[b], &m);
        if (r < 0 || (uint32_t)r != top.rank)
            continue; /* stale: ranks are unique per pair, so a match means the same pair */
        id[a] = m;
        id[b] = -1;
        next[a] = next[b];
        if (next[b] < n)
            prev[next[b]] = a;
        int32_t m2;
        if (prev[a] != UINT32_MAX && (r = ac__bpe_pair(bpe, id[prev[a]], id[a], &m2)) >= 0)
            heap_push(heap, &hn, (heap_item){(uint32_t)r, prev[a]});
        if (next[a] < n && (r = ac__bpe_pair(bpe, id[a], id[next[a]], &m2)) >= 0)
            heap_push(heap, &hn, (heap_item){(uint32_t)r, a});
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i = next[i])
        out[k++] = id[i];
    *n_out = k;
    free(id); free(next); free(prev); free(heap);
    return AC_OK;
}

/* BPE of piece p[0..n) (n >= 1) into out[0..*n_out); out has room for n ids. */
static int merge_piece(const ac_bpe *bpe, const uint8_t *p, size_t n, int32_t *out, size_t *n_out)
{
    if (n == 1) {
        out[0] = bpe->byte_id[p[0]];
        *n_out = 1;
        return AC_OK;
    }
    if (n <= SMALL_PIECE) {
        *n_out = merge_small(bpe, p, n, out);
        return AC_OK;
    }
    return merge_large(bpe, p, n, out, n_out);
}

/* For tests: the two merge loops, selectable (0: by length as encode does, 1: small, 2: large). */
int ac__bpe_merge_piece(const ac_bpe *bpe, const uint8_t *p, size_t n, int how, int32_t *out, size_t *n_out)
{
    if (how == 1 && n >= 1 && n <= SMALL_PIECE) {
        for (size_t i = 0; i < n; i++)
            out[i] = bpe->byte_id[p[i]];
        *n_out = n > 1 ? merge_small(bpe, p, n, out) : 1;
        return AC_OK;
    }
    if (how == 2 && n >= 1)
        return merge_large(bpe, p, n, out, n_out);
    return merge_piece(bpe, p, n, out, n_out);
}

/* --- encode / decode ---------------------------------------------------------------------------- */

typedef struct encoder {
    const ac_bpe *bpe;
    ac_bpe_cache *cache;
    int32_t *ids;
    size_t cap, n;
} encoder;

/* Appends the ids of one pre-token. AC_E_LIMIT when they do not fit (as many as fit are kept). */
static int encode_piece(encoder *e, const uint8_t *p, size_t len)
{
    const ac_bpe *bpe = e->bpe;
    if (len == 1) {
        if (e->n >= e->cap)
            return AC_E_LIMIT;
        e->ids[e->n++] = bpe->byte_id[p[0]];
        return AC_OK;
    }
    int32_t scratch[SMALL_PIECE];
    uint64_t h = 0;
    size_t k;
    if (e->cache && len <= CACHE_MAX_KEY) {
        h = ac__hash_bytes(p, len);
        const int32_t *hit = cache_get(e->cache, h, p, len, &k);
        if (hit) {
            if (k > e->cap - e->n) {
                memcpy(e->ids + e->n, hit, (e->cap - e->n) * sizeof *hit);
                e->n = e->cap;
                return AC_E_LIMIT;
            }
            memcpy(e->ids + e->n, hit, k * sizeof *hit);
            e->n += k;
            return AC_OK;
        }
    }
    int direct = e->cap - e->n >= len; /* the ids surely fit: merge in place */
    int32_t *out = direct ? e->ids + e->n : scratch;
    int32_t *heap_out = NULL;
    if (!direct && len > SMALL_PIECE) {
        heap_out = malloc(len * sizeof *heap_out);
        if (!heap_out)
            return AC_E_NOMEM;
        out = heap_out;
    }
    int rc = merge_piece(bpe, p, len, out, &k);
    if (rc) {
        free(heap_out);
        return rc;
    }
    if (e->cache && len <= CACHE_MAX_KEY)
        cache_put(e->cache, h, p, len, out, k);
    if (!direct) {
        size_t fit = k < e->cap - e->n ? k : e->cap - e->n;
        memcpy(e->ids + e->n, out, fit * sizeof *out);
        e->n += fit;
        free(heap_out);
        return fit < k ? AC_E_LIMIT : AC_OK;
    }
    e->n += k;
    return AC_OK;
}

static int encode_text(encoder *e, const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t end = ac__pretok_next(s, len, i);
        int rc = encode_piece(e, s + i, end - i);
        if (rc)
            return rc;
        i = end;
    }
    return AC_OK;
}

int ac_bpe_encode(const ac_bpe *bpe, ac_bpe_cache *cache, const void *text, size_t len, unsigned flags,
                  int32_t *ids, size_t cap, size_t *n_ids, char *err)
{
    ac__pretok_init();
    if (cache && cache->serial != bpe->serial)
        cache_clear(cache, bpe->serial);
    encoder e = {bpe, cache, ids, cap, 0};
    const uint8_t *s = text;
    int rc = AC_OK;
    if (!(flags & AC_BPE_SPECIAL) || bpe->n_specials == 0) {
        rc = encode_text(&e, s, len);
    } else {
        /* Split at special tokens: the earliest occurrence, the longest at one position. */
        size_t pos = 0;
        while (pos < len && !rc) {
            size_t best_at = len;
            int32_t best = -1;
            for (int32_t k = 0; k < bpe->n_specials; k++) {
                int32_t id = bpe->specials[k];
                const uint8_t *hit = memmem(s + pos, len - pos, bpe->tok_bytes + bpe->tok_off[id], bpe->tok_len[id]);
                if (hit && (size_t)(hit - s) < best_at) {
                    best_at = (size_t)(hit - s);
                    best = id;
                }
            }
            rc = encode_text(&e, s + pos, best_at - pos);
            if (rc || best < 0)
                break;
            if (e.n >= e.cap) {
                rc = AC_E_LIMIT;
                break;
            }
            e.ids[e.n++] = best;
            pos = best_at + bpe->tok_len[best];
        }
    }
    *n_ids = e.n;
    if (rc == AC_E_LIMIT)
        return ac__errorf(err, rc, "the ids do not fit in %zu slots", cap);
    if (rc)
        return ac__errorf(err, rc, "out of memory while encoding");
    return AC_OK;
}

int ac_bpe_decode(const ac_bpe *bpe, const int32_t *ids, size_t n, ac_buf *out, char *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= bpe->n_vocab || !(bpe->tok_flags[id] & AC__TOK_USED))
            return ac__errorf(err, AC_E_ARG, "token id %d at position %zu is not in the vocabulary (0..%d)",
                              (int)id, i, (int)bpe->n_vocab - 1);
        total += bpe->tok_len[id];
    }
    if (ac_buf_reserve(out, total))
        return ac__errorf(err, AC_E_NOMEM, "out of memory for %zu decoded bytes", total);
    char *p = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, bpe->tok_bytes + bpe->tok_off[ids[i]], bpe->tok_len[ids[i]]);
        p += bpe->tok_len[ids[i]];
    }
    out->len += total;
    out->data[out->len] = 0;
    return AC_OK;
}
