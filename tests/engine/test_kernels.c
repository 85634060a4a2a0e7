/* test_kernels.c: every kernel table this CPU runs against its naive twin on odd shapes: the packed
 * float32 product, activation quantization, the int8 product; the promises of
 * kernels.h (the same bits whatever the column split, the row batch or the tile; "portable" equal
 * to "naive"; the int8 integer part identical in every table); the packing and quantization of
 * weights (error bound, exact int8 files, the reported error); and the thread pool (every task once,
 * callers take turns, idle workers use no CPU).
 */
#include "check.h"
#include "engine/kernels.h"
#include "engine/threadpool.h"
#include "engine/weights.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static unsigned rng = 12345;
static unsigned next_rand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}
static float frand(void) /* uniform in [-1, 1) */
{
    return (float)(next_rand() & 0xffffff) / 8388608.0f - 1.0f;
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

/* rows, n_in, n_out: single rows and small batches (decoding), more rows than any tile (prefill),
 * inputs not a multiple of 4, 16 or 32, outputs not a multiple of a panel */
static const int shapes[][3] = {
    {1, 1, 1}, {1, 7, 65}, {3, 33, 130}, {4, 64, 64}, {5, 100, 257}, {9, 31, 200}, {2, 768, 129},
    {13, 5, 64}, {8, 96, 300}, {17, 40, 33}, {6, 256, 768}, {1, 3072, 48}, {33, 64, 100},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

/* the column ranges a pool might hand out: cut at odd places */
static int next_cut(int j0, int n_out)
{
    int j1 = j0 + 1 + (int)(next_rand() % 97);
    return j1 > n_out ? n_out : j1;
}

static void matmul_matches_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    for (int s = 0; s < N_SHAPES; s++) {
        const int R = shapes[s][0], I = shapes[s][1], O = shapes[s][2], ldx = I + 3, ldy = O + 5;
        float *x = randv((size_t)R * ldx, 1), *w = randv((size_t)I * O, 1), *b = randv(O, 1);
        ac__f32_matrix m;
        CHECK(ac__f32_matrix_pack(&m, w, O, 1, I, O) == 0);
        CHECK(m.n_out_pad % AC__NP == 0 && m.n_out_pad >= O && m.n_out_pad < O + AC__NP);
        int bad_pack = 0;
        for (int i = 0; i < I; i++)
            for (int j = 0; j < m.n_out_pad; j++) {
                float want = j < O ? w[(size_t)i * O + j] : 0.0f;
                bad_pack += m.p[(size_t)(j / AC__NP) * I * AC__NP + (size_t)i * AC__NP + j % AC__NP] != want;
            }
        CHECKF(!bad_pack, "%dx%d: %d packed weights misplaced", I, O, bad_pack);
        for (int acc = 0; acc < 2; acc++)
            for (int with_b = 0; with_b < 2; with_b++) {
                const float *bb = with_b ? b : NULL;
                float *y0 = randv((size_t)R * ldy, 1), *y1 = malloc(sizeof(float) * R * ldy),
                      *y2 = malloc(sizeof(float) * R * ldy);
                memcpy(y1, y0, sizeof(float) * R * ldy);
                ac__kernels_naive.matmul(y0, ldy, x, ldx, &m, bb, R, 0, O, acc);
                /* the plain loops over the unpacked matrix */
                double worst = 0;
                for (int r = 0; r < R; r++)
                    for (int j = 0; j < O; j++) {
                        float a = 0.0f;
                        for (int i = 0; i < I; i++)
                            a += x[(size_t)r * ldx + i] * w[(size_t)i * O + j];
                        float v = a + (bb ? bb[j] : 0.0f);
                        float want = acc ? y1[(size_t)r * ldy + j] + v : v;
                        worst = fmax(worst, fabs(want - y0[(size_t)r * ldy + j]));
                    }
                CHECKF(worst == 0.0, "naive matmul %dx%dx%d: differs from plain loops by %g", R, I, O, worst);
                for (int k = 0; list[k]; k++) {
                    memcpy(y2, y1, sizeof(float) * R * ldy);
                    float *y3 = malloc(sizeof(float) * R * ldy);
                    memcpy(y3, y1, sizeof(float) * R * ldy);
                    list[k]->matmul(y2, ldy, x, ldx, &m, bb, R, 0, O, acc);
                    double d = maxrel(y2, y0, (size_t)R * ldy, 1.0);
                    CHECKF(d < 1e-5, "%s matmul %dx%dx%d acc %d: rel diff %g from naive", list[k]->name, R, I, O, acc, d);
                    if (!strcmp(list[k]->name, "portable"))
                        CHECKF(!memcmp(y2, y0, sizeof(float) * R * ldy), "portable matmul %dx%dx%d: not naive's bits",
                               R, I, O);
                    /* the same in pieces split at odd columns, as threads would */
                    for (int j0 = 0; j0 < O;) {
                        int j1 = next_cut(j0, O);
                        list[k]->matmul(y3, ldy, x, ldx, &m, bb, R, j0, j1, acc);
                        j0 = j1;
                    }
                    CHECKF(!memcmp(y2, y3, sizeof(float) * R * ldy), "%s matmul %dx%dx%d: split columns change bits",
                           list[k]->name, R, I, O);
                    /* any batch of rows: each row alone, and rows in runs of every length */
                    for (int run = 1; run <= R; run++) {
                        memcpy(y3, y1, sizeof(float) * R * ldy);
                        for (int r = 0; r < R; r += run)
                            list[k]->matmul(y3 + (size_t)r * ldy, ldy, x + (size_t)r * ldx, ldx, &m, bb,
                                            R - r < run ? R - r : run, 0, O, acc);
                        if (memcmp(y2, y3, sizeof(float) * R * ldy)) {
                            CHECKF(0, "%s matmul %dx%dx%d: rows in batches of %d differ from one call", list[k]->name,
                                   R, I, O, run);
                            break;
                        }
                    }
                    free(y3);
                }
                free(y0), free(y1), free(y2);
            }
        ac__f32_matrix_free(&m);
        free(x), free(w), free(b);
    }
}

/* W[i][j] dequantized from a packed int8 matrix, through the public row accessor. */
static float *dequantized(const ac__q8_matrix *m)
{
    float *out = malloc(sizeof(float) * m->n_in * m->n_out), *row = malloc(sizeof(float) * m->n_in);
    for (int j = 0; j < m->n_out; j++) {
        ac__q8_matrix_row(m, j, row);
        for (int i = 0; i < m->n_in; i++)
            out[(size_t)i * m->n_out + j] = row[i];
    }
    free(row);
    return out;
}

static void q8_weights_quantize(void)
{
    for (int s = 0; s < N_SHAPES; s++) {
        int I = shapes[s][1], O = shapes[s][2];
        float *w = randv((size_t)I * O, 0.5f);
        for (int i = 0; i < I && i < AC__QK; i++) /* output 0's first block all zero: the guard */
            w[(size_t)i * O] = 0.0f;
        ac__q8_matrix m, t;
        CHECK(ac__q8_matrix_quantize(&m, w, O, 1, I, O) == 0);
        CHECK(m.n_in_pad % AC__QK == 0 && m.n_in_pad >= I && m.n_in_pad < I + AC__QK);
        CHECK(m.n_out_pad % AC__NP == 0 && m.n_out_pad >= O && m.n_out_pad < O + AC__NP);
        if (I <= AC__QK || I - AC__QK >= 2) /* (one nonzero weight alone is exactly int8) */
            CHECKF(m.d[0] == 0.0f && !m.exact, "%dx%d: d[0] %g, exact %d", I, O, m.d[0], m.exact);
        float *dq = dequantized(&m);
        /* within half a step of the block's scale (max|w| / 127), and the error reported */
        double worst = 0, e2 = 0, n2 = 0;
        for (int j = 0; j < O; j++)
            for (int i0 = 0; i0 < I; i0 += AC__QK) {
                float amax = 0;
                for (int i = i0; i < I && i < i0 + AC__QK; i++)
                    amax = fmaxf(amax, fabsf(w[(size_t)i * O + j]));
                for (int i = i0; i < I && i < i0 + AC__QK; i++) {
                    double e = fabs(dq[(size_t)i * O + j] - w[(size_t)i * O + j]);
                    worst = fmax(worst, amax > 0 ? e / (amax / 127.0) : e * 1e30);
                    e2 += e * e;
                    n2 += (double)w[(size_t)i * O + j] * w[(size_t)i * O + j];
                }
            }
        CHECKF(worst <= 0.5 + 1e-3, "%dx%d: dequantized weight off by %g steps", I, O, worst);
        double measured = n2 > 0 ? sqrt(e2 / n2) : 0.0;
        CHECKF(fabs(m.rel_rms - measured) <= 1e-9 + 1e-4 * m.rel_rms, "%dx%d: reported error %g, measured %g", I, O,
               m.rel_rms, measured);
        CHECKF(m.rel_rms < 0.02 && (I < 2 || m.rel_rms > 0), "%dx%d: relative RMS error %g", I, O, m.rel_rms);
        /* the same matrix given as rows [n_out][n_in] (the LM head's layout) packs the same bytes */
        float *wt = malloc(sizeof(float) * I * O);
        for (int i = 0; i < I; i++)
            for (int j = 0; j < O; j++)
                wt[(size_t)j * I + i] = w[(size_t)i * O + j];
        CHECK(ac__q8_matrix_quantize(&t, wt, 1, I, I, O) == 0);
        CHECK(!memcmp(t.q, m.q, (size_t)m.n_out_pad * m.n_in_pad) &&
              !memcmp(t.d, m.d, sizeof(float) * m.n_out_pad * (m.n_in_pad / AC__QK)));
        ac__q8_matrix_free(&t);
        /* int8 with one scale per output (an int8 ONNX file, dequantized by the loader) is kept exactly */
        for (int j = 0; j < O; j++) {
            float sc = 0.001f + 0.01f * (float)(next_rand() % 100) / 100.0f;
            for (int i = 0; i < I; i++)
                w[(size_t)i * O + j] = (float)((int)(next_rand() % 255) - 127) * sc;
            w[(size_t)(next_rand() % I) * O + j] = 127.0f * sc * (j % 2 ? 1.0f : -1.0f); /* the max, as files have */
        }
        CHECK(ac__q8_matrix_quantize(&t, w, O, 1, I, O) == 0);
        CHECKF(t.exact && t.rel_rms == 0.0, "%dx%d: int8 weights not kept exactly (error %g)", I, O, t.rel_rms);
        float *dq2 = dequantized(&t);
        CHECK(!memcmp(dq2, w, sizeof(float) * I * O));
        free(dq2);
        ac__q8_matrix_free(&t);
        free(wt), free(dq), free(w);
        ac__q8_matrix_free(&m);
    }
}

static void q8_activations_quantize(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    const int ns[] = {1, 5, 32, 33, 100, 768, 3072};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        const int n = ns[t], R = 3, ldx = n + 1;
        float *x = randv((size_t)R * ldx, 4);
        for (int i = 0; i < n && i < 32; i++) /* row 1's first block all zero */
            x[ldx + i] = 0.0f;
        ac__q8_act a, b;
        CHECK(ac__q8_act_alloc(&a, R, n + 64) == 0 && ac__q8_act_alloc(&b, R, n + 64) == 0);
        ac__kernels_naive.quantize_rows(&a, x, ldx, R, n);
        const int nb = (n + AC__QK - 1) / AC__QK, nbx = a.ld / AC__QK;
        double worst = 0;
        for (int r = 0; r < R; r++)
            for (int i = 0; i < nb * AC__QK; i++) {
                float xv = i < n ? x[(size_t)r * ldx + i] : 0.0f, d = a.d[r * nbx + i / AC__QK];
                worst = fmax(worst, fabs(xv - a.q[(size_t)r * a.ld + i] * d) / (d > 0 ? d : 1e-30));
                if (i >= n)
                    CHECK(a.q[(size_t)r * a.ld + i] == 0);
            }
        CHECKF(worst <= 0.5 + 1e-3, "activations n=%d: off by %g steps", n, worst);
        CHECK(a.d[nbx] == 0.0f && a.q[a.ld] == 0 && a.s[nbx] == 0);
        for (int r = 0; r < R; r++)
            for (int k = 0; k < nb; k++) {
                int32_t s = 0;
                for (int i = 0; i < AC__QK; i++)
                    s += a.q[(size_t)r * a.ld + k * AC__QK + i];
                CHECK(s == a.s[r * nbx + k]);
            }
        for (int k = 0; list[k]; k++) {
            memset(b.q, 0x55, (size_t)R * b.ld);
            list[k]->quantize_rows(&b, x, ldx, R, n);
            int same = 1;
            for (int r = 0; r < R; r++)
                same &= !memcmp(a.q + (size_t)r * a.ld, b.q + (size_t)r * b.ld, (size_t)nb * AC__QK) &&
                        !memcmp(a.d + r * nbx, b.d + r * nbx, sizeof(float) * nb) &&
                        !memcmp(a.s + r * nbx, b.s + r * nbx, sizeof(int32_t) * nb);
            CHECKF(same, "%s quantize_rows n=%d: not naive's bits", list[k]->name, n);
        }
        ac__q8_act_free(&a);
        ac__q8_act_free(&b);
        free(x);
    }
}

