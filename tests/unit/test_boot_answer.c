/*
 * Unit tests for server/boot_answer: the bootstrap copy built in slices is, for a registry
 * that does not change, byte for byte the answer built at once (the services in registry
 * order, each service's instances as srv_service_json_all writes them); slices stay near
 * their size; and while the registry changes between slices, each service is written as it
 * was when its turn came, a service removed before its turn is left out, and one
 * created after the first slice is not listed (replication carries it). Run under ASan, the
 * last tests also prove the references it holds keep unregistered instances alive.
 */
#include "test.h"

#include <jansson.h>

#include "boot_answer.h"
#include "codec.h"
#include "registry.h"

#define NOW_WALL 1700000000000LL

static srv_registry_t *registry_new(void)
{
    srv_registry_config_t cfg = {
        .ttl_ms = 20000, .legacy_ttl_ms = 90000, .tick_ms = 100, .changelog_capacity = 1000};
    srv_registry_t *r = srv_registry_new(&cfg, 1, 2, NOW_WALL, 0);
    assert_non_null(r);
    return r;
}

static artemisi_instance_t draft(const char *service, const char *instance)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "sha";
    ARTEMISI_INST(&d, ZONE_ID) = "sha-z1";
    ARTEMISI_INST(&d, SERVICE_ID) = service;
    ARTEMISI_INST(&d, INSTANCE_ID) = instance;
    ARTEMISI_INST(&d, URL) = "http://10.0.0.1:8080/";
    ARTEMISI_INST(&d, STATUS) = "up";
    ARTEMISI_INST(&d, IP) = "10.0.0.1";
    d.port = 8080;
    d.meta_null = 1;
    return d;
}

static void reg(srv_registry_t *r, const char *service, const char *instance)
{
    artemisi_instance_t d = draft(service, instance);
    assert_int_equal(srv_registry_register(r, &d, 0, NOW_WALL), 0);
}

static void unreg(srv_registry_t *r, const char *service, const char *instance)
{
    artemisi_instance_t d = draft(service, instance);
    assert_int_equal(srv_registry_unregister(r, &d, NOW_WALL), 0);
}

/* The answer built at once, as the handler did before slices. */
static void whole_answer(srv_registry_t *r, artemisi_buf_t *out)
{
    size_t it = 0, n = 0;
    srv_service_t *s;
    artemisi_buf_appendc(out, '[');
    while ((s = srv_registry_next_service(r, &it))) {
        if (n++)
            artemisi_buf_appendc(out, ',');
        artemisi_buf_appends(out, "{\"instances\":");
        assert_int_equal(srv_service_json_all(s, out), 0);
        artemisi_buf_appends(out, ",\"logicInstances\":null,\"metadata\":null,"
                                  "\"routeRules\":null,\"serviceId\":");
        artemisi_json_str(out, s->id);
        artemisi_buf_appendc(out, '}');
    }
    artemisi_buf_appends(out, "]}");
}

/* Every slice appended to out (after '['); returns the number of slices. */
static size_t sliced_answer(srv_boot_answer_t *a, artemisi_buf_t *out, size_t slice)
{
    size_t n = 0;
    int rc;
    do {
        size_t before = out->len;
        rc = srv_boot_answer_next(a, out, slice);
        assert_true(rc >= 0);
        n++;
        if (rc == 1)
            assert_true(out->len - before >= slice);
    } while (rc == 1);
    return n;
}

static void fill(srv_registry_t *r, int services, int per_service)
{
    char sid[32], iid[64];
    for (int s = 0; s < services; s++)
        for (int i = 0; i < per_service; i++) {
            snprintf(sid, sizeof(sid), "svc.%d", s);
            snprintf(iid, sizeof(iid), "10.0.%d.%d:8080", s, i);
            reg(r, sid, iid);
        }
}

static void test_same_bytes_as_whole(void **state)
{
    (void)state;
    srv_registry_t *r = registry_new();
    fill(r, 37, 23);
    artemisi_buf_t want = ARTEMISI_BUF_INIT;
    whole_answer(r, &want);
    size_t sizes[] = {1, 100, 4096, 65536, 1 << 24};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        srv_boot_answer_t *a = srv_boot_answer_new(r);
        assert_non_null(a);
        artemisi_buf_t got = ARTEMISI_BUF_INIT;
        artemisi_buf_appendc(&got, '[');
        size_t n = sliced_answer(a, &got, sizes[k]);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, want.len);
        if (sizes[k] == 1)
            assert_true(n > 37 * 23); /* one instance per slice */
        if (sizes[k] == (1 << 24))
            assert_int_equal(n, 1);
        srv_boot_answer_free(a);
        artemisi_buf_free(&got);
    }
    artemisi_buf_free(&want);
    srv_registry_free(r);
}

