/*
 * Sliding-window rate limiters for the server (protocol.md §3.4); see ratelimit.h.
 *
 * Each identity keeps a ring of 10 one-second buckets. A bucket remembers which second it
 * holds, so a bucket from an older second is simply ignored when summing and reset when it is
 * reused: expiry is lazy and exact for any jump in time. Identities live in a small array
 * searched linearly (the set is fixed and short), created on first use.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "strutil.h"

typedef struct srv_rl_entry {
    char *name; /* NULL for the shared "other" entry */
    long limit;
    srv_rlwin_t win;
} srv_rl_entry_t;

typedef struct srv_rl_override {
    char *name;
    long limit;
} srv_rl_override_t;

struct srv_ratelimit {
    int enabled;
    long default_limit;
    srv_rl_override_t *ov;
    size_t nov;
    size_t nent;
    uint64_t rejected;
    srv_rl_entry_t other;
    srv_rl_entry_t ent[SRV_RATELIMIT_MAX_IDENTITIES];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        srv_oom();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void free_overrides(srv_rl_override_t *ov, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ov[i].name);
    free(ov);
}

static void trim(const char **b, const char **e)
{
    artemisi_trim_range(b, e);
}

/* Parse "identity:limit,identity:limit". Returns 0 with a new array (maybe NULL, n 0), or -1. */
static int parse_map(const char *map, srv_rl_override_t **out, size_t *nout, char *err,
                     size_t errlen)
{
    *out = NULL;
    *nout = 0;
    if (!map || !*map)
        return 0;
    srv_rl_override_t *ov = NULL;
    size_t n = 0, cap = 0, item = 0;
    const char *p = map;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *b = p, *e = end;
        item++;
        trim(&b, &e);
        if (b < e) {
            const char *colon = memchr(b, ':', (size_t)(e - b));
            if (!colon) {
                set_err(err, errlen, "rate-limit-map item %zu \"%.*s\": missing ':'", item,
                        (int)(e - b), b);
                goto fail;
            }
            const char *nb = b, *ne = colon, *vb = colon + 1, *ve = e;
            trim(&nb, &ne);
            trim(&vb, &ve);
            if (nb == ne) {
                set_err(err, errlen, "rate-limit-map item %zu \"%.*s\": empty identity", item,
                        (int)(e - b), b);
                goto fail;
            }
            char num[32];
            size_t vlen = (size_t)(ve - vb);
            long v = 0;
            int ok = vlen > 0 && vlen < sizeof(num);
            if (ok) {
                memcpy(num, vb, vlen);
                num[vlen] = '\0';
                char *stop;
                errno = 0;
                v = strtol(num, &stop, 10);
                ok = errno == 0 && *stop == '\0' && stop != num && num[0] != ' ' && num[0] != '\t';
            }
            if (!ok) {
                set_err(err, errlen, "rate-limit-map item %zu \"%.*s\": bad number", item,
                        (int)(e - b), b);
                goto fail;
            }
            if (v <= 0) {
                set_err(err, errlen, "rate-limit-map item %zu \"%.*s\": limit must be > 0", item,
                        (int)(e - b), b);
                goto fail;
            }
            size_t nlen = (size_t)(ne - nb);
            size_t i;
            for (i = 0; i < n; i++)
                if (strlen(ov[i].name) == nlen && memcmp(ov[i].name, nb, nlen) == 0)
                    break;
            if (i < n) {
                ov[i].limit = v; /* repeated identity: last one wins */
            } else {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    srv_rl_override_t *nov = realloc(ov, cap * sizeof(*ov));
                    if (!nov)
                        srv_oom();
                    ov = nov;
                }
                ov[n].name = dup_range(nb, nlen);
                ov[n].limit = v;
                n++;
            }
        }
        if (!*end)
            break;
        p = end + 1;
    }
    *out = ov;
    *nout = n;
    return 0;
fail:
    free_overrides(ov, n);
    return -1;
}

static long lookup_limit(const srv_ratelimit_t *rl, const char *identity)
{
    if (identity)
        for (size_t i = 0; i < rl->nov; i++)
            if (strcmp(rl->ov[i].name, identity) == 0)
                return rl->ov[i].limit;
    return rl->default_limit;
}

static void entry_reset(srv_rl_entry_t *e)
{
    srv_rlwin_init(&e->win);
}

static int apply_config(srv_ratelimit_t *rl, int enabled, long default_limit, const char *map,
                        char *err, size_t errlen)
{
    if (default_limit <= 0) {
        set_err(err, errlen, "default-rate-limit must be > 0 (got %ld)", default_limit);
        return -1;
    }
    srv_rl_override_t *ov;
    size_t nov;
    if (parse_map(map, &ov, &nov, err, errlen) < 0)
        return -1;
    free_overrides(rl->ov, rl->nov);
    rl->ov = ov;
    rl->nov = nov;
    rl->enabled = enabled ? 1 : 0;
    rl->default_limit = default_limit;
    for (size_t i = 0; i < rl->nent; i++)
        rl->ent[i].limit = lookup_limit(rl, rl->ent[i].name);
    rl->other.limit = default_limit;
    return 0;
}

