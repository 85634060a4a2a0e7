/* protocol.c: JSON requests in, JSON or plain-text replies out (see protocol.h, docs/protocol.md).
 *
 * Every field of every request is checked here, once, with a message that names the field and the
 * limit; the server and the backends then trust an ac_request. No I/O, no state.
 */
#include "server/protocol.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPK_MAX 1000      /* the largest k a topk request may ask */
#define LEARN_WORDS_MAX 1000
#define LEARN_WORD_BYTES 100
#define STOP_BYTES 64

static const char *const op_names[AC_OP_COUNT] = {
    [AC_OP_COMPLETE] = "complete", [AC_OP_CORRECT] = "correct", [AC_OP_TOPK] = "topk",
    [AC_OP_TOKENIZE] = "tokenize", [AC_OP_DETOKENIZE] = "detokenize", [AC_OP_LEARN] = "learn",
    [AC_OP_INFO] = "info", [AC_OP_HEALTH] = "health", [AC_OP_CANCEL] = "cancel",
};

const char *ac__op_name(int op)
{
    return op >= 0 && op < AC_OP_COUNT ? op_names[op] : "unknown";
}

int ac__op_from_name(const char *name)
{
    for (int i = 0; i < AC_OP_COUNT; i++)
        if (!strcmp(op_names[i], name))
            return i;
    return -1;
}

void ac__limits_from_config(ac__limits *lim, const ac_config *cfg)
{
    lim->max_line_bytes = cfg->max_line_bytes;
    lim->max_tokens = cfg->max_tokens;
    lim->max_beams = cfg->max_beams;
    lim->default_max_tokens = cfg->default_max_tokens;
    lim->beam_width = cfg->beam_width;
    lim->completions = cfg->completions;
    lim->deadline_ms = cfg->deadline_ms;
    lim->cache = cfg->cache;
    lim->log_requests = cfg->log_requests;
}

int ac__limits_default_n(const ac__limits *lim, int beams)
{
    return lim->completions < beams ? lim->completions : beams;
}

/* --- field readers: each returns AC_OK, or a status with *code and err set ------------------- */

static int bad(const char **code, char *err, const char *fmt, const char *field)
{
    *code = "bad_request";
    return ac__errorf(err, AC_E_ARG, fmt, field);
}

/* The text a request works on may not be longer than a request may be. A line or an HTTP body over
 * max_line_bytes is refused before it is parsed, and a decoded string is never longer than its JSON,
 * so this only fires for callers that hand over a parsed object of their own (and keeps the promise
 * the workers rely on whoever the caller is; found by fuzz_protocol). */
static int check_text_limit(const char *name, size_t len, const ac__limits *lim, const char **code, char *err)
{
    if (len <= lim->max_line_bytes)
        return AC_OK;
    *code = "too_large";
    return ac__errorf(err, AC_E_LIMIT, "'%s' is %zu bytes, over the max_line_bytes limit of %zu", name, len,
                      lim->max_line_bytes);
}

/* A string field into a malloc'ed copy. Missing: *out stays NULL (an error when required). */
static int get_string(json_t *obj, const char *name, int required, char **out, size_t *len, const char **code,
                      char *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        if (required)
            return bad(code, err, "'%s' is required", name);
        return AC_OK;
    }
    if (!json_is_string(v))
        return bad(code, err, "'%s' must be a string", name);
    size_t n = json_string_length(v);
    char *s = malloc(n + 1);
    if (!s) {
        *code = "internal";
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    memcpy(s, json_string_value(v), n + 1);
    *out = s;
    *len = n;
    return AC_OK;
}

/* An integer value in [lo, hi] (v may be NULL: the default); over hi is a "limit" error naming
 * `limit_name`. */
static int int_value(json_t *v, const char *name, int dflt, int lo, int hi, const char *limit_name, int *out,
                     const char **code, char *err)
{
    if (!v || json_is_null(v)) {
        *out = dflt;
        return AC_OK;
    }
    if (!json_is_integer(v)) {
        *code = "bad_request";
        return ac__errorf(err, AC_E_ARG, "%s must be an integer", name);
    }
    json_int_t x = json_integer_value(v);
    if (x < lo) {
        *code = "bad_request";
        return ac__errorf(err, AC_E_ARG, "%s must be >= %d", name, lo);
    }
    if (x > hi) {
        *code = "limit";
        return ac__errorf(err, AC_E_LIMIT, "%s must be <= %d (the %s limit)", name, hi, limit_name);
    }
    *out = (int)x;
    return AC_OK;
}

