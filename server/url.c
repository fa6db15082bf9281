/*
 * Percent-decoding and query-string lookup (see url.h). The whole query is validated on
 * every lookup, so a malformed query is reported the same way whatever name is asked for.
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

/* Walk the query; for each pair whose decoded name equals `name`, append its decoded value
 * (separated by ',' when `all`). Returns the number of matches (only the first counts unless
 * `all`) or -1. */
static int query_lookup(const char *query, const char *name, artemisi_buf_t *out, int all)
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
            if (key.len == strlen(name) && memcmp(k, name, key.len) == 0 && (all || !found)) {
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
    artemisi_buf_free(&key);
    artemisi_buf_free(&val);
    if (rc < 0) {
        artemisi_buf_reset(out);
        return -1;
    }
    if (found && !out->data)
        artemisi_buf_append(out, "", 0);
    return found ? 1 : 0;
}

int srv_query_get(const char *query, const char *name, artemisi_buf_t *out)
{
    return query_lookup(query, name, out, 0);
}

int srv_query_get_all(const char *query, const char *name, artemisi_buf_t *out)
{
    return query_lookup(query, name, out, 1);
}
