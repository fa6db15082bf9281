/*
 * Unit tests for server/registry: register / lookup / replace, case-insensitive identity,
 * moves between spellings of a serviceId, unambiguous InstanceKeys, heartbeats (and reviving
 * a kept expired lease), expiry on the timing wheel (sticky expiry, self-preservation keeping
 * expired leases, per-tick budget, long clock stalls, the legacy TTL), unregister, the cached
 * per-service and all-services JSON, and delta sync against the change log (across moves
 * too), and the memory an instance costs (a lease inside its instance's allocation, strings
 * shared between the instances of a service). Every JSON document the registry produces is
 * parsed with jansson to prove it is valid.
 */
#include "test.h"

#include <jansson.h>

#include "registry.h"

#define TTL        1000
#define LEGACY_TTL 5000
#define TICK       100
#define BIG        1000000

/* ---- change callback recorder --------------------------------------------------------------- */

#define MAX_EVENTS 4096

typedef struct event {
    srv_change_type_t type;
    uint64_t seq;
    char service[64];
    char instance[64];
} event_t;

typedef struct recorder {
    event_t ev[MAX_EVENTS];
    size_t n;
} recorder_t;

static void on_change(void *ctx, const srv_change_t *c)
{
    recorder_t *rec = ctx;
    assert_non_null(c);
    assert_true(rec->n < MAX_EVENTS);
    event_t *e = &rec->ev[rec->n++];
    e->type = c->type;
    e->seq = c->seq;
    snprintf(e->service, sizeof(e->service), "%s", ARTEMISI_INST(c->inst, SERVICE_ID));
    snprintf(e->instance, sizeof(e->instance), "%s", ARTEMISI_INST(c->inst, INSTANCE_ID));
}

static size_t count_events(const recorder_t *rec, srv_change_type_t type, const char *inst_id)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->n; i++)
        if (rec->ev[i].type == type && (!inst_id || strcmp(rec->ev[i].instance, inst_id) == 0))
            n++;
    return n;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

typedef struct fixture {
    srv_registry_t *r;
    recorder_t rec;
} fixture_t;

static fixture_t *fixture_new(size_t changelog_capacity)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    srv_registry_config_t cfg = {
        .ttl_ms = TTL,
        .legacy_ttl_ms = LEGACY_TTL,
        .tick_ms = TICK,
        .changelog_capacity = changelog_capacity,
    };
    f->r = srv_registry_new(&cfg, 0x1234, 0x5678, 1700000000000LL, 0);
    assert_non_null(f->r);
    srv_registry_set_change_cb(f->r, on_change, &f->rec);
    return f;
}

static void fixture_free(fixture_t *f)
{
    srv_registry_free(f->r);
    free(f);
}

static const char *java_meta[] = {"java_registry", "true"};

static artemisi_instance_t draft(const char *service, const char *instance, const char *url)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "SHA";
    ARTEMISI_INST(&d, ZONE_ID) = "SHA-Z1";
    ARTEMISI_INST(&d, SERVICE_ID) = service;
    ARTEMISI_INST(&d, INSTANCE_ID) = instance;
    ARTEMISI_INST(&d, URL) = url;
    ARTEMISI_INST(&d, STATUS) = "up";
    ARTEMISI_INST(&d, IP) = "10.0.0.1";
    d.port = 8080;
    d.meta_null = 1;
    return d;
}

static void reg(fixture_t *f, const char *service, const char *instance, int64_t now)
{
    artemisi_instance_t d = draft(service, instance, "http://10.0.0.1:8080/");
    assert_int_equal(srv_registry_register(f->r, &d, now, 1700000000000LL + now), 0);
}

static int hb(fixture_t *f, const char *service, const char *instance, int64_t now)
{
    artemisi_instance_t d = draft(service, instance, "http://10.0.0.1:8080/");
    return srv_registry_heartbeat(f->r, &d, now, 1700000000000LL + now, 0);
}

static void unreg(fixture_t *f, const char *service, const char *instance, int64_t now)
{
    artemisi_instance_t d = draft(service, instance, "http://10.0.0.1:8080/");
    srv_registry_unregister(f->r, &d, 1700000000000LL + now);
}

static size_t tick(fixture_t *f, int64_t now, int allow, size_t budget)
{
    return srv_registry_tick(f->r, now, 1700000000000LL + now, allow, budget);
}

static json_t *parse(const char *text, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    if (!j)
        fail_msg("invalid JSON (%s at %d): %.*s", err.text, err.position, (int)len, text);
    return j;
}

static json_t *parse_buf(const artemisi_buf_t *b)
{
    assert_non_null(b);
    /* The brief asks for json_loads: the buffer is NUL-terminated, so check both agree. */
    json_error_t err;
    json_t *j = json_loads(b->data, 0, &err);
    if (!j)
        fail_msg("invalid JSON (%s): %s", err.text, b->data);
    json_decref(j);
    return parse(b->data, b->len);
}

/* The instance ids of a service's instance array, as a set test. */
static int json_array_has_instance(json_t *arr, const char *instance_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "instanceId"));
        if (id && strcmp(id, instance_id) == 0)
            return 1;
    }
    return 0;
}

static size_t service_size(fixture_t *f, const char *service)
{
    srv_service_t *s = srv_registry_service(f->r, service);
    return s ? s->n : 0;
}

