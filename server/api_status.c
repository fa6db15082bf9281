/*
 * Cluster and status endpoints (protocol.md §2.3, §2.5), /health and the node's own status.
 * A node without peers is "up" at once (the cluster issue adds bootstrap and peer status).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "mgmt.h"
#include "codec.h"
#include "log.h"
#include "api.h"
#include "server.h"
#include "tls.h"
#include "ws_session.h"
#include "url.h"
#include "artemis/version.h"

#define SUCCESS_STATUS "{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"}"

/* Rate-limited status calls answer with the payload fields null; `nulls` lists them in
 * alphabetical place around responseStatus. */
static int status_limited(srv_req_t *req, srv_ratelimit_t *rl, const char *identity,
                          const char *before, const char *after)
{
    if (srv_ratelimit_acquire(rl, identity, 1, srv_now_mono()))
        return 0;
    req->srv->metrics.rate_limited++;
    artemisi_buf_appendf(req->out, "{%s\"responseStatus\":", before);
    artemisi_encode_status(req->out, "rate-limited", "Request is rate limited.", "fail");
    artemisi_buf_appendf(req->out, "%s}", after);
    return 1;
}

static void nodes(srv_req_t *req, const char *identity)
{
    srv_server_t *srv = req->srv;
    if (status_limited(req, srv->rl[SRV_RL_CLUSTER], identity, "\"nodes\":null,", ""))
        return;
    /* Every node (this one and the peers, by their polled status) that can serve and either
     * allows other zones or is in the caller's zone exactly (protocol.md §2.3, case-sensitive). */
    const char *region = NULL, *zone = NULL;
    artemisi_buf_t qr = ARTEMISI_BUF_INIT, qz = ARTEMISI_BUF_INIT, list = ARTEMISI_BUF_INIT;
    json_t *root = NULL;
    if (req->http->method == SRV_HTTP_POST) {
        root = artemisi_json_parse(req->body, req->body_len, NULL, 0);
        if (artemisi_json_get_str(root, "regionId", &region) ||
            artemisi_json_get_str(root, "zoneId", &zone))
            region = zone = NULL;
    } else if (srv_req_query(req, "regionId", &qr, &region) < 0 ||
               srv_req_query(req, "zoneId", &qz, &zone) < 0) {
        req->out->failed = 1; /* out of memory: answered 503 */
    }
    size_t n = srv->draining || req->out->failed
                   ? 0
                   : srv_cluster_up_nodes(srv, !strcmp(identity, "up-registry-nodes"), region, zone,
                                          &list);
    if (artemisi_buf_failed(&list)) {
        req->out->failed = 1; /* the node list lost bytes: never sent as complete */
    } else if (n == 0) {
        artemisi_buf_appends(req->out, "{\"nodes\":null,\"responseStatus\":");
        artemisi_encode_status(req->out, "data-not-found", "No available service nodes.", "fail");
        artemisi_buf_appendc(req->out, '}');
    } else {
        artemisi_buf_appends(req->out, "{\"nodes\":[");
        artemisi_buf_append(req->out, list.data, list.len);
        artemisi_buf_appends(req->out, "],\"responseStatus\":" SUCCESS_STATUS "}");
    }
    json_decref(root);
    artemisi_buf_free(&qr);
    artemisi_buf_free(&qz);
    artemisi_buf_free(&list);
}

void srv_api_up_registry_nodes(srv_req_t *req)
{
    nodes(req, "up-registry-nodes");
}

void srv_api_up_discovery_nodes(srv_req_t *req)
{
    nodes(req, "up-discovery-nodes");
}

void srv_api_status_node(srv_req_t *req)
{
    artemisi_buf_appends(req->out, "{\"nodeStatus\":");
    srv_cluster_local_status_json(req->srv, req->out);
    artemisi_buf_appends(req->out, ",\"responseStatus\":" SUCCESS_STATUS "}");
}

void srv_api_status_cluster(srv_req_t *req)
{
    if (status_limited(req, req->srv->rl[SRV_RL_STATUS], "get-cluster",
                       "\"nodeCount\":0,"
                       "\"nodesStatus\":null,",
                       ""))
        return;
    srv_cluster_status_json(req->srv, req->out);
    artemisi_buf_appends(req->out, ",\"responseStatus\":" SUCCESS_STATUS "}");
}

