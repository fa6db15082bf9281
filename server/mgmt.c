/*
 * The management runtime (mgmt.h): worker thread, jobs, and the snapshot swap.
 *
 * Two queues joined by two pipes: the loop pushes jobs and writes a byte to wake the worker
 * (the worker polls that pipe together with PostgreSQL's socket, so a NOTIFY and a job both
 * wake it); the worker pushes finished jobs and writes a byte the loop's event reads. No
 * libevent call is made off the loop, so libevent needs no thread support.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "mgmt.h"
#include "mgmt_db.h"
#include "mgmt_diff.h"

typedef struct stmt {
    char *sql;
    char **params;
    size_t n;
    unsigned flags;
} stmt_t;

struct srv_mg_tx {
    stmt_t *v;
    size_t n, cap;
};

typedef enum { JOB_WRITE, JOB_QUERY, JOB_RELOAD } job_kind_t;

typedef struct job {
    struct job *next;
    job_kind_t kind;
    srv_mg_tx_t *tx;     /* JOB_WRITE; JOB_QUERY keeps its one statement here too */
    size_t ncols;        /* JOB_QUERY */
    srv_mg_rows_t rows;  /* JOB_QUERY answer */
    srv_mg_snap_t *snap; /* a reload's result (JOB_WRITE, JOB_RELOAD) */
    srv_mg_done_fn done;
    void *ctx;
    int ok;
    char err[256];
} job_t;

