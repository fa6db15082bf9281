/*
 * The sidecar's HTTP endpoint on http.listen (libevent evhttp, on the agent's base):
 *   GET /v1/services/<serviceId>  the lookup example's JSON line (artemis_service_to_json);
 *                                 404 + JSON error for a service that never had an instance
 *   GET /health                   the sidecar's registration state and the app's last check
 *   GET /metrics                  Prometheus text: DNS queries, health checks, registration
 * The first request for a service waits (bounded) for the SDK's first view, like DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "agent.h"

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    if (line) {
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = 0;
    }
    reply(req, code, reason, "application/json", line ? line : s);
    free(line);
    free(s);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *error,
                        const char *service_id)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(error));
    if (service_id)
        json_object_set_new(o, "serviceId", json_string(service_id));
    reply_json(req, code, reason, o);
}

/* ---- /v1/services/<id> -------------------------------------------------------------------- */

typedef struct http_wait {
    agent_t *a;
    struct evhttp_request *req;
    char id[];
} http_wait_t;

static void answer_service(agent_t *a, struct evhttp_request *req, const char *id, int may_wait);

static void http_wait_done(void *arg, int cancelled)
{
    http_wait_t *w = arg;
    if (!cancelled)
        answer_service(w->a, w->req, w->id, 0);
    free(w);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    agent_wait_cancel_owner(arg, evcon);
}

static void answer_service(agent_t *a, struct evhttp_request *req, const char *id, int may_wait)
{
    agent_svc_t *s = agent_svc_track(a, id);
    if (!s) {
        reply_error(req, 503, "Service Unavailable", "too many services tracked", id);
        return;
    }
    if (!s->have_view) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        size_t n = strlen(id);
        http_wait_t *w = may_wait && evcon ? malloc(sizeof(*w) + n + 1) : NULL;
        if (w) {
            w->a = a;
            w->req = req;
            memcpy(w->id, id, n + 1);
            if (agent_wait(a, s, evcon, http_wait_done, w) == 0) {
                evhttp_connection_set_closecb(evcon, conn_closed, a);
                return;
            }
            free(w);
        }
        reply_error(req, 503, "Service Unavailable", "no answer from the registry yet", id);
        return;
    }
    if (!s->known && (!s->svc || artemis_service_instance_count(s->svc) == 0)) {
        reply_error(req, 404, "Not Found", "unknown service", id);
        return;
    }
    char *line = s->svc ? artemis_service_to_json(s->svc) : NULL;
    if (!line) {
        /* known, but the view is gone: an empty line of the same shape */
        json_t *o = json_pack("{s:s,s:[]}", "serviceId", id, "instances");
        reply_json(req, 200, "OK", o);
        return;
    }
    size_t n = strlen(line);
    char *body = malloc(n + 2);
    if (!body) {
        artemis_free(line);
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    memcpy(body, line, n);
    body[n] = '\n';
    body[n + 1] = 0;
    artemis_free(line);
    reply(req, 200, "OK", "application/json", body);
    free(body);
}

/* ---- /health, /metrics -------------------------------------------------------------------- */


static artemis_reg_state_t reg_state(agent_t *a)
{
    if (!a->want_registered)
        return ARTEMIS_REG_UNREGISTERED;
    return artemis_client_registration_state(a->client, a->cfg->service_id, a->cfg->instance_id);
}

static void answer_health(agent_t *a, struct evhttp_request *req)
{
    artemis_reg_state_t st = reg_state(a);
    const char *status = !a->healthy                    ? "unhealthy"
                         : st == ARTEMIS_REG_REGISTERED ? "ok"
                                                        : "degraded";
    json_t *app = json_pack("{s:s,s:s,s:b,s:b}", "serviceId", a->cfg->service_id, "instanceId",
                            a->cfg->instance_id, "healthy", a->healthy, "checked",
                            a->checked || !a->cfg->health_url);
    json_object_set_new(app, "lastCheckMs",
                        a->last_check_ms ? json_integer(a->last_check_ms) : json_null());
    json_object_set_new(app, "lastError",
                        a->last_error[0] ? json_string(a->last_error) : json_null());
    json_object_set_new(app, "healthCheckUrl",
                        a->cfg->health_url ? json_string(a->cfg->health_url) : json_null());
    json_t *o = json_pack("{s:s,s:b,s:s,s:o,s:I,s:I}", "status", status, "registered",
                          st == ARTEMIS_REG_REGISTERED, "registration", agent_reg_state_name(st),
                          "app", app, "services", (json_int_t)a->n_svcs, "uptimeMs",
                          (json_int_t)(agent_wall_ms() - a->started_ms));
    reply_json(req, 200, "OK", o);
}

