/*
 * The server's event loop: listeners, timers (lease wheel, self-preservation, session
 * sweep, systemd watchdog), signals and systemd notification. main.c only parses the
 * command line and calls srv_run().
 *
 * Timers:
 *   tick   (clean-task.run-interval, 100 ms) advances the lease wheel with a work budget;
 *          if the budget ran out it re-arms at once, so eviction of many leases is spread
 *          over loop turns instead of stalling requests (the latency budget of docs/design.md);
 *   second re-evaluates self-preservation and sweeps WebSocket sessions;
 *   watchdog pings systemd at half of WatchdogSec from the loop itself, so a wedged loop
 *          stops pinging.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "auth.h"
#include "clock.h"
#include "fileread.h"
#include "log.h"
#include "tls.h"
#include "cluster.h"
#include "http_conn.h"
#include "mgmt.h"
#include "server.h"
#include "ws_session.h"
#include "artemis/version.h"

/* Expiry work per loop turn is bounded by time, not by a count, so it adapts to the
 * machine: the wheel is advanced in slices of TICK_SLICE leases until TICK_MAX_US have
 * passed, then the loop serves pending requests and the tick re-arms at once. Evicting a
 * lease costs ~1,600 instructions (callgrind, bench/README.md), so 1 ms holds ~1,000-3,000
 * evictions: requests wait at most ~1 ms behind a mass expiry, and 100,000 simultaneous
 * expiries still clear in well under a second on an idle core. */
#define TICK_SLICE  256
#define TICK_MAX_US 1000

#define MMAP_THRESHOLD (128 * 1024) /* glibc's default, kept fixed (see srv_run) */
#define TRIM_THRESHOLD (2 * 1024 * 1024)

int64_t srv_now_mono(void)
{
    return artemisi_mono_ms();
}

int64_t srv_now_wall(void)
{
    return artemisi_wall_ms();
}

int64_t srv_lease_now(srv_server_t *srv)
{
    return srv_stallclock_read(&srv->lease_clock, srv_now_mono());
}

static void selfpres_config(const srv_config_t *c, srv_selfpres_config_t *sc)
{
    srv_selfpres_config_init(sc);
    sc->enabled = c->safe_checker_enabled;
    sc->window_ms = c->safe_checker_time_window_ms;
    sc->percentage_threshold = (int)c->safe_checker_percentage_threshold;
    sc->min_expected = (long)c->safe_checker_max_count_threshold;
    sc->max_protection_ms = c->safe_checker_max_protection_ms;
    sc->heartbeat_interval_ms = c->safe_checker_heartbeat_interval_ms;
}

#define CLIENT_ADDRESSES 16384 /* address entries for fairness; beyond, one shared entry */

static void clients_config(const srv_config_t *c, srv_clients_config_t *cc)
{
    cc->per_conn_limit = (long)c->rl_per_connection_limit;
    cc->per_addr_limit = (long)c->rl_per_address_limit;
    cc->max_addrs = CLIENT_ADDRESSES;
}

/* One row per limiter: its configuration and the key prefix that names it in errors. */
static const struct {
    size_t cfg_off;
    const char *name;
} limiters[SRV_RL_COUNT] = {
    [SRV_RL_REGISTRY] = {offsetof(srv_config_t, rl_registry), "artemis.service.registry"},
    [SRV_RL_REPLICATION] = {offsetof(srv_config_t, rl_replication),
                            "artemis.service.registry.replication"},
    [SRV_RL_CLUSTER] = {offsetof(srv_config_t, rl_cluster), "artemis.service.cluster"},
    [SRV_RL_STATUS] = {offsetof(srv_config_t, rl_status), "artemis.service.status"},
    [SRV_RL_DISCOVERY] = {offsetof(srv_config_t, rl_discovery), "artemis.service.discovery"},
};

static const srv_rate_limiter_config_t *limiter_config(const srv_config_t *c, int i)
{
    return (const srv_rate_limiter_config_t *)(const void *)((const char *)c + limiters[i].cfg_off);
}

static srv_ratelimit_t *make_rl(const srv_rate_limiter_config_t *rc, const char *name)
{
    char err[256];
    srv_ratelimit_t *rl = srv_ratelimit_new(rc->enabled, (long)rc->default_rate_limit,
                                            rc->rate_limit_map, err, sizeof(err));
    if (!rl)
        srv_log(SRV_LOG_ERROR, "%s.rate-limiter.rate-limit-map: %s", name, err);
    return rl;
}

