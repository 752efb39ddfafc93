/* Moving a file's bytes by whole file-system blocks without copying them:
 * the file system inserts or removes a range of blocks and shifts the
 * extents after it (Linux fallocate INSERT_RANGE / COLLAPSE_RANGE; ext4 and
 * XFS support it).  offset and length must be multiples of the file
 * system's block size, and offset must lie inside the file.
 *
 * On failure both return FM_ERR_IO with errno kept (EOPNOTSUPP where the
 * file system or platform cannot do it, EINVAL for a misaligned range), so
 * a caller can fall back to copying.
 */
#ifndef FM_FILEOPS_H
#define FM_FILEOPS_H

#include "fm_status.h"

/* Insert `length` zero bytes at `offset`; the bytes from offset on move
 * `length` bytes towards the end. */
int fm_insert_range(int fd, long long offset, long long length, fm_error *err);

/* Remove the `length` bytes at `offset`; the bytes after them move back. */
int fm_collapse_range(int fd, long long offset, long long length, fm_error *err);

#endif