static int listed(fixture_t *f, const char *service, const char *instance)
{
    srv_service_t *s = srv_registry_service(f->r, service);
    if (!s)
        return 0;
    json_t *j = parse_buf(srv_service_json(s));
    int has = json_array_has_instance(j, instance);
    json_decref(j);
    return has;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_instance_check(void **state)
{
    (void)state;
    artemisi_instance_t d = draft("svc", "i1", "http://x/");
    assert_null(srv_instance_check(&d));
    ARTEMISI_INST(&d, SERVICE_ID) = NULL;
    assert_string_equal(srv_instance_check(&d),
                        "argument instance.serviceId is null or whitespace");
    ARTEMISI_INST(&d, SERVICE_ID) = " \t";
    assert_string_equal(srv_instance_check(&d),
                        "argument instance.serviceId is null or whitespace");
    d = draft("svc", "", "http://x/");
    assert_string_equal(srv_instance_check(&d),
                        "argument instance.instanceId is null or whitespace");
    d = draft("svc", "i1", NULL);
    assert_string_equal(srv_instance_check(&d), "argument instance.url is null or whitespace");
    d = draft("svc", "i1", "   ");
    assert_string_equal(srv_instance_check(&d), "argument instance.url is null or whitespace");
    /* serviceId is checked first. */
    d = draft(NULL, NULL, NULL);
    assert_string_equal(srv_instance_check(&d),
                        "argument instance.serviceId is null or whitespace");
}

static void test_register_lookup(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    assert_null(srv_registry_service(f->r, "Demo.Svc"));
    reg(f, "Demo.Svc", "i1", 0);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(srv_registry_live_count(f->r), 1);
    assert_int_equal(srv_registry_service_count(f->r), 1);
    assert_true(srv_registry_memory(f->r) > 0);
    assert_int_equal(f->r->stats.registered, 1);

    srv_service_t *s = srv_registry_service(f->r, "Demo.Svc");
    assert_non_null(s);
    assert_string_equal(s->id, "Demo.Svc");
    assert_null(srv_registry_service(f->r, "demo.svc")); /* index uses the exact serviceId */
    json_t *arr = parse_buf(srv_service_json(s));
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 1);
    json_t *i = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(i, "instanceId")), "i1");
    assert_string_equal(json_string_value(json_object_get(i, "serviceId")), "Demo.Svc");
    assert_string_equal(json_string_value(json_object_get(i, "url")), "http://10.0.0.1:8080/");
    assert_int_equal(json_integer_value(json_object_get(i, "port")), 8080);
    json_decref(arr);

    /* The service wrapper, for a real service and for an empty shell. */
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    assert_int_equal(srv_service_append(f->r, &out, s, "ignored"), 0);
    json_t *svc = parse_buf(&out);
    assert_string_equal(json_string_value(json_object_get(svc, "serviceId")), "Demo.Svc");
    assert_int_equal(json_array_size(json_object_get(svc, "instances")), 1);
    assert_true(json_is_array(json_object_get(svc, "logicInstances")));
    assert_true(json_is_array(json_object_get(svc, "routeRules")));
    assert_true(json_is_null(json_object_get(svc, "metadata")));
    json_decref(svc);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_service_append(f->r, &out, NULL, "nobody\"quoted"), 0);
    svc = parse_buf(&out);
    assert_string_equal(json_string_value(json_object_get(svc, "serviceId")), "nobody\"quoted");
    assert_int_equal(json_array_size(json_object_get(svc, "instances")), 0);
    json_decref(svc);
    artemisi_buf_free(&out);

    /* The registration was announced. */
    assert_int_equal(f->rec.n, 1);
    assert_int_equal(f->rec.ev[0].type, SRV_CHANGE_NEW);
    assert_string_equal(f->rec.ev[0].instance, "i1");
    assert_int_equal(f->rec.ev[0].seq, 1);
    fixture_free(f);
}

static void test_reregister_replaces(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    artemisi_instance_t d = draft("svc", "i1", "http://old/");
    assert_int_equal(srv_registry_register(f->r, &d, 0, 0), 0);
    d = draft("svc", "i1", "http://new/");
    assert_int_equal(srv_registry_register(f->r, &d, 600, 600), 0);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(service_size(f, "svc"), 1);
    const artemisi_buf_t *j = srv_service_json(srv_registry_service(f->r, "svc"));
    assert_non_null(strstr(j->data, "http://new/"));
    assert_null(strstr(j->data, "http://old/"));
    /* Same key in another case (region and instanceId): still one lease. */
    d = draft("svc", "I1", "http://newer/");
    ARTEMISI_INST(&d, REGION_ID) = "sha";
    assert_int_equal(srv_registry_register(f->r, &d, 700, 700), 0);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(service_size(f, "svc"), 1);
    assert_true(listed(f, "svc", "I1"));
    assert_false(listed(f, "svc", "i1"));
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_NEW, NULL), 3);
    /* The brand-new lease counts from its own creation: the old lease's deadline (1000)
     * must not expire it. */
    tick(f, 1650, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    tick(f, 1800, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 1);
    fixture_free(f);
}

/* One lease per InstanceKey: re-registering under a differently cased serviceId moves the
 * instance, and the old spelling's watchers hear a delete before the new spelling's new. */
static void test_reregister_moves_service(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "Move.Svc", "m1", 0);
    assert_int_equal(f->rec.n, 1);
    reg(f, "move.svc", "m1", 10);
    assert_int_equal(f->rec.n, 3);
    assert_int_equal(f->rec.ev[1].type, SRV_CHANGE_DELETE);
    assert_string_equal(f->rec.ev[1].service, "Move.Svc");
    assert_string_equal(f->rec.ev[1].instance, "m1");
    assert_int_equal(f->rec.ev[2].type, SRV_CHANGE_NEW);
    assert_string_equal(f->rec.ev[2].service, "move.svc");
    assert_string_equal(f->rec.ev[2].instance, "m1");
    assert_true(f->rec.ev[1].seq < f->rec.ev[2].seq);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(srv_registry_service_count(f->r), 1);
    assert_null(srv_registry_service(f->r, "Move.Svc"));
    assert_true(listed(f, "move.svc", "m1"));
    json_t *j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "serviceId")),
                        "move.svc");
    json_decref(j);

    /* The same spelling again: a plain replacement, only a new. */
    reg(f, "move.svc", "m1", 20);
    assert_int_equal(f->rec.n, 4);
    assert_int_equal(f->rec.ev[3].type, SRV_CHANGE_NEW);
    assert_string_equal(f->rec.ev[3].service, "move.svc");
    assert_int_equal(srv_registry_lease_count(f->r), 1);

    /* Moving out of a service that keeps other instances: it stays, without the mover. */
    reg(f, "Move.Svc", "stay", 30);
    reg(f, "Move.Svc", "m1", 30);
    assert_int_equal(f->rec.n, 7);
    assert_int_equal(f->rec.ev[5].type, SRV_CHANGE_DELETE);
    assert_string_equal(f->rec.ev[5].service, "move.svc");
    assert_int_equal(f->rec.ev[6].type, SRV_CHANGE_NEW);
    assert_string_equal(f->rec.ev[6].service, "Move.Svc");
    assert_null(srv_registry_service(f->r, "move.svc"));
    assert_int_equal(service_size(f, "Move.Svc"), 2);
    reg(f, "MOVE.SVC", "stay", 40);
    assert_int_equal(service_size(f, "Move.Svc"), 1);
    assert_true(listed(f, "Move.Svc", "m1"));
    assert_false(listed(f, "Move.Svc", "stay"));
    assert_true(listed(f, "MOVE.SVC", "stay"));
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(srv_registry_service_count(f->r), 2);

    /* The moved lease is an ordinary one: heartbeats in any case, one delete on expiry. */
    assert_int_equal(hb(f, "move.svc", "M1", 50), 0);
    size_t deletes = count_events(&f->rec, SRV_CHANGE_DELETE, "m1");
    tick(f, 50 + TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "m1"), deletes + 1);
    assert_int_equal(srv_registry_service_count(f->r), 0);
    fixture_free(f);
}

/* InstanceKeys are unambiguous: dots (or colons) in serviceId and instanceId cannot make two
 * instances share one lease. */
