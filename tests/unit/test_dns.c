#include "test.h"
/*
 * Unit tests for the sidecar's DNS codec (sidecar/dns.c): query parsing (dig-style queries
 * with and without EDNS0, case folding, every malformed case), response building (A / AAAA /
 * SRV answers decoded by a small independent parser below, negative answers with SOA,
 * truncation, compression), service-name splitting and TCP framing.
 */
#include "dns.h"
#include "dns_pkt.h"

/* ---- query construction ----------------------------------------------------------------- */

static void popt(pkt_t *p, unsigned size)
{
    p8(p, 0);
    p16(p, AGENT_DNS_TYPE_OPT);
    p16(p, size);
    p16(p, 0);
    p16(p, 0);
    /* one option (a DNS cookie, as dig sends): code 10, 8 bytes */
    p16(p, 12);
    p16(p, 10);
    p16(p, 8);
    for (int i = 0; i < 8; i++)
        p8(p, (unsigned)i);
}

/* A dig-style query: id, RD, one question, optional OPT. */
static void dig_query(pkt_t *p, const char *name, unsigned type, int edns, unsigned size)
{
    phdr(p, 0xBEEF, AGENT_DNS_FLAG_RD | 0x0020 /* AD, as dig sets */, 1, 0, 0, edns ? 1 : 0);
    pname(p, name);
    p16(p, type);
    p16(p, AGENT_DNS_CLASS_IN);
    if (edns)
        popt(p, size);
}

/* ---- a small independent response parser ------------------------------------------------ */

typedef struct rr {
    char name[300];
    uint16_t type, cls;
    uint32_t ttl;
    uint16_t rdlen;
    uint8_t addr[16];
    uint16_t prio, weight, port;
    char target[300];
    char mname[300], rname[300];
    uint32_t soa[5];
} rr_t;

typedef struct msg {
    uint16_t id, flags, qd, an, ns, ar;
    char qname[300];
    uint16_t qtype, qclass;
    rr_t rr[256];
    size_t nrr;
} msg_t;

static size_t dname(const uint8_t *m, size_t len, size_t off, char *out)
{
    size_t o = 0, after = 0;
    int hops = 0;
    out[0] = '\0';
    for (;;) {
        assert_true(off < len);
        uint8_t c = m[off];
        if ((c & 0xC0) == 0xC0) {
            assert_true(off + 1 < len);
            size_t t = ((size_t)(c & 0x3F) << 8) | m[off + 1];
            assert_true(t < off); /* pointers go backwards */
            if (!after)
                after = off + 2;
            off = t;
            assert_true(++hops < 64);
            continue;
        }
        assert_int_equal(c & 0xC0, 0);
        if (c == 0) {
            if (!after)
                after = off + 1;
            out[o] = '\0';
            return after;
        }
        assert_true(off + 1 + c <= len);
        if (o)
            out[o++] = '.';
        memcpy(out + o, m + off + 1, c);
        o += c;
        off += 1 + (size_t)c;
    }
}

static uint16_t g16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
    return (uint32_t)g16(p) << 16 | g16(p + 2);
}

static void decode(const uint8_t *m, size_t len, msg_t *d)
{
    memset(d, 0, sizeof(*d));
    assert_true(len >= 12);
    d->id = g16(m);
    d->flags = g16(m + 2);
    d->qd = g16(m + 4);
    d->an = g16(m + 6);
    d->ns = g16(m + 8);
    d->ar = g16(m + 10);
    size_t off = 12;
    assert_true(d->qd <= 1);
    if (d->qd) {
        off = dname(m, len, off, d->qname);
        assert_true(off + 4 <= len);
        d->qtype = g16(m + off);
        d->qclass = g16(m + off + 2);
        off += 4;
    }
    size_t total = (size_t)d->an + d->ns + d->ar;
    assert_true(total <= 256);
    for (size_t i = 0; i < total; i++) {
        rr_t *r = &d->rr[i];
        off = dname(m, len, off, r->name);
        assert_true(off + 10 <= len);
        r->type = g16(m + off);
        r->cls = g16(m + off + 2);
        r->ttl = g32(m + off + 4);
        r->rdlen = g16(m + off + 8);
        off += 10;
        assert_true(off + r->rdlen <= len);
        const uint8_t *rd = m + off;
        switch (r->type) {
        case AGENT_DNS_TYPE_A:
            assert_int_equal(r->rdlen, 4);
            memcpy(r->addr, rd, 4);
            break;
        case AGENT_DNS_TYPE_AAAA:
            assert_int_equal(r->rdlen, 16);
            memcpy(r->addr, rd, 16);
            break;
        case AGENT_DNS_TYPE_SRV:
            r->prio = g16(rd);
            r->weight = g16(rd + 2);
            r->port = g16(rd + 4);
            /* RFC 2782: the target is not compressed */
            for (size_t k = 6; k < r->rdlen; k += (size_t)rd[k] + 1)
                assert_int_equal(rd[k] & 0xC0, 0);
            assert_int_equal(dname(m, len, off + 6, r->target), off + r->rdlen);
            break;
        case AGENT_DNS_TYPE_SOA: {
            size_t e = dname(m, len, off, r->mname);
            e = dname(m, len, e, r->rname);
            assert_int_equal(e + 20, off + r->rdlen);
            for (int k = 0; k < 5; k++)
                r->soa[k] = g32(m + e + 4 * (size_t)k);
            break;
        }
        default:
            break;
        }
        off += r->rdlen;
        d->nrr++;
    }
    assert_int_equal(off, len);
}

