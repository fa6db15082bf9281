/*
 * Body of the opaque artemis_config_t (include/artemis/config.h), shared by the config
 * builder and the client, which keeps its own deep copy (artemisi_config_dup) so the
 * application may free its config right after artemis_client_new().
 * Thread-safety: handle.
 */
#ifndef ARTEMIS_SDK_CONFIG_INT_H
#define ARTEMIS_SDK_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "artemis/config.h"

/* Defaults and ranges (the values documented in include/artemis/config.h). */
#define ARTEMISI_CFG_DEFAULT_SERVERS       "http://127.0.0.1:8080"
#define ARTEMISI_CFG_DEFAULT_REGION        "default"
#define ARTEMISI_CFG_DEFAULT_ZONE          "default"
#define ARTEMISI_CFG_DEFAULT_HEARTBEAT_MS  5000
#define ARTEMISI_CFG_DEFAULT_REQUEST_MS    2000
#define ARTEMISI_CFG_DEFAULT_CONNECT_MS    1000
#define ARTEMISI_CFG_DEFAULT_POLL_MS       60000
#define ARTEMISI_CFG_DEFAULT_NODE_REFRESH  300000
#define ARTEMISI_CFG_DEFAULT_EMPTY_CONFIRM 30000
#define ARTEMISI_CFG_HEARTBEAT_MIN         500
#define ARTEMISI_CFG_HEARTBEAT_MAX         300000
#define ARTEMISI_CFG_REQUEST_MIN           50
#define ARTEMISI_CFG_REQUEST_MAX           60000
#define ARTEMISI_CFG_POLL_MIN              1000
#define ARTEMISI_CFG_POLL_MAX              86400000
#define ARTEMISI_CFG_REGION_MAX            128
#define ARTEMISI_CFG_TOKEN_MAX             512  /* the server's limit (server/auth.h) */
#define ARTEMISI_CFG_PATH_MAX              4096 /* cache dir and TLS files */

struct artemis_config {
    /* Normalised base URLs: trimmed, lower-case scheme and host, no trailing '/',
     * de-duplicated, in the order given. Always at least one. */
    char **servers;
    size_t n_servers;
    char *region; /* 1..128 chars, no whitespace or control characters */
    char *zone;
    artemis_mode_t mode;
    int64_t heartbeat_interval_ms;
    int64_t request_timeout_ms;
    int64_t connect_timeout_ms;
    int64_t poll_interval_ms;
    int64_t node_refresh_ms;
    char *cache_dir; /* NULL: no disk snapshot */
    char *token;     /* access token, NULL: none; wiped before it is freed (a secret) */
    int64_t empty_confirm_ms;
    artemis_log_cb log_cb;
    void *log_ud;
    artemis_log_level_t log_level;
    char *tls_ca;   /* NULL: the system's default verify paths */
    char *tls_cert; /* NULL: no client certificate */
    char *tls_key;  /* NULL with tls_cert set: the key is in tls_cert */
};

/* Deep copy of cfg (every string and the server array). NULL if cfg is NULL or on OOM.
 * Free with artemis_config_free(). */
artemis_config_t *artemisi_config_dup(const artemis_config_t *cfg);

#endif
