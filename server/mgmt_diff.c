/*
 * Management effects on discovery and on the change stream (mgmt_diff.h).
 *
 * A snapshot swap costs one pass over the registry's services (not its instances): only the
 * services an operation row names -- or every service when a server (IP) operation changed,
 * since any service may run on that machine -- have their instances re-evaluated.
 */
#include <stdlib.h>
#include <string.h>

#include "mgmt.h"
#include "mgmt_diff.h"

#define ROWS(s, T)    (&(s)->tab[SRV_MG_##T])
#define NO_MANAGEMENT "\"logicInstances\":[],\"metadata\":null,\"routeRules\":[]"

static int hidden(void *ctx, const artemisi_instance_t *inst)
{
    const srv_server_t *srv = ctx;
    return srv->mgmt ? srv_mg_down(srv_mgmt_snap(srv), inst) : 0;
}

static int append_extra(void *ctx, artemisi_buf_t *out, const srv_service_t *s,
                        const char *service_id)
{
    const srv_server_t *srv = ctx;
    const srv_mg_snap_t *snap = srv_mgmt_snap(srv);
    const srv_mg_service_t *svc;
    if (srv_mg_service_find(snap, s ? s->id : service_id, &svc) != 0) {
        out->failed = 1;
        return -1;
    }
    if (!svc)
        return artemisi_buf_appends(out, NO_MANAGEMENT);
    if (!svc->canary)
        return artemisi_buf_append(out, svc->frag.data, svc->frag.len);
    /* §7.7: the canary rule's groups carry their instances, resolved against the registry. */
    uint32_t n = s ? srv_service_size(s) : 0;
    const artemisi_instance_t **v = malloc((n ? n : 1) * sizeof(*v));
    if (!v) {
        out->failed = 1;
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        v[i] = srv_service_lease(s, i)->inst;
    srv_mg_registered_t reg = {v, n};
    int canary;
    int rc = srv_mg_project(snap, svc->key, &reg, out, &canary);
    free(v);
    return rc;
}

void srv_mg_diff_install(srv_server_t *srv)
{
    srv_registry_hooks_t h = {hidden, append_extra, srv};
    srv_registry_set_hooks(srv->registry, &h);
}

/* ---- what changed ------------------------------------------------------------------------ */

typedef struct marks {
    artemisi_dict_t d; /* lower-case serviceId -> 1 */
    char **keys;
    size_t n, cap;
    int oom;
} marks_t;

static void mark(marks_t *m, const char *service_id)
{
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    if (artemisi_buf_append_lower(&k, service_id ? service_id : "null") != 0 || !k.data) {
        m->oom = 1;
        artemisi_buf_free(&k);
        return;
    }
    if (artemisi_dict_get(&m->d, k.data)) {
        artemisi_buf_free(&k);
        return;
    }
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        char **nk = realloc(m->keys, ncap * sizeof(*nk));
        if (!nk) {
            m->oom = 1;
            artemisi_buf_free(&k);
            return;
        }
        m->keys = nk;
        m->cap = ncap;
    }
    char *key = artemisi_buf_detach(&k, NULL);
    int failed = 0;
    m->keys[m->n++] = key;
    artemisi_dict_put(&m->d, key, (void *)1, &failed);
    m->oom |= failed;
}

static int marked(const marks_t *m, const char *service_id)
{
    if (m->oom)
        return 1; /* re-evaluate everything rather than miss a change */
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    int hit = artemisi_buf_append_lower(&k, service_id) != 0 || !k.data ||
              artemisi_dict_get(&m->d, k.data) != NULL;
    artemisi_buf_free(&k);
    return hit;
}

static void marks_free(marks_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->keys[i]);
    free(m->keys);
    artemisi_dict_free(&m->d);
}

/* Mark the service of every row of table t whose key is in `a`'s set but not in `b`'s. */
static void mark_rows(marks_t *m, const srv_mg_snap_t *a, srv_mg_table_id_t t,
                      const artemisi_dict_t *bset, const size_t *cols, size_t ncols,
                      size_t service_col)
{
    const srv_mg_rows_t *r = &a->tab[t];
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *parts[3];
        for (size_t c = 0; c < ncols; c++)
            parts[c] = srv_mg_val(r, i, cols[c]);
        artemisi_buf_reset(&k);
        if (srv_mg_key(&k, ncols, parts) != 0 || !artemisi_dict_get(bset, k.data))
            mark(m, srv_mg_val(r, i, service_col));
    }
    artemisi_buf_free(&k);
}

/* Groups whose operation set changed between a and b (either way). */
static void mark_groups(marks_t *m, const srv_mg_snap_t *a, const srv_mg_snap_t *b)
{
    const srv_mg_rows_t *ops = ROWS(a, GROUP_OP);
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    for (size_t i = 0; i < ops->nrows; i++) {
        long g = srv_mg_group_row(a, srv_mg_int(ops, i, SRV_MGC_GROUP_OP_GROUP_ID, -1));
        if (g < 0)
            continue;
        artemisi_buf_reset(&k);
        if (srv_mg_group_key(a, (size_t)g, &k) != 0 || !artemisi_dict_get(&b->down_group, k.data))
            mark(m, srv_mg_val(ROWS(a, GROUP), (size_t)g, SRV_MGC_GROUP_SERVICE_ID));
    }
    artemisi_buf_free(&k);
}

static int same_keys(const artemisi_dict_t *a, const artemisi_dict_t *b)
{
    if (a->count != b->count)
        return 0;
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(a, &it)))
        if (!artemisi_dict_get(b, e->key))
            return 0;
    return 1;
}

