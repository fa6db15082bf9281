/*
 * loadgen: the HTTP/1.1 and WebSocket load generator of the artemis-server benchmarks.
 *
 * One thread, one epoll set, plain sockets: no library but OpenSSL (only used with --tls), so
 * the generator costs as little CPU as possible on a machine it shares with the server.
 * Latencies go into a log-linear histogram with 1 us resolution below 2 ms and 0.05 % relative
 * error above.
 *
 * Load shapes
 *   closed loop (default): N keep-alive connections, each with one request in flight; the next
 *     one leaves as soon as the previous answer is complete. Latency = first byte written to
 *     last byte read.
 *   open loop (--rate R): request k is due at t0 + k/R whatever happens; it leaves on the next
 *     idle connection, and its latency is measured from the time it was due (so queueing in
 *     the generator or the server is not hidden: no coordinated omission).
 *   --count N: exactly N requests (all counted), at most --max-seconds; otherwise a warm-up
 *     (--warmup, not counted) and a measured window (--duration).
 *
 * Modes
 *   register | heartbeat   --batch B instances per request (instance numbering below);
 *                          "items" = instances, so items/s = renewals/s for heartbeat
 *   lookup                 lookup.json of <prefix><--lookup-service>
 *   services               GET services.json
 *   delta                  services-delta.json with --version V
 *   etcd-put               etcd v3 gateway: POST /v3/lease/grant then /v3/kv/put with that lease
 *                          (one op = the two requests; latency of the pair)
 *   etcd-keepalive         grants --instances leases (not measured), then POST /v3/lease/keepalive
 *                          round-robin over them
 *   etcd-range             POST /v3/kv/range of the prefix /artemis/<prefix><--lookup-service>/
 *   ws-heartbeat           --sessions N WebSocket sessions on /ws/registry/heartbeat; each sends a
 *                          HeartbeatRequest of --batch instances every --interval-ms (staggered);
 *                          latency from the due time to the HeartbeatResponse
 *   ws-push                --sessions M sessions on /ws/discovery/instance-change, session j
 *                          subscribed to service j % --services; meanwhile --conns writer
 *                          connections register at --rate changes/s, each instance carrying its
 *                          send time (CLOCK_REALTIME, us) in metadata "ts". Latency = receive time
 *                          minus that stamp, per pushed frame. With --server-pid, the server's
 *                          RSS before and after the sessions subscribed is reported.
 *
 * TLS (--tls 1 [--ca FILE]; HTTP modes register, heartbeat, lookup, services, delta): every
 * connection is non-blocking SSL on the same epoll set (SSL_connect, SSL_read, SSL_write with
 * WANT_READ/WANT_WRITE), TLS 1.2+, ALPN http/1.1; the server certificate must verify against
 * --ca (else the system store) and carry IP 127.0.0.1. Connections are kept alive, so the
 * handshake is paid once per connection; --new-conn 1 opens a new connection (a full handshake:
 * no session resumption) for every request and closes it after the answer, whose latency then
 * counts from connect() (also without --tls: TCP connections/s). "handshakes" counts the
 * handshakes completed in the measured window.
 *
 * Instance i belongs to service <prefix><i % S> (--services S, --prefix, default
 * "bench.service."), has ip 10.x.y.z from i and instanceId <ip>:8080, two metadata entries,
 * and otherwise looks like fixture F1 (region sha, zone sha-z1). Timed register/heartbeat runs
 * cycle over --instances instances; --count runs number them 0.. without wrapping.
 *
 * Output: one JSON object on one line on stdout. Errors are counted, not fatal: a response that
 * is not HTTP 200 or lacks the mode's success marker, or a connection that broke mid-request.
 * Exit 2 on bad usage or when nothing could connect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

enum mode {
    M_REGISTER,
    M_HEARTBEAT,
    M_LOOKUP,
    M_SERVICES,
    M_DELTA,
    M_ETCD_PUT,
    M_ETCD_KEEPALIVE,
    M_ETCD_RANGE,
    M_WS_HEARTBEAT,
    M_WS_PUSH
};
static const char *const k_mode_names[] = {
    "register", "heartbeat",      "lookup",     "services",     "delta",
    "etcd-put", "etcd-keepalive", "etcd-range", "ws-heartbeat", "ws-push"};

struct opts {
    int port;
    enum mode mode;
    int conns, sessions, batch;
    double duration_s, warmup_s, max_seconds, rate, interval_ms;
    long count, services, instances, lookup_service, etcd_ttl;
    unsigned long long version;
    const char *prefix;
    int server_pid;
    int tls, new_conn;
    const char *ca;
};
static struct opts g_opt;

/* ---- histogram ----------------------------------------------------------------------------- */

#define H_LIN 2048
#define H_SUB 1024
#define H_NB  (H_LIN + 40 * H_SUB)
struct hist {
    uint64_t n, max;
    double sum;
    uint64_t b[H_NB];
};
static struct hist g_h;

static void hist_add(struct hist *h, uint64_t us)
{
    size_t k;
    if (us < H_LIN) {
        k = (size_t)us;
    } else {
        int e = 63 - __builtin_clzll(us) - 10; /* us >> e is in [1024, 2048) */
        k = H_LIN + (size_t)(e - 1) * H_SUB + (size_t)((us >> e) - H_SUB);
        if (k >= H_NB)
            k = H_NB - 1;
    }
    h->b[k]++;
    h->n++;
    h->sum += (double)us;
    if (us > h->max)
        h->max = us;
}

static double hist_value(size_t k)
{
    if (k < H_LIN)
        return (double)k;
    size_t e = (k - H_LIN) / H_SUB + 1, sub = (k - H_LIN) % H_SUB + H_SUB;
    return (double)((uint64_t)sub << e) + (double)((1ull << e) - 1) / 2.0;
}

