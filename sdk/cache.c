/*
 * The SDK's service cache; see cache.h for the contract. A seeded hash table maps
 * lower(serviceId) to an entry that holds the current snapshot. The table's structure and
 * the entries' snapshot pointers change only on the writer thread and only under the mutex;
 * the writer reads them without the lock (nobody else writes), readers read them under it.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "cache.h"
#include "dict.h"
#include "sdk_int.h"

typedef struct cache_entry {
    char *key; /* lower(serviceId) */
    artemis_service_t *svc;
    int64_t empty_first; /* wall time of the first unconfirmed empty full update */
    int empty_pending;
} cache_entry_t;

struct artemisi_cache {
    pthread_mutex_t mu;
    artemisi_dict_t map;
    int64_t empty_confirm_ms;
};

/* Lower-case id into key (ARTEMISI_CACHE_MAX_ID + 1 bytes). -1 if too long. */
static int lower_key(const char *id, char *key)
{
    size_t i;
    for (i = 0; id[i]; i++) {
        if (i >= ARTEMISI_CACHE_MAX_ID)
            return -1;
        key[i] = (char)tolower((unsigned char)id[i]);
    }
    key[i] = '\0';
    return 0;
}

artemisi_cache_t *artemisi_cache_new(void)
{
    artemisi_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    uint64_t seed[2] = {0, 0};
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* No entropy yet: keys come from the application and our own server, so a weaker
         * seed only costs collision resistance. */
        seed[0] = (uint64_t)(uintptr_t)c * 0x9e3779b97f4a7c15ull;
        seed[1] = (uint64_t)(uintptr_t)&seed ^ 0x5851f42d4c957f2dull;
    }
    artemisi_dict_init(&c->map, seed[0], seed[1]);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->empty_confirm_ms = ARTEMISI_CACHE_EMPTY_CONFIRM_MS;
    return c;
}

void artemisi_cache_free(artemisi_cache_t *c)
{
    if (!c)
        return;
    artemisi_dict_entry_t *de;
    for (size_t it = 0; (de = artemisi_dict_next(&c->map, &it));) {
        cache_entry_t *e = de->value;
        artemis_service_unref(e->svc);
        free(e->key);
        free(e);
    }
    artemisi_dict_free(&c->map);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void artemisi_cache_set_empty_confirm_ms(artemisi_cache_t *c, int64_t ms)
{
    c->empty_confirm_ms = ms;
}

artemis_service_t *artemisi_cache_get(artemisi_cache_t *c, const char *service_id)
{
    char key[ARTEMISI_CACHE_MAX_ID + 1];
    if (!c || !service_id || lower_key(service_id, key) != 0)
        return NULL;
    pthread_mutex_lock(&c->mu);
    cache_entry_t *e = artemisi_dict_get(&c->map, key);
    artemis_service_t *svc = e ? artemis_service_ref(e->svc) : NULL;
    pthread_mutex_unlock(&c->mu);
    return svc;
}

/* Publish svc (the entry takes the reference) and drop the old view outside the lock. */
static void swap(artemisi_cache_t *c, cache_entry_t *e, artemis_service_t *svc)
{
    pthread_mutex_lock(&c->mu);
    artemis_service_t *old = e->svc;
    e->svc = svc;
    pthread_mutex_unlock(&c->mu);
    artemis_service_unref(old);
}

/* Insert a new entry holding svc (reference taken on success only). 1 or -1 on OOM. */
static int insert(artemisi_cache_t *c, const char *key, artemis_service_t *svc)
{
    cache_entry_t *e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return -1;
    }
    e->svc = svc;
    int failed = 0;
    pthread_mutex_lock(&c->mu);
    artemisi_dict_put(&c->map, e->key, e, &failed);
    pthread_mutex_unlock(&c->mu);
    if (failed) {
        free(e->key);
        free(e);
        return -1;
    }
    return 1;
}

