/* bench_roofline.c: this machine's limits and how close the engine comes to them. A report, not a
 * test; bench/bench_roofline.sh runs it beside ONNX Runtime and prints the tables.
 *
 *   bench_roofline --machine [--threads N]
 *       memory bandwidth: a read of a buffer 8x the last-level cache (256 MB to 1 GB), split over N
 *       threads, best of 5 passes; peak multiply-add rate: a loop of independent FMAs that stay in
 *       registers, on N threads at once (AVX-512, else AVX2+FMA, else plain C). One JSON line.
 *   bench_roofline --model PATH [--threads N] [--int8] [--prefill 128] [--decode 32] [--reps 5]
 *       the engine on one model file: ms per decoded token (after a prompt of `prefill` tokens), ms
 *       per prefill of `prefill` tokens with the logits of the last position (what the daemon runs)
 *       and with the logits of every position (what a no-cache ONNX graph computes), the byte and
 *       multiply-add counts that turn them into shares of the limits, and the memory the model
 *       added to the process (VmRSS after the load, and after the runs: with a session's scratch and
 *       the KV cache it touched), beside the weights' size. One JSON line.
 *   bench_roofline --openblas
 *       OpenBLAS's sgemm (loaded with dlopen, when installed) beside the engine's float32 kernel
 *       on the prefill shapes of GPT-2 and of the default model, one thread. A table.
 *   bench_roofline
 *       (what `make bench` runs it as) the machine line for one thread, then the OpenBLAS table;
 *       bench/bench_roofline.sh makes the full report.
 *
 * Accounting. Weights read per decoded token: every matrix (the layers' four and the LM head) in
 * the storage the forward pass reads (ac_model_weight_bytes, less the position table and norms,
 * which a token touches one row of). The KV cache a token reads is reported apart. Multiply-adds of
 * a prefill of n tokens: n * (the layers' matrices) + (positions whose logits are computed) *
 * (the head), + attention (n * (n + 1) / 2 * n_embd * 2 per layer); flops are twice that.
 */
#include "autocorrect/engine.h"
#include "engine/kernels.h"
#include "engine/model.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ------------------------------------------------------------------------ machine: bandwidth */

static int isa_level(void) /* 2: AVX-512, 1: AVX2 + FMA, 0: plain C */
{
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    return 0;
}

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static float read_avx512(const float *p, size_t n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
    }
    float o[16];
    _mm512_storeu_ps(o, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    return o[0];
}
__attribute__((target("avx2"))) static float read_avx2(const float *p, size_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
    }
    float o[8];
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return o[0];
}
#endif

static float read_plain(const float *p, size_t n)
{
    float a[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            a[k] += p[i + k];
    return a[0];
}

typedef struct worker {
    pthread_t th;
    pthread_barrier_t *bar;
    int isa, mode;          /* mode 0: read p[n]; 1: FMA loop of n iterations */
    const float *p;
    size_t n;
    double t0, t1;          /* this thread's start and end */
    volatile float sink;
} worker;

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static float fma_avx512(size_t n)
{
    __m512 a[16];
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (size_t k = 0; k < n; k++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    for (int i = 1; i < 16; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    float o[16];
    _mm512_storeu_ps(o, a[0]);
    return o[0];
}
__attribute__((target("avx2,fma"))) static float fma_avx2(size_t n)
{
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (size_t k = 0; k < n; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    for (int i = 1; i < 12; i++)
        a[0] = _mm256_add_ps(a[0], a[i]);
    float o[8];
    _mm256_storeu_ps(o, a[0]);
    return o[0];
}
#endif

static float fma_plain(size_t n)
{
    float a[16];
    for (int i = 0; i < 16; i++)
        a[i] = (float)i;
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < 16; i++)
            a[i] = a[i] * 0.999f + 1e-3f;
    return a[0] + a[15];
}

/* flops of one iteration of each FMA loop */
static double fma_flops_per_iter(int isa)
{
    return isa == 2 ? 16.0 * 16 * 2 : isa == 1 ? 12.0 * 8 * 2 : 16.0 * 2;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->bar);
    w->t0 = ac_now();
    float s;
    if (w->mode == 0) {
#ifdef HAVE_X86
        s = w->isa == 2 ? read_avx512(w->p, w->n) : w->isa == 1 ? read_avx2(w->p, w->n) : read_plain(w->p, w->n);
#else
        s = read_plain(w->p, w->n);
#endif
    } else {
#ifdef HAVE_X86
        s = w->isa == 2 ? fma_avx512(w->n) : w->isa == 1 ? fma_avx2(w->n) : fma_plain(w->n);
#else
        s = fma_plain(w->n);
#endif
    }
    w->t1 = ac_now();
    w->sink = s;
    return NULL;
}

/* Runs mode on n_threads threads at once (thread t gets p + t * n, n elements or iterations) and
 * returns the wall time from the first start to the last end. */
static double run_threads(int n_threads, int isa, int mode, const float *p, size_t n)
{
    worker *ws = calloc((size_t)n_threads, sizeof *ws);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)n_threads);
    for (int t = 0; t < n_threads; t++) {
        ws[t] = (worker){.bar = &bar, .isa = isa, .mode = mode, .p = p ? p + (size_t)t * n : NULL, .n = n};
        if (t > 0)
            pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
    }
    worker_main(&ws[0]);
    double t0 = ws[0].t0, t1 = ws[0].t1;
    for (int t = 1; t < n_threads; t++) {
        pthread_join(ws[t].th, NULL);
        t0 = ws[t].t0 < t0 ? ws[t].t0 : t0;
        t1 = ws[t].t1 > t1 ? ws[t].t1 : t1;
    }
    pthread_barrier_destroy(&bar);
    free(ws);
    return t1 - t0;
}

