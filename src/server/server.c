/* server.c: the event loop, socket clients, the worker pool, sessions, reload and shutdown
 * (see server.h for the design). Not here: JSON (protocol.c), HTTP (http.c), the socket file's
 * checks (sock.c), the inference (the backend).
 *
 * Ownership and threads, the rules everything below keeps:
 *   - `mu` guards the job lists, the sessions, the backend pointers and their reference counts,
 *     the done list and the live config fields other threads read (limits). Nothing slow runs
 *     under it: no backend call, no I/O, no JSON parsing.
 *   - Clients belong to the loop thread only. A job points at its client; the client counts its
 *     jobs (`refs`, loop thread only: jobs are created and delivered there) and is freed only by
 *     the loop's sweep, once it is dead and no job points at it: never inside its own callback.
 *   - A job is in exactly one place: the active list (queued or running), a worker's hands, the
 *     done list, or (HTTP) its waiting thread's hands.
 */
#include "server/server.h"

#include "server/http.h"
#include "server/log.h"
#include "server/sock.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define PLAIN_PAUSE_S 0.2           /* a plain-text request with no newline ends after this pause */
#define CLIENT_MAX_INFLIGHT 128      /* a client with this many requests running stops being read */
#define CLIENT_OUT_SOFT (4u << 20)   /* ... or with this many reply bytes unread */
#define CLIENT_OUT_HARD (64u << 20)  /* a client this far behind is disconnected */
#define DRAIN_TIMEOUT_S 10.0         /* SIGTERM: how long in-flight work may take to finish */
#define REFUSAL_LOG_INTERVAL_S 1.0   /* refused peer connections: one log line a second at most */

enum handle_kind { H_LISTEN = 1, H_SIGNAL, H_WAKE, H_CLIENT };
enum client_mode { M_UNKNOWN = 0, M_JSON, M_PLAIN };
enum job_format { FMT_JSON, FMT_PLAIN, FMT_SYNC };

typedef struct handle {
    int kind; /* enum handle_kind: the first member of every epoll-registered thing */
} handle;

typedef struct client {
    int kind;               /* H_CLIENT */
    int fd;                 /* -1 once closed */
    unsigned long long id;  /* for the log */
    int mode;               /* enum client_mode, fixed by the first byte */
    ac_buf in;              /* bytes read and not yet parsed */
    ac_buf out;             /* reply bytes; out.data[out_pos..out.len) still to send */
    size_t out_pos;
    int refs;               /* jobs that point at this client */
    int eof;                /* the peer shut down its sending side */
    int closing;            /* close once the replies are flushed (plain mode done, framing error) */
    int dead;               /* fd closed; freed by the sweep when refs == 0 */
    int plain_sent;         /* plain mode: the request is submitted; ignore further input */
    double plain_deadline;  /* plain mode: submit at this time if no newline came (0 = unset) */
    uint32_t events;        /* the epoll mask registered now */
    struct client *prev, *next;
} client;

typedef struct backend_inst {
    const ac_backend_ops *ops;
    void *state;
    int refs;                  /* jobs using it, +1 while it is the current one (under mu) */
    char desc[256];
    double load_ms;
    struct backend_inst *dead_next; /* on a list of instances to free once mu is released */
} backend_inst;

typedef struct session {
    char name[AC_SESSION_MAX];
    int running;               /* a request of this session is on a worker */
    int n_jobs;                /* its active jobs; freed at 0 */
    struct session *next;
} session;

typedef struct job job;
struct job {
    ac_request req;
    ac_reply rep;
    int status;                /* AC_OK, AC_E_CANCELLED or an error */
    const char *code;          /* error code when the server (not the backend) failed it */
    char err[AC_ERR_SIZE];
    atomic_int cancel;         /* enum ac_cancel_reason; set by other threads */
    int format;                /* enum job_format */
    client *client;            /* FMT_JSON, FMT_PLAIN: the owner */
    backend_inst *backend;
    session *sess;             /* NULL when the request has no session */
    int started, finished;
    double t_submit, t_start, t_end;
    char *out;                 /* the rendered reply (socket jobs) */
    size_t out_len;
    job *prev, *next;          /* active list */
    job *done_next;            /* done list */
};

typedef struct reload_result {
    int rc;
    char err[AC_ERR_SIZE];
    ac_config cfg;
    backend_inst *inst;
} reload_result;

struct ac__server {
    ac__server_params params;
    char config_path[AC_CONFIG_PATH_MAX];
    char model_override[AC_CONFIG_PATH_MAX];
    char socket_path[AC_SOCKET_PATH_MAX];
    ac_config cfg;             /* the loop thread's copy; `lim` is what other threads read */
    ac__limits lim;            /* under mu */

    pthread_mutex_t mu;
    pthread_cond_t work_cv;    /* a job was queued, a session freed, or stop */
    pthread_cond_t sync_cv;    /* an HTTP job finished */
    job *active_head, *active_tail;
    int n_queued, n_running;
    session *sessions;
    job *done_head, *done_tail;
    backend_inst *current;
    int stop_workers;
    int accepting;             /* 0 while draining: new work is refused */
    pthread_t *workers;
    int n_workers;

    int epfd, listen_fd, sig_fd, wake_fd;
    handle h_listen, h_signal, h_wake;
    ac__sock_file sock_file;
    int own_socket_file;
    client *clients;
    int n_clients;
    unsigned long long next_client_id;
    int draining;
    double drain_deadline;

    ac__http *http;
    int http_port;

    pthread_t loader;
    int loader_running, reload_pending;
    atomic_int loader_done;
    reload_result *reload;

    double started;
    atomic_long n_requests, n_errors, n_cancelled, n_reloads;
    ac__log_limit refusal_log; /* refused peers: one log line a second at most (the loop thread) */
};

/* --- small helpers ---------------------------------------------------------------------------- */

static void wake_loop(ac__server *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->wake_fd, &one, sizeof one);
    (void)w; /* an eventfd write fails only when the counter would overflow: it is already awake */
}

static int is_inference(int op)
{
    return op == AC_OP_COMPLETE || op == AC_OP_CORRECT || op == AC_OP_TOPK;
}

