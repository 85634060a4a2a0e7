/* bpe_files.c: reading and writing tokenizer files: vocab.json + merges.txt (Hugging Face),
 * encoder.json + vocab.bpe (OpenAI's names for the same two formats), tokenizer.json (Hugging Face
 * `tokenizers`, through jansson), and finding them in a directory.
 *
 * vocab.json is one flat JSON object of string -> integer, read by a small parser of our own so that
 * every error names its line; tokenizer.json is a deep document and goes through jansson (its errors
 * name the JSON path). This file turns files into ac__bpe_set_token / ac__bpe_finish calls; it does
 * not encode (bpe.c). */
#include "tokenizer/bpe_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_BYTES ((size_t)1 << 30)

/* --- vocab.json: a flat object of string -> id --------------------------------------------------- */

typedef struct vocab_entry {
    uint32_t key_off, key_len; /* the decoded key (UTF-8) in the scratch buffer */
    int64_t id;
    uint32_t line;
} vocab_entry;

typedef struct vocab_parser {
    const char *s, *name;
    size_t len, i;
    uint32_t line;
    char *err;
} vocab_parser;

static void skip_ws(vocab_parser *p)
{
    while (p->i < p->len) {
        char c = p->s[p->i];
        if (c == '\n')
            p->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            break;
        p->i++;
    }
}

static int perr(vocab_parser *p, const char *what)
{
    return ac__errorf(p->err, AC_E_FORMAT, "%s:%u: %s", p->name, (unsigned)p->line, what);
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

static void put_utf8(ac_buf *b, uint32_t cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | cp >> 6);
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | cp >> 12);
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | cp >> 18);
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    ac_buf_append(b, t, n);
}

/* Parses a JSON string at p->i (at its opening quote) and appends its UTF-8 to out. */
static int parse_string(vocab_parser *p, ac_buf *out)
{
    if (p->i >= p->len || p->s[p->i] != '"')
        return perr(p, "expected a string");
    p->i++;
    size_t run = p->i; /* start of the current run of plain characters */
    for (;;) {
        if (p->i >= p->len)
            return perr(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"' || c == '\\') {
            if (ac_buf_append(out, p->s + run, p->i - run))
                return ac__errorf(p->err, AC_E_NOMEM, "out of memory");
            if (c == '"') {
                p->i++;
                return AC_OK;
            }
            if (p->i + 1 >= p->len)
                return perr(p, "unterminated string");
            char e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
            case '"': ac_buf_append(out, "\"", 1); break;
            case '\\': ac_buf_append(out, "\\", 1); break;
            case '/': ac_buf_append(out, "/", 1); break;
            case 'b': ac_buf_append(out, "\b", 1); break;
            case 'f': ac_buf_append(out, "\f", 1); break;
            case 'n': ac_buf_append(out, "\n", 1); break;
            case 'r': ac_buf_append(out, "\r", 1); break;
            case 't': ac_buf_append(out, "\t", 1); break;
            case 'u': {
                uint32_t cp, lo;
                if (p->i + 4 > p->len || hex4(p->s + p->i, &cp))
                    return perr(p, "bad \\u escape");
                p->i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->i + 6 > p->len || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                        hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return perr(p, "unpaired surrogate in a \\u escape");
                    p->i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return perr(p, "unpaired surrogate in a \\u escape");
                }
                put_utf8(out, cp);
                break;
            }
            default:
                return perr(p, "bad escape in a string");
            }
            run = p->i;
            continue;
        }
        if (c < 0x20)
            return perr(p, c == '\n' ? "unterminated string" : "control character in a string");
        p->i++;
    }
}

