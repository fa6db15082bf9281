/*
 * Server logging to stderr. The level is checked before the arguments are evaluated
 * (redis serverLog). Under systemd (JOURNAL_STREAM set) lines carry <N> syslog priority
 * prefixes; otherwise a timestamped format. Never call from a signal handler.
 * Thread-safety: the server is single-threaded; srv_log_write is not reentrant.
 */
#ifndef ARTEMIS_SERVER_LOG_H
#define ARTEMIS_SERVER_LOG_H

enum srv_log_level { SRV_LOG_DEBUG = 0, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };

extern int srv_log_level;

#define srv_log(lvl, ...)                                                                          \
    do {                                                                                           \
        if ((lvl) >= srv_log_level)                                                                \
            srv_log_write((lvl), __VA_ARGS__);                                                     \
    } while (0)

void srv_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse "debug|info|warn|error"; returns -1 if unknown. */
int srv_log_level_parse(const char *s);
const char *srv_log_level_name(int level);
/* Abort after logging: the server's single out-of-memory policy. */
_Noreturn void srv_oom(void);

#endif