static void q8_matmul_matches_naive(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    for (int s = 0; s < N_SHAPES; s++) {
        const int R = shapes[s][0], I = shapes[s][1], O = shapes[s][2], ldy = O + 3;
        float *w = randv((size_t)I * O, 0.5f), *x = randv((size_t)R * I, 2), *b = randv(O, 1);
        /* the extremes: weights and inputs at +-127 steps */
        for (int i = 0; i < I && i < 8; i++)
            w[(size_t)i * O] = i % 2 ? 0.5f : -0.5f, x[i] = i % 3 ? -2.0f : 2.0f;
        ac__q8_matrix m;
        ac__q8_act xq;
        CHECK(ac__q8_matrix_quantize(&m, w, O, 1, I, O) == 0);
        CHECK(ac__q8_act_alloc(&xq, R, I) == 0);
        ac__kernels_naive.quantize_rows(&xq, x, I, R, I);
        float *y0 = randv((size_t)R * ldy, 1), *yinit = malloc(sizeof(float) * R * ldy);
        memcpy(yinit, y0, sizeof(float) * R * ldy);
        ac__kernels_naive.matmul_q8(y0, ldy, &xq, &m, b, R, 0, O, 1);
        /* against the float product: the int8 error only */
        ac__f32_matrix fm;
        CHECK(ac__f32_matrix_pack(&fm, w, O, 1, I, O) == 0);
        float *yf = malloc(sizeof(float) * R * ldy);
        memcpy(yf, yinit, sizeof(float) * R * ldy);
        ac__kernels_naive.matmul(yf, ldy, x, I, &fm, b, R, 0, O, 1);
        /* weights and inputs both rounded to 8 bits per block: about 0.3% of the product's size
         * (relative RMS over the outputs), more for the shortest sums */
        double e2 = 0, n2 = 0;
        for (size_t i = 0; i < (size_t)R * ldy; i++)
            e2 += ((double)y0[i] - yf[i]) * ((double)y0[i] - yf[i]), n2 += ((double)yf[i] - yinit[i]) * ((double)yf[i] - yinit[i]);
        CHECKF(sqrt(e2 / n2) < (I < 16 ? 0.03 : 0.01), "int8 product %dx%dx%d far from float: relative RMS %g", R, I, O,
               sqrt(e2 / n2));
        float *ref = NULL; /* the first FMA table's result: every FMA table must give it */
        for (int k = 0; list[k]; k++) {
            const char *name = list[k]->name;
            float *y1 = malloc(sizeof(float) * R * ldy), *y2 = malloc(sizeof(float) * R * ldy);
            memcpy(y1, yinit, sizeof(float) * R * ldy);
            list[k]->matmul_q8(y1, ldy, &xq, &m, b, R, 0, O, 1);
            double d = maxrel(y1, y0, (size_t)R * ldy, 1.0);
            CHECKF(d < 1e-5, "%s matmul_q8 %dx%dx%d: rel diff %g", name, R, I, O, d);
            if (!strcmp(name, "portable"))
                CHECKF(!memcmp(y1, y0, sizeof(float) * R * ldy), "portable matmul_q8 %dx%dx%d: not naive's bits", R, I,
                       O);
            else if (!ref)
                ref = y1;
            else /* the integer sums are exact in every table, and the float steps the same */
                CHECKF(!memcmp(y1, ref, sizeof(float) * R * ldy), "%s matmul_q8 %dx%dx%d: not %s's bits", name, R, I,
                       O, list[0]->name);
            memcpy(y2, yinit, sizeof(float) * R * ldy);
            for (int j0 = 0; j0 < O;) {
                int j1 = next_cut(j0, O);
                list[k]->matmul_q8(y2, ldy, &xq, &m, b, R, j0, j1, 1);
                j0 = j1;
            }
            CHECKF(!memcmp(y1, y2, sizeof(float) * R * ldy), "%s matmul_q8 %dx%dx%d: split columns change bits", name, R,
                   I, O);
            for (int run = 1; run <= R; run++) {
                memcpy(y2, yinit, sizeof(float) * R * ldy);
                for (int r = 0; r < R; r += run) {
                    ac__q8_act sub = xq;
                    sub.q += (size_t)r * xq.ld;
                    sub.d += (size_t)r * (xq.ld / AC__QK);
                    sub.s += (size_t)r * (xq.ld / AC__QK);
                    list[k]->matmul_q8(y2 + (size_t)r * ldy, ldy, &sub, &m, b, R - r < run ? R - r : run, 0, O, 1);
                }
                if (memcmp(y1, y2, sizeof(float) * R * ldy)) {
                    CHECKF(0, "%s matmul_q8 %dx%dx%d: rows in batches of %d differ from one call", name, R, I, O, run);
                    break;
                }
            }
            if (y1 != ref)
                free(y1);
            free(y2);
        }
        free(ref);
        free(y0), free(yinit), free(yf), free(w), free(x), free(b);
        ac__f32_matrix_free(&fm);
        ac__q8_matrix_free(&m);
        ac__q8_act_free(&xq);
    }
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
    const int hds[] = {8, 24, 64, 5, 32, 128};
    const int npos[] = {1, 15, 16, 17, 50, 129};
    const int H = 5;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++) {
        int hd = hds[a];
        int n_blocks = 9;
        size_t stride = (size_t)2 * H * AC__KV_BLOCK * hd;    /* one layer: [2][H][B * hd] */
        float *store = randv((size_t)n_blocks * stride * 2, 2); /* room for 18 blocks */
        const int ids[9] = {7, 2, 16, 0, 11, 5, 3, 9, 14};      /* scattered, as forks leave them */
        ac__kv_block all[18], *blocks[9];
        for (int i = 0; i < 18; i++)
            all[i] = (ac__kv_block){.data = store + (size_t)i * stride, .ref = 1};
        for (int i = 0; i < 9; i++)
            blocks[i] = &all[ids[i]];
        float *q = randv((size_t)H * hd, 2), *o0 = malloc(sizeof(float) * H * hd), *o1 = malloc(sizeof(float) * H * hd);
        float *o2 = malloc(sizeof(float) * H * hd);
        for (size_t p = 0; p < sizeof npos / sizeof npos[0]; p++) {
            ac__kv_view v = {blocks, 0, (size_t)H * AC__KV_BLOCK * hd};
            ac__kernels_naive.attention(o0, q, &v, H, npos[p], hd, 1.0f / sqrtf((float)hd));
            for (int k = 0; list[k]; k++) {
                list[k]->attention(o1, q, &v, H, npos[p], hd, 1.0f / sqrtf((float)hd));
                CHECKF(maxrel(o1, o0, (size_t)H * hd, 1.0) < 1e-5, "%s attention hd %d n_pos %d: %g", list[k]->name, hd,
                       npos[p], maxrel(o1, o0, (size_t)H * hd, 1.0));
                /* head by head, and in other groups: the same bits */
                for (int h = 0; h < H; h++) {
                    ac__kv_view w = v;
                    w.k_off += (size_t)h * AC__KV_BLOCK * hd, w.v_off += (size_t)h * AC__KV_BLOCK * hd;
                    list[k]->attention(o2 + (size_t)h * hd, q + (size_t)h * hd, &w, 1, npos[p], hd, 1.0f / sqrtf((float)hd));
                }
                CHECKF(!memcmp(o1, o2, sizeof(float) * H * hd), "%s attention hd %d: one head at a time changes bits",
                       list[k]->name, hd);
                ac__kv_view w = v;
                w.k_off += (size_t)3 * AC__KV_BLOCK * hd, w.v_off += (size_t)3 * AC__KV_BLOCK * hd;
                list[k]->attention(o2, q + (size_t)3 * hd, &w, 2, npos[p], hd, 1.0f / sqrtf((float)hd));
                CHECKF(!memcmp(o1 + (size_t)3 * hd, o2, sizeof(float) * 2 * hd), "%s attention hd %d: heads 3..4 alone "
                       "change bits", list[k]->name, hd);
            }
        }
        /* a single position returns its value exactly */
        ac__kv_view v = {blocks, 0, (size_t)H * AC__KV_BLOCK * hd};
        for (int k = 0; list[k]; k++) {
            list[k]->attention(o1, q, &v, 1, 1, hd, 0.3f);
            CHECK(maxrel(o1, store + (size_t)7 * stride + H * AC__KV_BLOCK * hd, hd, 1e-6) < 1e-6);
        }
        free(store), free(q), free(o0), free(o1), free(o2);
    }
}

