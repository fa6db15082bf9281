/*
 * The audit log readers (protocol.md §7.8): equality filters on the non-blank fields, newest
 * first, each row with every column camelCased (mgmt_schema.h). Logs are not cached: the query
 * runs on the store's worker and the answer is deferred. At most log.max-rows rows (newest)
 * are returned, so a reader cannot make one answer as large as the whole history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_mgmt.h"
#include "codec.h"

#define MAX_LOG_ROWS 10000

/* A filter: the request field and the log column it matches. */
typedef struct logfilter {
    const char *json;
    const char *col;
} logfilter_t;

typedef struct logpath {
    srv_mg_table_id_t table;
    logfilter_t f[8];
} logpath_t;

typedef struct pending {
    srv_reply_t *rp;
    srv_mg_table_id_t table;
} pending_t;

static void encode_rows(artemisi_buf_t *out, srv_mg_table_id_t tid, const srv_mg_rows_t *rows)
{
    const srv_mg_table_t *t = srv_mg_table(tid);
    artemisi_buf_appends(out, "{\"logs\":[");
    for (size_t r = 0; r < rows->nrows; r++) {
        artemisi_buf_appends(out, r ? ",{" : "{");
        for (size_t k = 0; k < t->ncols; k++) {
            size_t col = t->json_order[k];
            const char *v = srv_mg_val(rows, r, col);
            artemisi_buf_appendf(out, "%s\"%s\":", k ? "," : "", t->cols[col].json);
            if (!v) {
                artemisi_buf_appends(out, "null");
            } else if (t->cols[col].type == SRV_MG_TEXT) {
                artemisi_json_str(out, v);
            } else {
                int64_t n = srv_mg_int(rows, r, col, 0);
                if (t->cols[col].type == SRV_MG_BOOL)
                    artemisi_buf_appends(out, n ? "true" : "false");
                else
                    artemisi_buf_append_i64(out, n);
            }
        }
        artemisi_buf_appendc(out, '}');
    }
    artemisi_buf_appends(out, "],");
    srv_mg_status_ok(out);
    artemisi_buf_appendc(out, '}');
}

static void answered(srv_server_t *srv, void *ctx, int ok, const char *err,
                     const srv_mg_rows_t *rows)
{
    pending_t *p = ctx;
    (void)srv;
    (void)err;
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    if (ok && rows) {
        encode_rows(&out, p->table, rows);
    } else {
        artemisi_buf_appends(&out, "{\"logs\":null,\"responseStatus\":");
        artemisi_encode_status(&out, "internal-service-error", "Query logs failed.", "fail");
        artemisi_buf_appendc(&out, '}');
    }
    if (p->rp)
        srv_reply_send(p->rp, 200, &out);
    artemisi_buf_free(&out);
    free(p);
}

static void query_logs(srv_req_t *req, const logpath_t *lp)
{
    srv_mg_call_t c;
    if (srv_mg_begin(&c, req, "\"logs\":null", "", 0) != 0) {
        srv_mg_end(&c);
        return;
    }
    const srv_mg_table_t *t = srv_mg_table(lp->table);
    artemisi_buf_t sql = ARTEMISI_BUF_INIT;
    const char *params[8];
    size_t n = 0;
    artemisi_buf_appends(&sql, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++)
        artemisi_buf_appendf(&sql, "%s%s", i ? ", " : "", t->cols[i].name);
    artemisi_buf_appendf(&sql, " FROM %s", t->name);
    for (size_t i = 0; i < 8 && lp->f[i].json && !c.answered; i++) {
        const char *v = NULL;
        if (srv_mg_str(&c, c.root, lp->f[i].json, &v) != 0)
            break;
        if (artemisi_blank(v))
            continue;
        if (strcmp(lp->f[i].json, "complete") == 0)
            v = strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ? "1" : "0";
        params[n] = v;
        artemisi_buf_appendf(&sql, "%s %s = $%zu", n ? " AND" : " WHERE", lp->f[i].col, n + 1);
        n++;
    }
    artemisi_buf_appendf(&sql, " ORDER BY id DESC LIMIT %d", MAX_LOG_ROWS);
    if (!c.answered) {
        pending_t *p = calloc(1, sizeof(*p));
        if (!p || artemisi_buf_failed(&sql) ||
            srv_mgmt_query(req->srv, sql.data, n, params, t->ncols, answered, p) != 0) {
            free(p);
            req->out->failed = 1;
        } else {
            p->table = lp->table;
            p->rp = srv_req_defer(req);
            if (!p->rp)
                req->out->failed = 1;
        }
    }
    artemisi_buf_free(&sql);
    srv_mg_end(&c);
}

#define LOG_PATH(fn, table, ...)                                                                   \
    void fn(srv_req_t *req)                                                                        \
    {                                                                                              \
        static const logpath_t lp = {table, {__VA_ARGS__}};                                        \
        query_logs(req, &lp);                                                                      \
    }

/* The filters of §7.8, one line per path. */
LOG_PATH(srv_api_mg_log_instance_operation_logs, SRV_MG_INSTANCE_LOG, {"complete", "complete"},
         {"instanceId", "instance_id"}, {"operation", "operation"}, {"operatorId", "operator_id"},
         {"regionId", "region_id"}, {"serviceId", "service_id"})
LOG_PATH(srv_api_mg_log_server_operation_logs, SRV_MG_SERVER_LOG, {"complete", "complete"},
         {"operation", "operation"}, {"operatorId", "operator_id"}, {"regionId", "region_id"},
         {"serverId", "server_id"})
LOG_PATH(srv_api_mg_log_group_operation_logs, SRV_MG_GROUP_OP_LOG, {"complete", "complete"},
         {"groupId", "group_id"}, {"operation", "operation"}, {"operatorId", "operator_id"})
LOG_PATH(srv_api_mg_log_group_logs, SRV_MG_GROUP_LOG, {"appId", "app_id"}, {"name", "name"},
         {"operation", "operation"}, {"operatorId", "operator_id"}, {"regionId", "region_id"},
         {"serviceId", "service_id"}, {"zoneId", "zone_id"})
LOG_PATH(srv_api_mg_log_route_rule_logs, SRV_MG_ROUTE_RULE_LOG, {"name", "name"},
         {"operation", "operation"}, {"operatorId", "operator_id"}, {"serviceId", "service_id"})
LOG_PATH(srv_api_mg_log_route_rule_group_logs, SRV_MG_ROUTE_RULE_GROUP_LOG, {"groupId", "group_id"},
         {"operation", "operation"}, {"operatorId", "operator_id"},
         {"routeRuleId", "route_rule_id"})
LOG_PATH(srv_api_mg_log_zone_operation_logs, SRV_MG_ZONE_LOG, {"complete", "complete"},
         {"operation", "operation"}, {"operatorId", "operator_id"}, {"regionId", "region_id"},
         {"serviceId", "service_id"}, {"zoneId", "zone_id"})
LOG_PATH(srv_api_mg_log_group_instance_logs, SRV_MG_GROUP_INSTANCE_LOG, {"groupId", "group_id"},
         {"instanceId", "instance_id"}, {"operation", "operation"}, {"operatorId", "operator_id"})
LOG_PATH(srv_api_mg_log_service_instance_logs, SRV_MG_SERVICE_INSTANCE_LOG,
         {"instanceId", "instance_id"}, {"operation", "operation"}, {"operatorId", "operator_id"},
         {"serviceId", "service_id"})
