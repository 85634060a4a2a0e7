/* confusables.c: real words that people type for one another (their/there/they're, form/from,
 * than/then). A dictionary word is considered for a real-word correction only when it is listed
 * here as typed, and only with a language model (correct.c requires a clear margin). This is a
 * list, not a model: the language model decides in context.
 *
 * Every listed typed word costs a language-model call wherever it appears, so very frequent words
 * are listed as typed only when the slip is common and the word is not among the most frequent of
 * English (to/too, of/off, an/and, by/buy are left out: about 9% of all words). Some pairs are one
 * way: "form" is checked for "from", but "from" (seven times as frequent) is not checked for "form".
 */
#include "corrector/corrector_internal.h"

#include <string.h>

/* Each row: a typed word and up to 2 words it may stand for. */
static const char *const sets[][3] = {
    {"their", "there", "they're"}, {"there", "their", "they're"}, {"they're", "their", "there"},
    {"its", "it's", NULL},         {"it's", "its", NULL},
    {"your", "you're", NULL},      {"you're", "your", NULL},
    {"whose", "who's", NULL},      {"who's", "whose", NULL},
    {"than", "then", NULL},        {"then", "than", NULL},
    {"form", "from", NULL},
    {"were", "where", "we're"},    {"where", "were", NULL},       {"we're", "were", NULL},
    {"lose", "loose", NULL},       {"loose", "lose", NULL},
    {"affect", "effect", NULL},    {"effect", "affect", NULL},
    {"accept", "except", NULL},    {"except", "accept", NULL},
    {"advice", "advise", NULL},    {"advise", "advice", NULL},
    {"quite", "quiet", NULL},      {"quiet", "quite", NULL},
    {"weather", "whether", NULL},  {"whether", "weather", NULL},
    {"wether", "whether", "weather"}, /* one way: the ram is rare (once in the corpus) */
    {"principal", "principle", NULL}, {"principle", "principal", NULL},
    {"complement", "compliment", NULL}, {"compliment", "complement", NULL},
    {"stationary", "stationery", NULL}, {"stationery", "stationary", NULL},
    {"desert", "dessert", NULL},   {"dessert", "desert", NULL},
    {"breath", "breathe", NULL},   {"breathe", "breath", NULL},
    {"peace", "piece", NULL},      {"piece", "peace", NULL},
    {"brake", "break", NULL},      {"break", "brake", NULL},
    {"hear", "here", NULL},        {"here", "hear", NULL},
    {"later", "latter", NULL},     {"latter", "later", NULL},
    {"lead", "led", NULL},
    {"passed", "past", NULL},      {"past", "passed", NULL},
    {"sight", "site", "cite"},     {"site", "sight", "cite"},
    {"casual", "causal", NULL},    {"causal", "casual", NULL},
    {"dose", "does", NULL},
    {"though", "through", "thought"}, {"through", "though", "threw"}, {"thought", "though", NULL},
    {"threw", "through", NULL},
    {"wander", "wonder", NULL},    {"wonder", "wander", NULL},
    {"hole", "whole", NULL},
    {"witch", "which", NULL},
    {"angel", "angle", NULL},      {"angle", "angel", NULL},
    {"chose", "choose", NULL},     {"choose", "chose", NULL},
    {"lightening", "lightning", NULL},
    {"personal", "personnel", NULL}, {"personnel", "personal", NULL},
    {"devise", "device", NULL},
    {"loosing", "losing", NULL},
};

int ac__confusables(const char *word, const char **out, int max)
{
    int n = 0;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        if (strcmp(sets[s][0], word))
            continue;
        for (int k = 1; k < 3 && sets[s][k] && n < max; k++)
            out[n++] = sets[s][k];
    }
    return n;
}
