/*
 * The registry fast reader held against the jansson path it stands in for, shared by
 * tests/unit/test_reg_reader.c and tests/fuzz/fuzz_reg_reader.c: whenever srv_reg_read takes
 * a document, json_loadb must accept it as an object and artemisi_decode_instances must give
 * the same list (fields, NULL vs "", port, meta_null, metadata in order), the same "null or
 * empty" verdict and the same encoding of every instance.
 */
#ifndef ARTEMIS_TESTS_REG_READER_DIFF_H
#define ARTEMIS_TESTS_REG_READER_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "reg_reader.h"

static int reg_diff_same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Compares two decoded instances; returns NULL or what differs. */
static const char *reg_diff_instance(const artemisi_instance_t *a, const artemisi_instance_t *b)
{
    for (int f = 0; f < ARTEMISI_F_COUNT; f++)
        if (!reg_diff_same_str(a->f[f], b->f[f]))
            return artemisi_field_names[f];
    if (a->port != b->port)
        return "port";
    if (a->meta_null != b->meta_null)
        return "meta_null";
    if (a->n_meta != b->n_meta)
        return "n_meta";
    if ((a->meta == NULL) != (a->n_meta == 0) || (b->meta == NULL) != (b->n_meta == 0))
        return "meta pointer vs n_meta";
    for (uint32_t m = 0; m < 2 * a->n_meta; m++)
        if (!reg_diff_same_str(a->meta[m], b->meta[m]))
            return m % 2 ? "metadata value" : "metadata key";
    if (a->packed || b->packed || a->refs || b->refs)
        return "packed/refs";
    artemisi_buf_t ea = ARTEMISI_BUF_INIT, eb = ARTEMISI_BUF_INIT;
    int enc = artemisi_encode_instance(&ea, a) == 0 && artemisi_encode_instance(&eb, b) == 0 &&
              ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0;
    artemisi_buf_free(&ea);
    artemisi_buf_free(&eb);
    return enc ? NULL : "encoding";
}

/* 0: the fast reader declined the document; 1: it took it and agrees with jansson; -1: it
 * took it and disagrees (why says how). scratch_len bytes of scratch are lent to the reader
 * (0: none), on the heap, so ASan sees any access past them. */
static int reg_reader_diff(const char *data, size_t len, size_t max_items, size_t max_str,
                           size_t scratch_len, char *why, size_t whylen)
{
    srv_reg_doc_t doc;
    char *scratch = scratch_len ? malloc(scratch_len) : NULL;
    if (scratch_len && !scratch) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (srv_reg_read(data, len, max_items, max_str, scratch, scratch_len, &doc) !=
        SRV_REG_READ_OK) {
        int clean = doc.list.items == NULL && doc.list.n == 0 && doc.list.meta_pool == NULL;
        srv_reg_doc_free(&doc);
        free(scratch);
        if (!clean) {
            snprintf(why, whylen, "declined but left a list behind");
            return -1;
        }
        return 0;
    }
    char err[256];
    int verdict = 1;
    artemisi_instance_list_t list = {0};
    json_t *root = artemisi_json_parse(data, len, err, sizeof(err));
    if (!root || !json_is_object(root)) {
        snprintf(why, whylen, "taken, but jansson says: %.160s", root ? "not an object" : err);
        verdict = -1;
        goto out;
    }
    json_t *arr = artemisi_json_get(root, "instances");
    int rc = artemisi_decode_instances(arr, max_items, max_str, &list, err, sizeof(err));
    if (rc != ARTEMISI_DECODE_OK) {
        snprintf(why, whylen, "taken, but artemisi_decode_instances says %d: %.160s", rc, err);
        verdict = -1;
        goto out;
    }
    int empty = !json_is_array(arr) || json_array_size(arr) == 0;
    if (empty != doc.empty) {
        snprintf(why, whylen, "empty: fast %d, jansson %d", doc.empty, empty);
        verdict = -1;
        goto out;
    }
    if (list.n != doc.list.n) {
        snprintf(why, whylen, "count: fast %zu, jansson %zu", doc.list.n, list.n);
        verdict = -1;
        goto out;
    }
    for (size_t i = 0; i < list.n; i++) {
        const char *d = reg_diff_instance(&doc.list.items[i], &list.items[i]);
        if (d) {
            snprintf(why, whylen, "instance %zu differs: %s", i, d);
            verdict = -1;
            goto out;
        }
    }
out:
    artemisi_instance_list_free(&list);
    json_decref(root);
    srv_reg_doc_free(&doc);
    free(scratch);
    return verdict;
}

#endif
