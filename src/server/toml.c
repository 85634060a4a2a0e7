/* toml.c: the TOML-subset reader behind config.toml (see toml.h for what it reads and refuses).
 *
 * A single forward pass over the bytes with a line counter; every value is built in a scratch
 * buffer, handed to the visitor and freed. No recursion beyond one level of array, so no input can
 * exhaust the stack; every error names the file and line. This file does not know any key.
 */
#include "server/toml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256          /* bytes of a full dotted key, NUL included */
#define ARRAY_MAX 4096       /* items in one array */

typedef struct parser {
    const char *p, *end;
    const char *filename;
    int line;
    char *err;
    char table[KEY_MAX];     /* the current [table], "" at the top */
    char **seen;             /* [n_seen] full keys and "[table]" names already defined */
    size_t n_seen, cap_seen;
} parser;

const char *ac__toml_type_name(int type)
{
    switch (type) {
    case AC__TOML_STRING: return "a string";
    case AC__TOML_INTEGER: return "an integer";
    case AC__TOML_FLOAT: return "a float";
    case AC__TOML_BOOL: return "a boolean";
    case AC__TOML_ARRAY: return "an array";
    default: return "an unknown type";
    }
}

static int fail(parser *ps, const char *fmt, const char *arg)
{
    char what[160];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    return ac__errorf(ps->err, AC_E_FORMAT, "%s:%d: %s", ps->filename, ps->line, what);
}

static void value_free(ac__toml_value *v)
{
    free(v->str);
    if (v->items) {
        for (size_t i = 0; i < v->n_items; i++)
            free(v->items[i].str);
        free(v->items);
    }
    memset(v, 0, sizeof *v);
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes available), 0 if invalid.
 * Refuses overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int append_utf8(ac_buf *b, unsigned long cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    return ac_buf_append(b, out, n);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static int at_eol(const parser *ps)
{
    return ps->p >= ps->end || *ps->p == '\n' || (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n');
}

/* Consumes a comment (if any) up to the line end, but not the newline. */
static int skip_comment(parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '#')
        return AC_OK;
    while (ps->p < ps->end && !at_eol(ps)) {
        unsigned char c = (unsigned char)*ps->p;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail(ps, "control character in a comment%s", NULL);
        size_t n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (!n)
            return fail(ps, "invalid UTF-8 in a comment%s", NULL);
        ps->p += n;
    }
    return AC_OK;
}

/* Consumes the newline at the cursor (LF or CRLF), if any, counting the line. */
static void eat_newline(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '\n') {
        ps->p++;
        ps->line++;
    }
}

/* After a key = value or a [table]: only whitespace and a comment may follow on the line. */
static int expect_eol(parser *ps)
{
    skip_ws(ps);
    int rc = skip_comment(ps);
    if (rc)
        return rc;
    if (ps->p < ps->end && *ps->p == '\r' && !at_eol(ps))
        return fail(ps, "a carriage return without a line feed%s", NULL);
    if (!at_eol(ps))
        return fail(ps, "unexpected text after the value%s", NULL);
    eat_newline(ps);
    return AC_OK;
}

