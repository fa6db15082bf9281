/*
 * HTTP/1.1 connections on libevent bufferevents: accept, feed bytes to the pure request
 * parser, inflate gzip bodies, route, write responses (optionally gzip), keep-alive and
 * pipelining, and hand a connection over to the WebSocket layer on upgrade.
 *
 * We do not use evhttp: libevent 2.1 cannot detach a connection from evhttp for a
 * WebSocket upgrade, and evhttp has no limit on header count. Owning the parser also lets
 * us fuzz it (docs/design.md).
 *
 * Memory per connection is bounded: the parser enforces header and body limits, inflation
 * stops at the body limit (gzip bombs), and reading pauses while more than
 * OUT_HIGH_WATER bytes of responses wait to be written (pipelining floods).
 *
 * No answer holds the loop for long: the bootstrap copy is made and sent in slices as the
 * connection drains (srv_req_stream), a large gzipped answer is deflated a slice per loop
 * turn before it is sent whole (gzjob), and the services list goes out by reference
 * (srv_req_append_ref). While one of these, or a deferred answer, is under way the connection
 * reads no further request, so pipelined answers stay in order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "log.h"
#include "api.h"
#include "http_conn.h"
#include "http_conn_int.h"
#include "http_io.h"
#include "list.h"
#include "server.h"
#include "tls.h"
#include "ws_session.h"
#include "codec.h"
#include "gzip.h"
#include "auth.h"
#include "origin.h"
#include "url.h"
#include "ws_frame.h"

#define OUT_HIGH_WATER   SRV_HTTP_OUT_HIGH_WATER
#define MAX_SINGLE_WRITE SRV_HTTP_MAX_SINGLE_WRITE
#define REQUEST_DEADLINE SRV_HTTP_REQUEST_DEADLINE
#define GZIP_SLICE_MIN   (1u << 20) /* answers from this size on are deflated over turns */
#define GZIP_SLICE       (256u << 10)

/* The layer's own state; the rest of the server sees only http_conn.h. */
struct srv_http {
    struct evconnlistener *listener;
    struct evconnlistener *tls_listener; /* tls.listen beside the plain one, else NULL */
    srv_http_limits_t limits;
    srv_conn_t *conns; /* newest first */
    size_t n_conns;
    srv_io_pool_t *pool; /* http.io-threads > 0 */
};

/* Where the answer to c's request goes: its socket's output, or for a threaded connection the
 * buffer its thread takes over (http_io.h). */
static struct evbuffer *conn_out(srv_conn_t *c)
{
    return c->io ? c->tx : bufferevent_get_output(c->bev);
}

/* An answer in slices (api.h srv_req_stream). */
typedef struct stream {
    srv_stream_fn next;
    void (*free_ctx)(void *ctx);
    void *ctx;
    srv_gz_t *gz;     /* deflating, when the client accepts gzip */
    int chunked;      /* HTTP/1.1: chunked framing; HTTP/1.0: the connection closes at the end */
    int failed;       /* the head or first bytes could not be queued */
    int close_at_end; /* HTTP/1.0, Connection: close, or draining */
    srv_route_id_t route;
    struct timespec t0;
    artemisi_buf_t slice, zout;
} stream_t;

/* A large answer built whole (services.json of a big registry: 343 MB at 1,000,000 instances)
 * that goes out gzipped is deflated GZIP_SLICE bytes per loop turn before it is sent: deflating
 * it in one go held the loop for ~0.8 s per request. It is still sent whole, with its
 * Content-Length, so an allocation that fails half way costs only the compression: the answer
 * then goes out as it is (identity), as when srv_gzip fails. */
typedef struct gzjob {
    srv_conn_t *c;
    struct event *ev; /* a zero timer: the next slice runs after the loop has polled I/O */
    srv_gz_t *gz;
    artemisi_buf_t body, z; /* the answer, and its gzip so far */
    srv_ref_t *ref;         /* a block of the answer by reference, inside body at ref->at */
    size_t off;             /* of the whole answer, ref included */
    int status;
    const char *content_type; /* static, as handlers set it */
    char *headers;            /* the handler's extra header lines, copied */
    srv_route_id_t route;
    struct timespec t0;
} gzjob_t;

/* A slice is made when less than this waits to be written: enough to keep a fast reader's
 * socket busy, little enough that a slow one holds little memory. */
#define STREAM_LOW_WATER (256u << 10)

/* A deferred answer (api.h). The connection may go away first: then c is NULL and the answer
 * is dropped when it comes. */
struct srv_reply {
    srv_conn_t *c;
    srv_route_id_t route;
    const char *content_type;
    struct timespec t0;
};

typedef struct route {
    const char *path;
    srv_route_id_t id;
    unsigned methods; /* SRV_M_* */
    int json_body;    /* POST needs Content-Type: application/json and a body */
    srv_handler_fn fn;
    srv_ws_kind_t ws;
    unsigned scope; /* SRV_SCOPE_* the route needs once tokens are configured */
} route_t;

/* Generated from routes.h; routes without a path are matched by other rules. */
static const route_t routes[] = {
#define ROUTE_ROW(id, path, methods, json, fn, ws, metric, scope)                                  \
    {path, SRV_R_##id, methods, json, fn, ws, SRV_SCOPE_##scope},
    SRV_ROUTES(ROUTE_ROW)
#undef ROUTE_ROW
};

#define V1_SUBSCRIBE_PREFIX "/api/v1/discovery/subscribe/"
#define CONSOLE_PREFIX      "/console/"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 421:
        return "Misdirected Request";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    }
    return "Unknown";
}

/* ---- connection lifecycle ------------------------------------------------------------------ */

static void gzjob_free(gzjob_t *j)
{
    if (!j)
        return;
    if (j->ev)
        event_free(j->ev);
    srv_gz_free(j->gz);
    srv_ref_release(j->ref);
    artemisi_buf_free(&j->body);
    artemisi_buf_free(&j->z);
    free(j->headers);
    free(j);
}

static void stream_free(stream_t *st)
{
    if (!st)
        return;
    if (st->free_ctx)
        st->free_ctx(st->ctx);
    srv_gz_free(st->gz);
    artemisi_buf_free(&st->slice);
    artemisi_buf_free(&st->zout);
    free(st);
}

/* The loop's part of closing c: it leaves the count and the limits at once. */
static void conn_retire(srv_conn_t *c)
{
    srv_server_t *srv = c->srv;
    c->retired = 1;
    if (c->pending)
        c->pending->c = NULL;
    c->pending = NULL;
    stream_free(c->stream);
    c->stream = NULL;
    gzjob_free(c->gzjob);
    c->gzjob = NULL;
    ARTEMISI_DLIST_UNLINK(srv->http->conns, c);
    srv->http->n_conns--;
    srv_clients_detach(srv->clients, &c->client);
    if (c->tls_handshaking)
        srv->metrics.tls_handshakes_failed++;
}

/* Close c. A threaded connection's socket and memory are its thread's: the thread closes it,
 * tells the loop (SRV_IO_CLOSED), and frees it when the loop answers SRV_IO_RELEASE. */
static void conn_free(srv_conn_t *c)
{
    conn_retire(c);
    if (c->io) {
        srv_io_post(c, SRV_IO_CLOSE);
        return;
    }
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->tx)
        evbuffer_free(c->tx);
    srv_http_parser_free(c->parser);
    free(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static int request_done(srv_conn_t *c, const srv_http_request_t *r);
static void stream_pump(srv_conn_t *c);

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    srv_conn_t *c = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (c->stream) {
        if (evbuffer_get_length(out) <= STREAM_LOW_WATER)
            stream_pump(c);
        return;
    }
    if (c->closing) {
        if (evbuffer_get_length(out) == 0)
            conn_free(c);
        return;
    }
    if (c->paused && !c->pending && !c->gzjob && evbuffer_get_length(out) < OUT_HIGH_WATER / 2) {
        c->paused = 0;
        bufferevent_enable(bev, EV_READ);
        conn_read_cb(bev, c); /* pipelined requests may already be buffered */
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    srv_conn_t *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) { /* bufferevent_openssl: the handshake completed */
        c->tls_handshaking = 0;
        c->srv->metrics.tls_handshakes_ok++;
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        srv_log(SRV_LOG_DEBUG, "http: idle connection closed");
    conn_free(c);
}

/* ---- responses --------------------------------------------------------------------------- */

static int accepts_gzip(const srv_http_request_t *r)
{
    size_t len;
    const char *v = srv_http_header_get(r, "Accept-Encoding", &len);
    return v && srv_http_header_has_token(v, len, "gzip");
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)(uintptr_t)data);
}

