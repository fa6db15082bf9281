/*
 * Cluster membership, bootstrap and replication pumps (see cluster.h and docs/cluster.md).
 *
 * Peers: parsed from cfg.peers ("zoneA:url1,url2;zoneB:url3"); the entry whose URL equals this
 * node's URL (case-insensitive, trailing '/' ignored) is this node, added in its own zone when
 * absent. Each peer is polled (POST /api/status/node.json) every status-update interval (every
 * sync interval while this node is starting); a failed poll marks it "unknown".
 *
 * Start-up rule (no deadlock, docs/cluster.md):
 *   1. no peers, or force-up            -> up at once;
 *   2. some peer is up                  -> copy its registry (P4 services.json, local zone
 *                                          first), register everything with fresh leases, up;
 *   3. every peer polled, none up, some reachable peers are "starting" -> the node with the
 *      smallest URL among itself and those peers comes up empty (the seed); the others then
 *      bootstrap from it by rule 2;
 *   4. still not up after init.max-wait -> up alone (logged), whatever the peers say.
 * While starting, no lease expires and client registry requests are refused (protocol.md F8);
 * replication from peers is accepted so writes made meanwhile are not missed.
 *
 * Replication: a client write is queued once per peer (coalesced per instance); a pump sends
 * batches of one operation to every reachable peer (status up or starting) when max-batching-
 * size writes are waiting or the oldest is max-batching-delay old, with at most max-inflight
 * requests per peer. Failures back off exponentially per peer; tasks expire after their TTL.
 * Queue times are microseconds (lag is measured from the first submit to the peer's answer).
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "boot_reader.h"
#include "codec.h"
#include "http.h"
#include "log.h"
#include "peers.h"
#include "replicate.h"

#define LAG_RING     4096
#define MAX_INFLIGHT 64

enum { PS_UNKNOWN = 0, PS_STARTING, PS_UP, PS_DOWN };
static const char *const ps_names[] = {"unknown", "starting", "up", "down"};

typedef struct srv_peer srv_peer_t;

typedef struct inflight {
    srv_peer_t *peer;
    uint64_t id; /* http request id, 0 = free slot */
    srv_repl_batch_t batch;
} inflight_t;

struct srv_peer {
    srv_cluster_t *cl;
    char *url;  /* as configured */
    char *base; /* without trailing '/' */
    char *zone;
    int is_self;
    /* polling */
    int status;                                   /* PS_* */
    int can_reg, can_disc, allow_reg, allow_disc; /* -1 = null */
    int polled;                                   /* at least one poll finished */
    int attempt;
    uint64_t poll_id;
    struct event *ev_retry;
    uint64_t polls_failed;
    /* replication */
    srv_repl_queue_t q;
    inflight_t slots[MAX_INFLIGHT];
    size_t n_inflight;
    int64_t backoff_us, next_send_us;
    uint64_t batches_ok, batches_failed;
    int64_t lag_us[LAG_RING];
    size_t lag_n, lag_pos;
};

struct srv_cluster {
    srv_server_t *srv;
    artemisi_http_t *http;
    srv_peer_t *nodes; /* configured order, self included */
    size_t n_nodes;
    srv_peer_t *self;
    struct event *ev_poll, *ev_sync, *ev_pump;
    int64_t pump_at_us; /* armed deadline, -1 none */
    int64_t start_ms;
    /* bootstrap */
    uint64_t boot_id;
    srv_peer_t *boot_peer;
    srv_boot_reader_t *boot_reader; /* the copy, read as it arrives */
    size_t import_count;
    int64_t boot_started_ms, boot_done_ms, boot_ms;
    size_t boot_instances;
    artemisi_buf_t scratch;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == '/')
        la--;
    while (lb && b[lb - 1] == '/')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

static srv_peer_t *add_node(srv_cluster_t *cl, char *zone, char *url)
{
    srv_peer_t *p = &cl->nodes[cl->n_nodes++];
    memset(p, 0, sizeof(*p));
    p->cl = cl;
    p->zone = zone;
    p->url = url;
    p->base = strdup(url);
    if (!p->base)
        srv_oom();
    size_t n = strlen(p->base);
    while (n && p->base[n - 1] == '/')
        p->base[--n] = '\0';
    p->can_reg = p->can_disc = p->allow_reg = p->allow_disc = -1;
    return p;
}

/* The nodes of "zoneA:url1,url2;zoneB:url3" (protocol.md §6.1), through the parser the
 * configuration validated the list with (peers.h). */
static void parse_peers(srv_cluster_t *cl, const char *spec)
{
    char err[128];
    srv_peer_spec_t *peers = NULL;
    size_t n = 0;
    if (srv_peers_parse(spec, &peers, &n, err, sizeof(err)) != 0)
        n = 0; /* validated at start-up: cannot happen */
    cl->nodes = calloc(n + 1, sizeof(srv_peer_t));
    if (!cl->nodes)
        srv_oom();
    for (size_t i = 0; i < n; i++) {
        srv_peer_t *p = add_node(cl, peers[i].zone, peers[i].url); /* takes the strings */
        peers[i].zone = peers[i].url = NULL;
        if (!cl->self && same_url(p->url, cl->srv->node_url) &&
            strcasecmp(p->zone, cl->srv->cfg.zone_id) == 0) {
            p->is_self = 1;
            cl->self = p;
        }
    }
    srv_peers_free(peers, n);
    if (!cl->self) {
        char *zone = strdup(cl->srv->cfg.zone_id), *url = strdup(cl->srv->node_url);
        if (!zone || !url)
            srv_oom();
        cl->self = add_node(cl, zone, url);
        cl->self->is_self = 1;
    }
}

