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

typedef struct srv_io {
    srv_io_pool_t *pool;
    pthread_t th;
    int started;
    struct event_base *base;
    struct event *ev_wake;
    int efd;
    pthread_mutex_t mu;
    srv_conn_t *head, *tail;  /* loop -> thread, under mu */
    int stop;                 /* under mu */
    srv_conn_t *conns;        /* the thread's connections */
    srv_conn_t *batched;      /* the thread's posts to the loop, until the pass ends */
    int n_batched;            /* how many: flushed early at FLUSH_EVERY */
    srv_conn_t *loop_batched; /* the loop's posts to this thread, until its batch ends */
    int loop_n_batched;
} srv_io_t;

struct srv_io_pool {
    srv_server_t *srv;
    int n, next, stopped;
    int batching; /* the loop is inside loop_cb: its posts wait for the batch's end */
    struct timeval idle;
    srv_io_t *io;
    pthread_mutex_t mu;
    srv_conn_t *head, *tail; /* threads -> loop, under mu */
    int efd;
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

/* ---- the thread's side --------------------------------------------------------------------- */

static void flush_to_loop(srv_io_t *io);

/* Thread: tell the loop, once this pass of the thread's event loop ends (flush_to_loop). */
static void to_loop(srv_conn_t *c, unsigned ops)
{
    srv_io_t *io = c->io;
    if (!c->io_ops_batched) {
        c->io_next_batched = io->batched;
        io->batched = c;
    }
    c->io_ops_batched |= ops;
    if (++io->n_batched >= FLUSH_EVERY)
        flush_to_loop(io);
}

/* Thread: the pass's posts onto the loop's queue, under one lock and at most one wake-up.
 * After this the thread may not touch a connection it posted CLOSED or MIGRATED for. */
static void flush_to_loop(srv_io_t *io)
{
    srv_io_pool_t *p = io->pool;
    if (!io->batched)
        return;
    pthread_mutex_lock(&p->mu);
    int was_empty = p->head == NULL;
    for (srv_conn_t *c = io->batched, *next; c; c = next) {
        next = c->io_next_batched;
        if (!c->ops_to_loop) {
            c->next_to_loop = NULL;
            if (p->tail)
                p->tail->next_to_loop = c;
            else
                p->head = c;
            p->tail = c;
        }
        c->ops_to_loop |= c->io_ops_batched;
        c->io_ops_batched = 0;
    }
    pthread_mutex_unlock(&p->mu);
    io->batched = NULL;
    io->n_batched = 0;
    if (was_empty)
        wake(p->efd);
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

/* http_conn.c's conn_read_cb, with the dispatch replaced by the hand-over. */
static void io_read_cb(struct bufferevent *bev, void *arg)
{
    srv_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->io_closing && !c->io_paused && !c->io_waiting && !c->io_migrating &&
           evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        int64_t now = srv_now_mono();
        c->last_active = now;
        atomic_store_explicit(&c->idle_since, 0, memory_order_relaxed);
        if (c->req_start == 0)
            c->req_start = now;
        size_t used = 0;
        int rc = srv_http_parser_feed(c->parser, vec.iov_base, vec.iov_len, &used);
        evbuffer_drain(in, used);
        if (rc == SRV_HTTP_AGAIN) {
            if (now - c->req_start > SRV_HTTP_REQUEST_DEADLINE) {
                hand_over(c, 408);
                return;
            }
            continue;
        }
        if (rc == SRV_HTTP_HEAD_DONE) {
            const srv_http_request_t *r = srv_http_parser_request(c->parser);
            if (r->expect_continue && !c->sent_continue) {
                c->sent_continue = 1;
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                evbuffer_add(bufferevent_get_output(bev), cont, sizeof(cont) - 1);
            }
            continue;
        }
        hand_over(c, rc == SRV_HTTP_ERROR ? srv_http_parser_error_status(c->parser) : 0);
        return;
    }
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

/* Take the queue: each connection's ops word is read and cleared under the lock; the work
 * link chains the batch, as the queue link may be reused the moment the lock is let go. A
 * connection can be in both directions' batches at once, so each direction has its own. */
static srv_conn_t *take(pthread_mutex_t *mu, srv_conn_t **head, srv_conn_t **tail, int to_io)
{
    pthread_mutex_lock(mu);
    srv_conn_t *batch = *head;
    *head = *tail = NULL;
    for (srv_conn_t *c = batch; c; c = to_io ? c->io_work_next : c->work_next) {
        if (to_io) {
            c->io_work_next = c->next_to_io;
            c->io_work_ops = c->ops_to_io;
            c->ops_to_io = 0;
        } else {
            c->work_next = c->next_to_loop;
            c->work_ops = c->ops_to_loop;
            c->ops_to_loop = 0;
        }
    }
    pthread_mutex_unlock(mu);
    return batch;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_io_t *io = arg;
    (void)what;
    unwake((int)fd); /* before taking: a post after the take wakes us again */
    pthread_mutex_lock(&io->mu);
    int stop = io->stop;
    pthread_mutex_unlock(&io->mu);
    if (stop) {
        event_base_loopbreak(io->base);
        return;
    }
    srv_conn_t *c = take(&io->mu, &io->head, &io->tail, 1);
    while (c) {
        srv_conn_t *next = c->io_work_next;
        run_ops(io, c, c->io_work_ops);
        c = next;
    }
}

/* One pass at a time, so the pass's posts go to the loop together. */
static void *io_main(void *arg)
{
    srv_io_t *io = arg;
    for (;;) {
        event_base_loop(io->base, EVLOOP_ONCE);
        flush_to_loop(io);
        pthread_mutex_lock(&io->mu);
        int stop = io->stop;
        pthread_mutex_unlock(&io->mu);
        if (stop)
            return NULL;
    }
}

/* ---- the loop's side ----------------------------------------------------------------------- */

/* Loop: io's held posts onto its queue, under one lock and at most one wake-up. */
static void flush_to_io(srv_io_t *io)
{
    if (!io->loop_batched)
        return;
    pthread_mutex_lock(&io->mu);
    int was_empty = io->head == NULL;
    for (srv_conn_t *c = io->loop_batched, *next; c; c = next) {
        next = c->next_batched;
        if (!c->ops_to_io) {
            c->next_to_io = NULL;
            if (io->tail)
                io->tail->next_to_io = c;
            else
                io->head = c;
            io->tail = c;
        }
        c->ops_to_io |= c->ops_batched;
        c->ops_batched = 0;
    }
    pthread_mutex_unlock(&io->mu);
    io->loop_batched = NULL;
    io->loop_n_batched = 0;
    if (was_empty)
        wake(io->efd);
}

void srv_io_post(srv_conn_t *c, unsigned ops)
{
    srv_io_t *io = c->io;
    if (io->pool->stopped)
        return;
    if (!c->ops_batched) {
        c->next_batched = io->loop_batched;
        io->loop_batched = c;
    }
    c->ops_batched |= ops;
    /* Outside loop_cb (accept, a deferred answer) at once; inside, every FLUSH_EVERY, so the
     * thread writes the first answers while the loop makes the rest. */
    if (!io->pool->batching || ++io->loop_n_batched >= FLUSH_EVERY)
        flush_to_io(io);
}

static void loop_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_io_pool_t *p = arg;
    (void)what;
    unwake((int)fd);
    srv_conn_t *c = take(&p->mu, &p->head, &p->tail, 0);
    p->batching = 1;
    while (c) {
        srv_conn_t *next = c->work_next; /* c may be freed (a migrated one, upgraded) */
        srv_hconn_from_io(c, c->work_ops);
        c = next;
    }
    p->batching = 0;
    for (int i = 0; i < p->n; i++)
        flush_to_io(&p->io[i]);
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
    if (io->efd >= 0)
        close(io->efd);
    if (io->base) {
        /* bufferevent_free queues the real free: run those finalizers */
        for (int i = 0; i < 4; i++)
            event_base_loop(io->base, EVLOOP_NONBLOCK);
        event_base_free(io->base);
    }
    pthread_mutex_destroy(&io->mu);
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
    pthread_mutex_init(&p->mu, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0 || !(p->ev = event_new(srv->base, p->efd, EV_READ | EV_PERSIST, loop_cb, p)) ||
        event_add(p->ev, NULL) != 0) {
        srv_log(SRV_LOG_ERROR, "http.io-threads: %s", strerror(errno ? errno : ENOMEM));
        p->n = 0;
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
        pthread_mutex_init(&io->mu, NULL);
        io->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (io->efd < 0 || !(io->base = event_base_new()) ||
            !(io->ev_wake = event_new(io->base, io->efd, EV_READ | EV_PERSIST, wake_cb, io)) ||
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
        srv_log(SRV_LOG_ERROR, "http.io-threads: cannot start thread %d: %s", p->n, strerror(err));
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
        pthread_mutex_lock(&io->mu);
        io->stop = 1;
        pthread_mutex_unlock(&io->mu);
        wake(io->efd);
        pthread_join(io->th, NULL);
        io->started = 0;
    }
    /* Alone now. A migrated socket no thread holds any more: close it, and let the loop free
     * the connection as its own. Requests and closes are moot at shutdown. */
    srv_conn_t *c = take(&p->mu, &p->head, &p->tail, 0);
    for (; c; c = c->work_next) {
        if ((c->work_ops & SRV_IO_MIGRATED) && !(c->work_ops & SRV_IO_CLOSED)) {
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
        for (c = take(&io->mu, &io->head, &io->tail, 1); c; c = c->io_work_next)
            if (c->io_work_ops & SRV_IO_ADOPT)
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
    if (p->efd >= 0)
        close(p->efd);
    pthread_mutex_destroy(&p->mu);
    free(p->io);
    free(p);
}