/* Queue a body without copying it: libevent frees it once written. Worth it for large
 * answers (a 100-instance lookup is ~32 KB); small ones are cheaper to copy. */
static void add_body(struct evbuffer *out, artemisi_buf_t *b)
{
    if (b->len < 4096) {
        evbuffer_add(out, b->data, b->len);
        return;
    }
    size_t len;
    char *data = artemisi_buf_detach(b, &len);
    if (evbuffer_add_reference(out, data, len, free_body, NULL) != 0) {
        evbuffer_add(out, data, len);
        free(data);
    }
}

/*
 * CORS headers of a response to r (docs/compat.md "CORS and browser origins"). Java Artemis
 * sends "Allow-Origin: *" with "Allow-Credentials: true" to everyone, so any page could read
 * the registry and unregister instances; here only an Origin in http.allowed-origins gets
 * Allow-Origin: a listed one is echoed (with credentials: the operator trusts that page), "*"
 * gives "*" and never credentials, anything else gets no CORS header at all.
 */
static void add_cors_headers(srv_server_t *srv, const srv_http_request_t *r, struct evbuffer *out)
{
    const char *list = srv->cfg.http_allowed_origins;
    if (!r || !srv_origin_list_active(list))
        return;
    static const char vary[] = "Vary: Origin\r\n";
    static const char any[] = "Access-Control-Allow-Origin: *\r\n";
    /* Whether an answer carries Allow-Origin depends on Origin: caches must keep them apart. */
    evbuffer_add(out, vary, sizeof(vary) - 1);
    size_t olen = 0;
    const char *origin = srv_http_header_get(r, "Origin", &olen);
    switch (srv_origin_match(list, origin, olen)) {
    case SRV_ORIGIN_LISTED:
        /* The value matched a validated origin, so it holds no CR/LF or other odd bytes. */
        evbuffer_add_printf(out,
                            "Access-Control-Allow-Origin: %.*s\r\n"
                            "Access-Control-Allow-Credentials: true\r\n",
                            (int)olen, origin);
        break;
    case SRV_ORIGIN_ANY:
        evbuffer_add(out, any, sizeof(any) - 1);
        break;
    case SRV_ORIGIN_NONE:
    case SRV_ORIGIN_DENIED:
        break;
    }
}

static void ref_cleanup(const void *data, size_t len, void *extra)
{
    (void)data;
    (void)len;
    srv_ref_release(extra);
}

/* How send_response_full encodes the body: gzip when the client and the size call for it,
 * as given (already gzip), or as given (identity, whatever the client accepts). */
enum { ENC_AUTO, ENC_GZIPPED, ENC_IDENTITY };

/* `owned`, when given, holds `body` and may be taken over (zero-copy send). `cors` = 0 leaves
 * the CORS headers out (refusals of a browser origin or Host). `ref`, when given (never with
 * ENC_AUTO), is a block sent by reference after the first ref->at bytes of `body`; it is
 * taken over. */
static void send_response_full(srv_conn_t *c, const srv_http_request_t *r, int status,
                               const char *content_type, const char *body, size_t body_len,
                               const char *extra_headers, artemisi_buf_t *owned, int cors, int enc,
                               srv_ref_t *ref);

static void send_response(srv_conn_t *c, const srv_http_request_t *r, int status,
                          const char *content_type, const char *body, size_t body_len,
                          const char *extra_headers)
{
    send_response_full(c, r, status, content_type, body, body_len, extra_headers, NULL, 1, ENC_AUTO,
                       NULL);
}

static void send_response_buf(srv_conn_t *c, const srv_http_request_t *r, int status,
                              const char *content_type, const char *body, size_t body_len,
                              const char *extra_headers, artemisi_buf_t *owned)
{
    send_response_full(c, r, status, content_type, body, body_len, extra_headers, owned, 1,
                       ENC_AUTO, NULL);
}

static void send_response_full(srv_conn_t *c, const srv_http_request_t *r, int status,
                               const char *content_type, const char *body, size_t body_len,
                               const char *extra_headers, artemisi_buf_t *owned, int cors, int enc,
                               srv_ref_t *ref)
{
    srv_server_t *srv = c->srv;
    struct evbuffer *out = conn_out(c);
    artemisi_buf_t gz = ARTEMISI_BUF_INIT;
    int head_only = r && r->method == SRV_HTTP_HEAD;
    if (ref && ref->at > body_len)
        ref->at = body_len;
    int use_gzip =
        enc == ENC_GZIPPED || (enc == ENC_AUTO && r && srv->cfg.http_gzip_responses && !head_only &&
                               body_len >= (size_t)srv->cfg.http_gzip_min_bytes && body_len > 0 &&
                               accepts_gzip(r) && srv_gzip(body, body_len, &gz) == 0);
    if (use_gzip && enc == ENC_AUTO) {
        body = gz.data;
        body_len = gz.len;
    }
    int keep = r && r->keep_alive && !c->closing && !srv->draining && status != 400 &&
               status != 408 && status != 413 && status != 431 && status != 505 && status != 501;
    /* A 304 has no body, and a Content-Length on it would have to be the 200's (RFC 9110
     * 8.6): leave both out (the console's conditional GETs). */
    if (status == 304)
        evbuffer_add_printf(out, "HTTP/1.1 304 Not Modified\r\n");
    else
        evbuffer_add_printf(out,
                            "HTTP/1.1 %d %s\r\n"
                            "Content-Type: %s\r\n"
                            "Content-Length: %zu\r\n",
                            status, reason_phrase(status), content_type,
                            body_len + (ref ? ref->len : 0));
    if (cors)
        add_cors_headers(srv, r, out);
    evbuffer_add_printf(out, "%s%s%s\r\n",
                        use_gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "",
                        keep ? (r->version_minor == 0 ? "Connection: keep-alive\r\n" : "")
                             : "Connection: close\r\n",
                        extra_headers ? extra_headers : "");
    if (!head_only && ref) {
        /* the three pieces; a reference the buffer cannot take is copied */
        evbuffer_add(out, body, ref->at);
        if (evbuffer_add_reference(out, ref->data, ref->len, ref_cleanup, ref) != 0) {
            evbuffer_add(out, ref->data, ref->len);
            srv_ref_release(ref);
        }
        evbuffer_add(out, body + ref->at, body_len - ref->at);
        ref = NULL;
    } else if (!head_only && body_len) {
        if (use_gzip && enc == ENC_AUTO)
            add_body(out, &gz);
        else if (owned && owned->data == body && owned->len == body_len)
            add_body(out, owned);
        else
            evbuffer_add(out, body, body_len);
    }
    artemisi_buf_free(&gz);
    srv_ref_release(ref); /* not sent: HEAD */
    if (status >= 500)
        srv->metrics.status_5xx++;
    else if (status >= 400)
        srv->metrics.status_4xx++;
    if (!keep) {
        c->closing = 1;
        if (!c->io) /* a thread closes its own after the answer (SRV_IO_CLOSE_AFTER) */
            bufferevent_disable(c->bev, EV_READ);
    }
}

static void send_error_full(srv_conn_t *c, const srv_http_request_t *r, int status, const char *why,
                            const char *extra_headers, int cors)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appendf(&b, "{\"error\":\"%s\",\"status\":%d", reason_phrase(status), status);
    if (why) {
        artemisi_buf_appends(&b, ",\"message\":");
        artemisi_json_str(&b, why);
    }
    artemisi_buf_appendc(&b, '}');
    send_response_full(c, r, status, "application/json;charset=UTF-8", b.data, b.len, extra_headers,
                       NULL, cors, ENC_AUTO, NULL);
    artemisi_buf_free(&b);
}

static void send_error(srv_conn_t *c, const srv_http_request_t *r, int status, const char *why,
                       const char *extra_headers)
{
    send_error_full(c, r, status, why, extra_headers, 1);
}

void srv_req_bad_request(srv_req_t *req, const char *why)
{
    req->status = 400;
    artemisi_buf_reset(req->out);
    artemisi_buf_appends(req->out, "{\"error\":\"Bad Request\",\"status\":400,\"message\":");
    artemisi_json_str(req->out, why);
    artemisi_buf_appendc(req->out, '}');
}

