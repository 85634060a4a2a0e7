/* bench_correct.c: the spelling corrector's speed on running text, in words per second.
 *
 * Text: the held-out corpus (data/corpus/valid.txt, first 2 MB) line by line, as it is and with
 * typos injected into 3% of its words of 4+ letters (a swap of two neighbouring letters or a dropped
 * letter, seeded). Modes: dictionary only (target >= 100,000 words/s), and with the language model
 * when there is one (models/default, $AUTOCORRECT_MODEL or argv[1]; target >= 5,000 words/s with
 * int8 weights, the daemon's default, and float32 for comparison: only suspicious words reach it).
 * The reference measured in the same run is the word splitter alone (ac_correct_text looking up
 * only the last word of each line), so the ratio says what the dictionary work costs on this
 * machine, whatever its load.
 *
 * Usage: bench_correct [MODEL_DIR]     (run from the repository root; `make bench` does)
 */
#include "autocorrect/corrector.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEXT_BYTES (2u << 20)

typedef struct lines {
    char **v;
    size_t *len;
    size_t n;
    long words;
} lines;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33) % n;
}

static int letter(char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

/* Splits text into lines (skipping document separators) and counts words; with typo_rate > 0,
 * injects typos into words of 4+ ASCII letters. */
static void make_lines(const char *text, size_t len, double typo_rate, lines *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 1024;
    out->v = malloc(sizeof *out->v * cap);
    out->len = malloc(sizeof *out->len * cap);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n && strncmp(text + pos, "<|endoftext|>", 13)) {
            char *l = malloc(n + 1);
            memcpy(l, text + pos, n);
            l[n] = 0;
            for (size_t i = 0; i < n;) {
                if (!letter(l[i])) {
                    i++;
                    continue;
                }
                size_t j = i;
                while (j < n && letter(l[j]))
                    j++;
                out->words++;
                if (typo_rate > 0 && j - i >= 4 && rnd(1000000) < typo_rate * 1e6) {
                    size_t at = i + 1 + rnd((uint32_t)(j - i - 2));
                    if (rnd(2)) {
                        char t = l[at];
                        l[at] = l[at + 1];
                        l[at + 1] = t;
                    } else {
                        memmove(l + at, l + at + 1, n - at);
                        n--;
                        j--;
                    }
                }
                i = j;
            }
            if (out->n == cap) {
                cap *= 2;
                out->v = realloc(out->v, sizeof *out->v * cap);
                out->len = realloc(out->len, sizeof *out->len * cap);
            }
            out->v[out->n] = l;
            out->len[out->n] = n;
            out->n++;
        }
        pos = end + 1;
    }
}

/* Corrects lines [0, n_lines) repeatedly for at least min_secs; returns words/s. */
static double run(const ac_dict *d, const ac_correct_params *p, const lines *l, size_t n_lines, double min_secs,
                  long *corrections)
{
    static ac_correction out[256];
    char err[AC_ERR_SIZE];
    long words = 0, fixes = 0;
    double t0 = ac_now(), t;
    int rounds = 0;
    do {
        for (size_t i = 0; i < n_lines; i++) {
            int n = 0;
            ac_correct_text(d, l->v[i], l->len[i], p, out, 256, &n, err);
            fixes += n;
        }
        words += n_lines == l->n ? l->words : 0;
        rounds++;
        t = ac_now() - t0;
    } while (t < min_secs && n_lines == l->n);
    if (n_lines != l->n) {
        /* a prefix: count its words */
        for (size_t i = 0; i < n_lines; i++)
            for (size_t k = 0; k < l->len[i]; k++)
                words += letter(l->v[i][k]) && (k == 0 || !letter(l->v[i][k - 1]));
    }
    if (corrections)
        *corrections = fixes / rounds;
    return (double)words / t;
}

static int has_model(const char *dir)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/model.onnx", dir);
    if (stat(p, &st) == 0)
        return 1;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return stat(p, &st) == 0;
}

