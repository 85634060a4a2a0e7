/* test_onnx.c: the ONNX loader (src/engine/onnx_*.c) on the committed fixtures and on files this
 * test derives from them: every variant's weights against the safetensors copy (float32 exactly;
 * float16 and int8 variants against the rounding make_fixtures.py documents), dimensions, GELU kind
 * and head tying, Hugging Face-recipe exports, external data, typed-field storage, Constant nodes,
 * and refusal of bad files (unknown op, wrong shape, truncation, random bytes, mutations).
 *
 * Derived files are built with protobuf-c (the same generated onnx.pb-c.h as the loader) in a
 * temporary directory that the test removes.
 */
#include "check.h"
#include "engine/engine_fixture.h"
#include "engine/onnx_model.h"
#include "engine/onnx_wire.h"
#include "engine/weights.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TINY "tests/fixtures/tiny"
#define HF "tests/fixtures/hf_style"
#define BAD "tests/fixtures/bad"

static char tmpdir[256];

/* ------------------------------------------------------------------ helpers */

static int load_onnx(const char *path, ac__gpt2_weights *w, char *err)
{
    return ac__onnx_load_weights(path, w, err);
}

static int load_st(const char *dir, ac__gpt2_weights *w)
{
    char err[AC_ERR_SIZE];
    int rc = ac__safetensors_load_weights(dir, w, err);
    if (rc)
        fprintf(stderr, "  safetensors %s: %s\n", dir, err);
    return rc;
}

/* One named float array of a weights struct. */
typedef struct warr {
    char name[48];
    float *p;
    size_t n;
    int kind;   /* 0 vector/other, 1 int8-quantized matrix channel per column, 2 per row (wte) */
} warr;

/* Lists the arrays of w in a fixed order; returns the count. */
static int arrays(ac__gpt2_weights *w, warr *out, int max)
{
    const ac__gpt2_dims *d = &w->dims;
    size_t E = (size_t)d->n_embd;
    int n = 0;
#define ADD(nm, ptr, cnt, k) do { if (n < max) { snprintf(out[n].name, sizeof out[n].name, "%s", nm); \
        out[n].p = (ptr); out[n].n = (cnt); out[n].kind = (k); n++; } } while (0)
    ADD("wte", w->wte, (size_t)d->n_vocab * E, 2);
    ADD("wpe", w->wpe, (size_t)d->n_ctx * E, 0);
    for (int l = 0; l < d->n_layer; l++) {
        ac__gpt2_layer *L = &w->layers[l];
        char nm[48];
#define ADDL(field, cnt, k) do { snprintf(nm, sizeof nm, "h.%d.%s", l, #field); ADD(nm, L->field, cnt, k); } while (0)
        ADDL(ln_1_w, E, 0);
        ADDL(ln_1_b, E, 0);
        ADDL(attn_w, E * 3 * E, 1);
        ADDL(attn_b, 3 * E, 0);
        ADDL(attn_proj_w, E * E, 1);
        ADDL(attn_proj_b, E, 0);
        ADDL(ln_2_w, E, 0);
        ADDL(ln_2_b, E, 0);
        ADDL(fc_w, E * 4 * E, 1);
        ADDL(fc_b, 4 * E, 0);
        ADDL(mlp_proj_w, 4 * E * E, 1);
        ADDL(mlp_proj_b, E, 0);
#undef ADDL
    }
    ADD("ln_f_w", w->ln_f_w, E, 0);
    ADD("ln_f_b", w->ln_f_b, E, 0);
#undef ADD
    return n;
}

static int dims_equal(const ac__gpt2_dims *a, const ac__gpt2_dims *b)
{
    return a->n_vocab == b->n_vocab && a->n_ctx == b->n_ctx && a->n_embd == b->n_embd && a->n_head == b->n_head &&
           a->n_layer == b->n_layer && a->gelu == b->gelu && a->ln_eps == b->ln_eps;
}

/* Checks that got's arrays equal want's bit for bit (dims, every array, tying). */
static void check_same_weights(const char *what, ac__gpt2_weights *got, ac__gpt2_weights *want)
{
    CHECKF(dims_equal(&got->dims, &want->dims), "%s: dims V%d C%d E%d H%d L%d gelu%d, want V%d C%d E%d H%d L%d gelu%d",
           what, got->dims.n_vocab, got->dims.n_ctx, got->dims.n_embd, got->dims.n_head, got->dims.n_layer,
           got->dims.gelu, want->dims.n_vocab, want->dims.n_ctx, want->dims.n_embd, want->dims.n_head,
           want->dims.n_layer, want->dims.gelu);
    if (!dims_equal(&got->dims, &want->dims))
        return;
    warr a[512], b[512];
    int na = arrays(got, a, 512), nb = arrays(want, b, 512);
    CHECK(na == nb);
    for (int i = 0; i < na && i < nb; i++) {
        CHECKF(a[i].p != NULL, "%.100s: %.40s is NULL", what, a[i].name);
        if (!a[i].p || !b[i].p)
            continue;
        size_t bad = a[i].n;
        for (size_t j = 0; j < a[i].n && bad == a[i].n; j++)
            if (memcmp(&a[i].p[j], &b[i].p[j], sizeof(float)) != 0)
                bad = j;
        CHECKF(bad == a[i].n, "%.100s: %.40s[%zu] = %.9g, want %.9g", what, a[i].name, bad,
               bad < a[i].n ? a[i].p[bad] : 0.0, bad < a[i].n ? b[i].p[bad] : 0.0);
    }
    CHECKF((got->lm_head == NULL) == (want->lm_head == NULL), "%s: lm_head %s, want %s", what,
           got->lm_head ? "untied" : "tied", want->lm_head ? "untied" : "tied");
}

