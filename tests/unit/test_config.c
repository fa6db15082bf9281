/*
 * Unit tests for server/config.c: defaults, file and command-line parsing and their order,
 * aliases, every error message shape, unknown-key rules, value parsing, SIGHUP reload and
 * the --help text.
 */
#include "test.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define LEASE_TTL "artemis.service.registry.instance.lease-manager.lease.ttl"
#define CLEAN     "artemis.service.registry.instance.lease-manager.clean-task.run-interval"

static char tmp_paths[4][64];

/* Write text to a fresh temporary file; returns its path (static buffer per slot). */
static const char *write_tmp(int slot, const char *text)
{
    char *p = tmp_paths[slot];
    if (p[0] == '\0') {
        snprintf(p, sizeof(tmp_paths[0]), "/tmp/test_config_XXXXXX");
        int fd = mkstemp(p);
        assert_true(fd >= 0);
        close(fd);
    }
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* The config-file size cap of srv_config_load_file (docs/operations.md). */
#define MAX_FILE_BYTES (1 << 20)

/* Sanitizer runtimes reserve terabytes of address space up front, so an RLIMIT_AS cap cannot
 * be used to simulate memory exhaustion under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AS_CAP_USABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define AS_CAP_USABLE 0
#endif
#endif
#ifndef AS_CAP_USABLE
#define AS_CAP_USABLE 1
#endif

/* Lower the soft RLIMIT_AS to the current address-space size plus extra bytes, so that any
 * larger allocation fails with ENOMEM (and a regression that reads without bound fails fast
 * instead of eating the machine's memory). The old limit goes to *old for uncap(). */
static void cap_address_space(size_t extra, struct rlimit *old)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    assert_int_equal(getrlimit(RLIMIT_AS, old), 0);
    struct rlimit r = *old;
    r.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    assert_int_equal(setrlimit(RLIMIT_AS, &r), 0);
}

static void uncap(const struct rlimit *old)
{
    assert_int_equal(setrlimit(RLIMIT_AS, old), 0);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_config: srv_config_load_file blocked (timed out)\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

/* Run srv_config_parse_args on a NULL-terminated list of arguments (argv[0] added). */
static int run_args(srv_config_t *c, int *help, int *version, char *err, size_t errlen,
                    const char *const *args)
{
    char *av[16] = {(char *)"artemis-server"};
    int ac = 1;
    for (; args[ac - 1]; ac++) {
        assert_true(ac < 16);
        av[ac] = (char *)args[ac - 1];
    }
    return srv_config_parse_args(c, ac, av, help, version, err, errlen);
}

static int parse(srv_config_t *c, char *err, size_t errlen, const char *const *args)
{
    int help = -1, version = -1;
    int rc = run_args(c, &help, &version, err, errlen, args);
    if (rc == 0) {
        assert_int_equal(help, 0);
        assert_int_equal(version, 0);
    }
    return rc;
}

#define PARSE(c, err, ...) parse((c), (err), sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

static void expect_item(const srv_config_t *c, const char *key, const char *want)
{
    const char *k;
    char v[512];
    for (size_t i = 0; srv_config_item(c, i, &k, v, sizeof(v)); i++) {
        if (strcmp(k, key) == 0) {
            assert_string_equal(v, want);
            return;
        }
    }
    fail_msg("no item %s", key);
}

static void test_defaults(void **state)
{
    (void)state;
    srv_config_t c;
    srv_config_init(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.region_id, "default");
    assert_string_equal(c.zone_id, "default");
    assert_string_equal(c.node_url, "");
    assert_string_equal(c.peers, "");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.management_db, "");
    assert_int_equal(c.log_level, SRV_LOG_INFO);
    assert_int_equal(c.lease_ttl_ms, 20000);
    assert_int_equal(c.legacy_lease_ttl_ms, 90000);
    assert_int_equal(c.clean_interval_ms, 100);
    assert_true(c.safe_checker_enabled);
    assert_int_equal(c.safe_checker_time_window_ms, 15000);
    assert_int_equal(c.safe_checker_percentage_threshold, 85);
    assert_int_equal(c.safe_checker_max_count_threshold, 50);
    assert_int_equal(c.safe_checker_max_protection_ms, 300000);
    assert_int_equal(c.safe_checker_heartbeat_interval_ms, 5000);
    assert_true(c.registry_allow_from_other_zone);
    assert_true(c.discovery_allow_from_other_zone);
    assert_true(c.rl_registry.enabled);
    assert_int_equal(c.rl_registry.default_rate_limit, 100000);
    assert_string_equal(c.rl_registry.rate_limit_map, "");
    assert_true(c.rl_replication.enabled);
    assert_int_equal(c.rl_replication.default_rate_limit, 1000000);
    assert_true(c.rl_cluster.enabled);
    assert_int_equal(c.rl_cluster.default_rate_limit, 10000);
    assert_true(c.rl_status.enabled);
    assert_int_equal(c.rl_status.default_rate_limit, 30);
    assert_string_equal(c.rl_status.rate_limit_map, "get-leases:10");
    assert_false(c.rl_discovery.enabled);
    assert_int_equal(c.rl_discovery.default_rate_limit, 1000000);
    assert_int_equal(c.change_log_capacity, 10000);
    assert_int_equal(c.ws_session_ttl_ms, 360000);
    assert_int_equal(c.ws_sweep_interval_ms, 60000);
    assert_int_equal(c.ws_max_message_bytes, 1048576);
    assert_int_equal(c.ws_max_queue_bytes, 4194304);
    assert_int_equal(c.ws_max_sessions, 10000);
    assert_int_equal(c.http_max_body_bytes, 4194304);
    assert_int_equal(c.http_max_header_bytes, 16384);
    assert_int_equal(c.http_max_headers, 64);
    assert_int_equal(c.http_max_connections, 10000);
    assert_int_equal(c.http_idle_timeout_ms, 60000);
    assert_true(c.http_gzip_responses);
    assert_int_equal(c.http_gzip_min_bytes, 1024);
    assert_int_equal(c.registry_max_instances_per_request, 10000);
    assert_int_equal(c.registry_max_string_bytes, 4096);
    assert_int_equal(c.discovery_cache_count, 3);
    assert_null(c.config_path);
    assert_int_equal(c.n_overrides, 0);
    assert_null(srv_config_ignored(&c, 0));

    expect_item(&c, "listen", "127.0.0.1:8080");
    expect_item(&c, LEASE_TTL, "20000");
    expect_item(&c, "log-level", "info");
    expect_item(&c, "http.gzip-responses", "true");
    expect_item(&c, "artemis.service.discovery.rate-limiter.enabled", "false");
    expect_item(&c, "artemis.service.status.rate-limiter.rate-limit-map", "get-leases:10");

    const char *k;
    char v[64];
    size_t n = 0;
    while (srv_config_item(&c, n, &k, v, sizeof(v)))
        n++;
    assert_int_equal(n, srv_config_count());
    assert_true(n >= 50);
    /* A tiny buffer truncates, never overflows. */
    assert_int_equal(srv_config_item(&c, 0, &k, v, 4), 1);
    assert_string_equal(v, "127");
    srv_config_free(&c);
    srv_config_free(&c); /* idempotent after free */
}

