/*
 * `logs`: the audit log. The server keeps one log per kind of write (protocol.md §7.8, nine
 * readers, each newest first); we merge them by createTime, newest first, and filter by
 * operator and service. Kinds keyed by group id are matched to a service through the
 * service's groups; server operations belong to no service and are left out by --service.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ctl.h"

typedef struct kind {
    const char *name; /* shown in the KIND column and as "kind" in --json */
    const char *path;
    int has_service; /* the reader filters by serviceId */
    int by_group;    /* rows carry a groupId (matched to --service through its groups) */
} kind_t;

static const kind_t KINDS[] = {
    {"instance-operation", "instance-operation-logs.json", 1, 0},
    {"server-operation", "server-operation-logs.json", 0, 0},
    {"zone-operation", "zone-operation-logs.json", 1, 0},
    {"group-operation", "group-operation-logs.json", 0, 1},
    {"group", "group-logs.json", 1, 0},
    {"route-rule", "route-rule-logs.json", 1, 0},
    {"route-rule-group", "route-rule-group-logs.json", 0, 1},
    {"group-instance", "group-instance-logs.json", 0, 1},
    {"service-instance", "service-instance-logs.json", 1, 0},
};

static const char LOGS_HELP[] =
    "usage: artemisctl logs [--operator ID] [--service ID] [--limit N] [--json]\n"
    "The audit log of management writes, newest first, merged from the server's nine log\n"
    "readers. --limit: at most N rows (default 50). --json: the wire log row plus \"kind\"\n"
    "(instance-operation, server-operation, zone-operation, group-operation, group,\n"
    "route-rule, route-rule-group, group-instance, service-instance).\n";

static int newest_first(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int64_t tx = ctl_int(x, "createTime", 0), ty = ctl_int(y, "createTime", 0);
    if (tx != ty)
        return tx > ty ? -1 : 1;
    int64_t ix = ctl_int(x, "id", 0), iy = ctl_int(y, "id", 0);
    return ix > iy ? -1 : ix < iy;
}

/* What the row is about, in words. */
static void target(const json_t *r, char *buf, size_t n)
{
    const char *keys[] = {"serviceId",  "serverId", "zoneId",     "name",
                          "instanceId", "groupId",  "routeRuleId"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(r, keys[i]);
        char tmp[256];
        if (json_is_string(v) && *json_string_value(v))
            snprintf(tmp, sizeof tmp, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(tmp, sizeof tmp, "%s=%" JSON_INTEGER_FORMAT, keys[i], json_integer_value(v));
        else
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? " " : "", tmp);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

int cmd_logs(ctl_t *c, int argc, char **argv)
{
    const char *who = NULL, *svc = NULL, *limit_s = NULL;
    const ctl_flag_t flags[] = {{"operator", &who, NULL, NULL},
                                {"service", &svc, NULL, NULL},
                                {"limit", &limit_s, NULL, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "logs", LOGS_HELP, argc, argv, flags, 0, 0, pos, &np));
    long limit = 50;
    if (limit_s && ctl_parse_int(limit_s, 1, 1000000, &limit) != 0)
        return ctl_usage_error("logs", "--limit must be an integer 1..1000000, not '%s'", limit_s);
    json_t *all = json_array(), *group_ids = NULL;
    if (!all)
        return ctl_oom();
    int rc = CTL_OK;
    if (svc) {
        json_t *resp = NULL;
        rc = ctl_call(c, "/api/management/group/get-groups.json",
                      json_pack("{s:s}", "serviceId", svc), "groups", &resp);
        if (rc == CTL_OK) {
            group_ids = json_incref(json_object_get(resp, "groups"));
            json_decref(resp);
        }
    }
    for (size_t k = 0; rc == CTL_OK && k < sizeof KINDS / sizeof KINDS[0]; k++) {
        const kind_t *kd = &KINDS[k];
        if (svc && !kd->has_service && !kd->by_group)
            continue;
        json_t *body = json_object();
        if (!body || (who && json_object_set_new(body, "operatorId", json_string(who))) ||
            (svc && kd->has_service && json_object_set_new(body, "serviceId", json_string(svc)))) {
            json_decref(body);
            rc = ctl_oom();
            break;
        }
        char path[128];
        snprintf(path, sizeof path, "/api/management/log/%s", kd->path);
        json_t *resp = NULL;
        rc = ctl_call(c, path, body, "logs", &resp);
        if (rc != CTL_OK)
            break;
        size_t i;
        json_t *row;
        json_array_foreach(json_object_get(resp, "logs"), i, row)
        {
            if (svc && kd->by_group) {
                size_t g;
                const json_t *grp;
                int mine = 0;
                json_array_foreach(group_ids, g, grp)
                {
                    mine |= json_equal(json_object_get(grp, "groupId"),
                                       json_object_get(row, "groupId"));
                }
                if (!mine)
                    continue;
            }
            if (json_object_set_new(row, "kind", json_string(kd->name)) != 0 ||
                json_array_append(all, row) != 0) {
                rc = ctl_oom();
                break;
            }
        }
        json_decref(resp);
    }
    json_decref(group_ids);
    size_t n = json_array_size(all);
    json_t **rows = rc == CTL_OK && n ? malloc(n * sizeof *rows) : NULL;
    if (rc == CTL_OK && n && !rows)
        rc = ctl_oom();
    if (rc != CTL_OK) {
        json_decref(all);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = json_array_get(all, i);
    if (n)
        qsort(rows, n, sizeof *rows, newest_first);
    if ((size_t)limit < n)
        n = (size_t)limit;
    ctl_table_t t;
    static const char *const head[] = {"TIME",   "KIND",   "OPERATOR", "OPERATION",
                                       "ACTION", "TARGET", "REASON"};
    if (!c->json && ctl_table_init(&t, 7, head) != 0)
        rc = ctl_oom();
    for (size_t i = 0; rc == CTL_OK && i < n; i++) {
        if (c->json) {
            ctl_json_line(rows[i]);
            continue;
        }
        char when[40], what[600];
        ctl_fmt_time(ctl_int(rows[i], "createTime", 0), when, sizeof when);
        target(rows[i], what, sizeof what);
        const json_t *done = json_object_get(rows[i], "complete");
        const char *action =
            json_is_boolean(done) ? (json_is_true(done) ? "pull-in" : "pull-out") : NULL;
        const char *row[] = {when,
                             ctl_str(rows[i], "kind"),
                             ctl_str(rows[i], "operatorId"),
                             ctl_str(rows[i], "operation"),
                             action,
                             what,
                             ctl_str(rows[i], "reason")};
        if (ctl_table_add(&t, row) != 0)
            rc = ctl_oom();
    }
    ctl_table_done(c, &t, rc);
    free(rows);
    json_decref(all);
    return rc;
}