static double hist_pct(const struct hist *h, double p)
{
    if (!h->n)
        return 0.0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->n + 0.999999), acc = 0;
    if (rank < 1)
        rank = 1;
    for (size_t k = 0; k < H_NB; k++) {
        acc += h->b[k];
        if (acc >= rank)
            return hist_value(k) > (double)h->max ? (double)h->max : hist_value(k);
    }
    return (double)h->max;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        die("out of memory");
    return q;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static size_t b64(char *dst, const char *src, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)src[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)src[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)src[i + 2];
        dst[o++] = t[(v >> 18) & 63];
        dst[o++] = t[(v >> 12) & 63];
        dst[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        dst[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    dst[o] = '\0';
    return o;
}

/* ---- request bodies ------------------------------------------------------------------------ */

static char *g_body; /* scratch for one request body */
static size_t g_body_cap;

static int instance_json(char *dst, size_t cap, long i, uint64_t ts_us)
{
    long s = i % g_opt.services;
    unsigned a = (unsigned)((i >> 16) & 255), b = (unsigned)((i >> 8) & 255),
             c = (unsigned)(i & 255);
    char meta[96];
    if (ts_us)
        snprintf(meta, sizeof meta, "{\"env\":\"bench\",\"ts\":\"%llu\"}",
                 (unsigned long long)ts_us);
    else
        snprintf(meta, sizeof meta, "{\"env\":\"bench\",\"version\":\"1.0.%ld\"}", i % 10);
    return snprintf(dst, cap,
                    "{\"groupId\":null,"
                    "\"healthCheckUrl\":\"http://10.%u.%u.%u:8080/health\","
                    "\"instanceId\":\"10.%u.%u.%u:8080\",\"ip\":\"10.%u.%u.%u\","
                    "\"machineName\":\"host-%ld\",\"metadata\":%s,"
                    "\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
                    "\"serviceId\":\"%s%ld\",\"status\":\"up\","
                    "\"url\":\"http://10.%u.%u.%u:8080/bench\",\"zoneId\":\"sha-z1\"}",
                    a, b, c, a, b, c, a, b, c, i, meta, g_opt.prefix, s, a, b, c);
}

/* {"instances":[instance first .. first+batch-1]} into g_body; returns its length. */
static size_t instances_body(long first, int batch, uint64_t ts_us)
{
    size_t need = (size_t)batch * 700 + 64, len = 0;
    if (need > g_body_cap) {
        g_body_cap = need;
        g_body = xrealloc(g_body, need);
    }
    len += (size_t)snprintf(g_body, g_body_cap, "{\"instances\":[");
    for (int k = 0; k < batch; k++) {
        if (k)
            g_body[len++] = ',';
        len += (size_t)instance_json(g_body + len, g_body_cap - len, first + k, ts_us);
    }
    len += (size_t)snprintf(g_body + len, g_body_cap - len, "]}");
    return len;
}

/* ---- connections --------------------------------------------------------------------------- */

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN };

struct conn {
    int fd, idx, is_ws, state;
    SSL *ssl;   /* --tls: the connection's SSL, NULL on plain sockets */
    int tls_up; /* handshake complete */
    char *out;
    size_t out_len, out_off, out_cap;
    char *in;
    size_t in_len, in_cap;
    long hdr_end;  /* offset of the body, -1 while the header is incomplete */
    long body_len; /* Content-Length, -2 for chunked */
    int status;
    uint64_t t_start; /* latency origin of the request in flight */
    int busy, step;   /* step: etcd-put grant (0) / put (1) */
    uint64_t pending; /* ws-heartbeat: due time of a deferred send, 0 if none */
    long item;        /* index the request in flight is about */
    struct conn *next_idle;
};

static int g_ep;
static struct conn *g_conns, *g_idle;
static int g_nconns;
static long g_errors, g_conn_errors, g_sent, g_done, g_skipped;
static uint64_t g_bytes_in, g_items, g_pushes, g_pushes_seen;
static long g_next_index;
static uint64_t g_t_measure, g_t_end;
static long *g_leases; /* etcd-keepalive: lease ids */
static long g_nleases;
static SSL_CTX *g_ssl_ctx; /* --tls */
static long g_handshakes, g_handshakes_all, g_tls_errors;

static void tls_init(void)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    g_ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!g_ssl_ctx)
        die("SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(g_ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(g_ssl_ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (g_opt.ca ? SSL_CTX_load_verify_locations(g_ssl_ctx, g_opt.ca, NULL) != 1
                 : SSL_CTX_set_default_verify_paths(g_ssl_ctx) != 1)
        die("--ca: cannot load the CA file");
    SSL_CTX_set_verify(g_ssl_ctx, SSL_VERIFY_PEER, NULL);
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(g_ssl_ctx), "127.0.0.1") != 1)
        die("X509_VERIFY_PARAM_set1_ip_asc failed");
    if (SSL_CTX_set_alpn_protos(g_ssl_ctx, alpn, sizeof alpn - 1) != 0)
        die("SSL_CTX_set_alpn_protos failed");
}

/* A TLS operation failed: counted; the first failure is described on stderr. */
static void tls_fail(struct conn *c, const char *what, int err)
{
    if (g_tls_errors++ == 0) {
        char buf[256] = "";
        unsigned long e = ERR_peek_error();
        long v = SSL_get_verify_result(c->ssl);
        if (e)
            ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "loadgen: TLS %s failed: SSL_get_error %d, %s; certificate: %s\n", what,
                err, e ? buf : (errno ? strerror(errno) : "connection closed"),
                X509_verify_cert_error_string(v));
    }
    ERR_clear_error();
}

static void want_out(struct conn *c, int on)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_open(struct conn *c)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g_opt.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    if (g_ssl_ctx) {
        c->ssl = SSL_new(g_ssl_ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
            ERR_clear_error();
            SSL_free(c->ssl);
            c->ssl = NULL;
            close(c->fd);
            c->fd = -1;
            return -1;
        }
        SSL_set_connect_state(c->ssl);
        c->tls_up = 0;
    }
    epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->in_len = 0;
    c->out_len = c->out_off = 0; /* nothing left over from a previous connection */
    c->hdr_end = -1;
    c->busy = 0;
    c->step = 0;
    c->state = c->is_ws ? ST_CONNECTING : ST_OPEN;
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->ssl) {
        if (c->tls_up)
            SSL_shutdown(c->ssl); /* close_notify, not waiting for the peer's */
        SSL_free(c->ssl);
        ERR_clear_error();
        c->ssl = NULL;
        c->tls_up = 0;
    }
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->busy = 0;
}

