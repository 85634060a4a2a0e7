/* fuzz_server.c: libFuzzer entry for the whole daemon: its event loop's framing (JSON lines, the
 * plain-text fallback, split writes, pipelining, over-long lines, disconnects), the HTTP front end
 * (libmicrohttpd's request parsing, then our handler's URL, header and body handling) and the real
 * backend (tokenizer, decoder, corrector) on whatever the requests ask, through real sockets.
 *
 * LLVMFuzzerInitialize starts the real server in this process (ac__server_start with the model
 * backend on the tiny fixture model, tests/fixtures/tiny or $AC_FUZZ_MODEL; small limits so every
 * limit is reachable; HTTP on 127.0.0.1 with a free port; a small dictionary) and runs its loop on
 * a thread. Each input is then one client connection. The first byte picks how:
 *   bit 0:    0 = the UNIX socket, 1 = HTTP (the rest is sent to the TCP port as raw bytes)
 *   bits 1-2: the write size: all at once, 1 byte, 7 bytes or 61 bytes per send
 *   bits 3-5: 0 = hang up right after sending without reading (a client gone mid-reply);
 *             anything else = shut down the sending side and read every reply until the daemon
 *             closes the connection
 * Checks (abort on failure): the daemon closes a shut-down connection within 20 s; on the socket, a
 * JSON connection gets exactly one reply line per request line (blank lines excepted; a too_large
 * line ends the connection), each a JSON object; a plain-text connection gets only whole lines, at
 * most beam_width of them; HTTP replies start with a status line. A crash or sanitizer report in
 * any daemon thread is a finding too.
 *
 * Build and run: `make fuzz` (or FUZZ_TARGETS=server make fuzz), with fuzz/dict/server.dict. Replayed
 * without libFuzzer by $BUILD/tests/fuzz/test_fuzz_regress_server in `make test`.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "fuzz_server: check failed: %s (%s:%d)\n", #cond, \
    __FILE__, __LINE__); abort(); } } while (0)

#define MAX_LINE 4096        /* max_line_bytes of the fuzzed daemon */
#define BEAM_WIDTH 2
#define CLOSE_TIMEOUT_MS 20000
#define REPLY_KEEP (1 << 20) /* reply bytes kept for the checks; the rest is read and dropped */

static ac__server *srv;
static char tmpdir[64], sock_path[108];
static int http_port;

static const char dictionary[] =
    "#autocorrect-dictionary\t1\n"
    "the\t5000\nquick\t40\nbrown\t60\nfox\t30\njumps\t20\nover\t900\nlazy\t15\ndog\t80\nand\t4000\n"
    "sea\t50\nshells\t10\nshore\t12\nsun\t70\nthen\t300\nthere\t500\ntheir\t400\nhill\t25\nrain\t40\n"
    "morning\t60\nevening\t40\nfriends\t50\nsleeps\t10\nwakes\t10\nthinks\t20\nsells\t15\nbest\t90\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    FUZZ_CHECK(f);
    fputs(text, f);
    fclose(f);
}

