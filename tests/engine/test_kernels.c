/* test_kernels.c: every fast kernel table against its naive twin on odd shapes, column ranges split
 * at arbitrary points (as threads split them), int8 quantization, and the thread pool.
 */
#include "check.h"
#include "engine/kernels.h"
#include "engine/threadpool.h"
#include "engine/weights.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static unsigned rng = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static float *randv(size_t n, float scale)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}
static double maxrel(const float *a, const float *b, size_t n, double floor)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (fabs((double)b[i]) + floor);
        if (isnan(d))
            return INFINITY;
        if (d > m)
            m = d;
    }
    return m;
}

static const int shapes[][3] = { /* rows, n_in, n_out */
    {1, 1, 1}, {1, 7, 65}, {3, 33, 130}, {4, 64, 64}, {5, 100, 257}, {9, 31, 200}, {2, 768, 129}, {13, 5, 64},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

static void matmul_matches_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    for (int k = 0; list[k]; k++)
        for (int s = 0; s < N_SHAPES; s++)
            for (int acc = 0; acc < 2; acc++)
                for (int with_b = 0; with_b < 2; with_b++) {
                    int R = shapes[s][0], I = shapes[s][1], O = shapes[s][2], ldx = I + 3, ldy = O + 5;
                    float *x = randv((size_t)R * ldx, 1), *w = randv((size_t)I * O, 1), *b = randv(O, 1);
                    float *y0 = randv((size_t)R * ldy, 1), *y1 = malloc(sizeof(float) * R * ldy),
                          *y2 = malloc(sizeof(float) * R * ldy);
                    memcpy(y1, y0, sizeof(float) * R * ldy);
                    memcpy(y2, y0, sizeof(float) * R * ldy);
                    ac__kernels_naive.matmul(y0, ldy, x, ldx, w, with_b ? b : NULL, R, I, O, 0, O, acc);
                    list[k]->matmul(y1, ldy, x, ldx, w, with_b ? b : NULL, R, I, O, 0, O, acc);
                    /* the same in pieces split at odd columns, as threads would */
                    for (int j0 = 0; j0 < O;) {
                        int j1 = j0 + 1 + (int)((rng = rng * 1664525u + 1013904223u) >> 20) % 97;
                        j1 = j1 > O ? O : j1;
                        list[k]->matmul(y2, ldy, x, ldx, w, with_b ? b : NULL, R, I, O, j0, j1, acc);
                        j0 = j1;
                    }
                    double d = maxrel(y1, y0, (size_t)R * ldy, 1.0);
                    CHECKF(d < 1e-5, "%s matmul %dx%dx%d acc %d: rel diff %g from naive", list[k]->name, R, I, O, acc, d);
                    CHECKF(!memcmp(y1, y2, sizeof(float) * R * ldy), "%s matmul %dx%dx%d: split columns change bits",
                           list[k]->name, R, I, O);
                    /* each row alone gives the same bits as in the batch */
                    float *batch = calloc((size_t)R * ldy, sizeof(float)), *alone = calloc(ldy, sizeof(float));
                    list[k]->matmul(batch, ldy, x, ldx, w, with_b ? b : NULL, R, I, O, 0, O, 0);
                    for (int r = 0; r < R; r++) {
                        list[k]->matmul(alone, ldy, x + (size_t)r * ldx, ldx, w, with_b ? b : NULL, 1, I, O, 0, O, 0);
                        CHECKF(!memcmp(alone, batch + (size_t)r * ldy, sizeof(float) * O),
                               "%s matmul %dx%dx%d: row %d alone differs from the batch", list[k]->name, R, I, O, r);
                    }
                    free(batch);
                    free(alone);
                    free(x), free(w), free(b), free(y0), free(y1), free(y2);
                }
}

