/*
 * Instance, server and zone operations (protocol.md §7.3, §7.4): pull-out (an operation row)
 * and pull-in (the row deleted), their readers, and the "is it down" questions. Operations are
 * keyed case-insensitively (InstanceKey, ServerKey, ZoneKey of §1.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_mgmt.h"
#include "codec.h"

/* The three kinds of operation row, as tables of their key. */
typedef struct opkind {
    srv_mg_table_id_t table, log;
    const char *key_obj;  /* "instanceKey" */
    int key_first;        /* key_obj sorts before "operations" */
    size_t n;             /* key parts */
    const char *json[3];  /* key fields, alphabetical (the wire order) */
    size_t col[3];        /* their columns in `table` */
    size_t log_col[3];    /* and in `log` */
    size_t op_col;        /* the operation column */
    size_t log_complete;  /* the complete column of the log */
    const char *fail_msg; /* Java's fixed text */
} opkind_t;

static const opkind_t instance_ops = {
    SRV_MG_INSTANCE,
    SRV_MG_INSTANCE_LOG,
    "instanceKey",
    1,
    3,
    {"instanceId", "regionId", "serviceId"},
    {SRV_MGC_INSTANCE_INSTANCE_ID, SRV_MGC_INSTANCE_REGION_ID, SRV_MGC_INSTANCE_SERVICE_ID},
    {SRV_MGC_INSTANCE_LOG_INSTANCE_ID, SRV_MGC_INSTANCE_LOG_REGION_ID,
     SRV_MGC_INSTANCE_LOG_SERVICE_ID},
    SRV_MGC_INSTANCE_OPERATION,
    SRV_MGC_INSTANCE_LOG_COMPLETE,
    "Update instance failed.",
};
static const opkind_t server_ops = {
    SRV_MG_SERVER,
    SRV_MG_SERVER_LOG,
    "serverKey",
    0,
    2,
    {"regionId", "serverId"},
    {SRV_MGC_SERVER_REGION_ID, SRV_MGC_SERVER_SERVER_ID},
    {SRV_MGC_SERVER_LOG_REGION_ID, SRV_MGC_SERVER_LOG_SERVER_ID},
    SRV_MGC_SERVER_OPERATION,
    SRV_MGC_SERVER_LOG_COMPLETE,
    "Update server failed.",
};
static const opkind_t zone_ops = {
    SRV_MG_ZONE,
    SRV_MG_ZONE_LOG,
    "zoneKey",
    0,
    3,
    {"regionId", "serviceId", "zoneId"},
    {SRV_MGC_ZONE_REGION_ID, SRV_MGC_ZONE_SERVICE_ID, SRV_MGC_ZONE_ZONE_ID},
    {SRV_MGC_ZONE_LOG_REGION_ID, SRV_MGC_ZONE_LOG_SERVICE_ID, SRV_MGC_ZONE_LOG_ZONE_ID},
    SRV_MGC_ZONE_OPERATION,
    SRV_MGC_ZONE_LOG_COMPLETE,
    "Operate zone operations failed.",
};

/* Read a key object (trimmed strings) into parts; -1 answered. */
static int read_key(srv_mg_call_t *c, const opkind_t *k, const json_t *obj, const char **parts);

/* The readers need their key object: without one there is nothing to look up. */
static int need_key(srv_mg_call_t *c, const char *name)
{
    json_t *v = artemisi_json_get(c->root, name);
    if (v && !json_is_null(v))
        return 0;
    char msg[96];
    snprintf(msg, sizeof(msg), "request.%s is null", name);
    srv_mg_fail(c, "bad-request", msg);
    return -1;
}

static int read_key(srv_mg_call_t *c, const opkind_t *k, const json_t *obj, const char **parts)
{
    json_t *key = NULL;
    if (srv_mg_object(c, obj, k->key_obj, &key) != 0)
        return -1;
    for (size_t i = 0; i < k->n; i++)
        if (srv_mg_str(c, key, k->json[i], &parts[i]) != 0)
            return -1;
    return 0;
}

static int key_equal(const srv_mg_rows_t *r, size_t row, const size_t *cols, size_t n,
                     const char *const *parts)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = srv_mg_val(r, row, cols[i]);
        if (strcasecmp(v ? v : "", parts[i] ? parts[i] : "") != 0)
            return 0;
    }
    return 1;
}

static void append_key(artemisi_buf_t *out, const opkind_t *k, const char *const *parts)
{
    artemisi_buf_appendf(out, "\"%s\":{", k->key_obj);
    for (size_t i = 0; i < k->n; i++) {
        artemisi_buf_appendf(out, "%s\"%s\":", i ? "," : "", k->json[i]);
        artemisi_json_str(out, parts[i]);
    }
    artemisi_buf_appendc(out, '}');
}

