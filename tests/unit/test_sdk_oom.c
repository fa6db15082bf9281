/*
 * Allocation-failure sweep over the SDK's data layer: snapshots from JSON, copy-on-write
 * changes, restamping, to_json, the cache (full and incremental updates, stale marking,
 * seeding), disk snapshots and the instance builder. The Makefile links this test with
 * -Wl,--wrap=malloc,... so every allocation made by the project's own objects goes through
 * the wrappers below, which fail exactly the Nth one. For N = 1, 2, ... each operation must
 * report an error when an allocation failed, succeed otherwise, and leave every structure
 * valid; the ASan build checks that nothing leaks.
 */
#include "test.h"
#include "oom.h"

#include <dirent.h>
#include <unistd.h>
#include <jansson.h>

#include "artemis/service.h"
#include "cache.h"
#include "sdk_int.h"
#include "snapshot.h"

/* The wrappers and oom_arm()/oom_disarm(): tests/support/oom.h. */
static void arm(long n)
{
    oom_arm(n);
}

static void disarm(void)
{
    oom_disarm();
}

/* Run op(ctx) with the Nth allocation failing, N = 1.. until it runs without a failure.
 * op returns 0 on success, -1 on error. Returns the number of allocations of a clean run. */
static long sweep(const char *name, int (*op)(void *ctx), void *ctx)
{
    for (long n = 1; n < 100000; n++) {
        arm(n);
        int rc = op(ctx);
        disarm();
        if (oom_failed && rc == 0)
            fail_msg("%s: allocation %ld failed but the operation reported success", name, n);
        if (!oom_failed) {
            if (rc != 0)
                fail_msg("%s: failed without an allocation failure (N=%ld)", name, n);
            return n - 1;
        }
    }
    fail_msg("%s: did not converge", name);
    return -1;
}

