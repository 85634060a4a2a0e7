/* test_forward.c: the forward pass against PyTorch on the tiny fixture (tests/fixtures/tiny,
 * references in expected.json): every loader and file variant, every kernel table, the naive
 * reference pass, and int8 against float32.
 */
#include "check.h"
#include "engine/engine_fixture.h"
#include "engine/model.h"

/* int8 (weights and activations per block of 32) against float32 on the tiny model: the largest
 * log-probability difference allowed at any position, over the tokens that matter (log-prob above
 * INT8_FLOOR in the float32 run). The fixture's weights are drawn large on purpose, so 8 bits cost
 * more here than on a trained GPT-2: measured 0.24; weight-only per-channel int8 (PyTorch's "int8"
 * reference in expected.json) is itself 0.16 from float32 on this model. The most likely next token
 * must stay the same wherever float32's top two are more than INT8_MARGIN apart (11 of the 22
 * positions; where two tokens are closer than the quantization noise no int8 scheme can promise
 * their order). */
#define INT8_TOL 0.3
#define INT8_FLOOR -10.0
#define INT8_MARGIN (2 * INT8_TOL)

static ac_model *load(const char *path, int quant)
{
    char err[AC_ERR_SIZE];
    ac_model_params p = ac_model_default_params();
    p.quantize = quant;
    ac_model *m = NULL;
    if (ac_model_load(path, &p, &m, err)) {
        fprintf(stderr, "  load %s: %s\n", path, err);
        return NULL;
    }
    return m;
}

/* Checks a model's log-probs over the reference's ids against the reference, within tol. */
static void check_against(const ac_model *m, const char *ref_name, double tol, const char *what)
{
    fx_ref ref;
    CHECK(fx_ref_load(ref_name, &ref) == 0);
    if (!ref.logprobs)
        return;
    CHECK(ac_model_dims(m).n_vocab == ref.n_vocab);
    float *lp = fx_logprobs(m, ref.ids, ref.n, NULL);
    CHECK(lp != NULL);
    if (lp) {
        double d = fx_maxdiff(lp, ref.logprobs, (size_t)ref.n * ref.n_vocab);
        CHECKF(d <= tol, "%s: max |logprob - PyTorch| = %g > %g", what, d, tol);
    }
    free(lp);
    fx_ref_free(&ref);
}

static void safetensors_matches_pytorch(void)
{
    ac_model *m = load(TINY_DIR "/model.safetensors", AC_QUANT_F32);
    CHECK(m != NULL);
    if (!m)
        return;
    ac_dims d = ac_model_dims(m);
    CHECK(d.n_vocab == 297 && d.n_ctx == 64 && d.n_embd == 32 && d.n_head == 4 && d.n_layer == 2);
    CHECK(d.gelu == AC_GELU_TANH);
    CHECK_NEAR(d.ln_eps, 1e-5, 1e-9);
    check_against(m, "f32", TOL_TORCH, "tiny/model.safetensors");
    ac_model_free(m);
}

static void erf_matches_pytorch(void)
{
    const char *dirs[] = {TINY_DIR "/erf", TINY_DIR "/erf_noprefix"};
    for (int i = 0; i < 2; i++) {
        ac_model *m = load(dirs[i], AC_QUANT_F32);
        CHECKF(m != NULL, "cannot load %s", dirs[i]);
        if (!m)
            continue;
        CHECK(ac_model_dims(m).gelu == AC_GELU_ERF);
        CHECK(ac_model_dims(m).n_embd == 24 && ac_model_dims(m).n_head == 3);
        check_against(m, "erf", TOL_TORCH, dirs[i]);
        ac_model_free(m);
    }
}

/* The plain reference pass (naive kernels, contiguous cache) agrees with PyTorch too. */
static void reference_pass_matches_pytorch(void)
{
    ac_model *m = load(TINY_DIR "/model.safetensors", AC_QUANT_F32);
    fx_ref ref;
    CHECK(m != NULL && fx_ref_load("f32", &ref) == 0);
    if (!m || !ref.logprobs) {
        ac_model_free(m);
        return;
    }
    char err[AC_ERR_SIZE];
    float *lg = malloc(sizeof(float) * ref.n * ref.n_vocab);
    ac__gpt2_weights w; /* the weights as loaded (a model's matrices are packed) */
    CHECK(ac__safetensors_load_weights(TINY_DIR "/model.safetensors", &w, err) == AC_OK);
    CHECK(ac__forward_reference(&w, ref.ids, ref.n, lg, err) == AC_OK);
    ac__gpt2_weights_free(&w);
    for (int t = 0; t < ref.n; t++)
        ac_logprobs_from_logits(lg + t * ref.n_vocab, ref.n_vocab);
    double d = fx_maxdiff(lg, ref.logprobs, (size_t)ref.n * ref.n_vocab);
    CHECKF(d <= TOL_TORCH, "reference pass: max diff %g", d);
    free(lg);
    fx_ref_free(&ref);
    ac_model_free(m);
}

/* Every kernel table compiled in and runnable here (naive, portable, avx2, avx512) gives PyTorch's
 * numbers, on both fixture models (tanh and erf GELU; head_dim 8, widths 32 and 24). */
