/*
 * What the management handlers (api_mgmt_*.c, protocol.md §7) share: reading a request and
 * its operation context, the Artemis answers, entity tables that drive both the JSON of an
 * entity and the reading of one from a request, and the statements every write is made of.
 *
 * A read answers from the management snapshot at once. A write checks its request on the
 * loop, builds one transaction (the change and its audit-log rows) and defers its answer
 * until the store's worker has committed it and the loop has applied the new snapshot
 * (mgmt.h), so a client that reads after its write sees it, on this node, always.
 * Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_API_MGMT_H
#define ARTEMIS_SERVER_API_MGMT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "api.h"
#include "mgmt.h"

/* One management request being handled. */
typedef struct srv_mg_call {
    srv_req_t *req;
    json_t *root; /* the body (a JSON object); NULL for GET */
    /* The payload fields of this path's answer as a failure shows them (alphabetical, with
     * explicit nulls): before and after "responseStatus". */
    const char *nulls_before, *nulls_after;
    /* OperationContext (§7): NULL when absent */
    const char *operator_id, *token, *operation, *reason, *extensions;
    char now[24]; /* epoch ms, for create_time / update_time */
    char **pool;  /* strings the call made (numbers as text, JSON maps) */
    size_t npool, cappool;
    int answered;
} srv_mg_call_t;

/* Start a call: parse the body (GET: none), answer "request is null" for a JSON null body,
 * and for a write refuse a node that is not up. Returns 0 to go on, -1 when answered. */
int srv_mg_begin(srv_mg_call_t *c, srv_req_t *req, const char *nulls_before,
                 const char *nulls_after, int write);
void srv_mg_end(srv_mg_call_t *c);

/* Answer with a status and the path's null payload. */
void srv_mg_fail(srv_mg_call_t *c, const char *code, const char *msg);
/* "<field> is null or empty" (bad-request). */
void srv_mg_missing(srv_mg_call_t *c, const char *field);
/* Open a success answer: `{` + fields before responseStatus are up to the caller; this
 * appends `"responseStatus":{success}`. */
void srv_mg_status_ok(artemisi_buf_t *out);

/* A String property bound as Jackson binds it (numbers and booleans become text), trimmed.
 * 0 with *out (NULL when absent/null), -1 when the value cannot bind (answered with a 400). */
int srv_mg_str(srv_mg_call_t *c, const json_t *obj, const char *name, const char **out);
/* A Long property: 0 with *out and *present, -1 when not an integer (answered 400). */
int srv_mg_long(srv_mg_call_t *c, const json_t *obj, const char *name, int64_t *out, int *present);
/* A boolean property (absent/null = false); -1 answered 400. */
int srv_mg_bool(srv_mg_call_t *c, const json_t *obj, const char *name, int *out);
/* A List property: the array (or NULL when absent/null); -1 answered 400. */
int srv_mg_list(srv_mg_call_t *c, const json_t *obj, const char *name, json_t **out);
/* An object property (a bean): the object (or NULL when absent/null); -1 answered 400. */
int srv_mg_object(srv_mg_call_t *c, const json_t *obj, const char *name, json_t **out);
/* Keep a string for the call's lifetime. NULL on OOM. */
const char *srv_mg_keep(srv_mg_call_t *c, char *s);
/* The operation context must have these non-blank (protocol.md §7: a write without them is
 * refused). Returns 0, or -1 answered with "<field> is null or empty". */
int srv_mg_need_context(srv_mg_call_t *c, int need_token);

/* ---- entities ---- */

typedef enum {
    SRV_MGF_COL = 0,   /* a column, shown by its type */
    SRV_MGF_GROUP_KEY, /* the group key of a group row */
    SRV_MGF_TAGS,      /* the tags of the group whose id is in column `col` */
    SRV_MGF_JSON_MAP   /* a column holding a JSON object (logical instances' metadata) */
} srv_mg_fkind_t;

typedef struct srv_mg_field {
    const char *json;
    int col; /* column index, or -1 */
    srv_mg_fkind_t kind;
} srv_mg_field_t;

typedef struct srv_mg_entity {
    srv_mg_table_id_t table;
    const srv_mg_field_t *f; /* alphabetical by json name */
    size_t n;
} srv_mg_entity_t;

