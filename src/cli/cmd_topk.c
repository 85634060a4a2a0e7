/* cmd_topk.c: `autocorrect topk`: the most likely next tokens after a text or a sequence of token
 * ids, with their log-probabilities, straight from the engine (engine.h). A text goes to the running
 * daemon (op topk) when there is one and no model is named (route.h), else runs in process the way
 * the daemon runs it; token ids always run in process. A tool for checking a model and the engine
 * (tests/sh/test_engine_*.sh compare it with ONNX Runtime); not the completion command.
 */
#include "cli/cli.h"
#include "cli/route.h"
#include "server/protocol.h"

#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TOPK_MAX_IDS 65536
#define DAEMON_K_MAX 1000 /* the protocol's limit on k: more runs in process */

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect topk [--model PATH] [--k N] [--json] [--threads N] [--int8] TEXT\n"
               "       autocorrect topk [--model PATH] --ids ID,ID,... [--k N] [--json] [--threads N] [--int8]\n"
               "                        [--all-positions] [--full]\n"
               "\n"
               "Runs TEXT (as the daemon does: <|endoftext|> first, then its tokens) or the token ids\n"
               "through the model and prints the K (default 10) most likely next tokens, most likely\n"
               "first: one \"ID<TAB>LOGPROB<TAB>\"TOKEN\"\" per line after a TEXT (the token as a JSON\n"
               "string), \"ID<TAB>LOGPROB\" after ids; with --json {\"tokens\":[{\"id\":ID,\"logprob\":LP,\n"
               "\"text\":\"TOKEN\"},...]} (no \"text\" after ids). In a TOKEN, control characters\n"
               "(C0, DEL, C1) are escaped as \\u00XX and invalid UTF-8 shows as U+FFFD, as the daemon does.\n"
               "A TEXT goes to the running daemon when there is one (its model and weights), else runs\n"
               "in process, with the same output; ids always run in process.\n"
               "\n"
               "  --model PATH      an .onnx file, a directory with model.onnx, or an HF directory\n"
               "                    (config.json + model.safetensors), run in process as f32 (or --int8);\n"
               "                    default: the daemon, else $AUTOCORRECT_MODEL, else config.toml's\n"
               "                    model_path (weights as its quantization says), else models/default\n"
               "  --ids LIST        token ids, separated by commas (or spaces), instead of a TEXT\n"
               "  --k N             how many tokens (default 10)\n"
               "  --threads N       threads for the forward pass (default 1)\n"
               "  --int8            int8 weights (quantized at load)\n"
               "  --all-positions   the top K after every prefix of the ids, not just the whole:\n"
               "                    one block per position (text), or {\"positions\":[{\"tokens\":...},...]}\n"
               "  --full            with --json: every log-probability in id order,\n"
               "                    {\"n_vocab\":V,\"logprobs\":[[V numbers] per position]}\n"
               "  --socket PATH     ask the daemon at PATH; --no-daemon: never; --config FILE: its config.toml\n");
}

/* Parses "1,2, 3" into ids; returns the count, or -1 with a message. */
static int parse_ids(const char *s, int32_t *ids, int max)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        if (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < INT32_MIN || v > INT32_MAX || (*end && !strchr(", \t\n", *end))) {
            fprintf(stderr, "autocorrect topk: bad token id at \"%.20s\"\n", p);
            return -1;
        }
        if (n == max) {
            fprintf(stderr, "autocorrect topk: more than %d ids\n", max);
            return -1;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    return n;
}

