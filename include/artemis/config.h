/*
 * Client configuration: an opaque builder whose constructor fills every default, with
 * typed setters that validate at set time. artemis_client_new() copies what it needs, so
 * the caller may free the config right after.
 * Thread-safety: handle (one config, one thread at a time).
 */
#ifndef ARTEMIS_CONFIG_H
#define ARTEMIS_CONFIG_H

#include <stdint.h>

#include "artemis/error.h"
#include "artemis/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct artemis_config artemis_config_t;

typedef enum artemis_mode {
    ARTEMIS_MODE_THREADED = 0,     /* the SDK runs its own loop in a background thread */
    ARTEMIS_MODE_EXTERNAL_LOOP = 1 /* the application's libevent loop drives the SDK */
} artemis_mode_t;

typedef enum artemis_log_level {
    ARTEMIS_LOG_DEBUG = 0,
    ARTEMIS_LOG_INFO = 1,
    ARTEMIS_LOG_WARN = 2,
    ARTEMIS_LOG_ERROR = 3,
    ARTEMIS_LOG_NONE = 4
} artemis_log_level_t;

/* Log callback: level, module name ("registry", "discovery", "http", "ws", "cache"), one
 * line. Called on the SDK thread (threaded mode) or the loop thread (external loop). */
typedef void (*artemis_log_cb)(void *userdata, artemis_log_level_t level, const char *module,
                               const char *message);

/* New config with every default:
 *   servers "http://127.0.0.1:8080", region "default", zone "default", mode THREADED,
 *   heartbeat interval 5000 ms, request timeout 2000 ms, connect timeout 1000 ms,
 *   poll interval 60000 ms (fallback polling / reconcile of watched services),
 *   node refresh 300000 ms (up-registry-nodes / up-discovery-nodes), cache dir NULL (no disk
 *   snapshot), empty-confirm 30000 ms, log level WARN (ARTEMIS_DEBUG=1 in the environment
 *   sends DEBUG to stderr when no callback is set), no log callback, TLS verified against the
 *   system's CA store, no client certificate.
 * Returns NULL on OOM. Free with artemis_config_free(). */
ARTEMIS_EXPORT artemis_config_t *artemis_config_new(void);
ARTEMIS_EXPORT void artemis_config_free(artemis_config_t *cfg);

/* Comma-separated server base URLs (http://host:port[/path]). Copied. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_servers(artemis_config_t *cfg, const char *urls);
/* Region and zone of this client (sent with every lookup and registration). Copied. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_region(artemis_config_t *cfg, const char *region);
ARTEMIS_EXPORT artemis_err_t artemis_config_set_zone(artemis_config_t *cfg, const char *zone);
ARTEMIS_EXPORT artemis_err_t artemis_config_set_mode(artemis_config_t *cfg, artemis_mode_t mode);
/* 500..300000 ms. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_heartbeat_interval_ms(artemis_config_t *cfg,
                                                                      int64_t ms);
/* 50..60000 ms: one HTTP call (per attempt). */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_request_timeout_ms(artemis_config_t *cfg,
                                                                   int64_t ms);
/* 1000..86400000 ms. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_poll_interval_ms(artemis_config_t *cfg, int64_t ms);
/* Directory for disk snapshots of the discovery cache (created if missing); NULL disables. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_cache_dir(artemis_config_t *cfg, const char *dir);
/* Access token for a server started with auth.tokens-file (docs/security.md): sent as
 * "Authorization: Bearer TOKEN" on every HTTP call and WebSocket upgrade. The server needs it
 * only for the scopes it closed (auth.open-scopes; register and discover are open by default).
 * Copied, and wiped from memory when replaced or freed; never logged. NULL or "" sends none
 * (the default). ARTEMIS_ERR_INVALID_ARG: longer than 512 bytes, or holds a space or a
 * control character. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_token(artemis_config_t *cfg, const char *token);
ARTEMIS_EXPORT artemis_err_t artemis_config_set_log_cb(artemis_config_t *cfg, artemis_log_cb cb,
                                                       void *userdata);
ARTEMIS_EXPORT artemis_err_t artemis_config_set_log_level(artemis_config_t *cfg,
                                                          artemis_log_level_t level);
/* TLS towards https:// servers (and wss:// for the heartbeat and watch sockets, which follow
 * the server URL's scheme). The server's certificate is always verified, host name included:
 * against the PEM bundle ca_file, or against the system's default store when ca_file is NULL
 * (the default). 1..4095 bytes; the file is read when a connection is made. Copied. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_tls_ca_file(artemis_config_t *cfg,
                                                            const char *ca_file);
/* Client certificate presented to servers that ask for one (--tls.verify-client): PEM files
 * cert_file (the chain) and key_file (NULL: the key is in cert_file). cert_file NULL presents
 * none (the default; key_file must then be NULL too). Copied. */
ARTEMIS_EXPORT artemis_err_t artemis_config_set_tls_client_cert(artemis_config_t *cfg,
                                                                const char *cert_file,
                                                                const char *key_file);

#ifdef __cplusplus
}
#endif

#endif
