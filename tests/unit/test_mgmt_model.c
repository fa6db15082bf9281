/*
 * Unit tests for the management snapshot (server/mgmt_model.c, mgmt_project.c) and its effects
 * on discovery (mgmt_diff.c): the §7.2 "down" predicate rule by rule, the discovery projection
 * against fixture F22 byte for byte, what is left out (inactive or deleted rules and groups,
 * unreleased weights), the canary rule's resolved instances, and the delete / new / reload
 * announcements of a snapshot swap, read back from the registry's change log.
 */
#include "test.h"

#include <jansson.h>

#include "api.h"
#include "mgmt.h"
#include "mgmt_diff.h"
#include "mgmt_model.h"
#include "server_fixture.h"

/* Rows are given as the table's own columns (after id, create_time, update_time). */
static void add(srv_mg_snap_t *s, srv_mg_table_id_t t, const char *id, ...)
{
    const srv_mg_table_t *tab = srv_mg_table(t);
    const char *v[32] = {id, "0", "0"};
    va_list ap;
    va_start(ap, id);
    for (size_t i = SRV_MGC_FIRST; i < tab->ncols; i++)
        v[i] = va_arg(ap, const char *);
    va_end(ap);
    assert_int_equal(srv_mg_rows_add(&s->tab[t], v), 0);
}

static srv_mg_snap_t *snap_new(void)
{
    srv_mg_snap_t *s = malloc(sizeof(*s));
    assert_non_null(s);
    srv_mg_snap_init(s, 11, 22);
    return s;
}

static void snap_free(srv_mg_snap_t *s)
{
    srv_mg_snap_free(s);
    free(s);
}

/* The F22 state: rule bluegreen with groups blue (tag owner=team-a) and green (member
 * 10.0.0.9:8080), both released (80 / 20). */
static void f22_rows(srv_mg_snap_t *s)
{
    /* service_group: service, region, zone, name, app, description, status, deleted */
    add(s, SRV_MG_GROUP, "1", "demo.service.v1", "sha", "sha-z1", "blue", "app", "", "active", "0");
    add(s, SRV_MG_GROUP, "2", "demo.service.v1", "sha", "sha-z1", "green", "app", "", "active",
        "0");
    /* service_route_rule: service, name, description, status, strategy, deleted */
    add(s, SRV_MG_ROUTE_RULE, "1", "demo.service.v1", "bluegreen", "", "active",
        "weighted-round-robin", "0");
    /* service_route_rule_group: rule, group, weight, unreleased */
    add(s, SRV_MG_ROUTE_RULE_GROUP, "1", "1", "1", "80", "80");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "2", "1", "2", "20", "20");
    add(s, SRV_MG_GROUP_TAG, "1", "1", "owner", "team-a");
    add(s, SRV_MG_GROUP_INSTANCE, "1", "2", "10.0.0.9:8080");
}

static const char F22_EXTRA[] =
    "\"logicInstances\":[],\"metadata\":null,\"routeRules\":[{\"groups\":[{\"groupKey\":"
    "\"demo.service.v1/sha/sha-z1/blue\",\"instanceIds\":[],\"instances\":null,\"metadata\":{"
    "\"owner\":\"team-a\"},\"weight\":80},{\"groupKey\":\"demo.service.v1/sha/sha-z1/green\","
    "\"instanceIds\":[\"10.0.0.9:8080\"],\"instances\":null,\"metadata\":null,\"weight\":20}],"
    "\"routeId\":\"bluegreen\",\"strategy\":\"weighted-round-robin\"}]";

static void test_projection_f22(void **state)
{
    (void)state;
    srv_mg_snap_t *s = snap_new();
    f22_rows(s);
    assert_int_equal(srv_mg_snap_index(s), 0);
    /* serviceIds are matched case-insensitively */
    const srv_mg_service_t *svc = srv_mg_service(s, "DEMO.service.V1");
    assert_non_null(svc);
    assert_string_equal(svc->frag.data, F22_EXTRA);
    assert_int_equal(svc->canary, 0);
    assert_null(srv_mg_service(s, "other.service"));
    snap_free(s);
}