/* float32 -> float16 (round to nearest even) -> float32, as numpy's astype(float16) does. */
static float round_half(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    if (u >= 0x7f800000u) {
        /* inf / nan unchanged */
    } else if (u >= 0x477ff000u) {
        u = 0x7f800000u;   /* rounds past 65504 */
    } else if (u < 0x38800000u) {
        float a;
        memcpy(&a, &u, 4);
        a = nearbyintf(a * 16777216.0f) / 16777216.0f;   /* subnormal half: multiples of 2^-24 */
        memcpy(&u, &a, 4);
    } else {
        u += 0x0fffu + ((u >> 13) & 1u);
        u &= ~0x1fffu;
    }
    u |= sign;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* make_fixtures.py's quantize_int8 then dequantize: per channel (column when by_col, else row)
 * scale = max|w| / 127 (1 for an all-zero channel), q = round_half_even(w / scale) in [-127, 127]. */
static void round_int8(float *w, size_t rows, size_t cols, int by_col)
{
    size_t nch = by_col ? cols : rows, len = by_col ? rows : cols;
    for (size_t ch = 0; ch < nch; ch++) {
        float amax = 0;
        for (size_t k = 0; k < len; k++) {
            float v = fabsf(by_col ? w[k * cols + ch] : w[ch * cols + k]);
            amax = v > amax ? v : amax;
        }
        float scale = amax > 0 ? amax / 127.0f : 1.0f;
        for (size_t k = 0; k < len; k++) {
            float *p = by_col ? &w[k * cols + ch] : &w[ch * cols + k];
            float q = nearbyintf(*p / scale);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            *p = (float)(int8_t)q * scale;   /* through int8, as torch does: -0 becomes 0 */
        }
    }
}

static int contains(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
    char err[AC_ERR_SIZE];
    if (ac_file_read(path, (size_t)1 << 30, (char **)data, len, err)) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    return 0;
}

static int write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static Onnx__ModelProto *proto_load(const char *path)
{
    uint8_t *data;
    size_t len;
    if (read_all(path, &data, &len))
        return NULL;
    Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, len, data);
    free(data);
    return p;
}

/* Packs p into path. */
static int proto_save(Onnx__ModelProto *p, const char *path)
{
    size_t n = onnx__model_proto__get_packed_size(p);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    onnx__model_proto__pack(p, buf);
    int rc = write_all(path, buf, n);
    free(buf);
    return rc;
}

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

/* A fresh subdirectory of tmpdir. */
static void tmp_subdir(char *out, size_t size, const char *name)
{
    tmp_path(out, size, name);
    mkdir(out, 0700);
}

/* ------------------------------------------------------------------ variants against safetensors */

static void check_variant(const char *onnx_path, const char *st_dir, int gelu, int expect_untied)
{
    ac__gpt2_weights got, want;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(onnx_path, &got, err);
    CHECKF(rc == AC_OK, "%s: %s", onnx_path, err);
    if (rc)
        return;
    if (load_st(st_dir, &want) == AC_OK) {
        CHECKF(got.dims.gelu == gelu, "%s: gelu %d, want %d", onnx_path, got.dims.gelu, gelu);
        if (!expect_untied)
            check_same_weights(onnx_path, &got, &want);
        ac__gpt2_weights_free(&want);
    } else {
        CHECK(!"safetensors copy loads");
    }
    CHECKF(contains(got.source, "onnx opset"), "source \"%s\"", got.source);
    ac__gpt2_weights_free(&got);
}

