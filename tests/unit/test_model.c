/*
 * Unit tests for sdk/common/model: packing and reference counting of instances (with a caller's
 * prefix and strings borrowed from a donor), memory accounting, metadata lookup, InstanceKey and
 * Instance.toString() (protocol.md §1.2). Leaks and overruns are left to the ASan build to catch.
 */
#include "test.h"

#include "model.h"

static artemisi_instance_t sample_draft(const char **meta, uint32_t n_meta)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "SHA";
    ARTEMISI_INST(&d, ZONE_ID) = "SHA-Z1";
    ARTEMISI_INST(&d, SERVICE_ID) = "Demo.Service.V1";
    ARTEMISI_INST(&d, INSTANCE_ID) = "10.0.0.5:8080";
    ARTEMISI_INST(&d, URL) = "http://10.0.0.5:8080/demo";
    d.port = 8080;
    d.meta = meta;
    d.n_meta = n_meta;
    d.meta_null = meta == NULL;
    return d;
}

static void test_pack_copies_everything(void **state)
{
    (void)state;
    char region[] = "sha";
    char key[] = "env";
    char val[] = "prod";
    const char *meta[] = {key, val};
    artemisi_instance_t d = sample_draft(meta, 1);
    ARTEMISI_INST(&d, REGION_ID) = region;
    d.port = -5;

    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    /* Scribble over the sources: the packed copy must not borrow them. */
    region[0] = 'X';
    key[0] = 'X';
    val[0] = 'X';

    assert_int_equal(p->packed, 1);
    assert_int_equal(p->refs, 1);
    assert_string_equal(ARTEMISI_INST(p, REGION_ID), "sha");
    assert_string_equal(ARTEMISI_INST(p, SERVICE_ID), "Demo.Service.V1");
    assert_string_equal(ARTEMISI_INST(p, URL), "http://10.0.0.5:8080/demo");
    assert_null(ARTEMISI_INST(p, GROUP_ID));
    assert_null(ARTEMISI_INST(p, STATUS));
    assert_int_equal(p->port, -5);
    assert_int_equal(p->n_meta, 1);
    assert_int_equal(p->meta_null, 0);
    assert_string_equal(p->meta[0], "env");
    assert_string_equal(p->meta[1], "prod");
    assert_ptr_not_equal(p->meta, meta);
    artemisi_instance_unref(p);
}

static void test_pack_metadata_null_vs_empty(void **state)
{
    (void)state;
    artemisi_instance_t d = sample_draft(NULL, 0);
    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    assert_int_equal(p->meta_null, 1);
    assert_null(p->meta);
    assert_int_equal(p->n_meta, 0);
    artemisi_instance_unref(p);

    d.meta_null = 0; /* metadata {} */
    p = artemisi_instance_pack(&d);
    assert_non_null(p);
    assert_int_equal(p->meta_null, 0);
    assert_null(p->meta);
    assert_int_equal(p->n_meta, 0);
    artemisi_instance_unref(p);
}

/* Regression: a NULL metadata key in a draft is packed as "" and must be allocated for (the
 * allocation used to count it as 0 bytes and the copy overran it). A NULL value is JSON null
 * (Java keeps {"k":null}) and stays NULL, distinct from "". */
static void test_pack_null_metadata_strings(void **state)
{
    (void)state;
    const char *meta[] = {"a", NULL, NULL, "b", NULL, NULL, "e", ""};
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    d.meta = meta;
    d.n_meta = 4;
    size_t expect =
        sizeof(artemisi_instance_t) + 8 * sizeof(char *) + 2 + 0 + 1 + 2 + 1 + 0 + 2 + 1;
    assert_int_equal(artemisi_instance_size(&d), expect);
    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    assert_string_equal(p->meta[0], "a");
    assert_null(p->meta[1]);
    assert_string_equal(p->meta[2], "");
    assert_string_equal(p->meta[3], "b");
    assert_string_equal(p->meta[4], "");
    assert_null(p->meta[5]);
    assert_string_equal(p->meta[6], "e");
    assert_string_equal(p->meta[7], "");
    assert_int_equal(artemisi_instance_size(p), expect);
    /* packing a packed instance keeps the nulls too */
    artemisi_instance_t *q = artemisi_instance_pack(p);
    assert_non_null(q);
    assert_null(q->meta[1]);
    assert_null(q->meta[5]);
    assert_string_equal(q->meta[7], "");
    assert_int_equal(artemisi_instance_size(q), expect);
    artemisi_instance_unref(q);
    artemisi_instance_unref(p);
}

