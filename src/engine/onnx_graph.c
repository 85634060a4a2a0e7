/* onnx_graph.c: recognising GPT-2 in an ONNX graph, from its structure and its weights' shapes,
 * never from tensor or node names.
 *
 * This is: the op whitelist, and a walk of the graph that finds, in data-flow order, the token
 * and position embeddings, each block (LayerNorm, c_attn, attention, c_proj, residual add,
 * LayerNorm, c_fc, GELU, mlp.c_proj, residual add), the final LayerNorm and the LM head, and
 * checks that nothing else touches the activations. The result is an ac__onnx_plan: dimensions
 * and one weight reference per tensor of ac__gpt2_weights.
 * This is not: a general ONNX importer. The forward pass (model.c) implements GPT-2's math; this
 * file only proves that the graph computes GPT-2 closely enough that the weights mean what the
 * forward pass assumes.
 *
 * What is recognised (docs/model-format.md, "How the loader reads a graph"):
 *   - embeddings: Gather(W [n_vocab, n_embd], ids) where ids come from a graph input through
 *     Reshape/Unsqueeze/Cast-like nodes; plus Gather or Slice of W' [n_ctx, n_embd] (positions from
 *     a Range, a constant or an input), the two added;
 *   - LayerNorm: LayerNormalization (axis -1), or ReduceMean, Sub, Pow 2 (or Mul x x), ReduceMean,
 *     Add eps, Sqrt, Div, Mul gamma, Add beta;
 *   - a linear layer: MatMul(x, W) + Add(b), or Gemm(x, W, b) (transB either way), with W and b
 *     constants reached through Identity, Cast, Transpose, DequantizeLinear, (Un)Squeeze, Reshape;
 *     x may be reshaped on the way in and out;
 *   - attention: anything made of whitelisted ops between c_attn and c_proj, with one Softmax and
 *     two activation MatMuls; n_head from the Reshape shapes that split heads ([.., .., n_head,
 *     head_dim]), cross-checked with a constant 1/sqrt(head_dim) scale where there is one;
 *   - MLP activation: tanh GELU (constants 0.044715 and sqrt(2/pi)) or erf GELU (1/sqrt(2));
 *   - LM head: MatMul/Gemm of the final LayerNorm by wte transposed (a Transpose node or a folded
 *     copy: tied) or by another matrix (untied), reaching a graph output.
 */
#include "engine/onnx_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The operators we understand (default domain). Anything else is refused by name. */
static const char *const known_ops[] = {
    "Add", "And", "Cast", "CastLike", "Concat", "Constant", "ConstantOfShape", "DequantizeLinear", "Div",
    "Dropout", "Equal", "Erf", "Expand", "Flatten", "Gather", "Gemm", "Greater", "GreaterOrEqual",
    "Identity", "LayerNormalization", "Less", "LessOrEqual", "MatMul", "Max", "Min", "Mul", "Neg", "Not",
    "Or", "Pow", "Range", "ReduceMean", "Reshape", "Shape", "Size", "Slice", "Softmax", "Split", "Sqrt",
    "Squeeze", "Sub", "Tanh", "Transpose", "Trilu", "Unsqueeze", "Where",
};

/* A MatMul or Gemm by a constant matrix: y = x @ W + b, W logically [n_in][n_out]. */
typedef struct lin {
    int node;             /* the MatMul / Gemm */
    int bias_node;        /* the Add of the bias after a MatMul, or -1 */
    int in, out;          /* x, and y after the bias */
    ac__onnx_wref w, b;   /* b.base < 0: no bias */
    int w_t;              /* W's reference is [n_out][n_in] (Gemm transB = 1) */
    int64_t n_in, n_out;
} lin;

typedef struct lnorm {
    int in, out;
    ac__onnx_wref g, b;
    double eps;
} lnorm;

typedef struct ctx {
    ac__onnx_model *m;
    char *err;
    int n_node;
    unsigned char *mark;   /* [n_node] nodes the recognition explains */
    int *lin_by_node;      /* [n_node] index into lins, or -1 */
    int *lin_by_out;       /* [n_values] index into lins, or -1 */
    lin *lins;
    int n_lins;
    int *vgen;             /* [n_values] generation marks for walks */
    int gen;
    int *list;             /* [n_node] scratch list of nodes */
    int *stack;            /* [n_values] scratch */
    int *ngen;             /* [n_node] generation marks for nodes (backward walks) */
    int *nfwd;             /* [n_node] generation marks for nodes (forward walks) */
    int token_input;       /* value index of the graph input holding the token ids */
    int n_embd;
} ctx;

static const char *P(const ctx *c)
{
    return c->m->path;
}

static int op_is(const ctx *c, int node, const char *op)
{
    return node >= 0 && strcmp(ac__onnx_node_op(c->m, node), op) == 0;
}

static int in_of(const ctx *c, int node, int i)
{
    return ac__onnx_node_in(c->m, node, i);
}

static int out_of(const ctx *c, int node, int i)
{
    return ac__onnx_node_out(c->m, node, i);
}

static const char *vname(const ctx *c, int v)
{
    return v >= 0 ? c->m->values[v].name : "(none)";
}

static int producer(const ctx *c, int v)
{
    return v >= 0 ? c->m->values[v].producer : -1;
}

/* Nodes that pass a tensor through unchanged in value (views, casts, inference-mode dropout). */
static int is_view(const ctx *c, int node)
{
    static const char *const ops[] = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout", "Cast"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (op_is(c, node, ops[i]))
            return 1;
    return 0;
}

/* Nodes whose output is a shape, not data: walks along activations stop there. */
static int is_shape_of(const ctx *c, int node)
{
    return op_is(c, node, "Shape") || op_is(c, node, "Size");
}

/* Follows v back through view nodes to the value they view. */
static int view_back(const ctx *c, int v)
{
    for (int depth = 0; depth < 32 && v >= 0; depth++) {
        int p = producer(c, v);
        if (p < 0 || !is_view(c, p))
            break;
        v = in_of(c, p, 0);
    }
    return v;
}

/* The values that are v seen through view nodes (v included), into out[]; returns the count. */
static int view_fwd(const ctx *c, int v, int *out, int max)
{
    int n = 0;
    out[n++] = v;
    for (int i = 0; i < n; i++) {
        const ac__onnx_value *val = &c->m->values[out[i]];
        for (int u = 0; u < val->n_uses; u++) {
            int k = c->m->uses[val->use_start + u];
            if (is_view(c, k) && in_of(c, k, 0) == out[i] && n < max) {
                int o = out_of(c, k, 0);
                int seen = o < 0;
                for (int j = 0; j < n && !seen; j++)
                    seen = out[j] == o;
                if (!seen)
                    out[n++] = o;
            }
        }
    }
    return n;
}

