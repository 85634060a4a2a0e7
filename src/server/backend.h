/* backend.h: what the server asks of whatever answers requests. Internal to the daemon.
 *
 * The server (server.c) parses a request into an ac_request, picks a worker thread and calls one
 * of the functions below; the function fills an ac_reply and returns. backend_model.c implements
 * them on the real engine, tokenizer, decoder and corrector; tests/server/fake_backend.h is a test
 * double that lets the server be tested without a model. This header is not the wire protocol
 * (protocol.h and docs/protocol.md are) and knows nothing of sockets.
 *
 * Threading contract, which the server guarantees and a backend may rely on:
 *   - load and free run on any thread, never while another call uses the same state;
 *   - the other calls may run concurrently on different worker threads with the same state, but
 *     never two calls for the same non-empty session at once (the server serialises a session);
 *   - info must be cheap and safe to call at any time from any thread (it answers health checks
 *     while workers are busy).
 * Cancellation: `cancel` points at a flag the server sets (from another thread) when the request is
 * superseded, cancelled or its client disconnected. Check it between decode steps; when it is
 * non-zero stop and return AC_E_CANCELLED (the reply is then discarded). The deadline is
 * req->deadline on ac_now()'s clock: when it passes, return what you have with reply->partial set.
 */
#ifndef AC_SERVER_BACKEND_H
#define AC_SERVER_BACKEND_H

#include "autocorrect/common.h"
#include "autocorrect/server.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Request kinds. Append-only. */
enum ac_op {
    AC_OP_COMPLETE = 0, /* continue `before` (optionally also correct it) */
    AC_OP_CORRECT,      /* find likely typos in `before` (optionally also complete it) */
    AC_OP_TOPK,         /* the k most likely next tokens after `before` */
    AC_OP_TOKENIZE,     /* text -> token ids */
    AC_OP_DETOKENIZE,   /* token ids -> text */
    AC_OP_LEARN,        /* add words to the user dictionary */
    AC_OP_INFO,         /* what is loaded, counters (answered by the server, helped by backend info) */
    AC_OP_HEALTH,       /* liveness only (answered by the server) */
    AC_OP_CANCEL,       /* cancel earlier requests (answered by the server) */
    AC_OP_COUNT
};

/* Why a request's cancel flag was set (the flag's value). */
enum ac_cancel_reason { AC_CANCEL_NONE = 0, AC_CANCEL_SUPERSEDED, AC_CANCEL_REQUESTED, AC_CANCEL_CLIENT_GONE };

#define AC_SESSION_MAX 128 /* bytes of a session name, NUL included */
#define AC_STOP_MAX 4      /* stop strings per request */

/* One parsed request. Strings are NUL-terminated copies owned by the request (ac__request_free);
 * `*_len` counts bytes without the NUL (a string may not contain NUL: JSON input cannot). */
typedef struct ac_request {
    int op;                        /* enum ac_op */
    json_t *id;                    /* the client's id, echoed in the reply (a reference); NULL if none */
    char session[AC_SESSION_MAX];  /* "" = no session: no cache, never superseded */
    char *before;                  /* complete, correct, topk: the text before the cursor */
    size_t before_len;
    char *after;                   /* the text after the cursor ("" when none) */
    size_t after_len;
    char *text;                    /* tokenize: the text */
    size_t text_len;
    int32_t *tokens;               /* detokenize: [n_tokens] ids */
    size_t n_tokens;
    char **words;                  /* learn: [n_words] words */
    size_t n_words;
    bool want_completions;         /* complete: true; correct: when asked with "complete": true */
    bool want_corrections;         /* correct: true; complete: when asked with "correct": true */
    int max_tokens;                /* tokens per completion, 1..limit */
    int beams;                     /* beam width, 1..limit */
    int n;                         /* completions wanted, 1..beams */
    int k;                         /* topk: how many tokens */
    bool use_cache;                /* reuse the session's context (false for measurements) */
    bool want_token_logprobs;      /* fill ac_reply_completion.tokens (OpenAI logprobs, "logprobs": true) */
    char *stop[AC_STOP_MAX];       /* completions end before any of these strings */
    int n_stop;
    int stop_rule;                 /* where completions end: 0 word, 1 phrase, 2 line (decoder.h's
                                    * enum ac_stop); -1 = the backend's default */
    double min_score;              /* drop completions scoring below this; NAN = the backend's default */
    int scope;                     /* correct: 0 every word, 1 only the last `last_words` complete words
                                    * (corrector.h's enum ac_correct_scope) */
    int last_words;
    bool mid_text;                 /* `before` is the tail of a longer text (no document start before it) */
    int deadline_ms;               /* the request's time budget */
    double deadline;               /* set by the server when work starts: ac_now() + deadline_ms */
    json_t *target;                /* cancel: the id to cancel (a reference), or NULL */
} ac_request;

