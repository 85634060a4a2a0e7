/* config.c: config.toml's keys, their defaults, checks and lookup (see autocorrect/server.h).
 *
 * One table below lists every key with its type, place in ac_config and allowed range; parsing is
 * toml.c's job, this file only maps and checks values. It also finds the file ($XDG_CONFIG_HOME),
 * the shipped default model and the socket path, whose directory it checks for owner and mode.
 * It does not start anything: the daemon (daemon.c) decides what to do with a config.
 */
#include "autocorrect/server.h"
#include "server/config_keys.h"
#include "server/toml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1u << 20) /* a config file over 1 MiB is a mistake */

enum key_kind { K_STRING, K_INT, K_BOOL, K_SIZE };

typedef struct key_def {
    const char *name;
    int kind;           /* enum key_kind */
    size_t offset;      /* into ac_config */
    size_t size;        /* K_STRING: capacity of the char array */
    long long min, max; /* K_INT, K_SIZE: allowed range */
} key_def;

#define STR(f) K_STRING, offsetof(ac_config, f), sizeof(((ac_config *)0)->f), 0, 0
#define INT(f, lo, hi) K_INT, offsetof(ac_config, f), 0, lo, hi
#define BOOL(f) K_BOOL, offsetof(ac_config, f), 0, 0, 0
#define SIZE(f, lo, hi) K_SIZE, offsetof(ac_config, f), 0, lo, hi

static const key_def keys[] = {
    {"model_path", STR(model_path)},
    {"context_window", INT(context_window, 16, 65536)},
    {"beam_width", INT(beam_width, 1, 256)},
    {"completions", INT(completions, 1, 256)},
    {"quantization", BOOL(quantization)},
    {"socket_path", STR(socket_path)},
    {"threads", INT(threads, 0, 256)},
    {"workers", INT(workers, 1, 64)},
    {"deadline_ms", INT(deadline_ms, 1, 600000)},
    {"default_max_tokens", INT(default_max_tokens, 1, 4096)},
    {"cache", BOOL(cache)},
    {"max_sessions", INT(max_sessions, 1, 4096)},
    {"dictionary_path", STR(dictionary_path)},
    {"user_dictionary_path", STR(user_dictionary_path)},
    {"http_enabled", BOOL(http_enabled)},
    {"http_address", STR(http_address)},
    {"http_port", INT(http_port, 0, 65535)},
    {"http_token", STR(http_token)},
    {"max_line_bytes", SIZE(max_line_bytes, 1024, 1LL << 30)},
    {"max_clients", INT(max_clients, 1, 65536)},
    {"max_tokens", INT(max_tokens, 1, 4096)},
    {"max_beams", INT(max_beams, 1, 256)},
    {"max_queue", INT(max_queue, 1, 1 << 20)},
    {"log_requests", BOOL(log_requests)},
};

const char *ac__config_key_name(size_t i)
{
    return i < sizeof keys / sizeof keys[0] ? keys[i].name : NULL;
}

int ac__config_format_value(const ac_config *cfg, size_t i, char *out, size_t n)
{
    if (i >= sizeof keys / sizeof keys[0])
        return -1;
    const key_def *k = &keys[i];
    const char *field = (const char *)cfg + k->offset;
    switch (k->kind) {
    case K_INT: snprintf(out, n, "%d", *(const int *)field); break;
    case K_SIZE: snprintf(out, n, "%zu", *(const size_t *)field); break;
    case K_BOOL: snprintf(out, n, "%s", *(const bool *)field ? "true" : "false"); break;
    case K_STRING: {
        if (!strcmp(k->name, "http_token") && field[0]) {
            snprintf(out, n, "\"(set)\"");
            break;
        }
        size_t o = 0;
        if (n < 3)
            return -1;
        out[o++] = '"';
        for (const char *p = field; *p && o + 4 < n; p++) {
            if (*p == '"' || *p == '\\')
                out[o++] = '\\';
            out[o++] = *p;
        }
        out[o++] = '"';
        out[o] = 0;
        break;
    }
    }
    return 0;
}

void ac_config_default(ac_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context_window = 128;
    /* the best 5 of 8 beams: they save more typing than 5 of 5 (README "Quality": mail 45.2% against
     * 44.3%, prose 46.6% against 45.8%) for about 1.6 ms more a keystroke (bench/bench_daemon.sh) */
    cfg->beam_width = 8;
    cfg->completions = 5;
    cfg->quantization = true;
    cfg->threads = 0;
    cfg->workers = 2;
    cfg->deadline_ms = 100;
    cfg->default_max_tokens = 6;
    cfg->cache = true;
    cfg->max_sessions = 16;
    snprintf(cfg->http_address, sizeof cfg->http_address, "127.0.0.1");
    cfg->http_port = 8177;
    cfg->max_line_bytes = 1u << 20;
    cfg->max_clients = 64;
    cfg->max_tokens = 64;
    cfg->max_beams = 16;
    cfg->max_queue = 256;
}

