/*
 * WebSocket client for the SDK (see wsclient.h): a bufferevent on the caller's event_base
 * carries the HTTP/1.1 Upgrade handshake and then RFC 6455 frames, encoded and parsed by the
 * shared codec (ws_frame.h) in its client role.
 *
 * Why not libwebsockets: Debian's lws 4.1.6 is built without libevent support and without
 * external poll (LWS_WITH_EXTERNAL_POLL), so it cannot share the SDK's event loop; it would
 * need a thread and a loop of its own. The codec is already written and fuzzed for the
 * server, and the client side adds only the handshake and masking.
 *
 * wss:// (and https:// base URLs) run the same bytes through bufferevent_openssl: the
 * SSL object comes from the caller's SSL_CTX (tls_client.h) with SNI and the host name to
 * verify, and BEV_EVENT_CONNECTED arrives only once the TLS handshake has completed.
 *
 * Lifecycle: CONNECTING (DNS + TCP [+ TLS]) -> HANDSHAKE (request sent, waiting for 101) -> OPEN ->
 * CLOSING (we sent a close frame) -> DONE. Every way into DONE goes through finish(), which
 * tears the connection down and activates the handle's timer event; the timer callback then
 * delivers on_close, so on_close never runs inside an API call and runs exactly once. The
 * same timer bounds connect + handshake and the wait for the server's close frame.
 * Callbacks may free the handle: `depth` counts our libevent callbacks on the stack, and the
 * release happens when the outermost one returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "tls_client.h"
#include "url_join.h"
#include "ws_frame.h"
#include "wsclient.h"

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_DONE };

/* A kept output buffer bigger than this is released after a send. */
#define WSC_KEEP_OUT (64 * 1024)

struct artemisi_wsc {
    struct event_base *base;
    struct evdns_base *dns; /* only for host names */
    struct bufferevent *bev;
    SSL *ssl; /* wss:// only; owned by bev (BEV_OPT_CLOSE_ON_FREE), kept for error reports */
    struct event *timer;
    artemisi_wsc_callbacks_t cb;
    void *ud;
    artemisi_ws_parser_t *parser;
    int state;
    int depth;    /* our libevent callbacks on the stack */
    int freed;    /* artemisi_wsc_free() was called */
    int reported; /* on_close was delivered */
    int close_code;
    char close_reason[128];
    char host[256];
    int port;
    char *path;
    char *bearer; /* access token for the handshake, NULL = none; wiped on release */
    char key[25];
    char accept[29];
    artemisi_buf_t out;
    unsigned char rnd[64];
    size_t rnd_left;
};

static void destroy(artemisi_wsc_t *w)
{
    if (w->bev)
        bufferevent_free(w->bev);
    if (w->dns)
        evdns_base_free(w->dns, 0);
    if (w->timer)
        event_free(w->timer);
    artemisi_ws_parser_free(w->parser);
    artemisi_buf_free(&w->out);
    free(w->path);
    if (w->bearer)
        explicit_bzero(w->bearer, strlen(w->bearer));
    free(w->bearer);
    free(w);
}

static void enter(artemisi_wsc_t *w)
{
    w->depth++;
}

/* Returns 1 if the handle is gone (or going): the caller must not touch it. */
static int leave(artemisi_wsc_t *w)
{
    if (--w->depth == 0 && w->freed) {
        destroy(w);
        return 1;
    }
    return w->freed;
}

/* End the connection: drop the socket (after a best-effort write of what is queued, such as
 * our close frame) and schedule on_close(code, reason). Later calls do nothing. */