static const char F22_SERVICE[] =
    "{\"instances\":[{\"groupId\":\"blue\",\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","
    "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":{\"env\":\"prod\",\"a\":\"b\"},\"port\":8080,\"protocol\":\"http\","
    "\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\",\"status\":\"up\","
    "\"url\":\"http://10.0.0.5:8080/demo\",\"zoneId\":\"sha-z1\"},{\"groupId\":\"green\","
    "\"healthCheckUrl\":\"http://10.0.0.9:8080/health\",\"instanceId\":\"10.0.0.9:8080\","
    "\"ip\":\"10.0.0.9\",\"machineName\":\"host-9\",\"metadata\":null,\"port\":8080,"
    "\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\","
    "\"status\":\"up\",\"url\":\"http://10.0.0.9:8080/demo\",\"zoneId\":\"sha-z1\"}],"
    "\"logicInstances\":[],\"metadata\":null,\"routeRules\":[{\"groups\":[{\"groupKey\":"
    "\"demo.service.v1/sha/sha-z1/blue\",\"instanceIds\":[],\"instances\":null,\"metadata\":"
    "{\"owner\":\"team-a\"},\"weight\":80},{\"groupKey\":\"demo.service.v1/sha/sha-z1/green\","
    "\"instanceIds\":[\"10.0.0.9:8080\",\"x\"],\"instances\":null,\"metadata\":null,"
    "\"weight\":20}],\"routeId\":\"bluegreen\",\"strategy\":\"weighted-round-robin\"}],"
    "\"serviceId\":\"demo.service.v1\"}";

static const char NEW_INSTANCE[] =
    "{\"instanceId\":\"n1\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\","
    "\"status\":\"up\",\"groupId\":\"blue\",\"zoneId\":\"sha-z1\",\"metadata\":{\"k\":\"v\"}}";

typedef struct ctx {
    json_t *service;
    json_t *empty_service;
    json_t *inst;
    json_t *del;
    artemis_service_t *base;
    artemisi_cache_t *cache;
    const char *dir;
    artemis_instance_t *builder;
    int64_t now;
} ctx_t;

static json_t *parse(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    return j;
}

/* ---- operations -------------------------------------------------------------------------- */

static int op_from_json(void *p)
{
    ctx_t *c = p;
    artemis_service_t *s = artemisi_service_from_json(c->service, 1, 0);
    if (!s)
        return -1;
    int ok = artemis_service_instance_count(s) == 2 && s->n_pg == 2;
    artemis_service_unref(s);
    return ok ? 0 : -1;
}

static int op_with_change(void *p)
{
    ctx_t *c = p;
    artemis_service_t *a = artemisi_service_with_change(c->base, "new", c->inst, 2);
    if (!a)
        return -1;
    artemis_service_t *b = artemisi_service_with_change(a, "delete", c->del, 3);
    int ok = b && artemis_service_instance_count(a) == 3 && artemis_service_instance_count(b) == 2;
    artemis_service_unref(a);
    artemis_service_unref(b);
    return ok ? 0 : -1;
}

static int op_restamp_to_json(void *p)
{
    ctx_t *c = p;
    artemis_service_t *s = artemisi_service_restamp(c->base, 7, 1);
    if (!s)
        return -1;
    char *j = artemis_service_to_json(s);
    artemis_service_unref(s);
    if (!j)
        return -1;
    artemis_free(j);
    return 0;
}

static int op_cache_new(void *p)
{
    (void)p;
    artemisi_cache_t *c = artemisi_cache_new();
    if (!c)
        return -1;
    artemisi_cache_free(c);
    return 0;
}

/* A fresh cache every time (made outside the armed window). */
static int op_cache_insert(void *p)
{
    ctx_t *c = p;
    long saved = oom_fail_at;
    disarm();
    artemisi_cache_t *cache = artemisi_cache_new();
    oom_fail_at = saved;
    int rc = artemisi_cache_apply_full(cache, c->service, 1);
    artemis_service_t *s = artemisi_cache_get(cache, "DEMO.service.v1");
    int consistent = rc == 1 ? s != NULL : s == NULL;
    artemis_service_unref(s);
    disarm();
    artemisi_cache_free(cache);
    oom_fail_at = saved;
    if (!consistent)
        fail_msg("cache insert: state does not match the result %d", rc);
    return rc == 1 ? 0 : -1;
}

/* Updates of a cached service: each failure must leave the previous view in place. */
static int op_cache_updates(void *p)
{
    ctx_t *c = p;
    artemisi_cache_t *cache = c->cache;
    c->now += 10;
    int rc = artemisi_cache_apply_change(cache, "demo.service.v1", "new", c->inst, c->now);
    artemis_service_t *s = artemisi_cache_get(cache, "demo.service.v1");
    assert_non_null(s);
    assert_int_equal(artemis_service_instance_count(s), rc == 1 ? 3 : 2);
    artemis_service_unref(s);
    if (rc != 1)
        return -1;
    rc = artemisi_cache_apply_change(cache, "demo.service.v1", "delete", c->del, c->now);
    if (rc != 1)
        return -1; /* the next round starts with 3 instances: re-apply the full view */
    rc = artemisi_cache_apply_full(cache, c->empty_service, c->now); /* protected: restamp */
    s = artemisi_cache_get(cache, "demo.service.v1");
    assert_int_equal(artemis_service_instance_count(s), 2);
    artemis_service_unref(s);
    if (rc < 0)
        return -1;
    if (artemisi_cache_mark_all_stale(cache) < 0)
        return -1;
    rc = artemisi_cache_apply_full(cache, c->service, c->now);
    return rc < 0 ? -1 : 0;
}

static int op_cache_get(void *p)
{
    ctx_t *c = p;
    artemis_service_t *s = artemisi_cache_get(c->cache, "Demo.Service.V1");
    if (oom_calls != 0)
        fail_msg("artemisi_cache_get allocated");
    artemis_service_unref(s);
    return s ? 0 : -1;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int op_snapshot_save(void *p)
{
    ctx_t *c = p;
    int rc = artemisi_snapshot_save(c->dir, c->base);
    if (count_files(c->dir) > 1)
        fail_msg("a temporary file was left behind");
    return rc;
}

static int op_snapshot_load(void *p)
{
    ctx_t *c = p;
    artemis_service_t *s = artemisi_snapshot_load(c->dir, "demo.service.v1", 1000);
    if (!s)
        return -1;
    int ok = artemis_service_instance_count(s) == 2 && artemis_service_is_stale(s);
    artemis_service_unref(s);
    return ok ? 0 : -1;
}

static int op_snapshot_load_all(void *p)
{
    ctx_t *c = p;
    long saved = oom_fail_at;
    disarm();
    artemisi_cache_t *cache = artemisi_cache_new();
    oom_fail_at = saved;
    int rc = artemisi_snapshot_load_all(c->dir, cache, 1000);
    disarm();
    artemis_service_t *s = artemisi_cache_get(cache, "demo.service.v1");
    if ((rc == 1) != (s != NULL))
        fail_msg("load_all: result %d does not match the cache", rc);
    artemis_service_unref(s);
    artemisi_cache_free(cache);
    oom_fail_at = saved;
    return rc == 1 ? 0 : -1; /* a file skipped for lack of memory is an error here */
}

static int op_builder(void *p)
{
    (void)p;
    artemis_instance_t *i = artemis_instance_new("svc", "id", "10.0.0.1", 80);
    if (!i)
        return -1;
    int rc = 0;
    char k[16];
    for (int n = 0; n < 6 && rc == 0; n++) {
        snprintf(k, sizeof(k), "k%d", n);
        if (artemis_instance_set_metadata(i, k, "v") != ARTEMIS_OK)
            rc = -1;
    }
    if (rc == 0 && artemis_instance_set_metadata(i, "k1", "w") != ARTEMIS_OK)
        rc = -1;
    if (rc == 0 && artemis_instance_set(i, ARTEMIS_FIELD_GROUP_ID, "g") != ARTEMIS_OK)
        rc = -1;
    /* still consistent after a failure */
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_SERVICE_ID), "svc");
    if (rc == 0) {
        assert_string_equal(artemis_instance_metadata(i, "k1"), "w");
        assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_GROUP_ID), "g");
    }
    artemis_instance_free(i);
    return rc;
}