/* ---- parse_query ------------------------------------------------------------------------ */

static void test_parse_dig_query(void **state)
{
    (void)state;
    pkt_t p;
    agent_dns_query_t q;
    dig_query(&p, "my.service.artemis", AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(q.id, 0xBEEF);
    assert_true(q.flags & AGENT_DNS_FLAG_RD);
    assert_string_equal(q.qname, "my.service.artemis");
    assert_int_equal(q.qtype, AGENT_DNS_TYPE_A);
    assert_int_equal(q.qclass, AGENT_DNS_CLASS_IN);
    assert_int_equal(q.edns, 0);
    assert_int_equal(q.udp_size, 512);

    dig_query(&p, "my.service.artemis", AGENT_DNS_TYPE_SRV, 1, 1232);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(q.qtype, AGENT_DNS_TYPE_SRV);
    assert_int_equal(q.edns, 1);
    assert_int_equal(q.udp_size, 1232);

    dig_query(&p, "x.artemis", AGENT_DNS_TYPE_AAAA, 1, 65000);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(q.udp_size, 4096);
    dig_query(&p, "x.artemis", AGENT_DNS_TYPE_AAAA, 1, 100);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(q.udp_size, 512);
    assert_int_equal(q.edns, 1);

    /* the root */
    dig_query(&p, "", AGENT_DNS_TYPE_SOA, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_string_equal(q.qname, "");
}

static void test_parse_case_folding(void **state)
{
    (void)state;
    pkt_t p;
    agent_dns_query_t q;
    dig_query(&p, "My.SeRvIcE.ARTEMIS", AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_string_equal(q.qname, "my.service.artemis");
    assert_string_equal(q.qname_raw, "My.SeRvIcE.ARTEMIS");
    /* bytes other than '.' and NUL are allowed and kept */
    dig_query(&p, "a_b-c\xc3\xa9 x.artemis", AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_string_equal(q.qname, "a_b-c\xc3\xa9 x.artemis");
}

static void test_parse_drop_and_notimp(void **state)
{
    (void)state;
    pkt_t p;
    agent_dns_query_t q;
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    for (size_t n = 0; n < 12; n++)
        assert_int_equal(agent_dns_parse_query(p.b, n, &q), -1);
    assert_int_equal(agent_dns_parse_query(NULL, 0, &q), -1);
    p.b[2] |= 0x80; /* QR: a response */
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), -1);

    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    p.b[2] |= 2 << 3; /* opcode STATUS */
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOTIMP);
    assert_int_equal(q.id, 0xBEEF);
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    p.b[2] |= 5 << 3; /* UPDATE */
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOTIMP);

    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    p.b[5] = 0;
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOTIMP);
    p.b[5] = 2;
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOTIMP);
    /* a bare header with qdcount 0 */
    assert_int_equal(agent_dns_parse_query(p.b, 12, &q), AGENT_DNS_NOTIMP);
}

static void expect_formerr(const pkt_t *p)
{
    agent_dns_query_t q;
    assert_int_equal(agent_dns_parse_query(p->b, p->n, &q), AGENT_DNS_FORMERR);
    assert_int_equal(q.id, 0xBEEF);
    assert_int_equal(q.edns, 0);
}

