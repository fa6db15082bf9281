/*
 * The registry: services, leases and their expiry. Pure module: it is fed instances and
 * times and never touches a socket, so it is unit-tested without a server.
 *
 * Identity (protocol.md §1.2, §3.1): a lease is keyed by its lease manager (normal, or legacy
 * when the request's metadata has java_registry) and the case-insensitive InstanceKey; the
 * per-service index is keyed by the exact serviceId. Every request picks its manager from
 * its own body, as Java does: a heartbeat with the other manager's body finds no lease. An
 * instance may hold one lease per manager; discovery lists the newest registration, the
 * other lease is shadowed (renews and expires on its own, never listed). Re-registering an
 * instance under a differently cased serviceId moves it (docs/compat.md).
 *
 * Expiry is driven by a hashed timing wheel, never by incoming traffic: a heartbeat only
 * stores a new renewal time (O(1)); the wheel visits each lease about once per TTL and
 * re-files the ones that were renewed. Expired leases are evicted only when the caller
 * says expiry is allowed (self-preservation); otherwise they stay listed, marked expired,
 * so a heartbeat for them fails and the client re-registers (protocol.md §3.1: expiry is sticky).
 * Work per tick is bounded by a budget so a mass expiry never stalls the event loop.
 *
 * Every change (new / delete) is appended to the change log and announced through the
 * change callback. Discovery reads per-service JSON that is serialised once per change
 * of that service.
 * Thread-safety: handle (the server loop only).
 */
#ifndef ARTEMIS_SERVER_REGISTRY_H
#define ARTEMIS_SERVER_REGISTRY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "changelog.h"
#include "dict.h"
#include "model.h"

#define SRV_WHEEL_SLOTS 4096

typedef struct srv_service srv_service_t;

/* A lease lives in front of its packed instance, in the same allocation
 * (artemisi_instance_pack_ex): one malloc per instance, and no copy of its key -- the lease
 * table compares the instance's own fields (docs/design.md, "Memory per instance"). */
typedef struct srv_lease {
    /* == srv_lease_inst(l); a field because code outside the registry reads l->inst (8 bytes
     * an instance that could go once it calls srv_lease_inst) */
    artemisi_instance_t *inst;
    struct srv_lease *next, *prev; /* wheel slot or expired list */
    int64_t renewal_mono;
    int64_t creation_wall, renewal_wall;
    uint32_t svc_pos;
    uint32_t hash; /* of the InstanceKey, for the lease table */
    uint16_t slot;
    uint8_t legacy; /* metadata java_registry set: legacy lease manager */
    /* listed in discovery (in its service's array); a shadowed lease (see above) is not */
    uint8_t listed;
    uint8_t expired; /* sticky once observed */
    uint8_t where;   /* 0 nowhere, 1 wheel, 2 expired list */
} srv_lease_t;

/* The packed instance of a lease (right behind it). */
static inline artemisi_instance_t *srv_lease_inst(const srv_lease_t *l)
{
    return (artemisi_instance_t *)(void *)((char *)(uintptr_t)l + sizeof(srv_lease_t));
}

struct srv_service {
    char *id; /* exact serviceId */
    const struct srv_registry *reg;
    srv_lease_t **leases;
    uint32_t n, cap;
    artemisi_buf_t json; /* cached "[instance,...]" */
    uint8_t json_valid;
};

typedef void (*srv_change_cb)(void *ctx, const srv_change_t *change);

/* What management adds to discovery (mgmt.c), so the registry stays free of it:
 *   hidden        1 when discovery must not list the instance (pulled out, protocol.md §7.2);
 *                 a `new` for it is not announced either (§4.3); -1 undecided (out of
 *                 memory): the service's list is not built (its callers answer 503)
 *   append_extra  append `"logicInstances":...,"metadata":null,"routeRules":...` of a Service
 *                 (s NULL for a service with no instance); 0, or -1 on OOM
 * Without hooks: every instance listed, logicInstances [] and routeRules []. */
typedef struct srv_registry_hooks {
    int (*hidden)(void *ctx, const artemisi_instance_t *inst);
    int (*append_extra)(void *ctx, artemisi_buf_t *out, const srv_service_t *s,
                        const char *service_id);
    void *ctx;
} srv_registry_hooks_t;

