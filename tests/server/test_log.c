/* Tests of the daemon's log rate limit (src/server/log.c, ac__log_limit_pass) on a fake clock: the
 * times below are what the daemon would read from ac_now(), chosen by hand.
 *
 * Not here: the limit wired to refused peers in a running daemon (tests/server/test_daemon.c,
 * peer_refusals_rate_limited).
 */
#include "check.h"
#include "server/log.h"

/* The first event is logged, with nothing held back before it. */
static void log_limit_first_passes(void)
{
    ac__log_limit l = {.interval = 1.0};
    unsigned long held = 99;
    CHECK(ac__log_limit_pass(&l, 100.0, &held) == 1);
    CHECK(held == 0);
}

/* Events within the interval are held back and counted; the first one at or past it is logged
 * with the count, which then starts again from zero. */
static void log_limit_counts_held(void)
{
    ac__log_limit l = {.interval = 1.0};
    unsigned long held = 99;
    CHECK(ac__log_limit_pass(&l, 100.0, &held) == 1);
    CHECK(ac__log_limit_pass(&l, 100.1, &held) == 0);
    CHECK(ac__log_limit_pass(&l, 100.5, &held) == 0);
    CHECK(ac__log_limit_pass(&l, 100.999, &held) == 0);
    CHECK(ac__log_limit_pass(&l, 101.0, &held) == 1);
    CHECKF(held == 3, "held = %lu, want 3", held);
    /* the window restarts at the line just logged (101.0), not at the first one */
    CHECK(ac__log_limit_pass(&l, 101.9, &held) == 0);
    held = 99;
    CHECK(ac__log_limit_pass(&l, 102.5, &held) == 1);
    CHECKF(held == 1, "held = %lu, want 1", held);
    held = 99;
    CHECK(ac__log_limit_pass(&l, 200.0, &held) == 1);
    CHECKF(held == 0, "held = %lu, want 0", held);
}

/* A flood of one event a millisecond for 10 s: 10 lines, and every event is either logged or
 * counted in a later line (except those after the last line, still pending). */
static void log_limit_flood(void)
{
    ac__log_limit l = {.interval = 1.0};
    int lines = 0;
    unsigned long reported = 0, held = 0;
    for (int i = 0; i < 10000; i++) {
        if (ac__log_limit_pass(&l, 5.0 + i * 0.001, &held)) {
            lines++;
            reported += held;
        }
    }
    CHECKF(lines == 10, "%d lines, want 10", lines);
    CHECKF(reported + (unsigned long)lines + l.held == 10000, "reported %lu + lines %d + pending %lu != 10000",
           reported, lines, l.held);
    CHECK(l.held > 0);
}

/* A clock that went back lets the line through rather than holding lines back until it catches up. */
static void log_limit_clock_back(void)
{
    ac__log_limit l = {.interval = 1.0};
    unsigned long held = 0;
    CHECK(ac__log_limit_pass(&l, 1000.0, &held) == 1);
    CHECK(ac__log_limit_pass(&l, 1000.2, &held) == 0);
    CHECK(ac__log_limit_pass(&l, 3.0, &held) == 1);
    CHECKF(held == 1, "held = %lu, want 1", held);
    CHECK(ac__log_limit_pass(&l, 3.5, &held) == 0);
}

/* A zero interval limits nothing. */
static void log_limit_zero_interval(void)
{
    ac__log_limit l = {.interval = 0};
    unsigned long held = 99;
    for (int i = 0; i < 5; i++) {
        CHECK(ac__log_limit_pass(&l, 7.0, &held) == 1);
        CHECK(held == 0);
    }
}

int main(void)
{
    RUN(log_limit_first_passes);
    RUN(log_limit_counts_held);
    RUN(log_limit_flood);
    RUN(log_limit_clock_back);
    RUN(log_limit_zero_interval);
    return CHECK_EXIT_CODE();
}
