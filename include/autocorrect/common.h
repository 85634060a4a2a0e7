/* autocorrect/common.h: status codes, error buffers and the growable buffer shared by every module.
 *
 * Error convention: a function that can fail on outside input (a file, a request, a config) returns
 * an int status, AC_OK (0) or a negative AC_E_* code, and writes a one-line human-readable message
 * into `err`, a caller-owned buffer of AC_ERR_SIZE bytes (err may be NULL). A broken internal
 * invariant is a bug and asserts instead. Library code never exits.
 */
#ifndef AUTOCORRECT_COMMON_H
#define AUTOCORRECT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of every `char *err` buffer the API writes to. */
#define AC_ERR_SIZE 256

/* Status codes. Append-only: values never change meaning. */
enum ac_status {
    AC_OK = 0,
    AC_E_IO = -1,          /* a file or socket could not be read or written */
    AC_E_FORMAT = -2,      /* malformed input: truncated file, bad JSON, bad UTF-8 where required */
    AC_E_UNSUPPORTED = -3, /* well-formed but not something we can run (unknown op, architecture) */
    AC_E_NOMEM = -4,       /* allocation failed */
    AC_E_ARG = -5,         /* a bad argument or out-of-range value from the caller */
    AC_E_LIMIT = -6,       /* a configured limit was exceeded (context length, request size) */
    AC_E_CANCELLED = -7,   /* the work was cancelled or superseded */
    AC_E_DEADLINE = -8,    /* the time budget ran out */
};

/* A short constant name for a status code ("io", "format", ...); "unknown" for others. */
const char *ac_status_name(int status);

/* Writes a printf-style message into err (AC_ERR_SIZE bytes, may be NULL) and returns `status`,
 * so that error paths read `return ac__errorf(err, AC_E_FORMAT, "bad magic in %s", path);`. */
int ac__errorf(char *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable byte buffer. Functions that append may reallocate `data`: never keep a pointer into it
 * across an append. Zero-initialise (`ac_buf b = {0};`) to start empty; ac_buf_free releases it. */
typedef struct ac_buf {
    char *data;   /* [cap] bytes, of which [len] are used; data[len] is always 0 when data != NULL */
    size_t len;
    size_t cap;
} ac_buf;

int ac_buf_reserve(ac_buf *b, size_t extra);                  /* room for `extra` more bytes */
int ac_buf_append(ac_buf *b, const void *bytes, size_t n);     /* AC_OK or AC_E_NOMEM */
int ac_buf_printf(ac_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ac_buf_consume(ac_buf *b, size_t n);                      /* drop the first n bytes */
void ac_buf_free(ac_buf *b);

/* Appends s[0..n) made safe to print on one terminal line: LF, CR and CR LF become one space, TAB
 * stays, every other control character (C0, DEL, C1) and every invalid UTF-8 byte becomes U+FFFD,
 * so nothing in it acts on the terminal. AC_OK or AC_E_NOMEM. */
int ac_buf_append_for_terminal(ac_buf *b, const char *s, size_t n);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (*out, *len). Caller frees *out.
 * Files larger than max_bytes are refused with AC_E_LIMIT. */
int ac_file_read(const char *path, size_t max_bytes, char **out, size_t *len, char *err);

/* Maps a file read-only. *addr is NULL for an empty file. Unmap with ac_file_unmap. */
int ac_file_map(const char *path, const void **addr, size_t *len, char *err);
void ac_file_unmap(const void *addr, size_t len);

/* Monotonic clock in seconds, for deadlines and timings. */
double ac_now(void);

#ifdef __cplusplus
}
#endif
#endif
