/* load_client.c: a load test client for autocorrectd: many concurrent clients sending mixed,
 * pipelined requests, counting every request against its reply.
 *
 *   load_client SOCKET [--clients N] [--seconds S] [--warmup S] [--pid PID] [--rss-growth-mb M]
 *
 * Each of N clients (threads, one connection each; default 64) loops for S seconds (default 20)
 * over a random mix of actions, each sending one or more requests and reading their replies:
 *   complete in a session shared with 7 other clients (cross-connection supersession), a burst of 3
 *   completions in the client's own session written at once (the first ones are superseded),
 *   a slow completion and a cancel of it by id, a cancel by session, correct (with "complete"),
 *   topk, tokenize, info and health, and now and then a hang-up with a request in flight (then a
 *   new connection).
 * Every reply is matched to its request by id and checked: it must not be an error, it must have the
 * op's result field or be marked cancelled; after the last action each client waits (up to 15 s)
 * for all its outstanding replies. With --pid, the daemon's VmRSS (/proc/PID/status) is sampled
 * after --warmup seconds (default: a quarter of the run, at least 2 s) and at the end.
 *
 * Output: "# " lines with the counts, the request rate, p50/p99 latencies, RSS, then the checks:
 *   load_no_errors, load_every_request_answered, load_replies_well_formed, load_memory_flat (with
 *   --pid), as PASS:/FAIL: lines; exit status 1 if any failed. tests/sh/test_load.sh runs it
 *   against the real daemon (20 s); bench/bench_load.sh runs it longer. This is not a benchmark of
 *   the model: with the tiny fixture model it measures the server.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUT 8            /* requests a client has in flight at most */
#define LAT_CAP 200000       /* latencies kept per op kind */
#define DRAIN_TIMEOUT_S 15.0

enum kind { K_COMPLETE, K_CORRECT, K_TOPK, K_TOKENIZE, K_INFO, K_HEALTH, K_CANCEL, K_COUNT };
static const char *const kind_names[K_COUNT] = {"complete", "correct", "topk", "tokenize", "info", "health",
                                                "cancel"};
static const char *const result_field[K_COUNT] = {"completions", "corrections", "top", "tokens", "status",
                                                  "status", "found"};

static const char *const texts[] = {
    "The quick brown fox jumps over the lazy dog and then",
    "I saw teh cat and the brwn dog in the morning",
    "the sea shells on the sea shore are there, and their",
    "in the evening there is sun; then the fox runs over the hill",
    "Once upon a time, thier friends were the best of",
    "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 stra\xc3\x9f" "e and the dog sleeps",
};

static const char *sock_path;
static int n_clients = 64;
static double run_seconds = 20, warmup_seconds = -1;
static double t_start;

static atomic_long n_sent, n_answered, n_cancelled, n_errors, n_malformed, n_abandoned, n_missing;
static atomic_long n_by_kind[K_COUNT];
static pthread_mutex_t lat_mu = PTHREAD_MUTEX_INITIALIZER;
static double *lat[K_COUNT];
static long n_lat[K_COUNT];
static atomic_int error_samples;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int connect_daemon(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
    for (int tries = 0; tries < 50; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(20000);
    }
    return -1;
}

typedef struct pending {
    long id;
    int kind;
    double t_sent;
} pending;

typedef struct client {
    int index;
    int fd;
    unsigned rng;
    long next_id;
    pending out[MAX_OUT];
    int n_out;
    char buf[1 << 16];
    size_t len;
    int failed; /* the connection broke: stop */
} client;

static unsigned rnd(client *c, unsigned n)
{
    c->rng = c->rng * 1103515245u + 12345u;
    return (c->rng >> 8) % n;
}

static void record_latency(int kind, double ms)
{
    pthread_mutex_lock(&lat_mu);
    if (n_lat[kind] < LAT_CAP)
        lat[kind][n_lat[kind]++] = ms;
    pthread_mutex_unlock(&lat_mu);
}

