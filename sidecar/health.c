/*
 * Active health check of the app: an HTTP GET of app.health_check_url every interval, on the
 * agent's event base (libevent's evhttp client, one connection per check, bounded by
 * min(interval, 2 s)). A 2xx answer is a pass; anything else (refused, timeout, other
 * status) a failure. AGENT_HEALTH_FALL failures in a row deregister the app;
 * AGENT_HEALTH_RISE passes register it again. The app is not registered before its first
 * passing check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent.h"

static void check_now(agent_t *a);

void agent_health_result(agent_t *a, int ok, const char *err)
{
    a->last_check_ms = agent_wall_ms();
    a->checked = 1;
    if (ok) {
        a->m.health_ok++;
        a->last_error[0] = 0;
        a->fails = 0;
        a->oks++;
        if (!a->healthy && a->oks >= AGENT_HEALTH_RISE) {
            agent_log(AGENT_LOG_INFO, "app healthy (%s)", a->cfg->health_url);
            a->healthy = 1;
        }
    } else {
        a->m.health_fail++;
        snprintf(a->last_error, sizeof(a->last_error), "%s", err ? err : "failed");
        a->oks = 0;
        a->fails++;
        if (a->healthy && a->fails >= AGENT_HEALTH_FALL) {
            agent_log(AGENT_LOG_WARN, "app unhealthy: %s", a->last_error);
            a->healthy = 0;
        } else if (!a->healthy && a->fails == 1) {
            agent_log(AGENT_LOG_INFO, "health check failed: %s", a->last_error);
        }
    }
    agent_set_registered(a, a->healthy);
}

static void free_conn(agent_t *a)
{
    if (a->hc_conn) {
        evhttp_connection_free(a->hc_conn);
        a->hc_conn = NULL;
    }
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    agent_t *a = arg;
    const char *what = e == EVREQ_HTTP_TIMEOUT          ? "timeout"
                       : e == EVREQ_HTTP_EOF            ? "connection refused or closed"
                       : e == EVREQ_HTTP_INVALID_HEADER ? "invalid response"
                       : e == EVREQ_HTTP_DATA_TOO_LONG  ? "response too long"
                                                        : "request failed";
    snprintf(a->hc_err, sizeof(a->hc_err), "%s", what);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    agent_t *a = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    char err[160];
    a->hc_busy = 0;
    if (code >= 200 && code < 300) {
        agent_health_result(a, 1, NULL);
    } else {
        if (code > 0)
            snprintf(err, sizeof(err), "HTTP %d", code);
        else
            snprintf(err, sizeof(err), "%s", a->hc_err[0] ? a->hc_err : "connection failed");
        agent_health_result(a, 0, err);
    }
    /* The connection is freed at the next check (not from inside its own callback). */
}

static void check_now(agent_t *a)
{
    if (a->stopping)
        return;
    if (a->hc_busy) {
        /* Still waiting for the previous check (bounded by its timeout): skip this tick. */
        return;
    }
    free_conn(a);
    struct evhttp_uri *u = evhttp_uri_parse(a->cfg->health_url);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!u || !host) {
        if (u)
            evhttp_uri_free(u);
        agent_health_result(a, 0, "bad health check URL");
        return;
    }
    int port = evhttp_uri_get_port(u);
    if (port <= 0)
        port = 80;
    char path[1024];
    const char *p = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
    snprintf(path, sizeof(path), "%s%s%s", p && *p ? p : "/", query ? "?" : "", query ? query : "");
    char hosthdr[300];
    snprintf(hosthdr, sizeof(hosthdr), "%s:%d", host, port);
    int64_t to = a->cfg->health_interval_ms < 2000 ? a->cfg->health_interval_ms : 2000;
    a->hc_conn = evhttp_connection_base_new(a->base, NULL, host, (unsigned short)port);
    struct evhttp_request *req = evhttp_request_new(on_done, a);
    if (!a->hc_conn || !req) {
        if (req)
            evhttp_request_free(req);
        evhttp_uri_free(u);
        agent_health_result(a, 0, "cannot start the check (out of memory)");
        return;
    }
    a->hc_err[0] = 0;
    struct timeval tv = {to / 1000, (to % 1000) * 1000};
    evhttp_connection_set_timeout_tv(a->hc_conn, &tv);
    evhttp_connection_set_retries(a->hc_conn, 0);
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", hosthdr);
    evhttp_add_header(h, "User-Agent", "artemis-sidecar");
    evhttp_add_header(h, "Connection", "close");
    evhttp_uri_free(u);
    a->hc_busy = 1;
    a->hc_started_ms = agent_mono_ms();
    if (evhttp_make_request(a->hc_conn, req, EVHTTP_REQ_GET, path) != 0) {
        /* evhttp frees req on failure */
        a->hc_busy = 0;
        agent_health_result(a, 0, "cannot send the request");
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    check_now(arg);
}

int agent_health_start(agent_t *a)
{
    if (!a->cfg->health_url)
        return 0;
    a->ev_health = event_new(a->base, -1, EV_PERSIST, tick_cb, a);
    if (!a->ev_health)
        return -1;
    int64_t iv = a->cfg->health_interval_ms;
    struct timeval tv = {iv / 1000, (iv % 1000) * 1000};
    if (event_add(a->ev_health, &tv) != 0)
        return -1;
    check_now(a); /* the first check at once: register as soon as the app answers */
    return 0;
}

void agent_health_stop(agent_t *a)
{
    if (a->ev_health) {
        event_free(a->ev_health);
        a->ev_health = NULL;
    }
    /* Freeing the connection drops an in-flight request without its callback. */
    free_conn(a);
    a->hc_busy = 0;
}
