/* Tests for the order of completions (ac_complete_params.order): AC_ORDER_SCORE (best score first,
 * the default) and AC_ORDER_SAVING (the most typing saved first: the pooled hypotheses weigh by
 * their probability, a user accepts the longest shown completion that is a prefix of what they type,
 * and each place goes to the completion that adds the most expected code points given the places
 * above it).
 *
 * The toy world (15 tokens, the bigram table, the fake scorer, run() and CHECK_ITEMS) is
 * toy_world.h, shared with test_beam.c and test_word_stop.c. Every expected answer is worked out by
 * hand from the table.
 * The last tests run the real completer on the tiny fixture (tests/fixtures/tiny): the saving order
 * gives the same answer with and without the cache, and a bad order is refused.
 */
#include "decoder/toy_world.h"

#include "autocorrect/tokenizer.h"

/* The default table's pool with beam_width 3 (test_beam.c, beam_order_total_logprob): finished
 * " cat" .45, " cars" .18, " car" .12, " dog" .11, " cats" .05 (p = exp of the total log-probability;
 * " cat" and " car" are 4 code points, " cars" and " cats" 5).
 * Saving, place 1: " cat" (.45 + .05) * 4 = 2.0 (it is a prefix of " cats" too), " car" (.12 + .18)
 *   * 4 = 1.2, " cars" .18 * 5 = .9, " dog" .11 * 4 = .44, " cats" .05 * 5 = .25: " cat".
 * Place 2: " car" 1.2, " cars" .9, " dog" .44, " cats" .05 * (5 - 4) = .05: " car".
 * Place 3: " cars" .18 * (5 - 4) = .18, " dog" .44: " dog". By score it is " cat", " cars", " car":
 * " cars" only adds an "s" to " car", " dog" is another word. */
static void saving_prefers_distinct_words(void)
{
    table_default();
    ac__beam_params p = base_params();
    fake f = {0};
    ac_complete_result r;
    p.order = AC_ORDER_SCORE;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat", log(.45)}, {" cars", log(.18)}, {" car", log(.12)});
    ac_complete_result_free(&r);
    p.order = AC_ORDER_SAVING;
    CHECK(run(&p, &f, &r) == AC_OK);
    /* the scores are each completion's own, whatever its place */
    CHECK_ITEMS(&r, {" cat", log(.45)}, {" car", log(.12)}, {" dog", log(.11)});
    CHECK(r.abstained == 0);
    ac_complete_result_free(&r);
}

/* The saving order's list for beam_width 1: the place-1 choice alone. With beam_width 1 the search
 * keeps one beam: step 0 " cat" .5; step 1 finished " cat" .45, beam " cats" .05; step 2 finished
 * " cats" .05. Pool " cat" .45, " cats" .05: " cat" (.45 + .05) * 4 = 2.0 against " cats" .25. */
static void saving_first_place_alone(void)
{
    table_default();
    ac__beam_params p = base_params();
    p.beam_width = 1;
    p.order = AC_ORDER_SAVING;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat", log(.45)});
    ac_complete_result_free(&r);
}

/* Saving weighs length against probability. Root " cat" .4, " dog" .6; after " cat": "s" .9, " sat"
 * .1 (a stop); after "s": all stops; after " dog": eos. Beam width 2: step 0 beams " dog" .6, " cat"
 * .4; step 1 finished " dog" .6, " cat" .4 * .1 = .04, beam " cats" .36; step 2 finished " cats" .36.
 * Place 1: " dog" .6 * 4 = 2.4, " cats" .36 * 5 = 1.8, " cat" (.04 + .36) * 4 = 1.6: " dog". Place 2:
 * " cats" 1.8 against " cat" 1.6: " cats" (by score too). */
static void saving_weighs_length(void)
{
    table_default();
    memcpy(table[ROOT], (entry[]){{CAT, .4}, {DOG, .6}, {0, 0}}, 3 * sizeof(entry));
    memcpy(table[CAT], (entry[]){{S, .9}, {SAT, .1}, {0, 0}}, 3 * sizeof(entry));
    ac__beam_params p = base_params();
    p.beam_width = 2;
    p.order = AC_ORDER_SAVING;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" dog", log(.6)}, {" cats", log(.36)});
    ac_complete_result_free(&r);
    /* Make " cats" likelier: root " cat" .6, " dog" .4. Place 1: " cats" .54 * 5 = 2.7, " cat"
     * (.06 + .54) * 4 = 2.4, " dog" .4 * 4 = 1.6: " cats" first, where the score order puts it
     * first too (ln .54 > ln .4); place 2: " cat" .06 * 4 = .24 (it adds nothing for " cats"),
     * " dog" 1.6: " dog" (the score order's second would be " dog" too). */
    memcpy(table[ROOT], (entry[]){{CAT, .6}, {DOG, .4}, {0, 0}}, 3 * sizeof(entry));
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cats", log(.54)}, {" dog", log(.4)});
    ac_complete_result_free(&r);
}

