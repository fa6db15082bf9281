/*
 * Internal definition of artemis_client_t, shared by client.c (public API, commands, the two
 * drivers), reg_client.c (registration and heartbeats) and disc_client.c (discovery, watch).
 *
 * One core, two drivers: the core always runs on a libevent event_base. In threaded mode
 * that base is private and dispatched by the SDK thread; in external-loop mode it is the
 * application's. Application threads never touch core state directly: public calls become
 * commands on a mutex-protected queue, and a pipe wakes the loop (libevent 2.1 bases are
 * not thread-safe unless evthread_use_pthreads ran before they were made, which we cannot
 * require of an application). Reads of the cache and of registration states are MT-safe
 * through short mutex sections.
 */
#ifndef ARTEMIS_SDK_CLIENT_INT_H
#define ARTEMIS_SDK_CLIENT_INT_H

#include <pthread.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "artemis/client.h"
#include "buf.h"
#include "cache.h"
#include "config_int.h"
#include "error_int.h"
#include "http.h"
#include "log_int.h"
#include "model.h"
#include "reconnect.h"
#include "wsclient.h"

/* A server list with a cursor: the active entry is used until it fails. */
typedef struct srvlist {
    char **urls; /* normalised base URLs, no trailing '/' */
    size_t n;
    size_t cur;
} srvlist_t;

typedef struct reg_entry {
    artemisi_instance_t *inst; /* packed */
    char *key;                 /* InstanceKey */
    artemis_reg_state_t state;
    artemis_err_t last_err;
    int inflight; /* a register.json carrying this instance is in flight */
    /* hb_seq when a server last confirmed the registration: the answer to a heartbeat with a
     * number up to this one was sent before it, and its "data-not-found" is stale. */
    uint64_t confirmed_seq;
} reg_entry_t;

typedef struct watcher {
    artemis_watch_cb cb;
    void *ud;
    struct watcher *next;
} watcher_t;

typedef struct watched {
    char *id;
    watcher_t *watchers;
    int fetched;     /* a lookup has answered at least once */
    int lookup_busy; /* a lookup for it alone is in flight */
    int subscribed;  /* subscription frame sent on the current discovery socket */
    /* Pushes received for it, and that count when the latest lookup of it was sent: a lookup
     * answer sent before a push may be older than the view the push left (disc_client.c). */
    uint64_t push_gen, sent_gen;
    int skipped; /* lookup answers set aside in a row because a push overtook them */
    struct watched *next;
} watched_t;

/* A thread waiting for a command's completion. */
typedef struct waiter {
    pthread_cond_t cond;
    int done;
    artemis_err_t rc;
    artemis_service_t *svc;
    artemis_error_t detail;
} waiter_t;

typedef enum { CMD_REGISTER, CMD_DEREGISTER, CMD_DISCOVER, CMD_WATCH, CMD_STOP } cmd_type_t;

typedef struct cmd {
    cmd_type_t type;
    artemisi_instance_t *inst; /* CMD_REGISTER (packed, owned by the command) */
    char *a, *b;               /* ids */
    artemis_watch_cb cb;
    void *ud;
    int64_t timeout_ms;
    waiter_t *waiter; /* NULL: fire and forget */
    struct cmd *next;
} cmd_t;

typedef struct discover_wait {
    char *id;
    waiter_t *waiter;
    struct event *timer;
    struct artemis_client *c;
    struct discover_wait *next;
} discover_wait_t;

struct artemis_client {
    artemis_config_t *cfg;
    artemisi_logger_t log;
    artemis_reg_cb reg_cb;
    void *reg_ud;

    /* loop and driver */
    struct event_base *base;
    int own_base;
    pthread_t thread;
    int thread_running;
    int wake_fd[2];
    struct event *ev_wake;
    pthread_mutex_t lock; /* cmd queue, reg states, stop flags */
    cmd_t *cmds, *cmds_tail;
    int started, stopping, stopped, stop_begun, in_callback; /* under lock (in_callback: loop) */
    int loop_stopping;                                       /* loop thread only */
    int64_t stop_timeout_ms;
    struct event *ev_stop_deadline;

    artemisi_http_t *http;
    /* wss:// sockets: made on the loop thread at the first https:// connect, freed there in
     * stop_finish (or in artemis_client_free once the thread is gone). */
    struct ssl_ctx_st *tls_ctx;
    int tls_ctx_logged;  /* the reason it could not be made was logged (once, not per retry) */
    srvlist_t seeds;     /* configured */
    srvlist_t reg_nodes; /* from up-registry-nodes.json, may be empty */
    srvlist_t disc_nodes;

