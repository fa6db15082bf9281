/*
 * WebSocket sessions (protocol.md §5, and /api/v1/discovery/subscribe/{serviceId} of docs/api.md).
 *
 * A session owns the bufferevent handed over by the HTTP layer after the 101 handshake and
 * a pure frame parser (ws_frame.c). Four kinds:
 *   heartbeat   - each text frame is a HeartbeatRequest, answered like heartbeat.json;
 *   discovery   - text frames subscribe to serviceIds; InstanceChange pushes follow;
 *   all         - every InstanceChange, no subscription;
 *   subscribe   - v1: the whole instance list of one service after every change.
 *
 * Back-pressure: a session's pending output is bounded by ws.max-queue-bytes. When a push
 * does not fit, it is coalesced: the session remembers the service (once) and, when its
 * output has drained, gets one "reload" change for it (protocol.md §1.6: re-fetch the service)
 * or, for v1, the latest list. A session that stays over its bound for DROP_AFTER_MS, or
 * whose set of pending services grows past MAX_PENDING, is dropped; the client reconnects
 * and resyncs. Server memory per session therefore stays bounded whatever the client does.
 */
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "codec.h"
#include "list.h"
#include "log.h"
#include "api.h"
#include "server.h"
#include "ws_session.h"
#include "ws_frame.h"

#define DROP_AFTER_MS 30000
#define MAX_PENDING   1024
#define MAX_SUBS      4096
#define FIXED_HB_SUCCESS                                                                           \
    "{\"failedInstances\":null,\"responseStatus\":{\"errorCode\":\"success\",\"message\":\"\","    \
    "\"status\":\"success\"}}"

#define HB_REQUEST_NULL                                                                            \
    "{\"failedInstances\":null,\"responseStatus\":{\"errorCode\":\"bad-request\",\"message\":"     \
    "\"request is null\",\"status\":\"fail\"}}"
/* What Java sends when processing throws: the client retries the heartbeat later. */
#define HB_OOM                                                                                     \
    "{\"failedInstances\":null,\"responseStatus\":{\"errorCode\":\"internal-service-error\","      \
    "\"message\":\"out of memory\",\"status\":\"fail\"}}"

/* The frame is the JSON literal null (surrounding blanks allowed). */
static int is_json_null(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    return n == 4 && memcmp(p, "null", 4) == 0;
}

typedef struct srv_ws srv_ws_t;

typedef struct sublist {
    char *id;
    srv_ws_t **v;
    size_t n, cap;
} sublist_t;

struct srv_ws {
    srv_server_t *srv;
    struct bufferevent *bev;
    artemisi_ws_parser_t *parser;
    srv_ws_kind_t kind;
    srv_client_t client; /* taken over from the HTTP connection (clients.h) */
    srv_ws_t *next, *prev;
    int64_t opened_mono;
    int closing;
    char **subs;
    size_t n_subs, cap_subs;
    char **pending;
    size_t n_pending, cap_pending;
    int64_t overflow_since;
    int v1_dirty;
};

/* The hub's own state; the rest of the server sees only ws_session.h. */
struct srv_ws_hub {
    srv_ws_t *sessions[SRV_WS_KINDS];
    size_t n[SRV_WS_KINDS];
    artemisi_dict_t subs;    /* serviceId -> sublist_t (discovery sessions) */
    artemisi_dict_t v1_subs; /* serviceId -> sublist_t (v1 subscribe sessions) */
    struct event *ev_flush;  /* coalesced v1 pushes, once per loop turn */
};

static void ws_free(srv_ws_t *ws);

/* ---- string sets (small arrays; per-session sizes are bounded) ---------------------------- */

static int strset_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static int strset_add(char ***v, size_t *n, size_t *cap, const char *s)
{
    if (strset_has(*v, *n, s))
        return 0;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        char **nv = realloc(*v, ncap * sizeof(char *));
        if (!nv)
            srv_oom();
        *v = nv;
        *cap = ncap;
    }
    (*v)[*n] = strdup(s);
    if (!(*v)[*n])
        srv_oom();
    (*n)++;
    return 1;
}

static void strset_clear(char **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    *n = 0;
}

/* ---- subscription index: serviceId -> sessions --------------------------------------------- */

