/*
 * Registry, leases and the expiry wheel; see registry.h for the design.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "list.h"
#include "log.h"
#include "registry.h"

srv_registry_t *srv_registry_new(const srv_registry_config_t *cfg, uint64_t seed0, uint64_t seed1,
                                 int64_t now_wall, int64_t now_mono)
{
    srv_registry_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = *cfg;
    if (r->cfg.tick_ms <= 0)
        r->cfg.tick_ms = 100;
    r->k0 = seed0;
    r->k1 = seed1;
    artemisi_dict_init(&r->services, seed1, seed0);
    if (srv_changelog_init(&r->log, cfg->changelog_capacity) != 0) {
        free(r);
        return NULL;
    }
    srv_changelog_set_max_bytes(&r->log, cfg->changelog_max_bytes);
    /* Versions are boot-time based so a version from before a restart is never mistaken
     * for one of this process: base = boot wall ms * 1000, plus the change sequence. */
    r->version_base = (uint64_t)now_wall * 1000;
    r->wheel_tick = now_mono / r->cfg.tick_ms;
    return r;
}

static void service_free(srv_service_t *s)
{
    free(s->leases);
    artemisi_buf_free(&s->json);
    free(s->id);
    free(s);
}

_Static_assert(sizeof(srv_lease_t) % 8 == 0, "the packed instance behind a lease stays aligned");

static size_t lease_bytes(const srv_lease_t *l)
{
    return artemisi_instance_size(srv_lease_inst(l)); /* the lease is its prefix */
}

/* The lease dies with the last reference to its instance (the change log may hold one for a
 * while; nothing reaches the lease from there). */
static void lease_free(srv_lease_t *l)
{
    artemisi_instance_unref(srv_lease_inst(l));
}

void srv_registry_free(srv_registry_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->lease_cap; i++)
        if (r->lease_slots[i])
            lease_free(r->lease_slots[i]);
    free(r->lease_slots);
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&r->services, &it)))
        service_free(e->value);
    artemisi_dict_free(&r->services);
    srv_changelog_free(&r->log);
    srv_blob_unref(r->all);
    free(r);
}

void srv_registry_set_ttl(srv_registry_t *r, int64_t ttl_ms, int64_t legacy_ttl_ms)
{
    r->cfg.ttl_ms = ttl_ms;
    r->cfg.legacy_ttl_ms = legacy_ttl_ms;
}

void srv_registry_set_change_cb(srv_registry_t *r, srv_change_cb cb, void *ctx)
{
    r->on_change = cb;
    r->on_change_ctx = ctx;
}

const char *srv_instance_check(const artemisi_instance_t *d)
{
    if (artemisi_blank(ARTEMISI_INST(d, SERVICE_ID)))
        return "argument instance.serviceId is null or whitespace";
    if (artemisi_blank(ARTEMISI_INST(d, INSTANCE_ID)))
        return "argument instance.instanceId is null or whitespace";
    if (artemisi_blank(ARTEMISI_INST(d, URL)))
        return "argument instance.url is null or whitespace";
    return NULL;
}

/* ---- lists: wheel slots and the expired list share the lease's next/prev ---------------- */

static void list_unlink(srv_registry_t *r, srv_lease_t *l)
{
    srv_lease_t **head = l->where == 1 ? &r->wheel[l->slot] : &r->expired_head;
    if (l->where == 0)
        return;
    ARTEMISI_DLIST_UNLINK(*head, l);
    if (l->where == 2)
        r->n_expired--;
    l->where = 0;
}

static void list_push(srv_lease_t **head, srv_lease_t *l)
{
    ARTEMISI_DLIST_PUSH(*head, l);
}

static int64_t lease_ttl(const srv_registry_t *r, const srv_lease_t *l)
{
    return l->legacy ? r->cfg.legacy_ttl_ms : r->cfg.ttl_ms;
}

