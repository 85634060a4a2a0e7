/* terminal.c: text made safe to print on a terminal (see ac_buf_append_for_terminal in
 * include/autocorrect/common.h). Model output can hold any byte; a completion printed raw could
 * move the cursor, retitle the window or ring the bell. Not here: JSON escaping (jansson). */
#include "autocorrect/common.h"

#include <stdint.h>

/* Decodes the UTF-8 character at s[0..n): its length, or 0 when the bytes there are not valid
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    uint32_t v = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3F);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    *cp = v;
    return len;
}

/* A control character a terminal would act on: C0 (but TAB, LF, CR: the caller decides), DEL, C1. */
static int is_terminal_control(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

int ac_buf_append_for_terminal(ac_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    int rc = AC_OK;
    for (size_t i = 0; i < n && rc == AC_OK;) {
        uint32_t cp = 0;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (cp == '\r' && i + 1 < n && u[i + 1] == '\n')
            len = 2;
        if (len && (cp == '\n' || cp == '\r'))
            rc = ac_buf_append(b, " ", 1);
        else if (len && !is_terminal_control(cp))
            rc = ac_buf_append(b, s + i, len);
        else
            rc = ac_buf_append(b, "\xEF\xBF\xBD", 3);
        i += len ? len : 1;
    }
    return rc;
}
