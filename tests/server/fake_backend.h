/* fake_backend.h: a test double for the daemon's backend interface (src/server/backend.h).
 *
 * It lets the server's own machinery (event loop, framing, sessions, cancellation, reload, HTTP,
 * limits) be tested as a real process without a model: answers are computed from the request text
 * by fixed rules, so a test can predict them. It is NOT a model and is never linked into
 * `autocorrectd`: only the test program tests/server/test_daemon.c includes it, and runs the
 * daemon's real command line (ac__daemon_main) with it when started as `test_daemon --serve ...`.
 *
 * Rules:
 *   complete    completion i (0-based, req->n of them) is " <last word of before>_<i>", score -(i+1)/2,
 *               2 tokens ("<first half>", "<second half>") when logprobs are asked.
 *               "sleep:N" anywhere in `before` first waits N ms, checking the cancel flag every ms
 *               (returns AC_E_CANCELLED when set) and the deadline (returns partial).
 *               "fail:" in `before` fails with AC_E_IO "fake failure".
 *               "ctl:" in `before` returns the two completions of FAKE_CTL_TEXTS, which hold the
 *               control characters a terminal would act on (ESC, BEL, CR, LF, DEL, C1 CSI).
 *   correct     "teh" -> "the" and "brwn" -> "brown", wherever they are (byte offsets), with the
 *               candidates [replacement, "tee"].
 *   topk        k tokens: id i, text "t<i>", logprob -i.
 *   tokenize    one id per byte; detokenize the reverse (ids over 255: AC_E_ARG).
 *   learn       counts words (info reports "learned").
 *   load        fails when model_path contains "fail-to-load"; info reports model_path and a
 *               process-wide load counter, so a test can see a reload happen.
 */
#ifndef AC_TESTS_FAKE_BACKEND_H
#define AC_TESTS_FAKE_BACKEND_H

#include "server/backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fake_state {
    char model_path[AC_CONFIG_PATH_MAX];
    int load_number;
    pthread_mutex_t mu;
    int learned;
} fake_state;

static int fake_loads;

static int fake_load(const ac_config *cfg, void **state, char *err)
{
    if (strstr(cfg->model_path, "fail-to-load"))
        return ac__errorf(err, AC_E_IO, "fake backend: cannot load %s", cfg->model_path);
    fake_state *s = calloc(1, sizeof *s);
    if (!s)
        return ac__errorf(err, AC_E_NOMEM, "out of memory");
    snprintf(s->model_path, sizeof s->model_path, "%s", cfg->model_path);
    s->load_number = ++fake_loads;
    pthread_mutex_init(&s->mu, NULL);
    *state = s;
    return AC_OK;
}

