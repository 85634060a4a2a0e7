/* cmd_tokenize.c: `autocorrect tokenize`: text -> token ids with a BPE tokenizer. Prints the ids of
 * one text (standard input or a file): the running daemon's tokenizer when no tokenizer is named
 * (route.h), else in process. In bulk mode (--out-u16) it writes a training corpus as little-endian
 * uint16 ids, each document followed by the <|endoftext|> id. Not the tokenizer itself
 * (src/tokenizer/). */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DAEMON_TEXT_MAX (64u << 10) /* larger texts are tokenized in process (the daemon's lines are 1 MiB at most) */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect tokenize [--tokenizer PATH | --model PATH] [--json] [--special] [INPUT]\n"
            "       autocorrect tokenize [--tokenizer PATH | --model PATH] --out-u16 FILE [--special] [INPUT]\n"
            "\n"
            "Encodes INPUT (default: standard input) as one text and prints its ids, space separated\n"
            "(--json: {\"ids\":[...]}). PATH is a tokenizer file or a directory holding vocab.json +\n"
            "merges.txt, encoder.json + vocab.bpe or tokenizer.json (--tokenizer), or a model directory\n"
            "(--model): either runs in process. Without them the running daemon's tokenizer answers\n"
            "(text that is not UTF-8, or over 64 KiB, is encoded in process with its model's tokenizer),\n"
            "else the configured model's (as `autocorrect complete` finds it).\n"
            "  --socket PATH   ask the daemon at PATH; --no-daemon: never; --config FILE: its config.toml\n"
            "  --special       recognise special tokens such as <|endoftext|> in the text (in process)\n"
            "  --stats         print sizes and timings (load, encode, MB/s) on standard error (in process)\n"
            "  --no-cache      encode without the pre-token cache (for benchmarks; in process)\n"
            "  --out-u16 FILE  bulk mode for training data: INPUT is a corpus whose documents are\n"
            "                  separated by lines \"<|endoftext|>\"; writes every document's ids as\n"
            "                  little-endian uint16, each document followed by the <|endoftext|> id\n");
}

/* Appends the decimal digits of v to p; returns the new end. */
static char *put_int(char *p, int32_t v)
{
    char t[12];
    int n = 0;
    uint32_t u = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = t[--n];
    return p;
}

static int print_ids(const int32_t *ids, size_t n, int json)
{
    char buf[1 << 16];
    char *p = buf;
    if (json)
        p += sprintf(p, "{\"ids\":[");
    for (size_t i = 0; i < n; i++) {
        if (p - buf > (ptrdiff_t)sizeof buf - 16) {
            fwrite(buf, 1, (size_t)(p - buf), stdout);
            p = buf;
        }
        if (i)
            *p++ = json ? ',' : ' ';
        p = put_int(p, ids[i]);
    }
    p += sprintf(p, json ? "]}\n" : "\n");
    fwrite(buf, 1, (size_t)(p - buf), stdout);
    return fflush(stdout) == 0 ? AC_EXIT_OK : AC_EXIT_FAIL;
}

