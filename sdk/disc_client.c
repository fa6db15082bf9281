/*
 * Discovery: lookup.json into the cache, a WebSocket watch of /ws/discovery/instance-change
 * (new / delete / reload applied to the cache, protocol.md §5.3), fallback polling that also
 * reconciles the whole watched set every poll interval, disk snapshots of every view, the
 * node lists from up-*-nodes.json, and the change callbacks. Runs on the loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artemis/artemis.h"
#include "client_int.h"
#include "clock.h"
#include "codec.h"
#include "sdk_int.h"
#include "snapshot.h"

void artemisi_client_set_nodes(struct artemis_client *c, int registry, char *const *urls, size_t n);

static watched_t *find_watched(struct artemis_client *c, const char *id)
{
    for (watched_t *w = c->watched; w; w = w->next)
        if (strcasecmp(w->id, id) == 0)
            return w;
    return NULL;
}

static watched_t *get_watched(struct artemis_client *c, const char *id)
{
    watched_t *w = find_watched(c, id);
    if (w)
        return w;
    w = calloc(1, sizeof(*w));
    if (!w || !(w->id = strdup(id))) {
        free(w);
        return NULL;
    }
    w->next = c->watched;
    c->watched = w;
    return w;
}

static void notify_watchers(struct artemis_client *c, const char *id)
{
    watched_t *w = find_watched(c, id);
    artemis_service_t *svc = artemisi_cache_get(c->cache, id);
    if (!svc)
        return;
    if (c->cfg->cache_dir && artemisi_snapshot_save(c->cfg->cache_dir, svc) != 0)
        ARTEMISI_LOG(&c->log, ARTEMIS_LOG_WARN, "cache", "cannot save the snapshot of %s in %s", id,
                     c->cfg->cache_dir);
    for (watcher_t *x = w ? w->watchers : NULL; x; x = x->next) {
        c->in_callback++;
        x->cb(x->ud, artemis_service_id(svc), svc);
        c->in_callback--;
    }
    artemis_service_unref(svc);
}

/* Answer every thread waiting for this service. */
static void finish_waits(struct artemis_client *c, const char *id, artemis_err_t rc)
{
    discover_wait_t **pp = &c->dwaits;
    while (*pp) {
        discover_wait_t *d = *pp;
        if (id && strcasecmp(d->id, id) != 0) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        artemis_service_t *svc = rc == ARTEMIS_OK ? artemisi_cache_get(c->cache, d->id) : NULL;
        artemisi_waiter_finish(c, d->waiter, svc ? ARTEMIS_OK : rc, svc);
        if (d->timer)
            event_free(d->timer);
        free(d->id);
        free(d);
    }
}

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    discover_wait_t *d = arg;
    struct artemis_client *c = d->c;
    (void)fd;
    (void)what;
    for (discover_wait_t **pp = &c->dwaits; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            artemisi_waiter_finish(c, d->waiter, ARTEMIS_ERR_TIMEOUT, NULL);
            event_free(d->timer);
            free(d->id);
            free(d);
            return;
        }
    }
}

/* ---- lookup.json ------------------------------------------------------------------------------
 */

/* In-flight lookups are linked into the client so a stop that cancels them (the HTTP
 * layer then calls nothing back) can still free them. */
typedef struct lookup_req {
    struct artemis_client *c;
    char **ids;
    uint64_t *gens; /* push_gen of each watched service when this lookup was sent */
    size_t n;
    int attempt;
    char base[512]; /* the server this attempt went to */
    struct lookup_req *next, *prev;
} lookup_req_t;

static void lookup_send(lookup_req_t *r);
static void lookup(struct artemis_client *c, const char *id);

static void lookup_req_free(lookup_req_t *r)
{
    struct artemis_client *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else if (c->lookups == r)
        c->lookups = r->next;
    if (r->next)
        r->next->prev = r->prev;
    for (size_t i = 0; i < r->n; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->gens);
    free(r);
}

/* Answers set aside in a row before one is kept anyway: under a steady stream of pushes every
 * lookup would otherwise be overtaken, and reconciling would never happen. */
#define MAX_SKIPPED 3