static artemisi_dict_t *index_for(srv_server_t *srv, srv_ws_kind_t kind)
{
    return kind == SRV_WS_SUBSCRIBE ? &srv->ws->v1_subs : &srv->ws->subs;
}

static void index_add(srv_ws_t *ws, const char *sid)
{
    artemisi_dict_t *d = index_for(ws->srv, ws->kind);
    sublist_t *l = artemisi_dict_get(d, sid);
    if (!l) {
        l = calloc(1, sizeof(*l));
        if (!l || !(l->id = strdup(sid)))
            srv_oom();
        int failed;
        artemisi_dict_put(d, l->id, l, &failed);
        if (failed)
            srv_oom();
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 4;
        srv_ws_t **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            srv_oom();
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = ws;
}

static void index_remove(srv_ws_t *ws, const char *sid)
{
    artemisi_dict_t *d = index_for(ws->srv, ws->kind);
    sublist_t *l = artemisi_dict_get(d, sid);
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == ws) {
            l->v[i] = l->v[--l->n];
            break;
        }
    }
    if (l->n == 0) {
        artemisi_dict_del(d, l->id);
        free(l->v);
        free(l->id);
        free(l);
    }
}

/* ---- sending -------------------------------------------------------------------------------- */

static size_t queued(const srv_ws_t *ws)
{
    return evbuffer_get_length(bufferevent_get_output(ws->bev));
}

static void ws_close(srv_ws_t *ws, int code, const char *reason)
{
    if (ws->closing)
        return;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_ws_close_append(&b, code, reason);
    bufferevent_write(ws->bev, b.data, b.len);
    artemisi_buf_free(&b);
    ws->closing = 1;
    bufferevent_disable(ws->bev, EV_READ);
    if (queued(ws) == 0)
        ws_free(ws);
}

static void ws_drop(srv_ws_t *ws, const char *why)
{
    srv_log(SRV_LOG_INFO, "ws: dropping a session: %s", why);
    ws->srv->metrics.ws_sessions_dropped++;
    ws_free(ws); /* it does not read: a close frame would only queue behind the backlog */
}

/* Send one frame; returns 0, or -1 if the session was dropped for not reading. */
static int ws_send(srv_ws_t *ws, int opcode, const char *data, size_t len)
{
    if (ws->closing)
        return -1;
    if (queued(ws) + len > (size_t)ws->srv->cfg.ws_max_queue_bytes) {
        ws_drop(ws, "send queue over ws.max-queue-bytes");
        return -1;
    }
    unsigned char hdr[ARTEMISI_WS_MAX_HEADER];
    size_t hl = artemisi_ws_frame_header(hdr, opcode, len);
    struct evbuffer *out = bufferevent_get_output(ws->bev);
    evbuffer_add(out, hdr, hl);
    evbuffer_add(out, data, len);
    ws->srv->metrics.ws_messages_out++;
    return 0;
}

static void append_reload(artemisi_buf_t *b, const char *service_id, int64_t now_wall)
{
    artemisi_instance_t fake;
    memset(&fake, 0, sizeof(fake));
    ARTEMISI_INST(&fake, SERVICE_ID) = service_id;
    ARTEMISI_INST(&fake, INSTANCE_ID) = "reload";
    ARTEMISI_INST(&fake, IP) = "0.0.0.0";
    ARTEMISI_INST(&fake, URL) = "http://serviceId/reload";
    fake.meta_null = 1;
    artemisi_encode_change(b, "reload", now_wall, &fake);
}

static void v1_append(artemisi_buf_t *b, srv_server_t *srv, const char *sid)
{
    srv_service_t *s = srv_registry_service(srv->registry, sid);
    const artemisi_buf_t *j = s ? srv_service_json(s) : NULL;
    if (s && !j)
        b->failed = 1; /* out of memory: the session is dropped, not told the list is empty */
    artemisi_buf_appends(b, "{\"type\":\"service_change\",\"serviceId\":");
    artemisi_json_str(b, sid);
    artemisi_buf_appends(b, ",\"instances\":");
    artemisi_buf_append(b, j ? j->data : "[]", j ? j->len : 2);
    artemisi_buf_appendc(b, '}');
}

/* Queue a push; coalesce to a per-service reload if it does not fit. A push whose JSON could
 * not be built completely (out of memory) is never sent: the session is dropped instead, and
 * its client reconnects and reloads, which is right where a truncated push would be wrong. */
