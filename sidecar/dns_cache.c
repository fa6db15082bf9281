/*
 * Pre-encoded DNS answers (dns_cache.h). The encoding itself is dns.c's: a template is the
 * message agent_dns_build_layout writes for a canonical query, cut after the question, plus
 * the offsets the per-query copy patches. Copying a few hundred bytes and patching a dozen
 * replaces the per-query encoding (names, compression, records: ~13,000 instructions per query
 * in bench/dns.py's profile, docs/performance.md).
 */
#include "dns_cache.h"

#include <stdlib.h>
#include <string.h>

#include "dict.h"

#define OPT_LEN   11 /* root owner, type, class, TTL, RDLENGTH 0 */
#define PTR_LIMIT 0x3FFF
/* Reordering SRV answers needs their targets checked pairwise; above this many records the
 * answer keeps the per-query encoder (it is TC over UDP anyway). */
#define MOVABLE_TARGETS_MAX 256

/* One answer record and its paired additional record, as offsets into the body. */
typedef struct unit {
    uint32_t an_off, an_len;
    uint32_t target;         /* offset of the SRV target inside the answer record; 0: none */
    uint32_t ad_off, ad_len; /* ad_len 0: no paired additional record */
} unit_t;

struct agent_dns_tmpl {
    uint16_t qtype;
    uint8_t rcode;
    uint8_t movable;
    uint16_t an, ns, ar; /* section counts of the whole answer, without the OPT */
    uint32_t qlen;       /* the question section: name + type + class */
    uint32_t body_len;   /* everything after the question */
    uint32_t soa_serial; /* offset of the SOA serial in the body; UINT32_MAX: no SOA */
    uint32_t an_start, an_end, ad_start, ad_end; /* the sections' bounds in the body */
    size_t nunits;                               /* = an */
    size_t bytes;
    unit_t *units; /* movable with more than one record, else NULL */
    uint8_t *question;
    uint8_t *body;
};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static int lower_eq(uint8_t a, uint8_t b)
{
    if (a >= 'A' && a <= 'Z')
        a = (uint8_t)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z')
        b = (uint8_t)(b - 'A' + 'a');
    return a == b;
}

/* 1 if the dotted name s is k, or ends with "." k (ASCII case-insensitive). */
static int name_suffix(const char *s, const char *k)
{
    size_t n = strlen(s), m = strlen(k);
    if (m > n || (m < n && s[n - m - 1] != '.'))
        return 0;
    for (size_t i = 0; i < m; i++) {
        if (!lower_eq((uint8_t)s[n - m + i], (uint8_t)k[i]))
            return 0;
    }
    return 1;
}

/*
 * Whether the records of a message the builder wrote can be put in another order by copying
 * them and patching the additional records' owner pointers, with the result byte-identical to
 * what the builder writes for that order. It can when nothing in a record depends on where
 * the others sit: every answer's owner is a pointer into the question (which never moves),
 * SRV targets are written whole (RFC 2782) and every one that an additional record names is
 * pointed to by that record and by nothing else, and no compression suffix was left out.
 */
static int check_movable(const uint8_t *m, const agent_dns_layout_t *lay, const agent_dns_rr_t *an,
                         size_t nan, size_t nad, const uint8_t *paired)
{
    if (nan <= 1)
        return 1;
    if (lay->comp_skipped || get16(m + 8) != 0)
        return 0;
    size_t paired_n = 0;
    int any_target = 0;
    for (size_t i = 0; i < nan; i++) {
        const uint8_t *o = m + lay->an[i];
        if ((o[0] & 0xC0) != 0xC0 || (get16(o) & PTR_LIMIT) >= lay->question_end)
            return 0;
        if (lay->target[i])
            any_target = 1;
        if (!paired || !paired[i])
            continue;
        if (nan > MOVABLE_TARGETS_MAX)
            return 0;
        const uint8_t *a = m + lay->ad[paired_n++];
        if (!lay->target[i] || get16(a) != (0xC000 | lay->target[i]))
            return 0;
        /* The builder points to the first remembered suffix equal to the name: that stays
         * this target only if the target is no other target's suffix. */
        for (size_t k = 0; k < nan; k++) {
            if (k != i && an[k].type == AGENT_DNS_TYPE_SRV &&
                name_suffix(an[k].srv_target, an[i].srv_target))
                return 0;
        }
    }
    if (paired_n != nad)
        return 0;
    /* Targets remembered past 0x3FFF could not be pointed to; in any order they lie before
     * the end of the answers. */
    return !any_target || lay->an[nan] <= PTR_LIMIT;
}

