/*
 * Shared parts of the management handlers (api_mgmt.h): requests, answers, entities and the
 * statements writes are made of.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_mgmt.h"
#include "cluster.h"
#include "codec.h"
#include "strutil.h"

#define SUCCESS_STATUS "{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"}"

void srv_mg_status_ok(artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "\"responseStatus\":" SUCCESS_STATUS);
}

void srv_mg_fail(srv_mg_call_t *c, const char *code, const char *msg)
{
    artemisi_buf_t *out = c->req->out;
    artemisi_buf_reset(out);
    artemisi_buf_appendc(out, '{');
    if (c->nulls_before && *c->nulls_before)
        artemisi_buf_appendf(out, "%s,", c->nulls_before);
    artemisi_buf_appends(out, "\"responseStatus\":");
    artemisi_encode_status(out, code, msg, "fail");
    if (c->nulls_after && *c->nulls_after)
        artemisi_buf_appendf(out, ",%s", c->nulls_after);
    artemisi_buf_appendc(out, '}');
    c->answered = 1;
}

void srv_mg_missing(srv_mg_call_t *c, const char *field)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%s is null or empty", field);
    srv_mg_fail(c, "bad-request", msg);
}

const char *srv_mg_keep(srv_mg_call_t *c, char *s)
{
    if (!s)
        return NULL;
    if (c->npool == c->cappool) {
        size_t ncap = c->cappool ? c->cappool * 2 : 16;
        char **np = realloc(c->pool, ncap * sizeof(*np));
        if (!np) {
            free(s);
            return NULL;
        }
        c->pool = np;
        c->cappool = ncap;
    }
    c->pool[c->npool++] = s;
    return s;
}

/* A value Jackson could not bind: HTTP 400 naming the field (503 when memory ran out). */
static int bind_failed(srv_mg_call_t *c, int rc, const char *err)
{
    if (rc == ARTEMISI_DECODE_NOMEM)
        c->req->out->failed = 1;
    else
        srv_req_bad_request(c->req, err);
    c->answered = 1;
    return -1;
}

int srv_mg_str(srv_mg_call_t *c, const json_t *obj, const char *name, const char **out)
{
    char err[256], what[128];
    json_t *v = NULL;
    *out = NULL;
    snprintf(what, sizeof(what), "request.%s", name);
    int rc =
        artemisi_json_bind((json_t *)obj, name, ARTEMISI_JT_STRING, what, &v, err, sizeof(err));
    if (rc)
        return bind_failed(c, rc, err);
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    /* Java trims the management keys; a copy keeps the tree intact. */
    const char *b = s, *e = s + strlen(s);
    artemisi_trim_range(&b, &e);
    if (b == s && e == s + strlen(s)) {
        *out = s;
        return 0;
    }
    char *t = strndup(b, (size_t)(e - b));
    if (!(*out = srv_mg_keep(c, t))) {
        c->req->out->failed = 1;
        c->answered = 1;
        return -1;
    }
    return 0;
}

int srv_mg_long(srv_mg_call_t *c, const json_t *obj, const char *name, int64_t *out, int *present)
{
    json_t *v = artemisi_json_get(obj, name);
    *present = v && !json_is_null(v);
    *out = 0;
    if (!*present)
        return 0;
    if (artemisi_json_int(v, INT64_MIN, INT64_MAX, out) != 0) {
        char err[160];
        snprintf(err, sizeof(err), "request.%s must be an integer", name);
        srv_req_bad_request(c->req, err);
        c->answered = 1;
        return -1;
    }
    return 0;
}

int srv_mg_bool(srv_mg_call_t *c, const json_t *obj, const char *name, int *out)
{
    if (artemisi_json_get_bool(obj, name, out) != 0) {
        char err[160];
        snprintf(err, sizeof(err), "request.%s must be a boolean", name);
        srv_req_bad_request(c->req, err);
        c->answered = 1;
        return -1;
    }
    return 0;
}

