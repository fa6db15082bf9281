/*
 * Filling the caller-owned artemis_error_t detail (include/artemis/error.h) in one
 * place, so every failure path sets code, errno, HTTP status and a bounded one-line text
 * the same way.
 */
#ifndef ARTEMIS_SDK_ERROR_INT_H
#define ARTEMIS_SDK_ERROR_INT_H

#include "artemis/error.h"

/* Fill *err (NULL: do nothing). The text is formatted printf-style, cut to at most 255
 * bytes (never inside a UTF-8 sequence) with line breaks replaced by spaces; fmt NULL
 * uses artemis_strerror(code). MT-safe. */
void artemisi_set_error(artemis_error_t *err, artemis_err_t code, int sys_errno, long http_status,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Cut s (NUL-terminated, length len) so it does not end inside a UTF-8 sequence, and turn
 * CR/LF/other control bytes into spaces. Shared with the logger. */
void artemisi_text_sanitise(char *s, size_t len, int truncated);

#endif