/* Drives the TLS handshake of c: 0 while it goes on or once done, -1 if it failed. */
static int tls_handshake(struct conn *c)
{
    ERR_clear_error();
    int k = SSL_do_handshake(c->ssl);
    if (k == 1) {
        c->tls_up = 1;
        g_handshakes_all++;
        if (now_ns() >= g_t_measure)
            g_handshakes++;
        return 0;
    }
    int e = SSL_get_error(c->ssl, k);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        want_out(c, e == SSL_ERROR_WANT_WRITE);
        return 0;
    }
    tls_fail(c, "handshake", e);
    return -1;
}

static int conn_flush(struct conn *c)
{
    if (c->ssl && !c->tls_up)
        return 0; /* the request goes out once the handshake is complete */
    while (c->out_off < c->out_len) {
        ssize_t n;
        if (c->ssl) {
            size_t left = c->out_len - c->out_off;
            ERR_clear_error();
            int k =
                SSL_write(c->ssl, c->out + c->out_off, left > INT32_MAX ? INT32_MAX : (int)left);
            if (k <= 0) {
                int e = SSL_get_error(c->ssl, k);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    /* WANT_READ: retried on the next readable event (run_loop) */
                    want_out(c, e == SSL_ERROR_WANT_WRITE);
                    return 0;
                }
                tls_fail(c, "write", e);
                return -1;
            }
            c->out_off += (size_t)k;
            continue;
        }
        n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                want_out(c, 1);
                return 0;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    want_out(c, 0);
    return 0;
}

static void out_reserve(struct conn *c, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = xrealloc(c->out, c->out_cap);
    }
}

static void queue_http(struct conn *c, const char *method, const char *path, const char *body,
                       size_t blen)
{
    out_reserve(c, blen + 256);
    if (body)
        c->out_len += (size_t)snprintf(c->out + c->out_len, c->out_cap - c->out_len,
                                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Accept: application/json\r\nContent-Length: %zu\r\n\r\n",
                                       method, path, g_opt.port, blen);
    else
        c->out_len += (size_t)snprintf(c->out + c->out_len, c->out_cap - c->out_len,
                                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                       "Accept: application/json\r\n\r\n",
                                       method, path, g_opt.port);
    if (body) {
        memcpy(c->out + c->out_len, body, blen);
        c->out_len += blen;
    }
}

/* A client text frame; the mask key is zero (legal, RFC 6455 5.3), so the payload is sent as is. */
static void queue_ws_text(struct conn *c, const char *p, size_t n)
{
    unsigned char h[14];
    size_t hl = 0;
    out_reserve(c, n + 14);
    h[hl++] = 0x81;
    if (n < 126) {
        h[hl++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int k = 7; k >= 0; k--)
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * k));
    }
    memset(h + hl, 0, 4);
    hl += 4;
    memcpy(c->out + c->out_len, h, hl);
    memcpy(c->out + c->out_len + hl, p, n);
    c->out_len += hl + n;
}

/* ---- building requests --------------------------------------------------------------------- */

static long next_index(long batch)
{
    if (g_opt.count <= 0 && g_next_index + batch > g_opt.instances)
        g_next_index = 0;
    long i = g_next_index;
    g_next_index += batch;
    return i;
}

static void etcd_key(char *dst, long i)
{
    unsigned a = (unsigned)((i >> 16) & 255), b = (unsigned)((i >> 8) & 255),
             c = (unsigned)(i & 255);
    sprintf(dst, "/artemis/%s%ld/10.%u.%u.%u:8080", g_opt.prefix, i % g_opt.services, a, b, c);
}

static void build_request(struct conn *c)
{
    size_t blen;
    char tmp[256], k64[512];
    switch (g_opt.mode) {
    case M_REGISTER:
    case M_HEARTBEAT:
    case M_WS_PUSH: {
        long i = next_index(g_opt.batch);
        blen = instances_body(i, g_opt.batch, g_opt.mode == M_WS_PUSH ? wall_us() : 0);
        queue_http(c, "POST",
                   g_opt.mode == M_HEARTBEAT ? "/api/registry/heartbeat.json"
                                             : "/api/registry/register.json",
                   g_body, blen);
        break;
    }
    case M_LOOKUP:
        blen = (size_t)snprintf(tmp, sizeof tmp,
                                "{\"discoveryConfigs\":[{\"discoveryData\":null,\"regionId\":null,"
                                "\"serviceId\":\"%s%ld\",\"zoneId\":null}],"
                                "\"regionId\":\"sha\",\"zoneId\":\"sha-z1\"}",
                                g_opt.prefix, g_opt.lookup_service);
        queue_http(c, "POST", "/api/discovery/lookup.json", tmp, blen);
        break;
    case M_SERVICES:
        queue_http(c, "GET", "/api/discovery/services.json", NULL, 0);
        break;
    case M_DELTA:
        blen = (size_t)snprintf(tmp, sizeof tmp,
                                "{\"regionId\":\"sha\",\"version\":%llu,\"zoneId\":\"sha-z1\"}",
                                g_opt.version);
        queue_http(c, "POST", "/api/discovery/services-delta.json", tmp, blen);
        break;
    case M_ETCD_PUT:
        if (c->step == 0) {
            c->item = next_index(1);
            blen = (size_t)snprintf(tmp, sizeof tmp, "{\"TTL\":%ld}", g_opt.etcd_ttl);
            queue_http(c, "POST", "/v3/lease/grant", tmp, blen);
        }
        break;
    case M_ETCD_KEEPALIVE: {
        long i = next_index(1) % (g_nleases ? g_nleases : 1);
        blen = (size_t)snprintf(tmp, sizeof tmp, "{\"ID\":\"%ld\"}", g_leases ? g_leases[i] : 0);
        queue_http(c, "POST", "/v3/lease/keepalive", tmp, blen);
        break;
    }
    case M_ETCD_RANGE: {
        int n = snprintf(tmp, sizeof tmp, "/artemis/%s%ld/", g_opt.prefix, g_opt.lookup_service);
        char e64[512];
        b64(k64, tmp, (size_t)n);
        tmp[n - 1]++; /* range_end: the prefix with its last byte incremented */
        b64(e64, tmp, (size_t)n);
        blen =
            (size_t)snprintf(g_body, g_body_cap, "{\"key\":\"%s\",\"range_end\":\"%s\"}", k64, e64);
        queue_http(c, "POST", "/v3/kv/range", g_body, blen);
        break;
    }
    default:
        break;
    }
}

