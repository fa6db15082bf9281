/*
 * Blocking HTTP for artemisctl: one libcurl easy handle (so consecutive calls reuse the
 * connection), a list of servers tried in turn when one cannot be reached, and the
 * classification every command relies on: unreachable, HTTP error, non-JSON answer, or an
 * Artemis responseStatus that is not success -- each one stderr line and CTL_FAIL.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Enough for any management answer a person asks for; bigger means something is wrong. */
#define CTL_MAX_BODY (256u * 1024u * 1024u)

typedef struct body {
    char *p;
    size_t n;
    int too_big;
    int oom;
} body_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_t *b = ud;
    size_t n = size * nmemb;
    if (b->n + n > CTL_MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) {
        b->oom = 1;
        return 0;
    }
    memcpy(np + b->n, ptr, n);
    b->n += n;
    np[b->n] = '\0';
    b->p = np;
    return n;
}

int ctl_servers_set(ctl_t *c, const char *list)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    c->servers = calloc(cap, sizeof *c->servers);
    if (!c->servers)
        return -1;
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && (s[n - 1] == '/' || s[n - 1] == ' '))
            n--;
        while (n && *s == ' ') {
            s++;
            n--;
        }
        if (n) {
            if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
                fprintf(stderr, "artemisctl: --server: '%.*s' is not an http:// or https:// URL\n",
                        (int)n, s);
                return -1;
            }
            char *u = strndup(s, n);
            if (!u)
                return -1;
            c->servers[c->nservers++] = u;
        }
        if (!e)
            break;
        s = e + 1;
    }
    if (!c->nservers) {
        fprintf(stderr, "artemisctl: --server: no URL given\n");
        return -1;
    }
    return 0;
}

int ctl_auth_set(ctl_t *c, const char *token)
{
    if (!token || !*token)
        return 0;
    /* A line break would end the header and inject others; a space is never in a token. */
    if (strpbrk(token, "\r\n \t")) {
        fprintf(stderr, "artemisctl: --auth-token: a token has no spaces or line breaks\n");
        return -1;
    }
    size_t n = strlen(token) + sizeof "Authorization: Bearer ";
    c->auth_header = malloc(n);
    if (!c->auth_header) {
        ctl_oom();
        return -1;
    }
    snprintf(c->auth_header, n, "Authorization: Bearer %s", token);
    return 0;
}

void ctl_free(ctl_t *c)
{
    if (c->auth_header) /* wipe: the token should not linger in freed memory */
        explicit_bzero(c->auth_header, strlen(c->auth_header));
    free(c->auth_header);
    c->auth_header = NULL;
    for (size_t i = 0; i < c->nservers; i++)
        free(c->servers[i]);
    free(c->servers);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

const char *ctl_server(const ctl_t *c)
{
    return c->servers[c->cur];
}

/* A failure where another server may do better: it could not be reached at all. */
static int transport_retryable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_SSL_CONNECT_ERROR;
}

/* One request, failing over across servers. post: body sent as JSON. quiet_denied: a 401 or
 * 403 answer returns CTL_FAIL with *status set and prints nothing (the caller has another way). */
static int request(ctl_t *c, const char *path, const char *post, long ok_status, int quiet_denied,
                   char **out, long *status)
{
    if (!c->curl) {
        c->curl = curl_easy_init();
        if (!c->curl)
            return ctl_oom();
    }
    CURL *h = c->curl;
    CURLcode last = CURLE_OK;
    for (size_t k = 0; k < c->nservers; k++) {
        size_t i = (c->cur + k) % c->nservers;
        size_t ulen = strlen(c->servers[i]) + strlen(path) + 1;
        char *url = malloc(ulen);
        if (!url)
            return ctl_oom();
        snprintf(url, ulen, "%s%s", c->servers[i], path);
        body_t b = {0};
        struct curl_slist *hdr = NULL;
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "artemisctl");
        if (c->ca_file) /* curl_easy_reset above cleared it; verification itself stays on */
            curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        if ((post && !(hdr = curl_slist_append(hdr, "Content-Type: application/json"))) ||
            (c->auth_header && !(hdr = curl_slist_append(hdr, c->auth_header)))) {
            curl_slist_free_all(hdr);
            free(url);
            return ctl_oom();
        }
        if (hdr)
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        if (post)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(hdr);
        free(url);
        if (b.oom) {
            free(b.p);
            return ctl_oom();
        }
        if (rc != CURLE_OK) {
            free(b.p);
            if (b.too_big) {
                fprintf(stderr, "artemisctl: %s%s: answer larger than %u bytes\n", c->servers[i],
                        path, CTL_MAX_BODY);
                return CTL_FAIL;
            }
            last = rc;
            if (transport_retryable(rc))
                continue;
            fprintf(stderr, "artemisctl: server %s unreachable: %s\n", c->servers[i],
                    curl_easy_strerror(rc));
            return CTL_FAIL;
        }
        c->cur = i;
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (status)
            *status = code;
        if (code >= 400 && code != ok_status) {
            /* Framework errors carry {"error","status","message"}: show the message. */
            json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
            const char *msg = j ? ctl_str(j, "message") : NULL;
            const char *denied = ctl_str(json_object_get(j, "responseStatus"), "message");
            if ((code == 401 || code == 403) && (denied || quiet_denied)) {
                /* Access tokens: the server's sentence names the scope that was missing
                 * ("a token with scope operate is required"), all the operator needs. */
                if (!quiet_denied)
                    fprintf(stderr, "artemisctl: server said no: %s\n", denied);
                json_decref(j);
                free(b.p);
                return CTL_FAIL;
            }
            fprintf(stderr, "artemisctl: server said no: %s%s answered HTTP %ld%s%s\n",
                    c->servers[i], path, code, msg ? ": " : "", msg ? msg : "");
            json_decref(j);
            free(b.p);
            return CTL_FAIL;
        }
        if (!b.p) {
            b.p = strdup("");
            if (!b.p)
                return ctl_oom();
        }
        *out = b.p;
        return CTL_OK;
    }
    fprintf(stderr, "artemisctl: server unreachable: ");
    for (size_t i = 0; i < c->nservers; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", c->servers[i]);
    fprintf(stderr, ": %s\n", curl_easy_strerror(last));
    return CTL_FAIL;
}

