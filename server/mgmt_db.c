/*
 * The engine-neutral half of the management store's database layer (mgmt_db.h): dispatch to
 * the engine, transactions, the DDL generated from mgmt_schema.h, the migration runner and the
 * snapshot loader. The engines (mgmt_db_sqlite.c, mgmt_db_pg.c) only run statements.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mgmt_db_int.h"

/* ---- migrations ---------------------------------------------------------------------------
 *
 * Version 1 is the schema of mgmt_schema.h, generated (ensure_schema). A later version is a
 * list of SQL strings that brings a database of the previous version up to it: append one
 * entry per version below, and make the same change in mgmt_schema.h, because a NEW database
 * gets the schema of mgmt_schema.h directly and is stamped at the latest version without
 * running the lists (so a list never has to cope with a schema that already has its change).
 * `both` runs on either engine, then `sqlite` or `pg` (NULL-terminated lists, may be NULL).
 * After the lists, ensure_schema creates whatever table or index is still missing.
 */
typedef struct {
    const char *const *both, *const *sqlite, *const *pg;
} migration_t;

static const migration_t migrations[] = {
    /* 1: the tables and indexes of mgmt_schema.h (ensure_schema) */
    {NULL, NULL, NULL},
    /* 2: e.g. {(const char *const[]){"ALTER TABLE instance ADD COLUMN note TEXT", NULL},
     *          NULL, NULL}, */
};
#define SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

void srv_mg_db_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int srv_mg_db_target_is_pg(const char *target)
{
    return target && (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11));
}

srv_mg_db_t *srv_mg_db_open(const char *target, char *err, size_t errlen)
{
    if (!target || !*target) {
        srv_mg_db_err(err, errlen, "no database given");
        return NULL;
    }
    if (srv_mg_db_target_is_pg(target))
        return srv_mg_db_pg_open(target, err, errlen);
    return srv_mg_db_sqlite_open(target, err, errlen);
}

void srv_mg_db_close(srv_mg_db_t *db)
{
    if (db)
        db->ops->close(db);
}

int srv_mg_db_is_pg(const srv_mg_db_t *db)
{
    return db->ops->is_pg;
}

int srv_mg_db_ok(srv_mg_db_t *db)
{
    return db->ops->ok(db);
}

int srv_mg_db_conflict(const srv_mg_db_t *db)
{
    return db->conflict;
}

int srv_mg_db_reconnect(srv_mg_db_t *db, char *err, size_t errlen)
{
    /* A lost connection took its transaction with it. */
    db->in_tx = 0;
    return db->ops->reconnect(db, err, errlen);
}

int srv_mg_db_exec(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                   int64_t *affected, char *err, size_t errlen)
{
    int64_t dummy;
    db->conflict = 0;
    return db->ops->exec(db, sql, n, params, affected ? affected : &dummy, err, errlen);
}

/* Drop the rows appended after the first n0 (a failed query leaves out as it found it). */
static void rows_truncate(srv_mg_rows_t *r, size_t n0)
{
    for (size_t i = n0 * r->ncols; r->v && i < r->nrows * r->ncols; i++) {
        free(r->v[i]);
        r->v[i] = NULL;
    }
    if (r->nrows > n0)
        r->nrows = n0;
}

int srv_mg_db_query(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                    srv_mg_rows_t *out, char *err, size_t errlen)
{
    size_t n0 = out->nrows;
    db->conflict = 0;
    if (!out->ncols) {
        srv_mg_db_err(err, errlen, "query: the row container has no columns");
        return -1;
    }
    if (db->ops->query(db, sql, n, params, out, err, errlen) < 0) {
        rows_truncate(out, n0);
        return -1;
    }
    return 0;
}

/* ---- transactions ------------------------------------------------------------------------ */

static int begin_with(srv_mg_db_t *db, const char *sql, char *err, size_t errlen)
{
    if (db->in_tx) {
        srv_mg_db_err(err, errlen, "a transaction is already open");
        return -1;
    }
    if (srv_mg_db_exec(db, sql, 0, NULL, NULL, err, errlen) < 0)
        return -1;
    db->in_tx = 1;
    return 0;
}

int srv_mg_db_begin(srv_mg_db_t *db, char *err, size_t errlen)
{
    return begin_with(db, db->ops->begin_sql, err, errlen);
}

