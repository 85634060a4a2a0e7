/* main.c: `autocorrect`, the command-line client. Dispatches to one subcommand per file. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AC_VERSION "0.1.0"

/* One row per subcommand, in the order `--help` lists them. */
static const ac_cli_command commands[] = {
    {"version", ac_cmd_version, "print the version"},
    {"complete", ac_cmd_complete, "completions of a text (what follows the cursor at its end)"},
    {"tokenize", ac_cmd_tokenize, "text -> token ids (or a corpus -> uint16 ids with --out-u16)"},
    {"detokenize", ac_cmd_detokenize, "token ids -> text"},
    {"tokenizer-train", ac_cmd_tokenizer_train, "learn a byte-level BPE vocabulary from a corpus"},
    {"correct", ac_cmd_correct, "spelling filter: each input line comes back corrected (or as JSON)"},
    {"learn", ac_cmd_learn, "add words to your user dictionary (never corrected)"},
    {"topk", ac_cmd_topk, "the most likely next tokens after a text or token ids, from the engine"},
    {"info", ac_cmd_info, "a model's hyperparameters and what was loaded"},
    {"adapt", ac_cmd_adapt, "fine-tune the model on a folder of your own writing (python/adapt.py)"},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: autocorrect COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nThe commands that use a model ask the running autocorrectd when there is one, else load the\n"
               "model themselves (the same answers either way). Each takes --socket PATH (that daemon, or\n"
               "fail), --no-daemon, --config FILE and --model PATH (in process, on that model).\n"
               "`autocorrect COMMAND --help` describes a command's options.\n");
}

int ac_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("autocorrect %s\n", AC_VERSION);
    return AC_EXIT_OK;
}

char *ac_cli_read_stdin(size_t max_bytes, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *data = malloc(cap + 1);
    if (!data) {
        fprintf(stderr, "autocorrect: out of memory\n");
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                fprintf(stderr, "autocorrect: input is over the limit of %zu bytes\n", max_bytes);
                free(data);
                return NULL;
            }
            cap *= 2;
            char *bigger = realloc(data, cap + 1);
            if (!bigger) {
                free(data);
                fprintf(stderr, "autocorrect: out of memory\n");
                return NULL;
            }
            data = bigger;
        }
        ssize_t got = read(STDIN_FILENO, data + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fprintf(stderr, "autocorrect: cannot read standard input: %s\n", strerror(errno));
            free(data);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    data[n] = 0;
    *len = n;
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return AC_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return AC_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version"))
        return ac_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "autocorrect: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return AC_EXIT_USAGE;
}
