/*
 * loadgen: a small closed-loop HTTP/1.1 load generator for artemis-server benchmarks.
 *
 * One thread, one epoll set, N keep-alive connections to 127.0.0.1:PORT. Each connection has at
 * most one request in flight and sends the next one as soon as the previous response is complete
 * (framed by Content-Length), so throughput and latency are those of a closed system of N
 * clients. Every response's latency (first byte written to last byte read) is kept in memory and
 * the percentiles are exact. A response is an error when its status is not 200 or its body does
 * not contain "status":"success" (the responseStatus of every Artemis API answer).
 *
 * Two ways to bound a run:
 *   timed (default): a warm-up (default 1 s) whose responses are not counted, then a measured
 *     window (default 5 s); requests still in flight at the end are dropped;
 *   --count N: exactly N requests (request i = 0..N-1), all counted, at most --max-seconds.
 *
 * Modes: register (instance i of service i % S), heartbeat (renews instances round-robin),
 * lookup (lookup.json for one service), services (GET services.json). The instance numbering is
 * the same in register and heartbeat, so heartbeat renews what register created; in timed
 * register mode the index wraps at --instances, i.e. it re-registers a fixed set.
 *
 * Output: one JSON object on one line on stdout. Exit status 0 even with errors (they are
 * reported); 2 on bad usage or when no connection could be made.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_REGISTER, MODE_HEARTBEAT, MODE_LOOKUP, MODE_SERVICES };

struct opts {
    int port;
    enum mode mode;
    int conns;
    double duration_s;
    double warmup_s;
    long count;
    double max_seconds;
    long services;
    long instances;
    long lookup_service;
};

struct conn {
    int fd;
    int idx;
    char *out;
    size_t out_len, out_off;
    char *in;
    size_t in_len, in_cap;
    long hdr_end;  /* offset of the body, -1 while the header is incomplete */
    long body_len; /* Content-Length of the current response */
    int status;
    uint64_t t_start;
    int busy;
};

static struct opts g_opt;
static uint64_t *g_samples;
static size_t g_nsamples, g_samples_cap;
static long g_errors, g_conn_errors, g_sent;
static uint64_t g_bytes_in;
static long g_next_index;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --mode register|heartbeat|lookup|services\n"
                    "               [--conns N=32] [--duration S=5] [--warmup S=1]\n"
                    "               [--count N (exactly N requests instead of a timed run)]\n"
                    "               [--max-seconds S=60] [--services S=100] [--instances I=10000]\n"
                    "               [--lookup-service K=0]\n");
    exit(2);
}

/* ---- request bodies ------------------------------------------------------------------------ */

/* The instance with index i, shaped like fixture F1: service bench.service.<i % S>, a distinct
 * ip 10.x.y.z derived from i and instanceId ip:8080. */
static int instance_json(char *dst, size_t cap, long i)
{
    long s = i % g_opt.services;
    unsigned a = (unsigned)((i >> 16) & 255), b = (unsigned)((i >> 8) & 255),
             c = (unsigned)(i & 255);
    return snprintf(dst, cap,
                    "{\"instances\":[{\"groupId\":null,"
                    "\"healthCheckUrl\":\"http://10.%u.%u.%u:8080/health\","
                    "\"instanceId\":\"10.%u.%u.%u:8080\",\"ip\":\"10.%u.%u.%u\","
                    "\"machineName\":\"host-%ld\",\"metadata\":{\"env\":\"bench\"},"
                    "\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
                    "\"serviceId\":\"bench.service.%ld\",\"status\":\"up\","
                    "\"url\":\"http://10.%u.%u.%u:8080/bench\",\"zoneId\":\"sha-z1\"}]}",
                    a, b, c, a, b, c, a, b, c, i, s, a, b, c);
}

static void build_request(struct conn *c)
{
    char body[1024];
    const char *path;
    int blen = 0;

    if (!c->out)
        c->out = xrealloc(NULL, 2048);
    switch (g_opt.mode) {
    case MODE_REGISTER:
    case MODE_HEARTBEAT: {
        long i = g_next_index++;
        if (g_opt.count <= 0)
            i %= g_opt.instances;
        blen = instance_json(body, sizeof body, i);
        path = g_opt.mode == MODE_REGISTER ? "/api/registry/register.json"
                                           : "/api/registry/heartbeat.json";
        break;
    }
    case MODE_LOOKUP:
        blen = snprintf(body, sizeof body,
                        "{\"discoveryConfigs\":[{\"discoveryData\":null,\"regionId\":null,"
                        "\"serviceId\":\"bench.service.%ld\",\"zoneId\":null}],"
                        "\"regionId\":\"sha\",\"zoneId\":\"sha-z1\"}",
                        g_opt.lookup_service);
        path = "/api/discovery/lookup.json";
        break;
    case MODE_SERVICES:
    default:
        c->out_len = (size_t)snprintf(c->out, 2048,
                                      "GET /api/discovery/services.json HTTP/1.1\r\n"
                                      "Host: 127.0.0.1:%d\r\nAccept: application/json\r\n\r\n",
                                      g_opt.port);
        c->out_off = 0;
        return;
    }
    c->out_len = (size_t)snprintf(c->out, 2048,
                                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                  "Content-Type: application/json\r\nAccept: application/json\r\n"
                                  "Content-Length: %d\r\n\r\n%s",
                                  path, g_opt.port, blen, body);
    c->out_off = 0;
}