/* Whether the answer for sid should be set aside: a push for the service arrived while this
 * lookup was in flight, so the answer may be older than the view the push left (the answer and
 * the push travel on different connections, in no guaranteed order: a `delete` handled first
 * would be undone by an answer taken before it). The pushes already updated the view; the
 * caller fetches again unless a lookup sent after the last push is already in flight. Only
 * for a service with a view (the first answer is always kept). */
static int overtaken(const lookup_req_t *r, watched_t *w, const char *sid)
{
    if (!w || !w->fetched || w->skipped >= MAX_SKIPPED)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->ids[i], sid) == 0)
            return r->gens[i] != w->push_gen;
    return 0;
}

static void lookup_done(void *ud, int err, long status, const char *body, size_t len)
{
    lookup_req_t *r = ud;
    struct artemis_client *c = r->c;
    json_t *root = NULL, *services = NULL;
    const char *st = NULL;
    if (err == 0 && status == 200) {
        root = artemisi_json_parse(body, len, NULL, 0);
        artemisi_json_get_str(artemisi_json_get(root, "responseStatus"), "status", &st);
        services = artemisi_json_get(root, "services");
    }
    if (!st || strcmp(st, "success") != 0 || !json_is_array(services)) {
        json_decref(root);
        ARTEMISI_LOG(&c->log, ARTEMIS_LOG_WARN, "discovery",
                     "lookup via %s failed (err %d, HTTP %ld)", r->base, err, status);
        artemisi_client_server_failed(c, 0, r->base);
        size_t tries = c->seeds.n + c->disc_nodes.n;
        if (!c->loop_stopping && r->attempt + 1 < (int)(tries > 2 ? tries : 2)) {
            r->attempt++;
            lookup_send(r); /* retry at once on the next server */
            return;
        }
        for (size_t i = 0; i < r->n; i++) {
            watched_t *w = find_watched(c, r->ids[i]);
            if (w)
                w->lookup_busy = 0;
            if (artemisi_cache_mark_stale(c->cache, r->ids[i]) == 1)
                notify_watchers(c, r->ids[i]);
            finish_waits(c, r->ids[i], ARTEMIS_ERR_UNAVAILABLE);
        }
        lookup_req_free(r);
        return;
    }
    int64_t now = artemisi_wall_ms();
    /* The services whose answer was set aside (a lookup sent later answers their waiters), and
     * those of them that need another lookup. */
    char **aside = calloc(2 * (r->n ? r->n : 1), sizeof(char *));
    char **again = aside ? aside + (r->n ? r->n : 1) : NULL;
    size_t n_aside = 0, n_again = 0;
    for (size_t i = 0; i < json_array_size(services); i++) {
        json_t *s = json_array_get(services, i);
        const char *sid = NULL;
        if (artemisi_json_get_str(s, "serviceId", &sid) || !sid)
            continue;
        /* A null instance list is an empty shell (wrong region, node not ready): it says
         * nothing about the service, so it must not wipe the view. */
        if (!json_is_array(artemisi_json_get(s, "instances")))
            continue;
        watched_t *w = find_watched(c, sid);
        if (aside && n_aside < r->n && overtaken(r, w, sid)) {
            w->skipped++;
            aside[n_aside++] = w->id;
            ARTEMISI_LOG(&c->log, ARTEMIS_LOG_DEBUG, "discovery",
                         "lookup answer for %s overtaken by a push: fetching again", sid);
            if (w->sent_gen != w->push_gen && n_again < r->n)
                again[n_again++] = w->id;
            continue;
        }
        if (w) {
            w->fetched = 1;
            w->skipped = 0;
        }
        int changed = artemisi_cache_apply_full(c->cache, s, now);
        if (changed == 1)
            notify_watchers(c, sid);
    }
    for (size_t i = 0; i < r->n; i++) {
        watched_t *w = find_watched(c, r->ids[i]);
        size_t k = 0;
        while (k < n_aside && strcasecmp(aside[k], r->ids[i]) != 0)
            k++;
        if (w)
            w->lookup_busy = 0;
        if (k == n_aside)
            finish_waits(c, r->ids[i], ARTEMIS_OK);
    }
    json_decref(root);
    lookup_req_free(r);
    for (size_t i = 0; i < n_again; i++)
        lookup(c, again[i]);
    free(aside);
}

