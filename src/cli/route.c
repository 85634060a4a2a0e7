/* route.c: the daemon-or-in-process choice every routed `autocorrect` command shares (see route.h):
 * the common options, the configuration, the one lookup of the model to load in process, and the
 * JSON text helper. Not the protocol client (client.c) and no command's own options.
 */
#include "cli/route.h"

#include "cli/cli.h"
#include "autocorrect/engine.h"
#include "server/protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An absolute version of a command-line path (relative to the working directory), as the daemon
 * makes its --config and --model. */
static int absolute(const char *in, char *out, size_t n)
{
    if (in[0] == '/')
        return snprintf(out, n, "%s", in) < (int)n ? 0 : -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return snprintf(out, n, "%s/%s", cwd, in) < (int)n ? 0 : -1;
}

int ac_cli_route_init(ac_cli_route *r, const char *cmd, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    r->cmd = cmd;
    argc = ac_client_take_options(argc, argv, &r->socket, &r->no_daemon);
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) { /* the rest is text, not options */
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "autocorrect %s: --config needs a value\n", cmd);
                return -1;
            }
            r->config_arg = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            r->config_arg = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    if (out < argc)
        argv[out] = NULL;
    if (r->socket && !r->socket[0]) {
        fprintf(stderr, "autocorrect %s: --socket needs a path\n", cmd);
        return -1;
    }
    if (r->socket && r->no_daemon) {
        fprintf(stderr, "autocorrect %s: --socket and --no-daemon exclude each other\n", cmd);
        return -1;
    }
    char path[AC_CONFIG_PATH_MAX];
    if (r->config_arg && absolute(r->config_arg, path, sizeof path) != 0) {
        r->config_rc = ac__errorf(r->config_err, AC_E_LIMIT, "the config path is too long");
    } else {
        r->config_rc = ac_config_load(r->config_arg ? path : NULL, &r->cfg, NULL, NULL, r->config_err);
    }
    if (r->config_rc != AC_OK)
        ac_config_default(&r->cfg);
    return out;
}

int ac_cli_route_ask(const ac_cli_route *r, const char *in_process_option)
{
    if (in_process_option && r->socket) {
        fprintf(stderr, "autocorrect %s: %s runs in process; it cannot go with --socket (the daemon answers "
                        "with the model it loaded)\n", r->cmd, in_process_option);
        return -1;
    }
    return !r->no_daemon && !in_process_option;
}

int ac_cli_route_call(const ac_cli_route *r, json_t *request, json_t **reply, int *keep_error_reply)
{
    *reply = NULL;
    if (keep_error_reply)
        *keep_error_reply = 0;
    if (r->config_rc != AC_OK && r->config_arg) {
        fprintf(stderr, "autocorrect %s: %s\n", r->cmd, r->config_err);
        return r->config_rc;
    }
    char err[AC_ERR_SIZE];
    /* a broken user config: the socket's default place, as client.c does */
    int rc = ac_client_call_cfg(r->socket, r->config_rc == AC_OK ? &r->cfg : NULL, request, reply, err);
    if (rc == AC_CLIENT_UNAVAILABLE)
        return rc;
    if (rc == AC_OK && json_is_true(json_object_get(*reply, "cancelled"))) {
        const char *why = json_string_value(json_object_get(*reply, "reason"));
        snprintf(err, sizeof err, "the daemon cancelled the request (%s)", why ? why : "cancelled");
        rc = AC_E_CANCELLED;
    }
    if (rc != AC_OK) {
        fprintf(stderr, "autocorrect %s: %s\n", r->cmd, err);
        if (keep_error_reply && *reply) {
            *keep_error_reply = 1;
        } else {
            json_decref(*reply);
            *reply = NULL;
        }
    }
    return rc;
}