static int is_local_zone(const srv_cluster_t *cl, const srv_peer_t *p)
{
    return strcasecmp(p->zone, cl->srv->cfg.zone_id) == 0;
}

/* ---- local status -------------------------------------------------------------------------- */

const char *srv_cluster_local_status(const srv_server_t *srv)
{
    if (srv->draining)
        return "down";
    return srv->ready ? "up" : "starting";
}

int srv_cluster_set_token(srv_server_t *srv)
{
    /* Peers behind a tokens file refuse replication, bootstrap and node.json without it. */
    if (!srv->cluster || !srv->cluster->http)
        return 0;
    return artemisi_http_set_bearer(srv->cluster->http, srv->cfg.cluster_token);
}

int srv_cluster_can_registry(const srv_server_t *srv)
{
    return srv->ready && !srv->draining;
}

void srv_cluster_local_status_json(srv_server_t *srv, artemisi_buf_t *out)
{
    const char *st = srv_cluster_local_status(srv);
    const char *can = !strcmp(st, "up") ? "true" : !strcmp(st, "down") ? "false" : "null";
    artemisi_buf_appendf(out,
                         "{\"allowDiscoveryFromOtherZone\":%s,\"allowRegistryFromOtherZone\":%s,"
                         "\"canServiceDiscovery\":%s,\"canServiceRegistry\":%s,\"node\":",
                         srv->cfg.discovery_allow_from_other_zone ? "true" : "false",
                         srv->cfg.registry_allow_from_other_zone ? "true" : "false", can, can);
    srv_node_json(srv, out);
    artemisi_buf_appends(out, ",\"status\":");
    artemisi_json_str(out, st);
    artemisi_buf_appendc(out, '}');
}

static const char *tri(int v)
{
    return v < 0 ? "null" : v ? "true" : "false";
}

static void peer_node_json(srv_server_t *srv, const srv_peer_t *p, artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "{\"url\":");
    artemisi_json_str(out, p->url);
    artemisi_buf_appends(out, ",\"zone\":{\"metadata\":null,\"regionId\":");
    artemisi_json_str(out, srv->cfg.region_id);
    artemisi_buf_appends(out, ",\"zoneId\":");
    artemisi_json_str(out, p->zone);
    artemisi_buf_appends(out, "}}");
}

static void peer_status_json(srv_server_t *srv, const srv_peer_t *p, artemisi_buf_t *out)
{
    artemisi_buf_appendf(out,
                         "{\"allowDiscoveryFromOtherZone\":%s,\"allowRegistryFromOtherZone\":%s,"
                         "\"canServiceDiscovery\":%s,\"canServiceRegistry\":%s,\"node\":",
                         tri(p->allow_disc), tri(p->allow_reg), tri(p->can_disc), tri(p->can_reg));
    peer_node_json(srv, p, out);
    artemisi_buf_appends(out, ",\"status\":");
    artemisi_json_str(out, ps_names[p->status]);
    artemisi_buf_appendc(out, '}');
}

void srv_cluster_status_json(srv_server_t *srv, artemisi_buf_t *out)
{
    srv_cluster_t *cl = srv->cluster;
    if (!cl) {
        artemisi_buf_appends(out, "{\"nodeCount\":1,\"nodesStatus\":[");
        srv_cluster_local_status_json(srv, out);
        artemisi_buf_appendc(out, ']');
        return;
    }
    artemisi_buf_appendf(out, "{\"nodeCount\":%zu,\"nodesStatus\":[", cl->n_nodes);
    for (size_t i = 0; i < cl->n_nodes; i++) {
        if (i)
            artemisi_buf_appendc(out, ',');
        if (cl->nodes[i].is_self)
            srv_cluster_local_status_json(srv, out);
        else
            peer_status_json(srv, &cl->nodes[i], out);
    }
    artemisi_buf_appendc(out, ']');
}

/* ServiceNodeUtil: up -> both; down -> neither; else the flag. */
static int peer_can(const srv_peer_t *p, int registry)
{
    if (p->status == PS_UP)
        return 1;
    if (p->status == PS_DOWN || p->status == PS_UNKNOWN)
        return 0;
    return (registry ? p->can_reg : p->can_disc) == 1;
}

static int node_qualifies(srv_server_t *srv, const srv_peer_t *p, int registry, const char *region,
                          const char *zone)
{
    int can, allow;
    if (p->is_self) {
        can = srv_cluster_can_registry(srv);
        allow = registry ? srv->cfg.registry_allow_from_other_zone
                         : srv->cfg.discovery_allow_from_other_zone;
    } else {
        can = peer_can(p, registry);
        allow = (registry ? p->allow_reg : p->allow_disc) == 1;
    }
    if (!can)
        return 0;
    if (allow)
        return 1;
    return region && zone && !strcmp(region, srv->cfg.region_id) && !strcmp(zone, p->zone);
}

