/*
 * The registry path's streaming request reader (docs/design.md, "The registry request fast
 * path"). Pure: bytes in, instance drafts out; no sockets, no clock, no server state.
 *
 * srv_registry_request gets {"instances":[...]} bodies for register, heartbeat and unregister
 * (HTTP, WebSocket, client and replication alike) at rates where building a jansson DOM was 72 %
 * of the work. This reader walks the bytes once, builds no tree and allocates nothing per
 * instance: the drafts point into one mutable copy of the body, in which a NUL replaces each
 * closing quote of a string. The copy, the drafts and their metadata pointers go into a
 * scratch buffer the caller lends (its stack) while they fit, then into a few heap blocks.
 *
 * It accepts only documents it decodes exactly as json_loadb + artemisi_decode_instances would
 * (same fields, NULL vs "", meta_null, metadata order and values, port) and answers "not mine"
 * for everything else: escapes, bytes >= 0x80 or control bytes in strings, repeated keys that
 * decide a value, a port that is not a plain in-range integer or null, anything over the limits,
 * nesting deeper than SRV_REG_READER_MAX_DEPTH, any JSON error. The caller then runs the jansson
 * path unchanged, so every error answer (jansson's texts included) stays byte-identical. The
 * differential fuzz target tests/fuzz/fuzz_reg_reader.c holds it to that.
 *
 * Thread-safety: reentrant; a document belongs to its caller.
 */
#ifndef ARTEMIS_SERVER_REG_READER_H
#define ARTEMIS_SERVER_REG_READER_H

#include <stddef.h>

#include "codec.h"

/* Unknown values nested deeper than this are left to jansson (which allows 2048). */
#define SRV_REG_READER_MAX_DEPTH 32
/* A metadata object with more entries is left to jansson: repeated keys are found by
 * comparing each key with the earlier ones, which must stay cheap on hostile input. */
#define SRV_REG_READER_MAX_META 64

typedef struct srv_reg_doc {
    /* The decoded "instances" (null entries skipped), as artemisi_decode_instances gives it.
     * It may live in the caller's scratch: read it, never artemisi_instance_list_free it. */
    artemisi_instance_list_t list;
    /* 1 when "instances" is absent, null or []: the jansson path's "null or empty" answer.
     * A list of nulls is not empty (it succeeds with nothing done). */
    int empty;
    char *text; /* the copy of the body the drafts point into */
    /* what srv_reg_doc_free frees: the parts that did not fit the scratch */
    void *text_heap, *items_heap, *pool_heap;
} srv_reg_doc_t;

enum {
    SRV_REG_READ_OK = 0,
    SRV_REG_READ_NOT_MINE = 1 /* decode with jansson instead (also on out of memory) */
};

/* Enough scratch for a body of ~12 KB with a dozen instances: every single-instance request
 * and a typical client's batch need no allocation at all. */
#define SRV_REG_READER_SCRATCH 16384

/* Reads `body` (len bytes, need not be NUL-terminated) under the registry limits, using
 * `scratch` (scratch_len bytes, any alignment, may be NULL) first. On SRV_REG_READ_OK, doc
 * holds the list; the scratch must outlive its use. Free doc with srv_reg_doc_free whatever
 * the result. */
int srv_reg_read(const char *body, size_t len, size_t max_items, size_t max_str, void *scratch,
                 size_t scratch_len, srv_reg_doc_t *doc);
void srv_reg_doc_free(srv_reg_doc_t *doc);

#endif
