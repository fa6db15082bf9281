/*
 * Output for artemisctl: aligned tables for people, one sorted compact JSON object per line
 * for programs (`--json`), and the small formatting and jansson helpers the commands share.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

int ctl_oom(void)
{
    fprintf(stderr, "artemisctl: out of memory\n");
    return CTL_FAIL;
}

int ctl_table_init(ctl_table_t *t, size_t ncols, const char *const *header)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    return ctl_table_add(t, header);
}

int ctl_table_add(ctl_table_t *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
        if (!cells)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    char **dst = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        dst[i] = strdup(row[i] && *row[i] ? row[i] : "-");
        if (!dst[i]) {
            while (i--)
                free(dst[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

void ctl_table_free(ctl_table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void ctl_table_print(ctl_table_t *t)
{
    size_t w[32] = {0};
    size_t nc = t->ncols < 32 ? t->ncols : 32;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t k = 0; k < nc; k++) {
            size_t n = strlen(t->cells[r * t->ncols + k]);
            if (n > w[k])
                w[k] = n;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t k = 0; k < nc; k++) {
            const char *s = t->cells[r * t->ncols + k];
            if (k + 1 == nc)
                printf("%s\n", s);
            else
                printf("%-*s  ", (int)w[k], s);
        }
    }
    fflush(stdout);
    ctl_table_free(t);
}

void ctl_table_done(const ctl_t *c, ctl_table_t *t, int rc)
{
    /* With --json the rows went out as JSON lines and the table was never made. */
    if (c->json)
        return;
    if (rc == CTL_OK)
        ctl_table_print(t);
    else
        ctl_table_free(t);
}

void ctl_json_line(const json_t *obj)
{
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', stdout);
    fflush(stdout);
}

const char *ctl_fmt_age(int64_t ms, char *buf, size_t n)
{
    if (ms < 0)
        ms = 0;
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, n, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(buf, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, n, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
    return buf;
}

const char *ctl_fmt_time(int64_t epoch_ms, char *buf, size_t n)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, n, "%" PRId64, epoch_ms);
    return buf;
}

int64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ctl_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int64_t ctl_int(const json_t *o, const char *key, int64_t def)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    const char *s = json_string_value(v);
    if (s && *s) {
        char *end;
        long long x = strtoll(s, &end, 10);
        if (*end == '\0')
            return (int64_t)x;
    }
    return def;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "artemisctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try --help)\n");
    va_end(ap);
    return CTL_USAGE;
}

int ctl_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