/* One XOperations object of every row matching key `parts`; "null" when there is none. */
static void append_group(artemisi_buf_t *out, const srv_mg_snap_t *s, const opkind_t *k,
                         const char *const *parts)
{
    const srv_mg_rows_t *r = &s->tab[k->table];
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        if (!key_equal(r, i, k->col, k->n, parts))
            continue;
        if (n++ == 0) {
            artemisi_buf_appendc(out, '{');
            if (k->key_first) {
                append_key(out, k, parts);
                artemisi_buf_appendc(out, ',');
            }
            artemisi_buf_appends(out, "\"operations\":[");
        } else {
            artemisi_buf_appendc(out, ',');
        }
        artemisi_json_str(out, srv_mg_val(r, i, k->op_col));
    }
    if (!n) {
        artemisi_buf_appends(out, "null");
        return;
    }
    artemisi_buf_appendc(out, ']');
    if (!k->key_first) {
        artemisi_buf_appendc(out, ',');
        append_key(out, k, parts);
    }
    artemisi_buf_appendc(out, '}');
}

/* Every distinct key (first spelling, first-seen order), optionally only rows whose column
 * `filter_col` equals `filter` exactly (the all-* readers' case-sensitive region filter, §7.3),
 * or case-insensitively for the zone list's DB filter. */
typedef struct opfilter {
    const char *v[3];
    size_t col[3];
    size_t n;
    int exact;
} opfilter_t;

static int row_passes(const srv_mg_rows_t *r, size_t row, const opfilter_t *f)
{
    for (size_t i = 0; f && i < f->n; i++) {
        if (artemisi_blank(f->v[i]))
            continue;
        const char *v = srv_mg_val(r, row, f->col[i]);
        if (!v || (f->exact ? strcmp(v, f->v[i]) : strcasecmp(v, f->v[i])) != 0)
            return 0;
    }
    return 1;
}

static void append_all_groups(artemisi_buf_t *out, const srv_mg_snap_t *s, const opkind_t *k,
                              const opfilter_t *f)
{
    const srv_mg_rows_t *r = &s->tab[k->table];
    artemisi_buf_appendc(out, '[');
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        if (!row_passes(r, i, f))
            continue;
        const char *parts[3];
        for (size_t p = 0; p < k->n; p++)
            parts[p] = srv_mg_val(r, i, k->col[p]);
        /* Shown once, at its first row (rows are in id order). */
        size_t j = 0;
        while (j < i && !(row_passes(r, j, f) && key_equal(r, j, k->col, k->n, parts)))
            j++;
        if (j < i)
            continue;
        if (n++)
            artemisi_buf_appendc(out, ',');
        append_group(out, s, k, parts);
    }
    artemisi_buf_appendc(out, ']');
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* Add the statements of one operation (pull-out, or pull-in when complete) and its log. */
static int add_op(srv_mg_call_t *c, srv_mg_tx_t *tx, const opkind_t *k, const char *const *parts,
                  const char *op, int complete)
{
    const srv_mg_table_t *t = srv_mg_table(k->table);
    const srv_mg_table_t *lt = srv_mg_table(k->log);
    const char *vals[32] = {0}, *lvals[32] = {0};
    for (size_t i = 0; i < k->n; i++) {
        vals[k->col[i]] = parts[i];
        lvals[k->log_col[i]] = parts[i];
    }
    vals[k->op_col] = op;
    uint64_t set = 0;
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, "operator_id") == 0) {
            vals[i] = c->operator_id;
            set |= 1ull << i;
        } else if (strcmp(t->cols[i].name, "token") == 0) {
            vals[i] = c->token;
            set |= 1ull << i;
        }
    }
    (void)lt;
    lvals[k->log_complete] = complete ? "1" : "0";
    for (size_t i = SRV_MGC_FIRST; i < lt->ncols; i++)
        if (strcmp(lt->cols[i].name, "operation") == 0)
            lvals[i] = op;
    int rc = complete ? srv_mg_sql_delete_key(c, tx, k->table, vals)
                      : srv_mg_sql_upsert(c, tx, k->table, vals, set);
    return rc ? rc : srv_mg_sql_log(c, tx, k->log, lvals);
}

