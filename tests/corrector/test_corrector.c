/* test_corrector.c: the spelling corrector without a language model: the error model's ordering,
 * capitalisation, byte offsets around multi-byte text, what is never touched, the user dictionary,
 * real-word errors, a fake context scorer's effect on the ranking, and the dictionary file parser's
 * errors. The candidate search against brute force and the dictionary's memory are in
 * test_candidates.c.
 */
#include "check.h"
#include "autocorrect/corrector.h"
#include "corrector/corrector_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A small dictionary: word<TAB>count. */
static const char small_dict[] =
    "#autocorrect-dictionary\t1\n"
    "# test words\n"
    "the\t5000\nThe\t100\nin\t2000\ncat\t300\ncar\t300\nsat\t200\non\t3000\nmat\t50\nhouse\t400\n"
    "letter\t200\nreceive\t100\nseparate\t80\nfrom\t900\nform\t150\nstore\t120\nwent\t300\n"
    "I\t4000\nwent\t10\nEnglish\t90\nword\t500\nwords\t200\ncafé\t5\nnaïve\t5\nthere\t700\n"
    "their\t600\nhello\t50\nworld\t60\ndon't\t70\ndog\t90\n";

static ac_dict *small(void)
{
    char err[AC_ERR_SIZE];
    ac_dict *d = NULL;
    int rc = ac_dict_parse(small_dict, strlen(small_dict), &d, err);
    CHECKF(rc == AC_OK, "parse: %s", err);
    return d;
}

/* --- error model ------------------------------------------------------------------------------- */

static void error_model_ordering(void)
{
    ac_error_model m = ac_error_model_default();
    float transpose = ac_error_model_score(&m, "lettre", 6, "letter", 6);
    float neighbour = ac_error_model_score(&m, "letyer", 6, "letter", 6);   /* y is next to t */
    float dropped_double = ac_error_model_score(&m, "leter", 5, "letter", 6);
    float tripled = ac_error_model_score(&m, "lettter", 7, "letter", 6);
    float vowel = ac_error_model_score(&m, "lettar", 6, "letter", 6);
    float random_sub = ac_error_model_score(&m, "letqer", 6, "letter", 6);   /* q is far from t */
    float random_ins = ac_error_model_score(&m, "letpter", 7, "letter", 6);
    float two = ac_error_model_score(&m, "lettre", 6, "lotter", 6);
    float exact = ac_error_model_score(&m, "Letter", 6, "letter", 6);
    CHECKF(transpose > random_sub, "transpose %g vs random %g", transpose, random_sub);
    CHECKF(neighbour > random_sub, "neighbour %g vs random %g", neighbour, random_sub);
    CHECKF(dropped_double > random_sub, "dropped double %g vs random %g", dropped_double, random_sub);
    CHECKF(tripled > random_ins, "tripled %g vs random insert %g", tripled, random_ins);
    CHECKF(vowel > random_sub, "vowel %g vs random %g", vowel, random_sub);
    CHECKF(two < transpose && two < vowel, "two edits %g must cost more than one", two);
    CHECK(exact == m.keep);
    CHECK(isinf(ac_error_model_score(&m, "abcdef", 6, "letter", 6)));
    CHECK(ac__keys_near('g', 'h') && ac__keys_near('g', 't') && ac__keys_near('g', 'b') && !ac__keys_near('g', 'p'));
    CHECK(ac__keys_near('a', 'q') && ac__keys_near('a', 'z') && !ac__keys_near('a', 'x'));
    CHECK(ac_edit_distance("teh", 3, "the", 3) == 1);
    CHECK(ac_edit_distance("kitten", 6, "sitting", 7) == 3);
    CHECK(ac_edit_distance("café", 5, "cafe", 4) == 1);  /* code points, not bytes */

    /* in the ranking: with equal counts, the keyboard neighbour wins */
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_candidate c[8];
    char err[AC_ERR_SIZE];
    int n = ac_correct_word(d, NULL, 0, "cay", 3, NULL, 0, &p, c, 8, err);  /* y: next to t, far from r */
    CHECKF(n >= 2, "%d candidates", n);
    if (n >= 2) {
        CHECK_STR(c[0].text, "cat");
        CHECK(c[0].score > c[1].score && c[0].score <= 0);
    }
    n = ac_correct_word(d, NULL, 0, "cae", 3, NULL, 0, &p, c, 8, err);  /* e: next to r, not t */
    CHECK(n >= 1 && !strcmp(c[0].text, "car"));
    ac_dict_free(d);
}

