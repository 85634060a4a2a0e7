/* dict.c: the dictionary: loading dictionary.tsv, case-insensitive lookup, and the user's
 * dictionary (loading it and adding words to it atomically). The candidate index it owns is built
 * by symdel.c; ranking lives in correct.c.
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

/* --- loading ----------------------------------------------------------------------------------- */

long ac__dict_find(const ac_dict *d, const uint32_t *key, int n)
{
    if (!d->table_cap)
        return -1;
    size_t h = (size_t)ac__hash_cp(key, n) & (d->table_cap - 1);
    for (;;) {
        uint32_t v = d->table[h];
        if (!v)
            return -1;
        const ac__word *w = &d->words[v - 1];
        if (w->key_len == n && !memcmp(d->keys + w->key_off, key, sizeof *key * (size_t)n))
            return (long)(v - 1);
        h = (h + 1) & (d->table_cap - 1);
    }
}

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

    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++)
        n_lines += data[i] == '\n';
    ac_dict *d = calloc(1, sizeof *d);
    if (!d)
        return ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
    pthread_rwlock_init(&d->user_lock, NULL);
    d->words = malloc(sizeof *d->words * n_lines);
    d->keys = malloc(sizeof *d->keys * (len + 1));  /* at most one code point per byte */
    d->text = malloc(len + n_lines + 1);
    d->table_cap = 16;
    while (d->table_cap < n_lines * 2)
        d->table_cap *= 2;
    d->table = calloc(d->table_cap, sizeof *d->table);
    if (!d->words || !d->keys || !d->text || !d->table) {
        ac_dict_free(d);
        return ac__errorf(err, AC_E_NOMEM, "out of memory loading the dictionary");
    }

    double total = 0;
    size_t line_no = 1, pos = first_end < len ? first_end + 1 : len;
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
            ac_dict_free(d);
            return ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: expected word<TAB>count", line_no);
        }
        size_t wlen = (size_t)(tab - line);
        uint64_t count = 0;
        const char *c = tab + 1, *line_end = line + line_len;
        if (c == line_end) {
            ac_dict_free(d);
            return ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: missing count", line_no);
        }
        for (; c < line_end; c++) {
            if (*c < '0' || *c > '9' || count > (UINT64_MAX - 9) / 10) {
                ac_dict_free(d);
                return ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: bad count", line_no);
            }
            count = count * 10 + (uint64_t)(*c - '0');
        }
        uint32_t cp[AC__WORD_CP_MAX];
        if (!ac__utf8_valid(line, wlen)) {
            ac_dict_free(d);
            return ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: invalid UTF-8", line_no);
        }
        if (wlen > AC_WORD_MAX)
            continue;  /* longer words are never looked at */
        int n = ac__utf8_decode(line, wlen, cp, AC__WORD_CP_MAX, 0);
        int ok = n > 0;
        for (int i = 0; i < n && ok; i++)
            ok = is_word_cp(cp[i]);
        if (!ok) {
            ac_dict_free(d);
            return ac__errorf(err, AC_E_FORMAT, "dictionary line %zu: not a word", line_no);
        }
        int shape = ac__case_shape(cp, n);
        n = ac__utf8_decode(line, wlen, cp, AC__WORD_CP_MAX, 1);
        total += (double)count;
        long id = ac__dict_find(d, cp, n);
        if (id >= 0) {
            /* a case variant of a word we have: merge, preferring the lower-case display form */
            ac__word *w = &d->words[id];
            w->count += count;
            if (shape == AC__CASE_LOWER) {
                memcpy(d->text + d->n_text, line, wlen);
                d->text[d->n_text + wlen] = 0;
                w->text_off = (uint32_t)d->n_text;
                w->text_len = (uint16_t)wlen;
                d->n_text += wlen + 1;
            }
            continue;
        }
        ac__word *w = &d->words[d->n_words];
        w->key_off = (uint32_t)d->n_keys;
        w->key_len = (uint16_t)n;
        memcpy(d->keys + d->n_keys, cp, sizeof *cp * (size_t)n);
        d->n_keys += (size_t)n;
        w->text_off = (uint32_t)d->n_text;
        w->text_len = (uint16_t)wlen;
        memcpy(d->text + d->n_text, line, wlen);
        d->text[d->n_text + wlen] = 0;
        d->n_text += wlen + 1;
        w->count = count;
        size_t h = (size_t)ac__hash_cp(cp, n) & (d->table_cap - 1);
        while (d->table[h])
            h = (h + 1) & (d->table_cap - 1);
        d->table[h] = (uint32_t)(d->n_words + 1);
        d->n_words++;
    }
    d->log_total = log(total + 0.5 * (double)d->n_words + 1.0);
    int rc = ac__symdel_build(&d->index, d, err);
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
    ac__symdel_free(&d->index);
    free(d->words);
    free(d->keys);
    free(d->text);
    free(d->table);
    strset_free(&d->user);
    for (size_t i = 0; i < d->n_user_list; i++)
        free(d->user_list[i]);
    free(d->user_list);
    pthread_rwlock_destroy(&d->user_lock);
    free(d);
}

size_t ac_dict_size(const ac_dict *d) { return d ? d->n_words : 0; }

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
