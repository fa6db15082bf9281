/*
 * Service snapshots: construction from lookup.json's Service objects (instances, logical
 * instances, route rules with their group tags), copy-on-write updates by InstanceChange,
 * and the public artemis_service_* functions (protocol.md §1.4, §5.3). The route rules are
 * resolved against each snapshot and picked from in sdk/route.c. Layouts and the internal
 * contract are in sdk_int.h. Pure apart from artemis_service_age_ms(), which reads the wall
 * clock.
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
int artemisi_instance_same_key(const artemisi_instance_t *a, const artemisi_instance_t *b)
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
            for (size_t k = 0; k < 2 * grp->n_tags; k++)
                free(grp->tags[k]);
            free(grp->tags);
            inst_array_free(grp->canary, grp->n_canary);
        }
        free(rule->groups);
        free(rule->route_id);
        free(rule->strategy);
    }
    free(r->rules);
    free(r->raw_json);
    inst_array_free(r->logic, r->n_logic);
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

/* Packed copies of the valid Instance objects of a JSON array (malformed ones skipped).
 * 0 or -1 on OOM; *out is NULL when there are none. */
static int pack_instance_list(const json_t *arr, artemisi_instance_t ***out, size_t *n)
{
    size_t total = json_is_array(arr) ? json_array_size(arr) : 0;
    *out = NULL;
    *n = 0;
    if (total == 0)
        return 0;
    if (total > MAX_ITEMS)
        return 0; /* as from_json treats an oversized instance list: nothing kept */
    if (!(*out = malloc(total * sizeof(**out))))
        return -1;
    for (size_t i = 0; i < total; i++) {
        artemisi_instance_t *p;
        if (pack_json_instance(json_array_get(arr, i), &p) != 0)
            return -1;
        if (p)
            (*out)[(*n)++] = p;
    }
    return 0;
}

/* Group tags: string values of the metadata object (Map<String,String>; other values
 * skipped). 0 or -1 on OOM. */
static int parse_tags(const json_t *jg, artemisi_group_t *g)
{
    json_t *md = artemisi_json_get(jg, "metadata");
    if (!json_is_object(md) || json_object_size(md) == 0)
        return 0;
    if (!(g->tags = calloc(2 * json_object_size(md), sizeof(char *))))
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(md, k, v)
    {
        if (!json_is_string(v))
            continue;
        if (!(g->tags[2 * g->n_tags] = strdup(k)))
            return -1;
        if (!(g->tags[2 * g->n_tags + 1] = strdup(json_string_value(v)))) {
            free(g->tags[2 * g->n_tags]);
            g->tags[2 * g->n_tags] = NULL;
            return -1;
        }
        g->n_tags++;
    }
    return 0;
}

static int parse_group(const json_t *jg, artemisi_group_t *g, int canary)
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
    if (parse_tags(jg, g) != 0)
        return -1;
    /* §7.7 step 2 adds the server-resolved instances for the canary rule only. */
    if (canary &&
        pack_instance_list(artemisi_json_get(jg, "instances"), &g->canary, &g->n_canary) != 0)
        return -1;
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
        strategy = ARTEMISI_DEFAULT_STRATEGY;
    int canary = strcasecmp(id, ARTEMISI_CANARY_ROUTE_RULE) == 0;
    if (!(rule->route_id = strdup(id)) || !(rule->strategy = strdup(strategy)) ||
        !(rule->groups = calloc(json_array_size(groups), sizeof(artemisi_group_t))))
        return -1;
    for (size_t i = 0; i < json_array_size(groups); i++) {
        int rc = parse_group(json_array_get(groups, i), &rule->groups[rule->n_groups], canary);
        if (rc > 0)
            rule->n_groups++;
        else if (rc < 0) {
            rule->n_groups++; /* let rules_free() release the partial group */
            return -1;
        }
    }
    return 1;
}

/* Parse routeRules (an array or NULL) and logicInstances (an array or NULL). NULL with *oom 0
 * when there is nothing to keep (neither is an array). */
