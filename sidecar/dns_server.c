/*
 * The sidecar's DNS endpoint: UDP and TCP listeners on dns.listen, on the agent's event base.
 * Answers come from libartemis's cached views (agent.c tracks and watches every service that
 * is asked for); the wire format is the pure codec in dns.c.
 *
 * Names: <serviceId>.service[.<zone>.zone][.<group>.group].<domain>, and the SRV targets
 * <instance>.<serviceId>.service.<domain> (one instance's address). A/AAAA answer the up
 * instances (shuffled per answer), SRV answers "0 <weight> <port> <target>" with the targets'
 * addresses in the additional section. Unknown service: NXDOMAIN + SOA; known service with
 * nothing up: NOERROR/no-data + SOA (minimum = dns.ttl). A UDP answer that does not fit sets
 * TC (EDNS0 sizes honoured for loopback sources; others are capped by agent_dns_udp_limit, so
 * a spoofed source cannot turn the sidecar into an amplifier); TCP carries up to 64 KiB.
 * TCP: 2-byte framing, many queries per connection (answers may come out of order when one
 * waits for a first lookup, RFC 7766 §6.2.1.1), an idle timeout, a connection cap and
 * output back-pressure.
 *
 * Answers about a service are encoded once per version of its view (dns_cache.h: a template
 * per name and type, dropped when the SDK reports a change) and copied per query with the
 * query's ID, flags, question and OPT patched in and the records shuffled; UDP queries are
 * read and answered in batches (recvmmsg / sendmmsg).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "agent.h"
#include "list.h"
#include "dns.h"
#include "dns_cache.h"

#define TCP_MAX_CONNS    512
#define TCP_IDLE_MS      10000
#define TCP_OUT_HIGH     (256 * 1024) /* stop reading a connection whose answers pile up */
#define UDP_BATCH        32           /* datagrams per recvmmsg / sendmmsg */
#define UDP_ROUNDS       2            /* recvmmsg calls per readiness event, at most */
#define MAX_ANSWER_INSTS 4096
/* Pre-encoded answers: a (name, type) pair per entry, so 4096 services with a few names and
 * types each; 8 MiB holds a hundred answers of a thousand records (the largest answer, 64 KiB
 * and its offsets, is well under the eighth of it that dns_cache.h keeps at most). */
#define CACHE_ENTRIES 16384
#define CACHE_BYTES   (8u << 20)

typedef struct tcp_conn {
    struct agent_dns_server *d;
    struct bufferevent *bev;
    int paused;
    struct tcp_conn *next, *prev;
} tcp_conn_t;

struct agent_dns_server {
    agent_t *a;
    evutil_socket_t udp_fd;
    struct event *ev_udp;
    struct evconnlistener *tcp;
    tcp_conn_t *conns;
    size_t n_conns;
    agent_dns_cache_t *cache;        /* NULL (out of memory at start): encode every answer */
    struct udp_batch *udp;           /* buffers of one recvmmsg / sendmmsg round */
    uint32_t perm[MAX_ANSWER_INSTS]; /* the order of one answer's records */
    uint8_t out[AGENT_DNS_TCP_MAX + 2];
};

/* ---- answering ----------------------------------------------------------------------------- */

static uint32_t rng_state = 0x9e3779b9u; /* shuffles answers (agent_dns_rand) */

static void sanitise_label(const char *id, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = id; *p && o + 1 < cap && o < 63; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            c = '-';
        out[o++] = c;
    }
    if (o == 0)
        out[o++] = 'i';
    out[o] = 0;
}

