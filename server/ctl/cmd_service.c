/*
 * `services` and `service ID`: the live management view (protocol.md §7.5), which keeps
 * pulled-out instances with status "down" and carries creationTime/renewalTime/ttl in their
 * metadata -- the discovery answers would simply leave a down instance out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "ctl.h"
#include "why.h"

static const char SERVICES_HELP[] =
    "usage: artemisctl services [--json]\n"
    "Every registered service with its instance counts (management view: pulled-out\n"
    "instances count as down). --json: {\"serviceId\",\"instances\",\"up\",\"down\"} per line.\n";

int cmd_services(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "services", SERVICES_HELP, argc, argv, NULL, 0, 0, pos, &np));
    int rc = ctl_locate(c);
    json_t *resp = NULL;
    if (rc == CTL_OK)
        rc = ctl_call(c, "/api/management/services.json",
                      json_pack("{s:s,s:s}", "regionId", c->region, "zoneId", c->zone), "services",
                      &resp);
    if (rc != CTL_OK)
        return rc;
    ctl_table_t t;
    static const char *const head[] = {"SERVICE", "INSTANCES", "UP", "DOWN"};
    if (!c->json && ctl_table_init(&t, 4, head) != 0) {
        json_decref(resp);
        return ctl_oom();
    }
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(resp, "services"), i, s)
    {
        const json_t *insts = json_object_get(s, "instances");
        size_t up = 0, n = json_array_size(insts), k;
        const json_t *in;
        json_array_foreach(insts, k, in)
        {
            const char *st = ctl_str(in, "status");
            up += st && strcmp(st, "up") == 0;
        }
        if (c->json) {
            json_t *o =
                json_pack("{s:s?,s:I,s:I,s:I}", "serviceId", ctl_str(s, "serviceId"), "instances",
                          (json_int_t)n, "up", (json_int_t)up, "down", (json_int_t)(n - up));
            if (!o) {
                rc = ctl_oom();
                break;
            }
            ctl_json_line(o);
            json_decref(o);
            continue;
        }
        char a[32], b[32], d[32];
        snprintf(a, sizeof a, "%zu", n);
        snprintf(b, sizeof b, "%zu", up);
        snprintf(d, sizeof d, "%zu", n - up);
        const char *row[] = {ctl_str(s, "serviceId"), a, b, d};
        if (ctl_table_add(&t, row) != 0) {
            rc = ctl_oom();
            break;
        }
    }
    ctl_table_done(c, &t, rc);
    json_decref(resp);
    return rc;
}

static const char SERVICE_HELP[] =
    "usage: artemisctl service SERVICE_ID [--json]\n"
    "The service's instances from the live management view: status (up/down), zone, age,\n"
    "last heartbeat and, for a down instance, why: the instance, server, zone or group\n"
    "operations that take it out, with the operator and reason from the audit log.\n"
    "--json: one line per instance, the wire Instance plus \"downReasons\":[{\"scope\",\n"
    "\"operation\",\"operatorId\",\"reason\"}].\n";

int cmd_service(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "service", SERVICE_HELP, argc, argv, NULL, 1, 1, pos, &np));
    int rc = ctl_locate(c);
    json_t *resp = NULL, *groups = NULL;
    if (rc == CTL_OK)
        rc = ctl_call(c, "/api/management/service.json",
                      json_pack("{s:s,s:s,s:s}", "serviceId", pos[0], "regionId", c->region,
                                "zoneId", c->zone),
                      "service", &resp);
    if (rc != CTL_OK)
        return rc;
    const json_t *insts = json_object_get(json_object_get(resp, "service"), "instances");
    ctl_table_t t;
    static const char *const head[] = {"INSTANCE", "ADDRESS",   "ZONE",    "STATUS",
                                       "AGE",      "HEARTBEAT", "WHY DOWN"};
    if (!c->json && ctl_table_init(&t, 7, head) != 0) {
        json_decref(resp);
        return ctl_oom();
    }
    int64_t now = ctl_now_ms();
    size_t i;
    json_t *in;
    json_array_foreach(insts, i, in)
    {
        const char *st = ctl_str(in, "status");
        json_t *reasons = NULL;
        if (st && strcmp(st, "down") == 0) {
            if (!groups) {
                json_t *gr = NULL;
                rc = ctl_call(c, "/api/management/group/get-groups.json",
                              json_pack("{s:s}", "serviceId", pos[0]), "groups", &gr);
                if (rc != CTL_OK)
                    break;
                groups = json_incref(json_object_get(gr, "groups"));
                json_decref(gr);
            }
            rc = ctl_why_down(c, in, groups, &reasons);
            if (rc != CTL_OK)
                break;
        }
        if (c->json) {
            json_t *o = json_deep_copy(in);
            if (!o || json_object_set_new(o, "downReasons", reasons ? reasons : json_array())) {
                json_decref(o);
                rc = ctl_oom();
                break;
            }
            ctl_json_line(o);
            json_decref(o);
            continue;
        }
        const json_t *md = json_object_get(in, "metadata");
        char addr[300], age[32], hb[40], why[1024];
        snprintf(addr, sizeof addr, "%s:%" PRId64, ctl_str(in, "ip") ? ctl_str(in, "ip") : "?",
                 ctl_int(in, "port", 0));
        int64_t created = ctl_int(md, "creationTime", 0), renewed = ctl_int(md, "renewalTime", 0);
        if (created)
            ctl_fmt_age(now - created, age, sizeof age);
        else
            snprintf(age, sizeof age, "-");
        if (renewed) {
            ctl_fmt_age(now - renewed, hb, sizeof hb);
            strncat(hb, " ago", sizeof hb - strlen(hb) - 1);
        } else {
            snprintf(hb, sizeof hb, "-");
        }
        ctl_why_text(reasons, why, sizeof why);
        if (reasons && !json_array_size(reasons))
            snprintf(why, sizeof why, "down (no operation found)");
        json_decref(reasons);
        const char *row[] = {
            ctl_str(in, "instanceId"), addr, ctl_str(in, "zoneId"), st, age, hb, why};
        if (ctl_table_add(&t, row) != 0) {
            rc = ctl_oom();
            break;
        }
    }
    ctl_table_done(c, &t, rc);
    json_decref(groups);
    json_decref(resp);
    return rc;
}
