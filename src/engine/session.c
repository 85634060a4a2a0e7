/* session.c: sessions and their family's KV block store (model.h): creation, fork, rewind, the
 * block bookkeeping (reference counts, copy-on-write), the model's pool of blocks and scratch
 * (model.h), and the public prefill / decode calls, which check their arguments, make each new
 * position's block writable, take a scratch, and run forward.c.
 *
 * This is not: the forward math (forward.c) nor the kernels (kernels.c).
 */
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

#define AC__DEFAULT_SEQ_MAX 8
#define AC__DEFAULT_BATCH 64
#define AC__MAX_SEQ 1024
#define AC__MAX_BATCH 4096

ac_session_params ac_session_default_params(void)
{
    ac_session_params p;
    memset(&p, 0, sizeof p);
    p.n_ctx = 0;
    p.n_seq_max = AC__DEFAULT_SEQ_MAX;
    p.n_batch = AC__DEFAULT_BATCH;
    return p;
}

/* ------------------------------------------------------------------------------------ pool */

ac__kv_pool *ac__kv_pool_new(const ac_dims *d, int q8)
{
    ac__kv_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->block_floats = (size_t)d->n_layer * 2 * (size_t)d->n_embd * AC__KV_BLOCK;
    p->n_embd = d->n_embd;
    p->q8 = q8;
    return p;
}

static void scratch_free_buffers(ac__scratch *s)
{
    free(s->rows);
    free(s->x);
    free(s->xn);
    free(s->qkv);
    free(s->att);
    free(s->mlp);
    ac__q8_act_free(&s->xq);
    s->rows = NULL;
    s->x = s->xn = s->qkv = s->att = s->mlp = NULL;
    s->cap_rows = 0;
}

static size_t scratch_bytes(const ac__kv_pool *p, int rows)
{
    size_t C = (size_t)p->n_embd, R = (size_t)rows, b = R * sizeof(ac__row) + R * 10 * C * sizeof(float);
    if (p->q8) {
        size_t ld = (4 * C + AC__QK - 1) / AC__QK * AC__QK;
        b += R * ld + R * (ld / AC__QK) * (sizeof(float) + sizeof(int32_t));
    }
    return b;
}

void ac__kv_pool_free(ac__kv_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_blocks; i++) {
        free(p->all[i]->data);
        free(p->all[i]);
    }
    free(p->all);
    while (p->idle) {
        ac__scratch *s = p->idle;
        p->idle = s->next;
        scratch_free_buffers(s);
        free(s);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* A scratch of at least `rows` rows for the calling thread's forward pass, or NULL when out of
 * memory. The pool's idle ones first; a scratch too small is grown (to a power of two, so a
 * scratch grows a few times at most). Give it back with scratch_give. */
static ac__scratch *scratch_take(ac__kv_pool *p, int rows)
{
    pthread_mutex_lock(&p->mu);
    ac__scratch *s = p->idle;
    if (s)
        p->idle = s->next;
    pthread_mutex_unlock(&p->mu);
    if (!s && !(s = calloc(1, sizeof *s)))
        return NULL;
    if (s->cap_rows < rows) {
        int cap = 8;
        while (cap < rows)
            cap *= 2;
        size_t old = s->cap_rows ? scratch_bytes(p, s->cap_rows) : 0;
        scratch_free_buffers(s);
        const size_t C = (size_t)p->n_embd, R = (size_t)cap;
        s->rows = calloc(R, sizeof *s->rows);
        s->x = calloc(R * C, sizeof(float));
        s->xn = calloc(R * C, sizeof(float));
        s->qkv = calloc(R * 3 * C, sizeof(float));
        s->att = calloc(R * C, sizeof(float));
        s->mlp = calloc(R * 4 * C, sizeof(float));
        int xq_failed = p->q8 && ac__q8_act_alloc(&s->xq, cap, (int)(4 * C));
        int ok = !xq_failed && s->rows && s->x && s->xn && s->qkv && s->att && s->mlp;
        pthread_mutex_lock(&p->mu);
        if (old)
            p->scratch_bytes -= old, p->n_scratch--;
        if (ok)
            p->scratch_bytes += scratch_bytes(p, cap), p->n_scratch++;
        pthread_mutex_unlock(&p->mu);
        if (!ok) {
            scratch_free_buffers(s);
            free(s);
            return NULL;
        }
        s->cap_rows = cap;
    }
    return s;
}

static void scratch_give(ac__kv_pool *p, ac__scratch *s)
{
    pthread_mutex_lock(&p->mu);
    s->next = p->idle;
    p->idle = s;
    pthread_mutex_unlock(&p->mu);
}

