/* cmd_complete.c: `autocorrect complete`: completions of a text, one per line or as JSON.
 *
 * The command is three steps kept apart so that the daemon and the in-process path share them: parse
 * the options into an ac_cli_complete_opts (ac_cli_complete_parse), get an ac_complete_result (from
 * the running daemon's reply, or in process with ac_cli_complete_in_process on the model route.h
 * finds), and print it (ac_cli_complete_print): the output is the same whichever answered.
 * Not the decoder (src/decoder/).
 */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/decoder.h"
#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_LIMIT (16u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect complete [--model PATH] [--json] [--beams N] [--max-tokens N]\n"
            "                            [--stop word|phrase|line] [OPTIONS] [TEXT]\n"
            "\n"
            "Prints completions of TEXT (default: standard input, one trailing newline removed), one\n"
            "per line, the one expected to save the most typing first (not always the best score):\n"
            "what would follow the cursor at the end of TEXT. With --json:\n"
            "  {\"completions\":[{\"text\":\"...\",\"score\":-1.2}],\"partial\":false,\n"
            "   \"timings\":{\"cached_tokens\":0,\"new_tokens\":5,\"ms\":3.1}}\n"
            "The running daemon answers when there is one (within its deadline_ms: \"partial\":true\n"
            "when that cut the search short), else the command loads the model itself; the output is\n"
            "the same either way.\n"
            "\n"
            "  --model PATH       a model directory (model.onnx or config.json + model.safetensors, with\n"
            "                     the tokenizer files) or an .onnx file, run in process; default: the\n"
            "                     daemon, else $AUTOCORRECT_MODEL, else config.toml's model_path, else the\n"
            "                     shipped models/default\n"
            "  --tokenizer PATH   the tokenizer, when it is not next to the model (in process)\n"
            "  --beams N          completions searched and shown at most (default 5, at most 16)\n"
            "  --max-tokens N     tokens per completion at most (default 4)\n"
            "  --stop RULE        word, phrase (default) or line: where a completion ends\n"
            "  --after TEXT       the text after the cursor (completions do not repeat it)\n"
            "  --min-score X      abstain threshold: drop completions scoring below X (default -2.5;\n"
            "                     -inf keeps all)\n"
            "  --length-penalty A score = sum(log p) / n_tokens^A (default 1; another value runs in\n"
            "                     process)\n"
            "  --deadline-ms N    time budget in ms; past it the best so far come back, partial (in\n"
            "                     process the default is none; the daemon's is its deadline_ms)\n"
            "  --threads N        threads for the model in process (default 2)\n"
            "  --int8             int8 weights in process (the configured model follows config.toml's\n"
            "                     quantization, as the daemon does; a --model is loaded as f32)\n"
            "  --socket PATH      ask the daemon at PATH (an error if none answers)\n"
            "  --no-daemon        run in process even when a daemon runs\n"
            "  --config FILE      the config.toml to read (default $XDG_CONFIG_HOME/autocorrect/)\n");
}

void ac_cli_complete_opts_init(ac_cli_complete_opts *o)
{
    memset(o, 0, sizeof *o);
    o->params = ac_complete_default_params();
    o->threads = 2;
}