static void ws_push(srv_ws_t *ws, const char *sid, const artemisi_buf_t *b)
{
    srv_server_t *srv = ws->srv;
    const char *data = b->data;
    size_t len = b->len;
    if (ws->closing)
        return;
    if (artemisi_buf_failed(b)) {
        ws_drop(ws, "out of memory while building a push");
        return;
    }
    if (ws->n_pending == 0 && queued(ws) + len <= (size_t)srv->cfg.ws_max_queue_bytes) {
        ws_send(ws, ARTEMISI_WS_OP_TEXT, data, len);
        return;
    }
    srv->metrics.ws_push_coalesced++;
    if (ws->overflow_since == 0)
        ws->overflow_since = srv_now_mono();
    strset_add(&ws->pending, &ws->n_pending, &ws->cap_pending, sid);
    if (ws->n_pending > MAX_PENDING)
        ws_drop(ws, "too many coalesced services pending");
}

/* Output drained: deliver what was coalesced. */
static void ws_flush_pending(srv_ws_t *ws)
{
    srv_server_t *srv = ws->srv;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    size_t i = 0;
    for (; i < ws->n_pending; i++) {
        artemisi_buf_reset(&b);
        if (ws->kind == SRV_WS_SUBSCRIBE)
            v1_append(&b, srv, ws->pending[i]);
        else
            append_reload(&b, ws->pending[i], srv_now_wall());
        if (artemisi_buf_failed(&b)) {
            artemisi_buf_free(&b);
            ws_drop(ws, "out of memory while building a push");
            return;
        }
        if (queued(ws) + b.len > (size_t)srv->cfg.ws_max_queue_bytes)
            break;
        ws_send(ws, ARTEMISI_WS_OP_TEXT, b.data, b.len);
        free(ws->pending[i]);
    }
    /* Keep what did not fit, in order. */
    memmove(ws->pending, ws->pending + i, (ws->n_pending - i) * sizeof(char *));
    ws->n_pending -= i;
    if (ws->n_pending == 0)
        ws->overflow_since = 0;
    artemisi_buf_free(&b);
}

/* ---- receiving ------------------------------------------------------------------------------ */

static void on_text(srv_ws_t *ws, const char *data, size_t len)
{
    srv_server_t *srv = ws->srv;
    srv->metrics.ws_messages_in++;
    if (ws->kind == SRV_WS_HEARTBEAT) {
        if (is_json_null(data, len)) { /* Java: the request object itself is null */
            ws_send(ws, ARTEMISI_WS_OP_TEXT, HB_REQUEST_NULL, sizeof(HB_REQUEST_NULL) - 1);
            return;
        }
        artemisi_buf_t out = ARTEMISI_BUF_INIT;
        int status = 200;
        srv_registry_request(srv, &ws->client, SRV_OP_HEARTBEAT, 0, data, len, &out, &status);
        if (artemisi_buf_failed(&out)) /* never a truncated answer: say we failed */
            ws_send(ws, ARTEMISI_WS_OP_TEXT, HB_OOM, sizeof(HB_OOM) - 1);
        else if (status != 200) /* protocol.md §5.2, §11.11: unparsable frames: success */
            ws_send(ws, ARTEMISI_WS_OP_TEXT, FIXED_HB_SUCCESS, sizeof(FIXED_HB_SUCCESS) - 1);
        else
            ws_send(ws, ARTEMISI_WS_OP_TEXT, out.data, out.len);
        artemisi_buf_free(&out);
        return;
    }
    if (ws->kind == SRV_WS_DISCOVERY) {
        json_t *root = artemisi_json_parse(data, len, NULL, 0);
        const char *sid = NULL;
        if (root && json_is_object(root) && artemisi_json_get_str(root, "serviceId", &sid) == 0 &&
            !artemisi_blank(sid) && strlen(sid) <= (size_t)srv->cfg.registry_max_string_bytes &&
            ws->n_subs < MAX_SUBS) {
            if (strset_add(&ws->subs, &ws->n_subs, &ws->cap_subs, sid))
                index_add(ws, sid);
        }
        json_decref(root); /* unparsable frames are ignored (protocol.md §5.3) */
    }
}

