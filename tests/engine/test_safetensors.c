/* test_safetensors.c: the safetensors loader on good and bad files made from the tiny fixture:
 * float16 / bfloat16 copies, an untied head, and broken files (truncated at many offsets, bad
 * header JSON, wrong shapes, unknown dtypes, missing or unexpected tensors, bad configs, random
 * bytes). Every bad file must give a clear error that names the problem, and never crash.
 */
#include "check.h"
#include "engine/engine_fixture.h"
#include "engine/model.h"

#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static unsigned char *orig;   /* the fixture's model.safetensors */
static size_t orig_len;
static json_t *orig_hdr;      /* its header */
static size_t orig_data_off;  /* 8 + header length */

static int read_all(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return *len == (size_t)n ? 0 : -1;
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

static void write_config(const char *extra_json)
{
    /* the fixture's config, with keys overridden from extra_json (an object, may be NULL) */
    json_t *cfg = json_load_file(TINY_DIR "/config.json", 0, NULL);
    if (extra_json) {
        json_t *x = json_loads(extra_json, 0, NULL);
        json_object_update(cfg, x);
        json_decref(x);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", tmpdir);
    json_dump_file(cfg, path, 0);
    json_decref(cfg);
}

/* Writes model.safetensors from a header and a data section. */
static void write_st(json_t *hdr, const void *data, size_t len)
{
    char *text = json_dumps(hdr, JSON_COMPACT);
    size_t n = strlen(text), pad = (8 - (8 + n) % 8) % 8;
    size_t total = 8 + n + pad + len;
    unsigned char *buf = malloc(total);
    uint64_t hl = n + pad;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, text, n);
    memset(buf + 8 + n, ' ', pad);
    memcpy(buf + 8 + n + pad, data, len);
    write_file("model.safetensors", buf, total);
    free(buf);
    free(text);
}

/* Loads tmpdir; returns the status, the message in err. */
static int load_tmp(char *err, ac_model **out)
{
    ac_model *m = NULL;
    int rc = ac_model_load(tmpdir, NULL, &m, err);
    if (out)
        *out = m;
    else
        ac_model_free(m);
    return rc;
}

/* A bad file: an error status (not OK), a message mentioning `want` (if given), no crash. */
#define CHECK_BAD(want)                                                                                           \
    do {                                                                                                          \
        char e_[AC_ERR_SIZE] = "";                                                                                \
        int rc_ = load_tmp(e_, NULL);                                                                             \
        CHECKF(rc_ != AC_OK, "loaded a bad file (expected an error about '%s')", (want) ? (want) : "");         \
        if ((want) && rc_ != AC_OK)                                                                               \
            CHECKF(strstr(e_, (want)) != NULL, "error \"%s\" does not mention \"%s\"", e_, (want));               \
    } while (0)

static json_t *hdr_copy(void)
{
    return json_deep_copy(orig_hdr);
}

static const unsigned char *orig_data(void)
{
    return orig + orig_data_off;
}

static size_t orig_data_len(void)
{
    return orig_len - orig_data_off;
}

static uint16_t f32_to_f16(float f) /* round to nearest even; fixture values are normal and small */
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffff;
    if (e <= 0) { /* subnormal half */
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t r = x + 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(r >> 16);
}

/* Rewrites the fixture with every tensor in a 16-bit type (F16 or BF16). */
static void write_16bit(const char *dtype)
{
    json_t *hdr = hdr_copy();
    size_t n = orig_data_len() / 2;
    unsigned char *data = malloc(n + 1);
    const char *key;
    json_t *info;
    size_t off = 0;
    json_object_foreach(hdr, key, info) {
        if (!strcmp(key, "__metadata__"))
            continue;
        json_t *o = json_object_get(info, "data_offsets");
        size_t b = (size_t)json_integer_value(json_array_get(o, 0)), e = (size_t)json_integer_value(json_array_get(o, 1));
        size_t cnt = (e - b) / 4;
        for (size_t i = 0; i < cnt; i++) {
            float f;
            memcpy(&f, orig_data() + b + 4 * i, 4);
            uint16_t h = !strcmp(dtype, "F16") ? f32_to_f16(f) : f32_to_bf16(f);
            data[off + 2 * i] = (unsigned char)h;
            data[off + 2 * i + 1] = (unsigned char)(h >> 8);
        }
        json_object_set_new(info, "dtype", json_string(dtype));
        json_object_set_new(info, "data_offsets", json_pack("[II]", (json_int_t)off, (json_int_t)(off + 2 * cnt)));
        off += 2 * cnt;
    }
    write_st(hdr, data, off);
    json_decref(hdr);
    free(data);
}

static void float16_file_matches_pytorch_fp16(void)
{
    write_config(NULL);
    write_16bit("F16");
    char err[AC_ERR_SIZE];
    ac_model *m;
    CHECKF(load_tmp(err, &m) == AC_OK, "%s", err);
    if (!m)
        return;
    CHECK(strstr(ac_model_source(m), "float16") != NULL);
    fx_ref ref;
    CHECK(fx_ref_load("fp16", &ref) == 0);
    float *lp = fx_logprobs(m, ref.ids, ref.n, NULL);
    CHECK(lp != NULL);
    if (lp) {
        double d = fx_maxdiff(lp, ref.logprobs, (size_t)ref.n * ref.n_vocab);
        CHECKF(d <= TOL_TORCH, "F16 file vs PyTorch's fp16-rounded model: %g", d);
    }
    free(lp);
    fx_ref_free(&ref);
    ac_model_free(m);
}

static void bfloat16_file_converts_exactly(void)
{
    write_config(NULL);
    write_16bit("BF16");
    char err[AC_ERR_SIZE];
    ac__gpt2_weights w, f;
    CHECKF(ac__safetensors_load_weights(tmpdir, &w, err) == AC_OK, "%s", err);
    CHECK(ac__safetensors_load_weights(TINY_DIR "/model.safetensors", &f, err) == AC_OK);
    if (w.wte && f.wte) {
        int bad = 0;
        size_t n = (size_t)f.dims.n_vocab * f.dims.n_embd;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)f32_to_bf16(f.wte[i]) << 16;
            float want;
            memcpy(&want, &bits, 4);
            bad += w.wte[i] != want;
        }
        CHECKF(bad == 0, "%d wte values differ from bfloat16 rounding", bad);
        CHECK(strstr(w.source, "bfloat16") != NULL);
    }
    ac__gpt2_weights_free(&w);
    ac__gpt2_weights_free(&f);
}