static void test_file_parsing(void **state)
{
    (void)state;
    const char *path = write_tmp(0, "# a comment\n"
                                    "\n"
                                    "   ! java-style comment\n"
                                    "listen=0.0.0.0:9090\n"
                                    "  region.id   =   sha  \n"
                                    "\tzone\t=\tsha-z1\r\n" LEASE_TTL " = 30000\n"
                                    "lease-ttl-ms = 40000\n"
                                    "node-url =\n"
                                    "artemis.service.cluster.nodes = sha-z1:http://a:1/,"
                                    "http://b:2/;sha-z2:https://c/\n"
                                    "http.gzip-responses = OFF\n"
                                    "log-level = Warn\n"
                                    "artemis.service.status.rate-limiter.rate-limit-map = "
                                    "get-leases: 10 , get-cluster:5\n"
                                    "management-db = postgresql://u:p=w@h/db\n"
                                    "last.no.newline.is.fine.too");
    srv_config_t c;
    char err[256] = "";
    srv_config_init(&c);
    /* the last line has no '=' */
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s:15: expected 'key = value', got 'last.no.newline.is.fine.too'",
             path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    path = write_tmp(0, "# a comment\n"
                        "\n"
                        "   ! java-style comment\n"
                        "listen=0.0.0.0:9090\n"
                        "  region.id   =   sha  \n"
                        "\tzone\t=\tsha-z1\r\n" LEASE_TTL " = 30000\n"
                        "lease-ttl-ms = 40000\n"
                        "node-url =\n"
                        "artemis.service.cluster.nodes = sha-z1:http://a:1/,"
                        "http://b:2/;sha-z2:https://c/\n"
                        "http.gzip-responses = OFF\n"
                        "log-level = Warn\n"
                        "artemis.service.status.rate-limiter.rate-limit-map = "
                        "get-leases: 10 , get-cluster:5\n"
                        "management-db = postgresql://u:p=w@h/db\n"
                        "data-dir = /var/lib/artemis");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.listen, "0.0.0.0:9090");
    assert_string_equal(c.region_id, "sha");
    assert_string_equal(c.zone_id, "sha-z1");
    assert_int_equal(c.lease_ttl_ms, 40000); /* later line wins, alias == full name */
    assert_string_equal(c.node_url, "");
    assert_string_equal(c.peers, "sha-z1:http://a:1/,http://b:2/;sha-z2:https://c/");
    assert_false(c.http_gzip_responses);
    assert_int_equal(c.log_level, SRV_LOG_WARN);
    assert_string_equal(c.rl_status.rate_limit_map, "get-leases: 10 , get-cluster:5");
    assert_string_equal(c.management_db, "postgresql://u:p=w@h/db");
    assert_string_equal(c.data_dir, "/var/lib/artemis");
    assert_null(c.config_path); /* only parse_args records the path */
    srv_config_free(&c);
}

