#include "test.h"
/*
 * Unit tests for the sidecar's pre-encoded DNS answers (sidecar/dns_cache.c). The reference is
 * the per-query encoder (agent_dns_build_response, sidecar/dns.c): for the same query and the
 * records in the order a template's copy drew, both must write the same bytes, whatever the
 * question's case, ID, RD bit, class, EDNS0 size, size limit (UDP, EDNS0, the remote cap, TCP)
 * and SOA serial. Then the cache itself: lookups, the bounds, and dropping an owner's answers.
 */
#include "dns.h"
#include "dns_cache.h"
#include "dns_pkt.h"

/* ---- queries ------------------------------------------------------------------------------ */

/* A query as a resolver sends it, parsed by the sidecar's own parser. */
static agent_dns_query_t query(const char *name, unsigned type, unsigned cls, unsigned id,
                               unsigned flags, int edns, unsigned size, size_t *len)
{
    pkt_t p;
    phdr(&p, id, flags, 1, 0, 0, edns ? 1 : 0);
    pname(&p, name);
    p16(&p, type);
    p16(&p, cls);
    if (edns) {
        p8(&p, 0);
        p16(&p, AGENT_DNS_TYPE_OPT);
        p16(&p, size);
        p16(&p, 0);
        p16(&p, 0);
        p16(&p, 0);
    }
    agent_dns_query_t q;
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    if (len)
        *len = p.n;
    return q;
}

/* ---- records ------------------------------------------------------------------------------ */

static agent_dns_rr_t rr_addr(const char *owner, int v6, unsigned k)
{
    agent_dns_rr_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", owner);
    r.type = v6 ? AGENT_DNS_TYPE_AAAA : AGENT_DNS_TYPE_A;
    r.ttl = 5;
    r.addr[0] = v6 ? 0xfd : 10;
    r.addr[1] = (uint8_t)(k >> 8);
    r.addr[2] = (uint8_t)k;
    r.addr[v6 ? 15 : 3] = (uint8_t)(k + 1);
    return r;
}

static agent_dns_rr_t rr_srv(const char *owner, const char *target, unsigned k)
{
    agent_dns_rr_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", owner);
    snprintf(r.srv_target, sizeof(r.srv_target), "%s", target);
    r.type = AGENT_DNS_TYPE_SRV;
    r.ttl = 5;
    r.srv_weight = (uint16_t)(k % 3);
    r.srv_port = (uint16_t)(8000 + k);
    return r;
}

static agent_dns_soa_t soa_of(const char *zone)
{
    agent_dns_soa_t s;
    memset(&s, 0, sizeof(s));
    snprintf(s.zone, sizeof(s.zone), "%s", zone);
    snprintf(s.mname, sizeof(s.mname), "ns.%s", zone);
    snprintf(s.rname, sizeof(s.rname), "hostmaster.%s", zone);
    s.serial = 1700000000;
    s.refresh = 3600;
    s.retry = 600;
    s.expire = 86400;
    s.minimum = 5;
    s.ttl = 5;
    return s;
}

#define MAXR     400
#define TYPE_TXT 16 /* a type the sidecar has no records of */

/* The question section a query for name (dotted, in its case) carries: labels, type, class. */
static size_t question_of(const char *name, unsigned type, unsigned cls, uint8_t *q)
{
    size_t n = 0;
    while (*name) {
        const char *e = strchr(name, '.');
        size_t l = e ? (size_t)(e - name) : strlen(name);
        q[n++] = (uint8_t)l;
        memcpy(q + n, name, l);
        n += l;
        name += l + (e ? 1 : 0);
    }
    q[n++] = 0;
    q[n++] = (uint8_t)(type >> 8);
    q[n++] = (uint8_t)type;
    q[n++] = (uint8_t)(cls >> 8);
    q[n++] = (uint8_t)cls;
    return n;
}

/* The answer set a template is encoded from. */
typedef struct set {
    int rcode;
    agent_dns_rr_t an[MAXR], ad[MAXR];
    uint8_t paired[MAXR];
    size_t nan, nad;
    int with_paired, with_soa;
    agent_dns_soa_t soa;
} set_t;

