/* toml.h: a reader for the subset of TOML that config.toml uses. Internal to src/server/.
 *
 * What it reads: `key = value` lines; bare keys ([A-Za-z0-9_-]), quoted keys and dotted keys;
 * [table] headers (their keys come out as "table.key"); values: basic strings "..." with TOML's
 * escapes, literal strings '...', integers (decimal with _ separators, 0x, 0o, 0b), floats
 * (1.5, 1e3, inf, nan), booleans, and arrays of those (over several lines, trailing comma allowed);
 * # comments; LF or CRLF line ends. What it refuses with a message: multi-line strings, inline
 * tables, arrays of tables, nested arrays, dates, duplicate keys, invalid UTF-8, control characters.
 * It does not know what keys mean: config.c does.
 */
#ifndef AC_SERVER_TOML_H
#define AC_SERVER_TOML_H

#include "autocorrect/common.h"

#include <stdbool.h>
#include <stdint.h>

enum ac__toml_type { AC__TOML_STRING, AC__TOML_INTEGER, AC__TOML_FLOAT, AC__TOML_BOOL, AC__TOML_ARRAY };

typedef struct ac__toml_value {
    int type;            /* enum ac__toml_type */
    char *str;           /* STRING: NUL-terminated UTF-8 (may not contain NUL), str_len bytes */
    size_t str_len;
    int64_t integer;     /* INTEGER */
    double number;       /* FLOAT */
    bool boolean;        /* BOOL */
    struct ac__toml_value *items; /* ARRAY: [n_items] scalars */
    size_t n_items;
} ac__toml_value;

/* Called once per key = value, in file order. `key` is the full dotted name ("table.key"),
 * `line` the 1-based line of the key. The value lives only during the call. Return AC_OK to go on;
 * any other status stops the parse and is returned (write the message into err). */
typedef int (*ac__toml_visit_fn)(void *user, const char *key, const ac__toml_value *value, int line,
                                 char *err);

/* Parses text[len] (need not be NUL-terminated; a NUL byte inside is an error). `filename` appears
 * in messages as "FILE:LINE: ...". Returns AC_OK, AC_E_FORMAT with a message, AC_E_NOMEM, or the
 * visitor's status. */
int ac__toml_parse(const char *text, size_t len, const char *filename, ac__toml_visit_fn visit,
                   void *user, char *err);

/* "a string", "an integer", ... for messages. */
const char *ac__toml_type_name(int type);

#endif