static const artemisi_buf_t *fingerprint(const srv_mg_snap_t *s, const char *key)
{
    const srv_mg_service_t *svc = artemisi_dict_get(&s->services, key);
    return svc ? &svc->fingerprint : NULL;
}

static int same_fp(const artemisi_buf_t *a, const artemisi_buf_t *b)
{
    static const char none[] = NO_MANAGEMENT;
    const char *ad = a ? a->data : none, *bd = b ? b->data : none;
    size_t al = a ? a->len : sizeof(none) - 1, bl = b ? b->len : sizeof(none) - 1;
    return al == bl && memcmp(ad, bd, al) == 0;
}

/* Services whose projection or zone/group operations changed: one `reload` each. */
static void mark_reloads(marks_t *m, const srv_mg_snap_t *old, const srv_mg_snap_t *cur)
{
    const srv_mg_snap_t *pair[2][2] = {{old, cur}, {cur, old}};
    for (int p = 0; p < 2; p++) {
        size_t it = 0;
        artemisi_dict_entry_t *e;
        while ((e = artemisi_dict_next(&pair[p][0]->services, &it)))
            if (!same_fp(fingerprint(pair[p][0], e->key), fingerprint(pair[p][1], e->key)))
                mark(m, ((const srv_mg_service_t *)e->value)->name);
    }
}

static void announce_reload(srv_server_t *srv, const char *service_id)
{
    artemisi_instance_t fake;
    memset(&fake, 0, sizeof(fake));
    ARTEMISI_INST(&fake, SERVICE_ID) = service_id;
    ARTEMISI_INST(&fake, INSTANCE_ID) = "reload";
    ARTEMISI_INST(&fake, IP) = "0.0.0.0";
    ARTEMISI_INST(&fake, URL) = "http://serviceId/reload"; /* literal, as Java sends it */
    fake.meta_null = 1;
    artemisi_instance_t *p = artemisi_instance_pack(&fake);
    if (!p)
        return; /* the watcher misses a reload; its periodic lookup heals it */
    srv_registry_announce(srv->registry, SRV_CHANGE_RELOAD, p, srv_now_wall());
    artemisi_instance_unref(p);
}

uint64_t srv_mg_diff_apply(srv_server_t *srv, const srv_mg_snap_t *old, const srv_mg_snap_t *cur)
{
    uint64_t seed0, seed1, announced = 0;
    srv_registry_seed(srv->registry, &seed0, &seed1);
    marks_t down = {0}, reload = {0};
    artemisi_dict_init(&down.d, seed0 ^ 7, seed1);
    artemisi_dict_init(&reload.d, seed0 ^ 8, seed1);
    int all = !same_keys(&old->down_server, &cur->down_server);
    static const size_t icols[] = {SRV_MGC_INSTANCE_REGION_ID, SRV_MGC_INSTANCE_SERVICE_ID,
                                   SRV_MGC_INSTANCE_INSTANCE_ID};
    static const size_t zcols[] = {SRV_MGC_ZONE_REGION_ID, SRV_MGC_ZONE_SERVICE_ID,
                                   SRV_MGC_ZONE_ZONE_ID};
    const srv_mg_snap_t *pair[2][2] = {{old, cur}, {cur, old}};
    for (int p = 0; p < 2 && !all; p++) {
        const srv_mg_snap_t *a = pair[p][0], *b = pair[p][1];
        mark_rows(&down, a, SRV_MG_INSTANCE, &b->down_instance, icols, 3,
                  SRV_MGC_INSTANCE_SERVICE_ID);
        mark_rows(&down, a, SRV_MG_ZONE, &b->down_zone, zcols, 3, SRV_MGC_ZONE_SERVICE_ID);
        mark_groups(&down, a, b);
    }
    mark_reloads(&reload, old, cur);
    /* One pass over the registered services. */
    size_t it = 0;
    srv_service_t *s;
    marks_t reloaded = {0};
    artemisi_dict_init(&reloaded.d, seed0 ^ 9, seed1);
    while ((s = srv_registry_next_service(srv->registry, &it))) {
        int d = all || (down.n && marked(&down, s->id));
        int r = reload.n && marked(&reload, s->id);
        if (!d && !r)
            continue;
        srv_registry_touch(srv->registry, s);
        for (uint32_t i = 0; d && i < srv_service_size(s); i++) {
            artemisi_instance_t *inst = srv_service_lease(s, i)->inst;
            int was = srv_mg_down(old, inst), is = srv_mg_down(cur, inst);
            if (was == is || was < 0 || is < 0)
                continue; /* undecided (out of memory): the periodic reload retries */
            srv_registry_announce(srv->registry, is ? SRV_CHANGE_DELETE : SRV_CHANGE_NEW, inst,
                                  srv_now_wall());
            announced++;
        }
        if (r) {
            announce_reload(srv, s->id);
            announced++;
            mark(&reloaded, s->id);
        }
    }
    /* Services management names that have no registered instance: watchers may still be
     * subscribed (by the spelling management uses). */
    for (size_t i = 0; i < reload.n; i++) {
        const srv_mg_service_t *svc = artemisi_dict_get(&cur->services, reload.keys[i]);
        if (!svc)
            svc = artemisi_dict_get(&old->services, reload.keys[i]);
        if (svc && !artemisi_dict_get(&reloaded.d, reload.keys[i])) {
            announce_reload(srv, svc->name);
            announced++;
        }
    }
    marks_free(&reloaded);
    marks_free(&down);
    marks_free(&reload);
    return announced;
}
