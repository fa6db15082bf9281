/*
 * artemis._artemis: the CPython face of libartemis, on its public API only. The package
 * (artemis/__init__.py) builds the pythonic surface on two types:
 *
 *   Client   one artemis_client_t in threaded mode; its callbacks (registration states, watch
 *            changes, log lines) reach Python dispatchers given at construction.
 *   Service  one snapshot (a reference on an immutable artemis_service_t). Its Instance
 *            dataclasses are built on first use and then shared, so a cached lookup that finds
 *            the same snapshot as last time returns the same Service without building anything.
 *
 * Why a CPython extension and not cffi: docs/bindings.md has the measurement.
 *
 * Threads. The GIL is released around every call that can block or wait for an SDK lock the
 * SDK thread may hold while it waits for the GIL (discover, register, deregister, watch,
 * stop). get_cached() and pick() only take a reference or bump an atomic counter, so they run
 * with the GIL held. Callbacks from the SDK thread take the GIL with PyGILState_Ensure(); an
 * exception in a dispatcher goes to sys.unraisablehook and never into the SDK. A client is
 * freed only when no other Python thread is inside one of its blocking calls (busy == 0).
 *
 * fork(): the SDK's thread does not exist in a child, so a client created before fork() is
 * unusable there: every call raises ARTEMIS_ERR_STATE and the child never frees it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <artemis/artemis.h>

/* Set once by _set_types() from the package: the dataclasses and the error factory. */
static PyObject *instance_cls, *rule_cls, *group_cls, *error_factory;
static volatile unsigned long fork_gen;

static void after_fork_child(void)
{
    fork_gen++;
}

static int finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Raise the package's ArtemisError subclass for code/err (err may be NULL). */
static PyObject *raise_err(artemis_err_t code, const artemis_error_t *err)
{
    const char *text = err && err->text[0] ? err->text : artemis_strerror(code);
    PyObject *exc =
        error_factory ? PyObject_CallFunction(error_factory, "isli", (int)code, text,
                                              err ? err->http_status : 0L, err ? err->sys_errno : 0)
                      : NULL;
    if (!exc) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, text);
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* ---- Service ----------------------------------------------------------------------------- */

/* Instance objects by the C instance's address, for pick(): open addressing, power of 2. */
typedef struct {
    const artemis_instance_t *key;
    PyObject *obj; /* borrowed from instances / logic / extra */
} slot_t;

typedef struct {
    PyObject_HEAD artemis_service_t *svc; /* one reference, dropped in dealloc */
    PyObject *instances;                  /* tuple of Instance, built on first use */
    PyObject *logic;                      /* tuple of Instance (logical instances) */
    PyObject *rules;                      /* tuple of RouteRule */
    PyObject *extra;                      /* list: canary instances found only by pick */
    slot_t *slots;
    size_t cap, used;
} ServiceObject;

static PyTypeObject ServiceType;

