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

/* Java's String.trim(): every char up to ' ' is a blank. */
static int java_blank(char c)
{
    return (unsigned char)c <= ' ';
}

/* A numeric string as Jackson binds it to an int or long: trimmed, "" and the textual "null"
 * are 0, otherwise an optional sign and decimal digits only (Integer/Long.parseLong). */
static int parse_int_text(const char *s, int64_t min, int64_t max, int64_t *out)
{
    size_t n = strlen(s);
    while (n && java_blank(s[n - 1]))
        n--;
    while (n && java_blank(*s)) {
        s++;
        n--;
    }
    if (n == 0 || (n == 4 && memcmp(s, "null", 4) == 0)) {
        *out = 0;
        return 0;
    }
    int neg = *s == '-';
    if (*s == '+' || *s == '-') {
        s++;
        n--;
    }
    /* Trailing blanks were trimmed, so a digit run of n covers exactly the number. */
    if (n == 0 || strspn(s, "0123456789") < n)
        return -1;
    while (n > 1 && *s == '0') { /* leading zeros do not count towards overflow */
        s++;
        n--;
    }
    char buf[24];
    if (n > 19) /* more digits than any long */
        return -2;
    buf[0] = neg ? '-' : '+';
    memcpy(buf + 1, s, n);
    buf[n + 1] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return -2;
    *out = v;
    return 0;
}

int artemisi_json_int(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0; /* Jackson: a null primitive is 0 */
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < min || x > max)
            return -2;
        *out = x;
        return 0;
    }
    if (json_is_real(v)) {
        /* ACCEPT_FLOAT_AS_INT (on by default): Jackson compares the double itself with the
         * range (so 2147483647.5 overflows an int) and then truncates toward zero. */
        double d = json_real_value(v);
        if (!(d >= (double)min && d <= (double)max))
            return -2;
        /* (double)INT64_MAX rounds up to 2^63, which passes the check but does not convert;
         * Java's cast saturates there. */
        *out = d >= 0x1p63 ? INT64_MAX : (int64_t)d;
        return 0;
    }
    if (json_is_string(v))
        return parse_int_text(json_string_value(v), min, max, out);
    return -1; /* booleans, objects, arrays: Jackson cannot bind them to a number */
}

int artemisi_json_get_i64(const json_t *obj, const char *name, int64_t *out)
{
    return artemisi_json_int(artemisi_json_get(obj, name), INT64_MIN, INT64_MAX, out) ? -1 : 0;
}

/* ---- binding to declared Java types --------------------------------------------------- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Shortest text of a double that reads back as the same value, with ".0" when it would look
 * like an integer ("5.0", "1000.0"). Jackson gives the number's source text, which the parsed
 * tree no longer has; this agrees with it whenever the source was in shortest form. */
