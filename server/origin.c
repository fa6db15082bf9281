/*
 * Browser origins and Host names (see origin.h).
 *
 * Both lists are matched by parsing the configured string item by item on every call: they
 * hold a handful of entries, and keeping no parsed state means a reload is a string swap and
 * there is nothing to free or get out of date.
 */
#include <string.h>
#include <strings.h>

#include "origin.h"

typedef struct span {
    const char *p;
    size_t n;
} span_t;

/* One parsed origin or Host value. */
typedef struct parsed {
    span_t scheme; /* empty for a Host value */
    span_t host;   /* IPv6 literals keep their brackets; a trailing dot is dropped */
    int port;      /* 0 = none (or the scheme's default port) */
} parsed_t;

static const char *const BAD_ORIGIN = "has an item that is not an origin SCHEME://HOST[:PORT]";
static const char *const BAD_PATH =
    "has an origin with a path, query or user part (write SCHEME://HOST[:PORT], no trailing /)";
static const char *const BAD_PORT = "has an item with a bad port (1..65535)";
static const char *const BAD_STAR = "mixes * with origins (* must be alone)";
static const char *const BAD_NULL =
    "lists null, which cannot be allowed (every sandboxed page and file:// sends it)";
static const char *const BAD_HOST = "has an item that is not HOST[:PORT] (IPv6 as [::1])";
static const char *const BAD_HOST_URL = "has a URL where a HOST[:PORT] belongs";
static const char *const BAD_HOST_STAR = "has *, which is not a host (leave empty for any Host)";

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int span_eq(span_t a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && strncasecmp(a.p, s, n) == 0;
}

static int span_eq_span(span_t a, span_t b)
{
    return a.n == b.n && strncasecmp(a.p, b.p, a.n) == 0;
}

/* Walks the comma-separated items of a list. */
typedef struct items {
    const char *cur, *end;
    int done;
} items_t;

static items_t items_of(const char *s, size_t n)
{
    items_t it = {s, s + n, 0};
    return it;
}

/* Next item, trimmed; returns 0 when the list is exhausted. Empty items are returned too (as
 * n == 0) so callers decide; they all skip them. */
static int next_item(items_t *it, span_t *item)
{
    if (it->done)
        return 0;
    const char *s = it->cur;
    const char *comma = memchr(s, ',', (size_t)(it->end - s));
    const char *e = comma ? comma : it->end;
    if (comma)
        it->cur = comma + 1;
    else
        it->done = 1;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    item->p = s;
    item->n = (size_t)(e - s);
    return 1;
}

/* HOST at the start of [s, s+n): a DNS name / IPv4 address or a bracketed IPv6 literal.
 * Returns the bytes used (0 = no host there). */