static void test_pack_of_packed_and_empty(void **state)
{
    (void)state;
    artemisi_instance_t empty;
    memset(&empty, 0, sizeof(empty));
    artemisi_instance_t *p = artemisi_instance_pack(&empty);
    assert_non_null(p);
    for (int i = 0; i < ARTEMISI_F_COUNT; i++)
        assert_null(p->f[i]);
    assert_int_equal(artemisi_instance_size(p), sizeof(artemisi_instance_t));

    const char *meta[] = {"k", "v"};
    artemisi_instance_t d = sample_draft(meta, 1);
    artemisi_instance_t *a = artemisi_instance_pack(&d);
    artemisi_instance_ref(a);
    artemisi_instance_t *b = artemisi_instance_pack(a); /* a copy, not a reference */
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(b->refs, 1);
    assert_string_equal(ARTEMISI_INST(b, INSTANCE_ID), "10.0.0.5:8080");
    assert_string_equal(b->meta[1], "v");
    assert_int_equal(artemisi_instance_size(a), artemisi_instance_size(b));
    artemisi_instance_unref(a);
    artemisi_instance_unref(a);
    artemisi_instance_unref(b);
    artemisi_instance_unref(p);
}

static void test_ref_unref(void **state)
{
    (void)state;
    artemisi_instance_t d = sample_draft(NULL, 0);
    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    assert_ptr_equal(artemisi_instance_ref(p), p);
    assert_ptr_equal(artemisi_instance_ref(p), p);
    assert_int_equal(p->refs, 3);
    artemisi_instance_unref(p);
    artemisi_instance_unref(p);
    assert_int_equal(p->refs, 1);
    assert_string_equal(ARTEMISI_INST(p, SERVICE_ID), "Demo.Service.V1");
    artemisi_instance_unref(p); /* freed here: ASan reports a leak otherwise */

    /* NULL and drafts are ignored. */
    assert_null(artemisi_instance_ref(NULL));
    artemisi_instance_unref(NULL);
    assert_ptr_equal(artemisi_instance_ref(&d), &d);
    assert_int_equal(d.refs, 0);
    artemisi_instance_unref(&d);
    assert_int_equal(d.refs, 0);
}

/* The caller's bytes in front of the struct: writable, counted, freed with the instance. */
static void test_pack_ex_prefix(void **state)
{
    (void)state;
    const char *meta[] = {"env", "prod"};
    artemisi_instance_t d = sample_draft(meta, 1);
    artemisi_instance_t *p = artemisi_instance_pack_ex(&d, 24, NULL);
    assert_non_null(p);
    char *pre = artemisi_instance_prefix(p);
    assert_ptr_equal(pre + 24, (char *)p);
    memset(pre, 0xab, 24); /* in bounds (ASan) */
    assert_int_equal(p->packed, 1);
    assert_int_equal(artemisi_instance_size(p), artemisi_instance_size(&d) + 24);
    assert_string_equal(ARTEMISI_INST(p, URL), "http://10.0.0.5:8080/demo");
    artemisi_instance_unref(p);
    /* The struct behind the prefix must stay aligned. */
    assert_null(artemisi_instance_pack_ex(&d, 12, NULL));
    p = artemisi_instance_pack(&d);
    assert_ptr_equal(artemisi_instance_prefix(p), (void *)p);
    artemisi_instance_unref(p);
}

/* Strings equal to a donor's are borrowed, not copied; the borrower keeps the donor alive, always
 * the first owner (no chains), and counts only its own bytes. */
