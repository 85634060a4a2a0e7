/* autocorrect/server.h: the daemon's configuration (config.toml) and the safe socket path, shared
 * by `autocorrectd` and the `autocorrect` client. Not the server itself: the event loop, the wire
 * protocol and the backend interface are internal to src/server/ (see docs/protocol.md).
 *
 * Usage (error handling shortened):
 *
 *     ac_config cfg;
 *     char err[AC_ERR_SIZE];
 *     if (ac_config_load(NULL, &cfg, NULL, NULL, err)) { fprintf(stderr, "%s\n", err); ... }
 *     char sock[AC_SOCKET_PATH_MAX];
 *     ac_socket_path_resolve(&cfg, sock, sizeof sock, 0, err);   // where the daemon listens
 *
 * The file format is a subset of TOML: `key = value` lines with strings (basic "..." and literal
 * '...'), integers, floats, booleans, arrays of those, comments and [tables]. Keys are flat (the
 * daemon reads no table); a key it does not know is a warning, a bad value is an error naming the
 * file, the line and the key. Every key is documented in config.example.toml.
 */
#ifndef AUTOCORRECT_SERVER_H
#define AUTOCORRECT_SERVER_H

#include "autocorrect/common.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AC_CONFIG_PATH_MAX 4096 /* bytes of a path value, NUL included */
#define AC_SOCKET_PATH_MAX 108  /* sizeof(sockaddr_un.sun_path) on Linux */

/* Everything config.toml can say. Plain data: copy it by assignment. Strings are NUL-terminated;
 * an empty string means "the built-in default" where the comment says so. */
typedef struct ac_config {
    /* the model and the decoder (the seed's keys first) */
    char model_path[AC_CONFIG_PATH_MAX];  /* model directory; "" = the shipped models/default */
    int context_window;                   /* tokens of context the model sees (16..65536), 128 */
    int beam_width;                       /* beams searched per completion (1..max_beams), 8 */
    int completions;                      /* completions a request gets when it does not say (`n`):
                                           * the best of the beams searched, at most their number, 5 */
    bool quantization;                    /* run int8 weights where the model allows, true */
    char socket_path[AC_CONFIG_PATH_MAX]; /* "" = $XDG_RUNTIME_DIR/autocorrect.sock or /tmp/autocorrect-$UID/ */
    int threads;                          /* the model's own threads; 0 = one per core, at most 4 */
    int workers;                          /* request worker threads (1..64), 2 */
    int deadline_ms;                      /* time budget of one request (1..600000), 100 */
    int default_max_tokens;               /* tokens a completion gets when the request says none, 6 */
    bool cache;                           /* reuse the context of a session between keystrokes, true */
    int max_sessions;                     /* session contexts kept (least recently used go), 16 */
    char dictionary_path[AC_CONFIG_PATH_MAX];      /* spelling dictionary; "" = the model's, else the shipped one */
    char user_dictionary_path[AC_CONFIG_PATH_MAX]; /* words `learn` adds; "" = $XDG_DATA_HOME/autocorrect/user-dictionary.txt */
    /* HTTP (off by default) */
    bool http_enabled;
    char http_address[256];               /* "127.0.0.1"; a non-loopback address needs http_token */
    int http_port;                        /* 8177; 0 picks a free port (reported by `info`) */
    char http_token[256];                 /* "" = none; else `Authorization: Bearer TOKEN` is required */
    /* limits */
    size_t max_line_bytes;                /* one request line or HTTP body, 1 MiB */
    int max_clients;                      /* connected socket clients, 64 */
    int max_tokens;                       /* the largest max_tokens a request may ask, 64 */
    int max_beams;                        /* the largest beam count a request may ask, 16 */
    int max_queue;                        /* requests waiting for a worker, 256 */
    /* logging */
    bool log_requests;                    /* log request bodies (the typed text!), false */
    /* where this came from: the file read, "" for built-in defaults only (not a key) */
    char source[AC_CONFIG_PATH_MAX];
} ac_config;

/* Called once per warning (an unknown key, a setting that needs a restart...). `msg` names the
 * file and line. May be NULL where warnings are not wanted. */
typedef void (*ac_config_warn_fn)(void *user, const char *msg);

/* Fills cfg with the built-in defaults (model_path stays "": see ac_config_resolve_paths). */
void ac_config_default(ac_config *cfg);

/* Parses config text (len bytes, need not be NUL-terminated) over cfg, which holds defaults or an
 * earlier file: only the keys present change. `filename` is used in messages only. Returns AC_OK,
 * or AC_E_FORMAT (syntax), AC_E_ARG (a bad value) with "FILE:LINE: key 'K': why" in err; cfg may
 * then be half-updated. Never crashes on any input (it is fuzzed: fuzz/fuzz_config.c). */
int ac_config_parse(const char *text, size_t len, const char *filename, ac_config *cfg,
                    ac_config_warn_fn warn, void *user, char *err);

/* Finds and reads the configuration: `path` when not NULL (it must exist), else
 * $XDG_CONFIG_HOME/autocorrect/config.toml (~/.config when unset) if it exists, else defaults
 * only. Then resolves paths (ac_config_resolve_paths). Returns AC_OK or an error with a message. */
int ac_config_load(const char *path, ac_config *cfg, ac_config_warn_fn warn, void *user, char *err);

/* Makes paths usable: "~/" expands to $HOME, and a relative model, dictionary or socket path is
 * taken relative to the config file's directory. An empty model_path becomes the shipped default
 * model (models/default under the installed share directory, or in the source tree next to the
 * executable), or stays "" when there is none: the caller reports that, after applying a --model
 * override. An empty dictionary_path becomes dictionary.tsv in the model directory, else in the
 * shipped model directory, when one exists; an empty user_dictionary_path becomes
 * $XDG_DATA_HOME/autocorrect/user-dictionary.txt. Returns AC_OK, or AC_E_ARG / AC_E_LIMIT when a
 * path cannot be expanded. */
int ac_config_resolve_paths(ac_config *cfg, char *err);

/* The socket path the daemon uses with this config, into out[n]: cfg->socket_path if set, else
 * $XDG_RUNTIME_DIR/autocorrect.sock, else $TMPDIR (or /tmp)/autocorrect-$UID/autocorrect.sock. With `create_dir`
 * the /tmp fallback directory is created (mode 0700) if missing; in every case that directory must
 * be a real directory (not a symlink) owned by the user with no group or other access. Returns
 * AC_OK, AC_E_LIMIT when the path is too long for a UNIX socket, AC_E_IO with a message otherwise. */
int ac_socket_path_resolve(const ac_config *cfg, char *out, size_t n, int create_dir, char *err);

/* Where the part of text[0..len) that the daemon gives the model starts (a byte offset; 0 when the
 * whole text fits): about cfg->context_window tokens of its tail (4 bytes a token, a generous
 * guess), cut in steps of half that so that consecutive keystrokes keep the same cut (and a
 * session's cache its prefix), moved forward to the next space or newline so that no word is cut
 * in two. The `autocorrect` client applies it in process too, so both give the same answers. */
size_t ac_config_context_start(const ac_config *cfg, const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