static int configure_rl(srv_ratelimit_t *rl, const srv_rate_limiter_config_t *rc, const char *name)
{
    char err[256];
    if (srv_ratelimit_configure(rl, rc->enabled, (long)rc->default_rate_limit, rc->rate_limit_map,
                                err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "%s.rate-limiter.rate-limit-map: %s", name, err);
        return -1;
    }
    return 0;
}

/* ---- timers ------------------------------------------------------------------------------- */

static void selfpres_eval(srv_server_t *srv, int64_t now);

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_server_t *srv = arg;
    (void)fd;
    (void)what;
    uint64_t stalls = srv->lease_clock.stalls;
    int64_t now = srv_lease_now(srv), wall = srv_now_wall();
    if (srv->lease_clock.stalls != stalls) {
        /* The loop was stalled: the lease clock took the stall out, and the protection
         * decision is brought up to date before any expiry runs on it. */
        srv_log(SRV_LOG_WARN, "event loop stalled for %.1f s: leases do not age for it",
                (double)srv->lease_clock.longest_ms / 1000.0);
        selfpres_eval(srv, srv_now_mono());
    }
    int allow =
        srv_selfpres_allow_expiry(&srv->selfpres) && srv->ready; /* none until bootstrapped */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (srv_registry_tick(srv->registry, now, wall, allow, TICK_SLICE) < TICK_SLICE)
            return; /* caught up */
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 >= TICK_MAX_US)
            break;
    }
    /* More to do: come back right after the pending I/O has been served. A separate
     * one-shot event: activating the persistent timer by hand makes libevent 2.1 reschedule
     * it from its old deadline, which stalled expiry for seconds (seen in a 100k expiry). */
    event_active(srv->ev_tick_more, EV_TIMEOUT, 0);
}

/* The baseline is every lease not evicted, the expired ones that protection keeps included:
 * counting only the unexpired ones made the baseline fall to nothing as soon as protection
 * kept anything, which switched protection off and evicted everything it had kept. */
static void selfpres_eval(srv_server_t *srv, int64_t now)
{
    size_t leases = srv_registry_lease_count(srv->registry);
    int was = srv_selfpres_active(&srv->selfpres);
    srv_selfpres_tick(&srv->selfpres, now, leases);
    int is = srv_selfpres_active(&srv->selfpres);
    if (is != was)
        srv_log(is ? SRV_LOG_WARN : SRV_LOG_INFO,
                "self-preservation %s: %ld renewals in the window, %ld expected from %zu leases",
                is ? "ON (expired leases are kept)" : "off",
                srv_selfpres_window_count(&srv->selfpres, now),
                srv_selfpres_expected(&srv->selfpres), leases);
}

static void second_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_server_t *srv = arg;
    (void)fd;
    (void)what;
    int64_t now = srv_now_mono();
    selfpres_eval(srv, now);
    srv_ws_sweep(srv, now);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
}

/* ---- signals ------------------------------------------------------------------------------- */

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    srv_server_t *srv = arg;
    (void)what;
    if (srv->draining) {
        event_base_loopexit(srv->base, NULL);
        return;
    }
    srv_log(SRV_LOG_INFO, "%s: draining and exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    sd_notify(0, "STOPPING=1");
    srv->draining = 1;
    /* Stop accepting, say goodbye to WebSocket clients, and give in-flight responses a
     * moment to flush before the loop exits. */
    srv_http_stop_listening(srv);
    srv_ws_close_all(srv);
    struct timeval tv = {0, 300000};
    event_base_loopexit(srv->base, &tv);
}

static void apply_reloadable(srv_server_t *srv)
{
    srv_config_t *c = &srv->cfg;
    srv_log_level = c->log_level;
    srv_registry_set_ttl(srv->registry, c->lease_ttl_ms, c->legacy_lease_ttl_ms);
    srv->lease_clock.threshold_ms = c->lease_stall_threshold_ms;
    srv_clients_config_t cc;
    clients_config(c, &cc);
    srv_clients_configure(srv->clients, &cc);
    srv_selfpres_config_t sc;
    selfpres_config(c, &sc);
    srv_selfpres_configure(&srv->selfpres, &sc, srv_now_mono());
    for (int i = 0; i < SRV_RL_COUNT; i++)
        configure_rl(srv->rl[i], limiter_config(c, i), limiters[i].name);
}

