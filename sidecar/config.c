/*
 * Sidecar configuration: the keys of docs/sidecar.md. One static option table,
 * in the manner of server/config.c, drives everything: the defaults, the `key = value` file,
 * the ARTEMIS_SIDECAR_* environment variables, the --key=value flags, --help, the required
 * keys and the error messages. Adding a key is adding a field to agent_config_t and one row.
 *
 * Sources are applied in order, the command line winning: defaults < file < environment <
 * flags. Every value is validated when it is set, so a bad one is reported with its key as
 * one line and the sidecar exits 2 before it binds anything.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "fileread.h"
#include "strutil.h"

enum opt_type {
    T_STR,  /* char *, NULL = unset */
    T_INT,  /* int, uint32_t or int64_t field (by size); min..max */
    T_BOOL, /* int field: true/false, yes/no, on/off, 1/0 */
    T_MAP,  /* key is a prefix ("app.metadata."): one entry per KEY; cfg->metadata */
};

#define F_NONEMPTY   1u /* "" is refused */
#define F_EMPTY_NULL 2u /* "" means off: stored as NULL, the check is skipped */
#define F_REQUIRED   4u /* agent_config_finish refuses NULL / 0 (an int's range excludes 0) */
#define F_SECRET     8u /* never echoed in an error, wiped when freed (the access token) */

/* A check returns NULL when the value is fine, else the start of the error sentence, which
 * is followed by the quoted value ("not a service id:", "must start with http://, got"). It
 * gets the copy that will be stored and may normalise it in place (dns.domain). */
typedef const char *(*check_fn)(char *v);

typedef struct opt {
    const char *key;    /* contract name, also the file key and --KEY */
    const char *alias;  /* other --flag (command line only, as before), or NULL */
    const char *env;    /* ARTEMIS_SIDECAR_* variable */
    const char *compat; /* older variable, read below the file, or NULL */
    enum opt_type type;
    size_t off, size;   /* field in agent_config_t */
    const char *def;    /* NULL: unset (required, or derived by agent_config_finish) */
    const char *shown;  /* --help's default when def is NULL or "" */
    long long min, max; /* T_INT */
    unsigned flags;
    check_fn check;      /* T_STR, optional */
    const char *metavar; /* --help, and the hint of a missing required key */
    const char *help;
} opt_t;

static const char *check_servers(char *v);
static const char *check_service_id(char *v);
static const char *check_ip(char *v);
static const char *check_url(char *v);
static const char *check_health_url(char *v);
static const char *check_listen(char *v);
static const char *check_domain(char *v);
static const char *check_cache_dir(char *v);
static const char *check_token(char *v);
static const char *check_file(char *v);

#define OFF(f)  offsetof(agent_config_t, f)
#define SIZE(f) sizeof(((agent_config_t *)0)->f)
#define ENV     "ARTEMIS_SIDECAR_"

#define OPT_S(k, al, env, f, def, shown, fl, chk, mv, h)                                           \
    {                                                                                              \
        k, al, ENV env, NULL, T_STR, OFF(f), SIZE(f), def, shown, 0, 0, fl, chk, mv, h             \
    }
#define OPT_B(k, env, f, def, h)                                                                   \
    {                                                                                              \
        k, NULL, ENV env, NULL, T_BOOL, OFF(f), SIZE(f), def, NULL, 0, 1, 0, NULL, "BOOL", h       \
    }
#define OPT_I(k, env, f, def, lo, hi, fl, mv, h)                                                   \
    {                                                                                              \
        k, NULL, ENV env, NULL, T_INT, OFF(f), SIZE(f), def, NULL, lo, hi, fl, NULL, mv, h         \
    }

