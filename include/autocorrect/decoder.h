/* autocorrect/decoder.h: completions of the text before the cursor, by beam search over the engine.
 *
 * This header is: the completer (a model + its tokenizer, shared by every client), the per-client
 * context cache (recent contexts kept as engine sessions, so that a keystroke pays only for its new
 * tokens), and one call, ac_complete, that returns up to beam_width ranked completions. It is not:
 * the spelling corrector (corrector.h; it hands its confident fix to ac_complete through
 * ac_complete_params.fix_*), the daemon's request queue, nor a sampler.
 *
 * Usage (error handling shortened):
 *
 *     ac_completer *c;
 *     ac_completer_new(model, bpe, tp, &c, err);          // model, bpe, tp outlive c
 *     ac_complete_cache *cache;
 *     ac_complete_cache_new(c, NULL, &cache, err);        // one per client session
 *     ac_complete_params p = ac_complete_default_params();
 *     p.stop = AC_STOP_WORD;
 *     ac_complete_result r;
 *     if (ac_complete(c, cache, "The quick bro", 13, &p, &r, err) == AC_OK)
 *         for (int i = 0; i < r.n; i++) printf("%s %.2f\n", r.items[i].text, r.items[i].score);
 *     ac_complete_result_free(&r);
 *     ac_complete_cache_free(cache); ac_completer_free(c);
 *
 * What a completion is. The text that would follow the cursor: for "The quick bro" it is "wn"
 * (mid-word, a completion extends the typed letters, or with the word stop rule may be a space and
 * the next word when the model takes them for a whole word), for "The quick " it is "brown". Its score
 * is a length-normalised log-probability, sum(log p) / n_tokens^length_penalty, where the log
 * p of the first tokens (those that must reproduce the typed characters, see "token healing"
 * below) is renormalised over the tokens consistent with those characters, so the score estimates
 * log P(completion | typed text). A completion that ends by its stop rule counts its end as one more
 * token, whose probability is that of every token that would end it there (all the tokens that
 * start a new word, say), not only the likeliest. Completions come in the request's order (see
 * "Order" below: by default the most typing saved first), distinct as text, and none
 * scores below min_score (the abstain threshold: a request may return no completion at all). A
 * completion is valid UTF-8 together with the typed text, and holds no control character but tab
 * and newline.
 *
 * Stop rules (one per request): AC_STOP_WORD ends a completion where a word ends: the word being
 * typed, or, after a typed space, the next word; when the text ends in a word, a completion may also
 * be a space and the whole next word (" States" after "the United"), but no other character leads
 * it on from there (no ", the"). AC_STOP_PHRASE ends it after a clause or sentence mark . , ; : ! ?
 * (kept) or before a newline; AC_STOP_LINE before a newline. End of text ends all three; so does
 * max_tokens, which returns what was decoded so far. A word character is a Unicode letter, mark,
 * number, '_' or an apostrophe (' or U+2019); a byte sequence split across tokens counts as a letter.
 *
 * Order. By default (AC_ORDER_SAVING) completions come in the order that saves a typist the most
 * keystrokes, for a client that shows the first
 * completion as ghost text or the first K in a menu and whose user accepts the longest shown one
 * that fits what they meant: the finished hypotheses the search pooled (up to 2 * beam_width, those
 * at or above min_score) stand for what the user may type next, each with its probability exp(sum
 * of log p); the first place goes to the completion whose acceptance saves the most code points in
 * expectation, each next place to the one that adds the most to that expectation given those above
 * it (a completion that only extends one above it, " States'" under " States", adds little; ties
 * keep the better score). Each place depends only on the places above it, so the first K of the
 * list are this rule's best K for any K. AC_ORDER_SCORE returns the best beam_width by score, best
 * first. A completion's score is the same in both orders; so are the stop rules and min_score.
 * Searching more beams than are shown (beam_width 8, a menu of 5) gives the saving order more to
 * choose from: on held-out prose (bench/eval_keystrokes) it saved 45.8% of keystrokes with the word
 * stop and 5 shown against 43.2% by score, and 15.0% against 9.4% with the phrase stop.
 *
 * Token healing. The context is encoded, then its last tokens are taken off and their bytes become
 * a required prefix: the first decoded tokens must be consistent with them (a token that is a prefix
 * of what remains, or one that starts with all of it). What is taken off: the last token, or the
 * last two when the last word spans two or more tokens, or the whole word (up to 8 tokens) when it
 * spans three or more and some token starts with all of it (" tomorr" encodes as " t" "o" "mor" "r"
 * and " tomorrow" is one token, which only a back-off to the word's start can reach). This lets the
 * model pick " brown" after "The quick bro" although the encoding of the typed text ends in " bro".
 * It works on bytes, so a text ending inside a multi-byte UTF-8 character is completed too (the
 * completion then starts with the character's remaining bytes).
 *
 * Caching. A cache keeps `n_contexts` engine sessions (LRU) and the next-token logits after each. A
 * request reuses the session sharing the longest token prefix with it (rewind, then prefill only
 * the rest; an identical context prefills nothing) when that loses little of what the session holds
 * (nothing, at most 8 tokens, or the shared prefix is 32 tokens or more); otherwise it takes the least
 * recently used session. Beams fork from the session without copying its KV cache. Typing one more
 * character prefills 0 to 2 tokens. Results do not depend on whether the cache was used.
 *
 * Long contexts. A model sees at most n_ctx positions; the decoder keeps the tail of the text. The
 * cut moves in steps of half a window so that consecutive keystrokes keep the same cut, and so the
 * same cached prefix: the context may hold W = n_ctx - max(n_ctx / 4, max_tokens) tokens (the rest
 * is room to decode), and a context of n > W tokens drops its first k * (W/2) tokens, the smallest k
 * that leaves at most W. Texts over 16 * n_ctx bytes are first cut, for the encoder's sake, at a
 * multiple of 8 * n_ctx bytes moved forward past the next space or newline. An uncut context
 * starts with the end-of-text token (as GPT-2 saw documents start in training), unless the caller
 * says with mid_text that it cut the text itself.
 *
 * Threads. A completer may be shared by threads (its tables are immutable; it lends each running
 * call a workspace under a lock). A cache, and the result of a call, belong to one thread at a time;
 * two caches may run in two threads at once (they then take turns on the thread pool).
 *
 * Memory. A cache holds what must outlive a call: its engine sessions' KV blocks (the tokens of its
 * contexts) and each context's logits ([n_vocab] floats). What a call needs only while it runs (the
 * beams' logits rows and texts, the tokenizer's memo, the encoded text) is a workspace the
 * completer lends it and keeps for the next call: there are as many as calls ever ran at once.
 */
