/*
 * I/O threads for plain HTTP connections (http_io.h). The split follows the measured cost of a
 * request (docs/design.md "More than one core"): three quarters of a register or heartbeat is
 * the kernel's read, write and epoll, which any thread can do; only the registry work has to
 * stay on the loop. So a thread reads and parses, the loop answers into an evbuffer (tx), and
 * the thread writes it.
 *
 * A connection crosses by being put on a queue with a word of ops (SRV_IO_*): no allocation
 * per message, so no message can be lost to an allocation failure. A connection is queued at
 * most once per direction; more ops for a queued one are OR-ed into its word. The taker wakes
 * through an eventfd written only when the queue was empty. Both sides hold their posts and
 * put them on the queue together: the loop at the end of each batch it took, a thread after
 * each pass of its event loop. Posting each answer on its own cost the loop one eventfd write
 * per request (strace: 37,776 writes to 1,230 epoll_waits).
 *
 * Lifetime: the thread posts SRV_IO_CLOSED exactly once, after which it posts nothing more
 * for that connection; the loop answers SRV_IO_RELEASE, after which it touches nothing; the
 * thread then frees it. Queues are FIFO, so whatever the loop posted before RELEASE reaches
 * the thread first, and every post lands on a live connection.
 *
 * Each thread's event base is used by that thread alone, so libevent needs no locking (it is
 * not enabled: the loop's base would pay for it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "http_io.h"
#include "list.h"
#include "log.h"

/* One direction's queue: connections with a word of ops each, under mu. The taker is woken
 * through efd when the queue goes from empty to not. */
typedef struct queue {
    pthread_mutex_t mu;
    srv_conn_t *head, *tail;
    int efd;
    int to_io; /* which of a connection's links it uses */
} queue_t;

/* A poster's held posts to one queue: its own, flushed under one lock. */
typedef struct held {
    srv_conn_t *first;
    int n;
} held_t;

typedef struct srv_io {
    srv_io_pool_t *pool;
    pthread_t th;
    int started;
    struct event_base *base;
    struct event *ev_wake;
    queue_t in;        /* loop -> thread */
    int stop;          /* under in.mu */
    held_t loop_held;  /* the loop's posts to this thread */
    held_t held;       /* this thread's posts to the loop */
    srv_conn_t *conns; /* the thread's connections */
} srv_io_t;

struct srv_io_pool {
    srv_server_t *srv;
    int n, next, stopped;
    int batching; /* the loop is inside loop_cb: its posts wait for the batch's end */
    struct timeval idle;
    srv_io_t *io;
    queue_t out; /* threads -> loop */
    struct event *ev;
};

/* Posts held before they are flushed early. Holding all of a batch made the two sides take
 * turns: 32 lookups made on the loop while the thread waited, then written while the loop
 * waited (one core busy of two, lookups at 0.59x one loop). Flushing each post woke the other
 * side per request (register: 3.7 us of the loop's time, against 2.9 us with 8). */
#define FLUSH_EVERY 8

static void wake(int efd)
{
    uint64_t one = 1;
    /* Cannot fail short of 2^64 - 1 unread wake-ups. */
    ssize_t w = write(efd, &one, sizeof(one));
    (void)w;
}

static void unwake(int efd)
{
    uint64_t v;
    ssize_t r = read(efd, &v, sizeof(v));
    (void)r;
}

static srv_io_link_t *link_of(srv_conn_t *c, const queue_t *q)
{
    return q->to_io ? &c->to_io : &c->to_loop;
}

/* Poster: hold ops for c until flush(). */
static void hold(const queue_t *q, held_t *h, srv_conn_t *c, unsigned ops)
{
    srv_io_link_t *l = link_of(c, q);
    if (!l->held) {
        l->held_next = h->first;
        h->first = c;
    }
    l->held |= ops;
    h->n++;
}

/* Poster: the held posts onto the queue, under one lock and with at most one wake-up. After
 * this the poster may not touch a connection whose last word it posted (CLOSED, MIGRATED,
 * RELEASE): the other side may free it. */
static void flush(queue_t *q, held_t *h)
{
    if (!h->first)
        return;
    pthread_mutex_lock(&q->mu);
    int was_empty = q->head == NULL;
    for (srv_conn_t *c = h->first, *next; c; c = next) {
        srv_io_link_t *l = link_of(c, q);
        next = l->held_next;
        if (!l->ops) {
            l->next = NULL;
            if (q->tail)
                link_of(q->tail, q)->next = c;
            else
                q->head = c;
            q->tail = c;
        }
        l->ops |= l->held;
        l->held = 0;
    }
    pthread_mutex_unlock(&q->mu);
    h->first = NULL;
    h->n = 0;
    if (was_empty)
        wake(q->efd);
}