agent_dns_tmpl_t *agent_dns_tmpl_new(const agent_dns_query_t *q, int rcode,
                                     const agent_dns_rr_t *an, size_t nan, const agent_dns_rr_t *ad,
                                     size_t nad, const uint8_t *paired, const agent_dns_soa_t *soa)
{
    if (q == NULL || rcode == AGENT_DNS_FORMERR || rcode == AGENT_DNS_NOTIMP || rcode < 0 ||
        rcode > 15 || nan >= 0xFFFF || nad >= 0xFFFF)
        return NULL;
    size_t npaired = 0;
    for (size_t i = 0; paired && i < nan; i++)
        npaired += paired[i] ? 1 : 0;
    if (paired && npaired != nad)
        return NULL;

    /* The canonical query: what varies per query is patched in by agent_dns_tmpl_write. */
    agent_dns_query_t *cq = calloc(1, sizeof(*cq));
    uint8_t *buf = malloc(AGENT_DNS_TCP_MAX);
    uint32_t *offs = malloc((2 * nan + nad + 2) * sizeof(*offs));
    agent_dns_tmpl_t *t = NULL;
    if (!cq || !buf || !offs)
        goto out;
    memcpy(cq->qname, q->qname, sizeof(cq->qname));
    cq->qname[sizeof(cq->qname) - 1] = '\0';
    cq->qtype = q->qtype;
    cq->qclass = AGENT_DNS_CLASS_IN;
    cq->udp_size = AGENT_DNS_UDP_MIN;
    agent_dns_layout_t lay = {.an = offs, .target = offs + nan + 1, .ad = offs + 2 * nan + 1};
    size_t len = 0;
    if (agent_dns_build_layout(cq, rcode, an, nan, ad, nad, soa, AGENT_DNS_TCP_MAX, buf,
                               AGENT_DNS_TCP_MAX, &len, &lay) != 0 ||
        lay.truncated || lay.question_end <= AGENT_DNS_HEADER_LEN)
        goto out;

    int movable = check_movable(buf, &lay, an, nan, nad, paired);
    size_t nunits = movable && nan > 1 ? nan : 0;
    size_t qlen = lay.question_end - AGENT_DNS_HEADER_LEN, body_len = len - lay.question_end;
    size_t bytes = sizeof(*t) + nunits * sizeof(unit_t) + qlen + body_len;
    t = malloc(bytes);
    if (!t)
        goto out;
    t->qtype = q->qtype;
    t->rcode = (uint8_t)rcode;
    t->movable = (uint8_t)movable;
    t->an = get16(buf + 6);
    t->ns = get16(buf + 8);
    t->ar = get16(buf + 10);
    t->qlen = (uint32_t)qlen;
    t->body_len = (uint32_t)body_len;
    t->soa_serial = lay.soa_serial ? lay.soa_serial - lay.question_end : UINT32_MAX;
    t->an_start = lay.an[0] - lay.question_end;
    t->an_end = lay.an[nan] - lay.question_end;
    t->ad_start = lay.ad[0] - lay.question_end;
    t->ad_end = lay.ad[nad] - lay.question_end;
    t->nunits = nan;
    t->bytes = bytes;
    t->units = nunits ? (unit_t *)(t + 1) : NULL;
    t->question = (uint8_t *)(t + 1) + nunits * sizeof(unit_t);
    t->body = t->question + qlen;
    memcpy(t->question, buf + AGENT_DNS_HEADER_LEN, qlen);
    memcpy(t->body, buf + lay.question_end, body_len);
    for (size_t i = 0, j = 0; i < nunits; i++) {
        unit_t *u = &t->units[i];
        u->an_off = lay.an[i] - lay.question_end;
        u->an_len = lay.an[i + 1] - lay.an[i];
        u->target = lay.target[i] ? lay.target[i] - lay.an[i] : 0;
        u->ad_off = u->ad_len = 0;
        if (paired && paired[i]) {
            u->ad_off = lay.ad[j] - lay.question_end;
            u->ad_len = lay.ad[j + 1] - lay.ad[j];
            j++;
        }
    }
out:
    free(cq);
    free(buf);
    free(offs);
    return t;
}

void agent_dns_tmpl_free(agent_dns_tmpl_t *t)
{
    free(t);
}

size_t agent_dns_tmpl_records(const agent_dns_tmpl_t *t)
{
    return t->nunits;
}

int agent_dns_tmpl_rcode(const agent_dns_tmpl_t *t)
{
    return t->rcode;
}

int agent_dns_tmpl_movable(const agent_dns_tmpl_t *t)
{
    return t->movable;
}

int agent_dns_tmpl_has_soa(const agent_dns_tmpl_t *t)
{
    return t->soa_serial != UINT32_MAX;
}

size_t agent_dns_tmpl_bytes(const agent_dns_tmpl_t *t)
{
    return t->bytes;
}

uint32_t agent_dns_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