static PyObject *str_or_none(const char *s)
{
    if (!s)
        Py_RETURN_NONE;
    /* The SDK validated its JSON as UTF-8; "replace" keeps a bad byte from the disk cache
     * from making the whole snapshot unreadable. */
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* The string fields of the Instance dataclass (artemis/_types.py) in its field order: the
 * first three, then port, then the rest, then metadata. */
static const artemis_field_t INSTANCE_FIELDS[] = {
    ARTEMIS_FIELD_SERVICE_ID, ARTEMIS_FIELD_INSTANCE_ID,     ARTEMIS_FIELD_IP,
    ARTEMIS_FIELD_STATUS,     ARTEMIS_FIELD_REGION_ID,       ARTEMIS_FIELD_ZONE_ID,
    ARTEMIS_FIELD_GROUP_ID,   ARTEMIS_FIELD_MACHINE_NAME,    ARTEMIS_FIELD_PROTOCOL,
    ARTEMIS_FIELD_URL,        ARTEMIS_FIELD_HEALTH_CHECK_URL};
#define N_STR_FIELDS (sizeof(INSTANCE_FIELDS) / sizeof(INSTANCE_FIELDS[0]))
#define N_ARGS       (N_STR_FIELDS + 2)

static PyObject *metadata_dict(size_t n, const char *(*key)(const void *, size_t),
                               const char *(*val)(const void *, size_t), const void *owner)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < n; i++) {
        PyObject *k = str_or_none(key(owner, i)), *v = str_or_none(val(owner, i));
        if (!k || !v || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

static const char *inst_meta_key(const void *o, size_t i)
{
    return artemis_instance_metadata_key(o, i);
}
static const char *inst_meta_val(const void *o, size_t i)
{
    return artemis_instance_metadata_value(o, i);
}
static const char *group_meta_key(const void *o, size_t i)
{
    return artemis_group_metadata_key(o, i);
}
static const char *group_meta_val(const void *o, size_t i)
{
    return artemis_group_metadata_value(o, i);
}

/* Instance(service_id, instance_id, ip, port, status, region_id, zone_id, group_id,
 * machine_name, protocol, url, health_check_url, metadata) */
static PyObject *instance_new(const artemis_instance_t *inst)
{
    PyObject *args[N_ARGS] = {0};
    PyObject *r = NULL;
    int ok = (args[3] = PyLong_FromLong(artemis_instance_port(inst))) != NULL;
    for (size_t i = 0; ok && i < N_STR_FIELDS; i++)
        ok = (args[i < 3 ? i : i + 1] =
                  str_or_none(artemis_instance_get(inst, INSTANCE_FIELDS[i]))) != NULL;
    if (ok && (args[N_ARGS - 1] = metadata_dict(artemis_instance_metadata_count(inst),
                                                inst_meta_key, inst_meta_val, inst)))
        r = PyObject_Vectorcall(instance_cls, args, N_ARGS, NULL);
    for (size_t i = 0; i < N_ARGS; i++)
        Py_XDECREF(args[i]);
    return r;
}

static int slot_put(ServiceObject *s, const artemis_instance_t *key, PyObject *obj)
{
    if ((s->used + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        slot_t *t = PyMem_Calloc(cap, sizeof(*t));
        if (!t) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i].key)
                continue;
            size_t h = ((uintptr_t)s->slots[i].key >> 4) & (cap - 1);
            while (t[h].key)
                h = (h + 1) & (cap - 1);
            t[h] = s->slots[i];
        }
        PyMem_Free(s->slots);
        s->slots = t;
        s->cap = cap;
    }
    size_t h = ((uintptr_t)key >> 4) & (s->cap - 1);
    while (s->slots[h].key && s->slots[h].key != key)
        h = (h + 1) & (s->cap - 1);
    if (!s->slots[h].key)
        s->used++;
    s->slots[h].key = key;
    s->slots[h].obj = obj;
    return 0;
}

static PyObject *slot_get(const ServiceObject *s, const artemis_instance_t *key)
{
    if (!s->cap)
        return NULL;
    size_t h = ((uintptr_t)key >> 4) & (s->cap - 1);
    while (s->slots[h].key) {
        if (s->slots[h].key == key)
            return s->slots[h].obj;
        h = (h + 1) & (s->cap - 1);
    }
    return NULL;
}

/* A tuple of Instance for n instances got by at(svc, i), each also entered in the table. */
static PyObject *instance_tuple(ServiceObject *s, size_t n,
                                const artemis_instance_t *(*at)(const artemis_service_t *, size_t))
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        const artemis_instance_t *ci = at(s->svc, i);
        PyObject *o = instance_new(ci);
        if (!o) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, o);
        if (slot_put(s, ci, o) < 0)
            Py_CLEAR(t);
    }
    return t;
}

static int ensure_instances(ServiceObject *s)
{
    if (s->instances)
        return 0;
    PyObject *a =
        instance_tuple(s, artemis_service_instance_count(s->svc), artemis_service_instance);
    if (!a)
        return -1;
    PyObject *b = instance_tuple(s, artemis_service_logic_instance_count(s->svc),
                                 artemis_service_logic_instance);
    if (!b) {
        Py_DECREF(a);
        return -1;
    }
    s->instances = a;
    s->logic = b;
    return 0;
}

/* The Instance object of a C instance of this snapshot (new reference). Canary instances the
 * server resolved belong to no list: built once and kept in extra. */
static PyObject *instance_of(ServiceObject *s, const artemis_instance_t *ci)
{
    if (ensure_instances(s) < 0)
        return NULL;
    PyObject *o = slot_get(s, ci);
    if (o) {
        Py_INCREF(o);
        return o;
    }
    if (!s->extra && !(s->extra = PyList_New(0)))
        return NULL;
    if (!(o = instance_new(ci)))
        return NULL;
    if (PyList_Append(s->extra, o) < 0 || slot_put(s, ci, o) < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return o;
}

static PyObject *service_wrap(artemis_service_t *svc) /* takes the reference */
{
    ServiceObject *s = PyObject_New(ServiceObject, &ServiceType);
    if (!s) {
        artemis_service_unref(svc);
        return NULL;
    }
    s->svc = svc;
    s->instances = s->logic = s->rules = s->extra = NULL;
    s->slots = NULL;
    s->cap = s->used = 0;
    return (PyObject *)s;
}

static void service_dealloc(ServiceObject *s)
{
    Py_XDECREF(s->instances);
    Py_XDECREF(s->logic);
    Py_XDECREF(s->rules);
    Py_XDECREF(s->extra);
    PyMem_Free(s->slots);
    artemis_service_unref(s->svc);
    PyObject_Free(s);
}

/* instances (closure NULL) or logic_instances (closure non-NULL). */
static PyObject *service_list(ServiceObject *s, void *closure)
{
    if (ensure_instances(s) < 0)
        return NULL;
    PyObject *t = closure ? s->logic : s->instances;
    Py_INCREF(t);
    return t;
}

/* A tuple of the n objects item(s, owner, i) makes; NULL on failure. */
static PyObject *tuple_of(ServiceObject *s, const void *owner, size_t n,
                          PyObject *(*item)(ServiceObject *, const void *, size_t))
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; t && i < n; i++) {
        PyObject *o = item(s, owner, i);
        if (!o)
            Py_CLEAR(t);
        else
            PyTuple_SET_ITEM(t, (Py_ssize_t)i, o);
    }
    return t;
}