/* Whitespace, newlines and comments inside an array. */
static int skip_array_space(parser *ps)
{
    for (;;) {
        skip_ws(ps);
        int rc = skip_comment(ps);
        if (rc)
            return rc;
        if (ps->p < ps->end && at_eol(ps)) {
            eat_newline(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '\r')
            return fail(ps, "a carriage return without a line feed%s", NULL);
        return AC_OK;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at the cursor (on its opening quote) into out. */
static int parse_string(parser *ps, ac_buf *out)
{
    char quote = *ps->p++;
    if (ps->end - ps->p >= 2 && ps->p[0] == quote && ps->p[1] == quote)
        return fail(ps, "multi-line strings are not supported%s", NULL);
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r')
            return fail(ps, "unterminated string%s", NULL);
        unsigned char c = (unsigned char)*ps->p;
        if (c == (unsigned char)quote) {
            ps->p++;
            return AC_OK;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail(ps, "control character in a string (write it as an escape)%s", NULL);
        if (c == '\\' && quote == '"') {
            ps->p++;
            if (ps->p >= ps->end)
                return fail(ps, "unterminated string%s", NULL);
            char e = *ps->p++;
            const char *simple = NULL;
            switch (e) {
            case 'b': simple = "\b"; break;
            case 't': simple = "\t"; break;
            case 'n': simple = "\n"; break;
            case 'f': simple = "\f"; break;
            case 'r': simple = "\r"; break;
            case '"': simple = "\""; break;
            case '\\': simple = "\\"; break;
            case 'u': case 'U': {
                int digits = e == 'u' ? 4 : 8;
                if (ps->end - ps->p < digits)
                    return fail(ps, "short \\%s escape", e == 'u' ? "u" : "U");
                unsigned long cp = 0;
                for (int i = 0; i < digits; i++) {
                    int h = hexval(ps->p[i]);
                    if (h < 0)
                        return fail(ps, "bad hex digit in a \\%s escape", e == 'u' ? "u" : "U");
                    cp = cp * 16 + (unsigned long)h;
                }
                ps->p += digits;
                if (cp == 0)
                    return fail(ps, "a NUL character is not allowed in a string%s", NULL);
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                    return fail(ps, "escape is not a Unicode scalar value%s", NULL);
                if (append_utf8(out, cp))
                    return AC_E_NOMEM;
                continue;
            }
            default: {
                char s[2] = {e, 0};
                if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7F)
                    s[0] = '?';
                return fail(ps, "unknown escape \\%s in a string", s);
            }
            }
            if (ac_buf_append(out, simple, 1))
                return AC_E_NOMEM;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (!n)
            return fail(ps, "invalid UTF-8 in a string%s", NULL);
        if (ac_buf_append(out, ps->p, n))
            return AC_E_NOMEM;
        ps->p += n;
    }
}

static int is_bare_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A possibly dotted key at the cursor into key[KEY_MAX], segments joined with '.'. */
static int parse_key(parser *ps, char *key)
{
    size_t len = 0;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end)
            return fail(ps, "expected a key%s", NULL);
        ac_buf seg = {0};
        if (*ps->p == '"' || *ps->p == '\'') {
            int rc = parse_string(ps, &seg);
            if (rc) {
                ac_buf_free(&seg);
                return rc;
            }
        } else {
            const char *s = ps->p;
            while (ps->p < ps->end && is_bare_key_char(*ps->p))
                ps->p++;
            if (ps->p == s)
                return fail(ps, "expected a key%s", NULL);
            if (ac_buf_append(&seg, s, (size_t)(ps->p - s)))
                return AC_E_NOMEM;
        }
        size_t need = seg.len + (len ? 1 : 0);
        if (len + need >= KEY_MAX) {
            ac_buf_free(&seg);
            return fail(ps, "key is too long%s", NULL);
        }
        if (len)
            key[len++] = '.';
        if (seg.len)
            memcpy(key + len, seg.data, seg.len);
        len += seg.len;
        key[len] = 0;
        ac_buf_free(&seg);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            continue;
        }
        return AC_OK;
    }
}

/* Records a key as defined; a second definition is an error. */
static int mark_seen(parser *ps, const char *name, const char *shown)
{
    for (size_t i = 0; i < ps->n_seen; i++)
        if (!strcmp(ps->seen[i], name))
            return fail(ps, "'%s' is defined twice", shown);
    if (ps->n_seen == ps->cap_seen) {
        size_t cap = ps->cap_seen ? ps->cap_seen * 2 : 16;
        char **seen = realloc(ps->seen, cap * sizeof *seen);
        if (!seen)
            return AC_E_NOMEM;
        ps->seen = seen;
        ps->cap_seen = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return AC_E_NOMEM;
    ps->seen[ps->n_seen++] = copy;
    return AC_OK;
}

/* Checks digits with single underscores between them: "1_000" yes, "1__0", "_1", "1_" no.
 * `digit` tells which characters are digits in this base. Copies the digits (no underscores) into
 * out[cap]. */
static int clean_digits(const char *s, size_t n, int (*digit)(char), char *out, size_t cap, size_t *out_len)
{
    size_t k = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 == n || !digit(s[i - 1]) || !digit(s[i + 1]))
                return 0;
            continue;
        }
        if (!digit(s[i]))
            return 0;
        if (k + 1 >= cap)
            return 0;
        out[k++] = s[i];
    }
    out[k] = 0;
    *out_len = k;
    return 1;
}

static int is_dec(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return hexval(c) >= 0; }
static int is_oct(char c) { return c >= '0' && c <= '7'; }
static int is_bin(char c) { return c == '0' || c == '1'; }