/* Parses vocab text into entries[*n] (malloc'ed) and the keys into `keys`. */
static int parse_vocab(vocab_parser *p, ac_buf *keys, vocab_entry **entries, size_t *n)
{
    size_t cap = 1024, count = 0;
    vocab_entry *e = malloc(cap * sizeof *e);
    if (!e)
        return ac__errorf(p->err, AC_E_NOMEM, "out of memory");
    int rc = AC_OK;
    skip_ws(p);
    if (p->i >= p->len || p->s[p->i] != '{') {
        rc = perr(p, "expected a JSON object of token -> id");
        goto fail;
    }
    p->i++;
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == '}') {
        p->i++;
    } else {
        for (;;) {
            skip_ws(p);
            if (count == cap) {
                vocab_entry *bigger = realloc(e, 2 * cap * sizeof *e);
                if (!bigger) {
                    rc = ac__errorf(p->err, AC_E_NOMEM, "out of memory");
                    goto fail;
                }
                e = bigger;
                cap *= 2;
            }
            vocab_entry *x = &e[count];
            x->line = p->line;
            x->key_off = (uint32_t)keys->len;
            if ((rc = parse_string(p, keys)))
                goto fail;
            x->key_len = (uint32_t)(keys->len - x->key_off);
            skip_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':') {
                rc = perr(p, "expected ':' after a token");
                goto fail;
            }
            p->i++;
            skip_ws(p);
            size_t start = p->i;
            int neg = p->i < p->len && p->s[p->i] == '-';
            if (neg)
                p->i++;
            int64_t v = 0;
            while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9' && v < ((int64_t)1 << 40))
                v = v * 10 + (p->s[p->i++] - '0');
            if (p->i == start + (size_t)neg || (p->i < p->len && strchr(".eE0123456789", p->s[p->i]) && p->s[p->i])) {
                rc = perr(p, "a token's id must be a whole number");
                goto fail;
            }
            x->id = neg ? -v : v;
            count++;
            skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == '}') {
                p->i++;
                break;
            }
            rc = perr(p, "expected ',' or '}'");
            goto fail;
        }
    }
    skip_ws(p);
    if (p->i != p->len) {
        rc = perr(p, "unexpected text after the JSON object");
        goto fail;
    }
    *entries = e;
    *n = count;
    return AC_OK;
fail:
    free(e);
    return rc;
}

/* Builds the token table of `bpe` from parsed vocab entries (ids checked, keys unmapped). */
static int vocab_to_bpe(const vocab_entry *e, size_t n, const char *keys, const char *name, ac_bpe **out, char *err)
{
    *out = NULL;
    if (n == 0)
        return ac__errorf(err, AC_E_FORMAT, "%s: the vocabulary is empty", name);
    int64_t max_id = -1;
    for (size_t k = 0; k < n; k++) {
        if (e[k].id < 0 || e[k].id >= (1 << 24))
            return ac__errorf(err, AC_E_FORMAT, "%s:%u: id %lld is out of range (0..%d)", name, (unsigned)e[k].line,
                              (long long)e[k].id, (1 << 24) - 1);
        if (e[k].id > max_id)
            max_id = e[k].id;
    }
    ac_bpe *bpe;
    int rc = ac__bpe_alloc((int32_t)max_id + 1, &bpe, err);
    if (rc)
        return rc;
    uint8_t bytes[AC_BPE_MAX_TOKEN_BYTES * 4];
    for (size_t k = 0; k < n; k++) {
        const char *key = keys + e[k].key_off;
        size_t klen = e[k].key_len, blen;
        int special = 0;
        if (klen == 0) {
            ac_bpe_free(bpe);
            return ac__errorf(err, AC_E_FORMAT, "%s:%u: empty token", name, (unsigned)e[k].line);
        }
        if (klen > sizeof bytes) {
            ac_bpe_free(bpe);
            return ac__errorf(err, AC_E_FORMAT, "%s:%u: token of %zu bytes is too long", name, (unsigned)e[k].line, klen);
        }
        if (ac__unicode_to_bytes(key, klen, bytes, &blen)) {
            /* Not in byte-to-unicode form: a literal token such as an added special token. */
            memcpy(bytes, key, klen);
            blen = klen;
            special = 1;
        }
        rc = ac__bpe_set_token(bpe, (int32_t)e[k].id, bytes, blen, special, err);
        if (rc) {
            char msg[AC_ERR_SIZE];
            snprintf(msg, sizeof msg, "%s", err ? err : "");
            ac_bpe_free(bpe);
            return ac__errorf(err, AC_E_FORMAT, "%s:%u: %s", name, (unsigned)e[k].line, msg);
        }
    }
    if ((rc = ac__bpe_index_strings(bpe, err))) {
        ac_bpe_free(bpe);
        return rc;
    }
    *out = bpe;
    return AC_OK;
}

