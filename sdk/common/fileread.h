/*
 * Reading a small file whole, written once for the server's config, the sidecar's config and
 * the SDK's disk snapshots. A device (/dev/zero) would be read for ever and a FIFO would
 * block open() until a writer came (an application's start hung on one), so only a regular
 * file is read: opened with O_NONBLOCK, checked with fstat, read into one allocation sized
 * from fstat, and refused if it grew meanwhile.
 * Thread-safety: none needed (no state).
 */
#ifndef ARTEMIS_COMMON_FILEREAD_H
#define ARTEMIS_COMMON_FILEREAD_H

#include <stddef.h>

typedef enum {
    ARTEMISI_READ_OK = 0,
    ARTEMISI_READ_ERRNO,       /* open/fstat/read failed, or out of memory: see *err_no */
    ARTEMISI_READ_NOT_REGULAR, /* a device, FIFO, directory, socket */
    ARTEMISI_READ_TOO_BIG,     /* larger than max bytes */
    ARTEMISI_READ_CHANGED,     /* grew while being read */
} artemisi_read_t;

/* Read path (of at most max bytes) into a new NUL-terminated buffer *data (free with free())
 * of *len bytes. nofollow: refuse a symbolic link (O_NOFOLLOW). On failure *data is NULL and,
 * for ARTEMISI_READ_ERRNO, *err_no holds the errno (ENOMEM when the buffer could not be had);
 * *opened says whether the failure came after the file was opened. */
artemisi_read_t artemisi_read_file(const char *path, size_t max, int nofollow, char **data,
                                   size_t *len, int *err_no, int *opened);

#endif
