/* correct.c: the noisy-channel decision. For each word of a text in scope it gathers candidates
 * from the dictionary's candidate search (or the confusion sets, for a real word), scores them with
 * the error model plus a language score (dictionary frequency, or the caller's context scorer), and
 * reports the words where a candidate beats keeping the word. Also applies corrections to a text.
 * Not here: the dictionary's storage (dict.c), the candidate search (candidates.c), the language
 * model (the decoder module's scorer, src/decoder/correct_lm.c).
 */
#include "corrector/corrector_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define TOP_MAX 32              /* candidates kept from the search before the final cut */
#define USER_WORD_COUNT 100.0   /* the corpus count a user word is given as a candidate */
#define CONFUSION_LOGP -6.0f    /* log P(typed | intended) floor for confusion-set words */
#define SHORT_WORD 3            /* words this short get candidates within 1 edit only (2 edits reach
                                   too many words; measured on the dev half) */

ac_correct_params ac_correct_default_params(void)
{
    /* The error model and the dictionary-only values were tuned by bench/tune_spelling.py on the
     * evaluation's dev half; the language-model ones the same way with the default model (4 layers,
     * d256) at validation perplexity ~150. */
    ac_correct_params p = {
        .scope = AC_CORRECT_ALL,
        .last_words = 1,
        .max_distance = 2,
        .max_candidates = 5,
        .lm_candidates = 4,
        .right_words = 1,
        .unigram_weight = 1.0f,
        .lm_weight = 1.75f,
        .lm_unigram_weight = -0.75f,
        .unknown_logp = -21.0f,
        .unknown_penalty = -5.5f,
        .real_word_margin = 2.0f,
        .capital_keep = 6.5f,
        .min_posterior = 0.0f,
        .lm_skip_posterior = 0.94f,
        .dictionary_veto = 1,
        .error_model = ac_error_model_default(),
        .scorer = {NULL, NULL},
    };
    return p;
}

static int check_params(const ac_correct_params *p, char *err)
{
    if (p->scope != AC_CORRECT_ALL && p->scope != AC_CORRECT_LAST)
        return ac__errorf(err, AC_E_ARG, "scope must be AC_CORRECT_ALL or AC_CORRECT_LAST");
    if (p->scope == AC_CORRECT_LAST && p->last_words < 1)
        return ac__errorf(err, AC_E_ARG, "last_words must be >= 1");
    if (p->max_distance < 1 || p->max_distance > 2)
        return ac__errorf(err, AC_E_ARG, "max_distance must be 1 or 2");
    if (p->max_candidates < 1 || p->max_candidates > AC_CORRECT_MAX_CANDIDATES)
        return ac__errorf(err, AC_E_ARG, "max_candidates must be 1..%d", AC_CORRECT_MAX_CANDIDATES);
    if (p->lm_candidates < 1 || p->lm_candidates > TOP_MAX)
        return ac__errorf(err, AC_E_ARG, "lm_candidates must be 1..%d", TOP_MAX);
    if (p->right_words < 0 || p->right_words > 16)
        return ac__errorf(err, AC_E_ARG, "right_words must be 0..16");
    return AC_OK;
}

/* --- candidates -------------------------------------------------------------------------------- */

typedef struct cand {
    long id;            /* dictionary word id, or -1 - (user list index) */
    int distance;
    float channel;      /* log P(typed | cand) */
    float unigram;      /* log P(cand) from counts */
    float rank;         /* channel + weight * unigram: the order before any context */
    float language;     /* the language score used in the final score */
    float score;
    char text[AC_WORD_MAX + 8];
} cand;

typedef struct collector {
    const ac_dict *d;
    const ac_correct_params *p;
    const uint32_t *typed;
    int nt;
    long exclude;       /* the typed word's own id when it is known */
    cand top[TOP_MAX];
    int n, cap;
} collector;

static void offer(collector *c, long id, int distance, const uint32_t *key, int klen, double count)
{
    float ch = ac__channel_logp(&c->p->error_model, c->typed, c->nt, key, klen);
    float uni = (float)(log(count + 0.5) - c->d->log_total);
    float rank = ch + c->p->unigram_weight * uni;
    if (c->n == c->cap && rank <= c->top[c->n - 1].rank)
        return;
    int i = c->n < c->cap ? c->n++ : c->n - 1;
    while (i > 0 && c->top[i - 1].rank < rank) {
        c->top[i] = c->top[i - 1];
        i--;
    }
    cand *x = &c->top[i];
    x->id = id;
    x->distance = distance;
    x->channel = ch;
    x->unigram = uni;
    x->rank = rank;
}

