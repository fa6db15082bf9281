/*
 * Unit tests for server/clients: attach / detach bookkeeping, the per-connection cap, the
 * per-address cap with its share for quiet connections, max-min fairness over a full shared
 * limiter (one connection floods, another is still served), caps switched off with a
 * disabled limiter, refusals counting nothing, window expiry, the NULL client, the bounded
 * address table with its overflow entry, the top-talker list and the refusal counters.
 */
#include "test.h"

#include "clients.h"
#include "ratelimit.h"

#define OP "register"

static srv_ratelimit_t *mk_rl(long limit)
{
    char err[128] = "";
    srv_ratelimit_t *rl = srv_ratelimit_new(1, limit, "", err, sizeof err);
    if (!rl)
        fail_msg("srv_ratelimit_new failed: %s", err);
    return rl;
}

static srv_clients_t *mk_cs(long per_conn, long per_addr, size_t max_addrs)
{
    srv_clients_config_t cfg = {
        .per_conn_limit = per_conn,
        .per_addr_limit = per_addr,
        .max_addrs = max_addrs,
    };
    srv_clients_t *cs = srv_clients_new(&cfg, 0x1234, 0x5678);
    assert_non_null(cs);
    return cs;
}

/* Admits n requests of OP at now and checks every one is admitted. */
static void admit_n(srv_clients_t *cs, srv_client_t *cl, srv_ratelimit_t *rl, int n, int64_t now)
{
    for (int i = 0; i < n; i++) {
        srv_admit_t a = srv_clients_admit(cs, cl, rl, OP, now);
        if (a != SRV_ADMIT_OK)
            fail_msg("request %d of %d at %lld refused: %s", i + 1, n, (long long)now,
                     srv_admit_name(a));
    }
}

/* The window of one address in the top list (-1 when it is not listed). */
static long top_window(srv_clients_t *cs, const char *addr, int64_t now)
{
    srv_talker_t t[16];
    size_t n = srv_clients_top(cs, t, 16, now);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].addr, addr) == 0)
            return t[i].window;
    return -1;
}

static void test_attach_detach(void **state)
{
    (void)state;
    srv_clients_t *cs = mk_cs(0, 0, 16);
    srv_client_t a1 = {0}, a2 = {0}, b1 = {0}, never = {0};
    assert_int_equal(srv_clients_conns(cs), 0);
    assert_int_equal(srv_clients_addrs(cs), 0);
    assert_int_equal(srv_clients_addr_conns(&never), 0);
    assert_string_equal(srv_clients_addr_text(&never), "");

    srv_clients_attach(cs, &a1, "10.0.0.1", 0);
    srv_clients_attach(cs, &a2, "10.0.0.1", 10);
    srv_clients_attach(cs, &b1, "::1", 20);
    assert_int_equal(srv_clients_conns(cs), 3);
    assert_int_equal(srv_clients_addrs(cs), 2);
    assert_int_equal(srv_clients_addr_conns(&a1), 2);
    assert_int_equal(srv_clients_addr_conns(&a2), 2);
    assert_int_equal(srv_clients_addr_conns(&b1), 1);
    assert_string_equal(srv_clients_addr_text(&a1), "10.0.0.1");
    assert_string_equal(srv_clients_addr_text(&b1), "::1");

    srv_clients_detach(cs, &a1);
    assert_int_equal(srv_clients_addr_conns(&a1), 0);
    assert_string_equal(srv_clients_addr_text(&a1), "");
    assert_int_equal(srv_clients_addr_conns(&a2), 1);
    assert_int_equal(srv_clients_conns(cs), 2);
    assert_int_equal(srv_clients_addrs(cs), 2);
    /* Detaching twice, or a client never attached, changes nothing. */
    srv_clients_detach(cs, &a1);
    srv_clients_detach(cs, &never);
    assert_int_equal(srv_clients_conns(cs), 2);
    assert_int_equal(srv_clients_addr_conns(&a2), 1);

    srv_clients_detach(cs, &a2);
    assert_int_equal(srv_clients_addrs(cs), 1);
    assert_int_equal(srv_clients_conns(cs), 1);
    /* Re-attaching a detached client works. */
    srv_clients_attach(cs, &a1, "10.0.0.1", 30);
    assert_int_equal(srv_clients_addrs(cs), 2);
    assert_int_equal(srv_clients_addr_conns(&a1), 1);
    srv_clients_detach(cs, &a1);
    srv_clients_detach(cs, &b1);
    assert_int_equal(srv_clients_conns(cs), 0);
    assert_int_equal(srv_clients_addrs(cs), 0);
    srv_clients_free(cs);
    srv_clients_free(NULL);
}

