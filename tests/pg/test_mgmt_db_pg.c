/*
 * The management store's database layer on PostgreSQL (server/mgmt_db_pg.c), against the
 * database named by ARTEMIS_TEST_PG_URI; tests/integration/test_mgmt_db_pg.py starts a
 * throwaway cluster and runs this program. Without the variable it fails: a driver test that
 * silently skips is a test nobody runs.
 *
 *   test_mgmt_db_pg           the shared scenarios (tests/pg/mgmt_db_cases.h) and
 *                             notification: across connections, on commit only, wake_fd
 *   test_mgmt_db_pg outage    driven over stdin/stdout by the Python module: prints READY,
 *                             waits for a line (the server has been stopped), checks exec
 *                             fails, srv_mg_db_ok is 0, wait returns -1 and reconnect fails
 *                             without showing the password; prints DOWN, waits for a line
 *                             (the server is back), checks reconnect, exec and LISTEN again.
 */
#include "test.h"

#include <pthread.h>
#include <unistd.h>

#include "mgmt_db_cases.h"

static const char *uri;

static srv_mg_db_t *reopen_db(void)
{
    err[0] = 0;
    srv_mg_db_t *db = srv_mg_db_open(uri, err, sizeof(err));
    if (!db)
        fail_msg("open: %s", err);
    return db;
}

/* An empty database: every table of a previous case goes with the schema. */
static srv_mg_db_t *fresh_db(void)
{
    srv_mg_db_t *db = reopen_db();
    exec1(db, "DROP SCHEMA IF EXISTS public CASCADE", 0, NULL);
    exec1(db, "CREATE SCHEMA public", 0, NULL);
    return db;
}

static void test_open(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    assert_int_equal(srv_mg_db_is_pg(db), 1);
    assert_int_equal(srv_mg_db_ok(db), 1);
    /* the DDL of the PostgreSQL dialect */
    srv_mg_rows_t r = query(db,
                            "SELECT data_type, column_default FROM information_schema.columns "
                            "WHERE table_name = 'instance' AND column_name IN ('id', "
                            "'create_time') ORDER BY column_name",
                            2, 0, NULL);
    assert_int_equal(r.nrows, 2);
    assert_val(&r, 0, 0, "bigint"); /* create_time */
    assert_val(&r, 0, 1, "0");
    assert_val(&r, 1, 0, "bigint"); /* id */
    assert_non_null(strstr(srv_mg_val(&r, 1, 1), "nextval"));
    srv_mg_rows_free(&r);
    r = query(db, "SELECT indexdef FROM pg_indexes WHERE indexname = 'service_group_tag_uk'", 1, 0,
              NULL);
    assert_int_equal(r.nrows, 1);
    assert_non_null(strstr(srv_mg_val(&r, 0, 0), "(group_id, lower(tag))"));
    srv_mg_rows_free(&r);
    srv_mg_db_close(db);
}

static void test_notify(void **state)
{
    (void)state;
    srv_mg_db_t *a = migrated(), *b = reopen_db();
    assert_int_equal(srv_mg_db_wait(b, -1, 0), 0);

    /* inside a transaction the notification waits for the commit */
    OK(srv_mg_db_begin(a, err, sizeof(err)));
    const char *p[] = {"10.0.0.1", "sha", "pullout"};
    assert_int_equal(
        exec1(a, "INSERT INTO server (server_id, region_id, operation) VALUES ($1, $2, $3)", 3, p),
        1);
    assert_int_equal(srv_mg_db_notify(a), 0);
    assert_int_equal(srv_mg_db_wait(b, -1, 200), 0);
    OK(srv_mg_db_commit(a, err, sizeof(err)));
    int64_t t0 = mono_us();
    assert_int_equal(srv_mg_db_wait(b, -1, 1000), 1);
    print_message("notify -> wait on another connection: %lld us\n", (long long)(mono_us() - t0));
    /* not our own: the session that wrote has reloaded already (one reload per write) */
    assert_int_equal(srv_mg_db_wait(a, -1, 200), 0);
    assert_int_equal(srv_mg_db_wait(b, -1, 50), 0); /* consumed */

    /* outside a transaction at once; several coalesce into one wake-up */
    assert_int_equal(srv_mg_db_notify(a), 0);
    assert_int_equal(srv_mg_db_notify(a), 0);
    usleep(100000);
    assert_int_equal(srv_mg_db_wait(b, -1, 1000), 1);
    assert_int_equal(srv_mg_db_wait(b, -1, 50), 0);

    /* wake_fd */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    t0 = mono_us();
    assert_int_equal(srv_mg_db_wait(b, fds[0], 100), 0);
    assert_true(mono_us() - t0 >= 90000);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(srv_mg_db_wait(b, fds[0], 1000), 2);
    assert_int_equal(srv_mg_db_wait(b, fds[0], 1000), 2); /* not drained */
    close(fds[0]);
    close(fds[1]);
    srv_mg_db_close(b);
    srv_mg_db_close(a);
}

/* The statement shapes whose parameter types PostgreSQL infers, and the ones that need a
 * cast (they fail here so that the SQL writers learn it from a test, not in production). */