static int parse_int(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "autocorrect complete: %s takes a number in %d..%d, not '%s'\n", name, lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_float(const char *name, const char *v, float *out)
{
    char *end;
    errno = 0;
    float x = strtof(v, &end);
    if (errno || end == v || *end || isnan(x)) {
        fprintf(stderr, "autocorrect complete: %s takes a number, not '%s'\n", name, v);
        return -1;
    }
    *out = x;
    return 0;
}

int ac_cli_complete_parse(int argc, char **argv, ac_cli_complete_opts *o)
{
    ac_cli_complete_opts_init(o);
    const char *text = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
            takes = 0;
        } else if (!strcmp(a, "--int8")) {
            o->int8 = 1;
            takes = 0;
        } else if (!strcmp(a, "--") && i + 1 < argc) {
            if (text || i + 2 < argc)
                goto extra;
            text = argv[++i];
            continue;
        } else if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "autocorrect complete: %s needs a value\n", a);
            return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--tokenizer")) {
            o->tokenizer = v;
        } else if (!strcmp(a, "--beams")) {
            if (parse_int(a, v, 1, AC_COMPLETE_MAX_BEAMS, &o->params.beam_width))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--max-tokens")) {
            if (parse_int(a, v, 1, AC_COMPLETE_MAX_TOKENS, &o->params.max_tokens))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--stop")) {
            o->params.stop = ac_stop_from_name(v);
            if (o->params.stop < 0) {
                fprintf(stderr, "autocorrect complete: --stop is word, phrase or line, not '%s'\n", v);
                return AC_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--after")) {
            o->params.after = v;
            o->params.after_len = strlen(v);
        } else if (!strcmp(a, "--min-score")) {
            if (parse_float(a, v, &o->params.min_score))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--length-penalty")) {
            if (parse_float(a, v, &o->params.length_penalty))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--deadline-ms")) {
            if (parse_int(a, v, 0, 3600000, &o->params.deadline_ms))
                return AC_EXIT_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(a, v, 1, 256, &o->threads))
                return AC_EXIT_USAGE;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "autocorrect complete: unknown option %s (see --help)\n", a);
            return AC_EXIT_USAGE;
        } else {
            if (text)
                goto extra;
            text = a;
            takes = 0;
        }
        i += takes;
    }
    if (text) {
        o->text = strdup(text);
        if (!o->text) {
            fprintf(stderr, "autocorrect complete: out of memory\n");
            return AC_EXIT_FAIL;
        }
        o->text_len = strlen(text);
    } else {
        o->text = ac_cli_read_stdin(INPUT_LIMIT, &o->text_len);
        if (!o->text)
            return AC_EXIT_FAIL;
        if (o->text_len && o->text[o->text_len - 1] == '\n')
            o->text[--o->text_len] = 0;
    }
    return -1;
extra:
    fprintf(stderr, "autocorrect complete: give one TEXT (quote it), or none to read standard input\n");
    return AC_EXIT_USAGE;
}

void ac_cli_complete_opts_free(ac_cli_complete_opts *o)
{
    free(o->text);
    o->text = NULL;
}

int ac_cli_complete_in_process(const ac_cli_complete_opts *o, ac_complete_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    ac_cli_route own;
    const ac_cli_route *route = o->route;
    if (!route) {
        char *none[] = {"complete", NULL};
        ac_cli_route_init(&own, "complete", 1, none);
        route = &own;
    }
    char path[AC_CONFIG_PATH_MAX], dir[AC_CONFIG_PATH_MAX];
    int rc = ac_cli_route_model(route, o->model, path, sizeof path, err);
    if (!rc)
        rc = ac_cli_route_check_model(path, err);
    if (rc)
        return rc;
    /* The tokenizer: --tokenizer, else the model's directory. */
    const char *tok = o->tokenizer;
    if (!tok) {
        ac_cli_route_tokenizer_dir(path, dir, sizeof dir);
        tok = dir;
    }
    /* the part of a long text the daemon would give the model, so that both answer the same */
    ac_complete_params p = o->params;
    size_t start = ac_config_context_start(&route->cfg, o->text, o->text_len);
    p.mid_text = p.mid_text || start > 0;
    ac_model_params mp = ac_model_default_params();
    mp.quantize = ac_cli_route_quantize(route, o->model, o->int8);
    ac_model *model = NULL;
    ac_bpe *bpe = NULL;
    ac_threadpool *tp = NULL;
    ac_completer *c = NULL;
    ac_complete_cache *cache = NULL;
    rc = ac_model_load(path, &mp, &model, err);
    if (!rc)
        rc = ac_bpe_load(tok, &bpe, err);
    if (!rc && o->threads > 1 && !(tp = ac_threadpool_new(o->threads)))
        rc = ac__errorf(err, AC_E_NOMEM, "cannot start %d threads", o->threads);
    if (!rc)
        rc = ac_completer_new(model, bpe, tp, &c, err);
    if (!rc) {
        ac_complete_cache_params cp = ac_complete_cache_default_params();
        cp.n_contexts = 1;
        if (o->params.beam_width > cp.max_beams)
            cp.max_beams = o->params.beam_width;
        rc = ac_complete_cache_new(c, &cp, &cache, err);
    }
    if (!rc)
        rc = ac_complete(c, cache, o->text + start, o->text_len - start, &p, r, err);
    ac_complete_cache_free(cache);
    ac_completer_free(c);
    ac_threadpool_free(tp);
    ac_bpe_free(bpe);
    ac_model_free(model);
    return rc;
}