static backend_inst *backend_acquire_locked(ac__server *s)
{
    if (s->current)
        s->current->refs++;
    return s->current;
}

/* Drops a reference; returns the instance when it must be freed (by the caller, outside mu). */
static backend_inst *backend_release_locked(backend_inst *b)
{
    if (b && --b->refs == 0)
        return b;
    return NULL;
}

/* Frees b and every instance chained after it on dead_next. */
static void backend_free(backend_inst *b)
{
    while (b) {
        backend_inst *next = b->dead_next;
        b->ops->free(b->state);
        free(b);
        b = next;
    }
}

/* Adds a dying instance (may be NULL) to a list freed later with backend_free. */
static void bury(backend_inst **list, backend_inst *b)
{
    if (b) {
        b->dead_next = *list;
        *list = b;
    }
}

static backend_inst *backend_load(const ac_backend_ops *ops, const ac_config *cfg, char *err)
{
    backend_inst *b = calloc(1, sizeof *b);
    if (!b) {
        ac__errorf(err, AC_E_NOMEM, "out of memory");
        return NULL;
    }
    b->ops = ops;
    double t0 = ac_now();
    if (ops->load(cfg, &b->state, err) != AC_OK) {
        free(b);
        return NULL;
    }
    b->load_ms = (ac_now() - t0) * 1000;
    b->refs = 1; /* the "current" reference */
    if (ops->describe)
        ops->describe(b->state, b->desc, sizeof b->desc);
    else
        snprintf(b->desc, sizeof b->desc, "%s backend", ops->name);
    return b;
}

static void job_free(job *j)
{
    ac__request_free(&j->req);
    ac__reply_free(&j->rep);
    free(j->out);
    free(j);
}

/* --- the job lists (all under mu) -------------------------------------------------------------- */

static session *session_get_locked(ac__server *s, const char *name)
{
    for (session *x = s->sessions; x; x = x->next)
        if (!strcmp(x->name, name))
            return x;
    session *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->next = s->sessions;
    s->sessions = x;
    return x;
}

static void session_put_locked(ac__server *s, session *x)
{
    if (!x || --x->n_jobs > 0)
        return;
    for (session **p = &s->sessions; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            free(x);
            return;
        }
}

static void active_remove_locked(ac__server *s, job *j)
{
    if (j->prev) j->prev->next = j->next; else s->active_head = j->next;
    if (j->next) j->next->prev = j->prev; else s->active_tail = j->prev;
    j->prev = j->next = NULL;
}

/* A job is done (ran, failed or was cancelled before it ran): take it off the lists and hand it to
 * whoever waits for it. Returns a backend instance to free outside the lock, or NULL. */
static backend_inst *finish_locked(ac__server *s, job *j)
{
    if (!j->started)
        s->n_queued--;
    active_remove_locked(s, j);
    session_put_locked(s, j->sess);
    j->sess = NULL;
    backend_inst *dead = backend_release_locked(j->backend);
    j->backend = NULL;
    if (j->status == AC_E_CANCELLED)
        atomic_fetch_add(&s->n_cancelled, 1);
    else if (j->status != AC_OK)
        atomic_fetch_add(&s->n_errors, 1);
    if (j->format == FMT_SYNC) {
        j->finished = 1;
        pthread_cond_broadcast(&s->sync_cv);
    } else {
        j->done_next = NULL;
        if (s->done_tail) s->done_tail->done_next = j; else s->done_head = j;
        s->done_tail = j;
        wake_loop(s);
    }
    return dead;
}

/* Cancels an active job: a queued one is finished now, a running one is told to stop. */
static backend_inst *cancel_locked(ac__server *s, job *j, int reason)
{
    int none = AC_CANCEL_NONE;
    atomic_compare_exchange_strong(&j->cancel, &none, reason);
    if (j->started)
        return NULL;
    j->status = AC_E_CANCELLED;
    return finish_locked(s, j);
}

/* Queues a job. Returns AC_OK, or an error with j->code and j->err set (the job is then not queued
 * and still the caller's). */
static int submit_locked(ac__server *s, job *j, backend_inst **to_free)
{
    *to_free = NULL;
    if (!s->accepting) {
        j->code = "shutting_down";
        return ac__errorf(j->err, AC_E_UNSUPPORTED, "the daemon is shutting down");
    }
    if (!s->current) {
        j->code = "unavailable";
        return ac__errorf(j->err, AC_E_UNSUPPORTED, "no model is loaded");
    }
    if (s->n_queued >= s->cfg.max_queue) {
        j->code = "busy";
        return ac__errorf(j->err, AC_E_LIMIT, "%d requests are waiting: over the max_queue limit", s->n_queued);
    }
    if (j->req.session[0]) {
        j->sess = session_get_locked(s, j->req.session);
        if (!j->sess) {
            j->code = "internal";
            return ac__errorf(j->err, AC_E_NOMEM, "out of memory");
        }
        j->sess->n_jobs++; /* before superseding: finishing the others must not free the session */
        if (is_inference(j->req.op)) {
            /* supersede the session's earlier inference requests */
            for (job *o = s->active_head, *next; o; o = next) {
                next = o->next;
                if (o->sess == j->sess && is_inference(o->req.op))
                    bury(to_free, cancel_locked(s, o, AC_CANCEL_SUPERSEDED));
            }
        }
    }
    j->backend = backend_acquire_locked(s);
    j->t_submit = ac_now();
    j->prev = s->active_tail;
    j->next = NULL;
    if (s->active_tail) s->active_tail->next = j; else s->active_head = j;
    s->active_tail = j;
    s->n_queued++;
    pthread_cond_signal(&s->work_cv);
    return AC_OK;
}

/* The first queued job whose session is not busy. */
static job *pick_locked(ac__server *s)
{
    for (job *j = s->active_head; j; j = j->next)
        if (!j->started && (!j->sess || !j->sess->running))
            return j;
    return NULL;
}

/* --- workers ---------------------------------------------------------------------------------- */

