/*
 * The peer list of `artemis.service.cluster.nodes` (protocol.md §6.1):
 * "zoneA:url1,url2;zoneB:url3". One parser for it: the configuration validates with it and
 * the cluster builds its nodes from its result, so the two can never accept different lists.
 * Pure: no I/O. Thread-safety: none needed (no state).
 */
#ifndef ARTEMIS_SERVER_PEERS_H
#define ARTEMIS_SERVER_PEERS_H

#include <stddef.h>

typedef struct srv_peer_spec {
    char *zone; /* trimmed, non-empty */
    char *url;  /* trimmed, http:// or https:// */
} srv_peer_spec_t;

/* Parse spec. Blanks around items are trimmed; empty groups and empty URLs are skipped; a
 * group needs a non-empty zone and at least one URL, and every URL must be http(s). Returns
 * 0 with a new array in *out (*n entries, possibly 0; free with srv_peers_free), or -1 with
 * the reason in err (errlen bytes) and nothing allocated. Aborts through srv_oom() on OOM. */
int srv_peers_parse(const char *spec, srv_peer_spec_t **out, size_t *n, char *err, size_t errlen);
/* Free what srv_peers_parse returned; NULL is fine. */
void srv_peers_free(srv_peer_spec_t *peers, size_t n);

#endif
