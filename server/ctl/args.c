/*
 * The subcommands' flag parser: `--name VALUE`, `--name=VALUE`, boolean `--name`, `--` to end
 * flags, positionals anywhere (so `artemisctl service demo --json` works), and the global
 * options accepted after the command too. One parser for every subcommand keeps their
 * errors alike: one line naming the flag, exit status 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static const ctl_flag_t *find(const ctl_flag_t *flags, const char *name, size_t n)
{
    for (const ctl_flag_t *f = flags; f && f->name; f++)
        if (strlen(f->name) == n && strncmp(f->name, name, n) == 0)
            return f;
    return NULL;
}

/* The global options, also accepted after the command. 1 consumed, 0 not global, or
 * CTL_USAGE negated on a bad value. */
static int global(ctl_t *c, const char *cmd, const char *name, size_t n, const char *value)
{
#define IS(s) (n == strlen(s) && strncmp(name, s, n) == 0)
    if (IS("json")) {
        if (value)
            return -ctl_usage_error(cmd, "--json takes no value");
        c->json = 1;
        return 1;
    }
    const char **dst = IS("region")  ? &c->region
                       : IS("zone")  ? &c->zone
                       : IS("token") ? &c->token
                                     : NULL;
    if (!dst && !IS("server"))
        return 0;
    if (!value || !*value)
        return -ctl_usage_error(cmd, "--%.*s needs a value", (int)n, name);
    if (dst) {
        *dst = value;
        return 1;
    }
    for (size_t i = 0; i < c->nservers; i++)
        free(c->servers[i]);
    free(c->servers);
    c->servers = NULL;
    c->nservers = 0;
    c->cur = 0;
    return ctl_servers_set(c, value) == 0 ? 1 : -CTL_USAGE;
#undef IS
}

int ctl_args(ctl_t *c, const char *cmd, const char *help, int argc, char **argv,
             const ctl_flag_t *flags, int min_pos, int max_pos, char **pos, int *npos)
{
    int np = 0, flags_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flags_done || a[0] != '-' || a[1] == '\0' || (a[1] != '-' && a[1] != 'h')) {
            if (a[0] == '-' && a[1] && !flags_done && a[1] != '-')
                return ctl_usage_error(cmd, "unknown option %s", a);
            if (np >= max_pos)
                return ctl_usage_error(cmd, "unexpected argument '%s'", a);
            pos[np++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return CTL_HELP;
        }
        if (a[1] != '-')
            return ctl_usage_error(cmd, "unknown option %s", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const ctl_flag_t *f = find(flags, name, n);
        if (!f) {
            /* A global flag that takes a value may take the next word. */
            if (!value && i + 1 < argc &&
                ((n == 6 && strncmp(name, "server", 6) == 0) ||
                 (n == 6 && strncmp(name, "region", 6) == 0) ||
                 (n == 4 && strncmp(name, "zone", 4) == 0) ||
                 (n == 5 && strncmp(name, "token", 5) == 0)))
                value = argv[++i];
            int g = global(c, cmd, name, n, value);
            if (g < 0)
                return -g;
            if (g == 0)
                return ctl_usage_error(cmd, "unknown option --%.*s", (int)n, name);
            continue;
        }
        if (f->flag) {
            if (value)
                return ctl_usage_error(cmd, "--%s takes no value", f->name);
            *f->flag = 1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return ctl_usage_error(cmd, "--%s needs a value", f->name);
            value = argv[++i];
        }
        if (f->multi) {
            if (f->multi->n >= CTL_MULTI_MAX)
                return ctl_usage_error(cmd, "--%s given more than %d times", f->name,
                                       CTL_MULTI_MAX);
            f->multi->v[f->multi->n++] = value;
        } else {
            *f->value = value;
        }
    }
    if (np < min_pos)
        return ctl_usage_error(cmd, "missing argument%s", min_pos - np > 1 ? "s" : "");
    *npos = np;
    return CTL_OK;
}