static void test_parse_formerr(void **state)
{
    (void)state;
    pkt_t p;
    agent_dns_query_t q;

    /* truncated question: every prefix between the header and the end */
    dig_query(&p, "my.service.artemis", AGENT_DNS_TYPE_A, 0, 0);
    size_t full = p.n;
    for (size_t n = 12; n < full; n++) {
        p.n = n;
        expect_formerr(&p);
    }
    /* truncated OPT record */
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 1, 4096);
    full = p.n;
    for (size_t n = full - 22; n < full; n++) {
        p.n = n;
        expect_formerr(&p);
    }
    /* arcount says 2, one is there */
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 1, 4096);
    p.b[11] = 2;
    expect_formerr(&p);
    /* two OPT records */
    popt(&p, 4096);
    expect_formerr(&p);
    /* OPT with a non-root owner */
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 1);
    pname(&p, "a.artemis");
    p16(&p, 1);
    p16(&p, 1);
    pname(&p, "x");
    p16(&p, AGENT_DNS_TYPE_OPT);
    p16(&p, 4096);
    p16(&p, 0);
    p16(&p, 0);
    p16(&p, 0);
    expect_formerr(&p);

    /* label of 64 bytes (length byte 0x40), and 0x80 */
    char big[80];
    memset(big, 'a', 63);
    big[63] = '\0';
    dig_query(&p, big, AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p8(&p, 64);
    for (int i = 0; i < 64; i++)
        p8(&p, 'a');
    p8(&p, 0);
    p16(&p, 1);
    p16(&p, 1);
    expect_formerr(&p);
    p.b[12] = 0x80;
    expect_formerr(&p);

    /* name of 255 wire bytes is fine, 256 is not: 4 labels of 63 = 256 bytes, 3 + 61 = 254 */
    char name[300];
    memset(name, 'b', sizeof(name));
    name[63] = name[127] = name[191] = '.';
    name[191 + 62] = '\0'; /* 3*64 + 1+61 + 1 = 255 */
    dig_query(&p, name, AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(strlen(q.qname), 253);
    name[191 + 62] = 'b';
    name[191 + 63] = '\0'; /* 256 */
    dig_query(&p, name, AGENT_DNS_TYPE_A, 0, 0);
    expect_formerr(&p);
    name[255] = '.';
    name[258] = '\0'; /* many more bytes */
    dig_query(&p, name, AGENT_DNS_TYPE_A, 0, 0);
    expect_formerr(&p);

    /* '.' and NUL inside a label */
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p8(&p, 3);
    p8(&p, 'a');
    p8(&p, '.');
    p8(&p, 'b');
    p8(&p, 0);
    p16(&p, 1);
    p16(&p, 1);
    expect_formerr(&p);
    p.b[14] = 0;
    expect_formerr(&p);

    /* compression: pointer to itself, forward, into the header, loop, truncated pointer */
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p16(&p, 0xC000 | 12);
    p16(&p, 1);
    p16(&p, 1);
    expect_formerr(&p);
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p16(&p, 0xC000 | 20);
    p16(&p, 1);
    p16(&p, 1);
    pname(&p, "fwd");
    expect_formerr(&p);
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p16(&p, 0xC000 | 4);
    p16(&p, 1);
    p16(&p, 1);
    expect_formerr(&p);
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p8(&p, 1);
    p8(&p, 'a');
    p16(&p, 0xC000 | 12); /* "a" then back to "a": a loop */
    p16(&p, 1);
    p16(&p, 1);
    expect_formerr(&p);
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 0);
    p8(&p, 1);
    p8(&p, 'a');
    p8(&p, 0xC0);
    expect_formerr(&p);
}

static void test_parse_compression_and_trailing(void **state)
{
    (void)state;
    pkt_t p;
    agent_dns_query_t q;
    /* a backwards pointer chain in the additional section (OPT owner via pointer to a root
     * byte is unusual, so use a non-OPT record whose name points into the question) */
    phdr(&p, 0xBEEF, 0, 1, 0, 0, 2);
    pname(&p, "a.b.artemis");
    p16(&p, 1);
    p16(&p, 1);
    p8(&p, 1);
    p8(&p, 'x');
    p16(&p, 0xC000 | 14); /* -> "b.artemis" */
    p16(&p, 1);
    p16(&p, 1);
    p16(&p, 0);
    p16(&p, 0);
    p16(&p, 4);
    p16(&p, 0);
    p16(&p, 0);
    popt(&p, 2000);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_string_equal(q.qname, "a.b.artemis");
    assert_int_equal(q.udp_size, 2000);

    /* answer and authority records in a query are skipped */
    phdr(&p, 0xBEEF, 0, 1, 1, 1, 0);
    pname(&p, "a.artemis");
    p16(&p, 1);
    p16(&p, 1);
    for (int i = 0; i < 2; i++) {
        p16(&p, 0xC000 | 12);
        p16(&p, 1);
        p16(&p, 1);
        p16(&p, 0);
        p16(&p, 60);
        p16(&p, 4);
        p16(&p, 0x7F00);
        p16(&p, 1);
    }
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    p.n -= 1; /* rdata cut short */
    expect_formerr(&p);

    /* trailing garbage after the counted records is tolerated */
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    p8(&p, 0xFF);
    p8(&p, 0x00);
    p8(&p, 0x13);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_string_equal(q.qname, "a.artemis");
}

