/*
 * Unit tests for server/selfpres: warm-up, the threshold edge, protection on and off, the
 * bounded protection and its re-arm, the baseline following the lease count (down at once, up
 * after a window), time jumps and a clock going backwards, disabled, small clusters below
 * min_expected, and configuration correction.
 */
#include "test.h"

#include "selfpres.h"

static srv_selfpres_config_t defaults(void)
{
    srv_selfpres_config_t c;
    srv_selfpres_config_init(&c);
    return c;
}

/* Seconds [from_s, to_s): `rate` renewals at s+100 ms, then a tick at s+500 ms with `live`.
 * Returns how many of those ticks ended with protection on. */
static int run(srv_selfpres_t *sp, int64_t from_s, int64_t to_s, long rate, size_t live)
{
    int on = 0;
    for (int64_t s = from_s; s < to_s; s++) {
        for (long i = 0; i < rate; i++)
            srv_selfpres_renewal(sp, s * 1000 + 100);
        srv_selfpres_tick(sp, s * 1000 + 500, live);
        on += srv_selfpres_active(sp);
        assert_int_equal(srv_selfpres_allow_expiry(sp), !srv_selfpres_active(sp));
    }
    return on;
}

static void test_defaults(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    assert_int_equal(c.enabled, 1);
    assert_int_equal(c.window_ms, 12000);
    assert_int_equal(c.percentage_threshold, 85);
    assert_int_equal(c.min_expected, 50);
    assert_int_equal(c.max_protection_ms, 300000);
    assert_int_equal(c.heartbeat_interval_ms, 5000);

    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(srv_selfpres_allow_expiry(&sp), 1);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_exhausted(&sp), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 0);
    assert_int_equal(srv_selfpres_window_count(&sp, 0), 0);
    assert_int_equal(srv_selfpres_active_since(&sp), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 0);
}

static void test_config_correction(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    c.window_ms = 5000;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(sp.cfg.window_ms, 10000);
    c.window_ms = 12345;
    srv_selfpres_configure(&sp, &c, 0);
    assert_int_equal(sp.cfg.window_ms, 12000);
    c.window_ms = 999999;
    c.percentage_threshold = 150;
    c.min_expected = -1;
    c.max_protection_ms = -5;
    c.heartbeat_interval_ms = 0;
    srv_selfpres_configure(&sp, &c, 0);
    assert_int_equal(sp.cfg.window_ms, 300000);
    assert_int_equal(sp.cfg.percentage_threshold, 100);
    assert_int_equal(sp.cfg.min_expected, 0);
    assert_int_equal(sp.cfg.max_protection_ms, 0);
    assert_int_equal(sp.cfg.heartbeat_interval_ms, 1);
    /* huge lease counts saturate instead of overflowing */
    srv_selfpres_tick(&sp, 1000, SIZE_MAX);
    assert_true(srv_selfpres_expected(&sp) > 0);
}

