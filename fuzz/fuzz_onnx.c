/* fuzz_onnx.c: libFuzzer entry for the ONNX loader (src/engine/onnx_load.c, onnx_graph.c,
 * onnx_tensor.c) on a model held in memory: ac__onnx_load_weights_mem, the entry point the tests
 * call too. The input is the whole .onnx file (protobuf).
 *
 * External data is looked up in fuzz/data/onnx/ (weights.bin, which the seed micro_external.onnx
 * points at), or $AC_FUZZ_ONNX_DIR. Checks (abort on failure): a refusal comes with a message and
 * leaves the weights zeroed; an acceptance gives weights that validate, with every tensor readable
 * to its documented size (fuzz_weights_check.h). Before the load, the wire-format stripping that
 * lets the loader parse without copying the weights (src/engine/onnx_wire.c) is checked on its
 * own: what it keeps and locates lies within the input, stripping its output again changes
 * nothing, and when protobuf-c parses the input it parses the output too, with as many
 * initializers as there are refs.
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=onnx make fuzz); seeds from fuzz/make_seeds.py in
 * fuzz/corpus/onnx/; replayed without libFuzzer by $BUILD/tests/fuzz/test_fuzz_regress_onnx in
 * `make test`.
 */
#include "engine/onnx_model.h"
#include "engine/onnx_wire.h"

#include "fuzz_weights_check.h"

#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[PATH_MAX];

static void wire_fail(const char *what)
{
    fprintf(stderr, "fuzz_onnx: the wire stripping: %s\n", what);
    abort();
}

static void check_wire(const uint8_t *data, size_t size)
{
    uint8_t *out, *out2;
    size_t out_len, n, out2_len, n2;
    ac__onnx_raw_ref *refs, *refs2;
    if (ac__onnx_strip_raw_data(data, size, &out, &out_len, &refs, &n)) {
        if (out || refs)
            wire_fail("declined but left buffers behind");
        return;
    }
    if (out_len > size)
        wire_fail("the copy is longer than the input");
    for (size_t i = 0; i < n; i++)
        if (refs[i].present && (refs[i].offset > size || refs[i].len > size - refs[i].offset))
            wire_fail("a ref points outside the input");
    if (ac__onnx_strip_raw_data(out, out_len, &out2, &out2_len, &refs2, &n2))
        wire_fail("its own output declined");
    if (n2 != n || out2_len != out_len || memcmp(out, out2, out_len) != 0)
        wire_fail("stripping its output again changed it");
    for (size_t i = 0; i < n2; i++)
        if (refs2[i].present)
            wire_fail("its output still holds raw_data");
    Onnx__ModelProto *a = onnx__model_proto__unpack(NULL, size, data);
    if (a) {
        Onnx__ModelProto *b = onnx__model_proto__unpack(NULL, out_len, out);
        if (!b || !b->graph || b->graph->n_initializer != n)
            wire_fail("protobuf-c parses the input but not the copy, or with other initializers");
        onnx__model_proto__free_unpacked(b, NULL);
        onnx__model_proto__free_unpacked(a, NULL);
    }
    free(out);
    free(out2);
    free(refs);
    free(refs2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_wire(data, size);
    if (!fuzz_dir[0]) {
        const char *d = getenv("AC_FUZZ_ONNX_DIR") ? getenv("AC_FUZZ_ONNX_DIR") : "fuzz/data/onnx";
        if (!realpath(d, fuzz_dir))
            snprintf(fuzz_dir, sizeof fuzz_dir, "/nonexistent-fuzz-onnx-dir");
    }
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    memset(err, 'x', sizeof err);
    int rc = ac__onnx_load_weights_mem(data, size, "fuzz.onnx", fuzz_dir, &w, err);
    if (getenv("AC_FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", "fuzz_onnx", rc == AC_OK ? w.source : err);
    if (rc != AC_OK) {
        if (!memchr(err, 0, sizeof err) || !err[0] || w.wte || w.layers || w.blocks) {
            fprintf(stderr, "fuzz_onnx: a refusal without a message, or with weights left behind\n");
            abort();
        }
        return 0;
    }
    fuzz_weights_touch(&w, "fuzz_onnx");
    ac__gpt2_weights_free(&w);
    return 0;
}
