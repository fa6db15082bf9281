/*
 * Unit tests for server/changelog: sequence numbers, the bounded ring wrapping around,
 * oldest / covers / get at the edges, and reference counting of the packed instances the
 * entries hold (checked through refs here, and for leaks by the ASan build).
 */
#include "test.h"

#include "changelog.h"
#include "model.h"

static artemisi_instance_t *make_inst(const char *id)
{
    artemisi_instance_t d;
    memset(&d, 0, sizeof(d));
    ARTEMISI_INST(&d, REGION_ID) = "r";
    ARTEMISI_INST(&d, SERVICE_ID) = "svc";
    ARTEMISI_INST(&d, INSTANCE_ID) = id;
    ARTEMISI_INST(&d, URL) = "http://x/";
    d.meta_null = 1;
    artemisi_instance_t *p = artemisi_instance_pack(&d);
    assert_non_null(p);
    return p;
}

static void test_empty(void **state)
{
    (void)state;
    srv_changelog_t cl;
    assert_int_equal(srv_changelog_init(&cl, 4), 0);
    assert_int_equal(cl.head, 0);
    assert_int_equal(srv_changelog_oldest(&cl), 1);
    assert_null(srv_changelog_get(&cl, 0));
    assert_null(srv_changelog_get(&cl, 1));
    assert_true(srv_changelog_covers(&cl, 0));
    assert_false(srv_changelog_covers(&cl, 1));
    srv_changelog_free(&cl);
}

static void test_append_and_get(void **state)
{
    (void)state;
    srv_changelog_t cl;
    assert_int_equal(srv_changelog_init(&cl, 8), 0);
    artemisi_instance_t *a = make_inst("a");
    artemisi_instance_t *b = make_inst("b");
    assert_int_equal(srv_changelog_append(&cl, SRV_CHANGE_NEW, a, 100), 1);
    assert_int_equal(srv_changelog_append(&cl, SRV_CHANGE_DELETE, b, 200), 2);
    assert_int_equal(srv_changelog_append(&cl, SRV_CHANGE_RELOAD, a, 300), 3);
    assert_int_equal(a->refs, 3);
    assert_int_equal(b->refs, 2);
    assert_int_equal(srv_changelog_oldest(&cl), 1);
    const srv_change_t *c = srv_changelog_get(&cl, 2);
    assert_non_null(c);
    assert_int_equal(c->seq, 2);
    assert_int_equal(c->type, SRV_CHANGE_DELETE);
    assert_int_equal(c->time_ms, 200);
    assert_ptr_equal(c->inst, b);
    assert_int_equal(srv_changelog_get(&cl, 1)->type, SRV_CHANGE_NEW);
    assert_int_equal(srv_changelog_get(&cl, 3)->type, SRV_CHANGE_RELOAD);
    assert_null(srv_changelog_get(&cl, 4));
    assert_null(srv_changelog_get(&cl, 0));
    for (uint64_t s = 0; s <= 3; s++)
        assert_true(srv_changelog_covers(&cl, s));
    assert_false(srv_changelog_covers(&cl, 4));

    /* The caller may drop its own references: the log keeps the bodies alive. */
    artemisi_instance_unref(a);
    artemisi_instance_unref(b);
    assert_string_equal(ARTEMISI_INST(srv_changelog_get(&cl, 2)->inst, INSTANCE_ID), "b");
    srv_changelog_free(&cl); /* releases the last references (ASan reports a leak if not) */
}

static void test_wrap_around(void **state)
{
    (void)state;
    enum { CAP = 5, TOTAL = 23 };
    srv_changelog_t cl;
    assert_int_equal(srv_changelog_init(&cl, CAP), 0);
    artemisi_instance_t *inst[TOTAL];
    for (int i = 0; i < TOTAL; i++) {
        char id[16];
        snprintf(id, sizeof(id), "i%d", i);
        inst[i] = make_inst(id);
        uint64_t seq = srv_changelog_append(&cl, (srv_change_type_t)(i % 2), inst[i], i * 10);
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_int_equal(cl.head, seq);
        assert_int_equal(cl.count, (size_t)(i + 1 < CAP ? i + 1 : CAP));
        uint64_t oldest = seq > CAP ? seq - CAP + 1 : 1;
        assert_int_equal(srv_changelog_oldest(&cl), oldest);
        /* Everything held is retrievable and correct; everything else is not. */
        for (uint64_t s = 0; s <= seq + 2; s++) {
            const srv_change_t *c = srv_changelog_get(&cl, s);
            if (s >= oldest && s <= seq && s != 0) {
                assert_non_null(c);
                assert_int_equal(c->seq, s);
                assert_ptr_equal(c->inst, inst[s - 1]);
                assert_int_equal(c->time_ms, (int64_t)(s - 1) * 10);
            } else {
                assert_null(c);
            }
            /* A delta from s needs s+1..seq, i.e. s+1 >= oldest. */
            assert_int_equal(srv_changelog_covers(&cl, s) != 0, s + 1 >= oldest && s <= seq);
        }
    }
    /* Fallen-off instances are released; held ones have the log's reference. */
    for (int i = 0; i < TOTAL; i++)
        assert_int_equal(inst[i]->refs, i >= TOTAL - CAP ? 2u : 1u);
    for (int i = 0; i < TOTAL; i++)
        artemisi_instance_unref(inst[i]);
    srv_changelog_free(&cl);
}

static void test_capacity_one_and_zero(void **state)
{
    (void)state;
    for (size_t cap = 0; cap <= 1; cap++) {
        srv_changelog_t cl;
        assert_int_equal(srv_changelog_init(&cl, cap), 0);
        artemisi_instance_t *a = make_inst("a");
        srv_changelog_append(&cl, SRV_CHANGE_NEW, a, 1);
        srv_changelog_append(&cl, SRV_CHANGE_DELETE, a, 2);
        assert_int_equal(a->refs, 2);
        assert_int_equal(srv_changelog_oldest(&cl), 2);
        assert_null(srv_changelog_get(&cl, 1));
        assert_int_equal(srv_changelog_get(&cl, 2)->type, SRV_CHANGE_DELETE);
        assert_false(srv_changelog_covers(&cl, 0));
        assert_true(srv_changelog_covers(&cl, 1));
        assert_true(srv_changelog_covers(&cl, 2));
        artemisi_instance_unref(a);
        srv_changelog_free(&cl);
    }
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(srv_change_type_name(SRV_CHANGE_NEW), "new");
    assert_string_equal(srv_change_type_name(SRV_CHANGE_DELETE), "delete");
    assert_string_equal(srv_change_type_name(SRV_CHANGE_RELOAD), "reload");
    assert_string_equal(srv_change_type_name((srv_change_type_t)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_append_and_get),
        cmocka_unit_test(test_wrap_around), cmocka_unit_test(test_capacity_one_and_zero),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests_name("changelog", tests, NULL, NULL);
}
