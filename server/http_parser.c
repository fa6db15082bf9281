/*
 * Incremental HTTP/1.1 request parser (see http_parser.h for the contract).
 *
 * Design: the head (request line + headers) is copied byte for byte into one growable
 * buffer. Bytes are scanned strictly in order, and the limit and control-byte checks are
 * made per byte, while everything else is decided per complete line; that is what makes the
 * result independent of how the input is split. Lines are parsed in place: separators are
 * overwritten with NUL so that method, path, query, header names and values are C strings,
 * and only offsets are stored until the head is complete (the buffer may move while it
 * grows). The body is copied into a second buffer; chunk-size and trailer lines go through
 * a small third one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http_parser.h"
#include "url.h"

/* A chunk-size line (hex size + extensions) longer than this is refused. */
#define CHUNK_LINE_MAX 4096
/* Buffers that grew past this are released on reset instead of kept. */
#define KEEP_BUF_MAX (64u * 1024u)

enum state {
    S_IDLE,       /* skipping empty lines before the request line */
    S_HEAD,       /* request line and header lines */
    S_BODY_CL,    /* Content-Length body */
    S_CHUNK_SIZE, /* chunk-size line */
    S_CHUNK_DATA, /* chunk data */
    S_CHUNK_CR,   /* CRLF after chunk data */
    S_CHUNK_LF,
    S_TRAILER, /* trailer lines after the last chunk */
    S_DONE,
    S_ERROR
};

struct hdr_off {
    size_t name, name_len, value, value_len;
};

struct srv_http_parser {
    srv_http_limits_t lim;
    int head_done_events;
    enum state state;
    int err_status;
    const char *err_text;

    artemisi_buf_t head; /* raw head, separators replaced by NUL once parsed */
    artemisi_buf_t line; /* current chunk-size or trailer line */
    artemisi_buf_t body; /* decoded body */
    size_t line_start;   /* offset in head of the line being read */
    int seen_request_line;

    size_t method_off, path_off, query_off; /* query_off == SIZE_MAX: no query */
    size_t authority_off;                   /* SIZE_MAX: not absolute-form */
    struct hdr_off *offs;
    size_t n_offs, cap_offs;
    srv_http_header_t *hdrs;
    size_t cap_hdrs;

    uint64_t remaining;   /* Content-Length or current chunk bytes still to read */
    size_t trailer_bytes; /* completed trailer lines so far */
    int head_ready;       /* req shows the head */
    srv_http_request_t req;
};

/* ---- character classes -------------------------------------------------------------------- */

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes refused anywhere in a head or chunk line: controls other than HTAB, CR and LF
 * (CR is checked per line, LF ends the line). */
static int is_bad_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}


static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    return alen == blen && strncasecmp(a, b, blen) == 0;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static int fail(srv_http_parser_t *p, int status, const char *text)
{
    p->state = S_ERROR;
    p->err_status = status;
    p->err_text = text;
    return SRV_HTTP_ERROR;
}

static int fail_oom(srv_http_parser_t *p)
{
    return fail(p, 500, "out of memory");
}

/*
 * Scan input for the end of a line, byte by byte: returns the number of bytes up to and
 * including the LF (or all of them if there is none), sets *got_lf. `have` bytes of the line
 * (or of the section it counts against) are already stored and the total may not exceed `cap`.
 * Returns SIZE_MAX with *why = 1 (too long) or 2 (control byte) on error.
 */
static size_t scan_line(const char *data, size_t len, size_t have, size_t cap, int *got_lf,
                        int *why)
{
    *got_lf = 0;
    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)data[j];
        if (have >= cap || j >= cap - have) {
            *why = 1;
            return SIZE_MAX;
        }
        if (c == '\n') {
            *got_lf = 1;
            return j + 1;
        }
        if (is_bad_ctl(c)) {
            *why = 2;
            return SIZE_MAX;
        }
    }
    return len;
}

/* Strip LF and an optional CR before it; refuse any other CR. Returns the content length or
 * SIZE_MAX for a bare CR. `n` includes the LF. */
static size_t line_content(const char *s, size_t n)
{
    n--; /* LF */
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (memchr(s, '\r', n) != NULL)
        return SIZE_MAX;
    return n;
}

/* ---- public helpers ----------------------------------------------------------------------- */

