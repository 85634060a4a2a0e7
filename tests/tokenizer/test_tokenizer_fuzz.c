/* Runs the tokenizer's fuzz entry point (fuzz/fuzz_tokenizer.c, included here) on a few thousand
 * generated inputs in every `make test`: random bytes, text-like bytes, ids, mutated vocabulary and
 * merges files, tokenizer.json documents and corpora with separators. The entry point aborts on a
 * broken property, which fails this program. Longer runs: `make fuzz`. */
#include "../../fuzz/fuzz_tokenizer.c"

#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "synth.h"

static uint8_t buf[1 << 16];

static size_t random_text(uint8_t *p, size_t n)
{
    static const char *bits[] = {"the", " and", " in", "\xC3\xA9", "\xF0\x9F\x98\x80", "<|endoftext|>", "'s", "'S",
                                 "  ", "\n", "\r\n", "\xFF", "\xC3", "\xE2\x82", "1234", "\t", "\xE3\x80\x80", "x"};
    size_t k = 0;
    while (k < n) {
        const char *b = bits[synth_below(sizeof bits / sizeof bits[0])];
        size_t l = strlen(b);
        if (k + l > n)
            break;
        memcpy(p + k, b, l);
        k += l;
    }
    return k;
}

static void fuzz_entry_on_generated_inputs(void)
{
    synth_seed(31);
    for (int round = 0; round < 10000; round++) {
        int mode = round % 5;
        size_t n = 1 + synth_below(round % 50 == 0 ? 20000 : 300);
        buf[0] = (uint8_t)(mode | (synth_below(2) << 7));
        if (mode == 0 && round % 2)
            n = 1 + random_text(buf + 1, n);
        else
            for (size_t i = 1; i < n; i++)
                buf[i] = (uint8_t)synth_below(256);
        LLVMFuzzerTestOneInput(buf, n);
    }
}

static void fuzz_entry_on_mutated_files(void)
{
    /* the built-in tokenizer's files, saved and then mutated byte by byte */
    char err[AC_ERR_SIZE], dir[64];
    snprintf(dir, sizeof dir, "/tmp/ac_tok_fuzz_%d", (int)getpid());
    mkdir(dir, 0700);
    LLVMFuzzerTestOneInput((const uint8_t *)"\0", 1); /* sets the tokenizer up */
    CHECK(ac_bpe_save(fuzz_bpe, dir, err) == AC_OK);
    char path[128], *v = NULL, *m = NULL;
    size_t vl = 0, ml = 0;
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    CHECK(ac_file_read(path, 1 << 20, &v, &vl, err) == AC_OK);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    CHECK(ac_file_read(path, 1 << 20, &m, &ml, err) == AC_OK);
    if (!v || !m || 2 + vl + ml > sizeof buf)
        return;
    synth_seed(32);
    int loaded = 0;
    for (int round = 0; round < 300; round++) {
        buf[0] = 2;
        memcpy(buf + 1, v, vl);
        buf[1 + vl] = 0;
        memcpy(buf + 2 + vl, m, ml);
        size_t n = 2 + vl + ml;
        for (int k = round ? 1 + (int)synth_below(3) : 0; k > 0; k--)
            buf[1 + synth_below((uint32_t)n - 1)] = (uint8_t)"{}\":, \n0123456789\\a\xC4\xA0"[synth_below(20)];
        ac_bpe *b = NULL;
        const uint8_t *nul = memchr(buf + 1, 0, n - 1);
        if (nul && ac_bpe_load_memory((const char *)buf + 1, (size_t)(nul - buf - 1), "v", (const char *)nul + 1,
                                      n - (size_t)(nul - buf) - 1, "m", &b, err) == AC_OK)
            loaded++;
        ac_bpe_free(b);
        LLVMFuzzerTestOneInput(buf, n);
    }
    CHECKF(loaded > 0, "no mutated file loaded (not even the unmutated one)");
    free(v);
    free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(fuzz_entry_on_generated_inputs);
    RUN(fuzz_entry_on_mutated_files);
    ac_bpe_free(fuzz_bpe);
    ac_bpe_cache_free(fuzz_cache);
    return CHECK_EXIT_CODE();
}
