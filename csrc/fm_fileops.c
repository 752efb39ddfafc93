#define _GNU_SOURCE
#include "fm_fileops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#if defined(__linux__) && defined(FALLOC_FL_INSERT_RANGE) && \
    defined(FALLOC_FL_COLLAPSE_RANGE)
#define FM_HAVE_SHIFT 1
#endif

static int shift(int fd, long long offset, long long length, int insert,
                 fm_error *err)
{
#ifdef FM_HAVE_SHIFT
    int mode = insert ? FALLOC_FL_INSERT_RANGE : FALLOC_FL_COLLAPSE_RANGE;
    if (fallocate(fd, mode, (off_t)offset, (off_t)length) == 0)
        return FM_OK;
#else
    (void)fd;
    errno = EOPNOTSUPP;
#endif
    /* the caller decides on errno (fall back or fail), so fm_fail, which
     * formats text, must not be the last to set it */
    int cause = errno;
    fm_fail(err, FM_ERR_IO, offset, "%s of %lld bytes at byte %lld failed: %s",
            insert ? "inserting a range" : "collapsing a range", length, offset,
            strerror(cause));
    errno = cause;
    return FM_ERR_IO;
}

int fm_insert_range(int fd, long long offset, long long length, fm_error *err)
{
    return shift(fd, offset, length, 1, err);
}

int fm_collapse_range(int fd, long long offset, long long length, fm_error *err)
{
    return shift(fd, offset, length, 0, err);
}
