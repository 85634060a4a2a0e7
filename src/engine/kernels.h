/* kernels.h: the engine's compute kernels, behind one table of function pointers, and the packed
 * matrix layouts they read.
 *
 * This is: single-threaded kernels over plain arrays (matrix products in float32 and int8,
 * activation quantization, LayerNorm, GELU, attention of one query over a paged KV cache), each in
 * two versions: a naive twin that reads like the math (the reference, used by tests), and fast
 * versions with register tiles and SIMD. A kernel works on a range of output columns, so the
 * caller (forward.c) splits the work over a thread pool. Also the packing of weights at load
 * (float32 panels, int8 panels with per-block scales) and its error measurement. This is not:
 * threading, the model, or memory management beyond the packed matrices.
 *
 * Matrix layouts. Both packed layouts group the outputs (columns of a Conv1D weight) in panels of
 * AC__NP = 16, so that a tile of rows x panels reads each panel as one sequential stream (decoding:
 * the weights are read once for every row of a batch; prefill: a panel stays in L1/L2 while every
 * row uses it). The layout does not depend on the kernel table, so one loaded model runs on any
 * table.
 *
 * Dispatch: ac__kernels_best() picks the best table for this CPU at run time: "avx512vnni"
 * (AVX-512 with 4-byte int8 dot products), "avx512", "avx2" (AVX2 + FMA), "portable" (any CPU, the
 * compiler's vectors, no FMA). The tables are one C source (kernels_fast.inc) compiled once per
 * instruction set, with intrinsics for FMA and the int8 dot products.
 *
 * Numbers. A table computes each output with a fixed sequence of operations that does not depend on
 * the column range, the number of rows it is called with, or the tile that computes it, so threads
 * and batching never change a result. Float32 products sum x[i] * w[i][j] over i in order (one
 * fused multiply-add per term in the FMA tables, multiply then add in "portable" and "naive", which
 * therefore agree bit for bit). Int8 products sum exact int32 dot products per block of 32 inputs,
 * then add block after block in float, so the integer part is identical in every table.
 */
#ifndef AC_ENGINE_KERNELS_H
#define AC_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* int8 block: one float scale per AC__QK consecutive inputs (weights and activations). */
#define AC__QK 32
/* Panel: outputs packed together (both matrix layouts). */
#define AC__NP 16
/* KV cache block: positions per block of the paged cache. */
#define AC__KV_BLOCK 16

/* A float32 matrix W [n_in][n_out] (Conv1D layout, y = x @ W) packed in panels of AC__NP columns:
 *     p[(j / NP) * n_in * NP + i * NP + j % NP] = W[i][j],   p [n_out_pad / NP][n_in][NP],
 * the columns past n_out (up to n_out_pad, a multiple of NP) zero. */
typedef struct ac__f32_matrix {
    float *p;
    int n_in, n_out, n_out_pad;
} ac__f32_matrix;

/* An int8 matrix made from a float32 one, w[i][j] ~ q[j][i] * d[j][i / QK], in panels of AC__NP
 * outputs, four consecutive inputs of an output side by side (the operand shape of 4-byte int8 dot
 * instructions):
 *     q [n_out_pad / NP][n_in_pad / QK][QK / 4][NP][4]   bytes q + 128 (so 1..255; 128 is zero)
 *     d [n_out_pad / NP][n_in_pad / QK][NP]              scales (0 for an all-zero block)
 * Padded inputs and outputs hold zeros. q is in [-127, 127]. */
typedef struct ac__q8_matrix {
    uint8_t *q;
    float *d;
    int n_in, n_out, n_in_pad, n_out_pad;
    double rel_rms;    /* quantization error: sqrt(sum (w - q d)^2 / sum w^2) over the matrix */
    int exact;         /* 1 when every output's weights were already int8 multiples of one scale
                        * (an int8 ONNX file) and are kept exactly */
} ac__q8_matrix;

/* Rows of activations quantized per block of AC__QK: x[r][i] ~ q[r][i] * d[r][i / QK], with the
 * block sums of q (the int8 kernels need them for the +128 weight offset). */
typedef struct ac__q8_act {
    int8_t *q;         /* [n_rows][ld] */
    float *d;          /* [n_rows][ld / QK] */
    int32_t *s;        /* [n_rows][ld / QK] sum of the block's q */
    int ld;            /* row stride in bytes, a multiple of AC__QK (>= the matrix's n_in_pad) */
} ac__q8_act;

/* A block of the paged KV cache: the keys and values of AC__KV_BLOCK consecutive positions of one
 * sequence, every layer and head (layout in model.h). Blocks come from the model's pool and are
 * reference counted by the sessions that hold them (session.c). */
typedef struct ac__kv_block {
    float *data;                 /* [n_layer][2 (key, value)][n_head][AC__KV_BLOCK * head_dim] */
    int32_t ref;                 /* sessions holding the block; 0 while it is free */
    struct ac__kv_block *next;   /* the pool's next free block, while free */
} ac__kv_block;

/* One sequence's keys and values for one layer and head, in the paged cache: block b of the
 * sequence is blocks[b]; in its data, the head's keys are at k_off, transposed,
 * [head_dim][AC__KV_BLOCK] (so a query's scores against a block are 16 lanes with no reduction),
 * and its values at v_off, [AC__KV_BLOCK][head_dim]. */
typedef struct ac__kv_view {
    ac__kv_block *const *blocks; /* [ceil(n_pos / AC__KV_BLOCK)] */
    size_t k_off, v_off;
} ac__kv_view;

