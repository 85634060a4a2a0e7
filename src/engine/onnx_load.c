/* onnx_load.c: ac__onnx_load_weights, the ONNX model loader: the file, the protobuf parse, the
 * index of the graph's values, and writing the recognised weights into an ac__gpt2_weights.
 *
 * This is: the loader's driver and its value/node index (the accessors declared in onnx_model.h).
 * This is not: the tensor decoding (onnx_tensor.c) nor the GPT-2 recognition (onnx_graph.c), and
 * not a runtime: nothing executes the graph.
 *
 * Memory: the file is mapped, and protobuf-c parses a copy of it without the main graph's
 * initializers' raw_data (onnx_wire.h; protobuf-c would copy every bytes field), whose tensors then
 * point into the mapping; each weight is converted into blocks owned by the ac__gpt2_weights, and
 * a tensor's pages are dropped from the process as soon as its last use is converted, so the
 * converted weights replace the file's pages as they go. Where the stripping declines (a shape it
 * does not follow), protobuf-c parses the file itself, and the copy's raw bytes are freed tensor
 * by tensor instead. Measured on GPT-2 124M's shape (a 475 MiB float32 file), the peak RSS of a
 * float32 load (`autocorrect info`) went from 954 to 627 MiB, the weights plus about their largest
 * tensor, and the load took 0.7 s instead of 3.3.
 */
#include "engine/onnx_model.h"
#include "engine/onnx_wire.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* protobuf refuses messages over 2 GiB; bigger models keep their weights in external data. */
#define AC__ONNX_MAX_FILE ((size_t)1 << 31)

/* ------------------------------------------------------------------ value index */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int ac__onnx_value_find(const ac__onnx_model *m, const char *name)
{
    if (!name || !*name || !m->hash_cap)
        return -1;
    size_t mask = m->hash_cap - 1;
    for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
        int v = m->hash[i];
        if (!v)
            return -1;
        if (strcmp(m->values[v - 1].name, name) == 0)
            return v - 1;
    }
}

