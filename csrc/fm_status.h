/* Status codes and the caller-owned error struct shared by every fm_ kernel.
 *
 * No kernel keeps global state: the caller passes an fm_error that the kernel
 * fills on failure, so concurrent calls from several threads are safe.
 */
#ifndef FM_STATUS_H
#define FM_STATUS_H

#include <stddef.h>

#define FM_VERSION_STRING "0.1.0"

typedef enum {
    FM_OK = 0,
    FM_ERR_FORMAT = 1,   /* malformed FITS bytes; offset says where */
    FM_ERR_ARG = 2,      /* caller passed inconsistent sizes or modes */
    FM_ERR_NOMEM = 3,
    FM_ERR_IO = 4        /* errno holds the cause */
} fm_status;

typedef struct {
    int code;            /* an fm_status */
    long long offset;    /* byte offset of the problem, -1 when none */
    char message[160];
} fm_error;

/* Fill err (if given) and return code; used as `return fm_fail(...)`. */
int fm_fail(fm_error *err, int code, long long offset, const char *fmt, ...);

#endif