static void render(job *j)
{
    if (j->format == FMT_PLAIN) {
        if (j->status == AC_OK)
            j->out = ac__reply_plain(&j->rep, NULL, &j->out_len);
        else if (j->status == AC_E_CANCELLED)
            j->out = ac__reply_plain(NULL, NULL, &j->out_len);
        else
            j->out = ac__reply_plain(NULL, j->err, &j->out_len);
        return;
    }
    json_t *o;
    if (j->status == AC_OK) {
        ac__timings t = {(j->t_start - j->t_submit) * 1000, (j->t_end - j->t_start) * 1000};
        o = ac__reply_to_json(&j->req, &j->rep, &t);
    } else if (j->status == AC_E_CANCELLED) {
        o = ac__cancelled_json(j->req.id, atomic_load(&j->cancel));
    } else {
        o = ac__error_json(j->req.id, j->code ? j->code : ac__backend_error_code(j->status), j->err);
    }
    j->out = ac__json_line(o, &j->out_len);
}

static void run_job(job *j)
{
    const ac_backend_ops *ops = j->backend->ops;
    void *st = j->backend->state;
    ac_request *r = &j->req;
    r->deadline = j->t_start + r->deadline_ms / 1000.0;
    int rc = AC_OK;
    j->err[0] = 0;
    switch (r->op) {
    case AC_OP_COMPLETE:
    case AC_OP_CORRECT:
        if (r->want_corrections)
            rc = ops->correct(st, r, &j->cancel, &j->rep, j->err);
        if (rc == AC_OK && r->want_completions && !atomic_load(&j->cancel))
            rc = ops->complete(st, r, &j->cancel, &j->rep, j->err);
        break;
    case AC_OP_TOPK: rc = ops->topk(st, r, &j->cancel, &j->rep, j->err); break;
    case AC_OP_TOKENIZE: rc = ops->tokenize(st, r, &j->cancel, &j->rep, j->err); break;
    case AC_OP_DETOKENIZE: rc = ops->detokenize(st, r, &j->cancel, &j->rep, j->err); break;
    case AC_OP_LEARN: rc = ops->learn(st, r, &j->cancel, &j->rep, j->err); break;
    default: rc = ac__errorf(j->err, AC_E_UNSUPPORTED, "op %s does not run on a worker", ac__op_name(r->op));
    }
    if (atomic_load(&j->cancel))
        rc = AC_E_CANCELLED; /* superseded or cancelled before it finished: the reply says so */
    if (rc == AC_OK && r->n_stop)
        ac__reply_apply_stops(r, &j->rep, NULL);
    if (rc != AC_OK && rc != AC_E_CANCELLED && !j->err[0])
        snprintf(j->err, sizeof j->err, "%s failed (%s)", ac__op_name(r->op), ac_status_name(rc));
    j->status = rc;
    j->t_end = ac_now();
    if (j->format != FMT_SYNC)
        render(j);
}