/* The last-level cache's size: /sys first (sysconf reports the host's in some VMs), 32 MB if
 * unknown. */
static size_t llc_bytes(void)
{
    long v = -1;
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    unsigned kb = 0;
    if (f && fscanf(f, "%uK", &kb) == 1)
        v = (long)kb * 1024;
    if (f)
        fclose(f);
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (v <= 0)
        v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    return v > 0 ? (size_t)v : (size_t)32 << 20;
}

static int machine_report(int threads)
{
    const int isa = isa_level();
    size_t bytes = 8 * llc_bytes(); /* 256 MB .. 1 GB */
    bytes = bytes < ((size_t)256 << 20) ? (size_t)256 << 20 : bytes > ((size_t)1 << 30) ? (size_t)1 << 30 : bytes;
    size_t per = bytes / sizeof(float) / (size_t)threads / 64 * 64; /* floats per thread */
    float *buf = aligned_alloc(64, per * threads * sizeof(float));
    if (!buf) {
        fprintf(stderr, "bench_roofline: cannot allocate %zu MB\n", bytes >> 20);
        return 1;
    }
    /* touch the buffer from the threads that read it (first touch places pages near them) */
    for (size_t i = 0; i < per * threads; i++)
        buf[i] = 1.0f;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t = run_threads(threads, isa, 0, buf, per);
        best = t < best ? t : best;
    }
    double bw = (double)per * threads * sizeof(float) / best / 1e9;
    free(buf);
    /* FMA: iterations so one pass takes ~0.2 s at 100 GFLOP/s per thread */
    size_t iters = (size_t)(2e10 / fma_flops_per_iter(isa));
    double tf = 1e30, t1 = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t = run_threads(threads, isa, 1, NULL, iters);
        tf = t < tf ? t : tf;
    }
    for (int rep = 0; rep < 3 && threads > 1; rep++) {
        double t = run_threads(1, isa, 1, NULL, iters);
        t1 = t < t1 ? t : t1;
    }
    double peak = fma_flops_per_iter(isa) * iters * threads / tf / 1e9;
    double core = threads > 1 ? fma_flops_per_iter(isa) * iters / t1 / 1e9 : peak;
    printf("{\"threads\":%d,\"isa\":\"%s\",\"buffer_mb\":%zu,\"bw_gbs\":%.2f,\"peak_gflops\":%.1f,"
           "\"peak_gflops_1core\":%.1f}\n",
           threads, isa == 2 ? "avx512" : isa == 1 ? "avx2+fma" : "plain", per * threads * sizeof(float) >> 20, bw, peak,
           core);
    return 0;
}

/* -------------------------------------------------------------------------------- one model */

