/*
 * Sidecar configuration: the keys of docs/sidecar.md, read from a `key = value`
 * file, ARTEMIS_SIDECAR_* environment variables and --key=value flags (in that order; the
 * command line wins). Every value is validated when it is set, so a bad one is reported with
 * its key as one line and the sidecar exits 2 before it binds anything.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

typedef struct key_info {
    const char *key;
    const char *def; /* shown by --help */
    const char *help;
} key_info_t;

static const key_info_t keys[] = {
    {"server", "http://127.0.0.1:8080", "comma-separated list of artemis-server URLs"},
    {"region", "default", "region of the app (and of the sidecar's lookups)"},
    {"zone", "default", "zone of the app"},
    {"app.service_id", "(required)", "service id to register the app under"},
    {"app.instance_id", "HOSTNAME:PORT", "instance id"},
    {"app.ip", "first non-loopback IPv4", "address the app is reached at"},
    {"app.port", "(required)", "port the app listens on (1..65535)"},
    {"app.protocol", "http", "protocol field of the instance"},
    {"app.url", "http://IP:PORT/", "url field of the instance"},
    {"app.health_check_url", "", "empty: no active check; else HTTP GET, 2xx = healthy"},
    {"app.health_check_interval_ms", "5000", "health check period (100..3600000)"},
    {"app.metadata.KEY", "", "instance metadata entry (any number)"},
    {"dns.listen", "127.0.0.1:8600", "DNS endpoint, UDP and TCP"},
    {"dns.domain", "artemis", "DNS domain answered; other names are REFUSED"},
    {"dns.ttl", "5", "TTL of answers and SOA minimum (0..86400)"},
    {"http.listen", "127.0.0.1:8601", "HTTP endpoint"},
};

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

int agent_config_init(agent_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->health_interval_ms = 5000;
    cfg->dns_ttl = 5;
    if (set_str(&cfg->server, "http://127.0.0.1:8080") || set_str(&cfg->region, "default") ||
        set_str(&cfg->zone, "default") || set_str(&cfg->protocol, "http") ||
        set_str(&cfg->dns_listen, "127.0.0.1:8600") || set_str(&cfg->dns_domain, "artemis") ||
        set_str(&cfg->http_listen, "127.0.0.1:8601")) {
        agent_config_free(cfg);
        return -1;
    }
    return 0;
}

void agent_config_free(agent_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->region);
    free(cfg->zone);
    free(cfg->service_id);
    free(cfg->instance_id);
    free(cfg->ip);
    free(cfg->protocol);
    free(cfg->url);
    free(cfg->health_url);
    for (size_t i = 0; i < cfg->n_metadata; i++) {
        free(cfg->metadata[i].key);
        free(cfg->metadata[i].value);
    }
    free(cfg->metadata);
    free(cfg->dns_listen);
    free(cfg->dns_domain);
    free(cfg->http_listen);
    memset(cfg, 0, sizeof(*cfg));
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

int agent_parse_hostport(const char *s, void *ssv, int *sslen)
{
    struct sockaddr_storage *ss = ssv;
    char host[128];
    const char *port;
    memset(ss, 0, sizeof(*ss));
    if (!s)
        return -1;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        port = rb + 2;
    } else {
        const char *c = strrchr(s, ':');
        if (!c || (size_t)(c - s) >= sizeof(host))
            return -1;
        memcpy(host, s, (size_t)(c - s));
        host[c - s] = 0;
        port = c + 1;
    }
    long long p;
    if (parse_int(port, 0, 65535, &p))
        return -1;
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

