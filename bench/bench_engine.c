/* bench_engine.c: timings of the inference engine. A report, not a test.
 *
 *   bench_engine                       kernel report: each kernel table's speed on the matrix
 *                                      shapes of a prefill and of a decoded token
 *   bench_engine --model PATH [--threads N] [--int8] [--prefill 128] [--decode 32] [--beams 5]
 *                [--reps 5]            one model: ms per prefill of N tokens (logits of the last),
 *                                      ms per decoded token with the cache, ms per step of a batch
 *                                      of `beams` sessions forked from the prompt
 *                                      (ac_session_decode_batch); one JSON line on stdout
 *   bench_engine --model PATH --perplexity TOKENS [--tokens 50000] [--block 128] [--stride 64]
 *                [--threads N]         perplexity of the model over a token file (little-endian
 *                                      uint16 ids, as data/tokens/valid.bin) in float32 and in int8 (made
 *                                      at load), and their relative difference; one JSON line. Windows
 *                                      of `block` tokens moved by `stride`, each scoring only the tokens
 *                                      no earlier window scored (as python/eval_lm.py, whose defaults these are)
 *
 * bench/bench_engine.sh runs the second form over the benchmark models and beside ONNX Runtime.
 * Times are medians over the repetitions (the machines are noisy).
 */
#include "autocorrect/engine.h"
#include "engine/kernels.h"
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static float *randv(size_t n)
{
    float *p = malloc(n * sizeof(float));
    unsigned s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

/* Seconds per call of one kernel table's product on [rows][n_in] x [n_in][n_out] (f32, or int8
 * with the activations quantized in each call, as the forward pass does). */
static double time_matmul(const ac__kernels *k, int rows, int n_in, int n_out, int q8)
{
    float *x = randv((size_t)rows * n_in), *w = randv((size_t)n_in * n_out), *b = randv(n_out);
    float *y = calloc((size_t)rows * n_out, sizeof(float));
    ac__q8_matrix m;
    ac__f32_matrix f;
    ac__q8_act xq;
    if (q8) {
        ac__q8_matrix_quantize(&m, w, (size_t)n_out, 1, n_in, n_out);
        ac__q8_act_alloc(&xq, rows, n_in);
    } else {
        ac__f32_matrix_pack(&f, w, (size_t)n_out, 1, n_in, n_out);
    }
    double t[7];
    int reps = 1;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = ac_now();
        for (int i = 0; i < reps; i++) {
            if (q8) {
                k->quantize_rows(&xq, x, n_in, rows, n_in);
                k->matmul_q8(y, n_out, &xq, &m, b, rows, 0, n_out, 0);
            } else {
                k->matmul(y, n_out, x, n_in, &f, b, rows, 0, n_out, 0);
            }
        }
        t[rep] = (ac_now() - t0) / reps;
        if (rep == 0 && t[0] < 0.02)
            reps = (int)(0.02 / (t[0] + 1e-9)) + 1;
    }
    if (q8) {
        ac__q8_matrix_free(&m);
        ac__q8_act_free(&xq);
    } else {
        ac__f32_matrix_free(&f);
    }
    free(x), free(w), free(b), free(y);
    return median(t, 7);
}

static int kernel_report(void)
{
    printf("Kernel tables on this CPU, one thread (GFLOP/s; decode shapes also as GB/s of weights read):\n");
    printf("%-10s %22s %22s %22s %22s\n", "table", "f32 128x768x768", "f32 1x768x3072", "int8 128x768x768",
           "int8 1x768x3072");
    const ac__kernels *const *list = ac__kernels_available();
    for (int i = -1; list[i < 0 ? 0 : i]; i++) {
        const ac__kernels *k = i < 0 ? &ac__kernels_naive : list[i];
        double a = time_matmul(k, i < 0 ? 8 : 128, 768, 768, 0), b = time_matmul(k, 1, 768, 3072, 0);
        double c = time_matmul(k, i < 0 ? 8 : 128, 768, 768, 1), d = time_matmul(k, 1, 768, 3072, 1);
        double fa = 2.0 * (i < 0 ? 8 : 128) * 768 * 768, fb = 2.0 * 768 * 3072;
        char sa[32], sb[32], sc[32], sd[32];
        snprintf(sa, sizeof sa, "%.1f", fa / a / 1e9);
        snprintf(sb, sizeof sb, "%.1f (%.1f GB/s)", fb / b / 1e9, 768.0 * 3072 * 4 / b / 1e9);
        snprintf(sc, sizeof sc, "%.1f", fa / c / 1e9);
        snprintf(sd, sizeof sd, "%.1f (%.1f GB/s)", fb / d / 1e9, 768.0 * 3072 * 1.125 / d / 1e9);
        printf("%-10s %22s %22s %22s %22s%s\n", k->name, sa, sb, sc, sd, i < 0 ? "   (naive: 8 rows)" : "");
    }
    printf("The engine uses: %s (AC_KERNELS=name picks another).\n", ac__kernels_best()->name);
    return 0;
}

