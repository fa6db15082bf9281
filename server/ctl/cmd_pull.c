/*
 * `pull-out` / `pull-in` of an instance, a server (every instance on an IP), a service's
 * zone or a group: the four operate-* writes of protocol.md §7.3, §7.4 and §7.6. pull-in is
 * the same write with operationComplete = true, which deletes the operation again.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "ctl.h"

static const char PULL_HELP[] =
    "usage: artemisctl pull-out|pull-in instance SERVICE_ID INSTANCE_ID --operator ID\n"
    "       artemisctl pull-out|pull-in server IP --operator ID\n"
    "       artemisctl pull-out|pull-in zone SERVICE_ID ZONE_ID --operator ID\n"
    "       artemisctl pull-out|pull-in group SERVICE_ID GROUP_NAME --operator ID [--app ID]\n"
    "options:\n"
    "  --operator ID     who does it (required; kept in the audit log)\n"
    "  --reason TEXT     why (kept in the audit log)\n"
    "  --operation NAME  the operation (default pullout); pull-in must name the same one\n"
    "  --app ID          group: the group's appId when the group is created (default the\n"
    "                    service id)\n"
    "The region comes from --region (default: the server's); a group's zone from --zone.\n";

/* The operation context every management write carries. */
static int context(json_t *o, const ctl_t *c, const char *op, const char *who, const char *why,
                   int complete)
{
    return json_object_set_new(o, "operation", json_string(op)) ||
           json_object_set_new(o, "operatorId", json_string(who)) ||
           json_object_set_new(o, "token", json_string(c->token)) ||
           json_object_set_new(o, "reason", json_string(why ? why : "")) ||
           json_object_set_new(o, "extensions", json_string("{}")) ||
           json_object_set_new(o, "operationComplete", json_boolean(complete));
}

int cmd_pull(ctl_t *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    int complete = strcmp(cmd, "pull-in") == 0;
    const char *op = "pullout", *who = NULL, *why = NULL, *app = NULL;
    const ctl_flag_t flags[] = {{"operator", &who, NULL, NULL},
                                {"reason", &why, NULL, NULL},
                                {"operation", &op, NULL, NULL},
                                {"app", &app, NULL, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[3];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, cmd, PULL_HELP, argc, argv, flags, 1, 3, pos, &np));
    const char *kind = pos[0];
    int want = strcmp(kind, "server") == 0 ? 2 : 3;
    if (strcmp(kind, "instance") && strcmp(kind, "server") && strcmp(kind, "zone") &&
        strcmp(kind, "group"))
        return ctl_usage_error(cmd, "what to pull: instance, server, zone or group, not '%s'",
                               kind);
    if (np != want)
        return ctl_usage_error(cmd, "%s takes %d argument%s", kind, want - 1, want > 2 ? "s" : "");
    if (!who || !*who)
        return ctl_usage_error(cmd, "--operator is required");
    if (!op || !*op)
        return ctl_usage_error(cmd, "--operation must not be empty");
    int rc = ctl_locate(c);
    if (rc != CTL_OK)
        return rc;
    json_t *body = NULL;
    const char *path = NULL;
    if (strcmp(kind, "instance") == 0) {
        path = "/api/management/operate-instance.json";
        body = json_pack("{s:{s:s,s:s,s:s}}", "instanceKey", "regionId", c->region, "serviceId",
                         pos[1], "instanceId", pos[2]);
    } else if (strcmp(kind, "server") == 0) {
        path = "/api/management/operate-server.json";
        body = json_pack("{s:{s:s,s:s}}", "serverKey", "regionId", c->region, "serverId", pos[1]);
    } else if (strcmp(kind, "zone") == 0) {
        path = "/api/management/zone/operate-zone-operations.json";
        body =
            json_pack("{s:[{s:{s:s,s:s,s:s},s:[s]}]}", "zoneOperationsList", "zoneKey", "regionId",
                      c->region, "serviceId", pos[1], "zoneId", pos[2], "operations", op);
    } else {
        path = "/api/management/group/operate-group-operation.json";
        body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "serviceId", pos[1], "regionId", c->region,
                         "zoneId", c->zone, "name", pos[2], "appId", app ? app : pos[1], "status",
                         "active");
    }
    if (!body || context(body, c, op, who, why, complete) != 0) {
        json_decref(body);
        return ctl_oom();
    }
    json_t *resp = NULL;
    char what[64];
    snprintf(what, sizeof what, "%s %s", cmd, kind);
    rc = ctl_call(c, path, body, what, &resp);
    if (rc != CTL_OK)
        return rc;
    if (c->json) {
        ctl_json_line(resp);
    } else {
        printf("%s %s %s%s%s (operation %s by %s)\n", complete ? "pulled in" : "pulled out", kind,
               pos[1], np > 2 ? "/" : "", np > 2 ? pos[2] : "", op, who);
        fflush(stdout);
    }
    json_decref(resp);
    return CTL_OK;
}
