/* kernels.c: the naive reference kernels, the fast kernels compiled for several instruction sets,
 * the run-time choice between them, and the packing of weights (float32 panels, int8 quantization)
 * (see kernels.h).
 *
 * The fast kernels are one C source (kernels_fast.inc) compiled here up to four times: for the
 * baseline target ("portable": any CPU this build runs on, the compiler's vectors, no FMA), and on
 * x86-64 with GCC or Clang for AVX2+FMA, AVX-512 (F, BW, DQ, VL) and AVX-512 with VNNI, through
 * function-level target attributes (nothing else in the program needs those instructions).
 * ac__kernels_best() picks the first the CPU supports. This is not: the forward pass (forward.c).
 */
#include "engine/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AC__HAVE_X86_TABLES 1
#include <immintrin.h>
#endif

/* Each product's rounding steps are written out (kernels.h, "Numbers"): the compiler must not fuse
 * a multiply and an add on its own (GCC does not in ISO C mode; Clang would by default). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* GCC if-converts (and so vectorises) the float compare-and-selects (expf, GELU, quantization)
 * only without -ftrapping-math; nothing here reads floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* x rounded to the nearest integer, ties to even (|x| < 2^22): two float additions, the same in
 * every table and vectorisable without SSE4.1. */
static inline int32_t round_even(float x)
{
    return (int32_t)((x + 12582912.0f) - 12582912.0f);
}

/* ------------------------------------------------------------------------------ naive kernels */

/* W[i][j] of a packed float32 matrix. */
static inline float f32_at(const ac__f32_matrix *w, int i, int j)
{
    return w->p[(size_t)(j / AC__NP) * w->n_in * AC__NP + (size_t)i * AC__NP + j % AC__NP];
}

static void naive_matmul(float *y, int ldy, const float *x, int ldx, const ac__f32_matrix *w, const float *b,
                         int n_rows, int j0, int j1, int accumulate)
{
    for (int r = 0; r < n_rows; r++)
        for (int j = j0; j < j1; j++) {
            float a = 0.0f;
            for (int i = 0; i < w->n_in; i++)
                a += x[(size_t)r * ldx + i] * f32_at(w, i, j);
            float v = a + (b ? b[j] : 0.0f);
            y[(size_t)r * ldy + j] = accumulate ? y[(size_t)r * ldy + j] + v : v;
        }
}

/* The int8 weight q[j][i] (in [-127, 127]) and the scale d[j][i / QK] of a packed int8 matrix. */
static inline int q8_at(const ac__q8_matrix *w, int j, int i)
{
    const int nb = w->n_in_pad / AC__QK, kb = i / AC__QK, g = (i % AC__QK) / 4;
    size_t at = (((size_t)(j / AC__NP) * nb + kb) * (AC__QK / 4) + g) * (AC__NP * 4) + (size_t)(j % AC__NP) * 4 + i % 4;
    return (int)w->q[at] - 128;
}

static inline float q8_scale(const ac__q8_matrix *w, int j, int kb)
{
    const int nb = w->n_in_pad / AC__QK;
    return w->d[((size_t)(j / AC__NP) * nb + kb) * AC__NP + j % AC__NP];
}

static void naive_matmul_q8(float *y, int ldy, const ac__q8_act *x, const ac__q8_matrix *w, const float *b,
                            int n_rows, int j0, int j1, int accumulate)
{
    const int nb = w->n_in_pad / AC__QK, nbx = x->ld / AC__QK;
    for (int r = 0; r < n_rows; r++)
        for (int j = j0; j < j1; j++) {
            float a = 0.0f;
            for (int kb = 0; kb < nb; kb++) {
                int32_t s = 0;
                for (int i = kb * AC__QK; i < (kb + 1) * AC__QK; i++)
                    s += q8_at(w, j, i) * x->q[(size_t)r * x->ld + i];
                a += (float)s * (q8_scale(w, j, kb) * x->d[(size_t)r * nbx + kb]);
            }
            float v = a + (b ? b[j] : 0.0f);
            y[(size_t)r * ldy + j] = accumulate ? y[(size_t)r * ldy + j] + v : v;
        }
}

/* Quantizes one block of AC__QK values (zero-padded by the caller): q, and returns the scale
 * max|x| / 127. The maximum in 8 lanes, so the loops vectorise (max is exact in any order). */
