/* Tests of the daemon as a real process on a temporary socket.
 *
 * This program is also the test daemon: started as `test_daemon --serve ARGS` it runs autocorrectd's
 * real command line and server (ac__daemon_main) with the fake backend of fake_backend.h, a test
 * double that answers by fixed rules, so every server behaviour can be checked exactly: framing
 * (split writes, pipelined requests, over-long lines, bad JSON), sessions (supersession, cancel),
 * disconnects, the socket file rules (stale, live, symlink), signals (SIGTERM, SIGHUP), limits,
 * HTTP (ops, health, OpenAI completions, token) and the plain-text fallback with the real `nc -U`.
 *
 * Then, when the real daemon ($AC_TEST_BUILD/bin/autocorrectd) and the tiny fixture model
 * (tests/fixtures/tiny) exist, the checks that do not depend on the fake's answers run again
 * against the real daemon and model.
 */
#include "check.h"
#include "fake_backend.h"
#include "server/daemon.h"

/* The CLI's client module is tested here, against the fake daemon (it links only the library). */
#include "../../src/cli/client.c"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- harness ---------------------------------------------------------------------------------- */

static char self_exe[512];
static char tmp[96];
static const char *real_bin;      /* NULL: the fake daemon (this program); else the real autocorrectd */
static char real_model[512]; /* the fixture model directory for the real daemon */
static uid_t daemon_uid;      /* 0: daemons run as we do; else daemon_start runs them as this uid (and gid) */

typedef struct daemon_proc {
    pid_t pid;
    char sock[108];
    char cfg[200];
    char log[200];
} daemon_proc;

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int try_connect(const char *sock)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Starts a daemon named `name` with config text `config` (a file tmp/name.toml), on tmp/name.sock.
 * extra: one more argument or NULL. With wait != 0, returns once the socket accepts (0), or -1 if the
 * process exited first or 10 s passed. */
static int daemon_start(daemon_proc *d, const char *name, const char *config, const char *extra, int wait)
{
    memset(d, 0, sizeof *d);
    snprintf(d->cfg, sizeof d->cfg, "%s/%s.toml", tmp, name);
    snprintf(d->sock, sizeof d->sock, "%s/%s.sock", tmp, name);
    snprintf(d->log, sizeof d->log, "%s/%s.log", tmp, name);
    char text[8192];
    /* the fake needs no model, but the config must name a directory that exists */
    if (strstr(config, "model_path"))
        snprintf(text, sizeof text, "%s\n", config);
    else
        snprintf(text, sizeof text, "%s\nmodel_path = \"%s\"\n", config, real_bin ? real_model : tmp);
    write_text(d->cfg, text);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        if (daemon_uid && (setgroups(0, NULL) != 0 || setgid(daemon_uid) != 0 || setuid(daemon_uid) != 0))
            _exit(126);
        if (real_bin)
            execl(real_bin, real_bin, "--config", d->cfg, "--socket", d->sock, extra, (char *)NULL);
        else
            execl(self_exe, self_exe, "--serve", "--config", d->cfg, "--socket", d->sock, extra, (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    if (!wait)
        return 0;
    double until = ac_now() + 10;
    while (ac_now() < until) {
        int fd = try_connect(d->sock);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = 0;
            return -1;
        }
        usleep(5000);
    }
    return -1;
}

/* Waits up to timeout_s for the daemon to exit; returns its exit status, 128+signal, or -1 (then
 * it is killed). */
static int daemon_wait(daemon_proc *d, double timeout_s)
{
    if (!d->pid)
        return -1;
    double until = ac_now() + timeout_s;
    int st;
    while (ac_now() < until) {
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(5000);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return -1;
}

static int daemon_stop(daemon_proc *d)
{
    if (!d->pid)
        return -1;
    kill(d->pid, SIGTERM);
    return daemon_wait(d, 15);
}

static int log_contains(const daemon_proc *d, const char *needle)
{
    char *text;
    size_t len;
    if (ac_file_read(d->log, 1 << 24, &text, &len, NULL) != AC_OK)
        return 0;
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

typedef struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
    int eof;
} conn;

static conn *conn_open(const char *sock)
{
    int fd = try_connect(sock);
    if (fd < 0)
        return NULL;
    conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    return c;
}

static void conn_close(conn *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

static int send_bytes(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int conn_send(conn *c, const char *s)
{
    return send_bytes(c->fd, s, strlen(s));
}

/* The next line (without the newline) into out[cap]; returns its length, -1 on timeout, -2 on EOF. */
static int conn_line(conn *c, char *out, size_t cap, double timeout_s)
{
    double until = ac_now() + timeout_s;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            size_t k = n < cap - 1 ? n : cap - 1;
            memcpy(out, c->buf, k);
            out[k] = 0;
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return (int)k;
        }
        if (c->eof)
            return -2;
        int ms = (int)((until - ac_now()) * 1000);
        if (ms <= 0)
            return -1;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
            continue;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r <= 0)
            c->eof = 1;
        else
            c->len += (size_t)r;
    }
}

static json_t *conn_json(conn *c, double timeout_s)
{
    static char line[1 << 16];
    if (conn_line(c, line, sizeof line, timeout_s) < 0)
        return NULL;
    return json_loads(line, 0, NULL);
}

/* Sends one request line and reads one reply. */
static json_t *roundtrip(conn *c, const char *line)
{
    if (conn_send(c, line) != 0)
        return NULL;
    return conn_json(c, 10);
}

/* 1 when the daemon closes the connection within timeout_s. */
static int conn_closed(conn *c, double timeout_s)
{
    char line[4096];
    double until = ac_now() + timeout_s;
    while (ac_now() < until) {
        int n = conn_line(c, line, sizeof line, until - ac_now());
        if (n == -2)
            return 1;
        if (n == -1)
            return 0;
    }
    return 0;
}

static json_int_t jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *jerr_code(json_t *o)
{
    return jstr(json_object_get(o, "error"), "code");
}

/* A raw HTTP/1.1 request; returns the status and the body (malloc'ed) in *body. */
static int http(int port, const char *method, const char *path, const char *auth, const char *body_text,
                char **body)
{
    *body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    ac_buf req = {0};
    ac_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method, path);
    if (auth)
        ac_buf_printf(&req, "Authorization: %s\r\n", auth);
    if (body_text)
        ac_buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body_text),
                      body_text);
    else
        ac_buf_printf(&req, "\r\n");
    send_bytes(fd, req.data, req.len);
    ac_buf_free(&req);
    ac_buf resp = {0};
    char chunk[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, 10000) > 0) {
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r <= 0)
            break;
        ac_buf_append(&resp, chunk, (size_t)r);
    }
    close(fd);
    int status = -1;
    if (resp.data && sscanf(resp.data, "HTTP/1.%*d %d", &status) == 1) {
        char *b = strstr(resp.data, "\r\n\r\n");
        *body = strdup(b ? b + 4 : "");
    }
    ac_buf_free(&resp);
    return status;
}

static int http_info_port(const char *sock)
{
    conn *c = conn_open(sock);
    if (!c)
        return -1;
    json_t *r = roundtrip(c, "{\"id\":1,\"op\":\"info\"}\n");
    int port = (int)jint(json_object_get(r, "http"), "port");
    json_decref(r);
    conn_close(c);
    return port;
}

/* The daemon most tests share. */
static daemon_proc shared;

#define NEED_SHARED() do { if (!shared.pid) { CHECKF(0, "the shared daemon is not running"); return; } } while (0)
#define FAIL_START() do { CHECKF(0, "the daemon did not start (see its log in %s)", tmp); return; } while (0)

/* --- protocol over the socket ---------------------------------------------------------------- */

