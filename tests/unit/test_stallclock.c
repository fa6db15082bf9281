/*
 * Unit tests for server/stallclock: regular reads pass raw time through, a gap longer than
 * the threshold is taken out but for threshold_ms, a gap of exactly the threshold is not a
 * stall, raw time going backwards stands still, a threshold below 1 is taken as 1, and
 * several stalls accumulate.
 */
#include "test.h"

#include "stallclock.h"

static void test_regular_reads(void **state)
{
    (void)state;
    srv_stallclock_t c;
    int64_t start = 123456789;
    srv_stallclock_init(&c, 1000, start);
    assert_int_equal(c.threshold_ms, 1000);
    assert_int_equal(c.offset_ms, 0);
    assert_int_equal(c.stalls, 0);
    assert_int_equal(c.longest_ms, 0);
    /* Ten minutes of reads every 100 ms: never a stall, the clock is raw time. */
    for (int64_t t = start; t <= start + 600000; t += 100) {
        assert_int_equal(srv_stallclock_read(&c, t), t);
        assert_int_equal(c.last_raw, t);
    }
    assert_int_equal(c.stalls, 0);
    assert_int_equal(c.offset_ms, 0);
    /* Reading twice at the same raw time is fine too. */
    assert_int_equal(srv_stallclock_read(&c, start + 600000), start + 600000);
    assert_int_equal(c.stalls, 0);
}

static void test_one_stall(void **state)
{
    (void)state;
    srv_stallclock_t c;
    srv_stallclock_init(&c, 1000, 0);
    int64_t t = 0;
    for (; t <= 5000; t += 100)
        assert_int_equal(srv_stallclock_read(&c, t), t);
    t -= 100; /* last read: 5000 */
    int64_t before = srv_stallclock_read(&c, t);
    /* A 25 s SIGSTOP: the lease clock advances by the threshold only. */
    int64_t after = srv_stallclock_read(&c, t + 25000);
    assert_int_equal(after - before, 1000);
    assert_int_equal(c.stalls, 1);
    assert_int_equal(c.longest_ms, 25000);
    assert_int_equal(c.offset_ms, 24000);
    /* Afterwards the clock runs at raw speed again, minus the offset. */
    for (int64_t r = t + 25100; r <= t + 30000; r += 100)
        assert_int_equal(srv_stallclock_read(&c, r), r - 24000);
    assert_int_equal(c.stalls, 1);
}

static void test_gap_equal_threshold(void **state)
{
    (void)state;
    srv_stallclock_t c;
    srv_stallclock_init(&c, 1000, 0);
    assert_int_equal(srv_stallclock_read(&c, 1000), 1000); /* exactly the threshold */
    assert_int_equal(c.stalls, 0);
    assert_int_equal(c.offset_ms, 0);
    assert_int_equal(srv_stallclock_read(&c, 2000), 2000);
    assert_int_equal(c.stalls, 0);
    /* One millisecond more is a stall, and only that millisecond is taken out. */
    assert_int_equal(srv_stallclock_read(&c, 3001), 3000);
    assert_int_equal(c.stalls, 1);
    assert_int_equal(c.offset_ms, 1);
    assert_int_equal(c.longest_ms, 1001);
}

static void test_backwards(void **state)
{
    (void)state;
    srv_stallclock_t c;
    srv_stallclock_init(&c, 1000, 10000);
    assert_int_equal(srv_stallclock_read(&c, 10500), 10500);
    /* Raw time goes back: the clock stands still, never decreases. */
    assert_int_equal(srv_stallclock_read(&c, 9000), 10500);
    assert_int_equal(srv_stallclock_read(&c, 0), 10500);
    assert_int_equal(srv_stallclock_read(&c, -5000000), 10500);
    assert_int_equal(c.last_raw, 10500);
    assert_int_equal(c.stalls, 0);
    assert_int_equal(c.offset_ms, 0);
    /* And continues from the newest read, not from the backwards value (no false stall). */
    assert_int_equal(srv_stallclock_read(&c, 10600), 10600);
    assert_int_equal(c.stalls, 0);
    /* Monotonic over a mixed sequence, with a stall in it. */
    int64_t raw[] = {10700, 10650, 20000, 19000, 20100, 20050, 40000, 40100};
    int64_t prev = 10600;
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        int64_t v = srv_stallclock_read(&c, raw[i]);
        assert_true(v >= prev);
        assert_true(v - prev <= 1000);
        prev = v;
    }
    assert_int_equal(c.stalls, 2);
}

static void test_threshold_floor(void **state)
{
    (void)state;
    srv_stallclock_t c;
    srv_stallclock_init(&c, 0, 0);
    assert_int_equal(c.threshold_ms, 1);
    srv_stallclock_init(&c, -50, 0);
    assert_int_equal(c.threshold_ms, 1);
    /* Every gap above 1 ms is a stall: the clock moves by at most 1 ms per read. */
    assert_int_equal(srv_stallclock_read(&c, 1), 1);
    assert_int_equal(c.stalls, 0);
    assert_int_equal(srv_stallclock_read(&c, 2), 2);
    assert_int_equal(srv_stallclock_read(&c, 102), 3);
    assert_int_equal(c.stalls, 1);
    assert_int_equal(c.offset_ms, 99);
    srv_stallclock_init(&c, 1, 0);
    assert_int_equal(c.threshold_ms, 1);
}

static void test_stalls_accumulate(void **state)
{
    (void)state;
    srv_stallclock_t c;
    srv_stallclock_init(&c, 1000, 0);
    assert_int_equal(srv_stallclock_read(&c, 100), 100);
    assert_int_equal(srv_stallclock_read(&c, 5100), 1100); /* gap 5000: -4000 */
    assert_int_equal(srv_stallclock_read(&c, 5200), 1200);
    assert_int_equal(srv_stallclock_read(&c, 35200), 2200); /* gap 30000: -29000 */
    assert_int_equal(srv_stallclock_read(&c, 35300), 2300);
    assert_int_equal(srv_stallclock_read(&c, 37300), 3300); /* gap 2000: -1000 */
    assert_int_equal(c.stalls, 3);
    assert_int_equal(c.offset_ms, 4000 + 29000 + 1000);
    assert_int_equal(c.longest_ms, 30000); /* the longest, not the latest */
    assert_int_equal(srv_stallclock_read(&c, 37400), 37400 - 34000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_reads),       cmocka_unit_test(test_one_stall),
        cmocka_unit_test(test_gap_equal_threshold), cmocka_unit_test(test_backwards),
        cmocka_unit_test(test_threshold_floor),     cmocka_unit_test(test_stalls_accumulate),
    };
    return cmocka_run_group_tests_name("stallclock", tests, NULL, NULL);
}
