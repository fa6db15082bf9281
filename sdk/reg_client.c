/*
 * Registration: register.json for new instances, a heartbeat every interval over the
 * registry WebSocket (HTTP heartbeat.json while the socket is down), re-registration of
 * whatever a server answers data-not-found for (a restarted server gets the instances back
 * within one interval), failover to the next server on transport errors or a service-down
 * status, retries with exponential backoff and jitter, and unregister.json on stop.
 * Runs on the loop thread only.
 *
 * Unlike the Java SDK (protocol.md §11.3) we call register.json directly instead of sending
 * unregister.json and waiting for the next heartbeat to fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artemis/artemis.h"
#include "client_int.h"
#include "clock.h"
#include "codec.h"

static void notify(struct artemis_client *c, reg_entry_t *e, artemis_reg_state_t st,
                   artemis_err_t err)
{
    int changed;
    pthread_mutex_lock(&c->lock);
    changed = e->state != st;
    e->state = st;
    e->last_err = err;
    pthread_mutex_unlock(&c->lock);
    if (changed && c->reg_cb) {
        c->in_callback++;
        c->reg_cb(c->reg_ud, ARTEMISI_INST(e->inst, SERVICE_ID),
                  ARTEMISI_INST(e->inst, INSTANCE_ID), st, err);
        c->in_callback--;
    }
}

static reg_entry_t *find_by_key(struct artemis_client *c, const char *key)
{
    for (size_t i = 0; i < c->n_regs; i++)
        if (strcmp(c->regs[i].key, key) == 0)
            return &c->regs[i];
    return NULL;
}

static int append_instances(artemisi_buf_t *b, struct artemis_client *c, int only_needing)
{
    size_t n = 0;
    artemisi_buf_appends(b, "{\"instances\":[");
    for (size_t i = 0; i < c->n_regs; i++) {
        reg_entry_t *e = &c->regs[i];
        if (only_needing && (e->state == ARTEMIS_REG_REGISTERED || e->inflight))
            continue;
        if (n++)
            artemisi_buf_appendc(b, ',');
        artemisi_encode_instance(b, e->inst);
        if (only_needing)
            e->inflight = 1;
    }
    artemisi_buf_appends(b, "]}");
    return (int)n;
}

/* Parse a registry response; returns its status string class:
 * 0 success, 1 partial (failedInstances handled by cb), 2 service down, 3 other failure. */
typedef void (*failed_fn)(struct artemis_client *c, reg_entry_t *e, const char *code);

static int parse_response(struct artemis_client *c, const char *body, size_t len, failed_fn fn)
{
    json_t *root = artemisi_json_parse(body, len, NULL, 0);
    if (!root)
        return 3;
    json_t *rs = artemisi_json_get(root, "responseStatus");
    const char *status = NULL, *code = NULL;
    artemisi_json_get_str(rs, "status", &status);
    artemisi_json_get_str(rs, "errorCode", &code);
    int cls = 3;
    if (status && strcmp(status, "success") == 0) {
        cls = 0;
    } else if (status && strcmp(status, "partial_fail") == 0) {
        cls = 1;
        json_t *failed = artemisi_json_get(root, "failedInstances");
        for (size_t i = 0; json_is_array(failed) && i < json_array_size(failed); i++) {
            json_t *f = json_array_get(failed, i);
            const char *fcode = NULL;
            artemisi_json_get_str(f, "errorCode", &fcode);
            artemisi_instance_t d;
            char err[64];
            if (artemisi_decode_instance(artemisi_json_get(f, "instance"), &d, NULL, NULL, 1 << 20,
                                         err, sizeof(err)) != 0)
                continue;
            artemisi_buf_t key = ARTEMISI_BUF_INIT;
            artemisi_instance_key(&d, &key);
            reg_entry_t *e = key.data ? find_by_key(c, key.data) : NULL;
            artemisi_buf_free(&key);
            if (e)
                fn(c, e, fcode ? fcode : "unknown");
        }
    } else if (code &&
               (!strcmp(code, "service-unavailable") || !strcmp(code, "internal-service-error"))) {
        cls = 2;
    }
    json_decref(root);
    return cls;
}

/* ---- register.json ------------------------------------------------------------------------- */

static void send_register(struct artemis_client *c);

static void register_failed_instance(struct artemis_client *c, reg_entry_t *e, const char *code)
{
    (void)code;
    e->inflight = 0;
    notify(c, e, ARTEMIS_REG_FAILING, ARTEMIS_ERR_SERVER);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_register(arg);
}