int srv_req_query(srv_req_t *req, const char *name, artemisi_buf_t *b, const char **value)
{
    int rc = srv_query_get(req->http->query, name, b);
    if (rc == -2) {
        req->out->failed = 1;
        return -1;
    }
    if (rc != 1)
        return 0;
    *value = b->data ? b->data : "";
    return 1;
}

/* ---- request bodies ----------------------------------------------------------------------- */

static int is_json_type(const char *v, size_t len)
{
    static const char aj[] = "application/json";
    if (len < sizeof(aj) - 1 || strncasecmp(v, aj, sizeof(aj) - 1) != 0)
        return 0;
    return len == sizeof(aj) - 1 || v[sizeof(aj) - 1] == ';' || v[sizeof(aj) - 1] == ' ';
}

/* ---- routing ----------------------------------------------------------------------------- */

static const char *strip_prefix(srv_server_t *srv, const char *path)
{
    size_t n = strlen(srv->url_prefix);
    if (n && strncmp(path, srv->url_prefix, n) == 0 && (path[n] == '/' || path[n] == '\0'))
        return path[n] ? path + n : "/";
    return path;
}

/* ---- browser origins and Host (docs/compat.md "CORS and browser origins") ----------------- */

/* A refusal: JSON error body, no CORS headers, so the refused page learns nothing more. */
static void send_refusal(srv_conn_t *c, const srv_http_request_t *r, int status, const char *why)
{
    send_error_full(c, r, status, why, NULL, 0);
}

/* Paths whose POSTs change the registry. Checked on the routed path (context prefix removed),
 * and routing is exact, so no spelling of a path reaches a handler without passing here. */
static int is_write_path(const char *path)
{
    return strncmp(path, "/api/registry/", 14) == 0 ||
           strncmp(path, "/api/replication/", 17) == 0 ||
           strncmp(path, "/api/management/", 16) == 0;
}

/*
 * http.allowed-hosts, the DNS-rebinding guard: a page on evil.example whose name was re-pointed
 * at this server is same-origin with it for the browser, so no Origin check can stop it; only
 * its Host header (evil.example) gives it away. The Host must be listed; none at all (HTTP/1.0)
 * passes only when the list is empty.
 */
static int host_allowed(const srv_server_t *srv, const srv_http_request_t *r)
{
    const char *list = srv->cfg.http_allowed_hosts;
    if (!srv_origin_list_active(list))
        return 1;
    /* An absolute-form target names its host itself, and RFC 7230 §5.4 has the server use that
     * and ignore Host. No browser sends one to an origin server, so rebinding cannot use it. */
    if (r->authority)
        return srv_host_match(list, r->authority, strlen(r->authority));
    /* host_header_error has already refused a request with more than one Host. */
    size_t len = 0;
    const char *host = srv_http_header_get(r, "Host", &len);
    return host && srv_host_match(list, host, len);
}

/* Is Host the host of this node's own URL (node-url, an operator's setting)? */
static int is_node_url_host(const srv_server_t *srv, const char *host, size_t hlen)
{
    const char *a = strstr(srv->node_url, "://");
    if (!a)
        return 0;
    a += 3;
    size_t n = strcspn(a, "/");
    char authority[300];
    if (n == 0 || n >= sizeof(authority))
        return 0;
    memcpy(authority, a, n);
    authority[n] = '\0';
    return srv_host_match(authority, host, hlen);
}

/*
 * A request from the server's own pages (the web console, docs/operations.md "Web console"):
 * browsers send Origin on every POST and WebSocket upgrade, same-origin ones included, so the
 * console's calls carry Origin = http://<Host>. They are not cross-origin and pass -- but only
 * when the Host cannot be a name an outside page had re-pointed at us (DNS rebinding makes
 * that page "same origin" too): a Host vetted by http.allowed-hosts, an address or localhost,
 * or the host of node-url.
 */
static int same_origin(const srv_server_t *srv, const srv_http_request_t *r, const char *origin,
                       size_t olen)
{
    size_t hlen = 0;
    const char *host = r->authority;
    if (host)
        hlen = strlen(host);
    else
        host = srv_http_header_get(r, "Host", &hlen);
    if (!host || !srv_origin_is_host(origin, olen, host, hlen))
        return 0;
    return srv_origin_list_active(srv->cfg.http_allowed_hosts) || srv_host_is_literal(host, hlen) ||
           is_node_url_host(srv, host, hlen);
}

/*
 * Refuse with 403 a request from a browser Origin that may not make it: any origin outside
 * http.allowed-origins ("null" included), and for `writes` (state changes, or a preflight or
 * WebSocket session for one) any origin not listed exactly, as "*" only opens reads. A request
 * without Origin (Java client, SDK, curl, peers) and one from the server's own pages
 * (same_origin) always pass. Returns 1 when refused.
 * Browsers send simple POSTs (forms, text/plain) without a preflight, so this check, not the
 * preflight nor the JSON Content-Type check, is what keeps a page from unregistering instances.
 */
static int refuse_origin(srv_conn_t *c, const srv_http_request_t *r, int writes, const char *what)
{
    size_t olen = 0;
    const char *origin = srv_http_header_get(r, "Origin", &olen);
    srv_origin_verdict_t v = srv_origin_match(c->srv->cfg.http_allowed_origins, origin, olen);
    if (v == SRV_ORIGIN_NONE || v == SRV_ORIGIN_LISTED || (v == SRV_ORIGIN_ANY && !writes) ||
        same_origin(c->srv, r, origin, olen))
        return 0;
    srv_log(SRV_LOG_DEBUG, "http: %s from Origin '%.*s' refused (not in http.allowed-origins)",
            what, (int)(olen > 100 ? 100 : olen), origin);
    send_refusal(c, r, 403, "Origin not allowed (http.allowed-origins)");
    return 1;
}

/* Returns 1 when the connection was handed over to a WebSocket session (c is freed). */
static int handle_upgrade(srv_conn_t *c, const srv_http_request_t *r, srv_ws_kind_t kind,
                          const char *service_id)
{
    srv_server_t *srv = c->srv;
    size_t klen = 0, vlen = 0;
    const char *key = srv_http_header_get(r, "Sec-WebSocket-Key", &klen);
    const char *ver = srv_http_header_get(r, "Sec-WebSocket-Version", &vlen);
    char accept[29];
    /* Browsers apply no same-origin policy to WebSocket: the Origin check is all there is. The
     * heartbeat session renews leases, so it counts as a write. */
    if (refuse_origin(c, r, kind == SRV_WS_HEARTBEAT, "WebSocket upgrade"))
        return 0;
    if (r->method != SRV_HTTP_GET || !r->upgrade_websocket) {
        send_error(c, r, 426, "WebSocket upgrade required", "Upgrade: websocket\r\n");
        return 0;
    }
    if (!ver || vlen != 2 || memcmp(ver, "13", 2) != 0) {
        send_error(c, r, 400, "Sec-WebSocket-Version must be 13", "Sec-WebSocket-Version: 13\r\n");
        return 0;
    }
    if (!key || artemisi_ws_accept_key(key, klen, accept) != 0) {
        send_error(c, r, 400, "bad Sec-WebSocket-Key", NULL);
        return 0;
    }
    size_t total = 0;
    for (int k = 0; k < SRV_WS_KINDS; k++)
        total += srv_ws_count(srv, (srv_ws_kind_t)k);
    if (total >= (size_t)srv->cfg.ws_max_sessions || srv->draining) {
        send_error(c, r, 503, "too many WebSocket sessions", NULL);
        return 0;
    }
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n\r\n",
                        accept);
    struct bufferevent *bev = c->bev;
    srv_client_t client = c->client; /* the session keeps the connection's accounting */
    c->client.addr = NULL;
    c->bev = NULL;
    conn_free(c);
    srv_ws_start(srv, bev, kind, service_id, &client);
    return 1;
}

/*
 * RFC 7230 §5.4: an HTTP/1.1 request without Host, or any request with more than one, is a
 * 400 (Tomcat answers so, before the Java server sees it). Returns the reason, or NULL.
 */