static void found_fn(void *user, uint32_t id, int distance, const uint32_t *key, int key_len)
{
    collector *c = user;
    if ((long)id == c->exclude)
        return;
    offer(c, (long)id, distance, key, key_len, (double)c->d->words[id].count);
}

/* Writes the display form of a candidate, capitalised like the typed word, plus a suffix. */
static void display(const char *word, int title, const char *suffix, size_t suffix_len, char *out, size_t cap)
{
    uint32_t cp[AC__WORD_CP_MAX];
    int n = ac__utf8_decode(word, strlen(word), cp, AC__WORD_CP_MAX, 0);
    if (n <= 0) {
        out[0] = 0;
        return;
    }
    if (title)
        cp[0] = (uint32_t)utf8proc_toupper((utf8proc_int32_t)cp[0]);
    int len = ac__utf8_encode(cp, n, out, cap);
    if (len < 0 || (size_t)len + suffix_len + 1 > cap) {
        out[0] = 0;
        return;
    }
    memcpy(out + len, suffix, suffix_len);
    out[(size_t)len + suffix_len] = 0;
}

/* The id of the word spelled like cp[n] without its diacritics, or -1 (also when it has none). */
static long find_without_accents(const ac_dict *d, const uint32_t *cp, int n)
{
    int ascii = 1;
    for (int i = 0; i < n; i++)
        ascii &= cp[i] < 0x80;
    if (ascii)
        return -1;
    uint32_t out[AC__WORD_CP_MAX];
    int m = 0;
    for (int i = 0; i < n; i++) {
        utf8proc_int32_t dec[8];
        int last;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)cp[i], dec, 8,
                                                     UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK, &last);
        if (k < 0 || k > 8)
            return -1;
        for (utf8proc_ssize_t j = 0; j < k; j++) {
            if (m == AC__WORD_CP_MAX)
                return -1;
            out[m++] = (uint32_t)dec[j];
        }
    }
    return ac__dict_find(d, out, m);
}

/* 1 when s[n] holds a letter or digit (ASCII) or any non-ASCII byte. */
static int has_word_char(const char *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9'))
            return 1;
    }
    return 0;
}

/* --- one word ---------------------------------------------------------------------------------- */

typedef struct verdict {
    int n;              /* candidates in out */
    int correct;        /* 1: replace the word with out[0] */
    int real_word;      /* the typed word is in the dictionary */
} verdict;

/* Ranks the candidates for one word. decide = 1 (ac_correct_text): known words outside the
 * confusion sets (or without a scorer) get no candidates, and the verdict says whether to correct.
 * decide = 0 (ac_correct_word): candidates for any eligible word. */
