/*
 * Unit tests for server/origin: validation of http.allowed-origins and http.allowed-hosts,
 * Origin matching (exact, default ports, case, "*", "null", near misses), Host matching
 * (ports, case, trailing dot, IPv6, missing Host) and the preflight header filter.
 */
#include "test.h"

#include "origin.h"

#define MATCH(list, origin) srv_origin_match((list), (origin), strlen(origin))
#define HOST(list, host)    srv_host_match((list), (host), strlen(host))

static void test_origin_list_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "",
        " , ,",
        "*",
        " * ",
        "https://console.example",
        "https://console.example.com:8443",
        "http://localhost:3000, https://a.example ,https://b.example",
        "http://[::1]:8080",
        "http://10.0.0.1",
        "chrome-extension://abcdefghijklmnop",
        "HTTPS://Console.Example",
        "https://fqdn.example.",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (srv_origin_check_list(good[i]))
            fail_msg("\"%s\" rejected: %s", good[i], srv_origin_check_list(good[i]));
}

static void expect_bad_origins(const char *list, const char *needle)
{
    const char *why = srv_origin_check_list(list);
    if (!why)
        fail_msg("\"%s\" accepted", list);
    if (!strstr(why, needle))
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", list, why, needle);
}

static void test_origin_list_invalid(void **state)
{
    (void)state;
    expect_bad_origins("https://console.example/", "path");
    expect_bad_origins("https://console.example/app", "path");
    expect_bad_origins("https://console.example?x=1", "path");
    expect_bad_origins("https://console.example#f", "path");
    expect_bad_origins("https://user@console.example", "path");
    expect_bad_origins("https://user:pw@console.example", "path");
    expect_bad_origins("https:///x", "path");
    expect_bad_origins("console.example", "not an origin");
    expect_bad_origins("https://", "not an origin");
    expect_bad_origins("://x", "not an origin");
    expect_bad_origins("1http://x", "not an origin");
    expect_bad_origins("https://a b.example", "not an origin");
    expect_bad_origins("https://[::1", "not an origin");
    expect_bad_origins("https://[zz::1]", "not an origin");
    expect_bad_origins("**", "not an origin");
    expect_bad_origins("https://a.example:", "port");
    expect_bad_origins("https://a.example:0", "port");
    expect_bad_origins("https://a.example:65536", "port");
    expect_bad_origins("https://a.example:123456", "port");
    expect_bad_origins("https://a.example:8x", "not an origin");
    expect_bad_origins("null", "null");
    expect_bad_origins("https://a.example, NULL", "null");
    expect_bad_origins("*,https://a.example", "alone");
    expect_bad_origins("*,*", "alone");
    expect_bad_origins("https://ok.example,bad", "not an origin");
}

