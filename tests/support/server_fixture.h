/*
 * A server without sockets for tests and fuzz targets that drive handlers and registry
 * requests directly: config defaults, a registry, self-preservation, the lease clock,
 * disabled rate limiters and the per-client table -- what srv_run builds before its loop,
 * minus the loop. Include in one file per program.
 */
#ifndef ARTEMIS_TESTS_SERVER_FIXTURE_H
#define ARTEMIS_TESTS_SERVER_FIXTURE_H

#include <stdlib.h>

#include "server.h"

static inline srv_server_t *fixture_server_new(void)
{
    srv_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        abort();
    srv_config_init(&srv->cfg);
    srv_registry_config_t rc = {20000, 90000, 100, 1000, 1 << 20};
    srv->registry = srv_registry_new(&rc, 1, 2, 1700000000000, srv_now_mono());
    srv_selfpres_config_t sc;
    srv_selfpres_config_init(&sc);
    srv_selfpres_init(&srv->selfpres, &sc, srv_now_mono());
    srv_stallclock_init(&srv->lease_clock, 1000, srv_now_mono());
    char err[128];
    for (int i = 0; i < SRV_RL_COUNT; i++)
        srv->rl[i] = srv_ratelimit_new(0, 100000, "", err, sizeof(err));
    srv_clients_config_t cc = {10000, 30000, 16};
    srv->clients = srv_clients_new(&cc, 1, 2);
    srv->ready = 1;
    return srv;
}

static inline void fixture_server_free(srv_server_t *srv)
{
    for (int i = 0; i < SRV_RL_COUNT; i++)
        srv_ratelimit_free(srv->rl[i]);
    srv_clients_free(srv->clients);
    srv_registry_free(srv->registry);
    srv_config_free(&srv->cfg);
    free(srv);
}

#endif
