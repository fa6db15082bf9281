/*
 * artemis-sidecar: registers a co-located app with artemis-server through libartemis,
 * health-checks it, and serves discovery on localhost as DNS (UDP+TCP) and HTTP.
 * One thread, one libevent base for everything. systemd: READY=1 once the listeners are up,
 * STOPPING=1 on SIGTERM, WATCHDOG=1 from the loop when WatchdogSec= is set.
 * Exit: 0 after SIGTERM/SIGINT (the app deregistered first), 2 on a configuration error,
 * 1 when startup fails (a port in use, ...).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "agent.h"

typedef struct main_state {
    agent_t *a;
    struct event_base *base;
    struct event *ev_term, *ev_int, *ev_watchdog, *ev_exit;
    int64_t exit_deadline;
} main_state_t;

static void exit_check_cb(evutil_socket_t fd, short what, void *arg)
{
    main_state_t *m = arg;
    (void)fd;
    (void)what;
    /* Done when nothing but this timer is left (the SDK's deregistration finished), or at
     * the deadline. */
    if (event_base_get_num_events(m->base, EVENT_BASE_COUNT_ADDED) <= 1 ||
        agent_mono_ms() >= m->exit_deadline)
        event_base_loopbreak(m->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    main_state_t *m = arg;
    (void)what;
    if (m->a->stopping)
        return;
    agent_log(AGENT_LOG_INFO, "%s: deregistering and exiting",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
    sd_notify(0, "STOPPING=1\nSTATUS=deregistering");
    event_del(m->ev_term);
    event_del(m->ev_int);
    if (m->ev_watchdog)
        event_del(m->ev_watchdog);
    agent_begin_stop(m->a);
    m->exit_deadline = agent_mono_ms() + AGENT_STOP_TIMEOUT_MS + 500;
    m->ev_exit = event_new(m->base, -1, EV_PERSIST, exit_check_cb, m);
    struct timeval tv = {0, 20000};
    if (!m->ev_exit || event_add(m->ev_exit, &tv) != 0)
        event_base_loopexit(m->base, NULL);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
}

int main(int argc, char **argv)
{
    agent_config_t cfg;
    char err[600];
    err[0] = 0;
    const char *dbg = getenv("ARTEMIS_DEBUG");
    if (dbg && *dbg && strcmp(dbg, "0"))
        agent_log_level = AGENT_LOG_DEBUG;
    if (agent_config_init(&cfg) != 0) {
        fprintf(stderr, "artemis-sidecar: out of memory\n");
        return 1;
    }
    int rc = agent_config_from_args(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc == 1) {
        agent_config_free(&cfg);
        return 0;
    }
    if (rc != 0 || agent_config_finish(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "artemis-sidecar: config: %s\n", err);
        sd_notifyf(0, "STATUS=config error: %s", err);
        agent_config_free(&cfg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    main_state_t m;
    memset(&m, 0, sizeof(m));
    m.base = event_base_new();
    if (!m.base) {
        fprintf(stderr, "artemis-sidecar: cannot create the event loop\n");
        agent_config_free(&cfg);
        return 1;
    }
    m.a = agent_new(&cfg, m.base, err, sizeof(err));
    int status = 1;
    if (!m.a)
        goto fail;
    m.a->dns = agent_dns_server_new(m.a, cfg.dns_listen, err, sizeof(err));
    if (!m.a->dns || agent_http_start(m.a, err, sizeof(err)) != 0 ||
        agent_start(m.a, err, sizeof(err)) != 0)
        goto fail;
    m.ev_term = evsignal_new(m.base, SIGTERM, on_signal, &m);
    m.ev_int = evsignal_new(m.base, SIGINT, on_signal, &m);
    if (!m.ev_term || !m.ev_int || event_add(m.ev_term, NULL) || event_add(m.ev_int, NULL)) {
        snprintf(err, sizeof(err), "cannot install signal handlers");
        goto fail;
    }
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
        m.ev_watchdog = event_new(m.base, -1, EV_PERSIST, watchdog_cb, &m);
        struct timeval tv = {(time_t)(wd_usec / 2 / 1000000), (suseconds_t)(wd_usec / 2 % 1000000)};
        if (m.ev_watchdog)
            event_add(m.ev_watchdog, &tv);
    }
    agent_log(AGENT_LOG_INFO, "%s/%s -> %s; DNS %s (domain %s), HTTP %s", cfg.service_id,
              cfg.instance_id, cfg.server, cfg.dns_listen, cfg.dns_domain, cfg.http_listen);
    sd_notifyf(0, "READY=1\nSTATUS=serving DNS on %s, HTTP on %s for %s", cfg.dns_listen,
               cfg.http_listen, cfg.service_id);
    event_base_dispatch(m.base);
    status = 0;
    goto out;
fail:
    fprintf(stderr, "artemis-sidecar: %s\n", err);
    sd_notifyf(0, "STATUS=startup failed: %s", err);
out:
    if (m.ev_exit)
        event_free(m.ev_exit);
    if (m.ev_watchdog)
        event_free(m.ev_watchdog);
    if (m.ev_term)
        event_free(m.ev_term);
    if (m.ev_int)
        event_free(m.ev_int);
    agent_free(m.a);
    /* Run libevent's deferred finalizers (bufferevent_free queues the real free). */
    for (int i = 0; i < 4; i++)
        event_base_loop(m.base, EVLOOP_NONBLOCK);
    event_base_free(m.base);
    agent_config_free(&cfg);
    return status;
}
