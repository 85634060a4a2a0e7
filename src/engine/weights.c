/* weights.c: the helpers of weights.h: owned float blocks, freeing, and validation of a filled
 * ac__gpt2_weights. It is not a loader (safetensors.c, onnx_load.c) nor the runtime model (model.c).
 */
#include "engine/weights.h"

#include <stdlib.h>
#include <string.h>

/* Hard caps: far above any GPT-2 we run, low enough that sizes cannot overflow. */
#define AC__MAX_VOCAB (1 << 21)
#define AC__MAX_CTX (1 << 16)
#define AC__MAX_EMBD (1 << 14)
#define AC__MAX_HEAD 1024
#define AC__MAX_LAYER 1024

float *ac__gpt2_weights_alloc(ac__gpt2_weights *w, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sizeof(float))
        return NULL;
    if (w->n_blocks == w->cap_blocks) {
        int cap = w->cap_blocks ? 2 * w->cap_blocks : 64;
        void **bigger = realloc(w->blocks, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        w->blocks = bigger;
        w->cap_blocks = cap;
    }
    float *p = calloc(n, sizeof(float));
    if (!p)
        return NULL;
    w->blocks[w->n_blocks++] = p;
    return p;
}

void ac__gpt2_weights_release(ac__gpt2_weights *w, const float *p)
{
    if (!p)
        return;
    for (int i = w->n_blocks - 1; i >= 0; i--) {
        if (w->blocks[i] == p) {
            free(w->blocks[i]);
            w->blocks[i] = w->blocks[--w->n_blocks];
            return;
        }
    }
}

void ac__gpt2_weights_free(ac__gpt2_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_blocks; i++)
        free(w->blocks[i]);
    free(w->blocks);
    free(w->layers);
    memset(w, 0, sizeof *w);
}

int ac__gpt2_dims_validate(const ac__gpt2_dims *d, char *err)
{
    if (d->n_vocab <= 0 || d->n_vocab > AC__MAX_VOCAB)
        return ac__errorf(err, AC_E_FORMAT, "n_vocab %d is out of range [1, %d]", d->n_vocab, AC__MAX_VOCAB);
    if (d->n_ctx <= 0 || d->n_ctx > AC__MAX_CTX)
        return ac__errorf(err, AC_E_FORMAT, "n_ctx %d is out of range [1, %d]", d->n_ctx, AC__MAX_CTX);
    if (d->n_embd <= 0 || d->n_embd > AC__MAX_EMBD)
        return ac__errorf(err, AC_E_FORMAT, "n_embd %d is out of range [1, %d]", d->n_embd, AC__MAX_EMBD);
    if (d->n_head <= 0 || d->n_head > AC__MAX_HEAD)
        return ac__errorf(err, AC_E_FORMAT, "n_head %d is out of range [1, %d]", d->n_head, AC__MAX_HEAD);
    if (d->n_layer <= 0 || d->n_layer > AC__MAX_LAYER)
        return ac__errorf(err, AC_E_FORMAT, "n_layer %d is out of range [1, %d]", d->n_layer, AC__MAX_LAYER);
    if (d->n_embd % d->n_head)
        return ac__errorf(err, AC_E_FORMAT, "n_embd %d is not a multiple of n_head %d", d->n_embd, d->n_head);
    if (d->gelu != AC__GELU_TANH && d->gelu != AC__GELU_ERF)
        return ac__errorf(err, AC_E_FORMAT, "unknown GELU kind %d", d->gelu);
    if (!(d->ln_eps > 0.0f && d->ln_eps < 1.0f))
        return ac__errorf(err, AC_E_FORMAT, "LayerNorm epsilon %g is not in (0, 1)", (double)d->ln_eps);
    return AC_OK;
}

int ac__gpt2_weights_validate(const ac__gpt2_weights *w, char *err)
{
    const ac__gpt2_dims *d = &w->dims;
    int rc = ac__gpt2_dims_validate(d, err);
    if (rc)
        return rc;
    if (!w->wte || !w->wpe || !w->ln_f_w || !w->ln_f_b)
        return ac__errorf(err, AC_E_FORMAT, "%s is missing", !w->wte ? "wte" : !w->wpe ? "wpe" : "ln_f");
    if (!w->layers)
        return ac__errorf(err, AC_E_FORMAT, "the transformer blocks are missing");
    for (int l = 0; l < d->n_layer; l++) {
        const ac__gpt2_layer *L = &w->layers[l];
        const struct { const float *p; const char *name; } need[] = {
            {L->ln_1_w, "ln_1.weight"}, {L->ln_1_b, "ln_1.bias"},
            {L->attn_w, "attn.c_attn.weight"}, {L->attn_b, "attn.c_attn.bias"},
            {L->attn_proj_w, "attn.c_proj.weight"}, {L->attn_proj_b, "attn.c_proj.bias"},
            {L->ln_2_w, "ln_2.weight"}, {L->ln_2_b, "ln_2.bias"},
            {L->fc_w, "mlp.c_fc.weight"}, {L->fc_b, "mlp.c_fc.bias"},
            {L->mlp_proj_w, "mlp.c_proj.weight"}, {L->mlp_proj_b, "mlp.c_proj.bias"},
        };
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!need[i].p)
                return ac__errorf(err, AC_E_FORMAT, "h.%d.%s is missing", l, need[i].name);
    }
    return AC_OK;
}
