/* cmd_tokenizer_train.c: `autocorrect tokenizer-train`: learns a byte-level BPE vocabulary from a
 * corpus file and writes vocab.json + merges.txt. The training itself is src/tokenizer/bpe_train.c. */
#include "cli/cli.h"

#include "autocorrect/tokenizer.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: autocorrect tokenizer-train --vocab-size N --out DIR [--max-word-bytes N] [--quiet] CORPUS.txt\n"
            "\n"
            "Learns a byte-level BPE with N ids in all (256 bytes + N-257 merges + <|endoftext|>) from\n"
            "CORPUS.txt and writes DIR/vocab.json and DIR/merges.txt (Hugging Face format). Lines that\n"
            "are exactly <|endoftext|> separate documents and are not learned from. Deterministic.\n"
            "  --max-word-bytes N  pre-tokens longer than N bytes are not learned from (default 256)\n"
            "  --quiet             no progress on standard error\n");
}

int ac_cmd_tokenizer_train(int argc, char **argv)
{
    ac_bpe_train_params p = ac_bpe_train_default_params();
    p.vocab_size = 0; /* required */
    const char *out = NULL, *corpus = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vocab-size") && i + 1 < argc)
            p.vocab_size = (int32_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--max-word-bytes") && i + 1 < argc)
            p.max_word_bytes = (int32_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--quiet"))
            p.progress = NULL;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AC_EXIT_OK;
        } else if (argv[i][0] != '-' && !corpus)
            corpus = argv[i];
        else {
            fprintf(stderr, "autocorrect tokenizer-train: unexpected argument '%s'\n\n", argv[i]);
            usage(stderr);
            return AC_EXIT_USAGE;
        }
    }
    if (!out || !corpus || p.vocab_size < 257 || p.max_word_bytes < 2) {
        fprintf(stderr, "autocorrect tokenizer-train: need --vocab-size N (N >= 257), --out DIR and CORPUS\n\n");
        usage(stderr);
        return AC_EXIT_USAGE;
    }
    char err[AC_ERR_SIZE];
    if (ac_bpe_train(corpus, out, &p, err)) {
        fprintf(stderr, "autocorrect tokenizer-train: %s\n", err);
        return AC_EXIT_FAIL;
    }
    return AC_EXIT_OK;
}
