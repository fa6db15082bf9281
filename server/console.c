/*
 * GET /console and /console/<file>: the embedded web console (console.h). Only names in the
 * generated table are ever answered: the lookup is an exact string compare against that
 * table, there is no filesystem access, and the path has already been normalised (no "..",
 * no %-escapes) by the HTTP layer, so no request can reach anything else.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "console.h"

/* A page that only ever loads its own files: no inline script or style, no framing, fetches
 * and the WebSocket push back to this server only. */
#define CONSOLE_HEADERS                                                                            \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "      \
    "form-action 'self'; frame-ancestors 'none'\r\n"                                               \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: no-referrer\r\n"

const srv_console_file_t *srv_console_find(const char *name)
{
    if (!*name)
        name = "index.html";
    for (size_t i = 0; i < srv_console_n_files; i++)
        if (strcmp(srv_console_files[i].name, name) == 0)
            return &srv_console_files[i];
    return NULL;
}

/* Does an If-None-Match value name this ETag ("*" or a list; weak comparison, as for GET)? */
static int etag_matches(const char *inm, size_t len, const char *etag)
{
    const char *bare = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t blen = strlen(bare);
    size_t i = 0;
    while (i < len) {
        while (i < len && (inm[i] == ' ' || inm[i] == '\t' || inm[i] == ','))
            i++;
        size_t s = i;
        while (i < len && inm[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (inm[e - 1] == ' ' || inm[e - 1] == '\t'))
            e--;
        if (e - s == 1 && inm[s] == '*')
            return 1;
        if (e - s >= 2 && strncmp(inm + s, "W/", 2) == 0)
            s += 2;
        if (e - s == blen && memcmp(inm + s, bare, blen) == 0)
            return 1;
    }
    return 0;
}

void srv_api_console(srv_req_t *req)
{
    static const char prefix[] = "/console/";
    const char *path = req->path;
    /* The routed path has lost its trailing slash (Tomcat's normalisation, http_conn.c), so
     * "/console/" is told from "/console" by the path as sent. */
    const char *raw = req->http->path;
    size_t rawlen = raw ? strlen(raw) : 0;
    if (strcmp(path, "/console") == 0 && rawlen && raw[rawlen - 1] == '/')
        path = prefix;
    if (strcmp(path, "/console") == 0) {
        /* Relative, so it stays right under a context prefix (/prefix/console -> console/). */
        req->status = 301;
        req->content_type = "text/plain; charset=utf-8";
        req->headers = "Location: console/\r\n" CONSOLE_HEADERS;
        artemisi_buf_appends(req->out, "see /console/\n");
        return;
    }
    const srv_console_file_t *f = NULL;
    if (strncmp(path, prefix, sizeof(prefix) - 1) == 0)
        f = srv_console_find(path + sizeof(prefix) - 1);
    if (!f) {
        req->status = 404;
        req->content_type = "text/plain; charset=utf-8";
        req->headers = CONSOLE_HEADERS;
        artemisi_buf_appends(req->out, "no such console file\n");
        return;
    }
    /* Names are not content-hashed, so every load revalidates; the ETag makes that a 304. */
    static char headers[sizeof(CONSOLE_HEADERS) + 128];
    snprintf(headers, sizeof(headers), "Cache-Control: no-cache\r\nETag: %s\r\n%s", f->etag,
             CONSOLE_HEADERS);
    req->headers = headers;
    req->content_type = f->content_type;
    size_t ilen = 0;
    const char *inm = srv_http_header_get(req->http, "If-None-Match", &ilen);
    if (inm && etag_matches(inm, ilen, f->etag)) {
        req->status = 304;
        return;
    }
    artemisi_buf_append(req->out, f->data, f->len);
}
