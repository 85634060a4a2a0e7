/* Tests for the decoder's beam search, stop rules, text rules and vocabulary lookups, driven by a FAKE
 * next-token scorer: a bigram table of probabilities over a 15-token toy vocabulary, so every
 * expected answer below is worked out by hand from the table (the comments show the arithmetic).
 * No model, no tokenizer: test_complete.c runs the real thing on the tiny fixture. The toy world
 * (vocabulary, table, fake scorer, run(), CHECK_ITEMS) is in toy_world.h.
 */
#include "decoder/toy_world.h"

/* ------------------------------------------------------------------------------ the tests */

static void beam_order_total_logprob(void)
{
    /* alpha = 0: scores are total log-probabilities.
     * step 0: beams " cat" .5, " car" .3, " dog" .11 (W = 3; " ca" .09 falls off)
     * step 1: finished " cat" .5*.9 = .45, " car" .3*.4 = .12, " dog" .11*1 = .11;
     *         beams " cars" .3*.6 = .18, " cats" .5*.1 = .05
     * step 2: finished " cars" .18*1, " cats" .05*1
     * best 3: " cat" .45, " cars" .18, " car" .12 */
    table_default();
    ac__beam_params p = base_params();
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat", log(.45)}, {" cars", log(.18)}, {" car", log(.12)});
    if (r.n == 3)
        CHECK(r.items[0].n_tokens == 2 && r.items[1].n_tokens == 3);
    CHECK(r.partial == 0);
    CHECK(r.timings.decode_steps == 2);
    CHECK(f.calls == 2);
    ac_complete_result_free(&r);
}

static void length_normalisation_changes_order(void)
{
    /* alpha = 1: mean log-probability per token.
     * " cat" ln(.45)/2 = -0.399, " cars" ln(.18)/3 = -0.572, " cats" ln(.05)/3 = -0.999,
     * " car" ln(.12)/2 = -1.060, " dog" ln(.11)/2 = -1.104: " cats" moves ahead of " car". */
    table_default();
    ac__beam_params p = base_params();
    p.length_penalty = 1;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat", log(.45) / 2}, {" cars", log(.18) / 3}, {" cats", log(.05) / 3});
    ac_complete_result_free(&r);
    /* alpha = 0.5: ln(.45)/sqrt2 = -0.565, ln(.18)/sqrt3 = -0.990, ln(.12)/sqrt2 = -1.499,
     * ln(.05)/sqrt3 = -1.730 */
    p.length_penalty = 0.5f;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {NULL, NAN}, {NULL, NAN}, {" car", log(.12) / sqrt(2)});
    ac_complete_result_free(&r);
}

static void stop_rules_phrase_and_line(void)
{
    /* Phrase: after " cat", " sat" .6 continues, "." .2 stops after the mark (" cat."), eos .1 stops
     * before it (" cat"), "s" .1 continues. With W = 2, T = 2 and alpha = 0:
     * step 0: beams " cat" .5, " car" .3
     * step 1: finished " cat." .1, " cat" .05; beams " cat sat" .3, " car sat" .12, " cars" .18
     *         (W = 2 keeps " cat sat" .3 and " cars" .18), both end at max_tokens.
     * best 2: " cat sat" .3, " cars" .18 */
    table_default();
    ac__beam_params p = base_params();
    p.stop = AC_STOP_PHRASE;
    p.beam_width = 2;
    p.max_tokens = 2;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cat sat", log(.3)}, {" cars", NAN});
    ac_complete_result_free(&r);
    /* A stop inside a token: after " cat", "s." .7 and "t\nx" .3. Phrase keeps "s." -> " cats.";
     * word cuts "s." to "s" -> " cats"; line cuts "t\nx" to "t" -> " catt" and keeps "s." going. */
    memcpy(table[CAT], (entry[]){{S_DOT, .7}, {T_NL, .3}, {0, 0}}, 3 * sizeof(entry));
    memcpy(table[ROOT], (entry[]){{CAT, 1.0}, {0, 0}}, 2 * sizeof(entry));
    p.beam_width = 2;
    p.max_tokens = 2;
    const char *texts[3][2] = {{" cats", " catt"}, {" cats.", " catt"}, {" cats.", " catt"}};
    for (int stop = 0; stop < 3; stop++) {
        p.stop = stop;
        CHECK(run(&p, &f, &r) == AC_OK);
        CHECK_ITEMS(&r, {texts[stop][0], log(.7)}, {texts[stop][1], log(.3)});
        ac_complete_result_free(&r);
    }
}