static void lookup_send(lookup_req_t *r)
{
    struct artemis_client *c = r->c;
    artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&body, "{\"discoveryConfigs\":[");
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            artemisi_buf_appendc(&body, ',');
        artemisi_buf_appends(&body, "{\"discoveryData\":null,\"regionId\":null,\"serviceId\":");
        artemisi_json_str(&body, r->ids[i]);
        artemisi_buf_appends(&body, ",\"zoneId\":null}");
    }
    artemisi_buf_appends(&body, "],\"regionId\":");
    artemisi_json_str(&body, c->cfg->region);
    artemisi_buf_appends(&body, ",\"zoneId\":");
    artemisi_json_str(&body, c->cfg->zone);
    artemisi_buf_appendc(&body, '}');
    snprintf(r->base, sizeof(r->base), "%s", artemisi_client_server(c, 0));
    artemisi_client_url(c, 0, "/api/discovery/lookup.json", &url);
    if (!c->http ||
        !artemisi_http_post_json(c->http, url.data, body.data, body.len, c->cfg->request_timeout_ms,
                                 c->cfg->connect_timeout_ms, 0, lookup_done, r)) {
        for (size_t i = 0; i < r->n; i++) {
            watched_t *w = find_watched(c, r->ids[i]);
            if (w)
                w->lookup_busy = 0;
            finish_waits(c, r->ids[i], ARTEMIS_ERR_IO);
        }
        lookup_req_free(r);
    }
    artemisi_buf_free(&body);
    artemisi_buf_free(&url);
}

/* Look up one service (id) or, with id NULL, every watched service. */
static void lookup(struct artemis_client *c, const char *id)
{
    lookup_req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->c = c;
    size_t n = 0;
    for (watched_t *w = c->watched; w; w = w->next)
        n++;
    r->ids = calloc(n ? n : 1, sizeof(char *));
    r->gens = calloc(n ? n : 1, sizeof(uint64_t));
    if (!r->ids || !r->gens) {
        free(r->ids);
        free(r->gens);
        free(r);
        return;
    }
    for (watched_t *w = c->watched; w; w = w->next) {
        if (id && strcasecmp(w->id, id) != 0)
            continue;
        if (!(r->ids[r->n] = strdup(w->id)))
            break;
        r->gens[r->n] = w->sent_gen = w->push_gen;
        r->n++;
        if (id)
            w->lookup_busy = 1;
    }
    r->next = c->lookups;
    if (r->next)
        r->next->prev = r;
    c->lookups = r;
    if (r->n == 0) {
        lookup_req_free(r);
        return;
    }
    lookup_send(r);
}

/* ---- the watch socket -------------------------------------------------------------------- */

static void subscribe(struct artemis_client *c, watched_t *w)
{
    if (!c->disc_ws || !artemisi_wsc_is_open(c->disc_ws) || w->subscribed)
        return;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&b, "{\"discoveryData\":null,\"regionId\":");
    artemisi_json_str(&b, c->cfg->region);
    artemisi_buf_appends(&b, ",\"serviceId\":");
    artemisi_json_str(&b, w->id);
    artemisi_buf_appends(&b, ",\"zoneId\":");
    artemisi_json_str(&b, c->cfg->zone);
    artemisi_buf_appendc(&b, '}');
    if (artemisi_wsc_send_text(c->disc_ws, b.data, b.len) == 0)
        w->subscribed = 1;
    artemisi_buf_free(&b);
}

static void disc_open(void *ud)
{
    struct artemis_client *c = ud;
    artemisi_reconnect_opened(&c->disc_rc, artemisi_mono_ms());
    for (watched_t *w = c->watched; w; w = w->next) {
        w->subscribed = 0;
        subscribe(c, w);
    }
    /* Changes may have been missed while the socket was down: reconcile. */
    lookup(c, NULL);
}

