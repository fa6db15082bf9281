/*
 * DNS wire codec for artemis-sidecar (RFC 1035, RFC 2308 negative answers, RFC 2782 SRV,
 * RFC 6891 EDNS0). Pure: the caller owns every buffer and does the I/O. The parser is written
 * for hostile input (every read is bounds-checked, compression pointers must go strictly
 * backwards); the builder writes into a fixed buffer and falls back to a TC answer.
 */
#include "dns.h"

#include <string.h>

#define COMP_MAX 512 /* remembered name suffixes for compression */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * Read the name at *off into raw (dotted, as sent; 256 bytes). On success *off is the position
 * after the name in the original byte stream. Returns 0, or -1 (FORMERR).
 */
static int read_name(const uint8_t *pkt, size_t len, size_t *off, char *raw)
{
    size_t pos = *off, low = *off, after = 0, wire = 0, o = 0;
    int jumped = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t c = pkt[pos];
        if ((c & 0xC0) == 0xC0) {
            if (pos + 1 >= len)
                return -1;
            size_t t = ((size_t)(c & 0x3F) << 8) | pkt[pos + 1];
            if (!jumped) {
                after = pos + 2;
                jumped = 1;
            }
            /* Strictly before everything read so far: no loops, no forward pointers. */
            if (t < AGENT_DNS_HEADER_LEN || t >= low)
                return -1;
            low = pos = t;
            continue;
        }
        if (c & 0xC0) /* 0x40 / 0x80: label > 63 or an obsolete extended label type */
            return -1;
        if (c == 0) {
            if (!jumped)
                after = pos + 1;
            break;
        }
        wire += (size_t)c + 1;
        if (wire + 1 > 255)
            return -1;
        if (pos + 1 + c > len)
            return -1;
        if (o > 0)
            raw[o++] = '.';
        for (size_t i = 0; i < c; i++) {
            uint8_t b = pkt[pos + 1 + i];
            if (b == '.' || b == 0)
                return -1;
            raw[o++] = (char)b;
        }
        pos += 1 + (size_t)c;
    }
    raw[o] = '\0';
    *off = after;
    return 0;
}

/* Check and skip one resource record; reports its type, class and owner. Returns 0 or -1. */
static int skip_rr(const uint8_t *pkt, size_t len, size_t *off, uint16_t *type, uint16_t *cls,
                   char *owner)
{
    if (read_name(pkt, len, off, owner) != 0)
        return -1;
    if (len - *off < 10)
        return -1;
    const uint8_t *p = pkt + *off;
    *type = get16(p);
    *cls = get16(p + 2);
    size_t rdlen = get16(p + 8);
    if (len - *off - 10 < rdlen)
        return -1;
    *off += 10 + rdlen;
    return 0;
}

int agent_dns_parse_query(const uint8_t *pkt, size_t len, agent_dns_query_t *q)
{
    memset(q, 0, sizeof(*q));
    q->udp_size = AGENT_DNS_UDP_MIN;
    if (pkt == NULL || len < AGENT_DNS_HEADER_LEN)
        return -1;
    q->id = get16(pkt);
    q->flags = get16(pkt + 2);
    if (q->flags & AGENT_DNS_FLAG_QR)
        return -1;
    if (((q->flags >> 11) & 0xF) != 0)
        return AGENT_DNS_NOTIMP;
    if (get16(pkt + 4) != 1)
        return AGENT_DNS_NOTIMP;
    uint16_t an = get16(pkt + 6), ns = get16(pkt + 8), ar = get16(pkt + 10);

    size_t off = AGENT_DNS_HEADER_LEN;
    if (read_name(pkt, len, &off, q->qname_raw) != 0)
        goto formerr;
    if (len - off < 4)
        goto formerr;
    q->qtype = get16(pkt + off);
    q->qclass = get16(pkt + off + 2);
    off += 4;
    for (size_t i = 0; q->qname_raw[i]; i++)
        q->qname[i] = lower(q->qname_raw[i]);

    char owner[256];
    uint16_t type, cls;
    for (uint32_t i = 0; i < (uint32_t)an + ns; i++) {
        if (skip_rr(pkt, len, &off, &type, &cls, owner) != 0)
            goto formerr;
    }
    for (uint32_t i = 0; i < ar; i++) {
        if (skip_rr(pkt, len, &off, &type, &cls, owner) != 0)
            goto formerr;
        if (type != AGENT_DNS_TYPE_OPT)
            continue;
        if (q->edns || owner[0] != '\0') /* RFC 6891 §6.1.1: one OPT, root owner */
            goto formerr;
        q->edns = 1;
        uint16_t sz = cls < AGENT_DNS_UDP_MIN ? AGENT_DNS_UDP_MIN : cls;
        q->udp_size = sz > AGENT_DNS_UDP_MAX ? AGENT_DNS_UDP_MAX : sz;
    }
    /* Trailing bytes after the counted records are ignored. */
    return AGENT_DNS_NOERROR;

formerr:
    q->edns = 0;
    q->udp_size = AGENT_DNS_UDP_MIN;
    return AGENT_DNS_FORMERR;
}