static void test_instance_keys_do_not_collide(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "kc.a.b", "c", 0);
    reg(f, "kc.a", "b.c", 0);
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(srv_registry_service_count(f->r), 2);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 0);
    assert_true(listed(f, "kc.a.b", "c"));
    assert_true(listed(f, "kc.a", "b.c"));
    assert_int_equal(hb(f, "kc.a.b", "c", 10), 0);
    assert_int_equal(hb(f, "kc.a", "b.c", 10), 0);
    assert_int_equal(hb(f, "kc", "a.b.c", 10), 1);

    unreg(f, "kc.a", "b.c", 20);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_true(listed(f, "kc.a.b", "c"));
    assert_null(srv_registry_service(f->r, "kc.a"));
    assert_int_equal(hb(f, "kc.a.b", "c", 30), 0);
    assert_int_equal(hb(f, "kc.a", "b.c", 30), 1);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "b.c"), 1);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "c"), 0);

    /* The same with the separator of a length-prefixed key. */
    reg(f, "x:1", "y", 40);
    reg(f, "x", "1:y", 40);
    reg(f, "x:", "1y", 40);
    assert_int_equal(srv_registry_lease_count(f->r), 4);
    unreg(f, "x:1", "y", 50);
    assert_int_equal(srv_registry_lease_count(f->r), 3);
    assert_true(listed(f, "x", "1:y"));
    assert_true(listed(f, "x:", "1y"));
    fixture_free(f);
}

static void test_heartbeat_case_insensitive(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "Demo.Svc", "Host-1:80", 0);
    assert_int_equal(hb(f, "DEMO.SVC", "HOST-1:80", 900), 0);
    assert_int_equal(f->r->stats.renewed, 1);
    /* Renewed at 900: alive well past the first deadline. */
    tick(f, 1500, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(hb(f, "demo.svc", "host-1:80", 1800), 0);
    tick(f, 2700, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    tick(f, 2900, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "Host-1:80"), 1);
    fixture_free(f);
}

static void test_heartbeat_unknown(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    assert_int_equal(hb(f, "svc", "nobody", 0), 1);
    reg(f, "svc", "i1", 0);
    assert_int_equal(hb(f, "svc", "i2", 10), 1);
    assert_int_equal(hb(f, "other", "i1", 10), 1);
    artemisi_instance_t d = draft("svc", "i1", "http://x/");
    ARTEMISI_INST(&d, REGION_ID) = "FRA";
    assert_int_equal(srv_registry_heartbeat(f->r, &d, 10, 10, 0), 1);
    assert_int_equal(f->r->stats.renew_failed, 4);
    assert_int_equal(f->r->stats.renewed, 0);
    /* Heartbeat never creates anything. */
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_int_equal(f->rec.n, 1);
    fixture_free(f);
}

static void test_expiry_without_heartbeat(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "i1", 0);
    reg(f, "svc", "i2", 0);
    for (int64_t now = TICK; now <= TTL; now += TICK) {
        tick(f, now, 1, BIG);
        assert_int_equal(srv_registry_lease_count(f->r), 2);
    }
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 0);
    /* now > renewal + ttl, plus one tick of resolution. */
    tick(f, TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(srv_registry_service_count(f->r), 0);
    assert_null(srv_registry_service(f->r, "svc"));
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 1);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i2"), 1);
    assert_int_equal(f->r->stats.expired, 2);
    assert_int_equal(f->r->stats.evicted, 2);
    assert_int_equal(hb(f, "svc", "i1", TTL + TICK), 1);
    fixture_free(f);
}

static void test_heartbeats_keep_alive(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "i1", 0);
    reg(f, "svc", "quiet", 0);
    int64_t now = 0;
    for (; now <= 20 * TTL; now += TICK) {
        if (now % 500 == 0)
            assert_int_equal(hb(f, "svc", "i1", now), 0);
        tick(f, now, 1, BIG);
        assert_true(listed(f, "svc", "i1"));
    }
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "quiet"), 1);
    /* Renewal exactly at the deadline (now == renewal + ttl) is still in time. */
    int64_t last = now - TICK;
    last -= last % 500;
    assert_int_equal(hb(f, "svc", "i1", last + TTL), 0);
    /* Stop heartbeating: gone one TTL (plus a tick) after the last renewal. */
    int64_t renewal = last + TTL;
    tick(f, renewal + TTL, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    tick(f, renewal + TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 1);
    fixture_free(f);
}

static void test_expiry_is_sticky(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "i1", 0);
    /* Late heartbeat before the cleaner noticed: fails and marks the lease. */
    assert_int_equal(hb(f, "svc", "i1", TTL + 1), 1);
    /* Even if the TTL is raised afterwards, the lease stays expired. */
    srv_registry_set_ttl(f->r, 10 * TTL, LEGACY_TTL);
    assert_int_equal(hb(f, "svc", "i1", TTL + 2), 1);
    assert_int_equal(srv_registry_lease_count(f->r), 1); /* not evicted yet */
    assert_true(listed(f, "svc", "i1"));
    tick(f, TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 1);
    /* Re-registering brings it back. */
    reg(f, "svc", "i1", TTL + TICK);
    assert_int_equal(hb(f, "svc", "i1", TTL + 2 * TICK), 0);
    fixture_free(f);
}

static void test_self_preservation_keeps_expired(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "i1", 0);
    reg(f, "svc", "i2", 0);
    reg(f, "svc", "alive", 0);
    for (int64_t now = TICK; now <= 3 * TTL; now += TICK) {
        if (now % 500 == 0)
            assert_int_equal(hb(f, "svc", "alive", now), 0);
        tick(f, now, 0, BIG);
    }
    /* Expired but kept: still listed, not live, heartbeats fail (sticky). */
    assert_int_equal(srv_registry_lease_count(f->r), 3);
    assert_int_equal(srv_registry_live_count(f->r), 1);
    assert_int_equal(f->r->n_expired, 2);
    assert_true(listed(f, "svc", "i1"));
    assert_true(listed(f, "svc", "i2"));
    assert_int_equal(hb(f, "svc", "i1", 3 * TTL), 1);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 0);
    /* Re-registering an expired-but-kept instance makes it live again. */
    reg(f, "svc", "i2", 3 * TTL);
    assert_int_equal(srv_registry_live_count(f->r), 2);
    assert_int_equal(f->r->n_expired, 1);
    assert_int_equal(hb(f, "svc", "i2", 3 * TTL + 10), 0);
    /* Expiry allowed again: the kept one goes, the others stay. */
    assert_int_equal(hb(f, "svc", "alive", 3 * TTL + 10), 0);
    tick(f, 3 * TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(srv_registry_live_count(f->r), 2);
    assert_false(listed(f, "svc", "i1"));
    assert_true(listed(f, "svc", "i2"));
    assert_true(listed(f, "svc", "alive"));
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 1);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 1);
    fixture_free(f);
}