void srv_mg_db_rollback(srv_mg_db_t *db)
{
    /* Errors are moot: no transaction (SQLite after an automatic rollback) or no connection
     * (PostgreSQL, whose server then discards the transaction) both leave nothing behind. */
    db->ops->exec(db, "ROLLBACK", 0, NULL, &(int64_t){0}, NULL, 0);
    db->in_tx = 0;
}

int srv_mg_db_commit(srv_mg_db_t *db, char *err, size_t errlen)
{
    if (!db->in_tx) {
        srv_mg_db_err(err, errlen, "commit without a transaction");
        return -1;
    }
    if (srv_mg_db_exec(db, "COMMIT", 0, NULL, NULL, err, errlen) < 0) {
        /* SQLite keeps the transaction open when COMMIT fails (busy): end it, so the caller's
         * next begin does not find a half-done transaction. */
        int conflict = db->conflict;
        srv_mg_db_rollback(db);
        db->conflict = conflict;
        return -1;
    }
    db->in_tx = 0;
    return 0;
}

/* ---- DDL ----------------------------------------------------------------------------------- */

static const srv_mg_col_t *find_col(const srv_mg_table_t *t, const char *name, size_t len)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strlen(t->cols[c].name) == len && !memcmp(t->cols[c].name, name, len))
            return &t->cols[c];
    return NULL;
}

/* CREATE TABLE of table t into b. */
static void ddl_table(const srv_mg_db_ops_t *ops, const srv_mg_table_t *t, artemisi_buf_t *b)
{
    artemisi_buf_appendf(b, "CREATE TABLE IF NOT EXISTS %s (id %s", t->name, ops->id_col);
    for (size_t c = SRV_MGC_CREATE_TIME; c < t->ncols; c++) {
        const srv_mg_col_t *col = &t->cols[c];
        artemisi_buf_appendf(b, ", %s %s", col->name,
                             col->type == SRV_MG_TEXT ? "TEXT" : ops->int_type);
        if (c == SRV_MGC_CREATE_TIME || c == SRV_MGC_UPDATE_TIME)
            artemisi_buf_appends(b, " NOT NULL DEFAULT 0");
    }
    artemisi_buf_appendc(b, ')');
}

/* The unique index over the natural key (text compared lower-cased). 0, or -1 when the key
 * names a column the table does not have (a mistake in mgmt_schema.h). */
static int ddl_unique(const srv_mg_table_t *t, artemisi_buf_t *b, char *err, size_t errlen)
{
    artemisi_buf_appendf(b, "CREATE UNIQUE INDEX IF NOT EXISTS %s_uk ON %s (", t->name, t->name);
    for (const char *p = t->unique; *p;) {
        size_t len = strcspn(p, ",");
        const srv_mg_col_t *col = find_col(t, p, len);
        if (!col) {
            srv_mg_db_err(err, errlen, "table %s: unique key names an unknown column '%.*s'",
                          t->name, (int)len, p);
            return -1;
        }
        if (p != t->unique)
            artemisi_buf_appends(b, ", ");
        artemisi_buf_appendf(b, col->type == SRV_MG_TEXT ? "lower(%s)" : "%s", col->name);
        p += len;
        if (*p == ',')
            p++;
    }
    artemisi_buf_appendc(b, ')');
    return 0;
}

static int run_sql(srv_mg_db_t *db, artemisi_buf_t *b, char *err, size_t errlen)
{
    if (artemisi_buf_failed(b)) {
        srv_mg_db_err(err, errlen, "out of memory");
        return -1;
    }
    return srv_mg_db_exec(db, b->data, 0, NULL, NULL, err, errlen);
}

/* Every table and index of mgmt_schema.h that is missing. */
static int ensure_schema(srv_mg_db_t *db, char *err, size_t errlen)
{
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    int rc = 0;
    for (size_t i = 0; i < SRV_MG_TABLE_COUNT && !rc; i++) {
        const srv_mg_table_t *t = srv_mg_table((srv_mg_table_id_t)i);
        artemisi_buf_reset(&b);
        ddl_table(db->ops, t, &b);
        rc = run_sql(db, &b, err, errlen);
        if (!rc && t->unique[0]) {
            artemisi_buf_reset(&b);
            rc = ddl_unique(t, &b, err, errlen);
            if (!rc)
                rc = run_sql(db, &b, err, errlen);
        }
        if (!rc && !t->cached) {
            /* The log readers page by time. */
            artemisi_buf_reset(&b);
            artemisi_buf_appendf(&b, "CREATE INDEX IF NOT EXISTS %s_ct ON %s (create_time)",
                                 t->name, t->name);
            rc = run_sql(db, &b, err, errlen);
        }
    }
    artemisi_buf_free(&b);
    return rc;
}