/* ---- response builder ------------------------------------------------------------------- */

typedef struct comp_ent {
    const char *suffix; /* points into a caller-owned name, valid during the build */
    size_t len;
    uint16_t off;
} comp_ent_t;

typedef struct writer {
    uint8_t *out;
    size_t cap, len;
    int full;         /* something did not fit */
    int bad;          /* an invalid name or record */
    int comp_skipped; /* a suffix was not remembered (see agent_dns_layout_t) */
    comp_ent_t comp[COMP_MAX];
    size_t ncomp;
    agent_dns_layout_t *lay; /* NULL: nobody wants the offsets */
} writer_t;

static void put_bytes(writer_t *w, const void *p, size_t n)
{
    if (w->full || w->cap - w->len < n) {
        w->full = 1;
        return;
    }
    memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void put8(writer_t *w, uint8_t v)
{
    put_bytes(w, &v, 1);
}

static void put16(writer_t *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 2);
}

static void put32(writer_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(w, b, 4);
}

static void patch16(writer_t *w, size_t at, uint16_t v)
{
    if (!w->full && at + 2 <= w->len) {
        w->out[at] = (uint8_t)(v >> 8);
        w->out[at + 1] = (uint8_t)v;
    }
}

static int ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower(a[i]) != lower(b[i]))
            return 0;
    }
    return 1;
}

/* Length of a dotted name without one trailing dot; -1 if it is not a valid name. */
static long name_len(const char *name)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0)
        return 0;
    size_t lab = 0, wire = 1;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || name[i] == '.') {
            if (lab == 0 || lab > 63)
                return -1;
            wire += lab + 1;
            lab = 0;
        } else {
            lab++;
        }
    }
    return wire > 255 ? -1 : (long)n;
}

/*
 * Write a name. compress: may end in a pointer to an earlier name. Every suffix written as
 * labels is remembered so that later names can point to it.
 */
static void put_name(writer_t *w, const char *name, int compress)
{
    long nl = name_len(name);
    if (nl < 0) {
        w->bad = 1;
        return;
    }
    size_t n = (size_t)nl, pos = 0;
    while (pos < n) {
        const char *suf = name + pos;
        size_t slen = n - pos;
        if (compress) {
            for (size_t i = 0; i < w->ncomp; i++) {
                if (w->comp[i].len == slen && ieq(w->comp[i].suffix, suf, slen)) {
                    put16(w, (uint16_t)(0xC000 | w->comp[i].off));
                    return;
                }
            }
        }
        if (!w->full && w->len <= 0x3FFF && w->ncomp < COMP_MAX)
            w->comp[w->ncomp++] = (comp_ent_t){suf, slen, (uint16_t)w->len};
        else
            w->comp_skipped = 1;
        size_t e = pos;
        while (e < n && name[e] != '.')
            e++;
        put8(w, (uint8_t)(e - pos));
        put_bytes(w, name + pos, e - pos);
        pos = e + 1;
    }
    put8(w, 0);
}

static void put_rr_head(writer_t *w, const char *owner, uint16_t type, uint32_t ttl)
{
    put_name(w, owner, 1);
    put16(w, type);
    put16(w, AGENT_DNS_CLASS_IN);
    put32(w, ttl);
}

/* *target: where an SRV record's target name starts (left alone for other types). */
static void put_rr(writer_t *w, const agent_dns_rr_t *rr, uint32_t *target)
{
    put_rr_head(w, rr->name, rr->type, rr->ttl);
    size_t at = w->len;
    put16(w, 0);
    switch (rr->type) {
    case AGENT_DNS_TYPE_A:
        put_bytes(w, rr->addr, 4);
        break;
    case AGENT_DNS_TYPE_AAAA:
        put_bytes(w, rr->addr, 16);
        break;
    case AGENT_DNS_TYPE_SRV:
        put16(w, rr->srv_priority);
        put16(w, rr->srv_weight);
        put16(w, rr->srv_port);
        *target = (uint32_t)w->len;
        put_name(w, rr->srv_target, 0); /* RFC 2782: no compression in the target */
        break;
    default:
        w->bad = 1;
        return;
    }
    patch16(w, at, (uint16_t)(w->len - at - 2));
}