static PyObject *member_at(ServiceObject *s, const void *g, size_t i)
{
    return instance_of(s, artemis_group_instance(g, i));
}

static PyObject *group_new(ServiceObject *s, const artemis_group_t *g)
{
    PyObject *insts = tuple_of(s, g, artemis_group_instance_count(g), member_at);
    PyObject *meta = NULL, *key = NULL, *r = NULL;
    if (!insts ||
        !(meta =
              metadata_dict(artemis_group_metadata_count(g), group_meta_key, group_meta_val, g)) ||
        !(key = str_or_none(artemis_group_key(g))))
        goto out;
    r = PyObject_CallFunction(group_cls, "OiOO", key, artemis_group_weight(g), insts, meta);
out:
    Py_XDECREF(insts);
    Py_XDECREF(meta);
    Py_XDECREF(key);
    return r;
}

static PyObject *rule_group(ServiceObject *s, const void *rule, size_t i)
{
    return group_new(s, artemis_route_rule_group(rule, i));
}

static PyObject *rule_new(ServiceObject *s, const artemis_route_rule_t *rule)
{
    PyObject *groups = tuple_of(s, rule, artemis_route_rule_group_count(rule), rule_group);
    PyObject *id = NULL, *strategy = NULL, *r = NULL;
    if (!groups || !(id = str_or_none(artemis_route_rule_id(rule))) ||
        !(strategy = str_or_none(artemis_route_rule_strategy(rule))))
        goto out;
    r = PyObject_CallFunction(rule_cls, "OOOO", id, strategy,
                              artemis_route_rule_is_derived(rule) ? Py_True : Py_False, groups);
out:
    Py_XDECREF(groups);
    Py_XDECREF(id);
    Py_XDECREF(strategy);
    return r;
}

static PyObject *service_rule(ServiceObject *s, const void *svc, size_t i)
{
    return rule_new(s, artemis_service_route_rule(svc, i));
}

static PyObject *service_rules(ServiceObject *s, void *closure)
{
    (void)closure;
    if (!s->rules &&
        !(s->rules = tuple_of(s, s->svc, artemis_service_route_rule_count(s->svc), service_rule)))
        return NULL;
    Py_INCREF(s->rules);
    return s->rules;
}

static PyObject *service_id(ServiceObject *s, void *closure)
{
    (void)closure;
    return str_or_none(artemis_service_id(s->svc));
}

static PyObject *service_stale(ServiceObject *s, void *closure)
{
    (void)closure;
    return PyBool_FromLong(artemis_service_is_stale(s->svc));
}

static PyObject *service_age_ms(ServiceObject *s, void *closure)
{
    (void)closure;
    return PyLong_FromLongLong(artemis_service_age_ms(s->svc));
}

static PyObject *service_pick(ServiceObject *s, PyObject *const *args, Py_ssize_t nargs)
{
    const artemis_instance_t *ci;
    if (nargs > 1)
        return PyErr_Format(PyExc_TypeError, "pick() takes at most 1 argument (%zd given)", nargs);
    if (nargs == 1 && args[0] != Py_None) {
        const char *route = PyUnicode_AsUTF8(args[0]);
        if (!route)
            return NULL;
        const artemis_route_rule_t *rule = artemis_service_find_route_rule(s->svc, route);
        if (!rule)
            return raise_err(ARTEMIS_ERR_NOT_FOUND, NULL);
        ci = artemis_route_rule_pick(rule);
    } else {
        ci = artemis_service_pick(s->svc);
    }
    if (!ci)
        Py_RETURN_NONE;
    return instance_of(s, ci);
}

static PyObject *service_to_json(ServiceObject *s, PyObject *unused)
{
    (void)unused;
    char *line = artemis_service_to_json(s->svc);
    if (!line)
        return PyErr_NoMemory();
    PyObject *r = PyUnicode_FromString(line);
    artemis_free(line);
    return r;
}

