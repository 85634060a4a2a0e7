/* http.c: HTTP on libmicrohttpd: the protocol's ops, health, and OpenAI-style completions
 * (see http.h). Each connection gets a libmicrohttpd thread, which blocks on the worker pool while
 * its request runs; the event loop of the UNIX socket is not involved.
 */
#include "server/http.h"

#include "server/log.h"
#include "server/protocol.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OPENAI_DEFAULT_MAX_TOKENS 16
#define OPENAI_MAX_LOGPROBS 5

struct ac__http {
    struct MHD_Daemon *daemon;
    ac__server *srv;
    char token[256];
    int listen_fd;        /* ours until MHD_quiesce_daemon hands it back */
    atomic_ulong next_id; /* for OpenAI's "cmpl-N" ids */
};

typedef struct http_conn {
    ac_buf body;
    int too_large;
} http_conn;

static enum MHD_Result respond(struct MHD_Connection *con, unsigned status, json_t *obj, int auth_challenge)
{
    char *text = obj ? ac__json_dumps(obj) : NULL;
    json_decref(obj);
    if (!text)
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ret;
}

static unsigned status_for_code(const char *code)
{
    if (!strcmp(code, "too_large")) return MHD_HTTP_CONTENT_TOO_LARGE;
    if (!strcmp(code, "busy") || !strcmp(code, "shutting_down") || !strcmp(code, "unavailable"))
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    if (!strcmp(code, "internal")) return MHD_HTTP_INTERNAL_SERVER_ERROR;
    if (!strcmp(code, "unauthorized")) return MHD_HTTP_UNAUTHORIZED;
    if (!strcmp(code, "forbidden")) return MHD_HTTP_FORBIDDEN;
    if (!strcmp(code, "not_found")) return MHD_HTTP_NOT_FOUND;
    if (!strcmp(code, "method_not_allowed")) return MHD_HTTP_METHOD_NOT_ALLOWED;
    return MHD_HTTP_BAD_REQUEST;
}

static enum MHD_Result respond_error(struct MHD_Connection *con, json_t *id, const char *code, const char *msg)
{
    return respond(con, status_for_code(code), ac__error_json(id, code, msg), !strcmp(code, "unauthorized"));
}

/* OpenAI's error shape: {"error":{"message","type","param","code"}}. */
static enum MHD_Result respond_openai_error(struct MHD_Connection *con, const char *code, const char *msg)
{
    unsigned st = status_for_code(code);
    const char *type = st >= 500 ? "server_error" : "invalid_request_error";
    return respond(con, st,
                   json_pack("{s:{s:o,s:s,s:n,s:s}}", "error", "message", ac__json_text(msg, strlen(msg)), "type",
                             type, "param", "code", code),
                   0);
}

