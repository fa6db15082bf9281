/*
 * Server configuration (see config.h). One static option table, in the manner of redis'
 * static_configs[], drives everything: defaults, `key = value` files, --key=value command-line
 * options, --help, the effective-config dump and SIGHUP reload. Adding an option is adding a
 * field to srv_config_t and one row to the table.
 *
 * Deviation from the Java server: an out-of-range integer is an error naming the key (the
 * server refuses to start, or a reload is refused), where Artemis' property correctors
 * silently clamp the value or fall back to the default. A typo'd value should be loud.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "auth.h"
#include "fileread.h"
#include "log.h"
#include "origin.h"
#include "peers.h"
#include "strutil.h"

enum opt_type { T_STRING, T_INT, T_BOOL, T_LEVEL };

#define F_RELOAD 1u /* applied by srv_config_reload */
#define F_SECRET 2u /* password parts are masked by srv_config_item */
#define F_TOKEN  4u /* the whole value is a secret: "***" in config.json and in errors */

/* A validator returns NULL when the value is fine, else the tail of the error sentence
 * ("is not HOST:PORT"). */
typedef const char *(*check_fn)(const char *value);

typedef struct opt {
    const char *name;  /* full key, as in artemis.properties */
    const char *alias; /* short command-line/file name, NULL if none */
    enum opt_type type;
    size_t off; /* offset into srv_config_t */
    const char *def;
    int64_t min, max; /* T_INT only */
    unsigned flags;
    check_fn check;      /* T_STRING only, optional */
    const char *metavar; /* --help only, NULL = from type */
    const char *help;
} opt_t;

static const char *check_listen(const char *v);
static const char *check_id(const char *v);
static const char *check_url(const char *v);
static const char *check_peers(const char *v);
static const char *check_nonempty(const char *v);
static const char *check_rate_map(const char *v);
static const char *check_token(const char *v);
static const char *check_opt_listen(const char *v);
static const char *check_verify_client(const char *v);

#define OFF(f) offsetof(srv_config_t, f)

#define OPT_S(n, a, f, d, fl, chk, mv, h)                                                          \
    {                                                                                              \
        n, a, T_STRING, OFF(f), d, 0, 0, fl, chk, mv, h                                            \
    }
#define OPT_I(n, a, f, d, lo, hi, fl, h)                                                           \
    {                                                                                              \
        n, a, T_INT, OFF(f), #d, lo, hi, fl, NULL, NULL, h                                         \
    }
#define OPT_B(n, a, f, d, fl, h)                                                                   \
    {                                                                                              \
        n, a, T_BOOL, OFF(f), #d, 0, 0, fl, NULL, NULL, h                                          \
    }
#define OPT_L(n, a, f, d, fl, h)                                                                   \
    {                                                                                              \
        n, a, T_LEVEL, OFF(f), d, 0, 0, fl, NULL, NULL, h                                          \
    }

/* The three keys of one rate limiter (protocol.md §3.4), all reloadable. */
#define OPT_RL(id, f, en, lim, lo, hi, map, what)                                                  \
    OPT_B(id ".rate-limiter.enabled", NULL, f.enabled, en, F_RELOAD,                               \
          "Enable the " what " rate limiter."),                                                    \
        OPT_I(id ".rate-limiter.default-rate-limit", NULL, f.default_rate_limit, lim, lo, hi,      \
              F_RELOAD, "Requests per 10 s per " what " operation."),                              \
        OPT_S(id ".rate-limiter.rate-limit-map", NULL, f.rate_limit_map, map, F_RELOAD,            \
              check_rate_map, "OP:N,...", "Per-operation " what " limits overriding the default.")

#define LM "artemis.service.registry.instance.lease-manager."
#define SC LM "lease-update-safe-checker."
#define RB "artemis.service.registry.replication.batching."

