/*
 * Client-side TLS for the SDK's WebSocket connections (tls_client.h). Verification is never
 * optional: without a CA file the system's store is used, so an https:// server list can
 * not silently fall back to an unauthenticated connection.
 */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* The newest OpenSSL error as text; the queue is cleared so a later failure on this thread
 * does not report a stale one. */
static void ssl_reason(unsigned long e, char *buf, size_t len)
{
    if (!e)
        e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
}

/* A missing file says so in words (errno) rather than as a PEM parse error. */
static int readable(const char *what, const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_len, "tls: %s %s: %s", what, path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

struct ssl_ctx_st *artemisi_tls_client_ctx_new(const char *ca_file, const char *cert_file,
                                               const char *key_file, char *why, size_t why_len)
{
    char r[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_reason(0, r, sizeof(r));
        snprintf(why, why_len, "tls: cannot create a context: %s", r);
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        ssl_reason(0, r, sizeof(r));
        snprintf(why, why_len, "tls: TLS 1.2 minimum refused: %s", r);
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file) {
        if (!readable("CA file", ca_file, why, why_len))
            goto fail;
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            ssl_reason(0, r, sizeof(r));
            snprintf(why, why_len, "tls: CA file %s: %s", ca_file, r);
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ssl_reason(0, r, sizeof(r));
        snprintf(why, why_len, "tls: system CA store: %s", r);
        goto fail;
    }
    if (cert_file) {
        const char *key = key_file ? key_file : cert_file;
        if (!readable("certificate", cert_file, why, why_len) ||
            !readable("key", key, why, why_len))
            goto fail;
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
            ssl_reason(0, r, sizeof(r));
            snprintf(why, why_len, "tls: certificate %s: %s", cert_file, r);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            ssl_reason(0, r, sizeof(r));
            snprintf(why, why_len, "tls: key %s: %s", key, r);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            snprintf(why, why_len, "tls: key %s does not match certificate %s", key, cert_file);
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct ssl_st *artemisi_tls_client_ssl_new(struct ssl_ctx_st *ctx, const char *host)
{
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        goto fail;
    if (is_ip) {
        /* An address is matched against the certificate's IP SANs; SNI carries names only
         * (RFC 6066 section 3). */
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
            goto fail;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1)
            goto fail;
    }
    return ssl;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
}

void artemisi_tls_client_error(struct ssl_st *ssl, unsigned long ssl_err, char *why, size_t why_len)
{
    char r[256];
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (v != X509_V_OK) {
        ERR_clear_error();
        snprintf(why, why_len, "tls: server certificate: %s", X509_verify_cert_error_string(v));
        return;
    }
    ssl_reason(ssl_err, r, sizeof(r));
    snprintf(why, why_len, "tls: %s", r);
}