static Py_ssize_t service_len(ServiceObject *s)
{
    return (Py_ssize_t)artemis_service_instance_count(s->svc);
}

static PyObject *service_iter(ServiceObject *s)
{
    if (ensure_instances(s) < 0)
        return NULL;
    return PyObject_GetIter(s->instances);
}

static PyObject *service_repr(ServiceObject *s)
{
    return PyUnicode_FromFormat("<artemis.Service %s: %zu instances%s>", artemis_service_id(s->svc),
                                artemis_service_instance_count(s->svc),
                                artemis_service_is_stale(s->svc) ? ", stale" : "");
}

/* Two Service objects are equal when they wrap the same snapshot: the same view. */
static PyObject *service_richcompare(PyObject *a, PyObject *b, int op)
{
    if (!PyObject_TypeCheck(b, &ServiceType) || (op != Py_EQ && op != Py_NE))
        Py_RETURN_NOTIMPLEMENTED;
    int same = ((ServiceObject *)a)->svc == ((ServiceObject *)b)->svc;
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

static Py_hash_t service_hash(ServiceObject *s)
{
    Py_hash_t h = (Py_hash_t)((uintptr_t)s->svc >> 4); /* allocations are 16-aligned */
    return h == -1 ? -2 : h;
}

static PyGetSetDef service_getset[] = {
    {"service_id", (getter)service_id, NULL, "The service id as the server spells it.", NULL},
    {"instances", (getter)service_list, NULL,
     "Registered instances (tuple of Instance), in the server's order.", NULL},
    {"logic_instances", (getter)service_list, NULL,
     "Logical instances from the management database (tuple of Instance).", (void *)1},
    {"route_rules", (getter)service_rules, NULL,
     "Route rules as the SDK derived them (tuple of RouteRule); at least one.", NULL},
    {"stale", (getter)service_stale, NULL,
     "True when this view came from the disk cache or was kept while no server answered.", NULL},
    {"age_ms", (getter)service_age_ms, NULL,
     "Milliseconds since a server last confirmed this view.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef service_methods[] = {
    {"pick", (PyCFunction)(void (*)(void))service_pick, METH_FASTCALL,
     "pick(route_id=None) -> Instance | None\n\nOne 'up' instance by the route rule's weights "
     "(weighted round-robin between groups, round-robin inside one); with route_id, from that "
     "rule only (ArtemisError NOT_FOUND if the service has no such rule). None if none is up."},
    {"to_json", (PyCFunction)service_to_json, METH_NOARGS,
     "The examples' one-line JSON: serviceId and instanceId/ip/port/status of each instance."},
    {NULL, NULL, 0, NULL}};

static PySequenceMethods service_seq = {.sq_length = (lenfunc)service_len};

static PyTypeObject ServiceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "artemis.Service",
    .tp_basicsize = sizeof(ServiceObject),
    .tp_dealloc = (destructor)service_dealloc,
    .tp_repr = (reprfunc)service_repr,
    .tp_hash = (hashfunc)service_hash,
    .tp_richcompare = service_richcompare,
    .tp_as_sequence = &service_seq,
    .tp_iter = (getiterfunc)service_iter,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An immutable view of one service as the client's cache holds it.\n\n"
              "A newer view is a new Service; this one never changes.",
    .tp_methods = service_methods,
    .tp_getset = service_getset,
};

/* ---- Client ------------------------------------------------------------------------------ */

/* What the SDK thread's callbacks reach: apart from the Client object, because it must live
 * as long as the C client, which can outlive the object (see reap()). */
typedef struct {
    PyObject *on_reg;   /* on_reg(service_id, instance_id, state, error_code) */
    PyObject *on_watch; /* on_watch(service_id, Service) */
    PyObject *on_log;   /* on_log(level, module, message) or NULL */
} cbs_t;

static void cbs_free(cbs_t *cb) /* GIL held */
{
    if (!cb)
        return;
    Py_XDECREF(cb->on_reg);
    Py_XDECREF(cb->on_watch);
    Py_XDECREF(cb->on_log);
    PyMem_RawFree(cb);
}

typedef struct {
    PyObject_HEAD artemis_client_t *c;
    cbs_t *cbs;
    PyObject *cache;   /* dict: service id as asked -> the Service returned last */
    unsigned long gen; /* fork_gen at creation */
    int closed;
    int busy; /* Python threads inside a blocking call with the GIL released */
} ClientObject;

static void reg_cb(void *ud, const char *sid, const char *iid, artemis_reg_state_t st,
                   artemis_err_t err)
{
    cbs_t *cb = ud;
    if (finalizing())
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    if (cb->on_reg) {
        PyObject *r = PyObject_CallFunction(cb->on_reg, "ssii", sid, iid, (int)st, (int)err);
        if (!r)
            PyErr_WriteUnraisable(cb->on_reg);
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
}

static void watch_cb(void *ud, const char *sid, artemis_service_t *svc)
{
    cbs_t *cb = ud;
    if (finalizing())
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    if (cb->on_watch) {
        PyObject *s = service_wrap(artemis_service_ref(svc));
        PyObject *r = s ? PyObject_CallFunction(cb->on_watch, "sO", sid, s) : NULL;
        if (!r)
            PyErr_WriteUnraisable(cb->on_watch);
        Py_XDECREF(r);
        Py_XDECREF(s);
    }
    PyGILState_Release(g);
}

static void log_cb(void *ud, artemis_log_level_t level, const char *module, const char *msg)
{
    cbs_t *cb = ud;
    if (finalizing())
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    if (cb->on_log) {
        PyObject *r = PyObject_CallFunction(cb->on_log, "iss", (int)level, module, msg);
        if (!r)
            PyErr_WriteUnraisable(cb->on_log);
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
}

/* 0 if the client may be used; else an exception is set. */
static int usable(ClientObject *self)
{
    if (self->gen != fork_gen) {
        raise_err(ARTEMIS_ERR_STATE, NULL);
        return -1;
    }
    if (self->closed || !self->c) {
        raise_err(ARTEMIS_ERR_CLOSED, NULL);
        return -1;
    }
    return 0;
}

static int client_init(ClientObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"servers",  "region",    "zone",   "heartbeat_ms", "request_timeout_ms",
                            "poll_ms",  "cache_dir", "token",  "ca_file",      "cert_file",
                            "key_file", "log_level", "on_reg", "on_watch",     "on_log",
                            NULL};
    const char *servers = NULL, *region = NULL, *zone = NULL, *cache_dir = NULL, *token = NULL,
               *ca = NULL, *cert = NULL, *key = NULL;
    long long hb = 0, rt = 0, poll = 0;
    int level = -1;
    PyObject *on_reg = NULL, *on_watch = NULL, *on_log = Py_None;
    if (self->c) {
        PyErr_SetString(PyExc_RuntimeError, "Client.__init__ called twice");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zzLLLzzzzziOOO", names, &servers, &region, &zone,
                                     &hb, &rt, &poll, &cache_dir, &token, &ca, &cert, &key, &level,
                                     &on_reg, &on_watch, &on_log))
        return -1;
    artemis_config_t *cfg = artemis_config_new();
    if (!cfg) {
        PyErr_NoMemory();
        return -1;
    }
    artemis_err_t rc = artemis_config_set_servers(cfg, servers);
    const char *what = "servers";
#define SET(cond, call, name)                                                                      \
    if (rc == ARTEMIS_OK && (cond)) {                                                              \
        rc = (call);                                                                               \
        what = (name);                                                                             \
    }
    SET(region, artemis_config_set_region(cfg, region), "region")
    SET(zone, artemis_config_set_zone(cfg, zone), "zone")
    SET(hb, artemis_config_set_heartbeat_interval_ms(cfg, hb), "heartbeat_interval")
    SET(rt, artemis_config_set_request_timeout_ms(cfg, rt), "request_timeout")
    SET(poll, artemis_config_set_poll_interval_ms(cfg, poll), "poll_interval")
    SET(cache_dir, artemis_config_set_cache_dir(cfg, cache_dir), "cache_dir")
    SET(token, artemis_config_set_token(cfg, token), "token")
    SET(ca, artemis_config_set_tls_ca_file(cfg, ca), "ca_file")
    SET(cert || key, artemis_config_set_tls_client_cert(cfg, cert, key), "cert_file/key_file")
    SET(level >= 0, artemis_config_set_log_level(cfg, (artemis_log_level_t)level), "log_level")
    if (!(self->cbs = PyMem_RawCalloc(1, sizeof(*self->cbs)))) {
        artemis_config_free(cfg);
        PyErr_NoMemory();
        return -1;
    }
    SET(on_log != Py_None, artemis_config_set_log_cb(cfg, log_cb, self->cbs), "log")
#undef SET
    if (rc != ARTEMIS_OK) {
        artemis_error_t e = {.code = rc};
        /* The token's value is a secret: name the setting, never the value. */
        snprintf(e.text, sizeof(e.text), "invalid %s: %s", what, artemis_strerror(rc));
        artemis_config_free(cfg);
        raise_err(rc, &e);
        return -1;
    }
    artemis_error_t err = {0};
    self->c = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!self->c) {
        raise_err(err.code ? err.code : ARTEMIS_ERR_NOMEM, &err);
        return -1;
    }
    self->gen = fork_gen;
    if (!(self->cache = PyDict_New()))
        return -1;
    Py_XINCREF(on_reg);
    Py_XINCREF(on_watch);
    self->cbs->on_reg = on_reg;
    self->cbs->on_watch = on_watch;
    if (on_log != Py_None) {
        Py_INCREF(on_log);
        self->cbs->on_log = on_log;
    }
    artemis_client_set_registration_cb(self->c, reg_cb, self->cbs);
    if (artemis_client_start(self->c, &err) != ARTEMIS_OK) {
        raise_err(err.code, &err);
        return -1;
    }
    return 0;
}