/* Bulk mode: every document of text[0..len) to `out_path` as uint16 ids. */
static int write_u16(const ac_bpe *bpe, const char *text, size_t len, unsigned flags, int use_cache,
                     const char *out_path)
{
    int32_t eot = ac_bpe_eot(bpe);
    if (eot < 0) {
        fprintf(stderr, "autocorrect tokenize: the tokenizer has no <|endoftext|> token to separate documents\n");
        return AC_EXIT_FAIL;
    }
    if (ac_bpe_n_vocab(bpe) > 65536) {
        fprintf(stderr, "autocorrect tokenize: %d ids do not fit in uint16\n", (int)ac_bpe_n_vocab(bpe));
        return AC_EXIT_FAIL;
    }
    FILE *f = fopen(out_path, "wb");
    if (!f) {
        fprintf(stderr, "autocorrect tokenize: cannot create %s: %s\n", out_path, strerror(errno));
        return AC_EXIT_FAIL;
    }
    ac_bpe_cache *cache = use_cache ? ac_bpe_cache_new(0) : NULL;
    size_t cap = 1 << 20;
    int32_t *ids = malloc(cap * sizeof *ids);
    uint8_t *le = malloc(2 * (cap + 1));
    int status = AC_EXIT_OK;
    if ((use_cache && !cache) || !ids || !le) {
        fprintf(stderr, "autocorrect tokenize: out of memory\n");
        status = AC_EXIT_FAIL;
    }
    size_t pos = 0, n_docs = 0, n_tokens = 0;
    const char *doc;
    size_t doc_len;
    double t0 = ac_now();
    char err[AC_ERR_SIZE];
    while (status == AC_EXIT_OK && ac_corpus_next_doc(text, len, &pos, &doc, &doc_len)) {
        if (doc_len > cap) {
            cap = doc_len;
            int32_t *bigger = realloc(ids, cap * sizeof *ids);
            uint8_t *le2 = bigger ? realloc(le, 2 * (cap + 1)) : NULL;
            if (bigger)
                ids = bigger;
            if (le2)
                le = le2;
            if (!bigger || !le2) {
                fprintf(stderr, "autocorrect tokenize: out of memory\n");
                status = AC_EXIT_FAIL;
                break;
            }
        }
        size_t n;
        if (ac_bpe_encode(bpe, cache, doc, doc_len, flags, ids, cap, &n, err)) {
            fprintf(stderr, "autocorrect tokenize: %s\n", err);
            status = AC_EXIT_FAIL;
            break;
        }
        ids[n++] = eot;
        for (size_t i = 0; i < n; i++) {
            le[2 * i] = (uint8_t)(ids[i] & 0xFF);
            le[2 * i + 1] = (uint8_t)(ids[i] >> 8);
        }
        if (fwrite(le, 2, n, f) != n) {
            fprintf(stderr, "autocorrect tokenize: cannot write %s: %s\n", out_path, strerror(errno));
            status = AC_EXIT_FAIL;
        }
        n_docs++;
        n_tokens += n;
    }
    if (fclose(f) != 0 && status == AC_EXIT_OK) {
        fprintf(stderr, "autocorrect tokenize: cannot write %s: %s\n", out_path, strerror(errno));
        status = AC_EXIT_FAIL;
    }
    if (status == AC_EXIT_OK) {
        double dt = ac_now() - t0;
        fprintf(stderr, "tokenize: %zu documents, %zu tokens (with separators) from %.1f MB in %.2f s (%.1f MB/s) -> %s\n",
                n_docs, n_tokens, len / 1e6, dt, dt > 0 ? len / 1e6 / dt : 0.0, out_path);
    }
    ac_bpe_cache_free(cache);
    free(ids);
    free(le);
    return status;
}

/* Asks the daemon for the ids of text[0..len). AC_OK after printing them; AC_CLIENT_UNAVAILABLE
 * (nothing printed) when no daemon answers; -2 when the text cannot go to the daemon (not UTF-8,
 * too long): *daemon_tok then holds its model's tokenizer directory, or "" when there is none;
 * another status after printing a message. */
static int via_daemon(const ac_cli_route *r, const char *text, size_t len, int json, char *daemon_tok, size_t n)
{
    daemon_tok[0] = 0;
    json_t *t = len <= DAEMON_TEXT_MAX ? json_stringn(text, len) : NULL;
    if (!t) {
        char model[AC_CONFIG_PATH_MAX];
        int rc = ac_cli_route_daemon_model(r, model, sizeof model, NULL);
        if (rc == AC_OK)
            ac_cli_route_tokenizer_dir(model, daemon_tok, n);
        return rc == AC_OK ? -2 : rc;
    }
    json_t *req = json_pack("{s:s,s:o}", "op", "tokenize", "text", t), *reply = NULL;
    int rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
    json_decref(req);
    if (rc != AC_OK)
        return rc;
    json_t *list = json_object_get(reply, "tokens");
    size_t count = json_array_size(list);
    int32_t *ids = malloc((count ? count : 1) * sizeof *ids);
    if (!ids) {
        json_decref(reply);
        fprintf(stderr, "autocorrect tokenize: out of memory\n");
        return AC_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(list, i));
    rc = print_ids(ids, count, json) == AC_EXIT_OK ? AC_OK : AC_E_IO;
    free(ids);
    json_decref(reply);
    return rc;
}