static void wheel_schedule(srv_registry_t *r, srv_lease_t *l)
{
    int64_t deadline = l->renewal_mono + lease_ttl(r, l);
    /* Expired means now > deadline, so the first tick that can see it is the one after. */
    int64_t tick = deadline / r->cfg.tick_ms + 1;
    if (tick <= r->wheel_tick)
        tick = r->wheel_tick + 1;
    l->slot = (uint16_t)(tick % SRV_WHEEL_SLOTS);
    l->where = 1;
    list_push(&r->wheel[l->slot], l);
}

/* ---- the lease table ------------------------------------------------------------------------ */

/* Open addressing with linear probing and backward-shift deletion, like dict.c, but a slot is
 * just the lease: its hash is in the lease and its key is its instance's fields, so nothing
 * is copied. The hash covers the InstanceKey without the manager; both managers' leases of one
 * instance share it and differ in `legacy`. */

/* ASCII case-insensitive equality of two key parts (NULL only equals NULL), as the InstanceKey
 * defines it (model.h). */
static int part_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    /* Clients repeat their own spelling: strcmp (vectorised) settles almost every call, and a
     * byte loop alone cost a renewal 14 % more instructions than the old key's strcmp. */
    if (strcmp(a, b) == 0)
        return 1;
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x != y) {
            if (x >= 'A' && x <= 'Z')
                x = (unsigned char)(x + ('a' - 'A'));
            if (y >= 'A' && y <= 'Z')
                y = (unsigned char)(y + ('a' - 'A'));
            if (x != y)
                return 0;
        }
        if (!x)
            return 1;
    }
}

static int lease_is(const srv_lease_t *l, uint32_t h, const artemisi_instance_t *d, int legacy)
{
    const artemisi_instance_t *i = srv_lease_inst(l);
    return l->hash == h && l->legacy == legacy &&
           part_eq(ARTEMISI_INST(i, INSTANCE_ID), ARTEMISI_INST(d, INSTANCE_ID)) &&
           part_eq(ARTEMISI_INST(i, SERVICE_ID), ARTEMISI_INST(d, SERVICE_ID)) &&
           part_eq(ARTEMISI_INST(i, REGION_ID), ARTEMISI_INST(d, REGION_ID));
}

/* The hash of d's InstanceKey; -1 when the key could not be built (out of memory). */
static int lease_hash(const srv_registry_t *r, const artemisi_instance_t *d, uint32_t *h)
{
    artemisi_buf_t key = ARTEMISI_BUF_INIT;
    int rc = artemisi_instance_key(d, &key);
    if (rc == 0)
        *h = (uint32_t)artemisi_siphash(key.data, key.len, r->k0, r->k1);
    artemisi_buf_free(&key);
    return rc ? -1 : 0;
}

/* The slot of the lease matching (h, d, legacy), or the empty slot where it would go. */
static size_t lt_find(const srv_registry_t *r, uint32_t h, const artemisi_instance_t *d, int legacy)
{
    size_t mask = r->lease_cap - 1, i = h & mask;
    for (srv_lease_t *l; (l = r->lease_slots[i]); i = (i + 1) & mask)
        if (lease_is(l, h, d, legacy))
            break;
    return i;
}

static srv_lease_t *lt_get(const srv_registry_t *r, uint32_t h, const artemisi_instance_t *d,
                           int legacy)
{
    return r->n_leases ? r->lease_slots[lt_find(r, h, d, legacy)] : NULL;
}

/* Room for one more lease (load under 3/4), so the insertion after it cannot fail. */
static int lt_reserve(srv_registry_t *r)
{
    if ((r->n_leases + 1) * 4 <= r->lease_cap * 3)
        return 0;
    size_t ncap = r->lease_cap ? r->lease_cap * 2 : 64;
    srv_lease_t **ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < r->lease_cap; i++) {
        srv_lease_t *l = r->lease_slots[i];
        if (!l)
            continue;
        size_t j = l->hash & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = l;
    }
    free(r->lease_slots);
    r->lease_slots = ns;
    r->lease_cap = ncap;
    return 0;
}

