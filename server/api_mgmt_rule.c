/*
 * The management paths with a shape of their own (protocol.md §7.6, §7.7): create-route-rule,
 * route-rule groups and their release, group tags, group operations and canary. Rows created
 * in the same transaction are referred to by their natural key (a subselect), so one
 * transaction creates a rule, its groups and their links.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_mgmt.h"
#include "codec.h"

#define ROWS(s, T)  (&(s)->tab[SRV_MG_##T])
#define CANARY_RULE "canary-route-rule"

/* The id of a rule by (serviceId $a, name $b) and of a group by (serviceId, regionId, zoneId,
 * name) at $c..$c+3, as SQL text. */
static void rule_sub(char *out, size_t len, int a)
{
    snprintf(out, len,
             "(SELECT id FROM service_route_rule WHERE lower(COALESCE(service_id,'')) = "
             "lower(COALESCE($%d,'')) AND lower(COALESCE(name,'')) = lower(COALESCE($%d,'')))",
             a, a + 1);
}

static void group_sub(char *out, size_t len, int a)
{
    snprintf(out, len,
             "(SELECT id FROM service_group WHERE lower(COALESCE(service_id,'')) = "
             "lower(COALESCE($%d,'')) AND lower(COALESCE(region_id,'')) = lower(COALESCE($%d,'')) "
             "AND lower(COALESCE(zone_id,'')) = lower(COALESCE($%d,'')) AND "
             "lower(COALESCE(name,'')) = lower(COALESCE($%d,'')))",
             a, a + 1, a + 2, a + 3);
}

/* Upsert the link of (rule by key, group by key) with unreleased_weight = weight, and log it.
 * params: $1 now, $2 weight, $3-$4 rule key, $5-$8 group key. */
static int link_by_keys(srv_mg_call_t *c, srv_mg_tx_t *tx, const char *weight,
                        const char *const *rule_key, const char *const *group_key)
{
    char rs[512], gs[640], sql[1600];
    rule_sub(rs, sizeof(rs), 3);
    group_sub(gs, sizeof(gs), 5);
    const char *p[] = {c->now,       weight,       rule_key[0],  rule_key[1],
                       group_key[0], group_key[1], group_key[2], group_key[3]};
    snprintf(sql, sizeof(sql),
             "UPDATE service_route_rule_group SET unreleased_weight = $2, update_time = $1 "
             "WHERE route_rule_id = %s AND group_id = %s",
             rs, gs);
    int rc = srv_mg_tx_add(tx, 0, sql, 8, p);
    snprintf(sql, sizeof(sql),
             "INSERT INTO service_route_rule_group (create_time, update_time, route_rule_id, "
             "group_id, unreleased_weight) VALUES ($1, $1, %s, %s, $2)",
             rs, gs);
    rc |= srv_mg_tx_add(tx, SRV_MG_IF_NONE, sql, 8, p);
    const char *lp[] = {c->now,       weight,       rule_key[0],  rule_key[1],  group_key[0],
                        group_key[1], group_key[2], group_key[3], c->operation, c->operator_id,
                        c->token,     c->reason,    c->extensions};
    snprintf(sql, sizeof(sql),
             "INSERT INTO service_route_rule_group_log (create_time, update_time, route_rule_id, "
             "group_id, unreleased_weight, operation, operator_id, token, reason, extensions) "
             "VALUES ($1, $1, %s, %s, $2, $9, $10, $11, $12, $13)",
             rs, gs);
    rc |= srv_mg_tx_add(tx, 0, sql, 13, lp);
    return rc ? -1 : 0;
}

/* Upsert a group row from its values (set: the columns an existing group takes). */
static int upsert_group(srv_mg_call_t *c, srv_mg_tx_t *tx, const char **vals, uint64_t set)
{
    const char *lvals[32] = {0};
    srv_mg_copy_by_name(SRV_MG_GROUP, vals, SRV_MG_GROUP_LOG, lvals);
    return srv_mg_sql_upsert(c, tx, SRV_MG_GROUP, vals, set) ||
                   srv_mg_sql_log(c, tx, SRV_MG_GROUP_LOG, lvals)
               ? -1
               : 0;
}

