/*
 * Unit tests for server/boot_reader: a bootstrap copy fed in pieces of any size (whole, byte
 * by byte, pseudo-random cuts) hands over exactly the elements and responseStatus that
 * json_loadb finds in the whole document -- values cut inside strings, escapes, UTF-8
 * sequences, numbers and literals included; members in any order; "services": null; and it
 * fails, with a reason, on what is not such a document (not an object, invalid JSON inside an
 * element, a NUL byte between values, bytes after the end, a document cut short, a value over the
 * limit, a refusal by the callback).
 */
#include "test.h"

#include <jansson.h>

#include "boot_reader.h"

typedef struct got {
    json_t *items;
    int refuse_after; /* refuse the element with this index; -1 never */
} got_t;

static int on_service(void *ud, json_t *svc)
{
    got_t *g = ud;
    if (g->refuse_after >= 0 && json_array_size(g->items) == (size_t)g->refuse_after)
        return -1;
    json_array_append(g->items, svc);
    return 0;
}

/* Feed doc in pieces chosen by `cut` (0: whole; 1: byte by byte; else pseudo-random sizes
 * up to `cut`) and check the result against json_loadb of the whole. */
static void check_doc(const char *doc, size_t cut)
{
    size_t len = strlen(doc);
    json_error_t e;
    json_t *want = json_loadb(doc, len, 0, &e);
    assert_non_null(want);
    got_t g = {json_array(), -1};
    srv_boot_reader_t *r = srv_boot_reader_new(1 << 20, on_service, &g);
    assert_non_null(r);
    uint32_t seed = 12345;
    for (size_t off = 0; off < len;) {
        size_t n = len - off;
        if (cut == 1)
            n = 1;
        else if (cut > 1) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 8) % cut;
            n = k < n ? k : n;
        }
        assert_int_equal(srv_boot_reader_feed(r, doc + off, n), 0);
        off += n;
    }
    assert_int_equal(srv_boot_reader_finish(r), 0);
    assert_null(srv_boot_reader_error(r));
    json_t *services = json_object_get(want, "services");
    if (json_is_array(services))
        assert_true(json_equal(g.items, services));
    else
        assert_int_equal(json_array_size(g.items), 0);
    assert_int_equal(srv_boot_reader_services(r), json_array_size(g.items));
    json_t *status = json_object_get(want, "responseStatus");
    if (status)
        assert_true(json_equal(srv_boot_reader_status(r), status));
    else
        assert_null(srv_boot_reader_status(r));
    srv_boot_reader_free(r);
    json_decref(g.items);
    json_decref(want);
}

static void check_all_cuts(const char *doc)
{
    size_t cuts[] = {0, 1, 2, 3, 7, 64, 1000};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        check_doc(doc, cuts[i]);
}

static const char answer[] =
    "{\"responseStatus\":{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"},"
    "\"services\":[{\"instances\":[{\"instanceId\":\"a\",\"port\":8080,\"weight\":-1.5e3,"
    "\"healthy\":true,\"x\":false,\"y\":null}],\"logicInstances\":null,\"metadata\":null,"
    "\"routeRules\":null,\"serviceId\":\"s1\"} , \n{\"instances\":[],\"serviceId\":\"s2\"},"
    "{\"instances\":[{\"instanceId\":\"caf\\u00e9 \\\"q\\\" \\\\ \xc3\xa9\xe2\x82\xac\xf0\x9f"
    "\x98\x80\"}],\"serviceId\":\"s3\"}]}";

static void test_round_trip_any_cut(void **state)
{
    (void)state;
    check_all_cuts(answer);
}

static void test_member_order_and_other_members(void **state)
{
    (void)state;
    /* scalars at the top level: "12345" cut after "12" must not be taken for 12 */
    check_all_cuts("  {\"version\":12345,\"services\":[{\"serviceId\":\"s\"}],\"flag\":true,"
                   "\"n\":null,\"other\":[1,[2,{\"services\":[3]}]],\"responseStatus\":{"
                   "\"status\":\"success\"},\"last\":-0.5}  \n");
    check_all_cuts("{}");
    check_all_cuts("{\"services\":[]}");
}

static void test_services_null(void **state)
{
    (void)state;
    check_all_cuts("{\"responseStatus\":{\"errorCode\":\"no-permission\",\"status\":\"fail\"},"
                   "\"services\":null}");
}