static int parse(ctl_t *c, const char *path, char *raw, json_t **out)
{
    json_error_t err;
    json_t *j = json_loads(raw, 0, &err);
    free(raw);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "artemisctl: server said no: %s%s answered %s\n", ctl_server(c), path,
                j ? "JSON that is not an object" : "something that is not JSON");
        json_decref(j);
        return CTL_FAIL;
    }
    *out = j;
    return CTL_OK;
}

int ctl_post(ctl_t *c, const char *path, json_t *body, json_t **out)
{
    char *txt = json_dumps(body, JSON_COMPACT);
    if (!txt)
        return ctl_oom();
    char *raw = NULL;
    int rc = request(c, path, txt, 0, 0, &raw, NULL);
    free(txt);
    if (rc != CTL_OK)
        return rc;
    return parse(c, path, raw, out);
}

int ctl_get_raw(ctl_t *c, const char *path, long ok_status, char **out, long *status)
{
    return request(c, path, NULL, ok_status, 0, out, status);
}

int ctl_get(ctl_t *c, const char *path, long ok_status, json_t **out)
{
    char *raw = NULL;
    int rc = request(c, path, NULL, ok_status, 0, &raw, NULL);
    if (rc != CTL_OK)
        return rc;
    return parse(c, path, raw, out);
}

int ctl_check(const json_t *resp, const char *what)
{
    const json_t *rs = json_object_get(resp, "responseStatus");
    const char *st = ctl_str(rs, "status");
    if (st && strcmp(st, "success") == 0)
        return CTL_OK;
    const char *code = ctl_str(rs, "errorCode");
    const char *msg = ctl_str(rs, "message");
    /* Registry answers put the reason in failedInstances[].errorMessage. */
    const json_t *fi = json_array_get(json_object_get(resp, "failedInstances"), 0);
    if (fi && ctl_str(fi, "errorMessage"))
        msg = ctl_str(fi, "errorMessage");
    fprintf(stderr, "artemisctl: server said no: %s: %s: %s\n", what, code ? code : "no status",
            msg && *msg ? msg : "(no message)");
    return CTL_FAIL;
}

int ctl_call(ctl_t *c, const char *path, json_t *body, const char *what, json_t **out)
{
    if (!body)
        return ctl_oom();
    json_t *resp = NULL;
    int rc = ctl_post(c, path, body, &resp);
    json_decref(body);
    if (rc != CTL_OK)
        return rc;
    rc = ctl_check(resp, what);
    if (rc != CTL_OK || !out)
        json_decref(resp);
    else
        *out = resp;
    return rc;
}

static void set_from(char *buf, size_t n, const char **dst, const char *v)
{
    if (*dst)
        return;
    snprintf(buf, n, "%s", v && *v ? v : "default");
    *dst = buf;
}

int ctl_locate(ctl_t *c)
{
    if (c->region && c->zone)
        return CTL_OK;
    char *raw = NULL;
    long status = 0;
    int rc = request(c, "/api/status/node.json", NULL, 0, 1, &raw, &status);
    const char *list = NULL;
    if (rc != CTL_OK && (status == 401 || status == 403)) {
        /* node.json is for peers (scope replicate) once tokens are on; an operator's token
         * has operate. The node list (discover, open by default) names every node's zone:
         * ours is the entry whose URL is the server's, else the first. */
        list = "/api/cluster/up-registry-nodes.json";
        rc = request(c, list, NULL, 0, 0, &raw, NULL);
    }
    if (rc != CTL_OK)
        return rc; /* unreachable: the one error line is printed, the command stops */
    json_t *r = json_loads(raw, 0, NULL);
    free(raw);
    const json_t *node = json_object_get(json_object_get(r, "nodeStatus"), "node");
    if (list) {
        const json_t *nodes = json_object_get(r, "nodes");
        const char *me = ctl_server(c);
        size_t i, mlen = strlen(me);
        const json_t *n;
        node = json_array_get(nodes, 0);
        json_array_foreach(nodes, i, n)
        {
            const char *u = ctl_str(n, "url");
            if (u && strncmp(u, me, mlen) == 0 && (!u[mlen] || !strcmp(u + mlen, "/")))
                node = n;
        }
    }
    const json_t *z = json_object_get(node, "zone");
    set_from(c->region_buf, sizeof c->region_buf, &c->region, ctl_str(z, "regionId"));
    set_from(c->zone_buf, sizeof c->zone_buf, &c->zone, ctl_str(z, "zoneId"));
    json_decref(r);
    return CTL_OK;
}