/*
 * Read and parse auth.tokens-file into srv->auth (docs/security.md "Access tokens"), and take
 * auth.open-scopes (validated by the config table). On failure srv->auth is unchanged and err
 * holds one line naming the key and the line, never a token. An empty key means no tokens:
 * every path is open as in Java Artemis.
 */
static int load_tokens(srv_server_t *srv, char *err, size_t errlen)
{
    const char *path = srv->cfg.auth_tokens_file;
    srv_auth_t *a = NULL;
    if (*path) {
        char *data = NULL;
        size_t len = 0;
        int en = 0, opened = 0, oom = 0;
        artemisi_read_t rr = artemisi_read_file(path, 1u << 20, 0, &data, &len, &en, &opened);
        if (rr != ARTEMISI_READ_OK) {
            snprintf(err, errlen, "auth.tokens-file: %s: %s", path,
                     rr == ARTEMISI_READ_ERRNO         ? strerror(en)
                     : rr == ARTEMISI_READ_NOT_REGULAR ? "not a regular file"
                     : rr == ARTEMISI_READ_TOO_BIG     ? "larger than 1 MiB"
                                                       : "changed while being read");
            return -1;
        }
        char why[256];
        a = srv_auth_parse(data, len, why, sizeof(why), &oom);
        explicit_bzero(data, len); /* the tokens in clear live no longer than the parse */
        free(data);
        if (!a) {
            snprintf(err, errlen, "auth.tokens-file: %s: %s", path, why);
            return -1;
        }
    }
    unsigned open = 0;
    srv_scopes_parse(srv->cfg.auth_open_scopes, strlen(srv->cfg.auth_open_scopes), &open);
    srv_auth_free(srv->auth);
    srv->auth = a;
    srv->auth_open = open;
    return 0;
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    srv_server_t *srv = arg;
    (void)sig;
    (void)what;
    char note[1024], err[512], status[700];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    if (srv_config_reload(&srv->cfg, NULL, note, sizeof(note), err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "SIGHUP: reload failed, keeping the old configuration: %s", err);
        snprintf(status, sizeof(status), "READY=1\nSTATUS=reload failed: %s", err);
        sd_notify(0, status);
        return;
    }
    apply_reloadable(srv);
    char auth_err[600];
    if (load_tokens(srv, auth_err, sizeof(auth_err)) != 0)
        srv_log(SRV_LOG_ERROR, "SIGHUP: keeping the old access tokens: %s", auth_err);
    if (srv_cluster_set_token(srv) != 0)
        srv_log(SRV_LOG_ERROR, "SIGHUP: out of memory: keeping the old cluster.token");
    srv_tls_reload(srv);
    if (*note)
        srv_log(SRV_LOG_WARN, "SIGHUP: not applied until restart: %s", note);
    srv_log(SRV_LOG_INFO, "SIGHUP: configuration reloaded");
    sd_notify(0, "READY=1\nSTATUS=reloaded");
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static void compute_urls(srv_server_t *srv)
{
    srv_config_node_url(&srv->cfg, srv->node_url, sizeof(srv->node_url));
    /* The path part of the node URL is a context path clients may prefix (protocol.md §0.3). */
    const char *p = strstr(srv->node_url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    srv->url_prefix[0] = '\0';
    if (p && strlen(p) > 1) {
        snprintf(srv->url_prefix, sizeof(srv->url_prefix), "%s", p);
        size_t n = strlen(srv->url_prefix);
        while (n > 0 && srv->url_prefix[n - 1] == '/')
            srv->url_prefix[--n] = '\0';
    }
}

/* systemd socket activation: the first passed stream socket, or -1. */
static int activation_fd(void)
{
    int n = sd_listen_fds(1);
    if (n < 1)
        return -1;
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0)
            return fd;
    return -1;
}

/* An event the loop cannot run without: failing to make one is out of memory. */
static struct event *must_event(struct event *ev)
{
    if (!ev)
        srv_oom();
    return ev;
}

/* The pure modules: registry, self-preservation, limiters, fairness, lease clock. Returns 0,
 * or 2 (a configuration error, logged). */
static int make_modules(srv_server_t *srv, const uint64_t seed[2])
{
    srv_ws_hub_init(srv, seed[0], seed[1]);
    srv_registry_config_t rc = {srv->cfg.lease_ttl_ms, srv->cfg.legacy_lease_ttl_ms,
                                srv->cfg.clean_interval_ms, (size_t)srv->cfg.change_log_capacity,
                                (size_t)srv->cfg.change_log_max_bytes};
    srv->registry = srv_registry_new(&rc, seed[0], seed[1], srv->start_wall, srv->start_mono);
    if (!srv->registry)
        srv_oom();
    srv_registry_set_change_cb(srv->registry, srv_ws_on_change, srv);
    srv_selfpres_config_t sc;
    selfpres_config(&srv->cfg, &sc);
    srv_selfpres_init(&srv->selfpres, &sc, srv->start_mono);
    int rl_failed = 0;
    for (int i = 0; i < SRV_RL_COUNT; i++)
        rl_failed |= !(srv->rl[i] = make_rl(limiter_config(&srv->cfg, i), limiters[i].name));
    srv_clients_config_t cc;
    clients_config(&srv->cfg, &cc);
    srv->clients = srv_clients_new(&cc, seed[0] ^ 3, seed[1]);
    srv_stallclock_init(&srv->lease_clock, srv->cfg.lease_stall_threshold_ms, srv->start_mono);
    return rl_failed ? 2 : 0;
}

/* Timers and signals on the loop (see the top of this file). */
static void add_events(srv_server_t *srv)
{
    int64_t tick = srv->cfg.clean_interval_ms;
    struct timeval tv_tick = {tick / 1000, (tick % 1000) * 1000};
    struct timeval tv_sec = {1, 0};
    srv->ev_tick = must_event(event_new(srv->base, -1, EV_PERSIST, tick_cb, srv));
    srv->ev_tick_more = must_event(event_new(srv->base, -1, 0, tick_cb, srv));
    srv->ev_second = must_event(event_new(srv->base, -1, EV_PERSIST, second_cb, srv));
    srv->ev_sigterm = must_event(evsignal_new(srv->base, SIGTERM, stop_cb, srv));
    srv->ev_sigint = must_event(evsignal_new(srv->base, SIGINT, stop_cb, srv));
    srv->ev_sighup = must_event(evsignal_new(srv->base, SIGHUP, hup_cb, srv));
    event_add(srv->ev_tick, &tv_tick);
    event_add(srv->ev_second, &tv_sec);
    event_add(srv->ev_sigterm, NULL);
    event_add(srv->ev_sigint, NULL);
    event_add(srv->ev_sighup, NULL);
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
        struct timeval tv_wd = {(time_t)(wd_usec / 2 / 1000000), (long)(wd_usec / 2 % 1000000)};
        srv->ev_watchdog = must_event(event_new(srv->base, -1, EV_PERSIST, watchdog_cb, srv));
        event_add(srv->ev_watchdog, &tv_wd);
    }
}