static void finish(artemisi_wsc_t *w, int code, const char *reason, size_t rlen)
{
    if (w->state == ST_DONE)
        return;
    w->state = ST_DONE;
    w->close_code = code;
    if (rlen >= sizeof(w->close_reason))
        rlen = sizeof(w->close_reason) - 1;
    memcpy(w->close_reason, reason, rlen);
    w->close_reason[rlen] = '\0';
    if (w->bev && !w->ssl) {
        /* The bufferevent keeps its output buffer's drain side frozen, so evbuffer_write()
         * and evbuffer_copyout() refuse: peek at the queued bytes (our close frame, small)
         * and send them ourselves, never blocking. */
        struct evbuffer *out = bufferevent_get_output(w->bev);
        evutil_socket_t fd = bufferevent_getfd(w->bev);
        struct evbuffer_iovec vec[4];
        int nv = evbuffer_peek(out, -1, NULL, vec, 4);
        if (fd >= 0 && nv > 0) {
            struct msghdr mh;
            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = (struct iovec *)vec;
            mh.msg_iovlen = (size_t)(nv < 4 ? nv : 4);
            (void)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
    /* Over TLS the queued bytes would have to be encrypted first, which a raw send cannot
     * do: the close frame is lost there, and the server sees the connection end instead. */
    if (w->bev) {
        bufferevent_free(w->bev);
        w->bev = NULL;
        w->ssl = NULL;
    }
    event_del(w->timer);
    event_active(w->timer, EV_TIMEOUT, 1);
}

static void finish_str(artemisi_wsc_t *w, int code, const char *reason)
{
    finish(w, code, reason, strlen(reason));
}

static int rand_mask(artemisi_wsc_t *w, unsigned char mask[4])
{
    if (w->rnd_left < 4) {
        size_t got = 0;
        while (got < sizeof(w->rnd)) {
            ssize_t n = getrandom(w->rnd + got, sizeof(w->rnd) - got, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            got += (size_t)n;
        }
        w->rnd_left = sizeof(w->rnd);
    }
    memcpy(mask, w->rnd + sizeof(w->rnd) - w->rnd_left, 4);
    w->rnd_left -= 4;
    return 0;
}

static int send_frame(artemisi_wsc_t *w, int opcode, const void *data, size_t len)
{
    unsigned char mask[4];
    if (!w->bev || rand_mask(w, mask) != 0)
        return -1;
    artemisi_buf_reset(&w->out);
    int rc = artemisi_ws_frame_append_masked(&w->out, opcode, data, len, mask);
    if (rc == 0 && bufferevent_write(w->bev, w->out.data, w->out.len) != 0)
        rc = -1;
    if (w->out.cap > WSC_KEEP_OUT)
        artemisi_buf_free(&w->out);
    return rc;
}

/* Queue a masked close frame; code 0 sends an empty payload. */
static int send_close(artemisi_wsc_t *w, int code, const char *reason)
{
    artemisi_buf_t c = ARTEMISI_BUF_INIT;
    int rc = artemisi_ws_close_append(&c, code, reason);
    if (rc == 0)
        rc = send_frame(w, ARTEMISI_WS_OP_CLOSE, c.data + 2, c.len - 2);
    artemisi_buf_free(&c);
    return rc;
}

/* ---- handshake ------------------------------------------------------------------------ */

static int send_request(artemisi_wsc_t *w)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    int v6 = strchr(w->host, ':') != NULL;
    int rc = artemisi_buf_appendf(&b, "GET %s HTTP/1.1\r\nHost: %s%s%s", w->path, v6 ? "[" : "",
                                  w->host, v6 ? "]" : "");
    if (rc == 0 && w->port != (w->ssl ? 443 : 80))
        rc = artemisi_buf_appendf(&b, ":%d", w->port);
    if (rc == 0)
        rc = artemisi_buf_appendf(&b,
                                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                                  w->key);
    if (rc == 0 && w->bearer) /* a header, not ?access_token=: URLs end up in access logs */
        rc = artemisi_buf_appendf(&b, "Authorization: Bearer %s\r\n", w->bearer);
    if (rc == 0)
        rc = artemisi_buf_appendf(&b, "\r\n");
    if (rc == 0 && bufferevent_write(w->bev, b.data, b.len) != 0)
        rc = -1;
    if (b.data) /* held the token */
        explicit_bzero(b.data, b.len);
    artemisi_buf_free(&b);
    return rc;
}

static int token_in_list(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return 1;
    }
    return 0;
}

/* Check a complete response head (NUL-terminated, ends with CRLF CRLF). NULL if it accepts
 * the upgrade, else the reason (possibly written into w->close_reason). */
static const char *check_head(artemisi_wsc_t *w, const char *head, size_t len)
{
    if (memchr(head, '\0', len))
        return "handshake: NUL in response head";
    const char *eol = strstr(head, "\r\n");
    if (strncmp(head, "HTTP/1.1 ", 9) != 0)
        return "handshake: not an HTTP/1.1 response";
    if (strncmp(head + 9, "101", 3) != 0 || (head[12] != ' ' && head + 12 != eol)) {
        snprintf(w->close_reason, sizeof(w->close_reason), "handshake: HTTP status %.3s", head + 9);
        return w->close_reason;
    }
    int upgrade = 0, connection = 0, accept = 0;
    const char *line = eol + 2;
    for (;;) {
        eol = strstr(line, "\r\n");
        if (eol == line)
            break; /* the blank line */
        if (*line == ' ' || *line == '\t')
            return "handshake: folded header line";
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line)
            return "handshake: malformed header line";
        size_t nl = (size_t)(colon - line);
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
#define NAME_IS(s) (nl == sizeof(s) - 1 && strncasecmp(line, s, nl) == 0)
        if (NAME_IS("Upgrade")) {
            if (vl == 9 && strncasecmp(v, "websocket", 9) == 0)
                upgrade = 1;
        } else if (NAME_IS("Connection")) {
            if (token_in_list(v, vl, "upgrade"))
                connection = 1;
        } else if (NAME_IS("Sec-WebSocket-Accept")) {
            if (accept || vl != 28 || memcmp(v, w->accept, 28) != 0)
                return "handshake: bad Sec-WebSocket-Accept";
            accept = 1;
        } else if (NAME_IS("Sec-WebSocket-Extensions") || NAME_IS("Sec-WebSocket-Protocol")) {
            return "handshake: extension or subprotocol we did not ask for";
        }
#undef NAME_IS
        line = eol + 2;
    }
    if (!upgrade)
        return "handshake: no Upgrade: websocket";
    if (!connection)
        return "handshake: no Connection: Upgrade";
    if (!accept)
        return "handshake: no Sec-WebSocket-Accept";
    return NULL;
}

