/*
 * Server configuration: one typed struct filled from built-in defaults, an optional
 * `key = value` file and the command line (which wins). A single option table in config.c
 * (modelled on redis' static_configs[]) drives defaults, file and argv parsing, --help, the
 * effective-config dump (/api/status/config.json) and SIGHUP reload. Key names follow the
 * Artemis Java properties where one exists, so an existing artemis.properties keeps working.
 *
 * Pure module: reads files, never sockets or clocks. Not thread-safe; the server is
 * single-threaded and owns one srv_config_t.
 * Ownership: every string in srv_config_t is owned by it (never NULL, "" when unset) and
 * freed by srv_config_free().
 */
#ifndef ARTEMIS_SERVER_CONFIG_H
#define ARTEMIS_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Largest config file srv_config_load_file reads; a bigger one is an error. A real file is a
 * few KiB; the cap keeps a wrong path (a log, an image) from being slurped into memory. */
#define SRV_CONFIG_MAX_FILE_BYTES (1 << 20)

/* One of the server's rate limiters (protocol.md §3.4): limit per 10 s sliding window. */
typedef struct srv_rate_limiter_config {
    bool enabled;
    int64_t default_rate_limit;
    char *rate_limit_map; /* "identity:limit,identity:limit", may be "" */
} srv_rate_limiter_config_t;

/* A saved command-line override, re-applied on reload. */
typedef struct srv_config_kv {
    char *key; /* full option name */
    char *value;
} srv_config_kv_t;

typedef struct srv_config {
    /* node identity and storage */
    char *listen; /* IP:PORT, IPv6 as [::1]:8080; host names are refused */
    char *region_id;
    char *zone_id;
    char *node_url; /* "" = http://<listen>/, see srv_config_node_url() */
    char *peers;    /* artemis.service.cluster.nodes: "zone:url,url;zone:url" */
    char *data_dir;
    char *management_db;               /* "" = SQLite under data_dir */
    int64_t management_reload_ms;      /* full reload of the management state (safety net) */
    int64_t management_max_statements; /* per write: bounds the store time one request costs */
    int log_level;                     /* enum srv_log_level */

    /* leases (protocol.md §3.2) */
    int64_t lease_ttl_ms;
    int64_t legacy_lease_ttl_ms;
    int64_t clean_interval_ms;
    int64_t lease_stall_threshold_ms; /* loop gaps longer than this do not age leases */

    /* lease-update safe checker (protocol.md §3.3) */
    bool safe_checker_enabled;
    int64_t safe_checker_time_window_ms;
    int64_t safe_checker_percentage_threshold;
    int64_t safe_checker_max_count_threshold;
    int64_t safe_checker_max_protection_ms;     /* ours: longest continuous protection */
    int64_t safe_checker_heartbeat_interval_ms; /* ours: expected client heartbeat period */

    bool registry_allow_from_other_zone;
    bool discovery_allow_from_other_zone;

    /* rate limiters (protocol.md §3.4) */
    srv_rate_limiter_config_t rl_registry;
    srv_rate_limiter_config_t rl_replication;
    srv_rate_limiter_config_t rl_cluster;
    srv_rate_limiter_config_t rl_status;
    srv_rate_limiter_config_t rl_discovery; /* ours, off by default */
    int64_t rl_per_connection_limit;        /* registry requests per 10 s per connection */
    int64_t rl_per_address_limit;           /* ... per source address */

    int64_t change_log_capacity;  /* ...instance-change.max-buffer-size */
    int64_t change_log_max_bytes; /* ours: byte bound of the change log */

    /* WebSocket (protocol.md §5.1) */
    int64_t ws_session_ttl_ms;
    int64_t ws_sweep_interval_ms;
    int64_t ws_max_message_bytes;
    int64_t ws_max_queue_bytes; /* per-session send queue bound */
    int64_t ws_max_sessions;

    /* HTTP limits */
    int64_t http_max_body_bytes;
    int64_t http_max_header_bytes;
    int64_t http_max_headers;
    int64_t http_max_connections;
    int64_t http_max_connections_per_address; /* 0 = only the global cap */
    int64_t http_io_threads;                  /* 0 = the loop does all HTTP I/O (http_io.h) */
    int64_t http_idle_timeout_ms;
    bool http_gzip_responses;
    int64_t http_gzip_min_bytes;
    char *http_allowed_origins; /* "" = no cross-origin access, "*" = reads from any page */
    char *http_allowed_hosts;   /* "" = any Host header */

    /* access tokens (docs/security.md) */
    char *auth_tokens_file; /* "" = no tokens: every path open, as in Java Artemis */
    char *auth_open_scopes; /* scopes anyone may use without a token */
    char *cluster_token;    /* sent to peers as Authorization: Bearer; never shown */

    /* TLS (docs/security.md "TLS"; tls.h) */
    char *tls_cert;          /* PEM chain; "" = no TLS */
    char *tls_key;           /* PEM private key */
    char *tls_listen;        /* IP:PORT of a TLS listener beside `listen`; "" = TLS on `listen` */
    char *tls_client_ca;     /* CA bundle for client certificates */
    char *tls_verify_client; /* none | optional | require */
    char *tls_ca;            /* CA bundle peers' https:// URLs are verified against */

    /* request validation */
    int64_t registry_max_instances_per_request;
    int64_t registry_max_string_bytes;
    int64_t discovery_max_configs_per_request; /* distinct services in one lookup */
    int64_t discovery_max_answer_bytes;        /* largest lookup answer built */

    /* cluster (protocol.md §6; docs/cluster.md) */
    int64_t cluster_status_interval_ms; /* peer polling period */
    int64_t cluster_status_retries;     /* extra attempts of a failed poll */
    int64_t cluster_sync_interval_ms;   /* bootstrap attempt period while starting */
    int64_t cluster_max_wait_ms;        /* ours: come up alone after this with no peer up */
    bool cluster_force_up;              /* skip bootstrap */
    int64_t repl_batch_size;
    int64_t repl_batch_delay_ms;
    int64_t repl_queue_max; /* per peer */
    int64_t repl_register_ttl_ms, repl_heartbeat_ttl_ms, repl_unregister_ttl_ms;
    int64_t repl_connect_timeout_ms, repl_timeout_ms, repl_bootstrap_timeout_ms;
    int64_t repl_max_inflight; /* ours: concurrent batches per peer */
    int64_t repl_backoff_max_ms;

    int64_t discovery_cache_count; /* accepted for compatibility only */
    int64_t discovery_cache_init_delay_ms;
    int64_t discovery_cache_interval_ms;

    /* bookkeeping, not options */
    char *config_path;          /* the --config file, NULL if none */
    srv_config_kv_t *overrides; /* command-line options, in order */
    size_t n_overrides;
    char **ignored; /* unknown artemis.* keys seen in the file */
    size_t n_ignored;
} srv_config_t;

