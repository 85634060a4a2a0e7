/* bench_complete_util.h: what bench/bench_complete.c and bench/eval_keystrokes.c share: finding and
 * loading a model, its tokenizer and a completer. Header-only (static functions); not a benchmark.
 *
 * The tokenizer, when not given: the model's directory if it holds tokenizer files, else
 * models/default's, else one trained for the model's vocabulary size from data/corpus/valid.txt into
 * build/bench-models/bpe-N/ (kept for the next run), else the tiny fixture's (297 ids: it fits any
 * model, but splits English into short tokens).
 */
#ifndef AC_BENCH_COMPLETE_UTIL_H
#define AC_BENCH_COMPLETE_UTIL_H

#include "autocorrect/decoder.h"
#include "autocorrect/tokenizer.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct bench_lm {
    ac_model *model;
    ac_bpe *bpe;
    ac_threadpool *tp;
    ac_completer *completer;
    char model_path[PATH_MAX];
    char tokenizer_path[PATH_MAX];
} bench_lm;

static inline int bench_path_exists(const char *dir, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        return 0;
    return stat(p, &st) == 0;
}

static inline int bench_has_tokenizer(const char *dir)
{
    return bench_path_exists(dir, "vocab.json") || bench_path_exists(dir, "encoder.json") ||
           bench_path_exists(dir, "tokenizer.json");
}

static inline int bench_has_model(const char *dir)
{
    return bench_path_exists(dir, "model.onnx") || bench_path_exists(dir, "model.safetensors");
}

/* Loads the model at `model` (required; int8 != 0: int8 matrices), the tokenizer (`tokenizer` or the
 * fallbacks above), a pool of `threads` and a completer. Prints what it loaded to stderr. Returns AC_OK or an error. */
static inline int bench_lm_load(bench_lm *lm, const char *model, const char *tokenizer, int threads, int int8,
                                char *err)
{
    memset(lm, 0, sizeof *lm);
    snprintf(lm->model_path, sizeof lm->model_path, "%s", model);
    ac_model_params mp = ac_model_default_params();
    mp.quantize = int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
    int rc = ac_model_load(model, &mp, &lm->model, err);
    if (rc)
        return rc;
    ac_dims d = ac_model_dims(lm->model);
    char dir[PATH_MAX];
    struct stat st;
    if (stat(model, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(dir, sizeof dir, "%s", model);
    else {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", model);
        snprintf(dir, sizeof dir, "%s", dirname(tmp));
    }
    char trained[PATH_MAX];
    snprintf(trained, sizeof trained, "build/bench-models/bpe-%d", d.n_vocab);
    if (tokenizer)
        snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", tokenizer);
    else if (bench_has_tokenizer(dir))
        snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", dir);
    else if (bench_has_tokenizer("models/default"))
        snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "models/default");
    else if (bench_has_tokenizer(trained))
        snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", trained);
    else {
        struct stat cs;
        char terr[AC_ERR_SIZE] = "";
        ac_bpe_train_params tp = ac_bpe_train_default_params();
        tp.vocab_size = d.n_vocab;
        tp.progress = NULL;
        if (stat("data/corpus/valid.txt", &cs) == 0 && d.n_vocab >= 1024 &&
            ac_bpe_train("data/corpus/valid.txt", trained, &tp, terr) == AC_OK) {
            fprintf(stderr, "bench: trained a %d-id tokenizer into %s\n", d.n_vocab, trained);
            snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", trained);
        } else {
            if (terr[0])
                fprintf(stderr, "bench: no tokenizer trained (%s)\n", terr);
            snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "tests/fixtures/tiny");
        }
    }
    rc = ac_bpe_load(lm->tokenizer_path, &lm->bpe, err);
    if (rc)
        return rc;
    if (threads > 1 && !(lm->tp = ac_threadpool_new(threads)))
        return ac__errorf(err, AC_E_NOMEM, "cannot start %d threads", threads);
    rc = ac_completer_new(lm->model, lm->bpe, lm->tp, &lm->completer, err);
    if (rc)
        return rc;
    char desc[256];
    ac_model_describe(lm->model, desc, sizeof desc);
    fprintf(stderr, "bench: model %s (%s); tokenizer %s (%d ids); %d threads\n", model, desc,
            lm->tokenizer_path, (int)ac_bpe_n_vocab(lm->bpe), threads);
    return AC_OK;
}

static inline void bench_lm_free(bench_lm *lm)
{
    ac_completer_free(lm->completer);
    ac_threadpool_free(lm->tp);
    ac_bpe_free(lm->bpe);
    ac_model_free(lm->model);
    memset(lm, 0, sizeof *lm);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v[n] (sorts v). */
static inline double bench_quantile(double *v, int n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i];
}

#endif