static void matmul_t_matches_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    for (int k = 0; list[k]; k++)
        for (int s = 0; s < N_SHAPES; s++) {
            int R = shapes[s][0], I = shapes[s][1], O = shapes[s][2];
            float *x = randv((size_t)R * I, 1), *wt = randv((size_t)O * I, 1);
            float *y0 = calloc((size_t)R * O, sizeof(float)), *y1 = calloc((size_t)R * O, sizeof(float));
            ac__kernels_naive.matmul_t(y0, O, x, I, wt, R, I, 0, O);
            for (int j0 = 0; j0 < O; j0 += 37)
                list[k]->matmul_t(y1, O, x, I, wt, R, I, j0, j0 + 37 < O ? j0 + 37 : O);
            double d = maxrel(y1, y0, (size_t)R * O, 1.0);
            CHECKF(d < 1e-5, "%s matmul_t %dx%dx%d: rel diff %g", list[k]->name, R, I, O, d);
            free(x), free(wt), free(y0), free(y1);
        }
}

static void q8_quantize_and_matmul(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    for (int s = 0; s < N_SHAPES; s++) {
        int R = shapes[s][0], I = shapes[s][1], O = shapes[s][2];
        float *w = randv((size_t)I * O, 0.5f), *x = randv((size_t)R * I, 2), *b = randv(O, 1);
        /* zero a whole block of inputs for output 0: the guard */
        for (int i = 0; i < I && i < AC__QK; i++)
            w[(size_t)i * O] = 0.0f;
        ac__q8_matrix m;
        CHECK(ac__q8_matrix_from_conv1d(&m, w, I, O) == 0);
        CHECK(m.n_in_pad % AC__QK == 0 && m.n_in_pad >= I && m.n_in_pad < I + AC__QK);
        CHECK(m.d[0] == 0.0f);
        /* dequantized weights within half a step of the originals */
        float *row = malloc(sizeof(float) * I);
        double worst = 0;
        for (int j = 0; j < O; j++) {
            ac__q8_matrix_row(&m, j, row);
            for (int i = 0; i < I; i++) {
                double e = fabs(row[i] - w[(size_t)i * O + j]) / (m.d[(size_t)j * (m.n_in_pad / AC__QK) + i / AC__QK] + 1e-30);
                worst = e > worst ? e : worst;
            }
        }
        CHECKF(worst <= 0.5 + 1e-3, "dequantized weight off by %g steps", worst);
        float *y0 = calloc((size_t)R * O, sizeof(float));
        ac__kernels_naive.matmul_q8(y0, O, x, I, &m, b, R, 0, O, 0);
        /* against the float product: the int8 error only */
        float *yf = calloc((size_t)R * O, sizeof(float));
        ac__kernels_naive.matmul(yf, O, x, I, w, b, R, I, O, 0, O, 0);
        CHECKF(maxrel(y0, yf, (size_t)R * O, 1.0) < 0.05, "int8 product far from float: %g",
               maxrel(y0, yf, (size_t)R * O, 1.0));
        for (int k = 0; list[k]; k++) {
            float *y1 = calloc((size_t)R * O, sizeof(float)), *y2 = calloc((size_t)R * O, sizeof(float));
            for (int j0 = 0; j0 < O; j0 += 29)
                list[k]->matmul_q8(y1, O, x, I, &m, b, R, j0, j0 + 29 < O ? j0 + 29 : O, 0);
            double d = maxrel(y1, y0, (size_t)R * O, 1.0);
            CHECKF(d < 1e-5, "%s matmul_q8 %dx%dx%d: rel diff %g", list[k]->name, R, I, O, d);
            /* one call, and row by row: the same bits */
            list[k]->matmul_q8(y2, O, x, I, &m, b, R, 0, O, 0);
            CHECKF(!memcmp(y1, y2, sizeof(float) * R * O), "%s matmul_q8: split columns change bits", list[k]->name);
            for (int r = 0; r < R; r++)
                list[k]->matmul_q8(y2 + (size_t)r * O, O, x + (size_t)r * I, I, &m, b, 1, 0, O, 0);
            CHECKF(!memcmp(y1, y2, sizeof(float) * R * O), "%s matmul_q8: rows alone differ from the batch",
                   list[k]->name);
            free(y1);
            free(y2);
        }
        free(row), free(y0), free(yf), free(w), free(x), free(b);
        ac__q8_matrix_free(&m);
    }
    /* an all-zero row quantizes to zeros with scale 0, not NaN */
    float z[40] = {0};
    int8_t q[64];
    float d[2];
    ac__quantize_row_q8(q, d, z, 40, 64);
    CHECK(d[0] == 0.0f && d[1] == 0.0f && q[0] == 0 && q[63] == 0);
}

