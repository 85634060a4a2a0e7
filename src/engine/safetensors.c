/* safetensors.c: loads a Hugging Face GPT-2 checkpoint (config.json + model.safetensors) into an
 * ac__gpt2_weights (weights.h).
 *
 * This is: a strict reader of the safetensors format for GPT2LMHeadModel state dicts, names with or
 * without the `transformer.` prefix, float32 / float16 / bfloat16 tensors converted to float32.
 * This is not: a general safetensors library (other dtypes and architectures are refused), nor a
 * sharded-checkpoint reader (model.safetensors.index.json is refused with a message).
 *
 * The format (little-endian): u64 N, then N bytes of JSON mapping each tensor name to
 * {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets relative to the data
 * section, which starts at 8 + N), plus an optional "__metadata__" object; then the data.
 * Every problem is reported as AC_E_FORMAT (or AC_E_UNSUPPORTED for a valid file we cannot run)
 * with a message naming the file, the tensor and the reason.
 */
#include "engine/weights.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AC__ST_MAX_HEADER (100u * 1024 * 1024)
#define AC__ST_MAX_CONFIG (4u * 1024 * 1024)

enum st_dtype { ST_F32, ST_F16, ST_BF16 };

/* One tensor the model needs: where it goes and the shape it must have. */
typedef struct st_want {
    char name[64];        /* without the transformer. prefix */
    float **dst;
    int64_t shape[2];
    int ndim;
    int found;
} st_want;

typedef struct st_ctx {
    const char *file;     /* for messages */
    const unsigned char *data;   /* the data section */
    size_t data_len;
    ac__gpt2_weights *w;
    st_want *want;        /* [n_want] */
    int n_want;
    float *lm_head;       /* lm_head.weight when the file has one */
    int n_tensors;        /* tensors converted */
    int dtype_seen[3];
} st_ctx;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads a non-negative integer field of config.json; *out keeps its value when the key is absent. */
static int config_int(json_t *cfg, const char *key, int *out, int *present, const char *file, char *err)
{
    json_t *v = json_object_get(cfg, key);
    if (present)
        *present = v && !json_is_null(v);
    if (!v || json_is_null(v))
        return AC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 30))
        return ac__errorf(err, AC_E_FORMAT, "%s: \"%s\" must be a non-negative integer", file, key);
    *out = (int)json_integer_value(v);
    return AC_OK;
}

static int config_true(json_t *cfg, const char *key)
{
    json_t *v = json_object_get(cfg, key);
    return v && json_is_true(v);
}

/* Fills d from the text of a GPT-2 config.json (HF names, or our aliases n_vocab / n_ctx); `path`
 * names it in messages. */
