/*
 * The public instance API: the builder an application fills in to register itself
 * (artemis_instance_new/set/free) and the getters, which work both on builders and on the
 * packed instances inside snapshots because both start with an artemisi_instance_t
 * (sdk_int.h). A builder's draft points only at strings the builder owns.
 * Thread-safety: a builder is a handle; getters on snapshot instances are MT-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artemis/service.h"
#include "model.h"
#include "sdk_int.h"

static void sync_draft(artemis_instance_t *b)
{
    for (int i = 0; i < ARTEMISI_F_COUNT; i++)
        b->d.f[i] = b->f[i];
    b->d.meta = b->meta ? (const char **)(void *)b->meta : NULL;
}

/* Replace field i with a copy of value (NULL clears). */
static artemis_err_t set_field(artemis_instance_t *b, int i, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return ARTEMIS_ERR_NOMEM;
    free(b->f[i]);
    b->f[i] = copy;
    sync_draft(b);
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_instance_t *
artemis_instance_new(const char *service_id, const char *instance_id, const char *ip, int port)
{
    if (artemisi_blank(service_id) || artemisi_blank(instance_id) || artemisi_blank(ip) ||
        port <= 0 || port > 65535)
        return NULL;
    artemis_instance_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    /* An IPv6 literal goes in brackets inside the default URL. */
    int v6 = strchr(ip, ':') != NULL;
    int n = snprintf(NULL, 0, v6 ? "http://[%s]:%d/" : "http://%s:%d/", ip, port);
    char *url = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (url)
        snprintf(url, (size_t)n + 1, v6 ? "http://[%s]:%d/" : "http://%s:%d/", ip, port);
    b->f[ARTEMISI_F_URL] = url;
    if (!url || set_field(b, ARTEMISI_F_SERVICE_ID, service_id) ||
        set_field(b, ARTEMISI_F_INSTANCE_ID, instance_id) || set_field(b, ARTEMISI_F_IP, ip) ||
        set_field(b, ARTEMISI_F_PROTOCOL, "http") || set_field(b, ARTEMISI_F_STATUS, "up")) {
        artemis_instance_free(b);
        return NULL;
    }
    b->d.port = port;
    b->d.meta_null = 0; /* metadata {} rather than null */
    b->d.packed = 0;
    sync_draft(b);
    return b;
}

ARTEMIS_EXPORT void artemis_instance_free(artemis_instance_t *inst)
{
    if (!inst)
        return;
    for (int i = 0; i < ARTEMISI_F_COUNT; i++)
        free(inst->f[i]);
    for (size_t i = 0; i < 2 * (size_t)inst->d.n_meta; i++)
        free(inst->meta[i]);
    free(inst->meta);
    free(inst);
}

ARTEMIS_EXPORT artemis_err_t artemis_instance_set(artemis_instance_t *inst, artemis_field_t field,
                                                  const char *value)
{
    if (!inst || (int)field < 0 || (int)field >= ARTEMISI_F_COUNT)
        return ARTEMIS_ERR_INVALID_ARG;
    /* The identity of a registration cannot be cleared. */
    if ((field == ARTEMIS_FIELD_SERVICE_ID || field == ARTEMIS_FIELD_INSTANCE_ID) &&
        artemisi_blank(value))
        return ARTEMIS_ERR_INVALID_ARG;
    return set_field(inst, (int)field, value);
}

ARTEMIS_EXPORT artemis_err_t artemis_instance_set_port(artemis_instance_t *inst, int port)
{
    if (!inst || port <= 0 || port > 65535)
        return ARTEMIS_ERR_INVALID_ARG;
    inst->d.port = port;
    return ARTEMIS_OK;
}

/* value NULL removes the entry. */
ARTEMIS_EXPORT artemis_err_t artemis_instance_set_metadata(artemis_instance_t *inst,
                                                           const char *key, const char *value)
{
    if (!inst || !key)
        return ARTEMIS_ERR_INVALID_ARG;
    size_t n = inst->d.n_meta;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(inst->meta[2 * i], key) != 0)
            continue;
        if (!value) {
            free(inst->meta[2 * i]);
            free(inst->meta[2 * i + 1]);
            memmove(&inst->meta[2 * i], &inst->meta[2 * i + 2], (n - i - 1) * 2 * sizeof(char *));
            inst->d.n_meta--;
            sync_draft(inst);
            return ARTEMIS_OK;
        }
        char *v = strdup(value);
        if (!v)
            return ARTEMIS_ERR_NOMEM;
        free(inst->meta[2 * i + 1]);
        inst->meta[2 * i + 1] = v;
        sync_draft(inst);
        return ARTEMIS_OK;
    }
    if (!value)
        return ARTEMIS_OK;
    if (n >= UINT32_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    if (n == inst->meta_cap) {
        size_t cap = inst->meta_cap ? inst->meta_cap * 2 : 4;
        char **m = realloc(inst->meta, cap * 2 * sizeof(char *));
        if (!m)
            return ARTEMIS_ERR_NOMEM;
        inst->meta = m;
        inst->meta_cap = cap;
        sync_draft(inst);
    }
    char *k = strdup(key);
    char *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return ARTEMIS_ERR_NOMEM;
    }
    inst->meta[2 * n] = k;
    inst->meta[2 * n + 1] = v;
    inst->d.n_meta++;
    sync_draft(inst);
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT const char *artemis_instance_get(const artemis_instance_t *inst,
                                                artemis_field_t field)
{
    if (!inst || (int)field < 0 || (int)field >= ARTEMISI_F_COUNT)
        return NULL;
    return artemisi_instance_of(inst)->f[field];
}

ARTEMIS_EXPORT int artemis_instance_port(const artemis_instance_t *inst)
{
    return inst ? artemisi_instance_of(inst)->port : 0;
}

ARTEMIS_EXPORT const char *artemis_instance_metadata(const artemis_instance_t *inst,
                                                     const char *key)
{
    if (!inst || !key)
        return NULL;
    return artemisi_instance_meta(artemisi_instance_of(inst), key);
}

ARTEMIS_EXPORT size_t artemis_instance_metadata_count(const artemis_instance_t *inst)
{
    return inst ? artemisi_instance_of(inst)->n_meta : 0;
}

ARTEMIS_EXPORT const char *artemis_instance_metadata_key(const artemis_instance_t *inst, size_t i)
{
    return i < artemis_instance_metadata_count(inst) ? artemisi_instance_of(inst)->meta[2 * i]
                                                     : NULL;
}

ARTEMIS_EXPORT const char *artemis_instance_metadata_value(const artemis_instance_t *inst, size_t i)
{
    return i < artemis_instance_metadata_count(inst) ? artemisi_instance_of(inst)->meta[2 * i + 1]
                                                     : NULL;
}