/* --- text -------------------------------------------------------------------------------------- */

static int correct(const ac_dict *d, const char *text, const ac_correct_params *p, ac_correction *out, int max)
{
    char err[AC_ERR_SIZE];
    int n = -1;
    int rc = ac_correct_text(d, text, strlen(text), p, out, max, &n, err);
    CHECKF(rc == AC_OK, "ac_correct_text('%s'): %s", text, err);
    return rc == AC_OK ? n : -1;
}

static void capitalisation_kept(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[8];
    int n = correct(d, "Teh cat sat on teh mat", &p, c, 8);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(c[0].original, "Teh");
        CHECK_STR(c[0].replacement, "The");
        CHECK_STR(c[1].replacement, "the");
        CHECK(c[0].start == 0 && c[0].end == 3 && c[1].start == 15 && c[1].end == 18);
        ac_buf out = {0};
        CHECK(ac_correct_apply("Teh cat sat on teh mat", 22, c, n, &out) == AC_OK);
        CHECK_STR(out.data, "The cat sat on the mat");
        ac_buf_free(&out);
    }
    /* a proper noun keeps its own capitals */
    n = correct(d, "in Englsh", &p, c, 8);
    CHECK(n == 1 && !strcmp(c[0].replacement, "English"));
    n = correct(d, "in englsh", &p, c, 8);
    CHECK(n == 1 && !strcmp(c[0].replacement, "English"));
    ac_dict_free(d);
}

static void offsets_in_bytes_around_multibyte(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[8];
    const char *text = "café — naïve 😀 teh «wrod», ünïcödé okay";
    int n = correct(d, text, &p, c, 8);
    CHECKF(n == 2, "%d corrections", n);
    if (n == 2) {
        size_t teh = (size_t)(strstr(text, "teh") - text), wrod = (size_t)(strstr(text, "wrod") - text);
        CHECK(c[0].start == teh && c[0].end == teh + 3);
        CHECK(c[1].start == wrod && c[1].end == wrod + 4);
        CHECK_STR(c[1].replacement, "word");
        CHECK(!memcmp(text + c[1].start, c[1].original, strlen(c[1].original)));
    }
    /* an accented dictionary word is found across code points */
    n = correct(d, "the cafe", &p, c, 8);
    CHECK(n == 1 && !strcmp(c[0].replacement, "café") && c[0].start == 4 && c[0].end == 8);
    ac_dict_free(d);
}

static void never_touched(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[16];
    const char *text = "teh2 http://teh.example/wrod teh@example.org teh_var TEH x.teh (wrod), a/teh "
                       "$teh #teh www.teh.org 3teh tEh std::teh wrod() .teh teh";
    int n = correct(d, text, &p, c, 16);
    CHECKF(n == 2, "%d corrections (only (wrod), and the last teh)", n);
    if (n == 2) {
        CHECK_STR(c[0].original, "wrod");
        CHECK(c[1].start == strlen(text) - 3);
    }
    /* known words, contractions and possessives stay */
    n = correct(d, "I don't hello the dog's house, Dog's", &p, c, 16);
    CHECKF(n == 0, "%d", n);
    ac_dict_free(d);
}

static void invalid_utf8_rejected(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[4];
    char err[AC_ERR_SIZE];
    int n = 99;
    const char bad[] = "teh \xff\xfe cat \xc3";
    CHECK(ac_correct_text(d, bad, sizeof bad - 1, &p, c, 4, &n, err) == AC_E_FORMAT && n == 0);
    const char overlong[] = "teh \xc0\xaf";
    CHECK(ac_correct_text(d, overlong, sizeof overlong - 1, &p, c, 4, &n, err) == AC_E_FORMAT);
    const char surrogate[] = "teh \xed\xa0\x80";
    CHECK(ac_correct_text(d, surrogate, sizeof surrogate - 1, &p, c, 4, &n, err) == AC_E_FORMAT);
    CHECK(ac_dict_lookup(d, "\xff", 1, NULL) == AC_WORD_UNKNOWN);
    CHECK(ac_correct_word(d, NULL, 0, "t\xffh", 3, NULL, 0, &p, c[0].candidates, 4, err) == 0);
    ac_dict_free(d);
}

