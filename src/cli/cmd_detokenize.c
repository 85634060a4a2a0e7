/* cmd_detokenize.c: `autocorrect detokenize`: token ids on standard input -> the bytes they stand for,
 * on standard output. Ids may be separated by whitespace or commas, optionally in brackets, or be
 * given as JSON {"ids":[...]}. Not the tokenizer itself (src/tokenizer/). */
#include "cli/cli.h"

#include "autocorrect/tokenizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: autocorrect detokenize --tokenizer PATH < IDS\n"
               "\n"
               "Reads token ids from standard input (separated by whitespace or commas, or JSON\n"
               "{\"ids\":[...]}) and writes the bytes they decode to, exactly, to standard output.\n");
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

int ac_cmd_detokenize(int argc, char **argv)
{
    const char *tok_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
            tok_path = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else {
            fprintf(stderr, "autocorrect detokenize: unexpected argument '%s'\n\n", argv[i]);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (!tok_path) {
        fprintf(stderr, "autocorrect detokenize: --tokenizer PATH is required\n\n");
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    char err[AC_ERR_SIZE];
    ac_bpe *bpe;
    if (ac_bpe_load(tok_path, &bpe, err)) {
        fprintf(stderr, "autocorrect detokenize: %s\n", err);
        return AC_EXIT_FAIL;
    }
    size_t len;
    char *text = ac_cli_read_stdin((size_t)1 << 32, &len);
    int32_t *ids = NULL;
    size_t n = 0;
    int status = AC_EXIT_FAIL;
    if (text && parse_ids(text, len, &ids, &n) == 0) {
        ac_buf out = {0};
        if (ac_bpe_decode(bpe, ids, n, &out, err))
            fprintf(stderr, "autocorrect detokenize: %s\n", err);
        else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout))
            fprintf(stderr, "autocorrect detokenize: cannot write: %s\n", strerror(errno));
        else
            status = AC_EXIT_OK;
        ac_buf_free(&out);
    }
    free(ids);
    free(text);
    ac_bpe_free(bpe);
    return status;
}
