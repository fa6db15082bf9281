/*
 * Logging of libartemis (see log_int.h): level filter, bounded formatting, and the
 * ARTEMIS_DEBUG=1 stderr fallback for applications that set no callback.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_int.h"
#include "log_int.h"

/* -1: not read yet, 0: off, 1: ARTEMIS_DEBUG=1. */
static atomic_int debug_env = -1;

static int debug_enabled(void)
{
    int v = atomic_load_explicit(&debug_env, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("ARTEMIS_DEBUG");
        v = (e && strcmp(e, "1") == 0) ? 1 : 0;
        atomic_store_explicit(&debug_env, v, memory_order_relaxed);
    }
    return v;
}

void artemisi_log_reload_env(void)
{
    atomic_store_explicit(&debug_env, -1, memory_order_relaxed);
}

int artemisi_log_enabled(const artemisi_logger_t *lg, artemis_log_level_t lvl)
{
    if ((int)lvl < (int)ARTEMIS_LOG_DEBUG || (int)lvl >= (int)ARTEMIS_LOG_NONE)
        return 0;
    if (lg && lg->cb)
        return (int)lvl >= lg->level;
    return debug_enabled();
}

static const char *level_name(artemis_log_level_t lvl)
{
    switch (lvl) {
    case ARTEMIS_LOG_DEBUG:
        return "DEBUG";
    case ARTEMIS_LOG_INFO:
        return "INFO";
    case ARTEMIS_LOG_WARN:
        return "WARN";
    case ARTEMIS_LOG_ERROR:
        return "ERROR";
    case ARTEMIS_LOG_NONE:
        break;
    }
    return "?";
}

void artemisi_log(const artemisi_logger_t *lg, artemis_log_level_t lvl, const char *module,
                  const char *fmt, ...)
{
    char msg[ARTEMISI_LOG_MAX];
    va_list ap;
    int n;
    size_t len;

    if (!fmt || !artemisi_log_enabled(lg, lvl))
        return;
    if (!module)
        module = "artemis";
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    artemisi_text_sanitise(msg, len, (size_t)n >= sizeof(msg));
    if (lg && lg->cb)
        lg->cb(lg->ud, lvl, module, msg);
    else
        fprintf(stderr, "artemis %s [%s] %s\n", level_name(lvl), module, msg);
}