static int parse_vocab_text(const char *text, size_t len, const char *name, ac_bpe **out, char *err)
{
    vocab_parser p = {text, name, len, 0, 1, err};
    ac_buf keys = {0};
    vocab_entry *e = NULL;
    size_t n = 0;
    int rc = parse_vocab(&p, &keys, &e, &n);
    if (!rc)
        rc = vocab_to_bpe(e, n, keys.data, name, out, err);
    free(e);
    ac_buf_free(&keys);
    return rc;
}

/* --- merges: "A B" per line ------------------------------------------------------------------- */

typedef struct merge_list {
    int32_t (*m)[2];
    int32_t n, cap;
} merge_list;

static int merge_list_add(merge_list *l, int32_t a, int32_t b)
{
    if (l->n == l->cap) {
        int32_t cap = l->cap ? 2 * l->cap : 1024;
        void *p = realloc(l->m, (size_t)cap * sizeof *l->m);
        if (!p)
            return AC_E_NOMEM;
        l->m = p;
        l->cap = cap;
    }
    l->m[l->n][0] = a;
    l->m[l->n][1] = b;
    l->n++;
    return AC_OK;
}

/* Resolves one side of a merge (a token string in byte-to-unicode form) to its id. */
static int merge_side(const ac_bpe *bpe, const char *s, size_t len, const char *name, size_t line, int32_t *id,
                      char *err)
{
    uint8_t bytes[AC_BPE_MAX_TOKEN_BYTES * 4];
    size_t blen;
    if (len > sizeof bytes || ac__unicode_to_bytes(s, len, bytes, &blen))
        return ac__errorf(err, AC_E_FORMAT, "%s:%zu: \"%.*s\" is not a token in byte-to-unicode form", name, line,
                          (int)(len < 60 ? len : 60), s);
    *id = ac__bpe_lookup(bpe, bytes, blen);
    if (*id < 0)
        return ac__errorf(err, AC_E_FORMAT, "%s:%zu: \"%.*s\" is not in the vocabulary", name, line,
                          (int)(len < 60 ? len : 60), s);
    return AC_OK;
}

/* Checks that a+b is a token, naming the line if not. */
static int merge_result(const ac_bpe *bpe, int32_t a, int32_t b, const char *name, size_t line, char *err)
{
    uint8_t joined[2 * AC_BPE_MAX_TOKEN_BYTES];
    size_t la = bpe->tok_len[a], lb = bpe->tok_len[b];
    memcpy(joined, bpe->tok_bytes + bpe->tok_off[a], la);
    memcpy(joined + la, bpe->tok_bytes + bpe->tok_off[b], lb);
    if (ac__bpe_lookup(bpe, joined, la + lb) < 0) {
        ac_buf u = {0};
        ac__bytes_to_unicode(joined, la + lb, &u);
        int rc = ac__errorf(err, AC_E_FORMAT, "%s:%zu: the merge's result \"%.60s\" is not in the vocabulary", name,
                            line, u.data ? u.data : "");
        ac_buf_free(&u);
        return rc;
    }
    return AC_OK;
}