static void test_conn_cap(void **state)
{
    (void)state;
    enum { CAP = 5 };
    srv_ratelimit_t *rl = mk_rl(100);
    srv_clients_t *cs = mk_cs(CAP, 0, 16);
    srv_client_t a = {0}, b = {0};
    srv_clients_attach(cs, &a, "10.0.0.1", 0);
    srv_clients_attach(cs, &b, "10.0.0.1", 0);

    admit_n(cs, &a, rl, CAP - 1, 0);
    assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 0), SRV_ADMIT_OK); /* the cap-th */
    assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 0), SRV_ADMIT_CONNECTION);
    assert_int_equal(srv_ratelimit_count(rl, OP, 0), CAP);
    assert_int_equal(top_window(cs, "10.0.0.1", 0), CAP);
    /* Refused requests count nothing: not in the windows, not in the shared limiter. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 100 * i), SRV_ADMIT_CONNECTION);
    assert_int_equal(srv_ratelimit_count(rl, OP, 5000), CAP);
    assert_int_equal(srv_ratelimit_rejected(rl), 0);
    assert_int_equal(top_window(cs, "10.0.0.1", 5000), CAP);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_CONNECTION), 51);
    /* The cap is per connection: another one from the same address is served. */
    admit_n(cs, &b, rl, CAP, 5000);
    assert_int_equal(srv_clients_admit(cs, &b, rl, OP, 5000), SRV_ADMIT_CONNECTION);
    assert_int_equal(srv_ratelimit_count(rl, OP, 5000), 2 * CAP);
    /* Raising the cap (SIGHUP) keeps the counts. */
    srv_clients_config_t cfg = {.per_conn_limit = CAP + 2, .per_addr_limit = 0, .max_addrs = 16};
    srv_clients_configure(cs, &cfg);
    admit_n(cs, &a, rl, 2, 5000);
    assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 5000), SRV_ADMIT_CONNECTION);
    cfg.per_conn_limit = 0; /* off */
    srv_clients_configure(cs, &cfg);
    admit_n(cs, &a, rl, 20, 5000);

    srv_clients_detach(cs, &a);
    srv_clients_detach(cs, &b);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_addr_cap_spares_quiet(void **state)
{
    (void)state;
    enum { ADDR_CAP = 10 };
    srv_ratelimit_t *rl = mk_rl(1000);
    srv_clients_t *cs = mk_cs(0, ADDR_CAP, 16);
    srv_client_t heavy = {0}, quiet = {0}, elsewhere = {0};
    srv_clients_attach(cs, &heavy, "127.0.0.1", 0);
    srv_clients_attach(cs, &quiet, "127.0.0.1", 0);
    srv_clients_attach(cs, &elsewhere, "10.9.9.9", 0);

    admit_n(cs, &heavy, rl, ADDR_CAP, 0);
    assert_int_equal(srv_clients_admit(cs, &heavy, rl, OP, 0), SRV_ADMIT_ADDRESS);
    assert_int_equal(srv_clients_admit(cs, &heavy, rl, OP, 500), SRV_ADMIT_ADDRESS);
    assert_int_equal(srv_ratelimit_count(rl, OP, 500), ADDR_CAP);
    /* The quiet neighbour is under its share (10 / 2 connections) and still served. */
    admit_n(cs, &quiet, rl, ADDR_CAP / 2, 500);
    assert_int_equal(srv_clients_admit(cs, &quiet, rl, OP, 500), SRV_ADMIT_ADDRESS);
    assert_int_equal(srv_ratelimit_count(rl, OP, 500), ADDR_CAP + ADDR_CAP / 2);
    assert_int_equal(top_window(cs, "127.0.0.1", 500), ADDR_CAP + ADDR_CAP / 2);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_ADDRESS), 3);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_CONNECTION), 0);
    /* Another address has its own cap. */
    admit_n(cs, &elsewhere, rl, ADDR_CAP, 500);
    assert_int_equal(srv_clients_admit(cs, &elsewhere, rl, OP, 500), SRV_ADMIT_ADDRESS);

    srv_clients_detach(cs, &heavy);
    srv_clients_detach(cs, &quiet);
    srv_clients_detach(cs, &elsewhere);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

