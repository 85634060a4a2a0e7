/* Tests for ac_complete on the tiny fixture model (tests/fixtures/tiny, a random 2-layer GPT-2 with a
 * 40-merge tokenizer; `make fixtures` writes it): token healing, the cache (identical results, the
 * cost of a keystroke in prefilled tokens), memory per cache, the window cut, the correction hook,
 * cancel and argument errors. The model is random, so the tests assert properties and compare against the engine run
 * directly, never fixed strings.
 */
#include "check.h"
#include "autocorrect/decoder.h"
#include "autocorrect/tokenizer.h"
#include "decoder/decoder_internal.h"

#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/tiny"
#define AC__KV_BLOCK_POSITIONS 16 /* the engine's KV block (engine.h, "Memory") */

static ac_model *model;
static ac_bpe *bpe;
static ac_completer *completer;
static char err[AC_ERR_SIZE];

static ac_complete_params test_params(void)
{
    ac_complete_params p = ac_complete_default_params();
    p.min_score = -INFINITY; /* a random model is never confident: keep everything */
    p.beam_width = 5;
    p.max_tokens = 4;
    return p;
}

static int complete_str(ac_complete_cache *cache, const char *text, const ac_complete_params *p,
                        ac_complete_result *r)
{
    int rc = ac_complete(completer, cache, text, strlen(text), p, r, err);
    if (rc)
        fprintf(stderr, "  ac_complete(\"%s\"): %s\n", text, err);
    return rc;
}

/* 1 when two results hold the same completions with the same scores. */
static int same_result(const ac_complete_result *a, const ac_complete_result *b, char *why, size_t n)
{
    if (a->n != b->n) {
        snprintf(why, n, "%d completions against %d", a->n, b->n);
        return 0;
    }
    for (int i = 0; i < a->n; i++) {
        if (a->items[i].len != b->items[i].len || memcmp(a->items[i].text, b->items[i].text, a->items[i].len)) {
            snprintf(why, n, "completion %d: \"%s\" against \"%s\"", i, a->items[i].text, b->items[i].text);
            return 0;
        }
        if (a->items[i].score != b->items[i].score) {
            snprintf(why, n, "completion %d \"%s\": score %.9g against %.9g", i, a->items[i].text,
                     (double)a->items[i].score, (double)b->items[i].score);
            return 0;
        }
    }
    return 1;
}

static void healing_mid_word_extends_the_word(void)
{
    /* With the word rule, a completion of a text ending in a word continues that word (its first
     * character is a word character) or, after one space, is the next word (the typed word may be
     * whole): the rule, from the typed word's end, never stops inside it. */
    const char *texts[] = {"the quick bro", "she sells sea sh", "the fox and the do", "in the mor", "the f"};
    ac_complete_params p = test_params();
    p.stop = AC_STOP_WORD;
    p.order = AC_ORDER_SCORE; /* for the check that scores come best first */
    int total = 0, extend = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ac_complete_result r;
        CHECK(complete_str(NULL, texts[i], &p, &r) == AC_OK);
        for (int j = 0; j < r.n; j++) {
            const char *t = r.items[j].text;
            CHECKF(r.items[j].len > 0 && (ac__has_word_char(t, 1) || t[0] == ' '),
                   "\"%s\" + \"%s\" neither extends the word nor starts the next", texts[i], t);
            extend += r.items[j].len > 0 && ac__has_word_char(t, 1);
            int state = AC__WORD_END;
            CHECKF(ac__stop_scan(AC_STOP_WORD, &state, t, r.items[j].len) == -1,
                   "\"%s\" + \"%s\" goes past the word", texts[i], t);
            CHECK(r.items[j].score <= 0);
            if (j > 0)
                CHECK(r.items[j].score <= r.items[j - 1].score);
        }
        total += r.n;
        ac_complete_result_free(&r);
    }
    CHECK(total > 0 && extend > 0);
}