static int get_int(json_t *obj, const char *name, int dflt, int lo, int hi, const char *limit_name, int *out,
                   const char **code, char *err)
{
    return int_value(json_object_get(obj, name), name, dflt, lo, hi, limit_name, out, code, err);
}

static int get_bool(json_t *obj, const char *name, bool dflt, bool *out, const char **code, char *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return AC_OK;
    }
    if (!json_is_boolean(v))
        return bad(code, err, "'%s' must be true or false", name);
    *out = json_is_true(v);
    return AC_OK;
}

/* The completion parameters shared by complete, correct (with "complete": true) and OpenAI. */
static int get_completion_params(json_t *obj, const ac__limits *lim, ac_request *req, const char **code, char *err)
{
    int rc;
    const char *bname = json_object_get(obj, "beams") ? "beams" : "beam_width"; /* either spelling */
    if ((rc = get_int(obj, bname, lim->beam_width, 1, lim->max_beams, "max_beams", &req->beams, code, err)))
        return rc;
    if ((rc = get_int(obj, "max_tokens", lim->default_max_tokens, 1, lim->max_tokens, "max_tokens", &req->max_tokens,
                      code, err)))
        return rc;
    if ((rc = get_int(obj, "n", ac__limits_default_n(lim, req->beams), 1, lim->max_beams, "max_beams", &req->n,
                      code, err)))
        return rc;
    if (req->n > req->beams)
        req->beams = req->n; /* asking for n completions implies at least n beams */
    if ((rc = get_bool(obj, "logprobs", false, &req->want_token_logprobs, code, err)))
        return rc;
    req->stop_rule = -1;
    json_t *rule = json_object_get(obj, "stop_rule");
    if (rule && !json_is_null(rule)) {
        const char *r = json_string_value(rule);
        req->stop_rule = !r ? -1 : !strcmp(r, "word") ? 0 : !strcmp(r, "phrase") ? 1 : !strcmp(r, "line") ? 2 : -1;
        if (req->stop_rule < 0)
            return bad(code, err, "'%s' must be \"word\", \"phrase\" or \"line\"", "stop_rule");
    }
    req->min_score = NAN;
    json_t *ms = json_object_get(obj, "min_score");
    if (ms && !json_is_null(ms)) {
        if (!json_is_number(ms))
            return bad(code, err, "'%s' must be a number", "min_score");
        req->min_score = json_number_value(ms);
    }
    json_t *stop = json_object_get(obj, "stop");
    if (stop && !json_is_null(stop)) {
        json_t *one[1] = {stop};
        json_t **items = one;
        size_t n = 1;
        if (json_is_array(stop)) {
            n = json_array_size(stop);
            if (n > AC_STOP_MAX) {
                *code = "limit";
                return ac__errorf(err, AC_E_LIMIT, "'stop' may hold at most %d strings", AC_STOP_MAX);
            }
            items = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *s = items ? items[i] : json_array_get(stop, i);
            if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > STOP_BYTES)
                return bad(code, err, "'%s' must be a non-empty string of at most 64 bytes, or an array of them",
                           "stop");
            if (!(req->stop[req->n_stop] = strdup(json_string_value(s)))) {
                *code = "internal";
                return AC_E_NOMEM;
            }
            req->n_stop++;
        }
    }
    return AC_OK;
}