/* Taker: the whole queue. Each connection's ops move to its work word under the lock, and the
 * batch is chained by work_next: the queue link may be reused the moment the lock is let go. */
static srv_conn_t *take(queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    srv_conn_t *batch = q->head;
    q->head = q->tail = NULL;
    for (srv_conn_t *c = batch; c; c = link_of(c, q)->work_next) {
        srv_io_link_t *l = link_of(c, q);
        l->work_next = l->next;
        l->work_ops = l->ops;
        l->ops = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return batch;
}

static int queue_init(queue_t *q, int to_io)
{
    pthread_mutex_init(&q->mu, NULL);
    q->to_io = to_io;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return q->efd < 0 ? -1 : 0;
}

static void queue_destroy(queue_t *q)
{
    if (q->efd >= 0)
        close(q->efd);
    pthread_mutex_destroy(&q->mu);
}

/* ---- the thread's side --------------------------------------------------------------------- */

/* Thread: tell the loop, at the end of this pass of the thread's event loop or after
 * FLUSH_EVERY posts. */
static void to_loop(srv_conn_t *c, unsigned ops)
{
    srv_io_t *io = c->io;
    hold(&io->pool->out, &io->held, c, ops);
    if (io->held.n >= FLUSH_EVERY)
        flush(&io->pool->out, &io->held);
}

static void io_close(srv_conn_t *c)
{
    if (c->io_dead)
        return;
    c->io_dead = 1;
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    c->fd = -1;
    atomic_store_explicit(&c->idle_since, 0, memory_order_relaxed);
    to_loop(c, SRV_IO_CLOSED);
}

/* The parser holds a whole request (status 0) or an error to answer: the loop's turn. */
static void hand_over(srv_conn_t *c, int status)
{
    c->io_status = status;
    c->io_waiting = 1;
    bufferevent_disable(c->bev, EV_READ);
    to_loop(c, SRV_IO_REQUEST);
}

static void io_read_cb(struct bufferevent *bev, void *arg)
{
    srv_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->io_closing || c->io_paused || c->io_waiting || c->io_migrating ||
        evbuffer_get_length(in) == 0)
        return;
    atomic_store_explicit(&c->idle_since, 0, memory_order_relaxed);
    int st = srv_hconn_feed(c, in, bufferevent_get_output(bev));
    if (st >= 0)
        hand_over(c, st); /* a request, or an error the loop answers */
}

/* Migration: the socket and the bytes read past the request go to the loop. */
static void detach(srv_conn_t *c)
{
    srv_io_t *io = c->io;
    if (!(c->rx = evbuffer_new())) {
        io_close(c); /* the loop sees the connection close */
        return;
    }
    evbuffer_add_buffer(c->rx, bufferevent_get_input(c->bev));
    bufferevent_free(c->bev); /* made without BEV_OPT_CLOSE_ON_FREE: the socket stays open */
    c->bev = NULL;
    ARTEMISI_DLIST_UNLINK_AT(io->conns, c, io_next, io_prev);
    to_loop(c, SRV_IO_MIGRATED);
}

static void io_write_cb(struct bufferevent *bev, void *arg)
{
    srv_conn_t *c = arg;
    size_t len = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->io_closing) {
        if (len == 0)
            io_close(c);
        return;
    }
    if (c->io_migrating) {
        if (len == 0)
            detach(c);
        return;
    }
    if (c->io_paused && len < SRV_HTTP_OUT_HIGH_WATER / 2) {
        c->io_paused = 0;
        bufferevent_enable(bev, EV_READ);
        io_read_cb(bev, c); /* pipelined requests may already be buffered */
        return;
    }
    if (len == 0 && !c->io_waiting && c->req_start == 0 &&
        evbuffer_get_length(bufferevent_get_input(bev)) == 0)
        atomic_store_explicit(&c->idle_since, c->last_active, memory_order_relaxed);
}

static void io_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF, error or the idle timeout: all end the connection */
    io_close(arg);
}

