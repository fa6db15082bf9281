/*
 * Unit tests for server/reg_reader: every document the fast reader takes decodes exactly as
 * json_loadb + artemisi_decode_instances decode it (tests/support/reg_reader_diff.h compares
 * them field by field), and every document it must leave to jansson (escapes, non-ASCII,
 * NUL, non-plain ports, repeated keys, limits, depth, trailing bytes, wrong types, invalid
 * JSON anywhere) is declined, so the jansson path gives its answer unchanged.
 */
#include "test.h"

#include "reg_reader_diff.h"

#define MAX_ITEMS 100
#define MAX_STR   1024

/* The Java client's register / heartbeat body (protocol.md §10 F1, F5, F17) and the batched
 * replication heartbeat (F20): byte-exact. */
static const char F1[] =
    "{\"instances\":[{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.5:8080/"
    "health\",\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":{\"env\":\"prod\"},\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/"
    "demo\",\"zoneId\":\"sha-z1\"}]}";
static const char F20[] =
    "{\"instances\":[{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.5:8080/"
    "health\",\"instanceId\":\"10.0.0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\","
    "\"metadata\":{\"env\":\"prod\"},\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
    "\"serviceId\":\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/"
    "demo\",\"zoneId\":\"sha-z1\"},{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.6:8080/"
    "health\",\"instanceId\":\"10.0.0.6:8080\",\"ip\":\"10.0.0.6\",\"machineName\":\"host-6\","
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":"
    "\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.6:8080/demo\",\"zoneId\":"
    "\"sha-z1\"},{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.8:8080/health\","
    "\"instanceId\":\"10.0.0.8:8080\",\"ip\":\"10.0.0.8\",\"machineName\":\"host-8\","
    "\"metadata\":null,\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":"
    "\"demo.service.v1\",\"status\":\"up\",\"url\":\"http://10.0.0.8:8080/demo\",\"zoneId\":"
    "\"sha-z1\"}]}";
/* bench/loadgen.c's instance: two metadata entries. */
static const char LOADGEN[] =
    "{\"instances\":[{\"regionId\":\"default\",\"zoneId\":\"default\",\"serviceId\":\"bench."
    "service.0\",\"instanceId\":\"10.0.0.1:8080\",\"ip\":\"10.0.0.1\",\"machineName\":\"host-1\","
    "\"metadata\":{\"env\":\"bench\",\"idx\":\"1\"},\"port\":8080,\"protocol\":\"http\","
    "\"url\":\"http://10.0.0.1:8080/\",\"healthCheckUrl\":null,\"status\":\"up\",\"groupId\":"
    "null},{\"regionId\":\"default\",\"zoneId\":\"default\",\"serviceId\":\"bench.service.1\","
    "\"instanceId\":\"10.0.0.2:8080\",\"ip\":\"10.0.0.2\",\"metadata\":{\"env\":\"bench\",\"idx\":"
    "\"2\"},\"port\":8080,\"url\":\"http://10.0.0.2:8080/\",\"status\":\"up\"}]}";

/* Each document is read with no scratch (all on the heap), a small one (the copy fits, the
 * drafts move to the heap or not at all) and srv_registry_request's: same verdict each time. */
static const size_t scratch_sizes[] = {0, 200, 1500, SRV_REG_READER_SCRATCH};

static int diff_n(const char *json, size_t len, size_t max_items, size_t max_str)
{
    int first = 0;
    for (size_t i = 0; i < sizeof(scratch_sizes) / sizeof(scratch_sizes[0]); i++) {
        char why[256] = "";
        int v = reg_reader_diff(json, len, max_items, max_str, scratch_sizes[i], why, sizeof(why));
        if (v < 0)
            fail_msg("fast reader disagrees with jansson on %s (scratch %zu): %s", json,
                     scratch_sizes[i], why);
        if (i && v != first)
            fail_msg("scratch %zu changes the verdict on %s", scratch_sizes[i], json);
        first = v;
    }
    return first;
}

/* The fast reader takes json and agrees with jansson. */
static void taken(const char *json)
{
    if (diff_n(json, strlen(json), MAX_ITEMS, MAX_STR) != 1)
        fail_msg("fast reader declined %s", json);
}

/* The fast reader leaves json to jansson. */
static void declined_n(const char *json, size_t len, size_t max_items, size_t max_str)
{
    if (diff_n(json, len, max_items, max_str) != 0)
        fail_msg("fast reader took %.*s", (int)len, json);
}

static void declined(const char *json)
{
    declined_n(json, strlen(json), MAX_ITEMS, MAX_STR);
}

static void test_client_shapes(void **state)
{
    (void)state;
    taken(F1);
    taken(F20);
    taken(LOADGEN);
    /* the SDK's HTTP heartbeat order and the Java client's fields, all null */
    taken("{\"instances\":[{\"groupId\":null,\"healthCheckUrl\":null,\"instanceId\":null,\"ip\":"
          "null,\"machineName\":null,\"metadata\":null,\"port\":0,\"protocol\":null,\"regionId\":"
          "null,\"serviceId\":null,\"status\":null,\"url\":null,\"zoneId\":null}]}");
}

static void test_decoded_fields(void **state)
{
    (void)state;
    srv_reg_doc_t doc;
    assert_int_equal(srv_reg_read(LOADGEN, strlen(LOADGEN), MAX_ITEMS, MAX_STR, NULL, 0, &doc),
                     SRV_REG_READ_OK);
    assert_int_equal(doc.empty, 0);
    assert_int_equal(doc.list.n, 2);
    const artemisi_instance_t *a = &doc.list.items[0], *b = &doc.list.items[1];
    assert_string_equal(ARTEMISI_INST(a, SERVICE_ID), "bench.service.0");
    assert_null(ARTEMISI_INST(a, GROUP_ID));
    assert_null(ARTEMISI_INST(b, MACHINE_NAME));
    assert_int_equal(a->port, 8080);
    assert_int_equal(a->meta_null, 0);
    assert_int_equal(a->n_meta, 2);
    assert_string_equal(a->meta[0], "env");
    assert_string_equal(a->meta[3], "1");
    assert_string_equal(b->meta[3], "2");
    /* zero copy: the drafts point into the reader's one copy of the body */
    const char *s = ARTEMISI_INST(b, INSTANCE_ID);
    assert_true(s > doc.text && s < doc.text + strlen(LOADGEN));
    assert_true(b->meta[0] > doc.text && b->meta[0] < doc.text + strlen(LOADGEN));
    srv_reg_doc_free(&doc);
}

static void test_input_untouched(void **state)
{
    (void)state;
    char body[sizeof(F1)];
    memcpy(body, F1, sizeof(F1));
    srv_reg_doc_t doc;
    assert_int_equal(srv_reg_read(body, strlen(body), MAX_ITEMS, MAX_STR, NULL, 0, &doc),
                     SRV_REG_READ_OK);
    assert_memory_equal(body, F1, sizeof(F1));
    srv_reg_doc_free(&doc);
    /* not NUL-terminated: the reader reads exactly len bytes */
    char cut[] = "{\"instances\":[]}xyz";
    assert_int_equal(srv_reg_read(cut, 16, MAX_ITEMS, MAX_STR, NULL, 0, &doc), SRV_REG_READ_OK);
    assert_int_equal(doc.empty, 1);
    srv_reg_doc_free(&doc);
}

static void test_empty_and_nulls(void **state)
{
    (void)state;
    const char *const docs[] = {
        "{}",
        "{\"instances\":null}",
        "{\"instances\":[]}",
        "{\"instances\":[null]}",
        "{\"instances\":[null,null,null]}",
        "{\"instances\":[null,{},null]}",
        "{\"instances\":[{}]}",
        "{\"other\":1}",
        "{\"instances\":[{\"metadata\":{}}]}",
        "{\"instances\":[{\"metadata\":null}]}",
        "{\"instances\":[{\"metadata\":{\"a\":null,\"\":\"\",\"b\":\"\"}}]}",
        "{\"instances\":[{\"port\":null,\"regionId\":\"\",\"zoneId\":null}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        taken(docs[i]);
    srv_reg_doc_t doc;
    assert_int_equal(srv_reg_read("{\"instances\":[null,null]}", 25, 10, 10, NULL, 0, &doc), 0);
    assert_int_equal(doc.empty, 0); /* not empty: succeeds with nothing done */
    assert_int_equal(doc.list.n, 0);
    srv_reg_doc_free(&doc);
}

static void test_whitespace_everywhere(void **state)
{
    (void)state;
    taken(" \t\r\n{ \t\r\n\"instances\" \n:\r [ \t{ \"regionId\" : \"sha\" , \"port\" : 80 , "
          "\"metadata\" : { \"k\" : \"v\" , \"k2\" : null } } , null , { } ] , \"x\" : [ 1 , { "
          "\"a\" : [ ] } ] } \r\n\t ");
    taken("{\"instances\":[{\"regionId\":\"sha\"}]}\n");
}

static void test_names_case_insensitive(void **state)
{
    (void)state;
    taken("{\"INSTANCES\":[{\"REGIONID\":\"sha\",\"Port\":1,\"MetaData\":{\"K\":\"v\"},"
          "\"serviceid\":\"s\",\"INSTANCEID\":\"i\",\"healthcheckurl\":\"h\",\"IP\":\"1\","
          "\"machinename\":\"m\",\"PROTOCOL\":\"p\",\"Status\":\"up\",\"URL\":\"u\","
          "\"zoneID\":\"z\",\"GROUPID\":\"g\"}]}");
    /* names that only look alike are unknown properties */
    taken("{\"instance\":1,\"instancesX\":2,\"instances\":[{\"regionId_\":1,\"ports\":\"x\","
          "\"meta\":[],\"i p\":{}}]}");
}

static void test_unknown_values_skipped(void **state)
{
    (void)state;
    taken("{\"a\":true,\"b\":false,\"c\":null,\"d\":-0,\"e\":123456789012345678,\"f\":-1.5e10,"
          "\"g\":0.25E-3,\"h\":\"s\",\"i\":[[],{},[{\"x\":[1,2,{\"y\":null}]}]],"
          "\"instances\":[{\"x\":{\"regionId\":1},\"y\":[\"port\",\"z\"],\"regionId\":\"r\","
          "\"z\":1e+5,\"w\":\"\x7f\"}]}");
}

static void test_ports(void **state)
{
    (void)state;
    const char *const ok[] = {"0", "-0", "1", "8080", "-1", "2147483647", "-2147483648", "null"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"instances\":[{\"port\":%s}]}", ok[i]);
        taken(buf);
    }
    /* every other binding of artemisi_json_int (Jackson's) and every error is jansson's */
    const char *const no[] = {
        "1.5",         "8080.0", "1e3", "8080E0", "\"8080\"",   "\"\"",
        "true",        "false",  "{}",  "[]",     "2147483648", "-2147483649",
        "99999999999", "08",     "-",   "--1",    "+1",         "12345678901234567890"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"instances\":[{\"port\":%s}]}", no[i]);
        declined(buf);
    }
}

