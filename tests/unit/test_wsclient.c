#include "test.h"
/*
 * Unit tests for sdk/wsclient.c. A fake WebSocket server runs in the same event_base on a
 * loopback listener (evconnlistener + the codec in its server role) and can misbehave on
 * demand: wrong accept key, non-101 status, oversized head, unrequested extension, silence,
 * masked frames, oversized messages, close codes. The client side records every callback;
 * the recorder frees the handle in on_close, as an owner does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ws_frame.h"
#include "wsclient.h"

enum { M_OK, M_BAD_ACCEPT, M_404, M_BIG_HEAD, M_EXT, M_SILENT };

typedef struct fake_srv fake_srv_t;

typedef struct fconn {
    fake_srv_t *srv;
    struct bufferevent *bev;
    artemisi_ws_parser_t *p;
    int upgraded;
    struct fconn *next;
} fconn_t;

struct fake_srv {
    struct evconnlistener *lis;
    int port;
    int mode;
    fconn_t *conns;
    char req_path[256];
    char req_host[128];
    int pongs;
    char pong_data[16];
    int close_code; /* from the client's close frame */
    int error_code; /* parser error (e.g. an unmasked client frame) */
    int texts;
};

typedef struct rec {
    artemisi_wsc_t *w;
    int opened, texts, pongs, closed, close_code;
    char text[4096];
    size_t text_len;
    char reason[128];
    int free_in_text;
} rec_t;

static struct event_base *g_base;
static struct event *g_tick;
static fake_srv_t g_srv;

/* ---- fake server ---------------------------------------------------------------------- */

static void fconn_free(fconn_t *c)
{
    fake_srv_t *s = c->srv;
    for (fconn_t **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    bufferevent_free(c->bev);
    artemisi_ws_parser_free(c->p);
    free(c);
}

static void srv_send(fconn_t *c, int op, const char *d, size_t n)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_ws_frame_append(&b, op, d, n), 0);
    bufferevent_write(c->bev, b.data, b.len);
    artemisi_buf_free(&b);
}

