/* autocorrect/engine.h: the inference engine's public API: a GPT-2 model, a thread pool, and
 * sessions that hold one token sequence's KV cache.
 *
 * This header is: loading a model (ONNX file or Hugging Face directory), running the transformer
 * forward pass over new tokens with a KV cache, forking and rewinding sequences for beam search,
 * and two helpers on logits. It is not: a tokenizer (tokenizer.h), a decoder or sampler (the beam
 * search lives in decoder.h and is built on this API), nor a training runtime.
 *
 * Usage (error handling shortened):
 *
 *     char err[AC_ERR_SIZE];
 *     ac_model *model;
 *     ac_model_params mp = ac_model_default_params();
 *     mp.quantize = AC_QUANT_INT8;
 *     if (ac_model_load("models/default", &mp, &model, err)) { fprintf(stderr, "%s\n", err); ... }
 *     ac_threadpool *tp = ac_threadpool_new(2);
 *
 *     ac_session *s;
 *     ac_session_params sp = ac_session_default_params();
 *     ac_session_new(model, &sp, &s, err);
 *     float *logits = malloc(sizeof(float) * ac_model_dims(model).n_vocab);  // [n_vocab]
 *     int32_t prompt[] = {464, 2068, 7586};
 *     ac_session_prefill(s, prompt, 3, tp, logits, 0, err);   // logits of the next token
 *     ac_session *beam;
 *     ac_session_fork(s, &beam, err);                          // shares the cached prefix
 *     ac_session_decode(beam, 21831, tp, logits, err);         // one more token, with the cache
 *     ac_logprobs_from_logits(logits, ac_model_dims(model).n_vocab);
 *     ac_session_free(beam); ac_session_free(s);
 *     ac_threadpool_free(tp); ac_model_free(model);
 *
 * Threads. An ac_model's weights are immutable once loaded: any number of threads may use it at
 * once. A session and the sessions forked from it (its "family") share KV blocks, so one family may
 * be used from one thread at a time; different families may run on different threads. An
 * ac_threadpool runs one parallel job at a time; concurrent callers take turns.
 *
 * Memory. The KV cache is paged in blocks of 16 positions that come from a pool the model keeps
 * for all its sessions: a session holds the blocks its tokens fill (ceil(len / 16) of them, fewer
 * when shared with forks), and a block freed by one session (a finished beam, a rewind) serves the
 * next one, of any family. Each forward pass borrows a scratch buffer from the model for its
 * duration (so there are as many as passes ever ran at once, e.g. one per thread). The pool
 * allocates only when it has nothing free that fits, and keeps what it allocated until the model
 * is freed: in the steady state prefill, decode, fork and rewind allocate nothing. ac_model_memory
 * reports the pool's bytes.
 *
 * Numbers. Float32 activations (in int8 mode, each matrix's input is rounded to int8 per block of
 * 32 on the fly); the math is Hugging Face GPT2LMHeadModel's (LayerNorm, tanh or erf GELU, causal
 * attention scaled by 1/sqrt(head_dim), LM head tied to the token embeddings). Results do not
 * depend on the number of threads nor on how tokens are batched (for a given kernel table).
 */
#ifndef AUTOCORRECT_ENGINE_H
#define AUTOCORRECT_ENGINE_H

#include "autocorrect/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ac_model ac_model;
typedef struct ac_session ac_session;
typedef struct ac_threadpool ac_threadpool;

/* ------------------------------------------------------------------------------------- model */

/* How the matrices are stored for the forward pass. Append-only. */
enum ac_quant {
    AC_QUANT_F32 = 0,  /* float32, as loaded */
    AC_QUANT_INT8 = 1, /* int8 with one float scale per block of 32 inputs, made at load time (an int8
                        * file's per-channel values kept exactly); activations int8 per block too */
};

/* The GELU variant of the MLP. Append-only. */
enum ac_gelu {
    AC_GELU_TANH = 0,  /* HF "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    AC_GELU_ERF = 1,   /* HF "gelu": 0.5 x (1 + erf(x / sqrt(2))) */
};

typedef struct ac_model_params {
    int quantize;      /* enum ac_quant; default AC_QUANT_F32 */
    int verbose;       /* nonzero: print what was loaded and how long it took to stderr, and in
                        * int8 mode each matrix's quantization error (relative RMS) */
} ac_model_params;

