/*
 * `register` and `unregister` one instance from flags. register keeps the lease alive with
 * a heartbeat every 5 s (the lease TTL is 20 s by default) and unregisters on SIGINT or
 * SIGTERM, like the SDK's register example but without the SDK: an operator's test
 * instance, not an application.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ctl.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct inst_flags {
    const char *service, *instance, *ip, *port, *url, *group, *protocol, *interval;
    ctl_multi_t meta;
    int once;
} inst_flags_t;

static const char REGISTER_HELP[] =
    "usage: artemisctl register --service ID --port N [--instance ID] [--ip IP] [--url URL]\n"
    "                  [--group NAME] [--protocol P] [--meta KEY=VALUE]... [--interval S]\n"
    "                  [--once]\n"
    "Register one instance in --region/--zone (default: the server's), print\n"
    "\"registered SERVICE INSTANCE\", heartbeat every --interval seconds (default 5) until\n"
    "Ctrl-C or SIGTERM, then unregister it. --once: register and exit (the lease then\n"
    "expires after the server's TTL unless something else renews it).\n"
    "Defaults: --ip 127.0.0.1, --instance IP:PORT, --url http://IP:PORT/.\n";

static const char UNREGISTER_HELP[] =
    "usage: artemisctl unregister --service ID (--instance ID | --port N [--ip IP])\n"
    "Remove one instance's lease at once (in --region/--zone, default the server's).\n";

/* The Instance of the wire from the flags; NULL on OOM. */
static json_t *instance(const ctl_t *c, const inst_flags_t *f, long port, char *idbuf, size_t idn)
{
    const char *ip = f->ip ? f->ip : "127.0.0.1";
    const char *id = f->instance;
    if (!id) {
        snprintf(idbuf, idn, "%s:%ld", ip, port);
        id = idbuf;
    }
    char url[600];
    if (f->url)
        snprintf(url, sizeof url, "%s", f->url);
    else
        snprintf(url, sizeof url, "http://%s:%ld/", ip, port);
    json_t *md = json_object();
    for (int i = 0; md && i < f->meta.n; i++) {
        const char *kv = f->meta.v[i];
        const char *eq = strchr(kv, '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
        if (json_object_set_new(md, key, json_string(eq + 1)) != 0) {
            json_decref(md);
            md = NULL;
        }
    }
    if (!md)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s?,s:s?,s:o}", "regionId", c->region,
                     "zoneId", c->zone, "serviceId", f->service, "instanceId", id, "ip", ip, "port",
                     (json_int_t)port, "url", url, "status", "up", "groupId", f->group, "protocol",
                     f->protocol, "metadata", md);
}

static int send_one(ctl_t *c, const char *path, const json_t *inst, const char *what)
{
    return ctl_call(c, path, json_pack("{s:[O]}", "instances", inst), what, NULL);
}

