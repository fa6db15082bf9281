/*
 * Instance packing, identity keys and descriptions; see model.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

const char *const artemisi_field_names[ARTEMISI_F_COUNT] = {
    "groupId",  "healthCheckUrl", "instanceId", "ip",  "machineName", "protocol",
    "regionId", "serviceId",      "status",     "url", "zoneId",
};

static size_t strsize(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Metadata keys are never NULL once packed (a JSON key cannot be null; a draft's NULL key
 * becomes ""), so they always take at least one byte. Values keep NULL: it is JSON null, which
 * Java answers as registered ({"k":null}), distinct from "". */
static size_t keysize(const char *s)
{
    return s ? strlen(s) + 1 : 1;
}

static size_t metasize(size_t i, const char *s)
{
    return i % 2 == 0 ? keysize(s) : strsize(s);
}

artemisi_instance_t *artemisi_instance_pack(const artemisi_instance_t *src)
{
    return artemisi_instance_pack_ex(src, 0, NULL);
}

/* A packed instance with a donor (packed == 2) keeps the donor's address in the first bytes of
 * its allocation, in front of the caller's prefix. */
static artemisi_instance_t **donor_slot(artemisi_instance_t *inst)
{
    return (artemisi_instance_t **)(void *)((char *)inst - inst->prefix - sizeof(void *));
}

static artemisi_instance_t *donor_of(artemisi_instance_t *inst)
{
    return inst && inst->packed == 2 ? *donor_slot(inst) : NULL;
}

/* The donor's copy of src's string (field i, or metadata entry i when meta), or NULL. */
static const char *shared(const artemisi_instance_t *donor, const artemisi_instance_t *src,
                          int meta, size_t i)
{
    if (!donor)
        return NULL;
    const char *mine, *theirs;
    if (meta) {
        if (i >= (size_t)donor->n_meta * 2)
            return NULL;
        mine = src->meta[i] ? src->meta[i] : i % 2 == 0 ? "" : NULL;
        theirs = donor->meta[i];
    } else {
        mine = src->f[i];
        theirs = donor->f[i];
    }
    return mine && theirs && strcmp(mine, theirs) == 0 ? theirs : NULL;
}

artemisi_instance_t *artemisi_instance_pack_ex(const artemisi_instance_t *src, size_t prefix,
                                               artemisi_instance_t *donor)
{
    if (prefix % 8 || prefix > 4096)
        return NULL; /* the struct must stay aligned, and `prefix` must fit its field */
    /* Strings are borrowed from the donor's first owner, never through a chain: an instance
     * pins at most one other. */
    if (donor_of(donor))
        donor = donor_of(donor);
    if (donor && !donor->packed)
        donor = NULL;
    size_t n_str_meta = (size_t)src->n_meta * 2, saved = 0;
    size_t total = prefix + sizeof(artemisi_instance_t);
    total += n_str_meta * sizeof(char *);
    /* What is shared is decided once (strcmp each), for the fields and the first 64 metadata
     * strings; the copy below follows these. */
    const char *sh_f[ARTEMISI_F_COUNT];
    uint64_t sh_meta = 0;
    for (int i = 0; i < ARTEMISI_F_COUNT; i++) {
        total += strsize(src->f[i]);
        if ((sh_f[i] = shared(donor, src, 0, (size_t)i)))
            saved += strsize(src->f[i]);
    }
    for (size_t i = 0; i < n_str_meta; i++) {
        total += metasize(i, src->meta[i]);
        if (i < 64 && shared(donor, src, 1, i)) {
            sh_meta |= (uint64_t)1 << i;
            saved += metasize(i, src->meta[i]);
        }
    }
    /* Borrowing costs the donor's address and keeps the donor alive: only worth it when it
     * saves more than that. */
    if (saved <= sizeof(void *))
        donor = NULL;
    else
        total += sizeof(void *) - saved;

    char *block = malloc(total);
    if (!block)
        return NULL;
    if (donor) {
        memcpy(block, &donor, sizeof(donor));
        block += sizeof(void *);
    }
    artemisi_instance_t *dst = (artemisi_instance_t *)(void *)(block + prefix);
    memset(dst, 0, sizeof(*dst));
    char *p = (char *)(dst + 1);
    const char **meta = (const char **)(void *)p;
    p += n_str_meta * sizeof(char *);
    for (int i = 0; i < ARTEMISI_F_COUNT; i++) {
        const char *d = donor ? sh_f[i] : NULL;
        if (d) {
            dst->f[i] = d;
        } else if (src->f[i]) {
            size_t n = strlen(src->f[i]) + 1;
            memcpy(p, src->f[i], n);
            dst->f[i] = p;
            p += n;
        }
    }
    for (size_t i = 0; i < n_str_meta; i++) {
        const char *d = donor && i < 64 && (sh_meta >> i & 1) ? donor->meta[i] : NULL;
        if (d) {
            meta[i] = d;
            continue;
        }
        if (i % 2 == 1 && !src->meta[i]) {
            meta[i] = NULL; /* a null value */
            continue;
        }
        const char *s = src->meta[i] ? src->meta[i] : "";
        size_t n = strlen(s) + 1;
        memcpy(p, s, n);
        meta[i] = p;
        p += n;
    }
    dst->meta = src->n_meta ? meta : NULL;
    dst->n_meta = src->n_meta;
    dst->port = src->port;
    dst->meta_null = src->meta_null;
    dst->packed = donor ? 2 : 1;
    dst->prefix = (uint16_t)prefix;
    dst->refs = 1;
    if (donor)
        donor->refs++;
    return dst;
}