size_t srv_cluster_up_nodes(srv_server_t *srv, int registry, const char *region, const char *zone,
                            artemisi_buf_t *out)
{
    srv_cluster_t *cl = srv->cluster;
    size_t n = 0;
    if (!cl) {
        srv_peer_t self;
        memset(&self, 0, sizeof(self));
        self.is_self = 1;
        self.zone = srv->cfg.zone_id;
        if (node_qualifies(srv, &self, registry, region, zone)) {
            srv_node_json(srv, out);
            n++;
        }
        return n;
    }
    /* local zone first, in configuration order, then the other zones */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cl->n_nodes; i++) {
            srv_peer_t *p = &cl->nodes[i];
            if (is_local_zone(cl, p) != (pass == 0))
                continue;
            if (!node_qualifies(srv, p, registry, region, zone))
                continue;
            if (n++)
                artemisi_buf_appendc(out, ',');
            if (p->is_self)
                srv_node_json(srv, out);
            else
                peer_node_json(srv, p, out);
        }
    }
    return n;
}

/* ---- replication --------------------------------------------------------------------------- */

static int peer_reachable(const srv_peer_t *p)
{
    return p->status == PS_UP || p->status == PS_STARTING;
}

static void arm_pump(srv_cluster_t *cl, int64_t at_us)
{
    if (cl->pump_at_us >= 0 && cl->pump_at_us <= at_us)
        return;
    int64_t d = at_us - now_us();
    if (d < 0)
        d = 0;
    struct timeval tv = {(time_t)(d / 1000000), (long)(d % 1000000)};
    cl->pump_at_us = at_us;
    evtimer_add(cl->ev_pump, &tv);
}

/* The replication queue's key of a write: one per lease, so the lease manager is part of it
 * (registry.h) and a normal and a legacy write for one instance both reach the peer. The one
 * place this key is built, for queued writes and for a peer's failedInstances alike. */
static int repl_key(const artemisi_instance_t *inst, artemisi_buf_t *out)
{
    int legacy = !artemisi_blank(artemisi_instance_meta(inst, "java_registry"));
    return artemisi_buf_appendc(out, legacy ? 'L' : 'N') || artemisi_instance_key(inst, out);
}

void srv_cluster_replicate(srv_server_t *srv, srv_op_t op, const artemisi_instance_t *inst)
{
    srv_cluster_t *cl = srv->cluster;
    if (!cl || cl->n_nodes < 2)
        return;
    artemisi_buf_t *b = &cl->scratch;
    artemisi_buf_reset(b);
    if (repl_key(inst, b) || artemisi_buf_appendc(b, '\0'))
        return;
    size_t key_len = b->len;
    if (artemisi_encode_instance(b, inst))
        return;
    const char *key = b->data, *json = b->data + key_len;
    size_t json_len = b->len - key_len;
    int64_t now = now_us();
    int full = 0;
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        if (srv_repl_push(&p->q, (srv_repl_op_t)op, key, json, json_len, now) != 0)
            srv_log(SRV_LOG_WARN, "replication to %s: out of memory, write dropped", p->url);
        if (srv_repl_depth(&p->q) >= (size_t)srv->cfg.repl_batch_size)
            full = 1;
    }
    arm_pump(cl, full ? now : now + srv->cfg.repl_batch_delay_ms * 1000);
}

static const char *op_path[] = {"/api/replication/registry/register.json",
                                "/api/replication/registry/heartbeat.json",
                                "/api/replication/registry/unregister.json"};

static int permanent_code(const char *code)
{
    return code &&
           (!strcmp(code, "bad-request") || !strcmp(code, "no-permission") ||
            !strcmp(code, "internal-service-error") || !strcmp(code, "service-unavailable"));
}

static void record_lag(srv_peer_t *p, const srv_repl_batch_t *b, int64_t now)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!b->tasks[i])
            continue;
        p->lag_us[p->lag_pos] = now - b->tasks[i]->submit_ms;
        p->lag_pos = (p->lag_pos + 1) % LAG_RING;
        if (p->lag_n < LAG_RING)
            p->lag_n++;
    }
}

static void peer_failed(srv_peer_t *p, int64_t now)
{
    int64_t max = p->cl->srv->cfg.repl_backoff_max_ms * 1000;
    p->backoff_us = p->backoff_us ? p->backoff_us * 2 : 20000;
    if (p->backoff_us > max)
        p->backoff_us = max;
    p->next_send_us = now + p->backoff_us;
    p->batches_failed++;
    p->q.stats.failed_batches++;
}

/* Key of an instance JSON object (lower(region.service.instance)). */
/* Key of an instance in a peer's failedInstances: the fields the key is made of, through
 * repl_key (a second key builder here once drifted from the registry's). */
static int key_of(json_t *inst, artemisi_buf_t *out)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    if (artemisi_json_get_str(inst, "regionId", &ARTEMISI_INST(&d, REGION_ID)) ||
        artemisi_json_get_str(inst, "serviceId", &ARTEMISI_INST(&d, SERVICE_ID)) ||
        artemisi_json_get_str(inst, "instanceId", &ARTEMISI_INST(&d, INSTANCE_ID)))
        return -1;
    const char *meta[2] = {"java_registry", NULL};
    json_t *md = artemisi_json_get(inst, "metadata");
    if (json_is_object(md) && artemisi_json_get_str(md, "java_registry", &meta[1]) == 0 &&
        meta[1]) {
        d.meta = meta;
        d.n_meta = 1;
    } else {
        d.meta_null = 1;
    }
    return repl_key(&d, out);
}

