/*
 * Unit tests for disk snapshots (sdk/snapshot.c): file names for odd service ids, save/load
 * round trips (stale views that keep their confirmed time), atomic replacement, and hostile
 * files that must be skipped without a crash.
 */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "artemis/service.h"
#include "cache.h"
#include "log_int.h"
#include "sdk_int.h"
#include "snapshot.h"

static const char SERVICE[] =
    "{\"instances\":[{\"groupId\":\"blue\",\"healthCheckUrl\":\"http://10.0.0.5:8080/health\","
    "\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":{\"env\":\"prod\",\"k\":\"v\"},\"port\":8080,\"protocol\":\"http\","
    "\"regionId\":\"sha\",\"serviceId\":\"Demo.Service.V1\",\"status\":\"up\","
    "\"url\":\"http://10.0.0.5:8080/demo\",\"zoneId\":\"sha-z1\"},{\"groupId\":\"green\","
    "\"healthCheckUrl\":null,\"instanceId\":\"10.0.0.9:8080\",\"ip\":\"10.0.0.9\","
    "\"machineName\":null,\"metadata\":null,\"port\":8080,\"protocol\":\"http\","
    "\"regionId\":\"sha\",\"serviceId\":\"Demo.Service.V1\",\"status\":\"up\","
    "\"url\":\"http://10.0.0.9:8080/demo\",\"zoneId\":\"sha-z1\"}],\"routeRules\":[{\"groups\":"
    "[{\"groupKey\":\"demo.service.v1/sha/sha-z1/blue\",\"instanceIds\":[],\"instances\":null,"
    "\"metadata\":{\"owner\":\"team-a\"},\"weight\":80},{\"groupKey\":"
    "\"demo.service.v1/sha/sha-z1/green\",\"instanceIds\":[\"10.0.0.9:8080\"],\"instances\":"
    "null,\"metadata\":null,\"weight\":20}],\"routeId\":\"bluegreen\",\"strategy\":"
    "\"weighted-round-robin\"}],\"serviceId\":\"Demo.Service.V1\"}";

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/artemis-snapXXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static artemis_service_t *svc_from(const char *s, int64_t now)
{
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    artemis_service_t *svc = artemisi_service_from_json(j, now, 0);
    json_decref(j);
    return svc;
}

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_names(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(artemisi_snapshot_name("Demo.Service.V1", out, sizeof(out)), 0);
    assert_string_equal(out, "demo.service.v1.json");
    assert_int_equal(artemisi_snapshot_name("a/B c_d-e", out, sizeof(out)), 0);
    assert_string_equal(out, "a%2fb%20c_d-e.json");
    assert_int_equal(artemisi_snapshot_name("..", out, sizeof(out)), 0);
    assert_string_equal(out, "%2e..json");
    assert_int_equal(artemisi_snapshot_name("caf\xc3\xa9%~", out, sizeof(out)), 0);
    assert_string_equal(out, "caf%c3%a9%25%7e.json");
    assert_int_equal(artemisi_snapshot_name("", out, sizeof(out)), -1);
    assert_int_equal(artemisi_snapshot_name(NULL, out, sizeof(out)), -1);
    assert_int_equal(artemisi_snapshot_name("abc", out, 8), -1);
    assert_int_equal(artemisi_snapshot_name("abc", out, 9), 0);

    /* long ids: cut, hashed, distinct, case-insensitive, within NAME_MAX */
    char a[700], b[700];
    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(a));
    b[650] = 'y';
    char na[256], nb[256];
    assert_int_equal(artemisi_snapshot_name(a, na, sizeof(na)), 0);
    assert_int_equal(artemisi_snapshot_name(b, nb, sizeof(nb)), 0);
    assert_true(strlen(na) < 255);
    assert_non_null(strchr(na, '~'));
    assert_string_not_equal(na, nb);
    b[650] = 'X';
    for (size_t i = 0; i < 650; i++)
        b[i] = 'X';
    b[650] = 'x';
    assert_int_equal(artemisi_snapshot_name(b, nb, sizeof(nb)), 0);
    assert_string_equal(na, nb);
    memset(a, '/', 300); /* every byte encoded: the cut keeps whole %XX triples */
    assert_int_equal(artemisi_snapshot_name(a, na, sizeof(na)), 0);
    char *tilde = strchr(na, '~');
    assert_non_null(tilde);
    assert_int_equal((tilde - na) % 3, 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/deep/er", tmpdir); /* created with parents */
    artemis_service_t *s = svc_from(SERVICE, 12345);
    assert_int_equal(artemisi_snapshot_save(dir, s), 0);

    char path[256];
    snprintf(path, sizeof(path), "%s/demo.service.v1.json", dir);
    size_t len;
    char *text = read_whole(path, &len);
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "serviceId")), "Demo.Service.V1");
    assert_int_equal(json_integer_value(json_object_get(root, "confirmedAt")), 12345);
    assert_true(json_integer_value(json_object_get(root, "savedAt")) > 1600000000000LL);
    json_t *inner = json_object_get(root, "service");
    json_t *orig = json_loads(SERVICE, 0, NULL);
    assert_true(
        json_equal(json_object_get(inner, "instances"), json_object_get(orig, "instances")));
    assert_true(
        json_equal(json_object_get(inner, "routeRules"), json_object_get(orig, "routeRules")));
    json_decref(orig);
    json_decref(root);
    free(text);

    artemis_service_t *l = artemisi_snapshot_load(dir, "DEMO.service.v1", 99999);
    assert_non_null(l);
    assert_int_equal(artemis_service_is_stale(l), 1);
    assert_int_equal(artemisi_service_confirmed_ms(l), 12345);
    assert_true(artemisi_service_same_data(s, l));
    assert_int_equal(l->n_pg, 2);
    assert_string_equal(artemis_instance_metadata(artemis_service_instance(l, 0), "k"), "v");

    /* a confirmation from the future is clamped to now */
    artemis_service_t *f = artemisi_snapshot_load(dir, "demo.service.v1", 100);
    assert_int_equal(artemisi_service_confirmed_ms(f), 100);
    artemis_service_unref(f);
    assert_null(artemisi_snapshot_load(dir, "missing", 0));
    assert_null(artemisi_snapshot_load(dir, "", 0));

    /* load_all into a cache */
    artemisi_cache_t *c = artemisi_cache_new();
    assert_int_equal(artemisi_snapshot_load_all(dir, c, 99999), 1);
    artemis_service_t *g = artemisi_cache_get(c, "demo.service.v1");
    assert_non_null(g);
    assert_int_equal(artemis_service_is_stale(g), 1);
    assert_int_equal(artemis_service_instance_count(g), 2);
    artemis_service_unref(g);
    assert_int_equal(artemisi_snapshot_load_all(dir, c, 99999), 0); /* already cached */
    artemisi_cache_free(c);

    artemis_service_unref(l);
    artemis_service_unref(s);
}

