/* complete.c: ac_complete and its objects: the completer (model + tokenizer + vocabulary tables, and
 * a pool of per-call workspaces) and the per-client context cache (engine sessions kept LRU), wired
 * to the beam search in beam.c.
 *
 * This file is: turning a request into context tokens (the fix, the window cut, token healing's
 * back-off), choosing and updating a cached session (rewind to the common prefix, prefill the rest),
 * and the engine-backed scorer whose beams fork from the cached session. It is not: the search
 * itself (beam.c), the text rules (text.c), nor the daemon's queue.
 */
#include "decoder/decoder_internal.h"

#include "autocorrect/tokenizer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PREFILL_CHUNK 64 /* tokens per prefill call: deadline and cancel are checked between chunks */

/* What a request needs only while it runs: the search's scratch (its beams' logits rows, texts),
 * the tokenizer's memo and the encoded text. The completer pools these, so that they exist once
 * per request running at once (a thread each), not once per cache: a cache keeps only what must
 * survive between keystrokes (its sessions and their logits). */
typedef struct workspace {
    int max_beams;         /* the search scratch's size */
    ac__beam_scratch *scratch;
    ac_bpe_cache *bpe_cache;
    int32_t *ids;          /* [ids_cap] the encoded text (grows with the longest request) */
    size_t ids_cap;
    char *text;            /* [text_cap] the text with the fix applied */
    size_t text_cap;
    struct workspace *next; /* the completer's idle list */
} workspace;


struct ac_completer {
    const ac_model *model;
    const ac_bpe *bpe;
    ac_threadpool *tp;
    ac_dims dims;
    int32_t bos;           /* end-of-text token put before an uncut context, or -1 */
    ac__vocab vocab;
    pthread_mutex_t mu;    /* guards idle */
    workspace *idle;       /* workspaces no request is using */
};

typedef struct ctx_slot {
    ac_session *root;      /* the cached context; NULL until first used */
    float *logits;         /* [n_vocab] the next-token logits after the root's tokens */
    int logits_len;        /* the root's length when logits were computed; -1: not valid */
    uint64_t used;         /* LRU clock of the last request that used it */
} ctx_slot;

struct ac_complete_cache {
    ac_completer *c;
    int n_slots, max_beams;
    ctx_slot *slots;       /* [n_slots] */
    uint64_t clock;
    ac_session *beams[AC_COMPLETE_MAX_BEAMS + 1]; /* the search's live beams (not owned: see scorer) */
};

/* ---------------------------------------------------------------------------------- completer */

static const char *bpe_bytes(void *ctx, int32_t id, size_t *len, int *special)
{
    const ac_bpe *bpe = ctx;
    *special = 0;
    if (id >= ac_bpe_n_vocab(bpe)) {
        *len = 0;
        return NULL; /* the model's padding ids: never generated */
    }
    const uint8_t *b = ac_bpe_token_bytes(bpe, id, len);
    if (!b) {
        *len = 0;
        return NULL;
    }
    *special = ac_bpe_is_special(bpe, id);
    return (const char *)b;
}