/* Set every default. */
void srv_config_init(srv_config_t *c);
/* Free owned strings and lists; c may be re-initialised afterwards. */
void srv_config_free(srv_config_t *c);

/*
 * Parse argv (argv[0] skipped): --key=value, --key value, --config FILE / --config=FILE,
 * -h/--help, --version. A BOOL option given as a bare flag (--http.gzip-responses with no
 * value or followed by another --option) means true. c must come from srv_config_init();
 * then the config file (if --config appears anywhere) and then the other options are applied,
 * so the command line wins; finally data-dir is checked (missing is fine, something that is not
 * a directory is an error). The overrides are saved in c for srv_config_reload(). When
 * --help or --version is present, nothing is loaded or applied (so help works even with a bad
 * file) and 0 is returned with *want_help / *want_version set.
 * On error returns -1 with one line naming the key or file in err (caller prints, exits 2);
 * c is then partly updated but still valid for srv_config_free().
 */
int srv_config_parse_args(srv_config_t *c, int argc, char **argv, int *want_help, int *want_version,
                          char *err, size_t errlen);

/*
 * Load one file: `key = value` lines, '#' comment lines, blank lines, spaces around key and
 * value trimmed, later lines win. Keys are full names or aliases. An unknown key starting
 * with "artemis." is ignored and recorded (srv_config_ignored); any other unknown key is an
 * error. Only a regular file of at most SRV_CONFIG_MAX_FILE_BYTES is read (a device or FIFO is
 * refused without reading: "PATH: not a regular file"); failing to allocate its buffer is an
 * error too ("PATH: cannot read: Cannot allocate memory"), never a silently skipped file.
 * Errors read "PATH:LINE: ..." or "PATH: ...". Returns 0 / -1.
 */
int srv_config_load_file(srv_config_t *c, const char *path, char *err, size_t errlen);

/* Set one key by full name or alias (no leading dashes). Returns 0 / -1 with err
 * ("KEY: value 'x' is not an integer", "KEY: 5 is out of range [1000..604800000]",
 * "unknown key 'foo'"). */
int srv_config_set(srv_config_t *c, const char *key, const char *value, char *err, size_t errlen);

/*
 * SIGHUP: build a fresh copy from defaults + `path` (NULL = c->config_path; NULL there too =
 * no file) + the saved command-line overrides (which still win), then copy only the
 * reloadable keys into *c and replace the ignored-key list. Non-reloadable keys whose value
 * changed are listed in note as "KEY: restart needed" joined by "; " ("" when none) and are
 * not applied. Returns 0, or -1 with err and *c untouched.
 */
int srv_config_reload(srv_config_t *c, const char *path, char *note, size_t notelen, char *err,
                      size_t errlen);

/* Usage text: every key, its alias, default, range, reloadability and help. */
void srv_config_print_help(FILE *out);

/*
 * Effective values as strings, in table order:
 *   for (i = 0; srv_config_item(c, i, &key, buf, sizeof buf); i++)
 * Returns 1 and fills key (full name) and val (truncated to vallen) while i is in range,
 * else 0. Passwords in management-db are shown as "***".
 */
int srv_config_item(const srv_config_t *c, size_t i, const char **key, char *val, size_t vallen);

/* Number of options in the table. */
size_t srv_config_count(void);

/* i-th ignored file key, or NULL past the end. */
const char *srv_config_ignored(const srv_config_t *c, size_t i);

/* Split "HOST:PORT" / "[v6]:PORT" into host (no brackets) and port 0..65535.
 * Returns 0, or -1 when malformed or host does not fit in hostlen. */
int srv_config_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

/* The node URL peers and clients see: node_url if set, else "http://<listen>/".
 * Returns the length snprintf would write (truncated output if >= len). */
int srv_config_node_url(const srv_config_t *c, char *buf, size_t len);

#endif