static const opt_t options[] = {
    OPT_S("server", NULL, "SERVER", server, "http://127.0.0.1:8080", NULL, F_NONEMPTY,
          check_servers, "URL,...", "comma-separated artemis-server URLs (failover list)"),
    OPT_S("region", NULL, "REGION", region, "default", NULL, F_NONEMPTY, NULL, "ID",
          "region of the app (and of the sidecar's lookups)"),
    OPT_S("zone", NULL, "ZONE", zone, "default", NULL, F_NONEMPTY, NULL, "ID", "zone of the app"),
    OPT_S("app.service_id", NULL, "APP_SERVICE_ID", service_id, NULL, NULL, F_NONEMPTY | F_REQUIRED,
          check_service_id, "ID", "service id to register the app under"),
    OPT_S("app.instance_id", NULL, "APP_INSTANCE_ID", instance_id, NULL, "HOSTNAME:PORT",
          F_NONEMPTY, NULL, "ID", "instance id"),
    OPT_S("app.ip", NULL, "APP_IP", ip, NULL, "first non-loopback IPv4, else 127.0.0.1", 0,
          check_ip, "IP", "address the app is reached at"),
    OPT_I("app.port", "APP_PORT", port, NULL, 1, 65535, F_REQUIRED, "PORT",
          "port the app listens on"),
    OPT_S("app.protocol", NULL, "APP_PROTOCOL", protocol, "http", NULL, F_NONEMPTY, NULL, "NAME",
          "protocol field of the instance"),
    OPT_S("app.url", NULL, "APP_URL", url, NULL, "http://IP:PORT/", 0, check_url, "URL",
          "url field of the instance"),
    OPT_S("app.health_check_url", NULL, "APP_HEALTH_CHECK_URL", health_url, "", "(empty)",
          F_EMPTY_NULL, check_health_url, "URL",
          "empty: always healthy; else HTTP GET, 2xx = healthy (http:// only)"),
    OPT_I("app.health_check_interval_ms", "APP_HEALTH_CHECK_INTERVAL_MS", health_interval_ms,
          "5000", 100, 3600000, 0, "MS", "health check period"),
    {"app.metadata.", NULL, ENV "APP_METADATA", NULL, T_MAP, OFF(metadata), SIZE(metadata), NULL,
     "(none)", 0, 0, 0, NULL, "VALUE",
     "instance metadata entry, any number (environment: one variable, k1=v1,k2=v2)"},
    OPT_S("dns.listen", "dns-listen", "DNS_LISTEN", dns_listen, "127.0.0.1:8600", NULL, 0,
          check_listen, "IP:PORT", "DNS endpoint, UDP and TCP ([IPv6]:PORT for IPv6)"),
    OPT_B("dns.allow_remote", "DNS_ALLOW_REMOTE", dns_allow_remote, "false",
          "allow a non-loopback dns.listen (UDP answers to other hosts are then capped)"),
    OPT_S("dns.domain", NULL, "DNS_DOMAIN", dns_domain, "artemis", NULL, 0, check_domain, "DOMAIN",
          "DNS domain answered; other names are REFUSED"),
    OPT_I("dns.ttl", "DNS_TTL", dns_ttl, "5", 0, 86400, 0, "SECONDS",
          "TTL of answers and SOA minimum (negative-caching TTL)"),
    OPT_S("http.listen", "http-listen", "HTTP_LISTEN", http_listen, "127.0.0.1:8601", NULL, 0,
          check_listen, "IP:PORT", "HTTP endpoint"),
    OPT_B("http.allow_remote", "HTTP_ALLOW_REMOTE", http_allow_remote, "false",
          "allow a non-loopback http.listen (it serves the same data as DNS)"),
    /* ARTEMIS_CACHE_DIR is what the sidecar read before this key existed, and what the
     * systemd unit and the container image set: it stays, as the lowest source, so they keep
     * their snapshots while the config can still override it. */
    {"cache_dir", "cache-dir", ENV "CACHE_DIR", "ARTEMIS_CACHE_DIR", T_STR, OFF(cache_dir),
     SIZE(cache_dir), "", "(empty: no disk snapshot)", 0, 0, F_EMPTY_NULL, check_cache_dir, "DIR",
     "directory of the SDK's disk snapshot of the discovery cache (created if missing), "
     "loaded at start so a restart while the registry is down still answers"},
    OPT_S("token", NULL, "TOKEN", token, "", "(none)", F_EMPTY_NULL | F_SECRET, check_token,
          "TOKEN",
          "access token for a server with auth.tokens-file, sent as Authorization: Bearer "
          "(scopes register and discover); never logged"),
    OPT_S("tls.ca", NULL, "TLS_CA", tls_ca, "", "(empty: the system's CA store)", F_EMPTY_NULL,
          check_file, "FILE", "PEM CA bundle that verifies https:// servers (and wss://)"),
    OPT_S("tls.cert", NULL, "TLS_CERT", tls_cert, "", "(empty: none)", F_EMPTY_NULL, check_file,
          "FILE", "client certificate (PEM chain) for servers that verify clients"),
    OPT_S("tls.key", NULL, "TLS_KEY", tls_key, "", "(empty: in tls.cert)", F_EMPTY_NULL, check_file,
          "FILE", "private key of tls.cert"),
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Longest value of any key: a real one is well under this; a longer one is a mistake. */
#define MAX_VALUE_BYTES 1024

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* one line, whatever the value held */
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static int set_str(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return -1;
    free(*dst);
    *dst = s;
    return 0;
}

static char **str_field(agent_config_t *cfg, const opt_t *o)
{
    return (char **)(void *)((char *)cfg + o->off);
}

/* The int fields are int, uint32_t or int64_t; every range in the table is non-negative and
 * fits in 32 bits, so the 4-byte ones hold the same bits whether signed or not. */
static void store_int(agent_config_t *cfg, const opt_t *o, long long n)
{
    char *f = (char *)cfg + o->off;
    if (o->size == sizeof(int64_t)) {
        int64_t v = (int64_t)n;
        memcpy(f, &v, sizeof(v));
    } else {
        int32_t v = (int32_t)n;
        memcpy(f, &v, sizeof(v));
    }
}

static long long load_int(const agent_config_t *cfg, const opt_t *o)
{
    const char *f = (const char *)cfg + o->off;
    if (o->size == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    int32_t v;
    memcpy(&v, f, sizeof(v));
    return v;
}

/* Keys compare with '-' and '_' alike: the server's keys use '-' (dns.allow-remote is how the
 * security docs of other components spell it), the sidecar's '_' (they double as environment
 * variable names, which cannot hold '-'). */
static int same_key(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

/* The row of a file or flag key; T_MAP rows match by prefix. */
static const opt_t *find_opt(const char *key)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (o->type == T_MAP ? !strncmp(key, o->key, strlen(o->key)) : same_key(key, o->key))
            return o;
    }
    return NULL;
}

/* --FLAG: an alias, else the key itself. */
static const opt_t *find_flag(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].alias && !strcmp(name, options[i].alias))
            return &options[i];
    return find_opt(name);
}