/* operate-instance / operate-server: one key, one operation. */
static void operate_one(srv_req_t *req, const opkind_t *k)
{
    srv_mg_call_t c;
    const char *parts[3] = {0};
    int complete = 0;
    if (srv_mg_begin(&c, req, "", "", 1) == 0 && read_key(&c, k, c.root, parts) == 0 &&
        srv_mg_bool(&c, c.root, "operationComplete", &complete) == 0) {
        /* §7.3's order: regionId, serviceId|serverId, instanceId, operation, operatorId. */
        static const int order_instance[] = {1, 2, 0}, order_server[] = {0, 1};
        const int *order = k->n == 3 ? order_instance : order_server;
        for (size_t i = 0; i < k->n && !c.answered; i++)
            if (artemisi_blank(parts[order[i]]))
                srv_mg_missing(&c, k->json[order[i]]);
        if (!c.answered && artemisi_blank(c.operation))
            srv_mg_missing(&c, "operation");
        if (!c.answered && artemisi_blank(c.operator_id))
            srv_mg_missing(&c, "operatorId");
        if (!c.answered) {
            srv_mg_tx_t *tx = srv_mg_tx_new();
            if (!tx || add_op(&c, tx, k, parts, c.operation, complete) != 0) {
                srv_mg_tx_free(tx);
                req->out->failed = 1;
            } else {
                srv_mg_commit(&c, tx, k->fail_msg);
            }
        }
    }
    srv_mg_end(&c);
}

void srv_api_mg_operate_instance(srv_req_t *req)
{
    operate_one(req, &instance_ops);
}

void srv_api_mg_operate_server(srv_req_t *req)
{
    operate_one(req, &server_ops);
}

void srv_api_mg_operate_zone_operations(srv_req_t *req)
{
    srv_mg_call_t c;
    json_t *list = NULL;
    int complete = 0;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 ||
        srv_mg_list(&c, c.root, "zoneOperationsList", &list) != 0 ||
        srv_mg_bool(&c, c.root, "operationComplete", &complete) != 0) {
        srv_mg_end(&c);
        return;
    }
    if (artemisi_blank(c.operator_id)) {
        srv_mg_missing(&c, "operatorId");
        srv_mg_end(&c);
        return;
    }
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    for (size_t i = 0; i < json_array_size(list) && !rc && !c.answered; i++) {
        json_t *zo = json_array_get(list, i);
        const char *parts[3] = {0};
        json_t *ops = NULL;
        if (!json_is_object(zo)) {
            srv_req_bad_request(req, "request.zoneOperationsList entries must be objects");
            c.answered = 1;
            break;
        }
        if (read_key(&c, &zone_ops, zo, parts) != 0 || srv_mg_list(&c, zo, "operations", &ops))
            break;
        static const char *const names[] = {"regionId", "serviceId", "zoneId"};
        for (size_t p = 0; p < 3 && !c.answered; p++)
            if (artemisi_blank(parts[p]))
                srv_mg_missing(&c, names[p]);
        for (size_t j = 0; j < json_array_size(ops) && !rc && !c.answered; j++) {
            const char *op = json_string_value(json_array_get(ops, j));
            if (artemisi_blank(op))
                srv_mg_missing(&c, "operation");
            else
                rc = add_op(&c, tx, &zone_ops, parts, op, complete);
        }
    }
    if (c.answered || rc) {
        srv_mg_tx_free(tx);
        if (rc && !c.answered)
            req->out->failed = 1;
    } else if (srv_mg_tx_count(tx) == 0) {
        srv_mg_tx_free(tx);
        artemisi_buf_appendc(req->out, '{');
        srv_mg_status_ok(req->out);
        artemisi_buf_appendc(req->out, '}');
    } else {
        srv_mg_commit(&c, tx, zone_ops.fail_msg);
    }
    srv_mg_end(&c);
}

/* ---- readers --------------------------------------------------------------------------------- */

/* {"operations":X|null,"responseStatus":..} for one key. */
static void operations_of(srv_req_t *req, const opkind_t *k)
{
    srv_mg_call_t c;
    const char *parts[3] = {0};
    if (srv_mg_begin(&c, req, "\"operations\":null", "", 0) == 0 && need_key(&c, k->key_obj) == 0 &&
        read_key(&c, k, c.root, parts) == 0) {
        artemisi_buf_appends(req->out, "{\"operations\":");
        append_group(req->out, srv_mgmt_snap(req->srv), k, parts);
        artemisi_buf_appendc(req->out, ',');
        srv_mg_status_ok(req->out);
        artemisi_buf_appendc(req->out, '}');
    }
    srv_mg_end(&c);
}

void srv_api_mg_instance_operations(srv_req_t *req)
{
    operations_of(req, &instance_ops);
}

void srv_api_mg_server_operations(srv_req_t *req)
{
    operations_of(req, &server_ops);
}

void srv_api_mg_get_zone_operations(srv_req_t *req)
{
    operations_of(req, &zone_ops);
}