static void layernorm_gelu_exp_match_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    const int ns[] = {1, 7, 16, 24, 33, 768, 1000};
    for (int k = 0; list[k]; k++) {
        for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
            int n = ns[t];
            float *x = randv(n, 3), *g = randv(n, 1), *b = randv(n, 1);
            for (int i = 0; i < n; i++)
                x[i] += 5.0f; /* an offset, as residual streams have */
            float *y0 = malloc(sizeof(float) * n), *y1 = malloc(sizeof(float) * n);
            ac__kernels_naive.layernorm(y0, x, g, b, n, 1e-5f);
            list[k]->layernorm(y1, x, g, b, n, 1e-5f);
            if (n > 1)
                CHECKF(maxrel(y1, y0, n, 1.0) < 1e-5, "%s layernorm n=%d: %g", list[k]->name, n, maxrel(y1, y0, n, 1.0));
            for (int kind = 0; kind < 2; kind++) {
                for (int i = 0; i < n; i++)
                    y0[i] = y1[i] = x[i] * 3.0f - 15.0f; /* about [-27, 3] */
                ac__kernels_naive.gelu(y0, n, kind);
                list[k]->gelu(y1, n, kind);
                /* absolute error for small outputs, relative for large ones */
                CHECKF(maxrel(y1, y0, n, 1.0) < 1e-6, "%s gelu kind %d n=%d: %g", list[k]->name, kind, n,
                       maxrel(y1, y0, n, 1.0));
            }
            free(x), free(g), free(b), free(y0), free(y1);
        }
    }
    /* GELU over a dense grid, and exp's accuracy */
    enum { G = 4001 };
    float a[G], c[G];
    for (int i = 0; i < G; i++)
        a[i] = c[i] = -20.0f + 40.0f * i / (G - 1);
    ac__kernels_naive.gelu(a, G, 0);
    for (int k = 0; list[k]; k++) {
        float d[G];
        memcpy(d, c, sizeof d);
        list[k]->gelu(d, G, 0);
        double worst = maxrel(d, a, G, 1.0);
        CHECKF(worst < 1e-6, "%s gelu grid: max diff %g", list[k]->name, worst);
    }
    double worst = 0;
    for (float v = -87.0f; v < 88.0f; v += 0.01f) {
        double e = fabs(ac__expf(v) - exp(v)) / exp(v);
        worst = e > worst ? e : worst;
    }
    CHECKF(worst < 3e-7, "ac__expf: relative error %g", worst);
    CHECK(ac__expf(-INFINITY) < 1e-37f && ac__expf(-1000.0f) < 1e-37f);
    CHECK(isfinite(ac__expf(1000.0f)));
}