/* One generated token of a completion (only with want_token_logprobs). */
typedef struct ac_reply_token {
    char *text;       /* the token's bytes (may be part of a UTF-8 character) */
    size_t len;
    double logprob;   /* natural log of its probability */
} ac_reply_token;

typedef struct ac_reply_completion {
    char *text;       /* what follows the cursor */
    size_t len;
    double score;     /* sum of the tokens' log-probabilities (higher is better) */
    int n_tokens;     /* tokens generated */
    ac_reply_token *tokens; /* [n_logprobs] with want_token_logprobs, else NULL */
    size_t n_logprobs, cap_logprobs;
} ac_reply_completion;

#define AC_REPLY_CANDIDATES 8 /* candidates kept per correction */

typedef struct ac_reply_correction {
    size_t start, end;    /* byte offsets of the word in `before` (end exclusive) */
    char *original;       /* before[start..end] */
    char *replacement;    /* the suggested word (= candidates[0] when there are candidates) */
    double score;         /* log posterior of the replacement (<= 0; closer to 0 is surer) */
    char *candidates[AC_REPLY_CANDIDATES]; /* [n_candidates] alternatives, best first (may be 0) */
    double candidate_scores[AC_REPLY_CANDIDATES];
    int n_candidates;
} ac_reply_correction;

typedef struct ac_reply_top {
    int32_t id;
    char *text;           /* the token's bytes */
    size_t len;
    double logprob;
} ac_reply_top;

/* What a backend call fills. Zero-initialise; every pointer is malloc'ed and owned by the reply
 * (ac__reply_free). Use the ac__reply_add_* helpers below rather than filling arrays by hand. */
typedef struct ac_reply {
    ac_reply_completion *completions;   /* [n_completions], best first */
    size_t n_completions, cap_completions;
    ac_reply_correction *corrections;   /* [n_corrections], in text order */
    size_t n_corrections, cap_corrections;
    ac_reply_top *top;          /* topk: [n_top], most likely first */
    size_t n_top, cap_top;
    int32_t *tokens;              /* tokenize: [n_tokens] */
    size_t n_tokens;
    char *text;                   /* detokenize: the text (may be invalid UTF-8: the server repairs it) */
    size_t text_len;
    int learned;                  /* learn: words added */
    bool partial;                 /* the deadline cut the work short */
    int cached_tokens;            /* context tokens reused from the session cache */
    int new_tokens;               /* context tokens computed for this request */
} ac_reply;

/* The functions a backend provides. `state` is what load returned. Each request function returns
 * AC_OK (reply filled), AC_E_CANCELLED, or an error status with a message in err (AC_E_ARG and
 * AC_E_LIMIT become "bad_request" and "limit" replies, anything else "internal"). */
typedef struct ac_backend_ops {
    const char *name; /* "model", "fake" */
    /* Loads what cfg names (model_path, dictionaries, threads...). Slow (the model); may run on a
     * background thread while the old state keeps serving. */
    int (*load)(const ac_config *cfg, void **state, char *err);
    void (*free)(void *state);
    /* One line for the log: what was loaded ("tiny (2 layers, d64, vocab 512, int8); 10k words"). */
    void (*describe)(void *state, char *out, size_t n);
    int (*complete)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    int (*correct)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    int (*topk)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    int (*tokenize)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    int (*detokenize)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    int (*learn)(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *reply, char *err);
    /* Adds facts about the loaded model to `obj` (a JSON object): name, sizes, quantization... */
    void (*info)(void *state, json_t *obj);
} ac_backend_ops;

/* The real backend (backend_model.c). */
extern const ac_backend_ops ac__backend_model_ops;

/* Reply builders: copy their arguments; return AC_OK or AC_E_NOMEM. */
int ac__reply_add_completion(ac_reply *r, const char *text, size_t len, double score, int n_tokens);
/* Adds one token to the last completion's `tokens` (for logprobs). */
int ac__reply_add_completion_token(ac_reply *r, const char *text, size_t len, double logprob);
int ac__reply_add_correction(ac_reply *r, size_t start, size_t end, const char *original, size_t original_len,
                             const char *replacement, size_t replacement_len, double score);
/* Adds a candidate to the last correction (at most AC_REPLY_CANDIDATES; more are ignored). */
int ac__reply_add_candidate(ac_reply *r, const char *text, size_t len, double score);
int ac__reply_add_top(ac_reply *r, int32_t id, const char *text, size_t len, double logprob);
int ac__reply_set_tokens(ac_reply *r, const int32_t *ids, size_t n);
int ac__reply_set_text(ac_reply *r, const char *text, size_t len);
void ac__reply_free(ac_reply *r);

/* Releases what a request owns and zeroes it. */
void ac__request_free(ac_request *req);

#endif
