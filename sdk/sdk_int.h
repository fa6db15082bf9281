/*
 * Internal layouts of the SDK's data types: the immutable service snapshot
 * (artemis_service_t) and the application's instance builder (artemis_instance_t).
 *
 * A snapshot holds packed instances (sdk/common/model.h), one reference each; snapshots derived
 * from one another (copy-on-write updates, stale re-publication) share instance bodies and
 * the parsed route rules by reference. Because readers on any thread may drop the last
 * reference of a snapshot, every reference count reachable from a snapshot is updated
 * atomically (the instance counts with the __atomic builtins, the rest with C11 atomics).
 * Snapshots also carry a precomputed pick plan (up instances, the chosen route rule's groups
 * resolved to member indexes), so artemis_service_pick() is a few arithmetic operations
 * on one atomic counter.
 * Thread-safety: snapshots are immutable after construction and MT-safe; builders are
 * handles.
 */
#ifndef ARTEMIS_SDK_SDK_INT_H
#define ARTEMIS_SDK_SDK_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "artemis/service.h"
#include "buf.h"
#include "model.h"

/* Route-rule and group constants (protocol.md §1.4). */
#define ARTEMISI_DEFAULT_ROUTE_RULE "default-route-rule"
#define ARTEMISI_DEFAULT_WEIGHT     5
#define ARTEMISI_MAX_WEIGHT         10000

/* One ServiceGroup of a route rule, as the server sent it (weight normalised). */
typedef struct artemisi_group {
    char *group_key;
    int32_t weight; /* fixWeight(): null/<0 -> 5, >10000 -> 10000 */
    char **instance_ids;
    size_t n_ids;
} artemisi_group_t;

typedef struct artemisi_rule {
    char *route_id;
    char *strategy;
    artemisi_group_t *groups;
    size_t n_groups;
} artemisi_rule_t;

/* The route rules of a service: parsed, plus the server's exact routeRules JSON text (for
 * the disk snapshot). Immutable, shared between snapshots by an atomic refcount. */
typedef struct artemisi_rules {
    atomic_uint refs;
    char *raw_json; /* compact JSON array text */
    artemisi_rule_t *rules;
    size_t n_rules;
} artemisi_rules_t;

/* A group of the chosen rule with its up members (indexes into the snapshot's inst[]). */
typedef struct artemisi_pick_group {
    uint64_t weight;
    uint64_t cum; /* sum of the weights of the groups before this one */
    uint32_t *members;
    size_t n_members;
} artemisi_pick_group_t;

struct artemis_service {
    atomic_uint refs;
    atomic_uint_fast64_t rr; /* round-robin counter of pick() */
    char *service_id;
    artemisi_instance_t **inst; /* packed, one reference each */
    size_t n;
    artemisi_rules_t *rules; /* NULL when the service has no usable route rules */
    int64_t confirmed_wall_ms;
    int stale;
    /* pick plan */
    uint32_t *up; /* indexes of instances whose status is "up" */
    size_t n_up;
    artemisi_pick_group_t *pg; /* groups of the chosen rule that have up members */
    size_t n_pg;
    uint64_t total_weight; /* 0: plain round-robin over up[] */
    uint64_t stride;       /* coprime with total_weight: spreads the groups' slots */
};

/* The application's instance builder. The draft must stay the first member: public
 * artemis_instance_t pointers are cast to artemisi_instance_t for the getters. */
struct artemis_instance {
    artemisi_instance_t d; /* packed = 0; every pointer owned by this builder */
    char *f[ARTEMISI_F_COUNT];
    char **meta; /* key, value, key, value ... (d.meta aliases it) */
    size_t meta_cap;
};

/* The instance model behind a public instance pointer (either kind). */
static inline const artemisi_instance_t *artemisi_instance_of(const artemis_instance_t *inst)
{
    return (const artemisi_instance_t *)(const void *)inst;
}

/* ---- snapshot constructors (sdk/service.c) ---- */

/* A snapshot of a Service object (lookup.json's shape: serviceId, instances, routeRules;
 * properties matched case-insensitively). Instances with a blank instanceId or a malformed
 * body are skipped. NULL on OOM or when the object is not a Service (no serviceId, or
 * instances/routeRules of the wrong type). New reference. */
artemis_service_t *artemisi_service_from_json(const json_t *service_obj, int64_t now_wall,
                                              int stale);

/* Copy-on-write update by one InstanceChange (protocol.md §5.3): "new"/"change" insert or replace
 * the instance by InstanceKey, "delete" removes it. Instances are shared with `old`. When
 * the change changes nothing (unknown type, "reload", malformed or blank instance, delete
 * of an absent instance, identical replacement) it returns a new reference to `old` itself.
 * The result keeps old's stale flag; its confirmed time becomes now_wall unless old is
 * stale (one change does not vouch for the rest of a stale view). NULL on OOM. */
artemis_service_t *artemisi_service_with_change(const artemis_service_t *old,
                                                const char *change_type, const json_t *instance_obj,
                                                int64_t now_wall);

/* The same data with another confirmed time and stale flag (new reference; shares the
 * instances and rules). NULL on OOM. */
artemis_service_t *artemisi_service_restamp(const artemis_service_t *svc, int64_t confirmed_wall_ms,
                                            int stale);

/* 1 if both views show the same instances (same order, same content) and route rules. */
int artemisi_service_same_data(const artemis_service_t *a, const artemis_service_t *b);

int64_t artemisi_service_confirmed_ms(const artemis_service_t *svc);

/* Append the Service JSON as lookup.json returns it:
 * {"instances":[<every field>],"logicInstances":null,"metadata":null,"routeRules":..,
 *  "serviceId":..}. 0 or -1 on OOM. */
int artemisi_service_encode(artemisi_buf_t *b, const artemis_service_t *svc);

/* The group path of an instance (protocol.md §1.3.4): lower(serviceId/regionId/zoneId/
 * groupId|default/instanceId) with blank parts dropped. Appends to out; 0 or -1 on OOM. */
int artemisi_instance_group_path(const artemisi_instance_t *inst, artemisi_buf_t *out);

#endif