/* A block with reference count 1: a free one, or a new one. NULL when out of memory. */
static ac__kv_block *block_take(ac__kv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    ac__kv_block *b = p->free;
    if (b) {
        p->free = b->next;
        p->n_free--;
    } else {
        if (p->n_blocks == p->cap_all) {
            size_t cap = p->cap_all ? 2 * p->cap_all : 64;
            ac__kv_block **all = realloc(p->all, cap * sizeof *all);
            if (all)
                p->all = all, p->cap_all = cap;
        }
        /* a new block; its pages are touched only as its positions fill */
        if (p->n_blocks < p->cap_all && (b = malloc(sizeof *b)) &&
            posix_memalign((void **)&b->data, 64, p->block_floats * sizeof(float))) {
            free(b);
            b = NULL;
        }
        if (b)
            p->all[p->n_blocks++] = b;
    }
    pthread_mutex_unlock(&p->mu);
    if (b) {
        b->ref = 1;
        b->next = NULL;
    }
    return b;
}

static void block_release(ac__kv_pool *p, ac__kv_block *b)
{
    if (!b || --b->ref > 0)
        return;
    pthread_mutex_lock(&p->mu);
    b->next = p->free;
    p->free = b;
    p->n_free++;
    pthread_mutex_unlock(&p->mu);
}

ac_memory_stats ac_model_memory(const ac_model *m)
{
    ac_memory_stats st;
    memset(&st, 0, sizeof st);
    if (!m)
        return st;
    ac__kv_pool *p = m->pool;
    st.weights = m->weight_bytes;
    st.kv_block = p->block_floats * sizeof(float);
    pthread_mutex_lock(&p->mu);
    st.kv_used = (p->n_blocks - p->n_free) * st.kv_block;
    st.kv_free = p->n_free * st.kv_block;
    st.scratch = p->scratch_bytes;
    st.n_scratch = p->n_scratch;
    st.sessions = p->family_bytes;
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* -------------------------------------------------------------------------------- families */

static void store_free(ac__kv_store *kv)
{
    if (!kv)
        return;
    ac__kv_pool *p = kv->model->pool;
    pthread_mutex_lock(&p->mu);
    p->family_bytes -= kv->bytes;
    pthread_mutex_unlock(&p->mu);
    free(kv->slots);
    free(kv->slot_tokens);
    free(kv->slot_blocks);
    free(kv);
}

int ac_session_new(const ac_model *m, const ac_session_params *p, ac_session **out, char *err)
{
    *out = NULL;
    ac_session_params defaults = ac_session_default_params();
    if (!p)
        p = &defaults;
    const ac_dims *d = &m->dims;
    int n_ctx = p->n_ctx ? p->n_ctx : d->n_ctx;
    if (n_ctx < 1 || n_ctx > d->n_ctx)
        return ac__errorf(err, AC_E_ARG, "session n_ctx %d is out of range [1, %d] (the model's n_ctx)", p->n_ctx,
                          d->n_ctx);
    if (p->n_seq_max < 1 || p->n_seq_max > AC__MAX_SEQ)
        return ac__errorf(err, AC_E_ARG, "session n_seq_max %d is out of range [1, %d]", p->n_seq_max, AC__MAX_SEQ);
    if (p->n_batch < 1 || p->n_batch > AC__MAX_BATCH)
        return ac__errorf(err, AC_E_ARG, "session n_batch %d is out of range [1, %d]", p->n_batch, AC__MAX_BATCH);

    ac__kv_store *kv = calloc(1, sizeof *kv);
    if (!kv)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a session");
    kv->model = m;
    kv->n_ctx = n_ctx;
    kv->n_seq_max = p->n_seq_max;
    kv->blocks_per_seq = (n_ctx + AC__KV_BLOCK - 1) / AC__KV_BLOCK;
    kv->n_batch = p->n_batch;
    kv->n_rows = p->n_batch > p->n_seq_max ? p->n_batch : p->n_seq_max;
    const size_t S = (size_t)kv->n_seq_max;
    kv->slots = calloc(S, sizeof *kv->slots);
    kv->slot_tokens = malloc(S * (size_t)n_ctx * sizeof *kv->slot_tokens);
    kv->slot_blocks = calloc(S * (size_t)kv->blocks_per_seq, sizeof *kv->slot_blocks);
    if (!kv->slots || !kv->slot_tokens || !kv->slot_blocks) {
        free(kv->slots);
        free(kv->slot_tokens);
        free(kv->slot_blocks);
        free(kv);
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a session (%d sequences of %d positions)",
                          p->n_seq_max, n_ctx);
    }
    kv->bytes = sizeof *kv + S * sizeof *kv->slots + S * (size_t)n_ctx * sizeof *kv->slot_tokens +
                S * (size_t)kv->blocks_per_seq * sizeof *kv->slot_blocks;
    pthread_mutex_lock(&m->pool->mu);
    m->pool->family_bytes += kv->bytes;
    pthread_mutex_unlock(&m->pool->mu);
    for (int i = 0; i < kv->n_seq_max; i++) {
        kv->slots[i].kv = kv;
        kv->slots[i].tokens = kv->slot_tokens + (size_t)i * n_ctx;
        kv->slots[i].blocks = kv->slot_blocks + (size_t)i * kv->blocks_per_seq;
    }
    ac_session *s = &kv->slots[0];
    s->in_use = 1;
    s->len = 0;
    kv->n_live = 1;
    *out = s;
    return AC_OK;
}

