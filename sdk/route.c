/*
 * Route rules resolved against one snapshot (protocol.md §7.7, fixture F23), their pick plans
 * and the public artemis_route_rule_* / artemis_group_* functions.
 *
 * The parsed rules are shared between snapshots (an InstanceChange does not change them), but
 * a group's instances depend on the snapshot's instance list, so every snapshot resolves the
 * rules again when it is built and keeps the result: the accessors then only read, and a
 * failure to allocate fails the snapshot's construction instead of showing fewer groups.
 *
 * Pick: one atomic counter c per rule drives everything: slot = permute(c mod W) chooses a
 * group in proportion to its weight (the permutation, a multiplication by a stride coprime
 * with W, interleaves the groups' slots instead of serving 80 blue picks then 20 green ones),
 * and the group's own pick number (c div W) * w + rank gives exact round-robin inside the
 * group.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artemis/service.h"
#include "buf.h"
#include "sdk_int.h"

static int is_up(const artemisi_instance_t *inst)
{
    const char *s = inst->f[ARTEMISI_F_STATUS];
    return s && strcasecmp(s, "up") == 0;
}

static int listed(const artemisi_group_t *g, const artemisi_instance_t *inst)
{
    const char *id = inst->f[ARTEMISI_F_INSTANCE_ID];
    for (size_t k = 0; id && k < g->n_ids; k++)
        if (strcmp(g->instance_ids[k], id) == 0)
            return 1;
    return 0;
}

/* §7.7 step 2 (a) by instanceId, (b) by group path under groupKey + "/". */
static int in_group(const artemisi_group_t *g, const artemisi_instance_t *inst, const char *path)
{
    if (listed(g, inst))
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

static void rule_free(artemis_route_rule_t *r)
{
    for (size_t g = 0; g < r->n_groups; g++)
        free(r->groups[g].inst);
    free(r->groups);
    for (size_t g = 0; g < r->plan.n_pg; g++)
        free(r->plan.pg[g].members);
    free(r->plan.pg);
}

void artemisi_routes_free(artemis_service_t *svc)
{
    for (size_t i = 0; i < svc->n_vr; i++)
        rule_free(&svc->vr[i]);
    free(svc->vr);
    free(svc->up);
    svc->vr = NULL;
    svc->up = NULL;
    svc->n_vr = svc->n_up = 0;
}

/* A group of the view from members tmp[0..m). 0 or -1 on OOM. */
static int add_group(artemis_route_rule_t *r, const char *key, int32_t weight,
                     const artemisi_group_t *src, const artemisi_instance_t **tmp, size_t m)
{
    artemis_group_t *g = &r->groups[r->n_groups];
    if (!(g->inst = malloc(m * sizeof(*g->inst))))
        return -1;
    memcpy(g->inst, tmp, m * sizeof(*g->inst));
    g->n_inst = m;
    g->group_key = key;
    g->weight = weight;
    g->src = src;
    r->n_groups++;
    return 0;
}

/* The pick plan of a rule: its groups of positive weight with their up members. 0 or -1. */
static int plan_rule(artemis_route_rule_t *r)
{
    artemisi_pick_plan_t *p = &r->plan;
    atomic_init(&p->rr, 0);
    if (r->n_groups == 0)
        return 0;
    if (!(p->pg = calloc(r->n_groups, sizeof(*p->pg))))
        return -1;
    uint64_t cum = 0;
    for (size_t g = 0; g < r->n_groups; g++) {
        const artemis_group_t *grp = &r->groups[g];
        size_t m = 0;
        if (grp->weight <= 0)
            continue;
        for (size_t i = 0; i < grp->n_inst; i++)
            m += is_up(grp->inst[i]) ? 1 : 0;
        if (m == 0)
            continue;
        artemisi_pick_group_t *pg = &p->pg[p->n_pg];
        if (!(pg->members = malloc(m * sizeof(*pg->members))))
            return -1;
        for (size_t i = 0; i < grp->n_inst; i++)
            if (is_up(grp->inst[i]))
                pg->members[pg->n_members++] = grp->inst[i];
        pg->weight = (uint64_t)grp->weight;
        pg->cum = cum;
        cum += pg->weight;
        p->n_pg++;
    }
    p->total_weight = cum;
    if (cum > 0) {
        /* A stride near W / phi, coprime with W, spreads each group's slots over the cycle.
         * One group needs no spreading: stride 1 makes its pick number c, plain round-robin. */
        uint64_t s = p->n_pg == 1 || cum > UINT32_MAX ? 1 : cum * 618 / 1000;
        if (s == 0)
            s = 1;
        while (gcd64(s, cum) != 1)
            s++;
        p->stride = s;
    }
    return 0;
}

/* Resolve one server rule into r (§7.7 steps 2-4). tmp has room for every candidate. */
static int resolve_rule(const artemis_service_t *svc, const artemisi_rule_t *src,
                        const artemisi_buf_t *paths, const size_t *off,
                        const artemisi_instance_t **tmp, artemis_route_rule_t *r)
{
    r->route_id = src->route_id;
    r->strategy = src->strategy;
    if (src->n_groups > 0 && !(r->groups = calloc(src->n_groups, sizeof(*r->groups))))
        return -1;
    const artemisi_rules_t *mg = svc->rules;
    for (size_t g = 0; g < src->n_groups; g++) {
        const artemisi_group_t *grp = &src->groups[g];
        size_t m = 0, n_reg;
        for (size_t i = 0; i < svc->n; i++)
            if (in_group(grp, svc->inst[i], paths->data + off[i]))
                tmp[m++] = svc->inst[i];
        n_reg = m;
        /* Logical instances by explicit id; a registered one with the same id wins. */
        for (size_t i = 0; i < mg->n_logic; i++) {
            const artemisi_instance_t *li = mg->logic[i];
            if (!listed(grp, li))
                continue;
            size_t k = 0;
            while (k < n_reg &&
                   strcmp(tmp[k]->f[ARTEMISI_F_INSTANCE_ID], li->f[ARTEMISI_F_INSTANCE_ID]) != 0)
                k++;
            if (k == n_reg)
                tmp[m++] = li;
        }
        /* The canary rule's server-resolved instances not already present (set semantics:
         * InstanceKey). Only the canary rule's groups have them (parse_group). */
        for (size_t i = 0; i < grp->n_canary; i++) {
            size_t k = 0;
            while (k < m && !artemisi_instance_same_key(tmp[k], grp->canary[i]))
                k++;
            if (k == m)
                tmp[m++] = grp->canary[i];
        }
        if (m > 0 && add_group(r, grp->group_key, grp->weight, grp, tmp, m) != 0)
            return -1;
    }
    return plan_rule(r);
}

int artemisi_routes_build(artemis_service_t *svc)
{
    const artemisi_rules_t *mg = svc->rules;
    size_t n_rules = mg ? mg->n_rules : 0;
    int rc = -1;
    artemisi_buf_t paths = ARTEMISI_BUF_INIT;
    size_t *off = NULL;
    const artemisi_instance_t **tmp = NULL;

    if (svc->n > 0) {
        if (!(svc->up = malloc(svc->n * sizeof(uint32_t))))
            return -1;
        for (size_t i = 0; i < svc->n; i++)
            if (is_up(svc->inst[i]))
                svc->up[svc->n_up++] = (uint32_t)i;
    }
    /* Room for the server's rules and the derived one; n_vr counts the ones filled in. */
    if (!(svc->vr = calloc(n_rules + 1, sizeof(*svc->vr))))
        return -1;

    if (n_rules > 0) {
        size_t cap = svc->n + mg->n_logic, max_canary = 0;
        for (size_t r = 0; r < n_rules; r++)
            for (size_t g = 0; g < mg->rules[r].n_groups; g++)
                if (mg->rules[r].groups[g].n_canary > max_canary)
                    max_canary = mg->rules[r].groups[g].n_canary;
        cap += max_canary;
        /* The group paths of the instances, NUL-separated in one buffer. */
        if (!(off = malloc((svc->n + 1) * sizeof(*off))) ||
            !(tmp = malloc((cap + 1) * sizeof(*tmp))))
            goto out;
        for (size_t i = 0; i < svc->n; i++) {
            off[i] = paths.len;
            if (artemisi_instance_group_path(svc->inst[i], &paths) ||
                artemisi_buf_appendc(&paths, '\0'))
                goto out;
        }
    }

    int has_default = 0;
    svc->chosen = 0;
    for (size_t r = 0; r < n_rules; r++) {
        const artemisi_rule_t *src = &mg->rules[r];
        svc->n_vr++; /* counted first so that a failure half-way is freed */
        if (resolve_rule(svc, src, &paths, off, tmp, &svc->vr[r]) != 0)
            goto out;
        if (!has_default && strcasecmp(src->route_id, ARTEMISI_DEFAULT_ROUTE_RULE) == 0) {
            has_default = 1;
            svc->chosen = r;
        }
    }
    if (!has_default) {
        /* §7.7 step 5: every registered instance in one group of weight 5. */
        artemis_route_rule_t *d = &svc->vr[svc->n_vr++];
        d->route_id = ARTEMISI_DEFAULT_ROUTE_RULE;
        d->strategy = ARTEMISI_DEFAULT_STRATEGY;
        d->derived = 1;
        if (svc->n > 0) {
            if (!(d->groups = calloc(1, sizeof(*d->groups))) ||
                add_group(d, ARTEMISI_DEFAULT_GROUP_KEY, ARTEMISI_DEFAULT_WEIGHT, NULL,
                          (const artemisi_instance_t **)svc->inst, svc->n) != 0)
                goto out;
        }
        if (plan_rule(d) != 0)
            goto out;
        /* The server's first rule if it sent any, else this one. */
        svc->chosen = 0;
    }
    svc->n_pg = svc->vr[svc->chosen].plan.n_pg;
    rc = 0;
out:
    free(off);
    free(tmp);
    artemisi_buf_free(&paths);
    return rc;
}

/* ---- public ---------------------------------------------------------------------------- */

ARTEMIS_EXPORT size_t artemis_service_route_rule_count(const artemis_service_t *svc)
{
    return svc ? svc->n_vr : 0;
}

ARTEMIS_EXPORT const artemis_route_rule_t *artemis_service_route_rule(const artemis_service_t *svc,
                                                                      size_t i)
{
    return svc && i < svc->n_vr ? &svc->vr[i] : NULL;
}

ARTEMIS_EXPORT const artemis_route_rule_t *
artemis_service_find_route_rule(const artemis_service_t *svc, const char *route_id)
{
    if (!svc || !route_id)
        return NULL;
    for (size_t i = 0; i < svc->n_vr; i++)
        if (strcasecmp(svc->vr[i].route_id, route_id) == 0)
            return &svc->vr[i];
    return NULL;
}

ARTEMIS_EXPORT const artemis_route_rule_t *artemis_service_pick_rule(const artemis_service_t *svc)
{
    return svc && svc->n_vr > 0 ? &svc->vr[svc->chosen] : NULL;
}

ARTEMIS_EXPORT const char *artemis_route_rule_id(const artemis_route_rule_t *rule)
{
    return rule ? rule->route_id : NULL;
}

ARTEMIS_EXPORT const char *artemis_route_rule_strategy(const artemis_route_rule_t *rule)
{
    return rule ? rule->strategy : NULL;
}

ARTEMIS_EXPORT int artemis_route_rule_is_derived(const artemis_route_rule_t *rule)
{
    return rule ? rule->derived : 0;
}

ARTEMIS_EXPORT size_t artemis_route_rule_group_count(const artemis_route_rule_t *rule)
{
    return rule ? rule->n_groups : 0;
}

ARTEMIS_EXPORT const artemis_group_t *artemis_route_rule_group(const artemis_route_rule_t *rule,
                                                               size_t i)
{
    return rule && i < rule->n_groups ? &rule->groups[i] : NULL;
}

ARTEMIS_EXPORT const artemis_instance_t *artemis_route_rule_pick(const artemis_route_rule_t *rule)
{
    if (!rule || rule->plan.total_weight == 0)
        return NULL;
    const artemisi_pick_plan_t *p = &rule->plan;
    /* Only the atomic counter changes; the rule is otherwise immutable. */
    artemisi_pick_plan_t *mut = (artemisi_pick_plan_t *)p;
    uint64_t c = atomic_fetch_add_explicit(&mut->rr, 1, memory_order_relaxed);
    uint64_t w = p->total_weight;
    uint64_t round = c / w;
    uint64_t slot = (c % w) * p->stride % w;
    size_t lo = 0, hi = p->n_pg; /* last group with cum <= slot */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->pg[mid].cum <= slot)
            lo = mid;
        else
            hi = mid;
    }
    const artemisi_pick_group_t *g = &p->pg[lo];
    uint64_t k = round * g->weight + (slot - g->cum);
    return (const artemis_instance_t *)(const void *)g->members[k % g->n_members];
}