static void test_projection_leaves_out(void **state)
{
    (void)state;
    srv_mg_snap_t *s = snap_new();
    add(s, SRV_MG_GROUP, "1", "svc", "sha", "z", "live", "app", "", "active", "0");
    add(s, SRV_MG_GROUP, "2", "svc", "sha", "z", "off", "app", "", "inactive", "0");
    add(s, SRV_MG_GROUP, "3", "svc", "sha", "z", "gone", "app", "", "active", "1");
    add(s, SRV_MG_ROUTE_RULE, "1", "svc", "r-active", "", "active", NULL, "0");
    add(s, SRV_MG_ROUTE_RULE, "2", "svc", "r-inactive", "", "inactive", NULL, "0");
    add(s, SRV_MG_ROUTE_RULE, "3", "svc", "r-deleted", "", "active", NULL, "1");
    add(s, SRV_MG_ROUTE_RULE, "4", "svc", "r-empty", "", "active", NULL, "0");
    /* never released (weight null: fixWeight 5), over the cap, an inactive and a deleted group */
    add(s, SRV_MG_ROUTE_RULE_GROUP, "1", "1", "1", NULL, "70");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "2", "1", "2", "10", "10");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "3", "1", "3", "10", "10");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "4", "2", "1", "10", "10");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "5", "3", "1", "10", "10");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "6", "4", "2", "10", "10");
    assert_int_equal(srv_mg_snap_index(s), 0);
    assert_string_equal(srv_mg_service(s, "svc")->frag.data,
                        "\"logicInstances\":[],\"metadata\":null,\"routeRules\":[{\"groups\":[{"
                        "\"groupKey\":\"svc/sha/z/live\",\"instanceIds\":[],\"instances\":null,"
                        "\"metadata\":null,\"weight\":5}],\"routeId\":\"r-active\",\"strategy\":"
                        "\"weighted-round-robin\"}]");
    snap_free(s);
}

static artemisi_instance_t draft(const char *sid, const char *iid, const char *ip, const char *zone,
                                 const char *group)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "sha";
    ARTEMISI_INST(&d, SERVICE_ID) = sid;
    ARTEMISI_INST(&d, INSTANCE_ID) = iid;
    ARTEMISI_INST(&d, IP) = ip;
    ARTEMISI_INST(&d, ZONE_ID) = zone;
    ARTEMISI_INST(&d, GROUP_ID) = group;
    ARTEMISI_INST(&d, URL) = "http://x/";
    d.meta_null = 1;
    return d;
}

static void test_down_predicate(void **state)
{
    (void)state;
    srv_mg_snap_t *s = snap_new();
    /* instance: instance_id, service_id, region_id, operation, operator, token */
    add(s, SRV_MG_INSTANCE, "1", "I-1", "Svc.A", "SHA", "pullout", "op", NULL);
    add(s, SRV_MG_SERVER, "1", "10.0.0.7", "sha", "pullout", "op", NULL);
    /* zone: service, zone, region, operation, operator, token */
    add(s, SRV_MG_ZONE, "1", "svc.z", "z2", "sha", "pullout", "op", NULL);
    add(s, SRV_MG_GROUP, "1", "svc.g", "sha", "z1", "blue", "app", "", "active", "0");
    add(s, SRV_MG_GROUP_OP, "1", "1", "pullout", "op", NULL);
    assert_int_equal(srv_mg_snap_index(s), 0);
    artemisi_instance_t d = draft("svc.a", "i-1", "10.0.0.1", "z1", NULL);
    assert_true(srv_mg_down(s, &d)); /* rule 1, keys compared case-insensitively */
    d = draft("svc.a", "i-2", "10.0.0.1", "z1", NULL);
    assert_false(srv_mg_down(s, &d));
    d = draft("any.svc", "x", "10.0.0.7", "z1", NULL);
    assert_true(srv_mg_down(s, &d)); /* rule 2: the machine */
    d = draft("svc.z", "x", "10.0.0.1", "Z2", NULL);
    assert_true(srv_mg_down(s, &d)); /* rule 3: the service's zone */
    d = draft("other", "x", "10.0.0.1", "z2", NULL);
    assert_false(srv_mg_down(s, &d)); /* another service in that zone */
    d = draft("svc.g", "x", "10.0.0.1", "z1", "Blue");
    assert_true(srv_mg_down(s, &d)); /* rule 4: the group's key prefixes the path */
    d = draft("svc.g", "x", "10.0.0.1", "z1", "blue2");
    assert_false(srv_mg_down(s, &d)); /* a whole segment, not a string prefix */
    d = draft("svc.g", "x", "10.0.0.1", "z1", NULL);
    assert_false(srv_mg_down(s, &d)); /* the default group */
    snap_free(s);
}