int ac_completer_new(const ac_model *model, const ac_bpe *bpe, ac_threadpool *tp, ac_completer **out, char *err)
{
    *out = NULL;
    if (!model || !bpe)
        return ac__errorf(err, AC_E_ARG, "decoder: a completer needs a model and a tokenizer");
    ac_dims d = ac_model_dims(model);
    if (ac_bpe_n_vocab(bpe) > d.n_vocab)
        return ac__errorf(err, AC_E_ARG, "decoder: the tokenizer has %d ids but the model only %d",
                          (int)ac_bpe_n_vocab(bpe), d.n_vocab);
    if (d.n_ctx < 8)
        return ac__errorf(err, AC_E_ARG, "decoder: the model's context of %d positions is too short", d.n_ctx);
    ac_completer *c = calloc(1, sizeof *c);
    if (!c)
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory");
    c->model = model;
    c->bpe = bpe;
    c->tp = tp;
    c->dims = d;
    c->bos = ac_bpe_eot(bpe);
    int rc = ac__vocab_init(&c->vocab, d.n_vocab, bpe_bytes, (void *)bpe, c->bos, err);
    if (rc) {
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return AC_OK;
}

static void workspace_free(workspace *w)
{
    if (!w)
        return;
    ac__beam_scratch_free(w->scratch);
    ac_bpe_cache_free(w->bpe_cache);
    free(w->ids);
    free(w->text);
    free(w);
}

void ac_completer_free(ac_completer *c)
{
    if (!c)
        return;
    while (c->idle) {
        workspace *w = c->idle;
        c->idle = w->next;
        workspace_free(w);
    }
    pthread_mutex_destroy(&c->mu);
    ac__vocab_free(&c->vocab);
    free(c);
}

/* A workspace for a search of up to max_beams beams: an idle one, or a new one (when every one
 * made so far is in use, or too small). NULL when out of memory. */
static workspace *workspace_take(ac_completer *c, int max_beams)
{
    workspace *w = NULL;
    pthread_mutex_lock(&c->mu);
    for (workspace **pw = &c->idle; *pw; pw = &(*pw)->next)
        if ((*pw)->max_beams >= max_beams) {
            w = *pw;
            *pw = w->next;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    if (w)
        return w;
    if (!(w = calloc(1, sizeof *w)))
        return NULL;
    w->max_beams = max_beams;
    w->scratch = ac__beam_scratch_new(&c->vocab, max_beams);
    w->bpe_cache = ac_bpe_cache_new(AC__BPE_MEMO_BYTES);
    if (!w->scratch || !w->bpe_cache) {
        workspace_free(w);
        return NULL;
    }
    return w;
}

static void workspace_give(ac_completer *c, workspace *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&c->mu);
    w->next = c->idle;
    c->idle = w;
    pthread_mutex_unlock(&c->mu);
}

/* -------------------------------------------------------------------------------------- cache */

int ac_complete_cache_new(ac_completer *c, const ac_complete_cache_params *p, ac_complete_cache **out, char *err)
{
    *out = NULL;
    ac_complete_cache_params d = ac_complete_cache_default_params();
    if (!p)
        p = &d;
    if (p->n_contexts < 1 || p->n_contexts > 64)
        return ac__errorf(err, AC_E_ARG, "decoder: n_contexts %d is outside 1..64", p->n_contexts);
    if (p->max_beams < 1 || p->max_beams > AC_COMPLETE_MAX_BEAMS)
        return ac__errorf(err, AC_E_ARG, "decoder: max_beams %d is outside 1..%d", p->max_beams,
                          AC_COMPLETE_MAX_BEAMS);
    ac_complete_cache *k = calloc(1, sizeof *k);
    if (!k)
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory");
    k->c = c;
    k->n_slots = p->n_contexts;
    k->max_beams = p->max_beams;
    k->slots = calloc((size_t)p->n_contexts, sizeof(ctx_slot));
    int ok = k->slots != NULL;
    for (int i = 0; ok && i < k->n_slots; i++) {
        k->slots[i].logits = malloc(sizeof(float) * (size_t)c->dims.n_vocab);
        k->slots[i].logits_len = -1;
        ok = k->slots[i].logits != NULL;
    }
    if (!ok) {
        ac_complete_cache_free(k);
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for a context cache");
    }
    /* The sessions (and their KV stores) are made now, not on the first keystroke. */
    ac_session_params sp = ac_session_default_params();
    sp.n_seq_max = p->max_beams + 1; /* the root and one session per beam */
    for (int i = 0; i < k->n_slots; i++) {
        int rc = ac_session_new(c->model, &sp, &k->slots[i].root, err);
        if (rc) {
            ac_complete_cache_free(k);
            return rc;
        }
    }
    *out = k;
    return AC_OK;
}

void ac_complete_cache_free(ac_complete_cache *k)
{
    if (!k)
        return;
    for (int i = 0; k->slots && i < k->n_slots; i++) {
        ac_session_free(k->slots[i].root);
        free(k->slots[i].logits);
    }
    free(k->slots);
    free(k);
}

void ac_complete_cache_clear(ac_complete_cache *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->n_slots; i++) {
        ac_session_rewind(k->slots[i].root, 0, NULL);
        k->slots[i].logits_len = -1;
        k->slots[i].used = 0;
    }
}