static void test_atomic_replace(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/replace", tmpdir);
    artemis_service_t *s1 =
        svc_from("{\"serviceId\":\"r\",\"instances\":[{\"instanceId\":\"a\"}]}", 1);
    artemis_service_t *s2 = svc_from(
        "{\"serviceId\":\"r\",\"instances\":[{\"instanceId\":\"a\"},{\"instanceId\":\"b\"}]}", 2);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(artemisi_snapshot_save(dir, i % 2 ? s2 : s1), 0);
        artemis_service_t *l = artemisi_snapshot_load(dir, "r", 10);
        assert_int_equal(artemis_service_instance_count(l), i % 2 ? 2 : 1);
        artemis_service_unref(l);
        assert_int_equal(count_files(dir), 1); /* no temporary files left behind */
    }
    /* a file where the directory should be */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/notadir", tmpdir);
    write_file(tmpdir, "notadir", "x", 1);
    assert_int_equal(artemisi_snapshot_save(bad, s1), -1);
    assert_int_equal(artemisi_snapshot_save("", s1), -1);
    assert_int_equal(artemisi_snapshot_save(dir, NULL), -1);
    artemisi_cache_t *c = artemisi_cache_new();
    assert_int_equal(artemisi_snapshot_load_all(bad, c, 0), -1);
    snprintf(bad, sizeof(bad), "%s/missing", tmpdir);
    assert_int_equal(artemisi_snapshot_load_all(bad, c, 0), 0);
    artemisi_cache_free(c);
    artemis_service_unref(s1);
    artemis_service_unref(s2);
}