static int rank_word(const ac_dict *d, const ac_correct_params *p, const char *left, size_t left_len,
                     const char *word, size_t wlen, const char *right, size_t right_len, int decide,
                     ac_candidate *out, int max_out, verdict *v, char *err)
{
    memset(v, 0, sizeof *v);
    uint32_t cp[AC__WORD_CP_MAX], raw[AC__WORD_CP_MAX];
    int n = ac__utf8_decode(word, wlen, cp, AC__WORD_CP_MAX, 1);
    if (n < 2 || ac__utf8_decode(word, wlen, raw, AC__WORD_CP_MAX, 0) != n)
        return 0;
    int shape = ac__case_shape(raw, n);
    if (shape != AC__CASE_LOWER && shape != AC__CASE_TITLE)
        return 0;
    int title = shape == AC__CASE_TITLE;
    /* the language model only when there is context: alone, a word's LM probability is that of a
     * document's first word, a worse guess than the dictionary's frequency */
    int have_scorer = p->scorer.score != NULL && (has_word_char(left, left_len) || has_word_char(right, right_len));

    /* a possessive of an unknown word: correct the stem, keep the suffix */
    int nstem = n;
    size_t suffix_off = wlen;
    long id = ac__dict_find(d, cp, n);
    if (id < 0 && n > 3 && cp[n - 2] == '\'' && cp[n - 1] == 's') {
        long stem = ac__dict_find(d, cp, n - 2);
        if (stem >= 0) {
            id = stem;  /* WORD's with WORD known: a known word */
        } else {
            nstem = n - 2;
            suffix_off = wlen - (raw[n - 2] == 0x2019 ? 4 : 2);  /* ’ is 3 bytes in UTF-8 */
        }
    }
    if (id < 0)
        id = find_without_accents(d, cp, n);  /* "naïve" where the dictionary has "naive" */
    int known = id >= 0;
    /* an unknown Capitalised word inside a sentence is likely a name */
    float keep_bonus = (!known && title && !ac__sentence_start(left ? left : "", left_len)) ? p->capital_keep : 0.0f;
    char lower[AC_WORD_MAX * 2 + 8];
    if (known && decide && !have_scorer)
        return 0;
    const char *conf[8];
    int n_conf = 0;
    if (known && have_scorer) {
        if (ac__utf8_encode(cp, n, lower, sizeof lower) >= 0)
            n_conf = ac__confusables(lower, conf, 8);
        if (decide && n_conf == 0)
            return 0;
    }
    if (ac__utf8_encode(cp, n, lower, sizeof lower) < 0 || ac__dict_is_user(d, lower))
        return 0;  /* user words are never corrected */
    v->real_word = known;

    collector c;
    c.d = d;
    c.p = p;
    c.typed = cp;
    c.nt = nstem;
    c.exclude = known ? id : -1;
    c.n = 0;
    c.cap = have_scorer && p->lm_candidates > p->max_candidates ? p->lm_candidates : p->max_candidates;
    if (c.cap > TOP_MAX)
        c.cap = TOP_MAX;
    if (known && decide) {
        /* a real word: only its confusion set competes */
        for (int i = 0; i < n_conf; i++) {
            uint32_t k[AC__WORD_CP_MAX];
            int kn = ac__utf8_decode(conf[i], strlen(conf[i]), k, AC__WORD_CP_MAX, 1);
            long cid = kn > 0 ? ac__dict_find(d, k, kn) : -1;
            if (cid < 0)
                continue;
            offer(&c, cid, ac__osa_distance(cp, n, k, kn, 8), k, kn, (double)d->words[cid].count);
        }
        for (int i = 0; i < c.n; i++) {
            if (c.top[i].channel < CONFUSION_LOGP) {
                c.top[i].rank += CONFUSION_LOGP - c.top[i].channel;
                c.top[i].channel = CONFUSION_LOGP;
            }
        }
    } else {
        int maxd = nstem <= SHORT_WORD ? 1 : p->max_distance;
        ac__candidates_find(d, cp, nstem, maxd, found_fn, &c);
        /* user words as candidates (a short list, scanned) */
        ac_dict *md = (ac_dict *)d;
        pthread_rwlock_rdlock(&md->user_lock);
        for (size_t u = 0; u < d->n_user_list; u++) {
            uint32_t k[AC__WORD_CP_MAX];
            const char *uw = d->user_list[u];
            int kn = ac__utf8_decode(uw, strlen(uw), k, AC__WORD_CP_MAX, 1);
            if (kn <= 0 || ac__dict_find(d, k, kn) >= 0)
                continue;  /* a dictionary word is found by the index already */
            int dist = ac__osa_distance(cp, nstem, k, kn, maxd);
            if (dist >= 1 && dist <= maxd)
                offer(&c, -1 - (long)u, dist, k, kn, USER_WORD_COUNT);
        }
        for (int i = 0; i < c.n; i++)
            if (c.top[i].id < 0)
                display(d->user_list[-1 - c.top[i].id], title, word + suffix_off, wlen - suffix_off,
                        c.top[i].text, sizeof c.top[i].text);
        pthread_rwlock_unlock(&md->user_lock);
    }
    if (c.n == 0)
        return 0;
    for (int i = 0; i < c.n; i++)
        if (c.top[i].id >= 0)
            display(ac__word_text(d, (size_t)c.top[i].id), title, word + suffix_off, wlen - suffix_off,
                    c.top[i].text, sizeof c.top[i].text);

    /* scores: the dictionary's first; the context scorer's when the dictionary is not sure */
    float keep_lang = known ? (float)(log((double)d->words[id].count + 0.5) - d->log_total) : p->unknown_logp;
    float keep = p->error_model.keep + p->unigram_weight * keep_lang + keep_bonus;
    int scored = 0;
    int dict_says_fix = c.top[0].rank > keep;  /* the dictionary-only verdict, for dictionary_veto */
    if (have_scorer && !known && p->lm_skip_posterior < 1.0f) {
        double mx = keep > c.top[0].rank ? keep : c.top[0].rank, sum = exp(keep - mx);
        for (int i = 0; i < c.n; i++)
            sum += exp(c.top[i].rank - mx);
        if (exp(c.top[0].rank - mx) / sum >= p->lm_skip_posterior)
            have_scorer = 0;  /* a clear non-word misspelling: the dictionary decides */
    }
    if (have_scorer) {
        if (c.n > p->lm_candidates)
            c.n = p->lm_candidates;  /* only these get a language score */
        char typed[AC_WORD_MAX + 8];
        size_t tl = wlen < sizeof typed - 1 ? wlen : sizeof typed - 1;
        memcpy(typed, word, tl);
        typed[tl] = 0;
        const char *opts[TOP_MAX + 1];
        float lp[TOP_MAX + 1];
        opts[0] = typed;
        for (int i = 0; i < c.n; i++)
            opts[i + 1] = c.top[i].text;
        char serr[AC_ERR_SIZE];
        if (p->scorer.score(p->scorer.user, left ? left : "", left_len, right ? right : "", right_len,
                            opts, c.n + 1, lp, serr) == AC_OK) {
            scored = 1;
            keep = p->error_model.keep + p->lm_weight * lp[0] + p->lm_unigram_weight * keep_lang +
                   (known ? p->real_word_margin : p->unknown_penalty) + keep_bonus;
            for (int i = 0; i < c.n; i++) {
                c.top[i].language = p->lm_weight * lp[i + 1] + p->lm_unigram_weight * c.top[i].unigram;
                c.top[i].score = c.top[i].channel + c.top[i].language;
            }
        }
    }
    if (!scored) {
        for (int i = 0; i < c.n; i++) {
            c.top[i].language = p->unigram_weight * c.top[i].unigram;
            c.top[i].score = c.top[i].rank;
        }
    }
    (void)err;
    /* order by final score, then normalise into log posteriors (keep included) */
    for (int i = 1; i < c.n; i++) {
        cand x = c.top[i];
        int j = i;
        while (j > 0 && c.top[j - 1].score < x.score) {
            c.top[j] = c.top[j - 1];
            j--;
        }
        c.top[j] = x;
    }
    double mx = keep > c.top[0].score ? keep : c.top[0].score;
    double sum = exp(keep - mx);
    for (int i = 0; i < c.n; i++)
        sum += exp(c.top[i].score - mx);
    double lse = mx + log(sum);
    int m = c.n < max_out ? c.n : max_out;
    if (m > p->max_candidates)
        m = p->max_candidates;
    for (int i = 0; i < m; i++) {
        ac_candidate *o = &out[i];
        memcpy(o->text, c.top[i].text, sizeof o->text);
        o->score = (float)(c.top[i].score - lse);
        o->channel = c.top[i].channel;
        o->language = c.top[i].language;
        o->distance = c.top[i].distance;
    }
    v->n = m;
    v->correct = m > 0 && c.top[0].score > keep && out[0].text[0] && (known || !p->dictionary_veto || dict_says_fix) &&
                 exp(out[0].score) >= p->min_posterior;
    return m;
}