static int parse_fields(json_t *obj, const ac__limits *lim, ac_request *req, const char **code, char *err)
{
    int rc;
    json_t *session = json_object_get(obj, "session");
    if (session && !json_is_null(session)) {
        if (!json_is_string(session))
            return bad(code, err, "'%s' must be a string", "session");
        if (json_string_length(session) >= AC_SESSION_MAX) {
            *code = "limit";
            return ac__errorf(err, AC_E_LIMIT, "'session' must be shorter than %d bytes", AC_SESSION_MAX);
        }
        snprintf(req->session, sizeof req->session, "%s", json_string_value(session));
    }
    if ((rc = get_bool(obj, "cache", lim->cache, &req->use_cache, code, err)))
        return rc;
    if ((rc = get_bool(obj, "mid_text", false, &req->mid_text, code, err)))
        return rc;
    if ((rc = get_int(obj, "deadline_ms", lim->deadline_ms, 1, lim->deadline_ms, "deadline_ms", &req->deadline_ms,
                      code, err)))
        return rc;

    switch (req->op) {
    case AC_OP_COMPLETE:
    case AC_OP_CORRECT: {
        if ((rc = get_string(obj, "before", 1, &req->before, &req->before_len, code, err)) ||
            (rc = check_text_limit("before", req->before_len, lim, code, err)))
            return rc;
        if ((rc = get_string(obj, "after", 0, &req->after, &req->after_len, code, err)))
            return rc;
        bool also = false;
        if (req->op == AC_OP_COMPLETE) {
            req->want_completions = true;
            if ((rc = get_bool(obj, "correct", false, &also, code, err)))
                return rc;
            req->want_corrections = also;
        } else {
            req->want_corrections = true;
            if ((rc = get_bool(obj, "complete", false, &also, code, err)))
                return rc;
            req->want_completions = also;
        }
        if ((rc = get_completion_params(obj, lim, req, code, err)))
            return rc;
        /* which words to check: all of them for `correct`, the last few complete ones while typing */
        req->scope = req->op == AC_OP_CORRECT ? 0 : 1;
        json_t *scope = json_object_get(obj, "scope");
        if (scope && !json_is_null(scope)) {
            const char *sc = json_string_value(scope);
            req->scope = !sc ? -1 : !strcmp(sc, "all") ? 0 : !strcmp(sc, "last") ? 1 : -1;
            if (req->scope < 0)
                return bad(code, err, "'%s' must be \"all\" or \"last\"", "scope");
        }
        if ((rc = get_int(obj, "last_words", 3, 1, 64, "last_words", &req->last_words, code, err)))
            return rc;
        break;
    }
    case AC_OP_TOPK:
        if ((rc = get_string(obj, "before", 1, &req->before, &req->before_len, code, err)) ||
            (rc = check_text_limit("before", req->before_len, lim, code, err)))
            return rc;
        if ((rc = get_string(obj, "after", 0, &req->after, &req->after_len, code, err)))
            return rc;
        if ((rc = get_int(obj, "k", 10, 1, TOPK_MAX, "topk", &req->k, code, err)))
            return rc;
        break;
    case AC_OP_TOKENIZE:
        if ((rc = get_string(obj, "text", 1, &req->text, &req->text_len, code, err)))
            return rc;
        break;
    case AC_OP_DETOKENIZE: {
        json_t *ids = json_object_get(obj, "tokens");
        if (!json_is_array(ids))
            return bad(code, err, "'%s' must be an array of token ids", "tokens");
        size_t n = json_array_size(ids);
        req->tokens = malloc((n ? n : 1) * sizeof *req->tokens);
        if (!req->tokens) {
            *code = "internal";
            return AC_E_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_array_get(ids, i);
            if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > INT32_MAX)
                return bad(code, err, "'%s' must be an array of token ids (integers >= 0)", "tokens");
            req->tokens[i] = (int32_t)json_integer_value(t);
        }
        req->n_tokens = n;
        break;
    }
    case AC_OP_LEARN: {
        json_t *word = json_object_get(obj, "word");
        json_t *words = json_object_get(obj, "words");
        size_t n = words ? json_array_size(words) : 1;
        if ((word && words) || (!word && !words) || (words && !json_is_array(words)))
            return bad(code, err, "learn needs '%s' (a string) or 'words' (an array of strings)", "word");
        if (n == 0 || n > LEARN_WORDS_MAX) {
            *code = n ? "limit" : "bad_request";
            return ac__errorf(err, n ? AC_E_LIMIT : AC_E_ARG, "'words' must hold 1 to %d words", LEARN_WORDS_MAX);
        }
        req->words = calloc(n, sizeof *req->words);
        if (!req->words) {
            *code = "internal";
            return AC_E_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *w = words ? json_array_get(words, i) : word;
            if (!json_is_string(w) || json_string_length(w) == 0 || json_string_length(w) > LEARN_WORD_BYTES)
                return bad(code, err, "each word must be a string of 1 to 100 bytes%s", "");
            const char *s = json_string_value(w);
            for (const char *q = s; *q; q++)
                if ((unsigned char)*q <= ' ' || *q == 0x7F)
                    return bad(code, err, "a word may not contain spaces or control characters%s", "");
            if (!(req->words[i] = strdup(s))) {
                *code = "internal";
                return AC_E_NOMEM;
            }
            req->n_words++;
        }
        break;
    }
    case AC_OP_CANCEL: {
        json_t *target = json_object_get(obj, "target");
        if (target && (json_is_object(target) || json_is_array(target)))
            return bad(code, err, "'%s' must be a request id (a number or a string)", "target");
        if (target)
            req->target = json_incref(target);
        if (!target && !req->session[0])
            return bad(code, err, "cancel needs '%s' (a request id) or 'session'", "target");
        break;
    }
    case AC_OP_INFO:
    case AC_OP_HEALTH:
        break;
    }
    return AC_OK;
}

