/*
 * The sidecar agent: owns the libartemis client (external-loop mode on the agent's own
 * libevent base), keeps the app registered while it is healthy, and tracks the services
 * that DNS and HTTP clients ask for. A service is watched on its first query; the answer to
 * that first query is parked (bounded) until the SDK's first view lands. Every view change
 * updates the service's `known` flag, which separates NXDOMAIN (never had an instance)
 * from NOERROR/no-data (known, nothing up).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include <artemis/adapters/libevent.h>

#include "agent.h"
#include "list.h"
#include "clock.h"

int agent_log_level = AGENT_LOG_INFO;

void agent_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < agent_log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "artemis-sidecar: %s: %s\n",
            names[level < 0   ? 0
                  : level > 3 ? 3
                              : level],
            line);
}

/* The SDK's clocks (sdk/common/clock.c, linked from libartemis.a). */
int64_t agent_wall_ms(void)
{
    return artemisi_wall_ms();
}

int64_t agent_mono_ms(void)
{
    return artemisi_mono_ms();
}

/* ---- waiters ------------------------------------------------------------------------------ */

typedef struct agent_waiter {
    agent_t *a;
    agent_svc_t *svc;
    void *owner;
    agent_wait_fn fn;
    void *arg;
    struct event *timer;
    struct agent_waiter *next, *prev;
} agent_waiter_t;

static void waiter_unlink(agent_t *a, agent_waiter_t *w)
{
    ARTEMISI_DLIST_UNLINK(a->waiters, w);
    a->n_waiters--;
    if (w->timer)
        event_free(w->timer);
}

static void waiter_fire(agent_t *a, agent_waiter_t *w, int cancelled)
{
    waiter_unlink(a, w);
    agent_wait_fn fn = w->fn;
    void *arg = w->arg;
    free(w);
    fn(arg, cancelled);
}

static void waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    agent_waiter_t *w = arg;
    (void)fd;
    (void)what;
    waiter_fire(w->a, w, 0);
}

int agent_wait(agent_t *a, agent_svc_t *s, void *owner, agent_wait_fn fn, void *arg)
{
    if (a->stopping || a->n_waiters >= AGENT_MAX_WAITERS)
        return -1;
    agent_waiter_t *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->a = a;
    w->svc = s;
    w->owner = owner;
    w->fn = fn;
    w->arg = arg;
    w->timer = evtimer_new(a->base, waiter_timeout_cb, w);
    struct timeval tv = {AGENT_FIRST_WAIT_MS / 1000, (AGENT_FIRST_WAIT_MS % 1000) * 1000};
    if (!w->timer || evtimer_add(w->timer, &tv) != 0) {
        if (w->timer)
            event_free(w->timer);
        free(w);
        return -1;
    }
    w->next = a->waiters;
    if (w->next)
        w->next->prev = w;
    a->waiters = w;
    a->n_waiters++;
    return 0;
}

void agent_wait_cancel_owner(agent_t *a, void *owner)
{
    agent_waiter_t *w = a->waiters;
    while (w) {
        agent_waiter_t *next = w->next;
        if (w->owner == owner)
            waiter_fire(a, w, 1);
        w = next;
    }
}

static void wake_waiters(agent_t *a, agent_svc_t *s)
{
    /* A callback may park or cancel other waiters: restart the scan after each firing. */
    for (;;) {
        agent_waiter_t *w = a->waiters;
        while (w && w->svc != s)
            w = w->next;
        if (!w)
            return;
        waiter_fire(a, w, 0);
    }
}

/* ---- services ----------------------------------------------------------------------------- */

static uint64_t hash_ci(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ULL;
    }
    return h;
}

agent_svc_t *agent_svc_find(agent_t *a, const char *service_id)
{
    size_t b = (size_t)(hash_ci(service_id) % a->n_buckets);
    for (agent_svc_t *s = a->buckets[b]; s; s = s->next)
        if (!strcasecmp(s->key, service_id))
            return s;
    return NULL;
}

static void svc_set_view(agent_t *a, agent_svc_t *s, artemis_service_t *svc)
{
    if (svc)
        artemis_service_ref(svc);
    artemis_service_unref(s->svc);
    s->svc = svc;
    s->have_view = 1;
    s->version++;
    agent_dns_service_changed(a, s);
    if (svc && artemis_service_instance_count(svc) > 0)
        s->known = 1;
    wake_waiters(a, s);
}

static void on_watch(void *ud, const char *service_id, artemis_service_t *svc)
{
    agent_t *a = ud;
    agent_svc_t *s = agent_svc_find(a, service_id);
    if (!s)
        return;
    agent_log(AGENT_LOG_DEBUG, "view of %s: %zu instances%s", service_id,
              svc ? artemis_service_instance_count(svc) : 0,
              svc && artemis_service_is_stale(svc) ? " (stale)" : "");
    svc_set_view(a, s, svc);
}

