/* dict.c: the dictionary: loading dictionary.tsv into a compact layout (words in key order, keys
 * and display forms in one byte pool, a hash table for lookups), case-insensitive lookup, and the
 * user's dictionary (loading it and adding words to it atomically). The candidate search over the
 * sorted words is candidates.c; ranking lives in correct.c.
 *
 * Memory for the shipped dictionary (134,192 words, ac_dict_memory_bytes 5.0 MB): word records
 * 2.1 MB (16 bytes each), the pool 1.4 MB (UTF-8 keys with their NULs; the display form is stored
 * again only where it is not the key, 12% of words), the hash table 1.0 MB (4-byte slots, load
 * factor <= 0.75 rounded up to a power of two), the candidate index 0.4 MB (3 bytes per word).
 */
#include "corrector/corrector_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

#define DICT_MAX_BYTES ((size_t)256 << 20)
#define USER_MAX_BYTES ((size_t)16 << 20)
static const char format_line[] = "#autocorrect-dictionary\t";

/* --- string set (user words) ------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static int strset_has(const ac__strset *s, const char *key)
{
    if (!s->cap)
        return 0;
    size_t h = (size_t)hash_bytes(key) & (s->cap - 1);
    while (s->slots[h]) {
        if (!strcmp(s->slots[h], key))
            return 1;
        h = (h + 1) & (s->cap - 1);
    }
    return 0;
}

/* Adds a copy of key; 1 added, 0 present, AC_E_NOMEM. */
static int strset_add(ac__strset *s, const char *key)
{
    if (strset_has(s, key))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return AC_E_NOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t h = (size_t)hash_bytes(s->slots[i]) & (cap - 1);
            while (slots[h])
                h = (h + 1) & (cap - 1);
            slots[h] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return AC_E_NOMEM;
    size_t h = (size_t)hash_bytes(key) & (s->cap - 1);
    while (s->slots[h])
        h = (h + 1) & (s->cap - 1);
    s->slots[h] = copy;
    s->n++;
    return 1;
}

