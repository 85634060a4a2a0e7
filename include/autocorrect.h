/* autocorrect.h: the public C API of libautocorrect, a local autocomplete and autocorrect engine
 * built on a small GPT-2 language model.
 *
 * Usage (error handling shortened):
 *
 *     char err[AC_ERR_SIZE];
 *     ac_model *model;
 *     ac_model_params mp = ac_model_default_params();
 *     if (ac_model_load("models/default", &mp, &model, err)) { fprintf(stderr, "%s\n", err); ... }
 *     ac_bpe *bpe;
 *     ac_bpe_load("models/default", &bpe, err);
 *     ... encode the text with ac_bpe_encode, run it with an ac_session (engine.h),
 *         or ask the decoder for completions and corrections ...
 *
 * The API is split by concern into the headers below; each opens with its own contract.
 */
#ifndef AUTOCORRECT_H
#define AUTOCORRECT_H

#include "autocorrect/common.h"
#include "autocorrect/tokenizer.h"
#include "autocorrect/engine.h"
#include "autocorrect/corrector.h"
#include "autocorrect/decoder.h"

#endif
