/* bytes_unicode.c: GPT-2's reversible map between bytes and printable code points, in which
 * vocab.json and merges.txt write token strings (a space is "Ġ", a newline "Ċ").
 * This file is the map and its conversions; it is not the pre-tokenizer's Unicode classes
 * (pretokenize.c). */
#include "tokenizer/bpe_internal.h"

#include <string.h>

int ac__cp_to_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp >= 256 && cp <= 256 + 32)
        return (int)(cp - 256);
    if (cp >= 256 + 33 && cp <= 256 + 66)
        return (int)(cp - 256 - 33 + 0x7F);
    if (cp == 256 + 67)
        return 0xAD;
    return -1;
}

typedef struct byte_range {
    uint8_t first, last;
} byte_range;

uint8_t ac__gpt2_byte(int i)
{
    /* ids 0..187: the bytes that map to themselves, in order; 188..255: the others, in order. */
    static const byte_range printable[3] = {{0x21, 0x7E}, {0xA1, 0xAC}, {0xAE, 0xFF}};
    static const byte_range other[3] = {{0x00, 0x20}, {0x7F, 0xA0}, {0xAD, 0xAD}};
    const byte_range *r = i < 188 ? printable : other;
    int k = i < 188 ? i : i - 188;
    for (int j = 0; j < 3; j++) {
        int n = r[j].last - r[j].first + 1;
        if (k < n)
            return (uint8_t)(r[j].first + k);
        k -= n;
    }
    return 0; /* not reached for 0 <= i < 256 */
}

/* Decodes one UTF-8 character of s[0..len) (len >= 1) into *cp; returns its length, 0 if invalid. */
static size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF && len >= 2 && (s[1] & 0xC0) == 0x80) {
        *cp = (uint32_t)(b & 0x1F) << 6 | (s[1] & 0x3F);
        return 2;
    }
    if (b >= 0xE0 && b <= 0xEF && len >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        uint32_t c = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        *cp = c;
        return 3;
    }
    return 0; /* the map's code points are all below U+0800; anything longer is not in it */
}

int ac__unicode_to_bytes(const char *str, size_t len, uint8_t *out, size_t *out_len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp;
        size_t k = utf8_decode(s + i, len - i, &cp);
        if (!k)
            return -1;
        int b = ac__cp_to_byte(cp);
        if (b < 0)
            return -1;
        out[n++] = (uint8_t)b;
        i += k;
    }
    *out_len = n;
    return 0;
}

int ac__bytes_to_unicode(const uint8_t *bytes, size_t n, ac_buf *out)
{
    if (ac_buf_reserve(out, 2 * n))
        return AC_E_NOMEM;
    char *p = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = ac__byte_to_cp(bytes[i]);
        if (cp < 0x80) {
            *p++ = (char)cp;
        } else {
            *p++ = (char)(0xC0 | (cp >> 6));
            *p++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = 0;
    return AC_OK;
}