int ac__request_from_json(json_t *obj, int op_override, const ac__limits *lim, ac_request *req,
                          const char **code, char *err)
{
    memset(req, 0, sizeof *req);
    if (!json_is_object(obj)) {
        *code = "bad_json";
        return ac__errorf(err, AC_E_FORMAT, "a request must be a JSON object");
    }
    json_t *id = json_object_get(obj, "id");
    if (id)
        req->id = json_incref(id);
    if (id && (json_is_object(id) || json_is_array(id)))
        return bad(code, err, "'%s' must be a number or a string", "id");
    if (op_override >= 0) {
        req->op = op_override;
    } else {
        json_t *op = json_object_get(obj, "op");
        if (!op)
            return bad(code, err, "'%s' is required (complete, correct, topk, tokenize, detokenize, learn, info, "
                                  "health or cancel)", "op");
        if (!json_is_string(op))
            return bad(code, err, "'%s' must be a string", "op");
        req->op = ac__op_from_name(json_string_value(op));
        if (req->op < 0) {
            *code = "unknown_op";
            return ac__errorf(err, AC_E_UNSUPPORTED,
                              "unknown op '%.40s' (expected complete, correct, topk, tokenize, detokenize, learn, "
                              "info, health or cancel)", json_string_value(op));
        }
    }
    return parse_fields(obj, lim, req, code, err);
}

int ac__request_parse_line(const char *line, size_t len, const ac__limits *lim, ac_request *req,
                           const char **code, char *err)
{
    memset(req, 0, sizeof *req);
    if (len > lim->max_line_bytes) {
        *code = "too_large";
        return ac__errorf(err, AC_E_LIMIT, "request is %zu bytes, over the max_line_bytes limit of %zu", len,
                          lim->max_line_bytes);
    }
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, 0, &jerr);
    if (!obj) {
        *code = "bad_json";
        return ac__errorf(err, AC_E_FORMAT, "bad JSON at column %d: %s", jerr.column, jerr.text);
    }
    int rc = ac__request_from_json(obj, -1, lim, req, code, err);
    json_decref(obj);
    return rc;
}

void ac__reply_apply_stops(const ac_request *req, ac_reply *rep, bool *stopped)
{
    for (size_t i = 0; i < rep->n_completions; i++) {
        ac_reply_completion *c = &rep->completions[i];
        size_t cut = c->len;
        for (int s = 0; s < req->n_stop; s++) {
            const char *hit = memmem(c->text, c->len, req->stop[s], strlen(req->stop[s]));
            if (hit && (size_t)(hit - c->text) < cut)
                cut = (size_t)(hit - c->text);
        }
        if (stopped)
            stopped[i] = cut < c->len;
        if (cut < c->len) {
            c->len = cut;
            c->text[cut] = 0;
            /* drop the tokens that start at or after the cut */
            size_t at = 0, keep = 0;
            while (keep < c->n_logprobs && at < cut)
                at += c->tokens[keep++].len;
            for (size_t k = keep; k < c->n_logprobs; k++)
                free(c->tokens[k].text);
            c->n_logprobs = keep;
        }
    }
}

/* --- replies -------------------------------------------------------------------------------- */

