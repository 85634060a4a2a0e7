/* onnx_tensor.c: constant tensors of an ONNX graph: reading their elements (raw_data or the typed
 * fields, float32 / float16 / bfloat16 / double / integers), external data files, small constants
 * (shape vectors, scalars), and weights seen through layout-only nodes (ac__onnx_wref).
 *
 * This is not: the GPT-2 recognition (onnx_graph.c) nor the file and index (onnx_load.c).
 *
 * Where ONNX stores elements (onnx.proto): raw_data holds them packed little-endian; otherwise
 * float in float_data; double in double_data; int64 in int64_data; uint32/uint64 in uint64_data;
 * and int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 in int32_data, one element per
 * entry (float16/bfloat16 as their 16-bit pattern). External data (data_location = EXTERNAL) lives
 * in a file named by the "location" key, relative to the model's directory, at "offset" (default 0)
 * for "length" bytes (default: the tensor's size).
 */
#include "engine/onnx_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX loader reads raw_data as little-endian and needs a little-endian host"
#endif

/* Tensors above this many elements are refused (2^40: far beyond any model, and no overflow). */
#define AC__ONNX_MAX_NUMEL ((int64_t)1 << 40)

enum {
    DT_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, DT_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    DT_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8, DT_UINT16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    DT_INT16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16, DT_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    DT_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64, DT_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    DT_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, DT_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    DT_UINT32 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32, DT_UINT64 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
    DT_BFLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16,
};

size_t ac__onnx_dtype_size(int dtype)
{
    switch (dtype) {
    case DT_FLOAT: case DT_INT32: case DT_UINT32: return 4;
    case DT_UINT8: case DT_INT8: case DT_BOOL: return 1;
    case DT_UINT16: case DT_INT16: case DT_FLOAT16: case DT_BFLOAT16: return 2;
    case DT_INT64: case DT_DOUBLE: case DT_UINT64: return 8;
    default: return 0;
    }
}

const char *ac__onnx_dtype_name(int dtype)
{
    switch (dtype) {
    case DT_FLOAT: return "float32";
    case DT_UINT8: return "uint8";
    case DT_INT8: return "int8";
    case DT_UINT16: return "uint16";
    case DT_INT16: return "int16";
    case DT_INT32: return "int32";
    case DT_INT64: return "int64";
    case DT_BOOL: return "bool";
    case DT_FLOAT16: return "float16";
    case DT_DOUBLE: return "float64";
    case DT_UINT32: return "uint32";
    case DT_UINT64: return "uint64";
    case DT_BFLOAT16: return "bfloat16";
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: return "string";
    default: return "an unknown type";
    }
}

static int is_float_type(int dtype)
{
    return dtype == DT_FLOAT || dtype == DT_FLOAT16 || dtype == DT_BFLOAT16 || dtype == DT_DOUBLE;
}

float ac__onnx_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);          /* inf, nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);  /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                       /* zero */
    } else {
        /* subnormal half: man * 2^-24; normalise it for float */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* ------------------------------------------------------------------ external data */

void ac__onnx_ext_close(ac__onnx_model *m)
{
    for (int i = 0; i < m->n_ext; i++) {
        ac_file_unmap(m->ext[i].addr, m->ext[i].len);
        free(m->ext[i].location);
    }
    free(m->ext);
    m->ext = NULL;
    m->n_ext = 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* A location must stay inside the model's directory: relative, no ".." component. Symbolic links
 * inside the directory are followed (a Hugging Face cache links every file into a blob store). */
static int location_check(const char *path, const char *tensor, const char *loc, char *err)
{
    if (!*loc)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has external data with an empty location", path, tensor);
    if (loc[0] == '/' || loc[0] == '\\' || (loc[0] && loc[1] == ':'))
        return ac__errorf(err, AC_E_FORMAT, "%s: external data location \"%s\" of tensor %s is an absolute path; "
                          "it must be relative to the model's directory", path, loc, tensor);
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return ac__errorf(err, AC_E_FORMAT, "%s: external data location \"%s\" of tensor %s escapes the "
                              "model's directory", path, loc, tensor);
        p += n;
        if (*p)
            p++;
    }
    return AC_OK;
}

static int ext_data(ac__onnx_model *m, const Onnx__TensorProto *t, const char *name, size_t nbytes,
                    const uint8_t **out, char *err)
{
    const char *loc = NULL;
    uint64_t offset = 0, length = 0;
    int has_length = 0;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e || !e->key)
            continue;
        if (strcmp(e->key, "location") == 0) {
            loc = e->value ? e->value : "";
        } else if (strcmp(e->key, "offset") == 0) {
            if (parse_u64(e->value, &offset))
                return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: bad external data offset \"%s\"", m->path,
                                  name, e->value ? e->value : "");
        } else if (strcmp(e->key, "length") == 0) {
            if (parse_u64(e->value, &length))
                return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: bad external data length \"%s\"", m->path,
                                  name, e->value ? e->value : "");
            has_length = 1;
        }
    }
    if (!loc)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has external data without a location", m->path, name);
    int rc = location_check(m->path, name, loc, err);
    if (rc)
        return rc;
    if (has_length && length != nbytes)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s: external data length %llu, but its shape and type "
                          "need %zu bytes", m->path, name, (unsigned long long)length, nbytes);

    ac__onnx_extfile *f = NULL;
    for (int i = 0; i < m->n_ext; i++)
        if (strcmp(m->ext[i].location, loc) == 0)
            f = &m->ext[i];
    if (!f) {
        ac__onnx_extfile *bigger = realloc(m->ext, (size_t)(m->n_ext + 1) * sizeof *bigger);
        if (!bigger)
            return ac__errorf(err, AC_E_NOMEM, "out of memory");
        m->ext = bigger;
        size_t plen = strlen(m->dir) + strlen(loc) + 2;
        char *full = malloc(plen);
        char *copy = strdup(loc);
        if (!full || !copy) {
            free(full);
            free(copy);
            return ac__errorf(err, AC_E_NOMEM, "out of memory");
        }
        snprintf(full, plen, "%s/%s", m->dir, loc);
        const void *addr;
        size_t len;
        char sub[AC_ERR_SIZE];
        rc = ac_file_map(full, &addr, &len, sub);
        free(full);
        if (rc) {
            free(copy);
            return ac__errorf(err, rc, "%s: external data of tensor %s: %s", m->path, name, sub);
        }
        f = &m->ext[m->n_ext++];
        f->location = copy;
        f->addr = addr;
        f->len = len;
    }
    if (offset > f->len || nbytes > f->len - offset)
        return ac__errorf(err, AC_E_FORMAT, "%s: external data of tensor %s (%zu bytes at offset %llu) runs past "
                          "the end of %s (%zu bytes)", m->path, name, nbytes, (unsigned long long)offset, loc, f->len);
    *out = f->addr + offset;
    return AC_OK;
}