static void answer_metrics(agent_t *a, struct evhttp_request *req)
{
    /* Label values, keyed by the counters' own indexes so the two cannot drift apart. */
    static const char *const types[AGENT_QTYPE_SLOTS] = {
        [AGENT_QTYPE_A] = "A",     [AGENT_QTYPE_AAAA] = "AAAA", [AGENT_QTYPE_SRV] = "SRV",
        [AGENT_QTYPE_SOA] = "SOA", [AGENT_QTYPE_ANY] = "ANY",   [AGENT_QTYPE_OTHER] = "other"};
    static const char *const rcodes[AGENT_DNS_RCODE_SLOTS] = {
        [AGENT_DNS_NOERROR] = "NOERROR",   [AGENT_DNS_FORMERR] = "FORMERR",
        [AGENT_DNS_SERVFAIL] = "SERVFAIL", [AGENT_DNS_NXDOMAIN] = "NXDOMAIN",
        [AGENT_DNS_NOTIMP] = "NOTIMP",     [AGENT_DNS_REFUSED] = "REFUSED"};
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add_printf(b, "# HELP artemis_sidecar_dns_queries_total DNS queries by type.\n"
                           "# TYPE artemis_sidecar_dns_queries_total counter\n");
    for (int i = 0; i < AGENT_QTYPE_SLOTS; i++)
        evbuffer_add_printf(b, "artemis_sidecar_dns_queries_total{type=\"%s\"} %llu\n", types[i],
                            (unsigned long long)a->m.dns_queries[i]);
    evbuffer_add_printf(b, "# HELP artemis_sidecar_dns_responses_total DNS responses by rcode.\n"
                           "# TYPE artemis_sidecar_dns_responses_total counter\n");
    for (int i = 0; i < AGENT_DNS_RCODE_SLOTS; i++)
        evbuffer_add_printf(b, "artemis_sidecar_dns_responses_total{rcode=\"%s\"} %llu\n",
                            rcodes[i], (unsigned long long)a->m.dns_rcodes[i]);
    evbuffer_add_printf(
        b,
        "# TYPE artemis_sidecar_dns_nodata_total counter\n"
        "artemis_sidecar_dns_nodata_total %llu\n"
        "# TYPE artemis_sidecar_dns_truncated_total counter\n"
        "artemis_sidecar_dns_truncated_total %llu\n"
        "# TYPE artemis_sidecar_dns_truncated_remote_total counter\n"
        "artemis_sidecar_dns_truncated_remote_total %llu\n"
        "# TYPE artemis_sidecar_dns_dropped_total counter\n"
        "artemis_sidecar_dns_dropped_total %llu\n"
        "# TYPE artemis_sidecar_dns_tcp_connections_total counter\n"
        "artemis_sidecar_dns_tcp_connections_total %llu\n"
        "# TYPE artemis_sidecar_http_requests_total counter\n"
        "artemis_sidecar_http_requests_total %llu\n"
        "# TYPE artemis_sidecar_health_checks_total counter\n"
        "artemis_sidecar_health_checks_total{result=\"ok\"} %llu\n"
        "artemis_sidecar_health_checks_total{result=\"fail\"} %llu\n"
        "# TYPE artemis_sidecar_app_healthy gauge\n"
        "artemis_sidecar_app_healthy %d\n"
        "# TYPE artemis_sidecar_registered gauge\n"
        "artemis_sidecar_registered %d\n"
        "# TYPE artemis_sidecar_registrations_total counter\n"
        "artemis_sidecar_registrations_total %llu\n"
        "# TYPE artemis_sidecar_deregistrations_total counter\n"
        "artemis_sidecar_deregistrations_total %llu\n"
        "# TYPE artemis_sidecar_services gauge\n"
        "artemis_sidecar_services %zu\n",
        (unsigned long long)a->m.dns_nodata, (unsigned long long)a->m.dns_truncated,
        (unsigned long long)a->m.dns_truncated_remote, (unsigned long long)a->m.dns_dropped,
        (unsigned long long)a->m.dns_tcp_conns, (unsigned long long)a->m.http_requests,
        (unsigned long long)a->m.health_ok, (unsigned long long)a->m.health_fail, a->healthy,
        reg_state(a) == ARTEMIS_REG_REGISTERED, (unsigned long long)a->m.registrations,
        (unsigned long long)a->m.deregistrations, a->n_svcs);
    /* cache age of each tracked service with a view (bounded by AGENT_MAX_SERVICES) */
    evbuffer_add_printf(b, "# HELP artemis_sidecar_cache_age_seconds Age of the cached view.\n"
                           "# TYPE artemis_sidecar_cache_age_seconds gauge\n");
    for (size_t i = 0; i < a->n_buckets; i++)
        for (agent_svc_t *s = a->buckets[i]; s; s = s->next)
            if (s->svc) {
                int ok = 1;
                for (const char *p = s->key; *p; p++)
                    if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                        ok = 0;
                if (ok)
                    evbuffer_add_printf(b,
                                        "artemis_sidecar_cache_age_seconds{service=\"%s\","
                                        "stale=\"%d\"} %.3f\n",
                                        s->key, artemis_service_is_stale(s->svc),
                                        (double)artemis_service_age_ms(s->svc) / 1000.0);
            }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ---- routing ------------------------------------------------------------------------------ */

static void route(struct evhttp_request *req, void *arg)
{
    agent_t *a = arg;
    a->m.http_requests++;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    if (!path) {
        reply_error(req, 400, "Bad Request", "bad request path", NULL);
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        reply_error(req, 405, "Method Not Allowed", "only GET", NULL);
        return;
    }
    if (!strcmp(path, "/health")) {
        answer_health(a, req);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        answer_metrics(a, req);
        return;
    }
    if (!strncmp(path, "/v1/services/", 13)) {
        char *id = evhttp_uridecode(path + 13, 0, NULL);
        if (!id || !*id || strlen(id) > 200 || strchr(id, '/')) {
            reply_error(req, 400, "Bad Request", "bad service id", NULL);
        } else {
            int bad = 0;
            for (const char *p = id; *p; p++)
                if ((unsigned char)*p < 0x20)
                    bad = 1;
            if (bad)
                reply_error(req, 400, "Bad Request", "bad service id", NULL);
            else
                answer_service(a, req, id, 1);
        }
        free(id);
        return;
    }
    reply_error(req, 404, "Not Found", "no such endpoint", NULL);
}

int agent_http_start(agent_t *a, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sl;
    if (agent_parse_hostport(a->cfg->http_listen, &ss, &sl) != 0) {
        snprintf(err, errlen, "http.listen: bad address '%s'", a->cfg->http_listen);
        return -1;
    }
    char host[128];
    const char *hl = a->cfg->http_listen;
    const char *colon = strrchr(hl, ':');
    size_t hn = (size_t)(colon - hl);
    if (*hl == '[') {
        hl++;
        hn = (size_t)(strchr(hl, ']') - hl);
    }
    if (hn >= sizeof(host))
        hn = sizeof(host) - 1;
    memcpy(host, hl, hn);
    host[hn] = 0;
    a->http = evhttp_new(a->base);
    if (!a->http) {
        snprintf(err, errlen, "http.listen: out of memory");
        return -1;
    }
    evhttp_set_gencb(a->http, route, a);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(a->http, 16384);
    evhttp_set_max_body_size(a->http, 4096);
    evhttp_set_timeout(a->http, 30);
    a->http_sock = evhttp_bind_socket_with_handle(a->http, host, (ev_uint16_t)atoi(colon + 1));
    if (!a->http_sock) {
        snprintf(err, errlen, "http.listen: cannot bind %s", a->cfg->http_listen);
        evhttp_free(a->http);
        a->http = NULL;
        return -1;
    }
    return 0;
}

void agent_http_stop(agent_t *a)
{
    if (a->http) {
        evhttp_free(a->http);
        a->http = NULL;
        a->http_sock = NULL;
    }
}