static void test_warmup(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    /* no renewals at all for 100 leases: still safe for the whole first window */
    for (int64_t t = 0; t < 13000; t += 250) {
        srv_selfpres_tick(&sp, t, 100);
        assert_int_equal(srv_selfpres_allow_expiry(&sp), 1);
    }
    assert_int_equal(srv_selfpres_expected(&sp), 240);
    /* second 13: seconds 1..12 are whole seconds after init, a decision is taken */
    srv_selfpres_tick(&sp, 13000, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    assert_int_equal(srv_selfpres_active_since(&sp), 13000);
    assert_int_equal(srv_selfpres_activations(&sp), 1);

    /* init in the middle of a second: that partial second is not used either */
    srv_selfpres_init(&sp, &c, 500);
    srv_selfpres_tick(&sp, 12999, 100);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    srv_selfpres_tick(&sp, 13000, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
}

static void test_healthy_steady(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    /* 100 leases heartbeating every 5 s = 20 renewals a second */
    assert_int_equal(run(&sp, 0, 120, 20, 100), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 240);
    assert_int_equal(srv_selfpres_window_count(&sp, 119500), 240);
    /* the current, partial second is not in the window */
    srv_selfpres_renewal(&sp, 119900);
    assert_int_equal(srv_selfpres_window_count(&sp, 119900), 240);
    assert_int_equal(srv_selfpres_window_count(&sp, 120000), 241);
    assert_int_equal(srv_selfpres_activations(&sp), 0);
}

/* Seconds 1..12 hold `total` renewals; tick at 13.5 s with 100 leases (expected 240). */
static int active_with_total(long total)
{
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    for (long i = 0; i < total; i++)
        srv_selfpres_renewal(&sp, (1 + i % 12) * 1000 + 300);
    srv_selfpres_renewal(&sp, 13100); /* current second: ignored */
    srv_selfpres_tick(&sp, 13500, 100);
    assert_int_equal(srv_selfpres_window_count(&sp, 13500), total);
    assert_int_equal(srv_selfpres_expected(&sp), 240);
    return srv_selfpres_active(&sp);
}

static void test_threshold_edge(void **state)
{
    (void)state;
    /* 85 % of 240 = 204 */
    assert_int_equal(active_with_total(204), 0);
    assert_int_equal(active_with_total(203), 1);
    assert_int_equal(active_with_total(240), 0);
    assert_int_equal(active_with_total(0), 1);
}

static void test_on_and_off(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 60, 20, 100), 0);
    /* network split: 60 % of the heartbeats stop arriving */
    run(&sp, 60, 62, 8, 100);
    assert_int_equal(srv_selfpres_active(&sp), 0); /* 2 s of loss is within the margin */
    run(&sp, 62, 80, 8, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    assert_int_equal(srv_selfpres_allow_expiry(&sp), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 1);
    int64_t since = srv_selfpres_active_since(&sp);
    assert_true(since > 62000 && since < 70000);
    /* the split heals */
    run(&sp, 80, 100, 20, 100);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_active_since(&sp), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 1);
    /* and happens again: a second activation */
    run(&sp, 100, 130, 0, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    assert_int_equal(srv_selfpres_activations(&sp), 2);
}

static void test_bounded_protection(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    c.max_protection_ms = 60000;
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    run(&sp, 0, 30, 20, 100);
    /* mass kill -9: nobody heartbeats any more, the 100 leases are kept (not evicted) */
    run(&sp, 30, 40, 0, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    int64_t since = srv_selfpres_active_since(&sp);
    int64_t since_s = since / 1000;
    /* protection holds until max_protection_ms, then expiry resumes */
    assert_int_equal(run(&sp, 40, since_s + 60, 0, 100), since_s + 60 - 40);
    run(&sp, since_s + 60, since_s + 61, 0, 100);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_allow_expiry(&sp), 1);
    assert_int_equal(srv_selfpres_exhausted(&sp), 1);
    assert_int_equal(srv_selfpres_active_since(&sp), 0);
    /* and stays off while the rate stays low, however long */
    assert_int_equal(run(&sp, since_s + 61, since_s + 3600, 0, 100), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 1);
    assert_int_equal(srv_selfpres_exhausted(&sp), 1);

    /* the cleaner evicts the dead: the baseline falls with the lease count, the cluster is
     * now small: no decision, still safe, still exhausted */
    int64_t t = since_s + 3600;
    run(&sp, t, t + 20, 0, 0);
    assert_int_equal(srv_selfpres_expected(&sp), 0);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_exhausted(&sp), 1);
    /* the fleet comes back and heartbeats normally: the rate has recovered, re-armed */
    t += 20;
    assert_int_equal(run(&sp, t, t + 30, 20, 100), 0);
    assert_int_equal(srv_selfpres_exhausted(&sp), 0);
    /* a new failure is protected against again */
    t += 30;
    run(&sp, t, t + 10, 0, 100);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    assert_int_equal(srv_selfpres_activations(&sp), 2);
}

static void test_rearm_by_eviction(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    c.max_protection_ms = 30000;
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    run(&sp, 0, 30, 40, 200);
    /* 150 of 200 die; 50 survivors keep heartbeating (10/s) */
    run(&sp, 30, 50, 10, 200);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    run(&sp, 50, 80, 10, 200);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_exhausted(&sp), 1);
    /* expiry resumed: the 150 dead are evicted, the baseline is the 50 survivors
     * (expected 120 >= min 50), whose rate is full: re-armed at once */
    run(&sp, 80, 81, 10, 50);
    assert_int_equal(srv_selfpres_expected(&sp), 120);
    assert_int_equal(srv_selfpres_exhausted(&sp), 0);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(run(&sp, 81, 200, 10, 50), 0);
}

static void test_max_protection_zero(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    c.max_protection_ms = 0;
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 60, 0, 100), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 1);
    assert_int_equal(srv_selfpres_exhausted(&sp), 1);
}

static void test_baseline_follows_leases(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    run(&sp, 0, 30, 40, 200);
    assert_int_equal(srv_selfpres_expected(&sp), 480);
    /* a scale-down: 150 instances unregister; the baseline shrinks at the very next tick and
     * the lower renewal rate of the remaining 50 never looks like a failure (Eureka #2407) */
    run(&sp, 30, 31, 10, 50);
    assert_int_equal(srv_selfpres_expected(&sp), 120);
    assert_int_equal(run(&sp, 31, 120, 10, 50), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 0);

    /* a mass registration: 250 new leases over 5 s (50 a second, e.g. a deployment), each
     * heartbeating from 5 s after it registered. A lease joins the baseline only after a full
     * window, when it has had time to heartbeat, so this is not taken for a failure (with the
     * plain current count, expected would be 720 against 120 renewals at once). */
    for (int i = 0; i < 5; i++)
        assert_int_equal(run(&sp, 120 + i, 121 + i, 10, (size_t)(100 + 50 * i)), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 120);
    assert_int_equal(run(&sp, 125, 132, 60, 300), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 120);
    assert_int_equal(run(&sp, 132, 133, 60, 300), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 240);
    assert_int_equal(run(&sp, 133, 200, 60, 300), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 720);
    assert_int_equal(srv_selfpres_activations(&sp), 0);

    /* eviction of dead leases also lowers the baseline at once */
    run(&sp, 200, 260, 0, 300);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    run(&sp, 260, 261, 0, 0);
    assert_int_equal(srv_selfpres_expected(&sp), 0);
    assert_int_equal(srv_selfpres_active(&sp), 0);
}

