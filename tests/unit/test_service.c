/*
 * Unit tests for the SDK's service snapshots and instances (sdk/service.c, sdk/instance.c):
 * the instance builder and getters, snapshots built from lookup.json's Service objects
 * (fixtures F10 and F22 of protocol.md), copy-on-write changes that share instance bodies,
 * the pick (up-only, round-robin, weighted groups, route-rule choice), the public view of the
 * route rules and groups (fixture F23, fixWeight, canary and logical instances) and to_json.
 */
#include "test.h"

#include <jansson.h>

#include "artemis/service.h"
#include "codec.h"
#include "sdk_int.h"

/* The first service of F10's lookup.json response. */
static const char F10_SERVICE[] =
    "{\"instances\":[{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","
    "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":{\"env\":\"prod\"},\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/demo\","
    "\"zoneId\":\"sha-z1\"},{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.6:8080/health\","
    "\"instanceId\":\"10.0.0.6:8080\",\"ip\":\"10.0.0.6\",\"machineName\":\"host-6\","
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.6:8080/demo\","
    "\"zoneId\":\"sha-z1\"}],\"logicInstances\":[],\"metadata\":null,\"routeRules\":[],"
    "\"serviceId\":\"demo.service.v1\"}";

/* The service of F22 (route rule bluegreen, weights 80/20). */
static const char F22_SERVICE[] =
    "{\"instances\":[{\"groupId\":\"blue\",\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","
    "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/demo\","
    "\"zoneId\":\"sha-z1\"},{\"groupId\":\"green\",\"healthCheckUrl\":"
    "\"http://10.0.0.9:8080/health\",\"instanceId\":\"10.0.0.9:8080\",\"ip\":\"10.0.0.9\","
    "\"machineName\":\"host-9\",\"metadata\":null,\"port\":8080,\"protocol\":\"http\","
    "\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\",\"status\":\"up\","
    "\"url\":\"http://10.0.0.9:8080/demo\",\"zoneId\":\"sha-z1\"}],\"logicInstances\":[],"
    "\"metadata\":null,\"routeRules\":[{\"groups\":[{\"groupKey\":"
    "\"demo.service.v1/sha/sha-z1/blue\",\"instanceIds\":[],\"instances\":null,\"metadata\":"
    "{\"owner\":\"team-a\"},\"weight\":80},{\"groupKey\":\"demo.service.v1/sha/sha-z1/green\","
    "\"instanceIds\":[\"10.0.0.9:8080\"],\"instances\":null,\"metadata\":null,\"weight\":20}],"
    "\"routeId\":\"bluegreen\",\"strategy\":\"weighted-round-robin\"}],"
    "\"serviceId\":\"demo.service.v1\"}";

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s (%s)", e.text, s);
    return j;
}

static artemis_service_t *svc_from(const char *s, int64_t now, int stale)
{
    json_t *j = parse(s);
    artemis_service_t *svc = artemisi_service_from_json(j, now, stale);
    json_decref(j);
    return svc;
}

/* An instance JSON object for changes and hand-made services. */
static char *inst_json(const char *id, const char *status, const char *group)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof(buf[0]),
             "{\"instanceId\":\"%s\",\"ip\":\"10.1.0.1\",\"port\":80,\"regionId\":\"sha\","
             "\"zoneId\":\"z1\",\"serviceId\":\"svc\",\"status\":\"%s\",\"groupId\":%s%s%s,"
             "\"url\":\"http://x/\"}",
             id, status, group ? "\"" : "", group ? group : "null", group ? "\"" : "");
    return b;
}

static artemis_service_t *change(const artemis_service_t *old, const char *type, const char *js)
{
    json_t *j = parse(js);
    artemis_service_t *s = artemisi_service_with_change(old, type, j, 2000);
    json_decref(j);
    return s;
}

/* ---- builder ------------------------------------------------------------------------------ */

static void test_builder_defaults(void **state)
{
    (void)state;
    artemis_instance_t *i = artemis_instance_new("demo.svc", "id-1", "10.0.0.1", 8080);
    assert_non_null(i);
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_SERVICE_ID), "demo.svc");
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_INSTANCE_ID), "id-1");
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_IP), "10.0.0.1");
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_URL), "http://10.0.0.1:8080/");
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_PROTOCOL), "http");
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_STATUS), "up");
    assert_null(artemis_instance_get(i, ARTEMIS_FIELD_REGION_ID));
    assert_null(artemis_instance_get(i, ARTEMIS_FIELD_GROUP_ID));
    assert_null(artemis_instance_get(i, (artemis_field_t)11));
    assert_null(artemis_instance_get(i, (artemis_field_t)-1));
    assert_int_equal(artemis_instance_port(i), 8080);
    assert_null(artemis_instance_metadata(i, "x"));
    const artemisi_instance_t *d = artemisi_instance_of(i);
    assert_int_equal(d->meta_null, 0); /* {} not null */
    assert_int_equal(d->packed, 0);
    artemis_instance_free(i);

    i = artemis_instance_new("s", "i", "fe80::1", 443);
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_URL), "http://[fe80::1]:443/");
    artemis_instance_free(i);

    assert_null(artemis_instance_new(NULL, "i", "1.2.3.4", 1));
    assert_null(artemis_instance_new("s", " ", "1.2.3.4", 1));
    assert_null(artemis_instance_new("s", "i", "", 1));
    assert_null(artemis_instance_new("s", "i", "1.2.3.4", 0));
    assert_null(artemis_instance_new("s", "i", "1.2.3.4", 65536));
    artemis_instance_free(NULL);
}

