/* correct_lm.c: the spelling corrector's language-model scorer (ac_lm_scorer, declared in
 * autocorrect/corrector.h). Given the text left of a word, the options for the word and a little
 * right context, it returns log P(option + right | left) from the engine. It is not the corrector's
 * decision (src/corrector/correct.c) nor the completion search (beam.c, complete.c).
 *
 * How a call runs:
 *   1. left = context + trailing whitespace; each option's continuation is that whitespace + the
 *      option + the right context, encoded on its own. Splitting at whitespace (or after
 *      punctuation) falls on a GPT-2 pre-token boundary, so the two encodings concatenate to the
 *      encoding of the whole text in all but contrived cases.
 *   2. The context, from the start of the word's sentence (or of the one before when that leaves
 *      under MIN_CONTEXT_BYTES) and cut to the window, is encoded after <|endoftext|> (as if the
 *      sentence started a document), and the root session is synced
 *      to it: rewound to the longest common token prefix, the rest prefilled. The log-probabilities
 *      after the context are kept, so a second word scored after the same context costs no forward.
 *   3. Each option's first token is read from those; for the rest, the options are forked from the
 *      root and decoded in lock-step batches (one weight read per step for all options).
 */
#include "decoder/decoder_internal.h"
#include "autocorrect/corrector.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_SEQ 16                 /* sessions in the family: the root and up to 15 option forks */
#define MAX_OPT_TOKENS 32        /* tokens of one continuation (whitespace + option + right context) */
#define MAX_RIGHT_BYTES 96       /* right context beyond this is cut (at a space) */
#define CTX_BYTES_PER_POS 8      /* the context text kept is at most n_ctx * this many bytes */
#define SCORER_CTX 256           /* positions the scorer's sessions hold at most (sizes its KV store) */
#define MIN_CONTEXT_BYTES 48     /* context kept before a word, at least, when cutting at a sentence */

struct ac_lm_scorer {
    const ac_model *model;
    const ac_bpe *bpe;
    ac_threadpool *tp;
    ac_bpe_cache *cache;
    ac_session *root;
    int n_vocab, n_ctx;     /* n_ctx: the window the scorer uses, min(model's, SCORER_CTX) */
    int32_t eot;
    float *logits;          /* [N_SEQ][n_vocab] scratch of a batched decode */
    float *ctx_logp;        /* [n_vocab] log-probabilities after the root's tokens */
    int ctx_valid_len;      /* root length ctx_logp belongs to, -1 when none */
    int32_t *ctx_ids;       /* [ctx_cap] the encoded context */
    size_t ctx_cap;
    int32_t opt_ids[N_SEQ][MAX_OPT_TOKENS];
    int opt_len[N_SEQ];
    char *cont;             /* [cont_cap] scratch: a continuation's text */
    size_t cont_cap;
    ac_lm_scorer_stats stats;
};

