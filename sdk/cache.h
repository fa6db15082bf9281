/*
 * The SDK's service cache: lower(serviceId) -> the current immutable snapshot.
 *
 * Readers on any thread take a mutex only long enough to find the entry and take a
 * reference; they never allocate. One writer (the SDK loop thread) builds new snapshots
 * outside the lock and holds it only to swap a pointer. Keys and lookups are
 * case-insensitive (this fixes the Java client's quirk of looking pushed changes up by the
 * raw serviceId, protocol.md §11.5).
 *
 * Empty-push protection (item 5 of "What users of other registries complain about" in
 * docs/design.md): a full update with zero instances does not
 * replace a non-empty view; the old view is re-published stale until an empty full update
 * arrives again at least empty_confirm_ms after the first one. Deletes pushed one by one
 * are always applied.
 * Pure module: time is passed in.
 */
#ifndef ARTEMIS_SDK_CACHE_H
#define ARTEMIS_SDK_CACHE_H

#include <stdint.h>
#include <jansson.h>

#include "artemis/service.h"

typedef struct artemisi_cache artemisi_cache_t;

#define ARTEMISI_CACHE_RELOAD           2
#define ARTEMISI_CACHE_EMPTY_CONFIRM_MS 30000
#define ARTEMISI_CACHE_MAX_ID           512 /* longer service ids are never cached */

/* NULL on OOM. */
artemisi_cache_t *artemisi_cache_new(void);
/* Drops the cache's references; snapshots readers still hold stay valid. NULL no-op. */
void artemisi_cache_free(artemisi_cache_t *c);
void artemisi_cache_set_empty_confirm_ms(artemisi_cache_t *c, int64_t ms);

/* The current snapshot of a service (new reference) or NULL. MT-safe, no allocation. */
artemis_service_t *artemisi_cache_get(artemisi_cache_t *c, const char *service_id);

/* ---- writer side (one thread) ---- */

/* Apply a full Service object (lookup.json). 1 if the visible view changed, 0 if not,
 * -1 on OOM or when service_obj is not a Service. */
int artemisi_cache_apply_full(artemisi_cache_t *c, const json_t *service_obj, int64_t now_wall);
/* Apply one pushed InstanceChange to a cached service (uncached services are ignored).
 * 1 changed, 0 not, ARTEMISI_CACHE_RELOAD for "reload" (the caller re-fetches), -1 OOM. */
int artemisi_cache_apply_change(artemisi_cache_t *c, const char *service_id,
                                const char *change_type, const json_t *instance_obj,
                                int64_t now_wall);
/* Add a snapshot (e.g. loaded from disk) unless the service is already cached. The cache
 * takes its own reference. 1 added, 0 already there (or id too long), -1 OOM. */
int artemisi_cache_seed(artemisi_cache_t *c, artemis_service_t *svc);
/* Re-publish the same data with stale=1 (servers unreachable). 1 changed, 0 not (unknown
 * or already stale), -1 OOM. */
int artemisi_cache_mark_stale(artemisi_cache_t *c, const char *service_id);
/* Every cached service: number re-published, or -1 on OOM. */
int artemisi_cache_mark_all_stale(artemisi_cache_t *c);
/* Call cb with every cached service id (the server's spelling) until it returns nonzero.
 * Writer thread only; cb must not add services. Returns cb's last result (0 if none). */
int artemisi_cache_foreach_id(artemisi_cache_t *c, int (*cb)(void *ud, const char *service_id),
                              void *ud);

#endif