static void strset_free(ac__strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* --- lookup ------------------------------------------------------------------------------------ */

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    /* FNV's low bits are weak: mix, since the table takes its slot from them */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

long ac__dict_find_utf8(const ac_dict *d, const char *key, size_t len)
{
    if (!d->table_cap)
        return -1;
    uint64_t h = hash_key(key, len);
    uint32_t id_mask = (1u << d->id_bits) - 1, check = (uint32_t)(h >> (32 + d->id_bits));
    for (size_t at = (size_t)h & (d->table_cap - 1);; at = (at + 1) & (d->table_cap - 1)) {
        uint32_t v = d->table[at];
        if (!v)
            return -1;
        if (v >> d->id_bits != check)
            continue;
        const ac__word *w = &d->words[(v & id_mask) - 1];
        if (w->key_len == len && !memcmp(d->pool + w->key_off, key, len))
            return (long)((v & id_mask) - 1);
    }
}

long ac__dict_find(const ac_dict *d, const uint32_t *key, int n)
{
    char buf[AC__WORD_CP_MAX * 4 + 1];
    if (n < 0 || n > AC__WORD_CP_MAX)
        return -1;
    int len = ac__utf8_encode(key, n, buf, sizeof buf);
    return len < 0 ? -1 : ac__dict_find_utf8(d, buf, (size_t)len);
}

int ac__word_key_cp(const ac_dict *d, size_t id, uint32_t *cp)
{
    return ac__utf8_decode(ac__word_key(d, id), d->words[id].key_len, cp, AC__WORD_CP_MAX, 0);
}

/* --- loading ----------------------------------------------------------------------------------- */

static int is_word_cp(uint32_t c)
{
    if (c == '\'' || c == '-')
        return 1;
    if (c < 0x80)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO || k == UTF8PROC_CATEGORY_MN ||
           k == UTF8PROC_CATEGORY_MC;
}

/* One word line of the file while loading (a temporary: freed when the dictionary is built). */
typedef struct entry {
    uint32_t text_pos;  /* the word as written: data[text_pos .. text_pos + text_len) */
    uint32_t key_pos;   /* its lower-cased key: in data (== text_pos) when it is the same bytes,
                           else in the scratch key buffer */
    uint64_t count;
    uint8_t text_len, key_len, key_cps;
    uint8_t key_in_data;
    uint8_t lower;      /* written in lower case: preferred as the display form of case variants */
} entry;

typedef struct loader {
    const char *data;   /* the file */
    const char *keys;   /* the scratch key buffer */
    entry *e;           /* [n_entries], in line order */
} loader;

static inline const char *entry_key(const loader *L, uint32_t i)
{
    const entry *e = &L->e[i];
    return (e->key_in_data ? L->data : L->keys) + e->key_pos;
}

/* <0, 0, >0 as entry a's key sorts before, with, after entry b's (bytewise: code-point order). */
static inline int key_cmp(const loader *L, uint32_t a, uint32_t b)
{
    const entry *x = &L->e[a], *y = &L->e[b];
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(entry_key(L, a), entry_key(L, b), n);
    return c ? c : (int)x->key_len - (int)y->key_len;
}

/* Stable merge sort of the entry indices v[n] by key; tmp holds n / 2 + 1. Already ordered halves
 * cost one comparison. */
static void sort_by_key(const loader *L, uint32_t *v, size_t n, uint32_t *tmp)
{
    if (n < 12) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j > 0 && key_cmp(L, v[j - 1], x) > 0; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_by_key(L, v, h, tmp);
    sort_by_key(L, v + h, n - h, tmp);
    if (key_cmp(L, v[h - 1], v[h]) <= 0)
        return;
    memcpy(tmp, v, sizeof *v * h);
    size_t a = 0, b = h, o = 0;
    while (a < h && b < n)
        v[o++] = key_cmp(L, v[b], tmp[a]) < 0 ? v[b++] : tmp[a++];
    while (a < h)
        v[o++] = tmp[a++];
}

/* Writes the entry indices in key order, ties in line order, into order[n]. A file sorted the way
 * `make dictionary` writes it (C order of the words) has its lower-case words in key order
 * already: those are kept as one run and only the others are sorted, then merged in; any other
 * file is simply sorted whole. scratch holds n + n / 2 + 1. */
static void order_by_key(const loader *L, size_t n, uint32_t *order, uint32_t *scratch)
{
    uint32_t *run = scratch, *rest = order, *tmp = scratch + n;
    size_t n_run = 0, n_rest = 0;
    int sorted = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (L->e[i].key_in_data && sorted) {
            if (n_run && key_cmp(L, run[n_run - 1], i) > 0)
                sorted = 0;
            run[n_run++] = i;
        } else {
            rest[n_rest++] = i;
        }
    }
    if (!sorted) {
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        sort_by_key(L, order, n, tmp);
        return;
    }
    sort_by_key(L, rest, n_rest, tmp);
    /* merge run[] and rest[] into order[] from the back: rest[] lives at the front of order[] */
    size_t a = n_run, b = n_rest, o = n;
    while (a > 0 && b > 0) {
        int c = key_cmp(L, run[a - 1], rest[b - 1]);
        if (c > 0 || (c == 0 && run[a - 1] > rest[b - 1]))
            order[--o] = run[--a];
        else
            order[--o] = rest[--b];
    }
    while (a > 0)
        order[--o] = run[--a];
}

/* The parsed lines to the dictionary's layout: case variants merged (counts summed; the display
 * form is the first variant's, replaced by any later one written in lower case), words in key
 * order, keys and display forms in one pool, the lookup table, the candidate index. */
