/* backend_model.c: the daemon's real backend (backend.h) on the engine, tokenizer, decoder and
 * corrector. What it adds to them: one context cache per session (LRU, up to max_sessions), pools
 * of per-thread objects (caches for session-less requests, LM scorers for corrections), and the
 * mapping between a request and the libraries' parameters. Not here: sockets, JSON, limits (the
 * server checked the request), the search itself (decoder).
 *
 * Threads: the server never runs two requests of one session at once, so a session's cache is used
 * by one thread at a time, as decoder.h requires; session-less requests and corrections take an
 * object from a pool and give it back. The model, tokenizer, completer and dictionary are shared
 * read-only (the dictionary locks itself for `learn`).
 */
#include "server/backend.h"

#include "autocorrect/corrector.h"
#include "autocorrect/decoder.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MAX_CORRECTIONS 64
#define POOL_MAX 16 /* idle pooled objects kept */

typedef struct session_cache {
    char name[AC_SESSION_MAX];
    ac_complete_cache *cache;
    int in_use;
    unsigned long last_used; /* a tick of the state's clock, for LRU */
} session_cache;

typedef struct model_state {
    ac_config cfg;
    ac_model *model;
    ac_bpe *bpe;
    ac_threadpool *tp;
    ac_completer *completer;
    ac_dict *dict;             /* NULL when no dictionary was found: `correct` is unavailable */
    ac_complete_cache_params cache_params;
    int threads;
    double load_ms;

    pthread_mutex_t mu;        /* guards everything below */
    session_cache *sessions;   /* [cfg.max_sessions] */
    int n_sessions;
    unsigned long tick;
    ac_complete_cache *spare_caches[POOL_MAX]; /* for requests without a session */
    int n_spare_caches;
    ac_lm_scorer *spare_scorers[POOL_MAX];
    int n_spare_scorers;
} model_state;

/* --- pools ------------------------------------------------------------------------------------ */

/* The cache of `session` ("" = a pooled anonymous one). Returns NULL with err on failure. `slot`
 * receives the session slot to release (NULL for a pooled cache). */
