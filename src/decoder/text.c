/* text.c: the decoder's rules on text: word characters, where a completion stops, UTF-8 trimming,
 * and the rules about the text after the cursor. Pure functions on bytes; no model, no tokenizer.
 * See decoder_internal.h for each contract and decoder.h for the rules as users see them.
 */
#include "decoder/decoder_internal.h"

#include <string.h>
#include <utf8proc.h>

int ac__is_word_cp(int32_t cp)
{
    if (cp < 0)
        return 1; /* a byte that does not decode: most likely a piece of a letter */
    if (cp < 128)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == '_' || cp == '\'';
    if (cp == 0x2019)
        return 1;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return 0;
    }
}

/* Decodes the character at s[0..n) into *cp (-1 when it does not decode) and returns its length
 * (1 for a byte that does not decode). */
static size_t next_cp(const char *s, size_t n, int32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    utf8proc_int32_t v;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &v);
    if (k <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return (size_t)k;
}

int ac__has_word_char(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += next_cp(s + i, n - i, &cp);
        if (ac__is_word_cp(cp))
            return 1;
    }
    return 0;
}

static int is_phrase_mark(int32_t cp)
{
    return cp == '.' || cp == ',' || cp == ';' || cp == ':' || cp == '!' || cp == '?';
}

int ac__stop_scan(int stop, int *state, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        size_t k = next_cp(s + i, n - i, &cp);
        int word = ac__is_word_cp(cp);
        int newline = cp == '\n' || cp == '\r';
        switch (stop) {
        case AC_STOP_WORD:
            /* Before the word begins, spaces and opening punctuation may lead it (" brown",
             * " \"Yes"); once it has begun, any other character ends it. At the end of the typed
             * word with nothing added, a space opens the next word (" States" after "the United")
             * and any other character but a word one ends the completion there (no ", the"). A
             * newline always ends. */
            if (!word && (newline || *state == AC__WORD_IN || (*state == AC__WORD_END && cp != ' ')))
                return (int)i;
            break;
        case AC_STOP_PHRASE:
            if (newline)
                return (int)i;
            if (is_phrase_mark(cp))
                return (int)(i + k);
            break;
        default: /* AC_STOP_LINE */
            if (newline)
                return (int)i;
            break;
        }
        *state = ac__word_state_after(*state, word);
        i += k;
    }
    return -1;
}

static int utf8_len_of_lead(unsigned char c)
{
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return 2;
    if (c >= 0xe0 && c <= 0xef) return 3;
    if (c >= 0xf0 && c <= 0xf4) return 4;
    return 0; /* a continuation byte or a byte UTF-8 never uses */
}

size_t ac__utf8_incomplete_tail(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xc0) == 0x80)
            continue; /* a continuation byte: the lead is further back */
        int len = utf8_len_of_lead(c);
        return len > (int)k ? k : 0;
    }
    return 0;
}

int ac__text_ends_in_word(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (ac__utf8_incomplete_tail(s, n))
        return 1; /* typing a multi-byte character: a letter, most likely */
    size_t start = n - 1;
    while (start > 0 && n - start < 4 && ((unsigned char)s[start] & 0xc0) == 0x80)
        start--;
    int32_t cp;
    next_cp(s + start, n - start, &cp);
    return ac__is_word_cp(cp);
}

size_t ac__utf8_keep(const char *pending, size_t np, const char *s, size_t n)
{
    size_t i = 0;
    if (np > 0) {
        /* Finish the typed character first: it needs `need` more bytes from s. */
        unsigned char ch[4];
        int len = utf8_len_of_lead((unsigned char)pending[0]);
        if (len <= (int)np || np > 3)
            return 0;
        size_t need = (size_t)len - np;
        if (n < need)
            return 0;
        memcpy(ch, pending, np);
        memcpy(ch + np, s, need);
        utf8proc_int32_t v;
        if (utf8proc_iterate(ch, len, &v) != len)
            return 0;
        i = need;
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t v;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &v);
        if (k <= 0)
            break;
        i += (size_t)k;
    }
    return i;
}

int ac__utf8_viable(const char *pending, size_t np, const char *s, size_t n)
{
    int need = 0;
    unsigned lo = 0x80, hi = 0xbf;
    for (size_t i = 0; i < np + n; i++) {
        unsigned c = (unsigned char)(i < np ? pending[i] : s[i - np]);
        if (need == 0) {
            if (c < 0x80)
                continue;
            lo = 0x80, hi = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) need = 1;
            else if (c == 0xe0) need = 2, lo = 0xa0;
            else if (c == 0xed) need = 2, hi = 0x9f;
            else if (c >= 0xe1 && c <= 0xef) need = 2;
            else if (c == 0xf0) need = 3, lo = 0x90;
            else if (c >= 0xf1 && c <= 0xf3) need = 3;
            else if (c == 0xf4) need = 3, hi = 0x8f;
            else return 0;
        } else {
            if (c < lo || c > hi)
                return 0;
            need--;
            lo = 0x80, hi = 0xbf;
        }
    }
    return 1;
}

/* Byte-level word test for the after-cursor boundaries: ASCII classes, other bytes as letters. */
static int word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '\'';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int ac__after_rule(const char *text, size_t *len, const char *after, size_t after_len)
{
    size_t n = *len;
    size_t t = n;
    while (t > 0 && is_space((unsigned char)text[t - 1]))
        t--;
    if (t == 0)
        return 0; /* only whitespace: nothing to show */
    if (after_len == 0 || !after)
        return 1;
    /* (1) It only repeats what is already after the cursor. */
    if (t <= after_len && memcmp(after, text, t) == 0 &&
        (t == after_len || !word_byte((unsigned char)text[t - 1]) || !word_byte((unsigned char)after[t])))
        return 0;
    /* (2) Its tail, from a word boundary, is what the text after the cursor starts with, up to a word
     * boundary there too: cut it (the longest such tail). */
    for (size_t b = 1; b < t; b++) {
        if (word_byte((unsigned char)text[b - 1]) && word_byte((unsigned char)text[b]))
            continue;
        size_t k = t - b; /* the tail text[b..t) */
        if (k > after_len || memcmp(text + b, after, k) != 0)
            continue;
        if (k < after_len && word_byte((unsigned char)text[t - 1]) && word_byte((unsigned char)after[k]))
            continue; /* the tail ends inside a word of the text after the cursor */
        int has_word = 0;
        for (size_t i = b; i < t && !has_word; i++)
            has_word = word_byte((unsigned char)text[i]);
        if (!has_word)
            continue;
        size_t nonspace = b;
        while (nonspace > 0 && is_space((unsigned char)text[nonspace - 1]))
            nonspace--;
        if (nonspace == 0)
            return 0; /* nothing but the repeated words and spaces */
        *len = b;     /* a space before the cut stays: the text after the cursor may need it */
        return 1;
    }
    return 1;
}