/* ---- build_response --------------------------------------------------------------------- */

static agent_dns_query_t make_q(const char *name, uint16_t type, int edns, uint16_t size)
{
    pkt_t p;
    agent_dns_query_t q;
    dig_query(&p, name, type, edns, size);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    return q;
}

static agent_dns_rr_t rr_a(const char *name, uint8_t last)
{
    agent_dns_rr_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.type = AGENT_DNS_TYPE_A;
    r.ttl = 5;
    r.addr[0] = 10;
    r.addr[3] = last;
    return r;
}

static agent_dns_rr_t rr_srv(const char *name, const char *target, uint16_t port)
{
    agent_dns_rr_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    snprintf(r.srv_target, sizeof(r.srv_target), "%s", target);
    r.type = AGENT_DNS_TYPE_SRV;
    r.ttl = 5;
    r.srv_weight = 1;
    r.srv_port = port;
    return r;
}

static agent_dns_soa_t make_soa(void)
{
    agent_dns_soa_t s;
    memset(&s, 0, sizeof(s));
    strcpy(s.zone, "artemis");
    strcpy(s.mname, "ns.artemis");
    strcpy(s.rname, "hostmaster.artemis");
    s.serial = 7;
    s.refresh = 3600;
    s.retry = 600;
    s.expire = 86400;
    s.minimum = 3;
    s.ttl = 60;
    return s;
}

static uint8_t out[70000];

static void test_build_a_aaaa_srv(void **state)
{
    (void)state;
    size_t len;
    static msg_t d;
    agent_dns_query_t q = make_q("My.Service.artemis", AGENT_DNS_TYPE_A, 0, 0);
    agent_dns_rr_t a[2] = {rr_a("my.service.artemis", 1), rr_a("my.service.artemis", 2)};
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, a, 2, NULL, 0, NULL, 512, out,
                                              sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.id, 0xBEEF);
    assert_int_equal(d.flags, AGENT_DNS_FLAG_QR | AGENT_DNS_FLAG_AA | AGENT_DNS_FLAG_RD);
    assert_int_equal(d.qd, 1);
    assert_int_equal(d.an, 2);
    assert_int_equal(d.ns, 0);
    assert_int_equal(d.ar, 0);
    assert_string_equal(d.qname, "My.Service.artemis"); /* case echoed */
    assert_int_equal(d.qtype, AGENT_DNS_TYPE_A);
    assert_int_equal(d.qclass, AGENT_DNS_CLASS_IN);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(d.rr[i].name, "My.Service.artemis"); /* points to the question */
        assert_int_equal(d.rr[i].type, AGENT_DNS_TYPE_A);
        assert_int_equal(d.rr[i].cls, AGENT_DNS_CLASS_IN);
        assert_int_equal(d.rr[i].ttl, 5);
        assert_int_equal(d.rr[i].addr[0], 10);
        assert_int_equal(d.rr[i].addr[3], i + 1);
    }

    /* AAAA, no RD in the request */
    q = make_q("v6.service.artemis", AGENT_DNS_TYPE_AAAA, 0, 0);
    q.flags = 0;
    agent_dns_rr_t six;
    memset(&six, 0, sizeof(six));
    strcpy(six.name, "v6.service.artemis");
    six.type = AGENT_DNS_TYPE_AAAA;
    six.ttl = 9;
    for (int i = 0; i < 16; i++)
        six.addr[i] = (uint8_t)(0xF0 + i);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, &six, 1, NULL, 0, NULL, 512,
                                              out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.flags, AGENT_DNS_FLAG_QR | AGENT_DNS_FLAG_AA);
    assert_int_equal(d.an, 1);
    assert_int_equal(d.rr[0].type, AGENT_DNS_TYPE_AAAA);
    assert_memory_equal(d.rr[0].addr, six.addr, 16);

    /* SRV with the targets' addresses in the additional section, EDNS */
    q = make_q("pay.svc.service.prod.zone.artemis", AGENT_DNS_TYPE_SRV, 1, 1232);
    agent_dns_rr_t srv[2] = {
        rr_srv("pay.svc.service.prod.zone.artemis", "i0.pay.svc.service.prod.zone.artemis", 80),
        rr_srv("pay.svc.service.prod.zone.artemis", "i1.pay.svc.service.prod.zone.artemis", 81)};
    agent_dns_rr_t add[2] = {rr_a("i0.pay.svc.service.prod.zone.artemis", 1),
                             rr_a("i1.pay.svc.service.prod.zone.artemis", 2)};
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, srv, 2, add, 2, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.an, 2);
    assert_int_equal(d.ns, 0);
    assert_int_equal(d.ar, 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(d.rr[i].type, AGENT_DNS_TYPE_SRV);
        assert_int_equal(d.rr[i].prio, 0);
        assert_int_equal(d.rr[i].weight, 1);
        assert_int_equal(d.rr[i].port, 80 + i);
        assert_string_equal(d.rr[i].target, add[i].name);
        assert_string_equal(d.rr[2 + i].name, add[i].name);
        assert_int_equal(d.rr[2 + i].type, AGENT_DNS_TYPE_A);
    }
    assert_int_equal(d.rr[4].type, AGENT_DNS_TYPE_OPT);
    assert_string_equal(d.rr[4].name, "");
    assert_int_equal(d.rr[4].cls, 4096);
    assert_int_equal(d.rr[4].ttl, 0);
    assert_int_equal(d.rr[4].rdlen, 0);
}

