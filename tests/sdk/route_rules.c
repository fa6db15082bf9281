/*
 * Route rules end to end: watches one service with the SDK's discovery and prints, on every
 * change of the cached view, one JSON line with the view's route rules as the public API shows
 * them (docs/sdk.md "Route rules and groups"). Commands on stdin ask for pick distributions.
 * Public API only. Line-oriented so a test can drive it (tests/integration/test_sdk_routes.py).
 *
 * usage: route_rules [-r REGION] [-z ZONE] [-p POLL_MS] [-n PICKS] SERVER_URL SERVICE_ID
 *   -r, -z  the client's region and zone (SDK defaults "default" / "default")
 *   -p      fallback poll interval (default 3600000: only pushes refresh the view in a test)
 *   -n      picks made with artemis_service_pick() on each new view, shown in its line (0: none)
 *
 * stdout, one JSON object per line:
 *   {"type":"view","seq":N,"serviceId":..,"stale":0|1,
 *    "instances":[{"instanceId":..,"groupId":..,"status":..},..],"pickRule":"<routeId>",
 *    "rules":[{"routeId":..,"strategy":..,"derived":true|false,
 *              "groups":[{"groupKey":..,"weight":N,"metadata":{..},"instances":[ids]}]}],
 *    "picks":{"<instanceId>":count,..}}                      (picks only with -n)
 *   {"type":"current",...}   the same fields as a view line: the answer to "view"
 *   {"type":"picks","rule":"<routeId>|null","n":N,"counts":{"<instanceId>|null":count}}
 *   {"type":"error","text":..}
 * stdin commands:
 *   view                  print the current view as a "current" line (seq: the last view's)
 *   pick N                N picks with artemis_service_pick() on the current view
 *   rulepick ROUTE_ID N   N picks with artemis_route_rule_pick() in that rule of the view
 *   quit                  exit 0 (also on end of input, SIGTERM, SIGINT)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <artemis/artemis.h>

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static artemis_client_t *client;
static const char *service_id;
static long view_seq;

/* ---- a tiny JSON writer into a growing string -------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_long(sbuf_t *b, long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%ld", v);
    if (n > 0)
        put(b, tmp, (size_t)n);
}

static void put_str(sbuf_t *b, const char *s)
{
    if (!s) {
        puts_(b, "null");
        return;
    }
    puts_(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            put(b, esc, 2);
        } else if (*p < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)*p);
            put(b, esc, 6);
        } else {
            put(b, (const char *)p, 1);
        }
    }
    puts_(b, "\"");
}

static void emit(sbuf_t *b)
{
    pthread_mutex_lock(&out_mu);
    if (b->oom)
        puts("{\"type\":\"error\",\"text\":\"out of memory\"}");
    else
        puts(b->p ? b->p : "");
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void emit_error(const char *text)
{
    sbuf_t b = {0};
    puts_(&b, "{\"type\":\"error\",\"text\":");
    put_str(&b, text);
    puts_(&b, "}");
    emit(&b);
}

/* ---- pick distributions ------------------------------------------------------------------- */

typedef struct {
    const char *id; /* borrowed from the snapshot; NULL for a NULL pick */
    long n;
} count_t;

/* Counts of n picks as a JSON object, keys in first-picked order ("null" for NULL). */
static void put_counts(sbuf_t *b, const artemis_service_t *svc, const artemis_route_rule_t *rule,
                       long n)
{
    size_t cap = artemis_service_instance_count(svc) + artemis_service_logic_instance_count(svc);
    /* Canary groups may hold instances the server resolved that are not in the list. */
    for (size_t r = 0; r < artemis_service_route_rule_count(svc); r++) {
        const artemis_route_rule_t *x = artemis_service_route_rule(svc, r);
        for (size_t g = 0; g < artemis_route_rule_group_count(x); g++)
            cap += artemis_group_instance_count(artemis_route_rule_group(x, g));
    }
    count_t *c = calloc(cap + 1, sizeof(*c));
    size_t used = 0;
    if (!c) {
        b->oom = 1;
        return;
    }
    for (long i = 0; i < n; i++) {
        const artemis_instance_t *inst =
            rule ? artemis_route_rule_pick(rule) : artemis_service_pick(svc);
        const char *id = inst ? artemis_instance_get(inst, ARTEMIS_FIELD_INSTANCE_ID) : NULL;
        size_t k = 0;
        while (k < used && !(c[k].id == id || (c[k].id && id && strcmp(c[k].id, id) == 0)))
            k++;
        if (k == used) {
            if (used == cap + 1)
                continue; /* cannot happen: every pick is one of the counted instances */
            c[used++].id = id;
        }
        c[k].n++;
    }
    puts_(b, "{");
    for (size_t k = 0; k < used; k++) {
        if (k)
            puts_(b, ",");
        put_str(b, c[k].id ? c[k].id : "null");
        puts_(b, ":");
        put_long(b, c[k].n);
    }
    puts_(b, "}");
    free(c);
}

