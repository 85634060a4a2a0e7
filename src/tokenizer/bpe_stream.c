/* bpe_stream.c: incremental decoding for ghost text: ids in, text out, never ending inside a UTF-8
 * character that the next token could still complete. Not a validator: bytes that can never be
 * valid UTF-8 pass through unchanged, so the stream's output is exactly ac_bpe_decode's. */
#include "tokenizer/bpe_internal.h"

#include <string.h>

size_t ac_utf8_complete_len(const void *bytes, size_t len)
{
    const uint8_t *s = bytes;
    size_t i = len, back = 0;
    while (i > 0 && back < 4 && (s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0 || back >= 4)
        return len; /* only continuation bytes: nothing can complete them */
    size_t lead = i - 1;
    uint8_t b = s[lead];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0;
        if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90;
        if (b == 0xF4)
            hi = 0x8F;
    } else {
        return len; /* ASCII, or a byte that never starts a character */
    }
    size_t have = len - lead;
    if (have >= need)
        return len; /* complete (or broken beyond repair) */
    if (have >= 2 && (s[lead + 1] < lo || s[lead + 1] > hi))
        return len; /* can never become a valid character */
    return lead;
}

void ac_bpe_stream_init(ac_bpe_stream *s)
{
    memset(s, 0, sizeof *s);
}

int ac_bpe_stream_push(ac_bpe_stream *s, const ac_bpe *bpe, int32_t id, ac_buf *out, char *err)
{
    size_t n;
    const uint8_t *bytes = ac_bpe_token_bytes(bpe, id, &n);
    if (!bytes)
        return ac__errorf(err, AC_E_ARG, "token id %d is not in the vocabulary", (int)id);
    if (ac_buf_reserve(out, s->n_held + n))
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    size_t start = out->len;
    memcpy(out->data + out->len, s->held, s->n_held);
    memcpy(out->data + out->len + s->n_held, bytes, n);
    size_t total = s->n_held + n;
    size_t keep = ac_utf8_complete_len(out->data + start, total);
    s->n_held = (uint8_t)(total - keep);
    memcpy(s->held, out->data + start + keep, s->n_held);
    out->len = start + keep;
    out->data[out->len] = 0;
    return AC_OK;
}

int ac_bpe_stream_flush(ac_bpe_stream *s, ac_buf *out)
{
    int rc = ac_buf_append(out, s->held, s->n_held);
    if (!rc)
        s->n_held = 0;
    return rc;
}