static void onnx_f32_variants_equal_safetensors(void)
{
    const char *files[] = {TINY "/model.onnx", TINY "/model_op13.onnx", TINY "/model_past.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        check_variant(files[i], TINY, AC__GELU_TANH, 0);
}

static void onnx_dims_and_head(void)
{
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(TINY "/model.onnx", &w, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc)
        return;
    /* tests/fixtures/tiny/config.json: vocab 297, 64 positions, n_embd 32, 2 layers, 4 heads */
    CHECK(w.dims.n_vocab == 297 && w.dims.n_ctx == 64 && w.dims.n_embd == 32 && w.dims.n_layer == 2 &&
          w.dims.n_head == 4);
    CHECK(w.dims.gelu == AC__GELU_TANH);
    CHECK_NEAR(w.dims.ln_eps, 1e-5, 1e-12);
    CHECK(w.lm_head == NULL);
    CHECK_STR(w.source, "onnx opset 17, float32 weights, tied head");
    ac__gpt2_weights_free(&w);

    rc = load_onnx(TINY "/model_past.onnx", &w, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (!rc)
        CHECKF(contains(w.source, "past inputs"), "source \"%s\"", w.source);
    ac__gpt2_weights_free(&w);
}

static void onnx_erf_variant(void)
{
    check_variant(TINY "/model_erf.onnx", TINY "/erf", AC__GELU_ERF, 0);
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    if (load_onnx(TINY "/model_erf.onnx", &w, err) == AC_OK) {
        CHECK(w.dims.n_embd == 24 && w.dims.n_head == 3 && w.dims.n_layer == 1);
        ac__gpt2_weights_free(&w);
    }
}

static void onnx_hf_recipe_exports(void)
{
    /* make_hf_style.py: HF's GPT-2 code path through plain torch.onnx.export, opsets 13 and 14,
     * torch's own names and anonymous ones; both tie the head through a folded copy of wte^T */
    check_variant(HF "/model_op13.onnx", TINY, AC__GELU_TANH, 0);
    check_variant(HF "/model_op14_anon.onnx", TINY, AC__GELU_TANH, 0);
    /* with attention_mask and position_ids inputs: two matrices are gathered by graph inputs, the
     * token table is the one the LM head matches */
    check_variant(HF "/model_mask_op14.onnx", TINY, AC__GELU_TANH, 0);
}

/* The HF-recipe files through the whole engine (ac_model_load + forward) against PyTorch's
 * log-probabilities for the tiny model (expected.json "f32"): the loader's reading of a graph it
 * was not written for gives the same numbers. */
static void onnx_hf_recipe_forward(void)
{
    fx_ref ref;
    if (fx_ref_load("f32", &ref))
        SKIP("expected.json has no f32 reference");
    ac_threadpool *tp = ac_threadpool_new(1);
    const char *files[] = {HF "/model_op13.onnx", HF "/model_op14_anon.onnx", HF "/model_mask_op14.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char err[AC_ERR_SIZE];
        ac_model_params p = ac_model_default_params();
        ac_model *m = NULL;
        int rc = ac_model_load(files[i], &p, &m, err);
        CHECKF(rc == AC_OK, "%s: %s", files[i], err);
        if (rc)
            continue;
        float *lp = fx_logprobs(m, ref.ids, ref.n, tp);
        CHECK(lp != NULL);
        if (lp) {
            double d = fx_maxdiff(lp, ref.logprobs, (size_t)ref.n * ref.n_vocab);
            CHECKF(d <= TOL_TORCH, "%s: max |log-prob difference| %g against PyTorch", files[i], d);
        }
        free(lp);
        ac_model_free(m);
    }
    ac_threadpool_free(tp);
    fx_ref_free(&ref);
}

static void onnx_untied_head(void)
{
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(HF "/model_untied_op14.onnx", &w, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc)
        return;
    CHECK(w.lm_head != NULL);
    CHECKF(contains(w.source, "untied head"), "source \"%s\"", w.source);
    if (w.lm_head) {
        /* make_hf_style.py sets lm_head.weight = 0.5 * wte ([n_vocab][n_embd]); halving is exact */
        size_t n = (size_t)w.dims.n_vocab * (size_t)w.dims.n_embd, bad = n;
        for (size_t i = 0; i < n && bad == n; i++)
            if (w.lm_head[i] != 0.5f * w.wte[i])
                bad = i;
        CHECKF(bad == n, "lm_head[%zu] = %g, want %g", bad, bad < n ? w.lm_head[bad] : 0.0,
               bad < n ? 0.5 * w.wte[bad] : 0.0);
    }
    ac__gpt2_weights_free(&w);
}

static void onnx_fp16_rounding(void)
{
    ac__gpt2_weights got, want;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(TINY "/model_fp16.onnx", &got, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc || load_st(TINY, &want)) {
        if (!rc)
            ac__gpt2_weights_free(&got);
        return;
    }
    /* export_model.py --fp16: every parameter stored as float16 (+ Cast) */
    warr b[512];
    int nb = arrays(&want, b, 512);
    for (int i = 0; i < nb; i++)
        for (size_t j = 0; j < b[i].n; j++)
            b[i].p[j] = round_half(b[i].p[j]);
    check_same_weights("model_fp16.onnx", &got, &want);
    CHECKF(contains(got.source, "float16 weights"), "source \"%s\"", got.source);
    ac__gpt2_weights_free(&got);
    ac__gpt2_weights_free(&want);
}

static void onnx_int8_rounding(void)
{
    ac__gpt2_weights got, want;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(TINY "/model_int8.onnx", &got, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (rc || load_st(TINY, &want)) {
        if (!rc)
            ac__gpt2_weights_free(&got);
        return;
    }
    /* export_model.py --int8: wte per row (axis 0), the Conv1D matrices per output column (axis 1) */
    size_t E = (size_t)want.dims.n_embd;
    round_int8(want.wte, (size_t)want.dims.n_vocab, E, 0);
    for (int l = 0; l < want.dims.n_layer; l++) {
        ac__gpt2_layer *L = &want.layers[l];
        round_int8(L->attn_w, E, 3 * E, 1);
        round_int8(L->attn_proj_w, E, E, 1);
        round_int8(L->fc_w, E, 4 * E, 1);
        round_int8(L->mlp_proj_w, 4 * E, E, 1);
    }
    check_same_weights("model_int8.onnx", &got, &want);
    CHECKF(contains(got.source, "int8"), "source \"%s\"", got.source);
    ac__gpt2_weights_free(&got);
    ac__gpt2_weights_free(&want);
}

static void onnx_half_conversion_exact(void)
{
    int bad = -1;
    for (uint32_t h = 0; h < 65536 && bad < 0; h++) {
        int e = (h >> 10) & 0x1f, man = h & 0x3ff;
        float want;
        if (e == 0x1f)
            want = man ? NAN : INFINITY;
        else if (e == 0)
            want = ldexpf((float)man, -24);
        else
            want = ldexpf((float)(man | 0x400), e - 25);
        if (h & 0x8000)
            want = -want;
        float got = ac__onnx_half_to_float((uint16_t)h);
        int ok = isnan(want) ? isnan(got) : memcmp(&got, &want, 4) == 0;
        if (!ok)
            bad = (int)h;
    }
    CHECKF(bad < 0, "half 0x%04x converts wrongly", bad);
    /* and the test's own float->half rounding agrees with it on every half value */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float f = ac__onnx_half_to_float((uint16_t)h);
        if (round_half(f) != f) {
            CHECKF(0, "round_half(half 0x%04x) moved", h);
            break;
        }
    }
}

/* ------------------------------------------------------------------ bad files */

static void onnx_bad_fixtures(void)
{
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    int rc = load_onnx(BAD "/unknown_op.onnx", &w, err);
    CHECK(rc == AC_E_UNSUPPORTED);
    CHECKF(contains(err, "unsupported op NoSuchOp at node "), "message: %s", err);
    CHECK(w.wte == NULL && w.n_blocks == 0 && w.layers == NULL);

    rc = load_onnx(BAD "/wrong_shape.onnx", &w, err);
    CHECK(rc == AC_E_FORMAT);
    CHECKF(contains(err, "transformer.h.0.attn.c_attn."), "message does not name the tensor: %s", err);
    CHECK(w.wte == NULL && w.n_blocks == 0);

    rc = load_onnx(TINY "/no_such_file.onnx", &w, err);
    CHECK(rc == AC_E_IO);
    rc = load_onnx(TINY "/config.json", &w, err);
    CHECKF(rc == AC_E_FORMAT, "config.json as ONNX: %d %s", rc, err);
}

static void onnx_truncated(void)
{
    uint8_t *data;
    size_t len;
    if (read_all(TINY "/model.onnx", &data, &len))
        return;
    ac__gpt2_weights full;
    char err[AC_ERR_SIZE];
    if (ac__onnx_load_weights_mem(data, len, "full", TINY, &full, err)) {
        CHECKF(0, "full model: %s", err);
        free(data);
        return;
    }
    int tried = 0, errors = 0;
    for (int step = 0; step < 64 + 50; step++) {
        size_t cut = step < 64 ? (size_t)step : (len * (size_t)(step - 64)) / 50;
        uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan sees any read past the end */
        memcpy(copy, data, cut);
        ac__gpt2_weights w;
        err[0] = 0;
        int rc = ac__onnx_load_weights_mem(copy, cut, "truncated", TINY, &w, err);
        tried++;
        if (rc) {
            errors++;
            CHECKF(err[0] != 0, "truncated at %zu: empty message", cut);
            CHECKF(w.wte == NULL && w.n_blocks == 0, "truncated at %zu: weights left behind", cut);
        } else {
            /* a cut exactly between two top-level fields leaves a shorter valid message: then it
             * must be the same model (only trailing metadata lost), never garbage */
            check_same_weights("truncated but valid", &w, &full);
            ac__gpt2_weights_free(&w);
        }
        free(copy);
    }
    CHECKF(errors >= tried - 2, "only %d of %d truncations were refused", errors, tried);
    ac__gpt2_weights_free(&full);
    free(data);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void onnx_random_bytes(void)
{
    int refused = 0, n = 300;
    for (int i = 0; i < n; i++) {
        size_t len = i < 200 ? 1 + rng() % 512 : 1 + rng() % 65536;
        uint8_t *buf = malloc(len);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rng();
        if (i % 3 == 0 && len > 2) {
            buf[0] = 0x08;   /* looks like ModelProto.ir_version */
            buf[1] = 0x08;
        }
        ac__gpt2_weights w;
        char err[AC_ERR_SIZE];
        err[0] = 0;
        int rc = ac__onnx_load_weights_mem(buf, len, "random", tmpdir, &w, err);
        refused += rc != AC_OK && err[0] != 0;
        if (rc == AC_OK)
            ac__gpt2_weights_free(&w);
        free(buf);
    }
    CHECKF(refused == n, "%d of %d random buffers were refused with a message", refused, n);
}

/* Single-byte mutations of a real model: never a crash (ASan watches); anything that loads must
 * have valid dimensions. */
static void onnx_mutations(void)
{
    uint8_t *data;
    size_t len;
    if (read_all(TINY "/model_erf.onnx", &data, &len))
        return;
    int loaded = 0;
    for (int i = 0; i < 400; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + (int)(rng() % 3); k++)
            copy[rng() % len] = (uint8_t)rng();
        ac__gpt2_weights w;
        char err[AC_ERR_SIZE];
        if (ac__onnx_load_weights_mem(copy, len, "mutated", tmpdir, &w, err) == AC_OK) {
            loaded++;
            CHECK(ac__gpt2_weights_validate(&w, err) == AC_OK);
            ac__gpt2_weights_free(&w);
        }
        free(copy);
    }
    CHECK(loaded > 0);   /* most flips land in weight bytes, which load (different values) */
    free(data);
}

/* Graph-level mutations (rewired inputs, changed op types, dropped inputs and attributes): the
 * recogniser must refuse or load a valid model, and never crash (ASan watches). */
static void graph_mutations(const char *file, int n);

static void onnx_graph_mutations(void)
{
    const char *files[] = {TINY "/model_erf.onnx", HF "/model_op13.onnx", TINY "/model_int8.onnx"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        graph_mutations(files[f], 150);
}

static void graph_mutations(const char *file, int n)
{
    static const char *const ops[] = {"Add", "Mul", "Reshape", "Gemm", "MatMul", "Softmax", "Identity",
                                      "LayerNormalization", "Gather", "Concat", "Transpose", "Where",
                                      "Cast", "DequantizeLinear", "Constant", "Split", "Slice"};
    uint8_t *data;
    size_t len;
    if (read_all(file, &data, &len))
        return;
    int loaded = 0;
    for (int it = 0; it < n; it++) {
        Onnx__ModelProto *p = onnx__model_proto__unpack(NULL, len, data);
        if (!p) {
            CHECK(!"fixture parses");
            break;
        }
        Onnx__GraphProto *g = p->graph;
        for (int k = 0; k < 1 + (int)(rng() % 3); k++) {
            Onnx__NodeProto *node = g->node[rng() % g->n_node];
            switch (rng() % 4) {
            case 0:   /* rewire one input to another node's output or an initializer */
                if (node->n_input) {
                    size_t j = rng() % node->n_input;
                    const char *src = rng() % 2 ? g->initializer[rng() % g->n_initializer]->name
                                                : g->node[rng() % g->n_node]->output[0];
                    free(node->input[j]);
                    node->input[j] = strdup(src);
                }
                break;
            case 1:
                free(node->op_type);
                node->op_type = strdup(ops[rng() % (sizeof ops / sizeof ops[0])]);
                break;
            case 2:
                if (node->n_input) {
                    size_t j = rng() % node->n_input;
                    free(node->input[j]);
                    node->input[j] = strdup("");
                }
                break;
            default:
                if (node->n_attribute) {   /* "drop" one by renaming it */
                    Onnx__AttributeProto *a = node->attribute[rng() % node->n_attribute];
                    free(a->name);
                    a->name = strdup("dropped");
                }
                break;
            }
        }
        size_t plen = onnx__model_proto__get_packed_size(p);
        uint8_t *buf = malloc(plen ? plen : 1);
        onnx__model_proto__pack(p, buf);
        onnx__model_proto__free_unpacked(p, NULL);
        ac__gpt2_weights w;
        char err[AC_ERR_SIZE];
        err[0] = 0;
        int rc = ac__onnx_load_weights_mem(buf, plen, "graph-mutated", tmpdir, &w, err);
        if (rc == AC_OK) {
            loaded++;
            CHECK(ac__gpt2_weights_validate(&w, err) == AC_OK);
            ac__gpt2_weights_free(&w);
        } else {
            CHECKF(err[0] != 0, "mutation %d: error %d without a message", it, rc);
        }
        free(buf);
    }
    CHECKF(loaded < n, "%s: all %d graph mutations loaded", file, n);
    free(data);
}

/* ------------------------------------------------------------------ derived files */

static Onnx__StringStringEntryProto *kv(const char *k, const char *v)
{
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = strdup(k);
    e->value = strdup(v);
    return e;
}

/* Moves every initializer's raw_data to external files in dir: one file "weights.bin" (onnx's
 * save_as_external_data), or one per tensor named after it (torch's layout over 2 GB). A non-NULL
 * `location` is written as every tensor's location instead (to test refusals). Saves dir/model.onnx. */
static int make_external(const char *src, const char *dir, int per_tensor, const char *location)
{
    Onnx__ModelProto *p = proto_load(src);
    if (!p)
        return -1;
    char path[512];
    FILE *one = NULL;
    size_t offset = 0;
    if (!per_tensor) {
        snprintf(path, sizeof path, "%s/weights.bin", dir);
        one = fopen(path, "wb");
    }
    for (size_t i = 0; i < p->graph->n_initializer; i++) {
        Onnx__TensorProto *t = p->graph->initializer[i];
        if (!t->has_raw_data || t->raw_data.len < 64)
            continue;   /* small constants stay inline, as onnx's size_threshold does */
        char off[32], len[32];
        if (per_tensor) {
            snprintf(path, sizeof path, "%s/%s", dir, t->name);
            write_all(path, t->raw_data.data, t->raw_data.len);
            offset = 0;
        } else {
            while (offset % 64) {   /* onnx aligns tensors in the file */
                fputc(0, one);
                offset++;
            }
            fwrite(t->raw_data.data, 1, t->raw_data.len, one);
        }
        snprintf(off, sizeof off, "%zu", offset);
        snprintf(len, sizeof len, "%zu", t->raw_data.len);
        t->n_external_data = 3;
        t->external_data = malloc(3 * sizeof *t->external_data);
        t->external_data[0] = kv("location", location ? location : per_tensor ? t->name : "weights.bin");
        t->external_data[1] = kv("offset", off);
        t->external_data[2] = kv("length", len);
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        if (!per_tensor)
            offset += t->raw_data.len;
        free(t->raw_data.data);
        t->raw_data.data = NULL;
        t->raw_data.len = 0;
        t->has_raw_data = 0;
    }
    if (one)
        fclose(one);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    int rc = proto_save(p, path);
    onnx__model_proto__free_unpacked(p, NULL);
    return rc;
}

static void onnx_external_data(void)
{
    ac__gpt2_weights want, got;
    char err[AC_ERR_SIZE], dir[300], path[400];
    if (load_onnx(TINY "/model.onnx", &want, err)) {
        CHECKF(0, "%s", err);
        return;
    }
    for (int per_tensor = 0; per_tensor < 2; per_tensor++) {
        tmp_subdir(dir, sizeof dir, per_tensor ? "ext_per_tensor" : "ext_one_file");
        CHECK(make_external(TINY "/model.onnx", dir, per_tensor, NULL) == 0);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        int rc = load_onnx(path, &got, err);
        CHECKF(rc == AC_OK, "%s", err);
        if (!rc) {
            check_same_weights(per_tensor ? "external, one file per tensor" : "external, one file", &got, &want);
            ac__gpt2_weights_free(&got);
        }
    }
    /* the same file read from memory resolves locations against the directory given */
    {
        uint8_t *data;
        size_t len;
        tmp_path(dir, sizeof dir, "ext_one_file");
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        if (read_all(path, &data, &len) == 0) {
            int rc = ac__onnx_load_weights_mem(data, len, "mem", dir, &got, err);
            CHECKF(rc == AC_OK, "%s", err);
            if (!rc)
                ac__gpt2_weights_free(&got);
            free(data);
        }
    }

    /* refusals: escaping the directory, absolute paths, a missing file, data past its end */
    const struct { const char *loc; const char *msg; int rc; } bad[] = {
        {"../weights.bin", "escapes the model's directory", AC_E_FORMAT},
        {"sub/../../weights.bin", "escapes the model's directory", AC_E_FORMAT},
        {"/etc/passwd", "absolute path", AC_E_FORMAT},
        {"missing.bin", "cannot open", AC_E_IO},
        {"short.bin", "runs past the end", AC_E_FORMAT},
    };
    tmp_subdir(dir, sizeof dir, "ext_bad");
    snprintf(path, sizeof path, "%s/short.bin", dir);
    write_all(path, "0123456789", 10);
    snprintf(path, sizeof path, "%s/../weights.bin", dir);   /* a real file there: refused anyway */
    write_all(path, "x", 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(make_external(TINY "/model.onnx", dir, 0, bad[i].loc) == 0);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        int rc = load_onnx(path, &got, err);
        CHECKF(rc == bad[i].rc && contains(err, bad[i].msg), "location %s: rc %d, message: %s", bad[i].loc, rc, err);
        if (!rc)
            ac__gpt2_weights_free(&got);
    }
    ac__gpt2_weights_free(&want);
}

/* Moves raw_data into the typed fields ONNX also allows: float_data for float32, int32_data for
 * float16 (bit patterns) and int8/uint8, int64_data for int64. */
static int make_typed(const char *src, const char *dst)
{
    Onnx__ModelProto *p = proto_load(src);
    if (!p)
        return -1;
    for (size_t i = 0; i < p->graph->n_initializer; i++) {
        Onnx__TensorProto *t = p->graph->initializer[i];
        if (!t->has_raw_data)
            continue;
        const uint8_t *r = t->raw_data.data;
        size_t len = t->raw_data.len;
        switch (t->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            t->n_float_data = len / 4;
            t->float_data = malloc(len + 1);
            memcpy(t->float_data, r, len);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
            t->n_int32_data = len / 2;
            t->int32_data = malloc(sizeof(int32_t) * (len / 2 + 1));
            for (size_t j = 0; j < len / 2; j++)
                t->int32_data[j] = r[2 * j] | (r[2 * j + 1] << 8);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
            t->n_int32_data = len;
            t->int32_data = malloc(sizeof(int32_t) * (len + 1));
            for (size_t j = 0; j < len; j++)
                t->int32_data[j] = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t)r[j] : r[j];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            t->n_int64_data = len / 8;
            t->int64_data = malloc(len + 1);
            memcpy(t->int64_data, r, len);
            break;
        default:
            continue;
        }
        free(t->raw_data.data);
        t->raw_data.data = NULL;
        t->raw_data.len = 0;
        t->has_raw_data = 0;
    }
    int rc = proto_save(p, dst);
    onnx__model_proto__free_unpacked(p, NULL);
    return rc;
}

static void onnx_typed_fields(void)
{
    const char *files[] = {TINY "/model.onnx", TINY "/model_fp16.onnx", TINY "/model_int8.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ac__gpt2_weights want, got;
        char err[AC_ERR_SIZE], path[400];
        tmp_path(path, sizeof path, "typed.onnx");
        CHECK(make_typed(files[i], path) == 0);
        if (load_onnx(files[i], &want, err)) {
            CHECKF(0, "%s", err);
            continue;
        }
        int rc = load_onnx(path, &got, err);
        CHECKF(rc == AC_OK, "%s (typed): %s", files[i], err);
        if (!rc) {
            check_same_weights(files[i], &got, &want);
            ac__gpt2_weights_free(&got);
        }
        ac__gpt2_weights_free(&want);
    }
}

/* Turns every initializer into a Constant node (value = the tensor) at the head of the graph. */
static int make_constants(const char *src, const char *dst)
{
    Onnx__ModelProto *p = proto_load(src);
    if (!p)
        return -1;
    Onnx__GraphProto *g = p->graph;
    size_t ni = g->n_initializer, nn = g->n_node;
    Onnx__NodeProto **nodes = malloc((ni + nn) * sizeof *nodes);
    for (size_t i = 0; i < ni; i++) {
        Onnx__NodeProto *n = malloc(sizeof *n);
        onnx__node_proto__init(n);
        n->op_type = strdup("Constant");
        n->name = malloc(strlen(g->initializer[i]->name) + 8);
        sprintf(n->name, "const_%s", g->initializer[i]->name);
        n->n_output = 1;
        n->output = malloc(sizeof(char *));
        n->output[0] = strdup(g->initializer[i]->name);
        Onnx__AttributeProto *a = malloc(sizeof *a);
        onnx__attribute_proto__init(a);
        a->name = strdup("value");
        a->has_type = 1;
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        a->t = g->initializer[i];
        n->n_attribute = 1;
        n->attribute = malloc(sizeof *n->attribute);
        n->attribute[0] = a;
        nodes[i] = n;
    }
    memcpy(nodes + ni, g->node, nn * sizeof *nodes);
    free(g->node);
    free(g->initializer);
    g->node = nodes;
    g->n_node = ni + nn;
    g->initializer = NULL;
    g->n_initializer = 0;
    int rc = proto_save(p, dst);
    onnx__model_proto__free_unpacked(p, NULL);
    return rc;
}

static void onnx_constant_nodes(void)
{
    const char *files[] = {TINY "/model_op13.onnx", TINY "/model_int8.onnx", HF "/model_op14_anon.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ac__gpt2_weights want, got;
        char err[AC_ERR_SIZE], path[400];
        tmp_path(path, sizeof path, "constants.onnx");
        CHECK(make_constants(files[i], path) == 0);
        if (load_onnx(files[i], &want, err)) {
            CHECKF(0, "%s", err);
            continue;
        }
        int rc = load_onnx(path, &got, err);
        CHECKF(rc == AC_OK, "%s (Constant nodes): %s", files[i], err);
        if (!rc) {
            check_same_weights(files[i], &got, &want);
            ac__gpt2_weights_free(&got);
        }
        ac__gpt2_weights_free(&want);
    }
}

static Onnx__TensorProto *tensor_new(const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                                     size_t nbytes)
{
    Onnx__TensorProto *t = malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = strdup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = malloc(sizeof(int64_t) * (size_t)(rank + 1));
    if (rank > 0)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->has_raw_data = 1;
    t->raw_data.len = nbytes;
    t->raw_data.data = malloc(nbytes + 1);
    memcpy(t->raw_data.data, data, nbytes);
    return t;
}

/* A node with up to 3 inputs and one output; attribute `attr` (if non-NULL) of ints. */
static Onnx__NodeProto *node_new(const char *op, const char *in0, const char *in1, const char *in2, const char *out,
                                 const char *attr, const int64_t *ints, int n_ints, int as_list)
{
    Onnx__NodeProto *n = malloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = strdup(op);
    n->name = malloc(strlen(out) + 8);
    sprintf(n->name, "edit_%s", out);
    const char *ins[3] = {in0, in1, in2};
    n->input = malloc(3 * sizeof(char *));
    for (int i = 0; i < 3 && ins[i]; i++)
        n->input[n->n_input++] = strdup(ins[i]);
    n->n_output = 1;
    n->output = malloc(sizeof(char *));
    n->output[0] = strdup(out);
    if (attr) {
        Onnx__AttributeProto *a = malloc(sizeof *a);
        onnx__attribute_proto__init(a);
        a->name = strdup(attr);
        a->has_type = 1;
        if (as_list) {
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
            a->n_ints = (size_t)n_ints;
            a->ints = malloc(sizeof(int64_t) * (size_t)n_ints);
            memcpy(a->ints, ints, sizeof(int64_t) * (size_t)n_ints);
        } else {
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            a->has_i = 1;
            a->i = ints[0];
        }
        n->n_attribute = 1;
        n->attribute = malloc(sizeof *n->attribute);
        n->attribute[0] = a;
    }
    return n;
}

/* Replaces initializer `name` ([rows][cols] float32) by new initializers + one producing node. */
static void graph_replace(Onnx__GraphProto *g, const char *name, Onnx__TensorProto **inits, int n_inits,
                          Onnx__NodeProto *node)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, name) == 0) {
            onnx__tensor_proto__free_unpacked(g->initializer[i], NULL);
            g->initializer[i] = g->initializer[--g->n_initializer];
            break;
        }
    g->initializer = realloc(g->initializer, (g->n_initializer + (size_t)n_inits) * sizeof *g->initializer);
    for (int i = 0; i < n_inits; i++)
        g->initializer[g->n_initializer++] = inits[i];
    g->node = realloc(g->node, (g->n_node + 1) * sizeof *g->node);
    memmove(g->node + 1, g->node, g->n_node * sizeof *g->node);
    g->node[0] = node;
    g->n_node++;
}