static const char *host_header_error(const srv_http_request_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name_len == 4 && strncasecmp(r->headers[i].name, "Host", 4) == 0)
            n++;
    if (n > 1)
        return "more than one Host header";
    if (n == 0 && r->version_minor == 1)
        return "HTTP/1.1 request without a Host header";
    return NULL;
}

/* ---- access tokens (docs/security.md "Access tokens") -------------------------------------- */

/*
 * The presented token: "Authorization: Bearer T", or on a WebSocket upgrade also the query
 * parameter access_token=T, as browsers cannot set headers on a WebSocket (the console). Only
 * upgrades take it there: a query string ends up in proxies' access logs, and everything else
 * can send the header. Returns 1 with *tok set (*tok may point into `scratch`), 0 for none.
 */
static int presented_token(const srv_http_request_t *r, int upgrade, artemisi_buf_t *scratch,
                           const char **tok, size_t *tlen)
{
    size_t vl = 0;
    const char *v = srv_http_header_get(r, "Authorization", &vl);
    if (v && srv_auth_bearer(v, vl, tok, tlen))
        return 1;
    if (upgrade && r->query && srv_query_get(r->query, "access_token", scratch) == 1 &&
        scratch->len) {
        *tok = scratch->data;
        *tlen = scratch->len;
        return 1;
    }
    return 0;
}

/* 401 (with WWW-Authenticate) or 403 with an Artemis responseStatus body: Java clients read it
 * as a failed call. */
static void send_no_permission(srv_conn_t *c, const srv_http_request_t *r, int status,
                               const char *msg)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&b, "{\"responseStatus\":");
    artemisi_encode_status(&b, "no-permission", msg, "fail");
    artemisi_buf_appendc(&b, '}');
    if (artemisi_buf_failed(&b))
        send_error(c, r, 503, "out of memory", NULL);
    else
        send_response(c, r, status, "application/json;charset=UTF-8", b.data, b.len,
                      status == 401 ? "WWW-Authenticate: Bearer realm=\"artemis\"\r\n" : NULL);
    artemisi_buf_free(&b);
}

/*
 * Refuse a request whose token does not grant `scope` (auth.h srv_auth_decide): 401 with
 * WWW-Authenticate for a missing or unknown token, 403 for a known one without the scope,
 * each with an Artemis responseStatus body (Java clients read it as a failed call). The token
 * itself is never logged. Returns 1 when refused.
 */
static int refuse_token(srv_conn_t *c, const srv_http_request_t *r, unsigned scope, int upgrade)
{
    srv_server_t *srv = c->srv;
    /* Replication only from peers (docs/security.md): once client certificates are verified, a
     * peer is recognised by presenting this node's own certificate; without a tokens file that
     * is the only way in, with one a `replicate` token also passes. */
    if (scope == SRV_SCOPE_REPLICATE && srv_tls_verifies_clients(srv)) {
        if (!c->io && srv_tls_peer_is_node(c->bev)) /* threaded ones are never TLS */
            return 0;
        if (!srv->auth) {
            srv->metrics.auth_refused[SRV_AUTH_SCOPE - 1]++;
            send_no_permission(c, r, 403, "replication needs a peer's certificate");
            return 1;
        }
    }
    if (!srv->auth || scope == SRV_SCOPE_NONE)
        return 0;
    artemisi_buf_t scratch = ARTEMISI_BUF_INIT;
    const char *tok = NULL;
    size_t tlen = 0;
    if (!presented_token(r, upgrade, &scratch, &tok, &tlen))
        tok = NULL;
    srv_auth_verdict_t v = srv_auth_decide(srv->auth, srv->auth_open, scope, tok, tlen);
    if (scratch.data)
        explicit_bzero(scratch.data, scratch.len);
    artemisi_buf_free(&scratch);
    if (v == SRV_AUTH_OK)
        return 0;
    srv->metrics.auth_refused[v - 1]++;
    char msg[96];
    snprintf(msg, sizeof(msg),
             v == SRV_AUTH_SCOPE ? "the token does not grant scope %s"
                                 : "a token with scope %s is required",
             srv_scope_name(scope));
    srv_log(SRV_LOG_DEBUG, "http: request refused: %s (%s)", msg,
            v == SRV_AUTH_MISSING   ? "no token"
            : v == SRV_AUTH_INVALID ? "unknown token"
                                    : "scope");
    send_no_permission(c, r, v == SRV_AUTH_SCOPE ? 403 : 401, msg);
    return 1;
}

static int route(srv_conn_t *c, const srv_http_request_t *r, const char *normalized);
static void stream_start(srv_conn_t *c, const srv_http_request_t *r, srv_req_t *req,
                         srv_route_id_t route, const struct timespec *t0);

/* Dispatch one complete request. Returns 1 if the connection was handed over or freed. */
static int dispatch(srv_conn_t *c, const srv_http_request_t *r)
{
    srv_server_t *srv = c->srv;
    const char *bad_host = host_header_error(r);
    if (bad_host) {
        srv->metrics.requests[SRV_R_OTHER]++;
        send_error(c, r, 400, bad_host, NULL);
        return 0;
    }
    if (!host_allowed(srv, r)) {
        srv->metrics.requests[SRV_R_OTHER]++;
        srv_log(SRV_LOG_DEBUG, "http: request for a Host not in http.allowed-hosts refused");
        send_refusal(c, r, 421, "Host not allowed (http.allowed-hosts)");
        return 0;
    }
    /* Route on the path as Tomcat + Spring see it (srv_path_normalize), so the spellings Java
     * answers (trailing or doubled slashes, ";jsessionid=", %2E) reach the same handler, and
     * the write-path and Origin checks below see the path that is routed. */
    artemisi_buf_t norm = ARTEMISI_BUF_INIT;
    int nrc = srv_path_normalize(r->path, &norm);
    if (nrc != 0) {
        srv->metrics.requests[SRV_R_OTHER]++;
        if (nrc == -2)
            send_error(c, r, 503, "out of memory", NULL);
        else
            send_error(c, r, 400,
                       "invalid request path (malformed %-escape, %00, or '..' above the root)",
                       NULL);
        artemisi_buf_free(&norm);
        return 0;
    }
    int handed = route(c, r, norm.data);
    artemisi_buf_free(&norm);
    return handed;
}

static const route_t *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].path && strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

/* A WebSocket route (rt, or the v1 subscribe prefix when rt is NULL). Returns 1 if the
 * connection was handed over. */
static int route_upgrade(srv_conn_t *c, const srv_http_request_t *r, const route_t *rt,
                         const char *path)
{
    const char *sid = NULL;
    artemisi_buf_t dec = ARTEMISI_BUF_INIT;
    if (!rt) {
        const char *raw = path + sizeof(V1_SUBSCRIBE_PREFIX) - 1;
        if (!*raw || srv_url_decode(raw, strlen(raw), &dec) != 0 || dec.len == 0) {
            send_error(c, r, 400, "bad serviceId", NULL);
            artemisi_buf_free(&dec);
            return 0;
        }
        sid = dec.data;
    }
    c->srv->metrics.requests[rt ? rt->id : SRV_R_WS_SUBSCRIBE]++;
    if (refuse_token(c, r, (rt ? rt : &routes[SRV_R_WS_SUBSCRIBE])->scope, 1)) {
        artemisi_buf_free(&dec);
        return 0;
    }
    int handed = handle_upgrade(c, r, rt ? rt->ws : SRV_WS_SUBSCRIBE, sid);
    artemisi_buf_free(&dec);
    return handed;
}

/* CORS preflight (protocol.md §0.2). Java echoes whatever is asked; here an origin that may
 * not make the real request is refused, and an allowed one gets the fixed methods and only
 * the simple headers it asked for. Without Origin it is a plain OPTIONS. */
static void answer_preflight(srv_conn_t *c, const srv_http_request_t *r, const char *path)
{
    c->srv->metrics.requests[SRV_R_OTHER]++;
    if (refuse_origin(c, r, is_write_path(path), "preflight"))
        return;
    artemisi_buf_t h = ARTEMISI_BUF_INIT;
    if (srv_http_header_get(r, "Origin", NULL)) {
        char allow[96];
        size_t hl = 0;
        const char *hd = srv_http_header_get(r, "Access-Control-Request-Headers", &hl);
        artemisi_buf_appends(&h, "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n");
        if (srv_origin_allow_headers(hd, hl, allow, sizeof(allow)))
            artemisi_buf_appendf(&h, "Access-Control-Allow-Headers: %s\r\n", allow);
        artemisi_buf_appends(&h, "Access-Control-Max-Age: 3600\r\n");
    }
    artemisi_buf_appends(&h, "Allow: GET, POST, OPTIONS\r\n");
    send_response(c, r, 200, "text/plain", "", 0, h.data);
    artemisi_buf_free(&h);
}

