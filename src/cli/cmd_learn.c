/* cmd_learn.c: `autocorrect learn WORD...`: adds words to the user dictionary, whose words the
 * corrector never changes (and offers as candidates). Not the dictionary code (src/corrector/dict.c).
 */
#include "cli/cli.h"

#include "autocorrect/corrector.h"

#include <limits.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect learn [--user-dictionary PATH] WORD...\n"
            "\n"
            "Adds each WORD to your user dictionary, $XDG_DATA_HOME/autocorrect/user-dictionary.txt\n"
            "(XDG_DATA_HOME defaults to ~/.local/share; the file is created with mode 0600). The\n"
            "corrector never changes these words and suggests them for near misses. A WORD is letters,\n"
            "with apostrophes or hyphens inside (at most %d bytes); one already there is not added twice.\n",
            AC_WORD_MAX);
}

int ac_cmd_learn(int argc, char **argv)
{
    const char *path = NULL;
    int first = 1;
    for (; first < argc; first++) {
        if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (!strcmp(argv[first], "--user-dictionary") && first + 1 < argc) {
            path = argv[++first];
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
    char where[PATH_MAX], err[AC_ERR_SIZE];
    if (!path) {
        if (ac_dict_user_path(where, sizeof where, err)) {
            fprintf(stderr, "autocorrect learn: %s\n", err);
            return AC_EXIT_FAIL;
        }
        path = where;
    }
    int status = AC_EXIT_OK;
    for (int i = first; i < argc; i++) {
        int rc = ac_dict_add_user_word(NULL, path, argv[i], err);
        if (rc) {
            fprintf(stderr, "autocorrect learn: %s\n", err);
            status = rc == AC_E_ARG ? AC_EXIT_USAGE : AC_EXIT_FAIL;
            continue;
        }
        printf("learned '%s' (%s)\n", argv[i], path);
    }
    return status;
}
