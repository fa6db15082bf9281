/*
 * Per-peer replication queue (see replicate.h): a FIFO of tasks plus an index by InstanceKey
 * for coalescing. The index always points at the newest task of a key: a queued one, a
 * blocked successor of an in-flight one, or the in-flight one itself.
 */
#include "replicate.h"

#include <stdlib.h>
#include <string.h>

void srv_repl_init(srv_repl_queue_t *q, size_t max, int64_t ttl_register_ms,
                   int64_t ttl_heartbeat_ms, int64_t ttl_unregister_ms, uint64_t seed0,
                   uint64_t seed1)
{
    memset(q, 0, sizeof(*q));
    artemisi_dict_init(&q->by_key, seed0, seed1);
    q->max = max ? max : 1;
    q->ttl_ms[SRV_REPL_REGISTER] = ttl_register_ms;
    q->ttl_ms[SRV_REPL_HEARTBEAT] = ttl_heartbeat_ms;
    q->ttl_ms[SRV_REPL_UNREGISTER] = ttl_unregister_ms;
}

static void task_free(srv_repl_task_t *t)
{
    free(t->json);
    free(t);
}

void srv_repl_free(srv_repl_queue_t *q)
{
    srv_repl_task_t *t = q->head;
    while (t) {
        srv_repl_task_t *n = t->next;
        task_free(t);
        t = n;
    }
    artemisi_dict_free(&q->by_key);
    q->head = q->tail = NULL;
    q->n_queued = 0;
}

static void unlink_task(srv_repl_queue_t *q, srv_repl_task_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->prev = t->next = NULL;
    q->n_queued--;
}

static void append_task(srv_repl_queue_t *q, srv_repl_task_t *t)
{
    t->next = NULL;
    t->prev = q->tail;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    q->n_queued++;
}

static void prepend_task(srv_repl_queue_t *q, srv_repl_task_t *t)
{
    t->prev = NULL;
    t->next = q->head;
    if (q->head)
        q->head->prev = t;
    else
        q->tail = t;
    q->head = t;
    q->n_queued++;
}

/* Point the index for t's key at `to` (or remove it when to is NULL). */
static void index_set(srv_repl_queue_t *q, srv_repl_task_t *t, srv_repl_task_t *to)
{
    artemisi_dict_del(&q->by_key, t->key);
    if (to) {
        int failed = 0;
        artemisi_dict_put(&q->by_key, to->key, to, &failed);
        /* Re-inserting a key just removed cannot need more room; ignore the flag. */
        (void)failed;
    }
}

/* Drop a queued or blocked task. */
static void drop_queued(srv_repl_queue_t *q, srv_repl_task_t *t)
{
    unlink_task(q, t);
    if (t->older) {
        t->older->newer = NULL;
        index_set(q, t, t->older);
    } else {
        index_set(q, t, NULL);
    }
    task_free(t);
}

static srv_repl_task_t *task_new(const char *key, const char *json, size_t len)
{
    size_t kl = strlen(key);
    srv_repl_task_t *t = calloc(1, sizeof(*t) + kl + 1);
    if (!t)
        return NULL;
    memcpy(t->key, key, kl + 1);
    t->json = malloc(len + 1);
    if (!t->json) {
        free(t);
        return NULL;
    }
    memcpy(t->json, json, len);
    t->json[len] = '\0';
    t->json_len = len;
    return t;
}

static int coalesce(srv_repl_queue_t *q, srv_repl_task_t *t, srv_repl_op_t op, const char *json,
                    size_t len)
{
    q->stats.coalesced++;
    if (op == SRV_REPL_HEARTBEAT && t->op == SRV_REPL_REGISTER)
        return 0; /* the queued register renews as well */
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    copy[len] = '\0';
    free(t->json);
    t->json = copy;
    t->json_len = len;
    t->op = op;
    t->expire_ms = t->submit_ms + q->ttl_ms[op];
    return 0;
}

int srv_repl_push(srv_repl_queue_t *q, srv_repl_op_t op, const char *key, const char *json,
                  size_t json_len, int64_t now_ms)
{
    srv_repl_task_t *cur = artemisi_dict_get(&q->by_key, key);
    if (cur && cur->state != SRV_REPL_INFLIGHT)
        return coalesce(q, cur, op, json, json_len);
    srv_repl_task_t *t = task_new(key, json, json_len);
    if (!t)
        return -1;
    t->op = op;
    t->submit_ms = now_ms;
    t->expire_ms = now_ms + q->ttl_ms[op];
    t->state = cur ? SRV_REPL_BLOCKED : SRV_REPL_QUEUED;
    int failed = 0;
    if (cur) {
        artemisi_dict_del(&q->by_key, key);
        artemisi_dict_put(&q->by_key, t->key, t, &failed);
        if (failed) {
            artemisi_dict_put(&q->by_key, cur->key, cur, &failed);
            task_free(t);
            return -1;
        }
        cur->newer = t;
        t->older = cur;
    } else {
        artemisi_dict_put(&q->by_key, t->key, t, &failed);
        if (failed) {
            task_free(t);
            return -1;
        }
    }
    append_task(q, t);
    q->stats.enqueued++;
    while (q->n_queued > q->max && q->head) {
        q->stats.dropped_overflow++;
        drop_queued(q, q->head);
    }
    return 0;
}

