/*
 * Error codes of libartemis: static messages for artemis_strerror(), artemis_free() for
 * memory the library hands out, and the one helper that fills artemis_error_t.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artemis/error.h"
#include "error_int.h"

ARTEMIS_EXPORT const char *artemis_strerror(artemis_err_t code)
{
    switch (code) {
    case ARTEMIS_OK:
        return "success";
    case ARTEMIS_ERR_NOMEM:
        return "out of memory";
    case ARTEMIS_ERR_INVALID_ARG:
        return "invalid argument";
    case ARTEMIS_ERR_IO:
        return "I/O error";
    case ARTEMIS_ERR_TIMEOUT:
        return "timed out";
    case ARTEMIS_ERR_PROTOCOL:
        return "protocol error";
    case ARTEMIS_ERR_HTTP:
        return "HTTP error status";
    case ARTEMIS_ERR_NOT_FOUND:
        return "not found";
    case ARTEMIS_ERR_CONFLICT:
        return "conflict";
    case ARTEMIS_ERR_CLOSED:
        return "client stopped";
    case ARTEMIS_ERR_STATE:
        return "not allowed in this state";
    case ARTEMIS_ERR_SERVER:
        return "server reported a failure";
    case ARTEMIS_ERR_UNAVAILABLE:
        return "no server available";
    }
    return "unknown error";
}

ARTEMIS_EXPORT void artemis_free(void *p)
{
    free(p);
}

void artemisi_text_sanitise(char *s, size_t len, int truncated)
{
    if (truncated && len > 0) {
        /* Drop a trailing partial UTF-8 sequence: back up over continuation bytes to the
         * lead byte and keep the sequence only if it is complete. */
        size_t i = len, cont = 0;
        while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3) {
            i--;
            cont++;
        }
        if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
            unsigned char lead = (unsigned char)s[i - 1];
            size_t need = (lead & 0xE0) == 0xC0   ? 1
                          : (lead & 0xF0) == 0xE0 ? 2
                          : (lead & 0xF8) == 0xF0 ? 3
                                                  : 0;
            if (need != cont) {
                len = i - 1;
                s[len] = '\0';
            }
        }
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';
}

void artemisi_set_error(artemis_error_t *err, artemis_err_t code, int sys_errno, long http_status,
                        const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t len;

    if (!err)
        return;
    err->code = code;
    err->sys_errno = sys_errno;
    err->http_status = http_status;
    if (!fmt) {
        snprintf(err->text, sizeof(err->text), "%s", artemis_strerror(code));
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(err->text, sizeof(err->text), "%s", artemis_strerror(code));
        return;
    }
    len = (size_t)n < sizeof(err->text) ? (size_t)n : sizeof(err->text) - 1;
    artemisi_text_sanitise(err->text, len, (size_t)n >= sizeof(err->text));
}