/* Next-token logits after ids[5] in a fresh session. */
static int fresh_logits_ok(const ac_model *m, const int32_t *ids, float *out)
{
    char err[AC_ERR_SIZE];
    ac_session *s;
    if (ac_session_new(m, NULL, &s, err))
        return 0;
    int rc = ac_session_prefill(s, ids, 5, NULL, out, 0, err);
    ac_session_free(s);
    return rc == AC_OK;
}

/* An lm_head.weight equal to wte is the tied head; a different one (tie_word_embeddings false) is
 * used as the head: -wte negates every logit. */
static void lm_head_tied_and_untied(void)
{
    json_t *hdr = hdr_copy();
    json_t *wte = json_object_get(hdr, "transformer.wte.weight");
    json_t *o = json_object_get(wte, "data_offsets");
    size_t b = (size_t)json_integer_value(json_array_get(o, 0)), e = (size_t)json_integer_value(json_array_get(o, 1));
    size_t dl = orig_data_len();
    unsigned char *data = malloc(dl + (e - b));
    memcpy(data, orig_data(), dl);
    memcpy(data + dl, orig_data() + b, e - b);
    json_t *head = json_deep_copy(wte);
    json_object_set_new(head, "data_offsets", json_pack("[II]", (json_int_t)dl, (json_int_t)(dl + e - b)));
    json_object_set_new(hdr, "lm_head.weight", head);
    write_config(NULL);
    write_st(hdr, data, dl + (e - b));
    char err[AC_ERR_SIZE];
    ac_model *tied = NULL, *untied = NULL;
    CHECKF(load_tmp(err, &tied) == AC_OK, "%s", err);
    CHECK(tied && tied->w.lm_head == NULL);
    /* negate the head */
    for (size_t i = 0; i < (e - b) / 4; i++)
        data[dl + 4 * i + 3] ^= 0x80;
    write_st(hdr, data, dl + (e - b));
    CHECK_BAD("differs from wte");
    write_config("{\"tie_word_embeddings\": false}");
    CHECKF(load_tmp(err, &untied) == AC_OK, "%s", err);
    if (tied && untied) {
        CHECK(untied->w.wte != NULL && tied->w.wte == NULL); /* untied: embeddings stay apart from the head */
        int32_t ids[5] = {1, 50, 7, 200, 3};
        int V = 297;
        float *a = malloc(sizeof(float) * V), *c = malloc(sizeof(float) * V);
        CHECK(fresh_logits_ok(tied, ids, a) && fresh_logits_ok(untied, ids, c));
        for (int v = 0; v < V; v++)
            c[v] = -c[v];
        CHECKF(fx_maxdiff(a, c, V) == 0.0, "untied -wte head: logits not negated");
        free(a);
        free(c);
        /* int8 with an untied head */
        ac_model_params p = ac_model_default_params();
        p.quantize = AC_QUANT_INT8;
        ac_model *q = NULL;
        CHECK(ac_model_load(tmpdir, &p, &q, err) == AC_OK);
        ac_model_free(q);
    }
    /* tie_word_embeddings false without a head */
    write_st(orig_hdr, orig_data(), orig_data_len());
    CHECK_BAD("lm_head.weight is missing");
    ac_model_free(tied);
    ac_model_free(untied);
    json_decref(hdr);
    free(data);
}

