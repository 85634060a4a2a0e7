/* session.c: sessions and their family's KV block store (model.h): creation, fork, rewind, the
 * block bookkeeping (reference counts, copy-on-write), and the public prefill / decode calls,
 * which check their arguments, make each new position's block writable, and run forward.c.
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

static void store_free(ac__kv_store *kv)
{
    if (!kv)
        return;
    free(kv->data);
    free(kv->ref);
    free(kv->free_list);
    free(kv->slots);
    free(kv->slot_tokens);
    free(kv->slot_blocks);
    free(kv->rows);
    free(kv->x);
    free(kv->xn);
    free(kv->qkv);
    free(kv->att);
    free(kv->mlp);
    ac__q8_act_free(&kv->xq);
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
    const size_t C = (size_t)d->n_embd;
    kv->model = m;
    kv->n_ctx = n_ctx;
    kv->n_seq_max = p->n_seq_max;
    kv->blocks_per_seq = (n_ctx + AC__KV_BLOCK - 1) / AC__KV_BLOCK;
    kv->n_blocks = kv->n_seq_max * kv->blocks_per_seq;
    kv->block_stride = (size_t)d->n_layer * 2 * C * AC__KV_BLOCK;
    /* calloc: the pages of blocks never used are never touched */
    kv->data = calloc((size_t)kv->n_blocks, kv->block_stride * sizeof(float));
    kv->ref = calloc((size_t)kv->n_blocks, sizeof *kv->ref);
    kv->free_list = malloc((size_t)kv->n_blocks * sizeof *kv->free_list);
    kv->slots = calloc((size_t)kv->n_seq_max, sizeof *kv->slots);
    kv->slot_tokens = calloc((size_t)kv->n_seq_max * n_ctx, sizeof *kv->slot_tokens);
    kv->slot_blocks = malloc((size_t)kv->n_seq_max * kv->blocks_per_seq * sizeof *kv->slot_blocks);
    kv->n_batch = p->n_batch;
    kv->n_rows = p->n_batch > p->n_seq_max ? p->n_batch : p->n_seq_max;
    const size_t R = (size_t)kv->n_rows;
    kv->rows = calloc(R, sizeof *kv->rows);
    kv->x = calloc(R * C, sizeof(float));
    kv->xn = calloc(R * C, sizeof(float));
    kv->qkv = calloc(R * 3 * C, sizeof(float));
    kv->att = calloc(R * C, sizeof(float));
    kv->mlp = calloc(R * 4 * C, sizeof(float));
    int xq_failed = m->quantize == AC_QUANT_INT8 && ac__q8_act_alloc(&kv->xq, (int)R, (int)(4 * C));
    if (xq_failed || !kv->data || !kv->ref || !kv->free_list || !kv->slots || !kv->slot_tokens || !kv->slot_blocks ||
        !kv->rows || !kv->x || !kv->xn || !kv->qkv || !kv->att || !kv->mlp) {
        store_free(kv);
        return ac__errorf(err, AC_E_NOMEM, "out of memory for a session (KV store of %d x %d positions)",
                          p->n_seq_max, n_ctx);
    }
    /* hand out low block ids first */
    for (int i = 0; i < kv->n_blocks; i++)
        kv->free_list[i] = kv->n_blocks - 1 - i;
    kv->n_free = kv->n_blocks;
    for (int i = 0; i < kv->n_seq_max; i++) {
        kv->slots[i].kv = kv;
        kv->slots[i].tokens = kv->slot_tokens + (size_t)i * n_ctx;
        kv->slots[i].blocks = kv->slot_blocks + (size_t)i * kv->blocks_per_seq;
    }
    ac_session *s = &kv->slots[0];
    s->in_use = 1;
    s->len = 0;
    for (int b = 0; b < kv->blocks_per_seq; b++)
        s->blocks[b] = -1;
    kv->n_live = 1;
    *out = s;
    return AC_OK;
}

