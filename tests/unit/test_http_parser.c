/*
 * Unit tests for the incremental HTTP/1.1 request parser (server/http_parser.c) and the
 * URL helpers (server/url.c): framing, keep-alive/upgrade rules, every error status, limits,
 * hostile input, and split-independence (one byte at a time == all at once).
 */
#include "test.h"

#include "buf.h"
#include "http_parser.h"
#include "url.h"

/* ---- helpers ------------------------------------------------------------------------------ */

struct outcome {
    int rc;          /* DONE, AGAIN or ERROR */
    int status;      /* error status */
    int head_events; /* HEAD_DONE seen */
    size_t consumed; /* total bytes consumed */
};

/* Feed `s` in pieces of `step` bytes (0 = all at once) until DONE/ERROR or the input runs out. */
static struct outcome feed_steps(srv_http_parser_t *p, const char *s, size_t len, size_t step)
{
    struct outcome o = {SRV_HTTP_AGAIN, 0, 0, 0};
    size_t off = 0;
    while (off < len) {
        size_t n = step ? step : len - off;
        if (n > len - off)
            n = len - off;
        size_t used = 0;
        int rc = srv_http_parser_feed(p, s + off, n, &used);
        assert_true(used <= n);
        off += used;
        if (rc == SRV_HTTP_HEAD_DONE) {
            o.head_events++;
            assert_non_null(srv_http_parser_request(p));
            continue;
        }
        if (rc == SRV_HTTP_AGAIN) {
            assert_int_equal(used, n);
            continue;
        }
        o.rc = rc;
        if (rc == SRV_HTTP_ERROR)
            o.status = srv_http_parser_error_status(p);
        break;
    }
    o.consumed = off;
    return o;
}

static struct outcome feed_str(srv_http_parser_t *p, const char *s)
{
    return feed_steps(p, s, strlen(s), 0);
}

/* Parse with default limits and return the error status (0 if DONE, -1 if incomplete). */
static int status_of(const char *s)
{
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_non_null(p);
    struct outcome o = feed_str(p, s);
    srv_http_parser_free(p);
    if (o.rc == SRV_HTTP_DONE)
        return 0;
    if (o.rc == SRV_HTTP_AGAIN)
        return -1;
    return o.status;
}

static int status_with(const srv_http_limits_t *lim, const char *s, size_t len)
{
    srv_http_parser_t *p = srv_http_parser_new(lim);
    assert_non_null(p);
    struct outcome o = feed_steps(p, s, len, 0);
    srv_http_parser_free(p);
    if (o.rc == SRV_HTTP_DONE)
        return 0;
    if (o.rc == SRV_HTTP_AGAIN)
        return -1;
    return o.status;
}

/* ---- well-formed requests ----------------------------------------------------------------- */

static void test_simple_get(void **state)
{
    (void)state;
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_null(srv_http_parser_request(p));
    const char *in = "GET /api/registry/lookup?serviceId=a%20b&x= HTTP/1.1\r\n"
                     "Host: localhost:8080\r\n"
                     "User-Agent:  test  \r\n"
                     "Accept:\r\n"
                     "\r\n";
    struct outcome o = feed_str(p, in);
    assert_int_equal(o.rc, SRV_HTTP_DONE);
    assert_int_equal(o.head_events, 0);
    assert_int_equal(o.consumed, strlen(in));
    const srv_http_request_t *r = srv_http_parser_request(p);
    assert_non_null(r);
    assert_int_equal(r->method, SRV_HTTP_GET);
    assert_string_equal(r->method_str, "GET");
    assert_string_equal(r->path, "/api/registry/lookup");
    assert_string_equal(r->query, "serviceId=a%20b&x=");
    assert_int_equal(r->version_minor, 1);
    assert_int_equal(r->n_headers, 3);
    assert_string_equal(r->headers[0].name, "Host");
    assert_string_equal(r->headers[0].value, "localhost:8080");
    assert_int_equal(r->headers[1].value_len, 4);
    assert_string_equal(r->headers[1].value, "test");
    assert_int_equal(r->headers[2].value_len, 0);
    assert_string_equal(r->headers[2].value, "");
    assert_true(r->keep_alive);
    assert_false(r->expect_continue);
    assert_false(r->upgrade_websocket);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(r->body, "");

    size_t len = 0;
    assert_string_equal(srv_http_header_get(r, "user-agent", &len), "test");
    assert_int_equal(len, 4);
    assert_null(srv_http_header_get(r, "User", &len));
    assert_null(srv_http_header_get(r, "Content-Length", NULL));
    assert_int_equal(srv_http_parser_error_status(p), 0);
    assert_string_equal(srv_http_parser_error_text(p), "");

    /* DONE is sticky until reset */
    size_t used = 99;
    assert_int_equal(srv_http_parser_feed(p, "GET", 3, &used), SRV_HTTP_DONE);
    assert_int_equal(used, 0);
    srv_http_parser_free(p);
}