static void scope_last_words(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    p.scope = AC_CORRECT_LAST;
    p.last_words = 1;
    ac_correction c[4];
    /* the word being typed is left alone */
    CHECK(correct(d, "teh cat sat on teh", &p, c, 4) == 0);
    int n = correct(d, "teh cat sat on teh ", &p, c, 4);
    CHECK(n == 1 && c[0].start == 15);
    n = correct(d, "teh cat sat on teh,", &p, c, 4);
    CHECK(n == 1 && c[0].start == 15);
    p.last_words = 5;
    CHECK(correct(d, "teh cat sat on teh ", &p, c, 4) == 2);
    ac_dict_free(d);
}

static void last_word_for_the_decoder(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction fix;
    char err[AC_ERR_SIZE];
    const char *t = "The cat sat on teh ma";
    CHECK(ac_correct_last_word(d, t, strlen(t), &p, 0.5f, &fix, err) == 1);
    CHECK(fix.start == 15 && fix.end == 18 && !strcmp(fix.replacement, "the"));
    /* nothing to fix, or the misspelling is not the last complete word */
    t = "teh cat sat on the ma";
    CHECK(ac_correct_last_word(d, t, strlen(t), &p, 0.5f, &fix, err) == 0);
    t = "The cat sat on the wrod";   /* still being typed */
    CHECK(ac_correct_last_word(d, t, strlen(t), &p, 0.5f, &fix, err) == 0);
    /* not confident enough: "cax" -> cat or car, neither near certain */
    t = "I saw a cax ";
    CHECK(ac_correct_last_word(d, t, strlen(t), &p, 0.0f, &fix, err) == 1);
    CHECK(ac_correct_last_word(d, t, strlen(t), &p, 0.99f, &fix, err) == 0);
    CHECK(ac_correct_last_word(d, "bad \xff teh ", 11, &p, 0.5f, &fix, err) == AC_E_FORMAT);
    ac_dict_free(d);
}

/* --- user dictionary --------------------------------------------------------------------------- */