static int parse_int(const char *s, int lo, int hi, int *out, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "autocorrect topk: %s must be an integer in [%d, %d]\n", what, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Prints the top tokens after a TEXT: ids[n], vals[n], their bytes texts[n] (lens[n]). Both formats
 * go through the daemon's ac__json_dumps (server/protocol.h): jansson escapes C0, it escapes DEL and
 * C1 as \u00XX, and ac_cli_json_text has made invalid UTF-8 U+FFFD, so no token byte a terminal
 * would act on is printed raw, and each token stays an exact JSON string. */
static int print_text_topk(int n, const int32_t *ids, const float *vals, const char *const *texts,
                           const size_t *lens, int json)
{
    int ok = 1;
    json_t *list = json_array();
    for (int i = 0; i < n && ok; i++) {
        json_t *t = ac_cli_json_text(texts[i], lens[i]);
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(ids[i]));
            json_object_set_new(o, "logprob", json_real((double)vals[i]));
            json_object_set_new(o, "text", t);
            json_array_append_new(list, o);
        } else {
            /* ac__json_dumps writes arrays and objects only: the token goes in "[...]", dropped here */
            json_t *one = json_pack("[o]", t);
            char *q = one ? ac__json_dumps(one) : NULL;
            size_t qn = q ? strlen(q) : 0;
            ok = qn >= 2;
            if (ok)
                printf("%d\t%.6f\t%.*s\n", (int)ids[i], (double)vals[i], (int)(qn - 2), q + 1);
            free(q);
            json_decref(one);
        }
    }
    if (json && ok) {
        json_t *root = json_pack("{s:o}", "tokens", list);
        char *s = root ? ac__json_dumps(root) : NULL;
        ok = s != NULL;
        if (ok)
            printf("%s\n", s);
        free(s);
        json_decref(root);
    } else {
        json_decref(list);
    }
    if (!ok)
        fprintf(stderr, "autocorrect topk: out of memory\n");
    return fflush(stdout) == 0 && ok ? AC_EXIT_OK : AC_EXIT_FAIL;
}

/* TEXT through the daemon: AC_OK after printing, AC_CLIENT_UNAVAILABLE (nothing printed), or another
 * status after printing a message. */
static int text_via_daemon(const ac_cli_route *r, const char *text, int k, int json)
{
    json_t *req = json_pack("{s:s,s:s,s:i}", "op", "topk", "before", text, "k", k), *reply = NULL;
    int rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
    json_decref(req);
    if (rc != AC_OK)
        return rc;
    json_t *top = json_object_get(reply, "top");
    int n = (int)json_array_size(top);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n + 1));
    float *vals = malloc(sizeof(float) * (size_t)(n + 1));
    const char **texts = malloc(sizeof(char *) * (size_t)(n + 1));
    size_t *lens = malloc(sizeof(size_t) * (size_t)(n + 1));
    if (!ids || !vals || !texts || !lens) {
        fprintf(stderr, "autocorrect topk: out of memory\n");
        rc = AC_E_NOMEM;
    } else {
        for (int i = 0; i < n; i++) {
            json_t *o = json_array_get(top, (size_t)i), *t = json_object_get(o, "text");
            ids[i] = (int32_t)json_integer_value(json_object_get(o, "id"));
            vals[i] = (float)json_number_value(json_object_get(o, "logprob"));
            texts[i] = json_is_string(t) ? json_string_value(t) : "";
            lens[i] = json_is_string(t) ? json_string_length(t) : 0;
        }
        rc = print_text_topk(n, ids, vals, texts, lens, json) == AC_EXIT_OK ? AC_OK : AC_E_IO;
    }
    free(ids);
    free(vals);
    free(texts);
    free(lens);
    json_decref(reply);
    return rc;
}

/* The daemon's context for TEXT (backend_model.c, model_topk): <|endoftext|> unless the text was cut,
 * then the tokens of its tail (ac_config_context_start), the last n_ctx - 1 of them. Writes them to
 * ids (room for len + 2) and returns how many, or -1 with a message in err. */
static int text_context(const ac_cli_route *r, const ac_bpe *bpe, int n_ctx, const char *text, int32_t *ids,
                        const int32_t **first, char *err)
{
    size_t len = strlen(text), start = ac_config_context_start(&r->cfg, text, len), n = 0, got = 0;
    int32_t eot = ac_bpe_eot(bpe);
    if (eot >= 0 && start == 0)
        ids[n++] = eot;
    if (ac_bpe_encode(bpe, NULL, text + start, len - start, 0, ids + n, len - start + 1, &got, err))
        return -1;
    n += got;
    *first = ids;
    if (n > (size_t)n_ctx - 1) {
        *first = ids + (n - ((size_t)n_ctx - 1));
        n = (size_t)n_ctx - 1;
    }
    if (n == 0) {
        ac__errorf(err, AC_E_ARG, "topk needs some text (the model has no start token)");
        return -1;
    }
    return (int)n;
}

