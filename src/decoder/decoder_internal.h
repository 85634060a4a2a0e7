/* decoder_internal.h: the decoder module's internals, shared by its files and its tests.
 *
 * Three layers, each testable alone:
 *   text rules (text.c): word characters, stop rules, UTF-8 trimming, the after-cursor rules;
 *   vocabulary tables (vocab.c): every token's bytes, its stop offsets, a sorted index for the
 *     "consistent with the typed bytes" lookups of token healing;
 *   beam search (beam.c): over an abstract next-token scorer (ac__scorer), so the tests drive it
 *     with a fake logits function and hand-computed answers; complete.c plugs in the engine.
 * Not public API: nothing here is installed.
 */
#ifndef AC_DECODER_INTERNAL_H
#define AC_DECODER_INTERNAL_H

#include "autocorrect/decoder.h"

#include <stdint.h>

#define AC__N_STOP 3

/* ------------------------------------------------------------------------------ text rules */

/* 1 when the code point is a word character (letter, mark, number, '_', ' or U+2019). */
int ac__is_word_cp(int32_t cp);

/* The tokenizer's memo for one request or correction pass (ac_bpe_cache_new): a few hundred words
 * at most are encoded at a time, so more would only hold memory. */
#define AC__BPE_MEMO_BYTES (256u << 10)

/* Where a completion stands with respect to words: the state of the word stop rule. */
enum ac__word_state {
    AC__WORD_BEFORE = 0,  /* no word begun: spaces and opening punctuation may lead the next word */
    AC__WORD_IN = 1,      /* inside a word: any character but a word character ends it */
    AC__WORD_END = 2,     /* the typed text ends in a word and the completion has added nothing yet:
                           * a word character goes on with the typed word, a space opens the next
                           * word (the state becomes AC__WORD_BEFORE), anything else ends it */
};
#define AC__N_WORD_STATE 3

/* The word state after text that did not stop the rule: inside a word once it holds a word
 * character; else, from the typed word's end, it began with a space, so no word has begun yet. */
static inline int ac__word_state_after(int state, int has_word_char)
{
    if (has_word_char)
        return AC__WORD_IN;
    return state == AC__WORD_END ? AC__WORD_BEFORE : state;
}

/* Scans completion bytes s[0..n) under stop rule `stop`, starting in word state *state (enum
 * ac__word_state). Returns the number of bytes the completion keeps when the rule stops inside s
 * (0..n), or -1 when it does not stop; on -1, *state is the state after s. Only the word rule reads
 * the state (phrase and line stops only track it). Bytes that do not decode as UTF-8 count as word
 * characters. */
int ac__stop_scan(int stop, int *state, const char *s, size_t n);

/* 1 when s[0..n) contains a word character. */
int ac__has_word_char(const char *s, size_t n);

/* 1 when the text ends with a word character (so a completion continues that word). */
int ac__text_ends_in_word(const char *s, size_t n);

/* The bytes at the end of s that begin a UTF-8 character s does not finish (0 to 3). */
size_t ac__utf8_incomplete_tail(const char *s, size_t n);

/* The longest k <= n such that pending[0..np) + s[0..k) is valid UTF-8 that ends on a character
 * boundary: trims a completion's cut-off last character and everything from its first bad byte. */
size_t ac__utf8_keep(const char *pending, size_t np, const char *s, size_t n);

/* 1 when pending[0..np) + s[0..n) is valid UTF-8 or a prefix of valid UTF-8 (it may end inside a
 * character): 0 means no continuation can make it valid, so a beam holding it is dead. */
int ac__utf8_viable(const char *pending, size_t np, const char *s, size_t n);

/* The after-cursor rules on a completion text[0..*len): (1) when the text after the cursor already
 * starts with the completion, it only repeats it: returns 0 (drop); (2) when the completion's last
 * words (from a word boundary of the completion) are the words the text after the cursor starts with,
 * they are cut (*len shrinks). Returns 1 to keep (with *len > 0), 0 to drop. */
int ac__after_rule(const char *text, size_t *len, const char *after, size_t after_len);

/* ---------------------------------------------------------------------------------- vocabulary */

/* Fetches token id's bytes (*len of them) and whether it is special (a control token such as
 * <|endoftext|>, never matched as text). */
typedef const char *(*ac__token_bytes_fn)(void *ctx, int32_t id, size_t *len, int *special);

typedef struct ac__vocab {
    int n_vocab;
    int32_t eos;              /* end-of-text token, or -1: always a stop */
    char *blob;               /* every token's bytes, back to back */
    uint32_t *off;            /* [n_vocab + 1]: token t is blob[off[t] .. off[t+1]) */
    uint8_t *special;         /* [n_vocab] 1: never generated as text (eos is scored as a stop) */
    uint8_t *control;         /* [n_vocab] 1: holds a control byte (below 0x20 but tab, CR and LF, or
                               * DEL): matched when typed, never proposed freely */
    int16_t *stop_at[AC__N_STOP][AC__N_WORD_STATE];  /* [n_vocab] ac__stop_scan from the token's
                                       * start, by rule and word state: bytes kept, or -1 (no stop) */
    uint8_t *sets_started;    /* [n_vocab] 1: the token contains a word character */
    int32_t *sorted;          /* [n_sorted] non-special tokens by bytes (memcmp, shorter first) */
    int n_sorted;
    int max_len;              /* longest token, in bytes */
} ac__vocab;