/* The tables this machine should offer, from the CPU's own flags. */
static void tables_follow_cpu_features(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    int n = 0, has_portable = 0;
    for (; list[n]; n++)
        has_portable |= !strcmp(list[n]->name, "portable");
    CHECK(n >= 1 && has_portable && !strcmp(list[n - 1]->name, "portable"));
    CHECK(ac__kernels_best() != NULL);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")
                           ? "avx512vnni"
                       : __builtin_cpu_supports("avx512bw") ? "avx512"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "avx2"
                                                                                           : "portable";
    CHECKF(!strcmp(list[0]->name, want), "best table %s, want %s on this CPU", list[0]->name, want);
#endif
    fprintf(stderr, "  tables here:");
    for (int k = 0; list[k]; k++)
        fprintf(stderr, " %s", list[k]->name);
    fprintf(stderr, "\n");
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
    const int counts[] = {1, 2, 3, 4, 16};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        int nt = counts[ci];
        ac_threadpool *tp = ac_threadpool_new(nt);
        CHECK(tp && ac_threadpool_size(tp) == nt);
        const int sizes[] = {0, 1, 2, 3, 7, 64, 1000};
        for (int rep = 0; rep < (nt > 4 ? 20 : 200); rep++)
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

/* This process's CPU time (user + system) in seconds, from /proc/self/stat; -1 if unreadable. */
static double process_cpu_seconds(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void spin_task(void *ctx, int t)
{
    (void)t;
    volatile double *sink = ctx;
    double a = 1.0;
    for (int i = 0; i < 200000; i++)
        a = a * 1.0000001 + 1e-9;
    *sink = a;
}

/* Idle workers sleep: 16 workers that have just run a job use (almost) no CPU over 200 ms idle,
 * whereas spinning would burn about 3 CPU-seconds. */
static void threadpool_idle_uses_no_cpu(void)
{
    if (process_cpu_seconds() < 0)
        SKIP("no /proc/self/stat");
    ac_threadpool *tp = ac_threadpool_new(17);
    CHECK(tp && ac_threadpool_size(tp) == 17);
    volatile double sink = 0;
    ac__threadpool_run(tp, 64, spin_task, (void *)&sink); /* every worker woken at least once */
    double c0 = process_cpu_seconds();
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double used = process_cpu_seconds() - c0;
    CHECKF(used <= 0.02, "16 idle workers used %.3f CPU-seconds in 200 ms", used);
    fprintf(stderr, "  16 idle workers: %.3f CPU-seconds over 200 ms\n", used);
    ac_threadpool_free(tp);
}

int main(void)
{
    RUN(tables_follow_cpu_features);
    RUN(matmul_matches_naive);
    RUN(q8_weights_quantize);
    RUN(q8_activations_quantize);
    RUN(q8_matmul_matches_naive);
    RUN(layernorm_gelu_exp_match_naive);
    RUN(attention_matches_naive);
    RUN(threadpool_runs_every_task_once);
    RUN(threadpool_serialises_callers);
    RUN(threadpool_idle_uses_no_cpu);
    return CHECK_EXIT_CODE();
}
