/*
 * Unit tests for sdk/common/codec: decoding of Instance lists (case-insensitive names, unknown
 * properties, nulls, limits), the hand-written encoders (alphabetical order, explicit nulls,
 * escaping) checked byte-for-byte against the protocol.md §10 fixtures, and parse failures
 * that must be clean errors rather than crashes.
 */
#include "test.h"

#include "codec.h"

#define MAX_ITEMS 100
#define MAX_STR   1024

/* Spec §10 fixture bodies. */
static const char F1_INSTANCE[] =
    "{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.5:8080/health\",\"instanceId\":\"10.0."
    "0.5:8080\",\"ip\":\"10.0.0.5\",\"machineName\":\"host-5\",\"metadata\":{\"env\":\"prod\"},"
    "\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\","
    "\"status\":\"up\",\"url\":\"http://10.0.0.5:8080/demo\",\"zoneId\":\"sha-z1\"}";
static const char F3_INSTANCE2[] =
    "{\"groupId\":null,\"healthCheckUrl\":\"http://10.1.0.6:8080/health\",\"instanceId\":\"10.1."
    "0.6:8080\",\"ip\":\"10.1.0.6\",\"machineName\":\"host-6\",\"metadata\":null,\"port\":8080,"
    "\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\",\"status\":"
    "\"up\",\"url\":\"http://10.1.0.6:8080/demo\",\"zoneId\":\"sha-z2\"}";
static const char F4_INSTANCE[] =
    "{\"groupId\":null,\"healthCheckUrl\":\"http://10.0.0.7:8080/health\",\"instanceId\":\"10.0."
    "0.7:8080\",\"ip\":\"10.0.0.7\",\"machineName\":\"host-7\",\"metadata\":null,\"port\":8080,"
    "\"protocol\":\"http\",\"regionId\":\"sha\",\"serviceId\":\"demo.service.v1\",\"status\":"
    "\"up\",\"url\":null,\"zoneId\":\"sha-z1\"}";

/* A parsed document and its decoded "instances". */
struct decoded {
    json_t *root;
    artemisi_instance_list_t list;
    char err[256];
    int rc;
};

static int decode_doc(struct decoded *d, const char *json, size_t max_items, size_t max_str)
{
    memset(d, 0, sizeof(*d));
    d->root = artemisi_json_parse(json, strlen(json), d->err, sizeof(d->err));
    assert_non_null(d->root);
    d->rc = artemisi_decode_instances(artemisi_json_get(d->root, "instances"), max_items, max_str,
                                      &d->list, d->err, sizeof(d->err));
    return d->rc;
}

static void decoded_free(struct decoded *d)
{
    artemisi_instance_list_free(&d->list);
    json_decref(d->root);
}

/* Decode `{"instances":[<inst>]}` and return the single draft (d keeps the tree alive). */
static const artemisi_instance_t *decode_one(struct decoded *d, const char *inst)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&b, "{\"instances\":[%s]}", inst), 0);
    assert_int_equal(decode_doc(d, b.data, MAX_ITEMS, MAX_STR), ARTEMISI_DECODE_OK);
    artemisi_buf_free(&b);
    assert_int_equal(d->list.n, 1);
    return &d->list.items[0];
}

/* rc of decoding `{"instances":[<inst>]}`; the error text goes to err. */
static int decode_rc(const char *inst, char *err, size_t errlen)
{
    struct decoded d;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&b, "{\"instances\":[%s]}", inst), 0);
    int rc = decode_doc(&d, b.data, MAX_ITEMS, MAX_STR);
    if (err)
        snprintf(err, errlen, "%s", d.err);
    artemisi_buf_free(&b);
    decoded_free(&d);
    return rc;
}

static void assert_encodes_to(const artemisi_instance_t *inst, const char *expect)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, inst), 0);
    assert_string_equal(b.data, expect);
    assert_int_equal(b.len, strlen(expect));
    artemisi_buf_free(&b);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static void test_f1_roundtrip(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x = decode_one(&d, F1_INSTANCE);
    assert_null(ARTEMISI_INST(x, GROUP_ID));
    assert_string_equal(ARTEMISI_INST(x, SERVICE_ID), "demo.service.v1");
    assert_string_equal(ARTEMISI_INST(x, INSTANCE_ID), "10.0.0.5:8080");
    assert_int_equal(x->port, 8080);
    assert_int_equal(x->meta_null, 0);
    assert_int_equal(x->n_meta, 1);
    assert_string_equal(x->meta[0], "env");
    assert_string_equal(x->meta[1], "prod");
    assert_int_equal(x->packed, 0);

    /* The draft, and a packed copy, both re-encode byte-for-byte. */
    assert_encodes_to(x, F1_INSTANCE);
    artemisi_instance_t *p = artemisi_instance_pack(x);
    assert_non_null(p);
    decoded_free(&d); /* the packed copy no longer needs the tree */
    assert_encodes_to(p, F1_INSTANCE);
    artemisi_instance_unref(p);
}

static void test_f1_whole_body(void **state)
{
    (void)state;
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&body, "{\"instances\":[%s]}", F1_INSTANCE), 0);
    struct decoded d;
    assert_int_equal(decode_doc(&d, body.data, MAX_ITEMS, MAX_STR), 0);
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appends(&out, "{\"instances\":["), 0);
    for (size_t i = 0; i < d.list.n; i++) {
        if (i)
            assert_int_equal(artemisi_buf_appendc(&out, ','), 0);
        assert_int_equal(artemisi_encode_instance(&out, &d.list.items[i]), 0);
    }
    assert_int_equal(artemisi_buf_appends(&out, "]}"), 0);
    assert_string_equal(out.data, body.data);
    artemisi_buf_free(&out);
    artemisi_buf_free(&body);
    decoded_free(&d);
}