static void handle_head(artemisi_wsc_t *w)
{
    struct evbuffer *in = bufferevent_get_input(w->bev);
    struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (pos.pos < 0) {
        if (evbuffer_get_length(in) >= ARTEMISI_WSC_MAX_HEAD)
            finish_str(w, ARTEMISI_WSC_ABNORMAL, "handshake: response head too large");
        return;
    }
    size_t hlen = (size_t)pos.pos + 4;
    if (hlen > ARTEMISI_WSC_MAX_HEAD) {
        finish_str(w, ARTEMISI_WSC_ABNORMAL, "handshake: response head too large");
        return;
    }
    char head[ARTEMISI_WSC_MAX_HEAD + 1];
    if (evbuffer_remove(in, head, hlen) != (int)hlen) {
        finish_str(w, ARTEMISI_WSC_ABNORMAL, "handshake: read error");
        return;
    }
    head[hlen] = '\0';
    const char *why = check_head(w, head, hlen);
    if (why) {
        char copy[sizeof(w->close_reason)];
        snprintf(copy, sizeof(copy), "%s", why);
        finish_str(w, ARTEMISI_WSC_ABNORMAL, copy);
        return;
    }
    w->state = ST_OPEN;
    event_del(w->timer);
    if (!w->freed && w->cb.on_open)
        w->cb.on_open(w->ud);
}

/* ---- frames --------------------------------------------------------------------------- */

static void handle_frames(artemisi_wsc_t *w)
{
    while (!w->freed && (w->state == ST_OPEN || w->state == ST_CLOSING)) {
        struct evbuffer *in = bufferevent_get_input(w->bev);
        struct evbuffer_iovec vec;
        size_t len = 0;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) > 0)
            len = vec.iov_len;
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(w->parser, len ? vec.iov_base : "", len, &ev);
        evbuffer_drain(in, used);
        switch (ev.type) {
        case ARTEMISI_WS_EV_NONE:
            if (evbuffer_get_length(in) == 0)
                return;
            break;
        case ARTEMISI_WS_EV_TEXT:
            if (w->cb.on_text)
                w->cb.on_text(w->ud, ev.data, ev.len);
            break;
        case ARTEMISI_WS_EV_BINARY:
            break; /* Artemis sends only text; a binary message is ignored */
        case ARTEMISI_WS_EV_PING:
            if (w->state == ST_OPEN)
                send_frame(w, ARTEMISI_WS_OP_PONG, ev.data, ev.len);
            break;
        case ARTEMISI_WS_EV_PONG:
            if (w->cb.on_pong)
                w->cb.on_pong(w->ud);
            break;
        case ARTEMISI_WS_EV_CLOSE:
            if (w->state == ST_OPEN) /* echo the code (section 5.5.1) */
                send_close(w, ev.close_code == ARTEMISI_WS_CLOSE_NO_STATUS ? 0 : ev.close_code,
                           NULL);
            finish(w, ev.close_code, ev.data, ev.len);
            return;
        case ARTEMISI_WS_EV_ERROR:
        default: {
            const char *why = ev.close_code == ARTEMISI_WS_CLOSE_TOO_BIG        ? "message too big"
                              : ev.close_code == ARTEMISI_WS_CLOSE_INVALID_DATA ? "invalid UTF-8"
                              : ev.close_code == ARTEMISI_WS_CLOSE_INTERNAL     ? "out of memory"
                                                                                : "protocol error";
            if (w->state == ST_OPEN)
                send_close(w, ev.close_code, why);
            finish_str(w, ev.close_code, why);
            return;
        }
        }
    }
}