static void test_hostile_files(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/hostile", tmpdir);
    artemis_service_t *good = svc_from("{\"serviceId\":\"good\",\"instances\":[{\"instanceId\":"
                                       "\"a\"}]}",
                                       5);
    assert_int_equal(artemisi_snapshot_save(dir, good), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/good.json", dir);
    size_t len;
    char *valid = read_whole(path, &len);

    /* every truncation of a valid file (but its final newline) is refused */
    char tdir[160];
    snprintf(tdir, sizeof(tdir), "%s/trunc", tmpdir);
    assert_int_equal(mkdir(tdir, 0700), 0);
    for (size_t cut = 0; cut < len - 1; cut++) {
        write_file(tdir, "good.json", valid, cut);
        assert_null(artemisi_snapshot_load(tdir, "good", 10));
    }
    write_file(tdir, "good.json", valid, len - 1);
    artemis_service_t *t = artemisi_snapshot_load(tdir, "good", 10);
    assert_non_null(t);
    artemis_service_unref(t);
    write_file(dir, "trunc.json", valid, len / 2);
    write_file(dir, "garbage.json", "\x01\xff\xfe{{{", 6);
    write_file(dir, "array.json", "[]", 2);
    write_file(dir, "empty.json", "", 0);
    const char *wrong[] = {
        "{\"serviceId\":5,\"confirmedAt\":1,\"service\":{\"serviceId\":\"x\"}}",
        "{\"serviceId\":\"x\",\"confirmedAt\":\"1\",\"service\":{\"serviceId\":\"x\"}}",
        "{\"serviceId\":\"x\",\"confirmedAt\":1,\"service\":[]}",
        "{\"serviceId\":\"x\",\"confirmedAt\":1,\"service\":{\"serviceId\":\"y\"}}",
        "{\"serviceId\":\"x\",\"confirmedAt\":1,\"service\":{\"serviceId\":\"x\","
        "\"instances\":7}}",
        "{\"serviceId\":\"x\",\"confirmedAt\":1}",
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        write_file(dir, "x.json", wrong[i], strlen(wrong[i]));
        assert_null(artemisi_snapshot_load(dir, "x", 10));
    }
    /* a valid body under a name that is not its own */
    write_file(dir, "other.json", valid, len);
    /* deep nesting */
    char deep[40000];
    memset(deep, '[', sizeof(deep));
    write_file(dir, "deep.json", deep, sizeof(deep));
    /* huge (sparse) file */
    snprintf(path, sizeof(path), "%s/huge.json", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)ARTEMISI_SNAPSHOT_MAX_BYTES + 1), 0);
    close(fd);
    /* a directory and a symlink with snapshot names */
    snprintf(path, sizeof(path), "%s/dir.json", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/link.json", dir);
    char target[256];
    snprintf(target, sizeof(target), "%s/good.json", dir);
    assert_int_equal(symlink(target, path), 0);
    /* not *.json: ignored */
    write_file(dir, "good.json.bak", valid, len);
    write_file(dir, ".good.json", valid, len);

    artemisi_cache_t *c = artemisi_cache_new();
    assert_int_equal(artemisi_snapshot_load_all(dir, c, 100), 1);
    artemis_service_t *g = artemisi_cache_get(c, "good");
    assert_int_equal(artemis_service_instance_count(g), 1);
    artemis_service_unref(g);
    assert_null(artemisi_cache_get(c, "other"));
    assert_null(artemisi_cache_get(c, "x"));
    artemisi_cache_free(c);
    assert_null(artemisi_snapshot_load(dir, "huge", 0));
    assert_null(artemisi_snapshot_load(dir, "link", 0));
    assert_null(artemisi_snapshot_load(dir, "dir", 0));
    free(valid);
    artemis_service_unref(good);
}

static int alarm_fd = 2; /* the real stderr while fd 2 is redirected */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_snapshot: loading a FIFO snapshot blocked (timed out)\n";
    (void)!write(alarm_fd, msg, sizeof(msg) - 1);
    _exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A FIFO under a snapshot name used to block open() until some writer appeared, so the
 * application's start (and its first lookup) hung for ever. It must be skipped at once, as
 * "no snapshot", with a log line. alarm() turns a regression into a failure, not a hung suite. */
static void test_fifo_is_skipped(void **state)
{
    (void)state;
    char dir[128], path[256];
    snprintf(dir, sizeof(dir), "%s/fifo", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/f.json", dir);
    assert_int_equal(mkfifo(path, 0600), 0);

    /* the skip is logged (to stderr under ARTEMIS_DEBUG=1: no logger reaches this module) */
    char logpath[160];
    snprintf(logpath, sizeof(logpath), "%s/stderr.txt", tmpdir);
    int logfd = open(logpath, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(logfd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    alarm_fd = saved;
    assert_int_equal(dup2(logfd, 2), 2);
    close(logfd);
    setenv("ARTEMIS_DEBUG", "1", 1);
    artemisi_log_reload_env();

    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
    alarm(5);
    double t0 = now_s();
    artemis_service_t *one = artemisi_snapshot_load(dir, "f", 10);
    artemisi_cache_t *c = artemisi_cache_new();
    int added = artemisi_snapshot_load_all(dir, c, 10);
    double secs = now_s() - t0;
    alarm(0);
    assert_int_equal(sigaction(SIGALRM, &old_sa, NULL), 0);

    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    alarm_fd = 2;
    close(saved);
    unsetenv("ARTEMIS_DEBUG");
    artemisi_log_reload_env();

    assert_null(one);
    assert_int_equal(added, 0);
    assert_null(artemisi_cache_get(c, "f"));
    artemisi_cache_free(c);
    assert_true(secs < 2.0);
    size_t len;
    char *log = read_whole(logpath, &len);
    if (!strstr(log, path) || !strstr(log, "not a regular file"))
        fail_msg("no log line about %s: '%s'", path, log);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_atomic_replace),  cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_fifo_is_skipped),
    };
    return cmocka_run_group_tests_name("sdk_snapshot", tests, setup, teardown);
}
