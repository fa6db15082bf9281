/*
 * libFuzzer target for the management API (protocol.md §7): a request body sent to any of the
 * 57 management paths of a server with registered instances and a management state (groups,
 * a route rule, operations). Reads answer at once and must be JSON; writes are committed to a
 * real SQLite store (in memory, shared by all inputs and emptied after each write), the state
 * is reloaded and swapped in as the worker would, and discovery answers (with the rules and
 * pull-outs they now carry) must stay valid JSON.
 *
 * Input layout: byte 0 selects the path, the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api.h"
#include "mgmt.h"
#include "mgmt_db.h"
#include "routes.h"
#include "server.h"
#include "server_fixture.h"

typedef struct mpath {
    const char *path;
    srv_handler_fn fn;
} mpath_t;

static const mpath_t paths[] = {
#define MG_ROW(id, path, methods, json, fn, ws, metric, scope) {path, fn},
    SRV_ROUTES(MG_ROW)
#undef MG_ROW
};

static srv_mg_db_t *db; /* one in-memory store for the whole run */

static void must_be_json(const char *p, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(p, n, 0, &e);
    if (!j)
        abort();
    json_decref(j);
}

static void row(srv_mg_snap_t *s, srv_mg_table_id_t t, const char *const *own)
{
    const char *v[32] = {"1", "0", "0"};
    for (size_t i = SRV_MGC_FIRST; i < srv_mg_table(t)->ncols; i++)
        v[i] = own[i - SRV_MGC_FIRST];
    if (srv_mg_rows_add(&s->tab[t], v) != 0)
        abort();
}

static srv_mg_snap_t *state(void)
{
    srv_mg_snap_t *s = malloc(sizeof(*s));
    if (!s)
        abort();
    srv_mg_snap_init(s, 1, 2);
    const char *g[] = {"svc", "sha", "z1", "blue", "app", "", "active", "0"};
    const char *r[] = {"svc", "canary-route-rule", "", "active", NULL, "0"};
    const char *l[] = {"1", "1", "10", "10"};
    const char *i[] = {"a", "svc", "sha", "pullout", "op", NULL};
    const char *t[] = {"1", "k", "v"};
    const char *m[] = {"1", "b"};
    row(s, SRV_MG_GROUP, g);
    row(s, SRV_MG_ROUTE_RULE, r);
    row(s, SRV_MG_ROUTE_RULE_GROUP, l);
    row(s, SRV_MG_INSTANCE, i);
    row(s, SRV_MG_GROUP_TAG, t);
    row(s, SRV_MG_GROUP_INSTANCE, m);
    if (srv_mg_snap_index(s) != 0)
        abort();
    return s;
}

static void reg(srv_server_t *srv, const char *iid, const char *group)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "sha";
    ARTEMISI_INST(&d, ZONE_ID) = "z1";
    ARTEMISI_INST(&d, SERVICE_ID) = "svc";
    ARTEMISI_INST(&d, INSTANCE_ID) = iid;
    ARTEMISI_INST(&d, GROUP_ID) = group;
    ARTEMISI_INST(&d, IP) = "10.0.0.1";
    ARTEMISI_INST(&d, URL) = "http://x/";
    d.meta_null = 1;
    srv_registry_register(srv->registry, &d, srv_now_mono(), srv_now_wall());
}

/* Empty every table after a write, so each input starts from the same store. */
static void reset_store(void)
{
    char err[256], sql[128];
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", srv_mg_table((srv_mg_table_id_t)t)->name);
        if (srv_mg_db_exec(db, sql, 0, NULL, NULL, err, sizeof(err)) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char err[256];
    if (!db && (!(db = srv_mg_db_open(":memory:", err, sizeof(err))) ||
                srv_mg_db_migrate(db, err, sizeof(err)) != 0))
        abort();
    size_t nmg = 0;
    const mpath_t *mg[64];
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && nmg < 64; i++)
        if (paths[i].path && strncmp(paths[i].path, "/api/management/", 16) == 0)
            mg[nmg++] = &paths[i];
    const mpath_t *p = mg[data[0] % nmg];

    srv_server_t *srv = fixture_server_new();
    reg(srv, "a", "blue");
    reg(srv, "b", NULL);
    srv_mgmt_start_detached(srv, state(), db);

    srv_http_request_t http;
    memset(&http, 0, sizeof(http));
    http.method = SRV_HTTP_POST;
    http.path = p->path;
    http.query = "";
    char *body = malloc(size);
    if (!body)
        abort();
    memcpy(body, data + 1, size - 1);
    body[size - 1] = 0;
    http.body = body;
    http.body_len = size - 1;
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    srv_req_t req = {.srv = srv,
                     .http = &http,
                     .body = body,
                     .body_len = size - 1,
                     .out = &out,
                     .status = 200,
                     .content_type = "application/json"};
    p->fn(&req);
    if (!req.deferred && !artemisi_buf_failed(&out)) {
        if (out.len == 0)
            abort();
        must_be_json(out.data, out.len);
    }
    /* Commit what was queued and apply the reloaded state, then look at discovery. */
    srv_mgmt_drain_detached(srv);
    const artemisi_buf_t *all = srv_registry_services_json(srv->registry);
    if (all)
        must_be_json(all->data, all->len);
    if (req.deferred)
        reset_store();
    srv_mgmt_take_db(srv);
    srv_mgmt_stop(srv);
    fixture_server_free(srv);
    artemisi_buf_free(&out);
    free(body);
    return 0;
}
