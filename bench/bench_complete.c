/* bench_complete.c: per-keystroke completion latency, with the prefix cache against without it.
 *
 * What it measures: a text is typed one character at a time after a prefix of about `--context`
 * characters; after each keystroke, ac_complete asks for 5 beams x 4 tokens (line stop rule and no
 * abstain threshold, so every beam decodes all its tokens: the full cost). The same keystroke then
 * runs on a second cache with no_cache = 1 (every context token prefilled again). The two alternate,
 * so machine noise hits both alike. It reports p50 and p99 of each and their ratio, with the mean
 * prefill and decode split and the tokens prefilled per keystroke. A report, not a test.
 *
 *     build/bench/bench_complete [--model PATH] [--tokenizer PATH] [--threads N] [--keys N]
 *                                [--context CHARS] [--beams N] [--max-tokens N] [--int8]
 * Default model: build/bench-models/d256x6 (bench/make_models.py), else tests/fixtures/tiny.
 */
#include "bench_complete_util.h"

#include "decoder/decoder_internal.h"

#include <math.h>
#include <string.h>

static const char default_text[] =
    "The General Assembly, which adjourns today, has performed in an atmosphere of crisis and struggle "
    "from the day it convened. It was faced immediately with a showdown on the schools, an issue which "
    "was met squarely in conjunction with the governor with a decision not to risk abandoning public "
    "education. There followed the historic appropriations and budget fight, in which the General "
    "Assembly decided to tackle executive powers. The final decision went to the executive but a way "
    "has been opened for strengthening budgeting procedures and to provide legislators information they "
    "need. Long-range planning of programs and ways to finance them have become musts if the state in "
    "the next few years is to avoid crisis-to-crisis government. This session, for instance, may have "
    "insured a financial crisis two years from now. In all the turmoil, some good legislation was "
    "passed. Some other good bills were lost in the shuffle and await future action. Certainly all can "
    "applaud passage of an auto title law, the school bills, the increase in teacher pensions, the ban "
    "on drag racing, and the road maintenance bond issue.";

int main(int argc, char **argv)
{
    const char *model = NULL, *tokenizer = NULL;
    int threads = 2, keys = 200, context = 600, beams = 5, max_tokens = 4, int8 = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--model") && v) model = v, i++;
        else if (!strcmp(argv[i], "--tokenizer") && v) tokenizer = v, i++;
        else if (!strcmp(argv[i], "--threads") && v) threads = atoi(v), i++;
        else if (!strcmp(argv[i], "--keys") && v) keys = atoi(v), i++;
        else if (!strcmp(argv[i], "--context") && v) context = atoi(v), i++;
        else if (!strcmp(argv[i], "--beams") && v) beams = atoi(v), i++;
        else if (!strcmp(argv[i], "--max-tokens") && v) max_tokens = atoi(v), i++;
        else if (!strcmp(argv[i], "--int8")) int8 = 1;
        else {
            fprintf(stderr, "usage: bench_complete [--model PATH] [--tokenizer PATH] [--threads N] [--keys N] "
                            "[--context CHARS] [--beams N] [--max-tokens N] [--int8]\n");
            return 2;
        }
    }
    if (!model)
        model = bench_has_model("build/bench-models/d256x6") ? "build/bench-models/d256x6" : "tests/fixtures/tiny";
    size_t text_len = strlen(default_text);
    if (context < 1 || (size_t)context + 1 > text_len)
        context = (int)text_len / 2;
    if (keys < 1 || (size_t)(context + keys) > text_len)
        keys = (int)(text_len - (size_t)context);

    char err[AC_ERR_SIZE];
    bench_lm lm;
    if (bench_lm_load(&lm, model, tokenizer, threads, int8, err)) {
        fprintf(stderr, "bench_complete: %s\n", err);
        return 1;
    }
    ac_complete_cache_params cp = ac_complete_cache_default_params();
    if (beams > cp.max_beams)
        cp.max_beams = beams;
    ac_complete_cache *warm = NULL, *cold = NULL;
    if (ac_complete_cache_new(lm.completer, &cp, &warm, err) || ac_complete_cache_new(lm.completer, &cp, &cold, err)) {
        fprintf(stderr, "bench_complete: %s\n", err);
        return 1;
    }
    ac_complete_params p = ac_complete_default_params();
    p.beam_width = beams;
    p.max_tokens = max_tokens;
    p.stop = AC_STOP_LINE;
    p.min_score = -INFINITY;
    ac_complete_params pc = p;
    pc.no_cache = 1;

    double *t_warm = malloc(sizeof(double) * (size_t)keys), *t_cold = malloc(sizeof(double) * (size_t)keys);
    double pre_w = 0, dec_w = 0, pre_c = 0, dec_c = 0, new_w = 0, ctx_tokens = 0;
    int max_new = 0, n_results = 0;
    ac_complete_result r;
    /* Warm-up: the prefix goes into the warm cache, as it would have keystroke by keystroke. */
    if (ac_complete(lm.completer, warm, default_text, (size_t)context, &p, &r, err)) {
        fprintf(stderr, "bench_complete: %s\n", err);
        return 1;
    }
    ac_complete_result_free(&r);
    for (int k = 0; k < keys; k++) {
        size_t len = (size_t)context + (size_t)k + 1;
        double t = ac_now();
        if (ac_complete(lm.completer, warm, default_text, len, &p, &r, err)) {
            fprintf(stderr, "bench_complete: %s\n", err);
            return 1;
        }
        t_warm[k] = (ac_now() - t) * 1000;
        pre_w += r.timings.prefill_ms;
        dec_w += r.timings.decode_ms;
        new_w += r.timings.new_tokens;
        ctx_tokens += r.timings.context_tokens;
        if (r.timings.new_tokens > max_new)
            max_new = r.timings.new_tokens;
        n_results += r.n;
        ac_complete_result_free(&r);

        t = ac_now();
        if (ac_complete(lm.completer, cold, default_text, len, &pc, &r, err)) {
            fprintf(stderr, "bench_complete: %s\n", err);
            return 1;
        }
        t_cold[k] = (ac_now() - t) * 1000;
        pre_c += r.timings.prefill_ms;
        dec_c += r.timings.decode_ms;
        ac_complete_result_free(&r);
    }
    double w50 = bench_quantile(t_warm, keys, 0.5), w99 = bench_quantile(t_warm, keys, 0.99);
    double c50 = bench_quantile(t_cold, keys, 0.5), c99 = bench_quantile(t_cold, keys, 0.99);
    printf("complete: %d keystrokes after %d characters (%.0f context tokens on average), %d beams x %d tokens, "
           "%d threads, model %s (%s), tokenizer %s\n",
           keys, context, ctx_tokens / keys, beams, max_tokens, threads, lm.model_path, int8 ? "int8" : "f32",
           lm.tokenizer_path);
    printf("  with cache:    p50 %7.2f ms  p99 %7.2f ms  (prefill %.2f + decode %.2f ms; %.2f new tokens per key, "
           "at most %d)\n",
           w50, w99, pre_w / keys, dec_w / keys, new_w / keys, max_new);
    printf("  without cache: p50 %7.2f ms  p99 %7.2f ms  (prefill %.2f + decode %.2f ms)\n", c50, c99, pre_c / keys,
           dec_c / keys);
    printf("  ratio (without / with): p50 %.2fx  p99 %.2fx;  %.1f completions per keystroke\n", c50 / w50, c99 / w99,
           (double)n_results / keys);
    free(t_warm);
    free(t_cold);
    ac_complete_cache_free(warm);
    ac_complete_cache_free(cold);
    bench_lm_free(&lm);
    return 0;
}
