/*
 * The Artemis client: self-registration with auto-heartbeat, and discovery with a local
 * cache and a WebSocket watch.
 *
 * A artemis_client_t in threaded mode may be shared by all threads. In external-loop mode
 * it belongs to its loop thread (except the MT-safe calls marked so).
 *
 * Threads and callbacks: in threaded mode the SDK runs one background thread with its own
 * event loop; every callback (registration state, watch, log) runs on that thread. In
 * external-loop mode (artemis/adapters/libevent.h) everything runs on the application's
 * loop thread inside event_base_dispatch().
 */
#ifndef ARTEMIS_CLIENT_H
#define ARTEMIS_CLIENT_H

#include <stdint.h>

#include "artemis/config.h"
#include "artemis/error.h"
#include "artemis/export.h"
#include "artemis/service.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
typedef struct artemis_client artemis_client_t;

typedef enum artemis_reg_state {
    ARTEMIS_REG_PENDING = 0,     /* not yet confirmed by a server */
    ARTEMIS_REG_REGISTERED = 1,  /* a server holds a live lease */
    ARTEMIS_REG_FAILING = 2,     /* the last attempt failed; retrying with backoff */
    ARTEMIS_REG_UNREGISTERED = 3 /* deregistered (or never registered) */
} artemis_reg_state_t;

/* Registration state change of one instance. Strings borrowed for the call. */
typedef void (*artemis_reg_cb)(void *userdata, const char *service_id, const char *instance_id,
                               artemis_reg_state_t state, artemis_err_t last_error);
/* The cached view of a watched service changed. svc is borrowed for the call (take
 * artemis_service_ref() to keep it). */
typedef void (*artemis_watch_cb)(void *userdata, const char *service_id, artemis_service_t *svc);

/* New client from cfg (copied; cfg may be freed afterwards). Nothing runs until
 * artemis_client_start(). Returns NULL with *err filled on failure. Thread-safety: handle. */
ARTEMIS_EXPORT artemis_client_t *artemis_client_new(const artemis_config_t *cfg,
                                                    artemis_error_t *err);
/* External-loop mode: run on the application's libevent base (use the adapter
 * artemis_libevent_attach()). Must be called before start. loop. */
ARTEMIS_EXPORT artemis_err_t artemis_client_set_event_base(artemis_client_t *c,
                                                           struct event_base *base);
/* Callbacks; set before start. handle. */
ARTEMIS_EXPORT artemis_err_t artemis_client_set_registration_cb(artemis_client_t *c,
                                                                artemis_reg_cb cb, void *userdata);
/* Start: threaded mode starts the SDK thread; external mode schedules work on the base.
 * Loads disk snapshots if a cache dir is set. no-callback. */
ARTEMIS_EXPORT artemis_err_t artemis_client_start(artemis_client_t *c, artemis_error_t *err);
/* Deregister every instance (best effort within timeout_ms), close connections, stop the
 * thread. Idempotent. Threaded mode: blocks until done; no-callback. External-loop mode:
 * only begins (allowed inside callbacks); keep dispatching the base for up to timeout_ms so
 * the deregistration can finish before artemis_client_free(). */
ARTEMIS_EXPORT artemis_err_t artemis_client_stop(artemis_client_t *c, int64_t timeout_ms);
/* Stop (with the request timeout) if needed, then free. NULL is a no-op. no-callback. */
ARTEMIS_EXPORT void artemis_client_free(artemis_client_t *c);

/* Register an instance (copied) and keep it alive: heartbeats every interval over the
 * registry WebSocket, HTTP heartbeat when the socket is down, re-register when a server
 * does not know it, failover across servers. Returns at once; progress is reported through
 * the registration callback and artemis_client_registration_state(). MT-safe (threaded). */
ARTEMIS_EXPORT artemis_err_t artemis_client_register(artemis_client_t *c,
                                                     const artemis_instance_t *inst,
                                                     artemis_error_t *err);
/* Stop heartbeating an instance and unregister it. MT-safe (threaded). */
ARTEMIS_EXPORT artemis_err_t artemis_client_deregister(artemis_client_t *c, const char *service_id,
                                                       const char *instance_id,
                                                       artemis_error_t *err);
/* Current state of one registered instance. MT-safe. */
ARTEMIS_EXPORT artemis_reg_state_t artemis_client_registration_state(artemis_client_t *c,
                                                                     const char *service_id,
                                                                     const char *instance_id);

/* Discover a service: the cached view if there is one, else a lookup that waits up to
 * timeout_ms (threaded mode; in external-loop mode it does not wait and returns
 * ARTEMIS_ERR_NOT_FOUND while the first lookup is in flight). The service is then watched
 * and kept fresh. *out is a new reference (artemis_service_unref). When no server can be
 * reached but a cached or disk view exists, that view is returned (check
 * artemis_service_is_stale). MT-safe (threaded), no-callback. */
ARTEMIS_EXPORT artemis_err_t artemis_client_discover(artemis_client_t *c, const char *service_id,
                                                     int64_t timeout_ms, artemis_service_t **out,
                                                     artemis_error_t *err);
/* The cached view, without I/O, locks held only to take a reference, no allocation.
 * NULL if the service is not cached. New reference. MT-safe. */
ARTEMIS_EXPORT artemis_service_t *artemis_client_get_cached(artemis_client_t *c,
                                                            const char *service_id);
/* Watch a service: cb runs after every change of its cached view (and once with the
 * current view if one exists). Implies discovery. MT-safe (threaded). */
ARTEMIS_EXPORT artemis_err_t artemis_client_watch(artemis_client_t *c, const char *service_id,
                                                  artemis_watch_cb cb, void *userdata,
                                                  artemis_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
