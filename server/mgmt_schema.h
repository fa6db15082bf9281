/*
 * The management store's tables, once (protocol.md §7.8). The DDL of both stores, the loader
 * of the in-memory snapshot, the audit-log readers and their JSON (camelCase of the column
 * names, alphabetical) are all generated from this one list, so a column added here reaches
 * every one of them.
 *
 * Every table has three leading columns: id (integer primary key), create_time and
 * update_time (epoch milliseconds). Values are held as text (NULL = SQL NULL); a column's
 * type says how it is stored and how JSON shows it.
 *
 * X(ID, table name, columns, cached, unique key)
 *   cached  1: loaded into the in-memory snapshot (state tables), 0: read on demand (logs)
 *   unique  the columns of the table's natural key (compared case-insensitively), "" if none
 * C(ID, column name, type)   type: SRV_MG_TEXT, SRV_MG_INT (a JSON number), SRV_MG_BOOL
 *   (0/1 in the store, true/false in JSON)
 * Thread-safety: constant data.
 */
#ifndef ARTEMIS_SERVER_MGMT_SCHEMA_H
#define ARTEMIS_SERVER_MGMT_SCHEMA_H

#include <stddef.h>

typedef enum { SRV_MG_TEXT = 0, SRV_MG_INT, SRV_MG_BOOL } srv_mg_type_t;

/* clang-format off */
#define SRV_MG_AUDIT(C)                                                                            \
    C(OPERATION, "operation", SRV_MG_TEXT) C(OPERATOR_ID, "operator_id", SRV_MG_TEXT)             \
    C(TOKEN, "token", SRV_MG_TEXT) C(REASON, "reason", SRV_MG_TEXT)                                \
    C(EXTENSIONS, "extensions", SRV_MG_TEXT)

#define SRV_MG_COLS_INSTANCE(C)                                                                    \
    C(INSTANCE_ID, "instance_id", SRV_MG_TEXT) C(SERVICE_ID, "service_id", SRV_MG_TEXT)           \
    C(REGION_ID, "region_id", SRV_MG_TEXT) C(OPERATION, "operation", SRV_MG_TEXT)                  \
    C(OPERATOR_ID, "operator_id", SRV_MG_TEXT) C(TOKEN, "token", SRV_MG_TEXT)
#define SRV_MG_COLS_INSTANCE_LOG(C)                                                                \
    C(INSTANCE_ID, "instance_id", SRV_MG_TEXT) C(SERVICE_ID, "service_id", SRV_MG_TEXT)           \
    C(REGION_ID, "region_id", SRV_MG_TEXT) C(COMPLETE, "complete", SRV_MG_BOOL) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_SERVER(C)                                                                      \
    C(SERVER_ID, "server_id", SRV_MG_TEXT) C(REGION_ID, "region_id", SRV_MG_TEXT)                 \
    C(OPERATION, "operation", SRV_MG_TEXT) C(OPERATOR_ID, "operator_id", SRV_MG_TEXT)             \
    C(TOKEN, "token", SRV_MG_TEXT)
#define SRV_MG_COLS_SERVER_LOG(C)                                                                  \
    C(SERVER_ID, "server_id", SRV_MG_TEXT) C(REGION_ID, "region_id", SRV_MG_TEXT)                 \
    C(COMPLETE, "complete", SRV_MG_BOOL) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_ZONE(C)                                                                        \
    C(SERVICE_ID, "service_id", SRV_MG_TEXT) C(ZONE_ID, "zone_id", SRV_MG_TEXT)                   \
    C(REGION_ID, "region_id", SRV_MG_TEXT) C(OPERATION, "operation", SRV_MG_TEXT)                  \
    C(OPERATOR_ID, "operator_id", SRV_MG_TEXT) C(TOKEN, "token", SRV_MG_TEXT)
#define SRV_MG_COLS_ZONE_LOG(C)                                                                    \
    C(SERVICE_ID, "service_id", SRV_MG_TEXT) C(ZONE_ID, "zone_id", SRV_MG_TEXT)                   \
    C(REGION_ID, "region_id", SRV_MG_TEXT) C(COMPLETE, "complete", SRV_MG_BOOL) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_GROUP(C)                                                                       \
    C(SERVICE_ID, "service_id", SRV_MG_TEXT) C(REGION_ID, "region_id", SRV_MG_TEXT)               \
    C(ZONE_ID, "zone_id", SRV_MG_TEXT) C(NAME, "name", SRV_MG_TEXT)                                \
    C(APP_ID, "app_id", SRV_MG_TEXT) C(DESCRIPTION, "description", SRV_MG_TEXT)                   \
    C(STATUS, "status", SRV_MG_TEXT) C(DELETED, "deleted", SRV_MG_BOOL)