static void user_dictionary_never_corrected(void)
{
    char dir[] = "/tmp/ac_test_user_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("XDG_DATA_HOME", dir, 1);
    char path[512], err[AC_ERR_SIZE];
    CHECK(ac_dict_user_path(path, sizeof path, err) == AC_OK);
    char want[600];
    snprintf(want, sizeof want, "%s/autocorrect/user-dictionary.txt", dir);
    CHECK_STR(path, want);

    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[4];
    CHECK(correct(d, "the wrod", &p, c, 4) == 1);
    CHECK(ac_dict_lookup(d, "wrod", 4, NULL) == AC_WORD_UNKNOWN);
    CHECKF(ac_dict_add_user_word(d, NULL, "wrod", err) == AC_OK, "%s", err);
    CHECK(ac_dict_lookup(d, "Wrod", 4, NULL) == AC_WORD_USER);
    CHECK(correct(d, "the wrod Wrod", &p, c, 4) == 0);
    /* the file: 0600 in a 0700 directory, one line per word, no duplicates */
    CHECK(ac_dict_add_user_word(d, NULL, "wrod", err) == AC_OK);
    CHECK(ac_dict_add_user_word(NULL, NULL, "Zyxxle", err) == AC_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char adir[600];
    snprintf(adir, sizeof adir, "%s/autocorrect", dir);
    CHECK(stat(adir, &st) == 0 && (st.st_mode & 0777) == 0700);
    char *data;
    size_t len;
    CHECK(ac_file_read(path, 1 << 20, &data, &len, err) == AC_OK);
    if (data) {
        CHECK_STR(data, "wrod\nZyxxle\n");
        free(data);
    }
    /* bad words are refused */
    CHECK(ac_dict_add_user_word(d, NULL, "two words", err) == AC_E_ARG);
    CHECK(ac_dict_add_user_word(d, NULL, "", err) == AC_E_ARG);
    CHECK(ac_dict_add_user_word(d, NULL, "x\xff", err) == AC_E_ARG);
    CHECK(ac_dict_add_user_word(d, NULL, "-dash", err) == AC_E_ARG);
    ac_dict_free(d);

    /* a fresh dictionary reads the file: the user's words are kept and offered as candidates */
    d = small();
    CHECK(ac_dict_user_load(d, NULL, err) == AC_OK);
    CHECK(correct(d, "the wrod and zyxxle", &p, c, 4) == 0);
    int n = correct(d, "the Zyxle", &p, c, 4);
    CHECK(n == 1 && !strcmp(c[0].replacement, "Zyxxle"));
    ac_dict_free(d);
    unlink(path);
    rmdir(adir);
    rmdir(dir);
    unsetenv("XDG_DATA_HOME");
}

/* --- context scorers: real words and ranking direction ----------------------------------------- */

/* A fake language model: a log-probability per option word, looked up in a table; -20 otherwise. */
struct fake_lm { const char *word[4]; float logp[4]; int calls; char last_left[64]; char last_right[64]; };

static int fake_score(void *user, const char *left, size_t left_len, const char *right, size_t right_len,
                      const char *const *options, int n, float *logp, char *err)
{
    (void)err;
    struct fake_lm *f = user;
    f->calls++;
    snprintf(f->last_left, sizeof f->last_left, "%.*s", (int)left_len, left);
    snprintf(f->last_right, sizeof f->last_right, "%.*s", (int)right_len, right);
    for (int i = 0; i < n; i++) {
        logp[i] = -20.0f;
        for (int k = 0; k < 4 && f->word[k]; k++)
            if (!strcmp(options[i], f->word[k]))
                logp[i] = f->logp[k];
    }
    return AC_OK;
}

static void real_word_errors_need_context(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_correction c[4];
    /* dictionary only: a real word is never touched */
    CHECK(correct(d, "I went form the store", &p, c, 4) == 0);
    /* a context that barely prefers "from": untouched */
    struct fake_lm weak = {{"form", "from"}, {-6.0f, -5.0f}, 0, "", ""};
    p.scorer.score = fake_score;
    p.scorer.user = &weak;
    CHECK(correct(d, "I went form the store", &p, c, 4) == 0);
    CHECK(weak.calls == 1);
    CHECK_STR(weak.last_left, "I went ");
    CHECK_STR(weak.last_right, " the");  /* right_words = 1 */
    /* a context that makes it clear: corrected, flagged as a real-word correction */
    struct fake_lm strong = {{"form", "from"}, {-14.0f, -2.0f}, 0, "", ""};
    p.scorer.user = &strong;
    int n = correct(d, "I went form the store", &p, c, 4);
    CHECK(n == 1 && !strcmp(c[0].replacement, "from") && c[0].real_word == 1 && c[0].start == 7);
    /* ...unless the user's dictionary has it */
    ac_dict_free(d);
}

static void scorer_changes_ranking(void)
{
    ac_dict *d = small();
    ac_correct_params p = ac_correct_default_params();
    ac_candidate c[8];
    char err[AC_ERR_SIZE];
    /* without context "cay" -> "cat" (keyboard neighbour); a context that likes "car" flips it */
    int n = ac_correct_word(d, "I drove the ", 12, "cay", 3, NULL, 0, &p, c, 8, err);
    CHECK(n >= 2 && !strcmp(c[0].text, "cat"));
    struct fake_lm likes_car = {{"car", "cat"}, {-2.0f, -9.0f}, 0, "", ""};
    p.scorer.score = fake_score;
    p.scorer.user = &likes_car;
    p.lm_weight = 1.0f;          /* the language score is the scorer's, nothing else */
    p.lm_unigram_weight = 0.0f;
    n = ac_correct_word(d, "I drove the ", 12, "cay", 3, NULL, 0, &p, c, 8, err);
    CHECK(n >= 2 && !strcmp(c[0].text, "car") && !strcmp(c[1].text, "cat"));
    CHECK(n >= 1 && c[0].language == -2.0f);
    /* and the same context liking "cat" keeps it first */
    struct fake_lm likes_cat = {{"car", "cat"}, {-9.0f, -2.0f}, 0, "", ""};
    p.scorer.user = &likes_cat;
    n = ac_correct_word(d, "I fed the ", 10, "cay", 3, NULL, 0, &p, c, 8, err);
    CHECK(n >= 2 && !strcmp(c[0].text, "cat"));
    /* a failing scorer falls back to the dictionary ranking */
    ac_dict_free(d);
}

/* --- the dictionary file ----------------------------------------------------------------------- */

static void dictionary_format_errors(void)
{
    char err[AC_ERR_SIZE];
    ac_dict *d = (ac_dict *)1;
    const char *bad[] = {
        "word\t1\n",                                     /* no header */
        "#autocorrect-dictionary\t2\nword\t1\n",         /* future version */
        "#autocorrect-dictionary\t1\nword 1\n",          /* no tab */
        "#autocorrect-dictionary\t1\nword\t1x\n",        /* bad count */
        "#autocorrect-dictionary\t1\nword\t\n",          /* missing count */
        "#autocorrect-dictionary\t1\nw\xffrd\t1\n",      /* invalid UTF-8 */
        "#autocorrect-dictionary\t1\nw0rd\t1\n",         /* not a word */
        "#autocorrect-dictionary\t1\nok\t1\n\tbad\n",    /* empty word */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ac_dict_parse(bad[i], strlen(bad[i]), &d, err);
        CHECKF(rc != AC_OK && d == NULL, "case %zu accepted", i);
    }
    CHECK(ac_dict_parse(bad[3], strlen(bad[3]), &d, err) == AC_E_FORMAT && strstr(err, "line 2"));
    CHECK(ac_dict_parse(bad[1], strlen(bad[1]), &d, err) == AC_E_UNSUPPORTED);
    CHECK(ac_dict_load("/nonexistent/dictionary.tsv", &d, err) == AC_E_IO);
    const char ok[] = "#autocorrect-dictionary\t1\r\n# c\r\n\r\nApple\t3\r\napple\t4\r\n";
    CHECK(ac_dict_parse(ok, sizeof ok - 1, &d, err) == AC_OK);
    if (d) {
        uint64_t count = 0;
        CHECK(ac_dict_size(d) == 1);
        CHECK(ac_dict_lookup(d, "APPLE", 5, &count) == AC_WORD_KNOWN && count == 7);
        ac_dict_free(d);
    }
}

/* The shipped dictionary, when built: realistic misspellings come out right. */
static void shipped_dictionary(void)
{
    const char *path = "models/default/dictionary.tsv";
    if (access(path, R_OK) != 0)
        SKIP("no %s (make dictionary)", path);
    char err[AC_ERR_SIZE];
    ac_dict *d;
    double t0 = ac_now();
    CHECKF(ac_dict_load(path, &d, err) == AC_OK, "%s", err);
    double secs = ac_now() - t0;
    CHECKF(secs < 2.0, "loading took %.2f s", secs);
    CHECK(ac_dict_size(d) > 50000);
    ac_correct_params p = ac_correct_default_params();
    const char *pairs[][2] = {{"recieve", "receive"}, {"seperate", "separate"}, {"teh", "the"},
                              {"definately", "definitely"}, {"begining", "beginning"}, {"untill", "until"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        ac_candidate c[5];
        int n = ac_correct_word(d, NULL, 0, pairs[i][0], strlen(pairs[i][0]), NULL, 0, &p, c, 5, err);
        CHECKF(n > 0 && !strcmp(c[0].text, pairs[i][1]), "%s -> %s", pairs[i][0], n > 0 ? c[0].text : "nothing");
    }
    ac_dict_free(d);
}

int main(void)
{
    if (chdir(getenv("AC_TEST_ROOT") ? getenv("AC_TEST_ROOT") : ".") != 0)
        return 1;
    RUN(error_model_ordering);
    RUN(capitalisation_kept);
    RUN(offsets_in_bytes_around_multibyte);
    RUN(never_touched);
    RUN(invalid_utf8_rejected);
    RUN(scope_last_words);
    RUN(last_word_for_the_decoder);
    RUN(user_dictionary_never_corrected);
    RUN(real_word_errors_need_context);
    RUN(scorer_changes_ranking);
    RUN(dictionary_format_errors);
    RUN(shipped_dictionary);
    return CHECK_EXIT_CODE();
}
