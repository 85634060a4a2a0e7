/* weights.h: the GPT-2 weights in memory, the one contract between the file loaders (ONNX,
 * safetensors) and the forward pass. Internal to the engine; not part of the public API.
 *
 * Every loader produces the same thing whatever the file held (float32, float16, int8 with
 * scales, transposed or not, fused or decomposed LayerNorm): float32 matrices in Hugging Face's
 * Conv1D layout, y = x @ W + b with W [n_in][n_out] row-major. The forward pass may then make its
 * own quantized copies. Loaders fill every pointer; `lm_head` is NULL when the head is tied to wte.
 */
#ifndef AC_ENGINE_WEIGHTS_H
#define AC_ENGINE_WEIGHTS_H

#include "autocorrect/common.h"

enum ac__gelu_kind { AC__GELU_TANH = 0, AC__GELU_ERF = 1 };

typedef struct ac__gpt2_dims {
    int n_vocab, n_ctx, n_embd, n_head, n_layer;
    int gelu;        /* enum ac__gelu_kind */
    float ln_eps;    /* LayerNorm epsilon, 1e-5 for GPT-2 */
} ac__gpt2_dims;

typedef struct ac__gpt2_layer {
    float *ln_1_w, *ln_1_b;         /* [n_embd] */
    float *attn_w, *attn_b;         /* c_attn: [n_embd][3*n_embd], [3*n_embd]; q, k, v column blocks */
    float *attn_proj_w, *attn_proj_b; /* attn.c_proj: [n_embd][n_embd], [n_embd] */
    float *ln_2_w, *ln_2_b;         /* [n_embd] */
    float *fc_w, *fc_b;             /* mlp.c_fc: [n_embd][4*n_embd], [4*n_embd] */
    float *mlp_proj_w, *mlp_proj_b; /* mlp.c_proj: [4*n_embd][n_embd], [n_embd] */
} ac__gpt2_layer;

typedef struct ac__gpt2_weights {
    ac__gpt2_dims dims;
    float *wte;                 /* [n_vocab][n_embd] token embeddings (and the tied LM head) */
    float *wpe;                 /* [n_ctx][n_embd] position embeddings */
    ac__gpt2_layer *layers;     /* [n_layer] */
    float *ln_f_w, *ln_f_b;     /* [n_embd] */
    float *lm_head;             /* [n_vocab][n_embd], or NULL when tied to wte */
    char source[128];           /* what was loaded, for `info`: e.g. "onnx opset 17, float16" */
    /* Ownership: every pointer above points into blocks the loader allocated; ac__gpt2_weights_free
     * releases them through `blocks`. */
    void **blocks;
    int n_blocks, cap_blocks;
} ac__gpt2_weights;

/* Allocates a zeroed float array of n elements owned by w (freed by ac__gpt2_weights_free).
 * Returns NULL when out of memory. */
float *ac__gpt2_weights_alloc(ac__gpt2_weights *w, size_t n);

/* Frees the block p if it is one that ac__gpt2_weights_alloc returned for w (and clears nothing
 * else: the caller drops its pointers to it); does nothing otherwise. Lets the runtime model free
 * float32 matrices it has replaced with int8 copies. */
void ac__gpt2_weights_release(ac__gpt2_weights *w, const float *p);

/* Frees everything w owns and zeroes it. Safe on a zeroed struct. */
void ac__gpt2_weights_free(ac__gpt2_weights *w);

/* Checks the dimensions alone (what ac__gpt2_weights_validate checks first), so that a loader can
 * refuse a bad config before sizing anything from it. AC_OK or AC_E_FORMAT with a message. */
int ac__gpt2_dims_validate(const ac__gpt2_dims *d, char *err);

/* Checks that the dimensions are sane (positive, n_embd divisible by n_head, below hard caps) and
 * every required pointer is set. Returns AC_OK or AC_E_FORMAT with a message naming the problem. */
int ac__gpt2_weights_validate(const ac__gpt2_weights *w, char *err);

/* Loaders. Each returns AC_OK with *w filled, or an error status and message (w left zeroed). */
int ac__onnx_load_weights(const char *path, ac__gpt2_weights *w, char *err);           /* onnx_load.c */
int ac__safetensors_load_weights(const char *dir_or_file, ac__gpt2_weights *w, char *err); /* safetensors.c */
/* The safetensors loader from memory (the entry point its fuzzer and tests can call): config.json's
 * text [config_len] and model.safetensors' bytes [len]; cfg_name and st_name (may be NULL) name them
 * in messages. Same contract as ac__safetensors_load_weights. */
int ac__safetensors_load_memory(const char *config_json, size_t config_len, const void *data, size_t len,
                                const char *cfg_name, const char *st_name, ac__gpt2_weights *w, char *err);

#endif
