/*
 * The management state in memory (protocol.md §7): the rows of every cached table of
 * mgmt_schema.h and the indexes discovery needs -- which instances, servers, zones and groups
 * are pulled out (the §7.2 predicate) and, per service, the JSON discovery adds to it
 * (logicInstances and routeRules, §4.1 and §7.6). Pure module: a snapshot is built from rows
 * (by the store's worker thread, off the event loop), is immutable once indexed, and is
 * swapped in whole by the loop. Nothing here touches a socket, a database or a clock.
 *
 * Ownership: a snapshot owns its rows and indexes; srv_mg_snap_free() releases everything.
 * Thread-safety: build on one thread, then read-only from any thread.
 */
#ifndef ARTEMIS_SERVER_MGMT_MODEL_H
#define ARTEMIS_SERVER_MGMT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dict.h"
#include "mgmt_schema.h"
#include "model.h"

/* Rows of one table: values as text, NULL = SQL NULL, row-major. */
typedef struct srv_mg_rows {
    char **v; /* nrows * ncols */
    size_t nrows, cap, ncols;
} srv_mg_rows_t;

void srv_mg_rows_init(srv_mg_rows_t *r, size_t ncols);
void srv_mg_rows_free(srv_mg_rows_t *r);
/* Append one row of ncols values (copied; NULL stays NULL). 0, or -1 on OOM. */
int srv_mg_rows_add(srv_mg_rows_t *r, const char *const *vals);
static inline const char *srv_mg_val(const srv_mg_rows_t *r, size_t row, size_t col)
{
    return r->v[row * r->ncols + col];
}
/* An integer column: the value, or dflt when NULL or not a number. */
int64_t srv_mg_int(const srv_mg_rows_t *r, size_t row, size_t col, int64_t dflt);

/* A list of row indices. */
typedef struct srv_mg_idx {
    size_t *v;
    size_t n, cap;
} srv_mg_idx_t;

/* What discovery adds to one service, derived from the rows. */
typedef struct srv_mg_service {
    char *key;                  /* lower-case serviceId */
    char *name;                 /* the serviceId as the first row spells it */
    srv_mg_idx_t rules, logic;  /* its route-rule and logical-instance rows */
    srv_mg_idx_t zones, groups; /* its zone-operation and group rows */
    artemisi_buf_t frag;        /* "logicInstances":[...],"metadata":null,"routeRules":[...] */
    artemisi_buf_t fingerprint; /* frag + zone/group operations: a change means `reload` */
    int canary;                 /* a canary rule: its groups' instances are resolved per answer */
} srv_mg_service_t;

/* Rows of a table sorted by a foreign key (a group or route-rule id), for range lookups. */
typedef struct srv_mg_fk {
    int64_t key;
    size_t row;
} srv_mg_fk_t;
typedef struct srv_mg_fks {
    srv_mg_fk_t *v;
    size_t n;
} srv_mg_fks_t;

typedef struct srv_mg_snap {
    srv_mg_rows_t tab[SRV_MG_TABLE_COUNT]; /* cached tables only; logs stay empty */
    /* indexes (srv_mg_snap_index) */
    artemisi_dict_t down_instance; /* key3(region, service, instance) */
    artemisi_dict_t down_server;   /* key2(region, ip) */
    artemisi_dict_t down_zone;     /* key3(region, service, zone) */
    artemisi_dict_t down_group;    /* lower-case group key with >= 1 operation */
    artemisi_dict_t services;      /* lower-case serviceId -> srv_mg_service_t */
    artemisi_dict_t groups;        /* decimal group id -> row index + 1 (as a pointer) */
    artemisi_dict_t rules;         /* decimal route-rule id -> row index + 1 */
    srv_mg_fks_t rrg_by_rule;      /* route-rule-group rows by route_rule_id */
    srv_mg_fks_t gi_by_group;      /* group-instance rows by group_id */
    srv_mg_fks_t tag_by_group;     /* group-tag rows by group_id */
    srv_mg_fks_t op_by_group;      /* group-operation rows by group_id */
    char **keys;                   /* the strings the dicts point at */
    size_t nkeys, capkeys;
    int indexed;
    int64_t loaded_ms;        /* wall clock of the load, for /health */
    struct srv_mg_snap *next; /* chains replaced snapshots until they are freed (mgmt.c) */
} srv_mg_snap_t;

