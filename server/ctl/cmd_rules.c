/*
 * Groups and route rules (protocol.md §7.6): `groups`, `route-rules`, `weights` (prepare an
 * unreleased weight), `release` (publish every unreleased weight of the service) and
 * `canary`. Rules and links are found by reading get-route-rules / get-route-rule-groups /
 * get-groups, so the operator names a service and a group, never a database id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "ctl.h"

static int read_list(ctl_t *c, const char *path, json_t *body, const char *member, json_t **out)
{
    json_t *resp = NULL;
    int rc = ctl_call(c, path, body, member, &resp);
    if (rc != CTL_OK)
        return rc;
    json_t *l = json_object_get(resp, member);
    *out = json_is_array(l) ? json_incref(l) : json_array();
    json_decref(resp);
    return *out ? CTL_OK : ctl_oom();
}

static int get_groups(ctl_t *c, const char *svc, json_t **out)
{
    return read_list(c, "/api/management/group/get-groups.json",
                     json_pack("{s:s}", "serviceId", svc), "groups", out);
}

static int get_rules(ctl_t *c, const char *svc, json_t **out)
{
    return read_list(c, "/api/management/group/get-route-rules.json",
                     json_pack("{s:s}", "serviceId", svc), "routeRules", out);
}

static int get_links(ctl_t *c, json_int_t rule_id, json_t **out)
{
    return read_list(c, "/api/management/group/get-route-rule-groups.json",
                     json_pack("{s:I}", "routeRuleId", rule_id), "routeRuleGroups", out);
}

static const json_t *group_by_id(const json_t *groups, json_int_t id)
{
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (json_integer_value(json_object_get(g, "groupId")) == id)
            return g;
    }
    return NULL;
}

static int context(json_t *o, const ctl_t *c, const char *op, const char *who, const char *why)
{
    if (!o)
        return -1;
    return json_object_set_new(o, "operation", json_string(op)) ||
           json_object_set_new(o, "operatorId", json_string(who)) ||
           json_object_set_new(o, "token", json_string(c->token)) ||
           json_object_set_new(o, "reason", json_string(why ? why : "")) ||
           json_object_set_new(o, "extensions", json_string("{}"));
}

static const char GROUPS_HELP[] =
    "usage: artemisctl groups SERVICE_ID [--json]\n"
    "The service's groups (id, name, region, zone, app, status); --json: the wire Group.\n";

int cmd_groups(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "groups", GROUPS_HELP, argc, argv, NULL, 1, 1, pos, &np));
    json_t *groups = NULL;
    int rc = get_groups(c, pos[0], &groups);
    if (rc != CTL_OK)
        return rc;
    ctl_table_t t;
    static const char *const head[] = {"ID", "NAME", "REGION", "ZONE", "APP", "STATUS", "KEY"};
    if (!c->json && ctl_table_init(&t, 7, head) != 0) {
        json_decref(groups);
        return ctl_oom();
    }
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (c->json) {
            ctl_json_line(g);
            continue;
        }
        char id[32];
        snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(g, "groupId")));
        const char *row[] = {id,
                             ctl_str(g, "name"),
                             ctl_str(g, "regionId"),
                             ctl_str(g, "zoneId"),
                             ctl_str(g, "appId"),
                             ctl_str(g, "status"),
                             ctl_str(g, "groupKey")};
        if (ctl_table_add(&t, row) != 0) {
            rc = ctl_oom();
            break;
        }
    }
    ctl_table_done(c, &t, rc);
    json_decref(groups);
    return rc;
}

static void weight_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, n, "-");
}

static const char RULES_HELP[] =
    "usage: artemisctl route-rules SERVICE_ID [--json]\n"
    "The service's route rules and their groups with the released weight (what clients\n"
    "get) and the unreleased one (prepared by `weights`, published by `release`).\n"
    "--json: one line per rule, the wire ServiceRouteRule plus \"groups\": its\n"
    "RouteRuleGroups, each with the group's \"groupKey\" and \"name\".\n";

int cmd_route_rules(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "route-rules", RULES_HELP, argc, argv, NULL, 1, 1, pos, &np));
    json_t *rules = NULL, *groups = NULL;
    int rc = get_rules(c, pos[0], &rules);
    if (rc == CTL_OK)
        rc = get_groups(c, pos[0], &groups);
    ctl_table_t t;
    static const char *const head[] = {"RULE", "STRATEGY", "STATUS",    "GROUP",
                                       "ZONE", "WEIGHT",   "UNRELEASED"};
    if (rc == CTL_OK && !c->json && ctl_table_init(&t, 7, head) != 0)
        rc = ctl_oom();
    int have_table = rc == CTL_OK && !c->json;
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        if (rc != CTL_OK)
            break;
        json_t *links = NULL;
        rc = get_links(c, json_integer_value(json_object_get(r, "routeRuleId")), &links);
        if (rc != CTL_OK)
            break;
        size_t k;
        json_t *l;
        json_array_foreach(links, k, l)
        {
            const json_t *g =
                group_by_id(groups, json_integer_value(json_object_get(l, "groupId")));
            if (c->json) {
                json_object_set(l, "groupKey", json_object_get(g, "groupKey"));
                json_object_set(l, "name", json_object_get(g, "name"));
                continue;
            }
            char w[32], u[32];
            weight_text(json_object_get(l, "weight"), w, sizeof w);
            weight_text(json_object_get(l, "unreleasedWeight"), u, sizeof u);
            const char *row[] = {ctl_str(r, "name"),
                                 ctl_str(r, "strategy"),
                                 ctl_str(r, "status"),
                                 ctl_str(g, "name"),
                                 ctl_str(g, "zoneId"),
                                 w,
                                 u};
            if (ctl_table_add(&t, row) != 0) {
                rc = ctl_oom();
                break;
            }
        }
        if (c->json && rc == CTL_OK) {
            json_t *o = json_deep_copy(r);
            if (!o || json_object_set(o, "groups", links) != 0) {
                json_decref(o);
                rc = ctl_oom();
            } else {
                ctl_json_line(o);
                json_decref(o);
            }
        }
        json_decref(links);
    }
    if (have_table) {
        if (rc == CTL_OK)
            ctl_table_print(&t);
        else
            ctl_table_free(&t);
    }
    json_decref(rules);
    json_decref(groups);
    return rc;
}

/* The rule to change: --rule NAME, else the service's only rule other than the canary's. */
static int pick_rule(ctl_t *c, const char *cmd, const char *svc, const char *name,
                     const json_t *rules, const json_t **out)
{
    size_t i, n = 0;
    const json_t *r, *found = NULL;
    (void)c;
    json_array_foreach(rules, i, r)
    {
        const char *rn = ctl_str(r, "name");
        if (name ? (rn && strcasecmp(rn, name) == 0)
                 : !(rn && strcasecmp(rn, "canary-route-rule") == 0)) {
            found = r;
            n++;
        }
    }
    if (name && !found) {
        fprintf(stderr, "artemisctl %s: server said no: service %s has no route rule '%s'\n", cmd,
                svc, name);
        return CTL_FAIL;
    }
    if (!found) {
        fprintf(stderr, "artemisctl %s: server said no: service %s has no route rule\n", cmd, svc);
        return CTL_FAIL;
    }
    if (n > 1)
        return ctl_usage_error(cmd, "service %s has %zu route rules: name one with --rule", svc, n);
    *out = found;
    return CTL_OK;
}