static void test_pack_ex_donor(void **state)
{
    (void)state;
    const char *meta_a[] = {"env", "prod", "java_registry", "x"};
    const char *meta_b[] = {"env", "prod", "java_registry", "y", "extra", NULL};
    artemisi_instance_t da = sample_draft(meta_a, 2);
    artemisi_instance_t db = sample_draft(meta_b, 3);
    ARTEMISI_INST(&db, INSTANCE_ID) = "10.0.0.6:8080";
    ARTEMISI_INST(&db, URL) = "http://10.0.0.6:8080/demo";
    artemisi_instance_t *a = artemisi_instance_pack_ex(&da, 8, NULL);
    assert_non_null(a);
    artemisi_instance_t *b = artemisi_instance_pack_ex(&db, 8, a);
    assert_non_null(b);
    assert_int_equal(b->packed, 2);
    assert_int_equal(a->refs, 2);
    assert_ptr_equal(ARTEMISI_INST(b, SERVICE_ID), ARTEMISI_INST(a, SERVICE_ID));
    assert_ptr_equal(ARTEMISI_INST(b, REGION_ID), ARTEMISI_INST(a, REGION_ID));
    assert_ptr_equal(ARTEMISI_INST(b, ZONE_ID), ARTEMISI_INST(a, ZONE_ID));
    assert_ptr_equal(b->meta[0], a->meta[0]);
    assert_ptr_equal(b->meta[2], a->meta[2]);
    assert_string_equal(ARTEMISI_INST(b, INSTANCE_ID), "10.0.0.6:8080");
    assert_string_equal(b->meta[3], "y");
    assert_string_equal(b->meta[4], "extra");
    assert_null(b->meta[5]);
    assert_null(ARTEMISI_INST(b, GROUP_ID));
    assert_int_equal(b->port, 8080);
    size_t own = sizeof(artemisi_instance_t) + 6 * sizeof(char *) + 8 + sizeof(void *) +
                 sizeof("10.0.0.6:8080") + sizeof("http://10.0.0.6:8080/demo") + sizeof("y") +
                 sizeof("extra");
    assert_int_equal(artemisi_instance_size(b), own);
    /* A borrower as donor lends its donor's strings: c pins a, not b. */
    artemisi_instance_t *c = artemisi_instance_pack_ex(&db, 0, b);
    assert_non_null(c);
    assert_int_equal(a->refs, 3);
    assert_int_equal(b->refs, 1);
    assert_ptr_equal(ARTEMISI_INST(c, SERVICE_ID), ARTEMISI_INST(a, SERVICE_ID));
    assert_ptr_not_equal(ARTEMISI_INST(c, INSTANCE_ID), ARTEMISI_INST(b, INSTANCE_ID));
    /* The donor's owner lets go first: its strings live on for the borrowers. */
    artemisi_instance_unref(a);
    assert_string_equal(ARTEMISI_INST(b, SERVICE_ID), "Demo.Service.V1");
    artemisi_instance_unref(b);
    assert_string_equal(ARTEMISI_INST(c, ZONE_ID), "SHA-Z1");
    artemisi_instance_unref(c); /* frees a too: LeakSanitizer reports it otherwise */

    /* Not worth a pointer (8 bytes) for 3 shared bytes ("up"): copied, no reference taken. */
    artemisi_instance_t dx, dy;
    memset(&dx, 0, sizeof(dx));
    ARTEMISI_INST(&dx, STATUS) = "up";
    ARTEMISI_INST(&dx, INSTANCE_ID) = "x";
    dy = dx;
    ARTEMISI_INST(&dy, INSTANCE_ID) = "y";
    artemisi_instance_t *x = artemisi_instance_pack_ex(&dx, 0, NULL);
    artemisi_instance_t *y = artemisi_instance_pack_ex(&dy, 0, x);
    assert_int_equal(y->packed, 1);
    assert_int_equal(x->refs, 1);
    artemisi_instance_unref(y);
    /* A draft is no donor. */
    y = artemisi_instance_pack_ex(&da, 0, &da);
    assert_int_equal(y->packed, 1);
    assert_ptr_not_equal(ARTEMISI_INST(y, SERVICE_ID), ARTEMISI_INST(&da, SERVICE_ID));
    artemisi_instance_unref(y);
    artemisi_instance_unref(x);
}

