/* symdel.c: the symmetric-delete candidate index. Every dictionary key contributes the hashes of
 * itself and of all strings made by deleting one or two of its code points; a query generates its
 * own deletions and looks each up. Two words within two edits (substitution, insertion, deletion or
 * transposition) always share such a string, so the index finds every word within distance 2; each
 * hit is then checked with the real edit distance. Not here: scoring (error_model.c, correct.c).
 *
 * Memory: one uint32 per (word, distinct deletion) pair plus one uint32 per bucket: about 5.6 M
 * entries, 30 MB, for 130,000 words.
 */
#include "corrector/corrector_internal.h"

#include <stdlib.h>
#include <string.h>

/* The hashes of key[n] and of its deletion variants (up to max_deletes deletions) into out[],
 * which must hold 1 + n + n(n-1)/2 values; returns how many. Deleting one letter of a run of equal
 * letters gives the same string whichever is deleted, so only the first of a run is deleted; other
 * repeats (rare) stay and cost a little memory, never a wrong answer. Each variant's hash costs
 * O(1): ac__hash_cp is polynomial, so it is assembled from prefix hashes. */
static int variant_hashes(const uint32_t *key, int n, int max_deletes, uint64_t *out)
{
    uint64_t pre[AC__WORD_CP_MAX + 1], pw[AC__WORD_CP_MAX + 1];
    pre[0] = 0;
    pw[0] = 1;
    for (int k = 0; k < n; k++) {
        pre[k + 1] = pre[k] * AC__HASH_BASE + key[k] + 1;
        pw[k + 1] = pw[k] * AC__HASH_BASE;
    }
    /* poly of key[a..b) */
#define SEG(a, b) (pre[b] - pre[a] * pw[(b) - (a)])
    int m = 0;
    out[m++] = ac__hash_mix(pre[n] + (uint64_t)n);
    if (max_deletes < 1)
        return m;
    for (int i = 0; i < n; i++) {
        if (i > 0 && key[i] == key[i - 1])
            continue;
        out[m++] = ac__hash_mix(pre[i] * pw[n - 1 - i] + SEG(i + 1, n) + (uint64_t)(n - 1));
        if (max_deletes < 2)
            continue;
        for (int j = i + 1; j < n; j++) {
            if (j > i + 1 && key[j] == key[j - 1])
                continue;
            uint64_t h = pre[i] * pw[n - 2 - i] + SEG(i + 1, j) * pw[n - 1 - j] + SEG(j + 1, n);
            out[m++] = ac__hash_mix(h + (uint64_t)(n - 2));
        }
    }
#undef SEG
    return m;
}

#define VARIANTS_MAX (1 + AC__WORD_CP_MAX + AC__WORD_CP_MAX * (AC__WORD_CP_MAX - 1) / 2)

