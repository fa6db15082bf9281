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
typedef struct artemis_route_rule artemis_route_rule_t;
typedef struct artemis_group artemis_group_t;

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
/* Pick one instance whose status is "up" in the rule artemis_service_pick_rule() returns:
 * weighted round-robin between its groups, round-robin inside a group (protocol.md §7.7), as
 * artemis_route_rule_pick(). When that rule has no group with an up instance (or all its
 * weights are 0), round-robin over the service's up instances. NULL if none is up. MT-safe
 * (atomic counter). */
ARTEMIS_EXPORT const artemis_instance_t *artemis_service_pick(const artemis_service_t *svc);
/* {"serviceId":"...","instances":[{"instanceId":..,"ip":..,"port":N,"status":..},...]}
 * (the lookup example's line). Free with artemis_free(). NULL on OOM. */
ARTEMIS_EXPORT char *artemis_service_to_json(const artemis_service_t *svc);

/* Logical instances (logicInstances: defined in the management database, not registered; the
 * server sends them with status "up"). They are members of a group only when its instanceIds
 * name them; pick() never returns one otherwise. Borrowed, valid while svc is referenced.
 * MT-safe. */
ARTEMIS_EXPORT size_t artemis_service_logic_instance_count(const artemis_service_t *svc);
ARTEMIS_EXPORT const artemis_instance_t *
artemis_service_logic_instance(const artemis_service_t *svc, size_t i);

/* ---- route rules and groups (protocol.md §1.4, §7.7; read-only views of a snapshot) ----
 *
 * The rules are what the Java SDK's getService() shows (fixture F23): the server's rules with
 * a non-blank routeId and a non-empty groups list, in the server's order; in each, the groups
 * with a non-blank groupKey that have at least one instance, weight after fixWeight (null or
 * < 0 -> 5, > 10000 -> 10000, 0 kept). A group's instances: registered or logical instances
 * whose instanceId its instanceIds list (registered ones win on equal ids), registered
 * instances whose group path (serviceId/regionId/zoneId/groupId|default/instanceId, lower
 * case) starts with groupKey + "/", and for canary-route-rule the instances the server
 * resolved. A rule whose groups all have no instance stays, with zero groups. When no rule is
 * named default-route-rule (ignoring case), a derived one is appended last: strategy
 * weighted-round-robin, one group "default-group-key" of weight 5 holding every registered
 * instance (artemis_route_rule_is_derived() says 1). So every snapshot has at least one rule.
 * Every pointer below is borrowed, valid while svc is referenced; every function is MT-safe
 * and returns 0 / NULL for a NULL argument or an index out of range. */

ARTEMIS_EXPORT size_t artemis_service_route_rule_count(const artemis_service_t *svc);
/* i-th rule (0-based) or NULL. Borrowed, valid while svc is referenced. MT-safe. */
ARTEMIS_EXPORT const artemis_route_rule_t *artemis_service_route_rule(const artemis_service_t *svc,
                                                                      size_t i);
/* The first rule whose routeId equals route_id ignoring case, or NULL. Borrowed, valid while
 * svc is referenced. MT-safe. */
ARTEMIS_EXPORT const artemis_route_rule_t *
artemis_service_find_route_rule(const artemis_service_t *svc, const char *route_id);
/* The rule artemis_service_pick() uses: the first one named default-route-rule if the server
 * sent one, otherwise rule 0 (the server's first rule, or the derived default when the server
 * sent none). NULL only for NULL svc. Borrowed, valid while svc is referenced. MT-safe. */
ARTEMIS_EXPORT const artemis_route_rule_t *artemis_service_pick_rule(const artemis_service_t *svc);

/* routeId / strategy ("weighted-round-robin" when the server sent none). Borrowed, valid while
 * the snapshot is referenced. MT-safe. */
ARTEMIS_EXPORT const char *artemis_route_rule_id(const artemis_route_rule_t *rule);
ARTEMIS_EXPORT const char *artemis_route_rule_strategy(const artemis_route_rule_t *rule);
/* 1 for the default-route-rule the SDK appended (§7.7 step 5), 0 for a server's rule. */
ARTEMIS_EXPORT int artemis_route_rule_is_derived(const artemis_route_rule_t *rule);
ARTEMIS_EXPORT size_t artemis_route_rule_group_count(const artemis_route_rule_t *rule);
/* i-th group (0-based, the server's order) or NULL. Borrowed, valid while the snapshot is
 * referenced. MT-safe. */
ARTEMIS_EXPORT const artemis_group_t *artemis_route_rule_group(const artemis_route_rule_t *rule,
                                                               size_t i);
/* Pick an "up" instance in this rule only: weighted round-robin between the groups that have
 * up instances (a weight of 0 is never picked), round-robin inside a group; over a whole
 * number of cycles (the sum of those weights) each group gets exactly its weight's share.
 * Every strategy, close-by-visit included, is treated as weighted-round-robin. NULL if no
 * group of the rule has an up instance (no fallback). Borrowed, valid while the snapshot is
 * referenced. MT-safe (atomic counter, one per rule). */
ARTEMIS_EXPORT const artemis_instance_t *artemis_route_rule_pick(const artemis_route_rule_t *rule);

/* groupKey as the server sent it ("default-group-key" for the derived rule). Borrowed, valid
 * while the snapshot is referenced. MT-safe. */
ARTEMIS_EXPORT const char *artemis_group_key(const artemis_group_t *group);
/* The weight after fixWeight: 0..10000. */
ARTEMIS_EXPORT int artemis_group_weight(const artemis_group_t *group);
/* The group's instances (at least one), whatever their status: registered ones in the
 * snapshot's order, then logical ones, then canary ones. Borrowed, valid while the snapshot is
 * referenced. MT-safe. */
ARTEMIS_EXPORT size_t artemis_group_instance_count(const artemis_group_t *group);
ARTEMIS_EXPORT const artemis_instance_t *artemis_group_instance(const artemis_group_t *group,
                                                                size_t i);
/* Group tags (the group's metadata map): the value of key (exact match), or NULL. Borrowed,
 * valid while the snapshot is referenced. MT-safe. */
ARTEMIS_EXPORT const char *artemis_group_metadata(const artemis_group_t *group, const char *key);
/* Iterate the tags: count, then key and value of the i-th (NULL out of range). Borrowed, valid
 * while the snapshot is referenced. MT-safe. */
ARTEMIS_EXPORT size_t artemis_group_metadata_count(const artemis_group_t *group);
ARTEMIS_EXPORT const char *artemis_group_metadata_key(const artemis_group_t *group, size_t i);
ARTEMIS_EXPORT const char *artemis_group_metadata_value(const artemis_group_t *group, size_t i);

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
/* Iterate the metadata (the bindings copy it whole): count, then key and value of the i-th
 * entry in the server's order (NULL out of range). Borrowed like the getters above. */
ARTEMIS_EXPORT size_t artemis_instance_metadata_count(const artemis_instance_t *inst);
ARTEMIS_EXPORT const char *artemis_instance_metadata_key(const artemis_instance_t *inst, size_t i);
ARTEMIS_EXPORT const char *artemis_instance_metadata_value(const artemis_instance_t *inst,
                                                           size_t i);

#ifdef __cplusplus
}
#endif

#endif