static void disc_text(void *ud, const char *data, size_t len)
{
    struct artemis_client *c = ud;
    json_t *root = artemisi_json_parse(data, len, NULL, 0);
    const char *type = NULL, *sid = NULL;
    json_t *inst = artemisi_json_get(root, "instance");
    if (!root || artemisi_json_get_str(root, "changeType", &type) || !type ||
        artemisi_json_get_str(inst, "serviceId", &sid) || !sid) {
        json_decref(root);
        return;
    }
    watched_t *w = find_watched(c, sid);
    if (w)
        w->push_gen++; /* a lookup in flight may now answer with an older view */
    int rc = artemisi_cache_apply_change(c->cache, sid, type, inst, artemisi_wall_ms());
    if (rc == 1)
        notify_watchers(c, sid);
    else if (rc == ARTEMISI_CACHE_RELOAD)
        lookup(c, sid);
    json_decref(root);
}

static void disc_pong(void *ud)
{
    struct artemis_client *c = ud;
    artemisi_reconnect_alive(&c->disc_rc, artemisi_mono_ms());
}

static void disc_close(void *ud, int code, const char *reason)
{
    struct artemis_client *c = ud;
    artemisi_client_ws_closed(c, 0, code, reason);
    for (watched_t *w = c->watched; w; w = w->next)
        w->subscribed = 0; /* the subscriptions died with the socket */
}

static const artemisi_wsc_callbacks_t disc_callbacks = {disc_open, disc_text, disc_pong,
                                                        disc_close};

static void disc_connect(struct artemis_client *c)
{
    if (c->disc_ws || c->loop_stopping || !c->watched)
        return;
    const char *base = artemisi_reconnect_begin(&c->disc_rc, artemisi_client_server(c, 0));
    c->disc_ws = artemisi_client_ws_connect(c, base, "/ws/discovery/instance-change", 64 << 20,
                                            &disc_callbacks);
    /* Fails only out of memory (the config refused CR/LF): the server then refuses the
     * upgrade and the reconnect tries again. */
    (void)artemisi_wsc_set_bearer(c->disc_ws, c->cfg->token);
}

/* ---- node lists --------------------------------------------------------------------------- */

static void nodes_done(void *ud, int err, long status, const char *body, size_t len)
{
    struct nodes_req *r = ud;
    r->busy = 0;
    if (err == 0 && status == 200) {
        json_t *root = artemisi_json_parse(body, len, NULL, 0);
        json_t *nodes = artemisi_json_get(root, "nodes");
        size_t n = json_is_array(nodes) ? json_array_size(nodes) : 0;
        char **urls = calloc(n ? n : 1, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; urls && i < n; i++) {
            const char *u = NULL;
            if (artemisi_json_get_str(json_array_get(nodes, i), "url", &u) == 0 && u &&
                (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)))
                urls[k++] = (char *)(uintptr_t)u;
        }
        if (urls)
            artemisi_client_set_nodes(r->c, r->registry, urls, k);
        free(urls);
        json_decref(root);
    }
}

void artemisi_nodes_refresh(struct artemis_client *c)
{
    static const char *const paths[2] = {"/api/cluster/up-discovery-nodes.json",
                                         "/api/cluster/up-registry-nodes.json"};
    for (int registry = 0; registry < 2 && c->http; registry++) {
        struct nodes_req *r = &c->nodes_req[registry];
        if (r->busy)
            continue;
        r->c = c;
        r->registry = registry;
        artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
        artemisi_buf_appends(&body, "{\"regionId\":");
        artemisi_json_str(&body, c->cfg->region);
        artemisi_buf_appends(&body, ",\"zoneId\":");
        artemisi_json_str(&body, c->cfg->zone);
        artemisi_buf_appendc(&body, '}');
        artemisi_client_url(c, registry, paths[registry], &url);
        if (!artemisi_http_post_json(c->http, url.data, body.data, body.len,
                                     c->cfg->request_timeout_ms, c->cfg->connect_timeout_ms, 0,
                                     nodes_done, r))
            r->busy = 1;
        artemisi_buf_free(&body);
        artemisi_buf_free(&url);
    }
}

/* ---- timers and entry points --------------------------------------------------------------- */

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lookup(arg, NULL);
}

