/*
 * Unit tests for the SDK's service cache (sdk/cache.c): full and incremental updates,
 * case-insensitive keys, reload signalling, empty-push protection with its confirmation
 * window, stale marking, snapshot lifetimes across swaps, and a reader/writer stress run
 * (meant for the ASan and TSan builds).
 */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <jansson.h>

#include "artemis/service.h"
#include "cache.h"
#include "sdk_int.h"

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s (%s)", e.text, s);
    return j;
}

/* A Service with instances i0..i(n-1). */
static json_t *service(const char *id, int n)
{
    json_t *insts = json_array();
    for (int i = 0; i < n; i++) {
        char iid[32];
        snprintf(iid, sizeof(iid), "i%d", i);
        json_array_append_new(insts,
                              json_pack("{s:s, s:s, s:s, s:s, s:i}", "instanceId", iid, "serviceId",
                                        id, "regionId", "sha", "status", "up", "port", 80 + i));
    }
    return json_pack("{s:s, s:o}", "serviceId", id, "instances", insts);
}

static int full(artemisi_cache_t *c, const char *id, int n, int64_t now)
{
    json_t *s = service(id, n);
    int rc = artemisi_cache_apply_full(c, s, now);
    json_decref(s);
    return rc;
}

static int chg(artemisi_cache_t *c, const char *id, const char *type, const char *iid, int64_t now)
{
    json_t *i = json_pack("{s:s, s:s, s:s, s:s}", "instanceId", iid, "serviceId", id, "regionId",
                          "sha", "status", "up");
    int rc = artemisi_cache_apply_change(c, id, type, i, now);
    json_decref(i);
    return rc;
}

static size_t count(artemisi_cache_t *c, const char *id)
{
    artemis_service_t *s = artemisi_cache_get(c, id);
    size_t n = s ? artemis_service_instance_count(s) : (size_t)-1;
    artemis_service_unref(s);
    return n;
}

static int stale(artemisi_cache_t *c, const char *id)
{
    artemis_service_t *s = artemisi_cache_get(c, id);
    int st = s ? artemis_service_is_stale(s) : -1;
    artemis_service_unref(s);
    return st;
}

static void test_full_and_changes(void **state)
{
    (void)state;
    artemisi_cache_t *c = artemisi_cache_new();
    assert_non_null(c);
    assert_null(artemisi_cache_get(c, "Demo.Service"));
    assert_int_equal(full(c, "Demo.Service", 2, 100), 1);
    assert_int_equal(count(c, "demo.service"), 2);
    assert_int_equal(count(c, "DEMO.SERVICE"), 2);
    artemis_service_t *s = artemisi_cache_get(c, "demo.SERVICE");
    assert_string_equal(artemis_service_id(s), "Demo.Service"); /* the server's spelling */
    assert_int_equal(artemisi_service_confirmed_ms(s), 100);
    artemis_service_unref(s);

    /* the same data again: not a visible change, but the confirmed time moves on */
    assert_int_equal(full(c, "Demo.Service", 2, 200), 0);
    s = artemisi_cache_get(c, "demo.service");
    assert_int_equal(artemisi_service_confirmed_ms(s), 200);
    artemis_service_unref(s);
    assert_int_equal(full(c, "demo.service", 3, 300), 1);

    /* An identical refresh keeps the snapshot itself: pick()'s round-robin position goes on
     * (a new snapshot restarted it, so after a poll the next pick repeated the last one's
     * slot and a weighted split stopped being exact), and a binding that keys its objects by
     * snapshot does not rebuild them. Readers see the new confirmed time. */
    s = artemisi_cache_get(c, "demo.service");
    const artemis_instance_t *p1 = artemis_service_pick(s);
    assert_int_equal(full(c, "demo.service", 3, 350), 0);
    artemis_service_t *s2 = artemisi_cache_get(c, "demo.service");
    assert_ptr_equal(s2, s);
    assert_int_equal(artemisi_service_confirmed_ms(s2), 350);
    assert_ptr_not_equal(artemis_service_pick(s2), p1);
    artemis_service_unref(s2);
    artemis_service_unref(s);

    /* pushed changes, looked up case-insensitively (Java quirk §11.5 fixed) */
    assert_int_equal(chg(c, "DEMO.service", "new", "i9", 400), 1);
    assert_int_equal(count(c, "demo.service"), 4);
    assert_int_equal(chg(c, "DEMO.service", "new", "i9", 400), 0); /* identical */
    assert_int_equal(chg(c, "demo.service", "delete", "i0", 400), 1);
    assert_int_equal(chg(c, "demo.service", "delete", "i0", 400), 0);
    assert_int_equal(count(c, "demo.service"), 3);
    assert_int_equal(chg(c, "demo.service", "reload", "reload", 400), ARTEMISI_CACHE_RELOAD);
    assert_int_equal(chg(c, "demo.service", "RELOAD", "reload", 400), ARTEMISI_CACHE_RELOAD);
    assert_int_equal(chg(c, "other", "new", "x", 400), 0); /* not cached: ignored */
    assert_null(artemisi_cache_get(c, "other"));
    assert_int_equal(chg(c, "demo.service", "weird", "x", 400), 0);

    /* malformed full updates */
    json_t *bad = parse("{\"instances\":[]}");
    assert_int_equal(artemisi_cache_apply_full(c, bad, 500), -1);
    json_decref(bad);

    /* ids longer than the limit are never cached */
    char longid[600];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(full(c, longid, 1, 500), 0);
    assert_null(artemisi_cache_get(c, longid));
    longid[ARTEMISI_CACHE_MAX_ID] = '\0';
    assert_int_equal(full(c, longid, 1, 500), 1);
    assert_int_equal(count(c, longid), 1);
    artemisi_cache_free(c);
    artemisi_cache_free(NULL);
}