static void dims_str(const ac__onnx_wref *r, char *buf, size_t size)
{
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, size - pos, "[");
    for (int i = 0; i < r->full_rank && pos < size; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", i ? ", " : "", (long long)r->full_dims[i]);
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

/* ------------------------------------------------------------------ whitelist */

static int ops_check(ctx *c)
{
    for (int k = 0; k < c->n_node; k++) {
        const Onnx__NodeProto *n = c->m->graph->node[k];
        const char *dom = n->domain ? n->domain : "";
        const char *op = ac__onnx_node_op(c->m, k);
        int ok = 0;
        if (!*dom || strcmp(dom, "ai.onnx") == 0)
            for (size_t i = 0; i < sizeof known_ops / sizeof known_ops[0] && !ok; i++)
                ok = strcmp(op, known_ops[i]) == 0;
        if (!ok)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: unsupported op %s%s%s at node %d (%s)", P(c), dom,
                              *dom ? "." : "", op, k, ac__onnx_node_name(c->m, k));
    }
    return AC_OK;
}

/* ------------------------------------------------------------------ linear layers */

/* A bias: a constant vector of n elements. */
static int bias_resolve(ctx *c, int v, int64_t n, ac__onnx_wref *b, const char *what, int node)
{
    int rc = ac__onnx_wref_resolve(c->m, v, b, c->err);
    if (rc < 0)
        return rc;
    if (rc == 0 || b->logical_rank > 1)
        return 0;
    if (b->rows != n) {
        char d[64];
        dims_str(b, d, sizeof d);
        return ac__errorf(c->err, AC_E_FORMAT, "%s: bias %s of %s node %d (%s) has shape %s, expected [%lld]", P(c),
                          ac__onnx_wref_name(c->m, b), what, node, ac__onnx_node_name(c->m, node), d, (long long)n);
    }
    return 1;
}

/* Finds every MatMul / Gemm whose second input is a constant matrix. */
static int linears_scan(ctx *c)
{
    ac__onnx_model *m = c->m;
    for (int k = 0; k < c->n_node; k++) {
        int gemm = op_is(c, k, "Gemm");
        if (!gemm && !op_is(c, k, "MatMul"))
            continue;
        lin L;
        memset(&L, 0, sizeof L);
        L.node = k;
        L.bias_node = -1;
        L.b.base = -1;
        L.in = in_of(c, k, 0);
        int rc = ac__onnx_wref_resolve(m, in_of(c, k, 1), &L.w, c->err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;   /* activation x activation (attention) */
        if (L.w.logical_rank != 2 || L.w.full_rank > 2) {
            char d[64];
            dims_str(&L.w, d, sizeof d);
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s node %d (%s) multiplies by %s of shape %s; a matrix "
                              "was expected", P(c), ac__onnx_node_op(m, k), k, ac__onnx_node_name(m, k),
                              ac__onnx_wref_name(m, &L.w), d);
        }
        if (L.in < 0 || ac__onnx_is_const(m, L.in))
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s node %d (%s) %s", P(c), ac__onnx_node_op(m, k), k,
                              ac__onnx_node_name(m, k), L.in < 0 ? "has no first input" : "multiplies two constants");
        if (gemm) {
            if (ac__onnx_attr_int(m, k, "transA", 0) || ac__onnx_attr_float(m, k, "alpha", 1.0f) != 1.0f ||
                ac__onnx_attr_float(m, k, "beta", 1.0f) != 1.0f)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: Gemm node %d (%s) has transA, alpha or beta set; "
                                  "only y = x @ W + b is supported", P(c), k, ac__onnx_node_name(m, k));
            L.w_t = ac__onnx_attr_int(m, k, "transB", 0) != 0;
        }
        L.n_in = L.w_t ? L.w.cols : L.w.rows;
        L.n_out = L.w_t ? L.w.rows : L.w.cols;
        L.out = out_of(c, k, 0);
        int cin = gemm ? in_of(c, k, 2) : -1;
        if (cin >= 0) {
            rc = bias_resolve(c, cin, L.n_out, &L.b, "Gemm", k);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the bias of Gemm node %d (%s) is not a constant "
                                  "vector", P(c), k, ac__onnx_node_name(m, k));
        } else if (L.out >= 0 && m->values[L.out].n_uses == 1 && !m->values[L.out].is_output) {
            int a = m->uses[m->values[L.out].use_start];
            if (op_is(c, a, "Add")) {
                int other = in_of(c, a, 0) == L.out ? in_of(c, a, 1) : in_of(c, a, 0);
                rc = bias_resolve(c, other, L.n_out, &L.b, "Add", a);
                if (rc < 0)
                    return rc;
                if (rc == 1) {
                    L.bias_node = a;
                    L.out = out_of(c, a, 0);
                }
            }
        }
        if (L.out < 0)
            continue;
        lin *bigger = realloc(c->lins, (size_t)(c->n_lins + 1) * sizeof *bigger);
        if (!bigger)
            return ac__errorf(c->err, AC_E_NOMEM, "out of memory");
        c->lins = bigger;
        c->lin_by_node[k] = c->n_lins;
        c->lin_by_out[L.out] = c->n_lins;
        c->lins[c->n_lins++] = L;
    }
    return AC_OK;
}

static void lin_mark(ctx *c, const lin *L)
{
    c->mark[L->node] = 1;
    if (L->bias_node >= 0)
        c->mark[L->bias_node] = 1;
}

/* The linear layer that reads v (through views). Returns its index, -1 when none, or an error
 * (AC_E_UNSUPPORTED, below -1: callers test `< -1`). */
static int lin_after(ctx *c, int v, const char *what)
{
    int vals[64];
    int n = view_fwd(c, v, vals, 64);
    int found = -1;
    for (int i = 0; i < n; i++) {
        const ac__onnx_value *val = &c->m->values[vals[i]];
        for (int u = 0; u < val->n_uses; u++) {
            int k = c->m->uses[val->use_start + u];
            int li = c->lin_by_node[k];
            if (li < 0 || c->lins[li].in != vals[i] || li == found)
                continue;
            if (found >= 0)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s %s feeds several matrices (nodes %d and %d)",
                                  P(c), what, vname(c, v), c->lins[found].node, k);
            found = li;
        }
    }
    return found;
}