static float quantize_block(int32_t *q, const float *x)
{
    float a[AC__QK], m[8];
    for (int k = 0; k < AC__QK; k++)
        a[k] = x[k] < 0.0f ? -x[k] : x[k];
    for (int k = 0; k < 8; k++) {
        float m0 = a[k] > a[k + 8] ? a[k] : a[k + 8], m1 = a[k + 16] > a[k + 24] ? a[k + 16] : a[k + 24];
        m[k] = m0 > m1 ? m0 : m1;
    }
    float amax = 0.0f;
    for (int k = 0; k < 8; k++)
        amax = m[k] > amax ? m[k] : amax;
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int k = 0; k < AC__QK; k++)
        q[k] = round_even(x[k] * id);
    return d;
}

static void naive_quantize_rows(ac__q8_act *xq, const float *x, int ldx, int n_rows, int n)
{
    const int n_pad = (n + AC__QK - 1) / AC__QK * AC__QK, nbx = xq->ld / AC__QK;
    for (int r = 0; r < n_rows; r++)
        for (int k0 = 0; k0 < n_pad; k0 += AC__QK) {
            float blk[AC__QK];
            int32_t q[AC__QK], s = 0;
            for (int k = 0; k < AC__QK; k++)
                blk[k] = k0 + k < n ? x[(size_t)r * ldx + k0 + k] : 0.0f;
            xq->d[(size_t)r * nbx + k0 / AC__QK] = quantize_block(q, blk);
            for (int k = 0; k < AC__QK; k++) {
                xq->q[(size_t)r * xq->ld + k0 + k] = (int8_t)q[k];
                s += q[k];
            }
            xq->s[(size_t)r * nbx + k0 / AC__QK] = s;
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
static void naive_attention1(float *out, const float *q, const ac__kv_view *kv, int n_pos, int hd, float scale)
{
#define KEY(t, i) (kv->blocks[(t) / AC__KV_BLOCK]->data + kv->k_off)[(size_t)(i) * AC__KV_BLOCK + (t) % AC__KV_BLOCK]
#define VAL(t) (kv->blocks[(t) / AC__KV_BLOCK]->data + kv->v_off + (size_t)((t) % AC__KV_BLOCK) * hd)
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

static void naive_attention(float *out, const float *q, const ac__kv_view *kv, int n_heads, int n_pos, int hd,
                            float scale)
{
    for (int h = 0; h < n_heads; h++) {
        ac__kv_view v = *kv;
        v.k_off += (size_t)h * AC__KV_BLOCK * hd, v.v_off += (size_t)h * AC__KV_BLOCK * hd;
        naive_attention1(out + (size_t)h * hd, q + (size_t)h * hd, &v, n_pos, hd, scale);
    }
}

const ac__kernels ac__kernels_naive = {
    "naive", naive_matmul, naive_matmul_q8, naive_quantize_rows, naive_layernorm, naive_gelu,
    naive_attention,
};

/* ------------------------------------------------------------------------------- fast kernels */

/* portable: the compiler's vectors of 4 floats (SSE2 on x86-64, NEON on arm64), no FMA */
typedef float ac__vf4 __attribute__((vector_size(16)));
static inline ac__vf4 ac__vf4_load(const float *p)
{
    ac__vf4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void ac__vf4_store(float *p, ac__vf4 v)
{
    memcpy(p, &v, sizeof v);
}
static inline ac__vf4 ac__vf4_set1(float f)
{
    ac__vf4 v = {f, f, f, f};
    return v;
}
#define AC__K(name) name##_portable
#define AC__KNAME "portable"
#define AC__VW 4
#define AC__VT ac__vf4
#define AC__VLOAD(p) ac__vf4_load(p)
#define AC__VSTORE(p, v) ac__vf4_store(p, v)
#define AC__VSET1(f) ac__vf4_set1(f)
#define AC__VZERO() ac__vf4_set1(0.0f)
#define AC__VADD(a, b) ((a) + (b))
#define AC__VMUL(a, b) ((a) * (b))
#define AC__VFMA(a, b, c) ((a) * (b) + (c)) /* ISO C: no contraction, two roundings */
#define AC__RT 2
#define AC__VF(R) ((R) == 1 ? 2 : 1)
#define AC__RT8 2
#define AC__V8(R) 1
#define AC__NHA 1
#define AC__I8 0
#include "engine/kernels_fast.inc"
#undef AC__NHA
#undef AC__K
#undef AC__KNAME
#undef AC__VW
#undef AC__VT
#undef AC__VLOAD
#undef AC__VSTORE
#undef AC__VSET1
#undef AC__VZERO
#undef AC__VADD
#undef AC__VMUL
#undef AC__VFMA
#undef AC__RT
#undef AC__VF
#undef AC__RT8
#undef AC__V8
#undef AC__I8

#ifdef AC__HAVE_X86_TABLES
/* ---- AVX2 + FMA */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define AC__K(name) name##_avx2
#define AC__KNAME "avx2"
#define AC__VW 8
#define AC__VT __m256
#define AC__VLOAD(p) _mm256_loadu_ps(p)
#define AC__VSTORE(p, v) _mm256_storeu_ps(p, v)
#define AC__VSET1(f) _mm256_set1_ps(f)
#define AC__VZERO() _mm256_setzero_ps()
#define AC__VADD(a, b) _mm256_add_ps(a, b)
#define AC__VMUL(a, b) _mm256_mul_ps(a, b)
#define AC__VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define AC__RT 6
#define AC__VF(R) ((R) == 1 ? 4 : (R) == 2 ? 3 : (R) == 3 ? 2 : 1)
#define AC__RT8 4
#define AC__V8(R) ((R) == 1 ? 2 : 1)
#define AC__NHA 1
#define AC__I8 1
#include "engine/kernels_fast.inc"
#undef AC__NHA
#undef AC__K
#undef AC__KNAME
#undef AC__VW
#undef AC__VT
#undef AC__VLOAD
#undef AC__VSTORE
#undef AC__VSET1
#undef AC__VZERO
#undef AC__VADD
#undef AC__VMUL
#undef AC__VFMA
#undef AC__RT
#undef AC__VF
#undef AC__RT8
#undef AC__V8
#undef AC__I8
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

/* ---- AVX-512 (F, BW, DQ, VL), and the same with VNNI: the float kernels are the same code */
#define AC__VW 16
#define AC__VT __m512
#define AC__VLOAD(p) _mm512_loadu_ps(p)
#define AC__VSTORE(p, v) _mm512_storeu_ps(p, v)
#define AC__VSET1(f) _mm512_set1_ps(f)
#define AC__VZERO() _mm512_setzero_ps()
#define AC__VADD(a, b) _mm512_add_ps(a, b)
#define AC__VMUL(a, b) _mm512_mul_ps(a, b)
#define AC__VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define AC__RT 8
#define AC__VF(R) ((R) <= 2 ? 8 : (R) == 3 ? 6 : (R) == 4 ? 5 : (R) <= 6 ? 4 : 3)
#define AC__NHA 2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,prefer-vector-width=512")
#endif
#define AC__K(name) name##_avx512
#define AC__KNAME "avx512"
#define AC__RT8 4
#define AC__V8(R) ((R) <= 2 ? 4 : 3)
#define AC__I8 2
#include "engine/kernels_fast.inc"
#undef AC__K
#undef AC__KNAME
#undef AC__RT8
#undef AC__V8
#undef AC__I8
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,prefer-vector-width=512")
#endif
#define AC__K(name) name##_avx512vnni
#define AC__KNAME "avx512vnni"
#define AC__RT8 8
#define AC__V8(R) ((R) == 1 ? 8 : (R) == 2 ? 6 : (R) == 3 ? 5 : (R) <= 6 ? 4 : 3)
#define AC__I8 3
#include "engine/kernels_fast.inc"
#undef AC__K
#undef AC__KNAME
#undef AC__RT8
#undef AC__V8
#undef AC__I8
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef AC__VW
#undef AC__VT
#undef AC__VLOAD
#undef AC__VSTORE
#undef AC__VSET1
#undef AC__VZERO
#undef AC__VADD
#undef AC__VMUL
#undef AC__VFMA
#undef AC__RT
#undef AC__VF
#undef AC__NHA
#endif

static const ac__kernels *kernel_list[5]; /* best first, NULL-terminated */
static pthread_once_t kernel_list_once = PTHREAD_ONCE_INIT;

static void kernel_list_init(void)
{
    int n = 0;
#ifdef AC__HAVE_X86_TABLES
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx512 && __builtin_cpu_supports("avx512vnni"))
        kernel_list[n++] = &table_avx512vnni;
    if (avx512)
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

/* ------------------------------------------------------------------------ packing at load time */

/* size bytes, 64-byte aligned, rounded up to a multiple of 64 (aligned_alloc's rule) */
static void *alloc64(size_t size)
{
    return aligned_alloc(64, (size + 63) / 64 * 64);
}

int ac__f32_matrix_pack(ac__f32_matrix *m, const float *w, size_t si, size_t sj, int n_in, int n_out)
{
    memset(m, 0, sizeof *m);
    m->n_in = n_in;
    m->n_out = n_out;
    m->n_out_pad = (n_out + AC__NP - 1) / AC__NP * AC__NP;
    m->p = alloc64((size_t)m->n_out_pad * n_in * sizeof(float));
    if (!m->p)
        return -1;
    for (int p = 0; p < m->n_out_pad / AC__NP; p++) {
        const int j0 = p * AC__NP, nc = n_out - j0 < AC__NP ? n_out - j0 : AC__NP;
        float *dst = m->p + (size_t)p * n_in * AC__NP;
        if (nc < AC__NP)
            memset(dst, 0, (size_t)n_in * AC__NP * sizeof(float));
        if (sj == 1) /* read along w's rows */
            for (int i = 0; i < n_in; i++)
                memcpy(dst + (size_t)i * AC__NP, w + (size_t)i * si + j0, (size_t)nc * sizeof(float));
        else
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < n_in; i++)
                    dst[(size_t)i * AC__NP + c] = w[(size_t)i * si + (size_t)(j0 + c) * sj];
    }
    return 0;
}

void ac__f32_matrix_free(ac__f32_matrix *m)
{
    if (!m)
        return;
    free(m->p);
    memset(m, 0, sizeof *m);
}

void ac__f32_matrix_row(const ac__f32_matrix *m, int j, float *out)
{
    for (int i = 0; i < m->n_in; i++)
        out[i] = f32_at(m, i, j);
}

/* If x[n] is exactly q * s for integers |q| <= 127 and one s (as dequantized int8 with one scale
 * per output is), writes q [n] and returns s; else returns 0. s is max|x| / 127 as computed in
 * float, or one of the floats 2 steps around it (the file's scale times 127, divided by 127, may
 * round off). */
static float exact_scale(const float *x, int n, int32_t *q)
{
    float m[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) {
            float a = x[i + k] < 0.0f ? -x[i + k] : x[i + k];
            m[k] = a > m[k] ? a : m[k];
        }
    float amax = 0.0f;
    for (int k = 0; k < 16; k++)
        amax = m[k] > amax ? m[k] : amax;
    for (; i < n; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    if (!(amax > 0.0f) || !isfinite(amax))
        return 0.0f;
    const float s0 = amax / 127.0f, lo = nextafterf(s0, 0.0f), hi = nextafterf(s0, INFINITY);
    const float cand[5] = {s0, lo, hi, nextafterf(lo, 0.0f), nextafterf(hi, INFINITY)};
    for (int c = 0; c < 5; c++) {
        const float s = cand[c];
        for (i = 0; i < n; i++) {
            float t = x[i] / s;
            if (!(fabsf(t) <= 127.5f))
                break;
            int32_t qi = round_even(t);
            if (qi < -127 || qi > 127 || (float)qi * s != x[i])
                break;
            q[i] = qi;
        }
        if (i == n)
            return s;
    }
    return 0.0f;
}

int ac__q8_matrix_quantize(ac__q8_matrix *m, const float *w, size_t si, size_t sj, int n_in, int n_out)
{
    memset(m, 0, sizeof *m);
    m->n_in = n_in;
    m->n_out = n_out;
    m->n_in_pad = (n_in + AC__QK - 1) / AC__QK * AC__QK;
    m->n_out_pad = (n_out + AC__NP - 1) / AC__NP * AC__NP;
    const int nb = m->n_in_pad / AC__QK;
    m->q = alloc64((size_t)m->n_out_pad * m->n_in_pad);
    m->d = alloc64((size_t)m->n_out_pad * nb * sizeof(float));
    float *cols = malloc((size_t)AC__NP * m->n_in_pad * sizeof(float)); /* [NP][n_in_pad] one panel */
    int32_t *qi = malloc((size_t)m->n_in_pad * sizeof(int32_t));        /* [n_in_pad] one output */
    float *di = malloc((size_t)nb * sizeof(float));                       /* [nb] */
    uint8_t *qb = malloc((size_t)m->n_in_pad);                             /* [n_in_pad] q + 128 */
    if (!m->q || !m->d || !cols || !qi || !di || !qb) {
        free(cols), free(qi), free(di), free(qb);
        ac__q8_matrix_free(m);
        return -1;
    }
    memset(m->q, 128, (size_t)m->n_out_pad * m->n_in_pad);
    memset(m->d, 0, (size_t)m->n_out_pad * nb * sizeof(float));
    double err2 = 0.0, sum2 = 0.0;
    int n_exact = 0;
    for (int p = 0; p < m->n_out_pad / AC__NP; p++) {
        const int j0 = p * AC__NP, nc = n_out - j0 < AC__NP ? n_out - j0 : AC__NP;
        /* gather the panel's outputs as rows, reading w along its contiguous axis */
        memset(cols, 0, (size_t)AC__NP * m->n_in_pad * sizeof(float));
        if (sj == 1) /* 16 x 16 tiles: rows of w read whole, rows of cols written whole */
            for (int i0 = 0; i0 < n_in; i0 += 16) {
                const int ni = n_in - i0 < 16 ? n_in - i0 : 16;
                float t[AC__NP][16];
                for (int i = 0; i < ni; i++)
                    for (int c = 0; c < nc; c++)
                        t[c][i] = w[(size_t)(i0 + i) * si + (size_t)(j0 + c)];
                for (int c = 0; c < nc; c++)
                    memcpy(cols + (size_t)c * m->n_in_pad + i0, t[c], (size_t)ni * sizeof(float));
            }
        else
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < n_in; i++)
                    cols[(size_t)c * m->n_in_pad + i] = w[(size_t)i * si + (size_t)(j0 + c) * sj];
        uint8_t *qp = m->q + (size_t)p * nb * AC__QK * AC__NP;
        float *dp = m->d + (size_t)p * nb * AC__NP;
        for (int c = 0; c < nc; c++) {
            const float *x = cols + (size_t)c * m->n_in_pad;
            float s = exact_scale(x, n_in, qi);
            if (s != 0.0f) {
                n_exact++;
                for (int i = n_in; i < m->n_in_pad; i++)
                    qi[i] = 0;
                for (int kb = 0; kb < nb; kb++)
                    di[kb] = s;
            } else {
                for (int kb = 0; kb < nb; kb++)
                    di[kb] = quantize_block(qi + kb * AC__QK, x + kb * AC__QK);
            }
            /* the error, per block in float (then summed in double) so the loop vectorises; x is
             * zero past n_in, and so is q */
            for (int kb = 0; kb < nb; kb++) {
                float e2[AC__QK], x2[AC__QK];
                for (int k = 0; k < AC__QK; k++) {
                    const float v = x[kb * AC__QK + k], e = v - (float)qi[kb * AC__QK + k] * di[kb];
                    e2[k] = e * e;
                    x2[k] = v * v;
                }
                float se = 0.0f, sx = 0.0f;
                for (int k = 0; k < AC__QK; k++)
                    se += e2[k], sx += x2[k];
                err2 += se;
                sum2 += sx;
            }
            /* scatter: 4 consecutive inputs of this output side by side with the panel's others */
            for (int i = 0; i < m->n_in_pad; i++)
                qb[i] = (uint8_t)(qi[i] + 128);
            for (int kb = 0; kb < nb; kb++) {
                dp[(size_t)kb * AC__NP + c] = di[kb];
                for (int g = 0; g < AC__QK / 4; g++)
                    memcpy(qp + ((size_t)kb * (AC__QK / 4) + g) * (AC__NP * 4) + (size_t)c * 4, qb + kb * AC__QK + g * 4, 4);
            }
        }
    }
    m->rel_rms = sum2 > 0.0 ? sqrt(err2 / sum2) : 0.0;
    m->exact = n_out > 0 && n_exact == n_out;
    free(cols), free(qi), free(di), free(qb);
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
    for (int i = 0; i < m->n_in; i++)
        out[i] = (float)q8_at(m, j, i) * q8_scale(m, j, i / AC__QK);
}

int ac__q8_act_alloc(ac__q8_act *xq, int n_rows, int n_in)
{
    memset(xq, 0, sizeof *xq);
    xq->ld = (n_in + AC__QK - 1) / AC__QK * AC__QK;
    const size_t nb = (size_t)n_rows * (xq->ld / AC__QK);
    xq->q = alloc64((size_t)n_rows * xq->ld);
    xq->d = malloc(nb * sizeof(float));
    xq->s = malloc(nb * sizeof(int32_t));
    if (!xq->q || !xq->d || !xq->s) {
        ac__q8_act_free(xq);
        return -1;
    }
    return 0;
}

void ac__q8_act_free(ac__q8_act *xq)
{
    if (!xq)
        return;
    free(xq->q);
    free(xq->d);
    free(xq->s);
    memset(xq, 0, sizeof *xq);
}