static void test_empty_protection(void **state)
{
    (void)state;
    artemisi_cache_t *c = artemisi_cache_new();
    artemisi_cache_set_empty_confirm_ms(c, 1000);

    /* a service first seen empty is simply empty */
    assert_int_equal(full(c, "e", 0, 0), 1);
    assert_int_equal(count(c, "e"), 0);
    assert_int_equal(full(c, "e", 0, 10), 0);

    assert_int_equal(full(c, "s", 2, 0), 1);
    /* first empty push: kept, published stale */
    assert_int_equal(full(c, "s", 0, 100), 1);
    assert_int_equal(count(c, "s"), 2);
    assert_int_equal(stale(c, "s"), 1);
    artemis_service_t *s = artemisi_cache_get(c, "s");
    assert_int_equal(artemisi_service_confirmed_ms(s), 0); /* still the old confirmation */
    artemis_service_unref(s);
    /* repeated within the window: nothing visible changes */
    assert_int_equal(full(c, "s", 0, 600), 0);
    assert_int_equal(full(c, "s", 0, 1099), 0);
    assert_int_equal(count(c, "s"), 2);
    /* confirmed after the window: accepted */
    assert_int_equal(full(c, "s", 0, 1100), 1);
    assert_int_equal(count(c, "s"), 0);
    assert_int_equal(stale(c, "s"), 0);

    /* a non-empty update in between restarts the window */
    assert_int_equal(full(c, "s", 1, 2000), 1);
    assert_int_equal(full(c, "s", 0, 2100), 1);
    assert_int_equal(full(c, "s", 1, 2200), 1);
    assert_int_equal(stale(c, "s"), 0);
    assert_int_equal(full(c, "s", 0, 3150), 1); /* new first empty */
    assert_int_equal(full(c, "s", 0, 3200), 0);
    assert_int_equal(count(c, "s"), 1);
    assert_int_equal(full(c, "s", 0, 4150), 1);
    assert_int_equal(count(c, "s"), 0);

    /* deletes one by one are accepted down to zero */
    assert_int_equal(full(c, "d", 2, 0), 1);
    assert_int_equal(chg(c, "d", "delete", "i0", 10), 1);
    assert_int_equal(chg(c, "d", "delete", "i1", 10), 1);
    assert_int_equal(count(c, "d"), 0);
    assert_int_equal(stale(c, "d"), 0);

    /* protection disabled */
    artemisi_cache_set_empty_confirm_ms(c, 0);
    assert_int_equal(full(c, "z", 2, 0), 1);
    assert_int_equal(full(c, "z", 0, 1), 1);
    assert_int_equal(count(c, "z"), 0);
    artemisi_cache_free(c);
}

static int collect(void *ud, const char *id)
{
    json_t *arr = ud;
    json_array_append_new(arr, json_string(id));
    return json_array_size(arr) == 99 ? 7 : 0;
}