static const char WEIGHTS_HELP[] =
    "usage: artemisctl weights SERVICE_ID GROUP_NAME WEIGHT --operator ID [--rule NAME]\n"
    "                  [--reason TEXT] [--operation NAME]\n"
    "Set the unreleased weight (0..10000) of group GROUP_NAME in the service's route rule\n"
    "(--rule NAME when the service has several). Clients keep the released weight until\n"
    "`artemisctl release SERVICE_ID`. The group must exist (in the rule, or in exactly one\n"
    "zone of the service, --zone to choose); operation default: weights.\n";

int cmd_weights(ctl_t *c, int argc, char **argv)
{
    const char *who = NULL, *why = NULL, *op = "weights", *rule_name = NULL;
    const ctl_flag_t flags[] = {{"operator", &who, NULL, NULL},
                                {"reason", &why, NULL, NULL},
                                {"operation", &op, NULL, NULL},
                                {"rule", &rule_name, NULL, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[3];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "weights", WEIGHTS_HELP, argc, argv, flags, 3, 3, pos, &np));
    long weight;
    if (ctl_parse_int(pos[2], 0, 10000, &weight) != 0)
        return ctl_usage_error("weights", "WEIGHT must be an integer 0..10000, not '%s'", pos[2]);
    if (!who || !*who)
        return ctl_usage_error("weights", "--operator is required");
    json_t *rules = NULL, *groups = NULL, *links = NULL;
    const json_t *rule = NULL;
    int rc = get_rules(c, pos[0], &rules);
    if (rc == CTL_OK)
        rc = pick_rule(c, "weights", pos[0], rule_name, rules, &rule);
    if (rc == CTL_OK)
        rc = get_groups(c, pos[0], &groups);
    json_int_t rule_id = json_integer_value(json_object_get(rule, "routeRuleId"));
    if (rc == CTL_OK)
        rc = get_links(c, rule_id, &links);
    /* The group: one linked to the rule by that name, else the one group of that name
     * (in --zone when given). */
    const json_t *group = NULL;
    size_t i, nmatch = 0;
    const json_t *x;
    json_array_foreach(links, i, x)
    {
        const json_t *g = group_by_id(groups, json_integer_value(json_object_get(x, "groupId")));
        const char *gn = ctl_str(g, "name");
        if (gn && strcasecmp(gn, pos[1]) == 0 &&
            (!c->zone ||
             strcasecmp(ctl_str(g, "zoneId") ? ctl_str(g, "zoneId") : "", c->zone) == 0)) {
            group = g;
            nmatch++;
        }
    }
    if (rc == CTL_OK && !group) {
        json_array_foreach(groups, i, x)
        {
            const char *gn = ctl_str(x, "name");
            if (gn && strcasecmp(gn, pos[1]) == 0 &&
                (!c->zone ||
                 strcasecmp(ctl_str(x, "zoneId") ? ctl_str(x, "zoneId") : "", c->zone) == 0)) {
                group = x;
                nmatch++;
            }
        }
    }
    if (rc == CTL_OK && !group) {
        fprintf(stderr, "artemisctl weights: server said no: service %s has no group '%s'\n",
                pos[0], pos[1]);
        rc = CTL_FAIL;
    } else if (rc == CTL_OK && nmatch > 1) {
        rc = ctl_usage_error("weights", "group '%s' exists in several zones: choose with --zone",
                             pos[1]);
    }
    if (rc == CTL_OK) {
        json_t *body =
            json_pack("{s:[{s:I,s:O,s:I}]}", "routeRuleGroups", "routeRuleId", rule_id, "groupId",
                      json_object_get(group, "groupId"), "unreleasedWeight", (json_int_t)weight);
        if (context(body, c, op, who, why) != 0) {
            json_decref(body);
            rc = ctl_oom();
        } else {
            json_t *resp = NULL;
            rc = ctl_call(c, "/api/management/group/update-route-rule-groups.json", body, "weights",
                          &resp);
            if (rc == CTL_OK && c->json)
                ctl_json_line(resp);
            else if (rc == CTL_OK)
                printf("rule %s group %s: unreleased weight %ld (release with: artemisctl "
                       "release %s)\n",
                       ctl_str(rule, "name"), ctl_str(group, "groupKey"), weight, pos[0]);
            fflush(stdout);
            json_decref(resp);
        }
    }
    json_decref(links);
    json_decref(groups);
    json_decref(rules);
    return rc;
}