static void test_size(void **state)
{
    (void)state;
    const char *meta[] = {"env", "prod", "java_registry", "x"};
    artemisi_instance_t d = sample_draft(meta, 2);
    size_t expect = sizeof(artemisi_instance_t) + 4 * sizeof(char *) + sizeof("SHA") +
                    sizeof("SHA-Z1") + sizeof("Demo.Service.V1") + sizeof("10.0.0.5:8080") +
                    sizeof("http://10.0.0.5:8080/demo") + sizeof("env") + sizeof("prod") +
                    sizeof("java_registry") + sizeof("x");
    assert_int_equal(artemisi_instance_size(&d), expect);
    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    assert_int_equal(artemisi_instance_size(p), expect);
    artemisi_instance_unref(p);
}

static void test_meta_lookup(void **state)
{
    (void)state;
    const char *meta[] = {"env", "prod", "java_registry", "yes"};
    artemisi_instance_t d = sample_draft(meta, 2);
    assert_string_equal(artemisi_instance_meta(&d, "env"), "prod");
    assert_string_equal(artemisi_instance_meta(&d, "java_registry"), "yes");
    assert_null(artemisi_instance_meta(&d, "ENV")); /* exact match only */
    assert_null(artemisi_instance_meta(&d, "missing"));
    artemisi_instance_t none = sample_draft(NULL, 0);
    assert_null(artemisi_instance_meta(&none, "env"));
    /* A null value reads as absent (a null java_registry is blank: not a legacy lease); a
     * draft's NULL key matches nothing. */
    const char *nulls[] = {"java_registry", NULL, NULL, "x", "env", ""};
    artemisi_instance_t n = sample_draft(nulls, 3);
    assert_null(artemisi_instance_meta(&n, "java_registry"));
    assert_true(artemisi_blank(artemisi_instance_meta(&n, "java_registry")));
    assert_null(artemisi_instance_meta(&n, ""));
    assert_string_equal(artemisi_instance_meta(&n, "env"), "");
}

