/*
 * Private to mgmt_db*.c: what an engine (SQLite, PostgreSQL) provides to the engine-neutral
 * part (mgmt_db.c), which owns transactions, DDL, migrations and the snapshot loader.
 *
 * An engine's handle starts with struct srv_mg_db, so mgmt_db.c can reach the vtable and the
 * shared state without knowing the engine.
 */
#ifndef ARTEMIS_SERVER_MGMT_DB_INT_H
#define ARTEMIS_SERVER_MGMT_DB_INT_H

#include "mgmt_db.h"

typedef struct srv_mg_db_ops {
    int is_pg;
    /* DDL spelling of the id column; other columns map the same on both engines except the
     * integer type name. */
    const char *id_col;
    const char *int_type;
    /* BEGIN of a write transaction (SQLite takes the write lock at once so two writers never
     * deadlock on an upgrade) and of the loader's read transaction (one consistent snapshot
     * across every table). */
    const char *begin_sql;
    const char *begin_read_sql;
    /* Run inside the migration transaction before anything else, so concurrent nodes starting
     * together migrate one after the other (NULL: the write lock of begin_sql suffices). */
    const char *migrate_lock_sql;
    void (*close)(srv_mg_db_t *db);
    int (*ok)(srv_mg_db_t *db);
    int (*reconnect)(srv_mg_db_t *db, char *err, size_t errlen);
    int (*exec)(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                int64_t *affected, char *err, size_t errlen);
    int (*query)(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                 srv_mg_rows_t *out, char *err, size_t errlen);
    int (*notify)(srv_mg_db_t *db);
    int (*wait)(srv_mg_db_t *db, int wake_fd, int timeout_ms);
} srv_mg_db_ops_t;

struct srv_mg_db {
    const srv_mg_db_ops_t *ops;
    int in_tx;    /* between srv_mg_db_begin and commit/rollback */
    int conflict; /* the last failure was a unique-key violation */
};

srv_mg_db_t *srv_mg_db_sqlite_open(const char *path, char *err, size_t errlen);
srv_mg_db_t *srv_mg_db_pg_open(const char *uri, char *err, size_t errlen);

/* snprintf into err when err is not NULL (err may be NULL everywhere in this interface). */
void srv_mg_db_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* msg as one line (line breaks and tabs become a space) into out, with every occurrence of a
 * secret, the value of any password=..., and the password of any scheme://user:password@
 * replaced by ***: error text from a driver must never carry a password to a log. */
void srv_mg_db_scrub(char *out, size_t outlen, const char *msg, const char *const *secrets,
                     size_t nsecrets);

#endif
