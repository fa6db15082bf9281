/*
 * The bootstrap copy (services.json for a starting peer, protocol.md §2.4) built in slices, so
 * the node serving it keeps answering its own clients meanwhile (docs/cluster.md "Bootstrap
 * without a stall"). Built at once, 100,000 instances (~40 MB) took one loop turn of ~1 s.
 *
 * The answer is the same bytes the whole-answer build gave for a registry that does not change
 * while it is sent. When it does change: the list of services is the one of the first slice
 * (a service created later reaches the peer by replication, one removed later is left out), and
 * each service's instances are the ones it had when its turn came (references are held until
 * each is written), so no instance is cut in two or listed twice.
 *
 * Pure module: it reads the registry and writes bytes; the HTTP layer sends them
 * (srv_req_stream). Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_BOOT_ANSWER_H
#define ARTEMIS_SERVER_BOOT_ANSWER_H

#include <stddef.h>

#include "buf.h"
#include "registry.h"

typedef struct srv_boot_answer srv_boot_answer_t;

/* A new answer over r (which must outlive it): the list of services is taken now. Owned by the
 * caller; NULL when out of memory. */
srv_boot_answer_t *srv_boot_answer_new(srv_registry_t *r);
/* Append the next slice (about `slice_bytes`, more when one instance is larger) of the services
 * list to out: the elements of "services" after the caller's `{...,"services":[`, then `]}`
 * to close the answer. Returns 1 when more follows, 0 when
 * the answer is complete, -1 when out of memory (out is then marked failed and the answer is
 * lost: it must not be sent as complete). */
int srv_boot_answer_next(srv_boot_answer_t *a, artemisi_buf_t *out, size_t slice_bytes);
/* Frees a (and the references it holds). NULL is a no-op. */
void srv_boot_answer_free(srv_boot_answer_t *a);

#endif
