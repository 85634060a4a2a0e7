/* Tests for the BPE trainer (src/tokenizer/bpe_train.c): against a naive twin (recount every pair
 * after every merge) on small random corpora full of ties and overlapping pairs, against the
 * committed tiny fixture (python/make_fixtures.py's learner and tie rule), determinism, documents
 * and separators, the files it writes, and its errors. */
#include "check.h"
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[128];

/* --- the naive twin ------------------------------------------------------------------------------- */

typedef struct naive {
    uint8_t *tok[8192];
    uint32_t len[8192];
    int32_t n_tok;
    int32_t merges[8192][2];
    int32_t n_merges;
    int32_t *words[20000]; /* symbol ids, -1 terminated */
    uint64_t count[20000];
    int n_words;
} naive;

static int32_t naive_find(const naive *v, const uint8_t *b, size_t n)
{
    for (int32_t i = 0; i < v->n_tok; i++)
        if (v->len[i] == n && !memcmp(v->tok[i], b, n))
            return i;
    return -1;
}

static int32_t naive_add(naive *v, const uint8_t *b, size_t n)
{
    v->tok[v->n_tok] = malloc(n);
    memcpy(v->tok[v->n_tok], b, n);
    v->len[v->n_tok] = (uint32_t)n;
    return v->n_tok++;
}

/* The code point order of GPT-2's byte-to-unicode strings. */
static int naive_cmp(const naive *v, int32_t x, int32_t y)
{
    for (uint32_t i = 0; i < v->len[x] && i < v->len[y]; i++) {
        uint32_t a = ac__byte_to_cp(v->tok[x][i]), b = ac__byte_to_cp(v->tok[y][i]);
        if (a != b)
            return a < b ? -1 : 1;
    }
    return v->len[x] < v->len[y] ? -1 : v->len[x] > v->len[y];
}

typedef struct collect_ctx {
    naive *v;
    const uint8_t *text;
} collect_ctx;

