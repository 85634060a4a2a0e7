/* eval_spelling.c: the spelling corrector's quality evaluation. Reads the test files that
 * bench/eval_spelling_data.py writes (codespell's misspellings; held-out sentences with misspellings
 * injected) and reports:
 *   isolated: top-1 and top-5 accuracy of ac_correct_word on single misspelled words (no context),
 *             over all non-word misspellings and over those within 2 edits of their correction;
 *   sentences: the share of injected misspellings fixed (replaced by exactly the original word),
 *             the share of the other words broken (changed at all), and the speed;
 *   real words: the same for sentences where a word was swapped for its confusion partner
 *             (there -> their); only a context scorer can fix these.
 * With --model it ranks with the language model in context (the decoder module's scorer); without,
 * by the dictionary's word frequencies. Not a test (no pass/fail): bench/eval_spelling.sh runs it.
 *
 * Usage: eval_spelling [--dictionary PATH] [--model DIR] [--data DIR] [--half dev|test]
 *                      [--set NAME=VALUE]... [--limit N] [--show N] [--json]
 */
#include "autocorrect/corrector.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    const char *dictionary, *model, *data, *half;
    int limit, show, json, threads;
} opts;

/* --set NAME=VALUE: a parameter of ac_correct_params or of its error model. */
static int set_param(ac_correct_params *p, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -1;
    size_t n = (size_t)(eq - arg);
    double v = atof(eq + 1);
    struct { const char *name; float *f; int *i; } table[] = {
        {"keep", &p->error_model.keep, NULL},
        {"substitute", &p->error_model.substitute, NULL},
        {"substitute_near", &p->error_model.substitute_near, NULL},
        {"substitute_vowel", &p->error_model.substitute_vowel, NULL},
        {"insert", &p->error_model.insert, NULL},
        {"insert_near", &p->error_model.insert_near, NULL},
        {"omit", &p->error_model.omit, NULL},
        {"omit_double", &p->error_model.omit_double, NULL},
        {"transpose", &p->error_model.transpose, NULL},
        {"first_letter", &p->error_model.first_letter, NULL},
        {"unigram_weight", &p->unigram_weight, NULL},
        {"lm_weight", &p->lm_weight, NULL},
        {"lm_unigram_weight", &p->lm_unigram_weight, NULL},
        {"unknown_logp", &p->unknown_logp, NULL},
        {"unknown_penalty", &p->unknown_penalty, NULL},
        {"real_word_margin", &p->real_word_margin, NULL},
        {"capital_keep", &p->capital_keep, NULL},
        {"min_posterior", &p->min_posterior, NULL},
        {"lm_skip_posterior", &p->lm_skip_posterior, NULL},
        {"max_distance", NULL, &p->max_distance},
        {"lm_candidates", NULL, &p->lm_candidates},
        {"right_words", NULL, &p->right_words},
        {"dictionary_veto", NULL, &p->dictionary_veto},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strlen(table[i].name) == n && !strncmp(table[i].name, arg, n)) {
            if (table[i].f)
                *table[i].f = (float)v;
            else
                *table[i].i = (int)v;
            return 0;
        }
    }
    return -1;
}

static char *read_all(const char *path, size_t *len)
{
    char err[AC_ERR_SIZE];
    char *data;
    if (ac_file_read(path, (size_t)1 << 30, &data, len, err)) {
        fprintf(stderr, "eval_spelling: %s\n", err);
        return NULL;
    }
    return data;
}

/* Splits data into lines in place; returns the count. */
static size_t split_lines(char *data, size_t len, char ***lines)
{
    size_t n = 0, cap = 1024;
    char **v = malloc(sizeof *v * cap);
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        *nl = 0;
        if (n == cap) {
            cap *= 2;
            v = realloc(v, sizeof *v * cap);
        }
        v[n++] = p;
        p = nl + 1;
    }
    *lines = v;
    return n;
}

typedef struct iso_stats {
    int n_pairs, known_typo, unreachable, n, top1, top5, n2, top1_2, top5_2, decided, decided_right;
} iso_stats;