/* Drops the pages holding p[0..n) of a read-only private file mapping from this process: they come
 * back from the file if touched again (so a neighbour sharing a page loses nothing). */
static void drop_pages(const uint8_t *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(page - 1);
    uintptr_t b = ((uintptr_t)p + n + page - 1) & ~(page - 1);
    madvise((void *)a, b - a, MADV_DONTNEED);
}

int ac__onnx_raw_in_base(const ac__onnx_model *m, const Onnx__TensorProto *p)
{
    const uint8_t *d = p->has_raw_data ? p->raw_data.data : NULL;
    return m->raw_base && d && d >= m->raw_base && d <= m->raw_base + m->raw_len;
}

void ac__onnx_tensor_release(ac__onnx_model *m, int value)
{
    const ac__onnx_value *v = &m->values[value];
    if (v->init < 0)
        return;
    Onnx__TensorProto *p = m->graph->initializer[v->init];
    if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        ac__onnx_tensor t;
        if (ac__onnx_tensor_get(m, value, &t, NULL) || !t.raw || !t.numel)
            return;
        drop_pages(t.raw, (size_t)t.numel * ac__onnx_dtype_size(t.dtype));
        return;
    }
    if (ac__onnx_raw_in_base(m, p)) {
        /* in the file's mapping (onnx_wire.h): drop its pages, which come back from the file if
         * touched again; bytes the caller lent (ac__onnx_load_weights_mem) are left alone */
        if (m->raw_mapped && p->raw_data.len)
            drop_pages(p->raw_data.data, p->raw_data.len);
        return;
    }
    if (p->has_raw_data && p->raw_data.data) {
        free(p->raw_data.data);   /* protobuf-c's default allocator is malloc/free */
        p->raw_data.data = NULL;
        p->raw_data.len = 0;
        p->has_raw_data = 0;
    }
}

/* ------------------------------------------------------------------ tensor views */

int ac__onnx_is_const(const ac__onnx_model *m, int value)
{
    if (value < 0)
        return 0;
    const ac__onnx_value *v = &m->values[value];
    return v->init >= 0 || (v->producer >= 0 && strcmp(ac__onnx_node_op(m, v->producer), "Constant") == 0);
}