static int parse_int(const char *v, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    if (!*v || isspace((unsigned char)*v))
        return -1;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static int printable(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* ---- validators ------------------------------------------------------------------------- */

/* The SDK parses the list itself at start; asking it here turns a bad URL into a config
 * error naming the key instead of a start-up failure. */
static const char *check_servers(char *v)
{
    artemis_config_t *c = artemis_config_new();
    artemis_err_t rc = c ? artemis_config_set_servers(c, v) : ARTEMIS_ERR_NOMEM;
    artemis_config_free(c);
    return rc == ARTEMIS_OK ? NULL : "not a list of http(s)://host:port URLs:";
}

static const char *check_service_id(char *v)
{
    return strlen(v) > 200 || strpbrk(v, " \t/") ? "not a service id:" : NULL;
}

static const char *check_ip(char *v)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, v, &a4) == 1 || inet_pton(AF_INET6, v, &a6) == 1)
        return NULL;
    return "not an IPv4 or IPv6 address:";
}

static const char *check_url(char *v)
{
    if (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
        return NULL;
    return "must start with http:// or https://, got";
}

/* The health check speaks plain HTTP only (health.c). */
static const char *check_health_url(char *v)
{
    return strncmp(v, "http://", 7) ? "must be empty or an http:// URL, got" : NULL;
}

static const char *check_listen(char *v)
{
    struct sockaddr_storage ss;
    int sl;
    return agent_parse_hostport(v, &ss, &sl) ? "must be IP:PORT or [IPv6]:PORT, got" : NULL;
}

static int valid_domain(const char *d)
{
    size_t n = strlen(d), label = 0;
    if (n == 0 || n > 200 || d[0] == '.' || d[n - 1] == '.')
        return 0;
    for (const char *p = d; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
        if (++label > 63)
            return 0;
    }
    return 1;
}

/* Stored lower case without trailing dots ("Artemis." is "artemis"): the DNS code compares
 * names against it as they are. */
static const char *check_domain(char *v)
{
    size_t l = strlen(v);
    while (l && v[l - 1] == '.')
        v[--l] = 0;
    for (char *p = v; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return valid_domain(v) ? NULL : "not a domain name:";
}

/* Whatever the SDK's setter refuses would otherwise be dropped silently at start. */
static const char *check_cache_dir(char *v)
{
    artemis_config_t *c = artemis_config_new();
    artemis_err_t rc = c ? artemis_config_set_cache_dir(c, v) : ARTEMIS_ERR_NOMEM;
    artemis_config_free(c);
    return rc == ARTEMIS_OK ? NULL : "not accepted as a cache directory by libartemis:";
}

/* The SDK's rule (printable ASCII, no spaces, at most 512 bytes), checked at start. */
static const char *check_token(char *v)
{
    artemis_config_t *c = artemis_config_new();
    artemis_err_t rc = c ? artemis_config_set_token(c, v) : ARTEMIS_ERR_NOMEM;
    artemis_config_free(c);
    return rc == ARTEMIS_OK ? NULL : "not a valid token (spaces, control characters, > 512 bytes)";
}

/* A TLS file that cannot be read would only show up as failing connections, one retry after
 * another: refuse it at start instead. */
static const char *check_file(char *v)
{
    FILE *f = fopen(v, "r");
    if (!f)
        return "cannot read the file";
    fclose(f);
    return NULL;
}

/* ---- setting values --------------------------------------------------------------------- */

/* app.metadata.<mk> = value: replace an entry of that key, else append one. */
static int set_metadata(agent_config_t *cfg, const char *key, const char *mk, const char *value,
                        char *err, size_t errlen)
{
    if (!*mk || strlen(mk) > 128) {
        set_err(err, errlen, "%s: metadata key must be 1..128 characters", key);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_metadata; i++)
        if (!strcmp(cfg->metadata[i].key, mk)) {
            if (set_str(&cfg->metadata[i].value, value) == 0)
                return 0;
            set_err(err, errlen, "%s: out of memory", key);
            return -1;
        }
    agent_kv_t *nm = realloc(cfg->metadata, (cfg->n_metadata + 1) * sizeof(*nm));
    if (!nm) {
        set_err(err, errlen, "%s: out of memory", key);
        return -1;
    }
    cfg->metadata = nm;
    nm[cfg->n_metadata].key = strdup(mk);
    nm[cfg->n_metadata].value = strdup(value);
    if (!nm[cfg->n_metadata].key || !nm[cfg->n_metadata].value) {
        free(nm[cfg->n_metadata].key);
        free(nm[cfg->n_metadata].value);
        set_err(err, errlen, "%s: out of memory", key);
        return -1;
    }
    cfg->n_metadata++;
    return 0;
}

/* Validate value for row o and store it; key is the key as given (an app.metadata.KEY). */
static int set_opt(agent_config_t *cfg, const opt_t *o, const char *key, const char *value,
                   char *err, size_t errlen)
{
    if (!printable(value) || strlen(value) > MAX_VALUE_BYTES) {
        set_err(err, errlen, "%s: value has control characters or is too long", key);
        return -1;
    }
    if (o->type == T_MAP)
        return set_metadata(cfg, key, key + strlen(o->key), value, err, errlen);
    if (o->type == T_BOOL) {
        static const struct {
            const char *word;
            int value;
        } words[] = {{"true", 1},  {"yes", 1}, {"on", 1},  {"1", 1},
                     {"false", 0}, {"no", 0},  {"off", 0}, {"0", 0}};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (!strcasecmp(value, words[i].word)) {
                store_int(cfg, o, words[i].value);
                return 0;
            }
        set_err(err, errlen, "%s: must be true or false, got '%s'", o->key, value);
        return -1;
    }
    if (o->type == T_INT) {
        long long n;
        if (parse_int(value, o->min, o->max, &n)) {
            set_err(err, errlen, "%s: must be %lld..%lld, got '%s'", o->key, o->min, o->max, value);
            return -1;
        }
        store_int(cfg, o, n);
        return 0;
    }
    char **field = str_field(cfg, o);
    if (!*value && (o->flags & F_NONEMPTY)) {
        set_err(err, errlen, "%s: must not be empty", o->key);
        return -1;
    }
    if (!*value && (o->flags & F_EMPTY_NULL)) {
        free(*field);
        *field = NULL;
        return 0;
    }
    char *copy = strdup(value);
    if (!copy) {
        set_err(err, errlen, "%s: out of memory", o->key);
        return -1;
    }
    const char *why = o->check ? o->check(copy) : NULL;
    if (why) {
        if (o->flags & F_SECRET) /* the error line is printed and logged: no value in it */
            set_err(err, errlen, "%s: %s", o->key, why);
        else
            set_err(err, errlen, "%s: %s '%s'", o->key, why, value);
        if (o->flags & F_SECRET)
            explicit_bzero(copy, strlen(copy));
        free(copy);
        return -1;
    }
    if (*field && (o->flags & F_SECRET))
        explicit_bzero(*field, strlen(*field));
    free(*field);
    *field = copy;
    return 0;
}

int agent_config_init(agent_config_t *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof(*cfg));
    /* The defaults go through the same checks as any value (dns.domain is normalised); a
     * bad one in the table fails every start, so only OOM can fail here in practice. */
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].def &&
            set_opt(cfg, &options[i], options[i].key, options[i].def, err, sizeof(err))) {
            agent_config_free(cfg);
            return -1;
        }
    return 0;
}

