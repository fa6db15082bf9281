/*
 * The bootstrap copy read as it arrives (boot_reader.h).
 */
#include <stdlib.h>
#include <string.h>

#include "boot_reader.h"
#include "buf.h"

typedef enum {
    ST_OPEN,       /* before the outer '{' */
    ST_KEY,        /* a key, or '}' of an empty object */
    ST_KEY_NEXT,   /* a key after ',' */
    ST_COLON,      /* ':' after a key */
    ST_VALUE,      /* a member's value */
    ST_ELEM_OPEN,  /* after "services":[ -- an element or ']' */
    ST_ELEM,       /* an element after ',' */
    ST_ELEM_NEXT,  /* ',' or ']' after an element */
    ST_MEMBER_END, /* ',' or '}' after a member */
    ST_DONE,       /* after the outer '}': whitespace only */
    ST_FAILED
} state_t;

struct srv_boot_reader {
    artemisi_buf_t buf; /* unread bytes start at off */
    size_t off;
    size_t retry_at; /* parse a cut value again once this many bytes are unread */
    size_t max_value;
    state_t st;
    int key_services, key_status; /* which member the value belongs to */
    int eof;
    srv_boot_service_fn fn;
    void *ud;
    json_t *status;
    size_t n_services;
    const char *error;
};

srv_boot_reader_t *srv_boot_reader_new(size_t max_value, srv_boot_service_fn fn, void *ud)
{
    srv_boot_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    artemisi_buf_init(&r->buf);
    r->max_value = max_value;
    r->fn = fn;
    r->ud = ud;
    return r;
}