static void duplicates_compare_text(void)
{
    /* " cat" directly (.4) and " ca" + "t" (.35 * .9 = .315) give the same text; the pool keeps one
     * " cat", with the better path's score: .4 * .9 (stop) = .36 against .315 * .9 = .2835. */
    table_default();
    memcpy(table[ROOT], (entry[]){{CAT, .4}, {CA, .35}, {DOG, .25}, {0, 0}}, 4 * sizeof(entry));
    ac__beam_params p = base_params();
    p.beam_width = 4;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    int cats = 0;
    for (int i = 0; i < r.n; i++) {
        if (!strcmp(r.items[i].text, " cat")) {
            cats++;
            CHECK_NEAR(r.items[i].score, log(.36), 1e-5);
        }
        for (int j = 0; j < i; j++)
            CHECKF(strcmp(r.items[i].text, r.items[j].text) != 0, "duplicate \"%s\"", r.items[i].text);
    }
    CHECK(cats == 1);
    ac_complete_result_free(&r);
}

static void abstain_threshold(void)
{
    /* alpha = 1, min_score -0.5: only " cat" (-0.399) passes. " dog" (.11) is dropped at step 0
     * without being decoded: even certain tokens could lift ln(.11) = -2.21 only to -2.21/3. */
    table_default();
    ac__beam_params p = base_params();
    p.length_penalty = 1;
    p.min_score = -0.5f;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.n == 1);
    if (r.n == 1)
        CHECK_STR(r.items[0].text, " cat");
    CHECK(r.abstained == 1); /* " car" -1.06 */
    /* Step 1 decodes " cat" and " car"; then " cars" (ln .18 = -1.71, at best -1.71/3 = -0.57) and
     * " cats" are hopeless too, so there is no step 2. */
    CHECK(f.beams_advanced == 2);
    CHECK(f.calls == 1);
    ac_complete_result_free(&r);
    /* Nothing is good enough: no completion at all, rather than noise. */
    p.min_score = -0.1f;
    f = (fake){0};
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.n == 0);
    CHECK(f.calls == 0); /* every beam was hopeless from the start */
    ac_complete_result_free(&r);
}

static void after_cursor_rule_in_search(void)
{
    /* The text after the cursor is " cat sat": " cat" only repeats it and goes; " cars" stays. */
    table_default();
    ac__beam_params p = base_params();
    p.after = " cat sat";
    p.after_len = strlen(p.after);
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" cars", NAN}, {" car", NAN}, {" dog", NAN});
    ac_complete_result_free(&r);
}

static void deadline_returns_partial(void)
{
    /* The deadline passes during the first decode: after step 1 the search stops with the pool
     * (" cat" .45, " car" .12, " dog" .11) and the live beams as they are (" cars" .18, " cats" .05). */
    table_default();
    ac__beam_params p = base_params();
    fake f = {0};
    f.expire_on_call = 1;
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.partial == 1);
    CHECK(f.calls == 1);
    CHECK_ITEMS(&r, {" cat", NAN}, {" cars", log(.18)}, {" car", NAN});
    ac_complete_result_free(&r);
    /* Already past before the search: step 0 needs no decode, so its beams come back. */
    p.deadline = 1e-9;
    f = (fake){0};
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.partial == 1 && f.calls == 0);
    CHECK_ITEMS(&r, {" cat", NAN}, {NULL, NAN}, {NULL, NAN});
    ac_complete_result_free(&r);
}

