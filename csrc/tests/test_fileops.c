/* fm_insert_range / fm_collapse_range on a real file in the working
 * directory: bytes move by whole blocks and come back unchanged.  A file
 * system without the operation must report EOPNOTSUPP (the callers' cue to
 * copy instead), which is then all that is checked. */
#include "fm_check.h"
#include "fm_fileops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define NBLOCKS 8

int main(void)
{
    char path[] = "fm_fileops_testXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return fm_check_exit();
    unlink(path);
    struct statvfs vfs;
    CHECK(fstatvfs(fd, &vfs) == 0);
    long long bs = (long long)vfs.f_bsize;
    size_t size = (size_t)(NBLOCKS * bs);
    unsigned char *orig = malloc(size), *back = malloc(size + (size_t)bs);
    for (size_t i = 0; i < size; i++)
        orig[i] = (unsigned char)(i * 7 + i / 4096);
    CHECK(pwrite(fd, orig, size, 0) == (ssize_t)size);

    fm_error err;
    int status = fm_insert_range(fd, 2 * bs, bs, &err);
    if (status != FM_OK) {
        CHECK(status == FM_ERR_IO && err.code == FM_ERR_IO);
        CHECK(errno == EOPNOTSUPP || errno == ENOSYS);
        CHECK(strstr(err.message, "inserting a range") != NULL);
    } else {
        struct stat st;
        CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)(size + (size_t)bs));
        CHECK(pread(fd, back, size + (size_t)bs, 0) == (ssize_t)(size + (size_t)bs));
        CHECK(memcmp(back, orig, (size_t)(2 * bs)) == 0);
        int zeros = 1;
        for (long long i = 0; i < bs; i++)
            zeros &= back[2 * bs + i] == 0;
        CHECK(zeros);
        CHECK(memcmp(back + 3 * bs, orig + 2 * bs, size - (size_t)(2 * bs)) == 0);

        CHECK(fm_collapse_range(fd, 2 * bs, bs, &err) == FM_OK);
        CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)size);
        CHECK(pread(fd, back, size, 0) == (ssize_t)size);
        CHECK(memcmp(back, orig, size) == 0);

        /* misaligned: refused with EINVAL, the file untouched */
        CHECK(fm_insert_range(fd, 100, bs, &err) == FM_ERR_IO);
        CHECK(errno == EINVAL);
        CHECK(err.offset == 100);
        CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)size);
    }
    free(orig);
    free(back);
    close(fd);
    return fm_check_exit();
}