void *artemisi_instance_prefix(artemisi_instance_t *inst)
{
    return (char *)inst - inst->prefix;
}

artemisi_instance_t *artemisi_instance_ref(artemisi_instance_t *inst)
{
    if (inst && inst->packed)
        inst->refs++;
    return inst;
}

void artemisi_instance_unref(artemisi_instance_t *inst)
{
    if (!inst || !inst->packed || --inst->refs)
        return;
    artemisi_instance_t *donor = donor_of(inst);
    free(donor ? (void *)donor_slot(inst) : artemisi_instance_prefix(inst));
    artemisi_instance_unref(donor); /* never a chain (pack_ex): one level of recursion */
}

/* A string is a packed instance's own when it sits where packing wrote the next one of its
 * own: own strings follow the struct in field order, then metadata order. A draft (what it
 * would cost packed without a donor) owns them all. */
static size_t own_size(const artemisi_instance_t *inst, const char *s, const char **pos, size_t n)
{
    if (inst->packed != 2)
        return n;
    if (s != *pos)
        return 0; /* borrowed from the donor, or NULL */
    *pos += n;
    return n;
}

size_t artemisi_instance_size(const artemisi_instance_t *inst)
{
    size_t n_str_meta = (size_t)inst->n_meta * 2;
    size_t total = sizeof(*inst) + n_str_meta * sizeof(char *);
    if (inst->packed)
        total += inst->prefix;
    if (inst->packed == 2)
        total += sizeof(void *);
    const char *pos = (const char *)(inst + 1) + n_str_meta * sizeof(char *);
    for (int i = 0; i < ARTEMISI_F_COUNT; i++)
        total += own_size(inst, inst->f[i], &pos, strsize(inst->f[i]));
    for (size_t i = 0; i < n_str_meta; i++)
        total += own_size(inst, inst->meta[i], &pos, metasize(i, inst->meta[i]));
    return total;
}

const char *artemisi_instance_meta(const artemisi_instance_t *inst, const char *key)
{
    /* A null value returns NULL like an absent key: callers (the java_registry blank check,
     * the SDK getter, the sidecar's weight) treat both alike. A draft's NULL key matches
     * nothing. */
    for (uint32_t i = 0; i < inst->n_meta; i++)
        if (inst->meta[2 * i] && strcmp(inst->meta[2 * i], key) == 0)
            return inst->meta[2 * i + 1];
    return NULL;
}

int artemisi_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* ASCII only, as in the C locale the server runs in: the same bytes whatever locale an
 * application embedding the SDK set, and no call per byte (lease keys are built for every
 * renewal). */
static int append_lower_n(artemisi_buf_t *out, const char *s, size_t n)
{
    if (artemisi_buf_reserve(out, n) != 0)
        return -1;
    char *d = out->data + out->len;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]);
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

int artemisi_buf_append_lower(artemisi_buf_t *out, const char *s)
{
    return append_lower_n(out, s, strlen(s));
}

static int append_lower_or_null(artemisi_buf_t *out, const char *s)
{
    return artemisi_buf_append_lower(out, s ? s : "null");
}

/* One key part: "<length>:<lower-cased bytes>", or "-" for null. */
/* "<length>:<lower-case bytes>", or "-" for null. The length is written by hand: through
 * snprintf it was about half of a batched renewal's registry work. */
static int append_key_part(artemisi_buf_t *out, const char *s)
{
    if (!s)
        return artemisi_buf_appendc(out, '-');
    size_t n = strlen(s), v = n;
    char num[24];
    size_t k = sizeof(num);
    num[--k] = ':';
    do {
        num[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return artemisi_buf_append(out, num + k, sizeof(num) - k) || append_lower_n(out, s, n);
}

int artemisi_instance_key(const artemisi_instance_t *inst, artemisi_buf_t *out)
{
    /* Length-prefixed, not dot-joined: with dots, service "a.b" + instance "c" and service
     * "a" + instance "b.c" were one key, and the second registration displaced the first. */
    if (append_key_part(out, ARTEMISI_INST(inst, REGION_ID)) ||
        append_key_part(out, ARTEMISI_INST(inst, SERVICE_ID)) ||
        append_key_part(out, ARTEMISI_INST(inst, INSTANCE_ID)))
        return -1;
    return 0;
}

int artemisi_instance_describe(const artemisi_instance_t *inst, artemisi_buf_t *out)
{
    if (append_lower_or_null(out, ARTEMISI_INST(inst, REGION_ID)) ||
        artemisi_buf_appendc(out, '/') || append_lower_or_null(out, ARTEMISI_INST(inst, ZONE_ID)) ||
        artemisi_buf_appendc(out, '/') ||
        append_lower_or_null(out, ARTEMISI_INST(inst, SERVICE_ID)) ||
        artemisi_buf_appendc(out, '/'))
        return -1;
    if (!artemisi_blank(ARTEMISI_INST(inst, GROUP_ID)) &&
        (append_lower_or_null(out, ARTEMISI_INST(inst, GROUP_ID)) ||
         artemisi_buf_appendc(out, '/')))
        return -1;
    return append_lower_or_null(out, ARTEMISI_INST(inst, INSTANCE_ID));
}