static void complete_basic(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    CHECK(c != NULL);
    if (!c)
        return;
    json_t *r = roundtrip(c, "{\"id\":7,\"session\":\"t1\",\"op\":\"complete\",\"before\":\"The quick brown fo\","
                             "\"after\":\"\",\"max_tokens\":6}\n");
    CHECKF(r && jint(r, "id") == 7, "reply: %s", r ? json_dumps(r, 0) : "(none)");
    json_t *comps = json_object_get(r, "completions");
    CHECK(json_is_array(comps) && json_array_size(comps) >= 1);
    json_t *first = json_array_get(comps, 0);
    CHECK(json_is_string(json_object_get(first, "text")));
    CHECK(json_is_number(json_object_get(first, "score")));
    if (!real_bin) {
        CHECK_STR(jstr(first, "text"), " fo_0");
        /* neither n nor beams: the config's `completions` (5) */
        CHECKF(json_array_size(comps) == 5, "%zu completions by default", json_array_size(comps));
    }
    CHECK(json_is_false(json_object_get(r, "partial")));
    json_t *t = json_object_get(r, "timings");
    CHECK(json_is_number(json_object_get(t, "ms")) && json_is_integer(json_object_get(t, "new_tokens")));
    CHECK(json_object_get(r, "corrections") == NULL); /* not asked */
    json_decref(r);

    /* beams without n: n is the config's `completions` (5), at most the beams asked for */
    const struct { const char *beams; size_t want; } nb[] = {{"3", 3}, {"12", 5}};
    for (size_t i = 0; i < 2; i++) {
        char line[160];
        snprintf(line, sizeof line, "{\"id\":8,\"op\":\"complete\",\"before\":\"The quick\",\"beams\":%s}\n",
                 nb[i].beams);
        r = roundtrip(c, line);
        if (!real_bin)
            CHECKF(r && json_array_size(json_object_get(r, "completions")) == nb[i].want, "beams %s: %s",
                   nb[i].beams, r ? json_dumps(r, 0) : "(none)");
        json_decref(r);
    }

    /* a string id is echoed as a string; complete + correct in one request */
    r = roundtrip(c, "{\"id\":\"x-1\",\"op\":\"complete\",\"before\":\"I saw teh cat and teh dog\",\"correct\":true,"
                     "\"n\":2,\"beams\":3}\n");
    CHECK_STR(jstr(r, "id"), "x-1");
    CHECK(json_is_array(json_object_get(r, "completions")));
    json_t *corr = json_object_get(r, "corrections");
    CHECK(json_is_array(corr));
    if (!real_bin) {
        CHECK(json_array_size(json_object_get(r, "completions")) == 2);
        CHECK(json_array_size(corr) == 2);
        json_t *c0 = json_array_get(corr, 0);
        CHECK(jint(c0, "start") == 6 && jint(c0, "end") == 9);
        CHECK_STR(jstr(c0, "original"), "teh");
        CHECK_STR(jstr(c0, "replacement"), "the");
        json_t *cands = json_object_get(c0, "candidates");
        CHECK(json_array_size(cands) == 2 && !strcmp(jstr(json_array_get(cands, 1), "text"), "tee"));
    }
    json_decref(r);
    conn_close(c);
}