static int upsert_rule(srv_mg_call_t *c, srv_mg_tx_t *tx, const char **vals)
{
    const char *lvals[32] = {0};
    uint64_t set = 1ull << SRV_MGC_ROUTE_RULE_DESCRIPTION | 1ull << SRV_MGC_ROUTE_RULE_STATUS |
                   1ull << SRV_MGC_ROUTE_RULE_STRATEGY | 1ull << SRV_MGC_ROUTE_RULE_DELETED;
    vals[SRV_MGC_ROUTE_RULE_DELETED] = "0";
    if (artemisi_blank(vals[SRV_MGC_ROUTE_RULE_STRATEGY]))
        vals[SRV_MGC_ROUTE_RULE_STRATEGY] = "weighted-round-robin";
    srv_mg_copy_by_name(SRV_MG_ROUTE_RULE, vals, SRV_MG_ROUTE_RULE_LOG, lvals);
    return srv_mg_sql_upsert(c, tx, SRV_MG_ROUTE_RULE, vals, set) ||
                   srv_mg_sql_log(c, tx, SRV_MG_ROUTE_RULE_LOG, lvals)
               ? -1
               : 0;
}

static void finish(srv_mg_call_t *c, srv_mg_tx_t *tx, int rc, const char *fail_msg)
{
    if (c->answered || rc) {
        srv_mg_tx_free(tx);
        if (rc && !c->answered)
            c->req->out->failed = 1;
    } else {
        srv_mg_commit(c, tx, fail_msg);
    }
    srv_mg_end(c);
}

/* ---- create-route-rule ------------------------------------------------------------------------
 */

void srv_api_mg_create_route_rule(srv_req_t *req)
{
    static const char fail[] = "create route-rule failed.";
    srv_mg_call_t c;
    json_t *rule = NULL, *groups = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_list(&c, c.root, "groups", &groups) != 0) {
        srv_mg_end(&c);
        return;
    }
    if (srv_mg_object(&c, c.root, "routeRule", &rule) != 0) {
        srv_mg_end(&c);
        return;
    }
    const char *rv[32];
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    if (!rule || json_array_size(groups) == 0)
        srv_mg_fail(&c, "internal-service-error", fail);
    else if (srv_mg_decode(&c, rule, &srv_mg_rule_entity, "request.routeRule", rv) == 0 &&
             (artemisi_blank(rv[SRV_MGC_ROUTE_RULE_SERVICE_ID]) ||
              artemisi_blank(rv[SRV_MGC_ROUTE_RULE_NAME]) ||
              artemisi_blank(rv[SRV_MGC_ROUTE_RULE_STATUS])))
        srv_mg_fail(&c, "internal-service-error", fail);
    if (!c.answered && !rc)
        rc = upsert_rule(&c, tx, rv);
    for (size_t i = 0; i < json_array_size(groups) && !c.answered && !rc; i++) {
        const char *gv[32], *weight = NULL;
        char what[64];
        json_t *g = json_array_get(groups, i);
        snprintf(what, sizeof(what), "request.groups[%zu]", i);
        if (srv_mg_decode(&c, g, &srv_mg_group_entity, what, gv) != 0 ||
            srv_mg_str(&c, g, "weight", &weight) != 0)
            break;
        /* §7.6's validations: same service, and every field of a group given. */
        int64_t w;
        if (!weight || artemisi_json_int(artemisi_json_get(g, "weight"), 0, INT32_MAX, &w) ||
            !gv[SRV_MGC_GROUP_SERVICE_ID] ||
            strcasecmp(gv[SRV_MGC_GROUP_SERVICE_ID], rv[SRV_MGC_ROUTE_RULE_SERVICE_ID]) != 0 ||
            artemisi_blank(gv[SRV_MGC_GROUP_REGION_ID]) ||
            artemisi_blank(gv[SRV_MGC_GROUP_ZONE_ID]) || artemisi_blank(gv[SRV_MGC_GROUP_NAME]) ||
            artemisi_blank(gv[SRV_MGC_GROUP_APP_ID]) || artemisi_blank(gv[SRV_MGC_GROUP_STATUS])) {
            srv_mg_fail(&c, "internal-service-error", fail);
            break;
        }
        gv[SRV_MGC_GROUP_DELETED] = "0";
        uint64_t set = 1ull << SRV_MGC_GROUP_APP_ID | 1ull << SRV_MGC_GROUP_DESCRIPTION |
                       1ull << SRV_MGC_GROUP_STATUS | 1ull << SRV_MGC_GROUP_DELETED;
        const char *rk[] = {rv[SRV_MGC_ROUTE_RULE_SERVICE_ID], rv[SRV_MGC_ROUTE_RULE_NAME]};
        const char *gk[] = {gv[SRV_MGC_GROUP_SERVICE_ID], gv[SRV_MGC_GROUP_REGION_ID],
                            gv[SRV_MGC_GROUP_ZONE_ID], gv[SRV_MGC_GROUP_NAME]};
        rc = upsert_group(&c, tx, gv, set) || link_by_keys(&c, tx, weight, rk, gk);
    }
    finish(&c, tx, rc, fail);
}