#define SRV_MG_COLS_GROUP_LOG(C)                                                                   \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(SERVICE_ID, "service_id", SRV_MG_TEXT)                  \
    C(REGION_ID, "region_id", SRV_MG_TEXT) C(ZONE_ID, "zone_id", SRV_MG_TEXT)                      \
    C(NAME, "name", SRV_MG_TEXT) C(APP_ID, "app_id", SRV_MG_TEXT)                                  \
    C(DESCRIPTION, "description", SRV_MG_TEXT) C(STATUS, "status", SRV_MG_TEXT) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_GROUP_TAG(C)                                                                   \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(TAG, "tag", SRV_MG_TEXT) C(VALUE, "value", SRV_MG_TEXT)
#define SRV_MG_COLS_GROUP_TAG_LOG(C)                                                               \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(TAG, "tag", SRV_MG_TEXT)                                 \
    C(VALUE, "value", SRV_MG_TEXT) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_GROUP_OP(C)                                                                    \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(OPERATION, "operation", SRV_MG_TEXT)                     \
    C(OPERATOR_ID, "operator_id", SRV_MG_TEXT) C(TOKEN, "token", SRV_MG_TEXT)
#define SRV_MG_COLS_GROUP_OP_LOG(C)                                                                \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(COMPLETE, "complete", SRV_MG_BOOL) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_GROUP_INSTANCE(C)                                                              \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(INSTANCE_ID, "instance_id", SRV_MG_TEXT)
#define SRV_MG_COLS_GROUP_INSTANCE_LOG(C)                                                          \
    C(GROUP_ID, "group_id", SRV_MG_INT) C(INSTANCE_ID, "instance_id", SRV_MG_TEXT) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_SERVICE_INSTANCE_BODY(C)                                                       \
    C(SERVICE_ID, "service_id", SRV_MG_TEXT) C(INSTANCE_ID, "instance_id", SRV_MG_TEXT)           \
    C(IP, "ip", SRV_MG_TEXT) C(MACHINE_NAME, "machine_name", SRV_MG_TEXT)                          \
    C(METADATA, "metadata", SRV_MG_TEXT) C(PORT, "port", SRV_MG_INT)                               \
    C(PROTOCOL, "protocol", SRV_MG_TEXT) C(REGION_ID, "region_id", SRV_MG_TEXT)                    \
    C(ZONE_ID, "zone_id", SRV_MG_TEXT) C(GROUP_ID, "group_id", SRV_MG_TEXT)                        \
    C(HEALTH_CHECK_URL, "health_check_url", SRV_MG_TEXT) C(URL, "url", SRV_MG_TEXT)                \
    C(DESCRIPTION, "description", SRV_MG_TEXT)
#define SRV_MG_COLS_SERVICE_INSTANCE(C) SRV_MG_COLS_SERVICE_INSTANCE_BODY(C)
#define SRV_MG_COLS_SERVICE_INSTANCE_LOG(C) SRV_MG_COLS_SERVICE_INSTANCE_BODY(C) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_ROUTE_RULE(C)                                                                  \
    C(SERVICE_ID, "service_id", SRV_MG_TEXT) C(NAME, "name", SRV_MG_TEXT)                          \
    C(DESCRIPTION, "description", SRV_MG_TEXT) C(STATUS, "status", SRV_MG_TEXT)                   \
    C(STRATEGY, "strategy", SRV_MG_TEXT) C(DELETED, "deleted", SRV_MG_BOOL)
#define SRV_MG_COLS_ROUTE_RULE_LOG(C)                                                              \
    C(ROUTE_RULE_ID, "route_rule_id", SRV_MG_INT) C(SERVICE_ID, "service_id", SRV_MG_TEXT)        \
    C(NAME, "name", SRV_MG_TEXT) C(STATUS, "status", SRV_MG_TEXT)                                  \
    C(STRATEGY, "strategy", SRV_MG_TEXT) SRV_MG_AUDIT(C)

#define SRV_MG_COLS_ROUTE_RULE_GROUP(C)                                                            \
    C(ROUTE_RULE_ID, "route_rule_id", SRV_MG_INT) C(GROUP_ID, "group_id", SRV_MG_INT)             \
    C(WEIGHT, "weight", SRV_MG_INT) C(UNRELEASED_WEIGHT, "unreleased_weight", SRV_MG_INT)