void srv_mg_snap_init(srv_mg_snap_t *s, uint64_t seed0, uint64_t seed1);
void srv_mg_snap_free(srv_mg_snap_t *s);
/* Build the indexes and the per-service JSON from the rows. 0, or -1 on OOM. */
int srv_mg_snap_index(srv_mg_snap_t *s);

/* The §7.2 predicate for one instance (any field may be NULL): 1 down, 0 not, -1 out of
 * memory (undecided: an answer that depends on it must not go out as complete). */
int srv_mg_down(const srv_mg_snap_t *s, const artemisi_instance_t *inst);
/* The per-service derived data (*out NULL when management says nothing about the service).
 * 0, or -1 when out of memory. srv_mg_service: the same, NULL on either. */
int srv_mg_service_find(const srv_mg_snap_t *s, const char *service_id,
                        const srv_mg_service_t **out);
const srv_mg_service_t *srv_mg_service(const srv_mg_snap_t *s, const char *service_id);
/* Row index of a group / route rule by id, or -1. */
long srv_mg_group_row(const srv_mg_snap_t *s, int64_t group_id);
long srv_mg_rule_row(const srv_mg_snap_t *s, int64_t rule_id);
/* The rows with foreign key `key`: *first and the count. */
size_t srv_mg_fk_range(const srv_mg_fks_t *f, int64_t key, size_t *first);
/* The group path of an instance (§1.3.4): lower(service/region/zone/group|default/instance),
 * blank parts dropped, appended to out. 0, or -1 on OOM. */
int srv_mg_instance_path(const artemisi_instance_t *inst, artemisi_buf_t *out);
/* The group key of group row i: lower(service/region/zone/name), blank parts dropped. */
int srv_mg_group_key(const srv_mg_snap_t *s, size_t row, artemisi_buf_t *out);
/* Registered instances of a service, for the canary rule's server-side resolution. */
typedef struct srv_mg_registered {
    const artemisi_instance_t *const *v;
    size_t n;
} srv_mg_registered_t;
/* Append the discovery projection of a service (mgmt_project.c): `"logicInstances":[...],
 * "metadata":null,"routeRules":[...]` for the lower-case service key. reg NULL leaves a canary
 * rule's group instances null and sets *canary, so the caller resolves them per answer with
 * the registered instances. 0, or -1 on OOM. */
int srv_mg_project(const srv_mg_snap_t *s, const char *key, const srv_mg_registered_t *reg,
                   artemisi_buf_t *out, int *canary);
/* Append to out what a `reload` is announced for: the projection plus the service's zone and
 * group operations. */
int srv_mg_fingerprint(const srv_mg_snap_t *s, const srv_mg_service_t *svc, artemisi_buf_t *out);
/* Append the group tags of group `group_id` as a JSON object sorted by tag, or null. */
int srv_mg_append_tags(const srv_mg_snap_t *s, int64_t group_id, artemisi_buf_t *out);
/* Append a logical-instance row as an Instance (status forced to "up"). */
int srv_mg_append_logic(const srv_mg_snap_t *s, size_t row, artemisi_buf_t *out);
/* Fill a draft instance from a logical-instance row (borrowed strings; metadata not set). */
void srv_mg_logic_draft(const srv_mg_snap_t *s, size_t row, artemisi_instance_t *draft);

/* Case-insensitive, length-prefixed key of n parts (NULL = "null"), for the down sets. */
int srv_mg_key(artemisi_buf_t *out, size_t n, const char *const *parts);

#endif