static void fmt_time(artemisi_buf_t *out, int64_t wall_ms)
{
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;
    char ts[32];
    localtime_r(&s, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    artemisi_buf_appendf(out, "\"%s.%03d\"", ts, (int)(wall_ms % 1000));
}

/* ids: the bound serviceIds list (strings and nulls only), or NULL. */
static int wanted(json_t *ids, const char *query_ids, const char *sid)
{
    if (json_array_size(ids) > 0) {
        for (size_t i = 0; i < json_array_size(ids); i++) {
            const char *v = json_string_value(json_array_get(ids, i)); /* NULL for a null */
            if (v && !strcmp(v, sid))
                return 1;
        }
        return 0;
    }
    if (query_ids && *query_ids) {
        size_t n = strlen(sid);
        for (const char *p = query_ids; p && *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == n && !strncmp(p, sid, n))
                return 1;
            p = comma ? comma + 1 : NULL;
        }
        return 0;
    }
    return 1;
}

/* The POST body's List<String> serviceIds, bound as Jackson binds it (before the handler
 * runs, so before the rate limiter): unparsable JSON, a body that is not an object, a
 * serviceIds that is not a list or an element that is an object or array are HTTP 400; numbers
 * and booleans in the list become their text; a null list means every service. Returns 0 with
 * *root (the tree, to json_decref) and *ids (NULL or the list), or -1 with the answer written. */
static int lease_filter(srv_req_t *req, json_t **root, json_t **ids)
{
    char err[256];
    *ids = NULL;
    *root = artemisi_json_parse(req->body, req->body_len, err, sizeof(err));
    if (!*root || !json_is_object(*root)) {
        srv_req_bad_request(req, *root ? "request body must be a JSON object" : err);
        return -1;
    }
    int rc = artemisi_json_bind(*root, "serviceIds", ARTEMISI_JT_LIST, "request.serviceIds", ids,
                                err, sizeof(err));
    json_t *v;
    for (size_t i = 0; i < json_array_size(*ids) && !rc; i++)
        rc = artemisi_json_bind_elem(*ids, i, ARTEMISI_JT_STRING, "request.serviceIds", &v, err,
                                     sizeof(err));
    if (rc == ARTEMISI_DECODE_NOMEM) {
        req->out->failed = 1; /* answered 503 by the HTTP layer */
        return -1;
    }
    if (rc) {
        srv_req_bad_request(req, err);
        return -1;
    }
    return 0;
}

