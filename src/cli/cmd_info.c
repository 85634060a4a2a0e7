/* cmd_info.c: `autocorrect info`: a model's hyperparameters and what was loaded (file kind, weight
 * types, storage, kernels), as text or JSON: the running daemon's model when there is one and no
 * model is named (route.h), else the model loaded in process, with the same output. Not a
 * validator beyond what loading checks.
 */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/engine.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect info [--model PATH] [--json] [--int8]\n"
               "\n"
               "Prints a model's hyperparameters and what was loaded: the running daemon's model when\n"
               "there is one (\"load\" is then its load time), else the model loaded in process.\n"
               "  --model PATH   an .onnx file, a directory with model.onnx, or an HF directory, loaded in\n"
               "                 process as f32 (or --int8); default: the daemon's, else $AUTOCORRECT_MODEL,\n"
               "                 else config.toml's model_path (weights as its quantization says), else the\n"
               "                 shipped models/default\n"
               "  --json         one JSON object\n"
               "  --int8         load with int8 weights, in process (shows their size)\n"
               "  --socket PATH  ask the daemon at PATH; --no-daemon: never; --config FILE: its config.toml\n");
}

/* What info prints, from a model loaded here or from the daemon's `info` reply. */
typedef struct info_fields {
    const char *path, *source, *gelu, *quantize, *kernels;
    int n_vocab, n_ctx, n_embd, n_head, n_layer;
    double ln_eps, load_ms;
    long long weight_bytes;
} info_fields;

static int print_info(const info_fields *f, int json)
{
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:s, s:I, s:s, s:f}", "model",
                              f->path, "source", f->source, "n_vocab", f->n_vocab, "n_ctx", f->n_ctx, "n_embd",
                              f->n_embd, "n_head", f->n_head, "n_layer", f->n_layer, "head_dim",
                              f->n_head ? f->n_embd / f->n_head : 0, "gelu", f->gelu, "ln_eps", f->ln_eps,
                              "quantize", f->quantize, "weight_bytes", (json_int_t)f->weight_bytes, "kernels",
                              f->kernels, "load_ms", f->load_ms);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(o);
        if (!text) {
            fprintf(stderr, "autocorrect info: out of memory\n");
            return AC_EXIT_FAIL;
        }
    } else {
        printf("model      %s\n", f->path);
        printf("source     %s\n", f->source);
        printf("n_vocab    %d\n", f->n_vocab);
        printf("n_ctx      %d\n", f->n_ctx);
        printf("n_embd     %d\n", f->n_embd);
        printf("n_head     %d (head_dim %d)\n", f->n_head, f->n_head ? f->n_embd / f->n_head : 0);
        printf("n_layer    %d\n", f->n_layer);
        printf("gelu       %s\n", f->gelu);
        printf("ln_eps     %g\n", f->ln_eps);
        printf("weights    %s, %.1f MB\n", f->quantize, f->weight_bytes / 1e6);
        printf("kernels    %s\n", f->kernels);
        printf("load       %.0f ms\n", f->load_ms);
    }
    return fflush(stdout) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* The daemon's model: AC_OK after printing, AC_CLIENT_UNAVAILABLE (nothing printed), or another
 * status after printing a message. */
static int via_daemon(const ac_cli_route *r, int json)
{
    json_t *req = json_pack("{s:s}", "op", "info"), *reply = NULL;
    int rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
    json_decref(req);
    if (rc != AC_OK)
        return rc;
    json_t *m = json_object_get(reply, "model");
    if (!json_is_object(m) || !json_is_string(json_object_get(m, "path"))) {
        fprintf(stderr, "autocorrect info: the daemon has no model loaded\n");
        json_decref(reply);
        return AC_E_UNSUPPORTED;
    }
    info_fields f = {
        .path = str_or(m, "path", "?"),
        .source = str_or(m, "source", "?"),
        .gelu = str_or(m, "gelu", "?"),
        .quantize = str_or(m, "quantization", "?"),
        .kernels = str_or(m, "kernels", "?"),
        .n_vocab = (int)json_integer_value(json_object_get(m, "n_vocab")),
        .n_ctx = (int)json_integer_value(json_object_get(m, "n_ctx")),
        .n_embd = (int)json_integer_value(json_object_get(m, "n_embd")),
        .n_head = (int)json_integer_value(json_object_get(m, "n_head")),
        .n_layer = (int)json_integer_value(json_object_get(m, "n_layer")),
        .ln_eps = (double)(float)json_number_value(json_object_get(m, "ln_eps")),
        .load_ms = json_number_value(json_object_get(m, "load_ms")),
        .weight_bytes = (long long)json_integer_value(json_object_get(m, "weight_bytes")),
    };
    rc = print_info(&f, json) == AC_EXIT_OK ? AC_OK : AC_E_IO;
    json_decref(reply);
    return rc;
}

int ac_cmd_info(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "info", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    const char *model_arg = NULL;
    int json = 0, int8 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model_arg = argv[++i];
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
    int ask = ac_cli_route_ask(&route, model_arg ? "--model" : int8 ? "--int8" : NULL);
    if (ask < 0)
        return AC_EXIT_USAGE;
    if (ask) {
        int rc = via_daemon(&route, json);
        if (rc == AC_OK)
            return AC_EXIT_OK;
        if (rc != AC_CLIENT_UNAVAILABLE)
            return AC_EXIT_FAIL;
    }
    char err[AC_ERR_SIZE], path[AC_CONFIG_PATH_MAX];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = ac_cli_route_quantize(&route, model_arg, int8);
    ac_model *m;
    double t0 = ac_now();
    if (ac_cli_route_model(&route, model_arg, path, sizeof path, err) ||
        (!model_arg && ac_cli_route_check_model(path, err)) || ac_model_load(path, &mp, &m, err)) {
        fprintf(stderr, "autocorrect info: %s\n", err);
        return AC_EXIT_FAIL;
    }
    ac_dims d = ac_model_dims(m);
    info_fields f = {
        .path = path,
        .source = ac_model_source(m),
        .gelu = d.gelu == AC_GELU_ERF ? "erf" : "tanh",
        .quantize = ac_model_quantize(m) == AC_QUANT_INT8 ? "int8" : "f32",
        .kernels = ac_model_kernels(m),
        .n_vocab = d.n_vocab,
        .n_ctx = d.n_ctx,
        .n_embd = d.n_embd,
        .n_head = d.n_head,
        .n_layer = d.n_layer,
        .ln_eps = (double)(float)ac_cli_sig6((double)d.ln_eps), /* as the daemon's reply carries it */
        .load_ms = (ac_now() - t0) * 1e3,
        .weight_bytes = (long long)ac_model_weight_bytes(m),
    };
    int status = print_info(&f, json);
    ac_model_free(m);
    return status;
}
