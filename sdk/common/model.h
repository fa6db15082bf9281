/*
 * The Artemis data model shared by server, SDK and sidecar: Instance and its identity.
 * Pure module (no I/O).
 *
 * An instance comes in two forms with the same struct:
 *   - a *draft*: every pointer borrowed (e.g. from a parsed JSON tree); nothing to free;
 *   - a *packed* instance: one allocation holding the struct, its strings and its metadata,
 *     reference counted so the registry and the change log can share one body.
 * Packing costs one malloc, so storing an instance is cheap and freeing it is one free().
 * A NULL string field means JSON null on the wire.
 * Thread-safety: packed instances are immutable after packing; refcounts are not atomic
 * (the server is single-threaded).
 */
#ifndef ARTEMIS_SDK_MODEL_H
#define ARTEMIS_SDK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Order of the string fields (also the wire names below). */
enum artemisi_field {
    ARTEMISI_F_GROUP_ID = 0,
    ARTEMISI_F_HEALTH_CHECK_URL,
    ARTEMISI_F_INSTANCE_ID,
    ARTEMISI_F_IP,
    ARTEMISI_F_MACHINE_NAME,
    ARTEMISI_F_PROTOCOL,
    ARTEMISI_F_REGION_ID,
    ARTEMISI_F_SERVICE_ID,
    ARTEMISI_F_STATUS,
    ARTEMISI_F_URL,
    ARTEMISI_F_ZONE_ID,
    ARTEMISI_F_COUNT
};

/* Wire names of the string fields, indexed by enum artemisi_field. */
extern const char *const artemisi_field_names[ARTEMISI_F_COUNT];

typedef struct artemisi_instance {
    const char *f[ARTEMISI_F_COUNT]; /* string fields, NULL = null */
    const char **meta;               /* 2*n_meta pointers: key, value, key, value ... */
    uint32_t n_meta;
    int32_t port;
    uint8_t meta_null; /* metadata is JSON null (not {}) */
    uint8_t packed;    /* 1 if this is a packed, refcounted allocation */
    uint32_t refs;
} artemisi_instance_t;

#define ARTEMISI_INST(i, field) ((i)->f[ARTEMISI_F_##field])

/* Copy a draft (or another instance) into one new allocation with refcount 1. NULL on OOM. */
artemisi_instance_t *artemisi_instance_pack(const artemisi_instance_t *src);
artemisi_instance_t *artemisi_instance_ref(artemisi_instance_t *inst);
/* Drops one reference of a packed instance; frees at zero. NULL and drafts are ignored. */
void artemisi_instance_unref(artemisi_instance_t *inst);
/* Bytes held by a packed instance (for memory accounting). */
size_t artemisi_instance_size(const artemisi_instance_t *inst);

/* Metadata value for `key` (exact match), or NULL. */
const char *artemisi_instance_meta(const artemisi_instance_t *inst, const char *key);

/* InstanceKey string: the case-insensitive identity (region, service, instance) of protocol.md
 * §1.2, encoded unambiguously: each part lower-cased and length-prefixed ("3:sha"), null as
 * "-". Equal keys <=> equal parts ignoring ASCII case. Appends to out. Returns 0 / -1 on
 * OOM. */
int artemisi_instance_key(const artemisi_instance_t *inst, artemisi_buf_t *out);

/* Instance.toString(): lower(region/zone/service[/group]/instance) (protocol.md §1.2). */
int artemisi_instance_describe(const artemisi_instance_t *inst, artemisi_buf_t *out);

/* True if s is NULL or only whitespace (Java StringUtils.isBlank). */
int artemisi_blank(const char *s);

/* ASCII lower-case copy appended to out. */
int artemisi_buf_append_lower(artemisi_buf_t *out, const char *s);

#endif
