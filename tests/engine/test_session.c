/* test_session.c: sessions on the tiny fixture: the KV cache against full recomputation, fork,
 * rewind, batched decode, thread counts, block accounting, the model's pool shared by families,
 * limits and bad arguments.
 *
 * "Fresh" below means a new session fed the same tokens in one prefill; every cached path must give
 * the same logits (bitwise, as the engine promises; checked within TOL_SAME).
 */
#include "check.h"
#include "engine/engine_fixture.h"
#include "engine/model.h"

#define TOL_SAME 1e-6   /* cached vs fresh, batched vs single, threads: the same arithmetic */
#define TOL_REF 1e-4    /* vs the naive reference pass (other kernels, other summation order) */

static ac_model *model_f32, *model_q8;
static int V;

/* KV blocks that model_f32's live sessions hold (its pool's accounting). */
static long blocks_used(void)
{
    ac_memory_stats st = ac_model_memory(model_f32);
    return (long)(st.kv_used / st.kv_block);
}

/* Deterministic pseudo-random token ids. */
static void make_ids(int32_t *ids, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = (int32_t)((seed >> 16) % (unsigned)V);
    }
}

/* Next-token logits of a fresh session fed ids[n] ([V] into out). */
static int fresh_logits(const ac_model *m, const int32_t *ids, int n, float *out)
{
    char err[AC_ERR_SIZE];
    ac_session *s;
    if (ac_session_new(m, NULL, &s, err))
        return -1;
    int rc = ac_session_prefill(s, ids, n, NULL, out, 0, err);
    ac_session_free(s);
    return rc;
}

/* Checks s's next-token logits (given in got) against a fresh run over s's tokens. */
static void check_fresh(const ac_session *s, const float *got, const char *what)
{
    float *want = malloc(sizeof(float) * V);
    CHECK(fresh_logits(ac_session_model(s), ac_session_tokens(s), ac_session_len(s), want) == 0);
    double d = fx_maxdiff(got, want, V);
    CHECKF(d <= TOL_SAME, "%s (len %d): max diff %g from a fresh session", what, ac_session_len(s), d);
    free(want);
}

static void decode_equals_prefill_and_reference(void)
{
    const ac_model *models[] = {model_f32, model_q8};
    for (int mi = 0; mi < 2; mi++) {
        const ac_model *m = models[mi];
        enum { N = 40 };
        int32_t ids[N];
        make_ids(ids, N, 7);
        char err[AC_ERR_SIZE];
        float *all = malloc(sizeof(float) * N * V), *one = malloc(sizeof(float) * V);
        float *chunked = malloc(sizeof(float) * N * V);
        ac_session *a, *b, *c;
        ac_session_params small = ac_session_default_params();
        small.n_batch = 5; /* prefill in chunks of 5 */
        CHECK(ac_session_new(m, NULL, &a, err) == AC_OK);
        CHECK(ac_session_new(m, NULL, &b, err) == AC_OK);
        CHECK(ac_session_new(m, &small, &c, err) == AC_OK);
        CHECK(ac_session_prefill(a, ids, N, NULL, all, 1, err) == AC_OK);
        CHECK(ac_session_prefill(c, ids, N, NULL, chunked, 1, err) == AC_OK);
        CHECKF(fx_maxdiff(all, chunked, (size_t)N * V) <= TOL_SAME, "prefill in chunks of 5 differs");
        for (int t = 0; t < N; t++) {
            CHECK(ac_session_decode(b, ids[t], NULL, one, err) == AC_OK);
            double d = fx_maxdiff(one, all + (size_t)t * V, V);
            CHECKF(d <= TOL_SAME, "model %d position %d: decode vs prefill differ by %g", mi, t, d);
        }
        CHECK(ac_session_len(b) == N);
        if (mi == 0) { /* float32 against the plain reference pass */
            float *ref = malloc(sizeof(float) * N * V);
            ac__gpt2_weights w; /* the weights as loaded (a model's matrices are packed) */
            CHECK(ac__safetensors_load_weights(TINY_DIR "/model.safetensors", &w, err) == AC_OK);
            CHECK(ac__forward_reference(&w, ids, N, ref, err) == AC_OK);
            ac__gpt2_weights_free(&w);
            double d = fx_maxdiff(all, ref, (size_t)N * V);
            CHECKF(d <= TOL_REF, "cached forward vs reference pass: max logit diff %g", d);
            free(ref);
        }
        ac_session_free(a);
        ac_session_free(b);
        ac_session_free(c);
        free(all);
        free(one);
        free(chunked);
    }
}