static void healing_matches_the_engine(void)
{
    /* "the fo" encodes as ... " f" "o"; healing takes both off (one word in two tokens) and requires
     * " fo". The only tiny-vocabulary tokens consistent with it are " ", " f" and " fox", so with one
     * token to decode the only completion is "x", scored log p(" fox") renormalised over those three,
     * which the engine run directly on encode("the") must agree with. */
    ac_complete_params p = test_params();
    p.stop = AC_STOP_LINE;
    p.max_tokens = 1;
    p.beam_width = 3;
    ac_complete_result r;
    CHECK(complete_str(NULL, "the fo", &p, &r) == AC_OK);
    CHECK(r.n == 1);
    if (r.n == 1)
        CHECK_STR(r.items[0].text, "x");

    int32_t ids[16];
    size_t n = 0;
    ids[0] = ac_bpe_eot(bpe);
    CHECK(ac_bpe_encode(bpe, NULL, "the", 3, 0, ids + 1, 15, &n, err) == AC_OK);
    int32_t sp = ac_bpe_token_id(bpe, " ", 1), f = ac_bpe_token_id(bpe, " f", 2), fox = ac_bpe_token_id(bpe, " fox", 4);
    CHECK(sp >= 0 && f >= 0 && fox >= 0);
    ac_session *s;
    CHECK(ac_session_new(model, NULL, &s, err) == AC_OK);
    int nv = ac_model_dims(model).n_vocab;
    float *logits = malloc(sizeof(float) * (size_t)nv);
    CHECK(ac_session_prefill(s, ids, (int)n + 1, NULL, logits, 0, err) == AC_OK);
    double m = fmax(logits[sp], fmax(logits[f], logits[fox]));
    double lse = m + log(exp(logits[sp] - m) + exp(logits[f] - m) + exp(logits[fox] - m));
    if (r.n == 1)
        CHECK_NEAR(r.items[0].score, logits[fox] - lse, 1e-5);
    free(logits);
    ac_session_free(s);
    ac_complete_result_free(&r);
}

static void healing_inside_a_utf8_character(void)
{
    /* The text ends with the first byte of a two-byte character ("caf" + 0xC3): every completion
     * starts with the bytes that finish it (a continuation byte), so text + completion is valid. */
    ac_complete_params p = test_params();
    p.stop = AC_STOP_LINE;
    p.max_tokens = 5;
    ac_complete_result r;
    CHECK(complete_str(NULL, "the caf\xc3", &p, &r) == AC_OK);
    CHECK(r.n > 0);
    for (int j = 0; j < r.n; j++) {
        unsigned char c0 = (unsigned char)r.items[j].text[0];
        CHECKF(c0 >= 0x80 && c0 <= 0xbf, "completion %d starts with byte 0x%02x", j, c0);
        CHECK(ac__utf8_keep("\xc3", 1, r.items[j].text, r.items[j].len) == r.items[j].len);
    }
    ac_complete_result_free(&r);
}

/* Types `text` one character at a time into one cache; every keystroke's result must equal a cold
 * run's, and must prefill at most 2 new tokens after the first. */
static void type_and_compare(ac_complete_cache *cache, const char *text, const ac_complete_params *p,
                             int *max_new, int *checked)
{
    size_t n = strlen(text);
    for (size_t i = 1; i <= n; i++) {
        char prefix[400];
        memcpy(prefix, text, i);
        prefix[i] = 0;
        ac_complete_result warm, cold;
        CHECK(complete_str(cache, prefix, p, &warm) == AC_OK);
        CHECK(complete_str(NULL, prefix, p, &cold) == AC_OK);
        char why[160];
        CHECKF(same_result(&warm, &cold, why, sizeof why), "\"%.80s\": cached and cold differ: %.200s", prefix, why);
        CHECK(warm.timings.cached_tokens + warm.timings.new_tokens == warm.timings.context_tokens);
        CHECK(cold.timings.cached_tokens == 0);
        if (i > 1 && warm.timings.new_tokens > *max_new)
            *max_new = warm.timings.new_tokens;
        CHECKF(i == 1 || warm.timings.new_tokens <= 2, "\"%.80s\": %d new tokens for one more character", prefix,
               warm.timings.new_tokens);
        (*checked)++;
        ac_complete_result_free(&warm);
        ac_complete_result_free(&cold);
    }
}