/* etcd-put step 2: the put with the lease the grant returned. */
static int build_put(struct conn *c)
{
    const char *body = c->in + c->hdr_end, *p = strstr(body, "\"ID\":\"");
    char key[256], k64[512], inst[1024], *v64;
    size_t blen;
    if (!p)
        return -1;
    long lease = strtol(p + 6, NULL, 10);
    etcd_key(key, c->item);
    b64(k64, key, strlen(key));
    int il = instance_json(inst, sizeof inst, c->item, 0);
    v64 = g_body + 2048;
    b64(v64, inst, (size_t)il);
    blen = (size_t)snprintf(g_body, 2048, "{\"key\":\"%s\",\"lease\":\"%ld\",\"value\":\"", k64,
                            lease);
    memmove(g_body + blen, v64, strlen(v64));
    blen += strlen(v64);
    memcpy(g_body + blen, "\"}", 2);
    blen += 2;
    queue_http(c, "POST", "/v3/kv/put", g_body, blen);
    return 0;
}

static void ws_handshake(struct conn *c)
{
    const char *path =
        g_opt.mode == M_WS_PUSH ? "/ws/discovery/instance-change" : "/ws/registry/heartbeat";
    out_reserve(c, 512);
    c->out_len += (size_t)snprintf(c->out + c->out_len, c->out_cap - c->out_len,
                                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Version: 13\r\n\r\n",
                                   path, g_opt.port);
    c->state = ST_HANDSHAKE;
}

/* Start request/message on c with latency origin t0. */
static int conn_start(struct conn *c, uint64_t t0)
{
    c->t_start = t0;
    c->busy = 1;
    c->step = 0;
    c->in_len = c->is_ws ? c->in_len : 0;
    c->hdr_end = -1;
    g_sent++;
    if (g_opt.mode == M_WS_HEARTBEAT) {
        long first = (long)c->idx * g_opt.batch % g_opt.instances;
        size_t n = instances_body(first, g_opt.batch, 0);
        queue_ws_text(c, g_body, n);
    } else {
        build_request(c);
    }
    return conn_flush(c);
}

/* ---- responses ----------------------------------------------------------------------------- */

static int parse_header(struct conn *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    c->hdr_end = (end - c->in) + 4;
    *end = '\0';
    if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    c->status = atoi(c->in + 9);
    c->body_len = -1;
    for (char *line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        char *p = line + 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            c->body_len = strtol(p + 15, NULL, 10);
        else if (strncasecmp(p, "Transfer-Encoding:", 18) == 0 && strstr(p, "chunked"))
            c->body_len = -2;
    }
    *end = '\r';
    if (c->body_len == -1 && c->status != 101)
        return -1;
    return 0;
}

/* For a chunked body: total length of the response once the last chunk is in, else 0; the
 * chunks are joined in place so the body is contiguous (body_len is set). -1 on garbage. */
static long chunked_end(struct conn *c)
{
    size_t p = (size_t)c->hdr_end;
    for (;;) {
        char *nl = memmem(c->in + p, c->in_len - p, "\r\n", 2);
        if (!nl)
            return 0;
        long sz = strtol(c->in + p, NULL, 16);
        size_t data = (size_t)(nl - c->in) + 2;
        if (sz < 0)
            return -1;
        if (sz == 0) {
            if (c->in_len < data + 2)
                return 0;
            /* join: copy chunk payloads together */
            size_t q = (size_t)c->hdr_end, o = (size_t)c->hdr_end;
            for (;;) {
                char *l2 = memmem(c->in + q, c->in_len - q, "\r\n", 2);
                long s2 = strtol(c->in + q, NULL, 16);
                size_t d2 = (size_t)(l2 - c->in) + 2;
                if (s2 == 0)
                    break;
                memmove(c->in + o, c->in + d2, (size_t)s2);
                o += (size_t)s2;
                q = d2 + (size_t)s2 + 2;
            }
            c->body_len = (long)(o - (size_t)c->hdr_end);
            c->in[o] = '\0';
            return (long)(data + 2);
        }
        if (c->in_len < data + (size_t)sz + 2)
            return 0;
        p = data + (size_t)sz + 2;
    }
}

static const char *success_marker(void)
{
    switch (g_opt.mode) {
    case M_ETCD_PUT:
        return "\"header\"";
    case M_ETCD_KEEPALIVE:
        return "\"TTL\"";
    case M_ETCD_RANGE:
        return "\"kvs\"";
    default:
        return "\"status\":\"success\"";
    }
}

static void record(struct conn *c, uint64_t t_now, int ok, long items)
{
    if (t_now < g_t_measure)
        return;
    if (!ok)
        g_errors++;
    g_done++;
    g_items += (uint64_t)items;
    hist_add(&g_h, (t_now - c->t_start) / 1000u);
}

/* One HTTP response is complete in c->in[0 .. total). Returns 1 when the op is done, 0 when it
 * continues (etcd-put's second step), -1 to drop the connection. */