/* all-*-operations: POST {regionId?} or GET ?regionId (exact match). */
static void all_operations(srv_req_t *req, const opkind_t *k, const char *field, int use_region)
{
    srv_mg_call_t c;
    char nulls[64];
    snprintf(nulls, sizeof(nulls), "\"%s\":null", field);
    artemisi_buf_t q = ARTEMISI_BUF_INIT;
    opfilter_t f = {{NULL}, {k->col[k->n == 3 && k->key_first ? 1 : 0]}, 1, 1};
    if (srv_mg_begin(&c, req, nulls, "", 0) == 0) {
        int rc = 0;
        if (use_region && c.root)
            rc = srv_mg_str(&c, c.root, "regionId", &f.v[0]);
        else if (use_region && srv_req_query(req, "regionId", &q, &f.v[0]) < 0)
            rc = -1;
        if (rc == 0) {
            artemisi_buf_appendf(req->out, "{\"%s\":", field);
            append_all_groups(req->out, srv_mgmt_snap(req->srv), k, &f);
            artemisi_buf_appendc(req->out, ',');
            srv_mg_status_ok(req->out);
            artemisi_buf_appendc(req->out, '}');
        }
    }
    artemisi_buf_free(&q);
    srv_mg_end(&c);
}

void srv_api_mg_all_instance_operations(srv_req_t *req)
{
    all_operations(req, &instance_ops, "allInstanceOperations", 1);
}

void srv_api_mg_all_server_operations(srv_req_t *req)
{
    all_operations(req, &server_ops, "allServerOperations", 1);
}

void srv_api_mg_get_all_zone_operations(srv_req_t *req)
{
    all_operations(req, &zone_ops, "allZoneOperations", 0); /* regionId ignored (§7.4) */
}

void srv_api_mg_get_zone_operations_list(srv_req_t *req)
{
    srv_mg_call_t c;
    opfilter_t f = {{NULL, NULL, NULL},
                    {SRV_MGC_ZONE_REGION_ID, SRV_MGC_ZONE_SERVICE_ID, SRV_MGC_ZONE_ZONE_ID},
                    3,
                    0};
    if (srv_mg_begin(&c, req, "", "\"zoneOperationsList\":null", 0) == 0 &&
        srv_mg_str(&c, c.root, "regionId", &f.v[0]) == 0 &&
        srv_mg_str(&c, c.root, "serviceId", &f.v[1]) == 0 &&
        srv_mg_str(&c, c.root, "zoneId", &f.v[2]) == 0) {
        artemisi_buf_appendc(req->out, '{');
        srv_mg_status_ok(req->out);
        artemisi_buf_appends(req->out, ",\"zoneOperationsList\":");
        append_all_groups(req->out, srv_mgmt_snap(req->srv), &zone_ops, &f);
        artemisi_buf_appendc(req->out, '}');
    }
    srv_mg_end(&c);
}

static void answer_down(srv_req_t *req, int down)
{
    artemisi_buf_appendf(req->out, "{\"down\":%s,", down ? "true" : "false");
    srv_mg_status_ok(req->out);
    artemisi_buf_appendc(req->out, '}');
}

static void key_down(srv_req_t *req, const opkind_t *k)
{
    srv_mg_call_t c;
    const char *parts[3] = {0};
    if (srv_mg_begin(&c, req, "\"down\":false", "", 0) == 0 && need_key(&c, k->key_obj) == 0 &&
        read_key(&c, k, c.root, parts) == 0) {
        const srv_mg_snap_t *s = srv_mgmt_snap(req->srv);
        const srv_mg_rows_t *r = &s->tab[k->table];
        int down = 0;
        for (size_t i = 0; i < r->nrows && !down; i++)
            down = key_equal(r, i, k->col, k->n, parts);
        answer_down(req, down);
    }
    srv_mg_end(&c);
}

void srv_api_mg_server_down(srv_req_t *req)
{
    key_down(req, &server_ops);
}

void srv_api_mg_is_zone_down(srv_req_t *req)
{
    key_down(req, &zone_ops);
}

void srv_api_mg_instance_down(srv_req_t *req)
{
    srv_mg_call_t c;
    if (srv_mg_begin(&c, req, "\"down\":false", "", 0) == 0 && need_key(&c, "instance") == 0) {
        char err[256];
        json_t *inst = NULL;
        artemisi_instance_t d;
        memset(&d, 0, sizeof(d));
        int rc = srv_mg_object(&c, c.root, "instance", &inst);
        if (rc) {
            srv_mg_end(&c);
            return;
        }
        if (inst) {
            size_t need = 0;
            rc = artemisi_decode_instance(inst, &d, NULL, &need, 1u << 20, err, sizeof(err));
        }
        if (rc == ARTEMISI_DECODE_NOMEM)
            req->out->failed = 1;
        else if (rc)
            srv_req_bad_request(req, err);
        else {
            int down = inst ? srv_mg_down(srv_mgmt_snap(req->srv), &d) : 0;
            if (down < 0)
                req->out->failed = 1;
            else
                answer_down(req, down);
        }
    }
    srv_mg_end(&c);
}
