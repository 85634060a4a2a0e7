/* toy_world.h: the decoder tests' toy world: a 15-token vocabulary, a bigram table of probabilities
 * (table_default(), changed per test), a FAKE next-token scorer over it, run() (one beam search from
 * the root row) and CHECK_ITEMS (the completions, in order, with their scores). Every expected
 * answer in the tests that use it is worked out by hand from the table.
 *
 * This file is: shared test helpers, all static, for test_beam.c, test_word_stop.c and
 * test_completion_choice.c (each a program of its own, so the helpers cannot be linked from one of
 * them). It is not: a test program (the Makefile compiles tests/decoder/test_*.c only).
 */
#ifndef AC_TESTS_DECODER_TOY_WORLD_H
#define AC_TESTS_DECODER_TOY_WORLD_H

#include "check.h"
#include "decoder/decoder_internal.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------ the toy world */

enum { EOS, SP, DOT, NL, THE, CAT, CAR, S, DOG, CA, T, R, SAT, S_DOT, T_NL, RT, N_TOK };
static const char *const tok_text[N_TOK] = {
    "<|endoftext|>", " ", ".", "\n", " the", " cat", " car", "s", " dog", " ca", "t", "r", " sat",
    "s.", "t\nx", "rt",
};

static inline const char *toy_bytes(void *ctx, int32_t id, size_t *len, int *special)
{
    (void)ctx;
    *special = id == EOS;
    *len = strlen(tok_text[id]);
    return tok_text[id];
}

/* P(next | last token); row ROOT is the context's. Missing mass is nowhere: rows sum to 1. */
#define ROOT N_TOK
typedef struct { int tok; double p; } entry;
static entry table[N_TOK + 1][6];

static inline void table_default(void)
{
    memset(table, 0, sizeof table);
    for (int i = 0; i <= N_TOK; i++)
        table[i][0] = (entry){EOS, 1.0};
    /* root: " cat" .5, " car" .3, " dog" .11, " ca" .09 */
    memcpy(table[ROOT], (entry[]){{CAT, .5}, {CAR, .3}, {DOG, .11}, {CA, .09}, {0, 0}}, 5 * sizeof(entry));
    /* after " cat": " sat" .6, "." .2, eos .1 (a stop at their start, for the word rule: .9), "s" .1 */
    memcpy(table[CAT], (entry[]){{SAT, .6}, {DOT, .2}, {EOS, .1}, {S, .1}, {0, 0}}, 5 * sizeof(entry));
    /* after " car": " sat" .4 (stop), "s" .6 */
    memcpy(table[CAR], (entry[]){{SAT, .4}, {S, .6}, {0, 0}}, 3 * sizeof(entry));
    /* after "s": " sat" .7, "." .3: all stops */
    memcpy(table[S], (entry[]){{SAT, .7}, {DOT, .3}, {0, 0}}, 3 * sizeof(entry));
    /* after " ca": "t" .9, "r" .1 */
    memcpy(table[CA], (entry[]){{T, .9}, {R, .1}, {0, 0}}, 3 * sizeof(entry));
    /* after "t" (of " ca"+"t"): like after " cat" */
    memcpy(table[T], table[CAT], sizeof table[T]);
    /* after "r": like after " car" */
    memcpy(table[R], table[CAR], sizeof table[R]);
}

static inline void table_row(int row, float *logits)
{
    for (int t = 0; t < N_TOK; t++)
        logits[t] = -INFINITY;
    for (int j = 0; j < 6 && table[row][j].p > 0; j++)
        logits[table[row][j].tok] = (float)log(table[row][j].p);
}

/* The fake scorer: remembers each beam's last token; counts calls and beams advanced. */
typedef struct fake {
    int last[AC_COMPLETE_MAX_BEAMS];
    int calls, beams_advanced;
    int cancel_on_call;       /* set *cancel when this call (1-based) happens */
    int expire_on_call;       /* move the deadline into the past on this call */
    int cancel_flag;
    ac__beam_params *params;
} fake;

