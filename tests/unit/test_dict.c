/*
 * Unit tests for sdk/common/dict: SipHash-2-4 against the reference vector, put/get/replace/del,
 * backward-shift deletion checked exhaustively (every remaining key is looked up after
 * every single deletion, in random order, including tables forced into long probe chains
 * by a tiny key space), and iteration visiting each key exactly once.
 */
#include "test.h"

#include "dict.h"

#define N_KEYS 3000

/* Deterministic xorshift so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static void shuffle(size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd() % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void test_siphash_reference_vector(void **state)
{
    (void)state;
    unsigned char msg[64];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)i;
    /* Key 00..0f read little-endian as two 64-bit words. */
    uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    assert_true(artemisi_siphash(msg, 15, k0, k1) == 0xa129ca6149be45e5ULL);
    /* Further entries of the reference table (vectors.h of the SipHash paper). */
    assert_true(artemisi_siphash(msg, 0, k0, k1) == 0x726fdb47dd0e0e31ULL);
    assert_true(artemisi_siphash(msg, 8, k0, k1) == 0x93f5f5799a932462ULL);
    assert_true(artemisi_siphash(msg, 63, k0, k1) == 0x958a324ceb064572ULL);
    /* The seed matters. */
    assert_true(artemisi_siphash(msg, 15, k0 + 1, k1) != 0xa129ca6149be45e5ULL);
}

static void test_empty(void **state)
{
    (void)state;
    artemisi_dict_t d;
    artemisi_dict_init(&d, 1, 2);
    assert_null(artemisi_dict_get(&d, "x"));
    assert_null(artemisi_dict_del(&d, "x"));
    size_t it = 0;
    assert_null(artemisi_dict_next(&d, &it));
    artemisi_dict_free(&d);
    artemisi_dict_free(&d); /* idempotent */
}

static void test_put_get_replace_del(void **state)
{
    (void)state;
    artemisi_dict_t d;
    artemisi_dict_init(&d, 11, 22);
    int a = 1, b = 2, c = 3, failed = 7;
    assert_null(artemisi_dict_put(&d, "alpha", &a, &failed));
    assert_int_equal(failed, 0);
    assert_null(artemisi_dict_put(&d, "beta", &b, &failed));
    assert_int_equal(d.count, 2);
    assert_ptr_equal(artemisi_dict_get(&d, "alpha"), &a);
    assert_ptr_equal(artemisi_dict_get(&d, "beta"), &b);
    assert_null(artemisi_dict_get(&d, "gamma"));
    assert_null(artemisi_dict_get(&d, "Alpha")); /* keys are exact */

    /* Replace returns the previous value and adopts the new key pointer. */
    char key2[] = "alpha";
    assert_ptr_equal(artemisi_dict_put(&d, key2, &c, &failed), &a);
    assert_int_equal(failed, 0);
    assert_int_equal(d.count, 2);
    assert_ptr_equal(artemisi_dict_get(&d, "alpha"), &c);
    size_t it = 0;
    artemisi_dict_entry_t *e;
    int saw = 0;
    while ((e = artemisi_dict_next(&d, &it)))
        if (e->value == &c) {
            assert_ptr_equal(e->key, key2);
            saw++;
        }
    assert_int_equal(saw, 1);

    assert_ptr_equal(artemisi_dict_del(&d, "alpha"), &c);
    assert_null(artemisi_dict_del(&d, "alpha"));
    assert_null(artemisi_dict_get(&d, "alpha"));
    assert_ptr_equal(artemisi_dict_get(&d, "beta"), &b);
    assert_int_equal(d.count, 1);
    assert_ptr_equal(artemisi_dict_del(&d, "beta"), &b);
    assert_int_equal(d.count, 0);
    assert_null(artemisi_dict_get(&d, "beta"));
    /* Reusable after becoming empty. */
    assert_null(artemisi_dict_put(&d, "", &a, &failed));
    assert_ptr_equal(artemisi_dict_get(&d, ""), &a);
    artemisi_dict_free(&d);
}

static void check_all(const artemisi_dict_t *d, char keys[][24], const int *present, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        void *v = artemisi_dict_get(d, keys[k]);
        if (present[k]) {
            if (v != keys[k])
                fail_msg("key %s lost", keys[k]);
        } else if (v != NULL) {
            fail_msg("deleted key %s still found", keys[k]);
        }
    }
}