/* The JSON body of a POST: Content-Type checked, gzip inflated into `inflated` (bounded by
 * http.max-body-bytes). Returns 0 with req->body set, or -1 with the error answer sent. */
static int json_body(srv_conn_t *c, const srv_http_request_t *r, srv_req_t *req,
                     artemisi_buf_t *inflated)
{
    size_t tl = 0, el = 0;
    const char *ct = srv_http_header_get(r, "Content-Type", &tl);
    const char *ce = srv_http_header_get(r, "Content-Encoding", &el);
    if (!ct || !is_json_type(ct, tl)) {
        send_error(c, r, 415, "Content-Type must be application/json", NULL);
        return -1;
    }
    if (ce && el && !(el == 8 && strncasecmp(ce, "identity", 8) == 0)) {
        if (!((el == 4 && strncasecmp(ce, "gzip", 4) == 0) ||
              (el == 6 && strncasecmp(ce, "x-gzip", 6) == 0))) {
            send_error(c, r, 415, "unsupported Content-Encoding", NULL);
            return -1;
        }
        int rc =
            srv_gunzip(r->body, r->body_len, (size_t)c->srv->cfg.http_max_body_bytes, inflated);
        if (rc) {
            send_error(c, r, rc,
                       rc == 413 ? "inflated body exceeds http.max-body-bytes"
                                 : "invalid gzip body",
                       NULL);
            return -1;
        }
        req->body = inflated->data ? inflated->data : "";
        req->body_len = inflated->len;
    }
    if (req->body_len == 0) {
        send_error(c, r, 400, "Required request body is missing", NULL);
        return -1;
    }
    return 0;
}

/* Run the handler and send its answer -- never one whose buffer lost bytes: a static 503
 * body needs no allocation. */
static void answer_done(srv_conn_t *c);

