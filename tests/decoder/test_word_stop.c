/* Tests for the word stop rule at the end of a typed word: when the text ends in a word and the
 * completion has added nothing, it may go on with that word or, after one space, take the whole
 * next word (" sat" after "... cat"), stopping at that word's end; any other character ends it
 * there. Mid-word typing (token healing) only extends the typed word, and the phrase and line rules
 * do not care about word states.
 *
 * The toy world (15 tokens, the bigram table, the fake scorer, run() and CHECK_ITEMS) is
 * toy_world.h, shared with test_beam.c. Every expected answer below is worked out by hand from the
 * table, as in test_beam.c.
 */
#include "decoder/toy_world.h"

/* table[row] = the listed (token, p) pairs. */
#define ROW(row, ...) set_row((row), (entry[]){__VA_ARGS__}, (int)(sizeof((entry[]){__VA_ARGS__}) / sizeof(entry)))

static void set_row(int row, const entry *e, int n)
{
    memset(table[row], 0, sizeof table[row]);
    memcpy(table[row], e, sizeof(entry) * (size_t)n);
}

static void scan_from_word_end(void)
{
    int st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " States of", 10) == 7); /* a space opens the next word */
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "ly the", 6) == 2);      /* or the typed word goes on */
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, ", the", 5) == 0);       /* punctuation ends it here */
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, ".", 1) == 0);
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "\n", 1) == 0);
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "\tx", 2) == 0);         /* only a space, not a tab */
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " ", 1) == -1 && st == AC__WORD_BEFORE);
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, "s", 1) == -1 && st == AC__WORD_IN);
    /* after the space, as after a typed space: opening punctuation may lead the word */
    st = AC__WORD_END;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " \"Yes\" he", 9) == 5);
    /* the old states are as they were */
    st = AC__WORD_IN;
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, " States", 7) == 0);
    st = AC__WORD_BEFORE; /* after a typed space any punctuation may lead; at a word's end it may not */
    CHECK(ac__stop_scan(AC_STOP_WORD, &st, ", the x", 7) == 5);
    /* phrase and line rules stop at the same places from every state */
    const char *s[] = {", the", " States. Of", "ly\nx", "a b. c\nd"};
    for (int rule = AC_STOP_PHRASE; rule <= AC_STOP_LINE; rule++)
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
            int a = AC__WORD_BEFORE, b = AC__WORD_IN, c = AC__WORD_END;
            int ra = ac__stop_scan(rule, &a, s[i], strlen(s[i]));
            CHECKF(ac__stop_scan(rule, &b, s[i], strlen(s[i])) == ra && ac__stop_scan(rule, &c, s[i], strlen(s[i])) == ra,
                   "rule %d, \"%s\": the state changes where it stops", rule, s[i]);
        }
    /* the tables: " sat" goes on from a word's end, "." and "\n" stop there, "s." is cut after "s" */
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][SAT] == -1);
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][SP] == -1);
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][DOT] == 0);
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][NL] == 0);
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][S_DOT] == 1);
    CHECK(vocab.stop_at[AC_STOP_WORD][AC__WORD_END][T_NL] == 1);
    for (int t = 0; t < N_TOK; t++)
        for (int rule = AC_STOP_PHRASE; rule <= AC_STOP_LINE; rule++)
            CHECKF(vocab.stop_at[rule][AC__WORD_END][t] == vocab.stop_at[rule][AC__WORD_IN][t] &&
                   vocab.stop_at[rule][AC__WORD_BEFORE][t] == vocab.stop_at[rule][AC__WORD_IN][t],
                   "rule %d, token \"%s\": the state changes the table", rule, tok_text[t]);
}

/* The model of the word-end tests: after the typed " cat" it goes on with " sat" .6, "." .2, eos .1
 * or "s" .1 (table_default's row); " sat" is followed by " the" .5, "." .3 or eos .2. */
static void word_end_world(void)
{
    table_default();
    ROW(ROOT, {CAT, .8}, {CA, .1}, {DOG, .1});
    ROW(SAT, {THE, .5}, {DOT, .3}, {EOS, .2});
}

