/*
 * Unit tests for sdk/net/http (libcurl multi on libevent): an in-process evhttp server on the same
 * event_base answers echo, 500, gzip-request echo, gzip responses and a never-answering route;
 * the client is checked for status and body, gzip both ways, timeout, connection refused,
 * cancel (no callback), free with pending requests and many concurrent requests.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <zlib.h>

#include "http.h"

typedef struct {
    struct event_base *base;
    struct evhttp *srv;
    int port;
    struct evhttp_request *parked[8];
    int n_parked;
    int64_t conns;
} fixture_t;

typedef struct {
    int calls;
    int err;
    long status;
    char body[4096];
    size_t len;
    struct event_base *base;
    int *remaining;
} result_t;

static int inflate_gzip(const unsigned char *in, size_t len, char *out, size_t cap, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    int rc = inflate(&zs, Z_FINISH);
    *outlen = zs.total_out;
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

static void handle(struct evhttp_request *req, void *arg)
{
    fixture_t *f = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer *out = evbuffer_new();
    size_t n = evbuffer_get_length(in);
    unsigned char *data = evbuffer_pullup(in, -1);
    struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
    if (strcmp(uri, "/echo") == 0) {
        const char *ct = evhttp_find_header(hdr, "Content-Type");
        if (!ct || strcmp(ct, "application/json") != 0) {
            evhttp_send_reply(req, 415, "ct", out);
        } else {
            evbuffer_add(out, data, n);
            evhttp_send_reply(req, 200, "OK", out);
        }
    } else if (strcmp(uri, "/500") == 0) {
        evbuffer_add_printf(out, "{\"oops\":true}");
        evhttp_send_reply(req, 500, "ERR", out);
    } else if (strcmp(uri, "/gzecho") == 0) {
        const char *ce = evhttp_find_header(hdr, "Content-Encoding");
        char plain[4096];
        size_t plen = 0;
        if (!ce || strcmp(ce, "gzip") != 0 || inflate_gzip(data, n, plain, sizeof plain, &plen)) {
            evhttp_send_reply(req, 400, "not gzip", out);
        } else {
            evbuffer_add(out, plain, plen);
            evhttp_send_reply(req, 200, "OK", out);
        }
    } else if (strcmp(uri, "/gzresp") == 0) {
        /* a gzip-encoded response body */
        const char *msg = "{\"compressed\":\"yes, indeed\"}";
        unsigned char z[256];
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)(uintptr_t)msg;
        zs.avail_in = (uInt)strlen(msg);
        zs.next_out = z;
        zs.avail_out = sizeof z;
        deflate(&zs, Z_FINISH);
        evbuffer_add(out, z, zs.total_out);
        deflateEnd(&zs);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Encoding", "gzip");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/slow") == 0 && f->n_parked < 8) {
        f->parked[f->n_parked++] = req; /* never answered */
    } else {
        evhttp_send_reply(req, 404, "NF", out);
    }
    evbuffer_free(out);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->base = event_base_new();
    f->srv = evhttp_new(f->base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f->srv, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    f->port = ntohs(sa.sin_port);
    evhttp_set_gencb(f->srv, handle, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    evhttp_free(f->srv);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void on_result(void *ud, int err, long status, const char *body, size_t len)
{
    result_t *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    r->len = len;
    assert_int_equal(body[len], '\0');
    if (len < sizeof r->body)
        memcpy(r->body, body, len + 1);
    if (r->remaining && --*r->remaining == 0)
        event_base_loopbreak(r->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until *remaining reaches 0 or ms pass. */
static void run_until(fixture_t *f, int *remaining, int ms)
{
    struct event *t = evtimer_new(f->base, on_deadline, f->base);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    if (!remaining || *remaining > 0)
        event_base_dispatch(f->base);
    event_free(t);
}

static void url(fixture_t *f, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", f->port, path);
}

static void test_echo_and_500(void **state)
{
    fixture_t *f = *state;
    artemisi_http_t *h = artemisi_http_new(f->base);
    assert_non_null(h);
    char u[128];
    int remaining = 2;
    result_t a = {.base = f->base, .remaining = &remaining};
    result_t b = {.base = f->base, .remaining = &remaining};
    url(f, "/echo", u, sizeof u);
    const char *body = "{\"instances\":[{\"x\":1}]}";
    uint64_t id1 = artemisi_http_post_json(h, u, body, strlen(body), 2000, 500, 0, on_result, &a);
    url(f, "/500", u, sizeof u);
    uint64_t id2 = artemisi_http_post_json(h, u, "{}", 2, 2000, 500, 0, on_result, &b);
    assert_true(id1 > 0 && id2 > 0 && id1 != id2);
    assert_int_equal(artemisi_http_pending(h), 2);
    run_until(f, &remaining, 5000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, body);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.status, 500);
    assert_string_equal(b.body, "{\"oops\":true}");
    assert_int_equal(artemisi_http_pending(h), 0);
    artemisi_http_free(h);
}

static void test_gzip_both_ways(void **state)
{
    fixture_t *f = *state;
    artemisi_http_t *h = artemisi_http_new(f->base);
    char u[128];
    int remaining = 2;
    result_t a = {.base = f->base, .remaining = &remaining};
    result_t b = {.base = f->base, .remaining = &remaining};
    char body[2048];
    int n = 0;
    n += snprintf(body + n, sizeof body - (size_t)n, "{\"instances\":[");
    for (int i = 0; i < 40; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s{\"instanceId\":\"i%d\"}", i ? "," : "",
                      i);
    n += snprintf(body + n, sizeof body - (size_t)n, "]}");
    url(f, "/gzecho", u, sizeof u);
    assert_true(artemisi_http_post_json(h, u, body, (size_t)n, 2000, 500, 1, on_result, &a) > 0);
    url(f, "/gzresp", u, sizeof u);
    assert_true(artemisi_http_post_json(h, u, "{}", 2, 2000, 500, 0, on_result, &b) > 0);
    run_until(f, &remaining, 5000);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, body);
    assert_int_equal(b.status, 200);
    assert_string_equal(b.body, "{\"compressed\":\"yes, indeed\"}");
    artemisi_http_free(h);
}

static void test_timeout(void **state)
{
    fixture_t *f = *state;
    artemisi_http_t *h = artemisi_http_new(f->base);
    char u[128];
    int remaining = 1;
    result_t a = {.base = f->base, .remaining = &remaining};
    url(f, "/slow", u, sizeof u);
    assert_true(artemisi_http_post_json(h, u, "{}", 2, 150, 100, 0, on_result, &a) > 0);
    run_until(f, &remaining, 3000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(a.len, 0);
    assert_non_null(artemisi_http_strerror(a.err));
    artemisi_http_free(h);
}

static void test_refused(void **state)
{
    fixture_t *f = *state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&sa, sizeof sa);
    socklen_t sl = sizeof sa;
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s);
    artemisi_http_t *h = artemisi_http_new(f->base);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
    int remaining = 1;
    result_t a = {.base = f->base, .remaining = &remaining};
    assert_true(artemisi_http_post_json(h, u, "{}", 2, 1000, 500, 1, on_result, &a) > 0);
    run_until(f, &remaining, 3000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, CURLE_COULDNT_CONNECT);
    assert_int_equal(a.status, 0);
    /* bad input is refused without a callback */
    assert_int_equal(artemisi_http_post_json(h, NULL, "{}", 2, 1000, 500, 0, on_result, &a), 0);
    assert_int_equal(artemisi_http_post_json(h, u, "{}", 2, 1000, 500, 0, NULL, &a), 0);
    assert_int_equal(artemisi_http_post_json(NULL, u, "{}", 2, 1000, 500, 0, on_result, &a), 0);
    assert_int_equal(a.calls, 1);
    artemisi_http_free(h);
}

static void test_cancel_and_free_pending(void **state)
{
    fixture_t *f = *state;
    artemisi_http_t *h = artemisi_http_new(f->base);
    char u[128], e[128];
    url(f, "/slow", u, sizeof u);
    url(f, "/echo", e, sizeof e);
    int remaining = 1;
    result_t a = {.base = f->base};
    result_t b = {.base = f->base, .remaining = &remaining};
    uint64_t id = artemisi_http_post_json(h, u, "{}", 2, 300, 100, 0, on_result, &a);
    assert_true(artemisi_http_post_json(h, e, "{\"k\":2}", 7, 2000, 500, 0, on_result, &b) > 0);
    assert_int_equal(artemisi_http_pending(h), 2);
    run_until(f, &remaining, 3000); /* the echo answers; /slow is now in flight */
    artemisi_http_cancel(h, id);
    artemisi_http_cancel(h, id);     /* twice: no-op */
    artemisi_http_cancel(h, 999999); /* unknown: no-op */
    assert_int_equal(artemisi_http_pending(h), 0);
    run_until(f, NULL, 500); /* past the 300 ms timeout: still no callback */
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    /* free with requests in flight: no callback, no leak (ASan) */
    result_t c = {.base = f->base};
    assert_true(artemisi_http_post_json(h, u, "{}", 2, 300, 100, 0, on_result, &c) > 0);
    assert_true(artemisi_http_post_json(h, e, "{}", 2, 300, 100, 0, on_result, &c) > 0);
    artemisi_http_free(h);
    run_until(f, NULL, 100);
    assert_int_equal(c.calls, 0);
}

typedef struct {
    artemisi_http_t *h;
    int calls;
    struct event_base *base;
} freer_t;

static void on_free_in_cb(void *ud, int err, long status, const char *body, size_t len)
{
    (void)err;
    (void)status;
    (void)body;
    (void)len;
    freer_t *fr = ud;
    fr->calls++;
    artemisi_http_free(fr->h);
    event_base_loopbreak(fr->base);
}

static void test_free_from_callback(void **state)
{
    fixture_t *f = *state;
    freer_t fr = {.h = artemisi_http_new(f->base), .base = f->base};
    char e[128];
    url(f, "/echo", e, sizeof e);
    for (int i = 0; i < 3; i++)
        assert_true(artemisi_http_post_json(fr.h, e, "{}", 2, 2000, 500, 0, on_free_in_cb, &fr) >
                    0);
    run_until(f, NULL, 3000);
    assert_int_equal(fr.calls, 1);
}

static void test_many_concurrent(void **state)
{
    fixture_t *f = *state;
    artemisi_http_t *h = artemisi_http_new(f->base);
    char e[128];
    url(f, "/echo", e, sizeof e);
    enum { N = 200 };
    static result_t rs[N];
    int remaining = N;
    for (int i = 0; i < N; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        rs[i].base = f->base;
        rs[i].remaining = &remaining;
        char body[64];
        int n = snprintf(body, sizeof body, "{\"n\":%d}", i);
        assert_true(artemisi_http_post_json(h, e, body, (size_t)n, 5000, 1000, i & 1, on_result,
                                            &rs[i]) > 0);
    }
    run_until(f, &remaining, 10000);
    for (int i = 0; i < N; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        assert_int_equal(rs[i].calls, 1);
        if (rs[i].err)
            fail_msg("request %d: err %d (%s)", i, rs[i].err, artemisi_http_strerror(rs[i].err));
        if (i & 1)
            continue; /* /echo does not inflate: the gzip ones only check the call */
        assert_int_equal(rs[i].status, 200);
        assert_string_equal(rs[i].body, body);
    }
    artemisi_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_and_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_free_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
    };
    return cmocka_run_group_tests_name("http_client", tests, NULL, NULL);
}
