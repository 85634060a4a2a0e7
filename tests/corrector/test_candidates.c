/* test_candidates.c: the dictionary's layout and its candidate search (src/corrector/dict.c,
 * candidates.c). The search must return exactly the words a brute-force scan finds within
 * optimal-string-alignment distance max (0, 1, 2) of a query, with the same distances, each once:
 * on a generated dictionary crowded with near neighbours (1-, 2-, 3- and 4-byte letters, case
 * variants, words of the maximum length) and on the shipped dictionary when it is there. Also: the
 * shipped dictionary's memory stays under a bound, case variants merge the same way whatever the
 * line order, and the search's limits.
 */
#include "check.h"
#include "autocorrect/corrector.h"
#include "corrector/corrector_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DICT "models/default/dictionary.tsv"
#define DEFAULT_DICT_MAX_BYTES 6000000  /* issue #9: the daemon's RSS within 1.5x of the weights */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Under ASan (make asan: memory errors, not coverage) the brute-force comparisons run a fifth of
 * their queries, or the test alone would take half a minute. */
#ifdef UNDER_ASAN
#define QUERY_DIVISOR 5
#else
#define QUERY_DIVISOR 1
#endif

static uint64_t rng_state = 0x12345678abcdefULL;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

/* An independent optimal-string-alignment distance: the full table, no band, no cut-off. */
static int brute_osa(const uint32_t *a, int na, const uint32_t *b, int nb)
{
    static int d[AC__WORD_CP_MAX + 2][AC__WORD_CP_MAX + 2];
    for (int i = 0; i <= na; i++)
        d[i][0] = i;
    for (int j = 0; j <= nb; j++)
        d[0][j] = j;
    for (int i = 1; i <= na; i++)
        for (int j = 1; j <= nb; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb];
}

/* What a search reported: distance per word id (-1: not reported). */
typedef struct hits {
    int *dist;          /* [n_words] */
    int calls, dup, out_of_order, bad_key;
    long last_id;
    const ac_dict *d;
} hits;

static void hit_fn(void *user, uint32_t id, int distance, const uint32_t *key, int key_len)
{
    hits *h = user;
    if (h->dist[id] >= 0)
        h->dup++;
    if ((long)id <= h->last_id)
        h->out_of_order++;
    h->last_id = (long)id;
    h->dist[id] = distance;
    h->calls++;
    uint32_t cp[AC__WORD_CP_MAX];
    int n = ac__word_key_cp(h->d, id, cp);
    if (n != key_len || memcmp(cp, key, sizeof *cp * (size_t)n))
        h->bad_key++;
}

static void search(const ac_dict *d, const uint32_t *q, int n, int maxd, hits *h)
{
    for (size_t i = 0; i < d->n_words; i++)
        h->dist[i] = -1;
    h->calls = h->dup = h->out_of_order = h->bad_key = 0;
    h->last_id = -1;
    h->d = d;
    int r = ac__candidates_find(d, q, n, maxd, hit_fn, h);
    CHECKF(r == h->calls, "returned %d, reported %d", r, h->calls);
}

/* Searches q[n] at every max distance from min_d to 2 and compares each word's reported distance
 * with ref[] (the brute-force OSA distance, anything above 2 meaning "not within reach"); counts
 * the words within each distance into within[] and the disagreements into *mismatches (the first
 * five reported). */
static void compare_with_reference(const ac_dict *d, const uint32_t *q, int n, int qi, const int *ref, int min_d,
                                   hits *h, long within[3], int *mismatches)
{
    for (int maxd = min_d; maxd <= 2; maxd++) {
        search(d, q, n, maxd, h);
        CHECKF(h->dup == 0 && h->out_of_order == 0 && h->bad_key == 0,
               "query %d: %d duplicates, %d out of key order, %d wrong keys", qi, h->dup, h->out_of_order, h->bad_key);
        for (size_t i = 0; i < d->n_words; i++) {
            int expect = ref[i] <= maxd ? ref[i] : -1;
            if (expect != h->dist[i] && (*mismatches)++ < 5)
                CHECKF(0, "query %d (%d code points), word '%s', max %d: brute force %d, search %d", qi, n,
                       ac__word_text(d, i), maxd, expect, h->dist[i]);
            within[maxd] += expect >= 0;
        }
    }
}