typedef struct srv_registry_config {
    int64_t ttl_ms;        /* normal lease TTL (20000) */
    int64_t legacy_ttl_ms; /* legacy lease TTL (90000) */
    int64_t tick_ms;       /* wheel resolution = cleaner interval (100) */
    size_t changelog_capacity;
    size_t changelog_max_bytes; /* 0 = count bound only */
} srv_registry_config_t;

typedef struct srv_registry_stats {
    uint64_t registered, renewed, renew_failed, unregistered, expired, evicted;
    uint64_t revived; /* expired leases kept by self-preservation and renewed */
} srv_registry_stats_t;

typedef struct srv_registry {
    srv_registry_config_t cfg;
    /* Leases by manager + InstanceKey: open addressing on the 32-bit hash kept in each lease,
     * 8 bytes a slot (a string dict's entry is 24 and needs the key as a string). */
    srv_lease_t **lease_slots;
    size_t lease_cap; /* power of two, or 0 */
    size_t n_leases;
    uint64_t k0, k1;          /* SipHash key of the lease table */
    artemisi_dict_t services; /* serviceId -> srv_service_t */
    srv_changelog_t log;
    srv_lease_t *wheel[SRV_WHEEL_SLOTS];
    int64_t wheel_tick; /* last fully processed tick */
    srv_lease_t *expired_head;
    size_t n_expired; /* expired, kept because expiry is not allowed */
    size_t n_legacy;
    size_t lease_bytes; /* instance bodies with their leases, kept incrementally */
    uint64_t version_base;
    struct srv_blob *all; /* cached services list "[service,...]", or NULL until asked for */
    uint8_t all_valid;    /* `all` holds the current list (else, unshared, its buffer is reused) */
    size_t n_services_listed;
    srv_registry_stats_t stats;
    srv_change_cb on_change;
    void *on_change_ctx;
    srv_registry_hooks_t hooks;
} srv_registry_t;

srv_registry_t *srv_registry_new(const srv_registry_config_t *cfg, uint64_t seed0, uint64_t seed1,
                                 int64_t now_wall, int64_t now_mono);
void srv_registry_free(srv_registry_t *r);
void srv_registry_set_ttl(srv_registry_t *r, int64_t ttl_ms, int64_t legacy_ttl_ms);
void srv_registry_set_change_cb(srv_registry_t *r, srv_change_cb cb, void *ctx);
void srv_registry_set_hooks(srv_registry_t *r, const srv_registry_hooks_t *hooks);
/* Management changed what a service shows: drop its cached JSON (and the services list). */
void srv_registry_touch(srv_registry_t *r, srv_service_t *s);
void srv_registry_touch_all(srv_registry_t *r);
/* Announce a change the registry did not make itself (management: pull-out `delete`, pull-in
 * `new`, `reload`): appended to the change log and passed to the change callback. inst must
 * be packed (a reference is taken). */
void srv_registry_announce(srv_registry_t *r, srv_change_type_t type, artemisi_instance_t *inst,
                           int64_t now_wall);

/* Validation of protocol.md §1.2: NULL if fine, else the Java message
 * ("argument instance.url is null or whitespace"). Static string. */
const char *srv_instance_check(const artemisi_instance_t *draft);

/* Create a brand-new lease for a (validated) draft, replacing any lease with the same key.
 * Returns 0, or -1 on OOM. */
int srv_registry_register(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_mono,
                          int64_t now_wall);
/* Renew. Returns 0, 1 when there is no live lease ("Instance is not exising!"), or -1 when
 * out of memory (the lease could not even be looked up). With
 * revive (self-preservation is keeping expired leases), an expired lease that is still held
 * is renewed instead of failing: its client is evidently alive. */
int srv_registry_heartbeat(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_mono,
                           int64_t now_wall, int revive);
/* The lease of the draft's manager and InstanceKey, or NULL. */
const srv_lease_t *srv_registry_find(const srv_registry_t *r, const artemisi_instance_t *draft);
/* Remove the lease of the draft's manager if present (emits delete when it was listed).
 * Absent leases are ignored. Returns 0, or -1 when out of memory (nothing removed). */
