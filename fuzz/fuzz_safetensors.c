/* fuzz_safetensors.c: libFuzzer entry for the safetensors loader (src/engine/safetensors.c) and the
 * config.json beside it.
 *
 * The loader reads files (it has no memory entry point: it maps model.safetensors and reads
 * config.json from the same directory), so each input is written to a private directory under
 * /dev/shm (or /tmp) first. The first byte picks the config.json:
 *   0: the micro model of fuzz/make_seeds.py (vocab 16, 1 layer, n_embd 8, tied head)
 *   1: the same with tie_word_embeddings false (an lm_head.weight of its own)
 *   2: the input up to its first NUL byte is config.json, the rest model.safetensors
 * and the rest is model.safetensors. Checks (abort on failure): a refusal comes with a message and
 * leaves the weights zeroed; an acceptance gives weights that validate, with every tensor readable
 * to its documented size (fuzz_weights_check.h).
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=safetensors make fuzz); seeds from
 * fuzz/make_seeds.py; replayed without libFuzzer by $BUILD/tests/fuzz/test_fuzz_regress_safetensors.
 */
#include "engine/weights.h"

#include "fuzz_weights_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];

static const char micro_config[] =
    "{\"activation_function\": \"gelu_new\", \"model_type\": \"gpt2\", \"layer_norm_epsilon\": 1e-05,\n"
    " \"n_embd\": 8, \"n_head\": 2, \"n_layer\": 1, \"n_positions\": 8, \"vocab_size\": 16,\n"
    " \"tie_word_embeddings\": %s}\n";

static void cleanup(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", fuzz_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir);
    unlink(path);
    rmdir(fuzz_dir);
}

static void write_bytes(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n)) {
        fprintf(stderr, "fuzz_safetensors: cannot write %s\n", path);
        abort();
    }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/ac_fuzz_st_XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            fprintf(stderr, "fuzz_safetensors: mkdtemp failed\n");
            abort();
        }
        atexit(cleanup);
    }
    if (size == 0)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    if (mode < 2) {
        char cfg[sizeof micro_config + 8];
        int n = snprintf(cfg, sizeof cfg, micro_config, mode == 0 ? "true" : "false");
        write_bytes("config.json", cfg, (size_t)n);
    } else {
        const uint8_t *nul = memchr(data, 0, size);
        if (!nul)
            return 0;
        write_bytes("config.json", data, (size_t)(nul - data));
        size -= (size_t)(nul - data) + 1;
        data = nul + 1;
    }
    write_bytes("model.safetensors", data, size);
    ac__gpt2_weights w;
    char err[AC_ERR_SIZE];
    memset(err, 'x', sizeof err);
    int rc = ac__safetensors_load_weights(fuzz_dir, &w, err);
    if (getenv("AC_FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", "fuzz_safetensors", rc == AC_OK ? w.source : err);
    if (rc != AC_OK) {
        if (!memchr(err, 0, sizeof err) || !err[0] || w.wte || w.layers || w.blocks) {
            fprintf(stderr, "fuzz_safetensors: a refusal without a message, or with weights left behind\n");
            abort();
        }
        return 0;
    }
    fuzz_weights_touch(&w, "fuzz_safetensors");
    ac__gpt2_weights_free(&w);
    return 0;
}
