/*
 * The scenarios both engines of the management store's database layer must pass (server/
 * mgmt_db.h), shared by tests/unit/test_mgmt_db.c (SQLite) and tests/pg/test_mgmt_db_pg.c
 * (PostgreSQL). The including file defines
 *     static srv_mg_db_t *fresh_db(void);  an empty database, opened
 *     static srv_mg_db_t *reopen_db(void); another connection to the same database
 * and lists MGMT_DB_CASES in its cmocka test array.
 */
#ifndef ARTEMIS_TESTS_MGMT_DB_CASES_H
#define ARTEMIS_TESTS_MGMT_DB_CASES_H

#include <time.h>

#include "mgmt_db.h"
#include "mgmt_db_int.h"

static srv_mg_db_t *fresh_db(void);
static srv_mg_db_t *reopen_db(void);

static char err[512];

#define OK(call)                                                                                   \
    do {                                                                                           \
        err[0] = 0;                                                                                \
        if ((call) != 0)                                                                           \
            fail_msg("%s failed: %s", #call, err);                                                 \
    } while (0)

static srv_mg_db_t *migrated(void)
{
    srv_mg_db_t *db = fresh_db();
    OK(srv_mg_db_migrate(db, err, sizeof(err)));
    return db;
}

static int64_t exec1(srv_mg_db_t *db, const char *sql, size_t n, const char *const *p)
{
    int64_t affected = -1;
    err[0] = 0;
    if (srv_mg_db_exec(db, sql, n, p, &affected, err, sizeof(err)) != 0)
        fail_msg("exec '%s': %s", sql, err);
    return affected;
}

/* Rows of a query with ncols columns (caller frees). */
static srv_mg_rows_t query(srv_mg_db_t *db, const char *sql, size_t ncols, size_t n,
                           const char *const *p)
{
    srv_mg_rows_t r;
    srv_mg_rows_init(&r, ncols);
    err[0] = 0;
    if (srv_mg_db_query(db, sql, n, p, &r, err, sizeof(err)) != 0)
        fail_msg("query '%s': %s", sql, err);
    return r;
}

static int64_t count(srv_mg_db_t *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    srv_mg_rows_t r = query(db, sql, 1, 0, NULL);
    assert_int_equal(r.nrows, 1);
    int64_t n = srv_mg_int(&r, 0, 0, -1);
    srv_mg_rows_free(&r);
    return n;
}

static void assert_val(const srv_mg_rows_t *r, size_t row, size_t col, const char *want)
{
    const char *got = srv_mg_val(r, row, col);
    if (!want && !got)
        return;
    if (!want || !got || strcmp(want, got))
        fail_msg("row %zu col %zu: want %s%s%s, got %s%s%s", row, col, want ? "'" : "",
                 want ? want : "NULL", want ? "'" : "", got ? "'" : "", got ? got : "NULL",
                 got ? "'" : "");
}

static void case_migrate_twice(void **state)
{
    (void)state;
    srv_mg_db_t *db = fresh_db();
    assert_int_equal(srv_mg_db_schema_version(db), -1); /* no schema_version table yet */
    OK(srv_mg_db_migrate(db, err, sizeof(err)));
    assert_int_equal(srv_mg_db_schema_version(db), 1);
    OK(srv_mg_db_migrate(db, err, sizeof(err)));
    assert_int_equal(srv_mg_db_schema_version(db), 1);
    assert_int_equal(count(db, "schema_version"), 1);
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        assert_int_equal(count(db, srv_mg_table((srv_mg_table_id_t)t)->name), 0);
    /* a version from the future is refused, not downgraded */
    exec1(db, "UPDATE schema_version SET version = 99", 0, NULL);
    assert_int_equal(srv_mg_db_migrate(db, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "99"));
    srv_mg_db_close(db);
}

static const char *const HOSTILE[] = {
    "it's \"quoted\"",
    "a;b;c",
    "'); DROP TABLE instance;--",
    "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x9a\x80 caf\xc3\xa9",
    "$1 $2 ? :x @y",
    "back\\slash\nnewline\ttab",
};
#define NHOSTILE (sizeof(HOSTILE) / sizeof(HOSTILE[0]))

static void case_hostile_values(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    for (size_t i = 0; i < NHOSTILE; i++) {
        char reg[16];
        snprintf(reg, sizeof(reg), "r%zu", i);
        const char *p[] = {HOSTILE[i], "svc", reg, "pullout", NULL, "1700000000123"};
        assert_int_equal(exec1(db,
                               "INSERT INTO instance (instance_id, service_id, region_id, "
                               "operation, operator_id, create_time) VALUES ($1, $2, $3, $4, "
                               "$5, $6)",
                               6, p),
                         1);
        const char *q[] = {HOSTILE[i], HOSTILE[i], NULL, "1"};
        assert_int_equal(exec1(db,
                               "INSERT INTO server_log (server_id, region_id, token, complete) "
                               "VALUES ($1, $2, $3, $4)",
                               4, q),
                         1);
    }
    /* the same text comes back, byte for byte; NULL stays NULL */
    srv_mg_rows_t r = query(db,
                            "SELECT instance_id, operator_id, create_time, update_time FROM "
                            "instance ORDER BY id",
                            4, 0, NULL);
    assert_int_equal(r.nrows, NHOSTILE);
    for (size_t i = 0; i < NHOSTILE; i++) {
        assert_val(&r, i, 0, HOSTILE[i]);
        assert_val(&r, i, 1, NULL);
        assert_val(&r, i, 2, "1700000000123");
        assert_val(&r, i, 3, "0"); /* the default */
    }
    srv_mg_rows_free(&r);
    r = query(db, "SELECT server_id, region_id, token, complete FROM server_log ORDER BY id", 4, 0,
              NULL);
    assert_int_equal(r.nrows, NHOSTILE);
    for (size_t i = 0; i < NHOSTILE; i++) {
        assert_val(&r, i, 0, HOSTILE[i]);
        assert_val(&r, i, 1, HOSTILE[i]);
        assert_val(&r, i, 2, NULL);
        assert_val(&r, i, 3, "1");
    }
    srv_mg_rows_free(&r);
    /* one parameter used twice; a WHERE on a hostile value finds exactly its row */
    const char *p[] = {HOSTILE[2]};
    r = query(db, "SELECT id FROM instance WHERE instance_id = $1 OR operator_id = $1", 1, 1, p);
    assert_int_equal(r.nrows, 1);
    assert_val(&r, 0, 0, "3");
    srv_mg_rows_free(&r);
    /* a multi-row DELETE counts its rows */
    const char *d[] = {"1"};
    assert_int_equal(exec1(db, "DELETE FROM server_log WHERE complete = $1", 1, d),
                     (int64_t)NHOSTILE);
    assert_int_equal(exec1(db, "DELETE FROM server_log", 0, NULL), 0);
    srv_mg_db_close(db);
}

static void case_upsert(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *const up[] = {"5", "Demo.Service", "sha", "sha-z1", "pullout"};
    const char *sql_update = "UPDATE service_zone SET update_time = $1 WHERE "
                             "lower(service_id) = lower($2) AND lower(region_id) = lower($3) "
                             "AND lower(zone_id) = lower($4) AND lower(operation) = lower($5)";
    const char *sql_insert = "INSERT INTO service_zone (create_time, update_time, service_id, "
                             "region_id, zone_id, operation) VALUES ($1, $1, $2, $3, $4, $5)";
    assert_int_equal(exec1(db, sql_update, 5, up), 0);
    assert_int_equal(exec1(db, sql_insert, 5, up), 1);
    const char *const again[] = {"9", "DEMO.service", "SHA", "SHA-Z1", "PullOut"};
    assert_int_equal(exec1(db, sql_update, 5, again), 1);
    srv_mg_rows_t r =
        query(db, "SELECT create_time, update_time, service_id FROM service_zone", 3, 0, NULL);
    assert_int_equal(r.nrows, 1);
    assert_val(&r, 0, 0, "5");
    assert_val(&r, 0, 1, "9");
    assert_val(&r, 0, 2, "Demo.Service");
    srv_mg_rows_free(&r);
    srv_mg_db_close(db);
}

static void case_unique_ignores_case(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *sql = "INSERT INTO instance (instance_id, service_id, region_id, operation) "
                      "VALUES ($1, $2, $3, $4)";
    const char *a[] = {"Inst-1", "Svc", "sha", "pullout"};
    assert_int_equal(exec1(db, sql, 4, a), 1);
    const char *b[] = {"INST-1", "svc", "SHA", "PULLOUT"};
    int64_t affected = -1;
    err[0] = 0;
    assert_int_equal(srv_mg_db_exec(db, sql, 4, b, &affected, err, sizeof(err)), -1);
    assert_true(err[0] != 0);
    assert_int_equal(srv_mg_db_conflict(db), 1);
    assert_int_equal(affected, 0);
    /* NULL is not equal to NULL: two keys with a NULL part both go in */
    const char *c[] = {"i2", "svc", NULL, "pullout"};
    assert_int_equal(exec1(db, sql, 4, c), 1);
    assert_int_equal(srv_mg_db_conflict(db), 0);
    assert_int_equal(exec1(db, sql, 4, c), 1);
    /* integer key parts compare as numbers */
    const char *tag = "INSERT INTO service_group_tag (group_id, tag, value) VALUES ($1, $2, $3)";
    const char *t1[] = {"1", "Env", "prod"}, *t2[] = {"1", "ENV", "dev"},
               *t3[] = {"2", "env", "dev"};
    assert_int_equal(exec1(db, tag, 3, t1), 1);
    assert_int_equal(srv_mg_db_exec(db, tag, 3, t2, NULL, err, sizeof(err)), -1);
    assert_int_equal(srv_mg_db_conflict(db), 1);
    assert_int_equal(exec1(db, tag, 3, t3), 1);
    /* a failed statement inside a transaction: the caller rolls back (PostgreSQL aborts the
     * whole transaction, SQLite only the statement; rollback leaves both clean) */
    OK(srv_mg_db_begin(db, err, sizeof(err)));
    const char *t4[] = {"3", "x", "y"};
    assert_int_equal(exec1(db, tag, 3, t4), 1);
    assert_int_equal(srv_mg_db_exec(db, tag, 3, t2, NULL, err, sizeof(err)), -1);
    srv_mg_db_rollback(db);
    assert_int_equal(count(db, "service_group_tag"), 2);
    assert_int_equal(count(db, "instance"), 3);
    srv_mg_db_close(db);
}

static void case_transactions(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *sql = "INSERT INTO server (server_id, region_id, operation) VALUES ($1, $2, $3)";
    const char *a[] = {"10.0.0.1", "sha", "pullout"}, *b[] = {"10.0.0.2", "sha", "pullout"};
    OK(srv_mg_db_begin(db, err, sizeof(err)));
    assert_int_equal(srv_mg_db_begin(db, err, sizeof(err)), -1); /* no nesting */
    assert_int_equal(exec1(db, sql, 3, a), 1);
    assert_int_equal(exec1(db, sql, 3, b), 1);
    assert_int_equal(count(db, "server"), 2); /* the transaction sees its own rows */
    srv_mg_db_rollback(db);
    assert_int_equal(count(db, "server"), 0);
    assert_int_equal(srv_mg_db_commit(db, err, sizeof(err)), -1); /* nothing to commit */

    OK(srv_mg_db_begin(db, err, sizeof(err)));
    assert_int_equal(exec1(db, sql, 3, a), 1);
    srv_mg_db_t *other = reopen_db();
    assert_int_equal(count(other, "server"), 0); /* not committed yet */
    OK(srv_mg_db_commit(db, err, sizeof(err)));
    assert_int_equal(count(other, "server"), 1);
    srv_mg_db_close(other);
    srv_mg_db_close(db);

    /* a new connection sees what was committed */
    db = reopen_db();
    OK(srv_mg_db_migrate(db, err, sizeof(err)));
    assert_int_equal(count(db, "server"), 1);
    srv_mg_db_close(db);
}

static void case_load(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *g1[] = {"Svc.A", "sha", "sha-z1", "blue", "app", NULL, "up", "0", "100", "200"};
    const char *g2[] = {"Svc.A", "sha", "sha-z1", "green", NULL, "d", "down", "1", "300", "400"};
    const char *sql = "INSERT INTO service_group (service_id, region_id, zone_id, name, app_id, "
                      "description, status, deleted, create_time, update_time) VALUES ($1, $2, "
                      "$3, $4, $5, $6, $7, $8, $9, $10)";
    assert_int_equal(exec1(db, sql, 10, g1), 1);
    assert_int_equal(exec1(db, sql, 10, g2), 1);
    const char *rr[] = {"1", "2", "50", NULL};
    assert_int_equal(exec1(db,
                           "INSERT INTO service_route_rule_group (route_rule_id, group_id, "
                           "weight, unreleased_weight) VALUES ($1, $2, $3, $4)",
                           4, rr),
                     1);
    const char *lg[] = {"1", "Svc.A"};
    assert_int_equal(
        exec1(db, "INSERT INTO service_group_log (group_id, service_id) VALUES ($1, $2)", 2, lg),
        1);

    srv_mg_snap_t snap;
    memset(&snap, 0, sizeof(snap));
    OK(srv_mg_db_load(db, &snap, err, sizeof(err)));
    const srv_mg_rows_t *g = &snap.tab[SRV_MG_GROUP];
    assert_int_equal(g->ncols, srv_mg_table(SRV_MG_GROUP)->ncols);
    assert_int_equal(g->nrows, 2);
    assert_val(g, 0, SRV_MGC_ID, "1");
    assert_val(g, 0, SRV_MGC_CREATE_TIME, "100");
    assert_val(g, 0, SRV_MGC_UPDATE_TIME, "200");
    assert_val(g, 0, SRV_MGC_GROUP_SERVICE_ID, "Svc.A");
    assert_val(g, 0, SRV_MGC_GROUP_REGION_ID, "sha");
    assert_val(g, 0, SRV_MGC_GROUP_ZONE_ID, "sha-z1");
    assert_val(g, 0, SRV_MGC_GROUP_NAME, "blue");
    assert_val(g, 0, SRV_MGC_GROUP_APP_ID, "app");
    assert_val(g, 0, SRV_MGC_GROUP_DESCRIPTION, NULL);
    assert_val(g, 0, SRV_MGC_GROUP_STATUS, "up");
    assert_val(g, 0, SRV_MGC_GROUP_DELETED, "0");
    assert_val(g, 1, SRV_MGC_ID, "2");
    assert_val(g, 1, SRV_MGC_GROUP_NAME, "green");
    assert_val(g, 1, SRV_MGC_GROUP_APP_ID, NULL);
    assert_val(g, 1, SRV_MGC_GROUP_DELETED, "1");
    const srv_mg_rows_t *rg = &snap.tab[SRV_MG_ROUTE_RULE_GROUP];
    assert_int_equal(rg->nrows, 1);
    assert_int_equal(srv_mg_int(rg, 0, SRV_MGC_ROUTE_RULE_GROUP_WEIGHT, -1), 50);
    assert_val(rg, 0, SRV_MGC_ROUTE_RULE_GROUP_UNRELEASED_WEIGHT, NULL);
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++) {
        const srv_mg_table_t *d = srv_mg_table((srv_mg_table_id_t)t);
        if (!d->cached) /* logs are read on demand */
            assert_int_equal(snap.tab[t].nrows, 0);
        else
            assert_int_equal(snap.tab[t].ncols, d->ncols);
    }
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        srv_mg_rows_free(&snap.tab[t]);

    /* inside the caller's transaction the loader uses it (and sees its uncommitted rows) */
    OK(srv_mg_db_begin(db, err, sizeof(err)));
    const char *g3[] = {"Svc.B", "sha", "z", "n", NULL, NULL, NULL, "0", "1", "1"};
    assert_int_equal(exec1(db, sql, 10, g3), 1);
    memset(&snap, 0, sizeof(snap));
    OK(srv_mg_db_load(db, &snap, err, sizeof(err)));
    assert_int_equal(snap.tab[SRV_MG_GROUP].nrows, 3);
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++)
        srv_mg_rows_free(&snap.tab[t]);
    OK(srv_mg_db_commit(db, err, sizeof(err)));
    srv_mg_db_close(db);
}