int ac_cmd_tokenize(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "tokenize", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    const char *tok_path = NULL, *model_path = NULL, *input = NULL, *out_u16 = NULL;
    int json = 0, stats = 0, use_cache = 1;
    unsigned flags = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
            tok_path = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_path = argv[++i];
        else if (!strcmp(argv[i], "--out-u16") && i + 1 < argc)
            out_u16 = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--special"))
            flags |= AC_BPE_SPECIAL;
        else if (!strcmp(argv[i], "--stats"))
            stats = 1;
        else if (!strcmp(argv[i], "--no-cache"))
            use_cache = 0;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (argv[i][0] != '-' && !input)
            input = argv[i];
        else {
            fprintf(stderr, "autocorrect tokenize: unexpected argument '%s'\n\n", argv[i]);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (tok_path && model_path) {
        fprintf(stderr, "autocorrect tokenize: give --tokenizer or --model, not both\n");
        return AC_EXIT_USAGE;
    }
    const char *own = tok_path ? "--tokenizer" : model_path ? "--model" : out_u16 ? "--out-u16"
                      : flags ? "--special" : stats ? "--stats" : !use_cache ? "--no-cache" : NULL;
    int ask = ac_cli_route_ask(&route, own);
    if (ask < 0)
        return AC_EXIT_USAGE;
    char err[AC_ERR_SIZE];
    const void *mapped = NULL;
    char *text = NULL;
    size_t len = 0;
    if (input) {
        if (ac_file_map(input, &mapped, &len, err)) {
            fprintf(stderr, "autocorrect tokenize: %s\n", err);
            return AC_EXIT_FAIL;
        }
    } else if (!(text = ac_cli_read_stdin((size_t)1 << 34, &len))) {
        return AC_EXIT_FAIL;
    }
    const char *data = input ? (const char *)mapped : text;
    int status = AC_EXIT_OK;
    char dir[AC_CONFIG_PATH_MAX] = "";
    if (ask) {
        int rc = via_daemon(&route, data ? data : "", len, json, dir, sizeof dir);
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
            fprintf(stderr, "autocorrect tokenize: %s\n", err);
            status = AC_EXIT_FAIL;
            goto done;
        }
        ac_cli_route_tokenizer_dir(model, dir, sizeof dir);
        tok_path = dir;
    }
    ac_bpe *bpe = NULL;
    double t_load = ac_now();
    if (ac_bpe_load(tok_path, &bpe, err)) {
        fprintf(stderr, "autocorrect tokenize: %s\n", err);
        status = AC_EXIT_FAIL;
        goto done;
    }
    t_load = ac_now() - t_load;
    if (stats)
        fprintf(stderr, "tokenize: loaded %d ids, %d merges in %.1f ms; the tokenizer holds %.2f MB\n",
                (int)ac_bpe_n_vocab(bpe), (int)ac_bpe_n_merges(bpe), t_load * 1e3, ac_bpe_memory_bytes(bpe) / 1e6);
    if (out_u16) {
        status = write_u16(bpe, data ? data : "", len, flags, use_cache, out_u16);
    } else {
        int32_t *ids = malloc((len + 1) * sizeof *ids);
        ac_bpe_cache *cache = use_cache ? ac_bpe_cache_new(0) : NULL;
        size_t n = 0;
        double t_enc = ac_now();
        if (!ids || (use_cache && !cache)) {
            fprintf(stderr, "autocorrect tokenize: out of memory\n");
            status = AC_EXIT_FAIL;
        } else if (ac_bpe_encode(bpe, cache, data ? data : "", len, flags, ids, len + 1, &n, err)) {
            fprintf(stderr, "autocorrect tokenize: %s\n", err);
            status = AC_EXIT_FAIL;
        } else {
            t_enc = ac_now() - t_enc;
            if (stats)
                fprintf(stderr, "tokenize: %zu bytes -> %zu ids in %.3f s: %.1f MB/s (one thread, %s)\n", len, n,
                        t_enc, t_enc > 0 ? len / 1e6 / t_enc : 0.0, use_cache ? "pre-token cache" : "no cache");
            status = print_ids(ids, n, json);
        }
        free(ids);
        ac_bpe_cache_free(cache);
    }
    ac_bpe_free(bpe);
done:
    if (mapped)
        ac_file_unmap(mapped, len);
    free(text);
    return status;
}