static void cancel_flag(void)
{
    table_default();
    ac__beam_params p = base_params();
    fake f = {0};
    f.cancel_on_call = 1;
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_E_CANCELLED);
    CHECK(r.n == 0);
    CHECK(f.calls == 1);
    ac_complete_result_free(&r);
}

static void token_healing_constraint(void)
{
    /* Typed " ca" (ends in a word): allowed first tokens are " ca", " cat", " car", renormalised:
     * .09/.89, .5/.89, .3/.89. alpha = 1, W = 3, T = 2:
     * step 0: beams "t" (.5618), "r" (.3371), "" (.1011)
     * step 1: finished "t" .5618*.9 = .5056 -> ln/2 = -0.341, "r" .3371*.4 = .1348 -> -1.002;
     *         beams "rs" .3371*.6 = .2022, "t" (via " ca"+"t") .0910, "ts" .0562 end at max_tokens:
     *         "rs" -0.799, "t" -1.20 (a duplicate of the better "t"), "ts" -1.44
     * best 3: "t" -0.341, "rs" -0.799, "r" -1.002 */
    table_default();
    ac__beam_params p = healing_params(" ca");
    p.length_penalty = 1;
    p.max_tokens = 2;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {"t", log(.5 / .89 * .9) / 2}, {"rs", log(.3 / .89 * .6) / 2}, {"r", log(.3 / .89 * .4) / 2});
    ac_complete_result_free(&r);
}

static void non_canonical_split_pays_its_probability(void)
{
    /* Typed " car". Allowed first tokens: " car" .3 and " ca" .09, renormalised to .3/.39 and
     * .09/.39. After " ca" the model gives "t" .9, "r" .05, "rt" .05: only "r" and "rt" still
     * reproduce the typed "r", but that second healing step keeps the model's own probability
     * (.05), not a renormalised .5, so " ca" + "rt" ("t") scores log(.09/.39 * .05) (alpha = 0;
     * after "rt" the end of text is certain). */
    table_default();
    memcpy(table[CA], (entry[]){{T, .9}, {R, .05}, {RT, .05}, {0, 0}}, 4 * sizeof(entry));
    ac__beam_params p = healing_params(" car");
    p.max_tokens = 3;
    p.beam_width = 4; /* " car" + " sat" (the next word, at the typed word's end) takes a place too */
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    int found = 0;
    for (int i = 0; i < r.n; i++)
        if (!strcmp(r.items[i].text, "t")) {
            found = 1;
            CHECK_NEAR(r.items[i].score, log(.09 / .39 * .05), 1e-5);
        }
    CHECK(found);
    CHECK(r.n > 0 && strcmp(r.items[0].text, "t") != 0);
    ac_complete_result_free(&r);
}

static void vocab_consistent_lookup(void)
{
    int32_t out[N_TOK];
    /* " " is a prefix of " ca"; " ca", " car", " cat" start with it (in byte order) */
    int n = ac__vocab_consistent(&vocab, " ca", 3, out);
    CHECK(n == 4);
    if (n == 4)
        CHECK(out[0] == SP && out[1] == CA && out[2] == CAR && out[3] == CAT);
    /* prefixes of the typed bytes count too: " " and " ca" for " cat" (and " cat" itself) */
    n = ac__vocab_consistent(&vocab, " cat", 4, out);
    CHECK(n == 3);
    if (n == 3)
        CHECK(out[0] == SP && out[1] == CA && out[2] == CAT);
    n = ac__vocab_consistent(&vocab, "<|end", 5, out); /* special tokens are never text */
    CHECK(n == 0);
    CHECK(vocab.stop_at[AC_STOP_WORD][1][SAT] == 0);
    CHECK(vocab.stop_at[AC_STOP_WORD][0][SAT] == -1);
    CHECK(vocab.stop_at[AC_STOP_PHRASE][0][S_DOT] == 2);
    CHECK(vocab.stop_at[AC_STOP_LINE][0][T_NL] == 1);
    CHECK(vocab.sets_started[SAT] && !vocab.sets_started[DOT]);
}