static int http_done(struct conn *c, uint64_t t)
{
    const char *body = c->in + c->hdr_end;
    int ok = c->status == 200 &&
             memmem(body, (size_t)c->body_len, success_marker(), strlen(success_marker())) != NULL;
    if (t >= g_t_measure)
        g_bytes_in += (uint64_t)(c->hdr_end + c->body_len);
    if (g_opt.mode == M_ETCD_PUT && c->step == 0 && c->status == 200) {
        c->in[c->hdr_end + c->body_len - 1] = '\0'; /* strstr stays inside the body */
        if (build_put(c) == 0) {
            c->step = 1;
            return conn_flush(c) < 0 ? -1 : 0;
        }
        ok = 0;
    }
    long items = (g_opt.mode == M_REGISTER || g_opt.mode == M_HEARTBEAT) ? g_opt.batch : 1;
    if (g_opt.mode == M_WS_PUSH) {
        items = 0; /* the writer's changes are not the measured figure */
        if (t >= g_t_measure) {
            g_items++;
            if (!ok)
                g_errors++;
        }
        c->busy = 0;
        return 1;
    }
    record(c, t, ok, items);
    c->busy = 0;
    return 1;
}

/* A server text message arrived on a WebSocket session. */
static void ws_message(struct conn *c, const char *p, size_t n, uint64_t t)
{
    if (g_opt.mode == M_WS_PUSH) {
        const char *ts = memmem(p, n, "\"ts\":\"", 6);
        if (!ts) {
            return;
        }
        uint64_t sent = strtoull(ts + 6, NULL, 10), now = wall_us();
        g_pushes_seen++;
        if (t < g_t_measure)
            return;
        g_pushes++;
        hist_add(&g_h, now > sent ? now - sent : 0);
        return;
    }
    /* ws-heartbeat: the answer to the message in flight */
    if (!c->busy)
        return;
    int ok = memmem(p, n, "\"status\":\"success\"", 18) != NULL;
    record(c, t, ok, g_opt.batch);
    c->busy = 0;
    if (c->pending) {
        uint64_t due = c->pending;
        c->pending = 0;
        if (t < g_t_end)
            conn_start(c, due);
    }
}

