/*
 * Per-client fairness; see clients.h for the rules and why.
 *
 * Addresses live in a hash table keyed by their text. Eviction only happens when the table
 * is full, and then it frees every entry that has no connection and was not seen for a
 * window, or else the least recently seen one: a scan of the table, amortised over the
 * entries it frees.
 */
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "dict.h"
#include "log.h"

#define ADDR_TEXT 64 /* INET6_ADDRSTRLEN is 46 */

struct srv_addr {
    char text[ADDR_TEXT];
    size_t conns;
    int64_t last_ms;
    uint64_t refused;
    srv_rlwin_t win;
    int overflow; /* the shared entry of addresses that found no room */
};

struct srv_clients {
    srv_clients_config_t cfg;
    artemisi_dict_t addrs; /* text -> srv_addr_t */
    srv_addr_t overflow;
    size_t n_conns, n_addrs_open;
    uint64_t refused[SRV_ADMIT_REASONS];
};

static const char *const admit_names[SRV_ADMIT_REASONS] = {"ok", "connection", "address", "shared"};

const char *srv_admit_name(srv_admit_t reason)
{
    return (unsigned)reason < SRV_ADMIT_REASONS ? admit_names[reason] : "?";
}

srv_clients_t *srv_clients_new(const srv_clients_config_t *cfg, uint64_t seed0, uint64_t seed1)
{
    srv_clients_t *cs = calloc(1, sizeof(*cs));
    if (!cs)
        srv_oom();
    cs->cfg = *cfg;
    if (cs->cfg.max_addrs < 1)
        cs->cfg.max_addrs = 1;
    artemisi_dict_init(&cs->addrs, seed0, seed1);
    strcpy(cs->overflow.text, "other");
    cs->overflow.overflow = 1;
    srv_rlwin_init(&cs->overflow.win);
    return cs;
}

void srv_clients_free(srv_clients_t *cs)
{
    if (!cs)
        return;
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&cs->addrs, &it)))
        free(e->value);
    artemisi_dict_free(&cs->addrs);
    free(cs);
}

void srv_clients_configure(srv_clients_t *cs, const srv_clients_config_t *cfg)
{
    size_t keep = cs->cfg.max_addrs;
    cs->cfg = *cfg;
    cs->cfg.max_addrs = keep;
}

/* Make room for one entry. Returns 0 when there is room. */
static int make_room(srv_clients_t *cs, int64_t now_ms)
{
    if (cs->addrs.count < cs->cfg.max_addrs)
        return 0;
    /* Free every idle entry whose window has passed (their counts no longer matter), or at
     * least the least recently seen idle one. Deleting while iterating a dict is not
     * allowed, so collect first. */
    size_t n = 0, cap = cs->addrs.count;
    srv_addr_t **victims = malloc(cap * sizeof(*victims));
    if (!victims)
        srv_oom();
    srv_addr_t *oldest = NULL;
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&cs->addrs, &it))) {
        srv_addr_t *a = e->value;
        if (a->conns)
            continue;
        if (now_ms - a->last_ms > SRV_RATELIMIT_WINDOW_MS)
            victims[n++] = a;
        else if (!oldest || a->last_ms < oldest->last_ms)
            oldest = a;
    }
    if (n == 0 && oldest)
        victims[n++] = oldest;
    for (size_t i = 0; i < n; i++) {
        artemisi_dict_del(&cs->addrs, victims[i]->text);
        free(victims[i]);
    }
    free(victims);
    return n ? 0 : -1;
}

void srv_clients_attach(srv_clients_t *cs, srv_client_t *cl, const char *addr, int64_t now_ms)
{
    srv_rlwin_init(&cl->win);
    srv_addr_t *a = artemisi_dict_get(&cs->addrs, addr);
    if (!a && strlen(addr) < ADDR_TEXT && make_room(cs, now_ms) == 0) {
        a = calloc(1, sizeof(*a));
        if (!a)
            srv_oom();
        strcpy(a->text, addr);
        srv_rlwin_init(&a->win);
        int failed;
        artemisi_dict_put(&cs->addrs, a->text, a, &failed);
        if (failed)
            srv_oom();
    }
    if (!a)
        a = &cs->overflow;
    if (a->conns++ == 0)
        cs->n_addrs_open++;
    a->last_ms = now_ms;
    cs->n_conns++;
    cl->addr = a;
}