/* Applies `edits` random edits (substitute, insert, delete, swap) with letters from alpha[]. */
static int random_edits(uint32_t *cp, int n, int edits, const uint32_t *alpha, int n_alpha)
{
    for (int e = 0; e < edits; e++) {
        int kind = (int)rnd(4), at = n ? (int)rnd((uint32_t)n) : 0;
        uint32_t letter = alpha[rnd((uint32_t)n_alpha)];
        if (kind == 0 && n > 0) {
            cp[at] = letter;
        } else if (kind == 1 && n < AC__WORD_CP_MAX) {
            memmove(cp + at + 1, cp + at, sizeof *cp * (size_t)(n - at));
            cp[at] = letter;
            n++;
        } else if (kind == 2 && n > 1) {
            memmove(cp + at, cp + at + 1, sizeof *cp * (size_t)(n - at - 1));
            n--;
        } else if (n > 1 && at + 1 < n) {
            uint32_t t = cp[at];
            cp[at] = cp[at + 1];
            cp[at + 1] = t;
        }
    }
    return n;
}

/* Reads RssAnon from /proc/self/status in KB, or -1. */
static long rss_anon_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8))
            kb = strtol(line + 8, NULL, 10);
    fclose(f);
    return kb;
}

/* --- memory ------------------------------------------------------------------------------------ */

/* Runs first, so that the heap is fresh for the resident-memory check. */
static void default_dictionary_memory(void)
{
    if (access(DEFAULT_DICT, R_OK) != 0)
        SKIP("no %s (make dictionary)", DEFAULT_DICT);
    char err[AC_ERR_SIZE];
    ac_dict *d;
    long before = rss_anon_kb();
    int rc = ac_dict_load(DEFAULT_DICT, &d, err);
    long after = rss_anon_kb();
    CHECKF(rc == AC_OK, "%s", err);
    if (rc)
        return;
    size_t bytes = ac_dict_memory_bytes(d);
    CHECKF(bytes <= DEFAULT_DICT_MAX_BYTES, "%zu bytes for %zu words, bound %d", bytes, ac_dict_size(d),
           DEFAULT_DICT_MAX_BYTES);
    CHECKF(bytes >= ac_dict_size(d) * sizeof(ac__word), "%zu bytes for %zu words: not counting its words",
           bytes, ac_dict_size(d));
#ifndef UNDER_ASAN
    /* what the process really gained, against what the function says (malloc's headers and page
     * rounding on top) */
    if (before >= 0 && after >= 0)
        CHECKF((double)(after - before) * 1024 <= (double)bytes * 1.25 + 512 * 1024,
               "RssAnon grew %ld KB loading, ac_dict_memory_bytes says %zu KB", after - before, bytes / 1024);
#else
    (void)before;
    (void)after;
#endif
    ac_dict_free(d);
    CHECK(ac_dict_memory_bytes(NULL) == 0);
}

static void memory_counts_user_words(void)
{
    static const char tsv[] = "#autocorrect-dictionary\t1\nthe\t10\ncat\t5\n";
    char err[AC_ERR_SIZE], path[64];
    ac_dict *d;
    CHECKF(ac_dict_parse(tsv, sizeof tsv - 1, &d, err) == AC_OK, "%s", err);
    size_t before = ac_dict_memory_bytes(d);
    snprintf(path, sizeof path, "/tmp/ac_test_candidates_%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) {
        ac_dict_free(d);
        return;
    }
    fputs("Zyxwv\nqwertyuiopasdfghjkl\n", f);
    fclose(f);
    CHECKF(ac_dict_user_load(d, path, err) == AC_OK, "%s", err);
    unlink(path);
    size_t after = ac_dict_memory_bytes(d);
    CHECKF(after >= before + 2 * 6 + 20, "%zu -> %zu bytes after two user words", before, after);
    ac_dict_free(d);
}

/* --- a generated dictionary against brute force ------------------------------------------------- */

/* Letters that crowd: ASCII, 2-byte letters sharing a first byte (é è ê: C3 A9, C3 A8, C3 AA), a
 * 3-byte one, and a 4-byte one with an upper-case form (Deseret); upper-case forms fold to them. */
static const char *const lower_letters[] = {"a", "b", "c", "d", "e", "\xc3\xa9", "\xc3\xa8", "\xc3\xaa",
                                            "\xe3\x82\xa2", "\xf0\x90\x90\xa8"};
