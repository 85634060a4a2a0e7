/* engine_fixture.h: helpers the engine tests share: the tiny fixture's paths, its PyTorch
 * references (tests/fixtures/tiny/expected.json, see docs/model-format.md), and running a model
 * over a token sequence. Header-only (static functions), included by tests/engine/test_*.c.
 */
#ifndef AC_TESTS_ENGINE_FIXTURE_H
#define AC_TESTS_ENGINE_FIXTURE_H

#include "autocorrect/engine.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TINY_DIR "tests/fixtures/tiny"

/* Tolerance against PyTorch's log-probabilities (7 printed digits + float32 noise). */
#define TOL_TORCH 1e-4

/* A reference row set from expected.json: logprobs [n][n_vocab] for ids [n]. */
typedef struct fx_ref {
    int n, n_vocab;
    int32_t ids[256];
    float *logprobs; /* [n][n_vocab], malloc'ed */
} fx_ref;

/* Loads references.<name> (f32, fp16, int8, erf). Returns 0, or -1 with a message on stderr. */
static inline int fx_ref_load(const char *name, fx_ref *r)
{
    memset(r, 0, sizeof *r);
    json_error_t je;
    json_t *root = json_load_file(TINY_DIR "/expected.json", 0, &je);
    if (!root) {
        fprintf(stderr, "expected.json: %s\n", je.text);
        return -1;
    }
    json_t *ids = json_object_get(root, "ids");
    json_t *ref = json_object_get(json_object_get(root, "references"), name);
    json_t *lp = json_object_get(ref, "logprobs");
    if (!json_is_array(ids) || !json_is_array(lp) || json_array_size(ids) != json_array_size(lp) ||
        json_array_size(ids) == 0 || json_array_size(ids) > 256) {
        fprintf(stderr, "expected.json: no usable references.%s\n", name);
        json_decref(root);
        return -1;
    }
    r->n = (int)json_array_size(ids);
    r->n_vocab = (int)json_array_size(json_array_get(lp, 0));
    r->logprobs = malloc(sizeof(float) * r->n * r->n_vocab);
    for (int t = 0; t < r->n; t++) {
        r->ids[t] = (int32_t)json_integer_value(json_array_get(ids, t));
        json_t *row = json_array_get(lp, t);
        for (int v = 0; v < r->n_vocab; v++)
            r->logprobs[t * r->n_vocab + v] = (float)json_number_value(json_array_get(row, v));
    }
    json_decref(root);
    return 0;
}

static inline void fx_ref_free(fx_ref *r)
{
    free(r->logprobs);
    r->logprobs = NULL;
}

/* Runs ids[n] through a fresh session in one prefill and returns the log-probabilities after every
 * position ([n][n_vocab], malloc'ed), or NULL with a message on stderr. */
static inline float *fx_logprobs(const ac_model *m, const int32_t *ids, int n, ac_threadpool *tp)
{
    char err[AC_ERR_SIZE];
    int V = ac_model_dims(m).n_vocab;
    ac_session *s;
    if (ac_session_new(m, NULL, &s, err)) {
        fprintf(stderr, "session: %s\n", err);
        return NULL;
    }
    float *lp = malloc(sizeof(float) * (size_t)n * V);
    if (ac_session_prefill(s, ids, n, tp, lp, 1, err)) {
        fprintf(stderr, "prefill: %s\n", err);
        free(lp);
        ac_session_free(s);
        return NULL;
    }
    for (int t = 0; t < n; t++)
        ac_logprobs_from_logits(lp + (size_t)t * V, V);
    ac_session_free(s);
    return lp;
}

/* max |a - b| over n floats */
static inline double fx_maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d))
            return INFINITY;
        if (d > m)
            m = d;
    }
    return m;
}

/* Index of the largest of x[n]. */
static inline int fx_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

#endif