static void on_batch_done(void *ud, int err, long status, const char *body, size_t len)
{
    inflight_t *s = ud;
    srv_peer_t *p = s->peer;
    srv_cluster_t *cl = p->cl;
    srv_repl_queue_t *q = &p->q;
    int64_t now = now_us();
    s->id = 0;
    p->n_inflight--;
    if (err || status != 200) {
        srv_log(SRV_LOG_DEBUG, "replication to %s: %s", p->url,
                err ? artemisi_http_strerror(err) : "HTTP error status");
        srv_repl_batch_done(q, &s->batch, 0, status == 400, now);
        peer_failed(p, now);
        arm_pump(cl, p->next_send_us);
        return;
    }
    json_t *root = artemisi_json_parse(body, len, NULL, 0);
    json_t *rs = artemisi_json_get(root, "responseStatus");
    const char *st = NULL, *code = NULL;
    artemisi_json_get_str(rs, "status", &st);
    artemisi_json_get_str(rs, "errorCode", &code);
    if (st && !strcmp(st, "success")) {
        record_lag(p, &s->batch, now);
        q->stats.sent += s->batch.n;
        q->stats.batches++;
        p->batches_ok++;
        p->backoff_us = 0;
        srv_repl_batch_done(q, &s->batch, 1, 0, now);
    } else if (st && !strcmp(st, "partial_fail")) {
        /* the failed instances are retried or dropped by their code; the rest are done */
        json_t *failed = artemisi_json_get(root, "failedInstances");
        artemisi_buf_t k = ARTEMISI_BUF_INIT;
        for (size_t i = 0; json_is_array(failed) && i < json_array_size(failed); i++) {
            json_t *fi = json_array_get(failed, i);
            const char *fcode = NULL;
            artemisi_json_get_str(fi, "errorCode", &fcode);
            artemisi_buf_reset(&k);
            if (key_of(artemisi_json_get(fi, "instance"), &k) != 0 || !k.data)
                continue;
            srv_repl_task_t *t = srv_repl_batch_find(&s->batch, k.data);
            if (!t)
                continue;
            for (size_t j = 0; j < s->batch.n; j++)
                if (s->batch.tasks[j] == t)
                    s->batch.tasks[j] = NULL;
            srv_repl_done(q, t, 0, permanent_code(fcode), now);
        }
        artemisi_buf_free(&k);
        record_lag(p, &s->batch, now);
        q->stats.batches++;
        p->batches_ok++;
        srv_repl_batch_done(q, &s->batch, 1, 0, now);
    } else {
        int perm = permanent_code(code);
        srv_log(SRV_LOG_DEBUG, "replication to %s failed: %s", p->url, code ? code : "?");
        srv_repl_batch_done(q, &s->batch, 0, perm, now);
        if (!perm)
            peer_failed(p, now);
    }
    json_decref(root);
    arm_pump(cl, srv_repl_depth(q) ? now : INT64_MAX);
}

static int send_batch(srv_cluster_t *cl, srv_peer_t *p, int64_t now)
{
    srv_server_t *srv = cl->srv;
    inflight_t *s = NULL;
    for (size_t i = 0; i < (size_t)srv->cfg.repl_max_inflight && i < MAX_INFLIGHT; i++)
        if (!p->slots[i].id && p->slots[i].batch.n == 0) {
            s = &p->slots[i];
            break;
        }
    if (!s)
        return 0;
    s->peer = p;
    srv_repl_batch_reset(&s->batch);
    if (srv_repl_take(&p->q, now, (size_t)srv->cfg.repl_batch_size, &s->batch) == 0)
        return 0;
    artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
    srv_repl_batch_body(&s->batch, &body);
    artemisi_buf_appendf(&url, "%s%s", p->base, op_path[s->batch.op]);
    uint64_t id = 0;
    if (body.data && url.data)
        id = artemisi_http_post_json(
            cl->http, url.data, body.data, body.len, (long)srv->cfg.repl_timeout_ms,
            (long)srv->cfg.repl_connect_timeout_ms, body.len >= 1024, on_batch_done, s);
    artemisi_buf_free(&body);
    artemisi_buf_free(&url);
    if (!id) {
        srv_repl_batch_done(&p->q, &s->batch, 0, 0, now);
        peer_failed(p, now);
        return 0;
    }
    s->id = id;
    p->n_inflight++;
    return 1;
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_cluster_t *cl = arg;
    srv_server_t *srv = cl->srv;
    int64_t now = now_us(), next = INT64_MAX;
    int64_t delay = srv->cfg.repl_batch_delay_ms * 1000;
    cl->pump_at_us = -1;
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self || srv_repl_depth(&p->q) == 0)
            continue;
        if (!peer_reachable(p)) {
            srv_repl_expire(&p->q, now);
            if (srv_repl_depth(&p->q))
                next = next < now + 500000 ? next : now + 500000;
            continue;
        }
        if (now < p->next_send_us) {
            next = next < p->next_send_us ? next : p->next_send_us;
            continue;
        }
        for (;;) {
            int64_t oldest = srv_repl_oldest(&p->q);
            if (oldest < 0)
                break;
            int full = srv_repl_ready(&p->q, (size_t)srv->cfg.repl_batch_size) >=
                       (size_t)srv->cfg.repl_batch_size;
            if (!full && oldest + delay > now) {
                next = next < oldest + delay ? next : oldest + delay;
                break;
            }
            if (!send_batch(cl, p, now))
                break; /* no free slot: the answer re-arms the pump */
        }
    }
    if (next != INT64_MAX)
        arm_pump(cl, next);
}