/* Weights stored other ways than the fixtures do: uint8 with one scale and zero point 128,
 * int8 per column with non-zero zero points, and a matrix stored transposed behind a Transpose. */
static void onnx_quantized_and_transposed_weights(void)
{
    ac__gpt2_weights orig, got;
    char err[AC_ERR_SIZE], path[400];
    if (load_onnx(TINY "/model.onnx", &orig, err)) {
        CHECKF(0, "%s", err);
        return;
    }
    Onnx__ModelProto *p = proto_load(TINY "/model.onnx");
    if (!p) {
        ac__gpt2_weights_free(&orig);
        return;
    }
    Onnx__GraphProto *g = p->graph;
    int64_t E = orig.dims.n_embd;
    ac__gpt2_layer *L = &orig.layers[0];

    /* h.0 c_fc [E][4E]: uint8, per tensor, zero point 128 */
    size_t nfc = (size_t)(E * 4 * E);
    float *want_fc = malloc(sizeof(float) * nfc);
    uint8_t *qfc = malloc(nfc);
    float amax = 0;
    for (size_t i = 0; i < nfc; i++)
        amax = fabsf(L->fc_w[i]) > amax ? fabsf(L->fc_w[i]) : amax;
    float s_fc = amax / 127.0f;
    uint8_t zp_fc = 128;
    for (size_t i = 0; i < nfc; i++) {
        float q = nearbyintf(L->fc_w[i] / s_fc) + 128;
        q = q < 0 ? 0 : q > 255 ? 255 : q;
        qfc[i] = (uint8_t)q;
        want_fc[i] = (float)((int)qfc[i] - 128) * s_fc;
    }
    int64_t dfc[2] = {E, 4 * E};
    Onnx__TensorProto *t3[3] = {
        tensor_new("fc_q", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 2, dfc, qfc, nfc),
        tensor_new("fc_s", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &s_fc, 4),
        tensor_new("fc_zp", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 0, NULL, &zp_fc, 1),
    };
    graph_replace(g, "transformer.h.0.mlp.c_fc.weight", t3, 3,
                  node_new("DequantizeLinear", "fc_q", "fc_s", "fc_zp", "transformer.h.0.mlp.c_fc.weight", NULL,
                           NULL, 0, 0));

    /* h.0 c_attn [E][3E]: int8 per output column (axis 1), zero points -2..2 */
    size_t C = (size_t)(3 * E), na = (size_t)E * C;
    float *want_attn = malloc(sizeof(float) * na), *s_attn = malloc(sizeof(float) * C);
    int8_t *qa = malloc(na), *zp_a = malloc(C);
    for (size_t c = 0; c < C; c++) {
        float m = 0;
        for (size_t r = 0; r < (size_t)E; r++)
            m = fabsf(L->attn_w[r * C + c]) > m ? fabsf(L->attn_w[r * C + c]) : m;
        s_attn[c] = m > 0 ? m / 120.0f : 1.0f;
        zp_a[c] = (int8_t)((int)(c % 5) - 2);
        for (size_t r = 0; r < (size_t)E; r++) {
            float q = nearbyintf(L->attn_w[r * C + c] / s_attn[c]) + zp_a[c];
            q = q < -128 ? -128 : q > 127 ? 127 : q;
            qa[r * C + c] = (int8_t)q;
            want_attn[r * C + c] = (float)(qa[r * C + c] - zp_a[c]) * s_attn[c];
        }
    }
    int64_t da[2] = {E, (int64_t)C}, dc[1] = {(int64_t)C}, axis1 = 1;
    Onnx__TensorProto *a3[3] = {
        tensor_new("attn_q", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, da, qa, na),
        tensor_new("attn_s", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, dc, s_attn, 4 * C),
        tensor_new("attn_zp", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, dc, zp_a, C),
    };
    graph_replace(g, "transformer.h.0.attn.c_attn.weight", a3, 3,
                  node_new("DequantizeLinear", "attn_q", "attn_s", "attn_zp", "transformer.h.0.attn.c_attn.weight",
                           "axis", &axis1, 1, 0));

    /* h.1 attn.c_proj [E][E], stored transposed, read through Transpose(perm 1 0) */
    float *tp = malloc(sizeof(float) * (size_t)(E * E));
    for (int64_t r = 0; r < E; r++)
        for (int64_t c = 0; c < E; c++)
            tp[c * E + r] = orig.layers[1].attn_proj_w[r * E + c];
    int64_t dp[2] = {E, E}, perm[2] = {1, 0};
    Onnx__TensorProto *p1[1] = {tensor_new("proj_t", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, dp, tp, 4 * (size_t)(E * E))};
    graph_replace(g, "transformer.h.1.attn.c_proj.weight", p1, 1,
                  node_new("Transpose", "proj_t", NULL, NULL, "transformer.h.1.attn.c_proj.weight", "perm", perm, 2, 1));

    tmp_path(path, sizeof path, "requantized.onnx");
    CHECK(proto_save(p, path) == 0);
    onnx__model_proto__free_unpacked(p, NULL);
    int rc = load_onnx(path, &got, err);
    CHECKF(rc == AC_OK, "%s", err);
    if (!rc) {
        memcpy(orig.layers[0].fc_w, want_fc, sizeof(float) * nfc);
        memcpy(orig.layers[0].attn_w, want_attn, sizeof(float) * na);
        check_same_weights("requantized", &got, &orig);
        ac__gpt2_weights_free(&got);
    }
    free(want_fc);
    free(qfc);
    free(want_attn);
    free(s_attn);
    free(qa);
    free(zp_a);
    free(tp);
    ac__gpt2_weights_free(&orig);
}

