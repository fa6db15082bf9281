/*
 * Unit tests for the management store's database layer (server/mgmt_db*.c) on SQLite, in a
 * file under a mkdtemp directory: the shared scenarios of tests/pg/mgmt_db_cases.h (the same
 * ones run against PostgreSQL by tests/integration/test_mgmt_db_pg.py), plus what needs no
 * server at all: the pragmas and DDL, wait on a pipe, the scrubbing of passwords from error
 * text, and PostgreSQL connection failures.
 */
#include "test.h"

#include <fcntl.h>
#include <unistd.h>

#include "../pg/mgmt_db_cases.h"

static char tmpdir[64];
static char path[128];
static int nth;

static srv_mg_db_t *open_path(void)
{
    err[0] = 0;
    srv_mg_db_t *db = srv_mg_db_open(path, err, sizeof(err));
    if (!db)
        fail_msg("open %s: %s", path, err);
    return db;
}

static srv_mg_db_t *fresh_db(void)
{
    snprintf(path, sizeof(path), "%s/management-%d.db", tmpdir, ++nth);
    return open_path();
}

static srv_mg_db_t *reopen_db(void)
{
    return open_path();
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/artemis-mgdbXXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_open_settings(void **state)
{
    (void)state;
    assert_true(srv_mg_db_target_is_pg("postgresql://u@h/db"));
    assert_true(srv_mg_db_target_is_pg("postgres://h"));
    assert_false(srv_mg_db_target_is_pg("/var/lib/artemis/management.db"));
    assert_false(srv_mg_db_target_is_pg("postgresql.db"));

    srv_mg_db_t *db = fresh_db();
    assert_int_equal(srv_mg_db_is_pg(db), 0);
    assert_int_equal(srv_mg_db_ok(db), 1);
    assert_int_equal(srv_mg_db_reconnect(db, err, sizeof(err)), 0);
    assert_int_equal(access(path, F_OK), 0); /* created */
    static const struct {
        const char *pragma, *want;
    } want[] = {{"PRAGMA journal_mode", "wal"},
                {"PRAGMA synchronous", "1"},
                {"PRAGMA foreign_keys", "0"},
                {"PRAGMA busy_timeout", "5000"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        srv_mg_rows_t r = query(db, want[i].pragma, 1, 0, NULL);
        assert_int_equal(r.nrows, 1);
        if (strcmp(srv_mg_val(&r, 0, 0), want[i].want))
            fail_msg("%s = %s, want %s", want[i].pragma, srv_mg_val(&r, 0, 0), want[i].want);
        srv_mg_rows_free(&r);
    }
    srv_mg_db_close(db);

    err[0] = 0;
    assert_null(srv_mg_db_open("/nonexistent-dir/x/management.db", err, sizeof(err)));
    assert_true(err[0] != 0);
    assert_null(srv_mg_db_open("", err, sizeof(err)));
}

static void test_ddl(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    const char *p[] = {"instance"};
    srv_mg_rows_t r =
        query(db, "SELECT sql FROM sqlite_master WHERE tbl_name = $1 ORDER BY name", 1, 1, p);
    assert_int_equal(r.nrows, 2);
    const char *table = srv_mg_val(&r, 0, 0), *index = srv_mg_val(&r, 1, 0);
    assert_non_null(strstr(table, "id INTEGER PRIMARY KEY AUTOINCREMENT"));
    assert_non_null(strstr(table, "create_time INTEGER NOT NULL DEFAULT 0"));
    assert_non_null(strstr(table, "instance_id TEXT"));
    assert_non_null(strstr(index, "UNIQUE INDEX"));
    assert_non_null(strstr(index, "(lower(instance_id), lower(service_id), lower(region_id), "
                                  "lower(operation))"));
    srv_mg_rows_free(&r);
    /* integer key parts are not lower-cased; logs are indexed by time */
    const char *q[] = {"service_group_tag_uk", "service_group_log_ct"};
    r = query(db, "SELECT sql FROM sqlite_master WHERE name IN ($1, $2) ORDER BY name", 1, 2, q);
    assert_int_equal(r.nrows, 2);
    assert_non_null(strstr(srv_mg_val(&r, 0, 0), "(create_time)"));
    assert_non_null(strstr(srv_mg_val(&r, 1, 0), "(group_id, lower(tag))"));
    srv_mg_rows_free(&r);
    srv_mg_db_close(db);
}

static void test_wait(void **state)
{
    (void)state;
    srv_mg_db_t *db = migrated();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(srv_mg_db_notify(db), 0);
    int64_t t0 = mono_us();
    assert_int_equal(srv_mg_db_wait(db, fds[0], 50), 0);
    assert_true(mono_us() - t0 >= 40000);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(srv_mg_db_wait(db, fds[0], 1000), 2);
    assert_int_equal(srv_mg_db_wait(db, fds[0], 1000), 2); /* not drained */
    assert_int_equal(srv_mg_db_wait(db, -1, 10), 0);
    close(fds[0]);
    close(fds[1]);
    srv_mg_db_close(db);
}

static void scrubbed(const char *in, const char *const *secrets, size_t n, const char *want)
{
    char out[256];
    srv_mg_db_scrub(out, sizeof(out), in, secrets, n);
    if (strcmp(out, want))
        fail_msg("scrub '%s'\n got  '%s'\n want '%s'", in, out, want);
}

static void test_scrub(void **state)
{
    (void)state;
    scrubbed("plain message\n", NULL, 0, "plain message");
    scrubbed("a\n\tb\r\nc", NULL, 0, "a b c");
    scrubbed("bad postgresql://u:hunter2@h:5432/db", NULL, 0, "bad postgresql://u:***@h:5432/db");
    scrubbed("x postgres://u:p@ss/w@h/db y", NULL, 0, "x postgres://u:***@h/db y");
    scrubbed("no password postgresql://u@h/db", NULL, 0, "no password postgresql://u@h/db");
    scrubbed("host=h password=hunter2 user=u", NULL, 0, "host=h password=*** user=u");
    scrubbed("password = 'a b\\' c' user=u", NULL, 0, "password=*** user=u");
    scrubbed("?sslmode=x&PASSWORD=hunter2&a=b", NULL, 0, "?sslmode=x&password=***&a=b");
    scrubbed("password authentication failed for user \"u\"", NULL, 0,
             "password authentication failed for user \"u\"");
    const char *secrets[] = {"s3cr%zzt", NULL, "s3"};
    scrubbed("invalid percent-encoded token: \"s3cr%zzt\"", secrets, 3,
             "invalid percent-encoded token: \"***\"");
    /* a short output buffer truncates, terminated */
    char out[8];
    srv_mg_db_scrub(out, sizeof(out), "0123456789", NULL, 0);
    assert_string_equal(out, "0123456");
}

/* Connection failures need no server: nothing listens on port 1 of loopback. */
static void pg_open_fails(const char *uri, const char *secret)
{
    err[0] = 0;
    srv_mg_db_t *db = srv_mg_db_open(uri, err, sizeof(err));
    assert_null(db);
    assert_true(err[0] != 0);
    assert_null(strchr(err, '\n'));
    if (strstr(err, secret))
        fail_msg("the error for %s shows the password: %s", uri, err);
}

static void test_pg_errors_hide_password(void **state)
{
    (void)state;
    pg_open_fails("postgresql://artemis:hunter2@127.0.0.1:1/db", "hunter2");
    pg_open_fails("postgresql://artemis:hun%zzter2@127.0.0.1:1/db", "hun%zzter2");
    pg_open_fails("postgresql://artemis@127.0.0.1:1/db?password=hunter2&sslmode=bogus", "hunter2");
    pg_open_fails("postgresql://artemis@127.0.0.1:1/db?password=hun%zzter2", "hun%zzter2");
    pg_open_fails("postgresql://artemis:hunter2@127.0.0.1:1/db?bogus_option=1", "hunter2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_settings),
        cmocka_unit_test(test_ddl),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_pg_errors_hide_password),
        MGMT_DB_CASES,
    };
    return cmocka_run_group_tests_name("mgmt_db", tests, setup, teardown);
}