static const opt_t options[] = {
    OPT_S("listen", "listen", listen, "127.0.0.1:8080", 0, check_listen, "IP:PORT",
          "Address the HTTP server listens on (IPv6 as [::1]:8080; no host names)."),
    OPT_S("tls.listen", "tls.listen", tls_listen, "", 0, check_opt_listen, "IP:PORT",
          "A TLS listener beside the plain `listen` one; empty with tls.cert = TLS on `listen`."),
    OPT_S("tls.cert", "tls.cert", tls_cert, "", F_RELOAD, NULL, "FILE",
          "Server certificate chain (PEM); enables TLS. Re-read on SIGHUP."),
    OPT_S("tls.key", "tls.key", tls_key, "", F_RELOAD, NULL, "FILE",
          "Private key of tls.cert (PEM). Re-read on SIGHUP."),
    OPT_S("tls.client-ca", "tls.client-ca", tls_client_ca, "", F_RELOAD, NULL, "FILE",
          "CA bundle client certificates are verified against."),
    OPT_S("tls.verify-client", "tls.verify-client", tls_verify_client, "none", F_RELOAD,
          check_verify_client, "none|optional|require", "Client-certificate verification."),
    OPT_S("tls.ca", "tls.ca", tls_ca, "", 0, NULL, "FILE",
          "CA bundle peers' https:// URLs are verified against (default: the system's)."),
    OPT_S("region.id", "region", region_id, "default", 0, check_id, "ID", "This node's region."),
    OPT_S("zone.id", "zone", zone_id, "default", 0, check_id, "ID", "This node's zone."),
    OPT_S("node-url", "node-url", node_url, "", 0, check_url, "URL",
          "This node's URL as peers and clients see it; empty = http://<listen>/."),
    OPT_S("artemis.service.cluster.nodes", "peers", peers, "", 0, check_peers,
          "ZONE:URL,URL;ZONE:URL", "Cluster nodes; empty = single node."),
    OPT_S("data-dir", "data-dir", data_dir, "./data", 0, check_nonempty, "DIR",
          "Directory of the SQLite management store."),
    OPT_S("management-db", "management-db", management_db, "", F_SECRET, NULL, "postgresql://...",
          "Shared PostgreSQL management store instead of SQLite."),
    OPT_I("management.max-statements-per-write", NULL, management_max_statements, 4000, 10, 1000000,
          0,
          "Statements one management write may run (each changed row costs two or three: the "
          "change and its audit row); a larger request is refused whole."),
    OPT_I("management.reload-interval-ms", NULL, management_reload_ms, 5000, 200, 600000, 0,
          "Full reload of the management state from its store (other nodes' writes arrive "
          "at once on PostgreSQL through NOTIFY; this is the safety net)."),
    OPT_L("log-level", "log-level", log_level, "info", F_RELOAD, "debug, info, warn or error."),

    OPT_I(LM "lease.ttl", "lease-ttl-ms", lease_ttl_ms, 20000, 1000, 604800000, F_RELOAD,
          "Lease TTL of instances, ms."),
    OPT_I("artemis.service.registry.legacy-instance.lease-manager.lease.ttl", "legacy-lease-ttl-ms",
          legacy_lease_ttl_ms, 90000, 1000, 604800000, F_RELOAD,
          "Lease TTL of legacy (java_registry) instances, ms."),
    OPT_I(LM "clean-task.run-interval", NULL, clean_interval_ms, 100, 10, 5000, 0,
          "Period of the expired-lease cleaner, ms."),
    OPT_I(LM "stall-threshold", NULL, lease_stall_threshold_ms, 1000, 200, 60000, F_RELOAD,
          "A loop gap longer than this (process stopped, VM paused) does not age leases, ms."),

    OPT_B(SC "enabled", NULL, safe_checker_enabled, true, F_RELOAD,
          "Self-preservation: keep expired leases when heartbeats drop sharply."),
    OPT_I(SC "time-window", NULL, safe_checker_time_window_ms, 15000, 10000, 300000, F_RELOAD,
          "Heartbeat counting window, ms."),
    OPT_I(SC "percentage-threshold", NULL, safe_checker_percentage_threshold, 85, 50, 100, F_RELOAD,
          "Unsafe below this percentage of the peak heartbeat count."),
    OPT_I(SC "max-count-threshold", NULL, safe_checker_max_count_threshold, 50, 0, 1000000,
          F_RELOAD, "No decision while the peak heartbeat count is below this."),
    OPT_I(SC "max-protection-ms", NULL, safe_checker_max_protection_ms, 300000, 10000, 86400000,
          F_RELOAD, "Longest continuous self-preservation, ms."),
    OPT_I(SC "heartbeat-interval-ms", NULL, safe_checker_heartbeat_interval_ms, 5000, 500, 300000,
          F_RELOAD, "Expected client heartbeat interval, ms."),

    OPT_B("artemis.service.registry.allow-from-other-zone", NULL, registry_allow_from_other_zone,
          true, F_RELOAD, "Accept registrations of instances from other zones."),
    OPT_B("artemis.service.discovery.allow-from-other-zone", NULL, discovery_allow_from_other_zone,
          true, F_RELOAD, "Answer discovery for other zones."),

    OPT_RL("artemis.service.registry", rl_registry, true, 100000, 1000, 1000000, "", "registry"),
    OPT_RL("artemis.service.registry.replication", rl_replication, true, 1000000, 1000, 10000000,
           "", "replication"),
    OPT_RL("artemis.service.cluster", rl_cluster, true, 10000, 100, 100000, "", "cluster"),
    OPT_RL("artemis.service.status", rl_status, true, 30, 1, 10000, "get-leases:10", "status"),
    OPT_RL("artemis.service.discovery", rl_discovery, false, 1000000, 100, 100000000, "",
           "discovery"),
    OPT_I("artemis.service.registry.rate-limiter.per-connection-limit", NULL,
          rl_per_connection_limit, 10000, 0, 10000000, F_RELOAD,
          "Registry requests per 10 s on one connection; 0 = no cap."),
    OPT_I("artemis.service.registry.rate-limiter.per-address-limit", NULL, rl_per_address_limit,
          30000, 0, 100000000, F_RELOAD,
          "Registry requests per 10 s from one source address beyond each connection's share; "
          "0 = no cap."),

    OPT_I("artemis.service.registry.data.instance-change.max-buffer-size", NULL,
          change_log_capacity, 10000, 1000, 1000000, 0, "Capacity of the instance change log."),
    OPT_I("artemis.service.registry.data.instance-change.max-buffer-bytes", NULL,
          change_log_max_bytes, 16777216, 65536, 4294967296, 0,
          "Byte bound of the instance change log (instance bodies it keeps alive)."),

    OPT_I("artemis.service.websocket.session.ttl", NULL, ws_session_ttl_ms, 360000, 10000, 18000000,
          F_RELOAD, "WebSocket sessions are closed this long after opening, ms."),
    OPT_I("artemis.service.websocket.session.health-checker.dynamic-scheduled-thread."
          "run-interval",
          NULL, ws_sweep_interval_ms, 60000, 1000, 3600000, 0,
          "Period of the WebSocket session sweeper, ms."),
    OPT_I("ws.max-message-bytes", NULL, ws_max_message_bytes, 1048576, 1024, 67108864, 0,
          "Largest WebSocket message accepted."),
    OPT_I("ws.max-queue-bytes", NULL, ws_max_queue_bytes, 4194304, 65536, 1073741824, 0,
          "Per-session send queue bound; a slower client is disconnected."),
    OPT_I("ws.max-sessions", NULL, ws_max_sessions, 10000, 1, 1000000, 0,
          "Most WebSocket sessions at once."),

    OPT_I("http.max-body-bytes", NULL, http_max_body_bytes, 4194304, 1024, 1073741824, 0,
          "Largest request body (after gzip decoding)."),
    OPT_I("http.max-header-bytes", NULL, http_max_header_bytes, 16384, 1024, 1048576, 0,
          "Largest request header block."),
    OPT_I("http.max-headers", NULL, http_max_headers, 64, 8, 1024, 0,
          "Most request header fields."),
    OPT_I("http.max-connections", NULL, http_max_connections, 10000, 1, 1000000, 0,
          "Most client connections at once (idle ones are closed to admit new ones)."),
    OPT_I("http.max-connections-per-address", NULL, http_max_connections_per_address, 1024, 0,
          1000000, F_RELOAD, "Most connections (HTTP and WebSocket) from one address; 0 = no cap."),
    OPT_I("http.io-threads", "io-threads", http_io_threads, 0, 0, 64, 0,
          "Threads that read, parse and write plain HTTP connections beside the loop; 0 = the "
          "loop does it all (docs/design.md \"More than one core\")."),
    OPT_I("http.idle-timeout-ms", NULL, http_idle_timeout_ms, 60000, 1000, 3600000, 0,
          "Idle HTTP connections are closed after this, ms."),
    OPT_B("http.gzip-responses", NULL, http_gzip_responses, true, 0,
          "Gzip responses when the client accepts it."),
    OPT_I("http.gzip-min-bytes", NULL, http_gzip_min_bytes, 1024, 0, 1073741824, 0,
          "Smallest response body worth gzipping."),
    OPT_S("http.allowed-origins", NULL, http_allowed_origins, "", F_RELOAD, srv_origin_check_list,
          "ORIGIN,...",
          "Browser origins (SCHEME://HOST[:PORT]) that may read and change state cross-origin, "
          "or * for reads from any page without credentials; empty = none."),
    OPT_S("http.allowed-hosts", NULL, http_allowed_hosts, "", F_RELOAD, srv_host_check_list,
          "HOST[:PORT],...",
          "Host header values accepted (DNS rebinding guard); others get 421; empty = any."),
    OPT_S("auth.tokens-file", NULL, auth_tokens_file, "", F_RELOAD, NULL, "FILE",
          "Access tokens, one 'TOKEN SCOPE[,SCOPE...]' per line; empty = every path open as in "
          "Java Artemis (docs/security.md)."),
    OPT_S("auth.open-scopes", NULL, auth_open_scopes, "register,discover", F_RELOAD,
          srv_auth_check_open_scopes, "SCOPE,...",
          "Scopes anyone may use without a token when auth.tokens-file is set (never "
          "replicate or admin)."),
    OPT_S("cluster.token", NULL, cluster_token, "", F_RELOAD | F_TOKEN, check_token, "TOKEN",
          "Token sent to peers (it needs the replicate scope there); prefer the config file "
          "to the command line, which other users can read."),

    OPT_I("registry.max-instances-per-request", NULL, registry_max_instances_per_request, 10000, 1,
          1000000, 0, "Most instances in one registry request."),
    OPT_I("registry.max-string-bytes", NULL, registry_max_string_bytes, 4096, 64, 1048576, 0,
          "Longest string field in a registry request."),
    OPT_I("discovery.max-configs-per-request", NULL, discovery_max_configs_per_request, 2000, 1,
          1000000, F_RELOAD, "Most distinct services in one lookup.json request."),
    OPT_I("discovery.max-answer-bytes", NULL, discovery_max_answer_bytes, 67108864, 65536,
          4294967296, F_RELOAD, "Largest lookup.json answer; a bigger one is refused."),

    OPT_I("artemis.service.cluster.nodes.status-update.interval", NULL, cluster_status_interval_ms,
          5000, 100, 600000, 0, "Period of peer health polling, ms."),
    OPT_I("artemis.service.cluster.nodes.status-update.fail-retry-times", NULL,
          cluster_status_retries, 3, 0, 10, 0,
          "Extra attempts of a failed peer poll (none after connection refused)."),
    OPT_I("artemis.service.cluster.node.init.sync-interval", NULL, cluster_sync_interval_ms, 1000,
          50, 600000, 0, "Period of bootstrap attempts while the node is starting, ms."),
    OPT_I("artemis.service.cluster.node.init.max-wait", NULL, cluster_max_wait_ms, 30000, 0,
          3600000, 0, "With peers but none up or reachable, come up alone after this, ms."),
    OPT_B("artemis.service.cluster.node.status.force-up", NULL, cluster_force_up, false, 0,
          "Come up at once without bootstrapping from a peer."),
    OPT_I(RB "task-acceptor.max-batching-size", NULL, repl_batch_size, 250, 1, 10000, 0,
          "Most instances in one replication request."),
    OPT_I(RB "task-acceptor.max-batching-delay", NULL, repl_batch_delay_ms, 20, 0, 10000, 0,
          "A partial replication batch is sent when its oldest write is this old, ms."),
    OPT_I(RB "task-acceptor.max-buffer-size", NULL, repl_queue_max, 100000, 100, 10000000, 0,
          "Replication queue bound per peer; the oldest write is dropped beyond it."),
    OPT_I("artemis.service.registry.register.replication.task-ttl", NULL, repl_register_ttl_ms,
          5000, 2000, 30000, 0, "A register not replicated within this is dropped, ms."),
    OPT_I("artemis.service.registry.heartbeat.replication.task-ttl", NULL, repl_heartbeat_ttl_ms,
          5000, 2000, 10000, 0, "A heartbeat not replicated within this is dropped, ms."),
    OPT_I("artemis.service.registry.unregister.replication.task-ttl", NULL, repl_unregister_ttl_ms,
          5000, 2000, 30000, 0, "An unregister not replicated within this is dropped, ms."),
    OPT_I("artemis.service.registry.replication.client.connect-timeout", NULL,
          repl_connect_timeout_ms, 200, 10, 60000, 0, "Connect timeout to peers, ms."),
    OPT_I("artemis.service.registry.replication.client.socket-timeout", NULL, repl_timeout_ms, 2000,
          50, 600000, 0, "Timeout of one replication or poll request, ms."),
    OPT_I("artemis.service.registry.replication.get-applications.client.socket-timeout", NULL,
          repl_bootstrap_timeout_ms, 60000, 100, 600000, 0,
          "Timeout of the bootstrap copy (services.json) from a peer, ms."),
    OPT_I("artemis.service.registry.replication.max-inflight", NULL, repl_max_inflight, 4, 1, 64, 0,
          "Replication requests in flight per peer."),
    OPT_I("artemis.service.registry.replication.retry-backoff-max", NULL, repl_backoff_max_ms, 2000,
          10, 60000, 0, "Longest pause before retrying a failed peer, ms."),

    OPT_I("artemis.service.discovery.versioned-cache.cache-count", NULL, discovery_cache_count, 3,
          0, 10, 0, "Accepted for compatibility; unused."),
    OPT_I("artemis.service.discovery.versioned-cache.cache-refresh.init-delay", NULL,
          discovery_cache_init_delay_ms, 60000, 0, 300000, 0,
          "Accepted for compatibility; unused (services.json is always current)."),
    OPT_I("artemis.service.discovery.versioned-cache.cache-refresh.interval", NULL,
          discovery_cache_interval_ms, 30000, 1000, 300000, 0,
          "Accepted for compatibility; unused (services.json is always current)."),
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* ---- small helpers ---------------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        srv_oom();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        srv_oom();
    return q;
}