static void adopt(srv_io_t *io, srv_conn_t *c)
{
    ARTEMISI_DLIST_PUSH_AT(io->conns, c, io_next, io_prev);
    c->bev = bufferevent_socket_new(io->base, c->fd, 0); /* 0: migration keeps the socket */
    if (!c->bev) {
        io_close(c);
        return;
    }
    /* as http_conn.c's: one write event sends a whole answer of up to 1 MB */
    bufferevent_set_max_single_write(c->bev, SRV_HTTP_MAX_SINGLE_WRITE);
    bufferevent_set_timeouts(c->bev, &io->pool->idle, &io->pool->idle);
    bufferevent_setcb(c->bev, io_read_cb, io_write_cb, io_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void answer(srv_conn_t *c, int close_after)
{
    if (c->io_dead) {
        evbuffer_drain(c->tx, evbuffer_get_length(c->tx)); /* its references let go here */
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_buffer(out, c->tx);
    c->io_waiting = 0;
    srv_http_parser_reset(c->parser);
    c->req_start = 0;
    c->sent_continue = 0;
    c->last_active = srv_now_mono();
    if (close_after) {
        c->io_closing = 1;
        if (evbuffer_get_length(out) == 0)
            io_close(c);
        return;
    }
    if (evbuffer_get_length(out) > SRV_HTTP_OUT_HIGH_WATER) {
        c->io_paused = 1; /* io_write_cb reads on once it has drained */
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
    io_read_cb(c->bev, c); /* a pipelined request may be buffered already */
}

static void io_free_conn(srv_conn_t *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    srv_http_parser_free(c->parser);
    if (c->tx)
        evbuffer_free(c->tx);
    if (c->rx)
        evbuffer_free(c->rx);
    free(c);
}

static void run_ops(srv_io_t *io, srv_conn_t *c, unsigned ops)
{
    if (ops & SRV_IO_ADOPT)
        adopt(io, c);
    if (ops & SRV_IO_ANSWER)
        answer(c, (ops & SRV_IO_CLOSE_AFTER) != 0);
    if ((ops & SRV_IO_MIGRATE) && !c->io_dead) {
        c->io_migrating = 1;
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            detach(c);
    }
    if (ops & SRV_IO_CLOSE)
        io_close(c);
    if (ops & SRV_IO_RELEASE) {
        ARTEMISI_DLIST_UNLINK_AT(io->conns, c, io_next, io_prev);
        io_free_conn(c);
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_io_t *io = arg;
    (void)what;
    unwake((int)fd); /* before taking: a post after the take wakes us again */
    pthread_mutex_lock(&io->in.mu);
    int stop = io->stop;
    pthread_mutex_unlock(&io->in.mu);
    if (stop)
        return; /* io_main sees it at the end of this pass */
    for (srv_conn_t *c = take(&io->in), *next; c; c = next) {
        next = c->to_io.work_next; /* read first: run_ops may free c */
        run_ops(io, c, c->to_io.work_ops);
    }
}

/* One pass at a time, so the pass's posts go to the loop together. */
static void *io_main(void *arg)
{
    srv_io_t *io = arg;
    for (;;) {
        event_base_loop(io->base, EVLOOP_ONCE);
        flush(&io->pool->out, &io->held);
        pthread_mutex_lock(&io->in.mu);
        int stop = io->stop;
        pthread_mutex_unlock(&io->in.mu);
        if (stop)
            return NULL;
    }
}

/* ---- the loop's side ----------------------------------------------------------------------- */

void srv_io_post(srv_conn_t *c, unsigned ops)
{
    srv_io_t *io = c->io;
    if (io->pool->stopped)
        return;
    hold(&io->in, &io->loop_held, c, ops);
    /* Outside loop_cb (accept, a deferred answer) at once; inside, every FLUSH_EVERY, so the
     * thread writes the first answers while the loop makes the rest. */
    if (!io->pool->batching || io->loop_held.n >= FLUSH_EVERY)
        flush(&io->in, &io->loop_held);
}

static void loop_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_io_pool_t *p = arg;
    (void)what;
    unwake((int)fd);
    p->batching = 1;
    for (srv_conn_t *c = take(&p->out), *next; c; c = next) {
        next = c->to_loop.work_next; /* read first: c may be freed (migrated, then upgraded) */
        srv_hconn_from_io(c, c->to_loop.work_ops);
    }
    p->batching = 0;
    for (int i = 0; i < p->n; i++)
        flush(&p->io[i].in, &p->io[i].loop_held);
}

struct srv_io *srv_io_pick(srv_io_pool_t *p)
{
    srv_io_t *io = &p->io[p->next];
    p->next = (p->next + 1) % p->n;
    return io;
}

static void io_destroy(srv_io_t *io)
{
    if (io->ev_wake)
        event_free(io->ev_wake);
    if (io->base) {
        /* bufferevent_free queues the real free: run those finalizers */
        for (int i = 0; i < 4; i++)
            event_base_loop(io->base, EVLOOP_NONBLOCK);
        event_base_free(io->base);
    }
    queue_destroy(&io->in);
}

srv_io_pool_t *srv_io_pool_start(srv_server_t *srv, int n, int idle_timeout_ms)
{
    srv_io_pool_t *p = calloc(1, sizeof(*p));
    if (!p || !(p->io = calloc((size_t)n, sizeof(*p->io)))) {
        free(p);
        srv_log(SRV_LOG_ERROR, "http.io-threads: out of memory");
        return NULL;
    }
    p->srv = srv;
    p->idle = (struct timeval){idle_timeout_ms / 1000, (idle_timeout_ms % 1000) * 1000};
    if (queue_init(&p->out, 0) != 0 ||
        !(p->ev = event_new(srv->base, p->out.efd, EV_READ | EV_PERSIST, loop_cb, p)) ||
        event_add(p->ev, NULL) != 0) {
        srv_log(SRV_LOG_ERROR, "http.io-threads: %s", strerror(errno ? errno : ENOMEM));
        srv_io_pool_free(p);
        return NULL;
    }
    /* The threads take no signals: the loop's handlers do (SIGTERM drains, SIGHUP reloads). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = 0;
    for (p->n = 0; p->n < n; p->n++) {
        srv_io_t *io = &p->io[p->n];
        io->pool = p;
        if (queue_init(&io->in, 1) != 0 || !(io->base = event_base_new()) ||
            !(io->ev_wake = event_new(io->base, io->in.efd, EV_READ | EV_PERSIST, wake_cb, io)) ||
            event_add(io->ev_wake, NULL) != 0) {
            err = errno ? errno : ENOMEM;
            p->n++; /* destroyed with the others */
            break;
        }
        if ((err = pthread_create(&io->th, NULL, io_main, io)) != 0) {
            p->n++;
            break;
        }
        io->started = 1;
        char name[16]; /* shown by top -H and ps -L */
        snprintf(name, sizeof(name), "artemis-io%d", p->n);
        pthread_setname_np(io->th, name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        srv_log(SRV_LOG_ERROR, "http.io-threads: cannot start thread %d: %s", p->n - 1,
                strerror(err));
        srv_io_pool_stop(p);
        srv_io_pool_free(p);
        return NULL;
    }
    return p;
}

void srv_io_pool_stop(srv_io_pool_t *p)
{
    if (!p || p->stopped)
        return;
    p->stopped = 1;
    for (int i = 0; i < p->n; i++) {
        srv_io_t *io = &p->io[i];
        if (!io->started)
            continue;
        pthread_mutex_lock(&io->in.mu);
        io->stop = 1;
        pthread_mutex_unlock(&io->in.mu);
        wake(io->in.efd);
        pthread_join(io->th, NULL);
        io->started = 0;
    }
    /* Alone now. A migrated socket no thread holds any more: close it, and let the loop free
     * the connection as its own. Requests and closes are moot at shutdown. */
    for (srv_conn_t *c = take(&p->out); c; c = c->to_loop.work_next) {
        unsigned ops = c->to_loop.work_ops;
        if ((ops & SRV_IO_MIGRATED) && !(ops & SRV_IO_CLOSED)) {
            evutil_closesocket(c->fd);
            c->fd = -1;
            evbuffer_free(c->rx);
            c->rx = NULL;
            c->io = NULL;
        }
    }
    /* A connection posted to a thread that never adopted it is still that thread's. */
    for (int i = 0; i < p->n; i++) {
        srv_io_t *io = &p->io[i];
        for (srv_conn_t *c = take(&io->in); c; c = c->to_io.work_next)
            if (c->to_io.work_ops & SRV_IO_ADOPT)
                ARTEMISI_DLIST_PUSH_AT(io->conns, c, io_next, io_prev);
    }
}

void srv_io_pool_free(srv_io_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        srv_io_t *io = &p->io[i];
        while (io->conns) {
            srv_conn_t *c = io->conns;
            ARTEMISI_DLIST_UNLINK_AT(io->conns, c, io_next, io_prev);
            io_free_conn(c);
        }
        io_destroy(io);
    }
    if (p->ev)
        event_free(p->ev);
    queue_destroy(&p->out);
    free(p->io);
    free(p);
}
