/*
 * Percent-decoding, query-string lookup and path normalisation for request targets. Pure: no
 * I/O.
 *
 * Paths are decoded with srv_url_decode() ('+' stays '+'); query names and values with the
 * form rules ('+' is a space), which srv_query_get() applies. A decoded NUL
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
 * Names are compared case-sensitively after decoding; "a" without '=' has the value "". A
 * repeated name gives every value joined with ',' in query order, as Spring binds a String
 * parameter ("serviceId=a&serviceId=x" -> "a,x"). `out` is reset and receives the decoded
 * value. A List<String> parameter binds the same way (Spring splits repeated and comma-separated
 * values alike: "a=x&a=y,z" -> "x,y,z"). Returns 1 found, 0 absent, -1 malformed (any pair of
 * the query fails to decode), -2 out of memory. */
int srv_query_get(const char *query, const char *name, artemisi_buf_t *out);

/*
 * Normalise a raw request path as a servlet container does before routing, so every spelling
 * Tomcat + Spring answer reaches the same route: ";params" are cut from each segment (before
 * decoding), %xx escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded and every
 * other escape is kept as written ("%2F" is not a separator; the caller decodes the rest once,
 * e.g. a v1 subscribe serviceId), empty segments (repeated or trailing slashes) and "." are
 * dropped, ".." removes the segment before it. `out` is reset and receives the path, starting
 * with '/' and without a trailing slash unless it is "/". A path not starting with '/' ("*")
 * is copied unchanged.
 * Returns 0; -1 when Tomcat would answer 400: ".." above the root, a malformed escape or %00
 * (out is then empty); -2 on allocation failure.
 */
int srv_path_normalize(const char *path, artemisi_buf_t *out);

/* Value of one hexadecimal digit, or -1. */
int srv_hex_value(unsigned char c);

#endif
