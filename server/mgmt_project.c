/*
 * The discovery projection of the management state (protocol.md §4.1, §7.6, §7.7): what a
 * Service gains from management -- its logical instances and its active route rules with
 * their active groups, released weights, explicit members and tags -- and the fingerprint
 * whose change announces a `reload`. Pure: reads a snapshot, writes bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "mgmt_model.h"

#define ROWS(s, T)  (&(s)->tab[SRV_MG_##T])
#define CANARY_RULE "canary-route-rule"

static int is_true(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

static int is_active(const char *status)
{
    return status && strcasecmp(status, "active") == 0;
}

/* ServiceGroups.fixWeight (protocol.md §1.4). */
static int64_t fix_weight(const srv_mg_rows_t *r, size_t row, size_t col)
{
    int64_t w = srv_mg_int(r, row, col, -1);
    return w < 0 ? 5 : w > 10000 ? 10000 : w;
}

static int cmp_tag(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(x[0] ? x[0] : "", y[0] ? y[0] : "");
}

int srv_mg_append_tags(const srv_mg_snap_t *s, int64_t group_id, artemisi_buf_t *out)
{
    size_t first, n = srv_mg_fk_range(&s->tag_by_group, group_id, &first);
    if (n == 0)
        return artemisi_buf_appends(out, "null");
    const srv_mg_rows_t *t = ROWS(s, GROUP_TAG);
    const char **kv = malloc(2 * n * sizeof(*kv));
    if (!kv) {
        out->failed = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t row = s->tag_by_group.v[first + i].row;
        kv[2 * i] = srv_mg_val(t, row, SRV_MGC_GROUP_TAG_TAG);
        kv[2 * i + 1] = srv_mg_val(t, row, SRV_MGC_GROUP_TAG_VALUE);
    }
    qsort(kv, n, 2 * sizeof(*kv), cmp_tag);
    int rc = artemisi_buf_appendc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= artemisi_json_str(out, kv[2 * i] ? kv[2 * i] : "");
        rc |= artemisi_buf_appendc(out, ':');
        rc |= kv[2 * i + 1] ? artemisi_json_str(out, kv[2 * i + 1])
                            : artemisi_buf_appends(out, "null");
    }
    rc |= artemisi_buf_appendc(out, '}');
    free(kv);
    return rc ? -1 : 0;
}

void srv_mg_logic_draft(const srv_mg_snap_t *s, size_t row, artemisi_instance_t *d)
{
    const srv_mg_rows_t *r = ROWS(s, SERVICE_INSTANCE);
    memset(d, 0, sizeof(*d));
    ARTEMISI_INST(d, GROUP_ID) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_GROUP_ID);
    ARTEMISI_INST(d, HEALTH_CHECK_URL) =
        srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_HEALTH_CHECK_URL);
    ARTEMISI_INST(d, INSTANCE_ID) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_INSTANCE_ID);
    ARTEMISI_INST(d, IP) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_IP);
    ARTEMISI_INST(d, MACHINE_NAME) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_MACHINE_NAME);
    ARTEMISI_INST(d, PROTOCOL) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_PROTOCOL);
    ARTEMISI_INST(d, REGION_ID) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_REGION_ID);
    ARTEMISI_INST(d, SERVICE_ID) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_SERVICE_ID);
    ARTEMISI_INST(d, STATUS) = "up"; /* §4.1: status forced to up */
    ARTEMISI_INST(d, URL) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_URL);
    ARTEMISI_INST(d, ZONE_ID) = srv_mg_val(r, row, SRV_MGC_SERVICE_INSTANCE_ZONE_ID);
    d->port = (int32_t)srv_mg_int(r, row, SRV_MGC_SERVICE_INSTANCE_PORT, 0);
    d->meta_null = 1;
}