/* ---- polling ------------------------------------------------------------------------------- */

static void poll_peer(srv_peer_t *p);

static void set_peer_status(srv_peer_t *p, int status)
{
    if (p->status != status)
        srv_log(status == PS_UP ? SRV_LOG_INFO : SRV_LOG_WARN, "peer %s (zone %s): %s -> %s",
                p->url, p->zone, ps_names[p->status], ps_names[status]);
    p->status = status;
    if (status == PS_UP || status == PS_STARTING)
        arm_pump(p->cl, now_us());
}

static int json_tri(json_t *o, const char *name)
{
    json_t *v = artemisi_json_get(o, name);
    if (json_is_true(v))
        return 1;
    if (json_is_false(v))
        return 0;
    return -1;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    poll_peer(arg);
}

static void on_poll(void *ud, int err, long status, const char *body, size_t len)
{
    srv_peer_t *p = ud;
    p->poll_id = 0;
    json_t *root = NULL;
    const char *st = NULL;
    json_t *ns = NULL;
    if (!err && status == 200) {
        root = artemisi_json_parse(body, len, NULL, 0);
        ns = artemisi_json_get(root, "nodeStatus");
        artemisi_json_get_str(ns, "status", &st);
    }
    if (!st) {
        p->polls_failed++;
        if (p->attempt < p->cl->srv->cfg.cluster_status_retries && err != CURLE_COULDNT_CONNECT) {
            p->attempt++;
            struct timeval tv = {0, 10000};
            evtimer_add(p->ev_retry, &tv);
            json_decref(root);
            return;
        }
        p->polled = 1;
        p->can_reg = p->can_disc = p->allow_reg = p->allow_disc = -1;
        set_peer_status(p, PS_UNKNOWN);
        json_decref(root);
        return;
    }
    p->polled = 1;
    p->can_reg = json_tri(ns, "canServiceRegistry");
    p->can_disc = json_tri(ns, "canServiceDiscovery");
    p->allow_reg = json_tri(ns, "allowRegistryFromOtherZone");
    p->allow_disc = json_tri(ns, "allowDiscoveryFromOtherZone");
    int s = PS_UNKNOWN;
    if (!strcasecmp(st, "up"))
        s = PS_UP;
    else if (!strcasecmp(st, "starting"))
        s = PS_STARTING;
    else if (!strcasecmp(st, "down"))
        s = PS_DOWN;
    set_peer_status(p, s);
    json_decref(root);
}

static void poll_peer(srv_peer_t *p)
{
    srv_cluster_t *cl = p->cl;
    if (p->poll_id)
        return;
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/status/node.json", p->base);
    p->poll_id = artemisi_http_post_json(cl->http, url, "{}", 2, (long)cl->srv->cfg.repl_timeout_ms,
                                         (long)cl->srv->cfg.repl_connect_timeout_ms, 0, on_poll, p);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_cluster_t *cl = arg;
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self || p->poll_id)
            continue;
        p->attempt = 0;
        poll_peer(p);
    }
    int64_t ms = cl->srv->ready ? cl->srv->cfg.cluster_status_interval_ms
                                : cl->srv->cfg.cluster_sync_interval_ms;
    if (ms > cl->srv->cfg.cluster_status_interval_ms)
        ms = cl->srv->cfg.cluster_status_interval_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};
    evtimer_add(cl->ev_poll, &tv);
}

/* ---- bootstrap ----------------------------------------------------------------------------- */

static void become_up(srv_cluster_t *cl, const char *why)
{
    srv_server_t *srv = cl->srv;
    if (srv->ready)
        return;
    srv->ready = 1;
    cl->boot_done_ms = srv_now_mono();
    srv_log(SRV_LOG_INFO, "node is up (%s) after %lld ms, %zu instances", why,
            (long long)(cl->boot_done_ms - cl->start_ms), srv_registry_lease_count(srv->registry));
    sd_notifyf(0, "STATUS=up (%s)", why);
    if (cl->ev_sync)
        evtimer_del(cl->ev_sync);
}

/* One service of the copy, imported as soon as it has arrived (boot_reader.h): the copy is
 * never held whole, and each piece curl hands over costs a bounded amount of work. */
static int import_service(void *ud, json_t *svc)
{
    srv_cluster_t *cl = ud;
    srv_server_t *srv = cl->srv;
    int64_t now_mono = srv_lease_now(srv), now_wall = srv_now_wall();
    char err[256];
    artemisi_instance_list_t list;
    if (artemisi_decode_instances(artemisi_json_get(svc, "instances"), SIZE_MAX,
                                  (size_t)srv->cfg.registry_max_string_bytes, &list, err,
                                  sizeof(err)) != ARTEMISI_DECODE_OK)
        return 0; /* as the whole-copy import did: a service that does not decode is skipped */
    for (size_t i = 0; i < list.n; i++) {
        const artemisi_instance_t *d = &list.items[i];
        const char *region = ARTEMISI_INST(d, REGION_ID);
        if (!region || strcasecmp(region, srv->cfg.region_id) || srv_instance_check(d))
            continue;
        /* a client write that reached this node first stays */
        int have = srv_registry_find(srv->registry, d) != NULL;
        if (!have && srv_registry_register(srv->registry, d, now_mono, now_wall) == 0)
            cl->import_count++;
    }
    artemisi_instance_list_free(&list);
    return 0;
}

