/* cmd_detokenize.c: `autocorrect detokenize`: token ids on standard input -> the bytes they stand for,
 * on standard output (or as JSON {"text":...}). Ids may be separated by whitespace or commas,
 * optionally in brackets, or be given as JSON {"ids":[...]}. The running daemon's tokenizer answers
 * when no tokenizer is named (route.h), else in process. Not the tokenizer itself (src/tokenizer/). */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define DAEMON_IDS_MAX 100000 /* more ids are decoded in process (the daemon's lines are 1 MiB at most) */

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect detokenize [--tokenizer PATH | --model PATH] [--json] < IDS\n"
               "\n"
               "Reads token ids from standard input (separated by whitespace or commas, or JSON\n"
               "{\"ids\":[...]}) and writes the bytes they decode to, exactly, to standard output; with\n"
               "--json one object {\"text\":\"...\"} (bytes that are not UTF-8 become U+FFFD).\n"
               "PATH is a tokenizer file or directory (--tokenizer) or a model directory (--model): either\n"
               "runs in process. Without them the running daemon's tokenizer answers (bytes JSON cannot\n"
               "carry are decoded in process with its model's tokenizer), else the configured model's.\n"
               "  --socket PATH   ask the daemon at PATH; --no-daemon: never; --config FILE: its config.toml\n");
}

/* Parses the ids in text[0..len) into *ids (malloc'ed); prints the problem and returns -1 if bad. */
static int parse_ids(const char *text, size_t len, int32_t **ids, size_t *n)
{
    *ids = malloc((len / 2 + 1) * sizeof **ids);
    *n = 0;
    if (!*ids) {
        fprintf(stderr, "autocorrect detokenize: out of memory\n");
        return -1;
    }
    size_t i = 0;
    /* JSON object form: skip to the array after "ids". */
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    if (i < len && text[i] == '{') {
        const char *key = memmem(text, len, "\"ids\"", 5);
        const char *open = key ? memchr(key, '[', len - (size_t)(key - text)) : NULL;
        if (!open) {
            fprintf(stderr, "autocorrect detokenize: JSON input needs an \"ids\" array\n");
            return -1;
        }
        i = (size_t)(open - text) + 1;
        const char *close = memchr(open, ']', len - (size_t)(open - text));
        if (!close) {
            fprintf(stderr, "autocorrect detokenize: unterminated \"ids\" array\n");
            return -1;
        }
        len = (size_t)(close - text);
    }
    while (i < len) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '[' || c == ']') {
            i++;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) {
            fprintf(stderr, "autocorrect detokenize: unexpected '%c' at byte %zu (ids are integers)\n", c, i);
            return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(text + i, &end, 10);
        if (end == text + i || errno || v < INT32_MIN || v > INT32_MAX) {
            fprintf(stderr, "autocorrect detokenize: bad id at byte %zu\n", i);
            return -1;
        }
        (*ids)[(*n)++] = (int32_t)v;
        i = (size_t)(end - text);
    }
    return 0;
}

/* Writes the decoded bytes, or {"text":...} with --json. */
static int print_text(const char *text, size_t len, int json)
{
    int ok;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "text", ac_cli_json_text(text, len));
        ok = json_dumpf(o, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF;
        json_decref(o);
    } else {
        ok = fwrite(text, 1, len, stdout) == len;
    }
    if (!ok || fflush(stdout)) {
        fprintf(stderr, "autocorrect detokenize: cannot write: %s\n", strerror(errno));
        return AC_EXIT_FAIL;
    }
    return AC_EXIT_OK;
}

/* Asks the daemon to decode ids[0..n). AC_OK after printing; AC_CLIENT_UNAVAILABLE (nothing printed)
 * when no daemon answers; -2 when the bytes cannot come back as JSON (too many ids, or a reply with
 * U+FFFD, which may stand for bytes that are not UTF-8): *daemon_tok then holds the daemon's
 * tokenizer directory to decode with in process; another status after printing a message. */
static int via_daemon(const ac_cli_route *r, const int32_t *ids, size_t n, int json, char *daemon_tok, size_t cap)
{
    daemon_tok[0] = 0;
    json_t *list = n <= DAEMON_IDS_MAX ? json_array() : NULL;
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, json_integer(ids[i]));
    json_t *reply = NULL;
    int rc = AC_OK;
    if (list) {
        json_t *req = json_pack("{s:s,s:o}", "op", "detokenize", "tokens", list);
        rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
        json_decref(req);
        if (rc != AC_OK)
            return rc;
        json_t *text = json_object_get(reply, "text");
        const char *t = json_string_value(text);
        size_t len = json_string_length(text);
        if (t && (json || !memmem(t, len, "\xef\xbf\xbd", 3))) {
            rc = print_text(t, len, json) == AC_EXIT_OK ? AC_OK : AC_E_IO;
            json_decref(reply);
            return rc;
        }
        json_decref(reply);
    }
    char model[AC_CONFIG_PATH_MAX];
    rc = ac_cli_route_daemon_model(r, model, sizeof model, NULL);
    if (rc == AC_OK)
        ac_cli_route_tokenizer_dir(model, daemon_tok, cap);
    return rc == AC_OK ? -2 : rc;
}

int ac_cmd_detokenize(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "detokenize", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    const char *tok_path = NULL, *model_path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
            tok_path = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_path = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else {
            fprintf(stderr, "autocorrect detokenize: unexpected argument '%s'\n\n", argv[i]);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (tok_path && model_path) {
        fprintf(stderr, "autocorrect detokenize: give --tokenizer or --model, not both\n");
        return AC_EXIT_USAGE;
    }
    int ask = ac_cli_route_ask(&route, tok_path ? "--tokenizer" : model_path ? "--model" : NULL);
    if (ask < 0)
        return AC_EXIT_USAGE;
    size_t len;
    char *text = ac_cli_read_stdin((size_t)1 << 32, &len);
    int32_t *ids = NULL;
    size_t n = 0;
    int status = AC_EXIT_FAIL;
    char err[AC_ERR_SIZE], dir[AC_CONFIG_PATH_MAX];
    if (!text || parse_ids(text, len, &ids, &n) != 0)
        goto done;
    if (ask) {
        int rc = via_daemon(&route, ids, n, json, dir, sizeof dir);
        if (rc == AC_OK || (rc != AC_CLIENT_UNAVAILABLE && rc != -2)) {
            status = rc == AC_OK ? AC_EXIT_OK : AC_EXIT_FAIL;
            goto done;
        }
        if (rc == -2)
            tok_path = dir; /* the daemon's tokenizer, in process */
    }
    if (!tok_path) {
        char model[AC_CONFIG_PATH_MAX];
        if (ac_cli_route_model(&route, model_path, model, sizeof model, err)) {
            fprintf(stderr, "autocorrect detokenize: %s\n", err);
            goto done;
        }
        ac_cli_route_tokenizer_dir(model, dir, sizeof dir);
        tok_path = dir;
    }
    ac_bpe *bpe;
    if (ac_bpe_load(tok_path, &bpe, err)) {
        fprintf(stderr, "autocorrect detokenize: %s\n", err);
        goto done;
    }
    ac_buf out = {0};
    if (ac_bpe_decode(bpe, ids, n, &out, err))
        fprintf(stderr, "autocorrect detokenize: %s\n", err);
    else
        status = print_text(out.data ? out.data : "", out.len, json);
    ac_buf_free(&out);
    ac_bpe_free(bpe);
done:
    free(ids);
    free(text);
    return status;
}