static void next_word_at_word_end(void)
{
    /* Typed " cat" (healing requires it). Consistent first tokens: " cat" .8 and " ca" .1,
     * renormalised to 8/9 and 1/9 (" " has no mass). alpha = 0, W = 3, T = 3:
     * step 0: beams "" (" cat", at the word's end) 8/9, "" (" ca", "t" still to type) 1/9
     * step 1: after " cat": " sat" 8/9*.6 = .5333 opens the next word; "s" 8/9*.1 goes on with the
     *         typed one; "." and eos would end it where it is, with nothing added: no completion.
     *         After " ca": "t" .9 (the model's own probability) -> "" 1/9*.9 = .1, at the word's end.
     * step 2: " sat" stops (" the", ".", eos all start a new word: 1.0) -> " sat" .5333;
     *         "s" stops (" sat" .7, "." .3) -> "s" .0889; "" (via "t") -> " sat" .06, "s" .01,
     *         which end at max_tokens as duplicates of better ones.
     * Before this rule, only "s" came back. */
    word_end_world();
    ac__beam_params p = healing_params(" cat");
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" sat", log(8. / 9 * .6)}, {"s", log(8. / 9 * .1)});
    ac_complete_result_free(&r);
    /* Without token healing (the context ends with the whole word): the same from the root. The
     * root row is " sat" .5, "s" .3, "." .2: "." ends the completion before anything is added. */
    ROW(ROOT, {SAT, .5}, {S, .3}, {DOT, .2});
    p = base_params();
    p.started = 1;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" sat", log(.5)}, {"s", log(.3)});
    ac_complete_result_free(&r);
}

static void next_word_stops_at_its_end(void)
{
    /* After " cat" the model is sure of " sat" and then of " the" and " dog": the completion is the
     * one next word, " sat", never " sat the". A space alone (" ") also opens the next word, as a
     * typed space would: " " then " dog" ends at " dog"'s end with two spaces before it. alpha = 0,
     * W = 3, T = 4; typed " cat" (only " cat" has mass among the consistent tokens: 1.0).
     * " sat": .7 * 1 (" the" stops) = .7; "  dog": .3 * 1 (" dog") * 1 (eos stops) = .3 */
    table_default();
    ROW(ROOT, {CAT, 1.0});
    ROW(CAT, {SAT, .7}, {SP, .3});
    ROW(SAT, {THE, 1.0});
    ROW(THE, {DOG, 1.0});
    ROW(SP, {DOG, 1.0});
    ac__beam_params p = healing_params(" cat");
    p.max_tokens = 4;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" sat", log(.7)}, {"  dog", log(.3)});
    ac_complete_result_free(&r);
    /* The next word's end is a word end like any other: from "s" (in the word) " sat" stops, so
     * "s" is never followed by a word either. */
    ROW(CAT, {S, 1.0});
    ROW(S, {SAT, 1.0});
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {"s", 0.0});
    ac_complete_result_free(&r);
}

static void punctuation_at_word_end_still_ends(void)
{
    /* After the typed " cat": "." .4 and "\n" .2 end the completion before anything is added (no
     * ". the" and no line break); "s." .2 keeps only "s" (the word goes on, then "." ends it), and
     * " sat" .2 is the next word. alpha = 0: "s" .2 (cut inside its token: no stop event), " sat"
     * .2 * 1 (eos). The tie goes to the text first in byte order: " sat". */
    table_default();
    ROW(ROOT, {CAT, 1.0});
    ROW(CAT, {DOT, .4}, {NL, .2}, {S_DOT, .2}, {SAT, .2});
    ac__beam_params p = healing_params(" cat");
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" sat", log(.2)}, {"s", log(.2)});
    ac_complete_result_free(&r);
    /* Only punctuation: nothing at all. */
    ROW(CAT, {DOT, .5}, {NL, .3}, {EOS, .2});
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK(r.n == 0);
    ac_complete_result_free(&r);
}

