/*
 * Access tokens and scopes (docs/security.md "Access tokens"): parsing the auth.tokens-file
 * text, validating auth.open-scopes, and deciding whether a request's Authorization header
 * grants the scope its route needs.
 *
 * Tokens are kept only as SHA-256 digests, and a lookup compares the presented token's digest
 * with every entry without an early exit, so neither the answer time nor a memory dump of the
 * table reveals a token. Error messages name line numbers, never a token.
 *
 * Pure: no I/O (the caller reads the file), no state beyond the table. Thread-safe for
 * concurrent lookups on one table.
 */
#ifndef ARTEMIS_SERVER_AUTH_H
#define ARTEMIS_SERVER_AUTH_H

#include <stddef.h>

/* The scopes, once: bit, name. `admin` implies every other. */
/* clang-format off */
#define SRV_SCOPE_LIST(X)                                                                          \
    X(REGISTER, "register")                                                                        \
    X(DISCOVER, "discover")                                                                        \
    X(OPERATE, "operate")                                                                          \
    X(REPLICATE, "replicate")                                                                      \
    X(ADMIN, "admin")
/* clang-format on */

enum {
#define SRV_SCOPE_BIT_ENUM(id, name) SRV_SCOPE_BIT_##id,
    SRV_SCOPE_LIST(SRV_SCOPE_BIT_ENUM)
#undef SRV_SCOPE_BIT_ENUM
        SRV_SCOPE_COUNT
};

#define SRV_SCOPE_NONE      0u /* a route anyone may use (/health, /metrics, the console) */
#define SRV_SCOPE_REGISTER  (1u << SRV_SCOPE_BIT_REGISTER)
#define SRV_SCOPE_DISCOVER  (1u << SRV_SCOPE_BIT_DISCOVER)
#define SRV_SCOPE_OPERATE   (1u << SRV_SCOPE_BIT_OPERATE)
#define SRV_SCOPE_REPLICATE (1u << SRV_SCOPE_BIT_REPLICATE)
#define SRV_SCOPE_ADMIN     (1u << SRV_SCOPE_BIT_ADMIN)
#define SRV_SCOPE_ALL       ((1u << SRV_SCOPE_COUNT) - 1u)

/* Name of a single scope bit ("register"), or "?" */
const char *srv_scope_name(unsigned scope);

/*
 * Parse a comma-separated scope list ("register, discover"; spaces around items ignored, empty
 * items skipped) into *out. Returns NULL when fine, else the tail of an error sentence.
 */
const char *srv_scopes_parse(const char *list, size_t len, unsigned *out);

/* Validate an auth.open-scopes value: known scopes only, and never `replicate` or `admin` (that
 * would let any client write through the replication paths). NULL when fine. */
const char *srv_auth_check_open_scopes(const char *list);

typedef struct srv_auth srv_auth_t;

/*
 * Parse a tokens file's text: one `TOKEN SCOPE[,SCOPE...]` per line (spaces or tabs between),
 * `#` starts a comment line, blank lines are skipped. A token is 16..512 printable ASCII bytes
 * without spaces. Unknown scopes, a line without scopes, a too short token and a token listed
 * twice are errors. Returns the table, or NULL with one line in err ("line 3: unknown scope
 * 'foo'"; never the token). An empty file gives an empty table (every token refused).
 * *oom is set to 1 when the failure is out of memory (err says so too).
 */
srv_auth_t *srv_auth_parse(const char *text, size_t len, char *err, size_t errlen, int *oom);
void srv_auth_free(srv_auth_t *a);
size_t srv_auth_count(const srv_auth_t *a);

/*
 * The scopes granted by a presented token (tok, len): 0 when unknown. Every entry is compared
 * (constant time in the table contents); `admin` comes back as SRV_SCOPE_ALL.
 */
unsigned srv_auth_lookup(const srv_auth_t *a, const char *tok, size_t len);

/*
 * The token of an Authorization header value: "Bearer TOKEN" (scheme case-insensitive, spaces
 * trimmed). Returns 1 with *tok and *tlen set, 0 when the value is not a Bearer credential.
 */
int srv_auth_bearer(const char *value, size_t len, const char **tok, size_t *tlen);

typedef enum srv_auth_verdict {
    SRV_AUTH_OK,
    SRV_AUTH_MISSING, /* 401: no token, and the scope is not open */
    SRV_AUTH_INVALID, /* 401: a token that is not in the table */
    SRV_AUTH_SCOPE    /* 403: a known token without the scope */
} srv_auth_verdict_t;

/*
 * The decision for a route needing `need` (a single scope bit or SRV_SCOPE_NONE): a = NULL (no
 * tokens file) allows everything; `open` are the scopes anyone may use; a presented token is
 * checked even for an open scope, so a wrong one is reported rather than silently ignored.
 */
srv_auth_verdict_t srv_auth_decide(const srv_auth_t *a, unsigned open, unsigned need,
                                   const char *tok, size_t tlen);

#endif