typedef struct {
    artemis_client_t *c;
    cbs_t *cbs;
} reap_t;

/* Frees a C client whose last Python reference went away on its own SDK thread (inside a
 * callback), where it cannot be stopped: another thread can. */
static void *reaper(void *arg)
{
    reap_t *r = arg;
    artemis_client_free(r->c);
    if (!finalizing()) {
        PyGILState_STATE g = PyGILState_Ensure();
        cbs_free(r->cbs);
        PyGILState_Release(g);
    }
    PyMem_RawFree(r);
    return NULL;
}

static int reap(ClientObject *self)
{
    pthread_t t;
    pthread_attr_t a;
    reap_t *r = PyMem_RawMalloc(sizeof(*r));
    if (!r || pthread_attr_init(&a) != 0) {
        PyMem_RawFree(r);
        return -1;
    }
    r->c = self->c;
    r->cbs = self->cbs;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, reaper, r);
    pthread_attr_destroy(&a);
    if (rc != 0) {
        PyMem_RawFree(r);
        return -1;
    }
    self->c = NULL;
    self->cbs = NULL;
    return 0;
}

/* Stop and free the C client: 0, or -1 with an exception set when called on the SDK thread
 * (from a callback: the thread cannot join itself). With reap set (the object is being
 * finalized) that case hands the client to a reaper thread instead. Waits (GIL released) for
 * threads still inside a blocking call: artemis_client_stop() wakes them with
 * ARTEMIS_ERR_CLOSED. */
