/*
 * Client configuration builder (include/artemis/config.h): one place for every default,
 * typed setters that validate at set time and change nothing when they refuse a value,
 * and the deep copy the client keeps. The server list is parsed here once into normalised
 * base URLs so the rest of the SDK only ever sees "scheme://host[:port][/path]".
 */
#include <stdlib.h>
#include <string.h>

#include "artemis/config.h"
#include "config_int.h"
#include "strutil.h"

#define CACHE_DIR_MAX ARTEMISI_CFG_PATH_MAX

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Free a secret: overwritten first, so a later heap dump or reuse does not show it. */
static void wipe_free(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

static void free_servers(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int is_ctl_or_space(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive prefix test of s[0..n) against lower-case p. */
static int has_prefix(const char *s, size_t n, const char *p)
{
    size_t pn = strlen(p);
    if (n < pn)
        return 0;
    for (size_t i = 0; i < pn; i++)
        if (lower(s[i]) != p[i])
            return 0;
    return 1;
}

/* Port of a server URL: 1..65535 (0 is no server). */
static int valid_port(const char *s, size_t n)
{
    return artemisi_port_parse(s, n) >= 1;
}

/* host[:port] or [v6]:port; no user info. */
static int valid_authority(const char *a, size_t n)
{
    size_t i, hl;
    if (n == 0)
        return 0;
    if (a[0] == '[') {
        for (i = 1; i < n && a[i] != ']'; i++)
            if (!is_hex(a[i]) && a[i] != ':' && a[i] != '.')
                return 0;
        if (i >= n || i == 1)
            return 0;
        i++; /* past ']' */
        if (i == n)
            return 1;
        return a[i] == ':' && valid_port(a + i + 1, n - i - 1);
    }
    for (hl = 0; hl < n && a[hl] != ':'; hl++)
        if (!is_alnum(a[hl]) && a[hl] != '-' && a[hl] != '.' && a[hl] != '_')
            return 0;
    if (hl == 0)
        return 0;
    if (hl == n)
        return 1;
    return valid_port(a + hl + 1, n - hl - 1);
}

/*
 * Normalise one URL s[0..n) (already trimmed, non-empty) into *out (malloc'ed).
 * Returns 0, or ARTEMIS_ERR_INVALID_ARG / ARTEMIS_ERR_NOMEM.
 */
static artemis_err_t normalise_url(const char *s, size_t n, char **out)
{
    size_t scheme_len, a_start, a_end, end, i;
    const char *scheme;
    char *r;

    for (i = 0; i < n; i++)
        if (is_ctl_or_space((unsigned char)s[i]) || s[i] == '?' || s[i] == '#' || s[i] == '@' ||
            s[i] == '\\')
            return ARTEMIS_ERR_INVALID_ARG;
    if (has_prefix(s, n, "http://")) {
        scheme = "http://";
        scheme_len = 7;
    } else if (has_prefix(s, n, "https://")) {
        scheme = "https://";
        scheme_len = 8;
    } else {
        return ARTEMIS_ERR_INVALID_ARG;
    }
    a_start = scheme_len;
    for (a_end = a_start; a_end < n && s[a_end] != '/'; a_end++)
        ;
    if (!valid_authority(s + a_start, a_end - a_start))
        return ARTEMIS_ERR_INVALID_ARG;
    end = n;
    while (end > a_end && s[end - 1] == '/')
        end--;
    r = malloc(end + 1);
    if (!r)
        return ARTEMIS_ERR_NOMEM;
    memcpy(r, scheme, scheme_len);
    for (i = a_start; i < a_end; i++)
        r[i] = lower(s[i]);
    memcpy(r + a_end, s + a_end, end - a_end);
    r[end] = '\0';
    *out = r;
    return ARTEMIS_OK;
}

/* Parse a comma-separated list into a new array. Empty entries are skipped; a list with
 * no entry at all, or any malformed entry, is INVALID_ARG. */
static artemis_err_t parse_servers(const char *urls, char ***out, size_t *out_n)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *p = urls;
    artemis_err_t rc = ARTEMIS_OK;

    while (rc == ARTEMIS_OK) {
        const char *comma = strchr(p, ',');
        const char *b = p, *e = comma ? comma : p + strlen(p);
        char *u = NULL;
        int dup = 0;

        while (b < e && is_space(*b))
            b++;
        while (e > b && is_space(e[-1]))
            e--;
        if (e > b) {
            rc = normalise_url(b, (size_t)(e - b), &u);
            if (rc != ARTEMIS_OK)
                break;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(v[i], u) == 0;
            if (dup) {
                free(u);
            } else {
                if (n == cap) {
                    size_t nc = cap ? cap * 2 : 4;
                    char **nv = realloc(v, nc * sizeof(*nv));
                    if (!nv) {
                        free(u);
                        rc = ARTEMIS_ERR_NOMEM;
                        break;
                    }
                    v = nv;
                    cap = nc;
                }
                v[n++] = u;
            }
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (rc == ARTEMIS_OK && n == 0)
        rc = ARTEMIS_ERR_INVALID_ARG;
    if (rc != ARTEMIS_OK) {
        free_servers(v, n);
        return rc;
    }
    *out = v;
    *out_n = n;
    return ARTEMIS_OK;
}

/* Region and zone: 1..128 bytes, no whitespace or control characters. */
static int valid_name(const char *s)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n == 0 || n > ARTEMISI_CFG_REGION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (is_ctl_or_space((unsigned char)s[i]))
            return 0;
    return 1;
}

static artemis_err_t replace_str(char **slot, const char *v)
{
    char *p = str_dup(v);
    if (!p)
        return ARTEMIS_ERR_NOMEM;
    free(*slot);
    *slot = p;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_config_t *artemis_config_new(void)
{
    artemis_config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->mode = ARTEMIS_MODE_THREADED;
    cfg->heartbeat_interval_ms = ARTEMISI_CFG_DEFAULT_HEARTBEAT_MS;
    cfg->request_timeout_ms = ARTEMISI_CFG_DEFAULT_REQUEST_MS;
    cfg->connect_timeout_ms = ARTEMISI_CFG_DEFAULT_CONNECT_MS;
    cfg->poll_interval_ms = ARTEMISI_CFG_DEFAULT_POLL_MS;
    cfg->node_refresh_ms = ARTEMISI_CFG_DEFAULT_NODE_REFRESH;
    cfg->empty_confirm_ms = ARTEMISI_CFG_DEFAULT_EMPTY_CONFIRM;
    cfg->log_level = ARTEMIS_LOG_WARN;
    cfg->region = str_dup(ARTEMISI_CFG_DEFAULT_REGION);
    cfg->zone = str_dup(ARTEMISI_CFG_DEFAULT_ZONE);
    if (!cfg->region || !cfg->zone ||
        artemis_config_set_servers(cfg, ARTEMISI_CFG_DEFAULT_SERVERS) != ARTEMIS_OK) {
        artemis_config_free(cfg);
        return NULL;
    }
    return cfg;
}

ARTEMIS_EXPORT void artemis_config_free(artemis_config_t *cfg)
{
    if (!cfg)
        return;
    free_servers(cfg->servers, cfg->n_servers);
    free(cfg->region);
    free(cfg->zone);
    free(cfg->cache_dir);
    wipe_free(cfg->token);
    free(cfg->tls_ca);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg);
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_servers(artemis_config_t *cfg, const char *urls)
{
    char **v;
    size_t n;
    artemis_err_t rc;

    if (!cfg || !urls)
        return ARTEMIS_ERR_INVALID_ARG;
    rc = parse_servers(urls, &v, &n);
    if (rc != ARTEMIS_OK)
        return rc;
    free_servers(cfg->servers, cfg->n_servers);
    cfg->servers = v;
    cfg->n_servers = n;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_region(artemis_config_t *cfg, const char *region)
{
    if (!cfg || !valid_name(region))
        return ARTEMIS_ERR_INVALID_ARG;
    return replace_str(&cfg->region, region);
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_zone(artemis_config_t *cfg, const char *zone)
{
    if (!cfg || !valid_name(zone))
        return ARTEMIS_ERR_INVALID_ARG;
    return replace_str(&cfg->zone, zone);
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_mode(artemis_config_t *cfg, artemis_mode_t mode)
{
    if (!cfg || (mode != ARTEMIS_MODE_THREADED && mode != ARTEMIS_MODE_EXTERNAL_LOOP))
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->mode = mode;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_heartbeat_interval_ms(artemis_config_t *cfg,
                                                                      int64_t ms)
{
    if (!cfg || ms < ARTEMISI_CFG_HEARTBEAT_MIN || ms > ARTEMISI_CFG_HEARTBEAT_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->heartbeat_interval_ms = ms;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_request_timeout_ms(artemis_config_t *cfg,
                                                                   int64_t ms)
{
    if (!cfg || ms < ARTEMISI_CFG_REQUEST_MIN || ms > ARTEMISI_CFG_REQUEST_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->request_timeout_ms = ms;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_poll_interval_ms(artemis_config_t *cfg, int64_t ms)
{
    if (!cfg || ms < ARTEMISI_CFG_POLL_MIN || ms > ARTEMISI_CFG_POLL_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->poll_interval_ms = ms;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_cache_dir(artemis_config_t *cfg, const char *dir)
{
    size_t n;
    if (!cfg)
        return ARTEMIS_ERR_INVALID_ARG;
    if (!dir) {
        free(cfg->cache_dir);
        cfg->cache_dir = NULL;
        return ARTEMIS_OK;
    }
    n = strlen(dir);
    if (n == 0 || n >= CACHE_DIR_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    return replace_str(&cfg->cache_dir, dir);
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_token(artemis_config_t *cfg, const char *token)
{
    size_t n;
    char *copy = NULL;
    if (!cfg)
        return ARTEMIS_ERR_INVALID_ARG;
    n = token ? strlen(token) : 0;
    if (n > ARTEMISI_CFG_TOKEN_MAX)
        return ARTEMIS_ERR_INVALID_ARG;
    /* Printable ASCII without spaces, as the server's tokens file allows: anything else could
     * never match, and CR/LF would split the Authorization header. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return ARTEMIS_ERR_INVALID_ARG;
    if (n && !(copy = str_dup(token)))
        return ARTEMIS_ERR_NOMEM;
    wipe_free(cfg->token);
    cfg->token = copy;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_log_cb(artemis_config_t *cfg, artemis_log_cb cb,
                                                       void *userdata)
{
    if (!cfg)
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->log_cb = cb;
    cfg->log_ud = cb ? userdata : NULL;
    return ARTEMIS_OK;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_log_level(artemis_config_t *cfg,
                                                          artemis_log_level_t level)
{
    if (!cfg || (int)level < (int)ARTEMIS_LOG_DEBUG || (int)level > (int)ARTEMIS_LOG_NONE)
        return ARTEMIS_ERR_INVALID_ARG;
    cfg->log_level = level;
    return ARTEMIS_OK;
}

/* A file path option: 1..4095 bytes. */
static int valid_path(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    return n > 0 && n < ARTEMISI_CFG_PATH_MAX;
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_tls_ca_file(artemis_config_t *cfg,
                                                            const char *ca_file)
{
    if (!cfg || (ca_file && !valid_path(ca_file)))
        return ARTEMIS_ERR_INVALID_ARG;
    if (!ca_file) {
        free(cfg->tls_ca);
        cfg->tls_ca = NULL;
        return ARTEMIS_OK;
    }
    return replace_str(&cfg->tls_ca, ca_file);
}

ARTEMIS_EXPORT artemis_err_t artemis_config_set_tls_client_cert(artemis_config_t *cfg,
                                                                const char *cert_file,
                                                                const char *key_file)
{
    char *c = NULL, *k = NULL;
    if (!cfg || (cert_file && !valid_path(cert_file)) || (key_file && !valid_path(key_file)) ||
        (!cert_file && key_file))
        return ARTEMIS_ERR_INVALID_ARG;
    /* Both copies first, so a refusal (OOM) leaves the old pair in place. */
    if ((cert_file && !(c = str_dup(cert_file))) || (key_file && !(k = str_dup(key_file)))) {
        free(c);
        return ARTEMIS_ERR_NOMEM;
    }
    free(cfg->tls_cert);
    free(cfg->tls_key);
    cfg->tls_cert = c;
    cfg->tls_key = k;
    return ARTEMIS_OK;
}

artemis_config_t *artemisi_config_dup(const artemis_config_t *cfg)
{
    artemis_config_t *d;

    if (!cfg)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    *d = *cfg;
    d->servers = NULL;
    d->n_servers = 0;
    d->region = d->zone = d->cache_dir = d->token = NULL;
    d->tls_ca = d->tls_cert = d->tls_key = NULL;
    if (cfg->n_servers) {
        d->servers = calloc(cfg->n_servers, sizeof(*d->servers));
        if (!d->servers)
            goto oom;
        for (size_t i = 0; i < cfg->n_servers; i++) {
            d->servers[i] = str_dup(cfg->servers[i]);
            if (!d->servers[i])
                goto oom;
            d->n_servers = i + 1;
        }
    }
    if ((cfg->region && !(d->region = str_dup(cfg->region))) ||
        (cfg->zone && !(d->zone = str_dup(cfg->zone))) ||
        (cfg->cache_dir && !(d->cache_dir = str_dup(cfg->cache_dir))) ||
        (cfg->token && !(d->token = str_dup(cfg->token))) ||
        (cfg->tls_ca && !(d->tls_ca = str_dup(cfg->tls_ca))) ||
        (cfg->tls_cert && !(d->tls_cert = str_dup(cfg->tls_cert))) ||
        (cfg->tls_key && !(d->tls_key = str_dup(cfg->tls_key))))
        goto oom;
    return d;
oom:
    artemis_config_free(d);
    return NULL;
}
