/* daemon_load.c: the load generator behind bench/bench_daemon.sh (which builds and runs it).
 *
 *   daemon_load rt SOCKET N                    N sequential trivial requests (health): round trip
 *   daemon_load typing SOCKET FILE [nocache]   replay FILE's text one character at a time as
 *                                              completion requests in one session
 *   daemon_load clients SOCKET N SECONDS FILE  N clients, each replaying FILE in its own session
 *                                              as fast as replies come, for SECONDS
 *
 * Prints one line per measurement: "name: p50 X us, p99 Y us, n N" or "name: R req/s ...".
 * A benchmark, not a test: it checks only that replies come back and are not errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int connect_to(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

typedef struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
} conn;

/* Sends a line and waits for one reply line; returns 0, or -1 on error/EOF. Counts error replies. */
static int call(conn *c, const char *line, size_t n, long *errors)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t k = (size_t)(nl - c->buf) + 1;
            if (memmem(c->buf, k, "\"error\"", 7))
                (*errors)++;
            memmove(c->buf, c->buf + k, c->len - k);
            c->len -= k;
            return 0;
        }
        if (c->len == sizeof c->buf)
            c->len = 0; /* a huge reply: drop what we have, keep reading to the newline */
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *us, long n, long errors)
{
    qsort(us, (size_t)n, sizeof *us, cmp_double);
    double p50 = n ? us[n / 2] : 0, p99 = n ? us[(long)(n * 0.99) < n ? (long)(n * 0.99) : n - 1] : 0;
    printf("%s: p50 %.0f us, p99 %.0f us, n %ld%s\n", name, p50, p99, n, errors ? " (with errors!)" : "");
    if (errors)
        printf("%s: %ld error replies\n", name, errors);
}

/* JSON-escapes text[0..n) into out (cap bytes); returns the length. */
static size_t escape(const char *text, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = 0;
    return o;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    static char text[1 << 16];
    *len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[*len] = 0;
    return text;
}

/* The prefix of text that ends at a character boundary at or before i bytes. */
static size_t utf8_cut(const char *text, size_t i)
{
    while (i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static int cmd_rt(const char *sock, long n)
{
    conn *c = calloc(1, sizeof *c);
    c->fd = connect_to(sock);
    double *us = malloc((size_t)n * sizeof *us);
    long errors = 0;
    char line[64];
    for (long i = 0; i < n; i++) {
        int k = snprintf(line, sizeof line, "{\"id\":%ld,\"op\":\"health\"}\n", i);
        double t0 = now();
        if (call(c, line, (size_t)k, &errors) != 0)
            return 1;
        us[i] = (now() - t0) * 1e6;
    }
    report("round trip (health)", us, n, errors);
    return 0;
}

static int cmd_typing(const char *sock, const char *file, int nocache)
{
    size_t len;
    char *text = read_text(file, &len);
    conn *c = calloc(1, sizeof *c);
    c->fd = connect_to(sock);
    double *us = malloc((len + 1) * sizeof *us);
    long n = 0, errors = 0;
    static char esc[1 << 18], line[1 << 18];
    char session[64];
    snprintf(session, sizeof session, "typing-%d-%s", (int)getpid(), nocache ? "nocache" : "cache");
    for (size_t i = 1; i <= len; i++) {
        if (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
            continue; /* a keystroke types a whole character */
        escape(text, utf8_cut(text, i), esc, sizeof esc);
        int k = snprintf(line, sizeof line,
                         "{\"id\":%zu,\"session\":\"%s\",\"op\":\"complete\",\"before\":\"%s\",\"cache\":%s}\n", i,
                         session, esc, nocache ? "false" : "true");
        double t0 = now();
        if (call(c, line, (size_t)k, &errors) != 0)
            return 1;
        us[n++] = (now() - t0) * 1e6;
    }
    report(nocache ? "per keystroke, cache off" : "per keystroke, cache on", us, n, errors);
    return 0;
}

typedef struct worker {
    const char *sock;
    const char *text;
    size_t len;
    int index;
    double until;
    long done, errors;
    double *us;
    long cap;
} worker;

static void *client_main(void *arg)
{
    worker *w = arg;
    conn *c = calloc(1, sizeof *c);
    c->fd = connect_to(w->sock);
    static __thread char esc[1 << 17], line[1 << 17];
    size_t i = 1 + (size_t)w->index * 7 % (w->len ? w->len : 1);
    while (now() < w->until) {
        if (i > w->len)
            i = 1;
        escape(w->text, utf8_cut(w->text, i), esc, sizeof esc);
        int k = snprintf(line, sizeof line, "{\"id\":%ld,\"session\":\"load-%d\",\"op\":\"complete\",\"before\":\"%s\"}\n",
                         w->done, w->index, esc);
        double t0 = now();
        if (call(c, line, (size_t)k, &w->errors) != 0)
            break;
        if (w->done < w->cap)
            w->us[w->done] = (now() - t0) * 1e6;
        w->done++;
        i++;
    }
    close(c->fd);
    free(c);
    return NULL;
}

static int cmd_clients(const char *sock, int n, double seconds, const char *file)
{
    size_t len;
    char *text = read_text(file, &len);
    worker *ws = calloc((size_t)n, sizeof *ws);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        ws[i] = (worker){.sock = sock, .text = text, .len = len, .index = i, .until = t0 + seconds, .cap = 200000};
        ws[i].us = malloc((size_t)ws[i].cap * sizeof *ws[i].us);
        pthread_create(&th[i], NULL, client_main, &ws[i]);
    }
    long total = 0, errors = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += ws[i].done;
        errors += ws[i].errors;
    }
    double elapsed = now() - t0;
    double *all = malloc((size_t)(total ? total : 1) * sizeof *all);
    for (int i = 0; i < n; i++)
        for (long k = 0; k < ws[i].done && k < ws[i].cap; k++)
            all[kept++] = ws[i].us[k];
    char name[64];
    snprintf(name, sizeof name, "%d client%s", n, n == 1 ? "" : "s");
    printf("%s: %.0f req/s over %.1f s\n", name, total / elapsed, elapsed);
    report(name, all, kept, errors);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "rt"))
        return cmd_rt(argv[2], atol(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "typing"))
        return cmd_typing(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "nocache"));
    if (argc >= 6 && !strcmp(argv[1], "clients"))
        return cmd_clients(argv[2], atoi(argv[3]), atof(argv[4]), argv[5]);
    fprintf(stderr, "usage: daemon_load rt SOCK N | typing SOCK FILE [nocache] | clients SOCK N SECONDS FILE\n");
    return 2;
}