static void ws_read_cb(struct bufferevent *bev, void *arg)
{
    srv_ws_t *ws = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!ws->closing && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec vec;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(ws->parser, vec.iov_base, vec.iov_len, &ev);
        evbuffer_drain(in, used);
        switch (ev.type) {
        case ARTEMISI_WS_EV_NONE:
            break;
        case ARTEMISI_WS_EV_TEXT:
            on_text(ws, ev.data, ev.len);
            break;
        case ARTEMISI_WS_EV_BINARY:
            ws_close(ws, 1003, "binary frames are not accepted");
            return;
        case ARTEMISI_WS_EV_PING:
            ws_send(ws, ARTEMISI_WS_OP_PONG, ev.data, ev.len);
            break;
        case ARTEMISI_WS_EV_PONG:
            break;
        case ARTEMISI_WS_EV_CLOSE:
            ws_close(ws, ARTEMISI_WS_CLOSE_NORMAL, NULL);
            return;
        case ARTEMISI_WS_EV_ERROR:
            ws->srv->metrics.ws_protocol_errors++;
            ws_close(ws, ev.close_code, "protocol error");
            return;
        }
        if (used == 0 && ev.type == ARTEMISI_WS_EV_NONE)
            break;
    }
}

static void ws_write_cb(struct bufferevent *bev, void *arg)
{
    srv_ws_t *ws = arg;
    (void)bev;
    if (ws->closing) {
        ws_free(ws);
        return;
    }
    if (ws->n_pending)
        ws_flush_pending(ws);
}

static void ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    ws_free(arg);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void ws_free(srv_ws_t *ws)
{
    srv_server_t *srv = ws->srv;
    ARTEMISI_DLIST_UNLINK(srv->ws->sessions[ws->kind], ws);
    srv->ws->n[ws->kind]--;
    srv_clients_detach(srv->clients, &ws->client);
    for (size_t i = 0; i < ws->n_subs; i++)
        index_remove(ws, ws->subs[i]);
    strset_clear(ws->subs, &ws->n_subs);
    strset_clear(ws->pending, &ws->n_pending);
    free(ws->subs);
    free(ws->pending);
    artemisi_ws_parser_free(ws->parser);
    bufferevent_free(ws->bev);
    free(ws);
}

void srv_ws_start(srv_server_t *srv, struct bufferevent *bev, srv_ws_kind_t kind,
                  const char *service_id, const srv_client_t *client)
{
    srv_ws_t *ws = calloc(1, sizeof(*ws));
    if (!ws)
        srv_oom();
    ws->srv = srv;
    if (client)
        ws->client = *client;
    ws->bev = bev;
    ws->kind = kind;
    ws->opened_mono = srv_now_mono();
    ws->parser = artemisi_ws_parser_new((size_t)srv->cfg.ws_max_message_bytes, 0);
    if (!ws->parser)
        srv_oom();
    ARTEMISI_DLIST_PUSH(srv->ws->sessions[kind], ws);
    srv->ws->n[kind]++;
    srv->metrics.ws_sessions_total[kind]++;
    /* Sessions live until their TTL; idle reads must not time them out. */
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_setcb(bev, ws_read_cb, ws_write_cb, ws_event_cb, ws);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (kind == SRV_WS_SUBSCRIBE && service_id) {
        strset_add(&ws->subs, &ws->n_subs, &ws->cap_subs, service_id);
        index_add(ws, service_id);
        artemisi_buf_t b = ARTEMISI_BUF_INIT;
        v1_append(&b, srv, service_id);
        int lost = artemisi_buf_failed(&b);
        if (!lost)
            ws_send(ws, ARTEMISI_WS_OP_TEXT, b.data, b.len);
        artemisi_buf_free(&b);
        if (lost) {
            ws_drop(ws, "out of memory while building the first list");
            return;
        }
    }
    /* Frames may have arrived together with the handshake. */
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        ws_read_cb(bev, ws);
}

/* ---- fan-out of registry changes ------------------------------------------------------------ */

static void flush_v1_cb(evutil_socket_t fd, short what, void *arg)
{
    srv_server_t *srv = arg;
    (void)fd;
    (void)what;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    srv_ws_t *next;
    for (srv_ws_t *ws = srv->ws->sessions[SRV_WS_SUBSCRIBE]; ws; ws = next) {
        next = ws->next;
        if (!ws->v1_dirty || ws->closing)
            continue;
        ws->v1_dirty = 0;
        artemisi_buf_reset(&b);
        v1_append(&b, srv, ws->subs[0]);
        ws_push(ws, ws->subs[0], &b);
    }
    artemisi_buf_free(&b);
}

