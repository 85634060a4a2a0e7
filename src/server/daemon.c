/* daemon.c: `autocorrectd`'s command line: options, config lookup, socket path, then the server
 * (see daemon.h). Prints to stdout only for --help, --version and --check-config; everything else
 * goes to the log on stderr. */
#include "server/daemon.h"

#include "server/config_keys.h"
#include "server/log.h"
#include "server/server.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3 /* systemd socket activation: the first passed fd */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrectd [OPTIONS]\n"
            "\n"
            "The autocorrect daemon: serves completions and corrections from a local language model\n"
            "on a UNIX socket (newline-delimited JSON, or plain text: echo -n text | nc -U SOCKET),\n"
            "and optionally over HTTP. Runs in the foreground and logs to stderr.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE   read FILE instead of $XDG_CONFIG_HOME/autocorrect/config.toml\n"
            "  -s, --socket PATH   listen on PATH (overrides socket_path)\n"
            "  -m, --model DIR     load the model in DIR (overrides model_path; default\n"
            "                      $AUTOCORRECT_MODEL when set)\n"
            "      --check-config  check the configuration, print the effective settings, exit\n"
            "  -v, --verbose       log each request's op and timings (never its text)\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "signals: SIGTERM finishes the requests in flight and exits; SIGHUP reloads the config\n"
            "and the model without dropping connections.\n"
            "exit status: 0 success, 1 failure, 2 usage error. See autocorrectd(1) and docs/protocol.md.\n");
}

static void print_warning(void *user, const char *msg)
{
    (void)user;
    ac__log("warning: %s", msg);
}

/* An absolute version of a command-line path (relative to the working directory). */
static int absolute(const char *in, char *out, size_t n)
{
    if (in[0] == '/')
        return snprintf(out, n, "%s", in) < (int)n ? 0 : -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return snprintf(out, n, "%s/%s", cwd, in) < (int)n ? 0 : -1;
}

static int check_config(const ac_config *cfg, const char *socket_path)
{
    printf("# effective configuration (from %s)\n", cfg->source[0] ? cfg->source : "built-in defaults");
    for (size_t i = 0; ac__config_key_name(i); i++) {
        char v[AC_CONFIG_PATH_MAX + 16];
        ac__config_format_value(cfg, i, v, sizeof v);
        printf("%s = %s\n", ac__config_key_name(i), v);
    }
    printf("# socket: %s\n", socket_path);
    struct stat st;
    if (stat(cfg->model_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "autocorrectd: model_path %s is not a directory\n", cfg->model_path);
        return 1;
    }
    printf("# config OK\n");
    return 0;
}

int ac__daemon_main(int argc, char **argv, const ac_backend_ops *ops)
{
    enum { OPT_CHECK = 256 };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'},  {"check-config", no_argument, NULL, OPT_CHECK},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *socket_arg = NULL, *model_arg = NULL;
    int check = 0, verbose = 0;
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":c:s:m:vVh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 's': socket_arg = optarg; break;
        case 'm': model_arg = optarg; break;
        case OPT_CHECK: check = 1; break;
        case 'v': verbose = 1; break;
        case 'V': printf("autocorrectd %s\n", AC_SERVER_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "autocorrectd: option %s needs an argument\n\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            fprintf(stderr, "autocorrectd: unknown option %s\n\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "autocorrectd: unexpected argument '%s'\n\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* the model: --model, else $AUTOCORRECT_MODEL, else the config's (as the `autocorrect` client looks) */
    const char *model_env = getenv("AUTOCORRECT_MODEL");
    if (!model_arg && model_env && model_env[0])
        model_arg = model_env;

    ac_config cfg;
    char err[AC_ERR_SIZE];
    char config_abs[AC_CONFIG_PATH_MAX] = "";
    if (config_path && absolute(config_path, config_abs, sizeof config_abs) != 0) {
        fprintf(stderr, "autocorrectd: config path is too long\n");
        return 1;
    }
    if (ac_config_load(config_path ? config_abs : NULL, &cfg, print_warning, NULL, err) != AC_OK) {
        fprintf(stderr, "autocorrectd: %s\n", err);
        return 1;
    }
    char model_abs[AC_CONFIG_PATH_MAX] = "";
    if (model_arg) {
        if (absolute(model_arg, model_abs, sizeof model_abs) != 0) {
            fprintf(stderr, "autocorrectd: model path is too long\n");
            return 1;
        }
        snprintf(cfg.model_path, sizeof cfg.model_path, "%s", model_abs);
    }
    if (!cfg.model_path[0]) {
        fprintf(stderr, "autocorrectd: no model_path is configured and the default model "
                        "(share/autocorrect/models/default) was not found; use --model DIR\n");
        return 1;
    }
    if (socket_arg) {
        char sock_abs[AC_CONFIG_PATH_MAX];
        if (absolute(socket_arg, sock_abs, sizeof sock_abs) != 0) {
            fprintf(stderr, "autocorrectd: socket path is too long\n");
            return 1;
        }
        snprintf(cfg.socket_path, sizeof cfg.socket_path, "%s", sock_abs);
    }

    /* systemd socket activation: LISTEN_PID is us and LISTEN_FDS >= 1 */
    int listen_fd = -1;
    const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
    if (!check && lpid && lfds && strtol(lpid, NULL, 10) == (long)getpid() && strtol(lfds, NULL, 10) >= 1)
        listen_fd = SD_LISTEN_FDS_START;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");

    char sock[AC_SOCKET_PATH_MAX] = "";
    if (listen_fd < 0 && ac_socket_path_resolve(&cfg, sock, sizeof sock, !check, err) != AC_OK) {
        fprintf(stderr, "autocorrectd: %s\n", err);
        return 1;
    }
    if (check)
        return check_config(&cfg, sock);

    ac__server_params p = {
        .ops = ops,
        .config_path = config_path ? config_abs : NULL,
        .model_override = model_arg ? model_abs : NULL,
        .socket_path = sock,
        .listen_fd = listen_fd,
        .verbose = verbose,
    };
    ac__server *srv;
    if (ac__server_start(&p, &cfg, &srv, err) != AC_OK) {
        ac__log("cannot start: %s", err);
        return 1;
    }
    int rc = ac__server_run(srv);
    ac__server_free(srv);
    return rc == AC_OK ? 0 : 1;
}