static int hb_revive(fixture_t *f, const char *service, const char *instance, int64_t now)
{
    artemisi_instance_t d = draft(service, instance, "http://10.0.0.1:8080/");
    return srv_registry_heartbeat(f->r, &d, now, 1700000000000LL + now, 1);
}

/* Self-preservation kept an expired lease; its client is still heartbeating: with revive
 * the heartbeat renews it, and it expires normally one TTL after that. */
static void test_heartbeat_revives_kept_lease(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "r1", 0);
    reg(f, "svc", "alive", 0);
    int64_t now = TICK;
    for (; now <= TTL + TICK; now += TICK) {
        if (now % 500 == 0)
            assert_int_equal(hb(f, "svc", "alive", now), 0);
        tick(f, now, 0, BIG);
    }
    int64_t t = now - TICK; /* TTL + TICK */
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(srv_registry_live_count(f->r), 1);
    assert_int_equal(f->r->n_expired, 1);
    /* Without revive the heartbeat fails (sticky expiry). */
    assert_int_equal(hb(f, "svc", "r1", t), 1);
    assert_int_equal(srv_registry_live_count(f->r), 1);
    /* With revive it renews the kept lease. */
    assert_int_equal(hb_revive(f, "svc", "r1", t), 0);
    assert_int_equal(f->r->stats.revived, 1);
    assert_int_equal(srv_registry_live_count(f->r), 2);
    assert_int_equal(f->r->n_expired, 0);
    assert_true(listed(f, "svc", "r1"));
    /* Live again: an ordinary heartbeat works, and a revive of a live lease is a renewal. */
    assert_int_equal(hb(f, "svc", "r1", t + 10), 0);
    assert_int_equal(hb_revive(f, "svc", "r1", t + 20), 0);
    assert_int_equal(f->r->stats.revived, 1);
    int64_t renewal = t + 20;
    /* Expiry allowed again: not evicted before its new deadline... */
    for (now = t + TICK; now <= renewal + TTL; now += TICK) {
        if (now % 500 == 0)
            assert_int_equal(hb(f, "svc", "alive", now), 0);
        tick(f, now, 1, BIG);
        assert_int_equal(srv_registry_lease_count(f->r), 2);
    }
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 0);
    /* ...and evicted after it. */
    assert_int_equal(hb(f, "svc", "alive", renewal + TTL), 0);
    tick(f, renewal + TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    assert_false(listed(f, "svc", "r1"));
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "r1"), 1);
    /* A revive is not a change: only the two registrations and the delete. */
    assert_int_equal(f->rec.n, 3);
    fixture_free(f);
}

/* A lease observed expired by a late heartbeat but not yet reached by the wheel can be
 * revived too, and the wheel then keeps it until its new deadline. */
static void test_heartbeat_revives_observed_expired(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "r2", 0);
    assert_int_equal(hb(f, "svc", "r2", TTL + 1), 1); /* marks it expired */
    assert_int_equal(hb_revive(f, "svc", "r2", TTL + 2), 0);
    assert_int_equal(hb(f, "svc", "r2", TTL + 3), 0);
    for (int64_t now = TICK; now <= 2 * TTL + 3; now += TICK) {
        tick(f, now, 1, BIG);
        assert_int_equal(srv_registry_lease_count(f->r), 1);
    }
    tick(f, 2 * TTL + 3 + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "r2"), 1);
    fixture_free(f);
}

static void test_budget(void **state)
{
    (void)state;
    enum { N = 250, B = 16 };
    fixture_t *f = fixture_new(4096);
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "i%d", i);
        reg(f, "svc", id, (i % 3) * 10); /* all in the same wheel slot */
    }
    /* Self-preservation first: moving to the kept list is bounded too. */
    size_t calls = 0;
    while (srv_registry_live_count(f->r) > 0) {
        size_t n = tick(f, TTL + TICK, 0, B);
        assert_true(n <= B);
        assert_true(++calls <= N / B + 2);
    }
    assert_int_equal(srv_registry_lease_count(f->r), N);
    assert_int_equal(f->r->n_expired, N);
    /* Then eviction, bounded per call, finished by later calls. */
    calls = 0;
    size_t before = srv_registry_lease_count(f->r);
    while (srv_registry_lease_count(f->r) > 0) {
        size_t n = tick(f, TTL + 2 * TICK, 1, B);
        assert_true(n <= B);
        assert_int_equal(before - srv_registry_lease_count(f->r), n);
        before = srv_registry_lease_count(f->r);
        assert_true(++calls <= N / B + 2);
    }
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), N);
    assert_int_equal(srv_registry_service_count(f->r), 0);
    /* Nothing left to do. */
    assert_int_equal(tick(f, TTL + 3 * TICK, 1, B), 0);
    fixture_free(f);
}

/* A partly processed slot must still be finished even when the leases in it are renewed
 * and re-filed into the very same slot (their next deadline is a whole wheel turn later). */
static void test_budget_with_refiled_leases(void **state)
{
    (void)state;
    enum { N = 64, B = 8 };
    fixture_t *f = fixture_new(4096);
    int64_t turn = (int64_t)SRV_WHEEL_SLOTS * TICK;
    srv_registry_set_ttl(f->r, turn, LEGACY_TTL);
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "i%d", i);
        reg(f, "svc", id, 0);
    }
    /* Every lease renewed at exactly one turn: its deadline moves on by one turn, i.e.
     * back into the slot being processed. */
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "i%d", i);
        assert_int_equal(hb(f, "svc", id, turn), 0);
    }
    size_t calls = 0;
    int64_t now = turn + TICK;
    while (f->r->wheel_tick < now / TICK) {
        tick(f, now, 1, B);
        assert_true(++calls <= N / B + 4);
    }
    assert_int_equal(srv_registry_lease_count(f->r), N);
    /* A TTL longer than a wheel turn still expires on time: not before, not never. */
    for (now = turn + 2 * TICK; now <= 2 * turn; now += 50 * TICK) {
        tick(f, now, 1, B);
        assert_int_equal(srv_registry_lease_count(f->r), N);
    }
    tick(f, 2 * turn, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), N);
    calls = 0;
    while (srv_registry_lease_count(f->r) > 0) {
        tick(f, 2 * turn + TICK, 1, B);
        assert_true(++calls <= N / B + 4);
    }
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), N);
    fixture_free(f);
}

