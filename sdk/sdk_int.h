/*
 * Internal layouts of the SDK's data types: the immutable service snapshot
 * (artemis_service_t) and the application's instance builder (artemis_instance_t).
 *
 * A snapshot holds packed instances (sdk/common/model.h), one reference each; snapshots derived
 * from one another (copy-on-write updates, stale re-publication) share instance bodies and
 * the parsed route rules by reference. Because readers on any thread may drop the last
 * reference of a snapshot, every reference count reachable from a snapshot is updated
 * atomically (the instance counts with the __atomic builtins, the rest with C11 atomics).
 * Snapshots also carry their route rules resolved against their own instances (protocol.md
 * §7.7; the public artemis_route_rule_t / artemis_group_t) with a precomputed pick plan per
 * rule, so artemis_service_pick() is a few arithmetic operations on one atomic counter.
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
#define ARTEMISI_CANARY_ROUTE_RULE  "canary-route-rule"
#define ARTEMISI_DEFAULT_GROUP_KEY  "default-group-key"
#define ARTEMISI_DEFAULT_STRATEGY   "weighted-round-robin"
#define ARTEMISI_DEFAULT_WEIGHT     5
#define ARTEMISI_MAX_WEIGHT         10000

/* One ServiceGroup of a route rule, as the server sent it (weight normalised). */
typedef struct artemisi_group {
    char *group_key;
    int32_t weight; /* fixWeight(): null/<0 -> 5, >10000 -> 10000 */
    char **instance_ids;
    size_t n_ids;
    char **tags; /* group tags (metadata): key, value, key, value ...; none when null or {} */
    size_t n_tags;
    /* The server-resolved `instances`, packed; kept only for canary-route-rule, the one rule
     * whose instances §7.7 step 2 adds to the group. */
    artemisi_instance_t **canary;
    size_t n_canary;
} artemisi_group_t;

typedef struct artemisi_rule {
    char *route_id;
    char *strategy;
    artemisi_group_t *groups;
    size_t n_groups;
} artemisi_rule_t;

/* The management data of a service: the parsed route rules, the server's exact routeRules
 * JSON text (for the disk snapshot) and the logical instances. Immutable, shared between
 * snapshots by an atomic refcount (an InstanceChange never changes it). */
typedef struct artemisi_rules {
    atomic_uint refs;
    char *raw_json; /* compact JSON array text; NULL when routeRules was null or absent */
    artemisi_rule_t *rules;
    size_t n_rules;
    artemisi_instance_t **logic; /* logicInstances, packed, one reference each */
    size_t n_logic;
} artemisi_rules_t;

/* A group of a rule's pick plan: the group's up members. */
typedef struct artemisi_pick_group {
    uint64_t weight;
    uint64_t cum; /* sum of the weights of the groups before this one */
    const artemisi_instance_t **members;
    size_t n_members;
} artemisi_pick_group_t;

/* Weighted round-robin over the groups of one rule that have up members (sdk/route.c). */
typedef struct artemisi_pick_plan {
    atomic_uint_fast64_t rr; /* pick counter */
    artemisi_pick_group_t *pg;
    size_t n_pg;
    uint64_t total_weight; /* 0: nothing to pick in this rule */
    uint64_t stride;       /* coprime with total_weight: spreads the groups' slots */
} artemisi_pick_plan_t;

/* A group of a snapshot's route rule, resolved against the snapshot's instances (§7.7 step
 * 2); only groups with at least one instance exist (step 3). */
struct artemis_group {
    const char *group_key;            /* borrowed from src, or the literal "default-group-key" */
    int32_t weight;                   /* after fixWeight */
    const artemisi_group_t *src;      /* NULL for the derived default rule's group (no tags) */
    const artemisi_instance_t **inst; /* every member, whatever its status */
    size_t n_inst;
};

/* A route rule as a snapshot shows it: the server's rules after §7.7 steps 1-4, then the
 * derived default rule (step 5) when the server sent no default-route-rule. */
struct artemis_route_rule {
    const char *route_id; /* borrowed from the shared rules, or a literal for the derived one */
    const char *strategy;
    artemis_group_t *groups;
    size_t n_groups;
    int derived; /* 1 for the appended default-route-rule */
    artemisi_pick_plan_t plan;
};

struct artemis_service {
    atomic_uint refs;
    atomic_uint_fast64_t rr; /* round-robin counter of pick() when the rule has no up group */
    char *service_id;
    artemisi_instance_t **inst; /* packed, one reference each */
    size_t n;
    artemisi_rules_t *rules; /* NULL when the server sent neither routeRules nor logicInstances */
    /* Moves on in place when a server confirms the same data again (artemisi_service_confirm),
     * so the snapshot, and pick()'s position in it, survive an identical refresh. */
    atomic_int_fast64_t confirmed_wall_ms;
    int stale;
    /* resolved route rules and pick plans (sdk/route.c) */
    uint32_t *up; /* indexes of instances whose status is "up" */
    size_t n_up;
    artemis_route_rule_t *vr; /* never empty once built: a default-route-rule always exists */
    size_t n_vr;
    size_t chosen; /* index in vr[] of the rule artemis_service_pick() uses */
    size_t n_pg;   /* vr[chosen].plan.n_pg: the groups pick() spreads over (tests read it) */
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
/* A server confirmed svc's data again at now_wall: the one change a published snapshot
 * allows (readers see it through artemis_service_age_ms). */
void artemisi_service_confirm(artemis_service_t *svc, int64_t now_wall);

/* Append the Service JSON as lookup.json returns it:
 * {"instances":[<every field>],"logicInstances":null,"metadata":null,"routeRules":..,
 *  "serviceId":..}. 0 or -1 on OOM. */
int artemisi_service_encode(artemisi_buf_t *b, const artemis_service_t *svc);

/* The group path of an instance (protocol.md §1.3.4): lower(serviceId/regionId/zoneId/
 * groupId|default/instanceId) with blank parts dropped. Appends to out; 0 or -1 on OOM. */
int artemisi_instance_group_path(const artemisi_instance_t *inst, artemisi_buf_t *out);

/* InstanceKey equality (protocol.md §1.2): regionId, serviceId, instanceId, ignoring case. */
int artemisi_instance_same_key(const artemisi_instance_t *a, const artemisi_instance_t *b);

/* ---- resolved route rules (sdk/route.c) ---- */

/* Fill svc->up, svc->vr, svc->n_vr and svc->chosen from svc->inst and svc->rules. On failure
 * (-1, OOM) what was built is left for artemisi_routes_free(). */
int artemisi_routes_build(artemis_service_t *svc);
void artemisi_routes_free(artemis_service_t *svc);

#endif
