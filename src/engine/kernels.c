/* kernels.c: the naive reference kernels, the fast kernels compiled for several instruction sets,
 * the run-time choice between them, and int8 matrix quantization (see kernels.h).
 *
 * The fast kernels are one portable C source (kernels_fast.inc) compiled here up to three times:
 * for the baseline target (any CPU this build runs on), and on x86-64 with GCC or Clang for AVX2+FMA
 * and for AVX-512 (function-level target attributes; nothing else in the program needs those
 * instructions). ac__kernels_best() picks the widest the CPU supports. This is not hand-written
 * SIMD: that, and VNNI int8 dot products, belong in further tables here.
 */
#include "engine/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* GCC if-converts (and so vectorises) the float compare-and-selects (expf, GELU, quantization)
 * only without -ftrapping-math; nothing here reads floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* ------------------------------------------------------------------------------ naive kernels */

static void naive_matmul(float *y, int ldy, const float *x, int ldx, const float *w, const float *b,
                         int n_rows, int n_in, int n_out, int j0, int j1, int accumulate)
{
    for (int r = 0; r < n_rows; r++)
        for (int j = j0; j < j1; j++) {
            float a = 0.0f;
            for (int i = 0; i < n_in; i++)
                a += x[(size_t)r * ldx + i] * w[(size_t)i * n_out + j];
            float v = a + (b ? b[j] : 0.0f);
            y[(size_t)r * ldy + j] = accumulate ? y[(size_t)r * ldy + j] + v : v;
        }
}

static void naive_matmul_t(float *y, int ldy, const float *x, int ldx, const float *wt, int n_rows,
                           int n_in, int j0, int j1)
{
    for (int r = 0; r < n_rows; r++)
        for (int j = j0; j < j1; j++) {
            float a = 0.0f;
            for (int i = 0; i < n_in; i++)
                a += x[(size_t)r * ldx + i] * wt[(size_t)j * n_in + i];
            y[(size_t)r * ldy + j] = a;
        }
}

static void naive_matmul_q8(float *y, int ldy, const float *x, int ldx, const ac__q8_matrix *w, const float *b,
                            int n_rows, int j0, int j1, int accumulate)
{
    const int np = w->n_in_pad, nb = np / AC__QK;
    for (int r = 0; r < n_rows; r++)
        for (int j = j0; j < j1; j++) {
            float a = 0.0f;
            for (int i = 0; i < w->n_in; i++)
                a += ((float)w->q[(size_t)j * np + i] * w->d[(size_t)j * nb + i / AC__QK]) * x[(size_t)r * ldx + i];
            float v = a + (b ? b[j] : 0.0f);
            y[(size_t)r * ldy + j] = accumulate ? y[(size_t)r * ldy + j] + v : v;
        }
}

void ac__quantize_row_q8(int8_t *q, float *d, const float *x, int n, int n_pad)
{
    for (int k0 = 0; k0 < n_pad; k0 += AC__QK) {
        float blk[AC__QK]; /* the block, zero-padded past n */
        for (int k = 0; k < AC__QK; k++)
            blk[k] = k0 + k < n ? x[k0 + k] : 0.0f;
        float a[AC__QK], m[8]; /* |blk|, then its maximum in 8 lanes (element-wise: vectorises) */
        for (int k = 0; k < AC__QK; k++)
            a[k] = blk[k] < 0.0f ? -blk[k] : blk[k];
        for (int k = 0; k < 8; k++) {
            float m0 = a[k] > a[k + 8] ? a[k] : a[k + 8], m1 = a[k + 16] > a[k + 24] ? a[k + 16] : a[k + 24];
            m[k] = m0 > m1 ? m0 : m1;
        }
        float amax = 0.0f;
        for (int k = 0; k < 8; k++)
            amax = m[k] > amax ? m[k] : amax;
        float dd = amax / 127.0f, id = dd != 0.0f ? 1.0f / dd : 0.0f;
        for (int k = 0; k < AC__QK; k++) {
            float v = blk[k] * id; /* |v| <= 127: rounds half away from zero, as roundf */
            q[k0 + k] = (int8_t)(int)(v + (v < 0.0f ? -0.5f : 0.5f));
        }
        d[k0 / AC__QK] = dd;
    }
}

static void naive_layernorm(float *y, const float *x, const float *g, const float *b, int n, float eps)
{
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    float rstd = (float)(1.0 / sqrt(var + eps));
    for (int i = 0; i < n; i++)
        y[i] = (float)(x[i] - mean) * rstd * g[i] + b[i];
}

static void naive_gelu(float *x, int n, int kind)
{
    for (int i = 0; i < n; i++) {
        float v = x[i];
        if (kind == 0)
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        else
            x[i] = 0.5f * v * (1.0f + erff(v / sqrtf(2.0f)));
    }
}

/* Two passes over the scores, as the math reads: maximum, then the weighted sum. */
static void naive_attention(float *out, const float *q, const ac__kv_view *kv, int n_pos, int hd, float scale)
{
#define KEY(t, i) (kv->base + (size_t)kv->blocks[(t) / AC__KV_BLOCK] * kv->block_stride + kv->k_off)[(size_t)(i) * AC__KV_BLOCK + (t) % AC__KV_BLOCK]
#define VAL(t) (kv->base + (size_t)kv->blocks[(t) / AC__KV_BLOCK] * kv->block_stride + kv->v_off + (size_t)((t) % AC__KV_BLOCK) * hd)
    float m = -INFINITY;
    for (int t = 0; t < n_pos; t++) {
        float s = 0.0f;
        for (int i = 0; i < hd; i++)
            s += q[i] * KEY(t, i);
        m = fmaxf(m, s * scale);
    }
    double l = 0.0;
    for (int i = 0; i < hd; i++)
        out[i] = 0.0f;
    for (int t = 0; t < n_pos; t++) {
        float s = 0.0f;
        for (int i = 0; i < hd; i++)
            s += q[i] * KEY(t, i);
        float p = expf(s * scale - m);
        l += p;
        for (int i = 0; i < hd; i++)
            out[i] += p * VAL(t)[i];
    }
    for (int i = 0; i < hd; i++)
        out[i] = (float)(out[i] / l);
#undef KEY
#undef VAL
}