/* Checks a linear layer's shape [n_in][n_out] and its bias. */
static int lin_check(ctx *c, const lin *L, int64_t n_in, int64_t n_out, int need_bias, const char *what, int layer)
{
    if (L->n_in != n_in || L->n_out != n_out) {
        char d[64];
        dims_str(&L->w, d, sizeof d);
        return ac__errorf(c->err, AC_E_FORMAT, "%s: %s weight %s of layer %d has shape %s%s, expected [%lld, %lld] "
                          "(n_embd %d)", P(c), what, ac__onnx_wref_name(c->m, &L->w), layer, d,
                          L->w_t ? " (transposed)" : "", (long long)n_in, (long long)n_out, c->n_embd);
    }
    if (need_bias && L->b.base < 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s of layer %d (node %d) has no bias", P(c), what, layer,
                          L->node);
    if (!need_bias && L->b.base >= 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the LM head (node %d) has a bias %s, which GPT-2 does not",
                          P(c), L->node, ac__onnx_wref_name(c->m, &L->b));
    return AC_OK;
}

/* ------------------------------------------------------------------ LayerNorm */

/* The node that consumes v with op `op` (and, when `input` >= 0, reads v as that input).
 * Returns it, -1 when none, -2 when several. */
static int consumer(const ctx *c, int v, const char *op, int input)
{
    if (v < 0)
        return -1;
    const ac__onnx_value *val = &c->m->values[v];
    int found = -1;
    for (int u = 0; u < val->n_uses; u++) {
        int k = c->m->uses[val->use_start + u];
        if (!op_is(c, k, op) || k == found)
            continue;
        if (input >= 0 && in_of(c, k, input) != v)
            continue;
        if (found >= 0)
            return -2;
        found = k;
    }
    return found;
}

/* For a binary node k reading v, the other input. */
static int other_in(const ctx *c, int k, int v)
{
    return in_of(c, k, 0) == v ? in_of(c, k, 1) : in_of(c, k, 0);
}

static double const_scalar(ctx *c, int v, int *ok)
{
    double x[1];
    *ok = ac__onnx_const_values(c->m, v, x, 1, NULL) == 1;
    return *ok ? x[0] : 0.0;
}

/* A reduction over the last axis only (attribute axes or input 1), keeping dims. */
static int reduce_last_axis(ctx *c, int k)
{
    if (ac__onnx_attr_int(c->m, k, "keepdims", 1) != 1)
        return 0;
    const Onnx__AttributeProto *a = ac__onnx_attr(c->m, k, "axes");
    if (a)
        return a->n_ints == 1 && (a->ints[0] == -1 || a->ints[0] == 2);
    double x[2];
    int n = in_of(c, k, 1) >= 0 ? ac__onnx_const_values(c->m, in_of(c, k, 1), x, 2, NULL) : 0;
    return n == 1 && (x[0] == -1 || x[0] == 2);
}

static int ln_vector(ctx *c, int v, ac__onnx_wref *r, int node, const char *what)
{
    int rc = ac__onnx_wref_resolve(c->m, v, r, c->err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the LayerNorm %s at node %d (%s) is not a constant", P(c),
                          what, node, ac__onnx_node_name(c->m, node));
    if (r->logical_rank > 1 || r->rows != c->n_embd) {
        char d[64];
        dims_str(r, d, sizeof d);
        return ac__errorf(c->err, AC_E_FORMAT, "%s: LayerNorm %s %s has shape %s, expected [%d]", P(c), what,
                          ac__onnx_wref_name(c->m, r), d, c->n_embd);
    }
    return AC_OK;
}

/* The LayerNorm reading x. Returns 1 (found, *out filled, nodes marked), 0 (none) or an error. */
static int ln_match(ctx *c, int x, lnorm *out)
{
    ac__onnx_model *m = c->m;
    int fused = consumer(c, x, "LayerNormalization", 0);
    int rm1 = consumer(c, x, "ReduceMean", 0);
    if (fused == -2 || rm1 == -2 || (fused >= 0 && rm1 >= 0))
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: several LayerNorms read %s", P(c), vname(c, x));
    memset(out, 0, sizeof *out);
    out->in = x;
    int rc;
    if (fused >= 0) {
        int64_t axis = ac__onnx_attr_int(m, fused, "axis", -1);
        if (axis != -1 && axis != 2)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: LayerNormalization node %d (%s) normalises axis %lld; "
                              "only the last axis is supported", P(c), fused, ac__onnx_node_name(m, fused),
                              (long long)axis);
        if (in_of(c, fused, 2) < 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: LayerNormalization node %d (%s) has no bias", P(c),
                              fused, ac__onnx_node_name(m, fused));
        for (int i = 1; i < ac__onnx_node_n_out(m, fused); i++) {
            int o = out_of(c, fused, i);
            if (o >= 0 && (m->values[o].n_uses || m->values[o].is_output))
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: LayerNormalization node %d (%s): its mean and "
                                  "inverse deviation outputs are used", P(c), fused, ac__onnx_node_name(m, fused));
        }
        if ((rc = ln_vector(c, in_of(c, fused, 1), &out->g, fused, "scale")) ||
            (rc = ln_vector(c, in_of(c, fused, 2), &out->b, fused, "bias")))
            return rc;
        out->eps = ac__onnx_attr_float(m, fused, "epsilon", 1e-5f);
        out->out = out_of(c, fused, 0);
        c->mark[fused] = 1;
        return out->out >= 0 ? 1 : ac__errorf(c->err, AC_E_FORMAT, "%s: LayerNormalization node %d has no output",
                                              P(c), fused);
    }
    if (rm1 < 0)
        return 0;

    /* ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta */
    int nodes[9] = {rm1, -1, -1, -1, -1, -1, -1, -1, -1};
    int ok = reduce_last_axis(c, rm1);
    int mean = out_of(c, rm1, 0);
    int sub = ok ? consumer(c, mean, "Sub", 1) : -1;
    ok = sub >= 0 && in_of(c, sub, 0) == x;
    int d = ok ? out_of(c, sub, 0) : -1;
    int sq = -1;
    if (ok) {
        int pw = consumer(c, d, "Pow", 0);
        int mu = consumer(c, d, "Mul", -1);
        int is2 = 0;
        if (pw >= 0) {
            double e = const_scalar(c, in_of(c, pw, 1), &is2);
            is2 = is2 && e == 2.0;
            sq = is2 ? pw : -1;
        } else if (mu >= 0 && in_of(c, mu, 0) == d && in_of(c, mu, 1) == d) {
            sq = mu;
        }
    }
    int rm2 = sq >= 0 ? consumer(c, out_of(c, sq, 0), "ReduceMean", 0) : -1;
    ok = rm2 >= 0 && reduce_last_axis(c, rm2);
    int add_eps = ok ? consumer(c, out_of(c, rm2, 0), "Add", -1) : -1;
    double eps = 0;
    if (add_eps >= 0)
        eps = const_scalar(c, other_in(c, add_eps, out_of(c, rm2, 0)), &ok);
    else
        ok = 0;
    ok = ok && eps > 0 && eps < 0.1;
    int sqrt_n = ok ? consumer(c, out_of(c, add_eps, 0), "Sqrt", 0) : -1;
    int div = sqrt_n >= 0 ? consumer(c, d, "Div", 0) : -1;
    ok = div >= 0 && in_of(c, div, 1) == out_of(c, sqrt_n, 0);
    int mul = ok ? consumer(c, out_of(c, div, 0), "Mul", -1) : -1;
    int add = mul >= 0 ? consumer(c, out_of(c, mul, 0), "Add", -1) : -1;
    if (add < 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: ReduceMean node %d (%s) starts something that is not a "
                          "LayerNorm (expected ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)", P(c), rm1,
                          ac__onnx_node_name(m, rm1));
    nodes[1] = sub, nodes[2] = sq, nodes[3] = rm2, nodes[4] = add_eps, nodes[5] = sqrt_n, nodes[6] = div;
    nodes[7] = mul, nodes[8] = add;
    /* the intermediate values must not be read by anything else */
    for (int i = 0; i < 8; i++) {
        int o = out_of(c, nodes[i], 0);
        int expect = (i == 1) ? 2 + (op_is(c, sq, "Mul") ? 1 : 0) : 1;
        if (m->values[o].n_uses != expect || m->values[o].is_output)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the LayerNorm at node %d (%s) has an intermediate "
                              "value %s used elsewhere", P(c), rm1, ac__onnx_node_name(m, rm1), vname(c, o));
    }
    if ((rc = ln_vector(c, other_in(c, mul, out_of(c, div, 0)), &out->g, mul, "weight")) ||
        (rc = ln_vector(c, other_in(c, add, out_of(c, mul, 0)), &out->b, add, "bias")))
        return rc;
    out->eps = eps;
    out->out = out_of(c, add, 0);
    for (int i = 0; i < 9; i++)
        c->mark[nodes[i]] = 1;
    return 1;
}

