/*
 * `watch ID`: the service's instances now, then one line per change as the server pushes
 * it, like `kubectl get -w`. The push channel is the Artemis WebSocket
 * /ws/discovery/instance-change (protocol.md §5.3): libcurl opens the connection
 * (CONNECT_ONLY, so TLS works too) and the project's RFC 6455 codec (sdk/common/ws_frame.h)
 * does the framing. The server closes sessions after a TTL; we reconnect and say so.
 */
#include <errno.h>
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "args.h"
#include "buf.h"
#include "ctl.h"
#include "ws_frame.h"

#define WATCH_MAX_MESSAGE (4u * 1024u * 1024u)

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char WATCH_HELP[] =
    "usage: artemisctl watch SERVICE_ID [--json]\n"
    "Print the service's instances (change \"current\"), then one line per change pushed by\n"
    "the server (new, delete, reload) until Ctrl-C. Lines are flushed at once.\n"
    "--json: the wire InstanceChange {\"changeTime\",\"changeType\",\"instance\"} per line.\n";

static void print_change(const ctl_t *c, const json_t *change)
{
    if (c->json) {
        ctl_json_line(change);
        return;
    }
    const json_t *in = json_object_get(change, "instance");
    char when[40], addr[300];
    json_int_t t = json_integer_value(json_object_get(change, "changeTime"));
    ctl_fmt_time(t ? (int64_t)t : ctl_now_ms(), when, sizeof when);
    snprintf(addr, sizeof addr, "%s:%" JSON_INTEGER_FORMAT,
             ctl_str(in, "ip") ? ctl_str(in, "ip") : "?",
             json_integer_value(json_object_get(in, "port")));
    const char *id = ctl_str(in, "instanceId"), *st = ctl_str(in, "status");
    const char *z = ctl_str(in, "zoneId");
    printf("%-19s  %-7s  %-30s  %-21s  %-8s  %s\n", when, ctl_str(change, "changeType"),
           id ? id : "-", addr, z ? z : "-", st ? st : "-");
    fflush(stdout);
}

/* The current instances, each printed as a "current" change. */
static int print_current(ctl_t *c, const char *svc)
{
    json_t *resp = NULL;
    int rc = ctl_call(c, "/api/discovery/lookup.json",
                      json_pack("{s:s,s:s,s:[{s:s}]}", "regionId", c->region, "zoneId", c->zone,
                                "discoveryConfigs", "serviceId", svc),
                      "lookup", &resp);
    if (rc != CTL_OK)
        return rc;
    const json_t *s = json_array_get(json_object_get(resp, "services"), 0);
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(s, "instances"), i, in)
    {
        json_t *ch = json_pack("{s:I,s:s,s:O}", "changeTime", (json_int_t)ctl_now_ms(),
                               "changeType", "current", "instance", in);
        if (!ch) {
            json_decref(resp);
            return ctl_oom();
        }
        print_change(c, ch);
        json_decref(ch);
    }
    json_decref(resp);
    return CTL_OK;
}

static int wait_sock(curl_socket_t s, short ev, int ms)
{
    struct pollfd p = {.fd = s, .events = ev};
    int n = poll(&p, 1, ms);
    return n < 0 && errno == EINTR ? 0 : n;
}

static int send_all(CURL *h, curl_socket_t s, const char *p, size_t n)
{
    while (n) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(h, p, n, &sent);
        if (rc == CURLE_AGAIN) {
            if (wait_sock(s, POLLOUT, 1000) < 0)
                return -1;
            continue;
        }
        if (rc != CURLE_OK)
            return -1;
        p += sent;
        n -= sent;
    }
    return 0;
}

static int send_frame(CURL *h, curl_socket_t s, int op, const char *p, size_t n)
{
    unsigned char mask[4];
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    if (getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask ||
        artemisi_ws_frame_append_masked(&b, op, p, n, mask) != 0) {
        artemisi_buf_free(&b);
        return -1;
    }
    int rc = send_all(h, s, b.data, b.len);
    artemisi_buf_free(&b);
    return rc;
}

/* One session: handshake, subscribe, print changes until it ends. 0 when the user stopped
 * it, 1 when the connection ended (reconnect), CTL_FAIL-style -1 when it never worked. */