static int inst_addr(const artemis_instance_t *in, int *family, uint8_t addr[16])
{
    const char *ip = artemis_instance_get(in, ARTEMIS_FIELD_IP);
    if (!ip)
        return -1;
    if (inet_pton(AF_INET, ip, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

static int inst_up(const artemis_instance_t *in)
{
    const char *st = artemis_instance_get(in, ARTEMIS_FIELD_STATUS);
    return st && !strcasecmp(st, "up");
}

static int field_is(const artemis_instance_t *in, artemis_field_t f, const char *want)
{
    if (!*want)
        return 1;
    const char *v = artemis_instance_get(in, f);
    return v && !strcasecmp(v, want);
}

static void make_soa(agent_t *a, agent_dns_soa_t *soa)
{
    memset(soa, 0, sizeof(*soa));
    snprintf(soa->zone, sizeof(soa->zone), "%s", a->cfg->dns_domain);
    snprintf(soa->mname, sizeof(soa->mname), "ns.%s", a->cfg->dns_domain);
    snprintf(soa->rname, sizeof(soa->rname), "hostmaster.%s", a->cfg->dns_domain);
    soa->serial = (uint32_t)(agent_wall_ms() / 1000);
    soa->refresh = 3600;
    soa->retry = 600;
    soa->expire = 86400;
    soa->minimum = a->cfg->dns_ttl;
    soa->ttl = a->cfg->dns_ttl;
}

static agent_qtype_slot_t type_slot(uint16_t t)
{
    switch (t) {
    case AGENT_DNS_TYPE_A:
        return AGENT_QTYPE_A;
    case AGENT_DNS_TYPE_AAAA:
        return AGENT_QTYPE_AAAA;
    case AGENT_DNS_TYPE_SRV:
        return AGENT_QTYPE_SRV;
    case AGENT_DNS_TYPE_SOA:
        return AGENT_QTYPE_SOA;
    case AGENT_DNS_TYPE_ANY:
        return AGENT_QTYPE_ANY;
    }
    return AGENT_QTYPE_OTHER;
}

/* One query being answered: its question and where the answer goes. */
typedef struct answer {
    agent_t *a;
    agent_dns_query_t q;
    size_t max; /* the largest answer the transport carries (UDP size or TCP limit) */
    int capped; /* max is below the client's own UDP size: the source is not local */
    /* The cached answer cannot be reordered by copying (dns_cache.h): encode this one per
     * query, as before pre-encoding, rather than encode a template again. */
    int per_query;
    uint8_t *out;
    size_t outcap;
} answer_t;

/* Count an answer of len bytes in the metrics; returns len. */
static int count_answer(const answer_t *x, int rcode, size_t nan, size_t len)
{
    agent_t *a = x->a;
    /* The sidecar sends only NOERROR..REFUSED; anything else would be counted with NOTIMP
     * rather than outside the array. */
    int slot =
        rcode >= AGENT_DNS_NOERROR && rcode < AGENT_DNS_RCODE_SLOTS ? rcode : AGENT_DNS_NOTIMP;
    a->m.dns_rcodes[slot]++;
    if (rcode == AGENT_DNS_NOERROR && nan == 0)
        a->m.dns_nodata++;
    /* out[2] is the high byte of the flags word */
    if (len >= 4 && (x->out[2] & (AGENT_DNS_FLAG_TC >> 8))) {
        a->m.dns_truncated++;
        if (x->capped)
            a->m.dns_truncated_remote++;
    }
    return (int)len;
}

/* Build the response and count it; returns its length (0: nothing to send). */
static int finish(const answer_t *x, int rcode, const agent_dns_rr_t *an, size_t nan,
                  const agent_dns_rr_t *ad, size_t nad, int with_soa)
{
    agent_dns_soa_t soa;
    size_t len = 0;
    if (with_soa)
        make_soa(x->a, &soa);
    if (agent_dns_build_response(&x->q, rcode, an, nan, ad, nad, with_soa ? &soa : NULL, x->max,
                                 x->out, x->outcap, &len) != 0) {
        rcode = AGENT_DNS_SERVFAIL;
        if (agent_dns_build_response(&x->q, rcode, NULL, 0, NULL, 0, NULL, x->max, x->out,
                                     x->outcap, &len))
            return 0;
    }
    return count_answer(x, rcode, nan, len);
}

/* Send a pre-encoded answer: a copy with this query's ID, flags, question, OPT and SOA
 * serial, its records in a fresh random order, or TC when it does not fit. */
static int send_tmpl(const answer_t *x, const agent_dns_tmpl_t *t)
{
    agent_dns_server_t *d = x->a->dns;
    size_t n = agent_dns_tmpl_records(t), len = 0;
    uint32_t serial = agent_dns_tmpl_has_soa(t) ? (uint32_t)(agent_wall_ms() / 1000) : 0;
    int rcode = agent_dns_tmpl_rcode(t);
    if (agent_dns_tmpl_write(t, &x->q, serial, n <= MAX_ANSWER_INSTS ? &rng_state : NULL, d->perm,
                             x->max, x->out, x->outcap, &len, NULL) != 0)
        return finish(x, AGENT_DNS_SERVFAIL, NULL, 0, NULL, 0, 0);
    return count_answer(x, rcode, n, len);
}

/*
 * Answer from a template encoded now from these records (in the view's order), and keep it
 * in the cache on s's list until s changes. Returns 1 and *len, or 0 when the caller must
 * encode per query: no cache, an answer too large for one message, or records that cannot be
 * reordered by copying (the template is then kept as a marker that says so).
 */
static int answer_tmpl(const answer_t *x, agent_svc_t *s, int rcode, const agent_dns_rr_t *an,
                       size_t nan, const agent_dns_rr_t *ad, size_t nad, const uint8_t *paired,
                       int with_soa, int *len)
{
    agent_dns_server_t *d = x->a->dns;
    if (!d || !d->cache || x->per_query)
        return 0;
    agent_dns_soa_t soa;
    if (with_soa)
        make_soa(x->a, &soa);
    agent_dns_tmpl_t *t =
        agent_dns_tmpl_new(&x->q, rcode, an, nan, ad, nad, paired, with_soa ? &soa : NULL);
    if (!t)
        return 0;
    int ok = nan <= 1 || agent_dns_tmpl_movable(t);
    if (ok)
        *len = send_tmpl(x, t);
    if (agent_dns_cache_put(d->cache, x->q.qname, x->q.qtype, t, &s->dns_answers) != 0)
        agent_dns_tmpl_free(t);
    return ok;
}

/* A negative answer for s (NXDOMAIN, or NOERROR without records), SOA included. */
static int answer_negative(const answer_t *x, agent_svc_t *s, int rcode)
{
    int len;
    if (answer_tmpl(x, s, rcode, NULL, 0, NULL, 0, NULL, 1, &len))
        return len;
    return finish(x, rcode, NULL, 0, NULL, 0, 1);
}

void agent_dns_service_changed(agent_t *a, agent_svc_t *s)
{
    if (a->dns)
        agent_dns_cache_drop_owner(a->dns->cache, &s->dns_answers);
}

/* An answer without records (SOA in the authority section when with_soa). */
static int reply(const answer_t *x, int rcode, int with_soa)
{
    return finish(x, rcode, NULL, 0, NULL, 0, with_soa);
}

/* Fill one address record for an instance, if the query type wants its family. */
static int addr_rr(const artemis_instance_t *in, uint16_t qtype, const char *name, uint32_t ttl,
                   agent_dns_rr_t *rr)
{
    int fam;
    uint8_t addr[16];
    if (inst_addr(in, &fam, addr) != 0)
        return 0;
    uint16_t t = fam == AF_INET ? AGENT_DNS_TYPE_A : AGENT_DNS_TYPE_AAAA;
    if (qtype != AGENT_DNS_TYPE_ANY && qtype != t)
        return 0;
    memset(rr, 0, offsetof(agent_dns_rr_t, srv_target));
    rr->srv_target[0] = 0;
    snprintf(rr->name, sizeof(rr->name), "%s", name);
    rr->type = t;
    rr->ttl = ttl;
    memcpy(rr->addr, addr, fam == AF_INET ? 4 : 16);
    return 1;
}

static uint16_t inst_weight(const artemis_instance_t *in)
{
    const char *w = artemis_instance_metadata(in, "weight");
    if (w && *w) {
        char *end;
        long v = strtol(w, &end, 10);
        if (!*end && v >= 0 && v <= 65535)
            return (uint16_t)v;
    }
    return 1;
}

/* The DNS label of an instance: what SRV targets name it by. */
static void instance_label(const artemis_instance_t *in, char *out, size_t cap)
{
    const char *iid = artemis_instance_get(in, ARTEMIS_FIELD_INSTANCE_ID);
    sanitise_label(iid ? iid : "", out, cap);
}

/*
 * service may be an SRV target, <instance>.<serviceId> (the part of the name before
 * ".service.<domain>"): if it names an up instance of a known service, answer with that
 * instance's address, set *len and return 1. 0: not such a target.
 */
static int answer_srv_target(const answer_t *x, const char *service, int *len)
{
    const char *dot = strchr(service, '.');
    agent_svc_t *owner = dot ? agent_svc_find(x->a, dot + 1) : NULL;
    char want[64], lab[64];
    size_t ll = dot ? (size_t)(dot - service) : 0;
    if (!owner || !owner->svc || ll >= sizeof(want))
        return 0;
    memcpy(want, service, ll);
    want[ll] = 0;
    size_t n = artemis_service_instance_count(owner->svc);
    for (size_t i = 0; i < n; i++) {
        const artemis_instance_t *in = artemis_service_instance(owner->svc, i);
        instance_label(in, lab, sizeof(lab));
        if (strcmp(lab, want) || !inst_up(in))
            continue;
        agent_dns_rr_t rr;
        int got = addr_rr(in, x->q.qtype, x->q.qname, x->a->cfg->dns_ttl, &rr);
        *len = finish(x, AGENT_DNS_NOERROR, &rr, (size_t)got, NULL, 0, !got);
        return 1;
    }
    return 0;
}

/* Start tracking a service asked for the first time, under the id as the client spelled it
 * (the query's own case: same length, only the case differs). NULL on OOM or a full table. */
static agent_svc_t *track_as_spelled(const answer_t *x, const char *service)
{
    char spelled[256];
    size_t sl = strlen(service);
    if (x->q.qname_raw[0] && strlen(x->q.qname_raw) == strlen(x->q.qname) && sl < sizeof(spelled)) {
        memcpy(spelled, x->q.qname_raw, sl);
        spelled[sl] = 0;
    } else {
        memcpy(spelled, service, sl + 1);
    }
    return agent_svc_track(x->a, spelled);
}

/* Fisher-Yates: every answer encoded per query lists the instances in a fresh random order
 * (a template's records are shuffled by agent_dns_tmpl_write, the same way). */
static void shuffle(size_t *idx, size_t m)
{
    for (size_t i = m; i > 1; i--) {
        size_t j = agent_dns_rand(&rng_state) % i;
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* The indexes (into svc) of the up instances that pass the qualifiers, in the view's order;
 * returns how many (at most MAX_ANSWER_INSTS). */
static size_t pick_instances(const artemis_service_t *svc, size_t n, const char *zone,
                             const char *group, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < n && m < MAX_ANSWER_INSTS; i++) {
        const artemis_instance_t *in = artemis_service_instance(svc, i);
        if (in && inst_up(in) && field_is(in, ARTEMIS_FIELD_ZONE_ID, zone) &&
            field_is(in, ARTEMIS_FIELD_GROUP_ID, group))
            idx[m++] = i;
    }
    return m;
}

/* Fill rr with the SRV record of an instance ("0 <weight> <port> <target>") and append the
 * target's address record to ad[*nad]. Returns 1, or 0 when the instance has no usable port or
 * its target cannot be a name. */
static size_t srv_rr(const answer_t *x, const agent_svc_t *s, const artemis_instance_t *in,
                     agent_dns_rr_t *rr, agent_dns_rr_t *ad, size_t *nad)
{
    const char *domain = x->a->cfg->dns_domain;
    uint32_t ttl = x->a->cfg->dns_ttl;
    int port = artemis_instance_port(in);
    char lab[64], target[600];
    if (port <= 0 || port > 65535)
        return 0;
    instance_label(in, lab, sizeof(lab));
    int tl = snprintf(target, sizeof(target), "%s.%s.service.%s", lab, s->key, domain);
    if (tl <= 0 || (size_t)tl >= sizeof(rr->srv_target) || tl > 253)
        return 0;
    memset(rr, 0, sizeof(*rr));
    snprintf(rr->name, sizeof(rr->name), "%s", x->q.qname);
    rr->type = AGENT_DNS_TYPE_SRV;
    rr->ttl = ttl;
    rr->srv_priority = 0;
    rr->srv_weight = inst_weight(in);
    rr->srv_port = (uint16_t)port;
    memcpy(rr->srv_target, target, (size_t)tl + 1);
    *nad += (size_t)addr_rr(in, AGENT_DNS_TYPE_ANY, target, ttl, &ad[*nad]);
    return 1;
}

/* The records of the instances idx[0..m) of s into an (returns how many) and ad (*nad);
 * paired[i]: answer i's target address is the next additional record. an, ad and paired hold
 * m entries each. */
static size_t collect_records(const answer_t *x, const agent_svc_t *s, const size_t *idx, size_t m,
                              agent_dns_rr_t *an, agent_dns_rr_t *ad, uint8_t *paired, size_t *nad)
{
    size_t nan = 0;
    *nad = 0;
    for (size_t k = 0; k < m; k++) {
        const artemis_instance_t *in = artemis_service_instance(s->svc, idx[k]);
        size_t had = *nad;
        paired[nan] = 0;
        if (x->q.qtype == AGENT_DNS_TYPE_SRV) {
            if (srv_rr(x, s, in, &an[nan], ad, nad))
                paired[nan++] = *nad > had;
        } else {
            nan += (size_t)addr_rr(in, x->q.qtype, x->q.qname, x->a->cfg->dns_ttl, &an[nan]);
        }
    }
    return nan;
}

/* Answer with the records of the instances idx[0..m) of s: from a template encoded from them
 * in the view's order (each answer shuffles it), or else encoded per query in a random order
 * of the instances. an, ad and paired hold m entries each. */
static int answer_records(const answer_t *x, agent_svc_t *s, size_t *idx, size_t m,
                          agent_dns_rr_t *an, agent_dns_rr_t *ad, uint8_t *paired)
{
    size_t nad = 0, nan = collect_records(x, s, idx, m, an, ad, paired, &nad);
    int len;
    if (answer_tmpl(x, s, AGENT_DNS_NOERROR, an, nan, ad, nad, paired, nan == 0, &len))
        return len;
    shuffle(idx, m);
    nan = collect_records(x, s, idx, m, an, ad, paired, &nad);
    return finish(x, AGENT_DNS_NOERROR, an, nan, ad, nad, nan == 0);
}

/* Answer an A/AAAA/SRV/ANY query for the n instances of s, filtered by zone and group. The
 * buffers live on the stack unless the service is large. */
static int answer_instances(const answer_t *x, agent_svc_t *s, size_t n, const char *zone,
                            const char *group)
{
    size_t stack_idx[64] = {0}; /* zeroed for GCC's -Wmaybe-uninitialized: m <= n entries are set */
    size_t *idx = n <= 64 ? stack_idx : malloc(n * sizeof(*idx));
    if (!idx)
        return reply(x, AGENT_DNS_SERVFAIL, 0);
    size_t m = pick_instances(s->svc, n, zone, group, idx);
    agent_dns_rr_t stack_an[16], stack_ad[16];
    uint8_t stack_paired[16];
    int big = m > 16;
    agent_dns_rr_t *an = big ? malloc(m * sizeof(*an)) : stack_an;
    agent_dns_rr_t *ad = big ? malloc(m * sizeof(*ad)) : stack_ad;
    uint8_t *paired = big ? malloc(m) : stack_paired;
    int result = an && ad && paired ? answer_records(x, s, idx, m, an, ad, paired)
                                    : reply(x, AGENT_DNS_SERVFAIL, 0);
    if (big) {
        free(an);
        free(ad);
        free(paired);
    }
    if (idx != stack_idx)
        free(idx);
    return result;
}

/* Answer for a tracked service s. Without a view yet: park the query (*wait_svc, -1) when
 * wait_svc is given, else SERVFAIL. */
static int answer_service(const answer_t *x, agent_svc_t *s, const char *zone, const char *group,
                          agent_svc_t **wait_svc)
{
    if (!s->have_view) {
        if (wait_svc) {
            *wait_svc = s;
            return -1;
        }
        return reply(x, AGENT_DNS_SERVFAIL, 0);
    }
    size_t n = s->svc ? artemis_service_instance_count(s->svc) : 0;
    if (n == 0 && !s->known)
        return answer_negative(x, s, AGENT_DNS_NXDOMAIN);
    uint16_t t = x->q.qtype;
    if (t != AGENT_DNS_TYPE_A && t != AGENT_DNS_TYPE_AAAA && t != AGENT_DNS_TYPE_SRV &&
        t != AGENT_DNS_TYPE_ANY)
        return answer_negative(x, s, AGENT_DNS_NOERROR); /* no records of that type */
    return answer_instances(x, s, n, zone, group);
}

/* Answer a well-formed query by its name: REFUSED outside the domain, the apex, SRV targets,
 * then services (tracked from their first query on). */
static int answer_name(const answer_t *x, agent_svc_t **wait_svc)
{
    agent_t *a = x->a;
    const char *domain = a->cfg->dns_domain;
    if ((x->q.qclass != AGENT_DNS_CLASS_IN && x->q.qclass != AGENT_DNS_CLASS_ANY) ||
        !agent_dns_name_in_domain(x->q.qname, domain))
        return reply(x, AGENT_DNS_REFUSED, 0);
    if (!strcasecmp(x->q.qname, domain)) /* the zone apex: exists, no records of these types */
        return reply(x, AGENT_DNS_NOERROR, 1);

    char service[256], zone[256], group[256];
    if (!agent_dns_parse_name(x->q.qname, domain, service, sizeof(service), zone, sizeof(zone),
                              group, sizeof(group)))
        return reply(x, AGENT_DNS_NXDOMAIN, 1);
    agent_svc_t *s = agent_svc_find(a, service);
    int len;
    if (!s && !*zone && !*group && answer_srv_target(x, service, &len))
        return len;
    if (!s)
        s = track_as_spelled(x, service);
    if (!s)
        return reply(x, AGENT_DNS_SERVFAIL, 0);
    return answer_service(x, s, zone, group, wait_svc);
}

int agent_dns_answer(agent_t *a, const uint8_t *pkt, size_t len, int tcp, int local, int may_wait,
                     uint8_t *out, size_t outcap, agent_svc_t **wait_svc)
{
    answer_t x = {.a = a, .out = out, .outcap = outcap};
    int rc = agent_dns_parse_query(pkt, len, &x.q);
    if (rc < 0) {
        a->m.dns_dropped++;
        return 0;
    }
    x.max = tcp ? AGENT_DNS_TCP_MAX : agent_dns_udp_limit(&x.q, len, local);
    x.capped = !tcp && x.max < agent_dns_udp_limit(&x.q, len, 1);
    if (rc != AGENT_DNS_NOERROR)
        return reply(&x, rc, 0);
    if (may_wait) /* a parked query was counted when it arrived */
        a->m.dns_queries[type_slot(x.q.qtype)]++;
    /* A name answered before, and its service unchanged since (a change drops its answers:
     * agent_dns_service_changed), gets the same answer: the checks answer_name would make
     * (domain, class, name, service, view) all came out the same way then. */
    if (a->dns && a->dns->cache &&
        (x.q.qclass == AGENT_DNS_CLASS_IN || x.q.qclass == AGENT_DNS_CLASS_ANY)) {
        const agent_dns_tmpl_t *t = agent_dns_cache_get(a->dns->cache, x.q.qname, x.q.qtype);
        if (t && (agent_dns_tmpl_records(t) <= 1 || agent_dns_tmpl_movable(t)))
            return send_tmpl(&x, t);
        x.per_query = t != NULL;
    }
    return answer_name(&x, may_wait ? wait_svc : NULL);
}

/* ---- UDP ----------------------------------------------------------------------------------- */

typedef struct udp_wait {
    agent_dns_server_t *d;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    int local;
    size_t len;
    uint8_t pkt[];
} udp_wait_t;

static void udp_send(agent_dns_server_t *d, const struct sockaddr_storage *peer, socklen_t plen,
                     int n)
{
    if (n > 0)
        (void)sendto(d->udp_fd, d->out, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)peer,
                     plen);
}

static void udp_wait_done(void *arg, int cancelled)
{
    udp_wait_t *w = arg;
    if (!cancelled) {
        agent_dns_server_t *d = w->d;
        int n =
            agent_dns_answer(d->a, w->pkt, w->len, 0, w->local, 0, d->out, sizeof(d->out), NULL);
        udp_send(d, &w->peer, w->peerlen, n);
    }
    free(w);
}

/*
 * One round of UDP: up to UDP_BATCH queries taken with one recvmmsg, answered, and the answers
 * sent with one sendmmsg. Two system calls per round instead of two per query (and no final
 * recvfrom that only says EAGAIN): at these rates the kernel's share of a query is most of
 * its cost (docs/performance.md, DNS).
 */
typedef struct udp_batch {
    struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
    struct sockaddr_storage peer[UDP_BATCH];
    uint8_t pkt[UDP_BATCH][AGENT_DNS_UDP_MAX + 1]; /* as recvfrom's buffer was */
    uint8_t ans[UDP_BATCH][AGENT_DNS_UDP_MAX];     /* a UDP answer is at most 4096 bytes */
} udp_batch_t;

/* Send out[0..n); a message the kernel refuses (sendmmsg stops there) is dropped, as a failed
 * sendto was, and the rest still go. */
static void udp_send_batch(agent_dns_server_t *d, struct mmsghdr *out, unsigned n)
{
    unsigned done = 0;
    while (done < n) {
        int r = sendmmsg(d->udp_fd, out + done, n - done, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        done += r > 0 ? (unsigned)r : 1;
    }
}

/* Answer a query that just arrived into *ans; returns its length (0: nothing to send). A
 * query waiting for a service's first view is parked with its own copy and answered later. */
static int udp_answer(agent_dns_server_t *d, const uint8_t *pkt, size_t len,
                      const struct sockaddr_storage *peer, socklen_t plen, uint8_t *ans)
{
    agent_svc_t *ws = NULL;
    int local = agent_addr_is_loopback(peer);
    int n = agent_dns_answer(d->a, pkt, len, 0, local, 1, ans, AGENT_DNS_UDP_MAX, &ws);
    if (n != -1)
        return n;
    udp_wait_t *w = malloc(sizeof(*w) + len);
    if (w) {
        w->d = d;
        w->peer = *peer;
        w->peerlen = plen;
        w->local = local;
        w->len = len;
        memcpy(w->pkt, pkt, len);
        if (agent_wait(d->a, ws, d, udp_wait_done, w) == 0)
            return 0;
        free(w);
    }
    return agent_dns_answer(d->a, pkt, len, 0, local, 0, ans, AGENT_DNS_UDP_MAX, NULL);
}

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
    agent_dns_server_t *d = arg;
    udp_batch_t *b = d->udp;
    (void)what;
    for (int round = 0; round < UDP_ROUNDS; round++) {
        for (unsigned i = 0; i < UDP_BATCH; i++) {
            b->in_iov[i] = (struct iovec){b->pkt[i], sizeof(b->pkt[i])};
            b->in[i].msg_hdr = (struct msghdr){.msg_name = &b->peer[i],
                                               .msg_namelen = sizeof(b->peer[i]),
                                               .msg_iov = &b->in_iov[i],
                                               .msg_iovlen = 1};
        }
        int got = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0)
            return;
        unsigned nout = 0;
        for (int i = 0; i < got; i++) {
            socklen_t plen = b->in[i].msg_hdr.msg_namelen;
            int n = udp_answer(d, b->pkt[i], b->in[i].msg_len, &b->peer[i], plen, b->ans[i]);
            if (n <= 0)
                continue;
            b->out_iov[nout] = (struct iovec){b->ans[i], (size_t)n};
            b->out[nout].msg_hdr = (struct msghdr){.msg_name = &b->peer[i],
                                                   .msg_namelen = plen,
                                                   .msg_iov = &b->out_iov[nout],
                                                   .msg_iovlen = 1};
            nout++;
        }
        udp_send_batch(d, b->out, nout);
        if (got < UDP_BATCH) /* the queue is empty: no recvmmsg only to hear EAGAIN */
            return;
    }
}

/* ---- TCP ----------------------------------------------------------------------------------- */

static void conn_close(tcp_conn_t *c)
{
    agent_dns_server_t *d = c->d;
    agent_wait_cancel_owner(d->a, c);
    ARTEMISI_DLIST_UNLINK(d->conns, c);
    d->n_conns--;
    bufferevent_free(c->bev);
    free(c);
}

static void conn_write(tcp_conn_t *c, int n)
{
    uint8_t pre[2];
    if (n <= 0 || agent_dns_tcp_prefix((size_t)n, pre) != 0)
        return;
    struct evbuffer *o = bufferevent_get_output(c->bev);
    evbuffer_add(o, pre, 2);
    evbuffer_add(o, c->d->out, (size_t)n);
}

typedef struct tcp_wait {
    tcp_conn_t *c;
    size_t len;
    uint8_t pkt[];
} tcp_wait_t;

static void tcp_wait_done(void *arg, int cancelled)
{
    tcp_wait_t *w = arg;
    if (!cancelled) {
        agent_dns_server_t *d = w->c->d;
        int n = agent_dns_answer(d->a, w->pkt, w->len, 1, 1, 0, d->out, sizeof(d->out), NULL);
        conn_write(w->c, n);
    }
    free(w);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    tcp_conn_t *c = arg;
    agent_dns_server_t *d = c->d;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) > TCP_OUT_HIGH) {
            bufferevent_disable(bev, EV_READ); /* resumed by conn_drained */
            c->paused = 1;
            return;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail < 2)
            return;
        uint8_t hdr[2];
        evbuffer_copyout(in, hdr, 2);
        size_t need = 2 + (((size_t)hdr[0] << 8) | hdr[1]);
        if (avail < need)
            return;
        const uint8_t *buf = evbuffer_pullup(in, (ev_ssize_t)need);
        const uint8_t *msg = NULL;
        size_t mlen = 0;
        if (!buf || agent_dns_tcp_frame(buf, need, &msg, &mlen) != need) {
            conn_close(c);
            return;
        }
        if (mlen > 0) {
            agent_svc_t *ws = NULL;
            int n = agent_dns_answer(d->a, msg, mlen, 1, 1, 1, d->out, sizeof(d->out), &ws);
            if (n == -1) {
                tcp_wait_t *w = malloc(sizeof(*w) + mlen);
                int parked = 0;
                if (w) {
                    w->c = c;
                    w->len = mlen;
                    memcpy(w->pkt, msg, mlen);
                    parked = agent_wait(d->a, ws, c, tcp_wait_done, w) == 0;
                    if (!parked)
                        free(w);
                }
                n = parked
                        ? 0
                        : agent_dns_answer(d->a, msg, mlen, 1, 1, 0, d->out, sizeof(d->out), NULL);
            }
            conn_write(c, n);
        }
        evbuffer_drain(in, need);
    }
}