/* ------------------------------------------------------------------ blocks */

/* The residual Add reading r (through views) whose other input is a linear layer's output.
 * Returns the Add node and sets *li, -1 when none, or an error (AC_E_UNSUPPORTED, below -1). */
static int residual_find(ctx *c, int r, int *li)
{
    int vals[64];
    int n = view_fwd(c, r, vals, 64);
    int found = -1;
    for (int i = 0; i < n; i++) {
        const ac__onnx_value *val = &c->m->values[vals[i]];
        for (int u = 0; u < val->n_uses; u++) {
            int k = c->m->uses[val->use_start + u];
            if (!op_is(c, k, "Add") || k == found)
                continue;
            int o = view_back(c, other_in(c, k, vals[i]));
            if (o < 0 || c->lin_by_out[o] < 0)
                continue;
            if (found >= 0)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the residual stream %s is added to several "
                                  "layers' outputs (nodes %d and %d)", P(c), vname(c, r), found, k);
            found = k;
            *li = c->lin_by_out[o];
        }
    }
    return found;
}

/* The nodes on data paths from value `from` (made by node from_node) to value `to` (read by
 * node to_node): forward-reachable from `from` without passing through Shape, and backward-
 * reachable from `to`. With `sinks`, also the nodes reached forward whose results only leave the
 * graph (the attention's present keys and values). Fills c->list; returns the count, or an error
 * when `to` does not depend on `from`. */
static int region(ctx *c, int from, int from_node, int to, int to_node, int sinks, const char *what, int layer)
{
    int fgen = ++c->gen;
    c->vgen[from] = fgen;
    for (int k = from_node + 1; k < to_node; k++) {
        if (is_shape_of(c, k))
            continue;
        int hit = 0;
        for (int i = 0; i < ac__onnx_node_n_in(c->m, k) && !hit; i++) {
            int v = in_of(c, k, i);
            hit = v >= 0 && c->vgen[v] == fgen;
        }
        if (!hit)
            continue;
        c->nfwd[k] = fgen;
        for (int i = 0; i < ac__onnx_node_n_out(c->m, k); i++)
            if (out_of(c, k, i) >= 0)
                c->vgen[out_of(c, k, i)] = fgen;
    }
    if (c->vgen[to] != fgen)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: in layer %d, %s (node %d) does not read the output of node %d",
                          P(c), layer, what, to_node, from_node);
    /* backward from `to` over the values reached forward */
    int bgen = ++c->gen;
    int sp = 0, n = 0;
    c->stack[sp++] = to;
    c->vgen[to] = bgen;
    while (sp) {
        int v = c->stack[--sp];
        int p = producer(c, v);
        if (v == from || p <= from_node || p >= to_node || c->ngen[p] == bgen)
            continue;
        c->ngen[p] = bgen;
        c->list[n++] = p;
        for (int i = 0; i < ac__onnx_node_n_in(c->m, p); i++) {
            int u = in_of(c, p, i);
            if (u >= 0 && c->vgen[u] == fgen) {
                c->vgen[u] = bgen;
                c->stack[sp++] = u;
            }
        }
    }
    if (!sinks)
        return n;
    for (int k = to_node - 1; k > from_node; k--) {
        if (c->nfwd[k] != fgen || c->ngen[k] == bgen)
            continue;
        int sink = 1;
        for (int i = 0; i < ac__onnx_node_n_out(c->m, k) && sink; i++) {
            int o = out_of(c, k, i);
            if (o < 0)
                continue;
            const ac__onnx_value *val = &c->m->values[o];
            for (int u = 0; u < val->n_uses && sink; u++) {
                int q = c->m->uses[val->use_start + u];
                sink = is_shape_of(c, q) || (q < to_node && c->ngen[q] == bgen && c->nfwd[q] != fgen);
            }
        }
        if (sink) {
            /* ngen = bgen with nfwd cleared tells later sinks that this one is a sink */
            c->ngen[k] = bgen;
            c->nfwd[k] = 0;
            c->list[n++] = k;
        }
    }
    return n;
}

/* No weight may hide inside an attention or MLP: a float constant of more than one element read
 * there (through a weight chain) is an error. */