static int tensor_from_proto(ac__onnx_model *m, Onnx__TensorProto *p, const char *name, ac__onnx_tensor *t,
                             char *err)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->proto = p;
    t->dtype = p->has_data_type ? p->data_type : 0;
    size_t esize = ac__onnx_dtype_size(t->dtype);
    if (!esize)
        return ac__errorf(err, AC_E_UNSUPPORTED, "%s: tensor %s has data type %s, which is not supported",
                          m->path, name, ac__onnx_dtype_name(t->dtype));
    if (p->n_dims > AC__ONNX_MAX_RANK)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has rank %zu (at most %d)", m->path, name, p->n_dims,
                          AC__ONNX_MAX_RANK);
    if (p->segment)
        return ac__errorf(err, AC_E_UNSUPPORTED, "%s: tensor %s is segmented, which is not supported", m->path, name);
    t->rank = (int)p->n_dims;
    t->numel = 1;
    for (int i = 0; i < t->rank; i++) {
        if (p->dims[i] < 0 || p->dims[i] > AC__ONNX_MAX_NUMEL)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has a bad dimension %lld", m->path, name,
                              (long long)p->dims[i]);
        t->dims[i] = p->dims[i];
        if (t->dims[i] && t->numel > AC__ONNX_MAX_NUMEL / t->dims[i])
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s is too large", m->path, name);
        t->numel *= t->dims[i];
    }
    size_t nbytes = (size_t)t->numel * esize;
    if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (p->has_raw_data && p->raw_data.len)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has both raw_data and external data", m->path, name);
        return ext_data(m, p, name, nbytes, &t->raw, err);
    }
    if (p->has_raw_data) {
        if (p->raw_data.len != nbytes)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has %zu bytes of raw_data, its shape and type need %zu",
                              m->path, name, p->raw_data.len, nbytes);
        t->raw = p->raw_data.data;
        if (!t->raw && nbytes)
            return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s has no data", m->path, name);
        return AC_OK;
    }
    size_t have;
    switch (t->dtype) {
    case DT_FLOAT: t->typed = p->float_data; t->typed_field = 'f'; have = p->n_float_data; break;
    case DT_DOUBLE: t->typed = p->double_data; t->typed_field = 'd'; have = p->n_double_data; break;
    case DT_INT64: t->typed = p->int64_data; t->typed_field = 'l'; have = p->n_int64_data; break;
    case DT_UINT32: case DT_UINT64: t->typed = p->uint64_data; t->typed_field = 'u'; have = p->n_uint64_data; break;
    default: t->typed = p->int32_data; t->typed_field = 'i'; have = p->n_int32_data; break;
    }
    if (have != (size_t)t->numel)
        return ac__errorf(err, AC_E_FORMAT, "%s: tensor %s holds %zu values, its shape needs %lld", m->path, name,
                          have, (long long)t->numel);
    return AC_OK;
}

int ac__onnx_tensor_get(ac__onnx_model *m, int value, ac__onnx_tensor *t, char *err)
{
    const ac__onnx_value *v = &m->values[value];
    if (v->init >= 0)
        return tensor_from_proto(m, m->graph->initializer[v->init], v->name, t, err);
    if (v->producer < 0 || strcmp(ac__onnx_node_op(m, v->producer), "Constant") != 0)
        return ac__errorf(err, AC_E_FORMAT, "%s: %s is not a constant", m->path, v->name);
    int node = v->producer;
    const Onnx__NodeProto *n = m->graph->node[node];
    if (n->n_attribute != 1 || !n->attribute[0] || !n->attribute[0]->name)
        return ac__errorf(err, AC_E_FORMAT, "%s: Constant node %d (%s) must have exactly one attribute", m->path,
                          node, ac__onnx_node_name(m, node));
    const Onnx__AttributeProto *a = n->attribute[0];
    memset(t, 0, sizeof *t);
    t->name = v->name;
    if (strcmp(a->name, "value") == 0 && a->t)
        return tensor_from_proto(m, a->t, v->name, t, err);
    if (strcmp(a->name, "value_float") == 0 && a->has_f) {
        t->dtype = DT_FLOAT;
        t->numel = 1;
        t->scalar_f = a->f;
        t->typed = &t->scalar_f;
        t->typed_field = 'f';
        return AC_OK;
    }
    if (strcmp(a->name, "value_int") == 0 && a->has_i) {
        t->dtype = DT_INT64;
        t->numel = 1;
        t->scalar_i = a->i;
        t->typed = &t->scalar_i;
        t->typed_field = 'l';
        return AC_OK;
    }
    if (strcmp(a->name, "value_floats") == 0) {
        t->dtype = DT_FLOAT;
        t->rank = 1;
        t->dims[0] = t->numel = (int64_t)a->n_floats;
        t->typed = a->floats;
        t->typed_field = 'f';
        return AC_OK;
    }
    if (strcmp(a->name, "value_ints") == 0) {
        t->dtype = DT_INT64;
        t->rank = 1;
        t->dims[0] = t->numel = (int64_t)a->n_ints;
        t->typed = a->ints;
        t->typed_field = 'l';
        return AC_OK;
    }
    return ac__errorf(err, AC_E_UNSUPPORTED, "%s: Constant node %d (%s) has attribute %s, which is not supported",
                      m->path, node, ac__onnx_node_name(m, node), a->name);
}