void srv_ws_on_change(void *ctx, const srv_change_t *c)
{
    srv_server_t *srv = ctx;
    const char *sid = ARTEMISI_INST(c->inst, SERVICE_ID);
    sublist_t *l = artemisi_dict_get(&srv->ws->subs, sid);
    if (l || srv->ws->sessions[SRV_WS_ALL]) {
        artemisi_buf_t b = ARTEMISI_BUF_INIT;
        artemisi_encode_change(&b, srv_change_type_name(c->type), c->time_ms, c->inst);
        /* ws_push may drop a session, which edits the list: walk a snapshot. */
        if (l) {
            size_t n = l->n;
            srv_ws_t **snap = malloc(n * sizeof(*snap));
            if (!snap)
                srv_oom();
            memcpy(snap, l->v, n * sizeof(*snap));
            for (size_t i = 0; i < n; i++)
                ws_push(snap[i], sid, &b);
            free(snap);
        }
        srv_ws_t *next;
        for (srv_ws_t *ws = srv->ws->sessions[SRV_WS_ALL]; ws; ws = next) {
            next = ws->next;
            ws_push(ws, sid, &b);
        }
        artemisi_buf_free(&b);
    }
    sublist_t *v1 = artemisi_dict_get(&srv->ws->v1_subs, sid);
    if (v1) {
        for (size_t i = 0; i < v1->n; i++)
            v1->v[i]->v1_dirty = 1;
        /* One full-list push per service per loop turn, however many changes it had. */
        if (!srv->ws->ev_flush &&
            !(srv->ws->ev_flush = event_new(srv->base, -1, 0, flush_v1_cb, srv)))
            srv_oom(); /* without it v1 sessions would silently stop getting pushes */
        event_active(srv->ws->ev_flush, 0, 0);
    }
}

void srv_ws_sweep(srv_server_t *srv, int64_t now)
{
    for (int k = 0; k < SRV_WS_KINDS; k++) {
        srv_ws_t *next;
        for (srv_ws_t *ws = srv->ws->sessions[k]; ws; ws = next) {
            next = ws->next;
            if (ws->closing)
                continue;
            if (ws->overflow_since && now - ws->overflow_since > DROP_AFTER_MS)
                ws_drop(ws, "did not read its pushes for 30 s");
            else if (now - ws->opened_mono > srv->cfg.ws_session_ttl_ms)
                ws_close(ws, ARTEMISI_WS_CLOSE_GOING_AWAY, "session ttl");
        }
    }
}

void srv_ws_close_all(srv_server_t *srv)
{
    for (int k = 0; k < SRV_WS_KINDS; k++) {
        srv_ws_t *next;
        for (srv_ws_t *ws = srv->ws->sessions[k]; ws; ws = next) {
            next = ws->next;
            ws_close(ws, ARTEMISI_WS_CLOSE_GOING_AWAY, "server shutting down");
        }
    }
}

void srv_ws_hub_init(srv_server_t *srv, uint64_t seed0, uint64_t seed1)
{
    srv->ws = calloc(1, sizeof(*srv->ws));
    if (!srv->ws)
        srv_oom();
    artemisi_dict_init(&srv->ws->subs, seed0 ^ 1, seed1);
    artemisi_dict_init(&srv->ws->v1_subs, seed0 ^ 2, seed1);
}

size_t srv_ws_count(const srv_server_t *srv, srv_ws_kind_t kind)
{
    return srv->ws ? srv->ws->n[kind] : 0;
}

void srv_ws_free_all(srv_server_t *srv)
{
    if (!srv->ws)
        return;
    for (int k = 0; k < SRV_WS_KINDS; k++)
        while (srv->ws->sessions[k])
            ws_free(srv->ws->sessions[k]);
    if (srv->ws->ev_flush)
        event_free(srv->ws->ev_flush);
    artemisi_dict_free(&srv->ws->subs);
    artemisi_dict_free(&srv->ws->v1_subs);
    free(srv->ws);
    srv->ws = NULL;
}
