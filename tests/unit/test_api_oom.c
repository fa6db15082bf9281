/*
 * The server's out-of-memory rule, proved: no answer that lost bytes to a failed allocation
 * can leave the server as if it were complete. Every handler below runs with the Nth
 * allocation failing, N = 1, 2, ... until a run has no failure (the Makefile links tests named
 * *_oom with -Wl,--wrap=malloc,... so the project's own objects allocate through the wrappers
 * here). After each run the answer buffer must either say it lost bytes
 * (artemisi_buf_failed: the HTTP layer then sends a static 503, http_conn.c) or hold one
 * complete JSON value. A lookup under a memory limit used to send `200 OK` with
 * `...{"instances":},},}`; this test would have caught it.
 */
#include "test.h"
#include "oom.h"

#include <string.h>
#include <jansson.h>

#include "api.h"
#include "mgmt.h"
#include "server.h"
#include "server_fixture.h"

/* ---- a server without sockets ------------------------------------------------------------ */

static void row(srv_mg_snap_t *s, srv_mg_table_id_t t, const char *id, const char *const *own)
{
    const char *v[32] = {id, "0", "0"};
    for (size_t i = SRV_MGC_FIRST; i < srv_mg_table(t)->ncols; i++)
        v[i] = own[i - SRV_MGC_FIRST];
    assert_int_equal(srv_mg_rows_add(&s->tab[t], v), 0);
}

/* Management state every answer below is shaped by: a route rule with two tagged groups and
 * a member on oom.a, a canary rule on oom.b (resolved per answer), a logical instance, and
 * one pulled-out instance of oom.c. */
static srv_mg_snap_t *mgmt_state(void)
{
    srv_mg_snap_t *s = malloc(sizeof(*s));
    assert_non_null(s);
    srv_mg_snap_init(s, 3, 4);
    const char *g1[] = {"oom.a", "sha", "sha-z1", "blue", "app", "d", "active", "0"};
    const char *g2[] = {"oom.a", "sha", "sha-z1", "green", "app", "d", "active", "0"};
    /* the default group of oom.b: its instances join by group path, not by member list */
    const char *g3[] = {"oom.b", "sha", "sha-z1", "default", "app", "d", "active", "0"};
    row(s, SRV_MG_GROUP, "1", g1);
    row(s, SRV_MG_GROUP, "2", g2);
    row(s, SRV_MG_GROUP, "3", g3);
    const char *r1[] = {"oom.a", "bluegreen", "", "active", "weighted-round-robin", "0"};
    const char *r2[] = {"oom.b", "canary-route-rule", "", "active", NULL, "0"};
    row(s, SRV_MG_ROUTE_RULE, "1", r1);
    row(s, SRV_MG_ROUTE_RULE, "2", r2);
    const char *l1[] = {"1", "1", "80", "80"}, *l2[] = {"1", "2", "20", "20"};
    const char *l3[] = {"2", "3", NULL, "5"};
    row(s, SRV_MG_ROUTE_RULE_GROUP, "1", l1);
    row(s, SRV_MG_ROUTE_RULE_GROUP, "2", l2);
    row(s, SRV_MG_ROUTE_RULE_GROUP, "3", l3);
    const char *t1[] = {"1", "owner", "team-a"}, *t2[] = {"1", "tier", "gold"};
    row(s, SRV_MG_GROUP_TAG, "1", t1);
    row(s, SRV_MG_GROUP_TAG, "2", t2);
    const char *m1[] = {"2", "i-3"}, *m2[] = {"3", "i-1"};
    row(s, SRV_MG_GROUP_INSTANCE, "1", m1);
    row(s, SRV_MG_GROUP_INSTANCE, "2", m2);
    const char *li[] = {"oom.a", "vip",    "10.9.0.1", "m",  "{\"k\":\"v\"}", "80", "http",
                        "sha",   "sha-z1", NULL,       NULL, "http://vip/",   "d"};
    row(s, SRV_MG_SERVICE_INSTANCE, "1", li);
    const char *op[] = {"i-2", "oom.c", "sha", "pullout", "alice", "t"};
    row(s, SRV_MG_INSTANCE, "1", op);
    const char *gop[] = {"2", "pullout", "alice", "t"};
    row(s, SRV_MG_GROUP_OP, "1", gop);
    assert_int_equal(srv_mg_snap_index(s), 0);
    return s;
}