void agent_config_free(agent_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == T_STR) {
            char *v = *str_field(cfg, &options[i]);
            if (v && (options[i].flags & F_SECRET))
                explicit_bzero(v, strlen(v));
            free(v);
        }
    for (size_t i = 0; i < cfg->n_metadata; i++) {
        free(cfg->metadata[i].key);
        free(cfg->metadata[i].value);
    }
    free(cfg->metadata);
    memset(cfg, 0, sizeof(*cfg));
}

int agent_config_set(agent_config_t *cfg, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const opt_t *o = find_opt(key);
    if (!o) {
        set_err(err, errlen, "%s: unknown key", key);
        return -1;
    }
    return set_opt(cfg, o, key, value, err, errlen);
}

int agent_parse_hostport(const char *s, void *ssv, int *sslen)
{
    struct sockaddr_storage *ss = ssv;
    char host[128];
    const char *h;
    size_t hl;
    int p;
    memset(ss, 0, sizeof(*ss));
    if (!s || artemisi_hostport_split(s, &h, &hl, &p) != 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)ssv;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ssv;
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        *sslen = (int)sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        *sslen = (int)sizeof(*v6);
        return 0;
    }
    return -1;
}

int agent_addr_is_loopback(const void *sa)
{
    const struct sockaddr_storage *ss = sa;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = sa;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family != AF_INET6)
        return 0;
    const struct sockaddr_in6 *v6 = sa;
    if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
        return 1;
    /* A dual-stack [::] socket sees 127.0.0.1 as ::ffff:127.0.0.1. */
    return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127;
}

