/*
 * artemis-sidecar internals: the configuration (keys of docs/sidecar.md), the agent
 * that owns the event base, the libartemis client, the app's registration and health, the
 * per-service discovery state behind the DNS and HTTP endpoints, and the small amount of
 * shared plumbing (logging, waiters for a service's first answer, metrics counters).
 *
 * Everything runs on one thread: the agent's libevent base drives libartemis (external
 * loop mode), the health check, the DNS listeners (UDP and TCP) and the HTTP endpoint.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <artemis/artemis.h>

#include "dns.h"

struct event_base;
struct event;
struct evhttp;
struct evhttp_connection;

/* ---- configuration (config.c) -------------------------------------------------------------- */

typedef struct agent_kv {
    char *key;
    char *value;
} agent_kv_t;

typedef struct agent_config {
    char *server;
    char *region;
    char *zone;
    char *service_id;
    char *instance_id; /* NULL: hostname:port */
    char *ip;          /* NULL: first non-loopback IPv4 */
    int port;          /* 0: not set (required) */
    char *protocol;
    char *url;        /* NULL: http://IP:PORT/ */
    char *health_url; /* NULL or "": no active check */
    int64_t health_interval_ms;
    agent_kv_t *metadata;
    size_t n_metadata;
    char *dns_listen;
    char *dns_domain; /* lower case, no leading or trailing dot */
    uint32_t dns_ttl;
    int dns_allow_remote; /* dns.listen may be a non-loopback address */
    char *http_listen;
    int http_allow_remote; /* http.listen may be a non-loopback address */
    char *cache_dir;       /* NULL: no disk snapshot of the discovery cache */
    char *token;           /* access token for the SDK; a secret: never logged; NULL = none */
    char *tls_ca;          /* https:// servers: CA file, NULL: the system's store */
    char *tls_cert;        /* client certificate presented to the server, NULL: none */
    char *tls_key;         /* its key, NULL: in tls_cert */
} agent_config_t;

/* Defaults of every key (one table in config.c). 0 on success, -1 on OOM. */
int agent_config_init(agent_config_t *cfg);
void agent_config_free(agent_config_t *cfg);
/* Set one key (contract name, e.g. "app.port"; "app.metadata.K" adds metadata). 0 on
 * success; -1 with one line in err naming the key. */
int agent_config_set(agent_config_t *cfg, const char *key, const char *value, char *err,
                     size_t errlen);
/* Read a `key = value` file ('#' comments, blank lines). 0 / -1 with err. */
int agent_config_load_file(agent_config_t *cfg, const char *path, char *err, size_t errlen);
/* Environment: the ARTEMIS_SIDECAR_* variable of every key (e.g.
 * ARTEMIS_SIDECAR_APP_SERVICE_ID, ARTEMIS_SIDECAR_APP_METADATA="k1=v1,k2=v2"); any other
 * ARTEMIS_SIDECAR_* name is an error. 0 / -1 with err. */
int agent_config_load_env(agent_config_t *cfg, char *err, size_t errlen);
/* Full command line: defaults, then compatibility variables (ARTEMIS_CACHE_DIR), then
 * --config FILE, then the environment, then --key=value flags (the command line wins). Returns 0
 * ok, 1 when --help/--version was printed to out, -1 with err. */
int agent_config_from_args(agent_config_t *cfg, int argc, char **argv, FILE *out, char *err,
                           size_t errlen);
/* Check the required keys, cache_dir and the listen addresses (non-loopback only with
 * dns.allow_remote / http.allow_remote), and fill the derived defaults (instance id, ip, url). */
int agent_config_finish(agent_config_t *cfg, char *err, size_t errlen);
void agent_config_usage(FILE *out);
/* "host:port" / "[v6]:port" -> sockaddr. 0 / -1. */
int agent_parse_hostport(const char *s, void *ss, int *sslen);
/* 1 if the sockaddr is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), else 0:
 * 0.0.0.0 and :: are not loopback. */
int agent_addr_is_loopback(const void *sa);

/* ---- logging ------------------------------------------------------------------------------- */

enum { AGENT_LOG_DEBUG = 0, AGENT_LOG_INFO = 1, AGENT_LOG_WARN = 2, AGENT_LOG_ERROR = 3 };
void agent_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int agent_log_level;

/* ---- the agent (agent.c) ------------------------------------------------------------------- */

#define AGENT_MAX_SERVICES    4096 /* tracked (watched) services; more get SERVFAIL / 503 */
#define AGENT_MAX_WAITERS     4096 /* queries parked until a service's first answer */
#define AGENT_FIRST_WAIT_MS   1500 /* how long a first query waits for the SDK's answer */
#define AGENT_HEALTH_FALL     2    /* consecutive failed checks before unhealthy */
#define AGENT_HEALTH_RISE     1    /* consecutive good checks before healthy */
#define AGENT_STOP_TIMEOUT_MS 2000

typedef struct agent agent_t;
typedef struct agent_svc agent_svc_t;

/* A parked query: fn(arg, 0) once the service has a view or the wait timed out, or
 * fn(arg, 1) when cancelled (owner gone, shutdown): free arg, answer nothing. */
typedef void (*agent_wait_fn)(void *arg, int cancelled);

struct agent_svc {
    char *key;              /* lower-case service id */
    int known;              /* a view with at least one instance was seen */
    int have_view;          /* the SDK has answered at least once */
    artemis_service_t *svc; /* current view (reference) or NULL */
    uint64_t version;       /* bumped on every change */
    void *dns_answers;      /* its pre-encoded DNS answers (dns_cache.h owner list) */
    struct agent_svc *next; /* hash chain */
};

