/* eval_keystrokes.c: keystroke savings of the completer on held-out text, with 3 and with 5
 * completions shown.
 *
 * The simulated user (ac__keystroke_sim, src/decoder/keystrokes.c) types each line of the input file
 * as one text from scratch. Before every keystroke (at the start of the line, after each typed
 * character, after each accepted completion) it is shown the top K completions of what it has typed
 * (ac_complete with the given settings, beam width max(K, --beams)); if some shown completion is a
 * prefix of the rest of the line it accepts the longest such one, which costs one keystroke;
 * otherwise it types the next character (one keystroke per Unicode character). Savings = 1 -
 * keystrokes / characters. One cache serves a whole run, as a daemon's would.
 *
 * The input is in the corpus's format (docs/corpus.md): a paragraph a line, documents ended by a
 * line holding exactly <|endoftext|>, which is not typed. With --context-bytes N the completer also
 * sees what comes before the line in its document, as an editor plugin sends it (the Neovim
 * plugin's context_bytes): at most N bytes, cut at the start of a line of text where one is in
 * reach, else at a space (mid_text set when the cut is not the document's start); those bytes are
 * not typed (the JSON line's context_bytes adds them up). Without it (0, the default) each line is
 * typed as a text of its own. The model still sees at most its own window of that (decoder.h).
 * --trace FILE writes a JSON line per request: the stop rule, K, the typed text of the line, and
 * every completion the decoder returned with its score (the first K were shown), for finding
 * where keystrokes are lost.
 *
 *     build/bench/eval_keystrokes --model PATH [--tokenizer PATH] [--input FILE] [--limit N]
 *         [--skip N] [--max-chars N] [--beams N] [--max-tokens N] [--stop word,phrase,line] [--min-score X]
 *         [--threads N] [--shown 3,5] [--int8] [--order score|saving] [--context-bytes N] [--trace FILE]
 * --order picks the decoder's order (ac_complete_params.order: saving, the decoder's default, or
 * score; with saving, --beams above K gives it more completions to choose the K shown from).
 * Defaults: --input data/corpus/valid_prose.txt, its first 100 lines (--skip N: after its first N
 * non-empty lines, for a second slice), each cut at 200 characters (at a space), the word and the
 * phrase stop rules, 4 tokens, min_score -2.5 (the decoder's default), 5 beams, order saving, 1
 * thread. Prints a line and a JSON line per (stop rule, K). bench/eval_keystrokes.sh builds
 * and runs it.
 */
#include "bench_complete_util.h"

#include "decoder/decoder_internal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

typedef struct suggester {
    ac_completer *c;
    ac_complete_cache *cache;
    ac_complete_params p;
    ac_complete_result r;
    double ms;
    long partial;
    char *text;            /* [cap] the context, then what has been typed of the line */
    size_t context_len, cap;
    FILE *trace;           /* --trace: a JSON line per request, or NULL */
    int shown;
} suggester;

/* A JSON string of s[0..n), or null where the bytes are not valid UTF-8 (the simulated user types
 * whole characters, so neither the typed text nor a completion of it should be). */
static json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    return j ? j : json_null();
}

/* Writes the --trace line of one request: the stop rule, K, the typed text, every completion. */
static void trace_request(const suggester *s, const char *typed, size_t len)
{
    json_t *completions = json_array();
    for (int i = 0; i < s->r.n; i++)
        json_array_append_new(completions, json_pack("[o, f]", json_text(s->r.items[i].text, s->r.items[i].len),
                                                     (double)s->r.items[i].score));
    json_t *line = json_pack("{s: s, s: i, s: o, s: o}", "stop", ac_stop_name(s->p.stop), "shown", s->shown,
                             "typed", json_text(typed, len), "completions", completions);
    json_dumpf(line, s->trace, JSON_COMPACT);
    fputc('\n', s->trace);
    json_decref(line);
}

static int suggest(void *ctx, const char *typed, size_t len, int shown, const char **texts, size_t *lens, char *err)
{
    suggester *s = ctx;
    ac_complete_result_free(&s->r);
    if (s->context_len + len > s->cap)
        return ac__errorf(err, AC_E_ARG, "a line of %zu bytes is longer than the buffer", len);
    memcpy(s->text + s->context_len, typed, len);
    double t = ac_now();
    int rc = ac_complete(s->c, s->cache, s->text, s->context_len + len, &s->p, &s->r, err);
    s->ms += (ac_now() - t) * 1000;
    if (rc)
        return rc;
    s->partial += s->r.partial;
    int n = s->r.n < shown ? s->r.n : shown;
    for (int i = 0; i < n; i++) {
        texts[i] = s->r.items[i].text;
        lens[i] = s->r.items[i].len;
    }
    if (s->trace)
        trace_request(s, typed, len);
    return n;
}