/* Insert a lease whose (key, manager) is not in the table, after lt_reserve. */
static void lt_insert(srv_registry_t *r, srv_lease_t *l)
{
    size_t mask = r->lease_cap - 1, i = l->hash & mask;
    while (r->lease_slots[i])
        i = (i + 1) & mask;
    r->lease_slots[i] = l;
    r->n_leases++;
}

static void lt_remove(srv_registry_t *r, const srv_lease_t *l)
{
    size_t mask = r->lease_cap - 1, i = l->hash & mask;
    while (r->lease_slots[i] != l)
        i = (i + 1) & mask;
    /* Backward-shift deletion: move later members of the chain into the hole. */
    size_t j = i;
    for (;;) {
        r->lease_slots[i] = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (!r->lease_slots[j])
                goto done;
            size_t home = r->lease_slots[j]->hash & mask;
            /* Can slot j move to i? Only if its home is not cyclically in (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        r->lease_slots[i] = r->lease_slots[j];
        i = j;
    }
done:
    r->n_leases--;
}

/* ---- services ------------------------------------------------------------------------------ */

static srv_service_t *service_get_or_create(srv_registry_t *r, const char *id)
{
    srv_service_t *s = artemisi_dict_get(&r->services, id);
    if (s)
        return s;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->id = strdup(id))) {
        free(s);
        return NULL;
    }
    s->reg = r;
    int failed;
    artemisi_dict_put(&r->services, s->id, s, &failed);
    if (failed) {
        service_free(s);
        return NULL;
    }
    return s;
}

void srv_blob_unref(srv_blob_t *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        artemisi_buf_free(&b->buf);
        free(b);
    }
}

/* The services list no longer holds. Answers still sending it keep it (their reference); when
 * none does, its buffer is kept for the next list, as a fresh 343 MB one costs its page faults
 * again. */
static void drop_all(srv_registry_t *r)
{
    r->all_valid = 0;
    /* refs == 1: only ours, and whoever held another is done with the bytes (acquire) */
    if (r->all && atomic_load_explicit(&r->all->refs, memory_order_acquire) > 1) {
        srv_blob_unref(r->all);
        r->all = NULL;
    }
}

static void service_touch(srv_registry_t *r, srv_service_t *s)
{
    s->json_valid = 0;
    drop_all(r);
}

static int service_add(srv_registry_t *r, srv_service_t *s, srv_lease_t *l)
{
    if (s->n == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 4;
        srv_lease_t **nl = realloc(s->leases, ncap * sizeof(*nl));
        if (!nl)
            return -1;
        s->leases = nl;
        s->cap = ncap;
    }
    l->listed = 1;
    l->svc_pos = s->n;
    s->leases[s->n++] = l;
    service_touch(r, s);
    return 0;
}

/* The service listing a lease: looked up rather than kept in every lease (8 bytes an instance),
 * since only removals need it. */
static srv_service_t *lease_service(const srv_registry_t *r, const srv_lease_t *l)
{
    return l->listed ? artemisi_dict_get(&r->services, ARTEMISI_INST(srv_lease_inst(l), SERVICE_ID))
                     : NULL;
}

static void service_remove(srv_registry_t *r, srv_lease_t *l)
{
    srv_service_t *s = lease_service(r, l);
    if (!s)
        return;
    /* Swap-remove keeps removal O(1); instance order is unspecified on the wire. */
    srv_lease_t *last = s->leases[--s->n];
    s->leases[l->svc_pos] = last;
    last->svc_pos = l->svc_pos;
    l->listed = 0;
    service_touch(r, s);
    if (s->n == 0) {
        artemisi_dict_del(&r->services, s->id);
        service_free(s);
    }
}

void srv_registry_announce(srv_registry_t *r, srv_change_type_t type, artemisi_instance_t *inst,
                           int64_t now_wall)
{
    uint64_t seq = srv_changelog_append(&r->log, type, inst, now_wall);
    if (r->on_change)
        r->on_change(r->on_change_ctx, srv_changelog_get(&r->log, seq));
}

void srv_registry_set_hooks(srv_registry_t *r, const srv_registry_hooks_t *hooks)
{
    r->hooks = *hooks;
    srv_registry_touch_all(r);
}

