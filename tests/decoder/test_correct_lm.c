/* test_correct_lm.c: the corrector's language-model scorer (src/decoder/correct_lm.c) on the tiny
 * fixture model (tests/fixtures/tiny: a random 2-layer GPT-2 with a 297-token byte-level BPE).
 * Checks its log-probabilities against a plain full forward pass over the whole text, its reuse of
 * the cached context, and that ranking with it follows the model's preferences where the error
 * model is indifferent and the dictionary's frequencies say otherwise. With the default model
 * (models/default, skipped when absent): the real-word error "wether" fixed in context.
 */
#include "check.h"
#include "autocorrect/corrector.h"
#include "autocorrect/decoder.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/tiny"
#define TOL 2e-3

static ac_model *model;
static ac_bpe *bpe;

/* Reference: log P(cont | eot + ctx) by one fresh session and one prefill of everything, with
 * ctx = left minus its trailing whitespace and cont = that whitespace + option + right. */
static double reference(const char *left, const char *option, const char *right)
{
    char err[AC_ERR_SIZE];
    size_t ll = strlen(left), cl = ll;
    while (cl > 0 && left[cl - 1] == ' ')
        cl--;
    char cont[512];
    snprintf(cont, sizeof cont, "%s%s%s", left + cl, option, right);
    int32_t ids[256];
    size_t n_ctx = 0, n_cont = 0;
    ids[0] = ac_bpe_eot(bpe);
    CHECK(ac_bpe_encode(bpe, NULL, left, cl, 0, ids + 1, 100, &n_ctx, err) == AC_OK);
    CHECK(ac_bpe_encode(bpe, NULL, cont, strlen(cont), 0, ids + 1 + n_ctx, 100, &n_cont, err) == AC_OK);
    int n = 1 + (int)n_ctx + (int)n_cont;
    int nv = ac_model_dims(model).n_vocab;
    float *logits = malloc(sizeof(float) * (size_t)n * (size_t)nv);
    ac_session *s;
    CHECK(ac_session_new(model, NULL, &s, err) == AC_OK);
    CHECK(ac_session_prefill(s, ids, n, NULL, logits, 1, err) == AC_OK);
    double total = 0;
    for (int t = 1 + (int)n_ctx; t < n; t++) {
        float *row = logits + (size_t)(t - 1) * (size_t)nv;
        ac_logprobs_from_logits(row, nv);
        total += row[ids[t]];
    }
    ac_session_free(s);
    free(logits);
    return total;
}

static void scorer_matches_full_forward(void)
{
    char err[AC_ERR_SIZE];
    ac_lm_scorer *lm;
    CHECKF(ac_lm_scorer_new(model, bpe, NULL, &lm, err) == AC_OK, "%s", err);
    ac_context_scorer cs = ac_lm_scorer_context(lm);
    const char *cases[][2] = {{"The cat sat on ", " today."}, {"The cat sat on ", ""}, {"(", ") and"},
                              {"", " is here"}, {"She said: ", ""}, {"The cat sat on the ", ", then"}};
    const char *opts[] = {"the", "teh", "mat", "a", "Thé", "otherwise"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float lp[6];
        const char *left = cases[k][0], *right = cases[k][1];
        int rc = cs.score(cs.user, left, strlen(left), right, strlen(right), opts, 6, lp, err);
        CHECKF(rc == AC_OK, "%s", err);
        for (int i = 0; i < 6 && rc == AC_OK; i++) {
            double want = reference(left, opts[i], right);
            CHECKF(fabs(lp[i] - want) < TOL, "'%s' + '%s' + '%s': scorer %g, full forward %g", left, opts[i],
                   right, lp[i], want);
            CHECK(lp[i] < 0);
        }
    }
    /* the same context again: nothing new to prefill */
    ac_lm_scorer_stats before = ac_lm_scorer_get_stats(lm);
    float lp[6];
    CHECK(cs.score(cs.user, "The cat sat on the ", 19, "", 0, opts, 6, lp, err) == AC_OK);
    ac_lm_scorer_stats after = ac_lm_scorer_get_stats(lm);
    CHECK(after.context_tokens == before.context_tokens);
    CHECK(after.calls == before.calls + 1 && after.options == before.options + 6);
    /* a longer context that extends it: only the new tokens */
    CHECK(cs.score(cs.user, "The cat sat on the mat and ", 27, "", 0, opts, 6, lp, err) == AC_OK);
    ac_lm_scorer_stats later = ac_lm_scorer_get_stats(lm);
    int32_t ids[64];
    size_t n_new = 0, n_all = 0;
    CHECK(ac_bpe_encode(bpe, NULL, " mat and", 8, 0, ids, 64, &n_new, err) == AC_OK);
    CHECK(ac_bpe_encode(bpe, NULL, "The cat sat on the mat and", 26, 0, ids, 64, &n_all, err) == AC_OK);
    /* the new words' tokens, plus the last old token run again (its logits were for another text) */
    CHECKF(later.context_tokens - after.context_tokens <= (long)n_new + 1 && n_new + 1 < n_all,
           "%ld new context tokens for %zu new of %zu", later.context_tokens - after.context_tokens, n_new, n_all);
    CHECKF(fabs(lp[2] - reference("The cat sat on the mat and ", "mat", "")) < TOL, "after reuse");
    /* a context longer than the window (64 positions) is cut, and still scores */
    char longleft[2000] = "";
    for (int i = 0; i < 60; i++)
        strcat(longleft, "the cat sat on a mat ");
    CHECK(cs.score(cs.user, longleft, strlen(longleft), " today", 6, opts, 6, lp, err) == AC_OK);
    for (int i = 0; i < 6; i++)
        CHECK(isfinite(lp[i]) && lp[i] < 0);
    ac_lm_scorer_free(lm);
}