int srv_mg_list(srv_mg_call_t *c, const json_t *obj, const char *name, json_t **out)
{
    char err[256], what[128];
    snprintf(what, sizeof(what), "request.%s", name);
    int rc = artemisi_json_bind((json_t *)obj, name, ARTEMISI_JT_LIST, what, out, err, sizeof(err));
    return rc ? bind_failed(c, rc, err) : 0;
}

int srv_mg_object(srv_mg_call_t *c, const json_t *obj, const char *name, json_t **out)
{
    char err[256], what[128];
    snprintf(what, sizeof(what), "request.%s", name);
    int rc =
        artemisi_json_bind((json_t *)obj, name, ARTEMISI_JT_OBJECT, what, out, err, sizeof(err));
    return rc ? bind_failed(c, rc, err) : 0;
}

int srv_mg_begin(srv_mg_call_t *c, srv_req_t *req, const char *nulls_before,
                 const char *nulls_after, int write)
{
    memset(c, 0, sizeof(*c));
    c->req = req;
    c->nulls_before = nulls_before;
    c->nulls_after = nulls_after;
    snprintf(c->now, sizeof(c->now), "%lld", (long long)srv_now_wall());
    if (req->http->method == SRV_HTTP_POST) {
        char err[256];
        const char *b = req->body, *e = req->body + req->body_len;
        artemisi_trim_range(&b, &e);
        if (e - b == 4 && memcmp(b, "null", 4) == 0) {
            /* A JSON null body binds to a null request: Java's "request is null". */
            srv_mg_fail(c, "bad-request", "request is null");
            return -1;
        }
        c->root = artemisi_json_parse(req->body, req->body_len, err, sizeof(err));
        if (!c->root) {
            srv_req_bad_request(req, err);
            c->answered = 1;
            return -1;
        }
        if (!json_is_object(c->root)) {
            srv_req_bad_request(req, "request body must be a JSON object");
            c->answered = 1;
            return -1;
        }
    }
    if (write && !srv_cluster_can_registry(req->srv)) {
        artemisi_buf_t st = ARTEMISI_BUF_INIT;
        artemisi_buf_appends(&st, "Serivce is not in up state. Current status: ");
        srv_node_status_text(req->srv, &st);
        srv_mg_fail(c, "service-unavailable", st.data ? st.data : "");
        artemisi_buf_free(&st);
        return -1;
    }
    if (c->root) {
        static const char *const names[] = {"operatorId", "token", "operation", "reason",
                                            "extensions"};
        const char **dst[] = {&c->operator_id, &c->token, &c->operation, &c->reason,
                              &c->extensions};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (srv_mg_str(c, c->root, names[i], dst[i]) != 0)
                return -1;
    }
    if (!c->extensions)
        c->extensions = "{}"; /* OperationContext's default */
    return 0;
}

void srv_mg_end(srv_mg_call_t *c)
{
    json_decref(c->root);
    for (size_t i = 0; i < c->npool; i++)
        free(c->pool[i]);
    free(c->pool);
    c->pool = NULL;
    c->npool = 0;
}

int srv_mg_need_context(srv_mg_call_t *c, int need_token)
{
    if (artemisi_blank(c->operation)) {
        srv_mg_missing(c, "operation");
        return -1;
    }
    if (artemisi_blank(c->operator_id)) {
        srv_mg_missing(c, "operatorId");
        return -1;
    }
    if (need_token && artemisi_blank(c->token)) {
        srv_mg_missing(c, "token");
        return -1;
    }
    return 0;
}

/* ---- entities ------------------------------------------------------------------------------- */

#define COL(json, col)                                                                             \
    {                                                                                              \
        json, col, SRV_MGF_COL                                                                     \
    }