void srv_registry_touch(srv_registry_t *r, srv_service_t *s)
{
    service_touch(r, s);
}

void srv_registry_touch_all(srv_registry_t *r)
{
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&r->services, &it)))
        ((srv_service_t *)e->value)->json_valid = 0;
    drop_all(r);
}

static void emit(srv_registry_t *r, srv_change_type_t type, artemisi_instance_t *inst,
                 int64_t now_wall)
{
    /* protocol.md §4.3: a `new` for an instance management holds down is not announced; its
     * pull-in announces it. */
    if (type == SRV_CHANGE_NEW && r->hooks.hidden && r->hooks.hidden(r->hooks.ctx, inst) > 0)
        return; /* undecided (out of memory): announce -- a client re-checks, it never misses */
    uint64_t seq = srv_changelog_append(&r->log, type, inst, now_wall);
    if (r->on_change)
        r->on_change(r->on_change_ctx, srv_changelog_get(&r->log, seq));
}

/* Remove a lease completely; a listed one leaves its service with a delete, a shadowed one
 * (see lease_key) goes silently: discovery never showed it. */
static void lease_remove(srv_registry_t *r, srv_lease_t *l, int64_t now_wall)
{
    int listed = l->listed;
    list_unlink(r, l);
    lt_remove(r, l);
    service_remove(r, l);
    if (l->legacy)
        r->n_legacy--;
    r->lease_bytes -= lease_bytes(l);
    if (listed)
        emit(r, SRV_CHANGE_DELETE, srv_lease_inst(l), now_wall);
    lease_free(l);
}

/* ---- operations --------------------------------------------------------------------------- */

/* The lease manager of a request's instance (protocol.md §3.1): legacy when its metadata has a
 * non-blank java_registry. Each request picks the manager from its own body, as Java does. */
static int is_legacy(const artemisi_instance_t *d)
{
    return !artemisi_blank(artemisi_instance_meta(d, "java_registry"));
}

/* Leases of both managers share one table, keyed by the manager and the InstanceKey. An
 * instance may hold a lease in each manager (Java keeps two lease managers); discovery lists
 * the newest registration only, and the other lease is "shadowed": it renews and expires on
 * its own but never shows, exactly as in Java, where the cleaner skips the discovery entry of
 * a lease that a newer one replaced. */

/* The lease of d's manager. Returns 0 with *out (NULL when there is none), or -1 when the key
 * could not be built (out of memory): that is not "no lease", which would send a live client
 * into re-registering. */
static int find_lease(const srv_registry_t *r, const artemisi_instance_t *d, srv_lease_t **out)
{
    uint32_t h;
    *out = NULL;
    if (lease_hash(r, d, &h) != 0)
        return -1;
    *out = lt_get(r, h, d, is_legacy(d));
    return 0;
}

const srv_lease_t *srv_registry_find(const srv_registry_t *r, const artemisi_instance_t *d)
{
    srv_lease_t *l;
    return find_lease(r, d, &l) == 0 ? l : NULL;
}

