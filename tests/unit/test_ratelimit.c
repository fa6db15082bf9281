/*
 * Unit tests for server/ratelimit: map parsing and its errors, exact 10 s sliding-window
 * arithmetic, rejected requests not counted, time jumps, reconfiguration keeping counts,
 * per-identity separation and the 64-identity cap.
 */
#include "test.h"

#include <limits.h>

#include "ratelimit.h"

static srv_ratelimit_t *mk(int enabled, long def, const char *map)
{
    char err[128] = "";
    srv_ratelimit_t *rl = srv_ratelimit_new(enabled, def, map, err, sizeof(err));
    if (!rl)
        fail_msg("srv_ratelimit_new failed: %s", err);
    return rl;
}

static void expect_bad_map(const char *map, const char *needle)
{
    char err[128] = "";
    srv_ratelimit_t *rl = srv_ratelimit_new(1, 10, map, err, sizeof(err));
    assert_null(rl);
    if (!strstr(err, needle))
        fail_msg("map \"%s\": error \"%s\" lacks \"%s\"", map, err, needle);
    assert_null(strchr(err, '\n'));
}

static void test_map_errors(void **state)
{
    (void)state;
    expect_bad_map("register", "missing ':'");
    expect_bad_map("a:1,b", "missing ':'");
    expect_bad_map(":5", "empty identity");
    expect_bad_map("  :5", "empty identity");
    expect_bad_map("a:", "bad number");
    expect_bad_map("a:x", "bad number");
    expect_bad_map("a:12x", "bad number");
    expect_bad_map("a:1 2", "bad number");
    expect_bad_map("a:0x10", "bad number");
    expect_bad_map("a:99999999999999999999999", "bad number");
    expect_bad_map("a:0", "> 0");
    expect_bad_map("a:-3", "> 0");
    expect_bad_map("a:5,b:0", "item 2");

    /* default limit must be positive */
    char err[128] = "";
    assert_null(srv_ratelimit_new(1, 0, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "default"));
    /* err may be NULL or tiny */
    assert_null(srv_ratelimit_new(1, 10, "oops", NULL, 0));
    char tiny[4] = "xyz";
    assert_null(srv_ratelimit_new(1, 10, "oops", tiny, sizeof(tiny)));
    assert_int_equal(strlen(tiny), 3);
}

static void test_map_parse(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 30, " get-leases : 10 , get.groups:5,,get-config:7, ");
    assert_int_equal(srv_ratelimit_limit_for(rl, "get-leases"), 10);
    assert_int_equal(srv_ratelimit_limit_for(rl, "get.groups"), 5);
    assert_int_equal(srv_ratelimit_limit_for(rl, "get-config"), 7);
    assert_int_equal(srv_ratelimit_limit_for(rl, "get-cluster"), 30);
    assert_int_equal(srv_ratelimit_limit_for(rl, "GET-LEASES"), 30); /* exact match */
    srv_ratelimit_free(rl);

    rl = mk(1, 30, "a:1,a:2");
    assert_int_equal(srv_ratelimit_limit_for(rl, "a"), 2); /* last one wins */
    srv_ratelimit_free(rl);

    rl = mk(1, 30, "");
    assert_int_equal(srv_ratelimit_limit_for(rl, "x"), 30);
    srv_ratelimit_free(rl);
    rl = mk(1, 30, NULL);
    assert_int_equal(srv_ratelimit_limit_for(rl, "x"), 30);
    srv_ratelimit_free(rl);
    srv_ratelimit_free(NULL);
}

static void test_basic_limit(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 5, "get-leases:2");
    for (int i = 0; i < 5; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "register", 1, 1000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "register", 1, 1000), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, "register", 1, 1999), 0);
    assert_int_equal(srv_ratelimit_rejected(rl), 2);
    assert_int_equal(srv_ratelimit_count(rl, "register", 1999), 5);

    assert_int_equal(srv_ratelimit_acquire(rl, "get-leases", 1, 1000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "get-leases", 1, 1000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "get-leases", 1, 1000), 0);
    assert_int_equal(srv_ratelimit_rejected(rl), 3);
    /* a different identity is independent */
    assert_int_equal(srv_ratelimit_acquire(rl, "heartbeat", 1, 1000), 1);
    assert_int_equal(srv_ratelimit_count(rl, "unknown", 1000), 0);
    srv_ratelimit_free(rl);
}

static void test_window_exact(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 5, NULL);
    /* 3 in second 0, 2 in second 5 */
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 5500), 1);
    /* full up to the last millisecond of second 9 */
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 9999), 0);
    /* second 10: second 0 left the window, 3 permits free again */
    assert_int_equal(srv_ratelimit_count(rl, "op", 10000), 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 10000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 14999), 0);
    /* second 15: the two from second 5 leave */
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 15000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 15001), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 15002), 0);
    assert_int_equal(srv_ratelimit_count(rl, "op", 15002), 5);
    srv_ratelimit_free(rl);
}

static void test_rejected_not_counted(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 3, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 1);
    /* hammer for the rest of the window: all rejected and none counted */
    for (int64_t t = 0; t < 10000; t += 100)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, t), 0);
    assert_int_equal(srv_ratelimit_rejected(rl), 100);
    /* had the rejections counted, second 10 would still be full */
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 10000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 10000), 0);
    srv_ratelimit_free(rl);
}

