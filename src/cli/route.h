/* route.h: what every `autocorrect` command that can use the daemon shares (src/cli/route.c): the
 * common options, the choice between the daemon and running in process, the one lookup of the
 * configured model, and the JSON helpers the two paths share so that their output is the same.
 *
 *     ac_cli_route r;
 *     argc = ac_cli_route_init(&r, "complete", argc, argv);   // strips --socket, --no-daemon, --config
 *     if (argc < 0) return AC_EXIT_USAGE;
 *     ... parse the command's own options (--model, --json, ...) ...
 *     int ask = ac_cli_route_ask(&r, model_given ? "--model" : NULL);   // 1: try the daemon
 *     if (ask < 0) return AC_EXIT_USAGE;                                 // --socket with --model
 *     if (ask) {
 *         json_t *reply;
 *         int rc = ac_cli_route_call(&r, request, &reply);
 *         if (rc == AC_OK) { ... print from the reply ...; return 0; }
 *         if (rc != AC_CLIENT_UNAVAILABLE) return AC_EXIT_FAIL;          // message printed
 *     }
 *     char model[AC_CONFIG_PATH_MAX], err[AC_ERR_SIZE];
 *     if (ac_cli_route_model(&r, model_arg, model, sizeof model, err)) ...  // the same lookup as the daemon
 *
 * The rule: a command asks the daemon unless it was given --no-daemon, or an option that names what
 * to load (--model, --tokenizer, --dictionary ...: that is run in process), and runs in process when
 * no daemon answers. An explicit --socket (or $AUTOCORRECT_SOCKET) that nobody answers is an error,
 * not a fallback. Not the protocol client itself (client.h) nor any command's options.
 */
#ifndef AC_CLI_ROUTE_H
#define AC_CLI_ROUTE_H

#include "autocorrect/server.h"
#include "cli/client.h"

#include <jansson.h>
#include <stddef.h>

typedef struct ac_cli_route {
    const char *cmd;          /* the command's name, for messages ("complete") */
    const char *socket;       /* --socket PATH, or NULL: the usual lookup (client.h) */
    const char *config_arg;   /* --config FILE as given, or NULL: $XDG_CONFIG_HOME/autocorrect/config.toml */
    int no_daemon;            /* --no-daemon */
    int config_rc;            /* AC_OK when cfg was read; else the error, with config_err */
    char config_err[AC_ERR_SIZE];
    ac_config cfg;            /* the configuration (defaults when it could not be read) */
} ac_cli_route;

/* Takes the common options out of argv, in place (argv[0] stays): --socket PATH, --no-daemon and
 * --config FILE (each also as --opt=VALUE), and reads the configuration (--config, else the user's
 * config.toml, else defaults) into r->cfg, as the daemon does. A config that cannot be read is
 * remembered (r->config_rc) and reported by the calls that need it. Returns the new argc, or -1 after
 * printing a usage error (--config without a value; --socket with --no-daemon). */
int ac_cli_route_init(ac_cli_route *r, const char *cmd, int argc, char **argv);

/* Whether the command should ask the daemon: 1 yes, 0 no (--no-daemon, or `in_process_option`, the
 * name of an option the command was given that asks for work in process, e.g. "--model"; NULL when
 * none was). -1 after printing a usage error: --socket together with such an option. */
int ac_cli_route_ask(const ac_cli_route *r, const char *in_process_option);

/* Sends `request` (not consumed) to the daemon and waits for its reply. Returns AC_OK with *reply
 * (a new reference, to json_decref) when the daemon answered; AC_CLIENT_UNAVAILABLE when no daemon
 * listens and none was asked for explicitly (run in process: nothing was printed); any other status
 * after printing "autocorrect CMD: MESSAGE" (the daemon's error, a cancelled request, no daemon at
 * an explicit --socket...): the command then exits 1. On an error reply *reply is still set (to read
 * its error code) when `keep_error_reply` is not NULL, with *keep_error_reply = 1. */
int ac_cli_route_call(const ac_cli_route *r, json_t *request, json_t **reply, int *keep_error_reply);

/* The model directory the running daemon loaded (its `info` reply's model.path), for work that
 * cannot travel as JSON but must use the daemon's model (bytes that are not UTF-8). Writes it to
 * out[n] and, when `quantize` is not NULL, its weights (an enum ac_quant) to *quantize. Returns AC_OK,
 * AC_CLIENT_UNAVAILABLE (no daemon; nothing printed), or another status after printing a message. */
int ac_cli_route_daemon_model(const ac_cli_route *r, char *out, size_t n, int *quantize);

/* The model a command runs in process: `model_arg` (its --model) when not NULL, else
 * $AUTOCORRECT_MODEL when set and not empty, else the configuration's model_path (config.toml's,
 * relative to the config file, else the shipped default: PREFIX/share/autocorrect/models/default next
 * to the installed program, or models/default in the source tree; see ac_config_resolve_paths). The
 * daemon looks the same way. A relative path is made absolute (against the working directory).
 * Writes it to out[n]; AC_OK, or an error with a message in err that says what to do (no model
 * configured or built yet: pass --model, start autocorrectd...). Only checks that there is a path. */
int ac_cli_route_model(const ac_cli_route *r, const char *model_arg, char *out, size_t n, char *err);

/* Checks that `model` (a directory or a file) exists and, for a directory, that it holds a model
 * (model.onnx, or config.json + model.safetensors). AC_OK, or AC_E_IO with a message naming the
 * path and what to do ("pass --model DIR"; for the shipped default: it is not built yet). */
int ac_cli_route_check_model(const char *model, char *err);

/* The directory of a model's tokenizer files: `model` itself when it is a directory, else the
 * directory the file is in. Writes it to out[n]. */
void ac_cli_route_tokenizer_dir(const char *model, char *out, size_t n);

/* The weights a command loads in process: int8 when `int8_flag` (its --int8), f32 when the model
 * was named on the command line (`model_arg` not NULL: the file as it is), else as the daemon loads
 * the configured model (config.toml's `quantization`, on by default). An enum ac_quant. */
int ac_cli_route_quantize(const ac_cli_route *r, const char *model_arg, int int8_flag);

/* A JSON string of bytes that may not be valid UTF-8: invalid bytes become U+FFFD (as the daemon
 * sends them). A new reference; NULL only when out of memory. */
json_t *ac_cli_json_text(const char *s, size_t n);

/* x as the daemon's replies carry it: 6 significant digits (protocol.c writes JSON_REAL_PRECISION(6)).
 * The in-process path rounds its numbers through this before printing, so that both print the same. */
double ac_cli_sig6(double x);

/* 1 when s[0..n) is valid UTF-8 that a JSON request can carry, else 0. */
int ac_cli_is_utf8(const char *s, size_t n);

#endif
