/* forward.c: the GPT-2 forward pass over a batch of rows (tokens at positions of sessions) with
 * the paged KV cache, split over the thread pool.
 *
 * This is: the math of python/model.py (Hugging Face GPT2LMHeadModel) for new tokens, reading the
 * cached keys and values of earlier positions. The same routine serves a prefill (rows = consecutive
 * positions of one session) and a batched decode (rows = one new token in each of several
 * sessions). This is not: block bookkeeping (session.c, which makes each row's block writable
 * before calling), nor the kernels themselves (kernels.c).
 *
 * Parallel parts: each matrix product is split over column ranges (every row at once, so a weight
 * is read once per batch), and attention over (row, group of heads) pairs. Every output is computed by the
 * same arithmetic whatever the split, so the thread count never changes the result.
 */
#include "engine/model.h"
#include "engine/threadpool.h"

#include <math.h>
#include <string.h>

/* A linear layer y = x @ W + b over all rows, f32 or int8, optionally followed by GELU or added
 * into y (the residual connection). */
typedef struct linear_job {
    const ac__kernels *k;
    float *y;
    int ldy;
    const float *x;               /* f32: [n_rows][ldx] */
    int ldx;
    const ac__f32_matrix *w;      /* f32: the packed matrix; NULL in int8 mode */
    const ac__q8_matrix *q8;      /* int8: the matrix; NULL in f32 mode */
    const ac__q8_act *xq;         /* int8: the rows, quantized */
    const float *b;
    int n_rows, n_out;
    int chunk;                    /* columns per task, a multiple of AC__NP */
    int accumulate;
    int gelu;                     /* -1: none, else enum ac__gelu_kind */
} linear_job;

static void linear_task(void *ctx, int task)
{
    const linear_job *j = ctx;
    int j0 = task * j->chunk, j1 = j0 + j->chunk < j->n_out ? j0 + j->chunk : j->n_out;
    if (j->q8)
        j->k->matmul_q8(j->y, j->ldy, j->xq, j->q8, j->b, j->n_rows, j0, j1, j->accumulate);
    else
        j->k->matmul(j->y, j->ldy, j->x, j->ldx, j->w, j->b, j->n_rows, j0, j1, j->accumulate);
    if (j->gelu >= 0)
        for (int r = 0; r < j->n_rows; r++)
            j->k->gelu(j->y + (size_t)r * j->ldy + j0, j1 - j0, j->gelu);
}

/* Work (multiply-adds) below which a step runs on the caller's thread alone (model.h): waking the workers
 * and waiting for them costs tens of microseconds, more than splitting saves on small steps
 * (decoding with a small model), and much more when other processes hold the other cores. */
double ac__forward_par_min_work = 1 << 20;

/* The pool to use for a step of `work` multiply-adds: tp, or NULL (inline) for small steps. */
static ac_threadpool *pool_for(ac_threadpool *tp, double work)
{
    return work >= ac__forward_par_min_work ? tp : NULL;
}

/* Columns per task: about four tasks per thread for balance, in whole tiles of 128 columns (8
 * panels, the widest tile) when there are enough, else of 16 (one panel). */
static int chunk_for(int n_out, ac_threadpool *tp)
{
    int nt = ac_threadpool_size(tp);
    if (nt == 1)
        return n_out;
    int c = (n_out + 4 * nt - 1) / (4 * nt);
    int unit = n_out >= 128 * 2 * nt ? 128 : AC__NP;
    c = (c + unit - 1) / unit * unit;
    return c < n_out ? c : n_out;
}

/* y[n_rows][ldy] (+)= x[n_rows][n_in] @ W + b, W float32 (packed) or int8; xq: the int8 rows'
 * scratch. */
static void linear(const ac_model *m, ac_threadpool *tp, float *y, int ldy, const float *x, int ldx,
                   const ac__f32_matrix *w, const ac__q8_matrix *q8, ac__q8_act *xq, const float *b, int n_rows,
                   int accumulate, int gelu)
{
    const int n_in = q8 ? q8->n_in : w->n_in, n_out = q8 ? q8->n_out : w->n_out;
    linear_job j = {
        .k = m->k, .y = y, .ldy = ldy, .x = x, .ldx = ldx, .w = q8 ? NULL : w, .q8 = q8, .xq = xq, .b = b,
        .n_rows = n_rows, .n_out = n_out, .accumulate = accumulate, .gelu = gelu,
    };
    if (q8)
        m->k->quantize_rows(xq, x, ldx, n_rows, n_in);
    tp = pool_for(tp, (double)n_rows * n_in * n_out);
    j.chunk = chunk_for(n_out, tp);
    ac__threadpool_run(tp, (n_out + j.chunk - 1) / j.chunk, linear_task, &j);
}

