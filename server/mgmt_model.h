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

/* What discovery adds to one service, derived from the rows. */
typedef struct srv_mg_service {
    char *key;           /* lower-case serviceId */
    artemisi_buf_t frag; /* "logicInstances":[...],"metadata":null,"routeRules":[...] */
    artemisi_buf_t fingerprint; /* frag + zone/group operations: a change means `reload` */
    int canary;                 /* a canary rule: its groups' instances are resolved per answer */
} srv_mg_service_t;

typedef struct srv_mg_snap {
    srv_mg_rows_t tab[SRV_MG_TABLE_COUNT]; /* cached tables only; logs stay empty */
    /* indexes (srv_mg_snap_index) */
    artemisi_dict_t down_instance; /* key3(region, service, instance) */
    artemisi_dict_t down_server;   /* key2(region, ip) */
    artemisi_dict_t down_zone;     /* key3(region, service, zone) */
    artemisi_dict_t down_group;    /* lower-case group key with >= 1 operation */
    artemisi_dict_t services;      /* lower-case serviceId -> srv_mg_service_t */
    artemisi_dict_t groups;        /* decimal group id -> row index + 1 (as a pointer) */
    char **keys;                   /* the strings the dicts point at */
    size_t nkeys, capkeys;
    int indexed;
    int64_t loaded_ms; /* wall clock of the load, for /health */
} srv_mg_snap_t;

void srv_mg_snap_init(srv_mg_snap_t *s, uint64_t seed0, uint64_t seed1);
void srv_mg_snap_free(srv_mg_snap_t *s);
/* Build the indexes and the per-service JSON from the rows. 0, or -1 on OOM. */
int srv_mg_snap_index(srv_mg_snap_t *s);

/* The §7.2 predicate for one instance (any field may be NULL). */
int srv_mg_down(const srv_mg_snap_t *s, const artemisi_instance_t *inst);
/* The per-service derived data, or NULL when management says nothing about the service. */
const srv_mg_service_t *srv_mg_service(const srv_mg_snap_t *s, const char *service_id);
/* Row index of a group by id, or -1. */
long srv_mg_group_row(const srv_mg_snap_t *s, int64_t group_id);
/* The group key of group row i: lower(service/region/zone/name), blank parts dropped. */
int srv_mg_group_key(const srv_mg_snap_t *s, size_t row, artemisi_buf_t *out);
/* Case-insensitive, length-prefixed key of n parts (NULL = "null"), for the down sets. */
int srv_mg_key(artemisi_buf_t *out, size_t n, const char *const *parts);

#endif
