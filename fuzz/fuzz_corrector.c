/* fuzz_corrector.c: libFuzzer entry for the spelling corrector (src/corrector/) on arbitrary bytes:
 * candidates and corrections of text against a small dictionary, with and without a context
 * scorer, the edit distance and error model, and the dictionary and user-dictionary parsers.
 *
 * The first input byte picks what to do with the rest:
 *   0: ac_correct_text, every word (bit 7: with a fake context scorer that fails now and then)
 *   1: ac_correct_text, the last (byte 1 % 8 + 1) complete words, and ac_correct_last_word
 *   2: ac_correct_word on LEFT \0 WORD \0 RIGHT
 *   3: ac_edit_distance and ac_error_model_score on A \0 B (both orders)
 *   4: ac_dict_parse on the rest (a dictionary file); if it loads, correct a probe text with it and
 *      check its layout and candidate search (below)
 *   5: ac_dict_user_load on the rest written to a file (a user dictionary)
 * Checks (abort on failure): invalid UTF-8 is refused with AC_E_FORMAT; corrections come in text
 * order, inside the text, not overlapping, with original == the text's bytes, 1..8 candidates,
 * replacement == the first candidate, scores <= 0; ac_correct_apply accepts them and the result
 * is valid UTF-8; distances are symmetric, -1 only for invalid input, 0 for a word with itself; a
 * parsed dictionary has its words in strictly increasing key order, each found by its own key, and
 * its candidate search (src/corrector/candidates.c) returns for probe queries exactly the words a
 * brute-force edit distance over the whole dictionary finds within 0, 1 and 2 edits, each once.
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=corrector make fuzz); replayed without libFuzzer by
 * $BUILD/tests/fuzz/test_fuzz_regress_corrector in `make test`.
 */
#include "autocorrect/corrector.h"
#include "corrector/corrector_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_corrector: check failed: %s (%s:%d)\n", #cond, \
    __FILE__, __LINE__); abort(); } } while (0)

#define MAX_FIXES 32

static const char dictionary[] =
    "#autocorrect-dictionary\t1\n"
    "# fuzz words\n"
    "the\t5000\nThe\t100\nin\t2000\ncat\t300\ncar\t300\nsat\t200\non\t3000\nmat\t50\nhouse\t400\n"
    "letter\t200\nreceive\t100\nseparate\t80\nfrom\t900\nform\t150\nstore\t120\nwent\t300\nI\t4000\n"
    "English\t90\nword\t500\nwords\t200\ncaf\xc3\xa9\t5\nna\xc3\xafve\t5\nthere\t700\ntheir\t600\nhello\t50\n"
    "world\t60\ndon't\t70\ndog\t90\nquick\t40\nbrown\t60\nfox\t30\njumps\t20\nover\t900\nlazy\t15\n"
    "stra\xc3\x9f" "e\t3\n\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1\t2\nthen\t300\nthan\t250\n";

static ac_dict *fuzz_dict;
static int fuzz_text_valid; /* the text was checked (ac_correct_text): what the scorer sees must be UTF-8 */

/* A strict UTF-8 check of our own, to hold the corrector to its contract. */
static int utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A context scorer that depends only on its arguments: shorter options and options sharing letters
 * with the left context score higher; it fails when the left context ends in 'q'. */
static int fake_score(void *user, const char *left, size_t left_len, const char *right, size_t right_len,
                      const char *const *options, int n_options, float *logp, char *err)
{
    (void)user;
    FUZZ_CHECK(n_options >= 1 && options && logp);
    if (fuzz_text_valid) /* ac_correct_word passes its caller's context on unchecked */
        FUZZ_CHECK(utf8_ok((const uint8_t *)left, left_len) && utf8_ok((const uint8_t *)right, right_len));
    if (left_len && left[left_len - 1] == 'q')
        return ac__errorf(err, AC_E_IO, "fake scorer failure");
    for (int i = 0; i < n_options; i++) {
        size_t n = strlen(options[i]);
        FUZZ_CHECK(utf8_ok((const uint8_t *)options[i], n));
        float s = -1.0f - 0.5f * (float)n;
        if (left_len && memchr(options[i], left[left_len - 1], n))
            s += 0.75f;
        logp[i] = s;
    }
    return AC_OK;
}