/* ---- the sweep ---------------------------------------------------------------------------- */

static void test_sweep(void **state)
{
    (void)state;
    char dir[] = "/tmp/artemis-oomXXXXXX";
    assert_non_null(mkdtemp(dir));
    ctx_t c = {0};
    c.service = parse(F22_SERVICE);
    c.empty_service = parse("{\"serviceId\":\"demo.service.v1\",\"instances\":[]}");
    c.inst = parse(NEW_INSTANCE);
    c.del = parse("{\"instanceId\":\"n1\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\"}");
    c.base = artemisi_service_from_json(c.service, 1, 0);
    c.cache = artemisi_cache_new();
    c.dir = dir;
    assert_int_equal(artemisi_cache_apply_full(c.cache, c.service, 0), 1);
    artemisi_cache_set_empty_confirm_ms(c.cache, 1000000);

    struct {
        const char *name;
        int (*op)(void *);
    } ops[] = {
        {"from_json", op_from_json},
        {"with_change", op_with_change},
        {"restamp+to_json", op_restamp_to_json},
        {"cache_new", op_cache_new},
        {"cache insert", op_cache_insert},
        {"cache get", op_cache_get},
        {"snapshot save", op_snapshot_save},
        {"snapshot load", op_snapshot_load},
        {"snapshot load_all", op_snapshot_load_all},
        {"instance builder", op_builder},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        long n = sweep(ops[i].name, ops[i].op, &c);
        if (strcmp(ops[i].name, "cache get") != 0)
            assert_true(n > 0); /* the sweep did exercise failures */
    }

    /* cache updates: re-synchronise the view after every failed round */
    for (long n = 1; n < 10000; n++) {
        arm(n);
        int rc = op_cache_updates(&c);
        disarm();
        if (oom_failed && rc == 0)
            fail_msg("cache updates: allocation %ld failed but reported success", n);
        if (!oom_failed) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_true(artemisi_cache_apply_full(c.cache, c.service, c.now) >= 0);
    }

    artemisi_cache_free(c.cache);
    artemis_service_unref(c.base);
    json_decref(c.service);
    json_decref(c.empty_service);
    json_decref(c.inst);
    json_decref(c.del);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests_name("sdk_oom", tests, NULL, NULL);
}