void srv_clients_detach(srv_clients_t *cs, srv_client_t *cl)
{
    srv_addr_t *a = cl->addr;
    if (!a)
        return;
    if (--a->conns == 0)
        cs->n_addrs_open--;
    cs->n_conns--;
    cl->addr = NULL;
}

size_t srv_clients_addr_conns(const srv_client_t *cl)
{
    return cl->addr ? cl->addr->conns : 0;
}

const char *srv_clients_addr_text(const srv_client_t *cl)
{
    return cl->addr ? cl->addr->text : "";
}

size_t srv_clients_conns(const srv_clients_t *cs)
{
    return cs->n_conns;
}

size_t srv_clients_addrs(const srv_clients_t *cs)
{
    return cs->n_addrs_open;
}

static srv_admit_t refuse(srv_clients_t *cs, srv_client_t *cl, srv_admit_t why)
{
    cs->refused[why]++;
    if (cl && cl->addr)
        cl->addr->refused++;
    return why;
}

srv_admit_t srv_clients_admit(srv_clients_t *cs, srv_client_t *cl, srv_ratelimit_t *rl,
                              const char *identity, int64_t now_ms)
{
    if (!cl || !cl->addr) {
        if (rl && !srv_ratelimit_acquire(rl, identity, 1, now_ms))
            return refuse(cs, NULL, SRV_ADMIT_SHARED);
        return SRV_ADMIT_OK;
    }
    srv_addr_t *a = cl->addr;
    a->last_ms = now_ms;
    if (rl && !srv_ratelimit_enabled(rl))
        goto admit; /* the caps belong to the limiter: switched off with it */
    long used = srv_rlwin_sum(&cl->win, now_ms);
    if (cs->cfg.per_conn_limit > 0 && used >= cs->cfg.per_conn_limit)
        return refuse(cs, cl, SRV_ADMIT_CONNECTION);
    if (cs->cfg.per_addr_limit > 0 && srv_rlwin_sum(&a->win, now_ms) >= cs->cfg.per_addr_limit &&
        used >= cs->cfg.per_addr_limit / (long)(a->conns ? a->conns : 1))
        return refuse(cs, cl, SRV_ADMIT_ADDRESS);
    if (rl && !srv_ratelimit_check(rl, identity, 1, now_ms)) {
        long fair = srv_ratelimit_limit_for(rl, identity) / (long)(cs->n_conns ? cs->n_conns : 1);
        if (used >= fair) {
            srv_ratelimit_acquire(rl, identity, 1, now_ms); /* refused there too: counted */
            return refuse(cs, cl, SRV_ADMIT_SHARED);
        }
        /* Under its fair share: admitted above the shared limit, which stays full. */
    } else if (rl) {
        srv_ratelimit_acquire(rl, identity, 1, now_ms);
    }
admit:
    srv_rlwin_add(&cl->win, 1, now_ms);
    srv_rlwin_add(&a->win, 1, now_ms);
    return SRV_ADMIT_OK;
}

uint64_t srv_clients_refused(const srv_clients_t *cs, srv_admit_t reason)
{
    return (unsigned)reason < SRV_ADMIT_REASONS ? cs->refused[reason] : 0;
}

/* Order for the top list: more refusals first, then more traffic in the window. */
static int talker_before(const srv_talker_t *x, const srv_talker_t *y)
{
    if (x->refused != y->refused)
        return x->refused > y->refused;
    return x->window > y->window;
}

static void offer(srv_talker_t *out, size_t n, size_t *have, const srv_addr_t *a, int64_t now_ms)
{
    srv_talker_t t = {a->text, a->conns, srv_rlwin_sum(&a->win, now_ms), a->refused};
    if (t.refused == 0 && t.window == 0)
        return;
    size_t i = *have < n ? (*have)++ : n;
    /* insertion into a short sorted array: n is small (a /metrics page) */
    while (i > 0 && talker_before(&t, &out[i - 1])) {
        if (i < n)
            out[i] = out[i - 1];
        i--;
    }
    if (i < n)
        out[i] = t;
}

size_t srv_clients_top(const srv_clients_t *cs, srv_talker_t *out, size_t n, int64_t now_ms)
{
    size_t have = 0;
    if (n == 0)
        return 0;
    size_t it = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&cs->addrs, &it)))
        offer(out, n, &have, e->value, now_ms);
    offer(out, n, &have, &cs->overflow, now_ms);
    return have;
}
