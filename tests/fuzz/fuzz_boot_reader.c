/*
 * libFuzzer target for server/boot_reader, differential: the input (after its first byte,
 * which seeds the cuts) is read whole and in pseudo-random pieces of 1..16 bytes; both
 * readings must agree exactly (success or failure, every element, the responseStatus), and
 * a document jansson takes whole as an object with unique keys (and no NUL byte, below) must
 * be read, with the same "services" elements and responseStatus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "boot_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int collect(void *ud, json_t *svc)
{
    return json_array_append(ud, svc);
}

typedef struct reading {
    int ok;
    json_t *items;
    json_t *status;
} reading_t;

static void read_doc(const char *doc, size_t len, uint32_t seed, reading_t *out)
{
    out->items = json_array();
    srv_boot_reader_t *r = srv_boot_reader_new(1 << 20, collect, out->items);
    if (!r || !out->items)
        abort();
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 16) % 16;
            n = k < n ? k : n;
        }
        rc = srv_boot_reader_feed(r, doc + off, n);
        off += n;
    }
    out->ok = rc == 0 && srv_boot_reader_finish(r) == 0;
    out->status = json_incref(srv_boot_reader_status(r));
    srv_boot_reader_free(r);
}

static void check(int cond, const char *what, const char *doc, size_t len)
{
    if (!cond) {
        fprintf(stderr, "fuzz_boot_reader: %s\n%.*s\n", what, (int)len, doc);
        abort();
    }
}

static int same(json_t *a, json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0] | 1u;
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    reading_t whole, cut;
    read_doc(doc, len, 0, &whole);
    read_doc(doc, len, seed, &cut);
    check(whole.ok == cut.ok, "whole and cut readings disagree", doc, len);
    if (whole.ok) {
        check(json_equal(whole.items, cut.items), "elements differ between readings", doc, len);
        check(same(whole.status, cut.status), "responseStatus differs between readings", doc, len);
    }
    json_error_t e;
    json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &e);
    /* jansson's whole-document parse skips a NUL byte between tokens (its stream takes NUL
     * for "buffer empty"); the reader refuses it, as JSON does. */
    if (json_is_object(root) && !memchr(doc, 0, len)) {
        check(whole.ok, "a document jansson takes was refused", doc, len);
        json_t *services = json_object_get(root, "services");
        if (json_is_array(services))
            check(json_equal(services, whole.items), "elements differ from jansson's", doc, len);
        else
            check(json_array_size(whole.items) == 0, "elements where jansson has none", doc, len);
        check(same(json_object_get(root, "responseStatus"), whole.status),
              "responseStatus differs from jansson's", doc, len);
    }
    json_decref(root);
    json_decref(whole.items);
    json_decref(whole.status);
    json_decref(cut.items);
    json_decref(cut.status);
    return 0;
}