static int client_shutdown(ClientObject *self, int64_t timeout_ms, int reap_in_callback)
{
    artemis_client_t *c = self->c;
    if (!c) {
        self->closed = 1;
        return 0;
    }
    if (self->gen != fork_gen) {
        self->closed = 1;
        self->c = NULL; /* the parent's client: its thread is not ours to stop */
        return 0;
    }
    PyThreadState *ts = PyEval_SaveThread();
    artemis_err_t rc = artemis_client_stop(c, timeout_ms);
    PyEval_RestoreThread(ts);
    if (rc == ARTEMIS_ERR_STATE) {
        if (reap_in_callback && reap(self) == 0) {
            self->closed = 1;
            return 0;
        }
        artemis_error_t e = {.code = rc};
        snprintf(e.text, sizeof(e.text),
                 "close() cannot run on the SDK's thread (from a callback); close from another "
                 "thread");
        raise_err(rc, &e);
        return -1;
    }
    self->closed = 1;
    while (self->busy > 0) {
        ts = PyEval_SaveThread();
        usleep(1000);
        PyEval_RestoreThread(ts);
    }
    if (self->c != c)
        return 0; /* another thread finished the job while we waited */
    self->c = NULL;
    ts = PyEval_SaveThread();
    artemis_client_free(c);
    PyEval_RestoreThread(ts);
    cbs_free(self->cbs); /* no callback can run any more */
    self->cbs = NULL;
    return 0;
}