/* ---- route-rule groups
 * ---------------------------------------------------------------------------- */

static void rule_groups(srv_req_t *req, int release, const char *fail)
{
    srv_mg_call_t c;
    json_t *list = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_list(&c, c.root, "routeRuleGroups", &list) != 0) {
        srv_mg_end(&c);
        return;
    }
    const srv_mg_snap_t *snap = srv_mgmt_snap(req->srv);
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    for (size_t i = 0; i < json_array_size(list) && !rc && !c.answered; i++) {
        const char *v[32], *lv[32] = {0};
        char what[64];
        snprintf(what, sizeof(what), "request.routeRuleGroups[%zu]", i);
        if (srv_mg_decode(&c, json_array_get(list, i), &srv_mg_rrg_entity, what, v) != 0)
            break;
        if (artemisi_blank(v[SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID]) ||
            artemisi_blank(v[SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID])) {
            srv_mg_fail(&c, "internal-service-error", fail);
            break;
        }
        if (release) {
            /* weight = unreleased_weight: what discovery publishes from now on. */
            const char *p[] = {c.now, v[SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID],
                               v[SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID]};
            rc = srv_mg_tx_add(tx, 0,
                               "UPDATE service_route_rule_group SET weight = unreleased_weight, "
                               "update_time = $1 WHERE route_rule_id = $2 AND group_id = $3",
                               3, p);
            const srv_mg_rows_t *r = ROWS(snap, ROUTE_RULE_GROUP);
            for (size_t k = 0; k < r->nrows; k++)
                if (srv_mg_int(r, k, SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID, -1) ==
                        strtoll(v[SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID], NULL, 10) &&
                    srv_mg_int(r, k, SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID, -1) ==
                        strtoll(v[SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID], NULL, 10))
                    v[SRV_MGC_ROUTE_RULE_GROUP_WEIGHT] =
                        srv_mg_val(r, k, SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT);
        } else {
            /* The weight asked for is the unreleased one until release. */
            if (!v[SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT])
                v[SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT] = v[SRV_MGC_ROUTE_RULE_GROUP_WEIGHT];
            v[SRV_MGC_ROUTE_RULE_GROUP_WEIGHT] = NULL;
            rc = srv_mg_sql_upsert(&c, tx, SRV_MG_ROUTE_RULE_GROUP, v,
                                   1ull << SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT);
        }
        srv_mg_copy_by_name(SRV_MG_ROUTE_RULE_GROUP, v, SRV_MG_ROUTE_RULE_GROUP_LOG, lv);
        if (!rc)
            rc = srv_mg_sql_log(&c, tx, SRV_MG_ROUTE_RULE_GROUP_LOG, lv);
    }
    finish(&c, tx, rc, fail);
}

void srv_api_mg_insert_route_rule_groups(srv_req_t *req)
{
    rule_groups(req, 0, "insert route-rule-groups failed.");
}

