/*
 * Unit tests for server/replicate (per-peer replication queue): coalescing rules, batching by
 * operation, blocking of a key while its write is in flight, re-queue at the head after a
 * transient failure, permanent drops, TTL expiry, the overflow bound and the batch body.
 */
#include "test.h"

#include "replicate.h"

static srv_repl_queue_t q;

static int setup(void **state)
{
    (void)state;
    srv_repl_init(&q, 100, 5000, 3000, 5000, 1, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    srv_repl_free(&q);
    return 0;
}

static void push(srv_repl_op_t op, const char *key, const char *json, int64_t now)
{
    assert_int_equal(srv_repl_push(&q, op, key, json, strlen(json), now), 0);
}

static void test_coalescing(void **state)
{
    (void)state;
    push(SRV_REPL_HEARTBEAT, "k1", "{\"v\":1}", 10);
    push(SRV_REPL_HEARTBEAT, "k1", "{\"v\":2}", 20);
    push(SRV_REPL_HEARTBEAT, "k2", "{\"v\":3}", 30);
    assert_int_equal(srv_repl_depth(&q), 2);
    assert_int_equal(q.stats.coalesced, 1);
    assert_int_equal(srv_repl_oldest(&q), 10); /* the older submit time is kept */
    /* register then heartbeat stays a register */
    push(SRV_REPL_REGISTER, "k3", "{\"r\":1}", 40);
    push(SRV_REPL_HEARTBEAT, "k3", "{\"h\":1}", 41);
    /* register then unregister becomes the unregister */
    push(SRV_REPL_REGISTER, "k4", "{\"r\":4}", 50);
    push(SRV_REPL_UNREGISTER, "k4", "{\"u\":4}", 51);
    assert_int_equal(srv_repl_depth(&q), 4);

    srv_repl_batch_t b = {0};
    assert_int_equal(srv_repl_take(&q, 100, 10, &b), 2); /* heartbeats k1, k2 */
    assert_int_equal(b.op, SRV_REPL_HEARTBEAT);
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    srv_repl_batch_body(&b, &body);
    assert_string_equal(body.data, "{\"instances\":[{\"v\":2},{\"v\":3}]}");
    srv_repl_batch_done(&q, &b, 1, 0, 100);
    srv_repl_batch_reset(&b);
    assert_int_equal(srv_repl_take(&q, 100, 10, &b), 1);
    assert_int_equal(b.op, SRV_REPL_REGISTER);
    assert_string_equal(b.tasks[0]->json, "{\"r\":1}");
    srv_repl_batch_done(&q, &b, 1, 0, 100);
    assert_int_equal(srv_repl_take(&q, 100, 10, &b), 1);
    assert_int_equal(b.op, SRV_REPL_UNREGISTER);
    assert_string_equal(b.tasks[0]->json, "{\"u\":4}");
    srv_repl_batch_done(&q, &b, 1, 0, 100);
    assert_int_equal(srv_repl_depth(&q), 0);
    assert_int_equal(q.n_inflight, 0);
    assert_int_equal(q.by_key.count, 0);
    artemisi_buf_free(&body);
    srv_repl_batch_free(&b);
}

static void test_inflight_blocks_key(void **state)
{
    (void)state;
    srv_repl_batch_t b = {0}, b2 = {0};
    push(SRV_REPL_REGISTER, "k", "{\"r\":1}", 0);
    assert_int_equal(srv_repl_take(&q, 1, 10, &b), 1);
    /* a newer write while the register is in flight waits */
    push(SRV_REPL_UNREGISTER, "k", "{\"u\":1}", 2);
    push(SRV_REPL_HEARTBEAT, "other", "{\"h\":1}", 3);
    assert_int_equal(srv_repl_depth(&q), 2);
    assert_int_equal(srv_repl_ready(&q, 10), 1);
    assert_int_equal(srv_repl_take(&q, 4, 10, &b2), 1);
    assert_string_equal(b2.tasks[0]->key, "other");
    srv_repl_batch_done(&q, &b2, 1, 0, 5);
    assert_int_equal(srv_repl_take(&q, 5, 10, &b2), 0); /* still blocked */
    /* the register fails transiently: superseded by the queued unregister, not re-queued */
    srv_repl_batch_done(&q, &b, 0, 0, 6);
    assert_int_equal(q.stats.requeued, 0);
    assert_int_equal(srv_repl_take(&q, 7, 10, &b2), 1);
    assert_int_equal(b2.op, SRV_REPL_UNREGISTER);
    srv_repl_batch_done(&q, &b2, 1, 0, 8);
    assert_int_equal(q.by_key.count, 0);

    /* failed register + queued heartbeat -> the heartbeat becomes a register */
    push(SRV_REPL_REGISTER, "m", "{\"r\":1}", 10);
    assert_int_equal(srv_repl_take(&q, 11, 10, &b), 1);
    push(SRV_REPL_HEARTBEAT, "m", "{\"h\":2}", 12);
    push(SRV_REPL_HEARTBEAT, "m", "{\"h\":3}", 13); /* coalesces into the blocked one */
    srv_repl_batch_done(&q, &b, 0, 0, 14);
    assert_int_equal(srv_repl_take(&q, 15, 10, &b), 1);
    assert_int_equal(b.op, SRV_REPL_REGISTER);
    assert_string_equal(b.tasks[0]->json, "{\"h\":3}");
    srv_repl_batch_done(&q, &b, 1, 0, 16);
    srv_repl_batch_free(&b);
    srv_repl_batch_free(&b2);
}

static void test_requeue_expiry_permanent(void **state)
{
    (void)state;
    srv_repl_batch_t b = {0};
    push(SRV_REPL_HEARTBEAT, "a", "{\"a\":1}", 0);
    push(SRV_REPL_HEARTBEAT, "b", "{\"b\":1}", 1);
    push(SRV_REPL_HEARTBEAT, "c", "{\"c\":1}", 2);
    assert_int_equal(srv_repl_take(&q, 10, 2, &b), 2);
    srv_repl_batch_done(&q, &b, 0, 0, 20); /* transient: back at the head, in order */
    assert_int_equal(q.stats.requeued, 2);
    assert_int_equal(srv_repl_depth(&q), 3);
    assert_int_equal(srv_repl_take(&q, 30, 3, &b), 3);
    assert_string_equal(b.tasks[0]->key, "a");
    assert_string_equal(b.tasks[1]->key, "b");
    assert_string_equal(b.tasks[2]->key, "c");
    /* one permanent failure, one expired, one delivered */
    srv_repl_done(&q, b.tasks[0], 0, 1, 40);
    b.tasks[0] = NULL;
    srv_repl_done(&q, b.tasks[1], 0, 0, 4000); /* heartbeat TTL 3000 passed */
    b.tasks[1] = NULL;
    srv_repl_batch_done(&q, &b, 1, 0, 4000);
    assert_int_equal(q.stats.dropped_permanent, 1);
    assert_int_equal(q.stats.dropped_expired, 1);
    assert_int_equal(srv_repl_depth(&q), 0);
    assert_int_equal(q.by_key.count, 0);
    /* expiry while queued */
    push(SRV_REPL_HEARTBEAT, "x", "{}", 5000);
    push(SRV_REPL_REGISTER, "y", "{}", 5000);
    srv_repl_expire(&q, 8001); /* x expired (3000), y not (5000) */
    assert_int_equal(srv_repl_depth(&q), 1);
    assert_int_equal(srv_repl_take(&q, 9000, 10, &b), 1);
    assert_string_equal(b.tasks[0]->key, "y");
    srv_repl_batch_done(&q, &b, 1, 0, 9000);
    assert_int_equal(srv_repl_take(&q, 20000, 10, &b), 0);
    srv_repl_batch_free(&b);
}

static void test_overflow_and_batch_size(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < 150; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        push(SRV_REPL_HEARTBEAT, key, "{}", i);
    }
    assert_int_equal(srv_repl_depth(&q), 100);
    assert_int_equal(q.stats.dropped_overflow, 50);
    assert_int_equal(srv_repl_oldest(&q), 50); /* the oldest were dropped */
    assert_null(artemisi_dict_get(&q.by_key, "k0"));
    srv_repl_batch_t b = {0};
    assert_int_equal(srv_repl_take(&q, 200, 30, &b), 30);
    assert_string_equal(b.tasks[0]->key, "k50");
    srv_repl_batch_done(&q, &b, 1, 0, 200);
    assert_int_equal(srv_repl_depth(&q), 70);
    /* mixed operations: a batch holds one operation only */
    push(SRV_REPL_UNREGISTER, "k100", "{}", 300); /* coalesces into the queued k100 */
    assert_int_equal(srv_repl_take(&q, 400, 1000, &b), 69);
    assert_int_equal(b.op, SRV_REPL_HEARTBEAT);
    srv_repl_batch_done(&q, &b, 1, 0, 400);
    assert_int_equal(srv_repl_take(&q, 400, 1000, &b), 1);
    assert_int_equal(b.op, SRV_REPL_UNREGISTER);
    srv_repl_batch_done(&q, &b, 1, 0, 400);
    srv_repl_batch_free(&b);
    /* queued tasks left at free are released (ASan) */
    push(SRV_REPL_REGISTER, "left", "{}", 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_coalescing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_blocks_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_expiry_permanent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_and_batch_size, setup, teardown),
    };
    return cmocka_run_group_tests_name("replicate", tests, NULL, NULL);
}
