/* cmd_adapt.c: `autocorrect adapt FOLDER [OPTIONS]`: adapts the model to a folder of your own writing
 * by running python/adapt.py with the same arguments (training is Python's job: DESIGN.md, decision 1).
 *
 * This file is: finding the script and the interpreter, then exec. It is not: the adaptation (see
 * python/adapt.py, whose --help describes every option).
 */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADAPT_PYTHON "/usr/bin/python3" /* Debian's python3-torch lives there, not in every python3 */

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Writes the script's path into out[cap]: $AUTOCORRECT_ADAPT_SCRIPT, else the one beside this program
 * (PREFIX/bin -> PREFIX/share/autocorrect/python/adapt.py; build/bin -> the source tree's python/).
 * Returns 1 when found. */
static int find_script(char *out, size_t cap)
{
    const char *env = getenv("AUTOCORRECT_ADAPT_SCRIPT");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return is_file(out);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    *slash = 0;
    static const char *rel[] = {"../share/autocorrect/python/adapt.py", "../../python/adapt.py"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int k = snprintf(out, cap, "%s/%s", exe, rel[i]);
        if (k > 0 && (size_t)k < cap && is_file(out))
            return 1;
    }
    return 0;
}

int ac_cmd_adapt(int argc, char **argv)
{
    char script[PATH_MAX + 64];
    if (!find_script(script, sizeof script)) {
        fprintf(stderr, "autocorrect adapt: cannot find adapt.py (looked beside this program in "
                        "../share/autocorrect/python/ and ../../python/; set AUTOCORRECT_ADAPT_SCRIPT)\n");
        return AC_EXIT_FAIL;
    }
    const char *python = getenv("AUTOCORRECT_PYTHON");
    if (!python || !*python)
        python = ADAPT_PYTHON;
    /* argv[0] is "adapt": the script gets argv[1..] */
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) {
        fprintf(stderr, "autocorrect adapt: out of memory\n");
        return AC_EXIT_FAIL;
    }
    args[0] = (char *)python;
    args[1] = script;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    args[argc + 1] = NULL;
    execv(python, args);
    fprintf(stderr, "autocorrect adapt: cannot run %s: %s (set AUTOCORRECT_PYTHON to a Python 3 with PyTorch)\n",
            python, strerror(errno));
    free(args);
    return AC_EXIT_FAIL;
}