/* ---- libevent callbacks --------------------------------------------------------------- */

static void read_cb(struct bufferevent *bev, void *arg)
{
    artemisi_wsc_t *w = arg;
    (void)bev;
    enter(w);
    if (w->state == ST_HANDSHAKE)
        handle_head(w);
    if (!w->freed && (w->state == ST_OPEN || w->state == ST_CLOSING))
        handle_frames(w);
    leave(w);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    artemisi_wsc_t *w = arg;
    char why[512];
    enter(w);
    if (what & BEV_EVENT_CONNECTED) {
        if (w->state == ST_CONNECTING) {
            w->state = ST_HANDSHAKE;
            if (send_request(w) != 0)
                finish_str(w, ARTEMISI_WSC_ABNORMAL, "handshake: out of memory");
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        int err = EVUTIL_SOCKET_ERROR();
        int dns_err = bufferevent_socket_get_dns_error(bev);
        unsigned long tls_err = w->ssl ? bufferevent_get_openssl_error(bev) : 0;
        if (dns_err)
            snprintf(why, sizeof(why), "dns: %s: %s", w->host, evutil_gai_strerror(dns_err));
        else if (tls_err || (w->ssl && SSL_get_verify_result(w->ssl) != X509_V_OK))
            artemisi_tls_client_error(w->ssl, tls_err, why, sizeof(why));
        else if (w->state == ST_CONNECTING)
            snprintf(why, sizeof(why), "connect: %s", evutil_socket_error_to_string(err));
        else if (what & BEV_EVENT_EOF)
            snprintf(why, sizeof(why), "connection closed by the server");
        else
            snprintf(why, sizeof(why), "connection error: %s", evutil_socket_error_to_string(err));
        /* Frames that arrived with the EOF are still delivered (e.g. a close frame). */
        if (what & BEV_EVENT_EOF)
            read_cb(bev, w);
        if (!w->freed)
            finish_str(w, ARTEMISI_WSC_ABNORMAL, why);
    }
    leave(w);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    artemisi_wsc_t *w = arg;
    (void)fd;
    (void)what;
    enter(w);
    switch (w->state) {
    case ST_DONE:
        if (!w->reported && !w->freed) {
            w->reported = 1;
            if (w->cb.on_close)
                w->cb.on_close(w->ud, w->close_code, w->close_reason);
        }
        break;
    case ST_CONNECTING:
    case ST_HANDSHAKE:
        finish_str(w, ARTEMISI_WSC_ABNORMAL,
                   w->state == ST_CONNECTING ? "connect timeout" : "handshake timeout");
        break;
    case ST_CLOSING:
        finish_str(w, ARTEMISI_WSC_ABNORMAL, "no close frame from the server");
        break;
    default:
        break;
    }
    leave(w);
}

/* ---- API ------------------------------------------------------------------------------ */

static int start_connect(artemisi_wsc_t *w)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, w->host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)w->port);
        return bufferevent_socket_connect(w->bev, (struct sockaddr *)&sin, (int)sizeof(sin));
    }
    if (inet_pton(AF_INET6, w->host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)w->port);
        return bufferevent_socket_connect(w->bev, (struct sockaddr *)&sin6, (int)sizeof(sin6));
    }
    w->dns = evdns_base_new(w->base,
                            EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!w->dns)
        return -1;
    return bufferevent_socket_connect_hostname(w->bev, w->dns, AF_UNSPEC, w->host, w->port);
}

artemisi_wsc_t *artemisi_wsc_connect(struct event_base *base, const char *url, const char *path,
                                     long connect_timeout_ms, size_t max_message,
                                     const artemisi_wsc_callbacks_t *cb, void *ud)
{
    return artemisi_wsc_connect_tls(base, url, path, connect_timeout_ms, max_message, NULL, cb, ud);
}