static void test_instance_key(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_instance_t d = sample_draft(NULL, 0);
    assert_int_equal(artemisi_instance_key(&d, &b), 0);
    assert_string_equal(b.data, "3:sha15:demo.service.v113:10.0.0.5:8080");

    /* Appends; nulls render as "-" (not as the string "null", a valid id). */
    artemisi_instance_t n;
    memset(&n, 0, sizeof(n));
    assert_int_equal(artemisi_buf_appendc(&b, '|'), 0);
    assert_int_equal(artemisi_instance_key(&n, &b), 0);
    assert_string_equal(b.data, "3:sha15:demo.service.v113:10.0.0.5:8080|---");

    /* An empty id is "0:", not "-"; a length of three digits is written whole. */
    artemisi_buf_t e = ARTEMISI_BUF_INIT;
    char longid[124];
    memset(longid, 'X', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ARTEMISI_INST(&n, REGION_ID) = "";
    ARTEMISI_INST(&n, SERVICE_ID) = longid;
    assert_int_equal(artemisi_instance_key(&n, &e), 0);
    assert_int_equal(strncmp(e.data, "0:123:xxx", 9), 0);
    assert_int_equal(e.len, 2 + 4 + 123 + 1);
    artemisi_buf_free(&e);
    ARTEMISI_INST(&n, REGION_ID) = NULL;
    ARTEMISI_INST(&n, SERVICE_ID) = NULL;

    /* Case variants give the same key. */
    artemisi_buf_t b2 = ARTEMISI_BUF_INIT;
    ARTEMISI_INST(&n, REGION_ID) = "sha";
    ARTEMISI_INST(&n, SERVICE_ID) = "DEMO.service.V1";
    ARTEMISI_INST(&n, INSTANCE_ID) = "10.0.0.5:8080";
    ARTEMISI_INST(&n, ZONE_ID) = "other"; /* not part of the key */
    assert_int_equal(artemisi_instance_key(&n, &b2), 0);
    assert_string_equal(b2.data, "3:sha15:demo.service.v113:10.0.0.5:8080");

    /* Dots inside ids cannot make two identities one key. */
    artemisi_buf_t k1 = ARTEMISI_BUF_INIT, k2 = ARTEMISI_BUF_INIT;
    ARTEMISI_INST(&n, SERVICE_ID) = "kc.a.b";
    ARTEMISI_INST(&n, INSTANCE_ID) = "c";
    assert_int_equal(artemisi_instance_key(&n, &k1), 0);
    ARTEMISI_INST(&n, SERVICE_ID) = "kc.a";
    ARTEMISI_INST(&n, INSTANCE_ID) = "b.c";
    assert_int_equal(artemisi_instance_key(&n, &k2), 0);
    assert_string_not_equal(k1.data, k2.data);
    /* Nor can a null id and the string "null". */
    artemisi_buf_reset(&k1);
    artemisi_buf_reset(&k2);
    ARTEMISI_INST(&n, INSTANCE_ID) = NULL;
    assert_int_equal(artemisi_instance_key(&n, &k1), 0);
    ARTEMISI_INST(&n, INSTANCE_ID) = "null";
    assert_int_equal(artemisi_instance_key(&n, &k2), 0);
    assert_string_not_equal(k1.data, k2.data);
    artemisi_buf_free(&k1);
    artemisi_buf_free(&k2);
    artemisi_buf_free(&b);
    artemisi_buf_free(&b2);
}

static void test_describe(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_instance_t d = sample_draft(NULL, 0);
    assert_int_equal(artemisi_instance_describe(&d, &b), 0);
    assert_string_equal(b.data, "sha/sha-z1/demo.service.v1/10.0.0.5:8080");

    artemisi_buf_reset(&b);
    ARTEMISI_INST(&d, GROUP_ID) = "Canary";
    assert_int_equal(artemisi_instance_describe(&d, &b), 0);
    assert_string_equal(b.data, "sha/sha-z1/demo.service.v1/canary/10.0.0.5:8080");

    /* A blank groupId is left out. */
    artemisi_buf_reset(&b);
    ARTEMISI_INST(&d, GROUP_ID) = " \t";
    assert_int_equal(artemisi_instance_describe(&d, &b), 0);
    assert_string_equal(b.data, "sha/sha-z1/demo.service.v1/10.0.0.5:8080");

    artemisi_buf_reset(&b);
    ARTEMISI_INST(&d, GROUP_ID) = "";
    assert_int_equal(artemisi_instance_describe(&d, &b), 0);
    assert_string_equal(b.data, "sha/sha-z1/demo.service.v1/10.0.0.5:8080");

    /* Nulls print as "null". */
    artemisi_buf_reset(&b);
    artemisi_instance_t n;
    memset(&n, 0, sizeof(n));
    assert_int_equal(artemisi_instance_describe(&n, &b), 0);
    assert_string_equal(b.data, "null/null/null/null");
    artemisi_buf_free(&b);
}

static void test_blank_and_lower(void **state)
{
    (void)state;
    assert_true(artemisi_blank(NULL));
    assert_true(artemisi_blank(""));
    assert_true(artemisi_blank(" \t\r\n"));
    assert_false(artemisi_blank(" a "));
    assert_false(artemisi_blank("x"));

    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_buf_append_lower(&b, "AbC-Z_9"), 0);
    assert_int_equal(artemisi_buf_append_lower(&b, ""), 0);
    /* Non-ASCII bytes are left alone. */
    assert_int_equal(artemisi_buf_append_lower(&b, "\xc3\x84X"), 0);
    assert_string_equal(b.data, "abc-z_9\xc3\x84x");
    assert_int_equal(b.len, strlen("abc-z_9\xc3\x84x"));
    artemisi_buf_free(&b);
}

static void test_field_names(void **state)
{
    (void)state;
    /* The wire names are in alphabetical (Java String.compareTo) order. */
    for (int i = 1; i < ARTEMISI_F_COUNT; i++)
        assert_true(strcmp(artemisi_field_names[i - 1], artemisi_field_names[i]) < 0);
    assert_string_equal(artemisi_field_names[ARTEMISI_F_HEALTH_CHECK_URL], "healthCheckUrl");
    assert_string_equal(artemisi_field_names[ARTEMISI_F_ZONE_ID], "zoneId");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_copies_everything),
        cmocka_unit_test(test_pack_metadata_null_vs_empty),
        cmocka_unit_test(test_pack_null_metadata_strings),
        cmocka_unit_test(test_pack_of_packed_and_empty),
        cmocka_unit_test(test_ref_unref),
        cmocka_unit_test(test_pack_ex_prefix),
        cmocka_unit_test(test_pack_ex_donor),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_meta_lookup),
        cmocka_unit_test(test_instance_key),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_blank_and_lower),
        cmocka_unit_test(test_field_names),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
