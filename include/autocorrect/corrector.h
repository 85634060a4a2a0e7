/* autocorrect/corrector.h: the spelling corrector. Finds likely misspellings in text and ranks
 * corrections with a noisy-channel model: an error model (how likely the typed word is as a slip for
 * a candidate, with a QWERTY keyboard layout) plus a language score for the candidate, either the
 * dictionary's word frequency (no model) or a language model in context (a scorer callback; the one
 * that runs the engine is ac_lm_scorer in the decoder module, declared at the end of this header).
 *
 * Usage (error handling shortened):
 *
 *     char err[AC_ERR_SIZE];
 *     ac_dict *dict;
 *     if (ac_dict_load("models/default/dictionary.tsv", &dict, err)) { fprintf(stderr, "%s\n", err); ... }
 *     ac_dict_user_load(dict, NULL, err);            // ~/.local/share/autocorrect/user-dictionary.txt
 *     ac_correct_params p = ac_correct_default_params();
 *     ac_correction fixes[16];
 *     int n;
 *     ac_correct_text(dict, "I saw teh cat", 13, &p, fixes, 16, &n, err);
 *     // fixes[0]: start 6, end 9, "teh" -> "the", candidates best first
 *     ac_buf out = {0};
 *     ac_correct_apply("I saw teh cat", 13, fixes, n, &out);   // "I saw the cat"
 *
 * Words. A word is a run of letters with inner apostrophes ("don't"); hyphens and dashes split
 * words. Never touched: tokens with digits, URLs, e-mail addresses, code-like tokens (with any of
 * _ / \ = < > { } [ ] | ~ ^ $ # % & * + ` @ or an inner dot), a word right after a dot (".exe")
 * or before a parenthesis ("size("), ALL-CAPS words, words with inner capitals (iPhone), single
 * letters, words in the user's dictionary, words that differ from a dictionary word only in
 * accents ("naïve"). Capitalisation of the original is kept (Teh -> The; a proper noun keeps its
 * own: englsh -> English). All offsets are BYTE offsets into the caller's text, which must be UTF-8.
 *
 * Decision. For each eligible word the options are "keep it" and the best candidates (by error
 * model and word frequency) within max_distance edits (Damerau-Levenshtein, optimal string
 * alignment, over code points; 1 edit for words of 3 letters or less) of a dictionary word, found
 * by walking the dictionary's sorted words as a trie. Each option gets
 *     score = log P(typed | option) + weight * log P(option | context)
 * where P(option | context) is the dictionary's unigram frequency, or with a context scorer the
 * language model's probability in context (plus lm_unigram_weight * the unigram one) for the
 * lm_candidates best candidates. "Keep" gets log P(typed correctly) plus the language score of
 * the typed word: unknown_logp for a word missing from the dictionary (or with a scorer, its
 * probability plus unknown_penalty), plus capital_keep for an unknown Capitalised word inside a
 * sentence (likely a name). A word not in the dictionary is corrected when a candidate beats
 * keeping it. A dictionary word is considered for a real-word correction (their/there, form/from,
 * than/then...: a fixed list of confusion sets) only with a context scorer, and only when the best
 * alternative wins by real_word_margin. A word with no other word around it is ranked by the
 * dictionary even with a scorer. The reported score of an option is its log posterior among the
 * options (softmax of the scores, keep included), so it is <= 0.
 *
 * Thread safety: a loaded ac_dict may be queried from many threads at once; ac_dict_user_load and
 * ac_dict_add_user_word take a write lock, so they may run while other threads query.
 *
 * Dictionary file format (version 1, UTF-8, built by `make dictionary`):
 *     #autocorrect-dictionary<TAB>1
 *     # comment lines start with '#'
 *     word<TAB>count                 one word per line; count = occurrences in the training corpus
 * Words are matched case-insensitively; possessives (WORD's) are accepted when WORD is known.
 * The user dictionary is plain UTF-8 text, one word per line ('#' starts a comment).
 */
#ifndef AUTOCORRECT_CORRECTOR_H
#define AUTOCORRECT_CORRECTOR_H

#include "autocorrect/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AC_DICT_FORMAT_VERSION 1
#define AC_WORD_MAX 64               /* bytes in the longest word we look at (longer: left alone) */
#define AC_CORRECT_MAX_CANDIDATES 8  /* candidates kept per correction */

typedef struct ac_dict ac_dict;

/* --- dictionary -------------------------------------------------------------------------------- */

