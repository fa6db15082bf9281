#include "test.h"
/*
 * libartemis config builder: defaults, every setter's bounds (refused values change
 * nothing), server-list normalisation, and the deep copy the client keeps.
 */
#include "artemis/artemis.h"
#include "config_int.h"

static void test_defaults(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    assert_non_null(c);
    assert_int_equal(c->n_servers, 1);
    assert_string_equal(c->servers[0], "http://127.0.0.1:8080");
    assert_string_equal(c->region, "default");
    assert_string_equal(c->zone, "default");
    assert_int_equal(c->mode, ARTEMIS_MODE_THREADED);
    assert_int_equal(c->heartbeat_interval_ms, 5000);
    assert_int_equal(c->request_timeout_ms, 2000);
    assert_int_equal(c->connect_timeout_ms, 1000);
    assert_int_equal(c->poll_interval_ms, 60000);
    assert_int_equal(c->node_refresh_ms, 300000);
    assert_null(c->cache_dir);
    assert_int_equal(c->empty_confirm_ms, 30000);
    assert_int_equal(c->log_level, ARTEMIS_LOG_WARN);
    assert_null(c->log_cb);
    assert_null(c->log_ud);
    artemis_config_free(c);
    artemis_config_free(NULL);
}

static void test_null_cfg(void **state)
{
    (void)state;
    assert_int_equal(artemis_config_set_servers(NULL, "http://a"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_region(NULL, "r"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_zone(NULL, "z"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_mode(NULL, ARTEMIS_MODE_THREADED), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_heartbeat_interval_ms(NULL, 5000), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_request_timeout_ms(NULL, 2000), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_poll_interval_ms(NULL, 60000), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_cache_dir(NULL, "/tmp"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_log_cb(NULL, NULL, NULL), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_log_level(NULL, ARTEMIS_LOG_INFO), ARTEMIS_ERR_INVALID_ARG);
    assert_null(artemisi_config_dup(NULL));
}

typedef artemis_err_t (*ms_setter)(artemis_config_t *, int64_t);

static void check_range(ms_setter set, size_t off, int64_t lo, int64_t hi)
{
    artemis_config_t *c = artemis_config_new();
    int64_t *field = (int64_t *)(void *)((char *)c + off);
    int64_t before = *field;
    const int64_t bad[] = {lo - 1, hi + 1, 0, -1, INT64_MIN, INT64_MAX};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i] >= lo && bad[i] <= hi)
            continue;
        assert_int_equal(set(c, bad[i]), ARTEMIS_ERR_INVALID_ARG);
        assert_int_equal(*field, before);
    }
    assert_int_equal(set(c, lo), ARTEMIS_OK);
    assert_int_equal(*field, lo);
    assert_int_equal(set(c, hi), ARTEMIS_OK);
    assert_int_equal(*field, hi);
    assert_int_equal(set(c, lo + 1), ARTEMIS_OK);
    assert_int_equal(*field, lo + 1);
    assert_int_equal(set(c, hi + 1), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(*field, lo + 1);
    artemis_config_free(c);
}

static void test_ms_ranges(void **state)
{
    (void)state;
    check_range(artemis_config_set_heartbeat_interval_ms,
                offsetof(artemis_config_t, heartbeat_interval_ms), 500, 300000);
    check_range(artemis_config_set_request_timeout_ms,
                offsetof(artemis_config_t, request_timeout_ms), 50, 60000);
    check_range(artemis_config_set_poll_interval_ms, offsetof(artemis_config_t, poll_interval_ms),
                1000, 86400000);
}

static void test_mode_and_level(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    assert_int_equal(artemis_config_set_mode(c, ARTEMIS_MODE_EXTERNAL_LOOP), ARTEMIS_OK);
    assert_int_equal(c->mode, ARTEMIS_MODE_EXTERNAL_LOOP);
    assert_int_equal(artemis_config_set_mode(c, (artemis_mode_t)2), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_mode(c, (artemis_mode_t)-1), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(c->mode, ARTEMIS_MODE_EXTERNAL_LOOP);
    assert_int_equal(artemis_config_set_mode(c, ARTEMIS_MODE_THREADED), ARTEMIS_OK);
    assert_int_equal(c->mode, ARTEMIS_MODE_THREADED);

    assert_int_equal(artemis_config_set_log_level(c, ARTEMIS_LOG_DEBUG), ARTEMIS_OK);
    assert_int_equal(c->log_level, ARTEMIS_LOG_DEBUG);
    assert_int_equal(artemis_config_set_log_level(c, ARTEMIS_LOG_NONE), ARTEMIS_OK);
    assert_int_equal(c->log_level, ARTEMIS_LOG_NONE);
    assert_int_equal(artemis_config_set_log_level(c, (artemis_log_level_t)5),
                     ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_log_level(c, (artemis_log_level_t)-1),
                     ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(c->log_level, ARTEMIS_LOG_NONE);
    artemis_config_free(c);
}

static void dummy_cb(void *ud, artemis_log_level_t l, const char *m, const char *msg)
{
    (void)ud;
    (void)l;
    (void)m;
    (void)msg;
}

static void test_log_cb(void **state)
{
    (void)state;
    int ud;
    artemis_config_t *c = artemis_config_new();
    assert_int_equal(artemis_config_set_log_cb(c, dummy_cb, &ud), ARTEMIS_OK);
    assert_ptr_equal(c->log_cb, dummy_cb);
    assert_ptr_equal(c->log_ud, &ud);
    assert_int_equal(artemis_config_set_log_cb(c, NULL, &ud), ARTEMIS_OK);
    assert_null(c->log_cb);
    artemis_config_free(c);
}

static void test_region_zone(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    char s128[129], s129[130];
    memset(s128, 'r', 128);
    s128[128] = '\0';
    memset(s129, 'r', 129);
    s129[129] = '\0';
    const char *bad[] = {NULL, "", "a b", " a", "a\t", "a\n", "a\x7f", s129};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(artemis_config_set_region(c, bad[i]), ARTEMIS_ERR_INVALID_ARG);
        assert_int_equal(artemis_config_set_zone(c, bad[i]), ARTEMIS_ERR_INVALID_ARG);
        assert_string_equal(c->region, "default");
        assert_string_equal(c->zone, "default");
    }
    assert_int_equal(artemis_config_set_region(c, "x"), ARTEMIS_OK);
    assert_string_equal(c->region, "x");
    assert_int_equal(artemis_config_set_region(c, s128), ARTEMIS_OK);
    assert_string_equal(c->region, s128);
    assert_int_equal(artemis_config_set_zone(c, "zone-1.a_b"), ARTEMIS_OK);
    assert_string_equal(c->zone, "zone-1.a_b");
    assert_int_equal(artemis_config_set_zone(c, s128), ARTEMIS_OK);
    assert_string_equal(c->zone, s128);
    artemis_config_free(c);
}

static void test_cache_dir(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    assert_int_equal(artemis_config_set_cache_dir(c, "/var/cache/app"), ARTEMIS_OK);
    assert_string_equal(c->cache_dir, "/var/cache/app");
    assert_int_equal(artemis_config_set_cache_dir(c, ""), ARTEMIS_ERR_INVALID_ARG);
    assert_string_equal(c->cache_dir, "/var/cache/app");
    assert_int_equal(artemis_config_set_cache_dir(c, "rel/dir"), ARTEMIS_OK);
    assert_string_equal(c->cache_dir, "rel/dir");
    assert_int_equal(artemis_config_set_cache_dir(c, NULL), ARTEMIS_OK);
    assert_null(c->cache_dir);
    artemis_config_free(c);
}

static void test_token(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    assert_null(c->token); /* none by default */
    assert_int_equal(artemis_config_set_token(c, "tok-0123456789abcdef"), ARTEMIS_OK);
    assert_string_equal(c->token, "tok-0123456789abcdef");
    /* A line break would inject headers; a space never matches a tokens-file entry. */
    assert_int_equal(artemis_config_set_token(c, "tok\r\nX-Evil: 1"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_config_set_token(c, "two words"), ARTEMIS_ERR_INVALID_ARG);
    assert_string_equal(c->token, "tok-0123456789abcdef");
    artemis_config_t *d = artemisi_config_dup(c);
    assert_non_null(d);
    assert_string_equal(d->token, "tok-0123456789abcdef");
    artemis_config_free(d);
    assert_int_equal(artemis_config_set_token(c, ""), ARTEMIS_OK);
    assert_null(c->token);
    assert_int_equal(artemis_config_set_token(NULL, "x"), ARTEMIS_ERR_INVALID_ARG);
    artemis_config_free(c);
}

static void expect_servers(artemis_config_t *c, const char *in, const char *const *want, size_t n)
{
    assert_int_equal(artemis_config_set_servers(c, in), ARTEMIS_OK);
    assert_int_equal(c->n_servers, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->servers[i], want[i]);
}

static void test_servers_normalise(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    {
        const char *w[] = {"http://10.0.0.1:8080", "https://b.example:443/api"};
        expect_servers(c, "  http://10.0.0.1:8080/ ,\thttps://b.example:443/api//  ", w, 2);
    }
    {
        const char *w[] = {"http://a:1", "http://b:2"};
        expect_servers(c, "http://a:1,http://b:2,http://a:1/,  http://a:1  ,HTTP://A:1", w, 2);
    }
    {
        const char *w[] = {"http://a", "http://b"};
        expect_servers(c, ",,http://a,, ,http://b,", w, 2);
    }
    {
        const char *w[] = {"https://host.example/Base/Path"};
        expect_servers(c, "HTTPS://Host.Example/Base/Path/", w, 1);
    }
    {
        const char *w[] = {"http://[::1]:8080", "http://[fe80::1]"};
        expect_servers(c, "http://[::1]:8080/,http://[fe80::1]", w, 2);
    }
    {
        const char *w[] = {"http://h:65535", "http://h:1"};
        expect_servers(c, "http://h:65535,http://h:1", w, 2);
    }
    artemis_config_free(c);
}

static void test_servers_bad(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    const char *bad[] = {
        NULL,
        "",
        " ",
        ",,,",
        "ftp://a:21",
        "a:8080",
        "//a:8080",
        "http//a",
        "http://",
        "http:///path",
        "http://:8080",
        "http://a:0",
        "http://a:65536",
        "http://a:80x",
        "http://a:",
        "http://a:123456",
        "http://user@a",
        "http://a/p?q=1",
        "http://a/#frag",
        "http://a b",
        "http://a/p q",
        "http://[::1",
        "http://[]:80",
        "http://[::1]x",
        "http://a:1:2",
        "http://good:1,ws://bad:2",
        "http://good:1, http://bad\x01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(artemis_config_set_servers(c, bad[i]), ARTEMIS_ERR_INVALID_ARG);
        assert_int_equal(c->n_servers, 1);
        assert_string_equal(c->servers[0], "http://127.0.0.1:8080");
    }
    artemis_config_free(c);
}

static void test_servers_64(void **state)
{
    (void)state;
    artemis_config_t *c = artemis_config_new();
    char list[64 * 64] = "";
    char want[40];
    size_t off = 0;

    for (int i = 0; i < 64; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%shttp://10.0.%d.%d:%d/",
                                i ? "," : "", i / 8, i % 8, 8000 + i);
    /* every entry once more, as duplicates */
    for (int i = 0; i < 64; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, ",http://10.0.%d.%d:%d", i / 8,
                                i % 8, 8000 + i);
    assert_true(off < sizeof(list));
    assert_int_equal(artemis_config_set_servers(c, list), ARTEMIS_OK);
    assert_int_equal(c->n_servers, 64);
    for (int i = 0; i < 64; i++) {
        snprintf(want, sizeof(want), "http://10.0.%d.%d:%d", i / 8, i % 8, 8000 + i);
        assert_string_equal(c->servers[i], want);
    }
    artemis_config_free(c);
}

static void test_dup_independent(void **state)
{
    (void)state;
    int ud;
    artemis_config_t *c = artemis_config_new();
    assert_int_equal(artemis_config_set_servers(c, "http://a:1,https://b:2/x"), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_region(c, "r1"), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_zone(c, "z1"), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_cache_dir(c, "/tmp/cache"), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_heartbeat_interval_ms(c, 1000), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_log_cb(c, dummy_cb, &ud), ARTEMIS_OK);
    assert_int_equal(artemis_config_set_log_level(c, ARTEMIS_LOG_DEBUG), ARTEMIS_OK);

    artemis_config_t *d = artemisi_config_dup(c);
    assert_non_null(d);
    assert_ptr_not_equal(d->servers, c->servers);
    assert_ptr_not_equal(d->servers[0], c->servers[0]);
    assert_ptr_not_equal(d->region, c->region);
    assert_ptr_not_equal(d->cache_dir, c->cache_dir);
    /* the copy ignores later changes, and outlives the original */
    assert_int_equal(artemis_config_set_servers(c, "http://other"), ARTEMIS_OK);
    artemis_config_free(c);

    assert_int_equal(d->n_servers, 2);
    assert_string_equal(d->servers[0], "http://a:1");
    assert_string_equal(d->servers[1], "https://b:2/x");
    assert_string_equal(d->region, "r1");
    assert_string_equal(d->zone, "z1");
    assert_string_equal(d->cache_dir, "/tmp/cache");
    assert_int_equal(d->heartbeat_interval_ms, 1000);
    assert_int_equal(d->connect_timeout_ms, 1000);
    assert_int_equal(d->node_refresh_ms, 300000);
    assert_int_equal(d->empty_confirm_ms, 30000);
    assert_ptr_equal(d->log_cb, dummy_cb);
    assert_ptr_equal(d->log_ud, &ud);
    assert_int_equal(d->log_level, ARTEMIS_LOG_DEBUG);

    /* a copy of a copy, with no cache dir */
    assert_int_equal(artemis_config_set_cache_dir(d, NULL), ARTEMIS_OK);
    artemis_config_t *e = artemisi_config_dup(d);
    artemis_config_free(d);
    assert_non_null(e);
    assert_null(e->cache_dir);
    assert_string_equal(e->servers[1], "https://b:2/x");
    artemis_config_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_null_cfg),
        cmocka_unit_test(test_ms_ranges),
        cmocka_unit_test(test_mode_and_level),
        cmocka_unit_test(test_log_cb),
        cmocka_unit_test(test_region_zone),
        cmocka_unit_test(test_cache_dir),
        cmocka_unit_test(test_servers_normalise),
        cmocka_unit_test(test_servers_bad),
        cmocka_unit_test(test_servers_64),
        cmocka_unit_test(test_dup_independent),
    };
    return cmocka_run_group_tests_name("sdk_config", tests, NULL, NULL);
}
