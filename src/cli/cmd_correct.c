/* cmd_correct.c: `autocorrect correct`, the spelling filter: every input line comes back corrected,
 * as text or as one JSON object per line. The running daemon answers when there is one and nothing
 * asks for work in process (correct_daemon.c, sharing ac_cli_correct_parse and ac_cli_correct_print);
 * in process it loads the dictionary (and, with --model, the language model) itself. Not the
 * corrector (src/corrector/, correct_lm.c).
 */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/corrector.h"
#include "autocorrect/engine.h"
#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CORRECTIONS 256  /* per line */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect correct [--json] [--model PATH] [--dictionary PATH] [OPTIONS] [TEXT]\n"
            "\n"
            "A spelling filter: reads lines from standard input (or the one TEXT) and writes each line\n"
            "back with its misspellings corrected. Numbers, URLs, e-mail addresses, code-like tokens,\n"
            "ALL-CAPS words and the words of your user dictionary (see `autocorrect learn`) are left alone.\n"
            "A line that is not valid UTF-8 comes back unchanged.\n"
            "\n"
            "When autocorrectd runs, it corrects each line with its dictionary and language model, unless\n"
            "an option below asks for work in process (--model, --dictionary, --user-dictionary,\n"
            "--no-user-dictionary, --int8, --candidates other than 5) or --no-daemon is given.\n"
            "Without --model the dictionary alone ranks the corrections in process (word frequencies\n"
            "times an error model): misspelled non-words are fixed, real-word errors (form/from) are not.\n"
            "With --model (and in the daemon) the language model ranks them in context and may fix a\n"
            "real-word error when the context makes it clear.\n"
            "\n"
            "With --json, one object per input line (offsets in bytes of the input line):\n"
            "  {\"text\":\"the corrected line\",\"corrections\":[{\"start\":0,\"end\":3,\"original\":\"teh\",\n"
            "   \"replacement\":\"the\",\"score\":-0.01,\"candidates\":[{\"text\":\"the\",\"score\":-0.01},...]}]}\n"
            "(a line that is not valid UTF-8: its text with U+FFFD for the bad bytes, no corrections and\n"
            "\"error\":\"invalid UTF-8\").\n"
            "\n"
            "  --model PATH            a model directory (model.onnx or config.json + model.safetensors,\n"
            "                          with the tokenizer files): rank with the language model\n"
            "  --dictionary PATH       the dictionary (default: dictionary.tsv in the model's directory:\n"
            "                          --model, $AUTOCORRECT_MODEL or config.toml's model_path; else\n"
            "                          config.toml's dictionary_path, else the shipped one)\n"
            "  --user-dictionary PATH  the user's words (default: config.toml's user_dictionary_path, else\n"
            "                          $XDG_DATA_HOME/autocorrect/user-dictionary.txt, XDG_DATA_HOME\n"
            "                          defaulting to ~/.local/share)\n"
            "  --no-user-dictionary    do not read it\n"
            "  --candidates N          candidates listed per correction in --json (default 5, at most %d)\n"
            "  --threads N             threads for the model (default 2)\n"
            "  --int8                  run the model with int8 weights (faster, a little less exact)\n"
            "  --socket PATH           ask the daemon at PATH (an error if none answers)\n"
            "  --no-daemon             run in process even when a daemon runs\n"
            "  --config FILE           the config.toml to read (default $XDG_CONFIG_HOME/autocorrect/)\n",
            AC_CORRECT_MAX_CANDIDATES);
}

void ac_cli_correct_opts_init(ac_cli_correct_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 2;
    o->candidates = 5;
}

static int parse_int(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "autocorrect correct: %s takes a number in %d..%d, not '%s'\n", name, lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int ac_cli_correct_parse(int argc, char **argv, ac_cli_correct_opts *o)
{
    ac_cli_correct_opts_init(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--no-user-dictionary")) {
            o->no_user_dictionary = 1;
        } else if (!strcmp(a, "--int8")) {
            o->int8 = 1;
        } else if (!strcmp(a, "--") && i + 1 < argc) {
            if (o->text || i + 2 < argc)
                goto extra;
            o->text = argv[++i];
        } else if (!strcmp(a, "--model") || !strcmp(a, "--dictionary") || !strcmp(a, "--user-dictionary") ||
                   !strcmp(a, "--threads") || !strcmp(a, "--candidates")) {
            if (!v) {
                fprintf(stderr, "autocorrect correct: %s needs a value\n", a);
                return AC_EXIT_USAGE;
            }
            i++;
            if (!strcmp(a, "--model"))
                o->model = v;
            else if (!strcmp(a, "--dictionary"))
                o->dictionary = v;
            else if (!strcmp(a, "--user-dictionary"))
                o->user_dictionary = v;
            else if (!strcmp(a, "--threads") ? parse_int(a, v, 1, 256, &o->threads)
                                             : parse_int(a, v, 1, AC_CORRECT_MAX_CANDIDATES, &o->candidates))
                return AC_EXIT_USAGE;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "autocorrect correct: unknown option %s (see --help)\n", a);
            return AC_EXIT_USAGE;
        } else {
            if (o->text)
                goto extra;
            o->text = a;
        }
    }
    return -1;