/* ---- the view line ------------------------------------------------------------------------ */

static void put_instance_ids(sbuf_t *b, const artemis_group_t *g)
{
    puts_(b, "[");
    for (size_t i = 0; i < artemis_group_instance_count(g); i++) {
        if (i)
            puts_(b, ",");
        put_str(b, artemis_instance_get(artemis_group_instance(g, i), ARTEMIS_FIELD_INSTANCE_ID));
    }
    puts_(b, "]");
}

static void put_view(sbuf_t *b, const char *type, artemis_service_t *svc, long seq, long picks)
{
    puts_(b, "{\"type\":");
    put_str(b, type);
    puts_(b, ",\"seq\":");
    put_long(b, seq);
    puts_(b, ",\"serviceId\":");
    put_str(b, artemis_service_id(svc));
    puts_(b, ",\"stale\":");
    put_long(b, artemis_service_is_stale(svc));
    puts_(b, ",\"instances\":[");
    for (size_t i = 0; i < artemis_service_instance_count(svc); i++) {
        const artemis_instance_t *inst = artemis_service_instance(svc, i);
        puts_(b, i ? ",{\"instanceId\":" : "{\"instanceId\":");
        put_str(b, artemis_instance_get(inst, ARTEMIS_FIELD_INSTANCE_ID));
        puts_(b, ",\"groupId\":");
        put_str(b, artemis_instance_get(inst, ARTEMIS_FIELD_GROUP_ID));
        puts_(b, ",\"status\":");
        put_str(b, artemis_instance_get(inst, ARTEMIS_FIELD_STATUS));
        puts_(b, "}");
    }
    puts_(b, "],\"pickRule\":");
    put_str(b, artemis_route_rule_id(artemis_service_pick_rule(svc)));
    puts_(b, ",\"rules\":[");
    for (size_t r = 0; r < artemis_service_route_rule_count(svc); r++) {
        const artemis_route_rule_t *rule = artemis_service_route_rule(svc, r);
        puts_(b, r ? ",{\"routeId\":" : "{\"routeId\":");
        put_str(b, artemis_route_rule_id(rule));
        puts_(b, ",\"strategy\":");
        put_str(b, artemis_route_rule_strategy(rule));
        puts_(b, artemis_route_rule_is_derived(rule) ? ",\"derived\":true" : ",\"derived\":false");
        puts_(b, ",\"groups\":[");
        for (size_t g = 0; g < artemis_route_rule_group_count(rule); g++) {
            const artemis_group_t *grp = artemis_route_rule_group(rule, g);
            puts_(b, g ? ",{\"groupKey\":" : "{\"groupKey\":");
            put_str(b, artemis_group_key(grp));
            puts_(b, ",\"weight\":");
            put_long(b, artemis_group_weight(grp));
            puts_(b, ",\"metadata\":{");
            for (size_t t = 0; t < artemis_group_metadata_count(grp); t++) {
                if (t)
                    puts_(b, ",");
                put_str(b, artemis_group_metadata_key(grp, t));
                puts_(b, ":");
                put_str(b, artemis_group_metadata_value(grp, t));
            }
            puts_(b, "},\"instances\":");
            put_instance_ids(b, grp);
            puts_(b, "}");
        }
        puts_(b, "]}");
    }
    puts_(b, "]");
    if (picks > 0) {
        puts_(b, ",\"picks\":");
        put_counts(b, svc, NULL, picks);
    }
    puts_(b, "}");
}

static long change_picks;