/* Adds a value called `name`; returns its index, or -1 when the name exists already. */
static int value_add(ac__onnx_model *m, const char *name)
{
    size_t mask = m->hash_cap - 1;
    size_t i = hash_str(name) & mask;
    for (; m->hash[i]; i = (i + 1) & mask)
        if (strcmp(m->values[m->hash[i] - 1].name, name) == 0)
            return -1;
    int id = m->n_values++;
    ac__onnx_value *v = &m->values[id];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = -1;
    v->init = -1;
    m->hash[i] = id + 1;
    return id;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

int ac__onnx_node_n_in(const ac__onnx_model *m, int node)
{
    return m->node_in_start[node + 1] - m->node_in_start[node];
}

int ac__onnx_node_n_out(const ac__onnx_model *m, int node)
{
    return m->node_out_start[node + 1] - m->node_out_start[node];
}

int ac__onnx_node_in(const ac__onnx_model *m, int node, int i)
{
    if (i < 0 || i >= ac__onnx_node_n_in(m, node))
        return -1;
    return m->in_ids[m->node_in_start[node] + i];
}

int ac__onnx_node_out(const ac__onnx_model *m, int node, int i)
{
    if (i < 0 || i >= ac__onnx_node_n_out(m, node))
        return -1;
    return m->out_ids[m->node_out_start[node] + i];
}

const char *ac__onnx_node_op(const ac__onnx_model *m, int node)
{
    return str_or_empty(m->graph->node[node]->op_type);
}

const char *ac__onnx_node_name(const ac__onnx_model *m, int node)
{
    return str_or_empty(m->graph->node[node]->name);
}

const Onnx__AttributeProto *ac__onnx_attr(const ac__onnx_model *m, int node, const char *name)
{
    const Onnx__NodeProto *n = m->graph->node[node];
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i] && n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

int64_t ac__onnx_attr_int(const ac__onnx_model *m, int node, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = ac__onnx_attr(m, node, name);
    return a && a->has_i ? a->i : dflt;
}

float ac__onnx_attr_float(const ac__onnx_model *m, int node, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = ac__onnx_attr(m, node, name);
    return a && a->has_f ? a->f : dflt;
}

/* Builds the value table, the node input/output ids and the consumer lists, checking that every
 * input is defined before it is used (ONNX requires nodes in topological order) and that no value
 * is defined twice. */
static int index_build(ac__onnx_model *m, char *err)
{
    const Onnx__GraphProto *g = m->graph;
    size_t n_names = g->n_initializer + g->n_input;
    size_t n_in = 0, n_out = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        if (!g->node[i])
            return ac__errorf(err, AC_E_FORMAT, "%s: node %zu is empty", m->path, i);
        n_in += g->node[i]->n_input;
        n_out += g->node[i]->n_output;
    }
    n_names += n_out;
    if (g->n_node > INT_MAX / 4 || n_names > INT_MAX / 4 || n_in > INT_MAX / 4)
        return ac__errorf(err, AC_E_LIMIT, "%s: graph too large", m->path);
    size_t cap = 16;
    while (cap < 2 * n_names)
        cap *= 2;
    m->hash_cap = cap;
    m->hash = calloc(cap, sizeof *m->hash);
    m->values = malloc((n_names + 1) * sizeof *m->values);
    m->node_in_start = malloc((g->n_node + 1) * sizeof(int));
    m->node_out_start = malloc((g->n_node + 1) * sizeof(int));
    m->in_ids = malloc((n_in + 1) * sizeof(int));
    m->out_ids = malloc((n_out + 1) * sizeof(int));
    if (!m->hash || !m->values || !m->node_in_start || !m->node_out_start || !m->in_ids || !m->out_ids)
        return ac__errorf(err, AC_E_NOMEM, "out of memory indexing %s", m->path);

    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (!t || !t->name || !*t->name)
            return ac__errorf(err, AC_E_FORMAT, "%s: initializer %zu has no name", m->path, i);
        int id = value_add(m, t->name);
        if (id < 0)
            return ac__errorf(err, AC_E_FORMAT, "%s: initializer %s is defined twice", m->path, t->name);
        m->values[id].init = (int)i;
    }
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i] ? g->input[i]->name : NULL;
        if (!name || !*name)
            return ac__errorf(err, AC_E_FORMAT, "%s: graph input %zu has no name", m->path, i);
        int id = ac__onnx_value_find(m, name);
        if (id >= 0) {
            if (m->values[id].init < 0)
                return ac__errorf(err, AC_E_FORMAT, "%s: graph input %s is listed twice", m->path, name);
            continue;   /* an initializer also listed as an input (IR version < 4) */
        }
        id = value_add(m, name);
        m->values[id].is_input = 1;
    }
    int in_pos = 0, out_pos = 0;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *n = g->node[k];
        m->node_in_start[k] = in_pos;
        for (size_t j = 0; j < n->n_input; j++) {
            const char *name = n->input[j];
            int id = -1;
            if (name && *name) {
                id = ac__onnx_value_find(m, name);
                if (id < 0)
                    return ac__errorf(err, AC_E_FORMAT,
                                      "%s: input %s of node %zu (%s) is not defined before it "
                                      "(the graph is incomplete or not topologically sorted)",
                                      m->path, name, k, str_or_empty(n->name));
            }
            m->in_ids[in_pos++] = id;
        }
        m->node_out_start[k] = out_pos;
        for (size_t j = 0; j < n->n_output; j++) {
            const char *name = n->output[j];
            int id = -1;
            if (name && *name) {
                id = value_add(m, name);
                if (id < 0)
                    return ac__errorf(err, AC_E_FORMAT, "%s: value %s (output of node %zu) is defined twice",
                                      m->path, name, k);
                m->values[id].producer = (int)k;
            }
            m->out_ids[out_pos++] = id;
        }
    }
    m->node_in_start[g->n_node] = in_pos;
    m->node_out_start[g->n_node] = out_pos;
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i] ? g->output[i]->name : NULL;
        int id = ac__onnx_value_find(m, name);
        if (id < 0)
            return ac__errorf(err, AC_E_FORMAT, "%s: graph output %s is not computed by the graph",
                              m->path, str_or_empty(name));
        m->values[id].is_output = 1;
    }

    /* consumers, grouped per value */
    for (int i = 0; i < in_pos; i++)
        if (m->in_ids[i] >= 0)
            m->values[m->in_ids[i]].n_uses++;
    int pos = 0;
    for (int v = 0; v < m->n_values; v++) {
        m->values[v].use_start = pos;
        pos += m->values[v].n_uses;
        m->values[v].n_uses = 0;
    }
    m->uses = malloc(((size_t)pos + 1) * sizeof(int));
    if (!m->uses)
        return ac__errorf(err, AC_E_NOMEM, "out of memory indexing %s", m->path);
    for (size_t k = 0; k < g->n_node; k++)
        for (int i = m->node_in_start[k]; i < m->node_in_start[k + 1]; i++) {
            int v = m->in_ids[i];
            if (v >= 0) {
                ac__onnx_value *val = &m->values[v];
                m->uses[val->use_start + val->n_uses++] = (int)k;
            }
        }
    return AC_OK;
}