static int on_bootstrap_data(void *ud, const char *data, size_t len)
{
    srv_cluster_t *cl = ud;
    return srv_boot_reader_feed(cl->boot_reader, data, len);
}

static void on_bootstrap(void *ud, int err, long status, const char *body, size_t len)
{
    (void)body;
    (void)len;
    srv_cluster_t *cl = ud;
    srv_boot_reader_t *rd = cl->boot_reader;
    cl->boot_id = 0;
    cl->boot_reader = NULL;
    const char *why = NULL, *st = NULL;
    if (err)
        why = srv_boot_reader_error(rd) ? srv_boot_reader_error(rd) : artemisi_http_strerror(err);
    else if (status != 200)
        why = "HTTP status not 200";
    else if (srv_boot_reader_finish(rd) != 0)
        why = srv_boot_reader_error(rd);
    char refused[160];
    if (!why) {
        const char *code = NULL;
        artemisi_json_get_str(srv_boot_reader_status(rd), "status", &st);
        artemisi_json_get_str(srv_boot_reader_status(rd), "errorCode", &code);
        snprintf(refused, sizeof(refused), "the peer answered %.64s", code ? code : "no status");
        if (!st || strcmp(st, "success") != 0)
            why = refused;
    }
    srv_boot_reader_free(rd);
    if (cl->srv->ready)
        return;
    if (why) {
        /* What was imported stays: it is what the peer holds, and the next attempt skips it. */
        srv_log(SRV_LOG_WARN, "bootstrap from %s failed after %zu instances: %s",
                cl->boot_peer->url, cl->import_count, why);
        return;
    }
    cl->boot_instances = cl->import_count;
    cl->boot_ms = srv_now_mono() - cl->boot_started_ms;
    srv_log(SRV_LOG_INFO, "bootstrap from %s: %zu instances imported in %lld ms",
            cl->boot_peer->url, cl->import_count, (long long)cl->boot_ms);
    become_up(cl, "bootstrapped");
}

static void start_bootstrap(srv_cluster_t *cl, srv_peer_t *p)
{
    srv_server_t *srv = cl->srv;
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&body, "{\"regionId\":");
    artemisi_json_str(&body, srv->cfg.region_id);
    artemisi_buf_appends(&body, ",\"zoneId\":");
    artemisi_json_str(&body, srv->cfg.zone_id);
    artemisi_buf_appendc(&body, '}');
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/replication/registry/services.json", p->base);
    cl->boot_peer = p;
    cl->boot_started_ms = srv_now_mono();
    cl->import_count = 0;
    srv_log(SRV_LOG_INFO, "bootstrapping from %s", p->url);
    /* One service may be as large as a whole answer could be before (the HTTP client's
     * body limit); the copy as a whole has no limit. */
    cl->boot_reader = srv_boot_reader_new(ARTEMISI_HTTP_MAX_BODY, import_service, cl);
    if (body.data && cl->boot_reader)
        cl->boot_id = artemisi_http_post_json_stream(
            cl->http, url, body.data, body.len, (long)srv->cfg.repl_bootstrap_timeout_ms,
            (long)srv->cfg.repl_connect_timeout_ms, on_bootstrap_data, on_bootstrap, cl);
    if (!cl->boot_id) {
        srv_boot_reader_free(cl->boot_reader);
        cl->boot_reader = NULL;
    }
    artemisi_buf_free(&body);
}

static void sync_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    srv_cluster_t *cl = arg;
    srv_server_t *srv = cl->srv;
    if (srv->ready)
        return;
    int64_t ms = srv->cfg.cluster_sync_interval_ms;
    struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};
    evtimer_add(cl->ev_sync, &tv);
    if (cl->boot_id)
        return; /* a copy is under way */
    /* rule 2: an up peer, local zone first */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cl->n_nodes; i++) {
            srv_peer_t *p = &cl->nodes[i];
            if (!p->is_self && p->status == PS_UP && is_local_zone(cl, p) == (pass == 0)) {
                start_bootstrap(cl, p);
                return;
            }
        }
    /* rule 4 */
    if (srv_now_mono() - cl->start_ms >= srv->cfg.cluster_max_wait_ms) {
        srv_log(SRV_LOG_WARN, "no peer to bootstrap from after %lld ms: coming up alone",
                (long long)srv->cfg.cluster_max_wait_ms);
        become_up(cl, "max-wait elapsed");
        return;
    }
    /* rule 3: every peer polled, none up; the smallest URL among the starting ones seeds */
    int starting = 0, smallest = 1;
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        if (!p->polled)
            return;
        if (p->status == PS_STARTING) {
            starting++;
            if (strcasecmp(p->base, cl->self->base) < 0)
                smallest = 0;
        }
    }
    if (starting && smallest)
        become_up(cl, "seed: every reachable peer is starting");
}

/* ---- setup --------------------------------------------------------------------------------- */