static void cache_reuse_is_identical_and_cheap(void)
{
    ac_complete_cache *cache;
    CHECK(ac_complete_cache_new(completer, NULL, &cache, err) == AC_OK);
    ac_complete_params p = test_params();
    int max_new = 0, checked = 0;
    type_and_compare(cache, "she sells sea shells on the sea shore", &p, &max_new, &checked);
    p.stop = AC_STOP_WORD;
    type_and_compare(cache, "the dog is there. then the fox", &p, &max_new, &checked);
    CHECK(checked > 60);
    printf("  %d keystrokes: cached results equal cold ones; at most %d new tokens per keystroke\n", checked,
           max_new);

    /* Back to an earlier context (another slot, LRU): reused, nothing to prefill, same answer. */
    ac_complete_result a, b;
    CHECK(complete_str(cache, "she sells sea shells on the sea shore", &p, &a) == AC_OK);
    CHECK(a.timings.new_tokens <= 1);
    CHECK(a.timings.cached_tokens > 5);
    p.no_cache = 1;
    CHECK(complete_str(cache, "she sells sea shells on the sea shore", &p, &b) == AC_OK);
    CHECK(b.timings.cached_tokens == 0 && b.timings.new_tokens == a.timings.context_tokens);
    char why[160];
    CHECKF(same_result(&a, &b, why, sizeof why), "no_cache differs: %s", why);
    ac_complete_result_free(&a);
    ac_complete_result_free(&b);
    /* Backspace: a shorter text is a prefix of what is cached. */
    p.no_cache = 0;
    CHECK(complete_str(cache, "she sells sea shel", &p, &a) == AC_OK);
    CHECK(a.timings.new_tokens <= 1);
    CHECK(complete_str(NULL, "she sells sea shel", &p, &b) == AC_OK);
    CHECKF(same_result(&a, &b, why, sizeof why), "after backspace: %s", why);
    ac_complete_result_free(&a);
    ac_complete_result_free(&b);
    ac_complete_cache_free(cache);
}

static void long_context_keeps_a_stable_tail(void)
{
    /* The fixture's n_ctx is 64: with max_tokens 4 the context may hold 64 - 16 = 48 tokens and is cut
     * in steps of 24. Typing on past that: each keystroke still reuses the cache, and gives what a
     * cold run gives. */
    const char *base = "the quick brown fox jumps over the lazy dog. the dog sleeps in the sun, and the fox "
                       "thinks that the dog is there. then the fox runs over the hill and the dog wakes up";
    ac_complete_cache *cache;
    CHECK(ac_complete_cache_new(completer, NULL, &cache, err) == AC_OK);
    ac_complete_params p = test_params();
    size_t n = strlen(base);
    int reused = 0, cut = 0;
    for (size_t i = 60; i <= n; i++) {
        char prefix[300];
        memcpy(prefix, base, i);
        prefix[i] = 0;
        ac_complete_result warm, cold;
        CHECK(complete_str(cache, prefix, &p, &warm) == AC_OK);
        CHECK(warm.timings.context_tokens <= 48);
        if (warm.timings.context_tokens < 24)
            cut++; /* just after a cut, the context is between 24 and 48 tokens... */
        if (i > 60 && warm.timings.new_tokens <= 2)
            reused++;
        CHECK(complete_str(NULL, prefix, &p, &cold) == AC_OK);
        char why[160];
        CHECKF(same_result(&warm, &cold, why, sizeof why), "\"...%.10s\": %.200s", prefix + i - 10, why);
        ac_complete_result_free(&warm);
        ac_complete_result_free(&cold);
    }
    CHECK(cut == 0); /* ...never below 24 */
    /* Only the keystrokes where the cut moves pay for the whole window again. */
    CHECKF(reused >= (int)(n - 60) - 4, "%d of %zu keystrokes reused the cache", reused, n - 60);
    ac_complete_cache_free(cache);
}

