/* fuzz_tokenizer.c: libFuzzer entry for the tokenizer (src/tokenizer/): encode and decode, the
 * stream decoder, the prefix lookups and the three file parsers, on arbitrary bytes.
 *
 * The first input byte picks what to do with the rest:
 *   0: encode it (flags from the byte's high bit) with and without the cache; abort unless both give
 *      the same ids and decode(ids) == input, the stream decoder gives the same bytes and never
 *      shows half a character, and the prefix lookups return only tokens that fit the input.
 *   1: decode it as little-endian int32 ids (bad ids must be refused, never crash).
 *   2: parse it as vocab.json + merges.txt (split at the first NUL); if it loads, mode 0 on a text.
 *   3: parse it as tokenizer.json; likewise.
 *   4: split it into corpus documents; abort unless they come in order and inside the input.
 * The tokenizer is the one at $AC_FUZZ_TOKENIZER (GPT-2's files, say), or else a small one built
 * in memory, so the fuzzer needs no files.
 *
 * Build and run:  make fuzz && build/fuzz/fuzz_tokenizer -max_total_time=60 [CORPUS_DIR]
 * tests/tokenizer/test_tokenizer_fuzz.c includes this file and runs the entry point on generated
 * inputs in every `make test`. */
#include "autocorrect/tokenizer.h"
#include "tokenizer/bpe_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ac_bpe *fuzz_bpe;
static ac_bpe_cache *fuzz_cache;

#define FUZZ_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_tokenizer: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); abort(); } } while (0)

/* 256 bytes, a few merges over "the", "an", "in", spaces and "é", and <|endoftext|>. */
static ac_bpe *fuzz_builtin(void)
{
    static const char *merges[] = {"t h", "th e", "Ġ th", "Ġth e", "a n", "i n", "Ġ a", "Ġa n", "Ġ Ġ", "ĠĠ ĠĠ",
                                   "Ã ©", "e Ã©", "Ġ i", "Ġi n", "n d", "an d", "Ġan d", "Ċ Ċ"};
    ac_buf v = {0}, m = {0};
    ac_buf_append(&v, "{", 1);
    int id = 0;
    for (; id < 256; id++) {
        uint8_t b = ac__gpt2_byte(id);
        ac_buf_append(&v, id ? ", \"" : "\"", id ? 3 : 1);
        if (b == '"' || b == '\\')
            ac_buf_append(&v, "\\", 1);
        ac__bytes_to_unicode(&b, 1, &v);
        ac_buf_printf(&v, "\": %d", id);
    }
    ac_buf_append(&m, "#version: 0.2\n", 14);
    for (size_t k = 0; k < sizeof merges / sizeof merges[0]; k++) {
        const char *sp = strchr(merges[k], ' ');
        ac_buf_printf(&v, ", \"%.*s%s\": %d", (int)(sp - merges[k]), merges[k], sp + 1, id++);
        ac_buf_printf(&m, "%s\n", merges[k]);
    }
    ac_buf_printf(&v, ", \"<|endoftext|>\": %d}", id);
    ac_bpe *bpe = NULL;
    char err[AC_ERR_SIZE];
    if (ac_bpe_load_memory(v.data, v.len, "builtin vocab", m.data, m.len, "builtin merges", &bpe, err))
        fprintf(stderr, "fuzz_tokenizer: %s\n", err);
    ac_buf_free(&v);
    ac_buf_free(&m);
    return bpe;
}

static void fuzz_setup(void)
{
    char err[AC_ERR_SIZE];
    const char *path = getenv("AC_FUZZ_TOKENIZER");
    if (path && ac_bpe_load(path, &fuzz_bpe, err))
        fprintf(stderr, "fuzz_tokenizer: %s; using the built-in tokenizer\n", err);
    if (!fuzz_bpe)
        fuzz_bpe = fuzz_builtin();
    fuzz_cache = ac_bpe_cache_new(64 << 10); /* small, so that it fills and empties itself */
    FUZZ_CHECK(fuzz_bpe && fuzz_cache);
}