static char **str_field(srv_config_t *c, const opt_t *o)
{
    return (char **)(void *)((char *)c + o->off);
}

static char *const *cstr_field(const srv_config_t *c, const opt_t *o)
{
    return (char *const *)(const void *)((const char *)c + o->off);
}

#define FIELD(c, o, T)  ((T *)(void *)((char *)(c) + (o)->off))
#define CFIELD(c, o, T) ((const T *)(const void *)((const char *)(c) + (o)->off))

static const opt_t *find_opt(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, key) == 0)
            return &options[i];
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].alias && strcmp(options[i].alias, key) == 0)
            return &options[i];
    return NULL;
}

/* Copy v for an error message: at most 64 bytes, control characters as '?', so the message
 * stays on one line. */
static void show(char *dst, size_t n, const char *v)
{
    size_t i = 0;
    for (; v[i] && i < 64 && i + 1 < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[i] = '\0';
    if (v[i] && n > 68)
        strcpy(dst + i, "...");
}

static int parse_int(const char *s, int64_t *out, int *overflow)
{
    const char *p = s;
    *overflow = 0;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0')
        return -1;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        *overflow = 1;
    *out = (int64_t)v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Validate and store one value. label names the key in the error ("--lease-ttl-ms"). */
static int set_opt(srv_config_t *c, const opt_t *o, const char *value, const char *label, char *err,
                   size_t errlen)
{
    char shown[80];
    show(shown, sizeof(shown), (o->flags & F_TOKEN) ? "***" : value);
    switch (o->type) {
    case T_INT: {
        int64_t v;
        int overflow;
        if (parse_int(value, &v, &overflow) != 0) {
            snprintf(err, errlen, "%s: value '%s' is not an integer", label, shown);
            return -1;
        }
        if (overflow || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s: %s is out of range [%" PRId64 "..%" PRId64 "]", label, shown,
                     o->min, o->max);
            return -1;
        }
        *FIELD(c, o, int64_t) = v;
        return 0;
    }
    case T_BOOL: {
        bool b;
        if (parse_bool(value, &b) != 0) {
            snprintf(err, errlen,
                     "%s: value '%s' is not a boolean (true/false, yes/no, on/off, 1/0)", label,
                     shown);
            return -1;
        }
        *FIELD(c, o, bool) = b;
        return 0;
    }
    case T_LEVEL: {
        int lvl = srv_log_level_parse(value);
        if (lvl < 0) {
            snprintf(err, errlen, "%s: value '%s' is not a log level (debug|info|warn|error)",
                     label, shown);
            return -1;
        }
        *FIELD(c, o, int) = lvl;
        return 0;
    }
    case T_STRING: {
        for (const char *p = value; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20 || ch == 0x7f) {
                snprintf(err, errlen, "%s: value '%s' contains a control character", label, shown);
                return -1;
            }
        }
        const char *why = o->check ? o->check(value) : NULL;
        if (why) {
            snprintf(err, errlen, "%s: value '%s' %s", label, shown, why);
            return -1;
        }
        char **f = str_field(c, o);
        char *nv = xstrdup(value);
        free(*f);
        *f = nv;
        return 0;
    }
    }
    return -1;
}