static void naive_collect(size_t start, size_t end, void *user)
{
    collect_ctx *c = user;
    naive *v = c->v;
    size_t n = end - start;
    if (n < 2 || n > 256)
        return;
    for (int w = 0; w < v->n_words; w++) { /* same word seen before? */
        int k = 0;
        while (v->words[w][k] >= 0 && (size_t)k < n && v->tok[v->words[w][k]][0] == c->text[start + k])
            k++;
        if ((size_t)k == n && v->words[w][k] < 0) {
            v->count[w]++;
            return;
        }
    }
    int32_t *s = malloc((n + 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = naive_find(v, c->text + start + i, 1);
    s[n] = -1;
    v->words[v->n_words] = s;
    v->count[v->n_words++] = 1;
}

/* Trains like make_fixtures.py's learn_merges: count every pair over the words, take the highest
 * count (ties: the smallest (left, right) strings), merge it everywhere, again; a result that is
 * already a token keeps that token's id. */
static void naive_train(naive *v, const char *text, size_t len, int32_t vocab_size)
{
    memset(v, 0, sizeof *v);
    for (int i = 0; i < 256; i++) {
        uint8_t b = ac__gpt2_byte(i);
        naive_add(v, &b, 1);
    }
    size_t pos = 0, dl;
    const char *doc;
    while (ac_corpus_next_doc(text, len, &pos, &doc, &dl)) {
        collect_ctx c = {v, (const uint8_t *)doc};
        ac_bpe_pretokenize(doc, dl, naive_collect, &c);
    }
    while (v->n_tok < vocab_size - 1) {
        int64_t best = 0;
        int32_t bl = -1, br = -1;
        /* plain quadratic scan: gather (l, r, count) for every distinct pair */
        static int32_t pl[1 << 16], pr[1 << 16];
        static int64_t pc[1 << 16];
        int np = 0;
        for (int w = 0; w < v->n_words; w++)
            for (int k = 0; v->words[w][k] >= 0 && v->words[w][k + 1] >= 0; k++) {
                int32_t l = v->words[w][k], r = v->words[w][k + 1];
                int j = 0;
                while (j < np && !(pl[j] == l && pr[j] == r))
                    j++;
                if (j == np) {
                    pl[np] = l;
                    pr[np] = r;
                    pc[np++] = 0;
                }
                pc[j] += (int64_t)v->count[w];
            }
        for (int j = 0; j < np; j++) {
            int better = pc[j] > best;
            if (pc[j] == best && bl >= 0) {
                int c = naive_cmp(v, pl[j], bl);
                if (!c)
                    c = naive_cmp(v, pr[j], br);
                better = c < 0;
            }
            if (better) {
                best = pc[j];
                bl = pl[j];
                br = pr[j];
            }
        }
        if (bl < 0)
            break;
        uint8_t joined[2048];
        memcpy(joined, v->tok[bl], v->len[bl]);
        memcpy(joined + v->len[bl], v->tok[br], v->len[br]);
        int32_t m = naive_find(v, joined, v->len[bl] + v->len[br]);
        if (m < 0)
            m = naive_add(v, joined, v->len[bl] + v->len[br]);
        v->merges[v->n_merges][0] = bl;
        v->merges[v->n_merges][1] = br;
        v->n_merges++;
        for (int w = 0; w < v->n_words; w++) {
            int32_t *s = v->words[w];
            int o = 0;
            for (int k = 0; s[k] >= 0;) {
                if (s[k + 1] >= 0 && s[k] == bl && s[k + 1] == br) {
                    s[o++] = m;
                    k += 2;
                } else {
                    s[o++] = s[k++];
                }
            }
            s[o] = -1;
        }
    }
    naive_add(v, (const uint8_t *)"<|endoftext|>", 13);
}

static void naive_free(naive *v)
{
    for (int32_t i = 0; i < v->n_tok; i++)
        free(v->tok[i]);
    for (int w = 0; w < v->n_words; w++)
        free(v->words[w]);
}

/* Trains with ac_bpe_train_memory into tmp and loads the result. */
static ac_bpe *train(const char *text, size_t len, int32_t vocab_size, char *err)
{
    ac_bpe_train_params p = ac_bpe_train_default_params();
    p.vocab_size = vocab_size;
    p.progress = NULL;
    if (ac_bpe_train_memory(text, len, tmp, &p, err))
        return NULL;
    ac_bpe *bpe;
    return ac_bpe_load(tmp, &bpe, err) ? NULL : bpe;
}

/* 1 if bpe holds exactly naive's tokens (by id) and merges (in order). */
static int same_as_naive(const ac_bpe *bpe, const naive *v, char *why, size_t why_len)
{
    if (ac_bpe_n_vocab(bpe) != v->n_tok || ac_bpe_n_merges(bpe) != v->n_merges) {
        snprintf(why, why_len, "%d ids and %d merges, naive %d and %d", (int)ac_bpe_n_vocab(bpe),
                 (int)ac_bpe_n_merges(bpe), (int)v->n_tok, (int)v->n_merges);
        return 0;
    }
    for (int32_t i = 0; i < v->n_tok; i++) {
        size_t n;
        const uint8_t *b = ac_bpe_token_bytes(bpe, i, &n);
        if (!b || n != v->len[i] || memcmp(b, v->tok[i], n)) {
            snprintf(why, why_len, "token %d differs", (int)i);
            return 0;
        }
    }
    for (int32_t r = 0; r < v->n_merges; r++)
        if (bpe->merges[r][0] != v->merges[r][0] || bpe->merges[r][1] != v->merges[r][1]) {
            snprintf(why, why_len, "merge %d differs", (int)r);
            return 0;
        }
    return 1;
}

static void trainer_matches_naive_twin(void)
{
    static naive v;
    char err[AC_ERR_SIZE], why[200];
    synth_seed(21);
    for (int round = 0; round < 40; round++) {
        /* words over a tiny alphabet: many equal counts (ties), runs like "aaaa" (overlaps) */
        char text[6000];
        size_t n = 0, want = 200 + synth_below(5000);
        const char *alpha = round % 2 ? "ab" : "abc d\n";
        while (n < want) {
            size_t wl = 1 + synth_below(round % 3 ? 6 : 30);
            for (size_t k = 0; k < wl && n < want; k++)
                text[n++] = alpha[synth_below((uint32_t)strlen(alpha))];
            if (n < want)
                text[n++] = synth_below(8) ? ' ' : '\n';
        }
        int32_t vocab_size = 257 + (int32_t)synth_below(60);
        ac_bpe *bpe = train(text, n, vocab_size, err);
        CHECKF(bpe != NULL, "round %d: %s", round, err);
        if (!bpe)
            continue;
        naive_train(&v, text, n, vocab_size);
        CHECKF(same_as_naive(bpe, &v, why, sizeof why), "round %d (%zu bytes, vocab %d): %s", round, n,
               (int)vocab_size, why);
        /* what it learned encodes its own corpus and round-trips */
        int32_t ids[6000];
        size_t k;
        ac_buf out = {0};
        CHECK(ac_bpe_encode(bpe, NULL, text, n, 0, ids, n, &k, err) == AC_OK);
        CHECK(ac_bpe_decode(bpe, ids, k, &out, err) == AC_OK && out.len == n && !memcmp(out.data, text, n));
        ac_buf_free(&out);
        naive_free(&v);
        ac_bpe_free(bpe);
    }
}

/* python/make_fixtures.py learns tests/fixtures/tiny from this text with 40 merges and the same tie
 * rule; the trainer must write the same two files, byte for byte. */
static const char FIXTURE_TRAIN_TEXT[] =
    "the quick brown fox jumps over the lazy dog. the dog sleeps in the sun, "
    "and the fox thinks that the dog is there. then the fox runs over the hill "
    "and the dog wakes up; they are the best of friends, the fox and the dog. "
    "in the morning there is rain, in the evening there is sun. "
    "she sells sea shells on the sea shore, and the shells she sells are sea shells. ";

static int same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL, err[AC_ERR_SIZE];
    size_t nx = 0, ny = 0;
    int same = !ac_file_read(a, 1 << 24, &x, &nx, err) && !ac_file_read(b, 1 << 24, &y, &ny, err) && nx == ny &&
               !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

static void trainer_reproduces_tiny_fixture(void)
{
    if (access("tests/fixtures/tiny/merges.txt", R_OK) != 0)
        SKIP("tests/fixtures/tiny is not there");
    char err[AC_ERR_SIZE], path[300];
    ac_bpe *bpe = train(FIXTURE_TRAIN_TEXT, sizeof FIXTURE_TRAIN_TEXT - 1, 256 + 40 + 1, err);
    CHECKF(bpe != NULL, "%s", err);
    ac_bpe_free(bpe);
    snprintf(path, sizeof path, "%s/merges.txt", tmp);
    CHECKF(same_file(path, "tests/fixtures/tiny/merges.txt"),
           "merges.txt differs from the fixture's (was the fixture made from another text?)");
    snprintf(path, sizeof path, "%s/vocab.json", tmp);
    CHECKF(same_file(path, "tests/fixtures/tiny/vocab.json"), "vocab.json differs from the fixture's");
}

static void trainer_is_deterministic_and_skips_separators(void)
{
    char err[AC_ERR_SIZE], a[300], b[300], cmd[700];
    /* documents separated by <|endoftext|> lines: the separator's characters are never learned */
    ac_buf corpus = {0};
    synth_seed(22);
    for (int d = 0; d < 200; d++) {
        for (int k = 0; k < 30; k++)
            ac_buf_printf(&corpus, "%s ", (const char *[]){"alpha", "beta", "gamma", "delta", "alphabet"}[synth_below(5)]);
        ac_buf_printf(&corpus, "\n<|endoftext|>\n");
    }
    ac_bpe *x = train(corpus.data, corpus.len, 400, err);
    CHECKF(x != NULL, "%s", err);
    if (!x)
        return;
    for (int32_t r = 0; r < ac_bpe_n_merges(x); r++) {
        size_t n;
        const uint8_t *t = ac_bpe_token_bytes(x, x->merges[r][0], &n);
        CHECKF(!memchr(t, '<', n) && !memchr(t, '|', n), "merge %d learned from a separator", (int)r);
    }
    CHECK(ac_bpe_n_vocab(x) < 400); /* this small corpus runs out of pairs */
    CHECK(ac_bpe_eot(x) == ac_bpe_n_vocab(x) - 1);
    snprintf(a, sizeof a, "%s/merges.txt", tmp);
    snprintf(b, sizeof b, "%s/first_merges.txt", tmp);
    snprintf(cmd, sizeof cmd, "cp %s %s", a, b);
    CHECK(system(cmd) == 0);
    ac_bpe *y = train(corpus.data, corpus.len, 400, err);
    CHECK(y != NULL && same_file(a, b));
    ac_bpe_free(x);
    ac_bpe_free(y);
    ac_buf_free(&corpus);
}

static void trainer_errors(void)
{
    char err[AC_ERR_SIZE];
    ac_bpe_train_params p = ac_bpe_train_default_params();
    p.progress = NULL;
    p.vocab_size = 100;
    CHECK(ac_bpe_train_memory("abc", 3, tmp, &p, err) == AC_E_ARG);
    p.vocab_size = 300;
    CHECK(ac_bpe_train("/nonexistent/corpus.txt", tmp, &p, err) == AC_E_IO);
    CHECK(strstr(err, "/nonexistent/corpus.txt") != NULL);
    CHECK(ac_bpe_train_memory("abc", 3, "/proc/no/such/dir", &p, err) == AC_E_IO);
    /* an empty corpus gives the 256 bytes and <|endoftext|> */
    ac_bpe *b;
    CHECK(ac_bpe_train_memory("", 0, tmp, &p, err) == AC_OK);
    CHECK(ac_bpe_load(tmp, &b, err) == AC_OK && ac_bpe_n_vocab(b) == 257 && ac_bpe_n_merges(b) == 0);
    ac_bpe_free(b);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/ac_tok_train_%d", (int)getpid());
    RUN(trainer_matches_naive_twin);
    RUN(trainer_reproduces_tiny_fixture);
    RUN(trainer_is_deterministic_and_skips_separators);
    RUN(trainer_errors);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_EXIT_CODE();
}