static void test_command_line_beats_file(void **state)
{
    (void)state;
    const char *path = write_tmp(0, "listen = 127.0.0.1:1111\n"
                                    "zone = file-zone\n"
                                    "lease-ttl-ms = 30000\n"
                                    "http.max-headers = 100\n");
    srv_config_t c;
    char err[256] = "";
    srv_config_init(&c);
    /* --config comes after the options but is still loaded first */
    assert_int_equal(PARSE(&c, err, "--listen", "127.0.0.1:2222", "--" LEASE_TTL "=50000",
                           "--region=r1", "--config", (char *)path),
                     0);
    assert_string_equal(c.listen, "127.0.0.1:2222");
    assert_string_equal(c.zone_id, "file-zone");
    assert_string_equal(c.region_id, "r1");
    assert_int_equal(c.lease_ttl_ms, 50000);
    assert_int_equal(c.http_max_headers, 100);
    assert_string_equal(c.config_path, path);
    assert_int_equal(c.n_overrides, 3);
    assert_string_equal(c.overrides[0].key, "listen");
    assert_string_equal(c.overrides[0].value, "127.0.0.1:2222");
    assert_string_equal(c.overrides[1].key, LEASE_TTL);
    assert_string_equal(c.overrides[2].key, "region.id"); /* saved by full name */
    assert_string_equal(c.overrides[2].value, "r1");
    srv_config_free(&c);

    /* --config=FILE form, alias on the command line, later option wins */
    char arg[128];
    snprintf(arg, sizeof(arg), "--config=%s", path);
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, arg, "--lease-ttl-ms", "60000", "--lease-ttl-ms=70000",
                           "--http.gzip-responses", "--ws.max-sessions", "-5" /* value */),
                     -1);
    assert_string_equal(err, "--ws.max-sessions: -5 is out of range [1..1000000]");
    srv_config_free(&c);

    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, arg, "--lease-ttl-ms", "60000", "--lease-ttl-ms=70000",
                           "--http.gzip-responses=no", "--http.gzip-responses", "--zone", "z9"),
                     0);
    assert_int_equal(c.lease_ttl_ms, 70000);
    assert_true(c.http_gzip_responses); /* bare bool flag = true */
    assert_string_equal(c.zone_id, "z9");
    srv_config_free(&c);

    /* bare bool at the end, and "--flag value" for a bool */
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--http.gzip-responses", "false",
                           "--artemis.service.discovery.rate-limiter.enabled"),
                     0);
    assert_false(c.http_gzip_responses);
    assert_true(c.rl_discovery.enabled);
    srv_config_free(&c);
}

static void test_help_and_version(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256] = "";
    int help = 0, version = 0;
    srv_config_init(&c);
    const char *const a1[] = {"--config", "/nonexistent/file", "-h", "--listen=x:1", NULL};
    assert_int_equal(run_args(&c, &help, &version, err, sizeof(err), a1), 0);
    assert_int_equal(help, 1);
    assert_int_equal(version, 0);
    assert_string_equal(c.listen, "127.0.0.1:8080"); /* nothing applied */
    const char *const a2[] = {"--version", NULL};
    assert_int_equal(run_args(&c, &help, &version, err, sizeof(err), a2), 0);
    assert_int_equal(help, 0);
    assert_int_equal(version, 1);
    const char *const a3[] = {"--help", NULL};
    assert_int_equal(run_args(&c, &help, &version, err, sizeof(err), a3), 0);
    assert_int_equal(help, 1);
    /* no arguments at all */
    const char *const a4[] = {NULL};
    assert_int_equal(run_args(&c, &help, &version, err, sizeof(err), a4), 0);
    assert_int_equal(help, 0);
    assert_int_equal(version, 0);
    /* NULL want_help / want_version pointers are allowed */
    assert_int_equal(srv_config_parse_args(&c, 0, NULL, NULL, NULL, err, sizeof(err)), 0);
    srv_config_free(&c);
}

struct cmd_err_case {
    const char *args[3];
    const char *want;
};