/* Runs on the SDK thread after every change of the cached view. */
static void on_change(void *ud, const char *sid, artemis_service_t *svc)
{
    (void)ud;
    (void)sid;
    sbuf_t b = {0};
    long seq = __atomic_add_fetch(&view_seq, 1, __ATOMIC_RELAXED);
    put_view(&b, "view", svc, seq, change_picks);
    emit(&b);
}

/* ---- commands ----------------------------------------------------------------------------- */

static void cmd_picks(const char *route_id, long n)
{
    artemis_service_t *svc = artemis_client_get_cached(client, service_id);
    if (!svc) {
        emit_error("no cached view yet");
        return;
    }
    const artemis_route_rule_t *rule = NULL;
    if (route_id && !(rule = artemis_service_find_route_rule(svc, route_id))) {
        emit_error("no such rule in the view");
        artemis_service_unref(svc);
        return;
    }
    sbuf_t b = {0};
    puts_(&b, "{\"type\":\"picks\",\"rule\":");
    put_str(&b, artemis_route_rule_id(rule ? rule : artemis_service_pick_rule(svc)));
    puts_(&b, ",\"n\":");
    put_long(&b, n);
    puts_(&b, ",\"counts\":");
    put_counts(&b, svc, rule, n);
    puts_(&b, "}");
    artemis_service_unref(svc);
    emit(&b);
}

static void cmd_view(void)
{
    artemis_service_t *svc = artemis_client_get_cached(client, service_id);
    if (!svc) {
        emit_error("no cached view yet");
        return;
    }
    sbuf_t b = {0};
    put_view(&b, "current", svc, __atomic_load_n(&view_seq, __ATOMIC_RELAXED), 0);
    artemis_service_unref(svc);
    emit(&b);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int parse_count(const char *s, long *out)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || end == s || (*end && *end != '\n') || v < 0 || v > 100000000)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *region = NULL, *zone = NULL;
    long poll_ms = 3600000;
    int opt;
    while ((opt = getopt(argc, argv, "r:z:p:n:")) != -1) {
        switch (opt) {
        case 'r':
            region = optarg;
            break;
        case 'z':
            zone = optarg;
            break;
        case 'p':
            if (parse_count(optarg, &poll_ms) != 0)
                return 2;
            break;
        case 'n':
            if (parse_count(optarg, &change_picks) != 0)
                return 2;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr,
                "usage: %s [-r REGION] [-z ZONE] [-p POLL_MS] [-n PICKS] SERVER_URL SERVICE_ID\n",
                argv[0]);
        return 2;
    }
    service_id = argv[optind + 1];
    artemis_error_t err;
    artemis_config_t *cfg = artemis_config_new();
    if (!cfg || artemis_config_set_servers(cfg, argv[optind]) != ARTEMIS_OK ||
        (region && artemis_config_set_region(cfg, region) != ARTEMIS_OK) ||
        (zone && artemis_config_set_zone(cfg, zone) != ARTEMIS_OK) ||
        artemis_config_set_poll_interval_ms(cfg, poll_ms) != ARTEMIS_OK) {
        fprintf(stderr, "route_rules: bad configuration\n");
        artemis_config_free(cfg);
        return 2;
    }
    client = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!client || artemis_client_start(client, &err) != ARTEMIS_OK ||
        artemis_client_watch(client, service_id, on_change, NULL, &err) != ARTEMIS_OK) {
        fprintf(stderr, "route_rules: %s\n", err.text);
        artemis_client_free(client);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends the blocking read */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char line[1024];
    while (!stop && fgets(line, sizeof(line), stdin)) {
        char *save = NULL;
        char *cmd = strtok_r(line, " \t\r\n", &save);
        char *a1 = strtok_r(NULL, " \t\r\n", &save);
        char *a2 = strtok_r(NULL, " \t\r\n", &save);
        long n;
        if (!cmd)
            continue;
        if (strcmp(cmd, "quit") == 0)
            break;
        if (strcmp(cmd, "view") == 0)
            cmd_view();
        else if (strcmp(cmd, "pick") == 0 && parse_count(a1, &n) == 0)
            cmd_picks(NULL, n);
        else if (strcmp(cmd, "rulepick") == 0 && a1 && parse_count(a2, &n) == 0)
            cmd_picks(a1, n);
        else
            emit_error("unknown command");
    }
    artemis_client_free(client);
    return 0;
}
