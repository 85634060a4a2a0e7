/* model.c: ac_model: loading (dispatch to the ONNX or safetensors loader), validation, the
 * matrices prepared at load time (float32 packed in panels, or int8 copies, see kernels.h), and the
 * model's accessors (engine.h).
 *
 * This is not: a file parser (onnx_load.c, safetensors.c), nor the forward pass (forward.c).
 */
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
    return (size_t)q->n_out_pad * q->n_in_pad + (size_t)q->n_out_pad * (q->n_in_pad / AC__QK) * sizeof(float);
}

static size_t f32_bytes(const ac__f32_matrix *f)
{
    return (size_t)f->n_out_pad * f->n_in * sizeof(float);
}

/* Packs the layers' float32 matrices in panels and releases the loaded copies. */
static int pack_model(ac_model *m, char *err)
{
    const ac_dims *d = &m->dims;
    const int C = d->n_embd;
    m->f32 = calloc((size_t)d->n_layer, sizeof *m->f32);
    if (!m->f32)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the packed weights");
    for (int l = 0; l < d->n_layer; l++) {
        ac__gpt2_layer *L = &m->w.layers[l];
        ac__layer_f32 *F = &m->f32[l];
        if (ac__f32_matrix_pack(&F->attn, L->attn_w, 3 * (size_t)C, 1, C, 3 * C) ||
            ac__f32_matrix_pack(&F->attn_proj, L->attn_proj_w, (size_t)C, 1, C, C) ||
            ac__f32_matrix_pack(&F->fc, L->fc_w, 4 * (size_t)C, 1, C, 4 * C) ||
            ac__f32_matrix_pack(&F->mlp_proj, L->mlp_proj_w, (size_t)C, 1, 4 * C, C))
            return ac__errorf(err, AC_E_NOMEM, "out of memory for the packed weights");
        ac__gpt2_weights_release(&m->w, L->attn_w);
        ac__gpt2_weights_release(&m->w, L->attn_proj_w);
        ac__gpt2_weights_release(&m->w, L->fc_w);
        ac__gpt2_weights_release(&m->w, L->mlp_proj_w);
        L->attn_w = L->attn_proj_w = L->fc_w = L->mlp_proj_w = NULL;
    }
    /* the head is packed too; tied, embeddings are read back from it */
    const float *head = m->w.lm_head ? m->w.lm_head : m->w.wte;
    if (ac__f32_matrix_pack(&m->head_f32, head, 1, (size_t)C, C, d->n_vocab))
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the packed weights");
    if (m->w.lm_head) {
        ac__gpt2_weights_release(&m->w, m->w.lm_head);
        m->w.lm_head = NULL;
    } else {
        ac__gpt2_weights_release(&m->w, m->w.wte);
        m->w.wte = NULL;
    }
    return AC_OK;
}

static void report_q8(const char *name, int layer, const ac__q8_matrix *q)
{
    char what[64];
    if (layer >= 0)
        snprintf(what, sizeof what, "h.%d.%s", layer, name);
    else
        snprintf(what, sizeof what, "%s", name);
    fprintf(stderr, "autocorrect: int8 %-18s [%d x %d]: relative RMS error %.5f%s\n", what, q->n_in, q->n_out,
            q->rel_rms, q->exact ? " (int8 in the file, kept exactly)" : "");
}

/* Makes the int8 copies and releases the float32 matrices they replace; verbose: each matrix's
 * quantization error on stderr. */
static int quantize_model(ac_model *m, int verbose, char *err)
{
    const ac_dims *d = &m->dims;
    const size_t C = (size_t)d->n_embd;
    m->q8 = calloc((size_t)d->n_layer, sizeof *m->q8);
    if (!m->q8)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 weights");
    double e2 = 0.0, n2 = 0.0;
    for (int l = 0; l < d->n_layer; l++) {
        ac__gpt2_layer *L = &m->w.layers[l];
        ac__layer_q8 *Q = &m->q8[l];
        if (ac__q8_matrix_quantize(&Q->attn, L->attn_w, 3 * C, 1, (int)C, (int)(3 * C)) ||
            ac__q8_matrix_quantize(&Q->attn_proj, L->attn_proj_w, C, 1, (int)C, (int)C) ||
            ac__q8_matrix_quantize(&Q->fc, L->fc_w, 4 * C, 1, (int)C, (int)(4 * C)) ||
            ac__q8_matrix_quantize(&Q->mlp_proj, L->mlp_proj_w, C, 1, (int)(4 * C), (int)C))
            return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 weights");
        ac__gpt2_weights_release(&m->w, L->attn_w);
        ac__gpt2_weights_release(&m->w, L->attn_proj_w);
        ac__gpt2_weights_release(&m->w, L->fc_w);
        ac__gpt2_weights_release(&m->w, L->mlp_proj_w);
        L->attn_w = L->attn_proj_w = L->fc_w = L->mlp_proj_w = NULL;
        const ac__q8_matrix *qs[4] = {&Q->attn, &Q->attn_proj, &Q->fc, &Q->mlp_proj};
        const char *names[4] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
        for (int k = 0; k < 4; k++) {
            double n = (double)qs[k]->n_in * qs[k]->n_out;
            e2 += qs[k]->rel_rms * qs[k]->rel_rms * n, n2 += n;
            if (verbose)
                report_q8(names[k], l, qs[k]);
        }
    }
    const float *head = m->w.lm_head ? m->w.lm_head : m->w.wte;
    if (ac__q8_matrix_quantize(&m->head_q8, head, 1, C, (int)C, d->n_vocab))
        return ac__errorf(err, AC_E_NOMEM, "out of memory for the int8 LM head");
    if (verbose) {
        report_q8(m->w.lm_head ? "lm_head" : "lm_head (= wte)", -1, &m->head_q8);
        fprintf(stderr, "autocorrect: int8 layers: relative RMS error %.5f (weighted by size)\n", sqrt(e2 / n2));
    }
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
        for (int l = 0; l < d->n_layer; l++)
            b += f32_bytes(&m->f32[l].attn) + f32_bytes(&m->f32[l].attn_proj) + f32_bytes(&m->f32[l].fc) +
                 f32_bytes(&m->f32[l].mlp_proj);
        b += f32_bytes(&m->head_f32);
        if (m->w.wte)
            b += (size_t)d->n_vocab * C * f;
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
    if (!(m->pool = ac__kv_pool_new(&m->dims, m->quantize == AC_QUANT_INT8))) {
        ac_model_free(m);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    rc = m->quantize == AC_QUANT_INT8 ? quantize_model(m, p->verbose, err) : pack_model(m, err);
    if (rc) {
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
#ifdef __GLIBC__
    /* the loader's buffers and the released float32 matrices are free now: hand the pages back, so
     * the process's resident memory is the model's, not the load's peak */
    malloc_trim(0);
#endif
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
    if (m->f32) {
        for (int l = 0; l < m->dims.n_layer; l++) {
            ac__f32_matrix_free(&m->f32[l].attn);
            ac__f32_matrix_free(&m->f32[l].attn_proj);
            ac__f32_matrix_free(&m->f32[l].fc);
            ac__f32_matrix_free(&m->f32[l].mlp_proj);
        }
        free(m->f32);
    }
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
    ac__f32_matrix_free(&m->head_f32);
    ac__gpt2_weights_free(&m->w);
    ac__kv_pool_free(m->pool);
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
    else if (m->head_f32.p)
        ac__f32_matrix_row(&m->head_f32, tok, out);
    else
        ac__q8_matrix_row(&m->head_q8, tok, out);
}
