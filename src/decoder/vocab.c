/* vocab.c: the decoder's tables over a vocabulary: each token's bytes, where each stop rule would cut
 * it, and a byte-sorted index for token healing's "consistent with the typed bytes" lookups.
 * Built once per completer from whatever tokenizer supplies the bytes; not a tokenizer itself.
 */
#include "decoder/decoder_internal.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX_BYTES 32767 /* stop offsets are int16 */

void ac__vocab_free(ac__vocab *v)
{
    if (!v)
        return;
    free(v->blob);
    free(v->off);
    free(v->special);
    free(v->control);
    for (int r = 0; r < AC__N_STOP; r++)
        for (int s = 0; s < AC__N_WORD_STATE; s++)
            free(v->stop_at[r][s]);
    free(v->sets_started);
    free(v->sorted);
    memset(v, 0, sizeof *v);
}

/* memcmp order, a prefix before its extensions. */
static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c)
        return c;
    return na < nb ? -1 : na > nb ? 1 : 0;
}

static int sorted_cmp(const void *pa, const void *pb, void *ctx)
{
    const ac__vocab *v = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    size_t na, nb;
    const char *sa = ac__vocab_bytes(v, a, &na), *sb = ac__vocab_bytes(v, b, &nb);
    int c = bytes_cmp(sa, na, sb, nb);
    return c ? c : (a > b) - (a < b); /* duplicates (should not happen) by id */
}

int ac__vocab_init(ac__vocab *v, int n_vocab, ac__token_bytes_fn get, void *ctx, int32_t eos, char *err)
{
    memset(v, 0, sizeof *v);
    if (n_vocab < 1)
        return ac__errorf(err, AC_E_ARG, "decoder: empty vocabulary");
    v->n_vocab = n_vocab;
    v->eos = eos >= 0 && eos < n_vocab ? eos : -1;
    size_t total = 0;
    for (int t = 0; t < n_vocab; t++) {
        size_t len;
        int special = 0;
        const char *b = get(ctx, t, &len, &special);
        if (!b)
            len = 0;
        if (len > TOKEN_MAX_BYTES)
            return ac__errorf(err, AC_E_ARG, "decoder: token %d is %zu bytes long (limit %d)", t, len,
                              TOKEN_MAX_BYTES);
        total += len;
    }
    v->blob = malloc(total + 1);
    v->off = malloc(sizeof(uint32_t) * ((size_t)n_vocab + 1));
    v->special = calloc((size_t)n_vocab, 1);
    v->control = calloc((size_t)n_vocab, 1);
    v->sets_started = calloc((size_t)n_vocab, 1);
    v->sorted = malloc(sizeof(int32_t) * (size_t)n_vocab);
    int ok = v->blob && v->off && v->special && v->control && v->sets_started && v->sorted;
    for (int r = 0; r < AC__N_STOP; r++)
        for (int s = 0; s < AC__N_WORD_STATE; s++)
            ok = ok && (v->stop_at[r][s] = malloc(sizeof(int16_t) * (size_t)n_vocab)) != NULL;
    if (!ok || total > UINT32_MAX) {
        ac__vocab_free(v);
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for the vocabulary tables");
    }
    size_t pos = 0;
    for (int t = 0; t < n_vocab; t++) {
        size_t len;
        int special = 0;
        const char *b = get(ctx, t, &len, &special);
        if (!b)
            len = 0;
        v->off[t] = (uint32_t)pos;
        if (len)
            memcpy(v->blob + pos, b, len);
        pos += len;
        /* An empty token would let a beam loop in place: never generate one. */
        v->special[t] = special || len == 0 || t == v->eos;
        for (size_t i = 0; i < len && !v->special[t]; i++) {
            unsigned char c = (unsigned char)b[i];
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                v->control[t] = 1;
        }
        if ((int)len > v->max_len)
            v->max_len = (int)len;
    }
    v->off[n_vocab] = (uint32_t)pos;
    v->blob[pos] = 0;

    for (int t = 0; t < n_vocab; t++) {
        size_t len;
        const char *b = ac__vocab_bytes(v, t, &len);
        for (int r = 0; r < AC__N_STOP; r++)
            for (int s = 0; s < AC__N_WORD_STATE; s++) {
                int state = s;
                v->stop_at[r][s][t] = (int16_t)(v->special[t] ? -1 : ac__stop_scan(r, &state, b, len));
            }
        v->sets_started[t] = (uint8_t)(!v->special[t] && ac__has_word_char(b, len));
    }

    v->n_sorted = 0;
    for (int t = 0; t < n_vocab; t++)
        if (!v->special[t])
            v->sorted[v->n_sorted++] = t;
    qsort_r(v->sorted, (size_t)v->n_sorted, sizeof(int32_t), sorted_cmp, v);
    return AC_OK;
}

/* The first index in sorted[] whose token is >= r[0..n). */
static int lower_bound(const ac__vocab *v, const char *r, size_t n)
{
    int lo = 0, hi = v->n_sorted;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        size_t len;
        const char *b = ac__vocab_bytes(v, v->sorted[mid], &len);
        if (bytes_cmp(b, len, r, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ac__vocab_consistent(const ac__vocab *v, const char *r, size_t n, int32_t *out)
{
    int count = 0;
    /* Tokens that are a proper prefix of r: at most one per length. */
    for (size_t j = 1; j < n; j++) {
        int i = lower_bound(v, r, j);
        if (i < v->n_sorted) {
            size_t len;
            const char *b = ac__vocab_bytes(v, v->sorted[i], &len);
            if (len == j && memcmp(b, r, j) == 0)
                out[count++] = v->sorted[i];
        }
    }
    /* Tokens that start with r: a contiguous run of the sorted index. */
    for (int i = lower_bound(v, r, n); i < v->n_sorted; i++) {
        size_t len;
        const char *b = ac__vocab_bytes(v, v->sorted[i], &len);
        if (len < n || memcmp(b, r, n) != 0)
            break;
        out[count++] = v->sorted[i];
    }
    return count;
}

int ac__vocab_has_prefix(const ac__vocab *v, const char *r, size_t n)
{
    int i = lower_bound(v, r, n);
    if (i >= v->n_sorted)
        return 0;
    size_t len;
    const char *b = ac__vocab_bytes(v, v->sorted[i], &len);
    return len >= n && memcmp(b, r, n) == 0;
}