static int printable(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int agent_config_set(agent_config_t *cfg, const char *key, const char *value, char *err,
                     size_t errlen)
{
    long long n;
    if (!printable(value) || strlen(value) > 1024) {
        set_err(err, errlen, "%s: value has control characters or is too long", key);
        return -1;
    }
#define NONEMPTY()                                                                                 \
    do {                                                                                           \
        if (!*value) {                                                                             \
            set_err(err, errlen, "%s: must not be empty", key);                                    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
#define STR(field)                                                                                 \
    do {                                                                                           \
        if (set_str(&cfg->field, value)) {                                                         \
            set_err(err, errlen, "%s: out of memory", key);                                        \
            return -1;                                                                             \
        }                                                                                          \
        return 0;                                                                                  \
    } while (0)
    if (!strcmp(key, "server")) {
        NONEMPTY();
        artemis_config_t *c = artemis_config_new();
        artemis_err_t rc = c ? artemis_config_set_servers(c, value) : ARTEMIS_ERR_NOMEM;
        artemis_config_free(c);
        if (rc != ARTEMIS_OK) {
            set_err(err, errlen, "server: not a list of http://host:port URLs: '%s'", value);
            return -1;
        }
        STR(server);
    }
    if (!strcmp(key, "region")) {
        NONEMPTY();
        STR(region);
    }
    if (!strcmp(key, "zone")) {
        NONEMPTY();
        STR(zone);
    }
    if (!strcmp(key, "app.service_id")) {
        NONEMPTY();
        if (strlen(value) > 200 || strpbrk(value, " \t/")) {
            set_err(err, errlen, "app.service_id: not a service id: '%s'", value);
            return -1;
        }
        STR(service_id);
    }
    if (!strcmp(key, "app.instance_id")) {
        NONEMPTY();
        STR(instance_id);
    }
    if (!strcmp(key, "app.ip")) {
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, value, &a4) != 1 && inet_pton(AF_INET6, value, &a6) != 1) {
            set_err(err, errlen, "app.ip: not an IPv4 or IPv6 address: '%s'", value);
            return -1;
        }
        STR(ip);
    }
    if (!strcmp(key, "app.port")) {
        if (parse_int(value, 1, 65535, &n)) {
            set_err(err, errlen, "app.port: must be 1..65535, got '%s'", value);
            return -1;
        }
        cfg->port = (int)n;
        return 0;
    }
    if (!strcmp(key, "app.protocol")) {
        NONEMPTY();
        STR(protocol);
    }
    if (!strcmp(key, "app.url")) {
        if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) {
            set_err(err, errlen, "app.url: must start with http:// or https://, got '%s'", value);
            return -1;
        }
        STR(url);
    }
    if (!strcmp(key, "app.health_check_url")) {
        if (*value && strncmp(value, "http://", 7)) {
            set_err(err, errlen, "app.health_check_url: must be empty or an http:// URL, got '%s'",
                    value);
            return -1;
        }
        STR(health_url);
    }
    if (!strcmp(key, "app.health_check_interval_ms")) {
        if (parse_int(value, 100, 3600000, &n)) {
            set_err(err, errlen, "app.health_check_interval_ms: must be 100..3600000, got '%s'",
                    value);
            return -1;
        }
        cfg->health_interval_ms = n;
        return 0;
    }
    if (!strncmp(key, "app.metadata.", 13)) {
        const char *mk = key + 13;
        if (!*mk || strlen(mk) > 128) {
            set_err(err, errlen, "%s: metadata key must be 1..128 characters", key);
            return -1;
        }
        for (size_t i = 0; i < cfg->n_metadata; i++)
            if (!strcmp(cfg->metadata[i].key, mk))
                return set_str(&cfg->metadata[i].value, value) ? -1 : 0;
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
    if (!strcmp(key, "dns.listen") || !strcmp(key, "http.listen")) {
        struct sockaddr_storage ss;
        int sl;
        if (agent_parse_hostport(value, &ss, &sl)) {
            set_err(err, errlen, "%s: must be IP:PORT or [IPv6]:PORT, got '%s'", key, value);
            return -1;
        }
        if (key[0] == 'd')
            STR(dns_listen);
        STR(http_listen);
    }
    if (!strcmp(key, "dns.domain")) {
        char low[256];
        size_t l = strlen(value);
        while (l && value[l - 1] == '.')
            l--; /* "artemis." is "artemis" */
        if (l >= sizeof(low)) {
            set_err(err, errlen, "dns.domain: too long");
            return -1;
        }
        for (size_t i = 0; i < l; i++)
            low[i] = (char)tolower((unsigned char)value[i]);
        low[l] = 0;
        if (!valid_domain(low)) {
            set_err(err, errlen, "dns.domain: not a domain name: '%s'", value);
            return -1;
        }
        if (set_str(&cfg->dns_domain, low)) {
            set_err(err, errlen, "dns.domain: out of memory");
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "dns.ttl")) {
        if (parse_int(value, 0, 86400, &n)) {
            set_err(err, errlen, "dns.ttl: must be 0..86400, got '%s'", value);
            return -1;
        }
        cfg->dns_ttl = (uint32_t)n;
        return 0;
    }
#undef STR
#undef NONEMPTY
    set_err(err, errlen, "%s: unknown key", key);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* Largest config file read; a real one is well under a KiB per key. */
#define MAX_FILE_BYTES (1 << 20)
#define MAX_LINE_BYTES 2046 /* without the newline */

/* Read the whole of a regular file of at most MAX_FILE_BYTES, NUL-terminated. A device
 * (/dev/zero) would be read for ever and a FIFO would block the start, so only a regular file
 * is read, with one allocation sized from fstat. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *data = NULL;
    size_t n = 0;
    if (fstat(fd, &st) != 0) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "cannot read %s: not a regular file", path);
        goto fail;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        set_err(err, errlen, "cannot read %s: larger than %d bytes", path, MAX_FILE_BYTES);
        goto fail;
    }
    size_t cap = (size_t)st.st_size;
    /* One byte more than the size: the NUL, and a file that grew shows as n > cap. */
    if (!(data = malloc(cap + 1))) {
        set_err(err, errlen, "cannot read %s: out of memory", path);
        goto fail;
    }
    while (n <= cap) {
        ssize_t r = read(fd, data + n, cap + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > cap) {
        set_err(err, errlen, "cannot read %s: the file changed while being read", path);
        goto fail;
    }
    close(fd);
    data[n] = 0;
    *len = n;
    return data;
fail:
    free(data);
    close(fd);
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

static void env_name(const char *key, char *out, size_t cap)
{
    size_t o = snprintf(out, cap, "ARTEMIS_SIDECAR_");
    for (const char *p = key; *p && o + 1 < cap; p++)
        out[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    out[o] = 0;
}

/* 1 if name (the part of an environ entry before '=', nlen bytes) is a variable the sidecar
 * reads: ARTEMIS_SIDECAR_<KEY> of a fixed key, or ARTEMIS_SIDECAR_APP_METADATA. */
static int known_env(const char *name, size_t nlen)
{
    static const char md[] = "ARTEMIS_SIDECAR_APP_METADATA";
    if (nlen == sizeof(md) - 1 && !memcmp(name, md, nlen))
        return 1;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!strcmp(keys[i].key, "app.metadata.KEY"))
            continue;
        char known[128];
        env_name(keys[i].key, known, sizeof(known));
        if (strlen(known) == nlen && !memcmp(name, known, nlen))
            return 1;
    }
    return 0;
}

int agent_config_load_env(agent_config_t *cfg, char *err, size_t errlen)
{
    /* A misspelt variable (ARTEMIS_SIDECAR_APP_SERVICEID) would otherwise be ignored and the
     * sidecar started with a default: refuse every ARTEMIS_SIDECAR_* name it does not read. */
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "ARTEMIS_SIDECAR_", 16) != 0)
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
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strchr(keys[i].key, 'K') && !strcmp(keys[i].key, "app.metadata.KEY"))
            continue;
        char name[128];
        env_name(keys[i].key, name, sizeof(name));
        const char *v = getenv(name);
        if (!v)
            continue;
        char e2[512];
        if (agent_config_set(cfg, keys[i].key, v, e2, sizeof(e2))) {
            set_err(err, errlen, "%s (from %s)", e2, name);
            return -1;
        }
    }
    /* ARTEMIS_SIDECAR_APP_METADATA="k1=v1,k2=v2" */
    const char *md = getenv("ARTEMIS_SIDECAR_APP_METADATA");
    if (md && *md) {
        char *copy = strdup(md), *save = NULL;
        if (!copy)
            return -1;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            char key[256], e2[512];
            if (!eq) {
                set_err(err, errlen,
                        "app.metadata: expected KEY=VALUE in ARTEMIS_SIDECAR_APP_METADATA");
                free(copy);
                return -1;
            }
            *eq = 0;
            snprintf(key, sizeof(key), "app.metadata.%s", trim(tok));
            if (agent_config_set(cfg, key, trim(eq + 1), e2, sizeof(e2))) {
                set_err(err, errlen, "%s (from ARTEMIS_SIDECAR_APP_METADATA)", e2);
                free(copy);
                return -1;
            }
        }
        free(copy);
    }
    return 0;
}

