#include "test.h"
/*
 * Unit tests for sdk/reconnect.c: the backoff, attempt timing, failover choice and liveness
 * rules shared by the SDK's heartbeat and watch sockets. Time is passed in, so nothing sleeps.
 */
#include "reconnect.h"
#include "wsclient.h"

/* A jitter that is easy to check: always 10 ms less than the delay. */
static int64_t minus_ten(int64_t ms)
{
    return ms - 10;
}

static void test_backoff_doubles_and_caps(void **state)
{
    (void)state;
    assert_int_equal(artemisi_backoff_next(0), ARTEMISI_BACKOFF_MIN_MS);
    assert_int_equal(artemisi_backoff_next(200), 400);
    assert_int_equal(artemisi_backoff_next(400), 800);
    assert_int_equal(artemisi_backoff_next(6400), ARTEMISI_BACKOFF_MAX_MS);
    assert_int_equal(artemisi_backoff_next(ARTEMISI_BACKOFF_MAX_MS), ARTEMISI_BACKOFF_MAX_MS);
    /* The sequence from a fresh state: 200 400 ... 6400 10000 10000. */
    int64_t ms = 0;
    int steps = 0;
    while (ms < ARTEMISI_BACKOFF_MAX_MS) {
        ms = artemisi_backoff_next(ms);
        steps++;
    }
    assert_int_equal(steps, 7);
}

static void test_fresh_state_is_due(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    /* A new client connects at once, whatever the monotonic clock says. */
    assert_true(artemisi_reconnect_due(&r, 0));
    assert_true(artemisi_reconnect_due(&r, 123456));
}

static void test_close_backs_off(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    assert_int_equal(artemisi_reconnect_closed(&r, 1000, 5000, NULL), 0);
    assert_int_equal(r.backoff_ms, 200);
    assert_int_equal(r.next_try_ms, 5200);
    assert_false(artemisi_reconnect_due(&r, 5199));
    assert_true(artemisi_reconnect_due(&r, 5200));
    artemisi_reconnect_closed(&r, 1000, 6000, NULL);
    assert_int_equal(r.next_try_ms, 6400);
    /* The jitter spreads the delay; the un-jittered backoff keeps doubling. */
    artemisi_reconnect_closed(&r, 1000, 7000, minus_ten);
    assert_int_equal(r.backoff_ms, 800);
    assert_int_equal(r.next_try_ms, 7790);
    for (int i = 0; i < 20; i++)
        artemisi_reconnect_closed(&r, 1000, 9000, NULL);
    assert_int_equal(r.backoff_ms, ARTEMISI_BACKOFF_MAX_MS);
    assert_int_equal(r.next_try_ms, 9000 + ARTEMISI_BACKOFF_MAX_MS);
}

static void test_open_resets_backoff(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    artemisi_reconnect_closed(&r, ARTEMISI_WSC_ABNORMAL, 0, NULL);
    artemisi_reconnect_closed(&r, ARTEMISI_WSC_ABNORMAL, 0, NULL);
    assert_int_equal(r.backoff_ms, 400);
    artemisi_reconnect_opened(&r, 1000);
    assert_int_equal(r.backoff_ms, 0);
    /* The next failure starts from the smallest delay again. */
    artemisi_reconnect_closed(&r, ARTEMISI_WSC_ABNORMAL, 2000, NULL);
    assert_int_equal(r.next_try_ms, 2000 + ARTEMISI_BACKOFF_MIN_MS);
}

static void test_failover_only_when_broken(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    /* A broken connection (also connect, DNS and handshake failures) blames the server. */
    assert_int_equal(artemisi_reconnect_closed(&r, ARTEMISI_WSC_ABNORMAL, 0, NULL), 1);
    /* A close frame came from a working server: stay on it, but still back off. */
    assert_int_equal(artemisi_reconnect_closed(&r, 1000, 0, NULL), 0);
    assert_int_equal(artemisi_reconnect_closed(&r, 1001, 0, NULL), 0);
    assert_int_equal(artemisi_reconnect_closed(&r, 1011, 0, NULL), 0);
    assert_int_equal(r.backoff_ms, 1600);
}

static void test_begin_remembers_the_server(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    const char *b = artemisi_reconnect_begin(&r, "http://a:8080");
    assert_ptr_equal(b, r.base);
    assert_string_equal(r.base, "http://a:8080");
    artemisi_reconnect_begin(&r, "http://b:8080/artemis");
    assert_string_equal(r.base, "http://b:8080/artemis");
    /* A failure keeps the server of the attempt that failed, for the failover. */
    artemisi_reconnect_closed(&r, ARTEMISI_WSC_ABNORMAL, 0, NULL);
    assert_string_equal(r.base, "http://b:8080/artemis");
    /* Too long: truncated, still terminated. */
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    artemisi_reconnect_begin(&r, big);
    assert_int_equal(strlen(r.base), sizeof(r.base) - 1);
}

static void test_silence(void **state)
{
    (void)state;
    artemisi_reconnect_t r = {0};
    artemisi_reconnect_opened(&r, 10000);
    assert_false(artemisi_reconnect_silent(&r, 10000, 3000));
    assert_false(artemisi_reconnect_silent(&r, 13000, 3000)); /* exactly the limit: alive */
    assert_true(artemisi_reconnect_silent(&r, 13001, 3000));
    artemisi_reconnect_alive(&r, 12000); /* a pong */
    assert_false(artemisi_reconnect_silent(&r, 15000, 3000));
    assert_true(artemisi_reconnect_silent(&r, 15001, 3000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_and_caps),
        cmocka_unit_test(test_fresh_state_is_due),
        cmocka_unit_test(test_close_backs_off),
        cmocka_unit_test(test_open_resets_backoff),
        cmocka_unit_test(test_failover_only_when_broken),
        cmocka_unit_test(test_begin_remembers_the_server),
        cmocka_unit_test(test_silence),
    };
    return cmocka_run_group_tests_name("reconnect", tests, NULL, NULL);
}
