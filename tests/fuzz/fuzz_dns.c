/*
 * libFuzzer target for the sidecar's DNS codec (sidecar/dns.c). The input is parsed as a query
 * message. When that succeeds, responses are built (A / AAAA / SRV answers and additional
 * records derived from the query name, a negative answer with SOA, at the query's UDP size and
 * at the TCP maximum) and checked: the header matches, the size limit holds, every name and
 * record in the output is well-formed with backwards pointers only, and the output with QR
 * cleared parses again as the same question. FORMERR / NOTIMP answers must be bare headers.
 * The same records also go through the pre-encoded path (sidecar/dns_cache.c: a template
 * encoded once, copied and patched per query) and the copy must be byte for byte what the
 * per-query encoder writes for the records in the order the copy drew (a differential check),
 * at every size limit, with and without pairing SRV answers with their additional records.
 * The input is also split into a name and a domain for agent_dns_parse_name, whose parts must
 * reassemble into the name, and fed to the TCP framing helper.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint16_t g16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skip a name in the output, checking labels and that pointers go backwards. */
static size_t walk_name(const uint8_t *m, size_t len, size_t off)
{
    size_t after = 0, wire = 0;
    int hops = 0;
    for (;;) {
        check(off < len);
        uint8_t c = m[off];
        if ((c & 0xC0) == 0xC0) {
            check(off + 1 < len);
            size_t t = ((size_t)(c & 0x3F) << 8) | m[off + 1];
            check(t >= 12 && t < off);
            if (!after)
                after = off + 2;
            off = t;
            check(++hops < 128);
            continue;
        }
        check((c & 0xC0) == 0);
        wire += (size_t)c + 1;
        check(wire <= 255);
        if (c == 0)
            return after ? after : off + 1;
        check(off + 1 + c <= len);
        off += 1 + (size_t)c;
    }
}

static void check_response(const agent_dns_query_t *q, int rcode, const uint8_t *m, size_t len,
                           size_t max)
{
    check(len >= 12 && len <= max);
    check(g16(m) == q->id);
    uint16_t fl = g16(m + 2);
    check(fl & AGENT_DNS_FLAG_QR);
    check((fl & 0xF) == (rcode & 0xF));
    check((fl & AGENT_DNS_FLAG_RD) == (q->flags & AGENT_DNS_FLAG_RD));
    size_t qd = g16(m + 4), rrs = (size_t)g16(m + 6) + g16(m + 8) + g16(m + 10);
    if (fl & AGENT_DNS_FLAG_TC)
        check(g16(m + 6) == 0 && g16(m + 8) == 0 && g16(m + 10) == (q->edns ? 1 : 0));
    size_t off = 12;
    for (size_t i = 0; i < qd; i++) {
        off = walk_name(m, len, off);
        check(off + 4 <= len);
        off += 4;
    }
    for (size_t i = 0; i < rrs; i++) {
        off = walk_name(m, len, off);
        check(off + 10 <= len);
        size_t rdlen = g16(m + off + 8);
        check(off + 10 + rdlen <= len);
        off += 10 + rdlen;
    }
    check(off == len);

    if (qd == 1) {
        /* The question must read back as the same query. */
        static uint8_t copy[AGENT_DNS_TCP_MAX];
        memcpy(copy, m, len);
        copy[2] &= (uint8_t) ~(AGENT_DNS_FLAG_QR >> 8);
        agent_dns_query_t back;
        check(agent_dns_parse_query(copy, len, &back) == AGENT_DNS_NOERROR);
        check(strcmp(back.qname, q->qname) == 0);
        check(back.qtype == q->qtype && back.qclass == q->qclass);
        check(back.edns == q->edns);
    } else {
        check(rcode == AGENT_DNS_FORMERR || rcode == AGENT_DNS_NOTIMP);
    }
}

static uint8_t out[AGENT_DNS_TCP_MAX];
static uint8_t ref[AGENT_DNS_TCP_MAX];

#define MAX_RR 40

/*
 * The pre-encoded answer against the per-query encoder: a template of (an, ad, paired) written
 * for q must equal agent_dns_build_response of the records in the template's drawn order, at
 * each of the size limits, with the same return code.
 */