static void eval_isolated(const ac_dict *d, const ac_correct_params *p, const opts *o, iso_stats *s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/isolated_%s.tsv", o->data, o->half);
    size_t len;
    char *data = read_all(path, &len);
    if (!data)
        return;
    char **lines;
    size_t n = split_lines(data, len, &lines);
    int shown = 0;
    char err[AC_ERR_SIZE];
    for (size_t i = 0; i < n && (o->limit <= 0 || s->n_pairs < o->limit); i++) {
        char *tab = strchr(lines[i], '\t');
        if (!tab)
            continue;
        *tab = 0;
        const char *typo = lines[i], *fix = tab + 1;
        s->n_pairs++;
        if (ac_dict_lookup(d, typo, strlen(typo), NULL) != AC_WORD_UNKNOWN) {
            s->known_typo++;  /* a real-word error: not this test's business */
            continue;
        }
        int reachable = ac_dict_lookup(d, fix, strlen(fix), NULL) != AC_WORD_UNKNOWN;
        s->unreachable += !reachable;
        int dist = ac_edit_distance(typo, strlen(typo), fix, strlen(fix));
        ac_candidate c[5];
        int m = ac_correct_word(d, "", 0, typo, strlen(typo), "", 0, p, c, 5, err);
        int hit1 = m > 0 && !strcmp(c[0].text, fix), hit5 = 0;
        for (int k = 0; k < m; k++)
            hit5 |= !strcmp(c[k].text, fix);
        s->n++;
        s->top1 += hit1;
        s->top5 += hit5;
        if (dist >= 0 && dist <= 2) {
            s->n2++;
            s->top1_2 += hit1;
            s->top5_2 += hit5;
        }
        /* would the text corrector replace it (alone on a line)? */
        ac_correction corr[2];
        int nc = 0;
        if (ac_correct_text(d, typo, strlen(typo), p, corr, 2, &nc, err) == AC_OK && nc == 1) {
            s->decided++;
            s->decided_right += !strcmp(corr[0].replacement, fix);
        }
        if (!hit1 && reachable && dist <= 2 && shown < o->show) {
            shown++;
            fprintf(stderr, "  isolated miss: %s -> %s (want %s)", typo, m > 0 ? c[0].text : "-", fix);
            for (int k = 0; k < m; k++)
                fprintf(stderr, " %s:%.2f[%.1f,%.1f]", c[k].text, c[k].score, c[k].channel, c[k].language);
            fprintf(stderr, "\n");
        }
    }
    free(lines);
    free(data);
}

typedef struct sent_stats {
    int sentences, errors, fixed, wrong_fix, words_right, broken, real_word_fixes;
    long words;
    double secs;
} sent_stats;