static int region_no_weights(ctx *c, int n, const char *what, int layer)
{
    for (int i = 0; i < n; i++) {
        int k = c->list[i];
        if (c->lin_by_node[k] >= 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: unexpected matrix %s inside the %s of layer %d (node %d)",
                              P(c), ac__onnx_wref_name(c->m, &c->lins[c->lin_by_node[k]].w), what, layer, k);
        for (int j = 0; j < ac__onnx_node_n_in(c->m, k); j++) {
            ac__onnx_wref r;
            int rc = ac__onnx_wref_resolve(c->m, in_of(c, k, j), &r, c->err);
            if (rc < 0)
                return rc;
            if (rc == 1 && r.rows * r.cols > 1)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: unexpected weight %s inside the %s of layer %d "
                                  "(read by %s node %d, %s)", P(c), ac__onnx_wref_name(c->m, &r), what, layer,
                                  ac__onnx_node_op(c->m, k), k, ac__onnx_node_name(c->m, k));
        }
    }
    return AC_OK;
}

/* n_head from the attention's reshapes ([.., .., n_head, head_dim] or [.., .., head_dim]) and
 * from a constant scale. *from_shapes / *from_scale: 0 when not found; an error on disagreement. */
static int attention_heads(ctx *c, int n, int layer, int *from_shapes, int *from_scale)
{
    int64_t E = c->n_embd;
    double scale = 1.0;
    int n_scale = 0, softmax = 0, matmul = 0;
    for (int i = 0; i < n; i++) {
        int k = c->list[i];
        if (op_is(c, k, "Softmax"))
            softmax++;
        if (op_is(c, k, "MatMul"))
            matmul++;
        if (op_is(c, k, "Reshape")) {
            int64_t v[8];
            int known[8];
            int len = ac__onnx_shape_vector(c->m, in_of(c, k, 1), v, known, 8);
            int64_t h = 0;
            if (len == 4 && known[2] && known[3] && v[2] <= E && v[3] <= E) {
                if (v[2] > 0 && v[3] > 0 && v[2] * v[3] == E)
                    h = v[2];
                else if (v[2] > 0 && v[3] == -1 && E % v[2] == 0)
                    h = v[2];
                else if (v[2] == -1 && v[3] > 0 && E % v[3] == 0)
                    h = E / v[3];
            } else if (len == 3 && known[2] && v[2] > 0 && v[2] < E && E % v[2] == 0) {
                h = E / v[2];
            }
            if (h > 0) {
                if (*from_shapes && *from_shapes != h)
                    return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the attention reshapes disagree on n_head "
                                      "(%d and %lld, layer %d)", P(c), *from_shapes, (long long)h, layer);
                *from_shapes = (int)h;
            }
        }
        if (op_is(c, k, "Div") || op_is(c, k, "Mul")) {
            int ok;
            double x = const_scalar(c, in_of(c, k, 1), &ok);
            if (!ok && op_is(c, k, "Mul"))
                x = const_scalar(c, in_of(c, k, 0), &ok);
            if (ok && x != 0) {
                scale *= op_is(c, k, "Div") ? 1.0 / x : x;
                n_scale++;
            }
        }
    }
    if (softmax != 1 || matmul < 2)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the attention of layer %d has %d Softmax and %d MatMul "
                          "nodes; GPT-2's has one Softmax and two MatMuls", P(c), layer, softmax, matmul);
    if (n_scale && scale > 0) {
        double hd = 1.0 / (scale * scale);
        double r = floor(hd + 0.5);
        /* compare as doubles first: a fuzzed scale can make r far beyond int64_t (the cast is then UB) */
        if (r >= 1 && r <= (double)E && fabs(hd - r) <= 1e-3 * r && E % (int64_t)r == 0)
            *from_scale = (int)(E / (int64_t)r);
    }
    return AC_OK;
}

/* The MLP activation between c_fc and mlp.c_proj. */
static int mlp_gelu(ctx *c, int n, int layer, int *kind)
{
    static const char *const allowed[] = {"Mul", "Add", "Pow", "Tanh", "Erf", "Div", "Sqrt"};
    int tanh_n = 0, erf_n = 0, has_c1 = 0, has_c2 = 0, has_sqrt2 = 0;
    for (int i = 0; i < n; i++) {
        int k = c->list[i];
        int ok = is_view(c, k);
        for (size_t a = 0; a < sizeof allowed / sizeof allowed[0] && !ok; a++)
            ok = op_is(c, k, allowed[a]);
        if (!ok)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s node %d (%s) in the MLP of layer %d is not part of "
                              "a GELU", P(c), ac__onnx_node_op(c->m, k), k, ac__onnx_node_name(c->m, k), layer);
        tanh_n += op_is(c, k, "Tanh");
        erf_n += op_is(c, k, "Erf");
        for (int j = 0; j < ac__onnx_node_n_in(c->m, k); j++) {
            int isc;
            double x = const_scalar(c, in_of(c, k, j), &isc);
            if (!isc)
                continue;
            has_c1 |= fabs(x - 0.044715) < 1e-3 * 0.044715;
            has_c2 |= fabs(x - 0.7978845608028654) < 1e-3;
            has_sqrt2 |= (op_is(c, k, "Div") && fabs(x - 1.4142135623730951) < 1e-3) ||
                         (op_is(c, k, "Mul") && fabs(x - 0.7071067811865476) < 1e-3);
        }
    }
    if (tanh_n == 1 && erf_n == 0 && has_c1 && has_c2) {
        *kind = AC__GELU_TANH;
        return AC_OK;
    }
    if (erf_n == 1 && tanh_n == 0 && has_sqrt2) {
        *kind = AC__GELU_ERF;
        return AC_OK;
    }
    return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the MLP activation of layer %d is not a GELU we know (tanh "
                      "with 0.044715 and sqrt(2/pi), or erf with 1/sqrt(2))", P(c), layer);
}

static void slot_set(ac__onnx_slot *s, const ac__onnx_wref *r, int transpose_out, int64_t rows, int64_t cols)
{
    s->ref = *r;
    s->transpose_out = transpose_out;
    s->rows = rows;
    s->cols = cols;
}

static void slot_lin(ac__onnx_slot *w, ac__onnx_slot *b, const lin *L)
{
    slot_set(w, &L->w, L->w_t, L->n_in, L->n_out);
    slot_set(b, &L->b, 0, L->n_out, 1);
}

static void slot_ln(ac__onnx_slot *g, ac__onnx_slot *b, const lnorm *ln)
{
    slot_set(g, &ln->g, 0, ln->g.rows, 1);
    slot_set(b, &ln->b, 0, ln->b.rows, 1);
}