static void test_strings_left_to_jansson(void **state)
{
    (void)state;
    declined("{\"instances\":[{\"regionId\":\"a\\\"b\"}]}"); /* escape in a field */
    declined("{\"instances\":[{\"regionId\":\"\\u0041\"}]}");
    declined("{\"instances\":[{\"region\\u0049d\":\"x\"}]}");     /* escape in a key */
    declined("{\"x\":\"\\n\",\"instances\":[]}");                 /* escape in a skipped value */
    declined("{\"instances\":[{\"regionId\":\"caf\xc3\xa9\"}]}"); /* UTF-8: jansson checks it */
    declined("{\"instances\":[{\"regionId\":\"\xff\"}]}");
    declined("{\"instances\":[{\"regionId\":\"a\tb\"}]}"); /* a raw control byte is invalid */
    declined_n("{\"instances\":[{\"regionId\":\"a\0b\"}]}", 32, MAX_ITEMS, MAX_STR);
    declined_n("{\"instances\":[]}\0", 17, MAX_ITEMS, MAX_STR); /* a NUL after the document */
    declined("{\"instances\":[{\"regionId\":\"unterminated}]}");
}

static void test_repeated_keys(void **state)
{
    (void)state;
    declined("{\"instances\":[],\"instances\":[{}]}");
    declined("{\"instances\":[{}],\"Instances\":null}");
    declined("{\"instances\":[{\"regionId\":\"a\",\"regionId\":\"b\"}]}");
    declined("{\"instances\":[{\"regionId\":\"a\",\"REGIONID\":\"b\"}]}");
    declined("{\"instances\":[{\"port\":1,\"port\":2}]}");
    declined("{\"instances\":[{\"metadata\":null,\"Metadata\":{}}]}");
    declined("{\"instances\":[{\"metadata\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}]}");
    /* not repeated: metadata keys differing in case, unknown keys, the same key in two
     * instances or in a nested unknown object */
    taken("{\"instances\":[{\"metadata\":{\"k\":\"1\",\"K\":\"2\"},\"x\":1,\"x\":2}]}");
    taken("{\"instances\":[{\"regionId\":\"a\",\"x\":{\"regionId\":1}},{\"regionId\":\"b\"}]}");
}