static int ascii_letter(char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

/* Counts the words the way the data builder sees them: runs of ASCII letters with inner
 * apostrophes (' or U+2019). */
static int count_words(const char *s)
{
    int n = 0;
    for (const char *p = s; *p;) {
        if (!ascii_letter(*p)) {
            p++;
            continue;
        }
        n++;
        for (;;) {
            while (ascii_letter(*p))
                p++;
            if (*p == '\'' && ascii_letter(p[1]))
                p += 1;
            else if (!strncmp(p, "\xe2\x80\x99", 3) && ascii_letter(p[3]))
                p += 3;
            else
                break;
        }
    }
    return n;
}

static void eval_sentences(const ac_dict *d, const ac_correct_params *p, const opts *o, const char *set,
                           sent_stats *s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s_%s.tsv", o->data, set, o->half);
    size_t len;
    char *data = read_all(path, &len);
    if (!data)
        return;
    char **lines;
    size_t n = split_lines(data, len, &lines);
    char err[AC_ERR_SIZE];
    int shown = 0;
    ac_correction corr[64];
    for (size_t i = 0; i < n && (o->limit <= 0 || s->sentences < o->limit); i++) {
        char *t1 = strchr(lines[i], '\t');
        if (!t1)
            continue;
        char *t2 = strchr(t1 + 1, '\t');
        if (!t2)
            continue;
        *t1 = *t2 = 0;
        const char *text = lines[i], *spans = t2 + 1;
        /* injected errors */
        size_t starts[64], ends[64];
        char words[64][AC_WORD_MAX + 8];
        int ne = 0;
        for (const char *q = spans; *q && ne < 64;) {
            unsigned long a, b;
            int used = 0;
            if (sscanf(q, "%lu:%lu:%n", &a, &b, &used) < 2 || used == 0)
                break;
            q += used;
            int k = 0;
            while (*q && *q != ' ' && k < AC_WORD_MAX)
                words[ne][k++] = *q++;
            words[ne][k] = 0;
            starts[ne] = a;
            ends[ne] = b;
            ne++;
            while (*q == ' ')
                q++;
        }
        int nw = count_words(text);
        double t0 = ac_now();
        int nc = 0;
        if (ac_correct_text(d, text, strlen(text), p, corr, 64, &nc, err) != AC_OK)
            nc = 0;
        s->secs += ac_now() - t0;
        s->sentences++;
        s->words += nw;
        s->errors += ne;
        s->words_right += nw - ne;
        for (int e = 0; e < ne; e++) {
            int found = -1;
            for (int c = 0; c < nc; c++)
                if (corr[c].start == starts[e] && corr[c].end == ends[e])
                    found = c;
            if (found >= 0 && !strcmp(corr[found].replacement, words[e]))
                s->fixed++;
            else if (found >= 0)
                s->wrong_fix++;
        }
        for (int c = 0; c < nc; c++) {
            int injected = 0;
            for (int e = 0; e < ne; e++)
                injected |= corr[c].start == starts[e] && corr[c].end == ends[e];
            if (!injected) {
                s->broken++;
                if (shown < o->show) {
                    shown++;
                    fprintf(stderr, "  broken: %s -> %s (%.2f) in: %s\n", corr[c].original, corr[c].replacement,
                            corr[c].score, text);
                }
            }
            s->real_word_fixes += corr[c].real_word;
        }
    }
    free(lines);
    free(data);
}

/* The language model, when --model is given (ac_lm_scorer, src/decoder/correct_lm.c). */
typedef struct lm {
    ac_model *model;
    ac_bpe *bpe;
    ac_threadpool *tp;
    ac_lm_scorer *scorer;
} lm;

static int lm_open(lm *l, const char *dir, int threads, ac_correct_params *p)
{
    char err[AC_ERR_SIZE];
    memset(l, 0, sizeof *l);
    ac_model_params mp = ac_model_default_params();  /* float32, as `autocorrect correct` */
    if (ac_model_load(dir, &mp, &l->model, err) || ac_bpe_load(dir, &l->bpe, err)) {
        fprintf(stderr, "eval_spelling: %s\n", err);
        return -1;
    }
    l->tp = threads > 1 ? ac_threadpool_new(threads) : NULL;
    if (ac_lm_scorer_new(l->model, l->bpe, l->tp, &l->scorer, err)) {
        fprintf(stderr, "eval_spelling: %s\n", err);
        return -1;
    }
    p->scorer = ac_lm_scorer_context(l->scorer);
    return 0;
}

static void lm_close(lm *l)
{
    ac_lm_scorer_free(l->scorer);
    ac_threadpool_free(l->tp);
    ac_bpe_free(l->bpe);
    ac_model_free(l->model);
}

static double pct(long a, long b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

int main(int argc, char **argv)
{
    opts o = {"models/default/dictionary.tsv", NULL, "build/eval", "test", 0, 0, 0, 1};
    ac_correct_params p = ac_correct_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dictionary") && v) { o.dictionary = v; i++; }
        else if (!strcmp(a, "--model") && v) { o.model = v; i++; }
        else if (!strcmp(a, "--data") && v) { o.data = v; i++; }
        else if (!strcmp(a, "--half") && v) { o.half = v; i++; }
        else if (!strcmp(a, "--limit") && v) { o.limit = atoi(v); i++; }
        else if (!strcmp(a, "--show") && v) { o.show = atoi(v); i++; }
        else if (!strcmp(a, "--threads") && v) { o.threads = atoi(v); i++; }
        else if (!strcmp(a, "--json")) { o.json = 1; }
        else if (!strcmp(a, "--set") && v) {
            if (set_param(&p, v)) { fprintf(stderr, "eval_spelling: unknown --set %s\n", v); return 2; }
            i++;
        } else {
            fprintf(stderr, "usage: eval_spelling [--dictionary PATH] [--model DIR] [--data DIR] [--half dev|test]\n"
                            "                     [--set NAME=VALUE]... [--limit N] [--show N] [--threads N] [--json]\n");
            return 2;
        }
    }
    char err[AC_ERR_SIZE];
    ac_dict *d;
    if (ac_dict_load(o.dictionary, &d, err)) {
        fprintf(stderr, "eval_spelling: %s\n", err);
        return 1;
    }
    lm l;
    memset(&l, 0, sizeof l);
    if (o.model && lm_open(&l, o.model, o.threads, &p))
        return 1;
    iso_stats is = {0};
    sent_stats ss = {0};
    double t0 = ac_now();
    eval_isolated(d, &p, &o, &is);
    double iso_secs = ac_now() - t0;
    eval_sentences(d, &p, &o, "sentences", &ss);
    sent_stats rs = {0};
    eval_sentences(d, &p, &o, "realword", &rs);
    const char *mode = o.model ? "language model" : "dictionary only";
    if (o.json) {
        printf("{\"mode\":\"%s\",\"half\":\"%s\",\"isolated\":{\"pairs\":%d,\"typo_is_a_word\":%d,"
               "\"nonword\":%d,\"correction_not_in_dictionary\":%d,\"top1\":%.2f,\"top5\":%.2f,"
               "\"within2\":%d,\"top1_within2\":%.2f,\"top5_within2\":%.2f,\"corrected_right\":%.2f,\"seconds\":%.2f},"
               "\"sentences\":{\"n\":%d,\"words\":%ld,\"errors\":%d,\"fixed\":%.2f,\"wrong_fix\":%.2f,"
               "\"broken\":%.3f,\"broken_n\":%d,\"words_per_s\":%.0f},"
               "\"realword\":{\"n\":%d,\"errors\":%d,\"fixed\":%.2f,\"broken\":%.3f,\"broken_n\":%d}}\n",
               mode, o.half, is.n_pairs, is.known_typo, is.n, is.unreachable, pct(is.top1, is.n),
               pct(is.top5, is.n), is.n2, pct(is.top1_2, is.n2), pct(is.top5_2, is.n2),
               pct(is.decided_right, is.n), iso_secs, ss.sentences, ss.words, ss.errors, pct(ss.fixed, ss.errors),
               pct(ss.wrong_fix, ss.errors), pct(ss.broken, ss.words_right), ss.broken, ss.secs > 0 ? (double)ss.words / ss.secs : 0,
               rs.sentences, rs.errors, pct(rs.fixed, rs.errors), pct(rs.broken, rs.words_right), rs.broken);
    } else {
        printf("spelling evaluation (%s, %s half, dictionary %s%s%s)\n", mode, o.half, o.dictionary,
               o.model ? ", model " : "", o.model ? o.model : "");
        printf("isolated misspellings (codespell): %d pairs; %d typos are dictionary words (left out); "
               "%d non-word typos, %d of them with a correction missing from the dictionary\n",
               is.n_pairs, is.known_typo, is.n, is.unreachable);
        printf("  all non-word typos:        top-1 %5.1f%%  top-5 %5.1f%%  (n=%d)\n", pct(is.top1, is.n), pct(is.top5, is.n), is.n);
        printf("  within 2 edits:            top-1 %5.1f%%  top-5 %5.1f%%  (n=%d)\n", pct(is.top1_2, is.n2), pct(is.top5_2, is.n2), is.n2);
        printf("  corrected right by the text corrector: %5.1f%%\n", pct(is.decided_right, is.n));
        printf("sentences (data/corpus/valid.txt with codespell typos): %d sentences, %ld words, %d misspellings\n",
               ss.sentences, ss.words, ss.errors);
        printf("  misspellings fixed:        %5.1f%%  (changed to another word: %.1f%%)\n", pct(ss.fixed, ss.errors),
               pct(ss.wrong_fix, ss.errors));
        printf("  correct words broken:      %5.2f%%  (%d of %d; real-word corrections made: %d)\n",
               pct(ss.broken, ss.words_right), ss.broken, ss.words_right, ss.real_word_fixes);
        printf("  speed:                     %.0f words/s\n", ss.secs > 0 ? (double)ss.words / ss.secs : 0);
        printf("real-word errors (their/there, than/then... swapped in half of %d sentences): %d swaps\n",
               rs.sentences, rs.errors);
        printf("  swaps fixed:               %5.1f%%\n", pct(rs.fixed, rs.errors));
        printf("  correct words broken:      %5.2f%%  (%d of %d)\n", pct(rs.broken, rs.words_right), rs.broken,
               rs.words_right);
    }
    if (o.model)
        lm_close(&l);
    ac_dict_free(d);
    return 0;
}