/* Count an answer in the route's latency histogram, from t0 (the request's dispatch) to now. */
static void observe_since(srv_server_t *srv, srv_route_id_t route, int status,
                          const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    srv_metrics_observe(srv, route, status,
                        (double)(t1.tv_sec - t0->tv_sec) +
                            (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

int srv_req_append_ref(srv_req_t *req, const char *data, size_t len, void (*release)(void *ctx),
                       void *ctx)
{
    if (req->ref || artemisi_buf_failed(req->out))
        return -1;
    srv_ref_t *ref = malloc(sizeof(*ref));
    if (!ref)
        return -1;
    *ref = (srv_ref_t){data, len, req->out->len, release, ctx};
    req->ref = ref;
    return 0;
}

void srv_ref_release(srv_ref_t *ref)
{
    if (!ref)
        return;
    if (ref->release)
        ref->release(ref->ctx);
    free(ref);
}

/* Copy a reference's bytes into place in out: 0, or -1 when memory runs out. */
static int insert_ref(artemisi_buf_t *out, const srv_ref_t *ref)
{
    size_t at = ref->at > out->len ? out->len : ref->at;
    if (artemisi_buf_reserve(out, ref->len) != 0)
        return -1;
    memmove(out->data + at + ref->len, out->data + at, out->len - at);
    memcpy(out->data + at, ref->data, ref->len);
    out->len += ref->len;
    out->data[out->len] = '\0';
    return 0;
}

static void gzjob_finish(gzjob_t *j, int gzipped)
{
    srv_conn_t *c = j->c;
    const srv_http_request_t *r = srv_http_parser_request(c->parser);
    if (gzipped) {
        send_response_full(c, r, j->status, j->content_type, j->z.data, j->z.len, j->headers, &j->z,
                           1, ENC_GZIPPED, NULL);
    } else {
        srv_ref_t *ref = j->ref;
        j->ref = NULL;
        send_response_full(c, r, j->status, j->content_type, j->body.data, j->body.len, j->headers,
                           &j->body, 1, ENC_IDENTITY, ref);
    }
    observe_since(c->srv, j->route, j->status, &j->t0);
    c->gzjob = NULL;
    gzjob_free(j);
    answer_done(c);
}

static void gzjob_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gzjob_t *j = arg;
    /* the answer is body[0, at), the reference, body[at, len): a slice never spans two */
    size_t at = j->ref ? j->ref->at : j->body.len, rlen = j->ref ? j->ref->len : 0;
    size_t total = j->body.len + rlen;
    const char *p;
    size_t left;
    if (j->off < at) {
        p = j->body.data + j->off;
        left = at - j->off;
    } else if (j->off < at + rlen) {
        p = j->ref->data + (j->off - at);
        left = at + rlen - j->off;
    } else {
        p = j->body.data + (j->off - rlen);
        left = total - j->off;
    }
    size_t n = left < GZIP_SLICE ? left : GZIP_SLICE;
    int last = j->off + n == total;
    if (srv_gz_write(j->gz, p, n, last, &j->z) != 0) {
        gzjob_finish(j, 0);
        return;
    }
    j->off += n;
    if (last) {
        gzjob_finish(j, 1);
        return;
    }
    static const struct timeval now = {0, 0};
    evtimer_add(j->ev, &now);
}

/* Deflate the handler's answer over loop turns when it is large and will be gzipped. Returns
 * 1 when that began (route() fills in the route; gzjob_cb answers). */
static int gzjob_start(srv_conn_t *c, const srv_http_request_t *r, srv_req_t *req)
{
    srv_server_t *srv = c->srv;
    size_t total = req->out->len + (req->ref ? req->ref->len : 0);
    if (req->status != 200 || total < GZIP_SLICE_MIN || r->method == SRV_HTTP_HEAD ||
        !srv->cfg.http_gzip_responses || !accepts_gzip(r))
        return 0;
    gzjob_t *j = calloc(1, sizeof(*j));
    if (!j)
        return 0;
    j->c = c;
    j->status = req->status;
    j->content_type = req->content_type;
    j->ev = evtimer_new(srv->base, gzjob_cb, j);
    j->gz = srv_gz_new();
    j->headers = req->headers ? strdup(req->headers) : NULL;
    if (!j->ev || !j->gz || (req->headers && !j->headers)) {
        gzjob_free(j);
        return 0; /* sent at once, as before */
    }
    j->body = *req->out; /* moved, not copied */
    artemisi_buf_init(req->out);
    j->ref = req->ref;
    req->ref = NULL;
    c->gzjob = j;
    static const struct timeval now = {0, 0};
    evtimer_add(j->ev, &now);
    return 1;
}

static void run_handler(srv_conn_t *c, const srv_http_request_t *r, const route_t *rt,
                        srv_req_t *req)
{
    static const char oom[] = "{\"error\":\"Service Unavailable\",\"status\":503,"
                              "\"message\":\"out of memory while building the answer\"}";
    artemisi_buf_t *out = req->out;
    rt->fn(req);
    if (req->ref && (req->deferred || req->stream_next || artemisi_buf_failed(out))) {
        srv_ref_release(req->ref); /* not for those answers */
        req->ref = NULL;
    }
    if (req->deferred)
        return;
    if (req->stream_next && !artemisi_buf_failed(out))
        return; /* route() starts it */
    if (req->stream_next) {
        if (req->stream_free)
            req->stream_free(req->stream_ctx);
        req->stream_next = NULL;
    }
    if (artemisi_buf_failed(out)) {
        srv_log(SRV_LOG_WARN, "http: %s: out of memory while building the answer (%zu bytes)",
                rt->path, out->len);
        c->srv->metrics.oom_answers++;
        req->status = 503;
        send_response(c, r, 503, "application/json;charset=UTF-8", oom, sizeof(oom) - 1, NULL);
    } else if (gzjob_start(c, r, req)) {
        /* answered once deflated */
    } else if (req->ref && out->len + req->ref->len < GZIP_SLICE_MIN) {
        /* small: one buffer, and the usual gzip */
        if (insert_ref(out, req->ref) != 0) {
            c->srv->metrics.oom_answers++;
            req->status = 503;
            send_response(c, r, 503, "application/json;charset=UTF-8", oom, sizeof(oom) - 1, NULL);
        } else {
            send_response_buf(c, r, req->status, req->content_type, out->data, out->len,
                              req->headers, out);
        }
        srv_ref_release(req->ref);
        req->ref = NULL;
    } else if (req->ref) {
        srv_ref_t *ref = req->ref;
        req->ref = NULL;
        send_response_full(c, r, req->status, req->content_type, out->data ? out->data : "",
                           out->len, req->headers, out, 1, ENC_IDENTITY, ref);
    } else {
        send_response_buf(c, r, req->status, req->content_type, out->data ? out->data : "",
                          out->len, req->headers, out);
    }
}

/* Route a request by its normalised path. Returns 1 if the connection was handed over or
 * freed. */
static int route(srv_conn_t *c, const srv_http_request_t *r, const char *normalized)
{
    srv_server_t *srv = c->srv;
    const char *path = strip_prefix(srv, normalized);
    const route_t *rt = find_route(path);
    /* The console is a tree of files (console.c serves only its embedded ones). */
    if (!rt && strncmp(path, CONSOLE_PREFIX, sizeof(CONSOLE_PREFIX) - 2) == 0 &&
        (path[sizeof(CONSOLE_PREFIX) - 2] == '\0' || path[sizeof(CONSOLE_PREFIX) - 2] == '/'))
        rt = &routes[SRV_R_CONSOLE];
    int v1 = !rt && strncmp(path, V1_SUBSCRIBE_PREFIX, sizeof(V1_SUBSCRIBE_PREFIX) - 1) == 0;
    int upgrade = v1 || (rt && (rt->methods & SRV_M_WS));
    /* A WebSocket session and an answer in slices (the bootstrap copy, the one route that
     * streams) need the socket on the loop: a threaded connection moves there first, and
     * this request is dispatched again once it has (srv_hconn_from_io). */
    if (c->io && (upgrade || (rt && rt->id == SRV_R_REPL_SERVICES))) {
        c->migrating = 1;
        srv_io_post(c, SRV_IO_MIGRATE);
        return 1;
    }
    if (upgrade)
        return route_upgrade(c, r, rt, path);
    if (r->method == SRV_HTTP_OPTIONS) {
        answer_preflight(c, r, path);
        return 0;
    }
    if (r->method != SRV_HTTP_GET && r->method != SRV_HTTP_HEAD && is_write_path(path) &&
        refuse_origin(c, r, 1, "state-changing request")) {
        srv->metrics.requests[SRV_R_OTHER]++;
        return 0;
    }
    if (!rt) {
        srv->metrics.requests[SRV_R_OTHER]++;
        send_error(c, r, 404, "no such endpoint", NULL);
        return 0;
    }
    if (refuse_token(c, r, rt->scope, 0)) {
        srv->metrics.requests[rt->id]++;
        return 0;
    }
    unsigned m = r->method == SRV_HTTP_GET || r->method == SRV_HTTP_HEAD ? SRV_M_GET
                 : r->method == SRV_HTTP_POST                            ? SRV_M_POST
                                                                         : 0;
    if (!(rt->methods & m)) {
        srv->metrics.requests[SRV_R_OTHER]++;
        send_error(c, r, 405, "method not allowed",
                   rt->methods == SRV_M_POST  ? "Allow: POST\r\n"
                   : rt->methods == SRV_M_GET ? "Allow: GET, HEAD\r\n"
                                              : "Allow: GET, HEAD, POST\r\n");
        return 0;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    artemisi_buf_t inflated = ARTEMISI_BUF_INIT;
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    srv_req_t req = {.srv = srv,
                     .http = r,
                     .path = path,
                     .body = r->body,
                     .body_len = r->body_len,
                     .out = &out,
                     .status = 200,
                     .content_type = "application/json;charset=UTF-8",
                     .client = &c->client};
    if (!(m == SRV_M_POST && rt->json_body) || json_body(c, r, &req, &inflated) == 0)
        run_handler(c, r, rt, &req);
    if (req.deferred) {
        /* The handler answers later (srv_reply_send); the request stays parsed until then. */
        req.deferred->c = c;
        req.deferred->route = rt->id;
        req.deferred->content_type = req.content_type;
        req.deferred->t0 = t0;
        c->pending = req.deferred;
        artemisi_buf_free(&inflated);
        artemisi_buf_free(&out);
        return 0;
    }
    if (req.stream_next) {
        stream_start(c, r, &req, rt->id, &t0);
        artemisi_buf_free(&inflated);
        artemisi_buf_free(&out);
        return 0;
    }
    if (c->gzjob) { /* answered once deflated (gzjob_cb) */
        c->gzjob->route = rt->id;
        c->gzjob->t0 = t0;
        artemisi_buf_free(&inflated);
        artemisi_buf_free(&out);
        return 0;
    }
    observe_since(srv, rt->id, req.status, &t0);
    artemisi_buf_free(&inflated);
    artemisi_buf_free(&out);
    return 0;
}

/* The answer to the current request is queued: read the next one. */
static void answer_done(srv_conn_t *c)
{
    if (c->io) { /* the thread writes it and reads on */
        c->in_loop = 0;
        srv_io_post(c, SRV_IO_ANSWER | (c->closing ? SRV_IO_CLOSE_AFTER : 0));
        return;
    }
    srv_http_parser_reset(c->parser);
    c->req_start = 0;
    c->sent_continue = 0;
    c->last_active = srv_now_mono();
    if (!c->closing && !c->paused) {
        bufferevent_enable(c->bev, EV_READ);
        conn_read_cb(c->bev, c); /* a pipelined request may be buffered already */
    }
}

srv_reply_t *srv_req_defer(srv_req_t *req)
{
    srv_reply_t *rp = calloc(1, sizeof(*rp));
    req->deferred = rp;
    return rp;
}

void srv_reply_send(srv_reply_t *rp, int status, artemisi_buf_t *body)
{
    static const char oom[] = "{\"error\":\"Service Unavailable\",\"status\":503,"
                              "\"message\":\"out of memory while building the answer\"}";
    srv_conn_t *c = rp->c;
    if (!c) {
        free(rp);
        return;
    }
    srv_server_t *srv = c->srv;
    const srv_http_request_t *r = srv_http_parser_request(c->parser);
    if (artemisi_buf_failed(body)) {
        srv->metrics.oom_answers++;
        status = 503;
        send_response(c, r, 503, "application/json;charset=UTF-8", oom, sizeof(oom) - 1, NULL);
    } else {
        send_response_buf(c, r, status, rp->content_type, body->data ? body->data : "", body->len,
                          NULL, body);
    }
    observe_since(srv, rp->route, status, &rp->t0);
    c->pending = NULL;
    free(rp);
    answer_done(c);
}

/* ---- answers in slices (srv_req_stream) ---------------------------------------------------- */

void srv_req_stream(srv_req_t *req, srv_stream_fn next, void (*free_ctx)(void *ctx), void *ctx)
{
    req->stream_next = next;
    req->stream_free = free_ctx;
    req->stream_ctx = ctx;
}

/* Frame and queue `len` bytes of the answer (deflated first when gzip): 0, or -1 on OOM. */
static int stream_emit(srv_conn_t *c, const char *data, size_t len, int last)
{
    stream_t *st = c->stream;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (st->gz) {
        artemisi_buf_reset(&st->zout);
        if (srv_gz_write(st->gz, data, len, last, &st->zout) != 0)
            return -1;
        data = st->zout.data;
        len = st->zout.len;
    }
    if (len && st->chunked && evbuffer_add_printf(out, "%zx\r\n", len) < 0)
        return -1;
    if (len && evbuffer_add(out, data, len) != 0)
        return -1;
    if (len && st->chunked && evbuffer_add(out, "\r\n", 2) != 0)
        return -1;
    if (last && st->chunked && evbuffer_add(out, "0\r\n\r\n", 5) != 0)
        return -1;
    return 0;
}

static void stream_end(srv_conn_t *c, int ok)
{
    stream_t *st = c->stream;
    observe_since(c->srv, st->route, ok ? 200 : 503, &st->t0);
    int close_at_end = st->close_at_end;
    c->stream = NULL;
    stream_free(st);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (!ok || close_at_end) {
        /* HTTP/1.0 ends the body by closing, a client that sent Connection: close waits for
         * it; a failed answer must end cut short, so the client cannot take it for a complete
         * one. */
        c->closing = 1;
        bufferevent_disable(c->bev, EV_READ);
        if (!ok) {
            c->srv->metrics.oom_answers++;
            srv_log(SRV_LOG_WARN, "http: out of memory while streaming an answer: cut short");
            evbuffer_drain(bufferevent_get_output(c->bev), (size_t)-1);
        }
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            conn_free(c);
        return;
    }
    answer_done(c);
}

/* Queue the next slice; at the end, the answer's end. Called when the output has drained
 * below STREAM_LOW_WATER. Loops only while deflate keeps everything to itself, so the
 * connection always has bytes to write and its write callback comes back. */
static void stream_pump(srv_conn_t *c)
{
    stream_t *st = c->stream;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t before = evbuffer_get_length(out);
    int more = 1;
    if (st->failed) {
        stream_end(c, 0);
        return;
    }
    while (more == 1 && evbuffer_get_length(out) == before) {
        artemisi_buf_reset(&st->slice);
        more = st->next(st->ctx, &st->slice);
        if (more < 0 || artemisi_buf_failed(&st->slice) ||
            stream_emit(c, st->slice.data, st->slice.len, more == 0) != 0) {
            stream_end(c, 0);
            return;
        }
    }
    if (more == 0)
        stream_end(c, 1);
}

/* Queue the head and what the handler wrote; conn_write_cb makes the slices. */
static void stream_start(srv_conn_t *c, const srv_http_request_t *r, srv_req_t *req,
                         srv_route_id_t route, const struct timespec *t0)
{
    srv_server_t *srv = c->srv;
    int gzip = srv->cfg.http_gzip_responses && accepts_gzip(r);
    stream_t *st = r->method == SRV_HTTP_HEAD ? NULL : calloc(1, sizeof(*st));
    if (!st || (gzip && !(st->gz = srv_gz_new()))) {
        /* HEAD, or out of memory: nothing is streamed */
        if (req->stream_free)
            req->stream_free(req->stream_ctx);
        stream_free(st); /* its free_ctx is not set yet */
        int status = r->method == SRV_HTTP_HEAD ? 200 : 503;
        if (status == 200) {
            send_response(c, r, 200, req->content_type, "", 0, NULL);
        } else {
            srv->metrics.oom_answers++;
            send_error(c, r, 503, "out of memory", NULL);
        }
        observe_since(srv, route, status, t0);
        return;
    }
    st->next = req->stream_next;
    st->free_ctx = req->stream_free;
    st->ctx = req->stream_ctx;
    st->route = route;
    st->t0 = *t0;
    st->chunked = r->version_minor >= 1;
    st->close_at_end = !st->chunked || !r->keep_alive || c->closing || srv->draining;
    c->stream = st;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", req->content_type);
    add_cors_headers(srv, r, out);
    evbuffer_add_printf(
        out, "%s%s%s%s\r\n", gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "",
        st->chunked ? "Transfer-Encoding: chunked\r\n" : "",
        st->close_at_end ? "Connection: close\r\n" : "", req->headers ? req->headers : "");
    st->failed = stream_emit(c, req->out->data, req->out->len, 0) != 0;
    /* No slice now: the write callback makes them once the head is on its way (making one
     * here could end the answer inside the read callback that dispatched the request). The
     * head is never empty, so that callback comes. */
    bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW_WATER, 0);
}

int srv_hconn_feed(srv_conn_t *c, struct evbuffer *in, struct evbuffer *out)
{
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        int64_t now = srv_now_mono();
        c->last_active = now;
        if (c->req_start == 0)
            c->req_start = now;
        size_t used = 0;
        int rc = srv_http_parser_feed(c->parser, vec.iov_base, vec.iov_len, &used);
        evbuffer_drain(in, used);
        if (rc == SRV_HTTP_AGAIN) {
            if (now - c->req_start > REQUEST_DEADLINE)
                return 408;
            continue;
        }
        if (rc == SRV_HTTP_HEAD_DONE) {
            const srv_http_request_t *r = srv_http_parser_request(c->parser);
            if (r->expect_continue && !c->sent_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->sent_continue = 1;
                evbuffer_add(out, cont, sizeof(cont) - 1);
            }
            continue;
        }
        return rc == SRV_HTTP_ERROR ? srv_http_parser_error_status(c->parser) : 0;
    }
    return -1;
}

/* The answer to what srv_hconn_feed could not make a request of. */
static void answer_unparsed(srv_conn_t *c, int status)
{
    if (status == 408) {
        send_error(c, NULL, 408, "request not received in time", NULL);
        return;
    }
    c->srv->metrics.requests[SRV_R_OTHER]++;
    send_error(c, NULL, status, srv_http_parser_error_text(c->parser), NULL);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    srv_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->closing && !c->paused && !c->pending && !c->stream && !c->gzjob) {
        int st = srv_hconn_feed(c, in, bufferevent_get_output(bev));
        if (st < 0)
            return; /* the rest of the request is still to come */
        if (st > 0) {
            answer_unparsed(c, st);
            return;
        }
        if (request_done(c, srv_http_parser_request(c->parser)))
            return;
    }
}

