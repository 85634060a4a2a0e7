/* cmd_info.c: `autocorrect info`: a model's hyperparameters and what was loaded (file kind, weight
 * types, storage, kernels), as text or JSON. Not a validator beyond what loading checks.
 */
#include "cli/cli.h"

#include "autocorrect/engine.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect info --model PATH [--json] [--int8]\n"
               "\n"
               "Loads the model and prints its hyperparameters and what was loaded.\n"
               "  --model PATH   an .onnx file, a directory with model.onnx, or an HF directory\n"
               "  --json         one JSON object\n"
               "  --int8         load with int8 weights (shows their size)\n");
}

int ac_cmd_info(int argc, char **argv)
{
    const char *model_path = NULL;
    int json = 0, int8 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model_path = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--int8")) {
            int8 = 1;
        } else {
            fprintf(stderr, "autocorrect info: unknown or incomplete option '%s'\n\n", argv[i]);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (!model_path) {
        fprintf(stderr, "autocorrect info: --model is required\n\n");
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    char err[AC_ERR_SIZE];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
    ac_model *m;
    double t0 = ac_now();
    if (ac_model_load(model_path, &mp, &m, err)) {
        fprintf(stderr, "autocorrect info: %s\n", err);
        return AC_EXIT_FAIL;
    }
    double load_ms = (ac_now() - t0) * 1e3;
    ac_dims d = ac_model_dims(m);
    const char *quant = ac_model_quantize(m) == AC_QUANT_INT8 ? "int8" : "f32";
    const char *gelu = d.gelu == AC_GELU_ERF ? "erf" : "tanh";
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:s, s:I, s:s, s:f}", "model",
                              model_path, "source", ac_model_source(m), "n_vocab", d.n_vocab, "n_ctx", d.n_ctx,
                              "n_embd", d.n_embd, "n_head", d.n_head, "n_layer", d.n_layer, "head_dim",
                              d.n_embd / d.n_head, "gelu", gelu, "ln_eps", (double)d.ln_eps, "quantize", quant,
                              "weight_bytes", (json_int_t)ac_model_weight_bytes(m), "kernels",
                              ac_model_kernels(m), "load_ms", load_ms);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(o);
    } else {
        printf("model      %s\n", model_path);
        printf("source     %s\n", ac_model_source(m));
        printf("n_vocab    %d\n", d.n_vocab);
        printf("n_ctx      %d\n", d.n_ctx);
        printf("n_embd     %d\n", d.n_embd);
        printf("n_head     %d (head_dim %d)\n", d.n_head, d.n_embd / d.n_head);
        printf("n_layer    %d\n", d.n_layer);
        printf("gelu       %s\n", gelu);
        printf("ln_eps     %g\n", (double)d.ln_eps);
        printf("weights    %s, %.1f MB\n", quant, ac_model_weight_bytes(m) / 1e6);
        printf("kernels    %s\n", ac_model_kernels(m));
        printf("load       %.0f ms\n", load_ms);
    }
    ac_model_free(m);
    return fflush(stdout) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
}