/* A number, boolean, inf or nan: the token at the cursor. */
static int parse_bare_value(parser *ps, ac__toml_value *v)
{
    const char *s = ps->p;
    while (ps->p < ps->end && (is_bare_key_char(*ps->p) || *ps->p == '+' || *ps->p == '.' || *ps->p == ':'))
        ps->p++;
    size_t n = (size_t)(ps->p - s);
    if (n == 0)
        return fail(ps, "expected a value%s", NULL);
    if (n == 4 && !memcmp(s, "true", 4)) { v->type = AC__TOML_BOOL; v->boolean = true; return AC_OK; }
    if (n == 5 && !memcmp(s, "false", 5)) { v->type = AC__TOML_BOOL; v->boolean = false; return AC_OK; }
    if (memchr(s, ':', n) || (n >= 5 && is_dec(s[0]) && is_dec(s[1]) && is_dec(s[2]) && is_dec(s[3]) && s[4] == '-'))
        return fail(ps, "dates and times are not supported%s", NULL);

    const char *t = s;
    size_t tn = n;
    int neg = 0;
    if (*t == '+' || *t == '-') {
        neg = *t == '-';
        t++;
        tn--;
    }
    if (tn == 3 && (!memcmp(t, "inf", 3) || !memcmp(t, "nan", 3))) {
        v->type = AC__TOML_FLOAT;
        v->number = t[0] == 'i' ? (neg ? -INFINITY : INFINITY) : NAN;
        return AC_OK;
    }
    char digits[80];
    size_t dl;
    /* 0x, 0o, 0b integers (no sign allowed) */
    if (tn > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
        if (t != s)
            return fail(ps, "a sign is not allowed on a hex, octal or binary integer%s", NULL);
        int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
        int (*dig)(char) = base == 16 ? is_hex : base == 8 ? is_oct : is_bin;
        if (!clean_digits(t + 2, tn - 2, dig, digits, sizeof digits, &dl))
            return fail(ps, "bad integer%s", NULL);
        errno = 0;
        unsigned long long u = strtoull(digits, NULL, base);
        if (errno || u > (unsigned long long)INT64_MAX)
            return fail(ps, "integer out of range%s", NULL);
        v->type = AC__TOML_INTEGER;
        v->integer = (int64_t)u;
        return AC_OK;
    }
    /* decimal integer or float: int [. frac] [e exp] */
    size_t i = 0;
    while (i < tn && (is_dec(t[i]) || t[i] == '_'))
        i++;
    size_t int_end = i;
    if (int_end == 0)
        return fail(ps, "expected a value (strings need quotes)%s", NULL);
    char ipart[80];
    size_t il;
    if (!clean_digits(t, int_end, is_dec, ipart, sizeof ipart, &il))
        return fail(ps, "bad number%s", NULL);
    if (il > 1 && ipart[0] == '0')
        return fail(ps, "leading zeros are not allowed in a number%s", NULL);
    if (i == tn) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s%s", neg ? "-" : "", ipart);
        errno = 0;
        long long x = strtoll(buf, NULL, 10);
        if (errno)
            return fail(ps, "integer out of range%s", NULL);
        v->type = AC__TOML_INTEGER;
        v->integer = x;
        return AC_OK;
    }
    char fbuf[256];
    size_t fl = 0;
    fl += (size_t)snprintf(fbuf, sizeof fbuf, "%s%s", neg ? "-" : "", ipart);
    if (t[i] == '.') {
        i++;
        size_t fs = i;
        while (i < tn && (is_dec(t[i]) || t[i] == '_'))
            i++;
        char frac[80];
        size_t frl;
        if (!clean_digits(t + fs, i - fs, is_dec, frac, sizeof frac, &frl))
            return fail(ps, "bad fraction in a float%s", NULL);
        fl += (size_t)snprintf(fbuf + fl, sizeof fbuf - fl, ".%s", frac);
    }
    if (i < tn && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        char sign[2] = {0, 0};
        if (i < tn && (t[i] == '+' || t[i] == '-'))
            sign[0] = t[i++];
        size_t es = i;
        while (i < tn && (is_dec(t[i]) || t[i] == '_'))
            i++;
        char ex[80];
        size_t el;
        if (!clean_digits(t + es, i - es, is_dec, ex, sizeof ex, &el))
            return fail(ps, "bad exponent in a float%s", NULL);
        fl += (size_t)snprintf(fbuf + fl, sizeof fbuf - fl, "e%s%s", sign, ex);
    }
    if (i != tn)
        return fail(ps, "bad number%s", NULL);
    errno = 0;
    double d = strtod(fbuf, NULL);
    if (errno == ERANGE && isinf(d))
        return fail(ps, "float out of range%s", NULL);
    v->type = AC__TOML_FLOAT;
    v->number = d;
    return AC_OK;
}

static int parse_scalar(parser *ps, ac__toml_value *v)
{
    if (ps->p >= ps->end || at_eol(ps))
        return fail(ps, "expected a value%s", NULL);
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        ac_buf b = {0};
        int rc = parse_string(ps, &b);
        if (rc) {
            ac_buf_free(&b);
            return rc;
        }
        if (!b.data) { /* an empty string still gets its NUL */
            if (ac_buf_reserve(&b, 1))
                return AC_E_NOMEM;
            b.data[0] = 0;
        }
        v->type = AC__TOML_STRING;
        v->str = b.data;
        v->str_len = b.len;
        return AC_OK;
    }
    if (c == '{')
        return fail(ps, "inline tables are not supported%s", NULL);
    if (c == '[')
        return fail(ps, "nested arrays are not supported%s", NULL);
    return parse_bare_value(ps, v);
}