static void correction_hook_continues_the_fixed_text(void)
{
    /* "the quick brwn f" with the fix brwn -> brown completes like "the quick brown f". */
    ac_complete_params p = test_params();
    const char *typed = "the quick brwn f";
    p.fix_start = 10;
    p.fix_end = 14;
    p.fix_text = "brown";
    p.fix_len = 5;
    ac_complete_result a, b;
    CHECK(complete_str(NULL, typed, &p, &a) == AC_OK);
    ac_complete_params q = test_params();
    CHECK(complete_str(NULL, "the quick brown f", &q, &b) == AC_OK);
    char why[160];
    CHECKF(same_result(&a, &b, why, sizeof why), "%s", why);
    CHECK(a.n > 0);
    ac_complete_result_free(&a);
    ac_complete_result_free(&b);
    p.fix_end = 99;
    CHECK(complete_str(NULL, typed, &p, &a) == AC_E_ARG);
    ac_complete_result_free(&a);
}

static void after_text_is_not_repeated(void)
{
    ac_complete_params p = test_params();
    p.stop = AC_STOP_LINE;
    ac_complete_result a, b;
    CHECK(complete_str(NULL, "the dog is th", &p, &a) == AC_OK);
    CHECK(a.n >= 2);
    if (a.n >= 2) {
        /* Put the best completion after the cursor: it must not come back. */
        p.after = a.items[0].text;
        p.after_len = a.items[0].len;
        CHECK(complete_str(NULL, "the dog is th", &p, &b) == AC_OK);
        for (int i = 0; i < b.n; i++)
            CHECKF(strncmp(b.items[i].text, a.items[0].text, a.items[0].len) != 0 ||
                   b.items[i].len > a.items[0].len, "\"%s\" repeats the text after the cursor", b.items[i].text);
        ac_complete_result_free(&b);
    }
    ac_complete_result_free(&a);
}

static void cancel_and_bad_arguments(void)
{
    ac_complete_params p = test_params();
    int flag = 1;
    p.cancel = &flag;
    ac_complete_result r;
    CHECK(complete_str(NULL, "the dog", &p, &r) == AC_E_CANCELLED);
    CHECK(r.n == 0);
    ac_complete_result_free(&r);
    p = test_params();
    p.beam_width = 0;
    CHECK(ac_complete(completer, NULL, "x", 1, &p, &r, err) == AC_E_ARG);
    CHECK(strstr(err, "beam_width") != NULL);
    p = test_params();
    p.max_tokens = 60; /* over 3/4 of the fixture's 64 positions */
    CHECK(ac_complete(completer, NULL, "x", 1, &p, &r, err) == AC_E_ARG);
    p = test_params();
    p.stop = 7;
    CHECK(ac_complete(completer, NULL, "x", 1, &p, &r, err) == AC_E_ARG);
    /* An empty text still has the end-of-text token to start from. */
    p = test_params();
    CHECK(ac_complete(completer, NULL, "", 0, &p, &r, err) == AC_OK);
    CHECK(r.n > 0);
    ac_complete_result_free(&r);
    /* mid_text: no end-of-text token first, so one token fewer of context. */
    p = test_params();
    ac_complete_result m;
    CHECK(ac_complete(completer, NULL, "the dog is", 10, &p, &r, err) == AC_OK);
    p.mid_text = 1;
    CHECK(ac_complete(completer, NULL, "the dog is", 10, &p, &m, err) == AC_OK);
    CHECK(m.timings.context_tokens == r.timings.context_tokens - 1);
    ac_complete_result_free(&r);
    ac_complete_result_free(&m);
    /* Abstaining: a random model is never confident enough for the default threshold. */
    p = ac_complete_default_params();
    p.min_score = -0.01f;
    CHECK(ac_complete(completer, NULL, "the dog", 7, &p, &r, err) == AC_OK);
    CHECK(r.n == 0);
    ac_complete_result_free(&r);
}

