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
    uint8_t packed;    /* 1 if a packed, refcounted allocation; 2 if one with a donor */
    uint16_t prefix;   /* packed: bytes of the allocation in front of the struct (pack_ex) */
    uint32_t refs;
} artemisi_instance_t;

#define ARTEMISI_INST(i, field) ((i)->f[ARTEMISI_F_##field])

/* Copy a draft (or another instance) into one new allocation with refcount 1. NULL on OOM. */
artemisi_instance_t *artemisi_instance_pack(const artemisi_instance_t *src);
/* The same with `prefix` bytes (a multiple of 8, at most 4096) for the caller in front of the
 * struct, in the same allocation: they live and die with the instance and cost no malloc of
 * their own (the server keeps its lease there). They start at artemisi_instance_prefix(inst),
 * uninitialised. With a packed `donor` (or NULL), strings equal to the donor's (same field,
 * same metadata position) are not copied but point into the donor, which the new instance
 * then holds a reference on (packed == 2); the server passes another instance of the same
 * service, whose serviceId, region, zone, status and metadata keys are usually the same
 * (docs/design.md, "Memory per instance"). Single-threaded refcounts only: the SDK, which
 * counts atomically, never passes a donor. */
artemisi_instance_t *artemisi_instance_pack_ex(const artemisi_instance_t *src, size_t prefix,
                                               artemisi_instance_t *donor);
void *artemisi_instance_prefix(artemisi_instance_t *inst);
artemisi_instance_t *artemisi_instance_ref(artemisi_instance_t *inst);
/* Drops one reference of a packed instance; frees at zero. NULL and drafts are ignored. */
void artemisi_instance_unref(artemisi_instance_t *inst);
/* Bytes held by a packed instance, its prefix included and the strings it borrows from a
 * donor not (for memory accounting). */
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