static void model_free(ac__onnx_model *m)
{
    ac__onnx_ext_close(m);
    if (m->proto) {
        for (size_t i = 0; m->graph && i < m->graph->n_initializer; i++) {
            Onnx__TensorProto *p = m->graph->initializer[i];
            if (p && ac__onnx_raw_in_base(m, p)) {
                p->raw_data.data = NULL;
                p->raw_data.len = 0;
            }
        }
        onnx__model_proto__free_unpacked(m->proto, NULL);
    }
    if (m->raw_mapped)
        ac_file_unmap(m->raw_base, m->raw_len);
    free(m->dir);
    free(m->hash);
    free(m->values);
    free(m->node_in_start);
    free(m->node_out_start);
    free(m->in_ids);
    free(m->out_ids);
    free(m->uses);
    memset(m, 0, sizeof *m);
}

/* The parse of data[0..len) by protobuf-c from a copy without the main graph's initializers'
 * raw_data, each then pointed at its bytes in data (which must outlive m); m->raw_base is set. NULL
 * when the stripping declines or the copy does not parse: the caller then parses data itself. */
static Onnx__ModelProto *unpack_without_raw_data(ac__onnx_model *m, const void *data, size_t len)
{
    uint8_t *stripped;
    size_t stripped_len, n_refs;
    ac__onnx_raw_ref *refs;
    if (ac__onnx_strip_raw_data(data, len, &stripped, &stripped_len, &refs, &n_refs))
        return NULL;
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, stripped_len, stripped);
    free(stripped);
    if (proto && (!proto->graph || proto->graph->n_initializer != n_refs)) {
        onnx__model_proto__free_unpacked(proto, NULL);  /* protobuf-c saw another shape: its call */
        proto = NULL;
    }
    for (size_t i = 0; proto && i < n_refs; i++) {
        Onnx__TensorProto *p = proto->graph->initializer[i];
        if (refs[i].present) {
            p->has_raw_data = 1;
            p->raw_data.data = (uint8_t *)data + refs[i].offset;
            p->raw_data.len = refs[i].len;
        }
    }
    free(refs);
    if (proto) {
        m->raw_base = data;
        m->raw_len = len;
    }
    return proto;
}

/* Parses `len` bytes of ONNX protobuf and indexes the graph. m->path and m->dir are set. The
 * main graph's initializers may point into data, which then must outlive m (m->raw_base). */
