/* main.c: `autocorrectd`, the autocorrect daemon. Its command line and server live in the library
 * (src/server/daemon.c) so the tests can run the very same code with a fake backend; this program
 * only picks the real backend: the model, tokenizer, decoder and corrector. */
#include "server/daemon.h"

int main(int argc, char **argv)
{
    return ac__daemon_main(argc, argv, &ac__backend_model_ops);
}