/* Total negative log-likelihood (nats) of ids[1..n) under m, and the number of tokens scored, by
 * windows of `block` tokens moved by `stride` (each scores the tokens no earlier window scored). */
static int nll_of(const ac_model *m, const int32_t *ids, int n, int block, int stride, ac_threadpool *tp,
                  double *nll, long *n_scored, char *err)
{
    const int V = ac_model_dims(m).n_vocab;
    ac_session_params sp = ac_session_default_params();
    sp.n_ctx = block;
    sp.n_batch = block;
    ac_session *s;
    int rc = ac_session_new(m, &sp, &s, err);
    if (rc)
        return rc;
    float *logits = malloc(sizeof(float) * (size_t)block * V);
    *nll = 0.0;
    *n_scored = 0;
    int scored_to = 0; /* ids[1..scored_to] are scored */
    for (int start = 0; scored_to < n - 1; start += stride) {
        int len = n - start < block ? n - start : block;
        if ((rc = ac_session_rewind(s, 0, err)) || (rc = ac_session_prefill(s, ids + start, len, tp, logits, 1, err)))
            break;
        for (int t = 0; t + 1 < len; t++) { /* row t predicts ids[start + t + 1] */
            int target = start + t + 1;
            if (target <= scored_to)
                continue;
            float *row = logits + (size_t)t * V;
            ac_logprobs_from_logits(row, V);
            *nll -= row[ids[target]];
            (*n_scored)++;
        }
        scored_to = start + len - 1;
    }
    free(logits);
    ac_session_free(s);
    return rc;
}

