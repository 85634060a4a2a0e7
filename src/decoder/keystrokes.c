/* keystrokes.c: the simulated user behind bench/eval_keystrokes: how many keystrokes typing a text
 * takes when completions are shown and accepting one costs a keystroke. The user's rules are in
 * decoder_internal.h (ac__keystroke_sim); this file neither loads models nor reads files.
 */
#include "decoder/decoder_internal.h"

#include <string.h>

/* Code points in s[0..n) (a byte that does not start a character counts as one). */
static long count_chars(const char *s, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            c++;
    return c;
}

/* Bytes of the character starting at s[0] (1 for a byte that does not start one). */
static size_t char_bytes(const char *s, size_t n)
{
    size_t k = 1;
    while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80 && k < 4)
        k++;
    return k;
}

int ac__keystroke_sim(const char *target, size_t len, int shown, ac__suggest_fn suggest, void *ctx,
                      ac__ks_stats *st, char *err)
{
    if (shown < 1 || shown > AC_COMPLETE_MAX_BEAMS)
        return ac__errorf(err, AC_E_ARG, "shown %d is outside 1..%d", shown, AC_COMPLETE_MAX_BEAMS);
    const char *texts[AC_COMPLETE_MAX_BEAMS];
    size_t lens[AC_COMPLETE_MAX_BEAMS];
    st->chars += count_chars(target, len);
    size_t pos = 0;
    while (pos < len) {
        int n = suggest(ctx, target, pos, shown, texts, lens, err);
        if (n < 0)
            return n;
        st->requests++;
        if (n > 0)
            st->nonempty++;
        size_t best = 0;
        for (int i = 0; i < n && i < shown; i++)
            if (lens[i] > best && lens[i] <= len - pos && memcmp(texts[i], target + pos, lens[i]) == 0)
                best = lens[i];
        st->keystrokes++;
        if (best) {
            st->accepts++;
            st->accepted_chars += count_chars(target + pos, best);
            pos += best;
        } else {
            pos += char_bytes(target + pos, len - pos);
        }
    }
    return AC_OK;
}