#define SRV_MG_COLS_ROUTE_RULE_GROUP_LOG(C)                                                        \
    C(ROUTE_RULE_ID, "route_rule_id", SRV_MG_INT) C(GROUP_ID, "group_id", SRV_MG_INT)             \
    C(WEIGHT, "weight", SRV_MG_INT) C(UNRELEASED_WEIGHT, "unreleased_weight", SRV_MG_INT)        \
    SRV_MG_AUDIT(C)

/* X(ID, table, columns, cached, unique) */
#define SRV_MG_TABLES(X)                                                                           \
    X(INSTANCE, "instance", SRV_MG_COLS_INSTANCE, 1,                                               \
      "instance_id,service_id,region_id,operation")                                                \
    X(INSTANCE_LOG, "instance_log", SRV_MG_COLS_INSTANCE_LOG, 0, "")                               \
    X(SERVER, "server", SRV_MG_COLS_SERVER, 1, "server_id,region_id,operation")                    \
    X(SERVER_LOG, "server_log", SRV_MG_COLS_SERVER_LOG, 0, "")                                     \
    X(ZONE, "service_zone", SRV_MG_COLS_ZONE, 1, "service_id,region_id,zone_id,operation")         \
    X(ZONE_LOG, "service_zone_log", SRV_MG_COLS_ZONE_LOG, 0, "")                                   \
    X(GROUP, "service_group", SRV_MG_COLS_GROUP, 1, "service_id,region_id,zone_id,name")           \
    X(GROUP_LOG, "service_group_log", SRV_MG_COLS_GROUP_LOG, 0, "")                                \
    X(GROUP_TAG, "service_group_tag", SRV_MG_COLS_GROUP_TAG, 1, "group_id,tag")                    \
    X(GROUP_TAG_LOG, "service_group_tag_log", SRV_MG_COLS_GROUP_TAG_LOG, 0, "")                    \
    X(GROUP_OP, "service_group_operation", SRV_MG_COLS_GROUP_OP, 1, "group_id,operation")          \
    X(GROUP_OP_LOG, "service_group_operation_log", SRV_MG_COLS_GROUP_OP_LOG, 0, "")                \
    X(GROUP_INSTANCE, "service_group_instance", SRV_MG_COLS_GROUP_INSTANCE, 1,                     \
      "group_id,instance_id")                                                                      \
    X(GROUP_INSTANCE_LOG, "service_group_instance_log", SRV_MG_COLS_GROUP_INSTANCE_LOG, 0, "")     \
    X(SERVICE_INSTANCE, "service_instance", SRV_MG_COLS_SERVICE_INSTANCE, 1,                       \
      "service_id,instance_id")                                                                    \
    X(SERVICE_INSTANCE_LOG, "service_instance_log", SRV_MG_COLS_SERVICE_INSTANCE_LOG, 0, "")       \
    X(ROUTE_RULE, "service_route_rule", SRV_MG_COLS_ROUTE_RULE, 1, "service_id,name")              \
    X(ROUTE_RULE_LOG, "service_route_rule_log", SRV_MG_COLS_ROUTE_RULE_LOG, 0, "")                 \
    X(ROUTE_RULE_GROUP, "service_route_rule_group", SRV_MG_COLS_ROUTE_RULE_GROUP, 1,               \
      "route_rule_id,group_id")                                                                    \
    X(ROUTE_RULE_GROUP_LOG, "service_route_rule_group_log", SRV_MG_COLS_ROUTE_RULE_GROUP_LOG, 0,   \
      "")
/* clang-format on */

typedef enum {
#define SRV_MG_TAB_ENUM(id, name, cols, cached, unique) SRV_MG_##id,
    SRV_MG_TABLES(SRV_MG_TAB_ENUM)
#undef SRV_MG_TAB_ENUM
        SRV_MG_TABLE_COUNT
} srv_mg_table_id_t;