/* Edit distance, for "did you mean" on unknown keys (keys are short). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

typedef struct parse_ctx {
    ac_config *cfg;
    const char *filename;
    ac_config_warn_fn warn;
    void *user;
} parse_ctx;

static int visit_key(void *user, const char *key, const ac__toml_value *v, int line, char *err)
{
    parse_ctx *ctx = user;
    const key_def *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].name, key))
            k = &keys[i];
    if (!k) {
        if (ctx->warn) {
            const char *best = NULL;
            size_t best_d = 3;
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                size_t d = edit_distance(key, keys[i].name);
                if (d < best_d) {
                    best_d = d;
                    best = keys[i].name;
                }
            }
            char msg[AC_ERR_SIZE + 128];
            snprintf(msg, sizeof msg, "%s:%d: unknown key '%.100s' (ignored)%s%s%s", ctx->filename, line, key,
                     best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
            ctx->warn(ctx->user, msg);
        }
        return AC_OK;
    }
    char *field = (char *)ctx->cfg + k->offset;
    switch (k->kind) {
    case K_STRING:
        if (v->type != AC__TOML_STRING)
            return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': expected a string, got %s", ctx->filename, line,
                              key, ac__toml_type_name(v->type));
        if (v->str_len >= k->size)
            return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': value is %zu bytes, over the limit of %zu",
                              ctx->filename, line, key, v->str_len, k->size - 1);
        memcpy(field, v->str, v->str_len + 1);
        return AC_OK;
    case K_BOOL:
        if (v->type != AC__TOML_BOOL)
            return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': expected true or false, got %s", ctx->filename,
                              line, key, ac__toml_type_name(v->type));
        *(bool *)field = v->boolean;
        return AC_OK;
    case K_INT:
    case K_SIZE:
        if (v->type != AC__TOML_INTEGER)
            return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': expected an integer, got %s", ctx->filename, line,
                              key, ac__toml_type_name(v->type));
        if (v->integer < k->min || v->integer > k->max)
            return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': %lld is out of range (%lld to %lld)", ctx->filename,
                              line, key, (long long)v->integer, k->min, k->max);
        if (k->kind == K_INT)
            *(int *)field = (int)v->integer;
        else
            *(size_t *)field = (size_t)v->integer;
        return AC_OK;
    }
    return ac__errorf(err, AC_E_ARG, "%s:%d: key '%s': internal error", ctx->filename, line, key);
}

/* Checks between keys, after a whole file has been read. */
static int check_consistency(const ac_config *cfg, const char *filename, char *err)
{
    if (cfg->beam_width > cfg->max_beams)
        return ac__errorf(err, AC_E_ARG, "%s: key 'beam_width': %d is over max_beams (%d)", filename,
                          cfg->beam_width, cfg->max_beams);
    if (cfg->default_max_tokens > cfg->max_tokens)
        return ac__errorf(err, AC_E_ARG, "%s: key 'default_max_tokens': %d is over max_tokens (%d)", filename,
                          cfg->default_max_tokens, cfg->max_tokens);
    if (!cfg->http_address[0])
        return ac__errorf(err, AC_E_ARG, "%s: key 'http_address': must not be empty", filename);
    struct in_addr a4;
    struct in6_addr a6;
    int v4 = inet_pton(AF_INET, cfg->http_address, &a4) == 1;
    int v6 = !v4 && inet_pton(AF_INET6, cfg->http_address, &a6) == 1;
    if (!v4 && !v6)
        return ac__errorf(err, AC_E_ARG, "%s: key 'http_address': '%.64s' is not a numeric IPv4 or IPv6 address",
                          filename, cfg->http_address);
    int loopback = v4 ? (ntohl(a4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&a6);
    if (cfg->http_enabled && !loopback && !cfg->http_token[0])
        return ac__errorf(err, AC_E_ARG,
                          "%s: key 'http_token': required when http_address (%.64s) is not a loopback address",
                          filename, cfg->http_address);
    return AC_OK;
}

int ac_config_parse(const char *text, size_t len, const char *filename, ac_config *cfg,
                    ac_config_warn_fn warn, void *user, char *err)
{
    parse_ctx ctx = {cfg, filename ? filename : "(config)", warn, user};
    int rc = ac__toml_parse(text, len, ctx.filename, visit_key, &ctx, err);
    if (rc)
        return rc;
    return check_consistency(cfg, ctx.filename, err);
}

/* "~/x" -> "$HOME/x"; a relative path -> relative to base_dir (when base_dir is not empty). */
static int expand_path(char *path, size_t cap, const char *base_dir, const char *key, char *err)
{
    if (!path[0])
        return AC_OK;
    char out[AC_CONFIG_PATH_MAX];
    int n;
    if (path[0] == '~' && (path[1] == '/' || path[1] == 0)) {
        const char *home = getenv("HOME");
        if (!home || !home[0])
            return ac__errorf(err, AC_E_ARG, "key '%s': cannot expand '~': HOME is not set", key);
        n = snprintf(out, sizeof out, "%s%s", home, path + 1);
    } else if (path[0] != '/' && base_dir && base_dir[0]) {
        n = snprintf(out, sizeof out, "%s/%s", base_dir, path);
    } else {
        return AC_OK;
    }
    if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof out)
        return ac__errorf(err, AC_E_LIMIT, "key '%s': the expanded path is too long", key);
    memcpy(path, out, (size_t)n + 1);
    return AC_OK;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The shipped model directory: next to an installed binary, or in the source tree. */
static int find_default_model(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        static const char *rel[] = {
            "../share/autocorrect/models/default", /* PREFIX/bin -> PREFIX/share */
            "../../models/default",                /* build/bin in the source tree */
            "../../../models/default",             /* build/tests/<module> in the source tree */
        };
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            char cand[PATH_MAX + 64];
            snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
            char real[PATH_MAX];
            if (is_dir(cand) && realpath(cand, real) && strlen(real) < cap) {
                snprintf(out, cap, "%s", real);
                return 1;
            }
        }
    }
    static const char *fixed[] = {"/usr/local/share/autocorrect/models/default",
                                  "/usr/share/autocorrect/models/default"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (is_dir(fixed[i]) && strlen(fixed[i]) < cap) {
            snprintf(out, cap, "%s", fixed[i]);
            return 1;
        }
    return 0;
}