static int parse_value(parser *ps, ac__toml_value *v)
{
    memset(v, 0, sizeof *v);
    if (ps->p < ps->end && *ps->p == '[') {
        ps->p++;
        v->type = AC__TOML_ARRAY;
        size_t cap = 0;
        for (;;) {
            int rc = skip_array_space(ps);
            if (rc)
                return rc;
            if (ps->p >= ps->end)
                return fail(ps, "unterminated array%s", NULL);
            if (*ps->p == ']') {
                ps->p++;
                return AC_OK;
            }
            if (v->n_items == ARRAY_MAX)
                return fail(ps, "array has too many items%s", NULL);
            if (v->n_items == cap) {
                cap = cap ? cap * 2 : 8;
                ac__toml_value *items = realloc(v->items, cap * sizeof *items);
                if (!items)
                    return AC_E_NOMEM;
                v->items = items;
            }
            ac__toml_value *item = &v->items[v->n_items];
            memset(item, 0, sizeof *item);
            rc = parse_scalar(ps, item);
            v->n_items++; /* counted even on error, so value_free releases it */
            if (rc)
                return rc;
            rc = skip_array_space(ps);
            if (rc)
                return rc;
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return AC_OK;
            }
            if (ps->p >= ps->end)
                return fail(ps, "unterminated array%s", NULL);
            return fail(ps, "expected ',' or ']' in an array%s", NULL);
        }
    }
    return parse_scalar(ps, v);
}

static int parse_line(parser *ps, ac__toml_visit_fn visit, void *user)
{
    skip_ws(ps);
    int rc = skip_comment(ps);
    if (rc)
        return rc;
    if (at_eol(ps)) {
        if (ps->p < ps->end && *ps->p == '\r' && !(ps->p + 1 < ps->end && ps->p[1] == '\n'))
            return fail(ps, "a carriage return without a line feed%s", NULL);
        eat_newline(ps);
        return AC_OK;
    }
    if (*ps->p == '\r')
        return fail(ps, "a carriage return without a line feed%s", NULL);
    if (*ps->p == '[') {
        ps->p++;
        if (ps->p < ps->end && *ps->p == '[')
            return fail(ps, "arrays of tables are not supported%s", NULL);
        char name[KEY_MAX];
        rc = parse_key(ps, name);
        if (rc)
            return rc;
        if (ps->p >= ps->end || *ps->p != ']')
            return fail(ps, "expected ']' after the table name%s", NULL);
        ps->p++;
        char marker[KEY_MAX + 2];
        snprintf(marker, sizeof marker, "[%s]", name);
        rc = mark_seen(ps, marker, name);
        if (rc)
            return rc;
        snprintf(ps->table, sizeof ps->table, "%s", name);
        return expect_eol(ps);
    }
    char key[KEY_MAX], full[2 * KEY_MAX];
    int key_line = ps->line;
    rc = parse_key(ps, key);
    if (rc)
        return rc;
    if (ps->p >= ps->end || *ps->p != '=')
        return fail(ps, "expected '=' after key '%.100s'", key);
    ps->p++;
    skip_ws(ps);
    if (ps->table[0])
        snprintf(full, sizeof full, "%s.%s", ps->table, key);
    else
        snprintf(full, sizeof full, "%s", key);
    rc = mark_seen(ps, full, full);
    if (rc)
        return rc;
    ac__toml_value v;
    rc = parse_value(ps, &v);
    if (rc == AC_OK)
        rc = expect_eol(ps);
    if (rc == AC_OK && visit)
        rc = visit(user, full, &v, key_line, ps->err);
    value_free(&v);
    return rc;
}

int ac__toml_parse(const char *text, size_t len, const char *filename, ac__toml_visit_fn visit,
                   void *user, char *err)
{
    parser ps = {.p = text, .end = text + len, .filename = filename ? filename : "(config)", .line = 1, .err = err};
    if (len && memchr(text, 0, len)) {
        const char *z = memchr(text, 0, len);
        for (const char *q = text; q < z; q++)
            if (*q == '\n')
                ps.line++;
        return fail(&ps, "NUL byte in the file%s", NULL);
    }
    /* a UTF-8 byte order mark is allowed at the very start */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        ps.p += 3;
    int rc = AC_OK;
    while (ps.p < ps.end && rc == AC_OK)
        rc = parse_line(&ps, visit, user);
    for (size_t i = 0; i < ps.n_seen; i++)
        free(ps.seen[i]);
    free(ps.seen);
    if (rc == AC_E_NOMEM && err)
        snprintf(err, AC_ERR_SIZE, "%s: out of memory", ps.filename);
    return rc;
}