const ac__kernels ac__kernels_naive = {
    "naive", naive_matmul, naive_matmul_t, naive_matmul_q8, naive_layernorm, naive_gelu, naive_attention,
};

/* ------------------------------------------------------------------------------- fast kernels */

#define AC__K(name) name##_portable
#define AC__KNAME "portable"
#define AC__VW 4
#include "engine/kernels_fast.inc"
#undef AC__K
#undef AC__KNAME
#undef AC__VW

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AC__HAVE_X86_TABLES 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define AC__K(name) name##_avx2
#define AC__KNAME "avx2"
#define AC__VW 8
#include "engine/kernels_fast.inc"
#undef AC__K
#undef AC__KNAME
#undef AC__VW
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512")
#endif
#define AC__K(name) name##_avx512
#define AC__KNAME "avx512"
#define AC__VW 16
#include "engine/kernels_fast.inc"
#undef AC__K
#undef AC__KNAME
#undef AC__VW
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

static const ac__kernels *kernel_list[4]; /* best first, NULL-terminated */
static pthread_once_t kernel_list_once = PTHREAD_ONCE_INIT;

static void kernel_list_init(void)
{
    int n = 0;
#ifdef AC__HAVE_X86_TABLES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        kernel_list[n++] = &table_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        kernel_list[n++] = &table_avx2;
#endif
    kernel_list[n++] = &table_portable;
    kernel_list[n] = NULL;
}

const ac__kernels *const *ac__kernels_available(void)
{
    pthread_once(&kernel_list_once, kernel_list_init);
    return kernel_list;
}

const ac__kernels *ac__kernels_best(void)
{
    const ac__kernels *const *list = ac__kernels_available();
    const char *want = getenv("AC_KERNELS");
    if (want && *want) {
        if (!strcmp(want, "naive"))
            return &ac__kernels_naive;
        for (int i = 0; list[i]; i++)
            if (!strcmp(list[i]->name, want))
                return list[i];
    }
    return list[0];
}

float ac__expf(float x)
{
    return expf_portable(x);
}

/* ------------------------------------------------------------------------- int8 quantization */

static int q8_alloc(ac__q8_matrix *m, int n_in, int n_out)
{
    memset(m, 0, sizeof *m);
    m->n_in = n_in;
    m->n_out = n_out;
    m->n_in_pad = (n_in + AC__QK - 1) / AC__QK * AC__QK;
    m->q = calloc((size_t)n_out * m->n_in_pad, 1);
    m->d = calloc((size_t)n_out * (m->n_in_pad / AC__QK), sizeof(float));
    if (!m->q || !m->d) {
        ac__q8_matrix_free(m);
        return -1;
    }
    return 0;
}

int ac__q8_matrix_from_rows(ac__q8_matrix *m, const float *wt, int n_out, int n_in)
{
    if (q8_alloc(m, n_in, n_out))
        return -1;
    const int nb = m->n_in_pad / AC__QK;
    for (int j = 0; j < n_out; j++)
        ac__quantize_row_q8(m->q + (size_t)j * m->n_in_pad, m->d + (size_t)j * nb, wt + (size_t)j * n_in, n_in,
                           m->n_in_pad);
    return 0;
}

int ac__q8_matrix_from_conv1d(ac__q8_matrix *m, const float *w, int n_in, int n_out)
{
    enum { CB = 32 }; /* columns transposed per pass: reads of w stay row-contiguous */
    if (q8_alloc(m, n_in, n_out))
        return -1;
    float *cols = malloc((size_t)CB * n_in * sizeof(float)); /* [CB][n_in]: columns j0.. of w */
    if (!cols) {
        ac__q8_matrix_free(m);
        return -1;
    }
    const int nb = m->n_in_pad / AC__QK;
    for (int j0 = 0; j0 < n_out; j0 += CB) {
        int nc = n_out - j0 < CB ? n_out - j0 : CB;
        for (int i = 0; i < n_in; i++)
            for (int c = 0; c < nc; c++)
                cols[(size_t)c * n_in + i] = w[(size_t)i * n_out + j0 + c];
        for (int c = 0; c < nc; c++)
            ac__quantize_row_q8(m->q + (size_t)(j0 + c) * m->n_in_pad, m->d + (size_t)(j0 + c) * nb,
                                cols + (size_t)c * n_in, n_in, m->n_in_pad);
    }
    free(cols);
    return 0;
}

void ac__q8_matrix_free(ac__q8_matrix *m)
{
    if (!m)
        return;
    free(m->q);
    free(m->d);
    memset(m, 0, sizeof *m);
}

void ac__q8_matrix_row(const ac__q8_matrix *m, int j, float *out)
{
    const int nb = m->n_in_pad / AC__QK;
    const int8_t *q = m->q + (size_t)j * m->n_in_pad;
    const float *d = m->d + (size_t)j * nb;
    for (int i = 0; i < m->n_in; i++)
        out[i] = (float)q[i] * d[i / AC__QK];
}