int srv_registry_register(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_mono,
                          int64_t now_wall)
{
    uint32_t h;
    int legacy = is_legacy(draft);
    /* Room in the table first: after it nothing below can fail half-way. */
    if (lease_hash(r, draft, &h) != 0 || lt_reserve(r) != 0)
        return -1;
    /* Strings equal to another instance's of the service are shared with it (model.h). */
    srv_service_t *peer = artemisi_dict_get(&r->services, ARTEMISI_INST(draft, SERVICE_ID));
    artemisi_instance_t *donor = peer && peer->n ? peer->leases[0]->inst : NULL;
    artemisi_instance_t *inst = artemisi_instance_pack_ex(draft, sizeof(srv_lease_t), donor);
    if (!inst)
        return -1;
    srv_lease_t *l = artemisi_instance_prefix(inst);
    memset(l, 0, sizeof(*l));
    l->inst = inst;
    l->renewal_mono = now_mono;
    l->creation_wall = l->renewal_wall = now_wall;
    l->legacy = (uint8_t)legacy;
    l->hash = h;

    srv_service_t *s = service_get_or_create(r, ARTEMISI_INST(inst, SERVICE_ID));
    if (!s || service_add(r, s, l) != 0) {
        if (s && s->n == 0) {
            artemisi_dict_del(&r->services, s->id);
            service_free(s);
        }
        lease_free(l);
        return -1;
    }
    /* A new lease replaces the old one of the same manager (protocol.md §2.1.3: brand-new lease),
     * and takes the discovery listing from the other manager's lease, which stays alive but
     * shadowed (see above). An instance that leaves a differently cased service's list on
     * the way is announced there as a delete (the "new" below is for the other spelling);
     * in the same service the "new" replaces it and says enough. */
    srv_lease_t *old = lt_get(r, h, inst, legacy);
    srv_lease_t *other = lt_get(r, h, inst, !legacy);
    if (other && other->listed) {
        int moved = lease_service(r, other) != s;
        service_remove(r, other);
        if (moved)
            emit(r, SRV_CHANGE_DELETE, srv_lease_inst(other), now_wall);
    }
    if (old) {
        int moved = old->listed && lease_service(r, old) != s;
        list_unlink(r, old);
        service_remove(r, old);
        if (old->legacy)
            r->n_legacy--;
        r->lease_bytes -= lease_bytes(old);
        lt_remove(r, old);
        if (moved)
            emit(r, SRV_CHANGE_DELETE, srv_lease_inst(old), now_wall);
        lease_free(old);
    }
    lt_insert(r, l);
    if (l->legacy)
        r->n_legacy++;
    r->lease_bytes += lease_bytes(l);
    wheel_schedule(r, l);
    r->stats.registered++;
    emit(r, SRV_CHANGE_NEW, inst, now_wall);
    return 0;
}

int srv_registry_heartbeat(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_mono,
                           int64_t now_wall, int revive)
{
    srv_lease_t *l;
    if (find_lease(r, draft, &l) != 0)
        return -1;
    if (!l) {
        r->stats.renew_failed++;
        return 1;
    }
    int expired = l->expired || now_mono > l->renewal_mono + lease_ttl(r, l);
    if (expired && !revive) {
        if (!l->expired) {
            /* Observed expired: sticky from now on; the wheel will evict it. */
            l->expired = 1;
            r->stats.expired++;
        }
        r->stats.renew_failed++;
        return 1;
    }
    if (expired) {
        /* Kept by self-preservation and still heartbeating: the client is alive. Back to
         * the wheel, as if it had never lapsed. */
        list_unlink(r, l);
        l->expired = 0;
        r->stats.revived++;
    }
    l->renewal_mono = now_mono;
    l->renewal_wall = now_wall;
    if (l->where == 0)
        wheel_schedule(r, l);
    r->stats.renewed++;
    return 0;
}

int srv_registry_unregister(srv_registry_t *r, const artemisi_instance_t *draft, int64_t now_wall)
{
    srv_lease_t *l;
    if (find_lease(r, draft, &l) != 0)
        return -1;
    if (l) {
        r->stats.unregistered++;
        lease_remove(r, l, now_wall);
    }
    return 0;
}