#ifndef AUTOCORRECT_DECODER_H
#define AUTOCORRECT_DECODER_H

#include "autocorrect/common.h"
#include "autocorrect/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ac_bpe ac_bpe;                       /* tokenizer.h */
typedef struct ac_completer ac_completer;
typedef struct ac_complete_cache ac_complete_cache;

/* Hard limits of a request. */
#define AC_COMPLETE_MAX_BEAMS 16
#define AC_COMPLETE_MAX_TOKENS 64

/* Where a completion ends. Append-only. */
enum ac_stop {
    AC_STOP_WORD = 0,    /* at the end of the word being typed, or of the next word */
    AC_STOP_PHRASE = 1,  /* after . , ; : ! ? (kept), or before a newline */
    AC_STOP_LINE = 2,    /* before a newline */
};

/* In what order the completions come back (and so which ones, when the search finds more than
 * beam_width). Append-only. */
enum ac_order {
    AC_ORDER_SCORE = 0,  /* best score first */
    AC_ORDER_SAVING = 1, /* the most typing saved first (the default): see "Order" in the header comment */
};

/* One request's settings. Start from ac_complete_default_params(). */
typedef struct ac_complete_params {
    int beam_width;        /* beams searched, and the most completions returned: 1..16 and at most the
                            * cache's max_beams. Default 5 */
    int max_tokens;        /* the most tokens decoded per completion, 1..64 and at most 3/4 of the
                            * model's n_ctx (the first token may re-cover typed characters, see token
                            * healing). Default 4 */
    int stop;              /* enum ac_stop. Default AC_STOP_PHRASE */
    float length_penalty;  /* alpha in sum(log p) / n^alpha: 0 ranks by total log-probability (short
                            * completions win), 1 by mean log-probability per token. Default 1 */
    float min_score;       /* the abstain threshold: completions scoring below it are dropped. Default
                            * -2.5 (a geometric mean of 8% per token); -INFINITY keeps everything */
    int deadline_ms;       /* time budget for the whole call (encoding, prefill, decoding) in ms; when
                            * it runs out the best beams so far come back with partial = 1 (none if it
                            * ran out in the prefill, which still does at least 64 tokens per call and
                            * keeps them cached, so that the next keystroke goes on from there). One
                            * decode step may overrun it. 0 = none. Default 0 */
    const char *after;     /* text after the cursor (may be NULL): a completion that only repeats its
                            * beginning is dropped, and a completion's last words that the text after
                            * the cursor already starts with are cut. Default NULL */
    size_t after_len;
    /* The correction hook: when fix_text != NULL, bytes [fix_start, fix_end) of the text before the
     * cursor are replaced by fix_text[0..fix_len) before completing (the corrector's confident fix of
     * the last word, say), and completions continue the corrected text. Default: no fix. */
    size_t fix_start, fix_end;
    const char *fix_text;
    size_t fix_len;
    /* Cancellation: when non-NULL, ac_complete reads *cancel (atomically, relaxed) between decode
     * steps and prefill chunks, and returns AC_E_CANCELLED once it is nonzero. The caller writes it
     * with __atomic_store_n or as a C11 atomic_int. Default NULL */
    const int *cancel;
    int no_cache;          /* nonzero: use the cache's memory but none of its cached tokens (every
                            * token is prefilled again); for benchmarks. Default 0 */
    int mid_text;          /* nonzero: `before` does not start where the document starts (the caller
                            * kept only its tail), so no end-of-text token is put before it. Default 0 */
    int order;             /* enum ac_order. Default AC_ORDER_SAVING */
} ac_complete_params;