int srv_mg_append_logic(const srv_mg_snap_t *s, size_t row, artemisi_buf_t *out)
{
    artemisi_instance_t d;
    srv_mg_logic_draft(s, row, &d);
    /* metadata is stored as JSON text; an object of strings is shown, anything else null. */
    const char *meta =
        srv_mg_val(ROWS(s, SERVICE_INSTANCE), row, SRV_MGC_SERVICE_INSTANCE_METADATA);
    json_t *root = meta ? json_loads(meta, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char **kv = NULL;
    if (json_is_object(root) && json_object_size(root) > 0) {
        size_t n = json_object_size(root), i = 0;
        kv = malloc(2 * n * sizeof(*kv));
        if (!kv) {
            json_decref(root);
            out->failed = 1;
            return -1;
        }
        const char *k;
        json_t *v;
        int ok = 1;
        json_object_foreach(root, k, v)
        {
            if (!json_is_string(v))
                ok = 0;
            kv[2 * i] = k;
            kv[2 * i + 1] = json_string_value(v);
            i++;
        }
        if (ok) {
            qsort(kv, n, 2 * sizeof(*kv), cmp_tag);
            d.meta = kv;
            d.n_meta = (uint32_t)n;
            d.meta_null = 0;
        }
    } else if (json_is_object(root)) {
        d.meta_null = 0; /* {} */
    }
    int rc = artemisi_encode_instance(out, &d);
    free(kv);
    json_decref(root);
    return rc;
}

/* Registered instance i is in the group: listed by id, or its group path below the key.
 * 1 in, 0 not, -1 out of memory (undecided: the answer must not go out as complete). */
static int reg_in_group(const artemisi_instance_t *inst, const char *gkey, const srv_mg_snap_t *s,
                        size_t gi_first, size_t gi_n)
{
    const char *id = ARTEMISI_INST(inst, INSTANCE_ID);
    const srv_mg_rows_t *gi = ROWS(s, GROUP_INSTANCE);
    for (size_t i = 0; i < gi_n && id; i++) {
        const char *m =
            srv_mg_val(gi, s->gi_by_group.v[gi_first + i].row, SRV_MGC_GROUP_INSTANCE_INSTANCE_ID);
        if (m && strcmp(m, id) == 0)
            return 1;
    }
    artemisi_buf_t path = ARTEMISI_BUF_INIT;
    if (srv_mg_instance_path(inst, &path) != 0) {
        artemisi_buf_free(&path);
        return -1;
    }
    size_t kl = strlen(gkey);
    int in = path.len > kl && strncmp(path.data, gkey, kl) == 0 && path.data[kl] == '/';
    artemisi_buf_free(&path);
    return in;
}

/* One ServiceGroup; resolve (the canary rule with registered instances) fills `instances`. */
static int append_group(const srv_mg_snap_t *s, size_t rrg_row, size_t grow,
                        const srv_mg_registered_t *resolve, artemisi_buf_t *out)
{
    const srv_mg_rows_t *gi = ROWS(s, GROUP_INSTANCE);
    int64_t gid = srv_mg_int(ROWS(s, GROUP), grow, SRV_MGC_ID, -1);
    artemisi_buf_t key = ARTEMISI_BUF_INIT;
    int rc = srv_mg_group_key(s, grow, &key);
    rc |= artemisi_buf_appends(out, "{\"groupKey\":");
    rc |= artemisi_json_str(out, key.data ? key.data : "");
    rc |= artemisi_buf_appends(out, ",\"instanceIds\":[");
    size_t first, n = srv_mg_fk_range(&s->gi_by_group, gid, &first);
    for (size_t i = 0; i < n; i++) {
        const char *id =
            srv_mg_val(gi, s->gi_by_group.v[first + i].row, SRV_MGC_GROUP_INSTANCE_INSTANCE_ID);
        if (i)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= id ? artemisi_json_str(out, id) : artemisi_buf_appends(out, "null");
    }
    rc |= artemisi_buf_appends(out, "],\"instances\":");
    if (resolve) {
        rc |= artemisi_buf_appendc(out, '[');
        size_t k = 0;
        for (size_t i = 0; i < resolve->n && key.data; i++) {
            int in = reg_in_group(resolve->v[i], key.data, s, first, n);
            rc |= in < 0 ? -1 : 0;
            if (in <= 0)
                continue;
            if (k++)
                rc |= artemisi_buf_appendc(out, ',');
            rc |= artemisi_encode_instance(out, resolve->v[i]);
        }
        rc |= artemisi_buf_appendc(out, ']');
    } else {
        rc |= artemisi_buf_appends(out, "null");
    }
    rc |= artemisi_buf_appends(out, ",\"metadata\":");
    rc |= srv_mg_append_tags(s, gid, out);
    rc |= artemisi_buf_appends(out, ",\"weight\":");
    rc |= artemisi_buf_append_i64(
        out, fix_weight(ROWS(s, ROUTE_RULE_GROUP), rrg_row, SRV_MGC_ROUTE_RULE_GROUP_WEIGHT));
    rc |= artemisi_buf_appendc(out, '}');
    artemisi_buf_free(&key);
    return rc ? -1 : 0;
}

/* One active rule with its active groups; nothing when no group is left (§7.6). */
static int append_rule(const srv_mg_snap_t *s, size_t row, const srv_mg_registered_t *reg,
                       artemisi_buf_t *out, int *nrules, int *canary)
{
    const srv_mg_rows_t *r = ROWS(s, ROUTE_RULE);
    if (is_true(srv_mg_val(r, row, SRV_MGC_ROUTE_RULE_DELETED)) ||
        !is_active(srv_mg_val(r, row, SRV_MGC_ROUTE_RULE_STATUS)))
        return 0;
    const char *name = srv_mg_val(r, row, SRV_MGC_ROUTE_RULE_NAME);
    int is_canary = name && strcasecmp(name, CANARY_RULE) == 0;
    size_t mark = out->len;
    int rc = artemisi_buf_appends(out, *nrules ? ",{\"groups\":[" : "{\"groups\":[");
    size_t first, n = srv_mg_fk_range(&s->rrg_by_rule, srv_mg_int(r, row, SRV_MGC_ID, -1), &first);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rrg = s->rrg_by_rule.v[first + i].row;
        long g = srv_mg_group_row(
            s, srv_mg_int(ROWS(s, ROUTE_RULE_GROUP), rrg, SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID, -1));
        if (g < 0 || is_true(srv_mg_val(ROWS(s, GROUP), (size_t)g, SRV_MGC_GROUP_DELETED)) ||
            !is_active(srv_mg_val(ROWS(s, GROUP), (size_t)g, SRV_MGC_GROUP_STATUS)))
            continue;
        if (kept++)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= append_group(s, rrg, (size_t)g, is_canary ? reg : NULL, out);
    }
    if (kept == 0) {
        out->len = mark; /* a rule without groups is not shipped */
        if (out->data)
            out->data[mark] = 0;
        return rc ? -1 : 0;
    }
    if (is_canary)
        *canary = 1;
    const char *strategy = srv_mg_val(r, row, SRV_MGC_ROUTE_RULE_STRATEGY);
    rc |= artemisi_buf_appends(out, "],\"routeId\":");
    rc |= artemisi_json_str(out, name ? name : "");
    rc |= artemisi_buf_appends(out, ",\"strategy\":");
    rc |= artemisi_json_str(out, artemisi_blank(strategy) ? "weighted-round-robin" : strategy);
    rc |= artemisi_buf_appendc(out, '}');
    (*nrules)++;
    return rc ? -1 : 0;
}