/* Fork at prefix lengths around block boundaries; both branches go on with different tokens and
 * each step equals a fresh session; the parent is unaffected by the child's writes. */
static void fork_then_diverge(void)
{
    const int prefixes[] = {0, 1, 10, 15, 16, 17, 31, 32};
    char err[AC_ERR_SIZE];
    float *la = malloc(sizeof(float) * V), *lb = malloc(sizeof(float) * V);
    for (size_t pi = 0; pi < sizeof prefixes / sizeof prefixes[0]; pi++) {
        int P = prefixes[pi];
        int32_t pre[64], xa[20], xb[20];
        make_ids(pre, P, 11 + P);
        make_ids(xa, 20, 101);
        make_ids(xb, 20, 202);
        ac_session *a, *b;
        CHECK(ac_session_new(model_f32, NULL, &a, err) == AC_OK);
        if (P)
            CHECK(ac_session_prefill(a, pre, P, NULL, NULL, 0, err) == AC_OK);
        long used_before = blocks_used();
        CHECK(ac_session_fork(a, &b, err) == AC_OK);
        CHECKF(blocks_used() == used_before, "fork took blocks");  /* shared, not copied */
        CHECK(ac_session_len(b) == P);
        CHECK(ac_session_common_prefix(b, pre, P) == P);
        for (int t = 0; t < 20; t++) {
            /* alternate which branch goes first, so each one copies a shared block some of the time */
            if (t % 2 == 0) {
                CHECK(ac_session_decode(b, xb[t], NULL, lb, err) == AC_OK);
                CHECK(ac_session_decode(a, xa[t], NULL, la, err) == AC_OK);
            } else {
                CHECK(ac_session_decode(a, xa[t], NULL, la, err) == AC_OK);
                CHECK(ac_session_decode(b, xb[t], NULL, lb, err) == AC_OK);
            }
            check_fresh(a, la, "fork parent");
            check_fresh(b, lb, "fork child");
        }
        /* a grandchild outlives its parent */
        ac_session *c;
        CHECK(ac_session_fork(b, &c, err) == AC_OK);
        ac_session_free(b);
        CHECK(ac_session_decode(c, 5, NULL, lb, err) == AC_OK);
        check_fresh(c, lb, "grandchild after its parent was freed");
        ac_session_free(c);
        CHECK(ac_session_decode(a, 6, NULL, la, err) == AC_OK);
        check_fresh(a, la, "parent after the children were freed");
        int used = (ac_session_len(a) + AC__KV_BLOCK - 1) / AC__KV_BLOCK;
        CHECKF(blocks_used() == used, "prefix %d: %ld blocks in use, want %d (a leak?)", P, blocks_used(), used);
        ac_session_free(a);
    }
    free(la);
    free(lb);
}

/* Forking in the middle of a block copies exactly that block on the first write, and only once. */
static void fork_copies_one_block(void)
{
    char err[AC_ERR_SIZE];
    int32_t ids[40];
    make_ids(ids, 40, 3);
    ac_session *a, *b;
    CHECK(ac_session_new(model_f32, NULL, &a, err) == AC_OK);
    CHECK(ac_session_prefill(a, ids, 20, NULL, NULL, 0, err) == AC_OK); /* blocks 0 (full) and 1 (4 used) */
    long f0 = blocks_used();
    CHECK(ac_session_fork(a, &b, err) == AC_OK);
    CHECK(a->blocks[0] == b->blocks[0] && a->blocks[1] == b->blocks[1]);
    CHECK(ac_session_decode(b, ids[20], NULL, NULL, err) == AC_OK);
    CHECK(blocks_used() == f0 + 1);
    CHECK(a->blocks[0] == b->blocks[0] && a->blocks[1] != b->blocks[1]);
    CHECK(ac_session_decode(b, ids[21], NULL, NULL, err) == AC_OK);
    CHECK(blocks_used() == f0 + 1);
    /* the parent writes into its block, now its own again: no copy */
    CHECK(ac_session_decode(a, ids[22], NULL, NULL, err) == AC_OK);
    CHECK(blocks_used() == f0 + 1);
    ac_session_free(b);
    CHECK(blocks_used() == f0);
    ac_session_free(a);
}

