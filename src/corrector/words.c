/* words.c: UTF-8 and case helpers, and the splitter that finds the words of a text the corrector may
 * look at. It decides what is never touched (numbers, URLs, e-mails, code, acronyms) and gives byte
 * offsets; it does not look anything up in the dictionary (correct.c does).
 */
#include "corrector/corrector_internal.h"

#include <string.h>
#include <utf8proc.h>

/* --- UTF-8 ------------------------------------------------------------------------------------- */

/* Decodes one code point at s[0..len); returns its byte length, or -1 when invalid. */
static int decode_one(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(s, (utf8proc_ssize_t)(len > 4 ? 4 : len), &c);
    if (n <= 0 || c < 0)
        return -1;
    *cp = (uint32_t)c;
    return (int)n;
}

int ac__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int n = decode_one(p + i, len - i, &cp);
        if (n < 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

static uint32_t fold_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c == 0x2019)
        return '\'';
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

int ac__utf8_decode(const char *s, size_t len, uint32_t *cp, int max, int fold)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int n = 0;
    while (i < len) {
        if (n >= max)
            return -1;
        uint32_t c;
        int k = decode_one(p + i, len - i, &c);
        if (k < 0)
            return -1;
        cp[n++] = fold ? fold_cp(c) : c;
        i += (size_t)k;
    }
    return n;
}

int ac__utf8_encode(const uint32_t *cp, int n, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        utf8proc_uint8_t tmp[4];
        utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)cp[i], tmp);
        if (k <= 0 || len + (size_t)k + 1 > cap)
            return -1;
        memcpy(out + len, tmp, (size_t)k);
        len += (size_t)k;
    }
    if (len + 1 > cap)
        return -1;
    out[len] = 0;
    return (int)len;
}

static int is_upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z';
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_LU;
}

static int is_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'a' && c <= 'z';
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_LL;
}

int ac__case_shape(const uint32_t *cp, int n)
{
    int upper = 0, lower = 0, upper_after_first = 0;
    for (int i = 0; i < n; i++) {
        if (is_upper(cp[i])) {
            upper++;
            if (i > 0)
                upper_after_first = 1;
        } else if (is_lower(cp[i])) {
            lower++;
        }
    }
    if (upper == 0)
        return AC__CASE_LOWER;
    if (lower == 0)
        return upper > 1 ? AC__CASE_UPPER : AC__CASE_TITLE;  /* "I" is title-like */
    if (!upper_after_first && is_upper(cp[0]))
        return AC__CASE_TITLE;
    return AC__CASE_MIXED;
}

/* --- character classes ------------------------------------------------------------------------- */

static int is_space(uint32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= '\t' && c <= '\r');
    if (c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
        c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000)
        return 1;
    return 0;
}

static int is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
        return 1;
    default:
        return 0;
    }
}

static int is_digit(uint32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ND;
}

static int is_apostrophe(uint32_t c) { return c == '\'' || c == 0x2019; }

/* Characters that make a whole whitespace-separated token code-like. */
static int is_code_char(uint32_t c)
{
    return c < 0x80 && c && strchr("_/\\=<>{}[]|~^$#%&*+`@", (int)c) != NULL;
}

/* --- the scanner ------------------------------------------------------------------------------- */

#define TOKEN_CP_MAX 512  /* a longer whitespace-free token is skipped whole */

/* Decides whether a whole token (no whitespace inside) is off limits. */
static int token_is_code(const uint32_t *cp, int n)
{
    if (n >= TOKEN_CP_MAX)
        return 1;
    for (int i = 0; i < n; i++) {
        if (is_digit(cp[i]) || is_code_char(cp[i]))
            return 1;
        /* an inner '.' or ':' between letters: file.txt, e.g, std::x, U.S, a:b */
        if ((cp[i] == '.' || cp[i] == ':') && i > 0 && i + 1 < n && is_letter(cp[i - 1]) &&
            (is_letter(cp[i + 1]) || cp[i + 1] == ':'))
            return 1;
    }
    if (n >= 4 && (cp[0] | 32) == 'w' && (cp[1] | 32) == 'w' && (cp[2] | 32) == 'w' && cp[3] == '.')
        return 1;
    return 0;
}

int ac__words_scan(const char *text, size_t len, int end_is_boundary, ac__span_fn on_word, void *user)
{
    const unsigned char *p = (const unsigned char *)text;
    uint32_t cp[TOKEN_CP_MAX + 1];
    size_t off[TOKEN_CP_MAX + 2];  /* byte offset of each code point, plus the end */
    size_t i = 0;
    while (i < len) {
        /* skip whitespace */
        uint32_t c;
        int k = decode_one(p + i, len - i, &c);
        if (k < 0)
            return AC_E_FORMAT;
        if (is_space(c)) {
            i += (size_t)k;
            continue;
        }
        /* a token: up to the next whitespace */
        int n = 0;
        size_t j = i;
        int too_long = 0;
        while (j < len) {
            k = decode_one(p + j, len - j, &c);
            if (k < 0)
                return AC_E_FORMAT;
            if (is_space(c))
                break;
            if (n < TOKEN_CP_MAX) {
                cp[n] = c;
                off[n] = j;
                n++;
            } else {
                too_long = 1;
            }
            j += (size_t)k;
        }
        off[n] = j;
        int token_ends_text = (j >= len);
        if (!too_long && !token_is_code(cp, n)) {
            /* words: maximal runs of letters, with apostrophes between letters */
            int a = 0;
            while (a < n) {
                if (!is_letter(cp[a])) {
                    a++;
                    continue;
                }
                int b = a;
                while (b < n && (is_letter(cp[b]) ||
                                 (is_apostrophe(cp[b]) && b + 1 < n && is_letter(cp[b + 1]) && b > a)))
                    b++;
                ac__span s;
                s.start = off[a];
                s.end = off[b];
                int letters = b - a;
                int shape = ac__case_shape(cp + a, b - a);
                /* ".exe", "qsize(": a file extension or a call is code */
                int code = (a > 0 && cp[a - 1] == '.') || (b < n && cp[b] == '(');
                s.eligible = letters >= 2 && !code && (s.end - s.start) <= AC_WORD_MAX &&
                             (shape == AC__CASE_LOWER || shape == AC__CASE_TITLE);
                s.complete = (b < n) || !token_ends_text || end_is_boundary;
                int r = on_word(user, &s);
                if (r)
                    return r;
                a = b;
            }
        }
        i = j;
    }
    return 0;
}

int ac__sentence_start(const char *text, size_t at)
{
    /* back over spaces and opening quotes or brackets (ASCII, and the common UTF-8 ones) */
    while (at > 0) {
        unsigned char c = (unsigned char)text[at - 1];
        if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '(' || c == '[' || c == '*' || c == '_') {
            at--;
        } else if (at >= 3 && (unsigned char)text[at - 3] == 0xe2 && (unsigned char)text[at - 2] == 0x80 &&
                   (c == 0x9c || c == 0x98)) {
            at -= 3;  /* U+201C, U+2018 */
        } else if (at >= 2 && (unsigned char)text[at - 2] == 0xc2 && c == 0xab) {
            at -= 2;  /* U+00AB */
        } else {
            break;
        }
    }
    if (at == 0)
        return 1;
    char c = text[at - 1];
    return c == '.' || c == '!' || c == '?' || c == '\n' || c == '\r' || c == ':';
}