size_t srv_registry_tick(srv_registry_t *r, int64_t now_mono, int64_t now_wall, int allow_expiry,
                         size_t budget)
{
    size_t seen = 0;
    /* First evict leases that expired while self-preservation held them. */
    while (allow_expiry && r->expired_head && seen < budget) {
        r->stats.evicted++;
        lease_remove(r, r->expired_head, now_wall);
        seen++;
    }
    int64_t target = now_mono / r->cfg.tick_ms;
    if (target - r->wheel_tick > SRV_WHEEL_SLOTS)
        r->wheel_tick = target - SRV_WHEEL_SLOTS; /* after a long stall visit each slot once */
    while (r->wheel_tick < target && seen < budget) {
        int64_t t = r->wheel_tick + 1;
        size_t slot = (size_t)(t % SRV_WHEEL_SLOTS);
        /* Pop leases off the slot's head, one at a time: O(1) each, so a budget-limited pass
         * over a slot of 100,000 leases costs the same as an unlimited one. Nothing is ever
         * filed back into this slot (see below), so the loop ends. */
        srv_lease_t *l;
        while ((l = r->wheel[slot]) && seen < budget) {
            list_unlink(r, l);
            seen++;
            if (l->expired || now_mono > l->renewal_mono + lease_ttl(r, l)) {
                if (!l->expired) {
                    l->expired = 1;
                    r->stats.expired++;
                }
                if (allow_expiry) {
                    r->stats.evicted++;
                    lease_remove(r, l, now_wall);
                } else {
                    l->where = 2;
                    list_push(&r->expired_head, l);
                    r->n_expired++;
                }
            } else {
                wheel_schedule(r, l);
                if (l->slot == slot) {
                    /* Due a whole wheel turn (or more) from now: filing it back into the
                     * slot being processed would make this pass revisit it forever. Park
                     * it in the next slot; it is re-filed from there. */
                    list_unlink(r, l);
                    l->slot = (uint16_t)((slot + 1) % SRV_WHEEL_SLOTS);
                    l->where = 1;
                    list_push(&r->wheel[l->slot], l);
                }
            }
        }
        if (r->wheel[slot])
            break; /* budget spent: resume this slot next time */
        r->wheel_tick = t;
    }
    return seen;
}

/* ---- discovery views ----------------------------------------------------------------------- */

srv_service_t *srv_registry_service(const srv_registry_t *r, const char *service_id)
{
    return artemisi_dict_get(&r->services, service_id);
}

const artemisi_buf_t *srv_service_json(srv_service_t *s)
{
    if (s->json_valid)
        return &s->json;
    artemisi_buf_reset(&s->json);
    int rc = artemisi_buf_appendc(&s->json, '[');
    const srv_registry_hooks_t *h = &s->reg->hooks;
    for (uint32_t i = 0, k = 0; i < s->n; i++) {
        int hide = h->hidden ? h->hidden(h->ctx, srv_lease_inst(s->leases[i])) : 0;
        if (hide < 0)
            return NULL; /* undecided: no list rather than a wrong one */
        if (hide)
            continue;
        if (k++)
            rc |= artemisi_buf_appendc(&s->json, ',');
        rc |= artemisi_encode_instance(&s->json, srv_lease_inst(s->leases[i]));
    }
    rc |= artemisi_buf_appendc(&s->json, ']');
    if (rc)
        return NULL;
    /* The buffer grew by doubling: up to half of it is slack, kept for as long as the service
     * is unchanged (655 bytes held per instance for 343 of JSON, docs/performance.md). */
    char *fit = realloc(s->json.data, s->json.len + 1);
    if (fit) {
        s->json.data = fit;
        s->json.cap = s->json.len + 1;
    }
    s->json_valid = 1;
    return &s->json;
}

int srv_service_json_all(const srv_service_t *s, artemisi_buf_t *out)
{
    int rc = artemisi_buf_appendc(out, '[');
    for (uint32_t i = 0; i < s->n; i++) {
        if (i)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= artemisi_encode_instance(out, srv_lease_inst(s->leases[i]));
    }
    rc |= artemisi_buf_appendc(out, ']');
    return rc ? -1 : 0;
}

int srv_service_append(const srv_registry_t *r, artemisi_buf_t *out, srv_service_t *s,
                       const char *service_id)
{
    int rc = artemisi_buf_appends(out, "{\"instances\":");
    if (s) {
        const artemisi_buf_t *j = srv_service_json(s);
        if (!j) {
            out->failed = 1; /* the answer lost the service: it must not go out as complete */
            return -1;
        }
        rc |= artemisi_buf_append(out, j->data, j->len);
    } else {
        rc |= artemisi_buf_appends(out, "[]");
    }
    const srv_registry_hooks_t *h = &r->hooks;
    if (h && h->append_extra) {
        rc |= artemisi_buf_appendc(out, ',');
        rc |= h->append_extra(h->ctx, out, s, service_id);
        rc |= artemisi_buf_appends(out, ",\"serviceId\":");
    } else {
        rc |= artemisi_buf_appends(out, ",\"logicInstances\":[],\"metadata\":null,"
                                        "\"routeRules\":[],\"serviceId\":");
    }
    rc |= artemisi_json_str(out, s ? s->id : service_id);
    rc |= artemisi_buf_appendc(out, '}');
    return rc ? -1 : 0;
}

