/*
 * Server rate limiters (protocol.md §3.4). One limiter per Artemis limiterId (registry,
 * replication, cluster, status, management group); inside a limiter each identity (operation
 * name such as "register" or "get-leases") has its own sliding window of 10 s made of 1 s
 * buckets, counted across all callers. A request is rejected when accepting it would push the
 * window's count over the identity's limit; rejected requests are not counted.
 *
 * Pure: no clock reads, time comes in as monotonic milliseconds. Buckets older than the window
 * are cleared lazily, so time jumps of any size are exact; a clock that goes backwards is
 * treated as standing still.
 * Identities are created on first use, at most SRV_RATELIMIT_MAX_IDENTITIES per limiter; any
 * further identity shares one "other" entry that uses the default limit.
 * Thread-safety: handle (the server's loop thread only).
 */
#ifndef ARTEMIS_SERVER_RATELIMIT_H
#define ARTEMIS_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define SRV_RATELIMIT_WINDOW_MS      10000
#define SRV_RATELIMIT_BUCKETS        10
#define SRV_RATELIMIT_MAX_IDENTITIES 64

/* One sliding window of SRV_RATELIMIT_BUCKETS one-second buckets: the counter every limit of
 * the server is made of (per identity here, per connection and per address in clients.h).
 * A bucket remembers its second, so expiry is lazy and exact for any jump in time; a clock
 * that goes backwards is treated as standing still. Embeddable; fields are private. */
typedef struct srv_rlwin {
    int64_t last_sec;
    int64_t sec[SRV_RATELIMIT_BUCKETS];
    long count[SRV_RATELIMIT_BUCKETS];
} srv_rlwin_t;

void srv_rlwin_init(srv_rlwin_t *w);
/* Count in the window ending at now_ms. */
long srv_rlwin_sum(const srv_rlwin_t *w, int64_t now_ms);
/* Add n at now_ms. */
void srv_rlwin_add(srv_rlwin_t *w, long n, int64_t now_ms);

typedef struct srv_ratelimit srv_ratelimit_t;

/* enabled: 0/1; default_limit: permits per 10 s for identities not in the map (must be > 0);
 * map: "identity:limit,identity:limit" overriding per identity (NULL or "" = none; spaces
 * around items are ignored, empty items are skipped, a repeated identity: the last one wins).
 * Returns a new limiter (free with srv_ratelimit_free), or NULL with a one-line reason in
 * err (errlen bytes; err may be NULL) when the map is malformed (bad number, missing ':',
 * empty identity, limit <= 0) or default_limit <= 0. Aborts through srv_oom() on OOM. */
srv_ratelimit_t *srv_ratelimit_new(int enabled, long default_limit, const char *map, char *err,
                                   size_t errlen);
/* NULL is a no-op. */
void srv_ratelimit_free(srv_ratelimit_t *rl);

/* Reconfigure in place (SIGHUP), keeping the current counts. Returns 0, or -1 with err filled
 * and the previous configuration left untouched. */
int srv_ratelimit_configure(srv_ratelimit_t *rl, int enabled, long default_limit, const char *map,
                            char *err, size_t errlen);

/* Try to take `n` permits for identity at monotonic time now_ms. Returns 1 if allowed (and
 * counted), 0 if limited (not counted; the rejection counter goes up). Always 1 when the
 * limiter is disabled (nothing is counted then). n <= 0 is allowed and counts nothing.
 * identity NULL is treated as the shared "other" entry. */
int srv_ratelimit_acquire(srv_ratelimit_t *rl, const char *identity, long n, int64_t now_ms);

/* What srv_ratelimit_acquire would answer, without counting anything. */
int srv_ratelimit_check(const srv_ratelimit_t *rl, const char *identity, long n, int64_t now_ms);

/* The configured limit per 10 s for identity (its map override, else the default). */
long srv_ratelimit_limit_for(const srv_ratelimit_t *rl, const char *identity);

/* Permits counted for identity in the window ending at now_ms (0 for an unknown identity). */
long srv_ratelimit_count(const srv_ratelimit_t *rl, const char *identity, int64_t now_ms);

int srv_ratelimit_enabled(const srv_ratelimit_t *rl);

/* Count of rejections since creation, per limiter (for metrics). */
uint64_t srv_ratelimit_rejected(const srv_ratelimit_t *rl);

#endif