/* Sleep up to ms, waking early on a signal. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (!g_stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int parse_inst(ctl_t *c, const char *cmd, const char *help, int argc, char **argv,
                      inst_flags_t *f, long *port, int need_port)
{
    const ctl_flag_t flags[] = {{"service", &f->service, NULL, NULL},
                                {"instance", &f->instance, NULL, NULL},
                                {"ip", &f->ip, NULL, NULL},
                                {"port", &f->port, NULL, NULL},
                                {"url", &f->url, NULL, NULL},
                                {"group", &f->group, NULL, NULL},
                                {"protocol", &f->protocol, NULL, NULL},
                                {"interval", &f->interval, NULL, NULL},
                                {"meta", NULL, NULL, &f->meta},
                                {"once", NULL, &f->once, NULL},
                                {NULL, NULL, NULL, NULL}};
    char *pos[1];
    int np = 0;
    int rc = ctl_args(c, cmd, help, argc, argv, flags, 0, 0, pos, &np);
    if (rc != CTL_OK)
        return rc;
    if (!f->service || !*f->service)
        return ctl_usage_error(cmd, "--service is required");
    *port = 0;
    if (f->port && ctl_parse_int(f->port, 1, 65535, port) != 0)
        return ctl_usage_error(cmd, "--port must be 1..65535, not '%s'", f->port);
    if (need_port && !f->port)
        return ctl_usage_error(cmd, "--port is required");
    if (!f->port && !f->instance)
        return ctl_usage_error(cmd, "--instance or --port is required");
    for (int i = 0; i < f->meta.n; i++) {
        const char *eq = strchr(f->meta.v[i], '=');
        if (!eq || eq == f->meta.v[i] || eq - f->meta.v[i] > 255)
            return ctl_usage_error(cmd, "--meta wants KEY=VALUE, not '%s'", f->meta.v[i]);
    }
    return CTL_OK;
}

int cmd_register(ctl_t *c, int argc, char **argv)
{
    inst_flags_t f = {0};
    long port = 0, interval = 5;
    int rc = parse_inst(c, "register", REGISTER_HELP, argc, argv, &f, &port, 1);
    if (rc == CTL_HELP)
        return CTL_OK;
    if (rc != CTL_OK)
        return rc;
    if (f.interval && ctl_parse_int(f.interval, 1, 3600, &interval) != 0)
        return ctl_usage_error("register", "--interval must be 1..3600 seconds, not '%s'",
                               f.interval);
    rc = ctl_locate(c);
    if (rc != CTL_OK)
        return rc;
    char idbuf[300];
    json_t *inst = instance(c, &f, port, idbuf, sizeof idbuf);
    if (!inst)
        return ctl_oom();
    /* Handlers first: a Ctrl-C right after "registered" must still unregister. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep wakes up */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = send_one(c, "/api/registry/register.json", inst, "register");
    if (rc != CTL_OK) {
        json_decref(inst);
        return rc;
    }
    printf("registered %s %s\n", f.service, ctl_str(inst, "instanceId"));
    fflush(stdout);
    if (f.once) {
        json_decref(inst);
        return CTL_OK;
    }
    while (!g_stop) {
        nap(interval * 1000);
        if (g_stop)
            break;
        /* A heartbeat the server refuses (lease lost, e.g. after its restart) is answered
         * by registering again, as the SDK does; an unreachable server is retried. */
        json_t *resp = NULL;
        json_t *body = json_pack("{s:[O]}", "instances", inst);
        if (!body)
            continue;
        int hb = ctl_post(c, "/api/registry/heartbeat.json", body, &resp);
        json_decref(body);
        const char *st = ctl_str(json_object_get(resp, "responseStatus"), "status");
        if (hb == CTL_OK && !(st && strcmp(st, "success") == 0)) {
            fprintf(stderr, "artemisctl register: heartbeat refused, registering again\n");
            send_one(c, "/api/registry/register.json", inst, "register");
        }
        json_decref(resp);
    }
    rc = send_one(c, "/api/registry/unregister.json", inst, "unregister");
    if (rc == CTL_OK) {
        printf("unregistered %s %s\n", f.service, ctl_str(inst, "instanceId"));
        fflush(stdout);
    }
    json_decref(inst);
    return rc;
}

int cmd_unregister(ctl_t *c, int argc, char **argv)
{
    inst_flags_t f = {0};
    long port = 0;
    int rc = parse_inst(c, "unregister", UNREGISTER_HELP, argc, argv, &f, &port, 0);
    if (rc == CTL_HELP)
        return CTL_OK;
    if (rc != CTL_OK)
        return rc;
    rc = ctl_locate(c);
    if (rc != CTL_OK)
        return rc;
    char idbuf[300];
    /* The registry checks ip and url even on unregister: give it plausible ones. */
    json_t *inst = instance(c, &f, port ? port : 80, idbuf, sizeof idbuf);
    if (!inst)
        return ctl_oom();
    rc = send_one(c, "/api/registry/unregister.json", inst, "unregister");
    if (rc == CTL_OK) {
        printf("unregistered %s %s\n", f.service, ctl_str(inst, "instanceId"));
        fflush(stdout);
    }
    json_decref(inst);
    return rc;
}
