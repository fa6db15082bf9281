/*
 * The bootstrap copy read as it arrives (docs/cluster.md "Bootstrap without a stall"): the
 * answer {"responseStatus":{...},"services":[{service},...]} is fed in pieces of any size and
 * each element of "services" is handed over as soon as it is complete, so the starting node
 * imports while the copy downloads and holds one service at a time, never the whole
 * document (100,000 instances are ~34 MB of JSON, several times that as a jansson tree, and
 * the HTTP client's 64 MiB body limit made copies of more than ~190,000 instances fail).
 *
 * The values themselves are parsed by jansson (json_loadb with JSON_DISABLE_EOF_CHECK, which
 * says how many bytes a value took); this module only walks the outer object and the array
 * between them. A value cut by the end of a piece is parsed again when more has come, after
 * the buffered bytes have doubled, so the work stays linear in the input. Members other than
 * "services" and "responseStatus" are parsed and dropped; their order does not matter.
 *
 * Pure module: no I/O. Thread-safety: handle.
 */
#ifndef ARTEMIS_SERVER_BOOT_READER_H
#define ARTEMIS_SERVER_BOOT_READER_H

#include <stddef.h>
#include <jansson.h>

typedef struct srv_boot_reader srv_boot_reader_t;

/* One element of "services" (borrowed: incref to keep it). 0 to go on, -1 to stop reading
 * (feed then fails with the callback's refusal). */
typedef int (*srv_boot_service_fn)(void *ud, json_t *service);

/* max_value bounds the bytes of one value (a service, or another member), so of what is
 * buffered: a larger one fails the reader, however the input is cut. NULL when out of memory. */
srv_boot_reader_t *srv_boot_reader_new(size_t max_value, srv_boot_service_fn fn, void *ud);
/* Read the next piece. 0, or -1 once the input is not such a document, a value is too large,
 * memory ran out or the callback refused (every later call fails too; see _error). */
int srv_boot_reader_feed(srv_boot_reader_t *r, const char *data, size_t len);
/* The input has ended: 0 when it was one complete document (trailing whitespace allowed),
 * else -1. */
int srv_boot_reader_finish(srv_boot_reader_t *r);
/* "responseStatus" when read (borrowed, valid until free), else NULL. */
json_t *srv_boot_reader_status(const srv_boot_reader_t *r);
/* Elements of "services" handed over so far. */
size_t srv_boot_reader_services(const srv_boot_reader_t *r);
/* Why the reader failed (static text), or NULL. */
const char *srv_boot_reader_error(const srv_boot_reader_t *r);
void srv_boot_reader_free(srv_boot_reader_t *r); /* NULL is a no-op */

#endif