static const char *const upper_letters[] = {"A", "B", "C", "D", "E", "\xc3\x89", "\xc3\x88", "\xc3\x8a",
                                            "\xe3\x82\xa2", "\xf0\x90\x90\x80"};
#define N_LETTERS 10

static void generated_word(char *out, size_t cap, int len, int upper_odds)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < len; i++) {
        int k = (int)rnd(10) < 6 ? (int)rnd(5) : (int)rnd(N_LETTERS);  /* mostly a..e: crowded */
        const char *l = upper_odds && rnd((uint32_t)upper_odds) == 0 ? upper_letters[k] : lower_letters[k];
        size_t m = strlen(l);
        if (n + m >= cap || n + m > AC_WORD_MAX)
            break;
        memcpy(out + n, l, m + 1);
        n += m;
    }
}

static void generated_dictionary_matches_brute_force(void)
{
    enum { N = 2500, QUERIES = 3000 / QUERY_DIVISOR };
    ac_buf tsv = {0};
    ac_buf_printf(&tsv, "#autocorrect-dictionary\t1\n");
    char w[AC_WORD_MAX * 2];
    for (int i = 0; i < N; i++) {
        generated_word(w, sizeof w, 1 + (int)rnd(i % 10 ? 9 : 20), 6);
        ac_buf_printf(&tsv, "%s\t%d\n", w, i);
    }
    /* the longest words: 64 ASCII letters, 32 two-byte letters, and neighbours of each */
    char longest[AC_WORD_MAX + 1];
    memset(longest, 'a', AC_WORD_MAX);
    longest[AC_WORD_MAX] = 0;
    ac_buf_printf(&tsv, "%s\t1\n", longest);
    longest[10] = 'b';
    ac_buf_printf(&tsv, "%s\t1\n", longest);
    longest[AC_WORD_MAX - 1] = 0;
    ac_buf_printf(&tsv, "%s\t1\n", longest);
    for (int i = 0; i < AC_WORD_MAX / 2; i++)
        memcpy(w + 2 * i, i == 5 ? "\xc3\xa8" : "\xc3\xa9", 2);
    w[AC_WORD_MAX] = 0;
    ac_buf_printf(&tsv, "%s\t1\n", w);
    char err[AC_ERR_SIZE];
    ac_dict *d;
    int rc = ac_dict_parse(tsv.data, tsv.len, &d, err);
    ac_buf_free(&tsv);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc)
        return;
    CHECK(d->n_words <= N + 4 && d->n_words > N / 2);

    /* the keys as code points, for the brute force */
    uint32_t (*keys)[AC__WORD_CP_MAX] = malloc(sizeof *keys * d->n_words);
    int *key_n = malloc(sizeof *key_n * d->n_words), *brute = malloc(sizeof *brute * d->n_words);
    hits h = {malloc(sizeof(int) * d->n_words), 0, 0, 0, 0, -1, d};
    uint32_t alpha[N_LETTERS];
    for (int k = 0; k < N_LETTERS; k++)
        ac__utf8_decode(lower_letters[k], strlen(lower_letters[k]), &alpha[k], 1, 0);
    size_t long_ids[8] = {0}, n_long = 0;
    for (size_t i = 0; i < d->n_words; i++) {
        key_n[i] = ac__word_key_cp(d, i, keys[i]);
        if (key_n[i] >= AC__WORD_CP_MAX / 2 && n_long < 8)
            long_ids[n_long++] = i;
    }
    CHECKF(n_long == 4, "%zu words of 32+ letters", n_long);
    if (n_long == 0)
        n_long = 1;  /* (then only long_ids[0] = a random one is used) */

    int mismatches = 0;
    long found[3] = {0, 0, 0};
    for (int qi = 0; qi < QUERIES; qi++) {
        uint32_t q[AC__WORD_CP_MAX + 1];
        int n;
        if (qi == 0) {
            n = 0;  /* the empty query: every word of up to max letters */
        } else if (qi < 12) {
            size_t id = long_ids[(size_t)qi % n_long];  /* the longest words, with 0-2 edits */
            n = key_n[id];
            memcpy(q, keys[id], sizeof *q * (size_t)n);
            n = random_edits(q, n, (int)rnd(3), alpha, N_LETTERS);
        } else if (qi % 2) {
            char s[AC_WORD_MAX * 2];
            generated_word(s, sizeof s, 1 + (int)rnd(10), 0);
            n = ac__utf8_decode(s, strlen(s), q, AC__WORD_CP_MAX, 1);
        } else {
            size_t id = (size_t)rnd((uint32_t)d->n_words);
            n = key_n[id];
            memcpy(q, keys[id], sizeof *q * (size_t)n);
            n = random_edits(q, n, (int)rnd(4), alpha, N_LETTERS);
        }
        for (size_t i = 0; i < d->n_words; i++) {
            brute[i] = brute_osa(q, n, keys[i], key_n[i]);
            /* the corrector's own cut-off distance agrees with the full table */
            int od = ac__osa_distance(q, n, keys[i], key_n[i], 2);
            if (od != (brute[i] <= 2 ? brute[i] : 3) && mismatches++ < 5)
                CHECKF(0, "ac__osa_distance %d, brute force %d", od, brute[i]);
        }
        compare_with_reference(d, q, n, qi, brute, 0, &h, found, &mismatches);
    }
    CHECK(mismatches == 0);
    CHECKF(found[0] > QUERIES / 20 && found[1] > 2 * QUERIES && found[2] > 20 * QUERIES,
           "only %ld / %ld / %ld pairs within 0 / 1 / 2 edits: the test is too easy", found[0], found[1], found[2]);
    free(keys);
    free(key_n);
    free(brute);
    free(h.dist);
    ac_dict_free(d);
}