static char *trim(char *s)
{
    return artemisi_trim(s);
}

/* Largest config file read; a real one is well under a KiB per key. */
#define MAX_FILE_BYTES (1 << 20)
#define MAX_LINE_BYTES 2046 /* without the newline */

/* The whole config file (fileread.h: a regular file only, bounded: /dev/zero would be read for
 * ever and a FIFO would block the start). */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    char *data;
    int e, opened;
    switch (artemisi_read_file(path, MAX_FILE_BYTES, 0, &data, len, &e, &opened)) {
    case ARTEMISI_READ_OK:
        return data;
    case ARTEMISI_READ_ERRNO:
        set_err(err, errlen, "cannot read %s: %s", path,
                e == ENOMEM ? "out of memory" : strerror(e));
        break;
    case ARTEMISI_READ_NOT_REGULAR:
        set_err(err, errlen, "cannot read %s: not a regular file", path);
        break;
    case ARTEMISI_READ_TOO_BIG:
        set_err(err, errlen, "cannot read %s: larger than %d bytes", path, MAX_FILE_BYTES);
        break;
    case ARTEMISI_READ_CHANGED:
        set_err(err, errlen, "cannot read %s: the file changed while being read", path);
        break;
    }
    return NULL;
}

int agent_config_load_file(agent_config_t *cfg, const char *path, char *err, size_t errlen)
{
    size_t n;
    char *data = read_file(path, &n, err, errlen);
    if (!data)
        return -1;
    int lineno = 0, rc = 0;
    for (char *line = data, *end = data + n; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ln = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *next = nl ? nl + 1 : end;
        lineno++;
        if (ln > MAX_LINE_BYTES) {
            set_err(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        if (memchr(line, 0, ln)) {
            set_err(err, errlen, "%s:%d: line contains a NUL byte", path, lineno);
            rc = -1;
            break;
        }
        line[ln] = 0; /* the '\n' or data[n] */
        char *s = trim(line);
        line = next;
        if (!*s || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            set_err(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        /* an inline comment needs blank space before the '#' (values may hold '#') */
        for (char *p = v; *p; p++)
            if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
                *p = 0;
                v = trim(v);
                break;
            }
        char e2[512];
        if (agent_config_set(cfg, k, v, e2, sizeof(e2))) {
            set_err(err, errlen, "%s (%s:%d)", e2, path, lineno);
            rc = -1;
            break;
        }
    }
    free(data);
    return rc;
}

/* ---- environment ------------------------------------------------------------------------ */

/* 1 if name (the part of an environ entry before '=', nlen bytes) is a variable of the
 * table. */
static int known_env(const char *name, size_t nlen)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].env) == nlen && !memcmp(name, options[i].env, nlen))
            return 1;
    return 0;
}