static void format_value(const srv_config_t *c, const opt_t *o, char *buf, size_t len)
{
    switch (o->type) {
    case T_INT:
        snprintf(buf, len, "%" PRId64, *CFIELD(c, o, int64_t));
        break;
    case T_BOOL:
        snprintf(buf, len, "%s", *CFIELD(c, o, bool) ? "true" : "false");
        break;
    case T_LEVEL:
        snprintf(buf, len, "%s", srv_log_level_name(*CFIELD(c, o, int)));
        break;
    case T_STRING:
        snprintf(buf, len, "%s", *cstr_field(c, o));
        break;
    }
}

static void copy_opt(srv_config_t *dst, const srv_config_t *src, const opt_t *o)
{
    switch (o->type) {
    case T_INT:
        *FIELD(dst, o, int64_t) = *CFIELD(src, o, int64_t);
        break;
    case T_BOOL:
        *FIELD(dst, o, bool) = *CFIELD(src, o, bool);
        break;
    case T_LEVEL:
        *FIELD(dst, o, int) = *CFIELD(src, o, int);
        break;
    case T_STRING: {
        char **f = str_field(dst, o);
        char *nv = xstrdup(*cstr_field(src, o));
        free(*f);
        *f = nv;
        break;
    }
    }
}

static bool equal_opt(const srv_config_t *a, const srv_config_t *b, const opt_t *o)
{
    switch (o->type) {
    case T_INT:
        return *CFIELD(a, o, int64_t) == *CFIELD(b, o, int64_t);
    case T_BOOL:
        return *CFIELD(a, o, bool) == *CFIELD(b, o, bool);
    case T_LEVEL:
        return *CFIELD(a, o, int) == *CFIELD(b, o, int);
    case T_STRING:
        return strcmp(*cstr_field(a, o), *cstr_field(b, o)) == 0;
    }
    return false;
}

