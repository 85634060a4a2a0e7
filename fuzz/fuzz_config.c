/* fuzz_config.c: libFuzzer entry for the config.toml parser (src/server/toml.c + config.c).
 *
 * Build and run: `make fuzz`, then
 *   mkdir -p build/fuzz-corpus-config && cp config.example.toml build/fuzz-corpus-config/
 *   build/fuzz/fuzz_config -max_total_time=60 build/fuzz-corpus-config
 * (or by hand: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc
 *  fuzz/fuzz_config.c src/server/toml.c src/server/config.c src/util/buf.c src/util/error.c src/util/file.c).
 * tests/server/test_config.c includes this file and calls the same entry point on memory buffers.
 */
#include "autocorrect/server.h"

#include <stdint.h>
#include <string.h>

static void fuzz_config_warn(void *user, const char *msg)
{
    size_t *n = user;
    (*n) += strlen(msg) > 0; /* touch the message: it must be a valid string */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ac_config cfg;
    char err[AC_ERR_SIZE];
    size_t warnings = 0;
    ac_config_default(&cfg);
    err[0] = 0;
    int rc = ac_config_parse((const char *)data, size, "fuzz.toml", &cfg, fuzz_config_warn, &warnings, err);
    /* contract: an error always comes with a message naming the file */
    if (rc != AC_OK && strncmp(err, "fuzz.toml", 9) != 0)
        __builtin_trap();
    if (rc == AC_OK && (cfg.beam_width < 1 || cfg.max_line_bytes < 1024))
        __builtin_trap();
    return 0;
}