static const srv_mg_field_t group_fields[] = {
    COL("appId", SRV_MGC_GROUP_APP_ID),
    COL("description", SRV_MGC_GROUP_DESCRIPTION),
    COL("groupId", SRV_MGC_ID),
    {"groupKey", -1, SRV_MGF_GROUP_KEY},
    {"metadata", SRV_MGC_ID, SRV_MGF_TAGS},
    COL("name", SRV_MGC_GROUP_NAME),
    COL("regionId", SRV_MGC_GROUP_REGION_ID),
    COL("serviceId", SRV_MGC_GROUP_SERVICE_ID),
    COL("status", SRV_MGC_GROUP_STATUS),
    COL("zoneId", SRV_MGC_GROUP_ZONE_ID),
};
static const srv_mg_field_t rule_fields[] = {
    COL("description", SRV_MGC_ROUTE_RULE_DESCRIPTION),
    COL("name", SRV_MGC_ROUTE_RULE_NAME),
    COL("routeRuleId", SRV_MGC_ID),
    COL("serviceId", SRV_MGC_ROUTE_RULE_SERVICE_ID),
    COL("status", SRV_MGC_ROUTE_RULE_STATUS),
    COL("strategy", SRV_MGC_ROUTE_RULE_STRATEGY),
};
static const srv_mg_field_t rrg_fields[] = {
    COL("groupId", SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID),
    COL("routeRuleGroupId", SRV_MGC_ID),
    COL("routeRuleId", SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID),
    COL("unreleasedWeight", SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT),
    COL("weight", SRV_MGC_ROUTE_RULE_GROUP_WEIGHT),
};
static const srv_mg_field_t gi_fields[] = {
    COL("groupId", SRV_MGC_GROUP_INSTANCE_GROUP_ID),
    COL("id", SRV_MGC_ID),
    COL("instanceId", SRV_MGC_GROUP_INSTANCE_INSTANCE_ID),
};
static const srv_mg_field_t si_fields[] = {
    COL("description", SRV_MGC_SERVICE_INSTANCE_DESCRIPTION),
    COL("groupId", SRV_MGC_SERVICE_INSTANCE_GROUP_ID),
    COL("healthCheckUrl", SRV_MGC_SERVICE_INSTANCE_HEALTH_CHECK_URL),
    COL("id", SRV_MGC_ID),
    COL("instanceId", SRV_MGC_SERVICE_INSTANCE_INSTANCE_ID),
    COL("ip", SRV_MGC_SERVICE_INSTANCE_IP),
    COL("machineName", SRV_MGC_SERVICE_INSTANCE_MACHINE_NAME),
    {"metadata", SRV_MGC_SERVICE_INSTANCE_METADATA, SRV_MGF_JSON_MAP},
    COL("port", SRV_MGC_SERVICE_INSTANCE_PORT),
    COL("protocol", SRV_MGC_SERVICE_INSTANCE_PROTOCOL),
    COL("regionId", SRV_MGC_SERVICE_INSTANCE_REGION_ID),
    COL("serviceId", SRV_MGC_SERVICE_INSTANCE_SERVICE_ID),
    COL("url", SRV_MGC_SERVICE_INSTANCE_URL),
    COL("zoneId", SRV_MGC_SERVICE_INSTANCE_ZONE_ID),
};

#define ENTITY(name, table, fields)                                                                \
    const srv_mg_entity_t name = {table, fields, sizeof(fields) / sizeof(fields[0])};
ENTITY(srv_mg_group_entity, SRV_MG_GROUP, group_fields)
ENTITY(srv_mg_rule_entity, SRV_MG_ROUTE_RULE, rule_fields)
ENTITY(srv_mg_rrg_entity, SRV_MG_ROUTE_RULE_GROUP, rrg_fields)
ENTITY(srv_mg_group_instance_entity, SRV_MG_GROUP_INSTANCE, gi_fields)
ENTITY(srv_mg_service_instance_entity, SRV_MG_SERVICE_INSTANCE, si_fields)

/* A column value as JSON: text quoted, integers bare (text that is not a number: null). */
static int append_value(artemisi_buf_t *out, const srv_mg_rows_t *r, size_t row, size_t col,
                        srv_mg_type_t type)
{
    const char *v = srv_mg_val(r, row, col);
    if (!v)
        return artemisi_buf_appends(out, "null");
    if (type == SRV_MG_TEXT)
        return artemisi_json_str(out, v);
    int64_t n = srv_mg_int(r, row, col, INT64_MIN);
    if (n == INT64_MIN)
        return artemisi_buf_appends(out, "null");
    if (type == SRV_MG_BOOL)
        return artemisi_buf_appends(out, n ? "true" : "false");
    return artemisi_buf_append_i64(out, n);
}