int main(int argc, char **argv)
{
    char err[AC_ERR_SIZE];
    const char *dict_path = "models/default/dictionary.tsv";
    ac_dict *d;
    double t0 = ac_now();
    if (ac_dict_load(dict_path, &d, err)) {
        printf("bench_correct: %s (make dictionary)\n", err);
        return 0;
    }
    double load_s = ac_now() - t0;
    char *text;
    size_t len;
    if (ac_file_read("data/corpus/valid.txt", (size_t)1 << 30, &text, &len, err)) {
        printf("bench_correct: %s (make corpus)\n", err);
        return 0;
    }
    if (len > TEXT_BYTES)
        len = TEXT_BYTES;
    lines clean, typos;
    make_lines(text, len, 0.0, &clean);
    make_lines(text, len, 0.03, &typos);
    ac_correct_params p = ac_correct_default_params();
    printf("dictionary %s: %zu words, loaded in %.3f s, %.1f MB in memory\n", dict_path, ac_dict_size(d), load_s,
           (double)ac_dict_memory_bytes(d) / 1e6);
    printf("text: data/corpus/valid.txt, %zu lines, %ld words\n", clean.n, clean.words);

    /* the splitter alone: only the last word of each line is looked at */
    ac_correct_params pt = p;
    pt.scope = AC_CORRECT_LAST;
    pt.last_words = 1;
    double ref = run(d, &pt, &clean, clean.n, 1.0, NULL);
    long fix_clean, fix_typos;
    double wc = run(d, &p, &clean, clean.n, 1.0, &fix_clean);
    double wt = run(d, &p, &typos, typos.n, 1.0, &fix_typos);
    printf("reference, word splitting only:   %9.0f words/s\n", ref);
    printf("dictionary only, text as it is:   %9.0f words/s  (%.2fx the reference; %ld corrections)\n", wc, wc / ref,
           fix_clean);
    printf("dictionary only, 3%% typos:        %9.0f words/s  (%.2fx the reference; %ld corrections)  target >= 100000\n",
           wt, wt / ref, fix_typos);

    const char *model_dir = argc > 1 ? argv[1] : getenv("AUTOCORRECT_MODEL");
    if (!model_dir || !*model_dir)
        model_dir = "models/default";
    if (!has_model(model_dir)) {
        printf("with the language model: skipped (no model in %s)\n", model_dir);
    } else {
        /* int8 first: the daemon's default (quantization = true), the figure the target is about;
         * float32 beside it. Measured with the 6 x d320 model: int8 9.7k words/s, f32 2.5k. */
        static const int quants[] = {AC_QUANT_INT8, AC_QUANT_F32};
        for (size_t qi = 0; qi < sizeof quants / sizeof quants[0]; qi++) {
            ac_model *model;
            ac_bpe *bpe;
            ac_lm_scorer *lm;
            ac_model_params mp = ac_model_default_params();
            mp.quantize = quants[qi];
            if (ac_model_load(model_dir, &mp, &model, err) || ac_bpe_load(model_dir, &bpe, err) ||
                ac_lm_scorer_new(model, bpe, NULL, &lm, err)) {
                printf("with the language model: %s\n", err);
                break;
            }
            p.scorer = ac_lm_scorer_context(lm);
            size_t n = typos.n < 1500 ? typos.n : 1500;
            long fixes;
            double wl = run(d, &p, &typos, n, 0, &fixes);
            ac_lm_scorer_stats st = ac_lm_scorer_get_stats(lm);
            char desc[256];
            ac_model_describe(model, desc, sizeof desc);
            printf("with the language model (%s, 1 thread), 3%% typos, first %zu lines:\n", desc, n);
            printf("                                  %9.0f words/s  (%ld corrections; %ld words to the model, "
                   "%.2f ms each, %ld context + %ld option tokens in %ld batched steps)%s\n",
                   wl, fixes, st.calls, st.calls ? 1000.0 * st.seconds / (double)st.calls : 0.0, st.context_tokens,
                   st.option_tokens, st.decode_steps, quants[qi] == AC_QUANT_INT8 ? "  target >= 5000" : "");
            ac_lm_scorer_free(lm);
            ac_bpe_free(bpe);
            ac_model_free(model);
        }
    }
    for (size_t i = 0; i < clean.n; i++)
        free(clean.v[i]);
    for (size_t i = 0; i < typos.n; i++)
        free(typos.v[i]);
    free(clean.v);
    free(clean.len);
    free(typos.v);
    free(typos.len);
    free(text);
    ac_dict_free(d);
    return 0;
}