/* The 16-bit pattern or small integer stored in int32_data / raw_data at i. */
static int64_t elem_int(const ac__onnx_tensor *t, int64_t i)
{
    if (!t->raw) {
        switch (t->typed_field) {
        case 'i': return ((const int32_t *)t->typed)[i];
        case 'l': return ((const int64_t *)t->typed)[i];
        case 'u': return (int64_t)((const uint64_t *)t->typed)[i];
        case 'f': return (int64_t)((const float *)t->typed)[i];
        case 'd': return (int64_t)((const double *)t->typed)[i];
        default: return 0;
        }
    }
    const uint8_t *p = t->raw + (size_t)i * ac__onnx_dtype_size(t->dtype);
    switch (t->dtype) {
    case DT_UINT8: case DT_BOOL: return p[0];
    case DT_INT8: return (int8_t)p[0];
    case DT_UINT16: case DT_FLOAT16: case DT_BFLOAT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case DT_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case DT_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case DT_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case DT_INT64: case DT_UINT64: { int64_t x; memcpy(&x, p, 8); return x; }
    case DT_FLOAT: { float x; memcpy(&x, p, 4); return (int64_t)x; }
    case DT_DOUBLE: { double x; memcpy(&x, p, 8); return (int64_t)x; }
    default: return 0;
    }
}

double ac__onnx_tensor_f64(const ac__onnx_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_FLOAT:
        if (t->raw) {
            float x;
            memcpy(&x, t->raw + 4 * (size_t)i, 4);
            return x;
        }
        return ((const float *)t->typed)[i];
    case DT_DOUBLE:
        if (t->raw) {
            double x;
            memcpy(&x, t->raw + 8 * (size_t)i, 8);
            return x;
        }
        return ((const double *)t->typed)[i];
    case DT_FLOAT16: return ac__onnx_half_to_float((uint16_t)elem_int(t, i));
    case DT_BFLOAT16: return bf16_to_float((uint16_t)elem_int(t, i));
    case DT_UINT64: return (double)(uint64_t)elem_int(t, i);
    default: return (double)elem_int(t, i);
    }
}

int64_t ac__onnx_tensor_i64(const ac__onnx_tensor *t, int64_t i)
{
    if (is_float_type(t->dtype))
        return (int64_t)ac__onnx_tensor_f64(t, i);
    return elem_int(t, i);
}

void ac__onnx_tensor_to_f32(const ac__onnx_tensor *t, int64_t start, int64_t n, float *out)
{
    if (n <= 0)
        return;
    if (t->dtype == DT_FLOAT) {
        const void *src = t->raw ? (const void *)(t->raw + 4 * (size_t)start) : (const void *)((const float *)t->typed + start);
        memcpy(out, src, 4 * (size_t)n);
        return;
    }
    if (t->raw && (t->dtype == DT_FLOAT16 || t->dtype == DT_BFLOAT16)) {
        const uint8_t *p = t->raw + 2 * (size_t)start;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = t->dtype == DT_FLOAT16 ? ac__onnx_half_to_float(h) : bf16_to_float(h);
        }
        return;
    }
    if (t->raw && t->dtype == DT_INT8) {
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)(int8_t)t->raw[start + i];
        return;
    }
    if (t->raw && t->dtype == DT_UINT8) {
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)t->raw[start + i];
        return;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)ac__onnx_tensor_f64(t, start + i);
}

/* ------------------------------------------------------------------ small constants */

static int is_op(const ac__onnx_model *m, int node, const char *op)
{
    return node >= 0 && strcmp(ac__onnx_node_op(m, node), op) == 0;
}

int ac__onnx_const_values(ac__onnx_model *m, int value, double *out, int max, char *err)
{
    int casts[8], n_casts = 0;
    for (int depth = 0; depth < 16 && value >= 0 && !ac__onnx_is_const(m, value); depth++) {
        int p = m->values[value].producer;
        if (p < 0)
            return 0;
        const char *op = ac__onnx_node_op(m, p);
        if (strcmp(op, "Cast") == 0) {
            if (n_casts == 8)
                return 0;
            casts[n_casts++] = (int)ac__onnx_attr_int(m, p, "to", 0);
        } else if (strcmp(op, "Identity") && strcmp(op, "Unsqueeze") && strcmp(op, "Squeeze") &&
                   strcmp(op, "Reshape")) {
            return 0;
        }
        value = ac__onnx_node_in(m, p, 0);
    }
    if (value < 0 || !ac__onnx_is_const(m, value))
        return 0;
    ac__onnx_tensor t;
    int rc = ac__onnx_tensor_get(m, value, &t, err);
    if (rc)
        return rc;
    if (t.numel > max || t.numel == 0)
        return 0;
    for (int64_t i = 0; i < t.numel; i++) {
        double x = ac__onnx_tensor_f64(&t, i);
        for (int c = n_casts - 1; c >= 0; c--) {   /* innermost Cast first */
            if (casts[c] == DT_FLOAT)
                x = (float)x;
            else if (!is_float_type(casts[c]))
                x = (double)(int64_t)x;
        }
        out[i] = x;
    }
    return (int)t.numel;
}