static void truncated_files(void)
{
    write_config(NULL);
    size_t cuts[] = {0, 1, 4, 7, 8, 9, 20, orig_data_off / 2, orig_data_off - 1, orig_data_off, orig_data_off + 1,
                     orig_data_off + 100, orig_len / 2, orig_len - 4, orig_len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file("model.safetensors", orig, cuts[i]);
        CHECK_BAD("model.safetensors");
    }
    /* many more offsets, just no crash and an error */
    for (size_t cut = 0; cut < orig_len; cut += 997) {
        write_file("model.safetensors", orig, cut);
        char e[AC_ERR_SIZE];
        CHECKF(load_tmp(e, NULL) != AC_OK, "a file truncated at %zu loaded", cut);
    }
    write_file("model.safetensors", orig, orig_len);
    char e[AC_ERR_SIZE];
    CHECKF(load_tmp(e, NULL) == AC_OK, "the intact copy fails: %s", e);
}

static void bad_headers(void)
{
    write_config(NULL);
    unsigned char *buf = malloc(orig_len);
    /* a broken byte inside the JSON */
    memcpy(buf, orig, orig_len);
    buf[8] = '#'; /* the opening brace */
    write_file("model.safetensors", buf, orig_len);
    CHECK_BAD("not valid JSON");
    /* header length past the end */
    memcpy(buf, orig, orig_len);
    buf[5] = 0x7f;
    write_file("model.safetensors", buf, orig_len);
    CHECK_BAD("header length");
    free(buf);
    /* a JSON array, not an object */
    json_t *arr = json_array();
    write_st(arr, orig_data(), orig_data_len());
    json_decref(arr);
    CHECK_BAD("not a JSON object");
    struct { const char *tensor, *field, *value, *want; } edits[] = {
        {"transformer.h.0.attn.c_attn.weight", "shape", "[96, 32]", "has shape [96, 32], the config wants [32, 96]"},
        {"transformer.h.1.mlp.c_fc.bias", "shape", "[128, 1]", "transformer.h.1.mlp.c_fc.bias has shape"},
        {"transformer.h.0.attn.c_attn.weight", "shape", "[32, 95]", "transformer.h.0.attn.c_attn.weight: 12288 bytes"},
        {"transformer.wpe.weight", "dtype", "\"I64\"", "transformer.wpe.weight has dtype I64"},
        {"transformer.wpe.weight", "dtype", "7", "transformer.wpe.weight: needs"},
        {"transformer.ln_f.bias", "data_offsets", "[0, 99999999]", "transformer.ln_f.bias: data_offsets"},
        {"transformer.ln_f.bias", "data_offsets", "[10, 5]", "transformer.ln_f.bias: bad data_offsets"},
        {"transformer.ln_f.bias", "data_offsets", "[-8, 120]", "transformer.ln_f.bias: bad data_offsets"},
        {"transformer.ln_f.bias", "shape", "[-32]", "transformer.ln_f.bias: bad dimension"},
        {"transformer.ln_f.bias", "shape", "\"32\"", "transformer.ln_f.bias: needs"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        json_t *hdr = hdr_copy();
        json_t *v = json_loads(edits[i].value, JSON_DECODE_ANY, NULL);
        json_object_set_new(json_object_get(hdr, edits[i].tensor), edits[i].field, v);
        write_st(hdr, orig_data(), orig_data_len());
        json_decref(hdr);
        CHECK_BAD(edits[i].want);
    }
    /* a missing tensor, an unexpected one, one twice (with and without the prefix) */
    json_t *hdr = hdr_copy();
    json_object_del(hdr, "transformer.ln_f.bias");
    write_st(hdr, orig_data(), orig_data_len());
    CHECK_BAD("tensor ln_f.bias is missing");
    json_decref(hdr);
    hdr = hdr_copy();
    json_object_set(hdr, "transformer.h.0.attn.c_attn.scale", json_object_get(hdr, "transformer.ln_f.bias"));
    write_st(hdr, orig_data(), orig_data_len());
    CHECK_BAD("unexpected tensor transformer.h.0.attn.c_attn.scale");
    json_decref(hdr);
    hdr = hdr_copy();
    json_object_set(hdr, "h.7.ln_1.weight", json_object_get(hdr, "transformer.ln_f.bias"));
    write_st(hdr, orig_data(), orig_data_len());
    CHECK_BAD("unexpected tensor h.7.ln_1.weight");
    json_decref(hdr);
    hdr = hdr_copy();
    json_object_set(hdr, "h.0.ln_1.weight", json_object_get(hdr, "transformer.h.0.ln_1.weight"));
    write_st(hdr, orig_data(), orig_data_len());
    CHECK_BAD("appears twice");
    json_decref(hdr);
    /* HF's mask buffers are ignored */
    hdr = hdr_copy();
    json_object_set(hdr, "h.0.attn.bias", json_object_get(hdr, "transformer.ln_f.bias"));
    write_st(hdr, orig_data(), orig_data_len());
    char e[AC_ERR_SIZE];
    CHECKF(load_tmp(e, NULL) == AC_OK, "attn.bias buffer not ignored: %s", e);
    json_decref(hdr);
}

static void bad_configs(void)
{
    write_file("model.safetensors", orig, orig_len);
    struct { const char *json, *want; } cfgs[] = {
        {"{\"n_head\": 5}", "not a multiple of n_head"},
        {"{\"n_embd\": 48}", "has shape"},
        {"{\"n_layer\": 3}", "tensor h.2"},
        {"{\"n_layer\": 0}", "n_layer 0"},
        {"{\"vocab_size\": -4}", "vocab_size"},
        {"{\"vocab_size\": 1.5}", "vocab_size"},
        {"{\"activation_function\": \"relu\"}", "activation_function \"relu\""},
        {"{\"model_type\": \"llama\"}", "model_type \"llama\""},
        {"{\"n_inner\": 100}", "n_inner 100"},
        {"{\"scale_attn_by_inverse_layer_idx\": true}", "scale_attn_by_inverse_layer_idx"},
        {"{\"layer_norm_epsilon\": \"small\"}", "layer_norm_epsilon"},
        {"{\"layer_norm_epsilon\": 0}", "epsilon"},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        write_config(cfgs[i].json);
        CHECK_BAD(cfgs[i].want);
    }
    write_config(NULL);
    json_t *cfg = json_load_file(TINY_DIR "/config.json", 0, NULL);
    json_object_del(cfg, "n_embd");
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", tmpdir);
    json_dump_file(cfg, path, 0);
    json_decref(cfg);
    CHECK_BAD("\"n_embd\" is missing");
    write_file("config.json", "{\"n_embd\": ", 11);
    CHECK_BAD("bad JSON");
    write_file("config.json", "[1, 2]", 6);
    CHECK_BAD("not a JSON object");
    unlink(path);
    CHECK_BAD("no config.json");
    write_config(NULL);
    char st[512];
    snprintf(st, sizeof st, "%s/model.safetensors", tmpdir);
    unlink(st);
    CHECK_BAD("neither model.onnx nor model.safetensors");
    write_file("model.safetensors.index.json", "{}", 2);
    {
        char e[AC_ERR_SIZE];
        ac__gpt2_weights w;
        CHECK(ac__safetensors_load_weights(tmpdir, &w, e) == AC_E_UNSUPPORTED && strstr(e, "sharded"));
    }
    snprintf(st, sizeof st, "%s/model.safetensors.index.json", tmpdir);
    unlink(st);
    write_file("model.safetensors", orig, orig_len);
}

static void random_bytes(void)
{
    write_config(NULL);
    unsigned seed = 99;
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)(i * 37 % 3000);
        unsigned char *buf = malloc(n + 8);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (unsigned char)(seed >> 16);
        }
        if (i % 2 && n >= 8) { /* a plausible header length, random JSON-ish bytes */
            uint64_t hl = n - 8 - (n > 40 ? 20 : 0);
            for (int k = 0; k < 8; k++)
                buf[k] = (unsigned char)(hl >> (8 * k));
            if (n > 9)
                buf[8] = '{';
        }
        write_file("model.safetensors", buf, n);
        char e[AC_ERR_SIZE];
        CHECKF(load_tmp(e, NULL) != AC_OK, "random file %d loaded", i);
        free(buf);
    }
    /* the original file with random bytes flipped in the header: an error or a model, never a crash */
    for (int i = 0; i < 200; i++) {
        unsigned char *buf = malloc(orig_len);
        memcpy(buf, orig, orig_len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[8 + (seed >> 8) % (orig_data_off - 8)] = (unsigned char)(seed >> 24);
        }
        write_file("model.safetensors", buf, orig_len);
        char e[AC_ERR_SIZE];
        ac_model *m = NULL;
        if (load_tmp(e, &m) == AC_OK)
            ac_model_free(m);
        free(buf);
    }
    write_file("model.safetensors", orig, orig_len);
}

