/*
 * libFuzzer target for sdk/common/codec: arbitrary bytes -> artemisi_json_parse -> decode the
 * "instances" list -> pack -> encode -> re-parse. Checks that parsing and decoding never
 * crash on hostile input and that the encoder always emits valid JSON that decodes back to
 * the same instance (same encoding).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 64
#define MAX_STR   4096

static void check(int cond, const char *what, const artemisi_buf_t *b)
{
    if (!cond) {
        fprintf(stderr, "fuzz_json: %s\n%.*s\n", what, b ? (int)b->len : 0, b ? b->data : "");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *root = artemisi_json_parse((const char *)data, size, err, sizeof(err));
    if (!root)
        return 0;
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    artemisi_instance_list_t list;
    int rc = artemisi_decode_instances(artemisi_json_get(root, "instances"), MAX_ITEMS, MAX_STR,
                                       &list, err, sizeof(err));
    if (rc != ARTEMISI_DECODE_OK) {
        check(list.n == 0 && list.items == NULL, "failed decode left items", NULL);
        json_decref(root);
        return 0;
    }
    size_t n = list.n;
    artemisi_instance_t **packed = n ? calloc(n, sizeof(*packed)) : NULL;
    check(n == 0 || packed != NULL, "out of memory", NULL);
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_buf_t b2 = ARTEMISI_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        packed[i] = artemisi_instance_pack(&list.items[i]);
        check(packed[i] != NULL, "pack failed", NULL);
        check(artemisi_instance_size(packed[i]) == artemisi_instance_size(&list.items[i]),
              "packed size differs from draft size", NULL);
        artemisi_instance_ref(packed[i]);
    }
    /* The tree is no longer needed: packed instances own their strings. */
    artemisi_instance_list_free(&list);
    json_decref(root);

    for (size_t i = 0; i < n; i++) {
        artemisi_instance_t *p = packed[i];
        artemisi_buf_reset(&b);
        check(artemisi_encode_change(&b, "new", (int64_t)i, p) == 0, "encode failed", NULL);
        json_t *again = artemisi_json_parse(b.data, b.len, err, sizeof(err));
        check(again != NULL, "encoder produced invalid JSON", &b);

        /* Decoding the encoding gives back the same instance. */
        json_t *arr = json_array();
        json_array_append(arr, json_object_get(again, "instance"));
        artemisi_instance_list_t l2;
        rc = artemisi_decode_instances(arr, 1, MAX_STR, &l2, err, sizeof(err));
        check(rc == ARTEMISI_DECODE_OK && l2.n == 1, "re-decode failed", &b);
        artemisi_buf_reset(&b2);
        check(artemisi_encode_instance(&b2, &l2.items[0]) == 0, "encode failed", NULL);
        artemisi_buf_t b3 = ARTEMISI_BUF_INIT;
        check(artemisi_encode_instance(&b3, p) == 0, "encode failed", NULL);
        check(b2.len == b3.len && memcmp(b2.data, b3.data, b2.len) == 0, "re-encoding differs",
              &b2);
        artemisi_buf_free(&b3);

        /* Keys and descriptions never fail on any content. */
        artemisi_buf_reset(&b2);
        check(artemisi_instance_key(p, &b2) == 0, "key failed", NULL);
        check(artemisi_instance_describe(p, &b2) == 0, "describe failed", NULL);

        artemisi_instance_list_free(&l2);
        json_decref(arr);
        json_decref(again);
    }
    for (size_t i = 0; i < n; i++) {
        artemisi_instance_unref(packed[i]);
        artemisi_instance_unref(packed[i]);
    }
    free(packed);
    artemisi_buf_free(&b);
    artemisi_buf_free(&b2);
    return 0;
}