static void test_limits(void **state)
{
    (void)state;
    const char *three = "{\"instances\":[{},null,{}]}";
    assert_int_equal(diff_n(three, strlen(three), 3, MAX_STR), 1);
    declined_n(three, strlen(three), 2, MAX_STR); /* nulls count, as json_array_size does */
    const char *s = "{\"instances\":[{\"regionId\":\"12345\",\"metadata\":{\"k2345\":\"v2345\"}}]}";
    assert_int_equal(diff_n(s, strlen(s), MAX_ITEMS, 5), 1);
    declined_n(s, strlen(s), MAX_ITEMS, 4);
    const char *mk = "{\"instances\":[{\"metadata\":{\"k23456\":\"v\"}}]}";
    declined_n(mk, strlen(mk), MAX_ITEMS, 5);
    const char *mv = "{\"instances\":[{\"metadata\":{\"k\":\"v23456\"}}]}";
    declined_n(mv, strlen(mv), MAX_ITEMS, 5);
    /* a long unknown string is not limited (jansson's path does not look at it either) */
    const char *u = "{\"instances\":[{\"unknown\":\"123456789\"}]}";
    assert_int_equal(diff_n(u, strlen(u), MAX_ITEMS, 5), 1);

    /* metadata: SRV_REG_READER_MAX_META entries are taken, one more is jansson's */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    for (int extra = 0; extra <= 1; extra++) {
        artemisi_buf_reset(&b);
        artemisi_buf_appends(&b, "{\"instances\":[{\"metadata\":{");
        for (int i = 0; i < SRV_REG_READER_MAX_META + extra; i++)
            artemisi_buf_appendf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
        artemisi_buf_appends(&b, "}}]}");
        if (extra)
            declined(b.data);
        else
            taken(b.data);
    }
    /* nesting: SRV_REG_READER_MAX_DEPTH levels are taken, one more is jansson's */
    for (int extra = 0; extra <= 1; extra++) {
        artemisi_buf_reset(&b);
        artemisi_buf_appends(&b, "{\"x\":");
        for (int i = 2; i <= SRV_REG_READER_MAX_DEPTH + extra; i++)
            artemisi_buf_appendc(&b, '[');
        for (int i = 2; i <= SRV_REG_READER_MAX_DEPTH + extra; i++)
            artemisi_buf_appendc(&b, ']');
        artemisi_buf_appendc(&b, '}');
        if (extra)
            declined(b.data);
        else
            taken(b.data);
    }
    /* many instances: the item array grows by doubling, metadata pointers follow the pool */
    artemisi_buf_reset(&b);
    artemisi_buf_appends(&b, "{\"instances\":[");
    for (int i = 0; i < 1000; i++)
        artemisi_buf_appendf(&b, "%s{\"instanceId\":\"i-%d\",\"port\":%d,\"metadata\":%s}",
                             i ? "," : "", i, i,
                             i % 3 == 0   ? "null"
                             : i % 3 == 1 ? "{}"
                                          : "{\"a\":\"b\",\"c\":null}");
    artemisi_buf_appends(&b, "]}");
    assert_int_equal(diff_n(b.data, b.len, 1000, MAX_STR), 1);
    declined_n(b.data, b.len, 999, MAX_STR);
    artemisi_buf_free(&b);
}