/* ---- validators ------------------------------------------------------------------------- */

int srv_config_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *h;
    size_t hl;
    if (artemisi_hostport_split(s, &h, &hl, port) != 0 || hl >= hostlen)
        return -1;
    /* A name or an IPv4 literal; inside brackets an IPv6 literal (with a %zone). */
    int v6 = s[0] == '[';
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || (v6 ? c == ':' || c == '%' : c == '-' || c == '_');
        if (!ok)
            return -1;
    }
    if (v6 && !memchr(h, ':', hl))
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    return 0;
}

/* The listener binds an address literal (srv_http_listen); a host name would only fail there,
 * after the start looked fine, so it is refused here with the other bad values. */
static const char *check_listen(const char *v)
{
    char host[256];
    int port;
    unsigned char addr[sizeof(struct in6_addr)];
    if (srv_config_parse_hostport(v, host, sizeof(host), &port) != 0 ||
        inet_pton(v[0] == '[' ? AF_INET6 : AF_INET, host, addr) != 1)
        return "is not IP:PORT (an IPv4 address or [IPv6], not a host name; port 0..65535)";
    return NULL;
}

static const char *check_opt_listen(const char *v)
{
    return *v ? check_listen(v) : NULL;
}

static const char *check_verify_client(const char *v)
{
    if (strcmp(v, "none") == 0 || strcmp(v, "optional") == 0 || strcmp(v, "require") == 0)
        return NULL;
    return "must be none, optional or require";
}

static const char *check_id(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 128 || strpbrk(v, " \t"))
        return "must be 1..128 characters without spaces";
    return NULL;
}

static bool is_http_url(const char *s, size_t n)
{
    if (n > 7 && strncasecmp(s, "http://", 7) == 0)
        return true;
    return n > 8 && strncasecmp(s, "https://", 8) == 0;
}

static const char *check_url(const char *v)
{
    if (*v && !is_http_url(v, strlen(v)))
        return "must start with http:// or https://";
    return NULL;
}

static void trim_range(const char **s, const char **e)
{
    artemisi_trim_range(s, e);
}

/* The peer list, through the one parser the cluster also uses (peers.h). */
static const char *check_peers(const char *v)
{
    static char err[128];
    srv_peer_spec_t *peers;
    size_t n;
    if (srv_peers_parse(v, &peers, &n, err, sizeof(err)) != 0)
        return err;
    srv_peers_free(peers, n);
    return NULL;
}

/* Never echoes the value: set_opt masks it, and this names only what is wrong. */
static const char *check_token(const char *v)
{
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '\t')
            return "contains a space (a token is one word)";
    return NULL;
}

