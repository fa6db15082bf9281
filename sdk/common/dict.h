/*
 * A string-keyed hash table (open addressing, linear probing, tombstone-free deletion by
 * backward shift). Keys are hashed with SipHash-2-4 under a per-table random seed, because
 * keys come from the network and a predictable hash would let a client pile every key
 * into one probe chain. Pure module apart from the seed (passed in by the caller).
 *
 * Ownership: the table stores the key pointer and value pointer it is given; it owns
 * neither. Callers usually keep the key inside the value so both live and die together.
 * Thread-safety: handle.
 */
#ifndef ARTEMIS_SDK_DICT_H
#define ARTEMIS_SDK_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct artemisi_dict_entry {
    const char *key;
    void *value;
    uint64_t hash;
} artemisi_dict_entry_t;

typedef struct artemisi_dict {
    artemisi_dict_entry_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
    uint64_t k0, k1;
} artemisi_dict_t;

void artemisi_dict_init(artemisi_dict_t *d, uint64_t seed0, uint64_t seed1);
void artemisi_dict_free(artemisi_dict_t *d);
void *artemisi_dict_get(const artemisi_dict_t *d, const char *key);
/* Insert or replace. Returns the previous value (or NULL). *failed set to 1 on OOM. */
void *artemisi_dict_put(artemisi_dict_t *d, const char *key, void *value, int *failed);
/* Remove; returns the removed value or NULL. */
void *artemisi_dict_del(artemisi_dict_t *d, const char *key);
/* Iteration: for (size_t it = 0; (e = artemisi_dict_next(d, &it));) — do not modify meanwhile. */
artemisi_dict_entry_t *artemisi_dict_next(const artemisi_dict_t *d, size_t *it);

uint64_t artemisi_siphash(const void *data, size_t len, uint64_t k0, uint64_t k1);

#endif