static void test_bulk_permits(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 10, NULL);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 7, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 4, 0), 0); /* 11 > 10: none taken */
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 3, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 0, 0), 1); /* nothing asked */
    assert_int_equal(srv_ratelimit_acquire(rl, "op", -5, 0), 1);
    assert_int_equal(srv_ratelimit_count(rl, "op", 0), 10);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 11, 20000), 0); /* more than the limit */
    assert_int_equal(srv_ratelimit_count(rl, "op", 20000), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", LONG_MAX, 30000), 0); /* no overflow */
    srv_ratelimit_free(rl);
}

static void test_time_jumps(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 4, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 3000), 1);
    /* exactly 10 buckets later the same ring slot is reused: must be cleared, not added */
    for (int i = 0; i < 4; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 13000), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 13000), 0);
    /* a jump of an hour: everything old is gone */
    int64_t t = 13000 + 3600 * 1000;
    assert_int_equal(srv_ratelimit_count(rl, "op", t), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, t), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, t), 0);
    /* the clock going backwards is treated as standing still: counts are kept */
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 0);
    assert_int_equal(srv_ratelimit_count(rl, "op", 0), 4);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, t + 10000), 1);
    /* negative monotonic values are fine */
    srv_ratelimit_t *neg = mk(1, 2, NULL);
    assert_int_equal(srv_ratelimit_acquire(neg, "op", 2, -1), 1);
    assert_int_equal(srv_ratelimit_acquire(neg, "op", 1, 0), 0);
    assert_int_equal(srv_ratelimit_acquire(neg, "op", 1, 8999), 0);
    assert_int_equal(srv_ratelimit_acquire(neg, "op", 1, 9000), 1);
    srv_ratelimit_free(neg);
    srv_ratelimit_free(rl);
}

static void test_disabled(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(0, 1, NULL);
    assert_int_equal(srv_ratelimit_enabled(rl), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 1);
    assert_int_equal(srv_ratelimit_rejected(rl), 0);
    /* enabling later: nothing was counted while disabled */
    assert_int_equal(srv_ratelimit_configure(rl, 1, 1, NULL, NULL, 0), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 0);
    srv_ratelimit_free(rl);
}

static void test_configure_keeps_counts(void **state)
{
    (void)state;
    char err[128];
    srv_ratelimit_t *rl = mk(1, 5, "a:2");
    for (int i = 0; i < 5; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "a", 2, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 0), 0);

    assert_int_equal(srv_ratelimit_configure(rl, 1, 8, "a:3", err, sizeof(err)), 0);
    assert_int_equal(srv_ratelimit_limit_for(rl, "op"), 8);
    assert_int_equal(srv_ratelimit_limit_for(rl, "a"), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 500), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 500), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, "a", 1, 500), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "a", 1, 500), 0);

    /* a bad reconfiguration changes nothing */
    err[0] = '\0';
    assert_int_equal(srv_ratelimit_configure(rl, 0, 100, "a:zz", err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(srv_ratelimit_enabled(rl), 1);
    assert_int_equal(srv_ratelimit_limit_for(rl, "op"), 8);
    assert_int_equal(srv_ratelimit_limit_for(rl, "a"), 3);
    assert_int_equal(srv_ratelimit_configure(rl, 1, -1, NULL, err, sizeof(err)), -1);
    assert_int_equal(srv_ratelimit_limit_for(rl, "op"), 8);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 500), 0);

    /* lowering a limit below the current count rejects until the window drains */
    assert_int_equal(srv_ratelimit_configure(rl, 1, 4, NULL, err, sizeof(err)), 0);
    assert_int_equal(srv_ratelimit_limit_for(rl, "a"), 4);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 9999), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, "op", 1, 10000), 1);
    srv_ratelimit_free(rl);
}

static void test_identity_cap(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk(1, 2, "id-70:50");
    char name[32];
    for (int i = 0; i < SRV_RATELIMIT_MAX_IDENTITIES; i++) {
        snprintf(name, sizeof(name), "id-%d", i);
        assert_int_equal(srv_ratelimit_acquire(rl, name, 2, 0), 1);
        assert_int_equal(srv_ratelimit_acquire(rl, name, 1, 0), 0);
    }
    /* beyond the cap: one shared "other" entry with the default limit */
    assert_int_equal(srv_ratelimit_acquire(rl, "id-64", 1, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "id-70", 1, 0), 1);
    assert_int_equal(srv_ratelimit_acquire(rl, "id-99", 1, 0), 0);
    assert_int_equal(srv_ratelimit_acquire(rl, NULL, 1, 0), 0);
    assert_int_equal(srv_ratelimit_count(rl, "id-80", 0), 2);
    /* the configured value is still reported */
    assert_int_equal(srv_ratelimit_limit_for(rl, "id-70"), 50);
    /* existing identities keep their own entries */
    assert_int_equal(srv_ratelimit_acquire(rl, "id-3", 1, 10000), 1);
    assert_int_equal(srv_ratelimit_count(rl, "id-3", 10000), 1);
    srv_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_map_parse),
        cmocka_unit_test(test_basic_limit),
        cmocka_unit_test(test_window_exact),
        cmocka_unit_test(test_rejected_not_counted),
        cmocka_unit_test(test_bulk_permits),
        cmocka_unit_test(test_time_jumps),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_configure_keeps_counts),
        cmocka_unit_test(test_identity_cap),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
