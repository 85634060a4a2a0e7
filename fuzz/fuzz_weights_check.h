/* fuzz_weights_check.h: what fuzz_onnx.c and fuzz_safetensors.c check on weights a loader accepted.
 * Not a fuzz target (make fuzz builds only fuzz/fuzz_*.c).
 *
 * A loader that says AC_OK promises every tensor of weights.h at its documented size: reading each
 * one end to end lets AddressSanitizer catch a tensor shorter than its dims say, and the sum keeps
 * the reads from being optimised away. */
#ifndef FUZZ_WEIGHTS_CHECK_H
#define FUZZ_WEIGHTS_CHECK_H

#include "engine/weights.h"

#include <stdio.h>
#include <stdlib.h>

static volatile float fuzz_weights_sink;

static float fuzz_sum(const float *p, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static void fuzz_weights_touch(const ac__gpt2_weights *w, const char *who)
{
    char err[AC_ERR_SIZE];
    if (ac__gpt2_weights_validate(w, err) != AC_OK) {
        fprintf(stderr, "%s: the loader accepted weights that do not validate: %s\n", who, err);
        abort();
    }
    const ac__gpt2_dims *d = &w->dims;
    size_t V = (size_t)d->n_vocab, C = (size_t)d->n_embd, T = (size_t)d->n_ctx;
    float s = fuzz_sum(w->wte, V * C) + fuzz_sum(w->wpe, T * C) + fuzz_sum(w->ln_f_w, C) + fuzz_sum(w->ln_f_b, C);
    if (w->lm_head)
        s += fuzz_sum(w->lm_head, V * C);
    for (int l = 0; l < d->n_layer; l++) {
        const ac__gpt2_layer *L = &w->layers[l];
        s += fuzz_sum(L->ln_1_w, C) + fuzz_sum(L->ln_1_b, C) + fuzz_sum(L->ln_2_w, C) + fuzz_sum(L->ln_2_b, C);
        s += fuzz_sum(L->attn_w, C * 3 * C) + fuzz_sum(L->attn_b, 3 * C);
        s += fuzz_sum(L->attn_proj_w, C * C) + fuzz_sum(L->attn_proj_b, C);
        s += fuzz_sum(L->fc_w, C * 4 * C) + fuzz_sum(L->fc_b, 4 * C);
        s += fuzz_sum(L->mlp_proj_w, 4 * C * C) + fuzz_sum(L->mlp_proj_b, C);
    }
    fuzz_weights_sink = s;
}

#endif
