/* threadpool.c: a small pool of worker threads for the forward pass's parallel loops.
 *
 * This is: ac_threadpool (engine.h) and the internal parallel-for ac__threadpool_run
 * (threadpool.h). A job is n_tasks independent calls fn(ctx, task); the caller's thread works on
 * the job too, and tasks are handed out one at a time from an atomic counter, so a slow or
 * preempted thread does not hold the others up; the caller waits for the job's tasks to finish,
 * not for every worker to wake, so on a busy machine a worker that gets no CPU in time costs
 * nothing. Workers sleep on a condition variable between jobs (they never spin while idle; only the
 * caller spins, briefly, for tasks still running). This is not: a general task scheduler (no
 * nesting, no futures): a task must not start another job on the same pool.
 */
#include "engine/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define AC__MAX_THREADS 256
/* Rounds of the caller's busy wait for tasks still running on workers before it sleeps (a few tens
 * of microseconds: forward-pass tasks are short). */
#define AC__SPIN_ROUNDS 4000

struct ac_threadpool {
    int n_threads;              /* the caller's thread included */
    pthread_t *workers;         /* [n_threads - 1] */
    pthread_mutex_t job_mu;     /* held by the caller running a job: one job at a time */
    pthread_mutex_t mu;         /* guards generation, stop, fn, ctx, n_tasks, caller_waits */
    pthread_cond_t wake;        /* a new job (or stop) for the workers */
    pthread_cond_t done_cv;     /* the job's last task finished */
    uint32_t generation;        /* bumped for each job */
    int stop;
    ac__task_fn fn;
    void *ctx;
    int n_tasks;
    int caller_waits;           /* the caller sleeps on done_cv */
    _Atomic uint64_t claim;     /* (generation << 32) | index of the next task to hand out */
    atomic_int done;            /* tasks of the current job finished */
};

/* A hint to the CPU that this thread busy-waits (it lets a hyperthread sibling run). */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs tasks of job `gen` until none is left. A task is claimed only while the job is
 * still `gen` (the generation sits in the claim word), so a worker that wakes late never touches a
 * later job with an earlier job's fn and ctx. */
static void run_tasks(ac_threadpool *tp, uint32_t gen, ac__task_fn fn, void *ctx, int n_tasks)
{
    for (;;) {
        uint64_t c = atomic_load_explicit(&tp->claim, memory_order_relaxed);
        do {
            if ((uint32_t)(c >> 32) != gen || (uint32_t)c >= (uint32_t)n_tasks)
                return;
        } while (!atomic_compare_exchange_weak_explicit(&tp->claim, &c, c + 1, memory_order_acquire,
                                                        memory_order_relaxed));
        fn(ctx, (int)(uint32_t)c);
        if (atomic_fetch_add_explicit(&tp->done, 1, memory_order_acq_rel) + 1 == n_tasks) {
            pthread_mutex_lock(&tp->mu);
            if (tp->caller_waits)
                pthread_cond_signal(&tp->done_cv);
            pthread_mutex_unlock(&tp->mu);
        }
    }
}

static void *worker_main(void *arg)
{
    ac_threadpool *tp = arg;
    uint32_t seen = 0;
    pthread_mutex_lock(&tp->mu);
    for (;;) {
        while (tp->generation == seen && !tp->stop)
            pthread_cond_wait(&tp->wake, &tp->mu);
        if (tp->stop)
            break;
        seen = tp->generation;
        ac__task_fn fn = tp->fn;
        void *ctx = tp->ctx;
        int n = tp->n_tasks;
        pthread_mutex_unlock(&tp->mu);
        run_tasks(tp, seen, fn, ctx, n);
        pthread_mutex_lock(&tp->mu);
    }
    pthread_mutex_unlock(&tp->mu);
    return NULL;
}

ac_threadpool *ac_threadpool_new(int n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > AC__MAX_THREADS)
        n_threads = AC__MAX_THREADS;
    ac_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp)
        return NULL;
    tp->n_threads = 1;
    atomic_init(&tp->claim, 0);
    atomic_init(&tp->done, 0);
    pthread_mutex_init(&tp->job_mu, NULL);
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->wake, NULL);
    pthread_cond_init(&tp->done_cv, NULL);
    if (n_threads > 1) {
        tp->workers = calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->workers) {
            ac_threadpool_free(tp);
            return NULL;
        }
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&tp->workers[i], NULL, worker_main, tp) != 0) {
                ac_threadpool_free(tp);
                return NULL;
            }
            tp->n_threads++;
        }
    }
    return tp;
}

void ac_threadpool_free(ac_threadpool *tp)
{
    if (!tp)
        return;
    pthread_mutex_lock(&tp->mu);
    tp->stop = 1;
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; i < tp->n_threads - 1; i++)
        pthread_join(tp->workers[i], NULL);
    free(tp->workers);
    pthread_cond_destroy(&tp->wake);
    pthread_cond_destroy(&tp->done_cv);
    pthread_mutex_destroy(&tp->mu);
    pthread_mutex_destroy(&tp->job_mu);
    free(tp);
}

int ac_threadpool_size(const ac_threadpool *tp)
{
    return tp ? tp->n_threads : 1;
}

void ac__threadpool_run(ac_threadpool *tp, int n_tasks, ac__task_fn fn, void *ctx)
{
    if (n_tasks <= 0)
        return;
    if (!tp || tp->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&tp->job_mu);
    pthread_mutex_lock(&tp->mu);
    const uint32_t gen = ++tp->generation;
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n_tasks = n_tasks;
    tp->caller_waits = 0;
    atomic_store_explicit(&tp->done, 0, memory_order_relaxed);
    atomic_store_explicit(&tp->claim, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);

    run_tasks(tp, gen, fn, ctx, n_tasks);

    /* Wait for the tasks still running elsewhere, not for the workers: one that has not woken yet
     * (a busy machine) finds nothing left to claim, and the caller goes on without it. */
    for (int i = 0; i < AC__SPIN_ROUNDS && atomic_load_explicit(&tp->done, memory_order_acquire) < n_tasks; i++)
        spin_pause();
    if (atomic_load_explicit(&tp->done, memory_order_acquire) < n_tasks) {
        pthread_mutex_lock(&tp->mu);
        tp->caller_waits = 1;
        while (atomic_load_explicit(&tp->done, memory_order_acquire) < n_tasks)
            pthread_cond_wait(&tp->done_cv, &tp->mu);
        tp->caller_waits = 0;
        pthread_mutex_unlock(&tp->mu);
    }
    pthread_mutex_unlock(&tp->job_mu);
}