static void test_f3_two_instances(void **state)
{
    (void)state;
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    assert_int_equal(
        artemisi_buf_appendf(&body, "{\"instances\":[%s,%s]}", F1_INSTANCE, F3_INSTANCE2), 0);
    struct decoded d;
    assert_int_equal(decode_doc(&d, body.data, MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 2);
    assert_int_equal(d.list.items[1].meta_null, 1);
    assert_null(d.list.items[1].meta);
    assert_string_equal(ARTEMISI_INST(&d.list.items[1], ZONE_ID), "sha-z2");
    assert_encodes_to(&d.list.items[0], F1_INSTANCE);
    assert_encodes_to(&d.list.items[1], F3_INSTANCE2);
    artemisi_buf_free(&body);
    decoded_free(&d);
}

static void test_f4_url_null(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x = decode_one(&d, F4_INSTANCE);
    assert_null(ARTEMISI_INST(x, URL));
    assert_int_equal(x->meta_null, 1);
    assert_encodes_to(x, F4_INSTANCE);
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, x), 0);
    assert_non_null(strstr(b.data, ",\"url\":null,"));
    artemisi_buf_free(&b);
    decoded_free(&d);
}

/* An absent property encodes exactly like an explicit null. */
static void test_absent_fields_encode_null(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x = decode_one(&d, "{}");
    assert_encodes_to(x,
                      "{\"groupId\":null,\"healthCheckUrl\":null,\"instanceId\":null,\"ip\":null,"
                      "\"machineName\":null,\"metadata\":null,\"port\":0,\"protocol\":null,"
                      "\"regionId\":null,\"serviceId\":null,\"status\":null,\"url\":null,"
                      "\"zoneId\":null}");
    decoded_free(&d);
}

/* ---- decoding ------------------------------------------------------------------------------ */

