/* cli.h: the `autocorrect` command-line program's subcommands.
 *
 * Each subcommand lives in its own file src/cli/cmd_<name>.c as `int ac_cmd_<name>(int argc,
 * char **argv)` (argv[0] is the subcommand's name) and has one row in the table in src/cli/main.c.
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage error.
 */
#ifndef AC_CLI_H
#define AC_CLI_H

#include <stdio.h>

enum { AC_EXIT_OK = 0, AC_EXIT_FAIL = 1, AC_EXIT_USAGE = 2 };

typedef struct ac_cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `autocorrect --help` */
} ac_cli_command;

/* Reads all of stdin into a malloc'ed NUL-terminated buffer; returns NULL on error (message printed). */
char *ac_cli_read_stdin(size_t max_bytes, size_t *len);

/* The subcommands (one file each). */
int ac_cmd_version(int argc, char **argv);

#endif
