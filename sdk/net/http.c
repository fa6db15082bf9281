/*
 * Asynchronous HTTP client: libcurl multi socket API on a libevent base (the pattern of
 * curl's docs/examples/multi-event.c). curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to call back on a timer (CURLMOPT_TIMERFUNCTION);
 * libevent events feed readiness back through curl_multi_socket_action(), and finished
 * transfers are collected with curl_multi_info_read(). Nothing here blocks.
 *
 * Requests live in a doubly linked list so cancel and free can find them. User callbacks run
 * only from finish_done(), never inside a curl callback, so a callback may start, cancel or
 * free freely; artemisi_http_free() from a callback is deferred to the end of the dispatch.
 */
#include "http.h"
#include "list.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <zlib.h>

#include "buf.h"

typedef struct http_req {
    struct http_req *prev, *next;
    artemisi_http_t *h;
    CURL *easy;
    uint64_t id;
    artemisi_http_cb cb;
    void *ud;
    char *req_body;
    size_t req_len;
    struct curl_slist *headers;
    artemisi_buf_t resp;
    int too_big;
    artemisi_http_data_cb on_data; /* a streamed 2xx body goes here, not into resp */
    int data_failed;               /* on_data refused: the request fails */
} http_req_t;

typedef struct http_sock {
    struct http_sock *prev, *next;
    curl_socket_t fd;
    struct event *ev;
    artemisi_http_t *h;
} http_sock_t;

struct artemisi_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    http_req_t *reqs;
    http_sock_t *socks;
    size_t pending;
    uint64_t next_id;
    int dispatching; /* > 0 while user callbacks may run */
    int dying;       /* free requested during dispatch */
    char *bearer;    /* "Authorization: Bearer TOKEN" sent on every request, NULL = none */
    char *tls_ca;    /* CA bundle for https:// servers, NULL = the system's */
    char *tls_cert;  /* client certificate and key presented over https, NULL = none */
    char *tls_key;
};

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static int g_curl_ok;

static void curl_init_once(void)
{
    g_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* ---- request bookkeeping ---- */

static void req_unlink(artemisi_http_t *h, http_req_t *r)
{
    ARTEMISI_DLIST_UNLINK(h->reqs, r);
    h->pending--;
}

static void req_destroy(http_req_t *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->req_body);
    artemisi_buf_free(&r->resp);
    free(r);
}

/* Remove from the multi handle and the list, free, no callback. */
static void req_abort(artemisi_http_t *h, http_req_t *r)
{
    curl_multi_remove_handle(h->multi, r->easy);
    req_unlink(h, r);
    req_destroy(r);
}

static void really_free(artemisi_http_t *h)
{
    while (h->reqs)
        req_abort(h, h->reqs);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    while (h->socks) {
        http_sock_t *s = h->socks;
        h->socks = s->next;
        if (s->ev)
            event_free(s->ev);
        free(s);
    }
    if (h->timer)
        event_free(h->timer);
    artemisi_http_set_bearer(h, NULL);
    free(h->tls_ca);
    free(h->tls_cert);
    free(h->tls_key);
    free(h);
}

/* Collect finished transfers and run their callbacks. */
static void finish_done(artemisi_http_t *h)
{
    CURLMsg *msg;
    int left;
    h->dispatching++;
    while (!h->dying && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        http_req_t *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = msg->data.result;
        if (!r)
            continue;
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(h->multi, r->easy);
        req_unlink(h, r);
        int err = rc == CURLE_OK ? 0 : (int)rc;
        if (r->too_big || r->data_failed)
            err = (int)CURLE_WRITE_ERROR;
        if (err)
            status = status > 0 ? status : 0;
        const char *body = r->resp.data ? r->resp.data : "";
        size_t blen = r->resp.len;
        if (err) {
            body = "";
            blen = 0;
        }
        r->cb(r->ud, err, status, body, blen);
        req_destroy(r);
    }
    h->dispatching--;
    if (h->dying && h->dispatching == 0)
        really_free(h);
}

