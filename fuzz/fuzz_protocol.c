/* fuzz_protocol.c: libFuzzer entry for the daemon's wire protocol in memory (src/server/protocol.c):
 * request lines as they come off the socket, HTTP bodies with the op taken from the path, and the
 * replies built from them (JSON lines and the plain-text fallback's lines).
 *
 * The first input byte picks what to do with the rest:
 *   0: a socket line: ac__request_parse_line with the default limits, or (high bit set) with small
 *      limits so that every "limit" and "too_large" path is reachable.
 *   1: an HTTP body: json_loadb, then ac__request_from_json with the op the URL would give
 *      (the next byte modulo the op count) or with the op from the body.
 *   2: ac__json_text on raw bytes (a token cut inside a UTF-8 character, NUL bytes).
 * For 0 and 1, a request that parses is checked against its limits (the server and the backends
 * trust an ac_request), then answered with a reply made from its own text cut at arbitrary bytes
 * (invalid UTF-8 included), rendered as a JSON line and as plain text; both are checked: the JSON
 * parses back with the request's id and ends in exactly one newline; the plain text has one line
 * per completion. Any broken check aborts.
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=protocol make fuzz); replayed without libFuzzer by
 * $BUILD/tests/fuzz/test_fuzz_regress_protocol in `make test`. The plain-text fallback's framing
 * and the HTTP parsing itself live in the event loop and libmicrohttpd: fuzz_server.c drives those.
 */
#include "server/protocol.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_protocol: check failed: %s (%s:%d)\n", #cond, \
    __FILE__, __LINE__); abort(); } } while (0)

static int is_c_string(const char *s, size_t n)
{
    return memchr(s, 0, n) != NULL;
}

/* What protocol.h promises about a request it accepted. */
static void check_request(const ac_request *r, const ac__limits *lim)
{
    FUZZ_CHECK(r->op >= 0 && r->op < AC_OP_COUNT);
    FUZZ_CHECK(is_c_string(r->session, sizeof r->session));
    FUZZ_CHECK(!r->id || json_is_string(r->id) || json_is_number(r->id) || json_is_boolean(r->id) ||
               json_is_null(r->id));
    FUZZ_CHECK(r->deadline_ms >= 1 && r->deadline_ms <= lim->deadline_ms);
    switch (r->op) {
    case AC_OP_COMPLETE:
    case AC_OP_CORRECT:
        FUZZ_CHECK(r->before && strlen(r->before) <= r->before_len && r->before_len <= lim->max_line_bytes);
        FUZZ_CHECK(!r->after || strlen(r->after) <= r->after_len);
        FUZZ_CHECK(r->max_tokens >= 1 && r->max_tokens <= lim->max_tokens);
        FUZZ_CHECK(r->beams >= 1 && r->beams <= lim->max_beams);
        FUZZ_CHECK(r->n >= 1 && r->n <= r->beams);
        FUZZ_CHECK(r->n_stop >= 0 && r->n_stop <= AC_STOP_MAX);
        for (int i = 0; i < r->n_stop; i++)
            FUZZ_CHECK(r->stop[i] && r->stop[i][0]);
        FUZZ_CHECK(r->stop_rule >= -1 && r->stop_rule <= 2);
        FUZZ_CHECK(r->scope == 0 || r->scope == 1);
        FUZZ_CHECK(r->last_words >= 1 && r->last_words <= 64);
        FUZZ_CHECK(r->want_completions || r->want_corrections);
        break;
    case AC_OP_TOPK:
        FUZZ_CHECK(r->before && r->k >= 1 && r->k <= 1000);
        break;
    case AC_OP_TOKENIZE:
        FUZZ_CHECK(r->text != NULL);
        break;
    case AC_OP_DETOKENIZE:
        FUZZ_CHECK(r->tokens != NULL);
        for (size_t i = 0; i < r->n_tokens; i++)
            FUZZ_CHECK(r->tokens[i] >= 0);
        break;
    case AC_OP_LEARN:
        FUZZ_CHECK(r->n_words >= 1 && r->n_words <= 1000 && r->words);
        for (size_t i = 0; i < r->n_words; i++) {
            size_t n = strlen(r->words[i]);
            FUZZ_CHECK(n >= 1 && n <= 100);
            for (size_t k = 0; k < n; k++)
                FUZZ_CHECK((unsigned char)r->words[i][k] > ' ' && r->words[i][k] != 0x7F);
        }
        break;
    case AC_OP_CANCEL:
        FUZZ_CHECK(r->target || r->session[0]);
        FUZZ_CHECK(!r->target || (!json_is_object(r->target) && !json_is_array(r->target)));
        break;
    default:
        break;
    }
}