static int fail(srv_boot_reader_t *r, const char *why)
{
    r->st = ST_FAILED;
    if (!r->error)
        r->error = why;
    return -1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next byte that is not whitespace, or -1 when none is buffered yet (a NUL byte is a
 * byte: invalid here, not the end). */
static int peek(srv_boot_reader_t *r)
{
    while (r->off < r->buf.len && is_ws(r->buf.data[r->off]))
        r->off++;
    return r->off < r->buf.len ? (unsigned char)r->buf.data[r->off] : -1;
}

/* Parse one value at off. 1 with *out (owned), 0 when more input is needed, -1 failed. */
static int value(srv_boot_reader_t *r, json_t **out)
{
    size_t avail = r->buf.len - r->off;
    if (!r->eof && avail < r->retry_at)
        return 0;
    json_error_t e;
    json_t *v =
        json_loadb(r->buf.data + r->off, avail, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &e);
    /* e.position: bytes the value took (or where the parse stopped). Scalars are only
     * complete when something follows them: "12" may be the start of "123". */
    size_t pos = e.position > 0 ? (size_t)e.position : 0;
    if (v &&
        (pos < avail || r->eof || json_is_object(v) || json_is_array(v) || json_is_string(v))) {
        if (pos > r->max_value) { /* whatever the cuts, the same values pass */
            json_decref(v);
            return fail(r, "a value of the copy is larger than the limit");
        }
        r->off += pos;
        r->retry_at = 0;
        *out = v;
        return 1;
    }
    json_decref(v);
    /* Cut by the end of what has come (a premature end, or a literal, escape or UTF-8
     * sequence cut short within the last bytes), or wrong? Only the end of input decides a
     * cut value; an error well before the end is final. */
    int cut = v || json_error_code(&e) == json_error_premature_end_of_input || pos + 16 >= avail;
    if (r->eof || !cut)
        return fail(r, v || json_error_code(&e) == json_error_premature_end_of_input
                           ? "the copy ends in the middle of a value"
                           : "the copy is not valid JSON");
    if (avail > r->max_value)
        return fail(r, "a value of the copy is larger than the limit");
    r->retry_at = avail * 2 > r->max_value ? r->max_value + 1 : avail * 2;
    return 0;
}

/* Run the state machine over the buffered bytes. 0, or -1 failed. */
static int step(srv_boot_reader_t *r)
{
    for (;;) {
        json_t *v = NULL;
        int rc;
        int c;
        switch (r->st) {
        case ST_OPEN:
            if ((c = peek(r)) < 0)
                return 0;
            if (c != '{')
                return fail(r, "the copy is not a JSON object");
            r->off++;
            r->st = ST_KEY;
            break;
        case ST_KEY:
        case ST_KEY_NEXT:
            if ((c = peek(r)) < 0)
                return 0;
            if (c == '}' && r->st == ST_KEY) {
                r->off++;
                r->st = ST_DONE;
                break;
            }
            if (c != '"')
                return fail(r, "the copy is not valid JSON");
            if ((rc = value(r, &v)) <= 0)
                return rc;
            r->key_services = strcmp(json_string_value(v), "services") == 0;
            r->key_status = strcmp(json_string_value(v), "responseStatus") == 0;
            json_decref(v);
            r->st = ST_COLON;
            break;
        case ST_COLON:
            if ((c = peek(r)) < 0)
                return 0;
            if (c != ':')
                return fail(r, "the copy is not valid JSON");
            r->off++;
            r->st = ST_VALUE;
            break;
        case ST_VALUE:
            if ((c = peek(r)) < 0)
                return 0;
            if (r->key_services && c == '[') {
                r->off++;
                r->st = ST_ELEM_OPEN;
                break;
            }
            if ((rc = value(r, &v)) <= 0)
                return rc;
            if (r->key_status) {
                json_decref(r->status);
                r->status = v;
            } else {
                json_decref(v);
            }
            r->st = ST_MEMBER_END;
            break;
        case ST_ELEM_OPEN:
        case ST_ELEM:
            if ((c = peek(r)) < 0)
                return 0;
            if (c == ']' && r->st == ST_ELEM_OPEN) {
                r->off++;
                r->st = ST_MEMBER_END;
                break;
            }
            if ((rc = value(r, &v)) <= 0)
                return rc;
            r->n_services++;
            rc = r->fn ? r->fn(r->ud, v) : 0;
            json_decref(v);
            if (rc != 0)
                return fail(r, "the copy was refused");
            r->st = ST_ELEM_NEXT;
            break;
        case ST_ELEM_NEXT:
        case ST_MEMBER_END:
            if ((c = peek(r)) < 0)
                return 0;
            if (c == ',') {
                r->off++;
                r->st = r->st == ST_ELEM_NEXT ? ST_ELEM : ST_KEY_NEXT;
            } else if (c == (r->st == ST_ELEM_NEXT ? ']' : '}')) {
                r->off++;
                r->st = r->st == ST_ELEM_NEXT ? ST_MEMBER_END : ST_DONE;
            } else {
                return fail(r, "the copy is not valid JSON");
            }
            break;
        case ST_DONE:
            if (peek(r) >= 0)
                return fail(r, "bytes after the end of the copy");
            return 0;
        case ST_FAILED:
            return -1;
        }
    }
}

int srv_boot_reader_feed(srv_boot_reader_t *r, const char *data, size_t len)
{
    if (r->st == ST_FAILED)
        return -1;
    /* Keep the unread bytes at the front, so the buffer holds at most one value and a
     * piece. */
    if (r->off) {
        memmove(r->buf.data, r->buf.data + r->off, r->buf.len - r->off);
        r->buf.len -= r->off;
        r->off = 0;
    }
    if (artemisi_buf_append(&r->buf, data, len) != 0)
        return fail(r, "out of memory");
    return step(r);
}

int srv_boot_reader_finish(srv_boot_reader_t *r)
{
    if (r->st == ST_FAILED)
        return -1;
    r->eof = 1;
    if (step(r) != 0)
        return -1;
    if (r->st != ST_DONE)
        return fail(r, "the copy ends before the end of the document");
    return 0;
}

json_t *srv_boot_reader_status(const srv_boot_reader_t *r)
{
    return r->status;
}

size_t srv_boot_reader_services(const srv_boot_reader_t *r)
{
    return r->n_services;
}

const char *srv_boot_reader_error(const srv_boot_reader_t *r)
{
    return r->error;
}

void srv_boot_reader_free(srv_boot_reader_t *r)
{
    if (!r)
        return;
    json_decref(r->status);
    artemisi_buf_free(&r->buf);
    free(r);
}
