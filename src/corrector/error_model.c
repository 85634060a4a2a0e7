/* error_model.c: how likely a typed word is as a slip for an intended one. Holds the QWERTY
 * keyboard geometry, the plain edit distance (optimal string alignment) and the weighted one (the
 * channel model log P(typed | intended)). It does not search the dictionary (candidates.c) or
 * decide anything (correct.c).
 */
#include "corrector/corrector_internal.h"

#include <math.h>
#include <string.h>

ac_error_model ac_error_model_default(void)
{
    /* Natural-log probabilities, tuned by bench/tune_spelling.py on the development half of the
     * evaluation (codespell's misspellings and held-out sentences; the test half reports). */
    ac_error_model m = {
        .keep = -0.05f,
        .substitute = -8.5f,
        .substitute_near = -6.5f,
        .substitute_vowel = -6.5f,
        .insert = -7.5f,
        .insert_near = -6.0f,
        .omit = -4.5f,
        .omit_double = -3.0f,
        .transpose = -3.0f,
        .first_letter = -3.0f,
    };
    return m;
}

/* --- keyboard ---------------------------------------------------------------------------------- */

/* QWERTY rows and their horizontal offsets in key widths. */
static const char *const qwerty_rows[3] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
static const float qwerty_shift[3] = {0.0f, 0.25f, 0.75f};

static int key_pos(uint32_t c, int *row, float *x)
{
    if (c < 'a' || c > 'z')
        return 0;
    for (int r = 0; r < 3; r++) {
        const char *at = strchr(qwerty_rows[r], (int)c);
        if (at) {
            *row = r;
            *x = (float)(at - qwerty_rows[r]) + qwerty_shift[r];
            return 1;
        }
    }
    return 0;
}

int ac__keys_near(uint32_t a, uint32_t b)
{
    int ra, rb;
    float xa, xb;
    if (a == b || !key_pos(a, &ra, &xa) || !key_pos(b, &rb, &xb))
        return 0;
    float dx = fabsf(xa - xb);
    if (ra == rb)
        return dx <= 1.01f;
    if (ra - rb == 1 || rb - ra == 1)
        return dx <= 0.76f;
    return 0;
}

static int is_vowel(uint32_t c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* --- plain distance ---------------------------------------------------------------------------- */

int ac__osa_distance(const uint32_t *a, int na, const uint32_t *b, int nb, int max)
{
    if (na - nb > max || nb - na > max)
        return max + 1;
    if (na > AC__WORD_CP_MAX || nb > AC__WORD_CP_MAX)
        return max + 1;
    /* three rows of the DP table: d[i-2], d[i-1], d[i] over j = 0..nb */
    int rows[3][AC__WORD_CP_MAX + 1];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (int j = 0; j <= nb; j++)
        prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        int row_min = cur[0];
        for (int j = 1; j <= nb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        /* no cell can shrink in later rows below the row minimum minus one transposition look-back,
         * so stop when two rows in a row are all beyond max */
        if (row_min > max && i > 1) {
            int prev_min = prev[0];
            for (int j = 1; j <= nb; j++)
                if (prev[j] < prev_min)
                    prev_min = prev[j];
            if (prev_min > max)
                return max + 1;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb] > max ? max + 1 : prev[nb];
}

/* --- weighted distance: the channel model ------------------------------------------------------ */

float ac__channel_logp(const ac_error_model *m, const uint32_t *t, int nt, const uint32_t *c, int ni)
{
    if (nt > AC__WORD_CP_MAX || ni > AC__WORD_CP_MAX)
        return -INFINITY;
    if (nt == ni && !memcmp(t, c, sizeof *t * (size_t)nt))
        return m->keep;
    /* d[i][j]: best log-probability of typing t[0..j) when c[0..i) was meant; maximised. */
    float rows[3][AC__WORD_CP_MAX + 1];
    float *pp = rows[0], *prev = rows[1], *cur = rows[2];
    const float first = m->first_letter;
    prev[0] = 0.0f;
    for (int j = 1; j <= nt; j++) {
        /* extra typed letters before any intended one */
        uint32_t x = t[j - 1];
        int near = (j >= 2 && (t[j - 2] == x || ac__keys_near(t[j - 2], x))) ||
                   (j < nt && (t[j] == x || ac__keys_near(t[j], x)));
        prev[j] = prev[j - 1] + (near ? m->insert_near : m->insert) + (j == 1 ? first : 0.0f);
    }
    for (int i = 1; i <= ni; i++) {
        uint32_t y = c[i - 1];
        int dbl = (i >= 2 && c[i - 2] == y) || (i < ni && c[i] == y) || y == '\'' || y == '-';
        float omit = (dbl ? m->omit_double : m->omit) + (i == 1 ? first : 0.0f);
        cur[0] = prev[0] + omit;
        for (int j = 1; j <= nt; j++) {
            uint32_t x = t[j - 1];
            float v;
            /* substitution or match */
            if (x == y) {
                v = prev[j - 1];
            } else {
                float s = ac__keys_near(x, y) ? m->substitute_near
                          : (is_vowel(x) && is_vowel(y)) ? m->substitute_vowel : m->substitute;
                v = prev[j - 1] + s + (i == 1 ? first : 0.0f);
            }
            /* intended letter left out */
            float o = prev[j] + omit;
            if (o > v)
                v = o;
            /* extra typed letter */
            int near = (j >= 2 && (t[j - 2] == x || ac__keys_near(t[j - 2], x))) ||
                       (j < nt && (t[j] == x || ac__keys_near(t[j], x)));
            float in = cur[j - 1] + (near ? m->insert_near : m->insert) + (j == 1 ? first : 0.0f);
            if (in > v)
                v = in;
            /* transposition */
            if (i > 1 && j > 1 && y == t[j - 2] && c[i - 2] == x && x != y) {
                float tr = pp[j - 2] + m->transpose + (i == 2 ? first : 0.0f);
                if (tr > v)
                    v = tr;
            }
            cur[j] = v;
        }
        float *tmp = pp;
        pp = prev;
        prev = cur;
        cur = tmp;
    }
    return prev[nt];
}

/* --- public wrappers --------------------------------------------------------------------------- */

float ac_error_model_score(const ac_error_model *model, const char *typed, size_t typed_len,
                           const char *intended, size_t intended_len)
{
    uint32_t a[AC__WORD_CP_MAX], b[AC__WORD_CP_MAX];
    int na = ac__utf8_decode(typed, typed_len, a, AC__WORD_CP_MAX, 1);
    int nb = ac__utf8_decode(intended, intended_len, b, AC__WORD_CP_MAX, 1);
    if (na < 0 || nb < 0 || ac__osa_distance(a, na, b, nb, 2) > 2)
        return -INFINITY;
    return ac__channel_logp(model, a, na, b, nb);
}

int ac_edit_distance(const char *a, size_t a_len, const char *b, size_t b_len)
{
    uint32_t x[AC__WORD_CP_MAX], y[AC__WORD_CP_MAX];
    int nx = ac__utf8_decode(a, a_len, x, AC__WORD_CP_MAX, 1);
    int ny = ac__utf8_decode(b, b_len, y, AC__WORD_CP_MAX, 1);
    if (nx < 0 || ny < 0)
        return -1;
    return ac__osa_distance(x, nx, y, ny, AC__WORD_CP_MAX * 2);
}