static const char RELEASE_HELP[] =
    "usage: artemisctl release SERVICE_ID --operator ID [--rule NAME] [--reason TEXT]\n"
    "Publish every unreleased weight of the service's route rules (or of --rule NAME) to\n"
    "the clients. Operation default: release.\n";

int cmd_release(ctl_t *c, int argc, char **argv)
{
    const char *who = NULL, *why = NULL, *op = "release", *rule_name = NULL;
    const ctl_flag_t flags[] = {{"operator", &who, NULL, NULL},
                                {"reason", &why, NULL, NULL},
                                {"operation", &op, NULL, NULL},
                                {"rule", &rule_name, NULL, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "release", RELEASE_HELP, argc, argv, flags, 1, 1, pos, &np));
    if (!who || !*who)
        return ctl_usage_error("release", "--operator is required");
    json_t *rules = NULL, *list = json_array();
    if (!list)
        return ctl_oom();
    int rc = get_rules(c, pos[0], &rules);
    size_t i;
    const json_t *r;
    json_array_foreach(rules, i, r)
    {
        const char *rn = ctl_str(r, "name");
        if (rc != CTL_OK)
            break;
        if (rule_name && !(rn && strcasecmp(rn, rule_name) == 0))
            continue;
        json_t *links = NULL;
        rc = get_links(c, json_integer_value(json_object_get(r, "routeRuleId")), &links);
        size_t k;
        const json_t *l;
        json_array_foreach(links, k, l)
        {
            const json_t *u = json_object_get(l, "unreleasedWeight");
            const json_t *w = json_object_get(l, "weight");
            if (!json_is_integer(u) || json_equal(u, w))
                continue;
            json_t *e = json_pack("{s:O,s:O}", "routeRuleId", json_object_get(l, "routeRuleId"),
                                  "groupId", json_object_get(l, "groupId"));
            if (!e || json_array_append_new(list, e) != 0) {
                rc = ctl_oom();
                break;
            }
        }
        json_decref(links);
    }
    json_decref(rules);
    size_t n = json_array_size(list);
    if (rc == CTL_OK && n) {
        json_t *body = json_pack("{s:O}", "routeRuleGroups", list);
        if (context(body, c, op, who, why) != 0) {
            json_decref(body);
            rc = ctl_oom();
        } else {
            rc = ctl_call(c, "/api/management/group/release-route-rule-groups.json", body,
                          "release", NULL);
        }
    }
    if (rc == CTL_OK) {
        if (c->json) {
            json_t *o = json_pack("{s:s,s:I}", "serviceId", pos[0], "released", (json_int_t)n);
            if (o)
                ctl_json_line(o);
            json_decref(o);
        } else {
            printf("released %zu weight%s of %s\n", n, n == 1 ? "" : "s", pos[0]);
            fflush(stdout);
        }
    }
    json_decref(list);
    return rc;
}

