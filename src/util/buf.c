/* The growable byte buffer (see include/autocorrect/common.h). */
#include "autocorrect/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ac_buf_reserve(ac_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return AC_E_NOMEM;
    size_t need = b->len + extra + 1; /* +1 keeps room for the terminating NUL */
    if (need <= b->cap)
        return AC_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data)
        return AC_E_NOMEM;
    b->data = data;
    b->cap = cap;
    return AC_OK;
}

int ac_buf_append(ac_buf *b, const void *bytes, size_t n)
{
    int rc = ac_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = 0;
    return AC_OK;
}

int ac_buf_printf(ac_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AC_E_ARG;
    int rc = ac_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AC_OK;
}

void ac_buf_consume(ac_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = 0;
}

void ac_buf_free(ac_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
