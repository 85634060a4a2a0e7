/* candidates.c: finding every dictionary word within 2 edits of a typed word. The words are stored
 * in key order (dict.c), so they form an implicit trie: the words that share a prefix are
 * consecutive, and lcp[i] says how many leading code points word i shares with word i-1. The
 * search walks the words in order with one row of the optimal-string-alignment table per code
 * point of the current word, keeps the rows of the prefix it shares with the next word, and when
 * no extension of a prefix can come within reach, skips every word with that prefix. Rows are
 * banded (only cells with |i - j| <= max distance can be within reach), clamped at max + 1, and
 * packed a byte per cell into one 64-bit word. Not here: scoring (error_model.c, correct.c), the
 * dictionary's storage (dict.c).
 *
 * Memory: three bytes per word (lcp; the code point after the shared prefix, so that most words
 * are ruled out without reading their keys; the distance to the next sibling) plus one per 64
 * words; nothing allocated per query. Cost per query: one row per trie node still within reach,
 * and a few instructions for each child of such a node: in the shipped dictionary (134,192 words)
 * a typo searched at distance 2 touches about 10,000 words, reads the keys of about 3,000 and
 * computes about 3,000 rows; at distance 1, about 2,000 words and 250 rows.
 */
#include "corrector/corrector_internal.h"

#include <stdlib.h>
#include <string.h>

/* --- the index --------------------------------------------------------------------------------- */

/* Decodes one code point of valid UTF-8 (the keys are written by ac__utf8_encode); returns its
 * byte length. */
static inline int utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xE0) {
        *cp = (c & 0x1Fu) << 6 | (s[1] & 0x3Fu);
        return 2;
    }
    if (c < 0xF0) {
        *cp = (c & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu);
        return 3;
    }
    *cp = (c & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
    return 4;
}

/* The number of whole code points two UTF-8 keys share at their start; *bytes gets their length
 * in bytes. */
static int shared_code_points(const char *a, size_t na, const char *b, size_t nb, size_t *bytes)
{
    size_t m = na < nb ? na : nb, k = 0;
    while (k < m && a[k] == b[k])
        k++;
    /* a code point cut in the middle by the first difference is not shared */
    while (k > 0 && k < na && ((unsigned char)a[k] & 0xC0) == 0x80)
        k--;
    int n = 0;
    for (size_t i = 0; i < k; i++)
        n += ((unsigned char)a[i] & 0xC0) != 0x80;
    *bytes = k;
    return n;
}

/* The first word after i that shares fewer than k code points with word i (n when none): the
 * words in between all have lcp >= k. Scans 8 lcp bytes at a time, and a block at a time from a
 * block's start. */
static size_t skip_prefix(const ac__lcp_index *ix, size_t n, size_t i, int k)
{
    const uint8_t *lcp = ix->lcp;
    size_t x = i + 1;
    while (x < n && x % 8 != 0) {
        if (lcp[x] < k)
            return x;
        x++;
    }
    /* a byte below k in v (lcp and k are <= AC__WORD_CP_MAX + 1 <= 128, which this test needs) */
    const uint64_t ones = 0x0101010101010101ULL, k8 = ones * (uint64_t)k;
    while (x + 8 <= n) {
        if (x % AC__LCP_BLOCK == 0 && ix->block_min[x / AC__LCP_BLOCK] >= k) {
            x += AC__LCP_BLOCK;
            continue;
        }
        uint64_t v;
        memcpy(&v, lcp + x, 8);
        if ((v - k8) & ~v & (ones << 7))
            break;
        x += 8;
    }
    while (x < n && lcp[x] >= k)
        x++;
    return x < n ? x : n;
}

