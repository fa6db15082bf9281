/*
 * Client-side TLS for the SDK's WebSocket connections (wss://): one SSL_CTX per client that
 * always verifies the server (a CA file, or the system's default verify paths), optionally
 * presents a client certificate, and one SSL per connection carrying SNI and the host name
 * (or IP address) the certificate must match. The HTTP calls get the same files through
 * libcurl (artemisi_http_set_tls).
 *
 * Thread-safety: handle. The SDK makes, uses and frees these on its loop thread only.
 */
#ifndef ARTEMIS_SDK_TLS_CLIENT_H
#define ARTEMIS_SDK_TLS_CLIENT_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/* New client context: TLS 1.2+, peer verification on, CAs from ca_file (NULL: the system's
 * default verify paths), client certificate chain cert_file with key_file (NULL: the key is
 * in cert_file) when cert_file is set. NULL on failure with a one-line reason in why (a file
 * name and OpenSSL's reason; never key material). Free with SSL_CTX_free(). */
struct ssl_ctx_st *artemisi_tls_client_ctx_new(const char *ca_file, const char *cert_file,
                                               const char *key_file, char *why, size_t why_len);
/* New connection object for host (a DNS name or an IP literal, without brackets): SNI for
 * names, and the certificate must match host. NULL on OOM or a refused host. */
struct ssl_st *artemisi_tls_client_ssl_new(struct ssl_ctx_st *ctx, const char *host);
/* One line on why the handshake of ssl failed (the verification result when it was the
 * certificate, else OpenSSL's newest error, then the error queue is cleared). */
void artemisi_tls_client_error(struct ssl_st *ssl, unsigned long ssl_err, char *why,
                               size_t why_len);

#endif
