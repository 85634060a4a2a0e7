/* log.h: the daemon's log, one line per event on stderr with a timestamp. Internal to the daemon.
 * Nothing here decides what is logged: callers never pass typed text unless log_requests is on. */
#ifndef AC_SERVER_LOG_H
#define AC_SERVER_LOG_H

/* Writes "YYYY-MM-DD HH:MM:SS.mmm autocorrectd[PID]: MESSAGE\n" to stderr in one write, so lines
 * from different threads never mix. Thread-safe. */
void ac__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A rate limit for a log line that someone else can trigger at will (a refused peer connection):
 * at most one line per `interval` seconds; the events in between are counted, and the next line
 * let through says how many there were. Start it zeroed with the interval set. Not thread-safe:
 * one owner (the event loop). The count waits for the next event: a flood that stops is reported
 * with the next line, whenever that comes.
 *
 *   static ac__log_limit lim = {.interval = 1.0};
 *   unsigned long held;
 *   if (ac__log_limit_pass(&lim, ac_now(), &held))
 *       ac__log("refused (%lu more not logged)", held);
 */
typedef struct ac__log_limit {
    double interval;     /* seconds, at least, from one line to the next */
    double last;         /* when the last line was let through (a monotonic clock, seconds) */
    int passed;          /* a line has been let through: `last` is set */
    unsigned long held;  /* events held back since that line */
} ac__log_limit;

/* Records one event at time `now` (seconds on the caller's clock: ac_now() in the daemon, a fake one
 * in tests). Returns 1 when its line may be logged, with *held set to the events held back since the
 * last line (then reset), or 0 when it is held back (counted). A clock that went back lets the line
 * through, so a bad clock never silences the log for good. */
int ac__log_limit_pass(ac__log_limit *l, double now, unsigned long *held);

#endif