static void test_methods_and_targets(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        srv_http_method_t m;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", SRV_HTTP_GET},
        {"POST / HTTP/1.1\r\n\r\n", SRV_HTTP_POST},
        {"PUT / HTTP/1.1\r\n\r\n", SRV_HTTP_PUT},
        {"DELETE / HTTP/1.1\r\n\r\n", SRV_HTTP_DELETE},
        {"HEAD / HTTP/1.1\r\n\r\n", SRV_HTTP_HEAD},
        {"OPTIONS / HTTP/1.1\r\n\r\n", SRV_HTTP_OPTIONS},
        {"PATCH / HTTP/1.1\r\n\r\n", SRV_HTTP_PATCH},
        {"PROPFIND / HTTP/1.1\r\n\r\n", SRV_HTTP_OTHER},
        {"get / HTTP/1.1\r\n\r\n", SRV_HTTP_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        srv_http_parser_t *p = srv_http_parser_new(NULL);
        assert_int_equal(feed_str(p, cases[i].line).rc, SRV_HTTP_DONE);
        assert_int_equal(srv_http_parser_request(p)->method, cases[i].m);
        srv_http_parser_free(p);
    }

    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_int_equal(feed_str(p, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").rc, SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "*");
    assert_string_equal(srv_http_parser_request(p)->query, "");
    srv_http_parser_reset(p);
    /* empty query, '?' inside the query, raw high bytes in the path */
    assert_int_equal(feed_str(p, "GET /a/\xc3\xa9?? HTTP/1.0\n\n").rc, SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "/a/\xc3\xa9");
    assert_string_equal(srv_http_parser_request(p)->query, "?");
    assert_int_equal(srv_http_parser_request(p)->version_minor, 0);
    srv_http_parser_free(p);
}

/* RFC 7230 §5.3.2: absolute-form targets are accepted; the path (and query) come from the URI,
 * its authority is kept for the Host rules of §5.4. */
static void absolute_is(const char *line, const char *path, const char *query,
                        const char *authority)
{
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    struct outcome o = feed_str(p, line);
    if (o.rc != SRV_HTTP_DONE)
        fail_msg("%s: rc %d status %d", line, o.rc, o.status);
    const srv_http_request_t *r = srv_http_parser_request(p);
    assert_string_equal(r->path, path);
    assert_string_equal(r->query, query);
    if (authority) {
        assert_non_null(r->authority);
        assert_string_equal(r->authority, authority);
    } else {
        assert_null(r->authority);
    }
    srv_http_parser_free(p);
}

static void test_absolute_form(void **state)
{
    (void)state;
    absolute_is("POST http://127.0.0.1/api/discovery/lookup.json HTTP/1.1\r\n"
                "Content-Length: 2\r\n\r\n{}",
                "/api/discovery/lookup.json", "", "127.0.0.1");
    absolute_is("GET HTTP://Example.COM:8080/a/b?x=1&y=/z HTTP/1.1\r\nHost: other\r\n\r\n", "/a/b",
                "x=1&y=/z", "Example.COM:8080");
    absolute_is("GET https://h HTTP/1.1\r\n\r\n", "/", "", "h");
    absolute_is("GET hTTpS://h?q=1 HTTP/1.0\r\n\r\n", "/", "q=1", "h");
    absolute_is("GET http://[::1]:80//x;p=1/%2E? HTTP/1.1\r\n\r\n", "//x;p=1/%2E", "", "[::1]:80");
    absolute_is("GET http://a.b-c_d~e!$&'()*+,;=%41:1/ HTTP/1.1\r\n\r\n", "/", "",
                "a.b-c_d~e!$&'()*+,;=%41:1");
    absolute_is("OPTIONS http://h HTTP/1.1\r\n\r\n", "/", "", "h");
    /* origin-form and asterisk-form have none */
    absolute_is("GET /http://h/x HTTP/1.1\r\n\r\n", "/http://h/x", "", NULL);
    absolute_is("OPTIONS * HTTP/1.1\r\n\r\n", "*", "", NULL);
    /* the authority is forgotten on reset */
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_int_equal(feed_str(p, "GET http://h/x HTTP/1.1\r\n\r\n").rc, SRV_HTTP_DONE);
    srv_http_parser_reset(p);
    assert_int_equal(feed_str(p, "GET /y HTTP/1.1\r\n\r\n").rc, SRV_HTTP_DONE);
    assert_null(srv_http_parser_request(p)->authority);
    srv_http_parser_free(p);
}

static void test_post_content_length(void **state)
{
    (void)state;
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    const char *head = "POST /api/registry/register.json HTTP/1.1\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 11\r\n"
                       "\r\n";
    char in[256];
    snprintf(in, sizeof(in), "%s%s", head, "{\"a\":true}\n");
    size_t used = 0;
    int rc = srv_http_parser_feed(p, in, strlen(in), &used);
    assert_int_equal(rc, SRV_HTTP_HEAD_DONE);
    assert_int_equal(used, strlen(head));
    const srv_http_request_t *r = srv_http_parser_request(p);
    assert_non_null(r);
    assert_int_equal(r->method, SRV_HTTP_POST);
    assert_int_equal(r->body_len, 0);
    size_t used2 = 0;
    rc = srv_http_parser_feed(p, in + used, strlen(in) - used, &used2);
    assert_int_equal(rc, SRV_HTTP_DONE);
    assert_int_equal(used + used2, strlen(in));
    r = srv_http_parser_request(p);
    assert_int_equal(r->body_len, 11);
    assert_string_equal(r->body, "{\"a\":true}\n");
    assert_false(r->chunked);
    srv_http_parser_free(p);

    /* Content-Length: 0 is DONE straight away; equal duplicates and "5, 5" lists are fine */
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 0);
    assert_int_equal(
        status_of("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc"), 0);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 3 , 3\r\n\r\nabc"), 0);
}

static void test_chunked(void **state)
{
    (void)state;
    const char *in = "POST /x HTTP/1.1\r\n"
                     "Transfer-Encoding: Chunked\r\n"
                     "\r\n"
                     "5\r\nhello\r\n"
                     "1;name=value;other\r\n \r\n"
                     "00B ; ext=\"quoted\"\r\nworld-again\r\n"
                     "0\r\n"
                     "X-Checksum: abc\r\n"
                     "X-Other: 1\r\n"
                     "\r\n"
                     "GET /next HTTP/1.1\r\n\r\n";
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    struct outcome o = feed_str(p, in);
    assert_int_equal(o.rc, SRV_HTTP_DONE);
    assert_int_equal(o.head_events, 1);
    assert_int_equal(o.consumed, strlen(in) - strlen("GET /next HTTP/1.1\r\n\r\n"));
    const srv_http_request_t *r = srv_http_parser_request(p);
    assert_true(r->chunked);
    assert_int_equal(r->body_len, 17);
    assert_memory_equal(r->body, "hello world-again", 17);
    assert_int_equal(r->body[17], '\0');
    /* trailers are not headers */
    assert_null(srv_http_header_get(r, "X-Checksum", NULL));
    srv_http_parser_free(p);

    /* bare LF everywhere, empty chunked body */
    assert_int_equal(status_of("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"), 0);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                     0);
    /* leading zeros are still a valid (small) size */
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "000000000000000000000000000001\r\na\r\n0\r\n\r\n"),
                     0);
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *in = "\r\nGET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                     "POST /two?q=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                     "GET /three HTTP/1.0\r\n\r\n";
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    srv_http_parser_set_head_done(p, 0);
    size_t len = strlen(in), off = 0, used = 0;
    assert_int_equal(srv_http_parser_feed(p, in, len, &used), SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "/one");
    off += used;
    srv_http_parser_reset(p);
    assert_null(srv_http_parser_request(p));
    assert_int_equal(srv_http_parser_feed(p, in + off, len - off, &used), SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "/two");
    assert_string_equal(srv_http_parser_request(p)->query, "q=1");
    assert_string_equal(srv_http_parser_request(p)->body, "abc");
    off += used;
    srv_http_parser_reset(p);
    assert_int_equal(srv_http_parser_feed(p, in + off, len - off, &used), SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "/three");
    assert_false(srv_http_parser_request(p)->keep_alive);
    off += used;
    assert_int_equal(off, len);
    srv_http_parser_free(p);
}

