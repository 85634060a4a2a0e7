/* cmd_learn.c: `autocorrect learn WORD...`: adds words to the user dictionary, whose words the
 * corrector never changes (and offers as candidates). Through the running daemon when there is one
 * (it adds them to the dictionary it has loaded, and to the file), else to the file in process.
 * Not the dictionary code (src/corrector/dict.c).
 */
#include "cli/cli.h"
#include "cli/route.h"

#include "autocorrect/corrector.h"

#include <limits.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect learn [--user-dictionary PATH] [--json] WORD...\n"
            "\n"
            "Adds each WORD to your user dictionary, config.toml's user_dictionary_path, else\n"
            "$XDG_DATA_HOME/autocorrect/user-dictionary.txt (XDG_DATA_HOME defaults to ~/.local/share;\n"
            "the file is created with mode 0600). The corrector never changes these words and suggests\n"
            "them for near misses. A WORD is letters, with apostrophes or hyphens inside (at most %d\n"
            "bytes); one already there is not added twice. When autocorrectd runs, it learns them (it\n"
            "stops correcting them at once, and writes its user dictionary); else they go to the file.\n"
            "Prints \"learned 'WORD' (PATH)\" per word, or with --json {\"learned\":[WORDS],\n"
            "\"user_dictionary\":PATH}.\n"
            "  --user-dictionary PATH  another file, in process\n"
            "  --model PATH            accepted as by every command: in process (no model is needed)\n"
            "  --socket PATH           ask the daemon at PATH; --no-daemon: never; --config FILE: its config.toml\n",
            AC_WORD_MAX);
}

/* Asks the daemon to learn `word`: AC_OK, AC_CLIENT_UNAVAILABLE (nothing printed), AC_E_ARG for a
 * word it refused as such (bad_request), another status for other failures (message printed). */
static int learn_via_daemon(const ac_cli_route *r, const char *word)
{
    json_t *req = json_pack("{s:s,s:s}", "op", "learn", "word", word), *reply = NULL;
    int kept = 0;
    int rc = req ? ac_cli_route_call(r, req, &reply, &kept) : AC_E_NOMEM;
    json_decref(req);
    if (rc != AC_OK && kept) {
        const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
        rc = code && !strcmp(code, "bad_request") ? AC_E_ARG : rc;
    }
    json_decref(reply);
    return rc;
}

int ac_cmd_learn(int argc, char **argv)
{
    ac_cli_route route;
    argc = ac_cli_route_init(&route, "learn", argc, argv);
    if (argc < 0)
        return AC_EXIT_USAGE;
    const char *path = NULL, *model = NULL;
    int first = 1, json = 0;
    for (; first < argc; first++) {
        if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(argv[first], "--user-dictionary") && first + 1 < argc) {
            path = argv[++first];
        } else if (!strcmp(argv[first], "--model") && first + 1 < argc) {
            model = argv[++first];
        } else if (!strcmp(argv[first], "--json")) {
            json = 1;
        } else if (!strcmp(argv[first], "--")) {
            first++;
            break;
        } else if (argv[first][0] == '-' && argv[first][1] == '-') {
            fprintf(stderr, "autocorrect learn: unknown option %s (see --help)\n", argv[first]);
            return AC_EXIT_USAGE;
        } else {
            break;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    int ask = ac_cli_route_ask(&route, path ? "--user-dictionary" : model ? "--model" : NULL);
    if (ask < 0)
        return AC_EXIT_USAGE;
    char where[PATH_MAX], err[AC_ERR_SIZE];
    if (!path && route.cfg.user_dictionary_path[0]) {
        path = route.cfg.user_dictionary_path; /* the daemon's too, with the same config */
    } else if (!path) {
        if (ac_dict_user_path(where, sizeof where, err)) {
            fprintf(stderr, "autocorrect learn: %s\n", err);
            return AC_EXIT_FAIL;
        }
        path = where;
    }
    int status = AC_EXIT_OK;
    json_t *learned = json_array();
    for (int i = first; i < argc; i++) {
        /* not UTF-8: no JSON request can carry it (and no dictionary takes it): in process */
        int utf8 = ac_cli_is_utf8(argv[i], strlen(argv[i]));
        int rc = ask && utf8 ? learn_via_daemon(&route, argv[i]) : AC_CLIENT_UNAVAILABLE;
        if (rc == AC_CLIENT_UNAVAILABLE) {
            ask = ask && !utf8; /* no daemon: this word and the rest in process */
            rc = ac_dict_add_user_word(NULL, path, argv[i], err);
            if (rc)
                fprintf(stderr, "autocorrect learn: %s\n", err);
        }
        if (rc) {
            status = rc == AC_E_ARG ? AC_EXIT_USAGE : AC_EXIT_FAIL;
            continue;
        }
        if (json)
            json_array_append_new(learned, json_string(argv[i]));
        else
            printf("learned '%s' (%s)\n", argv[i], path);
    }
    if (json) {
        json_t *o = json_pack("{s:o,s:s}", "learned", learned, "user_dictionary", path);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        json_decref(learned);
    }
    if (fflush(stdout) != 0)
        status = AC_EXIT_FAIL;
    return status;
}