int ac__lcp_index_build(ac_dict *d, char *err)
{
    ac__lcp_index *ix = &d->index;
    size_t n = d->n_words, n_blocks = (n + AC__LCP_BLOCK - 1) / AC__LCP_BLOCK;
    ix->lcp = malloc(n ? n : 1);
    ix->branch = malloc(n ? n : 1);
    ix->sibling = malloc(n ? n : 1);
    ix->block_min = malloc(n_blocks ? n_blocks : 1);
    if (!ix->lcp || !ix->branch || !ix->sibling || !ix->block_min) {
        ac__lcp_index_free(ix);
        return ac__errorf(err, AC_E_NOMEM, "out of memory building the candidate index");
    }
    for (size_t i = 0; i < n; i++) {
        int l = 0;
        size_t at = 0;  /* the bytes of the shared prefix */
        if (i > 0)
            l = shared_code_points(ac__word_key(d, i - 1), d->words[i - 1].key_len, ac__word_key(d, i),
                                   d->words[i].key_len, &at);
        ix->lcp[i] = (uint8_t)l;  /* <= AC__WORD_CP_MAX */
        unsigned char next = (unsigned char)ac__word_key(d, i)[at];
        ix->branch[i] = next < 0x80 ? next : 0x80;
        if (i % AC__LCP_BLOCK == 0 || l < ix->block_min[i / AC__LCP_BLOCK])
            ix->block_min[i / AC__LCP_BLOCK] = (uint8_t)l;
    }
    /* sibling: from the back, the next word with lcp <= lcp[i], following the chain of siblings
     * (each link jumps over words with a larger lcp) */
    for (size_t i = n; i-- > 0;) {
        size_t y = i + 1;
        while (y < n && ix->lcp[y] > ix->lcp[i])
            y = ix->sibling[y] < 255 ? y + ix->sibling[y] : skip_prefix(ix, n, y, ix->lcp[y] + 1);
        ix->sibling[i] = (uint8_t)(y - i < 255 ? y - i : 255);
    }
    return AC_OK;
}

void ac__lcp_index_free(ac__lcp_index *ix)
{
    free(ix->lcp);
    free(ix->branch);
    free(ix->sibling);
    free(ix->block_min);
    memset(ix, 0, sizeof *ix);
}

/* --- the search -------------------------------------------------------------------------------- */

/* A row of the table is one uint64_t, a byte per cell ("lane"): row r's lane t is the cell for the
 * first r code points of the word against the first j = r + t - max of the query, clamped to
 * cap = max + 1; only lanes 0 .. 2 * max (the band: a cell farther from the diagonal is over max)
 * are used, the others hold cap. Cells are small, so lanes never carry into each other. */
#define LANES_1 0x0101010101010101ULL
#define LANES_HIGH 0x8080808080808080ULL

/* The lane-wise minimum of a and b (lanes below 128). */
static inline uint64_t lanes_min(uint64_t a, uint64_t b)
{
    uint64_t a_ge_b = (((a | LANES_HIGH) - b) & LANES_HIGH) >> 7;  /* 1 in the lanes where a >= b */
    uint64_t m = a_ge_b * 0xFF;
    return (b & m) | (a & ~m);
}

/* Bit t set for each lane t of v below x (x <= 128). */
static inline unsigned lanes_below(uint64_t v, unsigned x)
{
    uint64_t below = ~((v | LANES_HIGH) - LANES_1 * x) & LANES_HIGH;
    return (unsigned)(((below >> 7) * 0x0102040810204080ULL) >> 56);  /* lane t's bit to bit t */
}

/* spread[b]: 1 in lane t for each bit t of b (5 bits: the widest band). */
static const uint64_t spread[32] = {
#define S1(b) (((b) & 1 ? 1ULL : 0) | ((b) & 2 ? 1ULL << 8 : 0) | ((b) & 4 ? 1ULL << 16 : 0) | \
               ((b) & 8 ? 1ULL << 24 : 0) | ((b) & 16 ? 1ULL << 32 : 0))
    S1(0), S1(1), S1(2), S1(3), S1(4), S1(5), S1(6), S1(7), S1(8), S1(9), S1(10), S1(11), S1(12), S1(13), S1(14),
    S1(15), S1(16), S1(17), S1(18), S1(19), S1(20), S1(21), S1(22), S1(23), S1(24), S1(25), S1(26), S1(27),
    S1(28), S1(29), S1(30), S1(31),
#undef S1
};

/* The query, for the rows: eq bit p set when q[p] is the code point. */
typedef struct query {
    const uint32_t *q;
    int n;
    uint64_t eq_ascii[128];
} query;

static uint64_t query_eq(const query *Q, uint32_t c)
{
    if (c < 128)
        return Q->eq_ascii[c];
    uint64_t m = 0;
    for (int p = 0; p < Q->n; p++)
        m |= (uint64_t)(Q->q[p] == c) << p;
    return m;
}

/* walk() is instantiated once per max distance; inlined, its lane constants are constants. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Row r = k + 1 from rows k and k - 1 (prev, pp), for the word's code point at position k, whose
 * query bits are eq (eq2: those of the code point at k - 1, when k > 0). */
