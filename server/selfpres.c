/*
 * Self-preservation (lease-update safe checker); see selfpres.h for the rules and why they
 * differ from Eureka's.
 *
 * One ring of 1-second buckets, large enough for the largest window, holds both the renewal
 * counts and the smallest lease count each tick saw. A bucket remembers its second: stale
 * buckets are ignored when read and reset when reused, so time jumps of any size are exact.
 */
#include <limits.h>
#include <string.h>

#include "selfpres.h"

/* expected * percentage must fit in an int64_t */
#define EXPECTED_CAP (LONG_MAX / 100)

void srv_selfpres_config_init(srv_selfpres_config_t *cfg)
{
    cfg->enabled = 1;
    cfg->window_ms = 12000;
    cfg->percentage_threshold = 85;
    cfg->min_expected = 50;
    cfg->max_protection_ms = 300000;
    cfg->heartbeat_interval_ms = 5000;
}

static void correct(srv_selfpres_config_t *dst, const srv_selfpres_config_t *src)
{
    *dst = *src;
    dst->enabled = src->enabled ? 1 : 0;
    if (dst->window_ms < SRV_SELFPRES_MIN_WINDOW_MS)
        dst->window_ms = SRV_SELFPRES_MIN_WINDOW_MS;
    if (dst->window_ms > SRV_SELFPRES_MAX_WINDOW_MS)
        dst->window_ms = SRV_SELFPRES_MAX_WINDOW_MS;
    dst->window_ms -= dst->window_ms % 1000;
    if (dst->percentage_threshold < 0)
        dst->percentage_threshold = 0;
    if (dst->percentage_threshold > 100)
        dst->percentage_threshold = 100;
    if (dst->min_expected < 0)
        dst->min_expected = 0;
    if (dst->max_protection_ms < 0)
        dst->max_protection_ms = 0;
    if (dst->heartbeat_interval_ms < 1)
        dst->heartbeat_interval_ms = 1;
}