/* --- the shipped dictionary against brute force ------------------------------------------------- */

static void default_dictionary_matches_brute_force(void)
{
    enum { QUERIES = 500 / QUERY_DIVISOR };
    if (access(DEFAULT_DICT, R_OK) != 0)
        SKIP("no %s (make dictionary)", DEFAULT_DICT);
    char err[AC_ERR_SIZE];
    ac_dict *d;
    int rc = ac_dict_load(DEFAULT_DICT, &d, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc)
        return;
    size_t nw = d->n_words;
    /* all keys decoded, back to back */
    size_t *off = malloc(sizeof *off * (nw + 1));
    uint32_t *cps = malloc(sizeof *cps * (d->n_pool + 1));
    size_t *non_ascii = malloc(sizeof *non_ascii * nw);
    size_t n_non_ascii = 0;
    hits h = {malloc(sizeof(int) * nw), 0, 0, 0, 0, -1, d};
    int *ref = malloc(sizeof *ref * nw); /* the brute-force distance per word, 3 = beyond 2 */
    off[0] = 0;
    for (size_t i = 0; i < nw; i++) {
        int n = ac__word_key_cp(d, i, cps + off[i]);
        off[i + 1] = off[i] + (size_t)n;
        if ((size_t)n != d->words[i].key_len)
            non_ascii[n_non_ascii++] = i;
    }
    CHECKF(n_non_ascii > 20, "only %zu words with non-ASCII letters", n_non_ascii);
    static const char *const letters[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
                                          "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "'", "-",
                                          "\xc3\xa9", "\xc3\xa8", "\xc3\xbc", "\xc3\xb6", "\xc3\xb1", "\xce\xb1"};
    enum { N_ASCII = 28, N_ALL = 34 };
    uint32_t alpha[N_ALL];
    for (int k = 0; k < N_ALL; k++)
        ac__utf8_decode(letters[k], strlen(letters[k]), &alpha[k], 1, 0);

    int mismatches = 0;
    long pairs[3] = {0, 0, 0};
    for (int qi = 0; qi < QUERIES; qi++) {
        uint32_t q[AC__WORD_CP_MAX + 1];
        int n = 0;
        int kind = qi < 4 ? 0 : (int)rnd(10);
        if (qi == 0) {
            n = 0;
        } else if (qi == 1 || qi == 2) {
            for (n = 0; n < AC__WORD_CP_MAX; n++)
                q[n] = qi == 1 ? 'a' : alpha[28];  /* the longest query: 64 code points */
        } else if (qi == 3) {
            size_t best = 0;  /* the longest word, with an edit */
            for (size_t i = 0; i < nw; i++)
                if (off[i + 1] - off[i] > off[best + 1] - off[best])
                    best = i;
            n = (int)(off[best + 1] - off[best]);
            memcpy(q, cps + off[best], sizeof *q * (size_t)n);
            n = random_edits(q, n, 1, alpha, N_ASCII);
        } else if (kind < 5) {
            size_t id = (size_t)rnd((uint32_t)nw);  /* a real word with 0-3 random edits */
            n = (int)(off[id + 1] - off[id]);
            memcpy(q, cps + off[id], sizeof *q * (size_t)n);
            n = random_edits(q, n, (int)rnd(4), alpha, N_ASCII);
        } else if (kind < 7) {
            n = 1 + (int)rnd(12);  /* a random string */
            for (int k = 0; k < n; k++)
                q[k] = alpha[rnd(26)];
        } else if (kind < 9) {
            size_t id = non_ascii[rnd((uint32_t)n_non_ascii)];  /* a word with non-ASCII letters, edited */
            n = (int)(off[id + 1] - off[id]);
            memcpy(q, cps + off[id], sizeof *q * (size_t)n);
            n = random_edits(q, n, (int)rnd(3), alpha, N_ALL);
        } else {
            size_t id = (size_t)rnd((uint32_t)nw);  /* non-ASCII letters typed into an ASCII word */
            n = (int)(off[id + 1] - off[id]);
            memcpy(q, cps + off[id], sizeof *q * (size_t)n);
            n = random_edits(q, n, 1 + (int)rnd(2), alpha + N_ASCII, N_ALL - N_ASCII);
        }
        for (size_t i = 0; i < nw; i++) {
            int len = (int)(off[i + 1] - off[i]);
            ref[i] = len - n <= 2 && n - len <= 2 ? ac__osa_distance(q, n, cps + off[i], len, 2) : 3;
        }
        compare_with_reference(d, q, n, qi, ref, 1, &h, pairs, &mismatches);
    }
    CHECK(mismatches == 0);
    CHECKF(pairs[1] > QUERIES && pairs[2] > 10 * QUERIES, "only %ld / %ld pairs within 1 / 2 edits", pairs[1], pairs[2]);
    free(off);
    free(cps);
    free(non_ascii);
    free(ref);
    free(h.dist);
    ac_dict_free(d);
}