/* The hyperparameters, with the same names as python/model.py. */
typedef struct ac_dims {
    int n_vocab;       /* vocabulary size */
    int n_ctx;         /* most positions the model has embeddings for */
    int n_embd;        /* width of the residual stream */
    int n_head;        /* attention heads; head_dim = n_embd / n_head */
    int n_layer;       /* transformer blocks */
    int gelu;          /* enum ac_gelu */
    float ln_eps;      /* LayerNorm epsilon (1e-5 for GPT-2) */
} ac_dims;

/* The defaults: float32, quiet. */
ac_model_params ac_model_default_params(void);

/* Loads a GPT-2 model. `path` is an .onnx file, a directory holding model.onnx, or a Hugging Face
 * directory (config.json + model.safetensors; float32, float16 or bfloat16 tensors, with or without
 * the `transformer.` name prefix); a directory with both prefers model.onnx. `p` may be NULL for the
 * defaults. Returns AC_OK and a new model in *out (free it with ac_model_free), or an error status
 * (AC_E_IO, AC_E_FORMAT, AC_E_UNSUPPORTED, AC_E_NOMEM) with a message in err and *out = NULL. */
int ac_model_load(const char *path, const ac_model_params *p, ac_model **out, char *err);

/* Frees a model. Every session made from it must be freed first. NULL is a no-op. */
void ac_model_free(ac_model *m);

/* The model's hyperparameters. */
ac_dims ac_model_dims(const ac_model *m);

/* The storage the forward pass uses (enum ac_quant). */
int ac_model_quantize(const ac_model *m);

/* What was loaded, in a few words (e.g. "safetensors float32, 148 tensors"); owned by the model. */
const char *ac_model_source(const ac_model *m);

/* Bytes of weights the forward pass reads (all matrices, embeddings, norms). */
size_t ac_model_weight_bytes(const ac_model *m);

/* The name of the kernel table the forward pass uses ("avx512", "avx2", "portable", ...). */
const char *ac_model_kernels(const ac_model *m);

/* What a model and its sessions hold, in bytes, beyond the program. */
typedef struct ac_memory_stats {
    size_t weights;    /* the weights the forward pass reads (ac_model_weight_bytes) */
    size_t kv_block;   /* one KV block: 16 positions of every layer's keys and values (float32) */
    size_t kv_used;    /* KV blocks live sessions hold */
    size_t kv_free;    /* KV blocks free for reuse (the pool keeps what it made) */
    size_t scratch;    /* forward-pass scratch buffers, n_scratch of them */
    int n_scratch;
    size_t sessions;   /* live families' session slots and token and block tables */
} ac_memory_stats;

/* The model's memory now (a consistent snapshot; safe while other threads run sessions). */
ac_memory_stats ac_model_memory(const ac_model *m);

/* Writes a one-line human-readable summary of the model (dimensions, storage, source) into buf
 * (`size` bytes, NUL-terminated, truncated if short). Returns the length it wanted, as snprintf. */
int ac_model_describe(const ac_model *m, char *buf, size_t size);

/* -------------------------------------------------------------------------------- threadpool */

/* Creates a pool that runs the parallel parts of a forward pass on n_threads threads, the caller's
 * thread included (so n_threads - 1 workers are started; n_threads <= 1 runs everything inline).
 * Idle workers sleep on a condition variable. Returns NULL when threads cannot be started.
 * Every function that takes a pool also accepts NULL, meaning one thread. */
ac_threadpool *ac_threadpool_new(int n_threads);

/* Stops and joins the workers. NULL is a no-op. No job may be running. */
void ac_threadpool_free(ac_threadpool *tp);

/* The number of threads, the caller's included (1 for NULL). */
int ac_threadpool_size(const ac_threadpool *tp);

/* ----------------------------------------------------------------------------------- session */

typedef struct ac_session_params {
    int n_ctx;         /* longest sequence a session may hold; 0 = the model's n_ctx (and at most it) */
    int n_seq_max;     /* most sessions alive at once in one family (a root and its forks), and the
                        * largest decode batch; sizes the family's tables. Default 8 */
    int n_batch;       /* tokens a prefill processes per step (longer inputs run in chunks). Default 64 */
} ac_session_params;