void srv_api_mg_update_route_rule_groups(srv_req_t *req)
{
    rule_groups(req, 0, "update route-rule-groups failed.");
}

void srv_api_mg_release_route_rule_groups(srv_req_t *req)
{
    rule_groups(req, 1, "release route-rule-groups failed.");
}

/* ---- group tags --------------------------------------------------------------------------------
 */

static void upsert_tags(srv_req_t *req, const char *fail)
{
    srv_mg_call_t c;
    json_t *list = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_list(&c, c.root, "groupTagsList", &list) != 0) {
        srv_mg_end(&c);
        return;
    }
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    for (size_t i = 0; i < json_array_size(list) && !rc && !c.answered; i++) {
        json_t *gt = json_array_get(list, i);
        int64_t gid;
        int present;
        if (srv_mg_long(&c, gt, "groupId", &gid, &present) != 0)
            break;
        json_t *tags = artemisi_json_get(gt, "tags");
        if (!present || (tags && !json_is_object(tags) && !json_is_null(tags))) {
            srv_mg_fail(&c, "internal-service-error", fail);
            break;
        }
        char ids[24];
        snprintf(ids, sizeof(ids), "%lld", (long long)gid);
        const char *k;
        json_t *val;
        json_object_foreach(tags, k, val)
        {
            const char *s = json_string_value(val);
            if (artemisi_blank(k) || artemisi_blank(s) || rc)
                continue; /* §7.6: blank keys and values are skipped */
            const char *v[16] = {0}, *lv[16] = {0};
            v[SRV_MGC_GROUP_TAG_GROUP_ID] = ids;
            v[SRV_MGC_GROUP_TAG_TAG] = k;
            v[SRV_MGC_GROUP_TAG_VALUE] = s;
            srv_mg_copy_by_name(SRV_MG_GROUP_TAG, v, SRV_MG_GROUP_TAG_LOG, lv);
            rc = srv_mg_sql_upsert(&c, tx, SRV_MG_GROUP_TAG, v, 1ull << SRV_MGC_GROUP_TAG_VALUE) ||
                 srv_mg_sql_log(&c, tx, SRV_MG_GROUP_TAG_LOG, lv);
        }
    }
    finish(&c, tx, rc, fail);
}

void srv_api_mg_insert_group_tags(srv_req_t *req)
{
    upsert_tags(req, "insert group tags failed.");
}

void srv_api_mg_update_group_tags(srv_req_t *req)
{
    upsert_tags(req, "update group tags failed.");
}

void srv_api_mg_delete_group_tags(srv_req_t *req)
{
    static const char fail[] = "delete group tags failed.";
    srv_mg_call_t c;
    const char *gid = NULL, *tag = NULL, *value = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_str(&c, c.root, "groupId", &gid) || srv_mg_str(&c, c.root, "tag", &tag) ||
        srv_mg_str(&c, c.root, "value", &value)) {
        srv_mg_end(&c);
        return;
    }
    if (artemisi_blank(gid) && artemisi_blank(tag) && artemisi_blank(value)) {
        srv_mg_fail(&c, "internal-service-error", fail); /* would delete every tag */
        srv_mg_end(&c);
        return;
    }
    int64_t id;
    if (!artemisi_blank(gid) &&
        artemisi_json_int(artemisi_json_get(c.root, "groupId"), INT64_MIN, INT64_MAX, &id) != 0) {
        srv_req_bad_request(req, "request.groupId must be an integer");
        c.answered = 1;
        srv_mg_end(&c);
        return;
    }
    artemisi_buf_t sql = ARTEMISI_BUF_INIT;
    const char *p[3];
    size_t n = 0;
    artemisi_buf_appends(&sql, "DELETE FROM service_group_tag WHERE 1 = 1");
    if (!artemisi_blank(gid)) {
        p[n++] = gid;
        artemisi_buf_appendf(&sql, " AND group_id = $%zu", n);
    }
    if (!artemisi_blank(tag)) {
        p[n++] = tag;
        artemisi_buf_appendf(&sql, " AND lower(tag) = lower($%zu)", n);
    }
    if (!artemisi_blank(value)) {
        p[n++] = value;
        artemisi_buf_appendf(&sql, " AND value = $%zu", n);
    }
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = !tx || artemisi_buf_failed(&sql) || srv_mg_tx_add(tx, 0, sql.data, n, p);
    artemisi_buf_free(&sql);
    const char *lv[16] = {0};
    lv[SRV_MGC_GROUP_TAG_LOG_GROUP_ID] = gid;
    lv[SRV_MGC_GROUP_TAG_LOG_TAG] = tag;
    lv[SRV_MGC_GROUP_TAG_LOG_VALUE] = value;
    if (!rc)
        rc = srv_mg_sql_log(&c, tx, SRV_MG_GROUP_TAG_LOG, lv);
    finish(&c, tx, rc, fail);
}

