/*
 * Bounded versioned change log; see changelog.h.
 */
#include <stdlib.h>
#include <string.h>

#include "changelog.h"

int srv_changelog_init(srv_changelog_t *cl, size_t capacity)
{
    memset(cl, 0, sizeof(*cl));
    if (capacity == 0)
        capacity = 1;
    cl->ring = calloc(capacity, sizeof(*cl->ring));
    if (!cl->ring)
        return -1;
    cl->capacity = capacity;
    return 0;
}

void srv_changelog_free(srv_changelog_t *cl)
{
    for (size_t i = 0; i < cl->capacity && cl->ring; i++)
        artemisi_instance_unref(cl->ring[i].inst);
    free(cl->ring);
    memset(cl, 0, sizeof(*cl));
}

static void drop_oldest(srv_changelog_t *cl)
{
    srv_change_t *c = &cl->ring[srv_changelog_oldest(cl) % cl->capacity];
    cl->bytes -= artemisi_instance_size(c->inst);
    artemisi_instance_unref(c->inst);
    c->inst = NULL;
    cl->count--;
}

void srv_changelog_set_max_bytes(srv_changelog_t *cl, size_t max_bytes)
{
    cl->max_bytes = max_bytes;
    while (cl->max_bytes && cl->count > 1 && cl->bytes > cl->max_bytes)
        drop_oldest(cl);
}

uint64_t srv_changelog_append(srv_changelog_t *cl, srv_change_type_t type,
                              artemisi_instance_t *inst, int64_t time_ms)
{
    if (cl->count == cl->capacity)
        drop_oldest(cl); /* the oldest change falls off */
    uint64_t seq = ++cl->head;
    srv_change_t *c = &cl->ring[seq % cl->capacity];
    c->seq = seq;
    c->time_ms = time_ms;
    c->type = type;
    c->inst = artemisi_instance_ref(inst);
    cl->bytes += artemisi_instance_size(inst);
    cl->count++;
    while (cl->max_bytes && cl->count > 1 && cl->bytes > cl->max_bytes)
        drop_oldest(cl);
    return seq;
}

uint64_t srv_changelog_oldest(const srv_changelog_t *cl)
{
    return cl->head + 1 - cl->count;
}

const srv_change_t *srv_changelog_get(const srv_changelog_t *cl, uint64_t seq)
{
    if (seq == 0 || seq > cl->head || seq < srv_changelog_oldest(cl))
        return NULL;
    return &cl->ring[seq % cl->capacity];
}

int srv_changelog_covers(const srv_changelog_t *cl, uint64_t seq)
{
    return seq <= cl->head && seq + 1 >= srv_changelog_oldest(cl);
}

const char *srv_change_type_name(srv_change_type_t t)
{
    switch (t) {
    case SRV_CHANGE_NEW:
        return "new";
    case SRV_CHANGE_DELETE:
        return "delete";
    case SRV_CHANGE_RELOAD:
        return "reload";
    }
    return "unknown";
}
