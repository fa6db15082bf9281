/*
 * Header-only adapter: drive an artemis_client_t from the application's libevent loop
 * (hiredis adapters/libevent.h style). The application links libevent itself.
 *
 *   artemis_config_set_mode(cfg, ARTEMIS_MODE_EXTERNAL_LOOP);
 *   artemis_client_t *c = artemis_client_new(cfg, &err);
 *   artemis_libevent_attach(c, base);
 *   artemis_client_start(c, &err);
 *   event_base_dispatch(base);
 *
 * All callbacks then run on the loop thread; every call on c must come from that thread.
 */
#ifndef ARTEMIS_ADAPTERS_LIBEVENT_H
#define ARTEMIS_ADAPTERS_LIBEVENT_H

#include <event2/event.h>

#include "artemis/client.h"

static inline artemis_err_t artemis_libevent_attach(artemis_client_t *c, struct event_base *base)
{
    return artemis_client_set_event_base(c, base);
}

#endif
