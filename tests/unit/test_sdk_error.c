#include "test.h"
/*
 * libartemis errors, logging and version: static error strings for every code,
 * artemisi_set_error (NULL detail, truncation, UTF-8 safe cut), the logger's level filter
 * (arguments not evaluated below the level), message truncation and the ARTEMIS_DEBUG
 * stderr fallback.
 */
#include <fcntl.h>
#include <unistd.h>

#include "artemis/artemis.h"
#include "error_int.h"
#include "log_int.h"

static void test_strerror(void **state)
{
    (void)state;
    const char *seen[13];
    for (int i = 0; i <= ARTEMIS_ERR_UNAVAILABLE; i++) {
        const char *s = artemis_strerror((artemis_err_t)i);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(s, seen[j]);
        seen[i] = s;
    }
    assert_string_equal(artemis_strerror((artemis_err_t)13), "unknown error");
    assert_string_equal(artemis_strerror((artemis_err_t)-1), "unknown error");
    assert_string_equal(artemis_strerror((artemis_err_t)9999), "unknown error");
    assert_string_equal(artemis_strerror(ARTEMIS_OK), "success");
    artemis_free(NULL);
    artemis_free(malloc(16));
}

static void test_set_error(void **state)
{
    (void)state;
    artemis_error_t e;
    /* through a pointer, which carries no format attribute, to pass a NULL format */
    void (*set_nofmt)(artemis_error_t *, artemis_err_t, int, long, const char *, ...) =
        artemisi_set_error;

    artemisi_set_error(NULL, ARTEMIS_ERR_IO, 5, 0, "ignored %d", 1);
    memset(&e, 0x55, sizeof(e));
    artemisi_set_error(&e, ARTEMIS_ERR_HTTP, 0, 503, "server said %ld on %s", 503L, "/api");
    assert_int_equal(e.code, ARTEMIS_ERR_HTTP);
    assert_int_equal(e.sys_errno, 0);
    assert_int_equal(e.http_status, 503);
    assert_string_equal(e.text, "server said 503 on /api");

    set_nofmt(&e, ARTEMIS_ERR_IO, 111, 0, NULL);
    assert_int_equal(e.code, ARTEMIS_ERR_IO);
    assert_int_equal(e.sys_errno, 111);
    assert_int_equal(e.http_status, 0);
    assert_string_equal(e.text, artemis_strerror(ARTEMIS_ERR_IO));

    artemisi_set_error(&e, ARTEMIS_ERR_PROTOCOL, 0, 0, "line1\nline2\r");
    assert_string_equal(e.text, "line1 line2 ");
}

static void test_set_error_truncation(void **state)
{
    (void)state;
    artemis_error_t e;
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    memset(&e, 0x55, sizeof(e));
    artemisi_set_error(&e, ARTEMIS_ERR_PROTOCOL, 0, 0, "%s", big);
    assert_int_equal(strlen(e.text), 255);
    assert_int_equal(e.text[255], '\0');
    assert_memory_equal(e.text, big, 255);

    /* exactly 255 fits */
    big[255] = '\0';
    artemisi_set_error(&e, ARTEMIS_ERR_PROTOCOL, 0, 0, "%s", big);
    assert_string_equal(e.text, big);

    /* a 2-byte UTF-8 character straddling the limit is dropped whole */
    memset(big, 'y', 254);
    big[254] = (char)0xC3;
    big[255] = (char)0xA9;
    big[256] = 'z';
    big[257] = '\0';
    artemisi_set_error(&e, ARTEMIS_ERR_PROTOCOL, 0, 0, "%s", big);
    assert_int_equal(strlen(e.text), 254);
    /* ... and kept when it ends right at the limit */
    memset(big, 'y', 253);
    big[253] = (char)0xC3;
    big[254] = (char)0xA9;
    big[255] = 'z';
    big[256] = '\0';
    artemisi_set_error(&e, ARTEMIS_ERR_PROTOCOL, 0, 0, "%s", big);
    assert_int_equal(strlen(e.text), 255);
    assert_int_equal((unsigned char)e.text[254], 0xA9);
}

/* ---- logging ---- */

typedef struct capture {
    int calls;
    artemis_log_level_t level;
    char module[32];
    char msg[1024];
} capture_t;

static void capture_cb(void *ud, artemis_log_level_t level, const char *module, const char *msg)
{
    capture_t *c = ud;
    c->calls++;
    c->level = level;
    snprintf(c->module, sizeof(c->module), "%s", module);
    snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 7;
}