/* Loads a dictionary file (format above) into memory: about 37 bytes per word (5 MB, and about
 * 30 ms, for the shipped 134,000 words). On success *out owns everything; free it with
 * ac_dict_free. Errors: AC_E_IO, AC_E_FORMAT (bad header, version, line or UTF-8, with the line
 * number), AC_E_LIMIT (over 16M words), AC_E_NOMEM. */
int ac_dict_load(const char *path, ac_dict **out, char *err);

/* The same from a memory buffer (tests, fuzzers): `data` holds `len` bytes in the file format. */
int ac_dict_parse(const char *data, size_t len, ac_dict **out, char *err);

void ac_dict_free(ac_dict *dict);

/* Number of distinct words (case-insensitive) in the dictionary, user words not counted. */
size_t ac_dict_size(const ac_dict *dict);

/* Bytes of memory `dict` holds (0 for NULL): its words, keys, display forms, lookup table and
 * candidate index, plus the user words added so far; not counting malloc's own overhead. Takes the
 * user dictionary's read lock. */
size_t ac_dict_memory_bytes(const ac_dict *dict);

/* Word status for ac_dict_lookup. */
enum ac_word_status {
    AC_WORD_UNKNOWN = 0, /* in neither dictionary */
    AC_WORD_KNOWN = 1,   /* in the dictionary (case-insensitive, possessive 's accepted) */
    AC_WORD_USER = 2,    /* in the user's dictionary: never corrected */
};

/* Looks up `len` bytes of UTF-8 (not NUL-terminated). Returns an ac_word_status; *count (may be
 * NULL) gets the word's corpus count (0 for user words and unknown words). Invalid UTF-8: unknown. */
int ac_dict_lookup(const ac_dict *dict, const char *word, size_t len, uint64_t *count);

/* Writes the default user dictionary path, $XDG_DATA_HOME/autocorrect/user-dictionary.txt (with
 * $XDG_DATA_HOME defaulting to ~/.local/share), into out[n]. AC_E_ARG when HOME is unset too,
 * AC_E_LIMIT when n is too small. */
int ac_dict_user_path(char *out, size_t n, char *err);

/* Adds the words of a user dictionary file to `dict` (path NULL: the default path). A missing file
 * is not an error (nothing is added). Lines that are not a single valid word are skipped. */
int ac_dict_user_load(ac_dict *dict, const char *path, char *err);

/* Adds `word` (NUL-terminated UTF-8, letters with inner apostrophes or hyphens, at most AC_WORD_MAX
 * bytes) to the user dictionary file at `path` (NULL: the default path) and to `dict` (may be
 * NULL). The file and its directory are created when missing (file 0600, directory 0700); the line
 * is appended with one O_APPEND write, so concurrent writers never interleave. A word already in the
 * file is not added twice. Errors: AC_E_ARG (not a word), AC_E_IO. */
int ac_dict_add_user_word(ac_dict *dict, const char *path, const char *word, char *err);

/* --- error model ------------------------------------------------------------------------------- */

/* The error model: natural-log probabilities of typing slips. A slip's log-probability is added
 * once per edit; the cheapest alignment of the typed word with a candidate gives log P(typed|cand). */
typedef struct ac_error_model {
    float keep;             /* log P(a word is typed as meant) */
    float substitute;       /* a letter replaced by an unrelated one */
    float substitute_near;  /* a letter replaced by a keyboard neighbour (QWERTY) */
    float substitute_vowel; /* a vowel replaced by another vowel */
    float insert;           /* an extra letter */
    float insert_near;      /* an extra letter that repeats, or is a keyboard neighbour of, a letter beside it */
    float omit;             /* a letter left out */
    float omit_double;      /* one letter of a double letter left out ("leter"), or an apostrophe */
    float transpose;        /* two adjacent letters swapped */
    float first_letter;     /* added when an edit touches the first letter (people rarely slip there) */
} ac_error_model;

ac_error_model ac_error_model_default(void);

/* log P(typed | intended) under `model` for two UTF-8 words (compared case-insensitively), or
 * -INFINITY when they are more than 2 edits apart or not valid UTF-8. */
float ac_error_model_score(const ac_error_model *model, const char *typed, size_t typed_len,
                           const char *intended, size_t intended_len);

/* Edit distance (Damerau-Levenshtein, optimal string alignment, over code points, case-insensitive)
 * between two UTF-8 words; -1 for invalid UTF-8 or words over AC_WORD_MAX bytes. */
int ac_edit_distance(const char *a, size_t a_len, const char *b, size_t b_len);

/* --- candidates and corrections ---------------------------------------------------------------- */