/* Every sample, valid or not, must give the same outcome whatever the split. */
static void test_split_independence(void **state)
{
    (void)state;
    static const char *samples[] = {
        "GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
        ("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
         "4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n"),
        "POST /p HTTP/1.1\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n",
        "POST http://h:1/p?q=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
        "GET https://[::1]?q HTTP/1.1\r\n\r\n",
        "GET http://u@h/ HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        size_t len = strlen(samples[i]);
        srv_http_parser_t *a = srv_http_parser_new(NULL);
        struct outcome whole = feed_steps(a, samples[i], len, 0);
        for (size_t step = 1; step <= 7; step++) {
            srv_http_parser_t *b = srv_http_parser_new(NULL);
            struct outcome part = feed_steps(b, samples[i], len, step);
            assert_int_equal(part.rc, whole.rc);
            assert_int_equal(part.status, whole.status);
            assert_int_equal(part.head_events, whole.head_events);
            if (whole.rc != SRV_HTTP_ERROR)
                assert_int_equal(part.consumed, whole.consumed);
            if (whole.rc == SRV_HTTP_DONE) {
                const srv_http_request_t *ra = srv_http_parser_request(a);
                const srv_http_request_t *rb = srv_http_parser_request(b);
                assert_string_equal(ra->path, rb->path);
                assert_string_equal(ra->query, rb->query);
                assert_true((ra->authority == NULL) == (rb->authority == NULL));
                if (ra->authority)
                    assert_string_equal(ra->authority, rb->authority);
                assert_int_equal(ra->n_headers, rb->n_headers);
                assert_int_equal(ra->body_len, rb->body_len);
                assert_memory_equal(ra->body, rb->body, ra->body_len);
            }
            srv_http_parser_free(b);
        }
        srv_http_parser_free(a);
    }
}

