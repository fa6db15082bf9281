/*
 * String-keyed open-addressing hash table; see dict.h.
 */
#include <stdlib.h>
#include <string.h>

#include "dict.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

uint64_t artemisi_siphash(const void *data, size_t len, uint64_t k0, uint64_t k1)
{
    const unsigned char *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = ((uint64_t)len) << 56;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8); /* little-endian hosts only: the hash stays in-process */
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < (len & 7); i++)
        t |= ((uint64_t)in[full + i]) << (8 * i);
    b |= t;
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void artemisi_dict_init(artemisi_dict_t *d, uint64_t seed0, uint64_t seed1)
{
    memset(d, 0, sizeof(*d));
    d->k0 = seed0;
    d->k1 = seed1;
}

void artemisi_dict_free(artemisi_dict_t *d)
{
    free(d->slots);
    d->slots = NULL;
    d->cap = d->count = 0;
}

static size_t find_slot(const artemisi_dict_t *d, const char *key, uint64_t h)
{
    size_t mask = d->cap - 1;
    size_t i = (size_t)h & mask;
    while (d->slots[i].key) {
        if (d->slots[i].hash == h && strcmp(d->slots[i].key, key) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *artemisi_dict_get(const artemisi_dict_t *d, const char *key)
{
    if (!d->count)
        return NULL;
    uint64_t h = artemisi_siphash(key, strlen(key), d->k0, d->k1);
    size_t i = find_slot(d, key, h);
    return d->slots[i].key ? d->slots[i].value : NULL;
}

static int grow(artemisi_dict_t *d)
{
    size_t ncap = d->cap ? d->cap * 2 : 16;
    artemisi_dict_entry_t *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->slots[i].key)
            continue;
        size_t j = (size_t)d->slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = d->slots[i];
    }
    free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return 0;
}

void *artemisi_dict_put(artemisi_dict_t *d, const char *key, void *value, int *failed)
{
    *failed = 0;
    /* Keep the load factor under 3/4 so probe chains stay short. */
    if ((d->count + 1) * 4 > d->cap * 3 && grow(d) != 0) {
        *failed = 1;
        return NULL;
    }
    uint64_t h = artemisi_siphash(key, strlen(key), d->k0, d->k1);
    size_t i = find_slot(d, key, h);
    if (d->slots[i].key) {
        void *old = d->slots[i].value;
        d->slots[i].key = key;
        d->slots[i].value = value;
        return old;
    }
    d->slots[i].key = key;
    d->slots[i].value = value;
    d->slots[i].hash = h;
    d->count++;
    return NULL;
}

void *artemisi_dict_del(artemisi_dict_t *d, const char *key)
{
    if (!d->count)
        return NULL;
    uint64_t h = artemisi_siphash(key, strlen(key), d->k0, d->k1);
    size_t i = find_slot(d, key, h);
    if (!d->slots[i].key)
        return NULL;
    void *old = d->slots[i].value;
    size_t mask = d->cap - 1;
    /* Backward-shift deletion: move later members of the chain into the hole. */
    size_t j = i;
    for (;;) {
        d->slots[i].key = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (!d->slots[j].key)
                goto done;
            size_t home = (size_t)d->slots[j].hash & mask;
            /* Can slot j move to i? Only if its home is not cyclically in (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        d->slots[i] = d->slots[j];
        i = j;
    }
done:
    d->count--;
    return old;
}

artemisi_dict_entry_t *artemisi_dict_next(const artemisi_dict_t *d, size_t *it)
{
    while (*it < d->cap) {
        artemisi_dict_entry_t *e = &d->slots[(*it)++];
        if (e->key)
            return e;
    }
    return NULL;
}