typedef struct ac_candidate {
    char text[AC_WORD_MAX + 8]; /* the replacement, NUL-terminated, capitalised like the original */
    float score;                /* log posterior among the options considered (<= 0) */
    float channel;              /* log P(typed | candidate) from the error model */
    float language;             /* the language score in `score`: unigram_weight * log P(candidate),
                                   or with a scorer lm_weight * log P(candidate | context) +
                                   lm_unigram_weight * log P(candidate) */
    int distance;               /* edit distance from the typed word */
} ac_candidate;

/* A context scorer: the language model's view. For each option[i] (NUL-terminated UTF-8 word) it
 * writes logp[i] = log P(option[i] right | left), the log-probability of the option, followed by
 * `right`, after `left`. `left` is the text before the word with earlier corrections applied;
 * `right` is up to right_words words of the original text after the word ("" when none). Returns
 * AC_OK or an error status with a message in err; on error the corrector falls back to the
 * dictionary ranking for that word. Called from the thread that calls ac_correct_text. */
typedef int (*ac_context_score_fn)(void *user, const char *left, size_t left_len, const char *right,
                                   size_t right_len, const char *const *options, int n_options,
                                   float *logp /* [n_options] */, char *err);

typedef struct ac_context_scorer {
    ac_context_score_fn score;
    void *user;
} ac_context_scorer;

/* Which words ac_correct_text considers. */
enum ac_correct_scope {
    AC_CORRECT_ALL = 0,  /* every word; the end of the text ends a word (the CLI filter) */
    AC_CORRECT_LAST = 1, /* the last `last_words` complete words: a word still being typed (text
                            ends inside it) is never touched (the daemon, while typing) */
};

typedef struct ac_correct_params {
    int scope;                /* enum ac_correct_scope */
    int last_words;           /* with AC_CORRECT_LAST: how many complete words at the end (>= 1) */
    int max_distance;         /* 1 or 2: edits allowed for candidates; words of 3 letters or less use 1 */
    int max_candidates;       /* candidates reported per correction, <= AC_CORRECT_MAX_CANDIDATES */
    int lm_candidates;        /* candidates (by dictionary ranking) rescored by the context scorer */
    int right_words;          /* words of right context given to the scorer (0: none) */
    float unigram_weight;     /* weight of log P(candidate) when there is no context scorer */
    float lm_weight;          /* lambda: weight of the context scorer's log-probabilities */
    float lm_unigram_weight;  /* with a scorer: weight of log P(candidate) from the dictionary added
                                 to lm_weight * the scorer's; negative (the default) with lm_weight
                                 above 1 favours what the context adds over plain frequency */
    float unknown_logp;       /* log P(a real word missing from the dictionary), the "keep" option's
                                 language score for an unknown word without a scorer */
    float unknown_penalty;    /* with a scorer: added to "keep" for a word missing from the dictionary */
    float real_word_margin;   /* with a scorer: how much a real-word correction must beat "keep" by */
    float capital_keep;       /* added to "keep" for an unknown Capitalised word that does not start
                                 a sentence: likely a name */
    float min_posterior;      /* a correction needs at least this posterior probability (0..1) */
    float lm_skip_posterior;  /* with a scorer: a non-word whose best candidate has at least this
                                 posterior by the dictionary alone is decided without the scorer
                                 (saves its cost on clear typos); 1 = always ask the scorer */
    int dictionary_veto;      /* with a scorer: a non-word is corrected only if the dictionary alone
                                 would correct it too (the scorer still picks the replacement);
                                 halves the correct words broken for ~1 point of typos fixed */
    ac_error_model error_model;
    ac_context_scorer scorer; /* scorer.score NULL: dictionary only */
} ac_correct_params;

ac_correct_params ac_correct_default_params(void);

typedef struct ac_correction {
    size_t start, end;                /* byte offsets of the original word in the text */
    char original[AC_WORD_MAX + 8];   /* the word as typed, NUL-terminated */
    char replacement[AC_WORD_MAX + 8];/* = candidates[0].text */
    float score;                      /* = candidates[0].score: log posterior of the replacement */
    int real_word;                    /* 1 when the original is a dictionary word (their -> there) */
    int n_candidates;                 /* >= 1 */
    ac_candidate candidates[AC_CORRECT_MAX_CANDIDATES]; /* best first */
} ac_correction;

/* Finds the misspellings in `len` bytes of UTF-8 `text` (need not be NUL-terminated) and writes up
 * to max_out corrections, in text order, into out; *n_out gets how many. Only words judged
 * misspelled are reported. Errors: AC_E_FORMAT for invalid UTF-8 (nothing is corrected),
 * AC_E_ARG for bad params; a scorer error falls back to dictionary ranking and is not returned. */
