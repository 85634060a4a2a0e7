/* server.h: the daemon's core: the event loop, the worker pool, sessions and reloads. Internal.
 *
 * One thread runs the event loop (epoll): it accepts socket clients, reads their requests into
 * per-client buffers, writes replies from per-client buffers, and handles signals. Requests run on
 * a small pool of worker threads, so a slow request never holds up another client's I/O. HTTP
 * (http.c) runs in libmicrohttpd's threads and hands its requests to the same pool through
 * ac__server_execute. The wire format is protocol.c's; the work is the backend's (backend.h).
 *
 * Sessions: a new complete/correct/topk request in a session supersedes that session's earlier ones
 * (queued ones are answered "cancelled" at once, running ones get their cancel flag set), and a
 * session's requests never run two at a time.
 * Signals: SIGTERM or SIGINT stop accepting, finish the requests in flight, flush their replies,
 * remove the socket and return; SIGHUP re-reads the config and loads the model on a background
 * thread, then swaps it in (requests running on the old one finish on it; it is freed after the
 * last of them).
 */
#ifndef AC_SERVER_SERVER_H
#define AC_SERVER_SERVER_H

#include "server/protocol.h"

typedef struct ac__server ac__server;

typedef struct ac__server_params {
    const ac_backend_ops *ops;
    const char *config_path;    /* --config, re-read on SIGHUP; NULL = the XDG lookup */
    const char *model_override; /* --model (absolute), kept over reloads; NULL = none */
    const char *socket_path;    /* where to listen (resolved and checked by the caller) */
    int listen_fd;              /* >= 0: an inherited listening socket (systemd); -1: bind socket_path */
    int verbose;                /* log each request's op, size and timings (never its text) */
} ac__server_params;

/* Blocks SIGTERM, SIGINT and SIGHUP (they are read by the loop), ignores SIGPIPE, binds the socket,
 * loads the backend, starts the workers and HTTP (when enabled) and logs what it loaded and how
 * long it took. Call from the main thread before any other thread exists. Returns AC_OK with *out,
 * or an error with a message (nothing left behind: no socket file, no thread). */
int ac__server_start(const ac__server_params *params, const ac_config *cfg, ac__server **out, char *err);

/* Runs the event loop until SIGTERM or SIGINT, then drains (see above). Returns AC_OK. */
int ac__server_run(ac__server *s);

/* Stops everything, removes the socket file (if it is still ours) and frees. NULL is a no-op. */
void ac__server_free(ac__server *s);

/* --- for http.c (any thread) -------------------------------------------------------------- */

/* The current limits (they change on reload). */
void ac__server_limits(ac__server *s, ac__limits *lim);

/* Runs one parsed request to completion on the worker pool and waits for it. Takes req's contents
 * (req is zeroed). Returns AC_OK with rep (free with ac__reply_free) and t filled;
 * AC_E_CANCELLED with *cancel_reason; or an error with *code and err. */
int ac__server_execute(ac__server *s, ac_request *req, ac_reply *rep, ac__timings *t, int *cancel_reason,
                       const char **code, char *err);

/* Cancels the HTTP requests whose id is req->target, or (no target) the inference requests of
 * req->session. Returns how many it found. */
int ac__server_cancel(ac__server *s, const ac_request *req);

/* The reply to info (full != 0) or health: status, version, backend facts, counters (new reference). */
json_t *ac__server_info(ac__server *s, json_t *id, int full);

/* The version string of the daemon. */
#define AC_SERVER_VERSION "0.1.0"

#endif