/* The review's scenario: one connection uses the whole shared budget; another connection's
 * request must still be admitted. */
static void test_shared_fairness(void **state)
{
    (void)state;
    enum { LIMIT = 20 };
    srv_ratelimit_t *rl = mk_rl(LIMIT);
    srv_clients_t *cs = mk_cs(0, 0, 16);
    srv_client_t flood = {0}, quiet = {0};
    srv_clients_attach(cs, &flood, "10.0.0.1", 0);
    srv_clients_attach(cs, &quiet, "10.0.0.2", 0);

    admit_n(cs, &flood, rl, LIMIT, 0);
    assert_int_equal(srv_ratelimit_count(rl, OP, 0), LIMIT);
    assert_int_equal(srv_ratelimit_check(rl, OP, 1, 0), 0); /* the shared limiter is full */
    assert_int_equal(srv_clients_admit(cs, &flood, rl, OP, 0), SRV_ADMIT_SHARED);
    /* The quiet connection is under limit / connections = 10: admitted. */
    assert_int_equal(srv_clients_admit(cs, &quiet, rl, OP, 100), SRV_ADMIT_OK);
    admit_n(cs, &quiet, rl, LIMIT / 2 - 1, 200);
    assert_int_equal(srv_clients_admit(cs, &quiet, rl, OP, 300), SRV_ADMIT_SHARED);
    /* The flooder is still refused, and its refusals never add to anything. */
    for (int i = 0; i < 30; i++)
        assert_int_equal(srv_clients_admit(cs, &flood, rl, OP, 300 + i), SRV_ADMIT_SHARED);
    assert_int_equal(srv_ratelimit_count(rl, OP, 400), LIMIT); /* stays full, not more */
    assert_int_equal(top_window(cs, "10.0.0.1", 400), LIMIT);
    assert_int_equal(top_window(cs, "10.0.0.2", 400), LIMIT / 2);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_SHARED), 32);

    /* The same on one address (every client on 127.0.0.1), no caps. */
    srv_clients_detach(cs, &quiet);
    srv_client_t side = {0};
    srv_clients_attach(cs, &side, "10.0.0.1", 400);
    assert_int_equal(srv_clients_addr_conns(&side), 2);
    assert_int_equal(srv_clients_admit(cs, &flood, rl, OP, 400), SRV_ADMIT_SHARED);
    assert_int_equal(srv_clients_admit(cs, &side, rl, OP, 400), SRV_ADMIT_OK);

    srv_clients_detach(cs, &flood);
    srv_clients_detach(cs, &side);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_disabled_limiter(void **state)
{
    (void)state;
    char err[128] = "";
    srv_ratelimit_t *off = srv_ratelimit_new(0, 1, "", err, sizeof err);
    assert_non_null(off);
    srv_clients_t *cs = mk_cs(1, 1, 16);
    srv_client_t a = {0}, b = {0};
    srv_clients_attach(cs, &a, "10.0.0.1", 0);
    srv_clients_attach(cs, &b, "10.0.0.1", 0);
    admit_n(cs, &a, off, 100, 0);
    admit_n(cs, &b, off, 100, 0);
    for (int r = 0; r < SRV_ADMIT_REASONS; r++)
        assert_int_equal(srv_clients_refused(cs, (srv_admit_t)r), 0);
    /* Still counted for the top talkers. */
    assert_int_equal(top_window(cs, "10.0.0.1", 0), 200);
    /* Enabled again: the caps are back (and the counts were kept). */
    assert_int_equal(srv_ratelimit_configure(off, 1, 1000, NULL, err, sizeof err), 0);
    assert_int_equal(srv_clients_admit(cs, &a, off, OP, 0), SRV_ADMIT_CONNECTION);

    srv_clients_detach(cs, &a);
    srv_clients_detach(cs, &b);
    srv_clients_free(cs);
    srv_ratelimit_free(off);
}