static int perplexity_report(const char *path, const char *tokens, long max_tokens, int block, int stride,
                             int threads)
{
    FILE *f = fopen(tokens, "rb");
    if (!f) {
        fprintf(stderr, "bench_engine: cannot open %s\n", tokens);
        return 1;
    }
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)max_tokens);
    long n = 0;
    unsigned char b2[2];
    while (n < max_tokens && fread(b2, 1, 2, f) == 2)
        ids[n++] = (int32_t)(b2[0] | b2[1] << 8);
    fclose(f);
    char err[AC_ERR_SIZE];
    ac_threadpool *tp = ac_threadpool_new(threads);
    double ppl[2], secs[2];
    long scored = 0;
    for (int q = 0; q < 2; q++) {
        ac_model_params mp = ac_model_default_params();
        mp.quantize = q ? AC_QUANT_INT8 : AC_QUANT_F32;
        ac_model *m;
        if (ac_model_load(path, &mp, &m, err)) {
            fprintf(stderr, "bench_engine: %s\n", err);
            return 1;
        }
        const ac_dims d = ac_model_dims(m);
        for (long i = 0; i < n; i++)
            if (ids[i] >= d.n_vocab) {
                fprintf(stderr, "bench_engine: %s: token %ld is %d, outside the vocabulary [0, %d)\n", tokens, i,
                        (int)ids[i], d.n_vocab);
                return 1;
            }
        int bl = block < d.n_ctx ? block : d.n_ctx, st = stride < bl ? stride : bl;
        double nll, t0 = ac_now();
        if (nll_of(m, ids, (int)n, bl, st, tp, &nll, &scored, err)) {
            fprintf(stderr, "bench_engine: %s\n", err);
            return 1;
        }
        secs[q] = ac_now() - t0;
        ppl[q] = exp(nll / (double)(scored ? scored : 1));
        ac_model_free(m);
    }
    printf("{\"model\":\"%s\",\"tokens_file\":\"%s\",\"tokens\":%ld,\"scored\":%ld,\"block\":%d,\"stride\":%d,"
           "\"ppl_f32\":%.4f,\"ppl_int8\":%.4f,\"int8_vs_f32\":%+.4f%%,\"seconds_f32\":%.1f,\"seconds_int8\":%.1f}\n",
           path, tokens, n, scored, block, stride, ppl[0], ppl[1], 100.0 * (ppl[1] / ppl[0] - 1.0), secs[0], secs[1]);
    ac_threadpool_free(tp);
    free(ids);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine [--model PATH [--threads N] [--int8] [--prefill N] [--decode N] [--beams N] "
                    "[--reps N]]\n"
                    "       bench_engine --model PATH --perplexity TOKENS [--tokens 50000] [--block 128] [--stride 64] "
                    "[--threads N]\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL, *ppl_file = NULL;
    int threads = 1, int8 = 0, n_prefill = 128, n_decode = 32, reps = 5, n_beams = 5, block = 128, stride = 64;
    long max_tokens = 50000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v)
            path = argv[++i];
        else if (!strcmp(a, "--threads") && v)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--int8"))
            int8 = 1;
        else if (!strcmp(a, "--prefill") && v)
            n_prefill = atoi(argv[++i]);
        else if (!strcmp(a, "--decode") && v)
            n_decode = atoi(argv[++i]);
        else if (!strcmp(a, "--beams") && v)
            n_beams = atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && v)
            reps = atoi(argv[++i]);
        else if (!strcmp(a, "--perplexity") && v)
            ppl_file = argv[++i];
        else if (!strcmp(a, "--tokens") && v)
            max_tokens = atol(argv[++i]);
        else if (!strcmp(a, "--block") && v)
            block = atoi(argv[++i]);
        else if (!strcmp(a, "--stride") && v)
            stride = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (!path)
        return kernel_report();
    if (ppl_file) {
        if (max_tokens < 2 || block < 2 || stride < 1 || stride > block || threads < 1) {
            usage();
            return 2;
        }
        return perplexity_report(path, ppl_file, max_tokens, block, stride, threads);
    }
    if (threads < 1 || n_prefill < 1 || n_decode < 1 || reps < 1 || reps > 100 || n_beams < 1 || n_beams > 8) {
        usage();
        return 2;
    }
    char err[AC_ERR_SIZE];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
    ac_model *m;
    double t0 = ac_now();
    if (ac_model_load(path, &mp, &m, err)) {
        fprintf(stderr, "bench_engine: %s\n", err);
        return 1;
    }
    double load_s = ac_now() - t0;
    ac_dims d = ac_model_dims(m);
    if (n_prefill + n_decode + 8 > d.n_ctx) {
        fprintf(stderr, "bench_engine: %d + %d tokens do not fit n_ctx %d\n", n_prefill, n_decode, d.n_ctx);
        return 1;
    }
    ac_threadpool *tp = ac_threadpool_new(threads);
    int32_t *ids = malloc(sizeof(int32_t) * (n_prefill + n_decode + 8));
    unsigned s = 7;
    for (int i = 0; i < n_prefill + n_decode + 8; i++) {
        s = s * 1103515245u + 12345u;
        ids[i] = (int32_t)((s >> 16) % (unsigned)d.n_vocab);
    }
    float *logits = malloc(sizeof(float) * 8 * d.n_vocab);
    ac_session_params sp = ac_session_default_params();
    sp.n_batch = n_prefill < 256 ? n_prefill : 256;
    ac_session *sess;
    if (ac_session_new(m, &sp, &sess, err)) {
        fprintf(stderr, "bench_engine: %s\n", err);
        return 1;
    }
    double *tp_ms = malloc(sizeof(double) * (reps + 1)), *td_ms = malloc(sizeof(double) * (reps + 1) * n_decode);
    double *tb_ms = malloc(sizeof(double) * (reps + 1) * n_decode);
    int nd = 0, nb = 0;
    for (int rep = 0; rep <= reps; rep++) { /* rep 0 warms up */
        ac_session_rewind(sess, 0, err);
        double a = ac_now();
        if (ac_session_prefill(sess, ids, n_prefill, tp, logits, 0, err)) {
            fprintf(stderr, "bench_engine: %s\n", err);
            return 1;
        }
        double b = ac_now();
        if (rep)
            tp_ms[rep - 1] = (b - a) * 1e3;
        for (int i = 0; i < n_decode; i++) {
            a = ac_now();
            ac_session_decode(sess, ids[n_prefill + i], tp, logits, err);
            if (rep)
                td_ms[nd++] = (ac_now() - a) * 1e3;
        }
        /* beams forked from the prompt, decoding together */
        ac_session_rewind(sess, n_prefill, err);
        ac_session *beams[8] = {sess};
        for (int k = 1; k < n_beams; k++)
            ac_session_fork(sess, &beams[k], err);
        for (int i = 0; i < n_decode; i++) {
            int32_t next[8];
            for (int k = 0; k < n_beams; k++)
                next[k] = ids[i + k];
            a = ac_now();
            ac_session_decode_batch(beams, next, n_beams, tp, logits, err);
            if (rep)
                tb_ms[nb++] = (ac_now() - a) * 1e3;
        }
        for (int k = 1; k < n_beams; k++)
            ac_session_free(beams[k]);
    }
    printf("{\"model\":\"%s\",\"threads\":%d,\"quant\":\"%s\",\"kernels\":\"%s\",\"load_s\":%.3f,"
           "\"prefill_tokens\":%d,\"prefill_ms\":%.3f,\"decode_ms\":%.3f,\"beams\":%d,\"batch_ms\":%.3f,"
           "\"weight_mb\":%.1f}\n",
           path, threads, int8 ? "int8" : "f32", m->k->name, load_s, n_prefill, median(tp_ms, reps), median(td_ms, nd),
           n_beams, median(tb_ms, nb), ac_model_weight_bytes(m) / 1e6);
    ac_session_free(sess);
    ac_threadpool_free(tp);
    ac_model_free(m);
    free(ids), free(logits), free(tp_ms), free(td_ms), free(tb_ms);
    return 0;
}