static void test_long_stall(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(4096);
    char id[32];
    /* Leases spread over many slots, some renewed. */
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "i%d", i);
        reg(f, i % 2 ? "odd" : "even", id, i * 3);
        tick(f, i * 3, 1, BIG);
    }
    for (int i = 0; i < 300; i += 5) {
        snprintf(id, sizeof(id), "i%d", i);
        assert_int_equal(hb(f, i % 2 ? "odd" : "even", id, 300 * 3), 0);
    }
    reg(f, "legacy", "L", 300 * 3);
    assert_int_equal(srv_registry_live_count(f->r), 301);
    int64_t later = 300 * 3 + 3LL * 3600 * 1000; /* three hours later */
    tick(f, later, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(srv_registry_service_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 301);

    /* The same with a small budget: finished by a bounded number of later ticks. */
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "j%d", i);
        reg(f, "svc", id, later + i * 41);
    }
    int64_t much_later = later + 12LL * 3600 * 1000;
    size_t calls = 0;
    while (srv_registry_lease_count(f->r) > 0) {
        assert_true(tick(f, much_later, 1, 32) <= 32);
        assert_true(++calls <= 300 / 32 + 2);
    }
    /* And the wheel keeps working afterwards. */
    reg(f, "svc", "fresh", much_later);
    tick(f, much_later + TTL, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    tick(f, much_later + TTL + TICK, 1, BIG);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    fixture_free(f);
}

static void test_legacy_ttl(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    artemisi_instance_t d = draft("svc", "old-java", "http://x/");
    d.meta = java_meta;
    d.n_meta = 1;
    d.meta_null = 0;
    assert_int_equal(srv_registry_register(f->r, &d, 0, 0), 0);
    assert_int_equal(f->r->n_legacy, 1);
    /* A blank java_registry is not legacy. */
    const char *blank_meta[] = {"java_registry", "  "};
    artemisi_instance_t n = draft("svc", "normal", "http://x/");
    n.meta = blank_meta;
    n.n_meta = 1;
    n.meta_null = 0;
    assert_int_equal(srv_registry_register(f->r, &n, 0, 0), 0);
    assert_int_equal(f->r->n_legacy, 1);

    tick(f, TTL + TICK, 1, BIG);
    assert_false(listed(f, "svc", "normal"));
    assert_true(listed(f, "svc", "old-java"));
    /* Heartbeat after the normal TTL but within the legacy one. The heartbeat's own body
     * picks the manager: without java_registry it looks in the normal one and finds
     * nothing (Java's answer), with it the legacy lease is renewed. */
    assert_int_equal(hb(f, "svc", "old-java", 4000), 1);
    assert_int_equal(srv_registry_heartbeat(f->r, &d, 4000, 4000, 0), 0);
    tick(f, 4000 + LEGACY_TTL, 1, BIG);
    assert_true(listed(f, "svc", "old-java"));
    tick(f, 4000 + LEGACY_TTL + TICK, 1, BIG);
    assert_false(listed(f, "svc", "old-java"));
    assert_int_equal(f->r->n_legacy, 0);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    fixture_free(f);
}

/* Java keeps one lease per manager: register normal, re-register legacy, unregister with
 * the normal body -> the legacy lease is still listed; the normal one was shadowed and goes
 * without a delete. */
static void test_two_lease_managers(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    artemisi_instance_t d = draft("svc", "dual", "http://x/");
    assert_int_equal(srv_registry_register(f->r, &d, 0, 0), 0);
    artemisi_instance_t l = draft("svc", "dual", "http://x/");
    l.meta = java_meta;
    l.n_meta = 1;
    l.meta_null = 0;
    /* a heartbeat with the legacy body finds no legacy lease */
    assert_int_equal(srv_registry_heartbeat(f->r, &l, 10, 10, 0), 1);
    assert_int_equal(srv_registry_register(f->r, &l, 20, 20), 0);
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(f->r->n_legacy, 1);
    srv_service_t *s = srv_registry_service(f->r, "svc");
    assert_non_null(s);
    assert_int_equal(s->n, 1); /* listed once: the newest registration */
    assert_true(s->leases[0]->legacy);
    /* both leases renew through their own bodies */
    assert_int_equal(srv_registry_heartbeat(f->r, &d, 30, 30, 0), 0);
    assert_int_equal(srv_registry_heartbeat(f->r, &l, 30, 30, 0), 0);
    uint64_t before = f->r->log.head;
    srv_registry_unregister(f->r, &d, 40);
    assert_int_equal(f->r->log.head, before); /* the shadowed lease left silently */
    assert_true(listed(f, "svc", "dual"));
    assert_int_equal(srv_registry_lease_count(f->r), 1);
    srv_registry_unregister(f->r, &l, 50);
    assert_int_equal(f->r->log.head, before + 1); /* the listed one: a delete */
    assert_false(listed(f, "svc", "dual"));
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    fixture_free(f);
}

static void test_unregister(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "i1", 0);
    reg(f, "svc", "i2", 0);
    reg(f, "other", "o1", 0);
    assert_int_equal(srv_registry_service_count(f->r), 2);
    unreg(f, "svc", "nobody", 10); /* absent: ignored */
    assert_int_equal(f->rec.n, 3);
    unreg(f, "SVC", "I1", 10); /* case-insensitive key */
    assert_int_equal(srv_registry_lease_count(f->r), 2);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, "i1"), 1);
    assert_int_equal(service_size(f, "svc"), 1);
    assert_false(listed(f, "svc", "i1"));
    assert_true(listed(f, "svc", "i2"));
    assert_int_equal(hb(f, "svc", "i1", 20), 1);
    unreg(f, "svc", "i2", 20);
    assert_null(srv_registry_service(f->r, "svc")); /* last instance gone */
    assert_int_equal(srv_registry_service_count(f->r), 1);
    assert_int_equal(f->r->stats.unregistered, 2);
    /* Unregistering a kept expired lease works too. */
    tick(f, TTL + TICK, 0, BIG);
    assert_int_equal(srv_registry_live_count(f->r), 0);
    unreg(f, "other", "o1", TTL + TICK);
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(f->r->n_expired, 0);
    assert_int_equal(srv_registry_service_count(f->r), 0);
    assert_int_equal(count_events(&f->rec, SRV_CHANGE_DELETE, NULL), 3);
    /* Nothing for the wheel to find any more. */
    assert_int_equal(tick(f, 10 * TTL, 1, BIG), 0);
    fixture_free(f);
}

/* The list lent to an answer in flight stays as it was while the registry changes and builds
 * a new one; it is freed when the last holder lets go (ASan's leak check and use-after-free
 * detection watch the rest). */