/* Column indices per table: SRV_MGC_<TABLE>_<COLUMN>; 0..2 are id, create_time, update_time. */
#define SRV_MGC_ID                            0
#define SRV_MGC_CREATE_TIME                   1
#define SRV_MGC_UPDATE_TIME                   2
#define SRV_MGC_FIRST                         3
#define SRV_MG_COL_ENUM_(tab, id, name, type) SRV_MGC_##tab##_##id,
#define SRV_MG_COL_ENUM(tab, list)                                                                 \
    enum {                                                                                         \
        SRV_MGC_##tab##__BASE = SRV_MGC_FIRST - 1,                                                 \
        list(SRV_MG_COL_ENUM_##tab) SRV_MGC_##tab##__COUNT                                         \
    };

/* One enum per table (the X-macro cannot paste the table name into C(), so each gets a
 * one-line adapter). */
#define SRV_MG_COL_ENUM_INSTANCE(id, n, t)           SRV_MG_COL_ENUM_(INSTANCE, id, n, t)
#define SRV_MG_COL_ENUM_INSTANCE_LOG(id, n, t)       SRV_MG_COL_ENUM_(INSTANCE_LOG, id, n, t)
#define SRV_MG_COL_ENUM_SERVER(id, n, t)             SRV_MG_COL_ENUM_(SERVER, id, n, t)
#define SRV_MG_COL_ENUM_SERVER_LOG(id, n, t)         SRV_MG_COL_ENUM_(SERVER_LOG, id, n, t)
#define SRV_MG_COL_ENUM_ZONE(id, n, t)               SRV_MG_COL_ENUM_(ZONE, id, n, t)
#define SRV_MG_COL_ENUM_ZONE_LOG(id, n, t)           SRV_MG_COL_ENUM_(ZONE_LOG, id, n, t)
#define SRV_MG_COL_ENUM_GROUP(id, n, t)              SRV_MG_COL_ENUM_(GROUP, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_LOG(id, n, t)          SRV_MG_COL_ENUM_(GROUP_LOG, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_TAG(id, n, t)          SRV_MG_COL_ENUM_(GROUP_TAG, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_TAG_LOG(id, n, t)      SRV_MG_COL_ENUM_(GROUP_TAG_LOG, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_OP(id, n, t)           SRV_MG_COL_ENUM_(GROUP_OP, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_OP_LOG(id, n, t)       SRV_MG_COL_ENUM_(GROUP_OP_LOG, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_INSTANCE(id, n, t)     SRV_MG_COL_ENUM_(GROUP_INSTANCE, id, n, t)
#define SRV_MG_COL_ENUM_GROUP_INSTANCE_LOG(id, n, t) SRV_MG_COL_ENUM_(GROUP_INSTANCE_LOG, id, n, t)
#define SRV_MG_COL_ENUM_SERVICE_INSTANCE(id, n, t)   SRV_MG_COL_ENUM_(SERVICE_INSTANCE, id, n, t)
#define SRV_MG_COL_ENUM_SERVICE_INSTANCE_LOG(id, n, t)                                             \
    SRV_MG_COL_ENUM_(SERVICE_INSTANCE_LOG, id, n, t)
#define SRV_MG_COL_ENUM_ROUTE_RULE(id, n, t)       SRV_MG_COL_ENUM_(ROUTE_RULE, id, n, t)
#define SRV_MG_COL_ENUM_ROUTE_RULE_LOG(id, n, t)   SRV_MG_COL_ENUM_(ROUTE_RULE_LOG, id, n, t)
#define SRV_MG_COL_ENUM_ROUTE_RULE_GROUP(id, n, t) SRV_MG_COL_ENUM_(ROUTE_RULE_GROUP, id, n, t)
#define SRV_MG_COL_ENUM_ROUTE_RULE_GROUP_LOG(id, n, t)                                             \
    SRV_MG_COL_ENUM_(ROUTE_RULE_GROUP_LOG, id, n, t)

#define SRV_MG_COL_ENUMS(id, name, cols, cached, unique) SRV_MG_COL_ENUM(id, cols)
SRV_MG_TABLES(SRV_MG_COL_ENUMS)
#undef SRV_MG_COL_ENUMS

typedef struct srv_mg_col {
    const char *name; /* SQL column */
    const char *json; /* camelCase, for the log answers */
    srv_mg_type_t type;
} srv_mg_col_t;

typedef struct srv_mg_table {
    const char *name;
    const srv_mg_col_t *cols; /* ncols entries, id/create_time/update_time first */
    size_t ncols;
    int cached;
    const char *unique;       /* comma-separated natural key, "" if none */
    const size_t *json_order; /* column indices sorted by json name (alphabetical output) */
} srv_mg_table_t;

/* The table descriptor of a table id. */
const srv_mg_table_t *srv_mg_table(srv_mg_table_id_t t);

#endif