/* A map row's variable holds the whole map: ARTEMIS_SIDECAR_APP_METADATA="k1=v1,k2=v2". */
static int load_env_map(agent_config_t *cfg, const opt_t *o, const char *list, char *err,
                        size_t errlen)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) {
        set_err(err, errlen, "%s: out of memory", o->env);
        return -1;
    }
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char key[256], e2[512];
        if (!eq) {
            set_err(err, errlen, "%.*s: expected KEY=VALUE in %s", (int)strlen(o->key) - 1, o->key,
                    o->env);
            rc = -1;
            break;
        }
        *eq = 0;
        snprintf(key, sizeof(key), "%s%s", o->key, trim(tok));
        if (set_opt(cfg, o, key, trim(eq + 1), e2, sizeof(e2))) {
            set_err(err, errlen, "%s (from %s)", e2, o->env);
            rc = -1;
        }
    }
    free(copy);
    return rc;
}

/* Set row o from variable name when it is set; the error names both. */
static int load_env_var(agent_config_t *cfg, const opt_t *o, const char *name, char *err,
                        size_t errlen)
{
    const char *v = getenv(name);
    char e2[512];
    if (!v)
        return 0;
    if (o->type == T_MAP)
        return *v ? load_env_map(cfg, o, v, err, errlen) : 0;
    if (set_opt(cfg, o, o->key, v, e2, sizeof(e2))) {
        set_err(err, errlen, "%s (from %s)", e2, name);
        return -1;
    }
    return 0;
}