static inline int fake_advance(void *ctx, int n, const int *src, const int32_t *tok, float *logits, char *err)
{
    (void)err;
    fake *f = ctx;
    int last[AC_COMPLETE_MAX_BEAMS];
    f->calls++;
    f->beams_advanced += n;
    for (int i = 0; i < n; i++) {
        CHECK(src[i] >= 0 && src[i] < AC_COMPLETE_MAX_BEAMS);
        last[i] = tok[i];
        table_row(tok[i], logits + (size_t)i * N_TOK);
    }
    memcpy(f->last, last, sizeof last);
    if (f->calls == f->cancel_on_call)
        __atomic_store_n(&f->cancel_flag, 1, __ATOMIC_RELAXED);
    if (f->calls == f->expire_on_call)
        f->params->deadline = 1e-9; /* long past */
    return AC_OK;
}

static ac__vocab vocab;
static ac__beam_scratch *scratch;

static inline ac__beam_params base_params(void)
{
    ac__beam_params p = {0};
    p.beam_width = 3;
    p.max_tokens = 3;
    p.stop = AC_STOP_WORD;
    p.length_penalty = 0;
    p.min_score = -INFINITY;
    p.started = 0;
    return p;
}

/* base_params() for completing the typed text `required` (token healing), which ends in a word. */
static inline ac__beam_params healing_params(const char *required)
{
    ac__beam_params p = base_params();
    p.required = required;
    p.required_len = strlen(required);
    p.started = 1;
    return p;
}

/* Runs a search from the root row; returns its status. */
static inline int run(ac__beam_params *p, fake *f, ac_complete_result *r)
{
    float root[N_TOK];
    table_row(ROOT, root);
    memset(r, 0, sizeof *r);
    f->params = p;
    if (f->cancel_on_call)
        p->cancel = &f->cancel_flag;
    ac__scorer sc = {f, fake_advance};
    char err[AC_ERR_SIZE] = "";
    return ac__beam_search(&vocab, &sc, scratch, root, p, r, err);
}

/* One expected completion: its text (NULL: any) and score (NAN: any). */
typedef struct want { const char *text; double score; } want;

/* Checks that r holds exactly the completions listed, in that order, scores within 1e-5; a
 * failure is reported at the caller's line. CHECK_ITEMS(&r, {" cat", log(.45)}, {" cars", NAN}) */
#define CHECK_ITEMS(r, ...) \
    check_items(__FILE__, __LINE__, (r), (want[]){__VA_ARGS__}, (int)(sizeof((want[]){__VA_ARGS__}) / sizeof(want)))

static inline void check_items(const char *file, int line, const ac_complete_result *r, const want *w, int n)
{
    char m[400];
    if (r->n != n) {
        snprintf(m, sizeof m, "%d completions, want %d", r->n, n);
        check__fail(file, line, m);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (w[i].text && strcmp(r->items[i].text, w[i].text) != 0) {
            snprintf(m, sizeof m, "completion %d is \"%.100s\", want \"%.100s\"", i, r->items[i].text, w[i].text);
            check__fail(file, line, m);
        }
        if (!isnan(w[i].score) && !(fabs(r->items[i].score - w[i].score) <= 1e-5)) {
            snprintf(m, sizeof m, "completion %d scores %.9g, want %.9g", i, r->items[i].score, w[i].score);
            check__fail(file, line, m);
        }
    }
}

/* Builds the toy vocabulary and a scratch for up to 8 beams; prints a FAIL line and returns 1 when
 * it cannot. Pair with toy_world_free(). */
static inline int toy_world_init(void)
{
    char err[AC_ERR_SIZE];
    if (ac__vocab_init(&vocab, N_TOK, toy_bytes, NULL, EOS, err) != AC_OK) {
        printf("FAIL: vocab_init: %s\n", err);
        return 1;
    }
    scratch = ac__beam_scratch_new(&vocab, 8);
    if (!scratch) {
        printf("FAIL: scratch: out of memory\n");
        ac__vocab_free(&vocab);
        return 1;
    }
    return 0;
}

static inline void toy_world_free(void)
{
    ac__beam_scratch_free(scratch);
    scratch = NULL;
    ac__vocab_free(&vocab);
}

#endif