static void test_case_insensitive_and_unknown(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"INSTANCES\":[{\"SERVICEID\":\"s\",\"InstanceId\":\"i\",\"URL\":\"u\","
        "\"healthcheckurl\":"
        "\"h\",\"Port\":81,\"MetaData\":{\"Key\":\"V\"},\"unknown\":1,\"nested\":{\"serviceId\":"
        "\"x\"},\"list\":[1,{\"a\":null}],\"zoneid\":null,\"flag\":true}],\"other\":\"ignored\"}";
    struct decoded d;
    assert_int_equal(decode_doc(&d, doc, MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 1);
    const artemisi_instance_t *x = &d.list.items[0];
    assert_string_equal(ARTEMISI_INST(x, SERVICE_ID), "s");
    assert_string_equal(ARTEMISI_INST(x, INSTANCE_ID), "i");
    assert_string_equal(ARTEMISI_INST(x, URL), "u");
    assert_string_equal(ARTEMISI_INST(x, HEALTH_CHECK_URL), "h");
    assert_null(ARTEMISI_INST(x, ZONE_ID));
    assert_int_equal(x->port, 81);
    assert_int_equal(x->n_meta, 1);
    /* Metadata keys are data, not property names: case kept. */
    assert_string_equal(x->meta[0], "Key");
    assert_string_equal(x->meta[1], "V");
    decoded_free(&d);
}

static void test_json_get(void **state)
{
    (void)state;
    static const char doc[] = "{\"Alpha\":1,\"beta\":\"2\",\"GAMMA\":true,\"delta\":null,"
                              "\"eps\":\"true\",\"zeta\":[],\"eta\":1.5,\"theta\":\"x\"}";
    json_t *root = artemisi_json_parse(doc, strlen(doc), NULL, 0);
    assert_non_null(root);
    assert_non_null(artemisi_json_get(root, "alpha"));
    assert_non_null(artemisi_json_get(root, "ALPHA"));
    assert_null(artemisi_json_get(root, "alph"));
    assert_null(artemisi_json_get(NULL, "alpha"));
    assert_null(artemisi_json_get(artemisi_json_get(root, "zeta"), "alpha"));

    int64_t v = -1;
    assert_int_equal(artemisi_json_get_i64(root, "alpha", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(artemisi_json_get_i64(root, "BETA", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(artemisi_json_get_i64(root, "delta", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(artemisi_json_get_i64(root, "missing", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(artemisi_json_get_i64(root, "theta", &v), -1);
    assert_int_equal(artemisi_json_get_i64(root, "gamma", &v), -1);
    assert_int_equal(artemisi_json_get_i64(root, "zeta", &v), -1);
    /* A long binds a floating-point number truncated, as Jackson does. */
    assert_int_equal(artemisi_json_get_i64(root, "eta", &v), 0);
    assert_int_equal(v, 1);

    int bv = -1;
    assert_int_equal(artemisi_json_get_bool(root, "gamma", &bv), 0);
    assert_int_equal(bv, 1);
    assert_int_equal(artemisi_json_get_bool(root, "eps", &bv), 0);
    assert_int_equal(bv, 1);
    assert_int_equal(artemisi_json_get_bool(root, "delta", &bv), 0);
    assert_int_equal(bv, 0);
    assert_int_equal(artemisi_json_get_bool(root, "theta", &bv), -1);
    assert_int_equal(artemisi_json_get_bool(root, "alpha", &bv), -1);

    const char *s = "sentinel";
    assert_int_equal(artemisi_json_get_str(root, "Beta", &s), 0);
    assert_string_equal(s, "2");
    assert_int_equal(artemisi_json_get_str(root, "delta", &s), 0);
    assert_null(s);
    assert_int_equal(artemisi_json_get_str(root, "missing", &s), 0);
    assert_null(s);
    assert_int_equal(artemisi_json_get_str(root, "alpha", &s), -1);
    assert_int_equal(artemisi_json_get_str(root, "gamma", &s), -1);
    assert_int_equal(artemisi_json_get_str(root, "zeta", &s), -1);
    json_decref(root);
}

/* artemisi_json_bind: Jackson's binding of one property to its declared Java type. */
static void test_json_bind(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"Sid\":5,\"neg\":-12,\"real\":1.5,\"whole\":100.0,\"t\":true,\"f\":false,\"s\":\"x\","
        "\"n\":null,\"o\":{},\"a\":[7,null,\"y\",{}],\"num\":2.5,\"bool\":true}";
    json_t *root = artemisi_json_parse(doc, strlen(doc), NULL, 0);
    assert_non_null(root);
    char err[256];
    json_t *v = (json_t *)1;

    /* String: a number or boolean becomes its text, written back into the tree so later
     * reads (artemisi_json_get_str) see the coerced value. */
    assert_int_equal(
        artemisi_json_bind(root, "sid", ARTEMISI_JT_STRING, "request.sid", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_string_equal(json_string_value(v), "5");
    const char *s = NULL;
    assert_int_equal(artemisi_json_get_str(root, "SID", &s), 0);
    assert_string_equal(s, "5");
    static const struct {
        const char *name, *text;
    } texts[] = {{"neg", "-12"}, {"real", "1.5"}, {"whole", "100.0"},
                 {"t", "true"},  {"f", "false"},  {"s", "x"}};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(artemisi_json_bind(root, texts[i].name, ARTEMISI_JT_STRING, texts[i].name,
                                            &v, err, sizeof(err)),
                         ARTEMISI_DECODE_OK);
        assert_string_equal(json_string_value(v), texts[i].text);
    }
    /* null and absent stay null, for every type */
    for (int t = ARTEMISI_JT_STRING; t <= ARTEMISI_JT_LIST; t++) {
        v = (json_t *)1;
        assert_int_equal(
            artemisi_json_bind(root, "n", (artemisi_jtype_t)t, "n", &v, err, sizeof(err)),
            ARTEMISI_DECODE_OK);
        assert_null(v);
        v = (json_t *)1;
        assert_int_equal(
            artemisi_json_bind(root, "missing", (artemisi_jtype_t)t, "m", &v, err, sizeof(err)),
            ARTEMISI_DECODE_OK);
        assert_null(v);
    }
    /* what cannot bind: a 400 naming the field */
    assert_int_equal(
        artemisi_json_bind(root, "o", ARTEMISI_JT_STRING, "request.o", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.o must be a string (got an object)");
    assert_null(v);
    assert_int_equal(
        artemisi_json_bind(root, "a", ARTEMISI_JT_STRING, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.a must be a string (got an array)");
    assert_int_equal(
        artemisi_json_bind(root, "o", ARTEMISI_JT_LIST, "request.o", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.o must be a list (got an object)");
    assert_int_equal(
        artemisi_json_bind(root, "s", ARTEMISI_JT_LIST, "request.s", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.s must be a list (got a string)");
    assert_int_equal(
        artemisi_json_bind(root, "sid", ARTEMISI_JT_OBJECT, "request.sid", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.sid must be an object (got a string)");
    assert_int_equal(artemisi_json_bind(root, "num", ARTEMISI_JT_OBJECT, "x", &v, err, sizeof(err)),
                     ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "x must be an object (got a number)");
    assert_int_equal(artemisi_json_bind(root, "bool", ARTEMISI_JT_LIST, "x", &v, err, sizeof(err)),
                     ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "x must be a list (got a boolean)");
    assert_int_equal(artemisi_json_bind(root, "a", ARTEMISI_JT_OBJECT, "x", &v, err, sizeof(err)),
                     ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "x must be an object (got an array)");
    /* the right shapes */
    assert_int_equal(artemisi_json_bind(root, "o", ARTEMISI_JT_OBJECT, "o", &v, err, sizeof(err)),
                     ARTEMISI_DECODE_OK);
    assert_true(json_is_object(v));
    json_t *arr = NULL;
    assert_int_equal(
        artemisi_json_bind(root, "a", ARTEMISI_JT_LIST, "request.a", &arr, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_true(json_is_array(arr));

    /* list elements: a List<String> coerces its elements, keeps nulls, refuses objects */
    assert_int_equal(
        artemisi_json_bind_elem(arr, 0, ARTEMISI_JT_STRING, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_string_equal(json_string_value(v), "7");
    assert_string_equal(json_string_value(json_array_get(arr, 0)), "7");
    assert_int_equal(
        artemisi_json_bind_elem(arr, 1, ARTEMISI_JT_STRING, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_null(v);
    assert_int_equal(
        artemisi_json_bind_elem(arr, 3, ARTEMISI_JT_STRING, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.a[3] must be a string (got an object)");
    assert_int_equal(
        artemisi_json_bind_elem(arr, 2, ARTEMISI_JT_OBJECT, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "request.a[2] must be an object (got a string)");
    assert_int_equal(
        artemisi_json_bind_elem(arr, 3, ARTEMISI_JT_OBJECT, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_true(json_is_object(v));
    /* not a list, or past its end: absent */
    assert_int_equal(
        artemisi_json_bind_elem(arr, 9, ARTEMISI_JT_OBJECT, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_null(v);
    assert_int_equal(
        artemisi_json_bind_elem(root, 0, ARTEMISI_JT_OBJECT, "request.a", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_null(v);
    /* a non-object holds no properties */
    assert_int_equal(
        artemisi_json_bind(arr, "x", ARTEMISI_JT_STRING, "request.a.x", &v, err, sizeof(err)),
        ARTEMISI_DECODE_OK);
    assert_null(v);
    json_decref(root);
}

/* Text of a JSON number, as Jackson's String binding gives it (the source text; for a
 * floating-point number its shortest form here). */
static void test_json_bind_number_text(void **state)
{
    (void)state;
    static const struct {
        const char *json, *text;
    } cases[] = {
        {"0", "0"},
        {"-0", "0"},
        {"9223372036854775807", "9223372036854775807"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"0.1", "0.1"},
        {"-2.5", "-2.5"},
        {"5.0", "5.0"},
        {"1e3", "1000.0"},
        {"1.5e300", "1.5e+300"},
        {"123456789.125", "123456789.125"},
        {"0.30000000000000004", "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[128];
        snprintf(doc, sizeof(doc), "{\"v\":%s}", cases[i].json);
        json_t *root = artemisi_json_parse(doc, strlen(doc), NULL, 0);
        assert_non_null(root);
        json_t *v = NULL;
        char err[128];
        assert_int_equal(
            artemisi_json_bind(root, "v", ARTEMISI_JT_STRING, "v", &v, err, sizeof(err)),
            ARTEMISI_DECODE_OK);
        assert_string_equal(json_string_value(v), cases[i].text);
        json_decref(root);
    }
}

static void test_metadata_forms(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x;

    x = decode_one(&d, "{\"metadata\":null}");
    assert_int_equal(x->meta_null, 1);
    assert_int_equal(x->n_meta, 0);
    decoded_free(&d);

    x = decode_one(&d, "{}");
    assert_int_equal(x->meta_null, 1);
    decoded_free(&d);

    x = decode_one(&d, "{\"metadata\":{}}");
    assert_int_equal(x->meta_null, 0);
    assert_int_equal(x->n_meta, 0);
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, x), 0);
    assert_non_null(strstr(b.data, ",\"metadata\":{},"));
    artemisi_buf_free(&b);
    decoded_free(&d);

    /* Entries keep their order; a null value is kept as NULL (Java's map keeps it), distinct
     * from "". */
    x = decode_one(&d, "{\"metadata\":{\"b\":\"2\",\"n\":null,\"a\":\"1\",\"c\":\"\"}}");
    assert_int_equal(x->meta_null, 0);
    assert_int_equal(x->n_meta, 4);
    assert_string_equal(x->meta[0], "b");
    assert_string_equal(x->meta[1], "2");
    assert_string_equal(x->meta[2], "n");
    assert_null(x->meta[3]);
    assert_string_equal(x->meta[4], "a");
    assert_string_equal(x->meta[5], "1");
    assert_string_equal(x->meta[6], "c");
    assert_string_equal(x->meta[7], "");
    assert_int_equal(artemisi_encode_instance(&b, x), 0);
    assert_non_null(
        strstr(b.data, ",\"metadata\":{\"b\":\"2\",\"n\":null,\"a\":\"1\",\"c\":\"\"},"));
    artemisi_buf_free(&b);
    decoded_free(&d);

    /* Only nulls: a map holding the null. */
    x = decode_one(&d, "{\"metadata\":{\"n\":null}}");
    assert_int_equal(x->meta_null, 0);
    assert_int_equal(x->n_meta, 1);
    assert_string_equal(x->meta[0], "n");
    assert_null(x->meta[1]);
    decoded_free(&d);

    char err[256];
    assert_int_equal(decode_rc("{\"metadata\":[]}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.metadata must be an object");
    assert_int_equal(decode_rc("{\"metadata\":\"x\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"metadata\":{\"a\":1}}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"metadata\":{\"a\":{}}}", NULL, 0), ARTEMISI_DECODE_BAD);
}

/* Java answers {"k":null,"j":"v"} for a registered {"k":null,"j":"v"}: the null value survives
 * decode -> pack -> encode, and reads as absent (a null java_registry is not a legacy lease). */
static void test_metadata_null_values_roundtrip(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x =
        decode_one(&d, "{\"serviceId\":\"s\",\"metadata\":{\"k\":null,\"j\":\"v\","
                       "\"java_registry\":null,\"e\":\"\"}}");
    assert_int_equal(x->n_meta, 4);
    artemisi_instance_t *p = artemisi_instance_pack(x);
    assert_non_null(p);
    assert_int_equal(artemisi_instance_size(p), artemisi_instance_size(x));
    decoded_free(&d); /* the packed copy owns its strings */
    assert_int_equal(p->n_meta, 4);
    assert_string_equal(p->meta[0], "k");
    assert_null(p->meta[1]);
    assert_string_equal(p->meta[7], "");
    assert_null(artemisi_instance_meta(p, "k"));
    assert_null(artemisi_instance_meta(p, "java_registry"));
    assert_true(artemisi_blank(artemisi_instance_meta(p, "java_registry")));
    assert_string_equal(artemisi_instance_meta(p, "j"), "v");
    assert_string_equal(artemisi_instance_meta(p, "e"), "");
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, p), 0);
    assert_non_null(strstr(
        b.data, ",\"metadata\":{\"k\":null,\"j\":\"v\",\"java_registry\":null,\"e\":\"\"},"));
    /* and back: the encoding decodes to the same instance */
    artemisi_buf_t again = ARTEMISI_BUF_INIT;
    x = decode_one(&d, b.data);
    assert_int_equal(artemisi_encode_instance(&again, x), 0);
    assert_string_equal(again.data, b.data);
    decoded_free(&d);
    artemisi_buf_free(&again);
    artemisi_buf_free(&b);
    artemisi_instance_unref(p);
}

/* The metadata pool is shared by the list: each item must point at its own entries. */
static void test_metadata_pool_and_null_entries(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"instances\":[null,{\"serviceId\":\"a\",\"metadata\":{\"k1\":\"v1\","
        "\"k2\":\"v2\"}},null,{\"serviceId\":\"b\"},{\"serviceId\":\"c\","
        "\"metadata\":{\"k3\":\"v3\"}},null]}";
    struct decoded d;
    assert_int_equal(decode_doc(&d, doc, MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 3);
    assert_string_equal(ARTEMISI_INST(&d.list.items[0], SERVICE_ID), "a");
    assert_string_equal(ARTEMISI_INST(&d.list.items[1], SERVICE_ID), "b");
    assert_string_equal(ARTEMISI_INST(&d.list.items[2], SERVICE_ID), "c");
    assert_int_equal(d.list.items[0].n_meta, 2);
    assert_string_equal(d.list.items[0].meta[2], "k2");
    assert_string_equal(d.list.items[0].meta[3], "v2");
    assert_int_equal(d.list.items[1].n_meta, 0);
    assert_null(d.list.items[1].meta);
    assert_int_equal(d.list.items[2].n_meta, 1);
    assert_string_equal(d.list.items[2].meta[0], "k3");
    assert_string_equal(d.list.items[2].meta[1], "v3");
    decoded_free(&d);

    /* All null: an empty list. */
    assert_int_equal(decode_doc(&d, "{\"instances\":[null,null]}", MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 0);
    decoded_free(&d);
}

static void test_instances_shapes(void **state)
{
    (void)state;
    struct decoded d;
    /* Absent, null and [] are all an empty list. */
    assert_int_equal(decode_doc(&d, "{}", MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 0);
    assert_null(d.list.items);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":null}", MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 0);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":[]}", MAX_ITEMS, MAX_STR), 0);
    assert_int_equal(d.list.n, 0);
    decoded_free(&d);

    assert_int_equal(decode_doc(&d, "{\"instances\":{}}", MAX_ITEMS, MAX_STR), ARTEMISI_DECODE_BAD);
    assert_string_equal(d.err, "instances must be an array");
    assert_int_equal(d.list.n, 0);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":\"x\"}", MAX_ITEMS, MAX_STR),
                     ARTEMISI_DECODE_BAD);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":[{},1]}", MAX_ITEMS, MAX_STR),
                     ARTEMISI_DECODE_BAD);
    assert_string_equal(d.err, "instance is not a JSON object");
    assert_int_equal(d.list.n, 0);
    assert_null(d.list.items);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":[[]]}", MAX_ITEMS, MAX_STR),
                     ARTEMISI_DECODE_BAD);
    decoded_free(&d);
}

static void test_port(void **state)
{
    (void)state;
    struct decoded d;
    static const struct {
        const char *json;
        int32_t port;
    } ok[] = {
        {"{\"port\":8080}", 8080},
        {"{\"port\":\"8080\"}", 8080},
        {"{\"port\":null}", 0},
        {"{}", 0},
        {"{\"port\":0}", 0},
        {"{\"port\":-1}", -1},
        {"{\"port\":2147483647}", INT32_MAX},
        {"{\"port\":-2147483648}", INT32_MIN},
        {"{\"port\":\"-2147483648\"}", INT32_MIN},
        {"{\"PORT\":\"443\"}", 443},
        /* What Jackson binds to an int besides integers: floating-point numbers truncated
         * toward zero, "" and textual "null" as 0, numeric strings with surrounding blanks. */
        {"{\"port\":1.5}", 1},
        {"{\"port\":100.0}", 100},
        {"{\"port\":1000.0}", 1000},
        {"{\"port\":1e3}", 1000},
        {"{\"port\":-1.9}", -1},
        {"{\"port\":-0.5}", 0},
        {"{\"port\":2147483647.0}", INT32_MAX},
        {"{\"port\":-2147483648.0}", INT32_MIN},
        {"{\"port\":\"\"}", 0},
        {"{\"port\":\"  \"}", 0},
        {"{\"port\":\"null\"}", 0},
        {"{\"port\":\" 80 \"}", 80},
        {"{\"port\":\"+80\"}", 80},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const artemisi_instance_t *x = decode_one(&d, ok[i].json);
        assert_int_equal(x->port, ok[i].port);
        decoded_free(&d);
    }

    char err[256];
    assert_int_equal(decode_rc("{\"port\":2147483648}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.port is out of range");
    assert_int_equal(decode_rc("{\"port\":-2147483649}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"2147483648\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":9223372036854775807}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"99999999999999999999\"}", NULL, 0),
                     ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"80x\"}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.port must be an integer");
    assert_int_equal(decode_rc("{\"port\":true}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.port must be an integer");
    assert_int_equal(decode_rc("{\"port\":false}", NULL, 0), ARTEMISI_DECODE_BAD);
    /* A float out of int range is Jackson's overflow error (it checks before truncating). */
    assert_int_equal(decode_rc("{\"port\":2147483647.5}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.port is out of range");
    assert_int_equal(decode_rc("{\"port\":-2147483648.5}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":1e300}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":-1e300}", NULL, 0), ARTEMISI_DECODE_BAD);
    /* Strings are parsed as integers only, as Integer.parseInt does. */
    assert_int_equal(decode_rc("{\"port\":\"1.5\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"8 0\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"+\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"-\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"+-1\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"0x10\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":\"Null\"}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":[]}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"port\":{}}", NULL, 0), ARTEMISI_DECODE_BAD);
}

static void test_string_wrong_types(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(decode_rc("{\"serviceId\":123}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.serviceId must be a string");
    assert_int_equal(decode_rc("{\"url\":true}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.url must be a string");
    assert_int_equal(decode_rc("{\"ZONEID\":{}}", err, sizeof(err)), ARTEMISI_DECODE_BAD);
    assert_string_equal(err, "instance.zoneId must be a string");
    assert_int_equal(decode_rc("{\"groupId\":[]}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"status\":1.5}", NULL, 0), ARTEMISI_DECODE_BAD);
    assert_int_equal(decode_rc("{\"serviceId\":\"\"}", NULL, 0), ARTEMISI_DECODE_OK);
}

static void test_duplicate_names_last_wins(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x =
        decode_one(&d, "{\"serviceId\":\"a\",\"SERVICEID\":\"b\",\"port\":1,\"Port\":2}");
    assert_string_equal(ARTEMISI_INST(x, SERVICE_ID), "b");
    assert_int_equal(x->port, 2);
    decoded_free(&d);
}

static void test_too_many(void **state)
{
    (void)state;
    struct decoded d;
    static const char three[] = "{\"instances\":[{},{},{}]}";
    assert_int_equal(decode_doc(&d, three, 3, MAX_STR), ARTEMISI_DECODE_OK);
    assert_int_equal(d.list.n, 3);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, three, 2, MAX_STR), ARTEMISI_DECODE_TOO_MANY);
    assert_int_equal(d.list.n, 0);
    assert_null(d.list.items);
    assert_non_null(strstr(d.err, "limit of 2"));
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":[{}]}", 0, MAX_STR), ARTEMISI_DECODE_TOO_MANY);
    decoded_free(&d);
}

static void test_too_long(void **state)
{
    (void)state;
    struct decoded d;
    assert_int_equal(decode_doc(&d, "{\"instances\":[{\"serviceId\":\"abcd\"}]}", MAX_ITEMS, 4),
                     ARTEMISI_DECODE_OK);
    decoded_free(&d);
    assert_int_equal(decode_doc(&d, "{\"instances\":[{\"serviceId\":\"abcde\"}]}", MAX_ITEMS, 4),
                     ARTEMISI_DECODE_TOO_LONG);
    assert_string_equal(d.err, "instance.serviceId is longer than 4 bytes");
    decoded_free(&d);
    /* Bytes, not characters: "é" is two bytes. */
    assert_int_equal(
        decode_doc(&d, "{\"instances\":[{\"ip\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}]}", MAX_ITEMS, 5),
        ARTEMISI_DECODE_TOO_LONG);
    decoded_free(&d);
    assert_int_equal(
        decode_doc(&d, "{\"instances\":[{\"metadata\":{\"abcde\":\"v\"}}]}", MAX_ITEMS, 4),
        ARTEMISI_DECODE_TOO_LONG);
    decoded_free(&d);
    assert_int_equal(
        decode_doc(&d, "{\"instances\":[{\"metadata\":{\"k\":\"abcde\"}}]}", MAX_ITEMS, 4),
        ARTEMISI_DECODE_TOO_LONG);
    decoded_free(&d);
    /* The limit applies to the second item too. */
    assert_int_equal(decode_doc(&d, "{\"instances\":[{},{\"url\":\"abcde\"}]}", MAX_ITEMS, 4),
                     ARTEMISI_DECODE_TOO_LONG);
    assert_int_equal(d.list.n, 0);
    decoded_free(&d);
}

/* ---- encoding ------------------------------------------------------------------------------ */

static void assert_str_encodes(const char *s, size_t n, const char *expect)
{
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_json_strn(&b, s, n), 0);
    assert_string_equal(b.data, expect);
    assert_int_equal(b.len, strlen(expect));
    /* Whatever went in, the output is one valid JSON string. */
    artemisi_buf_t doc = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&doc, "[%s]", b.data), 0);
    json_error_t jerr;
    json_t *v = json_loadb(doc.data, doc.len, JSON_ALLOW_NUL, &jerr);
    assert_non_null(v);
    assert_true(json_is_string(json_array_get(v, 0)));
    json_decref(v);
    artemisi_buf_free(&doc);
    artemisi_buf_free(&b);
}

static void test_escaping(void **state)
{
    (void)state;
    static const char in[] = "a\"b\\c/d\n\r\t\b\f\x01\x1f\x7f";
    assert_str_encodes(in, strlen(in), "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
    assert_str_encodes("", 0, "\"\"");
    /* Embedded NUL through the length-taking variant. */
    assert_str_encodes("a\0b", 3, "\"a\\u0000b\"");
    /* UTF-8 passes through untouched (2, 3 and 4-byte sequences, edges of the ranges). */
    static const char utf8[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e \xc2\x80 \xed\x9f\xbf "
                               "\xee\x80\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf \xe0\xa0\x80 "
                               "\xf0\x90\x80\x80";
    artemisi_buf_t expect = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&expect, "\"%s\"", utf8), 0);
    assert_str_encodes(utf8, strlen(utf8), expect.data);
    artemisi_buf_free(&expect);

    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_json_str(&b, NULL), 0);
    assert_int_equal(artemisi_buf_appendc(&b, ','), 0);
    assert_int_equal(artemisi_json_str(&b, "x\ty"), 0);
    assert_string_equal(b.data, "null,\"x\\ty\"");
    artemisi_buf_free(&b);
}

/* Ill-formed UTF-8 (possible in drafts not built from JSON, e.g. from a URL) becomes U+FFFD
 * per bad byte so the output stays valid JSON. */
static void test_escaping_invalid_utf8(void **state)
{
    (void)state;
#define FFFD "\xef\xbf\xbd"
    assert_str_encodes("a\xff"
                       "b",
                       3, "\"a" FFFD "b\"");
    assert_str_encodes("\x80", 1, "\"" FFFD "\"");                   /* lone continuation */
    assert_str_encodes("\xc0\xaf", 2, "\"" FFFD FFFD "\"");          /* overlong '/' */
    assert_str_encodes("\xc1\xbf", 2, "\"" FFFD FFFD "\"");          /* overlong */
    assert_str_encodes("\xe0\x80\x80", 3, "\"" FFFD FFFD FFFD "\""); /* overlong 3-byte */
    assert_str_encodes("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""); /* surrogate D800 */
    assert_str_encodes("\xf0\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"");
    assert_str_encodes("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    assert_str_encodes("\xf5\x80", 2, "\"" FFFD FFFD "\"");
    assert_str_encodes("x\xe2\x82", 3, "\"x" FFFD FFFD "\""); /* truncated at the end */
    assert_str_encodes("\xe2\x82"
                       "a",
                       3, "\"" FFFD FFFD "a\"");
    assert_str_encodes("\xc3\xa9\xc3", 3, "\"\xc3\xa9" FFFD "\"");
#undef FFFD
}

/* Escaped input survives decode -> encode -> parse unchanged. */
static void test_escaping_roundtrip(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x =
        decode_one(&d, "{\"serviceId\":\"q\\\"b\\\\s\\u0001\\n\\u00e9\\ud834\\udd1e\","
                       "\"metadata\":{\"k\\\"\":\"v\\\\\"}}");
    assert_string_equal(ARTEMISI_INST(x, SERVICE_ID), "q\"b\\s\x01\n\xc3\xa9\xf0\x9d\x84\x9e");
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, x), 0);
    assert_non_null(
        strstr(b.data, "\"serviceId\":\"q\\\"b\\\\s\\u0001\\n\xc3\xa9\xf0\x9d\x84\x9e\""));
    assert_non_null(strstr(b.data, "\"metadata\":{\"k\\\"\":\"v\\\\\"}"));
    json_t *again = artemisi_json_parse(b.data, b.len, NULL, 0);
    assert_non_null(again);
    assert_string_equal(json_string_value(json_object_get(again, "serviceId")),
                        ARTEMISI_INST(x, SERVICE_ID));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(again, "metadata"), "k\"")), "v\\");
    json_decref(again);
    artemisi_buf_free(&b);
    decoded_free(&d);
}

static void test_encode_draft_null_meta_key(void **state)
{
    (void)state;
    const char *meta[] = {NULL, "v", "k", NULL};
    artemisi_instance_t x;
    memset(&x, 0, sizeof(x));
    x.meta = meta;
    x.n_meta = 2;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_instance(&b, &x), 0);
    assert_non_null(strstr(b.data, ",\"metadata\":{\"\":\"v\",\"k\":null},"));
    json_t *v = artemisi_json_parse(b.data, b.len, NULL, 0);
    assert_non_null(v);
    json_decref(v);
    artemisi_buf_free(&b);
}

static void test_encode_status(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_status(&b, "success", "", "success"), 0);
    assert_string_equal(b.data,
                        "{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"}");
    artemisi_buf_reset(&b);
    assert_int_equal(
        artemisi_encode_status(&b, "bad-request", "request.instances is null or empty.", "fail"),
        0);
    assert_string_equal(b.data, "{\"errorCode\":\"bad-request\",\"message\":\"request.instances "
                                "is null or empty.\",\"status\":\"fail\"}");
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_encode_status(&b, NULL, NULL, NULL), 0);
    assert_string_equal(b.data, "{\"errorCode\":null,\"message\":null,\"status\":null}");
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_encode_status(&b, "x", "say \"hi\"\n", "fail"), 0);
    assert_string_equal(
        b.data, "{\"errorCode\":\"x\",\"message\":\"say \\\"hi\\\"\\n\",\"status\":\"fail\"}");
    artemisi_buf_free(&b);
}

static void test_encode_change(void **state)
{
    (void)state;
    struct decoded d;
    const artemisi_instance_t *x = decode_one(&d, F1_INSTANCE);
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_encode_change(&b, "new", INT64_C(1700000000123), x), 0);
    artemisi_buf_t expect = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&expect,
                                          "{\"changeTime\":1700000000123,\"changeType\":\"new\","
                                          "\"instance\":%s}",
                                          F1_INSTANCE),
                     0);
    assert_string_equal(b.data, expect.data);
    decoded_free(&d);

    /* The fake "reload" instance of protocol.md §1.6. */
    artemisi_instance_t r;
    memset(&r, 0, sizeof(r));
    r.meta_null = 1;
    ARTEMISI_INST(&r, SERVICE_ID) = "demo.service.v1";
    ARTEMISI_INST(&r, INSTANCE_ID) = "reload";
    ARTEMISI_INST(&r, IP) = "0.0.0.0";
    ARTEMISI_INST(&r, URL) = "http://serviceId/reload";
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_encode_change(&b, "reload", 0, &r), 0);
    assert_string_equal(b.data,
                        "{\"changeTime\":0,\"changeType\":\"reload\",\"instance\":{"
                        "\"groupId\":null,\"healthCheckUrl\":null,\"instanceId\":\"reload\","
                        "\"ip\":\"0.0.0.0\",\"machineName\":null,\"metadata\":null,\"port\":"
                        "0,\"protocol\":null,\"regionId\":null,\"serviceId\":\"demo.service."
                        "v1\",\"status\":null,\"url\":\"http://serviceId/reload\",\"zoneId\":"
                        "null}}");
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_encode_change(&b, "delete", INT64_MIN, &r), 0);
    assert_non_null(
        strstr(b.data, "{\"changeTime\":-9223372036854775808,\"changeType\":\"delete\""));
    artemisi_buf_free(&expect);
    artemisi_buf_free(&b);
}

/* ---- parse errors ------------------------------------------------------------------------- */

static void assert_parse_fails(const char *data, size_t len)
{
    char err[256] = "";
    json_t *v = artemisi_json_parse(data, len, err, sizeof(err));
    assert_null(v);
    assert_true(strncmp(err, "malformed JSON", 14) == 0);
    /* err is optional. */
    assert_null(artemisi_json_parse(data, len, NULL, 0));
}

static void test_parse_errors(void **state)
{
    (void)state;
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_appendf(&body, "{\"instances\":[%s]}", F1_INSTANCE), 0);
    /* Every strict prefix of the document is truncated JSON. */
    for (size_t n = 0; n < body.len; n++)
        assert_parse_fails(body.data, n);
    json_t *v = artemisi_json_parse(body.data, body.len, NULL, 0);
    assert_non_null(v);
    json_decref(v);
    artemisi_buf_free(&body);

    static const char *bad[] = {
        "",
        "   ",
        "{\"a\":\"\xff\"}",         /* invalid UTF-8 */
        "{\"a\":\"\xc0\xaf\"}",     /* overlong */
        "{\"a\":\"\xed\xa0\x80\"}", /* surrogate */
        "{\"\xfe\":1}",             /* invalid UTF-8 in a key */
        "{\"a\":\"\\u0000\"}",      /* NUL inside a string */
        "{\"a\":\"\\ud800\"}",      /* lone surrogate escape */
        "{\"a\":\"x\ty\"}",         /* raw control character */
        "{\"a\":1}x",               /* trailing garbage */
        "{\"a\":1,}",               /* trailing comma */
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":123456789012345678901234567890}", /* integer too big */
        "{\"a\":NaN}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_parse_fails(bad[i], strlen(bad[i]));
    /* A NUL byte in the input buffer. */
    assert_parse_fails("{\"a\":\"b\0\"}", 10);
    assert_parse_fails("{\"a\":1}\0", 8);
}

static void test_parse_deep_nesting(void **state)
{
    (void)state;
    const size_t depth = 100000;
    char *s = malloc(2 * depth + 1);
    assert_non_null(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    assert_parse_fails(s, 2 * depth);
    assert_parse_fails(s, depth); /* unclosed */
    free(s);

    /* Objects: {"a":{"a":...}} */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(artemisi_buf_appends(&b, "{\"a\":"), 0);
    assert_int_equal(artemisi_buf_appends(&b, "1"), 0);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(artemisi_buf_appendc(&b, '}'), 0);
    assert_parse_fails(b.data, b.len);

    /* Moderate nesting under the parser's limit still works. */
    artemisi_buf_reset(&b);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(artemisi_buf_appendc(&b, '['), 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(artemisi_buf_appendc(&b, ']'), 0);
    json_t *v = artemisi_json_parse(b.data, b.len, NULL, 0);
    assert_non_null(v);
    json_decref(v);
    artemisi_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f1_roundtrip),
        cmocka_unit_test(test_f1_whole_body),
        cmocka_unit_test(test_f3_two_instances),
        cmocka_unit_test(test_f4_url_null),
        cmocka_unit_test(test_absent_fields_encode_null),
        cmocka_unit_test(test_case_insensitive_and_unknown),
        cmocka_unit_test(test_json_get),
        cmocka_unit_test(test_json_bind),
        cmocka_unit_test(test_json_bind_number_text),
        cmocka_unit_test(test_metadata_forms),
        cmocka_unit_test(test_metadata_null_values_roundtrip),
        cmocka_unit_test(test_metadata_pool_and_null_entries),
        cmocka_unit_test(test_instances_shapes),
        cmocka_unit_test(test_port),
        cmocka_unit_test(test_string_wrong_types),
        cmocka_unit_test(test_duplicate_names_last_wins),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_escaping_invalid_utf8),
        cmocka_unit_test(test_escaping_roundtrip),
        cmocka_unit_test(test_encode_draft_null_meta_key),
        cmocka_unit_test(test_encode_status),
        cmocka_unit_test(test_encode_change),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_deep_nesting),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