static void test_type_inference(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *p[] = {"5000000000"};
    srv_mg_rows_t r = query(db, "SELECT $1::bigint + 1", 1, 1, p);
    assert_val(&r, 0, 0, "5000000001");
    srv_mg_rows_free(&r);
    srv_mg_rows_init(&r, 1);
    /* $1 + 1 is integer + integer: out of range */
    assert_int_equal(srv_mg_db_query(db, "SELECT $1 + 1", 1, p, &r, err, sizeof(err)), -1);
    const char *n[] = {NULL};
    /* "$1 IS NULL" alone has no type */
    assert_int_equal(srv_mg_db_query(db, "SELECT count(*) FROM server WHERE $1 IS NULL", 1, n, &r,
                                     err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "could not determine data type"));
    /* a non-number for a bigint column is an error, not "no match" */
    const char *bad[] = {"abc"};
    assert_int_equal(srv_mg_db_query(db, "SELECT count(*) FROM server WHERE id = $1", 1, bad, &r,
                                     err, sizeof(err)),
                     -1);
    srv_mg_rows_free(&r);
    srv_mg_db_close(db);
}

typedef struct {
    int rc;
    char err[256];
} migrate_arg_t;

static void *migrate_thread(void *arg)
{
    migrate_arg_t *m = arg;
    srv_mg_db_t *db = srv_mg_db_open(uri, m->err, sizeof(m->err));
    m->rc = db ? srv_mg_db_migrate(db, m->err, sizeof(m->err)) : -1;
    srv_mg_db_close(db);
    return NULL;
}

/* Nodes of a cluster start together: CREATE TABLE IF NOT EXISTS alone would race (a unique
 * violation in pg_type), the migration lock serializes them. */
static void test_concurrent_migrate(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        srv_mg_db_close(fresh_db());
        migrate_arg_t m[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &m[i]), 0);
        for (int i = 0; i < 4; i++) /* all of them before any check can leave this frame */
            pthread_join(th[i], NULL);
        for (int i = 0; i < 4; i++) {
            if (m[i].rc != 0)
                fail_msg("round %d: migration %d failed: %s", round, i, m[i].err);
        }
    }
    srv_mg_db_t *db = reopen_db();
    assert_int_equal(srv_mg_db_schema_version(db), 1);
    assert_int_equal(count(db, "schema_version"), 1);
    srv_mg_db_close(db);
}

static int run_cases(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_type_inference),
        cmocka_unit_test(test_concurrent_migrate),
        MGMT_DB_CASES,
    };
    return cmocka_run_group_tests_name("mgmt_db_pg", tests, NULL, NULL);
}

static void step(const char *say)
{
    printf("%s\n", say);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof(line), stdin))
        fail_msg("stdin closed after %s", say);
}

static void test_outage(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *sql = "INSERT INTO server (server_id, region_id, operation) VALUES ($1, $2, $3)";
    const char *p[] = {"10.0.0.1", "sha", "pullout"};
    assert_int_equal(exec1(db, sql, 3, p), 1);

    step("READY"); /* the server is stopped now */
    err[0] = 0;
    const char *lost[] = {"10.0.0.9", "sha", "pullout"}; /* would go in if the server were up */
    assert_int_equal(srv_mg_db_exec(db, sql, 3, lost, NULL, err, sizeof(err)), -1);
    print_message("exec while down: %s\n", err);
    assert_int_equal(srv_mg_db_ok(db), 0);
    assert_int_equal(srv_mg_db_wait(db, -1, 1000), -1);
    err[0] = 0;
    assert_int_equal(srv_mg_db_reconnect(db, err, sizeof(err)), -1);
    print_message("reconnect while down: %s\n", err);
    assert_true(err[0] != 0);
    const char *pw = getenv("ARTEMIS_TEST_PG_PASSWORD");
    if (pw && *pw && strstr(err, pw))
        fail_msg("the error shows the password: %s", err);
    assert_int_equal(srv_mg_db_ok(db), 0);

    step("DOWN"); /* the server is back */
    OK(srv_mg_db_reconnect(db, err, sizeof(err)));
    assert_int_equal(srv_mg_db_ok(db), 1);
    const char *q[] = {"10.0.0.2", "sha", "pullout"};
    assert_int_equal(exec1(db, sql, 3, q), 1);
    assert_int_equal(count(db, "server"), 2);
    /* LISTEN again after the reconnect: another session's NOTIFY reaches it */
    srv_mg_db_t *other = reopen_db();
    assert_int_equal(srv_mg_db_notify(other), 0);
    assert_int_equal(srv_mg_db_wait(db, -1, 1000), 1);
    srv_mg_db_close(other);
    srv_mg_db_close(db);
    printf("DONE\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    uri = getenv("ARTEMIS_TEST_PG_URI");
    if (!uri || !*uri) {
        fprintf(stderr, "test_mgmt_db_pg: ARTEMIS_TEST_PG_URI is not set; run it through "
                        "tests/integration/test_mgmt_db_pg.py (make check-integration "
                        "INTEGRATION_FILTER=mgmt_db_pg), which starts a PostgreSQL cluster\n");
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "outage")) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_outage)};
        return cmocka_run_group_tests_name("mgmt_db_pg_outage", tests, NULL, NULL);
    }
    return run_cases();
}