/* The change log's entries after `from`, as "type:serviceId/instanceId" lines. */
static void changes(srv_server_t *srv, uint64_t from, char *out, size_t len)
{
    out[0] = 0;
    for (uint64_t q = from + 1; q <= srv->registry->log.head; q++) {
        const srv_change_t *c = srv_changelog_get(&srv->registry->log, q);
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s:%s/%s;", srv_change_type_name(c->type),
                 ARTEMISI_INST(c->inst, SERVICE_ID), ARTEMISI_INST(c->inst, INSTANCE_ID));
    }
}

static void reg(srv_server_t *srv, const char *sid, const char *iid, const char *ip)
{
    artemisi_instance_t d = draft(sid, iid, ip, "z1", NULL);
    assert_int_equal(srv_registry_register(srv->registry, &d, srv_now_mono(), srv_now_wall()), 0);
}

static void test_swap_announces(void **state)
{
    (void)state;
    srv_server_t *srv = fixture_server_new();
    reg(srv, "Demo.Svc", "a", "10.0.0.1");
    reg(srv, "Demo.Svc", "b", "10.0.0.2");
    reg(srv, "other", "c", "10.0.0.2");
    srv_mg_snap_t *empty = snap_new();
    assert_int_equal(srv_mg_snap_index(empty), 0);
    srv_mgmt_start_detached(srv, empty, NULL);
    uint64_t k0, k1;
    srv_mgmt_seed(srv, &k0, &k1);
    char got[1024];

    /* pull-out of one instance: a delete for it, nothing else; discovery leaves it out */
    uint64_t mark = srv->registry->log.head;
    srv_mg_snap_t *s1 = snap_new();
    add(s1, SRV_MG_INSTANCE, "1", "a", "demo.svc", "sha", "pullout", "op", NULL);
    assert_int_equal(srv_mg_snap_index(s1), 0);
    srv_mgmt_swap_detached(srv, s1);
    changes(srv, mark, got, sizeof(got));
    assert_string_equal(got, "delete:Demo.Svc/a;");
    const artemisi_buf_t *j = srv_service_json(srv_registry_service(srv->registry, "Demo.Svc"));
    assert_non_null(j);
    assert_null(strstr(j->data, "\"instanceId\":\"a\""));
    assert_non_null(strstr(j->data, "\"instanceId\":\"b\""));

    /* a re-registration of a pulled-out instance is not announced (§4.3) */
    mark = srv->registry->log.head;
    reg(srv, "Demo.Svc", "a", "10.0.0.1");
    changes(srv, mark, got, sizeof(got));
    assert_string_equal(got, "");

    /* pull-in, and a server pull-out of 10.0.0.2 in one swap: a new for a, deletes for b, c */
    mark = srv->registry->log.head;
    srv_mg_snap_t *s2 = snap_new();
    add(s2, SRV_MG_SERVER, "1", "10.0.0.2", "sha", "pullout", "op", NULL);
    assert_int_equal(srv_mg_snap_index(s2), 0);
    srv_mgmt_swap_detached(srv, s2);
    changes(srv, mark, got, sizeof(got));
    assert_non_null(strstr(got, "new:Demo.Svc/a;"));
    assert_non_null(strstr(got, "delete:Demo.Svc/b;"));
    assert_non_null(strstr(got, "delete:other/c;"));
    assert_int_equal(strlen(got), strlen("new:Demo.Svc/a;delete:Demo.Svc/b;delete:other/c;"));

    /* a route rule appears: one reload for the service (its registered spelling), and the
     * lookup answer carries the rule */
    mark = srv->registry->log.head;
    srv_mg_snap_t *s3 = snap_new();
    add(s3, SRV_MG_SERVER, "1", "10.0.0.2", "sha", "pullout", "op", NULL);
    add(s3, SRV_MG_GROUP, "1", "demo.svc", "sha", "z1", "g", "app", "", "active", "0");
    add(s3, SRV_MG_ROUTE_RULE, "1", "demo.svc", "r", "", "active", NULL, "0");
    add(s3, SRV_MG_ROUTE_RULE_GROUP, "1", "1", "1", "10", "10");
    assert_int_equal(srv_mg_snap_index(s3), 0);
    srv_mgmt_swap_detached(srv, s3);
    changes(srv, mark, got, sizeof(got));
    assert_string_equal(got, "reload:Demo.Svc/reload;");
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    assert_int_equal(srv_service_append(srv->registry, &out,
                                        srv_registry_service(srv->registry, "Demo.Svc"),
                                        "Demo.Svc"),
                     0);
    assert_non_null(strstr(out.data, "\"routeId\":\"r\""));
    artemisi_buf_free(&out);

    /* the same state again: nothing to announce */
    mark = srv->registry->log.head;
    srv_mg_snap_t *s4 = snap_new();
    add(s4, SRV_MG_SERVER, "1", "10.0.0.2", "sha", "pullout", "op", NULL);
    add(s4, SRV_MG_GROUP, "1", "demo.svc", "sha", "z1", "g", "app", "", "active", "0");
    add(s4, SRV_MG_ROUTE_RULE, "1", "demo.svc", "r", "", "active", NULL, "0");
    add(s4, SRV_MG_ROUTE_RULE_GROUP, "1", "1", "1", "10", "10");
    assert_int_equal(srv_mg_snap_index(s4), 0);
    srv_mgmt_swap_detached(srv, s4);
    changes(srv, mark, got, sizeof(got));
    assert_string_equal(got, "");
    (void)k0;
    (void)k1;
    srv_mgmt_stop(srv);
    fixture_server_free(srv);
}

