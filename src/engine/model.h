/* model.h: the engine's internal types: the runtime model, the pool of KV blocks and forward-pass
 * scratch its sessions share, a family of sessions, and a session. Internal to src/engine; the
 * public API is include/autocorrect/engine.h.
 *
 * The paged KV cache. A block (ac__kv_block, kernels.h) holds AC__KV_BLOCK positions: the keys and
 * values of every layer and head for those positions,
 *     data [n_layer][2 (key, value)][n_head][AC__KV_BLOCK * head_dim]  floats,
 * one head's keys for the block transposed, [head_dim][AC__KV_BLOCK], and its values as rows,
 * [AC__KV_BLOCK][head_dim] (see ac__kv_view in kernels.h). A session maps its position p to
 * blocks[p / AC__KV_BLOCK], slot p % AC__KV_BLOCK. Blocks are reference counted: a fork copies the
 * block table and bumps the counts; writing into a block whose count is above 1 first copies it
 * (copy-on-write); a block whose count drops to 0 goes back to the pool.
 *
 * Why one pool per model, not a store per family: a beam search's forks copy the root's last block
 * and fill new ones for a few tokens, then free them. With a store per family, every cached context
 * kept those transient blocks (and its own forward scratch) resident for good; with one pool they
 * serve whichever search runs next, so what stays resident per cached context is the blocks its own
 * tokens fill, and the transient part scales with the searches running at once (threads), not with
 * the contexts kept. The pool allocates a block when none is free and keeps it (no allocation in
 * the steady state); a block is touched only once used.
 *
 * Threads. A block belongs to one family at a time (forks share blocks only within a family, and a
 * family is used by one thread at a time), so its count needs no lock; the pool's free list and
 * scratch list are under the pool's mutex. A forward pass takes a scratch from the pool for its
 * duration, so a scratch belongs to exactly one thread at a time; the pool makes a new one when all
 * are taken (as many as forward passes ever ran at once).
 */
#ifndef AC_ENGINE_MODEL_H
#define AC_ENGINE_MODEL_H

#include "autocorrect/engine.h"
#include "engine/kernels.h"
#include "engine/weights.h"

#include <pthread.h>

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
    struct ac__kv_pool *pool; /* KV blocks and scratch for its sessions (mutable: see model.h's header) */
};

/* One row of a forward pass: a token at a position of a session. */
typedef struct ac__row {
    ac_session *s;
    int pos;
    int32_t tok;
} ac__row;

/* Scratch for one forward pass of up to cap_rows rows (tokens). */
typedef struct ac__scratch {
    int cap_rows;
    ac__row *rows;           /* [cap_rows] */
    float *x;                /* [cap_rows][n_embd] residual stream */
    float *xn;               /* [cap_rows][n_embd] LayerNorm output */
    float *qkv;              /* [cap_rows][3 * n_embd] queries, keys, values */
    float *att;              /* [cap_rows][n_embd] attention output, heads concatenated */
    float *mlp;              /* [cap_rows][4 * n_embd] MLP hidden layer */
    ac__q8_act xq;           /* int8 models: [cap_rows][4 * n_embd] a matrix's input, quantized */
    struct ac__scratch *next; /* the pool's list */
} ac__scratch;

/* A model's KV blocks and forward scratch, shared by all its sessions (see the top of this file). */
typedef struct ac__kv_pool {
    pthread_mutex_t mu;      /* guards every field below but the constants */
    size_t block_floats;     /* constant: floats per block, n_layer * 2 * n_embd * AC__KV_BLOCK */
    int n_embd, q8;          /* constants: the scratch's width; 1 when the model is int8 */
    ac__kv_block *free;      /* free blocks, most recently freed first */
    ac__kv_block **all;      /* [cap_all] every block made, in use or free (to free them) */
    size_t n_blocks, cap_all, n_free;
    ac__scratch *idle;       /* scratch not in use */
    int n_scratch;           /* scratch made (idle or in use) */
    size_t scratch_bytes;    /* their bytes */
    size_t family_bytes;     /* live families' bookkeeping: session slots, token and block tables */
} ac__kv_pool;

/* A family: a root session and its forks, with their token and block tables. */
typedef struct ac__kv_store {
    const ac_model *model;
    int n_ctx;               /* longest session */
    int n_seq_max;           /* session slots */
    int blocks_per_seq;      /* ceil(n_ctx / AC__KV_BLOCK) */
    int n_batch;             /* rows per prefill step */
    int n_rows;              /* max(n_batch, n_seq_max): the largest forward pass of the family */
    size_t bytes;            /* what this struct and its tables take (for the pool's accounting) */
    ac_session *slots;       /* [n_seq_max] */
    int n_live;              /* sessions in use; the family is freed when it drops to 0 */
    int32_t *slot_tokens;    /* [n_seq_max][n_ctx] */
    ac__kv_block **slot_blocks; /* [n_seq_max][blocks_per_seq] */
} ac__kv_store;

struct ac_session {
    ac__kv_store *kv;
    int in_use;
    int len;                 /* tokens held */
    int32_t *tokens;         /* [n_ctx] */
    ac__kv_block **blocks;   /* [blocks_per_seq] the blocks, NULL past the end */
};

/* The pool (session.c): made with the model, freed with it (every session must be gone).
 * ac__kv_pool_new returns NULL when out of memory. */
ac__kv_pool *ac__kv_pool_new(const ac_dims *d, int q8);
void ac__kv_pool_free(ac__kv_pool *p);

/* The forward pass (forward.c): runs rows[0..n) (n <= the scratch's cap_rows, blocks already made
 * writable for each row's position) through the model with `scratch`'s buffers, writing each
 * row's keys and values into its session's cache. Rows r >= logits_from get their next-token
 * logits in logits[(r - logits_from) * n_vocab]. */
void ac__forward_rows(const ac_model *m, ac__scratch *scratch, const ac__row *rows, int n,
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
