/*
 * The management module's runtime (mgmt.c): the store's worker thread, the write and query
 * jobs the API hands it, and the snapshot of management state the event loop reads.
 *
 * Every database call runs on the worker thread, never on the event loop (the latency budget of
 * docs/design.md). A write is a transaction of statements; after it commits the worker reloads
 * the whole management state into a new snapshot (mgmt_model.h), indexes it, and hands it to
 * the loop, which swaps it in, announces what clients must see (a `delete` for each instance
 * an operation pulled out, a `new` for each pulled in, one `reload` per service whose rules,
 * groups, logical instances or zone/group operations changed) and only then answers the
 * write. Other nodes' writes arrive the same way: PostgreSQL NOTIFY wakes the worker, which
 * reloads; a periodic reload is the safety net (management.reload-interval-ms).
 *
 * When the database is lost the last snapshot keeps serving, writes fail at once with a
 * reason, /health and /metrics say so, and the worker reconnects by itself every second.
 * Thread-safety: everything here is for the loop thread, except what mgmt.c runs on its worker.
 */
#ifndef ARTEMIS_SERVER_MGMT_H
#define ARTEMIS_SERVER_MGMT_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt_model.h"
#include "server.h"

typedef struct srv_mgmt srv_mgmt_t;

/* Open the store named by the configuration (management-db, else SQLite in data-dir, created
 * if missing), migrate its schema, load the first snapshot and start the worker. At start-up,
 * before the loop runs. 0, or -1 with a one-line reason naming the key in err. */
int srv_mgmt_start(srv_server_t *srv, char *err, size_t errlen);
/* Stop the worker (after finishing the job in hand) and free everything. NULL-safe. */
void srv_mgmt_stop(srv_server_t *srv);

/* For tests and fuzz targets: management without a worker thread, on the given indexed
 * snapshot (taken) and an open store (may be NULL: then writes only queue, and fail when
 * srv_mgmt_stop runs). drain runs the queued jobs on the calling thread and delivers them, as
 * the worker and the loop would; take_db hands the store back (srv_mgmt_stop closes it
 * otherwise); swap applies a new snapshot (taken) as a reload would. seed: the keys snapshots
 * of this server use. */
struct srv_mg_db;
void srv_mgmt_start_detached(srv_server_t *srv, srv_mg_snap_t *snap, struct srv_mg_db *db);
void srv_mgmt_drain_detached(srv_server_t *srv);
struct srv_mg_db *srv_mgmt_take_db(srv_server_t *srv);
void srv_mgmt_swap_detached(srv_server_t *srv, srv_mg_snap_t *snap);
void srv_mgmt_seed(const srv_server_t *srv, uint64_t *k0, uint64_t *k1);

/* The current snapshot (never NULL after start). Valid until the loop next returns. */
const srv_mg_snap_t *srv_mgmt_snap(const srv_server_t *srv);

/* A transaction of statements (SQL of mgmt_db.h: $1..$n text parameters). */
typedef struct srv_mg_tx srv_mg_tx_t;
#define SRV_MG_IF_NONE 1u /* run only if the previous statement changed no row (upsert) */
#define SRV_MG_MUST    2u /* the transaction fails if this statement changes no row */
srv_mg_tx_t *srv_mg_tx_new(void);
void srv_mg_tx_free(srv_mg_tx_t *tx);
/* Add a statement; parameters are copied (NULL = SQL NULL). 0, or -1 on OOM (the tx is then
 * unusable: free it). */
int srv_mg_tx_add(srv_mg_tx_t *tx, unsigned flags, const char *sql, size_t n,
                  const char *const *params);
size_t srv_mg_tx_count(const srv_mg_tx_t *tx);

/* Called on the loop when a job is done: ok 1, or 0 with err (one line, no secrets). rows:
 * a query's answer (owned by the callee's caller: valid during the call only), else NULL. */
typedef void (*srv_mg_done_fn)(srv_server_t *srv, void *ctx, int ok, const char *err,
                               const srv_mg_rows_t *rows);
/* Run tx (taken) on the worker; when it has committed and the new snapshot is applied, call
 * done. 0, or -1 when the job could not even be queued (OOM; tx freed, done not called). */
int srv_mgmt_write(srv_server_t *srv, srv_mg_tx_t *tx, srv_mg_done_fn done, void *ctx);
/* Run one query returning ncols columns; done gets the rows. Same return as srv_mgmt_write. */
int srv_mgmt_query(srv_server_t *srv, const char *sql, size_t n, const char *const *params,
                   size_t ncols, srv_mg_done_fn done, void *ctx);

/* Figures for /health and /metrics, copied out. */
typedef struct srv_mgmt_info {
    const char *store; /* "sqlite" | "postgresql" */
    int ok;            /* the database is reachable */
    char last_error[256];
    int64_t loaded_ms;  /* wall clock of the snapshot in use */
    int64_t down_since; /* wall ms the database was lost, 0 while ok */
    uint64_t writes, write_failures, reloads, queries, reconnects, changes_announced;
    size_t queued;         /* jobs waiting for the worker */
    double last_load_secs; /* time the worker took for the last reload */
    size_t rows;           /* rows in the snapshot */
    int schema_version;
} srv_mgmt_info_t;
void srv_mgmt_info(const srv_server_t *srv, srv_mgmt_info_t *out);

#endif