int artemisi_cache_apply_full(artemisi_cache_t *c, const json_t *service_obj, int64_t now_wall)
{
    char key[ARTEMISI_CACHE_MAX_ID + 1];
    artemis_service_t *svc = artemisi_service_from_json(service_obj, now_wall, 0);
    if (!svc)
        return -1;
    if (lower_key(svc->service_id, key) != 0) {
        artemis_service_unref(svc);
        return 0;
    }
    cache_entry_t *e = artemisi_dict_get(&c->map, key);
    if (!e) {
        int rc = insert(c, key, svc);
        if (rc < 0)
            artemis_service_unref(svc);
        return rc;
    }
    artemis_service_t *old = e->svc;
    if (svc->n == 0 && old->n > 0 && c->empty_confirm_ms > 0) {
        if (!e->empty_pending) {
            e->empty_pending = 1;
            e->empty_first = now_wall;
        } else if (now_wall - e->empty_first >= c->empty_confirm_ms) {
            /* Confirmed: the service really has no instances now. */
            e->empty_pending = 0;
            swap(c, e, svc);
            return 1;
        }
        artemis_service_unref(svc);
        if (old->stale)
            return 0;
        artemis_service_t *kept =
            artemisi_service_restamp(old, artemisi_service_confirmed_ms(old), 1);
        if (!kept)
            return -1;
        swap(c, e, kept);
        return 1;
    }
    e->empty_pending = 0;
    if (!old->stale && artemisi_service_same_data(old, svc)) {
        /* Keep the published snapshot (pick()'s counters go on); only its time moves. */
        artemisi_service_confirm(old, artemisi_service_confirmed_ms(svc));
        artemis_service_unref(svc);
        return 0;
    }
    swap(c, e, svc);
    return 1;
}

int artemisi_cache_apply_change(artemisi_cache_t *c, const char *service_id,
                                const char *change_type, const json_t *instance_obj,
                                int64_t now_wall)
{
    char key[ARTEMISI_CACHE_MAX_ID + 1];
    if (change_type && strcasecmp(change_type, "reload") == 0)
        return ARTEMISI_CACHE_RELOAD;
    if (!service_id || lower_key(service_id, key) != 0)
        return 0;
    cache_entry_t *e = artemisi_dict_get(&c->map, key);
    if (!e)
        return 0;
    artemis_service_t *svc =
        artemisi_service_with_change(e->svc, change_type, instance_obj, now_wall);
    if (!svc)
        return -1;
    if (svc == e->svc) {
        artemis_service_unref(svc);
        return 0;
    }
    e->empty_pending = 0;
    swap(c, e, svc);
    return 1;
}

int artemisi_cache_seed(artemisi_cache_t *c, artemis_service_t *svc)
{
    char key[ARTEMISI_CACHE_MAX_ID + 1];
    if (!svc || lower_key(svc->service_id, key) != 0 || artemisi_dict_get(&c->map, key))
        return 0;
    int rc = insert(c, key, artemis_service_ref(svc));
    if (rc < 0)
        artemis_service_unref(svc);
    return rc;
}

static int mark_entry_stale(artemisi_cache_t *c, cache_entry_t *e)
{
    if (e->svc->stale)
        return 0;
    artemis_service_t *s =
        artemisi_service_restamp(e->svc, artemisi_service_confirmed_ms(e->svc), 1);
    if (!s)
        return -1;
    swap(c, e, s);
    return 1;
}

int artemisi_cache_mark_stale(artemisi_cache_t *c, const char *service_id)
{
    char key[ARTEMISI_CACHE_MAX_ID + 1];
    if (!service_id || lower_key(service_id, key) != 0)
        return 0;
    cache_entry_t *e = artemisi_dict_get(&c->map, key);
    return e ? mark_entry_stale(c, e) : 0;
}

int artemisi_cache_mark_all_stale(artemisi_cache_t *c)
{
    int n = 0, failed = 0;
    artemisi_dict_entry_t *de;
    for (size_t it = 0; (de = artemisi_dict_next(&c->map, &it));) {
        int rc = mark_entry_stale(c, de->value);
        if (rc < 0)
            failed = 1;
        else
            n += rc;
    }
    return failed ? -1 : n;
}

int artemisi_cache_foreach_id(artemisi_cache_t *c, int (*cb)(void *ud, const char *service_id),
                              void *ud)
{
    int rc = 0;
    artemisi_dict_entry_t *de;
    for (size_t it = 0; (de = artemisi_dict_next(&c->map, &it));) {
        cache_entry_t *e = de->value;
        if ((rc = cb(ud, e->svc->service_id)) != 0)
            break;
    }
    return rc;
}