srv_ratelimit_t *srv_ratelimit_new(int enabled, long default_limit, const char *map, char *err,
                                   size_t errlen)
{
    srv_ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (!rl)
        srv_oom();
    entry_reset(&rl->other);
    if (apply_config(rl, enabled, default_limit, map, err, errlen) < 0) {
        free(rl);
        return NULL;
    }
    return rl;
}

void srv_ratelimit_free(srv_ratelimit_t *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->nent; i++)
        free(rl->ent[i].name);
    free_overrides(rl->ov, rl->nov);
    free(rl);
}

int srv_ratelimit_configure(srv_ratelimit_t *rl, int enabled, long default_limit, const char *map,
                            char *err, size_t errlen)
{
    return apply_config(rl, enabled, default_limit, map, err, errlen);
}

/* The entry for identity, or NULL if it has none yet and there is still room for one. */
static srv_rl_entry_t *find_entry(const srv_ratelimit_t *rl, const char *identity)
{
    srv_ratelimit_t *m = (srv_ratelimit_t *)rl;
    if (!identity)
        return &m->other;
    for (size_t i = 0; i < rl->nent; i++)
        if (strcmp(rl->ent[i].name, identity) == 0)
            return &m->ent[i];
    if (rl->nent == SRV_RATELIMIT_MAX_IDENTITIES)
        return &m->other;
    return NULL;
}

/* ---- windows ------------------------------------------------------------------------------ */

static int64_t sec_of(int64_t ms)
{
    /* floor division, also for negative monotonic values */
    return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

static int bucket_of(int64_t sec)
{
    int64_t r = sec % SRV_RATELIMIT_BUCKETS;
    return (int)(r < 0 ? r + SRV_RATELIMIT_BUCKETS : r);
}

void srv_rlwin_init(srv_rlwin_t *w)
{
    w->last_sec = INT64_MIN;
    for (int i = 0; i < SRV_RATELIMIT_BUCKETS; i++) {
        w->sec[i] = INT64_MIN;
        w->count[i] = 0;
    }
}

/* The second `now_ms` falls in, never earlier than the newest second already seen. */
static int64_t cur_sec(const srv_rlwin_t *w, int64_t now_ms)
{
    int64_t cur = sec_of(now_ms);
    return cur < w->last_sec ? w->last_sec : cur;
}

long srv_rlwin_sum(const srv_rlwin_t *w, int64_t now_ms)
{
    int64_t cur = cur_sec(w, now_ms);
    long sum = 0;
    for (int i = 0; i < SRV_RATELIMIT_BUCKETS; i++)
        if (w->sec[i] <= cur && w->sec[i] > cur - SRV_RATELIMIT_BUCKETS)
            sum += w->count[i];
    return sum;
}

void srv_rlwin_add(srv_rlwin_t *w, long n, int64_t now_ms)
{
    int64_t cur = cur_sec(w, now_ms);
    w->last_sec = cur;
    int b = bucket_of(cur);
    if (w->sec[b] != cur) {
        w->sec[b] = cur;
        w->count[b] = 0;
    }
    w->count[b] += n;
}

/* ---- limiter --------------------------------------------------------------------------- */

int srv_ratelimit_acquire(srv_ratelimit_t *rl, const char *identity, long n, int64_t now_ms)
{
    if (!rl->enabled || n <= 0)
        return 1;
    srv_rl_entry_t *e = find_entry(rl, identity);
    if (!e) {
        e = &rl->ent[rl->nent++];
        e->name = dup_range(identity, strlen(identity));
        e->limit = lookup_limit(rl, identity);
        entry_reset(e);
    }
    long used = srv_rlwin_sum(&e->win, now_ms);
    if (n > e->limit || used > e->limit - n) {
        rl->rejected++;
        return 0;
    }
    srv_rlwin_add(&e->win, n, now_ms);
    return 1;
}

int srv_ratelimit_check(const srv_ratelimit_t *rl, const char *identity, long n, int64_t now_ms)
{
    if (!rl->enabled || n <= 0)
        return 1;
    const srv_rl_entry_t *e = find_entry(rl, identity);
    long limit = e ? e->limit : lookup_limit(rl, identity);
    long used = e ? srv_rlwin_sum(&e->win, now_ms) : 0;
    return n <= limit && used <= limit - n;
}

long srv_ratelimit_limit_for(const srv_ratelimit_t *rl, const char *identity)
{
    return lookup_limit(rl, identity);
}

long srv_ratelimit_count(const srv_ratelimit_t *rl, const char *identity, int64_t now_ms)
{
    const srv_rl_entry_t *e = find_entry(rl, identity);
    return e ? srv_rlwin_sum(&e->win, now_ms) : 0;
}

int srv_ratelimit_enabled(const srv_ratelimit_t *rl)
{
    return rl->enabled;
}

uint64_t srv_ratelimit_rejected(const srv_ratelimit_t *rl)
{
    return rl->rejected;
}