static void tmpl_check(const agent_dns_query_t *q, int rcode, const agent_dns_rr_t *an, size_t nan,
                       const agent_dns_rr_t *ad, size_t nad, const uint8_t *paired,
                       const agent_dns_soa_t *soa, const size_t (*limits)[2], size_t nlimits,
                       uint32_t seed)
{
    agent_dns_tmpl_t *t = agent_dns_tmpl_new(q, rcode, an, nan, ad, nad, paired, soa);
    if (!t) {
        /* Only an answer the encoder cannot write whole in one message has no template. */
        agent_dns_layout_t lay = {0};
        size_t len = 0;
        int rc = agent_dns_build_layout(q, rcode, an, nan, ad, nad, soa, AGENT_DNS_TCP_MAX, ref,
                                        sizeof(ref), &len, &lay);
        check(rc != 0 || lay.truncated);
        return;
    }
    check(agent_dns_tmpl_records(t) == nan && agent_dns_tmpl_rcode(t) == rcode);
    check(agent_dns_tmpl_movable(t) || nan > 1);
    size_t adidx[MAX_RR];
    for (size_t i = 0, j = 0; i < nan; i++)
        adidx[i] = paired && paired[i] ? j++ : (size_t)-1;
    for (size_t l = 0; l < nlimits; l++) {
        uint32_t rng = seed | 1, perm[MAX_RR];
        for (size_t i = 0; i < nan; i++)
            perm[i] = (uint32_t)i;
        uint32_t serial = seed ^ (uint32_t)l;
        size_t len = 0, rlen = 0, max = limits[l][0], cap = limits[l][1];
        int tc = 0;
        int rc = agent_dns_tmpl_write(t, q, serial, agent_dns_tmpl_movable(t) ? &rng : NULL, perm,
                                      max, out, cap, &len, &tc);
        /* The reference: the records in the order perm says, each SRV answer's own address
         * record moving with it. */
        static agent_dns_rr_t an2[MAX_RR], ad2[MAX_RR];
        size_t nad2 = 0;
        for (size_t k = 0; k < nan; k++) {
            check(perm[k] < nan);
            an2[k] = an[perm[k]];
            if (adidx[perm[k]] != (size_t)-1)
                ad2[nad2++] = ad[adidx[perm[k]]];
        }
        if (!paired) {
            for (size_t k = 0; k < nad; k++)
                ad2[nad2++] = ad[k];
        }
        check(nad2 == nad);
        agent_dns_soa_t soa2;
        if (soa) {
            soa2 = *soa;
            soa2.serial = serial;
        }
        int rrc = agent_dns_build_response(q, rcode, an2, nan, ad2, nad, soa ? &soa2 : NULL, max,
                                           ref, cap, &rlen);
        check(rc == rrc);
        if (rc == 0) {
            check(len == rlen && memcmp(out, ref, len) == 0);
            check(tc == ((out[2] & (AGENT_DNS_FLAG_TC >> 8)) != 0));
        }
    }
    agent_dns_tmpl_free(t);
}

static void build_and_check(const agent_dns_query_t *q, int rcode, size_t n, size_t max,
                            size_t outcap)
{
    static agent_dns_rr_t ans[MAX_RR], add[MAX_RR], add_paired[MAX_RR];
    uint8_t paired[MAX_RR];
    size_t n_paired = 0;
    agent_dns_soa_t soa;
    memset(&soa, 0, sizeof(soa));
    strcpy(soa.zone, "artemis");
    strcpy(soa.mname, "ns.artemis");
    strcpy(soa.rname, "hostmaster.artemis");
    soa.minimum = 5;
    soa.ttl = 60;
    for (size_t i = 0; i < n; i++) {
        agent_dns_rr_t *a = &ans[i], *b = &add[i];
        memset(a, 0, sizeof(*a));
        memset(b, 0, sizeof(*b));
        snprintf(a->name, sizeof(a->name), "%s", q->qname);
        static const uint16_t types[3] = {AGENT_DNS_TYPE_A, AGENT_DNS_TYPE_AAAA,
                                          AGENT_DNS_TYPE_SRV};
        a->type = types[(q->id + i) % 3];
        a->ttl = (uint32_t)i;
        a->addr[0] = (uint8_t)i;
        a->srv_port = (uint16_t)i;
        /* a target below the query name when it fits, else a short one */
        char t[300];
        snprintf(t, sizeof(t), "i%zu%s%s", i, q->qname[0] ? "." : "", q->qname);
        snprintf(a->srv_target, sizeof(a->srv_target), "%s",
                 strlen(t) <= 253 && strlen(t) - strlen(q->qname) <= 63 + 1 ? t : "x.artemis");
        snprintf(b->name, sizeof(b->name), "%s", a->srv_target);
        b->type = AGENT_DNS_TYPE_A;
        /* the sidecar's SRV answers: each target's address follows in the additional section */
        paired[i] = a->type == AGENT_DNS_TYPE_SRV && (i + q->id) % 5 != 0;
        if (paired[i])
            add_paired[n_paired++] = *b;
    }
    /* (size limit, output buffer): the query's UDP size, TCP, 512, this call's pair, and a
     * small buffer */
    const size_t limits[5][2] = {{q->udp_size, sizeof(out)},
                                 {AGENT_DNS_TCP_MAX, sizeof(out)},
                                 {AGENT_DNS_UDP_MIN, sizeof(out)},
                                 {max, outcap},
                                 {AGENT_DNS_TCP_MAX, 12 + (size_t)(q->flags % 64) * 8}};
    tmpl_check(q, rcode, ans, n, add, n, NULL, &soa, limits, 5, q->id + (uint32_t)n);
    tmpl_check(q, rcode, ans, n, add_paired, n_paired, paired, &soa, limits, 5,
               q->flags + (uint32_t)n);
    tmpl_check(q, rcode, ans, n, NULL, 0, NULL, &soa, limits, 5, (uint32_t)n * 7919u);
    size_t len = 0;
    int rc = agent_dns_build_response(q, rcode, ans, n, add, n, &soa, max, out, outcap, &len);
    if (rc != 0) {
        check(max < 12 + 4 + 255 + 11 || outcap < 12 + 4 + 255 + 11);
        return;
    }
    check(len <= outcap);
    check_response(q, rcode, out, len, max);
}

