/* onnx_model.h: the ONNX loader's internals, shared by onnx_load.c (file, protobuf, value index,
 * materialising weights), onnx_tensor.c (tensor data, external data, weight chains) and onnx_graph.c
 * (recognising GPT-2 in the graph).
 *
 * This is: an index over a parsed onnx.ModelProto (every named value with its producer, consumers
 * and initializer), read-only views of constant tensors, and "weight references": a constant
 * reached through Identity / Cast / Transpose / DequantizeLinear / Reshape / (Un)Squeeze nodes,
 * described well enough to write it out as float32 in any of its two layouts.
 * This is not: an ONNX runtime. Nothing here executes the graph; onnx_graph.c only recognises the
 * GPT-2 pattern and the forward pass (model.c) implements the math itself.
 * Internal to the engine; the single entry point is ac__onnx_load_weights in weights.h.
 */
#ifndef AC_ENGINE_ONNX_MODEL_H
#define AC_ENGINE_ONNX_MODEL_H

#include "engine/weights.h"
#include "onnx.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define AC__ONNX_MAX_RANK 8

/* One named value of the graph (a tensor flowing along an edge). */
typedef struct ac__onnx_value {
    const char *name;
    int producer;     /* index of the node that outputs it, or -1 */
    int init;         /* index in graph->initializer, or -1 */
    int is_input;     /* a graph input that no initializer provides */
    int is_output;    /* a graph output */
    int use_start;    /* consumers: m->uses[use_start .. use_start + n_uses) are node indices */
    int n_uses;
} ac__onnx_value;

/* An external data file, mapped read-only while the weights are converted. */
typedef struct ac__onnx_extfile {
    char *location;   /* as written in the model, relative to the model's directory */
    const uint8_t *addr;
    size_t len;
} ac__onnx_extfile;

typedef struct ac__onnx_model {
    const char *path;         /* the .onnx file, for messages */
    char *dir;                /* its directory (external data is relative to it) */
    Onnx__ModelProto *proto;  /* owned; freed by ac__onnx_model_free */
    Onnx__GraphProto *graph;  /* proto->graph */
    int opset;                /* version of the default ("" / "ai.onnx") operator set */

    ac__onnx_value *values;   /* [n_values] */
    int n_values;
    int *hash;                /* [hash_cap] value index + 1, 0 = empty; open addressing */
    size_t hash_cap;
    int *node_in_start;       /* [n_node + 1]: node i's inputs are in_ids[node_in_start[i] ..] */
    int *in_ids;              /* value index of each node input, -1 for an omitted ("") input */
    int *node_out_start;      /* [n_node + 1] */
    int *out_ids;             /* value index of each node output, -1 for an omitted output */
    int *uses;                /* consumer node indices, grouped per value (see ac__onnx_value) */

    ac__onnx_extfile *ext;    /* [n_ext] */
    int n_ext;

    /* The bytes the main graph's initializers' raw_data point into (onnx_wire.h: protobuf-c did not
     * copy them), or NULL when protobuf-c parsed the file as it is and owns every raw_data. */
    const uint8_t *raw_base;
    size_t raw_len;
    int raw_mapped;           /* raw_base is the file's mapping, ours: model_free unmaps it */
} ac__onnx_model;

/* A read-only view of a constant tensor: an initializer or the value of a Constant node. */
typedef struct ac__onnx_tensor {
    const char *name;
    int dtype;                        /* ONNX TensorProto.DataType */
    int rank;
    int64_t dims[AC__ONNX_MAX_RANK];
    int64_t numel;
    const uint8_t *raw;               /* little-endian packed elements, or NULL */
    const void *typed;                /* the typed field holding the elements when raw is NULL */
    int typed_field;                  /* 'f' float_data, 'i' int32_data, 'l' int64_data,
                                         'd' double_data, 'u' uint64_data */
    float scalar_f;                   /* storage for Constant value_float(s) / value_int(s) */
    int64_t scalar_i;
    Onnx__TensorProto *proto;         /* the message, or NULL for a value_float/value_int */
} ac__onnx_tensor;

/* A weight: a constant tensor (`base`) seen through a chain of layout-only nodes, as a vector or
 * a matrix. The logical tensor is `rows` x `cols` (cols = 1 for a vector); its elements are those
 * of the base's non-1 dimensions, transposed when `transposed` is set, and dequantized as
 * (q - zero_point) * scale when `scale` >= 0. */
