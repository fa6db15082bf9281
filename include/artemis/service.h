/*
 * Service snapshots and instances.
 *
 * artemis_service_t is an immutable, reference-counted snapshot of one service's instance
 * list as the client's cache holds it. Readers get a reference and keep it as long as they
 * like; a cache update swaps in a new snapshot and never changes one a reader holds.
 * artemis_instance_t is either an instance inside a snapshot (borrowed; valid while the
 * snapshot is referenced) or one built by the application with artemis_instance_new() to
 * register itself (owned; free with artemis_instance_free()).
 */
#ifndef ARTEMIS_SERVICE_H
#define ARTEMIS_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "artemis/error.h"
#include "artemis/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct artemis_service artemis_service_t;
typedef struct artemis_instance artemis_instance_t;

/* String fields of an instance (the Artemis wire names). */
typedef enum artemis_field {
    ARTEMIS_FIELD_GROUP_ID = 0,
    ARTEMIS_FIELD_HEALTH_CHECK_URL = 1,
    ARTEMIS_FIELD_INSTANCE_ID = 2,
    ARTEMIS_FIELD_IP = 3,
    ARTEMIS_FIELD_MACHINE_NAME = 4,
    ARTEMIS_FIELD_PROTOCOL = 5,
    ARTEMIS_FIELD_REGION_ID = 6,
    ARTEMIS_FIELD_SERVICE_ID = 7,
    ARTEMIS_FIELD_STATUS = 8,
    ARTEMIS_FIELD_URL = 9,
    ARTEMIS_FIELD_ZONE_ID = 10
} artemis_field_t;

/* ---- snapshots (MT-safe: immutable; refcounts are atomic) ---- */

/* Take one more reference. Returns svc. MT-safe. */
ARTEMIS_EXPORT artemis_service_t *artemis_service_ref(artemis_service_t *svc);
/* Drop one reference; the last one frees. NULL is a no-op. MT-safe. */
ARTEMIS_EXPORT void artemis_service_unref(artemis_service_t *svc);
/* The service id as the server spells it. Borrowed, valid while svc is referenced. */
ARTEMIS_EXPORT const char *artemis_service_id(const artemis_service_t *svc);
ARTEMIS_EXPORT size_t artemis_service_instance_count(const artemis_service_t *svc);
/* i-th instance (0-based) or NULL. Borrowed, valid while svc is referenced. */
ARTEMIS_EXPORT const artemis_instance_t *artemis_service_instance(const artemis_service_t *svc,
                                                                  size_t i);
/* Milliseconds since a server last confirmed this view (wall clock). MT-safe. */
ARTEMIS_EXPORT int64_t artemis_service_age_ms(const artemis_service_t *svc);
/* 1 if this view was loaded from the disk snapshot or kept while the servers were
 * unreachable or sent a suspicious empty list; 0 if it is what a server said last. */
ARTEMIS_EXPORT int artemis_service_is_stale(const artemis_service_t *svc);
/* Pick one instance whose status is "up" by the service's route rules and group weights
 * (weighted round-robin between groups, round-robin inside a group; protocol.md §7.7). Without
 * rules, round-robin over the up instances. NULL if none is up. MT-safe (atomic counter). */
ARTEMIS_EXPORT const artemis_instance_t *artemis_service_pick(const artemis_service_t *svc);
/* {"serviceId":"...","instances":[{"instanceId":..,"ip":..,"port":N,"status":..},...]}
 * (the lookup example's line). Free with artemis_free(). NULL on OOM. */
ARTEMIS_EXPORT char *artemis_service_to_json(const artemis_service_t *svc);

/* ---- instances ---- */

/* A new instance to register: serviceId, instanceId, ip and port are required; url
 * defaults to http://ip:port/, protocol "http", status "up". Strings copied. NULL on bad
 * arguments or OOM. Thread-safety: handle. */
ARTEMIS_EXPORT artemis_instance_t *
artemis_instance_new(const char *service_id, const char *instance_id, const char *ip, int port);
/* Free an instance made by artemis_instance_new(). Never call on a snapshot's instance. */
ARTEMIS_EXPORT void artemis_instance_free(artemis_instance_t *inst);
/* Set a string field (value copied; NULL clears). Only on instances from
 * artemis_instance_new(). */
ARTEMIS_EXPORT artemis_err_t artemis_instance_set(artemis_instance_t *inst, artemis_field_t field,
                                                  const char *value);
ARTEMIS_EXPORT artemis_err_t artemis_instance_set_port(artemis_instance_t *inst, int port);
/* Add or replace one metadata entry (copied). */
ARTEMIS_EXPORT artemis_err_t artemis_instance_set_metadata(artemis_instance_t *inst,
                                                           const char *key, const char *value);
/* Getters work on both kinds. Borrowed strings; NULL when the field is null. */
ARTEMIS_EXPORT const char *artemis_instance_get(const artemis_instance_t *inst,
                                                artemis_field_t field);
ARTEMIS_EXPORT int artemis_instance_port(const artemis_instance_t *inst);
ARTEMIS_EXPORT const char *artemis_instance_metadata(const artemis_instance_t *inst,
                                                     const char *key);

#ifdef __cplusplus
}
#endif

#endif