struct srv_mgmt {
    srv_server_t *srv;
    srv_mg_db_t *db;
    srv_mg_snap_t *snap; /* the loop's */
    uint64_t seed0, seed1;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    job_t *todo, *todo_tail, *done, *done_tail;
    size_t queued;
    int stop;
    srv_mg_snap_t *trash; /* snapshots replaced on the loop, freed by the worker (chained) */
    int wake_pipe[2];     /* loop -> worker */
    int done_pipe[2];     /* worker -> loop */
    struct event *ev_done;
    /* written by the worker under mu, read by the loop */
    int ok;
    char last_error[256];
    int64_t down_since;
    double last_load_secs;
    uint64_t reloads, reconnects;
    int schema_version;
    /* loop only */
    uint64_t writes, write_failures, queries, announced;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- transactions ------------------------------------------------------------------------ */

srv_mg_tx_t *srv_mg_tx_new(void)
{
    return calloc(1, sizeof(srv_mg_tx_t));
}

void srv_mg_tx_free(srv_mg_tx_t *tx)
{
    if (!tx)
        return;
    for (size_t i = 0; i < tx->n; i++) {
        for (size_t k = 0; k < tx->v[i].n; k++)
            free(tx->v[i].params[k]);
        free(tx->v[i].params);
        free(tx->v[i].sql);
    }
    free(tx->v);
    free(tx);
}

size_t srv_mg_tx_count(const srv_mg_tx_t *tx)
{
    return tx->n;
}

int srv_mg_tx_add(srv_mg_tx_t *tx, unsigned flags, const char *sql, size_t n,
                  const char *const *params)
{
    if (tx->n == tx->cap) {
        size_t ncap = tx->cap ? tx->cap * 2 : 8;
        stmt_t *nv = realloc(tx->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        tx->v = nv;
        tx->cap = ncap;
    }
    stmt_t *st = &tx->v[tx->n];
    memset(st, 0, sizeof(*st));
    st->flags = flags;
    st->sql = strdup(sql);
    st->params = calloc(n ? n : 1, sizeof(char *));
    int bad = !st->sql || !st->params;
    for (size_t i = 0; i < n && !bad; i++)
        bad = params[i] && !(st->params[i] = strdup(params[i]));
    st->n = n;
    tx->n++; /* counted even when half made, so srv_mg_tx_free releases it */
    return bad ? -1 : 0;
}

/* ---- the worker ---------------------------------------------------------------------------- */

static void set_error(srv_mgmt_t *m, const char *err)
{
    pthread_mutex_lock(&m->mu);
    snprintf(m->last_error, sizeof(m->last_error), "%s", err);
    pthread_mutex_unlock(&m->mu);
}

/* Load and index a fresh snapshot. NULL with err on failure. */
static srv_mg_snap_t *load_snap(srv_mgmt_t *m, char *err, size_t errlen)
{
    double t0 = mono_secs();
    srv_mg_snap_t *s = malloc(sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv_mg_snap_init(s, m->seed0, m->seed1);
    if (srv_mg_db_load(m->db, s, err, errlen) != 0 || srv_mg_snap_index(s) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        srv_mg_snap_free(s);
        free(s);
        return NULL;
    }
    s->loaded_ms = wall_ms();
    pthread_mutex_lock(&m->mu);
    m->last_load_secs = mono_secs() - t0;
    m->reloads++;
    pthread_mutex_unlock(&m->mu);
    return s;
}

static int run_tx(srv_mgmt_t *m, srv_mg_tx_t *tx, char *err, size_t errlen)
{
    if (srv_mg_db_begin(m->db, err, errlen) != 0)
        return -1;
    int64_t prev = -1;
    for (size_t i = 0; i < tx->n; i++) {
        stmt_t *st = &tx->v[i];
        if ((st->flags & SRV_MG_IF_NONE) && prev > 0)
            continue;
        int64_t affected = 0;
        if (srv_mg_db_exec(m->db, st->sql, st->n, (const char *const *)st->params, &affected, err,
                           errlen) != 0) {
            srv_mg_db_rollback(m->db);
            return -1;
        }
        if ((st->flags & SRV_MG_MUST) && affected == 0) {
            snprintf(err, errlen, "no such row");
            srv_mg_db_rollback(m->db);
            return -1;
        }
        prev = affected;
    }
    if (srv_mg_db_notify(m->db) != 0 || srv_mg_db_commit(m->db, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "notify failed");
        srv_mg_db_rollback(m->db);
        return -1;
    }
    return 0;
}

static void post_done(srv_mgmt_t *m, job_t *j)
{
    pthread_mutex_lock(&m->mu);
    j->next = NULL;
    if (m->done_tail)
        m->done_tail->next = j;
    else
        m->done = j;
    m->done_tail = j;
    pthread_mutex_unlock(&m->mu);
    char b = 1;
    if (m->done_pipe[1] >= 0) {
        ssize_t w = write(m->done_pipe[1], &b, 1); /* full pipe: a wake-up is already pending */
        (void)w;
    }
}

/* Keep trying to reach a lost database, once a second. 1 when it is back. */
static int recover(srv_mgmt_t *m)
{
    char err[256] = "";
    if (srv_mg_db_ok(m->db))
        return 1;
    if (srv_mg_db_reconnect(m->db, err, sizeof(err)) != 0) {
        set_error(m, err);
        return 0;
    }
    pthread_mutex_lock(&m->mu);
    m->ok = 1;
    m->down_since = 0;
    m->reconnects++;
    pthread_mutex_unlock(&m->mu);
    srv_log(SRV_LOG_WARN, "management: store reachable again");
    return 1;
}

static void mark_lost(srv_mgmt_t *m, const char *err)
{
    pthread_mutex_lock(&m->mu);
    if (m->ok) {
        m->ok = 0;
        m->down_since = wall_ms();
        srv_log(SRV_LOG_WARN, "management: store lost (%s); serving the last state", err);
    }
    snprintf(m->last_error, sizeof(m->last_error), "%s", err);
    pthread_mutex_unlock(&m->mu);
}

/* Run the queued jobs: every write first, then one reload shared by all of them. */
static void run_jobs(srv_mgmt_t *m, job_t *list, int force_reload)
{
    int wrote = 0;
    job_t *writes = NULL, **wtail = &writes;
    for (job_t *j = list, *next; j; j = next) {
        next = j->next;
        j->err[0] = 0;
        if (!srv_mg_db_ok(m->db) && !recover(m)) {
            j->ok = 0;
            snprintf(j->err, sizeof(j->err), "management store unavailable");
        } else if (j->kind == JOB_QUERY) {
            stmt_t *st = &j->tx->v[0];
            srv_mg_rows_init(&j->rows, j->ncols);
            j->ok = srv_mg_db_query(m->db, st->sql, st->n, (const char *const *)st->params,
                                    &j->rows, j->err, sizeof(j->err)) == 0;
        } else {
            j->ok = run_tx(m, j->tx, j->err, sizeof(j->err)) == 0;
            wrote |= j->ok;
        }
        if (!j->ok && !srv_mg_db_ok(m->db))
            mark_lost(m, j->err);
        if (j->kind == JOB_QUERY || !j->ok) {
            post_done(m, j);
        } else {
            j->next = NULL;
            *wtail = j;
            wtail = &j->next;
        }
    }
    if (!wrote && !force_reload)
        return;
    char err[256] = "";
    srv_mg_snap_t *s = srv_mg_db_ok(m->db) ? load_snap(m, err, sizeof(err)) : NULL;
    if (!s && err[0]) {
        set_error(m, err);
        if (!srv_mg_db_ok(m->db))
            mark_lost(m, err);
    }
    job_t *carrier = writes;
    if (!carrier) {
        if (!s)
            return;
        carrier = calloc(1, sizeof(*carrier));
        if (!carrier) {
            srv_mg_snap_free(s);
            free(s);
            return;
        }
        carrier->kind = JOB_RELOAD;
        carrier->ok = 1;
    }
    /* The first completion carries the snapshot: the loop applies it before any answer. */
    carrier->snap = s;
    for (job_t *j = carrier, *next; j; j = next) {
        next = j->next;
        post_done(m, j);
    }
}

static void snap_destroy(srv_mg_snap_t *s)
{
    srv_mg_snap_free(s);
    free(s);
}

/* On the worker: free what the loop replaced. */
static void empty_trash(srv_mgmt_t *m)
{
    pthread_mutex_lock(&m->mu);
    srv_mg_snap_t *t = m->trash;
    m->trash = NULL;
    pthread_mutex_unlock(&m->mu);
    while (t) {
        srv_mg_snap_t *next = t->next;
        snap_destroy(t);
        t = next;
    }
}

static void *worker(void *arg)
{
    srv_mgmt_t *m = arg;
    int64_t interval = m->srv->cfg.management_reload_ms;
    int64_t next_reload = wall_ms() + interval;
    for (;;) {
        empty_trash(m);
        pthread_mutex_lock(&m->mu);
        int stop = m->stop;
        job_t *list = m->todo;
        m->todo = m->todo_tail = NULL;
        m->queued = 0;
        pthread_mutex_unlock(&m->mu);
        if (stop && !list)
            break;
        int64_t now = wall_ms();
        int reload = now >= next_reload;
        if (list || reload) {
            if (reload)
                next_reload = now + interval;
            if (!srv_mg_db_ok(m->db) && !list)
                reload = recover(m);
            run_jobs(m, list, reload);
            continue;
        }
        int timeout = (int)(next_reload - now);
        if (!srv_mg_db_ok(m->db) && timeout > 1000)
            timeout = 1000; /* reconnect attempts once a second */
        int w = srv_mg_db_wait(m->db, m->wake_pipe[0], timeout);
        if (w == 2) {
            char buf[64];
            while (read(m->wake_pipe[0], buf, sizeof(buf)) > 0)
                ;
        } else if (w == 1) {
            next_reload = 0; /* another node (or we) wrote: reload now */
        } else if (w < 0) {
            mark_lost(m, "connection to the management database lost");
            if (recover(m))
                next_reload = 0;
        }
    }
    return NULL;
}

static int enqueue(srv_mgmt_t *m, job_t *j)
{
    pthread_mutex_lock(&m->mu);
    j->next = NULL;
    if (m->todo_tail)
        m->todo_tail->next = j;
    else
        m->todo = j;
    m->todo_tail = j;
    m->queued++;
    pthread_mutex_unlock(&m->mu);
    char b = 1;
    if (m->wake_pipe[1] >= 0) {
        ssize_t w = write(m->wake_pipe[1], &b, 1);
        (void)w;
    }
    return 0;
}

/* ---- the loop side ------------------------------------------------------------------------- */

static void job_free(job_t *j)
{
    srv_mg_tx_free(j->tx);
    srv_mg_rows_free(&j->rows);
    if (j->snap) {
        srv_mg_snap_free(j->snap);
        free(j->snap);
    }
    free(j);
}

/* Freeing a snapshot is one free() per value and index key: 5 ms for 9,100 rows, measured on
 * the loop by callgrind (16.6 M instructions per write, 96 % of the loop's share). The worker
 * frees replaced snapshots instead; the loop only links them. */
static void apply_snap(srv_mgmt_t *m, srv_mg_snap_t *s)
{
    srv_mg_snap_t *old = m->snap;
    m->snap = s;
    m->announced += srv_mg_diff_apply(m->srv, old, s);
    if (!m->thread_started) {
        snap_destroy(old);
        return;
    }
    pthread_mutex_lock(&m->mu);
    old->next = m->trash;
    m->trash = old;
    pthread_mutex_unlock(&m->mu);
    char b = 1;
    ssize_t w = write(m->wake_pipe[1], &b, 1);
    (void)w;
}


static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_mgmt_t *m = arg;
    (void)what;
    char buf[256];
    while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&m->mu);
    job_t *list = m->done;
    m->done = m->done_tail = NULL;
    pthread_mutex_unlock(&m->mu);
    for (job_t *j = list, *next; j; j = next) {
        next = j->next;
        if (j->snap) {
            apply_snap(m, j->snap);
            j->snap = NULL;
        }
        if (j->kind == JOB_WRITE) {
            m->writes++;
            m->write_failures += !j->ok;
        } else if (j->kind == JOB_QUERY) {
            m->queries++;
        }
        if (!j->ok)
            srv_log(SRV_LOG_WARN, "management: %s failed: %s",
                    j->kind == JOB_QUERY ? "query" : "write", j->err);
        if (j->done)
            j->done(m->srv, j->ctx, j->ok, j->err, j->kind == JOB_QUERY ? &j->rows : NULL);
        job_free(j);
    }
}

int srv_mgmt_write(srv_server_t *srv, srv_mg_tx_t *tx, srv_mg_done_fn done, void *ctx)
{
    job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        srv_mg_tx_free(tx);
        return -1;
    }
    j->kind = JOB_WRITE;
    j->tx = tx;
    j->done = done;
    j->ctx = ctx;
    return enqueue(srv->mgmt, j);
}