static artemisi_rules_t *rules_parse(const json_t *arr, const json_t *logic, int *oom)
{
    *oom = 0;
    if (!json_is_array(arr) && !json_is_array(logic))
        return NULL;
    artemisi_rules_t *r = calloc(1, sizeof(*r));
    if (!r)
        goto nomem;
    atomic_init(&r->refs, 1);
    if (pack_instance_list(logic, &r->logic, &r->n_logic) != 0)
        goto nomem;
    if (!json_is_array(arr))
        return r;
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

/* ---- construction ------------------------------------------------------------------------ */

static void service_free(artemis_service_t *svc)
{
    inst_array_free(svc->inst, svc->n);
    artemisi_routes_free(svc);
    rules_unref(svc->rules);
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
    atomic_init(&svc->confirmed_wall_ms, confirmed);
    svc->stale = stale ? 1 : 0;
    if (!(svc->service_id = strdup(service_id)) || artemisi_routes_build(svc) != 0) {
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
    json_t *jlogic = artemisi_json_get(service_obj, "logicInstances");
    if ((arr && !json_is_null(arr) && !json_is_array(arr)) ||
        (jrules && !json_is_null(jrules) && !json_is_array(jrules)) ||
        (jlogic && !json_is_null(jlogic) && !json_is_array(jlogic)))
        return NULL;
    size_t total = json_is_array(arr) ? json_array_size(arr) : 0;
    if (total > MAX_ITEMS)
        return NULL;

    int oom;
    artemisi_rules_t *rules = rules_parse(jrules, jlogic, &oom);
    if (!rules && oom)
        return NULL;
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
        if (artemisi_instance_same_key(old->inst[i], ni)) {
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
    int64_t confirmed = old->stale ? artemisi_service_confirmed_ms(old) : now_wall;
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
    if (a->rules != b->rules) {
        size_t na = a->rules ? a->rules->n_logic : 0, nb = b->rules ? b->rules->n_logic : 0;
        if (na != nb ||
            !streq_null(a->rules ? a->rules->raw_json : NULL, b->rules ? b->rules->raw_json : NULL))
            return 0;
        for (size_t i = 0; i < na; i++)
            if (!same_instance(a->rules->logic[i], b->rules->logic[i]))
                return 0;
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->inst[i] != b->inst[i] && !same_instance(a->inst[i], b->inst[i]))
            return 0;
    return 1;
}

int64_t artemisi_service_confirmed_ms(const artemis_service_t *svc)
{
    return atomic_load_explicit(&((artemis_service_t *)svc)->confirmed_wall_ms,
                                memory_order_relaxed);
}

void artemisi_service_confirm(artemis_service_t *svc, int64_t now_wall)
{
    atomic_store_explicit(&svc->confirmed_wall_ms, now_wall, memory_order_relaxed);
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
    /* No logical instances are written as null, as before they were kept. */
    size_t n_logic = svc->rules ? svc->rules->n_logic : 0;
    rc |= artemisi_buf_appends(b, n_logic ? "],\"logicInstances\":[" : "],\"logicInstances\":null");
    for (size_t i = 0; i < n_logic && !rc; i++) {
        if (i)
            rc |= artemisi_buf_appendc(b, ',');
        rc |= artemisi_encode_instance(b, svc->rules->logic[i]);
    }
    rc |= artemisi_buf_appends(b, n_logic ? "],\"metadata\":null,\"routeRules\":"
                                          : ",\"metadata\":null,\"routeRules\":");
    rc |=
        artemisi_buf_appends(b, svc->rules && svc->rules->raw_json ? svc->rules->raw_json : "null");
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
    int64_t age = artemisi_wall_ms() - artemisi_service_confirmed_ms(svc);
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
    const artemis_instance_t *inst = artemis_route_rule_pick(artemis_service_pick_rule(svc));
    if (inst)
        return inst;
    /* The rule has no up instance to offer: any up instance beats none. */
    artemis_service_t *mut = (artemis_service_t *)svc; /* only the atomic counter changes */
    uint64_t c = atomic_fetch_add_explicit(&mut->rr, 1, memory_order_relaxed);
    return (const artemis_instance_t *)(const void *)svc->inst[svc->up[c % svc->n_up]];
}

ARTEMIS_EXPORT size_t artemis_service_logic_instance_count(const artemis_service_t *svc)
{
    return svc && svc->rules ? svc->rules->n_logic : 0;
}

ARTEMIS_EXPORT const artemis_instance_t *
artemis_service_logic_instance(const artemis_service_t *svc, size_t i)
{
    if (i >= artemis_service_logic_instance_count(svc))
        return NULL;
    return (const artemis_instance_t *)(const void *)svc->rules->logic[i];
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
