/*
 * The management snapshot's indexes and the discovery projection (mgmt_model.h).
 *
 * The down sets are hash sets of case-insensitive keys, so the §7.2 predicate costs at most
 * three lookups plus one per segment of the instance's group path. The per-service JSON
 * (logicInstances, routeRules) is built here once per snapshot, on the store's worker thread,
 * so the loop only copies bytes into answers.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "mgmt_model.h"

#define ROWS(s, T) (&(s)->tab[SRV_MG_##T])

void srv_mg_snap_init(srv_mg_snap_t *s, uint64_t seed0, uint64_t seed1)
{
    memset(s, 0, sizeof(*s));
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        srv_mg_rows_init(&s->tab[t], srv_mg_table((srv_mg_table_id_t)t)->ncols);
    artemisi_dict_init(&s->down_instance, seed0, seed1);
    artemisi_dict_init(&s->down_server, seed0 ^ 1, seed1);
    artemisi_dict_init(&s->down_zone, seed0 ^ 2, seed1);
    artemisi_dict_init(&s->down_group, seed0 ^ 3, seed1);
    artemisi_dict_init(&s->services, seed0 ^ 4, seed1);
    artemisi_dict_init(&s->groups, seed0 ^ 5, seed1);
    artemisi_dict_init(&s->rules, seed0 ^ 6, seed1);
}

static void service_free(srv_mg_service_t *svc)
{
    free(svc->rules.v);
    free(svc->logic.v);
    free(svc->zones.v);
    free(svc->groups.v);
    artemisi_buf_free(&svc->frag);
    artemisi_buf_free(&svc->fingerprint);
    free(svc->key);
    free(svc->name);
    free(svc);
}

void srv_mg_snap_free(srv_mg_snap_t *s)
{
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        srv_mg_rows_free(&s->tab[t]);
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&s->services, &it)))
        service_free(e->value);
    artemisi_dict_free(&s->down_instance);
    artemisi_dict_free(&s->down_server);
    artemisi_dict_free(&s->down_zone);
    artemisi_dict_free(&s->down_group);
    artemisi_dict_free(&s->services);
    artemisi_dict_free(&s->groups);
    artemisi_dict_free(&s->rules);
    free(s->rrg_by_rule.v);
    free(s->gi_by_group.v);
    free(s->tag_by_group.v);
    free(s->op_by_group.v);
    for (size_t i = 0; i < s->nkeys; i++)
        free(s->keys[i]);
    free(s->keys);
    memset(s, 0, sizeof(*s));
}

int srv_mg_key(artemisi_buf_t *out, size_t n, const char *const *parts)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "null";
        rc |= artemisi_buf_appendf(out, "%zu:", strlen(p));
        rc |= artemisi_buf_append_lower(out, p);
        rc |= artemisi_buf_appendc(out, '|');
    }
    return rc ? -1 : 0;
}

/* Keep a key string for the lifetime of the snapshot and put it in a set. */
static int set_add(srv_mg_snap_t *s, artemisi_dict_t *d, artemisi_buf_t *k, void *value)
{
    if (artemisi_buf_failed(k) || !k->data)
        return -1;
    if (artemisi_dict_get(d, k->data)) {
        artemisi_buf_reset(k);
        return 0;
    }
    if (s->nkeys == s->capkeys) {
        size_t ncap = s->capkeys ? s->capkeys * 2 : 64;
        char **nk = realloc(s->keys, ncap * sizeof(*nk));
        if (!nk)
            return -1;
        s->keys = nk;
        s->capkeys = ncap;
    }
    char *key = artemisi_buf_detach(k, NULL);
    if (!key)
        return -1;
    s->keys[s->nkeys++] = key;
    int failed = 0;
    artemisi_dict_put(d, key, value, &failed);
    return failed ? -1 : 0;
}

