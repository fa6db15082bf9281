/*
 * The JSON codec of the Artemis wire format (spec §0.1). Pure module.
 *
 * Decoding goes through jansson (strict RFC 8259, rejects invalid UTF-8 and NUL in strings,
 * nesting limited to JSON_PARSER_MAX_DEPTH) and then reads properties case-insensitively,
 * ignoring unknown ones, as Jackson does with ACCEPT_CASE_INSENSITIVE_PROPERTIES.
 * Encoding is hand-written into an artemisi_buf_t: properties in alphabetical order with
 * explicit nulls, byte-compatible with the Java server's fixtures, and without building a
 * tree per response.
 * Thread-safety: all functions are reentrant.
 */
#ifndef ARTEMIS_SDK_CODEC_H
#define ARTEMIS_SDK_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "model.h"

/* Parse a whole JSON document. Returns a new reference (json_decref) or NULL with a short
 * reason in err. */
json_t *artemisi_json_parse(const char *data, size_t len, char *err, size_t errlen);

/* Case-insensitive property lookup; borrowed reference or NULL. Returns NULL for non-objects. */
json_t *artemisi_json_get(const json_t *obj, const char *name);
/* String property: 0 with *out set (NULL for absent/null), -1 if present with another type.
 * Numbers and booleans are accepted and not converted (-1), like a strict Jackson. */
int artemisi_json_get_str(const json_t *obj, const char *name, const char **out);
/* Integer property: absent/null -> 0 (Jackson: null primitive = 0); numeric strings accepted. */
int artemisi_json_get_i64(const json_t *obj, const char *name, int64_t *out);
/* Boolean property: absent/null -> 0; "true"/"false" strings accepted. */
int artemisi_json_get_bool(const json_t *obj, const char *name, int *out);

/* A decoded list of instances: drafts borrowing strings from the JSON tree. Keep the tree
 * alive while the list is used. Null array entries are skipped (spec §2.1.2 step 4). */
typedef struct artemisi_instance_list {
    artemisi_instance_t *items;
    size_t n;
    const char **meta_pool;
} artemisi_instance_list_t;

enum {
    ARTEMISI_DECODE_OK = 0,
    ARTEMISI_DECODE_BAD = -1,      /* wrong type / malformed instance: HTTP 400 */
    ARTEMISI_DECODE_TOO_MANY = -2, /* more than max_items instances */
    ARTEMISI_DECODE_TOO_LONG = -3, /* a string longer than max_str bytes */
    ARTEMISI_DECODE_NOMEM = -4
};

/* Decode one Instance object into a draft. meta must have room for 2 * (number of metadata
 * entries) pointers; pass NULL to count them first (*n_meta_needed). */
int artemisi_decode_instance(const json_t *obj, artemisi_instance_t *draft, const char **meta,
                             size_t *n_meta_needed, size_t max_str, char *err, size_t errlen);

/* Decode `arr` (a JSON array of Instance, or JSON null/absent -> empty list). */
int artemisi_decode_instances(const json_t *arr, size_t max_items, size_t max_str,
                              artemisi_instance_list_t *out, char *err, size_t errlen);
void artemisi_instance_list_free(artemisi_instance_list_t *l);

/* ---- encoders: append to b, return 0 or -1 on OOM ---- */

/* A JSON string literal (escaped), or null when s is NULL. */
int artemisi_json_str(artemisi_buf_t *b, const char *s);
int artemisi_json_strn(artemisi_buf_t *b, const char *s, size_t n);
/* {"groupId":...,"zoneId":...} in alphabetical order with explicit nulls. */
int artemisi_encode_instance(artemisi_buf_t *b, const artemisi_instance_t *inst);
/* {"errorCode":...,"message":...,"status":...} */
int artemisi_encode_status(artemisi_buf_t *b, const char *error_code, const char *message,
                           const char *status);
/* {"changeTime":N,"changeType":"...","instance":{...}} */
int artemisi_encode_change(artemisi_buf_t *b, const char *change_type, int64_t change_time,
                           const artemisi_instance_t *inst);

#endif