int agent_config_load_env(agent_config_t *cfg, char *err, size_t errlen)
{
    /* A misspelt variable (ARTEMIS_SIDECAR_APP_SERVICEID) would otherwise be ignored and the
     * sidecar started with a default: refuse every ARTEMIS_SIDECAR_* name it does not read. */
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, ENV, sizeof(ENV) - 1) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : strlen(*e);
        if (!known_env(*e, nlen)) {
            set_err(err, errlen,
                    "%.*s: unknown environment variable (ARTEMIS_SIDECAR_<KEY> of a key in "
                    "--help, or ARTEMIS_SIDECAR_APP_METADATA)",
                    nlen > 128 ? 128 : (int)nlen, *e);
            return -1;
        }
    }
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (load_env_var(cfg, &options[i], options[i].env, err, errlen))
            return -1;
    return 0;
}

/* The older variables some rows still honour, below the file (see the table). */
static int load_compat_env(agent_config_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].compat && load_env_var(cfg, &options[i], options[i].compat, err, errlen))
            return -1;
    return 0;
}

/* ---- command line ----------------------------------------------------------------------- */

/* Print text after six spaces, wrapped at about 96 columns on blanks. */
static void print_wrapped(FILE *out, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strlen(p);
        if (n > 90) {
            n = 90;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(p, " ");
        }
        fprintf(out, "      %.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

void agent_config_usage(FILE *out)
{
    fprintf(out, "usage: artemis-sidecar [--config FILE] [--KEY=VALUE ...]\n\n"
                 "Registers a co-located app with artemis-server, health-checks it and serves\n"
                 "discovery on DNS (UDP+TCP) and HTTP. Every key is a config-file line\n"
                 "`KEY = VALUE`, the environment variable shown and a --KEY=VALUE flag; later\n"
                 "wins: defaults < file < environment < command line.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        char flag[96], alias[48] = "", text[512], range[64] = "";
        if (o->alias)
            snprintf(alias, sizeof(alias), " (or --%s)", o->alias);
        snprintf(flag, sizeof(flag), "--%s%s=%s%s", o->key, o->type == T_MAP ? "KEY" : "",
                 o->metavar, alias);
        fprintf(out, "  %-46s %s%s%s\n", flag, o->env, o->compat ? ", or " : "",
                o->compat ? o->compat : "");
        const char *def = (o->flags & F_REQUIRED) ? "(required)"
                          : o->def && *o->def     ? o->def
                          : o->shown              ? o->shown
                                                  : "(empty)";
        if (o->type == T_INT)
            snprintf(range, sizeof(range), ", range %lld..%lld", o->min, o->max);
        snprintf(text, sizeof(text), "%s. Default: %s%s.", o->help, def, range);
        print_wrapped(out, text);
    }
    fputc('\n', out);
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].compat)
            fprintf(out, "%s, the older name of %s, is read below the config file.\n",
                    options[i].compat, options[i].env);
    fprintf(out, "Other options: --config FILE (-c FILE), --help (-h), --version.\n"
                 "Exit status: 0 after SIGTERM/SIGINT, 2 on a configuration error, 1 on a "
                 "startup failure.\n");
}

/* One --key=value flag (not --config). */
static int apply_flag(agent_config_t *cfg, const char *a, char *err, size_t errlen)
{
    const char *eq = strchr(a, '=');
    char key[256];
    size_t kl = eq ? (size_t)(eq - a - 2) : 0;
    if (strncmp(a, "--", 2) || !eq || kl == 0 || kl >= sizeof(key)) {
        set_err(err, errlen, "%s: expected --key=value", a);
        return -1;
    }
    memcpy(key, a + 2, kl);
    key[kl] = 0;
    const opt_t *o = find_flag(key);
    if (!o) {
        set_err(err, errlen, "%s: unknown key", key);
        return -1;
    }
    /* an alias reports under its key */
    return set_opt(cfg, o, o->type == T_MAP ? key : o->key, eq + 1, err, errlen);
}