int ac_config_resolve_paths(ac_config *cfg, char *err)
{
    char base[AC_CONFIG_PATH_MAX] = "";
    if (cfg->source[0]) {
        snprintf(base, sizeof base, "%s", cfg->source);
        char *slash = strrchr(base, '/');
        if (slash)
            *(slash == base ? slash + 1 : slash) = 0;
        else
            base[0] = 0; /* a file in the working directory: relative paths stay relative to it */
    }
    int rc;
    if ((rc = expand_path(cfg->model_path, sizeof cfg->model_path, base, "model_path", err)) ||
        (rc = expand_path(cfg->dictionary_path, sizeof cfg->dictionary_path, base, "dictionary_path", err)) ||
        (rc = expand_path(cfg->user_dictionary_path, sizeof cfg->user_dictionary_path, base,
                          "user_dictionary_path", err)) ||
        (rc = expand_path(cfg->socket_path, sizeof cfg->socket_path, base, "socket_path", err)))
        return rc;
    if (!cfg->user_dictionary_path[0]) {
        const char *data = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (data && data[0] == '/')
            snprintf(cfg->user_dictionary_path, sizeof cfg->user_dictionary_path,
                     "%s/autocorrect/user-dictionary.txt", data);
        else if (home && home[0])
            snprintf(cfg->user_dictionary_path, sizeof cfg->user_dictionary_path,
                     "%s/.local/share/autocorrect/user-dictionary.txt", home);
    }
    char shipped[AC_CONFIG_PATH_MAX] = "";
    int have_shipped = find_default_model(shipped, sizeof shipped);
    if (!cfg->model_path[0] && have_shipped)
        snprintf(cfg->model_path, sizeof cfg->model_path, "%s", shipped); /* stays "" when there is none */
    /* the dictionary: the model's own dictionary.tsv, else the shipped one */
    if (!cfg->dictionary_path[0]) {
        const char *dirs[2] = {cfg->model_path, have_shipped ? shipped : ""};
        for (int i = 0; i < 2 && !cfg->dictionary_path[0]; i++) {
            char cand[AC_CONFIG_PATH_MAX + 32];
            struct stat st;
            int n = dirs[i][0] ? snprintf(cand, sizeof cand, "%s/dictionary.tsv", dirs[i]) : -1;
            if (n > 0 && n < (int)sizeof cfg->dictionary_path && stat(cand, &st) == 0 && S_ISREG(st.st_mode))
                memcpy(cfg->dictionary_path, cand, (size_t)n + 1);
        }
    }
    return AC_OK;
}

