/* client.c: one request to a running autocorrectd and its reply, for the CLI (see client.h).
 * Blocking I/O with a poll timeout; a JSON line each way. Not the server's code: this is the other
 * end of docs/protocol.md. */
#include "cli/client.h"

#include "autocorrect/server.h"
#include "server/sock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLY_MAX (64u << 20) /* a reply longer than this is not one of ours */
#define DEFAULT_TIMEOUT_MS 30000

int ac_client_take_options(int argc, char **argv, const char **socket_path, int *no_daemon)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) { /* the rest is text, not options */
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            *socket_path = argv[++i];
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            *socket_path = argv[i] + 9;
        } else if (!strcmp(argv[i], "--no-daemon")) {
            *no_daemon = 1;
        } else {
            argv[out++] = argv[i];
        }
    }
    if (out < argc)
        argv[out] = NULL;
    return out;
}

int ac_client_socket_path(const char *explicit_path, char *out, size_t n, char *err)
{
    return ac_client_socket_path_cfg(explicit_path, NULL, out, n, err);
}

int ac_client_socket_path_cfg(const char *explicit_path, const ac_config *given_cfg, char *out, size_t n, char *err)
{
    const char *env = getenv("AUTOCORRECT_SOCKET");
    const char *given = explicit_path ? explicit_path : (env && env[0] ? env : NULL);
    if (given) {
        if (strlen(given) >= n || strlen(given) >= AC_SOCKET_PATH_MAX)
            return ac__errorf(err, AC_E_LIMIT, "socket path %.60s... is too long", given);
        snprintf(out, n, "%s", given);
        return AC_OK;
    }
    if (given_cfg)
        return ac_socket_path_resolve(given_cfg, out, n, 0, err);
    ac_config cfg;
    char cfg_err[AC_ERR_SIZE];
    if (ac_config_load(NULL, &cfg, NULL, NULL, cfg_err) != AC_OK)
        ac_config_default(&cfg); /* a broken config: the daemon would not start with it either */
    return ac_socket_path_resolve(&cfg, out, n, 0, err);
}

static int connect_unix(const char *path, char *err)
{
    int fd = ac__sock_connect(path);
    if (fd >= 0)
        return fd;
    if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTDIR)
        return ac__errorf(err, AC_CLIENT_UNAVAILABLE, "no daemon is listening on %s", path);
    return ac__errorf(err, AC_E_IO, "cannot connect to %s: %s", path, strerror(-fd));
}

int ac_client_request(const char *socket_path, json_t *request, int timeout_ms, json_t **reply, char *err)
{
    *reply = NULL;
    if (!json_is_object(request))
        return ac__errorf(err, AC_E_ARG, "a request must be a JSON object");
    json_t *id = json_object_get(request, "id");
    json_t *our_id = id ? json_incref(id) : json_integer((json_int_t)getpid());
    if (!id)
        json_object_set(request, "id", our_id);
    char *line = json_dumps(request, JSON_COMPACT);
    if (!id)
        json_object_del(request, "id");
    if (!line) {
        json_decref(our_id);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    int fd = connect_unix(socket_path, err);
    if (fd < 0) {
        free(line);
        json_decref(our_id);
        return fd;
    }
    int rc = AC_OK;
    ac_buf in = {0};
    size_t len = strlen(line);
    line[len] = '\n'; /* replaces the NUL; send len + 1 bytes */
    for (size_t off = 0; off < len + 1;) {
        ssize_t w = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = ac__errorf(err, AC_E_IO, "cannot send to the daemon: %s", strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    double until = ac_now() + timeout_ms / 1000.0;
    for (;;) {
        char *nl;
        while ((nl = in.len ? memchr(in.data, '\n', in.len) : NULL)) {
            size_t n = (size_t)(nl - in.data);
            json_t *r = json_loadb(in.data, n, 0, NULL);
            ac_buf_consume(&in, n + 1);
            if (!r) {
                rc = ac__errorf(err, AC_E_FORMAT, "the daemon sent something that is not JSON");
                goto done;
            }
            json_t *rid = json_object_get(r, "id");
            if (rid && (json_equal(rid, our_id) || json_is_null(rid))) { /* null: a connection-level error */
                *reply = r;
                goto done;
            }
            json_decref(r);
        }
        int ms = (int)((until - ac_now()) * 1000);
        if (ms <= 0) {
            rc = ac__errorf(err, AC_E_DEADLINE, "no reply from the daemon within %d ms", timeout_ms);
            goto done;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (ac_buf_reserve(&in, 65536) != AC_OK || in.len > REPLY_MAX) {
            rc = ac__errorf(err, AC_E_NOMEM, "the daemon's reply is too large");
            goto done;
        }
        ssize_t r = recv(fd, in.data + in.len, 65536, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = ac__errorf(err, AC_E_IO, "the daemon closed the connection without replying");
            goto done;
        }
        in.len += (size_t)r;
    }
done:
    close(fd);
    free(line);
    ac_buf_free(&in);
    json_decref(our_id);
    return rc;
}

int ac_client_call(const char *explicit_path, json_t *request, json_t **reply, char *err)
{
    return ac_client_call_cfg(explicit_path, NULL, request, reply, err);
}

int ac_client_call_cfg(const char *explicit_path, const ac_config *cfg, json_t *request, json_t **reply, char *err)
{
    *reply = NULL;
    char path[AC_SOCKET_PATH_MAX];
    int rc = ac_client_socket_path_cfg(explicit_path, cfg, path, sizeof path, err);
    if (rc != AC_OK)
        return explicit_path ? rc : AC_CLIENT_UNAVAILABLE;
    const char *t = getenv("AUTOCORRECT_TIMEOUT_MS");
    int timeout = t && atoi(t) > 0 ? atoi(t) : DEFAULT_TIMEOUT_MS;
    rc = ac_client_request(path, request, timeout, reply, err);
    if (rc == AC_CLIENT_UNAVAILABLE && (explicit_path || getenv("AUTOCORRECT_SOCKET")))
        return AC_E_IO; /* asked for a daemon and there is none: an error, not a fallback */
    if (rc != AC_OK)
        return rc;
    json_t *e = json_object_get(*reply, "error");
    if (e) {
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        snprintf(err, AC_ERR_SIZE, "daemon: %s: %s", code ? code : "error", msg ? msg : "");
        return AC_E_ARG;
    }
    return AC_OK;
}

int ac_client_apply_corrections(const char *text, size_t len, json_t *corrections, ac_buf *out)
{
    size_t n = json_array_size(corrections), at = 0;
    for (size_t i = 0; i < n; i++) { /* check everything first: all or nothing */
        json_t *c = json_array_get(corrections, i);
        json_int_t start = json_integer_value(json_object_get(c, "start"));
        json_int_t end = json_integer_value(json_object_get(c, "end"));
        if (!json_is_string(json_object_get(c, "replacement")) || start < (json_int_t)at || end < start ||
            (size_t)end > len)
            return AC_E_ARG;
        at = (size_t)end;
    }
    at = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(corrections, i);
        size_t start = (size_t)json_integer_value(json_object_get(c, "start"));
        size_t end = (size_t)json_integer_value(json_object_get(c, "end"));
        json_t *rep = json_object_get(c, "replacement");
        if (ac_buf_append(out, text + at, start - at) ||
            ac_buf_append(out, json_string_value(rep), json_string_length(rep)))
            return AC_E_NOMEM;
        at = end;
    }
    return ac_buf_append(out, text + at, len - at);
}
