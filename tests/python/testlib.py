"""tests/python/testlib.py: the check helpers every tests/python/test_*.py shares.

This is: the line format tests/run.sh counts (`PASS: name`, `FAIL: name: why`, `SKIP: name: why`,
one line per check, flushed so a crash leaves the lines before it) and the count of failures that
decides the exit status. It is not: a test (run.sh runs test_*.py only) nor a test runner.

    import testlib
    from testlib import check, report

    def loss_falls():
        return first > last, "loss %.3f -> %.3f" % (first, last)   # or (None, why) to skip

    check("loss_falls", loss_falls)          # runs it; an exception is a FAIL with its message
    report("file_written", os.path.exists(p), p)
    sys.exit(testlib.exit_status())
"""
import sys

_failures = 0


def report(name, ok, why=""):
    """Prints PASS when ok is true, else FAIL with why (and counts it)."""
    global _failures
    if ok:
        print("PASS: %s" % name)
    else:
        _failures += 1
        print("FAIL: %s: %s" % (name, why))
    sys.stdout.flush()


def skip(name, why):
    """Prints SKIP with why: a check that could not run here (a tool or file missing)."""
    print("SKIP: %s: %s" % (name, why))
    sys.stdout.flush()


def check(name, fn):
    """Runs fn() -> (ok, why): ok None is a SKIP, otherwise report(name, ok, why); an exception
    from fn is a FAIL whose reason is the exception's type and message."""
    try:
        ok, why = fn()
    except Exception as e:  # noqa: BLE001 (a check must report, not end the run)
        ok, why = False, "%s: %s" % (type(e).__name__, e)
    if ok is None:
        skip(name, why)
    else:
        report(name, ok, why)


def failure_count():
    """The number of FAIL lines printed so far."""
    return _failures


def exit_status():
    """1 when any check failed, else 0: what a test file passes to sys.exit()."""
    return 1 if _failures else 0