static void *worker_main(void *arg)
{
    ac__server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        job *j;
        while (!s->stop_workers && !(j = pick_locked(s)))
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (s->stop_workers)
            break;
        j->started = 1;
        j->t_start = ac_now();
        s->n_queued--;
        s->n_running++;
        if (j->sess)
            j->sess->running = 1;
        pthread_mutex_unlock(&s->mu);

        run_job(j);

        pthread_mutex_lock(&s->mu);
        s->n_running--;
        int had_session = j->sess != NULL;
        if (j->sess)
            j->sess->running = 0;
        j->started = 1; /* finish_locked must not count it as queued */
        backend_inst *dead = finish_locked(s, j);
        if (had_session)
            pthread_cond_broadcast(&s->work_cv); /* a job waiting for this session may go now */
        if (dead) {
            pthread_mutex_unlock(&s->mu);
            ac__log("freeing the previous model");
            backend_free(dead);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* --- clients (loop thread) -------------------------------------------------------------------- */

static size_t out_pending(const client *c)
{
    return c->out.len - c->out_pos;
}

/* Nothing left to do for this client: replies sent, no request running or waiting in its input,
 * and it is finished (closing) or has stopped sending (eof). */
static int client_finished(const client *c)
{
    int input_waiting = c->mode == M_JSON && c->in.len && !c->closing;
    return !out_pending(c) && !c->refs && !input_waiting && (c->closing || c->eof);
}

static void client_update_events(ac__server *s, client *c)
{
    if (c->dead)
        return;
    uint32_t want = 0;
    int reading = !c->eof && !c->closing && !s->draining && !(c->mode == M_PLAIN && c->plain_sent) &&
                  c->refs < CLIENT_MAX_INFLIGHT && out_pending(c) < CLIENT_OUT_SOFT;
    if (reading)
        want |= EPOLLIN | EPOLLRDHUP;
    if (out_pending(c))
        want |= EPOLLOUT;
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = want;
}

/* Closes the connection now; cancels its jobs. The struct lives on until the sweep. */
static void client_kill(ac__server *s, client *c, const char *why)
{
    if (c->dead)
        return;
    if (why && s->params.verbose)
        ac__log("client %llu: %s", c->id, why);
    c->dead = 1;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->refs) {
        backend_inst *to_free = NULL;
        pthread_mutex_lock(&s->mu);
        for (job *j = s->active_head, *next; j; j = next) {
            next = j->next;
            if (j->client == c)
                bury(&to_free, cancel_locked(s, j, AC_CANCEL_CLIENT_GONE));
        }
        pthread_mutex_unlock(&s->mu);
        backend_free(to_free);
    }
}

static void client_flush(ac__server *s, client *c)
{
    while (!c->dead && out_pending(c)) {
        ssize_t n = send(c->fd, c->out.data + c->out_pos, out_pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_pos += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        client_kill(s, c, "write failed (peer gone)");
        return;
    }
    if (c->dead)
        return;
    if (c->out_pos == c->out.len) {
        c->out.len = c->out_pos = 0;
    } else if (c->out_pos > (1u << 20)) {
        ac_buf_consume(&c->out, c->out_pos);
        c->out_pos = 0;
    }
    if (client_finished(c)) {
        client_kill(s, c, NULL); /* everything answered: a normal close */
        return;
    }
    client_update_events(s, c);
}

static void client_send(ac__server *s, client *c, const char *data, size_t len)
{
    if (c->dead || !data)
        return;
    if (out_pending(c) + len > CLIENT_OUT_HARD) {
        client_kill(s, c, "not reading its replies");
        return;
    }
    if (ac_buf_append(&c->out, data, len) != AC_OK) {
        client_kill(s, c, "out of memory");
        return;
    }
    client_flush(s, c);
}

static void client_send_json(ac__server *s, client *c, json_t *o)
{
    size_t len;
    char *line = ac__json_line(o, &len);
    client_send(s, c, line, len);
    free(line);
}

static void client_send_error(ac__server *s, client *c, json_t *id, const char *code, const char *msg)
{
    client_send_json(s, c, ac__error_json(id, code, msg));
}

/* Queues a job for a socket client, or answers its error at once. */
static void client_submit(ac__server *s, client *c, job *j)
{
    j->client = c;
    backend_inst *to_free = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = submit_locked(s, j, &to_free);
    pthread_mutex_unlock(&s->mu);
    backend_free(to_free);
    if (rc == AC_OK) {
        c->refs++;
        return;
    }
    atomic_fetch_add(&s->n_errors, 1);
    if (j->format == FMT_PLAIN) {
        size_t len;
        char *t = ac__reply_plain(NULL, j->err, &len);
        client_send(s, c, t, len);
        free(t);
    } else {
        client_send_error(s, c, j->req.id, j->code, j->err);
    }
    job_free(j);
}

static int cancel_requests(ac__server *s, client *c, const ac_request *req)
{
    int found = 0;
    backend_inst *to_free = NULL;
    pthread_mutex_lock(&s->mu);
    for (job *j = s->active_head, *next; j; j = next) {
        next = j->next;
        int match = req->target ? (j->client == c && j->req.id && json_equal(j->req.id, req->target))
                                : (j->req.session[0] && !strcmp(j->req.session, req->session) &&
                                   is_inference(j->req.op));
        if (match) {
            found++;
            bury(&to_free, cancel_locked(s, j, AC_CANCEL_REQUESTED));
        }
    }
    pthread_mutex_unlock(&s->mu);
    backend_free(to_free);
    return found;
}

static void handle_line(ac__server *s, client *c, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len)
        return; /* blank lines are allowed between requests */
    atomic_fetch_add(&s->n_requests, 1);
    if (s->cfg.log_requests)
        ac__log("client %llu request: %.*s", c->id, (int)(len > 1500 ? 1500 : len), line);
    job *j = calloc(1, sizeof *j);
    if (!j) {
        client_kill(s, c, "out of memory");
        return;
    }
    const char *code = NULL;
    int rc = ac__request_parse_line(line, len, &s->lim, &j->req, &code, j->err);
    if (rc != AC_OK) {
        atomic_fetch_add(&s->n_errors, 1);
        if (s->params.verbose) /* the code only: a message may quote the request ("near 'word'", an op name) */
            ac__log("client %llu: refused a %zu-byte request: %s", c->id, len, code);
        client_send_error(s, c, j->req.id, code, j->err);
        if (!strcmp(code, "too_large"))
            c->closing = 1;
        job_free(j);
        return;
    }
    switch (j->req.op) {
    case AC_OP_INFO:
    case AC_OP_HEALTH:
        client_send_json(s, c, ac__server_info(s, j->req.id, j->req.op == AC_OP_INFO));
        job_free(j);
        return;
    case AC_OP_CANCEL: {
        int found = cancel_requests(s, c, &j->req);
        client_send_json(s, c, json_pack("{s:O,s:i}", "id", j->req.id ? j->req.id : json_null(), "found", found));
        job_free(j);
        return;
    }
    default:
        j->format = FMT_JSON;
        client_submit(s, c, j);
    }
}

static void plain_submit(ac__server *s, client *c, size_t len)
{
    c->plain_sent = 1;
    c->plain_deadline = 0;
    while (len && (c->in.data[len - 1] == '\n' || c->in.data[len - 1] == '\r'))
        len--;
    atomic_fetch_add(&s->n_requests, 1);
    if (s->cfg.log_requests)
        ac__log("client %llu plain request: %.*s", c->id, (int)(len > 1500 ? 1500 : len), c->in.data);
    job *j = calloc(1, sizeof *j);
    char *text = malloc(len + 1);
    char *after = calloc(1, 1);
    if (!j || !text || !after) {
        free(j);
        free(text);
        free(after);
        client_kill(s, c, "out of memory");
        return;
    }
    memcpy(text, c->in.data, len);
    text[len] = 0;
    ac_request *r = &j->req;
    r->op = AC_OP_COMPLETE;
    r->before = text;
    r->before_len = len;
    r->after = after;
    r->want_completions = true;
    r->max_tokens = s->lim.default_max_tokens;
    r->beams = s->lim.beam_width;
    r->n = ac__limits_default_n(&s->lim, r->beams);
    r->use_cache = s->lim.cache;
    r->deadline_ms = s->lim.deadline_ms;
    r->stop_rule = -1;
    /* No abstaining here: someone typed this at a terminal (echo -n text | nc -U) and an empty
     * answer reads as a broken daemon; the editor clients keep the confidence threshold. */
    r->min_score = -INFINITY;
    r->scope = 1;
    r->last_words = 3;
    j->format = FMT_PLAIN;
    c->closing = 1; /* one request per plain connection: close after the reply */
    ac_buf_consume(&c->in, c->in.len);
    client_submit(s, c, j);
}

static void client_process_input(ac__server *s, client *c)
{
    if (c->dead)
        return;
    if (c->mode == M_UNKNOWN && c->in.len)
        c->mode = c->in.data[0] == '{' ? M_JSON : M_PLAIN;
    if (c->mode == M_PLAIN) {
        if (c->plain_sent) {
            ac_buf_consume(&c->in, c->in.len);
            return;
        }
        char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
        size_t len = nl ? (size_t)(nl - c->in.data) : c->in.len;
        if (len > s->lim.max_line_bytes) {
            char msg[128];
            snprintf(msg, sizeof msg, "error: request is over the max_line_bytes limit of %zu bytes\n",
                     s->lim.max_line_bytes);
            c->plain_sent = 1;
            c->closing = 1;
            client_send(s, c, msg, strlen(msg));
            return;
        }
        if (nl || (c->eof && c->in.len))
            plain_submit(s, c, len);
        else if (c->in.len)
            c->plain_deadline = ac_now() + PLAIN_PAUSE_S; /* restarted by every new byte */
        return;
    }
    if (c->mode != M_JSON)
        return;
    size_t start = 0;
    /* a client with many requests in flight waits: its lines stay in `in` until replies go out */
    while (!c->closing && !c->dead && c->refs < CLIENT_MAX_INFLIGHT) {
        char *nl = memchr(c->in.data + start, '\n', c->in.len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in.data + start));
        handle_line(s, c, c->in.data + start, len);
        start += len + 1;
    }
    if (c->dead)
        return;
    if (c->closing) {
        ac_buf_consume(&c->in, c->in.len); /* after a framing error, the rest is not read */
        return;
    }
    ac_buf_consume(&c->in, start);
    size_t scan = c->in.len < s->lim.max_line_bytes + 1 ? c->in.len : s->lim.max_line_bytes + 1;
    if (c->in.len > s->lim.max_line_bytes && !memchr(c->in.data, '\n', scan)) { /* the next line is too long */
        char msg[160];
        snprintf(msg, sizeof msg, "request line is over the max_line_bytes limit of %zu bytes; closing the connection",
                 s->lim.max_line_bytes);
        atomic_fetch_add(&s->n_errors, 1);
        client_send_error(s, c, NULL, "too_large", msg);
        c->closing = 1;
        ac_buf_consume(&c->in, c->in.len);
        return;
    }
    if (c->eof && c->in.len && c->refs < CLIENT_MAX_INFLIGHT && !memchr(c->in.data, '\n', c->in.len)) {
        /* the last request may end without a newline */
        handle_line(s, c, c->in.data, c->in.len);
        ac_buf_consume(&c->in, c->in.len);
    }
}