/* The LM head: logits[n_rows][n_vocab] = x @ head^T. */
typedef struct head_job {
    const ac__kernels *k;
    float *y;
    const float *x;
    const ac__f32_matrix *f32;    /* f32: the head, packed */
    const ac__q8_matrix *q8;      /* int8: the head; NULL in f32 mode */
    const ac__q8_act *xq;         /* int8: the rows, quantized */
    int n_rows, n_embd, n_vocab, chunk;
} head_job;

static void head_task(void *ctx, int task)
{
    const head_job *j = ctx;
    int j0 = task * j->chunk, j1 = j0 + j->chunk < j->n_vocab ? j0 + j->chunk : j->n_vocab;
    if (j->q8)
        j->k->matmul_q8(j->y, j->n_vocab, j->xq, j->q8, NULL, j->n_rows, j0, j1, 0);
    else
        j->k->matmul(j->y, j->n_vocab, j->x, j->n_embd, j->f32, NULL, j->n_rows, j0, j1, 0);
}

typedef struct attn_job {
    const ac_model *m;
    const ac__row *rows;
    const float *qkv;             /* [n_rows][3 * n_embd] */
    float *att;                   /* [n_rows][n_embd] */
    int layer;
    float scale;
} attn_job;

/* Heads per attention task: the kernel interleaves a few heads; more tasks than rows keep a pool
 * busy when few rows (decoding) read long caches. */
#define AC__HEADS_PER_TASK 4

static void attn_task(void *ctx, int task)
{
    const attn_job *j = ctx;
    const ac_dims *d = &j->m->dims;
    const int H = d->n_head, C = d->n_embd, hd = C / H, groups = (H + AC__HEADS_PER_TASK - 1) / AC__HEADS_PER_TASK;
    const int r = task / groups, h = task % groups * AC__HEADS_PER_TASK;
    const int nh = H - h < AC__HEADS_PER_TASK ? H - h : AC__HEADS_PER_TASK;
    const ac__row *row = &j->rows[r];
    ac__kv_view view = {
        .blocks = row->s->blocks,
        .k_off = ((size_t)(j->layer * 2 + 0) * H + h) * AC__KV_BLOCK * hd,
        .v_off = ((size_t)(j->layer * 2 + 1) * H + h) * AC__KV_BLOCK * hd,
    };
    j->m->k->attention(j->att + (size_t)r * C + h * hd, j->qkv + (size_t)r * 3 * C + h * hd, &view, nh, row->pos + 1,
                       hd, j->scale);
}

/* Copies each row's new key and value (from qkv) into its session's cache block (keys transposed,
 * see model.h). */
static void store_kv(const ac_model *m, const ac__row *rows, int n, const float *qkv, int layer)
{
    const int H = m->dims.n_head, C = m->dims.n_embd, hd = C / H;
    for (int r = 0; r < n; r++) {
        int p = rows[r].pos;
        float *blk = rows[r].s->blocks[p / AC__KV_BLOCK]->data;
        int slot = p % AC__KV_BLOCK;
        const float *k = qkv + (size_t)r * 3 * C + C, *v = k + C;
        for (int h = 0; h < H; h++) {
            float *kt = blk + ((size_t)(layer * 2 + 0) * H + h) * AC__KV_BLOCK * hd + slot; /* [hd][BLOCK] */
            for (int i = 0; i < hd; i++)
                kt[(size_t)i * AC__KV_BLOCK] = k[h * hd + i];
            memcpy(blk + ((size_t)(layer * 2 + 1) * H + h) * AC__KV_BLOCK * hd + (size_t)slot * hd, v + h * hd,
                   (size_t)hd * sizeof(float));
        }
    }
}

