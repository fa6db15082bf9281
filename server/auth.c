/*
 * Access tokens and scopes: see auth.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/sha.h>

#include "auth.h"

#define TOKEN_MIN 16 /* shorter ones are guessable; the docs show `openssl rand -hex 32` */
#define TOKEN_MAX 512

typedef struct entry {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    unsigned scopes;
} entry_t;

struct srv_auth {
    entry_t *e;
    size_t n;
};

static const char *const scope_names[SRV_SCOPE_COUNT] = {
#define SCOPE_NAME(id, name) [SRV_SCOPE_BIT_##id] = name,
    SRV_SCOPE_LIST(SCOPE_NAME)
#undef SCOPE_NAME
};

const char *srv_scope_name(unsigned scope)
{
    for (int i = 0; i < SRV_SCOPE_COUNT; i++)
        if (scope == (1u << i))
            return scope_names[i];
    return "?";
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

const char *srv_scopes_parse(const char *list, size_t len, unsigned *out)
{
    unsigned s = 0;
    const char *p = list, *end = list + len;
    while (p < end) {
        const char *e = memchr(p, ',', (size_t)(end - p));
        if (!e)
            e = end;
        const char *a = p, *b = e;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (b > a) {
            int found = -1;
            for (int i = 0; i < SRV_SCOPE_COUNT; i++)
                if (strlen(scope_names[i]) == (size_t)(b - a) &&
                    memcmp(scope_names[i], a, (size_t)(b - a)) == 0)
                    found = i;
            if (found < 0) /* not echoed: it may be a token pasted into the wrong column */
                return "has an unknown scope (known: register, discover, operate, replicate, "
                       "admin)";
            s |= 1u << found;
        }
        p = e < end ? e + 1 : end;
    }
    *out = s;
    return NULL;
}

const char *srv_auth_check_open_scopes(const char *list)
{
    unsigned s;
    const char *why = srv_scopes_parse(list, strlen(list), &s);
    if (why)
        return why;
    if (s & (SRV_SCOPE_REPLICATE | SRV_SCOPE_ADMIN))
        return "may not open 'replicate' or 'admin' (any client could then write as a peer)";
    return NULL;
}

static unsigned expand(unsigned s)
{
    return (s & SRV_SCOPE_ADMIN) ? SRV_SCOPE_ALL : s;
}

srv_auth_t *srv_auth_parse(const char *text, size_t len, char *err, size_t errlen, int *oom)
{
    *oom = 0;
    srv_auth_t *a = calloc(1, sizeof(*a));
    if (!a)
        goto nomem;
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *q = p;
        p = nl ? nl + 1 : end;
        while (le > q && (is_space(le[-1]) || le[-1] == '\r'))
            le--;
        while (q < le && is_space(*q))
            q++;
        if (q == le || *q == '#')
            continue;
        const char *t = q;
        while (q < le && !is_space(*q))
            q++;
        size_t tlen = (size_t)(q - t);
        while (q < le && is_space(*q))
            q++;
        if (q == le) {
            snprintf(err, errlen, "line %zu: a token needs scopes (TOKEN SCOPE[,SCOPE...])",
                     lineno);
            goto fail;
        }
        if (tlen < TOKEN_MIN || tlen > TOKEN_MAX) {
            snprintf(err, errlen, "line %zu: a token must be %d..%d characters long", lineno,
                     TOKEN_MIN, TOKEN_MAX);
            goto fail;
        }
        for (size_t i = 0; i < tlen; i++)
            if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e) {
                snprintf(err, errlen, "line %zu: a token must be printable ASCII", lineno);
                goto fail;
            }
        unsigned s;
        const char *why = srv_scopes_parse(q, (size_t)(le - q), &s);
        if (!why && s == 0)
            why = "has no scope";
        if (why) {
            snprintf(err, errlen, "line %zu: %s", lineno, why);
            goto fail;
        }
        entry_t ne;
        SHA256((const unsigned char *)t, tlen, ne.digest);
        ne.scopes = expand(s);
        for (size_t i = 0; i < a->n; i++)
            if (memcmp(a->e[i].digest, ne.digest, sizeof(ne.digest)) == 0) {
                snprintf(err, errlen, "line %zu: the token of an earlier line is listed again",
                         lineno);
                goto fail;
            }
        if (a->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            entry_t *ng = realloc(a->e, nc * sizeof(*ng));
            if (!ng)
                goto nomem;
            a->e = ng;
            cap = nc;
        }
        a->e[a->n++] = ne;
    }
    return a;
nomem:
    *oom = 1;
    snprintf(err, errlen, "out of memory");
fail:
    srv_auth_free(a);
    return NULL;
}

void srv_auth_free(srv_auth_t *a)
{
    if (!a)
        return;
    free(a->e);
    free(a);
}

size_t srv_auth_count(const srv_auth_t *a)
{
    return a ? a->n : 0;
}

unsigned srv_auth_lookup(const srv_auth_t *a, const char *tok, size_t len)
{
    if (!a || len < TOKEN_MIN || len > TOKEN_MAX)
        return 0;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, d);
    unsigned granted = 0;
    for (size_t i = 0; i < a->n; i++) {
        unsigned diff = 0;
        for (size_t k = 0; k < sizeof(d); k++)
            diff |= (unsigned)(a->e[i].digest[k] ^ d[k]);
        /* all ones when diff == 0, else 0: no branch on how much of the digest matched */
        unsigned mask = (unsigned)0 - (unsigned)(((diff | (0u - diff)) >> 31) ^ 1u);
        granted |= a->e[i].scopes & mask;
    }
    return granted;
}

int srv_auth_bearer(const char *value, size_t len, const char **tok, size_t *tlen)
{
    while (len && is_space(*value)) {
        value++;
        len--;
    }
    while (len && is_space(value[len - 1]))
        len--;
    if (len < 7 || strncasecmp(value, "Bearer", 6) != 0 || !is_space(value[6]))
        return 0;
    value += 7;
    len -= 7;
    while (len && is_space(*value)) {
        value++;
        len--;
    }
    if (!len)
        return 0;
    *tok = value;
    *tlen = len;
    return 1;
}

srv_auth_verdict_t srv_auth_decide(const srv_auth_t *a, unsigned open, unsigned need,
                                   const char *tok, size_t tlen)
{
    if (!a || need == SRV_SCOPE_NONE)
        return SRV_AUTH_OK;
    if (!tok)
        return (open & need) ? SRV_AUTH_OK : SRV_AUTH_MISSING;
    unsigned granted = srv_auth_lookup(a, tok, tlen);
    if (!granted)
        return SRV_AUTH_INVALID;
    return (granted & need) || (open & need) ? SRV_AUTH_OK : SRV_AUTH_SCOPE;
}