/* ---- connections --------------------------------------------------------------------------- */

static int g_ep;

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
    epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->in_len = 0;
    c->hdr_end = -1;
    c->busy = 0;
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->busy = 0;
}

static void want_out(struct conn *c, int on)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is pending; returns -1 on a broken connection. */
static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
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
    want_out(c, 0);
    return 0;
}

/* Whether another request may start now. */
static int may_start(uint64_t t_end)
{
    if (g_opt.count > 0)
        return g_sent < g_opt.count && now_ns() < t_end;
    return now_ns() < t_end;
}

static int conn_start(struct conn *c)
{
    build_request(c);
    c->busy = 1;
    c->in_len = 0;
    c->hdr_end = -1;
    c->t_start = now_ns();
    g_sent++;
    return conn_flush(c);
}

/* Parses the header once it is complete: status code and Content-Length. Returns -1 when the
 * response cannot be framed (no Content-Length, chunked, garbage). */
static int parse_header(struct conn *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    char *p, *line;

    if (!end)
        return 0;
    c->hdr_end = (end - c->in) + 4;
    *end = '\0'; /* temporarily terminate the header block */
    if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    c->status = atoi(c->in + 9);
    c->body_len = -1;
    for (line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        p = line + 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            c->body_len = strtol(p + 15, NULL, 10);
        else if (strncasecmp(p, "Transfer-Encoding:", 18) == 0)
            return -1;
    }
    *end = '\r';
    if (c->body_len < 0)
        return -1;
    return 0;
}

static void record(struct conn *c, uint64_t t_now, uint64_t t_measure)
{
    const char *body = c->in + c->hdr_end;
    int ok =
        c->status == 200 && memmem(body, (size_t)c->body_len, "\"status\":\"success\"", 18) != NULL;

    if (t_now < t_measure)
        return; /* warm-up */
    if (!ok)
        g_errors++;
    g_bytes_in += (uint64_t)(c->hdr_end + c->body_len);
    if (g_nsamples == g_samples_cap) {
        g_samples_cap = g_samples_cap ? g_samples_cap * 2 : 65536;
        g_samples = xrealloc(g_samples, g_samples_cap * sizeof *g_samples);
    }
    g_samples[g_nsamples++] = t_now - c->t_start;
}

/* Reads what is available; completes at most one response (no pipelining). Returns 1 when a
 * response completed, 0 when more is needed, -1 on a closed or broken connection. */
static int conn_read(struct conn *c, uint64_t t_measure)
{
    for (;;) {
        size_t want = c->in_len + 65536;
        ssize_t n;
        if (c->hdr_end >= 0 && (size_t)(c->hdr_end + c->body_len) + 1 > want)
            want = (size_t)(c->hdr_end + c->body_len) + 1;
        if (want > c->in_cap) {
            c->in_cap = want;
            c->in = xrealloc(c->in, c->in_cap);
        }
        n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->in_len += (size_t)n;
        if (c->hdr_end < 0 && parse_header(c) < 0)
            return -1;
        if (c->hdr_end >= 0 && c->in_len >= (size_t)(c->hdr_end + c->body_len)) {
            if (!c->busy || c->in_len != (size_t)(c->hdr_end + c->body_len))
                return -1; /* unsolicited or extra bytes */
            record(c, now_ns(), t_measure);
            c->busy = 0;
            return 1;
        }
    }
}

/* ---- main ---------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(double p)
{
    size_t k;
    if (g_nsamples == 0)
        return 0.0;
    /* nearest-rank percentile */
    k = (size_t)(p / 100.0 * (double)g_nsamples + 0.999999);
    if (k < 1)
        k = 1;
    if (k > g_nsamples)
        k = g_nsamples;
    return (double)g_samples[k - 1] / 1000.0;
}

static const char *mode_name(enum mode m)
{
    static const char *names[] = {"register", "heartbeat", "lookup", "services"};
    return names[m];
}