static void test_stale_and_foreach(void **state)
{
    (void)state;
    artemisi_cache_t *c = artemisi_cache_new();
    assert_int_equal(artemisi_cache_mark_stale(c, "nope"), 0);
    assert_int_equal(full(c, "A", 1, 10), 1);
    assert_int_equal(full(c, "b", 2, 10), 1);
    assert_int_equal(full(c, "C", 0, 10), 1);
    artemis_service_t *before = artemisi_cache_get(c, "a");
    assert_int_equal(artemisi_cache_mark_stale(c, "a"), 1);
    assert_int_equal(artemisi_cache_mark_stale(c, "A"), 0);
    artemis_service_t *after = artemisi_cache_get(c, "a");
    assert_ptr_not_equal(before, after);
    assert_int_equal(artemis_service_is_stale(before), 0);
    assert_int_equal(artemis_service_is_stale(after), 1);
    assert_int_equal(artemisi_service_confirmed_ms(after), 10);
    assert_ptr_equal(artemis_service_instance(before, 0), artemis_service_instance(after, 0));
    artemis_service_unref(before);
    artemis_service_unref(after);
    assert_int_equal(artemisi_cache_mark_all_stale(c), 2);
    assert_int_equal(artemisi_cache_mark_all_stale(c), 0);
    assert_int_equal(stale(c, "b"), 1);
    /* a full update with the same data clears stale and counts as a change */
    assert_int_equal(full(c, "b", 2, 20), 1);
    assert_int_equal(stale(c, "b"), 0);
    /* a pushed change keeps the view stale */
    assert_int_equal(chg(c, "a", "new", "x", 30), 1);
    assert_int_equal(stale(c, "a"), 1);

    json_t *ids = json_array();
    assert_int_equal(artemisi_cache_foreach_id(c, collect, ids), 0);
    assert_int_equal(json_array_size(ids), 3);
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *s = json_string_value(json_array_get(ids, i));
        seen |= strcmp(s, "A") == 0 ? 1 : strcmp(s, "b") == 0 ? 2 : strcmp(s, "C") == 0 ? 4 : 0;
    }
    assert_int_equal(seen, 7);
    json_decref(ids);

    /* seeding never overrides live data */
    json_t *js = service("b", 5);
    artemis_service_t *seed = artemisi_service_from_json(js, 1, 1);
    json_decref(js);
    assert_int_equal(artemisi_cache_seed(c, seed), 0);
    assert_int_equal(count(c, "b"), 2);
    js = service("new.one", 5);
    artemis_service_t *seed2 = artemisi_service_from_json(js, 1, 1);
    json_decref(js);
    assert_int_equal(artemisi_cache_seed(c, seed2), 1);
    assert_int_equal(count(c, "NEW.ONE"), 5);
    artemis_service_unref(seed);
    artemis_service_unref(seed2);
    artemisi_cache_free(c);
}

static void test_reader_keeps_old_snapshot(void **state)
{
    (void)state;
    artemisi_cache_t *c = artemisi_cache_new();
    assert_int_equal(full(c, "s", 3, 0), 1);
    artemis_service_t *held = artemisi_cache_get(c, "s");
    for (int i = 0; i < 50; i++)
        assert_int_equal(full(c, "s", 1 + i % 7, i), 1);
    artemisi_cache_free(c);
    /* the cache is gone; the reader's view is intact */
    assert_int_equal(artemis_service_instance_count(held), 3);
    assert_string_equal(
        artemis_instance_get(artemis_service_instance(held, 2), ARTEMIS_FIELD_INSTANCE_ID), "i2");
    assert_non_null(artemis_service_pick(held));
    artemis_service_unref(held);
}

/* ---- stress ------------------------------------------------------------------------------ */

typedef struct stress {
    artemisi_cache_t *c;
    atomic_int stop;
    atomic_long reads;
} stress_t;

static void *reader(void *arg)
{
    stress_t *st = arg;
    long n = 0;
    while (!atomic_load(&st->stop)) {
        artemis_service_t *s = artemisi_cache_get(st->c, (n & 1) ? "STRESS" : "stress");
        if (s) {
            size_t k = artemis_service_instance_count(s);
            for (size_t i = 0; i < k; i++)
                if (!artemis_instance_get(artemis_service_instance(s, i),
                                          ARTEMIS_FIELD_INSTANCE_ID))
                    abort();
            artemis_service_pick(s);
            artemis_service_unref(s);
        }
        n++;
    }
    atomic_fetch_add(&st->reads, n);
    return NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_stress(void **state)
{
    (void)state;
    stress_t st = {.c = artemisi_cache_new()};
    atomic_init(&st.stop, 0);
    atomic_init(&st.reads, 0);
    artemisi_cache_set_empty_confirm_ms(st.c, 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &st), 0);
    int64_t end = mono_ms() + 500;
    long writes = 0;
    char iid[32];
    while (mono_ms() < end) {
        if (writes % 10 == 0) {
            assert_true(full(st.c, "Stress", (int)(writes % 13), writes) >= 0);
        } else {
            snprintf(iid, sizeof(iid), "i%ld", writes % 17);
            assert_true(chg(st.c, "stress", writes % 3 ? "new" : "delete", iid, writes) >= 0);
        }
        if (writes % 50 == 0)
            assert_true(artemisi_cache_mark_all_stale(st.c) >= 0);
        writes++;
    }
    atomic_store(&st.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&st.reads) > 0);
    assert_true(writes > 0);
    artemisi_cache_free(st.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_and_changes),
        cmocka_unit_test(test_empty_protection),
        cmocka_unit_test(test_stale_and_foreach),
        cmocka_unit_test(test_reader_keeps_old_snapshot),
        cmocka_unit_test(test_stress),
    };
    return cmocka_run_group_tests_name("sdk_cache", tests, NULL, NULL);
}