static void schedule_retry(struct artemis_client *c)
{
    c->reg_backoff_ms = artemisi_backoff_next(c->reg_backoff_ms);
    int64_t ms = artemisi_jitter(c->reg_backoff_ms);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    /* An owned event (not event_base_once): it must die with the client even when the
     * application's loop outlives it. */
    if (c->ev_reg_retry && !evtimer_pending(c->ev_reg_retry, NULL))
        evtimer_add(c->ev_reg_retry, &tv);
}

static void register_done(void *ud, int err, long status, const char *body, size_t len)
{
    struct artemis_client *c = ud;
    int cls = 3;
    if (err == 0 && status == 200) {
        /* Everything in flight is registered unless listed as failed. */
        cls = parse_response(c, body, len, register_failed_instance);
    }
    for (size_t i = 0; i < c->n_regs; i++) {
        reg_entry_t *e = &c->regs[i];
        if (!e->inflight)
            continue;
        e->inflight = 0;
        if (cls <= 1) {
            e->confirmed_seq = c->hb_seq;
            notify(c, e, ARTEMIS_REG_REGISTERED, ARTEMIS_OK);
        } else
            notify(c, e, ARTEMIS_REG_FAILING,
                   err             ? ARTEMIS_ERR_IO
                   : status != 200 ? ARTEMIS_ERR_HTTP
                                   : ARTEMIS_ERR_SERVER);
    }
    if (cls >= 2 || cls == 1) {
        if (cls >= 2) {
            ARTEMISI_LOG(&c->log, ARTEMIS_LOG_WARN, "registry",
                         "register via %s failed (err %d, HTTP %ld); trying the next server",
                         artemisi_client_server(c, 1), err, status);
            artemisi_client_server_failed(c, 1, NULL);
        }
        if (!c->loop_stopping)
            schedule_retry(c);
    } else {
        c->reg_backoff_ms = 0;
    }
}

static void send_register(struct artemis_client *c)
{
    if (c->loop_stopping || !c->http)
        return;
    artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
    if (append_instances(&body, c, 1) > 0) {
        artemisi_client_url(c, 1, "/api/registry/register.json", &url);
        if (!artemisi_http_post_json(c->http, url.data, body.data, body.len,
                                     c->cfg->request_timeout_ms, c->cfg->connect_timeout_ms, 0,
                                     register_done, c)) {
            for (size_t i = 0; i < c->n_regs; i++)
                c->regs[i].inflight = 0;
            schedule_retry(c);
        }
    }
    artemisi_buf_free(&body);
    artemisi_buf_free(&url);
}

/* ---- heartbeats ------------------------------------------------------------------------------ */

static void heartbeat_failed_instance(struct artemis_client *c, reg_entry_t *e, const char *code)
{
    /* data-not-found / unknown: the server lost the lease (restart, expiry): register
     * again at once (protocol.md §5.2). */
    if (!strcmp(code, "data-not-found") || !strcmp(code, "unknown")) {
        /* Sent before the registration was confirmed (the socket's first heartbeat can reach
         * the server before register.json does): that says nothing about the lease now. */
        if (c->hb_answer_seq <= e->confirmed_seq)
            return;
        pthread_mutex_lock(&c->lock);
        e->state = ARTEMIS_REG_PENDING;
        pthread_mutex_unlock(&c->lock);
    } else {
        notify(c, e, ARTEMIS_REG_FAILING, ARTEMIS_ERR_SERVER);
    }
}

static void handle_heartbeat_answer(struct artemis_client *c, const char *body, size_t len,
                                    uint64_t seq)
{
    c->last_hb_answer = artemisi_mono_ms();
    c->hb_answer_seq = seq;
    int cls = parse_response(c, body, len, heartbeat_failed_instance);
    if (cls == 2) {
        /* The node cannot serve: drop the socket, use another node. */
        artemisi_client_server_failed(c, 1, NULL);
        if (c->hb_ws)
            artemisi_wsc_close(c->hb_ws, 1000);
        return;
    }
    for (size_t i = 0; i < c->n_regs; i++) {
        reg_entry_t *e = &c->regs[i];
        if (cls == 0 && !e->inflight)
            notify(c, e, ARTEMIS_REG_REGISTERED, ARTEMIS_OK);
    }
    send_register(c); /* re-register whatever the server did not know */
}

static void hb_http_done(void *ud, int err, long status, const char *body, size_t len)
{
    struct artemis_client *c = ud;
    c->heartbeat_inflight = 0;
    if (err == 0 && status == 200) {
        handle_heartbeat_answer(c, body, len, c->hb_http_seq);
        return;
    }
    artemisi_client_server_failed(c, 1, NULL);
    for (size_t i = 0; i < c->n_regs; i++)
        if (c->regs[i].state == ARTEMIS_REG_REGISTERED)
            notify(c, &c->regs[i], ARTEMIS_REG_FAILING, err ? ARTEMIS_ERR_IO : ARTEMIS_ERR_HTTP);
}