static void test_build_negative(void **state)
{
    (void)state;
    size_t len;
    static msg_t d;
    agent_dns_soa_t soa = make_soa();
    agent_dns_query_t q = make_q("nope.service.artemis", AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NXDOMAIN, NULL, 0, NULL, 0, &soa, 512,
                                              out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.flags & 0xF, AGENT_DNS_NXDOMAIN);
    assert_true(d.flags & AGENT_DNS_FLAG_AA);
    assert_int_equal(d.an, 0);
    assert_int_equal(d.ns, 1);
    assert_int_equal(d.ar, 0);
    assert_string_equal(d.rr[0].name, "artemis");
    assert_int_equal(d.rr[0].type, AGENT_DNS_TYPE_SOA);
    assert_int_equal(d.rr[0].ttl, 3); /* min(ttl, minimum) */
    assert_string_equal(d.rr[0].mname, "ns.artemis");
    assert_string_equal(d.rr[0].rname, "hostmaster.artemis");
    assert_int_equal(d.rr[0].soa[0], 7);
    assert_int_equal(d.rr[0].soa[1], 3600);
    assert_int_equal(d.rr[0].soa[2], 600);
    assert_int_equal(d.rr[0].soa[3], 86400);
    assert_int_equal(d.rr[0].soa[4], 3);

    /* NOERROR with no answers (known service, nothing up), with EDNS */
    q = make_q("idle.service.artemis", AGENT_DNS_TYPE_SRV, 1, 4096);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, NULL, 0, NULL, 0, &soa,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.flags & 0xF, AGENT_DNS_NOERROR);
    assert_int_equal(d.an, 0);
    assert_int_equal(d.ns, 1);
    assert_int_equal(d.ar, 1);
    assert_int_equal(d.rr[0].type, AGENT_DNS_TYPE_SOA);
    assert_int_equal(d.rr[1].type, AGENT_DNS_TYPE_OPT);

    /* NOERROR with answers: no SOA even when one is passed */
    agent_dns_rr_t a = rr_a("idle.service.artemis", 1);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, &a, 1, NULL, 0, &soa,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.ns, 0);

    /* REFUSED: question, no SOA */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_REFUSED, NULL, 0, NULL, 0, &soa, 512,
                                              out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.flags & 0xF, AGENT_DNS_REFUSED);
    assert_int_equal(d.qd, 1);
    assert_int_equal(d.ns, 0);

    /* FORMERR / NOTIMP: header only, opcode echoed */
    pkt_t p;
    dig_query(&p, "a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    p.b[2] |= 2 << 3;
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOTIMP);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOTIMP, NULL, 0, NULL, 0, NULL, 512,
                                              out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 12);
    decode(out, len, &d);
    assert_int_equal(d.id, 0xBEEF);
    assert_int_equal(d.flags, AGENT_DNS_FLAG_QR | (2 << 11) | AGENT_DNS_FLAG_AA |
                                  AGENT_DNS_FLAG_RD | AGENT_DNS_NOTIMP);
    assert_int_equal(d.qd + d.an + d.ns + d.ar, 0);
}

/* n A records for one name, each instance with its own SRV target. */
static agent_dns_rr_t many_a[400], many_srv[400], many_add[400];

static void fill_many(size_t n, const char *svc)
{
    for (size_t i = 0; i < n; i++) {
        char t[256];
        snprintf(t, sizeof(t), "i%zu.%s", i, svc);
        many_a[i] = rr_a(svc, (uint8_t)i);
        many_srv[i] = rr_srv(svc, t, (uint16_t)(8000 + i));
        many_add[i] = rr_a(t, (uint8_t)i);
    }
}