static void put_soa(writer_t *w, const agent_dns_soa_t *soa)
{
    put_rr_head(w, soa->zone, AGENT_DNS_TYPE_SOA,
                soa->ttl < soa->minimum ? soa->ttl : soa->minimum);
    size_t at = w->len;
    put16(w, 0);
    put_name(w, soa->mname, 1);
    put_name(w, soa->rname, 1);
    if (w->lay)
        w->lay->soa_serial = (uint32_t)w->len;
    put32(w, soa->serial);
    put32(w, soa->refresh);
    put32(w, soa->retry);
    put32(w, soa->expire);
    put32(w, soa->minimum);
    patch16(w, at, (uint16_t)(w->len - at - 2));
}

static void put_opt(writer_t *w)
{
    put8(w, 0);                   /* root owner */
    put16(w, AGENT_DNS_TYPE_OPT); /* type */
    put16(w, AGENT_DNS_UDP_MAX);  /* class: our UDP payload size */
    put32(w, 0);                  /* extended rcode 0, version 0, no flags */
    put16(w, 0);                  /* no options */
}

/* Write the whole message (truncated: only the question and OPT). */
static void write_msg(writer_t *w, const agent_dns_query_t *q, int rcode,
                      const agent_dns_rr_t *answers, size_t n_answers,
                      const agent_dns_rr_t *additional, size_t n_additional,
                      const agent_dns_soa_t *soa, int truncated)
{
    int with_q = rcode != AGENT_DNS_FORMERR && rcode != AGENT_DNS_NOTIMP;
    int with_soa = !truncated && soa != NULL &&
                   (rcode == AGENT_DNS_NXDOMAIN || (rcode == AGENT_DNS_NOERROR && n_answers == 0));
    size_t an = truncated ? 0 : n_answers, ar = truncated ? 0 : n_additional;
    uint16_t flags = (uint16_t)(AGENT_DNS_FLAG_QR | (q->flags & 0x7800) | AGENT_DNS_FLAG_AA |
                                (q->flags & AGENT_DNS_FLAG_RD) | (rcode & 0xF));
    if (truncated)
        flags |= AGENT_DNS_FLAG_TC;
    if (an > 0xFFFF || ar + (q->edns ? 1 : 0) > 0xFFFF) {
        w->full = 1; /* cannot fit in any message anyway */
        return;
    }
    put16(w, q->id);
    put16(w, flags);
    put16(w, with_q ? 1 : 0);
    put16(w, (uint16_t)an);
    put16(w, with_soa ? 1 : 0);
    put16(w, (uint16_t)(ar + (q->edns ? 1 : 0)));
    if (with_q) {
        put_name(w, q->qname_raw[0] ? q->qname_raw : q->qname, 1);
        put16(w, q->qtype);
        put16(w, q->qclass);
    }
    agent_dns_layout_t *lay = w->lay;
    uint32_t unused;
    if (lay) {
        lay->question_end = (uint32_t)w->len;
        lay->soa_serial = 0;
        lay->truncated = truncated;
    }
    for (size_t i = 0; i < an && !w->full && !w->bad; i++) {
        uint32_t *target = lay && lay->target ? &lay->target[i] : &unused;
        *target = 0;
        if (lay && lay->an)
            lay->an[i] = (uint32_t)w->len;
        put_rr(w, &answers[i], target);
    }
    if (lay && lay->an)
        lay->an[an] = (uint32_t)w->len;
    if (with_soa)
        put_soa(w, soa);
    for (size_t i = 0; i < ar && !w->full && !w->bad; i++) {
        if (lay && lay->ad)
            lay->ad[i] = (uint32_t)w->len;
        put_rr(w, &additional[i], &unused);
    }
    if (lay && lay->ad)
        lay->ad[ar] = (uint32_t)w->len;
    if (q->edns)
        put_opt(w);
}

int agent_dns_build_response(const agent_dns_query_t *q, int rcode, const agent_dns_rr_t *answers,
                             size_t n_answers, const agent_dns_rr_t *additional,
                             size_t n_additional, const agent_dns_soa_t *soa, size_t max_size,
                             uint8_t *out, size_t outcap, size_t *outlen)
{
    return agent_dns_build_layout(q, rcode, answers, n_answers, additional, n_additional, soa,
                                  max_size, out, outcap, outlen, NULL);
}