/* ------------------------------------------------------------------ embeddings */

/* Whether v comes from a graph input through views only; sets *input to it. */
static int from_input(const ctx *c, int v, int *input)
{
    v = view_back(c, v);
    if (v >= 0 && c->m->values[v].is_input) {
        *input = v;
        return 1;
    }
    return 0;
}

/* The output size of the LM head, found ahead of the walk: the one linear without a bias whose
 * result reaches a graph output. 0 when there is not exactly one. */
static int64_t head_size_guess(const ctx *c)
{
    int64_t size = 0;
    int count = 0;
    for (int i = 0; i < c->n_lins; i++) {
        if (c->lins[i].b.base >= 0)
            continue;
        int vals[64];
        int n = view_fwd(c, c->lins[i].out, vals, 64), out = 0;
        for (int j = 0; j < n; j++)
            out |= c->m->values[vals[j]].is_output;
        if (out) {
            size = c->lins[i].n_out;
            count++;
        }
    }
    return count == 1 ? size : 0;
}

static int embeddings(ctx *c, ac__onnx_plan *plan, int *tok_gather, int *h0)
{
    ac__onnx_model *m = c->m;
    int found = -1, ids = -1, n_cand = 0;
    ac__onnx_wref wte;
    int64_t head_rows = -1;
    for (int k = 0; k < c->n_node; k++) {
        if (!op_is(c, k, "Gather") || ac__onnx_attr_int(m, k, "axis", 0) != 0)
            continue;
        ac__onnx_wref r;
        int rc = ac__onnx_wref_resolve(m, in_of(c, k, 0), &r, c->err);
        if (rc < 0)
            return rc;
        int input;
        if (rc == 0 || r.logical_rank != 2 || out_of(c, k, 0) < 0 || !from_input(c, in_of(c, k, 1), &input))
            continue;
        n_cand++;
        if (found >= 0) {
            /* two matrices gathered by inputs: token ids and position ids. The token table is the
             * one with as many rows as the LM head has outputs. */
            if (head_rows < 0)
                head_rows = head_size_guess(c);
            int old_fits = wte.rows == head_rows, new_fits = r.rows == head_rows;
            if (n_cand > 2 || old_fits == new_fits)
                return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: cannot tell the token embedding from the others "
                                  "(Gather nodes %d and %d both read a matrix by a graph input)", P(c), found, k);
            if (old_fits)
                continue;
        }
        found = k;
        wte = r;
        ids = input;
    }
    if (found < 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: no token embedding: no Gather of a [n_vocab, n_embd] "
                          "matrix by an input of token ids (is this a GPT-2 graph?)", P(c));
    c->n_embd = (int)wte.cols;
    c->token_input = ids;
    snprintf(plan->token_input, sizeof plan->token_input, "%s", vname(c, ids));
    plan->dims.n_vocab = (int)wte.rows;
    plan->dims.n_embd = (int)wte.cols;
    if (wte.rows < 1 || wte.cols < 1 || wte.rows > (1 << 24) || wte.cols > (1 << 16))
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the token embedding %s is [%lld, %lld], too large", P(c),
                          ac__onnx_wref_name(m, &wte), (long long)wte.rows, (long long)wte.cols);
    slot_set(&plan->wte, &wte, 0, wte.rows, wte.cols);
    c->mark[found] = 1;

    /* the position embedding is added to the token embedding */
    int vals[64];
    int n = view_fwd(c, out_of(c, found, 0), vals, 64);
    for (int i = 0; i < n; i++) {
        const ac__onnx_value *val = &m->values[vals[i]];
        for (int u = 0; u < val->n_uses; u++) {
            int k = m->uses[val->use_start + u];
            if (!op_is(c, k, "Add"))
                continue;
            int pv = view_back(c, other_in(c, k, vals[i]));
            int pn = producer(c, pv);
            if (!op_is(c, pn, "Gather") && !op_is(c, pn, "Slice"))
                continue;
            ac__onnx_wref wpe;
            int rc = ac__onnx_wref_resolve(m, in_of(c, pn, 0), &wpe, c->err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                continue;
            if (wpe.logical_rank != 2 || wpe.cols != wte.cols || wpe.rows > (1 << 24)) {
                char d[64];
                dims_str(&wpe, d, sizeof d);
                return ac__errorf(c->err, AC_E_FORMAT, "%s: the position embedding %s has shape %s, expected "
                                  "[n_ctx, %lld]", P(c), ac__onnx_wref_name(m, &wpe), d, (long long)wte.cols);
            }
            if (op_is(c, pn, "Gather")) {
                int input;
                if (ac__onnx_attr_int(m, pn, "axis", 0) != 0 ||
                    (from_input(c, in_of(c, pn, 1), &input) && input == ids))
                    continue;
            } else {
                double axes[4];
                int na = in_of(c, pn, 3) >= 0 ? ac__onnx_const_values(m, in_of(c, pn, 3), axes, 4, NULL) : 1;
                if (na != 1 || (in_of(c, pn, 3) >= 0 && axes[0] != 0))
                    return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: Slice node %d (%s) of the position embedding "
                                      "must slice rows only", P(c), pn, ac__onnx_node_name(m, pn));
            }
            slot_set(&plan->wpe, &wpe, 0, wpe.rows, wpe.cols);
            plan->dims.n_ctx = (int)wpe.rows;
            c->mark[pn] = 1;
            c->mark[k] = 1;
            *tok_gather = found;
            *h0 = out_of(c, k, 0);
            return AC_OK;
        }
    }
    return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: no position embedding ([n_ctx, %lld] Gather or Slice) is added "
                      "to the token embedding %s", P(c), (long long)wte.cols, ac__onnx_wref_name(m, &wte));
}

/* ------------------------------------------------------------------ the whole model */

/* Whether graph input v holds floats (past keys and values), or has no type information. */
static int float_input(const ctx *c, int v)
{
    const Onnx__GraphProto *g = c->m->graph;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi || !vi->name || strcmp(vi->name, c->m->values[v].name) != 0)
            continue;
        if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type ||
            !vi->type->tensor_type->has_elem_type)
            return 1;
        int t = vi->type->tensor_type->elem_type;
        return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
               t == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 || t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    }
    return 1;
}

/* Every node reading activations (data flowing from the embeddings or from float graph inputs
 * such as past keys and values) must be explained: marked, a view, or a Shape. */