static srv_server_t *server_new(void)
{
    srv_server_t *srv = fixture_server_new();
    free(srv->cfg.region_id);
    free(srv->cfg.zone_id);
    srv->cfg.region_id = strdup("sha");
    srv->cfg.zone_id = strdup("sha-z1");
    srv_mgmt_start_detached(srv, mgmt_state(), NULL);
    return srv;
}

static void server_free(srv_server_t *srv)
{
    srv_mgmt_stop(srv);
    fixture_server_free(srv);
}

static const char *instance_json(char *buf, size_t n, const char *svc, int i)
{
    snprintf(buf, n,
             "{\"regionId\":\"sha\",\"zoneId\":\"sha-z1\",\"serviceId\":\"%s\","
             "\"instanceId\":\"i-%d\",\"ip\":\"10.0.0.%d\",\"port\":%d,"
             "\"url\":\"http://10.0.0.%d:%d/\",\"status\":\"up\",\"metadata\":{\"k\":\"v%d\"}}",
             svc, i, i, 8000 + i, i, 8000 + i, i);
    return buf;
}

/* Three services of five instances, registered without failures. */
static void fill(srv_server_t *srv)
{
    static const char *const svcs[] = {"oom.a", "oom.b", "oom.c"};
    for (size_t s = 0; s < 3; s++) {
        for (int i = 0; i < 5; i++) {
            char inst[512], body[600];
            snprintf(body, sizeof(body), "{\"instances\":[%s]}",
                     instance_json(inst, sizeof(inst), svcs[s], i));
            artemisi_buf_t out = ARTEMISI_BUF_INIT;
            int status;
            srv_registry_request(srv, NULL, SRV_OP_REGISTER, 0, body, strlen(body), &out, &status);
            assert_int_equal(status, 200);
            artemisi_buf_free(&out);
        }
    }
}

/* ---- the sweep ------------------------------------------------------------------------------ */

typedef struct call {
    const char *name;
    srv_handler_fn fn; /* or NULL: a registry request */
    srv_http_method_t method;
    const char *query;
    const char *body;
    srv_op_t op;
    int is_json; /* the answer is JSON (else text: /metrics) */
    int same;    /* a complete answer equals the one without failures */
} call_t;

/* Run one call with the nth allocation failing (0: none) into out; returns 1 when an
 * allocation failed during it. */
static int call_once(srv_server_t *srv, const call_t *c, long n, artemisi_buf_t *out)
{
    srv_http_request_t http;
    memset(&http, 0, sizeof(http));
    http.method = c->method;
    http.path = "/";
    http.query = c->query ? c->query : "";
    http.body = c->body ? c->body : "";
    http.body_len = strlen(http.body);
    srv_req_t req = {.srv = srv,
                     .http = &http,
                     .body = http.body,
                     .body_len = http.body_len,
                     .out = out,
                     .status = 200,
                     .content_type = "application/json;charset=UTF-8"};
    oom_arm(n);
    if (c->fn) {
        c->fn(&req);
        /* An answer in slices (srv_req_stream) is the concatenation of its slices; the HTTP
         * layer cuts the connection at a failed one, so the answer is lost, as here. */
        int more = req.stream_next && !artemisi_buf_failed(out);
        while (more == 1)
            more = req.stream_next(req.stream_ctx, out);
        if (more < 0)
            out->failed = 1;
        if (req.stream_free)
            req.stream_free(req.stream_ctx);
        /* A block by reference (srv_req_append_ref) goes where the HTTP layer puts it. */
        if (req.ref) {
            if (!artemisi_buf_failed(out)) {
                artemisi_buf_t tail = ARTEMISI_BUF_INIT;
                artemisi_buf_append(&tail, out->data + req.ref->at, out->len - req.ref->at);
                out->len = req.ref->at;
                artemisi_buf_append(out, req.ref->data, req.ref->len);
                artemisi_buf_append(out, tail.data ? tail.data : "", tail.len);
                if (artemisi_buf_failed(&tail))
                    out->failed = 1;
                artemisi_buf_free(&tail);
            }
            srv_ref_release(req.ref);
        }
    } else
        srv_registry_request(srv, NULL, c->op, 0, http.body, http.body_len, out, &req.status);
    oom_disarm();
    return oom_failed;
}