/* A whole request on a connection of the loop's own: answer it. Returns 1 when reading must
 * stop (c upgraded and gone, or an answer still under way). */
static int request_done(srv_conn_t *c, const srv_http_request_t *r)
{
    struct bufferevent *bev = c->bev;
    if (dispatch(c, r))
        return 1; /* upgraded: c is gone */
    if (c->pending || c->stream || c->gzjob) {
        bufferevent_disable(bev, EV_READ); /* one answer at a time, in order */
        return 1;
    }
    srv_http_parser_reset(c->parser);
    c->req_start = 0;
    c->sent_continue = 0;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > OUT_HIGH_WATER) {
        c->paused = 1;
        bufferevent_disable(bev, EV_READ);
    }
    return 0;
}

/* ---- threaded connections (http_io.h): the loop's half ---------------------------------- */

static void conn_setup_bev(srv_conn_t *c);

/* A request a thread parsed (or could not): answered here, written there. */
static void io_request(srv_conn_t *c)
{
    c->in_loop = 1;
    if (c->io_status) {
        answer_unparsed(c, c->io_status);
        answer_done(c);
        return;
    }
    if (dispatch(c, srv_http_parser_request(c->parser)))
        return; /* moving to the loop */
    if (c->pending || c->gzjob)
        return; /* answer_done comes with the answer */
    answer_done(c);
}

/* The socket has come over (SRV_IO_MIGRATED): c is the loop's own from now on, and the request
 * that asked for the move is dispatched again. */
static void io_migrated(srv_conn_t *c)
{
    srv_server_t *srv = c->srv;
    struct evbuffer *rx = c->rx;
    c->rx = NULL;
    c->io = NULL;
    c->migrating = 0;
    c->in_loop = 0;
    evbuffer_free(c->tx);
    c->tx = NULL;
    c->bev = bufferevent_socket_new(srv->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(c->fd);
        evbuffer_free(rx);
        conn_free(c);
        return;
    }
    /* The bytes the thread read past the request come first. A socket bufferevent freezes
     * its input's end to all but its own reads: thawed for this one addition. */
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_unfreeze(in, 0);
    int rc = evbuffer_add_buffer(in, rx);
    evbuffer_freeze(in, 0);
    evbuffer_free(rx);
    if (rc != 0) {
        conn_free(c);
        return;
    }
    c->last_active = srv_now_mono();
    conn_setup_bev(c);
    bufferevent_disable(c->bev, EV_READ);
    if (request_done(c, srv_http_parser_request(c->parser)) || c->closing || c->paused)
        return;
    bufferevent_enable(c->bev, EV_READ);
    conn_read_cb(c->bev, c);
}

void srv_hconn_from_io(srv_conn_t *c, unsigned ops)
{
    if (ops & SRV_IO_CLOSED) {
        if (!c->retired)
            conn_retire(c);
        srv_io_post(c, SRV_IO_RELEASE);
    } else if (ops & SRV_IO_MIGRATED) {
        io_migrated(c);
    } else if ((ops & SRV_IO_REQUEST) && !c->retired) {
        io_request(c);
    }
}

/* A connection that may be closed to make room: no request in progress, nothing left to
 * write. An idle keep-alive client reconnects when it next needs us; a refused new client
 * could not get in at all. */