static void rewind_then_reextend(void)
{
    const int keeps[] = {0, 1, 5, 16, 17, 33, 40};
    char err[AC_ERR_SIZE];
    float *l = malloc(sizeof(float) * V);
    int32_t ids[40], more[12];
    make_ids(ids, 40, 5);
    make_ids(more, 12, 77);
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++) {
        ac_session *s, *sib;
        CHECK(ac_session_new(model_f32, NULL, &s, err) == AC_OK);
        CHECK(ac_session_prefill(s, ids, 40, NULL, NULL, 0, err) == AC_OK);
        CHECK(ac_session_fork(s, &sib, err) == AC_OK); /* shares every block with s */
        CHECK(ac_session_rewind(s, keeps[i], err) == AC_OK);
        CHECK(ac_session_len(s) == keeps[i]);
        CHECK(ac_session_common_prefix(s, ids, 40) == keeps[i]);
        CHECK(ac_session_prefill(s, more, 12, NULL, l, 0, err) == AC_OK);
        check_fresh(s, l, "rewound and re-extended");
        /* the sibling's cache is untouched */
        CHECK(ac_session_decode(sib, 9, NULL, l, err) == AC_OK);
        check_fresh(sib, l, "sibling of a rewound session");
        ac_session_free(sib);
        ac_session_free(s);
    }
    ac_session *s;
    CHECK(ac_session_new(model_f32, NULL, &s, err) == AC_OK);
    CHECK(ac_session_prefill(s, ids, 10, NULL, NULL, 0, err) == AC_OK);
    CHECK(ac_session_rewind(s, 11, err) == AC_E_ARG);
    CHECK(ac_session_rewind(s, -1, err) == AC_E_ARG);
    CHECK(ac_session_len(s) == 10);
    ac_session_free(s);
    free(l);
}

/* decode_batch of 4 sessions (different lengths, two families) equals 4 single decodes. */
static void batch_equals_single(void)
{
    const ac_model *models[] = {model_f32, model_q8};
    for (int mi = 0; mi < 2; mi++) {
        const ac_model *m = models[mi];
        char err[AC_ERR_SIZE];
        int32_t ids[40];
        make_ids(ids, 40, 9);
        ac_session *root, *other, *bs[4], *ss[4];
        CHECK(ac_session_new(m, NULL, &root, err) == AC_OK);
        CHECK(ac_session_new(m, NULL, &other, err) == AC_OK);
        CHECK(ac_session_prefill(root, ids, 13, NULL, NULL, 0, err) == AC_OK);
        CHECK(ac_session_prefill(other, ids + 20, 7, NULL, NULL, 0, err) == AC_OK);
        /* batch members: root, two forks of it (one rewound), and a session of another family */
        bs[0] = root;
        CHECK(ac_session_fork(root, &bs[1], err) == AC_OK);
        CHECK(ac_session_fork(root, &bs[2], err) == AC_OK);
        CHECK(ac_session_rewind(bs[2], 4, err) == AC_OK);
        bs[3] = other;
        /* twins for single decodes */
        for (int i = 0; i < 4; i++) {
            ac_session *src = bs[i];
            CHECK(ac_session_fork(src, &ss[i], err) == AC_OK);
        }
        float *lb = malloc(sizeof(float) * 4 * V), *l1 = malloc(sizeof(float) * V);
        for (int step = 0; step < 20; step++) {
            int32_t next[4] = {ids[step], ids[step + 1], ids[step + 2], ids[(step * 7) % 40]};
            CHECK(ac_session_decode_batch(bs, next, 4, NULL, lb, err) == AC_OK);
            for (int i = 0; i < 4; i++) {
                CHECK(ac_session_decode(ss[i], next[i], NULL, l1, err) == AC_OK);
                double d = fx_maxdiff(lb + (size_t)i * V, l1, V);
                CHECKF(d <= TOL_SAME, "model %d step %d session %d: batched vs single differ by %g", mi, step, i, d);
            }
        }
        check_fresh(bs[2], lb + 2 * V, "batched session");
        for (int i = 0; i < 4; i++)
            ac_session_free(ss[i]);
        for (int i = 0; i < 4; i++)
            ac_session_free(bs[i]);
        free(lb);
        free(l1);
    }
}