static void every_kernel_table_matches_pytorch(void)
{
    const char *dirs[] = {TINY_DIR "/model.safetensors", TINY_DIR "/erf"};
    const char *refs[] = {"f32", "erf"};
    const ac__kernels *const *list = ac__kernels_available();
    for (int i = 0; i < 2; i++) {
        ac_model *m = load(dirs[i], AC_QUANT_F32);
        CHECK(m != NULL);
        if (!m)
            continue;
        m->k = &ac__kernels_naive;
        check_against(m, refs[i], TOL_TORCH, "naive kernels");
        for (int k = 0; list[k]; k++) {
            m->k = list[k];
            check_against(m, refs[i], TOL_TORCH, list[k]->name);
        }
        ac_model_free(m);
    }
}

/* ONNX files (src/engine/onnx_load.c): each matches its PyTorch reference. */
static void onnx_files_match_pytorch(void)
{
    const struct { const char *file, *ref; } files[] = {
        {"model.onnx", "f32"},  {"model_op13.onnx", "f32"}, {"model_past.onnx", "f32"},
        {"model_fp16.onnx", "fp16"}, {"model_int8.onnx", "int8"}, {"model_erf.onnx", "erf"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, TINY_DIR "/%s", files[i].file);
        ac_model *m = load(path, AC_QUANT_F32);
        CHECKF(m != NULL, "cannot load %s", files[i].file);
        if (!m)
            continue;
        check_against(m, files[i].ref, TOL_TORCH, files[i].file);
        ac_model_free(m);
    }
}

/* The same weights through either loader give the same numbers. */
static void onnx_equals_safetensors(void)
{
    const char *pairs[][2] = {{TINY_DIR "/model.onnx", TINY_DIR "/model.safetensors"}, {TINY_DIR "/model_erf.onnx", TINY_DIR "/erf"}};
    fx_ref ref;
    CHECK(fx_ref_load("f32", &ref) == 0);
    if (!ref.logprobs)
        return;
    for (int i = 0; i < 2; i++) {
        ac_model *a = load(pairs[i][0], AC_QUANT_F32), *b = load(pairs[i][1], AC_QUANT_F32);
        CHECK(a && b);
        if (a && b) {
            float *la = fx_logprobs(a, ref.ids, ref.n, NULL), *lb = fx_logprobs(b, ref.ids, ref.n, NULL);
            CHECK(la && lb);
            if (la && lb) {
                double d = fx_maxdiff(la, lb, (size_t)ref.n * ac_model_dims(a).n_vocab);
                CHECKF(d == 0.0, "%s vs %s: max diff %g, want identical", pairs[i][0], pairs[i][1], d);
            }
            free(la);
            free(lb);
        }
        ac_model_free(a);
        ac_model_free(b);
    }
    fx_ref_free(&ref);
}

/* int8 stays close to float32 and keeps the most likely next token wherever it is clear. */
static void check_int8(const char *path, const char *what)
{
    fx_ref ref;
    CHECK(fx_ref_load("f32", &ref) == 0);
    ac_model *f = load(path, AC_QUANT_F32), *q = load(path, AC_QUANT_INT8);
    CHECK(f && q && ref.logprobs);
    if (f && q && ref.logprobs) {
        CHECK(ac_model_quantize(q) == AC_QUANT_INT8);
        CHECK(ac_model_weight_bytes(q) < ac_model_weight_bytes(f));
        int V = ref.n_vocab;
        float *lf = fx_logprobs(f, ref.ids, ref.n, NULL), *lq = fx_logprobs(q, ref.ids, ref.n, NULL);
        CHECK(lf && lq);
        if (lf && lq) {
            double worst = 0, worst_all = 0;
            int n_clear = 0;
            for (int t = 0; t < ref.n; t++) {
                for (int v = 0; v < V; v++) {
                    double d = fabs(lf[t * V + v] - lq[t * V + v]);
                    if (lf[t * V + v] > INT8_FLOOR && d > worst)
                        worst = d;
                    if (d > worst_all)
                        worst_all = d;
                }
                int32_t top[2];
                float val[2];
                ac_topk(lf + t * V, V, 2, top, val);
                if (val[0] - val[1] > INT8_MARGIN) {
                    n_clear++;
                    CHECKF(top[0] == fx_argmax(lq + t * V, V), "%s position %d: int8 argmax %d, f32 %d (margin %.3f)",
                           what, t, fx_argmax(lq + t * V, V), top[0], val[0] - val[1]);
                }
            }
            CHECKF(worst < INT8_TOL, "%s: int8 vs f32: max |dlogprob| = %g over log-probs > %g (tolerance %g)", what,
                   worst, INT8_FLOOR, INT8_TOL);
            CHECK(n_clear >= ref.n / 4);
            fprintf(stderr, "  %s: int8 vs f32: max |dlogprob| %.4f (log-prob > %g), %.4f over all tokens; argmax "
                    "checked at %d of %d positions\n", what, worst, INT8_FLOOR, worst_all, n_clear, ref.n);
        }
        free(lf);
        free(lq);
    }
    ac_model_free(f);
    ac_model_free(q);
    fx_ref_free(&ref);
}

static void int8_close_to_f32(void)
{
    check_int8(TINY_DIR "/model.safetensors", "tiny");
    check_int8(TINY_DIR "/erf", "tiny/erf (n_embd 24: padded int8 blocks)");
}

int main(void)
{
    RUN(safetensors_matches_pytorch);
    RUN(erf_matches_pytorch);
    RUN(reference_pass_matches_pytorch);
    RUN(every_kernel_table_matches_pytorch);
    RUN(onnx_files_match_pytorch);
    RUN(onnx_equals_safetensors);
    RUN(int8_close_to_f32);
    return CHECK_EXIT_CODE();
}