static void client_read(ac__server *s, client *c)
{
    for (int round = 0; round < 16 && !c->dead && !c->eof && !c->closing && c->refs < CLIENT_MAX_INFLIGHT; round++) {
        if (ac_buf_reserve(&c->in, READ_CHUNK) != AC_OK) {
            client_kill(s, c, "out of memory");
            return;
        }
        ssize_t n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, MSG_DONTWAIT);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.data[c->in.len] = 0;
            client_process_input(s, c);
            if (c->mode == M_PLAIN && c->plain_sent)
                break;
            continue;
        }
        if (n == 0) {
            c->eof = 1;
            client_process_input(s, c);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        client_kill(s, c, "read failed");
        return;
    }
    if (c->dead)
        return;
    if (client_finished(c)) {
        client_kill(s, c, NULL);
        return;
    }
    client_update_events(s, c);
}

/* Sends a new connection one error line, if it can take it at once, and closes it. */
static void refuse_connection(int fd, const char *code, const char *message)
{
    char *line = ac__json_line(ac__error_json(NULL, code, message), NULL);
    if (line) {
        ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        free(line);
    }
    close(fd);
}

static void accept_clients(ac__server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                ac__log("accept: %s", strerror(errno));
            return;
        }
        /* another user's process (the socket's mode or directory let it in): refused before a
         * byte is read, so nothing it sent can reach the log */
        uid_t peer = 0, self = geteuid();
        int pe = ac__sock_peer_uid(fd, &peer);
        if (pe != 0 || !ac__sock_peer_allowed(peer, self)) {
            /* a local user could connect in a loop: one line a second, and the count of the rest */
            unsigned long held = 0;
            char more[96] = "";
            if (ac__log_limit_pass(&s->refusal_log, ac_now(), &held)) {
                if (held)
                    snprintf(more, sizeof more,
                             " (and %lu more refused connections not logged since the last such line)", held);
                if (pe != 0)
                    ac__log("client refused: cannot read its user id: %s%s", strerror(-pe), more);
                else
                    ac__log("client refused: uid %u is not this daemon's user (uid %u)%s", (unsigned)peer,
                            (unsigned)self, more);
            }
            refuse_connection(fd, "forbidden", "this daemon serves only the user who runs it");
            continue;
        }
        if (s->n_clients >= s->cfg.max_clients) {
            refuse_connection(fd, "too_many_clients", "too many clients are connected (the max_clients limit)");
            continue;
        }
        client *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->kind = H_CLIENT;
        c->fd = fd;
        c->id = ++s->next_client_id;
        c->events = EPOLLIN | EPOLLRDHUP;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->clients;
        if (s->clients)
            s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
    }
}

/* Frees dead clients no job points at any more: the loop's one safe point for it. */
static void sweep_clients(ac__server *s)
{
    for (client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (!c->dead || c->refs)
            continue;
        if (c->prev) c->prev->next = c->next; else s->clients = c->next;
        if (c->next) c->next->prev = c->prev;
        ac_buf_free(&c->in);
        ac_buf_free(&c->out);
        free(c);
        s->n_clients--;
    }
}

/* Hands finished socket jobs to their clients. */
static void deliver_done(ac__server *s)
{
    pthread_mutex_lock(&s->mu);
    job *list = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        job *j = list;
        list = j->done_next;
        client *c = j->client;
        c->refs--;
        if (!j->out)
            render(j);
        if (s->params.verbose)
            ac__log("client %llu: %s %s in %.2f ms (queued %.2f ms)", c->id, ac__op_name(j->req.op),
                    j->status == AC_OK ? "ok" : j->status == AC_E_CANCELLED ? "cancelled" : "failed",
                    j->t_end > 0 ? (j->t_end - j->t_start) * 1000 : 0.0,
                    j->t_start > 0 ? (j->t_start - j->t_submit) * 1000 : 0.0);
        if (!c->dead) {
            client_send(s, c, j->out, j->out_len);
            if (!c->dead && c->mode == M_JSON && c->in.len && !c->closing)
                client_process_input(s, c); /* requests held back while it had too many in flight */
            if (!c->dead)
                client_flush(s, c); /* closes a finished plain or half-closed client */
        }
        job_free(j);
    }
}

/* --- reload (SIGHUP) ---------------------------------------------------------------------------- */