/* The keystroke evaluation's user on the real completer: its counts must add up. Every keystroke is
 * a typed character or an accepted completion, so chars - keystrokes = accepted_chars - accepts. */
typedef struct sim_ctx { ac_complete_cache *cache; ac_complete_params p; ac_complete_result r; } sim_ctx;

static int sim_suggest(void *ctx, const char *text, size_t len, int shown, const char **texts, size_t *lens,
                       char *e)
{
    sim_ctx *s = ctx;
    ac_complete_result_free(&s->r);
    int rc = ac_complete(completer, s->cache, text, len, &s->p, &s->r, e);
    if (rc)
        return rc;
    int n = s->r.n < shown ? s->r.n : shown;
    for (int i = 0; i < n; i++) {
        texts[i] = s->r.items[i].text;
        lens[i] = s->r.items[i].len;
    }
    return n;
}

static void keystroke_eval_adds_up(void)
{
    const char *lines[] = {"the fox and the dog are the best of friends.", "she sells sea shells on the sea shore"};
    sim_ctx s = {0};
    s.p = test_params();
    s.p.stop = AC_STOP_WORD;
    CHECK(ac_complete_cache_new(completer, NULL, &s.cache, err) == AC_OK);
    long accepts[2];
    for (int shown = 1; shown <= 5; shown += 4) {
        ac__ks_stats st = {0};
        for (int i = 0; i < 2; i++)
            CHECK(ac__keystroke_sim(lines[i], strlen(lines[i]), shown, sim_suggest, &s, &st, err) == AC_OK);
        CHECK(st.chars == (long)(strlen(lines[0]) + strlen(lines[1])));
        CHECK(st.keystrokes <= st.chars && st.keystrokes > 0);
        CHECK(st.requests == st.keystrokes);
        CHECK(st.chars - st.keystrokes == st.accepted_chars - st.accepts);
        accepts[shown / 5] = st.accepts;
    }
    CHECK(accepts[1] >= 1); /* even a random model completes a word of this text now and then */
    ac_complete_result_free(&s.r);
    ac_complete_cache_free(s.cache);
}

/* `autocorrect complete` as a user runs it (skipped when the program is not built). */
static void cli_complete(void)
{
    const char *build = getenv("AC_TEST_BUILD") ? getenv("AC_TEST_BUILD") : "build";
    char prog[400], cmd[1200], out[4096];
    snprintf(prog, sizeof prog, "%.380s/bin/autocorrect", build);
    FILE *probe = fopen(prog, "r");
    if (!probe)
        SKIP("%.400s is not built", prog);
    fclose(probe);
    snprintf(cmd, sizeof cmd, "%s complete --model " FIXTURE " --json --beams 3 --min-score -inf --stop word "
                              "'the quick bro' 2>&1", prog);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    CHECK(pclose(f) == 0);
    ac_complete_params p = test_params();
    p.beam_width = 3;
    p.stop = AC_STOP_WORD;
    ac_complete_result r;
    CHECK(complete_str(NULL, "the quick bro", &p, &r) == AC_OK);
    const char *head = "{\"completions\":[{\"text\":\"";
    CHECKF(strncmp(out, head, strlen(head)) == 0, "output: %.200s", out);
    for (int i = 0; i < r.n; i++) {
        char want[200];
        snprintf(want, sizeof want, "{\"text\":\"%s\",", r.items[i].text);
        CHECKF(strstr(out, want) != NULL, "%.60s not in %.300s", want, out);
    }
    CHECK(strstr(out, "\"partial\":false") != NULL);
    ac_complete_result_free(&r);
    /* Plain output: one completion per line, the text read from standard input. */
    snprintf(cmd, sizeof cmd, "printf 'the quick bro\\n' | %s complete --model " FIXTURE
                              " --beams 3 --min-score -inf --stop word", prog);
    f = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    CHECK(pclose(f) == 0);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    CHECK(lines == r.n || lines == 3);
    /* No model: a clear error and status 1. */
    char cwd[512] = ".";
    if (prog[0] != '/' && !getcwd(cwd, sizeof cwd))
        SKIP("no working directory");
    snprintf(cmd, sizeof cmd, "cd /tmp && AUTOCORRECT_MODEL=/nonexistent/model %s%s%s complete --no-daemon 'x' 2>&1",
             prog[0] == '/' ? "" : cwd, prog[0] == '/' ? "" : "/", prog);
    f = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    CHECK(WEXITSTATUS(pclose(f)) == 1);
    CHECKF(strstr(out, "--model") != NULL, "%.200s", out);
}

