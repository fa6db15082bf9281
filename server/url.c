/*
 * Percent-decoding, query-string lookup and request-path normalisation (see url.h). The whole
 * query is validated on every lookup, so a malformed query is reported the same way whatever
 * name is asked for.
 */
#include <string.h>

#include "url.h"

int srv_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int decode(const char *in, size_t len, artemisi_buf_t *out, int plus_is_space)
{
    size_t old = out->len;
    if (artemisi_buf_reserve(out, len) != 0)
        return -1;
    char *w = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = srv_hex_value((unsigned char)in[i + 1])) < 0 ||
                (lo = srv_hex_value((unsigned char)in[i + 2])) < 0 || (hi == 0 && lo == 0)) {
                out->len = old;
                out->data[old] = '\0';
                return -1;
            }
            *w++ = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '\0') {
            out->len = old;
            out->data[old] = '\0';
            return -1;
        } else if (c == '+' && plus_is_space) {
            *w++ = ' ';
        } else {
            *w++ = (char)c;
        }
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int srv_url_decode(const char *in, size_t len, artemisi_buf_t *out)
{
    return decode(in, len, out, 0);
}

int srv_url_decode_form(const char *in, size_t len, artemisi_buf_t *out)
{
    return decode(in, len, out, 1);
}

/* Walk the query; for each pair whose decoded name equals `name`, append its decoded value,
 * separated by ','. Returns 1 if any matched, 0 if none, -1 malformed, -2 out of memory. */
static int query_lookup(const char *query, const char *name, artemisi_buf_t *out)
{
    artemisi_buf_t key = ARTEMISI_BUF_INIT, val = ARTEMISI_BUF_INIT;
    int found = 0, rc = 0;
    artemisi_buf_reset(out);
    if (!name)
        return -1;
    if (!query)
        return 0;
    if (*query == '?')
        query++;
    const char *s = query;
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t plen = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', plen);
        size_t klen = eq ? (size_t)(eq - s) : plen;
        artemisi_buf_reset(&key);
        artemisi_buf_reset(&val);
        if (plen > 0) {
            if (srv_url_decode_form(s, klen, &key) != 0) {
                rc = -1;
                break;
            }
            if (eq && srv_url_decode_form(eq + 1, plen - klen - 1, &val) != 0) {
                rc = -1;
                break;
            }
            const char *k = key.data ? key.data : "";
            if (key.len == strlen(name) && memcmp(k, name, key.len) == 0) {
                if ((found && artemisi_buf_appendc(out, ',') != 0) ||
                    artemisi_buf_append(out, val.data ? val.data : "", val.len) != 0) {
                    rc = -1;
                    break;
                }
                found++;
            }
        }
        if (!amp)
            break;
        s = amp + 1;
    }
    /* Out of memory is not a malformed query: the caller must not answer "absent". */
    int oom = artemisi_buf_failed(&key) || artemisi_buf_failed(&val) || artemisi_buf_failed(out);
    artemisi_buf_free(&key);
    artemisi_buf_free(&val);
    if (rc < 0) {
        artemisi_buf_reset(out);
        return oom ? -2 : -1;
    }
    if (found && !out->data)
        artemisi_buf_append(out, "", 0);
    return found ? 1 : 0;
}

/* Java binds a String @RequestParam that is repeated to all its values joined with ','
 * (Spring converts the String[] it gets from the servlet request), so "serviceId=a&serviceId=x"
 * asks for service "a,x", not for "a"; both getters therefore join. */
int srv_query_get(const char *query, const char *name, artemisi_buf_t *out)
{
    return query_lookup(query, name, out);
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/*
 * Normalise one segment s[0..n) (path parameters already cut off) onto `out` after a '/':
 * %xx of an unreserved character is decoded, any other escape is copied as given (so "%2F"
 * never becomes a separator and "%25" never a '%' that a later decode would see twice).
 * Returns 0, or -1 for a malformed escape or %00.
 */
static int append_segment(artemisi_buf_t *out, const char *s, size_t n)
{
    char *w = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3 || (hi = srv_hex_value((unsigned char)s[i + 1])) < 0 ||
                (lo = srv_hex_value((unsigned char)s[i + 2])) < 0 || (hi == 0 && lo == 0))
                return -1;
            unsigned char d = (unsigned char)(hi << 4 | lo);
            if (is_unreserved(d)) {
                *w++ = (char)d;
            } else {
                memcpy(w, s + i, 3);
                w += 3;
            }
            i += 2;
        } else {
            *w++ = (char)c;
        }
    }
    out->len = (size_t)(w - out->data);
    return 0;
}

int srv_path_normalize(const char *path, artemisi_buf_t *out)
{
    artemisi_buf_reset(out);
    size_t len = strlen(path);
    /* The result is never longer than the input: one reservation, then no allocation. */
    if (artemisi_buf_reserve(out, len + 1) != 0)
        return -2;
    if (path[0] != '/') {
        memcpy(out->data, path, len + 1);
        out->len = len;
        return 0;
    }
    const char *s = path;
    while (*s) {
        while (*s == '/')
            s++; /* repeated and trailing slashes: empty segments are dropped */
        if (!*s)
            break;
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        /* ";params" end a segment's name (RFC 3986 §3.3); Tomcat cuts them before decoding */
        const char *semi = memchr(s, ';', n);
        size_t name = semi ? (size_t)(semi - s) : n;
        size_t start = out->len;
        out->data[out->len++] = '/';
        if (append_segment(out, s, name) != 0) {
            artemisi_buf_reset(out);
            return -1;
        }
        const char *seg = out->data + start + 1;
        size_t seglen = out->len - start - 1;
        if (seglen == 0 || (seglen == 1 && seg[0] == '.')) {
            out->len = start; /* "" (only parameters) and "." name no segment */
        } else if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
            /* ".." removes the segment before it; above the root it is refused, as Tomcat
             * does, rather than silently clamped */
            if (start == 0) {
                artemisi_buf_reset(out);
                return -1;
            }
            size_t k = start;
            while (k > 0 && out->data[k - 1] != '/')
                k--;
            out->len = k - 1;
        }
        s += n;
    }
    if (out->len == 0)
        out->data[out->len++] = '/';
    out->data[out->len] = '\0';
    return 0;
}