static void real_text(double d, char *buf, size_t len)
{
    if (d > -1e17 && d < 1e17 && d == (double)(long long)d) {
        /* Whole numbers in plain notation ("100.0"): the shortest %g would be "1e+02". */
        snprintf(buf, len, "%.1f", d);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    /* A locale with a decimal comma (an SDK application's) must not leak into the text. */
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    if (!strpbrk(buf, ".e"))
        strncat(buf, ".0", len - strlen(buf) - 1);
}

/* Jackson's String binding of a number or boolean: its text. NULL on OOM. */
static json_t *scalar_text(const json_t *v)
{
    char buf[64];
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        real_text(json_real_value(v), buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    return json_string(buf);
}

/* Whether v binds to `type`; on success, *coerce says a String needs its text. */
static int bindable(const json_t *v, artemisi_jtype_t type, int *coerce)
{
    *coerce = 0;
    switch (type) {
    case ARTEMISI_JT_STRING:
        if (json_is_string(v))
            return 1;
        *coerce = json_is_number(v) || json_is_boolean(v);
        return *coerce;
    case ARTEMISI_JT_OBJECT:
        return json_is_object(v);
    case ARTEMISI_JT_LIST:
        return json_is_array(v);
    }
    return 0;
}

static const char *const jtype_names[] = {"a string", "an object", "a list"};

/* Checks v and returns in *repl a new string to put in its place (String coercion), or
 * NULL. idx >= 0 appends "[idx]" to the name in the message. */
static int bind_value(const json_t *v, artemisi_jtype_t type, const char *what, long long idx,
                      json_t **repl, char *err, size_t errlen)
{
    int coerce;
    *repl = NULL;
    if (!bindable(v, type, &coerce)) {
        char at[32] = "";
        if (idx >= 0)
            snprintf(at, sizeof(at), "[%lld]", idx);
        snprintf(err, errlen, "%s%s must be %s (got %s)", what, at, jtype_names[type],
                 json_kind(v));
        return ARTEMISI_DECODE_BAD;
    }
    if (coerce && !(*repl = scalar_text(v)))
        return ARTEMISI_DECODE_NOMEM;
    return ARTEMISI_DECODE_OK;
}

int artemisi_json_bind(json_t *obj, const char *name, artemisi_jtype_t type, const char *what,
                       json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!json_is_object(obj))
        return ARTEMISI_DECODE_OK;
    /* The key as spelled in the document (case-insensitive, last one wins, as
     * artemisi_json_get), so a coerced value replaces the one that was read. */
    const char *key = name;
    json_t *v = json_object_get(obj, name);
    if (!v) {
        const char *k;
        json_t *value;
        json_object_foreach(obj, k, value)
        {
            if (strcasecmp(k, name) == 0) {
                key = k;
                v = value;
            }
        }
    }
    if (!v || json_is_null(v))
        return ARTEMISI_DECODE_OK;
    json_t *repl;
    int rc = bind_value(v, type, what, -1, &repl, err, errlen);
    if (rc)
        return rc;
    if (repl) {
        /* Replacing the value of an existing key keeps the key's storage (the hashtable only
         * swaps the value), so `key` may point into obj itself. */
        if (json_object_set_new(obj, key, repl) != 0)
            return ARTEMISI_DECODE_NOMEM;
        v = repl;
    }
    *out = v;
    return ARTEMISI_DECODE_OK;
}

int artemisi_json_bind_elem(json_t *arr, size_t i, artemisi_jtype_t type, const char *what,
                            json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    json_t *v = json_array_get(arr, i); /* NULL for a non-array or past the end */
    if (!v || json_is_null(v))
        return ARTEMISI_DECODE_OK;
    json_t *repl;
    int rc = bind_value(v, type, what, (long long)i, &repl, err, errlen);
    if (rc)
        return rc;
    if (repl) {
        if (json_array_set_new(arr, i, repl) != 0)
            return ARTEMISI_DECODE_NOMEM;
        v = repl;
    }
    *out = v;
    return ARTEMISI_DECODE_OK;
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
            /* Bound as Jackson binds a Java int: 1.5 -> 1, "" -> 0, true -> 400. */
            int64_t port = 0;
            int rc = artemisi_json_int(value, INT32_MIN, INT32_MAX, &port);
            if (rc) {
                snprintf(err, errlen,
                         rc == -2 ? "instance.port is out of range"
                                  : "instance.port must be an integer");
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
            /* A null value is kept (NULL): Java's map holds it and answers {"k":null}. */
            const char *sv = NULL;
            if (!json_is_null(value)) {
                if (!json_is_string(value)) {
                    snprintf(err, errlen, "instance.metadata values must be strings");
                    return ARTEMISI_DECODE_BAD;
                }
                sv = json_string_value(value);
            }
            if (strlen(key) > max_str || (sv && strlen(sv) > max_str)) {
                snprintf(err, errlen, "instance.metadata entry is longer than %zu bytes", max_str);
                return ARTEMISI_DECODE_TOO_LONG;
            }
            if (meta) {
                meta[2 * n] = key;
                meta[2 * n + 1] = sv;
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
