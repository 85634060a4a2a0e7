/* log.h: the daemon's log, one line per event on stderr with a timestamp. Internal to the daemon.
 * Nothing here decides what is logged: callers never pass typed text unless log_requests is on. */
#ifndef AC_SERVER_LOG_H
#define AC_SERVER_LOG_H

/* Writes "YYYY-MM-DD HH:MM:SS.mmm autocorrectd[PID]: MESSAGE\n" to stderr in one write, so lines
 * from different threads never mix. Thread-safe. */
void ac__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