/* 1..4 threads give bitwise the same logits (prefill, decode, batch; f32 and int8), with every step
 * split over the pool (the tiny model is below the usual threshold). */
static void threads_give_same_results(void)
{
    double saved = ac__forward_par_min_work;
    ac__forward_par_min_work = 0;
    const ac_model *models[] = {model_f32, model_q8};
    enum { N = 30 };
    int32_t ids[N];
    make_ids(ids, N, 21);
    char err[AC_ERR_SIZE];
    for (int mi = 0; mi < 2; mi++) {
        float *base = malloc(sizeof(float) * (N + 3) * V), *got = malloc(sizeof(float) * (N + 3) * V);
        for (int nt = 1; nt <= 4; nt++) {
            ac_threadpool *tp = ac_threadpool_new(nt);
            CHECK(tp != NULL && ac_threadpool_size(tp) == nt);
            float *out = nt == 1 ? base : got;
            ac_session *s, *f[2];
            CHECK(ac_session_new(models[mi], NULL, &s, err) == AC_OK);
            CHECK(ac_session_prefill(s, ids, N, tp, out, 1, err) == AC_OK);
            CHECK(ac_session_decode(s, 3, tp, out + (size_t)N * V, err) == AC_OK);
            CHECK(ac_session_fork(s, &f[0], err) == AC_OK);
            CHECK(ac_session_fork(s, &f[1], err) == AC_OK);
            int32_t two[2] = {4, 5};
            CHECK(ac_session_decode_batch(f, two, 2, tp, out + (size_t)(N + 1) * V, err) == AC_OK);
            if (nt > 1) {
                double d = fx_maxdiff(base, got, (size_t)(N + 3) * V);
                CHECKF(d == 0.0, "model %d, %d threads: differs from 1 thread by %g", mi, nt, d);
            }
            ac_session_free(f[0]);
            ac_session_free(f[1]);
            ac_session_free(s);
            ac_threadpool_free(tp);
        }
        free(base);
        free(got);
    }
    ac__forward_par_min_work = saved;
}

static void context_full_is_a_limit(void)
{
    char err[AC_ERR_SIZE];
    int32_t ids[64];
    make_ids(ids, 64, 1);
    ac_session_params p = ac_session_default_params();
    p.n_ctx = 20;
    ac_session *s, *t;
    CHECK(ac_session_new(model_f32, &p, &s, err) == AC_OK);
    CHECK(ac_session_n_ctx(s) == 20);
    CHECK(ac_session_prefill(s, ids, 21, NULL, NULL, 0, err) == AC_E_LIMIT);
    CHECK(strstr(err, "context full") != NULL);
    CHECK(ac_session_len(s) == 0);
    CHECK(ac_session_prefill(s, ids, 19, NULL, NULL, 0, err) == AC_OK);
    CHECK(ac_session_fork(s, &t, err) == AC_OK);
    CHECK(ac_session_decode(t, 1, NULL, NULL, err) == AC_OK);
    CHECK(ac_session_decode(t, 1, NULL, NULL, err) == AC_E_LIMIT);
    ac_session *pair[2] = {s, t};
    int32_t two[2] = {1, 2};
    CHECK(ac_session_decode_batch(pair, two, 2, NULL, NULL, err) == AC_E_LIMIT);
    CHECK(ac_session_len(s) == 19 && ac_session_len(t) == 20); /* neither changed */
    /* the model's own n_ctx (64) bounds a default session */
    ac_session *u;
    CHECK(ac_session_new(model_f32, NULL, &u, err) == AC_OK);
    CHECK(ac_session_n_ctx(u) == 64);
    CHECK(ac_session_prefill(u, ids, 64, NULL, NULL, 0, err) == AC_OK);
    CHECK(ac_session_decode(u, 0, NULL, NULL, err) == AC_E_LIMIT);
    ac_session_free(u);
    ac_session_free(t);
    ac_session_free(s);
}