static int shape_vector(ac__onnx_model *m, int value, int64_t *vals, int *known, int max, int nest)
{
    if (nest > 4)
        return 0;   /* Concats of Concats: torch never nests deeper; bounds the recursion */
    for (int depth = 0; depth < 8 && value >= 0; depth++) {
        if (ac__onnx_is_const(m, value)) {
            ac__onnx_tensor t;
            if (ac__onnx_tensor_get(m, value, &t, NULL) || t.numel > max || t.rank > 1 || is_float_type(t.dtype))
                return 0;
            for (int64_t i = 0; i < t.numel; i++) {
                vals[i] = ac__onnx_tensor_i64(&t, i);
                known[i] = 1;
            }
            return (int)t.numel;
        }
        int p = m->values[value].producer;
        if (p < 0)
            return 0;
        if (is_op(m, p, "Identity") || is_op(m, p, "Cast")) {
            value = ac__onnx_node_in(m, p, 0);
            continue;
        }
        if (!is_op(m, p, "Concat") || ac__onnx_attr_int(m, p, "axis", 0) != 0)
            return 0;
        int n = 0;
        for (int i = 0; i < ac__onnx_node_n_in(m, p); i++) {
            int piece = ac__onnx_node_in(m, p, i);
            if (piece < 0)
                return 0;
            int q = m->values[piece].producer;
            if (!ac__onnx_is_const(m, piece) && is_op(m, q, "Unsqueeze")) {
                /* a run-time scalar made 1-D: one unknown element */
                if (n >= max)
                    return 0;
                vals[n] = 0;
                known[n++] = 0;
                continue;
            }
            int k = shape_vector(m, piece, vals + n, known + n, max - n, nest + 1);
            if (k <= 0)
                return 0;
            n += k;
        }
        return n;
    }
    return 0;
}

int ac__onnx_shape_vector(ac__onnx_model *m, int value, int64_t *vals, int *known, int max)
{
    return shape_vector(m, value, vals, known, max, 0);
}

/* ------------------------------------------------------------------ weights */

const char *ac__onnx_wref_name(const ac__onnx_model *m, const ac__onnx_wref *r)
{
    return r->base >= 0 ? m->values[r->base].name : "(none)";
}

/* The value a DequantizeLinear input reaches through Identity nodes, if constant; else -1. */
static int const_through_identity(const ac__onnx_model *m, int value)
{
    for (int depth = 0; depth < 8 && value >= 0; depth++) {
        if (ac__onnx_is_const(m, value))
            return value;
        int p = m->values[value].producer;
        if (!is_op(m, p, "Identity"))
            return -1;
        value = ac__onnx_node_in(m, p, 0);
    }
    return -1;
}

/* Axes from an attribute (older opsets) or from input 1 (opset 13 on). Returns the count, 0 when
 * absent, -1 when not constant. */