static void check_candidates(const ac_candidate *c, int n)
{
    FUZZ_CHECK(n >= 0 && n <= AC_CORRECT_MAX_CANDIDATES);
    for (int i = 0; i < n; i++) {
        size_t len = strnlen(c[i].text, sizeof c[i].text);
        FUZZ_CHECK(len > 0 && len < sizeof c[i].text);
        FUZZ_CHECK(utf8_ok((const uint8_t *)c[i].text, len));
        FUZZ_CHECK(c[i].score <= 1e-4f && !isnan(c[i].score));
        FUZZ_CHECK(c[i].distance >= 0 && c[i].distance <= 2);
    }
}

static void check_fixes(const uint8_t *text, size_t len, const ac_correction *fix, int n)
{
    FUZZ_CHECK(n >= 0 && n <= MAX_FIXES);
    size_t last_end = 0;
    for (int i = 0; i < n; i++) {
        const ac_correction *c = &fix[i];
        FUZZ_CHECK(c->start >= last_end && c->start < c->end && c->end <= len);
        FUZZ_CHECK(c->end - c->start < sizeof c->original);
        FUZZ_CHECK(strlen(c->original) == c->end - c->start && !memcmp(c->original, text + c->start, c->end - c->start));
        FUZZ_CHECK(c->n_candidates >= 1);
        check_candidates(c->candidates, c->n_candidates);
        FUZZ_CHECK(!strcmp(c->replacement, c->candidates[0].text) && c->score == c->candidates[0].score);
        last_end = c->end;
    }
    ac_buf out = {0};
    FUZZ_CHECK(ac_correct_apply((const char *)text, len, fix, n, &out) == AC_OK);
    FUZZ_CHECK(utf8_ok((const uint8_t *)(out.data ? out.data : ""), out.len));
    ac_buf_free(&out);
}

static void correct_text(const ac_dict *dict, const uint8_t *text, size_t len, ac_correct_params *p)
{
    static ac_correction fix[MAX_FIXES];
    int n = -1;
    char err[AC_ERR_SIZE];
    fuzz_text_valid = 1;
    int rc = ac_correct_text(dict, (const char *)text, len, p, fix, MAX_FIXES, &n, err);
    fuzz_text_valid = 0;
    if (!utf8_ok(text, len)) {
        FUZZ_CHECK(rc == AC_E_FORMAT && n == 0);
        return;
    }
    FUZZ_CHECK(rc == AC_OK);
    check_fixes(text, len, fix, n);
}

/* --- the dictionary's layout and candidate search, against brute force -------------------------- */

typedef struct search_hits {
    const ac_dict *d;
    int *dist;  /* [n_words], -1 = not reported */
} search_hits;

static void search_found(void *user, uint32_t id, int distance, const uint32_t *key, int key_len)
{
    search_hits *h = user;
    FUZZ_CHECK(id < h->d->n_words && h->dist[id] < 0 && distance >= 0);
    h->dist[id] = distance;
    uint32_t cp[AC__WORD_CP_MAX];
    int n = ac__word_key_cp(h->d, id, cp);
    FUZZ_CHECK(n == key_len && !memcmp(cp, key, sizeof *cp * (size_t)n));
}