static void test_empty_registry(void **state)
{
    (void)state;
    srv_registry_t *r = registry_new();
    srv_boot_answer_t *a = srv_boot_answer_new(r);
    assert_non_null(a);
    artemisi_buf_t got = ARTEMISI_BUF_INIT;
    assert_int_equal(srv_boot_answer_next(a, &got, 65536), 0);
    assert_string_equal(got.data, "]}");
    srv_boot_answer_free(a);
    artemisi_buf_free(&got);
    srv_registry_free(r);
}

/* The services of the answer, parsed: {serviceId: [instanceId, ...]}. */
static json_t *parsed(const artemisi_buf_t *b)
{
    json_error_t e;
    json_t *arr = json_loadb(b->data, b->len - 1, 0, &e); /* without the final '}' */
    if (!arr)
        fail_msg("invalid JSON (%s at %d): %.*s", e.text, e.position, (int)b->len, b->data);
    json_t *m = json_object();
    size_t i;
    json_t *svc;
    json_array_foreach(arr, i, svc)
    {
        json_t *ids = json_array();
        size_t j;
        json_t *inst;
        json_array_foreach(json_object_get(svc, "instances"), j, inst)
            json_array_append(ids, json_object_get(inst, "instanceId"));
        assert_null(json_object_get(m, json_string_value(json_object_get(svc, "serviceId"))));
        json_object_set_new(m, json_string_value(json_object_get(svc, "serviceId")), ids);
    }
    json_decref(arr);
    return m;
}

static void test_changes_between_slices(void **state)
{
    (void)state;
    srv_registry_t *r = registry_new();
    fill(r, 3, 10); /* svc.0 .. svc.2, instances 10.0.S.I:8080 */
    srv_boot_answer_t *a = srv_boot_answer_new(r);
    assert_non_null(a);
    artemisi_buf_t got = ARTEMISI_BUF_INIT;
    artemisi_buf_appendc(&got, '[');
    /* the services in the order the answer takes them */
    char order[3][16];
    size_t it = 0, k = 0;
    srv_service_t *s;
    while ((s = srv_registry_next_service(r, &it)))
        snprintf(order[k++], sizeof(order[0]), "%s", s->id);
    assert_int_equal(k, 3);
    const char *first = order[0], *gone = order[1], *grows = order[2];
    /* a 1-byte slice: the first service's turn has come, none of its instances is written */
    assert_int_equal(srv_boot_answer_next(a, &got, 1), 1);
    assert_string_equal(got.data, "[{\"instances\":[");
    /* its instances change after its first one was written: the answer keeps what it had,
     * the unregistered instances included (still referenced) */
    char iid[64];
    for (int i = 0; i < 10; i++) {
        snprintf(iid, sizeof(iid), "10.0.%c.%d:8080", first[4], i);
        unreg(r, first, iid);
    }
    reg(r, first, "new-in-first");
    /* the other services: one loses everything before its turn, the other gains one */
    for (int i = 0; i < 10; i++) {
        snprintf(iid, sizeof(iid), "10.0.%c.%d:8080", gone[4], i);
        unreg(r, gone, iid);
    }
    reg(r, grows, "new-in-later");
    reg(r, "svc.created-later", "x");
    sliced_answer(a, &got, 1);
    json_t *m = parsed(&got);
    assert_int_equal(json_object_size(m), 2); /* `gone` is gone, the new service not listed */
    assert_int_equal(json_array_size(json_object_get(m, first)), 10);
    assert_null(json_object_get(m, gone));
    assert_int_equal(json_array_size(json_object_get(m, grows)), 11);
    assert_null(json_object_get(m, "svc.created-later"));
    json_decref(m);
    srv_boot_answer_free(a);
    artemisi_buf_free(&got);
    srv_registry_free(r);
}

/* Freed in the middle of a service (the peer went away): the references it held go. ASan's
 * leak check proves none is left. */
static void test_free_midway(void **state)
{
    (void)state;
    srv_registry_t *r = registry_new();
    fill(r, 2, 50);
    srv_boot_answer_t *a = srv_boot_answer_new(r);
    artemisi_buf_t got = ARTEMISI_BUF_INIT;
    assert_int_equal(srv_boot_answer_next(a, &got, 200), 1);
    char iid[64];
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 50; i++) {
            char sid[16];
            snprintf(sid, sizeof(sid), "svc.%d", s);
            snprintf(iid, sizeof(iid), "10.0.%d.%d:8080", s, i);
            unreg(r, sid, iid);
        }
    srv_registry_free(r); /* the answer's references outlive the registry's */
    srv_boot_answer_free(a);
    artemisi_buf_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_whole),
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_changes_between_slices),
        cmocka_unit_test(test_free_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
