#include "fm_status.h"

#include <stdarg.h>
#include <stdio.h>

int fm_fail(fm_error *err, int code, long long offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