static set_t *set_new(int rcode)
{
    set_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->rcode = rcode;
    s->soa = soa_of("artemis");
    return s;
}

/*
 * Write t's answer to q at (max, cap) and the per-query encoder's answer for the records in
 * the drawn order; they must match. Returns the answer's length (0: both failed) and leaves
 * the answer in out.
 */
static uint8_t out[AGENT_DNS_TCP_MAX], ref[AGENT_DNS_TCP_MAX];

static size_t same_as_reference(const agent_dns_tmpl_t *t, const set_t *s,
                                const agent_dns_query_t *q, size_t max, size_t cap, uint32_t *rng,
                                uint32_t serial, uint32_t *perm)
{
    for (size_t i = 0; i < s->nan; i++)
        perm[i] = (uint32_t)i;
    size_t len = 0, rlen = 0;
    int tc = -1;
    int rc = agent_dns_tmpl_write(t, q, serial, rng, perm, max, out, cap, &len, &tc);
    static agent_dns_rr_t an2[MAXR], ad2[MAXR];
    size_t adidx[MAXR], nad2 = 0;
    for (size_t i = 0, j = 0; i < s->nan; i++)
        adidx[i] = s->with_paired && s->paired[i] ? j++ : (size_t)-1;
    for (size_t k = 0; k < s->nan; k++) {
        an2[k] = s->an[perm[k]];
        if (adidx[perm[k]] != (size_t)-1)
            ad2[nad2++] = s->ad[adidx[perm[k]]];
    }
    if (!s->with_paired) {
        for (size_t k = 0; k < s->nad; k++)
            ad2[nad2++] = s->ad[k];
    }
    assert_int_equal(nad2, s->nad);
    agent_dns_soa_t soa = s->soa;
    soa.serial = serial;
    int rrc = agent_dns_build_response(q, s->rcode, an2, s->nan, ad2, s->nad,
                                       s->with_soa ? &soa : NULL, max, ref, cap, &rlen);
    assert_int_equal(rc, rrc);
    if (rc != 0)
        return 0;
    assert_int_equal(len, rlen);
    assert_memory_equal(out, ref, len);
    assert_int_equal(tc, (out[2] & (AGENT_DNS_FLAG_TC >> 8)) != 0);
    return len;
}

static agent_dns_tmpl_t *tmpl_of(const set_t *s, const agent_dns_query_t *q)
{
    agent_dns_tmpl_t *t =
        agent_dns_tmpl_new(q, s->rcode, s->an, s->nan, s->ad, s->nad,
                           s->with_paired ? s->paired : NULL, s->with_soa ? &s->soa : NULL);
    assert_non_null(t);
    assert_int_equal(agent_dns_tmpl_records(t), s->nan);
    assert_int_equal(agent_dns_tmpl_rcode(t), s->rcode);
    return t;
}

/* The query variants every answer is checked against: the case of the name (as sent, mixed,
 * upper), ID, RD, class IN/ANY, with and without EDNS0 (sizes 512..4096). */
