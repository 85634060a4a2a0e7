/* bpe_prefix.c: the prefix index: ordinary tokens sorted by their bytes, and the two lookups that
 * mid-word completion and token healing need: tokens that start with typed bytes, and tokens that
 * are a prefix of them. Not a trie: one sorted array of ids (4 bytes per token) and binary searches
 * over the token bytes already held by the tokenizer. */
#include "tokenizer/bpe_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_tokens(const void *a, const void *b, void *bpe_)
{
    const ac_bpe *bpe = bpe_;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = bpe->tok_len[x], ly = bpe->tok_len[y];
    int c = memcmp(bpe->tok_bytes + bpe->tok_off[x], bpe->tok_bytes + bpe->tok_off[y], lx < ly ? lx : ly);
    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y; /* equal bytes (a duplicate token): by id */
}

int ac__bpe_build_prefix_index(ac_bpe *bpe, char *err)
{
    free(bpe->sorted);
    bpe->sorted = malloc(((size_t)bpe->n_vocab + 1) * sizeof *bpe->sorted);
    if (!bpe->sorted)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the prefix index");
    int32_t n = 0;
    bpe->max_token_len = 0;
    for (int32_t id = 0; id < bpe->n_vocab; id++) {
        uint8_t f = bpe->tok_flags[id];
        if ((f & AC__TOK_USED) && !(f & AC__TOK_SPECIAL)) {
            bpe->sorted[n++] = id;
            if (bpe->tok_len[id] > bpe->max_token_len)
                bpe->max_token_len = bpe->tok_len[id];
        }
    }
    bpe->n_sorted = n;
    qsort_r(bpe->sorted, (size_t)n, sizeof *bpe->sorted, cmp_tokens, bpe);
    return AC_OK;
}

/* -1, 0 or 1 as token id's bytes are before, start with, or are after p[0..len). */
static int cmp_prefix(const ac_bpe *bpe, int32_t id, const uint8_t *p, size_t len)
{
    uint32_t tl = bpe->tok_len[id];
    int c = memcmp(bpe->tok_bytes + bpe->tok_off[id], p, tl < len ? tl : len);
    if (c)
        return c < 0 ? -1 : 1;
    return tl < len ? -1 : 0;
}

size_t ac_bpe_tokens_with_prefix(const ac_bpe *bpe, const void *bytes, size_t len, const int32_t **ids)
{
    const uint8_t *p = bytes;
    size_t lo = 0, hi = (size_t)bpe->n_sorted;
    while (lo < hi) { /* first token not before the prefix */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_prefix(bpe, bpe->sorted[mid], p, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t first = lo;
    hi = (size_t)bpe->n_sorted;
    while (lo < hi) { /* first token after every token that starts with the prefix */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_prefix(bpe, bpe->sorted[mid], p, len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ids = bpe->sorted + first;
    return lo - first;
}

size_t ac_bpe_tokens_prefix_of(const ac_bpe *bpe, const void *bytes, size_t len, int32_t *ids, size_t cap)
{
    const uint8_t *p = bytes;
    /* [lo, hi): the tokens that start with p[0..k); within it, the one that is exactly p[0..k) (if
     * any) sorts first, then the rest by their byte k. */
    size_t lo = 0, hi = (size_t)bpe->n_sorted, count = 0;
    for (size_t k = 1; k <= len && k <= bpe->max_token_len && lo < hi; k++) {
        uint8_t c = p[k - 1];
        size_t a = lo, b = hi;
        while (a < b) { /* first with more than k-1 bytes and byte k-1 >= c */
            size_t mid = a + (b - a) / 2;
            int32_t id = bpe->sorted[mid];
            if (bpe->tok_len[id] < k || bpe->tok_bytes[bpe->tok_off[id] + k - 1] < c)
                a = mid + 1;
            else
                b = mid;
        }
        size_t new_lo = a;
        b = hi;
        while (a < b) { /* first with byte k-1 > c */
            size_t mid = a + (b - a) / 2;
            int32_t id = bpe->sorted[mid];
            if (bpe->tok_bytes[bpe->tok_off[id] + k - 1] <= c)
                a = mid + 1;
            else
                b = mid;
        }
        lo = new_lo;
        hi = a;
        if (lo < hi && bpe->tok_len[bpe->sorted[lo]] == k) {
            if (count < cap)
                ids[count] = bpe->sorted[lo];
            count++;
        }
    }
    return count;
}