/* This process's resident memory in bytes (VmRSS), 0 if unknown. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atof(line + 6);
    if (f)
        fclose(f);
    return kb * 1024;
}

static int model_report(const char *path, int threads, int int8, int n_prefill, int n_decode, int reps)
{
    char err[AC_ERR_SIZE];
    ac_model_params mp = ac_model_default_params();
    mp.quantize = int8 ? AC_QUANT_INT8 : AC_QUANT_F32;
    ac_model *m;
    const double rss0 = rss_bytes();
    double t0 = ac_now();
    if (ac_model_load(path, &mp, &m, err)) {
        fprintf(stderr, "bench_roofline: %s\n", err);
        return 1;
    }
    double load_s = ac_now() - t0;
    const double rss_loaded = rss_bytes() - rss0;
    const ac_dims d = ac_model_dims(m);
    if (n_prefill + n_decode > d.n_ctx) {
        fprintf(stderr, "bench_roofline: %d + %d tokens do not fit n_ctx %d\n", n_prefill, n_decode, d.n_ctx);
        return 1;
    }
    const double C = d.n_embd, L = d.n_layer, V = d.n_vocab;
    const double layer_params = L * 12.0 * C * C, head_params = V * C;
    /* bytes of matrices read per token: the model's weight bytes less what a token reads one row of */
    const double small = (double)d.n_ctx * C * 4 + 2 * C * 4 + L * 13.0 * C * 4;
    double mat_bytes = (double)ac_model_weight_bytes(m) - small;
    if (m->w.wte) /* an untied head's wte: one row per token */
        mat_bytes -= V * C * 4;
    ac_threadpool *tp = ac_threadpool_new(threads);
    int32_t *ids = malloc(sizeof(int32_t) * (n_prefill + n_decode));
    unsigned s = 7;
    for (int i = 0; i < n_prefill + n_decode; i++) {
        s = s * 1103515245u + 12345u;
        ids[i] = (int32_t)((s >> 16) % (unsigned)d.n_vocab);
    }
    float *logits = malloc(sizeof(float) * (size_t)n_prefill * d.n_vocab);
    ac_session_params sp = ac_session_default_params();
    sp.n_batch = n_prefill;
    ac_session *sess;
    if (ac_session_new(m, &sp, &sess, err)) {
        fprintf(stderr, "bench_roofline: %s\n", err);
        return 1;
    }
    double *tl = malloc(sizeof(double) * reps), *ta = malloc(sizeof(double) * reps);
    double *td = malloc(sizeof(double) * reps * n_decode);
    int nd = 0;
    for (int rep = 0; rep <= reps; rep++) { /* rep 0 warms up */
        ac_session_rewind(sess, 0, err);
        double a = ac_now();
        ac_session_prefill(sess, ids, n_prefill, tp, logits, 1, err);
        double b = ac_now();
        ac_session_rewind(sess, 0, err);
        double c = ac_now();
        ac_session_prefill(sess, ids, n_prefill, tp, logits, 0, err);
        double e = ac_now();
        if (rep)
            ta[rep - 1] = (b - a) * 1e3, tl[rep - 1] = (e - c) * 1e3;
        for (int i = 0; i < n_decode; i++) {
            a = ac_now();
            ac_session_decode(sess, ids[n_prefill + i], tp, logits, err);
            if (rep)
                td[nd++] = (ac_now() - a) * 1e3;
        }
    }
    const double n = n_prefill, attn_macs = L * n * (n + 1) / 2 * C * 2;
    const double macs_last = n * layer_params + head_params + attn_macs;
    const double macs_all = n * layer_params + n * head_params + attn_macs;
    const double kv_bytes = L * 2 * C * 4 * (n_prefill + n_decode / 2.0); /* KV read by a mid-run token */
    printf("{\"model\":\"%s\",\"threads\":%d,\"quant\":\"%s\",\"kernels\":\"%s\",\"load_ms\":%.1f,"
           "\"weight_bytes_token\":%.0f,\"kv_bytes_token\":%.0f,\"decode_ms\":%.4f,\"prefill_tokens\":%d,"
           "\"prefill_last_ms\":%.3f,\"prefill_all_ms\":%.3f,\"flops_last\":%.0f,\"flops_all\":%.0f,"
           "\"layer_params\":%.0f,\"head_params\":%.0f,\"weight_bytes\":%zu,\"rss_loaded\":%.0f,"
           "\"rss_after_runs\":%.0f}\n",
           path, threads, int8 ? "int8" : "f32", ac_model_kernels(m), load_s * 1e3, mat_bytes, kv_bytes,
           median(td, nd), n_prefill, median(tl, reps), median(ta, reps), 2 * macs_last, 2 * macs_all, layer_params,
           head_params, ac_model_weight_bytes(m), rss_loaded,
           rss_bytes() - rss0 - (double)n_prefill * d.n_vocab * sizeof(float) /* this program's logits */);
    ac_session_free(sess);
    ac_threadpool_free(tp);
    ac_model_free(m);
    free(ids), free(logits), free(tl), free(ta), free(td);
    return 0;
}

/* ------------------------------------------------------------------------ OpenBLAS vs ours */

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);