static void parse_args(int argc, char **argv)
{
    int i;
    g_opt.port = 0;
    g_opt.mode = MODE_LOOKUP;
    g_opt.conns = 32;
    g_opt.duration_s = 5.0;
    g_opt.warmup_s = 1.0;
    g_opt.count = 0;
    g_opt.max_seconds = 60.0;
    g_opt.services = 100;
    g_opt.instances = 10000;
    g_opt.lookup_service = 0;
    int have_mode = 0;
    for (i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(k, "--port") == 0)
            g_opt.port = atoi(v);
        else if (strcmp(k, "--mode") == 0) {
            have_mode = 1;
            if (strcmp(v, "register") == 0)
                g_opt.mode = MODE_REGISTER;
            else if (strcmp(v, "heartbeat") == 0)
                g_opt.mode = MODE_HEARTBEAT;
            else if (strcmp(v, "lookup") == 0)
                g_opt.mode = MODE_LOOKUP;
            else if (strcmp(v, "services") == 0)
                g_opt.mode = MODE_SERVICES;
            else
                usage();
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
        else if (strcmp(k, "--services") == 0)
            g_opt.services = atol(v);
        else if (strcmp(k, "--instances") == 0)
            g_opt.instances = atol(v);
        else if (strcmp(k, "--lookup-service") == 0)
            g_opt.lookup_service = atol(v);
        else
            usage();
        i++;
    }
    if (!have_mode || g_opt.port <= 0 || g_opt.port > 65535 || g_opt.conns < 1 ||
        g_opt.conns > 10000 || g_opt.duration_s <= 0 || g_opt.duration_s > 600 ||
        g_opt.warmup_s < 0 || g_opt.warmup_s > 600 || g_opt.count < 0 || g_opt.max_seconds <= 0 ||
        g_opt.max_seconds > 3600 || g_opt.services < 1 || g_opt.instances < 1 ||
        g_opt.instances > 16000000 || g_opt.lookup_service < 0)
        usage();
}

int main(int argc, char **argv)
{
    struct conn *conns;
    struct epoll_event evs[256];
    uint64_t t0, t_measure, t_end, t_stop;
    double window_s, sum_us = 0.0;
    int i, open_conns = 0;
    size_t k;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    if (g_ep < 0)
        die("epoll_create1 failed");
    conns = calloc((size_t)g_opt.conns, sizeof *conns);
    if (!conns)
        die("out of memory");

    t0 = now_ns();
    if (g_opt.count > 0) {
        t_measure = t0;
        t_end = t0 + (uint64_t)(g_opt.max_seconds * 1e9);
    } else {
        t_measure = t0 + (uint64_t)(g_opt.warmup_s * 1e9);
        t_end = t_measure + (uint64_t)(g_opt.duration_s * 1e9);
    }

    for (i = 0; i < g_opt.conns; i++) {
        conns[i].idx = i;
        conns[i].fd = -1;
        if (conn_open(&conns[i]) == 0)
            open_conns++;
    }
    if (open_conns == 0)
        die("cannot connect");
    for (i = 0; i < g_opt.conns; i++)
        if (conns[i].fd >= 0 && may_start(t_end) && conn_start(&conns[i]) < 0) {
            g_conn_errors++;
            conn_close(&conns[i]);
        }

    for (;;) {
        uint64_t t = now_ns();
        int n, busy = 0, ms;
        if (t >= t_end)
            break;
        for (i = 0; i < g_opt.conns; i++)
            busy += conns[i].busy;
        if (g_opt.count > 0 && g_sent >= g_opt.count && busy == 0)
            break;
        ms = (int)((t_end - t) / 1000000u) + 1;
        if (ms > 100)
            ms = 100;
        n = epoll_wait(g_ep, evs, 256, ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int r = 0;
            if (c->fd < 0)
                continue;
            if (evs[i].events & EPOLLOUT)
                r = conn_flush(c);
            if (r == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                r = conn_read(c, t_measure);
            if (r < 0) {
                /* a failed request counts as an error; reconnect and carry on */
                if (c->busy && now_ns() >= t_measure)
                    g_errors++;
                g_conn_errors++;
                conn_close(c);
                if (conn_open(c) < 0)
                    continue;
                if (may_start(t_end) && conn_start(c) < 0) {
                    g_conn_errors++;
                    conn_close(c);
                }
            } else if (r == 1 && may_start(t_end) && conn_start(c) < 0) {
                g_conn_errors++;
                conn_close(c);
            }
        }
    }
    t_stop = now_ns();
    for (i = 0; i < g_opt.conns; i++) {
        conn_close(&conns[i]);
        free(conns[i].in);
        free(conns[i].out);
    }
    free(conns);
    close(g_ep);

    window_s = g_opt.count > 0 ? (double)(t_stop - t0) / 1e9 : g_opt.duration_s;
    qsort(g_samples, g_nsamples, sizeof *g_samples, cmp_u64);
    for (k = 0; k < g_nsamples; k++)
        sum_us += (double)g_samples[k] / 1000.0;
    printf("{\"mode\":\"%s\",\"conns\":%d,\"window_s\":%.3f,\"requests\":%zu,\"rps\":%.1f,"
           "\"mean_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"max_us\":%.1f,\"errors\":%ld,\"conn_errors\":%ld,\"bytes_in\":%llu,"
           "\"incomplete\":%ld}\n",
           mode_name(g_opt.mode), g_opt.conns, window_s, g_nsamples, (double)g_nsamples / window_s,
           g_nsamples ? sum_us / (double)g_nsamples : 0.0, pct_us(50), pct_us(90), pct_us(99),
           pct_us(99.9), g_nsamples ? (double)g_samples[g_nsamples - 1] / 1000.0 : 0.0, g_errors,
           g_conn_errors, (unsigned long long)g_bytes_in,
           g_opt.count > 0 ? g_opt.count - (long)g_nsamples : 0L);
    free(g_samples);
    return 0;
}