static void check_variants(const set_t *s, const char *name, unsigned type, int expect_movable)
{
    char spelled[256];
    agent_dns_query_t base = query(name, type, AGENT_DNS_CLASS_IN, 1, 0, 0, 0, NULL);
    agent_dns_tmpl_t *t = tmpl_of(s, &base);
    assert_int_equal(agent_dns_tmpl_movable(t), expect_movable);
    uint32_t rng = 0x12345678u, perm[MAXR];
    for (size_t c = 0; c < 3; c++) {
        size_t n = strlen(name);
        for (size_t i = 0; i <= n; i++) {
            char ch = name[i];
            if (c == 1 && i % 2 == 0 && ch >= 'a' && ch <= 'z')
                ch = (char)(ch - 'a' + 'A');
            if (c == 2 && ch >= 'a' && ch <= 'z')
                ch = (char)(ch - 'a' + 'A');
            spelled[i] = ch;
        }
        for (int v = 0; v < 8; v++) {
            unsigned flags = (v & 1 ? AGENT_DNS_FLAG_RD : 0) | (v & 2 ? 0x0010 : 0); /* CD */
            unsigned cls = v & 4 ? AGENT_DNS_CLASS_ANY : AGENT_DNS_CLASS_IN;
            for (int e = 0; e < 3; e++) {
                size_t qlen = 0;
                agent_dns_query_t q = query(spelled, type, cls, 0xA000u + (unsigned)(c * 100 + v),
                                            flags, e > 0, e == 1 ? 1232 : 4096, &qlen);
                const size_t limits[][2] = {
                    {agent_dns_udp_limit(&q, qlen, 1), sizeof(out)},
                    {agent_dns_udp_limit(&q, qlen, 0), sizeof(out)},
                    {AGENT_DNS_TCP_MAX, sizeof(out)},
                    {AGENT_DNS_TCP_MAX, 40}, /* not even the TC answer fits */
                };
                for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
                    size_t len = same_as_reference(t, s, &q, limits[l][0], limits[l][1],
                                                   expect_movable ? &rng : NULL,
                                                   1800000000u + (uint32_t)l, perm);
                    if (len) { /* the question echoes the query's own bytes */
                        uint8_t want[300];
                        size_t wl = question_of(spelled, type, cls, want);
                        assert_memory_equal(out + 12, want, wl);
                    }
                }
            }
        }
    }
    agent_dns_tmpl_free(t);
}

/* ---- tests: byte-identical answers ---------------------------------------------------------- */

static void test_a_records(void **state)
{
    (void)state;
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "bench-dns-000.service.artemis";
    for (unsigned k = 0; k < 5; k++)
        s->an[s->nan++] = rr_addr(name, 0, k);
    check_variants(s, name, AGENT_DNS_TYPE_A, 1);
    free(s);
}

static void test_any_mixed_families(void **state)
{
    (void)state;
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "orders.v2.service.sha-z1.zone.artemis";
    for (unsigned k = 0; k < 9; k++)
        s->an[s->nan++] = rr_addr(name, k % 3 == 0, k);
    check_variants(s, name, AGENT_DNS_TYPE_ANY, 1);
    free(s);
}

static void test_srv_with_additional(void **state)
{
    (void)state;
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "orders.service.artemis";
    s->with_paired = 1;
    for (unsigned k = 0; k < 7; k++) {
        char target[100];
        snprintf(target, sizeof(target), "host-%u.orders.service.artemis", k);
        s->an[s->nan] = rr_srv(name, target, k);
        /* instance 3 has no usable address: an SRV answer without its additional record */
        s->paired[s->nan] = k != 3;
        if (k != 3)
            s->ad[s->nad++] = rr_addr(target, k == 5, k);
        s->nan++;
    }
    check_variants(s, name, AGENT_DNS_TYPE_SRV, 1);
    free(s);
}

static void test_negative_answers(void **state)
{
    (void)state;
    /* NXDOMAIN and NOERROR/no-data carry the SOA; its serial is the one given per copy */
    set_t *s = set_new(AGENT_DNS_NXDOMAIN);
    s->with_soa = 1;
    check_variants(s, "nobody.service.artemis", AGENT_DNS_TYPE_A, 1);
    s->rcode = AGENT_DNS_NOERROR;
    check_variants(s, "orders.service.artemis", TYPE_TXT, 1);
    check_variants(s, "orders.service.nowhere.zone.artemis", AGENT_DNS_TYPE_AAAA, 1);

    agent_dns_query_t q = query("orders.service.artemis", AGENT_DNS_TYPE_A, 1, 7, 0, 0, 0, NULL);
    agent_dns_tmpl_t *t = tmpl_of(s, &q);
    assert_true(agent_dns_tmpl_has_soa(t));
    size_t len = 0;
    assert_int_equal(
        agent_dns_tmpl_write(t, &q, 0x01020304u, NULL, NULL, 512, out, sizeof(out), &len, NULL), 0);
    /* the serial follows mname and rname in the SOA's data: find it by its value */
    int found = 0;
    for (size_t i = 0; i + 4 <= len; i++)
        found |= !memcmp(out + i, "\x01\x02\x03\x04", 4);
    assert_true(found);
    agent_dns_tmpl_free(t);
    free(s);
}