/* The defaults: n_ctx = the model's, n_seq_max = 8, n_batch = 64. */
ac_session_params ac_session_default_params(void);

/* Creates an empty session, the root of a new family, with the family's token and block tables
 * sized from `p` (NULL = defaults; n_seq_max * n_ctx of each); KV blocks come from the model's pool
 * as tokens arrive. The session keeps a pointer to the model, which must outlive it. Returns AC_OK
 * and *out, or AC_E_ARG (bad params) / AC_E_NOMEM with a message. */
int ac_session_new(const ac_model *m, const ac_session_params *p, ac_session **out, char *err);

/* Frees a session: its KV blocks go back to the model's pool, and the family's tables go with the
 * last session of the family. NULL is a no-op. Other sessions of the family stay valid. */
void ac_session_free(ac_session *s);

/* Makes *out a new session of s's family holding the same tokens. Cheap: the KV cache is shared
 * block by block (blocks of 16 positions, reference counted); the first write into a shared,
 * partially filled block copies that block (copy-on-write). Returns AC_OK, or AC_E_LIMIT when the
 * family already has n_seq_max live sessions. */
int ac_session_fork(ac_session *s, ac_session **out, char *err);

/* Appends n >= 1 tokens and runs the forward pass over them. `logits` (may be NULL) receives the
 * logits after the last token ([n_vocab]), or with all_positions != 0 the logits after every new
 * token ([n][n_vocab], row i predicts the token after ids[i]). `tp` may be NULL (one thread).
 * Errors, with the session unchanged: AC_E_ARG (n < 1, a token id outside [0, n_vocab)),
 * AC_E_LIMIT (len + n > n_ctx: the context is full; the caller may rewind or start a new session
 * over a shorter window), AC_E_NOMEM (the pool could not grow). */
int ac_session_prefill(ac_session *s, const int32_t *ids, int n, ac_threadpool *tp, float *logits,
                       int all_positions, char *err);

/* Appends one token; logits ([n_vocab], may be NULL) receives the next-token logits. The same as
 * ac_session_prefill with n = 1. */
int ac_session_decode(ac_session *s, int32_t id, ac_threadpool *tp, float *logits, char *err);

/* Appends ids[i] to sessions[i] for i < n, in one forward pass that reads the weights once for
 * all of them (the point of batching beams), and writes sessions[i]'s next-token logits to
 * logits[i * n_vocab] (logits may be NULL). The sessions must be distinct and of the same model;
 * n is at most max(n_seq_max, n_batch) of sessions[0]'s family, else AC_E_LIMIT. They may belong
 * to different families if no other thread uses those families meanwhile. Results equal n single
 * decodes. Errors (AC_E_ARG, AC_E_LIMIT, AC_E_NOMEM) leave every session unchanged. */
int ac_session_decode_batch(ac_session **sessions, const int32_t *ids, int n, ac_threadpool *tp,
                            float *logits, char *err);

/* Forgets every token after the first n_keep (0 <= n_keep <= len), so the next append continues
 * from there; the cache of the kept prefix stays. Returns AC_OK or AC_E_ARG. */
int ac_session_rewind(ac_session *s, int n_keep, char *err);

/* The number of tokens the session holds. */
int ac_session_len(const ac_session *s);

/* The session's tokens ([ac_session_len(s)]); valid until the session next changes. */
const int32_t *ac_session_tokens(const ac_session *s);

/* The length of the longest common prefix of the session's tokens and ids[0..n): how many tokens a
 * new request can reuse after ac_session_rewind(s, that, ...). */
int ac_session_common_prefix(const ac_session *s, const int32_t *ids, int n);

/* The session's maximum length (its params' n_ctx). */
int ac_session_n_ctx(const ac_session *s);

/* The model a session runs. */
const ac_model *ac_session_model(const ac_session *s);

/* ------------------------------------------------------------------------------------ logits */

/* Turns logits[n] into log-probabilities in place (a numerically stable log-softmax). */
void ac_logprobs_from_logits(float *logits, int n);

/* Writes the indices of the k largest values of x[n] into ids[k] (largest first; ties: lower index
 * first) and returns how many it wrote, min(k, n). `vals` (may be NULL) receives the values [k]. */
int ac_topk(const float *x, int n, int k, int32_t *ids, float *vals);

#ifdef __cplusplus
}
#endif
#endif
