/* reference.c: the reference forward pass: the whole sequence from scratch, with the naive kernels
 * and a plain contiguous cache, written to read like python/model.py. Tests compare the real
 * forward pass (paged cache, fast kernels, threads, batching) against it. It is not used on the
 * typing path and allocates as it goes.
 */
#include "engine/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y[r][j] (+)= b[j] + sum_i x[r][i] W[i][j] for r < n, W [n_in][n_out] (Conv1D layout): the plain
 * loops the packed kernels are checked against. */
static void linear(float *y, int ldy, const float *x, int ldx, const float *W, const float *b, int n, int n_in,
                   int n_out, int accumulate)
{
    for (int r = 0; r < n; r++)
        for (int j = 0; j < n_out; j++) {
            float a = 0.0f;
            for (int i = 0; i < n_in; i++)
                a += x[(size_t)r * ldx + i] * W[(size_t)i * n_out + j];
            float v = a + b[j];
            y[(size_t)r * ldy + j] = accumulate ? y[(size_t)r * ldy + j] + v : v;
        }
}

int ac__forward_reference(const ac__gpt2_weights *w, const int32_t *ids, int n, float *logits, char *err)
{
    const ac__gpt2_dims *d = &w->dims;
    const int C = d->n_embd, H = d->n_head, hd = C / H, V = d->n_vocab;
    if (n < 1 || n > d->n_ctx)
        return ac__errorf(err, AC_E_ARG, "reference forward: %d tokens, want 1..%d", n, d->n_ctx);
    for (int t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= V)
            return ac__errorf(err, AC_E_ARG, "reference forward: token id %d out of range", (int)ids[t]);
    for (int l = 0; l < d->n_layer; l++)
        if (!w->layers[l].attn_w)
            return ac__errorf(err, AC_E_ARG, "reference forward needs the float32 matrices as loaded (a model's are packed)");
    const ac__kernels *k = &ac__kernels_naive;
    float *h = malloc(sizeof(float) * n * C);        /* [n][C] residual stream */
    float *a = malloc(sizeof(float) * n * C);        /* [n][C] LayerNorm output */
    float *qkv = malloc(sizeof(float) * n * 3 * C);  /* [n][3C] */
    float *att = malloc(sizeof(float) * n * C);      /* [n][C] */
    float *mlp = malloc(sizeof(float) * n * 4 * C);  /* [n][4C] */
    float *s = malloc(sizeof(float) * n);            /* [n] attention scores of one query */
    if (!h || !a || !qkv || !att || !mlp || !s) {
        free(h), free(a), free(qkv), free(att), free(mlp), free(s);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    for (int t = 0; t < n; t++)
        for (int i = 0; i < C; i++)
            h[t * C + i] = w->wte[(size_t)ids[t] * C + i] + w->wpe[(size_t)t * C + i];
    for (int l = 0; l < d->n_layer; l++) {
        const ac__gpt2_layer *L = &w->layers[l];
        for (int t = 0; t < n; t++)
            k->layernorm(a + t * C, h + t * C, L->ln_1_w, L->ln_1_b, C, d->ln_eps);
        linear(qkv, 3 * C, a, C, L->attn_w, L->attn_b, n, C, 3 * C, 0);
        for (int hh = 0; hh < H; hh++)
            for (int t = 0; t < n; t++) {
                const float *q = qkv + t * 3 * C + hh * hd;
                float mx = -INFINITY;
                for (int u = 0; u <= t; u++) { /* causal: keys 0..t */
                    const float *kk = qkv + u * 3 * C + C + hh * hd;
                    float dot = 0.0f;
                    for (int i = 0; i < hd; i++)
                        dot += q[i] * kk[i];
                    s[u] = dot / sqrtf((float)hd);
                    mx = fmaxf(mx, s[u]);
                }
                double sum = 0.0;
                for (int u = 0; u <= t; u++) {
                    s[u] = expf(s[u] - mx);
                    sum += s[u];
                }
                float *o = att + t * C + hh * hd;
                for (int i = 0; i < hd; i++) {
                    double acc = 0.0;
                    for (int u = 0; u <= t; u++)
                        acc += s[u] * qkv[u * 3 * C + 2 * C + hh * hd + i];
                    o[i] = (float)(acc / sum);
                }
            }
        linear(h, C, att, C, L->attn_proj_w, L->attn_proj_b, n, C, C, 1);
        for (int t = 0; t < n; t++)
            k->layernorm(a + t * C, h + t * C, L->ln_2_w, L->ln_2_b, C, d->ln_eps);
        linear(mlp, 4 * C, a, C, L->fc_w, L->fc_b, n, C, 4 * C, 0);
        k->gelu(mlp, n * 4 * C, d->gelu);
        linear(h, C, mlp, 4 * C, L->mlp_proj_w, L->mlp_proj_b, n, 4 * C, C, 1);
    }
    for (int t = 0; t < n; t++)
        k->layernorm(a + t * C, h + t * C, w->ln_f_w, w->ln_f_b, C, d->ln_eps);
    const float *head = w->lm_head ? w->lm_head : w->wte; /* [V][C] */
    for (int t = 0; t < n; t++)
        for (int v = 0; v < V; v++) {
            float dot = 0.0f;
            for (int i = 0; i < C; i++)
                dot += a[t * C + i] * head[(size_t)v * C + i];
            logits[(size_t)t * V + v] = dot;
        }
    free(h), free(a), free(qkv), free(att), free(mlp), free(s);
    return AC_OK;
}