static int axes_of(ac__onnx_model *m, int node, int64_t *axes, int max)
{
    const Onnx__AttributeProto *a = ac__onnx_attr(m, node, "axes");
    if (a) {
        if ((int)a->n_ints > max)
            return -1;
        for (size_t i = 0; i < a->n_ints; i++)
            axes[i] = a->ints[i];
        return (int)a->n_ints;
    }
    int in = ac__onnx_node_in(m, node, 1);
    if (in < 0)
        return 0;
    int known[AC__ONNX_MAX_RANK];
    int n = ac__onnx_shape_vector(m, in, axes, known, max);
    if (n <= 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (!known[i])
            return -1;
    return n;
}

/* Applies a layout-only node to (dims, origin, rank). Returns 0, or -1 when the node changes more
 * than the layout or its parameters are not constant. */
static int layout_apply(ac__onnx_model *m, int node, int64_t *dims, int *origin, int *rank)
{
    const char *op = ac__onnx_node_op(m, node);
    int r = *rank;
    int64_t nd[AC__ONNX_MAX_RANK];
    int no[AC__ONNX_MAX_RANK];
    int nr;
    if (strcmp(op, "Transpose") == 0) {
        const Onnx__AttributeProto *a = ac__onnx_attr(m, node, "perm");
        int seen[AC__ONNX_MAX_RANK] = {0};
        if (a && (int)a->n_ints != r)
            return -1;
        for (int i = 0; i < r; i++) {
            int64_t p = a ? a->ints[i] : r - 1 - i;
            if (p < 0 || p >= r || seen[p])
                return -1;
            seen[p] = 1;
            nd[i] = dims[p];
            no[i] = origin[p];
        }
        nr = r;
    } else if (strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) {
        int64_t axes[AC__ONNX_MAX_RANK];
        int na = axes_of(m, node, axes, AC__ONNX_MAX_RANK);
        if (na < 0)
            return -1;
        int squeeze = op[0] == 'S';
        nr = squeeze ? (na ? r - na : 0) : r + na;
        if (nr < 0 || nr > AC__ONNX_MAX_RANK)
            return -1;
        int mark[AC__ONNX_MAX_RANK] = {0};
        int base_rank = squeeze ? r : nr;
        for (int i = 0; i < na; i++) {
            int64_t ax = axes[i] < 0 ? axes[i] + base_rank : axes[i];
            if (ax < 0 || ax >= base_rank || mark[ax])
                return -1;
            mark[ax] = 1;
        }
        if (squeeze) {
            nr = 0;
            for (int i = 0; i < r; i++) {
                int drop = na ? mark[i] : dims[i] == 1;
                if (drop && dims[i] != 1)
                    return -1;
                if (!drop) {
                    nd[nr] = dims[i];
                    no[nr++] = origin[i];
                }
            }
        } else {
            for (int i = 0, j = 0; i < nr; i++) {
                if (mark[i]) {
                    nd[i] = 1;
                    no[i] = -1;
                } else {
                    nd[i] = dims[j];
                    no[i] = origin[j++];
                }
            }
        }
    } else if (strcmp(op, "Reshape") == 0 || strcmp(op, "Flatten") == 0) {
        int64_t numel = 1;
        for (int i = 0; i < r; i++)
            numel *= dims[i];
        if (op[0] == 'F') {
            int64_t ax = ac__onnx_attr_int(m, node, "axis", 1);
            if (ax < 0)
                ax += r;
            if (ax < 0 || ax > r)
                return -1;
            nd[0] = 1;
            for (int i = 0; i < ax; i++)
                nd[0] *= dims[i];
            nd[1] = nd[0] ? numel / nd[0] : 0;
            nr = 2;
        } else {
            int known[AC__ONNX_MAX_RANK];
            int in = ac__onnx_node_in(m, node, 1);
            nr = in >= 0 ? ac__onnx_shape_vector(m, in, nd, known, AC__ONNX_MAX_RANK) : 0;
            if (nr <= 0)
                return -1;
            int infer = -1;
            int64_t prod = 1;
            for (int i = 0; i < nr; i++) {
                if (!known[i])
                    return -1;
                if (nd[i] == 0 && !ac__onnx_attr_int(m, node, "allowzero", 0)) {
                    if (i >= r)
                        return -1;
                    nd[i] = dims[i];
                }
                if (nd[i] == -1) {
                    if (infer >= 0)
                        return -1;
                    infer = i;
                } else if (nd[i] < 0 || (nd[i] > 0 && prod > INT64_MAX / nd[i])) {
                    return -1;
                } else {
                    prod *= nd[i];
                }
            }
            if (infer >= 0) {
                if (prod == 0 || numel % prod)
                    return -1;
                nd[infer] = numel / prod;
                prod = numel;
            }
            if (prod != numel)
                return -1;
        }
        /* the non-1 dims must be the same sequence: then no element moves */
        int j = 0;
        for (int i = 0; i < nr; i++) {
            if (nd[i] == 1) {
                no[i] = -1;
                continue;
            }
            while (j < r && dims[j] == 1)
                j++;
            if (j >= r || dims[j] != nd[i])
                return -1;
            no[i] = origin[j++];
        }
        while (j < r && dims[j] == 1)
            j++;
        if (j != r)
            return -1;
    } else {
        return -1;
    }
    memcpy(dims, nd, sizeof(int64_t) * (size_t)nr);
    memcpy(origin, no, sizeof(int) * (size_t)nr);
    *rank = nr;
    return 0;
}

int ac__onnx_wref_resolve(ac__onnx_model *m, int value, ac__onnx_wref *r, char *err)
{
    memset(r, 0, sizeof *r);
    r->base = r->scale = r->zero_point = r->q_axis = -1;
    int dq = -1;
    int v = value;
    while (v >= 0 && !ac__onnx_is_const(m, v)) {
        int p = m->values[v].producer;
        if (p < 0 || r->n_chain == (int)(sizeof r->chain / sizeof r->chain[0]))
            return 0;
        const char *op = ac__onnx_node_op(m, p);
        if (strcmp(op, "Cast") == 0) {
            if (ac__onnx_attr_int(m, p, "to", 0) != DT_FLOAT || dq >= 0)
                return 0;
        } else if (strcmp(op, "DequantizeLinear") == 0) {
            if (dq >= 0)
                return 0;
            dq = p;
        } else if (strcmp(op, "Identity") && strcmp(op, "Transpose") && strcmp(op, "Reshape") &&
                   strcmp(op, "Squeeze") && strcmp(op, "Unsqueeze") && strcmp(op, "Flatten")) {
            return 0;
        } else if (dq >= 0 && strcmp(op, "Identity")) {
            return 0;   /* only Identity between the stored tensor and its DequantizeLinear */
        }
        r->chain[r->n_chain++] = p;
        v = ac__onnx_node_in(m, p, 0);
    }
    if (v < 0)
        return 0;
    ac__onnx_tensor t;
    int rc = ac__onnx_tensor_get(m, v, &t, err);
    if (rc)
        return rc;
    r->base = v;
    if (dq >= 0) {
        if (t.dtype != DT_INT8 && t.dtype != DT_UINT8)
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: DequantizeLinear node %d (%s) reads %s of type %s; "
                              "int8 and uint8 are supported", m->path, dq, ac__onnx_node_name(m, dq), t.name,
                              ac__onnx_dtype_name(t.dtype));
        if (ac__onnx_attr_int(m, dq, "block_size", 0) != 0)
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: DequantizeLinear node %d (%s): blocked quantization is "
                              "not supported", m->path, dq, ac__onnx_node_name(m, dq));
        r->scale = const_through_identity(m, ac__onnx_node_in(m, dq, 1));
        int zin = ac__onnx_node_in(m, dq, 2);
        r->zero_point = zin >= 0 ? const_through_identity(m, zin) : -1;
        if (r->scale < 0 || (zin >= 0 && r->zero_point < 0))
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: DequantizeLinear node %d (%s) of %s: the scale and zero "
                              "point must be constants", m->path, dq, ac__onnx_node_name(m, dq), t.name);
        ac__onnx_tensor s, z;
        if ((rc = ac__onnx_tensor_get(m, r->scale, &s, err)))
            return rc;
        if (!is_float_type(s.dtype) || s.rank > 1 || s.numel < 1)
            return ac__errorf(err, AC_E_FORMAT, "%s: the scale %s of %s must be a float scalar or vector", m->path,
                              s.name, t.name);
        if (r->zero_point >= 0) {
            if ((rc = ac__onnx_tensor_get(m, r->zero_point, &z, err)))
                return rc;
            if (z.dtype != t.dtype || z.numel != s.numel)
                return ac__errorf(err, AC_E_FORMAT, "%s: the zero point %s of %s must be %s with %lld elements",
                                  m->path, z.name, t.name, ac__onnx_dtype_name(t.dtype), (long long)s.numel);
        }
        if (s.numel > 1 || s.rank == 1) {
            int64_t ax = ac__onnx_attr_int(m, dq, "axis", 1);
            if (ax < 0)
                ax += t.rank;
            if (s.numel > 1 && (ax < 0 || ax >= t.rank || t.dims[ax] != s.numel))
                return ac__errorf(err, AC_E_FORMAT, "%s: the scale %s has %lld elements, but axis %lld of %s has %lld",
                                  m->path, s.name, (long long)s.numel, (long long)ax, t.name,
                                  (long long)(ax >= 0 && ax < t.rank ? t.dims[ax] : -1));
            if (s.numel > 1)
                r->q_axis = (int)ax;
        }
    } else if (!is_float_type(t.dtype)) {
        return 0;   /* an integer or boolean constant: not a weight */
    }

    int64_t dims[AC__ONNX_MAX_RANK];
    int origin[AC__ONNX_MAX_RANK];
    int rank = t.rank;
    for (int i = 0; i < rank; i++) {
        dims[i] = t.dims[i];
        origin[i] = i;
    }
    for (int c = r->n_chain - 1; c >= 0; c--) {
        const char *op = ac__onnx_node_op(m, r->chain[c]);
        if (strcmp(op, "Identity") == 0 || strcmp(op, "Cast") == 0 || strcmp(op, "DequantizeLinear") == 0)
            continue;
        if (layout_apply(m, r->chain[c], dims, origin, &rank))
            return ac__errorf(err, AC_E_UNSUPPORTED, "%s: %s node %d (%s) changes the layout of weight %s in a way "
                              "that is not supported", m->path, op, r->chain[c], ac__onnx_node_name(m, r->chain[c]),
                              t.name);
    }
    r->full_rank = rank;
    memcpy(r->full_dims, dims, sizeof(int64_t) * (size_t)rank);
    int keep[AC__ONNX_MAX_RANK], nk = 0;
    for (int i = 0; i < rank; i++)
        if (dims[i] != 1)
            keep[nk++] = i;
    r->logical_rank = nk;
    if (nk == 2) {
        r->rows = dims[keep[0]];
        r->cols = dims[keep[1]];
        r->transposed = origin[keep[0]] > origin[keep[1]];
    } else {
        r->rows = t.numel;
        r->cols = 1;
    }
    return 1;
}