/* Builds the tables for n_vocab tokens fetched with get(ctx, id, ...). Returns AC_OK, AC_E_NOMEM or
 * AC_E_ARG (n_vocab < 1, a token over 32 KB). Free with ac__vocab_free. */
int ac__vocab_init(ac__vocab *v, int n_vocab, ac__token_bytes_fn get, void *ctx, int32_t eos, char *err);
void ac__vocab_free(ac__vocab *v);

static inline const char *ac__vocab_bytes(const ac__vocab *v, int32_t t, size_t *len)
{
    *len = v->off[t + 1] - v->off[t];
    return v->blob + v->off[t];
}

/* Writes into out[] (room for n_vocab) the non-special tokens consistent with the bytes r[0..n),
 * n >= 1: tokens that are a proper prefix of r (shortest first), then tokens that start with r (in
 * byte order). Returns how many. A binary search per byte of r, then a copy: no sorting, since with
 * r = " " the second group is half the vocabulary. */
int ac__vocab_consistent(const ac__vocab *v, const char *r, size_t n, int32_t *out);

/* Whether a non-special token starts with the bytes r[0..n) (or is them). */
int ac__vocab_has_prefix(const ac__vocab *v, const char *r, size_t n);

/* ---------------------------------------------------------------------------------- beam search */

/* The next-token scorer the search runs on. The search's beams at step k are numbered 0..n_k-1; the
 * root (the context) is beam 0 of step 0. advance() starts step k+1: its beam i continues beam src[i]
 * of step k with token tok[i] (several new beams may continue one old beam; old beams no new beam
 * continues are dropped). It writes each new beam's next-token logits to logits[i * n_vocab].
 * Returns AC_OK or an error status with a message. */
typedef struct ac__scorer {
    void *ctx;
    int (*advance)(void *ctx, int n, const int *src, const int32_t *tok, float *logits, char *err);
} ac__scorer;

typedef struct ac__beam_params {
    int beam_width;           /* 1..AC_COMPLETE_MAX_BEAMS */
    int max_tokens;           /* 1..AC_COMPLETE_MAX_TOKENS */
    int stop;                 /* enum ac_stop */
    float length_penalty;
    float min_score;
    int order;                /* enum ac_order */
    const char *required;     /* typed bytes the first tokens must reproduce (token healing), or NULL */
    size_t required_len;
    int started;              /* the typed text ends inside a word: the search starts in word state
                               * AC__WORD_END (after the required bytes), else AC__WORD_BEFORE */
    const char *pending;      /* the typed text's unfinished last UTF-8 character (0..3 bytes) */
    size_t pending_len;
    const char *after;        /* text after the cursor, for ac__after_rule */
    size_t after_len;
    double deadline;          /* ac_now() instant when the search must stop, 0 = none */
    const int *cancel;        /* may be NULL */
} ac__beam_params;

/* Scratch memory of a search, reserved once (a cache owns one). */
typedef struct ac__beam_scratch ac__beam_scratch;

/* Reserves scratch for searches of up to max_beams beams over v. NULL when out of memory. */
ac__beam_scratch *ac__beam_scratch_new(const ac__vocab *v, int max_beams);
void ac__beam_scratch_free(ac__beam_scratch *s);

/* The logits rows the scorer writes into ([max_beams][n_vocab]). */
float *ac__beam_scratch_logits(ac__beam_scratch *s);

/* Runs the beam search from the root's logits0 ([n_vocab]; may alias the scratch's logits rows) and
 * fills out->items, n, partial, abstained and timings.decode_steps (texts in out->store, which it
 * allocates). Returns AC_OK, AC_E_CANCELLED (out left empty), or the scorer's error. */
int ac__beam_search(const ac__vocab *v, const ac__scorer *sc, ac__beam_scratch *s, const float *logits0,
                    const ac__beam_params *p, ac_complete_result *out, char *err);

/* ------------------------------------------------------------------- keystroke simulation */

/* The simulated user of bench/eval_keystrokes (keystrokes.c). Typing a target text, before every
 * keystroke (at the start, after each typed character, after each accepted completion) the user is
 * shown the top `shown` completions of what is typed so far. If some shown completion is a prefix of
 * the rest of the target, the user accepts the longest such one, at the cost of one keystroke;
 * otherwise the user types the next character (one keystroke per code point). Typing the whole
 * target without completions costs one keystroke per code point. */
typedef struct ac__ks_stats {
    long chars;           /* code points of the targets: keystrokes without completion */
    long keystrokes;      /* keystrokes with completion: characters typed + completions accepted */
    long accepts;         /* completions accepted */
    long accepted_chars;  /* code points entered by accepting */
    long requests;        /* times completions were asked for (before every keystroke) */
    long nonempty;        /* of those, times at least one completion was shown (the rest abstained) */
} ac__ks_stats;

/* Shows completions of text[0..len): writes up to `shown` of them, best first, to texts[] / lens[]
 * (valid until the next call) and returns how many, or a negative status with a message. */
typedef int (*ac__suggest_fn)(void *ctx, const char *text, size_t len, int shown, const char **texts,
                              size_t *lens, char *err);

/* Simulates typing target[0..len) with `shown` (1..AC_COMPLETE_MAX_BEAMS) completions shown, adding
 * to *st. Returns AC_OK or the suggester's error. */
int ac__keystroke_sim(const char *target, size_t len, int shown, ac__suggest_fn suggest, void *ctx,
                      ac__ks_stats *st, char *err);

#endif