static void conn_drained(struct bufferevent *bev, void *arg)
{
    tcp_conn_t *c = arg;
    if (c->paused) {
        c->paused = 0;
        bufferevent_enable(bev, EV_READ);
        conn_read(bev, c);
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_close(arg);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen,
                      void *arg)
{
    agent_dns_server_t *d = arg;
    (void)l;
    (void)sa;
    (void)slen;
    if (d->n_conns >= TCP_MAX_CONNS) {
        close(fd);
        return;
    }
    tcp_conn_t *c = calloc(1, sizeof(*c));
    struct bufferevent *bev =
        c ? bufferevent_socket_new(d->a->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!bev) {
        free(c);
        close(fd);
        return;
    }
    c->d = d;
    c->bev = bev;
    ARTEMISI_DLIST_PUSH(d->conns, c);
    d->n_conns++;
    d->a->m.dns_tcp_conns++;
    struct timeval idle = {TCP_IDLE_MS / 1000, (TCP_IDLE_MS % 1000) * 1000};
    bufferevent_set_timeouts(bev, &idle, &idle);
    bufferevent_setcb(bev, conn_read, conn_drained, conn_event, c);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

agent_dns_server_t *agent_dns_server_new(agent_t *a, const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sl = 0;
    if (agent_parse_hostport(listen, &ss, &sl) != 0) {
        snprintf(err, errlen, "dns.listen: bad address '%s'", listen);
        return NULL;
    }
    agent_dns_server_t *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "dns.listen: out of memory");
        return NULL;
    }
    d->a = a;
    /* The cache's hash seed: names come from the network (a fixed hash would let a client
     * pile them into one chain); a clock-based one if getrandom cannot answer at once. */
    uint64_t seed[2];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        seed[0] = (uint64_t)agent_wall_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
        seed[1] = (uint64_t)agent_mono_ms() ^ (uint64_t)(uintptr_t)d;
    }
    d->cache = agent_dns_cache_new(CACHE_ENTRIES, CACHE_BYTES, seed[0], seed[1]);
    d->udp = malloc(sizeof(*d->udp));
    if (!d->udp) {
        snprintf(err, errlen, "dns.listen: out of memory");
        agent_dns_cache_free(d->cache);
        free(d);
        return NULL;
    }
    rng_state ^= (uint32_t)agent_wall_ms() ^ (uint32_t)getpid();
    if (!rng_state)
        rng_state = 1;
    d->udp_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (d->udp_fd >= 0)
        setsockopt(d->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (d->udp_fd < 0 || bind(d->udp_fd, (struct sockaddr *)&ss, (socklen_t)sl) != 0) {
        snprintf(err, errlen, "dns.listen: cannot bind UDP %s: %s", listen, strerror(errno));
        if (d->udp_fd >= 0)
            close(d->udp_fd);
        agent_dns_cache_free(d->cache);
        free(d->udp);
        free(d);
        return NULL;
    }
    /* Port 0 (tests): TCP takes the port UDP got. */
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(d->udp_fd, (struct sockaddr *)&bound, &blen) == 0)
        ss = bound;
    d->ev_udp = event_new(a->base, d->udp_fd, EV_READ | EV_PERSIST, udp_cb, d);
    d->tcp = evconnlistener_new_bind(
        a->base, accept_cb, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        128, (struct sockaddr *)&ss, sl);
    if (!d->ev_udp || event_add(d->ev_udp, NULL) != 0 || !d->tcp) {
        snprintf(err, errlen, "dns.listen: cannot listen on TCP %s: %s", listen, strerror(errno));
        a->dns = d;
        agent_dns_server_free(d);
        a->dns = NULL;
        return NULL;
    }
    return d;
}

void agent_dns_server_free(agent_dns_server_t *d)
{
    if (!d)
        return;
    while (d->conns)
        conn_close(d->conns);
    agent_wait_cancel_owner(d->a, d); /* parked UDP queries */
    if (d->tcp)
        evconnlistener_free(d->tcp);
    if (d->ev_udp)
        event_free(d->ev_udp);
    if (d->udp_fd >= 0)
        close(d->udp_fd);
    agent_dns_cache_free(d->cache);
    free(d->udp);
    free(d);
}