int ac_correct_word(const ac_dict *dict, const char *left, size_t left_len, const char *word,
                    size_t word_len, const char *right, size_t right_len,
                    const ac_correct_params *params, ac_candidate *out, int max_out, char *err)
{
    if (!dict || !word || !params || (!out && max_out > 0))
        return ac__errorf(err, AC_E_ARG, "ac_correct_word: NULL argument");
    int rc = check_params(params, err);
    if (rc)
        return rc;
    if (word_len > AC_WORD_MAX || !ac__utf8_valid(word, word_len))
        return 0;
    verdict v;
    return rank_word(dict, params, left, left_len, word, word_len, right, right_len, 0, out, max_out, &v, err);
}

/* --- a whole text ------------------------------------------------------------------------------ */

typedef struct span_list {
    ac__span *v;
    size_t n, cap;
} span_list;

static int push_span(void *user, const ac__span *s)
{
    span_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ac__span *v = realloc(l->v, sizeof *v * cap);
        if (!v)
            return AC_E_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *s;
    return 0;
}

int ac_correct_text(const ac_dict *dict, const char *text, size_t len, const ac_correct_params *p,
                    ac_correction *out, int max_out, int *n_out, char *err)
{
    if (n_out)
        *n_out = 0;
    if (!dict || (!text && len) || !p || !n_out || (!out && max_out > 0))
        return ac__errorf(err, AC_E_ARG, "ac_correct_text: NULL argument");
    int rc = check_params(p, err);
    if (rc)
        return rc;
    if (!ac__utf8_valid(text, len))
        return ac__errorf(err, AC_E_FORMAT, "text is not valid UTF-8");
    span_list spans = {0};
    rc = ac__words_scan(text, len, p->scope == AC_CORRECT_ALL, push_span, &spans);
    if (rc) {
        free(spans.v);
        return ac__errorf(err, rc == AC_E_NOMEM ? AC_E_NOMEM : AC_E_FORMAT, "cannot split the text into words");
    }
    size_t first = 0;
    if (p->scope == AC_CORRECT_LAST) {
        /* the last `last_words` complete words */
        size_t end = spans.n;
        while (end > 0 && !spans.v[end - 1].complete)
            end--;
        first = end > (size_t)p->last_words ? end - (size_t)p->last_words : 0;
        spans.n = end;
    }
    int have_scorer = p->scorer.score != NULL;
    ac_buf left = {0};
    size_t copied = 0;  /* text[0..copied) is in `left`, corrected */
    int n = 0;
    rc = AC_OK;
    for (size_t i = first; i < spans.n && n < max_out; i++) {
        const ac__span *s = &spans.v[i];
        if (!s->eligible)
            continue;
        size_t right_end = s->end;
        if (have_scorer && p->right_words > 0) {
            size_t k = i + 1;
            for (int w = 0; w < p->right_words && k < spans.n; w++, k++)
                right_end = spans.v[k].end;
        }
        if (have_scorer && (rc = ac_buf_append(&left, text + copied, s->start - copied)) != AC_OK)
            break;
        if (have_scorer)
            copied = s->start;
        verdict v;
        ac_correction *c = &out[n];
        /* the left context: corrected so far for the scorer, the original text otherwise */
        const char *lt = have_scorer ? (left.data ? left.data : "") : text;
        size_t ll = have_scorer ? left.len : s->start;
        int m = rank_word(dict, p, lt, ll, text + s->start, s->end - s->start,
                          text + s->end, right_end - s->end, 1, c->candidates, AC_CORRECT_MAX_CANDIDATES, &v, err);
        if (m > 0 && v.correct) {
            c->start = s->start;
            c->end = s->end;
            memcpy(c->original, text + s->start, s->end - s->start);
            c->original[s->end - s->start] = 0;
            memcpy(c->replacement, c->candidates[0].text, sizeof c->replacement);
            c->score = c->candidates[0].score;
            c->real_word = v.real_word;
            c->n_candidates = m;
            n++;
            if (have_scorer && (rc = ac_buf_append(&left, c->replacement, strlen(c->replacement))) != AC_OK)
                break;
            if (have_scorer)
                copied = s->end;
        }
    }
    ac_buf_free(&left);
    free(spans.v);
    if (rc)
        return ac__errorf(err, rc, "out of memory correcting text");
    *n_out = n;
    return AC_OK;
}

int ac_correct_last_word(const ac_dict *dict, const char *text, size_t len, const ac_correct_params *params,
                         float min_posterior, ac_correction *fix, char *err)
{
    if (!params || !fix)
        return ac__errorf(err, AC_E_ARG, "ac_correct_last_word: NULL argument");
    ac_correct_params p = *params;
    p.scope = AC_CORRECT_LAST;
    p.last_words = 1;
    int n = 0;
    int rc = ac_correct_text(dict, text, len, &p, fix, 1, &n, err);
    if (rc)
        return rc;
    return n == 1 && exp(fix->score) >= min_posterior ? 1 : 0;
}

int ac_correct_apply(const char *text, size_t len, const ac_correction *c, int n, ac_buf *out)
{
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].start < pos || c[i].end < c[i].start || c[i].end > len)
            return AC_E_ARG;
        if (ac_buf_append(out, text + pos, c[i].start - pos) || ac_buf_append(out, c[i].replacement, strlen(c[i].replacement)))
            return AC_E_NOMEM;
        pos = c[i].end;
    }
    if (ac_buf_append(out, text + pos, len - pos))
        return AC_E_NOMEM;
    return AC_OK;
}
