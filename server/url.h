/*
 * Percent-decoding and query-string lookup for request targets. Pure: no I/O.
 *
 * Paths are decoded with srv_url_decode() ('+' stays '+'); query names and values with the
 * form rules ('+' is a space), which srv_query_get()/srv_query_get_all() apply. A decoded NUL
 * byte is refused so that decoded strings are safe to use as C strings.
 * Thread-safety: MT-safe (no state).
 */
#ifndef ARTEMIS_SERVER_URL_H
#define ARTEMIS_SERVER_URL_H

#include <stddef.h>

#include "buf.h"

/* Percent-decode in[0..len) and APPEND the result to `out` ('+' is kept). Returns 0, or -1 on
 * an invalid %xx escape, a decoded NUL or allocation failure; on -1 `out` is left as it was. */
int srv_url_decode(const char *in, size_t len, artemisi_buf_t *out);
/* Same, with application/x-www-form-urlencoded rules: '+' decodes to a space. */
int srv_url_decode_form(const char *in, size_t len, artemisi_buf_t *out);

/* Look up `name` in a query string ("a=1&b=2", a leading '?' is skipped; NULL is empty).
 * Names are compared case-sensitively after decoding; the first occurrence wins; "a" without
 * '=' has the value "". `out` is reset and receives the decoded value.
 * Returns 1 found, 0 absent, -1 malformed (any pair of the query fails to decode, or
 * allocation failure). */
int srv_query_get(const char *query, const char *name, artemisi_buf_t *out);
/* Like srv_query_get, but every occurrence's value is joined with ',' in query order (Spring
 * binds List<String> from repeated or comma-separated values: "a=x&a=y,z" -> "x,y,z").
 * Returns 1 if at least one occurrence, 0 absent, -1 malformed. */
int srv_query_get_all(const char *query, const char *name, artemisi_buf_t *out);

/* Value of one hexadecimal digit, or -1. */
int srv_hex_value(unsigned char c);

#endif