int srv_cluster_init(srv_server_t *srv)
{
    srv_config_t *c = &srv->cfg;
    if (!*c->peers) {
        srv->ready = 1;
        return 0;
    }
    srv_cluster_t *cl = calloc(1, sizeof(*cl));
    if (!cl)
        srv_oom();
    srv->cluster = cl;
    cl->srv = srv;
    cl->pump_at_us = -1;
    cl->start_ms = srv_now_mono();
    parse_peers(cl, c->peers);
    cl->http = artemisi_http_new(srv->base);
    /* https:// peers are verified against tls.ca; when nodes verify client certificates,
     * this node presents its own server certificate as one (docs/security.md, "TLS"). */
    int client_cert = *c->tls_cert && strcmp(c->tls_verify_client, "none") != 0;
    if (cl->http && artemisi_http_set_tls(cl->http, c->tls_ca, client_cert ? c->tls_cert : NULL,
                                          client_cert ? c->tls_key : NULL) != 0)
        srv_oom();
    if (!cl->http) {
        srv_log(SRV_LOG_ERROR, "cluster: cannot create the HTTP client");
        return -1;
    }
    if (srv_cluster_set_token(srv) != 0) {
        srv_log(SRV_LOG_ERROR, "cluster: out of memory setting cluster.token");
        return -1;
    }
    cl->ev_poll = evtimer_new(srv->base, poll_cb, cl);
    cl->ev_sync = evtimer_new(srv->base, sync_cb, cl);
    cl->ev_pump = evtimer_new(srv->base, pump_cb, cl);
    if (!cl->ev_poll || !cl->ev_sync || !cl->ev_pump)
        srv_oom();
    uint64_t s0 = (uint64_t)now_us(), s1 = (uint64_t)(uintptr_t)cl;
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        srv_repl_init(&p->q, (size_t)c->repl_queue_max, c->repl_register_ttl_ms * 1000,
                      c->repl_heartbeat_ttl_ms * 1000, c->repl_unregister_ttl_ms * 1000, s0 + i,
                      s1);
        p->ev_retry = evtimer_new(srv->base, retry_cb, p);
        if (!p->ev_retry)
            srv_oom();
        srv_log(SRV_LOG_INFO, "cluster: peer %s (zone %s)", p->url, p->zone);
    }
    if (cl->n_nodes < 2 || c->cluster_force_up) {
        srv->ready = 1;
        srv_log(SRV_LOG_INFO, "cluster: %s: up at once",
                cl->n_nodes < 2 ? "no other node" : "force-up");
    } else {
        srv->ready = 0;
        srv_log(SRV_LOG_INFO, "cluster: %zu nodes; starting, bootstrap before serving",
                cl->n_nodes);
        struct timeval tv = {0, 50000};
        evtimer_add(cl->ev_sync, &tv);
    }
    if (cl->n_nodes >= 2)
        event_active(cl->ev_poll, EV_TIMEOUT, 0);
    return 0;
}

void srv_cluster_free(srv_server_t *srv)
{
    srv_cluster_t *cl = srv->cluster;
    if (!cl)
        return;
    artemisi_http_free(cl->http); /* no callbacks after this */
    int64_t now = now_us();
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (!p->is_self) {
            for (size_t j = 0; j < MAX_INFLIGHT; j++) {
                srv_repl_batch_done(&p->q, &p->slots[j].batch, 1, 0, now);
                srv_repl_batch_free(&p->slots[j].batch);
            }
            srv_repl_free(&p->q);
        }
        if (p->ev_retry)
            event_free(p->ev_retry);
        free(p->url);
        free(p->base);
        free(p->zone);
    }
    free(cl->nodes);
    struct event *evs[] = {cl->ev_poll, cl->ev_sync, cl->ev_pump};
    for (size_t i = 0; i < 3; i++)
        if (evs[i])
            event_free(evs[i]);
    srv_boot_reader_free(cl->boot_reader);
    artemisi_buf_free(&cl->scratch);
    free(cl);
    srv->cluster = NULL;
}