static int keep_alive_of(const char *in)
{
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_int_equal(feed_str(p, in).rc, SRV_HTTP_DONE);
    int k = srv_http_parser_request(p)->keep_alive;
    srv_http_parser_free(p);
    return k;
}

static void test_keep_alive(void **state)
{
    (void)state;
    assert_true(keep_alive_of("GET / HTTP/1.1\r\n\r\n"));
    assert_false(keep_alive_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    assert_false(keep_alive_of("GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n"));
    assert_false(
        keep_alive_of("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"));
    assert_true(keep_alive_of("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
    assert_true(keep_alive_of("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
    assert_false(keep_alive_of("GET / HTTP/1.0\r\n\r\n"));
    assert_true(keep_alive_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert_false(keep_alive_of("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
    /* an HTTP/1.0 message with Transfer-Encoding is served, then the connection closes */
    assert_false(keep_alive_of("POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
}

static void test_upgrade_and_expect(void **state)
{
    (void)state;
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    assert_int_equal(feed_str(p, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n"
                                 "Connection: keep-alive, Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n")
                         .rc,
                     SRV_HTTP_DONE);
    assert_true(srv_http_parser_request(p)->upgrade_websocket);
    srv_http_parser_reset(p);
    assert_int_equal(feed_str(p, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").rc,
                     SRV_HTTP_DONE);
    assert_false(srv_http_parser_request(p)->upgrade_websocket);
    srv_http_parser_reset(p);
    assert_int_equal(
        feed_str(p, "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n").rc,
        SRV_HTTP_DONE);
    assert_false(srv_http_parser_request(p)->upgrade_websocket);
    srv_http_parser_reset(p);

    /* Expect: 100-continue -> HEAD_DONE with the flag, before any body byte */
    const char *head = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n";
    size_t used = 0;
    assert_int_equal(srv_http_parser_feed(p, head, strlen(head), &used), SRV_HTTP_HEAD_DONE);
    assert_int_equal(used, strlen(head));
    assert_true(srv_http_parser_request(p)->expect_continue);
    assert_int_equal(srv_http_parser_feed(p, "o", 1, &used), SRV_HTTP_AGAIN);
    assert_int_equal(srv_http_parser_feed(p, "kX", 2, &used), SRV_HTTP_DONE);
    assert_int_equal(used, 1);
    assert_string_equal(srv_http_parser_request(p)->body, "ok");
    srv_http_parser_reset(p);
    /* ignored for HTTP/1.0 */
    assert_int_equal(feed_str(p, "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").rc,
                     SRV_HTTP_DONE);
    assert_false(srv_http_parser_request(p)->expect_continue);
    srv_http_parser_free(p);
}

static void test_has_token(void **state)
{
    (void)state;
    const char *v = " keep-alive ,\tUpgrade,,close ";
    assert_true(srv_http_header_has_token(v, strlen(v), "upgrade"));
    assert_true(srv_http_header_has_token(v, strlen(v), "KEEP-ALIVE"));
    assert_true(srv_http_header_has_token(v, strlen(v), "close"));
    assert_false(srv_http_header_has_token(v, strlen(v), "clos"));
    assert_false(srv_http_header_has_token(v, strlen(v), "keep"));
    /* a prefix of the buffer only */
    assert_false(srv_http_header_has_token("ab,cd", 4, "cd"));
    assert_true(srv_http_header_has_token("ab,cd", 5, "cd"));
    assert_false(srv_http_header_has_token(NULL, 0, "x"));
    assert_false(srv_http_header_has_token("", 0, "x"));
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_error_400(void **state)
{
    (void)state;
    static const char *bad[] = {
        /* smuggling */
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        /* header syntax */
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\n\tX: a\r\n\r\n",
        "GET / HTTP/1.1\r\nX : a\r\n\r\n",
        "GET / HTTP/1.1\r\nX(y): a\r\n\r\n",
        "GET / HTTP/1.1\r\n: a\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nX: \x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x1b[31m\r\n\r\n",
        /* request line */
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET /a\tb HTTP/1.1\r\n\r\n",
        "G\x01T / HTTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET foo HTTP/1.1\r\n\r\n",
        /* absolute-form: http(s) only, a non-empty authority without userinfo */
        "GET ftp://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET ws://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http:/example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http:example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://?x HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://user@example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://u:p@example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://exa\"mple/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://example.com#f HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET httpx://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET * HTTP/1.1\r\n\r\n",
        "GET / HTTP/1\r\n\r\n",
        "GET / HTTP/1.\r\n\r\n",
        "GET / HTTPS/1.1\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.1x\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        /* chunked framing */
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\rX",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a\x01\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = status_of(bad[i]);
        if (st != 400)
            fail_msg("case %zu: expected 400, got %d for %s", i, st, bad[i]);
    }
    /* NUL bytes need an explicit length */
    static const char nul_hdr[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    assert_int_equal(status_with(NULL, nul_hdr, sizeof(nul_hdr) - 1), 400);
    static const char nul_line[] = "GET /\0 HTTP/1.1\r\n\r\n";
    assert_int_equal(status_with(NULL, nul_line, sizeof(nul_line) - 1), 400);

    /* the error text is set and the error is sticky */
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    struct outcome o = feed_str(p, "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n");
    assert_int_equal(o.rc, SRV_HTTP_ERROR);
    assert_true(strlen(srv_http_parser_error_text(p)) > 0);
    size_t used = 7;
    assert_int_equal(srv_http_parser_feed(p, "\r\n", 2, &used), SRV_HTTP_ERROR);
    assert_int_equal(used, 0);
    /* reset makes it usable again */
    srv_http_parser_reset(p);
    assert_int_equal(srv_http_parser_error_status(p), 0);
    assert_int_equal(feed_str(p, "GET /ok HTTP/1.1\r\n\r\n").rc, SRV_HTTP_DONE);
    srv_http_parser_free(p);
}

static void test_error_501_505(void **state)
{
    (void)state;
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
                     501);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"),
                     501);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"), 501);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n"), 501);

    assert_int_equal(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(status_of("GET / HTTP/1.2\r\n\r\n"), 505);
    assert_int_equal(status_of("GET / HTTP/0.9\r\n\r\n"), 505);
    assert_int_equal(status_of("GET / HTTP/11.1\r\n\r\n"), 505);
    assert_int_equal(status_of("GET / HTTP/1.10\r\n\r\n"), 505);
}

static void test_limits(void **state)
{
    (void)state;
    srv_http_limits_t lim;
    srv_http_limits_init(&lim);
    assert_int_equal(lim.max_header_bytes, 16384);
    assert_int_equal(lim.max_headers, 64);
    assert_int_equal(lim.max_body_bytes, 4 * 1024 * 1024);

    /* header bytes: a head of exactly the limit passes, one more byte is 431 */
    const char *h = "GET / HTTP/1.1\r\nX: abc\r\n\r\n"; /* 26 bytes */
    lim.max_header_bytes = strlen(h);
    assert_int_equal(status_with(&lim, h, strlen(h)), 0);
    lim.max_header_bytes = strlen(h) - 1;
    assert_int_equal(status_with(&lim, h, strlen(h)), 431);
    /* an endless header line without LF hits the limit too */
    srv_http_limits_init(&lim);
    size_t big = 20000;
    char *huge = malloc(big + 1);
    memcpy(huge, "GET / HTTP/1.1\r\nX: ", 19);
    memset(huge + 19, 'a', big - 19);
    huge[big] = '\0';
    assert_int_equal(status_with(&lim, huge, big), 431);
    free(huge);

    /* header count */
    srv_http_limits_init(&lim);
    lim.max_headers = 3;
    const char *three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_int_equal(status_with(&lim, three, strlen(three)), 0);
    const char *four = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert_int_equal(status_with(&lim, four, strlen(four)), 431);
    char *many = malloc(65 * 8 + 64);
    size_t n = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)sprintf(many + n, "H%02d: x\r\n", i);
    n += (size_t)sprintf(many + n, "\r\n");
    assert_int_equal(status_with(NULL, many, n), 431);
    free(many);

    /* body: Content-Length over the limit is refused before any body byte (413, not
     * HEAD_DONE); chunked bodies are counted after de-chunking */
    srv_http_limits_init(&lim);
    lim.max_body_bytes = 4;
    const char *cl4 = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
    assert_int_equal(status_with(&lim, cl4, strlen(cl4)), 0);
    const char *cl5 = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    assert_int_equal(status_with(&lim, cl5, strlen(cl5)), 413);
    const char *ch4 = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
    assert_int_equal(status_with(&lim, ch4, strlen(ch4)), 0);
    const char *ch5 = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nab\r\n3\r\n";
    assert_int_equal(status_with(&lim, ch5, strlen(ch5)), 413);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 4194305\r\n\r\n"), 413);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n"), -1);

    /* trailers count against the header byte limit */
    srv_http_limits_init(&lim);
    lim.max_header_bytes = 64;
    const char *tr =
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        "X-Long-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    assert_int_equal(status_with(&lim, tr, strlen(tr)), 431);
}

static void test_hostile(void **state)
{
    (void)state;
    /* a huge hex chunk size, with and without overflow */
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\r\n"),
                     413);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "7FFFFFFFFFFFFFFF\r\n"),
                     413);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "10000000000000001\r\n"),
                     413);
    /* a never-ending chunk extension */
    size_t n = 10000;
    char *ext = malloc(n + 1);
    const char *pre = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;";
    memcpy(ext, pre, strlen(pre));
    memset(ext + strlen(pre), 'e', n - strlen(pre));
    ext[n] = '\0';
    assert_int_equal(status_with(NULL, ext, n), 400);
    free(ext);
    /* overflowing / negative Content-Length */
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n"),
                     400);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n"),
                     413);
    assert_int_equal(status_of("POST / HTTP/1.1\r\nContent-Length: -0\r\n\r\n"), 400);

    /* input that stops short (EOF) is just AGAIN with everything consumed */
    static const char *short_inputs[] = {
        "",
        "\r\n\r\n",
        "GET / HTTP/1.1",
        "GET / HTTP/1.1\r\nHost: x",
        "GET / HTTP/1.1\r\nHost: x\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: x\r\n",
    };
    for (size_t i = 0; i < sizeof(short_inputs) / sizeof(short_inputs[0]); i++) {
        srv_http_parser_t *p = srv_http_parser_new(NULL);
        struct outcome o = feed_str(p, short_inputs[i]);
        assert_int_equal(o.rc, SRV_HTTP_AGAIN);
        assert_int_equal(o.consumed, strlen(short_inputs[i]));
        srv_http_parser_free(p);
    }

    /* zero-length and NULL feeds */
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    size_t used = 5;
    assert_int_equal(srv_http_parser_feed(p, NULL, 0, &used), SRV_HTTP_AGAIN);
    assert_int_equal(used, 0);
    assert_int_equal(srv_http_parser_feed(p, "x", 0, NULL), SRV_HTTP_AGAIN);
    srv_http_parser_free(p);
    srv_http_parser_free(NULL);
}