static void test_command_line_errors(void **state)
{
    (void)state;
    static const struct cmd_err_case cases[] = {
        {{"--lease-ttl-ms=abc"}, "--lease-ttl-ms: value 'abc' is not an integer"},
        {{"--lease-ttl-ms", "5"}, "--lease-ttl-ms: 5 is out of range [1000..604800000]"},
        {{"--" LEASE_TTL "=604800001"},
         "--" LEASE_TTL ": 604800001 is out of range [1000..604800000]"},
        {{"--lease-ttl-ms=99999999999999999999999"},
         "--lease-ttl-ms: 99999999999999999999999 is out of range [1000..604800000]"},
        {{"--lease-ttl-ms="}, "--lease-ttl-ms: value '' is not an integer"},
        {{"--lease-ttl-ms=1e4"}, "--lease-ttl-ms: value '1e4' is not an integer"},
        {{"--lease-ttl-ms= 5000"}, "--lease-ttl-ms: value ' 5000' is not an integer"},
        {{"--foo=1"}, "unknown option '--foo'"},
        {{"--artemis.not.a.key=1"}, "unknown option '--artemis.not.a.key'"},
        {{"--"}, "unknown option '--'"},
        {{"--=x"}, "unknown option '--=x'"},
        {{"-x"}, "unknown option '-x'"},
        {{"-"}, "unknown option '-'"},
        {{"stray"}, "unexpected argument 'stray'"},
        {{"--listen"}, "--listen: missing value"},
        {{"--listen", "--zone=z"}, "--listen: missing value"},
        {{"--config"}, "--config: missing value"},
        {{"--config="}, "--config: missing value"},
        {{"--config", "/nonexistent/x.conf"},
         "/nonexistent/x.conf: cannot open: No such file or directory"},
        {{"--http.gzip-responses=maybe"},
         "--http.gzip-responses: value 'maybe' is not a boolean (true/false, yes/no, on/off, "
         "1/0)"},
        {{"--log-level=verbose"},
         "--log-level: value 'verbose' is not a log level (debug|info|warn|error)"},
        {{"--listen=localhost"},
         "--listen: value 'localhost' is not IP:PORT (an IPv4 address or [IPv6], not a host name; "
         "port 0..65535)"},
        {{"--region="}, "--region: value '' must be 1..128 characters without spaces"},
        {{"--zone=a b"}, "--zone: value 'a b' must be 1..128 characters without spaces"},
        {{"--node-url=ftp://x/"},
         "--node-url: value 'ftp://x/' must start with http:// or https://"},
        {{"--peers=http://a:1/"},
         "--peers: value 'http://a:1/' is not ZONE:URL,URL;ZONE:URL with http(s) URLs"},
        {{"--data-dir="}, "--data-dir: value '' must not be empty"},
        {{"--artemis.service.registry.rate-limiter.rate-limit-map=register"},
         "--artemis.service.registry.rate-limiter.rate-limit-map: value 'register' is not a "
         "rate-limit map (OPERATION:LIMIT,...)"},
        {{"--zone=a\nb"}, "--zone: value 'a?b' contains a control character"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *av[4] = {NULL, NULL, NULL, NULL};
        for (int j = 0; j < 3 && cases[i].args[j]; j++)
            av[j] = cases[i].args[j];
        srv_config_t c;
        char err[256] = "";
        int help, version;
        srv_config_init(&c);
        int rc = run_args(&c, &help, &version, err, sizeof(err), av);
        if (rc != -1 || strcmp(err, cases[i].want) != 0)
            fail_msg("case %zu: rc=%d err='%s' want '%s'", i, rc, err, cases[i].want);
        assert_null(strchr(err, '\n'));
        srv_config_free(&c);
    }

    /* a very long bad value is cut short in the message */
    char longv[400];
    memset(longv, 'x', sizeof(longv));
    memcpy(longv, "--zone=", 7);
    longv[sizeof(longv) - 1] = '\0';
    srv_config_t c;
    char err[256];
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, longv), -1);
    assert_non_null(strstr(err, "...' must be 1..128"));
    srv_config_free(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256], want[512];
    const char *path;

    path = write_tmp(1, "# ok\nlisten = 1.2.3.4:5\nfoo = 1\n");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3: unknown key 'foo'", path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    path = write_tmp(1, "\n\n" LEASE_TTL " = 5\n");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3: " LEASE_TTL ": 5 is out of range [1000..604800000]", path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    path = write_tmp(1, "lease-ttl-ms = abc\n");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1: lease-ttl-ms: value 'abc' is not an integer", path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    path = write_tmp(1, " = 5\n");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1: missing key before '='", path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    path = write_tmp(1, "listen = 1.2.3.4:1\nzone\0x = y\n");
    FILE *f = fopen(path, "w");
    fwrite("listen = 1.2.3.4:1\nzone\0x = y\n", 1, 30, f);
    fclose(f);
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: line contains a NUL byte", path);
    assert_string_equal(err, want);
    srv_config_free(&c);

    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, "/nonexistent/a.conf", err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/a.conf: cannot open: No such file or directory");
    assert_int_equal(srv_config_load_file(&c, "/tmp", err, sizeof(err)), -1);
    assert_string_equal(err, "/tmp: not a regular file");
    srv_config_free(&c);

    /* srv_config_set error shapes */
    srv_config_init(&c);
    assert_int_equal(srv_config_set(&c, LEASE_TTL, "5", err, sizeof(err)), -1);
    assert_string_equal(err, LEASE_TTL ": 5 is out of range [1000..604800000]");
    assert_int_equal(srv_config_set(&c, "foo", "1", err, sizeof(err)), -1);
    assert_string_equal(err, "unknown key 'foo'");
    assert_int_equal(srv_config_set(&c, "artemis.foo", "1", err, sizeof(err)), -1);
    assert_string_equal(err, "unknown key 'artemis.foo'");
    assert_int_equal(srv_config_set(&c, "--listen", "a:1", err, sizeof(err)), -1);
    assert_string_equal(err, "unknown key '--listen'");
    assert_int_equal(srv_config_set(&c, "lease-ttl-ms", "1000", err, sizeof(err)), 0);
    assert_int_equal(c.lease_ttl_ms, 1000);
    /* a tiny error buffer is safe */
    char tiny[8];
    assert_int_equal(srv_config_set(&c, "lease-ttl-ms", "x", tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "lease-t");
    srv_config_free(&c);
}

/* A config path that is not a regular file is refused before anything is read: /dev/zero
 * used to grow the process without bound, a FIFO blocked the start forever. */