#define DOC_END "<|endoftext|>"

/* Where a line's context starts: at most max_bytes before line_start, not before doc_start; at the
 * start of a line of text (not a blank one) when one is in that range, else at a space or newline,
 * as the daemon cuts (ac_config_context_start), so that no word is cut in two. */
static size_t context_start(const char *text, size_t doc_start, size_t line_start, size_t max_bytes)
{
    if (max_bytes == 0)
        return line_start;
    if (line_start - doc_start <= max_bytes)
        return doc_start;
    size_t from = line_start - max_bytes;
    for (size_t q = from; q + 1 < line_start; q++)
        if (text[q] == '\n' && text[q + 1] != '\n')
            return q + 1;
    while (from < line_start && text[from] != ' ' && text[from] != '\n')
        from++;
    return from;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *tokenizer = NULL, *input = "data/corpus/valid_prose.txt";
    const char *shown_list = "3,5", *stop_list = "word,phrase";
    int limit = 100, skip = 0, max_chars = 200, beams = 5, threads = 1, int8 = 0, context_bytes = 0;
    const char *trace_path = NULL;
    ac_complete_params p = ac_complete_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--int8")) {
            int8 = 1;
            continue;
        }
        if (!v) goto usage;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--tokenizer")) tokenizer = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--limit")) limit = atoi(v);
        else if (!strcmp(a, "--skip")) skip = atoi(v);
        else if (!strcmp(a, "--max-chars")) max_chars = atoi(v);
        else if (!strcmp(a, "--beams")) beams = atoi(v);
        else if (!strcmp(a, "--max-tokens")) p.max_tokens = atoi(v);
        else if (!strcmp(a, "--stop")) stop_list = v;
        else if (!strcmp(a, "--min-score")) p.min_score = strtof(v, NULL);
        else if (!strcmp(a, "--order")) {
            if (!strcmp(v, "score")) p.order = AC_ORDER_SCORE;
            else if (!strcmp(v, "saving")) p.order = AC_ORDER_SAVING;
            else goto usage;
        }
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--context-bytes")) context_bytes = atoi(v);
        else if (!strcmp(a, "--trace")) trace_path = v;
        else if (!strcmp(a, "--shown")) shown_list = v;
        else goto usage;
        i++;
    }
    if (!model && bench_has_model("models/default"))
        model = "models/default";
    if (!model || beams < 1 || beams > AC_COMPLETE_MAX_BEAMS || context_bytes < 0)
        goto usage;
    int stops[AC__N_STOP], n_stops = 0;
    for (const char *s = stop_list; *s && n_stops < AC__N_STOP;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char name[16];
        snprintf(name, sizeof name, "%.*s", (int)(n < 15 ? n : 15), s);
        if ((stops[n_stops++] = ac_stop_from_name(name)) < 0)
            goto usage;
        s += n + (e ? 1 : 0);
    }

    char err[AC_ERR_SIZE];
    char *text;
    size_t text_len;
    if (ac_file_read(input, 256u << 20, &text, &text_len, err)) {
        fprintf(stderr, "eval_keystrokes: %s\n", err);
        return 1;
    }
    FILE *trace = NULL;
    if (trace_path && !(trace = fopen(trace_path, "w"))) {
        fprintf(stderr, "eval_keystrokes: %s: %s\n", trace_path, strerror(errno));
        return 1;
    }
    bench_lm lm;
    if (bench_lm_load(&lm, model, tokenizer, threads, int8, err)) {
        fprintf(stderr, "eval_keystrokes: %s\n", err);
        return 1;
    }
    int shown[8], n_shown = 0;
    for (const char *s = shown_list; *s && n_shown < 8;) {
        int k = atoi(s);
        if (k < 1 || k > AC_COMPLETE_MAX_BEAMS) {
            fprintf(stderr, "eval_keystrokes: --shown takes numbers in 1..%d\n", AC_COMPLETE_MAX_BEAMS);
            return 2;
        }
        shown[n_shown++] = k;
        s = strchr(s, ',');
        if (!s)
            break;
        s++;
    }

    printf("eval_keystrokes: %s, model %s, tokenizer %s; %d tokens, min_score %g, beams max(K, %d), order %s, "
           "context %d bytes\n",
           input, lm.model_path, lm.tokenizer_path, p.max_tokens, (double)p.min_score, beams,
           p.order == AC_ORDER_SAVING ? "saving" : "score", context_bytes);
    for (int run = 0; run < n_stops * n_shown; run++) {
        int k = shown[run % n_shown];
        p.stop = stops[run / n_shown];
        suggester sg = {0};
        sg.cap = (size_t)context_bytes + text_len;
        sg.text = malloc(sg.cap + 1);
        if (!sg.text) {
            fprintf(stderr, "eval_keystrokes: out of memory\n");
            return 1;
        }
        sg.c = lm.completer;
        sg.trace = trace;
        sg.shown = k;
        sg.p = p;
        sg.p.beam_width = k > beams ? k : beams;
        ac_complete_cache_params cp = ac_complete_cache_default_params();
        if (sg.p.beam_width > cp.max_beams)
            cp.max_beams = sg.p.beam_width;
        if (ac_complete_cache_new(lm.completer, &cp, &sg.cache, err)) {
            fprintf(stderr, "eval_keystrokes: %s\n", err);
            return 1;
        }
        ac__ks_stats st = {0};
        long lines = 0, seen = 0;
        size_t doc_start = 0; /* where the current document starts in text */
        long context_total = 0;   /* bytes of context given, over all lines */
        double t0 = ac_now();
        for (size_t pos = 0; pos < text_len && (limit <= 0 || lines < limit);) {
            const char *line = text + pos;
            const char *nl = memchr(line, '\n', text_len - pos);
            size_t len = nl ? (size_t)(nl - line) : text_len - pos;
            size_t line_start = pos;
            pos += len + 1;
            if (len == sizeof DOC_END - 1 && !memcmp(line, DOC_END, len)) {
                doc_start = pos < text_len ? pos : text_len;
                continue;
            }
            while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
            if (len == 0 || seen++ < skip)
                continue;
            size_t from = context_start(text, doc_start, line_start, (size_t)context_bytes);
            sg.context_len = line_start - from;
            context_total += (long)sg.context_len;
            memcpy(sg.text, text + from, sg.context_len);
            sg.p.mid_text = context_bytes > 0 && from > doc_start; /* without context: a text of its own */
            if (max_chars > 0 && len > (size_t)max_chars) {
                /* cut at the last space before max_chars characters (bytes here: close enough) */
                size_t cut = (size_t)max_chars;
                while (cut > 0 && line[cut] != ' ')
                    cut--;
                len = cut ? cut : (size_t)max_chars;
                while (len < (size_t)max_chars && ((unsigned char)line[len] & 0xc0) == 0x80)
                    len++;
            }
            if (ac__keystroke_sim(line, len, k, suggest, &sg, &st, err)) {
                fprintf(stderr, "eval_keystrokes: %s\n", err);
                return 1;
            }
            lines++;
        }
        double secs = ac_now() - t0;
        double savings = st.chars ? 1.0 - (double)st.keystrokes / (double)st.chars : 0;
        printf("  stop %s, %d shown: %ld lines, %ld characters, %ld keystrokes: savings %.2f%%; %ld completions accepted "
               "(%.1f characters each); %ld requests, %.2f ms each, %.1f%% with a completion shown, "
               "%.1f%% of those accepted; %.0f s\n",
               ac_stop_name(p.stop), k, lines, st.chars, st.keystrokes, 100 * savings, st.accepts,
               st.accepts ? (double)st.accepted_chars / (double)st.accepts : 0.0, st.requests,
               st.requests ? sg.ms / (double)st.requests : 0.0,
               st.requests ? 100.0 * (double)st.nonempty / (double)st.requests : 0.0,
               st.nonempty ? 100.0 * (double)st.accepts / (double)st.nonempty : 0.0, secs);
        printf("  {\"stop\":\"%s\",\"shown\":%d,\"lines\":%ld,\"chars\":%ld,\"keystrokes\":%ld,\"savings\":%.4f,\"accepts\":%ld,"
               "\"accepted_chars\":%ld,\"requests\":%ld,\"nonempty\":%ld,\"ms_per_request\":%.3f,\"partial\":%ld,"
               "\"context_bytes\":%ld}\n",
               ac_stop_name(p.stop), k, lines, st.chars, st.keystrokes, savings, st.accepts, st.accepted_chars, st.requests,
               st.nonempty, st.requests ? sg.ms / (double)st.requests : 0.0, sg.partial, context_total);
        fflush(stdout);
        ac_complete_result_free(&sg.r);
        ac_complete_cache_free(sg.cache);
        free(sg.text);
    }
    bench_lm_free(&lm);
    free(text);
    if (trace && fclose(trace)) {
        fprintf(stderr, "eval_keystrokes: %s: %s\n", trace_path, strerror(errno));
        return 1;
    }
    return 0;
usage:
    fprintf(stderr, "usage: eval_keystrokes --model PATH [--tokenizer PATH] [--input FILE] [--limit N] [--skip N]\n"
                    "       [--max-chars N]\n"
                    "       [--beams N] [--max-tokens N] [--stop word,phrase,line] [--min-score X] [--threads N]\n"
                    "       [--shown 3,5] [--int8] [--order score|saving] [--context-bytes N] [--trace FILE]\n(--model may be left out once models/default holds a model)\n");
    return 2;
}
