/* test_fuzz_regress.c: replays a fuzz target's committed inputs without libFuzzer.
 *
 * The Makefile links this driver with one fuzz/fuzz_<name>.c (which defines LLVMFuzzerTestOneInput
 * and maybe LLVMFuzzerInitialize) into $BUILD/tests/fuzz/test_fuzz_regress_<name>, built with the
 * normal compiler (and with ASan + UBSan under `make asan`), so `make test` replays every seed and
 * every past finding through the very entry point the fuzzer calls:
 *
 *   fuzz/corpus/<name>/         seed inputs (what `make fuzz` starts from)
 *   fuzz/regressions/<name>/    inputs that once crashed or tripped a check: each must now pass
 *   fuzz/regressions/<name>/KNOWN_FAILING
 *                               lines "FILE reason": inputs of a bug not fixed yet; reported as
 *                               SKIP with the reason and not run (delete the line with the fix)
 *
 * Files whose name starts with '.' or is README* or KNOWN_FAILING are not inputs. With arguments,
 * replays those files or directories instead (reproducing a crash: `test_fuzz_regress_onnx FILE`).
 * A crash or a sanitizer report ends the program (non-zero exit): the last "# replaying FILE" line
 * on stderr names the input. This file is not a fuzzer and makes no inputs of its own.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET='\"name\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int is_input_name(const char *name)
{
    return name[0] != '.' && strncmp(name, "README", 6) != 0 && strcmp(name, "KNOWN_FAILING") != 0;
}

/* The reason `name` is listed in dir/KNOWN_FAILING (copied into why[n]), or 0 when it is not. */
static int known_failing(const char *dir, const char *name, char *why, size_t n)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/KNOWN_FAILING", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int found = 0;
    size_t nl = strlen(name);
    while (!found && fgets(line, sizeof line, f)) {
        if (!strncmp(line, name, nl) && (line[nl] == ' ' || line[nl] == '\t')) {
            const char *r = line + nl + strspn(line + nl, " \t");
            snprintf(why, n, "%.*s", (int)strcspn(r, "\r\n"), r);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* Reads a whole file; NULL on error. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    if (!data)
        return -1;
    fprintf(stderr, "# replaying %s (%zu bytes)\n", path, len);
    /* an exact-size copy, so that ASan sees a read past the end of the input as libFuzzer would */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        free(data);
        return -1;
    }
    memcpy(copy, data, len);
    free(data);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct tally {
    int run, skipped, unreadable;
    char first_skip[512];
} tally;

/* Replays the inputs of one directory in name order. Returns 0 when it does not exist. */
static int replay_dir(const char *dir, tally *t)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_input_name(e->d_name))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096], why[400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(names[i]);
            continue;
        }
        if (known_failing(dir, names[i], why, sizeof why)) {
            printf("SKIP: fuzz_%s_known_failing_%s: %s\n", FUZZ_TARGET, names[i], why);
            t->skipped++;
        } else if (replay_file(path) != 0) {
            printf("FAIL: fuzz_%s_read: cannot read %s\n", FUZZ_TARGET, path);
            t->unreadable++;
        } else {
            t->run++;
        }
        free(names[i]);
    }
    free(names);
    fflush(stdout);
    return 1;
}

int main(int argc, char **argv)
{
    int fargc = 1;
    char **fargv = argv;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&fargc, &fargv);
    int failed = 0;
    if (argc > 1) { /* explicit files or directories */
        tally t = {0};
        for (int i = 1; i < argc; i++) {
            struct stat st;
            if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
                replay_dir(argv[i], &t);
            else if (replay_file(argv[i]) == 0)
                t.run++;
            else
                t.unreadable++;
        }
        printf("%s: fuzz_%s: %d inputs replayed\n", t.unreadable ? "FAIL" : "PASS", FUZZ_TARGET, t.run);
        return t.unreadable != 0;
    }
    static const char *const kinds[] = {"corpus", "regressions"};
    for (int k = 0; k < 2; k++) {
        char dir[256];
        snprintf(dir, sizeof dir, "fuzz/%s/%s", kinds[k], FUZZ_TARGET);
        tally t = {0};
        int exists = replay_dir(dir, &t);
        if (!exists && k == 0) {
            printf("FAIL: fuzz_%s_corpus: %s is missing (run from the repository root)\n", FUZZ_TARGET, dir);
            failed = 1;
        } else if (exists && t.unreadable) {
            failed = 1;
        } else if (exists && (t.run || k == 0)) {
            /* reaching here means no input crashed or tripped the target's checks */
            if (t.run == 0) {
                printf("FAIL: fuzz_%s_%s: %s holds no inputs\n", FUZZ_TARGET, kinds[k], dir);
                failed = 1;
            } else {
                printf("PASS: fuzz_%s_%s: %d inputs replayed\n", FUZZ_TARGET, kinds[k], t.run);
            }
        }
        fflush(stdout);
    }
    return failed;
}