void agent_dns_shuffle(uint32_t *perm, size_t n, uint32_t *state)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = agent_dns_rand(state) % i;
        uint32_t x = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = x;
    }
}

/* The answer records in the order perm gives, then what lies between them and the
 * additional records, then the paired additional records in the same order with their owner
 * pointers moved to where their targets now are. */
static uint8_t *write_shuffled(const agent_dns_tmpl_t *t, const uint32_t *perm, uint8_t *p,
                               size_t base)
{
    const uint8_t *b = t->body;
    memcpy(p, b, t->an_start);
    uint8_t *ans = p + t->an_start;
    p = ans;
    for (size_t k = 0; k < t->nunits; k++) {
        const unit_t *u = &t->units[perm[k]];
        memcpy(p, b + u->an_off, u->an_len);
        p += u->an_len;
    }
    memcpy(p, b + t->an_end, t->ad_start - t->an_end);
    p += t->ad_start - t->an_end;
    size_t at = base + t->an_start; /* message offset of the current answer record */
    for (size_t k = 0; k < t->nunits; k++) {
        const unit_t *u = &t->units[perm[k]];
        if (u->ad_len) {
            memcpy(p, b + u->ad_off, u->ad_len);
            if (u->target)
                put16(p, (uint32_t)(0xC000 | (at + u->target)));
            p += u->ad_len;
        }
        at += u->an_len;
    }
    memcpy(p, b + t->ad_end, t->body_len - t->ad_end);
    return p + (t->body_len - t->ad_end);
}

int agent_dns_tmpl_write(const agent_dns_tmpl_t *t, const agent_dns_query_t *q, uint32_t serial,
                         uint32_t *rng, uint32_t *perm, size_t max_size, uint8_t *out,
                         size_t outcap, size_t *outlen, int *truncated)
{
    size_t ql = strlen(q->qname);
    size_t wire = ql ? ql + 2 : 1;
    if (q->qtype != t->qtype || wire + 4 != t->qlen)
        return -1;
    size_t cap = max_size < outcap ? max_size : outcap;
    if (cap > AGENT_DNS_TCP_MAX)
        cap = AGENT_DNS_TCP_MAX;
    size_t opt = q->edns ? OPT_LEN : 0;
    size_t head = AGENT_DNS_HEADER_LEN + t->qlen;
    int tc = head + t->body_len + opt > cap;
    if (tc && head + opt > cap)
        return -1;

    uint16_t flags = (uint16_t)(AGENT_DNS_FLAG_QR | (q->flags & 0x7800) | AGENT_DNS_FLAG_AA |
                                (q->flags & AGENT_DNS_FLAG_RD) | (t->rcode & 0xF));
    if (tc)
        flags |= AGENT_DNS_FLAG_TC;
    put16(out, q->id);
    put16(out + 2, flags);
    put16(out + 4, 1);
    put16(out + 6, tc ? 0 : t->an);
    put16(out + 8, tc ? 0 : t->ns);
    put16(out + 10, (uint32_t)(tc ? 0 : t->ar) + (q->edns ? 1 : 0));

    /* The question as sent: the labels' bytes in the query's case (a resolver using 0x20
     * randomisation checks them), its class; dots in the dotted name are length bytes. */
    uint8_t *p = out + AGENT_DNS_HEADER_LEN;
    memcpy(p, t->question, t->qlen);
    const char *raw = q->qname_raw[0] ? q->qname_raw : q->qname;
    for (size_t i = 0; i < ql && raw[i]; i++) {
        if (raw[i] != '.')
            p[1 + i] = (uint8_t)raw[i];
    }
    put16(p + t->qlen - 2, q->qclass);
    p += t->qlen;

    if (!tc) {
        if (rng && t->units) {
            agent_dns_shuffle(perm, t->nunits, rng);
            p = write_shuffled(t, perm, p, head);
        } else {
            memcpy(p, t->body, t->body_len);
            if (t->soa_serial != UINT32_MAX) {
                uint8_t *s = p + t->soa_serial;
                s[0] = (uint8_t)(serial >> 24);
                s[1] = (uint8_t)(serial >> 16);
                s[2] = (uint8_t)(serial >> 8);
                s[3] = (uint8_t)serial;
            }
            p += t->body_len;
            if (perm) {
                for (size_t i = 0; i < t->nunits; i++)
                    perm[i] = (uint32_t)i;
            }
        }
    }
    if (opt) {
        static const uint8_t opt_rr[OPT_LEN] = {
            0, 0, AGENT_DNS_TYPE_OPT, AGENT_DNS_UDP_MAX >> 8, AGENT_DNS_UDP_MAX & 0xFF, 0, 0, 0, 0,
            0, 0};
        memcpy(p, opt_rr, OPT_LEN);
        p += OPT_LEN;
    }
    *outlen = (size_t)(p - out);
    if (truncated)
        *truncated = tc;
    return 0;
}

