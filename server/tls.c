/*
 * Server TLS contexts (tls.h). OpenSSL 3 through libevent's bufferevent_openssl.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"

struct srv_tls {
    SSL_CTX *ctx;       /* for new connections; open ones hold their own reference */
    char not_after[32]; /* of ctx's certificate, RFC 3339 UTC */
};

/* The reason of the newest OpenSSL error, then the queue is cleared so a later failure does
 * not report a stale one. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
    return buf;
}

/* A missing or unreadable file says so in words (errno) rather than as a PEM error. */
static int check_readable(const char *key, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", key, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

/* ALPN: we speak HTTP/1.1 only. A client offering other protocols alone still gets a
 * connection without ALPN (NOACK) rather than a failed handshake. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int verify_mode(const char *v)
{
    if (strcmp(v, "require") == 0)
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    if (strcmp(v, "optional") == 0)
        return SSL_VERIFY_PEER;
    return SSL_VERIFY_NONE;
}

static SSL_CTX *build_ctx(const srv_config_t *c, char *not_after, size_t nalen, char *err,
                          size_t errlen)
{
    char why[256];
    if (!*c->tls_key) {
        snprintf(err, errlen, "tls.key: required with tls.cert");
        return NULL;
    }
    int mode = verify_mode(c->tls_verify_client);
    if (mode != SSL_VERIFY_NONE && !*c->tls_client_ca) {
        snprintf(err, errlen, "tls.verify-client: %s needs tls.client-ca", c->tls_verify_client);
        return NULL;
    }
    if (check_readable("tls.cert", c->tls_cert, err, errlen) != 0 ||
        check_readable("tls.key", c->tls_key, err, errlen) != 0 ||
        (*c->tls_client_ca && check_readable("tls.client-ca", c->tls_client_ca, err, errlen) != 0))
        return NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "tls: cannot create a context: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    /* TLS 1.2+ and OpenSSL's default cipher lists; renegotiation is a DoS lever we do not
     * need. libevent may hand SSL_write a moved buffer after a partial write. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
        snprintf(err, errlen, "tls.cert: cannot load %s: %s", c->tls_cert,
                 ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "tls.key: cannot load %s: %s", c->tls_key,
                 ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls.key: %s does not match the certificate of tls.cert", c->tls_key);
        goto fail;
    }
    if (mode != SSL_VERIFY_NONE) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, c->tls_client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(err, errlen, "tls.client-ca: cannot load %s: %s", c->tls_client_ca,
                     ssl_reason(why, sizeof(why)));
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
        SSL_CTX_set_verify(ctx, mode, NULL);
    }
    /* Resumed sessions must stay bound to this server's client-certificate policy. */
    static const unsigned char sid_ctx[] = "artemis-server";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);

    not_after[0] = '\0';
    X509 *x = SSL_CTX_get0_certificate(ctx);
    struct tm tm;
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        strftime(not_after, nalen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ERR_clear_error();
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* A private key others can read is a finding, not a reason to refuse to serve. */
static void warn_key_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        srv_log(SRV_LOG_WARN, "tls.key: %s is readable by every user (chmod 600 it)", path);
}

int srv_tls_init(srv_server_t *srv, char *err, size_t errlen)
{
    const srv_config_t *c = &srv->cfg;
    if (!*c->tls_cert) {
        if (*c->tls_listen || *c->tls_key) {
            snprintf(err, errlen, "%s: needs tls.cert", *c->tls_listen ? "tls.listen" : "tls.key");
            return -1;
        }
        return 0;
    }
    struct srv_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "tls: out of memory");
        return -1;
    }
    t->ctx = build_ctx(c, t->not_after, sizeof(t->not_after), err, errlen);
    if (!t->ctx) {
        free(t);
        return -1;
    }
    warn_key_mode(c->tls_key);
    srv->tls = t;
    srv_log(SRV_LOG_INFO, "tls: serving TLS on %s (certificate notAfter %s)",
            *c->tls_listen ? c->tls_listen : c->listen, t->not_after);
    return 0;
}

int srv_tls_enabled(const srv_server_t *srv)
{
    return srv->tls != NULL;
}

int srv_tls_on_main_listener(const srv_server_t *srv)
{
    return srv->tls && !*srv->cfg.tls_listen;
}

struct bufferevent *srv_tls_bev_new(srv_server_t *srv, evutil_socket_t fd)
{
    SSL *ssl = SSL_new(srv->tls->ctx); /* takes a reference on the context */
    if (!ssl)
        return NULL;
    /* On failure libevent has already taken the SSL (BEV_OPT_CLOSE_ON_FREE frees it), so it
     * is not freed here; the caller treats NULL as out of memory. */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev)
        /* Clients commonly close without close_notify; that is the end of the connection,
         * not an error worth a different path. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void srv_tls_reload(srv_server_t *srv)
{
    const srv_config_t *c = &srv->cfg;
    if (!srv->tls) {
        if (*c->tls_cert)
            srv_log(SRV_LOG_WARN, "SIGHUP: tls.cert: TLS was off at start; restart to enable it");
        return;
    }
    if (!*c->tls_cert) {
        srv_log(SRV_LOG_WARN, "SIGHUP: tls.cert: cannot turn TLS off by reload; keeping the "
                              "current certificate");
        return;
    }
    char err[512], na[32];
    SSL_CTX *ctx = build_ctx(c, na, sizeof(na), err, sizeof(err));
    if (!ctx) {
        srv_log(SRV_LOG_ERROR, "SIGHUP: keeping the current certificate: %s", err);
        return;
    }
    warn_key_mode(c->tls_key);
    SSL_CTX_free(srv->tls->ctx); /* open connections keep it alive through their SSL */
    srv->tls->ctx = ctx;
    snprintf(srv->tls->not_after, sizeof(srv->tls->not_after), "%s", na);
    srv_log(SRV_LOG_INFO, "SIGHUP: TLS certificate reloaded (notAfter %s)", na);
}

const char *srv_tls_not_after(const srv_server_t *srv)
{
    return srv->tls ? srv->tls->not_after : "";
}

void srv_tls_free(srv_server_t *srv)
{
    if (!srv->tls)
        return;
    SSL_CTX_free(srv->tls->ctx);
    free(srv->tls);
    srv->tls = NULL;
}

int srv_tls_verifies_clients(const srv_server_t *srv)
{
    return srv->tls && srv->cfg.tls_verify_client &&
           strcmp(srv->cfg.tls_verify_client, "none") != 0;
}

int srv_tls_peer_is_node(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    X509 *own = SSL_get_certificate(ssl); /* the node's certificate on this connection */
    int same = peer && own && X509_cmp(peer, own) == 0;
    X509_free(peer);
    return same;
}