agent_svc_t *agent_svc_track(agent_t *a, const char *service_id)
{
    agent_svc_t *s = agent_svc_find(a, service_id);
    if (s)
        return s;
    if (a->stopping || a->n_svcs >= AGENT_MAX_SERVICES || !*service_id)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->key = strdup(service_id))) {
        free(s);
        return NULL;
    }
    for (char *p = s->key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t b = (size_t)(hash_ci(s->key) % a->n_buckets);
    s->next = a->buckets[b];
    a->buckets[b] = s;
    a->n_svcs++;
    /* A disk snapshot or an earlier lookup may already be cached. */
    artemis_service_t *cached = artemis_client_get_cached(a->client, service_id);
    if (cached) {
        svc_set_view(a, s, cached);
        artemis_service_unref(cached);
    }
    /* The registry matches service ids case-sensitively (protocol.md §11.5) while DNS names are
     * case-insensitive: ask for the app's own id as configured, any other id as first spelled
     * by a client. The SDK's cache is keyed case-insensitively either way. */
    const char *spelled =
        !strcasecmp(service_id, a->cfg->service_id) ? a->cfg->service_id : service_id;
    artemis_error_t err;
    if (artemis_client_watch(a->client, spelled, on_watch, a, &err) != ARTEMIS_OK)
        agent_log(AGENT_LOG_WARN, "cannot watch %s: %s", spelled, err.text);
    return s;
}

/* ---- registration ------------------------------------------------------------------------- */

const char *agent_reg_state_name(artemis_reg_state_t st)
{
    switch (st) {
    case ARTEMIS_REG_PENDING:
        return "pending";
    case ARTEMIS_REG_REGISTERED:
        return "registered";
    case ARTEMIS_REG_FAILING:
        return "failing";
    case ARTEMIS_REG_UNREGISTERED:
        return "unregistered";
    }
    return "?";
}

static void on_reg(void *ud, const char *service_id, const char *instance_id,
                   artemis_reg_state_t state, artemis_err_t last_error)
{
    agent_t *a = ud;
    if (state != a->reg_state)
        agent_log(state == ARTEMIS_REG_FAILING ? AGENT_LOG_WARN : AGENT_LOG_INFO, "%s/%s: %s%s%s",
                  service_id, instance_id, agent_reg_state_name(state),
                  last_error != ARTEMIS_OK ? ": " : "",
                  last_error != ARTEMIS_OK ? artemis_strerror(last_error) : "");
    a->reg_state = state;
}

static void on_sdk_log(void *ud, artemis_log_level_t level, const char *module, const char *message)
{
    (void)ud;
    int l = level == ARTEMIS_LOG_DEBUG  ? AGENT_LOG_DEBUG
            : level == ARTEMIS_LOG_INFO ? AGENT_LOG_INFO
            : level == ARTEMIS_LOG_WARN ? AGENT_LOG_WARN
                                        : AGENT_LOG_ERROR;
    agent_log(l, "sdk %s: %s", module, message);
}

void agent_set_registered(agent_t *a, int on)
{
    artemis_error_t err;
    if (a->stopping || on == a->want_registered)
        return;
    if (on) {
        if (artemis_client_register(a->client, a->inst, &err) != ARTEMIS_OK) {
            agent_log(AGENT_LOG_ERROR, "cannot register %s/%s: %s", a->cfg->service_id,
                      a->cfg->instance_id, err.text);
            return;
        }
        a->m.registrations++;
        agent_log(AGENT_LOG_INFO, "registering %s/%s (%s)", a->cfg->service_id, a->cfg->instance_id,
                  a->cfg->url);
    } else {
        artemis_client_deregister(a->client, a->cfg->service_id, a->cfg->instance_id, &err);
        a->m.deregistrations++;
        a->reg_state = ARTEMIS_REG_UNREGISTERED;
        agent_log(AGENT_LOG_INFO, "deregistered %s/%s", a->cfg->service_id, a->cfg->instance_id);
    }
    a->want_registered = on;
}