static void test_truncation_and_tcp(void **state)
{
    (void)state;
    /* 300 A records: 4,800 bytes of records. TC over plain UDP and EDNS0 4096, and for a remote
     * source at any size; whole over TCP. */
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "big.service.artemis";
    for (unsigned k = 0; k < 300; k++)
        s->an[s->nan++] = rr_addr(name, 0, k);
    check_variants(s, name, AGENT_DNS_TYPE_A, 1);

    agent_dns_query_t base = query(name, AGENT_DNS_TYPE_A, 1, 1, 0, 0, 0, NULL);
    agent_dns_tmpl_t *t = tmpl_of(s, &base);
    size_t qlen = 0;
    agent_dns_query_t q =
        query("Big.Service.Artemis", AGENT_DNS_TYPE_A, 1, 9, 0x0100, 1, 4096, &qlen);
    uint32_t rng = 99, perm[MAXR];
    size_t len =
        same_as_reference(t, s, &q, agent_dns_udp_limit(&q, qlen, 1), sizeof(out), &rng, 1, perm);
    assert_int_equal(len, qlen); /* header, question, OPT: the query's size */
    assert_true(out[2] & (AGENT_DNS_FLAG_TC >> 8));
    assert_memory_equal(out + 12,
                        "\x03"
                        "Big"
                        "\x07"
                        "Service"
                        "\x07"
                        "Artemis",
                        21);
    len = same_as_reference(t, s, &q, AGENT_DNS_TCP_MAX, sizeof(out), &rng, 1, perm);
    assert_int_equal(len, qlen + 300 * 16);
    assert_false(out[2] & (AGENT_DNS_FLAG_TC >> 8));
    agent_dns_tmpl_free(t);

    /* 100 records fit in EDNS0 4096 from a loopback source, not from a remote one */
    s->nan = 100;
    t = tmpl_of(s, &base);
    len = same_as_reference(t, s, &q, agent_dns_udp_limit(&q, qlen, 1), sizeof(out), &rng, 1, perm);
    assert_int_equal(len, qlen + 100 * 16);
    len = same_as_reference(t, s, &q, agent_dns_udp_limit(&q, qlen, 0), sizeof(out), &rng, 1, perm);
    assert_int_equal(len, qlen);
    agent_dns_tmpl_free(t);
    free(s);
}

static void test_shuffled_per_copy(void **state)
{
    (void)state;
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "five.service.artemis";
    for (unsigned k = 0; k < 5; k++)
        s->an[s->nan++] = rr_addr(name, 0, k);
    agent_dns_query_t q = query(name, AGENT_DNS_TYPE_A, 1, 1, 0, 0, 0, NULL);
    agent_dns_tmpl_t *t = tmpl_of(s, &q);
    uint32_t rng = 1, perm[MAXR];
    unsigned first[5] = {0}, orders = 0, last_order = 0;
    for (int i = 0; i < 500; i++) {
        same_as_reference(t, s, &q, 512, sizeof(out), &rng, 1, perm);
        first[perm[0]]++;
        unsigned order = 0;
        for (int k = 0; k < 5; k++)
            order = order * 5 + perm[k];
        orders += order != last_order;
        last_order = order;
    }
    for (int k = 0; k < 5; k++) /* each record leads about a fifth of the answers */
        assert_true(first[k] > 50 && first[k] < 150);
    assert_true(orders > 450);
    /* rng NULL: the encoded order */
    same_as_reference(t, s, &q, 512, sizeof(out), NULL, 1, perm);
    for (uint32_t k = 0; k < 5; k++)
        assert_int_equal(perm[k], k);
    agent_dns_tmpl_free(t);
    free(s);
}