static void leases(srv_req_t *req, int legacy)
{
    srv_server_t *srv = req->srv;
    json_t *root = NULL, *ids = NULL;
    if (req->http->method == SRV_HTTP_POST && lease_filter(req, &root, &ids) != 0) {
        json_decref(root);
        return;
    }
    if (status_limited(req, srv->rl[SRV_RL_STATUS], legacy ? "get-legacy-leases" : "get-leases",
                       "\"isSafe\":false,\"isSafeCheckEnabled\":false,\"leaseCount\":0,"
                       "\"leaseUpdateCountLastTimeWindow\":0,\"leaseUpdateMaxCount\":0,"
                       "\"leaseUpdateMaxCountLastUpdateTime\":0,\"leases\":null,",
                       "")) {
        json_decref(root);
        return;
    }
    artemisi_buf_t q = ARTEMISI_BUF_INIT;
    const char *app_ids = NULL;
    if (req->http->method != SRV_HTTP_POST && srv_req_query(req, "appIds", &q, &app_ids) < 0) {
        json_decref(root);
        return; /* out of memory: answered 503 */
    }
    int64_t now = srv_now_mono();
    int64_t ttl = legacy ? srv->cfg.legacy_lease_ttl_ms : srv->cfg.lease_ttl_ms;
    /* Group leases by service: iterate services, then their leases. */
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    size_t count = 0, nsvc = 0;
    size_t it = 0;
    srv_service_t *s;
    while ((s = srv_registry_next_service(srv->registry, &it))) {
        if (!wanted(ids, app_ids, s->id))
            continue;
        size_t inside = 0;
        for (uint32_t i = 0; i < srv_service_size(s); i++) {
            const srv_lease_t *l = srv_service_lease(s, i);
            if (l->legacy != legacy)
                continue;
            if (inside == 0) {
                if (nsvc++)
                    artemisi_buf_appendc(&body, ',');
                artemisi_json_str(&body, s->id);
                artemisi_buf_appends(&body, ":[");
            } else {
                artemisi_buf_appendc(&body, ',');
            }
            inside++;
            count++;
            artemisi_buf_t desc = ARTEMISI_BUF_INIT;
            artemisi_instance_describe(l->inst, &desc);
            artemisi_buf_appends(&body, "{\"creationTime\":");
            fmt_time(&body, l->creation_wall);
            artemisi_buf_appends(&body, ",\"evitionTime\":");
            fmt_time(&body, l->expired ? l->renewal_wall + ttl : 0);
            artemisi_buf_appends(&body, ",\"instance\":");
            artemisi_json_str(&body, desc.data);
            if (artemisi_buf_failed(&desc))
                body.failed = 1; /* the description lost bytes: so did the answer */
            artemisi_buf_appends(&body, ",\"renewalTime\":");
            fmt_time(&body, l->renewal_wall);
            artemisi_buf_appendf(&body, ",\"ttl\":%lld}", (long long)ttl);
            artemisi_buf_free(&desc);
        }
        if (inside)
            artemisi_buf_appendc(&body, ']');
    }
    if (artemisi_buf_failed(&body))
        req->out->failed = 1; /* never a lease list with holes: answered 503 */
    int safe = srv_selfpres_allow_expiry(&srv->selfpres);
    artemisi_buf_appendf(req->out,
                         "{\"isSafe\":%s,\"isSafeCheckEnabled\":%s,\"leaseCount\":%zu,"
                         "\"leaseUpdateCountLastTimeWindow\":%ld,\"leaseUpdateMaxCount\":%ld,"
                         "\"leaseUpdateMaxCountLastUpdateTime\":%lld,\"leases\":{",
                         safe ? "true" : "false", srv->cfg.safe_checker_enabled ? "true" : "false",
                         count, srv_selfpres_window_count(&srv->selfpres, now),
                         srv_selfpres_expected(&srv->selfpres),
                         (long long)srv_selfpres_active_since(&srv->selfpres));
    artemisi_buf_append(req->out, body.data ? body.data : "", body.len);
    artemisi_buf_appends(req->out, "},\"responseStatus\":" SUCCESS_STATUS "}");
    artemisi_buf_free(&body);
    artemisi_buf_free(&q);
    json_decref(root);
}

void srv_api_status_leases(srv_req_t *req)
{
    leases(req, 0);
}

void srv_api_status_legacy_leases(srv_req_t *req)
{
    leases(req, 1);
}

static void append_properties(srv_server_t *srv, artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "{");
    const char *key;
    char val[1024];
    for (size_t i = 0; srv_config_item(&srv->cfg, i, &key, val, sizeof(val)); i++) {
        if (i)
            artemisi_buf_appendc(out, ',');
        artemisi_json_str(out, key);
        artemisi_buf_appendc(out, ':');
        artemisi_json_str(out, val);
    }
    artemisi_buf_appendc(out, '}');
}

static void append_sources(srv_server_t *srv, artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "{\"command-line\":2,\"defaults\":0");
    if (srv->cfg.config_path) {
        artemisi_buf_appendc(out, ',');
        artemisi_json_str(out, srv->cfg.config_path);
        artemisi_buf_appends(out, ":1");
    }
    artemisi_buf_appendc(out, '}');
}

void srv_api_status_config(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    if (status_limited(req, srv->rl[SRV_RL_STATUS], "get-config", "\"properties\":null,",
                       ",\"sources\":null"))
        return;
    artemisi_buf_appends(req->out, "{\"properties\":");
    append_properties(srv, req->out);
    artemisi_buf_appends(req->out, ",\"responseStatus\":" SUCCESS_STATUS ",\"sources\":");
    append_sources(srv, req->out);
    artemisi_buf_appendc(req->out, '}');
}