static int build(ac_dict *d, const loader *L, const uint32_t *order, size_t n, char *err)
{
    /* pass 1: sizes */
    size_t n_words = 0, n_pool = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        uint32_t shown = order[a];
        for (; b < n && key_cmp(L, order[a], order[b]) == 0; b++)
            if (L->e[order[b]].lower)
                shown = order[b];
        const entry *k = &L->e[order[a]], *s = &L->e[shown];
        n_pool += k->key_len + 1u;
        if (s->text_len != k->key_len || memcmp(L->data + s->text_pos, entry_key(L, order[a]), k->key_len))
            n_pool += s->text_len + 1u;
        n_words++;
        a = b;
    }
    int id_bits = 1;
    while (id_bits < 31 && ((size_t)1 << id_bits) <= n_words)
        id_bits++;
    if (id_bits > 24 || n_pool > UINT32_MAX)
        return ac__errorf(err, AC_E_LIMIT, "dictionary too large (%zu words, max 16M)", n_words);
    size_t cap = 16;
    while (cap * 3 < n_words * 4)  /* load factor <= 0.75 */
        cap *= 2;
    d->words = malloc(sizeof *d->words * (n_words ? n_words : 1));
    d->pool = malloc(n_pool ? n_pool : 1);
    d->table = calloc(cap, sizeof *d->table);
    if (!d->words || !d->pool || !d->table)
        return ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
    d->table_cap = cap;
    d->id_bits = id_bits;

    /* pass 2: fill */
    size_t id = 0, pos = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        uint32_t shown = order[a];
        uint64_t count = L->e[order[a]].count;
        for (; b < n && key_cmp(L, order[a], order[b]) == 0; b++) {
            if (L->e[order[b]].lower)
                shown = order[b];
            uint64_t c = L->e[order[b]].count;
            count = count > UINT64_MAX - c ? UINT64_MAX : count + c;
        }
        const entry *k = &L->e[order[a]], *s = &L->e[shown];
        const char *key = entry_key(L, order[a]);
        ac__word *w = &d->words[id];
        w->key_off = (uint32_t)pos;
        w->key_len = k->key_len;
        w->key_cps = k->key_cps;
        w->unused = 0;
        w->count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
        memcpy(d->pool + pos, key, k->key_len);
        d->pool[pos + k->key_len] = 0;
        pos += k->key_len + 1u;
        if (s->text_len != k->key_len || memcmp(L->data + s->text_pos, key, k->key_len)) {
            w->text_off = (uint32_t)pos;
            memcpy(d->pool + pos, L->data + s->text_pos, s->text_len);
            d->pool[pos + s->text_len] = 0;
            pos += s->text_len + 1u;
        } else {
            w->text_off = w->key_off;
        }
        uint64_t h = hash_key(key, k->key_len);
        size_t at = (size_t)h & (cap - 1);
        while (d->table[at])
            at = (at + 1) & (cap - 1);
        d->table[at] = (uint32_t)(h >> (32 + id_bits)) << id_bits | (uint32_t)(id + 1);
        id++;
        a = b;
    }
    d->n_words = n_words;
    d->n_pool = n_pool;
    return ac__lcp_index_build(d, err);
}