static int send_all(client *c, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Queues one request: a JSON object with "id" and "op" added. */
static long request(client *c, int kind, json_t *obj)
{
    long id = ((long)c->index << 32) | c->next_id++;
    json_object_set_new(obj, "id", json_integer(id));
    json_object_set_new(obj, "op", json_string(kind_names[kind]));
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps leaves room for the NUL: the newline replaces it */
    int rc = send_all(c, s, n + 1);
    free(s);
    if (rc != 0) {
        c->failed = 1;
        return -1;
    }
    c->out[c->n_out++] = (pending){id, kind, now()};
    atomic_fetch_add(&n_sent, 1);
    atomic_fetch_add(&n_by_kind[kind], 1);
    return id;
}

static void note_error(const char *line, size_t n)
{
    if (atomic_fetch_add(&error_samples, 1) < 5)
        printf("# unexpected reply: %.*s\n", (int)(n > 300 ? 300 : n), line);
}

/* Handles one reply line. */
static void on_reply(client *c, const char *line, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(line, n, 0, &je);
    json_t *idv = o ? json_object_get(o, "id") : NULL;
    if (!o || !json_is_integer(idv)) {
        atomic_fetch_add(&n_malformed, 1);
        note_error(line, n);
        json_decref(o);
        return;
    }
    long id = (long)json_integer_value(idv);
    int k = 0;
    while (k < c->n_out && c->out[k].id != id)
        k++;
    if (k == c->n_out) { /* a reply to nothing we sent, or a second reply */
        atomic_fetch_add(&n_malformed, 1);
        note_error(line, n);
        json_decref(o);
        return;
    }
    pending p = c->out[k];
    c->out[k] = c->out[--c->n_out];
    atomic_fetch_add(&n_answered, 1);
    if (json_object_get(o, "error")) {
        atomic_fetch_add(&n_errors, 1);
        note_error(line, n);
    } else if (json_is_true(json_object_get(o, "cancelled"))) {
        atomic_fetch_add(&n_cancelled, 1);
    } else if (!json_object_get(o, result_field[p.kind])) {
        atomic_fetch_add(&n_malformed, 1);
        note_error(line, n);
    } else {
        record_latency(p.kind, (now() - p.t_sent) * 1000);
    }
    json_decref(o);
}

/* Reads replies until at most `keep` requests are outstanding (or the deadline passes). */
static void wait_replies(client *c, int keep, double deadline)
{
    while (c->n_out > keep && !c->failed) {
        char *nl;
        while (c->n_out > keep && (nl = memchr(c->buf, '\n', c->len))) {
            size_t n = (size_t)(nl - c->buf);
            on_reply(c, c->buf, n);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
        }
        if (c->n_out <= keep)
            break;
        if (c->len == sizeof c->buf) { /* a reply longer than the buffer: not one we asked for */
            atomic_fetch_add(&n_malformed, 1);
            c->len = 0;
        }
        double left = deadline - now();
        if (left <= 0)
            break;
        struct timeval tv = {(time_t)left, (suseconds_t)((left - (time_t)left) * 1e6)};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r > 0)
            c->len += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            c->failed = 1;
    }
}

static json_t *text_request(client *c, const char *field, size_t max_len)
{
    const char *t = texts[rnd(c, sizeof texts / sizeof texts[0])];
    size_t n = strlen(t);
    size_t cut = 1 + rnd(c, (unsigned)(n < max_len ? n : max_len));
    while (cut < n && ((unsigned char)t[cut] & 0xC0) == 0x80)
        cut++; /* never inside a UTF-8 character */
    json_t *o = json_object();
    json_object_set_new(o, field, json_stringn(t, cut));
    return o;
}