int ac__symdel_build(ac__symdel *ix, const ac_dict *d, char *err)
{
    memset(ix, 0, sizeof *ix);
    int id_bits = 1;
    while (id_bits < 31 && ((size_t)1 << id_bits) <= d->n_words)
        id_bits++;
    if (id_bits > 24)
        return ac__errorf(err, AC_E_LIMIT, "dictionary too large for the index (%zu words, max 16M)", d->n_words);
    /* upper bound of entries, to size the buckets at about 4 entries each */
    size_t bound = 0;
    for (size_t w = 0; w < d->n_words; w++) {
        size_t n = d->words[w].key_len;
        bound += 1 + n + n * (n - 1) / 2;
    }
    int bucket_bits = 4;
    while (bucket_bits < 28 && ((size_t)4 << bucket_bits) < bound)
        bucket_bits++;
    size_t n_buckets = (size_t)1 << bucket_bits;

    uint64_t *hashes = malloc(sizeof *hashes * VARIANTS_MAX);
    ix->offsets = calloc(n_buckets + 1, sizeof *ix->offsets);
    if (!hashes || !ix->offsets) {
        free(hashes);
        ac__symdel_free(ix);
        return ac__errorf(err, AC_E_NOMEM, "out of memory building the candidate index");
    }
    /* pass 1: count entries per bucket */
    size_t total = 0;
    for (size_t w = 0; w < d->n_words; w++) {
        int m = variant_hashes(ac__word_key(d, w), d->words[w].key_len, 2, hashes);
        for (int k = 0; k < m; k++)
            ix->offsets[(hashes[k] >> (64 - bucket_bits)) + 1]++;
        total += (size_t)m;
    }
    if (total > UINT32_MAX) {
        free(hashes);
        ac__symdel_free(ix);
        return ac__errorf(err, AC_E_LIMIT, "candidate index too large (%zu entries)", total);
    }
    for (size_t b = 0; b < n_buckets; b++)
        ix->offsets[b + 1] += ix->offsets[b];
    ix->entries = malloc(sizeof *ix->entries * (total ? total : 1));
    uint32_t *fill = malloc(sizeof *fill * n_buckets);
    if (!ix->entries || !fill) {
        free(hashes);
        free(fill);
        ac__symdel_free(ix);
        return ac__errorf(err, AC_E_NOMEM, "out of memory building the candidate index");
    }
    memcpy(fill, ix->offsets, sizeof *fill * n_buckets);
    /* pass 2: fill */
    int check_bits = 32 - id_bits;
    for (size_t w = 0; w < d->n_words; w++) {
        int m = variant_hashes(ac__word_key(d, w), d->words[w].key_len, 2, hashes);
        for (int k = 0; k < m; k++) {
            uint64_t h = hashes[k];
            size_t b = (size_t)(h >> (64 - bucket_bits));
            uint32_t check = (uint32_t)((h >> (64 - bucket_bits - check_bits)) & ((1u << check_bits) - 1));
            ix->entries[fill[b]++] = (check << id_bits) | (uint32_t)w;
        }
    }
    free(fill);
    free(hashes);
    ix->n_entries = total;
    ix->bucket_bits = bucket_bits;
    ix->id_bits = id_bits;
    return AC_OK;
}

void ac__symdel_free(ac__symdel *ix)
{
    free(ix->offsets);
    free(ix->entries);
    memset(ix, 0, sizeof *ix);
}

/* A small open-addressing set of word ids for one query. */
#define SEEN_CAP 16384
typedef struct seen_set {
    uint32_t slot[SEEN_CAP]; /* word id + 1, 0 = empty */
    int n;
} seen_set;

/* 1 when newly added, 0 when present, -1 when full. */
static int seen_add(seen_set *s, uint32_t id)
{
    if (s->n >= SEEN_CAP * 3 / 4)
        return -1;
    uint32_t h = (id * 2654435761u) & (SEEN_CAP - 1);
    while (s->slot[h]) {
        if (s->slot[h] == id + 1)
            return 0;
        h = (h + 1) & (SEEN_CAP - 1);
    }
    s->slot[h] = id + 1;
    s->n++;
    return 1;
}

int ac__symdel_query(const ac_dict *d, const uint32_t *q, int n, int max_distance, ac__found_fn found, void *user)
{
    const ac__symdel *ix = &d->index;
    if (!ix->entries || n > AC__WORD_CP_MAX || n < 0)
        return 0;
    if (max_distance > 2)
        max_distance = 2;
    uint64_t hashes[VARIANTS_MAX];
    int m = variant_hashes(q, n, max_distance, hashes);
    seen_set *seen = calloc(1, sizeof *seen);
    if (!seen)
        return -1;
    int check_bits = 32 - ix->id_bits;
    uint32_t id_mask = (1u << ix->id_bits) - 1;
    int n_found = 0, full = 0;
    for (int k = 0; k < m && !full; k++) {
        uint64_t h = hashes[k];
        size_t b = (size_t)(h >> (64 - ix->bucket_bits));
        uint32_t check = (uint32_t)((h >> (64 - ix->bucket_bits - check_bits)) & ((1u << check_bits) - 1));
        for (uint32_t e = ix->offsets[b]; e < ix->offsets[b + 1]; e++) {
            uint32_t v = ix->entries[e];
            if ((v >> ix->id_bits) != check)
                continue;
            uint32_t id = v & id_mask;
            int len = d->words[id].key_len;
            if (len - n > max_distance || n - len > max_distance)
                continue;
            int added = seen_add(seen, id);
            if (added < 0) {
                full = 1;
                break;
            }
            if (!added)
                continue;
            int dist = ac__osa_distance(q, n, ac__word_key(d, id), len, max_distance);
            if (dist <= max_distance) {
                found(user, id, dist);
                n_found++;
            }
        }
    }
    free(seen);
    return full ? -1 : n_found;
}
