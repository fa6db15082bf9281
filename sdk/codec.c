/*
 * JSON codec for the Artemis wire format; see codec.h for the contract.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"

json_t *artemisi_json_parse(const char *data, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root && err && errlen)
        snprintf(err, errlen, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
    return root;
}

json_t *artemisi_json_get(const json_t *obj, const char *name)
{
    const char *key;
    json_t *value;
    json_t *found = NULL;
    if (!json_is_object(obj))
        return NULL;
    /* Exact match is the common case (Java clients send exact names). */
    found = json_object_get(obj, name);
    if (found)
        return found;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (strcasecmp(key, name) == 0)
            found = value; /* last one wins, like Jackson */
    }
    return found;
}

int artemisi_json_get_str(const json_t *obj, const char *name, const char **out)
{
    json_t *v = artemisi_json_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int artemisi_json_get_i64(const json_t *obj, const char *name, int64_t *out)
{
    json_t *v = artemisi_json_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        return parse_i64(json_string_value(v), out);
    return -1;
}

int artemisi_json_get_bool(const json_t *obj, const char *name, int *out)
{
    json_t *v = artemisi_json_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
            *out = strcasecmp(s, "true") == 0;
            return 0;
        }
    }
    return -1;
}

static int check_len(const char *s, size_t max_str, const char *name, char *err, size_t errlen)
{
    if (s && strlen(s) > max_str) {
        snprintf(err, errlen, "instance.%s is longer than %zu bytes", name, max_str);
        return ARTEMISI_DECODE_TOO_LONG;
    }
    return 0;
}

int artemisi_decode_instance(const json_t *obj, artemisi_instance_t *draft, const char **meta,
                             size_t *n_meta_needed, size_t max_str, char *err, size_t errlen)
{
    memset(draft, 0, sizeof(*draft));
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "instance is not a JSON object");
        return ARTEMISI_DECODE_BAD;
    }
    /* One pass over the object's properties, matched case-insensitively. */
    const char *key;
    json_t *value;
    json_t *meta_obj = NULL;
    int have_meta = 0;
    json_object_foreach((json_t *)obj, key, value)
    {
        int i;
        for (i = 0; i < ARTEMISI_F_COUNT; i++)
            if (strcasecmp(key, artemisi_field_names[i]) == 0)
                break;
        if (i < ARTEMISI_F_COUNT) {
            if (json_is_null(value)) {
                draft->f[i] = NULL;
            } else if (json_is_string(value)) {
                draft->f[i] = json_string_value(value);
                int rc = check_len(draft->f[i], max_str, artemisi_field_names[i], err, errlen);
                if (rc)
                    return rc;
            } else {
                snprintf(err, errlen, "instance.%s must be a string", artemisi_field_names[i]);
                return ARTEMISI_DECODE_BAD;
            }
        } else if (strcasecmp(key, "port") == 0) {
            int64_t port = 0;
            if (json_is_null(value)) {
                port = 0;
            } else if (json_is_integer(value)) {
                port = json_integer_value(value);
            } else if (!json_is_string(value) || parse_i64(json_string_value(value), &port)) {
                snprintf(err, errlen, "instance.port must be an integer");
                return ARTEMISI_DECODE_BAD;
            }
            if (port < INT32_MIN || port > INT32_MAX) {
                snprintf(err, errlen, "instance.port is out of range");
                return ARTEMISI_DECODE_BAD;
            }
            draft->port = (int32_t)port;
        } else if (strcasecmp(key, "metadata") == 0) {
            have_meta = 1;
            meta_obj = value;
        }
    }
    draft->meta_null = 1;
    if (have_meta && !json_is_null(meta_obj)) {
        if (!json_is_object(meta_obj)) {
            snprintf(err, errlen, "instance.metadata must be an object");
            return ARTEMISI_DECODE_BAD;
        }
        draft->meta_null = 0;
        size_t n = 0;
        json_object_foreach(meta_obj, key, value)
        {
            if (json_is_null(value))
                continue;
            if (!json_is_string(value)) {
                snprintf(err, errlen, "instance.metadata values must be strings");
                return ARTEMISI_DECODE_BAD;
            }
            if (strlen(key) > max_str || strlen(json_string_value(value)) > max_str) {
                snprintf(err, errlen, "instance.metadata entry is longer than %zu bytes", max_str);
                return ARTEMISI_DECODE_TOO_LONG;
            }
            if (meta) {
                meta[2 * n] = key;
                meta[2 * n + 1] = json_string_value(value);
            }
            n++;
        }
        if (n_meta_needed)
            *n_meta_needed = n;
        draft->n_meta = (uint32_t)n;
        draft->meta = meta;
    } else if (n_meta_needed) {
        *n_meta_needed = 0;
    }
    return ARTEMISI_DECODE_OK;
}