static void bad_arguments_are_errors(void)
{
    char err[AC_ERR_SIZE];
    float *l1 = malloc(sizeof(float) * V), *l2 = malloc(sizeof(float) * V);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ac_session *s, *f;
    ac_session_params p = ac_session_default_params();
    p.n_seq_max = 3;
    p.n_batch = 2; /* so a batch holds at most 3 rows */
    CHECK(ac_session_new(model_f32, &p, &s, err) == AC_OK);
    CHECK(ac_session_prefill(s, ids, 4, NULL, NULL, 0, err) == AC_OK);
    int32_t bad[2] = {5, 297};
    CHECK(ac_session_prefill(s, bad, 2, NULL, NULL, 0, err) == AC_E_ARG);
    CHECK(strstr(err, "297") != NULL);
    CHECK(ac_session_decode(s, -1, NULL, NULL, err) == AC_E_ARG);
    CHECK(ac_session_prefill(s, ids, 0, NULL, NULL, 0, err) == AC_E_ARG);
    CHECK(ac_session_len(s) == 4);
    CHECK(ac_session_decode(s, 5, NULL, l1, err) == AC_OK);
    check_fresh(s, l1, "after refused calls");
    /* forks up to n_seq_max, then a limit */
    ac_session *g;
    CHECK(ac_session_fork(s, &f, err) == AC_OK);
    CHECK(ac_session_fork(s, &g, err) == AC_OK);
    ac_session *h;
    CHECK(ac_session_fork(s, &h, err) == AC_E_LIMIT && h == NULL);
    ac_session *dup[2] = {f, f};
    int32_t two[2] = {1, 2};
    CHECK(ac_session_decode_batch(dup, two, 2, NULL, NULL, err) == AC_E_ARG);
    ac_session *other;
    CHECK(ac_session_new(model_f32, NULL, &other, err) == AC_OK);
    ac_session *four[4] = {s, f, g, other};
    CHECK(ac_session_decode_batch(four, (int32_t[4]){1, 2, 3, 4}, 4, NULL, NULL, err) == AC_E_LIMIT);
    ac_session *with_null[2] = {s, NULL};
    CHECK(ac_session_decode_batch(with_null, two, 2, NULL, NULL, err) == AC_E_ARG);
    ac_session_free(other);
    (void)l2;
    ac_session_free(g);
    ac_session_free(f);
    ac_session_free(s);
    /* bad params */
    ac_session *x;
    p = ac_session_default_params();
    p.n_ctx = 65;
    CHECK(ac_session_new(model_f32, &p, &x, err) == AC_E_ARG);
    p = ac_session_default_params();
    p.n_seq_max = 0;
    CHECK(ac_session_new(model_f32, &p, &x, err) == AC_E_ARG);
    p = ac_session_default_params();
    p.n_batch = -3;
    CHECK(ac_session_new(model_f32, &p, &x, err) == AC_E_ARG);
    ac_session_free(NULL);
    free(l1);
    free(l2);
}

static void logits_helpers(void)
{
    float x[6] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 2.0f};
    int32_t ids[6];
    float vals[6];
    CHECK(ac_topk(x, 6, 3, ids, vals) == 3);
    CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 5); /* ties: lower index first */
    CHECK(vals[0] == 3.0f && vals[2] == 2.0f);
    CHECK(ac_topk(x, 6, 10, ids, NULL) == 6);
    CHECK(ids[5] == 2);
    CHECK(ac_topk(x, 6, 0, ids, NULL) == 0);
    ac_logprobs_from_logits(x, 6);
    double sum = 0;
    for (int i = 0; i < 6; i++)
        sum += exp(x[i]);
    CHECK_NEAR(sum, 1.0, 1e-6);
    CHECK_NEAR(x[1] - x[0], 2.0, 1e-6);
    float big[3] = {1000.0f, 999.0f, -1000.0f}; /* no overflow */
    ac_logprobs_from_logits(big, 3);
    CHECK(isfinite(big[0]) && big[0] < 0 && big[0] > -1);
}

/* One family's beam search: a root over 20 tokens (blocks 0 full, 1 partly), 4 forks decoding 3
 * tokens each in batches (each fork copies block 1), then the forks freed. Returns the root. */
static ac_session *family_with_beams(unsigned seed)
{
    char err[AC_ERR_SIZE];
    int32_t ids[20], tok[4];
    make_ids(ids, 20, seed);
    ac_session *root, *beams[4];
    CHECK(ac_session_new(model_f32, NULL, &root, err) == AC_OK);
    CHECK(ac_session_prefill(root, ids, 20, NULL, NULL, 0, err) == AC_OK);
    for (int i = 0; i < 4; i++)
        CHECK(ac_session_fork(root, &beams[i], err) == AC_OK);
    for (int step = 0; step < 3; step++) {
        make_ids(tok, 4, seed + 100 + step);
        CHECK(ac_session_decode_batch(beams, tok, 4, NULL, NULL, err) == AC_OK);
    }
    for (int i = 0; i < 4; i++)
        ac_session_free(beams[i]);
    return root;
}

