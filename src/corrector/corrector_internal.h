/* corrector_internal.h: what the corrector's files share: the dictionary's layout, UTF-8 and case
 * helpers, the candidate search over the sorted keys, the error model's distance functions and the
 * word splitter.
 * Not a public API (the public one is include/autocorrect/corrector.h).
 */
#ifndef AC_CORRECTOR_INTERNAL_H
#define AC_CORRECTOR_INTERNAL_H

#include "autocorrect/corrector.h"

#include <pthread.h>
#include <stdint.h>

/* Longest word in code points that the dictionary, the candidate search and the edit distances
 * handle. */
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

/* --- the dictionary ---------------------------------------------------------------------------- */

/* Highest edit distance the candidate search handles. */
#define AC__CAND_MAX_DISTANCE 2

/* One dictionary word: 16 bytes. Word ids are positions in key order (bytewise UTF-8 order, which is
 * code-point order), so the words sharing a key prefix are consecutive ids. */
typedef struct ac__word {
    uint32_t key_off;  /* into dict->pool: the lower-cased key, UTF-8, NUL-terminated */
    uint32_t text_off; /* into dict->pool: the display form, NUL-terminated UTF-8 (== key_off when the
                          display form is the key itself, as for most words) */
    uint32_t count;    /* corpus count; case variants summed; clamped to UINT32_MAX (the shipped
                          dictionary's largest is under 1M) */
    uint8_t key_len;   /* bytes of the key (<= 1.5 * AC_WORD_MAX: lower-casing may lengthen a letter) */
    uint8_t key_cps;   /* code points of the key (<= AC__WORD_CP_MAX) */
    uint16_t unused;
} ac__word;

/* The candidate search's index over the words in key order (candidates.c): three bytes per word.
 * lcp[i] is the number of leading code points word i's key shares with word i-1's (lcp[0] = 0);
 * the words that share a prefix of k code points with word i are the run after i with lcp >= k.
 * branch[i] is word i's code point at position lcp[i] (its first one after the shared prefix;
 * there always is one, keys being distinct and sorted) when it is ASCII, else 0x80: enough to
 * rule out most words without reading their keys. sibling[i] = y - i for the first y > i with
 * lcp[y] <= lcp[i] (the end of the words that share lcp[i] + 1 code points with word i), or 255
 * when that is 255 or more words on. block_min[b] = the smallest lcp of words b*AC__LCP_BLOCK ..
 * (b+1)*AC__LCP_BLOCK - 1, so that a long run is skipped a block at a time. */
#define AC__LCP_BLOCK 64
typedef struct ac__lcp_index {
    uint8_t *lcp;       /* [n_words] */
    uint8_t *branch;    /* [n_words] */
    uint8_t *sibling;   /* [n_words] */
    uint8_t *block_min; /* [ceil(n_words / AC__LCP_BLOCK)] */
} ac__lcp_index;

/* A set of lower-cased words (UTF-8 keys), open addressing; used for the user dictionary. */
typedef struct ac__strset {
    char **slots;       /* [cap], NULL = empty; each a malloc'ed NUL-terminated key */
    size_t cap, n;
} ac__strset;

struct ac_dict {
    ac__word *words;    /* [n_words], in key order */
    size_t n_words;
    char *pool;         /* [n_pool] bytes: per word in id order its key, NUL, and (when it differs
                           from the key) its display form, NUL */
    size_t n_pool;
    uint32_t *table;    /* [table_cap] open addressing on the key's hash: 0 = empty, else
                           (hash check bits << id_bits) | (word id + 1) */
    size_t table_cap;
    int id_bits;        /* bits of (word id + 1) in a table entry */
    double log_total;   /* log of (sum of counts + 0.5 * n_words + 1) */
    ac__lcp_index index;
    pthread_rwlock_t user_lock; /* guards `user` */
    ac__strset user;    /* user words, lower-cased UTF-8 */
    char **user_list;   /* [n_user_list] display forms, in insertion order, for candidates */
    size_t n_user_list;
};

/* Word id of a lower-cased key, or -1: as code points cp[n], or as UTF-8 bytes key[len]. */
long ac__dict_find(const ac_dict *dict, const uint32_t *key, int n);
long ac__dict_find_utf8(const ac_dict *dict, const char *key, size_t len);

/* 1 when the lower-cased UTF-8 key is in the user set (takes the read lock). */
int ac__dict_is_user(const ac_dict *dict, const char *key_utf8);

static inline const char *ac__word_key(const ac_dict *d, size_t id) { return d->pool + d->words[id].key_off; }
static inline const char *ac__word_text(const ac_dict *d, size_t id) { return d->pool + d->words[id].text_off; }

/* Decodes word id's key into cp[AC__WORD_CP_MAX]; returns its length in code points. */
int ac__word_key_cp(const ac_dict *dict, size_t id, uint32_t *cp);

/* --- candidate search (candidates.c) ----------------------------------------------------------- */

/* Builds dict->index from the words' keys (in key order). AC_OK or AC_E_NOMEM. */
int ac__lcp_index_build(ac_dict *dict, char *err);
void ac__lcp_index_free(ac__lcp_index *index);

/* Calls found(user, word_id, distance, key, key_len) for every dictionary word whose key is within
 * optimal-string-alignment distance max_distance (0..AC__CAND_MAX_DISTANCE; more is taken as the
 * maximum) of the lower-cased query q[n], each word once, in key order; key[key_len] is the word's
 * key as code points (valid during the call). Returns the number of words found (0 for n outside
 * 0..AC__WORD_CP_MAX or a negative max_distance). Safe to call from many threads at once. */
typedef void (*ac__found_fn)(void *user, uint32_t word_id, int distance, const uint32_t *key, int key_len);
int ac__candidates_find(const ac_dict *dict, const uint32_t *q, int n, int max_distance, ac__found_fn found, void *user);

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