static void test_origin_match(void **state)
{
    (void)state;
    const char *list = "https://console.example, http://localhost:3000, http://[::1]:8080";
    assert_int_equal(srv_origin_match(list, NULL, 0), SRV_ORIGIN_NONE);
    assert_int_equal(srv_origin_match("", NULL, 0), SRV_ORIGIN_NONE);
    assert_int_equal(MATCH(list, "https://console.example"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH(list, "https://console.example:443"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH(list, "HTTPS://CONSOLE.EXAMPLE"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH(list, "http://localhost:3000"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH(list, "http://[::1]:8080"), SRV_ORIGIN_LISTED);
    /* near misses */
    static const char *const miss[] = {
        "http://console.example",
        "https://console.example:8443",
        "https://console.example.evil.example",
        "https://evil-console.example",
        "https://console.exampl",
        "https://console.example/",
        "https://console.example@evil.example",
        "http://localhost",
        "http://localhost:30000",
        "http://[::1]",
        "null",
        "",
        "https://evil.example",
        "https://console.example\x01",
    };
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++)
        if (MATCH(list, miss[i]) != SRV_ORIGIN_DENIED)
            fail_msg("\"%s\" not denied", miss[i]);
    /* a length shorter than the string: only that prefix is the origin */
    assert_int_equal(srv_origin_match(list, "https://console.example.evil", 23), SRV_ORIGIN_LISTED);
    assert_int_equal(srv_origin_match(list, "https://console.examplX", 22), SRV_ORIGIN_DENIED);
    /* a listed default port equals none */
    assert_int_equal(MATCH("https://a.example:443", "https://a.example"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH("http://a.example:80", "http://a.example"), SRV_ORIGIN_LISTED);
    assert_int_equal(MATCH("http://a.example:443", "http://a.example"), SRV_ORIGIN_DENIED);
    /* a trailing dot names the same host */
    assert_int_equal(MATCH("https://a.example.", "https://a.example"), SRV_ORIGIN_LISTED);
    /* default: nothing is allowed */
    assert_int_equal(MATCH("", "https://console.example"), SRV_ORIGIN_DENIED);
    assert_int_equal(MATCH(" , ", "https://console.example"), SRV_ORIGIN_DENIED);
    assert_int_equal(MATCH("", "null"), SRV_ORIGIN_DENIED);
    /* "*": anything, null included, but never as listed */
    assert_int_equal(MATCH("*", "https://evil.example"), SRV_ORIGIN_ANY);
    assert_int_equal(MATCH("*", "null"), SRV_ORIGIN_ANY);
    assert_int_equal(MATCH(" * ", "garbage"), SRV_ORIGIN_ANY);
}

static void test_origin_list_active(void **state)
{
    (void)state;
    assert_false(srv_origin_list_active(""));
    assert_false(srv_origin_list_active(" , ,\t"));
    assert_true(srv_origin_list_active("*"));
    assert_true(srv_origin_list_active(",localhost"));
}

static void test_host_list(void **state)
{
    (void)state;
    static const char *const good[] = {
        "",
        ",",
        "localhost",
        "localhost,127.0.0.1",
        " LOCALHOST:8080 , [::1], [::1]:80 ",
        "artemis.example.com.",
        "my_host",
        "10.0.0.1:65535",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (srv_host_check_list(good[i]))
            fail_msg("\"%s\" rejected: %s", good[i], srv_host_check_list(good[i]));
    static const char *const bad[] = {
        "*",           "http://localhost",
        "local host",  "localhost:",
        "localhost:0", "localhost:99999",
        "a:b:c",       "localhost/x",
        "[::1",        "[::1]x",
        "[]",          ".",
        "host,b@d",    "..",
        "[1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!srv_host_check_list(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
    assert_non_null(strstr(srv_host_check_list("*"), "empty"));
    assert_non_null(strstr(srv_host_check_list("http://x"), "URL"));
    assert_non_null(strstr(srv_host_check_list("x:0"), "port"));
}

static void test_host_match(void **state)
{
    (void)state;
    /* empty list: anything, no Host at all included */
    assert_true(srv_host_match("", NULL, 0));
    assert_true(HOST("", "evil.example"));
    assert_true(HOST(" , ", "evil.example"));

    const char *list = "localhost, 127.0.0.1, artemis.example.com:8080, [::1]";
    assert_false(srv_host_match(list, NULL, 0));
    assert_true(HOST(list, "localhost"));
    assert_true(HOST(list, "localhost:8080"));
    assert_true(HOST(list, "LocalHost:1"));
    assert_true(HOST(list, "localhost."));
    assert_true(HOST(list, "127.0.0.1:9000"));
    assert_true(HOST(list, "artemis.example.com:8080"));
    assert_true(HOST(list, "ARTEMIS.example.com."));
    assert_true(HOST(list, "artemis.example.com")); /* no port in the header: name decides */
    assert_true(HOST(list, "[::1]:8080"));
    assert_false(HOST(list, "artemis.example.com:8081"));
    assert_false(HOST(list, "evil.example"));
    assert_false(HOST(list, "localhost.evil.example"));
    assert_false(HOST(list, "127.0.0.2"));
    assert_false(HOST(list, "127.0.0.1.evil.example"));
    assert_false(HOST(list, "[::2]"));
    assert_false(HOST(list, ""));
    assert_false(HOST(list, "localhost:"));
    assert_false(HOST(list, "localhost:0"));
    assert_false(HOST(list, "localhost:x"));
    assert_false(HOST(list, "localhost evil"));
    assert_false(HOST(list, "user@localhost"));
    /* only the given length counts */
    assert_true(srv_host_match(list, "localhost.evil", 9));
    assert_false(srv_host_match(list, "localhos", 8));
}

static void test_origin_is_host(void **state)
{
    (void)state;
#define SAME(o, h) srv_origin_is_host((o), strlen(o), (h), strlen(h))
    assert_true(SAME("http://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_true(SAME("http://LocalHost:8080", "localhost:8080"));
    assert_true(SAME("http://a.example", "a.example"));
    assert_true(SAME("http://a.example", "a.example:80"));
    assert_true(SAME("http://a.example:80", "a.example"));
    assert_true(SAME("https://a.example", "a.example:443"));
    assert_true(SAME("http://[::1]:9", "[::1]:9"));
    assert_false(SAME("http://127.0.0.1:8081", "127.0.0.1:8080"));
    assert_false(SAME("http://127.0.0.1", "127.0.0.1:8080"));
    assert_false(SAME("https://a.example", "a.example:80"));
    assert_false(SAME("http://evil.example:8080", "127.0.0.1:8080"));
    assert_false(SAME("null", "127.0.0.1:8080"));
    assert_false(SAME("ftp://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_false(SAME("http://127.0.0.1:8080/x", "127.0.0.1:8080"));
    assert_false(srv_origin_is_host(NULL, 0, "a", 1));
    assert_false(srv_origin_is_host("http://a", 8, NULL, 0));
#undef SAME
#define LIT(h) srv_host_is_literal((h), strlen(h))
    assert_true(LIT("127.0.0.1:8080"));
    assert_true(LIT("10.0.0.5"));
    assert_true(LIT("[::1]:8080"));
    assert_true(LIT("localhost:8080"));
    assert_true(LIT("LOCALHOST"));
    assert_false(LIT("evil.example:8080"));
    assert_false(LIT("127.0.0.1.evil.example"));
    assert_false(LIT("localhost.evil.example"));
    assert_false(LIT("a b"));
    assert_false(srv_host_is_literal(NULL, 0));
#undef LIT
}

static void test_allow_headers(void **state)
{
    (void)state;
    char out[96];
    const char *v = "Content-Type, X-Evil,content-encoding ,ACCEPT-ENCODING,authorization";
    srv_origin_allow_headers(v, strlen(v), out, sizeof(out));
    assert_string_equal(out, "content-type, content-encoding, accept-encoding");
    v = "x-a, x-b";
    assert_int_equal(srv_origin_allow_headers(v, strlen(v), out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(srv_origin_allow_headers(NULL, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    /* every simple header, repeated: fits the documented 96 bytes */
    v = "accept,accept-language,content-language,content-type,content-encoding,accept-encoding,"
        "accept,content-type";
    size_t n = srv_origin_allow_headers(v, strlen(v), out, sizeof(out));
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "accept, accept-language, content-language, content-type, "
                             "content-encoding, accept-encoding");
    /* a small buffer truncates at a whole name and stays terminated */
    char small[20];
    srv_origin_allow_headers(v, strlen(v), small, sizeof(small));
    assert_string_equal(small, "accept");
    assert_int_equal(srv_origin_allow_headers(v, strlen(v), small, 0), 0);
    /* the value length bounds the scan */
    v = "content-type,accept";
    srv_origin_allow_headers(v, 12, out, sizeof(out));
    assert_string_equal(out, "content-type");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_list_valid), cmocka_unit_test(test_origin_list_invalid),
        cmocka_unit_test(test_origin_match),      cmocka_unit_test(test_origin_list_active),
        cmocka_unit_test(test_host_list),         cmocka_unit_test(test_host_match),
        cmocka_unit_test(test_allow_headers),     cmocka_unit_test(test_origin_is_host),
    };
    return cmocka_run_group_tests_name("origin", tests, NULL, NULL);
}