/* Feed doc in one piece, then finish: the feed's and finish's results. */
static void feed_whole(const char *doc, size_t max_value, int *feed_rc, int *finish_rc,
                       const char **why)
{
    got_t g = {json_array(), -1};
    srv_boot_reader_t *r = srv_boot_reader_new(max_value, on_service, &g);
    *feed_rc = srv_boot_reader_feed(r, doc, strlen(doc));
    *finish_rc = srv_boot_reader_finish(r);
    static char buf[128];
    snprintf(buf, sizeof(buf), "%s", srv_boot_reader_error(r) ? srv_boot_reader_error(r) : "");
    *why = buf;
    srv_boot_reader_free(r);
    json_decref(g.items);
}

static void expect_failure(const char *doc, int fails_on_feed, const char *why_part)
{
    int frc, crc;
    const char *why;
    feed_whole(doc, 1 << 20, &frc, &crc, &why);
    if (fails_on_feed)
        assert_int_equal(frc, -1);
    assert_int_equal(crc, -1);
    if (!strstr(why, why_part))
        fail_msg("'%s': reason '%s' lacks '%s'", doc, why, why_part);
}

static void test_not_such_a_document(void **state)
{
    (void)state;
    expect_failure("[1,2]", 1, "not a JSON object");
    expect_failure("{\"services\":[{\"a\":1}x]}", 1, "not valid JSON");
    expect_failure("{\"services\" [1]}", 1, "not valid JSON");
    expect_failure("{\"a\":1 \"b\":2}", 1, "not valid JSON");
    expect_failure("{} x", 1, "after the end");
    /* an error inside an element, with more than a cut's worth of input after it */
    expect_failure("{\"services\":[{\"a\":tru e},{\"b\":\"................................\"}]}", 1,
                   "not valid JSON");
    /* cut short: only the end of the input can tell */
    expect_failure("{\"services\":[{\"a\":1},{\"b\":", 0, "ends");
    expect_failure("{\"services\":[{\"a\":1}", 0, "ends before the end");
    expect_failure("", 0, "ends before the end");
    /* a NUL byte between values is a byte, not the end of the input (found by the fuzzer:
     * it was taken for "nothing buffered" and the reader waited for more) */
    static const char nul[] = "{\"services\":[1\0,2]}";
    srv_boot_reader_t *r = srv_boot_reader_new(1 << 20, NULL, NULL);
    assert_int_equal(srv_boot_reader_feed(r, nul, sizeof(nul) - 1), -1);
    assert_string_equal(srv_boot_reader_error(r), "the copy is not valid JSON");
    srv_boot_reader_free(r);
}

static void test_value_limit(void **state)
{
    (void)state;
    char doc[512];
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(doc, sizeof(doc), "{\"services\":[{\"a\":\"%s\"}]}", big);
    int frc, crc;
    const char *why;
    feed_whole(doc, 200, &frc, &crc, &why);
    assert_int_equal(crc, -1);
    assert_non_null(strstr(why, "larger than the limit"));
    feed_whole(doc, 400, &frc, &crc, &why);
    assert_int_equal(frc, 0);
    assert_int_equal(crc, 0);
}

static void test_callback_refusal(void **state)
{
    (void)state;
    got_t g = {json_array(), 1};
    srv_boot_reader_t *r = srv_boot_reader_new(1 << 20, on_service, &g);
    assert_int_equal(srv_boot_reader_feed(r, answer, strlen(answer)), -1);
    assert_int_equal(json_array_size(g.items), 1);
    assert_string_equal(srv_boot_reader_error(r), "the copy was refused");
    assert_int_equal(srv_boot_reader_feed(r, "x", 1), -1); /* failed for good */
    assert_int_equal(srv_boot_reader_finish(r), -1);
    srv_boot_reader_free(r);
    json_decref(g.items);
}

/* A large element arriving byte by byte is parsed again only as the buffer doubles: 200 KB
 * in 1-byte pieces finishes (quadratic re-parsing would be ~10^10 byte visits). */
static void test_large_element_in_small_pieces(void **state)
{
    (void)state;
    size_t n = 200000;
    char *doc = malloc(n + 64);
    assert_non_null(doc);
    int k = snprintf(doc, n + 64, "{\"services\":[{\"s\":\"");
    memset(doc + k, 'y', n);
    snprintf(doc + k + n, 64, "\"}]}");
    check_doc(doc, 1);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_any_cut),
        cmocka_unit_test(test_member_order_and_other_members),
        cmocka_unit_test(test_services_null),
        cmocka_unit_test(test_not_such_a_document),
        cmocka_unit_test(test_value_limit),
        cmocka_unit_test(test_callback_refusal),
        cmocka_unit_test(test_large_element_in_small_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