/* ---- group operations -------------------------------------------------------------------------
 */

/* The group of an operation as SQL: "$k" for an id, or the subselect of its key at $k..$k+3;
 * its parameters are appended to p at *n. PostgreSQL must be able to type every parameter a
 * statement is sent, so each statement gets exactly the ones it uses. */
static void group_ref(char *out, size_t len, int k, const char *gid, const char *const *gkey,
                      const char **p, size_t *n)
{
    if (gkey) {
        group_sub(out, len, k);
        for (size_t i = 0; i < 4; i++)
            p[(*n)++] = gkey[i];
    } else {
        snprintf(out, len, "$%d", k);
        p[(*n)++] = gid;
    }
}

/* Add or remove one operation of a group given by id (gid) or by key (gkey, 4 parts). */
static int group_op(srv_mg_call_t *c, srv_mg_tx_t *tx, const char *gid, const char *const *gkey,
                    const char *op, int complete)
{
    char g[640], sql[1400];
    const char *p[12];
    size_t n = 0;
    int rc;
    if (complete) {
        p[n++] = op;
        group_ref(g, sizeof(g), 2, gid, gkey, p, &n);
        snprintf(sql, sizeof(sql),
                 "DELETE FROM service_group_operation WHERE group_id = %s AND "
                 "lower(operation) = lower($1)",
                 g);
        rc = srv_mg_tx_add(tx, 0, sql, n, p);
    } else {
        p[n++] = c->now;
        p[n++] = op;
        p[n++] = c->operator_id;
        p[n++] = c->token;
        group_ref(g, sizeof(g), 5, gid, gkey, p, &n);
        snprintf(sql, sizeof(sql),
                 "UPDATE service_group_operation SET operator_id = $3, token = $4, update_time = "
                 "$1 WHERE group_id = %s AND lower(operation) = lower($2)",
                 g);
        rc = srv_mg_tx_add(tx, 0, sql, n, p);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO service_group_operation (create_time, update_time, group_id, "
                 "operation, operator_id, token) VALUES ($1, $1, %s, $2, $3, $4)",
                 g);
        rc |= srv_mg_tx_add(tx, SRV_MG_IF_NONE, sql, n, p);
    }
    n = 0;
    p[n++] = c->now;
    p[n++] = op;
    p[n++] = c->operator_id;
    p[n++] = c->token;
    p[n++] = c->reason;
    p[n++] = c->extensions;
    group_ref(g, sizeof(g), 7, gid, gkey, p, &n);
    snprintf(sql, sizeof(sql),
             "INSERT INTO service_group_operation_log (create_time, update_time, group_id, "
             "complete, operation, operator_id, token, reason, extensions) VALUES ($1, $1, %s, "
             "%d, $2, $3, $4, $5, $6)",
             g, complete ? 1 : 0);
    rc |= srv_mg_tx_add(tx, 0, sql, n, p);
    return rc ? -1 : 0;
}