/* The slots of agent_metrics_t.dns_queries: the query types counted apart, then the rest. */
typedef enum {
    AGENT_QTYPE_A,
    AGENT_QTYPE_AAAA,
    AGENT_QTYPE_SRV,
    AGENT_QTYPE_SOA,
    AGENT_QTYPE_ANY,
    AGENT_QTYPE_OTHER,
    AGENT_QTYPE_SLOTS /* how many */
} agent_qtype_slot_t;

/* agent_metrics_t.dns_rcodes is indexed by the rcode itself (dns.h): NOERROR .. REFUSED. */
#define AGENT_DNS_RCODE_SLOTS (AGENT_DNS_REFUSED + 1)

typedef struct agent_metrics {
    uint64_t dns_queries[AGENT_QTYPE_SLOTS];    /* by agent_qtype_slot_t */
    uint64_t dns_rcodes[AGENT_DNS_RCODE_SLOTS]; /* by rcode (AGENT_DNS_NOERROR ...) */
    uint64_t dns_nodata;                        /* NOERROR with no answer */
    uint64_t dns_truncated;                     /* TC set */
    uint64_t dns_truncated_remote;              /* TC only by the non-local cap */
    uint64_t dns_dropped;                       /* unparseable packets dropped */
    uint64_t dns_tcp_conns;                     /* TCP connections accepted */
    uint64_t http_requests;
    uint64_t health_ok, health_fail;
    uint64_t registrations, deregistrations;
} agent_metrics_t;

struct agent {
    agent_config_t *cfg;
    struct event_base *base;
    artemis_client_t *client;
    int stopping;

    /* app registration and health */
    artemis_instance_t *inst;
    int want_registered; /* we asked the SDK to keep it registered */
    artemis_reg_state_t reg_state;
    int healthy;           /* current verdict (1 when there is no check) */
    int checked;           /* at least one check finished */
    int fails, oks;        /* consecutive results */
    int64_t last_check_ms; /* wall clock of the last finished check, 0 = never */
    char last_error[160];
    struct event *ev_health;
    struct evhttp_connection *hc_conn;
    int hc_busy;
    char hc_err[128];
    int64_t hc_started_ms;

    /* services */
    agent_svc_t **buckets;
    size_t n_buckets, n_svcs;
    struct agent_waiter *waiters;
    size_t n_waiters;

    /* endpoints */
    struct agent_dns_server *dns;
    struct evhttp *http;
    struct evhttp_bound_socket *http_sock;

    agent_metrics_t m;
    int64_t started_ms;
};

agent_t *agent_new(agent_config_t *cfg, struct event_base *base, char *err, size_t errlen);
/* Start the client, registration (or the health check that gates it). */
int agent_start(agent_t *a, char *err, size_t errlen);
/* Begin shutdown: close endpoints, cancel waiters, deregister through artemis_client_stop. */
void agent_begin_stop(agent_t *a);
void agent_free(agent_t *a);
/* Keep the app registered (1) or deregister it (0); no-op when already so. */
void agent_set_registered(agent_t *a, int on);

/* The tracked state of a service (key = any case service id). NULL if not tracked. */
agent_svc_t *agent_svc_find(agent_t *a, const char *service_id);
/* Find or start tracking (watch) a service. NULL when the table is full or on OOM. */
agent_svc_t *agent_svc_track(agent_t *a, const char *service_id);
/* Park fn(arg) until the service has a view or AGENT_FIRST_WAIT_MS passes. owner groups
 * waiters so they can be cancelled together. 0 / -1 (full: caller answers at once). */
int agent_wait(agent_t *a, agent_svc_t *s, void *owner, agent_wait_fn fn, void *arg);
void agent_wait_cancel_owner(agent_t *a, void *owner);

/* "pending" / "registered" / "failing" / "unregistered". */
const char *agent_reg_state_name(artemis_reg_state_t st);
int64_t agent_wall_ms(void);
int64_t agent_mono_ms(void);

/* ---- health check (health.c) --------------------------------------------------------------- */

int agent_health_start(agent_t *a);
void agent_health_stop(agent_t *a);
/* Apply one check result (also used by tests): ok 1/0, err text or NULL. */
void agent_health_result(agent_t *a, int ok, const char *err);

/* ---- endpoints ----------------------------------------------------------------------------- */

/* dns_server.c */
typedef struct agent_dns_server agent_dns_server_t;
agent_dns_server_t *agent_dns_server_new(agent_t *a, const char *listen, char *err, size_t errlen);
void agent_dns_server_free(agent_dns_server_t *d);
/* Answer one query packet (the transport-independent part). Over UDP the answer is limited by
 * agent_dns_udp_limit (local: the source is a loopback address), over TCP to 65535 bytes.
 * Returns the response length, 0 to drop, or -1 to park (only when may_wait: the caller then
 * gets *wait_svc to park on). */
int agent_dns_answer(agent_t *a, const uint8_t *pkt, size_t len, int tcp, int local, int may_wait,
                     uint8_t *out, size_t outcap, agent_svc_t **wait_svc);
/* The view of s changed: drop its pre-encoded answers (the next query encodes them again). */
void agent_dns_service_changed(agent_t *a, agent_svc_t *s);

/* http_server.c */
int agent_http_start(agent_t *a, char *err, size_t errlen);
void agent_http_stop(agent_t *a);

#endif