/* Prints the top k of one row of log-probabilities (text or a JSON object). */
static void print_topk(const float *lp, int n_vocab, int k, int json, int32_t *ids, float *vals)
{
    int n = ac_topk(lp, n_vocab, k, ids, vals);
    if (json) {
        printf("{\"tokens\":[");
        for (int i = 0; i < n; i++)
            printf("%s{\"id\":%d,\"logprob\":%.7g}", i ? "," : "", (int)ids[i], (double)vals[i]);
        printf("]}");
    } else {
        for (int i = 0; i < n; i++)
            printf("%d\t%.6f\n", (int)ids[i], (double)vals[i]);
    }
}

int ac_cmd_topk(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "topk", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    const char *model_arg = NULL, *ids_arg = NULL, *text = NULL;
    int k = 10, json = 0, threads = 1, int8 = 0, all = 0, full = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_v = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(a, "--model") && has_v) {
            model_arg = argv[++i];
        } else if (!strcmp(a, "--ids") && has_v) {
            ids_arg = argv[++i];
        } else if (!strcmp(a, "--k") && has_v) {
            if (parse_int(argv[++i], 1, 1 << 24, &k, "--k"))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--threads") && has_v) {
            if (parse_int(argv[++i], 1, 256, &threads, "--threads"))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--int8")) {
            int8 = 1;
        } else if (!strcmp(a, "--all-positions")) {
            all = 1;
        } else if (!strcmp(a, "--full")) {
            full = 1;
        } else if (!strcmp(a, "--") && has_v && !text && i + 2 == argc) {
            text = argv[++i];
        } else if (a[0] != '-' && !text) {
            text = a;
        } else {
            fprintf(stderr, "autocorrect topk: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (!ids_arg == !text) {
        fprintf(stderr, "autocorrect topk: give a TEXT or --ids, one of them\n\n");
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    if (full && !json) {
        fprintf(stderr, "autocorrect topk: --full needs --json\n");
        return AC_EXIT_USAGE;
    }
    if (text && (all || full)) {
        fprintf(stderr, "autocorrect topk: --all-positions and --full go with --ids\n");
        return AC_EXIT_USAGE;
    }
    int ask = ac_cli_route_ask(&route, model_arg ? "--model" : int8 ? "--int8" : ids_arg ? "--ids"
                                       : k > DAEMON_K_MAX ? "--k over 1000" : NULL);
    if (ask < 0)
        return AC_EXIT_USAGE;
    if (ask) {
        int rc = ac_cli_is_utf8(text, strlen(text)) ? text_via_daemon(&route, text, k, json) : AC_CLIENT_UNAVAILABLE;
        if (rc == AC_OK)
            return AC_EXIT_OK;
        if (rc != AC_CLIENT_UNAVAILABLE)
            return AC_EXIT_FAIL;
    }
    size_t text_len = text ? strlen(text) : 0;
    int32_t *ids = malloc(sizeof(int32_t) * (text ? text_len + 2 : TOPK_MAX_IDS));
    if (!ids) {
        fprintf(stderr, "autocorrect topk: out of memory\n");
        return AC_EXIT_FAIL;
    }
    int n = 0;
    if (ids_arg) {
        n = parse_ids(ids_arg, ids, TOPK_MAX_IDS);
        if (n <= 0) {
            if (n == 0)
                fprintf(stderr, "autocorrect topk: --ids holds no token ids\n");
            free(ids);
            return AC_EXIT_USAGE;
        }
    }

    char err[AC_ERR_SIZE], model_path[AC_CONFIG_PATH_MAX], dir[AC_CONFIG_PATH_MAX];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = ac_cli_route_quantize(&route, model_arg, int8);
    ac_model *m = NULL;
    ac_bpe *bpe = NULL;
    ac_session *s = NULL;
    ac_threadpool *tp = NULL;
    float *logits = NULL, *vals = NULL;
    int32_t *top = NULL;
    const int32_t *ctx = ids;
    const char **texts = NULL;
    size_t *lens = NULL;
    int status = AC_EXIT_FAIL;
    if (ac_cli_route_model(&route, model_arg, model_path, sizeof model_path, err) ||
        (!model_arg && ac_cli_route_check_model(model_path, err)) || ac_model_load(model_path, &mp, &m, err)) {
        fprintf(stderr, "autocorrect topk: %s\n", err);
        goto out;
    }
    const int V = ac_model_dims(m).n_vocab;
    if (text) {
        ac_cli_route_tokenizer_dir(model_path, dir, sizeof dir);
        if (ac_bpe_load(dir, &bpe, err) ||
            (n = text_context(&route, bpe, ac_model_dims(m).n_ctx, text, ids, &ctx, err)) < 0) {
            fprintf(stderr, "autocorrect topk: %s\n", err);
            goto out;
        }
    }
    if (k > V)
        k = V;
    tp = ac_threadpool_new(threads);
    logits = malloc(sizeof(float) * (size_t)V * (all ? (size_t)n : 1));
    top = malloc(sizeof(int32_t) * (size_t)k);
    vals = malloc(sizeof(float) * (size_t)k);
    texts = malloc(sizeof(char *) * (size_t)k);
    lens = malloc(sizeof(size_t) * (size_t)k);
    if (!tp || !logits || !top || !vals || !texts || !lens) {
        fprintf(stderr, "autocorrect topk: out of memory\n");
        goto out;
    }
    ac_session_params sp = ac_session_default_params();
    if (text)
        sp.n_seq_max = 1; /* as the daemon's topk: the same scratch layout, the same sums */
    if (ac_session_new(m, &sp, &s, err) || ac_session_prefill(s, ctx, n, tp, logits, all, err)) {
        fprintf(stderr, "autocorrect topk: %s\n", err);
        goto out;
    }
    const int rows = all ? n : 1;
    for (int r = 0; r < rows; r++)
        ac_logprobs_from_logits(logits + (size_t)r * V, V);
    if (text) {
        int got = ac_topk(logits, V, k, top, vals);
        for (int i = 0; i < got; i++) {
            const uint8_t *b = ac_bpe_token_bytes(bpe, top[i], &lens[i]);
            texts[i] = b ? (const char *)b : "";
            if (!b)
                lens[i] = 0;
        }
        for (int i = 0; i < got; i++)
            vals[i] = (float)ac_cli_sig6(vals[i]); /* as the daemon's reply carries them */
        status = print_text_topk(got, top, vals, texts, lens, json);
        goto out;
    }
    if (full) {
        printf("{\"n_vocab\":%d,\"logprobs\":[", V);
        for (int r = 0; r < rows; r++) {
            printf("%s[", r ? "," : "");
            for (int v = 0; v < V; v++)
                printf("%s%.8g", v ? "," : "", (double)logits[(size_t)r * V + v]);
            printf("]");
        }
        printf("]}\n");
    } else if (all) {
        if (json)
            printf("{\"positions\":[");
        for (int r = 0; r < rows; r++) {
            if (json)
                printf("%s", r ? "," : "");
            else
                printf("%sposition %d (after id %d):\n", r ? "\n" : "", r, (int)ids[r]);
            print_topk(logits + (size_t)r * V, V, k, json, top, vals);
        }
        if (json)
            printf("]}\n");
    } else {
        print_topk(logits, V, k, json, top, vals);
        if (json)
            printf("\n");
    }
    status = fflush(stdout) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
out:
    ac_session_free(s);
    ac_threadpool_free(tp);
    ac_bpe_free(bpe);
    ac_model_free(m);
    free(ids);
    free(logits);
    free(top);
    free(vals);
    free(texts);
    free(lens);
    return status;
}
