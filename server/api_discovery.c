/*
 * Discovery endpoints (protocol.md §2.2): lookup, service, services, services-delta. Answers are
 * assembled from per-service JSON cached by the registry (serialised once per change of a
 * service), so a lookup is a hash lookup and a few memcpy calls.
 *
 * Management filters (protocol.md §4.1: logical instances, route rules, pull-outs) plug in here
 * later; without management data their effect is logicInstances [] and routeRules [].
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "api.h"
#include "boot_answer.h"
#include "server.h"
#include "url.h"

#define SUCCESS_STATUS "{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"}"

/* Request parameters from a JSON body (POST) or the query string (GET). */
typedef struct params {
    json_t *root;
    artemisi_buf_t region, zone, service;
    const char *region_id, *zone_id;
} params_t;

/* A body value Jackson could not bind: HTTP 400 naming the field, as Java's framework
 * answers before the handler runs; 503 when memory ran out while binding. */
static void bind_failed(srv_req_t *req, int rc, const char *err)
{
    if (rc == ARTEMISI_DECODE_NOMEM)
        req->out->failed = 1; /* answered 503 by the HTTP layer */
    else
        srv_req_bad_request(req, err);
}

/* DiscoveryConfig {String serviceId, regionId, zoneId; Map<String,String> discoveryData} bound
 * as Jackson binds it: numbers and booleans become strings (written back into the tree, which
 * lookup_answer and srv_api_service then read), other types are a 400 naming `what`.field. */
static int bind_discovery_config(json_t *dc, const char *what, char *err, size_t errlen)
{
    static const char *const strings[] = {"serviceId", "regionId", "zoneId"};
    char name[256];
    json_t *v;
    int rc = 0;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]) && !rc; i++) {
        snprintf(name, sizeof(name), "%s.%s", what, strings[i]);
        rc = artemisi_json_bind(dc, strings[i], ARTEMISI_JT_STRING, name, &v, err, errlen);
    }
    json_t *data = NULL;
    if (!rc) {
        snprintf(name, sizeof(name), "%s.discoveryData", what);
        rc = artemisi_json_bind(dc, "discoveryData", ARTEMISI_JT_OBJECT, name, &data, err, errlen);
    }
    const char *key;
    json_t *value;
    /* Replacing a value keeps the object's keys, so iterating on is safe. */
    json_object_foreach(data, key, value)
    {
        if (rc)
            break;
        snprintf(name, sizeof(name), "%s.discoveryData.%s", what, key);
        rc = artemisi_json_bind(data, key, ARTEMISI_JT_STRING, name, &v, err, errlen);
    }
    return rc;
}

static int load_params(srv_req_t *req, params_t *p, int want_service)
{
    memset(p, 0, sizeof(*p));
    if (req->http->method != SRV_HTTP_POST) {
        const char *sid = NULL;
        if (srv_req_query(req, "regionId", &p->region, &p->region_id) < 0 ||
            srv_req_query(req, "zoneId", &p->zone, &p->zone_id) < 0)
            return -1;
        if (want_service) {
            int rc = srv_req_query(req, "serviceId", &p->service, &sid);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                srv_req_bad_request(req, "Required String parameter 'serviceId' is not present");
                return -1;
            }
        }
        return 0;
    }
    char err[256];
    p->root = artemisi_json_parse(req->body, req->body_len, err, sizeof(err));
    if (!p->root || !json_is_object(p->root)) {
        srv_req_bad_request(req, p->root ? "request body must be a JSON object" : err);
        return -1;
    }
    /* String regionId / zoneId: a number or boolean is its text (Jackson), so "regionId":7
     * is region "7" (no-permission), not a 400. */
    json_t *region, *zone;
    int rc = artemisi_json_bind(p->root, "regionId", ARTEMISI_JT_STRING, "request.regionId",
                                &region, err, sizeof(err));
    if (!rc)
        rc = artemisi_json_bind(p->root, "zoneId", ARTEMISI_JT_STRING, "request.zoneId", &zone, err,
                                sizeof(err));
    if (rc) {
        bind_failed(req, rc, err);
        return -1;
    }
    p->region_id = json_string_value(region); /* NULL for null/absent */
    p->zone_id = json_string_value(zone);
    return 0;
}

static void free_params(params_t *p)
{
    json_decref(p->root);
    artemisi_buf_free(&p->region);
    artemisi_buf_free(&p->zone);
    artemisi_buf_free(&p->service);
}

