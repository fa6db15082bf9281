/*
 * The registry path's streaming request reader; see reg_reader.h for the contract.
 *
 * One recursive-descent pass over a private copy of the body. The copy ends in NUL padding, so
 * the walk needs no bounds checks: a NUL is never valid where the walk looks (every NUL of
 * the input makes it bail), and the end of the document is the one NUL at text + len.
 * Every "return -1" below means "not mine": the caller decodes with jansson instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "reg_reader.h"

/* NUL bytes after the copy: the sentinel, then room for a 16-byte load that starts on it. */
#define PAD 16

/* The properties an instance is read for besides the string fields (enum artemisi_field):
 * matched case-insensitively, as artemisi_decode_instance's strcasecmp does (key_of). */
enum { K_PORT = ARTEMISI_F_COUNT, K_METADATA };

/* A growable array that starts in the caller's scratch (when it fits) and moves to the heap
 * when it outgrows it, doubling: at most a few allocations per request, none per instance,
 * and none at all for a request that fits the scratch. */
typedef struct vec {
    void *p;
    size_t cap; /* elements */
    int heap;   /* p is malloc'd (else it is in the scratch, or NULL) */
} vec_t;

typedef struct rd {
    char *p;
    size_t max_str;
    char *scratch; /* what is left of the caller's scratch, 16-byte aligned */
    size_t scratch_left;
    vec_t items; /* artemisi_instance_t */
    size_t n;
    vec_t pool; /* const char *: metadata keys and values of all instances, in document order */
    size_t pool_n;
} rd_t;

/* `bytes` from the scratch, or NULL when they do not fit. */
static void *carve(rd_t *r, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15; /* keep the rest aligned for any element type */
    if (bytes == 0 || bytes > r->scratch_left)
        return NULL;
    void *p = r->scratch;
    r->scratch += bytes;
    r->scratch_left -= bytes;
    return p;
}

/* Room for `need` more elements after `used`: first_cap (>= need) of them from the scratch or
 * the heap, then twice as many on the heap each time it is full. */