static void test_log_levels(void **state)
{
    (void)state;
    capture_t cap;
    memset(&cap, 0, sizeof(cap));
    artemisi_logger_t lg = {capture_cb, &cap, ARTEMIS_LOG_WARN};

    evaluated = 0;
    ARTEMISI_LOG(&lg, ARTEMIS_LOG_DEBUG, "registry", "x=%d", side_effect());
    ARTEMISI_LOG(&lg, ARTEMIS_LOG_INFO, "registry", "x=%d", side_effect());
    assert_int_equal(cap.calls, 0);
    assert_int_equal(evaluated, 0);

    ARTEMISI_LOG(&lg, ARTEMIS_LOG_WARN, "registry", "x=%d", side_effect());
    assert_int_equal(cap.calls, 1);
    assert_int_equal(evaluated, 1);
    assert_int_equal(cap.level, ARTEMIS_LOG_WARN);
    assert_string_equal(cap.module, "registry");
    assert_string_equal(cap.msg, "x=7");

    ARTEMISI_LOG(&lg, ARTEMIS_LOG_ERROR, "http", "boom %s", "now");
    assert_int_equal(cap.calls, 2);
    assert_int_equal(cap.level, ARTEMIS_LOG_ERROR);
    assert_string_equal(cap.module, "http");
    assert_string_equal(cap.msg, "boom now");

    /* NONE as a message level never logs; NONE as the threshold silences all */
    ARTEMISI_LOG(&lg, ARTEMIS_LOG_NONE, "http", "never");
    assert_int_equal(cap.calls, 2);
    lg.level = ARTEMIS_LOG_NONE;
    ARTEMISI_LOG(&lg, ARTEMIS_LOG_ERROR, "http", "x=%d", side_effect());
    assert_int_equal(cap.calls, 2);
    assert_int_equal(evaluated, 1);

    lg.level = ARTEMIS_LOG_DEBUG;
    artemisi_log(&lg, ARTEMIS_LOG_DEBUG, NULL, "direct %d", 1);
    assert_int_equal(cap.calls, 3);
    assert_string_equal(cap.module, "artemis");
    assert_string_equal(cap.msg, "direct 1");
    /* the function filters too */
    lg.level = ARTEMIS_LOG_ERROR;
    artemisi_log(&lg, ARTEMIS_LOG_INFO, "ws", "dropped");
    assert_int_equal(cap.calls, 3);
}

static void test_log_truncation(void **state)
{
    (void)state;
    capture_t cap;
    char big[2000];
    memset(&cap, 0, sizeof(cap));
    artemisi_logger_t lg = {capture_cb, &cap, ARTEMIS_LOG_DEBUG};
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    ARTEMISI_LOG(&lg, ARTEMIS_LOG_INFO, "cache", "%s", big);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(strlen(cap.msg), ARTEMISI_LOG_MAX - 1);

    ARTEMISI_LOG(&lg, ARTEMIS_LOG_INFO, "cache", "a\nb");
    assert_string_equal(cap.msg, "a b");
}

/* Run fn with stderr redirected to a temp file; return what was written (static). */
static const char *capture_stderr(void (*fn)(void))
{
    static char out[2048];
    char path[] = "/tmp/test_sdk_error_XXXXXX";
    int fd = mkstemp(path), saved;
    ssize_t n;

    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    n = pread(fd, out, sizeof(out) - 1, 0);
    close(fd);
    unlink(path);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void log_without_cb(void)
{
    artemisi_logger_t lg = {NULL, NULL, ARTEMIS_LOG_ERROR};
    ARTEMISI_LOG(&lg, ARTEMIS_LOG_DEBUG, "discovery", "lookup %s", "svc-a");
    ARTEMISI_LOG(NULL, ARTEMIS_LOG_WARN, "ws", "closed %d", 1006);
}

static void test_log_debug_env(void **state)
{
    (void)state;
    const char *out;

    unsetenv("ARTEMIS_DEBUG");
    artemisi_log_reload_env();
    evaluated = 0;
    ARTEMISI_LOG(NULL, ARTEMIS_LOG_ERROR, "http", "x=%d", side_effect());
    assert_int_equal(evaluated, 0);
    out = capture_stderr(log_without_cb);
    assert_string_equal(out, "");

    setenv("ARTEMIS_DEBUG", "0", 1);
    artemisi_log_reload_env();
    out = capture_stderr(log_without_cb);
    assert_string_equal(out, "");

    setenv("ARTEMIS_DEBUG", "1", 1);
    artemisi_log_reload_env();
    out = capture_stderr(log_without_cb);
    assert_non_null(strstr(out, "[discovery] lookup svc-a\n"));
    assert_non_null(strstr(out, "DEBUG"));
    assert_non_null(strstr(out, "[ws] closed 1006\n"));

    /* a callback takes precedence: nothing on stderr */
    {
        capture_t cap;
        memset(&cap, 0, sizeof(cap));
        artemisi_logger_t lg = {capture_cb, &cap, ARTEMIS_LOG_WARN};
        assert_int_equal(artemisi_log_enabled(&lg, ARTEMIS_LOG_DEBUG), 0);
        assert_int_equal(artemisi_log_enabled(&lg, ARTEMIS_LOG_WARN), 1);
    }
    unsetenv("ARTEMIS_DEBUG");
    artemisi_log_reload_env();
    assert_int_equal(artemisi_log_enabled(NULL, ARTEMIS_LOG_ERROR), 0);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(artemis_version(), ARTEMIS_VERSION_STRING);
    assert_int_equal(artemis_version_num(), ARTEMIS_VERSION_NUM);
    assert_int_equal(artemis_version_num(), (0u << 16) | (1u << 8) | 0u);
    assert_true(ARTEMIS_VERSION_AT_LEAST(0, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_set_error),
        cmocka_unit_test(test_set_error_truncation),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_truncation),
        cmocka_unit_test(test_log_debug_env),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("sdk_error", tests, NULL, NULL);
}
