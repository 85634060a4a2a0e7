/* Tests for the config.toml reader (src/server/toml.c, config.c) and the socket path rules:
 * good and bad inputs from memory buffers, the messages (file, line, key), config.example.toml,
 * the file lookup, path expansion, the socket directory checks, and a quick mutation run through
 * the libFuzzer entry point (fuzz/fuzz_config.c) on the example file. */
#include "check.h"
#include "autocorrect/server.h"
#include "server/config_keys.h"

#include "../../fuzz/fuzz_config.c"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct warnings {
    int n;
    char last[300];
} warnings;

static void collect_warning(void *user, const char *msg)
{
    warnings *w = user;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static int parse(const char *text, ac_config *cfg, warnings *w, char *err)
{
    ac_config_default(cfg);
    if (w)
        memset(w, 0, sizeof *w);
    err[0] = 0;
    return ac_config_parse(text, strlen(text), "t.toml", cfg, collect_warning, w, err);
}

static char *read_example(size_t *len)
{
    char *text = NULL;
    char err[AC_ERR_SIZE];
    if (ac_file_read("config.example.toml", 1 << 20, &text, len, err) != AC_OK)
        return NULL;
    return text;
}

static void defaults_are_sane(void)
{
    ac_config c;
    ac_config_default(&c);
    CHECK(c.context_window == 128 && c.beam_width == 8 && c.completions == 5 && c.quantization);
    CHECK(c.max_line_bytes == 1u << 20);
    CHECK(!c.http_enabled && !strcmp(c.http_address, "127.0.0.1"));
    CHECK(!c.log_requests);
    CHECK(c.default_max_tokens <= c.max_tokens && c.beam_width <= c.max_beams && c.completions <= c.beam_width);
}

static void seed_keys_parse(void)
{
    ac_config c;
    warnings w;
    char err[AC_ERR_SIZE];
    const char *text = "# the seed's file\n"
                       "model_path = \"/opt/models/gpt2\"\n"
                       "context_window = 64\n"
                       "beam_width = 5   # more beams\n"
                       "quantization = false\n"
                       "socket_path = '/run/user/1000/ac.sock'\n";
    CHECKF(parse(text, &c, &w, err) == AC_OK, "%s", err);
    CHECK_STR(c.model_path, "/opt/models/gpt2");
    CHECK(c.context_window == 64);
    CHECK(c.beam_width == 5);
    CHECK(!c.quantization);
    CHECK_STR(c.socket_path, "/run/user/1000/ac.sock");
    CHECK(w.n == 0);
}

static void value_syntax(void)
{
    ac_config c;
    warnings w;
    char err[AC_ERR_SIZE];
    /* escapes, unicode, literal strings keep backslashes, underscores and hex in integers, CRLF */
    const char *text = "http_token = \"a\\tb\\\"c\\\\d\\u00e9\\U0001F600\"\r\n"
                       "dictionary_path = 'C:\\dict\\words.txt'\r\n"
                       "max_line_bytes = 2_097_152\n"
                       "max_queue = 0x100\n"
                       "max_clients = 0o17\n"
                       "max_sessions = 0b101\n"
                       "threads = +3\n"
                       "\"workers\" = 3\n"
                       "   log_requests=true#comment right after\n"
                       "\n\n# trailing comment";
    CHECKF(parse(text, &c, &w, err) == AC_OK, "%s", err);
    CHECK_STR(c.http_token, "a\tb\"c\\d\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(c.dictionary_path, "C:\\dict\\words.txt");
    CHECK(c.max_line_bytes == 2097152);
    CHECK(c.max_queue == 256);
    CHECK(c.max_clients == 15);
    CHECK(c.max_sessions == 5);
    CHECK(c.threads == 3);
    CHECK(c.workers == 3);
    CHECK(c.log_requests);
    CHECK(w.n == 0);
}

static void unknown_keys_warn_with_line_and_hint(void)
{
    ac_config c;
    warnings w;
    char err[AC_ERR_SIZE];
    CHECKF(parse("beam_width = 3\n\nbeam_widht = 4\n", &c, &w, err) == AC_OK, "%s", err);
    CHECK(w.n == 1);
    CHECKF(strstr(w.last, "t.toml:3: unknown key 'beam_widht'") != NULL, "%s", w.last);
    CHECKF(strstr(w.last, "did you mean 'beam_width'") != NULL, "%s", w.last);
    CHECK(c.beam_width == 3);
    /* keys under a table and other types of value are read (and warned about), not errors */
    CHECKF(parse("[http]\nport = 9\nlist = [1, 2.5, \"x\",\n  true, ] # c\n", &c, &w, err) == AC_OK, "%s", err);
    CHECK(w.n == 2);
    CHECKF(strstr(w.last, "t.toml:3: unknown key 'http.list'") != NULL, "%s", w.last);
}

typedef struct bad_case {
    const char *text;
    const char *message; /* expected substring of the error */
} bad_case;

static void bad_inputs_name_file_line_and_key(void)
{
    static const bad_case cases[] = {
        {"beam_width = \"four\"\n", "t.toml:1: key 'beam_width': expected an integer, got a string"},
        {"\n\nquantization = 1\n", "t.toml:3: key 'quantization': expected true or false, got an integer"},
        {"model_path = 42\n", "t.toml:1: key 'model_path': expected a string"},
        {"beam_width = 0\n", "t.toml:1: key 'beam_width': 0 is out of range (1 to 256)"},
        {"max_line_bytes = 12\n", "key 'max_line_bytes': 12 is out of range"},
        {"http_port = 70000\n", "key 'http_port'"},
        {"deadline_ms = 1.5\n", "key 'deadline_ms': expected an integer, got a float"},
        {"beam_width = 3\nbeam_width = 4\n", "t.toml:2: 'beam_width' is defined twice"},
        {"beam_width 3\n", "t.toml:1: expected '=' after key 'beam_width'"},
        {"model_path = \"unterminated\n", "t.toml:1: unterminated string"},
        {"model_path = \"\"\"multi\"\"\"\n", "multi-line strings are not supported"},
        {"model_path = {a = 1}\n", "inline tables are not supported"},
        {"x = [[1]]\n", "nested arrays are not supported"},
        {"[[servers]]\n", "arrays of tables are not supported"},
        {"x = 1979-05-27\n", "dates and times are not supported"},
        {"x = 012\n", "leading zeros"},
        {"x = 1__0\n", "bad number"},
        {"x = 1_\n", "bad number"},
        {"x = 99999999999999999999\n", "out of range"},
        {"x = \"bad \\q escape\"\n", "unknown escape \\q"},
        {"x = \"\\uD800\"\n", "not a Unicode scalar value"},
        {"x = \"\\u0000\"\n", "NUL character"},
        {"x = \"\xff\"\n", "invalid UTF-8 in a string"},
        {"x = \"tab\tok but bell \a no\"\n", "control character"},
        {"x = hello\n", "strings need quotes"},
        {"x = 1 2\n", "unexpected text after the value"},
        {"x = [1, 2\n", "unterminated array"},
        {"x = [1 2]\n", "expected ',' or ']'"},
        {"x =\n", "expected a value"},
        {"= 3\n", "expected a key"},
        {"x = 1\ry = 2\n", "carriage return"},
        {"beam_width = 20\n", "key 'beam_width': 20 is over max_beams (16)"},
        {"http_enabled = true\nhttp_address = \"0.0.0.0\"\n", "key 'http_token': required"},
        {"http_address = \"localhost\"\n", "key 'http_address': 'localhost' is not a numeric"},
        {"model_path = \"", "unterminated string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ac_config c;
        warnings w;
        char err[AC_ERR_SIZE];
        int rc = parse(cases[i].text, &c, &w, err);
        CHECKF(rc != AC_OK, "case %zu (%s) was accepted", i, cases[i].text);
        CHECKF(strstr(err, cases[i].message) != NULL, "case %zu: message \"%s\", expected \"%s\"", i, err,
               cases[i].message);
        CHECKF(!strncmp(err, "t.toml", 6), "case %zu: message does not name the file: %s", i, err);
    }
    /* a NUL byte inside the text is refused, with its line */
    ac_config c;
    char err[AC_ERR_SIZE];
    ac_config_default(&c);
    CHECK(ac_config_parse("a = 1\nb = \"x\0y\"\n", 15, "t.toml", &c, NULL, NULL, err) == AC_E_FORMAT);
    CHECKF(strstr(err, "t.toml:2: NUL byte") != NULL, "%s", err);
    /* a non-loopback address with a token is fine, and so is IPv6 loopback without one */
    warnings w;
    CHECKF(parse("http_enabled = true\nhttp_address = \"0.0.0.0\"\nhttp_token = \"s3cret\"\n", &c, &w, err) == AC_OK,
           "%s", err);
    CHECKF(parse("http_enabled = true\nhttp_address = \"::1\"\n", &c, &w, err) == AC_OK, "%s", err);
}

static void example_documents_every_key_with_defaults(void)
{
    size_t len;
    char *text = read_example(&len);
    if (!text)
        SKIP("config.example.toml not found (run from the repository root)");
    ac_config c, d;
    warnings w = {0};
    char err[AC_ERR_SIZE];
    ac_config_default(&c);
    ac_config_default(&d);
    CHECKF(ac_config_parse(text, len, "config.example.toml", &c, collect_warning, &w, err) == AC_OK, "%s", err);
    CHECKF(w.n == 0, "%d warnings, last: %s", w.n, w.last);
    CHECKF(memcmp(&c, &d, sizeof c) == 0, "the example's values differ from the built-in defaults");
    for (size_t i = 0; ac__config_key_name(i); i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\n%s = ", ac__config_key_name(i));
        CHECKF(strstr(text, needle) != NULL, "key %s is not in config.example.toml", ac__config_key_name(i));
    }
    free(text);
}

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void load_finds_file_and_resolves_paths(void)
{
    char path[300], dir[256], err[AC_ERR_SIZE];
    ac_config c;
    snprintf(dir, sizeof dir, "%s/xdg/autocorrect", tmpdir);
    char xdg[256];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmpdir);
    CHECK(mkdir(xdg, 0700) == 0);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/config.toml", dir);
    write_file(path, "model_path = \"models/mine\"\ndictionary_path = \"~/words.txt\"\nbeam_width = 2\n");
    setenv("XDG_CONFIG_HOME", xdg, 1);
    setenv("HOME", "/home/someone", 1);
    setenv("XDG_DATA_HOME", "/data", 1);
    CHECKF(ac_config_load(NULL, &c, NULL, NULL, err) == AC_OK, "%s", err);
    CHECK_STR(c.source, path);
    CHECK(c.beam_width == 2);
    char want[512];
    snprintf(want, sizeof want, "%s/models/mine", dir);
    CHECK_STR(c.model_path, want);
    CHECK_STR(c.dictionary_path, "/home/someone/words.txt");
    CHECK_STR(c.user_dictionary_path, "/data/autocorrect/user-dictionary.txt");

    /* --config wins over XDG; a missing --config file is an error naming it */
    char other[256];
    snprintf(other, sizeof other, "%s/other.toml", tmpdir);
    write_file(other, "model_path = \"/abs/model\"\nbeam_width = 7\n");
    CHECKF(ac_config_load(other, &c, NULL, NULL, err) == AC_OK, "%s", err);
    CHECK(c.beam_width == 7);
    CHECK_STR(c.model_path, "/abs/model");
    snprintf(other, sizeof other, "%s/missing.toml", tmpdir);
    CHECK(ac_config_load(other, &c, NULL, NULL, err) == AC_E_IO);
    CHECKF(strstr(err, "missing.toml") != NULL, "%s", err);

    /* a bad file: the error names it with the line */
    write_file(path, "beam_width = 3\nbeam_width = true\n");
    CHECK(ac_config_load(NULL, &c, NULL, NULL, err) != AC_OK);
    CHECKF(strstr(err, "config.toml:2:") != NULL, "%s", err);

    /* no file at all: defaults, and the model found in the source tree (models/default) */
    snprintf(xdg, sizeof xdg, "%s/nowhere", tmpdir);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    CHECKF(ac_config_load(NULL, &c, NULL, NULL, err) == AC_OK, "%s", err);
    CHECK(c.source[0] == 0);
    struct stat st;
    /* run by tests/run.sh from the source tree: found relative to the test binary in build/tests/ */
    if (getenv("AC_TEST_BUILD") && stat("models/default", &st) == 0)
        CHECKF(strstr(c.model_path, "models/default") != NULL, "model_path %.200s", c.model_path);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("XDG_DATA_HOME");
}

static void socket_path_rules(void)
{
    ac_config c;
    char out[AC_SOCKET_PATH_MAX], err[AC_ERR_SIZE];
    ac_config_default(&c);
    setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    CHECK(ac_socket_path_resolve(&c, out, sizeof out, 0, err) == AC_OK);
    CHECK_STR(out, "/run/user/4242/autocorrect.sock");
    snprintf(c.socket_path, sizeof c.socket_path, "%s/explicit.sock", tmpdir);
    CHECK(ac_socket_path_resolve(&c, out, sizeof out, 0, err) == AC_OK);
    CHECK_STR(out, c.socket_path);
    memset(c.socket_path, 'a', 200);
    c.socket_path[0] = '/';
    c.socket_path[200] = 0;
    CHECK(ac_socket_path_resolve(&c, out, sizeof out, 0, err) == AC_E_LIMIT);
    c.socket_path[0] = 0;

    /* no XDG_RUNTIME_DIR: a private directory under $TMPDIR, created 0700 */
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", tmpdir, 1);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/autocorrect-%u", tmpdir, (unsigned)geteuid());
    CHECKF(ac_socket_path_resolve(&c, out, sizeof out, 1, err) == AC_OK, "%s", err);
    struct stat st;
    CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    char want[256];
    snprintf(want, sizeof want, "%s/autocorrect.sock", dir);
    CHECK_STR(out, want);
    /* group-readable: refused */
    CHECK(chmod(dir, 0750) == 0);
    CHECK(ac_socket_path_resolve(&c, out, sizeof out, 1, err) == AC_E_IO);
    CHECKF(strstr(err, "must be 0700") != NULL, "%s", err);
    /* a symlink in its place: refused */
    CHECK(rmdir(dir) == 0);
    char target[128];
    snprintf(target, sizeof target, "%s/elsewhere", tmpdir);
    CHECK(mkdir(target, 0700) == 0);
    CHECK(symlink(target, dir) == 0);
    CHECK(ac_socket_path_resolve(&c, out, sizeof out, 1, err) == AC_E_IO);
    CHECKF(strstr(err, "symbolic link") != NULL, "%s", err);
    unlink(dir);
    rmdir(target);
    unsetenv("TMPDIR");
}

/* Random byte edits of the example, through the fuzzer's entry point: nothing may crash, and every
 * error must come with a message (the entry point traps otherwise). */
static void mutations_through_fuzz_entry(void)
{
    size_t len;
    char *text = read_example(&len);
    if (!text)
        SKIP("config.example.toml not found");
    static const char alphabet[] = "=\"'[]{},.#\\\n\r\t 0123456789_abcxyzeE+-:\x80\xc3\xff";
    unsigned seed = 12345;
    char *copy = malloc(len + 64);
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, text, len);
        size_t n = len;
        int edits = 1 + (int)(rand_r(&seed) % 8);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand_r(&seed) % n;
            int kind = rand_r(&seed) % 3;
            char ch = alphabet[(size_t)rand_r(&seed) % (sizeof alphabet - 1)];
            if (kind == 0) {
                copy[at] = ch;
            } else if (kind == 1 && n + 1 < len + 64) {
                memmove(copy + at + 1, copy + at, n - at);
                copy[at] = ch;
                n++;
            } else if (n > 1) {
                memmove(copy + at, copy + at + 1, n - at - 1);
                n--;
            }
        }
        size_t cut = round % 7 == 0 ? (size_t)rand_r(&seed) % n : n; /* sometimes truncated */
        LLVMFuzzerTestOneInput((const uint8_t *)copy, cut);
    }
    free(copy);
    free(text);
    CHECK(1); /* reaching here without a trap or a sanitizer report is the check */
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ac_test_config_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: setup: mkdtemp\n");
        return 1;
    }
    RUN(defaults_are_sane);
    RUN(seed_keys_parse);
    RUN(value_syntax);
    RUN(unknown_keys_warn_with_line_and_hint);
    RUN(bad_inputs_name_file_line_and_key);
    RUN(example_documents_every_key_with_defaults);
    RUN(load_finds_file_and_resolves_paths);
    RUN(socket_path_rules);
    RUN(mutations_through_fuzz_entry);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_EXIT_CODE();
}
