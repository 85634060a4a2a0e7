/* protocol.h: the wire protocol's requests and replies as JSON (docs/protocol.md is the spec).
 * Internal to the daemon.
 *
 * This file turns a JSON request (a socket line or an HTTP body) into an ac_request checked against
 * the limits, and an ac_reply back into JSON or plain text. It does no I/O and holds no state, so
 * every function is safe on any thread. Error replies carry a short code:
 *   bad_json      the line is not a JSON object
 *   bad_request   a field is missing, of the wrong type or out of range
 *   unknown_op    "op" names no operation
 *   limit         a value is over a configured limit (the message names the limit)
 *   too_large     the line is longer than max_line_bytes (the connection is then closed)
 *   too_many_clients, forbidden, busy, shutting_down, unavailable, unsupported, internal  (from the server)
 */
#ifndef AC_SERVER_PROTOCOL_H
#define AC_SERVER_PROTOCOL_H

#include "server/backend.h"

/* The limits a request is checked against: a copy of the config's, so any thread can hold one. */
typedef struct ac__limits {
    size_t max_line_bytes;
    int max_tokens, max_beams, default_max_tokens, beam_width, completions, deadline_ms;
    bool cache;
    bool log_requests; /* not a limit, but read by the same threads */
} ac__limits;

void ac__limits_from_config(ac__limits *lim, const ac_config *cfg);

/* The completions a request for `beams` beams gets when it does not say (n): the config's
 * `completions`, never more than the beams. */
int ac__limits_default_n(const ac__limits *lim, int beams);

/* "complete", "correct", ... for an enum ac_op; ac__op_from_name returns -1 for an unknown name. */
const char *ac__op_name(int op);
int ac__op_from_name(const char *name);

/* Parses one request line (len bytes, no newline) into req (zeroed first). On failure returns a
 * status, sets *code to the reply's error code and writes the message into err; req->id is still
 * set when the line was JSON with an id, so the error reply can echo it. Free req with
 * ac__request_free in every case. */
int ac__request_parse_line(const char *line, size_t len, const ac__limits *lim, ac_request *req,
                           const char **code, char *err);

/* The same from a parsed JSON object. op_override >= 0 fixes the op (HTTP POST /v1/<op>), and "op"
 * in the object is then ignored. */
int ac__request_from_json(json_t *obj, int op_override, const ac__limits *lim, ac_request *req,
                          const char **code, char *err);

/* Truncates each completion at the first stop string (req->stop); stopped[i] (may be NULL, else
 * [rep->n_completions]) tells which ones were cut. */
void ac__reply_apply_stops(const ac_request *req, ac_reply *rep, bool *stopped);

typedef struct ac__timings {
    double queue_ms; /* waiting for a worker (or for the session's previous request) */
    double run_ms;   /* in the backend */
} ac__timings;

/* The JSON reply of a finished request (new reference). */
json_t *ac__reply_to_json(const ac_request *req, const ac_reply *rep, const ac__timings *t);

/* {"id":ID,"error":{"code":CODE,"message":MESSAGE}} (new reference; id may be NULL). */
json_t *ac__error_json(json_t *id, const char *code, const char *message);

/* {"id":ID,"cancelled":true,"reason":"superseded"|"cancelled"|"disconnected"} (new reference). */
json_t *ac__cancelled_json(json_t *id, int reason);

/* The error code for a backend's failure status ("bad_request", "limit", "internal"...). */
const char *ac__backend_error_code(int status);

/* The json_dumps flags of every reply: compact, reals at 6 significant digits, except a reply
 * whose "id" is a real number, written at full precision so the id echoes exactly. */
size_t ac__json_dump_flags(const json_t *obj);

/* The JSON text of a reply (malloc'ed, NUL-terminated; NULL when out of memory), with the flags
 * above, and DEL and the C1 controls (U+0080..U+009F) escaped as \u00XX like jansson escapes C0:
 * the text holds no byte a terminal acts on, should someone print it raw. Does not take obj. */
char *ac__json_dumps(const json_t *obj);

/* ac__json_dumps(obj) followed by "\n" (malloc'ed; *len set when not NULL); takes the reference.
 * NULL when out of memory. */
char *ac__json_line(json_t *obj, size_t *len);

/* The plain-text reply (the `nc -U` fallback), for a terminal: one completion per line, or
 * "error: MESSAGE" on failure. In each completion (and the message) LF, CR and CR LF become one
 * space so the lines stay one per completion; TAB stays; every other control character (C0, DEL,
 * C1) and every invalid UTF-8 byte becomes U+FFFD, so nothing in it acts on the terminal.
 * Malloc'ed. */
char *ac__reply_plain(const ac_reply *rep, const char *error_message, size_t *len);

/* A JSON string from bytes that may not be valid UTF-8: invalid bytes become U+FFFD. */
json_t *ac__json_text(const char *s, size_t n);

#endif