static const char *check_nonempty(const char *v)
{
    return *v ? NULL : "must not be empty";
}

/* "identity:limit,identity:limit"; empty entries are skipped. */
static const char *check_rate_map(const char *v)
{
    static const char *const bad = "is not a rate-limit map (OPERATION:LIMIT,...)";
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *s = p, *e = end;
        trim_range(&s, &e);
        if (s < e) {
            const char *colon = memchr(s, ':', (size_t)(e - s));
            if (!colon)
                return bad;
            const char *is = s, *ie = colon, *ls = colon + 1, *le = e;
            trim_range(&is, &ie);
            trim_range(&ls, &le);
            if (is == ie || ls == le || le - ls > 12)
                return bad;
            for (const char *q = ls; q < le; q++)
                if (*q < '0' || *q > '9')
                    return bad;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return NULL;
}

/* ---- public API ------------------------------------------------------------------------- */

size_t srv_config_count(void)
{
    return N_OPTIONS;
}

void srv_config_init(srv_config_t *c)
{
    char err[256];
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].type == T_STRING)
            *str_field(c, &options[i]) = NULL;
        if (set_opt(c, &options[i], options[i].def, options[i].name, err, sizeof(err)) != 0) {
            /* A bad default is a bug in the table; the unit test catches it. */
            fprintf(stderr, "config: bad default: %s\n", err);
            abort();
        }
    }
}

static void free_overrides(srv_config_t *c)
{
    for (size_t i = 0; i < c->n_overrides; i++) {
        free(c->overrides[i].key);
        free(c->overrides[i].value);
    }
    free(c->overrides);
    c->overrides = NULL;
    c->n_overrides = 0;
}

static void free_ignored(srv_config_t *c)
{
    for (size_t i = 0; i < c->n_ignored; i++)
        free(c->ignored[i]);
    free(c->ignored);
    c->ignored = NULL;
    c->n_ignored = 0;
}

void srv_config_free(srv_config_t *c)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == T_STRING)
            free(*str_field(c, &options[i]));
    free(c->config_path);
    free_overrides(c);
    free_ignored(c);
    memset(c, 0, sizeof(*c));
}

int srv_config_set(srv_config_t *c, const char *key, const char *value, char *err, size_t errlen)
{
    const opt_t *o = find_opt(key);
    if (!o) {
        char shown[80];
        show(shown, sizeof(shown), key);
        snprintf(err, errlen, "unknown key '%s'", shown);
        return -1;
    }
    return set_opt(c, o, value, key, err, errlen);
}

static void add_ignored(srv_config_t *c, const char *key)
{
    for (size_t i = 0; i < c->n_ignored; i++)
        if (strcmp(c->ignored[i], key) == 0)
            return;
    c->ignored = xrealloc(c->ignored, (c->n_ignored + 1) * sizeof(*c->ignored));
    c->ignored[c->n_ignored++] = xstrdup(key);
}

const char *srv_config_ignored(const srv_config_t *c, size_t i)
{
    return i < c->n_ignored ? c->ignored[i] : NULL;
}