void srv_http_limits_init(srv_http_limits_t *l)
{
    l->max_header_bytes = SRV_HTTP_DEFAULT_MAX_HEADER_BYTES;
    l->max_headers = SRV_HTTP_DEFAULT_MAX_HEADERS;
    l->max_body_bytes = SRV_HTTP_DEFAULT_MAX_BODY_BYTES;
}

srv_http_method_t srv_http_method_from_str(const char *s, size_t len)
{
    static const struct {
        const char *name;
        srv_http_method_t m;
    } tab[] = {{"GET", SRV_HTTP_GET},       {"POST", SRV_HTTP_POST}, {"PUT", SRV_HTTP_PUT},
               {"DELETE", SRV_HTTP_DELETE}, {"HEAD", SRV_HTTP_HEAD}, {"OPTIONS", SRV_HTTP_OPTIONS},
               {"PATCH", SRV_HTTP_PATCH}};
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strlen(tab[i].name) == len && memcmp(tab[i].name, s, len) == 0)
            return tab[i].m;
    return SRV_HTTP_OTHER;
}

const char *srv_http_header_get(const srv_http_request_t *r, const char *name, size_t *len)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->n_headers; i++) {
        const srv_http_header_t *h = &r->headers[i];
        if (ieq(h->name, h->name_len, name)) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

int srv_http_header_has_token(const char *value, size_t len, const char *token)
{
    if (!value || !token)
        return 0;
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        size_t end = i;
        while (start < end && is_ows(value[start]))
            start++;
        while (end > start && is_ows(value[end - 1]))
            end--;
        if (ieq(value + start, end - start, token))
            return 1;
        i++; /* skip the comma (or step past the end) */
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

srv_http_parser_t *srv_http_parser_new(const srv_http_limits_t *limits)
{
    srv_http_parser_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    srv_http_limits_init(&p->lim);
    if (limits) {
        if (limits->max_header_bytes)
            p->lim.max_header_bytes = limits->max_header_bytes;
        if (limits->max_headers)
            p->lim.max_headers = limits->max_headers;
        if (limits->max_body_bytes)
            p->lim.max_body_bytes = limits->max_body_bytes;
    }
    p->head_done_events = 1;
    artemisi_buf_init(&p->head);
    artemisi_buf_init(&p->line);
    artemisi_buf_init(&p->body);
    srv_http_parser_reset(p);
    return p;
}

void srv_http_parser_free(srv_http_parser_t *p)
{
    if (!p)
        return;
    artemisi_buf_free(&p->head);
    artemisi_buf_free(&p->line);
    artemisi_buf_free(&p->body);
    free(p->offs);
    free(p->hdrs);
    free(p);
}

void srv_http_parser_set_head_done(srv_http_parser_t *p, int enable)
{
    p->head_done_events = enable ? 1 : 0;
}

static void reset_buf(artemisi_buf_t *b)
{
    if (b->cap > KEEP_BUF_MAX)
        artemisi_buf_free(b);
    else
        artemisi_buf_reset(b);
}

void srv_http_parser_reset(srv_http_parser_t *p)
{
    reset_buf(&p->head);
    reset_buf(&p->line);
    reset_buf(&p->body);
    p->state = S_IDLE;
    p->err_status = 0;
    p->err_text = "";
    p->line_start = 0;
    p->seen_request_line = 0;
    p->method_off = p->path_off = 0;
    p->query_off = SIZE_MAX;
    p->authority_off = SIZE_MAX;
    p->n_offs = 0;
    p->remaining = 0;
    p->trailer_bytes = 0;
    p->head_ready = 0;
    memset(&p->req, 0, sizeof(p->req));
}

const srv_http_request_t *srv_http_parser_request(const srv_http_parser_t *p)
{
    return p->head_ready ? &p->req : NULL;
}

int srv_http_parser_error_status(const srv_http_parser_t *p)
{
    return p->state == S_ERROR ? p->err_status : 0;
}

const char *srv_http_parser_error_text(const srv_http_parser_t *p)
{
    return p->state == S_ERROR ? p->err_text : "";
}

/* ---- head --------------------------------------------------------------------------------- */

/* Length of "http://" or "https://" (any case, as Tomcat accepts) at the start of t[0..n), or 0
 * when the target is not an absolute http(s) URI. */
static size_t absolute_scheme_len(const char *t, size_t n)
{
    if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
        return 7;
    if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
        return 8;
    return 0;
}

/* RFC 3986 authority characters without '@': host (reg-name, IPv4, IP-literal) and port. */
static int is_authority_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=:[]%", c) != NULL;
}

/* Request line at head[0..n) (content, no line ending); head[n] is writable. */
static int parse_request_line(srv_http_parser_t *p, size_t n)
{
    char *s = p->head.data;
    size_t i = 0;
    while (i < n && s[i] != ' ')
        i++;
    if (i == 0 || i == n)
        return fail(p, 400, "malformed request line");
    for (size_t k = 0; k < i; k++)
        if (!is_tchar((unsigned char)s[k]))
            return fail(p, 400, "invalid method");
    size_t sp1 = i;
    size_t t0 = sp1 + 1;
    i = t0;
    while (i < n && s[i] != ' ')
        i++;
    if (i == t0 || i == n)
        return fail(p, 400, "malformed request line");
    size_t sp2 = i;
    for (size_t k = t0; k < sp2; k++)
        if (s[k] == '\t')
            return fail(p, 400, "invalid request target");

    /* HTTP-version = "HTTP/" 1*DIGIT "." 1*DIGIT (more than one digit only to answer 505) */
    const char *v = s + sp2 + 1;
    size_t vn = n - (sp2 + 1);
    if (vn < 8 || memcmp(v, "HTTP/", 5) != 0)
        return fail(p, 400, "malformed HTTP version");
    size_t k = 5;
    unsigned major = 0, minor = 0, digits = 0;
    while (k < vn && v[k] >= '0' && v[k] <= '9') {
        if (major < 1000)
            major = major * 10 + (unsigned)(v[k] - '0');
        k++, digits++;
    }
    if (digits == 0 || k >= vn || v[k] != '.')
        return fail(p, 400, "malformed HTTP version");
    k++;
    digits = 0;
    while (k < vn && v[k] >= '0' && v[k] <= '9') {
        if (minor < 1000)
            minor = minor * 10 + (unsigned)(v[k] - '0');
        k++, digits++;
    }
    if (digits == 0 || k != vn)
        return fail(p, 400, "malformed HTTP version");
    if (major != 1 || minor > 1)
        return fail(p, 505, "HTTP version not supported");

    p->req.method = srv_http_method_from_str(s, sp1);
    p->req.version_minor = (int)minor;
    size_t tlen = sp2 - t0;
    size_t path0 = t0;
    size_t scheme = absolute_scheme_len(s + t0, tlen);
    if (s[t0] == '/') {
        /* origin-form */
    } else if (tlen == 1 && s[t0] == '*' && p->req.method == SRV_HTTP_OPTIONS) {
        /* asterisk-form */
    } else if (scheme) {
        /* absolute-form (RFC 7230 §5.3.2: servers MUST accept it). The authority runs up to
         * the path or the query; it must name a host, and userinfo is refused (Tomcat does,
         * and "user@host" would be a second spelling for the Host rules to get wrong). */
        size_t a0 = t0 + scheme, a1 = a0;
        while (a1 < sp2 && s[a1] != '/' && s[a1] != '?')
            a1++;
        if (a1 == a0)
            return fail(p, 400, "absolute-form target without a host");
        for (size_t j = a0; j < a1; j++)
            if (!is_authority_char((unsigned char)s[j]))
                return fail(p, 400, "invalid authority in request target");
        /* Make the authority a C string in place: move it two bytes left, over the "//" of
         * the scheme, and end it with a NUL. The byte freed before the path then holds the
         * '/' of a target that has none ("http://h" and "http://h?q" ask for "/"). */
        memmove(s + a0 - 2, s + a0, a1 - a0);
        s[a1 - 2] = '\0';
        p->authority_off = a0 - 2;
        if (a1 == sp2 || s[a1] == '?') {
            s[a1 - 1] = '/';
            path0 = a1 - 1;
        } else {
            path0 = a1;
        }
    } else {
        return fail(p, 400, "request target must start with '/' or be an http(s) URI");
    }
    s[sp1] = '\0';
    s[sp2] = '\0';
    p->method_off = 0;
    p->path_off = path0;
    char *q = memchr(s + path0, '?', sp2 - path0);
    if (q) {
        *q = '\0';
        p->query_off = (size_t)(q - s) + 1;
    }
    return SRV_HTTP_AGAIN;
}

/* Header line at head[off..off+n) (content); head[off+n] is writable. */
static int parse_header_line(srv_http_parser_t *p, size_t off, size_t n)
{
    char *s = p->head.data + off;
    if (is_ows(s[0]))
        return fail(p, 400, "obsolete line folding");
    char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return fail(p, 400, "malformed header line");
    size_t name_len = (size_t)(colon - s);
    for (size_t k = 0; k < name_len; k++)
        if (!is_tchar((unsigned char)s[k]))
            return fail(p, 400, "invalid header name");
    size_t v0 = name_len + 1, v1 = n;
    while (v0 < v1 && is_ows(s[v0]))
        v0++;
    while (v1 > v0 && is_ows(s[v1 - 1]))
        v1--;
    if (p->n_offs >= p->lim.max_headers)
        return fail(p, 431, "too many header fields");
    if (p->n_offs == p->cap_offs) {
        size_t nc = p->cap_offs ? p->cap_offs * 2 : 16;
        struct hdr_off *no = realloc(p->offs, nc * sizeof(*no));
        if (!no)
            return fail_oom(p);
        p->offs = no;
        p->cap_offs = nc;
    }
    s[name_len] = '\0';
    s[v1] = '\0';
    struct hdr_off *h = &p->offs[p->n_offs++];
    h->name = off;
    h->name_len = name_len;
    h->value = off + v0;
    h->value_len = v1 - v0;
    return SRV_HTTP_AGAIN;
}

/* Content-Length = 1#DIGITS; a list is allowed only if all members are equal. Returns 0, or
 * -1 if invalid, and stores the value. */
static int parse_content_length(const char *v, size_t n, uint64_t *out)
{
    int have = 0;
    uint64_t val = 0;
    size_t i = 0;
    while (i <= n) {
        size_t a = i;
        while (i < n && v[i] != ',')
            i++;
        size_t b = i;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (a == b)
            return -1;
        uint64_t x = 0;
        for (size_t k = a; k < b; k++) {
            if (v[k] < '0' || v[k] > '9')
                return -1;
            unsigned d = (unsigned)(v[k] - '0');
            if (x > (UINT64_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
        }
        if (have && x != val)
            return -1;
        val = x;
        have = 1;
        i++;
    }
    *out = val;
    return 0;
}

static int finish_request(srv_http_parser_t *p)
{
    p->req.body = p->body.data ? p->body.data : "";
    p->req.body_len = p->body.len;
    p->state = S_DONE;
    return SRV_HTTP_DONE;
}

/* The empty line was read: build the request view and decide on the body. Returns
 * SRV_HTTP_AGAIN (body follows), SRV_HTTP_DONE or SRV_HTTP_ERROR. */
static int finish_head(srv_http_parser_t *p)
{
    char *base = p->head.data;
    if (p->n_offs > p->cap_hdrs) {
        srv_http_header_t *nh = realloc(p->hdrs, p->n_offs * sizeof(*nh));
        if (!nh)
            return fail_oom(p);
        p->hdrs = nh;
        p->cap_hdrs = p->n_offs;
    }
    for (size_t i = 0; i < p->n_offs; i++) {
        p->hdrs[i].name = base + p->offs[i].name;
        p->hdrs[i].name_len = p->offs[i].name_len;
        p->hdrs[i].value = base + p->offs[i].value;
        p->hdrs[i].value_len = p->offs[i].value_len;
    }
    srv_http_request_t *r = &p->req;
    r->method_str = base + p->method_off;
    r->path = base + p->path_off;
    r->query = p->query_off == SIZE_MAX ? "" : base + p->query_off;
    r->authority = p->authority_off == SIZE_MAX ? NULL : base + p->authority_off;
    r->headers = p->n_offs ? p->hdrs : NULL;
    r->n_headers = p->n_offs;
    r->body = "";
    r->body_len = 0;

    int cl_seen = 0, te_seen = 0, te_ok = 1;
    int conn_close = 0, conn_keep = 0, conn_upgrade = 0, upg_ws = 0, expect = 0;
    uint64_t cl = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
        const srv_http_header_t *h = &r->headers[i];
        if (ieq(h->name, h->name_len, "content-length")) {
            uint64_t v;
            if (parse_content_length(h->value, h->value_len, &v) != 0)
                return fail(p, 400, "invalid Content-Length");
            if (cl_seen && v != cl)
                return fail(p, 400, "conflicting Content-Length");
            cl = v;
            cl_seen = 1;
        } else if (ieq(h->name, h->name_len, "transfer-encoding")) {
            /* only a single "chunked" is supported; "chunked, chunked" or a second header is
             * a different coding chain and is refused */
            if (te_seen || !ieq(h->value, h->value_len, "chunked"))
                te_ok = 0;
            te_seen = 1;
        } else if (ieq(h->name, h->name_len, "connection")) {
            conn_close |= srv_http_header_has_token(h->value, h->value_len, "close");
            conn_keep |= srv_http_header_has_token(h->value, h->value_len, "keep-alive");
            conn_upgrade |= srv_http_header_has_token(h->value, h->value_len, "upgrade");
        } else if (ieq(h->name, h->name_len, "upgrade")) {
            upg_ws |= srv_http_header_has_token(h->value, h->value_len, "websocket");
        } else if (ieq(h->name, h->name_len, "expect")) {
            expect |= ieq(h->value, h->value_len, "100-continue");
        }
    }
    if (cl_seen && te_seen)
        return fail(p, 400, "both Content-Length and Transfer-Encoding");
    if (te_seen && !te_ok)
        return fail(p, 501, "unsupported Transfer-Encoding");
    if (cl_seen && cl > p->lim.max_body_bytes)
        return fail(p, 413, "request body too large");

    if (r->version_minor == 1)
        r->keep_alive = !conn_close;
    else
        r->keep_alive = conn_keep && !conn_close;
    if (te_seen && r->version_minor == 0)
        r->keep_alive = 0; /* RFC 9112 6.1: framing of a 1.0 message with TE is suspect */
    r->expect_continue = expect && r->version_minor == 1;
    r->upgrade_websocket = upg_ws && conn_upgrade;
    r->chunked = te_seen;
    p->head_ready = 1;

    if (te_seen) {
        p->state = S_CHUNK_SIZE;
        return SRV_HTTP_AGAIN;
    }
    if (cl > 0) {
        p->remaining = cl;
        p->state = S_BODY_CL;
        return SRV_HTTP_AGAIN;
    }
    return finish_request(p);
}

/* Consume head bytes. Returns SRV_HTTP_AGAIN while the head is incomplete or when it is
 * complete with a body pending (state changed), SRV_HTTP_DONE or SRV_HTTP_ERROR. */
static int feed_head(srv_http_parser_t *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    *used = 0;
    while (i < len) {
        int got_lf, why = 0;
        size_t n =
            scan_line(data + i, len - i, p->head.len, p->lim.max_header_bytes, &got_lf, &why);
        if (n == SIZE_MAX) {
            if (why == 1)
                return fail(p, 431, "request header section too large");
            return fail(p, 400, "control character in header section");
        }
        if (artemisi_buf_append(&p->head, data + i, n) != 0)
            return fail_oom(p);
        i += n;
        *used = i;
        if (!got_lf)
            break;
        size_t off = p->line_start;
        size_t m = line_content(p->head.data + off, p->head.len - off);
        p->line_start = p->head.len;
        if (m == SIZE_MAX)
            return fail(p, 400, "bare CR in header section");
        int rc;
        if (!p->seen_request_line) {
            p->seen_request_line = 1;
            rc = parse_request_line(p, m);
        } else if (m == 0) {
            return finish_head(p);
        } else {
            rc = parse_header_line(p, off, m);
        }
        if (rc == SRV_HTTP_ERROR)
            return rc;
    }
    return SRV_HTTP_AGAIN;
}

/* ---- chunked body ------------------------------------------------------------------------- */

/* chunk-size [ BWS ";" ext... ] at line[0..n) */
static int parse_chunk_size(srv_http_parser_t *p, const char *s, size_t n)
{
    size_t i = 0;
    uint64_t v = 0;
    int big = 0;
    while (i < n && srv_hex_value((unsigned char)s[i]) >= 0) {
        if (v > (UINT64_MAX >> 4))
            big = 1;
        else
            v = (v << 4) | (uint64_t)srv_hex_value((unsigned char)s[i]);
        i++;
    }
    if (i == 0)
        return fail(p, 400, "invalid chunk size");
    while (i < n && is_ows(s[i]))
        i++;
    if (i < n && s[i] != ';')
        return fail(p, 400, "invalid chunk size");
    if (big || v > p->lim.max_body_bytes - p->body.len)
        return fail(p, 413, "request body too large");
    if (v == 0) {
        p->state = S_TRAILER;
        p->trailer_bytes = 0;
    } else {
        p->remaining = v;
        p->state = S_CHUNK_DATA;
    }
    return SRV_HTTP_AGAIN;
}

/* Read one chunk-size or trailer line into p->line. Returns 1 with the content length in
 * *content when a whole line is there, 0 if more input is needed, SRV_HTTP_ERROR. */
static int read_small_line(srv_http_parser_t *p, const char *data, size_t len, size_t *used,
                           size_t have, size_t cap, int too_long_status, size_t *content)
{
    int got_lf, why = 0;
    size_t n = scan_line(data, len, have, cap, &got_lf, &why);
    if (n == SIZE_MAX) {
        if (why == 1)
            return fail(p, too_long_status,
                        too_long_status == 431 ? "trailer section too large"
                                               : "chunk size line too long");
        return fail(p, 400, "control character in chunked framing");
    }
    if (artemisi_buf_append(&p->line, data, n) != 0)
        return fail_oom(p);
    *used = n;
    if (!got_lf)
        return 0;
    size_t m = line_content(p->line.data, p->line.len);
    if (m == SIZE_MAX)
        return fail(p, 400, "bare CR in chunked framing");
    *content = m;
    return 1;
}

/* ---- feed --------------------------------------------------------------------------------- */

int srv_http_parser_feed(srv_http_parser_t *p, const char *data, size_t len, size_t *consumed)
{
    size_t i = 0;
    size_t dummy;
    if (!consumed)
        consumed = &dummy;
    *consumed = 0;
    if (p->state == S_DONE)
        return SRV_HTTP_DONE;
    if (p->state == S_ERROR)
        return SRV_HTTP_ERROR;
    if (!data)
        len = 0;

    while (i < len) {
        switch (p->state) {
        case S_IDLE:
            while (i < len && (data[i] == '\r' || data[i] == '\n'))
                i++;
            if (i < len)
                p->state = S_HEAD;
            break;

        case S_HEAD: {
            size_t used;
            int rc = feed_head(p, data + i, len - i, &used);
            i += used;
            if (rc == SRV_HTTP_ERROR)
                return rc;
            if (rc == SRV_HTTP_DONE) {
                *consumed = i;
                return rc;
            }
            if (p->state != S_HEAD && p->head_done_events) {
                *consumed = i;
                return SRV_HTTP_HEAD_DONE;
            }
            break;
        }

        case S_BODY_CL:
        case S_CHUNK_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > p->remaining)
                n = (size_t)p->remaining;
            if (artemisi_buf_append(&p->body, data + i, n) != 0)
                return fail_oom(p);
            i += n;
            p->remaining -= n;
            if (p->remaining == 0) {
                if (p->state == S_BODY_CL) {
                    *consumed = i;
                    return finish_request(p);
                }
                p->state = S_CHUNK_CR;
            }
            break;
        }

        case S_CHUNK_CR:
            if (data[i] == '\r')
                p->state = S_CHUNK_LF;
            else if (data[i] == '\n')
                p->state = S_CHUNK_SIZE;
            else
                return fail(p, 400, "missing CRLF after chunk data");
            i++;
            break;

        case S_CHUNK_LF:
            if (data[i] != '\n')
                return fail(p, 400, "missing CRLF after chunk data");
            p->state = S_CHUNK_SIZE;
            i++;
            break;

        case S_CHUNK_SIZE: {
            size_t used, m;
            int rc =
                read_small_line(p, data + i, len - i, &used, p->line.len, CHUNK_LINE_MAX, 400, &m);
            if (rc == SRV_HTTP_ERROR)
                return rc;
            i += used;
            if (rc == 1) {
                if (parse_chunk_size(p, p->line.data, m) == SRV_HTTP_ERROR)
                    return SRV_HTTP_ERROR;
                artemisi_buf_reset(&p->line);
            }
            break;
        }

        case S_TRAILER: {
            size_t used, m;
            int rc = read_small_line(p, data + i, len - i, &used, p->trailer_bytes + p->line.len,
                                     p->lim.max_header_bytes, 431, &m);
            if (rc == SRV_HTTP_ERROR)
                return rc;
            i += used;
            if (rc == 1) {
                if (m == 0) {
                    artemisi_buf_reset(&p->line);
                    *consumed = i;
                    return finish_request(p);
                }
                /* trailer fields are accepted and ignored, but must not be folded */
                if (is_ows(p->line.data[0]))
                    return fail(p, 400, "obsolete line folding");
                p->trailer_bytes += p->line.len;
                artemisi_buf_reset(&p->line);
            }
            break;
        }

        case S_DONE:
        case S_ERROR:
            /* not reached: both return above */
            *consumed = i;
            return p->state == S_DONE ? SRV_HTTP_DONE : SRV_HTTP_ERROR;
        }
    }
    *consumed = len;
    return SRV_HTTP_AGAIN;
}