static void mid_word_only_extends_the_typed_word(void)
{
    /* Typed " ca" (healing requires it; the word-end state applies only after it). Consistent:
     * " cat" .6, " car" .3, " ca" .1 (sum 1). After " cat" the model is sure of " sat", after
     * " car" it says " sat" .4 or "s" .6, after " ca" "t" .9 or "r" .1. alpha = 0, W = 3, T = 3:
     * step 0: beams "t" .6, "r" .3 (in the word: "t" and "r" extend the typed letters), "" .1
     * step 1: "t" stops -> "t" .6; "r" stops -> "r" .12, "rs" .18 goes on; "" -> "t" .09, "r" .01
     * step 2: "rs" stops -> "rs" .18; the others are duplicates of better ones.
     * No completion starts another word: once the typed word is extended, " sat" ends it. */
    table_default();
    ROW(ROOT, {CAT, .6}, {CAR, .3}, {CA, .1});
    ROW(CAT, {SAT, 1.0});
    ROW(T, {SAT, 1.0});
    ROW(CAR, {SAT, .4}, {S, .6});
    ROW(R, {SAT, .4}, {S, .6});
    ac__beam_params p = healing_params(" ca");
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {"t", log(.6)}, {"rs", log(.3 * .6)}, {"r", log(.3 * .4)});
    for (int i = 0; i < r.n; i++)
        CHECKF(strchr(r.items[i].text, ' ') == NULL, "\"%s\" goes past the typed word", r.items[i].text);
    ac_complete_result_free(&r);
}

static void phrase_and_line_unchanged(void)
{
    /* The word-end state is the word rule's alone: with the phrase rule, typed " cat" in the world
     * of next_word_at_word_end (alpha = 0, W = 3, T = 3):
     * step 1: "." 8/9*.2 = .1778 (kept mark, finished); beams " sat" .5333, "" (via " ca"+"t") .1,
     *         "s" .0889 (eos .1 would stop with nothing added: no completion)
     * step 2: " sat." .16 and " sat" .1067 (eos) finish, " sat the" .2667 goes on; "s." .0267
     *         finishes, "s sat" .0622 goes on; "" gives " sat" .06 (its "." .02 a worse duplicate)
     * end: " sat the" .2667, "." .1778, " sat." .16 */
    word_end_world();
    ac__beam_params p = healing_params(" cat");
    p.stop = AC_STOP_PHRASE;
    fake f = {0};
    ac_complete_result r;
    CHECK(run(&p, &f, &r) == AC_OK);
    CHECK_ITEMS(&r, {" sat the", log(8. / 9 * .6 * .5)}, {".", log(8. / 9 * .2)}, {" sat.", log(8. / 9 * .6 * .3)});
    ac_complete_result_free(&r);
    /* Phrase and line: the same completions and scores whether or not the text ends in a word. */
    for (int rule = AC_STOP_PHRASE; rule <= AC_STOP_LINE; rule++) {
        ac_complete_result a, b;
        p.stop = rule;
        p.started = 1;
        CHECK(run(&p, &f, &a) == AC_OK);
        p.started = 0;
        CHECK(run(&p, &f, &b) == AC_OK);
        CHECKF(a.n == b.n && a.n > 0, "rule %d: %d completions against %d", rule, a.n, b.n);
        for (int i = 0; i < a.n && i < b.n; i++)
            CHECKF(!strcmp(a.items[i].text, b.items[i].text) && a.items[i].score == b.items[i].score,
                   "rule %d, completion %d: \"%s\" %g against \"%s\" %g", rule, i, a.items[i].text,
                   (double)a.items[i].score, b.items[i].text, (double)b.items[i].score);
        ac_complete_result_free(&a);
        ac_complete_result_free(&b);
    }
}

int main(void)
{
    if (toy_world_init())
        return 1;
    RUN(scan_from_word_end);
    RUN(next_word_at_word_end);
    RUN(next_word_stops_at_its_end);
    RUN(punctuation_at_word_end_still_ends);
    RUN(mid_word_only_extends_the_typed_word);
    RUN(phrase_and_line_unchanged);
    toy_world_free();
    return CHECK_EXIT_CODE();
}