static void reload_warn(void *user, const char *msg)
{
    (void)user;
    ac__log("warning: %s", msg);
}

static void *loader_main(void *arg)
{
    ac__server *s = arg;
    reload_result *r = s->reload;
    r->rc = ac_config_load(s->config_path[0] ? s->config_path : NULL, &r->cfg, reload_warn, NULL, r->err);
    if (r->rc == AC_OK && s->model_override[0])
        snprintf(r->cfg.model_path, sizeof r->cfg.model_path, "%s", s->model_override);
    if (r->rc == AC_OK && !r->cfg.model_path[0])
        r->rc = ac__errorf(r->err, AC_E_IO, "no model_path is configured and the default model was not found");
    if (r->rc == AC_OK) {
        r->inst = backend_load(s->params.ops, &r->cfg, r->err);
        if (!r->inst)
            r->rc = AC_E_IO;
    }
    atomic_store(&s->loader_done, 1);
    wake_loop(s);
    return NULL;
}

static void reload_start(ac__server *s)
{
    if (s->loader_running) {
        s->reload_pending = 1;
        return;
    }
    s->reload = calloc(1, sizeof *s->reload);
    if (!s->reload) {
        ac__log("reload: out of memory");
        return;
    }
    ac__log("SIGHUP: reloading the config%s%s and the model", s->config_path[0] ? " from " : "",
            s->config_path);
    atomic_store(&s->loader_done, 0);
    if (pthread_create(&s->loader, NULL, loader_main, s) != 0) {
        ac__log("reload: cannot start a thread: %s", strerror(errno));
        free(s->reload);
        s->reload = NULL;
        return;
    }
    s->loader_running = 1;
}

static void reload_finish(ac__server *s)
{
    pthread_join(s->loader, NULL);
    s->loader_running = 0;
    reload_result *r = s->reload;
    s->reload = NULL;
    if (r->rc != AC_OK) {
        ac__log("reload failed, keeping the running config and model: %s", r->err);
    } else if (s->draining) {
        backend_free(r->inst);
    } else {
        ac_config *n = &r->cfg;
        if (strcmp(n->socket_path, s->cfg.socket_path))
            ac__log("warning: socket_path changed; it takes effect at the next start");
        if (n->http_enabled != s->cfg.http_enabled || strcmp(n->http_address, s->cfg.http_address) ||
            n->http_port != s->cfg.http_port || strcmp(n->http_token, s->cfg.http_token))
            ac__log("warning: the HTTP settings changed; they take effect at the next start");
        if (n->workers != s->cfg.workers)
            ac__log("warning: workers changed; it takes effect at the next start");
        /* what needs a restart keeps its running value */
        snprintf(n->socket_path, sizeof n->socket_path, "%s", s->cfg.socket_path);
        n->http_enabled = s->cfg.http_enabled;
        snprintf(n->http_address, sizeof n->http_address, "%s", s->cfg.http_address);
        n->http_port = s->cfg.http_port;
        snprintf(n->http_token, sizeof n->http_token, "%s", s->cfg.http_token);
        n->workers = s->cfg.workers;
        pthread_mutex_lock(&s->mu);
        backend_inst *old = s->current;
        s->current = r->inst;
        s->cfg = *n;
        ac__limits_from_config(&s->lim, &s->cfg);
        backend_inst *dead = backend_release_locked(old);
        pthread_mutex_unlock(&s->mu);
        backend_free(dead); /* NULL while requests still run on it: the last of them frees it */
        atomic_fetch_add(&s->n_reloads, 1);
        ac__log("reloaded: %s in %.0f ms%s", r->inst->desc, r->inst->load_ms,
                dead ? "" : " (the previous model is freed when its last request ends)");
    }
    free(r);
    if (s->reload_pending && !s->draining) {
        s->reload_pending = 0;
        reload_start(s);
    }
}

/* --- shutdown (SIGTERM) ------------------------------------------------------------------------- */

static void drain_start(ac__server *s)
{
    if (s->draining)
        return;
    /* what clients sent before the signal is in flight too: take the connections waiting in the
     * backlog (clients that connected while the model loaded) and the bytes already received */
    accept_clients(s);
    for (client *c = s->clients; c; c = c->next)
        if (!c->dead && (c->events & EPOLLIN))
            client_read(s, c);
    s->draining = 1;
    s->drain_deadline = ac_now() + DRAIN_TIMEOUT_S;
    if (s->listen_fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->own_socket_file)
        ac__sock_unlink(&s->sock_file);
    s->own_socket_file = 0;
    if (s->http)
        ac__http_quiesce(s->http);
    pthread_mutex_lock(&s->mu);
    s->accepting = 0;
    pthread_mutex_unlock(&s->mu);
    for (client *c = s->clients; c; c = c->next) {
        if (c->dead)
            continue;
        if (c->mode == M_PLAIN && !c->plain_sent)
            client_kill(s, c, NULL); /* an unfinished plain request: nothing to answer */
        else if (!c->refs && !out_pending(c))
            client_kill(s, c, NULL);
        else
            client_update_events(s, c);
    }
}

static int drained(ac__server *s)
{
    pthread_mutex_lock(&s->mu);
    int busy = s->active_head != NULL || s->done_head != NULL;
    pthread_mutex_unlock(&s->mu);
    if (busy)
        return 0;
    for (client *c = s->clients; c; c = c->next)
        if (!c->dead && (out_pending(c) || c->refs))
            return 0;
    return 1;
}

/* --- the loop ----------------------------------------------------------------------------------- */

static void handle_signals(ac__server *s)
{
    struct signalfd_siginfo si;
    while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            if (!s->draining)
                reload_start(s);
        } else if (s->draining) {
            ac__log("second signal %u: exiting without waiting", si.ssi_signo);
            s->drain_deadline = 0;
        } else {
            pthread_mutex_lock(&s->mu); /* the counts are the workers' too */
            int in_flight = s->n_queued + s->n_running;
            pthread_mutex_unlock(&s->mu);
            ac__log("signal %u: finishing %d request(s) in flight, then exiting", si.ssi_signo, in_flight);
            drain_start(s);
        }
    }
}

