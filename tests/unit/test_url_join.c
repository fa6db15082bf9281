#include "test.h"
/*
 * Unit tests for sdk/url_join.c: the protocol.md §0.4 joining rule and the URL splitter used
 * by the SDK's WebSocket client.
 */
#include "url_join.h"

static void join_is(const char *base, const char *path, const char *want)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_url_join(base, path, &b), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, want);
    artemisi_buf_free(&b);
}

static void test_join(void **state)
{
    (void)state;
    join_is("http://h:8080/artemis-service/", "/api/registry/register.json",
            "http://h:8080/artemis-service/api/registry/register.json");
    join_is("http://h:8080/artemis-service", "api/x", "http://h:8080/artemis-service/api/x");
    join_is("http://h:8080/a", "///x", "http://h:8080/a/x");
    join_is("  http://h/  ", "  /ws/registry/heartbeat \n", "http://h/ws/registry/heartbeat");
    join_is("http://h/", NULL, "http://h/");
    join_is("http://h/", "   ", "http://h/");
    join_is(NULL, "/x", "/x"); /* the first part keeps its leading slash */
    join_is("   ", "/x", "/x");
    join_is(NULL, NULL, "");
    join_is("http://h", "/", "http://h/");
    /* The buffer is reset first. */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&b, "junk");
    assert_int_equal(artemisi_url_join("a", "b", &b), 0);
    assert_string_equal(b.data, "a/b");
    artemisi_buf_free(&b);
}

static void parse_ok(const char *url, const char *scheme, const char *host, int port,
                     const char *path)
{
    char s[8], h[64], p[128];
    int pn = -1;
    assert_int_equal(artemisi_url_parse(url, s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)), 0);
    assert_string_equal(s, scheme);
    assert_string_equal(h, host);
    assert_int_equal(pn, port);
    assert_string_equal(p, path);
}

static void test_parse(void **state)
{
    (void)state;
    parse_ok("http://127.0.0.1:8080/artemis/", "http", "127.0.0.1", 8080, "/artemis/");
    parse_ok("HTTP://Example.com", "http", "Example.com", 80, "/");
    parse_ok("https://h/x?y=1#frag", "https", "h", 443, "/x?y=1");
    parse_ok("ws://h:1/", "ws", "h", 1, "/");
    parse_ok("wss://h", "wss", "h", 443, "/");
    parse_ok("ws://h?q", "ws", "h", 80, "/?q");
    parse_ok("http://[::1]:8080/a", "http", "::1", 8080, "/a");
    parse_ok("http://[fe80::1:2]", "http", "fe80::1:2", 80, "/");
    parse_ok("http://h:65535", "http", "h", 65535, "/");
}

static void test_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        NULL,
        "",
        "h:80/x",
        "ftp://h/",
        "http:/h/",
        "http://",
        "http:///x",
        "http://:80/",
        "http://h:/",
        "http://h:0/",
        "http://h:65536/",
        "http://h:123456/",
        "http://h:8a/",
        "http://h:-1/",
        "http://user@h/",
        "http://h /",
        "http://h/a b",
        "http://h/\x01",
        "http://[::1/",
        "http://[]/",
        "http://[::1]x/",
        "http://[zz::1]/",
        "http://::1/",
        "http://h]/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char s[8], h[64], p[128];
        int pn;
        if (artemisi_url_parse(bad[i], s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)) != -1)
            fail_msg("accepted %s", bad[i] ? bad[i] : "(null)");
    }
}

static void test_parse_sizes(void **state)
{
    (void)state;
    char s[8], h[4], p[4];
    int pn;
    assert_int_equal(
        artemisi_url_parse("http://abc/xy", s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)), 0);
    assert_int_equal(
        artemisi_url_parse("http://abcd/", s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)), -1);
    assert_int_equal(
        artemisi_url_parse("http://a/xyz", s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)), -1);
    assert_int_equal(artemisi_url_parse("ws://a?x", s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)),
                     0);
    assert_string_equal(p, "/?x");
    assert_int_equal(artemisi_url_parse("ws://a?xy", s, sizeof(s), h, sizeof(h), &pn, p, sizeof(p)),
                     -1);
    char s2[4];
    assert_int_equal(
        artemisi_url_parse("https://a/", s2, sizeof(s2), h, sizeof(h), &pn, p, sizeof(p)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_sizes),
    };
    return cmocka_run_group_tests_name("url_join", tests, NULL, NULL);
}