int srv_registry_unregister(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_wall);

/* Advance the wheel to now. Expired leases are evicted when allow_expiry, else kept.
 * At most `budget` leases are examined per call. Returns the number examined. */
size_t srv_registry_tick(srv_registry_t *r, int64_t now_mono, int64_t now_wall, int allow_expiry,
                         size_t budget);

srv_service_t *srv_registry_service(const srv_registry_t *r, const char *service_id);
/* Cached "[instance,...]" of a service as discovery lists it (hidden instances left out);
 * NULL on OOM. */
const artemisi_buf_t *srv_service_json(srv_service_t *s);
/* Every listed instance of a service, hidden ones included ("[instance,...]"), for a peer's
 * bootstrap. Appends to out; 0, or -1 on OOM. */
int srv_service_json_all(const srv_service_t *s, artemisi_buf_t *out);
/* Append {"instances":[...],"logicInstances":[],"metadata":null,"routeRules":[],"serviceId":".."}
 * for a service (s may be NULL: an empty shell with "instances":[]). Returns 0, or -1 on OOM
 * with out marked failed (artemisi_buf_failed), even when the lost bytes were the cache's. */
int srv_service_append(const struct srv_registry *r, artemisi_buf_t *out, srv_service_t *s,
                       const char *service_id);
/* Cached "[service,...]" of every service with at least one instance. NULL on OOM. */
const artemisi_buf_t *srv_registry_services_json(srv_registry_t *r);

/* The same list, for sending by reference: the caller holds a reference (srv_blob_unref) and
 * the bytes stay valid and unchanged until it lets go, whatever the registry does meanwhile
 * (a change drops the registry's own reference; the next list is a new blob). At 1,000,000
 * instances the list is 343 MB: copied into every answer, it cost a 343 MB allocation per
 * request in flight and ~130 ms of the loop. NULL on OOM. */
typedef struct srv_blob {
    _Atomic size_t refs; /* an I/O thread lets go of a sent answer's (http.io-threads) */
    artemisi_buf_t buf;
} srv_blob_t;
srv_blob_t *srv_registry_services_blob(srv_registry_t *r);
void srv_blob_unref(srv_blob_t *b); /* NULL is a no-op */

/* Version of the current state as the wire shows it (services.json). */
uint64_t srv_registry_version(const srv_registry_t *r);
/* Delta from `version` to now: appends the JSON map {"serviceId":[change,...],...} to out and
 * sets *new_version. Returns 0, or 1 when the version is unknown, too old or the newest one
 * (protocol.md §2.2.6: "Delta is not found."), -1 on OOM. */
int srv_registry_delta(srv_registry_t *r, uint64_t version, artemisi_buf_t *out,
                       uint64_t *new_version);

/* Iterate the services: for (size_t it = 0; (s = srv_registry_next_service(r, &it));).
 * The registry must not change meanwhile. */
srv_service_t *srv_registry_next_service(const srv_registry_t *r, size_t *it);
/* The listed leases of a service: i < srv_service_size(s). */
uint32_t srv_service_size(const srv_service_t *s);
const srv_lease_t *srv_service_lease(const srv_service_t *s, uint32_t i);

/* Figures for /metrics and /health, copied out. */
typedef struct srv_registry_info {
    srv_registry_stats_t stats;
    size_t leases;       /* both managers, shadowed leases included */
    size_t legacy;       /* in the legacy manager */
    size_t expired_kept; /* expired, kept by self-preservation */
    size_t services;
    uint64_t change_seq; /* newest change-log sequence */
} srv_registry_info_t;
void srv_registry_info(const srv_registry_t *r, srv_registry_info_t *out);

/* Keys for a request-scoped hash table of network strings (as secret as the registry's). */
void srv_registry_seed(const srv_registry_t *r, uint64_t *k0, uint64_t *k1);

size_t srv_registry_lease_count(const srv_registry_t *r);
/* Leases that are not expired-but-kept: the self-preservation baseline. */
size_t srv_registry_live_count(const srv_registry_t *r);
size_t srv_registry_service_count(const srv_registry_t *r);
/* Bytes held by instances, leases and caches (approximate; for /metrics). */
size_t srv_registry_memory(const srv_registry_t *r);

#endif