int ac__server_run(ac__server *s)
{
    struct epoll_event evs[64];
    for (;;) {
        double now = ac_now();
        int timeout = -1;
        for (client *c = s->clients; c; c = c->next)
            if (!c->dead && c->plain_deadline > 0) {
                int ms = (int)((c->plain_deadline - now) * 1000) + 1;
                if (ms < 0)
                    ms = 0;
                if (timeout < 0 || ms < timeout)
                    timeout = ms;
            }
        if (s->draining && (timeout < 0 || timeout > 100))
            timeout = 100;
        int n = epoll_wait(s->epfd, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            ac__log("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            handle *h = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (h->kind == H_LISTEN) {
                if (!s->draining)
                    accept_clients(s);
            } else if (h->kind == H_SIGNAL) {
                handle_signals(s);
            } else if (h->kind == H_WAKE) {
                uint64_t v;
                ssize_t r = read(s->wake_fd, &v, sizeof v);
                (void)r;
                deliver_done(s);
                if (s->loader_running && atomic_load(&s->loader_done))
                    reload_finish(s);
            } else {
                client *c = (client *)h;
                if (c->dead)
                    continue;
                if (e & (EPOLLIN | EPOLLRDHUP))
                    client_read(s, c);
                if (!c->dead && (e & EPOLLHUP))
                    client_kill(s, c, "disconnected");
                else if (!c->dead && (e & EPOLLERR))
                    client_kill(s, c, "socket error");
                else if (!c->dead && (e & EPOLLOUT))
                    client_flush(s, c);
            }
        }
        now = ac_now();
        for (client *c = s->clients; c; c = c->next)
            if (!c->dead && c->mode == M_PLAIN && !c->plain_sent && c->plain_deadline > 0 &&
                c->plain_deadline <= now) {
                plain_submit(s, c, c->in.len);
                if (!c->dead)
                    client_update_events(s, c);
            }
        sweep_clients(s);
        if (s->draining && (drained(s) || now >= s->drain_deadline))
            break;
    }
    if (s->draining && !drained(s))
        ac__log("in-flight requests did not finish within %.0f s; exiting anyway", DRAIN_TIMEOUT_S);
    ac__log("exiting");
    return AC_OK;
}

/* --- for http.c --------------------------------------------------------------------------------- */

void ac__server_limits(ac__server *s, ac__limits *lim)
{
    pthread_mutex_lock(&s->mu);
    *lim = s->lim;
    pthread_mutex_unlock(&s->mu);
}

int ac__server_execute(ac__server *s, ac_request *req, ac_reply *rep, ac__timings *t, int *cancel_reason,
                       const char **code, char *err)
{
    memset(rep, 0, sizeof *rep);
    job *j = calloc(1, sizeof *j);
    if (!j) {
        ac__request_free(req);
        *code = "internal";
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    j->req = *req;
    memset(req, 0, sizeof *req);
    j->format = FMT_SYNC;
    atomic_fetch_add(&s->n_requests, 1);
    backend_inst *to_free = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = submit_locked(s, j, &to_free);
    if (rc == AC_OK)
        while (!j->finished)
            pthread_cond_wait(&s->sync_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    backend_free(to_free);
    if (rc != AC_OK) {
        atomic_fetch_add(&s->n_errors, 1);
        *code = j->code;
        snprintf(err, AC_ERR_SIZE, "%s", j->err);
        job_free(j);
        return rc;
    }
    rc = j->status;
    *cancel_reason = atomic_load(&j->cancel);
    t->queue_ms = (j->t_start - j->t_submit) * 1000;
    t->run_ms = (j->t_end - j->t_start) * 1000;
    if (rc == AC_OK) {
        *rep = j->rep;
        memset(&j->rep, 0, sizeof j->rep);
    } else if (rc != AC_E_CANCELLED) {
        *code = ac__backend_error_code(rc);
        snprintf(err, AC_ERR_SIZE, "%s", j->err);
    }
    job_free(j);
    return rc;
}

int ac__server_cancel(ac__server *s, const ac_request *req)
{
    return cancel_requests(s, NULL, req); /* client NULL: HTTP jobs */
}

json_t *ac__server_info(ac__server *s, json_t *id, int full)
{
    json_t *o = json_pack("{s:O,s:s,s:s}", "id", id ? id : json_null(), "status", "ok", "version",
                          AC_SERVER_VERSION);
    if (!o || !full)
        return o;
    /* HTTP threads call this too: read what a reload changes under the lock */
    char source[AC_CONFIG_PATH_MAX], http_address[256];
    pthread_mutex_lock(&s->mu);
    backend_inst *b = backend_acquire_locked(s);
    int queued = s->n_queued, running = s->n_running;
    ac__limits lim = s->lim;
    int max_clients = s->cfg.max_clients, max_queue = s->cfg.max_queue;
    memcpy(source, s->cfg.source, sizeof source);
    memcpy(http_address, s->cfg.http_address, sizeof http_address);
    pthread_mutex_unlock(&s->mu);
    json_t *model = json_object();
    if (b) {
        json_object_set_new(o, "backend", json_string(b->ops->name));
        json_object_set_new(o, "loaded", ac__json_text(b->desc, strlen(b->desc)));
        json_object_set_new(o, "load_ms", json_real(b->load_ms));
        if (b->ops->info)
            b->ops->info(b->state, model);
    }
    json_object_set_new(o, "model", model);
    pthread_mutex_lock(&s->mu);
    backend_inst *dead = backend_release_locked(b);
    pthread_mutex_unlock(&s->mu);
    backend_free(dead);
    json_object_set_new(o, "config", ac__json_text(source, strlen(source)));
    json_object_set_new(o, "socket", ac__json_text(s->socket_path, strlen(s->socket_path)));
    if (s->http)
        json_object_set_new(o, "http", json_pack("{s:s,s:i}", "address", http_address, "port", s->http_port));
    else
        json_object_set_new(o, "http", json_null());
    json_object_set_new(o, "uptime_s", json_real(ac_now() - s->started));
    json_object_set_new(o, "workers", json_integer(s->n_workers));
    json_object_set_new(o, "queued", json_integer(queued));
    json_object_set_new(o, "running", json_integer(running));
    json_object_set_new(o, "requests", json_integer(atomic_load(&s->n_requests)));
    json_object_set_new(o, "errors", json_integer(atomic_load(&s->n_errors)));
    json_object_set_new(o, "cancelled", json_integer(atomic_load(&s->n_cancelled)));
    json_object_set_new(o, "reloads", json_integer(atomic_load(&s->n_reloads)));
    json_object_set_new(o, "limits",
                        json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i}", "max_line_bytes", (json_int_t)lim.max_line_bytes,
                                  "max_tokens", lim.max_tokens, "max_beams", lim.max_beams, "max_clients",
                                  max_clients, "max_queue", max_queue, "deadline_ms", lim.deadline_ms,
                                  "default_max_tokens", lim.default_max_tokens));
    return o;
}

