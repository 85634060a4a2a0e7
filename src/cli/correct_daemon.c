/* correct_daemon.c: `autocorrect correct` answered by the running daemon: each input line goes as one
 * `correct` request and comes back printed by cmd_correct.c's own ac_cli_correct_print, so the output
 * is the in-process output, byte for byte. Not the option parsing nor the in-process corrector
 * (cmd_correct.c), nor the protocol client (client.c).
 */
#include "cli/cli.h"
#include "cli/route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CORRECTIONS 256 /* per line, as in process (the daemon reports at most 64) */

/* Copies a string field into dst[cap] (cut at cap - 1 bytes). */
static void copy_field(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s, n);
    dst[n] = 0;
}

/* A reply's "corrections" as ac_correction[] (at most max). Returns how many. */
static int corrections_from_reply(json_t *reply, ac_correction *out, int max)
{
    json_t *list = json_object_get(reply, "corrections");
    int n = 0;
    for (size_t i = 0; i < json_array_size(list) && n < max; i++) {
        json_t *c = json_array_get(list, i);
        ac_correction *x = &out[n++];
        memset(x, 0, sizeof *x);
        x->start = (size_t)json_integer_value(json_object_get(c, "start"));
        x->end = (size_t)json_integer_value(json_object_get(c, "end"));
        copy_field(x->original, sizeof x->original, json_object_get(c, "original"));
        copy_field(x->replacement, sizeof x->replacement, json_object_get(c, "replacement"));
        x->score = (float)json_number_value(json_object_get(c, "score"));
        json_t *cands = json_object_get(c, "candidates");
        for (size_t k = 0; k < json_array_size(cands) && x->n_candidates < AC_CORRECT_MAX_CANDIDATES; k++) {
            json_t *cand = json_array_get(cands, k);
            ac_candidate *y = &x->candidates[x->n_candidates++];
            copy_field(y->text, sizeof y->text, json_object_get(cand, "text"));
            y->score = (float)json_number_value(json_object_get(cand, "score"));
        }
    }
    return n;
}

int ac_cli_correct_via_daemon(const struct ac_cli_route *r, const ac_cli_correct_opts *o)
{
    /* is there a daemon? (before reading any input, so that the in-process path still has it all) */
    json_t *req = json_pack("{s:s}", "op", "health"), *reply = NULL;
    int rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
    json_decref(req);
    json_decref(reply);
    if (rc == AC_CLIENT_UNAVAILABLE)
        return -1;
    if (rc != AC_OK)
        return AC_EXIT_FAIL;
    ac_correction *fixes = malloc(sizeof *fixes * MAX_CORRECTIONS);
    FILE *in = o->text ? fmemopen((void *)o->text, strlen(o->text), "r") : stdin;
    if (!fixes || !in) {
        fprintf(stderr, "autocorrect correct: %s\n", fixes ? strerror(errno) : "out of memory");
        free(fixes);
        return AC_EXIT_FAIL;
    }
    int status = AC_EXIT_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)got, body = len;
        if (body && line[body - 1] == '\n')
            body--;
        if (body && line[body - 1] == '\r')
            body--;
        json_t *before = json_stringn(line, body);
        int n = 0, st = AC_OK;
        if (!before) {
            st = AC_E_FORMAT; /* not UTF-8: comes back unchanged, as in process */
        } else if (body > 0) {
            req = json_pack("{s:s,s:o}", "op", "correct", "before", before);
            before = NULL;
            rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
            json_decref(req);
            if (rc != AC_OK) { /* also a daemon gone mid-way: the output so far is complete lines */
                status = AC_EXIT_FAIL;
                break;
            }
            n = corrections_from_reply(reply, fixes, MAX_CORRECTIONS);
            json_decref(reply);
        }
        json_decref(before);
        if (ac_cli_correct_print(stdout, o, line, body, fixes, n, st) != 0) {
            status = AC_EXIT_FAIL;
            break;
        }
        /* the line's own ending; in JSON, and for a TEXT argument, always a newline */
        if (o->json || (o->text && body == len))
            fputc('\n', stdout);
        else
            fwrite(line + body, 1, len - body, stdout);
        if (fflush(stdout) != 0) {
            status = AC_EXIT_FAIL;
            break;
        }
    }
    if (o->text)
        fclose(in);
    free(line);
    free(fixes);
    return status;
}