int srv_mg_encode(artemisi_buf_t *out, const srv_mg_snap_t *s, const srv_mg_entity_t *e, size_t row)
{
    const srv_mg_rows_t *r = &s->tab[e->table];
    const srv_mg_table_t *t = srv_mg_table(e->table);
    int rc = artemisi_buf_appendc(out, '{');
    for (size_t i = 0; i < e->n; i++) {
        const srv_mg_field_t *f = &e->f[i];
        rc |= artemisi_buf_appendf(out, "%s\"%s\":", i ? "," : "", f->json);
        switch (f->kind) {
        case SRV_MGF_COL:
            rc |= append_value(out, r, row, (size_t)f->col, t->cols[f->col].type);
            break;
        case SRV_MGF_GROUP_KEY: {
            artemisi_buf_t k = ARTEMISI_BUF_INIT;
            rc |= srv_mg_group_key(s, row, &k);
            rc |= artemisi_json_str(out, k.data ? k.data : "");
            artemisi_buf_free(&k);
            break;
        }
        case SRV_MGF_TAGS:
            rc |= srv_mg_append_tags(s, srv_mg_int(r, row, (size_t)f->col, -1), out);
            break;
        case SRV_MGF_JSON_MAP: {
            const char *v = srv_mg_val(r, row, (size_t)f->col);
            json_t *j = v ? json_loads(v, 0, NULL) : NULL;
            char *d = json_is_object(j) ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            rc |= artemisi_buf_appends(out, d ? d : "null");
            free(d);
            json_decref(j);
            break;
        }
        }
    }
    rc |= artemisi_buf_appendc(out, '}');
    if (rc)
        out->failed = 1; /* a group key lost in its scratch buffer is lost from the answer */
    return rc ? -1 : 0;
}

/* One request value into text for the column: strings as they are, numbers as their text,
 * booleans 1/0, a JSON object for a map column as compact sorted JSON. */
static int decode_value(srv_mg_call_t *c, const json_t *obj, const srv_mg_field_t *f,
                        srv_mg_type_t type, const char *what, const char **out)
{
    json_t *v = artemisi_json_get(obj, f->json);
    char err[256];
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (f->kind == SRV_MGF_JSON_MAP) {
        if (!json_is_object(v)) {
            snprintf(err, sizeof(err), "%s.%s must be an object of strings", what, f->json);
            srv_req_bad_request(c->req, err);
            c->answered = 1;
            return -1;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (!json_is_string(x)) {
                snprintf(err, sizeof(err), "%s.%s.%s must be a string", what, f->json, k);
                srv_req_bad_request(c->req, err);
                c->answered = 1;
                return -1;
            }
        }
        *out = srv_mg_keep(c, json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS));
    } else if (type != SRV_MG_TEXT) {
        int64_t n;
        if (json_is_boolean(v) && type == SRV_MG_BOOL) {
            n = json_is_true(v);
        } else if (artemisi_json_int(v, INT64_MIN, INT64_MAX, &n) != 0) {
            snprintf(err, sizeof(err), "%s.%s must be an integer", what, f->json);
            srv_req_bad_request(c->req, err);
            c->answered = 1;
            return -1;
        }
        char *t = malloc(24);
        if (t)
            snprintf(t, 24, "%lld", (long long)n);
        *out = srv_mg_keep(c, t);
    } else {
        return srv_mg_str(c, obj, f->json, out);
    }
    if (!*out) {
        c->req->out->failed = 1;
        c->answered = 1;
        return -1;
    }
    return 0;
}

