/*
 * The management store's database connection: SQLite (embedded, the default: a file in
 * data-dir) or PostgreSQL (shared by the nodes of a cluster, a libpq URI), behind one small
 * interface. SQL text is written once for both: parameters are $1..$n, values travel as text,
 * upserts are written as UPDATE-then-INSERT (mgmt.c), so the two engines differ only in the
 * DDL (generated here from mgmt_schema.h) and in change notification (LISTEN/NOTIFY on
 * PostgreSQL; nothing to do on SQLite, whose only writer is this process).
 *
 * Schema versioning: table schema_version(version); srv_mg_db_migrate() creates what is
 * missing and runs each migration newer than the stored version in one transaction.
 *
 * Thread-safety: handle -- one connection is used by one thread at a time (the store's
 * worker thread after start-up). Blocking calls: every function may block on the database;
 * none may run on the server's event loop after start-up.
 */
#ifndef ARTEMIS_SERVER_MGMT_DB_H
#define ARTEMIS_SERVER_MGMT_DB_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt_model.h"

typedef struct srv_mg_db srv_mg_db_t;

/* 1 when target names a PostgreSQL database (postgresql:// or postgres://). */
int srv_mg_db_target_is_pg(const char *target);
/* Open: a libpq URI, or a SQLite file path (created if missing; WAL journal; synchronous
 * NORMAL; busy timeout). Returns NULL with a one-line reason in err (never a password). */
srv_mg_db_t *srv_mg_db_open(const char *target, char *err, size_t errlen);
void srv_mg_db_close(srv_mg_db_t *db);
int srv_mg_db_is_pg(const srv_mg_db_t *db);
/* 1 while the connection is usable; 0 after a failure that lost it (PostgreSQL). */
int srv_mg_db_ok(srv_mg_db_t *db);
/* Try to connect again (PostgreSQL; re-LISTENs). 0 ok, -1 with err. */
int srv_mg_db_reconnect(srv_mg_db_t *db, char *err, size_t errlen);

/* Create or upgrade the schema. 0, or -1 with err. */
int srv_mg_db_migrate(srv_mg_db_t *db, char *err, size_t errlen);
/* The schema version now in the database. */
int srv_mg_db_schema_version(srv_mg_db_t *db);

int srv_mg_db_begin(srv_mg_db_t *db, char *err, size_t errlen);
int srv_mg_db_commit(srv_mg_db_t *db, char *err, size_t errlen);
void srv_mg_db_rollback(srv_mg_db_t *db);
/* Run one statement with n text parameters ($1..$n; NULL = SQL NULL). *affected (may be NULL)
 * gets the number of rows changed. 0, or -1 with err. */
int srv_mg_db_exec(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                   int64_t *affected, char *err, size_t errlen);
/* 1 when the last exec or query failed on a unique key (SQLite constraint, SQLSTATE 23505):
 * another writer inserted the same key between an UPDATE that found nothing and its INSERT,
 * so the caller may roll back and retry the upsert. */
int srv_mg_db_conflict(const srv_mg_db_t *db);
/* Run a query and append its rows (as text) to out, whose ncols must equal the query's
 * column count. 0, or -1 with err. */
int srv_mg_db_query(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                    srv_mg_rows_t *out, char *err, size_t errlen);
/* Load every cached table of mgmt_schema.h (all columns, in schema order, by id) into
 * snap->tab[] (which must be empty and initialised). 0, or -1 with err. */
int srv_mg_db_load(srv_mg_db_t *db, srv_mg_snap_t *snap, char *err, size_t errlen);

/* Change notification between nodes sharing a PostgreSQL database (no-ops on SQLite).
 * notify: tell the other nodes something changed (run inside the write's transaction, so it is
 * delivered on commit). wait: block up to timeout_ms for a notification from any node (our own
 * included) or for wake_fd (>= 0) to become readable; returns 1 notified, 2 wake_fd readable
 * (not drained), 0 timeout, -1 connection lost. On SQLite it polls wake_fd alone. */
int srv_mg_db_notify(srv_mg_db_t *db);
int srv_mg_db_wait(srv_mg_db_t *db, int wake_fd, int timeout_ms);

#endif