/* --- layout ------------------------------------------------------------------------------------ */

/* One word of a parsed dictionary, for comparing two. */
static void expect_word(const ac_dict *d, const char *key, const char *shown, uint64_t count)
{
    long id = ac__dict_find_utf8(d, key, strlen(key));
    CHECKF(id >= 0, "'%s' missing", key);
    if (id < 0)
        return;
    CHECK_STR(ac__word_text(d, (size_t)id), shown);
    CHECKF(d->words[id].count == count, "'%s': count %u, expected %llu", key, d->words[id].count,
           (unsigned long long)count);
    uint64_t c = 0;
    CHECK(ac_dict_lookup(d, shown, strlen(shown), &c) == AC_WORD_KNOWN && c == count);
}

static void case_variants_merge_in_any_order(void)
{
    /* the file's own order (C order of the words, as `make dictionary` writes it), then shuffled:
     * the same words, counts and display forms (the first variant's, or a later lower-case one) */
    static const char *const lines[] = {
        "Apple\t5", "BOB\t1", "Bob\t2", "Caf\xc3\xa9\t4", "Moon\t4294967295", "O'Brien\t8", "ZED\t2", "Zed\t1",
        "apple\t7", "bob\t3", "caf\xc3\xa9\t1", "d\xc3\xa9j\xc3\xa0\t2", "moon\t10", "zebra\t9", "zed\t0",
        "\xc3\x89t\xc3\xa9\t6", "\xc3\xa9t\xc3\xa9\t1", "\xc3\xa9tude\t2",
    };
    enum { N = sizeof lines / sizeof lines[0] };
    int perm[N];
    for (int i = 0; i < N; i++)
        perm[i] = i;
    for (int round = 0; round < 4; round++) {
        if (round > 0)
            for (int i = N - 1; i > 0; i--) {
                int j = (int)rnd((uint32_t)i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        ac_buf tsv = {0};
        ac_buf_printf(&tsv, "#autocorrect-dictionary\t1\n");
        for (int i = 0; i < N; i++)
            ac_buf_printf(&tsv, "%s\n", lines[perm[i]]);
        char err[AC_ERR_SIZE];
        ac_dict *d;
        int rc = ac_dict_parse(tsv.data, tsv.len, &d, err);
        ac_buf_free(&tsv);
        CHECKF(rc == AC_OK, "%s", err);
        if (rc)
            continue;
        CHECK(d->n_words == 10);
        expect_word(d, "apple", "apple", 12);
        expect_word(d, "bob", "bob", 6);
        expect_word(d, "caf\xc3\xa9", "caf\xc3\xa9", 5);
        expect_word(d, "d\xc3\xa9j\xc3\xa0", "d\xc3\xa9j\xc3\xa0", 2);
        expect_word(d, "zebra", "zebra", 9);
        expect_word(d, "zed", "zed", 3);
        expect_word(d, "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9", 7);
        expect_word(d, "\xc3\xa9tude", "\xc3\xa9tude", 2);
        expect_word(d, "o'brien", "O'Brien", 8);
        expect_word(d, "moon", "moon", UINT32_MAX);      /* the sum is clamped */
        /* the words are in key order, and a key's display form sits beside it */
        for (size_t i = 1; i < d->n_words; i++)
            CHECKF(strcmp(ac__word_key(d, i - 1), ac__word_key(d, i)) < 0, "'%s' before '%s'",
                   ac__word_key(d, i - 1), ac__word_key(d, i));
        ac_dict_free(d);
    }
    /* when only upper-case variants exist, the first in the file is shown */
    static const char upper[] = "#autocorrect-dictionary\t1\nZED\t2\nZed\t1\nNASA\t3\n";
    char err[AC_ERR_SIZE];
    ac_dict *d;
    CHECKF(ac_dict_parse(upper, sizeof upper - 1, &d, err) == AC_OK, "%s", err);
    expect_word(d, "zed", "ZED", 3);
    expect_word(d, "nasa", "NASA", 3);
    ac_dict_free(d);
}

static void search_limits(void)
{
    static const char tsv[] = "#autocorrect-dictionary\t1\na\t1\nab\t1\nabc\t1\nabd\t1\nbcd\t1\nxyz\t1\n";
    char err[AC_ERR_SIZE];
    ac_dict *d;
    CHECKF(ac_dict_parse(tsv, sizeof tsv - 1, &d, err) == AC_OK, "%s", err);
    hits h = {malloc(sizeof(int) * d->n_words), 0, 0, 0, 0, -1, d};
    uint32_t q[AC__WORD_CP_MAX + 2] = {'a', 'b', 'c'};
    search(d, q, 3, 0, &h);
    CHECK(h.calls == 1);
    search(d, q, 3, 1, &h);
    CHECK(h.calls == 3);  /* ab, abc, abd */
    search(d, q, 3, 2, &h);
    CHECK(h.calls == 5);  /* a, bcd too */
    search(d, q, 3, 7, &h);
    CHECK(h.calls == 5);  /* more than 2 edits: taken as 2 */
    search(d, q, 3, -1, &h);
    CHECK(h.calls == 0);
    search(d, q, -1, 2, &h);
    CHECK(h.calls == 0);
    for (int i = 0; i < AC__WORD_CP_MAX + 1; i++)
        q[i] = 'a';
    search(d, q, AC__WORD_CP_MAX + 1, 2, &h);
    CHECK(h.calls == 0);  /* longer than any word the corrector looks at */
    search(d, q, 0, 2, &h);
    CHECK(h.calls == 2);  /* the empty query: a, ab */
    free(h.dist);
    ac_dict_free(d);
    /* a dictionary with no words */
    static const char empty[] = "#autocorrect-dictionary\t1\n# nothing\n";
    CHECKF(ac_dict_parse(empty, sizeof empty - 1, &d, err) == AC_OK, "%s", err);
    CHECK(ac_dict_size(d) == 0 && ac__candidates_find(d, q, 3, 2, hit_fn, NULL) == 0);
    CHECK(ac_dict_lookup(d, "a", 1, NULL) == AC_WORD_UNKNOWN);
    ac_dict_free(d);
}

int main(void)
{
    if (chdir(getenv("AC_TEST_ROOT") ? getenv("AC_TEST_ROOT") : ".") != 0)
        return 1;
    RUN(default_dictionary_memory);
    RUN(memory_counts_user_words);
    RUN(search_limits);
    RUN(case_variants_merge_in_any_order);
    RUN(generated_dictionary_matches_brute_force);
    RUN(default_dictionary_matches_brute_force);
    return CHECK_EXIT_CODE();
}