static const char CANARY_HELP[] =
    "usage: artemisctl canary SERVICE_ID INSTANCE_ID... --app ID --operator ID [--reason TEXT]\n"
    "Make exactly these instances (instance ids, e.g. 10.0.0.9:8080) the service's canary\n"
    "group (rule canary-route-rule). Operation default: canary.\n";

int cmd_canary(ctl_t *c, int argc, char **argv)
{
    const char *who = NULL, *why = NULL, *op = "canary", *app = NULL;
    const ctl_flag_t flags[] = {{"operator", &who, NULL, NULL},
                                {"reason", &why, NULL, NULL},
                                {"operation", &op, NULL, NULL},
                                {"app", &app, NULL, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[CTL_MULTI_MAX + 1];
    int np = 0;
    CTL_ARGS_OR_RETURN(
        ctl_args(c, "canary", CANARY_HELP, argc, argv, flags, 2, CTL_MULTI_MAX + 1, pos, &np));
    if (!who || !*who)
        return ctl_usage_error("canary", "--operator is required");
    if (!app || !*app)
        return ctl_usage_error("canary", "--app is required");
    json_t *ips = json_array();
    json_t *body = json_pack("{s:s,s:s}", "serviceId", pos[0], "appId", app);
    int bad = !ips || context(body, c, op, who, why) != 0;
    for (int i = 1; i < np && !bad; i++)
        bad = json_array_append_new(ips, json_string(pos[i])) != 0;
    if (bad || json_object_set(body, "canaryIps", ips) != 0) {
        json_decref(ips);
        json_decref(body);
        return ctl_oom();
    }
    json_decref(ips);
    json_t *resp = NULL;
    int rc = ctl_call(c, "/api/management/canary/update-canary-ips.json", body, "canary", &resp);
    if (rc != CTL_OK)
        return rc;
    if (c->json)
        ctl_json_line(resp);
    else
        printf("canary of %s: %d instance%s\n", pos[0], np - 1, np == 2 ? "" : "s");
    fflush(stdout);
    json_decref(resp);
    return CTL_OK;
}