/* ------------------------------------------------------------------------------- the scorer */

/* The engine-backed scorer: beam i of the current step is the session beams[i]; step 0's only beam
 * is the cached root, which is never written: every beam continuing it is a fork. */
typedef struct engine_scorer {
    ac_complete_cache *k;
    ac_session *root;
    ac_session **cur;      /* [n_cur] */
    int n_cur;
    ac_session *next[AC_COMPLETE_MAX_BEAMS];
} engine_scorer;

static int engine_advance(void *ctx, int n, const int *src, const int32_t *tok, float *logits, char *err)
{
    engine_scorer *e = ctx;
    int taken[AC_COMPLETE_MAX_BEAMS + 1] = {0};
    int used[AC_COMPLETE_MAX_BEAMS + 1] = {0};
    for (int i = 0; i < n; i++)
        used[src[i]] = 1;
    /* Free the beams no one continues first, so the family stays within n_seq_max. */
    for (int j = 0; j < e->n_cur; j++)
        if (!used[j] && e->cur[j] != e->root) {
            ac_session_free(e->cur[j]);
            e->cur[j] = NULL;
        }
    int rc = AC_OK;
    int made = 0;
    for (int i = 0; i < n; i++) {
        int j = src[i];
        if (!taken[j] && e->cur[j] != e->root) {
            e->next[i] = e->cur[j]; /* the first continuation takes the session over */
            taken[j] = 1;
        } else {
            rc = ac_session_fork(e->cur[j], &e->next[i], err);
            if (rc)
                break;
        }
        made++;
    }
    if (rc) {
        /* Keep what is owned where the cleanup will find it. */
        for (int j = 0; j < e->n_cur; j++)
            if (e->cur[j] && e->cur[j] != e->root && !taken[j])
                ac_session_free(e->cur[j]);
        for (int i = 0; i < made; i++)
            e->cur[i] = e->next[i];
        e->n_cur = made;
        return rc;
    }
    for (int i = 0; i < n; i++)
        e->cur[i] = e->next[i];
    e->n_cur = n;
    return ac_session_decode_batch(e->cur, tok, n, e->k->c->tp, logits, err);
}

static void engine_scorer_release(engine_scorer *e)
{
    for (int i = 0; i < e->n_cur; i++)
        if (e->cur[i] && e->cur[i] != e->root)
            ac_session_free(e->cur[i]);
    e->n_cur = 0;
}

/* -------------------------------------------------------------------------------- a request */