static void test_windows_clear(void **state)
{
    (void)state;
    enum { CAP = 3, LIMIT = 4 };
    srv_ratelimit_t *rl = mk_rl(LIMIT);
    srv_clients_t *cs = mk_cs(CAP, CAP, 16);
    srv_client_t a = {0}, b = {0};
    srv_clients_attach(cs, &a, "10.0.0.1", 0);
    admit_n(cs, &a, rl, CAP, 0);
    assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 9999), SRV_ADMIT_CONNECTION);
    /* 10 s later every window (connection, address) is clear. */
    admit_n(cs, &a, rl, CAP, 10000);
    assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 10000), SRV_ADMIT_CONNECTION);
    assert_int_equal(top_window(cs, "10.0.0.1", 10000), CAP);
    /* And the shared limiter's: fill it with a second address, then wait. */
    srv_clients_attach(cs, &b, "10.0.0.2", 10000);
    /* The first fills the shared limiter, the second is over it but under b's fair share
     * (LIMIT / 2 connections) and not counted there. */
    admit_n(cs, &b, rl, 2, 10000);
    assert_int_equal(srv_ratelimit_count(rl, OP, 10000), LIMIT);
    assert_int_equal(srv_clients_admit(cs, &b, rl, OP, 19999), SRV_ADMIT_SHARED);
    assert_int_equal(srv_ratelimit_count(rl, OP, 20000), 0);
    admit_n(cs, &b, rl, CAP, 20000);
    admit_n(cs, &a, rl, 1, 20000);
    assert_int_equal(srv_ratelimit_count(rl, OP, 20000), LIMIT);
    /* An hour later: nothing left in any window; refusals are still remembered. */
    int64_t later = 20000 + 3600LL * 1000;
    assert_int_equal(top_window(cs, "10.0.0.1", later), 0);
    assert_int_equal(top_window(cs, "10.0.0.2", later), 0);
    srv_clients_detach(cs, &a);
    srv_clients_detach(cs, &b);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_null_client(void **state)
{
    (void)state;
    enum { LIMIT = 3 };
    srv_ratelimit_t *rl = mk_rl(LIMIT);
    srv_clients_t *cs = mk_cs(1, 1, 16); /* caps do not apply without a client */
    for (int i = 0; i < LIMIT; i++)
        assert_int_equal(srv_clients_admit(cs, NULL, rl, OP, 0), SRV_ADMIT_OK);
    assert_int_equal(srv_ratelimit_count(rl, OP, 0), LIMIT);
    /* Full: no fair share for a non-client, refused like the plain limiter would. */
    assert_int_equal(srv_clients_admit(cs, NULL, rl, OP, 0), SRV_ADMIT_SHARED);
    assert_int_equal(srv_ratelimit_rejected(rl), 1);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_SHARED), 1);
    /* Other identities have their own window. */
    assert_int_equal(srv_clients_admit(cs, NULL, rl, "heartbeat", 0), SRV_ADMIT_OK);
    /* No limiter, no client: always admitted. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(srv_clients_admit(cs, NULL, NULL, OP, 0), SRV_ADMIT_OK);
    assert_int_equal(srv_clients_conns(cs), 0);
    srv_talker_t t[4];
    assert_int_equal(srv_clients_top(cs, t, 4, 0), 0);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_table_bound(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk_rl(1000);
    srv_clients_t *cs = mk_cs(0, 0, 2);
    srv_client_t a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, a2 = {0}, f = {0};
    srv_clients_attach(cs, &a, "10.0.0.1", 0);
    srv_clients_attach(cs, &b, "10.0.0.2", 0);
    /* Both entries have connections: a third address shares the overflow entry. */
    srv_clients_attach(cs, &c, "10.0.0.3", 0);
    assert_string_equal(srv_clients_addr_text(&c), "other");
    srv_clients_attach(cs, &d, "10.0.0.4", 0);
    assert_string_equal(srv_clients_addr_text(&d), "other");
    assert_int_equal(srv_clients_addr_conns(&d), 2);
    assert_int_equal(srv_clients_conns(cs), 4);
    admit_n(cs, &c, rl, 3, 0);
    admit_n(cs, &d, rl, 2, 0);
    assert_int_equal(top_window(cs, "other", 0), 5);
    /* A known address still finds its own entry. */
    srv_clients_attach(cs, &a2, "10.0.0.2", 0);
    assert_string_equal(srv_clients_addr_text(&a2), "10.0.0.2");
    assert_int_equal(srv_clients_addr_conns(&b), 2);
    srv_clients_detach(cs, &a2);
    /* max_addrs is not changed by a reconfiguration. */
    srv_clients_config_t cfg = {.per_conn_limit = 0, .per_addr_limit = 0, .max_addrs = 100};
    srv_clients_configure(cs, &cfg);

    /* One entry loses its last connection; past a window a new address gets an entry. */
    admit_n(cs, &a, rl, 1, 100);
    srv_clients_detach(cs, &a);
    int64_t t = 100 + SRV_RATELIMIT_WINDOW_MS + 1;
    srv_clients_attach(cs, &e, "10.0.0.5", t);
    assert_string_equal(srv_clients_addr_text(&e), "10.0.0.5");
    assert_int_equal(srv_clients_addr_conns(&e), 1);
    assert_string_equal(srv_clients_addr_text(&c), "other"); /* connections stay put */
    /* The forgotten address comes back to a full table: the overflow entry. */
    srv_clients_attach(cs, &a, "10.0.0.1", t);
    assert_string_equal(srv_clients_addr_text(&a), "other");
    assert_int_equal(srv_clients_addr_conns(&a), 3);
    srv_clients_detach(cs, &a);
    /* Room is made from idle entries, least recently seen first, even inside a window. */
    srv_clients_detach(cs, &e);
    srv_clients_attach(cs, &f, "10.0.0.6", t + 1);
    assert_string_equal(srv_clients_addr_text(&f), "10.0.0.6");

    srv_clients_detach(cs, &b);
    srv_clients_detach(cs, &c);
    srv_clients_detach(cs, &d);
    srv_clients_detach(cs, &f);
    assert_int_equal(srv_clients_conns(cs), 0);
    assert_int_equal(srv_clients_addrs(cs), 0);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_top(void **state)
{
    (void)state;
    enum { CAP = 5 };
    srv_ratelimit_t *rl = mk_rl(1000);
    srv_clients_t *cs = mk_cs(CAP, 0, 16);
    srv_client_t a = {0}, b1 = {0}, b2 = {0}, c = {0}, d = {0}, e1 = {0}, e2 = {0};
    srv_clients_attach(cs, &a, "A", 0);
    srv_clients_attach(cs, &b1, "B", 0);
    srv_clients_attach(cs, &b2, "B", 0);
    srv_clients_attach(cs, &c, "C", 0);
    srv_clients_attach(cs, &d, "D", 0); /* silent */
    srv_clients_attach(cs, &e1, "E", 0);
    srv_clients_attach(cs, &e2, "E", 0);
    /* A: window 5, refused 3. B: window 10, refused 0. C: window 5, refused 1.
     * E: window 7, refused 3. */
    admit_n(cs, &a, rl, CAP, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_clients_admit(cs, &a, rl, OP, 0), SRV_ADMIT_CONNECTION);
    admit_n(cs, &b1, rl, CAP, 0);
    admit_n(cs, &b2, rl, CAP, 0);
    admit_n(cs, &c, rl, CAP, 0);
    assert_int_equal(srv_clients_admit(cs, &c, rl, OP, 0), SRV_ADMIT_CONNECTION);
    admit_n(cs, &e1, rl, CAP, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_clients_admit(cs, &e1, rl, OP, 0), SRV_ADMIT_CONNECTION);
    admit_n(cs, &e2, rl, 2, 0);

    srv_talker_t t[10];
    memset(t, 0, sizeof t);
    assert_int_equal(srv_clients_top(cs, t, 10, 0), 4);
    const char *order[] = {"E", "A", "C", "B"};
    const long window[] = {7, 5, 5, 10};
    const uint64_t refused[] = {3, 3, 1, 0};
    const size_t conns[] = {2, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(t[i].addr, order[i]);
        assert_int_equal(t[i].window, window[i]);
        assert_int_equal(t[i].refused, refused[i]);
        assert_int_equal(t[i].conns, conns[i]);
    }
    /* Bounded by n, still the top ones. */
    srv_talker_t two[3];
    memset(two, 0, sizeof two);
    assert_int_equal(srv_clients_top(cs, two, 2, 0), 2);
    assert_string_equal(two[0].addr, "E");
    assert_string_equal(two[1].addr, "A");
    assert_null(two[2].addr); /* nothing written past n */
    assert_int_equal(srv_clients_top(cs, two, 1, 0), 1);
    assert_string_equal(two[0].addr, "E");
    assert_int_equal(srv_clients_top(cs, two, 0, 0), 0);
    /* A window later: entries with refusals stay (window 0), silent ones are skipped. */
    assert_int_equal(srv_clients_top(cs, t, 10, 10000), 3);
    /* A and E tie on refused and window: either order. */
    assert_true((strcmp(t[0].addr, "A") == 0 && strcmp(t[1].addr, "E") == 0) ||
                (strcmp(t[0].addr, "E") == 0 && strcmp(t[1].addr, "A") == 0));
    assert_string_equal(t[2].addr, "C");
    for (int i = 0; i < 3; i++)
        assert_int_equal(t[i].window, 0);

    srv_clients_detach(cs, &a);
    srv_clients_detach(cs, &b1);
    srv_clients_detach(cs, &b2);
    srv_clients_detach(cs, &c);
    srv_clients_detach(cs, &d);
    srv_clients_detach(cs, &e1);
    srv_clients_detach(cs, &e2);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
}