    /* registry */
    reg_entry_t *regs;
    size_t n_regs, cap_regs;
    artemisi_wsc_t *hb_ws;
    artemisi_reconnect_t hb_rc; /* hb_ws's server, backoff, next attempt, last pong */
    int64_t last_hb_answer;
    struct event *ev_heartbeat;
    struct event *ev_reg_retry;
    void (*unreg_done)(struct artemis_client *);
    int heartbeat_inflight;
    /* Heartbeats are numbered as they are sent (hb_seq). Answers on the socket come in order:
     * the oldest unanswered one (hb_ws_first, hb_ws_pending of them since it opened); an HTTP
     * heartbeat's number is hb_http_seq. hb_answer_seq: the one being handled. */
    uint64_t hb_seq, hb_ws_first, hb_http_seq, hb_answer_seq;
    uint64_t hb_ws_pending;
    int64_t reg_backoff_ms;
    int unregister_inflight;

    /* discovery */
    artemisi_cache_t *cache;
    watched_t *watched;
    artemisi_wsc_t *disc_ws;
    artemisi_reconnect_t disc_rc; /* disc_ws's server, backoff, next attempt, last pong */
    struct event *ev_poll;
    struct event *ev_tick; /* 1 s housekeeping: reconnects, pings */
    struct event *ev_nodes;
    discover_wait_t *dwaits;
    struct lookup_req *lookups; /* in flight */
    struct nodes_req {
        struct artemis_client *c;
        int registry;
        int busy;
    } nodes_req[2];
};

/* ---- client.c ---- */
const char *artemisi_client_server(struct artemis_client *c, int registry);
/* The server at `base` failed: move on, unless another failure already did (base NULL:
 * whatever is current). */
void artemisi_client_server_failed(struct artemis_client *c, int registry, const char *base);
/* The heartbeat (registry 1) or watch (registry 0) socket closed with code: log it, free the
 * socket, back off (reconnect.h), and fail its server over if the connection broke. */
void artemisi_client_ws_closed(struct artemis_client *c, int registry, int code,
                               const char *reason);
/* Once a tick for the heartbeat (registry 1) or watch (registry 0) socket: call connect when
 * the backoff allows a new attempt; ping the socket if it is open, or close it if it stopped
 * answering pings. */
void artemisi_client_ws_tick(struct artemis_client *c, int registry, int64_t now,
                             void (*connect)(struct artemis_client *c));
/* Loop thread: open the heartbeat or watch socket to base + path (https:// bases go over
 * TLS with the configured CA and client certificate). NULL when it could not even start
 * (OOM, or no TLS context: the reason is logged); the next tick tries again. */
artemisi_wsc_t *artemisi_client_ws_connect(struct artemis_client *c, const char *base,
                                           const char *path, size_t max_message,
                                           const artemisi_wsc_callbacks_t *cb);
/* 1 if the caller runs inside one of this client's callbacks (so must not block). */
int artemisi_client_in_callback(struct artemis_client *c);
void artemisi_client_url(struct artemis_client *c, int registry, const char *path,
                         artemisi_buf_t *out);
int64_t artemisi_jitter(int64_t ms);
void artemisi_waiter_finish(struct artemis_client *c, waiter_t *w, artemis_err_t rc,
                            artemis_service_t *svc);

/* ---- reg_client.c (loop thread) ---- */
void artemisi_reg_start(struct artemis_client *c);
void artemisi_reg_add(struct artemis_client *c, artemisi_instance_t *inst);
void artemisi_reg_remove(struct artemis_client *c, const char *service_id, const char *instance_id);
/* Unregister everything; done_cb runs when the request finished (or failed). */
void artemisi_reg_unregister_all(struct artemis_client *c, void (*done)(struct artemis_client *));
void artemisi_reg_tick(struct artemis_client *c, int64_t now);
void artemisi_reg_shutdown(struct artemis_client *c);
void artemisi_reg_heartbeat_now(struct artemis_client *c);

/* ---- disc_client.c (loop thread) ---- */
void artemisi_disc_start(struct artemis_client *c);
void artemisi_disc_discover(struct artemis_client *c, const char *service_id, waiter_t *w,
                            int64_t timeout_ms);
void artemisi_disc_watch(struct artemis_client *c, const char *service_id, artemis_watch_cb cb,
                         void *ud);
void artemisi_disc_tick(struct artemis_client *c, int64_t now);
void artemisi_disc_shutdown(struct artemis_client *c);
void artemisi_nodes_refresh(struct artemis_client *c);

#endif