static void test_build_truncation(void **state)
{
    (void)state;
    size_t len;
    static msg_t d;
    const char *svc = "big.service.artemis";
    fill_many(400, svc);

    /* 40 A records: 12 + 25 + 40*16 = 677 > 512 -> TC without EDNS */
    agent_dns_query_t q = make_q(svc, AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 40, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_true(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.qd, 1);
    assert_int_equal(d.an + d.ns + d.ar, 0);
    assert_string_equal(d.qname, svc);
    /* 29 fit: 12 + 25 + 29 * 16 = 501; 30 would take 517 */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 29, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 501);
    decode(out, len, &d);
    assert_false(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 29);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 30, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    assert_true(out[2] & (AGENT_DNS_FLAG_TC >> 8));

    /* with EDNS 4096 the 40 records fit; 400 do not: TC, OPT kept */
    q = make_q(svc, AGENT_DNS_TYPE_A, 1, 4096);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 40, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_false(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 40);
    assert_int_equal(d.ar, 1);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 400, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_true(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 0);
    assert_int_equal(d.ar, 1);
    assert_int_equal(d.rr[0].type, AGENT_DNS_TYPE_OPT);

    /* over TCP (max 65535) the whole SRV set with additional records */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_srv, 100, many_add, 100,
                                              NULL, AGENT_DNS_TCP_MAX, out, sizeof(out), &len),
                     0);
    assert_true(len > 4096);
    decode(out, len, &d);
    assert_false(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 100);
    assert_int_equal(d.ar, 101);
    assert_string_equal(d.rr[99].target, "i99.big.service.artemis");
    assert_string_equal(d.rr[199].name, "i99.big.service.artemis");

    /* a buffer smaller than max_size also truncates; too small for even that -> -1 */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 40, NULL, 0, NULL,
                                              4096, out, 100, &len),
                     0);
    assert_true(out[2] & (AGENT_DNS_FLAG_TC >> 8));
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 40, NULL, 0, NULL,
                                              4096, out, 30, &len),
                     -1);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 40, NULL, 0, NULL, 11,
                                              out, sizeof(out), &len),
                     -1);
}

/* The cap on UDP answers to non-local sources (issue 14): 250 A records are 4,048 bytes with
 * EDNS0 4096, x67 a 60-byte dig query. */
static void test_udp_limit_remote(void **state)
{
    (void)state;
    static msg_t d;
    size_t len;
    const char *svc = "big.service.artemis";
    fill_many(250, svc);
    pkt_t p;
    dig_query(&p, svc, AGENT_DNS_TYPE_A, 1, 4096);
    assert_int_equal(p.n, 60); /* 12 + 21 + 4 + OPT 11 + cookie 12 */
    agent_dns_query_t q;
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);

    /* loopback: the client's EDNS0 size, the whole answer */
    size_t local = agent_dns_udp_limit(&q, p.n, 1);
    assert_int_equal(local, 4096);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 250, NULL, 0, NULL,
                                              local, out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 4048);
    decode(out, len, &d);
    assert_false(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 250);

    /* another host: 512 (3 x 60 is less), TC, only the question and the OPT */
    size_t remote = agent_dns_udp_limit(&q, p.n, 0);
    assert_int_equal(remote, 512);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 250, NULL, 0, NULL,
                                              remote, out, sizeof(out), &len),
                     0);
    assert_true(len <= remote);
    assert_int_equal(len, 48); /* 12 + 25 + OPT 11: smaller than the query */
    decode(out, len, &d);
    assert_true(d.flags & AGENT_DNS_FLAG_TC);
    assert_int_equal(d.an, 0);
    assert_int_equal(d.ar, 1);
    /* what fits still goes: 29 records in 512 bytes, no TC */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 29, NULL, 0, NULL,
                                              remote, out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 512);
    assert_false(out[2] & (AGENT_DNS_FLAG_TC >> 8));

    /* larger queries may get 3x their size, never more than the client asked for */
    assert_int_equal(agent_dns_udp_limit(&q, 170, 0), 512);
    assert_int_equal(agent_dns_udp_limit(&q, 171, 0), 513);
    assert_int_equal(agent_dns_udp_limit(&q, 1000, 0), 3000);
    assert_int_equal(agent_dns_udp_limit(&q, 2000, 0), 4096);
    assert_int_equal(agent_dns_udp_limit(&q, (size_t)-1, 0), 4096);
    q.udp_size = 1232;
    assert_int_equal(agent_dns_udp_limit(&q, 1000, 0), 1232);
    assert_int_equal(agent_dns_udp_limit(&q, 60, 1), 1232);

    /* without EDNS0: 512 either way */
    dig_query(&p, svc, AGENT_DNS_TYPE_A, 0, 0);
    assert_int_equal(agent_dns_parse_query(p.b, p.n, &q), AGENT_DNS_NOERROR);
    assert_int_equal(agent_dns_udp_limit(&q, p.n, 1), 512);
    assert_int_equal(agent_dns_udp_limit(&q, p.n, 0), 512);
    assert_int_equal(agent_dns_udp_limit(&q, 400, 0), 512);
}