static void cleanup(void)
{
    /* the server keeps running until the process ends: remove only our files */
    static const char *const names[] = {"config.toml", "dictionary.tsv", "user.txt", "d.sock"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

static void *loop_main(void *arg)
{
    ac__server_run(arg);
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *model = getenv("AC_FUZZ_MODEL") ? getenv("AC_FUZZ_MODEL") : "tests/fixtures/tiny";
    char model_abs[PATH_MAX];
    if (!realpath(model, model_abs)) {
        fprintf(stderr, "fuzz_server: the model %s is missing (run from the repository root, or set "
                        "AC_FUZZ_MODEL)\n", model);
        abort();
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ac_fuzz_server_XXXXXX");
    FUZZ_CHECK(mkdtemp(tmpdir));
    atexit(cleanup);
    char path[256], text[PATH_MAX + 1024];
    snprintf(path, sizeof path, "%s/dictionary.tsv", tmpdir);
    write_file(path, dictionary);
    snprintf(sock_path, sizeof sock_path, "%s/d.sock", tmpdir);
    snprintf(text, sizeof text,
             "model_path = \"%s\"\n"
             "dictionary_path = \"%s/dictionary.tsv\"\n"
             "user_dictionary_path = \"%s/user.txt\"\n"
             "workers = 2\nthreads = 1\ndeadline_ms = 40\nmax_line_bytes = %d\n"
             "max_tokens = 6\nmax_beams = 4\nbeam_width = %d\ndefault_max_tokens = 3\n"
             "max_clients = 16\nmax_queue = 64\nmax_sessions = 4\n"
             "http_enabled = true\nhttp_address = \"127.0.0.1\"\nhttp_port = 0\n",
             model_abs, tmpdir, tmpdir, MAX_LINE, BEAM_WIDTH);
    snprintf(path, sizeof path, "%s/config.toml", tmpdir);
    write_file(path, text);

    ac_config cfg;
    char err[AC_ERR_SIZE];
    if (ac_config_load(path, &cfg, NULL, NULL, err) != AC_OK) {
        fprintf(stderr, "fuzz_server: %s\n", err);
        abort();
    }
    ac__server_params p = {
        .ops = &ac__backend_model_ops, .config_path = path, .socket_path = sock_path, .listen_fd = -1,
    };
    if (ac__server_start(&p, &cfg, &srv, err) != AC_OK) {
        fprintf(stderr, "fuzz_server: cannot start the daemon: %s\n", err);
        abort();
    }
    json_t *info = ac__server_info(srv, NULL, 1);
    http_port = (int)json_integer_value(json_object_get(json_object_get(info, "http"), "port"));
    json_decref(info);
    FUZZ_CHECK(http_port > 0);
    pthread_t t;
    FUZZ_CHECK(pthread_create(&t, NULL, loop_main, srv) == 0);
    pthread_detach(t);
    return 0;
}

static int connect_unix(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static int connect_http(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

typedef struct reply_buf {
    char *data;
    size_t len, total;
} reply_buf;

/* Sends data in chunks of `chunk` bytes while reading replies (so that neither side can block the
 * other), then, with `hang_up`, closes at once; else shuts down the sending side and reads until
 * the daemon closes. Returns 0, or -1 when the daemon did not close in time. */
static int exchange(int fd, const uint8_t *data, size_t size, size_t chunk, int hang_up, reply_buf *out)
{
    size_t sent = 0;
    int shut = 0;
    double deadline_ms = CLOSE_TIMEOUT_MS;
    for (;;) {
        if (sent == size && !shut) {
            if (hang_up)
                return 0;
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0)};
        int n = poll(&pfd, 1, 100);
        if (n == 0) {
            deadline_ms -= 100;
            if (deadline_ms <= 0)
                return -1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (pfd.revents & POLLOUT) {
            size_t k = size - sent < chunk ? size - sent : chunk;
            ssize_t w = send(fd, data + sent, k, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                sent = size; /* the daemon closed on us (too_large): read what it said */
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                if (sent < size)
                    sent = size;
                return 0;
            }
            if (r > 0) {
                size_t keep = out->len + (size_t)r <= REPLY_KEEP ? (size_t)r : REPLY_KEEP - out->len;
                memcpy(out->data + out->len, buf, keep);
                out->len += keep;
                out->total += (size_t)r;
            }
        }
    }
}

/* How many replies a JSON connection must get: one per non-blank line, as server.c frames them.
 * Returns -1 when an over-long line makes the count depend on how the bytes arrived. */
static long expected_json_replies(const uint8_t *data, size_t size)
{
    long n = 0;
    for (size_t start = 0; start < size;) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        if (end - start > MAX_LINE - 64)
            return -1;
        size_t a = start, b = end;
        while (b > a && (data[b - 1] == '\r' || data[b - 1] == ' ' || data[b - 1] == '\t'))
            b--;
        while (a < b && (data[a] == ' ' || data[a] == '\t'))
            a++;
        n += a < b;
        start = end + 1;
    }
    return n;
}

static void check_socket_replies(const uint8_t *data, size_t size, const reply_buf *out)
{
    if (out->total != out->len)
        return; /* more than we kept: nothing more to check */
    FUZZ_CHECK(out->len == 0 || out->data[out->len - 1] == '\n');
    long lines = 0;
    for (size_t start = 0; start < out->len;) {
        const char *nl = memchr(out->data + start, '\n', out->len - start);
        size_t end = (size_t)(nl - out->data);
        if (size && data[0] == '{') {
            json_error_t je;
            json_t *o = json_loadb(out->data + start, end - start, 0, &je);
            if (!o)
                fprintf(stderr, "fuzz_server: reply is not JSON: %.*s\n", (int)(end - start), out->data + start);
            FUZZ_CHECK(o && json_is_object(o) && json_object_get(o, "id"));
            json_decref(o);
        }
        lines++;
        start = end + 1;
    }
    if (size && data[0] == '{') {
        long want = expected_json_replies(data, size);
        /* Hung-up inputs leave connections whose jobs are still running; enough of them reach
         * max_clients, and the daemon then answers a new connection with this one line and closes
         * it, as documented: not a lost reply. */
        static const char refused[] = "\"code\":\"too_many_clients\"";
        if (lines == 1 && memmem(out->data, out->len, refused, sizeof refused - 1))
            return;
        if (want >= 0 && lines != want)
            fprintf(stderr, "fuzz_server: %ld replies to %ld requests: %.*s\n", lines, want,
                    (int)(out->len < 600 ? out->len : 600), out->data);
        FUZZ_CHECK(want < 0 || lines == want);
    } else {
        FUZZ_CHECK(lines <= BEAM_WIDTH); /* completions, or one "error: ..." line */
        FUZZ_CHECK(size > 0 || lines == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    static const size_t chunks[4] = {SIZE_MAX, 1, 7, 61};
    size_t chunk = chunks[(mode >> 1) & 3];
    int hang_up = ((mode >> 3) & 7) == 0;
    int http = mode & 1;
    if (chunk == 1 && size > 512)
        chunk = 509; /* byte-at-a-time on long inputs only slows the fuzzer down */
    static char keep[REPLY_KEEP];
    reply_buf out = {keep, 0, 0};
    int fd = http ? connect_http() : connect_unix();
    int rc = exchange(fd, data, size, chunk, hang_up, &out);
    close(fd);
    if (rc != 0)
        fprintf(stderr, "fuzz_server: the daemon did not close the %s connection within %d ms (%zu reply "
                        "bytes: %.*s)\n", http ? "HTTP" : "socket", CLOSE_TIMEOUT_MS, out.len,
                (int)(out.len < 300 ? out.len : 300), out.data);
    FUZZ_CHECK(rc == 0);
    if (getenv("AC_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_server: %s, %zu bytes sent, %zu reply bytes:\n%.*s\n", http ? "HTTP" : "socket", size,
                out.total, (int)(out.len < 2000 ? out.len : 2000), out.data);
    if (hang_up)
        return 0;
    if (http)
        FUZZ_CHECK(out.len == 0 || (out.len >= 8 && !memcmp(out.data, "HTTP/1.", 7)));
    else
        check_socket_replies(data, size, &out);
    return 0;
}
