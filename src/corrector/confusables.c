/* confusables.c: sets of real words that people type for one another (their/there/they're,
 * form/from, than/then). A dictionary word is considered for a real-word correction only when it
 * is in one of these sets, and only with a language model (correct.c requires a clear margin).
 * This is a list, not a model: the language model decides in context.
 */
#include "corrector/corrector_internal.h"

#include <string.h>

/* Each row: up to 3 words, every one confusable with the others of its row. */
static const char *const sets[][3] = {
    {"their", "there", "they're"}, {"its", "it's", NULL},       {"your", "you're", NULL},
    {"whose", "who's", NULL},      {"than", "then", NULL},      {"form", "from", NULL},
    {"to", "too", NULL},           {"of", "off", NULL},         {"were", "where", "we're"},
    {"lose", "loose", NULL},       {"affect", "effect", NULL},  {"accept", "except", NULL},
    {"advice", "advise", NULL},    {"quite", "quiet", NULL},    {"weather", "whether", NULL},
    {"principal", "principle", NULL}, {"complement", "compliment", NULL},
    {"stationary", "stationery", NULL}, {"desert", "dessert", NULL}, {"breath", "breathe", NULL},
    {"cloth", "clothe", NULL},     {"peace", "piece", NULL},    {"brake", "break", NULL},
    {"hear", "here", NULL},        {"new", "knew", NULL},       {"week", "weak", NULL},
    {"buy", "by", NULL},           {"later", "latter", NULL},   {"lead", "led", NULL},
    {"passed", "past", NULL},      {"site", "sight", NULL},     {"casual", "causal", NULL},
    {"dose", "does", NULL},        {"though", "through", "thought"}, {"an", "and", NULL},
    {"wander", "wonder", NULL},    {"whole", "hole", NULL},     {"witch", "which", NULL},
    {"angel", "angle", NULL},      {"bare", "bear", NULL},      {"chose", "choose", NULL},
    {"lightening", "lightning", NULL}, {"personal", "personnel", NULL},
    {"envelop", "envelope", NULL}, {"device", "devise", NULL},  {"ascent", "assent", NULL},
    {"now", "know", NULL},         {"lose", "lost", NULL},      {"won", "own", NULL},
};

int ac__confusables(const char *word, const char **out, int max)
{
    int n = 0;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        int member = 0;
        for (int k = 0; k < 3 && sets[s][k]; k++)
            member |= !strcmp(sets[s][k], word);
        if (!member)
            continue;
        for (int k = 0; k < 3 && sets[s][k]; k++) {
            if (!strcmp(sets[s][k], word))
                continue;
            int dup = 0;
            for (int i = 0; i < n; i++)
                dup |= !strcmp(out[i], sets[s][k]);
            if (!dup && n < max)
                out[n++] = sets[s][k];
        }
    }
    return n;
}