static int parse_merges(const ac_bpe *bpe, const char *text, size_t len, const char *name, merge_list *out, char *err)
{
    size_t line = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t e = end;
        line++;
        if (e > i && text[e - 1] == '\r')
            e--;
        const char *s = text + i;
        size_t n = e - i;
        i = end + 1;
        if (n == 0 || (line == 1 && n >= 8 && !memcmp(s, "#version", 8)))
            continue;
        const char *sp = memchr(s, ' ', n);
        if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1)))
            return ac__errorf(err, AC_E_FORMAT, "%s:%zu: expected two tokens separated by one space", name, line);
        int32_t a, b;
        int rc = merge_side(bpe, s, (size_t)(sp - s), name, line, &a, err);
        if (!rc)
            rc = merge_side(bpe, sp + 1, (size_t)(s + n - sp - 1), name, line, &b, err);
        if (!rc)
            rc = merge_result(bpe, a, b, name, line, err);
        if (rc)
            return rc;
        if (merge_list_add(out, a, b))
            return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    return AC_OK;
}

int ac_bpe_load_memory(const char *vocab, size_t vocab_len, const char *vocab_name, const char *merges,
                       size_t merges_len, const char *merges_name, ac_bpe **out, char *err)
{
    *out = NULL;
    ac_bpe *bpe;
    int rc = parse_vocab_text(vocab, vocab_len, vocab_name, &bpe, err);
    if (rc)
        return rc;
    merge_list ml = {0};
    rc = parse_merges(bpe, merges, merges_len, merges_name, &ml, err);
    if (!rc)
        rc = ac__bpe_finish(bpe, (const int32_t(*)[2])ml.m, ml.n, vocab_name, err);
    free(ml.m);
    if (rc) {
        ac_bpe_free(bpe);
        return rc;
    }
    *out = bpe;
    return AC_OK;
}

/* --- tokenizer.json ----------------------------------------------------------------------------- */

static int tj_err(char *err, int status, const char *name, const char *what)
{
    return ac__errorf(err, status, "%s: %s", name, what);
}

/* Checks the parts of tokenizer.json that change how text is split or normalised. */
static int tj_check_pipeline(json_t *root, json_t *model, const char *name, char *err)
{
    json_t *v = json_object_get(root, "normalizer");
    if (v && !json_is_null(v))
        return tj_err(err, AC_E_UNSUPPORTED, name, "a normalizer is not supported (only GPT-2's byte-level BPE)");
    v = json_object_get(root, "pre_tokenizer");
    if (v && !json_is_null(v)) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!type || strcmp(type, "ByteLevel"))
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: pre_tokenizer \"%s\" is not supported (only ByteLevel)", name,
                              type ? type : "?");
        if (json_is_true(json_object_get(v, "add_prefix_space")))
            return tj_err(err, AC_E_UNSUPPORTED, name, "pre_tokenizer.add_prefix_space = true is not supported");
        if (json_is_false(json_object_get(v, "use_regex")))
            return tj_err(err, AC_E_UNSUPPORTED, name, "pre_tokenizer.use_regex = false is not supported");
    }
    const char *type = json_string_value(json_object_get(model, "type"));
    if (type && strcmp(type, "BPE"))
        return ac__errorf(err, AC_E_UNSUPPORTED, "%s: model.type \"%s\" is not supported (only BPE)", name, type);
    const char *fields[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t k = 0; k < 2; k++) {
        const char *s = json_string_value(json_object_get(model, fields[k]));
        if (s && *s)
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: model.%s is not supported", name, fields[k]);
    }
    if (json_is_true(json_object_get(model, "byte_fallback")))
        return tj_err(err, AC_E_UNSUPPORTED, name, "model.byte_fallback is not supported");
    return AC_OK;
}