/* One completion. */
typedef struct ac_completion {
    char *text;            /* NUL-terminated; what follows the cursor; owned by the result */
    size_t len;            /* bytes in text */
    float score;           /* normalised log-probability (<= 0), see the header comment */
    int n_tokens;          /* tokens decoded for it (an end-of-word/phrase decision counts as one) */
} ac_completion;

/* Where the time and the tokens of one call went. */
typedef struct ac_complete_timings {
    int context_tokens;    /* tokens of the context the model ran over (after the window cut and
                            * token healing's back-off) */
    int cached_tokens;     /* of them, reused from the cache */
    int new_tokens;        /* of them, prefilled by this call (context_tokens - cached_tokens) */
    int decode_steps;      /* batched decode steps run */
    double encode_ms, prefill_ms, decode_ms, ms;  /* ms: the whole call */
} ac_complete_timings;

/* What ac_complete returns. Free it with ac_complete_result_free (also after an error). */
typedef struct ac_complete_result {
    ac_completion items[AC_COMPLETE_MAX_BEAMS];  /* [n], in the request's order (params.order) */
    int n;
    int partial;           /* 1: the deadline cut the search short (items are the best found so far) */
    int abstained;         /* completions dropped for scoring below min_score */
    ac_complete_timings timings;
    char *store;           /* internal: owns the texts */
} ac_complete_result;

/* The defaults listed in ac_complete_params. */
ac_complete_params ac_complete_default_params(void);

/* The cache's size. */
typedef struct ac_complete_cache_params {
    int n_contexts;        /* engine sessions kept (recent contexts, LRU). Default 4 */
    int max_beams;         /* the largest beam_width its requests may ask (sizes its sessions' families). Default 8 */
} ac_complete_cache_params;

ac_complete_cache_params ac_complete_cache_default_params(void);

/* Creates a completer over a loaded model and its tokenizer; `tp` (may be NULL: one thread) runs the
 * forward passes. It builds lookup tables over the vocabulary (a few MB for 50k tokens). The model,
 * tokenizer and pool must outlive the completer. Returns AC_OK and *out, or AC_E_ARG (the tokenizer's
 * vocabulary does not match the model's) / AC_E_NOMEM with a message and *out = NULL. */
int ac_completer_new(const ac_model *model, const ac_bpe *bpe, ac_threadpool *tp, ac_completer **out,
                     char *err);

/* Frees a completer; its caches must be freed first. NULL is a no-op. */
void ac_completer_free(ac_completer *c);

/* Creates an empty context cache for one client session (`p` may be NULL: defaults): its engine
 * sessions and logits rows (KV blocks come as contexts grow, see "Memory"). Returns AC_OK and *out,
 * or AC_E_ARG / AC_E_NOMEM with a message. */
int ac_complete_cache_new(ac_completer *c, const ac_complete_cache_params *p, ac_complete_cache **out,
                          char *err);

/* Frees a cache. NULL is a no-op. */
void ac_complete_cache_free(ac_complete_cache *cache);

/* Forgets every cached context (the memory stays reserved). */
void ac_complete_cache_clear(ac_complete_cache *cache);

/* Completes `before` (before_len bytes of UTF-8, NUL not needed; invalid UTF-8 is accepted as bytes)
 * with the settings `p` (NULL = defaults). `cache` may be NULL: a temporary one is made and freed
 * (slow: for one-off calls). Fills *out (always: free it with ac_complete_result_free) and returns
 * AC_OK, also when no completion passed the threshold (out->n = 0) or the deadline cut the search
 * short (out->partial = 1). Errors: AC_E_ARG (a parameter out of range, a fix span outside
 * `before`), AC_E_CANCELLED (*p->cancel was set), AC_E_NOMEM, and engine errors, each with a
 * message in err. */
int ac_complete(ac_completer *c, ac_complete_cache *cache, const char *before, size_t before_len,
                const ac_complete_params *p, ac_complete_result *out, char *err);

/* Frees the texts of a result and zeroes it. Safe on a zeroed or already freed result. */
void ac_complete_result_free(ac_complete_result *r);

/* The name of a stop rule ("word", "phrase", "line"), or NULL for an unknown value. */
const char *ac_stop_name(int stop);

/* The stop rule named `name`, or -1. */
int ac_stop_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