static void hb_ws_open(void *ud)
{
    struct artemis_client *c = ud;
    artemisi_reconnect_opened(&c->hb_rc, artemisi_mono_ms());
    c->hb_ws_pending = 0; /* what the last socket had in flight will never be answered */
    ARTEMISI_LOG(&c->log, ARTEMIS_LOG_DEBUG, "registry", "heartbeat socket open on %s",
                 artemisi_client_server(c, 1));
    artemisi_reg_heartbeat_now(c); /* a fresh socket may be a fresh server: check at once */
}

static void hb_ws_text(void *ud, const char *data, size_t len)
{
    struct artemis_client *c = ud;
    /* An answer nobody is waiting for counts as the newest. */
    uint64_t seq = c->hb_seq;
    if (c->hb_ws_pending) {
        seq = c->hb_ws_first++;
        c->hb_ws_pending--;
    }
    handle_heartbeat_answer(c, data, len, seq);
}

static void hb_ws_pong(void *ud)
{
    struct artemis_client *c = ud;
    artemisi_reconnect_alive(&c->hb_rc, artemisi_mono_ms());
}

static void hb_ws_close(void *ud, int code, const char *reason)
{
    artemisi_client_ws_closed(ud, 1, code, reason);
}

static const artemisi_wsc_callbacks_t hb_callbacks = {hb_ws_open, hb_ws_text, hb_ws_pong,
                                                      hb_ws_close};

static void hb_ws_connect(struct artemis_client *c)
{
    if (c->hb_ws || c->loop_stopping || c->n_regs == 0)
        return;
    const char *base = artemisi_reconnect_begin(&c->hb_rc, artemisi_client_server(c, 1));
    c->hb_ws =
        artemisi_client_ws_connect(c, base, "/ws/registry/heartbeat", 1 << 20, &hb_callbacks);
    /* Fails only out of memory (the config refused CR/LF): the server then refuses the
     * upgrade and the reconnect tries again. */
    (void)artemisi_wsc_set_bearer(c->hb_ws, c->cfg->token);
}

void artemisi_reg_heartbeat_now(struct artemis_client *c)
{
    if (c->n_regs == 0 || c->loop_stopping)
        return;
    artemisi_buf_t body = ARTEMISI_BUF_INIT;
    append_instances(&body, c, 0);
    if (c->hb_ws && artemisi_wsc_is_open(c->hb_ws)) {
        if (artemisi_wsc_send_text(c->hb_ws, body.data, body.len) == 0) {
            if (c->hb_ws_pending++ == 0)
                c->hb_ws_first = c->hb_seq + 1;
            c->hb_seq++;
        }
    } else if (!c->heartbeat_inflight && c->http) {
        /* The socket is down: HTTP keeps the lease alive meanwhile (the Java SDK does not,
         * protocol.md §11.12). */
        artemisi_buf_t url = ARTEMISI_BUF_INIT;
        artemisi_client_url(c, 1, "/api/registry/heartbeat.json", &url);
        if (artemisi_http_post_json(c->http, url.data, body.data, body.len,
                                    c->cfg->request_timeout_ms, c->cfg->connect_timeout_ms, 0,
                                    hb_http_done, c)) {
            c->heartbeat_inflight = 1;
            c->hb_http_seq = ++c->hb_seq;
        }
        artemisi_buf_free(&url);
        hb_ws_connect(c);
    }
    artemisi_buf_free(&body);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    artemisi_reg_heartbeat_now(arg);
}

void artemisi_reg_start(struct artemis_client *c)
{
    int64_t ms = c->cfg->heartbeat_interval_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    c->ev_heartbeat = event_new(c->base, -1, EV_PERSIST, heartbeat_cb, c);
    c->ev_reg_retry = evtimer_new(c->base, retry_cb, c);
    if (c->ev_heartbeat)
        event_add(c->ev_heartbeat, &tv);
}

void artemisi_reg_tick(struct artemis_client *c, int64_t now)
{
    if (!c->loop_stopping)
        artemisi_client_ws_tick(c, 1, now, hb_ws_connect);
}