/* Graph edits that make the file something else than GPT-2, or contradict its metadata. */
static void onnx_refuses_edited_graphs(void)
{
    char err[AC_ERR_SIZE], path[400];
    ac__gpt2_weights w;
    tmp_path(path, sizeof path, "edited.onnx");

    /* tanh GELU with its Tanh replaced by Erf: neither GELU */
    Onnx__ModelProto *p = proto_load(TINY "/model.onnx");
    for (size_t i = 0; p && i < p->graph->n_node; i++)
        if (strcmp(p->graph->node[i]->op_type, "Tanh") == 0) {
            free(p->graph->node[i]->op_type);
            p->graph->node[i]->op_type = strdup("Erf");
        }
    CHECK(p && proto_save(p, path) == 0);
    onnx__model_proto__free_unpacked(p, NULL);
    int rc = load_onnx(path, &w, err);
    CHECKF(rc == AC_E_UNSUPPORTED && contains(err, "not a GELU"), "Tanh -> Erf: %d %s", rc, err);

    /* metadata contradicting the graph */
    p = proto_load(TINY "/model.onnx");
    int found = 0;
    for (size_t i = 0; p && i < p->n_metadata_props; i++)
        if (strcmp(p->metadata_props[i]->key, "autocorrect.n_head") == 0) {
            free(p->metadata_props[i]->value);
            p->metadata_props[i]->value = strdup("8");
            found = 1;
        }
    CHECK(found);
    CHECK(p && proto_save(p, path) == 0);
    onnx__model_proto__free_unpacked(p, NULL);
    rc = load_onnx(path, &w, err);
    CHECKF(rc == AC_E_FORMAT && contains(err, "n_head"), "metadata n_head 8: %d %s", rc, err);

    /* a Softmax removed from the attention (its input wired straight through) */
    p = proto_load(TINY "/model.onnx");
    for (size_t i = 0; p && i < p->graph->n_node; i++)
        if (strcmp(p->graph->node[i]->op_type, "Softmax") == 0) {
            free(p->graph->node[i]->op_type);
            p->graph->node[i]->op_type = strdup("Identity");
            break;
        }
    CHECK(p && proto_save(p, path) == 0);
    onnx__model_proto__free_unpacked(p, NULL);
    rc = load_onnx(path, &w, err);
    CHECKF(rc == AC_E_UNSUPPORTED && contains(err, "Softmax"), "no Softmax: %d %s", rc, err);

    /* the final LayerNorm's output no longer reaches the logits: drop the graph outputs */
    p = proto_load(TINY "/model.onnx");
    if (p)
        p->graph->n_output = 0;   /* the array stays allocated and is freed with the message */
    CHECK(p && proto_save(p, path) == 0);
    if (p)
        p->graph->n_output = 1;
    onnx__model_proto__free_unpacked(p, NULL);
    rc = load_onnx(path, &w, err);
    CHECKF(rc == AC_E_UNSUPPORTED && contains(err, "not a graph output"), "no outputs: %d %s", rc, err);
}