/* min_score applies before the saving order: a hypothesis below it is neither shown nor weighed.
 * Default table, beam_width 3, min_score ln(.2): step 0 beams " cat" .5, " car" .3 (" dog" .11 cannot
 * reach .2: dropped); step 1 finished " cat" .45 and " car" .12 (below: abstained), beams " cars" .18
 * and " cats" .05 cannot reach .2: dropped. Only " cat" is left. */
static void saving_respects_min_score(void)
{
    table_default();
    ac__beam_params p = base_params();
    p.order = AC_ORDER_SAVING;
    p.min_score = (float)log(.2);
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat", log(.45)});
    CHECK(r.abstained == 1);
    ac_complete_result_free(&r);
    /* Nothing can pass: no completion. */
    p.min_score = 0;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.n == 0);
    ac_complete_result_free(&r);
}

static void unknown_order_is_refused(void)
{
    table_default();
    ac__beam_params p = base_params();
    p.order = 2;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_E_ARG);
    CHECK(r.n == 0);
    ac_complete_result_free(&r);
}

/* --------------------------------------------------------------- the real completer, tiny fixture */

#define FIXTURE "tests/fixtures/tiny"

/* Typing a text one character at a time with the saving order: each answer with the cache equals
 * the one without it, and holds distinct texts. */
static void saving_same_with_and_without_cache(void)
{
    char err[AC_ERR_SIZE];
    ac_model *model = NULL;
    ac_bpe *bpe = NULL;
    ac_completer *c = NULL;
    ac_model_params mp = ac_model_default_params();
    if (ac_model_load(FIXTURE, &mp, &model, err) || ac_bpe_load(FIXTURE, &bpe, err) ||
        ac_completer_new(model, bpe, NULL, &c, err)) {
        CHECKF(0, "load the fixture: %s", err);
        ac_bpe_free(bpe);
        ac_model_free(model);
        return;
    }
    ac_complete_cache *cache = NULL;
    ac_complete_cache_params cp = ac_complete_cache_default_params();
    CHECK(ac_complete_cache_new(c, &cp, &cache, err) == AC_OK);
    ac_complete_params p = ac_complete_default_params();
    p.min_score = -INFINITY;
    p.beam_width = 8;
    p.order = AC_ORDER_SAVING;
    const char *text = "the dog is there. then the fox sat";
    int checked = 0, differ = 0, dups = 0;
    for (int stop = AC_STOP_WORD; stop <= AC_STOP_PHRASE; stop++) {
        p.stop = stop;
        for (size_t n = 0; n <= strlen(text); n++) {
            ac_complete_result a, b;
            p.no_cache = 0;
            int ra = ac_complete(c, cache, text, n, &p, &a, err);
            p.no_cache = 1;
            int rb = ac_complete(c, cache, text, n, &p, &b, err);
            CHECKF(ra == AC_OK && rb == AC_OK, "ac_complete: %s", err);
            if (a.n != b.n)
                differ++;
            for (int i = 0; i < a.n && i < b.n; i++)
                if (strcmp(a.items[i].text, b.items[i].text) || a.items[i].score != b.items[i].score)
                    differ++;
            for (int i = 0; i < a.n; i++)
                for (int j = 0; j < i; j++)
                    dups += strcmp(a.items[i].text, a.items[j].text) == 0;
            checked += a.n > 0;
            ac_complete_result_free(&a);
            ac_complete_result_free(&b);
        }
    }
    CHECKF(differ == 0, "%d answers differ with and without the cache", differ);
    CHECKF(dups == 0, "%d repeated texts", dups);
    CHECKF(checked > 50, "only %d answers with completions", checked);
    /* an unknown order is a bad request, with a message */
    ac_complete_result r;
    p.order = 7;
    err[0] = 0;
    CHECK(ac_complete(c, cache, text, 3, &p, &r, err) == AC_E_ARG && strstr(err, "order") != NULL);
    ac_complete_result_free(&r);
    ac_complete_cache_free(cache);
    ac_completer_free(c);
    ac_bpe_free(bpe);
    ac_model_free(model);
}

int main(void)
{
    if (toy_world_init())
        return 1;
    RUN(saving_prefers_distinct_words);
    RUN(saving_first_place_alone);
    RUN(saving_weighs_length);
    RUN(saving_respects_min_score);
    RUN(unknown_order_is_refused);
    RUN(saving_same_with_and_without_cache);
    toy_world_free();
    return CHECK_EXIT_CODE();
}