static int parse_config(const char *text, size_t len, const char *path, ac__gpt2_dims *d, int *tied, char *err)
{
    int rc;
    if (len > AC__ST_MAX_CONFIG)
        return ac__errorf(err, AC_E_LIMIT, "%s: over %u bytes", path, AC__ST_MAX_CONFIG);
    json_error_t je;
    json_t *cfg = json_loadb(text, len, 0, &je);
    if (!cfg)
        return ac__errorf(err, AC_E_FORMAT, "%s: bad JSON at line %d: %s", path, je.line, je.text);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return ac__errorf(err, AC_E_FORMAT, "%s: not a JSON object", path);
    }
    memset(d, 0, sizeof *d);
    int n_inner = 0, has_inner = 0;
    d->n_vocab = -1;
    d->n_ctx = -1;
    d->n_embd = -1;
    d->n_head = -1;
    d->n_layer = -1;
    if ((rc = config_int(cfg, "n_vocab", &d->n_vocab, NULL, path, err)) ||
        (rc = config_int(cfg, "vocab_size", &d->n_vocab, NULL, path, err)) ||
        (rc = config_int(cfg, "n_ctx", &d->n_ctx, NULL, path, err)) ||
        (rc = config_int(cfg, "n_positions", &d->n_ctx, NULL, path, err)) ||
        (rc = config_int(cfg, "n_embd", &d->n_embd, NULL, path, err)) ||
        (rc = config_int(cfg, "n_head", &d->n_head, NULL, path, err)) ||
        (rc = config_int(cfg, "n_layer", &d->n_layer, NULL, path, err)) ||
        (rc = config_int(cfg, "n_inner", &n_inner, &has_inner, path, err)))
        goto out;
    const char *missing = d->n_vocab < 0 ? "vocab_size" : d->n_ctx < 0 ? "n_positions"
                        : d->n_embd < 0 ? "n_embd" : d->n_head < 0 ? "n_head"
                        : d->n_layer < 0 ? "n_layer" : NULL;
    if (missing) {
        rc = ac__errorf(err, AC_E_FORMAT, "%s: \"%s\" is missing", path, missing);
        goto out;
    }
    json_t *mt = json_object_get(cfg, "model_type");
    if (mt && json_is_string(mt) && strcmp(json_string_value(mt), "gpt2") != 0) {
        rc = ac__errorf(err, AC_E_UNSUPPORTED, "%s: model_type \"%s\" is not gpt2", path, json_string_value(mt));
        goto out;
    }
    if (has_inner && n_inner != 4 * d->n_embd) {
        rc = ac__errorf(err, AC_E_UNSUPPORTED, "%s: n_inner %d is not supported (only 4 * n_embd = %d)",
                        path, n_inner, 4 * d->n_embd);
        goto out;
    }
    if (config_true(cfg, "scale_attn_by_inverse_layer_idx") || config_true(cfg, "reorder_and_upcast_attn")) {
        rc = ac__errorf(err, AC_E_UNSUPPORTED, "%s: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn "
                        "are not supported", path);
        goto out;
    }
    json_t *saw = json_object_get(cfg, "scale_attn_weights");
    if (saw && json_is_false(saw)) {
        rc = ac__errorf(err, AC_E_UNSUPPORTED, "%s: scale_attn_weights=false is not supported", path);
        goto out;
    }
    d->gelu = AC__GELU_TANH;
    json_t *act = json_object_get(cfg, "activation_function");
    if (act) {
        const char *a = json_is_string(act) ? json_string_value(act) : "";
        if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh"))
            d->gelu = AC__GELU_TANH;
        else if (!strcmp(a, "gelu"))
            d->gelu = AC__GELU_ERF;
        else {
            rc = ac__errorf(err, AC_E_UNSUPPORTED, "%s: activation_function \"%s\" is not supported "
                            "(gelu_new, gelu_pytorch_tanh or gelu)", path, a);
            goto out;
        }
    }
    d->ln_eps = 1e-5f;
    json_t *eps = json_object_get(cfg, "layer_norm_epsilon");
    if (eps && !json_is_null(eps)) {
        if (!json_is_number(eps)) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: \"layer_norm_epsilon\" must be a number", path);
            goto out;
        }
        d->ln_eps = (float)json_number_value(eps);
    }
    json_t *tie = json_object_get(cfg, "tie_word_embeddings");
    *tied = !(tie && json_is_false(tie));
    rc = AC_OK;
out:
    json_decref(cfg);
    return rc;
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Converts n elements of `dtype` at src (any alignment, little-endian) into dst. */
static void convert(float *dst, const unsigned char *src, size_t n, int dtype)
{
    if (dtype == ST_F32) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
        dst[i] = dtype == ST_F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
}

/* Parses one header entry into dtype, shape and byte range, checking it against the data section. */
static int parse_entry(st_ctx *c, const char *name, json_t *info, int *dtype, int64_t *shape, int *ndim,
                       size_t *begin, size_t *count, char *err)
{
    if (!json_is_object(info))
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: header entry is not an object", c->file, name);
    json_t *dt = json_object_get(info, "dtype"), *sh = json_object_get(info, "shape"),
           *off = json_object_get(info, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) || json_array_size(off) != 2)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: needs \"dtype\", \"shape\" and two \"data_offsets\"",
                          c->file, name);
    const char *ds = json_string_value(dt);
    if (!strcmp(ds, "F32"))
        *dtype = ST_F32;
    else if (!strcmp(ds, "F16"))
        *dtype = ST_F16;
    else if (!strcmp(ds, "BF16"))
        *dtype = ST_BF16;
    else
        return ac__errorf(err, AC_E_UNSUPPORTED, "%s: tensor %s has dtype %s (only F32, F16 and BF16 are read)",
                          c->file, name, ds);
    size_t nd = json_array_size(sh);
    if (nd > 8)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has %zu dimensions", c->file, name, nd);
    uint64_t n = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *e = json_array_get(sh, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > (1ll << 40))
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: bad dimension in its shape", c->file, name);
        shape[i < 2 ? i : 1] = json_integer_value(e);
        n *= (uint64_t)json_integer_value(e);
        if (n > (1ull << 40))
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s is too large", c->file, name);
    }
    *ndim = (int)nd;
    json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b))
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: bad data_offsets", c->file, name);
    uint64_t ub = (uint64_t)json_integer_value(b), ue = (uint64_t)json_integer_value(e);
    if (ue > c->data_len)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: data_offsets [%llu, %llu] run past the end of "
                          "the file (%zu data bytes; truncated?)", c->file, name,
                          (unsigned long long)ub, (unsigned long long)ue, c->data_len);
    uint64_t esize = *dtype == ST_F32 ? 4 : 2;
    if (ue - ub != n * esize)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: %llu bytes for %llu elements of %s", c->file, name,
                          (unsigned long long)(ue - ub), (unsigned long long)n, ds);
    *begin = (size_t)ub;
    *count = (size_t)n;
    return AC_OK;
}

