/*
 * The lease clock: monotonic time with the server's own stalls taken out.
 *
 * A lease expires when its client has not been heard from for a TTL. If the server itself
 * could not listen -- the process was stopped (SIGSTOP, a VM pause, a debugger) or one loop
 * turn ran for seconds -- the silence is the server's, not the clients': their heartbeats sat
 * in socket buffers. On the raw monotonic clock every lease looks expired the moment the loop
 * runs again, and expiry raced self-preservation and won (1,000 of 1,000 leases evicted after
 * a 25 s SIGSTOP). On this clock the stalled time does not pass for leases: expiry resumes
 * where it stopped, the queued heartbeats renew, and instances that really died expire one
 * TTL later, as they would have without the stall (Eureka's eviction does the same with its
 * "compensation time").
 *
 * The loop reads the clock at least every lease tick (100 ms), so a gap between two reads
 * longer than `threshold_ms` can only be a stall. Of such a gap, all but threshold_ms is
 * taken out. The clock never goes backwards and never jumps forward by more than
 * threshold_ms at once.
 *
 * Pure: raw time is passed in. Embeddable; read the fields, change them only through these
 * functions. Thread-safety: handle (the server's loop thread only).
 */
#ifndef ARTEMIS_SERVER_STALLCLOCK_H
#define ARTEMIS_SERVER_STALLCLOCK_H

#include <stdint.h>

typedef struct srv_stallclock {
    int64_t threshold_ms; /* a gap longer than this between two reads is a stall */
    int64_t last_raw;     /* raw monotonic ms of the newest read */
    int64_t offset_ms;    /* stalled time taken out so far */
    uint64_t stalls;      /* stalls detected */
    int64_t longest_ms;   /* longest stall seen (0 before the first) */
} srv_stallclock_t;

/* Start at raw monotonic time now_raw; threshold_ms < 1 is taken as 1. */
void srv_stallclock_init(srv_stallclock_t *c, int64_t threshold_ms, int64_t now_raw);

/* Lease time for raw monotonic time now_raw (which must come from the same clock as every
 * other read). Detects and takes out a stall. A raw time earlier than the newest read is
 * treated as that read. */
int64_t srv_stallclock_read(srv_stallclock_t *c, int64_t now_raw);

#endif