/* Handle one line (NUL-terminated, newline removed). Returns 0 / -1 with err (no prefix). */
static int load_line(srv_config_t *c, char *line, char *err, size_t errlen)
{
    char *s = artemisi_trim(line);
    /* '!' is the other comment marker of Java .properties files. */
    if (*s == '\0' || *s == '#' || *s == '!')
        return 0;
    char *eq = strchr(s, '=');
    char shown[80];
    if (!eq) {
        show(shown, sizeof(shown), s);
        snprintf(err, errlen, "expected 'key = value', got '%s'", shown);
        return -1;
    }
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = eq + 1 + strlen(eq + 1);
    trim_range(&ks, &ke);
    trim_range(&vs, &ve);
    if (ks == ke) {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    *(char *)ke = '\0';
    *(char *)ve = '\0';
    const opt_t *o = find_opt(ks);
    if (!o) {
        if (strncmp(ks, "artemis.", 8) == 0) {
            add_ignored(c, ks);
            return 0;
        }
        show(shown, sizeof(shown), ks);
        snprintf(err, errlen, "unknown key '%s'", shown);
        return -1;
    }
    return set_opt(c, o, vs, ks, err, errlen);
}

/* The whole config file (fileread.h: a regular file only, bounded). Every failure, running out
 * of memory included, is an error naming the path: starting on defaults instead of the file
 * the operator named would be wrong. */
static char *read_config_file(const char *path, size_t *len, char *err, size_t errlen)
{
    char *data;
    int e, opened;
    switch (artemisi_read_file(path, SRV_CONFIG_MAX_FILE_BYTES, 0, &data, len, &e, &opened)) {
    case ARTEMISI_READ_OK:
        return data;
    case ARTEMISI_READ_ERRNO:
        snprintf(err, errlen, "%s: cannot %s: %s", path, opened ? "read" : "open", strerror(e));
        break;
    case ARTEMISI_READ_NOT_REGULAR:
        snprintf(err, errlen, "%s: not a regular file", path);
        break;
    case ARTEMISI_READ_TOO_BIG:
        snprintf(err, errlen, "%s: larger than %d bytes", path, SRV_CONFIG_MAX_FILE_BYTES);
        break;
    case ARTEMISI_READ_CHANGED:
        snprintf(err, errlen, "%s: cannot read: the file changed while being read", path);
        break;
    }
    return NULL;
}

int srv_config_load_file(srv_config_t *c, const char *path, char *err, size_t errlen)
{
    size_t n;
    char *data = read_config_file(path, &n, err, errlen);
    if (!data)
        return -1;
    unsigned lineno = 0;
    int rc = 0;
    char msg[512];
    for (char *line = data, *end = data + n; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *next = nl ? nl + 1 : end;
        lineno++;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (memchr(line, '\0', len)) {
            snprintf(err, errlen, "%s:%u: line contains a NUL byte", path, lineno);
            rc = -1;
            break;
        }
        line[len] = '\0'; /* the '\n', the '\r' or data[n] */
        if (load_line(c, line, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = -1;
            break;
        }
        line = next;
    }
    free(data);
    return rc;
}

/* data-dir need not exist yet (it is created when first used), but a path that exists and is
 * not a directory, or lies below a regular file, can never be one: refuse it at start rather
 * than when the store is first opened. Other stat errors (EACCES) are left to that open. */
static int check_data_dir(const srv_config_t *c, char *err, size_t errlen)
{
    struct stat st;
    if (stat(c->data_dir, &st) == 0 ? S_ISDIR(st.st_mode) : errno != ENOTDIR)
        return 0;
    char shown[80];
    show(shown, sizeof(shown), c->data_dir);
    snprintf(err, errlen, "data-dir: '%s' is not a directory", shown);
    return -1;
}

/* One command-line option before it is applied. */
typedef struct pending {
    const opt_t *opt;
    char *typed; /* the key as typed, without dashes (owned) */
    const char *value;
} pending_t;

/* One "--key[=value]" at argv[*i] (*i advances past a separate value). Returns 0 with the
 * option (NULL for --config), its typed key (malloc'ed) and value, or -1 with err. */
static int parse_option(int argc, char **argv, int *i, const opt_t **opt, char **typed,
                        const char **value, char *err, size_t errlen)
{
    const char *a = argv[*i];
    char shown[80];
    show(shown, sizeof(shown), a);
    if (a[0] != '-') {
        snprintf(err, errlen, "unexpected argument '%s'", shown);
        return -1;
    }
    if (a[1] != '-' || a[2] == '\0' || a[2] == '=') {
        snprintf(err, errlen, "unknown option '%s'", shown);
        return -1;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    char *key = strndup(name, eq ? (size_t)(eq - name) : strlen(name));
    if (!key)
        srv_oom();
    const opt_t *o = NULL;
    show(shown, sizeof(shown), key);
    if (strcmp(key, "config") != 0 && !(o = find_opt(key))) {
        snprintf(err, errlen, "unknown option '--%s'", shown);
        free(key);
        return -1;
    }
    if (eq) {
        *value = eq + 1;
    } else if (o && o->type == T_BOOL && (*i + 1 >= argc || argv[*i + 1][0] == '-')) {
        *value = "true"; /* bare boolean flag */
    } else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        *value = argv[++*i];
    } else {
        snprintf(err, errlen, "--%s: missing value", shown);
        free(key);
        return -1;
    }
    *opt = o;
    *typed = key;
    return 0;
}

/* Apply the command-line options over what the file set, and remember them for a reload. */
static int apply_overrides(srv_config_t *c, const pending_t *p, size_t np, char *err, size_t errlen)
{
    free_overrides(c);
    for (size_t i = 0; i < np; i++) {
        char label[160], shown[80];
        show(shown, sizeof(shown), p[i].typed);
        snprintf(label, sizeof(label), "--%s", shown);
        if (set_opt(c, p[i].opt, p[i].value, label, err, errlen) != 0)
            return -1;
        c->overrides = xrealloc(c->overrides, (c->n_overrides + 1) * sizeof(*c->overrides));
        c->overrides[c->n_overrides].key = xstrdup(p[i].opt->name);
        c->overrides[c->n_overrides].value = xstrdup(p[i].value);
        c->n_overrides++;
    }
    return 0;
}

int srv_config_parse_args(srv_config_t *c, int argc, char **argv, int *want_help, int *want_version,
                          char *err, size_t errlen)
{
    pending_t *p = NULL;
    size_t np = 0;
    const char *config = NULL;
    int help = 0, version = 0, rc = -1;
    if (want_help)
        *want_help = 0;
    if (want_version)
        *want_version = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            version = 1;
            continue;
        }
        const opt_t *o;
        char *typed;
        const char *value;
        if (parse_option(argc, argv, &i, &o, &typed, &value, err, errlen) != 0)
            goto out;
        if (!o) { /* --config */
            free(typed);
            if (*value == '\0') {
                snprintf(err, errlen, "--config: missing value");
                goto out;
            }
            config = value;
            continue;
        }
        p = xrealloc(p, (np + 1) * sizeof(*p));
        p[np++] = (pending_t){o, typed, value};
    }
    if (want_help)
        *want_help = help;
    if (want_version)
        *want_version = version;
    if (help || version) {
        rc = 0;
        goto out;
    }
    if (config) {
        free(c->config_path);
        c->config_path = xstrdup(config);
        if (srv_config_load_file(c, config, err, errlen) != 0)
            goto out;
    }
    if (apply_overrides(c, p, np, err, errlen) == 0 && check_data_dir(c, err, errlen) == 0)
        rc = 0;
out:
    for (size_t i = 0; i < np; i++)
        free(p[i].typed);
    free(p);
    return rc;
}