static void test_builder_setters(void **state)
{
    (void)state;
    artemis_instance_t *i = artemis_instance_new("demo.svc", "id-1", "10.0.0.1", 8080);
    assert_int_equal(artemis_instance_set(i, ARTEMIS_FIELD_GROUP_ID, "blue"), ARTEMIS_OK);
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_GROUP_ID), "blue");
    assert_int_equal(artemis_instance_set(i, ARTEMIS_FIELD_GROUP_ID, NULL), ARTEMIS_OK);
    assert_null(artemis_instance_get(i, ARTEMIS_FIELD_GROUP_ID));
    assert_int_equal(artemis_instance_set(i, ARTEMIS_FIELD_URL, "http://h/x"), ARTEMIS_OK);
    assert_string_equal(artemis_instance_get(i, ARTEMIS_FIELD_URL), "http://h/x");
    assert_int_equal(artemis_instance_set(i, ARTEMIS_FIELD_SERVICE_ID, NULL),
                     ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_instance_set(i, ARTEMIS_FIELD_INSTANCE_ID, "  "),
                     ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_instance_set(i, (artemis_field_t)42, "x"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_instance_set(NULL, ARTEMIS_FIELD_URL, "x"), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_instance_set_port(i, 9090), ARTEMIS_OK);
    assert_int_equal(artemis_instance_port(i), 9090);
    assert_int_equal(artemis_instance_set_port(i, -1), ARTEMIS_ERR_INVALID_ARG);
    assert_int_equal(artemis_instance_port(i), 9090);

    char k[16], v[16];
    for (int n = 0; n < 20; n++) {
        snprintf(k, sizeof(k), "k%d", n);
        snprintf(v, sizeof(v), "v%d", n);
        assert_int_equal(artemis_instance_set_metadata(i, k, v), ARTEMIS_OK);
    }
    assert_string_equal(artemis_instance_metadata(i, "k0"), "v0");
    assert_string_equal(artemis_instance_metadata(i, "k19"), "v19");
    assert_int_equal(artemis_instance_set_metadata(i, "k3", "new"), ARTEMIS_OK);
    assert_string_equal(artemis_instance_metadata(i, "k3"), "new");
    assert_int_equal(artemis_instance_set_metadata(i, "k3", NULL), ARTEMIS_OK);
    assert_null(artemis_instance_metadata(i, "k3"));
    assert_string_equal(artemis_instance_metadata(i, "k4"), "v4");
    assert_int_equal(artemisi_instance_of(i)->n_meta, 19);
    /* The iterators see the builder's entries in order, the removed one gone. */
    assert_int_equal(artemis_instance_metadata_count(i), 19);
    assert_string_equal(artemis_instance_metadata_key(i, 3), "k4");
    assert_string_equal(artemis_instance_metadata_value(i, 3), "v4");
    assert_null(artemis_instance_metadata_key(i, 19));
    assert_null(artemis_instance_metadata_value(i, 19));
    assert_int_equal(artemis_instance_metadata_count(NULL), 0);
    assert_int_equal(artemis_instance_set_metadata(i, "absent", NULL), ARTEMIS_OK);
    assert_int_equal(artemis_instance_set_metadata(i, NULL, "x"), ARTEMIS_ERR_INVALID_ARG);
    artemis_instance_free(i);
}

/* ---- snapshots ---------------------------------------------------------------------------- */

static void test_from_json_f10(void **state)
{
    (void)state;
    artemis_service_t *s = svc_from(F10_SERVICE, 1000, 0);
    assert_non_null(s);
    assert_string_equal(artemis_service_id(s), "demo.service.v1");
    assert_int_equal(artemis_service_instance_count(s), 2);
    assert_int_equal(artemis_service_is_stale(s), 0);
    assert_int_equal(artemisi_service_confirmed_ms(s), 1000);
    assert_true(artemis_service_age_ms(s) > 1000); /* the wall clock is far past 1 s */
    const artemis_instance_t *a = artemis_service_instance(s, 0);
    const artemis_instance_t *b = artemis_service_instance(s, 1);
    assert_null(artemis_service_instance(s, 2));
    assert_string_equal(artemis_instance_get(a, ARTEMIS_FIELD_INSTANCE_ID), "10.0.0.5:8080");
    assert_string_equal(artemis_instance_get(a, ARTEMIS_FIELD_HEALTH_CHECK_URL),
                        "http://10.0.0.5:8080/health");
    assert_string_equal(artemis_instance_get(a, ARTEMIS_FIELD_ZONE_ID), "sha-z1");
    assert_null(artemis_instance_get(a, ARTEMIS_FIELD_GROUP_ID));
    assert_int_equal(artemis_instance_port(a), 8080);
    assert_string_equal(artemis_instance_metadata(a, "env"), "prod");
    assert_null(artemis_instance_metadata(b, "env"));
    assert_string_equal(artemis_instance_get(b, ARTEMIS_FIELD_MACHINE_NAME), "host-6");
    assert_int_equal(artemis_instance_metadata_count(a), 1);
    assert_string_equal(artemis_instance_metadata_key(a, 0), "env");
    assert_string_equal(artemis_instance_metadata_value(a, 0), "prod");
    assert_int_equal(artemis_instance_metadata_count(b), 0);
    assert_int_equal(s->rules->n_rules, 0); /* routeRules [] */

    /* The disk form is lookup's Service shape with every field. */
    artemisi_buf_t buf = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_service_encode(&buf, s), 0);
    json_t *got = parse(buf.data), *want = parse(F10_SERVICE);
    json_object_set_new(want, "logicInstances", json_null());
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    artemisi_buf_free(&buf);

    assert_ptr_equal(artemis_service_ref(s), s);
    artemis_service_unref(s);
    artemis_service_unref(s);
    artemis_service_unref(NULL);
}

static void test_from_json_rejects_and_skips(void **state)
{
    (void)state;
    assert_null(svc_from("[]", 0, 0));
    assert_null(svc_from("{\"instances\":[]}", 0, 0));
    assert_null(svc_from("{\"serviceId\":\" \"}", 0, 0));
    assert_null(svc_from("{\"serviceId\":5}", 0, 0));
    assert_null(svc_from("{\"serviceId\":\"s\",\"instances\":{}}", 0, 0));
    assert_null(svc_from("{\"serviceId\":\"s\",\"routeRules\":\"x\"}", 0, 0));

    /* null lists, lower-case property names, blank and malformed instances skipped */
    artemis_service_t *s =
        svc_from("{\"SERVICEID\":\"s\",\"instances\":null,\"routeRules\":null}", 0, 1);
    assert_non_null(s);
    assert_int_equal(artemis_service_instance_count(s), 0);
    assert_int_equal(artemis_service_is_stale(s), 1);
    assert_null(artemis_service_pick(s));
    artemis_service_unref(s);

    s = svc_from("{\"serviceId\":\"s\",\"instances\":[{\"instanceId\":\"\"},null,5,"
                 "{\"instanceId\":\"a\",\"port\":\"x\"},{\"instanceId\":\"b\",\"ip\":7},"
                 "{\"instanceid\":\"ok\",\"status\":\"UP\"}]}",
                 0, 0);
    assert_non_null(s);
    assert_int_equal(artemis_service_instance_count(s), 1);
    assert_string_equal(
        artemis_instance_get(artemis_service_instance(s, 0), ARTEMIS_FIELD_INSTANCE_ID), "ok");
    artemis_service_unref(s);
}