static PyObject *client_close(ClientObject *self, PyObject *args)
{
    long long timeout_ms = 2000;
    if (!PyArg_ParseTuple(args, "|L", &timeout_ms))
        return NULL;
    if (client_shutdown(self, timeout_ms, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int client_traverse(ClientObject *self, visitproc visit, void *arg)
{
    if (self->cbs) {
        Py_VISIT(self->cbs->on_reg);
        Py_VISIT(self->cbs->on_watch);
        Py_VISIT(self->cbs->on_log);
    }
    Py_VISIT(self->cache);
    return 0;
}

/* The collector calls this only after client_finalize() stopped the C client (or handed it
 * to a reaper, which then owns cbs): no callback can run. */
static int client_clear(ClientObject *self)
{
    if (!self->c) {
        cbs_free(self->cbs);
        self->cbs = NULL;
    }
    Py_CLEAR(self->cache);
    return 0;
}

/* Runs before tp_clear for cyclic garbage too, so callbacks have stopped before their
 * dispatchers go. */
static void client_finalize(ClientObject *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (client_shutdown(self, 2000, 1) < 0)
        PyErr_WriteUnraisable((PyObject *)self);
    PyErr_Restore(type, value, tb);
}

static void client_dealloc(ClientObject *self)
{
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
        return; /* resurrected */
    PyObject_GC_UnTrack(self);
    client_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The Service for snapshot svc (reference taken over): the cached object when it wraps the
 * same snapshot, else a new one that becomes the cached one. */
static PyObject *cache_wrap(ClientObject *self, PyObject *sid, artemis_service_t *svc)
{
    PyObject *prev = self->cache ? PyDict_GetItemWithError(self->cache, sid) : NULL;
    if (prev && ((ServiceObject *)prev)->svc == svc) {
        artemis_service_unref(svc); /* prev holds one: the address cannot have been reused */
        Py_INCREF(prev);
        return prev;
    }
    if (PyErr_Occurred()) {
        artemis_service_unref(svc);
        return NULL;
    }
    PyObject *s = service_wrap(svc);
    if (s && self->cache && PyDict_SetItem(self->cache, sid, s) < 0)
        Py_CLEAR(s);
    return s;
}

static PyObject *client_cached(ClientObject *self, PyObject *sid)
{
    const char *id = PyUnicode_AsUTF8(sid);
    if (!id || usable(self) < 0)
        return NULL;
    artemis_service_t *svc = artemis_client_get_cached(self->c, id);
    if (!svc)
        Py_RETURN_NONE;
    return cache_wrap(self, sid, svc);
}

/* lookup(service_id, timeout_ms): the cached view, else a lookup that waits. */
static PyObject *client_lookup(ClientObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2)
        return PyErr_Format(PyExc_TypeError, "lookup() takes 2 arguments (%zd given)", nargs);
    const char *id = PyUnicode_AsUTF8(args[0]);
    long long timeout_ms = PyLong_AsLongLong(args[1]);
    if (!id || (timeout_ms == -1 && PyErr_Occurred()) || usable(self) < 0)
        return NULL;
    artemis_service_t *svc = artemis_client_get_cached(self->c, id);
    if (svc)
        return cache_wrap(self, args[0], svc);
    artemis_error_t err = {0};
    artemis_err_t rc;
    artemis_client_t *c = self->c;
    self->busy++;
    PyThreadState *ts = PyEval_SaveThread();
    rc = artemis_client_discover(c, id, timeout_ms, &svc, &err);
    PyEval_RestoreThread(ts);
    self->busy--;
    if (rc != ARTEMIS_OK)
        return raise_err(rc, &err);
    return cache_wrap(self, args[0], svc);
}

static PyObject *client_register(ClientObject *self, PyObject *args)
{
    const char *sid, *iid, *ip;
    int port;
    PyObject *fields, *meta;
    if (!PyArg_ParseTuple(args, "sssiO!O!", &sid, &iid, &ip, &port, &PyTuple_Type, &fields,
                          &PyDict_Type, &meta) ||
        usable(self) < 0)
        return NULL;
    artemis_instance_t *inst = artemis_instance_new(sid, iid, ip, port);
    if (!inst) {
        artemis_error_t e = {.code = ARTEMIS_ERR_INVALID_ARG};
        snprintf(e.text, sizeof(e.text),
                 "service_id, instance_id and ip must be non-blank and port 1..65535");
        return raise_err(ARTEMIS_ERR_INVALID_ARG, &e);
    }
    artemis_err_t rc = ARTEMIS_OK;
    for (Py_ssize_t i = 0; rc == ARTEMIS_OK && i < PyTuple_GET_SIZE(fields); i++) {
        int f;
        const char *v;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fields, i), "iz", &f, &v))
            goto fail;
        rc = artemis_instance_set(inst, (artemis_field_t)f, v);
    }
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (rc == ARTEMIS_OK && PyDict_Next(meta, &pos, &k, &v)) {
        const char *ks = PyUnicode_AsUTF8(k), *vs = PyUnicode_AsUTF8(v);
        if (!ks || !vs)
            goto fail;
        rc = artemis_instance_set_metadata(inst, ks, vs);
    }
    if (rc != ARTEMIS_OK) {
        artemis_instance_free(inst);
        return raise_err(rc, NULL);
    }
    artemis_error_t err = {0};
    artemis_client_t *c = self->c;
    self->busy++;
    PyThreadState *ts = PyEval_SaveThread();
    rc = artemis_client_register(c, inst, &err);
    PyEval_RestoreThread(ts);
    self->busy--;
    artemis_instance_free(inst);
    if (rc != ARTEMIS_OK)
        return raise_err(rc, &err);
    Py_RETURN_NONE;
fail:
    artemis_instance_free(inst);
    return NULL;
}

static PyObject *client_deregister(ClientObject *self, PyObject *args)
{
    const char *sid, *iid;
    if (!PyArg_ParseTuple(args, "ss", &sid, &iid) || usable(self) < 0)
        return NULL;
    artemis_error_t err = {0};
    artemis_err_t rc;
    artemis_client_t *c = self->c;
    self->busy++;
    PyThreadState *ts = PyEval_SaveThread();
    rc = artemis_client_deregister(c, sid, iid, &err);
    PyEval_RestoreThread(ts);
    self->busy--;
    if (rc != ARTEMIS_OK)
        return raise_err(rc, &err);
    Py_RETURN_NONE;
}