/* The request must survive the caller discarding its input, and big bodies grow buffers. */
static void test_copies_input(void **state)
{
    (void)state;
    srv_http_parser_t *p = srv_http_parser_new(NULL);
    srv_http_parser_set_head_done(p, 0);
    char head[128];
    size_t body_len = 300000;
    int hn =
        snprintf(head, sizeof(head), "PUT /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body_len);
    char *in = malloc((size_t)hn + body_len);
    memcpy(in, head, (size_t)hn);
    for (size_t i = 0; i < body_len; i++)
        in[(size_t)hn + i] = (char)('a' + i % 26);
    size_t total = (size_t)hn + body_len, off = 0;
    int rc = SRV_HTTP_AGAIN;
    while (off < total && rc == SRV_HTTP_AGAIN) {
        char piece[1000];
        size_t n = total - off < sizeof(piece) ? total - off : sizeof(piece);
        memcpy(piece, in + off, n);
        size_t used;
        rc = srv_http_parser_feed(p, piece, n, &used);
        memset(piece, 0, sizeof(piece));
        off += used;
    }
    assert_int_equal(rc, SRV_HTTP_DONE);
    const srv_http_request_t *r = srv_http_parser_request(p);
    assert_string_equal(r->path, "/big");
    assert_int_equal(r->method, SRV_HTTP_PUT);
    assert_int_equal(r->body_len, body_len);
    assert_memory_equal(r->body, in + hn, body_len);
    free(in);
    srv_http_parser_reset(p);
    assert_int_equal(feed_str(p, "GET /after HTTP/1.1\r\n\r\n").rc, SRV_HTTP_DONE);
    assert_string_equal(srv_http_parser_request(p)->path, "/after");
    srv_http_parser_free(p);
}

/* ---- url ---------------------------------------------------------------------------------- */

static void test_url_decode(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    const char *s = "/a%20b%2Fc+d%c3%A9";
    assert_int_equal(srv_url_decode(s, strlen(s), &b), 0);
    assert_string_equal(b.data, "/a b/c+d\xc3\xa9");
    artemisi_buf_reset(&b);
    assert_int_equal(srv_url_decode_form("a+b%2B", 6, &b), 0);
    assert_string_equal(b.data, "a b+");
    /* appends */
    assert_int_equal(srv_url_decode("!", 1, &b), 0);
    assert_string_equal(b.data, "a b+!");
    /* malformed escapes leave `out` as it was */
    static const char *bad[] = {"%", "%4", "%zz", "%4g", "abc%", "a%0", "%00", "x%00y", "%%41"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(srv_url_decode(bad[i], strlen(bad[i]), &b), -1);
        assert_int_equal(srv_url_decode_form(bad[i], strlen(bad[i]), &b), -1);
        assert_string_equal(b.data, "a b+!");
        assert_int_equal(b.len, 5);
    }
    assert_int_equal(srv_url_decode("a\0b", 3, &b), -1);
    artemisi_buf_reset(&b);
    assert_int_equal(srv_url_decode("", 0, &b), 0);
    assert_int_equal(b.len, 0);
    artemisi_buf_free(&b);
}

static void test_query_get(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    const char *q = "serviceId=svc%201&zone=&flag&a+b=c+d&x=1&x=2&&regionId=r%2Cs";
    assert_int_equal(srv_query_get(q, "serviceId", &b), 1);
    assert_string_equal(b.data, "svc 1");
    assert_int_equal(srv_query_get(q, "zone", &b), 1);
    assert_string_equal(b.data, "");
    assert_int_equal(srv_query_get(q, "flag", &b), 1);
    assert_string_equal(b.data, "");
    assert_int_equal(srv_query_get(q, "a b", &b), 1);
    assert_string_equal(b.data, "c d");
    /* a repeated name gives every value joined with ',', as Spring binds a String parameter */
    assert_int_equal(srv_query_get(q, "x", &b), 1);
    assert_string_equal(b.data, "1,2");
    assert_int_equal(srv_query_get("serviceId=a&serviceId=x", "serviceId", &b), 1);
    assert_string_equal(b.data, "a,x");
    assert_int_equal(srv_query_get("a=&a=x&b=1&a=", "a", &b), 1);
    assert_string_equal(b.data, ",x,");
    assert_int_equal(srv_query_get(q, "regionId", &b), 1);
    assert_string_equal(b.data, "r,s");
    assert_int_equal(srv_query_get(q, "serviceid", &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(srv_query_get(q, "missing", &b), 0);
    assert_int_equal(srv_query_get("", "x", &b), 0);
    assert_int_equal(srv_query_get(NULL, "x", &b), 0);
    assert_int_equal(srv_query_get("?x=7", "x", &b), 1);
    assert_string_equal(b.data, "7");
    /* malformed anywhere -> -1, whichever name is asked for */
    assert_int_equal(srv_query_get("x=1&y=%zz", "x", &b), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(srv_query_get("x=1&%=1", "x", &b), -1);
    assert_int_equal(srv_query_get("x=%00", "x", &b), -1);

    assert_int_equal(srv_query_get(q, "x", &b), 1);
    assert_string_equal(b.data, "1,2");
    assert_int_equal(srv_query_get("ids=a,b&ids=c&other=1&ids=", "ids", &b), 1);
    assert_string_equal(b.data, "a,b,c,");
    assert_int_equal(srv_query_get(q, "serviceId", &b), 1);
    assert_string_equal(b.data, "svc 1");
    assert_int_equal(srv_query_get(q, "nope", &b), 0);
    assert_int_equal(srv_query_get("ids=1&ids=%G0", "ids", &b), -1);
    artemisi_buf_free(&b);
}

static void norm_is(const char *in, const char *want)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&b, "junk"); /* reset first */
    int rc = srv_path_normalize(in, &b);
    if (rc != 0)
        fail_msg("'%s': rc %d, want '%s'", in, rc, want);
    assert_non_null(b.data);
    if (strcmp(b.data, want) != 0)
        fail_msg("'%s' -> '%s', want '%s'", in, b.data, want);
    assert_int_equal(b.len, strlen(want));
    artemisi_buf_free(&b);
}

static void norm_refused(const char *in)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    int rc = srv_path_normalize(in, &b);
    if (rc != -1)
        fail_msg("'%s': rc %d (%s), want -1", in, rc, b.data ? b.data : "");
    artemisi_buf_free(&b);
}

static void test_path_normalize(void **state)
{
    (void)state;
    static const char *const lookup[] = {
        "/api/discovery/lookup.json",
        "/api/discovery/lookup.json/",  /* one trailing slash */
        "/api/discovery/lookup.json//", /* collapsed, then the trailing one */
        "/api/discovery//lookup.json",  /* repeated slashes */
        "//api///discovery/lookup.json",
        "/api/discovery/lookup%2Ejson", /* encoded unreserved characters */
        "/api/discovery/lookup%2ejson",
        "/%61pi/%64iscovery/%6C%6f%6Fkup.json",
        "/api/discovery/lookup.json;jsessionid=1", /* path parameters */
        "/api;a=1;b=2/discovery;/lookup.json;",
        "/api/./discovery/lookup.json/.", /* "." segments */
        "/api/%2E/discovery/lookup.json",
        "/api/registry/../discovery/lookup.json", /* ".." inside the root */
        "/api/x/y/%2e%2E/../discovery/lookup.json",
        "/api/x/..;p=1/discovery/lookup.json",
        "/x/../api/discovery/lookup.json",
    };
    for (size_t i = 0; i < sizeof(lookup) / sizeof(lookup[0]); i++)
        norm_is(lookup[i], "/api/discovery/lookup.json");
    norm_is("/", "/");
    norm_is("//", "/");
    norm_is("/;x", "/");
    norm_is("/.", "/");
    norm_is("/a/..", "/");
    norm_is("/a/../", "/");
    norm_is("/%7E%5F-.", "/~_-.");
    /* reserved and other characters stay encoded, as given: "%2F" is not a separator, and the
     * v1 subscribe id is decoded once, later */
    norm_is("/a%2Fb", "/a%2Fb");
    norm_is("/a%2fb/%2F", "/a%2fb/%2F");
    norm_is("/s/a%3Bb;c", "/s/a%3Bb");
    norm_is("/a;%zz/b", "/a/b"); /* parameters are cut before anything is decoded */
    norm_is("/s/%25%20%c3%a9%2e", "/s/%25%20%c3%a9.");
    norm_is("/s/%2e%2e%2F", "/s/..%2F"); /* not a ".." segment */
    norm_is("/s/..a/a..", "/s/..a/a..");
    norm_is("/s/...", "/s/...");
    norm_is("/\xc3\xa9/x", "/\xc3\xa9/x");
    norm_is("/a+b", "/a+b");
    /* not an origin-form path: unchanged */
    norm_is("*", "*");
    /* refused (400): ".." above the root, malformed escapes, an encoded NUL */
    static const char *const bad[] = {"/..",   "/../x",        "/a/../..", "/%2E%2E", "/%2e./x",
                                      "/..;x", "/a/./../../b", "/%",       "/%4",     "/%zz",
                                      "/a%4g", "/%00",         "/a%00b",   "/x/%",    "/a/%G1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        norm_refused(bad[i]);
    /* a long path of many segments */
    artemisi_buf_t in = ARTEMISI_BUF_INIT, want = ARTEMISI_BUF_INIT;
    for (int i = 0; i < 2000; i++) {
        artemisi_buf_appends(&in, "//seg;p/./x/..");
        artemisi_buf_appends(&want, "/seg");
    }
    norm_is(in.data, want.data);
    artemisi_buf_free(&in);
    artemisi_buf_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_methods_and_targets),
        cmocka_unit_test(test_absolute_form),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_split_independence),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_upgrade_and_expect),
        cmocka_unit_test(test_has_token),
        cmocka_unit_test(test_error_400),
        cmocka_unit_test(test_error_501_505),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_copies_input),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_path_normalize),
    };
    return cmocka_run_group_tests_name("http_parser", tests, NULL, NULL);
}
