/* model.c: ac_model: loading (dispatch to the ONNX or safetensors loader), validation, the
 * int8 copies made at load time, and the model's accessors (engine.h).
 *
 * This is not: a file parser (onnx_load.c, safetensors.c), nor the forward pass (forward.c).
 */
#include "engine/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ac_model_params ac_model_default_params(void)
{
    ac_model_params p;
    memset(&p, 0, sizeof p);
    p.quantize = AC_QUANT_F32;
    p.verbose = 0;
    return p;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Loads the weights from whatever `path` names (see ac_model_load). */
static int load_weights(const char *path, ac__gpt2_weights *w, char *err)
{
    if (!path || !*path)
        return ac__errorf(err, AC_E_ARG, "no model path given");
    if (!exists(path))
        return ac__errorf(err, AC_E_IO, "%s: no such file or directory", path);
    if (is_dir(path)) {
        char onnx[4096], st[4096];
        snprintf(onnx, sizeof onnx, "%s/model.onnx", path);
        snprintf(st, sizeof st, "%s/model.safetensors", path);
        if (exists(onnx))
            return ac__onnx_load_weights(onnx, w, err);
        if (exists(st))
            return ac__safetensors_load_weights(path, w, err);
        return ac__errorf(err, AC_E_IO, "%s: holds neither model.onnx nor model.safetensors (+ config.json)", path);
    }
    if (ends_with(path, ".safetensors"))
        return ac__safetensors_load_weights(path, w, err);
    return ac__onnx_load_weights(path, w, err);
}

static size_t q8_bytes(const ac__q8_matrix *q)
{
    return (size_t)q->n_out * q->n_in_pad + (size_t)q->n_out * (q->n_in_pad / AC__QK) * sizeof(float);
}

/* Makes the int8 copies and releases the float32 matrices they replace. */
static int quantize_model(ac_model *m, char *err)
{
    const ac_dims *d = &m->dims;
    const int C = d->n_embd;
    m->q8 = calloc((size_t)d->n_layer, sizeof *m->q8);
    if (!m->q8)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 weights");
    for (int l = 0; l < d->n_layer; l++) {
        ac__gpt2_layer *L = &m->w.layers[l];
        ac__layer_q8 *Q = &m->q8[l];
        if (ac__q8_matrix_from_conv1d(&Q->attn, L->attn_w, C, 3 * C) ||
            ac__q8_matrix_from_conv1d(&Q->attn_proj, L->attn_proj_w, C, C) ||
            ac__q8_matrix_from_conv1d(&Q->fc, L->fc_w, C, 4 * C) ||
            ac__q8_matrix_from_conv1d(&Q->mlp_proj, L->mlp_proj_w, 4 * C, C))
            return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 weights");
        ac__gpt2_weights_release(&m->w, L->attn_w);
        ac__gpt2_weights_release(&m->w, L->attn_proj_w);
        ac__gpt2_weights_release(&m->w, L->fc_w);
        ac__gpt2_weights_release(&m->w, L->mlp_proj_w);
        L->attn_w = L->attn_proj_w = L->fc_w = L->mlp_proj_w = NULL;
    }
    const float *head = m->w.lm_head ? m->w.lm_head : m->w.wte;
    if (ac__q8_matrix_from_rows(&m->head_q8, head, d->n_vocab, C))
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 LM head");
    if (m->w.lm_head) {
        ac__gpt2_weights_release(&m->w, m->w.lm_head);
        m->w.lm_head = NULL;
    } else {
        /* tied: embeddings are read back from the int8 head */
        ac__gpt2_weights_release(&m->w, m->w.wte);
        m->w.wte = NULL;
    }
    return AC_OK;
}

static void count_bytes(ac_model *m)
{
    const ac_dims *d = &m->dims;
    size_t C = (size_t)d->n_embd, f = sizeof(float);
    size_t b = (size_t)d->n_ctx * C * f + 2 * C * f;                  /* wpe, ln_f */
    b += (size_t)d->n_layer * (4 * C + 3 * C + C + 4 * C + C) * f;    /* LayerNorms and biases */
    if (m->quantize == AC_QUANT_INT8) {
        for (int l = 0; l < d->n_layer; l++)
            b += q8_bytes(&m->q8[l].attn) + q8_bytes(&m->q8[l].attn_proj) + q8_bytes(&m->q8[l].fc) +
                 q8_bytes(&m->q8[l].mlp_proj);
        b += q8_bytes(&m->head_q8);
        if (m->w.wte)
            b += (size_t)d->n_vocab * C * f;
    } else {
        b += (size_t)d->n_layer * 12 * C * C * f;
        b += (size_t)d->n_vocab * C * f * (m->w.lm_head ? 2 : 1);
    }
    m->weight_bytes = b;
}

int ac__model_from_weights(ac__gpt2_weights *w, const ac_model_params *p, ac_model **out, char *err)
{
    *out = NULL;
    ac_model_params defaults = ac_model_default_params();
    if (!p)
        p = &defaults;
    int rc = ac__gpt2_weights_validate(w, err);
    if (rc) {
        ac__gpt2_weights_free(w);
        return rc;
    }
    if (p->quantize != AC_QUANT_F32 && p->quantize != AC_QUANT_INT8) {
        ac__gpt2_weights_free(w);
        return ac__errorf(err, AC_E_ARG, "unknown quantize value %d", p->quantize);
    }
    ac_model *m = calloc(1, sizeof *m);
    if (!m) {
        ac__gpt2_weights_free(w);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    m->w = *w;
    memset(w, 0, sizeof *w);
    const ac__gpt2_dims *wd = &m->w.dims;
    m->dims.n_vocab = wd->n_vocab;
    m->dims.n_ctx = wd->n_ctx;
    m->dims.n_embd = wd->n_embd;
    m->dims.n_head = wd->n_head;
    m->dims.n_layer = wd->n_layer;
    m->dims.gelu = wd->gelu == AC__GELU_ERF ? AC_GELU_ERF : AC_GELU_TANH;
    m->dims.ln_eps = wd->ln_eps;
    m->quantize = p->quantize;
    m->k = ac__kernels_best();
    if (m->quantize == AC_QUANT_INT8 && (rc = quantize_model(m, err))) {
        ac_model_free(m);
        return rc;
    }
    count_bytes(m);
    snprintf(m->source, sizeof m->source, "%s", m->w.source[0] ? m->w.source : "weights in memory");
    *out = m;
    return AC_OK;
}

int ac_model_load(const char *path, const ac_model_params *p, ac_model **out, char *err)
{
    *out = NULL;
    ac_model_params defaults = ac_model_default_params();
    if (!p)
        p = &defaults;
    double t0 = ac_now();
    ac__gpt2_weights w;
    memset(&w, 0, sizeof w);
    int rc = load_weights(path, &w, err);
    if (rc) {
        ac__gpt2_weights_free(&w);
        return rc;
    }
    double t1 = ac_now();
    if ((rc = ac__model_from_weights(&w, p, out, err))) {
        char why[AC_ERR_SIZE];
        snprintf(why, sizeof why, "%s", err ? err : "");
        return ac__errorf(err, rc, "%s: %s", path, why);
    }
    if (p->verbose) {
        char desc[512];
        ac_model_describe(*out, desc, sizeof desc);
        fprintf(stderr, "autocorrect: loaded %s in %.0f ms (+%.0f ms to prepare): %s\n", path, (t1 - t0) * 1e3,
                (ac_now() - t1) * 1e3, desc);
    }
    return AC_OK;
}

void ac_model_free(ac_model *m)
{
    if (!m)
        return;
    if (m->q8) {
        for (int l = 0; l < m->dims.n_layer; l++) {
            ac__q8_matrix_free(&m->q8[l].attn);
            ac__q8_matrix_free(&m->q8[l].attn_proj);
            ac__q8_matrix_free(&m->q8[l].fc);
            ac__q8_matrix_free(&m->q8[l].mlp_proj);
        }
        free(m->q8);
    }
    ac__q8_matrix_free(&m->head_q8);
    ac__gpt2_weights_free(&m->w);
    free(m);
}

ac_dims ac_model_dims(const ac_model *m)
{
    return m->dims;
}

int ac_model_quantize(const ac_model *m)
{
    return m->quantize;
}

const char *ac_model_source(const ac_model *m)
{
    return m->source;
}

size_t ac_model_weight_bytes(const ac_model *m)
{
    return m->weight_bytes;
}

const char *ac_model_kernels(const ac_model *m)
{
    return m->k->name;
}

int ac_model_describe(const ac_model *m, char *buf, size_t size)
{
    const ac_dims *d = &m->dims;
    return snprintf(buf, size,
                    "GPT-2: n_vocab %d, n_ctx %d, n_embd %d, n_head %d, n_layer %d, %s GELU, eps %g; "
                    "%s weights, %.1f MB; kernels %s; from %s",
                    d->n_vocab, d->n_ctx, d->n_embd, d->n_head, d->n_layer, d->gelu == AC_GELU_ERF ? "erf" : "tanh",
                    (double)d->ln_eps, m->quantize == AC_QUANT_INT8 ? "int8" : "float32", m->weight_bytes / 1e6,
                    m->k->name, m->source);
}

void ac__model_embedding(const ac_model *m, int32_t tok, float *out)
{
    if (m->w.wte)
        memcpy(out, m->w.wte + (size_t)tok * m->dims.n_embd, (size_t)m->dims.n_embd * sizeof(float));
    else
        ac__q8_matrix_row(&m->head_q8, tok, out);
}
