/*
 * The change log: one bounded, versioned ring of instance changes (new / delete / reload).
 * Every change the registry makes is appended here; delta sync (services-delta.json),
 * WebSocket push and, later, replication read from it. Pure module.
 *
 * Sequence numbers start at 1 and never repeat within a process. The ring keeps the newest
 * `capacity` changes; a reader asking for changes older than the oldest kept one is told
 * to resync from a full snapshot (services.json).
 * Ownership: each entry holds one reference on its packed instance.
 * Thread-safety: handle (the server loop only).
 */
#ifndef ARTEMIS_SERVER_CHANGELOG_H
#define ARTEMIS_SERVER_CHANGELOG_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum { SRV_CHANGE_NEW = 0, SRV_CHANGE_DELETE, SRV_CHANGE_RELOAD } srv_change_type_t;

typedef struct srv_change {
    uint64_t seq;
    int64_t time_ms; /* wall clock, the wire's changeTime */
    srv_change_type_t type;
    artemisi_instance_t *inst;
} srv_change_t;

typedef struct srv_changelog {
    srv_change_t *ring;
    size_t capacity;
    size_t count;
    uint64_t head;    /* seq of the newest change, 0 if none */
    size_t bytes;     /* instance bytes referenced by the entries */
    size_t max_bytes; /* 0 = bounded by count only */
} srv_changelog_t;

int srv_changelog_init(srv_changelog_t *cl, size_t capacity);
void srv_changelog_free(srv_changelog_t *cl);
/* Also bound the log by the bytes of the instances it references, so a flood of large
 * instances cannot pin memory through the log (oldest entries are dropped first; at least
 * the newest entry is kept). 0 = no byte bound. */
void srv_changelog_set_max_bytes(srv_changelog_t *cl, size_t max_bytes);
/* Append (takes a new reference on inst). Returns the new change's seq. Never fails. */
uint64_t srv_changelog_append(srv_changelog_t *cl, srv_change_type_t type,
                              artemisi_instance_t *inst, int64_t time_ms);
/* Oldest seq still held (head + 1 when empty). */
uint64_t srv_changelog_oldest(const srv_changelog_t *cl);
/* Borrowed pointer to the change with this seq, or NULL if it is not held. */
const srv_change_t *srv_changelog_get(const srv_changelog_t *cl, uint64_t seq);
/* True if every change after `seq` is still held (a delta from seq can be computed). */
int srv_changelog_covers(const srv_changelog_t *cl, uint64_t seq);
const char *srv_change_type_name(srv_change_type_t t);

#endif