int srv_mgmt_query(srv_server_t *srv, const char *sql, size_t n, const char *const *params,
                   size_t ncols, srv_mg_done_fn done, void *ctx)
{
    job_t *j = calloc(1, sizeof(*j));
    srv_mg_tx_t *tx = srv_mg_tx_new();
    if (!j || !tx || srv_mg_tx_add(tx, 0, sql, n, params) != 0) {
        free(j);
        srv_mg_tx_free(tx);
        return -1;
    }
    j->kind = JOB_QUERY;
    j->tx = tx;
    j->ncols = ncols;
    j->done = done;
    j->ctx = ctx;
    return enqueue(srv->mgmt, j);
}

const srv_mg_snap_t *srv_mgmt_snap(const srv_server_t *srv)
{
    return srv->mgmt->snap;
}

void srv_mgmt_info(const srv_server_t *srv, srv_mgmt_info_t *out)
{
    srv_mgmt_t *m = srv->mgmt;
    memset(out, 0, sizeof(*out));
    if (!m)
        return;
    out->store = !m->db ? "none" : srv_mg_db_is_pg(m->db) ? "postgresql" : "sqlite";
    pthread_mutex_lock(&m->mu);
    out->ok = m->ok;
    snprintf(out->last_error, sizeof(out->last_error), "%s", m->last_error);
    out->down_since = m->down_since;
    out->reloads = m->reloads;
    out->reconnects = m->reconnects;
    out->queued = m->queued;
    out->last_load_secs = m->last_load_secs;
    pthread_mutex_unlock(&m->mu);
    out->loaded_ms = m->snap->loaded_ms;
    out->writes = m->writes;
    out->write_failures = m->write_failures;
    out->queries = m->queries;
    out->changes_announced = m->announced;
    out->schema_version = m->schema_version;
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        out->rows += m->snap->tab[t].nrows;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    return 0;
}