/* ------------------------------------------------------------------ main */

/* ------------------------------------------------------------------ parsing without copying the weights */

/* One file through onnx_wire.h: the stripped copy, with each initializer's raw_data put back from
 * where the refs say, must be the same message as the file parsed as it is (protobuf-c packs both
 * to the same bytes); and a second, empty graph field appended (protobuf merges it: the same
 * model) makes the stripping decline, so the loader's other path parses it, to the same weights. */
static void zero_copy_one(const char *path)
{
    uint8_t *data, *stripped = NULL;
    size_t len, stripped_len = 0, n_refs = 0;
    ac__onnx_raw_ref *refs = NULL;
    if (read_all(path, &data, &len)) {
        CHECKF(0, "%s: unreadable", path);
        return;
    }
    CHECKF(ac__onnx_strip_raw_data(data, len, &stripped, &stripped_len, &refs, &n_refs) == 0,
           "%s: the stripping declined a plain export", path);
    Onnx__ModelProto *a = onnx__model_proto__unpack(NULL, len, data);
    Onnx__ModelProto *b = stripped ? onnx__model_proto__unpack(NULL, stripped_len, stripped) : NULL;
    CHECKF(a && b && b->graph && a->graph->n_initializer == n_refs && b->graph->n_initializer == n_refs,
           "%s: %zu refs for the initializers", path, n_refs);
    if (a && b && b->graph && b->graph->n_initializer == n_refs) {
        size_t kept = 0;
        for (size_t i = 0; i < n_refs; i++) {
            CHECKF(!b->graph->initializer[i]->has_raw_data, "%s: initializer %zu kept raw_data", path, i);
            CHECKF(!refs[i].present || refs[i].offset + refs[i].len <= len, "%s: ref %zu out of the file", path, i);
            if (refs[i].present) {
                b->graph->initializer[i]->has_raw_data = 1;
                b->graph->initializer[i]->raw_data.data = data + refs[i].offset;
                b->graph->initializer[i]->raw_data.len = refs[i].len;
                kept += refs[i].len;
            }
        }
        CHECKF(stripped_len + kept <= len, "%s: the copy (%zu) and the refs (%zu) exceed the file (%zu)", path,
               stripped_len, kept, len);
        size_t na = onnx__model_proto__get_packed_size(a), nb = onnx__model_proto__get_packed_size(b);
        uint8_t *pa = malloc(na ? na : 1), *pb = malloc(nb ? nb : 1);
        onnx__model_proto__pack(a, pa);
        onnx__model_proto__pack(b, pb);
        CHECKF(na == nb && memcmp(pa, pb, na) == 0, "%s: the stripped parse is another message", path);
        free(pa);
        free(pb);
        for (size_t i = 0; i < n_refs; i++)  /* those bytes are data's, not protobuf-c's to free */
            if (refs[i].present)
                b->graph->initializer[i]->raw_data.data = NULL;
    }
    if (a)
        onnx__model_proto__free_unpacked(a, NULL);
    if (b)
        onnx__model_proto__free_unpacked(b, NULL);

    uint8_t *twice = malloc(len + 2);
    memcpy(twice, data, len);
    twice[len] = 0x3a;   /* field 7 (graph), wire type 2 */
    twice[len + 1] = 0;  /* of length 0 */
    uint8_t *o2;
    size_t l2, n2;
    ac__onnx_raw_ref *r2;
    CHECKF(ac__onnx_strip_raw_data(twice, len + 2, &o2, &l2, &r2, &n2) == -1 && !o2 && !r2,
           "%s: a second graph field was not declined", path);
    ac__gpt2_weights w1, w2;
    char err[AC_ERR_SIZE];
    int rc1 = ac__onnx_load_weights_mem(data, len, "plain", TINY, &w1, err);
    int rc2 = ac__onnx_load_weights_mem(twice, len + 2, "declined", TINY, &w2, err);
    CHECKF(rc1 == rc2, "%.150s: %d by the stripped parse, %d by protobuf-c's (%.100s)", path, rc1, rc2, err);
    if (!rc1 && !rc2)
        check_same_weights(path, &w1, &w2);
    if (!rc1)
        ac__gpt2_weights_free(&w1);
    if (!rc2)
        ac__gpt2_weights_free(&w2);
    free(twice);
    free(stripped);
    free(refs);
    free(data);
}