static void test_with_change(void **state)
{
    (void)state;
    artemis_service_t *s0 = svc_from(F10_SERVICE, 1000, 0);
    const artemis_instance_t *a0 = artemis_service_instance(s0, 0);
    const artemis_instance_t *b0 = artemis_service_instance(s0, 1);

    /* new: appended, the others shared by reference */
    artemis_service_t *s1 = change(s0, "new", inst_json("n1", "up", NULL));
    assert_non_null(s1);
    assert_ptr_not_equal(s1, s0);
    assert_int_equal(artemis_service_instance_count(s0), 2);
    assert_int_equal(artemis_service_instance_count(s1), 3);
    assert_ptr_equal(artemis_service_instance(s1, 0), a0);
    assert_ptr_equal(artemis_service_instance(s1, 1), b0);
    assert_int_equal(artemisi_instance_of(a0)->refs, 2);
    assert_int_equal(artemisi_service_confirmed_ms(s1), 2000);
    assert_string_equal(artemis_service_id(s1), "demo.service.v1");

    /* change of the same InstanceKey in another case: replaced in place */
    artemis_service_t *s2 = change(
        s1, "CHANGE",
        "{\"instanceId\":\"10.0.0.6:8080\",\"regionId\":\"SHA\",\"serviceId\":\"Demo.Service.V1\","
        "\"status\":\"down\"}");
    assert_int_equal(artemis_service_instance_count(s2), 3);
    assert_ptr_equal(artemis_service_instance(s2, 0), a0);
    assert_ptr_not_equal(artemis_service_instance(s2, 1), b0);
    assert_string_equal(artemis_instance_get(artemis_service_instance(s2, 1), ARTEMIS_FIELD_STATUS),
                        "down");
    assert_string_equal(artemis_instance_get(b0, ARTEMIS_FIELD_STATUS), "up"); /* s1 intact */

    /* identical replacement, unknown delete, reload, junk: the same snapshot back */
    const char *same_a =
        "{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","
        "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
        "\"metadata\":{\"env\":\"prod\"},\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
        "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/demo\","
        "\"zoneId\":\"sha-z1\"}";
    const char *cases[][2] = {{"new", same_a},
                              {"delete", "{\"instanceId\":\"nope\"}"},
                              {"reload", "{\"instanceId\":\"reload\"}"},
                              {"bogus", same_a},
                              {"new", "{\"instanceId\":\" \"}"},
                              {"new", "[1]"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        artemis_service_t *x = change(s2, cases[i][0], cases[i][1]);
        assert_ptr_equal(x, s2);
        artemis_service_unref(x);
    }

    /* delete by key */
    artemis_service_t *s3 = change(s2, "delete",
                                   "{\"instanceId\":\"10.0.0.5:8080\",\"regionId\":\"sha\","
                                   "\"serviceId\":\"demo.service.v1\"}");
    assert_int_equal(artemis_service_instance_count(s3), 2);
    assert_string_equal(
        artemis_instance_get(artemis_service_instance(s3, 0), ARTEMIS_FIELD_INSTANCE_ID),
        "10.0.0.6:8080");
    assert_int_equal(artemisi_instance_of(a0)->refs, 3); /* s0, s1, s2 */

    /* a stale view keeps its confirmed time */
    artemis_service_t *st = artemisi_service_restamp(s3, 50, 1);
    assert_int_equal(artemis_service_is_stale(st), 1);
    artemis_service_t *st2 = change(st, "new", inst_json("n2", "up", NULL));
    assert_int_equal(artemis_service_is_stale(st2), 1);
    assert_int_equal(artemisi_service_confirmed_ms(st2), 50);
    assert_true(artemisi_service_same_data(s3, st));
    assert_false(artemisi_service_same_data(s3, st2));

    artemis_service_unref(s0);
    artemis_service_unref(s1);
    artemis_service_unref(s2);
    artemis_service_unref(s3);
    artemis_service_unref(st);
    artemis_service_unref(st2);
}

/* ---- pick --------------------------------------------------------------------------------- */

static artemis_service_t *make_service(const char *instances_json, const char *rules_json)
{
    char buf[8192];
    snprintf(buf, sizeof(buf), "{\"serviceId\":\"svc\",\"instances\":[%s],\"routeRules\":%s}",
             instances_json, rules_json ? rules_json : "null");
    return svc_from(buf, 0, 0);
}

static int index_of(const artemis_service_t *s, const artemis_instance_t *i)
{
    for (size_t k = 0; k < artemis_service_instance_count(s); k++)
        if (artemis_service_instance(s, k) == i)
            return (int)k;
    return -1;
}

static void test_pick_up_only_round_robin(void **state)
{
    (void)state;
    char insts[4096];
    snprintf(insts, sizeof(insts), "%s,%s,%s,%s,%s,%s", inst_json("a", "up", NULL),
             inst_json("b", "down", NULL), inst_json("c", "Up", NULL),
             inst_json("d", "starting", NULL), inst_json("e", "UP", NULL),
             inst_json("f", "up", NULL));
    artemis_service_t *s = make_service(insts, NULL);
    int count[6] = {0};
    for (int n = 0; n < 1000; n++) {
        const artemis_instance_t *i = artemis_service_pick(s);
        assert_non_null(i);
        count[index_of(s, i)]++;
    }
    assert_int_equal(count[1], 0);
    assert_int_equal(count[3], 0);
    assert_int_equal(count[0], 250);
    assert_int_equal(count[2], 250);
    assert_int_equal(count[4], 250);
    assert_int_equal(count[5], 250);
    artemis_service_unref(s);

    snprintf(insts, sizeof(insts), "%s,%s", inst_json("a", "down", NULL),
             inst_json("b", "unknown", NULL));
    s = make_service(insts, NULL);
    assert_null(artemis_service_pick(s));
    artemis_service_unref(s);
    assert_null(artemis_service_pick(NULL));
}

static void test_pick_weighted_f22(void **state)
{
    (void)state;
    artemis_service_t *s = svc_from(F22_SERVICE, 0, 0);
    assert_non_null(s);
    assert_int_equal(s->n_pg, 2);
    int blue = 0, green = 0, run = 0, max_run = 0, last = -1;
    for (int n = 0; n < 1000; n++) {
        const artemis_instance_t *i = artemis_service_pick(s);
        const char *g = artemis_instance_get(i, ARTEMIS_FIELD_GROUP_ID);
        int is_blue = strcmp(g, "blue") == 0;
        blue += is_blue;
        green += !is_blue;
        run = is_blue == last ? run + 1 : 1;
        last = is_blue;
        if (run > max_run)
            max_run = run;
    }
    assert_in_range(blue, 750, 850);
    assert_in_range(green, 150, 250);
    assert_true(max_run < 20); /* interleaved, not 80 in a row */
    artemis_service_unref(s);
}

static void test_pick_groups(void **state)
{
    (void)state;
    /* Group g1 (weight 3): a, b, c by path; g2 (weight 1): x by explicit id; d is down;
     * y belongs to no group and is never picked. Weight and rule edge cases alongside. */
    char insts[4096];
    snprintf(insts, sizeof(insts), "%s,%s,%s,%s,%s,%s", inst_json("a", "up", "G1"),
             inst_json("b", "up", "g1"), inst_json("c", "up", "g1"), inst_json("d", "down", "g1"),
             inst_json("x", "up", "other"), inst_json("y", "up", "none"));
    const char *rules =
        "[{\"routeId\":\"first\",\"groups\":[{\"groupKey\":\"svc/sha/z1/none\",\"weight\":1}]},"
        "{\"routeId\":\"\",\"groups\":[{\"groupKey\":\"svc/sha/z1/none\"}]},"
        "{\"routeId\":\"Default-Route-Rule\",\"groups\":["
        "{\"groupKey\":\"svc/sha/z1/g1\",\"weight\":3},"
        "{\"groupKey\":\"svc/sha/z1/g2\",\"weight\":1,\"instanceIds\":[\"x\",7,\"zz\"]},"
        "{\"groupKey\":\"svc/sha/z1/empty\",\"weight\":50},"
        "{\"groupKey\":\"\",\"weight\":50},"
        "{\"groupKey\":\"svc/sha/z1/g\",\"weight\":null},"
        "{\"groupKey\":\"svc/sha/z1/neg\",\"weight\":-7},"
        "{\"groupKey\":\"svc/sha/z1/big\",\"weight\":20000}]}]";
    artemis_service_t *s = make_service(insts, rules);
    assert_non_null(s);
    assert_int_equal(s->rules->n_rules, 2); /* the blank routeId is dropped */
    const artemisi_rule_t *r = &s->rules->rules[1];
    assert_int_equal(r->n_groups, 6); /* the blank groupKey is dropped */
    assert_string_equal(r->strategy, "weighted-round-robin");
    assert_int_equal(r->groups[3].weight, 5);
    assert_int_equal(r->groups[4].weight, 5);
    assert_int_equal(r->groups[5].weight, 10000);
    assert_int_equal(r->groups[1].n_ids, 2);
    /* "svc/sha/z1/g" must not match "svc/sha/z1/g1/..." (prefix + "/") */
    assert_int_equal(s->n_pg, 2);

    int count[6] = {0};
    for (int n = 0; n < 4000; n++)
        count[index_of(s, artemis_service_pick(s))]++;
    assert_int_equal(count[0], 1000);
    assert_int_equal(count[1], 1000);
    assert_int_equal(count[2], 1000);
    assert_int_equal(count[3], 0);
    assert_int_equal(count[4], 1000);
    assert_int_equal(count[5], 0);
    artemis_service_unref(s);

    /* Without a default-route-rule the first rule is used; groups with no up member fall
     * back to round-robin over every up instance. */
    snprintf(insts, sizeof(insts), "%s,%s", inst_json("a", "up", "g1"), inst_json("b", "up", "g2"));
    s = make_service(insts, "[{\"routeId\":\"r\",\"groups\":[{\"groupKey\":\"svc/sha/z1/g2\","
                            "\"weight\":0},{\"groupKey\":\"svc/sha/z1/g1\"}]}]");
    for (int n = 0; n < 10; n++)
        assert_int_equal(index_of(s, artemis_service_pick(s)), 0);
    artemis_service_unref(s);
    s = make_service(insts, "[{\"routeId\":\"r\",\"groups\":[{\"groupKey\":\"svc/sha/z1/g9\"}]}]");
    int seen[2] = {0};
    for (int n = 0; n < 10; n++)
        seen[index_of(s, artemis_service_pick(s))]++;
    assert_int_equal(seen[0], 5);
    assert_int_equal(seen[1], 5);
    artemis_service_unref(s);
}

/* ---- route rules and groups (public view) -------------------------------------------------- */

/* F23: the routeRules the Java SDK derives from F22. */
#define F23_INST5                                                                                  \
    "{\"groupId\":\"blue\",\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","                    \
    "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","             \
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","                  \
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/demo\","   \
    "\"zoneId\":\"sha-z1\"}"
#define F23_INST9                                                                                  \
    "{\"groupId\":\"green\",\"healthCheckUrl\":\"http://10.0.0.9:8080/health\","                   \
    "\"instanceId\":\"10.0.0.9:8080\",\"ip\":\"10.0.0.9\",\"machineName\":\"host-9\","             \
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","                  \
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.9:8080/demo\","   \
    "\"zoneId\":\"sha-z1\"}"
static const char F23_RULES[] =
    "[{\"groups\":[{\"groupKey\":\"demo.service.v1/sha/sha-z1/blue\",\"instanceIds\":null,"
    "\"instances\":[" F23_INST5 "],\"metadata\":{\"owner\":\"team-a\"},\"weight\":80},"
    "{\"groupKey\":\"demo.service.v1/sha/sha-z1/"
    "green\",\"instanceIds\":null,\"instances\":[" F23_INST9
    "],\"metadata\":null,\"weight\":20}],\"routeId\":\"bluegreen\","
    "\"strategy\":\"weighted-round-robin\"},{\"groups\":[{\"groupKey\":\"default-group-key\","
    "\"instanceIds\":null,\"instances\":[" F23_INST5 "," F23_INST9 "],\"metadata\":null,"
    "\"weight\":5}],\"routeId\":\"default-route-rule\",\"strategy\":\"weighted-round-robin\"}]";

/* The snapshot's rules through the public API, in F23's shape (instanceIds null, as Java's
 * derived groups have them). */
static json_t *rules_as_json(const artemis_service_t *s)
{
    json_t *rules = json_array();
    for (size_t r = 0; r < artemis_service_route_rule_count(s); r++) {
        const artemis_route_rule_t *rule = artemis_service_route_rule(s, r);
        json_t *groups = json_array();
        for (size_t g = 0; g < artemis_route_rule_group_count(rule); g++) {
            const artemis_group_t *grp = artemis_route_rule_group(rule, g);
            json_t *insts = json_array(), *md = json_null();
            for (size_t i = 0; i < artemis_group_instance_count(grp); i++) {
                artemisi_buf_t b = ARTEMISI_BUF_INIT;
                assert_int_equal(artemisi_encode_instance(
                                     &b, artemisi_instance_of(artemis_group_instance(grp, i))),
                                 0);
                json_array_append_new(insts, parse(b.data));
                artemisi_buf_free(&b);
            }
            if (artemis_group_metadata_count(grp) > 0) {
                md = json_object();
                for (size_t t = 0; t < artemis_group_metadata_count(grp); t++)
                    json_object_set_new(md, artemis_group_metadata_key(grp, t),
                                        json_string(artemis_group_metadata_value(grp, t)));
            }
            json_array_append_new(groups, json_pack("{s:s, s:n, s:o, s:o, s:i}", "groupKey",
                                                    artemis_group_key(grp), "instanceIds",
                                                    "instances", insts, "metadata", md, "weight",
                                                    artemis_group_weight(grp)));
        }
        json_array_append_new(rules, json_pack("{s:o, s:s, s:s}", "groups", groups, "routeId",
                                               artemis_route_rule_id(rule), "strategy",
                                               artemis_route_rule_strategy(rule)));
    }
    return rules;
}

static void test_route_rules_f23(void **state)
{
    (void)state;
    artemis_service_t *s = svc_from(F22_SERVICE, 0, 0);
    assert_non_null(s);
    json_t *got = rules_as_json(s), *want = parse(F23_RULES);
    if (!json_equal(got, want)) {
        char *t = json_dumps(got, JSON_COMPACT);
        fail_msg("rules differ from F23: %s", t);
    }
    json_decref(got);
    json_decref(want);

    assert_int_equal(artemis_service_route_rule_count(s), 2);
    const artemis_route_rule_t *bg = artemis_service_route_rule(s, 0);
    const artemis_route_rule_t *dflt = artemis_service_route_rule(s, 1);
    assert_null(artemis_service_route_rule(s, 2));
    assert_int_equal(artemis_route_rule_is_derived(bg), 0);
    assert_int_equal(artemis_route_rule_is_derived(dflt), 1);
    /* pick() uses the server's first rule, not the derived default */
    assert_ptr_equal(artemis_service_pick_rule(s), bg);
    assert_ptr_equal(artemis_service_find_route_rule(s, "BlueGreen"), bg);
    assert_ptr_equal(artemis_service_find_route_rule(s, "DEFAULT-route-rule"), dflt);
    assert_null(artemis_service_find_route_rule(s, "nope"));
    assert_null(artemis_service_find_route_rule(s, NULL));

    /* The groups' instances are the snapshot's own instances (borrowed, not copies). */
    const artemis_group_t *blue = artemis_route_rule_group(bg, 0);
    const artemis_group_t *green = artemis_route_rule_group(bg, 1);
    assert_null(artemis_route_rule_group(bg, 2));
    assert_ptr_equal(artemis_group_instance(blue, 0), artemis_service_instance(s, 0));
    assert_ptr_equal(artemis_group_instance(green, 0), artemis_service_instance(s, 1));
    assert_null(artemis_group_instance(blue, 1));
    assert_string_equal(artemis_group_metadata(blue, "owner"), "team-a");
    assert_null(artemis_group_metadata(blue, "Owner")); /* a Java Map: exact keys */
    assert_null(artemis_group_metadata(green, "owner"));
    assert_null(artemis_group_metadata(blue, NULL));
    assert_int_equal(artemis_group_metadata_count(green), 0);
    assert_null(artemis_group_metadata_key(blue, 1));
    assert_null(artemis_group_metadata_value(blue, 1));

    /* Over 1000 picks (ten cycles of W = 100) the weights hold exactly, by either entry. */
    int blue_n = 0, green_n = 0;
    for (int n = 0; n < 1000; n++) {
        const artemis_instance_t *i = artemis_service_pick(s);
        blue_n += i == artemis_group_instance(blue, 0);
        green_n += i == artemis_group_instance(green, 0);
    }
    assert_int_equal(blue_n, 800);
    assert_int_equal(green_n, 200);
    blue_n = green_n = 0;
    for (int n = 0; n < 100; n++) {
        const artemis_instance_t *i = artemis_route_rule_pick(bg);
        blue_n += i == artemis_group_instance(blue, 0);
        green_n += i == artemis_group_instance(green, 0);
    }
    assert_int_equal(blue_n, 80);
    assert_int_equal(green_n, 20);
    /* The derived rule round-robins over every registered instance. */
    assert_ptr_equal(artemis_route_rule_pick(dflt), artemis_service_instance(s, 0));
    assert_ptr_equal(artemis_route_rule_pick(dflt), artemis_service_instance(s, 1));
    assert_ptr_equal(artemis_route_rule_pick(dflt), artemis_service_instance(s, 0));
    artemis_service_unref(s);
}

static void test_route_rules_null_args_and_defaults(void **state)
{
    (void)state;
    assert_int_equal(artemis_service_route_rule_count(NULL), 0);
    assert_null(artemis_service_route_rule(NULL, 0));
    assert_null(artemis_service_pick_rule(NULL));
    assert_null(artemis_service_find_route_rule(NULL, "x"));
    assert_null(artemis_route_rule_id(NULL));
    assert_null(artemis_route_rule_strategy(NULL));
    assert_int_equal(artemis_route_rule_is_derived(NULL), 0);
    assert_int_equal(artemis_route_rule_group_count(NULL), 0);
    assert_null(artemis_route_rule_group(NULL, 0));
    assert_null(artemis_route_rule_pick(NULL));
    assert_null(artemis_group_key(NULL));
    assert_int_equal(artemis_group_weight(NULL), 0);
    assert_int_equal(artemis_group_instance_count(NULL), 0);
    assert_null(artemis_group_instance(NULL, 0));
    assert_null(artemis_group_metadata(NULL, "k"));
    assert_int_equal(artemis_group_metadata_count(NULL), 0);
    assert_null(artemis_group_metadata_key(NULL, 0));
    assert_null(artemis_group_metadata_value(NULL, 0));
    assert_int_equal(artemis_service_logic_instance_count(NULL), 0);
    assert_null(artemis_service_logic_instance(NULL, 0));

    /* No routeRules at all (F10): only the derived rule, with every instance. */
    artemis_service_t *s = svc_from(F10_SERVICE, 0, 0);
    assert_int_equal(artemis_service_route_rule_count(s), 1);
    const artemis_route_rule_t *r = artemis_service_pick_rule(s);
    assert_ptr_equal(r, artemis_service_route_rule(s, 0));
    assert_string_equal(artemis_route_rule_id(r), "default-route-rule");
    assert_string_equal(artemis_route_rule_strategy(r), "weighted-round-robin");
    assert_int_equal(artemis_route_rule_is_derived(r), 1);
    assert_int_equal(artemis_route_rule_group_count(r), 1);
    const artemis_group_t *g = artemis_route_rule_group(r, 0);
    assert_string_equal(artemis_group_key(g), "default-group-key");
    assert_int_equal(artemis_group_weight(g), 5);
    assert_int_equal(artemis_group_instance_count(g), 2);
    assert_int_equal(artemis_group_metadata_count(g), 0);
    assert_int_equal(artemis_service_logic_instance_count(s), 0);
    artemis_service_unref(s);

    /* No instances: the derived rule has no group (step 3) and nothing to pick. */
    s = svc_from("{\"serviceId\":\"e\"}", 0, 0);
    r = artemis_service_pick_rule(s);
    assert_int_equal(artemis_service_route_rule_count(s), 1);
    assert_int_equal(artemis_route_rule_group_count(r), 0);
    assert_null(artemis_route_rule_pick(r));
    assert_null(artemis_service_pick(s));
    artemis_service_unref(s);

    /* A server default-route-rule (any case) is chosen wherever it is and nothing is derived;
     * a rule whose groups have no instance stays with zero groups (step 4); a rule without
     * strategy gets weighted-round-robin; a blank routeId or empty groups drop the rule. */
    char insts[2048];
    snprintf(insts, sizeof(insts), "%s,%s", inst_json("a", "up", "g1"), inst_json("b", "up", "g2"));
    s = make_service(insts, "[{\"routeId\":\"empty\",\"strategy\":\"close-by-visit\",\"groups\":["
                            "{\"groupKey\":\"svc/sha/z1/nobody\",\"weight\":9}]},"
                            "{\"routeId\":\" \",\"groups\":[{\"groupKey\":\"svc/sha/z1/g1\"}]},"
                            "{\"routeId\":\"nogroups\",\"groups\":[]},"
                            "{\"routeId\":\"DEFAULT-ROUTE-RULE\",\"groups\":["
                            "{\"groupKey\":\"svc/sha/z1/g2\",\"weight\":1}]}]");
    assert_int_equal(artemis_service_route_rule_count(s), 2);
    r = artemis_service_route_rule(s, 0);
    assert_string_equal(artemis_route_rule_id(r), "empty");
    assert_string_equal(artemis_route_rule_strategy(r), "close-by-visit");
    assert_int_equal(artemis_route_rule_group_count(r), 0);
    assert_null(artemis_route_rule_pick(r)); /* no fallback for an explicit rule */
    r = artemis_service_route_rule(s, 1);
    assert_ptr_equal(artemis_service_pick_rule(s), r);
    assert_string_equal(artemis_route_rule_id(r), "DEFAULT-ROUTE-RULE");
    assert_string_equal(artemis_route_rule_strategy(r), "weighted-round-robin");
    assert_int_equal(artemis_route_rule_is_derived(r), 0);
    for (int n = 0; n < 5; n++)
        assert_ptr_equal(artemis_service_pick(s), artemis_service_instance(s, 1));
    artemis_service_unref(s);
}

static void test_route_rules_weights(void **state)
{
    (void)state;
    char insts[4096];
    snprintf(insts, sizeof(insts), "%s,%s,%s,%s,%s", inst_json("a", "up", "n"),
             inst_json("b", "up", "m"), inst_json("c", "up", "big"), inst_json("d", "up", "zero"),
             inst_json("e", "up", "f"));
    artemis_service_t *s = make_service(insts, "[{\"routeId\":\"w\",\"groups\":["
                                               "{\"groupKey\":\"svc/sha/z1/n\",\"weight\":null},"
                                               "{\"groupKey\":\"svc/sha/z1/m\",\"weight\":-1},"
                                               "{\"groupKey\":\"svc/sha/z1/big\",\"weight\":20000},"
                                               "{\"groupKey\":\"svc/sha/z1/zero\",\"weight\":0},"
                                               "{\"groupKey\":\"svc/sha/z1/f\"}]}]");
    const artemis_route_rule_t *r = artemis_service_route_rule(s, 0);
    assert_int_equal(artemis_route_rule_group_count(r), 5);
    const int want[] = {5, 5, 10000, 0, 5};
    for (size_t g = 0; g < 5; g++) {
        const artemis_group_t *grp = artemis_route_rule_group(r, g);
        assert_int_equal(artemis_group_weight(grp), want[g]);
        assert_int_equal(artemis_group_instance_count(grp), 1);
        assert_ptr_equal(artemis_group_instance(grp, 0), artemis_service_instance(s, g));
    }
    /* One cycle is W = 10015 picks: each group exactly its weight; weight 0 is never picked. */
    int count[5] = {0};
    for (int n = 0; n < 10015; n++)
        count[index_of(s, artemis_service_pick(s))]++;
    assert_int_equal(count[0], 5);
    assert_int_equal(count[1], 5);
    assert_int_equal(count[2], 10000);
    assert_int_equal(count[3], 0);
    assert_int_equal(count[4], 5);
    artemis_service_unref(s);
}

static void test_route_rules_down_group(void **state)
{
    (void)state;
    /* Group "dead" has only down instances: it is shown (its members exist) but never picked;
     * the rule's other group takes every pick. */
    char insts[4096];
    snprintf(insts, sizeof(insts), "%s,%s,%s,%s", inst_json("a", "down", "dead"),
             inst_json("b", "starting", "dead"), inst_json("c", "up", "live"),
             inst_json("d", "up", "live"));
    const char *rules = "[{\"routeId\":\"r\",\"groups\":["
                        "{\"groupKey\":\"svc/sha/z1/dead\",\"weight\":90},"
                        "{\"groupKey\":\"svc/sha/z1/live\",\"weight\":10}]}]";
    artemis_service_t *s = make_service(insts, rules);
    const artemis_route_rule_t *r = artemis_service_pick_rule(s);
    assert_int_equal(artemis_route_rule_group_count(r), 2);
    const artemis_group_t *dead = artemis_route_rule_group(r, 0);
    assert_int_equal(artemis_group_instance_count(dead), 2);
    assert_ptr_equal(artemis_group_instance(dead, 0), artemis_service_instance(s, 0));
    assert_ptr_equal(artemis_group_instance(dead, 1), artemis_service_instance(s, 1));
    int count[4] = {0};
    for (int n = 0; n < 100; n++)
        count[index_of(s, artemis_service_pick(s))]++;
    assert_int_equal(count[0] + count[1], 0);
    assert_int_equal(count[2], 50);
    assert_int_equal(count[3], 50);
    artemis_service_unref(s);

    /* Every group down: the rule has nothing (NULL), pick() falls back to the up instances. */
    snprintf(insts, sizeof(insts), "%s,%s", inst_json("a", "down", "dead"),
             inst_json("x", "up", "other"));
    s = make_service(insts, rules);
    r = artemis_service_pick_rule(s);
    assert_int_equal(artemis_route_rule_group_count(r), 1);
    assert_null(artemis_route_rule_pick(r));
    assert_ptr_equal(artemis_service_pick(s), artemis_service_instance(s, 1));
    artemis_service_unref(s);
}

static void test_route_rules_canary_and_logic(void **state)
{
    (void)state;
    /* Canary group: explicit id c1 (registered) plus the server-resolved instances c1 (the
     * same InstanceKey in another case: not added twice) and c2 (not registered: added). The
     * same `instances` on a non-canary rule are ignored. Group "mix" lists L1 (logical only)
     * and a (registered and logical: the registered one wins). */
    char insts[4096], canary_insts[1024], buf[12288];
    snprintf(insts, sizeof(insts), "%s,%s,%s", inst_json("c1", "up", NULL),
             inst_json("a", "up", NULL), inst_json("b", "up", NULL));
    snprintf(canary_insts, sizeof(canary_insts), "%s,%s,{\"instanceId\":\" \"}",
             "{\"instanceId\":\"C1\",\"serviceId\":\"SVC\",\"regionId\":\"sha\",\"status\":\"up\"}",
             inst_json("c2", "up", "canary"));
    snprintf(buf, sizeof(buf),
             "{\"serviceId\":\"svc\",\"instances\":[%s],"
             "\"logicInstances\":[{\"instanceId\":\"L1\",\"serviceId\":\"svc\",\"status\":\"up\"},"
             "{\"instanceId\":\"a\",\"serviceId\":\"svc\",\"status\":\"up\",\"ip\":\"logic\"},"
             "{\"instanceId\":\"\"}],"
             "\"routeRules\":[{\"routeId\":\"other\",\"groups\":[{\"groupKey\":\"k/none\","
             "\"instanceIds\":[\"b\"],\"instances\":[%s]}]},"
             "{\"routeId\":\"Canary-Route-Rule\",\"groups\":[{\"groupKey\":\"svc/sha/canary/app\","
             "\"weight\":5,\"instanceIds\":[\"c1\"],\"instances\":[%s],"
             "\"metadata\":{\"app\":\"x\",\"n\":5}}]},"
             "{\"routeId\":\"logic\",\"groups\":[{\"groupKey\":\"k/mix\","
             "\"instanceIds\":[\"L1\",\"a\",\"missing\"]}]}]}",
             insts, canary_insts, canary_insts);
    artemis_service_t *s = svc_from(buf, 0, 0);
    assert_non_null(s);
    assert_int_equal(artemis_service_logic_instance_count(s), 2);
    assert_string_equal(
        artemis_instance_get(artemis_service_logic_instance(s, 0), ARTEMIS_FIELD_INSTANCE_ID),
        "L1");
    assert_null(artemis_service_logic_instance(s, 2));

    const artemis_group_t *g = artemis_route_rule_group(artemis_service_route_rule(s, 0), 0);
    assert_int_equal(artemis_group_instance_count(g), 1); /* b only */
    assert_ptr_equal(artemis_group_instance(g, 0), artemis_service_instance(s, 2));

    const artemis_route_rule_t *canary = artemis_service_find_route_rule(s, "canary-route-rule");
    g = artemis_route_rule_group(canary, 0);
    assert_int_equal(artemis_group_instance_count(g), 2);
    assert_ptr_equal(artemis_group_instance(g, 0), artemis_service_instance(s, 0));
    assert_string_equal(
        artemis_instance_get(artemis_group_instance(g, 1), ARTEMIS_FIELD_INSTANCE_ID), "c2");
    assert_string_equal(artemis_group_metadata(g, "app"), "x");
    assert_null(artemis_group_metadata(g, "n")); /* not a string */
    assert_int_equal(artemis_group_metadata_count(g), 1);
    /* Picking in the canary rule reaches the server-resolved instance too. */
    const artemis_instance_t *p1 = artemis_route_rule_pick(canary);
    const artemis_instance_t *p2 = artemis_route_rule_pick(canary);
    assert_ptr_equal(p1, artemis_group_instance(g, 0));
    assert_ptr_equal(p2, artemis_group_instance(g, 1));

    g = artemis_route_rule_group(artemis_service_find_route_rule(s, "logic"), 0);
    assert_int_equal(artemis_group_instance_count(g), 2);
    assert_ptr_equal(artemis_group_instance(g, 0), artemis_service_instance(s, 1)); /* a */
    assert_ptr_equal(artemis_group_instance(g, 1), artemis_service_logic_instance(s, 0));

    /* A change re-resolves the groups; the old snapshot keeps its view. Logical instances
     * and rules are shared. */
    artemis_service_t *s2 = change(s, "new", inst_json("L1", "up", NULL));
    g = artemis_route_rule_group(artemis_service_find_route_rule(s2, "logic"), 0);
    assert_int_equal(artemis_group_instance_count(g), 2);
    assert_ptr_equal(artemis_group_instance(g, 0), artemis_service_instance(s2, 1));
    assert_ptr_equal(artemis_group_instance(g, 1), artemis_service_instance(s2, 3)); /* L1 */
    assert_ptr_equal(artemis_service_logic_instance(s2, 0), artemis_service_logic_instance(s, 0));
    g = artemis_route_rule_group(artemis_service_find_route_rule(s, "logic"), 0);
    assert_ptr_equal(artemis_group_instance(g, 1), artemis_service_logic_instance(s, 0));

    /* The disk form keeps the logical instances; a reload shows the same data. */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_service_encode(&b, s), 0);
    artemis_service_t *back = svc_from(b.data, 0, 1);
    assert_non_null(back);
    assert_true(artemisi_service_same_data(s, back));
    assert_int_equal(artemis_service_logic_instance_count(back), 2);
    /* Another logical instance is other data (a reload must publish it). */
    char *l1 = strstr(b.data, "\"L1\"");
    assert_non_null(l1);
    l1[2] = '9';
    artemis_service_t *other = svc_from(b.data, 0, 1);
    assert_false(artemisi_service_same_data(s, other));
    artemis_service_unref(other);
    artemisi_buf_free(&b);

    artemis_service_unref(back);
    artemis_service_unref(s2);
    artemis_service_unref(s);
}

