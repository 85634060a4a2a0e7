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
int ac_cmd_complete(int argc, char **argv);
int ac_cmd_tokenize(int argc, char **argv);
int ac_cmd_detokenize(int argc, char **argv);
int ac_cmd_tokenizer_train(int argc, char **argv);
int ac_cmd_correct(int argc, char **argv);
int ac_cmd_learn(int argc, char **argv);
int ac_cmd_topk(int argc, char **argv);
int ac_cmd_info(int argc, char **argv);
int ac_cmd_adapt(int argc, char **argv);

/* `complete`, in three steps the daemon client shares (cmd_complete.c): parse the options (returns an
 * exit status to return at once, or -1 to go on; free with ac_cli_complete_opts_free), complete (in
 * process: loads the model for one request; or from the daemon's reply), print one completion per
 * line or the JSON object, the same whichever answered. */
#include "autocorrect/decoder.h"
struct ac_cli_route;
typedef struct ac_cli_complete_opts {
    const char *model, *tokenizer; /* NULL: the defaults */
    const struct ac_cli_route *route; /* the configuration and the model lookup (route.h); NULL: the user's */
    int json, threads, int8;
    ac_complete_params params;
    char *text;                    /* the text before the cursor (owned) */
    size_t text_len;
} ac_cli_complete_opts;
void ac_cli_complete_opts_init(ac_cli_complete_opts *o);
int ac_cli_complete_parse(int argc, char **argv, ac_cli_complete_opts *o);
void ac_cli_complete_opts_free(ac_cli_complete_opts *o);
int ac_cli_complete_in_process(const ac_cli_complete_opts *o, ac_complete_result *r, char *err);
int ac_cli_complete_print(FILE *f, const ac_cli_complete_opts *o, const ac_complete_result *r);

/* `correct`, split the same way (cmd_correct.c): parse the options (an exit status to return at
 * once, or -1 to go on), then per input line print the corrected line or its JSON object (no
 * newline; `status` is ac_correct_text's: AC_E_FORMAT for a line that is not UTF-8). */
#include "autocorrect/corrector.h"
typedef struct ac_cli_correct_opts {
    const char *model, *dictionary, *user_dictionary; /* NULL: the defaults */
    const char *text;                                 /* one TEXT argument, or NULL: standard input */
    int json, threads, candidates, no_user_dictionary, int8;
} ac_cli_correct_opts;
void ac_cli_correct_opts_init(ac_cli_correct_opts *o);
int ac_cli_correct_parse(int argc, char **argv, ac_cli_correct_opts *o);
int ac_cli_correct_print(FILE *f, const ac_cli_correct_opts *o, const char *line, size_t len,
                         const ac_correction *c, int n, int status);
/* The whole filter through the running daemon (correct_daemon.c): -1 when no daemon answers
 * (nothing read or printed: run in process), else the exit status. */
int ac_cli_correct_via_daemon(const struct ac_cli_route *r, const ac_cli_correct_opts *o);

#endif