extern const srv_mg_entity_t srv_mg_group_entity, srv_mg_rule_entity, srv_mg_rrg_entity,
    srv_mg_group_instance_entity, srv_mg_service_instance_entity;

/* Append one row of the snapshot as the entity's JSON object. */
int srv_mg_encode(artemisi_buf_t *out, const srv_mg_snap_t *s, const srv_mg_entity_t *e,
                  size_t row);
/* Read an entity object of a request into vals[ncols of the table] (NULL = not given).
 * Returns 0, or -1 answered (a 400 naming what.field). */
int srv_mg_decode(srv_mg_call_t *c, const json_t *obj, const srv_mg_entity_t *e, const char *what,
                  const char **vals);

/* ---- statements ---- */

/* INSERT one row of table t: vals[column] for the table's own columns (NULL = NULL),
 * create_time = update_time = the call's now. */
int srv_mg_sql_insert(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t t,
                      const char *const *vals);
/* Upsert by the table's natural key (compared case-insensitively): UPDATE the columns in
 * `set` (bit i = column i), else INSERT the row. */
int srv_mg_sql_upsert(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t t,
                      const char *const *vals, uint64_t set);
/* DELETE the row with the natural key of vals. */
int srv_mg_sql_delete_key(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t t,
                          const char *const *vals);
/* A WHERE clause matching the natural key of table t on parameters $first.. (appended to sql)
 * and the parameters in key order into params; returns the number of parameters. */
size_t srv_mg_sql_key_where(srv_mg_table_id_t t, const char *const *vals, size_t first,
                            artemisi_buf_t *sql, const char **params);
/* The audit row for a write on table t's log: vals as srv_mg_sql_insert, with the call's
 * operation context filled in (operation, operator_id, token, reason, extensions). */
int srv_mg_sql_log(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t log, const char **vals);

/* Send tx (taken) and answer when it has committed: success, or fail /
 * internal-service-error / fail_msg. Marks the call answered. */
void srv_mg_commit(srv_mg_call_t *c, srv_mg_tx_t *tx, const char *fail_msg);

#endif

/* ---- table-driven paths (api_mgmt_crud.c) ---- */

/* Upsert every entity of a request list by the table's natural key: `set` names the columns
 * an existing row takes (comma-separated SQL names), `required` the JSON fields that must be
 * non-blank; a table with a `deleted` column is undeleted. Each row gets its audit row in
 * `log` (columns copied by name; id_as: the log column that takes the row's id, if any). */
typedef struct srv_mg_batch {
    const char *list; /* request field */
    const srv_mg_entity_t *e;
    srv_mg_table_id_t log;
    const char *set;
    const char *required;
    const char *fail_msg;
} srv_mg_batch_t;
void srv_mg_upsert_list(srv_req_t *req, const srv_mg_batch_t *b);

/* Delete the rows whose ids a request list names: soft (deleted = 1) or hard; each gets an
 * audit row made from the row as the snapshot has it (id_as: the log column for the id). */
void srv_mg_delete_ids(srv_req_t *req, const char *list, srv_mg_table_id_t t, srv_mg_table_id_t log,
                       const char *id_as, int soft, const char *fail_msg);

/* Answer {field: [entities]} of the snapshot rows passing the request's filters (JSON field ->
 * column; text compared case-insensitively, numbers exactly); soft-deleted rows are left out. */
typedef struct srv_mg_filter {
    const char *json;
    int col;
} srv_mg_filter_t;
void srv_mg_get_filtered(srv_req_t *req, const char *field, const srv_mg_entity_t *e,
                         const srv_mg_filter_t *filters, size_t nfilters);

/* The group-path context check: Java refuses a group or route-rule write without operation,
 * operatorId or token as an internal-service-error with the path's fixed text. */
int srv_mg_need_group_context(srv_mg_call_t *c, const char *fail_msg);
/* Fill the audit row's columns from a row of another table by column name. */
void srv_mg_copy_by_name(srv_mg_table_id_t from, const char *const *fvals, srv_mg_table_id_t to,
                         const char **tvals);
/* Begin `{` + payload field or responseStatus, in alphabetical order: appends
 * `"field":` when field sorts before "responseStatus", else the status and `,"field":`. */
void srv_mg_open_payload(artemisi_buf_t *out, const char *field);
/* Close what srv_mg_open_payload opened. */
void srv_mg_close_payload(artemisi_buf_t *out, const char *field);