/* Parses complete frames in c->in. Returns -1 on close/garbage. */
static int ws_frames(struct conn *c, uint64_t t)
{
    size_t off = 0;
    for (;;) {
        unsigned char *b = (unsigned char *)c->in + off;
        size_t avail = c->in_len - off, hl = 2, len;
        if (avail < 2)
            break;
        len = b[1] & 127;
        if (len == 126) {
            if (avail < 4)
                break;
            len = ((size_t)b[2] << 8) | b[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int k = 0; k < 8; k++)
                len = (len << 8) | b[2 + k];
            hl = 10;
        }
        if (b[1] & 0x80)
            hl += 4; /* servers do not mask, but skip a key if one is there */
        if (avail < hl + len)
            break;
        int op = b[0] & 15;
        if (op == 8)
            return -1;
        if (op == 9) { /* ping -> pong with the same payload (zero mask) */
            out_reserve(c, len + 14);
            unsigned char h[2] = {0x8a, (unsigned char)(0x80 | (len < 126 ? len : 0))};
            if (len < 126) {
                memcpy(c->out + c->out_len, h, 2);
                memset(c->out + c->out_len + 2, 0, 4);
                memcpy(c->out + c->out_len + 6, b + hl, len);
                c->out_len += 6 + len;
                if (conn_flush(c) < 0)
                    return -1;
            }
        } else if (op == 1 || op == 0) {
            ws_message(c, (const char *)b + hl, len, t);
        }
        off += hl + len;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return 0;
}

static void ws_opened(struct conn *c);

/* Reads what is there. Returns 1 when an HTTP op completed, 0 otherwise, -1 on a broken conn. */
static int conn_read(struct conn *c)
{
    for (;;) {
        size_t want = c->in_len + 65536;
        if (!c->is_ws && c->hdr_end >= 0 && c->body_len >= 0 &&
            (size_t)(c->hdr_end + c->body_len) + 1 > want)
            want = (size_t)(c->hdr_end + c->body_len) + 1;
        if (want > c->in_cap) {
            c->in_cap = want;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t n;
        if (c->ssl) {
            size_t room = c->in_cap - c->in_len - 1;
            ERR_clear_error();
            int k = SSL_read(c->ssl, c->in + c->in_len, room > INT32_MAX ? INT32_MAX : (int)room);
            if (k <= 0) {
                int e = SSL_get_error(c->ssl, k);
                if (e == SSL_ERROR_WANT_READ)
                    return 0;
                if (e == SSL_ERROR_WANT_WRITE) {
                    want_out(c, 1);
                    return 0;
                }
                if (e != SSL_ERROR_ZERO_RETURN)
                    tls_fail(c, "read", e);
                ERR_clear_error();
                return -1;
            }
            n = k;
        } else {
            n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
            if (n == 0)
                return -1;
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 0;
                if (errno == EINTR)
                    continue;
                return -1;
            }
        }
        c->in_len += (size_t)n;
        uint64_t t = now_ns();
        if (c->is_ws && c->state == ST_OPEN) {
            if (ws_frames(c, t) < 0)
                return -1;
            continue;
        }
        if (c->hdr_end < 0 && parse_header(c) < 0)
            return -1;
        if (c->hdr_end < 0)
            continue;
        if (c->is_ws) { /* handshake answer */
            if (c->status != 101)
                return -1;
            memmove(c->in, c->in + c->hdr_end, c->in_len - (size_t)c->hdr_end);
            c->in_len -= (size_t)c->hdr_end;
            c->hdr_end = -1;
            c->state = ST_OPEN;
            ws_opened(c);
            if (ws_frames(c, t) < 0)
                return -1;
            continue;
        }
        size_t total;
        if (c->body_len == -2) {
            long e = chunked_end(c);
            if (e < 0)
                return -1;
            if (e == 0)
                continue;
            total = (size_t)e;
        } else {
            total = (size_t)(c->hdr_end + c->body_len);
            if (c->in_len < total)
                continue;
        }
        if (!c->busy || c->in_len != total)
            return -1; /* unsolicited or extra bytes */
        int r = http_done(c, t);
        if (r <= 0) {
            c->in_len = 0;
            c->hdr_end = -1;
            if (r < 0)
                return -1;
            continue;
        }
        return 1;
    }
}

/* ---- WebSocket sessions -------------------------------------------------------------------- */

static long g_ws_open;
static void ws_opened(struct conn *c)
{
    g_ws_open++;
    if (g_opt.mode == M_WS_PUSH) {
        char sub[256];
        int n = snprintf(sub, sizeof sub,
                         "{\"discoveryData\":null,\"regionId\":null,\"serviceId\":\"%s%ld\","
                         "\"zoneId\":null}",
                         g_opt.prefix, (long)c->idx % g_opt.services);
        queue_ws_text(c, sub, (size_t)n);
        conn_flush(c);
    }
}

/* ---- main loop ----------------------------------------------------------------------------- */

static void idle_push(struct conn *c)
{
    c->next_idle = g_idle;
    g_idle = c;
}

static struct conn *idle_pop(void)
{
    while (g_idle) {
        struct conn *c = g_idle;
        g_idle = c->next_idle;
        if (c->fd >= 0 && !c->busy)
            return c;
    }
    return NULL;
}

static int may_start(uint64_t t)
{
    if (g_opt.count > 0)
        return g_sent < g_opt.count && t < g_t_end;
    return t < g_t_end;
}

/* Runs the event loop over conns [lo, hi) until t_stop; writer conns are driven closed- or
 * open-loop per g_opt.rate; ws-heartbeat sessions by the same open-loop schedule. */
static void run_loop(uint64_t t_stop, int drive)
{
    struct epoll_event evs[512];
    double period_ns = g_opt.rate > 0 ? 1e9 / g_opt.rate : 0;
    uint64_t t0 = now_ns();
    double next_due = (double)t0;
    long seq = 0;

    if (drive && g_opt.rate <= 0)
        for (int i = 0; i < g_nconns; i++) {
            struct conn *c = &g_conns[i];
            if (!c->is_ws && c->fd >= 0 && may_start(t0) && conn_start(c, now_ns()) < 0) {
                g_conn_errors++;
                conn_close(c);
            }
        }
    for (;;) {
        uint64_t t = now_ns();
        if (t >= t_stop)
            break;
        if (drive && g_opt.count > 0 && g_sent >= g_opt.count) {
            int busy = 0;
            for (int i = 0; i < g_nconns; i++)
                busy |= g_conns[i].busy;
            if (!busy)
                break;
        }
        /* open loop: hand out what is due */
        if (drive && g_opt.rate > 0) {
            while ((double)t >= next_due && may_start((uint64_t)next_due)) {
                if (g_opt.mode == M_WS_HEARTBEAT) {
                    struct conn *c = &g_conns[seq % g_opt.sessions];
                    seq++;
                    if (c->fd < 0 || c->state != ST_OPEN) {
                        g_skipped++;
                    } else if (c->busy) {
                        if (c->pending)
                            g_skipped++;
                        else
                            c->pending = (uint64_t)next_due;
                    } else if (conn_start(c, (uint64_t)next_due) < 0) {
                        g_conn_errors++;
                        conn_close(c);
                    }
                } else {
                    struct conn *c = idle_pop();
                    if (!c)
                        break;
                    if (conn_start(c, (uint64_t)next_due) < 0) {
                        g_conn_errors++;
                        conn_close(c);
                    }
                }
                next_due += period_ns;
            }
        }
        int64_t wait_ns = (int64_t)(t_stop - t);
        if (drive && g_opt.rate > 0 && (double)t < next_due &&
            next_due - (double)t < (double)wait_ns)
            wait_ns = (int64_t)(next_due - (double)t);
        if (wait_ns > 100000000)
            wait_ns = 100000000;
        struct timespec ts = {0, wait_ns};
        int n = epoll_pwait2(g_ep, evs, 512, &ts, NULL);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int r = 0;
            if (c->fd < 0)
                continue;
            if (c->ssl && !c->tls_up) {
                r = tls_handshake(c);
                if (r == 0 && c->tls_up)
                    r = conn_flush(c); /* the request queued while connecting */
                if (r == 0 && c->tls_up)
                    r = conn_read(c);
            } else {
                /* TLS: a write that wanted to read is retried on any event */
                if ((evs[i].events & EPOLLOUT) || (c->ssl && c->out_off < c->out_len)) {
                    if (c->is_ws && c->state == ST_CONNECTING)
                        ws_handshake(c);
                    r = conn_flush(c);
                }
                if (r == 0 && ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->ssl))
                    r = conn_read(c);
            }
            if (r < 0) {
                if (c->busy && now_ns() >= g_t_measure)
                    g_errors++;
                g_conn_errors++;
                if (c->is_ws && c->state == ST_OPEN)
                    g_ws_open--;
                conn_close(c);
                if (c->is_ws)
                    continue; /* a lost session stays lost (reported) */
                if (conn_open(c) < 0)
                    continue;
                if (!drive)
                    continue;
                if (g_opt.rate > 0)
                    idle_push(c);
                else if (may_start(now_ns()) && conn_start(c, now_ns()) < 0) {
                    g_conn_errors++;
                    conn_close(c);
                }
            } else if (r == 1 && drive) {
                if (g_opt.new_conn) { /* one connection (and handshake) per request */
                    conn_close(c);
                    if (conn_open(c) < 0) {
                        g_conn_errors++;
                        continue;
                    }
                }
                if (g_opt.rate > 0)
                    idle_push(c);
                else if (may_start(now_ns()) && conn_start(c, now_ns()) < 0) {
                    g_conn_errors++;
                    conn_close(c);
                }
            }
        }
    }
}