int srv_mg_decode(srv_mg_call_t *c, const json_t *obj, const srv_mg_entity_t *e, const char *what,
                  const char **vals)
{
    const srv_mg_table_t *t = srv_mg_table(e->table);
    for (size_t i = 0; i < t->ncols; i++)
        vals[i] = NULL;
    if (!json_is_object(obj)) {
        char err[160];
        snprintf(err, sizeof(err), "%s must be an object", what);
        srv_req_bad_request(c->req, err);
        c->answered = 1;
        return -1;
    }
    for (size_t i = 0; i < e->n; i++) {
        const srv_mg_field_t *f = &e->f[i];
        if (f->col < 0 || f->kind == SRV_MGF_TAGS)
            continue;
        if (decode_value(c, obj, f, t->cols[f->col].type, what, &vals[f->col]) != 0)
            return -1;
    }
    return 0;
}

/* ---- statements ---------------------------------------------------------------------------- */

/* The natural key's column indices of table t; returns their number. */
static size_t key_cols(const srv_mg_table_t *t, size_t *cols, size_t max)
{
    size_t n = 0;
    const char *p = t->unique;
    while (*p && n < max) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++)
            if (strlen(t->cols[i].name) == len && strncmp(t->cols[i].name, p, len) == 0)
                cols[n++] = i;
        p += len + (e ? 1 : 0);
    }
    return n;
}

size_t srv_mg_sql_key_where(srv_mg_table_id_t tid, const char *const *vals, size_t first,
                            artemisi_buf_t *sql, const char **params)
{
    const srv_mg_table_t *t = srv_mg_table(tid);
    size_t cols[8], n = key_cols(t, cols, 8);
    artemisi_buf_appends(sql, " WHERE ");
    for (size_t i = 0; i < n; i++) {
        const char *name = t->cols[cols[i]].name;
        if (i)
            artemisi_buf_appends(sql, " AND ");
        /* NULL never equals NULL in SQL; a key part may be null (Java writes "null" into
         * its MySQL key; here it is COALESCEd to ''). */
        if (t->cols[cols[i]].type == SRV_MG_TEXT)
            artemisi_buf_appendf(sql, "lower(COALESCE(%s,'')) = lower(COALESCE($%zu,''))", name,
                                 first + i);
        else
            artemisi_buf_appendf(sql, "%s = $%zu", name, first + i);
        params[i] = vals[cols[i]];
    }
    return n;
}

static int sql_insert(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t tid,
                      const char *const *vals, unsigned flags)
{
    const srv_mg_table_t *t = srv_mg_table(tid);
    artemisi_buf_t sql = ARTEMISI_BUF_INIT;
    const char *params[64];
    size_t n = 0;
    artemisi_buf_appendf(&sql, "INSERT INTO %s (create_time, update_time", t->name);
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++)
        artemisi_buf_appendf(&sql, ", %s", t->cols[i].name);
    artemisi_buf_appends(&sql, ") VALUES ($1, $1");
    params[n++] = c->now;
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++) {
        params[n] = vals[i];
        artemisi_buf_appendf(&sql, ", $%zu", ++n);
    }
    artemisi_buf_appendc(&sql, ')');
    int rc = artemisi_buf_failed(&sql) ? -1 : srv_mg_tx_add(tx, flags, sql.data, n, params);
    artemisi_buf_free(&sql);
    return rc;
}

int srv_mg_sql_insert(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t tid,
                      const char *const *vals)
{
    return sql_insert(c, tx, tid, vals, 0);
}

int srv_mg_sql_upsert(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t tid,
                      const char *const *vals, uint64_t set)
{
    const srv_mg_table_t *t = srv_mg_table(tid);
    artemisi_buf_t sql = ARTEMISI_BUF_INIT;
    const char *params[64];
    size_t n = 0;
    artemisi_buf_appendf(&sql, "UPDATE %s SET update_time = $1", t->name);
    params[n++] = c->now;
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++) {
        if (!(set & (1ull << i)))
            continue;
        params[n] = vals[i];
        artemisi_buf_appendf(&sql, ", %s = $%zu", t->cols[i].name, ++n);
    }
    n += srv_mg_sql_key_where(tid, vals, n + 1, &sql, params + n);
    int rc = artemisi_buf_failed(&sql) ? -1 : srv_mg_tx_add(tx, 0, sql.data, n, params);
    artemisi_buf_free(&sql);
    /* The insert runs only when the update found no row. */
    return rc ? rc : sql_insert(c, tx, tid, vals, SRV_MG_IF_NONE);
}

