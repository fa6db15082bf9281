/*
 * "Why is this instance down?": the management view says only up/down, so we ask the four
 * sources of the down predicate (protocol.md §7.2) -- instance, server (its IP), zone and
 * group operations -- and, for each operation found, the newest matching pull-out row of
 * the audit log for who and why.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "why.h"

/* Newest pull-out log row for this operation (logs come newest first); NULL if none. */
static json_t *last_log(ctl_t *c, const char *path, json_t *filter)
{
    json_t *resp = NULL;
    json_object_set_new(filter, "complete", json_false());
    if (ctl_call(c, path, filter, "log", &resp) != CTL_OK)
        return NULL;
    json_t *row = json_array_get(json_object_get(resp, "logs"), 0);
    json_incref(row);
    json_decref(resp);
    return row;
}

/* Append one {scope, operation, operatorId, reason} per operation in ops. Consumes
 * log_filter. */
static int add_reasons(ctl_t *c, json_t *out, const char *scope, const json_t *ops,
                       const char *log_path, json_t *log_filter)
{
    if (!log_filter)
        return ctl_oom();
    int rc = CTL_OK;
    size_t i;
    const json_t *op;
    json_array_foreach(ops, i, op)
    {
        if (!json_is_string(op))
            continue;
        json_t *f = json_deep_copy(log_filter);
        if (!f || json_object_set(f, "operation", (json_t *)op) != 0) {
            json_decref(f);
            rc = ctl_oom();
            break;
        }
        json_t *row = last_log(c, log_path, f);
        json_t *r =
            json_pack("{s:s, s:O, s:s?, s:s?}", "scope", scope, "operation", op, "operatorId",
                      ctl_str(row, "operatorId"), "reason", ctl_str(row, "reason"));
        json_decref(row);
        if (!r || json_array_append_new(out, r) != 0) {
            rc = ctl_oom();
            break;
        }
    }
    json_decref(log_filter);
    return rc;
}

static int ask(ctl_t *c, const char *path, json_t *body, const char *member, const char *inner,
               json_t **ops)
{
    json_t *resp = NULL;
    int rc = ctl_call(c, path, body, "operations", &resp);
    if (rc != CTL_OK)
        return rc;
    *ops = json_incref(json_object_get(json_object_get(resp, member), inner));
    json_decref(resp);
    return CTL_OK;
}

int ctl_why_down(ctl_t *c, const json_t *inst, const json_t *groups, json_t **reasons)
{
    const char *region = ctl_str(inst, "regionId");
    const char *svc = ctl_str(inst, "serviceId");
    const char *id = ctl_str(inst, "instanceId");
    const char *ip = ctl_str(inst, "ip");
    const char *zone = ctl_str(inst, "zoneId");
    const char *gid = ctl_str(inst, "groupId");
    json_t *out = json_array();
    json_t *ops = NULL;
    int rc;
    if (!out)
        return ctl_oom();
    rc = ask(c, "/api/management/instance-operations.json",
             json_pack("{s:{s:s?,s:s?,s:s?}}", "instanceKey", "regionId", region, "serviceId", svc,
                       "instanceId", id),
             "operations", "operations", &ops);
    if (rc == CTL_OK)
        rc = add_reasons(
            c, out, "instance", ops, "/api/management/log/instance-operation-logs.json",
            json_pack("{s:s?,s:s?,s:s?}", "regionId", region, "serviceId", svc, "instanceId", id));
    json_decref(ops);
    ops = NULL;
    if (rc == CTL_OK && ip)
        rc = ask(c, "/api/management/server-operations.json",
                 json_pack("{s:{s:s?,s:s}}", "serverKey", "regionId", region, "serverId", ip),
                 "operations", "operations", &ops);
    if (rc == CTL_OK && ops)
        rc = add_reasons(c, out, "server", ops, "/api/management/log/server-operation-logs.json",
                         json_pack("{s:s?,s:s}", "regionId", region, "serverId", ip));
    json_decref(ops);
    ops = NULL;
    if (rc == CTL_OK && zone)
        rc = ask(c, "/api/management/zone/get-zone-operations.json",
                 json_pack("{s:{s:s?,s:s?,s:s}}", "zoneKey", "regionId", region, "serviceId", svc,
                           "zoneId", zone),
                 "operations", "operations", &ops);
    if (rc == CTL_OK && ops)
        rc = add_reasons(
            c, out, "zone", ops, "/api/management/log/zone-operation-logs.json",
            json_pack("{s:s?,s:s?,s:s}", "regionId", region, "serviceId", svc, "zoneId", zone));
    json_decref(ops);
    ops = NULL;
    /* A group matches when its key service/region/zone/name is a prefix of the instance's
     * group path service/region/zone/(groupId|default)/instanceId. */
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (rc != CTL_OK)
            break;
        const char *gz = ctl_str(g, "zoneId"), *gr = ctl_str(g, "regionId");
        const char *name = ctl_str(g, "name");
        if (!gz || !zone || strcasecmp(gz, zone) != 0 || !gr || !region ||
            strcasecmp(gr, region) != 0 || !name ||
            strcasecmp(name, gid && *gid ? gid : "default") != 0)
            continue;
        json_int_t group_id = json_integer_value(json_object_get(g, "groupId"));
        rc = ask(c, "/api/management/group/get-group-operations.json",
                 json_pack("{s:I}", "groupId", group_id), "groupOperations", "operations", &ops);
        if (rc == CTL_OK && ops) {
            char scope[300];
            snprintf(scope, sizeof scope, "group %s", name);
            rc = add_reasons(c, out, scope, ops, "/api/management/log/group-operation-logs.json",
                             json_pack("{s:I}", "groupId", group_id));
        }
        json_decref(ops);
        ops = NULL;
    }
    if (rc != CTL_OK) {
        json_decref(out);
        return rc;
    }
    *reasons = out;
    return CTL_OK;
}

const char *ctl_why_text(const json_t *reasons, char *buf, size_t n)
{
    size_t used = 0;
    size_t i;
    const json_t *r;
    buf[0] = '\0';
    json_array_foreach(reasons, i, r)
    {
        const char *who = ctl_str(r, "operatorId");
        const char *why = ctl_str(r, "reason");
        int w = snprintf(buf + used, n - used, "%s%s op %s%s%s%s%s%s", i ? "; " : "",
                         ctl_str(r, "scope"), ctl_str(r, "operation"), who ? " by " : "",
                         who ? who : "", why && *why ? " (" : "", why && *why ? why : "",
                         why && *why ? ")" : "");
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    return buf;
}