static void test_not_movable(void **state)
{
    (void)state;
    /* Two instances whose sanitised labels collide: equal SRV targets, so the second address
     * record points to the first target; copying cannot reorder that. */
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "dup.service.artemis";
    s->with_paired = 1;
    for (unsigned k = 0; k < 3; k++) {
        const char *target = k == 2 ? "b.dup.service.artemis" : "a.dup.service.artemis";
        s->an[s->nan] = rr_srv(name, target, k);
        s->paired[s->nan++] = 1;
        s->ad[s->nad++] = rr_addr(target, 0, k);
    }
    check_variants(s, name, AGENT_DNS_TYPE_SRV, 0);
    free(s);

    /* 200 SRV records: the compression table fills, later targets are not remembered */
    s = set_new(AGENT_DNS_NOERROR);
    s->with_paired = 1;
    for (unsigned k = 0; k < 200; k++) {
        char target[100];
        snprintf(target, sizeof(target), "i%u.many.service.artemis", k);
        s->an[s->nan] = rr_srv("many.service.artemis", target, k);
        s->paired[s->nan++] = 1;
        s->ad[s->nad++] = rr_addr(target, 0, k);
    }
    agent_dns_query_t q = query("many.service.artemis", AGENT_DNS_TYPE_SRV, 1, 1, 0, 0, 0, NULL);
    agent_dns_tmpl_t *t = tmpl_of(s, &q);
    assert_false(agent_dns_tmpl_movable(t));
    uint32_t perm[MAXR];
    assert_true(same_as_reference(t, s, &q, AGENT_DNS_TCP_MAX, sizeof(out), NULL, 1, perm) > 0);
    agent_dns_tmpl_free(t);

    /* one record is always movable */
    s->nan = s->nad = 1;
    t = tmpl_of(s, &q);
    assert_true(agent_dns_tmpl_movable(t));
    agent_dns_tmpl_free(t);
    free(s);
}

static void test_no_template(void **state)
{
    (void)state;
    set_t *s = set_new(AGENT_DNS_NOERROR);
    const char *name = "huge.service.artemis";
    agent_dns_query_t q = query(name, AGENT_DNS_TYPE_AAAA, 1, 1, 0, 0, 0, NULL);
    /* 2,400 AAAA records (67,200 bytes): more than one message holds even over TCP */
    agent_dns_rr_t *an = calloc(2400, sizeof(*an));
    assert_non_null(an);
    for (unsigned k = 0; k < 2400; k++)
        an[k] = rr_addr(name, 1, k);
    assert_null(agent_dns_tmpl_new(&q, AGENT_DNS_NOERROR, an, 2400, NULL, 0, NULL, NULL));
    free(an);
    /* FORMERR and NOTIMP have no question to patch */
    assert_null(agent_dns_tmpl_new(&q, AGENT_DNS_FORMERR, NULL, 0, NULL, 0, NULL, NULL));
    /* the pairing must account for every additional record */
    s->an[0] = rr_srv(name, "a.huge.service.artemis", 0);
    s->ad[0] = rr_addr("a.huge.service.artemis", 0, 0);
    uint8_t paired[1] = {0};
    assert_null(agent_dns_tmpl_new(&q, AGENT_DNS_NOERROR, s->an, 1, s->ad, 1, paired, NULL));

    /* a template answers only its own type and name length */
    s->an[0] = rr_addr(name, 1, 0);
    agent_dns_tmpl_t *t = agent_dns_tmpl_new(&q, AGENT_DNS_NOERROR, s->an, 1, NULL, 0, NULL, NULL);
    assert_non_null(t);
    size_t len;
    agent_dns_query_t other = query(name, AGENT_DNS_TYPE_A, 1, 1, 0, 0, 0, NULL);
    assert_int_equal(
        agent_dns_tmpl_write(t, &other, 0, NULL, NULL, 512, out, sizeof(out), &len, NULL), -1);
    other = query("hugE.service.artemis.x", AGENT_DNS_TYPE_AAAA, 1, 1, 0, 0, 0, NULL);
    assert_int_equal(
        agent_dns_tmpl_write(t, &other, 0, NULL, NULL, 512, out, sizeof(out), &len, NULL), -1);
    agent_dns_tmpl_free(t);
    free(s);
}

/* ---- tests: the cache ----------------------------------------------------------------------- */