json_t *ac__json_text(const char *s, size_t n)
{
    /* jansson takes a NUL byte (it writes "\u0000", which jansson readers refuse by default): repair it too */
    json_t *j = s && memchr(s, 0, n) ? NULL : json_stringn(s ? s : "", s ? n : 0);
    if (j)
        return j;
    /* invalid UTF-8 (a token cut inside a character) or a NUL: repair a copy */
    ac_buf b = {0};
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len && i + len <= n && c != 0;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok && len > 1) {
            json_t *probe = json_stringn(s + i, len); /* lets jansson judge overlongs and surrogates */
            ok = probe != NULL;
            json_decref(probe);
        }
        if (ok) {
            ac_buf_append(&b, s + i, len);
            i += len;
        } else {
            ac_buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    ac_buf_free(&b);
    return j;
}

/* A real number, or null for infinities and NaN (JSON has neither). */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *completions_json(const ac_request *req, const ac_reply *rep)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < rep->n_completions && i < (size_t)(req->n > 0 ? req->n : 1 << 30); i++) {
        const ac_reply_completion *c = &rep->completions[i];
        json_t *o = json_pack("{s:o,s:o}", "text", ac__json_text(c->text, c->len), "score", num(c->score));
        if (req->want_token_logprobs && o) {
            json_t *toks = json_array();
            for (size_t k = 0; k < c->n_logprobs; k++)
                json_array_append_new(toks, json_pack("{s:o,s:o}", "text", ac__json_text(c->tokens[k].text,
                                                                                          c->tokens[k].len),
                                                      "logprob", num(c->tokens[k].logprob)));
            json_object_set_new(o, "tokens", toks);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *corrections_json(const ac_reply *rep)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < rep->n_corrections; i++) {
        const ac_reply_correction *c = &rep->corrections[i];
        json_t *o = json_pack("{s:I,s:I,s:o,s:o,s:o}", "start", (json_int_t)c->start, "end", (json_int_t)c->end,
                              "original", ac__json_text(c->original, strlen(c->original)), "replacement",
                              ac__json_text(c->replacement, strlen(c->replacement)), "score", num(c->score));
        if (o && c->n_candidates) {
            json_t *cands = json_array();
            for (int k = 0; k < c->n_candidates; k++)
                json_array_append_new(cands, json_pack("{s:o,s:o}", "text",
                                                       ac__json_text(c->candidates[k], strlen(c->candidates[k])),
                                                       "score", num(c->candidate_scores[k])));
            json_object_set_new(o, "candidates", cands);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *id_or_null(json_t *id)
{
    return id ? json_incref(id) : json_null();
}

json_t *ac__reply_to_json(const ac_request *req, const ac_reply *rep, const ac__timings *t)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", id_or_null(req->id));
    switch (req->op) {
    case AC_OP_COMPLETE:
    case AC_OP_CORRECT:
        if (req->want_completions)
            json_object_set_new(o, "completions", completions_json(req, rep));
        if (req->want_corrections)
            json_object_set_new(o, "corrections", corrections_json(rep));
        json_object_set_new(o, "partial", json_boolean(rep->partial));
        break;
    case AC_OP_TOPK: {
        json_t *arr = json_array();
        for (size_t i = 0; i < rep->n_top; i++)
            json_array_append_new(arr, json_pack("{s:i,s:o,s:o}", "id", (int)rep->top[i].id, "text",
                                                 ac__json_text(rep->top[i].text, rep->top[i].len), "logprob",
                                                 num(rep->top[i].logprob)));
        json_object_set_new(o, "top", arr);
        json_object_set_new(o, "partial", json_boolean(rep->partial));
        break;
    }
    case AC_OP_TOKENIZE: {
        json_t *arr = json_array();
        for (size_t i = 0; i < rep->n_tokens; i++)
            json_array_append_new(arr, json_integer(rep->tokens[i]));
        json_object_set_new(o, "tokens", arr);
        json_object_set_new(o, "count", json_integer((json_int_t)rep->n_tokens));
        break;
    }
    case AC_OP_DETOKENIZE:
        json_object_set_new(o, "text", ac__json_text(rep->text, rep->text_len));
        break;
    case AC_OP_LEARN:
        json_object_set_new(o, "learned", json_integer(rep->learned));
        break;
    default:
        break;
    }
    if (t)
        json_object_set_new(o, "timings",
                            json_pack("{s:o,s:o,s:i,s:i}", "queue_ms", json_real(round(t->queue_ms * 1000) / 1000),
                                      "ms", json_real(round(t->run_ms * 1000) / 1000), "cached_tokens",
                                      rep->cached_tokens, "new_tokens", rep->new_tokens));
    return o;
}

json_t *ac__error_json(json_t *id, const char *code, const char *message)
{
    return json_pack("{s:o,s:{s:s,s:o}}", "id", id_or_null(id), "error", "code", code, "message",
                     ac__json_text(message, strlen(message)));
}

json_t *ac__cancelled_json(json_t *id, int reason)
{
    const char *why = reason == AC_CANCEL_SUPERSEDED ? "superseded"
                      : reason == AC_CANCEL_CLIENT_GONE ? "disconnected"
                                                        : "cancelled";
    return json_pack("{s:o,s:b,s:s}", "id", id_or_null(id), "cancelled", 1, "reason", why);
}

const char *ac__backend_error_code(int status)
{
    switch (status) {
    case AC_E_ARG:
    case AC_E_FORMAT: return "bad_request";
    case AC_E_LIMIT: return "limit";
    case AC_E_UNSUPPORTED: return "unsupported";
    default: return "internal";
    }
}

size_t ac__json_dump_flags(const json_t *obj)
{
    /* Scores and timings need 6 significant digits; a real-number id must come back exactly as it
     * was sent (clients match replies by it), so such a reply is written at full precision. */
    const json_t *id = json_is_object(obj) ? json_object_get(obj, "id") : NULL;
    return JSON_COMPACT | JSON_REAL_PRECISION(json_is_real(id) ? 17 : 6);
}

/* The length of the valid UTF-8 sequence at s[0..n) (1..4) with its code point in *cp, or 0 when
 * s starts with an invalid byte (a stray continuation byte, an overlong form, a surrogate, > U+10FFFF
 * or a sequence cut short). */
/* 1 for DEL at s[i], 2 for a C1 control (C2 80..C2 9F), else 0. */
static size_t del_or_c1_at(const unsigned char *s, size_t i, size_t n)
{
    if (s[i] == 0x7F)
        return 1;
    return s[i] == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F ? 2 : 0;
}

char *ac__json_dumps(const json_t *obj)
{
    char *s = json_dumps(obj, ac__json_dump_flags(obj));
    if (!s)
        return NULL;
    /* jansson escapes C0 only. DEL and C1 can stand only inside strings in JSON text, where
     * "\u00XX" means the same, so rewriting them keeps every value and leaves nothing a terminal
     * would act on when a reply is printed raw (nc, curl). Each grows to 6 bytes. */
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), extra = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = del_or_c1_at(u, i, n);
        extra += k ? 6 - k : 0;
        i += k ? k - 1 : 0;
    }
    if (!extra)
        return s;
    char *out = malloc(n + extra + 1);
    if (!out) {
        free(s);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = del_or_c1_at(u, i, n);
        if (k) {
            o += (size_t)snprintf(out + o, 7, "\\u%04X", k == 1 ? 0x7Fu : (unsigned)u[i + 1]);
            i += k - 1;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    free(s);
    return out;
}

char *ac__json_line(json_t *obj, size_t *len)
{
    if (!obj)
        return NULL;
    char *s = ac__json_dumps(obj);
    json_decref(obj);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = 0;
    if (len)
        *len = n + 1;
    return line;
}

char *ac__reply_plain(const ac_reply *rep, const char *error_message, size_t *len)
{
    ac_buf b = {0};
    if (error_message) {
        ac_buf_append(&b, "error: ", 7);
        ac_buf_append_for_terminal(&b, error_message, strlen(error_message));
        ac_buf_append(&b, "\n", 1);
    } else {
        for (size_t i = 0; rep && i < rep->n_completions; i++) {
            ac_buf_append_for_terminal(&b, rep->completions[i].text, rep->completions[i].len);
            ac_buf_append(&b, "\n", 1);
        }
    }
    if (!b.data)
        ac_buf_reserve(&b, 1);
    if (b.data)
        b.data[b.len] = 0;
    if (len)
        *len = b.len;
    return b.data;
}