static void test_refused_per_reason(void **state)
{
    (void)state;
    srv_ratelimit_t *rl = mk_rl(1000);
    srv_ratelimit_t *tight = mk_rl(2);
    srv_clients_t *cs = mk_cs(4, 6, 16);
    srv_client_t x = {0}, y1 = {0}, y2 = {0}, z = {0};
    srv_clients_attach(cs, &x, "X", 0);
    srv_clients_attach(cs, &y1, "Y", 0);
    srv_clients_attach(cs, &y2, "Y", 0);
    srv_clients_attach(cs, &z, "Z", 0);
    /* Connection cap: 2 refusals. */
    admit_n(cs, &x, rl, 4, 0);
    assert_int_equal(srv_clients_admit(cs, &x, rl, OP, 0), SRV_ADMIT_CONNECTION);
    assert_int_equal(srv_clients_admit(cs, &x, rl, OP, 0), SRV_ADMIT_CONNECTION);
    /* Address cap: y1 takes 4, y2 2 (address full at 6), y2 one more under its share of
     * 6 / 2 = 3, then refused. */
    admit_n(cs, &y1, rl, 4, 0);
    admit_n(cs, &y2, rl, 3, 0);
    assert_int_equal(srv_clients_admit(cs, &y2, rl, OP, 0), SRV_ADMIT_ADDRESS);
    /* Shared: 2 / 4 connections = a share of 0, so once full z is refused. */
    admit_n(cs, &z, tight, 2, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srv_clients_admit(cs, &z, tight, OP, 0), SRV_ADMIT_SHARED);

    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_OK), 0);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_CONNECTION), 2);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_ADDRESS), 1);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_SHARED), 3);
    assert_int_equal(srv_clients_refused(cs, SRV_ADMIT_REASONS), 0);
    assert_string_equal(srv_admit_name(SRV_ADMIT_OK), "ok");
    assert_string_equal(srv_admit_name(SRV_ADMIT_CONNECTION), "connection");
    assert_string_equal(srv_admit_name(SRV_ADMIT_ADDRESS), "address");
    assert_string_equal(srv_admit_name(SRV_ADMIT_SHARED), "shared");
    assert_string_equal(srv_admit_name(SRV_ADMIT_REASONS), "?");

    srv_clients_detach(cs, &x);
    srv_clients_detach(cs, &y1);
    srv_clients_detach(cs, &y2);
    srv_clients_detach(cs, &z);
    srv_clients_free(cs);
    srv_ratelimit_free(rl);
    srv_ratelimit_free(tight);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_detach),
        cmocka_unit_test(test_conn_cap),
        cmocka_unit_test(test_addr_cap_spares_quiet),
        cmocka_unit_test(test_shared_fairness),
        cmocka_unit_test(test_disabled_limiter),
        cmocka_unit_test(test_windows_clear),
        cmocka_unit_test(test_null_client),
        cmocka_unit_test(test_table_bound),
        cmocka_unit_test(test_top),
        cmocka_unit_test(test_refused_per_reason),
    };
    return cmocka_run_group_tests_name("clients", tests, NULL, NULL);
}