static int activations_explained(ctx *c, int tok_gather, int token_input)
{
    ac__onnx_model *m = c->m;
    int gen = ++c->gen;
    c->vgen[out_of(c, tok_gather, 0)] = gen;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].is_input && v != token_input && float_input(c, v))
            c->vgen[v] = gen;
    for (int k = 0; k < c->n_node; k++) {
        if (is_shape_of(c, k))
            continue;
        int hit = 0;
        for (int i = 0; i < ac__onnx_node_n_in(m, k) && !hit; i++) {
            int v = in_of(c, k, i);
            hit = v >= 0 && c->vgen[v] == gen;
        }
        if (!hit)
            continue;
        if (!c->mark[k] && !is_view(c, k))
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: %s node %d (%s) works on the activations but is not "
                              "part of a GPT-2 block", P(c), ac__onnx_node_op(m, k), k, ac__onnx_node_name(m, k));
        for (int i = 0; i < ac__onnx_node_n_out(m, k); i++)
            if (out_of(c, k, i) >= 0)
                c->vgen[out_of(c, k, i)] = gen;
    }
    return AC_OK;
}

static int metadata_int(const ac__onnx_model *m, const char *key, int *out)
{
    for (size_t i = 0; i < m->proto->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = m->proto->metadata_props[i];
        if (e && e->key && e->value && strcmp(e->key, key) == 0) {
            char *end;
            long v = strtol(e->value, &end, 10);
            if (*end || end == e->value || v <= 0 || v > (1 << 24))
                return 0;
            *out = (int)v;
            return 1;
        }
    }
    return 0;
}

static void weights_describe(ac__onnx_model *m, ac__onnx_plan *plan)
{
    const char *names[8];
    int n = 0;
    const ac__onnx_slot *all[] = {&plan->wte, &plan->layers[AC__SLOT_ATTN_W], &plan->layers[AC__SLOT_FC_W],
                                  &plan->wpe, &plan->layers[AC__SLOT_LN1_W]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ac__onnx_tensor t;
        const char *d = ac__onnx_tensor_get(m, all[i]->ref.base, &t, NULL) ? "?" : ac__onnx_dtype_name(t.dtype);
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= strcmp(names[j], d) == 0;
        if (!seen && n < 8)
            names[n++] = d;
    }
    size_t pos = 0;
    plan->weights_desc[0] = 0;
    for (int j = 0; j < n && pos < sizeof plan->weights_desc; j++)
        pos += (size_t)snprintf(plan->weights_desc + pos, sizeof plan->weights_desc - pos, "%s%s", j ? "+" : "",
                                names[j]);
}

