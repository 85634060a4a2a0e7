/* cmd_topk.c: `autocorrect topk`: the most likely next tokens after a sequence of token ids, with
 * their log-probabilities, straight from the engine (engine.h). A tool for checking a model and the
 * engine (tests/sh/test_engine_*.sh compare it with ONNX Runtime); not the completion command.
 */
#include "cli/cli.h"

#include "autocorrect/engine.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TOPK_MAX_IDS 65536

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect topk --model PATH --ids ID,ID,... [--k N] [--json] [--threads N] [--int8]\n"
               "                        [--all-positions] [--full]\n"
               "\n"
               "Runs the token ids through the model and prints the K (default 10) most likely next\n"
               "tokens, most likely first, one \"ID<TAB>LOGPROB\" per line, or with --json\n"
               "{\"tokens\":[{\"id\":ID,\"logprob\":LP},...]}.\n"
               "\n"
               "  --model PATH      an .onnx file, a directory with model.onnx, or an HF directory\n"
               "                    (config.json + model.safetensors)\n"
               "  --ids LIST        token ids, separated by commas (or spaces)\n"
               "  --k N             how many tokens (default 10)\n"
               "  --threads N       threads for the forward pass (default 1)\n"
               "  --int8            int8 weights (quantized at load)\n"
               "  --all-positions   the top K after every prefix of the ids, not just the whole:\n"
               "                    one block per position (text), or {\"positions\":[{\"tokens\":...},...]}\n"
               "  --full            with --json: every log-probability in id order,\n"
               "                    {\"n_vocab\":V,\"logprobs\":[[V numbers] per position]}\n");
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
    const char *model_path = NULL, *ids_arg = NULL;
    int k = 10, json = 0, threads = 1, int8 = 0, all = 0, full = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_v = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(a, "--model") && has_v) {
            model_path = argv[++i];
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
        } else {
            fprintf(stderr, "autocorrect topk: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (!model_path || !ids_arg) {
        fprintf(stderr, "autocorrect topk: --model and --ids are required\n\n");
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    if (full && !json) {
        fprintf(stderr, "autocorrect topk: --full needs --json\n");
        return AC_EXIT_USAGE;
    }
    int32_t *ids = malloc(sizeof(int32_t) * TOPK_MAX_IDS);
    if (!ids) {
        fprintf(stderr, "autocorrect topk: out of memory\n");
        return AC_EXIT_FAIL;
    }
    int n = parse_ids(ids_arg, ids, TOPK_MAX_IDS);
    if (n <= 0) {
        if (n == 0)
            fprintf(stderr, "autocorrect topk: --ids holds no token ids\n");
        free(ids);
        return AC_EXIT_USAGE;
    }

    char err[AC_ERR_SIZE];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
    ac_model *m = NULL;
    ac_session *s = NULL;
    ac_threadpool *tp = NULL;
    float *logits = NULL, *vals = NULL;
    int32_t *top = NULL;
    int status = AC_EXIT_FAIL;
    if (ac_model_load(model_path, &mp, &m, err)) {
        fprintf(stderr, "autocorrect topk: %s\n", err);
        goto out;
    }
    const int V = ac_model_dims(m).n_vocab;
    if (k > V)
        k = V;
    tp = ac_threadpool_new(threads);
    logits = malloc(sizeof(float) * (size_t)V * (all ? (size_t)n : 1));
    top = malloc(sizeof(int32_t) * (size_t)k);
    vals = malloc(sizeof(float) * (size_t)k);
    if (!tp || !logits || !top || !vals) {
        fprintf(stderr, "autocorrect topk: out of memory\n");
        goto out;
    }
    if (ac_session_new(m, NULL, &s, err) || ac_session_prefill(s, ids, n, tp, logits, all, err)) {
        fprintf(stderr, "autocorrect topk: %s\n", err);
        goto out;
    }
    const int rows = all ? n : 1;
    for (int r = 0; r < rows; r++)
        ac_logprobs_from_logits(logits + (size_t)r * V, V);
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
    ac_model_free(m);
    free(ids);
    free(logits);
    free(top);
    free(vals);
    return status;
}
