/*
 * URL helpers for the SDK's clients: the Artemis URL joining rule (protocol.md §0.4, caravan
 * StringValues.concatPathParts) and a small parser that splits an http/https/ws/wss URL into
 * scheme, host, port and path so a socket can be opened. Pure: no sockets, no DNS.
 *
 * Thread-safety: pure functions.
 */
#ifndef ARTEMISI_URL_JOIN_H
#define ARTEMISI_URL_JOIN_H

#include <stddef.h>

#include "buf.h"

/*
 * Join base and path by protocol.md §0.4: NULL or blank parts are skipped, each part is
 * trimmed (characters <= 0x20), leading '/' characters of the second part are removed, and
 * a single '/' is inserted unless the text so far ends with '/'.
 * "http://h:8080/artemis-service/" + "/api/registry/register.json"
 *   -> "http://h:8080/artemis-service/api/registry/register.json".
 * out is reset first and holds a NUL-terminated string afterwards (possibly empty).
 * Returns 0, or -1 on OOM.
 */
int artemisi_url_join(const char *base, const char *path, artemisi_buf_t *out);

/*
 * Split an absolute URL "scheme://host[:port][/path][?query]". scheme is one of http, https,
 * ws, wss (matched case-insensitively, written lower-case). host is a name or an IPv4
 * literal, or an IPv6 literal in brackets (written without the brackets). The port defaults
 * to 80 (http, ws) or 443 (https, wss). path gets everything from the first '/' or '?' after
 * the authority ("/" when there is none; a bare "?q" becomes "/?q"); a fragment ('#...') is
 * dropped. Userinfo ('@'), an empty host, a port outside 1..65535, spaces or control
 * characters, or an output that does not fit its buffer (sizes include the NUL) return -1.
 * Returns 0 on success.
 */
int artemisi_url_parse(const char *url, char *scheme, size_t scheme_size, char *host,
                       size_t host_size, int *port, char *path, size_t path_size);

#endif