static void act(client *c, double deadline)
{
    char session[64];
    unsigned a = rnd(c, 100);
    if (a < 30) { /* a keystroke in a session shared by 8 clients */
        snprintf(session, sizeof session, "shared-%d", c->index % 8);
        json_t *o = text_request(c, "before", 60);
        json_object_set_new(o, "session", json_string(session));
        json_object_set_new(o, "max_tokens", json_integer(1 + rnd(c, 4)));
        request(c, K_COMPLETE, o);
    } else if (a < 45) { /* typing fast in its own session: 3 keystrokes at once */
        snprintf(session, sizeof session, "own-%d", c->index);
        for (int i = 0; i < 3 && !c->failed; i++) {
            json_t *o = text_request(c, "before", 60);
            json_object_set_new(o, "session", json_string(session));
            request(c, K_COMPLETE, o);
        }
    } else if (a < 52) { /* a slow completion, cancelled by id */
        json_t *o = text_request(c, "before", 60);
        json_object_set_new(o, "max_tokens", json_integer(6));
        json_object_set_new(o, "beams", json_integer(4));
        long id = request(c, K_COMPLETE, o);
        if (id >= 0) {
            o = json_object();
            json_object_set_new(o, "target", json_integer(id));
            request(c, K_CANCEL, o);
        }
    } else if (a < 55) { /* cancel whatever the shared session runs */
        snprintf(session, sizeof session, "shared-%d", c->index % 8);
        json_t *o = json_object();
        json_object_set_new(o, "session", json_string(session));
        request(c, K_CANCEL, o);
    } else if (a < 70) {
        json_t *o = text_request(c, "before", 80);
        if (rnd(c, 2))
            json_object_set_new(o, "complete", json_true());
        request(c, K_CORRECT, o);
    } else if (a < 80) {
        json_t *o = text_request(c, "before", 60);
        json_object_set_new(o, "k", json_integer(1 + rnd(c, 20)));
        request(c, K_TOPK, o);
    } else if (a < 90) {
        request(c, K_TOKENIZE, text_request(c, "text", 80));
    } else if (a < 94) {
        request(c, K_INFO, json_object());
    } else if (a < 98) {
        request(c, K_HEALTH, json_object());
    } else { /* hang up with a request in flight, then connect again */
        request(c, K_COMPLETE, text_request(c, "before", 60));
        wait_replies(c, c->n_out - 1 > 0 ? c->n_out - 1 : 0, now()); /* take what already came */
        atomic_fetch_add(&n_abandoned, c->n_out);
        atomic_fetch_sub(&n_sent, c->n_out);
        c->n_out = 0;
        c->len = 0;
        close(c->fd);
        c->fd = connect_daemon();
        if (c->fd < 0)
            c->failed = 1;
        return;
    }
    /* pipelining: leave up to 2 requests in flight between actions */
    wait_replies(c, rnd(c, 3), deadline);
}

static void *client_main(void *arg)
{
    client *c = arg;
    c->fd = connect_daemon();
    if (c->fd < 0) {
        c->failed = 1;
        return NULL;
    }
    double end = t_start + run_seconds;
    while (!c->failed && now() < end)
        act(c, now() + DRAIN_TIMEOUT_S);
    wait_replies(c, 0, now() + DRAIN_TIMEOUT_S);
    atomic_fetch_add(&n_missing, c->n_out);
    if (c->fd >= 0)
        close(c->fd);
    return NULL;
}

