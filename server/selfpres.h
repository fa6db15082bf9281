/*
 * Self-preservation: the lease-update safe checker (protocol.md §3.3), reworked to avoid Eureka's
 * known failures (docs/design.md, "What users of other registries complain about", items 1-2).
 *
 * The server counts successful heartbeat renewals (client or replicated) in a sliding window
 * of 1-second buckets and compares them with what the current leases should produce:
 *     expected = baseline_leases * window_ms / heartbeat_interval_ms
 * When fewer than percentage_threshold % of the expected renewals arrive (a network split, a
 * stalled server), protection turns on and expired leases are kept instead of evicted.
 *
 * Differences from Eureka/Artemis, and why:
 * - The baseline follows the current lease count (no remembered maximum), so unregistering or
 *   evicting leases lowers it at once (Eureka #2407, #1267). It is the smallest lease count
 *   seen by tick() over the window (including the current one): a departure counts at once,
 *   while a newly registered lease joins the baseline only after one full window, when it has
 *   had time to heartbeat. Without that lag every mass (re-)registration, e.g. after a server
 *   restart, would switch protection on for nothing.
 * - Protection is bounded: after max_protection_ms it switches off and stays off ("expiry
 *   resumes", srv_selfpres_exhausted() = 1) until the renewal rate has been back at or over
 *   the threshold once, so a real mass departure cannot keep dead instances listed forever
 *   (Eureka #1073). Evicting the dead lowers the baseline, which is what lets the rate recover.
 * - The window counts whole seconds only (the current, partial second is left out), so the
 *   expected figure is exact rather than up to one second short.
 * - During the first window after init (and the partial first second) there is not enough
 *   data: the state is safe. Below min_expected expected renewals no decision is taken: safe.
 * - A stalled loop or a suspended process shows up as a time jump with an empty window: that
 *   is exactly when leases look expired for no fault of the clients, and protection turns on.
 *
 * Pure: no clock reads; time is monotonic milliseconds passed in. A clock that goes backwards
 * is treated as standing still. The struct is public so it can be embedded; its fields are
 * private to selfpres.c. Thread-safety: handle (the server's loop thread only).
 */
#ifndef ARTEMIS_SERVER_SELFPRES_H
#define ARTEMIS_SERVER_SELFPRES_H

#include <stddef.h>
#include <stdint.h>

#define SRV_SELFPRES_MIN_WINDOW_MS 10000  /* Artemis corrector: smaller windows become this */
#define SRV_SELFPRES_MAX_WINDOW_MS 300000 /* Artemis corrector: larger windows become this */
/* one bucket per second of the largest window, plus the current second, plus one spare */
#define SRV_SELFPRES_RING (SRV_SELFPRES_MAX_WINDOW_MS / 1000 + 2)

typedef struct srv_selfpres_config {
    int enabled;                   /* default 1 */
    int64_t window_ms;             /* default 12000; corrected to [10000..300000], whole s */
    int percentage_threshold;      /* default 85; clamped to [0..100] */
    long min_expected;             /* default 50 (Artemis max-count-threshold): below this
                                      no decision, stays safe */
    int64_t max_protection_ms;     /* default 300000: protection never lasts longer than
                                      this; then expiry resumes. < 0 is taken as 0 */
    int64_t heartbeat_interval_ms; /* default 5000: what a healthy client does (Artemis SDK);
                                      used for the baseline. < 1 is taken as 1 */
} srv_selfpres_config_t;

typedef struct srv_selfpres_bucket {
    int64_t sec;       /* the second this bucket holds */
    uint32_t renewals; /* saturating */
    uint32_t has_live; /* live_min was set by a tick in this second */
    size_t live_min;   /* smallest live lease count seen by tick() in this second */
} srv_selfpres_bucket_t;

typedef struct srv_selfpres {
    srv_selfpres_config_t cfg; /* effective (corrected) configuration */
    int64_t start_sec;         /* second of init */
    int64_t last_ms;           /* newest time seen */
    int active;
    int exhausted;
    int64_t active_since;
    uint64_t activations;
    long expected;
    srv_selfpres_bucket_t ring[SRV_SELFPRES_RING];
} srv_selfpres_t;

/* Fill cfg with the defaults above. */
void srv_selfpres_config_init(srv_selfpres_config_t *cfg);

/* Start afresh at now_ms (safe, no data). cfg is copied. */
void srv_selfpres_init(srv_selfpres_t *sp, const srv_selfpres_config_t *cfg, int64_t now_ms);

/* Apply a new configuration (SIGHUP), keeping the collected renewals and lease counts (they
 * cover the largest window, so a changed window is exact at once). Disabling clears the
 * protection state; the new figures take effect at the next tick. */
void srv_selfpres_configure(srv_selfpres_t *sp, const srv_selfpres_config_t *cfg, int64_t now_ms);

/* One successful heartbeat renewal (client or replicated). Touches one bucket. */
void srv_selfpres_renewal(srv_selfpres_t *sp, int64_t now_ms);

/* Re-evaluate (called once a second by the server). live_leases = current number of leases
 * that are not evicted (unregistered leases do NOT count: the baseline follows the current
 * lease count). Compare srv_selfpres_active() before and after to log transitions. */
void srv_selfpres_tick(srv_selfpres_t *sp, int64_t now_ms, size_t live_leases);

/* 1 = safe, expired leases may be evicted. */
int srv_selfpres_allow_expiry(const srv_selfpres_t *sp);
/* 1 = protection on (expired leases kept). */
int srv_selfpres_active(const srv_selfpres_t *sp);
/* 1 = protection ran for max_protection_ms and is held off until the rate recovers. */
int srv_selfpres_exhausted(const srv_selfpres_t *sp);

/* For /api/status/leases.json and /metrics: */
/* Renewals in the window ending at the start of now_ms's second. */
long srv_selfpres_window_count(const srv_selfpres_t *sp, int64_t now_ms);
/* Expected renewals per window, as of the last tick. */
long srv_selfpres_expected(const srv_selfpres_t *sp);
/* When protection turned on; 0 if not active. */
int64_t srv_selfpres_active_since(const srv_selfpres_t *sp);
/* Times protection switched on since init. */
uint64_t srv_selfpres_activations(const srv_selfpres_t *sp);

#endif