static void test_file_not_regular(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256], want[512];
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
    alarm(10);

    if (AS_CAP_USABLE) {
        struct rlimit old;
        srv_config_init(&c);
        cap_address_space((size_t)64 << 20, &old);
        int rc = srv_config_load_file(&c, "/dev/zero", err, sizeof(err));
        uncap(&old);
        assert_int_equal(rc, -1);
        assert_string_equal(err, "/dev/zero: not a regular file");
        srv_config_free(&c);
    }

    char fifo[64];
    snprintf(fifo, sizeof(fifo), "/tmp/test_config_fifo_%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    srv_config_init(&c);
    int rc = srv_config_load_file(&c, fifo, err, sizeof(err));
    unlink(fifo);
    assert_int_equal(rc, -1);
    snprintf(want, sizeof(want), "%s: not a regular file", fifo);
    assert_string_equal(err, want);
    srv_config_free(&c);

    /* the same through the command line, as main() sees it */
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--config=/dev/null"), -1);
    assert_string_equal(err, "/dev/null: not a regular file");
    srv_config_free(&c);

    alarm(0);
    assert_int_equal(sigaction(SIGALRM, &old_sa, NULL), 0);
}

/* A config file of more than MAX_FILE_BYTES is refused, even if every line is valid. */
static void test_file_size_cap(void **state)
{
    (void)state;
    size_t n = MAX_FILE_BYTES;
    char *text = malloc(n + 2);
    assert_non_null(text);
    for (size_t i = 0; i < n; i += 1024) { /* 1024-byte comment lines */
        memset(text + i, 'x', 1024);
        text[i] = '#';
        text[i + 1023] = '\n';
    }
    text[n] = '\0';
    const char *path = write_tmp(2, text);
    srv_config_t c;
    char err[256], want[512];
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), 0); /* exactly the cap */
    srv_config_free(&c);

    text[n] = '\n';
    text[n + 1] = '\0';
    path = write_tmp(2, text);
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: larger than %d bytes", path, MAX_FILE_BYTES);
    assert_string_equal(err, want);
    srv_config_free(&c);
    free(text);
}

/* Running out of memory while reading the file is an error (exit 2), never "no file": the
 * old reader stopped at the failed line and started with what it had read so far. */
static void test_file_oom(void **state)
{
    (void)state;
    if (!AS_CAP_USABLE)
        skip();
    size_t big = 900 * 1024;
    char *text = malloc(big + 64);
    assert_non_null(text);
    strcpy(text, "zone = z-oom\n#");
    size_t len = strlen(text);
    memset(text + len, 'x', big);
    strcpy(text + len + big, "\nregion = r-oom\n");
    const char *path = write_tmp(2, text);
    free(text);

    srv_config_t c;
    char err[256], want[512];
    struct rlimit old;
    srv_config_init(&c);
    /* Freed megabytes (of this and earlier tests) stay at the top of the heap, where a new
     * allocation needs no more address space; give them back so the cap below bites. */
    malloc_trim(0);
    cap_address_space((size_t)256 << 10, &old);
    int rc = srv_config_load_file(&c, path, err, sizeof(err));
    uncap(&old);
    assert_int_equal(rc, -1);
    snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(ENOMEM));
    assert_string_equal(err, want);
    srv_config_free(&c);

    /* without the cap the same file loads */
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.zone_id, "z-oom");
    assert_string_equal(c.region_id, "r-oom");
    srv_config_free(&c);
}

/* data-dir may not exist yet (it is created later), but it must not name something that can
 * never be a directory. */
static void test_data_dir(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256], want[512], arg[160];
    const char *file = write_tmp(3, "not a directory\n");

    srv_config_init(&c);
    snprintf(arg, sizeof(arg), "--data-dir=%s", file);
    assert_int_equal(PARSE(&c, err, arg), -1);
    snprintf(want, sizeof(want), "data-dir: '%s' is not a directory", file);
    assert_string_equal(err, want);
    srv_config_free(&c);

    srv_config_init(&c);
    snprintf(arg, sizeof(arg), "--data-dir=%s/sub", file);
    assert_int_equal(PARSE(&c, err, arg), -1);
    snprintf(want, sizeof(want), "data-dir: '%s/sub' is not a directory", file);
    assert_string_equal(err, want);
    srv_config_free(&c);

    /* from the config file too */
    char text[160];
    snprintf(text, sizeof(text), "data-dir = %s\n", file);
    const char *conf = write_tmp(2, text);
    srv_config_init(&c);
    snprintf(arg, sizeof(arg), "--config=%s", conf);
    assert_int_equal(PARSE(&c, err, arg), -1);
    snprintf(want, sizeof(want), "data-dir: '%s' is not a directory", file);
    assert_string_equal(err, want);
    srv_config_free(&c);

    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--data-dir=/tmp"), 0);
    srv_config_free(&c);
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--data-dir=/nonexistent/artemis/data"), 0);
    srv_config_free(&c);
}

