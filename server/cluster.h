/*
 * Cluster membership and replication (protocol.md §6; docs/cluster.md): the static peer list of
 * `artemis.service.cluster.nodes`, this node's status (starting -> up after bootstrap, down
 * while draining), peer health from polling /api/status/node.json, the bootstrap copy of the
 * registry from a live peer, and the per-peer replication pumps that forward client writes
 * (server/replicate.h queues) over the shared async HTTP client (sdk/net/http.h).
 *
 * Everything runs on the server loop; no call here blocks. A node with no peers is up at once
 * and none of this costs anything.
 */
#ifndef ARTEMIS_SERVER_CLUSTER_H
#define ARTEMIS_SERVER_CLUSTER_H

#include "buf.h"
#include "model.h"
#include "api.h"
#include "server.h"

typedef struct srv_cluster srv_cluster_t;

/* Parse the peer list, start polling and bootstrap. Sets srv->ready (1 at once without peers
 * or with force-up). Returns 0, or -1 with a message logged (bad peer list, OOM). */
int srv_cluster_init(srv_server_t *srv);
/* Cancel requests and free everything (before the event base goes). */
void srv_cluster_free(srv_server_t *srv);
/* (Re)apply cluster.token: every later peer request (replication, bootstrap, polling) sends it
 * as Authorization: Bearer. Returns 0, or -1 (old token kept) when memory runs out. */
int srv_cluster_set_token(srv_server_t *srv);

/* "up", "starting" or "down" (draining). */
const char *srv_cluster_local_status(const srv_server_t *srv);
/* May this node take client registry / discovery requests? */
int srv_cluster_can_registry(const srv_server_t *srv);

/* A client write succeeded for this instance: queue it for every peer. Never called for
 * writes that came from a peer (replication) or from bootstrap. */
void srv_cluster_replicate(srv_server_t *srv, srv_op_t op, const artemisi_instance_t *inst);

/* "{ node: sha/sha-z1/http://.../, status: up, canServiceRegistry: true, ... }" */
void srv_node_status_text(srv_server_t *srv, artemisi_buf_t *out);
/* Append the ServiceNode JSON of this node. */
void srv_node_json(srv_server_t *srv, artemisi_buf_t *out);

/* Append the ServiceNodeStatus JSON of this node. */
void srv_cluster_local_status_json(srv_server_t *srv, artemisi_buf_t *out);
/* Append {"nodeCount":N,"nodesStatus":[...] (no closing brace, no responseStatus). */
void srv_cluster_status_json(srv_server_t *srv, artemisi_buf_t *out);
/* Append the ServiceNode list (protocol.md §2.3) for a caller in region/zone (either may be NULL):
 * registry != 0 for up-registry-nodes. Returns the number of nodes appended. */
size_t srv_cluster_up_nodes(srv_server_t *srv, int registry, const char *region, const char *zone,
                            artemisi_buf_t *out);
/* Prometheus lines for peers and replication. */
void srv_cluster_metrics(srv_server_t *srv, artemisi_buf_t *out);

#endif