void artemisi_reg_add(struct artemis_client *c, artemisi_instance_t *inst)
{
    artemisi_buf_t key = ARTEMISI_BUF_INIT;
    if (artemisi_instance_key(inst, &key) != 0) {
        artemisi_instance_unref(inst);
        return;
    }
    pthread_mutex_lock(&c->lock);
    reg_entry_t *e = find_by_key(c, key.data);
    if (e) {
        artemisi_instance_unref(e->inst);
        e->inst = inst;
        e->state = ARTEMIS_REG_PENDING;
        free(key.data);
    } else {
        if (c->n_regs == c->cap_regs) {
            size_t ncap = c->cap_regs ? c->cap_regs * 2 : 4;
            reg_entry_t *nr = realloc(c->regs, ncap * sizeof(*nr));
            if (!nr) {
                pthread_mutex_unlock(&c->lock);
                artemisi_instance_unref(inst);
                artemisi_buf_free(&key);
                return;
            }
            c->regs = nr;
            c->cap_regs = ncap;
        }
        e = &c->regs[c->n_regs++];
        memset(e, 0, sizeof(*e));
        e->inst = inst;
        e->key = key.data;
        e->state = ARTEMIS_REG_PENDING;
    }
    pthread_mutex_unlock(&c->lock);
    send_register(c);
    hb_ws_connect(c);
}

static void fire_and_forget(void *ud, int err, long status, const char *body, size_t len)
{
    (void)ud;
    (void)err;
    (void)status;
    (void)body;
    (void)len;
}

void artemisi_reg_remove(struct artemis_client *c, const char *service_id, const char *instance_id)
{
    for (size_t i = 0; i < c->n_regs; i++) {
        reg_entry_t *e = &c->regs[i];
        if (strcasecmp(ARTEMISI_INST(e->inst, SERVICE_ID), service_id) != 0 ||
            strcasecmp(ARTEMISI_INST(e->inst, INSTANCE_ID), instance_id) != 0)
            continue;
        artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
        artemisi_buf_appends(&body, "{\"instances\":[");
        artemisi_encode_instance(&body, e->inst);
        artemisi_buf_appends(&body, "]}");
        artemisi_client_url(c, 1, "/api/registry/unregister.json", &url);
        if (c->http)
            artemisi_http_post_json(c->http, url.data, body.data, body.len,
                                    c->cfg->request_timeout_ms, c->cfg->connect_timeout_ms, 0,
                                    fire_and_forget, NULL);
        artemisi_buf_free(&body);
        artemisi_buf_free(&url);
        notify(c, e, ARTEMIS_REG_UNREGISTERED, ARTEMIS_OK);
        pthread_mutex_lock(&c->lock);
        artemisi_instance_unref(e->inst);
        free(e->key);
        c->regs[i] = c->regs[--c->n_regs];
        pthread_mutex_unlock(&c->lock);
        return;
    }
}

static void unregister_all_done(void *ud, int err, long status, const char *body, size_t len)
{
    struct artemis_client *c = ud;
    (void)body;
    (void)len;
    c->unregister_inflight = 0;
    ARTEMISI_LOG(&c->log, ARTEMIS_LOG_DEBUG, "registry", "unregister: err %d HTTP %ld", err,
                 status);
    for (size_t i = 0; i < c->n_regs; i++)
        notify(c, &c->regs[i], ARTEMIS_REG_UNREGISTERED, ARTEMIS_OK);
    if (c->unreg_done)
        c->unreg_done(c);
}

void artemisi_reg_unregister_all(struct artemis_client *c, void (*done)(struct artemis_client *))
{
    c->unreg_done = done;
    if (c->n_regs == 0 || !c->http) {
        done(c);
        return;
    }
    artemisi_buf_t body = ARTEMISI_BUF_INIT, url = ARTEMISI_BUF_INIT;
    append_instances(&body, c, 0);
    artemisi_client_url(c, 1, "/api/registry/unregister.json", &url);
    if (artemisi_http_post_json(c->http, url.data, body.data, body.len, c->cfg->request_timeout_ms,
                                c->cfg->connect_timeout_ms, 0, unregister_all_done, c))
        c->unregister_inflight = 1;
    else
        done(c);
    artemisi_buf_free(&body);
    artemisi_buf_free(&url);
}

void artemisi_reg_shutdown(struct artemis_client *c)
{
    artemisi_wsc_free(c->hb_ws); /* NULL-safe */
    c->hb_ws = NULL;
    if (c->ev_heartbeat) {
        event_free(c->ev_heartbeat);
        c->ev_heartbeat = NULL;
    }
    if (c->ev_reg_retry) {
        event_free(c->ev_reg_retry);
        c->ev_reg_retry = NULL;
    }
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_regs; i++) {
        artemisi_instance_unref(c->regs[i].inst);
        free(c->regs[i].key);
    }
    free(c->regs);
    c->regs = NULL;
    c->n_regs = c->cap_regs = 0;
    pthread_mutex_unlock(&c->lock);
}
