/* Logging to stderr; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int srv_log_level = SRV_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int srv_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return SRV_LOG_WARN;
    return -1;
}

const char *srv_log_level_name(int level)
{
    return (level >= 0 && level < 4) ? level_names[level] : "?";
}

void srv_log_write(int level, const char *fmt, ...)
{
    static const char syslog_prio[] = {'7', '6', '4', '3'};
    static const char letter[] = {'D', 'I', 'W', 'E'};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level < 0 || level > 3)
        level = SRV_LOG_ERROR;
    if (getenv("JOURNAL_STREAM")) {
        fprintf(stderr, "<%c>%s\n", syslog_prio[level], msg);
        return;
    }
    struct timeval tv;
    struct tm tm;
    char ts[32];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
    fprintf(stderr, "%d %s.%03d %c %s\n", (int)getpid(), ts, (int)(tv.tv_usec / 1000),
            letter[level], msg);
}

void srv_oom(void)
{
    static const char m[] = "artemis-server: out of memory\n";
    (void)!write(2, m, sizeof(m) - 1);
    abort();
}
