/* params.c: the decoder's defaults, names and result helpers (see include/autocorrect/decoder.h). */
#include "decoder/decoder_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ac_complete_params ac_complete_default_params(void)
{
    ac_complete_params p;
    memset(&p, 0, sizeof p);
    p.beam_width = 5;
    p.max_tokens = 4;
    p.stop = AC_STOP_PHRASE;
    p.length_penalty = 1.0f;
    p.min_score = -2.5f;
    p.deadline_ms = 0;
    p.order = AC_ORDER_SAVING;
    return p;
}

ac_complete_cache_params ac_complete_cache_default_params(void)
{
    ac_complete_cache_params p = {.n_contexts = 4, .max_beams = 8};
    return p;
}

void ac_complete_result_free(ac_complete_result *r)
{
    if (!r)
        return;
    free(r->store);
    memset(r, 0, sizeof *r);
}

static const char *const stop_names[AC__N_STOP] = {"word", "phrase", "line"};

const char *ac_stop_name(int stop)
{
    return stop >= 0 && stop < AC__N_STOP ? stop_names[stop] : NULL;
}

int ac_stop_from_name(const char *name)
{
    for (int i = 0; name && i < AC__N_STOP; i++)
        if (!strcmp(name, stop_names[i]))
            return i;
    return -1;
}