void srv_api_mg_operate_group_operations(srv_req_t *req)
{
    static const char fail[] = "operate group operations failed.";
    srv_mg_call_t c;
    json_t *list = NULL;
    int complete = 0;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_list(&c, c.root, "groupOperationsList", &list) != 0 ||
        srv_mg_bool(&c, c.root, "operationComplete", &complete) != 0) {
        srv_mg_end(&c);
        return;
    }
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    for (size_t i = 0; i < json_array_size(list) && !rc && !c.answered; i++) {
        json_t *go = json_array_get(list, i), *ops = NULL;
        int64_t gid;
        int present;
        if (srv_mg_long(&c, go, "groupId", &gid, &present) != 0 ||
            srv_mg_list(&c, go, "operations", &ops) != 0)
            break;
        if (!present) {
            srv_mg_fail(&c, "internal-service-error", fail);
            break;
        }
        char ids[24];
        snprintf(ids, sizeof(ids), "%lld", (long long)gid);
        for (size_t k = 0; k < json_array_size(ops) && !rc; k++) {
            const char *op = json_string_value(json_array_get(ops, k));
            if (!artemisi_blank(op))
                rc = group_op(&c, tx, ids, NULL, op, complete);
        }
    }
    finish(&c, tx, rc, fail);
}

void srv_api_mg_operate_group_operation(srv_req_t *req)
{
    static const char fail[] = "operate group operation failed.";
    srv_mg_call_t c;
    const char *gv[32];
    int complete = 0;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_decode(&c, c.root, &srv_mg_group_entity, "request", gv) != 0 ||
        srv_mg_bool(&c, c.root, "operationComplete", &complete) != 0) {
        srv_mg_end(&c);
        return;
    }
    if (artemisi_blank(gv[SRV_MGC_GROUP_SERVICE_ID]) || artemisi_blank(gv[SRV_MGC_GROUP_NAME])) {
        srv_mg_fail(&c, "internal-service-error", fail);
        srv_mg_end(&c);
        return;
    }
    gv[SRV_MGC_GROUP_DELETED] = "0";
    if (artemisi_blank(gv[SRV_MGC_GROUP_STATUS]))
        gv[SRV_MGC_GROUP_STATUS] = "active";
    const char *gk[] = {gv[SRV_MGC_GROUP_SERVICE_ID], gv[SRV_MGC_GROUP_REGION_ID],
                        gv[SRV_MGC_GROUP_ZONE_ID], gv[SRV_MGC_GROUP_NAME]};
    srv_mg_tx_t *tx = srv_mg_tx_new();
    /* The group is created when missing and left as it is otherwise (set nothing). */
    int rc =
        !tx || upsert_group(&c, tx, gv, 0) || group_op(&c, tx, NULL, gk, c.operation, complete);
    finish(&c, tx, rc, fail);
}

/* ---- per-group readers: tags and operations ------------------------------------------------ */

/* A filter of one group's tag rows (get-group-tags' tagId and tagKey). */
typedef struct tagfilter {
    int64_t tag_id; /* -1: any */
    const char *tag_key;
} tagfilter_t;

/* {"groupId":N,"tags":{...}} of the tag rows [first, first+n), filtered (f may be NULL). */
static void append_group_tags(artemisi_buf_t *out, const srv_mg_snap_t *s, int64_t gid,
                              size_t first, size_t n, const void *filter)
{
    const tagfilter_t *f = filter;
    const srv_mg_rows_t *t = ROWS(s, GROUP_TAG);
    artemisi_buf_appendf(out, "{\"groupId\":%lld,\"tags\":{", (long long)gid);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t row = s->tag_by_group.v[first + i].row;
        const char *key = srv_mg_val(t, row, SRV_MGC_GROUP_TAG_TAG);
        if (f && ((f->tag_id >= 0 && srv_mg_int(t, row, SRV_MGC_ID, -1) != f->tag_id) ||
                  (f->tag_key && (!key || strcasecmp(key, f->tag_key) != 0))))
            continue;
        if (k++)
            artemisi_buf_appendc(out, ',');
        artemisi_json_str(out, key ? key : "");
        artemisi_buf_appendc(out, ':');
        artemisi_json_str(out, srv_mg_val(t, row, SRV_MGC_GROUP_TAG_VALUE));
    }
    artemisi_buf_appends(out, "}}");
}