static void nodes_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    artemisi_nodes_refresh(arg);
}

void artemisi_disc_start(struct artemis_client *c)
{
    int64_t p = c->cfg->poll_interval_ms, n = c->cfg->node_refresh_ms;
    struct timeval tp = {p / 1000, (p % 1000) * 1000}, tn = {n / 1000, (n % 1000) * 1000};
    c->ev_poll = event_new(c->base, -1, EV_PERSIST, poll_cb, c);
    c->ev_nodes = event_new(c->base, -1, EV_PERSIST, nodes_cb, c);
    if (c->ev_poll)
        event_add(c->ev_poll, &tp);
    if (c->ev_nodes)
        event_add(c->ev_nodes, &tn);
    artemisi_nodes_refresh(c);
}

void artemisi_disc_discover(struct artemis_client *c, const char *service_id, waiter_t *waiter,
                            int64_t timeout_ms)
{
    watched_t *w = get_watched(c, service_id);
    if (!w) {
        if (waiter)
            artemisi_waiter_finish(c, waiter, ARTEMIS_ERR_NOMEM, NULL);
        return;
    }
    if (waiter) {
        artemis_service_t *svc = artemisi_cache_get(c->cache, service_id);
        if (svc && w->fetched && !artemis_service_is_stale(svc)) {
            artemisi_waiter_finish(c, waiter, ARTEMIS_OK, svc);
        } else {
            artemis_service_unref(svc);
            discover_wait_t *d = calloc(1, sizeof(*d));
            if (!d || !(d->id = strdup(service_id))) {
                free(d);
                artemisi_waiter_finish(c, waiter, ARTEMIS_ERR_NOMEM, NULL);
            } else {
                d->waiter = waiter;
                d->c = c;
                d->timer = evtimer_new(c->base, wait_timeout_cb, d);
                struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
                if (d->timer)
                    evtimer_add(d->timer, &tv);
                d->next = c->dwaits;
                c->dwaits = d;
            }
        }
    }
    if (!w->fetched && !w->lookup_busy)
        lookup(c, service_id);
    if (c->disc_ws)
        subscribe(c, w);
    else
        disc_connect(c);
}

void artemisi_disc_watch(struct artemis_client *c, const char *service_id, artemis_watch_cb cb,
                         void *ud)
{
    watched_t *w = get_watched(c, service_id);
    watcher_t *x = w ? calloc(1, sizeof(*x)) : NULL;
    if (!x)
        return;
    x->cb = cb;
    x->ud = ud;
    x->next = w->watchers;
    w->watchers = x;
    artemisi_disc_discover(c, service_id, NULL, 0);
    artemis_service_t *svc = artemisi_cache_get(c->cache, service_id);
    if (svc) {
        c->in_callback++;
        cb(ud, artemis_service_id(svc), svc);
        c->in_callback--;
        artemis_service_unref(svc);
    }
}

void artemisi_disc_tick(struct artemis_client *c, int64_t now)
{
    if (c->loop_stopping)
        return;
    artemisi_client_ws_tick(c, 0, now, disc_connect);
    /* Services whose first lookup failed are retried every tick until one answers. */
    for (watched_t *w = c->watched; w; w = w->next)
        if (!w->fetched && !w->lookup_busy)
            lookup(c, w->id);
}

void artemisi_disc_shutdown(struct artemis_client *c)
{
    artemisi_wsc_free(c->disc_ws); /* NULL-safe */
    c->disc_ws = NULL;
    if (c->ev_poll) {
        event_free(c->ev_poll);
        c->ev_poll = NULL;
    }
    if (c->ev_nodes) {
        event_free(c->ev_nodes);
        c->ev_nodes = NULL;
    }
    finish_waits(c, NULL, ARTEMIS_ERR_CLOSED);
    while (c->lookups)
        lookup_req_free(c->lookups);
    while (c->watched) {
        watched_t *w = c->watched;
        c->watched = w->next;
        while (w->watchers) {
            watcher_t *x = w->watchers;
            w->watchers = x->next;
            free(x);
        }
        free(w->id);
        free(w);
    }
}