/* ---- the cache ------------------------------------------------------------------------------ */

typedef struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *newer, *older; /* recency list */
    void *own_next;              /* next entry of the same owner */
    void **own_pprev;            /* the pointer that points to this entry */
    agent_dns_tmpl_t *t;
    uint64_t hash;
    size_t bytes;
    uint16_t qtype;
    size_t nlen;
    char name[];
} entry_t;

struct agent_dns_cache {
    entry_t **buckets;
    size_t mask;
    entry_t *newest, *oldest;
    size_t count, bytes, max_entries, max_bytes;
    uint64_t k0, k1;
};

agent_dns_cache_t *agent_dns_cache_new(size_t max_entries, size_t max_bytes, uint64_t k0,
                                       uint64_t k1)
{
    if (max_entries == 0)
        return NULL;
    agent_dns_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t n = 16;
    while (n < max_entries && n < ((size_t)1 << 30))
        n <<= 1;
    c->buckets = calloc(n, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->k0 = k0;
    c->k1 = k1;
    return c;
}

static uint64_t key_hash(const agent_dns_cache_t *c, const char *name, size_t nlen, uint16_t qtype)
{
    uint64_t h = artemisi_siphash(name, nlen, c->k0, c->k1 ^ qtype);
    return h ^ (h >> 29);
}

static void remove_entry(agent_dns_cache_t *c, entry_t *e)
{
    entry_t **pp = &c->buckets[e->hash & c->mask];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->own_pprev) {
        *e->own_pprev = e->own_next;
        if (e->own_next)
            ((entry_t *)e->own_next)->own_pprev = e->own_pprev;
    }
    c->count--;
    c->bytes -= e->bytes;
    agent_dns_tmpl_free(e->t);
    free(e);
}

void agent_dns_cache_free(agent_dns_cache_t *c)
{
    if (!c)
        return;
    while (c->oldest)
        remove_entry(c, c->oldest);
    free(c->buckets);
    free(c);
}

static entry_t *find(const agent_dns_cache_t *c, const char *name, size_t nlen, uint16_t qtype,
                     uint64_t h)
{
    for (entry_t *e = c->buckets[h & c->mask]; e; e = e->hnext) {
        if (e->hash == h && e->qtype == qtype && e->nlen == nlen && !memcmp(e->name, name, nlen))
            return e;
    }
    return NULL;
}

const agent_dns_tmpl_t *agent_dns_cache_get(agent_dns_cache_t *c, const char *name, uint16_t qtype)
{
    size_t nlen = strlen(name);
    entry_t *e = find(c, name, nlen, qtype, key_hash(c, name, nlen, qtype));
    if (!e)
        return NULL;
    if (e != c->newest) { /* move to the front of the recency list */
        e->newer->older = e->older;
        if (e->older)
            e->older->newer = e->newer;
        else
            c->oldest = e->newer;
        e->newer = NULL;
        e->older = c->newest;
        c->newest->newer = e;
        c->newest = e;
    }
    return e->t;
}

int agent_dns_cache_put(agent_dns_cache_t *c, const char *name, uint16_t qtype, agent_dns_tmpl_t *t,
                        void **owner)
{
    size_t nlen = strlen(name);
    size_t bytes = sizeof(entry_t) + nlen + 1 + t->bytes;
    if (bytes > c->max_bytes / 8)
        return -1;
    uint64_t h = key_hash(c, name, nlen, qtype);
    entry_t *old = find(c, name, nlen, qtype, h);
    if (old)
        remove_entry(c, old);
    while (c->oldest && (c->count >= c->max_entries || c->bytes + bytes > c->max_bytes))
        remove_entry(c, c->oldest);
    entry_t *e = malloc(sizeof(*e) + nlen + 1);
    if (!e)
        return -1;
    e->t = t;
    e->hash = h;
    e->bytes = bytes;
    e->qtype = qtype;
    e->nlen = nlen;
    memcpy(e->name, name, nlen + 1);
    e->hnext = c->buckets[h & c->mask];
    c->buckets[h & c->mask] = e;
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    e->own_pprev = owner;
    e->own_next = owner ? *owner : NULL;
    if (owner) {
        if (e->own_next)
            ((entry_t *)e->own_next)->own_pprev = &e->own_next;
        *owner = e;
    }
    c->count++;
    c->bytes += bytes;
    return 0;
}

void agent_dns_cache_drop_owner(agent_dns_cache_t *c, void **owner)
{
    while (c && owner && *owner)
        remove_entry(c, *owner);
}

size_t agent_dns_cache_count(const agent_dns_cache_t *c)
{
    return c->count;
}

size_t agent_dns_cache_bytes(const agent_dns_cache_t *c)
{
    return c->bytes;
}