int ac_config_load(const char *path, ac_config *cfg, ac_config_warn_fn warn, void *user, char *err)
{
    ac_config_default(cfg);
    char found[AC_CONFIG_PATH_MAX] = "";
    if (path) {
        if (strlen(path) >= sizeof found)
            return ac__errorf(err, AC_E_LIMIT, "config path is too long");
        snprintf(found, sizeof found, "%s", path);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        int n = -1;
        if (xdg && xdg[0] == '/')
            n = snprintf(found, sizeof found, "%s/autocorrect/config.toml", xdg);
        else if (home && home[0])
            n = snprintf(found, sizeof found, "%s/.config/autocorrect/config.toml", home);
        if (n < 0 || (size_t)n >= sizeof found || access(found, F_OK) != 0)
            found[0] = 0;
    }
    if (found[0]) {
        char *text;
        size_t len;
        int rc = ac_file_read(found, CONFIG_FILE_MAX, &text, &len, err);
        if (rc)
            return rc;
        rc = ac_config_parse(text, len, found, cfg, warn, user, err);
        free(text);
        if (rc)
            return rc;
        snprintf(cfg->source, sizeof cfg->source, "%s", found);
    }
    return ac_config_resolve_paths(cfg, err);
}

size_t ac_config_context_start(const ac_config *cfg, const char *text, size_t len)
{
    size_t keep = cfg->context_window > 0 ? (size_t)cfg->context_window * 4 : 0, step = keep / 2;
    if (len <= keep || step == 0)
        return 0;
    size_t k = (len - keep + step - 1) / step;
    size_t at = k * step;
    while (at < len && text[at] != ' ' && text[at] != '\n')
        at++;
    return at < len ? at : k * step;
}

/* Checks that dir is a real directory of ours with no group or other access. */
static int check_private_dir(const char *dir, char *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return ac__errorf(err, AC_E_IO, "cannot use socket directory %s: %s", dir, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return ac__errorf(err, AC_E_IO, "socket directory %s is a symbolic link: refusing it", dir);
    if (!S_ISDIR(st.st_mode))
        return ac__errorf(err, AC_E_IO, "socket directory %s is not a directory", dir);
    if (st.st_uid != geteuid())
        return ac__errorf(err, AC_E_IO, "socket directory %s belongs to uid %u, not to us (%u): refusing it", dir,
                          (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 077)
        return ac__errorf(err, AC_E_IO, "socket directory %s has mode %03o; it must be 0700", dir,
                          (unsigned)(st.st_mode & 0777));
    return AC_OK;
}

int ac_socket_path_resolve(const ac_config *cfg, char *out, size_t n, int create_dir, char *err)
{
    char path[AC_CONFIG_PATH_MAX];
    const char *env_sock = NULL;
    if (cfg && cfg->socket_path[0]) {
        snprintf(path, sizeof path, "%s", cfg->socket_path);
    } else if ((env_sock = getenv("XDG_RUNTIME_DIR")) && env_sock[0] == '/') {
        /* systemd's runtime directory is already private (0700, ours) */
        snprintf(path, sizeof path, "%s/autocorrect.sock", env_sock);
    } else {
        /* $TMPDIR is the user's choice as much as /tmp is; the checks below apply either way */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > 60)
            tmp = "/tmp";
        char dir[96];
        snprintf(dir, sizeof dir, "%s/autocorrect-%u", tmp, (unsigned)geteuid());
        if (create_dir && mkdir(dir, 0700) != 0 && errno != EEXIST)
            return ac__errorf(err, AC_E_IO, "cannot create socket directory %s: %s", dir, strerror(errno));
        if (create_dir || access(dir, F_OK) == 0) {
            int rc = check_private_dir(dir, err);
            if (rc)
                return rc;
        }
        snprintf(path, sizeof path, "%s/autocorrect.sock", dir);
    }
    if (strlen(path) >= AC_SOCKET_PATH_MAX || strlen(path) >= n)
        return ac__errorf(err, AC_E_LIMIT, "socket path %.80s... is too long for a UNIX socket (%d bytes at most)",
                          path, AC_SOCKET_PATH_MAX - 1);
    snprintf(out, n, "%s", path);
    return AC_OK;
}