static int tj_load(json_t *root, const char *name, ac_bpe **out, char *err)
{
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return tj_err(err, AC_E_FORMAT, name, "no \"model\" object");
    int rc = tj_check_pipeline(root, model, name, err);
    if (rc)
        return rc;
    json_t *vocab = json_object_get(model, "vocab");
    json_t *merges = json_object_get(model, "merges");
    json_t *added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab))
        return tj_err(err, AC_E_FORMAT, name, "model.vocab is not an object");
    if (!json_is_array(merges))
        return tj_err(err, AC_E_FORMAT, name, "model.merges is not an array");
    if (added && !json_is_null(added) && !json_is_array(added))
        return tj_err(err, AC_E_FORMAT, name, "added_tokens is not an array");
    /* vocab + added tokens -> entries, as for vocab.json (line = index, for messages) */
    size_t n_vocab = json_object_size(vocab), n_added = json_is_array(added) ? json_array_size(added) : 0;
    vocab_entry *e = malloc((n_vocab + n_added + 1) * sizeof *e);
    ac_buf keys = {0};
    ac_bpe *bpe = NULL;
    if (!e)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    size_t n = 0;
    const char *key;
    size_t key_len;
    json_t *val;
    json_object_keylen_foreach(vocab, key, key_len, val)
    {
        if (!json_is_integer(val)) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: model.vocab[\"%.60s\"] is not an integer id", name, key);
            goto done;
        }
        e[n].key_off = (uint32_t)keys.len;
        e[n].key_len = (uint32_t)key_len;
        e[n].id = json_integer_value(val);
        e[n].line = 0;
        if (ac_buf_append(&keys, key, key_len)) {
            rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
            goto done;
        }
        n++;
    }
    /* Added tokens: literal text. One whose id is also in the vocabulary must have the same bytes. */
    int64_t max_added = -1;
    for (size_t k = 0; k < n_added; k++) {
        json_t *t = json_array_get(added, k);
        json_t *id = json_object_get(t, "id");
        const char *content = json_string_value(json_object_get(t, "content"));
        if (!json_is_integer(id) || !content || !*content) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: added_tokens[%zu] needs an integer \"id\" and a \"content\"", name, k);
            goto done;
        }
        if (json_integer_value(id) > max_added)
            max_added = json_integer_value(id);
    }
    for (size_t k = 0; k < n; k++)
        if (e[k].id < 0 || e[k].id >= (1 << 24)) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: model.vocab id %lld is out of range", name, (long long)e[k].id);
            goto done;
        }
    {
        /* Tokens of the vocabulary (unmapped), then the added ones that are not already there. */
        int64_t max_id = max_added;
        for (size_t k = 0; k < n; k++)
            if (e[k].id > max_id)
                max_id = e[k].id;
        if (max_id < 0 || max_id >= (1 << 24)) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: ids out of range", name);
            goto done;
        }
        if ((rc = ac__bpe_alloc((int32_t)max_id + 1, &bpe, err)))
            goto done;
        uint8_t bytes[AC_BPE_MAX_TOKEN_BYTES * 4];
        for (size_t k = 0; k < n; k++) {
            size_t blen;
            int special = 0;
            const char *s = keys.data + e[k].key_off;
            if (e[k].key_len == 0 || e[k].key_len > sizeof bytes) {
                rc = ac__errorf(err, AC_E_FORMAT, "%s: model.vocab has a token of %u bytes", name, (unsigned)e[k].key_len);
                goto done;
            }
            if (ac__unicode_to_bytes(s, e[k].key_len, bytes, &blen)) {
                memcpy(bytes, s, e[k].key_len);
                blen = e[k].key_len;
                special = 1;
            }
            if ((rc = ac__bpe_set_token(bpe, (int32_t)e[k].id, bytes, blen, special, err))) {
                char msg[AC_ERR_SIZE];
                snprintf(msg, sizeof msg, "%s", err ? err : "");
                rc = ac__errorf(err, AC_E_FORMAT, "%s: model.vocab: %s", name, msg);
                goto done;
            }
        }
        for (size_t k = 0; k < n_added; k++) {
            json_t *t = json_array_get(added, k);
            int32_t id = (int32_t)json_integer_value(json_object_get(t, "id"));
            const char *content = json_string_value(json_object_get(t, "content"));
            size_t clen = json_string_length(json_object_get(t, "content"));
            if (id < 0) {
                rc = ac__errorf(err, AC_E_FORMAT, "%s: added_tokens[%zu] has a negative id", name, k);
                goto done;
            }
            if (bpe->tok_flags[id] & AC__TOK_USED) {
                if (bpe->tok_len[id] != clen || memcmp(bpe->tok_bytes + bpe->tok_off[id], content, clen)) {
                    rc = ac__errorf(err, AC_E_FORMAT, "%s: added_tokens[%zu] (id %d) differs from model.vocab's token",
                                    name, k, (int)id);
                    goto done;
                }
                bpe->tok_flags[id] |= AC__TOK_SPECIAL;
            } else if ((rc = ac__bpe_set_token(bpe, id, (const uint8_t *)content, clen, 1, err))) {
                char msg[AC_ERR_SIZE];
                snprintf(msg, sizeof msg, "%s", err ? err : "");
                rc = ac__errorf(err, AC_E_FORMAT, "%s: added_tokens[%zu]: %s", name, k, msg);
                goto done;
            }
        }
        if ((rc = ac__bpe_index_strings(bpe, err)))
            goto done;
        merge_list ml = {0};
        size_t nm = json_array_size(merges);
        for (size_t k = 0; k < nm && !rc; k++) {
            json_t *m = json_array_get(merges, k);
            const char *a = NULL, *b = NULL;
            size_t la = 0, lb = 0;
            if (json_is_string(m)) {
                const char *s = json_string_value(m);
                size_t sl = json_string_length(m);
                const char *sp = memchr(s, ' ', sl);
                if (sp && sp != s && sp != s + sl - 1 && !memchr(sp + 1, ' ', (size_t)(s + sl - sp - 1))) {
                    a = s;
                    la = (size_t)(sp - s);
                    b = sp + 1;
                    lb = (size_t)(s + sl - sp - 1);
                }
            } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                       json_is_string(json_array_get(m, 1))) {
                a = json_string_value(json_array_get(m, 0));
                la = json_string_length(json_array_get(m, 0));
                b = json_string_value(json_array_get(m, 1));
                lb = json_string_length(json_array_get(m, 1));
            }
            if (!a) {
                rc = ac__errorf(err, AC_E_FORMAT, "%s: model.merges[%zu] is not \"A B\" nor [\"A\", \"B\"]", name, k);
                break;
            }
            int32_t ia, ib;
            char label[AC_ERR_SIZE];
            snprintf(label, sizeof label, "%s: model.merges", name);
            rc = merge_side(bpe, a, la, label, k, &ia, err);
            if (!rc)
                rc = merge_side(bpe, b, lb, label, k, &ib, err);
            if (!rc)
                rc = merge_result(bpe, ia, ib, label, k, err);
            if (!rc && merge_list_add(&ml, ia, ib))
                rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
        }
        if (!rc)
            rc = ac__bpe_finish(bpe, (const int32_t(*)[2])ml.m, ml.n, name, err);
        free(ml.m);
    }