static ALWAYS_INLINE uint64_t next_row(uint64_t prev, uint64_t pp, uint64_t eq, uint64_t eq2, int k, int n,
                                       const int max)
{
    const int width = 2 * max + 1, r = k + 1;
    const uint64_t cap = (uint64_t)(max + 1), caps = LANES_1 * cap;
    const uint64_t band = width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
    int s = r - max - 1;  /* lane t's query position j - 1 = s + t */
    if (s + 1 > n)
        return caps;      /* every cell of the band is past the query's end */
    uint64_t v;
    if (s >= 0) {
        /* substitute or match: the diagonal, + 1 where q[j - 1] is not the code point */
        unsigned match = (unsigned)(eq >> s) & ((1u << width) - 1);
        v = prev + ((LANES_1 & band) - spread[match]);
        /* a letter of the word left out: the cell above, + 1 */
        v = lanes_min(v, ((prev >> 8) | cap << 56) + LANES_1);
        /* two letters swapped: the cell two rows up and left, + 1, where q[j - 2] is this code point
         * and q[j - 1] the one before */
        if (max > 0 && k > 0) {
            unsigned swap = (unsigned)((eq << 1) >> s & eq2 >> s) & ((1u << width) - 1);
            if (swap)
                v = lanes_min(v, (pp + LANES_1) | (LANES_1 * 0x7F & ~(spread[swap] * 0xFF)));
        }
    } else {
        /* the first rows (r <= max): lanes before the query's start (j < 0) and the j = 0 cell */
        v = caps;
        for (int t = 0; t < width; t++) {
            int j = r + t - max;
            uint64_t x;
            if (j < 0) {
                x = cap;
            } else if (j == 0) {
                x = (uint64_t)r < cap ? (uint64_t)r : cap;
            } else {
                x = (prev >> 8 * t & 0xFF) + !(eq >> (j - 1) & 1);
                uint64_t up = t + 1 < width ? (prev >> 8 * (t + 1) & 0xFF) + 1 : cap;
                if (up < x)
                    x = up;
                if (max > 0 && k > 0 && j >= 2 && (eq >> (j - 2) & 1) && (eq2 >> (j - 1) & 1) &&
                    (pp >> 8 * t & 0xFF) + 1 < x)
                    x = (pp >> 8 * t & 0xFF) + 1;
            }
            v = (v & ~(0xFFULL << 8 * t)) | (x < cap ? x : cap) << 8 * t;
        }
    }
    /* an extra letter typed: the cell to the left, + 1, carried along the row (a prefix minimum
     * over distances 1, 2, 4 ...; only distances up to max matter) */
    for (int d = 1; d <= max; d *= 2)
        v = lanes_min(v, ((v << 8 * d) | (caps >> (64 - 8 * d))) + LANES_1 * (uint64_t)d);
    v = lanes_min(v, caps);
    /* cells past the query's end */
    int last = n - r + max;  /* the last lane with j <= n */
    if (last + 1 < 8)
        v = (v & ((1ULL << 8 * (last + 1)) - 1)) | (caps & ~((1ULL << 8 * (last + 1)) - 1));
    return v;
}

/* The walk, for one max distance (a constant in each caller). Word i's rows 0..lcp[i] are those
 * of the prefix it shares with the word before, already computed. A cell of row r + 1 comes from
 * row r or, by a transposition, from row r - 1 plus one; so once no cell of row r + 1 is within
 * max and none of row r below max, no longer prefix is within reach ("dead"), and the words with
 * this prefix are skipped.
 *
 * A shortcut: when no cell of row r is below max, a cell of row r + 1 can be within max only by a
 * match from a cell of row r (equal to max), or by a transposition from a cell of row r - 1 below
 * max; the others add one to a cell that is not below max. So whether the next code point keeps
 * the prefix alive is a test of its query bits against two lane masks per row, and a word that
 * fails it is dead without its row being computed. */