const artemisi_buf_t *srv_registry_services_json(srv_registry_t *r)
{
    if (r->all_valid)
        return &r->all->buf;
    srv_blob_t *b = r->all; /* unshared: drop_all let go of shared ones */
    if (!b) {
        if (!(b = calloc(1, sizeof(*b))))
            return NULL;
        atomic_init(&b->refs, 1);
        artemisi_buf_init(&b->buf);
        r->all = b;
    }
    artemisi_buf_reset(&b->buf);
    int rc = artemisi_buf_appendc(&b->buf, '[');
    size_t it = 0, n = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&r->services, &it))) {
        srv_service_t *s = e->value;
        if (s->n == 0)
            continue;
        if (n++)
            rc |= artemisi_buf_appendc(&b->buf, ',');
        rc |= srv_service_append(r, &b->buf, s, s->id);
    }
    rc |= artemisi_buf_appendc(&b->buf, ']');
    if (rc)
        return NULL;
    r->n_services_listed = n;
    r->all_valid = 1;
    return &b->buf;
}

srv_blob_t *srv_registry_services_blob(srv_registry_t *r)
{
    if (!srv_registry_services_json(r))
        return NULL;
    atomic_fetch_add_explicit(&r->all->refs, 1, memory_order_relaxed);
    return r->all;
}

uint64_t srv_registry_version(const srv_registry_t *r)
{
    return r->version_base + r->log.head;
}

static int cmp_change_by_service(const void *a, const void *b)
{
    const srv_change_t *x = *(const srv_change_t *const *)a;
    const srv_change_t *y = *(const srv_change_t *const *)b;
    return strcmp(ARTEMISI_INST(x->inst, SERVICE_ID), ARTEMISI_INST(y->inst, SERVICE_ID));
}