/* Run one call; returns 1 when an allocation failed during it. clean: the answer of a run
 * without failures, which a complete answer must equal (NULL: the answer may differ, as a
 * registry write changes the state it answers about). */
static int run_call(srv_server_t *srv, const call_t *c, long n, const artemisi_buf_t *clean)
{
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    int failed = call_once(srv, c, n, &out);
    if (!artemisi_buf_failed(&out)) {
        if (out.len == 0)
            fail_msg("%s, allocation %ld failing: an empty answer not marked as lost", c->name, n);
        if (c->is_json) {
            json_error_t e;
            json_t *j = json_loadb(out.data, out.len, 0, &e);
            if (!j)
                fail_msg("%s, allocation %ld failing: a truncated answer would be sent: %.200s",
                         c->name, n, out.data);
            json_decref(j);
        }
        /* Valid JSON is not enough: a service or a description left out for want of memory
         * is as wrong as a truncated answer. A complete answer is the one without failures,
         * or one that says it ran out of memory. */
        if (clean && (out.len != clean->len || memcmp(out.data, clean->data, out.len) != 0) &&
            !strstr(out.data, "out of memory"))
            fail_msg("%s, allocation %ld failing: an answer sent as complete differs from the "
                     "answer without failures:\n%.300s\n%.300s",
                     c->name, n, out.data, clean->data);
    } else if (!failed) {
        fail_msg("%s: the answer says it lost bytes, but no allocation failed", c->name);
    }
    artemisi_buf_free(&out);
    return failed;
}

static void sweep(const call_t *c)
{
    srv_server_t *srv = server_new();
    fill(srv);
    artemisi_buf_t clean = ARTEMISI_BUF_INIT;
    if (c->same) {
        /* twice: the first run builds the per-service JSON caches the second one reads */
        call_once(srv, c, 0, &clean);
        artemisi_buf_reset(&clean);
        call_once(srv, c, 0, &clean);
        assert_false(artemisi_buf_failed(&clean));
    }
    long n = 1;
    while (run_call(srv, c, n, c->same ? &clean : NULL))
        n++;
    /* n - 1 allocations could fail; the run after them had none. */
    assert_true(n > 1);
    artemisi_buf_free(&clean);
    server_free(srv);
}

#define LOOKUP_BODY                                                                                \
    "{\"discoveryConfigs\":[{\"serviceId\":\"oom.a\"},{\"serviceId\":\"oom.b\"},"                  \
    "{\"serviceId\":\"oom.a\"},{\"serviceId\":\"oom.none\"},{\"serviceId\":\"oom.c\"}],"           \
    "\"regionId\":\"sha\",\"zoneId\":\"sha-z1\"}"

static void test_lookup(void **state)
{
    (void)state;
    /* four distinct services asked for: oom.a (twice), oom.b, oom.none, oom.c */
    call_t c = {"lookup.json", srv_api_lookup, SRV_HTTP_POST, NULL, LOOKUP_BODY, 0, 1, 1};
    sweep(&c);
}

static void test_services(void **state)
{
    (void)state;
    call_t c = {"services.json", srv_api_services, SRV_HTTP_GET, "regionId=sha", NULL, 0, 1, 1};
    sweep(&c);
}

/* services.json with the cached list dropped first, so the list is built under the failing
 * allocation. Regression: a list that could not be built went out as an empty list with a
 * success status. */
static void services_cold(srv_req_t *req)
{
    srv_registry_touch_all(req->srv->registry);
    srv_api_services(req);
}

static void test_services_cold(void **state)
{
    (void)state;
    call_t c = {
        "services.json, list rebuilt", services_cold, SRV_HTTP_GET, "regionId=sha", NULL, 0, 1, 1};
    sweep(&c);
}

static void test_service(void **state)
{
    (void)state;
    call_t c = {"service.json",
                srv_api_service,
                SRV_HTTP_GET,
                "serviceId=oom.b&regionId=sha&zoneId=sha-z1",
                NULL,
                0,
                1,
                1};
    sweep(&c);
}