static ALWAYS_INLINE int walk(const ac_dict *d, const uint32_t *q, int n, const int max, ac__found_fn found,
                              void *user)
{
    const int width = 2 * max + 1;
    const uint64_t cap = (uint64_t)(max + 1);
    query Q;
    Q.q = q;
    Q.n = n;
    memset(Q.eq_ascii, 0, sizeof Q.eq_ascii);
    for (int p = 0; p < n; p++)
        if (q[p] < 128)
            Q.eq_ascii[q[p]] |= 1ULL << p;
    uint64_t rows[AC__WORD_CP_MAX + 1];    /* rows[r]: the row for the first r code points */
    uint8_t within[AC__WORD_CP_MAX + 1];   /* lane mask of rows[r]: cells <= max */
    uint8_t below[AC__WORD_CP_MAX + 1];    /* lane mask of rows[r]: cells < max */
    uint64_t eq[AC__WORD_CP_MAX];          /* eq[k]: the query bits of path[k] */
    uint32_t path[AC__WORD_CP_MAX];        /* the current word's key, code points */
    uint16_t offset[AC__WORD_CP_MAX + 1];  /* offset[k]: byte offset of path[k] in the key */
    rows[0] = LANES_1 * cap;
    for (int t = 0; t < width; t++) {
        int j = t - max;
        if (j >= 0 && j <= n)
            rows[0] = (rows[0] & ~(0xFFULL << 8 * t)) | (uint64_t)(j < (int)cap ? j : (int)cap) << 8 * t;
    }
    within[0] = (uint8_t)lanes_below(rows[0], (unsigned)cap);
    below[0] = (uint8_t)lanes_below(rows[0], (unsigned)max);
    offset[0] = 0;
    const ac__lcp_index *ix = &d->index;
    size_t n_words = d->n_words, i = 0;
    int n_found = 0;
/* Computes row k + 1 for the code point with query bits e; an expression. */
#define SET_ROW(k, e) \
    (rows[(k) + 1] = next_row(rows[k], (k) > 0 ? rows[(k) - 1] : 0, (e), (k) > 0 ? eq[(k) - 1] : 0, (k), n, max), \
     within[(k) + 1] = (uint8_t)lanes_below(rows[(k) + 1], (unsigned)cap), \
     below[(k) + 1] = (uint8_t)lanes_below(rows[(k) + 1], (unsigned)max))
#define DEAD(k) (!within[(k) + 1] && !below[k])
/* With row k's cells all >= max (so k >= max): 1 when the code point with query bits e cannot keep
 * the prefix alive. Row k's lane t is query position k + t - max; row k - 1's, k - 1 + t - max. */
#define HOPELESS(k, e) \
    (!below[k] && !(((e) >> ((k) - max) & within[k]) | \
                     ((k) > 0 ? ((e) << 1) >> ((k) - max) & eq[(k) - 1] >> ((k) - max) & below[(k) - 1] : 0)))
    while (i < n_words) {
        int k = ix->lcp[i];
        uint32_t b = ix->branch[i];
        if (b < 0x80) {
            /* the first new code point from the branch byte alone: most words end here, unread */
            uint64_t e = Q.eq_ascii[b];
            if (HOPELESS(k, e) || (SET_ROW(k, e), DEAD(k))) {
                i = ix->sibling[i] < 255 ? i + ix->sibling[i] : skip_prefix(ix, n_words, i, k + 1);
                continue;
            }
            path[k] = b;
            eq[k] = e;
            offset[k + 1] = (uint16_t)(offset[k] + 1);
            k++;
        }
        const ac__word *w = &d->words[i];
        const unsigned char *key = (const unsigned char *)d->pool + w->key_off;
        int len = w->key_cps, pruned = 0;
        for (; k < len; k++) {
            uint32_t c;
            offset[k + 1] = (uint16_t)(offset[k] + utf8_next(key + offset[k], &c));
            path[k] = c;
            eq[k] = query_eq(&Q, c);
            if (HOPELESS(k, eq[k]) || (SET_ROW(k, eq[k]), DEAD(k))) {
                pruned = k + 1;
                break;
            }
        }
        if (pruned) {
            i = skip_prefix(ix, n_words, i, pruned);
            continue;
        }
        int t = n - len + max;
        if (t >= 0 && t < width) {
            int dist = (int)(rows[len] >> 8 * t & 0xFF);
            if (dist <= max) {
                found(user, (uint32_t)i, dist, path, len);
                n_found++;
            }
        }
        i++;
    }
#undef SET_ROW
#undef DEAD
#undef HOPELESS
    return n_found;
}

int ac__candidates_find(const ac_dict *d, const uint32_t *q, int n, int max_distance, ac__found_fn found, void *user)
{
    if (n < 0 || n > AC__WORD_CP_MAX || max_distance < 0 || !d->n_words || !d->index.lcp)
        return 0;
    switch (max_distance) {
    case 0:
        return walk(d, q, n, 0, found, user);
    case 1:
        return walk(d, q, n, 1, found, user);
    default:
        return walk(d, q, n, AC__CAND_MAX_DISTANCE, found, user);
    }
}
