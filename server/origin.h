/*
 * Browser origins and Host names (docs/compat.md "CORS and browser origins"): validation of
 * the http.allowed-origins and http.allowed-hosts lists and matching a request's Origin and
 * Host header against them.
 *
 * The lists are kept as the configured strings and parsed on each match (they are short and
 * only consulted when the request carries an Origin, or when a host list is set), so a SIGHUP
 * reload needs nothing but the new string.
 *
 * Pure: no I/O, no allocation, no state. Thread-safe.
 */
#ifndef ARTEMIS_SERVER_ORIGIN_H
#define ARTEMIS_SERVER_ORIGIN_H

#include <stddef.h>

typedef enum srv_origin_verdict {
    SRV_ORIGIN_NONE,   /* no Origin header: not a browser cross-origin request */
    SRV_ORIGIN_DENIED, /* an Origin not in the list, "null" included */
    SRV_ORIGIN_ANY,    /* allowed by "*": reads only, never with credentials */
    SRV_ORIGIN_LISTED  /* listed exactly: reads and writes */
} srv_origin_verdict_t;

/*
 * Validate an http.allowed-origins value: "" (no cross-origin access), "*" alone, or a comma
 * separated list of SCHEME://HOST[:PORT] (IPv6 as [::1]; no user, path, query or fragment; port
 * 1..65535). Spaces around items are ignored, empty items skipped. Returns NULL when fine, else
 * the tail of an error sentence ("has an origin with a path ...") for the config table.
 */
const char *srv_origin_check_list(const char *list);

/*
 * Validate an http.allowed-hosts value: "" (any Host) or a comma-separated list of HOST[:PORT]
 * (a DNS name or IPv4 address, IPv6 as [::1]). Same conventions as srv_origin_check_list().
 */
const char *srv_host_check_list(const char *list);

/* True when the list allows at least one origin (it is neither empty nor only commas). */
int srv_origin_list_active(const char *list);

/*
 * Match a request's Origin value (origin, len; NULL = no header) against a validated list.
 * Scheme and host compare case-insensitively and an explicit default port equals none
 * (https://a:443 = https://a), as browsers serialize origins without it.
 */
srv_origin_verdict_t srv_origin_match(const char *list, const char *origin, size_t len);

/*
 * Is a Host header value (host, len; NULL = no header) allowed by a validated list? An empty
 * list allows anything, a missing Host included; otherwise the name must be listed
 * (case-insensitively, a trailing dot ignored) and, when both the item and the header carry a
 * port, the ports must be equal. Returns 1 / 0.
 */
int srv_host_match(const char *list, const char *host, size_t len);

/*
 * Same origin: is `origin` (olen; NULL = none) the http or https origin of a page served under
 * the Host header value `host` (hlen)? Host names compare case-insensitively, and the scheme's
 * default port equals none on either side. Returns 1 / 0. Which Host values may be trusted is
 * the caller's decision (a rebound DNS name is "same origin" too, see srv_host_is_literal).
 */
int srv_origin_is_host(const char *origin, size_t olen, const char *host, size_t hlen);

/*
 * Is a Host value an address or localhost, a name no outside page can re-point at this server
 * (DNS rebinding needs a name the attacker controls)? Returns 1 / 0.
 */
int srv_host_is_literal(const char *host, size_t len);

/*
 * The part of an Access-Control-Request-Headers value a preflight may allow: the simple
 * headers Accept, Accept-Language, Content-Language, Content-Type, Content-Encoding and
 * Accept-Encoding that were asked for, lower case, joined by ", " into out (always
 * NUL-terminated; "" when none). 96 bytes always suffice. Returns the length written.
 */
size_t srv_origin_allow_headers(const char *value, size_t len, char *out, size_t outlen);

#endif