int ac_lm_scorer_new(const ac_model *model, const ac_bpe *bpe, ac_threadpool *tp, ac_lm_scorer **out, char *err)
{
    *out = NULL;
    if (!model || !bpe)
        return ac__errorf(err, AC_E_ARG, "ac_lm_scorer_new: no model or tokenizer");
    ac_dims dims = ac_model_dims(model);
    if (ac_bpe_n_vocab(bpe) > dims.n_vocab)
        return ac__errorf(err, AC_E_ARG, "the tokenizer has %d ids, the model only %d", (int)ac_bpe_n_vocab(bpe),
                          dims.n_vocab);
    if (dims.n_ctx < 2 * MAX_OPT_TOKENS)
        return ac__errorf(err, AC_E_ARG, "the model's window (%d) is too short for the corrector", dims.n_ctx);
    ac_lm_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    s->model = model;
    s->bpe = bpe;
    s->tp = tp;
    s->n_vocab = dims.n_vocab;
    s->n_ctx = dims.n_ctx < SCORER_CTX ? dims.n_ctx : SCORER_CTX;
    s->eot = ac_bpe_eot(bpe);
    s->ctx_valid_len = -1;
    s->cache = ac_bpe_cache_new(AC__BPE_MEMO_BYTES);
    s->logits = malloc(sizeof *s->logits * (size_t)N_SEQ * (size_t)dims.n_vocab);
    s->ctx_logp = malloc(sizeof *s->ctx_logp * (size_t)dims.n_vocab);
    s->ctx_cap = (size_t)dims.n_ctx * CTX_BYTES_PER_POS + 8;
    s->ctx_ids = malloc(sizeof *s->ctx_ids * s->ctx_cap);
    s->cont_cap = AC_WORD_MAX + MAX_RIGHT_BYTES + 64;
    s->cont = malloc(s->cont_cap);
    if (!s->cache || !s->logits || !s->ctx_logp || !s->ctx_ids || !s->cont) {
        ac_lm_scorer_free(s);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    ac_session_params sp = ac_session_default_params();
    sp.n_seq_max = N_SEQ;
    sp.n_ctx = s->n_ctx;
    int rc = ac_session_new(model, &sp, &s->root, err);
    if (rc) {
        ac_lm_scorer_free(s);
        return rc;
    }
    *out = s;
    return AC_OK;
}

void ac_lm_scorer_free(ac_lm_scorer *s)
{
    if (!s)
        return;
    ac_session_free(s->root);
    ac_bpe_cache_free(s->cache);
    free(s->logits);
    free(s->ctx_logp);
    free(s->ctx_ids);
    free(s->cont);
    free(s);
}

ac_lm_scorer_stats ac_lm_scorer_get_stats(const ac_lm_scorer *s)
{
    ac_lm_scorer_stats z = {0};
    return s ? s->stats : z;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* log-softmax of row[n], then returns row[id]. */
static float logp_of(float *row, int n, int32_t id)
{
    ac_logprobs_from_logits(row, n);
    return row[id];
}

/* Syncs the root session to ids[n] and leaves the log-probabilities after them in ctx_logp. */
static int sync_root(ac_lm_scorer *s, const int32_t *ids, int n, char *err)
{
    int common = ac_session_common_prefix(s->root, ids, n);
    int len = ac_session_len(s->root);
    if (common == n && len == n && s->ctx_valid_len == n)
        return AC_OK;
    if (common == n)
        common = n - 1;  /* the last token is run again for its logits */
    int rc = ac_session_rewind(s->root, common, err);
    if (rc)
        return rc;
    s->ctx_valid_len = -1;
    rc = ac_session_prefill(s->root, ids + common, n - common, s->tp, s->ctx_logp, 0, err);
    if (rc)
        return rc;
    s->stats.context_tokens += n - common;
    ac_logprobs_from_logits(s->ctx_logp, s->n_vocab);
    s->ctx_valid_len = n;
    return AC_OK;
}

/* Where the context starts: after the last sentence end (. ! ? then whitespace) that leaves at
 * least MIN_CONTEXT_BYTES of context, else at 0. Earlier sentences say little about a word's
 * spelling, and every context token costs a forward pass; the start only moves at sentence ends,
 * so words of one sentence share their cached context. */
static size_t sentence_cut(const char *ctx, size_t len)
{
    if (len <= MIN_CONTEXT_BYTES)
        return 0;
    for (size_t i = len - MIN_CONTEXT_BYTES; i > 1; i--)
        if (is_ws(ctx[i - 1]) && (ctx[i - 2] == '.' || ctx[i - 2] == '!' || ctx[i - 2] == '?')) {
            while (i < len && is_ws(ctx[i]))
                i++;
            return i;
        }
    return 0;
}

/* Encodes the context text into s->ctx_ids, cut to at most `window` tokens; returns the count. */
static int encode_context(ac_lm_scorer *s, const char *ctx, size_t len, int window, char *err)
{
    size_t start = sentence_cut(ctx, len);
    ctx += start;
    len -= start;
    size_t keep = (size_t)s->n_ctx * CTX_BYTES_PER_POS;
    int cut = 0;
    if (len > keep) {
        /* a stable byte cut: moves in steps of half the kept size, then to the next whitespace */
        size_t step = keep / 2;
        size_t at = ((len - keep) / step + 1) * step;
        while (at < len && !is_ws(ctx[at]))
            at++;
        ctx += at;
        len -= at;
        cut = 1;
    }
    size_t n = 0;
    int32_t *ids = s->ctx_ids;
    size_t cap = s->ctx_cap;
    if (!cut && s->eot >= 0) {
        ids[0] = s->eot;
        ids++;
        cap--;
    }
    int rc = ac_bpe_encode(s->bpe, s->cache, ctx, len, 0, ids, cap, &n, err);
    if (rc)
        return rc;
    int total = (int)n + (!cut && s->eot >= 0);
    if (total > window) {
        /* drop whole half-windows from the front, so that the cut point stays put while typing */
        int step = window / 2 > 0 ? window / 2 : 1;
        int drop = ((total - window + step - 1) / step) * step;
        memmove(s->ctx_ids, s->ctx_ids + drop, sizeof *s->ctx_ids * (size_t)(total - drop));
        total -= drop;
    }
    return total;
}

static int lm_score(void *user, const char *left, size_t left_len, const char *right, size_t right_len,
                    const char *const *options, int n_options, float *logp, char *err)
{
    ac_lm_scorer *s = user;
    double t0 = ac_now();
    /* the context and the whitespace that follows it */
    size_t ctx_len = left_len;
    while (ctx_len > 0 && is_ws(left[ctx_len - 1]))
        ctx_len--;
    size_t ws_len = left_len - ctx_len;
    if (ws_len > 8) {
        ctx_len = left_len - 8 < ctx_len ? ctx_len : left_len - 8;
        ws_len = left_len - ctx_len;
    }
    if (right_len > MAX_RIGHT_BYTES) {
        size_t r = MAX_RIGHT_BYTES;
        while (r > 0 && !is_ws(right[r]))
            r--;
        right_len = r;
    }
    int rc = AC_OK;
    for (int base = 0; base < n_options && rc == AC_OK; base += N_SEQ - 1) {
        int m = n_options - base < N_SEQ - 1 ? n_options - base : N_SEQ - 1;
        /* the continuations */
        int max_len = 1;
        for (int i = 0; i < m; i++) {
            const char *opt = options[base + i];
            size_t ol = strlen(opt);
            if (ws_len + ol + right_len + 1 > s->cont_cap)
                ol = s->cont_cap - ws_len - right_len - 1;
            memcpy(s->cont, left + ctx_len, ws_len);
            memcpy(s->cont + ws_len, opt, ol);
            memcpy(s->cont + ws_len + ol, right, right_len);
            size_t n = 0;
            rc = ac_bpe_encode(s->bpe, s->cache, s->cont, ws_len + ol + right_len, 0, s->opt_ids[i],
                               MAX_OPT_TOKENS, &n, err);
            if (rc == AC_E_LIMIT)
                rc = AC_OK;  /* a very long right context: its first MAX_OPT_TOKENS tokens */
            if (rc)
                break;
            s->opt_len[i] = (int)n;
            if ((int)n > max_len)
                max_len = (int)n;
        }
        if (rc)
            break;
        /* the context, and the root session synced to it */
        int n_ctx_ids = encode_context(s, left, ctx_len, s->n_ctx - max_len, err);
        if (n_ctx_ids < 0) {
            rc = n_ctx_ids;
            break;
        }
        if (n_ctx_ids == 0) {
            /* no context and no <|endoftext|> to stand for one: nothing to condition on */
            rc = ac__errorf(err, AC_E_UNSUPPORTED, "no context to score after (the tokenizer has no <|endoftext|>)");
            break;
        }
        rc = sync_root(s, s->ctx_ids, n_ctx_ids, err);
        if (rc)
            break;
        for (int i = 0; i < m; i++)
            logp[base + i] = s->opt_len[i] > 0 ? s->ctx_logp[s->opt_ids[i][0]] : 0.0f;
        /* the options' later tokens: fork and decode in lock-step batches */
        ac_session *forks[N_SEQ] = {0};
        for (int i = 0; i < m && rc == AC_OK; i++)
            if (s->opt_len[i] > 1)
                rc = ac_session_fork(s->root, &forks[i], err);
        for (int t = 0; rc == AC_OK && t + 1 < max_len; t++) {
            ac_session *batch[N_SEQ];
            int32_t ids[N_SEQ];
            int which[N_SEQ], nb = 0;
            for (int i = 0; i < m; i++)
                if (forks[i] && s->opt_len[i] > t + 1) {
                    batch[nb] = forks[i];
                    ids[nb] = s->opt_ids[i][t];
                    which[nb] = i;
                    nb++;
                }
            if (!nb)
                break;
            rc = ac_session_decode_batch(batch, ids, nb, s->tp, s->logits, err);
            if (rc)
                break;
            s->stats.decode_steps++;
            s->stats.option_tokens += nb;
            for (int b = 0; b < nb; b++) {
                int i = which[b];
                logp[base + i] += logp_of(s->logits + (size_t)b * (size_t)s->n_vocab, s->n_vocab,
                                          s->opt_ids[i][t + 1]);
            }
        }
        for (int i = 0; i < m; i++)
            ac_session_free(forks[i]);
    }
    s->stats.calls++;
    s->stats.options += n_options;
    s->stats.seconds += ac_now() - t0;
    if (rc)
        s->ctx_valid_len = -1;
    return rc;
}

ac_context_scorer ac_lm_scorer_context(ac_lm_scorer *s)
{
    ac_context_scorer c = {lm_score, s};
    return c;
}