static int vec_room(rd_t *r, vec_t *v, size_t used, size_t need, size_t elem, size_t first_cap)
{
    if (used + need <= v->cap)
        return 0;
    if (!v->p && (v->p = carve(r, first_cap * elem)) != NULL) {
        v->cap = first_cap;
        return 0;
    }
    size_t cap = v->cap ? v->cap : first_cap;
    while (cap < used + need) {
        if (cap > SIZE_MAX / 4 / elem)
            return -1;
        cap *= 2;
    }
    void *np = v->heap ? realloc(v->p, cap * elem) : malloc(cap * elem);
    if (!np)
        return -1;
    if (!v->heap && used)
        memcpy(np, v->p, used * elem);
    v->p = np;
    v->cap = cap;
    v->heap = 1;
    return 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(rd_t *r)
{
    while (is_ws(*r->p))
        r->p++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII case-insensitive equality with a name made of letters only: for such a name,
 * (c | 0x20) equals the name's lower-case letter exactly when c is that letter in either case,
 * which is what strcasecmp does in the C locale (the server never calls setlocale). */
static int name_eq(const char *s, size_t n, const char *name, size_t name_len)
{
    if (n != name_len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != (name[i] | 0x20))
            return 0;
    return 1;
}

/* The first byte from p on that is not plain string content: a quote, a backslash, a control
 * byte (the NUL sentinel included) or a byte >= 0x80. Strings are most of a body's bytes, so
 * on x86-64 this looks at 16 at a time (SSE2 is part of the base ISA); a signed compare with
 * 0x20 catches both control bytes and bytes >= 0x80. Loads may pass the sentinel by 15 bytes:
 * PAD covers them. */
static char *plain_end(char *p)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (;; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz(mask);
    }
#else
    for (;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            return p;
    }
#endif
}

/* A string at r->p (on its opening quote). Only bytes that stand for themselves in jansson's
 * result are accepted: printable ASCII (DEL included) without escapes. Control bytes (NUL
 * included) are invalid JSON, escapes need decoding, bytes >= 0x80 need jansson's UTF-8
 * check: all bail. The closing quote becomes the string's NUL. */
static int read_string(rd_t *r, const char **s, size_t *n)
{
    char *start = r->p + 1, *p = plain_end(start);
    if (*p != '"')
        return -1;
    *p = '\0';
    *s = start;
    *n = (size_t)(p - start);
    r->p = p + 1;
    return 0;
}

static int literal(rd_t *r, const char *word, size_t n)
{
    /* The copy is NUL-padded, so reading n bytes never leaves it. */
    if (memcmp(r->p, word, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

/* A number in an unknown property: only its grammar matters, plus jansson's two range errors
 * ("too big integer" from strtoll, "real number overflow" from strtod), which are avoided by
 * bailing on integers of 19+ digits and on reals that could reach 1e308. */
static int skip_number(rd_t *r)
{
    char *p = r->p;
    if (*p == '-')
        p++;
    char *digits = p;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (is_digit(*p))
            p++;
    else
        return -1;
    size_t int_digits = (size_t)(p - digits);
    if (int_digits > 18 || is_digit(*p)) /* "01" is not JSON */
        return -1;
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return -1;
        while (is_digit(*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        /* |mantissa| < 1e18 and an exponent of at most two digits stay far below 1e308. */
        if (!is_digit(p[0]) || (is_digit(p[1]) && is_digit(p[2])))
            return -1;
        while (is_digit(*p))
            p++;
    }
    r->p = p;
    return 0;
}

/* Any JSON value, validated and discarded. depth is the value's own nesting level. */
static int skip_value(rd_t *r, int depth)
{
    const char *s;
    size_t n;
    switch (*r->p) {
    case '"':
        return read_string(r, &s, &n);
    case 't':
        return literal(r, "true", 4);
    case 'f':
        return literal(r, "false", 5);
    case 'n':
        return literal(r, "null", 4);
    case '{':
    case '[': {
        char close = *r->p == '{' ? '}' : ']';
        if (depth > SRV_REG_READER_MAX_DEPTH)
            return -1;
        r->p++;
        skip_ws(r);
        if (*r->p == close) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                if (*r->p != '"' || read_string(r, &s, &n) != 0)
                    return -1;
                skip_ws(r);
                if (*r->p != ':')
                    return -1;
                r->p++;
                skip_ws(r);
            }
            if (skip_value(r, depth + 1) != 0)
                return -1;
            skip_ws(r);
            if (*r->p == close) {
                r->p++;
                return 0;
            }
            if (*r->p != ',')
                return -1;
            r->p++;
            skip_ws(r);
        }
    }
    default:
        return *r->p == '-' || is_digit(*r->p) ? skip_number(r) : -1;
    }
}

/* A string field: null or a string of at most max_str bytes (longer: the jansson path's
 * TOO_LONG answer). Any other type is its 400: bail. */
static int read_str_value(rd_t *r, const char **out)
{
    size_t n;
    if (*r->p == 'n') {
        *out = NULL;
        return literal(r, "null", 4);
    }
    if (*r->p != '"' || read_string(r, out, &n) != 0)
        return -1;
    return n <= r->max_str ? 0 : -1;
}

/* port: null, or a plain JSON integer in the int range, which artemisi_json_int binds to
 * itself. Its other bindings (1.5 -> 1, "" -> 0, "8080" -> 8080) and its errors (true,
 * out of range) stay with the jansson path. */
static int read_port(rd_t *r, int32_t *port)
{
    if (*r->p == 'n') {
        *port = 0; /* a null primitive is 0 */
        return literal(r, "null", 4);
    }
    char *p = r->p;
    int neg = *p == '-';
    p += neg;
    if (!is_digit(*p))
        return -1;
    int64_t v = 0;
    char *digits = p;
    while (is_digit(*p)) {
        if (p - digits >= 10) /* beyond any int: out of range, a 400 */
            return -1;
        v = v * 10 + (*p++ - '0');
    }
    if ((*digits == '0' && p - digits > 1) || *p == '.' || *p == 'e' || *p == 'E')
        return -1; /* "08" is not JSON; a real is truncated by Jackson's rules: jansson's */
    v = neg ? -v : v;
    if (v < INT32_MIN || v > INT32_MAX)
        return -1;
    *port = (int32_t)v;
    r->p = p;
    return 0;
}

static int pool_push(rd_t *r, const char *k, const char *v)
{
    /* first size: room for 4 entries per instance the items were sized for */
    if (vec_room(r, &r->pool, r->pool_n, 2, sizeof(const char *), 8 * r->items.cap) != 0)
        return -1;
    const char **pool = r->pool.p;
    pool[r->pool_n++] = k;
    pool[r->pool_n++] = v;
    return 0;
}

/* metadata: null (meta_null stays 1) or an object of string-or-null values, in document
 * order. A repeated key would make jansson keep the first position with the last value:
 * bail rather than imitate it. */
static int read_metadata(rd_t *r, artemisi_instance_t *d)
{
    if (*r->p == 'n')
        return literal(r, "null", 4);
    if (*r->p != '{')
        return -1;
    d->meta_null = 0;
    r->p++;
    skip_ws(r);
    if (*r->p == '}') {
        r->p++;
        return 0;
    }
    size_t first = r->pool_n, lens[SRV_REG_READER_MAX_META];
    uint32_t n = 0;
    for (;;) {
        const char *k, *v;
        size_t klen;
        if (*r->p != '"' || read_string(r, &k, &klen) != 0 || klen > r->max_str ||
            n == SRV_REG_READER_MAX_META)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (lens[i] == klen && memcmp(((const char **)r->pool.p)[first + 2 * i], k, klen) == 0)
                return -1;
        skip_ws(r);
        if (*r->p != ':')
            return -1;
        r->p++;
        skip_ws(r);
        if (read_str_value(r, &v) != 0 || pool_push(r, k, v) != 0)
            return -1;
        lens[n++] = klen;
        skip_ws(r);
        if (*r->p == '}')
            break;
        if (*r->p != ',')
            return -1;
        r->p++;
        skip_ws(r);
    }
    r->p++;
    d->n_meta = n; /* d->meta is set once the pool stops moving (srv_reg_read) */
    return 0;
}

/* Whether the key s (n bytes) is `name` ignoring ASCII case: the exact spelling (what the Java
 * and C clients send) is one fixed-size compare; other spellings take name_eq. */
#define KEY_IS(s, n, name)                                                                         \
    (memcmp((s), (name), sizeof(name) - 1) == 0 || name_eq((s), (n), (name), sizeof(name) - 1))

/* The property an instance key names (enum artemisi_field, K_PORT, K_METADATA), or -1.
 * Dispatched on the length first: strcasecmp equality implies equal lengths. The names repeat
 * model.c's field table on purpose: a loop over that table cost 445,402 instead of 246,572
 * parse instructions per 100-instance heartbeat (bench/cpu_split.py); test_reg_reader and the
 * differential fuzzer hold the two lists to the same decoding. */
static int key_of(const char *s, size_t n)
{
    switch (n) {
    case 2:
        return KEY_IS(s, n, "ip") ? ARTEMISI_F_IP : -1;
    case 3:
        return KEY_IS(s, n, "url") ? ARTEMISI_F_URL : -1;
    case 4:
        return KEY_IS(s, n, "port") ? K_PORT : -1;
    case 6:
        if (KEY_IS(s, n, "zoneId"))
            return ARTEMISI_F_ZONE_ID;
        return KEY_IS(s, n, "status") ? ARTEMISI_F_STATUS : -1;
    case 7:
        return KEY_IS(s, n, "groupId") ? ARTEMISI_F_GROUP_ID : -1;
    case 8:
        if (KEY_IS(s, n, "regionId"))
            return ARTEMISI_F_REGION_ID;
        if (KEY_IS(s, n, "metadata"))
            return K_METADATA;
        return KEY_IS(s, n, "protocol") ? ARTEMISI_F_PROTOCOL : -1;
    case 9:
        return KEY_IS(s, n, "serviceId") ? ARTEMISI_F_SERVICE_ID : -1;
    case 10:
        return KEY_IS(s, n, "instanceId") ? ARTEMISI_F_INSTANCE_ID : -1;
    case 11:
        return KEY_IS(s, n, "machineName") ? ARTEMISI_F_MACHINE_NAME : -1;
    case 14:
        return KEY_IS(s, n, "healthCheckUrl") ? ARTEMISI_F_HEALTH_CHECK_URL : -1;
    default:
        return -1;
    }
}

/* One Instance object at r->p (on its '{'), at nesting level 3. */
static int read_instance(rd_t *r, artemisi_instance_t *d)
{
    memset(d, 0, sizeof(*d));
    d->meta_null = 1;
    unsigned seen = 0;
    r->p++;
    skip_ws(r);
    if (*r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t klen;
        if (*r->p != '"' || read_string(r, &k, &klen) != 0)
            return -1;
        skip_ws(r);
        if (*r->p != ':')
            return -1;
        r->p++;
        skip_ws(r);
        int i = key_of(k, klen);
        int rc;
        if (i < 0) {
            rc = skip_value(r, 4);
        } else if (seen & (1u << i)) {
            return -1; /* decided by jansson's order and Jackson's last-one-wins: not here */
        } else {
            seen |= 1u << i;
            if (i < ARTEMISI_F_COUNT)
                rc = read_str_value(r, &d->f[i]);
            else if (i == K_PORT)
                rc = read_port(r, &d->port);
            else
                rc = read_metadata(r, d);
        }
        if (rc != 0)
            return -1;
        skip_ws(r);
        if (*r->p == '}') {
            r->p++;
            return 0;
        }
        if (*r->p != ',')
            return -1;
        r->p++;
        skip_ws(r);
    }
}

static artemisi_instance_t *next_item(rd_t *r)
{
    if (vec_room(r, &r->items, r->n, 1, sizeof(artemisi_instance_t), 1) != 0)
        return NULL;
    return (artemisi_instance_t *)r->items.p + r->n++;
}

/* The value of "instances": null, or an array of Instance objects and nulls. */
static int read_instances(rd_t *r, size_t max_items, int *empty)
{
    if (*r->p == 'n')
        return literal(r, "null", 4); /* *empty stays 1 */
    if (*r->p != '[')
        return -1;
    r->p++;
    skip_ws(r);
    if (*r->p == ']') {
        r->p++;
        return 0;
    }
    *empty = 0;
    for (size_t total = 1;; total++) {
        if (total > max_items) /* nulls count, as json_array_size counts them */
            return -1;
        if (*r->p == 'n') {
            if (literal(r, "null", 4) != 0) /* skipped, as Java skips null entries */
                return -1;
        } else if (*r->p == '{') {
            artemisi_instance_t *d = next_item(r);
            if (!d || read_instance(r, d) != 0)
                return -1;
        } else {
            return -1;
        }
        skip_ws(r);
        if (*r->p == ']') {
            r->p++;
            return 0;
        }
        if (*r->p != ',')
            return -1;
        r->p++;
        skip_ws(r);
    }
}

static int read_root(rd_t *r, const char *end, size_t max_items, int *empty)
{
    int seen = 0;
    skip_ws(r);
    if (*r->p != '{')
        return -1;
    r->p++;
    skip_ws(r);
    if (*r->p == '}') {
        r->p++;
    } else {
        for (;;) {
            const char *k;
            size_t klen;
            if (*r->p != '"' || read_string(r, &k, &klen) != 0)
                return -1;
            skip_ws(r);
            if (*r->p != ':')
                return -1;
            r->p++;
            skip_ws(r);
            int rc;
            if (name_eq(k, klen, "instances", 9)) {
                if (seen++) /* exact-match-first, then last-one-wins: jansson's to decide */
                    return -1;
                rc = read_instances(r, max_items, empty);
            } else {
                rc = skip_value(r, 2);
            }
            if (rc != 0)
                return -1;
            skip_ws(r);
            if (*r->p == '}') {
                r->p++;
                break;
            }
            if (*r->p != ',')
                return -1;
            r->p++;
            skip_ws(r);
        }
    }
    skip_ws(r);
    return r->p == end ? 0 : -1; /* trailing bytes (an embedded NUL too) are jansson's error */
}

int srv_reg_read(const char *body, size_t len, size_t max_items, size_t max_str, void *scratch,
                 size_t scratch_len, srv_reg_doc_t *doc)
{
    memset(doc, 0, sizeof(*doc));
    doc->empty = 1;
    if (len > SIZE_MAX - PAD - 16)
        return SRV_REG_READ_NOT_MINE;
    rd_t r = {.max_str = max_str};
    if (scratch) {
        /* align the start, so carve() hands out aligned blocks */
        size_t skip = (size_t)(-(uintptr_t)scratch & 15);
        if (skip <= scratch_len) {
            r.scratch = (char *)scratch + skip;
            r.scratch_left = scratch_len - skip;
        }
    }
    /* One copy per request, the strings' home: the body's own buffer belongs to the HTTP or
     * WebSocket parser, and a walk that bails must leave it intact for jansson. */
    doc->text = carve(&r, len + 1 + PAD);
    if (!doc->text) {
        doc->text = doc->text_heap = malloc(len + 1 + PAD);
        if (!doc->text)
            return SRV_REG_READ_NOT_MINE;
    }
    memcpy(doc->text, body, len);
    memset(doc->text + len, 0, 1 + PAD);
    r.p = doc->text;
    /* Room for the common case at once: a real instance is a few hundred bytes. */
    size_t first = len / 256 + 1;
    if (first > max_items && max_items > 0)
        first = max_items;
    int rc = vec_room(&r, &r.items, 0, 1, sizeof(artemisi_instance_t), first) == 0 &&
                     read_root(&r, doc->text + len, max_items, &doc->empty) == 0
                 ? SRV_REG_READ_OK
                 : SRV_REG_READ_NOT_MINE;
    doc->items_heap = r.items.heap ? r.items.p : NULL;
    doc->pool_heap = r.pool.heap ? r.pool.p : NULL;
    if (rc != SRV_REG_READ_OK)
        return rc;
    /* The pool has stopped moving: point each instance at its metadata. */
    const char **pool = r.pool.p;
    artemisi_instance_t *items = r.items.p;
    size_t used = 0;
    for (size_t i = 0; i < r.n; i++) {
        items[i].meta = items[i].n_meta ? pool + used : NULL;
        used += 2 * (size_t)items[i].n_meta;
    }
    doc->list.items = items;
    doc->list.n = r.n;
    doc->list.meta_pool = pool;
    return SRV_REG_READ_OK;
}

void srv_reg_doc_free(srv_reg_doc_t *doc)
{
    /* Never artemisi_instance_list_free: the list may live in the caller's scratch. */
    free(doc->text_heap);
    free(doc->items_heap);
    free(doc->pool_heap);
    memset(doc, 0, sizeof(*doc));
}
