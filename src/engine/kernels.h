/* kernels.h: the engine's compute kernels, behind one table of function pointers.
 *
 * This is: single-threaded kernels over plain arrays (matrix products in float32 and int8,
 * LayerNorm, GELU, attention of one query over a paged KV cache, int8 quantization), each in two
 * versions: a naive twin that reads like the math (the reference, used by tests and by the
 * reference forward pass), and a fast version with cache blocking and loops the compiler can
 * vectorise. A kernel works on a range of output columns, so the caller (forward.c) splits the work
 * over a thread pool. This is not: threading, the model, or memory management.
 *
 * Dispatch: ac__kernels_best() picks the best table for this CPU at run time; the fast tables are
 * the same C source compiled for several instruction sets (baseline x86-64 / any CPU, AVX2+FMA,
 * AVX-512), see kernels.c. A later hand-written SIMD table slots in by adding a table.
 * Every table computes the same math; fast and naive agree within float rounding, and a given
 * table's results for one output never depend on the column range or the number of rows it is
 * called with (so threading and batching do not change the numbers).
 */
#ifndef AC_ENGINE_KERNELS_H
#define AC_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* int8 block: one float scale per AC__QK consecutive inputs. */
#define AC__QK 32
/* KV cache block: positions per block of the paged cache. */
#define AC__KV_BLOCK 16

/* An int8 matrix made from a float32 one: row j holds output j's weights along the input axis,
 * zero-padded to a multiple of AC__QK. Scales d are per (output, block): w[j][i] ~ q[j][i] * d[j][i/QK]. */
typedef struct ac__q8_matrix {
    int8_t *q;         /* [n_out][n_in_pad] */
    float *d;          /* [n_out][n_in_pad / AC__QK] */
    int n_in, n_out, n_in_pad;
} ac__q8_matrix;

/* One sequence's keys and values for one layer and head, in the paged cache:
 * block b of the sequence is at base + blocks[b] * block_stride; in it, the head's keys are at k_off,
 * transposed, [head_dim][AC__KV_BLOCK] (so a query's scores against a block are 16 lanes with no
 * reduction), and its values at v_off, [AC__KV_BLOCK][head_dim]. */
typedef struct ac__kv_view {
    const float *base;
    const int32_t *blocks;
    size_t block_stride, k_off, v_off;
} ac__kv_view;

typedef struct ac__kernels {
    const char *name;

    /* y[r][j] = b[j] + sum_i x[r][i] * w[i][j]  (or y[r][j] += that, when accumulate != 0) for rows
     * r < n_rows and columns j0 <= j < j1. x [n_rows][ldx], w [n_in][n_out] (Conv1D layout),
     * b [n_out] or NULL, y [n_rows][ldy]. */
    void (*matmul)(float *y, int ldy, const float *x, int ldx, const float *w, const float *b,
                   int n_rows, int n_in, int n_out, int j0, int j1, int accumulate);

    /* y[r][j] = sum_i x[r][i] * wt[j][i], columns j0 <= j < j1: the LM head, wt [n_out][n_in]. */
    void (*matmul_t)(float *y, int ldy, const float *x, int ldx, const float *wt,
                     int n_rows, int n_in, int j0, int j1);

    /* As matmul, with an int8 matrix: y[r][j] (+)= b[j] + sum_i q[j][i] d[j][i / QK] x[r][i]
     * (the weights dequantized on the fly; activations stay float32). */
    void (*matmul_q8)(float *y, int ldy, const float *x, int ldx, const ac__q8_matrix *w, const float *b,
                      int n_rows, int j0, int j1, int accumulate);

    /* y[n] = (x - mean(x)) / sqrt(var(x) + eps) * g + b (biased variance). y may equal x. */
    void (*layernorm)(float *y, const float *x, const float *g, const float *b, int n, float eps);

    /* x[n] = gelu(x), in place; kind is enum ac__gelu_kind. */
    void (*gelu)(float *x, int n, int kind);

    /* out[hd] = softmax(q . k_t * scale over t < n_pos) . v_t: one query of one head over the first
     * n_pos positions of the cache (n_pos >= 1). */
    void (*attention)(float *out, const float *q, const ac__kv_view *kv, int n_pos, int head_dim,
                      float scale);
} ac__kernels;

/* The naive reference kernels. */
extern const ac__kernels ac__kernels_naive;

/* The fast tables compiled into this build, best first, NULL-terminated; each one here runs on
 * this CPU. */
const ac__kernels *const *ac__kernels_available(void);

/* The best table for this CPU (the first of ac__kernels_available()). The environment variable
 * AC_KERNELS=name picks another one (naive, portable, avx2, avx512) for tests and benchmarks. */
const ac__kernels *ac__kernels_best(void);

/* Quantizes a float32 Conv1D matrix w [n_in][n_out] into m (transposed, see ac__q8_matrix); m's
 * arrays are malloc'ed (free with ac__q8_matrix_free). Returns 0, or -1 when out of memory. */
int ac__q8_matrix_from_conv1d(ac__q8_matrix *m, const float *w, int n_in, int n_out);

/* The same from a matrix already laid out [n_out][n_in] (the tied LM head: wte). */
int ac__q8_matrix_from_rows(ac__q8_matrix *m, const float *wt, int n_out, int n_in);

void ac__q8_matrix_free(ac__q8_matrix *m);

/* Quantizes x[n] into q[n_pad] (zero-padded) and d[n_pad / AC__QK]: per block, d = max|x| / 127
 * and q = round(x / d), halves away from zero; an all-zero block gets d = 0 and q = 0. */
void ac__quantize_row_q8(int8_t *q, float *d, const float *x, int n, int n_pad);

/* Writes row j of m, dequantized, into out[m->n_in]. */
void ac__q8_matrix_row(const ac__q8_matrix *m, int j, float *out);

/* exp(x) for float, with a polynomial the compiler can vectorise; relative error < 2e-7 on
 * [-87, 88], 0 below. */
float ac__expf(float x);

#endif