int agent_config_from_args(agent_config_t *cfg, int argc, char **argv, FILE *out, char *err,
                           size_t errlen)
{
    const char *file = NULL;
    /* pass 1: --help, --version, --config */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            agent_config_usage(out);
            return 1;
        }
        if (!strcmp(a, "--version")) {
            fprintf(out, "artemis-sidecar %s (libartemis %s)\n", ARTEMIS_VERSION_STRING,
                    artemis_version());
            return 1;
        }
        if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
            if (i + 1 >= argc) {
                set_err(err, errlen, "--config needs a file name");
                return -1;
            }
            file = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            file = a + 9;
        }
    }
    if (load_compat_env(cfg, err, errlen))
        return -1;
    if (file && agent_config_load_file(cfg, file, err, errlen))
        return -1;
    if (agent_config_load_env(cfg, err, errlen))
        return -1;
    /* pass 2: --key=value */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9))
            continue;
        if (apply_flag(cfg, a, err, errlen))
            return -1;
    }
    return 0;
}

/* ---- derived values --------------------------------------------------------------------- */

static int first_ipv4(char *out, size_t cap)
{
    struct ifaddrs *ifa = NULL;
    int found = -1;
    if (getifaddrs(&ifa) != 0)
        return -1;
    for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET || (p->ifa_flags & IFF_LOOPBACK) ||
            !(p->ifa_flags & IFF_UP))
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)p->ifa_addr;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
            continue;
        if (inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)cap)) {
            found = 0;
            break;
        }
    }
    freeifaddrs(ifa);
    return found;
}

/* Both endpoints answer anyone who reaches them, with no token and every address in the
 * registry (and DNS over UDP can be reflected): serving other hosts is a decision the
 * operator states, not what a typo in an address or a copied 0.0.0.0 does. */
static int check_local(const char *listen, int allowed, const char *ep, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sl;
    if (allowed || agent_parse_hostport(listen, &ss, &sl) != 0 || agent_addr_is_loopback(&ss))
        return 0;
    set_err(err, errlen,
            "%s.listen: '%s' is not a loopback address; set %s.allow_remote = true to serve "
            "other hosts",
            ep, listen, ep);
    return -1;
}

int agent_config_finish(agent_config_t *cfg, char *err, size_t errlen)
{
    char buf[512];
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt_t *o = &options[i];
        if (!(o->flags & F_REQUIRED))
            continue;
        if (o->type == T_STR ? *str_field(cfg, o) != NULL : load_int(cfg, o) != 0)
            continue;
        set_err(err, errlen, "%s: required (set it in the config file or with --%s=%s)", o->key,
                o->key, o->metavar);
        return -1;
    }
    /* The SDK creates a missing directory but only logs when it cannot write there: a path
     * that is a file would leave the sidecar without snapshots for good, so say so now. */
    struct stat st;
    if (cfg->cache_dir && stat(cfg->cache_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "cache_dir: '%s' exists and is not a directory", cfg->cache_dir);
        return -1;
    }
    if (check_local(cfg->dns_listen, cfg->dns_allow_remote, "dns", err, errlen) ||
        check_local(cfg->http_listen, cfg->http_allow_remote, "http", err, errlen))
        return -1;
    if (!cfg->ip) {
        if (first_ipv4(buf, sizeof(buf)) != 0)
            strcpy(buf, "127.0.0.1");
        if (set_str(&cfg->ip, buf))
            return -1;
    }
    if (!cfg->instance_id) {
        char host[256];
        if (gethostname(host, sizeof(host)) != 0 || !*host)
            strcpy(host, "localhost");
        host[sizeof(host) - 1] = 0;
        snprintf(buf, sizeof(buf), "%s:%d", host, cfg->port);
        if (set_str(&cfg->instance_id, buf))
            return -1;
    }
    if (!cfg->url) {
        if (strchr(cfg->ip, ':'))
            snprintf(buf, sizeof(buf), "http://[%s]:%d/", cfg->ip, cfg->port);
        else
            snprintf(buf, sizeof(buf), "http://%s:%d/", cfg->ip, cfg->port);
        if (set_str(&cfg->url, buf))
            return -1;
    }
    return 0;
}