agent_t *agent_new(agent_config_t *cfg, struct event_base *base, char *err, size_t errlen)
{
    agent_t *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->base = base;
    a->healthy = cfg->health_url ? 0 : 1;
    a->reg_state = ARTEMIS_REG_UNREGISTERED;
    a->started_ms = agent_wall_ms();
    a->n_buckets = 1024;
    a->buckets = calloc(a->n_buckets, sizeof(*a->buckets));
    a->inst = artemis_instance_new(cfg->service_id, cfg->instance_id, cfg->ip, cfg->port);
    if (!a->buckets || !a->inst) {
        snprintf(err, errlen, "cannot build the instance (out of memory or bad fields)");
        agent_free(a);
        return NULL;
    }
    char host[256];
    if (gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = 0;
        artemis_instance_set(a->inst, ARTEMIS_FIELD_MACHINE_NAME, host);
    }
    artemis_instance_set(a->inst, ARTEMIS_FIELD_URL, cfg->url);
    artemis_instance_set(a->inst, ARTEMIS_FIELD_PROTOCOL, cfg->protocol);
    artemis_instance_set(a->inst, ARTEMIS_FIELD_REGION_ID, cfg->region);
    artemis_instance_set(a->inst, ARTEMIS_FIELD_ZONE_ID, cfg->zone);
    if (cfg->health_url)
        artemis_instance_set(a->inst, ARTEMIS_FIELD_HEALTH_CHECK_URL, cfg->health_url);
    for (size_t i = 0; i < cfg->n_metadata; i++)
        artemis_instance_set_metadata(a->inst, cfg->metadata[i].key, cfg->metadata[i].value);

    artemis_config_t *acfg = artemis_config_new();
    artemis_error_t aerr;
    memset(&aerr, 0, sizeof(aerr));
    if (!acfg || artemis_config_set_servers(acfg, cfg->server) != ARTEMIS_OK ||
        artemis_config_set_region(acfg, cfg->region) != ARTEMIS_OK ||
        artemis_config_set_zone(acfg, cfg->zone) != ARTEMIS_OK ||
        artemis_config_set_mode(acfg, ARTEMIS_MODE_EXTERNAL_LOOP) != ARTEMIS_OK) {
        artemis_config_free(acfg);
        snprintf(err, errlen, "cannot configure libartemis");
        agent_free(a);
        return NULL;
    }
    /* cache_dir comes from the sidecar's own configuration (its key, variable or flag, and
     * the older ARTEMIS_CACHE_DIR below them: config.c); empty turns snapshots off. */
    if (cfg->cache_dir && *cfg->cache_dir &&
        artemis_config_set_cache_dir(acfg, cfg->cache_dir) != ARTEMIS_OK) {
        artemis_config_free(acfg);
        snprintf(err, errlen, "cannot configure libartemis: cache_dir");
        agent_free(a);
        return NULL;
    }
    if (cfg->token && artemis_config_set_token(acfg, cfg->token) != ARTEMIS_OK) {
        artemis_config_free(acfg);
        snprintf(err, errlen, "cannot configure libartemis: token"); /* never the value */
        agent_free(a);
        return NULL;
    }
    /* tls.* go to every https:// call and wss:// socket of the SDK; a key without its
     * certificate is refused here rather than ignored. */
    if ((cfg->tls_ca && artemis_config_set_tls_ca_file(acfg, cfg->tls_ca) != ARTEMIS_OK) ||
        ((cfg->tls_cert || cfg->tls_key) &&
         artemis_config_set_tls_client_cert(acfg, cfg->tls_cert, cfg->tls_key) != ARTEMIS_OK)) {
        artemis_config_free(acfg);
        snprintf(err, errlen,
                 "cannot configure libartemis: tls.cert / tls.key (a key needs its certificate)");
        agent_free(a);
        return NULL;
    }
    artemis_config_set_log_cb(acfg, on_sdk_log, a);
    artemis_config_set_log_level(acfg, agent_log_level <= AGENT_LOG_DEBUG ? ARTEMIS_LOG_DEBUG
                                                                          : ARTEMIS_LOG_WARN);
    a->client = artemis_client_new(acfg, &aerr);
    artemis_config_free(acfg);
    if (!a->client || artemis_libevent_attach(a->client, base) != ARTEMIS_OK ||
        artemis_client_set_registration_cb(a->client, on_reg, a) != ARTEMIS_OK) {
        snprintf(err, errlen, "libartemis: %s", aerr.text[0] ? aerr.text : "cannot create client");
        agent_free(a);
        return NULL;
    }
    return a;
}

int agent_start(agent_t *a, char *err, size_t errlen)
{
    artemis_error_t aerr;
    memset(&aerr, 0, sizeof(aerr));
    if (artemis_client_start(a->client, &aerr) != ARTEMIS_OK) {
        snprintf(err, errlen, "libartemis: %s", aerr.text);
        return -1;
    }
    if (a->cfg->health_url) {
        if (agent_health_start(a) != 0) {
            snprintf(err, errlen, "app.health_check_url: cannot start the health check");
            return -1;
        }
    } else {
        agent_set_registered(a, 1);
    }
    return 0;
}

void agent_begin_stop(agent_t *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    agent_health_stop(a);
    agent_http_stop(a);
    if (a->dns) {
        agent_dns_server_free(a->dns);
        a->dns = NULL;
    }
    while (a->waiters)
        waiter_fire(a, a->waiters, 1);
    /* Deregisters every instance (bounded); the loop finishes the exchange. */
    artemis_client_stop(a->client, AGENT_STOP_TIMEOUT_MS);
}

void agent_free(agent_t *a)
{
    if (!a)
        return;
    agent_health_stop(a);
    agent_http_stop(a);
    if (a->dns)
        agent_dns_server_free(a->dns);
    while (a->waiters)
        waiter_fire(a, a->waiters, 1);
    artemis_client_free(a->client);
    for (size_t b = 0; a->buckets && b < a->n_buckets; b++) {
        agent_svc_t *s = a->buckets[b];
        while (s) {
            agent_svc_t *n = s->next;
            artemis_service_unref(s->svc);
            free(s->key);
            free(s);
            s = n;
        }
    }
    free(a->buckets);
    artemis_instance_free(a->inst);
    free(a);
}
