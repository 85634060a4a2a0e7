/* bpe_train.c: placeholder (the trainer comes next). */
#include "tokenizer/bpe_internal.h"

ac_bpe_train_params ac_bpe_train_default_params(void)
{
    ac_bpe_train_params p = {50257, 256, stderr};
    return p;
}

int ac_bpe_train(const char *corpus_path, const char *out_dir, const ac_bpe_train_params *params, char *err)
{
    (void)corpus_path; (void)out_dir; (void)params;
    return ac__errorf(err, AC_E_UNSUPPORTED, "not yet");
}