/* Memory: what a cache keeps between keystrokes is its context's KV blocks (ceil(tokens / 16) per
 * context) and its tables; the beams' blocks, the forward scratch and the search's workspace are
 * lent per call, so typing into more caches adds only their contexts, and typing again in the
 * steady state allocates nothing. Asserted with the engine's accounting (ac_model_memory). */
static void memory_per_cache_is_its_context(void)
{
    const char *text = "the cat sat on the mat and the dog ran after the cat";
    ac_complete_params p = test_params();
    p.beam_width = 8;
    ac_complete_cache_params cp = ac_complete_cache_default_params();
    cp.n_contexts = 2;
    cp.max_beams = 8;
    enum { N = 4 };
    ac_complete_cache *caches[N] = {0};
    ac_memory_stats st0 = ac_model_memory(model), after[N];
    CHECK(st0.kv_used == 0);
    size_t root_blocks = 0; /* blocks a cache's context holds */
    for (int i = 0; i < N; i++) {
        CHECK(ac_complete_cache_new(completer, &cp, &caches[i], err) == AC_OK);
        ac_complete_result r;
        for (size_t n = 1; n <= strlen(text); n++) {
            CHECK(ac_complete(completer, caches[i], text, n, &p, &r, err) == AC_OK);
            if (n == strlen(text))
                root_blocks = (size_t)(r.timings.context_tokens + AC__KV_BLOCK_POSITIONS - 1) / AC__KV_BLOCK_POSITIONS;
            ac_complete_result_free(&r);
        }
        after[i] = ac_model_memory(model);
    }
    const size_t B = st0.kv_block;
    CHECKF(root_blocks >= 2, "the text is %zu blocks long: too short to mean anything", root_blocks);
    CHECKF(after[N - 1].kv_used == N * root_blocks * B, "%d caches hold %zu KV blocks, want %zu (their contexts)", N,
           after[N - 1].kv_used / B, N * root_blocks);
    size_t made0 = after[0].kv_used + after[0].kv_free, made = after[N - 1].kv_used + after[N - 1].kv_free;
    CHECKF(made - made0 <= (N - 1) * root_blocks * B,
           "caches 2..%d made %zu blocks, more than their contexts' %zu: the beams' blocks were not shared", N,
           (made - made0) / B, (N - 1) * root_blocks);
    CHECKF(after[N - 1].n_scratch == 1 && after[N - 1].scratch == after[0].scratch,
           "%d forward scratch buffers (%zu bytes) for one thread", after[N - 1].n_scratch, after[N - 1].scratch);
    /* the steady state: the same typing again, from an emptied cache, allocates no block or scratch */
    ac_complete_cache_clear(caches[0]);
    ac_complete_result r;
    for (size_t n = 1; n <= strlen(text); n++) {
        CHECK(ac_complete(completer, caches[0], text, n, &p, &r, err) == AC_OK);
        ac_complete_result_free(&r);
    }
    ac_memory_stats again = ac_model_memory(model);
    CHECK(again.kv_used + again.kv_free == made && again.scratch == after[N - 1].scratch);
    for (int i = 0; i < N; i++)
        ac_complete_cache_free(caches[i]);
    CHECK(ac_model_memory(model).kv_used == 0 && ac_model_memory(model).sessions == 0);
}