/* {"groupId":N,"operations":[...]} of one group. */
static void append_group_ops(artemisi_buf_t *out, const srv_mg_snap_t *s, int64_t gid, size_t first,
                             size_t n, const void *filter)
{
    (void)filter;
    artemisi_buf_appendf(out, "{\"groupId\":%lld,\"operations\":[", (long long)gid);
    for (size_t i = 0; i < n; i++) {
        if (i)
            artemisi_buf_appendc(out, ',');
        artemisi_json_str(out, srv_mg_val(ROWS(s, GROUP_OP), s->op_by_group.v[first + i].row,
                                          SRV_MGC_GROUP_OP_OPERATION));
    }
    artemisi_buf_appends(out, "]}");
}

/* GroupTags and GroupOperations share one shape, keyed by group id. */
typedef struct pergroup {
    const char *one, *all; /* the answer fields of get-X and get-all-X */
    size_t fks;            /* offsetof the rows-by-group index in srv_mg_snap_t */
    void (*append)(artemisi_buf_t *out, const srv_mg_snap_t *s, int64_t gid, size_t first, size_t n,
                   const void *filter);
} pergroup_t;

static const pergroup_t tags_of = {"groupTags", "allGroupTags",
                                   offsetof(srv_mg_snap_t, tag_by_group), append_group_tags};
static const pergroup_t ops_of = {"groupOperations", "allGroupOperations",
                                  offsetof(srv_mg_snap_t, op_by_group), append_group_ops};

static const srv_mg_fks_t *fks_of(const srv_mg_snap_t *s, const pergroup_t *pg)
{
    return (const srv_mg_fks_t *)(const void *)((const char *)s + pg->fks);
}

/* {"<one>":X|null,...} of one group; the caller has begun the call and read the group id. */
static void get_one(srv_mg_call_t *c, const pergroup_t *pg, int64_t gid, int present,
                    const void *filter)
{
    const srv_mg_snap_t *s = srv_mgmt_snap(c->req->srv);
    size_t first, n = present ? srv_mg_fk_range(fks_of(s, pg), gid, &first) : 0;
    artemisi_buf_appendf(c->req->out, "{\"%s\":", pg->one);
    if (n)
        pg->append(c->req->out, s, gid, first, n, filter);
    else
        artemisi_buf_appends(c->req->out, "null");
    artemisi_buf_appendc(c->req->out, ',');
    srv_mg_status_ok(c->req->out);
    artemisi_buf_appendc(c->req->out, '}');
}

static void get_all(srv_req_t *req, const pergroup_t *pg)
{
    srv_mg_call_t c;
    char nulls[64];
    snprintf(nulls, sizeof(nulls), "\"%s\":null", pg->all);
    if (srv_mg_begin(&c, req, nulls, "", 0) == 0) {
        const srv_mg_snap_t *s = srv_mgmt_snap(req->srv);
        const srv_mg_fks_t *f = fks_of(s, pg);
        artemisi_buf_appendf(req->out, "{\"%s\":[", pg->all);
        for (size_t i = 0; i < f->n;) {
            int64_t gid = f->v[i].key;
            size_t first, n = srv_mg_fk_range(f, gid, &first);
            if (i)
                artemisi_buf_appendc(req->out, ',');
            pg->append(req->out, s, gid, first, n, NULL);
            i = first + n;
        }
        artemisi_buf_appends(req->out, "],");
        srv_mg_status_ok(req->out);
        artemisi_buf_appendc(req->out, '}');
    }
    srv_mg_end(&c);
}

void srv_api_mg_get_group_tags(srv_req_t *req)
{
    srv_mg_call_t c;
    int64_t gid, tag_id;
    int has_gid, has_tag_id;
    const char *tag_key = NULL;
    if (srv_mg_begin(&c, req, "\"groupTags\":null", "", 0) == 0 &&
        srv_mg_long(&c, c.root, "groupId", &gid, &has_gid) == 0 &&
        srv_mg_long(&c, c.root, "tagId", &tag_id, &has_tag_id) == 0 &&
        srv_mg_str(&c, c.root, "tagKey", &tag_key) == 0) {
        tagfilter_t f = {has_tag_id ? tag_id : -1, artemisi_blank(tag_key) ? NULL : tag_key};
        get_one(&c, &tags_of, gid, has_gid, &f);
    }
    srv_mg_end(&c);
}