/* The pool: the blocks a family's forks copy go back to it and serve the next family, so what
 * stays per family is its root's blocks; one thread's forward passes share one scratch; nothing is
 * allocated once the pool holds what the work needs; the accounting adds up and goes to zero. */
static void pool_is_shared_by_families(void)
{
    ac_memory_stats st0 = ac_model_memory(model_f32);
    CHECK(st0.kv_used == 0 && st0.sessions == 0); /* every earlier test freed its sessions */
    CHECK(st0.weights == ac_model_weight_bytes(model_f32));
    ac_dims d = ac_model_dims(model_f32);
    CHECK(st0.kv_block == (size_t)d.n_layer * 2 * d.n_embd * AC__KV_BLOCK * sizeof(float));
    const size_t B = st0.kv_block;

    ac_session *a = family_with_beams(1);
    ac_memory_stats st1 = ac_model_memory(model_f32);
    CHECKF(st1.kv_used == 2 * B, "one root of 20 tokens holds %zu blocks, want 2", st1.kv_used / B);
    CHECKF(st1.kv_used + st1.kv_free >= 6 * B, "the forks' copies went through the pool: %zu blocks made",
           (st1.kv_used + st1.kv_free) / B);
    ac_session *b = family_with_beams(2);
    ac_memory_stats st2 = ac_model_memory(model_f32);
    CHECKF(st2.kv_used == 4 * B, "two roots hold %zu blocks, want 4", st2.kv_used / B);
    CHECKF(st2.kv_used + st2.kv_free <= st1.kv_used + st1.kv_free + 2 * B,
           "a second family made %zu blocks, more than its root's 2: the first one's forks were not reused",
           (st2.kv_used + st2.kv_free - st1.kv_used - st1.kv_free) / B);
    CHECKF(st2.n_scratch == 1, "%d scratch buffers for one thread", st2.n_scratch);
    /* the steady state: the same work again allocates nothing */
    ac_session *c = family_with_beams(3);
    ac_session_free(c);
    ac_memory_stats st3 = ac_model_memory(model_f32);
    CHECK(st3.kv_used + st3.kv_free == st2.kv_used + st2.kv_free && st3.scratch == st2.scratch);
    /* a family's tables: n_seq_max * (n_ctx tokens + its blocks' pointers), a little more */
    size_t per_family = 8 * ((size_t)d.n_ctx * sizeof(int32_t) + (size_t)(d.n_ctx + 15) / 16 * sizeof(void *) + 64) + 256;
    CHECKF(st3.sessions > 0 && st3.sessions <= 2 * per_family, "two families' tables: %zu bytes (bound %zu)",
           st3.sessions, 2 * per_family);
    ac_session_free(a);
    ac_session_free(b);
    ac_memory_stats st4 = ac_model_memory(model_f32);
    CHECK(st4.kv_used == 0 && st4.sessions == 0 && st4.kv_free == st3.kv_used + st3.kv_free);
}

int main(void)
{
    char err[AC_ERR_SIZE];
    ac_model_params p = ac_model_default_params();
    if (ac_model_load(TINY_DIR "/model.safetensors", &p, &model_f32, err)) {
        printf("FAIL: load_tiny: %s\n", err);
        return 1;
    }
    p.quantize = AC_QUANT_INT8;
    if (ac_model_load(TINY_DIR "/model.safetensors", &p, &model_q8, err)) {
        printf("FAIL: load_tiny_int8: %s\n", err);
        return 1;
    }
    V = ac_model_dims(model_f32).n_vocab;
    RUN(decode_equals_prefill_and_reference);
    RUN(fork_then_diverge);
    RUN(fork_copies_one_block);
    RUN(rewind_then_reextend);
    RUN(batch_equals_single);
    RUN(threads_give_same_results);
    RUN(context_full_is_a_limit);
    RUN(bad_arguments_are_errors);
    RUN(logits_helpers);
    RUN(pool_is_shared_by_families);
    ac_model_free(model_f32);
    ac_model_free(model_q8);
    return CHECK_EXIT_CODE();
}