int agent_dns_build_layout(const agent_dns_query_t *q, int rcode, const agent_dns_rr_t *answers,
                           size_t n_answers, const agent_dns_rr_t *additional, size_t n_additional,
                           const agent_dns_soa_t *soa, size_t max_size, uint8_t *out, size_t outcap,
                           size_t *outlen, agent_dns_layout_t *layout)
{
    if (q == NULL || out == NULL || outlen == NULL || (n_answers && answers == NULL) ||
        (n_additional && additional == NULL))
        return -1;
    size_t cap = max_size < outcap ? max_size : outcap;
    if (cap > AGENT_DNS_TCP_MAX)
        cap = AGENT_DNS_TCP_MAX;
    writer_t w;
    for (int truncated = 0; truncated < 2; truncated++) {
        w.out = out;
        w.cap = cap;
        w.len = 0;
        w.full = w.bad = w.comp_skipped = 0;
        w.ncomp = 0;
        w.lay = layout;
        write_msg(&w, q, rcode, answers, n_answers, additional, n_additional, soa, truncated);
        if (w.bad)
            return -1;
        if (!w.full) {
            *outlen = w.len;
            if (layout)
                layout->comp_skipped = w.comp_skipped;
            return 0;
        }
    }
    return -1;
}

size_t agent_dns_udp_limit(const agent_dns_query_t *q, size_t query_len, int local)
{
    size_t want = q->udp_size < AGENT_DNS_UDP_MIN ? AGENT_DNS_UDP_MIN : q->udp_size;
    if (local)
        return want;
    size_t cap = AGENT_DNS_UDP_MIN;
    if (query_len > AGENT_DNS_UDP_MIN / AGENT_DNS_REMOTE_X) /* 3 x query_len > 512 */
        cap = query_len > AGENT_DNS_UDP_MAX ? AGENT_DNS_UDP_MAX : query_len * AGENT_DNS_REMOTE_X;
    return want < cap ? want : cap;
}

/* ---- names ------------------------------------------------------------------------------ */

int agent_dns_name_in_domain(const char *qname, const char *domain)
{
    size_t n = strlen(qname), d = strlen(domain);
    if (d == 0)
        return 1;
    if (n < d || !ieq(qname + n - d, domain, d))
        return 0;
    return n == d || qname[n - d - 1] == '.';
}

/* Copy s[0..n) lower-cased into out; 0 if it does not fit. */
static int copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (out == NULL || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = lower(s[i]);
    out[n] = '\0';
    return 1;
}

/* If s[0..*n) ends with ".<value>.<kw>", strip both labels and return the value's bounds. */
static int take_qualifier(const char *s, size_t *n, const char *kw, const char **val, size_t *vlen)
{
    size_t k = strlen(kw);
    if (*n < k + 2 || s[*n - k - 1] != '.' || !ieq(s + *n - k, kw, k))
        return 0;
    size_t end = *n - k - 1, start = end;
    while (start > 0 && s[start - 1] != '.')
        start--;
    if (start == end || start == 0) /* empty value, or nothing (no service) before it */
        return 0;
    *val = s + start;
    *vlen = end - start;
    *n = start - 1;
    return 1;
}

int agent_dns_parse_name(const char *qname, const char *domain, char *service, size_t slen,
                         char *zone, size_t zlen, char *group, size_t glen)
{
    if (qname == NULL || domain == NULL)
        return 0;
    size_t n = strlen(qname), d = strlen(domain);
    if (!agent_dns_name_in_domain(qname, domain) || n == d)
        return 0;
    if (d > 0)
        n -= d + 1; /* drop ".<domain>" */
    const char *zv = "", *gv = "";
    size_t zn = 0, gn = 0;
    take_qualifier(qname, &n, "group", &gv, &gn);
    take_qualifier(qname, &n, "zone", &zv, &zn);
    /* What is left must be "<serviceId>.service". */
    static const char kw[] = "service";
    size_t k = sizeof(kw) - 1;
    if (n < k + 2 || qname[n - k - 1] != '.' || !ieq(qname + n - k, kw, k))
        return 0;
    size_t sn = n - k - 1;
    for (size_t i = 0; i < sn; i++) { /* no empty label in the service id */
        if (qname[i] == '.' && (i == 0 || i + 1 == sn || qname[i + 1] == '.'))
            return 0;
    }
    if (!copy_part(service, slen, qname, sn) || !copy_part(zone, zlen, zv, zn) ||
        !copy_part(group, glen, gv, gn))
        return 0;
    return 1;
}

/* ---- TCP framing ------------------------------------------------------------------------ */

size_t agent_dns_tcp_frame(const uint8_t *buf, size_t avail, const uint8_t **msg, size_t *msglen)
{
    if (avail < 2)
        return 0;
    size_t n = get16(buf);
    if (avail - 2 < n)
        return 0;
    *msg = buf + 2;
    *msglen = n;
    return n + 2;
}

int agent_dns_tcp_prefix(size_t len, uint8_t out[2])
{
    if (len > AGENT_DNS_TCP_MAX)
        return -1;
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    return 0;
}
