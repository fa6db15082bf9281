package artemis

/*
#cgo pkg-config: artemis
#cgo CFLAGS: -pthread
#cgo LDFLAGS: -pthread
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <artemis/artemis.h>

// Every C helper of the binding lives in this one preamble: static functions are only
// visible to the Go file whose preamble defines them, and the callbacks.go preamble may
// hold declarations only (it has //export functions).

#define GOART_MAX_ID 1024
#define GOART_PICK_BUF 512
#define GOART_NULL 0xffffffffu

// Service ids arrive as (pointer, length) without a C.CString allocation; the SDK needs
// them NUL-terminated, so they are copied into a bounded stack buffer.
static int goart_copy_id(char *dst, const void *p, size_t n)
{
	if (n == 0 || n > GOART_MAX_ID || memchr(p, 0, n))
		return -1;
	memcpy(dst, p, n);
	dst[n] = 0;
	return 0;
}

static void goart_bad_id(artemis_error_t *err)
{
	err->code = ARTEMIS_ERR_INVALID_ARG;
	err->sys_errno = 0;
	err->http_status = 0;
	snprintf(err->text, sizeof(err->text),
		 "service id must be 1..%d bytes without a NUL", GOART_MAX_ID);
}

// The snapshot travels to Go as one flat little-endian buffer (decoder in service.go):
// one copy into Go memory instead of one cgo call per field. A writer either fills a
// fixed buffer (cap bytes, counting what did not fit in len) or, with grow set, a malloc'd
// one it enlarges (oom set when that fails).
typedef struct {
	unsigned char *p;
	size_t cap, len;
	int grow, oom;
} goart_w;

static int goart_room(goart_w *w, size_t n)
{
	if (w->len + n <= w->cap)
		return 1;
	if (!w->grow || w->oom)
		return 0;
	size_t cap = w->cap * 2 > w->len + n ? w->cap * 2 : w->len + n;
	unsigned char *p = realloc(w->p, cap);
	if (!p) {
		w->oom = 1;
		return 0;
	}
	w->p = p;
	w->cap = cap;
	return 1;
}

static void goart_u32(goart_w *w, uint32_t v)
{
	if (goart_room(w, 4)) {
		unsigned char *o = w->p + w->len;
		o[0] = (unsigned char)v;
		o[1] = (unsigned char)(v >> 8);
		o[2] = (unsigned char)(v >> 16);
		o[3] = (unsigned char)(v >> 24);
	}
	w->len += 4;
}

static void goart_str(goart_w *w, const char *s)
{
	if (!s) {
		goart_u32(w, GOART_NULL);
		return;
	}
	size_t n = strlen(s);
	goart_u32(w, (uint32_t)n);
	if (goart_room(w, n))
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void goart_inst(goart_w *w, const artemis_instance_t *x)
{
	for (int f = ARTEMIS_FIELD_GROUP_ID; f <= ARTEMIS_FIELD_ZONE_ID; f++)
		goart_str(w, artemis_instance_get(x, (artemis_field_t)f));
	goart_u32(w, (uint32_t)artemis_instance_port(x));
	size_t n = artemis_instance_metadata_count(x);
	goart_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		goart_str(w, artemis_instance_metadata_key(x, i));
		goart_str(w, artemis_instance_metadata_value(x, i));
	}
}

// Group members are mostly the snapshot's own instances (the derived default group holds
// all of them): those go as an index into Instances (tag 0) or LogicInstances (tag 1),
// found with a cursor since a group keeps the snapshot's order; others in full (tag 2).
static size_t goart_find(const artemis_service_t *s, int logic, const artemis_instance_t *x,
			 size_t *cursor)
{
	size_t n = logic ? artemis_service_logic_instance_count(s) : artemis_service_instance_count(s);
	for (size_t k = 0; k < n; k++) {
		size_t i = (*cursor + k) % n;
		if ((logic ? artemis_service_logic_instance(s, i) : artemis_service_instance(s, i)) == x) {
			*cursor = i + 1;
			return i;
		}
	}
	return (size_t)-1;
}

static void goart_member(goart_w *w, const artemis_service_t *s, const artemis_instance_t *x,
			 size_t *reg_cursor, size_t *logic_cursor)
{
	size_t i = goart_find(s, 0, x, reg_cursor);
	if (i != (size_t)-1) {
		goart_u32(w, 0);
		goart_u32(w, (uint32_t)i);
		return;
	}
	i = goart_find(s, 1, x, logic_cursor);
	if (i != (size_t)-1) {
		goart_u32(w, 1);
		goart_u32(w, (uint32_t)i);
		return;
	}
	goart_u32(w, 2);
	goart_inst(w, x);
}

static void goart_service(goart_w *w, const artemis_service_t *s)
{
	goart_str(w, artemis_service_id(s));
	goart_u32(w, (uint32_t)(artemis_service_is_stale(s) != 0));
	uint64_t age = (uint64_t)artemis_service_age_ms(s);
	goart_u32(w, (uint32_t)age);
	goart_u32(w, (uint32_t)(age >> 32));
	size_t n = artemis_service_instance_count(s);
	goart_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		goart_inst(w, artemis_service_instance(s, i));
	n = artemis_service_logic_instance_count(s);
	goart_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		goart_inst(w, artemis_service_logic_instance(s, i));
	n = artemis_service_route_rule_count(s);
	goart_u32(w, (uint32_t)n);
	for (size_t r = 0; r < n; r++) {
		const artemis_route_rule_t *rule = artemis_service_route_rule(s, r);
		goart_str(w, artemis_route_rule_id(rule));
		goart_str(w, artemis_route_rule_strategy(rule));
		goart_u32(w, (uint32_t)(artemis_route_rule_is_derived(rule) != 0));
		size_t ng = artemis_route_rule_group_count(rule);
		goart_u32(w, (uint32_t)ng);
		for (size_t g = 0; g < ng; g++) {
			const artemis_group_t *grp = artemis_route_rule_group(rule, g);
			goart_str(w, artemis_group_key(grp));
			goart_u32(w, (uint32_t)artemis_group_weight(grp));
			size_t ni = artemis_group_instance_count(grp);
			goart_u32(w, (uint32_t)ni);
			size_t rc = 0, lc = 0;
			for (size_t i = 0; i < ni; i++)
				goart_member(w, s, artemis_group_instance(grp, i), &rc, &lc);
			size_t nm = artemis_group_metadata_count(grp);
			goart_u32(w, (uint32_t)nm);
			for (size_t i = 0; i < nm; i++) {
				goart_str(w, artemis_group_metadata_key(grp, i));
				goart_str(w, artemis_group_metadata_value(grp, i));
			}
		}
	}
}

// The encoded snapshot in a malloc'd buffer (free it), or NULL when memory ran out.
static unsigned char *goart_encode(const artemis_service_t *s, size_t *len)
{
	goart_w w = {NULL, 0, 0, 1, 0};
	w.cap = 256 + 192 * artemis_service_instance_count(s); // usually enough at once
	w.p = malloc(w.cap);
	if (!w.p)
		return NULL;
	goart_service(&w, s);
	if (w.oom) {
		free(w.p);
		return NULL;
	}
	*len = w.len;
	return w.p;
}

// ---- Lookup: the last snapshot handed to Go, per client and service id ----
//
// A Go *Service must hold no C memory, so the identity of the snapshot a Service was
// copied from is kept here, in C memory: per client, a table from the lower-cased service
// id (as the SDK's cache folds it) to the snapshot last encoded for Go (a reference is
// held, so its address cannot be reused by another snapshot) and a generation. The SDK
// keeps the same artemis_service_t* across identical refreshes, so the same pointer means
// the same view: the Go side then returns the *Service it decoded for that generation
// (lookupcache.go) without encoding anything. The watch callback goes through the same
// slots (goart_watch_view_cb). Slots are never removed before goart_table_free; at
// GOART_TABLE_MAX ids, new ids are not cached (always encoded).

#define GOART_TABLE_MAX 4096

typedef struct {
	char *key;              // lower-cased id, malloc'd
	uint32_t hash;
	artemis_service_t *svc; // a reference to the snapshot last encoded for Go
	uint64_t gen;           // the generation that encoding got
} goart_slot_t;

typedef struct goart_table {
	pthread_mutex_t mu;
	goart_slot_t *slots; // n used of cap
	size_t n, cap;
	uint32_t *index;     // open addressing over slots: 0 free, else slot + 1
	size_t index_cap;    // a power of two, at least twice cap
	uint64_t gen;        // the last generation handed out, table-wide
	struct goart_wud *wuds; // the userdata of the client's watches (goart_watch)
} goart_table_t;

// The userdata of a watch on a client with a table (goart_watch_view_cb): the Watch's
// handle and what the callback needs to record the snapshot it hands to Go in the table.
// Owned by the table: the SDK has no unwatch, so it lives as long as the client.
struct goart_wud {
	struct goart_wud *next;
	uintptr_t h;
	artemis_client_t *c;
	struct goart_table *t;
	size_t key_len;
	char key[]; // the watched id, lower-cased
};

static _Atomic long goart_tables_live; // for the tests: tables not freed yet

// NULL when memory runs out: Lookup then works without the table (always encodes).
static goart_table_t *goart_table_new(void)
{
	goart_table_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return NULL;
	}
	goart_tables_live++;
	return t;
}

// After artemis_client_free: no Lookup can be running (Client.mu is write-held).
static void goart_table_free(uintptr_t tp)
{
	goart_table_t *t = (goart_table_t *)tp;
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->slots[i].key);
		artemis_service_unref(t->slots[i].svc);
	}
	while (t->wuds) {
		struct goart_wud *u = t->wuds;
		t->wuds = u->next;
		free(u);
	}
	free(t->slots);
	free(t->index);
	pthread_mutex_destroy(&t->mu);
	free(t);
	goart_tables_live--;
}

static long goart_tables_count(void) { return goart_tables_live; }

static uint32_t goart_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u; // FNV-1a
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

// The slot of key (n bytes, lower-cased), added when absent; -1 when the table is full or
// memory runs out. Called with t->mu held.
static long goart_table_slot(goart_table_t *t, const char *key, size_t n)
{
	uint32_t h = goart_hash(key, n);
	size_t mask = t->index_cap - 1, i;
	if (t->index_cap) {
		for (i = h & mask; t->index[i]; i = (i + 1) & mask) {
			goart_slot_t *s = &t->slots[t->index[i] - 1];
			if (s->hash == h && strcmp(s->key, key) == 0)
				return (long)t->index[i] - 1;
		}
	}
	if (t->n == GOART_TABLE_MAX)
		return -1;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		goart_slot_t *slots = realloc(t->slots, cap * sizeof(*slots));
		if (!slots)
			return -1;
		t->slots = slots;
		uint32_t *index = calloc(cap * 2, sizeof(*index));
		if (!index)
			return -1; // slots is only larger: the table stays consistent
		free(t->index);
		t->index = index;
		t->index_cap = cap * 2;
		t->cap = cap;
		mask = t->index_cap - 1;
		for (size_t k = 0; k < t->n; k++) {
			for (i = t->slots[k].hash & mask; t->index[i]; i = (i + 1) & mask)
				;
			t->index[i] = (uint32_t)k + 1;
		}
	}
	char *copy = malloc(n + 1);
	if (!copy)
		return -1;
	memcpy(copy, key, n + 1);
	goart_slot_t *s = &t->slots[t->n];
	s->key = copy;
	s->hash = h;
	s->svc = NULL;
	s->gen = 0;
	for (i = h & mask; t->index[i]; i = (i + 1) & mask)
		;
	t->index[i] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

// goart_table_slot taking the lock, for the tests.
static long goart_table_slot_locked(uintptr_t tp, const char *key, size_t n)
{
	goart_table_t *t = (goart_table_t *)tp;
	pthread_mutex_lock(&t->mu);
	long slot = goart_table_slot(t, key, n);
	pthread_mutex_unlock(&t->mu);
	return slot;
}

// Returned by value (no Go pointer goes to C, nothing escapes to the Go heap) and kept
// small: the error, rare, comes in a malloc'd copy.
typedef struct {
	int rc;
	artemis_error_t *err; // when rc != ARTEMIS_OK: malloc'd (free it), NULL if memory ran out
	long slot;            // the table slot of the id, -1 when it is not cached
	uint64_t gen;         // the generation of the view in slot (0 when slot is -1)
	unsigned char *buf;   // the encoded view (copy it, then free it), or NULL when the view
	size_t size;          // is the one slot's generation names and force was 0
} goart_lookup_t;

static goart_lookup_t goart_lookup_fail(goart_lookup_t r, int rc, const artemis_error_t *e)
{
	r.rc = rc;
	r.err = malloc(sizeof(*r.err));
	if (r.err)
		*r.err = *e;
	return r;
}

// Lookup in one cgo call. The cached view when it is fresh, else artemis_client_discover
// (which waits up to timeout_ms). The table's lock is held while the cache is read and the
// slot compared, so a slot follows the cache's order of snapshots and its generation only
// grows: a lookup never reports a view older than one an earlier lookup got. With the
// same snapshot as the slot's, nothing is encoded unless force is set.
static goart_lookup_t goart_lookup(uintptr_t cp, uintptr_t tp, const void *id, size_t id_len,
				   int64_t timeout_ms, int force)
{
	artemis_client_t *c = (artemis_client_t *)cp;
	goart_table_t *t = (goart_table_t *)tp;
	goart_lookup_t r = {ARTEMIS_OK, NULL, -1, 0, NULL, 0};
	artemis_error_t e;
	char idb[GOART_MAX_ID + 1], key[GOART_MAX_ID + 1];
	artemis_service_t *svc = NULL;
	if (goart_copy_id(idb, id, id_len) != 0) {
		goart_bad_id(&e);
		return goart_lookup_fail(r, ARTEMIS_ERR_INVALID_ARG, &e);
	}
	if (t) {
		for (size_t i = 0; i <= id_len; i++)
			key[i] = (char)tolower((unsigned char)idb[i]);
		pthread_mutex_lock(&t->mu);
		svc = artemis_client_get_cached(c, idb);
		if (svc && artemis_service_is_stale(svc)) {
			artemis_service_unref(svc); // discover tries the servers first
			svc = NULL;
		}
		if (!svc)
			pthread_mutex_unlock(&t->mu);
	}
	if (!svc) {
		e.text[0] = 0;
		int rc = artemis_client_discover(c, idb, timeout_ms, &svc, &e);
		if (rc != ARTEMIS_OK)
			return goart_lookup_fail(r, rc, &e);
		if (t) {
			pthread_mutex_lock(&t->mu);
			// What the cache holds now is at least as new as the answer.
			artemis_service_t *cur = artemis_client_get_cached(c, idb);
			if (cur) {
				artemis_service_unref(svc);
				svc = cur;
			}
		}
	}
	if (t) {
		r.slot = goart_table_slot(t, key, id_len);
		if (r.slot >= 0) {
			goart_slot_t *s = &t->slots[r.slot];
			if (s->svc != svc) {
				artemis_service_unref(s->svc);
				s->svc = artemis_service_ref(svc);
				s->gen = ++t->gen;
				force = 1;
			}
			r.gen = s->gen;
		}
		pthread_mutex_unlock(&t->mu);
	}
	if (r.slot < 0 || force) {
		r.buf = goart_encode(svc, &r.size); // the snapshot is immutable: no lock needed
		if (!r.buf) {
			e.code = ARTEMIS_ERR_NOMEM;
			e.sys_errno = 0;
			e.http_status = 0;
			snprintf(e.text, sizeof(e.text), "out of memory copying %s", idb);
			r = goart_lookup_fail(r, ARTEMIS_ERR_NOMEM, &e);
		}
	}
	artemis_service_unref(svc);
	return r;
}

typedef struct {
	int rc;
	artemis_error_t *err;           // when rc != ARTEMIS_OK: malloc'd (free it), or NULL
	size_t size;                    // bytes of the encoded instance
	artemis_service_t *svc;         // only when size > GOART_PICK_BUF: goart_instance_take
	const artemis_instance_t *inst; // idem
	unsigned char buf[GOART_PICK_BUF];
} goart_pick_t;

static artemis_error_t *goart_err_copy(const artemis_error_t *e)
{
	artemis_error_t *p = malloc(sizeof(*p));
	if (p)
		*p = *e;
	return p;
}

// The whole Pick in one cgo call: the cached view (a lookup only when there is none), the
// SDK's weighted pick, and the chosen instance encoded into the returned struct. Returned
// by value so that no Go pointer is handed to C and nothing escapes to the Go heap.
static goart_pick_t goart_pick(uintptr_t cp, const void *id, size_t id_len,
			       int64_t timeout_ms)
{
	artemis_client_t *c = (artemis_client_t *)cp;
	goart_pick_t r;
	artemis_error_t e;
	char idb[GOART_MAX_ID + 1];
	r.rc = ARTEMIS_OK;
	r.err = NULL;
	r.size = 0;
	r.svc = NULL;
	r.inst = NULL;
	if (goart_copy_id(idb, id, id_len) != 0) {
		goart_bad_id(&e);
		r.rc = ARTEMIS_ERR_INVALID_ARG;
		r.err = goart_err_copy(&e);
		return r;
	}
	artemis_service_t *svc = artemis_client_get_cached(c, idb);
	if (!svc) {
		e.text[0] = 0;
		r.rc = artemis_client_discover(c, idb, timeout_ms, &svc, &e);
		if (r.rc != ARTEMIS_OK) {
			r.err = goart_err_copy(&e);
			return r;
		}
	}
	const artemis_instance_t *x = artemis_service_pick(svc);
	if (!x) {
		artemis_service_unref(svc);
		r.rc = ARTEMIS_ERR_NOT_FOUND;
		e.code = ARTEMIS_ERR_NOT_FOUND;
		e.sys_errno = 0;
		e.http_status = 0;
		snprintf(e.text, sizeof(e.text), "no instance of %s is up", idb);
		r.err = goart_err_copy(&e);
		return r;
	}
	goart_w w = {r.buf, sizeof(r.buf), 0, 0, 0};
	goart_inst(&w, x);
	r.size = w.len;
	if (w.len > sizeof(r.buf)) {
		r.svc = svc;
		r.inst = x;
	} else {
		artemis_service_unref(svc);
	}
	return r;
}

static void goart_instance_take(artemis_service_t *s, const artemis_instance_t *x, void *buf,
				size_t cap)
{
	goart_w w = {buf, cap, 0, 0, 0};
	goart_inst(&w, x);
	artemis_service_unref(s);
}

// ---- callbacks: C -> Go through the //export functions of callbacks.go ----
// userdata is a runtime/cgo.Handle (an integer), never a Go pointer.

extern void goArtemisWatch(uintptr_t h, unsigned char *p, size_t n);
extern int goArtemisWatchView(uintptr_t h, long slot, uint64_t gen, unsigned char *p, size_t n);
extern void goArtemisRegistration(uintptr_t h, char *service_id, char *instance_id, int state);
extern void goArtemisLog(uintptr_t h, int level, char *module, char *message);

static void goart_watch_cb(void *ud, const char *service_id, artemis_service_t *svc)
{
	(void)service_id;
	size_t n = 0;
	unsigned char *p = goart_encode(svc, &n);
	if (!p)
		return; // out of memory: the next change (or the poll) delivers a view again
	goArtemisWatch((uintptr_t)ud, p, n);
	free(p);
}

static void goart_reg_cb(void *ud, const char *service_id, const char *instance_id,
			 artemis_reg_state_t state, artemis_err_t last_error)
{
	(void)last_error;
	goArtemisRegistration((uintptr_t)ud, (char *)service_id, (char *)instance_id, (int)state);
}

static void goart_log_cb(void *ud, artemis_log_level_t level, const char *module,
			 const char *message)
{
	goArtemisLog((uintptr_t)ud, (int)level, (char *)module, (char *)message);
}

// The watch callback of a client with a table: like goart_lookup, the snapshot goes in
// the id's slot (the callback runs on the SDK thread, which alone changes the cache, so
// svc is the cached view), and Go gets the slot's generation. The view is encoded only
// when it is new to the slot or Go does not hold that generation's Service.
static void goart_watch_view_cb(void *ud, const char *service_id, artemis_service_t *svc)
{
	struct goart_wud *u = ud;
	goart_table_t *t = u->t;
	long slot = -1;
	uint64_t gen = 0;
	int encode = 1;
	(void)service_id;
	pthread_mutex_lock(&t->mu);
	artemis_service_t *cur = artemis_client_get_cached(u->c, u->key);
	if (cur == svc) {
		slot = goart_table_slot(t, u->key, u->key_len);
		if (slot >= 0) {
			goart_slot_t *s = &t->slots[slot];
			if (s->svc != svc) {
				artemis_service_unref(s->svc);
				s->svc = artemis_service_ref(svc);
				s->gen = ++t->gen;
			} else {
				encode = 0;
			}
			gen = s->gen;
		}
	}
	pthread_mutex_unlock(&t->mu);
	artemis_service_unref(cur);
	if (!encode && goArtemisWatchView(u->h, slot, gen, NULL, 0) == 0)
		return;
	size_t n = 0;
	unsigned char *p = goart_encode(svc, &n);
	if (!p)
		return; // out of memory: the next change (or the poll) delivers a view again
	goArtemisWatchView(u->h, slot, gen, p, n);
	free(p);
}

static int goart_watch(artemis_client_t *c, uintptr_t tp, const void *id, size_t id_len,
		       uintptr_t h, artemis_error_t *err)
{
	char buf[GOART_MAX_ID + 1];
	if (goart_copy_id(buf, id, id_len) != 0) {
		goart_bad_id(err);
		return ARTEMIS_ERR_INVALID_ARG;
	}
	goart_table_t *t = (goart_table_t *)tp;
	struct goart_wud *u = t ? malloc(sizeof(*u) + id_len + 1) : NULL;
	if (!u) // no table: every view is encoded
		return artemis_client_watch(c, buf, goart_watch_cb, (void *)h, err);
	u->h = h;
	u->c = c;
	u->t = t;
	u->key_len = id_len;
	for (size_t i = 0; i <= id_len; i++)
		u->key[i] = (char)tolower((unsigned char)buf[i]);
	int rc = artemis_client_watch(c, buf, goart_watch_view_cb, u, err);
	if (rc != ARTEMIS_OK) {
		free(u);
		return rc;
	}
	pthread_mutex_lock(&t->mu);
	u->next = t->wuds;
	t->wuds = u;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int goart_set_registration_cb(artemis_client_t *c, uintptr_t h)
{
	return artemis_client_set_registration_cb(c, goart_reg_cb, (void *)h);
}

static int goart_set_log_cb(artemis_config_t *cfg, uintptr_t h)
{
	return artemis_config_set_log_cb(cfg, goart_log_cb, (void *)h);
}

// ---- instances to register: Go strings copied without C.CString ----

static char *goart_dup(_GoString_ s)
{
	size_t n = _GoStringLen(s);
	if (n && memchr(_GoStringPtr(s), 0, n))
		return NULL;
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, _GoStringPtr(s), n);
		p[n] = 0;
	}
	return p;
}

static artemis_instance_t *goart_instance_new(_GoString_ sid, _GoString_ iid, _GoString_ ip,
					      int port)
{
	char *a = goart_dup(sid), *b = goart_dup(iid), *d = goart_dup(ip);
	artemis_instance_t *x = a && b && d ? artemis_instance_new(a, b, d, port) : NULL;
	free(a);
	free(b);
	free(d);
	return x;
}

static int goart_instance_set(artemis_instance_t *x, int field, _GoString_ v)
{
	char *p = goart_dup(v);
	int rc = p ? artemis_instance_set(x, (artemis_field_t)field, p) : ARTEMIS_ERR_INVALID_ARG;
	free(p);
	return rc;
}

static int goart_instance_set_metadata(artemis_instance_t *x, _GoString_ k, _GoString_ v)
{
	char *a = goart_dup(k), *b = goart_dup(v);
	int rc = a && b ? artemis_instance_set_metadata(x, a, b) : ARTEMIS_ERR_INVALID_ARG;
	free(a);
	free(b);
	return rc;
}

static int goart_deregister(artemis_client_t *c, _GoString_ sid, _GoString_ iid,
			    artemis_error_t *err)
{
	char *a = goart_dup(sid), *b = goart_dup(iid);
	int rc = a && b ? artemis_client_deregister(c, a, b, err) : ARTEMIS_ERR_INVALID_ARG;
	free(a);
	free(b);
	return rc;
}
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// tableMax is the number of service ids a client's Lookup table takes (GOART_TABLE_MAX).
const tableMax = C.GOART_TABLE_MAX

// maxIDLen is the longest service id the binding passes to the SDK (GOART_MAX_ID).
const maxIDLen = C.GOART_MAX_ID

// artemis_field_t numbers of the optional fields Register sets.
const (
	fieldGroupID        = C.ARTEMIS_FIELD_GROUP_ID
	fieldHealthCheckURL = C.ARTEMIS_FIELD_HEALTH_CHECK_URL
	fieldMachineName    = C.ARTEMIS_FIELD_MACHINE_NAME
	fieldProtocol       = C.ARTEMIS_FIELD_PROTOCOL
	fieldRegionID       = C.ARTEMIS_FIELD_REGION_ID
	fieldStatus         = C.ARTEMIS_FIELD_STATUS
	fieldURL            = C.ARTEMIS_FIELD_URL
	fieldZoneID         = C.ARTEMIS_FIELD_ZONE_ID
)

// cLookup runs goart_lookup and returns the view: the *Service views already holds for
// the generation the C table reports, or a new copy of the snapshot (recorded in views),
// with its generation (0 when the id has no slot: the table is full or missing). tab is
// the client's goart_table_t (0: no table, every view is copied).
func cLookup(c *C.artemis_client_t, tab uintptr, views *lookupCache, serviceID string, timeoutMS int64) (*Service, uint64, error) {
	r := C.goart_lookup(clientPtr(c), C.uintptr_t(tab), strData(serviceID), C.size_t(len(serviceID)), C.int64_t(timeoutMS), 0)
	if r.rc != C.ARTEMIS_OK {
		return nil, 0, takeErr(int(r.rc), r.err)
	}
	if r.buf == nil {
		// The slot's snapshot is unchanged: its Service, or a newer one another goroutine
		// stored meanwhile.
		if svc, gen := views.get(int(r.slot), uint64(r.gen)); svc != nil {
			return svc, gen, nil
		}
		// The goroutine that got this generation has not stored its copy yet: make one.
		r = C.goart_lookup(clientPtr(c), C.uintptr_t(tab), strData(serviceID), C.size_t(len(serviceID)), C.int64_t(timeoutMS), 1)
		if r.rc != C.ARTEMIS_OK {
			return nil, 0, takeErr(int(r.rc), r.err)
		}
	}
	s := C.GoStringN((*C.char)(unsafe.Pointer(r.buf)), C.int(r.size))
	C.free(unsafe.Pointer(r.buf))
	svc := decodeService(s)
	if r.slot < 0 {
		return svc, 0, nil
	}
	svc, gen := views.put(int(r.slot), uint64(r.gen), svc)
	return svc, gen, nil
}

// takeErr is the error of a failed helper call from the malloc'd copy of its details
// (freed here; nil when memory ran out).
func takeErr(code int, p *C.artemis_error_t) error {
	var e C.artemis_error_t
	if p != nil {
		e = *p
		C.free(unsafe.Pointer(p))
	}
	return errFrom(code, e)
}

// cTableNew is a new goart_table_t, or 0 when memory ran out (Lookup then always copies).
func cTableNew() uintptr { return uintptr(unsafe.Pointer(C.goart_table_new())) }

// cTableFree frees a goart_table_t and the references it holds; 0 is a no-op.
func cTableFree(tab uintptr) { C.goart_table_free(C.uintptr_t(tab)) }

// cTablesLive counts the tables not freed yet (for the tests).
func cTablesLive() int { return int(C.goart_tables_count()) }

// cPick runs goart_pick and copies the chosen instance.
func cPick(c *C.artemis_client_t, serviceID string, timeoutMS int64) (Instance, error) {
	r := C.goart_pick(clientPtr(c), strData(serviceID), C.size_t(len(serviceID)), C.int64_t(timeoutMS))
	if r.rc != C.ARTEMIS_OK {
		return Instance{}, takeErr(int(r.rc), r.err)
	}
	var s string
	if r.svc == nil {
		b := (*[C.GOART_PICK_BUF]byte)(unsafe.Pointer(&r.buf))[:r.size:r.size]
		s = string(b)
	} else {
		// Rare: an instance with more metadata than the inline buffer holds.
		buf := make([]byte, int(r.size))
		C.goart_instance_take(r.svc, r.inst, unsafe.Pointer(&buf[0]), r.size)
		s = bytesToString(buf)
	}
	d := decoder{s: s}
	var in Instance
	d.instance(&in)
	return in, nil
}

// cWatch adds a C watch whose callbacks carry h; with a table (tab != 0) its views go
// through the table as Lookup's do, so that both share the *Service of a snapshot.
func cWatch(c *C.artemis_client_t, tab uintptr, serviceID string, h cgo.Handle) error {
	var e C.artemis_error_t
	if rc := C.goart_watch(c, C.uintptr_t(tab), strData(serviceID), C.size_t(len(serviceID)), C.uintptr_t(h), &e); rc != C.ARTEMIS_OK {
		return errFrom(int(rc), e)
	}
	return nil
}

func cSetRegistrationCallback(c *C.artemis_client_t, h cgo.Handle) C.int {
	return C.goart_set_registration_cb(c, C.uintptr_t(h))
}

func cSetLogCallback(cfg *C.artemis_config_t, h cgo.Handle) C.int {
	return C.goart_set_log_cb(cfg, C.uintptr_t(h))
}

// cInstance builds the C instance to register; nil when the SDK refuses the arguments.
func cInstance(in *Instance) (*C.artemis_instance_t, error) {
	x := C.goart_instance_new(in.ServiceID, in.InstanceID, in.IP, C.int(in.Port))
	if x == nil {
		return nil, &Error{Code: CodeInvalidArg, Detail: "bad instance arguments (service id, instance id, ip or port)"}
	}
	fields := []struct {
		f C.int
		v string
	}{
		{fieldStatus, in.Status}, {fieldZoneID, in.ZoneID}, {fieldRegionID, in.RegionID},
		{fieldGroupID, in.GroupID}, {fieldMachineName, in.MachineName}, {fieldProtocol, in.Protocol},
		{fieldURL, in.URL}, {fieldHealthCheckURL, in.HealthCheckURL},
	}
	for _, f := range fields {
		if f.v == "" {
			continue // keep the SDK default
		}
		if rc := C.goart_instance_set(x, f.f, f.v); rc != C.ARTEMIS_OK {
			C.artemis_instance_free(x)
			return nil, &Error{Code: Code(rc), Detail: "bad instance field value " + quote(f.v)}
		}
	}
	for k, v := range in.Metadata {
		if rc := C.goart_instance_set_metadata(x, k, v); rc != C.ARTEMIS_OK {
			C.artemis_instance_free(x)
			return nil, &Error{Code: Code(rc), Detail: "bad metadata entry " + quote(k)}
		}
	}
	return x, nil
}

func cDeregister(c *C.artemis_client_t, serviceID, instanceID string) error {
	var e C.artemis_error_t
	if rc := C.goart_deregister(c, serviceID, instanceID, &e); rc != C.ARTEMIS_OK {
		return errFrom(int(rc), e)
	}
	return nil
}

// bytesToString reuses b's memory instead of copying it: the buffers passed here are
// never written again, and every field decoded from them is a substring.
func bytesToString(b []byte) string {
	return *(*string)(unsafe.Pointer(&b))
}

// strData is the address of s's bytes (nil for ""), for C helpers that take a length.
// C only reads them during the call.
func strData(s string) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&s))
}

// clientPtr passes the C client to the hot-path helpers as an integer: cgo boxes a
// pointer to an incomplete C type (not pointer-shaped for the Go runtime) into an
// interface for its pointer check, an allocation per call.
func clientPtr(c *C.artemis_client_t) C.uintptr_t {
	return C.uintptr_t(uintptr(unsafe.Pointer(c)))
}

// cTableSlot is the slot goart_table_slot gives key (already lower-cased), for the tests.
func cTableSlot(tab uintptr, key string) int {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	return int(C.goart_table_slot_locked(C.uintptr_t(tab), k, C.size_t(len(key))))
}