int srv_mg_project(const srv_mg_snap_t *s, const char *key, const srv_mg_registered_t *reg,
                   artemisi_buf_t *out, int *canary)
{
    const srv_mg_service_t *svc;
    int rc = srv_mg_service_find(s, key, &svc);
    rc |= artemisi_buf_appends(out, "\"logicInstances\":[");
    size_t k = 0;
    for (size_t i = 0; svc && i < svc->logic.n; i++) {
        artemisi_instance_t d;
        srv_mg_logic_draft(s, svc->logic.v[i], &d);
        int down = srv_mg_down(s, &d); /* §4.1 step 2 applies to logical instances too */
        rc |= down < 0 ? -1 : 0;
        if (down)
            continue;
        if (k++)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= srv_mg_append_logic(s, svc->logic.v[i], out);
    }
    rc |= artemisi_buf_appends(out, "],\"metadata\":null,\"routeRules\":[");
    int nrules = 0;
    *canary = 0;
    for (size_t i = 0; svc && i < svc->rules.n && !rc; i++)
        rc |= append_rule(s, svc->rules.v[i], reg, out, &nrules, canary);
    rc |= artemisi_buf_appendc(out, ']');
    if (rc)
        out->failed = 1; /* bytes lost in a scratch buffer are lost from the answer too */
    return rc || artemisi_buf_failed(out) ? -1 : 0;
}

int srv_mg_fingerprint(const srv_mg_snap_t *s, const srv_mg_service_t *svc, artemisi_buf_t *out)
{
    int rc = artemisi_buf_append(out, svc->frag.data ? svc->frag.data : "", svc->frag.len);
    const srv_mg_rows_t *z = ROWS(s, ZONE);
    for (size_t i = 0; i < svc->zones.n; i++) {
        const char *p[] = {srv_mg_val(z, svc->zones.v[i], SRV_MGC_ZONE_REGION_ID),
                           srv_mg_val(z, svc->zones.v[i], SRV_MGC_ZONE_ZONE_ID)};
        rc |= artemisi_buf_appends(out, "|z");
        rc |= srv_mg_key(out, 2, p);
    }
    for (size_t i = 0; i < svc->groups.n; i++) {
        int64_t gid = srv_mg_int(ROWS(s, GROUP), svc->groups.v[i], SRV_MGC_ID, -1);
        size_t first;
        if (srv_mg_fk_range(&s->op_by_group, gid, &first))
            rc |= artemisi_buf_appendf(out, "|g%lld", (long long)gid);
    }
    return rc ? -1 : 0;
}