static void test_group_path(void **state)
{
    (void)state;
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    d.f[ARTEMISI_F_SERVICE_ID] = " Demo.Svc ";
    d.f[ARTEMISI_F_REGION_ID] = "SHA";
    d.f[ARTEMISI_F_ZONE_ID] = NULL;
    d.f[ARTEMISI_F_GROUP_ID] = "DEFAULT";
    d.f[ARTEMISI_F_INSTANCE_ID] = "/I-1";
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_instance_group_path(&d, &b), 0);
    assert_string_equal(b.data, "demo.svc/sha/default/i-1");
    artemisi_buf_reset(&b);
    d.f[ARTEMISI_F_ZONE_ID] = "z/";
    d.f[ARTEMISI_F_GROUP_ID] = "  ";
    assert_int_equal(artemisi_instance_group_path(&d, &b), 0);
    assert_string_equal(b.data, "demo.svc/sha/z/default/i-1");
    artemisi_buf_free(&b);
}

static void test_to_json(void **state)
{
    (void)state;
    artemis_service_t *s = svc_from(F10_SERVICE, 0, 0);
    char *j = artemis_service_to_json(s);
    assert_string_equal(j, "{\"serviceId\":\"demo.service.v1\",\"instances\":["
                           "{\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"port\":8080,"
                           "\"status\":\"up\"},"
                           "{\"instanceId\":\"10.0.0.6:8080\",\"ip\":\"10.0.0.6\",\"port\":8080,"
                           "\"status\":\"up\"}]}");
    artemis_free(j);
    artemis_service_unref(s);

    s = svc_from("{\"serviceId\":\"e\\\"x\",\"instances\":[{\"instanceId\":\"i\"}]}", 0, 0);
    j = artemis_service_to_json(s);
    assert_string_equal(j, "{\"serviceId\":\"e\\\"x\",\"instances\":[{\"instanceId\":\"i\","
                           "\"ip\":null,\"port\":0,\"status\":null}]}");
    artemis_free(j);
    artemis_service_unref(s);
    s = svc_from("{\"serviceId\":\"e\"}", 0, 0);
    j = artemis_service_to_json(s);
    assert_string_equal(j, "{\"serviceId\":\"e\",\"instances\":[]}");
    artemis_free(j);
    artemis_service_unref(s);
    assert_null(artemis_service_to_json(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_defaults),
        cmocka_unit_test(test_builder_setters),
        cmocka_unit_test(test_from_json_f10),
        cmocka_unit_test(test_from_json_rejects_and_skips),
        cmocka_unit_test(test_with_change),
        cmocka_unit_test(test_pick_up_only_round_robin),
        cmocka_unit_test(test_pick_weighted_f22),
        cmocka_unit_test(test_pick_groups),
        cmocka_unit_test(test_route_rules_f23),
        cmocka_unit_test(test_route_rules_null_args_and_defaults),
        cmocka_unit_test(test_route_rules_weights),
        cmocka_unit_test(test_route_rules_down_group),
        cmocka_unit_test(test_route_rules_canary_and_logic),
        cmocka_unit_test(test_group_path),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests_name("sdk_service", tests, NULL, NULL);
}