int ac_dict_parse(const char *data, size_t len, ac_dict **out, char *err)
{
    *out = NULL;
    size_t first_end = 0;
    while (first_end < len && data[first_end] != '\n')
        first_end++;
    if (len < sizeof format_line - 1 || memcmp(data, format_line, sizeof format_line - 1))
        return ac__errorf(err, AC_E_FORMAT, "not an autocorrect dictionary (the first line must be "
                          "'#autocorrect-dictionary<TAB>%d')", AC_DICT_FORMAT_VERSION);
    /* the version's digits, inside the first line: data need not be NUL-terminated (strtol would read
     * past its end, and over the newline into the next line) */
    long version = -1;
    for (size_t i = sizeof format_line - 1; i < first_end && data[i] >= '0' && data[i] <= '9' && version < 100000; i++)
        version = (version < 0 ? 0 : version * 10) + (data[i] - '0');
    if (version != AC_DICT_FORMAT_VERSION)
        return ac__errorf(err, AC_E_UNSUPPORTED, "dictionary format version %ld, expected %d", version,
                          AC_DICT_FORMAT_VERSION);
    if (len > UINT32_MAX)
        return ac__errorf(err, AC_E_LIMIT, "dictionary file too large (%zu bytes)", len);

    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++)
        n_lines += data[i] == '\n';
    ac_dict *d = calloc(1, sizeof *d);
    if (!d)
        return ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
    pthread_rwlock_init(&d->user_lock, NULL);
    loader L = {data, NULL, malloc(sizeof(entry) * n_lines)};
    ac_buf keys = {0};  /* keys that differ from the word as written */
    uint32_t *order = NULL, *scratch = NULL;
    int rc = AC_OK;
    if (!L.e) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
        goto done;
    }

    double total = 0;
    size_t n = 0, line_no = 1, pos = first_end < len ? first_end + 1 : len;
    while (pos < len) {
        line_no++;
        size_t end = pos;
        while (end < len && data[end] != '\n')
            end++;
        size_t line_len = end - pos;
        const char *line = data + pos;
        pos = end < len ? end + 1 : len;
        if (line_len && line[line_len - 1] == '\r')
            line_len--;
        if (!line_len || line[0] == '#')
            continue;
        const char *tab = memchr(line, '\t', line_len);
        if (!tab || tab == line) {
            rc = ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: expected word<TAB>count", line_no);
            goto done;
        }
        size_t wlen = (size_t)(tab - line);
        uint64_t count = 0;
        const char *c = tab + 1, *line_end = line + line_len;
        if (c == line_end) {
            rc = ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: missing count", line_no);
            goto done;
        }
        for (; c < line_end; c++) {
            if (*c < '0' || *c > '9' || count > (UINT64_MAX - 9) / 10) {
                rc = ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: bad count", line_no);
                goto done;
            }
            count = count * 10 + (uint64_t)(*c - '0');
        }
        uint32_t cp[AC__WORD_CP_MAX];
        if (!ac__utf8_valid(line, wlen)) {
            rc = ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: invalid UTF-8", line_no);
            goto done;
        }
        if (wlen > AC_WORD_MAX)
            continue;  /* longer words are never looked at */
        int cps = ac__utf8_decode(line, wlen, cp, AC__WORD_CP_MAX, 0);
        int ok = cps > 0;
        for (int i = 0; i < cps && ok; i++)
            ok = is_word_cp(cp[i]);
        if (!ok) {
            rc = ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: not a word", line_no);
            goto done;
        }
        int shape = ac__case_shape(cp, cps);
        cps = ac__utf8_decode(line, wlen, cp, AC__WORD_CP_MAX, 1);
        char key[AC__WORD_CP_MAX * 4 + 1];
        int key_len = ac__utf8_encode(cp, cps, key, sizeof key);
        if (key_len < 0 || key_len > UINT8_MAX)
            continue;  /* cannot happen: a lower-cased letter is at most 1.5 times as long */
        total += (double)count;
        entry *e = &L.e[n++];
        e->text_pos = (uint32_t)(line - data);
        e->text_len = (uint8_t)wlen;
        e->key_len = (uint8_t)key_len;
        e->key_cps = (uint8_t)cps;
        e->count = count;
        e->lower = shape == AC__CASE_LOWER;
        e->key_in_data = (size_t)key_len == wlen && !memcmp(key, line, wlen);
        if (e->key_in_data) {
            e->key_pos = e->text_pos;
        } else {
            if (keys.len + (size_t)key_len > UINT32_MAX) {
                rc = ac__errorf(err, AC_E_LIMIT, "dictionary too large");
                goto done;
            }
            e->key_pos = (uint32_t)keys.len;
            if (ac_buf_append(&keys, key, (size_t)key_len)) {
                rc = ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
                goto done;
            }
        }
    }
    L.keys = keys.data;
    order = malloc(sizeof *order * (n ? n : 1));
    scratch = malloc(sizeof *scratch * (n + n / 2 + 1));
    if (!order || !scratch) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
        goto done;
    }
    order_by_key(&L, n, order, scratch);
    free(scratch);
    scratch = NULL;
    rc = build(d, &L, order, n, err);
    d->log_total = log(total + 0.5 * (double)d->n_words + 1.0);
done:
    free(order);
    free(scratch);
    ac_buf_free(&keys);
    free(L.e);
    if (rc) {
        ac_dict_free(d);
        return rc;
    }
    *out = d;
    return AC_OK;
}