/* --- start and stop ----------------------------------------------------------------------------- */

static int add_handle(ac__server *s, int fd, handle *h, int kind)
{
    h->kind = kind;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ac__server_start(const ac__server_params *params, const ac_config *cfg, ac__server **out, char *err)
{
    *out = NULL;
    ac__server *s = calloc(1, sizeof *s);
    if (!s)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    s->params = *params;
    snprintf(s->config_path, sizeof s->config_path, "%s", params->config_path ? params->config_path : "");
    snprintf(s->model_override, sizeof s->model_override, "%s", params->model_override ? params->model_override : "");
    snprintf(s->socket_path, sizeof s->socket_path, "%s", params->socket_path ? params->socket_path : "");
    s->params.config_path = s->params.model_override = s->params.socket_path = NULL; /* use the copies */
    s->cfg = *cfg;
    ac__limits_from_config(&s->lim, cfg);
    s->epfd = s->listen_fd = s->sig_fd = s->wake_fd = -1;
    s->accepting = 1;
    s->started = ac_now();
    s->refusal_log.interval = REFUSAL_LOG_INTERVAL_S;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->sync_cv, NULL);

    /* signals: read by the loop through a signalfd; every thread started later inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    int rc;
    if (s->sig_fd < 0 || s->wake_fd < 0 || s->epfd < 0) {
        rc = ac__errorf(err, AC_E_IO, "cannot set up the event loop: %s", strerror(errno));
        goto fail;
    }

    double t0 = ac_now();
    if (params->listen_fd >= 0) {
        s->listen_fd = params->listen_fd;
        int fl = fcntl(s->listen_fd, F_GETFL);
        if (fl < 0 || fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
            fcntl(s->listen_fd, F_SETFD, FD_CLOEXEC) != 0) {
            rc = ac__errorf(err, AC_E_IO, "the inherited socket: %s", strerror(errno));
            goto fail;
        }
    } else {
        if ((rc = ac__sock_listen(s->socket_path, 128, &s->listen_fd, &s->sock_file, err)))
            goto fail;
        s->own_socket_file = 1;
    }
    if (add_handle(s, s->listen_fd, &s->h_listen, H_LISTEN) || add_handle(s, s->sig_fd, &s->h_signal, H_SIGNAL) ||
        add_handle(s, s->wake_fd, &s->h_wake, H_WAKE)) {
        rc = ac__errorf(err, AC_E_IO, "epoll: %s", strerror(errno));
        goto fail;
    }

    /* the model: clients that connect meanwhile wait in the listen backlog */
    s->current = backend_load(params->ops, cfg, err);
    if (!s->current) {
        rc = AC_E_IO;
        goto fail;
    }

    s->n_workers = cfg->workers;
    s->workers = calloc((size_t)s->n_workers, sizeof *s->workers);
    if (!s->workers) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->n_workers; i++)
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            s->n_workers = i;
            rc = ac__errorf(err, AC_E_IO, "cannot start worker threads: %s", strerror(errno));
            goto fail;
        }

    if (cfg->http_enabled && (rc = ac__http_start(s, cfg, &s->http, &s->http_port, err)))
        goto fail;

    ac__log("autocorrectd %s: loaded %s in %.0f ms (%s backend); listening on %s%s; %d workers; ready in %.0f ms",
            AC_SERVER_VERSION, s->current->desc, s->current->load_ms, params->ops->name,
            s->socket_path[0] ? s->socket_path : "an inherited socket",
            s->own_socket_file ? "" : " (socket activation)", s->n_workers, (ac_now() - t0) * 1000);
    if (s->http)
        ac__log("HTTP on %s:%d%s", cfg->http_address, s->http_port, cfg->http_token[0] ? " (token required)" : "");
    if (cfg->source[0])
        ac__log("config: %s", cfg->source);
    else
        ac__log("config: built-in defaults (no config file)");
    *out = s;
    return AC_OK;

fail:
    ac__server_free(s);
    return rc;
}

void ac__server_free(ac__server *s)
{
    if (!s)
        return;
    if (s->http) {
        ac__http_stop(s->http); /* waits for its threads, which may wait for workers: before stopping them */
        s->http = NULL;
    }
    if (s->loader_running) {
        pthread_join(s->loader, NULL);
        if (s->reload) {
            backend_free(s->reload->inst);
            free(s->reload);
        }
    }
    pthread_mutex_lock(&s->mu);
    s->stop_workers = 1;
    s->accepting = 0;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    /* jobs that never ran (a forced exit) and undelivered replies */
    while (s->active_head) {
        job *j = s->active_head;
        active_remove_locked(s, j);
        backend_free(backend_release_locked(j->backend));
        job_free(j);
    }
    for (job *j = s->done_head, *next; j; j = next) {
        next = j->done_next;
        job_free(j);
    }
    while (s->sessions) {
        session *x = s->sessions;
        s->sessions = x->next;
        free(x);
    }
    for (client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->fd >= 0)
            close(c->fd);
        ac_buf_free(&c->in);
        ac_buf_free(&c->out);
        free(c);
    }
    if (s->current)
        backend_free(backend_release_locked(s->current));
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->own_socket_file)
        ac__sock_unlink(&s->sock_file);
    if (s->epfd >= 0) close(s->epfd);
    if (s->sig_fd >= 0) close(s->sig_fd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->sync_cv);
    free(s);
}