static int recognise(ctx *c, ac__onnx_plan *plan)
{
    ac__onnx_model *m = c->m;
    int rc = ops_check(c);
    if (!rc)
        rc = linears_scan(c);
    int tok_gather = -1, r = -1;
    if (!rc)
        rc = embeddings(c, plan, &tok_gather, &r);
    if (rc)
        return rc;
    int64_t E = c->n_embd;
    int token_input = c->token_input;
    double eps = -1;
    int gelu = -1, heads = 0, heads_scale = 0;
    int layer = 0;
    lnorm ln;
    int head = -1;
    for (;;) {
        rc = ln_match(c, r, &ln);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: no LayerNorm reads the residual stream %s (after %d "
                              "blocks)", P(c), vname(c, r), layer);
        if (eps >= 0 && (float)eps != (float)ln.eps)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: LayerNorm epsilons differ (%g and %g)", P(c), eps, ln.eps);
        eps = ln.eps;
        int li = lin_after(c, ln.out, "LayerNorm output");
        if (li < -1)
            return li;
        if (li < 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the LayerNorm output %s feeds no matrix", P(c),
                              vname(c, ln.out));
        int pj = -1;
        int add1 = residual_find(c, r, &pj);
        if (add1 < -1)
            return add1;
        if (add1 < 0) {
            head = li;
            break;   /* the final LayerNorm and the LM head */
        }
        if (layer >= 4096)
            return ac__errorf(c->err, AC_E_LIMIT, "%s: too many blocks", P(c));
        if (layer >= plan->n_layer_cap) {
            int cap = plan->n_layer_cap ? 2 * plan->n_layer_cap : 16;
            ac__onnx_slot *bigger = realloc(plan->layers, (size_t)cap * AC__SLOTS_PER_LAYER * sizeof *bigger);
            if (!bigger)
                return ac__errorf(c->err, AC_E_NOMEM, "out of memory");
            plan->layers = bigger;
            plan->n_layer_cap = cap;
        }
        ac__onnx_slot *s = &plan->layers[layer * AC__SLOTS_PER_LAYER];
        memset(s, 0, AC__SLOTS_PER_LAYER * sizeof *s);

        const lin *A = &c->lins[li], *Pj = &c->lins[pj];
        if ((rc = lin_check(c, A, E, 3 * E, 1, "attention c_attn", layer)) ||
            (rc = lin_check(c, Pj, E, E, 1, "attention c_proj", layer)))
            return rc;
        int a_end = A->bias_node >= 0 ? A->bias_node : A->node;
        int n = region(c, A->out, a_end, Pj->in, Pj->node, 1, "the attention projection c_proj", layer);
        if (n < 0)
            return n;
        int h = 0, hs = 0;
        if ((rc = region_no_weights(c, n, "attention", layer)) || (rc = attention_heads(c, n, layer, &h, &hs)))
            return rc;
        for (int i = 0; i < n; i++)
            c->mark[c->list[i]] = 1;
        if (h && heads && h != heads)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: layers disagree on n_head (%d and %d)", P(c), heads, h);
        if (h)
            heads = h;
        if (hs && heads_scale && hs != heads_scale)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the attention scales of the layers disagree", P(c));
        if (hs)
            heads_scale = hs;
        lin_mark(c, A);
        lin_mark(c, Pj);
        c->mark[add1] = 1;
        slot_ln(&s[AC__SLOT_LN1_W], &s[AC__SLOT_LN1_B], &ln);
        slot_lin(&s[AC__SLOT_ATTN_W], &s[AC__SLOT_ATTN_B], A);
        slot_lin(&s[AC__SLOT_ATTN_PROJ_W], &s[AC__SLOT_ATTN_PROJ_B], Pj);
        r = out_of(c, add1, 0);

        rc = ln_match(c, r, &ln);
        if (rc <= 0)
            return rc < 0 ? rc : ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: no second LayerNorm in layer %d", P(c), layer);
        if ((float)eps != (float)ln.eps)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: LayerNorm epsilons differ (%g and %g)", P(c), eps, ln.eps);
        int fi = lin_after(c, ln.out, "LayerNorm output");
        if (fi < -1)
            return fi;
        if (fi < 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the second LayerNorm of layer %d feeds no matrix", P(c),
                              layer);
        int mj = -1;
        int add2 = residual_find(c, r, &mj);
        if (add2 < -1)
            return add2;
        if (add2 < 0)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: layer %d has no MLP residual add", P(c), layer);
        const lin *F = &c->lins[fi], *M = &c->lins[mj];
        if ((rc = lin_check(c, F, E, 4 * E, 1, "MLP c_fc", layer)) ||
            (rc = lin_check(c, M, 4 * E, E, 1, "MLP c_proj", layer)))
            return rc;
        int f_end = F->bias_node >= 0 ? F->bias_node : F->node;
        n = region(c, F->out, f_end, M->in, M->node, 0, "the MLP projection c_proj", layer);
        if (n < 0)
            return n;
        int kind = -1;
        if ((rc = region_no_weights(c, n, "MLP", layer)) || (rc = mlp_gelu(c, n, layer, &kind)))
            return rc;
        if (gelu >= 0 && kind != gelu)
            return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the layers use different GELUs", P(c));
        gelu = kind;
        for (int i = 0; i < n; i++)
            c->mark[c->list[i]] = 1;
        lin_mark(c, F);
        lin_mark(c, M);
        c->mark[add2] = 1;
        slot_ln(&s[AC__SLOT_LN2_W], &s[AC__SLOT_LN2_B], &ln);
        slot_lin(&s[AC__SLOT_FC_W], &s[AC__SLOT_FC_B], F);
        slot_lin(&s[AC__SLOT_MLP_PROJ_W], &s[AC__SLOT_MLP_PROJ_B], M);
        r = out_of(c, add2, 0);
        layer++;
    }
    if (layer == 0)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: no transformer block found", P(c));

    /* the final LayerNorm and the LM head */
    const lin *H = &c->lins[head];
    int64_t V = plan->dims.n_vocab;
    if ((rc = lin_check(c, H, E, V, 0, "LM head", layer)))
        return rc;
    int vals[64];
    int n = view_fwd(c, H->out, vals, 64), reaches = 0;
    for (int i = 0; i < n; i++)
        reaches |= m->values[vals[i]].is_output;
    if (!reaches)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: the LM head's result %s is not a graph output", P(c),
                          vname(c, H->out));
    lin_mark(c, H);
    slot_ln(&plan->ln_f_w, &plan->ln_f_b, &ln);
    /* lm_head as [n_vocab][n_embd]: the head's W is [n_embd][n_vocab] unless Gemm transB */
    slot_set(&plan->lm_head, &H->w, !H->w_t, V, E);
    const ac__onnx_wref *t = &plan->wte.ref;
    int same_source = H->w.base == t->base && H->w.scale == t->scale && H->w.zero_point == t->zero_point &&
                      (H->w.transposed ^ !H->w_t) == t->transposed;
    plan->tied = same_source ? 1 : 0;   /* otherwise weights_write compares the values */

    if ((rc = activations_explained(c, tok_gather, token_input)))
        return rc;
    for (int v = 0; v < m->n_values; v++)
        plan->past_inputs += m->values[v].is_input && v != token_input && float_input(c, v);

    /* n_head */
    int meta_heads = 0;
    int has_meta = metadata_int(m, "autocorrect.n_head", &meta_heads);
    if (!heads)
        heads = heads_scale;
    if (heads && heads_scale && heads != heads_scale)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: n_head from the attention reshapes (%d) and from its scale "
                          "(%d) disagree", P(c), heads, heads_scale);
    if (!heads && has_meta)
        heads = meta_heads;
    if (!heads)
        return ac__errorf(c->err, AC_E_UNSUPPORTED, "%s: cannot find n_head (no head-splitting reshape and no "
                          "constant attention scale)", P(c));
    if (has_meta && meta_heads != heads)
        return ac__errorf(c->err, AC_E_FORMAT, "%s: the metadata says n_head %d, the graph %d", P(c), meta_heads, heads);

    plan->dims.n_head = heads;
    plan->dims.n_layer = layer;
    plan->dims.gelu = gelu;
    plan->dims.ln_eps = (float)eps;
    const struct { const char *key; int have; } meta[] = {
        {"autocorrect.n_layer", layer}, {"autocorrect.n_embd", (int)E}, {"autocorrect.n_vocab", (int)V},
        {"autocorrect.n_ctx", plan->dims.n_ctx},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        int want;
        if (metadata_int(m, meta[i].key, &want) && want != meta[i].have)
            return ac__errorf(c->err, AC_E_FORMAT, "%s: the metadata says %s %d, the graph has %d", P(c), meta[i].key,
                              want, meta[i].have);
    }
    weights_describe(m, plan);
    return AC_OK;
}

int ac__onnx_gpt2_recognise(ac__onnx_model *m, ac__onnx_plan *plan, char *err)
{
    memset(plan, 0, sizeof *plan);
    ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.err = err;
    c.n_node = (int)m->graph->n_node;
    c.mark = calloc((size_t)c.n_node + 1, 1);
    c.lin_by_node = malloc(((size_t)c.n_node + 1) * sizeof(int));
    c.lin_by_out = malloc(((size_t)m->n_values + 1) * sizeof(int));
    c.vgen = calloc((size_t)m->n_values + 1, sizeof(int));
    c.list = malloc(((size_t)c.n_node + 1) * sizeof(int));
    c.stack = malloc(((size_t)m->n_values + 1) * sizeof(int));
    c.ngen = calloc((size_t)c.n_node + 1, sizeof(int));
    c.nfwd = calloc((size_t)c.n_node + 1, sizeof(int));
    int rc;
    if (!c.mark || !c.lin_by_node || !c.lin_by_out || !c.vgen || !c.list || !c.stack || !c.ngen || !c.nfwd) {
        rc = ac__errorf(err, AC_E_NOMEM, "out of memory");
    } else {
        for (int i = 0; i < c.n_node; i++)
            c.lin_by_node[i] = -1;
        for (int i = 0; i < m->n_values; i++)
            c.lin_by_out[i] = -1;
        rc = recognise(&c, plan);
    }
    free(c.mark);
    free(c.lin_by_node);
    free(c.lin_by_out);
    free(c.vgen);
    free(c.list);
    free(c.stack);
    free(c.ngen);
    free(c.nfwd);
    free(c.lins);
    if (rc)
        ac__onnx_plan_free(plan);
    return rc;
}

void ac__onnx_plan_free(ac__onnx_plan *plan)
{
    free(plan->layers);
    memset(plan, 0, sizeof *plan);
}