static void test_unknown_keys_in_file(void **state)
{
    (void)state;
    const char *path =
        write_tmp(1, "artemis.service.cluster.node.status.force-down.10.0.0.1 = true\n"
                     "artemis.service.registry.replicaton.x = 1\n"
                     "artemis.service.cluster.node.status.force-down.10.0.0.1 = false\n"
                     "zone = z1\n");
    srv_config_t c;
    char err[256];
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.zone_id, "z1");
    assert_string_equal(srv_config_ignored(&c, 0),
                        "artemis.service.cluster.node.status.force-down.10.0.0.1");
    assert_string_equal(srv_config_ignored(&c, 1), "artemis.service.registry.replicaton.x");
    assert_null(srv_config_ignored(&c, 2)); /* duplicates recorded once */
    srv_config_free(&c);

    /* "artemisx." or "Artemis." is not the artemis prefix */
    path = write_tmp(1, "artemisx.foo = 1\n");
    srv_config_init(&c);
    assert_int_equal(srv_config_load_file(&c, path, err, sizeof(err)), -1);
    srv_config_free(&c);
}

static void test_value_parsing(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256];
    srv_config_init(&c);
    static const struct {
        const char *s;
        bool v;
    } bools[] = {{"true", true},   {"TRUE", true}, {"1", true},   {"yes", true}, {"On", true},
                 {"false", false}, {"0", false},   {"NO", false}, {"off", false}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        c.http_gzip_responses = !bools[i].v;
        assert_int_equal(srv_config_set(&c, "http.gzip-responses", bools[i].s, err, sizeof(err)),
                         0);
        assert_int_equal(c.http_gzip_responses, bools[i].v);
    }
    assert_int_equal(srv_config_set(&c, "http.gzip-responses", "", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, "http.gzip-responses", "2", err, sizeof(err)), -1);

    static const struct {
        const char *s;
        int v;
    } levels[] = {{"debug", SRV_LOG_DEBUG},
                  {"INFO", SRV_LOG_INFO},
                  {"warn", SRV_LOG_WARN},
                  {"error", SRV_LOG_ERROR}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(srv_config_set(&c, "log-level", levels[i].s, err, sizeof(err)), 0);
        assert_int_equal(c.log_level, levels[i].v);
    }
    expect_item(&c, "log-level", "error");
    assert_int_equal(srv_config_set(&c, "log-level", "trace", err, sizeof(err)), -1);

    /* integers: sign allowed, bounds inclusive */
    assert_int_equal(srv_config_set(&c, "http.gzip-min-bytes", "0", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, "http.gzip-min-bytes", "+7", err, sizeof(err)), 0);
    assert_int_equal(c.http_gzip_min_bytes, 7);
    assert_int_equal(srv_config_set(&c, "http.gzip-min-bytes", "-1", err, sizeof(err)), -1);
    assert_string_equal(err, "http.gzip-min-bytes: -1 is out of range [0..1073741824]");
    assert_int_equal(srv_config_set(&c, "http.gzip-min-bytes", "-", err, sizeof(err)), -1);
    assert_string_equal(err, "http.gzip-min-bytes: value '-' is not an integer");
    assert_int_equal(srv_config_set(&c, "http.gzip-min-bytes", "1073741824", err, sizeof(err)), 0);
    assert_int_equal(c.http_gzip_min_bytes, 1073741824);
    assert_int_equal(srv_config_set(&c, "ws.max-queue-bytes", "1073741825", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, CLEAN, "10", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, CLEAN, "9", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, "artemis.service.discovery.versioned-cache.cache-count",
                                    "11", err, sizeof(err)),
                     -1);
    assert_int_equal(
        srv_config_set(&c, "artemis.service.websocket.session.ttl", "10000", err, sizeof(err)), 0);
    assert_int_equal(c.ws_session_ttl_ms, 10000);

    /* strings */
    static const char *const good_listen[] = {"127.0.0.1:8080", "0.0.0.0:0",
                                              "[::1]:8080",     "[::]:80",
                                              "[fe80::1]:1",    "[::ffff:10.0.0.1]:65535"};
    for (size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++)
        if (srv_config_set(&c, "listen", good_listen[i], err, sizeof(err)) != 0)
            fail_msg("listen %s: %s", good_listen[i], err);
    static const char *const bad_listen[] = {
        "", "host", "host:", ":80", "host:65536", "host:123456", "::1:8080", "[::1]", "[::1]8080",
        "[]:80", "[1.2.3.4]:80", "ho st:80", "host:8a", "host:-1",
        /* host names are not resolved: the listener binds an address literal */
        "localhost:8080", "my-host_1.example:443", "[fe80::1%eth0]:1", "1.2.3:80", "[::1x]:80"};
    for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++)
        if (srv_config_set(&c, "listen", bad_listen[i], err, sizeof(err)) != -1)
            fail_msg("listen '%s' accepted", bad_listen[i]);
    assert_int_equal(srv_config_set(&c, "listen", "localhost:8080", err, sizeof(err)), -1);
    assert_string_equal(err, "listen: value 'localhost:8080' is not IP:PORT (an IPv4 address or "
                             "[IPv6], not a host name; port 0..65535)");

    char max_id[130];
    memset(max_id, 'z', 128);
    max_id[128] = '\0';
    assert_int_equal(srv_config_set(&c, "zone", max_id, err, sizeof(err)), 0);
    max_id[128] = 'z';
    max_id[129] = '\0';
    assert_int_equal(srv_config_set(&c, "zone", max_id, err, sizeof(err)), -1);

    assert_int_equal(srv_config_set(&c, "node-url", "HTTPS://n1.example/", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, "node-url", "", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, "node-url", "http://", err, sizeof(err)), -1);

    static const char *const good_peers[] = {"", "z1:http://a/",
                                             " z1 : http://a/ , http://b/ ; z2:https://c/ ;",
                                             "sha-z1:http://127.0.0.1:8080/artemis-service/"};
    for (size_t i = 0; i < sizeof(good_peers) / sizeof(good_peers[0]); i++)
        if (srv_config_set(&c, "peers", good_peers[i], err, sizeof(err)) != 0)
            fail_msg("peers %s: %s", good_peers[i], err);
    static const char *const bad_peers[] = {":http://a/", "z1:", "z1:a.example", "z1:http://a/;x",
                                            "z1:,"};
    for (size_t i = 0; i < sizeof(bad_peers) / sizeof(bad_peers[0]); i++)
        if (srv_config_set(&c, "peers", bad_peers[i], err, sizeof(err)) != -1)
            fail_msg("peers '%s' accepted", bad_peers[i]);

    const char *map = "artemis.service.cluster.rate-limiter.rate-limit-map";
    assert_int_equal(srv_config_set(&c, map, "", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, map, "a:1,b:2,", err, sizeof(err)), 0);
    assert_int_equal(srv_config_set(&c, map, "a:1,:2", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, map, "a:", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, map, "a:-1", err, sizeof(err)), -1);
    assert_int_equal(srv_config_set(&c, map, "a:1x", err, sizeof(err)), -1);
    srv_config_free(&c);
}