/* Everything needed to decode the base of a weight row by row. */
typedef struct wsrc {
    ac__onnx_tensor t;
    int64_t b0, b1;      /* the base as a [b0][b1] matrix (its non-1 dims in storage order) */
    float *scale;        /* [n_scale] or NULL */
    float *zero;         /* [n_scale] or NULL */
    int64_t n_scale;
    int scale_by_row;    /* per-axis scale indexed by the base row (1) or column (0) */
} wsrc;

static void wsrc_free(wsrc *s)
{
    free(s->scale);
    free(s->zero);
}

static int wsrc_open(ac__onnx_model *m, const ac__onnx_wref *r, wsrc *s, char *err)
{
    memset(s, 0, sizeof *s);
    int rc = ac__onnx_tensor_get(m, r->base, &s->t, err);
    if (rc)
        return rc;
    int nd = 0;
    int64_t nz[AC__ONNX_MAX_RANK];
    int first_axis = -1;
    for (int i = 0; i < s->t.rank; i++)
        if (s->t.dims[i] != 1) {
            if (first_axis < 0)
                first_axis = i;
            nz[nd++] = s->t.dims[i];
        }
    if (nd == 2) {
        s->b0 = nz[0];
        s->b1 = nz[1];
    } else {
        s->b0 = 1;
        s->b1 = s->t.numel;
    }
    if (r->scale < 0)
        return AC_OK;
    ac__onnx_tensor st, zt;
    if ((rc = ac__onnx_tensor_get(m, r->scale, &st, err)))
        return rc;
    s->n_scale = st.numel;
    s->scale = malloc(sizeof(float) * (size_t)st.numel);
    s->zero = calloc((size_t)st.numel, sizeof(float));
    if (!s->scale || !s->zero)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    ac__onnx_tensor_to_f32(&st, 0, st.numel, s->scale);
    if (r->zero_point >= 0) {
        if ((rc = ac__onnx_tensor_get(m, r->zero_point, &zt, err)))
            return rc;
        ac__onnx_tensor_to_f32(&zt, 0, zt.numel, s->zero);
    }
    if (r->q_axis >= 0 && s->t.dims[r->q_axis] != 1)
        s->scale_by_row = nd == 2 && r->q_axis == first_axis;
    else
        s->n_scale = 1;
    return AC_OK;
}