static PyObject *client_state(ClientObject *self, PyObject *args)
{
    const char *sid, *iid;
    if (!PyArg_ParseTuple(args, "ss", &sid, &iid) || usable(self) < 0)
        return NULL;
    return PyLong_FromLong(artemis_client_registration_state(self->c, sid, iid));
}

static PyObject *client_watch(ClientObject *self, PyObject *sid)
{
    const char *id = PyUnicode_AsUTF8(sid);
    if (!id || usable(self) < 0)
        return NULL;
    artemis_error_t err = {0};
    artemis_err_t rc;
    artemis_client_t *c = self->c;
    self->busy++;
    PyThreadState *ts = PyEval_SaveThread();
    rc = artemis_client_watch(c, id, watch_cb, self->cbs, &err);
    PyEval_RestoreThread(ts);
    self->busy--;
    if (rc != ARTEMIS_OK)
        return raise_err(rc, &err);
    Py_RETURN_NONE;
}

static PyMethodDef client_methods[] = {
    {"close", (PyCFunction)client_close, METH_VARARGS,
     "close(timeout_ms=2000): deregister everything, stop the SDK thread. Idempotent."},
    {"cached", (PyCFunction)client_cached, METH_O,
     "cached(service_id) -> Service | None: the cached view, no I/O."},
    {"lookup", (PyCFunction)(void (*)(void))client_lookup, METH_FASTCALL,
     "lookup(service_id, timeout_ms) -> Service: cached view, else a lookup that waits."},
    {"register", (PyCFunction)client_register, METH_VARARGS,
     "register(service_id, instance_id, ip, port, ((field, value), ...), metadata)"},
    {"deregister", (PyCFunction)client_deregister, METH_VARARGS,
     "deregister(service_id, instance_id)"},
    {"state", (PyCFunction)client_state, METH_VARARGS,
     "state(service_id, instance_id) -> int (artemis_reg_state_t)"},
    {"watch", (PyCFunction)client_watch, METH_O,
     "watch(service_id): on_watch runs after every change of the service's view."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ClientType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "artemis._artemis.Client",
    .tp_basicsize = sizeof(ClientObject),
    .tp_dealloc = (destructor)client_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One libartemis client in threaded mode (use artemis.Client).",
    .tp_traverse = (traverseproc)client_traverse,
    .tp_clear = (inquiry)client_clear,
    .tp_methods = client_methods,
    .tp_init = (initproc)client_init,
    .tp_new = PyType_GenericNew,
    .tp_finalize = (destructor)client_finalize,
};

/* ---- module ------------------------------------------------------------------------------ */

static PyObject *set_types(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *a, *b, *c, *d;
    if (!PyArg_ParseTuple(args, "OOOO", &a, &b, &c, &d))
        return NULL;
    Py_INCREF(a);
    Py_INCREF(b);
    Py_INCREF(c);
    Py_INCREF(d);
    Py_XSETREF(instance_cls, a);
    Py_XSETREF(rule_cls, b);
    Py_XSETREF(group_cls, c);
    Py_XSETREF(error_factory, d);
    Py_RETURN_NONE;
}

static PyObject *lib_version(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(artemis_version());
}

static PyObject *strerror_(PyObject *mod, PyObject *code)
{
    (void)mod;
    long n = PyLong_AsLong(code);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(artemis_strerror((artemis_err_t)n));
}

static PyMethodDef module_methods[] = {
    {"_set_types", set_types, METH_VARARGS,
     "_set_types(Instance, RouteRule, Group, error_factory): the package's classes."},
    {"library_version", lib_version, METH_NOARGS, "The loaded libartemis version string."},
    {"strerror", strerror_, METH_O, "The SDK's static text for an error code."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "artemis._artemis",
    .m_doc = "libartemis for CPython: low-level types under the artemis package.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__artemis(void);

PyMODINIT_FUNC PyInit__artemis(void)
{
    static int atfork_done;
    if (PyType_Ready(&ServiceType) < 0 || PyType_Ready(&ClientType) < 0)
        return NULL;
    if (!atfork_done && pthread_atfork(NULL, NULL, after_fork_child) == 0)
        atfork_done = 1;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&ServiceType);
    Py_INCREF(&ClientType);
    if (PyModule_AddObject(m, "Service", (PyObject *)&ServiceType) < 0 ||
        PyModule_AddObject(m, "Client", (PyObject *)&ClientType) < 0 ||
        PyModule_AddIntConstant(m, "ABI_VERSION", ARTEMIS_ABI_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
