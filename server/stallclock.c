/*
 * The lease clock; see stallclock.h for why.
 */
#include "stallclock.h"

void srv_stallclock_init(srv_stallclock_t *c, int64_t threshold_ms, int64_t now_raw)
{
    c->threshold_ms = threshold_ms < 1 ? 1 : threshold_ms;
    c->last_raw = now_raw;
    c->offset_ms = 0;
    c->stalls = 0;
    c->longest_ms = 0;
}

int64_t srv_stallclock_read(srv_stallclock_t *c, int64_t now_raw)
{
    if (now_raw < c->last_raw)
        now_raw = c->last_raw;
    int64_t gap = now_raw - c->last_raw;
    if (gap > c->threshold_ms) {
        c->offset_ms += gap - c->threshold_ms;
        c->stalls++;
        if (gap > c->longest_ms)
            c->longest_ms = gap;
    }
    c->last_raw = now_raw;
    return now_raw - c->offset_ms;
}