/* ---- metrics ------------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void per_peer(artemisi_buf_t *o, srv_cluster_t *cl, const char *name, const char *type,
                     const char *help, int which)
{
    artemisi_buf_appendf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        const srv_repl_stats_t *s = &p->q.stats;
        uint64_t v = 0;
        switch (which) {
        case 0:
            v = srv_repl_depth(&p->q);
            break;
        case 1:
            v = p->n_inflight;
            break;
        case 2:
            v = s->batches;
            break;
        case 3:
            v = s->sent;
            break;
        case 4:
            v = s->failed_batches;
            break;
        case 5:
            v = s->coalesced;
            break;
        case 6:
            v = s->requeued;
            break;
        case 7:
            v = s->enqueued;
            break;
        case 8:
            v = p->polls_failed;
            break;
        default:
            break;
        }
        artemisi_buf_appends(o, name);
        artemisi_buf_appends(o, "{peer=");
        artemisi_json_str(o, p->url);
        artemisi_buf_appendf(o, "} %llu\n", (unsigned long long)v);
    }
}

void srv_cluster_metrics(srv_server_t *srv, artemisi_buf_t *o)
{
    artemisi_buf_appendf(o,
                         "# HELP artemis_cluster_node_up 1 once this node is up (bootstrapped).\n"
                         "# TYPE artemis_cluster_node_up gauge\nartemis_cluster_node_up %d\n",
                         srv->ready && !srv->draining);
    srv_cluster_t *cl = srv->cluster;
    if (!cl)
        return;
    artemisi_buf_appendf(o,
                         "# HELP artemis_cluster_bootstrap_seconds Time of the bootstrap copy.\n"
                         "# TYPE artemis_cluster_bootstrap_seconds gauge\n"
                         "artemis_cluster_bootstrap_seconds %.3f\n"
                         "# HELP artemis_cluster_bootstrap_instances Instances imported.\n"
                         "# TYPE artemis_cluster_bootstrap_instances gauge\n"
                         "artemis_cluster_bootstrap_instances %zu\n",
                         (double)cl->boot_ms / 1000.0, cl->boot_instances);
    artemisi_buf_appends(o, "# HELP artemis_cluster_peer_status Peer status from polling (1 for "
                            "the current one).\n# TYPE artemis_cluster_peer_status gauge\n");
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        for (int s = 0; s < 4; s++) {
            artemisi_buf_appends(o, "artemis_cluster_peer_status{peer=");
            artemisi_json_str(o, p->url);
            artemisi_buf_appends(o, ",zone=");
            artemisi_json_str(o, p->zone);
            artemisi_buf_appendf(o, ",status=\"%s\"} %d\n", ps_names[s], p->status == s);
        }
    }
    per_peer(o, cl, "artemis_replication_queue_depth", "gauge", "Writes waiting for a peer.", 0);
    per_peer(o, cl, "artemis_replication_inflight", "gauge", "Batches in flight to a peer.", 1);
    per_peer(o, cl, "artemis_replication_batches_total", "counter", "Batches a peer accepted.", 2);
    per_peer(o, cl, "artemis_replication_instances_total", "counter",
             "Instance writes a peer accepted.", 3);
    per_peer(o, cl, "artemis_replication_failures_total", "counter",
             "Batches that failed (transport, HTTP or fail status).", 4);
    per_peer(o, cl, "artemis_replication_coalesced_total", "counter",
             "Writes merged into a queued write of the same instance.", 5);
    per_peer(o, cl, "artemis_replication_requeued_total", "counter", "Writes queued again.", 6);
    per_peer(o, cl, "artemis_replication_enqueued_total", "counter", "Writes queued.", 7);
    per_peer(o, cl, "artemis_cluster_poll_failures_total", "counter", "Failed peer polls.", 8);
    artemisi_buf_appends(o, "# HELP artemis_replication_dropped_total Writes dropped, by reason.\n"
                            "# TYPE artemis_replication_dropped_total counter\n");
    static const char *const why[] = {"overflow", "expired", "permanent"};
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self)
            continue;
        uint64_t v[3] = {p->q.stats.dropped_overflow, p->q.stats.dropped_expired,
                         p->q.stats.dropped_permanent};
        for (int r = 0; r < 3; r++) {
            artemisi_buf_appends(o, "artemis_replication_dropped_total{peer=");
            artemisi_json_str(o, p->url);
            artemisi_buf_appendf(o, ",reason=\"%s\"} %llu\n", why[r], (unsigned long long)v[r]);
        }
    }
    artemisi_buf_appends(o, "# HELP artemis_replication_lag_seconds Write accepted here to peer "
                            "answer, over the last 4096 writes.\n"
                            "# TYPE artemis_replication_lag_seconds summary\n");
    for (size_t i = 0; i < cl->n_nodes; i++) {
        srv_peer_t *p = &cl->nodes[i];
        if (p->is_self || p->lag_n == 0)
            continue;
        int64_t *tmp = malloc(p->lag_n * sizeof(int64_t));
        if (!tmp)
            continue;
        memcpy(tmp, p->lag_us, p->lag_n * sizeof(int64_t));
        qsort(tmp, p->lag_n, sizeof(int64_t), cmp_i64);
        static const double qs[] = {0.5, 0.9, 0.99, 1.0};
        for (int k = 0; k < 4; k++) {
            size_t idx = (size_t)(qs[k] * (double)(p->lag_n - 1));
            artemisi_buf_appends(o, "artemis_replication_lag_seconds{peer=");
            artemisi_json_str(o, p->url);
            artemisi_buf_appendf(o, ",quantile=\"%g\"} %.6f\n", qs[k], (double)tmp[idx] / 1e6);
        }
        free(tmp);
    }
}

/* ---- this node as the wire describes it ------------------------------------------------- */

void srv_node_json(srv_server_t *srv, artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "{\"url\":");
    artemisi_json_str(out, srv->node_url);
    artemisi_buf_appends(out, ",\"zone\":{\"metadata\":null,\"regionId\":");
    artemisi_json_str(out, srv->cfg.region_id);
    artemisi_buf_appends(out, ",\"zoneId\":");
    artemisi_json_str(out, srv->cfg.zone_id);
    artemisi_buf_appends(out, "}}");
}

void srv_node_status_text(srv_server_t *srv, artemisi_buf_t *out)
{
    artemisi_buf_appends(out, "{ node: ");
    artemisi_buf_append_lower(out, srv->cfg.region_id);
    artemisi_buf_appendc(out, '/');
    artemisi_buf_append_lower(out, srv->cfg.zone_id);
    artemisi_buf_appendc(out, '/');
    artemisi_buf_append_lower(out, srv->node_url);
    const char *st = srv_cluster_local_status(srv);
    const char *can = !strcmp(st, "up") ? "true" : !strcmp(st, "down") ? "false" : "null";
    artemisi_buf_appendf(out, ", status: %s, canServiceRegistry: %s, canServiceDiscovery: %s }", st,
                         can, can);
}