ARTEMIS_EXPORT const char *artemis_group_key(const artemis_group_t *group)
{
    return group ? group->group_key : NULL;
}

ARTEMIS_EXPORT int artemis_group_weight(const artemis_group_t *group)
{
    return group ? (int)group->weight : 0;
}

ARTEMIS_EXPORT size_t artemis_group_instance_count(const artemis_group_t *group)
{
    return group ? group->n_inst : 0;
}

ARTEMIS_EXPORT const artemis_instance_t *artemis_group_instance(const artemis_group_t *group,
                                                                size_t i)
{
    if (!group || i >= group->n_inst)
        return NULL;
    return (const artemis_instance_t *)(const void *)group->inst[i];
}

ARTEMIS_EXPORT size_t artemis_group_metadata_count(const artemis_group_t *group)
{
    return group && group->src ? group->src->n_tags : 0;
}

ARTEMIS_EXPORT const char *artemis_group_metadata_key(const artemis_group_t *group, size_t i)
{
    return i < artemis_group_metadata_count(group) ? group->src->tags[2 * i] : NULL;
}

ARTEMIS_EXPORT const char *artemis_group_metadata_value(const artemis_group_t *group, size_t i)
{
    return i < artemis_group_metadata_count(group) ? group->src->tags[2 * i + 1] : NULL;
}

ARTEMIS_EXPORT const char *artemis_group_metadata(const artemis_group_t *group, const char *key)
{
    size_t n = artemis_group_metadata_count(group);
    for (size_t i = 0; key && i < n; i++)
        if (strcmp(group->src->tags[2 * i], key) == 0)
            return group->src->tags[2 * i + 1];
    return NULL;
}