void srv_api_mg_get_all_group_tags(srv_req_t *req)
{
    get_all(req, &tags_of);
}

void srv_api_mg_get_group_operations(srv_req_t *req)
{
    srv_mg_call_t c;
    int64_t gid;
    int present;
    if (srv_mg_begin(&c, req, "\"groupOperations\":null", "", 0) == 0 &&
        srv_mg_long(&c, c.root, "groupId", &gid, &present) == 0)
        get_one(&c, &ops_of, gid, present, NULL);
    srv_mg_end(&c);
}

void srv_api_mg_get_all_group_operations(srv_req_t *req)
{
    get_all(req, &ops_of);
}

/* ---- canary ------------------------------------------------------------------------------------
 */

/* §7.7: rule canary-route-rule (active), group serviceId/<node region>/canary/<appId> (active),
 * their link (unreleased weight 5), and the group's members exactly canaryIps. */
void srv_api_mg_update_canary_ips(srv_req_t *req)
{
    static const char fail[] = "update canary ips failed.";
    srv_mg_call_t c;
    const char *sid = NULL, *app = NULL;
    json_t *ips = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail) ||
        srv_mg_str(&c, c.root, "serviceId", &sid) || srv_mg_str(&c, c.root, "appId", &app) ||
        srv_mg_list(&c, c.root, "canaryIps", &ips)) {
        srv_mg_end(&c);
        return;
    }
    if (artemisi_blank(sid) || artemisi_blank(app)) {
        srv_mg_fail(&c, "internal-service-error", fail);
        srv_mg_end(&c);
        return;
    }
    const char *rv[32] = {0}, *gv[32] = {0};
    rv[SRV_MGC_ROUTE_RULE_SERVICE_ID] = sid;
    rv[SRV_MGC_ROUTE_RULE_NAME] = CANARY_RULE;
    rv[SRV_MGC_ROUTE_RULE_STATUS] = "active";
    rv[SRV_MGC_ROUTE_RULE_STRATEGY] = "weighted-round-robin";
    gv[SRV_MGC_GROUP_SERVICE_ID] = sid;
    gv[SRV_MGC_GROUP_REGION_ID] = req->srv->cfg.region_id;
    gv[SRV_MGC_GROUP_ZONE_ID] = "canary";
    gv[SRV_MGC_GROUP_NAME] = app;
    gv[SRV_MGC_GROUP_APP_ID] = app;
    gv[SRV_MGC_GROUP_STATUS] = "active";
    gv[SRV_MGC_GROUP_DELETED] = "0";
    const char *rk[] = {sid, CANARY_RULE};
    const char *gk[] = {sid, req->srv->cfg.region_id, "canary", app};
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc =
        !tx || upsert_rule(&c, tx, rv) ||
        upsert_group(&c, tx, gv, 1ull << SRV_MGC_GROUP_STATUS | 1ull << SRV_MGC_GROUP_DELETED) ||
        link_by_keys(&c, tx, "5", rk, gk);
    char gs[640], sql[1200];
    group_sub(gs, sizeof(gs), 1);
    snprintf(sql, sizeof(sql), "DELETE FROM service_group_instance WHERE group_id = %s", gs);
    if (!rc)
        rc = srv_mg_tx_add(tx, 0, sql, 4, gk);
    group_sub(gs, sizeof(gs), 3);
    snprintf(sql, sizeof(sql),
             "INSERT INTO service_group_instance (create_time, update_time, group_id, "
             "instance_id) VALUES ($1, $1, %s, $2)",
             gs);
    for (size_t i = 0; i < json_array_size(ips) && !rc; i++) {
        const char *ip = json_string_value(json_array_get(ips, i));
        if (artemisi_blank(ip))
            continue;
        const char *p[] = {c.now, ip, gk[0], gk[1], gk[2], gk[3]};
        rc = srv_mg_tx_add(tx, 0, sql, 6, p);
    }
    finish(&c, tx, rc, fail);
}