void srv_api_status_deployment(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    if (status_limited(req, srv->rl[SRV_RL_STATUS], "get-deployment",
                       "\"appId\":null,\"ip\":null,\"machineName\":null,\"path\":null,\"port\":0,"
                       "\"properties\":null,\"protocol\":null,\"regionId\":null,",
                       ",\"sources\":null,\"zoneId\":null"))
        return;
    char host[256] = "", machine[256] = "";
    int port = 0;
    srv_config_parse_hostport(srv->cfg.listen, host, sizeof(host), &port);
    gethostname(machine, sizeof(machine) - 1);
    artemisi_buf_appends(req->out, "{\"appId\":\"artemis-server\",\"ip\":");
    artemisi_json_str(req->out, host);
    artemisi_buf_appends(req->out, ",\"machineName\":");
    artemisi_json_str(req->out, machine);
    artemisi_buf_appends(req->out, ",\"path\":");
    artemisi_json_str(req->out, *srv->url_prefix ? srv->url_prefix : "/");
    artemisi_buf_appendf(req->out, ",\"port\":%d,\"properties\":", port);
    append_properties(srv, req->out);
    artemisi_buf_appends(req->out, ",\"protocol\":\"http\",\"regionId\":");
    artemisi_json_str(req->out, srv->cfg.region_id);
    artemisi_buf_appends(req->out, ",\"responseStatus\":" SUCCESS_STATUS ",\"sources\":");
    append_sources(srv, req->out);
    artemisi_buf_appends(req->out, ",\"zoneId\":");
    artemisi_json_str(req->out, srv->cfg.zone_id);
    artemisi_buf_appendc(req->out, '}');
}

void srv_api_status_connections(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    /* Java reports the heartbeat and instance-change handlers, as strings. */
    artemisi_buf_appendf(req->out,
                         "{\"discoveries\":\"%zu\",\"discovery\":\"%zu\",\"registry\":\"%zu\","
                         "\"subscribe\":\"%zu\"}",
                         srv_ws_count(srv, SRV_WS_ALL), srv_ws_count(srv, SRV_WS_DISCOVERY),
                         srv_ws_count(srv, SRV_WS_HEARTBEAT), srv_ws_count(srv, SRV_WS_SUBSCRIBE));
}

void srv_api_health(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    int ready = srv->ready && !srv->draining;
    req->status = ready ? 200 : 503;
    int64_t now = srv_now_mono();
    srv_registry_info_t info;
    srv_registry_info(srv->registry, &info);
    artemisi_buf_appendf(
        req->out,
        "{\"status\":\"%s\",\"live\":true,\"ready\":%s,\"version\":\"%s\","
        "\"nodeStatus\":\"%s\",\"uptimeMs\":%lld,\"instances\":%zu,\"services\":%zu,"
        "\"selfPreservation\":{\"active\":%s,\"activeSinceMs\":%lld,\"renewalsInWindow\":%ld,"
        "\"expectedRenewals\":%ld,\"expiredLeasesKept\":%zu},",
        ready ? "UP" : "DOWN", ready ? "true" : "false", ARTEMIS_VERSION_STRING,
        srv_cluster_local_status(srv), (long long)(now - srv->start_mono),
        srv_registry_lease_count(srv->registry), srv_registry_service_count(srv->registry),
        srv_selfpres_active(&srv->selfpres) ? "true" : "false",
        (long long)srv_selfpres_active_since(&srv->selfpres),
        srv_selfpres_window_count(&srv->selfpres, now), srv_selfpres_expected(&srv->selfpres),
        info.expired_kept);
    artemisi_buf_appendf(
        req->out, "\"tls\":{\"enabled\":%s,\"notAfter\":", srv_tls_enabled(srv) ? "true" : "false");
    artemisi_json_str(req->out, srv_tls_enabled(srv) ? srv_tls_not_after(srv) : NULL);
    artemisi_buf_appends(req->out, "},");
    /* The management store: a lost database leaves the node serving its last state (ready),
     * and says so here. */
    srv_mgmt_info_t mi;
    srv_mgmt_info(srv, &mi);
    artemisi_buf_appendf(req->out,
                         "\"management\":{\"store\":\"%s\",\"ok\":%s,\"schemaVersion\":%d,"
                         "\"loadedAtMs\":%lld,\"downSinceMs\":%lld,\"queued\":%zu,"
                         "\"writes\":%llu,\"writeFailures\":%llu,\"lastError\":",
                         mi.store ? mi.store : "none", mi.ok ? "true" : "false", mi.schema_version,
                         (long long)mi.loaded_ms, (long long)mi.down_since, mi.queued,
                         (unsigned long long)mi.writes, (unsigned long long)mi.write_failures);
    artemisi_json_str(req->out, mi.last_error[0] ? mi.last_error : NULL);
    artemisi_buf_appends(req->out, "}}");
}