done:
    free(e);
    ac_buf_free(&keys);
    if (rc) {
        ac_bpe_free(bpe);
        return rc;
    }
    *out = bpe;
    return AC_OK;
}

int ac_bpe_load_tokenizer_json(const char *json, size_t len, const char *name, ac_bpe **out, char *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &je);
    if (!root)
        return ac__errorf(err, AC_E_FORMAT, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    int rc = json_is_object(root) ? tj_load(root, name, out, err) : tj_err(err, AC_E_FORMAT, name, "not a JSON object");
    json_decref(root);
    return rc;
}

/* --- finding and reading the files ------------------------------------------------------------- */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int load_pair(const char *vocab_path, const char *merges_path, ac_bpe **out, char *err)
{
    char *v = NULL, *m = NULL;
    size_t vl, ml;
    int rc = ac_file_read(vocab_path, MAX_FILE_BYTES, &v, &vl, err);
    if (!rc)
        rc = ac_file_read(merges_path, MAX_FILE_BYTES, &m, &ml, err);
    if (!rc)
        rc = ac_bpe_load_memory(v, vl, vocab_path, m, ml, merges_path, out, err);
    free(v);
    free(m);
    return rc;
}

static int load_tokenizer_json_file(const char *path, ac_bpe **out, char *err)
{
    char *t;
    size_t tl;
    int rc = ac_file_read(path, MAX_FILE_BYTES, &t, &tl, err);
    if (!rc)
        rc = ac_bpe_load_tokenizer_json(t, tl, path, out, err);
    free(t);
    return rc;
}