static void add_want(st_ctx *c, const char *name, float **dst, int64_t d0, int64_t d1, int ndim)
{
    st_want *t = &c->want[c->n_want++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dst = dst;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->ndim = ndim;
    t->found = 0;
}

static int build_wants(st_ctx *c)
{
    ac__gpt2_weights *w = c->w;
    const ac__gpt2_dims *d = &w->dims;
    int64_t C = d->n_embd;
    c->want = calloc((size_t)d->n_layer * 12 + 8, sizeof *c->want);
    w->layers = calloc((size_t)d->n_layer, sizeof *w->layers);
    if (!c->want || !w->layers)
        return AC_E_NOMEM;
    add_want(c, "wte.weight", &w->wte, d->n_vocab, C, 2);
    add_want(c, "wpe.weight", &w->wpe, d->n_ctx, C, 2);
    add_want(c, "ln_f.weight", &w->ln_f_w, C, 0, 1);
    add_want(c, "ln_f.bias", &w->ln_f_b, C, 0, 1);
    for (int l = 0; l < d->n_layer; l++) {
        ac__gpt2_layer *L = &w->layers[l];
        char n[64];
#define WANT(suffix, field, d0, d1, nd) \
        snprintf(n, sizeof n, "h.%d." suffix, l); add_want(c, n, &L->field, d0, d1, nd)
        WANT("ln_1.weight", ln_1_w, C, 0, 1);
        WANT("ln_1.bias", ln_1_b, C, 0, 1);
        WANT("attn.c_attn.weight", attn_w, C, 3 * C, 2);
        WANT("attn.c_attn.bias", attn_b, 3 * C, 0, 1);
        WANT("attn.c_proj.weight", attn_proj_w, C, C, 2);
        WANT("attn.c_proj.bias", attn_proj_b, C, 0, 1);
        WANT("ln_2.weight", ln_2_w, C, 0, 1);
        WANT("ln_2.bias", ln_2_b, C, 0, 1);
        WANT("mlp.c_fc.weight", fc_w, C, 4 * C, 2);
        WANT("mlp.c_fc.bias", fc_b, 4 * C, 0, 1);
        WANT("mlp.c_proj.weight", mlp_proj_w, 4 * C, C, 2);
        WANT("mlp.c_proj.bias", mlp_proj_b, C, 0, 1);
#undef WANT
    }
    return AC_OK;
}

static st_want *find_want(st_ctx *c, const char *name)
{
    /* h.<l>.<suffix> sits at a computed index; the four globals come first */
    if (!strncmp(name, "h.", 2)) {
        char *end;
        long l = strtol(name + 2, &end, 10);
        if (end == name + 2 || *end != '.' || l < 0 || l >= c->w->dims.n_layer)
            return NULL;
        for (int i = 0; i < 12; i++) {
            st_want *t = &c->want[4 + l * 12 + i];
            if (!strcmp(t->name, name))
                return t;
        }
        return NULL;
    }
    for (int i = 0; i < 4; i++)
        if (!strcmp(c->want[i].name, name))
            return &c->want[i];
    return NULL;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int load_tensor(st_ctx *c, const char *key, json_t *info, char *err)
{
    const char *name = !strncmp(key, "transformer.", 12) ? key + 12 : key;
    int dtype = ST_F32, ndim = 0;
    int64_t shape[2] = {0, 0};
    size_t begin = 0, count = 0;
    int rc = parse_entry(c, key, info, &dtype, shape, &ndim, &begin, &count, err);
    if (rc)
        return rc;
    /* HF's attention-mask buffers carry no weights */
    if (has_suffix(name, ".attn.bias") || has_suffix(name, ".attn.masked_bias"))
        return AC_OK;
    float **dst;
    int64_t w0, w1;
    int wnd;
    st_want *t = NULL;
    if (!strcmp(key, "lm_head.weight")) {
        if (c->lm_head)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor lm_head.weight appears twice", c->file);
        dst = &c->lm_head;
        w0 = c->w->dims.n_vocab;
        w1 = c->w->dims.n_embd;
        wnd = 2;
    } else {
        t = find_want(c, name);
        if (!t)
            return ac__errorf(err, AC_E_FORMAT, "%s: unexpected tensor %s (not a GPT-2 weight for this config)",
                              c->file, key);
        if (t->found)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s appears twice (with and without the "
                              "transformer. prefix?)", c->file, name);
        dst = t->dst;
        w0 = t->shape[0];
        w1 = t->shape[1];
        wnd = t->ndim;
    }
    if (ndim != wnd || shape[0] != w0 || (wnd == 2 && shape[1] != w1)) {
        char want[48], got[48];
        if (wnd == 2)
            snprintf(want, sizeof want, "[%lld, %lld]", (long long)w0, (long long)w1);
        else
            snprintf(want, sizeof want, "[%lld]", (long long)w0);
        if (ndim == 2)
            snprintf(got, sizeof got, "[%lld, %lld]", (long long)shape[0], (long long)shape[1]);
        else if (ndim == 1)
            snprintf(got, sizeof got, "[%lld]", (long long)shape[0]);
        else
            snprintf(got, sizeof got, "%d dimensions", ndim);
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has shape %s, the config wants %s",
                          c->file, key, got, want);
    }
    float *p = ac__gpt2_weights_alloc(c->w, count);
    if (!p)
        return ac__errorf(err, AC_E_NOMEM, "%s: out of memory for tensor %s", c->file, key);
    convert(p, c->data + begin, count, dtype);
    *dst = p;
    if (t)
        t->found = 1;
    c->n_tensors++;
    c->dtype_seen[dtype] = 1;
    return AC_OK;
}

/* Parses a mapped safetensors file into c->w (dims already set). */
static int load_file(st_ctx *c, const unsigned char *map, size_t len, char *err)
{
    if (len < 8)
        return ac__errorf(err, AC_E_FORMAT, "%s: %zu bytes is too short for a safetensors header", c->file, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | map[i];
    if (n > AC__ST_MAX_HEADER || n > len - 8)
        return ac__errorf(err, AC_E_FORMAT, "%s: header length %llu does not fit the %zu-byte file "
                          "(truncated, or not safetensors)", c->file, (unsigned long long)n, len);
    json_error_t je;
    json_t *hdr = json_loadb((const char *)map + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!hdr)
        return ac__errorf(err, AC_E_FORMAT, "%s: header is not valid JSON (%s at byte %d)", c->file, je.text,
                          je.position);
    int rc = AC_OK;
    if (!json_is_object(hdr)) {
        rc = ac__errorf(err, AC_E_FORMAT, "%s: header is not a JSON object", c->file);
        goto out;
    }
    c->data = map + 8 + n;
    c->data_len = len - 8 - (size_t)n;
    const char *key;
    json_t *info;
    json_object_foreach(hdr, key, info) {
        if (!strcmp(key, "__metadata__"))
            continue;
        if ((rc = load_tensor(c, key, info, err)))
            goto out;
    }
    for (int i = 0; i < c->n_want; i++)
        if (!c->want[i].found) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: tensor %s is missing", c->file, c->want[i].name);
            goto out;
        }
out:
    json_decref(hdr);
    return rc;
}

int ac__safetensors_load_memory(const char *config_json, size_t config_len, const void *data, size_t len,
                                const char *cfg_name, const char *st_name, ac__gpt2_weights *w, char *err)
{
    memset(w, 0, sizeof *w);
    {
        const uint16_t one = 1;
        if (*(const unsigned char *)&one != 1)
            return ac__errorf(err, AC_E_UNSUPPORTED, "safetensors loading needs a little-endian machine");
    }
    if (!cfg_name)
        cfg_name = "config.json";
    if (!st_name)
        st_name = "model.safetensors";
    int tied = 1;
    int rc = parse_config(config_json, config_len, cfg_name, &w->dims, &tied, err);
    if (rc) {
        memset(w, 0, sizeof *w);
        return rc;
    }
    ac__gpt2_dims dims = w->dims;
    if ((rc = ac__gpt2_dims_validate(&dims, err))) {
        char why[AC_ERR_SIZE];
        snprintf(why, sizeof why, "%s", err ? err : "");
        memset(w, 0, sizeof *w);
        return ac__errorf(err, rc, "%s: %s", cfg_name, why);
    }
    st_ctx c = {0};
    c.file = st_name;
    c.w = w;
    if (build_wants(&c)) {
        free(c.want);
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
        goto fail;
    }
    rc = load_file(&c, data, len, err);
    free(c.want);
    if (rc)
        goto fail;
    if (c.lm_head) {
        size_t n = (size_t)dims.n_vocab * (size_t)dims.n_embd;
        if (!memcmp(c.lm_head, w->wte, n * sizeof(float))) {
            ac__gpt2_weights_release(w, c.lm_head);
        } else if (tied) {
            rc = ac__errorf(err, AC_E_FORMAT, "%s: lm_head.weight differs from wte.weight but the config "
                            "says the head is tied", st_name);
            goto fail;
        } else {
            w->lm_head = c.lm_head;
        }
    } else if (!tied) {
        rc = ac__errorf(err, AC_E_FORMAT, "%s: tensor lm_head.weight is missing (tie_word_embeddings is false)",
                        st_name);
        goto fail;
    }
    int kinds = c.dtype_seen[ST_F32] + c.dtype_seen[ST_F16] + c.dtype_seen[ST_BF16];
    snprintf(w->source, sizeof w->source, "safetensors %s, %d tensors%s",
             kinds > 1 ? "mixed float types" : c.dtype_seen[ST_F16] ? "float16" : c.dtype_seen[ST_BF16] ? "bfloat16"
                                                                     : "float32",
             c.n_tensors, w->lm_head ? ", untied head" : "");
    if ((rc = ac__gpt2_weights_validate(w, err)))
        goto fail;
    return AC_OK;
fail:
    ac__gpt2_weights_free(w);
    return rc;
}

int ac__safetensors_load_weights(const char *dir_or_file, ac__gpt2_weights *w, char *err)
{
    memset(w, 0, sizeof *w);
    char st_path[4096], cfg_path[4096];
    if (is_dir(dir_or_file)) {
        snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir_or_file);
        snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir_or_file);
        if (!file_exists(st_path)) {
            char idx[4200];
            snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir_or_file);
            if (file_exists(idx))
                return ac__errorf(err, AC_E_UNSUPPORTED, "%s: sharded checkpoints are not supported", dir_or_file);
            return ac__errorf(err, AC_E_IO, "%s: no model.safetensors in this directory", dir_or_file);
        }
    } else {
        snprintf(st_path, sizeof st_path, "%s", dir_or_file);
        const char *slash = strrchr(dir_or_file, '/');
        if (slash)
            snprintf(cfg_path, sizeof cfg_path, "%.*s/config.json", (int)(slash - dir_or_file), dir_or_file);
        else
            snprintf(cfg_path, sizeof cfg_path, "config.json");
    }
    if (!file_exists(cfg_path))
        return ac__errorf(err, AC_E_IO, "%s: no config.json beside the weights", cfg_path);
    char *cfg = NULL;
    size_t cfg_len = 0;
    int rc = ac_file_read(cfg_path, AC__ST_MAX_CONFIG, &cfg, &cfg_len, err);
    if (rc)
        return rc;
    const void *map = NULL;
    size_t len = 0;
    if ((rc = ac_file_map(st_path, &map, &len, err))) {
        free(cfg);
        return rc;
    }
    rc = ac__safetensors_load_memory(cfg, cfg_len, map, len, cfg_path, st_path, w, err);
    ac_file_unmap(map, len);
    free(cfg);
    return rc;
}
