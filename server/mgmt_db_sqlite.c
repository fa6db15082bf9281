/*
 * The SQLite engine of the management store (mgmt_db_int.h): one file in data-dir, WAL
 * journal, synchronous NORMAL (a commit survives a crash of the process; a power loss may lose
 * the last commits, never corrupt the file). Parameters are written $1..$n as on PostgreSQL
 * and bound by name; values travel as text (an INTEGER column's affinity stores "5" as 5 and
 * gives "5" back). Prepared statements are kept in a small LRU keyed by the SQL text.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mgmt_db_int.h"

#define STMT_CACHE 32

typedef struct {
    char *sql;
    size_t len;
    sqlite3_stmt *st;
    uint64_t used;
} stmt_ent_t;

typedef struct {
    srv_mg_db_t base; /* first: mgmt_db.c sees only this */
    sqlite3 *db;
    stmt_ent_t cache[STMT_CACHE];
    uint64_t tick;
} sq_t;

static void sq_error(sq_t *s, char *err, size_t errlen)
{
    int ext = sqlite3_extended_errcode(s->db);
    s->base.conflict = ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY;
    srv_mg_db_err(err, errlen, "%s", sqlite3_errmsg(s->db));
}

/* Only blanks and semicolons may follow the one statement (PostgreSQL refuses more than one
 * statement with parameters, so SQLite must not quietly ignore the rest). */