/* A JSON string of bytes that may not be valid UTF-8 (a completion finishing a character the text
 * ends inside of starts with a continuation byte): invalid bytes become U+FFFD. */
static json_t *json_bytes(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    ac_buf b = {0};
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        unsigned char c = (unsigned char)s[i];
        int len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        json_t *probe = len && i + (size_t)len <= n ? json_stringn(s + i, (size_t)len) : NULL;
        if (probe) {
            k = (size_t)len;
            ac_buf_append(&b, s + i, k);
            json_decref(probe);
        } else {
            ac_buf_append(&b, "\xef\xbf\xbd", 3);
        }
        i += k;
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    ac_buf_free(&b);
    return j;
}

int ac_cli_complete_print(FILE *f, const ac_cli_complete_opts *o, const ac_complete_result *r)
{
    if (!o->json) {
        /* one line per completion, nothing in it that acts on the terminal (as the daemon's
         * plain-text replies) */
        ac_buf line = {0};
        for (int i = 0; i < r->n; i++) {
            line.len = 0;
            if (ac_buf_append_for_terminal(&line, r->items[i].text, r->items[i].len) == AC_OK && line.data)
                fwrite(line.data, 1, line.len, f);
            fputc('\n', f);
        }
        ac_buf_free(&line);
        return fflush(f) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
    }
    json_t *root = json_object(), *list = json_array(), *t = json_object();
    for (int i = 0; i < r->n; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "text", json_bytes(r->items[i].text, r->items[i].len));
        /* through 6 significant digits first, as the daemon's reply carries a score */
        json_object_set_new(c, "score", json_real(round(ac_cli_sig6(r->items[i].score) * 1e4) / 1e4));
        json_array_append_new(list, c);
    }
    json_object_set_new(root, "completions", list);
    json_object_set_new(root, "partial", json_boolean(r->partial));
    json_object_set_new(t, "cached_tokens", json_integer(r->timings.cached_tokens));
    json_object_set_new(t, "new_tokens", json_integer(r->timings.new_tokens));
    json_object_set_new(t, "ms", json_real(round(r->timings.ms * 100) / 100));
    json_object_set_new(root, "timings", t);
    int rc = json_dumpf(root, f, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(root);
    fputc('\n', f);
    return rc == 0 && fflush(f) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
}

/* The request for the daemon: the same parameters as in process (the CLI's defaults, not the
 * daemon's). NULL when the text cannot travel as JSON (not UTF-8) or out of memory. */
