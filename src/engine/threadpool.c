/* threadpool.c: a small pool of worker threads for the forward pass's parallel loops.
 *
 * This is: ac_threadpool (engine.h) and the internal parallel-for ac__threadpool_run
 * (threadpool.h). A job is n_tasks independent calls fn(ctx, task); the caller's thread works on
 * the job too, and tasks are handed out one at a time from an atomic counter, so a slow or
 * preempted thread does not hold the others up. Workers sleep on a condition variable between
 * jobs (they never spin while idle). This is not: a general task scheduler (no nesting, no
 * futures): a task must not start another job on the same pool.
 */
#include "engine/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define AC__MAX_THREADS 256

struct ac_threadpool {
    int n_threads;              /* the caller's thread included */
    pthread_t *workers;         /* [n_threads - 1] */
    pthread_mutex_t job_mu;     /* held by the caller running a job: one job at a time */
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t wake;        /* a new job (or stop) for the workers */
    pthread_cond_t done;        /* the last worker left the job */
    unsigned long generation;   /* bumped for each job */
    int stop;
    int busy;                   /* workers not yet finished with the current job */
    ac__task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;            /* next task index to hand out */
};

static void run_tasks(ac_threadpool *tp, ac__task_fn fn, void *ctx, int n_tasks)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&tp->next, 1, memory_order_relaxed);
        if (t >= n_tasks)
            break;
        fn(ctx, t);
    }
}

static void *worker_main(void *arg)
{
    ac_threadpool *tp = arg;
    unsigned long seen = 0;
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
        run_tasks(tp, fn, ctx, n);
        pthread_mutex_lock(&tp->mu);
        if (--tp->busy == 0)
            pthread_cond_signal(&tp->done);
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
    atomic_init(&tp->next, 0);
    pthread_mutex_init(&tp->job_mu, NULL);
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->wake, NULL);
    pthread_cond_init(&tp->done, NULL);
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
    pthread_cond_destroy(&tp->done);
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
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n_tasks = n_tasks;
    atomic_store_explicit(&tp->next, 0, memory_order_relaxed);
    tp->busy = tp->n_threads - 1;
    tp->generation++;
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mu);

    run_tasks(tp, fn, ctx, n_tasks);

    pthread_mutex_lock(&tp->mu);
    while (tp->busy > 0)
        pthread_cond_wait(&tp->done, &tp->mu);
    pthread_mutex_unlock(&tp->mu);
    pthread_mutex_unlock(&tp->job_mu);
}