/* ---- curl <-> libevent glue ---- */

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    http_sock_t *s = arg;
    artemisi_http_t *h = s->h;
    int flags = 0;
    int running = 0;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    finish_done(h);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    artemisi_http_t *h = arg;
    int running = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    finish_done(h);
}

static int cb_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    artemisi_http_t *h = userp;
    if (timeout_ms < 0) {
        evtimer_del(h->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(h->timer, &tv);
    return 0;
}

static void sock_free(artemisi_http_t *h, http_sock_t *s)
{
    ARTEMISI_DLIST_UNLINK(h->socks, s);
    if (s->ev)
        event_free(s->ev);
    free(s);
}

static int cb_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    artemisi_http_t *h = userp;
    http_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(h->multi, fd, NULL);
            sock_free(h, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->h = h;
        s->fd = fd;
        s->next = h->socks;
        if (h->socks)
            h->socks->prev = s;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    short kind = EV_PERSIST;
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (s->ev) {
        event_del(s->ev);
        event_assign(s->ev, h->base, fd, kind, on_sock_event, s);
    } else {
        s->ev = event_new(h->base, fd, kind, on_sock_event, s);
        if (!s->ev)
            return -1;
    }
    event_add(s->ev, NULL);
    return 0;
}

static size_t cb_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    http_req_t *r = userdata;
    size_t n = size * nmemb;
    if (r->on_data) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (r->on_data(r->ud, ptr, n) != 0) {
                r->data_failed = 1;
                return 0;
            }
            return n;
        }
    }
    if (r->resp.len + n > ARTEMISI_HTTP_MAX_BODY) {
        r->too_big = 1;
        return 0;
    }
    if (artemisi_buf_append(&r->resp, ptr, n) != 0)
        return 0;
    return n;
}

/* ---- gzip of request bodies ---- */

static int gzip_body(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return -1;
    uLong cap = deflateBound(&zs, (uLong)len) + 32;
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        free(buf);
        return -1;
    }
    *outlen = (size_t)zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return 0;
}

/* ---- public API ---- */