static json_t *daemon_request(const ac_cli_complete_opts *o)
{
    json_t *before = json_stringn(o->text, o->text_len);
    json_t *after = o->params.after ? json_stringn(o->params.after, o->params.after_len) : NULL;
    if (!before || (o->params.after && !after)) {
        json_decref(before);
        json_decref(after);
        return NULL;
    }
    /* JSON has no infinities: the largest doubles become them again in the daemon's float */
    double min_score = isinf(o->params.min_score) ? (o->params.min_score < 0 ? -DBL_MAX : DBL_MAX)
                                                  : (double)o->params.min_score;
    /* n as well as beams: --beams is "searched and shown", as in process (the daemon's own
     * default n is its `completions` setting) */
    json_t *req = json_pack("{s:s,s:o,s:i,s:i,s:i,s:s,s:f}", "op", "complete", "before", before, "beams",
                            o->params.beam_width, "n", o->params.beam_width, "max_tokens", o->params.max_tokens,
                            "stop_rule", ac_stop_name(o->params.stop), "min_score", min_score);
    if (req && after)
        json_object_set_new(req, "after", after);
    else
        json_decref(after);
    if (req && o->params.deadline_ms > 0)
        json_object_set_new(req, "deadline_ms", json_integer(o->params.deadline_ms));
    return req;
}

/* The daemon's reply as a result (its texts point into `reply`, which must outlive r). */
static void result_from_reply(json_t *reply, ac_complete_result *r)
{
    memset(r, 0, sizeof *r);
    json_t *list = json_object_get(reply, "completions");
    for (size_t i = 0; i < json_array_size(list) && r->n < AC_COMPLETE_MAX_BEAMS; i++) {
        json_t *c = json_array_get(list, i), *text = json_object_get(c, "text");
        if (!json_is_string(text))
            continue;
        ac_completion *item = &r->items[r->n++];
        item->text = (char *)json_string_value(text); /* read only: printed, never freed */
        item->len = json_string_length(text);
        item->score = (float)json_number_value(json_object_get(c, "score"));
    }
    r->partial = json_is_true(json_object_get(reply, "partial"));
    json_t *t = json_object_get(reply, "timings");
    r->timings.cached_tokens = (int)json_integer_value(json_object_get(t, "cached_tokens"));
    r->timings.new_tokens = (int)json_integer_value(json_object_get(t, "new_tokens"));
    r->timings.ms = json_number_value(json_object_get(t, "ms"));
}

int ac_cmd_complete(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "complete", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    ac_cli_complete_opts o;
    int rc = ac_cli_complete_parse(argc, argv, &o);
    if (rc >= 0) {
        ac_cli_complete_opts_free(&o);
        return rc;
    }
    o.route = &route;
    const char *own = o.model ? "--model" : o.tokenizer ? "--tokenizer" : o.int8 ? "--int8"
                      : o.params.length_penalty != ac_complete_default_params().length_penalty ? "--length-penalty"
                                                                                                : NULL;
    int ask = ac_cli_route_ask(&route, own);
    if (ask < 0) {
        ac_cli_complete_opts_free(&o);
        return AC_EXIT_USAGE;
    }
    ac_complete_result r;
    if (ask) {
        json_t *req = daemon_request(&o), *reply = NULL;
        if (!req && route.socket) {
            fprintf(stderr, "autocorrect complete: the daemon takes UTF-8 text only\n");
            ac_cli_complete_opts_free(&o);
            return AC_EXIT_FAIL;
        }
        rc = req ? ac_cli_route_call(&route, req, &reply, NULL) : AC_CLIENT_UNAVAILABLE;
        json_decref(req);
        if (rc == AC_OK) {
            result_from_reply(reply, &r);
            rc = ac_cli_complete_print(stdout, &o, &r);
            json_decref(reply);
            ac_cli_complete_opts_free(&o);
            return rc;
        }
        if (rc != AC_CLIENT_UNAVAILABLE) {
            ac_cli_complete_opts_free(&o);
            return AC_EXIT_FAIL;
        }
    }
    char err[AC_ERR_SIZE];
    if (ac_cli_complete_in_process(&o, &r, err)) {
        fprintf(stderr, "autocorrect complete: %s\n", err);
        ac_complete_result_free(&r);
        ac_cli_complete_opts_free(&o);
        return AC_EXIT_FAIL;
    }
    rc = ac_cli_complete_print(stdout, &o, &r);
    ac_complete_result_free(&r);
    ac_cli_complete_opts_free(&o);
    return rc;
}
