/*
 * The JSON codec of the Artemis wire format (protocol.md §0.1). Pure module.
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
 * Numbers and booleans are not converted (-1): the registry's Instance fields are strict
 * (docs/compat.md); discovery request fields go through artemisi_json_bind instead. */
int artemisi_json_get_str(const json_t *obj, const char *name, const char **out);
/* Integer property bound as Jackson binds a Java long: absent/null -> 0 (null primitive = 0),
 * a floating-point number truncated toward zero, a numeric string (blanks around allowed),
 * "" or "null" -> 0. -1 for anything else, or out of the int64 range. */
int artemisi_json_get_i64(const json_t *obj, const char *name, int64_t *out);
/* The same rules for one value (NULL = absent) within [min, max]: 0, -1 (not an integer),
 * -2 (out of range, Jackson's overflow error). */
int artemisi_json_int(const json_t *v, int64_t min, int64_t max, int64_t *out);
/* Boolean property: absent/null -> 0; "true"/"false" strings accepted. */
int artemisi_json_get_bool(const json_t *obj, const char *name, int *out);

/* Declared Java types a request property binds to, for artemisi_json_bind. */
typedef enum artemisi_jtype {
    ARTEMISI_JT_STRING, /* String: a string; a number or boolean becomes its text */
    ARTEMISI_JT_OBJECT, /* a bean or a Map: a JSON object */
    ARTEMISI_JT_LIST    /* a List: a JSON array */
} artemisi_jtype_t;

/* Binds property `name` of `obj` to its declared Java type, by Jackson's rules, so every
 * endpoint answers one way for a value of the wrong JSON type (docs/compat.md):
 *   - absent or JSON null: ARTEMISI_DECODE_OK with *out NULL (null stays null);
 *   - a type that binds: ARTEMISI_DECODE_OK with *out the value (borrowed from the tree). For
 *     ARTEMISI_JT_STRING a number or boolean is replaced in the tree by a string holding its
 *     text ("5", "1.5", "true"), so later reads (artemisi_json_get_str) see it too;
 *   - a type that cannot bind (an object or array for a String, a non-object for a bean, a
 *     non-array for a List): ARTEMISI_DECODE_BAD with "<what> must be ... (got ...)" in err
 *     (an HTTP 400); `what` names the field for that message ("request.discoveryConfigs");
 *   - ARTEMISI_DECODE_NOMEM when the coerced string cannot be allocated.
 * A non-object `obj` holds no properties (OK, NULL). */
int artemisi_json_bind(json_t *obj, const char *name, artemisi_jtype_t type, const char *what,
                       json_t **out, char *err, size_t errlen);
/* The same for element i of the array `arr` (past the end, or not an array: OK, NULL); the
 * message names "<what>[i]". */
int artemisi_json_bind_elem(json_t *arr, size_t i, artemisi_jtype_t type, const char *what,
                            json_t **out, char *err, size_t errlen);

/* A decoded list of instances: drafts borrowing strings from the JSON tree. Keep the tree
 * alive while the list is used. Null array entries are skipped (protocol.md §2.1.2 step 4). */
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
 * entries) pointers; pass NULL to count them first (*n_meta_needed). A metadata value that is
 * JSON null is kept as a NULL value pointer (Java's map keeps it and answers it). */
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