/* Insert n keys in random order, then delete them in another random order, checking
 * every key (present and absent) after every deletion. */
static void run_random(uint64_t s0, uint64_t s1, size_t n)
{
    static char keys[N_KEYS][24];
    static int present[N_KEYS];
    static size_t order[N_KEYS];
    assert_true(n <= N_KEYS);
    artemisi_dict_t d;
    artemisi_dict_init(&d, s0, s1);
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        present[i] = 0;
        order[i] = i;
    }
    shuffle(order, n);
    for (size_t i = 0; i < n; i++) {
        int failed;
        assert_null(artemisi_dict_put(&d, keys[order[i]], keys[order[i]], &failed));
        assert_int_equal(failed, 0);
        present[order[i]] = 1;
        assert_int_equal(d.count, i + 1);
    }
    assert_true(d.count * 4 <= d.cap * 3);
    check_all(&d, keys, present, n);

    /* Iteration visits each key exactly once. */
    static int seen[N_KEYS];
    memset(seen, 0, sizeof(seen));
    size_t it = 0, visited = 0;
    artemisi_dict_entry_t *e;
    while ((e = artemisi_dict_next(&d, &it))) {
        size_t idx = (size_t)((char(*)[24])e->value - keys);
        assert_true(idx < n);
        assert_string_equal(e->key, keys[idx]);
        seen[idx]++;
        visited++;
    }
    assert_int_equal(visited, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seen[i], 1);

    shuffle(order, n);
    for (size_t i = 0; i < n; i++) {
        size_t k = order[i];
        assert_ptr_equal(artemisi_dict_del(&d, keys[k]), keys[k]);
        present[k] = 0;
        assert_int_equal(d.count, n - i - 1);
        check_all(&d, keys, present, n);
        /* Interleave some re-inserts so deletion also runs on chains built after deletes. */
        if (i % 7 == 3 && i + 1 < n) {
            size_t back = order[i];
            int failed;
            assert_null(artemisi_dict_put(&d, keys[back], keys[back], &failed));
            present[back] = 1;
            assert_ptr_equal(artemisi_dict_del(&d, keys[back]), keys[back]);
            present[back] = 0;
        }
    }
    assert_int_equal(d.count, 0);
    it = 0;
    assert_null(artemisi_dict_next(&d, &it));
    artemisi_dict_free(&d);
}

static void test_random_insert_delete(void **state)
{
    (void)state;
    run_random(0x0123456789abcdefULL, 0xfedcba9876543210ULL, N_KEYS);
    run_random(0, 0, 1000);
    run_random(42, 7, 13); /* small table: wrap-around at the end of the slot array */
}

/* Many different tables of just-under-growth size: probe chains that wrap around the end
 * of the slot array are common there, which is the tricky case of the backward shift. */
static void test_dense_tables(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 200; seed++)
        run_random(seed, seed * 31, 12 + (size_t)(seed % 37));
}

static void test_mixed_operations(void **state)
{
    (void)state;
    enum { N = 512 };
    static char keys[N][24];
    static int present[N];
    artemisi_dict_t d;
    artemisi_dict_init(&d, 5, 6);
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "m:%zu", i);
        present[i] = 0;
    }
    size_t count = 0;
    for (int step = 0; step < 20000; step++) {
        size_t k = (size_t)(rnd() % N);
        int failed;
        if (rnd() % 2) {
            void *old = artemisi_dict_put(&d, keys[k], keys[k], &failed);
            assert_int_equal(failed, 0);
            assert_ptr_equal(old, present[k] ? keys[k] : NULL);
            if (!present[k])
                count++;
            present[k] = 1;
        } else {
            void *old = artemisi_dict_del(&d, keys[k]);
            assert_ptr_equal(old, present[k] ? keys[k] : NULL);
            if (present[k])
                count--;
            present[k] = 0;
        }
        assert_int_equal(d.count, count);
        if (step % 97 == 0)
            check_all(&d, keys, present, N);
    }
    check_all(&d, keys, present, N);
    artemisi_dict_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_reference_vector),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_random_insert_delete),
        cmocka_unit_test(test_dense_tables),
        cmocka_unit_test(test_mixed_operations),
    };
    return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