static int session(ctl_t *c, const char *svc, int *printed)
{
    const char *base = ctl_server(c);
    const char *auth = strstr(base, "://") + 3;
    const char *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    const char *prefix = slash ? slash : "";
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    curl_easy_setopt(h, CURLOPT_URL, base);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->ca_file) /* wss:// is verified like the HTTP calls */
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    int result = 1;
    char key[25], req[2048], hdr[8192];
    size_t hlen = 0;
    curl_socket_t s = CURL_SOCKET_BAD;
    artemisi_ws_parser_t *parser = NULL;
    if (curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD ||
        artemisi_ws_client_key(key) != 0)
        goto out;
    /* The upgrade carries the access token like the HTTP calls (a header: we are not a
     * browser, and a query parameter would end up in access logs). */
    int n = snprintf(req, sizeof req,
                     "GET %s/ws/discovery/instance-change HTTP/1.1\r\nHost: %.*s\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nUser-Agent: artemisctl\r\n%s%s\r\n",
                     prefix, (int)alen, auth, key, c->auth_header ? c->auth_header : "",
                     c->auth_header ? "\r\n" : "");
    int sent = n >= 0 && (size_t)n < sizeof req && send_all(h, s, req, (size_t)n) == 0;
    explicit_bzero(req, sizeof req); /* held the token */
    if (!sent)
        goto out;
    /* The 101 answer, byte by byte up to the blank line: nothing of the first frame is
     * read into the header buffer. */
    while (hlen < sizeof hdr - 1 && !g_stop) {
        size_t got = 0;
        CURLcode rc = curl_easy_recv(h, hdr + hlen, 1, &got);
        if (rc == CURLE_AGAIN) {
            if (wait_sock(s, POLLIN, 5000) <= 0)
                goto out;
            continue;
        }
        if (rc != CURLE_OK || got == 0)
            goto out;
        hlen++;
        hdr[hlen] = '\0';
        if (hlen >= 4 && memcmp(hdr + hlen - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (strncmp(hdr, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(hdr, "\r\n");
        if (eol)
            *eol = '\0';
        fprintf(stderr, "artemisctl watch: server said no: WebSocket upgrade refused: %s\n", hdr);
        result = -1;
        goto out;
    }
    json_t *sub = json_pack("{s:n,s:s,s:s,s:s}", "discoveryData", "regionId", c->region,
                            "serviceId", svc, "zoneId", c->zone);
    char *txt = sub ? json_dumps(sub, JSON_COMPACT) : NULL;
    json_decref(sub);
    int bad = !txt || send_frame(h, s, ARTEMISI_WS_OP_TEXT, txt, strlen(txt)) != 0;
    free(txt);
    parser = artemisi_ws_parser_new(WATCH_MAX_MESSAGE, 1);
    if (bad || !parser)
        goto out;
    /* Subscribed first, then the current list: a change in between is printed, not lost. */
    if (!*printed) {
        if (print_current(c, svc) != CTL_OK) {
            result = -1;
            goto out;
        }
        *printed = 1;
    }
    char buf[16384];
    while (!g_stop) {
        size_t got = 0;
        CURLcode rc = curl_easy_recv(h, buf, sizeof buf, &got);
        if (rc == CURLE_AGAIN) {
            wait_sock(s, POLLIN, 500);
            continue;
        }
        if (rc != CURLE_OK || got == 0)
            goto out;
        size_t off = 0;
        while (off < got) {
            artemisi_ws_event_t ev;
            off += artemisi_ws_parser_feed(parser, buf + off, got - off, &ev);
            if (ev.type == ARTEMISI_WS_EV_NONE)
                break;
            if (ev.type == ARTEMISI_WS_EV_TEXT) {
                json_t *ch = json_loadb(ev.data, ev.len, 0, NULL);
                if (ch && json_is_object(ch))
                    print_change(c, ch);
                json_decref(ch);
            } else if (ev.type == ARTEMISI_WS_EV_PING) {
                send_frame(h, s, ARTEMISI_WS_OP_PONG, ev.data, ev.len);
            } else if (ev.type == ARTEMISI_WS_EV_CLOSE || ev.type == ARTEMISI_WS_EV_ERROR) {
                goto out;
            }
        }
    }
    result = 0;
    /* A polite close; the process ends anyway. */
    send_frame(h, s, ARTEMISI_WS_OP_CLOSE, "\x03\xe8", 2);
out:
    if (g_stop)
        result = 0;
    artemisi_ws_parser_free(parser);
    curl_easy_cleanup(h);
    return result;
}

int cmd_watch(ctl_t *c, int argc, char **argv)
{
    char *pos[1];
    int np = 0;
    CTL_ARGS_OR_RETURN(ctl_args(c, "watch", WATCH_HELP, argc, argv, NULL, 1, 1, pos, &np));
    int rc = ctl_locate(c);
    if (rc != CTL_OK)
        return rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!c->json) {
        printf("%-19s  %-7s  %-30s  %-21s  %-8s  %s\n", "TIME", "CHANGE", "INSTANCE", "ADDRESS",
               "ZONE", "STATUS");
        fflush(stdout);
    }
    int printed = 0, failures = 0;
    while (!g_stop) {
        int r = session(c, pos[0], &printed);
        if (r == 0)
            break;
        if (r < 0)
            return CTL_FAIL;
        /* Lost (session TTL, server restart): try the next server after a second; give up
         * only when none could be reached for a while at the very start. */
        if (!printed && ++failures >= (int)c->nservers) {
            fprintf(stderr, "artemisctl watch: server unreachable: %s\n", ctl_server(c));
            return CTL_FAIL;
        }
        if (printed)
            fprintf(stderr, "artemisctl watch: connection to %s lost, reconnecting\n",
                    ctl_server(c));
        c->cur = (c->cur + 1) % c->nservers;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return CTL_OK;
}