static int only_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ';' && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* The prepared statement of sql, from the cache or prepared now (and cached). */
static sqlite3_stmt *stmt_get(sq_t *s, const char *sql, char *err, size_t errlen)
{
    size_t len = strlen(sql);
    stmt_ent_t *victim = &s->cache[0];
    for (size_t i = 0; i < STMT_CACHE; i++) {
        stmt_ent_t *e = &s->cache[i];
        if (e->st && e->len == len && !memcmp(e->sql, sql, len)) {
            e->used = ++s->tick;
            return e->st;
        }
        if (!e->st || (victim->st && e->used < victim->used))
            victim = e;
    }
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail) != SQLITE_OK) {
        sq_error(s, err, errlen);
        return NULL;
    }
    if (!st || (tail && !only_blank(tail))) {
        sqlite3_finalize(st);
        srv_mg_db_err(err, errlen, st ? "more than one statement" : "empty statement");
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (!copy) /* works without the cache, but the caller must finalize: keep it simple */
    {
        sqlite3_finalize(st);
        srv_mg_db_err(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(copy, sql, len + 1);
    if (victim->st) {
        sqlite3_finalize(victim->st);
        free(victim->sql);
    }
    *victim = (stmt_ent_t){copy, len, st, ++s->tick};
    return st;
}

/* Bind params to the statement's $k parameters. The statement must use exactly $1..$n, each
 * at least once: PostgreSQL refuses a parameter it cannot infer a type for, an unused one
 * included, so SQL that passes here passes there too. */
static int bind(sq_t *s, sqlite3_stmt *st, size_t n, const char *const *params, char *err,
                size_t errlen)
{
    /* Named parameters get one index per distinct name, so n distinct names in 1..n are
     * exactly $1..$n. */
    int count = sqlite3_bind_parameter_count(st);
    if ((size_t)count != n) {
        srv_mg_db_err(err, errlen, "the statement uses %d distinct parameters, %zu given", count,
                      n);
        return -1;
    }
    for (int i = 1; i <= count; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        char *end = NULL;
        long k = name && name[0] == '$' ? strtol(name + 1, &end, 10) : 0;
        if (!end || *end || k < 1 || (size_t)k > n) {
            srv_mg_db_err(err, errlen, "parameter %s: not one of $1..$%zu", name ? name : "?", n);
            return -1;
        }
        const char *v = params[k - 1];
        int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
        if (rc != SQLITE_OK) {
            sq_error(s, err, errlen);
            return -1;
        }
    }
    return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int sq_exec(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                   int64_t *affected, char *err, size_t errlen)
{
    sq_t *s = (sq_t *)db;
    *affected = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err, errlen);
    if (!st)
        return -1;
    if (bind(s, st, n, params, err, errlen) < 0) {
        stmt_done(st);
        return -1;
    }
    /* total_changes counts only INSERT/UPDATE/DELETE rows, so DDL and SELECT give 0. */
    sqlite3_int64 before = sqlite3_total_changes64(s->db);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        sq_error(s, err, errlen);
        stmt_done(st);
        return -1;
    }
    *affected = (int64_t)(sqlite3_total_changes64(s->db) - before);
    stmt_done(st);
    return 0;
}

static int sq_query(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                    srv_mg_rows_t *out, char *err, size_t errlen)
{
    sq_t *s = (sq_t *)db;
    sqlite3_stmt *st = stmt_get(s, sql, err, errlen);
    if (!st)
        return -1;
    if ((size_t)sqlite3_column_count(st) != out->ncols) {
        srv_mg_db_err(err, errlen, "query has %d columns, expected %zu", sqlite3_column_count(st),
                      out->ncols);
        return -1;
    }
    const char **vals = calloc(out->ncols, sizeof(*vals));
    if (!vals) {
        srv_mg_db_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = bind(s, st, n, params, err, errlen);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = 0;
        for (size_t c = 0; c < out->ncols && rc == 0; c++) {
            vals[c] = (const char *)sqlite3_column_text(st, (int)c);
            if (!vals[c] && sqlite3_column_type(st, (int)c) != SQLITE_NULL)
                rc = -2; /* the conversion to text ran out of memory */
        }
        if (rc == 0 && srv_mg_rows_add(out, vals) < 0)
            rc = -2;
    }
    if (rc == -2)
        srv_mg_db_err(err, errlen, "out of memory");
    else if (rc != SQLITE_DONE && rc != -1)
        sq_error(s, err, errlen);
    free(vals);
    stmt_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void sq_close(srv_mg_db_t *db)
{
    sq_t *s = (sq_t *)db;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(s->cache[i].st);
        free(s->cache[i].sql);
    }
    sqlite3_close_v2(s->db);
    free(s);
}

static int sq_ok(srv_mg_db_t *db)
{
    (void)db;
    return 1;
}

static int sq_reconnect(srv_mg_db_t *db, char *err, size_t errlen)
{
    (void)db;
    (void)err;
    (void)errlen;
    return 0;
}

/* This process is the file's only writer: nobody to tell. */
static int sq_notify(srv_mg_db_t *db)
{
    (void)db;
    return 0;
}

static int sq_wait(srv_mg_db_t *db, int wake_fd, int timeout_ms)
{
    (void)db;
    struct pollfd p = {wake_fd, POLLIN, 0};
    int r;
    do {
        /* A negative fd is ignored by poll(2): then this is a plain sleep. */
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r > 0 && wake_fd >= 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
        return 2;
    return 0;
}

static const srv_mg_db_ops_t sq_ops = {
    .is_pg = 0,
    .id_col = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .int_type = "INTEGER",
    .begin_sql = "BEGIN IMMEDIATE",
    .begin_read_sql = "BEGIN DEFERRED",
    .migrate_lock_sql = NULL,
    .close = sq_close,
    .ok = sq_ok,
    .reconnect = sq_reconnect,
    .exec = sq_exec,
    .query = sq_query,
    .notify = sq_notify,
    .wait = sq_wait,
};

srv_mg_db_t *srv_mg_db_sqlite_open(const char *path, char *err, size_t errlen)
{
    sq_t *s = calloc(1, sizeof(*s));
    if (!s) {
        srv_mg_db_err(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &sq_ops;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        srv_mg_db_err(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close_v2(s->db);
        free(s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                     "PRAGMA foreign_keys=OFF",
                     NULL, NULL, &msg) != SQLITE_OK) {
        srv_mg_db_err(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        sqlite3_close_v2(s->db);
        free(s);
        return NULL;
    }
    return &s->base;
}