static agent_dns_tmpl_t *small_tmpl(const char *name, unsigned type)
{
    agent_dns_query_t q = query(name, type, 1, 1, 0, 0, 0, NULL);
    agent_dns_rr_t r = rr_addr(name, type == AGENT_DNS_TYPE_AAAA, 1);
    agent_dns_tmpl_t *t = agent_dns_tmpl_new(&q, AGENT_DNS_NOERROR, &r, 1, NULL, 0, NULL, NULL);
    assert_non_null(t);
    return t;
}

static void test_cache_get_put(void **state)
{
    (void)state;
    agent_dns_cache_t *c = agent_dns_cache_new(16, 1 << 20, 1, 2);
    assert_non_null(c);
    void *owner = NULL;
    agent_dns_tmpl_t *a = small_tmpl("a.service.artemis", AGENT_DNS_TYPE_A);
    agent_dns_tmpl_t *aaaa = small_tmpl("a.service.artemis", AGENT_DNS_TYPE_AAAA);
    assert_int_equal(agent_dns_cache_put(c, "a.service.artemis", AGENT_DNS_TYPE_A, a, &owner), 0);
    assert_int_equal(agent_dns_cache_put(c, "a.service.artemis", AGENT_DNS_TYPE_AAAA, aaaa, &owner),
                     0);
    assert_ptr_equal(agent_dns_cache_get(c, "a.service.artemis", AGENT_DNS_TYPE_A), a);
    assert_ptr_equal(agent_dns_cache_get(c, "a.service.artemis", AGENT_DNS_TYPE_AAAA), aaaa);
    assert_null(agent_dns_cache_get(c, "a.service.artemis", AGENT_DNS_TYPE_SRV));
    assert_null(agent_dns_cache_get(c, "b.service.artemis", AGENT_DNS_TYPE_A));
    assert_int_equal(agent_dns_cache_count(c), 2);
    /* replacing frees the old template (ASan would see a leak otherwise) */
    agent_dns_tmpl_t *a2 = small_tmpl("a.service.artemis", AGENT_DNS_TYPE_A);
    assert_int_equal(agent_dns_cache_put(c, "a.service.artemis", AGENT_DNS_TYPE_A, a2, NULL), 0);
    assert_ptr_equal(agent_dns_cache_get(c, "a.service.artemis", AGENT_DNS_TYPE_A), a2);
    assert_int_equal(agent_dns_cache_count(c), 2);
    size_t bytes = agent_dns_cache_bytes(c);
    assert_true(bytes > agent_dns_tmpl_bytes(a2) + agent_dns_tmpl_bytes(aaaa));
    agent_dns_cache_free(c);
    assert_null(owner); /* freeing the cache empties the owners' lists */
    agent_dns_cache_free(NULL);
}

static void test_cache_bounds(void **state)
{
    (void)state;
    /* at most 4 entries: the least recently used goes first */
    agent_dns_cache_t *c = agent_dns_cache_new(4, 1 << 20, 3, 4);
    char name[64];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "s%d.service.artemis", i);
        assert_int_equal(agent_dns_cache_put(c, name, AGENT_DNS_TYPE_A,
                                             small_tmpl(name, AGENT_DNS_TYPE_A), NULL),
                         0);
    }
    assert_non_null(agent_dns_cache_get(c, "s0.service.artemis", AGENT_DNS_TYPE_A));
    assert_int_equal(agent_dns_cache_put(c, "s4.service.artemis", AGENT_DNS_TYPE_A,
                                         small_tmpl("s4.service.artemis", AGENT_DNS_TYPE_A), NULL),
                     0);
    assert_int_equal(agent_dns_cache_count(c), 4);
    assert_non_null(agent_dns_cache_get(c, "s0.service.artemis", AGENT_DNS_TYPE_A));
    assert_null(agent_dns_cache_get(c, "s1.service.artemis", AGENT_DNS_TYPE_A));
    agent_dns_cache_free(c);

    /* a byte bound: templates of 100 A records (~3.7 KB with their offsets); 64 KB hold some */
    c = agent_dns_cache_new(1000, 64 * 1024, 5, 6);
    set_t *s = set_new(AGENT_DNS_NOERROR);
    for (unsigned k = 0; k < 100; k++)
        s->an[s->nan++] = rr_addr("x.service.artemis", 0, k);
    for (int i = 0; i < 40; i++) {
        agent_dns_query_t q = query("x.service.artemis", AGENT_DNS_TYPE_A, 1, 1, 0, 0, 0, NULL);
        agent_dns_tmpl_t *t = tmpl_of(s, &q);
        snprintf(name, sizeof(name), "x%d.service.artemis", i);
        assert_int_equal(agent_dns_cache_put(c, name, AGENT_DNS_TYPE_A, t, NULL), 0);
        assert_true(agent_dns_cache_bytes(c) <= 64 * 1024);
    }
    assert_true(agent_dns_cache_count(c) >= 10 && agent_dns_cache_count(c) < 20);
    /* larger than an eighth of the bound: refused, the caller keeps it */
    for (unsigned k = 100; k < 300; k++)
        s->an[s->nan++] = rr_addr("x.service.artemis", 0, k);
    agent_dns_query_t q = query("x.service.artemis", AGENT_DNS_TYPE_A, 1, 1, 0, 0, 0, NULL);
    agent_dns_tmpl_t *big = tmpl_of(s, &q);
    assert_int_equal(agent_dns_cache_put(c, "x.service.artemis", AGENT_DNS_TYPE_A, big, NULL), -1);
    agent_dns_tmpl_free(big);
    agent_dns_cache_free(c);
    free(s);
}