/* checkSameZone of protocol.md §2.2.2. Returns NULL when allowed, else the message in buf. */
static const char *zone_check(srv_server_t *srv, const char *region, const char *zone, char *buf,
                              size_t len)
{
    if (!region || strcasecmp(region, srv->cfg.region_id) != 0) {
        snprintf(buf, len,
                 "regionId is not the same as the registry node. regionId: %s, registry "
                 "node.regionId: %s",
                 region ? region : "null", srv->cfg.region_id);
        return buf;
    }
    if (!srv->cfg.discovery_allow_from_other_zone &&
        (!zone || strcasecmp(zone, srv->cfg.zone_id) != 0)) {
        snprintf(buf, len,
                 "zoneId is not the same as the registry node. zoneId: %s, registry "
                 "node.zoneId: %s",
                 zone ? zone : "null", srv->cfg.zone_id);
        return buf;
    }
    return NULL;
}

static void append_shell(artemisi_buf_t *out, const char *service_id)
{
    artemisi_buf_appends(out, "{\"instances\":null,\"logicInstances\":null,\"metadata\":null,"
                              "\"routeRules\":null,\"serviceId\":");
    artemisi_json_str(out, service_id);
    artemisi_buf_appendc(out, '}');
}

/* The optional discovery rate limiter (ours; off by default as in Artemis). */
static int limited(srv_req_t *req, const char *identity, const char *null_fields_before,
                   const char *null_fields_after)
{
    if (srv_ratelimit_acquire(req->srv->rl[SRV_RL_DISCOVERY], identity, 1, srv_now_mono()))
        return 0;
    req->srv->metrics.rate_limited++;
    artemisi_buf_appendf(req->out, "{%s\"responseStatus\":", null_fields_before);
    artemisi_encode_status(req->out, "rate-limited", "Request is rate limited.", "fail");
    artemisi_buf_appendf(req->out, "%s}", null_fields_after);
    return 1;
}

/* A refused or failed lookup: services null, as Java's error answers. */
static void lookup_fail(artemisi_buf_t *out, const char *code, const char *msg)
{
    artemisi_buf_reset(out);
    artemisi_buf_appends(out, "{\"responseStatus\":");
    artemisi_encode_status(out, code, msg, "fail");
    artemisi_buf_appends(out, ",\"services\":null}");
}

/* Key for de-duplication: a null serviceId is not the string "null". */
#define NULL_SID_KEY "\x01null"

/* One Service per distinct requested serviceId, in the order first asked for. Java answers
 * one per config, repeats included, which let a 48 KB request naming one 100-instance service
 * 2,000 times cost a 112 MB answer; repeats add nothing a client can use (docs/compat.md).
 * What one request may cost is bounded twice: by distinct services
 * (discovery.max-configs-per-request) and by answer bytes (discovery.max-answer-bytes). */
static void lookup_answer(srv_req_t *req, json_t *cfgs, const char *region, const char *zone)
{
    srv_server_t *srv = req->srv;
    artemisi_buf_t *out = req->out;
    size_t n = json_array_size(cfgs);
    const char **sids = malloc((n ? n : 1) * sizeof(*sids));
    artemisi_dict_t seen;
    uint64_t k0, k1;
    srv_registry_seed(srv->registry, &k0, &k1);
    artemisi_dict_init(&seen, k0, k1);
    size_t distinct = 0;
    int oom = !sids;
    for (size_t i = 0; i < n && !oom; i++) {
        const char *sid = NULL;
        artemisi_json_get_str(json_array_get(cfgs, i), "serviceId", &sid);
        const char *key = sid ? sid : NULL_SID_KEY;
        if (artemisi_dict_get(&seen, key))
            continue;
        int failed = 0;
        artemisi_dict_put(&seen, key, (void *)key, &failed);
        oom = failed;
        sids[distinct++] = sid;
    }
    char msg[512];
    if (oom) {
        out->failed = 1; /* answered 503 by the HTTP layer */
    } else if (distinct > (size_t)srv->cfg.discovery_max_configs_per_request) {
        snprintf(msg, sizeof(msg),
                 "request.discoveryConfigs names %zu services, more than "
                 "discovery.max-configs-per-request (%lld)",
                 distinct, (long long)srv->cfg.discovery_max_configs_per_request);
        lookup_fail(out, "bad-request", msg);
    } else {
        const char *denied = zone_check(srv, region, zone, msg, sizeof(msg));
        artemisi_buf_appends(out, "{\"responseStatus\":" SUCCESS_STATUS ",\"services\":[");
        size_t cap = (size_t)srv->cfg.discovery_max_answer_bytes;
        int refused = 0;
        for (size_t i = 0; i < distinct && !refused && !artemisi_buf_failed(out); i++) {
            if (i)
                artemisi_buf_appendc(out, ',');
            if (denied || artemisi_blank(sids[i]))
                append_shell(out, sids[i]);
            else
                srv_service_append(srv->registry, out, srv_registry_service(srv->registry, sids[i]),
                                   sids[i]);
            if (out->len > cap) {
                snprintf(msg, sizeof(msg),
                         "the answer would exceed discovery.max-answer-bytes (%zu bytes); ask "
                         "for fewer services per request",
                         cap);
                lookup_fail(out, "bad-request", msg);
                refused = 1;
            }
        }
        if (!refused)
            artemisi_buf_appends(out, "]}");
    }
    artemisi_dict_free(&seen);
    free(sids);
}

