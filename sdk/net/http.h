/*
 * Asynchronous HTTP client on a libevent event_base: libcurl's multi "socket" interface
 * (CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION + curl_multi_socket_action) driven by
 * libevent events, so requests never block the loop. Shared by the server (peer replication,
 * health polling, bootstrap) and the SDK (registry and discovery calls).
 *
 * One artemisi_http_t owns one curl multi handle, so TCP connections to the same host are
 * kept alive and reused across requests. Responses may be gzip-compressed (they are
 * decompressed); bodies above 64 MiB fail the request (CURLE_WRITE_ERROR).
 *
 * Thread-safety: handle. Every call and every callback happens on the base's thread.
 * curl_global_init() is called once (pthread_once) by artemisi_http_new().
 */
#ifndef ARTEMIS_SDK_HTTP_H
#define ARTEMIS_SDK_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct artemisi_http artemisi_http_t;

/* Largest response body accepted. */
#define ARTEMISI_HTTP_MAX_BODY ((size_t)64 * 1024 * 1024)

/* err: 0 ok (any HTTP status), else a CURLcode-derived transport error; status: HTTP status or 0;
 * body: response body (decompressed; NUL-terminated), valid only during the callback. */
typedef void (*artemisi_http_cb)(void *ud, int err, long status, const char *body, size_t len);

artemisi_http_t *artemisi_http_new(struct event_base *base); /* NULL on failure */
/* Cancels pending requests WITHOUT calling their callbacks. May be called from a callback
 * (the handle is then released when the callback returns). */
void artemisi_http_free(artemisi_http_t *h);
/* POST a JSON body (copied) to url (copied); gzip=1 sends it gzip-compressed with Content-Encoding:
 * gzip (as Java Artemis clients do). timeout_ms bounds the whole request, connect_timeout_ms the
 * connect. Returns a request id > 0, or 0 if it could not be started (cb is then NOT called).
 * Callback runs on the base's thread, exactly once unless cancelled. */
uint64_t artemisi_http_post_json(artemisi_http_t *h, const char *url, const char *body, size_t len,
                                 long timeout_ms, long connect_timeout_ms, int gzip,
                                 artemisi_http_cb cb, void *ud);
/* A body in pieces, as they arrive (decompressed): 0 to go on, -1 to fail the request
 * (CURLE_WRITE_ERROR). Runs inside curl: it must not call into the artemisi_http_t. */
typedef int (*artemisi_http_data_cb)(void *ud, const char *data, size_t len);
/* As artemisi_http_post_json (without gzip of the request body), but a 2xx response body
 * goes to on_data piece by piece instead of being collected, with no size limit of its own
 * (a peer's bootstrap copy, ~400 bytes per instance); cb then gets an empty body. Other
 * statuses are collected and passed to cb as usual. */
uint64_t artemisi_http_post_json_stream(artemisi_http_t *h, const char *url, const char *body,
                                        size_t len, long timeout_ms, long connect_timeout_ms,
                                        artemisi_http_data_cb on_data, artemisi_http_cb cb,
                                        void *ud);
/* Send "Authorization: Bearer TOKEN" on every later request of h (docs/security.md); NULL or
 * "" sends none. Returns 0, or -1 (nothing changed) when the token holds CR/LF or memory runs
 * out. The token is copied and wiped when replaced or freed. */
int artemisi_http_set_bearer(artemisi_http_t *h, const char *token);
/* TLS for later https:// requests of h: verify servers against ca_file (NULL or "" = the
 * system's store) and present cert_file/key_file as a client certificate (NULL = none).
 * Copies the paths. Returns 0, or -1 (nothing changed) when memory runs out. */
int artemisi_http_set_tls(artemisi_http_t *h, const char *ca_file, const char *cert_file,
                          const char *key_file);
void artemisi_http_cancel(artemisi_http_t *h, uint64_t id); /* no callback afterwards */
size_t artemisi_http_pending(const artemisi_http_t *h);

/* Text of a transport error code passed to a callback (curl_easy_strerror). */
const char *artemisi_http_strerror(int err);

#endif