static void stop_scan_rules(void)
{
    int st = 0;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " brown fox", 10) == 6);
    st = 1;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "wn fox", 6) == 2);
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "\nx", 2) == 0);
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " \"caf\xc3\xa9\" x", 10) == 7); /* é is a letter */
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " don't", 6) == -1 && st == 1);
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_PHRASE, &st, "wn fox. The", 11) == 7);
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_PHRASE, &st, " a b\nc", 6) == 4);
    st = 0;
    CHECK(ac__stop_scan(AC_STOP_LINE, &st, "a b. c\nd", 8) == 6);
    CHECK(ac__text_ends_in_word("The quick bro", 13));
    CHECK(!ac__text_ends_in_word("The quick ", 10));
    CHECK(ac__text_ends_in_word("caf\xc3", 4));      /* inside a multi-byte character */
    CHECK(ac__text_ends_in_word("na\xc3\xaf", 4));   /* ends with ï */
    CHECK(!ac__text_ends_in_word("x \xe2\x80\x94", 5)); /* ends with an em dash */
}

static void utf8_and_after_rules(void)
{
    CHECK(ac__utf8_incomplete_tail("caf\xc3", 4) == 1);
    CHECK(ac__utf8_incomplete_tail("\xe2\x80", 2) == 2);
    CHECK(ac__utf8_incomplete_tail("caf\xc3\xa9", 5) == 0);
    CHECK(ac__utf8_keep("\xc3", 1, "\xa9t", 2) == 2);
    CHECK(ac__utf8_keep("\xc3", 1, "t", 1) == 0);     /* does not finish the typed character */
    CHECK(ac__utf8_keep("", 0, "ab\xe2\x80", 4) == 2); /* a cut-off last character goes */
    CHECK(ac__utf8_keep("", 0, "a\xffz", 3) == 1);     /* so does everything from a bad byte */
    CHECK(ac__utf8_viable("\xc3", 1, "", 0) == 1);
    CHECK(ac__utf8_viable("\xc3", 1, "\xa9", 1) == 1);
    CHECK(ac__utf8_viable("\xc3", 1, "a", 1) == 0);
    CHECK(ac__utf8_viable("", 0, "ok\xe2\x80", 4) == 1);
    CHECK(ac__utf8_viable("", 0, "\xed\xa0\x80", 3) == 0); /* a surrogate */
    CHECK(ac__utf8_viable("", 0, "\x80", 1) == 0);
    size_t n = 4;
    CHECK(ac__after_rule(" cat", &n, " cat sat", 8) == 0);
    n = 4;
    CHECK(ac__after_rule(" cat", &n, " cathedral", 10) == 1 && n == 4);
    n = 10;
    CHECK(ac__after_rule(" brown fox", &n, " fox jumps", 10) == 1 && n == 6);
    n = 10;
    CHECK(ac__after_rule(" brown fox", &n, "fox jumps", 9) == 1 && n == 7);
    n = 10;
    CHECK(ac__after_rule(" brown fox", &n, " foxes", 6) == 1 && n == 10);
    n = 3;
    CHECK(ac__after_rule("  \n", &n, "", 0) == 0);
    n = 4;
    CHECK(ac__after_rule(" cat", &n, NULL, 0) == 1 && n == 4);
}

int main(void)
{
    if (toy_world_init())
        return 1;
    RUN(beam_order_total_logprob);
    RUN(length_normalisation_changes_order);
    RUN(stop_rules_phrase_and_line);
    RUN(duplicates_compare_text);
    RUN(abstain_threshold);
    RUN(after_cursor_rule_in_search);
    RUN(deadline_returns_partial);
    RUN(cancel_flag);
    RUN(token_healing_constraint);
    RUN(non_canonical_split_pays_its_probability);
    RUN(vocab_consistent_lookup);
    RUN(stop_scan_rules);
    RUN(utf8_and_after_rules);
    toy_world_free();
    return CHECK_EXIT_CODE();
}