/* The memory entry point (what a fuzzer calls): the same results as the file loader, and many
 * damaged buffers that must each be refused or loaded, never crash. */
static void memory_entry_point(void)
{
    unsigned char *cfg;
    size_t cfg_len;
    CHECK(read_all(TINY_DIR "/config.json", &cfg, &cfg_len) == 0);
    char err[AC_ERR_SIZE];
    ac__gpt2_weights a, b;
    CHECKF(ac__safetensors_load_memory((const char *)cfg, cfg_len, orig, orig_len, NULL, NULL, &a, err) == AC_OK, "%s",
           err);
    CHECK(ac__safetensors_load_weights(TINY_DIR "/model.safetensors", &b, err) == AC_OK);
    if (a.wte && b.wte)
        CHECK(!memcmp(a.wte, b.wte, sizeof(float) * 297 * 32) && !memcmp(a.layers[1].fc_w, b.layers[1].fc_w,
                                                                       sizeof(float) * 32 * 128));
    ac__gpt2_weights_free(&a);
    ac__gpt2_weights_free(&b);
    CHECK(ac__safetensors_load_memory((const char *)cfg, cfg_len, orig, orig_len / 2, NULL, "half.safetensors", &a,
                                      err) != AC_OK);
    CHECK(strstr(err, "half.safetensors") != NULL && a.wte == NULL && a.layers == NULL);
    CHECK(ac__safetensors_load_memory("{", 1, orig, orig_len, "cfg", NULL, &a, err) == AC_E_FORMAT);
    CHECK(strstr(err, "cfg: bad JSON") != NULL);
    CHECK(ac__safetensors_load_memory((const char *)cfg, cfg_len, NULL, 0, NULL, NULL, &a, err) == AC_E_FORMAT);
    unsigned char *buf = malloc(orig_len);
    unsigned seed = 7;
    int loaded = 0;
    for (int i = 0; i < 2000; i++) {
        memcpy(buf, orig, orig_len);
        int flips = 1 + i % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = i % 2 ? 8 + (seed >> 8) % (orig_data_off - 8) : (seed >> 4) % orig_len;
            buf[at] ^= (unsigned char)(1u << (seed >> 28 & 7));
        }
        size_t n = i % 5 == 4 ? (size_t)(seed >> 3) % orig_len : orig_len;
        if (ac__safetensors_load_memory((const char *)cfg, cfg_len, buf, n, NULL, NULL, &a, err) == AC_OK) {
            loaded++;
            ac__gpt2_weights_free(&a);
        } else {
            CHECK(err[0] != 0 && a.wte == NULL);
        }
    }
    CHECK(loaded > 0); /* flips in the data section leave a valid file */
    free(buf);
    free(cfg);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ac-test-st-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir) || read_all(TINY_DIR "/model.safetensors", &orig, &orig_len)) {
        printf("FAIL: setup: cannot make a temporary directory or read the fixture\n");
        return 1;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | orig[i];
    orig_data_off = 8 + (size_t)hl;
    orig_hdr = json_loadb((const char *)orig + 8, (size_t)hl, 0, NULL);
    if (!orig_hdr) {
        printf("FAIL: setup: cannot parse the fixture's header\n");
        return 1;
    }
    RUN(float16_file_matches_pytorch_fp16);
    RUN(bfloat16_file_converts_exactly);
    RUN(lm_head_tied_and_untied);
    RUN(truncated_files);
    RUN(bad_headers);
    RUN(bad_configs);
    RUN(random_bytes);
    RUN(memory_entry_point);
    json_decref(orig_hdr);
    free(orig);
    const char *names[] = {"model.safetensors", "config.json", "model.safetensors.index.json"};
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return CHECK_EXIT_CODE();
}
