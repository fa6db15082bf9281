/*
 * The management views of the registry (protocol.md §7.5): every lease of a service, pulled-out
 * ones included, with status rewritten to up/down by the §7.2 predicate and the lease's
 * creationTime, renewalTime and ttl added to its metadata -- what an operator needs to see why
 * an instance is or is not served. Built per request (operator traffic, not client traffic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_mgmt.h"
#include "codec.h"

static int cmp_meta(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(x[0], y[0]);
}

/* One lease as the management view shows it. */
static int append_lease(srv_server_t *srv, artemisi_buf_t *out, const srv_lease_t *l)
{
    const artemisi_instance_t *inst = l->inst;
    artemisi_instance_t d = *inst;
    d.packed = 0;
    int down = srv_mg_down(srv_mgmt_snap(srv), inst);
    if (down < 0) {
        out->failed = 1;
        return -1;
    }
    ARTEMISI_INST(&d, STATUS) = down ? "down" : "up";
    char ctime[24], rtime[24], ttl[24];
    snprintf(ctime, sizeof(ctime), "%lld", (long long)l->creation_wall);
    snprintf(rtime, sizeof(rtime), "%lld", (long long)l->renewal_wall);
    snprintf(ttl, sizeof(ttl), "%lld",
             (long long)(l->legacy ? srv->registry->cfg.legacy_ttl_ms : srv->registry->cfg.ttl_ms));
    static const char *const added[] = {"creationTime", "renewalTime", "ttl"};
    const char *vals[] = {ctime, rtime, ttl};
    size_t n = 0, cap = inst->n_meta + 3;
    const char **meta = malloc(2 * cap * sizeof(*meta));
    if (!meta) {
        out->failed = 1;
        return -1;
    }
    for (uint32_t i = 0; i < inst->n_meta; i++) {
        const char *k = inst->meta[2 * i];
        if (strcmp(k, "creationTime") && strcmp(k, "renewalTime") && strcmp(k, "ttl")) {
            meta[2 * n] = k;
            meta[2 * n + 1] = inst->meta[2 * i + 1];
            n++;
        }
    }
    for (size_t i = 0; i < 3; i++, n++) {
        meta[2 * n] = added[i];
        meta[2 * n + 1] = vals[i];
    }
    qsort(meta, n, 2 * sizeof(*meta), cmp_meta);
    d.meta = meta;
    d.n_meta = (uint32_t)n;
    d.meta_null = 0;
    int rc = artemisi_encode_instance(out, &d);
    free(meta);
    return rc;
}

/* A Service with every lease (s NULL: instances null), then logicInstances and routeRules. */
static void append_service(srv_server_t *srv, artemisi_buf_t *out, srv_service_t *s,
                           const char *sid)
{
    artemisi_buf_appends(out, "{\"instances\":");
    if (s) {
        artemisi_buf_appendc(out, '[');
        for (uint32_t i = 0; i < srv_service_size(s); i++) {
            if (i)
                artemisi_buf_appendc(out, ',');
            append_lease(srv, out, srv_service_lease(s, i));
        }
        artemisi_buf_appendc(out, ']');
    } else {
        artemisi_buf_appends(out, "null");
    }
    artemisi_buf_appendc(out, ',');
    const srv_registry_hooks_t *h = &srv->registry->hooks;
    if (h->append_extra)
        h->append_extra(h->ctx, out, s, sid);
    else
        artemisi_buf_appends(out, "\"logicInstances\":[],\"metadata\":null,\"routeRules\":[]");
    artemisi_buf_appends(out, ",\"serviceId\":");
    artemisi_json_str(out, s ? s->id : sid);
    artemisi_buf_appendc(out, '}');
}

void srv_api_mg_services(srv_req_t *req)
{
    srv_mg_call_t c;
    if (srv_mg_begin(&c, req, "", "\"services\":null,\"version\":0", 0) == 0) {
        srv_server_t *srv = req->srv;
        artemisi_buf_appendc(req->out, '{');
        srv_mg_status_ok(req->out);
        artemisi_buf_appends(req->out, ",\"services\":[");
        size_t it = 0, n = 0;
        srv_service_t *s;
        while ((s = srv_registry_next_service(srv->registry, &it))) {
            if (n++)
                artemisi_buf_appendc(req->out, ',');
            append_service(srv, req->out, s, s->id);
        }
        artemisi_buf_appends(req->out, "],\"version\":");
        artemisi_buf_append_i64(req->out, srv_now_wall()); /* §11.22: just the time */
        artemisi_buf_appendc(req->out, '}');
    }
    srv_mg_end(&c);
}

void srv_api_mg_service(srv_req_t *req)
{
    srv_mg_call_t c;
    const char *sid = NULL;
    if (srv_mg_begin(&c, req, "\"groups\":null", "\"service\":null", 0) != 0 ||
        srv_mg_str(&c, c.root, "serviceId", &sid) != 0) {
        srv_mg_end(&c);
        return;
    }
    if (artemisi_blank(sid)) {
        srv_mg_fail(&c, "bad-request", "Request is null or request.servcieId is null.");
        srv_mg_end(&c);
        return;
    }
    srv_server_t *srv = req->srv;
    const srv_mg_snap_t *snap = srv_mgmt_snap(srv);
    const srv_mg_service_t *ms;
    if (srv_mg_service_find(snap, sid, &ms) != 0)
        req->out->failed = 1;
    artemisi_buf_t *out = req->out;
    artemisi_buf_appends(out, "{\"groups\":[");
    for (size_t i = 0; ms && i < ms->groups.n; i++) {
        size_t row = ms->groups.v[i];
        const srv_mg_rows_t *g = &snap->tab[SRV_MG_GROUP];
        const char *del = srv_mg_val(g, row, SRV_MGC_GROUP_DELETED);
        if (del && strcmp(del, "1") == 0)
            continue;
        int64_t gid = srv_mg_int(g, row, SRV_MGC_ID, -1);
        artemisi_buf_t key = ARTEMISI_BUF_INIT;
        if (srv_mg_group_key(snap, row, &key) != 0)
            out->failed = 1;
        if (out->len && out->data[out->len - 1] == '}')
            artemisi_buf_appendc(out, ',');
        artemisi_buf_appends(out, "{\"groupKey\":");
        artemisi_json_str(out, key.data ? key.data : "");
        artemisi_buf_free(&key);
        artemisi_buf_appends(out, ",\"instanceIds\":[");
        size_t first, n = srv_mg_fk_range(&snap->gi_by_group, gid, &first);
        for (size_t k = 0; k < n; k++) {
            if (k)
                artemisi_buf_appendc(out, ',');
            artemisi_json_str(out, srv_mg_val(&snap->tab[SRV_MG_GROUP_INSTANCE],
                                              snap->gi_by_group.v[first + k].row,
                                              SRV_MGC_GROUP_INSTANCE_INSTANCE_ID));
        }
        artemisi_buf_appends(out, "],\"instances\":null,\"metadata\":");
        srv_mg_append_tags(snap, gid, out);
        artemisi_buf_appends(out, ",\"weight\":null}");
    }
    artemisi_buf_appends(out, "],");
    srv_mg_status_ok(out);
    artemisi_buf_appends(out, ",\"service\":");
    append_service(srv, out, srv_registry_service(srv->registry, sid), sid);
    artemisi_buf_appendc(out, '}');
    srv_mg_end(&c);
}
