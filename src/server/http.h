/* http.h: the daemon's optional HTTP front end (libmicrohttpd). Internal to the daemon.
 *
 * Endpoints (docs/protocol.md has examples): POST /v1/<op> with the socket protocol's JSON (the op
 * comes from the path), POST / with a JSON request naming its op, GET /health and GET /v1/info,
 * and an OpenAI-style POST /v1/completions. Requests run on the server's worker pool through
 * ac__server_execute; this file only speaks HTTP. Off by default; on a non-loopback address a
 * bearer token is required (config.c refuses the config otherwise).
 */
#ifndef AC_SERVER_HTTP_H
#define AC_SERVER_HTTP_H

#include "autocorrect/server.h"

typedef struct ac__server ac__server;
typedef struct ac__http ac__http;

/* Binds cfg->http_address:cfg->http_port (0 = a free port, returned in *port) and starts serving.
 * Returns AC_OK with *out, or AC_E_IO with a message (address in use...). */
int ac__http_start(ac__server *srv, const ac_config *cfg, ac__http **out, int *port, char *err);

/* Stops accepting new connections; requests in progress go on. */
void ac__http_quiesce(ac__http *h);

/* Stops and frees (waits for the connections' threads). NULL is a no-op. */
void ac__http_stop(ac__http *h);

#endif
