/*
 * Whole-file reads; see fileread.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileread.h"

static artemisi_read_t read_all(int fd, size_t max, char **data, size_t *len, int *err_no)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err_no = errno;
        return ARTEMISI_READ_ERRNO;
    }
    if (!S_ISREG(st.st_mode))
        return ARTEMISI_READ_NOT_REGULAR;
    if (st.st_size < 0 || (uint64_t)st.st_size > max)
        return ARTEMISI_READ_TOO_BIG;
    size_t cap = (size_t)st.st_size, n = 0;
    /* One byte more than the size: the NUL, and a file that grew shows as n > cap. */
    char *buf = malloc(cap + 1);
    if (!buf) {
        *err_no = ENOMEM;
        return ARTEMISI_READ_ERRNO;
    }
    while (n <= cap) {
        ssize_t r = read(fd, buf + n, cap + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err_no = errno;
            free(buf);
            return ARTEMISI_READ_ERRNO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > cap) {
        free(buf);
        return ARTEMISI_READ_CHANGED;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ARTEMISI_READ_OK;
}

artemisi_read_t artemisi_read_file(const char *path, size_t max, int nofollow, char **data,
                                   size_t *len, int *err_no, int *opened)
{
    *data = NULL;
    *len = 0;
    *err_no = 0;
    *opened = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it; a
     * regular file reads the same with or without it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        *err_no = errno;
        return ARTEMISI_READ_ERRNO;
    }
    *opened = 1;
    artemisi_read_t rc = read_all(fd, max, data, len, err_no);
    close(fd);
    return rc;
}