static void block_release(ac__kv_store *kv, int32_t b)
{
    if (b < 0)
        return;
    if (--kv->ref[b] == 0)
        kv->free_list[kv->n_free++] = b;
}

static int32_t block_take(ac__kv_store *kv)
{
    /* cannot run out: the store holds n_seq_max full sessions (see model.h) */
    int32_t b = kv->free_list[--kv->n_free];
    kv->ref[b] = 1;
    return b;
}

/* Makes position pos of s writable: a fresh block at a block boundary, a private copy of a shared
 * block (copy-on-write: the positions before pos in it are copied), or the block itself. */
static void block_make_writable(ac_session *s, int pos)
{
    ac__kv_store *kv = s->kv;
    int bi = pos / AC__KV_BLOCK, used = pos % AC__KV_BLOCK;
    int32_t b = s->blocks[bi];
    if (b < 0) {
        s->blocks[bi] = block_take(kv);
        return;
    }
    if (kv->ref[b] == 1)
        return;
    int32_t nb = block_take(kv);
    if (used > 0) {
        /* copy what the first `used` slots need: each (layer, head)'s transposed keys whole, and the
         * first `used` rows of its values */
        const ac_dims *d = &kv->model->dims;
        const size_t hd = (size_t)(d->n_embd / d->n_head), run = AC__KV_BLOCK * hd, H = (size_t)d->n_head;
        const float *src = kv->data + (size_t)b * kv->block_stride;
        float *dst = kv->data + (size_t)nb * kv->block_stride;
        for (size_t l = 0; l < (size_t)d->n_layer; l++) {
            memcpy(dst + 2 * l * H * run, src + 2 * l * H * run, H * run * sizeof(float));
            for (size_t h = 0; h < H; h++)
                memcpy(dst + ((2 * l + 1) * H + h) * run, src + ((2 * l + 1) * H + h) * run,
                       (size_t)used * hd * sizeof(float));
        }
    }
    block_release(kv, b);
    s->blocks[bi] = nb;
}

void ac_session_free(ac_session *s)
{
    if (!s)
        return;
    ac__kv_store *kv = s->kv;
    for (int b = 0; b < kv->blocks_per_seq; b++) {
        block_release(kv, s->blocks[b]);
        s->blocks[b] = -1;
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
        if (f->blocks[b] >= 0)
            kv->ref[f->blocks[b]]++;
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
        block_release(kv, s->blocks[b]);
        s->blocks[b] = -1;
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
    for (int c0 = 0; c0 < n; c0 += kv->n_batch) {
        int nc = n - c0 < kv->n_batch ? n - c0 : kv->n_batch;
        for (int r = 0; r < nc; r++) {
            int pos = s->len + r;
            block_make_writable(s, pos);
            s->tokens[pos] = ids[c0 + r];
            kv->rows[r] = (ac__row){.s = s, .pos = pos, .tok = ids[c0 + r]};
        }
        int last_chunk = c0 + nc == n;
        if (all_positions)
            ac__forward_rows(m, kv, kv->rows, nc, tp, logits ? logits + (size_t)c0 * V : NULL, 0);
        else
            ac__forward_rows(m, kv, kv->rows, nc, tp, last_chunk ? logits : NULL, nc - 1);
        s->len += nc;
    }
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
    ac__kv_store *sc = ss[0]->kv;
    const ac_model *m = sc->model;
    if (n > sc->n_rows)
        return ac__errorf(err, AC_E_LIMIT, "decode_batch of %d sessions is over the limit of %d (the family's max(n_seq_max, n_batch))", n,
                          sc->n_rows);
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
    for (int i = 0; i < n; i++) {
        ac_session *s = ss[i];
        block_make_writable(s, s->len);
        s->tokens[s->len] = ids[i];
        sc->rows[i] = (ac__row){.s = s, .pos = s->len, .tok = ids[i]};
    }
    ac__forward_rows(m, sc, sc->rows, n, tp, logits, 0);
    for (int i = 0; i < n; i++)
        ss[i]->len++;
    return AC_OK;
}