typedef struct ac__onnx_wref {
    int base;          /* value index of the stored tensor */
    int scale;         /* value index of a DequantizeLinear scale, or -1 */
    int zero_point;    /* value index of its zero point, or -1 (zero) */
    int q_axis;        /* the scale's axis in the base's dims, or -1 for one scale */
    int logical_rank;  /* number of non-1 dims of the logical tensor (0 for a scalar) */
    int64_t rows, cols;
    int transposed;
    int64_t full_dims[AC__ONNX_MAX_RANK]; /* the logical tensor's own dims, for messages */
    int full_rank;
    int chain[8];      /* the nodes between the base and the use, for marking */
    int n_chain;
} ac__onnx_wref;

/* ------------------------------------------------------------------ onnx_load.c */

/* ac__onnx_load_weights on a model already in memory (data, len bytes), as the tests and fuzzers
 * call it: `name` is used in messages, `dir` is where external data files are looked up (NULL:
 * the current directory). The caller keeps ownership of data. Same results as the file loader. */
int ac__onnx_load_weights_mem(const void *data, size_t len, const char *name, const char *dir,
                              ac__gpt2_weights *w, char *err);

/* Index of the value called `name`, or -1. */
int ac__onnx_value_find(const ac__onnx_model *m, const char *name);

/* The node's i-th input / output value index, or -1 when omitted or out of range. */
int ac__onnx_node_in(const ac__onnx_model *m, int node, int i);
int ac__onnx_node_out(const ac__onnx_model *m, int node, int i);
int ac__onnx_node_n_in(const ac__onnx_model *m, int node);
int ac__onnx_node_n_out(const ac__onnx_model *m, int node);
const char *ac__onnx_node_op(const ac__onnx_model *m, int node);
const char *ac__onnx_node_name(const ac__onnx_model *m, int node);   /* "" when unnamed */

/* Attribute lookup: NULL when the node has no attribute of that name. */
const Onnx__AttributeProto *ac__onnx_attr(const ac__onnx_model *m, int node, const char *name);
/* Integer / float attribute with a default. */
int64_t ac__onnx_attr_int(const ac__onnx_model *m, int node, const char *name, int64_t dflt);
float ac__onnx_attr_float(const ac__onnx_model *m, int node, const char *name, float dflt);

/* ------------------------------------------------------------------ onnx_tensor.c */

/* Whether the value is a constant: an initializer or the output of a Constant node. */
int ac__onnx_is_const(const ac__onnx_model *m, int value);

/* Fills a view of the constant `value` (checking dims, sizes, data location; external data is
 * mapped here). Returns AC_OK, or an error naming the tensor. */
int ac__onnx_tensor_get(ac__onnx_model *m, int value, ac__onnx_tensor *t, char *err);

/* Bytes per element of an ONNX data type we can read, 0 for others. */
size_t ac__onnx_dtype_size(int dtype);
const char *ac__onnx_dtype_name(int dtype);

/* Element i of a numeric tensor as a double / as an int64 (exact for integer types). */
double ac__onnx_tensor_f64(const ac__onnx_tensor *t, int64_t i);
int64_t ac__onnx_tensor_i64(const ac__onnx_tensor *t, int64_t i);

/* Converts n elements from element `start` to float32 (float16 and bfloat16 exactly; integers
 * by value). The caller has checked start + n <= numel. */
void ac__onnx_tensor_to_f32(const ac__onnx_tensor *t, int64_t start, int64_t n, float *out);

/* IEEE half to single, exact (subnormals, infinities and NaNs included). */
float ac__onnx_half_to_float(uint16_t h);

/* The value of a small constant reached through Identity / Cast / (Un)Squeeze / Reshape, as up to
 * `max` doubles. Returns the element count, 0 when the value is not such a constant (or is
 * bigger than max), or a negative status on a malformed tensor. */
int ac__onnx_const_values(ac__onnx_model *m, int value, double *out, int max, char *err);

/* A 1-D int64 shape vector whose elements may be partly unknown: a constant, or a Concat of
 * constants and 1-element pieces computed at run time (Unsqueeze of a scalar). Fills vals[] and
 * known[] (1 when the element is a compile-time constant). Returns its length, or 0 when it cannot
 * be analysed. */