static void fuzz_query(const uint8_t *data, size_t size)
{
    agent_dns_query_t q;
    int rc = agent_dns_parse_query(data, size, &q);
    check(rc == -1 || rc == AGENT_DNS_NOERROR || rc == AGENT_DNS_FORMERR || rc == AGENT_DNS_NOTIMP);
    if (rc == -1)
        return;
    check(q.udp_size >= 512 && q.udp_size <= 4096);
    check(q.edns || q.udp_size == 512);
    if (rc != AGENT_DNS_NOERROR) {
        size_t len = 0;
        check(agent_dns_build_response(&q, rc, NULL, 0, NULL, 0, NULL, 512, out, sizeof(out),
                                       &len) == 0);
        check(len == 12 + (q.edns ? 11u : 0u));
        check_response(&q, rc, out, len, 512);
        return;
    }
    size_t ql = strlen(q.qname);
    check(ql <= 253 && strlen(q.qname_raw) == ql);
    size_t n = size % 41;
    build_and_check(&q, AGENT_DNS_NOERROR, n, q.udp_size, sizeof(out));
    build_and_check(&q, AGENT_DNS_NOERROR, n, AGENT_DNS_TCP_MAX, sizeof(out));
    build_and_check(&q, AGENT_DNS_NXDOMAIN, 0, q.udp_size, sizeof(out));
    build_and_check(&q, AGENT_DNS_NOERROR, n, q.udp_size, 12 + (size_t)(data[0] % 64) * 8);
    /* A remote source never gets more than its own UDP size, nor more than max(512, 3 x the
     * query); a local one gets its UDP size. */
    size_t remote = agent_dns_udp_limit(&q, size, 0);
    check(agent_dns_udp_limit(&q, size, 1) == q.udp_size);
    check(remote >= 512 && remote <= q.udp_size);
    check(remote == 512 || remote <= 3 * size);
    build_and_check(&q, AGENT_DNS_NOERROR, n, remote, sizeof(out));
}

static void fuzz_name(const uint8_t *data, size_t size)
{
    static const char *const domains[] = {"artemis", "svc.artemis", "", "service", "zone.group"};
    char qname[600];
    if (size > sizeof(qname) - 1)
        size = sizeof(qname) - 1;
    memcpy(qname, data, size);
    qname[size] = '\0';
    const char *domain = domains[size % 5];
    char s[256], z[64], g[64];
    size_t cap = 1 + (size % 7 == 0 ? 3 : 255);
    if (agent_dns_parse_name(qname, domain, s, cap, z, sizeof(z), g, sizeof(g)) != 1)
        return;
    check(agent_dns_name_in_domain(qname, domain));
    check(s[0] && strlen(s) < cap);
    char again[700];
    snprintf(again, sizeof(again), "%s.service%s%s%s%s%s%s", s, z[0] ? "." : "", z,
             z[0] ? ".zone" : "", g[0] ? "." : "", g, g[0] ? ".group" : "");
    char full[800];
    snprintf(full, sizeof(full), "%s%s%s", again, domain[0] ? "." : "", domain);
    check(strcasecmp(full, qname) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_query(data, size);
    fuzz_name(data, size);
    const uint8_t *m = NULL;
    size_t ml = 0, used = agent_dns_tcp_frame(data, size, &m, &ml);
    check(used == 0 || (used == ml + 2 && used <= size && m == data + 2));
    return 0;
}