/* Makes position pos of s writable: a fresh block at a block boundary, a private copy of a shared
 * block (copy-on-write: the positions before pos in it are copied), or the block itself. Returns
 * AC_OK or AC_E_NOMEM (the session unchanged). */
static int block_make_writable(ac_session *s, int pos, char *err)
{
    ac__kv_store *kv = s->kv;
    ac__kv_pool *pool = kv->model->pool;
    int bi = pos / AC__KV_BLOCK, used = pos % AC__KV_BLOCK;
    ac__kv_block *b = s->blocks[bi];
    if (b && b->ref == 1)
        return AC_OK;
    ac__kv_block *nb = block_take(pool);
    if (!nb)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the KV cache (%zu blocks of %zu bytes held)",
                          pool->n_blocks, pool->block_floats * sizeof(float));
    if (b && used > 0) {
        /* copy what the first `used` slots need: each (layer, head)'s transposed keys whole, and the
         * first `used` rows of its values */
        const ac_dims *d = &kv->model->dims;
        const size_t hd = (size_t)(d->n_embd / d->n_head), run = AC__KV_BLOCK * hd, H = (size_t)d->n_head;
        const float *src = b->data;
        float *dst = nb->data;
        for (size_t l = 0; l < (size_t)d->n_layer; l++) {
            memcpy(dst + 2 * l * H * run, src + 2 * l * H * run, H * run * sizeof(float));
            for (size_t h = 0; h < H; h++)
                memcpy(dst + ((2 * l + 1) * H + h) * run, src + ((2 * l + 1) * H + h) * run,
                       (size_t)used * hd * sizeof(float));
        }
    }
    block_release(pool, b);
    s->blocks[bi] = nb;
    return AC_OK;
}

void ac_session_free(ac_session *s)
{
    if (!s)
        return;
    ac__kv_store *kv = s->kv;
    for (int b = 0; b < kv->blocks_per_seq; b++) {
        block_release(kv->model->pool, s->blocks[b]);
        s->blocks[b] = NULL;
    }
    s->in_use = 0;
    s->len = 0;
    if (--kv->n_live == 0)
        store_free(kv);
}

int ac_session_fork(ac_session *s, ac_session **out, char *err)
{
    *out = NULL;
    ac__kv_store *kv = s->kv;
    ac_session *f = NULL;
    for (int i = 0; i < kv->n_seq_max && !f; i++)
        if (!kv->slots[i].in_use)
            f = &kv->slots[i];
    if (!f)
        return ac__errorf(err, AC_E_LIMIT, "cannot fork: the family already has n_seq_max = %d live sessions",
                          kv->n_seq_max);
    f->in_use = 1;
    f->len = s->len;
    memcpy(f->tokens, s->tokens, (size_t)s->len * sizeof *f->tokens);
    for (int b = 0; b < kv->blocks_per_seq; b++) {
        f->blocks[b] = s->blocks[b];
        if (f->blocks[b])
            f->blocks[b]->ref++;
    }
    kv->n_live++;
    *out = f;
    return AC_OK;
}

int ac_session_rewind(ac_session *s, int n_keep, char *err)
{
    if (n_keep < 0 || n_keep > s->len)
        return ac__errorf(err, AC_E_ARG, "cannot rewind to %d tokens: the session holds %d", n_keep, s->len);
    ac__kv_store *kv = s->kv;
    /* keep the blocks that hold positions < n_keep */
    int keep_blocks = (n_keep + AC__KV_BLOCK - 1) / AC__KV_BLOCK;
    for (int b = keep_blocks; b < kv->blocks_per_seq; b++) {
        block_release(kv->model->pool, s->blocks[b]);
        s->blocks[b] = NULL;
    }
    s->len = n_keep;
    return AC_OK;
}

int ac_session_len(const ac_session *s)
{
    return s->len;
}

const int32_t *ac_session_tokens(const ac_session *s)
{
    return s->tokens;
}

int ac_session_n_ctx(const ac_session *s)
{
    return s->kv->n_ctx;
}

