/* reply.c: building and freeing ac_reply and ac_request (see backend.h). Memory only: no JSON, no I/O. */
#include "server/backend.h"

#include <stdlib.h>
#include <string.h>

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Makes room for one more element in *arr ([*n] used of [*cap]). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return AC_OK;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return AC_E_NOMEM;
    memset((char *)p + *cap * elem, 0, (c - *cap) * elem);
    *arr = p;
    *cap = c;
    return AC_OK;
}

int ac__reply_add_completion(ac_reply *r, const char *text, size_t len, double score, int n_tokens)
{
    if (grow((void **)&r->completions, &r->cap_completions, r->n_completions, sizeof *r->completions))
        return AC_E_NOMEM;
    ac_reply_completion *c = &r->completions[r->n_completions];
    memset(c, 0, sizeof *c);
    if (!(c->text = dup_bytes(text, len)))
        return AC_E_NOMEM;
    c->len = len;
    c->score = score;
    c->n_tokens = n_tokens;
    r->n_completions++;
    return AC_OK;
}

int ac__reply_add_completion_token(ac_reply *r, const char *text, size_t len, double logprob)
{
    if (!r->n_completions)
        return AC_E_ARG;
    ac_reply_completion *c = &r->completions[r->n_completions - 1];
    if (grow((void **)&c->tokens, &c->cap_logprobs, c->n_logprobs, sizeof *c->tokens))
        return AC_E_NOMEM;
    ac_reply_token *t = &c->tokens[c->n_logprobs];
    if (!(t->text = dup_bytes(text, len)))
        return AC_E_NOMEM;
    t->len = len;
    t->logprob = logprob;
    c->n_logprobs++;
    return AC_OK;
}

int ac__reply_add_correction(ac_reply *r, size_t start, size_t end, const char *original, size_t original_len,
                             const char *replacement, size_t replacement_len, double score)
{
    if (grow((void **)&r->corrections, &r->cap_corrections, r->n_corrections, sizeof *r->corrections))
        return AC_E_NOMEM;
    ac_reply_correction *c = &r->corrections[r->n_corrections];
    memset(c, 0, sizeof *c);
    c->original = dup_bytes(original, original_len);
    c->replacement = dup_bytes(replacement, replacement_len);
    if (!c->original || !c->replacement) {
        free(c->original);
        free(c->replacement);
        return AC_E_NOMEM;
    }
    c->start = start;
    c->end = end;
    c->score = score;
    r->n_corrections++;
    return AC_OK;
}

int ac__reply_add_candidate(ac_reply *r, const char *text, size_t len, double score)
{
    if (!r->n_corrections)
        return AC_E_ARG;
    ac_reply_correction *c = &r->corrections[r->n_corrections - 1];
    if (c->n_candidates == AC_REPLY_CANDIDATES)
        return AC_OK;
    if (!(c->candidates[c->n_candidates] = dup_bytes(text, len)))
        return AC_E_NOMEM;
    c->candidate_scores[c->n_candidates++] = score;
    return AC_OK;
}

int ac__reply_add_top(ac_reply *r, int32_t id, const char *text, size_t len, double logprob)
{
    if (grow((void **)&r->top, &r->cap_top, r->n_top, sizeof *r->top))
        return AC_E_NOMEM;
    ac_reply_top *t = &r->top[r->n_top];
    if (!(t->text = dup_bytes(text, len)))
        return AC_E_NOMEM;
    t->id = id;
    t->len = len;
    t->logprob = logprob;
    r->n_top++;
    return AC_OK;
}

int ac__reply_set_tokens(ac_reply *r, const int32_t *ids, size_t n)
{
    int32_t *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return AC_E_NOMEM;
    if (n)
        memcpy(t, ids, n * sizeof *t);
    free(r->tokens);
    r->tokens = t;
    r->n_tokens = n;
    return AC_OK;
}

int ac__reply_set_text(ac_reply *r, const char *text, size_t len)
{
    char *t = dup_bytes(text, len);
    if (!t)
        return AC_E_NOMEM;
    free(r->text);
    r->text = t;
    r->text_len = len;
    return AC_OK;
}

void ac__reply_free(ac_reply *r)
{
    for (size_t i = 0; i < r->n_completions; i++) {
        ac_reply_completion *c = &r->completions[i];
        free(c->text);
        for (size_t k = 0; k < c->n_logprobs; k++)
            free(c->tokens[k].text);
        free(c->tokens);
    }
    free(r->completions);
    for (size_t i = 0; i < r->n_corrections; i++) {
        free(r->corrections[i].original);
        free(r->corrections[i].replacement);
        for (int k = 0; k < r->corrections[i].n_candidates; k++)
            free(r->corrections[i].candidates[k]);
    }
    free(r->corrections);
    for (size_t i = 0; i < r->n_top; i++)
        free(r->top[i].text);
    free(r->top);
    free(r->tokens);
    free(r->text);
    memset(r, 0, sizeof *r);
}

void ac__request_free(ac_request *req)
{
    json_decref(req->id);
    json_decref(req->target);
    free(req->before);
    free(req->after);
    free(req->text);
    free(req->tokens);
    for (size_t i = 0; i < req->n_words; i++)
        free(req->words[i]);
    free(req->words);
    for (int i = 0; i < req->n_stop; i++)
        free(req->stop[i]);
    memset(req, 0, sizeof *req);
}