static void onnx_zero_copy_parse(void)
{
    const char *dirs[] = {TINY, HF, "fuzz/corpus/onnx"};
    int files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        char path[300];
        while (dir && (e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || n > 200 || strcmp(e->d_name + n - 5, ".onnx") != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            zero_copy_one(path);
            files++;
        }
        if (dir)
            closedir(dir);
    }
    CHECKF(files >= 10, "only %d .onnx files found", files);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ac_test_onnx.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    /* make_external's "../weights.bin" refusal test writes one file next to the bad directory */
    RUN(onnx_f32_variants_equal_safetensors);
    RUN(onnx_dims_and_head);
    RUN(onnx_erf_variant);
    RUN(onnx_hf_recipe_exports);
    RUN(onnx_hf_recipe_forward);
    RUN(onnx_untied_head);
    RUN(onnx_fp16_rounding);
    RUN(onnx_int8_rounding);
    RUN(onnx_half_conversion_exact);
    RUN(onnx_bad_fixtures);
    RUN(onnx_truncated);
    RUN(onnx_random_bytes);
    RUN(onnx_mutations);
    RUN(onnx_graph_mutations);
    RUN(onnx_external_data);
    RUN(onnx_typed_fields);
    RUN(onnx_constant_nodes);
    RUN(onnx_quantized_and_transposed_weights);
    RUN(onnx_refuses_edited_graphs);
    RUN(onnx_zero_copy_parse);
    remove_tree(tmpdir);
    return CHECK_EXIT_CODE();
}