static int64_t sec_of(int64_t ms)
{
    /* floor division, also for negative monotonic values */
    return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

static size_t slot_of(int64_t sec)
{
    int64_t r = sec % SRV_SELFPRES_RING;
    return (size_t)(r < 0 ? r + SRV_SELFPRES_RING : r);
}

static int64_t window_secs(const srv_selfpres_t *sp)
{
    return sp->cfg.window_ms / 1000;
}

/* Time never runs backwards inside the checker. */
static int64_t clamp_now(const srv_selfpres_t *sp, int64_t now_ms)
{
    return now_ms < sp->last_ms ? sp->last_ms : now_ms;
}

static srv_selfpres_bucket_t *touch(srv_selfpres_t *sp, int64_t sec)
{
    srv_selfpres_bucket_t *b = &sp->ring[slot_of(sec)];
    if (b->sec != sec) {
        b->sec = sec;
        b->renewals = 0;
        b->has_live = 0;
        b->live_min = 0;
    }
    return b;
}

static const srv_selfpres_bucket_t *peek(const srv_selfpres_t *sp, int64_t sec)
{
    const srv_selfpres_bucket_t *b = &sp->ring[slot_of(sec)];
    return b->sec == sec ? b : NULL;
}

static void clear_protection(srv_selfpres_t *sp)
{
    sp->active = 0;
    sp->active_since = 0;
}

void srv_selfpres_init(srv_selfpres_t *sp, const srv_selfpres_config_t *cfg, int64_t now_ms)
{
    memset(sp, 0, sizeof(*sp));
    correct(&sp->cfg, cfg);
    for (size_t i = 0; i < SRV_SELFPRES_RING; i++)
        sp->ring[i].sec = INT64_MIN;
    sp->start_sec = sec_of(now_ms);
    sp->last_ms = now_ms;
}

void srv_selfpres_configure(srv_selfpres_t *sp, const srv_selfpres_config_t *cfg, int64_t now_ms)
{
    sp->last_ms = clamp_now(sp, now_ms);
    correct(&sp->cfg, cfg);
    if (!sp->cfg.enabled) {
        clear_protection(sp);
        sp->exhausted = 0;
    }
}

void srv_selfpres_renewal(srv_selfpres_t *sp, int64_t now_ms)
{
    now_ms = clamp_now(sp, now_ms);
    sp->last_ms = now_ms;
    srv_selfpres_bucket_t *b = touch(sp, sec_of(now_ms));
    if (b->renewals != UINT32_MAX)
        b->renewals++;
}

static long count_at(const srv_selfpres_t *sp, int64_t cur)
{
    long sum = 0;
    for (int64_t s = cur - window_secs(sp); s < cur; s++) {
        const srv_selfpres_bucket_t *b = peek(sp, s);
        if (b)
            sum += (long)b->renewals;
    }
    return sum;
}

long srv_selfpres_window_count(const srv_selfpres_t *sp, int64_t now_ms)
{
    return count_at(sp, sec_of(clamp_now(sp, now_ms)));
}

/* Smallest lease count seen by the ticks of the window and the current second. */
static size_t baseline_at(const srv_selfpres_t *sp, int64_t cur, size_t live)
{
    size_t m = live;
    for (int64_t s = cur - window_secs(sp); s <= cur; s++) {
        const srv_selfpres_bucket_t *b = peek(sp, s);
        if (b && b->has_live && b->live_min < m)
            m = b->live_min;
    }
    return m;
}

static long expected_for(const srv_selfpres_t *sp, size_t leases)
{
    uint64_t w = (uint64_t)sp->cfg.window_ms, hb = (uint64_t)sp->cfg.heartbeat_interval_ms;
    if ((uint64_t)leases > UINT64_MAX / w)
        return EXPECTED_CAP;
    uint64_t v = (uint64_t)leases * w / hb;
    return v > (uint64_t)EXPECTED_CAP ? EXPECTED_CAP : (long)v;
}

void srv_selfpres_tick(srv_selfpres_t *sp, int64_t now_ms, size_t live_leases)
{
    now_ms = clamp_now(sp, now_ms);
    sp->last_ms = now_ms;
    int64_t cur = sec_of(now_ms);

    srv_selfpres_bucket_t *b = touch(sp, cur);
    if (!b->has_live || live_leases < b->live_min) {
        b->has_live = 1;
        b->live_min = live_leases;
    }
    sp->expected = expected_for(sp, baseline_at(sp, cur, live_leases));

    if (!sp->cfg.enabled) {
        clear_protection(sp);
        sp->exhausted = 0;
        return;
    }
    /* the window must hold only whole seconds after init */
    if (cur - window_secs(sp) <= sp->start_sec) {
        clear_protection(sp);
        return;
    }
    if (sp->expected < sp->cfg.min_expected) {
        clear_protection(sp);
        return;
    }
    int64_t count = count_at(sp, cur);
    if (count * 100 >= (int64_t)sp->expected * sp->cfg.percentage_threshold) {
        clear_protection(sp);
        sp->exhausted = 0; /* the rate recovered: protection may arm again */
        return;
    }
    if (sp->exhausted)
        return;
    if (!sp->active) {
        sp->active = 1;
        sp->active_since = now_ms;
        sp->activations++;
    }
    if (now_ms - sp->active_since >= sp->cfg.max_protection_ms) {
        clear_protection(sp);
        sp->exhausted = 1;
    }
}

int srv_selfpres_allow_expiry(const srv_selfpres_t *sp)
{
    return !sp->active;
}

int srv_selfpres_active(const srv_selfpres_t *sp)
{
    return sp->active;
}

int srv_selfpres_exhausted(const srv_selfpres_t *sp)
{
    return sp->exhausted;
}

long srv_selfpres_expected(const srv_selfpres_t *sp)
{
    return sp->expected;
}

int64_t srv_selfpres_active_since(const srv_selfpres_t *sp)
{
    return sp->active ? sp->active_since : 0;
}

uint64_t srv_selfpres_activations(const srv_selfpres_t *sp)
{
    return sp->activations;
}
