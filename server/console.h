/*
 * The web console's files, compiled into the server (docs/operations.md "Web console").
 * The table is generated at build time from server/console/ by server/console/embed.sh, so
 * the binary carries every byte the console needs and nothing is read from disk at run time.
 * Pure data; thread-safe.
 */
#ifndef ARTEMIS_SERVER_CONSOLE_H
#define ARTEMIS_SERVER_CONSOLE_H

#include <stddef.h>

typedef struct srv_console_file {
    const char *name;         /* "index.html": the path under /console/ */
    const char *content_type; /* chosen by extension in embed.sh */
    const char *etag;         /* W/"<crc32>-<size>" of the bytes (cksum), quoted */
    const unsigned char *data;
    size_t len;
} srv_console_file_t;

extern const srv_console_file_t srv_console_files[];
extern const size_t srv_console_n_files;

/* The embedded file called `name` ("" = index.html), or NULL. */
const srv_console_file_t *srv_console_find(const char *name);

#endif
