/*
 * Per-peer replication queue (protocol.md §6.5): the writes this node accepted from clients,
 * waiting to be forwarded to one peer. Pure module: no sockets, no clock (times are passed
 * in), so the coalescing, batching, bounds and expiry rules are unit-tested by feeding it
 * tasks.
 *
 * One task per InstanceKey is pending at a time: a newer write for the same instance
 * coalesces into the queued one (keeping the older submit time, like Java's task id
 * replacement), so a flood of heartbeats costs one slot per instance:
 *   heartbeat onto register  -> stays a register (a register renews too)
 *   heartbeat onto heartbeat -> one heartbeat with the newer body
 *   register / unregister    -> replace whatever was queued
 * While a task is in flight, a newer write for its key waits ("blocked") until the in-flight
 * one has finished, so two writes for one instance never race on the wire.
 * Tasks expire at submit + TTL of their operation and are dropped (counted) when seen
 * expired; the queue is bounded and drops its oldest task on overflow (counted).
 * Thread-safety: handle (the server loop only).
 */
#ifndef ARTEMIS_SERVER_REPLICATE_H
#define ARTEMIS_SERVER_REPLICATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dict.h"

/* Same order as srv_op_t. */
typedef enum { SRV_REPL_REGISTER = 0, SRV_REPL_HEARTBEAT, SRV_REPL_UNREGISTER } srv_repl_op_t;

typedef struct srv_repl_task {
    struct srv_repl_task *prev, *next; /* queue links (queued tasks only) */
    struct srv_repl_task *newer;       /* in flight: the queued successor for the key */
    struct srv_repl_task *older;       /* blocked: the in-flight predecessor */
    srv_repl_op_t op;
    uint8_t state; /* SRV_REPL_QUEUED / SRV_REPL_INFLIGHT / SRV_REPL_BLOCKED */
    int64_t submit_ms, expire_ms;
    char *json; /* the Instance JSON, owned */
    size_t json_len;
    char key[]; /* InstanceKey */
} srv_repl_task_t;

enum { SRV_REPL_QUEUED = 1, SRV_REPL_INFLIGHT, SRV_REPL_BLOCKED };

typedef struct srv_repl_stats {
    uint64_t enqueued, coalesced;
    uint64_t batches, sent, failed_batches;
    uint64_t requeued;
    uint64_t dropped_overflow, dropped_expired, dropped_permanent;
} srv_repl_stats_t;

typedef struct srv_repl_queue {
    artemisi_dict_t by_key; /* InstanceKey -> newest task (queued, blocked or in flight) */
    srv_repl_task_t *head, *tail;
    size_t n_queued; /* queued + blocked, i.e. the depth */
    size_t n_inflight;
    size_t max;
    int64_t ttl_ms[3];
    srv_repl_stats_t stats;
} srv_repl_queue_t;

/* A batch taken for sending: tasks of one operation. */
typedef struct srv_repl_batch {
    srv_repl_op_t op;
    srv_repl_task_t **tasks;
    size_t n, cap;
} srv_repl_batch_t;

void srv_repl_init(srv_repl_queue_t *q, size_t max, int64_t ttl_register_ms,
                   int64_t ttl_heartbeat_ms, int64_t ttl_unregister_ms, uint64_t seed0,
                   uint64_t seed1);
/* Frees every queued task; in-flight tasks belong to their batches (free those first). */
void srv_repl_free(srv_repl_queue_t *q);

/* Queue a write (json copied). Returns 0, or -1 on OOM (nothing queued). */
int srv_repl_push(srv_repl_queue_t *q, srv_repl_op_t op, const char *key, const char *json,
                  size_t json_len, int64_t now_ms);

size_t srv_repl_depth(const srv_repl_queue_t *q);
/* Submit time of the oldest sendable task, or -1 when none. */
int64_t srv_repl_oldest(const srv_repl_queue_t *q);
/* Number of sendable (queued, not blocked) tasks. Counts up to `limit` and stops. */
size_t srv_repl_ready(const srv_repl_queue_t *q, size_t limit);

/* Drop expired tasks from the front and take up to `max` sendable tasks of the head task's
 * operation into b (which must be empty; srv_repl_batch_reset). Returns b->n. */
size_t srv_repl_take(srv_repl_queue_t *q, int64_t now_ms, size_t max, srv_repl_batch_t *b);
/* Drop the expired tasks at the head of the queue (for a peer that cannot be sent to). */
void srv_repl_expire(srv_repl_queue_t *q, int64_t now_ms);
/* {"instances":[json,...]} */
int srv_repl_batch_body(const srv_repl_batch_t *b, artemisi_buf_t *out);

/* Finish one task of a batch. ok: delivered (or permanently failed, when permanent is set:
 * counted as dropped). Otherwise it is put back at the head of the queue unless expired or
 * superseded by a newer write. The task pointer is invalid afterwards. */
void srv_repl_done(srv_repl_queue_t *q, srv_repl_task_t *t, int ok, int permanent, int64_t now_ms);
/* Finish every task of b with the same outcome, then empty b. */
void srv_repl_batch_done(srv_repl_queue_t *q, srv_repl_batch_t *b, int ok, int permanent,
                         int64_t now_ms);
/* Find the task for key in b (NULL if absent). */
srv_repl_task_t *srv_repl_batch_find(const srv_repl_batch_t *b, const char *key);

void srv_repl_batch_reset(srv_repl_batch_t *b);
void srv_repl_batch_free(srv_repl_batch_t *b);

#endif