static void test_services_blob_outlives_changes(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "a", "a1", 0);
    srv_blob_t *b1 = srv_registry_services_blob(f->r);
    assert_non_null(b1);
    assert_int_equal(b1->refs, 2); /* the registry's and ours */
    srv_blob_t *b1b = srv_registry_services_blob(f->r);
    assert_ptr_equal(b1b, b1); /* no change: the same list */
    srv_blob_unref(b1b);
    char *copy = strdup(b1->buf.data);
    reg(f, "a", "a2", 10); /* the registry lets go of it */
    assert_null(f->r->all);
    assert_int_equal(b1->refs, 1);
    srv_blob_t *b2 = srv_registry_services_blob(f->r);
    assert_ptr_not_equal(b2, b1);
    assert_non_null(strstr(b2->buf.data, "\"a2\""));
    assert_string_equal(b1->buf.data, copy); /* unchanged for its holder */
    unreg(f, "a", "a1", 20);
    unreg(f, "a", "a2", 20);
    assert_string_equal(b1->buf.data, copy);
    srv_blob_unref(b1);
    /* unshared, a dropped list's blob (and buffer) is reused by the next list */
    srv_blob_unref(b2);
    assert_non_null(srv_registry_services_json(f->r));
    srv_blob_t *unshared = f->r->all;
    reg(f, "a", "a3", 30);
    assert_false(f->r->all_valid);
    assert_ptr_equal(f->r->all, unshared);
    assert_non_null(strstr(srv_registry_services_json(f->r)->data, "\"a3\""));
    assert_ptr_equal(f->r->all, unshared);
    b2 = srv_registry_services_blob(f->r);
    fixture_free(f); /* b2 is still held: freeing the registry must not free it */
    assert_non_null(strstr(b2->buf.data, "\"a3\""));
    srv_blob_unref(b2);
    srv_blob_unref(NULL);
    free(copy);
}

static void test_services_json_cache(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    json_t *j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    reg(f, "a", "a1", 0);
    reg(f, "b", "b1", 0);
    j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    assert_int_equal(f->r->n_services_listed, 2);
    /* Cached: same bytes without a change. */
    const artemisi_buf_t *first = srv_registry_services_json(f->r);
    char *copy = strdup(first->data);
    assert_string_equal(srv_registry_services_json(f->r)->data, copy);
    assert_true(f->r->all_valid);
    /* A heartbeat is not a change. */
    assert_int_equal(hb(f, "a", "a1", 10), 0);
    assert_true(f->r->all_valid);

    reg(f, "a", "a2", 20);
    assert_false(f->r->all_valid);
    j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 2);
    size_t i;
    json_t *svc;
    int found = 0;
    json_array_foreach(j, i, svc)
    {
        const char *sid = json_string_value(json_object_get(svc, "serviceId"));
        assert_non_null(sid);
        if (strcmp(sid, "a") == 0) {
            json_t *inst = json_object_get(svc, "instances");
            assert_int_equal(json_array_size(inst), 2);
            assert_true(json_array_has_instance(inst, "a1"));
            assert_true(json_array_has_instance(inst, "a2"));
            found = 1;
        }
    }
    assert_true(found);
    json_decref(j);
    assert_string_not_equal(srv_registry_services_json(f->r)->data, copy);
    free(copy);

    /* Per-service cache invalidated by removal, and the emptied service disappears. */
    assert_non_null(strstr(srv_service_json(srv_registry_service(f->r, "a"))->data, "a2"));
    unreg(f, "a", "a2", 30);
    assert_null(strstr(srv_service_json(srv_registry_service(f->r, "a"))->data, "a2"));
    unreg(f, "b", "b1", 30);
    j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "serviceId")), "a");
    json_decref(j);
    /* Expiry also invalidates. */
    tick(f, 30 + TTL + 2 * TICK, 1, BIG);
    j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    fixture_free(f);
}

/* Finds the change list of a service in a parsed delta. */
static json_t *delta_changes(json_t *delta, const char *service)
{
    json_t *l = json_object_get(delta, service);
    assert_non_null(l);
    assert_true(json_is_array(l));
    return l;
}

static int has_change(json_t *list, const char *type, const char *instance_id)
{
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "changeType"));
        const char *id =
            json_string_value(json_object_get(json_object_get(c, "instance"), "instanceId"));
        assert_true(json_is_integer(json_object_get(c, "changeTime")));
        if (t && id && strcmp(t, type) == 0 && strcmp(id, instance_id) == 0)
            return 1;
    }
    return 0;
}

static void test_delta(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    reg(f, "svc", "gone", 0);
    reg(f, "other", "o1", 0);
    uint64_t v0 = srv_registry_version(f->r);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    uint64_t nv = 12345;
    /* The current version has no delta. */
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 1);

    reg(f, "svc", "fresh", 10);
    unreg(f, "svc", "gone", 20);
    reg(f, "third", "t1", 30);
    uint64_t v1 = srv_registry_version(f->r);
    assert_true(v1 > v0);
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 0);
    assert_true(nv == v1);
    json_t *d = parse_buf(&out);
    assert_true(json_is_object(d));
    assert_int_equal(json_object_size(d), 2);
    json_t *svc = delta_changes(d, "svc");
    assert_int_equal(json_array_size(svc), 2);
    assert_true(has_change(svc, "new", "fresh"));
    assert_true(has_change(svc, "delete", "gone"));
    json_t *third = delta_changes(d, "third");
    assert_int_equal(json_array_size(third), 1);
    assert_true(has_change(third, "new", "t1"));
    assert_null(json_object_get(d, "other"));
    json_decref(d);

    /* Current version, unknown versions: not found. */
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v1, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, v1 + 1, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, v1 + 1000000, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, 0, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, 42, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, UINT64_MAX, &out, &nv), 1);
    /* A version of an earlier process (older base). */
    assert_int_equal(srv_registry_delta(f->r, v0 - 2 - 1000, &out, &nv), 1);

    /* A delta from an intermediate version only holds what came after it. */
    assert_int_equal(srv_registry_delta(f->r, v1 - 1, &out, &nv), 0);
    d = parse_buf(&out);
    assert_int_equal(json_object_size(d), 1);
    assert_true(has_change(delta_changes(d, "third"), "new", "t1"));
    json_decref(d);

    /* Net effect per instance key (protocol.md §2.2.6: "new" = present now, not before; "delete"
     * = present before, not now). Registered then unregistered inside the window: absent
     * before and after, so not reported at all. */
    reg(f, "svc", "flap", 40);
    unreg(f, "svc", "flap", 50);
    uint64_t v2 = srv_registry_version(f->r);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v1, &out, &nv), 0);
    assert_true(nv == v2);
    d = parse_buf(&out);
    assert_int_equal(json_object_size(d), 0);
    json_decref(d);
    /* Unregistered then registered again, several times: one "new" (the newest body). */
    unreg(f, "svc", "fresh", 60);
    reg(f, "svc", "fresh", 70);
    unreg(f, "svc", "fresh", 80);
    reg(f, "svc", "fresh", 90);
    reg(f, "svc", "flap", 100);
    unreg(f, "svc", "flap", 110);
    reg(f, "svc", "flap", 120);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v2, &out, &nv), 0);
    d = parse_buf(&out);
    assert_int_equal(json_object_size(d), 1);
    svc = delta_changes(d, "svc");
    assert_int_equal(json_array_size(svc), 2);
    assert_true(has_change(svc, "new", "fresh"));
    assert_true(has_change(svc, "new", "flap"));
    json_decref(d);
    /* Registered, then unregistered: a single "delete". */
    uint64_t v3 = srv_registry_version(f->r);
    unreg(f, "svc", "fresh", 130);
    reg(f, "svc", "fresh", 140);
    unreg(f, "svc", "fresh", 150);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v3, &out, &nv), 0);
    d = parse_buf(&out);
    svc = delta_changes(d, "svc");
    assert_int_equal(json_array_size(svc), 1);
    assert_true(has_change(svc, "delete", "fresh"));
    json_decref(d);
    artemisi_buf_free(&out);
    fixture_free(f);
}