static void test_canary_resolved_per_answer(void **state)
{
    (void)state;
    srv_server_t *srv = fixture_server_new();
    reg(srv, "svc", "10.0.0.1", "10.0.0.1");
    reg(srv, "svc", "10.0.0.2", "10.0.0.2");
    srv_mg_snap_t *s = snap_new();
    add(s, SRV_MG_GROUP, "1", "svc", "sha", "canary", "app", "app", "", "active", "0");
    add(s, SRV_MG_ROUTE_RULE, "1", "svc", "canary-route-rule", "", "active", "weighted-round-robin",
        "0");
    add(s, SRV_MG_ROUTE_RULE_GROUP, "1", "1", "1", NULL, "5");
    add(s, SRV_MG_GROUP_INSTANCE, "1", "1", "10.0.0.2");
    assert_int_equal(srv_mg_snap_index(s), 0);
    assert_int_equal(srv_mg_service(s, "svc")->canary, 1);
    srv_mgmt_start_detached(srv, s, NULL);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    assert_int_equal(
        srv_service_append(srv->registry, &out, srv_registry_service(srv->registry, "svc"), "svc"),
        0);
    json_error_t e;
    json_t *root = json_loads(out.data, 0, &e);
    assert_non_null(root);
    json_t *g = json_array_get(
        json_object_get(json_array_get(json_object_get(root, "routeRules"), 0), "groups"), 0);
    json_t *inst = json_object_get(g, "instances");
    assert_int_equal(json_array_size(inst), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(inst, 0), "instanceId")),
                        "10.0.0.2");
    json_decref(root);
    artemisi_buf_free(&out);
    srv_mgmt_stop(srv);
    fixture_server_free(srv);
}

static void test_logic_instances(void **state)
{
    (void)state;
    srv_mg_snap_t *s = snap_new();
    /* service_instance: service, instance, ip, machine, metadata, port, protocol, region,
     * zone, group, health url, url, description */
    add(s, SRV_MG_SERVICE_INSTANCE, "1", "svc", "l1", "10.1.0.1", "m", "{\"b\":\"2\",\"a\":\"1\"}",
        "81", "http", "sha", "z1", NULL, NULL, "http://l1/", "d");
    add(s, SRV_MG_SERVICE_INSTANCE, "2", "svc", "l2", "10.1.0.2", NULL, "not json", "82", NULL,
        "sha", "z1", NULL, NULL, "http://l2/", NULL);
    add(s, SRV_MG_INSTANCE, "1", "l2", "svc", "sha", "pullout", "op", NULL);
    assert_int_equal(srv_mg_snap_index(s), 0);
    /* l2 is pulled out: logical instances obey §7.2 too; metadata sorted, status "up" */
    assert_string_equal(
        srv_mg_service(s, "svc")->frag.data,
        "\"logicInstances\":[{\"groupId\":null,\"healthCheckUrl\":null,\"instanceId\":\"l1\","
        "\"ip\":\"10.1.0.1\",\"machineName\":\"m\",\"metadata\":{\"a\":\"1\",\"b\":\"2\"},"
        "\"port\":81,\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":\"svc\","
        "\"status\":\"up\",\"url\":\"http://l1/\",\"zoneId\":\"z1\"}],\"metadata\":null,"
        "\"routeRules\":[]");
    snap_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_f22),
        cmocka_unit_test(test_projection_leaves_out),
        cmocka_unit_test(test_down_predicate),
        cmocka_unit_test(test_swap_announces),
        cmocka_unit_test(test_canary_resolved_per_answer),
        cmocka_unit_test(test_logic_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