static float *randv(size_t n)
{
    float *p = malloc(n * sizeof(float));
    unsigned s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

/* Best-of-5 seconds of f(). */
#define TIME_BEST(out, stmt)                                                     \
    do {                                                                         \
        double best_ = 1e30;                                                     \
        for (int r_ = 0; r_ < 5; r_++) {                                         \
            double a_ = ac_now();                                                \
            stmt;                                                                \
            double t_ = ac_now() - a_;                                           \
            best_ = t_ < best_ ? t_ : best_;                                     \
        }                                                                        \
        (out) = best_;                                                           \
    } while (0)

static int openblas_report(void)
{
    const char *names[] = {"libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
                           "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0"};
    void *lib = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    sgemm_fn sgemm = lib ? (sgemm_fn)dlsym(lib, "cblas_sgemm") : NULL;
    void (*set_threads)(int) = lib ? (void (*)(int))dlsym(lib, "openblas_set_num_threads") : NULL;
    char *(*get_config)(void) = lib ? (char *(*)(void))dlsym(lib, "openblas_get_config") : NULL;
    char *(*get_core)(void) = lib ? (char *(*)(void))dlsym(lib, "openblas_get_corename") : NULL;
    if (!sgemm) {
        printf("OpenBLAS: not installed (libopenblas.so.0 with cblas_sgemm not found): nothing to compare\n");
        return 0;
    }
    if (set_threads)
        set_threads(1);
    printf("OpenBLAS sgemm (%s; core %s) vs the engine's float32 product, one thread, GFLOP/s:\n",
           get_config ? get_config() : "?", get_core ? get_core() : "?");
    printf("%-26s %10s %12s %12s %8s\n", "shape rows x n_in x n_out", "", "OpenBLAS", ac__kernels_best()->name, "ours/BLAS");
    static const int shapes[][3] = {
        {128, 768, 2304}, {128, 768, 768}, {128, 768, 3072}, {128, 3072, 768},   /* GPT-2 124M */
        {128, 256, 768},  {128, 256, 256}, {128, 256, 1024}, {128, 1024, 256},   /* d256 */
        {16, 768, 3072},  {1, 768, 3072},                                        /* short prefill, decode */
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int R = shapes[k][0], I = shapes[k][1], O = shapes[k][2];
        float *x = randv((size_t)R * I), *w = randv((size_t)I * O), *b = randv(O);
        float *y = calloc((size_t)R * O, sizeof(float));
        ac__f32_matrix f;
        ac__f32_matrix_pack(&f, w, (size_t)O, 1, I, O);
        double tb, to;
        /* y = x @ w (+ b added the same way: BLAS has no bias, so it gets y preset to b, beta 1) */
        TIME_BEST(tb, for (int r = 0; r < R; r++) memcpy(y + (size_t)r * O, b, sizeof(float) * O);
                  sgemm(101 /* row major */, 111, 111, R, O, I, 1.0f, x, I, w, O, 1.0f, y, O));
        TIME_BEST(to, ac__kernels_best()->matmul(y, O, x, I, &f, b, R, 0, O, 0));
        const double fl = 2.0 * R * I * O;
        char shape[64];
        snprintf(shape, sizeof shape, "%d x %d x %d", R, I, O);
        printf("%-26s %10s %12.1f %12.1f %7.2fx\n", shape, "", fl / tb / 1e9, fl / to / 1e9, tb / to);
        ac__f32_matrix_free(&f);
        free(x), free(w), free(b), free(y);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_roofline --machine [--threads N]\n"
                    "       bench_roofline --model PATH [--threads N] [--int8] [--prefill 128] [--decode 32] [--reps 5]\n"
                    "       bench_roofline --openblas\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int machine = 0, openblas = 0, threads = 1, int8 = 0, n_prefill = 128, n_decode = 32, reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--machine"))
            machine = 1;
        else if (!strcmp(a, "--openblas"))
            openblas = 1;
        else if (!strcmp(a, "--model") && v)
            path = argv[++i];
        else if (!strcmp(a, "--threads") && v)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--int8"))
            int8 = 1;
        else if (!strcmp(a, "--prefill") && v)
            n_prefill = atoi(argv[++i]);
        else if (!strcmp(a, "--decode") && v)
            n_decode = atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && v)
            reps = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (argc == 1) {
        int rc = machine_report(1);
        return rc ? rc : openblas_report();
    }
    if (threads < 1 || threads > 256 || n_prefill < 1 || n_decode < 1 || reps < 1 || reps > 100 ||
        machine + openblas + (path != NULL) != 1) {
        usage();
        return 2;
    }
    if (machine)
        return machine_report(threads);
    if (openblas)
        return openblas_report();
    return model_report(path, threads, int8, n_prefill, n_decode, reps);
}