/* A cheap deterministic stream of cut points from the input. */
static size_t next_cut(uint32_t *h, size_t n)
{
    *h = *h * 1664525u + 1013904223u;
    return n ? (*h >> 8) % (n + 1) : 0;
}

/* A JSON line: valid JSON, one object, the request's id, and one newline, at the end. */
static void check_line(char *line, size_t len, json_t *id)
{
    FUZZ_CHECK(line && len >= 2 && line[len - 1] == '\n' && memchr(line, '\n', len) == line + len - 1);
    FUZZ_CHECK(strlen(line) == len);
    json_error_t je;
    json_t *back = json_loadb(line, len, 0, &je);
    FUZZ_CHECK(back && json_is_object(back));
    json_t *bid = json_object_get(back, "id");
    FUZZ_CHECK(bid && (id ? json_equal(bid, id) : json_is_null(bid))); /* real ids too: exactly */
    json_decref(back);
    free(line);
}

/* Replies made from the request's own text, rendered both ways. */
static void answer(const ac_request *req, const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        h = (h ^ data[i]) * 16777619u;
    const char *src = req->before ? req->before : req->text ? req->text : "";
    size_t n = req->before ? req->before_len : req->text ? req->text_len : 0;

    ac_reply rep;
    memset(&rep, 0, sizeof rep);
    int n_comp = 1 + (int)(h % 4);
    for (int c = 0; c < n_comp; c++) {
        size_t a = next_cut(&h, n), b = next_cut(&h, n);
        if (a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        FUZZ_CHECK(ac__reply_add_completion(&rep, src + a, b - a, -0.25 * c, 1 + c) == AC_OK);
        for (size_t at = a; at < b;) { /* tokens that make up the text exactly */
            size_t step = 1 + next_cut(&h, 5);
            if (at + step > b)
                step = b - at;
            FUZZ_CHECK(ac__reply_add_completion_token(&rep, src + at, step, -0.5) == AC_OK);
            at += step;
        }
        if (c == 1) /* a score JSON cannot hold becomes null */
            rep.completions[c].score = -INFINITY;
    }
    if (n) {
        size_t a = next_cut(&h, n), b = next_cut(&h, n);
        if (a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        FUZZ_CHECK(ac__reply_add_correction(&rep, a, b, src + a, b - a, src, b - a, -0.1) == AC_OK);
        FUZZ_CHECK(ac__reply_add_candidate(&rep, src, b - a, -0.1) == AC_OK);
        FUZZ_CHECK(ac__reply_add_top(&rep, 7, src + a, b - a, NAN) == AC_OK);
        FUZZ_CHECK(ac__reply_set_text(&rep, src + a, b - a) == AC_OK);
    }
    int32_t ids[3] = {0, 1, 2};
    FUZZ_CHECK(ac__reply_set_tokens(&rep, ids, 3) == AC_OK);

    /* stops: cut before the first stop string, drop the tokens after the cut */
    size_t old_len[4] = {0};
    for (size_t i = 0; i < rep.n_completions && i < 4; i++)
        old_len[i] = rep.completions[i].len;
    bool stopped[4];
    ac__reply_apply_stops(req, &rep, stopped);
    for (size_t i = 0; i < rep.n_completions; i++) {
        const ac_reply_completion *c = &rep.completions[i];
        FUZZ_CHECK(c->len <= old_len[i] && c->text[c->len] == 0);
        FUZZ_CHECK(stopped[i] == (c->len < old_len[i]));
        for (int s = 0; s < req->n_stop; s++)
            FUZZ_CHECK(!memmem(c->text, c->len, req->stop[s], strlen(req->stop[s])));
        size_t covered = 0;
        for (size_t k = 0; k < c->n_logprobs; k++)
            covered += c->tokens[k].len;
        FUZZ_CHECK(covered >= c->len);
    }

    ac__timings t = {0.5, 1.25};
    size_t len = 0;
    char *line = ac__json_line(ac__reply_to_json(req, &rep, &t), &len);
    check_line(line, len, req->id);
    line = ac__json_line(ac__cancelled_json(req->id, AC_CANCEL_SUPERSEDED), &len);
    check_line(line, len, req->id);

    /* plain text: one line per completion, no newline inside one */
    char *plain = ac__reply_plain(&rep, NULL, &len);
    FUZZ_CHECK(plain && strlen(plain) <= len);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += plain[i] == '\n';
    FUZZ_CHECK(lines == rep.n_completions && (len == 0 || plain[len - 1] == '\n'));
    free(plain);
    ac__reply_free(&rep);
}

static void check_error(int rc, const char *code, const char *err, json_t *id)
{
    FUZZ_CHECK(rc < 0 && code && is_c_string(err, AC_ERR_SIZE) && err[0]);
    static const char *const codes[] = {"bad_json", "bad_request", "unknown_op", "limit", "too_large", "internal"};
    int known = 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        known |= !strcmp(code, codes[i]);
    FUZZ_CHECK(known);
    size_t len;
    char *line = ac__json_line(ac__error_json(id, code, err), &len);
    check_line(line, len, id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    ac_config cfg;
    ac_config_default(&cfg);
    if (mode & 0x80) { /* small limits: every limit is within reach of short inputs */
        cfg.max_line_bytes = 96;
        cfg.max_tokens = 3;
        cfg.max_beams = 2;
        cfg.beam_width = 2;
        cfg.default_max_tokens = 2;
        cfg.deadline_ms = 5;
    }
    ac__limits lim;
    ac__limits_from_config(&lim, &cfg);
    ac_request req;
    const char *code = NULL;
    char err[AC_ERR_SIZE];
    memset(err, 'x', sizeof err); /* the message must be written and terminated */
    int rc;
    switch (mode & 0x7F) {
    case 0:
        rc = ac__request_parse_line((const char *)data, size, &lim, &req, &code, err);
        break;
    case 1: {
        int op = -1;
        if (size) {
            op = data[0] % (AC_OP_COUNT + 1) - 1; /* -1: the op comes from the body (POST /) */
            data++;
            size--;
        }
        json_error_t je;
        json_t *body = json_loadb((const char *)data, size, 0, &je);
        if (!body)
            return 0;
        rc = ac__request_from_json(body, op, &lim, &req, &code, err);
        json_decref(body);
        if (rc == AC_OK && op >= 0)
            FUZZ_CHECK(req.op == op);
        break;
    }
    case 2: {
        json_t *s = ac__json_text((const char *)data, size);
        FUZZ_CHECK(s && json_is_string(s));
        /* valid UTF-8 without NUL comes back unchanged; anything else is repaired, never dropped, and
         * the result holds no NUL (replies must parse with jansson's default flags) */
        json_t *direct = memchr(data, 0, size) ? NULL : json_stringn((const char *)data, size);
        if (direct)
            FUZZ_CHECK(json_equal(direct, s));
        else
            FUZZ_CHECK(json_string_length(s) >= 1 || size == 0);
        FUZZ_CHECK(strlen(json_string_value(s)) == json_string_length(s));
        json_decref(direct);
        json_decref(s);
        return 0;
    }
    default:
        return 0;
    }
    if (rc == AC_OK) {
        check_request(&req, &lim);
        answer(&req, data, size);
    } else {
        check_error(rc, code, err, req.id);
    }
    ac__request_free(&req);
    return 0;
}