artemisi_http_t *artemisi_http_new(struct event_base *base)
{
    if (!base)
        return NULL;
    pthread_once(&g_curl_once, curl_init_once);
    if (!g_curl_ok)
        return NULL;
    artemisi_http_t *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->base = base;
    h->next_id = 1;
    h->multi = curl_multi_init();
    h->timer = evtimer_new(base, on_timer, h);
    if (!h->multi || !h->timer) {
        really_free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, cb_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, cb_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /* Bounded connections per host: extra requests wait inside curl for a free connection
     * instead of flooding the peer's listen backlog. */
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
    return h;
}

void artemisi_http_free(artemisi_http_t *h)
{
    if (!h)
        return;
    if (h->dispatching > 0) {
        /* Inside a callback: drop the other requests now, free on the way out. */
        h->dying = 1;
        while (h->reqs)
            req_abort(h, h->reqs);
        return;
    }
    really_free(h);
}

int artemisi_http_set_bearer(artemisi_http_t *h, const char *token)
{
    char *line = NULL;
    if (token && *token) {
        /* A CR or LF would let the token inject headers; curl does not check. */
        if (strpbrk(token, "\r\n"))
            return -1;
        size_t n = strlen(token) + sizeof("Authorization: Bearer ");
        line = malloc(n);
        if (!line)
            return -1;
        snprintf(line, n, "Authorization: Bearer %s", token);
    }
    if (h->bearer) /* wipe: the old token should not linger in freed memory */
        explicit_bzero(h->bearer, strlen(h->bearer));
    free(h->bearer);
    h->bearer = line;
    return 0;
}

/* "" and NULL both mean unset; a copy otherwise. Returns -1 only when memory runs out. */
static int dup_opt(const char *v, char **out)
{
    *out = NULL;
    if (v && *v && !(*out = strdup(v)))
        return -1;
    return 0;
}

int artemisi_http_set_tls(artemisi_http_t *h, const char *ca_file, const char *cert_file,
                          const char *key_file)
{
    char *ca, *cert, *key;
    if (dup_opt(ca_file, &ca) != 0)
        return -1;
    if (dup_opt(cert_file, &cert) != 0 || dup_opt(key_file, &key) != 0) {
        free(ca);
        free(cert);
        return -1;
    }
    free(h->tls_ca);
    free(h->tls_cert);
    free(h->tls_key);
    h->tls_ca = ca;
    h->tls_cert = cert;
    h->tls_key = key;
    return 0;
}

static uint64_t post(artemisi_http_t *h, const char *url, const char *body, size_t len,
                     long timeout_ms, long connect_timeout_ms, int gzip,
                     artemisi_http_data_cb on_data, artemisi_http_cb cb, void *ud);

uint64_t artemisi_http_post_json(artemisi_http_t *h, const char *url, const char *body, size_t len,
                                 long timeout_ms, long connect_timeout_ms, int gzip,
                                 artemisi_http_cb cb, void *ud)
{
    return post(h, url, body, len, timeout_ms, connect_timeout_ms, gzip, NULL, cb, ud);
}

uint64_t artemisi_http_post_json_stream(artemisi_http_t *h, const char *url, const char *body,
                                        size_t len, long timeout_ms, long connect_timeout_ms,
                                        artemisi_http_data_cb on_data, artemisi_http_cb cb,
                                        void *ud)
{
    if (!on_data)
        return 0;
    return post(h, url, body, len, timeout_ms, connect_timeout_ms, 0, on_data, cb, ud);
}

static uint64_t post(artemisi_http_t *h, const char *url, const char *body, size_t len,
                     long timeout_ms, long connect_timeout_ms, int gzip,
                     artemisi_http_data_cb on_data, artemisi_http_cb cb, void *ud)
{
    if (!h || h->dying || !url || !cb || (!body && len))
        return 0;
    http_req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return 0;
    r->h = h;
    r->cb = cb;
    r->on_data = on_data;
    r->ud = ud;
    artemisi_buf_init(&r->resp);
    if (gzip) {
        if (gzip_body(body ? body : "", len, &r->req_body, &r->req_len) != 0)
            goto fail;
    } else {
        r->req_body = malloc(len + 1);
        if (!r->req_body)
            goto fail;
        if (len)
            memcpy(r->req_body, body, len);
        r->req_body[len] = '\0';
        r->req_len = len;
    }
    r->easy = curl_easy_init();
    if (!r->easy)
        goto fail;
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    if (hd)
        r->headers = hd;
    hd = hd ? curl_slist_append(r->headers, "Expect:") : NULL;
    if (hd && gzip)
        hd = curl_slist_append(r->headers, "Content-Encoding: gzip");
    if (hd && h->bearer)
        hd = curl_slist_append(r->headers, h->bearer);
    if (!hd)
        goto fail;

    CURL *e = r->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK; /* curl copies the URL */
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->req_body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->req_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cb_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    /* A streamed body is bounded by its consumer, not by its total size. */
    if (!on_data)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ARTEMISI_HTTP_MAX_BODY);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* https:// is verified (curl's default: peer and host name) against our CA when given;
     * curl reads the files per new connection, so renewed files at the same paths apply. */
    if (h->tls_ca)
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, h->tls_ca) != CURLE_OK;
    if (h->tls_cert) {
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, h->tls_cert) != CURLE_OK;
        bad |=
            curl_easy_setopt(e, CURLOPT_SSLKEY, h->tls_key ? h->tls_key : h->tls_cert) != CURLE_OK;
    }
    if (timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    if (bad)
        goto fail;

    r->id = h->next_id++;
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    h->pending++;
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        req_unlink(h, r);
        goto fail;
    }
    return r->id;
fail:
    req_destroy(r);
    return 0;
}

void artemisi_http_cancel(artemisi_http_t *h, uint64_t id)
{
    if (!h || id == 0)
        return;
    for (http_req_t *r = h->reqs; r; r = r->next) {
        if (r->id == id) {
            req_abort(h, r);
            return;
        }
    }
}

size_t artemisi_http_pending(const artemisi_http_t *h)
{
    return h ? h->pending : 0;
}

const char *artemisi_http_strerror(int err)
{
    return curl_easy_strerror((CURLcode)err);
}