static void test_hostport_and_node_url(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(srv_config_parse_hostport("[::1]:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(srv_config_parse_hostport("example.org:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 0);
    assert_int_equal(srv_config_parse_hostport("example.org:1", host, 11, &port), -1);
    assert_int_equal(srv_config_parse_hostport("example.org:1", host, 12, &port), 0);

    srv_config_t c;
    char err[256], url[128];
    srv_config_init(&c);
    assert_int_equal(srv_config_node_url(&c, url, sizeof(url)), 22);
    assert_string_equal(url, "http://127.0.0.1:8080/");
    assert_int_equal(srv_config_set(&c, "node-url", "http://n1:80/artemis/", err, sizeof(err)), 0);
    srv_config_node_url(&c, url, sizeof(url));
    assert_string_equal(url, "http://n1:80/artemis/");
    srv_config_free(&c);
}

static void test_item_masks_secrets(void **state)
{
    (void)state;
    srv_config_t c;
    char err[256];
    srv_config_init(&c);
    expect_item(&c, "management-db", "");
    assert_int_equal(srv_config_set(&c, "management-db", "postgresql://user:s3cret@db:5432/art",
                                    err, sizeof(err)),
                     0);
    expect_item(&c, "management-db", "postgresql://user:***@db:5432/art");
    assert_string_equal(c.management_db, "postgresql://user:s3cret@db:5432/art");
    assert_int_equal(
        srv_config_set(&c, "management-db", "postgresql://user@db/art", err, sizeof(err)), 0);
    expect_item(&c, "management-db", "postgresql://user@db/art");
    assert_int_equal(
        srv_config_set(&c, "management-db", "host=db password=hunter22 dbname=a", err, sizeof(err)),
        0);
    expect_item(&c, "management-db", "host=db password=*** dbname=a");
    /* short passwords grow when masked: no overflow (ASan) */
    assert_int_equal(
        srv_config_set(&c, "management-db", "pg://u:a@h/d?password=b", err, sizeof(err)), 0);
    expect_item(&c, "management-db", "pg://u:***@h/d?password=***");
    assert_int_equal(srv_config_set(&c, "management-db", "password=", err, sizeof(err)), 0);
    expect_item(&c, "management-db", "password=");
    srv_config_free(&c);
}

static void test_reload(void **state)
{
    (void)state;
    const char *path = write_tmp(2, "listen = 127.0.0.1:1000\n"
                                    "lease-ttl-ms = 30000\n"
                                    "log-level = info\n"
                                    "zone = z1\n"
                                    "artemis.old.key = 1\n");
    srv_config_t c;
    char err[256] = "", note[512] = "x";
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--config", (char *)path, "--log-level=debug",
                           "--legacy-lease-ttl-ms=5000", "--zone=cmd-zone"),
                     0);
    assert_int_equal(c.lease_ttl_ms, 30000);
    assert_int_equal(c.log_level, SRV_LOG_DEBUG);
    assert_string_equal(srv_config_ignored(&c, 0), "artemis.old.key");

    /* nothing changed: empty note */
    assert_int_equal(srv_config_reload(&c, NULL, note, sizeof(note), err, sizeof(err)), 0);
    assert_string_equal(note, "");

    write_tmp(2, "listen = 127.0.0.1:2000\n"
                 "lease-ttl-ms = 40000\n"
                 "legacy-lease-ttl-ms = 6000\n"
                 "log-level = error\n"
                 "zone = z2\n" CLEAN " = 200\n"
                 "artemis.service.status.rate-limiter.rate-limit-map = get-cluster:3\n"
                 "artemis.service.websocket.session.ttl = 20000\n"
                 "artemis.new.key = 1\n");
    assert_int_equal(srv_config_reload(&c, NULL, note, sizeof(note), err, sizeof(err)), 0);
    /* reloadable keys from the file applied */
    assert_int_equal(c.lease_ttl_ms, 40000);
    assert_string_equal(c.rl_status.rate_limit_map, "get-cluster:3");
    assert_int_equal(c.ws_session_ttl_ms, 20000);
    /* the command line still wins over the file */
    assert_int_equal(c.log_level, SRV_LOG_DEBUG);
    assert_int_equal(c.legacy_lease_ttl_ms, 5000);
    assert_string_equal(c.zone_id, "cmd-zone"); /* and so no restart note for zone */
    /* non-reloadable keys not applied, but reported */
    assert_string_equal(c.listen, "127.0.0.1:1000");
    assert_int_equal(c.clean_interval_ms, 100);
    assert_string_equal(note, "listen: restart needed; " CLEAN ": restart needed");
    /* ignored list reflects the new file */
    assert_string_equal(srv_config_ignored(&c, 0), "artemis.new.key");
    assert_null(srv_config_ignored(&c, 1));
    /* overrides kept */
    assert_int_equal(c.n_overrides, 3);
    assert_string_equal(c.config_path, path);

    /* a broken file: -1 and c untouched */
    write_tmp(2, "lease-ttl-ms = 50000\nlease-ttl-ms = 1\n");
    strcpy(note, "unchanged");
    assert_int_equal(srv_config_reload(&c, NULL, note, sizeof(note), err, sizeof(err)), -1);
    char want[512];
    snprintf(want, sizeof(want), "%s:2: lease-ttl-ms: 1 is out of range [1000..604800000]", path);
    assert_string_equal(err, want);
    assert_int_equal(c.lease_ttl_ms, 40000);
    assert_string_equal(note, "unchanged");
    assert_string_equal(srv_config_ignored(&c, 0), "artemis.new.key");

    /* an explicit path overrides config_path; a missing file is an error */
    assert_int_equal(
        srv_config_reload(&c, "/nonexistent/r.conf", note, sizeof(note), err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/r.conf: cannot open: No such file or directory");
    assert_int_equal(c.lease_ttl_ms, 40000);

    /* a short note buffer is truncated safely */
    write_tmp(2, "listen = 127.0.0.1:3000\n" CLEAN " = 300\nhttp.max-headers = 9\n");
    char small[20];
    assert_int_equal(srv_config_reload(&c, NULL, small, sizeof(small), err, sizeof(err)), 0);
    assert_int_equal(strncmp(small, "listen: restart nee", 19), 0);
    assert_int_equal(c.lease_ttl_ms, 20000); /* back to the default: file no longer sets it */
    srv_config_free(&c);

    /* no file at all: reload is defaults + overrides */
    srv_config_init(&c);
    assert_int_equal(PARSE(&c, err, "--lease-ttl-ms=2000"), 0);
    c.lease_ttl_ms = 3000;
    assert_int_equal(srv_config_reload(&c, NULL, note, sizeof(note), err, sizeof(err)), 0);
    assert_int_equal(c.lease_ttl_ms, 2000);
    assert_string_equal(note, "");
    srv_config_free(&c);
}

static void test_help_lists_every_key(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    srv_config_print_help(f);
    fclose(f);
    srv_config_t c;
    srv_config_init(&c);
    const char *k;
    char v[256];
    for (size_t i = 0; srv_config_item(&c, i, &k, v, sizeof(v)); i++)
        if (!strstr(text, k))
            fail_msg("help lacks %s", k);
    static const char *const must[] = {"--config FILE",
                                       "--help",
                                       "--version",
                                       "--listen=IP:PORT",
                                       "--region=ID",
                                       "--zone=ID",
                                       "--node-url=URL",
                                       "--peers=",
                                       "--data-dir=DIR",
                                       "--management-db=",
                                       "--log-level=LEVEL",
                                       "--lease-ttl-ms=N",
                                       "--legacy-lease-ttl-ms=N",
                                       "Default: 127.0.0.1:8080.",
                                       "Default: 20000, range 1000..604800000. Reloadable.",
                                       "key: " LEASE_TTL,
                                       "Default: get-leases:10. Reloadable.",
                                       "Default: (empty)"};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (!strstr(text, must[i]))
            fail_msg("help lacks '%s'", must[i]);
    srv_config_free(&c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_parsing),
        cmocka_unit_test(test_command_line_beats_file),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_command_line_errors),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_not_regular),
        cmocka_unit_test(test_file_size_cap),
        cmocka_unit_test(test_file_oom),
        cmocka_unit_test(test_data_dir),
        cmocka_unit_test(test_unknown_keys_in_file),
        cmocka_unit_test(test_value_parsing),
        cmocka_unit_test(test_hostport_and_node_url),
        cmocka_unit_test(test_item_masks_secrets),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_help_lists_every_key),
    };
    int rc = cmocka_run_group_tests_name("config", tests, NULL, NULL);
    for (int i = 0; i < 4; i++)
        if (tmp_paths[i][0])
            unlink(tmp_paths[i]);
    return rc;
}
