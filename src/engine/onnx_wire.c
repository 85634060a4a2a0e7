/* onnx_wire.c: ac__onnx_strip_raw_data (onnx_wire.h): the main graph's initializers' raw_data taken
 * out of an ONNX file's protobuf bytes, with where each lies.
 *
 * The protobuf wire format: a message is a sequence of fields, each a varint key (field number << 3
 * | wire type) and a value: 0 a varint, 1 eight bytes, 2 a varint length and that many bytes (a
 * string, bytes, a nested message or a packed array), 5 four bytes; 3 and 4 (groups) are not used
 * by ONNX. The fields followed here: ModelProto.graph = 7, GraphProto.initializer = 5,
 * TensorProto.raw_data = 9 (onnx.proto). Rewriting a nested message changes its length, so each
 * rewritten level is built in its own buffer and written after its new length.
 */
#include "engine/onnx_wire.h"

#include "autocorrect/common.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };
enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };

/* A cursor over data[pos..end). */
typedef struct wire {
    const uint8_t *data;
    size_t pos, end;
} wire;

/* Reads a varint at w->pos; returns 0, or -1 when it runs past the end or over 10 bytes. */
static int read_varint(wire *w, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (w->pos >= w->end)
            return -1;
        uint8_t b = w->data[w->pos++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* One field: its key and, for WIRE_LEN, where its payload lies. Moves w past the field. */
typedef struct field {
    size_t start;           /* the key's first byte */
    size_t key_end;         /* after the key */
    uint64_t number;
    int type;
    size_t payload, len;    /* WIRE_LEN: the payload's offset and length */
} field;

static int next_field(wire *w, field *f)
{
    uint64_t key, n;
    f->start = w->pos;
    if (read_varint(w, &key) || (key >> 3) == 0)
        return -1;
    f->key_end = w->pos;
    f->number = key >> 3;
    f->type = (int)(key & 7);
    switch (f->type) {
    case WIRE_VARINT:
        return read_varint(w, &n);
    case WIRE_I64:
    case WIRE_I32: {
        size_t size = f->type == WIRE_I64 ? 8 : 4;
        if (w->end - w->pos < size)
            return -1;
        w->pos += size;
        return 0;
    }
    case WIRE_LEN:
        if (read_varint(w, &n) || n > w->end - w->pos)
            return -1;
        f->payload = w->pos;
        f->len = (size_t)n;
        w->pos += (size_t)n;
        return 0;
    default:
        return -1;
    }
}

static int put_varint(ac_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return ac_buf_append(b, tmp, (size_t)n);
}

/* Writes field f with `body` as its new payload: its key as it was, the new length, the body. */
static int put_message(ac_buf *out, const uint8_t *data, const field *f, const ac_buf *body)
{
    if (ac_buf_append(out, data + f->start, f->key_end - f->start) || put_varint(out, body->len))
        return -1;
    return body->len ? ac_buf_append(out, body->data, body->len) : 0;
}

/* A TensorProto without its raw_data, which *ref locates. */
static int strip_tensor(const uint8_t *data, size_t at, size_t len, ac_buf *out, ac__onnx_raw_ref *ref)
{
    wire w = {data, at, at + len};
    field f;
    memset(ref, 0, sizeof *ref);
    while (w.pos < w.end) {
        if (next_field(&w, &f))
            return -1;
        if (f.number == TENSOR_RAW_DATA && f.type == WIRE_LEN) {
            if (ref->present)  /* protobuf would keep the last; not a shape worth following */
                return -1;
            *ref = (ac__onnx_raw_ref){f.payload, f.len, 1};
        } else if (ac_buf_append(out, data + f.start, w.pos - f.start)) {
            return -1;
        }
    }
    return 0;
}

/* A GraphProto whose initializers lose their raw_data; each one's ref is appended to refs (an array
 * of ac__onnx_raw_ref in a byte buffer). */
static int strip_graph(const uint8_t *data, size_t at, size_t len, ac_buf *out, ac_buf *refs)
{
    wire w = {data, at, at + len};
    field f;
    ac_buf tensor = {0};
    int rc = 0;
    while (!rc && w.pos < w.end) {
        if (next_field(&w, &f)) {
            rc = -1;
        } else if (f.number == GRAPH_INITIALIZER && f.type == WIRE_LEN) {
            ac__onnx_raw_ref ref;
            ac_buf_consume(&tensor, tensor.len);
            rc = strip_tensor(data, f.payload, f.len, &tensor, &ref) || ac_buf_append(refs, &ref, sizeof ref) ||
                 put_message(out, data, &f, &tensor) ? -1 : 0;
        } else {
            rc = ac_buf_append(out, data + f.start, w.pos - f.start) ? -1 : 0;
        }
    }
    ac_buf_free(&tensor);
    return rc;
}

int ac__onnx_strip_raw_data(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len,
                            ac__onnx_raw_ref **refs, size_t *n_refs)
{
    wire w = {data, 0, len};
    field f;
    ac_buf model = {0}, graph = {0}, r = {0};
    int graphs = 0, rc = 0;
    *out = NULL;
    *out_len = 0;
    *refs = NULL;
    *n_refs = 0;
    while (!rc && w.pos < w.end) {
        if (next_field(&w, &f)) {
            rc = -1;
        } else if (f.number == MODEL_GRAPH && f.type == WIRE_LEN) {
            if (graphs++)  /* a second graph field would be merged into the first by protobuf */
                rc = -1;
            else
                rc = strip_graph(data, f.payload, f.len, &graph, &r) ||
                     put_message(&model, data, &f, &graph) ? -1 : 0;
        } else {
            rc = ac_buf_append(&model, data + f.start, w.pos - f.start) ? -1 : 0;
        }
    }
    ac_buf_free(&graph);
    if (rc || !graphs) {
        ac_buf_free(&model);
        ac_buf_free(&r);
        return -1;
    }
    *out = (uint8_t *)model.data;
    *out_len = model.len;
    *refs = (ac__onnx_raw_ref *)r.data;   /* malloc'd, so suitably aligned; NULL when no initializer */
    *n_refs = r.len / sizeof **refs;
    return 0;
}