/* The ranking follows the model where the error model cannot tell the candidates apart. */
static void ranking_follows_the_model(void)
{
    char err[AC_ERR_SIZE];
    /* typed "cax": x is a keyboard neighbour of none of t, r, b, n, so every candidate costs one
     * plain substitution; their counts make the dictionary-only order t > r > b > n */
    const char *words[] = {"cat", "car", "cab", "can"};
    const char *left = "I saw a ";
    double lmv[4];
    for (int i = 0; i < 4; i++)
        lmv[i] = reference(left, words[i], "");
    /* the dictionary gives the model's least favourite the highest count */
    int order[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (lmv[order[j]] > lmv[order[i]]) {
                int t = order[i]; order[i] = order[j]; order[j] = t;
            }
    /* order: model's best first. counts: the reverse */
    char tsv[512];
    snprintf(tsv, sizeof tsv, "#autocorrect-dictionary\t1\nI\t100\nsaw\t100\na\t100\n%s\t1000\n%s\t800\n%s\t600\n%s\t400\n",
             words[order[3]], words[order[2]], words[order[1]], words[order[0]]);
    ac_dict *d;
    CHECKF(ac_dict_parse(tsv, strlen(tsv), &d, err) == AC_OK, "%s", err);
    ac_correct_params p = ac_correct_default_params();
    ac_candidate c[8];
    int n = ac_correct_word(d, left, strlen(left), "cax", 3, NULL, 0, &p, c, 8, err);
    CHECK(n == 4);
    if (n == 4)
        for (int i = 0; i < 4; i++)
            CHECKF(!strcmp(c[i].text, words[order[3 - i]]), "dictionary rank %d: %.20s", i, c[i].text);
    ac_lm_scorer *lm;
    CHECKF(ac_lm_scorer_new(model, bpe, NULL, &lm, err) == AC_OK, "%s", err);
    p.scorer = ac_lm_scorer_context(lm);
    p.lm_weight = 1.0f;          /* the language score is the model's log-probability, nothing else */
    p.lm_unigram_weight = 0.0f;
    n = ac_correct_word(d, left, strlen(left), "cax", 3, NULL, 0, &p, c, 8, err);
    CHECK(n == 4);
    if (n == 4) {
        for (int i = 0; i < 4; i++) {
            CHECKF(!strcmp(c[i].text, words[order[i]]), "model rank %d: %.20s, want %s (lm %.3f %.3f %.3f %.3f)", i,
                   c[i].text, words[order[i]], lmv[0], lmv[1], lmv[2], lmv[3]);
            CHECK_NEAR(c[i].language, lmv[order[i]], TOL);
        }
        CHECK(c[0].score >= c[1].score && c[1].score >= c[2].score);
    }
    /* the text corrector asks the scorer about the same word, with the text's left context */
    ac_correction fix[2];
    int nf = 0;
    CHECK(ac_correct_text(d, "I saw a cax", 11, &p, fix, 2, &nf, err) == AC_OK);
    if (nf == 1)
        CHECK_STR(fix[0].replacement, words[order[0]]);
    ac_lm_scorer_free(lm);
    ac_dict_free(d);
}

/* The hand-off: the corrector's fix of the last word, given to ac_complete, makes it complete the
 * corrected text exactly as if that had been typed. */
static void fix_handed_to_the_decoder(void)
{
    char err[AC_ERR_SIZE];
    const char tsv[] = "#autocorrect-dictionary\t1\nI\t100\nsaw\t100\nthe\t1000\ncat\t50\n";
    ac_dict *d;
    CHECK(ac_dict_parse(tsv, sizeof tsv - 1, &d, err) == AC_OK);
    ac_completer *c;
    ac_complete_cache *cache;
    CHECKF(ac_completer_new(model, bpe, NULL, &c, err) == AC_OK, "%s", err);
    CHECKF(ac_complete_cache_new(c, NULL, &cache, err) == AC_OK, "%s", err);
    const char typed[] = "I saw teh ca", right[] = "I saw the ca";
    ac_correct_params p = ac_correct_default_params();
    ac_correction fix;
    CHECK(ac_correct_last_word(d, typed, sizeof typed - 1, &p, 0.5f, &fix, err) == 1);
    CHECK(fix.start == 6 && fix.end == 9 && !strcmp(fix.replacement, "the"));
    ac_complete_params cp = ac_complete_default_params();
    cp.min_score = -INFINITY;
    cp.fix_start = fix.start;
    cp.fix_end = fix.end;
    cp.fix_text = fix.replacement;
    cp.fix_len = strlen(fix.replacement);
    ac_complete_result a, b;
    CHECKF(ac_complete(c, cache, typed, sizeof typed - 1, &cp, &a, err) == AC_OK, "%s", err);
    ac_complete_params plain = ac_complete_default_params();
    plain.min_score = -INFINITY;
    ac_complete_cache_clear(cache);
    CHECKF(ac_complete(c, cache, right, sizeof right - 1, &plain, &b, err) == AC_OK, "%s", err);
    CHECK(a.n == b.n && a.n > 0);
    for (int i = 0; i < a.n && i < b.n; i++) {
        CHECK_STR(a.items[i].text, b.items[i].text);
        CHECK_NEAR(a.items[i].score, b.items[i].score, 1e-4);
    }
    ac_complete_result_free(&a);
    ac_complete_result_free(&b);
    ac_complete_cache_free(cache);
    ac_completer_free(c);
    ac_dict_free(d);
}

/* "wether" is a dictionary word (a castrated ram, once in the training corpus), so only its confusion
 * set (src/corrector/confusables.c: whether, weather) lets the default model fix it in context, and
 * the model must leave the ram alone where the sentence says so. Model-dependent by design: the
 * 6x320 default keeps 4 of 5 sheep sentences tried ("The weather grazed in the field" is its
 * mistake); the earlier 4x256 one turned all 5 into "weather". */
static void default_model_wether(void)
{
    const char *dir = "models/default", *dict_path = "models/default/dictionary.tsv";
    char err[AC_ERR_SIZE];
    if (access(dict_path, R_OK) != 0)
        SKIP("no %s (make dictionary)", dict_path);
    ac_model *m = NULL;
    ac_bpe *b = NULL;
    ac_dict *d = NULL;
    ac_lm_scorer *lm = NULL;
    if (ac_model_load(dir, NULL, &m, err) || ac_bpe_load(dir, &b, err) || ac_dict_load(dict_path, &d, err) ||
        ac_lm_scorer_new(m, b, NULL, &lm, err)) {
        CHECKF(0, "loading the default model: %s", err);
        goto out;
    }
    ac_correct_params p = ac_correct_default_params();
    p.scorer = ac_lm_scorer_context(lm);
    /* text, the corrected word (NULL: nothing corrected) */
    const char *cases[][2] = {
        {"I don't know wether to go", "whether"},
        {"The wether is nice today", "weather"},
        {"I don't know whether to go", NULL},
        {"The weather is nice today", NULL},
        {"The farmer sold a wether and two ewes at the market", NULL},
        {"The flock had three rams, a wether and ten ewes", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ac_correction fix[4];
        int nf = -1;
        const char *text = cases[i][0], *want = cases[i][1];
        CHECKF(ac_correct_text(d, text, strlen(text), &p, fix, 4, &nf, err) == AC_OK, "%s: %s", text, err);
        const char *got_from = nf > 0 ? fix[0].original : "-", *got_to = nf > 0 ? fix[0].replacement : "-";
        if (want)
            CHECKF(nf == 1 && !strcmp(got_from, "wether") && !strcmp(got_to, want) && fix[0].real_word == 1,
                   "\"%s\": %d corrections, first %s -> %s, want wether -> %s", text, nf, got_from, got_to, want);
        else
            CHECKF(nf == 0, "\"%s\": %d corrections, first %s -> %s, want none", text, nf, got_from, got_to);
    }
out:
    ac_lm_scorer_free(lm);
    ac_dict_free(d);
    ac_bpe_free(b);
    ac_model_free(m);
}

int main(void)
{
    char err[AC_ERR_SIZE];
    if (ac_model_load(FIXTURE, NULL, &model, err) || ac_bpe_load(FIXTURE, &bpe, err)) {
        printf("FAIL: load_fixture: %s\n", err);
        return 1;
    }
    RUN(scorer_matches_full_forward);
    RUN(ranking_follows_the_model);
    RUN(fix_handed_to_the_decoder);
    RUN(default_model_wether);
    ac_bpe_free(bpe);
    ac_model_free(model);
    return CHECK_EXIT_CODE();
}