static void test_delta_too_old(void **state)
{
    (void)state;
    enum { CAP = 8 };
    fixture_t *f = fixture_new(CAP);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    uint64_t nv;
    uint64_t v0 = srv_registry_version(f->r);
    char id[32];
    for (int i = 0; i < CAP; i++) {
        snprintf(id, sizeof(id), "i%d", i);
        reg(f, "svc", id, i);
    }
    /* Exactly CAP changes since v0: still covered. */
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 0);
    json_t *d = parse_buf(&out);
    assert_int_equal(json_array_size(delta_changes(d, "svc")), CAP);
    json_decref(d);
    uint64_t v1 = srv_registry_version(f->r);
    reg(f, "svc", "one-more", CAP);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 1);
    assert_int_equal(srv_registry_delta(f->r, v0 + 1, &out, &nv), 0);
    assert_int_equal(srv_registry_delta(f->r, v1, &out, &nv), 0);
    artemisi_buf_free(&out);
    fixture_free(f);
}

/* A delta whose instances carry characters that need escaping is still valid JSON. */
static void test_delta_escaping(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    uint64_t v0 = srv_registry_version(f->r);
    const char *meta[] = {"k\"ey", "va\\l\n\x01"};
    artemisi_instance_t d = draft("s\"v\\c", "id\t\"1\"", "http://x/?a=\"b\"");
    d.meta = meta;
    d.n_meta = 1;
    d.meta_null = 0;
    assert_int_equal(srv_registry_register(f->r, &d, 0, 0), 0);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    uint64_t nv;
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 0);
    json_t *j = parse_buf(&out);
    assert_true(has_change(delta_changes(j, "s\"v\\c"), "new", "id\t\"1\""));
    json_decref(j);
    j = parse_buf(srv_registry_services_json(f->r));
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    artemisi_buf_free(&out);
    fixture_free(f);
}

/* A delta across a move reports the delete under the old spelling and the new under the
 * new one. */
static void test_delta_move(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(64);
    uint64_t v_start = srv_registry_version(f->r);
    reg(f, "Move.Svc", "m1", 0);
    reg(f, "other", "o1", 0);
    uint64_t v0 = srv_registry_version(f->r);
    reg(f, "move.svc", "m1", 10);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    uint64_t nv = 0;
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 0);
    assert_true(nv == srv_registry_version(f->r));
    json_t *d = parse_buf(&out);
    assert_int_equal(json_object_size(d), 2);
    json_t *old = delta_changes(d, "Move.Svc");
    assert_int_equal(json_array_size(old), 1);
    assert_true(has_change(old, "delete", "m1"));
    json_t *now = delta_changes(d, "move.svc");
    assert_int_equal(json_array_size(now), 1);
    assert_true(has_change(now, "new", "m1"));
    assert_null(json_object_get(d, "other"));
    json_decref(d);

    /* From before the first registration: absent from the old spelling before and after,
     * so only the new one is reported. */
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v_start, &out, &nv), 0);
    d = parse_buf(&out);
    assert_null(json_object_get(d, "Move.Svc"));
    now = delta_changes(d, "move.svc");
    assert_int_equal(json_array_size(now), 1);
    assert_true(has_change(now, "new", "m1"));
    assert_true(has_change(delta_changes(d, "other"), "new", "o1"));
    json_decref(d);

    /* Moved back: from v0 the old spelling has it again, the new one never had it. */
    reg(f, "Move.Svc", "m1", 20);
    artemisi_buf_reset(&out);
    assert_int_equal(srv_registry_delta(f->r, v0, &out, &nv), 0);
    d = parse_buf(&out);
    assert_int_equal(json_object_size(d), 1);
    old = delta_changes(d, "Move.Svc");
    assert_int_equal(json_array_size(old), 1);
    assert_true(has_change(old, "new", "m1"));
    assert_null(json_object_get(d, "move.svc"));
    json_decref(d);
    artemisi_buf_free(&out);
    fixture_free(f);
}

/* Many instances over many services, random operations; the views must agree with a
 * simple model at every step. */
/* An instance shaped like the bench's (bench/loadgen.c): 10 strings, two metadata entries. */
static artemisi_instance_t bench_draft(long i, long services, char f[][64], const char **meta)
{
    unsigned a = (unsigned)((i >> 16) & 255), b = (unsigned)((i >> 8) & 255),
             c = (unsigned)(i & 255);
    snprintf(f[0], 64, "http://10.%u.%u.%u:8080/health", a, b, c);
    snprintf(f[1], 64, "10.%u.%u.%u:8080", a, b, c);
    snprintf(f[2], 64, "10.%u.%u.%u", a, b, c);
    snprintf(f[3], 64, "host-%ld", i);
    snprintf(f[4], 64, "bench.service.%ld", i % services);
    snprintf(f[5], 64, "http://10.%u.%u.%u:8080/bench", a, b, c);
    snprintf(f[6], 64, "1.0.%ld", i % 10);
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, HEALTH_CHECK_URL) = f[0];
    ARTEMISI_INST(&d, INSTANCE_ID) = f[1];
    ARTEMISI_INST(&d, IP) = f[2];
    ARTEMISI_INST(&d, MACHINE_NAME) = f[3];
    ARTEMISI_INST(&d, PROTOCOL) = "http";
    ARTEMISI_INST(&d, REGION_ID) = "sha";
    ARTEMISI_INST(&d, SERVICE_ID) = f[4];
    ARTEMISI_INST(&d, STATUS) = "up";
    ARTEMISI_INST(&d, URL) = f[5];
    ARTEMISI_INST(&d, ZONE_ID) = "sha-z1";
    meta[0] = "env";
    meta[1] = "bench";
    meta[2] = "version";
    meta[3] = f[6];
    d.meta = meta;
    d.n_meta = 2;
    d.port = 8080;
    return d;
}

/* Issue 16: a million instances in 400 MB. The registry's own bytes for the bench's instance
 * shape were 508 per instance (a lease with its own key and chunk, 24-byte dict entries, every
 * string copied per instance); a lease now lives in front of its instance, the lease table
 * keeps 8 bytes a slot, and strings equal to another instance's of the service are shared. */
