/*
 * Disk snapshots of cached services, so a restarted application can serve its last known
 * view (marked stale) before any server answers.
 *
 * One file per service: <dir>/<safe name of lower(serviceId)>.json holding
 * {"serviceId":..,"savedAt":<wall ms>,"confirmedAt":<wall ms>,"service":<Service JSON as
 * lookup.json returns it>}. Files are replaced atomically (temporary file in the same
 * directory, fsync, rename, fsync of the directory), so a crash leaves the old or the new
 * file, never a torn one. Loading treats every file as hostile: anything truncated,
 * malformed, of the wrong shape or larger than ARTEMISI_SNAPSHOT_MAX_BYTES is skipped, and so
 * is anything that is not a regular file (a FIFO, device, directory or symlink), without
 * blocking on it.
 * Thread-safety: reentrant; concurrent saves of one service from two threads are not
 * supported.
 */
#ifndef ARTEMIS_SDK_SNAPSHOT_H
#define ARTEMIS_SDK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "artemis/service.h"
#include "cache.h"

#define ARTEMISI_SNAPSHOT_MAX_BYTES ((size_t)64 << 20)

/* The file name (without directory) for a service id: the lower-cased id with bytes in
 * [a-z0-9._-] kept (except a leading '.') and every other byte written as %XX (lower-case
 * hex); an encoding longer than 200 bytes is cut and ends in ~<64-bit hash of the whole id>.
 * Then ".json". 0, or -1 if out is too small (256 bytes always suffice) or the id is empty. */
int artemisi_snapshot_name(const char *service_id, char *out, size_t outlen);

/* Write svc's snapshot into dir (created with parents if missing). The wall clock is read
 * for savedAt. 0 or -1 (errno set). */
int artemisi_snapshot_save(const char *dir, const artemis_service_t *svc);

/* Load one service's snapshot: a stale view whose confirmed time is the file's confirmedAt
 * (clamped to now_wall), new reference; NULL if missing, hostile or on OOM. */
artemis_service_t *artemisi_snapshot_load(const char *dir, const char *service_id,
                                          int64_t now_wall);

/* Load every <dir>/<name>.json file into the cache (services already cached are left alone).
 * Number of services added, or -1 if dir cannot be read (a missing dir counts as 0). */
int artemisi_snapshot_load_all(const char *dir, artemisi_cache_t *c, int64_t now_wall);

#endif