static void attention_matches_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    const int hds[] = {8, 24, 64, 5};
    const int npos[] = {1, 15, 16, 17, 50, 129};
    const int H = 3;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++) {
        int hd = hds[a];
        int n_blocks = 9;
        size_t stride = (size_t)2 * H * AC__KV_BLOCK * hd;    /* one layer: [2][H][B * hd] */
        float *store = randv((size_t)n_blocks * stride * 2, 2); /* room for 18 blocks */
        int32_t blocks[9] = {7, 2, 16, 0, 11, 5, 3, 9, 14};     /* scattered, as forks leave them */
        float *q = randv(hd, 2), *o0 = malloc(sizeof(float) * hd), *o1 = malloc(sizeof(float) * hd);
        for (size_t p = 0; p < sizeof npos / sizeof npos[0]; p++)
            for (int h = 0; h < H; h++) {
                ac__kv_view v = {store, blocks, stride, (size_t)h * AC__KV_BLOCK * hd,
                                 (size_t)(H + h) * AC__KV_BLOCK * hd};
                ac__kernels_naive.attention(o0, q, &v, npos[p], hd, 1.0f / sqrtf((float)hd));
                for (int k = 0; list[k]; k++) {
                    list[k]->attention(o1, q, &v, npos[p], hd, 1.0f / sqrtf((float)hd));
                    CHECKF(maxrel(o1, o0, hd, 1.0) < 1e-5, "%s attention hd %d n_pos %d: %g", list[k]->name, hd,
                           npos[p], maxrel(o1, o0, hd, 1.0));
                }
            }
        /* a single position returns its value exactly */
        ac__kv_view v = {store, blocks, stride, 0, (size_t)H * AC__KV_BLOCK * hd};
        for (int k = 0; list[k]; k++) {
            list[k]->attention(o1, q, &v, 1, hd, 0.3f);
            CHECK(maxrel(o1, store + (size_t)7 * stride + H * AC__KV_BLOCK * hd, hd, 1e-6) < 1e-6);
        }
        free(store), free(q), free(o0), free(o1);
    }
}

/* ------------------------------------------------------------------------------ thread pool */

typedef struct count_ctx {
    atomic_int *hits; /* [n] */
    int n;
} count_ctx;

static void count_task(void *ctx, int t)
{
    count_ctx *c = ctx;
    atomic_fetch_add(&c->hits[t], 1);
}

static void threadpool_runs_every_task_once(void)
{
    for (int nt = 1; nt <= 4; nt++) {
        ac_threadpool *tp = ac_threadpool_new(nt);
        CHECK(tp && ac_threadpool_size(tp) == nt);
        const int sizes[] = {0, 1, 2, 3, 7, 64, 1000};
        for (int rep = 0; rep < 200; rep++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                int n = sizes[s];
                atomic_int hits[1000];
                for (int i = 0; i < 1000; i++)
                    atomic_init(&hits[i], 0);
                count_ctx c = {hits, n};
                ac__threadpool_run(tp, n, count_task, &c);
                int bad = 0;
                for (int i = 0; i < 1000; i++)
                    bad += atomic_load(&hits[i]) != (i < n ? 1 : 0);
                if (bad) {
                    CHECKF(0, "%d threads, %d tasks: %d tasks not run exactly once", nt, n, bad);
                    rep = 1 << 30;
                    break;
                }
            }
        ac_threadpool_free(tp);
    }
    CHECK(ac_threadpool_size(NULL) == 1);
    ac_threadpool_free(NULL);
    ac_threadpool *one = ac_threadpool_new(0); /* clamped to 1 */
    CHECK(one && ac_threadpool_size(one) == 1);
    ac_threadpool_free(one);
}

typedef struct caller_arg {
    ac_threadpool *tp;
    int ok;
} caller_arg;

static void *caller_main(void *p)
{
    caller_arg *a = p;
    a->ok = 1;
    for (int rep = 0; rep < 300; rep++) {
        atomic_int hits[50];
        for (int i = 0; i < 50; i++)
            atomic_init(&hits[i], 0);
        count_ctx c = {hits, 50};
        ac__threadpool_run(a->tp, 50, count_task, &c);
        for (int i = 0; i < 50; i++)
            if (atomic_load(&hits[i]) != 1)
                a->ok = 0;
    }
    return NULL;
}

/* Two threads sharing one pool take turns. */
static void threadpool_serialises_callers(void)
{
    ac_threadpool *tp = ac_threadpool_new(3);
    CHECK(tp != NULL);
    pthread_t th[2];
    caller_arg args[2] = {{tp, 0}, {tp, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, caller_main, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(args[0].ok && args[1].ok);
    ac_threadpool_free(tp);
}

int main(void)
{
    RUN(matmul_matches_naive);
    RUN(matmul_t_matches_naive);
    RUN(q8_quantize_and_matmul);
    RUN(layernorm_gelu_exp_match_naive);
    RUN(attention_matches_naive);
    RUN(threadpool_runs_every_task_once);
    RUN(threadpool_serialises_callers);
    return CHECK_EXIT_CODE();
}