static long rss_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p * (double)n);
    return v[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    int pid = 0;
    double growth_mb = 64;
    if (argc < 2) {
        fprintf(stderr, "usage: load_client SOCKET [--clients N] [--seconds S] [--warmup S] [--pid PID] "
                        "[--rss-growth-mb M]\n");
        return 2;
    }
    sock_path = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) n_clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) run_seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup")) warmup_seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--pid")) pid = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rss-growth-mb")) growth_mb = atof(argv[i + 1]);
        else {
            fprintf(stderr, "load_client: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (warmup_seconds < 0)
        warmup_seconds = run_seconds / 4 > 2 ? run_seconds / 4 : 2;
    for (int k = 0; k < K_COUNT; k++)
        lat[k] = malloc(LAT_CAP * sizeof *lat[k]);
    client *cs = calloc((size_t)n_clients, sizeof *cs);
    pthread_t *th = calloc((size_t)n_clients, sizeof *th);
    long rss_start = pid ? rss_kb(pid, "VmRSS") : -1;
    t_start = now();
    for (int i = 0; i < n_clients; i++) {
        cs[i].index = i;
        cs[i].rng = 0x9E3779B9u * (unsigned)(i + 1);
        pthread_create(&th[i], NULL, client_main, &cs[i]);
    }
    long rss_warm = -1;
    if (pid) {
        while (now() < t_start + warmup_seconds)
            usleep(50000);
        rss_warm = rss_kb(pid, "VmRSS");
    }
    int failed_clients = 0;
    for (int i = 0; i < n_clients; i++) {
        pthread_join(th[i], NULL);
        failed_clients += cs[i].failed;
    }
    double elapsed = now() - t_start;
    long rss_end = pid ? rss_kb(pid, "VmRSS") : -1, hwm = pid ? rss_kb(pid, "VmHWM") : -1;

    long sent = atomic_load(&n_sent), answered = atomic_load(&n_answered);
    printf("# %d clients for %.1f s: %ld requests sent, %ld answered (%ld cancelled or superseded), %ld errors, "
           "%ld malformed, %ld abandoned by hang-ups, %.0f requests/s\n",
           n_clients, elapsed, sent, answered, atomic_load(&n_cancelled), atomic_load(&n_errors),
           atomic_load(&n_malformed), atomic_load(&n_abandoned), answered / elapsed);
    printf("# by op:");
    for (int k = 0; k < K_COUNT; k++)
        printf(" %s %ld", kind_names[k], atomic_load(&n_by_kind[k]));
    printf("\n");
    for (int k = 0; k < K_COUNT; k++) {
        if (!n_lat[k])
            continue;
        qsort(lat[k], (size_t)n_lat[k], sizeof *lat[k], cmp_double);
        printf("# %-9s latency (answered, not cancelled): p50 %.2f ms, p99 %.2f ms, max %.2f ms, n %ld\n",
               kind_names[k], pct(lat[k], n_lat[k], 0.5), pct(lat[k], n_lat[k], 0.99), lat[k][n_lat[k] - 1],
               n_lat[k]);
    }
    int fail = 0;
    if (atomic_load(&n_errors) == 0 && failed_clients == 0) {
        printf("PASS: load_no_errors\n");
    } else {
        printf("FAIL: load_no_errors: %ld error replies, %d clients lost their connection\n",
               atomic_load(&n_errors), failed_clients);
        fail = 1;
    }
    long missing = atomic_load(&n_missing);
    if (missing == 0 && answered == sent && sent > 0) {
        printf("PASS: load_every_request_answered\n");
    } else {
        printf("FAIL: load_every_request_answered: %ld sent, %ld answered, %ld without a reply after %.0f s\n", sent,
               answered, missing, DRAIN_TIMEOUT_S);
        fail = 1;
    }
    if (atomic_load(&n_malformed) == 0) {
        printf("PASS: load_replies_well_formed\n");
    } else {
        printf("FAIL: load_replies_well_formed: %ld replies unparsable, unmatched or without a result\n",
               atomic_load(&n_malformed));
        fail = 1;
    }
    if (pid) {
        printf("# daemon VmRSS: %.1f MB at start, %.1f MB after %.0f s of warm-up, %.1f MB at the end (peak %.1f MB)\n",
               rss_start / 1024.0, rss_warm / 1024.0, warmup_seconds, rss_end / 1024.0, hwm / 1024.0);
        double growth = (rss_end - rss_warm) / 1024.0;
        if (rss_warm > 0 && rss_end > 0 && growth <= growth_mb) {
            printf("PASS: load_memory_flat: %+.1f MB after warm-up (bound %.0f MB)\n", growth, growth_mb);
        } else {
            printf("FAIL: load_memory_flat: %+.1f MB after warm-up (bound %.0f MB)\n", growth, growth_mb);
            fail = 1;
        }
    }
    for (int k = 0; k < K_COUNT; k++)
        free(lat[k]);
    free(cs);
    free(th);
    return fail;
}
