/*
 * URL joining (protocol.md §0.4) and splitting for the SDK's HTTP and WebSocket clients
 * (see url_join.h). Kept separate and pure so both rules can be unit-tested on strings.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "url_join.h"

static int is_space(char c)
{
    return (unsigned char)c <= 0x20;
}

/* Trimmed [*b, *e) of s; 0 if s is NULL or blank. */
static int trimmed(const char *s, const char **b, const char **e)
{
    if (!s)
        return 0;
    const char *p = s, *q = s + strlen(s);
    while (p < q && is_space(*p))
        p++;
    while (q > p && is_space(q[-1]))
        q--;
    *b = p;
    *e = q;
    return p < q;
}

int artemisi_url_join(const char *base, const char *path, artemisi_buf_t *out)
{
    const char *parts[2] = {base, path};
    artemisi_buf_reset(out);
    if (artemisi_buf_append(out, "", 0) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        const char *b, *e;
        if (!trimmed(parts[i], &b, &e))
            continue;
        if (out->len > 0) {
            while (b < e && *b == '/')
                b++;
            if (out->data[out->len - 1] != '/' && artemisi_buf_appendc(out, '/') != 0)
                return -1;
        }
        if (artemisi_buf_append(out, b, (size_t)(e - b)) != 0)
            return -1;
    }
    return 0;
}

static int copy_out(char *dst, size_t size, const char *s, size_t n)
{
    if (n + 1 > size)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int artemisi_url_parse(const char *url, char *scheme, size_t scheme_size, char *host,
                       size_t host_size, int *port, char *path, size_t path_size)
{
    static const struct {
        const char *name;
        int port;
    } schemes[] = {{"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443}};
    if (!url)
        return -1;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return -1;
    const char *sep = strstr(url, "://");
    if (!sep)
        return -1;
    size_t slen = (size_t)(sep - url);
    int def_port = 0;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (slen == strlen(schemes[i].name) && strncasecmp(url, schemes[i].name, slen) == 0) {
            def_port = schemes[i].port;
            if (copy_out(scheme, scheme_size, schemes[i].name, slen) != 0)
                return -1;
        }
    }
    if (!def_port)
        return -1;

    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    if (memchr(a, '@', alen))
        return -1;
    const char *h = a, *hend, *pstart = NULL;
    if (alen && *a == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb || rb == a + 1)
            return -1;
        h = a + 1;
        hend = rb;
        if (rb + 1 < a + alen) {
            if (rb[1] != ':')
                return -1;
            pstart = rb + 2;
        }
        for (const char *c = h; c < hend; c++)
            if (!(strchr("0123456789abcdefABCDEF:.", *c)))
                return -1;
    } else {
        const char *colon = memchr(a, ':', alen);
        hend = colon ? colon : a + alen;
        if (colon)
            pstart = colon + 1;
        for (const char *c = h; c < hend; c++)
            if (*c == '[' || *c == ']')
                return -1;
    }
    if (hend == h)
        return -1;
    int pn = def_port;
    if (pstart) {
        const char *pend = a + alen;
        if (pstart == pend || pend - pstart > 5)
            return -1;
        pn = 0;
        for (const char *c = pstart; c < pend; c++) {
            if (*c < '0' || *c > '9')
                return -1;
            pn = pn * 10 + (*c - '0');
        }
        if (pn < 1 || pn > 65535)
            return -1;
    }
    if (copy_out(host, host_size, h, (size_t)(hend - h)) != 0)
        return -1;
    *port = pn;

    size_t plen = strcspn(rest, "#");
    if (plen == 0)
        return copy_out(path, path_size, "/", 1);
    if (*rest == '?') {
        if (plen + 2 > path_size)
            return -1;
        path[0] = '/';
        memcpy(path + 1, rest, plen);
        path[plen + 1] = '\0';
        return 0;
    }
    return copy_out(path, path_size, rest, plen);
}