/* dir + "/" + name into buf (size PATH_BUF). */
#define PATH_BUF 4096
static int join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_BUF, "%s/%s", dir, name);
    return n > 0 && n < PATH_BUF ? 0 : -1;
}

/* The vocab/merges pairs in the order ac_bpe_load looks for them. */
static const char *const pair_names[][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};

static int load_dir(const char *dir, ac_bpe **out, char *err)
{
    char v[PATH_BUF], m[PATH_BUF];
    for (size_t k = 0; k < 2; k++) {
        if (join(v, dir, pair_names[k][0]) || join(m, dir, pair_names[k][1]))
            return ac__errorf(err, AC_E_ARG, "path too long: %s", dir);
        if (is_file(v) && is_file(m))
            return load_pair(v, m, out, err);
    }
    if (join(v, dir, "tokenizer.json"))
        return ac__errorf(err, AC_E_ARG, "path too long: %s", dir);
    if (is_file(v))
        return load_tokenizer_json_file(v, out, err);
    return ac__errorf(err, AC_E_IO,
                      "no tokenizer in %s (looked for vocab.json + merges.txt, encoder.json + vocab.bpe, tokenizer.json)",
                      dir);
}

int ac_bpe_load(const char *path, ac_bpe **out, char *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return ac__errorf(err, AC_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return load_dir(path, out, err);
    /* A file: tokenizer.json, a vocabulary (find its merges beside it) or merges (find the vocabulary). */
    char dir[PATH_BUF], other[PATH_BUF];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac__errorf(err, AC_E_IO, "cannot open %s: %s", path, strerror(errno));
    char head[4096];
    size_t got = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[got] = 0;
    /* A vocabulary's first value is a number; tokenizer.json's is a string, object, array or null. */
    vocab_parser p = {head, path, got, 0, 1, NULL};
    skip_ws(&p);
    int is_json = p.i < got && head[p.i] == '{';
    if (is_json) {
        p.i++;
        skip_ws(&p);
        ac_buf key = {0};
        int key_ok = parse_string(&p, &key) == AC_OK;
        ac_buf_free(&key);
        skip_ws(&p);
        if (key_ok && p.i < got && head[p.i] == ':') {
            p.i++;
            skip_ws(&p);
            if (p.i < got && head[p.i] != '-' && (head[p.i] < '0' || head[p.i] > '9'))
                return load_tokenizer_json_file(path, out, err);
        }
    }
    /* The partner file: the conventional one first (vocab.json <-> merges.txt), then the other. */
    int conventional = !strcmp(base, is_json ? "encoder.json" : "vocab.bpe");
    for (int k = 0; k < 2; k++) {
        const char *name = pair_names[conventional ? 1 - k : k][is_json ? 1 : 0];
        if (join(other, dir, name))
            return ac__errorf(err, AC_E_ARG, "path too long: %s", path);
        if (is_file(other))
            return is_json ? load_pair(path, other, out, err) : load_pair(other, path, out, err);
    }
    return ac__errorf(err, AC_E_IO, "%s: no %s beside it (looked for %s and %s in %s)", path,
                      is_json ? "merges file" : "vocabulary", pair_names[0][is_json ? 1 : 0],
                      pair_names[1][is_json ? 1 : 0], dir);
}

/* --- writing vocab.json + merges.txt ---------------------------------------------------------- */

static int write_file(const char *path, const ac_buf *b, char *err)
{
    char tmp[PATH_BUF];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ac__errorf(err, AC_E_ARG, "path too long: %s", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return ac__errorf(err, AC_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    size_t put = fwrite(b->data, 1, b->len, f);
    int bad = put != b->len;
    if (fclose(f) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ac__errorf(err, AC_E_IO, "cannot write %s: %s", path, strerror(e));
    }
    return AC_OK;
}

/* Appends token bytes as a JSON string in byte-to-unicode form. */
static int json_token(ac_buf *b, const uint8_t *bytes, size_t n)
{
    ac_buf u = {0};
    int rc = ac__bytes_to_unicode(bytes, n, &u);
    if (!rc)
        rc = ac_buf_append(b, "\"", 1);
    for (size_t i = 0; !rc && i < u.len; i++) {
        char c = u.data[i];
        rc = (c == '"' || c == '\\') ? ac_buf_append(b, "\\", 1) : 0;
        if (!rc)
            rc = ac_buf_append(b, &c, 1);
    }
    if (!rc)
        rc = ac_buf_append(b, "\"", 1);
    ac_buf_free(&u);
    return rc;
}

int ac__write_hf_files(const char *dir, int32_t n_tok, const uint8_t *const *tok, const uint32_t *len,
                       const int32_t (*merges)[2], int32_t n_merges, char *err)
{
    char path[PATH_BUF];
    ac_buf b = {0};
    int rc = ac_buf_append(&b, "{", 1);
    int first = 1;
    for (int32_t id = 0; id < n_tok && !rc; id++) {
        if (!tok[id])
            continue;
        if (!first)
            rc = ac_buf_append(&b, ", ", 2);
        first = 0;
        if (!rc)
            rc = json_token(&b, tok[id], len[id]);
        if (!rc)
            rc = ac_buf_printf(&b, ": %d", (int)id);
    }
    if (!rc)
        rc = ac_buf_append(&b, "}\n", 2);
    if (rc) {
        ac_buf_free(&b);
        return ac__errorf(err, AC_E_NOMEM, "out of memory writing the vocabulary");
    }
    if (join(path, dir, "vocab.json")) {
        ac_buf_free(&b);
        return ac__errorf(err, AC_E_ARG, "path too long: %s", dir);
    }
    rc = write_file(path, &b, err);
    b.len = 0;
    if (!rc)
        rc = ac_buf_append(&b, "#version: 0.2\n", 14) ? AC_E_NOMEM : AC_OK;
    for (int32_t r = 0; r < n_merges && !rc; r++) {
        int32_t l = merges[r][0], m = merges[r][1];
        if (ac__bytes_to_unicode(tok[l], len[l], &b) || ac_buf_append(&b, " ", 1) ||
            ac__bytes_to_unicode(tok[m], len[m], &b) || ac_buf_append(&b, "\n", 1))
            rc = ac__errorf(err, AC_E_NOMEM, "out of memory writing the merges");
    }
    if (!rc && join(path, dir, "merges.txt"))
        rc = ac__errorf(err, AC_E_ARG, "path too long: %s", dir);
    if (!rc)
        rc = write_file(path, &b, err);
    ac_buf_free(&b);
    return rc;
}

int ac_bpe_save(const ac_bpe *bpe, const char *dir, char *err)
{
    const uint8_t **tok = calloc((size_t)bpe->n_vocab, sizeof *tok);
    if (!tok)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    for (int32_t id = 0; id < bpe->n_vocab; id++)
        if (bpe->tok_flags[id] & AC__TOK_USED)
            tok[id] = bpe->tok_bytes + bpe->tok_off[id];
    int rc = ac__write_hf_files(dir, bpe->n_vocab, tok, bpe->tok_len, (const int32_t(*)[2])bpe->merges,
                                bpe->n_merges, err);
    free(tok);
    return rc;
}
