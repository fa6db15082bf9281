/*
 * Where management meets discovery (mgmt_diff.c): the registry hooks that hide pulled-out
 * instances and add logicInstances / routeRules to every Service, and the announcement of
 * what changed between two snapshots (protocol.md §7.2 "Effects on notifications").
 * Thread-safety: the loop thread only.
 */
#ifndef ARTEMIS_SERVER_MGMT_DIFF_H
#define ARTEMIS_SERVER_MGMT_DIFF_H

#include <stdint.h>

#include "mgmt_model.h"
#include "server.h"

/* Install the registry hooks (after srv->mgmt has its first snapshot). */
void srv_mg_diff_install(srv_server_t *srv);
/* The snapshot in use went from old to cur: drop the cached JSON of every service whose
 * answer changed and announce a `delete` for each registered instance newly down, a `new` for
 * each newly up, and one `reload` per service whose projection or zone/group operations
 * changed. Returns the number of changes announced. */
uint64_t srv_mg_diff_apply(srv_server_t *srv, const srv_mg_snap_t *old, const srv_mg_snap_t *cur);

#endif