void ac__forward_rows(const ac_model *m, ac__scratch *sc, const ac__row *rows, int n, ac_threadpool *tp,
                      float *logits, int logits_from)
{
    const ac_dims *d = &m->dims;
    const ac__gpt2_weights *w = &m->w;
    const int C = d->n_embd, H = d->n_head;
    const float eps = d->ln_eps;
    const int q8 = m->quantize == AC_QUANT_INT8;
    const int gelu = d->gelu == AC_GELU_ERF ? AC__GELU_ERF : AC__GELU_TANH;

    /* h = wte[tok] + wpe[pos] */
    for (int r = 0; r < n; r++) {
        float *x = sc->x + (size_t)r * C;
        const float *pe = w->wpe + (size_t)rows[r].pos * C;
        ac__model_embedding(m, rows[r].tok, x);
        for (int i = 0; i < C; i++)
            x[i] += pe[i];
    }

    for (int l = 0; l < d->n_layer; l++) {
        const ac__gpt2_layer *L = &w->layers[l];
        const ac__layer_q8 *Q = q8 ? &m->q8[l] : NULL;
        const ac__layer_f32 *F = q8 ? NULL : &m->f32[l];
        /* attention block: x += c_proj(attn(ln_1(x))) */
        for (int r = 0; r < n; r++)
            m->k->layernorm(sc->xn + (size_t)r * C, sc->x + (size_t)r * C, L->ln_1_w, L->ln_1_b, C, eps);
        linear(m, tp, sc->qkv, 3 * C, sc->xn, C, F ? &F->attn : NULL, Q ? &Q->attn : NULL, &sc->xq, L->attn_b, n, 0,
               -1);
        store_kv(m, rows, n, sc->qkv, l);
        attn_job aj = {.m = m, .rows = rows, .qkv = sc->qkv, .att = sc->att, .layer = l,
                       .scale = 1.0f / sqrtf((float)(C / H))};
        double attn_work = 0; /* positions read, times 2 * n_embd (keys and values) */
        for (int r = 0; r < n; r++)
            attn_work += 2.0 * (rows[r].pos + 1) * C;
        ac__threadpool_run(pool_for(tp, attn_work), n * ((H + AC__HEADS_PER_TASK - 1) / AC__HEADS_PER_TASK),
                           attn_task, &aj);
        linear(m, tp, sc->x, C, sc->att, C, F ? &F->attn_proj : NULL, Q ? &Q->attn_proj : NULL, &sc->xq,
               L->attn_proj_b, n, 1, -1);
        /* MLP block: x += c_proj(gelu(c_fc(ln_2(x)))) */
        for (int r = 0; r < n; r++)
            m->k->layernorm(sc->xn + (size_t)r * C, sc->x + (size_t)r * C, L->ln_2_w, L->ln_2_b, C, eps);
        linear(m, tp, sc->mlp, 4 * C, sc->xn, C, F ? &F->fc : NULL, Q ? &Q->fc : NULL, &sc->xq, L->fc_b, n, 0,
               gelu);
        linear(m, tp, sc->x, C, sc->mlp, 4 * C, F ? &F->mlp_proj : NULL, Q ? &Q->mlp_proj : NULL, &sc->xq,
               L->mlp_proj_b, n, 1, -1);
    }

    if (!logits || logits_from >= n)
        return;
    /* logits = ln_f(x) @ head^T, for the rows that want them */
    int nl = n - logits_from;
    for (int r = 0; r < nl; r++)
        m->k->layernorm(sc->xn + (size_t)r * C, sc->x + (size_t)(logits_from + r) * C, w->ln_f_w, w->ln_f_b, C, eps);
    head_job hj = {.k = m->k, .y = logits, .x = sc->xn, .f32 = &m->head_f32,
                   .n_rows = nl, .n_embd = C, .n_vocab = d->n_vocab};
    if (q8) {
        hj.q8 = &m->head_q8;
        hj.xq = &sc->xq;
        m->k->quantize_rows(&sc->xq, sc->xn, C, nl, C);
    }
    tp = pool_for(tp, (double)nl * C * d->n_vocab);
    int nt = ac_threadpool_size(tp);
    hj.chunk = nt == 1 ? d->n_vocab : ((d->n_vocab + 8 * nt - 1) / (8 * nt) + AC__NP - 1) / AC__NP * AC__NP;
    ac__threadpool_run(tp, (d->n_vocab + hj.chunk - 1) / hj.chunk, head_task, &hj);
}