/* §0.4 join: blank parts dropped, lower-cased, '/'-separated. */
static int join_lower(artemisi_buf_t *out, size_t n, const char *const *parts)
{
    int rc = 0, first = 1;
    for (size_t i = 0; i < n; i++) {
        if (artemisi_blank(parts[i]))
            continue;
        if (!first)
            rc |= artemisi_buf_appendc(out, '/');
        rc |= artemisi_buf_append_lower(out, parts[i]);
        first = 0;
    }
    if (!out->data)
        rc |= artemisi_buf_appends(out, "");
    return rc ? -1 : 0;
}

int srv_mg_group_key(const srv_mg_snap_t *s, size_t row, artemisi_buf_t *out)
{
    const srv_mg_rows_t *g = ROWS(s, GROUP);
    const char *parts[] = {
        srv_mg_val(g, row, SRV_MGC_GROUP_SERVICE_ID), srv_mg_val(g, row, SRV_MGC_GROUP_REGION_ID),
        srv_mg_val(g, row, SRV_MGC_GROUP_ZONE_ID), srv_mg_val(g, row, SRV_MGC_GROUP_NAME)};
    return join_lower(out, 4, parts);
}

static long by_id(const artemisi_dict_t *d, int64_t id)
{
    char k[32];
    snprintf(k, sizeof(k), "%lld", (long long)id);
    void *v = artemisi_dict_get(d, k);
    return v ? (long)((uintptr_t)v - 1) : -1;
}

long srv_mg_group_row(const srv_mg_snap_t *s, int64_t group_id)
{
    return by_id(&s->groups, group_id);
}

long srv_mg_rule_row(const srv_mg_snap_t *s, int64_t rule_id)
{
    return by_id(&s->rules, rule_id);
}

