/* log.c: timestamped log lines on stderr, and the rate limit for lines an outsider can trigger
 * (see log.h). Not here: what is logged (the callers). */
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void ac__log(const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03d autocorrectd[%d]: ", (int)(tv.tv_usec / 1000),
                  (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* one write(2): lines from threads do not interleave; a failed log write has nowhere to go */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int ac__log_limit_pass(ac__log_limit *l, double now, unsigned long *held)
{
    if (l->passed && now >= l->last && now - l->last < l->interval) {
        l->held++;
        return 0;
    }
    *held = l->held;
    l->held = 0;
    l->last = now;
    l->passed = 1;
    return 1;
}
