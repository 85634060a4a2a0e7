/* Status names and the error-message helper (see include/autocorrect/common.h). */
#include "autocorrect/common.h"

#include <stdarg.h>
#include <stdio.h>

const char *ac_status_name(int status)
{
    switch (status) {
    case AC_OK: return "ok";
    case AC_E_IO: return "io";
    case AC_E_FORMAT: return "format";
    case AC_E_UNSUPPORTED: return "unsupported";
    case AC_E_NOMEM: return "nomem";
    case AC_E_ARG: return "bad_argument";
    case AC_E_LIMIT: return "limit";
    case AC_E_CANCELLED: return "cancelled";
    case AC_E_DEADLINE: return "deadline";
    default: return "unknown";
    }
}

int ac__errorf(char *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, AC_ERR_SIZE, fmt, ap);
        va_end(ap);
    }
    return status;
}
