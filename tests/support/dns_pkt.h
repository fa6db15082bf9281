/*
 * Building DNS packets by hand for the sidecar's DNS tests (test_dns.c, test_dns_cache.c):
 * big-endian fields, dotted names as labels, the header. Assertions come from test.h.
 */
#ifndef ARTEMIS_TEST_DNS_PKT_H
#define ARTEMIS_TEST_DNS_PKT_H

#include <stdint.h>
#include <string.h>

typedef struct pkt {
    uint8_t b[1024];
    size_t n;
} pkt_t;

static inline void p8(pkt_t *p, unsigned v)
{
    assert_true(p->n < sizeof(p->b));
    p->b[p->n++] = (uint8_t)v;
}

static inline void p16(pkt_t *p, unsigned v)
{
    p8(p, v >> 8);
    p8(p, v & 0xFF);
}

/* "a.b.c" as labels, ending with the root label. */
static inline void pname(pkt_t *p, const char *dotted)
{
    while (*dotted) {
        const char *e = strchr(dotted, '.');
        size_t l = e ? (size_t)(e - dotted) : strlen(dotted);
        p8(p, (unsigned)l);
        for (size_t i = 0; i < l; i++)
            p8(p, (uint8_t)dotted[i]);
        dotted += l + (e ? 1 : 0);
    }
    p8(p, 0);
}

/* Start over with a header: id, flags and the four section counts. */
static inline void phdr(pkt_t *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
                        unsigned ns, unsigned ar)
{
    p->n = 0;
    p16(p, id);
    p16(p, flags);
    p16(p, qd);
    p16(p, an);
    p16(p, ns);
    p16(p, ar);
}

#endif