static void case_query_params(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *sql = "INSERT INTO service_instance_log (create_time, service_id, instance_id, "
                      "port, operation) VALUES ($1, $2, $3, $4, $5)";
    for (int i = 0; i < 10; i++) {
        char t[32], id[32], port[16];
        snprintf(t, sizeof(t), "%lld", 1700000000000LL + i);
        snprintf(id, sizeof(id), "i%d", i);
        snprintf(port, sizeof(port), "%d", 8000 + i);
        const char *p[] = {t, i % 2 ? "Svc.Odd" : "Svc.Even", id, port, "register"};
        assert_int_equal(exec1(db, sql, 5, p), 1);
    }
    /* text lower-cased, a bigint comparison, LIMIT/OFFSET from parameters */
    const char *p[] = {"SVC.ODD", "1700000000002", "2", "1"};
    srv_mg_rows_t r = query(db,
                            "SELECT instance_id, port, create_time FROM service_instance_log "
                            "WHERE lower(service_id) = lower($1) AND create_time > $2 ORDER BY "
                            "create_time DESC LIMIT $3 OFFSET $4",
                            3, 4, p);
    assert_int_equal(r.nrows, 2);
    assert_val(&r, 0, 0, "i7");
    assert_val(&r, 0, 1, "8007");
    assert_val(&r, 1, 0, "i5");
    assert_val(&r, 1, 2, "1700000000005");
    srv_mg_rows_free(&r);
    /* NULL parameters: "either this value or any" needs an explicit type on PostgreSQL */
    const char *q[] = {NULL};
    r = query(db,
              "SELECT count(*) FROM service_instance_log WHERE (CAST($1 AS TEXT) IS NULL OR "
              "instance_id = $1)",
              1, 1, q);
    assert_val(&r, 0, 0, "10");
    srv_mg_rows_free(&r);

    /* failures leave the rows as they were and say why */
    srv_mg_rows_init(&r, 2);
    assert_int_equal(srv_mg_db_query(db, "SELECT instance_id FROM service_instance_log", 0, NULL,
                                     &r, err, sizeof(err)),
                     -1);
    assert_int_equal(r.nrows, 0);
    assert_true(err[0] != 0);
    srv_mg_rows_free(&r);
    srv_mg_rows_init(&r, 1);
    err[0] = 0;
    assert_int_equal(
        srv_mg_db_query(db, "SELECT nope FROM service_instance_log", 0, NULL, &r, err, sizeof(err)),
        -1);
    assert_true(err[0] != 0);
    /* every parameter must be used (PostgreSQL cannot type an unused one) */
    const char *two[] = {"a", "b"};
    assert_int_equal(srv_mg_db_query(db,
                                     "SELECT instance_id FROM service_instance_log WHERE "
                                     "instance_id = $2",
                                     2, two, &r, err, sizeof(err)),
                     -1);
    /* one statement at a time */
    assert_int_equal(srv_mg_db_exec(db, "DELETE FROM instance; DELETE FROM server", 0, NULL, NULL,
                                    err, sizeof(err)),
                     -1);
    assert_int_equal(r.nrows, 0);
    srv_mg_rows_free(&r);
    srv_mg_db_close(db);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Not a pass/fail check: prints the median of 100 single-row INSERT + COMMIT. */
static void case_timing(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    int64_t us[100];
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof(id), "10.0.%d.%d", i / 250, i % 250);
        const char *p[] = {id, "sha", "pullout", "1700000000000"};
        int64_t t0 = mono_us();
        OK(srv_mg_db_begin(db, err, sizeof(err)));
        assert_int_equal(exec1(db,
                               "INSERT INTO server (server_id, region_id, operation, "
                               "create_time) VALUES ($1, $2, $3, $4)",
                               4, p),
                         1);
        OK(srv_mg_db_commit(db, err, sizeof(err)));
        us[i] = mono_us() - t0;
    }
    qsort(us, 100, sizeof(us[0]), cmp_i64);
    print_message("timing (%s): INSERT+COMMIT median %lld us, p90 %lld us, max %lld us\n",
                  srv_mg_db_is_pg(db) ? "PostgreSQL" : "SQLite", (long long)us[50],
                  (long long)us[90], (long long)us[99]);
    srv_mg_db_close(db);
}

#define MGMT_DB_CASES                                                                              \
    cmocka_unit_test(case_migrate_twice), cmocka_unit_test(case_hostile_values),                   \
        cmocka_unit_test(case_upsert), cmocka_unit_test(case_unique_ignores_case),                 \
        cmocka_unit_test(case_transactions), cmocka_unit_test(case_load),                          \
        cmocka_unit_test(case_query_params), cmocka_unit_test(case_timing)

#endif