static size_t parse_host(const char *s, size_t n, span_t *host)
{
    size_t i = 0;
    if (n > 0 && s[0] == '[') {
        int colons = 0;
        for (i = 1; i < n && s[i] != ']'; i++) {
            char ch = s[i];
            if (ch == ':')
                colons++;
            else if (!is_digit(ch) && !((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')) &&
                     ch != '.')
                return 0;
        }
        if (i >= n || colons < 2)
            return 0;
        i++; /* the ']' */
        host->p = s;
        host->n = i;
        return i;
    }
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_'))
        i++;
    host->p = s;
    host->n = i;
    /* "example.com." is the same name as "example.com" (fully qualified). */
    if (host->n > 1 && host->p[host->n - 1] == '.')
        host->n--;
    if (host->n == 0 || (host->n == 1 && host->p[0] == '.'))
        return 0;
    return i;
}

/* ":PORT" remainder: 1..65535, at most 5 digits. Returns the port or -1. */
static int parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

/* HOST[:PORT] filling the whole of [s, s+n). Returns NULL or an error tail. */
static const char *parse_hostport(const char *s, size_t n, parsed_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t used = parse_host(s, n, &out->host);
    if (used == 0)
        return BAD_HOST;
    if (used == n)
        return NULL;
    if (s[used] != ':')
        return BAD_HOST;
    out->port = parse_port(s + used + 1, n - used - 1);
    return out->port < 0 ? BAD_PORT : NULL;
}

/* SCHEME://HOST[:PORT] filling the whole of [s, s+n). Returns NULL or an error tail. */
static const char *parse_origin(const char *s, size_t n, parsed_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    if (n == 0 || !is_alpha(s[0]))
        return BAD_ORIGIN;
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (n - i < 3 || memcmp(s + i, "://", 3) != 0)
        return BAD_ORIGIN;
    out->scheme.p = s;
    out->scheme.n = i;
    i += 3;
    /* "https://user:pw@host" and "https:///path" are URLs, not origins. */
    if (memchr(s + i, '@', n - i) || (i < n && s[i] == '/'))
        return BAD_PATH;
    size_t used = parse_host(s + i, n - i, &out->host);
    if (used == 0)
        return BAD_ORIGIN;
    i += used;
    if (i < n && s[i] == ':') {
        size_t ps = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        out->port = parse_port(s + ps, i - ps);
        if (out->port < 0)
            return BAD_PORT;
    }
    if (i < n)
        return s[i] == '/' || s[i] == '?' || s[i] == '#' ? BAD_PATH : BAD_ORIGIN;
    int def = span_eq(out->scheme, "http") || span_eq(out->scheme, "ws")     ? 80
              : span_eq(out->scheme, "https") || span_eq(out->scheme, "wss") ? 443
                                                                             : 0;
    if (out->port == def)
        out->port = 0;
    return NULL;
}

const char *srv_origin_check_list(const char *list)
{
    items_t it = items_of(list, strlen(list));
    span_t item;
    int items = 0, stars = 0;
    while (next_item(&it, &item)) {
        if (item.n == 0)
            continue;
        items++;
        if (item.n == 1 && item.p[0] == '*') {
            stars++;
            continue;
        }
        if (span_eq(item, "null"))
            return BAD_NULL;
        parsed_t o;
        const char *why = parse_origin(item.p, item.n, &o);
        if (why)
            return why;
    }
    return stars && items > 1 ? BAD_STAR : NULL;
}

const char *srv_host_check_list(const char *list)
{
    items_t it = items_of(list, strlen(list));
    span_t item;
    while (next_item(&it, &item)) {
        if (item.n == 0)
            continue;
        if (item.n == 1 && item.p[0] == '*')
            return BAD_HOST_STAR;
        if (memmem(item.p, item.n, "://", 3))
            return BAD_HOST_URL;
        parsed_t h;
        const char *why = parse_hostport(item.p, item.n, &h);
        if (why)
            return why;
    }
    return NULL;
}

int srv_origin_list_active(const char *list)
{
    items_t it = items_of(list, strlen(list));
    span_t item;
    while (next_item(&it, &item))
        if (item.n)
            return 1;
    return 0;
}

srv_origin_verdict_t srv_origin_match(const char *list, const char *origin, size_t len)
{
    if (!origin)
        return SRV_ORIGIN_NONE;
    parsed_t req;
    /* "null" and anything unparsable can still be allowed by "*", never by a listed item. */
    int req_ok = parse_origin(origin, len, &req) == NULL;
    int any = 0;
    items_t it = items_of(list, strlen(list));
    span_t item;
    while (next_item(&it, &item)) {
        if (item.n == 0)
            continue;
        if (item.n == 1 && item.p[0] == '*') {
            any = 1;
            continue;
        }
        parsed_t o;
        if (req_ok && parse_origin(item.p, item.n, &o) == NULL &&
            span_eq_span(o.scheme, req.scheme) && span_eq_span(o.host, req.host) &&
            o.port == req.port)
            return SRV_ORIGIN_LISTED;
    }
    return any ? SRV_ORIGIN_ANY : SRV_ORIGIN_DENIED;
}

int srv_host_match(const char *list, const char *host, size_t len)
{
    if (!srv_origin_list_active(list))
        return 1;
    parsed_t req;
    if (!host || parse_hostport(host, len, &req) != NULL)
        return 0;
    items_t it = items_of(list, strlen(list));
    span_t item;
    while (next_item(&it, &item)) {
        parsed_t h;
        if (item.n == 0 || parse_hostport(item.p, item.n, &h) != NULL)
            continue;
        if (span_eq_span(h.host, req.host) && (!h.port || !req.port || h.port == req.port))
            return 1;
    }
    return 0;
}

size_t srv_origin_allow_headers(const char *value, size_t len, char *out, size_t outlen)
{
    /* CORS-safelisted request headers plus the two encodings the Java client uses; anything
     * else (X-*, Authorization...) is left for the browser to refuse. */
    static const char *const simple[] = {"accept",       "accept-language",  "content-language",
                                         "content-type", "content-encoding", "accept-encoding"};
    enum { N_SIMPLE = sizeof(simple) / sizeof(simple[0]) };
    unsigned seen = 0;
    if (value) {
        items_t it = items_of(value, len);
        span_t item;
        while (next_item(&it, &item))
            for (unsigned k = 0; k < N_SIMPLE; k++)
                if (span_eq(item, simple[k]))
                    seen |= 1u << k;
    }
    size_t used = 0;
    if (outlen == 0)
        return 0;
    out[0] = '\0';
    for (unsigned k = 0; k < N_SIMPLE; k++) {
        if (!(seen & (1u << k)))
            continue;
        size_t need = strlen(simple[k]) + (used ? 2 : 0);
        if (used + need >= outlen)
            break;
        if (used) {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
        memcpy(out + used, simple[k], strlen(simple[k]));
        used += strlen(simple[k]);
        out[used] = '\0';
    }
    return used;
}

int srv_origin_is_host(const char *origin, size_t olen, const char *host, size_t hlen)
{
    parsed_t o, h;
    if (!origin || !host || parse_origin(origin, olen, &o) != NULL ||
        parse_hostport(host, hlen, &h) != NULL)
        return 0;
    /* A page is only ever served over http or https; other schemes (chrome-extension://,
     * file://) are not this server's pages even when their "host" happens to match. */
    int def = span_eq(o.scheme, "http") ? 80 : span_eq(o.scheme, "https") ? 443 : 0;
    if (!def)
        return 0;
    /* parse_origin dropped the default port; the Host header may still carry it. */
    if (h.port == def)
        h.port = 0;
    return span_eq_span(o.host, h.host) && o.port == h.port;
}

int srv_host_is_literal(const char *host, size_t len)
{
    parsed_t h;
    if (!host || parse_hostport(host, len, &h) != NULL)
        return 0;
    if (h.host.p[0] == '[' || span_eq(h.host, "localhost"))
        return 1;
    /* Dotted IPv4: digits and dots only (a DNS label may be all digits, but a name made only
     * of digit labels is not one a registrar hands out; resolvers treat it as an address). */
    for (size_t i = 0; i < h.host.n; i++)
        if (!is_digit(h.host.p[i]) && h.host.p[i] != '.')
            return 0;
    return 1;
}