static int cmp_fk(const void *a, const void *b)
{
    const srv_mg_fk_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Sort a table's rows by an integer column. */
static int fk_build(const srv_mg_rows_t *r, size_t col, srv_mg_fks_t *out)
{
    out->n = r->nrows;
    out->v = malloc((r->nrows ? r->nrows : 1) * sizeof(*out->v));
    if (!out->v)
        return -1;
    for (size_t i = 0; i < r->nrows; i++) {
        out->v[i].key = srv_mg_int(r, i, col, -1);
        out->v[i].row = i;
    }
    qsort(out->v, out->n, sizeof(*out->v), cmp_fk);
    return 0;
}

size_t srv_mg_fk_range(const srv_mg_fks_t *f, int64_t key, size_t *first)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->v[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    size_t end = lo;
    while (end < f->n && f->v[end].key == key)
        end++;
    return end - lo;
}

static int idx_push(srv_mg_idx_t *x, size_t row)
{
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 4;
        size_t *nv = realloc(x->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        x->v = nv;
        x->cap = ncap;
    }
    x->v[x->n++] = row;
    return 0;
}

static int index_down_sets(srv_mg_snap_t *s)
{
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    int rc = 0;
    const srv_mg_rows_t *r = ROWS(s, INSTANCE);
    for (size_t i = 0; i < r->nrows && !rc; i++) {
        const char *p[] = {srv_mg_val(r, i, SRV_MGC_INSTANCE_REGION_ID),
                           srv_mg_val(r, i, SRV_MGC_INSTANCE_SERVICE_ID),
                           srv_mg_val(r, i, SRV_MGC_INSTANCE_INSTANCE_ID)};
        rc = srv_mg_key(&k, 3, p) || set_add(s, &s->down_instance, &k, (void *)1);
    }
    r = ROWS(s, SERVER);
    for (size_t i = 0; i < r->nrows && !rc; i++) {
        const char *p[] = {srv_mg_val(r, i, SRV_MGC_SERVER_REGION_ID),
                           srv_mg_val(r, i, SRV_MGC_SERVER_SERVER_ID)};
        rc = srv_mg_key(&k, 2, p) || set_add(s, &s->down_server, &k, (void *)1);
    }
    r = ROWS(s, ZONE);
    for (size_t i = 0; i < r->nrows && !rc; i++) {
        const char *p[] = {srv_mg_val(r, i, SRV_MGC_ZONE_REGION_ID),
                           srv_mg_val(r, i, SRV_MGC_ZONE_SERVICE_ID),
                           srv_mg_val(r, i, SRV_MGC_ZONE_ZONE_ID)};
        rc = srv_mg_key(&k, 3, p) || set_add(s, &s->down_zone, &k, (void *)1);
    }
    r = ROWS(s, GROUP);
    for (size_t i = 0; i < r->nrows && !rc; i++)
        rc = artemisi_buf_appendf(&k, "%lld", (long long)srv_mg_int(r, i, SRV_MGC_ID, -1)) ||
             set_add(s, &s->groups, &k, (void *)(uintptr_t)(i + 1));
    r = ROWS(s, ROUTE_RULE);
    for (size_t i = 0; i < r->nrows && !rc; i++)
        rc = artemisi_buf_appendf(&k, "%lld", (long long)srv_mg_int(r, i, SRV_MGC_ID, -1)) ||
             set_add(s, &s->rules, &k, (void *)(uintptr_t)(i + 1));
    /* A group operation pulls out the group's instances whether or not the group is active or
     * soft-deleted: Java resolves the operation's group by id alone. */
    r = ROWS(s, GROUP_OP);
    for (size_t i = 0; i < r->nrows && !rc; i++) {
        long g = srv_mg_group_row(s, srv_mg_int(r, i, SRV_MGC_GROUP_OP_GROUP_ID, -1));
        if (g < 0)
            continue;
        rc = srv_mg_group_key(s, (size_t)g, &k) || set_add(s, &s->down_group, &k, (void *)1);
    }
    artemisi_buf_free(&k);
    return rc ? -1 : 0;
}

/* 1 in the set, 0 not, -1 out of memory (the key could not be built). */
static int in_set(const artemisi_dict_t *d, size_t n, const char *const *parts)
{
    if (d->count == 0)
        return 0;
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    int rc = srv_mg_key(&k, n, parts);
    int hit = rc == 0 && artemisi_dict_get(d, k.data) != NULL;
    artemisi_buf_free(&k);
    return rc ? -1 : hit;
}

int srv_mg_instance_path(const artemisi_instance_t *inst, artemisi_buf_t *out)
{
    const char *group = ARTEMISI_INST(inst, GROUP_ID);
    if (artemisi_blank(group) || strcasecmp(group, "default") == 0)
        group = "default";
    const char *parts[] = {ARTEMISI_INST(inst, SERVICE_ID), ARTEMISI_INST(inst, REGION_ID),
                           ARTEMISI_INST(inst, ZONE_ID), group, ARTEMISI_INST(inst, INSTANCE_ID)};
    return join_lower(out, 5, parts);
}

int srv_mg_down(const srv_mg_snap_t *s, const artemisi_instance_t *inst)
{
    const char *region = ARTEMISI_INST(inst, REGION_ID);
    const char *sid = ARTEMISI_INST(inst, SERVICE_ID);
    const char *p3[] = {region, sid, ARTEMISI_INST(inst, INSTANCE_ID)};
    const char *p2[] = {region, ARTEMISI_INST(inst, IP)};
    const char *pz[] = {region, sid, ARTEMISI_INST(inst, ZONE_ID)};
    int r;
    if ((r = in_set(&s->down_instance, 3, p3)) != 0 || (r = in_set(&s->down_server, 2, p2)) != 0 ||
        (r = in_set(&s->down_zone, 3, pz)) != 0)
        return r;
    if (s->down_group.count == 0)
        return 0;
    /* §7.2 rule 4: a group key that is a whole-segment prefix of the group path. */
    artemisi_buf_t path = ARTEMISI_BUF_INIT;
    if (srv_mg_instance_path(inst, &path) != 0) {
        artemisi_buf_free(&path);
        return -1;
    }
    int down = 0;
    for (size_t i = 1; i <= path.len && !down; i++) {
        if (i < path.len && path.data[i] != '/')
            continue;
        char c = path.data[i];
        path.data[i] = 0;
        down = artemisi_dict_get(&s->down_group, path.data) != NULL;
        path.data[i] = c;
    }
    artemisi_buf_free(&path);
    return down;
}

int srv_mg_service_find(const srv_mg_snap_t *s, const char *service_id,
                        const srv_mg_service_t **out)
{
    *out = NULL;
    if (!service_id || s->services.count == 0)
        return 0;
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    int rc = artemisi_buf_append_lower(&k, service_id) == 0 && k.data ? 0 : -1;
    if (rc == 0)
        *out = artemisi_dict_get(&s->services, k.data);
    artemisi_buf_free(&k);
    return rc;
}

const srv_mg_service_t *srv_mg_service(const srv_mg_snap_t *s, const char *service_id)
{
    const srv_mg_service_t *svc;
    srv_mg_service_find(s, service_id, &svc);
    return svc;
}

/* The service entry of a serviceId, created on first use. */
static srv_mg_service_t *service_get(srv_mg_snap_t *s, const char *service_id)
{
    artemisi_buf_t k = ARTEMISI_BUF_INIT;
    if (artemisi_buf_append_lower(&k, service_id ? service_id : "null") != 0) {
        artemisi_buf_free(&k);
        return NULL;
    }
    srv_mg_service_t *svc = artemisi_dict_get(&s->services, k.data);
    if (svc) {
        artemisi_buf_free(&k);
        return svc;
    }
    svc = calloc(1, sizeof(*svc));
    if (!svc) {
        artemisi_buf_free(&k);
        return NULL;
    }
    svc->key = artemisi_buf_detach(&k, NULL);
    svc->name = strdup(service_id ? service_id : "null");
    int failed = 0;
    if (svc->key && svc->name)
        artemisi_dict_put(&s->services, svc->key, svc, &failed);
    if (!svc->key || !svc->name || failed) {
        service_free(svc);
        return NULL;
    }
    return svc;
}

int srv_mg_snap_index(srv_mg_snap_t *s)
{
    if (index_down_sets(s) != 0 ||
        fk_build(ROWS(s, ROUTE_RULE_GROUP), SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID,
                 &s->rrg_by_rule) != 0 ||
        fk_build(ROWS(s, GROUP_INSTANCE), SRV_MGC_GROUP_INSTANCE_GROUP_ID, &s->gi_by_group) != 0 ||
        fk_build(ROWS(s, GROUP_TAG), SRV_MGC_GROUP_TAG_GROUP_ID, &s->tag_by_group) != 0 ||
        fk_build(ROWS(s, GROUP_OP), SRV_MGC_GROUP_OP_GROUP_ID, &s->op_by_group) != 0)
        return -1;
    /* Every service management mentions gets an entry with its rows; its JSON is built by
     * mgmt_project.c. */
    static const struct {
        srv_mg_table_id_t t;
        size_t col;
        size_t list; /* offset of the srv_mg_idx_t in srv_mg_service_t */
    } mentions[] = {
        {SRV_MG_ROUTE_RULE, SRV_MGC_ROUTE_RULE_SERVICE_ID, offsetof(srv_mg_service_t, rules)},
        {SRV_MG_SERVICE_INSTANCE, SRV_MGC_SERVICE_INSTANCE_SERVICE_ID,
         offsetof(srv_mg_service_t, logic)},
        {SRV_MG_ZONE, SRV_MGC_ZONE_SERVICE_ID, offsetof(srv_mg_service_t, zones)},
        {SRV_MG_GROUP, SRV_MGC_GROUP_SERVICE_ID, offsetof(srv_mg_service_t, groups)},
    };
    for (size_t m = 0; m < sizeof(mentions) / sizeof(mentions[0]); m++) {
        const srv_mg_rows_t *r = &s->tab[mentions[m].t];
        for (size_t i = 0; i < r->nrows; i++) {
            srv_mg_service_t *svc = service_get(s, srv_mg_val(r, i, mentions[m].col));
            if (!svc || idx_push((srv_mg_idx_t *)((char *)svc + mentions[m].list), i) != 0)
                return -1;
        }
    }
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&s->services, &it))) {
        srv_mg_service_t *svc = e->value;
        if (srv_mg_project(s, svc->key, NULL, &svc->frag, &svc->canary) != 0 ||
            srv_mg_fingerprint(s, svc, &svc->fingerprint) != 0)
            return -1;
    }
    s->indexed = 1;
    return 0;
}
