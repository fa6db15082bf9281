/*
 * Service snapshots: construction from lookup.json's Service objects, copy-on-write updates
 * by InstanceChange, route rules and the lock-free weighted pick (protocol.md §1.4, §5.3, §7.7),
 * and the public artemis_service_* functions. Layouts and the internal contract are in
 * sdk_int.h. Pure apart from artemis_service_age_ms(), which reads the wall clock.
 *
 * Pick: the snapshot precomputes its up instances and, for the chosen route rule, the groups
 * with their up members and cumulative weights. One atomic counter c drives everything:
 * slot = permute(c mod W) chooses a group in proportion to its weight (the permutation, a
 * multiplication by a stride coprime with W, interleaves the groups' slots instead of
 * serving 80 blue picks then 20 green ones), and the group's own pick number
 * (c div W) * w + rank gives exact round-robin inside the group.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artemis/service.h"
#include "clock.h"
#include "codec.h"
#include "sdk_int.h"

_Static_assert(ARTEMIS_FIELD_GROUP_ID == (int)ARTEMISI_F_GROUP_ID &&
                   ARTEMIS_FIELD_HEALTH_CHECK_URL == (int)ARTEMISI_F_HEALTH_CHECK_URL &&
                   ARTEMIS_FIELD_INSTANCE_ID == (int)ARTEMISI_F_INSTANCE_ID &&
                   ARTEMIS_FIELD_IP == (int)ARTEMISI_F_IP &&
                   ARTEMIS_FIELD_MACHINE_NAME == (int)ARTEMISI_F_MACHINE_NAME &&
                   ARTEMIS_FIELD_PROTOCOL == (int)ARTEMISI_F_PROTOCOL &&
                   ARTEMIS_FIELD_REGION_ID == (int)ARTEMISI_F_REGION_ID &&
                   ARTEMIS_FIELD_SERVICE_ID == (int)ARTEMISI_F_SERVICE_ID &&
                   ARTEMIS_FIELD_STATUS == (int)ARTEMISI_F_STATUS &&
                   ARTEMIS_FIELD_URL == (int)ARTEMISI_F_URL &&
                   ARTEMIS_FIELD_ZONE_ID == (int)ARTEMISI_F_ZONE_ID && ARTEMISI_F_COUNT == 11,
               "public and internal field numbers must agree");

/* No limits on what a server (or our own snapshot file) sends beyond what fits in memory. */
#define MAX_ITEMS ((size_t)1 << 24)
#define MAX_STR   SIZE_MAX

/* ---- shared instances: atomic reference counts ------------------------------------------ */

/* Snapshots may be freed on any reader thread, so the packed instances they share are
 * counted atomically here (model.c's ref/unref are for the single-threaded server). */
static artemisi_instance_t *inst_ref(artemisi_instance_t *inst)
{
    __atomic_fetch_add(&inst->refs, 1, __ATOMIC_RELAXED);
    return inst;
}