/* Decodes base row i ([b1] floats), dequantized. */
static void wsrc_row(const wsrc *s, int64_t i, float *out)
{
    ac__onnx_tensor_to_f32(&s->t, i * s->b1, s->b1, out);
    if (!s->scale)
        return;
    if (s->n_scale == 1 || s->scale_by_row) {
        int64_t k = s->n_scale == 1 ? 0 : i;
        float sc = s->scale[k], z = s->zero[k];
        for (int64_t j = 0; j < s->b1; j++)
            out[j] = (out[j] - z) * sc;
    } else {
        for (int64_t j = 0; j < s->b1; j++)
            out[j] = (out[j] - s->zero[j]) * s->scale[j];
    }
}

/* Rows of the base decoded together when writing or comparing transposed, so that the strided
 * side touches whole cache lines (16 floats = 64 bytes). */
#define AC__ONNX_TBLOCK 16

int ac__onnx_wref_read(ac__onnx_model *m, const ac__onnx_wref *r, float *dst, int transpose_out, char *err)
{
    wsrc s;
    int rc = wsrc_open(m, r, &s, err);
    if (rc) {
        wsrc_free(&s);
        return rc;
    }
    int out_t = r->transposed ^ (transpose_out != 0);
    float *rows = out_t ? malloc(sizeof(float) * AC__ONNX_TBLOCK * (size_t)(s.b1 ? s.b1 : 1)) : NULL;
    if (out_t && !rows) {
        wsrc_free(&s);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    if (!out_t) {
        for (int64_t i = 0; i < s.b0; i++)
            wsrc_row(&s, i, dst + i * s.b1);
    } else {
        /* rows [i0, i0 + nb) of the base: [nb][b1] -> dst columns i0.. of [b1][b0] */
        for (int64_t i0 = 0; i0 < s.b0; i0 += AC__ONNX_TBLOCK) {
            int64_t nb = s.b0 - i0 < AC__ONNX_TBLOCK ? s.b0 - i0 : AC__ONNX_TBLOCK;
            for (int64_t k = 0; k < nb; k++)
                wsrc_row(&s, i0 + k, rows + k * s.b1);
            for (int64_t j = 0; j < s.b1; j++)
                for (int64_t k = 0; k < nb; k++)
                    dst[j * s.b0 + i0 + k] = rows[k * s.b1 + j];
        }
    }
    free(rows);
    wsrc_free(&s);
    return AC_OK;
}

int ac__onnx_wref_equals(ac__onnx_model *m, const ac__onnx_wref *r, const float *ref, int ref_transposed, char *err)
{
    wsrc s;
    int rc = wsrc_open(m, r, &s, err);
    size_t block = sizeof(float) * AC__ONNX_TBLOCK * (size_t)(s.b1 ? s.b1 : 1);
    float *rows = rc ? NULL : malloc(block);
    float *cols = rc ? NULL : malloc(block);
    if (rc || !rows || !cols) {
        free(rows);
        free(cols);
        wsrc_free(&s);
        return rc ? rc : ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    int eff_t = r->transposed ^ (ref_transposed != 0);
    int equal = 1;
    for (int64_t i0 = 0; equal && i0 < s.b0; i0 += AC__ONNX_TBLOCK) {
        int64_t nb = s.b0 - i0 < AC__ONNX_TBLOCK ? s.b0 - i0 : AC__ONNX_TBLOCK;
        for (int64_t k = 0; k < nb; k++)
            wsrc_row(&s, i0 + k, rows + k * s.b1);
        if (!eff_t) {
            equal = memcmp(rows, ref + i0 * s.b1, sizeof(float) * (size_t)(nb * s.b1)) == 0;
        } else {
            for (int64_t j = 0; j < s.b1; j++)
                for (int64_t k = 0; k < nb; k++)
                    cols[j * nb + k] = rows[k * s.b1 + j];
            for (int64_t j = 0; equal && j < s.b1; j++)
                equal = memcmp(&cols[j * nb], &ref[j * s.b0 + i0], sizeof(float) * (size_t)nb) == 0;
        }
    }
    free(rows);
    free(cols);
    wsrc_free(&s);
    return equal;
}