static void fake_free(void *state)
{
    fake_state *s = state;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void fake_describe(void *state, char *out, size_t n)
{
    fake_state *s = state;
    snprintf(out, n, "fake model at %s (load %d)", s->model_path, s->load_number);
}

/* Sleeps ms milliseconds in 1 ms steps; 1 when cancelled, 2 when the deadline passed, else 0. */
static int fake_wait(long ms, const atomic_int *cancel, double deadline)
{
    for (long i = 0; i < ms; i++) {
        if (atomic_load(cancel))
            return 1;
        if (deadline > 0 && ac_now() > deadline)
            return 2;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(cancel) ? 1 : 0;
}

static const char *const FAKE_CTL_TEXTS[2] = {" \x1b[31mred\x07\r\nnext\x7f\xc2\x9b" "2J", "\x1b]0;t\x07\ttab\n"};

static int fake_complete(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)state;
    if (strstr(req->before, "fail:"))
        return ac__errorf(err, AC_E_IO, "fake failure");
    if (strstr(req->before, "ctl:")) {
        for (int i = 0; i < 2; i++)
            if (ac__reply_add_completion(rep, FAKE_CTL_TEXTS[i], strlen(FAKE_CTL_TEXTS[i]), -0.5 - i, 2))
                return AC_E_NOMEM;
        return AC_OK;
    }
    const char *sl = strstr(req->before, "sleep:");
    if (sl) {
        int w = fake_wait(atol(sl + 6), cancel, req->deadline);
        if (w == 1)
            return AC_E_CANCELLED;
        if (w == 2)
            rep->partial = true;
    }
    /* the last word of before */
    size_t end = req->before_len;
    while (end && req->before[end - 1] == ' ')
        end--;
    size_t start = end;
    while (start && req->before[start - 1] != ' ')
        start--;
    for (int i = 0; i < req->n; i++) {
        char text[200];
        int len = snprintf(text, sizeof text, " %.*s_%d", (int)(end - start > 100 ? 100 : end - start),
                           req->before + start, i);
        if (ac__reply_add_completion(rep, text, (size_t)len, -(i + 1) / 2.0, 2))
            return AC_E_NOMEM;
        if (req->want_token_logprobs) {
            ac__reply_add_completion_token(rep, text, (size_t)len / 2, -0.25);
            ac__reply_add_completion_token(rep, text + len / 2, (size_t)len - (size_t)len / 2, -0.25);
        }
    }
    rep->cached_tokens += req->use_cache ? (int)(req->before_len / 2) : 0;
    rep->new_tokens += (int)req->before_len - (req->use_cache ? (int)(req->before_len / 2) : 0);
    return AC_OK;
}

static int fake_correct(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)state;
    (void)cancel;
    (void)err;
    static const char *const pairs[][2] = {{"teh", "the"}, {"brwn", "brown"}};
    for (size_t p = 0; p < 2; p++) {
        const char *from = req->before;
        size_t wl = strlen(pairs[p][0]);
        const char *hit;
        while ((hit = strstr(from, pairs[p][0]))) {
            size_t at = (size_t)(hit - req->before);
            ac__reply_add_correction(rep, at, at + wl, hit, wl, pairs[p][1], strlen(pairs[p][1]), -0.4);
            ac__reply_add_candidate(rep, pairs[p][1], strlen(pairs[p][1]), -0.4);
            ac__reply_add_candidate(rep, "tee", 3, -2.5);
            from = hit + wl;
        }
    }
    return AC_OK;
}

static int fake_topk(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)state;
    (void)cancel;
    (void)err;
    for (int i = 0; i < req->k; i++) {
        char t[16];
        int n = snprintf(t, sizeof t, "t%d", i);
        ac__reply_add_top(rep, i, t, (size_t)n, -i);
    }
    return AC_OK;
}

static int fake_tokenize(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)state;
    (void)cancel;
    (void)err;
    int32_t *ids = malloc((req->text_len + 1) * sizeof *ids);
    if (!ids)
        return AC_E_NOMEM;
    for (size_t i = 0; i < req->text_len; i++)
        ids[i] = (unsigned char)req->text[i];
    int rc = ac__reply_set_tokens(rep, ids, req->text_len);
    free(ids);
    return rc;
}

static int fake_detokenize(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)state;
    (void)cancel;
    char *t = malloc(req->n_tokens + 1);
    if (!t)
        return AC_E_NOMEM;
    for (size_t i = 0; i < req->n_tokens; i++) {
        if (req->tokens[i] > 255) {
            free(t);
            return ac__errorf(err, AC_E_ARG, "token id %d is out of range", (int)req->tokens[i]);
        }
        t[i] = (char)req->tokens[i];
    }
    int rc = ac__reply_set_text(rep, t, req->n_tokens);
    free(t);
    return rc;
}

static int fake_learn(void *state, const ac_request *req, const atomic_int *cancel, ac_reply *rep, char *err)
{
    (void)cancel;
    (void)err;
    fake_state *s = state;
    pthread_mutex_lock(&s->mu);
    s->learned += (int)req->n_words;
    pthread_mutex_unlock(&s->mu);
    rep->learned = (int)req->n_words;
    return AC_OK;
}

static void fake_info(void *state, json_t *obj)
{
    fake_state *s = state;
    pthread_mutex_lock(&s->mu);
    int learned = s->learned;
    pthread_mutex_unlock(&s->mu);
    json_object_set_new(obj, "name", json_string("fake"));
    json_object_set_new(obj, "model_path", json_string(s->model_path));
    json_object_set_new(obj, "load_number", json_integer(s->load_number));
    json_object_set_new(obj, "learned", json_integer(learned));
}

static const ac_backend_ops fake_backend_ops = {
    .name = "fake",
    .load = fake_load,
    .free = fake_free,
    .describe = fake_describe,
    .complete = fake_complete,
    .correct = fake_correct,
    .topk = fake_topk,
    .tokenize = fake_tokenize,
    .detokenize = fake_detokenize,
    .learn = fake_learn,
    .info = fake_info,
};

#endif