/* Constant-time comparison of the Authorization header with "Bearer TOKEN". */
static int authorized(const ac__http *h, struct MHD_Connection *con)
{
    if (!h->token[0])
        return 1;
    const char *got = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    char want[300];
    snprintf(want, sizeof want, "Bearer %s", h->token);
    if (!got)
        return 0;
    size_t gl = strlen(got), wl = strlen(want);
    unsigned char diff = gl != wl;
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

/* Without a token, HTTP is open to whoever can reach the loopback address; web pages must not be
 * among them. A browser sends an Origin header with a cross-site POST (which needs no CORS preflight
 * when it is text/plain: CSRF, e.g. `learn` writing the user's dictionary), and a page served from a
 * name that an attacker re-points at 127.0.0.1 (DNS rebinding) sends that name as Host. So without a
 * token: no Origin header, and Host (when present) must be localhost or a loopback address. Clients
 * that are not browsers (curl, editors, the OpenAI libraries) send neither. Returns a message for a
 * refusal, or NULL. */
static const char *browser_refusal(const ac__http *h, struct MHD_Connection *con)
{
    if (h->token[0])
        return NULL; /* a page cannot know the token */
    if (MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Origin"))
        return "requests from web pages (with an Origin header) are refused unless http_token is set";
    const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Host");
    if (!host)
        return NULL;
    char name[256];
    size_t n = strlen(host);
    if (host[0] == '[') { /* [v6]:port */
        const char *end = strchr(host, ']');
        n = end ? (size_t)(end - host - 1) : 0;
        host++;
    } else if (strchr(host, ':') == strrchr(host, ':') && strchr(host, ':')) { /* name:port */
        n = (size_t)(strchr(host, ':') - host);
    }
    if (n == 0 || n >= sizeof name)
        return "the Host header is not a loopback address";
    memcpy(name, host, n);
    name[n] = 0;
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(name, "localhost") || !strcasecmp(name, "localhost.") ||
        (inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
        (inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
        return NULL;
    return "the Host header is not a loopback address (set http_token to serve other names)";
}

/* Runs a protocol request and answers with the socket protocol's JSON. */
static enum MHD_Result serve_op(ac__http *h, struct MHD_Connection *con, json_t *body, int op)
{
    ac__limits lim;
    ac__server_limits(h->srv, &lim);
    ac_request req;
    const char *code = NULL;
    char err[AC_ERR_SIZE];
    int rc = ac__request_from_json(body, op, &lim, &req, &code, err);
    if (rc != AC_OK) {
        enum MHD_Result r = respond_error(con, req.id, code, err);
        ac__request_free(&req);
        return r;
    }
    if (req.op == AC_OP_INFO || req.op == AC_OP_HEALTH) {
        enum MHD_Result r = respond(con, MHD_HTTP_OK, ac__server_info(h->srv, req.id, req.op == AC_OP_INFO), 0);
        ac__request_free(&req);
        return r;
    }
    if (req.op == AC_OP_CANCEL) {
        int found = ac__server_cancel(h->srv, &req);
        enum MHD_Result r =
            respond(con, MHD_HTTP_OK, json_pack("{s:O,s:i}", "id", req.id ? req.id : json_null(), "found", found), 0);
        ac__request_free(&req);
        return r;
    }
    /* execute takes the request: keep what shapes the reply */
    json_t *id = req.id ? json_incref(req.id) : NULL;
    int want_c = req.want_completions, want_k = req.want_corrections, n = req.n, op_kept = req.op,
        logprobs = req.want_token_logprobs;
    ac_reply rep;
    ac__timings t;
    int reason = 0;
    rc = ac__server_execute(h->srv, &req, &rep, &t, &reason, &code, err);
    enum MHD_Result r;
    if (rc == AC_OK) {
        ac_request shape = {0};
        shape.op = op_kept;
        shape.id = id;
        shape.want_completions = want_c;
        shape.want_corrections = want_k;
        shape.n = n;
        shape.want_token_logprobs = logprobs;
        r = respond(con, MHD_HTTP_OK, ac__reply_to_json(&shape, &rep, &t), 0);
        ac__reply_free(&rep);
    } else if (rc == AC_E_CANCELLED) {
        r = respond(con, MHD_HTTP_OK, ac__cancelled_json(id, reason), 0);
    } else {
        r = respond_error(con, id, code ? code : "internal", err);
    }
    json_decref(id);
    return r;
}

/* POST /v1/completions: the OpenAI legacy completions API, enough for tools that speak it. */
static enum MHD_Result serve_openai(ac__http *h, struct MHD_Connection *con, json_t *body)
{
    ac__limits lim;
    ac__server_limits(h->srv, &lim);
    char err[AC_ERR_SIZE];
    if (!json_is_object(body))
        return respond_openai_error(con, "bad_json", "the body must be a JSON object");
    if (json_is_true(json_object_get(body, "stream")))
        return respond_openai_error(con, "unsupported", "stream is not supported");
    json_t *prompt = json_object_get(body, "prompt");
    if (json_is_array(prompt)) {
        if (json_array_size(prompt) != 1)
            return respond_openai_error(con, "bad_request", "only one prompt per request is supported");
        prompt = json_array_get(prompt, 0);
    }
    if (!json_is_string(prompt))
        return respond_openai_error(con, "bad_request", "'prompt' must be a string");
    json_t *suffix = json_object_get(body, "suffix");
    if (suffix && !json_is_null(suffix) && !json_is_string(suffix))
        return respond_openai_error(con, "bad_request", "'suffix' must be a string");

    /* build the protocol request from OpenAI's names */
    json_t *ours = json_pack("{s:s,s:O}", "op", "complete", "before", prompt);
    if (!ours)
        return respond_openai_error(con, "internal", "out of memory");
    if (json_is_string(suffix))
        json_object_set(ours, "after", suffix);
    json_t *mt = json_object_get(body, "max_tokens");
    if (mt && !json_is_null(mt))
        json_object_set(ours, "max_tokens", mt);
    else
        json_object_set_new(ours, "max_tokens", json_integer(OPENAI_DEFAULT_MAX_TOKENS < lim.max_tokens
                                                                 ? OPENAI_DEFAULT_MAX_TOKENS
                                                                 : lim.max_tokens));
    json_t *n = json_object_get(body, "n");
    json_object_set_new(ours, "n", n && !json_is_null(n) ? json_incref(n) : json_integer(1));
    json_t *stop = json_object_get(body, "stop");
    if (stop && !json_is_null(stop))
        json_object_set(ours, "stop", stop);
    json_t *lp = json_object_get(body, "logprobs");
    int logprobs = 0;
    if (lp && !json_is_null(lp)) {
        if (json_is_true(lp))
            logprobs = 1;
        else if (json_is_integer(lp) && json_integer_value(lp) >= 0 && json_integer_value(lp) <= OPENAI_MAX_LOGPROBS)
            logprobs = 1; /* top alternatives are not computed: each position lists its own token */
        else if (!json_is_false(lp)) {
            json_decref(ours);
            return respond_openai_error(con, "bad_request", "'logprobs' must be an integer from 0 to 5");
        }
    }
    json_object_set_new(ours, "logprobs", json_boolean(logprobs));
    int echo = json_is_true(json_object_get(body, "echo"));

    ac_request req;
    const char *code = NULL;
    int rc = ac__request_from_json(ours, AC_OP_COMPLETE, &lim, &req, &code, err);
    json_decref(ours);
    if (rc != AC_OK) {
        ac__request_free(&req);
        return respond_openai_error(con, code, err);
    }
    if (!json_object_get(body, "min_score"))
        req.min_score = -INFINITY; /* OpenAI clients expect n choices: no abstaining */
    if (req.beams < lim.beam_width && lim.beam_width <= lim.max_beams)
        req.beams = lim.beam_width; /* search as wide as configured even when fewer are returned */
    /* stops are applied here, to know each choice's finish_reason */
    char *stops[AC_STOP_MAX];
    int n_stop = req.n_stop;
    memcpy(stops, req.stop, sizeof stops);
    memset(req.stop, 0, sizeof req.stop);
    req.n_stop = 0;
    int max_tokens = req.max_tokens, n_choices = req.n;
    size_t prompt_len = req.before_len;
    char *prompt_copy = strdup(req.before);

    ac_reply rep;
    ac__timings t;
    int reason = 0;
    rc = ac__server_execute(h->srv, &req, &rep, &t, &reason, &code, err);
    enum MHD_Result r;
    if (rc == AC_OK && prompt_copy) {
        ac_request stopper = {0};
        memcpy(stopper.stop, stops, sizeof stops);
        stopper.n_stop = n_stop;
        bool stopped[256] = {0};
        if (rep.n_completions > 256)
            rep.n_completions = 256;
        ac__reply_apply_stops(&stopper, &rep, stopped);
        json_t *choices = json_array();
        int completion_tokens = 0;
        for (size_t i = 0; i < rep.n_completions && (int)i < n_choices; i++) {
            ac_reply_completion *c = &rep.completions[i];
            completion_tokens += c->n_tokens;
            ac_buf text = {0};
            if (echo)
                ac_buf_append(&text, prompt_copy, prompt_len);
            ac_buf_append(&text, c->text, c->len);
            json_t *lpo = json_null();
            if (logprobs) {
                json_t *toks = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
                size_t off = prompt_len;
                for (size_t k = 0; k < c->n_logprobs; k++) {
                    json_t *tt = ac__json_text(c->tokens[k].text, c->tokens[k].len);
                    json_array_append(toks, tt);
                    json_array_append_new(lps, json_real(c->tokens[k].logprob));
                    json_t *top = json_object();
                    json_object_set_new(top, json_string_value(tt), json_real(c->tokens[k].logprob));
                    json_array_append_new(tops, top);
                    json_array_append_new(offs, json_integer((json_int_t)off));
                    off += c->tokens[k].len;
                    json_decref(tt);
                }
                lpo = json_pack("{s:o,s:o,s:o,s:o}", "tokens", toks, "token_logprobs", lps, "top_logprobs", tops,
                                "text_offset", offs);
            }
            json_array_append_new(choices,
                                  json_pack("{s:o,s:i,s:o,s:s}", "text", ac__json_text(text.data, text.len), "index",
                                            (int)i, "logprobs", lpo, "finish_reason",
                                            stopped[i] || c->n_tokens < max_tokens ? "stop" : "length"));
            ac_buf_free(&text);
        }
        int prompt_tokens = rep.cached_tokens + rep.new_tokens;
        char id[48];
        snprintf(id, sizeof id, "cmpl-%lu", (unsigned long)atomic_fetch_add(&h->next_id, 1) + 1);
        json_t *model = json_object_get(body, "model");
        r = respond(con, MHD_HTTP_OK,
                    json_pack("{s:s,s:s,s:I,s:s,s:o,s:{s:i,s:i,s:i}}", "id", id, "object", "text_completion",
                              "created", (json_int_t)time(NULL), "model",
                              json_is_string(model) ? json_string_value(model) : "autocorrect", "choices", choices,
                              "usage",
                              "prompt_tokens", prompt_tokens, "completion_tokens", completion_tokens, "total_tokens",
                              prompt_tokens + completion_tokens),
                    0);
        ac__reply_free(&rep);
    } else if (rc == AC_OK) {
        ac__reply_free(&rep);
        r = respond_openai_error(con, "internal", "out of memory");
    } else if (rc == AC_E_CANCELLED) {
        r = respond_openai_error(con, "busy", "the request was cancelled");
    } else {
        r = respond_openai_error(con, code ? code : "internal", err);
    }
    free(prompt_copy);
    for (int i = 0; i < n_stop; i++)
        free(stops[i]);
    return r;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version;
    ac__http *h = cls;
    http_conn *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return MHD_NO;
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_data_size) {
        ac__limits lim;
        ac__server_limits(h->srv, &lim);
        if (c->too_large || c->body.len + *upload_data_size > lim.max_line_bytes)
            c->too_large = 1;
        else if (ac_buf_append(&c->body, upload_data, *upload_data_size) != AC_OK)
            c->too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!authorized(h, con))
        return respond_error(con, NULL, "unauthorized", "missing or wrong bearer token (Authorization header)");
    const char *refusal = browser_refusal(h, con);
    if (refusal)
        return respond_error(con, NULL, "forbidden", refusal);
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    if (!strcmp(url, "/health") || !strcmp(url, "/v1/health") || !strcmp(url, "/v1/info")) {
        if (!is_get && !is_post)
            return respond_error(con, NULL, "method_not_allowed", "use GET");
        return respond(con, MHD_HTTP_OK, ac__server_info(h->srv, NULL, !strcmp(url, "/v1/info")), 0);
    }
    int op = -2; /* -2: not a protocol path; -1: op from the body */
    int openai = !strcmp(url, "/v1/completions");
    if (!strcmp(url, "/") || !strcmp(url, "/v1") || !strcmp(url, "/v1/"))
        op = -1;
    else if (!strncmp(url, "/v1/", 4) && !openai)
        op = ac__op_from_name(url + 4) >= 0 ? ac__op_from_name(url + 4) : -2;
    if (op == -2 && !openai)
        return respond_error(con, NULL, "not_found",
                             "no such endpoint (POST /v1/<op>, POST /v1/completions, GET /health)");
    if (!is_post)
        return respond_error(con, NULL, "method_not_allowed", "use POST");
    if (c->too_large) {
        char msg[128];
        ac__limits lim;
        ac__server_limits(h->srv, &lim);
        snprintf(msg, sizeof msg, "the body is over the max_line_bytes limit of %zu bytes", lim.max_line_bytes);
        return openai ? respond_openai_error(con, "too_large", msg) : respond_error(con, NULL, "too_large", msg);
    }
    ac__limits lim;
    ac__server_limits(h->srv, &lim);
    if (lim.log_requests)
        ac__log("http %s %s: %.*s", method, url, (int)(c->body.len > 1500 ? 1500 : c->body.len),
                c->body.data ? c->body.data : "");
    json_t *body;
    if (c->body.len == 0 && !openai) {
        body = json_object(); /* POST /v1/info, /v1/health with no body */
    } else {
        json_error_t jerr;
        body = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0, &jerr);
        if (!body) {
            char msg[AC_ERR_SIZE];
            snprintf(msg, sizeof msg, "bad JSON at column %d: %s", jerr.column, jerr.text);
            return openai ? respond_openai_error(con, "bad_json", msg) : respond_error(con, NULL, "bad_json", msg);
        }
    }
    enum MHD_Result r = openai ? serve_openai(h, con, body) : serve_op(h, con, body, op);
    json_decref(body);
    return r;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    http_conn *c = *con_cls;
    if (c) {
        ac_buf_free(&c->body);
        free(c);
        *con_cls = NULL;
    }
}

int ac__http_start(ac__server *srv, const ac_config *cfg, ac__http **out, int *port, char *err)
{
    *out = NULL;
    ac__http *h = calloc(1, sizeof *h);
    if (!h)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    h->srv = srv;
    snprintf(h->token, sizeof h->token, "%s", cfg->http_token);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    int v6 = 0;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->http_address, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->http_port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, cfg->http_address, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->http_port);
        sl = sizeof *a6;
        v6 = 1;
    } else {
        free(h);
        return ac__errorf(err, AC_E_ARG, "http_address '%s' is not a numeric IP address", cfg->http_address);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(h);
        return ac__errorf(err, AC_E_IO, "cannot listen for HTTP on %s:%d: %s", cfg->http_address, cfg->http_port,
                          strerror(e));
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(v6 ? a6->sin6_port : a4->sin_port);
    h->listen_fd = fd;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     (v6 ? MHD_USE_IPv6 : 0);
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, h, MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_clients,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_NOTIFY_COMPLETED, completed,
                                 NULL, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        free(h);
        return ac__errorf(err, AC_E_IO, "cannot start the HTTP server on %s:%d", cfg->http_address, *port);
    }
    *out = h;
    return AC_OK;
}

void ac__http_quiesce(ac__http *h)
{
    if (!h || h->listen_fd < 0)
        return;
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    h->listen_fd = -1;
}

void ac__http_stop(ac__http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon); /* closes the listen socket unless it was quiesced */
    free(h);
}