static void other_ops(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    if (!c)
        { CHECKF(0, "cannot connect"); return; }
    json_t *r = roundtrip(c, "{\"id\":1,\"op\":\"tokenize\",\"text\":\"Hello world\"}\n");
    json_t *toks = json_object_get(r, "tokens");
    CHECK(json_is_array(toks) && json_array_size(toks) >= 2);
    CHECK(jint(r, "count") == (json_int_t)json_array_size(toks));
    /* detokenize what tokenize gave: the same text back */
    json_t *req = json_pack("{s:i,s:s,s:O}", "id", 2, "op", "detokenize", "tokens", toks);
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_decref(r);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s\n", line);
    free(line);
    r = roundtrip(c, buf);
    CHECK_STR(jstr(r, "text"), "Hello world");
    json_decref(r);

    r = roundtrip(c, "{\"id\":3,\"op\":\"topk\",\"before\":\"The cat\",\"k\":5}\n");
    json_t *top = json_object_get(r, "top");
    CHECK(json_is_array(top) && json_array_size(top) == 5);
    CHECK(json_is_integer(json_object_get(json_array_get(top, 0), "id")));
    CHECK(json_is_number(json_object_get(json_array_get(top, 0), "logprob")));
    json_decref(r);

    r = roundtrip(c, "{\"id\":4,\"op\":\"correct\",\"before\":\"the brwn fox \"}\n");
    CHECK(json_is_array(json_object_get(r, "corrections")));
    CHECK(json_object_get(r, "completions") == NULL);
    if (!real_bin)
        CHECK_STR(jstr(json_array_get(json_object_get(r, "corrections"), 0), "replacement"), "brown");
    json_decref(r);

    r = roundtrip(c, "{\"id\":5,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    r = roundtrip(c, "{\"id\":6,\"op\":\"info\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    CHECK(json_is_object(json_object_get(r, "model")));
    CHECK(json_is_object(json_object_get(r, "limits")));
    CHECK(json_integer_value(json_object_get(json_object_get(r, "limits"), "max_tokens")) == 64);
    json_decref(r);
    conn_close(c);
}

static void learn_op(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    if (!c)
        { CHECKF(0, "cannot connect"); return; }
    json_t *r = roundtrip(c, "{\"id\":1,\"op\":\"learn\",\"words\":[\"zorblax\",\"quuxify\"]}\n");
    CHECKF(jint(r, "learned") >= 1, "reply: %s", r ? json_dumps(r, 0) : "(none)");
    json_decref(r);
    r = roundtrip(c, "{\"id\":2,\"op\":\"learn\",\"word\":\"two words\"}\n");
    CHECK_STR(jerr_code(r), "bad_request");
    json_decref(r);
    conn_close(c);
}

static void split_writes(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    if (!c)
        { CHECKF(0, "cannot connect"); return; }
    const char *req = "{\"id\":11,\"op\":\"complete\",\"before\":\"one byte at a time\",\"max_tokens\":3}\n";
    for (const char *p = req; *p; p++) {
        CHECK(send_bytes(c->fd, p, 1) == 0);
        if ((p - req) % 10 == 0)
            usleep(1000);
    }
    json_t *r = conn_json(c, 10);
    CHECK(r && jint(r, "id") == 11);
    CHECK(json_is_array(json_object_get(r, "completions")));
    json_decref(r);
    conn_close(c);
}

static void pipelined_requests(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    if (!c)
        { CHECKF(0, "cannot connect"); return; }
    /* three requests and a blank line in one write; replies may come in any order */
    CHECK(conn_send(c, "{\"id\":21,\"op\":\"complete\",\"before\":\"alpha\"}\n\n"
                       "{\"id\":22,\"op\":\"tokenize\",\"text\":\"beta\"}\r\n"
                       "{\"id\":23,\"op\":\"health\"}\n") == 0);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        json_t *r = conn_json(c, 10);
        json_int_t id = jint(r, "id");
        CHECKF(id >= 21 && id <= 23, "unexpected reply %d", (int)id);
        if (id >= 21 && id <= 23)
            seen |= 1 << (id - 21);
        CHECK(json_object_get(r, "error") == NULL);
        json_decref(r);
    }
    CHECK(seen == 7);
    /* 300 requests in one write: more than a client may have in flight (128); the rest wait in the
     * daemon's buffer, none is refused, every one is answered */
    ac_buf many = {0};
    for (int i = 0; i < 300; i++)
        ac_buf_printf(&many, "{\"id\":%d,\"op\":\"tokenize\",\"text\":\"w%d\"}\n", 1000 + i, i);
    CHECK(send_bytes(c->fd, many.data, many.len) == 0);
    ac_buf_free(&many);
    int answered = 0, errors = 0;
    static unsigned char got[300];
    memset(got, 0, sizeof got);
    for (int i = 0; i < 300; i++) {
        json_t *r = conn_json(c, 10);
        if (!r)
            break;
        json_int_t id = jint(r, "id");
        if (id >= 1000 && id < 1300 && !got[id - 1000]++)
            answered++;
        errors += json_object_get(r, "error") != NULL;
        json_decref(r);
    }
    CHECKF(answered == 300 && errors == 0, "%d of 300 answered, %d errors", answered, errors);
    conn_close(c);
}

static void bad_json_keeps_connection(void)
{
    NEED_SHARED();
    conn *c = conn_open(shared.sock);
    if (!c)
        { CHECKF(0, "cannot connect"); return; }
    json_t *r = roundtrip(c, "{\"id\":1, oops}\n");
    CHECK_STR(jerr_code(r), "bad_json");
    CHECK(strstr(jstr(json_object_get(r, "error"), "message"), "column") != NULL);
    json_decref(r);
    r = roundtrip(c, "{\"id\":2,\"op\":\"fly\"}\n");
    CHECK_STR(jerr_code(r), "unknown_op");
    CHECK(jint(r, "id") == 2);
    json_decref(r);
    r = roundtrip(c, "{\"id\":3,\"op\":\"complete\"}\n");
    CHECK_STR(jerr_code(r), "bad_request");
    CHECK(strstr(jstr(json_object_get(r, "error"), "message"), "'before'") != NULL);
    json_decref(r);
    r = roundtrip(c, "{\"id\":4,\"op\":\"complete\",\"before\":\"x\",\"max_tokens\":65}\n");
    CHECK_STR(jerr_code(r), "limit");
    CHECKF(strstr(jstr(json_object_get(r, "error"), "message"), "max_tokens must be <= 64") != NULL, "%s",
           jstr(json_object_get(r, "error"), "message"));
    json_decref(r);
    r = roundtrip(c, "{\"id\":5,\"op\":\"complete\",\"before\":\"x\",\"beams\":17}\n");
    CHECK_STR(jerr_code(r), "limit");
    CHECK(strstr(jstr(json_object_get(r, "error"), "message"), "max_beams") != NULL);
    json_decref(r);
    r = roundtrip(c, "[1,2]\n");
    CHECK_STR(jerr_code(r), "bad_json");
    json_decref(r);
    /* still served */
    r = roundtrip(c, "{\"id\":6,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn_close(c);
}

static void overlong_line_closes(void)
{
    daemon_proc d;
    if (daemon_start(&d, "overlong", "max_line_bytes = 1024", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    CHECK(c != NULL);
    /* a request at the limit is fine */
    char line[1100];
    int n = snprintf(line, sizeof line, "{\"id\":1,\"op\":\"tokenize\",\"text\":\"");
    while (n < 1020)
        line[n++] = 'a';
    n += snprintf(line + n, sizeof line - (size_t)n, "\"}\n");
    json_t *r = roundtrip(c, line);
    CHECKF(r && !json_object_get(r, "error"), "%d-byte request refused", n - 1);
    json_decref(r);
    /* 2000 bytes with no newline: one error, then the connection closes */
    char big[2001];
    memset(big, 'b', 2000);
    big[0] = '{';
    big[2000] = 0;
    CHECK(conn_send(c, big) == 0);
    r = conn_json(c, 5);
    CHECK_STR(jerr_code(r), "too_large");
    CHECK(strstr(jstr(json_object_get(r, "error"), "message"), "max_line_bytes") != NULL);
    json_decref(r);
    CHECK(conn_closed(c, 5));
    conn_close(c);
    /* a long line with a newline, behind a good request on the same connection */
    c = conn_open(d.sock);
    ac_buf b = {0};
    ac_buf_printf(&b, "{\"id\":2,\"op\":\"health\"}\n{\"id\":3,\"op\":\"tokenize\",\"text\":\"");
    for (int i = 0; i < 1500; i++)
        ac_buf_append(&b, "c", 1);
    ac_buf_printf(&b, "\"}\n{\"id\":4,\"op\":\"health\"}\n");
    CHECK(conn_send(c, b.data) == 0);
    ac_buf_free(&b);
    r = conn_json(c, 5);
    CHECK(jint(r, "id") == 2);
    json_decref(r);
    r = conn_json(c, 5);
    CHECK_STR(jerr_code(r), "too_large");
    json_decref(r);
    CHECK(conn_closed(c, 5)); /* request 4 is not answered */
    conn_close(c);
    /* the daemon serves on */
    c = conn_open(d.sock);
    r = roundtrip(c, "{\"id\":5,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

static void supersession_and_cancel(void)
{
    daemon_proc d;
    if (daemon_start(&d, "super", "workers = 2\ndeadline_ms = 10000", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    if (!c) {
        daemon_stop(&d);
        { CHECKF(0, "cannot connect"); return; }
    }
    double t0 = ac_now();
    /* a slow request, then a newer one in the same session: the first is cancelled (superseded) */
    CHECK(conn_send(c, "{\"id\":1,\"session\":\"ed-1\",\"op\":\"complete\",\"before\":\"sleep:3000 a\"}\n") == 0);
    usleep(100000); /* let it start running */
    CHECK(conn_send(c, "{\"id\":2,\"session\":\"ed-1\",\"op\":\"complete\",\"before\":\"quick b\"}\n") == 0);
    json_t *r1 = NULL, *r2 = NULL;
    for (int i = 0; i < 2; i++) {
        json_t *r = conn_json(c, 5);
        if (jint(r, "id") == 1) r1 = r; else if (jint(r, "id") == 2) r2 = r; else json_decref(r);
    }
    CHECK(r1 && json_is_true(json_object_get(r1, "cancelled")));
    CHECK_STR(jstr(r1, "reason"), "superseded");
    CHECK(r2 && json_is_array(json_object_get(r2, "completions")));
    CHECKF(ac_now() - t0 < 2.0, "supersession took %.2f s", ac_now() - t0);
    json_decref(r1);
    json_decref(r2);

    /* queued (not yet running) requests are superseded too: three in one write */
    CHECK(conn_send(c, "{\"id\":3,\"session\":\"ed-2\",\"op\":\"complete\",\"before\":\"sleep:300 x\"}\n"
                       "{\"id\":4,\"session\":\"ed-2\",\"op\":\"complete\",\"before\":\"sleep:300 y\"}\n"
                       "{\"id\":5,\"session\":\"ed-2\",\"op\":\"complete\",\"before\":\"z\"}\n") == 0);
    int cancelled = 0, done = 0;
    char seen[600] = "";
    for (int i = 0; i < 3; i++) {
        json_t *r = conn_json(c, 5);
        char *txt = r ? json_dumps(r, JSON_COMPACT) : NULL;
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%.60s ", txt ? txt : "(none)");
        free(txt);
        if (json_is_true(json_object_get(r, "cancelled")))
            cancelled |= 1 << jint(r, "id");
        else if (json_object_get(r, "completions"))
            done |= 1 << jint(r, "id");
        json_decref(r);
    }
    CHECKF(cancelled == ((1 << 3) | (1 << 4)) && done == (1 << 5), "replies: %.300s", seen);

    /* requests without a session, or in other sessions, are not superseded */
    CHECK(conn_send(c, "{\"id\":6,\"op\":\"complete\",\"before\":\"sleep:100 p\"}\n"
                       "{\"id\":7,\"op\":\"complete\",\"before\":\"q\"}\n") == 0);
    for (int i = 0; i < 2; i++) {
        json_t *r = conn_json(c, 5);
        CHECK(r && json_object_get(r, "completions"));
        json_decref(r);
    }

    /* cancel by id */
    t0 = ac_now();
    CHECK(conn_send(c, "{\"id\":8,\"op\":\"complete\",\"before\":\"sleep:3000 w\"}\n") == 0);
    usleep(50000);
    CHECK(conn_send(c, "{\"id\":9,\"op\":\"cancel\",\"target\":8}\n") == 0);
    json_t *ra = conn_json(c, 5), *rb = conn_json(c, 5);
    json_t *cancel_reply = jint(ra, "id") == 9 ? ra : rb, *target_reply = jint(ra, "id") == 9 ? rb : ra;
    CHECK(jint(cancel_reply, "found") == 1);
    CHECK(json_is_true(json_object_get(target_reply, "cancelled")));
    CHECK_STR(jstr(target_reply, "reason"), "cancelled");
    CHECK(ac_now() - t0 < 2.0);
    json_decref(ra);
    json_decref(rb);
    /* cancel of nothing */
    json_t *r = roundtrip(c, "{\"id\":10,\"op\":\"cancel\",\"target\":12345}\n");
    CHECK(jint(r, "found") == 0);
    json_decref(r);
    /* cancel a whole session */
    CHECK(conn_send(c, "{\"id\":11,\"session\":\"ed-3\",\"op\":\"complete\",\"before\":\"sleep:3000 v\"}\n") == 0);
    usleep(50000);
    CHECK(conn_send(c, "{\"id\":12,\"op\":\"cancel\",\"session\":\"ed-3\"}\n") == 0);
    ra = conn_json(c, 5);
    rb = conn_json(c, 5);
    CHECK((jint(ra, "id") == 12 ? jint(ra, "found") : jint(rb, "found")) == 1);
    json_decref(ra);
    json_decref(rb);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

static void disconnect_mid_request(void)
{
    daemon_proc d;
    if (daemon_start(&d, "disc", "workers = 1\ndeadline_ms = 10000", "--verbose", 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    CHECK(conn_send(c, "{\"id\":1,\"op\":\"complete\",\"before\":\"sleep:5000 slow\"}\n") == 0);
    usleep(100000);
    conn_close(c); /* gone while its request runs on the only worker */
    double t0 = ac_now();
    c = conn_open(d.sock);
    json_t *r = roundtrip(c, "{\"id\":2,\"op\":\"complete\",\"before\":\"fast\"}\n");
    CHECK(r && json_object_get(r, "completions"));
    CHECKF(ac_now() - t0 < 1.5, "the next request waited %.2f s: the dead client's work was not cancelled",
           ac_now() - t0);
    json_decref(r);
    r = roundtrip(c, "{\"id\":3,\"op\":\"info\"}\n");
    CHECK(jint(r, "cancelled") >= 1);
    json_decref(r);
    /* half-closed client (shutdown of its sending side): still gets its replies, then the close */
    conn *h = conn_open(d.sock);
    CHECK(conn_send(h, "{\"id\":4,\"op\":\"complete\",\"before\":\"sleep:100 half\"}\n{\"id\":5,\"op\":\"health\"}") == 0);
    shutdown(h->fd, SHUT_WR);
    json_t *a = conn_json(h, 5), *b = conn_json(h, 5);
    CHECK(a && b && jint(a, "id") + jint(b, "id") == 9);
    json_decref(a);
    json_decref(b);
    CHECK(conn_closed(h, 5));
    conn_close(h);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

static void max_clients_limit(void)
{
    daemon_proc d;
    if (daemon_start(&d, "maxc", "max_clients = 2", NULL, 1) != 0)
        FAIL_START();
    usleep(50000); /* the readiness probe's connection must be gone */
    conn *a = conn_open(d.sock), *b = conn_open(d.sock);
    json_t *r = roundtrip(a, "{\"id\":1,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    r = roundtrip(b, "{\"id\":1,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn *c = conn_open(d.sock);
    r = c ? conn_json(c, 5) : NULL;
    CHECK_STR(jerr_code(r), "too_many_clients");
    json_decref(r);
    CHECK(c && conn_closed(c, 5));
    conn_close(c);
    conn_close(b);
    usleep(50000);
    c = conn_open(d.sock);
    r = roundtrip(c, "{\"id\":2,\"op\":\"health\"}\n");
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn_close(c);
    conn_close(a);
    CHECK(daemon_stop(&d) == 0);
}

/* --- the socket file ------------------------------------------------------------------------- */

static void socket_file_rules(void)
{
    daemon_proc a, b;
    /* a stale socket (bound, nobody listening) is replaced */
    char stale[108];
    snprintf(stale, sizeof stale, "%s/stale.sock", tmp);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ad = {.sun_family = AF_UNIX};
    snprintf(ad.sun_path, sizeof ad.sun_path, "%s", stale);
    CHECK(bind(fd, (struct sockaddr *)&ad, sizeof ad) == 0);
    close(fd);
    struct stat st;
    CHECK(lstat(stale, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK(daemon_start(&a, "stale", "", NULL, 1) == 0);
    CHECK(lstat(stale, &st) == 0 && (st.st_mode & 0777) == 0600); /* mode 0600 */
    /* a second daemon on a live socket is refused, and the first keeps serving */
    CHECK(daemon_start(&b, "stale", "", NULL, 0) == 0);
    int rc = daemon_wait(&b, 10);
    CHECKF(rc == 1, "second daemon exit status %d", rc);
    CHECK(log_contains(&b, "another daemon is already listening"));
    conn *c = conn_open(a.sock);
    json_t *r = c ? roundtrip(c, "{\"id\":1,\"op\":\"health\"}\n") : NULL;
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn_close(c);
    CHECK(daemon_stop(&a) == 0);
    CHECK(lstat(stale, &st) != 0); /* SIGTERM removed it */

    /* a symlink at the socket path is refused, and what it points at is untouched */
    char target[128], link_path[108];
    snprintf(target, sizeof target, "%s/precious.txt", tmp);
    snprintf(link_path, sizeof link_path, "%s/link.sock", tmp);
    write_text(target, "keep me");
    CHECK(symlink(target, link_path) == 0);
    CHECK(daemon_start(&b, "link", "", NULL, 0) == 0);
    rc = daemon_wait(&b, 10);
    CHECKF(rc == 1, "exit status %d over a symlink", rc);
    CHECK(log_contains(&b, "symbolic link"));
    CHECK(lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(target, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 7);
    /* a regular file at the socket path is refused too */
    char regular[108];
    snprintf(regular, sizeof regular, "%s/file.sock", tmp);
    write_text(regular, "x");
    CHECK(daemon_start(&b, "file", "", NULL, 0) == 0);
    CHECK(daemon_wait(&b, 10) == 1);
    CHECK(log_contains(&b, "not a socket"));
}

/* --- signals --------------------------------------------------------------------------------- */

static void sigterm_finishes_in_flight(void)
{
    daemon_proc d;
    if (daemon_start(&d, "term", "deadline_ms = 10000", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    const char *slow = real_bin ? "{\"id\":1,\"op\":\"complete\",\"before\":\"In the beginning\",\"max_tokens\":16}\n"
                                : "{\"id\":1,\"op\":\"complete\",\"before\":\"sleep:400 last\"}\n";
    CHECK(conn_send(c, slow) == 0);
    usleep(100000); /* read and started (the real model may even have finished: the reply must come either way) */
    kill(d.pid, SIGTERM);
    json_t *r = conn_json(c, 10);
    CHECKF(r && jint(r, "id") == 1 && json_object_get(r, "completions"), "the in-flight request was not answered");
    json_decref(r);
    int rc = daemon_wait(&d, 15);
    CHECKF(rc == 0, "exit status %d after SIGTERM", rc);
    struct stat st;
    CHECK(lstat(d.sock, &st) != 0);
    CHECK(conn_closed(c, 2));
    conn_close(c);
}

static void sighup_reloads_config(void)
{
    daemon_proc d;
    if (daemon_start(&d, "hup", "max_tokens = 32\ndefault_max_tokens = 4", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    json_t *r = roundtrip(c, "{\"id\":1,\"op\":\"info\"}\n");
    CHECK(json_integer_value(json_object_get(json_object_get(r, "limits"), "max_tokens")) == 32);
    json_int_t reloads0 = jint(r, "reloads");
    json_decref(r);
    /* a new config: the limit changes, the connection stays */
    char text[1024];
    snprintf(text, sizeof text, "max_tokens = 48\ndefault_max_tokens = 4\nmodel_path = \"%s\"\n",
             real_bin ? real_model : tmp);
    write_text(d.cfg, text);
    kill(d.pid, SIGHUP);
    int ok = 0;
    for (int i = 0; i < 200 && !ok; i++) {
        usleep(20000);
        r = roundtrip(c, "{\"id\":2,\"op\":\"info\"}\n");
        ok = json_integer_value(json_object_get(json_object_get(r, "limits"), "max_tokens")) == 48;
        if (ok)
            CHECK(jint(r, "reloads") == reloads0 + 1);
        json_decref(r);
    }
    CHECK(ok);
    r = roundtrip(c, "{\"id\":3,\"op\":\"complete\",\"before\":\"after the reload\",\"max_tokens\":40}\n");
    CHECK(r && json_object_get(r, "completions"));
    json_decref(r);
    if (!real_bin) {
        /* the fake reports its model path and load count: the model was loaded again */
        r = roundtrip(c, "{\"id\":4,\"op\":\"info\"}\n");
        CHECK(jint(json_object_get(r, "model"), "load_number") == 2);
        json_decref(r);
        /* a bad config or a model that fails to load: the old ones stay */
        snprintf(text, sizeof text, "max_tokens = \"many\"\nmodel_path = \"%s\"\n", tmp);
        write_text(d.cfg, text);
        kill(d.pid, SIGHUP);
        usleep(300000);
        write_text(d.cfg, "model_path = \"/nowhere/fail-to-load\"\n");
        kill(d.pid, SIGHUP);
        usleep(300000);
        r = roundtrip(c, "{\"id\":5,\"op\":\"info\"}\n");
        CHECK(json_integer_value(json_object_get(json_object_get(r, "limits"), "max_tokens")) == 48);
        CHECK(jint(json_object_get(r, "model"), "load_number") == 2);
        json_decref(r);
        CHECK(log_contains(&d, "reload failed"));
        CHECK(log_contains(&d, "key 'max_tokens'"));
    }
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

static void sighup_while_busy(void)
{
    /* a reload while requests run: they finish on the old model, new ones use the new one */
    daemon_proc d;
    if (daemon_start(&d, "hupbusy", "workers = 2\ndeadline_ms = 10000", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    CHECK(conn_send(c, "{\"id\":1,\"op\":\"complete\",\"before\":\"sleep:500 old\"}\n") == 0);
    usleep(50000);
    kill(d.pid, SIGHUP);
    usleep(200000);
    json_t *r = roundtrip(c, "{\"id\":2,\"op\":\"info\"}\n");
    CHECK(jint(json_object_get(r, "model"), "load_number") == 2);
    json_decref(r);
    r = conn_json(c, 5);
    CHECK(r && jint(r, "id") == 1 && json_object_get(r, "completions"));
    json_decref(r);
    usleep(100000);
    CHECK(log_contains(&d, "freeing the previous model"));
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

/* --- plain text ------------------------------------------------------------------------------- */

static void plain_text_socket(void)
{
    NEED_SHARED();
    /* no newline, no shutdown: answered after the pause, then closed */
    conn *c = conn_open(shared.sock);
    double t0 = ac_now();
    CHECK(conn_send(c, "some text") == 0);
    char line[1024];
    int n = conn_line(c, line, sizeof line, 5);
    double waited = ac_now() - t0;
    CHECK(n >= 0);
    if (!real_bin)
        CHECK_STR(line, " text_0");
    CHECKF(waited >= 0.15 && waited < 2.0, "answered after %.3f s", waited);
    CHECK(conn_closed(c, 5));
    conn_close(c);
    /* with a newline: answered at once */
    c = conn_open(shared.sock);
    t0 = ac_now();
    CHECK(conn_send(c, "other words\n") == 0);
    n = conn_line(c, line, sizeof line, 5);
    CHECK(n >= 0);
    if (!real_bin) {
        CHECK_STR(line, " words_0");
        CHECKF(ac_now() - t0 < 0.15, "a newline-ended request waited %.3f s", ac_now() - t0);
    }
    /* the config's `completions` lines (5), though it searches `beam_width` beams (8) */
    int lines = 1;
    while (conn_line(c, line, sizeof line, 5) >= 0)
        lines++;
    if (!real_bin)
        CHECKF(lines == 5, "%d plain-text lines, want the completions setting's 5", lines);
    else /* the model finds what it finds, but never more than the setting */
        CHECKF(lines >= 1 && lines <= 5, "%d plain-text lines, want at most the completions setting's 5", lines);
    CHECK(c->eof);
    conn_close(c);
}

static void plain_text_with_nc(void)
{
    NEED_SHARED();
    if (system("command -v nc >/dev/null 2>&1") != 0)
        SKIP("nc (netcat-openbsd) is not installed");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "printf %%s 'some text' | timeout 10 nc -U '%s'", shared.sock);
    double t0 = ac_now();
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    char out[4096] = "";
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    int rc = p ? pclose(p) : -1;
    double took = ac_now() - t0;
    CHECKF(rc == 0, "nc exit status %d", rc);
    CHECKF(took < 3.0, "echo -n text | nc -U took %.2f s", took);
    int lines = 0;
    for (char *q = out; *q; q++)
        lines += *q == '\n';
    CHECKF(lines >= 1, "nc printed: \"%.200s\"", out);
    if (!real_bin) {
        CHECKF(!strncmp(out, " text_0\n text_1\n", 16), "nc printed: \"%.200s\"", out);
        ac_config defaults;
        ac_config_default(&defaults);
        CHECKF(lines == defaults.completions, "%d lines, completions %d", lines, defaults.completions); /* one per line */
    }
    /* with a newline (plain echo) */
    snprintf(cmd, sizeof cmd, "echo 'the quick brwn' | timeout 10 nc -U '%s'", shared.sock);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    CHECK(p && pclose(p) == 0);
    if (!real_bin)
        CHECKF(!strncmp(out, " brwn_0\n", 8), "nc printed: \"%.200s\"", out);
}

/* The fake's FAKE_CTL_TEXTS as the plain-text reply must show them (R: U+FFFD), and as JSON text. */
#define R "\xef\xbf\xbd"
static const char *const ctl_plain[2] = {" " R "[31mred" R " next" R R "2J", R "]0;t" R "\ttab "};
#undef R
static const char *const ctl_json[2] = {"\" \\u001B[31mred\\u0007\\r\\nnext\\u007F\\u009B2J\"",
                                        "\"\\u001B]0;t\\u0007\\ttab\\n\""};

static void plain_text_controls(void)
{
    NEED_SHARED();
    /* plain text: nothing a terminal acts on, and still one line per completion */
    conn *c = conn_open(shared.sock);
    CHECK(c && conn_send(c, "ctl: x\n") == 0);
    char line[1024];
    for (int i = 0; c && i < 2; i++) {
        CHECK(conn_line(c, line, sizeof line, 5) >= 0);
        CHECK_STR(line, ctl_plain[i]);
    }
    CHECK(c && conn_closed(c, 5)); /* and no third line */
    conn_close(c);
    /* JSON: the same completions escaped (DEL and C1 too), and they read back byte for byte */
    c = conn_open(shared.sock);
    CHECK(c && conn_send(c, "{\"id\":1,\"op\":\"complete\",\"before\":\"ctl: x\"}\n") == 0);
    int n = c ? conn_line(c, line, sizeof line, 5) : -1;
    CHECK(n > 0);
    for (int i = 0; n > 0 && i < 2; i++)
        CHECKF(strstr(line, ctl_json[i]) != NULL, "reply: %.300s", line);
    for (int i = 0; n > 0 && i < n; i++)
        CHECKF((unsigned char)line[i] >= 0x20 && line[i] != 0x7F && ((unsigned char)line[i] != 0xC2 ||
               (unsigned char)line[i + 1] > 0x9F), "byte %d of the reply is 0x%02x", i, (unsigned char)line[i]);
    json_t *r = n > 0 ? json_loads(line, 0, NULL) : NULL;
    json_t *comps = json_object_get(r, "completions");
    CHECK(json_array_size(comps) == 2);
    for (size_t i = 0; i < json_array_size(comps) && i < 2; i++)
        CHECK_STR(jstr(json_array_get(comps, i), "text"), FAKE_CTL_TEXTS[i]);
    json_decref(r);
    conn_close(c);
}

/* --- who may connect -------------------------------------------------------------------------- */

#define OTHER_UID 65534 /* nobody */

/* Connects to sock as uid (a forked child that drops to it), sends request, and reads the first
 * reply line, or what comes until the daemon closes, into reply[cap] (5 s at most). Returns 0 when
 * it connected and read a line or the close, 1 when it could not connect, or -1 otherwise. */
static int connect_as(uid_t uid, const char *sock, const char *request, char *reply, size_t cap)
{
    int p[2];
    reply[0] = 0;
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
            _exit(3);
        conn *c = conn_open(sock);
        if (!c)
            _exit(1);
        conn_send(c, request); /* may fail once the daemon has closed: the reply is still there */
        double until = ac_now() + 5;
        while (!c->eof && !memchr(c->buf, '\n', c->len) && ac_now() < until) {
            struct pollfd pf = {.fd = c->fd, .events = POLLIN};
            if (poll(&pf, 1, 100) <= 0)
                continue;
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);
            if (r <= 0)
                c->eof = 1;
            else
                c->len += (size_t)r;
        }
        ssize_t w = write(p[1], c->buf, c->len);
        _exit(w == (ssize_t)c->len && (c->eof || memchr(c->buf, '\n', c->len)) ? 0 : 2);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(p[0], reply + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    reply[len] = 0;
    close(p[0]);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == 1 ? 1 : -1;
}

static void peer_uid_refused(void)
{
    if (geteuid() != 0)
        SKIP("needs root, to connect as another user");
    daemon_proc d;
    if (daemon_start(&d, "peer", "", NULL, 1) != 0)
        FAIL_START();
    /* let the file system admit anyone, as a loose socket_path directory or SocketMode would: only
     * the daemon's own check is left */
    CHECK(chmod(tmp, 0711) == 0 && chmod(d.sock, 0666) == 0);
    char reply[4096];
    int rc = connect_as(OTHER_UID, d.sock, "{\"id\":1,\"op\":\"complete\",\"before\":\"secret peer words\"}\n",
                        reply, sizeof reply);
    CHECKF(rc == 0, "uid %d: connect_as returned %d", OTHER_UID, rc);
    CHECKF(strstr(reply, "\"code\":\"forbidden\"") && !strstr(reply, "completions"), "uid %d got: %.300s", OTHER_UID,
           reply);
    /* plain text too */
    rc = connect_as(OTHER_UID, d.sock, "secret plain words\n", reply, sizeof reply);
    CHECKF(rc == 0 && strstr(reply, "forbidden") && !strstr(reply, "words_0"), "plain: %d: %.300s", rc, reply);
    CHECK(chmod(tmp, 0700) == 0);
    /* the daemon's own user is still served */
    conn *c = conn_open(d.sock);
    json_t *r = c ? roundtrip(c, "{\"id\":2,\"op\":\"complete\",\"before\":\"own words\"}\n") : NULL;
    CHECKF(json_array_size(json_object_get(r, "completions")) >= 1, "own uid: %s", r ? json_dumps(r, 0) : "(none)");
    json_decref(r);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
    char needle[64];
    snprintf(needle, sizeof needle, "uid %d is not this daemon's user", OTHER_UID);
    CHECK(log_contains(&d, needle));
    CHECK(!log_contains(&d, "secret"));
}

/* How many times needle occurs in the daemon's log. */
static int log_count(const daemon_proc *d, const char *needle)
{
    char *text;
    size_t len;
    if (ac_file_read(d->log, 1 << 24, &text, &len, NULL) != AC_OK)
        return -1;
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    free(text);
    return n;
}

/* A burst of refused connections gets one log line a second at most (server.c's refusal_log, the
 * limit itself is in test_log.c), and the first line after the burst counts the lines held back. */
static void peer_refusals_rate_limited(void)
{
    if (geteuid() != 0)
        SKIP("needs root, to connect as another user");
    daemon_proc d;
    if (daemon_start(&d, "peer_flood", "", NULL, 1) != 0)
        FAIL_START();
    CHECK(chmod(tmp, 0711) == 0 && chmod(d.sock, 0666) == 0);
    char reply[4096];
    const int burst = 12;
    double t0 = ac_now();
    for (int i = 0; i < burst; i++)
        CHECKF(connect_as(OTHER_UID, d.sock, "{\"id\":1,\"op\":\"health\"}\n", reply, sizeof reply) == 0 &&
                   strstr(reply, "forbidden"),
               "refusal %d: %.200s", i, reply);
    double took = ac_now() - t0;
    usleep(1100 * 1000); /* past the interval: the next refusal is logged, with the count */
    CHECK(connect_as(OTHER_UID, d.sock, "{\"id\":2,\"op\":\"health\"}\n", reply, sizeof reply) == 0);
    CHECK(chmod(tmp, 0700) == 0);
    CHECK(daemon_stop(&d) == 0);
    /* the burst's lines: one, plus one per whole second it took; then the line after the pause */
    int lines = log_count(&d, "client refused"), most = 2 + (int)took;
    CHECKF(lines >= 2 && lines <= most && lines < burst + 1, "%d refusal lines for %d refusals in %.2f s (want 2..%d)",
           lines, burst + 1, took, most);
    CHECKF(log_count(&d, "more refused connections not logged") >= 1, "no line counts the held-back refusals");
}

static void root_peer_allowed(void)
{
    if (geteuid() != 0)
        SKIP("needs root, to run the daemon as another user");
    /* the daemon runs as nobody, in a directory of its own */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/other", tmp);
    CHECK(mkdir(dir, 0700) == 0 && chown(dir, OTHER_UID, OTHER_UID) == 0 && chmod(tmp, 0711) == 0);
    daemon_proc d;
    daemon_uid = OTHER_UID;
    int started = daemon_start(&d, "other/root_peer", "", NULL, 1);
    daemon_uid = 0;
    if (started != 0) {
        chmod(tmp, 0700);
        FAIL_START();
    }
    /* root, not the daemon's user, is served */
    conn *c = conn_open(d.sock);
    json_t *r = c ? roundtrip(c, "{\"id\":1,\"op\":\"health\"}\n") : NULL;
    CHECK_STR(jstr(r, "status"), "ok");
    json_decref(r);
    conn_close(c);
    /* the daemon's own user is served; a third user is not */
    char reply[4096];
    CHECK(connect_as(OTHER_UID, d.sock, "{\"id\":2,\"op\":\"health\"}\n", reply, sizeof reply) == 0);
    CHECKF(strstr(reply, "\"status\":\"ok\"") != NULL, "the daemon's own uid got: %.300s", reply);
    CHECK(chmod(dir, 0711) == 0 && chmod(d.sock, 0666) == 0);
    CHECK(connect_as(OTHER_UID - 1, d.sock, "{\"id\":3,\"op\":\"health\"}\n", reply, sizeof reply) == 0);
    CHECKF(strstr(reply, "\"code\":\"forbidden\"") != NULL, "uid %d got: %.300s", OTHER_UID - 1, reply);
    CHECK(daemon_stop(&d) == 0);
    CHECK(chmod(tmp, 0700) == 0);
}

/* --- HTTP ------------------------------------------------------------------------------------- */

static void http_endpoints(void)
{
    daemon_proc d;
    if (daemon_start(&d, "http", "http_enabled = true\nhttp_port = 0", NULL, 1) != 0)
        FAIL_START();
    int port = http_info_port(d.sock);
    CHECKF(port > 0, "info reports HTTP port %d", port);
    char *body;
    int st = http(port, "GET", "/health", NULL, NULL, &body);
    CHECK(st == 200 && body && strstr(body, "\"status\":\"ok\""));
    free(body);
    st = http(port, "POST", "/v1/complete", NULL, "{\"id\":3,\"before\":\"over http\",\"n\":2}", &body);
    json_t *r = body ? json_loads(body, 0, NULL) : NULL;
    CHECKF(st == 200 && jint(r, "id") == 3, "status %d, body %s", st, body ? body : "");
    CHECK(json_array_size(json_object_get(r, "completions")) == (real_bin ? json_array_size(json_object_get(r, "completions")) : 2));
    if (!real_bin)
        CHECK_STR(jstr(json_array_get(json_object_get(r, "completions"), 0), "text"), " http_0");
    json_decref(r);
    free(body);
    st = http(port, "POST", "/", NULL, "{\"id\":4,\"op\":\"tokenize\",\"text\":\"abc\"}", &body);
    r = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(st == 200 && json_is_array(json_object_get(r, "tokens")));
    json_decref(r);
    free(body);
    st = http(port, "GET", "/v1/info", NULL, NULL, &body);
    CHECK(st == 200 && body && strstr(body, "\"limits\""));
    free(body);
    /* errors */
    st = http(port, "POST", "/v1/complete", NULL, "{\"before\":", &body);
    CHECK(st == 400 && body && strstr(body, "bad_json"));
    free(body);
    st = http(port, "POST", "/v1/complete", NULL, "{\"before\":\"x\",\"max_tokens\":1000}", &body);
    CHECK(st == 400 && body && strstr(body, "\"limit\""));
    free(body);
    st = http(port, "GET", "/nowhere", NULL, NULL, &body);
    CHECK(st == 404);
    free(body);
    st = http(port, "GET", "/v1/complete", NULL, NULL, &body);
    CHECK(st == 405);
    free(body);
    /* body over max_line_bytes */
    ac_buf big = {0};
    ac_buf_printf(&big, "{\"before\":\"");
    for (int i = 0; i < (1 << 20) + 10; i++)
        ac_buf_append(&big, "x", 1);
    ac_buf_printf(&big, "\"}");
    st = http(port, "POST", "/v1/complete", NULL, big.data, &body);
    CHECKF(st == 413, "status %d for a body over the limit", st);
    free(body);
    ac_buf_free(&big);

    /* OpenAI-style completions */
    st = http(port, "POST", "/v1/completions", NULL,
              "{\"model\":\"x\",\"prompt\":\"The quick brown\",\"max_tokens\":5,\"n\":2,\"logprobs\":1}", &body);
    r = body ? json_loads(body, 0, NULL) : NULL;
    CHECKF(st == 200, "status %d body %s", st, body ? body : "");
    CHECK_STR(jstr(r, "object"), "text_completion");
    CHECK(!strncmp(jstr(r, "id"), "cmpl-", 5));
    CHECK_STR(jstr(r, "model"), "x");
    json_t *choices = json_object_get(r, "choices");
    CHECK(json_is_array(choices) && json_array_size(choices) >= 1);
    json_t *ch = json_array_get(choices, 0);
    CHECK(json_is_string(json_object_get(ch, "text")) && jint(ch, "index") == 0);
    const char *fr = jstr(ch, "finish_reason");
    CHECK(!strcmp(fr, "stop") || !strcmp(fr, "length"));
    json_t *lp = json_object_get(ch, "logprobs");
    CHECK(json_is_array(json_object_get(lp, "tokens")) && json_is_array(json_object_get(lp, "token_logprobs")));
    CHECK(json_is_integer(json_object_get(json_object_get(r, "usage"), "total_tokens")));
    if (!real_bin) {
        CHECK(json_array_size(choices) == 2);
        CHECK_STR(jstr(ch, "text"), " brown_0");
        CHECK(json_array_size(json_object_get(lp, "tokens")) == 2);
    }
    json_decref(r);
    free(body);
    /* stop strings and echo */
    st = http(port, "POST", "/v1/completions", NULL, "{\"prompt\":\"say brown\",\"stop\":[\"_\"],\"echo\":true}",
              &body);
    r = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(st == 200);
    if (!real_bin) {
        json_t *c0 = json_array_get(json_object_get(r, "choices"), 0);
        CHECK_STR(jstr(c0, "text"), "say brown brown");
        CHECK_STR(jstr(c0, "finish_reason"), "stop");
    }
    json_decref(r);
    free(body);
    st = http(port, "POST", "/v1/completions", NULL, "{\"prompt\":\"x\",\"stream\":true}", &body);
    CHECK(st == 400 && body && strstr(body, "invalid_request_error"));
    free(body);
    CHECK(daemon_stop(&d) == 0);
}

static void http_token_required(void)
{
    daemon_proc d;
    if (daemon_start(&d, "httptok", "http_enabled = true\nhttp_port = 0\nhttp_token = \"s3cret\"", NULL, 1) != 0)
        FAIL_START();
    int port = http_info_port(d.sock);
    char *body;
    CHECK(http(port, "GET", "/health", NULL, NULL, &body) == 401);
    free(body);
    CHECK(http(port, "GET", "/health", "Bearer wrong", NULL, &body) == 401);
    free(body);
    CHECK(http(port, "GET", "/health", "Bearer s3cret", NULL, &body) == 200);
    free(body);
    CHECK(http(port, "POST", "/v1/completions", "Bearer s3cret", "{\"prompt\":\"a b\"}", &body) == 200);
    free(body);
    CHECK(daemon_stop(&d) == 0);
    /* 0.0.0.0 without a token: refused at start */
    CHECK(daemon_start(&d, "httpopen", "http_enabled = true\nhttp_address = \"0.0.0.0\"", NULL, 0) == 0);
    CHECK(daemon_wait(&d, 10) == 1);
    CHECK(log_contains(&d, "http_token"));
}

/* --- command line and logs -------------------------------------------------------------------- */

static int run_cmd(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    if (real_bin)
        snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", real_bin, args);
    else
        snprintf(cmd, sizeof cmd, "'%s' --serve %s 2>&1", self_exe, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void command_line(void)
{
    char out[16384];
    CHECK(run_cmd("--help", out, sizeof out) == 0 && strstr(out, "--check-config"));
    CHECK(run_cmd("--version", out, sizeof out) == 0 && strstr(out, "autocorrectd "));
    CHECK(run_cmd("--bogus", out, sizeof out) == 2 && strstr(out, "unknown option"));
    CHECK(run_cmd("--config", out, sizeof out) == 2);
    CHECK(run_cmd("extra-arg", out, sizeof out) == 2);
    char path[256], args[1024];
    snprintf(path, sizeof path, "%s/check.toml", tmp);
    write_text(path, "beam_width = 3\nbogus_key = 1\n");
    snprintf(args, sizeof args, "--check-config --config '%s' --model '%s'", path, real_bin ? real_model : tmp);
    int rc = run_cmd(args, out, sizeof out);
    CHECKF(rc == 0, "--check-config exit %d: %.200s", rc, out);
    CHECK(strstr(out, "beam_width = 3") != NULL);
    CHECK(strstr(out, "unknown key 'bogus_key'") != NULL);
    write_text(path, "beam_width = 0\n");
    CHECK(run_cmd(args, out, sizeof out) == 1 && strstr(out, "check.toml:1: key 'beam_width'"));
    snprintf(args, sizeof args, "--check-config --config '%s/missing.toml'", tmp);
    CHECK(run_cmd(args, out, sizeof out) == 1);
}

static void typed_text_not_logged(void)
{
    daemon_proc d;
    if (daemon_start(&d, "quiet", "", "--verbose", 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    json_t *r = roundtrip(c, "{\"id\":1,\"op\":\"complete\",\"before\":\"my secret-typed-words\"}\n");
    json_decref(r);
    r = roundtrip(c, "{\"id\":2,\"op\":\"complete\",\"before\":\"secret-bad-json\",}\n");
    json_decref(r);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
    CHECK(!log_contains(&d, "secret-typed-words"));
    CHECK(!log_contains(&d, "secret-bad-json"));
    CHECK(log_contains(&d, "loaded")); /* the startup line says what was loaded and how long it took */
    CHECK(log_contains(&d, " ms"));
    /* log_requests = true: it is logged */
    if (daemon_start(&d, "loud", "log_requests = true", NULL, 1) != 0)
        FAIL_START();
    c = conn_open(d.sock);
    r = roundtrip(c, "{\"id\":1,\"op\":\"complete\",\"before\":\"my secret-typed-words\"}\n");
    json_decref(r);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
    CHECK(log_contains(&d, "secret-typed-words"));
}

/* --- the CLI's client (src/cli/client.c) ----------------------------------------------------------- */

static void cli_client(void)
{
    NEED_SHARED();
    char err[AC_ERR_SIZE];
    json_t *reply = NULL;
    json_t *req = json_pack("{s:s,s:s,s:i}", "op", "complete", "before", "from the client", "max_tokens", 3);
    int rc = ac_client_call(shared.sock, req, &reply, err);
    CHECKF(rc == AC_OK, "%s", err);
    CHECK(json_is_array(json_object_get(reply, "completions")));
    CHECK(json_object_get(req, "id") == NULL); /* the caller's object is left as it was */
    if (!real_bin)
        CHECK_STR(jstr(json_array_get(json_object_get(reply, "completions"), 0), "text"), " client_0");
    json_decref(reply);
    json_decref(req);
    /* an error reply: AC_E_ARG with the daemon's code and message, reply still set */
    req = json_pack("{s:s}", "op", "complete");
    rc = ac_client_call(shared.sock, req, &reply, err);
    CHECK(rc == AC_E_ARG && strstr(err, "daemon: bad_request:") && reply);
    json_decref(reply);
    /* nobody there: an error when a socket was asked for, "unavailable" when it was not */
    char nowhere[160];
    snprintf(nowhere, sizeof nowhere, "%s/nobody.sock", tmp);
    rc = ac_client_call(nowhere, req, &reply, err);
    CHECKF(rc == AC_E_IO && strstr(err, "no daemon is listening"), "rc %d: %s", rc, err);
    char runtime[160];
    snprintf(runtime, sizeof runtime, "%s/empty-runtime", tmp);
    mkdir(runtime, 0700);
    setenv("XDG_RUNTIME_DIR", runtime, 1);
    unsetenv("AUTOCORRECT_SOCKET");
    rc = ac_client_call(NULL, req, &reply, err);
    CHECKF(rc == AC_CLIENT_UNAVAILABLE, "rc %d: %s", rc, err);
    /* $AUTOCORRECT_SOCKET routes without --socket */
    setenv("AUTOCORRECT_SOCKET", shared.sock, 1);
    json_decref(req);
    req = json_pack("{s:s,s:i}", "op", "health", "id", 77);
    rc = ac_client_call(NULL, req, &reply, err);
    CHECK(rc == AC_OK && jint(reply, "id") == 77);
    json_decref(reply);
    json_decref(req);
    unsetenv("AUTOCORRECT_SOCKET");
    unsetenv("XDG_RUNTIME_DIR");
    /* corrections applied to the text they came from */
    const char *line = "I saw teh brwn dog";
    req = json_pack("{s:s,s:s}", "op", "correct", "before", line);
    rc = ac_client_call(shared.sock, req, &reply, err);
    CHECKF(rc == AC_OK, "%s", err);
    ac_buf fixed = {0};
    CHECK(ac_client_apply_corrections(line, strlen(line), json_object_get(reply, "corrections"), &fixed) == AC_OK);
    if (!real_bin)
        CHECK_STR(fixed.data, "I saw the brown dog");
    ac_buf_free(&fixed);
    json_decref(reply);
    json_decref(req);
    json_t *bad = json_loads("[{\"start\":5,\"end\":3,\"replacement\":\"x\"}]", 0, NULL);
    CHECK(ac_client_apply_corrections(line, strlen(line), bad, &fixed) == AC_E_ARG && fixed.len == 0);
    json_decref(bad);
    /* option stripping */
    char *argv[] = {"complete", "--socket", "/x.sock", "--beams", "3", "--no-daemon", "--socket=/y", "--", "--socket",
                    "text", NULL};
    const char *sock = NULL;
    int no_daemon = 0;
    int argc = ac_client_take_options(10, argv, &sock, &no_daemon);
    CHECK(argc == 6 && no_daemon && sock && !strcmp(sock, "/y"));
    CHECK(!strcmp(argv[1], "--beams") && !strcmp(argv[3], "--") && !strcmp(argv[4], "--socket") && argv[6] == NULL);
}

/* --- main ------------------------------------------------------------------------------------- */

/* check.h's RUN, with "_real" after the name in the pass against the real daemon. */
#define RUN_M(fn) do { \
        check__test_failed = 0; check__test_skipped = 0; check__first[0] = 0; \
        fn(); \
        report(#fn); \
    } while (0)

static void report(const char *name)
{
    const char *sfx = real_bin ? "_real" : "";
    if (check__test_failed) {
        check__failed_tests++;
        printf("FAIL: %s%s: %s\n", name, sfx, check__first);
    } else if (check__test_skipped) {
        printf("SKIP: %s%s: %s\n", name, sfx, check__first);
    } else {
        printf("PASS: %s%s\n", name, sfx);
    }
    fflush(stdout);
}

static void run_all(void)
{
    if (daemon_start(&shared, real_bin ? "shared_real" : "shared", "", NULL, 1) != 0) {
        printf("FAIL: start_shared_daemon: see %s\n", shared.log);
        check__failed_tests++;
    }
    RUN_M(complete_basic);
    RUN_M(other_ops);
    RUN_M(learn_op);
    RUN_M(split_writes);
    RUN_M(pipelined_requests);
    RUN_M(bad_json_keeps_connection);
    RUN_M(plain_text_socket);
    RUN_M(plain_text_with_nc);
    if (!real_bin) /* the fake's answers hold the control characters */
        RUN_M(plain_text_controls);
    RUN_M(cli_client);
    if (shared.pid) {
        int rc = daemon_stop(&shared);
        if (rc != 0) {
            printf("FAIL: stop_shared_daemon: exit status %d\n", rc);
            check__failed_tests++;
        }
    }
    RUN_M(overlong_line_closes);
    RUN_M(sigterm_finishes_in_flight);
    RUN_M(sighup_reloads_config);
    RUN_M(http_endpoints);
    RUN_M(http_token_required);
    RUN_M(command_line);
    RUN_M(typed_text_not_logged);
    if (!real_bin) { /* these need the fake's slow requests or load counter */
        RUN_M(supersession_and_cancel);
        RUN_M(disconnect_mid_request);
        RUN_M(max_clients_limit);
        RUN_M(socket_file_rules);
        RUN_M(sighup_while_busy);
        RUN_M(peer_uid_refused);
        RUN_M(peer_refusals_rate_limited);
        RUN_M(root_peer_allowed);
    }
}

/* The real daemon's variants of the tests are named with a _real suffix in the output. */
static void real_supersession(void)
{
    /* with the real model: two requests of one session in one write; the first is superseded
     * (cancelled while queued or running) unless it finished first, and the second always answers */
    daemon_proc d;
    if (daemon_start(&d, "super_real", "workers = 1", NULL, 1) != 0)
        FAIL_START();
    conn *c = conn_open(d.sock);
    CHECK(conn_send(c, "{\"id\":1,\"session\":\"s\",\"op\":\"complete\",\"before\":\"Once upon a time\",\"max_tokens\":16}\n"
                       "{\"id\":2,\"session\":\"s\",\"op\":\"complete\",\"before\":\"Once upon a time there\"}\n") == 0);
    json_t *a = conn_json(c, 10), *b = conn_json(c, 10);
    json_t *r2 = jint(a, "id") == 2 ? a : b, *r1 = jint(a, "id") == 2 ? b : a;
    CHECK(r1 && (json_is_true(json_object_get(r1, "cancelled")) || json_object_get(r1, "completions")));
    CHECK(r2 && json_object_get(r2, "completions"));
    json_decref(a);
    json_decref(b);
    conn_close(c);
    CHECK(daemon_stop(&d) == 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--serve"))
        return ac__daemon_main(argc - 1, argv + 1, &fake_backend_ops);
    signal(SIGPIPE, SIG_IGN);
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) {
        printf("FAIL: setup: cannot find /proc/self/exe\n");
        return 1;
    }
    self_exe[n] = 0;
    snprintf(tmp, sizeof tmp, "/tmp/ac_test_daemon_XXXXXX");
    if (!mkdtemp(tmp)) {
        printf("FAIL: setup: mkdtemp\n");
        return 1;
    }
    unsetenv("XDG_CONFIG_HOME");
    setenv("XDG_DATA_HOME", tmp, 1); /* the real backend's `learn` writes its user dictionary here */

    run_all();

    /* again with the real daemon and the tiny fixture model, when both exist */
    const char *build = getenv("AC_TEST_BUILD") ? getenv("AC_TEST_BUILD") : "build";
    static char bin[PATH_MAX];
    snprintf(bin, sizeof bin, "%s/bin/autocorrectd", build);
    char model_dir[PATH_MAX];
    if (realpath("tests/fixtures/tiny", model_dir) && strlen(model_dir) < sizeof real_model && access(bin, X_OK) == 0) {
        memcpy(real_model, model_dir, strlen(model_dir) + 1);
        real_bin = bin;
        printf("# the same tests against %s with %s\n", bin, real_model);
        fflush(stdout);
        run_all();
        RUN(real_supersession);
    } else {
        printf("SKIP: real_daemon: %s or tests/fixtures/tiny is missing (run from the repository root after make)\n",
               bin);
    }

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (CHECK_EXIT_CODE() == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_EXIT_CODE();
}
