/*
 * Pre-encoded DNS answers for artemis-sidecar. An answer (a "template") is encoded once per
 * version of a service by the codec in dns.c, for a canonical query (ID 0, the name in lower
 * case, no EDNS); each query then gets a copy with its own ID, RD bit, question bytes (the
 * case as sent: 0x20 randomisation), class, OPT record, SOA serial and record order patched
 * in, or the TC answer when the whole does not fit. The result is byte for byte what
 * agent_dns_build_response writes for the same query and the records in the same order
 * (tests/unit/test_dns_cache.c and tests/fuzz/fuzz_dns.c check it).
 *
 * The cache maps (lower-case name, type) to templates, bounded in entries and bytes (least
 * recently used out first), with every entry also on its owner's list so that a change of a
 * service drops that service's answers at once. Pure: no I/O, no clock, no global state;
 * the caller passes the hash seed, the SOA serial and the random state.
 */
#ifndef AGENT_DNS_CACHE_H
#define AGENT_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

typedef struct agent_dns_tmpl agent_dns_tmpl_t;

/*
 * Encode the answer to q (its qname, qtype; the rest is patched per query) once: rcode, the
 * answer records an[0..nan), the additional records ad[0..nad), the SOA in the authority
 * section as agent_dns_build_response puts it. paired[i] (NULL: all 0) says that answer i's
 * own record is the next one of ad (an SRV answer and its target's address), so the two move
 * together when the order changes; sum(paired) must be nad when nad > 0. Returns NULL on OOM,
 * on bad input (as agent_dns_build_response), or when the whole answer does not fit in one
 * message (65535 bytes): the caller then encodes per query as before.
 */
agent_dns_tmpl_t *agent_dns_tmpl_new(const agent_dns_query_t *q, int rcode,
                                     const agent_dns_rr_t *an, size_t nan, const agent_dns_rr_t *ad,
                                     size_t nad, const uint8_t *paired, const agent_dns_soa_t *soa);
void agent_dns_tmpl_free(agent_dns_tmpl_t *t);

/* The number of answer records; the rcode; whether they can be reordered by copying (1: one
 * record or none, or every record is independent of where it sits: owner names compressed
 * to the question, SRV targets distinct and pointed to by their address records only). */
size_t agent_dns_tmpl_records(const agent_dns_tmpl_t *t);
int agent_dns_tmpl_rcode(const agent_dns_tmpl_t *t);
int agent_dns_tmpl_movable(const agent_dns_tmpl_t *t);
/* 1 if the answer carries an SOA (a negative answer), whose serial each copy sets. */
int agent_dns_tmpl_has_soa(const agent_dns_tmpl_t *t);
/* Bytes held by the template (what the cache counts). */
size_t agent_dns_tmpl_bytes(const agent_dns_tmpl_t *t);

/* xorshift32 (shuffling answers needs no crypto); *state must not be 0. */
uint32_t agent_dns_rand(uint32_t *state);
/* perm[0..n) = 0..n-1 in a Fisher-Yates order drawn from *state. */
void agent_dns_shuffle(uint32_t *perm, size_t n, uint32_t *state);

/*
 * Write t's answer to q (parsed from the query being answered; its qname must be the name t
 * was encoded for, in any case) into out: the message agent_dns_build_response writes for q,
 * the same rcode, records and SOA, limited to min(max_size, outcap, 65535) bytes (TC and only
 * the question and OPT when it does not fit). serial goes into the SOA. rng: NULL keeps the
 * encoded order; else the answer records (with their paired additional records) come in a
 * fresh random order (agent_dns_shuffle), drawn only when the answer is sent whole and t is
 * movable, and left in perm[0..records) (the caller's array, at least records long; perm[i]
 * is the encoded index of the i-th record written). Returns 0 and *outlen (*truncated: TC
 * set), or -1 when out cannot hold even the TC answer or q does not match t.
 */
int agent_dns_tmpl_write(const agent_dns_tmpl_t *t, const agent_dns_query_t *q, uint32_t serial,
                         uint32_t *rng, uint32_t *perm, size_t max_size, uint8_t *out,
                         size_t outcap, size_t *outlen, int *truncated);

typedef struct agent_dns_cache agent_dns_cache_t;

/* max_entries >= 1 templates holding at most max_bytes together; (k0, k1) seed the name hash
 * (SipHash: names come from the network). NULL on OOM. */
agent_dns_cache_t *agent_dns_cache_new(size_t max_entries, size_t max_bytes, uint64_t k0,
                                       uint64_t k1);
/* Frees every template and clears the owner lists that point into the cache. */
void agent_dns_cache_free(agent_dns_cache_t *c);

/* The template for (name, qtype) (name as agent_dns_query_t.qname: lower case), marked as
 * the most recently used, or NULL. */
const agent_dns_tmpl_t *agent_dns_cache_get(agent_dns_cache_t *c, const char *name, uint16_t qtype);
/*
 * Insert t for (name, qtype), replacing what was there, and put it on *owner's list (owner:
 * a pointer the owner keeps, NULL at first; agent_dns_cache_drop_owner empties it). Evicts
 * the least recently used entries to stay within the bounds. Returns 0 (the cache owns t), or
 * -1 (t larger than an eighth of max_bytes, or OOM: the caller still owns t).
 */
int agent_dns_cache_put(agent_dns_cache_t *c, const char *name, uint16_t qtype, agent_dns_tmpl_t *t,
                        void **owner);
/* Drop every template on *owner's list (the owner's data changed). */
void agent_dns_cache_drop_owner(agent_dns_cache_t *c, void **owner);
size_t agent_dns_cache_count(const agent_dns_cache_t *c);
size_t agent_dns_cache_bytes(const agent_dns_cache_t *c);

#endif
