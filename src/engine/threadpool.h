/* threadpool.h: the engine's internal parallel-for over an ac_threadpool (engine.h). */
#ifndef AC_ENGINE_THREADPOOL_H
#define AC_ENGINE_THREADPOOL_H

#include "autocorrect/engine.h"

/* One task of a job: fn(ctx, task) for task in [0, n_tasks). */
typedef void (*ac__task_fn)(void *ctx, int task);

/* Runs fn(ctx, t) for every t in [0, n_tasks) on the pool's threads and the caller's, and returns
 * when all have finished. Tasks run in any order and concurrently, so each must write only its own
 * outputs. tp NULL (or one thread) runs them in order on the caller's thread. Concurrent callers
 * take turns; fn must not call ac__threadpool_run on the same pool. */
void ac__threadpool_run(ac_threadpool *tp, int n_tasks, ac__task_fn fn, void *ctx);

#endif