static void test_memory_per_instance(void **state)
{
    (void)state;
    enum { N = 2000, S = 20 };
    fixture_t *f = fixture_new(64);
    srv_registry_set_change_cb(f->r, NULL, NULL);
    size_t m0 = srv_registry_memory(f->r);
    char fields[7][64];
    const char *meta[4];
    for (long i = 0; i < N; i++) {
        artemisi_instance_t d = bench_draft(i, S, fields, meta);
        assert_int_equal(srv_registry_register(f->r, &d, 0, 1700000000000LL), 0);
    }
    size_t per = (srv_registry_memory(f->r) - m0) / N;
    if (per >= 400)
        fail_msg("%zu registry bytes per instance, want < 400", per);
    /* Shared, not copied: the second instance of a service points at the first one's strings. */
    srv_service_t *s = srv_registry_service(f->r, "bench.service.3");
    assert_non_null(s);
    const artemisi_instance_t *a = srv_service_lease(s, 0)->inst,
                              *b = srv_service_lease(s, 1)->inst;
    assert_ptr_equal(ARTEMISI_INST(a, SERVICE_ID), ARTEMISI_INST(b, SERVICE_ID));
    assert_ptr_equal(ARTEMISI_INST(a, ZONE_ID), ARTEMISI_INST(b, ZONE_ID));
    assert_ptr_equal(a->meta[2], b->meta[2]);
    assert_ptr_not_equal(ARTEMISI_INST(a, INSTANCE_ID), ARTEMISI_INST(b, INSTANCE_ID));
    /* The cached JSON holds no doubling slack (it stays as long as the service is unchanged). */
    const artemisi_buf_t *j = srv_service_json(s);
    assert_non_null(j);
    assert_int_equal(j->cap, j->len + 1);
    json_decref(parse_buf(j));
    /* Every lease found again by its key, whatever the case. */
    for (long i = 0; i < N; i += 97) {
        artemisi_instance_t d = bench_draft(i, S, fields, meta);
        ARTEMISI_INST(&d, REGION_ID) = "SHA";
        assert_non_null(srv_registry_find(f->r, &d));
        assert_int_equal(srv_registry_heartbeat(f->r, &d, 1, 1700000000001LL, 0), 0);
    }
    for (long i = 0; i < N; i++) {
        artemisi_instance_t d = bench_draft(i, S, fields, meta);
        assert_int_equal(srv_registry_unregister(f->r, &d, 1700000000002LL), 0);
    }
    assert_int_equal(srv_registry_lease_count(f->r), 0);
    assert_int_equal(f->r->lease_bytes, 0); /* what was counted in is counted out */
    fixture_free(f);
}

/* An instance whose strings others borrow stays alive (their reference) after its own lease
 * is gone, and a re-registration borrows from it too; nothing is read after it is freed
 * (ASan) and everything is freed in the end (LeakSanitizer). */
static void test_shared_strings_outlive_their_owner(void **state)
{
    (void)state;
    fixture_t *f = fixture_new(4);
    reg(f, "svc", "i1", 0);
    reg(f, "svc", "i2", 0);
    reg(f, "svc", "i3", 0);
    srv_service_t *s = srv_registry_service(f->r, "svc");
    artemisi_instance_t *root = srv_service_lease(s, 0)->inst;
    assert_int_equal(root->packed, 1);
    assert_int_equal(srv_service_lease(s, 1)->inst->packed, 2);
    assert_int_equal(root->refs, 4); /* its lease, its change-log entry and two borrowers */
    unreg(f, "svc", "i1", 1);
    reg(f, "svc", "i1", 2); /* borrows from the old i1, which its lease no longer holds */
    unreg(f, "svc", "i2", 3);
    assert_true(listed(f, "svc", "i1"));
    assert_true(listed(f, "svc", "i3"));
    json_t *j = parse_buf(srv_service_json(srv_registry_service(f->r, "svc")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "serviceId")),
                        "svc");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "zoneId")),
                        "SHA-Z1");
    json_decref(j);
    /* The change log (4 entries) still renders what it holds. */
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    uint64_t v;
    assert_int_equal(srv_registry_delta(f->r, srv_registry_version(f->r) - 3, &out, &v), 0);
    json_decref(parse_buf(&out));
    artemisi_buf_free(&out);
    unreg(f, "svc", "i3", 4);
    unreg(f, "svc", "i1", 5);
    assert_null(srv_registry_service(f->r, "svc"));
    fixture_free(f);
}

static void test_random_consistency(void **state)
{
    (void)state;
    enum { NI = 200, NS = 7 };
    fixture_t *f = fixture_new(1 << 14);
    srv_registry_set_change_cb(f->r, NULL, NULL); /* too many changes to record */
    static int alive[NI];
    memset(alive, 0, sizeof(alive));
    uint64_t x = 88172645463325252ULL;
    char sid[16], iid[16];
    for (int step = 0; step < 5000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % NI);
        snprintf(sid, sizeof(sid), "s%d", k % NS);
        snprintf(iid, sizeof(iid), "i%d", k);
        if ((x >> 20) % 3) {
            reg(f, sid, iid, step);
            alive[k] = 1;
        } else {
            unreg(f, sid, iid, step);
            alive[k] = 0;
        }
        if (step % 250 == 0) {
            size_t n = 0;
            for (int i = 0; i < NI; i++)
                n += (size_t)alive[i];
            assert_int_equal(srv_registry_lease_count(f->r), n);
            json_t *j = parse_buf(srv_registry_services_json(f->r));
            size_t total = 0, idx;
            json_t *svc;
            json_array_foreach(j, idx, svc)
            {
                total += json_array_size(json_object_get(svc, "instances"));
            }
            assert_int_equal(total, n);
            json_decref(j);
        }
    }
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_check),
        cmocka_unit_test(test_register_lookup),
        cmocka_unit_test(test_reregister_replaces),
        cmocka_unit_test(test_reregister_moves_service),
        cmocka_unit_test(test_instance_keys_do_not_collide),
        cmocka_unit_test(test_heartbeat_case_insensitive),
        cmocka_unit_test(test_heartbeat_unknown),
        cmocka_unit_test(test_expiry_without_heartbeat),
        cmocka_unit_test(test_heartbeats_keep_alive),
        cmocka_unit_test(test_expiry_is_sticky),
        cmocka_unit_test(test_self_preservation_keeps_expired),
        cmocka_unit_test(test_heartbeat_revives_kept_lease),
        cmocka_unit_test(test_heartbeat_revives_observed_expired),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_budget_with_refiled_leases),
        cmocka_unit_test(test_long_stall),
        cmocka_unit_test(test_legacy_ttl),
        cmocka_unit_test(test_two_lease_managers),
        cmocka_unit_test(test_unregister),
        cmocka_unit_test(test_services_json_cache),
        cmocka_unit_test(test_services_blob_outlives_changes),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_delta_too_old),
        cmocka_unit_test(test_delta_escaping),
        cmocka_unit_test(test_delta_move),
        cmocka_unit_test(test_memory_per_instance),
        cmocka_unit_test(test_shared_strings_outlive_their_owner),
        cmocka_unit_test(test_random_consistency),
    };
    return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