static srv_mgmt_t *mgmt_new(srv_server_t *srv)
{
    srv_mgmt_t *m = calloc(1, sizeof(*m));
    if (!m)
        srv_oom();
    srv->mgmt = m;
    m->srv = srv;
    m->wake_pipe[0] = m->wake_pipe[1] = m->done_pipe[0] = m->done_pipe[1] = -1;
    pthread_mutex_init(&m->mu, NULL);
    srv_registry_seed(srv->registry, &m->seed0, &m->seed1);
    m->seed0 ^= 0x6d676d74; /* not the registry's own keys */
    return m;
}

/* mkdir -p: every missing directory of path. 0, or -1 with errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* SQLite: the file in data-dir, the directory (and its missing parents) created. */
static int sqlite_target(const srv_config_t *cfg, char *path, size_t len, char *err, size_t errlen)
{
    if (make_dirs(cfg->data_dir) != 0) {
        snprintf(err, errlen, "data-dir: cannot create '%s': %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    if ((size_t)snprintf(path, len, "%s/management.db", cfg->data_dir) >= len) {
        snprintf(err, errlen, "data-dir: path too long");
        return -1;
    }
    return 0;
}

int srv_mgmt_start(srv_server_t *srv, char *err, size_t errlen)
{
    srv_mgmt_t *m = mgmt_new(srv);
    const char *target = srv->cfg.management_db;
    const char *key = "management-db";
    char path[4096], dberr[256] = "";
    if (!target[0]) {
        key = "data-dir";
        if (sqlite_target(&srv->cfg, path, sizeof(path), err, errlen) != 0)
            return -1;
        target = path;
    } else if (!srv_mg_db_target_is_pg(target)) {
        snprintf(err, errlen, "management-db: not a postgresql:// or postgres:// URI");
        return -1;
    }
    m->db = srv_mg_db_open(target, dberr, sizeof(dberr));
    if (!m->db || srv_mg_db_migrate(m->db, dberr, sizeof(dberr)) != 0) {
        snprintf(err, errlen, "%s: %s", key, dberr);
        return -1;
    }
    m->schema_version = srv_mg_db_schema_version(m->db);
    m->snap = load_snap(m, dberr, sizeof(dberr));
    if (!m->snap) {
        snprintf(err, errlen, "%s: loading the management state: %s", key, dberr);
        return -1;
    }
    m->ok = 1;
    if (make_pipe(m->wake_pipe) != 0 || make_pipe(m->done_pipe) != 0) {
        snprintf(err, errlen, "management: pipe: %s", strerror(errno));
        return -1;
    }
    m->ev_done = event_new(srv->base, m->done_pipe[0], EV_READ | EV_PERSIST, done_cb, m);
    if (!m->ev_done)
        srv_oom();
    event_add(m->ev_done, NULL);
    if (pthread_create(&m->thread, NULL, worker, m) != 0) {
        snprintf(err, errlen, "management: cannot start the store's thread");
        return -1;
    }
    m->thread_started = 1;
    srv_mg_diff_install(srv);
    return 0;
}

void srv_mgmt_start_detached(srv_server_t *srv, srv_mg_snap_t *snap, srv_mg_db_t *db)
{
    srv_mgmt_t *m = mgmt_new(srv);
    m->snap = snap;
    m->db = db;
    m->ok = 1;
    srv_mg_diff_install(srv);
}

void srv_mgmt_drain_detached(srv_server_t *srv)
{
    srv_mgmt_t *m = srv->mgmt;
    pthread_mutex_lock(&m->mu);
    job_t *list = m->todo;
    m->todo = m->todo_tail = NULL;
    m->queued = 0;
    pthread_mutex_unlock(&m->mu);
    if (list)
        run_jobs(m, list, 0);
    done_cb(-1, 0, m);
}

srv_mg_db_t *srv_mgmt_take_db(srv_server_t *srv)
{
    srv_mg_db_t *db = srv->mgmt->db;
    srv->mgmt->db = NULL;
    return db;
}

void srv_mgmt_swap_detached(srv_server_t *srv, srv_mg_snap_t *snap)
{
    apply_snap(srv->mgmt, snap);
}

void srv_mgmt_seed(const srv_server_t *srv, uint64_t *k0, uint64_t *k1)
{
    *k0 = srv->mgmt->seed0;
    *k1 = srv->mgmt->seed1;
}

void srv_mgmt_stop(srv_server_t *srv)
{
    srv_mgmt_t *m = srv->mgmt;
    if (!m)
        return;
    if (m->thread_started) {
        pthread_mutex_lock(&m->mu);
        m->stop = 1;
        pthread_mutex_unlock(&m->mu);
        char b = 1;
        ssize_t w = write(m->wake_pipe[1], &b, 1);
        (void)w;
        pthread_join(m->thread, NULL);
    }
    /* Jobs not delivered yet: their callers still own a context (a deferred answer) that
     * only the callback releases. A finished write is reported as it ended; the rest fail. */
    for (int pass = 0; pass < 2; pass++) {
        job_t *list = pass ? m->todo : m->done;
        for (job_t *j = list, *next; j; j = next) {
            next = j->next;
            if (pass)
                j->ok = 0, snprintf(j->err, sizeof(j->err), "server stopping");
            if (j->done)
                j->done(srv, j->ctx, j->ok, j->err, j->kind == JOB_QUERY ? &j->rows : NULL);
            job_free(j);
        }
    }
    m->done = m->todo = NULL;
    empty_trash(m);
    if (m->ev_done)
        event_free(m->ev_done);
    for (int i = 0; i < 2; i++) {
        if (m->wake_pipe[i] >= 0)
            close(m->wake_pipe[i]);
        if (m->done_pipe[i] >= 0)
            close(m->done_pipe[i]);
    }
    srv_mg_db_close(m->db);
    if (m->snap) {
        srv_mg_snap_free(m->snap);
        free(m->snap);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
    srv->mgmt = NULL;
}