void srv_api_lookup(srv_req_t *req)
{
    params_t p;
    if (load_params(req, &p, 0) != 0) {
        free_params(&p);
        return;
    }
    /* List<DiscoveryConfig> discoveryConfigs, bound before anything runs as Jackson does: a
     * non-list, or an entry that is not an object, is a 400; a null list or entry binds. */
    char err[256], what[64];
    json_t *cfgs = NULL;
    int rc = artemisi_json_bind(p.root, "discoveryConfigs", ARTEMISI_JT_LIST,
                                "request.discoveryConfigs", &cfgs, err, sizeof(err));
    size_t n = json_array_size(cfgs); /* 0 for NULL */
    char null_msg[96] = "";
    if (!cfgs)
        snprintf(null_msg, sizeof(null_msg), "request.discoveryConfigs is null");
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *c;
        rc = artemisi_json_bind_elem(cfgs, i, ARTEMISI_JT_OBJECT, "request.discoveryConfigs", &c,
                                     err, sizeof(err));
        if (!rc && c) {
            snprintf(what, sizeof(what), "request.discoveryConfigs[%zu]", i);
            rc = bind_discovery_config(c, what, err, sizeof(err));
        } else if (!rc && !null_msg[0]) {
            snprintf(null_msg, sizeof(null_msg), "request.discoveryConfigs[%zu] is null", i);
        }
    }
    if (rc) {
        bind_failed(req, rc, err);
        free_params(&p);
        return;
    }
    if (limited(req, "lookup", "", ",\"services\":null")) {
        free_params(&p);
        return;
    }
    if (null_msg[0]) {
        /* Java: the null list or config throws in the batch -> internal-service-error,
         * services null. */
        artemisi_buf_appends(req->out, "{\"responseStatus\":");
        artemisi_encode_status(req->out, "internal-service-error", null_msg, "fail");
        artemisi_buf_appends(req->out, ",\"services\":null}");
        free_params(&p);
        return;
    }
    lookup_answer(req, cfgs, p.region_id, p.zone_id);
    free_params(&p);
}

void srv_api_service(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    params_t p;
    if (load_params(req, &p, 1) != 0) {
        free_params(&p);
        return;
    }
    const char *sid = p.service.data;
    if (p.root) {
        /* DiscoveryConfig discoveryConfig: an object or null, else a 400 (Jackson). */
        char err[256];
        json_t *dc;
        int rc = artemisi_json_bind(p.root, "discoveryConfig", ARTEMISI_JT_OBJECT,
                                    "request.discoveryConfig", &dc, err, sizeof(err));
        if (!rc && dc)
            rc = bind_discovery_config(dc, "request.discoveryConfig", err, sizeof(err));
        if (rc) {
            bind_failed(req, rc, err);
            free_params(&p);
            return;
        }
        /* After binding, serviceId is a string or null ({"serviceId":5} is "5"). */
        sid = json_string_value(artemisi_json_get(dc, "serviceId"));
    }
    if (limited(req, "service", "", ",\"service\":null")) {
        free_params(&p);
        return;
    }
    if (artemisi_blank(sid)) {
        artemisi_buf_appends(req->out, "{\"responseStatus\":");
        artemisi_encode_status(req->out, "bad-request",
                               "Request is null or request.discoveryConfig is null.", "fail");
        artemisi_buf_appends(req->out, ",\"service\":null}");
        free_params(&p);
        return;
    }
    char msg[512];
    const char *denied = zone_check(srv, p.region_id, p.zone_id, msg, sizeof(msg));
    if (denied) {
        artemisi_buf_appends(req->out, "{\"responseStatus\":");
        artemisi_encode_status(req->out, "no-permission", denied, "fail");
        artemisi_buf_appends(req->out, ",\"service\":null}");
        free_params(&p);
        return;
    }
    srv_service_t *s = srv_registry_service(srv->registry, sid);
    artemisi_buf_appends(req->out, "{\"responseStatus\":" SUCCESS_STATUS ",\"service\":");
    if (s)
        srv_service_append(srv->registry, req->out, s, sid);
    else
        append_shell(req->out, sid); /* protocol.md §2.2.4: no filters on a missing service */
    artemisi_buf_appendc(req->out, '}');
    free_params(&p);
}

static void blob_release(void *ctx)
{
    srv_blob_unref(ctx);
}