int srv_mg_sql_delete_key(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t tid,
                          const char *const *vals)
{
    (void)c;
    const srv_mg_table_t *t = srv_mg_table(tid);
    artemisi_buf_t sql = ARTEMISI_BUF_INIT;
    const char *params[16];
    artemisi_buf_appendf(&sql, "DELETE FROM %s", t->name);
    size_t n = srv_mg_sql_key_where(tid, vals, 1, &sql, params);
    int rc = artemisi_buf_failed(&sql) ? -1 : srv_mg_tx_add(tx, 0, sql.data, n, params);
    artemisi_buf_free(&sql);
    return rc;
}

int srv_mg_sql_log(srv_mg_call_t *c, srv_mg_tx_t *tx, srv_mg_table_id_t log, const char **vals)
{
    const srv_mg_table_t *t = srv_mg_table(log);
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++) {
        const char *name = t->cols[i].name;
        if (strcmp(name, "operation") == 0 && !vals[i])
            vals[i] = c->operation;
        else if (strcmp(name, "operator_id") == 0)
            vals[i] = c->operator_id;
        else if (strcmp(name, "token") == 0)
            vals[i] = c->token;
        else if (strcmp(name, "reason") == 0)
            vals[i] = c->reason;
        else if (strcmp(name, "extensions") == 0)
            vals[i] = c->extensions;
    }
    return srv_mg_sql_insert(c, tx, log, vals);
}

/* ---- commit ---------------------------------------------------------------------------------- */

typedef struct pending {
    srv_reply_t *rp;
    const char *fail_msg;
} pending_t;

static void committed(srv_server_t *srv, void *ctx, int ok, const char *err,
                      const srv_mg_rows_t *rows)
{
    pending_t *p = ctx;
    (void)srv;
    (void)rows;
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    artemisi_buf_appendc(&out, '{');
    if (ok) {
        srv_mg_status_ok(&out);
    } else {
        char msg[512];
        /* Java's fixed text; why it failed is in the server log and /health. */
        snprintf(msg, sizeof(msg), "%s", p->fail_msg);
        if (err && strcmp(err, "management store unavailable") == 0)
            snprintf(msg, sizeof(msg), "%s The management store is unavailable.", p->fail_msg);
        artemisi_buf_appends(&out, "\"responseStatus\":");
        artemisi_encode_status(&out, "internal-service-error", msg, "fail");
    }
    artemisi_buf_appendc(&out, '}');
    if (p->rp)
        srv_reply_send(p->rp, 200, &out);
    artemisi_buf_free(&out);
    free(p);
}

void srv_mg_commit(srv_mg_call_t *c, srv_mg_tx_t *tx, const char *fail_msg)
{
    size_t max = (size_t)c->req->srv->cfg.management_max_statements;
    if (srv_mg_tx_count(tx) > max) {
        /* Refused whole: a write is all or nothing, and one request may not hold the store
         * (and every other operator's writes) for long. */
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "the request would run %zu statements, more than "
                 "management.max-statements-per-write (%zu); split it",
                 srv_mg_tx_count(tx), max);
        srv_mg_tx_free(tx);
        srv_mg_fail(c, "bad-request", msg);
        return;
    }
    c->answered = 1;
    pending_t *p = calloc(1, sizeof(*p));
    if (!p) {
        srv_mg_tx_free(tx);
        c->req->out->failed = 1; /* 503 */
        return;
    }
    p->fail_msg = fail_msg;
    /* Queue first, defer second: the answer comes from the loop's next turns at the earliest,
     * and a job that cannot be queued is answered now, without a deferred reply to undo. */
    if (srv_mgmt_write(c->req->srv, tx, committed, p) != 0) {
        free(p);
        c->req->out->failed = 1;
        return;
    }
    p->rp = srv_req_defer(c->req);
    if (!p->rp)
        c->req->out->failed = 1; /* the write goes on; its answer is a 503 */
}