int srv_registry_delta(srv_registry_t *r, uint64_t version, artemisi_buf_t *out,
                       uint64_t *new_version)
{
    if (version < r->version_base)
        return 1;
    uint64_t seq = version - r->version_base;
    if (seq >= r->log.head || !srv_changelog_covers(&r->log, seq))
        return 1;
    /* Keep only the last new/delete per InstanceKey: the delta is the net effect. A key
     * whose first change in the window is "new" and last is "delete" was absent before and
     * is absent now, so it is left out (protocol.md §2.2.6). */
    artemisi_dict_t last;
    artemisi_dict_init(&last, r->k0, r->k1);
    size_t cap = (size_t)(r->log.head - seq);
    const srv_change_t **list = calloc(cap, sizeof(*list));
    char **keys = calloc(cap, sizeof(*keys));
    uint8_t *first_type = calloc(cap, 1);
    int rc = (list && keys && first_type) ? 0 : -1;
    size_t nkeys = 0;
    for (uint64_t s = seq + 1; rc == 0 && s <= r->log.head; s++) {
        const srv_change_t *c = srv_changelog_get(&r->log, s);
        if (!c || c->type == SRV_CHANGE_RELOAD)
            continue;
        /* Net effect per instance *in a service*: an instance that moved between spellings
         * of a serviceId is a delete in one and a new in the other. */
        artemisi_buf_t k = ARTEMISI_BUF_INIT;
        const char *sid = ARTEMISI_INST(c->inst, SERVICE_ID);
        if (artemisi_instance_key(c->inst, &k) != 0 ||
            artemisi_buf_appendf(&k, "%zu:%s", strlen(sid), sid) != 0) {
            artemisi_buf_free(&k);
            rc = -1;
            break;
        }
        const srv_change_t **slot = artemisi_dict_get(&last, k.data);
        if (slot) {
            *slot = c;
            artemisi_buf_free(&k);
            continue;
        }
        keys[nkeys] = artemisi_buf_detach(&k, NULL);
        list[nkeys] = c;
        first_type[nkeys] = (uint8_t)c->type;
        int failed;
        artemisi_dict_put(&last, keys[nkeys], (void *)&list[nkeys], &failed);
        nkeys++;
        if (failed)
            rc = -1;
    }
    size_t nlist = 0;
    for (size_t i = 0; rc == 0 && i < nkeys; i++)
        if (!(first_type[i] == SRV_CHANGE_NEW && list[i]->type == SRV_CHANGE_DELETE))
            list[nlist++] = list[i];
    if (rc == 0) {
        qsort(list, nlist, sizeof(*list), cmp_change_by_service);
        rc |= artemisi_buf_appendc(out, '{');
        for (size_t i = 0; i < nlist; i++) {
            const char *sid = ARTEMISI_INST(list[i]->inst, SERVICE_ID);
            int first = i == 0 || strcmp(sid, ARTEMISI_INST(list[i - 1]->inst, SERVICE_ID)) != 0;
            if (first) {
                if (i)
                    rc |= artemisi_buf_appends(out, "],");
                rc |= artemisi_json_str(out, sid);
                rc |= artemisi_buf_appends(out, ":[");
            } else {
                rc |= artemisi_buf_appendc(out, ',');
            }
            rc |= artemisi_encode_change(out, srv_change_type_name(list[i]->type), list[i]->time_ms,
                                         list[i]->inst);
        }
        if (nlist)
            rc |= artemisi_buf_appendc(out, ']');
        rc |= artemisi_buf_appendc(out, '}');
        *new_version = srv_registry_version(r);
    }
    for (size_t i = 0; keys && i < nkeys; i++)
        free(keys[i]);
    free(keys);
    free(first_type);
    free(list);
    artemisi_dict_free(&last);
    return rc ? -1 : 0;
}

srv_service_t *srv_registry_next_service(const srv_registry_t *r, size_t *it)
{
    artemisi_dict_entry_t *e = artemisi_dict_next(&r->services, it);
    return e ? e->value : NULL;
}

uint32_t srv_service_size(const srv_service_t *s)
{
    return s->n;
}

const srv_lease_t *srv_service_lease(const srv_service_t *s, uint32_t i)
{
    return s->leases[i];
}

void srv_registry_info(const srv_registry_t *r, srv_registry_info_t *out)
{
    out->stats = r->stats;
    out->leases = r->n_leases;
    out->legacy = r->n_legacy;
    out->expired_kept = r->n_expired;
    out->services = r->services.count;
    out->change_seq = r->log.head;
}

void srv_registry_seed(const srv_registry_t *r, uint64_t *k0, uint64_t *k1)
{
    *k0 = r->k0 ^ 0x5bd1e995u; /* not the lease table's own keys */
    *k1 = r->k1;
}

size_t srv_registry_lease_count(const srv_registry_t *r)
{
    return r->n_leases;
}

size_t srv_registry_live_count(const srv_registry_t *r)
{
    return r->n_leases - r->n_expired;
}

size_t srv_registry_service_count(const srv_registry_t *r)
{
    return r->services.count;
}

size_t srv_registry_memory(const srv_registry_t *r)
{
    size_t total = sizeof(*r) + r->lease_cap * sizeof(*r->lease_slots) +
                   r->services.cap * sizeof(artemisi_dict_entry_t) + (r->all ? r->all->buf.cap : 0);
    /* Lease bytes are kept up to date on every change: /metrics must not walk every lease
     * (a scrape of 1M leases would stall the loop). Services are far fewer. */
    total += r->lease_bytes;
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&r->services, &it))) {
        const srv_service_t *s = e->value;
        total += sizeof(*s) + s->cap * sizeof(void *) + s->json.cap + strlen(s->id) + 1;
    }
    return total;
}