static void check_search(const ac_dict *d, const uint32_t *q, int n, int *dist)
{
    search_hits h = {d, dist};
    for (int max = 0; max <= 2; max++) {
        for (size_t i = 0; i < d->n_words; i++)
            dist[i] = -1;
        int found = ac__candidates_find(d, q, n, max, search_found, &h);
        int expected = 0;
        for (size_t i = 0; i < d->n_words; i++) {
            uint32_t key[AC__WORD_CP_MAX];
            int len = ac__word_key_cp(d, i, key);
            int od = ac__osa_distance(q, n, key, len, max);
            FUZZ_CHECK((od <= max ? od : -1) == dist[i]);
            expected += od <= max;
        }
        FUZZ_CHECK(found == expected);
    }
}

static void check_dictionary(const ac_dict *d, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(ac_dict_memory_bytes(d) >= d->n_words * sizeof(ac__word));
    for (size_t i = 0; i < d->n_words; i++) {
        const ac__word *w = &d->words[i];
        FUZZ_CHECK(w->key_len > 0 && strlen(ac__word_key(d, i)) == w->key_len);
        FUZZ_CHECK(ac__dict_find_utf8(d, ac__word_key(d, i), w->key_len) == (long)i);
        if (i > 0)
            FUZZ_CHECK(strcmp(ac__word_key(d, i - 1), ac__word_key(d, i)) < 0);
    }
    int *dist = malloc(sizeof *dist * (d->n_words + 1));
    FUZZ_CHECK(dist);
    static const char *const probes[] = {"", "teh", "brwn", "caf\xc3\xa9", "\xce\xba\xce\xb1\xce\xbb"};
    uint32_t q[AC__WORD_CP_MAX];
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
        int n = ac__utf8_decode(probes[p], strlen(probes[p]), q, AC__WORD_CP_MAX, 1);
        check_search(d, q, n, dist);
    }
    /* the first words, with an edit each, and the input's first bytes when they are a word */
    for (size_t i = 0; i < d->n_words && i < 3; i++) {
        int n = ac__word_key_cp(d, i, q);
        check_search(d, q, n, dist);
        if (n > 1) {
            uint32_t t = q[0];
            q[0] = q[1];
            q[1] = t;
            check_search(d, q, n, dist);
            check_search(d, q + 1, n - 1, dist);
        }
    }
    int n = ac__utf8_decode((const char *)data, size < 12 ? size : 12, q, AC__WORD_CP_MAX, 1);
    if (n >= 0)
        check_search(d, q, n, dist);
    free(dist);
}

