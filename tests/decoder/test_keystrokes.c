/* Tests for the simulated user of the keystroke-savings evaluation (ac__keystroke_sim), with a fake
 * suggester whose answers are a fixed table, so each count below is worked out by hand. */
#include "check.h"
#include "decoder/decoder_internal.h"

typedef struct row { const char *typed; const char *shown[3]; } row;

static const row table[] = {
    {"", {"the", "a", NULL}},
    {"the", {" dog", " c", NULL}},
    {"the c", {"at", "at sat", "ow"}},
};

static int fake_suggest(void *ctx, const char *text, size_t len, int shown, const char **texts, size_t *lens,
                        char *err)
{
    (void)err;
    int *calls = ctx;
    (*calls)++;
    for (size_t r = 0; r < sizeof table / sizeof table[0]; r++) {
        if (strlen(table[r].typed) != len || memcmp(table[r].typed, text, len))
            continue;
        int n = 0;
        for (int i = 0; i < 3 && i < shown && table[r].shown[i]; i++, n++) {
            texts[i] = table[r].shown[i];
            lens[i] = strlen(texts[i]);
        }
        return n;
    }
    return 0;
}

static void accepts_the_longest_match(void)
{
    /* Two shown: "" -> accept "the"; "the" -> " dog" does not match, " c" does: accept; "the c" ->
     * "at" and "at sat" match: accept the longer. 3 keystrokes for 11 characters. */
    ac__ks_stats st = {0};
    int calls = 0;
    char err[AC_ERR_SIZE];
    CHECK(ac__keystroke_sim("the cat sat", 11, 2, fake_suggest, &calls, &st, err) == AC_OK);
    CHECK(st.chars == 11);
    CHECK(st.keystrokes == 3);
    CHECK(st.accepts == 3);
    CHECK(st.accepted_chars == 11);
    CHECK(st.requests == 3 && calls == 3);
    CHECK(st.nonempty == 3);
}

static void fewer_shown_fewer_savings(void)
{
    /* One shown: "the" (accept), " dog" (no: type ' '), "the " (nothing: type 'c'), "at" (accept),
     * then " sat" typed: 1 + 1 + 1 + 1 + 4 = 8 keystrokes, 2 accepts of 5 characters. */
    ac__ks_stats st = {0};
    int calls = 0;
    char err[AC_ERR_SIZE];
    CHECK(ac__keystroke_sim("the cat sat", 11, 1, fake_suggest, &calls, &st, err) == AC_OK);
    CHECK(st.keystrokes == 8);
    CHECK(st.accepts == 2);
    CHECK(st.accepted_chars == 5);
    CHECK(st.requests == 8);
    CHECK(st.nonempty == 3); /* "", "the" and "the c" showed something; the other five abstained */
}

static void counts_characters_not_bytes(void)
{
    /* No suggestion matches: one keystroke per code point (é is two bytes, one keystroke). */
    ac__ks_stats st = {0};
    int calls = 0;
    char err[AC_ERR_SIZE];
    CHECK(ac__keystroke_sim("caf\xc3\xa9!", 6, 3, fake_suggest, &calls, &st, err) == AC_OK);
    CHECK(st.chars == 5 && st.keystrokes == 5 && st.accepts == 0);
    CHECK(ac__keystroke_sim("x", 1, 0, fake_suggest, &calls, &st, err) == AC_E_ARG);
}

int main(void)
{
    RUN(accepts_the_longest_match);
    RUN(fewer_shown_fewer_savings);
    RUN(counts_characters_not_bytes);
    return CHECK_EXIT_CODE();
}
