/*
 * Peer list parser; see peers.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "peers.h"
#include "strutil.h"

static int is_http_url(const char *s, size_t n)
{
    return (n > 7 && strncasecmp(s, "http://", 7) == 0) ||
           (n > 8 && strncasecmp(s, "https://", 8) == 0);
}

static char *dup_range(const char *s, const char *e)
{
    char *p = malloc((size_t)(e - s) + 1);
    if (!p)
        srv_oom();
    memcpy(p, s, (size_t)(e - s));
    p[e - s] = '\0';
    return p;
}

void srv_peers_free(srv_peer_spec_t *peers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(peers[i].zone);
        free(peers[i].url);
    }
    free(peers);
}

/* One group "zone:url,url" in [s, e), already trimmed and non-empty. */
static int parse_group(const char *s, const char *e, srv_peer_spec_t *out, size_t *n)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon)
        return -1;
    const char *zs = s, *ze = colon;
    artemisi_trim_range(&zs, &ze);
    if (zs == ze)
        return -1;
    size_t first = *n;
    for (const char *u = colon + 1; u <= e;) {
        const char *uend = memchr(u, ',', (size_t)(e - u));
        if (!uend)
            uend = e;
        const char *us = u, *ue = uend;
        artemisi_trim_range(&us, &ue);
        if (us < ue) {
            if (!is_http_url(us, (size_t)(ue - us)))
                return -1;
            out[*n].zone = dup_range(zs, ze);
            out[*n].url = dup_range(us, ue);
            (*n)++;
        }
        u = uend + 1;
    }
    return *n > first ? 0 : -1;
}

int srv_peers_parse(const char *spec, srv_peer_spec_t **out, size_t *n, char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *c = spec; *c; c++)
        cap += *c == ',' || *c == ';';
    srv_peer_spec_t *peers = calloc(cap, sizeof(*peers));
    if (!peers)
        srv_oom();
    size_t count = 0;
    for (const char *g = spec;;) {
        const char *gend = strchr(g, ';');
        if (!gend)
            gend = g + strlen(g);
        const char *s = g, *e = gend;
        artemisi_trim_range(&s, &e);
        if (s < e && parse_group(s, e, peers, &count) != 0) {
            snprintf(err, errlen, "is not ZONE:URL,URL;ZONE:URL with http(s) URLs");
            srv_peers_free(peers, count);
            return -1;
        }
        if (*gend == '\0')
            break;
        g = gend + 1;
    }
    *out = peers;
    *n = count;
    return 0;
}