static int conn_idle(srv_conn_t *c)
{
    if (c->io) /* its thread says so (idle_since); the loop knows its own part */
        return !c->closing && !c->in_loop && !c->migrating &&
               atomic_load_explicit(&c->idle_since, memory_order_relaxed) != 0;
    return !c->closing && c->req_start == 0 &&
           evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
}

static int64_t conn_last_active(srv_conn_t *c)
{
    return c->io ? atomic_load_explicit(&c->idle_since, memory_order_relaxed) : c->last_active;
}

/* The idle connection to close for a newcomer: from `addr` only when given, else from the
 * address holding the most connections, least recently active first. O(connections), and
 * only when a limit is reached. */
static srv_conn_t *pick_idle(srv_server_t *srv, const srv_addr_t *addr)
{
    srv_conn_t *best = NULL;
    size_t best_n = 0;
    for (srv_conn_t *c = srv->http->conns; c; c = c->next) {
        if (!conn_idle(c) || (addr && c->client.addr != addr))
            continue;
        size_t n = srv_clients_addr_conns(&c->client);
        if (!best || n > best_n || (n == best_n && conn_last_active(c) < conn_last_active(best))) {
            best = c;
            best_n = n;
        }
    }
    return best;
}

static void address_text(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *src = NULL;
    if (sa && sa->sa_family == AF_INET)
        src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!src || !inet_ntop(sa->sa_family, src, buf, (socklen_t)len))
        snprintf(buf, len, "%s", sa && sa->sa_family == AF_UNIX ? "unix" : "unknown");
}

static void refuse_conn(srv_server_t *srv, evutil_socket_t fd, srv_client_t *cl)
{
    srv->metrics.http_connections_rejected++;
    srv_clients_detach(srv->clients, cl);
    evutil_closesocket(fd);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    srv_server_t *srv = arg;
    (void)socklen;
    int tls =
        l == srv->http->tls_listener || (l == srv->http->listener && srv_tls_on_main_listener(srv));
    srv->metrics.http_connections_total++;
    srv_client_t cl = {0};
    if (srv->draining) {
        refuse_conn(srv, fd, &cl);
        return;
    }
    char addr[64];
    address_text(sa, addr, sizeof(addr));
    int64_t now = srv_now_mono();
    srv_clients_attach(srv->clients, &cl, addr, now);
    /* Per address first: a host over its cap makes room among its own idle connections
     * only, never at the expense of others. Then the global cap, where the idle connection
     * of the busiest address goes first. */
    size_t per_addr = (size_t)srv->cfg.http_max_connections_per_address;
    if (per_addr && srv_clients_addr_conns(&cl) > per_addr) {
        srv_conn_t *victim = pick_idle(srv, cl.addr);
        if (!victim) {
            srv->metrics.http_connections_rejected_address++;
            refuse_conn(srv, fd, &cl);
            return;
        }
        srv->metrics.http_connections_evicted++;
        conn_free(victim);
    }
    if (srv->http->n_conns >= (size_t)srv->cfg.http_max_connections) {
        srv_conn_t *victim = pick_idle(srv, NULL);
        if (!victim) {
            refuse_conn(srv, fd, &cl);
            return;
        }
        srv->metrics.http_connections_evicted++;
        conn_free(victim);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        srv_oom();
    c->srv = srv;
    c->client = cl;
    c->last_active = now;
    c->fd = fd;
    c->parser = srv_http_parser_new(&srv->http->limits);
    if (!c->parser)
        srv_oom();
    srv_http_parser_set_head_done(c->parser, 1);
    ARTEMISI_DLIST_PUSH(srv->http->conns, c);
    srv->http->n_conns++;
    if (srv->http->pool && !tls) { /* TLS stays on the loop (docs/design.md) */
        c->io = srv_io_pick(srv->http->pool);
        if (!(c->tx = evbuffer_new()))
            srv_oom();
        atomic_init(&c->idle_since, now > 0 ? now : 1);
        srv_io_post(c, SRV_IO_ADOPT);
        return;
    }
    c->bev = tls ? srv_tls_bev_new(srv, fd)
                 : bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->tls_handshaking = tls;
    if (!c->bev)
        srv_oom();
    conn_setup_bev(c);
}

static void conn_setup_bev(srv_conn_t *c)
{
    srv_server_t *srv = c->srv;
    /* libevent writes at most 16 KB per write event by default: a 33 KB lookup answer then
     * took three loop turns, waiting behind every other connection's work in each. */
    bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
    struct timeval tv = {srv->cfg.http_idle_timeout_ms / 1000,
                         (srv->cfg.http_idle_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: log and keep listening; existing clients are unaffected. */
    srv_log(SRV_LOG_WARN, "http: accept failed: %s", strerror(errno));
}

/* Bind and listen on an IP:PORT literal (config.c refuses host names). */
static struct evconnlistener *bind_listener(srv_server_t *srv, const char *hostport,
                                            const char *key)
{
    char host[256];
    int port;
    if (srv_config_parse_hostport(hostport, host, sizeof(host), &port) != 0)
        return NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t slen;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        slen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        slen = sizeof(*sin6);
    } else {
        srv_log(SRV_LOG_ERROR, "%s: '%s' is not an IP address", key, host);
        return NULL;
    }
    return evconnlistener_new_bind(srv->base, accept_cb, srv,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                   (struct sockaddr *)&ss, (int)slen);
}

int srv_http_listen(srv_server_t *srv, int fd)
{
    srv->http = calloc(1, sizeof(*srv->http));
    if (!srv->http)
        srv_oom();
    srv_http_limits_init(&srv->http->limits);
    srv->http->limits.max_body_bytes = (size_t)srv->cfg.http_max_body_bytes;
    srv->http->limits.max_header_bytes = (size_t)srv->cfg.http_max_header_bytes;
    srv->http->limits.max_headers = (size_t)srv->cfg.http_max_headers;
    if (fd >= 0) {
        evutil_make_socket_nonblocking(fd);
        srv->http->listener = evconnlistener_new(srv->base, accept_cb, srv,
                                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, fd);
    } else {
        srv->http->listener = bind_listener(srv, srv->cfg.listen, "listen");
    }
    if (!srv->http->listener)
        return -1;
    evconnlistener_set_error_cb(srv->http->listener, accept_error_cb);
    if (srv->cfg.http_io_threads > 0 &&
        !(srv->http->pool = srv_io_pool_start(srv, (int)srv->cfg.http_io_threads,
                                              (int)srv->cfg.http_idle_timeout_ms))) {
        errno = 0; /* logged by srv_io_pool_start */
        return -1;
    }
    /* A TLS port beside the plain one (a migration); the same accept path serves both. */
    if (srv_tls_enabled(srv) && *srv->cfg.tls_listen) {
        srv->http->tls_listener = bind_listener(srv, srv->cfg.tls_listen, "tls.listen");
        if (!srv->http->tls_listener) {
            srv_log(SRV_LOG_ERROR, "tls.listen %s: %s", srv->cfg.tls_listen,
                    errno ? strerror(errno) : "cannot listen");
            return -1;
        }
        evconnlistener_set_error_cb(srv->http->tls_listener, accept_error_cb);
    }
    return 0;
}

void srv_http_stop_listening(srv_server_t *srv)
{
    if (srv->http && srv->http->listener) {
        evconnlistener_free(srv->http->listener);
        srv->http->listener = NULL;
    }
    if (srv->http && srv->http->tls_listener) {
        evconnlistener_free(srv->http->tls_listener);
        srv->http->tls_listener = NULL;
    }
}

void srv_http_close_all(srv_server_t *srv)
{
    if (!srv->http)
        return;
    /* The threads stop first, so what they hold stays put while the loop lets go of its part;
     * srv_http_free then frees their connections. */
    srv_io_pool_stop(srv->http->pool);
    while (srv->http->conns)
        conn_free(srv->http->conns);
}

void srv_http_free(srv_server_t *srv)
{
    if (!srv->http)
        return;
    srv_http_close_all(srv);
    srv_http_stop_listening(srv);
    srv_io_pool_free(srv->http->pool);
    free(srv->http);
    srv->http = NULL;
}

size_t srv_http_conn_count(const srv_server_t *srv)
{
    return srv->http ? srv->http->n_conns : 0;
}
