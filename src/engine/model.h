/* model.h: the engine's internal types: the runtime model, the KV block store a family of sessions
 * shares, and a session. Internal to src/engine; the public API is include/autocorrect/engine.h.
 *
 * The paged KV cache. A family's store holds n_blocks blocks of AC__KV_BLOCK positions; a block
 * holds the keys and values of every layer and head for those positions,
 *     block [n_layer][2 (key, value)][n_head][AC__KV_BLOCK * head_dim]  floats,
 * one head's keys for the block transposed, [head_dim][AC__KV_BLOCK], and its values as rows,
 * [AC__KV_BLOCK][head_dim] (see ac__kv_view in kernels.h). A session maps its position p to block
 * blocks[p / AC__KV_BLOCK], slot p % AC__KV_BLOCK. Blocks are reference counted: a fork copies the
 * block table and bumps the counts; writing into a block whose count is above 1 first copies it
 * (copy-on-write); a block whose count drops to 0 returns to the free list. The store has room for
 * n_seq_max full sessions, so it never runs out; memory pages are only touched as blocks fill.
 */
#ifndef AC_ENGINE_MODEL_H
#define AC_ENGINE_MODEL_H

#include "autocorrect/engine.h"
#include "engine/kernels.h"
#include "engine/weights.h"

typedef struct ac__layer_f32 {
    ac__f32_matrix attn, attn_proj, fc, mlp_proj; /* the layer's four matrices, packed in panels */
} ac__layer_f32;

typedef struct ac__layer_q8 {
    ac__q8_matrix attn, attn_proj, fc, mlp_proj; /* int8 copies of the layer's four matrices */
} ac__layer_q8;

struct ac_model {
    ac__gpt2_weights w;      /* float32 weights as loaded: embeddings, norms, biases. The matrices are
                              * released once packed (f32) or quantized (int8), and NULL: the layers',
                              * lm_head, and a tied wte (embeddings then come from the head) */
    ac_dims dims;
    int quantize;            /* enum ac_quant */
    const ac__kernels *k;    /* the kernels the forward pass uses */
    ac__layer_f32 *f32;      /* [n_layer] in float32 mode, else NULL */
    ac__layer_q8 *q8;        /* [n_layer] in int8 mode, else NULL */
    ac__q8_matrix head_q8;   /* int8 mode: the LM head [n_vocab][n_embd] (wte when tied) */
    ac__f32_matrix head_f32; /* float32 mode: the LM head [n_vocab][n_embd] packed (wte when tied) */
    size_t weight_bytes;     /* bytes the forward pass reads */
    char source[192];        /* what was loaded */
};

/* One row of a forward pass: a token at a position of a session. */
typedef struct ac__row {
    ac_session *s;
    int pos;
    int32_t tok;
} ac__row;

typedef struct ac__kv_store {
    const ac_model *model;
    int n_ctx;               /* longest session */
    int n_seq_max;           /* session slots */
    int blocks_per_seq;      /* ceil(n_ctx / AC__KV_BLOCK) */
    int n_blocks;            /* n_seq_max * blocks_per_seq */
    size_t block_stride;     /* floats per block: n_layer * 2 * n_embd * AC__KV_BLOCK */
    float *data;             /* [n_blocks][block_stride] */
    int32_t *ref;            /* [n_blocks] reference counts */
    int32_t *free_list;      /* [n_blocks], the first n_free are free block ids */
    int n_free;
    ac_session *slots;       /* [n_seq_max] */
    int n_live;              /* sessions in use; the store is freed when it drops to 0 */
    int32_t *slot_tokens;    /* [n_seq_max][n_ctx] */
    int32_t *slot_blocks;    /* [n_seq_max][blocks_per_seq] */

    /* Scratch for one forward pass of up to n_rows rows (tokens). */
    int n_rows;              /* max(n_batch, n_seq_max) */
    int n_batch;
    ac__row *rows;           /* [n_rows] */
    float *x;                /* [n_rows][n_embd] residual stream */
    float *xn;               /* [n_rows][n_embd] LayerNorm output */
    float *qkv;              /* [n_rows][3 * n_embd] queries, keys, values */
    float *att;              /* [n_rows][n_embd] attention output, heads concatenated */
    float *mlp;              /* [n_rows][4 * n_embd] MLP hidden layer */
    ac__q8_act xq;           /* int8 models: [n_rows][4 * n_embd] a matrix's input, quantized */
} ac__kv_store;

struct ac_session {
    ac__kv_store *kv;
    int in_use;
    int len;                 /* tokens held */
    int32_t *tokens;         /* [n_ctx] */
    int32_t *blocks;         /* [blocks_per_seq] block ids, -1 past the end */
};

/* The forward pass (forward.c): runs rows[0..n) (n <= the scratch's n_rows, blocks already made
 * writable for each row's position) through the model with `scratch`'s buffers, writing each
 * row's keys and values into its session's cache. Rows r >= logits_from get their next-token
 * logits in logits[(r - logits_from) * n_vocab]. */
void ac__forward_rows(const ac_model *m, ac__kv_store *scratch, const ac__row *rows, int n,
                      ac_threadpool *tp, float *logits, int logits_from);

/* Work (multiply-adds) below which a step of the forward pass runs on the caller's thread even with
 * a pool (waking workers costs more than small steps gain). 2^20 by default; tests set 0 to make
 * every step parallel. Not thread-safe to change while forward passes run. */
extern double ac__forward_par_min_work;

/* The reference forward pass (reference.c): the whole sequence ids[n] from scratch with the naive
 * kernels and no cache, float32 weights as a loader returns them (not a model's: its matrices are
 * packed); logits [n][n_vocab]. Allocates its buffers. Returns AC_OK, AC_E_ARG or AC_E_NOMEM. For
 * tests. */
int ac__forward_reference(const ac__gpt2_weights *w, const int32_t *ids, int n, float *logits, char *err);

/* Builds a model from loaded weights (model.c), taking ownership of *w (zeroed on return, success or
 * not). For tests that make weights in memory. */
int ac__model_from_weights(ac__gpt2_weights *w, const ac_model_params *p, ac_model **out, char *err);

/* The token embedding row tok ([n_embd]) into out (from wte, or from the packed or int8 head when
 * the head is tied). */
void ac__model_embedding(const ac_model *m, int32_t tok, float *out);

#endif