void srv_api_services(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    params_t p;
    if (load_params(req, &p, 0) != 0) {
        free_params(&p);
        return;
    }
    if (limited(req, "services", "", ",\"services\":null,\"version\":0")) {
        free_params(&p);
        return;
    }
    srv_blob_t *all = srv_registry_services_blob(srv->registry);
    artemisi_buf_appends(req->out, "{\"responseStatus\":" SUCCESS_STATUS ",\"services\":");
    if (!all) {
        req->out->failed = 1; /* out of memory: a 503, never an empty list */
    } else if (srv_req_append_ref(req, all->buf.data, all->buf.len, blob_release, all) != 0) {
        artemisi_buf_append(req->out, all->buf.data, all->buf.len);
        srv_blob_unref(all);
    }
    artemisi_buf_appends(req->out, ",\"version\":");
    artemisi_buf_append_i64(req->out, (int64_t)srv_registry_version(srv->registry));
    artemisi_buf_appendc(req->out, '}');
    free_params(&p);
}

void srv_api_services_delta(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    params_t p;
    if (load_params(req, &p, 0) != 0) {
        free_params(&p);
        return;
    }
    if (limited(req, "services-delta", "\"delta\":null,", ",\"version\":0")) {
        free_params(&p);
        return;
    }
    int64_t version = 0;
    if (artemisi_json_get_i64(p.root, "version", &version) != 0) {
        srv_req_bad_request(req, "version must be an integer");
        free_params(&p);
        return;
    }
    artemisi_buf_t delta = ARTEMISI_BUF_INIT;
    uint64_t nv = 0;
    int rc = version > 0 ? srv_registry_delta(srv->registry, (uint64_t)version, &delta, &nv) : 1;
    if (rc < 0) {
        req->out->failed = 1; /* out of memory: a 503, not "Delta is not found." */
    } else if (rc != 0) {
        artemisi_buf_appends(req->out, "{\"delta\":null,\"responseStatus\":");
        artemisi_encode_status(req->out, "data-not-found", "Delta is not found.", "fail");
        artemisi_buf_appends(req->out, ",\"version\":0}");
    } else {
        artemisi_buf_appends(req->out, "{\"delta\":");
        artemisi_buf_append(req->out, delta.data, delta.len);
        artemisi_buf_appends(req->out, ",\"responseStatus\":" SUCCESS_STATUS ",\"version\":");
        artemisi_buf_append_i64(req->out, (int64_t)nv);
        artemisi_buf_appendc(req->out, '}');
    }
    artemisi_buf_free(&delta);
    free_params(&p);
}

/* Slices of about 64 KB: deflating one at level 1 takes well under a millisecond. */
static int boot_next(void *ctx, artemisi_buf_t *out)
{
    return srv_boot_answer_next(ctx, out, 64 * 1024);
}

static void boot_free(void *ctx)
{
    srv_boot_answer_free(ctx);
}

/* P4: the raw registry for a bootstrapping peer (protocol.md §2.4). */
void srv_api_repl_services(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    params_t p;
    if (load_params(req, &p, 0) != 0) {
        free_params(&p);
        return;
    }
    /* GET binds regionId with a required @RequestParam: Spring refuses the request with 400
     * before the controller (and its rate limiter) runs. A POST body without it is Java's
     * no-permission below. */
    if (req->http->method != SRV_HTTP_POST && !p.region_id) {
        srv_req_bad_request(req, "Required String parameter 'regionId' is not present");
        free_params(&p);
        return;
    }
    if (!srv_ratelimit_acquire(srv->rl[SRV_RL_REPLICATION], "get-services", 1, srv_now_mono())) {
        srv->metrics.rate_limited++;
        artemisi_buf_appends(req->out, "{\"responseStatus\":");
        artemisi_encode_status(req->out, "rate-limited", "Request is rate limited.", "fail");
        artemisi_buf_appends(req->out, ",\"services\":null}");
        free_params(&p);
        return;
    }
    if (!p.region_id || strcasecmp(p.region_id, srv->cfg.region_id) != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "regionId is not the same as the registry node. regionId: %s, registry "
                 "node.regionId: %s",
                 p.region_id ? p.region_id : "null", srv->cfg.region_id);
        artemisi_buf_appends(req->out, "{\"responseStatus\":");
        artemisi_encode_status(req->out, "no-permission", msg, "fail");
        artemisi_buf_appends(req->out, ",\"services\":null}");
        free_params(&p);
        return;
    }
    /* ~400 bytes per instance: 100,000 instances built and gzipped at once held the loop for
     * ~1 s, and every client of this node with it (docs/cluster.md). */
    srv_boot_answer_t *a = srv_boot_answer_new(srv->registry);
    if (!a) {
        req->out->failed = 1;
        free_params(&p);
        return;
    }
    artemisi_buf_appends(req->out, "{\"responseStatus\":" SUCCESS_STATUS ",\"services\":[");
    srv_req_stream(req, boot_next, boot_free, a);
    free_params(&p);
}
