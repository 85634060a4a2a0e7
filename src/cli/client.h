/* client.h: the `autocorrect` CLI's client for a running autocorrectd (src/cli/client.c).
 *
 * One request, one reply, over the daemon's UNIX socket (docs/protocol.md). Commands use it to
 * route themselves to the daemon, which has the model loaded already, and fall back to running in
 * process when no daemon answers:
 *
 *     const char *sock = NULL; int no_daemon = 0;
 *     argc = ac_client_take_options(argc, argv, &sock, &no_daemon);  // strips --socket, --no-daemon
 *     ... parse the command's own options ...
 *     if (!no_daemon && !model_given) {                   // --model asks for that model: in process
 *         json_t *reply; char err[AC_ERR_SIZE];
 *         json_t *req = json_pack("{s:s,s:s}", "op", "complete", "before", text);
 *         int rc = ac_client_call(sock, req, &reply, err);
 *         json_decref(req);
 *         if (rc == AC_OK) { ... print from reply ...; json_decref(reply); return 0; }
 *         if (rc != AC_CLIENT_UNAVAILABLE) { fprintf(stderr, "autocorrect: %s\n", err); return 1; }
 *     }
 *     ... run in process as before ...
 *
 * Not a library for editors (they speak the protocol themselves), nor a daemon manager.
 */
#ifndef AC_CLI_CLIENT_H
#define AC_CLI_CLIENT_H

#include "autocorrect/common.h"
#include "autocorrect/server.h"

#include <jansson.h>

/* ac_client_call's "no daemon here" status (not an error when the socket was not asked for). */
#define AC_CLIENT_UNAVAILABLE (-100)

/* Removes the client options from argv, in place (argv[0] stays): `--socket PATH`,
 * `--socket=PATH` and `--no-daemon`. *socket_path gets PATH (or stays untouched), *no_daemon 1 when
 * --no-daemon was given. Returns the new argc. A --socket with no value is left in place for the
 * command's own parser to report. */
int ac_client_take_options(int argc, char **argv, const char **socket_path, int *no_daemon);

/* Where the daemon listens: `explicit_path` when not NULL, else $AUTOCORRECT_SOCKET, else the
 * socket_path of the user's config.toml, else the default ($XDG_RUNTIME_DIR/autocorrect.sock or
 * /tmp/autocorrect-$UID/autocorrect.sock). Writes it to out[n]. AC_OK or an error with a message. */
int ac_client_socket_path(const char *explicit_path, char *out, size_t n, char *err);

/* The same with the configuration already read (`cfg`, e.g. from `--config FILE`; NULL: read the
 * user's, as above). */
int ac_client_socket_path_cfg(const char *explicit_path, const ac_config *cfg, char *out, size_t n, char *err);

/* Sends `request` (a JSON object; an "id" is added when it has none) to the daemon and waits up to
 * timeout_ms for the reply with the same id (other lines are skipped). Returns AC_OK with *reply (a
 * new reference: the whole reply object, which may hold "error" or "cancelled"); AC_CLIENT_UNAVAILABLE
 * when nothing listens at socket_path (no file, or connection refused); AC_E_IO for a broken
 * connection, AC_E_DEADLINE for a timeout, AC_E_FORMAT for a reply that is not JSON, each with a
 * message in err. */
int ac_client_request(const char *socket_path, json_t *request, int timeout_ms, json_t **reply, char *err);

/* The routing helper: finds the socket (ac_client_socket_path), sends the request and returns the
 * reply, with a 30 s timeout ($AUTOCORRECT_TIMEOUT_MS overrides it). When no daemon answers it
 * returns AC_CLIENT_UNAVAILABLE if `explicit_path` was NULL (the caller runs in process), and
 * AC_E_IO with "no daemon is listening on PATH" if a socket was asked for. A reply carrying an error
 * is returned as AC_E_ARG with the daemon's message in err ("daemon: bad_request: ...") and *reply
 * still set. */
int ac_client_call(const char *explicit_path, json_t *request, json_t **reply, char *err);

/* ac_client_call with the configuration already read (`cfg`: where socket_path comes from; NULL: the
 * user's config.toml, as above). */
int ac_client_call_cfg(const char *explicit_path, const ac_config *cfg, json_t *request, json_t **reply, char *err);

/* Appends text[0..len) to out with the replies' corrections applied: `corrections` is the
 * "corrections" array of a correct reply for this text (byte offsets, in order, not overlapping).
 * Returns AC_OK, AC_E_ARG when a correction is out of range or out of order (nothing is
 * appended then), AC_E_NOMEM. */
int ac_client_apply_corrections(const char *text, size_t len, json_t *corrections, ac_buf *out);

#endif