static void header_value(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = strcasestr(head, name);
    if (!p)
        return;
    p += strlen(name);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void srv_handshake(fconn_t *c)
{
    fake_srv_t *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (pos.pos < 0)
        return;
    size_t n = (size_t)pos.pos + 4;
    char *head = calloc(1, n + 1);
    evbuffer_remove(in, head, n);
    sscanf(head, "GET %255s HTTP/1.1", s->req_path);
    header_value(head, "\r\nHost:", s->req_host, sizeof(s->req_host));
    char key[64], accept[29];
    header_value(head, "\r\nSec-WebSocket-Key:", key, sizeof(key));
    assert_non_null(strcasestr(head, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strcasestr(head, "\r\nSec-WebSocket-Version: 13\r\n"));
    free(head);
    assert_int_equal(artemisi_ws_accept_key(key, strlen(key), accept), 0);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    switch (s->mode) {
    case M_SILENT:
        return;
    case M_404:
        evbuffer_add_printf(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
    case M_BAD_ACCEPT:
        accept[3] = accept[3] == 'A' ? 'B' : 'A';
        break;
    default:
        break;
    }
    evbuffer_add_printf(out,
                        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept:  %s \r\n",
                        accept);
    if (s->mode == M_EXT)
        evbuffer_add_printf(out, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    if (s->mode == M_BIG_HEAD)
        for (int i = 0; i < 100; i++)
            evbuffer_add_printf(out, "X-Pad-%d: %090d\r\n", i, 0);
    evbuffer_add_printf(out, "\r\n");
    c->upgraded = 1;
    /* A frame in the same segment as the head: the client must not lose it. */
    srv_send(c, ARTEMISI_WS_OP_TEXT, "welcome", 7);
}

static void srv_read(struct bufferevent *bev, void *arg)
{
    fconn_t *c = arg;
    fake_srv_t *s = c->srv;
    (void)bev;
    if (!c->upgraded) {
        srv_handshake(c);
        if (!c->upgraded)
            return;
    }
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        struct evbuffer_iovec v;
        size_t len = evbuffer_peek(in, -1, NULL, &v, 1) > 0 ? v.iov_len : 0;
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(c->p, len ? v.iov_base : "", len, &ev);
        evbuffer_drain(in, used);
        if (ev.type == ARTEMISI_WS_EV_NONE) {
            if (evbuffer_get_length(in) == 0)
                return;
            continue;
        }
        if (ev.type == ARTEMISI_WS_EV_TEXT) {
            s->texts++;
            if (ev.len == 8 && memcmp(ev.data, "close-me", 8) == 0) {
                artemisi_buf_t b = ARTEMISI_BUF_INIT;
                artemisi_ws_close_append(&b, 4001, "bye");
                bufferevent_write(c->bev, b.data, b.len);
                artemisi_buf_free(&b);
            } else if (ev.len == 13 && memcmp(ev.data, "masked-please", 13) == 0) {
                static const unsigned char mask[4] = {1, 2, 3, 4};
                artemisi_buf_t b = ARTEMISI_BUF_INIT;
                artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "x", 1, mask);
                bufferevent_write(c->bev, b.data, b.len);
                artemisi_buf_free(&b);
            } else if (ev.len == 7 && memcmp(ev.data, "ping-me", 7) == 0) {
                srv_send(c, ARTEMISI_WS_OP_PING, "abc", 3);
            } else if (ev.len == 3 && memcmp(ev.data, "big", 3) == 0) {
                static char big[2000];
                memset(big, 'b', sizeof(big));
                srv_send(c, ARTEMISI_WS_OP_TEXT, big, sizeof(big));
            } else {
                srv_send(c, ARTEMISI_WS_OP_TEXT, ev.data, ev.len);
            }
        } else if (ev.type == ARTEMISI_WS_EV_PING) {
            srv_send(c, ARTEMISI_WS_OP_PONG, ev.data, ev.len);
        } else if (ev.type == ARTEMISI_WS_EV_PONG) {
            s->pongs++;
            snprintf(s->pong_data, sizeof(s->pong_data), "%.*s", (int)ev.len, ev.data);
        } else if (ev.type == ARTEMISI_WS_EV_CLOSE) {
            s->close_code = ev.close_code;
            artemisi_buf_t b = ARTEMISI_BUF_INIT;
            artemisi_ws_close_append(&b, ev.close_code == 1005 ? 0 : ev.close_code, NULL);
            bufferevent_write(c->bev, b.data, b.len);
            artemisi_buf_free(&b);
            return;
        } else if (ev.type == ARTEMISI_WS_EV_ERROR) {
            s->error_code = ev.close_code;
            fconn_free(c);
            return;
        }
    }
}

static void srv_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        fconn_free(arg);
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl,
                       void *arg)
{
    (void)l;
    (void)sa;
    (void)sl;
    fake_srv_t *s = arg;
    fconn_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->srv = s;
    c->p = artemisi_ws_parser_new(1 << 20, 0);
    c->bev = bufferevent_socket_new(g_base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, srv_read, NULL, srv_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    s->conns = c;
}

static struct evconnlistener *listen_any(void *arg, int *port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct evconnlistener *l =
        evconnlistener_new_bind(g_base, srv_accept, arg, LEV_OPT_CLOSE_ON_FREE, 16,
                                (struct sockaddr *)&sin, (int)sizeof(sin));
    assert_non_null(l);
    socklen_t len = sizeof(sin);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len);
    *port = ntohs(sin.sin_port);
    return l;
}

/* ---- client recorder ------------------------------------------------------------------ */

static void c_open(void *ud)
{
    ((rec_t *)ud)->opened++;
}

static void c_text(void *ud, const char *d, size_t n)
{
    rec_t *r = ud;
    r->texts++;
    r->text_len = n < sizeof(r->text) ? n : sizeof(r->text);
    memcpy(r->text, d, r->text_len);
    if (r->free_in_text) {
        artemisi_wsc_free(r->w);
        r->w = NULL;
    }
}

static void c_pong(void *ud)
{
    ((rec_t *)ud)->pongs++;
}

static void c_close(void *ud, int code, const char *reason)
{
    rec_t *r = ud;
    r->closed++;
    r->close_code = code;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    artemisi_wsc_free(r->w); /* the owner frees inside on_close */
    r->w = NULL;
}

static const artemisi_wsc_callbacks_t CB = {c_open, c_text, c_pong, c_close};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define RUN_UNTIL(cond)                                                                            \
    do {                                                                                           \
        double end_ = now_s() + 5;                                                                 \
        while (!(cond) && now_s() < end_)                                                          \
            event_base_loop(g_base, EVLOOP_ONCE);                                                  \
        assert_true(cond);                                                                         \
    } while (0)

static void run_for(double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end)
        event_base_loop(g_base, EVLOOP_ONCE);
}

