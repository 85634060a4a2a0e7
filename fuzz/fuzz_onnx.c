/* fuzz_onnx.c: libFuzzer entry for the ONNX loader (src/engine/onnx_load.c, onnx_graph.c,
 * onnx_tensor.c) on a model held in memory: ac__onnx_load_weights_mem, the entry point the tests
 * call too. The input is the whole .onnx file (protobuf).
 *
 * External data is looked up in fuzz/data/onnx/ (weights.bin, which the seed micro_external.onnx
 * points at), or $AC_FUZZ_ONNX_DIR. Checks (abort on failure): a refusal comes with a message and
 * leaves the weights zeroed; an acceptance gives weights that validate, with every tensor readable
 * to its documented size (fuzz_weights_check.h).
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=onnx make fuzz); seeds from fuzz/make_seeds.py in
 * fuzz/corpus/onnx/; replayed without libFuzzer by $BUILD/tests/fuzz/test_fuzz_regress_onnx in
 * `make test`.
 */
#include "engine/onnx_model.h"

#include "fuzz_weights_check.h"

#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[PATH_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
