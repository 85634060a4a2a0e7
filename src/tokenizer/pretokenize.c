/* pretokenize.c: GPT-2's pre-tokenizer, exact for every byte string.
 *
 * The pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ is run as a
 * hand-written scanner instead of a regex engine: at each position the alternatives are tried in
 * the pattern's order, which for this pattern reduces to looking at the first one or two characters
 * (see ac__pretok_next). Classes: utf8proc's general categories for \p{L} and \p{N}, JavaScript's
 * \s for spaces (the reference is js-tiktoken), each invalid UTF-8 byte a character of class
 * "other". This file is the splitting only; BPE is in bpe.c. */
#include "tokenizer/bpe_internal.h"

#include <pthread.h>
#include <utf8proc.h>

/* JavaScript's \s (WhiteSpace + LineTerminator, ECMA-262): TAB LF VT FF CR SPACE NBSP, the Zs
 * category, LS, PS and the BOM. Not U+0085 (NEL) nor U+180E: unlike Python's or Rust's \s. */
static int is_js_space(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int ac__cp_class(uint32_t cp)
{
    if (is_js_space(cp))
        return AC__CLS_SPACE;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return AC__CLS_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return AC__CLS_NUMBER;
    default:
        return AC__CLS_OTHER;
    }
}

/* Classes of the Basic Multilingual Plane, 2 bits per code point (16 KiB), and of ASCII, one byte
 * each: built once from ac__cp_class, so the scanner does one table load per character. */
static uint8_t bmp_class[0x10000 / 4];
static uint8_t ascii_class[128];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build(void)
{
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        int k = (cp >= 0xD800 && cp <= 0xDFFF) ? AC__CLS_OTHER : ac__cp_class(cp);
        bmp_class[cp >> 2] |= (uint8_t)(k << (2 * (cp & 3)));
        if (cp < 128)
            ascii_class[cp] = (uint8_t)k;
    }
}

/* The class of the character at s[i] (i < len) and its length in *n. An invalid sequence is one
 * byte of class OTHER: a byte that does not begin a well-formed UTF-8 sequence (Unicode's Table
 * 3-7: no overlongs, no surrogates, nothing above U+10FFFF). */
static inline int char_at(const uint8_t *s, size_t len, size_t i, size_t *n)
{
    uint8_t b = s[i];
    if (b < 0x80) {
        *n = 1;
        return ascii_class[b];
    }
    size_t left = len - i;
    uint32_t cp;
    if (b >= 0xC2 && b <= 0xDF) {
        if (left >= 2 && (s[i + 1] & 0xC0) == 0x80) {
            *n = 2;
            cp = (uint32_t)(b & 0x1F) << 6 | (s[i + 1] & 0x3F);
            return (bmp_class[cp >> 2] >> (2 * (cp & 3))) & 3;
        }
    } else if (b >= 0xE0 && b <= 0xEF) {
        uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        if (left >= 3 && s[i + 1] >= lo && s[i + 1] <= hi && (s[i + 2] & 0xC0) == 0x80) {
            *n = 3;
            cp = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
            return (bmp_class[cp >> 2] >> (2 * (cp & 3))) & 3;
        }
    } else if (b >= 0xF0 && b <= 0xF4) {
        uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        if (left >= 4 && s[i + 1] >= lo && s[i + 1] <= hi && (s[i + 2] & 0xC0) == 0x80 &&
            (s[i + 3] & 0xC0) == 0x80) {
            *n = 4;
            cp = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                 (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
            return ac__cp_class(cp);
        }
    }
    *n = 1;
    return AC__CLS_OTHER;
}

/* End of the run of class k that goes on at s[j]. */
static inline size_t run_end(const uint8_t *s, size_t len, size_t j, int k)
{
    while (j < len) {
        if (s[j] < 0x80) {
            if (ascii_class[s[j]] != k)
                break;
            j++;
            continue;
        }
        size_t n;
        if (char_at(s, len, j, &n) != k)
            break;
        j += n;
    }
    return j;
}

size_t ac__pretok_next(const uint8_t *s, size_t len, size_t i)
{
    uint8_t b = s[i];
    /* 's|'t|'re|'ve|'m|'ll|'d */
    if (b == '\'' && i + 1 < len) {
        uint8_t c = s[i + 1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd')
            return i + 2;
        if (i + 2 < len && (((c == 'r' || c == 'v') && s[i + 2] == 'e') || (c == 'l' && s[i + 2] == 'l')))
            return i + 3;
    }
    /* ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+' with the space: a space followed by a non-space */
    if (b == ' ' && i + 1 < len) {
        size_t n2;
        int k2 = char_at(s, len, i + 1, &n2);
        if (k2 != AC__CLS_SPACE)
            return run_end(s, len, i + 1 + n2, k2);
    }
    size_t n;
    int k = char_at(s, len, i, &n);
    if (k != AC__CLS_SPACE)
        return run_end(s, len, i + n, k); /* the same three without the space */
    /* \s+(?!\S)|\s+ : the whole run of spaces if it ends the text; else the run less its last
     * character, which then goes with what follows (or stands alone); a run of one stands alone. */
    size_t j = i + n, last = i, count = 1;
    while (j < len && char_at(s, len, j, &n) == AC__CLS_SPACE) {
        last = j;
        j += n;
        count++;
    }
    if (j == len || count == 1)
        return j;
    return last;
}

size_t ac_bpe_pretokenize(const void *text, size_t len, void (*fn)(size_t start, size_t end, void *user),
                          void *user)
{
    pthread_once(&tables_once, tables_build);
    const uint8_t *s = text;
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        size_t end = ac__pretok_next(s, len, i);
        if (fn)
            fn(i, end, user);
        count++;
        i = end;
    }
    return count;
}

/* Internal users call this before ac__pretok_next (ac_bpe_pretokenize does it itself). */
void ac__pretok_init(void)
{
    pthread_once(&tables_once, tables_build);
}