/* Splits data at NUL bytes into up to `max` parts. */
static int split(const uint8_t *data, size_t size, const uint8_t **part, size_t *plen, int max)
{
    int k = 0;
    size_t start = 0;
    while (k < max - 1) {
        const uint8_t *z = memchr(data + start, 0, size - start);
        if (!z)
            break;
        part[k] = data + start;
        plen[k++] = (size_t)(z - (data + start));
        start = (size_t)(z - data) + 1;
    }
    part[k] = data + start;
    plen[k++] = size - start;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[AC_ERR_SIZE];
    if (!fuzz_dict && ac_dict_parse(dictionary, sizeof dictionary - 1, &fuzz_dict, err) != AC_OK) {
        fprintf(stderr, "fuzz_corrector: %s\n", err);
        abort();
    }
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    ac_correct_params p = ac_correct_default_params();
    switch (mode & 0x7F) {
    case 0:
        if (mode & 0x80) {
            p.scorer.score = fake_score;
            p.lm_skip_posterior = 1.0f;
        }
        correct_text(fuzz_dict, data, size, &p);
        break;
    case 1: {
        if (size == 0)
            break;
        p.scope = AC_CORRECT_LAST;
        p.last_words = data[0] % 8 + 1;
        if (mode & 0x80)
            p.scorer.score = fake_score;
        correct_text(fuzz_dict, data + 1, size - 1, &p);
        ac_correction fix;
        fuzz_text_valid = 1;
        int rc = ac_correct_last_word(fuzz_dict, (const char *)data + 1, size - 1, &p, 0.5f, &fix, err);
        fuzz_text_valid = 0;
        FUZZ_CHECK(rc == 0 || rc == 1 || rc < 0);
        if (rc == 1) {
            check_fixes(data + 1, size - 1, &fix, 1);
            FUZZ_CHECK(expf(fix.score) >= 0.5f - 1e-4f);
        }
        if (!utf8_ok(data + 1, size - 1))
            FUZZ_CHECK(rc < 0);
        break;
    }
    case 2: {
        const uint8_t *part[3];
        size_t plen[3];
        int k = split(data, size, part, plen, 3);
        if (k < 3)
            break;
        ac_candidate cand[AC_CORRECT_MAX_CANDIDATES];
        if (mode & 0x80)
            p.scorer.score = fake_score;
        int n = ac_correct_word(fuzz_dict, (const char *)part[0], plen[0], (const char *)part[1], plen[1],
                                (const char *)part[2], plen[2], &p, cand, AC_CORRECT_MAX_CANDIDATES, err);
        if (n >= 0)
            check_candidates(cand, n);
        break;
    }
    case 3: {
        const uint8_t *part[2];
        size_t plen[2];
        if (split(data, size, part, plen, 2) < 2)
            break;
        const char *a = (const char *)part[0], *b = (const char *)part[1];
        int d1 = ac_edit_distance(a, plen[0], b, plen[1]), d2 = ac_edit_distance(b, plen[1], a, plen[0]);
        FUZZ_CHECK(d1 == d2 && d1 >= -1);
        int valid = utf8_ok(part[0], plen[0]) && utf8_ok(part[1], plen[1]) && plen[0] <= AC_WORD_MAX &&
                    plen[1] <= AC_WORD_MAX;
        if (valid)
            FUZZ_CHECK(d1 >= 0);
        if (utf8_ok(part[0], plen[0]) && plen[0] <= AC_WORD_MAX)
            FUZZ_CHECK(ac_edit_distance(a, plen[0], a, plen[0]) == 0);
        ac_error_model em = ac_error_model_default();
        float s = ac_error_model_score(&em, a, plen[0], b, plen[1]);
        FUZZ_CHECK(!isnan(s) && s <= 1e-4f);
        if (s != -INFINITY)
            FUZZ_CHECK(d1 >= 0 && d1 <= 2);
        break;
    }
    case 4: {
        ac_dict *d = NULL;
        int rc = ac_dict_parse((const char *)data, size, &d, err);
        FUZZ_CHECK((rc == AC_OK) == (d != NULL));
        if (rc != AC_OK) {
            FUZZ_CHECK(memchr(err, 0, sizeof err) && err[0]);
            break;
        }
        static const char probe[] = "Teh quick brwn fox jumsp ovr the lazzy dgo, caf\xc3\xa9 na\xc3\xafv";
        correct_text(d, (const uint8_t *)probe, sizeof probe - 1, &p);
        check_dictionary(d, data, size);
        size_t n = size < 24 ? size : 24;
        ac_dict_lookup(d, (const char *)data, n, NULL);
        ac_dict_free(d);
        break;
    }
    case 5: {
        static char path[64];
        if (!path[0]) {
            snprintf(path, sizeof path, "/tmp/ac_fuzz_userdict_%d.txt", (int)getpid());
        }
        FILE *f = fopen(path, "wb");
        FUZZ_CHECK(f);
        fwrite(data, 1, size, f);
        fclose(f);
        ac_dict *d = NULL;
        FUZZ_CHECK(ac_dict_parse(dictionary, sizeof dictionary - 1, &d, err) == AC_OK);
        int rc = ac_dict_user_load(d, path, err);
        unlink(path);
        FUZZ_CHECK(rc == AC_OK || rc < 0);
        static const char probe[] = "Teh quick brwn fox";
        correct_text(d, (const uint8_t *)probe, sizeof probe - 1, &p);
        ac_dict_free(d);
        break;
    }
    default:
        break;
    }
    return 0;
}
