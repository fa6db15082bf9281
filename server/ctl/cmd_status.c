/*
 * `cluster` and `health`: /api/status/cluster.json for the nodes, /health for this node's
 * self-preservation, and /metrics for replication lag (artemis_replication_lag_seconds, one
 * series per peer, when the server exports it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ctl.h"

/* The lag of the series whose labels mention url (NULL = any), or -1 when absent. */
static double lag_for(const char *metrics, const char *url)
{
    static const char NAME[] = "artemis_replication_lag_seconds";
    const char *p = metrics;
    double found = -1;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > sizeof NAME - 1 && strncmp(p, NAME, sizeof NAME - 1) == 0 &&
            (p[sizeof NAME - 1] == '{' || p[sizeof NAME - 1] == ' ')) {
            const char *sp = memchr(p, ' ', len);
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)len, p);
            /* A URL label may or may not keep its trailing slash. */
            size_t ul = url ? strlen(url) : 0;
            while (ul && url[ul - 1] == '/')
                ul--;
            int match = !url || (ul && memmem(line, strlen(line), url, ul) != NULL);
            if (match && sp) {
                const char *v = strrchr(line, ' ');
                if (v)
                    found = strtod(v + 1, NULL);
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return found;
}

static const char CLUSTER_HELP[] =
    "usage: artemisctl cluster [--json]\n"
    "The cluster as the server sees it: each node's URL, zone and status, replication lag\n"
    "(from /metrics artemis_replication_lag_seconds, when exported) and whether this node's\n"
    "self-preservation is on. --json: one line per node (the wire NodeStatus plus\n"
    "\"replicationLagSeconds\" when known), then {\"selfPreservation\":{...}} from /health.\n";

int cmd_cluster(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "cluster", CLUSTER_HELP, argc, argv, NULL, 0, 0, pos, &np));
    json_t *cl = NULL, *health = NULL;
    char *metrics = NULL;
    int rc = ctl_get(c, "/api/status/cluster.json", 0, &cl);
    if (rc == CTL_OK)
        rc = ctl_check(cl, "cluster");
    if (rc == CTL_OK)
        rc = ctl_get(c, "/health", 503, &health);
    if (rc == CTL_OK)
        rc = ctl_get_raw(c, "/metrics", 0, &metrics, NULL);
    ctl_table_t t;
    static const char *const head[] = {"NODE", "ZONE", "STATUS", "REGISTRY", "DISCOVERY", "LAG"};
    int have_table = rc == CTL_OK && !c->json;
    if (have_table && ctl_table_init(&t, 6, head) != 0) {
        have_table = 0;
        rc = ctl_oom();
    }
    size_t i;
    json_t *ns;
    json_array_foreach(json_object_get(cl, "nodesStatus"), i, ns)
    {
        if (rc != CTL_OK)
            break;
        const json_t *node = json_object_get(ns, "node");
        const char *url = ctl_str(node, "url");
        double lag = url ? lag_for(metrics, url) : -1;
        if (c->json) {
            json_t *o = json_deep_copy(ns);
            if (!o ||
                (lag >= 0 && json_object_set_new(o, "replicationLagSeconds", json_real(lag)))) {
                json_decref(o);
                rc = ctl_oom();
                break;
            }
            ctl_json_line(o);
            json_decref(o);
            continue;
        }
        char lagt[32];
        if (lag >= 0)
            snprintf(lagt, sizeof lagt, "%.3fs", lag);
        else
            snprintf(lagt, sizeof lagt, "-");
        const char *row[] = {url,
                             ctl_str(json_object_get(node, "zone"), "zoneId"),
                             ctl_str(ns, "status"),
                             json_is_true(json_object_get(ns, "canServiceRegistry")) ? "yes" : "no",
                             json_is_true(json_object_get(ns, "canServiceDiscovery")) ? "yes"
                                                                                      : "no",
                             lagt};
        if (ctl_table_add(&t, row) != 0)
            rc = ctl_oom();
    }
    const json_t *sp = json_object_get(health, "selfPreservation");
    if (rc == CTL_OK && c->json) {
        json_t *o = json_pack("{s:O?}", "selfPreservation", sp);
        if (o)
            ctl_json_line(o);
        json_decref(o);
    }
    if (have_table) {
        if (rc == CTL_OK) {
            ctl_table_print(&t);
            const json_t *act = json_object_get(sp, "active");
            printf("self-preservation: %s", !sp ? "unknown" : json_is_true(act) ? "ON" : "off");
            if (json_is_true(act))
                printf(" (expired leases kept: %" JSON_INTEGER_FORMAT ")",
                       json_integer_value(json_object_get(sp, "expiredLeasesKept")));
            printf("\n");
            fflush(stdout);
        } else {
            ctl_table_free(&t);
        }
    }
    free(metrics);
    json_decref(cl);
    json_decref(health);
    return rc;
}

static const char HEALTH_HELP[] =
    "usage: artemisctl health [--json]\n"
    "The server's /health (liveness, readiness, self-preservation, management store).\n"
    "Exit status 1 when the server is not UP.\n";

/* One "key: value" line per member, nested objects as key.sub. */
static void print_flat(const char *prefix, const json_t *o)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v)) {
            print_flat(key, v);
            continue;
        }
        char *txt = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%-36s %s\n", key, json_is_string(v) ? json_string_value(v) : txt ? txt : "?");
        free(txt);
    }
}

int cmd_health(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "health", HEALTH_HELP, argc, argv, NULL, 0, 0, pos, &np));
    json_t *h = NULL;
    int rc = ctl_get(c, "/health", 503, &h);
    if (rc != CTL_OK)
        return rc;
    if (c->json)
        ctl_json_line(h);
    else
        print_flat("", h);
    fflush(stdout);
    const char *st = ctl_str(h, "status");
    if (!st || strcmp(st, "UP") != 0) {
        fprintf(stderr, "artemisctl: server said no: %s is %s\n", ctl_server(c), st ? st : "?");
        rc = CTL_FAIL;
    }
    json_decref(h);
    return rc;
}