/* Append "s" to buf (joined by "; "), truncating safely. */
static void append_note(char *buf, size_t len, const char *s)
{
    if (len == 0)
        return;
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    snprintf(buf + used, len - used, "%s%s", used ? "; " : "", s);
}

int srv_config_reload(srv_config_t *c, const char *path, char *note, size_t notelen, char *err,
                      size_t errlen)
{
    srv_config_t t;
    srv_config_init(&t);
    if (!path)
        path = c->config_path;
    if (path && srv_config_load_file(&t, path, err, errlen) != 0) {
        srv_config_free(&t);
        return -1;
    }
    for (size_t i = 0; i < c->n_overrides; i++) {
        char label[256];
        snprintf(label, sizeof(label), "--%s", c->overrides[i].key);
        const opt_t *o = find_opt(c->overrides[i].key);
        if (!o || set_opt(&t, o, c->overrides[i].value, label, err, errlen) != 0) {
            if (!o)
                snprintf(err, errlen, "unknown option '%s'", label);
            srv_config_free(&t);
            return -1;
        }
    }
    if (notelen)
        note[0] = '\0';
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (o->flags & F_RELOAD) {
            copy_opt(c, &t, o);
        } else if (!equal_opt(c, &t, o)) {
            char msg[256];
            snprintf(msg, sizeof(msg), "%s: restart needed", o->name);
            append_note(note, notelen, msg);
        }
    }
    free_ignored(c);
    c->ignored = t.ignored;
    c->n_ignored = t.n_ignored;
    t.ignored = NULL;
    t.n_ignored = 0;
    srv_config_free(&t);
    return 0;
}

/* Mask the password of "scheme://user:pass@host" and of "password=..." keywords. Each mask
 * can grow the string by up to 3 bytes: v needs strlen(v) + 7 bytes of room. */
static void mask_secret(char *v)
{
    char *scheme = strstr(v, "://");
    if (scheme) {
        char *auth = scheme + 3;
        char *slash = strchr(auth, '/');
        char *at = NULL;
        for (char *q = auth; *q && (!slash || q < slash); q++)
            if (*q == '@')
                at = q;
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && at - colon > 1) {
            memmove(colon + 4, at, strlen(at) + 1);
            memcpy(colon + 1, "***", 3);
        }
    }
    char *pw = strstr(v, "password=");
    if (pw) {
        char *s = pw + 9;
        char *e = s;
        while (*e && *e != ' ' && *e != '&')
            e++;
        if (e > s) {
            memmove(s + 3, e, strlen(e) + 1);
            memcpy(s, "***", 3);
        }
    }
}

int srv_config_item(const srv_config_t *c, size_t i, const char **key, char *val, size_t vallen)
{
    if (i >= N_OPTIONS)
        return 0;
    const opt_t *o = &options[i];
    *key = o->name;
    if (vallen == 0)
        return 1;
    if (o->flags & F_TOKEN) {
        snprintf(val, vallen, "%s", **cstr_field(c, o) ? "***" : "");
    } else if (o->flags & F_SECRET) {
        const char *s = *cstr_field(c, o);
        size_t n = strlen(s);
        char *tmp = xrealloc(NULL, n + 8);
        memcpy(tmp, s, n + 1);
        mask_secret(tmp);
        snprintf(val, vallen, "%s", tmp);
        free(tmp);
    } else {
        format_value(c, o, val, vallen);
    }
    return 1;
}

void srv_config_print_help(FILE *out)
{
    fputs("Usage: artemis-server [--config FILE] [--KEY=VALUE | --KEY VALUE]...\n"
          "\n"
          "  -h, --help       print this help and exit\n"
          "  --version        print the version and exit\n"
          "  --config FILE    read 'key = value' lines from FILE; the command line wins\n"
          "\n"
          "Every option is a config-file key and a command-line flag (--KEY, by full name or\n"
          "by the short alias shown). Reloadable options are re-read from the file on SIGHUP.\n"
          "\n",
          out);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        const char *mv = o->metavar;
        if (!mv)
            mv = o->type == T_INT ? "N" : o->type == T_BOOL ? "BOOL" : "LEVEL";
        fprintf(out, "  --%s=%s\n", o->alias ? o->alias : o->name, mv);
        if (o->alias && strcmp(o->alias, o->name) != 0)
            fprintf(out, "      key: %s\n", o->name);
        fprintf(out, "      %s Default: ", o->help);
        if (o->type == T_STRING && o->def[0] == '\0')
            fputs("(empty)", out);
        else
            fputs(o->def, out);
        if (o->type == T_INT)
            fprintf(out, ", range %" PRId64 "..%" PRId64, o->min, o->max);
        fprintf(out, ".%s\n", (o->flags & F_RELOAD) ? " Reloadable." : "");
    }
}

int srv_config_node_url(const srv_config_t *c, char *buf, size_t len)
{
    if (c->node_url[0])
        return snprintf(buf, len, "%s", c->node_url);
    /* TLS on the main listener (tls.cert without tls.listen) makes the default URL https. */
    return snprintf(buf, len, "%s://%s/", *c->tls_cert && !*c->tls_listen ? "https" : "http",
                    c->listen);
}