void agent_config_usage(FILE *out)
{
    fprintf(out, "usage: artemis-sidecar [--config FILE] [--KEY=VALUE ...]\n\n"
                 "Registers a co-located app with artemis-server, health-checks it and serves\n"
                 "discovery on DNS (UDP+TCP) and HTTP. Keys (file `key = value`, environment\n"
                 "ARTEMIS_SIDECAR_<KEY> with dots as underscores, or --key=value; the command\n"
                 "line wins):\n\n");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        fprintf(out, "  %-30s default %-24s %s\n", keys[i].key,
                *keys[i].def ? keys[i].def : "(empty)", keys[i].help);
    fprintf(out, "\nAliases: --server=URLS, --dns-listen=ADDR, --http-listen=ADDR.\n"
                 "Other options: --config FILE, --help, --version.\n"
                 "Exit status: 0 after SIGTERM/SIGINT, 2 on a configuration error, 1 on a "
                 "startup failure.\n");
}

static const char *alias(const char *k)
{
    if (!strcmp(k, "dns-listen"))
        return "dns.listen";
    if (!strcmp(k, "http-listen"))
        return "http.listen";
    return k;
}

int agent_config_from_args(agent_config_t *cfg, int argc, char **argv, FILE *out, char *err,
                           size_t errlen)
{
    const char *file = NULL;
    /* pass 1: --help, --config */
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
        if (strncmp(a, "--", 2) || !strchr(a, '=')) {
            set_err(err, errlen, "%s: expected --key=value", a);
            return -1;
        }
        char key[256];
        const char *eq = strchr(a, '=');
        size_t kl = (size_t)(eq - a - 2);
        if (kl == 0 || kl >= sizeof(key)) {
            set_err(err, errlen, "%s: expected --key=value", a);
            return -1;
        }
        memcpy(key, a + 2, kl);
        key[kl] = 0;
        if (agent_config_set(cfg, alias(key), eq + 1, err, errlen))
            return -1;
    }
    return 0;
}

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

int agent_config_finish(agent_config_t *cfg, char *err, size_t errlen)
{
    char buf[512];
    if (!cfg->service_id) {
        set_err(err, errlen,
                "app.service_id: required (set it in the config file or with "
                "--app.service_id=ID)");
        return -1;
    }
    if (!cfg->port) {
        set_err(err, errlen,
                "app.port: required (set it in the config file or with "
                "--app.port=PORT)");
        return -1;
    }
    if (cfg->health_url && !*cfg->health_url) {
        free(cfg->health_url);
        cfg->health_url = NULL;
    }
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
    (void)err;
    (void)errlen;
    return 0;
}