int ac_dict_load(const char *path, ac_dict **out, char *err)
{
    char *data;
    size_t len;
    *out = NULL;
    int rc = ac_file_read(path, DICT_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    char inner[AC_ERR_SIZE];
    rc = ac_dict_parse(data, len, out, inner);
    free(data);
    if (rc)
        return ac__errorf(err, rc, "%s: %s", path, inner);
    return AC_OK;
}

void ac_dict_free(ac_dict *d)
{
    if (!d)
        return;
    ac__lcp_index_free(&d->index);
    free(d->words);
    free(d->pool);
    free(d->table);
    strset_free(&d->user);
    for (size_t i = 0; i < d->n_user_list; i++)
        free(d->user_list[i]);
    free(d->user_list);
    pthread_rwlock_destroy(&d->user_lock);
    free(d);
}

size_t ac_dict_size(const ac_dict *d) { return d ? d->n_words : 0; }

size_t ac_dict_memory_bytes(const ac_dict *d)
{
    if (!d)
        return 0;
    size_t n = sizeof *d + sizeof *d->words * d->n_words + d->n_pool + sizeof *d->table * d->table_cap +
               3 * d->n_words + (d->n_words + AC__LCP_BLOCK - 1) / AC__LCP_BLOCK;
    ac_dict *md = (ac_dict *)d;  /* the lock is the one mutable part */
    pthread_rwlock_rdlock(&md->user_lock);
    n += sizeof *d->user.slots * d->user.cap + sizeof *d->user_list * d->n_user_list;
    for (size_t i = 0; i < d->user.cap; i++)
        if (d->user.slots[i])
            n += strlen(d->user.slots[i]) + 1;
    for (size_t i = 0; i < d->n_user_list; i++)
        n += strlen(d->user_list[i]) + 1;
    pthread_rwlock_unlock(&md->user_lock);
    return n;
}

int ac__dict_is_user(const ac_dict *d, const char *key)
{
    ac_dict *md = (ac_dict *)d;  /* the lock is the one mutable part */
    pthread_rwlock_rdlock(&md->user_lock);
    int r = strset_has(&d->user, key);
    pthread_rwlock_unlock(&md->user_lock);
    return r;
}

int ac_dict_lookup(const ac_dict *d, const char *word, size_t len, uint64_t *count)
{
    uint32_t cp[AC__WORD_CP_MAX];
    char key[AC_WORD_MAX * 2 + 8];
    if (count)
        *count = 0;
    if (!d || len > AC_WORD_MAX)
        return AC_WORD_UNKNOWN;
    int n = ac__utf8_decode(word, len, cp, AC__WORD_CP_MAX, 1);
    if (n <= 0 || ac__utf8_encode(cp, n, key, sizeof key) < 0)
        return AC_WORD_UNKNOWN;
    if (ac__dict_is_user(d, key))
        return AC_WORD_USER;
    long id = ac__dict_find(d, cp, n);
    if (id < 0 && n > 2 && cp[n - 2] == '\'' && cp[n - 1] == 's')
        id = ac__dict_find(d, cp, n - 2);
    if (id < 0)
        return AC_WORD_UNKNOWN;
    if (count)
        *count = d->words[id].count;
    return AC_WORD_KNOWN;
}

/* --- the user dictionary ----------------------------------------------------------------------- */

int ac_dict_user_path(char *out, size_t n, char *err)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    int k;
    if (xdg && xdg[0] == '/') {
        k = snprintf(out, n, "%s/autocorrect/user-dictionary.txt", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || !home[0])
            return ac__errorf(err, AC_E_ARG, "neither XDG_DATA_HOME nor HOME is set: no user dictionary path");
        k = snprintf(out, n, "%s/.local/share/autocorrect/user-dictionary.txt", home);
    }
    if (k < 0 || (size_t)k >= n)
        return ac__errorf(err, AC_E_LIMIT, "user dictionary path too long");
    return AC_OK;
}

/* Checks that word[len] is a single word: letters, with apostrophes or hyphens only inside.
 * Writes its lower-cased form into key[cap]. */
static int user_word_key(const char *word, size_t len, char *key, size_t cap)
{
    uint32_t cp[AC__WORD_CP_MAX];
    if (len == 0 || len > AC_WORD_MAX)
        return 0;
    int n = ac__utf8_decode(word, len, cp, AC__WORD_CP_MAX, 0);
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (!is_word_cp(cp[i]) && cp[i] != 0x2019)
            return 0;
        if ((cp[i] == '\'' || cp[i] == '-' || cp[i] == 0x2019) && (i == 0 || i == n - 1))
            return 0;
    }
    n = ac__utf8_decode(word, len, cp, AC__WORD_CP_MAX, 1);
    return ac__utf8_encode(cp, n, key, cap) >= 0;
}

/* Adds one user word to the in-memory dictionary; the caller holds the write lock. */
static int add_user_locked(ac_dict *d, const char *word, size_t len, const char *key)
{
    int r = strset_add(&d->user, key);
    if (r <= 0)
        return r;
    char **list = realloc(d->user_list, sizeof *list * (d->n_user_list + 1));
    if (!list)
        return AC_E_NOMEM;
    d->user_list = list;
    char *copy = strndup(word, len);
    if (!copy)
        return AC_E_NOMEM;
    d->user_list[d->n_user_list++] = copy;
    return 1;
}