/* On the default model (models/default; skipped when absent), whose 8192-token vocabulary splits
 * partial words into pieces: " tomorr" is " t" "o" "mor" "r" while " tomorrow" is one token.
 * Healing takes the whole word off when a token starts with it, so that token can be decoded
 * (before, it took off two, left " t" "o" in the context and offered "h for", "hode"); a word no
 * token starts with keeps the two-token rule. */
static void healing_backs_off_to_the_word_start(void)
{
    const char *dir = "models/default";
    if (access("models/default/model.onnx", R_OK) != 0)
        SKIP("no %s", dir);
    ac_model *m = NULL;
    ac_bpe *b = NULL;
    ac_completer *c = NULL;
    if (ac_model_load(dir, NULL, &m, err) || ac_bpe_load(dir, &b, err) || ac_completer_new(m, b, NULL, &c, err)) {
        CHECKF(0, "loading the default model: %s", err);
        goto out;
    }
    ac_complete_params p = ac_complete_default_params();
    p.stop = AC_STOP_WORD;
    p.min_score = -INFINITY;
    struct { const char *text; size_t head_len; int whole_word; } cases[] = {
        {"See you tomorr", 7, 1},   /* context: <|endoftext|> "See you" */
        {"See you xqzvbt", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = cases[i].text;
        int32_t ids[64];
        size_t n_head = 0, n_all = 0;
        CHECK(ac_bpe_encode(b, NULL, text, strlen(text), 0, ids, 64, &n_all, err) == AC_OK);
        if (cases[i].whole_word)
            CHECK(ac_bpe_encode(b, NULL, text, cases[i].head_len, 0, ids, 64, &n_head, err) == AC_OK);
        ac_complete_result r;
        if (ac_complete(c, NULL, text, strlen(text), &p, &r, err) != AC_OK) {
            CHECKF(0, "%s: %s", text, err);
            continue;
        }
        int want = cases[i].whole_word ? 1 + (int)n_head : 1 + (int)n_all - 2;
        CHECKF(n_all >= 4 && r.timings.context_tokens == want, "\"%s\" (%zu tokens): a context of %d tokens, not %d",
               text, n_all, r.timings.context_tokens, want);
        if (cases[i].whole_word) {
            int ow = 0;
            for (int j = 0; j < r.n; j++)
                ow |= strncmp(r.items[j].text, "ow", 2) == 0;
            CHECKF(ow, "\"%s\": no completion starts with \"ow\" (first: \"%s\")", text, r.n ? r.items[0].text : "");
        }
        ac_complete_result_free(&r);
    }
out:
    ac_completer_free(c);
    ac_bpe_free(b);
    ac_model_free(m);
}

int main(void)
{
    ac_model_params mp = ac_model_default_params();
    if (ac_model_load(FIXTURE, &mp, &model, err) || ac_bpe_load(FIXTURE, &bpe, err) ||
        ac_completer_new(model, bpe, NULL, &completer, err)) {
        printf("FAIL: load_fixture: %s\n", err);
        return 1;
    }
    RUN(healing_mid_word_extends_the_word);
    RUN(healing_matches_the_engine);
    RUN(healing_inside_a_utf8_character);
    RUN(healing_backs_off_to_the_word_start);
    RUN(cache_reuse_is_identical_and_cheap);
    RUN(memory_per_cache_is_its_context);
    RUN(long_context_keeps_a_stable_tail);
    RUN(correction_hook_continues_the_fixed_text);
    RUN(after_text_is_not_repeated);
    RUN(cancel_and_bad_arguments);
    RUN(keystroke_eval_adds_up);
    RUN(cli_complete);
    ac_completer_free(completer);
    ac_bpe_free(bpe);
    ac_model_free(model);
    return CHECK_EXIT_CODE();
}