int ac_correct_text(const ac_dict *dict, const char *text, size_t len, const ac_correct_params *params,
                    ac_correction *out, int max_out, int *n_out, char *err);

/* Ranks corrections for one word (`word_len` bytes) as if it sat between `left` and `right`
 * (either may be NULL with length 0), whether or not it would be corrected: the evaluation's entry
 * point and the way to show a candidates menu. Returns the number of candidates written to out
 * (0 when none is within reach or the word is not eligible), or a negative status. */
int ac_correct_word(const ac_dict *dict, const char *left, size_t left_len, const char *word,
                    size_t word_len, const char *right, size_t right_len,
                    const ac_correct_params *params, ac_candidate *out, int max_out, char *err);

/* The hand-off to the completion decoder: the correction of the last complete word of `text`
 * (ac_correct_text with scope AC_CORRECT_LAST, last_words 1, the other params as given) when its
 * posterior is at least min_posterior. Returns 1 and fills *fix, 0 when there is none (the word is
 * right, unsure, or still being typed), or a negative status. The decoder takes it as
 *     cp.fix_start = fix.start; cp.fix_end = fix.end; cp.fix_text = fix.replacement;
 *     cp.fix_len = strlen(fix.replacement);      // ac_complete_params (decoder.h)
 * so that completions continue the corrected text ("The quick brwn fo" completes as "brown fo"). */
int ac_correct_last_word(const ac_dict *dict, const char *text, size_t len, const ac_correct_params *params,
                         float min_posterior, ac_correction *fix, char *err);

/* Appends `text` with the corrections applied (in text order, not overlapping, as ac_correct_text
 * writes them) to out. AC_OK or AC_E_NOMEM / AC_E_ARG (overlapping or out-of-range corrections). */
int ac_correct_apply(const char *text, size_t len, const ac_correction *corrections, int n, ac_buf *out);

/* --- the language-model scorer (the decoder module: src/decoder/correct_lm.c) ------------------- */
/* An ac_context_scorer that runs the engine: log P(option right | left) summed over the option's
 * tokens (and the right context's), with GPT-2's convention that a word's tokens carry its leading
 * space. It keeps one session holding the left context, reuses its longest common token prefix from
 * call to call (so a text corrected left to right pays for each token once), forks it per option
 * and decodes all options' tokens in batched steps. The left context starts at the beginning of
 * the word's sentence (or of the one before, when the sentence has just begun), after
 * <|endoftext|>; a longer one is cut to the model's window in steps of half a window, so that
 * consecutive calls keep their cached prefix. Only words the dictionary finds suspicious reach it.
 *
 *     ac_lm_scorer *lm;
 *     ac_lm_scorer_new(model, bpe, tp, &lm, err);        // model, bpe, tp outlive lm
 *     ac_correct_params p = ac_correct_default_params();
 *     p.scorer = ac_lm_scorer_context(lm);
 *     ac_correct_text(dict, text, len, &p, fixes, 16, &n, err);
 *     ac_lm_scorer_free(lm);
 *
 * A scorer belongs to one thread at a time (it owns an engine session family). */

typedef struct ac_model ac_model;           /* engine.h */
typedef struct ac_threadpool ac_threadpool; /* engine.h */
typedef struct ac_bpe ac_bpe;               /* tokenizer.h */
typedef struct ac_lm_scorer ac_lm_scorer;

/* Creates a scorer over a loaded model and its tokenizer (`tp` may be NULL: one thread). Reserves
 * its session (16 sequences of min(n_ctx, 256) positions) and buffers here. AC_OK, or AC_E_ARG (tokenizer
 * and model vocabularies differ) / AC_E_NOMEM with a message; *out NULL on error. */
int ac_lm_scorer_new(const ac_model *model, const ac_bpe *bpe, ac_threadpool *tp, ac_lm_scorer **out,
                     char *err);
void ac_lm_scorer_free(ac_lm_scorer *lm);

/* The scorer as an ac_context_scorer for ac_correct_params.scorer (valid while lm lives). */
ac_context_scorer ac_lm_scorer_context(ac_lm_scorer *lm);

/* What the scorer has done since it was created (for benchmarks). */
typedef struct ac_lm_scorer_stats {
    long calls;           /* words scored */
    long options;         /* options scored */
    long context_tokens;  /* tokens prefilled into the shared context session */
    long option_tokens;   /* option and right-context tokens decoded (in batches) */
    long decode_steps;    /* batched decode calls */
    double seconds;       /* time spent in the scorer */
} ac_lm_scorer_stats;

ac_lm_scorer_stats ac_lm_scorer_get_stats(const ac_lm_scorer *lm);

#ifdef __cplusplus
}
#endif
#endif