static void test_build_compression(void **state)
{
    (void)state;
    size_t len;
    static msg_t d;
    const char *svc = "payments.service.prod.zone.artemis";
    fill_many(20, svc);
    agent_dns_query_t q = make_q(svc, AGENT_DNS_TYPE_SRV, 1, 4096);
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_srv, 20, many_add, 20,
                                              NULL, q.udp_size, out, sizeof(out), &len),
                     0);
    decode(out, len, &d);
    assert_int_equal(d.an, 20);
    /* the size without compression: every name written out in full */
    size_t svc_wire = strlen(svc) + 2, plain = 12 + svc_wire + 4 + 11;
    for (int i = 0; i < 20; i++) {
        size_t t_wire = strlen(many_srv[i].srv_target) + 2;
        plain += svc_wire + 10 + 6 + t_wire; /* SRV */
        plain += t_wire + 10 + 4;            /* A */
    }
    /* each SRV owner is a 2-byte pointer, each A owner too */
    size_t expect = plain - 20 * (svc_wire - 2) - 20 * 0;
    for (int i = 0; i < 20; i++)
        expect -= strlen(many_srv[i].srv_target) + 2 - 2;
    assert_int_equal(len, expect);
    assert_true(len < plain * 2 / 3);

    /* A records: owner = pointer to the question */
    assert_int_equal(agent_dns_build_response(&q, AGENT_DNS_NOERROR, many_a, 20, NULL, 0, NULL,
                                              q.udp_size, out, sizeof(out), &len),
                     0);
    assert_int_equal(len, 12 + svc_wire + 4 + 20 * 16 + 11);
}

static void test_build_invalid(void **state)
{
    (void)state;
    size_t len;
    agent_dns_query_t q = make_q("a.artemis", AGENT_DNS_TYPE_A, 0, 0);
    agent_dns_rr_t r = rr_a("a..artemis", 1);
    assert_int_equal(
        agent_dns_build_response(&q, 0, &r, 1, NULL, 0, NULL, 512, out, sizeof(out), &len), -1);
    r = rr_a(".a", 1);
    assert_int_equal(
        agent_dns_build_response(&q, 0, &r, 1, NULL, 0, NULL, 512, out, sizeof(out), &len), -1);
    memset(r.name, 'x', 64);
    r.name[64] = '\0';
    assert_int_equal(
        agent_dns_build_response(&q, 0, &r, 1, NULL, 0, NULL, 512, out, sizeof(out), &len), -1);
    r = rr_a("a.artemis", 1);
    r.type = AGENT_DNS_TYPE_CNAME;
    assert_int_equal(
        agent_dns_build_response(&q, 0, &r, 1, NULL, 0, NULL, 512, out, sizeof(out), &len), -1);
    /* a trailing dot is tolerated */
    r = rr_a("a.artemis.", 1);
    static msg_t d;
    assert_int_equal(
        agent_dns_build_response(&q, 0, &r, 1, NULL, 0, NULL, 512, out, sizeof(out), &len), 0);
    decode(out, len, &d);
    assert_string_equal(d.rr[0].name, "a.artemis");
    assert_int_equal(len, 12 + 11 + 4 + 16);
}

/* ---- parse_name ------------------------------------------------------------------------- */

static void expect_name(const char *qname, const char *domain, const char *svc, const char *zone,
                        const char *group)
{
    char s[256], z[64], g[64];
    int rc = agent_dns_parse_name(qname, domain, s, sizeof(s), z, sizeof(z), g, sizeof(g));
    if (svc == NULL) {
        assert_int_equal(rc, 0);
        return;
    }
    assert_int_equal(rc, 1);
    assert_string_equal(s, svc);
    assert_string_equal(z, zone);
    assert_string_equal(g, group);
}