static void inst_unref(artemisi_instance_t *inst)
{
    if (inst && __atomic_sub_fetch(&inst->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(inst);
}

static void inst_array_free(artemisi_instance_t **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        inst_unref(a[i]);
    free(a);
}

static int streq_null(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_instance(const artemisi_instance_t *a, const artemisi_instance_t *b)
{
    for (int i = 0; i < ARTEMISI_F_COUNT; i++)
        if (!streq_null(a->f[i], b->f[i]))
            return 0;
    if (a->port != b->port || a->meta_null != b->meta_null || a->n_meta != b->n_meta)
        return 0;
    for (uint32_t i = 0; i < 2 * a->n_meta; i++)
        if (!streq_null(a->meta[i], b->meta[i]))
            return 0;
    return 1;
}

static const char *or_null(const char *s)
{
    return s ? s : "null";
}

/* InstanceKey equality (protocol.md §1.2), without building the key strings. */
static int same_key(const artemisi_instance_t *a, const artemisi_instance_t *b)
{
    return strcasecmp(or_null(a->f[ARTEMISI_F_REGION_ID]), or_null(b->f[ARTEMISI_F_REGION_ID])) ==
               0 &&
           strcasecmp(or_null(a->f[ARTEMISI_F_SERVICE_ID]), or_null(b->f[ARTEMISI_F_SERVICE_ID])) ==
               0 &&
           strcasecmp(or_null(a->f[ARTEMISI_F_INSTANCE_ID]),
                      or_null(b->f[ARTEMISI_F_INSTANCE_ID])) == 0;
}

/* Decode one Instance object and pack it. 0 with *out set, 0 with *out NULL when the
 * object is malformed or has a blank instanceId (skip it), -1 on OOM. */
static int pack_json_instance(const json_t *obj, artemisi_instance_t **out)
{
    artemisi_instance_t d;
    char err[128];
    size_t nm = 0;
    *out = NULL;
    if (artemisi_decode_instance(obj, &d, NULL, &nm, MAX_STR, err, sizeof(err)) != 0)
        return 0;
    if (artemisi_blank(d.f[ARTEMISI_F_INSTANCE_ID]))
        return 0;
    const char *stack_meta[32];
    const char **meta = NULL;
    if (nm > 0) {
        meta = nm * 2 <= sizeof(stack_meta) / sizeof(stack_meta[0])
                   ? stack_meta
                   : malloc(nm * 2 * sizeof(char *));
        if (!meta)
            return -1;
        artemisi_decode_instance(obj, &d, meta, &nm, MAX_STR, err, sizeof(err));
    }
    *out = artemisi_instance_pack(&d);
    if (meta != stack_meta)
        free(meta);
    return *out ? 0 : -1;
}

/* ---- route rules ------------------------------------------------------------------------- */

static void rules_free(artemisi_rules_t *r)
{
    for (size_t i = 0; i < r->n_rules; i++) {
        artemisi_rule_t *rule = &r->rules[i];
        for (size_t g = 0; g < rule->n_groups; g++) {
            artemisi_group_t *grp = &rule->groups[g];
            free(grp->group_key);
            for (size_t k = 0; k < grp->n_ids; k++)
                free(grp->instance_ids[k]);
            free(grp->instance_ids);
        }
        free(rule->groups);
        free(rule->route_id);
        free(rule->strategy);
    }
    free(r->rules);
    free(r->raw_json);
    free(r);
}

static artemisi_rules_t *rules_ref(artemisi_rules_t *r)
{
    if (r)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

static void rules_unref(artemisi_rules_t *r)
{
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        rules_free(r);
}

/* ServiceGroups.fixWeight (protocol.md §1.4). */
static int32_t fix_weight(const json_t *group)
{
    int64_t w = 0;
    json_t *v = artemisi_json_get(group, "weight");
    if (!v || json_is_null(v) || artemisi_json_get_i64(group, "weight", &w) != 0 || w < 0)
        return ARTEMISI_DEFAULT_WEIGHT;
    return w > ARTEMISI_MAX_WEIGHT ? ARTEMISI_MAX_WEIGHT : (int32_t)w;
}

static int parse_group(const json_t *jg, artemisi_group_t *g)
{
    const char *key = NULL;
    memset(g, 0, sizeof(*g));
    if (artemisi_json_get_str(jg, "groupKey", &key) != 0 || artemisi_blank(key))
        return 0; /* skipped: no key */
    g->weight = fix_weight(jg);
    json_t *ids = artemisi_json_get(jg, "instanceIds");
    size_t n_ids = json_is_array(ids) ? json_array_size(ids) : 0;
    if (!(g->group_key = strdup(key)))
        return -1;
    if (n_ids > 0 && !(g->instance_ids = calloc(n_ids, sizeof(char *))))
        return -1;
    for (size_t i = 0; i < n_ids; i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id)
            continue;
        if (!(g->instance_ids[g->n_ids] = strdup(id)))
            return -1;
        g->n_ids++;
    }
    return 1;
}

/* Parse one RouteRule: 1 kept, 0 skipped (blank routeId or no groups, §7.7 step 1),
 * -1 OOM. The rule is filled as far as it got, for rules_free(). */
static int parse_rule(const json_t *jr, artemisi_rule_t *rule)
{
    const char *id = NULL, *strategy = NULL;
    memset(rule, 0, sizeof(*rule));
    if (artemisi_json_get_str(jr, "routeId", &id) != 0 || artemisi_blank(id))
        return 0;
    json_t *groups = artemisi_json_get(jr, "groups");
    if (!json_is_array(groups) || json_array_size(groups) == 0)
        return 0;
    if (artemisi_json_get_str(jr, "strategy", &strategy) != 0 || artemisi_blank(strategy))
        strategy = "weighted-round-robin";
    if (!(rule->route_id = strdup(id)) || !(rule->strategy = strdup(strategy)) ||
        !(rule->groups = calloc(json_array_size(groups), sizeof(artemisi_group_t))))
        return -1;
    for (size_t i = 0; i < json_array_size(groups); i++) {
        int rc = parse_group(json_array_get(groups, i), &rule->groups[rule->n_groups]);
        if (rc > 0)
            rule->n_groups++;
        else if (rc < 0) {
            rule->n_groups++; /* let rules_free() release the partial group */
            return -1;
        }
    }
    return 1;
}

/* Parse routeRules (an array). NULL with *oom 0 when there is nothing to keep. */
static artemisi_rules_t *rules_parse(const json_t *arr, int *oom)
{
    *oom = 0;
    artemisi_rules_t *r = calloc(1, sizeof(*r));
    if (!r)
        goto nomem;
    atomic_init(&r->refs, 1);
    r->raw_json = json_dumps(arr, JSON_COMPACT);
    if (!r->raw_json)
        goto nomem;
    size_t n = json_array_size(arr);
    if (n > 0 && !(r->rules = calloc(n, sizeof(artemisi_rule_t))))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_rule(json_array_get(arr, i), &r->rules[r->n_rules]);
        if (rc != 0)
            r->n_rules++;
        if (rc < 0)
            goto nomem;
    }
    return r;
nomem:
    if (r)
        rules_free(r);
    *oom = 1;
    return NULL;
}

/* ---- group paths and the pick plan ----------------------------------------------------- */

/* One part of StringValues.concatPathParts (protocol.md §0.4): trimmed, blank parts dropped,
 * leading '/' of later parts removed, one '/' between parts. */
static int join_part(artemisi_buf_t *out, size_t start, const char *part)
{
    if (artemisi_blank(part))
        return 0;
    const char *s = part, *e = part + strlen(part);
    while (isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (out->len > start) {
        while (s < e && *s == '/')
            s++;
        if (out->data[out->len - 1] != '/' && artemisi_buf_appendc(out, '/'))
            return -1;
    }
    return artemisi_buf_append(out, s, (size_t)(e - s));
}

int artemisi_instance_group_path(const artemisi_instance_t *inst, artemisi_buf_t *out)
{
    size_t start = out->len;
    const char *group = inst->f[ARTEMISI_F_GROUP_ID];
    if (artemisi_blank(group) || strcasecmp(group, "default") == 0)
        group = "default";
    if (join_part(out, start, inst->f[ARTEMISI_F_SERVICE_ID]) ||
        join_part(out, start, inst->f[ARTEMISI_F_REGION_ID]) ||
        join_part(out, start, inst->f[ARTEMISI_F_ZONE_ID]) || join_part(out, start, group) ||
        join_part(out, start, inst->f[ARTEMISI_F_INSTANCE_ID]))
        return -1;
    if (out->len == start && artemisi_buf_append(out, "", 0))
        return -1; /* still a C string */
    for (size_t i = start; i < out->len; i++)
        out->data[i] = (char)tolower((unsigned char)out->data[i]);
    return 0;
}

static int is_up(const artemisi_instance_t *inst)
{
    const char *s = inst->f[ARTEMISI_F_STATUS];
    return s && strcasecmp(s, "up") == 0;
}

static const artemisi_rule_t *chosen_rule(const artemisi_rules_t *r)
{
    if (!r || r->n_rules == 0)
        return NULL;
    for (size_t i = 0; i < r->n_rules; i++)
        if (strcasecmp(r->rules[i].route_id, ARTEMISI_DEFAULT_ROUTE_RULE) == 0)
            return &r->rules[i];
    return &r->rules[0];
}

static int in_group(const artemisi_group_t *g, const artemisi_instance_t *inst, const char *path)
{
    const char *id = inst->f[ARTEMISI_F_INSTANCE_ID];
    for (size_t k = 0; k < g->n_ids; k++)
        if (id && strcmp(g->instance_ids[k], id) == 0)
            return 1;
    size_t kl = strlen(g->group_key);
    return strncasecmp(path, g->group_key, kl) == 0 && path[kl] == '/';
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Build up[] and the chosen rule's groups. 0 or -1 on OOM. */
static int plan(artemis_service_t *svc)
{
    if (svc->n == 0)
        return 0;
    if (!(svc->up = malloc(svc->n * sizeof(uint32_t))))
        return -1;
    for (size_t i = 0; i < svc->n; i++)
        if (is_up(svc->inst[i]))
            svc->up[svc->n_up++] = (uint32_t)i;
    const artemisi_rule_t *rule = chosen_rule(svc->rules);
    if (!rule || rule->n_groups == 0 || svc->n_up == 0)
        return 0;

    /* Group paths of the up instances, NUL-separated in one buffer. */
    artemisi_buf_t paths = ARTEMISI_BUF_INIT;
    size_t *off = malloc(svc->n_up * sizeof(size_t));
    uint32_t *tmp = malloc(svc->n_up * sizeof(uint32_t));
    if (!off || !tmp || !(svc->pg = calloc(rule->n_groups, sizeof(artemisi_pick_group_t))))
        goto nomem;
    for (size_t i = 0; i < svc->n_up; i++) {
        off[i] = paths.len;
        if (artemisi_instance_group_path(svc->inst[svc->up[i]], &paths) ||
            artemisi_buf_appendc(&paths, '\0'))
            goto nomem;
    }
    uint64_t cum = 0;
    for (size_t g = 0; g < rule->n_groups; g++) {
        const artemisi_group_t *grp = &rule->groups[g];
        size_t m = 0;
        if (grp->weight <= 0)
            continue;
        for (size_t i = 0; i < svc->n_up; i++)
            if (in_group(grp, svc->inst[svc->up[i]], paths.data + off[i]))
                tmp[m++] = svc->up[i];
        if (m == 0)
            continue; /* §7.7 step 3: groups without instances are dropped */
        artemisi_pick_group_t *pg = &svc->pg[svc->n_pg];
        if (!(pg->members = malloc(m * sizeof(uint32_t))))
            goto nomem;
        memcpy(pg->members, tmp, m * sizeof(uint32_t));
        pg->n_members = m;
        pg->weight = (uint64_t)grp->weight;
        pg->cum = cum;
        cum += pg->weight;
        svc->n_pg++;
    }
    svc->total_weight = cum;
    /* A stride near W / phi, coprime with W, spreads each group's slots over the cycle. */
    if (cum > 0) {
        uint64_t s = cum > UINT32_MAX ? 1 : cum * 618 / 1000;
        if (s == 0)
            s = 1;
        while (gcd64(s, cum) != 1)
            s++;
        svc->stride = s;
    }
    free(off);
    free(tmp);
    artemisi_buf_free(&paths);
    return 0;
nomem:
    free(off);
    free(tmp);
    artemisi_buf_free(&paths);
    return -1;
}

/* ---- construction ------------------------------------------------------------------------ */

static void service_free(artemis_service_t *svc)
{
    inst_array_free(svc->inst, svc->n);
    rules_unref(svc->rules);
    for (size_t i = 0; i < svc->n_pg; i++)
        free(svc->pg[i].members);
    free(svc->pg);
    free(svc->up);
    free(svc->service_id);
    free(svc);
}

/* Takes ownership of inst[] (with its references) and of one reference of rules, also on
 * failure. */
static artemis_service_t *service_build(const char *service_id, artemisi_instance_t **inst,
                                        size_t n, artemisi_rules_t *rules, int64_t confirmed,
                                        int stale)
{
    artemis_service_t *svc = calloc(1, sizeof(*svc));
    if (!svc) {
        inst_array_free(inst, n);
        rules_unref(rules);
        return NULL;
    }
    atomic_init(&svc->refs, 1);
    atomic_init(&svc->rr, 0);
    svc->inst = inst;
    svc->n = n;
    svc->rules = rules;
    svc->confirmed_wall_ms = confirmed;
    svc->stale = stale ? 1 : 0;
    if (!(svc->service_id = strdup(service_id)) || plan(svc) != 0) {
        service_free(svc);
        return NULL;
    }
    return svc;
}

artemis_service_t *artemisi_service_from_json(const json_t *service_obj, int64_t now_wall,
                                              int stale)
{
    const char *id = NULL;
    if (!json_is_object(service_obj) || artemisi_json_get_str(service_obj, "serviceId", &id) != 0 ||
        artemisi_blank(id))
        return NULL;
    json_t *arr = artemisi_json_get(service_obj, "instances");
    json_t *jrules = artemisi_json_get(service_obj, "routeRules");
    if ((arr && !json_is_null(arr) && !json_is_array(arr)) ||
        (jrules && !json_is_null(jrules) && !json_is_array(jrules)))
        return NULL;
    size_t total = json_is_array(arr) ? json_array_size(arr) : 0;
    if (total > MAX_ITEMS)
        return NULL;

    artemisi_rules_t *rules = NULL;
    if (json_is_array(jrules)) {
        int oom;
        if (!(rules = rules_parse(jrules, &oom)) && oom)
            return NULL;
    }
    artemisi_instance_t **inst = NULL;
    size_t n = 0;
    if (total > 0 && !(inst = malloc(total * sizeof(*inst)))) {
        rules_unref(rules);
        return NULL;
    }
    for (size_t i = 0; i < total; i++) {
        artemisi_instance_t *p;
        if (pack_json_instance(json_array_get(arr, i), &p) != 0) {
            inst_array_free(inst, n);
            rules_unref(rules);
            return NULL;
        }
        if (p)
            inst[n++] = p;
    }
    return service_build(id, inst, n, rules, now_wall, stale);
}

/* A copy of svc's instance array with one more reference each, and room for one more. */
static artemisi_instance_t **copy_instances(const artemis_service_t *svc, size_t skip)
{
    artemisi_instance_t **a = malloc((svc->n + 1) * sizeof(*a));
    if (!a)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < svc->n; i++)
        if (i != skip)
            a[k++] = inst_ref(svc->inst[i]);
    return a;
}

artemis_service_t *artemisi_service_with_change(const artemis_service_t *old,
                                                const char *change_type, const json_t *instance_obj,
                                                int64_t now_wall)
{
    artemis_service_t *same = (artemis_service_t *)old;
    int upsert = change_type &&
                 (strcasecmp(change_type, "new") == 0 || strcasecmp(change_type, "change") == 0);
    int del = change_type && strcasecmp(change_type, "delete") == 0;
    if (!upsert && !del)
        return artemis_service_ref(same);

    artemisi_instance_t *ni;
    if (pack_json_instance(instance_obj, &ni) != 0)
        return NULL;
    if (!ni)
        return artemis_service_ref(same);
    size_t idx = SIZE_MAX;
    for (size_t i = 0; i < old->n; i++)
        if (same_key(old->inst[i], ni)) {
            idx = i;
            break;
        }
    if ((del && idx == SIZE_MAX) ||
        (upsert && idx != SIZE_MAX && same_instance(old->inst[idx], ni))) {
        inst_unref(ni);
        return artemis_service_ref(same);
    }

    artemisi_instance_t **a = copy_instances(old, del ? idx : SIZE_MAX);
    if (!a) {
        inst_unref(ni);
        return NULL;
    }
    size_t n = old->n;
    if (del) {
        n--;
        inst_unref(ni);
    } else if (idx != SIZE_MAX) {
        inst_unref(a[idx]);
        a[idx] = ni;
    } else {
        a[n++] = ni;
    }
    int64_t confirmed = old->stale ? old->confirmed_wall_ms : now_wall;
    return service_build(old->service_id, a, n, rules_ref(old->rules), confirmed, old->stale);
}

artemis_service_t *artemisi_service_restamp(const artemis_service_t *svc, int64_t confirmed_wall_ms,
                                            int stale)
{
    artemisi_instance_t **a = copy_instances(svc, SIZE_MAX);
    if (!a)
        return NULL;
    return service_build(svc->service_id, a, svc->n, rules_ref(svc->rules), confirmed_wall_ms,
                         stale);
}

int artemisi_service_same_data(const artemis_service_t *a, const artemis_service_t *b)
{
    if (a->n != b->n || strcmp(a->service_id, b->service_id) != 0)
        return 0;
    if (a->rules != b->rules &&
        !streq_null(a->rules ? a->rules->raw_json : NULL, b->rules ? b->rules->raw_json : NULL))
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->inst[i] != b->inst[i] && !same_instance(a->inst[i], b->inst[i]))
            return 0;
    return 1;
}

int64_t artemisi_service_confirmed_ms(const artemis_service_t *svc)
{
    return svc->confirmed_wall_ms;
}

int artemisi_service_encode(artemisi_buf_t *b, const artemis_service_t *svc)
{
    size_t mark = b->len;
    int rc = artemisi_buf_appends(b, "{\"instances\":[");
    for (size_t i = 0; i < svc->n && !rc; i++) {
        if (i)
            rc |= artemisi_buf_appendc(b, ',');
        rc |= artemisi_encode_instance(b, svc->inst[i]);
    }
    rc |= artemisi_buf_appends(b, "],\"logicInstances\":null,\"metadata\":null,\"routeRules\":");
    rc |= artemisi_buf_appends(b, svc->rules ? svc->rules->raw_json : "null");
    rc |= artemisi_buf_appends(b, ",\"serviceId\":");
    rc |= artemisi_json_str(b, svc->service_id);
    rc |= artemisi_buf_appendc(b, '}');
    if (rc) {
        b->len = mark;
        if (b->data)
            b->data[mark] = '\0';
        return -1;
    }
    return 0;
}

/* ---- public snapshot API ---------------------------------------------------------------- */

ARTEMIS_EXPORT artemis_service_t *artemis_service_ref(artemis_service_t *svc)
{
    if (svc)
        atomic_fetch_add_explicit(&svc->refs, 1, memory_order_relaxed);
    return svc;
}

ARTEMIS_EXPORT void artemis_service_unref(artemis_service_t *svc)
{
    if (svc && atomic_fetch_sub_explicit(&svc->refs, 1, memory_order_acq_rel) == 1)
        service_free(svc);
}

ARTEMIS_EXPORT const char *artemis_service_id(const artemis_service_t *svc)
{
    return svc ? svc->service_id : NULL;
}

ARTEMIS_EXPORT size_t artemis_service_instance_count(const artemis_service_t *svc)
{
    return svc ? svc->n : 0;
}

ARTEMIS_EXPORT const artemis_instance_t *artemis_service_instance(const artemis_service_t *svc,
                                                                  size_t i)
{
    if (!svc || i >= svc->n)
        return NULL;
    return (const artemis_instance_t *)(const void *)svc->inst[i];
}

ARTEMIS_EXPORT int64_t artemis_service_age_ms(const artemis_service_t *svc)
{
    if (!svc)
        return 0;
    int64_t age = artemisi_wall_ms() - svc->confirmed_wall_ms;
    return age > 0 ? age : 0;
}

ARTEMIS_EXPORT int artemis_service_is_stale(const artemis_service_t *svc)
{
    return svc ? svc->stale : 0;
}

ARTEMIS_EXPORT const artemis_instance_t *artemis_service_pick(const artemis_service_t *svc)
{
    if (!svc || svc->n_up == 0)
        return NULL;
    artemis_service_t *mut = (artemis_service_t *)svc; /* only the atomic counter changes */
    uint64_t c = atomic_fetch_add_explicit(&mut->rr, 1, memory_order_relaxed);
    const artemisi_instance_t *inst;
    if (svc->total_weight == 0) {
        inst = svc->inst[svc->up[c % svc->n_up]];
    } else {
        uint64_t w = svc->total_weight;
        uint64_t round = c / w;
        uint64_t slot = (c % w) * svc->stride % w;
        size_t lo = 0, hi = svc->n_pg; /* last group with cum <= slot */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (svc->pg[mid].cum <= slot)
                lo = mid;
            else
                hi = mid;
        }
        const artemisi_pick_group_t *g = &svc->pg[lo];
        uint64_t k = round * g->weight + (slot - g->cum);
        inst = svc->inst[g->members[k % g->n_members]];
    }
    return (const artemis_instance_t *)(const void *)inst;
}

ARTEMIS_EXPORT char *artemis_service_to_json(const artemis_service_t *svc)
{
    if (!svc)
        return NULL;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    int rc = artemisi_buf_appends(&b, "{\"serviceId\":");
    rc |= artemisi_json_str(&b, svc->service_id);
    rc |= artemisi_buf_appends(&b, ",\"instances\":[");
    for (size_t i = 0; i < svc->n && !rc; i++) {
        const artemisi_instance_t *x = svc->inst[i];
        rc |= artemisi_buf_appends(&b, i ? ",{\"instanceId\":" : "{\"instanceId\":");
        rc |= artemisi_json_str(&b, x->f[ARTEMISI_F_INSTANCE_ID]);
        rc |= artemisi_buf_appends(&b, ",\"ip\":");
        rc |= artemisi_json_str(&b, x->f[ARTEMISI_F_IP]);
        rc |= artemisi_buf_appends(&b, ",\"port\":");
        rc |= artemisi_buf_append_i64(&b, x->port);
        rc |= artemisi_buf_appends(&b, ",\"status\":");
        rc |= artemisi_json_str(&b, x->f[ARTEMISI_F_STATUS]);
        rc |= artemisi_buf_appendc(&b, '}');
    }
    rc |= artemisi_buf_appends(&b, "]}");
    if (rc) {
        artemisi_buf_free(&b);
        return NULL;
    }
    return artemisi_buf_detach(&b, NULL);
}