size_t srv_repl_depth(const srv_repl_queue_t *q)
{
    return q->n_queued;
}

int64_t srv_repl_oldest(const srv_repl_queue_t *q)
{
    for (const srv_repl_task_t *t = q->head; t; t = t->next)
        if (t->state == SRV_REPL_QUEUED)
            return t->submit_ms;
    return -1;
}

size_t srv_repl_ready(const srv_repl_queue_t *q, size_t limit)
{
    size_t n = 0;
    for (const srv_repl_task_t *t = q->head; t && n < limit; t = t->next)
        if (t->state == SRV_REPL_QUEUED)
            n++;
    return n;
}

static int batch_add(srv_repl_batch_t *b, srv_repl_task_t *t)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        srv_repl_task_t **p = realloc(b->tasks, cap * sizeof(*p));
        if (!p)
            return -1;
        b->tasks = p;
        b->cap = cap;
    }
    b->tasks[b->n++] = t;
    return 0;
}

size_t srv_repl_take(srv_repl_queue_t *q, int64_t now_ms, size_t max, srv_repl_batch_t *b)
{
    size_t visited = 0, limit = max * 4 + 16;
    srv_repl_task_t *t = q->head;
    while (t && b->n < max && visited++ < limit) {
        srv_repl_task_t *next = t->next;
        if (t->expire_ms <= now_ms) {
            q->stats.dropped_expired++;
            drop_queued(q, t);
        } else if (t->state == SRV_REPL_QUEUED && (b->n == 0 || t->op == b->op)) {
            if (b->n == 0)
                b->op = t->op;
            if (batch_add(b, t) != 0)
                break;
            unlink_task(q, t);
            t->state = SRV_REPL_INFLIGHT;
            q->n_inflight++;
        }
        t = next;
    }
    return b->n;
}

void srv_repl_expire(srv_repl_queue_t *q, int64_t now_ms)
{
    while (q->head && q->head->expire_ms <= now_ms) {
        q->stats.dropped_expired++;
        drop_queued(q, q->head);
    }
}

int srv_repl_batch_body(const srv_repl_batch_t *b, artemisi_buf_t *out)
{
    int rc = artemisi_buf_appends(out, "{\"instances\":[");
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (i)
            rc |= artemisi_buf_appendc(out, ',');
        rc |= artemisi_buf_append(out, b->tasks[i]->json, b->tasks[i]->json_len);
    }
    rc |= artemisi_buf_appends(out, "]}");
    return rc ? -1 : 0;
}

void srv_repl_done(srv_repl_queue_t *q, srv_repl_task_t *t, int ok, int permanent, int64_t now_ms)
{
    q->n_inflight--;
    srv_repl_task_t *newer = t->newer;
    int expired = t->expire_ms <= now_ms;
    if (!ok && !permanent && !expired && !newer) {
        t->state = SRV_REPL_QUEUED;
        prepend_task(q, t);
        q->stats.requeued++;
        return;
    }
    if (!ok && permanent)
        q->stats.dropped_permanent++;
    else if (!ok && expired && !newer)
        q->stats.dropped_expired++;
    if (newer) {
        newer->older = NULL;
        newer->state = SRV_REPL_QUEUED;
        /* A failed register followed by a heartbeat: send the register (with the newer body). */
        if (!ok && t->op == SRV_REPL_REGISTER && newer->op == SRV_REPL_HEARTBEAT) {
            newer->op = SRV_REPL_REGISTER;
            newer->expire_ms = newer->submit_ms + q->ttl_ms[SRV_REPL_REGISTER];
        }
    } else {
        index_set(q, t, NULL);
    }
    task_free(t);
}

void srv_repl_batch_done(srv_repl_queue_t *q, srv_repl_batch_t *b, int ok, int permanent,
                         int64_t now_ms)
{
    /* Last first, so re-queued tasks keep their order at the head of the queue. */
    for (size_t i = b->n; i-- > 0;)
        if (b->tasks[i])
            srv_repl_done(q, b->tasks[i], ok, permanent, now_ms);
    b->n = 0;
}

srv_repl_task_t *srv_repl_batch_find(const srv_repl_batch_t *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->tasks[i] && strcmp(b->tasks[i]->key, key) == 0)
            return b->tasks[i];
    return NULL;
}

void srv_repl_batch_reset(srv_repl_batch_t *b)
{
    b->n = 0;
}

void srv_repl_batch_free(srv_repl_batch_t *b)
{
    free(b->tasks);
    b->tasks = NULL;
    b->n = b->cap = 0;
}
