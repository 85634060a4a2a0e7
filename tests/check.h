/* check.h: the tiny test harness every C test program uses.
 *
 * A test is a `static void name(void)` function; CHECK* macros record failures with file and line
 * and keep going. main() runs tests with RUN(name) and returns CHECK_EXIT_CODE(), so the program's
 * exit status reflects failures. Output, one line per test, is what tests/run.sh counts:
 *   PASS: name | FAIL: name: first failure | SKIP: name: reason
 *
 *   static void bpe_roundtrip(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-4); }
 *   int main(void) { RUN(bpe_roundtrip); return CHECK_EXIT_CODE(); }
 */
#ifndef AC_TESTS_CHECK_H
#define AC_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check__test_failed;    /* failures in the running test */
static int check__test_skipped;   /* the running test called SKIP */
static char check__first[512];    /* the first failure of the running test */
static int check__failed_tests;   /* failed tests so far */

static inline void check__fail(const char *file, int line, const char *what)
{
    if (!check__test_failed)
        snprintf(check__first, sizeof check__first, "%s:%d: %s", file, line, what);
    check__test_failed++;
    fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
}

#define CHECK(cond) do { if (!(cond)) check__fail(__FILE__, __LINE__, #cond); } while (0)

/* CHECK with a printf-style explanation. */
#define CHECKF(cond, ...) do { if (!(cond)) { char check__m[400]; snprintf(check__m, sizeof check__m, __VA_ARGS__); \
    check__fail(__FILE__, __LINE__, check__m); } } while (0)

#define CHECK_NEAR(a, b, tol) do { double check__a = (a), check__b = (b); \
    if (!(fabs(check__a - check__b) <= (tol))) { char check__m[400]; \
        snprintf(check__m, sizeof check__m, "%s = %.9g, %s = %.9g, differ by more than %g", #a, check__a, #b, check__b, (double)(tol)); \
        check__fail(__FILE__, __LINE__, check__m); } } while (0)

#define CHECK_STR(a, b) do { const char *check__a = (a), *check__b = (b); \
    if (!check__a || !check__b || strcmp(check__a, check__b) != 0) { char check__m[400]; \
        snprintf(check__m, sizeof check__m, "%s = \"%.150s\", expected \"%.150s\"", #a, check__a ? check__a : "(null)", check__b ? check__b : "(null)"); \
        check__fail(__FILE__, __LINE__, check__m); } } while (0)

/* Marks the running test skipped (for a missing optional reference) and returns from it. */
#define SKIP(...) do { check__test_skipped = 1; snprintf(check__first, sizeof check__first, __VA_ARGS__); return; } while (0)

#define RUN(fn) do { check__test_failed = 0; check__test_skipped = 0; check__first[0] = 0; fn(); \
    if (check__test_failed) { check__failed_tests++; printf("FAIL: %s: %s\n", #fn, check__first); } \
    else if (check__test_skipped) printf("SKIP: %s: %s\n", #fn, check__first); \
    else { printf("PASS: %s\n", #fn); } fflush(stdout); } while (0)

#define CHECK_EXIT_CODE() (check__failed_tests ? 1 : 0)

#endif