int ac__onnx_shape_vector(ac__onnx_model *m, int value, int64_t *vals, int *known, int max);

/* Follows `value` back to a constant through Identity, Cast (to float), Transpose,
 * DequantizeLinear (int8/uint8, per tensor or per axis), Reshape, Squeeze, Unsqueeze and Flatten.
 * Returns 1 and fills *r when `value` is such a float weight, 0 when it is not, or a negative
 * status (with err) when the constant or the chain is malformed. */
int ac__onnx_wref_resolve(ac__onnx_model *m, int value, ac__onnx_wref *r, char *err);

/* Writes the logical tensor of r as float32 into dst ([rows][cols] row-major, or [cols][rows]
 * when transpose_out is set). Returns AC_OK or an error. */
int ac__onnx_wref_read(ac__onnx_model *m, const ac__onnx_wref *r, float *dst, int transpose_out, char *err);

/* Whether the logical tensor of r equals `ref` ([rows][cols], or [cols][rows] when ref_transposed)
 * bit for bit (after conversion to float32). Returns 1, 0, or a negative status. */
int ac__onnx_wref_equals(ac__onnx_model *m, const ac__onnx_wref *r, const float *ref, int ref_transposed,
                         char *err);

/* The name of the tensor behind r, for messages. */
const char *ac__onnx_wref_name(const ac__onnx_model *m, const ac__onnx_wref *r);

/* Gives back the memory behind initializer `value` once it has been converted for the last time:
 * drops the pages of its raw_data in the mapped file, or of its external data, from this process,
 * or frees its raw_data where protobuf-c copied it. Reading it again afterwards is merely slower
 * for mapped bytes and an error for freed raw_data (it is gone). */
void ac__onnx_tensor_release(ac__onnx_model *m, int value);

/* Whether initializer p's raw_data lies in m->raw_base (the bytes the model was parsed from, not a
 * copy of protobuf-c's, which must not free it). */
int ac__onnx_raw_in_base(const ac__onnx_model *m, const Onnx__TensorProto *p);

/* Unmaps the external data files. */
void ac__onnx_ext_close(ac__onnx_model *m);

/* ------------------------------------------------------------------ onnx_graph.c */

/* One weight slot of the GPT-2 plan: which tensor, and whether to write it transposed. */
typedef struct ac__onnx_slot {
    ac__onnx_wref ref;
    int transpose_out;
    int64_t rows, cols;   /* the expected float32 shape, rows x cols (cols = 1 for a vector) */
} ac__onnx_slot;

enum {
    AC__SLOT_LN1_W, AC__SLOT_LN1_B, AC__SLOT_ATTN_W, AC__SLOT_ATTN_B, AC__SLOT_ATTN_PROJ_W,
    AC__SLOT_ATTN_PROJ_B, AC__SLOT_LN2_W, AC__SLOT_LN2_B, AC__SLOT_FC_W, AC__SLOT_FC_B,
    AC__SLOT_MLP_PROJ_W, AC__SLOT_MLP_PROJ_B, AC__SLOTS_PER_LAYER
};

/* What onnx_graph.c found: the dimensions and where every weight lives. */
typedef struct ac__onnx_plan {
    ac__gpt2_dims dims;
    ac__onnx_slot wte, wpe, ln_f_w, ln_f_b;
    int tied;                 /* the LM head is wte (lm_head unused) */
    ac__onnx_slot lm_head;    /* [n_vocab][n_embd] when not tied */
    ac__onnx_slot *layers;    /* [n_layer * AC__SLOTS_PER_LAYER], owned */
    int n_layer_cap;
    char token_input[64];     /* name of the graph input holding the token ids */
    int past_inputs;          /* float graph inputs besides the ids (past key/values) */
    char weights_desc[48];    /* "float32", "float16", "int8+float32", ... */
} ac__onnx_plan;

/* Checks that every node is an operator we understand and recognises GPT-2 in m's graph.
 * Returns AC_OK with *plan filled (free with ac__onnx_plan_free), or an error:
 * AC_E_UNSUPPORTED for an unknown op or architecture, AC_E_FORMAT for a malformed graph. */
int ac__onnx_gpt2_recognise(ac__onnx_model *m, ac__onnx_plan *plan, char *err);
void ac__onnx_plan_free(ac__onnx_plan *plan);

#endif