const ac_model *ac_session_model(const ac_session *s)
{
    return s->kv->model;
}

int ac_session_common_prefix(const ac_session *s, const int32_t *ids, int n)
{
    int i = 0;
    while (i < n && i < s->len && s->tokens[i] == ids[i])
        i++;
    return i;
}

static int check_ids(const ac_model *m, const int32_t *ids, int n, char *err)
{
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->dims.n_vocab)
            return ac__errorf(err, AC_E_ARG, "token id %d (at %d) is outside the vocabulary [0, %d)", (int)ids[i], i,
                              m->dims.n_vocab);
    return AC_OK;
}

int ac_session_prefill(ac_session *s, const int32_t *ids, int n, ac_threadpool *tp, float *logits,
                       int all_positions, char *err)
{
    ac__kv_store *kv = s->kv;
    const ac_model *m = kv->model;
    if (n < 1 || !ids)
        return ac__errorf(err, AC_E_ARG, "prefill needs at least one token");
    if (n > kv->n_ctx - s->len)
        return ac__errorf(err, AC_E_LIMIT, "context full: %d tokens held + %d new > n_ctx %d", s->len, n, kv->n_ctx);
    int rc = check_ids(m, ids, n, err);
    if (rc)
        return rc;
    const int V = m->dims.n_vocab;
    const int len0 = s->len;
    ac__scratch *sc = scratch_take(m->pool, n < kv->n_batch ? n : kv->n_batch);
    if (!sc)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a forward pass's scratch");
    for (int c0 = 0; c0 < n; c0 += kv->n_batch) {
        int nc = n - c0 < kv->n_batch ? n - c0 : kv->n_batch;
        for (int r = 0; r < nc; r++) {
            int pos = s->len + r;
            if ((rc = block_make_writable(s, pos, err))) {
                scratch_give(m->pool, sc);
                ac_session_rewind(s, len0, NULL); /* the chunks done go too: the session is unchanged */
                return rc;
            }
            s->tokens[pos] = ids[c0 + r];
            sc->rows[r] = (ac__row){.s = s, .pos = pos, .tok = ids[c0 + r]};
        }
        int last_chunk = c0 + nc == n;
        if (all_positions)
            ac__forward_rows(m, sc, sc->rows, nc, tp, logits ? logits + (size_t)c0 * V : NULL, 0);
        else
            ac__forward_rows(m, sc, sc->rows, nc, tp, last_chunk ? logits : NULL, nc - 1);
        s->len += nc;
    }
    scratch_give(m->pool, sc);
    return AC_OK;
}

int ac_session_decode(ac_session *s, int32_t id, ac_threadpool *tp, float *logits, char *err)
{
    return ac_session_prefill(s, &id, 1, tp, logits, 0, err);
}

int ac_session_decode_batch(ac_session **ss, const int32_t *ids, int n, ac_threadpool *tp, float *logits,
                            char *err)
{
    if (n < 1 || !ss || !ids)
        return ac__errorf(err, AC_E_ARG, "decode_batch needs at least one session");
    const ac__kv_store *fam = ss[0]->kv;
    const ac_model *m = fam->model;
    if (n > fam->n_rows)
        return ac__errorf(err, AC_E_LIMIT, "decode_batch of %d sessions is over the limit of %d (the family's max(n_seq_max, n_batch))", n,
                          fam->n_rows);
    for (int i = 0; i < n; i++) {
        ac_session *s = ss[i];
        if (!s || s->kv->model != m)
            return ac__errorf(err, AC_E_ARG, "decode_batch: session %d is NULL or runs another model", i);
        for (int j = 0; j < i; j++)
            if (ss[j] == s)
                return ac__errorf(err, AC_E_ARG, "decode_batch: session %d appears twice (also at %d)", i, j);
        if (s->len >= s->kv->n_ctx)
            return ac__errorf(err, AC_E_LIMIT, "context full: session %d holds n_ctx = %d tokens", i, s->kv->n_ctx);
    }
    int rc = check_ids(m, ids, n, err);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        if ((rc = block_make_writable(ss[i], ss[i]->len, err)))
            return rc; /* the blocks made so far lie past each session's end: nothing changed */
    ac__scratch *sc = scratch_take(m->pool, n);
    if (!sc)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a forward pass's scratch");
    for (int i = 0; i < n; i++) {
        ac_session *s = ss[i];
        s->tokens[s->len] = ids[i];
        sc->rows[i] = (ac__row){.s = s, .pos = s->len, .tok = ids[i]};
    }
    ac__forward_rows(m, sc, sc->rows, n, tp, logits, 0);
    scratch_give(m->pool, sc);
    for (int i = 0; i < n; i++)
        ss[i]->len++;
    return AC_OK;
}