/* Calls fn for each word line of a user dictionary text. */
static int user_lines(const char *data, size_t len, int (*fn)(void *, const char *, size_t), void *user)
{
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && data[end] != '\n')
            end++;
        size_t a = pos, b = end;
        pos = end + 1;
        while (a < b && (data[a] == ' ' || data[a] == '\t'))
            a++;
        while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\r'))
            b--;
        if (a == b || data[a] == '#')
            continue;
        int r = fn(user, data + a, b - a);
        if (r)
            return r;
    }
    return 0;
}

static int load_one(void *user, const char *w, size_t n)
{
    ac_dict *d = user;
    char key[AC_WORD_MAX * 2 + 8];
    if (!user_word_key(w, n, key, sizeof key))
        return 0;  /* not a word: skipped */
    int r = add_user_locked(d, w, n, key);
    return r < 0 ? r : 0;
}

int ac_dict_user_load(ac_dict *d, const char *path, char *err)
{
    char def[4096];
    if (!path) {
        int rc = ac_dict_user_path(def, sizeof def, err);
        if (rc)
            return rc;
        path = def;
    }
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return AC_OK;
    char *data;
    size_t len;
    int rc = ac_file_read(path, USER_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&d->user_lock);
    rc = user_lines(data, len, load_one, d);
    pthread_rwlock_unlock(&d->user_lock);
    free(data);
    if (rc)
        return ac__errorf(err, rc, "out of memory reading %s", path);
    return AC_OK;
}

/* mkdir -p for the directory part of path, new directories 0700. */
static int make_parents(const char *path, char *err)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir)
        return ac__errorf(err, AC_E_LIMIT, "path too long: %s", path);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return AC_OK;
    *slash = 0;
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char keep = *p;
            *p = 0;
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                return ac__errorf(err, AC_E_IO, "cannot create %s: %s", dir, strerror(errno));
            *p = keep;
            if (!keep)
                break;
        }
    }
    return AC_OK;
}

struct find_line { const char *word; size_t len; int found; };

static int find_line_fn(void *user, const char *w, size_t n)
{
    struct find_line *f = user;
    if (n == f->len && !memcmp(w, f->word, n))
        f->found = 1;
    return 0;
}

int ac_dict_add_user_word(ac_dict *d, const char *path, const char *word, char *err)
{
    char def[4096], key[AC_WORD_MAX * 2 + 8];
    if (!word)
        return ac__errorf(err, AC_E_ARG, "no word given");
    size_t len = strlen(word);
    if (!user_word_key(word, len, key, sizeof key))
        return ac__errorf(err, AC_E_ARG, "not a single word (letters, with apostrophes or hyphens "
                          "inside, at most %d bytes): '%.80s'", AC_WORD_MAX, word);
    if (!path) {
        int rc = ac_dict_user_path(def, sizeof def, err);
        if (rc)
            return rc;
        path = def;
    }
    int rc = make_parents(path, err);
    if (rc)
        return rc;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ac__errorf(err, AC_E_IO, "cannot open %s: %s", path, strerror(errno));
    /* already there? (a racing writer may add it twice; loading deduplicates) */
    char *data;
    size_t n;
    rc = ac_file_read(path, USER_MAX_BYTES, &data, &n, err);
    if (rc) {
        close(fd);
        return rc;
    }
    struct find_line f = {word, len, 0};
    user_lines(data, n, find_line_fn, &f);
    int needs_newline = n > 0 && data[n - 1] != '\n';
    free(data);
    if (!f.found) {
        char line[AC_WORD_MAX + 4];
        int k = snprintf(line, sizeof line, "%s%s\n", needs_newline ? "\n" : "", word);
        ssize_t w;
        do {
            w = write(fd, line, (size_t)k);  /* one write: O_APPEND keeps it whole */
        } while (w < 0 && errno == EINTR);
        if (w != k) {
            int e = errno;
            close(fd);
            return ac__errorf(err, AC_E_IO, "cannot write %s: %s", path, w < 0 ? strerror(e) : "short write");
        }
    }
    if (close(fd) != 0)
        return ac__errorf(err, AC_E_IO, "cannot write %s: %s", path, strerror(errno));
    if (d) {
        pthread_rwlock_wrlock(&d->user_lock);
        int r = add_user_locked(d, word, len, key);
        pthread_rwlock_unlock(&d->user_lock);
        if (r < 0)
            return ac__errorf(err, AC_E_NOMEM, "out of memory adding '%s'", word);
    }
    return AC_OK;
}
