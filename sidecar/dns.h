/*
 * Pure DNS codec for artemis-sidecar: parse one query message, build one authoritative response
 * (A / AAAA / SRV answers, SOA for negative answers, EDNS0 OPT, name compression, TC on
 * overflow), split "<serviceId>.service[.<zone>.zone][.<group>.group].<domain>" names, and the
 * 2-byte TCP framing. No sockets and no clock: the sidecar's event loop does the I/O.
 */
#ifndef AGENT_DNS_H
#define AGENT_DNS_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_DNS_TYPE_A     1
#define AGENT_DNS_TYPE_NS    2
#define AGENT_DNS_TYPE_CNAME 5
#define AGENT_DNS_TYPE_SOA   6
#define AGENT_DNS_TYPE_AAAA  28
#define AGENT_DNS_TYPE_SRV   33
#define AGENT_DNS_TYPE_OPT   41
#define AGENT_DNS_TYPE_ANY   255

#define AGENT_DNS_CLASS_IN  1
#define AGENT_DNS_CLASS_ANY 255

#define AGENT_DNS_HEADER_LEN 12
#define AGENT_DNS_UDP_MIN    512   /* RFC 1035 UDP limit without EDNS0 */
#define AGENT_DNS_UDP_MAX    4096  /* the largest EDNS0 size we honour and advertise */
#define AGENT_DNS_TCP_MAX    65535 /* the largest message (TCP length prefix) */
#define AGENT_DNS_REMOTE_X   3     /* a remote UDP answer may exceed 512 only up to this x query */

/* Header flag bits (second 16-bit word of the header). */
#define AGENT_DNS_FLAG_QR 0x8000
#define AGENT_DNS_FLAG_AA 0x0400
#define AGENT_DNS_FLAG_TC 0x0200
#define AGENT_DNS_FLAG_RD 0x0100
#define AGENT_DNS_FLAG_RA 0x0080

enum {
    AGENT_DNS_NOERROR = 0,
    AGENT_DNS_FORMERR = 1,
    AGENT_DNS_SERVFAIL = 2,
    AGENT_DNS_NXDOMAIN = 3,
    AGENT_DNS_NOTIMP = 4,
    AGENT_DNS_REFUSED = 5
};

typedef struct agent_dns_query {
    uint16_t id;
    uint16_t flags;      /* the request's flags (RD and the opcode are echoed) */
    char qname[256];     /* lower-cased, dotted, no trailing dot ("" for the root) */
    char qname_raw[256]; /* the same name with the case as sent; echoed in the question section
                          * (resolvers using 0x20 case randomisation check it). "" -> qname */
    uint16_t qtype, qclass;
    int edns; /* an OPT record was present */
    uint16_t
        udp_size; /* max UDP answer size: 512 without EDNS, else max(512, min(advertised, 4096)) */
} agent_dns_query_t;

/*
 * Parse one query message. Returns:
 *   AGENT_DNS_NOERROR  q is filled in;
 *   AGENT_DNS_FORMERR  malformed but the header was readable (q->id, q->flags set): answer FORMERR;
 *   AGENT_DNS_NOTIMP   opcode != QUERY, or qdcount != 1: answer NOTIMP;
 *   -1                 shorter than a header, or a response (QR set): drop silently.
 * Names: labels of 1..63 bytes, wire length <= 255, any byte in a label except '.' and NUL
 * (FORMERR: they cannot be represented in the dotted form). Compression pointers are accepted
 * when each one points strictly before every byte of the name read so far and not into the
 * header (so loops and forward pointers are FORMERR). Answer and authority records of the query
 * are checked and skipped; additional records are checked and an OPT (root owner, at most one)
 * sets edns/udp_size. Bytes after the last counted record are tolerated (ignored). The EDNS
 * version is not checked (no BADVERS).
 */
int agent_dns_parse_query(const uint8_t *pkt, size_t len, agent_dns_query_t *q);

typedef struct agent_dns_rr {
    char name[256]; /* owner name, dotted, no trailing dot */
    uint16_t type;  /* A, AAAA or SRV */
    uint32_t ttl;
    uint8_t addr[16]; /* A: first 4 bytes; AAAA: 16 */
    uint16_t srv_priority, srv_weight, srv_port;
    char srv_target[256];
} agent_dns_rr_t;

typedef struct agent_dns_soa {
    char zone[256]; /* e.g. "artemis" */
    char mname[256], rname[256];
    uint32_t serial, refresh, retry, expire, minimum; /* minimum = negative-caching TTL */
    uint32_t ttl; /* the SOA is sent with TTL min(ttl, minimum) (RFC 2308 §3) */
} agent_dns_soa_t;

