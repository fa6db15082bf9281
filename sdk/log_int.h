/*
 * Internal logging of libartemis: one line per message, delivered to the application's
 * log callback (artemis_config_set_log_cb) at or above its level. Without a callback the
 * library is silent, unless ARTEMIS_DEBUG=1 is in the environment: then every line goes
 * to stderr with its module name. Use ARTEMISI_LOG(), which tests the level before it
 * evaluates the format arguments.
 */
#ifndef ARTEMIS_SDK_LOG_INT_H
#define ARTEMIS_SDK_LOG_INT_H

#include "artemis/config.h"

/* Longest message handed to a callback, terminating NUL included. */
#define ARTEMISI_LOG_MAX 512

typedef struct artemisi_logger {
    artemis_log_cb cb;
    void *ud;
    int level; /* an artemis_log_level_t: messages below it are dropped */
} artemisi_logger_t;

/* 1 if a message of level lvl would go anywhere (lg may be NULL). MT-safe. */
int artemisi_log_enabled(const artemisi_logger_t *lg, artemis_log_level_t lvl);
/* Format and deliver one line (cut to ARTEMISI_LOG_MAX - 1 bytes, never inside a UTF-8
 * sequence, line breaks turned into spaces). Checks artemisi_log_enabled() itself. */
void artemisi_log(const artemisi_logger_t *lg, artemis_log_level_t lvl, const char *module,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Read ARTEMIS_DEBUG again (it is read once, on first use). For tests. */
void artemisi_log_reload_env(void);

#define ARTEMISI_LOG(lg, lvl, module, ...)                                                         \
    do {                                                                                           \
        if (artemisi_log_enabled((lg), (lvl)))                                                     \
            artemisi_log((lg), (lvl), (module), __VA_ARGS__);                                      \
    } while (0)

#endif
