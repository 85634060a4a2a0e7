/* corrector_internal.h: what the corrector's files share: the dictionary's layout, UTF-8 and case
 * helpers, the symmetric-delete index, the error model's distance functions and the word splitter.
 * Not a public API (the public one is include/autocorrect/corrector.h).
 */
#ifndef AC_CORRECTOR_INTERNAL_H
#define AC_CORRECTOR_INTERNAL_H

#include "autocorrect/corrector.h"

#include <pthread.h>
#include <stdint.h>

/* Longest word in code points that the index and the edit distances handle. */
#define AC__WORD_CP_MAX AC_WORD_MAX

/* --- UTF-8 and case ---------------------------------------------------------------------------- */

/* Decodes `len` bytes into code points cp[max]; lower-cases them and maps the typographic
 * apostrophe U+2019 to ' when `fold` is set. Returns the number of code points, or -1 for invalid
 * UTF-8 or more than max code points. */
int ac__utf8_decode(const char *s, size_t len, uint32_t *cp, int max, int fold);

/* Encodes n code points into out[cap] (NUL-terminated); returns the byte length or -1 if too long. */
int ac__utf8_encode(const uint32_t *cp, int n, char *out, size_t cap);

/* 1 when all `len` bytes are valid UTF-8 (no overlongs, surrogates or values above U+10FFFF). */
int ac__utf8_valid(const char *s, size_t len);

/* Case shape of a word. */
enum { AC__CASE_LOWER, AC__CASE_TITLE, AC__CASE_UPPER, AC__CASE_MIXED };
int ac__case_shape(const uint32_t *cp, int n);

/* 64-bit hash of a code-point sequence: ac__hash_mix(poly + n) with the polynomial
 * poly = sum over i of (cp[i] + 1) * AC__HASH_BASE^(n-1-i), modulo 2^64. */
#define AC__HASH_BASE 0x9E3779B97F4A7C15ULL
uint64_t ac__hash_cp(const uint32_t *cp, int n);
uint64_t ac__hash_mix(uint64_t h);

/* --- the dictionary ---------------------------------------------------------------------------- */

typedef struct ac__word {
    uint32_t key_off;  /* into dict->keys: the lower-cased code points */
    uint32_t text_off; /* into dict->text: the display form, NUL-terminated UTF-8 */
    uint16_t key_len;  /* code points */
    uint16_t text_len; /* bytes */
    uint64_t count;    /* corpus count */
} ac__word;

/* The symmetric-delete index: every string made by deleting up to 2 code points from a word's key
 * hashes to a bucket (top `bucket_bits` of the hash); the bucket's entries are 32-bit values
 * (hash check bits << id_bits | word id). Queries verify every hit with a real edit distance, so a
 * hash collision costs time, never a wrong answer. */
typedef struct ac__symdel {
    uint32_t *offsets;  /* [n_buckets + 1]: entries of bucket b are entries[offsets[b] .. offsets[b+1]) */
    uint32_t *entries;  /* [n_entries] */
    size_t n_entries;
    int bucket_bits;
    int id_bits;
} ac__symdel;

/* A set of lower-cased words (UTF-8 keys), open addressing; used for the user dictionary. */
typedef struct ac__strset {
    char **slots;       /* [cap], NULL = empty; each a malloc'ed NUL-terminated key */
    size_t cap, n;
} ac__strset;

struct ac_dict {
    ac__word *words;    /* [n_words] */
    size_t n_words;
    uint32_t *keys;     /* [n_keys] code points, all words' keys back to back */
    size_t n_keys;
    char *text;         /* [n_text] bytes, display forms back to back */
    size_t n_text;
    uint32_t *table;    /* [table_cap] word id + 1 (0 = empty), open addressing on the key hash */
    size_t table_cap;
    double log_total;   /* log of (sum of counts + 0.5 * n_words) */
    ac__symdel index;
    pthread_rwlock_t user_lock; /* guards `user` */
    ac__strset user;    /* user words, lower-cased UTF-8 */
    char **user_list;   /* [n_user_list] display forms, in insertion order, for candidates */
    size_t n_user_list;
};

/* Word id of a lower-cased key, or -1. */
long ac__dict_find(const ac_dict *dict, const uint32_t *key, int n);

/* 1 when the lower-cased UTF-8 key is in the user set (takes the read lock). */
int ac__dict_is_user(const ac_dict *dict, const char *key_utf8);

static inline const uint32_t *ac__word_key(const ac_dict *d, size_t id) { return d->keys + d->words[id].key_off; }
static inline const char *ac__word_text(const ac_dict *d, size_t id) { return d->text + d->words[id].text_off; }

/* --- symmetric-delete index -------------------------------------------------------------------- */

int ac__symdel_build(ac__symdel *index, const ac_dict *dict, char *err);
void ac__symdel_free(ac__symdel *index);

/* Calls found(user, word_id, distance) for every dictionary word within max_distance (<= 2) edits
 * of the lower-cased query q[n], each word once. Returns the number of words found, or -1 when a
 * scratch limit was hit (then some words may be missing). */
typedef void (*ac__found_fn)(void *user, uint32_t word_id, int distance);
int ac__symdel_query(const ac_dict *dict, const uint32_t *q, int n, int max_distance, ac__found_fn found, void *user);

/* --- distances --------------------------------------------------------------------------------- */

/* Optimal-string-alignment distance between a[na] and b[nb], or max + 1 when it exceeds max. */
int ac__osa_distance(const uint32_t *a, int na, const uint32_t *b, int nb, int max);

/* log P(typed | intended) under the model (both lower-cased), -INFINITY beyond 2 edits. */
float ac__channel_logp(const ac_error_model *m, const uint32_t *typed, int nt, const uint32_t *intended, int ni);

/* 1 when two lower-case letters are neighbours on a QWERTY keyboard. */
int ac__keys_near(uint32_t a, uint32_t b);

/* --- words in text ----------------------------------------------------------------------------- */

typedef struct ac__span {
    size_t start, end;  /* byte offsets of the word */
    int eligible;       /* 0: never corrected (acronym, mixed case, single letter, too long) */
    int complete;       /* 1 when a non-word character (or, with end_is_boundary, the end) follows */
} ac__span;

/* Splits text into words, skipping whole tokens that are numbers, URLs, e-mails or code. Calls
 * on_word for each word in order; stops early when on_word returns non-zero (and returns that).
 * The text must be valid UTF-8. */
typedef int (*ac__span_fn)(void *user, const ac__span *span);
int ac__words_scan(const char *text, size_t len, int end_is_boundary, ac__span_fn on_word, void *user);

/* 1 when a word starting at byte `at` of text begins a sentence: only spaces and opening quotes
 * or brackets separate it from the start of the text or from . ! ? : or a line break. */
int ac__sentence_start(const char *text, size_t at);

/* --- confusable real words --------------------------------------------------------------------- */

/* For a lower-cased ASCII word, writes up to max words it is commonly confused with (their ->
 * there, they're) into out and returns how many (0 when it is in no set). */
int ac__confusables(const char *word, const char **out, int max);

#endif