static void fuzz_roundtrip(const ac_bpe *bpe, ac_bpe_cache *cache, const uint8_t *text, size_t len, unsigned flags)
{
    char err[AC_ERR_SIZE];
    int32_t *ids = malloc((len + 1) * sizeof *ids), *again = malloc((len + 1) * sizeof *again);
    FUZZ_CHECK(ids && again);
    size_t n, n2;
    FUZZ_CHECK(ac_bpe_encode(bpe, cache, text, len, flags, ids, len, &n, err) == AC_OK);
    FUZZ_CHECK(ac_bpe_encode(bpe, NULL, text, len, flags, again, len, &n2, err) == AC_OK);
    FUZZ_CHECK(n == n2 && !memcmp(ids, again, n * sizeof *ids));
    if (n > 1) /* a capacity one short is reported, never overrun */
        FUZZ_CHECK(ac_bpe_encode(bpe, NULL, text, len, flags, again, n - 1, &n2, err) == AC_E_LIMIT && n2 <= n - 1);
    ac_buf out = {0}, streamed = {0};
    FUZZ_CHECK(ac_bpe_decode(bpe, ids, n, &out, err) == AC_OK);
    FUZZ_CHECK(out.len == len && (len == 0 || !memcmp(out.data, text, len)));
    ac_bpe_stream s;
    ac_bpe_stream_init(&s);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(ac_bpe_stream_push(&s, bpe, ids[i], &streamed, err) == AC_OK);
        /* what is shown never ends inside a character that the held bytes could still complete */
        size_t shown = streamed.len;
        FUZZ_CHECK(ac_buf_append(&streamed, s.held, s.n_held) == AC_OK);
        FUZZ_CHECK(ac_utf8_complete_len(streamed.data, streamed.len) >= shown);
        streamed.len = shown;
        streamed.data[shown] = 0;
    }
    FUZZ_CHECK(ac_bpe_stream_flush(&s, &streamed) == AC_OK);
    FUZZ_CHECK(streamed.len == len && (len == 0 || !memcmp(streamed.data, text, len)));
    /* prefix lookups on the first bytes */
    size_t k = len < 12 ? len : 12;
    const int32_t *with;
    size_t nw = ac_bpe_tokens_with_prefix(bpe, text, k, &with);
    for (size_t i = 0; i < nw; i++) {
        size_t tl;
        const uint8_t *t = ac_bpe_token_bytes(bpe, with[i], &tl);
        FUZZ_CHECK(t && tl >= k && !memcmp(t, text, k) && !ac_bpe_is_special(bpe, with[i]));
    }
    int32_t pre[64];
    size_t np = ac_bpe_tokens_prefix_of(bpe, text, len < 256 ? len : 256, pre, 64);
    size_t last = 0;
    for (size_t i = 0; i < np && i < 64; i++) {
        size_t tl;
        const uint8_t *t = ac_bpe_token_bytes(bpe, pre[i], &tl);
        FUZZ_CHECK(t && tl > last && tl <= len && !memcmp(t, text, tl)); /* shortest first */
        last = tl;
    }
    ac_buf_free(&out);
    ac_buf_free(&streamed);
    free(ids);
    free(again);
}

static void fuzz_loaded(ac_bpe *bpe)
{
    static const char probe[] = "the and in \xC3\xA9t\xC3\xA9 <|endoftext|> \xFF\xF0\x9F\x98 'S  \n\n";
    if (bpe) {
        fuzz_roundtrip(bpe, NULL, (const uint8_t *)probe, sizeof probe - 1, AC_BPE_SPECIAL);
        ac_bpe_free(bpe);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_bpe)
        fuzz_setup();
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    char err[AC_ERR_SIZE];
    switch (mode % 5) {
    case 0:
        fuzz_roundtrip(fuzz_bpe, fuzz_cache, data, size, mode & 0x80 ? AC_BPE_SPECIAL : 0);
        break;
    case 1: {
        size_t n = size / 4;
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        FUZZ_CHECK(ids);
        memcpy(ids, data, n * 4);
        ac_buf out = {0};
        int rc = ac_bpe_decode(fuzz_bpe, ids, n, &out, err);
        int all_ok = 1;
        for (size_t i = 0; i < n; i++)
            all_ok &= ac_bpe_token_bytes(fuzz_bpe, ids[i], NULL) != NULL;
        FUZZ_CHECK((rc == AC_OK) == all_ok);
        ac_buf_free(&out);
        free(ids);
        break;
    }
    case 2: {
        const uint8_t *nul = memchr(data, 0, size);
        size_t vl = nul ? (size_t)(nul - data) : size;
        ac_bpe *bpe = NULL;
        if (ac_bpe_load_memory((const char *)data, vl, "vocab", nul ? (const char *)nul + 1 : "",
                               nul ? size - vl - 1 : 0, "merges", &bpe, err) == AC_OK)
            fuzz_loaded(bpe);
        else
            FUZZ_CHECK(bpe == NULL && memchr(err, 0, AC_ERR_SIZE));
        break;
    }
    case 3: {
        ac_bpe *bpe = NULL;
        if (ac_bpe_load_tokenizer_json((const char *)data, size, "tokenizer.json", &bpe, err) == AC_OK)
            fuzz_loaded(bpe);
        else
            FUZZ_CHECK(bpe == NULL && memchr(err, 0, AC_ERR_SIZE));
        break;
    }
    default: {
        size_t pos = 0, last_end = 0, doc_len;
        const char *doc;
        const char *text = (const char *)data;
        while (ac_corpus_next_doc(text, size, &pos, &doc, &doc_len)) {
            FUZZ_CHECK(doc >= text + last_end && doc_len > 0 && doc + doc_len <= text + size && pos <= size);
            last_end = (size_t)(doc - text) + doc_len;
        }
        break;
    }
    }
    return 0;
}
