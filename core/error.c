/* Error reporting shared by every module: a status code plus a human-readable message. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

int sm_error_set(sm_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void sm_error_clear(sm_error *err)
{
    if (err) {
        err->code = SM_OK;
        err->column = 0;
        err->message[0] = '\0';
    }
}