static void test_parse_name(void **state)
{
    (void)state;
    expect_name("pay.service.artemis", "artemis", "pay", "", "");
    expect_name("pay.service.z1.zone.artemis", "artemis", "pay", "z1", "");
    expect_name("pay.service.g1.group.artemis", "artemis", "pay", "", "g1");
    expect_name("pay.service.z1.zone.g1.group.artemis", "artemis", "pay", "z1", "g1");
    expect_name("pay.service.z1.zone.g1.group.svc.artemis", "svc.artemis", "pay", "z1", "g1");
    expect_name("PAY.Service.Z1.ZONE.artemis", "Artemis", "pay", "z1", "");
    /* dotted service ids, even ones that look like qualifiers */
    expect_name("com.example.pay.service.artemis", "artemis", "com.example.pay", "", "");
    expect_name("a.service.b.service.artemis", "artemis", "a.service.b", "", "");
    expect_name("a.service.b.zone.service.z.zone.artemis", "artemis", "a.service.b.zone", "z", "");
    expect_name("zone.service.zone.zone.group.group.artemis", "artemis", "zone", "zone", "group");
    /* wrong domain, missing ".service", bad shapes */
    expect_name("pay.service.other", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.xartemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.artemis", "svc.artemis", NULL, NULL, NULL);
    expect_name("artemis", "artemis", NULL, NULL, NULL);
    expect_name("", "artemis", NULL, NULL, NULL);
    expect_name("pay.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.z1.zone.artemis", "artemis", NULL, NULL, NULL);
    expect_name("service.artemis", "artemis", NULL, NULL, NULL);
    expect_name(".service.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.zone.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.group.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.g.group.z.zone.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service..zone.artemis", "artemis", NULL, NULL, NULL);
    expect_name("a..b.service.artemis", "artemis", NULL, NULL, NULL);
    expect_name("pay.service.x.artemis", "artemis", NULL, NULL, NULL);
    /* the root domain */
    expect_name("pay.service", "", "pay", "", "");
    /* buffers too small */
    char s[4], z[4], g[4];
    assert_int_equal(agent_dns_parse_name("pay.service.artemis", "artemis", s, 4, z, 4, g, 4), 1);
    assert_int_equal(agent_dns_parse_name("pays.service.artemis", "artemis", s, 4, z, 4, g, 4), 0);
    assert_int_equal(
        agent_dns_parse_name("pay.service.zone.zone.artemis", "artemis", s, 4, z, 4, g, 4), 0);

    assert_int_equal(agent_dns_name_in_domain("artemis", "artemis"), 1);
    assert_int_equal(agent_dns_name_in_domain("x.ARTEMIS", "artemis"), 1);
    assert_int_equal(agent_dns_name_in_domain("xartemis", "artemis"), 0);
    assert_int_equal(agent_dns_name_in_domain("artemis.com", "artemis"), 0);
    assert_int_equal(agent_dns_name_in_domain("", "artemis"), 0);
    assert_int_equal(agent_dns_name_in_domain("anything", ""), 1);
}

static void test_tcp_framing(void **state)
{
    (void)state;
    uint8_t buf[8] = {0, 3, 'a', 'b', 'c', 0, 0, 9};
    const uint8_t *m = NULL;
    size_t ml = 99;
    assert_int_equal(agent_dns_tcp_frame(buf, 0, &m, &ml), 0);
    assert_int_equal(agent_dns_tcp_frame(buf, 1, &m, &ml), 0);
    assert_int_equal(agent_dns_tcp_frame(buf, 4, &m, &ml), 0);
    assert_int_equal(agent_dns_tcp_frame(buf, 5, &m, &ml), 5);
    assert_ptr_equal(m, buf + 2);
    assert_int_equal(ml, 3);
    assert_int_equal(agent_dns_tcp_frame(buf + 6, 2, &m, &ml), 0); /* wants 9 more */
    assert_int_equal(agent_dns_tcp_frame(buf + 5, 2, &m, &ml), 2);
    assert_int_equal(ml, 0);
    uint8_t pre[2];
    assert_int_equal(agent_dns_tcp_prefix(65535, pre), 0);
    assert_int_equal(pre[0], 0xFF);
    assert_int_equal(pre[1], 0xFF);
    assert_int_equal(agent_dns_tcp_prefix(300, pre), 0);
    assert_int_equal(pre[0], 1);
    assert_int_equal(pre[1], 44);
    assert_int_equal(agent_dns_tcp_prefix(65536, pre), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_dig_query),
        cmocka_unit_test(test_parse_case_folding),
        cmocka_unit_test(test_parse_drop_and_notimp),
        cmocka_unit_test(test_parse_formerr),
        cmocka_unit_test(test_parse_compression_and_trailing),
        cmocka_unit_test(test_build_a_aaaa_srv),
        cmocka_unit_test(test_build_negative),
        cmocka_unit_test(test_build_truncation),
        cmocka_unit_test(test_udp_limit_remote),
        cmocka_unit_test(test_build_compression),
        cmocka_unit_test(test_build_invalid),
        cmocka_unit_test(test_parse_name),
        cmocka_unit_test(test_tcp_framing),
    };
    return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