/* etcd-keepalive setup: grant --instances leases on one connection, unmeasured. */
static void grant_leases(void)
{
    struct opts saved = g_opt;
    g_nleases = g_opt.instances;
    g_leases = xrealloc(NULL, (size_t)g_nleases * sizeof *g_leases);
    struct conn c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    if (conn_open(&c) < 0)
        die("cannot connect");
    for (long i = 0; i < g_nleases; i++) {
        char tmp[64];
        int n = snprintf(tmp, sizeof tmp, "{\"TTL\":%ld}", g_opt.etcd_ttl);
        c.out_len = c.out_off = 0;
        queue_http(&c, "POST", "/v3/lease/grant", tmp, (size_t)n);
        c.busy = 1;
        c.in_len = 0;
        c.hdr_end = -1;
        /* blocking-style wait on the nonblocking socket */
        uint64_t deadline = now_ns() + 10000000000ull;
        int done = 0;
        while (!done && now_ns() < deadline) {
            if (c.out_off < c.out_len && conn_flush(&c) < 0)
                die("etcd grant failed");
            struct epoll_event ev;
            if (epoll_wait(g_ep, &ev, 1, 100) > 0 && (ev.events & EPOLLIN)) {
                for (;;) {
                    if (c.in_cap < c.in_len + 65536) {
                        c.in_cap = c.in_len + 65536;
                        c.in = xrealloc(c.in, c.in_cap);
                    }
                    ssize_t r = read(c.fd, c.in + c.in_len, c.in_cap - c.in_len - 1);
                    if (r <= 0)
                        break;
                    c.in_len += (size_t)r;
                }
                c.in[c.in_len] = '\0';
                if (c.hdr_end < 0)
                    parse_header(&c);
                if (c.hdr_end >= 0 && c.body_len >= 0 &&
                    c.in_len >= (size_t)(c.hdr_end + c.body_len)) {
                    const char *p = strstr(c.in + c.hdr_end, "\"ID\":\"");
                    if (!p)
                        die("etcd grant: no ID");
                    g_leases[i] = strtol(p + 6, NULL, 10);
                    done = 1;
                }
            }
        }
        if (!done)
            die("etcd grant timed out");
    }
    conn_close(&c);
    free(c.in);
    free(c.out);
    g_opt = saved;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P --mode MODE [--conns N=32] [--duration S=5] [--warmup S=1]\n"
            "  [--count N] [--max-seconds S=60] [--rate R (open loop, per second)]\n"
            "  [--services S=100] [--instances I=10000] [--prefix bench.service.] [--batch B=1]\n"
            "  [--lookup-service K=0] [--version V] [--etcd-ttl S=600]\n"
            "  [--sessions N] [--interval-ms MS=1000] [--server-pid PID]\n"
            "  [--tls 0|1] [--ca FILE] [--new-conn 0|1]\n"
            "MODE: register heartbeat lookup services delta etcd-put etcd-keepalive etcd-range\n"
            "      ws-heartbeat ws-push (--tls: register heartbeat lookup services delta)\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    int have_mode = 0;
    g_opt = (struct opts){.conns = 32,
                          .duration_s = 5,
                          .warmup_s = 1,
                          .max_seconds = 60,
                          .services = 100,
                          .instances = 10000,
                          .batch = 1,
                          .etcd_ttl = 600,
                          .interval_ms = 1000,
                          .prefix = "bench.service."};
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(k, "--port") == 0)
            g_opt.port = atoi(v);
        else if (strcmp(k, "--mode") == 0) {
            size_t m;
            for (m = 0; m < sizeof k_mode_names / sizeof *k_mode_names; m++)
                if (strcmp(v, k_mode_names[m]) == 0)
                    break;
            if (m == sizeof k_mode_names / sizeof *k_mode_names)
                usage();
            g_opt.mode = (enum mode)m;
            have_mode = 1;
        } else if (strcmp(k, "--conns") == 0)
            g_opt.conns = atoi(v);
        else if (strcmp(k, "--duration") == 0)
            g_opt.duration_s = atof(v);
        else if (strcmp(k, "--warmup") == 0)
            g_opt.warmup_s = atof(v);
        else if (strcmp(k, "--count") == 0)
            g_opt.count = atol(v);
        else if (strcmp(k, "--max-seconds") == 0)
            g_opt.max_seconds = atof(v);
        else if (strcmp(k, "--rate") == 0)
            g_opt.rate = atof(v);
        else if (strcmp(k, "--services") == 0)
            g_opt.services = atol(v);
        else if (strcmp(k, "--instances") == 0)
            g_opt.instances = atol(v);
        else if (strcmp(k, "--prefix") == 0)
            g_opt.prefix = v;
        else if (strcmp(k, "--batch") == 0)
            g_opt.batch = atoi(v);
        else if (strcmp(k, "--lookup-service") == 0)
            g_opt.lookup_service = atol(v);
        else if (strcmp(k, "--version") == 0)
            g_opt.version = strtoull(v, NULL, 10);
        else if (strcmp(k, "--etcd-ttl") == 0)
            g_opt.etcd_ttl = atol(v);
        else if (strcmp(k, "--sessions") == 0)
            g_opt.sessions = atoi(v);
        else if (strcmp(k, "--interval-ms") == 0)
            g_opt.interval_ms = atof(v);
        else if (strcmp(k, "--server-pid") == 0)
            g_opt.server_pid = atoi(v);
        else if (strcmp(k, "--tls") == 0)
            g_opt.tls = atoi(v);
        else if (strcmp(k, "--ca") == 0)
            g_opt.ca = v;
        else if (strcmp(k, "--new-conn") == 0)
            g_opt.new_conn = atoi(v);
        else
            usage();
    }
    if (!have_mode || g_opt.port <= 0 || g_opt.port > 65535 || g_opt.conns < 0 ||
        g_opt.conns > 100000 || g_opt.duration_s <= 0 || g_opt.duration_s > 600 ||
        g_opt.warmup_s < 0 || g_opt.warmup_s > 600 || g_opt.count < 0 || g_opt.max_seconds <= 0 ||
        g_opt.max_seconds > 3600 || g_opt.services < 1 || g_opt.instances < 1 ||
        g_opt.instances > 16000000 || g_opt.batch < 1 || g_opt.batch > 10000 || g_opt.rate < 0 ||
        g_opt.sessions < 0 || g_opt.sessions > 100000 || g_opt.interval_ms <= 0)
        usage();
    if ((g_opt.mode == M_WS_HEARTBEAT || g_opt.mode == M_WS_PUSH) && g_opt.sessions < 1)
        usage();
    if (g_opt.mode == M_WS_HEARTBEAT) {
        g_opt.rate = g_opt.sessions * 1000.0 / g_opt.interval_ms;
        g_opt.conns = 0;
    }
    if (g_opt.mode == M_WS_PUSH && g_opt.rate <= 0)
        usage();
    if ((g_opt.tls || g_opt.new_conn) && g_opt.mode != M_REGISTER && g_opt.mode != M_HEARTBEAT &&
        g_opt.mode != M_LOOKUP && g_opt.mode != M_SERVICES && g_opt.mode != M_DELTA)
        usage();
    if (g_opt.ca && !g_opt.tls)
        usage();
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g_ep < 0)
        die("epoll_create1 failed");
    g_body_cap = 65536;
    g_body = xrealloc(NULL, g_body_cap);
    if (g_opt.tls)
        tls_init();

    if (g_opt.mode == M_ETCD_KEEPALIVE)
        grant_leases();

    int nws = (g_opt.mode == M_WS_HEARTBEAT || g_opt.mode == M_WS_PUSH) ? g_opt.sessions : 0;
    g_nconns = nws + g_opt.conns;
    g_conns = calloc((size_t)g_nconns, sizeof *g_conns);
    if (!g_conns)
        die("out of memory");

    long rss0 = g_opt.server_pid ? rss_kb(g_opt.server_pid) : -1, rss1 = -1;
    double setup_s = 0;
    uint64_t t_setup = now_ns();
    int open_conns = 0;
    /* WebSocket sessions first: connect, handshake, subscribe, settle */
    for (int i = 0; i < nws; i++) {
        g_conns[i].idx = i;
        g_conns[i].is_ws = 1;
        g_conns[i].fd = -1;
        if (conn_open(&g_conns[i]) == 0)
            open_conns++;
        if (i % 256 == 255) { /* let handshakes progress; the listen backlog is finite */
            g_t_measure = UINT64_MAX;
            g_t_end = UINT64_MAX;
            run_loop(now_ns() + 2000000, 0);
        }
    }
    if (nws) {
        g_t_measure = UINT64_MAX;
        g_t_end = UINT64_MAX;
        uint64_t dl = now_ns() + 30000000000ull;
        while (g_ws_open < open_conns && now_ns() < dl)
            run_loop(now_ns() + 50000000, 0);
        run_loop(now_ns() + 1000000000, 0); /* subscriptions settle */
        setup_s = (double)(now_ns() - t_setup) / 1e9;
        rss1 = g_opt.server_pid ? rss_kb(g_opt.server_pid) : -1;
    }
    long ws_established = g_ws_open;
    for (int i = nws; i < g_nconns; i++) {
        g_conns[i].idx = i - nws;
        g_conns[i].fd = -1;
        if (conn_open(&g_conns[i]) == 0) {
            open_conns++;
            idle_push(&g_conns[i]);
        }
    }
    if (open_conns == 0)
        die("cannot connect");

    uint64_t t0 = now_ns();
    if (g_opt.count > 0) {
        g_t_measure = t0;
        g_t_end = t0 + (uint64_t)(g_opt.max_seconds * 1e9);
    } else {
        g_t_measure = t0 + (uint64_t)(g_opt.warmup_s * 1e9);
        g_t_end = g_t_measure + (uint64_t)(g_opt.duration_s * 1e9);
    }
    run_loop(g_t_end, 1);
    uint64_t t_stop = now_ns();
    if (g_opt.mode == M_WS_PUSH) /* pushes still travelling */
        run_loop(now_ns() + 500000000, 0);

    double window_s = g_opt.count > 0 ? (double)(t_stop - t0) / 1e9 : g_opt.duration_s;
    uint64_t n = g_opt.mode == M_WS_PUSH ? g_pushes : g_h.n;
    printf("{\"mode\":\"%s\",\"conns\":%d,\"sessions\":%d,\"batch\":%d,\"rate\":%.1f,"
           "\"window_s\":%.3f,\"requests\":%llu,\"rps\":%.1f,\"items_per_s\":%.1f,"
           "\"mean_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"max_us\":%.1f,\"errors\":%ld,\"conn_errors\":%ld,\"bytes_in\":%llu,"
           "\"incomplete\":%ld,\"skipped\":%ld,\"ws_established\":%ld,\"ws_open_end\":%ld,"
           "\"writes\":%llu,\"pushes\":%llu,\"pushes_seen\":%llu,\"rss_before_kb\":%ld,"
           "\"rss_after_kb\":%ld,\"setup_s\":%.2f,\"tls\":%d,\"new_conn\":%d,\"handshakes\":%ld,"
           "\"handshakes_per_s\":%.1f,\"handshakes_all\":%ld,\"tls_errors\":%ld}\n",
           k_mode_names[g_opt.mode], g_opt.conns, g_opt.sessions, g_opt.batch, g_opt.rate, window_s,
           (unsigned long long)n, (double)n / window_s, (double)g_items / window_s,
           g_h.n ? g_h.sum / (double)g_h.n : 0.0, hist_pct(&g_h, 50), hist_pct(&g_h, 90),
           hist_pct(&g_h, 99), hist_pct(&g_h, 99.9), (double)g_h.max, g_errors, g_conn_errors,
           (unsigned long long)g_bytes_in, g_opt.count > 0 ? g_opt.count - (long)g_h.n : 0L,
           g_skipped, ws_established, g_ws_open, (unsigned long long)g_items,
           (unsigned long long)g_pushes, (unsigned long long)g_pushes_seen, rss0, rss1, setup_s,
           g_opt.tls, g_opt.new_conn, g_handshakes, (double)g_handshakes / window_s,
           g_handshakes_all, g_tls_errors);
    for (int i = 0; i < g_nconns; i++) {
        conn_close(&g_conns[i]);
        free(g_conns[i].in);
        free(g_conns[i].out);
    }
    free(g_conns);
    free(g_body);
    free(g_leases);
    SSL_CTX_free(g_ssl_ctx);
    close(g_ep);
    return 0;
}