static void test_time_jumps(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    run(&sp, 0, 30, 20, 100);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    /* the loop stalled for 60 s (or the process was stopped): nobody could renew, every
     * lease looks expired through no fault of the clients -> protect */
    srv_selfpres_tick(&sp, 90500, 100);
    assert_int_equal(srv_selfpres_window_count(&sp, 90500), 0);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    assert_int_equal(srv_selfpres_active_since(&sp), 90500);
    /* heartbeats resume: protection ends once the window is full again */
    assert_true(run(&sp, 91, 110, 20, 100) > 0);
    assert_int_equal(srv_selfpres_active(&sp), 0);

    /* a jump far beyond the ring: no stale bucket is read back */
    int64_t far = 110 + 3 * SRV_SELFPRES_RING + 7;
    assert_int_equal(srv_selfpres_window_count(&sp, far * 1000), 0);
    /* exactly one ring later every slot holds an old second: nothing is counted */
    int64_t ring_later = 109 + SRV_SELFPRES_RING;
    assert_int_equal(srv_selfpres_window_count(&sp, ring_later * 1000), 0);

    /* the clock going backwards is treated as standing still */
    long before = srv_selfpres_window_count(&sp, 109500);
    srv_selfpres_renewal(&sp, 50000);
    srv_selfpres_tick(&sp, 50000, 100);
    assert_int_equal(srv_selfpres_window_count(&sp, 109500), before);
    assert_int_equal(srv_selfpres_window_count(&sp, 110000), 241); /* counted at 109.5 s */
    assert_int_equal(srv_selfpres_active(&sp), 0);
}

static void test_disabled(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    c.enabled = 0;
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 60, 0, 1000), 0);
    assert_int_equal(srv_selfpres_activations(&sp), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 2400); /* still reported */

    /* enabled at run time: the data was collected all along, a decision at the next tick */
    c.enabled = 1;
    srv_selfpres_configure(&sp, &c, 60000);
    run(&sp, 60, 61, 0, 1000);
    assert_int_equal(srv_selfpres_active(&sp), 1);
    /* disabled while protecting: off at once */
    c.enabled = 0;
    srv_selfpres_configure(&sp, &c, 61500);
    assert_int_equal(srv_selfpres_active(&sp), 0);
    assert_int_equal(srv_selfpres_allow_expiry(&sp), 1);
    assert_int_equal(srv_selfpres_active_since(&sp), 0);
    assert_int_equal(run(&sp, 61, 100, 0, 1000), 0);
}

static void test_small_cluster(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    /* 20 leases: expected 48 < 50 -> never a decision, even with no renewals */
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 100, 0, 20), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 48);
    /* 21 leases: expected 50 -> decisions are taken */
    srv_selfpres_init(&sp, &c, 0);
    assert_true(run(&sp, 0, 100, 0, 21) > 0);
    assert_int_equal(srv_selfpres_expected(&sp), 50);
    /* no leases at all */
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 100, 0, 0), 0);
    /* min_expected 0 and no leases: 0 renewals of 0 expected is healthy */
    c.min_expected = 0;
    srv_selfpres_init(&sp, &c, 0);
    assert_int_equal(run(&sp, 0, 100, 0, 0), 0);
}

static void test_window_change(void **state)
{
    (void)state;
    srv_selfpres_config_t c = defaults();
    srv_selfpres_t sp;
    srv_selfpres_init(&sp, &c, 0);
    run(&sp, 0, 100, 20, 100);
    assert_int_equal(srv_selfpres_window_count(&sp, 100000), 240);
    /* a larger window is exact at once: the ring kept the older seconds */
    c.window_ms = 60000;
    srv_selfpres_configure(&sp, &c, 100000);
    assert_int_equal(srv_selfpres_window_count(&sp, 100000), 1200);
    assert_int_equal(run(&sp, 100, 101, 20, 100), 0);
    assert_int_equal(srv_selfpres_expected(&sp), 1200);
    /* a window longer than the uptime waits for data: safe */
    c.window_ms = 300000;
    srv_selfpres_configure(&sp, &c, 101000);
    assert_int_equal(run(&sp, 101, 120, 0, 100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_config_correction),
        cmocka_unit_test(test_warmup),
        cmocka_unit_test(test_healthy_steady),
        cmocka_unit_test(test_threshold_edge),
        cmocka_unit_test(test_on_and_off),
        cmocka_unit_test(test_bounded_protection),
        cmocka_unit_test(test_rearm_by_eviction),
        cmocka_unit_test(test_max_protection_zero),
        cmocka_unit_test(test_baseline_follows_leases),
        cmocka_unit_test(test_time_jumps),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_small_cluster),
        cmocka_unit_test(test_window_change),
    };
    return cmocka_run_group_tests_name("selfpres", tests, NULL, NULL);
}