static void test_cache_drop_owner(void **state)
{
    (void)state;
    agent_dns_cache_t *c = agent_dns_cache_new(64, 1 << 20, 7, 8);
    void *orders = NULL, *users = NULL;
    static const unsigned types[] = {AGENT_DNS_TYPE_A, AGENT_DNS_TYPE_AAAA};
    for (int t = 0; t < 2; t++) {
        assert_int_equal(agent_dns_cache_put(c, "orders.service.artemis", (uint16_t)types[t],
                                             small_tmpl("orders.service.artemis", types[t]),
                                             &orders),
                         0);
        assert_int_equal(agent_dns_cache_put(c, "users.service.artemis", (uint16_t)types[t],
                                             small_tmpl("users.service.artemis", types[t]), &users),
                         0);
    }
    assert_int_equal(agent_dns_cache_put(c, "orders.service.z.zone.artemis", AGENT_DNS_TYPE_A,
                                         small_tmpl("orders.service.z.zone.artemis", 1), &orders),
                     0);
    assert_int_equal(agent_dns_cache_count(c), 5);
    /* the view of orders changed: its three answers go, users' stay */
    agent_dns_cache_drop_owner(c, &orders);
    assert_null(orders);
    assert_int_equal(agent_dns_cache_count(c), 2);
    assert_null(agent_dns_cache_get(c, "orders.service.artemis", AGENT_DNS_TYPE_A));
    assert_null(agent_dns_cache_get(c, "orders.service.z.zone.artemis", AGENT_DNS_TYPE_A));
    assert_non_null(agent_dns_cache_get(c, "users.service.artemis", AGENT_DNS_TYPE_AAAA));
    /* an entry replaced or evicted leaves its owner's list too */
    assert_int_equal(agent_dns_cache_put(c, "users.service.artemis", AGENT_DNS_TYPE_A,
                                         small_tmpl("users.service.artemis", 1), &orders),
                     0);
    agent_dns_cache_drop_owner(c, &users);
    assert_null(users);
    assert_int_equal(agent_dns_cache_count(c), 1);
    agent_dns_cache_drop_owner(c, &orders);
    assert_int_equal(agent_dns_cache_count(c), 0);
    assert_int_equal(agent_dns_cache_bytes(c), 0);
    agent_dns_cache_drop_owner(NULL, &orders);
    agent_dns_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_records),           cmocka_unit_test(test_any_mixed_families),
        cmocka_unit_test(test_srv_with_additional), cmocka_unit_test(test_negative_answers),
        cmocka_unit_test(test_truncation_and_tcp),  cmocka_unit_test(test_shuffled_per_copy),
        cmocka_unit_test(test_not_movable),         cmocka_unit_test(test_no_template),
        cmocka_unit_test(test_cache_get_put),       cmocka_unit_test(test_cache_bounds),
        cmocka_unit_test(test_cache_drop_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