int artemisi_decode_instances(const json_t *arr, size_t max_items, size_t max_str,
                              artemisi_instance_list_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!arr || json_is_null(arr))
        return ARTEMISI_DECODE_OK;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "instances must be an array");
        return ARTEMISI_DECODE_BAD;
    }
    size_t total = json_array_size(arr);
    if (total > max_items) {
        snprintf(err, errlen, "request.instances has %zu entries, more than the limit of %zu",
                 total, max_items);
        return ARTEMISI_DECODE_TOO_MANY;
    }
    if (total == 0)
        return ARTEMISI_DECODE_OK;
    /* First pass: validate and count metadata so all pointers fit in one pool. */
    size_t meta_total = 0;
    for (size_t i = 0; i < total; i++) {
        json_t *e = json_array_get(arr, i);
        if (json_is_null(e))
            continue;
        artemisi_instance_t d;
        size_t nm = 0;
        int rc = artemisi_decode_instance(e, &d, NULL, &nm, max_str, err, errlen);
        if (rc)
            return rc;
        meta_total += nm;
    }
    out->items = calloc(total, sizeof(*out->items));
    out->meta_pool = meta_total ? calloc(meta_total * 2, sizeof(char *)) : NULL;
    if (!out->items || (meta_total && !out->meta_pool)) {
        artemisi_instance_list_free(out);
        return ARTEMISI_DECODE_NOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < total; i++) {
        json_t *e = json_array_get(arr, i);
        if (json_is_null(e))
            continue;
        size_t nm = 0;
        /* No arithmetic on a NULL pool (undefined behaviour, even with a zero offset). */
        const char **meta = out->meta_pool ? out->meta_pool + used * 2 : NULL;
        artemisi_decode_instance(e, &out->items[out->n], meta, &nm, max_str, err, errlen);
        if (nm == 0)
            out->items[out->n].meta = NULL;
        used += nm;
        out->n++;
    }
    return ARTEMISI_DECODE_OK;
}

void artemisi_instance_list_free(artemisi_instance_list_t *l)
{
    free(l->items);
    free(l->meta_pool);
    memset(l, 0, sizeof(*l));
}

/* ---- encoders ---------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF) starting at s[0], a byte >= 0x80; 0 if it is not well-formed. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

int artemisi_json_strn(artemisi_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX (an invalid UTF-8 byte becomes 3 bytes). */
    if (n > (SIZE_MAX - 2) / 6 || artemisi_buf_reserve(b, n * 6 + 2) != 0)
        return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* Output must stay valid JSON (UTF-8): a byte that does not start a well-formed
             * sequence becomes U+FFFD, as Java's decoders do. */
            size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
            if (len == 0) {
                *o++ = (char)0xef;
                *o++ = (char)0xbf;
                *o++ = (char)0xbd;
            } else {
                memcpy(o, s + i, len);
                o += len;
                i += len - 1;
            }
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int artemisi_json_str(artemisi_buf_t *b, const char *s)
{
    if (!s)
        return artemisi_buf_append(b, "null", 4);
    return artemisi_json_strn(b, s, strlen(s));
}

static int field(artemisi_buf_t *b, const char *name_with_quotes_colon, const char *v)
{
    return artemisi_buf_appends(b, name_with_quotes_colon) || artemisi_json_str(b, v);
}

int artemisi_encode_instance(artemisi_buf_t *b, const artemisi_instance_t *x)
{
    int rc = 0;
    rc |= field(b, "{\"groupId\":", x->f[ARTEMISI_F_GROUP_ID]);
    rc |= field(b, ",\"healthCheckUrl\":", x->f[ARTEMISI_F_HEALTH_CHECK_URL]);
    rc |= field(b, ",\"instanceId\":", x->f[ARTEMISI_F_INSTANCE_ID]);
    rc |= field(b, ",\"ip\":", x->f[ARTEMISI_F_IP]);
    rc |= field(b, ",\"machineName\":", x->f[ARTEMISI_F_MACHINE_NAME]);
    rc |= artemisi_buf_appends(b, ",\"metadata\":");
    if (x->meta_null) {
        rc |= artemisi_buf_appends(b, "null");
    } else {
        rc |= artemisi_buf_appendc(b, '{');
        for (uint32_t i = 0; i < x->n_meta; i++) {
            if (i)
                rc |= artemisi_buf_appendc(b, ',');
            /* A JSON key cannot be null; a draft's NULL key is written as "" (as pack does). */
            rc |= artemisi_json_str(b, x->meta[2 * i] ? x->meta[2 * i] : "");
            rc |= artemisi_buf_appendc(b, ':');
            rc |= artemisi_json_str(b, x->meta[2 * i + 1]);
        }
        rc |= artemisi_buf_appendc(b, '}');
    }
    rc |= artemisi_buf_appends(b, ",\"port\":");
    rc |= artemisi_buf_append_i64(b, x->port);
    rc |= field(b, ",\"protocol\":", x->f[ARTEMISI_F_PROTOCOL]);
    rc |= field(b, ",\"regionId\":", x->f[ARTEMISI_F_REGION_ID]);
    rc |= field(b, ",\"serviceId\":", x->f[ARTEMISI_F_SERVICE_ID]);
    rc |= field(b, ",\"status\":", x->f[ARTEMISI_F_STATUS]);
    rc |= field(b, ",\"url\":", x->f[ARTEMISI_F_URL]);
    rc |= field(b, ",\"zoneId\":", x->f[ARTEMISI_F_ZONE_ID]);
    rc |= artemisi_buf_appendc(b, '}');
    return rc ? -1 : 0;
}

int artemisi_encode_status(artemisi_buf_t *b, const char *error_code, const char *message,
                           const char *status)
{
    int rc = field(b, "{\"errorCode\":", error_code);
    rc |= field(b, ",\"message\":", message);
    rc |= field(b, ",\"status\":", status);
    rc |= artemisi_buf_appendc(b, '}');
    return rc ? -1 : 0;
}

int artemisi_encode_change(artemisi_buf_t *b, const char *change_type, int64_t change_time,
                           const artemisi_instance_t *inst)
{
    int rc = artemisi_buf_appends(b, "{\"changeTime\":");
    rc |= artemisi_buf_append_i64(b, change_time);
    rc |= field(b, ",\"changeType\":", change_type);
    rc |= artemisi_buf_appends(b, ",\"instance\":");
    rc |= artemisi_encode_instance(b, inst);
    rc |= artemisi_buf_appendc(b, '}');
    return rc ? -1 : 0;
}