int ac_cli_route_daemon_model(const ac_cli_route *r, char *out, size_t n, int *quantize)
{
    json_t *req = json_pack("{s:s}", "op", "info"), *reply = NULL;
    int rc = req ? ac_cli_route_call(r, req, &reply, NULL) : AC_E_NOMEM;
    json_decref(req);
    if (rc != AC_OK)
        return rc;
    json_t *model = json_object_get(reply, "model");
    const char *path = json_string_value(json_object_get(model, "path"));
    const char *q = json_string_value(json_object_get(model, "quantization"));
    if (!path || strlen(path) >= n) {
        fprintf(stderr, "autocorrect %s: the daemon did not say which model it runs\n", r->cmd);
        json_decref(reply);
        return AC_E_FORMAT;
    }
    snprintf(out, n, "%s", path);
    if (quantize)
        *quantize = q && !strcmp(q, "int8") ? AC_QUANT_INT8 : AC_QUANT_F32;
    json_decref(reply);
    return AC_OK;
}

int ac_cli_route_model(const ac_cli_route *r, const char *model_arg, char *out, size_t n, char *err)
{
    const char *env = getenv("AUTOCORRECT_MODEL");
    const char *given = model_arg ? model_arg : env && env[0] ? env : NULL;
    if (given) {
        if (!given[0])
            return ac__errorf(err, AC_E_ARG, "--model needs a path");
        if (absolute(given, out, n) != 0)
            return ac__errorf(err, AC_E_LIMIT, "the model path %.60s... is too long", given);
        return AC_OK;
    }
    if (r->config_rc != AC_OK)
        return ac__errorf(err, r->config_rc, "%s", r->config_err);
    if (!r->cfg.model_path[0])
        return ac__errorf(err, AC_E_ARG, "no model: pass --model DIR, set model_path in config.toml, or start "
                                         "autocorrectd with a model (the default model was not found)");
    if (strlen(r->cfg.model_path) >= n)
        return ac__errorf(err, AC_E_LIMIT, "the model path is too long");
    snprintf(out, n, "%s", r->cfg.model_path);
    return AC_OK;
}

static int exists_in(const char *dir, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p && stat(p, &st) == 0;
}

int ac_cli_route_check_model(const char *model, char *err)
{
    struct stat st;
    if (stat(model, &st) != 0)
        return ac__errorf(err, AC_E_IO, "no model at %s (pass --model DIR)", model);
    if (!S_ISDIR(st.st_mode))
        return AC_OK; /* a file: the loader says what is wrong with it */
    if (exists_in(model, "model.onnx") || (exists_in(model, "config.json") && exists_in(model, "model.safetensors")))
        return AC_OK;
    const char *tail = strrchr(model, '/');
    int shipped = tail && !strcmp(tail, "/default") && strstr(model, "models/default");
    return ac__errorf(err, AC_E_IO, "%s holds no model (model.onnx, or config.json + model.safetensors)%s; pass "
                                    "--model DIR or start autocorrectd with a model", model,
                      shipped ? ": the default model is not built yet (make model)" : "");
}

void ac_cli_route_tokenizer_dir(const char *model, char *out, size_t n)
{
    struct stat st;
    snprintf(out, n, "%s", model);
    if (stat(model, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, n, ".");
    else if (slash == out)
        out[1] = 0;
    else
        *slash = 0;
}

int ac_cli_route_quantize(const ac_cli_route *r, const char *model_arg, int int8_flag)
{
    if (int8_flag)
        return AC_QUANT_INT8;
    if (model_arg)
        return AC_QUANT_F32;
    return r->cfg.quantization ? AC_QUANT_INT8 : AC_QUANT_F32;
}

double ac_cli_sig6(double x)
{
    if (!isfinite(x))
        return x;
    char b[40];
    snprintf(b, sizeof b, "%.6g", x); /* what jansson writes for JSON_REAL_PRECISION(6) */
    return strtod(b, NULL);
}

int ac_cli_is_utf8(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

json_t *ac_cli_json_text(const char *s, size_t n)
{
    return ac__json_text(s, n); /* the daemon's own repair, so that both paths print the same */
}