artemisi_wsc_t *artemisi_wsc_connect_tls(struct event_base *base, const char *url, const char *path,
                                         long connect_timeout_ms, size_t max_message,
                                         struct ssl_ctx_st *tls, const artemisi_wsc_callbacks_t *cb,
                                         void *ud)
{
    if (!base || !url || !cb)
        return NULL;
    artemisi_buf_t full = ARTEMISI_BUF_INIT;
    artemisi_wsc_t *w = calloc(1, sizeof(*w));
    if (!w || artemisi_url_join(url, path, &full) != 0)
        goto fail;
    w->path = malloc(full.len + 2);
    char scheme[8];
    if (!w->path || artemisi_url_parse(full.data, scheme, sizeof(scheme), w->host, sizeof(w->host),
                                       &w->port, w->path, full.len + 2) != 0)
        goto fail;
    int secure = strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0;
    if (secure && !tls)
        goto fail; /* never a plain connection to a TLS URL */
    w->base = base;
    w->cb = *cb;
    w->ud = ud;
    w->state = ST_CONNECTING;
    artemisi_buf_init(&w->out);
    w->parser = artemisi_ws_parser_new(max_message, 1);
    w->timer = evtimer_new(base, timer_cb, w);
    if (secure) {
        /* The host inside [] of an IPv6 URL arrives without brackets, as the check wants. */
        SSL *ssl = artemisi_tls_client_ssl_new(tls, w->host);
        if (!ssl)
            goto fail;
        /* On failure libevent has already taken the SSL (BEV_OPT_CLOSE_ON_FREE frees it). */
        w->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (w->bev) {
            w->ssl = ssl;
            /* A server that closes without close_notify has ended the connection; the
             * WebSocket close handshake, not TLS, tells a clean end from a broken one. */
            bufferevent_openssl_set_allow_dirty_shutdown(w->bev, 1);
        }
    } else {
        w->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!w->parser || !w->timer || !w->bev || artemisi_ws_client_key(w->key) != 0 ||
        artemisi_ws_accept_key(w->key, 24, w->accept) != 0)
        goto fail;
    bufferevent_setcb(w->bev, read_cb, NULL, event_cb, w);
    if (bufferevent_enable(w->bev, EV_READ | EV_WRITE) != 0)
        goto fail;
    artemisi_buf_free(&full);
    if (start_connect(w) != 0) {
        finish_str(w, ARTEMISI_WSC_ABNORMAL, "connect: could not start");
    } else if (connect_timeout_ms > 0) {
        struct timeval tv = {connect_timeout_ms / 1000, (connect_timeout_ms % 1000) * 1000};
        evtimer_add(w->timer, &tv);
    }
    return w;
fail:
    artemisi_buf_free(&full);
    if (w)
        destroy(w);
    return NULL;
}

int artemisi_wsc_send_text(artemisi_wsc_t *w, const char *data, size_t len)
{
    if (!w || w->freed || w->state != ST_OPEN || (!data && len))
        return -1;
    return send_frame(w, ARTEMISI_WS_OP_TEXT, data ? data : "", len);
}

int artemisi_wsc_ping(artemisi_wsc_t *w)
{
    if (!w || w->freed || w->state != ST_OPEN)
        return -1;
    return send_frame(w, ARTEMISI_WS_OP_PING, "", 0);
}

int artemisi_wsc_is_open(const artemisi_wsc_t *w)
{
    return w && !w->freed && w->state == ST_OPEN;
}

size_t artemisi_wsc_queued(const artemisi_wsc_t *w)
{
    if (!w || !w->bev)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(w->bev));
}

void artemisi_wsc_close(artemisi_wsc_t *w, int code)
{
    if (!w || w->freed)
        return;
    if (w->state == ST_OPEN) {
        if (!artemisi_ws_close_code_valid(code))
            code = ARTEMISI_WS_CLOSE_NORMAL;
        if (send_close(w, code, NULL) != 0) {
            finish_str(w, ARTEMISI_WSC_ABNORMAL, "could not send the close frame");
            return;
        }
        w->state = ST_CLOSING;
        struct timeval tv = {ARTEMISI_WSC_CLOSE_WAIT_MS / 1000,
                             (ARTEMISI_WSC_CLOSE_WAIT_MS % 1000) * 1000};
        evtimer_add(w->timer, &tv);
    } else if (w->state == ST_CONNECTING || w->state == ST_HANDSHAKE) {
        finish_str(w, ARTEMISI_WSC_ABNORMAL, "closed before the handshake completed");
    }
}

int artemisi_wsc_set_bearer(artemisi_wsc_t *w, const char *token)
{
    char *copy = NULL;
    if (!w || (token && strpbrk(token, "\r\n")))
        return -1;
    if (token && *token && !(copy = strdup(token)))
        return -1;
    if (w->bearer)
        explicit_bzero(w->bearer, strlen(w->bearer));
    free(w->bearer);
    w->bearer = copy;
    return 0;
}

void artemisi_wsc_free(artemisi_wsc_t *w)
{
    if (!w)
        return;
    w->freed = 1;
    if (w->depth == 0)
        destroy(w);
}