/* ---- migrations ---------------------------------------------------------------------------- */

/* The stored version: 0 when none is stored yet, -1 on error. */
static int read_version(srv_mg_db_t *db, char *err, size_t errlen)
{
    srv_mg_rows_t r;
    srv_mg_rows_init(&r, 1);
    int v = -1;
    if (!srv_mg_db_query(db, "SELECT max(version) FROM schema_version", 0, NULL, &r, err, errlen)) {
        int64_t x = r.nrows ? srv_mg_int(&r, 0, 0, 0) : 0;
        v = x < 0 || x > 1000000 ? -1 : (int)x;
        if (v < 0)
            srv_mg_db_err(err, errlen, "schema_version holds an invalid version");
    }
    srv_mg_rows_free(&r);
    return v;
}

int srv_mg_db_schema_version(srv_mg_db_t *db)
{
    return read_version(db, NULL, 0);
}

static int run_list(srv_mg_db_t *db, const char *const *list, int version, char *err, size_t errlen)
{
    for (; list && *list; list++) {
        if (srv_mg_db_exec(db, *list, 0, NULL, NULL, err, errlen) < 0) {
            size_t l = err ? strlen(err) : 0;
            if (err && l + 1 < errlen) /* say which migration failed, keep the cause */
                snprintf(err + l, errlen - l, " (migration to version %d)", version);
            return -1;
        }
    }
    return 0;
}

static int migrate_in_tx(srv_mg_db_t *db, char *err, size_t errlen)
{
    if (db->ops->migrate_lock_sql &&
        srv_mg_db_exec(db, db->ops->migrate_lock_sql, 0, NULL, NULL, err, errlen) < 0)
        return -1;
    if (srv_mg_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version integer)", 0, NULL,
                       NULL, err, errlen) < 0)
        return -1;
    int v = read_version(db, err, errlen);
    if (v < 0)
        return -1;
    if (v > SCHEMA_LATEST) {
        srv_mg_db_err(err, errlen,
                      "the database has schema version %d, newer than this server's %d", v,
                      SCHEMA_LATEST);
        return -1;
    }
    if (v == SCHEMA_LATEST)
        return 0;
    /* A new database (v == 0) gets mgmt_schema.h directly; an older one each later list. */
    for (int to = v ? v + 1 : SCHEMA_LATEST + 1; to <= SCHEMA_LATEST; to++) {
        const migration_t *m = &migrations[to - 1];
        if (run_list(db, m->both, to, err, errlen) < 0 ||
            run_list(db, db->ops->is_pg ? m->pg : m->sqlite, to, err, errlen) < 0)
            return -1;
    }
    if (ensure_schema(db, err, errlen) < 0)
        return -1;
    char ver[16];
    snprintf(ver, sizeof(ver), "%d", SCHEMA_LATEST);
    const char *p[] = {ver};
    if (srv_mg_db_exec(db, "DELETE FROM schema_version", 0, NULL, NULL, err, errlen) < 0 ||
        srv_mg_db_exec(db, "INSERT INTO schema_version (version) VALUES ($1)", 1, p, NULL, err,
                       errlen) < 0)
        return -1;
    return 0;
}

int srv_mg_db_migrate(srv_mg_db_t *db, char *err, size_t errlen)
{
    if (srv_mg_db_begin(db, err, errlen) < 0)
        return -1;
    if (migrate_in_tx(db, err, errlen) < 0) {
        srv_mg_db_rollback(db);
        return -1;
    }
    return srv_mg_db_commit(db, err, errlen);
}

/* ---- the snapshot loader ------------------------------------------------------------------- */

static int load_tables(srv_mg_db_t *db, srv_mg_snap_t *snap, char *err, size_t errlen)
{
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    int rc = 0;
    for (size_t i = 0; i < SRV_MG_TABLE_COUNT && !rc; i++) {
        const srv_mg_table_t *t = srv_mg_table((srv_mg_table_id_t)i);
        if (!t->cached)
            continue;
        artemisi_buf_reset(&b);
        artemisi_buf_appends(&b, "SELECT ");
        for (size_t c = 0; c < t->ncols; c++)
            artemisi_buf_appendf(&b, "%s%s", c ? ", " : "", t->cols[c].name);
        artemisi_buf_appendf(&b, " FROM %s ORDER BY id", t->name);
        if (artemisi_buf_failed(&b)) {
            srv_mg_db_err(err, errlen, "out of memory");
            rc = -1;
        } else if (srv_mg_db_query(db, b.data, 0, NULL, &snap->tab[i], err, errlen) < 0) {
            size_t l = err ? strlen(err) : 0;
            if (err && l + 1 < errlen)
                snprintf(err + l, errlen - l, " (loading %s)", t->name);
            rc = -1;
        }
    }
    artemisi_buf_free(&b);
    return rc;
}