static void test_wrong_types_and_shapes(void **state)
{
    (void)state;
    const char *const no[] = {"",
                              " ",
                              "[]",
                              "null",
                              "\"x\"",
                              "1",
                              "true", /* roots that are not objects */
                              "{\"instances\":{}}",
                              "{\"instances\":1}",
                              "{\"instances\":\"x\"}",
                              "{\"instances\":true}",
                              "{\"instances\":[1]}",
                              "{\"instances\":[\"x\"]}",
                              "{\"instances\":[[]]}",
                              "{\"instances\":[true]}",
                              "{\"instances\":[{\"regionId\":1}]}",
                              "{\"instances\":[{\"regionId\":true}]}",
                              "{\"instances\":[{\"regionId\":{}}]}",
                              "{\"instances\":[{\"regionId\":[]}]}",
                              "{\"instances\":[{\"metadata\":[]}]}",
                              "{\"instances\":[{\"metadata\":\"x\"}]}",
                              "{\"instances\":[{\"metadata\":{\"k\":1}}]}",
                              "{\"instances\":[{\"metadata\":{\"k\":{}}}]}",
                              "{\"instances\":[{\"metadata\":{\"k\":true}}]}"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        declined(no[i]);
}

static void test_invalid_json_declined(void **state)
{
    (void)state;
    const char *const no[] = {"{}x",
                              "{} {}",
                              "{},",
                              "{",
                              "{\"instances\":[]",
                              "{\"instances\":[}",
                              "{\"instances\"[]}",
                              "{\"instances\":[],}",
                              "{,}",
                              "{\"instances\":[{},]}",
                              "{\"instances\":[{\"a\":1,}]}",
                              "{\"instances\":[{\"metadata\":{\"k\":\"v\",}}]}",
                              "{\"instances\":[,]}",
                              "{\"x\":01}",
                              "{\"x\":1.}",
                              "{\"x\":.5}",
                              "{\"x\":-}",
                              "{\"x\":+1}",
                              "{\"x\":1e}",
                              "{\"x\":1e+}",
                              "{\"x\":tru}",
                              "{\"x\":truex}",
                              "{\"x\":nul}",
                              "{\"x\":[1,]}",
                              "{\"x\":{\"a\":1,}}",
                              "{\"x\":{\"a\"}}",
                              "{\"x\":{1:2}}",
                              "{\"x\":[1 2]}",
                              "{\"x\":1true}",
                              "{\"x\":'a'}",
                              "{'x':1}",
                              "{\"x\":NaN}",
                              "{\"x\":Infinity}",
                              "{\"x\":0x10}",
                              "{\"instances\":nullx}",
                              "{\"instances\":[null1]}",
                              "{\"instances\":[{\"regionId\":nulll}]}",
                              "\xef\xbb\xbf{}", /* a BOM */
                              "{\"x\":\"a\"\"b\"}",
                              "{\"instances\":[{}{}]}",
                              "{\"x\":/*c*/1}"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        declined(no[i]);
    /* numbers jansson would refuse as out of range, or could: left to it */
    declined("{\"x\":1234567890123456789}");
    declined("{\"x\":1e308}");
    declined("{\"x\":1.5e100}");
    taken("{\"x\":123456789012345678.5e99}");
}

/* Where the parts go: all in the scratch when they fit (no allocation), the copy in the
 * scratch and the drafts moved to the heap as they outgrow it, or all on the heap. */
static void test_scratch(void **state)
{
    (void)state;
    _Alignas(16) char scratch[SRV_REG_READER_SCRATCH];
    srv_reg_doc_t doc;
    assert_int_equal(
        srv_reg_read(F20, strlen(F20), MAX_ITEMS, MAX_STR, scratch, sizeof(scratch), &doc),
        SRV_REG_READ_OK);
    assert_null(doc.text_heap);
    assert_null(doc.items_heap);
    assert_null(doc.pool_heap);
    assert_true(doc.text >= scratch && doc.text < scratch + sizeof(scratch));
    assert_int_equal(doc.list.n, 3);
    assert_string_equal(doc.list.items[0].meta[1], "prod");
    srv_reg_doc_free(&doc);

    /* 300 instances with metadata in a body the scratch holds: items and pool outgrow it */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_appends(&b, "{\"instances\":[");
    for (int i = 0; i < 300; i++)
        artemisi_buf_appendf(&b, "%s{\"a\":{\"b\":\"%d\"}}", i ? "," : "", i);
    artemisi_buf_appends(&b, "]}");
    assert_true(b.len < sizeof(scratch) / 2);
    assert_int_equal(srv_reg_read(b.data, b.len, 1000, MAX_STR, scratch, sizeof(scratch), &doc),
                     SRV_REG_READ_OK);
    assert_null(doc.text_heap);
    assert_non_null(doc.items_heap);
    assert_int_equal(doc.list.n, 300);
    srv_reg_doc_free(&doc);
    assert_int_equal(diff_n(b.data, b.len, 1000, MAX_STR), 1);
    artemisi_buf_reset(&b);
    artemisi_buf_appends(&b, "{\"instances\":[{\"metadata\":{");
    for (int i = 0; i < SRV_REG_READER_MAX_META; i++)
        artemisi_buf_appendf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
    artemisi_buf_appends(&b, "}},{\"metadata\":{\"z\":null}}]}");
    assert_int_equal(srv_reg_read(b.data, b.len, MAX_ITEMS, MAX_STR, scratch, b.len + 200, &doc),
                     SRV_REG_READ_OK);
    assert_non_null(doc.pool_heap);
    assert_string_equal(doc.list.items[0].meta[2 * SRV_REG_READER_MAX_META - 2], "k63");
    assert_string_equal(doc.list.items[1].meta[0], "z");
    assert_null(doc.list.items[1].meta[1]);
    srv_reg_doc_free(&doc);
    assert_int_equal(diff_n(b.data, b.len, MAX_ITEMS, MAX_STR), 1);
    /* an unaligned scratch is aligned first */
    assert_int_equal(
        srv_reg_read(F1, strlen(F1), MAX_ITEMS, MAX_STR, scratch + 1, sizeof(scratch) - 1, &doc),
        SRV_REG_READ_OK);
    assert_int_equal(((uintptr_t)doc.list.items) % 16, 0);
    srv_reg_doc_free(&doc);
    artemisi_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_shapes),
        cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_input_untouched),
        cmocka_unit_test(test_empty_and_nulls),
        cmocka_unit_test(test_whitespace_everywhere),
        cmocka_unit_test(test_names_case_insensitive),
        cmocka_unit_test(test_unknown_values_skipped),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_strings_left_to_jansson),
        cmocka_unit_test(test_repeated_keys),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_wrong_types_and_shapes),
        cmocka_unit_test(test_invalid_json_declined),
        cmocka_unit_test(test_scratch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