static int is_break(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static int grow_ids(workspace *w, size_t need, char *err)
{
    if (need <= w->ids_cap)
        return AC_OK;
    int32_t *ids = realloc(w->ids, sizeof(int32_t) * need);
    if (!ids)
        return ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for %zu tokens", need);
    w->ids = ids;
    w->ids_cap = need;
    return AC_OK;
}

static int cancel_set(const ac_complete_params *p)
{
    return p->cancel && __atomic_load_n(p->cancel, __ATOMIC_RELAXED) != 0;
}

/* The token's bytes, for the back-off decisions. */
static const char *tok_bytes(const ac_completer *c, int32_t id, size_t *len)
{
    return ac__vocab_bytes(&c->vocab, id, len);
}

#define HEAL_MAX_TOKENS 8   /* the longest word (in tokens) healing takes off whole */

static int word_byte_at(const char *s, size_t n, int last)
{
    if (n == 0)
        return 0;
    return last ? ac__text_ends_in_word(s, n) : ac__has_word_char(s, 1) || ((unsigned char)s[0] >= 0x80);
}

static int check_params(const ac_completer *c, const ac_complete_cache *k, size_t before_len,
                        const ac_complete_params *p, char *err)
{
    if (p->beam_width < 1 || p->beam_width > k->max_beams)
        return ac__errorf(err, AC_E_ARG, "beam_width %d is outside 1..%d", p->beam_width, k->max_beams);
    int max_tok = AC_COMPLETE_MAX_TOKENS < c->dims.n_ctx * 3 / 4 ? AC_COMPLETE_MAX_TOKENS : c->dims.n_ctx * 3 / 4;
    if (p->max_tokens < 1 || p->max_tokens > max_tok)
        return ac__errorf(err, AC_E_ARG, "max_tokens %d is outside 1..%d", p->max_tokens, max_tok);
    if (!ac_stop_name(p->stop))
        return ac__errorf(err, AC_E_ARG, "unknown stop rule %d", p->stop);
    if (!(p->length_penalty >= 0 && p->length_penalty <= 4))
        return ac__errorf(err, AC_E_ARG, "length_penalty %g is outside 0..4", (double)p->length_penalty);
    if (isnan(p->min_score))
        return ac__errorf(err, AC_E_ARG, "min_score is not a number");
    if (p->order != AC_ORDER_SCORE && p->order != AC_ORDER_SAVING)
        return ac__errorf(err, AC_E_ARG, "unknown order %d", p->order);
    if (p->deadline_ms < 0)
        return ac__errorf(err, AC_E_ARG, "deadline_ms %d is negative", p->deadline_ms);
    if (p->fix_text && (p->fix_start > p->fix_end || p->fix_end > before_len))
        return ac__errorf(err, AC_E_ARG, "the fix span %zu..%zu is outside the %zu bytes before the cursor",
                          p->fix_start, p->fix_end, before_len);
    if (p->after_len && !p->after)
        return ac__errorf(err, AC_E_ARG, "after_len is %zu but after is NULL", p->after_len);
    return AC_OK;
}

/* Chooses the slot for ctx[0..n) and sets *common, the tokens it can keep. The slot sharing the
 * longest prefix wins if using it loses little: it holds nothing beyond that prefix, or the prefix
 * is long (REUSE_MIN tokens), or it would drop at most REUSE_DROP tokens (a backspace). Otherwise
 * the context goes to the least recently used slot (an empty one first), so that two documents
 * that only share their first tokens do not keep evicting each other. */
#define REUSE_MIN 32
#define REUSE_DROP 8
static ctx_slot *choose_slot(ac_complete_cache *k, const int32_t *ctx, int n, int no_cache, int *common)
{
    ctx_slot *best = NULL, *lru = NULL;
    int best_cp = 0, lru_cp = 0;
    for (int i = 0; i < k->n_slots; i++) {
        ctx_slot *s = &k->slots[i];
        int cp = no_cache ? 0 : ac_session_common_prefix(s->root, ctx, n);
        if (cp > best_cp || (cp == best_cp && cp > 0 && s->used > best->used)) {
            best = s;
            best_cp = cp;
        }
        if (!lru || s->used < lru->used) {
            lru = s;
            lru_cp = cp;
        }
    }
    if (best) {
        int len = ac_session_len(best->root);
        if (best_cp == len || best_cp >= REUSE_MIN || len - best_cp <= REUSE_DROP) {
            *common = best_cp;
            return best;
        }
    }
    *common = lru_cp;
    return lru;
}

int ac_complete(ac_completer *c, ac_complete_cache *k, const char *before, size_t before_len,
                const ac_complete_params *p, ac_complete_result *out, char *err)
{
    double t0 = ac_now();
    memset(out, 0, sizeof *out);
    if (!c || !out)
        return ac__errorf(err, AC_E_ARG, "decoder: ac_complete needs a completer and a result");
    if (!before && before_len)
        return ac__errorf(err, AC_E_ARG, "before is NULL but before_len is %zu", before_len);
    ac_complete_params defaults = ac_complete_default_params();
    if (!p)
        p = &defaults;

    ac_complete_cache *temp = NULL;
    if (!k) {
        ac_complete_cache_params cp = ac_complete_cache_default_params();
        cp.n_contexts = 1;
        if (p->beam_width > cp.max_beams && p->beam_width <= AC_COMPLETE_MAX_BEAMS)
            cp.max_beams = p->beam_width;
        int rc = ac_complete_cache_new(c, &cp, &temp, err);
        if (rc)
            return rc;
        k = temp;
    }
    workspace *w = NULL;
    int rc = check_params(c, k, before_len, p, err);
    if (rc)
        goto done;
    if (!(w = workspace_take(c, k->max_beams))) {
        rc = ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for a search");
        goto done;
    }
    double deadline = p->deadline_ms > 0 ? t0 + p->deadline_ms / 1000.0 : 0;

    /* The text the model continues: `before` with the fix applied. */
    const char *text = before ? before : "";
    size_t len = before_len;
    if (p->fix_text) {
        size_t need = before_len - (p->fix_end - p->fix_start) + p->fix_len + 1;
        if (need > w->text_cap) {
            char *t = realloc(w->text, need);
            if (!t) {
                rc = ac__errorf(err, AC_E_NOMEM, "decoder: out of memory for %zu bytes of text", need);
                goto done;
            }
            w->text = t;
            w->text_cap = need;
        }
        memcpy(w->text, before, p->fix_start);
        memcpy(w->text + p->fix_start, p->fix_text, p->fix_len);
        memcpy(w->text + p->fix_start + p->fix_len, before + p->fix_end, before_len - p->fix_end);
        len = before_len - (p->fix_end - p->fix_start) + p->fix_len;
        w->text[len] = 0;
        text = w->text;
    }

    /* Very long texts: keep the tail, cut at a stable place (see decoder.h, "Long contexts"). */
    int n_ctx = c->dims.n_ctx;
    size_t start = 0;
    size_t max_bytes = 16 * (size_t)n_ctx, step_bytes = 8 * (size_t)n_ctx;
    if (len > max_bytes) {
        start = (len - max_bytes + step_bytes - 1) / step_bytes * step_bytes;
        size_t s = start;
        while (s < len && !is_break((unsigned char)text[s]))
            s++;
        if (s < len)
            start = s + 1;
        else
            while (start < len && ((unsigned char)text[start] & 0xc0) == 0x80)
                start++;
    }

    /* Encode. One slot up front for the end-of-text token. */
    double t_enc = ac_now();
    rc = grow_ids(w, len - start + 2, err);
    if (rc)
        goto done;
    size_t n_ids = 0;
    int lead = start == 0 && !p->mid_text && c->bos >= 0;
    if (lead)
        w->ids[0] = c->bos;
    rc = ac_bpe_encode(c->bpe, w->bpe_cache, text + start, len - start, 0, w->ids + lead, w->ids_cap - 1, &n_ids, err);
    if (rc)
        goto done;
    int n_all = (int)n_ids + lead;
    out->timings.encode_ms = (ac_now() - t_enc) * 1000;

    /* Token healing (decoder.h): take off the last token, or the last two when they are one word
     * split in two, or the whole word when it is split in more and a token starts with all of it;
     * their bytes become the prefix the first decoded tokens must reproduce. Keep one token. A
     * whole-word back-off that no token could complete in one step only made things worse in
     * bench/eval_keystrokes (45.5% against 45.8% on prose): unnatural splits then have to be
     * typed out again token by token. */
    int back = 0;
    size_t required_len = 0;
    if (n_ids >= 1) {
        /* the tokens of the word being typed (each but the first continues a word) and their bytes */
        int in_word = 1;
        size_t word_len, l1, l0;
        const char *b1 = tok_bytes(c, w->ids[n_all - 1], &l1);
        word_len = l1;
        while (in_word < HEAL_MAX_TOKENS && in_word < (int)n_ids) {
            const char *b0 = tok_bytes(c, w->ids[n_all - in_word - 1], &l0);
            if (!(word_byte_at(b0, l0, 1) && word_byte_at(b1, l1, 0)))
                break;
            in_word++;
            word_len += l0;
            b1 = b0, l1 = l0;
        }
        back = in_word < 2 ? in_word : 2;
        if (in_word > 2 && ac__vocab_has_prefix(&c->vocab, text + len - word_len, word_len))
            back = in_word;
        if (n_all - back < 1)
            back = n_all - 1;
        for (int i = 0; i < back; i++) {
            size_t l;
            tok_bytes(c, w->ids[n_all - 1 - i], &l);
            required_len += l;
        }
    }
    int n_model = n_all - back;
    if (n_model < 1) {
        rc = AC_OK; /* nothing to condition on (an empty text and no end-of-text token) */
        goto done;
    }
    const char *required = text + len - required_len;

    /* The window: keep the tail, dropping whole half-windows so the cut stays put as text grows. */
    int reserve = n_ctx / 4 > p->max_tokens ? n_ctx / 4 : p->max_tokens;
    int room = n_ctx - reserve;
    int32_t *ctx = w->ids;
    if (n_model > room) {
        int half = room / 2 > 0 ? room / 2 : 1;
        int drop = (n_model - room + half - 1) / half * half;
        ctx += drop;
        n_model -= drop;
    }
    out->timings.context_tokens = n_model;

    /* The cached session: rewind to the common prefix, prefill the rest. */
    double t_pre = ac_now();
    int common;
    ctx_slot *slot = choose_slot(k, ctx, n_model, p->no_cache, &common);
    slot->used = ++k->clock;
    int have_logits = common == n_model && ac_session_len(slot->root) == n_model && slot->logits_len == n_model;
    if (!have_logits && common == n_model)
        common = n_model - 1; /* the logits after the last token are needed again */
    if (!have_logits) {
        slot->logits_len = -1;
        rc = ac_session_rewind(slot->root, common, err);
        if (rc)
            goto done;
        int at = common;
        while (at < n_model) {
            if (cancel_set(p)) {
                rc = ac__errorf(err, AC_E_CANCELLED, "decoder: cancelled");
                goto done;
            }
            if (deadline > 0 && at > common && ac_now() >= deadline) {
                /* Out of time before any beam: no completion; what was prefilled stays cached, so
                 * the next keystroke goes on from there (each call prefills at least one chunk). */
                out->partial = 1;
                out->timings.cached_tokens = common;
                out->timings.new_tokens = at - common;
                out->timings.prefill_ms = (ac_now() - t_pre) * 1000;
                rc = AC_OK;
                goto done;
            }
            int n = n_model - at < PREFILL_CHUNK ? n_model - at : PREFILL_CHUNK;
            rc = ac_session_prefill(slot->root, ctx + at, n, c->tp, at + n == n_model ? slot->logits : NULL, 0, err);
            if (rc)
                goto done;
            at += n;
        }
        slot->logits_len = n_model;
    }
    out->timings.cached_tokens = common;
    out->timings.new_tokens = n_model - common;
    out->timings.prefill_ms = (ac_now() - t_pre) * 1000;

    /* The search. */
    double t_dec = ac_now();
    ac__beam_params bp = {0};
    bp.beam_width = p->beam_width;
    bp.max_tokens = p->max_tokens;
    bp.stop = p->stop;
    bp.length_penalty = p->length_penalty;
    bp.min_score = p->min_score;
    bp.order = p->order;
    bp.required = required;
    bp.required_len = required_len;
    bp.started = ac__text_ends_in_word(text, len);
    bp.pending_len = ac__utf8_incomplete_tail(text, len);
    bp.pending = text + len - bp.pending_len;
    bp.after = p->after;
    bp.after_len = p->after_len;
    bp.deadline = deadline;
    bp.cancel = p->cancel;
    engine_scorer e = {k, slot->root, k->beams, 1, {0}};
    k->beams[0] = slot->root;
    ac__scorer sc = {&e, engine_advance};
    rc = ac__beam_search(&c->vocab, &sc, w->scratch, slot->logits, &bp, out, err);
    engine_scorer_release(&e);
    out->timings.decode_ms = (ac_now() - t_dec) * 1000;
done:
    if (rc) {
        ac_complete_timings t = out->timings;
        ac_complete_result_free(out);
        out->timings = t;
    }
    out->timings.ms = (ac_now() - t0) * 1000;
    workspace_give(c, w);
    ac_complete_cache_free(temp);
    return rc;
}