int srv_mg_db_load(srv_mg_db_t *db, srv_mg_snap_t *snap, char *err, size_t errlen)
{
    for (size_t i = 0; i < SRV_MG_TABLE_COUNT; i++) {
        const srv_mg_table_t *t = srv_mg_table((srv_mg_table_id_t)i);
        if (t->cached)
            srv_mg_rows_init(&snap->tab[i], t->ncols);
    }
    /* One read transaction, so the tables agree with each other (a writer on another node may
     * commit between two SELECTs); inside the caller's transaction, that one serves. */
    int own = !db->in_tx;
    if (own && begin_with(db, db->ops->begin_read_sql, err, errlen) < 0)
        return -1;
    int rc = load_tables(db, snap, err, errlen);
    if (own) {
        if (rc == 0)
            rc = srv_mg_db_commit(db, err, errlen);
        else
            srv_mg_db_rollback(db);
    }
    if (rc < 0)
        for (size_t i = 0; i < SRV_MG_TABLE_COUNT; i++)
            if (srv_mg_table((srv_mg_table_id_t)i)->cached)
                srv_mg_rows_free(&snap->tab[i]);
    return rc;
}

/* ---- notification -------------------------------------------------------------------------- */

int srv_mg_db_notify(srv_mg_db_t *db)
{
    return db->ops->notify(db);
}

int srv_mg_db_wait(srv_mg_db_t *db, int wake_fd, int timeout_ms)
{
    return db->ops->wait(db, wake_fd, timeout_ms);
}

/* ---- error text ---------------------------------------------------------------------------- */

static int starts_ci(const char *s, const char *prefix)
{
    return !strncasecmp(s, prefix, strlen(prefix));
}

void srv_mg_db_scrub(char *out, size_t outlen, const char *msg, const char *const *secrets,
                     size_t nsecrets)
{
    if (!out || !outlen)
        return;
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < outlen)                                                                        \
            out[o++] = (ch);                                                                       \
    } while (0)
#define PUTS(s)                                                                                    \
    do {                                                                                           \
        for (const char *q_ = (s); *q_; q_++)                                                      \
            PUT(*q_);                                                                              \
    } while (0)
    const char *p = msg ? msg : "";
    while (*p) {
        size_t hit = 0;
        for (size_t k = 0; k < nsecrets && !hit; k++)
            if (secrets[k] && *secrets[k] && !strncmp(p, secrets[k], strlen(secrets[k])))
                hit = strlen(secrets[k]);
        if (hit) {
            PUTS("***");
            p += hit;
            continue;
        }
        if (starts_ci(p, "password")) {
            const char *q = p + 8;
            while (*q == ' ')
                q++;
            if (*q == '=') {
                PUTS("password=***");
                q++;
                while (*q == ' ')
                    q++;
                if (*q == '\'') { /* keyword/value quoting: 'a \' b' */
                    for (q++; *q && *q != '\''; q++)
                        if (*q == '\\' && q[1])
                            q++;
                    if (*q)
                        q++;
                } else {
                    q += strcspn(q, " \t\r\n&\"'");
                }
                p = q;
                continue;
            }
        }
        if (!strncmp(p, "://", 3)) {
            /* scheme://user:secret@host: keep the user, hide the rest of the userinfo (the
             * last '@' of the token, as a careless password may hold '@' or '/'). */
            const char *start = p + 3, *end = start + strcspn(start, " \t\r\n\"'"), *at = NULL;
            for (const char *q = start; q < end; q++)
                if (*q == '@')
                    at = q;
            const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
            if (colon) {
                PUTS("://");
                for (const char *q = start; q <= colon; q++)
                    PUT(*q);
                PUTS("***");
                p = at;
                continue;
            }
        }
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            /* one line: a run of line breaks and tabs becomes one space */
            while (*p == '\n' || *p == '\r' || *p == '\t')
                p++;
            if (o && out[o - 1] != ' ')
                PUT(' ');
            continue;
        }
        PUT(*p);
        p++;
    }
#undef PUT
#undef PUTS
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = 0;
}