/*
 * Build a response to q into out: header (QR, AA, opcode and RD echoed, RA=0, rcode), the
 * question (omitted for FORMERR and NOTIMP, whose question was not parsed), answers, then the
 * SOA in the authority section when soa != NULL and rcode is NXDOMAIN or NOERROR with no
 * answers, then additional records, then an OPT record if q->edns (UDP size 4096, extended
 * rcode 0, version 0). All records are class IN. Owner names and SOA names are compressed
 * (RFC 1035 §4.1.4, pointers to earlier names only); SRV targets are written uncompressed as
 * RFC 2782 requires, but later names (the targets' address records) point to them.
 * If the message would exceed min(max_size, outcap, 65535): set TC and keep only the question
 * (and the OPT if q->edns). Returns 0 and *outlen, or -1 if out is too small even for that,
 * or a name is invalid (empty label, label > 63, name > 255) or a record type is not A/AAAA/SRV.
 */
int agent_dns_build_response(const agent_dns_query_t *q, int rcode, const agent_dns_rr_t *answers,
                             size_t n_answers, const agent_dns_rr_t *additional,
                             size_t n_additional, const agent_dns_soa_t *soa, size_t max_size,
                             uint8_t *out, size_t outcap, size_t *outlen);

/*
 * Where agent_dns_build_layout put things, for a caller that keeps the message and patches it
 * later (dns_cache.c: the ID, the question's case, the SOA serial, the order of the records).
 * Offsets are from the start of the message.
 */
typedef struct agent_dns_layout {
    /* in: arrays sized for the call (NULL: not wanted) */
    uint32_t *an;     /* n_answers + 1: where answer record i starts; an[n_answers]: their end */
    uint32_t *ad;     /* n_additional + 1: the same for the additional records */
    uint32_t *target; /* n_answers: where an SRV answer's target name starts (0: not SRV) */
    /* out */
    uint32_t question_end; /* just past the question (12 when there is none) */
    uint32_t soa_serial;   /* where the SOA record's serial is; 0: no SOA */
    int truncated;         /* TC: only the question (and the OPT) were written */
    /* A name suffix could not be remembered for compression (the suffix table was full, or
     * it lay past offset 0x3FFF): records moved to other places could then be encoded
     * differently by this builder, so they must not be reordered by copying. */
    int comp_skipped;
} agent_dns_layout_t;

/* agent_dns_build_response, also filling *layout (NULL: the same as agent_dns_build_response). */
int agent_dns_build_layout(const agent_dns_query_t *q, int rcode, const agent_dns_rr_t *answers,
                           size_t n_answers, const agent_dns_rr_t *additional, size_t n_additional,
                           const agent_dns_soa_t *soa, size_t max_size, uint8_t *out, size_t outcap,
                           size_t *outlen, agent_dns_layout_t *layout);

/*
 * The largest UDP answer to q, a query of query_len bytes, from a source that is on this host
 * (local: a loopback address) or not. Local: q->udp_size (512, or the EDNS0 size up to 4096).
 * Remote: min(q->udp_size, max(512, AGENT_DNS_REMOTE_X * query_len)). UDP source addresses can
 * be spoofed, so an answer sent to one is sent to whoever the attacker names: honouring EDNS0
 * 4096 turned a 48-byte query into a 4,048-byte answer (x84). 512 is what any DNS server sends
 * without EDNS0, so the sidecar is no better a reflector than one of them (at most x15 for the
 * shortest name that draws records), and a larger query may get 3x its size. An answer over
 * the limit gets TC (agent_dns_build_response) and a real resolver asks again over TCP, whose
 * handshake a spoofed source cannot complete.
 */
size_t agent_dns_udp_limit(const agent_dns_query_t *q, size_t query_len, int local);

/*
 * 1 if qname equals domain or ends with "." domain (ASCII case-insensitive), else 0: the caller
 * answers REFUSED for names outside its domain. domain "" (the root) contains every name.
 */
int agent_dns_name_in_domain(const char *qname, const char *domain);

/*
 * Split "<serviceId>.service[.<zone>.zone][.<group>.group].<domain>" (domain without dots at
 * the ends, e.g. "artemis" or "svc.artemis"). serviceId may itself contain dots: the LAST
 * "service" label before the qualifiers ends it. Returns 1 and fills the parts (lower-cased,
 * "" when absent), 0 if qname is not under domain, not of this shape, has an empty label, or a
 * part does not fit its buffer (the caller answers NXDOMAIN, or REFUSED for names outside the
 * domain: see agent_dns_name_in_domain).
 */
int agent_dns_parse_name(const char *qname, const char *domain, char *service, size_t slen,
                         char *zone, size_t zlen, char *group, size_t glen);

/*
 * TCP framing (RFC 1035 §4.2.2): every message is preceded by its length, 2 bytes big-endian.
 * agent_dns_tcp_frame: if buf[0..avail) starts with a whole framed message, set *msg and *msglen
 * to it and return the bytes it occupies (2 + length; a zero-length frame returns 2 with
 * *msglen 0, which the caller just drops); return 0 if more bytes are needed.
 * agent_dns_tcp_prefix: write the prefix for a message of len bytes; -1 if len > 65535.
 */
size_t agent_dns_tcp_frame(const uint8_t *buf, size_t avail, const uint8_t **msg, size_t *msglen);
int agent_dns_tcp_prefix(size_t len, uint8_t out[2]);

#endif