static void test_services_delta(void **state)
{
    (void)state;
    /* a version older than every change: the delta lists all of them */
    call_t c = {"services-delta.json",
                srv_api_services_delta,
                SRV_HTTP_POST,
                NULL,
                "{\"regionId\":\"sha\",\"zoneId\":\"sha-z1\",\"version\":1700000000000000}",
                0,
                1,
                1};
    sweep(&c);
}

static void test_repl_services(void **state)
{
    (void)state;
    call_t c = {"replication services.json",
                srv_api_repl_services,
                SRV_HTTP_GET,
                "regionId=sha",
                NULL,
                0,
                1,
                1};
    sweep(&c);
}

static void test_register(void **state)
{
    (void)state;
    char a[512], b[512], body[1200];
    snprintf(body, sizeof(body), "{\"instances\":[%s,null,%s]}",
             instance_json(a, sizeof(a), "oom.new", 1), instance_json(b, sizeof(b), "oom.a", 7));
    call_t c = {"register", NULL, SRV_HTTP_POST, NULL, body, SRV_OP_REGISTER, 1, 0};
    sweep(&c);
}

static void test_heartbeat_partial_fail(void **state)
{
    (void)state;
    char a[512], b[512], body[1200];
    /* one renews, one is unknown: the failedInstances list is built */
    snprintf(body, sizeof(body), "{\"instances\":[%s,%s]}", instance_json(a, sizeof(a), "oom.a", 1),
             instance_json(b, sizeof(b), "oom.unknown", 9));
    call_t c = {"heartbeat", NULL, SRV_HTTP_POST, NULL, body, SRV_OP_HEARTBEAT, 1, 1};
    sweep(&c);
}

static void test_leases(void **state)
{
    (void)state;
    call_t c = {"leases.json", srv_api_status_leases, SRV_HTTP_GET, NULL, NULL, 0, 1, 1};
    sweep(&c);
}

/* The management readers: views, groups, tags, operations and the down question. */
#define MG(fn, name, body, same)                                                                   \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        (void)state;                                                                               \
        call_t c = {name, srv_api_mg_##fn, SRV_HTTP_POST, NULL, body, 0, 1, same};                 \
        sweep(&c);                                                                                 \
    }
MG(service, "management/service.json", "{\"serviceId\":\"oom.a\"}", 1)
MG(services, "management/services.json", "{}", 0) /* its version is the time */
MG(get_all_groups, "group/get-all-groups.json", "{}", 1)
MG(get_all_route_rule_groups, "group/get-all-route-rule-groups.json", "{}", 1)
MG(get_all_group_tags, "group/get-all-group-tags.json", "{}", 1)
MG(get_service_instances, "group/get-service-instances.json", "{\"serviceId\":\"oom.a\"}", 1)
MG(all_instance_operations, "all-instance-operations.json", "{\"regionId\":\"sha\"}", 1)
MG(instance_down, "instance-down.json",
   "{\"instance\":{\"regionId\":\"sha\",\"serviceId\":\"oom.a\",\"instanceId\":\"i-9\","
   "\"zoneId\":\"sha-z1\",\"groupId\":\"green\",\"url\":\"http://x/\"}}",
   1)

static void test_health(void **state)
{
    (void)state;
    call_t c = {"health", srv_api_health, SRV_HTTP_GET, NULL, NULL, 0, 1, 0};
    sweep(&c);
}

static void test_metrics(void **state)
{
    (void)state;
    call_t c = {"metrics", srv_api_metrics, SRV_HTTP_GET, NULL, NULL, 0, 0, 0};
    sweep(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_services_cold),
        cmocka_unit_test(test_service),
        cmocka_unit_test(test_services_delta),
        cmocka_unit_test(test_repl_services),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_heartbeat_partial_fail),
        cmocka_unit_test(test_leases),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(service),
        cmocka_unit_test(services),
        cmocka_unit_test(get_all_groups),
        cmocka_unit_test(get_all_route_rule_groups),
        cmocka_unit_test(get_all_group_tags),
        cmocka_unit_test(get_service_instances),
        cmocka_unit_test(all_instance_operations),
        cmocka_unit_test(instance_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