extra:
    fprintf(stderr, "autocorrect correct: give one TEXT (quote it), or none to read standard input\n");
    return AC_EXIT_USAGE;
}

/* A JSON string of bytes that may not be valid UTF-8: invalid bytes become U+FFFD. */
static json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    ac_buf b = {0};
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        json_t *probe = len && i + len <= n ? json_stringn(s + i, len) : NULL;
        if (probe) {
            ac_buf_append(&b, s + i, len);
            json_decref(probe);
            i += len;
        } else {
            ac_buf_append(&b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    ac_buf_free(&b);
    return j;
}

/* through 6 significant digits first, as the daemon's reply carries a score, so both print the same */
static double round4(double x) { return round(ac_cli_sig6(x) * 1e4) / 1e4; }

int ac_cli_correct_print(FILE *f, const ac_cli_correct_opts *o, const char *line, size_t len,
                         const ac_correction *c, int n, int status)
{
    ac_buf fixed = {0};
    if (status == AC_OK && n > 0 && ac_correct_apply(line, len, c, n, &fixed) != AC_OK)
        status = AC_E_NOMEM;
    const char *text = status == AC_OK && n > 0 ? fixed.data : line;
    size_t text_len = status == AC_OK && n > 0 ? fixed.len : len;
    int rc = 0;
    if (!o->json) {
        rc = fwrite(text, 1, text_len, f) == text_len ? 0 : -1;
    } else {
        json_t *root = json_object(), *list = json_array();
        json_object_set_new(root, "text", json_text(text, text_len));
        for (int i = 0; status == AC_OK && i < n; i++) {
            json_t *j = json_object(), *cands = json_array();
            json_object_set_new(j, "start", json_integer((json_int_t)c[i].start));
            json_object_set_new(j, "end", json_integer((json_int_t)c[i].end));
            json_object_set_new(j, "original", json_text(c[i].original, strlen(c[i].original)));
            json_object_set_new(j, "replacement", json_text(c[i].replacement, strlen(c[i].replacement)));
            json_object_set_new(j, "score", json_real(round4(c[i].score)));
            for (int k = 0; k < c[i].n_candidates && k < o->candidates; k++) {
                json_t *cj = json_object();
                json_object_set_new(cj, "text", json_text(c[i].candidates[k].text, strlen(c[i].candidates[k].text)));
                json_object_set_new(cj, "score", json_real(round4(c[i].candidates[k].score)));
                json_array_append_new(cands, cj);
            }
            json_object_set_new(j, "candidates", cands);
            json_array_append_new(list, j);
        }
        json_object_set_new(root, "corrections", list);
        if (status == AC_E_FORMAT)
            json_object_set_new(root, "error", json_string("invalid UTF-8"));
        else if (status != AC_OK)
            json_object_set_new(root, "error", json_string(ac_status_name(status)));
        rc = json_dumpf(root, f, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(root);
    }
    ac_buf_free(&fixed);
    return rc;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The dictionary path: --dictionary, else dictionary.tsv next to the model (the one lookup of
 * route.h: --model, $AUTOCORRECT_MODEL, config.toml), else config.toml's dictionary_path or the
 * shipped one (as the daemon finds it). */
static const char *dictionary_path(const ac_cli_route *r, const ac_cli_correct_opts *o, char *buf, size_t n)
{
    if (o->dictionary)
        return o->dictionary;
    char model[AC_CONFIG_PATH_MAX], dir[AC_CONFIG_PATH_MAX], e[AC_ERR_SIZE];
    if (ac_cli_route_model(r, o->model, model, sizeof model, e) == AC_OK) {
        ac_cli_route_tokenizer_dir(model, dir, sizeof dir);
        if (snprintf(buf, n, "%s/dictionary.tsv", dir) < (int)n && exists(buf))
            return buf;
    }
    return r->cfg.dictionary_path[0] && exists(r->cfg.dictionary_path) ? r->cfg.dictionary_path : NULL;
}

/* The whole command: through the daemon when it answers, else in process. */
int ac_cmd_correct(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "correct", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    ac_cli_correct_opts o;
    int rc = ac_cli_correct_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    int ask = ac_cli_route_ask(&route, o.model ? "--model" : o.dictionary ? "--dictionary"
                                       : o.user_dictionary ? "--user-dictionary"
                                       : o.no_user_dictionary ? "--no-user-dictionary" : o.int8 ? "--int8"
                                       : o.candidates != 5 ? "--candidates" : NULL);
    if (ask < 0)
        return AC_EXIT_USAGE;
    if (ask && (rc = ac_cli_correct_via_daemon(&route, &o)) >= 0)
        return rc;
    char err[AC_ERR_SIZE], dpath[PATH_MAX];
    const char *path = dictionary_path(&route, &o, dpath, sizeof dpath);
    if (!path) {
        fprintf(stderr, "autocorrect correct: no dictionary: pass --dictionary PATH (build the default "
                        "one with `make dictionary`)\n");
        return AC_EXIT_FAIL;
    }
    ac_dict *dict = NULL;
    if (ac_dict_load(path, &dict, err)) {
        fprintf(stderr, "autocorrect correct: %s\n", err);
        return AC_EXIT_FAIL;
    }
    const char *user = o.user_dictionary ? o.user_dictionary
                       : route.cfg.user_dictionary_path[0] ? route.cfg.user_dictionary_path : NULL;
    if (!o.no_user_dictionary && ac_dict_user_load(dict, user, err))
        fprintf(stderr, "autocorrect correct: user dictionary not read: %s\n", err);
    ac_correct_params p = ac_correct_default_params();
    p.max_candidates = o.candidates;
    ac_model *model = NULL;
    ac_bpe *bpe = NULL;
    ac_threadpool *tp = NULL;
    ac_lm_scorer *lm = NULL;
    int status = AC_EXIT_OK;
    if (o.model) {
        char dir[PATH_MAX];
        struct stat st;
        snprintf(dir, sizeof dir, "%s", o.model);
        const char *tok = stat(o.model, &st) == 0 && S_ISDIR(st.st_mode) ? o.model : dirname(dir);
        ac_model_params mp = ac_model_default_params();
        mp.quantize = o.int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
        rc = ac_model_load(o.model, &mp, &model, err);
        if (!rc)
            rc = ac_bpe_load(tok, &bpe, err);
        if (!rc && o.threads > 1 && !(tp = ac_threadpool_new(o.threads)))
            rc = ac__errorf(err, AC_E_NOMEM, "cannot start %d threads", o.threads);
        if (!rc)
            rc = ac_lm_scorer_new(model, bpe, tp, &lm, err);
        if (rc) {
            fprintf(stderr, "autocorrect correct: %s\n", err);
            status = AC_EXIT_FAIL;
            goto done;
        }
        p.scorer = ac_lm_scorer_context(lm);
    }
    ac_correction *fixes = malloc(sizeof *fixes * MAX_CORRECTIONS);
    if (!fixes) {
        fprintf(stderr, "autocorrect correct: out of memory\n");
        status = AC_EXIT_FAIL;
        goto done;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    FILE *in = o.text ? fmemopen((void *)o.text, strlen(o.text), "r") : stdin;
    if (!in) {
        fprintf(stderr, "autocorrect correct: %s\n", strerror(errno));
        status = AC_EXIT_FAIL;
    }
    while (in && (got = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)got, body = len;
        if (body && line[body - 1] == '\n')
            body--;
        if (body && line[body - 1] == '\r')
            body--;
        int n = 0;
        int st = ac_correct_text(dict, line, body, &p, fixes, MAX_CORRECTIONS, &n, err);
        if (st != AC_OK && st != AC_E_FORMAT)
            fprintf(stderr, "autocorrect correct: %s\n", err);
        if (ac_cli_correct_print(stdout, &o, line, body, fixes, st == AC_OK ? n : 0, st) != 0) {
            status = AC_EXIT_FAIL;
            break;
        }
        /* the line's own ending; in JSON, and for a TEXT argument, always a newline */
        if (o.json || (o.text && body == len))
            fputc('\n', stdout);
        else
            fwrite(line + body, 1, len - body, stdout);
        if (fflush(stdout) != 0) {
            status = AC_EXIT_FAIL;
            break;
        }
    }
    if (o.text && in)
        fclose(in);
    free(line);
    free(fixes);
done:
    ac_lm_scorer_free(lm);
    ac_threadpool_free(tp);
    ac_bpe_free(bpe);
    ac_model_free(model);
    ac_dict_free(dict);
    return status;
}