typedef struct ac__kernels {
    const char *name;

    /* y[r][j] = b[j] + sum_i x[r][i] * W[i][j]  (or y[r][j] += that, when accumulate != 0) for rows
     * r < n_rows and columns j0 <= j < j1 <= w->n_out. x [n_rows][ldx] (ldx >= w->n_in),
     * b [n_out] or NULL, y [n_rows][ldy]. */
    void (*matmul)(float *y, int ldy, const float *x, int ldx, const ac__f32_matrix *w, const float *b,
                   int n_rows, int j0, int j1, int accumulate);

    /* The int8 product on quantized activations:
     *     y[r][j] (+)= b[j] + sum over blocks k of float(sum_i qx[r][i] qw[j][i]) * (dw[j][k] * dx[r][k])
     * (i over block k), blocks in order; columns j0 <= j < j1 <= w->n_out. */
    void (*matmul_q8)(float *y, int ldy, const ac__q8_act *x, const ac__q8_matrix *w, const float *b,
                      int n_rows, int j0, int j1, int accumulate);

    /* Quantizes rows x [n_rows][ldx] of n values into xq (rows of xq->ld bytes, zero-padded past n):
     * per block, d = max|x| / 127 and q = x * (1/d) rounded to nearest, ties to even; an all-zero
     * block gets d = 0 and q = 0. Every table gives the same bits. */
    void (*quantize_rows)(ac__q8_act *xq, const float *x, int ldx, int n_rows, int n);

    /* y[n] = (x - mean(x)) / sqrt(var(x) + eps) * g + b (biased variance). y may equal x. */
    void (*layernorm)(float *y, const float *x, const float *g, const float *b, int n, float eps);

    /* x[n] = gelu(x), in place; kind is enum ac__gelu_kind. */
    void (*gelu)(float *x, int n, int kind);

    /* For heads h < n_heads: out[h][hd] = softmax(q[h] . k_t * scale over t < n_pos) . v_t, one
     * query per head over the first n_pos positions of the cache (n_pos >= 1). q and out hold the
     * heads side by side ([n_heads][hd]); head h's keys and values are kv's, h * AC__KV_BLOCK * hd
     * floats further (the cache's layout, see ac__kv_view). Each head's result does not depend on
     * n_heads (heads may be grouped in any way). */
    void (*attention)(float *out, const float *q, const ac__kv_view *kv, int n_heads, int n_pos, int head_dim,
                      float scale);
} ac__kernels;

/* The naive reference kernels. */
extern const ac__kernels ac__kernels_naive;

/* The fast tables compiled into this build that run on this CPU, best first, NULL-terminated. */
const ac__kernels *const *ac__kernels_available(void);

/* The best table for this CPU (the first of ac__kernels_available()). The environment variable
 * AC_KERNELS=name picks another one (naive, portable, avx2, avx512, avx512vnni) for tests and
 * benchmarks; an unknown or unsupported name is ignored. */
const ac__kernels *ac__kernels_best(void);

/* Packs a float32 matrix into m: element W[i][j] (input i, output j) is w[i * si + j * sj] (Conv1D
 * [n_in][n_out]: si = n_out, sj = 1; rows [n_out][n_in], the LM head: si = 1, sj = n_in).
 * m->p is malloc'ed, 64-byte aligned (free with ac__f32_matrix_free). Returns 0, or -1 when out of
 * memory. */
int ac__f32_matrix_pack(ac__f32_matrix *m, const float *w, size_t si, size_t sj, int n_in, int n_out);

void ac__f32_matrix_free(ac__f32_matrix *m);

/* Writes output j's weights (W[i][j] for every i) into out[m->n_in]. */
void ac__f32_matrix_row(const ac__f32_matrix *m, int j, float *out);

/* Quantizes a float32 matrix into m: element W[i][j] (input i, output j) is w[i * si + j * sj]
 * (Conv1D [n_in][n_out]: si = n_out, sj = 1; rows [n_out][n_in], the LM head: si = 1, sj = n_in).
 * Per output, if its weights are exactly q * s for integers |q| <= 127 and one scale s (what a
 * per-channel int8 file dequantizes to), they are kept exactly (d = s in every block); otherwise
 * per block of AC__QK inputs d = max|w| / 127 and q = round(w / d). Sets m->rel_rms and m->exact.
 * Arrays are malloc'ed (free with ac__q8_matrix_free). Returns 0, or -1 when out of memory. */
int ac__q8_matrix_quantize(ac__q8_matrix *m, const float *w, size_t si, size_t sj, int n_in, int n_out);

void ac__q8_matrix_free(ac__q8_matrix *m);

/* Writes output j's weights (row j of the transposed matrix), dequantized, into out[m->n_in]:
 * out[i] = q * d, a float32 multiply. */
void ac__q8_matrix_row(const ac__q8_matrix *m, int j, float *out);

/* Allocates quantized-activation rows for n_rows rows of up to n_in values (ld = n_in rounded up
 * to AC__QK). Returns 0, or -1 when out of memory (then xq is zeroed). */
int ac__q8_act_alloc(ac__q8_act *xq, int n_rows, int n_in);

void ac__q8_act_free(ac__q8_act *xq);

/* exp(x) for float, with a polynomial the compiler can vectorise; relative error < 2e-7 on
 * [-87, 88], 0 below. */
float ac__expf(float x);

#endif