static void connect_rec(rec_t *r, const char *host, long timeout_ms, size_t max)
{
    char url[128];
    snprintf(url, sizeof(url), "http://%s:%d/base/", host, g_srv.port);
    r->w = artemisi_wsc_connect(g_base, url, "/ws/test", timeout_ms, max, &CB, r);
    assert_non_null(r->w);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int setup(void **state)
{
    (void)state;
    g_base = event_base_new();
    struct timeval tv = {0, 10000};
    g_tick = event_new(g_base, -1, EV_PERSIST, tick, NULL);
    event_add(g_tick, &tv);
    memset(&g_srv, 0, sizeof(g_srv));
    g_srv.lis = listen_any(&g_srv, &g_srv.port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    while (g_srv.conns)
        fconn_free(g_srv.conns);
    evconnlistener_free(g_srv.lis);
    event_free(g_tick);
    event_base_free(g_base);
    return 0;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_echo_ping_close(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    assert_int_equal(artemisi_wsc_is_open(r.w), 0);
    assert_int_equal(artemisi_wsc_send_text(r.w, "early", 5), -1);
    RUN_UNTIL(r.opened);
    assert_string_equal(g_srv.req_path, "/base/ws/test");
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", g_srv.port);
    assert_string_equal(g_srv.req_host, host);
    assert_int_equal(artemisi_wsc_is_open(r.w), 1);
    RUN_UNTIL(r.texts == 1); /* sent right behind the 101 head */
    assert_memory_equal(r.text, "welcome", 7);

    assert_int_equal(artemisi_wsc_send_text(r.w, "hello", 5), 0);
    RUN_UNTIL(r.texts == 2);
    assert_int_equal(r.text_len, 5);
    assert_memory_equal(r.text, "hello", 5);
    assert_int_equal(artemisi_wsc_send_text(r.w, "", 0), 0);
    RUN_UNTIL(r.texts == 3);
    assert_int_equal(r.text_len, 0);

    assert_int_equal(artemisi_wsc_ping(r.w), 0);
    RUN_UNTIL(r.pongs == 1);
    assert_int_equal(artemisi_wsc_send_text(r.w, "ping-me", 7), 0);
    RUN_UNTIL(g_srv.pongs == 1); /* the client answered the server's ping */
    assert_string_equal(g_srv.pong_data, "abc");
    assert_int_equal(g_srv.error_code, 0); /* every client frame was masked */
    RUN_UNTIL(artemisi_wsc_queued(r.w) == 0);

    artemisi_wsc_close(r.w, 1000);
    assert_int_equal(artemisi_wsc_is_open(r.w), 0);
    assert_int_equal(artemisi_wsc_send_text(r.w, "late", 4), -1);
    assert_int_equal(r.closed, 0);
    RUN_UNTIL(r.closed);
    assert_int_equal(r.close_code, 1000);
    assert_int_equal(g_srv.close_code, 1000);
    assert_int_equal(r.closed, 1);
    run_for(0.05);
    assert_int_equal(r.closed, 1);
}

static void test_server_close_code(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    RUN_UNTIL(r.opened);
    assert_int_equal(artemisi_wsc_send_text(r.w, "close-me", 8), 0);
    RUN_UNTIL(r.closed);
    assert_int_equal(r.close_code, 4001);
    assert_string_equal(r.reason, "bye");
    RUN_UNTIL(g_srv.close_code == 4001); /* the client echoed the close */
}

static void test_masked_server_frame(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    RUN_UNTIL(r.opened);
    assert_int_equal(artemisi_wsc_send_text(r.w, "masked-please", 13), 0);
    RUN_UNTIL(r.closed);
    assert_int_equal(r.close_code, 1002);
    RUN_UNTIL(g_srv.close_code == 1002);
}

static void test_message_too_big(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    RUN_UNTIL(r.opened);
    assert_int_equal(artemisi_wsc_send_text(r.w, "big", 3), 0);
    RUN_UNTIL(r.closed);
    assert_int_equal(r.close_code, 1009);
    RUN_UNTIL(g_srv.close_code == 1009);
}

static void test_closed_port(void **state)
{
    (void)state;
    int port;
    struct evconnlistener *l = listen_any(NULL, &port);
    evconnlistener_free(l);
    rec_t r = {0};
    char url[64];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d", port);
    r.w = artemisi_wsc_connect(g_base, url, "/x", 2000, 1024, &CB, &r);
    assert_non_null(r.w);
    assert_int_equal(r.closed, 0); /* never from inside connect */
    RUN_UNTIL(r.closed);
    assert_int_equal(r.opened, 0);
    assert_int_equal(r.close_code, 1006);
    assert_non_null(strstr(r.reason, "connect"));
}

static void expect_handshake_failure(int mode, const char *reason_part)
{
    g_srv.mode = mode;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    RUN_UNTIL(r.closed);
    assert_int_equal(r.opened, 0);
    assert_int_equal(r.texts, 0);
    assert_int_equal(r.close_code, 1006);
    if (!strstr(r.reason, reason_part))
        fail_msg("reason \"%s\" lacks \"%s\"", r.reason, reason_part);
}

static void test_bad_accept(void **state)
{
    (void)state;
    expect_handshake_failure(M_BAD_ACCEPT, "Sec-WebSocket-Accept");
}

static void test_handshake_failures(void **state)
{
    (void)state;
    expect_handshake_failure(M_404, "404");
    expect_handshake_failure(M_BIG_HEAD, "too large");
    expect_handshake_failure(M_EXT, "extension");
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    g_srv.mode = M_SILENT;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 100, 1024);
    double t0 = now_s();
    RUN_UNTIL(r.closed);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(r.close_code, 1006);
    assert_non_null(strstr(r.reason, "timeout"));
}

static void test_free_in_text(void **state)
{
    (void)state;
    rec_t r = {0};
    r.free_in_text = 1;
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    RUN_UNTIL(r.texts == 1);
    assert_null(r.w);
    run_for(0.05);
    assert_int_equal(r.texts, 1);
    assert_int_equal(r.closed, 0);
    RUN_UNTIL(g_srv.conns == NULL); /* the socket was closed */
}

static void test_free_and_close_early(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "127.0.0.1", 2000, 1024);
    artemisi_wsc_free(r.w); /* before anything happened */
    rec_t r2 = {0};
    connect_rec(&r2, "127.0.0.1", 2000, 1024);
    artemisi_wsc_close(r2.w, 1000); /* before the handshake: abandoned, reported later */
    assert_int_equal(r2.closed, 0);
    RUN_UNTIL(r2.closed);
    assert_int_equal(r2.close_code, 1006);
    run_for(0.05);
    assert_int_equal(r.opened + r.closed + r2.opened, 0);
    assert_int_equal(r2.closed, 1);
}

static void test_host_name(void **state)
{
    (void)state;
    rec_t r = {0};
    connect_rec(&r, "localhost", 2000, 1024);
    RUN_UNTIL(r.opened || r.closed);
    if (!r.opened)
        fail_msg("localhost: %s", r.reason);
    assert_true(strncmp(g_srv.req_host, "localhost:", 10) == 0);
    artemisi_wsc_free(r.w);
}

static void test_bad_urls(void **state)
{
    (void)state;
    rec_t r = {0};
    assert_null(artemisi_wsc_connect(g_base, "https://127.0.0.1/", "/x", 0, 10, &CB, &r));
    assert_null(artemisi_wsc_connect(g_base, "wss://127.0.0.1/", "/x", 0, 10, &CB, &r));
    assert_null(artemisi_wsc_connect(g_base, "nonsense", "/x", 0, 10, &CB, &r));
    assert_null(artemisi_wsc_connect(g_base, "http://h:99999/", "/x", 0, 10, &CB, &r));
    assert_null(artemisi_wsc_connect(g_base, NULL, "/x", 0, 10, &CB, &r));
    assert_null(artemisi_wsc_connect(g_base, "http://h/", "/x", 0, 10, NULL, &r));
    assert_int_equal(artemisi_wsc_is_open(NULL), 0);
    assert_int_equal(artemisi_wsc_queued(NULL), 0);
    assert_int_equal(artemisi_wsc_send_text(NULL, "x", 1), -1);
    assert_int_equal(artemisi_wsc_ping(NULL), -1);
    artemisi_wsc_close(NULL, 1000);
    artemisi_wsc_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_ping_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_close_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_server_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_and_close_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
    };
    return cmocka_run_group_tests_name("wsclient", tests, NULL, NULL);
}