static ac_complete_cache *cache_take(model_state *m, const char *session, session_cache **slot, char *err)
{
    *slot = NULL;
    ac_complete_cache *c = NULL;
    pthread_mutex_lock(&m->mu);
    if (!session[0]) {
        if (m->n_spare_caches)
            c = m->spare_caches[--m->n_spare_caches];
        pthread_mutex_unlock(&m->mu);
        if (!c && ac_complete_cache_new(m->completer, &m->cache_params, &c, err) != AC_OK)
            return NULL;
        return c;
    }
    session_cache *s = NULL, *lru = NULL;
    for (int i = 0; i < m->n_sessions; i++) {
        if (!strcmp(m->sessions[i].name, session)) {
            s = &m->sessions[i];
            break;
        }
        if (!m->sessions[i].in_use && (!lru || m->sessions[i].last_used < lru->last_used))
            lru = &m->sessions[i];
    }
    if (!s && m->n_sessions < m->cfg.max_sessions) {
        s = &m->sessions[m->n_sessions];
        memset(s, 0, sizeof *s);
        if (ac_complete_cache_new(m->completer, &m->cache_params, &s->cache, err) != AC_OK) {
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
        m->n_sessions++;
        snprintf(s->name, sizeof s->name, "%s", session);
    } else if (!s && lru) {
        s = lru; /* the least recently used session gives its cache to this one */
        ac_complete_cache_clear(s->cache);
        snprintf(s->name, sizeof s->name, "%s", session);
    }
    if (!s || s->in_use) {
        /* every slot busy (more concurrent sessions than max_sessions), or a bug: use a pooled one */
        pthread_mutex_unlock(&m->mu);
        return cache_take(m, "", slot, err);
    }
    s->in_use = 1;
    s->last_used = ++m->tick;
    *slot = s;
    c = s->cache;
    pthread_mutex_unlock(&m->mu);
    return c;
}

static void cache_give(model_state *m, ac_complete_cache *c, session_cache *slot)
{
    if (!c)
        return;
    pthread_mutex_lock(&m->mu);
    if (slot) {
        slot->in_use = 0;
        slot->last_used = ++m->tick;
    } else if (m->n_spare_caches < POOL_MAX) {
        m->spare_caches[m->n_spare_caches++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    if (!slot)
        ac_complete_cache_free(c);
}

static ac_lm_scorer *scorer_take(model_state *m, char *err)
{
    ac_lm_scorer *s = NULL;
    pthread_mutex_lock(&m->mu);
    if (m->n_spare_scorers)
        s = m->spare_scorers[--m->n_spare_scorers];
    pthread_mutex_unlock(&m->mu);
    if (!s && ac_lm_scorer_new(m->model, m->bpe, m->tp, &s, err) != AC_OK)
        return NULL;
    return s;
}

static void scorer_give(model_state *m, ac_lm_scorer *s)
{
    pthread_mutex_lock(&m->mu);
    if (m->n_spare_scorers < POOL_MAX) {
        m->spare_scorers[m->n_spare_scorers++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    ac_lm_scorer_free(s);
}

/* --- load and free ------------------------------------------------------------------------------ */

static void model_free(void *state)
{
    model_state *m = state;
    if (!m)
        return;
    for (int i = 0; i < m->n_sessions; i++)
        ac_complete_cache_free(m->sessions[i].cache);
    free(m->sessions);
    for (int i = 0; i < m->n_spare_caches; i++)
        ac_complete_cache_free(m->spare_caches[i]);
    for (int i = 0; i < m->n_spare_scorers; i++)
        ac_lm_scorer_free(m->spare_scorers[i]);
    ac_completer_free(m->completer);
    ac_dict_free(m->dict);
    ac_threadpool_free(m->tp);
    ac_bpe_free(m->bpe);
    ac_model_free(m->model);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int model_load(const ac_config *cfg, void **state, char *err)
{
    *state = NULL;
    model_state *m = calloc(1, sizeof *m);
    if (!m)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->cfg = *cfg;
    double t0 = ac_now();
    int rc;
    char why[AC_ERR_SIZE];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = cfg->quantization ? AC_QUANT_INT8 : AC_QUANT_F32;
    if ((rc = ac_model_load(cfg->model_path, &mp, &m->model, why))) {
        ac__errorf(err, rc, "model %s: %s", cfg->model_path, why);
        goto fail;
    }
    /* the tokenizer files sit with the model (a directory, or next to an .onnx file) */
    char tok[AC_CONFIG_PATH_MAX];
    struct stat st;
    snprintf(tok, sizeof tok, "%s", cfg->model_path);
    if (stat(tok, &st) == 0 && !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(tok, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(tok, sizeof tok, ".");
    }
    if ((rc = ac_bpe_load(tok, &m->bpe, why))) {
        ac__errorf(err, rc, "tokenizer in %s: %s", tok, why);
        goto fail;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    m->threads = cfg->threads > 0 ? cfg->threads : (int)(cores < 1 ? 1 : cores > 4 ? 4 : cores);
    if (m->threads > 1 && !(m->tp = ac_threadpool_new(m->threads))) {
        rc = ac__errorf(err, AC_E_NOMEM, "cannot start %d model threads", m->threads);
        goto fail;
    }
    if ((rc = ac_completer_new(m->model, m->bpe, m->tp, &m->completer, why))) {
        ac__errorf(err, rc, "completer: %s", why);
        goto fail;
    }
    m->cache_params = ac_complete_cache_default_params();
    m->cache_params.n_contexts = 2; /* one session's text, plus one for its edits elsewhere */
    m->cache_params.max_beams = cfg->max_beams < AC_COMPLETE_MAX_BEAMS ? cfg->max_beams : AC_COMPLETE_MAX_BEAMS;
    m->sessions = calloc((size_t)cfg->max_sessions, sizeof *m->sessions);
    if (!m->sessions) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
        goto fail;
    }
    if (cfg->dictionary_path[0]) {
        if ((rc = ac_dict_load(cfg->dictionary_path, &m->dict, why))) {
            ac__errorf(err, rc, "dictionary %s: %s", cfg->dictionary_path, why);
            goto fail;
        }
        if ((rc = ac_dict_user_load(m->dict, cfg->user_dictionary_path[0] ? cfg->user_dictionary_path : NULL,
                                    why))) {
            ac__errorf(err, rc, "user dictionary: %s", why);
            goto fail;
        }
    }
#ifdef __GLIBC__
    /* Loading the tokenizer and the dictionary leaves as much freed heap as they keep (read buffers,
     * sort arrays): hand those pages back, or they stay resident for the daemon's life (5 MB with
     * the default dictionary). */
    malloc_trim(0);
#endif
    m->load_ms = (ac_now() - t0) * 1000;
    *state = m;
    return AC_OK;
fail:
    model_free(m);
    return rc;
}

static void model_describe(void *state, char *out, size_t n)
{
    model_state *m = state;
    char desc[200];
    ac_model_describe(m->model, desc, sizeof desc);
    if (m->dict)
        snprintf(out, n, "%s from %s; %zu-word dictionary; %d model threads", desc, m->cfg.model_path,
                 ac_dict_size(m->dict), m->threads);
    else
        snprintf(out, n, "%s from %s; no dictionary (correct is unavailable); %d model threads", desc,
                 m->cfg.model_path, m->threads);
}

static void model_info(void *state, json_t *obj)
{
    model_state *m = state;
    ac_dims d = ac_model_dims(m->model);
    char desc[200];
    ac_model_describe(m->model, desc, sizeof desc);
    json_object_set_new(obj, "path", json_string(m->cfg.model_path));
    json_object_set_new(obj, "description", json_string(desc));
    json_object_set_new(obj, "n_vocab", json_integer(d.n_vocab));
    json_object_set_new(obj, "n_ctx", json_integer(d.n_ctx));
    json_object_set_new(obj, "n_embd", json_integer(d.n_embd));
    json_object_set_new(obj, "n_head", json_integer(d.n_head));
    json_object_set_new(obj, "n_layer", json_integer(d.n_layer));
    json_object_set_new(obj, "quantization", json_string(ac_model_quantize(m->model) == AC_QUANT_INT8 ? "int8" : "f32"));
    json_object_set_new(obj, "weight_bytes", json_integer((json_int_t)ac_model_weight_bytes(m->model)));
    json_object_set_new(obj, "source", json_string(ac_model_source(m->model)));
    json_object_set_new(obj, "gelu", json_string(d.gelu == AC_GELU_ERF ? "erf" : "tanh"));
    json_object_set_new(obj, "ln_eps", json_real((double)d.ln_eps));
    json_object_set_new(obj, "kernels", json_string(ac_model_kernels(m->model)));
    json_object_set_new(obj, "threads", json_integer(m->threads));
    json_object_set_new(obj, "dictionary", m->dict ? json_string(m->cfg.dictionary_path) : json_null());
    json_object_set_new(obj, "dictionary_words", json_integer(m->dict ? (json_int_t)ac_dict_size(m->dict) : 0));
    json_object_set_new(obj, "load_ms", json_real(m->load_ms));
    ac_memory_stats ms = ac_model_memory(m->model);
    json_t *mem = json_object();
    json_object_set_new(mem, "kv_used_bytes", json_integer((json_int_t)ms.kv_used));
    json_object_set_new(mem, "kv_free_bytes", json_integer((json_int_t)ms.kv_free));
    json_object_set_new(mem, "scratch_bytes", json_integer((json_int_t)ms.scratch));
    json_object_set_new(mem, "session_table_bytes", json_integer((json_int_t)ms.sessions));
    json_object_set_new(obj, "engine_memory", mem);
    pthread_mutex_lock(&m->mu);
    json_object_set_new(obj, "sessions", json_integer(m->n_sessions));
    pthread_mutex_unlock(&m->mu);
}

/* --- requests ----------------------------------------------------------------------------------- */

/* The tail of a long text the model sees: see ac_config_context_start (server.h), which the CLI
 * also uses in process so that both give the same answers. */
static size_t context_start(const model_state *m, const char *text, size_t len)
{
    return ac_config_context_start(&m->cfg, text, len);
}

static int model_complete(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    model_state *m = state;
    ac_complete_params p = ac_complete_default_params();
    int n_ctx = ac_model_dims(m->model).n_ctx;
    p.beam_width = req->beams < m->cache_params.max_beams ? req->beams : m->cache_params.max_beams;
    p.max_tokens = req->max_tokens < AC_COMPLETE_MAX_TOKENS ? req->max_tokens : AC_COMPLETE_MAX_TOKENS;
    if (p.max_tokens > n_ctx * 3 / 4)
        p.max_tokens = n_ctx * 3 / 4 > 0 ? n_ctx * 3 / 4 : 1;
    if (req->stop_rule >= 0)
        p.stop = req->stop_rule;
    if (!isnan(req->min_score))
        p.min_score = (float)req->min_score;
    double left_ms = (req->deadline - ac_now()) * 1000;
    p.deadline_ms = left_ms < 1 ? 1 : (int)left_ms;
    p.after = req->after;
    p.after_len = req->after_len;
    p.cancel = (const int *)cancel; /* decoder.h: read atomically; an atomic_int is an int here */
    p.no_cache = !(req->use_cache && m->cfg.cache);
    size_t start = context_start(m, req->before, req->before_len);
    p.mid_text = req->mid_text || start > 0;

    session_cache *slot;
    ac_complete_cache *cache = cache_take(m, req->session, &slot, err);
    if (!cache)
        return AC_E_NOMEM;
    ac_complete_result r;
    int rc = ac_complete(m->completer, cache, req->before + start, req->before_len - start, &p, &r, err);
    cache_give(m, cache, slot);
    if (rc == AC_OK) {
        /* the best req->n of the beams searched (backend.h): the plain-text reply prints all it gets */
        for (int i = 0; i < r.n && i < req->n && rc == AC_OK; i++) {
            rc = ac__reply_add_completion(rep, r.items[i].text, r.items[i].len, r.items[i].score, r.items[i].n_tokens);
            if (rc == AC_OK && req->want_token_logprobs) {
                /* the decoder reports one score per completion (its mean log-probability per token);
                 * each token of the completion is listed with that mean */
                size_t cap = r.items[i].len + 1, n = 0;
                int32_t *ids = malloc(cap * sizeof *ids);
                if (ids && ac_bpe_encode(m->bpe, NULL, r.items[i].text, r.items[i].len, 0, ids, cap, &n, NULL) == AC_OK)
                    for (size_t k = 0; k < n && rc == AC_OK; k++) {
                        size_t tl;
                        const uint8_t *tb = ac_bpe_token_bytes(m->bpe, ids[k], &tl);
                        if (tb)
                            rc = ac__reply_add_completion_token(rep, (const char *)tb, tl, r.items[i].score);
                    }
                free(ids);
            }
        }
        rep->partial = rep->partial || r.partial;
        rep->cached_tokens += r.timings.cached_tokens;
        rep->new_tokens += r.timings.new_tokens;
    }
    ac_complete_result_free(&r);
    return rc;
}

static int model_correct(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel; /* a correction pass is short: it runs to the end */
    model_state *m = state;
    if (!m->dict)
        return ac__errorf(err, AC_E_UNSUPPORTED, "no dictionary is loaded (set dictionary_path)");
    ac_correct_params p = ac_correct_default_params();
    p.scope = req->scope == 1 ? AC_CORRECT_LAST : AC_CORRECT_ALL;
    p.last_words = req->last_words > 0 ? req->last_words : 3;
    ac_lm_scorer *lm = scorer_take(m, err);
    if (lm)
        p.scorer = ac_lm_scorer_context(lm); /* without one, the dictionary ranks alone */
    ac_correction *out = malloc(MAX_CORRECTIONS * sizeof *out);
    if (!out) {
        if (lm)
            scorer_give(m, lm);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    int n = 0;
    int rc = ac_correct_text(m->dict, req->before, req->before_len, &p, out, MAX_CORRECTIONS, &n, err);
    if (lm)
        scorer_give(m, lm);
    for (int i = 0; rc == AC_OK && i < n; i++) {
        rc = ac__reply_add_correction(rep, out[i].start, out[i].end, out[i].original, strlen(out[i].original),
                                      out[i].replacement, strlen(out[i].replacement), out[i].score);
        for (int k = 0; rc == AC_OK && k < out[i].n_candidates; k++)
            rc = ac__reply_add_candidate(rep, out[i].candidates[k].text, strlen(out[i].candidates[k].text),
                                         out[i].candidates[k].score);
    }
    free(out);
    return rc;
}

static int model_topk(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel;
    model_state *m = state;
    ac_dims d = ac_model_dims(m->model);
    size_t start = context_start(m, req->before, req->before_len);
    size_t len = req->before_len - start;
    int32_t *ids = malloc((len + 2) * sizeof *ids);
    float *logits = malloc((size_t)d.n_vocab * sizeof *logits);
    int32_t *top = malloc((size_t)req->k * sizeof *top);
    float *vals = malloc((size_t)req->k * sizeof *vals);
    ac_session *s = NULL;
    int rc = AC_OK;
    if (!ids || !logits || !top || !vals) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
        goto done;
    }
    /* the context: <|endoftext|> (as documents start in training) and the text's tokens, the last
     * n_ctx - 1 of them */
    size_t n = 0;
    int32_t eot = ac_bpe_eot(m->bpe);
    if (eot >= 0 && !req->mid_text && start == 0)
        ids[n++] = eot;
    size_t got = 0;
    if ((rc = ac_bpe_encode(m->bpe, NULL, req->before + start, len, 0, ids + n, len + 1, &got, err)))
        goto done;
    n += got;
    int32_t *ctx = ids;
    if (n > (size_t)d.n_ctx - 1) {
        ctx = ids + (n - ((size_t)d.n_ctx - 1));
        n = (size_t)d.n_ctx - 1;
    }
    if (n == 0) {
        rc = ac__errorf(err, AC_E_ARG, "topk needs some text in 'before' (the model has no start token)");
        goto done;
    }
    ac_session_params sp = ac_session_default_params();
    sp.n_seq_max = 1;
    if ((rc = ac_session_new(m->model, &sp, &s, err)) || (rc = ac_session_prefill(s, ctx, (int)n, m->tp, logits, 0, err)))
        goto done;
    ac_logprobs_from_logits(logits, d.n_vocab);
    int k = ac_topk(logits, d.n_vocab, req->k, top, vals);
    for (int i = 0; i < k && rc == AC_OK; i++) {
        size_t tl = 0;
        const uint8_t *tb = ac_bpe_token_bytes(m->bpe, top[i], &tl);
        rc = ac__reply_add_top(rep, top[i], tb ? (const char *)tb : "", tb ? tl : 0, vals[i]);
    }
    rep->new_tokens += (int)n;
done:
    ac_session_free(s);
    free(ids);
    free(logits);
    free(top);
    free(vals);
    return rc;
}

static int model_tokenize(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel;
    model_state *m = state;
    int32_t *ids = malloc((req->text_len + 1) * sizeof *ids);
    if (!ids)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    size_t n = 0;
    int rc = ac_bpe_encode(m->bpe, NULL, req->text, req->text_len, 0, ids, req->text_len + 1, &n, err);
    if (rc == AC_OK)
        rc = ac__reply_set_tokens(rep, ids, n);
    free(ids);
    return rc;
}

static int model_detokenize(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel;
    model_state *m = state;
    ac_buf out = {0};
    int rc = ac_bpe_decode(m->bpe, req->tokens, req->n_tokens, &out, err);
    if (rc == AC_OK)
        rc = ac__reply_set_text(rep, out.data ? out.data : "", out.len);
    ac_buf_free(&out);
    return rc;
}

static int model_learn(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel;
    model_state *m = state;
    const char *path = m->cfg.user_dictionary_path[0] ? m->cfg.user_dictionary_path : NULL;
    for (size_t i = 0; i < req->n_words; i++) {
        int rc = ac_dict_add_user_word(m->dict, path, req->words[i], err);
        if (rc)
            return rc;
        rep->learned++;
    }
    return AC_OK;
}

const ac_backend_ops ac__backend_model_ops = {
    .name = "model",
    .load = model_load,
    .free = model_free,
    .describe = model_describe,
    .complete = model_complete,
    .correct = model_correct,
    .topk = model_topk,
    .tokenize = model_tokenize,
    .detokenize = model_detokenize,
    .learn = model_learn,
    .info = model_info,
};