static int model_parse(ac__onnx_model *m, const void *data, size_t len, char *err)
{
    if (len == 0)
        return ac__errorf(err, AC_E_FORMAT, "%s is empty, not an ONNX model", m->path);
    if (len >= AC__ONNX_MAX_FILE)
        return ac__errorf(err, AC_E_LIMIT, "%s is %zu bytes; an ONNX protobuf must be under 2 GiB "
                          "(bigger models keep their weights in external data files)", m->path, len);
    m->proto = unpack_without_raw_data(m, data, len);
    if (!m->proto)
        m->proto = onnx__model_proto__unpack(NULL, len, data);
    if (!m->proto)
        return ac__errorf(err, AC_E_FORMAT, "%s is not a valid ONNX model (the protobuf does not parse: "
                          "truncated or not ONNX)", m->path);
    m->graph = m->proto->graph;
    if (!m->graph || m->graph->n_node == 0)
        return ac__errorf(err, AC_E_FORMAT, "%s: the ONNX model has no graph (not an ONNX model?)", m->path);

    m->opset = -1;
    for (size_t i = 0; i < m->proto->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->proto->opset_import[i];
        if (o && (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
            m->opset = (int)o->version;
    }
    if (m->opset < 0)
        return ac__errorf(err, AC_E_FORMAT, "%s: the model imports no default ONNX operator set", m->path);
    if (m->opset < 7)
        return ac__errorf(err, AC_E_UNSUPPORTED, "%s: opset %d is too old (13 to 21 are supported)", m->path,
                          m->opset);
    return index_build(m, err);
}

static int model_init(ac__onnx_model *m, const char *name, const char *dir, char *err)
{
    memset(m, 0, sizeof *m);
    m->path = name;
    m->dir = strdup(dir && *dir ? dir : ".");
    return m->dir ? AC_OK : ac__errorf(err, AC_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------ writing the weights */

/* How many slots read each initializer: its raw bytes are freed after the last one. */
static void count_base_uses(const ac__onnx_model *m, const ac__onnx_slot *s, int *uses)
{
    const int vals[3] = {s->ref.base, s->ref.scale, s->ref.zero_point};
    for (int i = 0; i < 3; i++)
        if (vals[i] >= 0 && m->values[vals[i]].init >= 0)
            uses[m->values[vals[i]].init]++;
}

static void release_base(ac__onnx_model *m, const ac__onnx_slot *s, int *uses)
{
    const int vals[3] = {s->ref.base, s->ref.scale, s->ref.zero_point};
    for (int i = 0; i < 3; i++) {
        if (vals[i] < 0 || m->values[vals[i]].init < 0)
            continue;
        int k = m->values[vals[i]].init;
        if (--uses[k] == 0)
            ac__onnx_tensor_release(m, vals[i]);
    }
}

static int slot_write(ac__onnx_model *m, ac__gpt2_weights *w, const ac__onnx_slot *s, float **dst, int *uses,
                      char *err)
{
    size_t n = (size_t)s->rows * (size_t)s->cols;
    if ((int64_t)s->ref.rows * s->ref.cols != (int64_t)n)
        return ac__errorf(err, AC_E_FORMAT, "%s: %s has %lld elements, expected %zu", m->path,
                          ac__onnx_wref_name(m, &s->ref), (long long)(s->ref.rows * s->ref.cols), n);
    float *p = ac__gpt2_weights_alloc(w, n);
    if (!p)
        return ac__errorf(err, AC_E_NOMEM, "out of memory for %s (%zu floats)", ac__onnx_wref_name(m, &s->ref), n);
    int rc = ac__onnx_wref_read(m, &s->ref, p, s->transpose_out, err);
    if (rc)
        return rc;
    *dst = p;
    release_base(m, s, uses);
    return AC_OK;
}

static int weights_write(ac__onnx_model *m, const ac__onnx_plan *plan, ac__gpt2_weights *w, char *err)
{
    const ac__gpt2_dims *d = &plan->dims;
    w->dims = *d;
    w->layers = calloc((size_t)d->n_layer, sizeof *w->layers);
    int *uses = calloc(m->graph->n_initializer + 1, sizeof(int));
    if (!w->layers || !uses) {
        free(uses);
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    }
    const ac__onnx_slot *globals[] = {&plan->wte, &plan->wpe, &plan->ln_f_w, &plan->ln_f_b,
                                      plan->tied ? NULL : &plan->lm_head};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (globals[i])
            count_base_uses(m, globals[i], uses);
    for (int i = 0; i < d->n_layer * AC__SLOTS_PER_LAYER; i++)
        count_base_uses(m, &plan->layers[i], uses);

    int rc = slot_write(m, w, &plan->wte, &w->wte, uses, err);
    if (!rc)
        rc = slot_write(m, w, &plan->wpe, &w->wpe, uses, err);
    for (int l = 0; !rc && l < d->n_layer; l++) {
        const ac__onnx_slot *s = &plan->layers[l * AC__SLOTS_PER_LAYER];
        ac__gpt2_layer *L = &w->layers[l];
        float **dst[AC__SLOTS_PER_LAYER] = {
            [AC__SLOT_LN1_W] = &L->ln_1_w, [AC__SLOT_LN1_B] = &L->ln_1_b,
            [AC__SLOT_ATTN_W] = &L->attn_w, [AC__SLOT_ATTN_B] = &L->attn_b,
            [AC__SLOT_ATTN_PROJ_W] = &L->attn_proj_w, [AC__SLOT_ATTN_PROJ_B] = &L->attn_proj_b,
            [AC__SLOT_LN2_W] = &L->ln_2_w, [AC__SLOT_LN2_B] = &L->ln_2_b,
            [AC__SLOT_FC_W] = &L->fc_w, [AC__SLOT_FC_B] = &L->fc_b,
            [AC__SLOT_MLP_PROJ_W] = &L->mlp_proj_w, [AC__SLOT_MLP_PROJ_B] = &L->mlp_proj_b,
        };
        for (int i = 0; !rc && i < AC__SLOTS_PER_LAYER; i++)
            rc = slot_write(m, w, &s[i], dst[i], uses, err);
    }
    if (!rc)
        rc = slot_write(m, w, &plan->ln_f_w, &w->ln_f_w, uses, err);
    if (!rc)
        rc = slot_write(m, w, &plan->ln_f_b, &w->ln_f_b, uses, err);
    if (!rc && !plan->tied) {
        /* a head read from another tensor (a folded transposed copy of wte, or a real untied head):
         * tied when its values are wte's */
        rc = ac__onnx_wref_equals(m, &plan->lm_head.ref, w->wte, plan->lm_head.transpose_out, err);
        if (rc == 1)
            release_base(m, &plan->lm_head, uses);
        else if (rc == 0)
            rc = slot_write(m, w, &plan->lm_head, &w->lm_head, uses, err);
        if (rc > 0)
            rc = AC_OK;
    }
    free(uses);
    return rc;
}

/* After parsing: recognise, convert, validate; frees m. */
static int load_finish(ac__onnx_model *m, int rc, ac__gpt2_weights *w, char *err)
{
    ac__onnx_plan plan;
    memset(&plan, 0, sizeof plan);
    if (!rc)
        rc = ac__onnx_gpt2_recognise(m, &plan, err);
    if (!rc)
        rc = weights_write(m, &plan, w, err);
    if (!rc) {
        snprintf(w->source, sizeof w->source, "onnx opset %d, %s weights, %s head%s", m->opset,
                 plan.weights_desc, w->lm_head ? "untied" : "tied", plan.past_inputs ? ", past inputs" : "");
        rc = ac__gpt2_weights_validate(w, err);
    }
    ac__onnx_plan_free(&plan);
    model_free(m);
    if (rc)
        ac__gpt2_weights_free(w);
    return rc;
}

int ac__onnx_load_weights(const char *path, ac__gpt2_weights *w, char *err)
{
    memset(w, 0, sizeof *w);
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    ac__onnx_model m;
    int rc = dir ? model_init(&m, path, dir, err) : ac__errorf(err, AC_E_NOMEM, "out of memory");
    free(dir);
    if (rc)
        return rc;
    const void *addr = NULL;
    size_t len = 0;
    rc = ac_file_map(path, &addr, &len, err);
    if (!rc) {
        rc = model_parse(&m, addr, len, err);
        if (m.raw_base)
            m.raw_mapped = 1;           /* the tensors point into it: model_free unmaps it */
        else
            ac_file_unmap(addr, len);   /* protobuf-c copied what it keeps */
    }
    return load_finish(&m, rc, w, err);
}

int ac__onnx_load_weights_mem(const void *data, size_t len, const char *name, const char *dir,
                              ac__gpt2_weights *w, char *err)
{
    memset(w, 0, sizeof *w);
    ac__onnx_model m;
    int rc = model_init(&m, name ? name : "(memory)", dir, err);
    if (rc)
        return rc;
    rc = model_parse(&m, data, len, err);
    return load_finish(&m, rc, w, err);
}
