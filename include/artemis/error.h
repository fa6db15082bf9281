/*
 * Errors of libartemis: one append-only enum, static messages, and an optional
 * caller-owned detail structure (jansson json_error_t style).
 */
#ifndef ARTEMIS_ERROR_H
#define ARTEMIS_ERROR_H

#include "artemis/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Codes are append-only and never renumbered. */
typedef enum artemis_err {
    ARTEMIS_OK = 0,
    ARTEMIS_ERR_NOMEM = 1,       /* an allocation failed */
    ARTEMIS_ERR_INVALID_ARG = 2, /* a NULL, empty, out-of-range or malformed argument */
    ARTEMIS_ERR_IO = 3,          /* network or file I/O failed */
    ARTEMIS_ERR_TIMEOUT = 4,     /* no answer within the configured time */
    ARTEMIS_ERR_PROTOCOL = 5,    /* the server's answer could not be understood */
    ARTEMIS_ERR_HTTP = 6,        /* the server answered an HTTP status >= 400 */
    ARTEMIS_ERR_NOT_FOUND = 7,   /* no such service / instance / file */
    ARTEMIS_ERR_CONFLICT = 8,    /* already registered / already started */
    ARTEMIS_ERR_CLOSED = 9,      /* the client was stopped */
    ARTEMIS_ERR_STATE = 10,      /* not allowed now (e.g. a blocking call from a callback) */
    ARTEMIS_ERR_SERVER = 11,     /* the server answered with a failure responseStatus */
    ARTEMIS_ERR_UNAVAILABLE = 12 /* no server could be reached; data may be stale */
} artemis_err_t;

/* Optional detail for a failed call. Caller-owned; pass NULL when not wanted. */
typedef struct artemis_error {
    artemis_err_t code;
    int sys_errno;    /* errno when relevant, else 0 */
    long http_status; /* HTTP status when relevant, else 0 */
    char text[256];   /* one line, NUL-terminated */
} artemis_error_t;

/* Static text for a code; never NULL. MT-safe. */
ARTEMIS_EXPORT const char *artemis_strerror(artemis_err_t code);

/* Free memory the library returned as char * (e.g. artemis_service_to_json). NULL is a
 * no-op. MT-safe. */
ARTEMIS_EXPORT void artemis_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