/* Everything srv_run made, in reverse; safe on a half-made server. */
static void teardown(srv_server_t *srv)
{
    srv_cluster_free(srv);
    srv_mgmt_stop(srv); /* its pending answers go out before the connections close */
    srv_http_close_all(srv);
    srv_ws_free_all(srv);
    srv_http_free(srv);
    struct event *evs[] = {srv->ev_tick_more, srv->ev_tick,   srv->ev_second, srv->ev_watchdog,
                           srv->ev_sigterm,   srv->ev_sigint, srv->ev_sighup};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (srv->base) {
        /* Run libevent's deferred finalizers (bufferevent_free queues the real free). */
        for (int i = 0; i < 4; i++)
            event_base_loop(srv->base, EVLOOP_NONBLOCK);
        event_base_free(srv->base);
    }
    for (int i = 0; i < SRV_RL_COUNT; i++)
        srv_ratelimit_free(srv->rl[i]);
    srv_tls_free(srv); /* after the connections: each SSL held its own reference anyway */
    srv_auth_free(srv->auth);
    srv_clients_free(srv->clients);
    srv_registry_free(srv->registry);
    srv_config_free(&srv->cfg);
    free(srv);
    libevent_global_shutdown();
}

int srv_run(srv_config_t *cfg)
{
    srv_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        srv_oom();
    srv->cfg = *cfg; /* takes ownership of the strings */
    memset(cfg, 0, sizeof(*cfg));
    srv_log_level = srv->cfg.log_level;
    /* Large buffers (a slow reader's queue, a pipelined flood's answers, a big lookup) get
     * their own mappings and go back to the system when freed. glibc otherwise raises its
     * mmap threshold after the first large free, serves later large buffers from the heap and
     * keeps that memory (after 15 s of 2-32 MB lookups: RSS 88.4 MB with the adjustment,
     * 73.9 MB without, from 41.7 MB; the rest is the per-service JSON caches the lookups
     * built -- docs/design.md). A fixed threshold turns that adjustment off. */
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    /* Fixing it also fixes the trim threshold at 128 KB, so the heap top was given back and
     * faulted in again between answers of ~33 KB: rare stalls of a millisecond or more. The
     * open-loop lookup p99 at 22,000/s (8 alternating runs) was 1,276 / 2,236 us for two
     * builds whose heaps differ only in the connection struct's size, 340 / 344 us with 2 MB. */
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    srv->start_wall = srv_now_wall();
    srv->start_mono = srv_now_mono();
    compute_urls(srv);
    signal(SIGPIPE, SIG_IGN);

    uint64_t seed[2] = {0, 0};
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        seed[0] = (uint64_t)srv->start_wall ^ ((uint64_t)getpid() << 32);
        seed[1] = (uint64_t)srv->start_mono * 0x9e3779b97f4a7c15ULL;
    }
    int rc_exit = make_modules(srv, seed);
    if (rc_exit)
        goto out;
    char auth_err[600];
    if (load_tokens(srv, auth_err, sizeof(auth_err)) != 0) {
        /* Coming up open when told to check tokens would expose every path. */
        fprintf(stderr, "artemis-server: %s\n", auth_err);
        sd_notifyf(0, "STATUS=%s", auth_err);
        rc_exit = 2;
        goto out;
    }
    char tls_err[600];
    if (srv_tls_init(srv, tls_err, sizeof(tls_err)) != 0) {
        /* One line naming the key; a node must not come up plain when told to serve TLS. */
        fprintf(stderr, "artemis-server: %s\n", tls_err);
        sd_notifyf(0, "STATUS=%s", tls_err);
        rc_exit = 2;
        goto out;
    }
    srv->base = event_base_new();
    if (!srv->base)
        srv_oom();
    char mg_err[512];
    if (srv_mgmt_start(srv, mg_err, sizeof(mg_err)) != 0) {
        /* Before listening: a node that cannot read its management state would serve
         * instances operators pulled out. */
        fprintf(stderr, "artemis-server: %s\n", mg_err);
        sd_notifyf(0, "STATUS=%s", mg_err);
        rc_exit = 2;
        goto out;
    }
    if (srv_http_listen(srv, activation_fd()) != 0) {
        srv_log(SRV_LOG_ERROR, "listen %s: %s", srv->cfg.listen,
                errno ? strerror(errno) : "cannot listen"); /* errno 0 would read "Success" */
        sd_notifyf(0, "STATUS=cannot listen on %s\nERRNO=%d", srv->cfg.listen, errno);
        rc_exit = 1;
        goto out;
    }
    add_events(srv);
    for (size_t i = 0; srv_config_ignored(&srv->cfg, i); i++)
        srv_log(SRV_LOG_INFO, "config: ignoring unsupported key %s",
                srv_config_ignored(&srv->cfg, i));
    if (srv_cluster_init(srv) != 0) { /* sets srv->ready: at once without peers */
        rc_exit = 1;
        goto out;
    }
    srv_log(SRV_LOG_INFO, "artemis-server %s listening on %s (region %s, zone %s, node %s)",
            ARTEMIS_VERSION_STRING, srv->cfg.listen, srv->cfg.region_id, srv->cfg.zone_id,
            srv->node_url);
    sd_notifyf(0, "READY=1\nSTATUS=serving on %s", srv->cfg.listen);
    event_base_dispatch(srv->base);
    srv_log(SRV_LOG_INFO, "stopped");
out:
    teardown(srv);
    return rc_exit;
}
