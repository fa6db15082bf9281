/*
 * artemisctl entry point: global options, then one subcommand. Global options stop at the
 * first word that is not an option ("+" in the getopt string) so each subcommand parses its
 * own flags.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artemis/version.h"
#include "ctl.h"

static const char USAGE[] =
    "usage: artemisctl [--server URL[,URL]] [--ca FILE] [--auth-token TOKEN] [--region ID]\n"
    "                  [--zone ID] [--token T] [--json]\n"
    "                  COMMAND [ARGS] [--help]\n"
    "\n"
    "global options:\n"
    "  --server URL[,URL]  servers, tried in turn when one cannot be reached\n"
    "                      (default $ARTEMIS_SERVER, then http://127.0.0.1:8080)\n"
    "  --ca FILE           CA bundle https:// servers are verified against\n"
    "                      (default $ARTEMIS_CA_FILE, then the system's)\n"
    "  --auth-token TOKEN  access token sent as Authorization: Bearer (default\n"
    "                      $ARTEMIS_TOKEN); management needs scope operate\n"
    "  --region ID         region (default: the server's own, from /api/status/node.json)\n"
    "  --zone ID           zone (default: the server's own)\n"
    "  --token T           token stored with management writes (default artemisctl)\n"
    "  --json              one JSON object per line, wire field names\n"
    "  --version           print the version\n"
    "\n"
    "commands:\n"
    "  services                       services with instance counts up/down\n"
    "  service ID                     instances: status, zone, age, last heartbeat, why down\n"
    "  register --service ID --port N [...]   register one instance, heartbeat until Ctrl-C\n"
    "  unregister --service ID --instance ID  remove one instance\n"
    "  watch ID                       a line per change of the service\n"
    "  pull-out|pull-in instance SERVICE_ID INSTANCE_ID --operator ID [--reason TEXT]\n"
    "  pull-out|pull-in server IP --operator ID\n"
    "  pull-out|pull-in zone SERVICE_ID ZONE_ID --operator ID\n"
    "  pull-out|pull-in group SERVICE_ID GROUP_NAME --operator ID\n"
    "  groups ID                      the service's groups\n"
    "  route-rules ID                 route rules with released and unreleased weights\n"
    "  weights ID GROUP WEIGHT --operator ID   set a group's unreleased weight\n"
    "  release ID --operator ID       release every unreleased weight of the service\n"
    "  canary ID IP... --app ID --operator ID  set the canary instances\n"
    "  logs [--operator ID] [--service ID] [--limit N]   the audit log, newest first\n"
    "  cluster                        nodes, status, replication lag, self-preservation\n"
    "  health                         the server's /health\n"
    "\n"
    "exit status: 0 ok, 1 the server said no or could not be reached, 2 bad usage.\n"
    "`artemisctl COMMAND --help` describes a command; man artemisctl has the details.\n";

typedef struct command {
    const char *name;
    int (*run)(ctl_t *c, int argc, char **argv);
} command_t;

static const command_t COMMANDS[] = {
    {"services", cmd_services},
    {"service", cmd_service},
    {"register", cmd_register},
    {"unregister", cmd_unregister},
    {"watch", cmd_watch},
    {"pull-out", cmd_pull},
    {"pull-in", cmd_pull},
    {"groups", cmd_groups},
    {"route-rules", cmd_route_rules},
    {"weights", cmd_weights},
    {"release", cmd_release},
    {"canary", cmd_canary},
    {"logs", cmd_logs},
    {"cluster", cmd_cluster},
    {"health", cmd_health},
};

enum {
    OPT_SERVER = 256,
    OPT_CA,
    OPT_AUTH_TOKEN,
    OPT_REGION,
    OPT_ZONE,
    OPT_TOKEN,
    OPT_JSON,
    OPT_HELP,
    OPT_VERSION
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, OPT_SERVER},
        {"ca", required_argument, NULL, OPT_CA},
        {"auth-token", required_argument, NULL, OPT_AUTH_TOKEN},
        {"region", required_argument, NULL, OPT_REGION},
        {"zone", required_argument, NULL, OPT_ZONE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    ctl_t c = {0};
    c.token = "artemisctl";
    const char *servers = getenv("ARTEMIS_SERVER");
    if (!servers || !*servers)
        servers = "http://127.0.0.1:8080";
    const char *ca = getenv("ARTEMIS_CA_FILE");
    c.ca_file = ca && *ca ? ca : NULL;
    /* The environment keeps the token out of `ps` and shell history; the flag overrides it. */
    const char *tok = getenv("ARTEMIS_TOKEN");
    c.auth_token = tok && *tok ? tok : NULL;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (o) {
        case OPT_SERVER:
            servers = optarg;
            break;
        case OPT_CA:
            c.ca_file = *optarg ? optarg : NULL;
            break;
        case OPT_AUTH_TOKEN:
            c.auth_token = *optarg ? optarg : NULL;
            break;
        case OPT_REGION:
            c.region = optarg;
            break;
        case OPT_ZONE:
            c.zone = optarg;
            break;
        case OPT_TOKEN:
            c.token = optarg;
            break;
        case OPT_JSON:
            c.json = 1;
            break;
        case OPT_HELP:
            fputs(USAGE, stdout);
            return CTL_OK;
        case OPT_VERSION:
            printf("artemisctl %s\n", ARTEMIS_VERSION_STRING);
            return CTL_OK;
        case ':':
            return ctl_usage_error(NULL, "option %s needs a value", argv[optind - 1]);
        default:
            return ctl_usage_error(NULL, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return ctl_usage_error(NULL, "no command given");
    if ((c.region && !*c.region) || (c.zone && !*c.zone) || !*c.token)
        return ctl_usage_error(NULL, "--region, --zone and --token must not be empty");
    const command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(COMMANDS[i].name, argv[optind]) == 0)
            cmd = &COMMANDS[i];
    if (!cmd)
        return ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
    if (ctl_servers_set(&c, servers) != 0 || ctl_auth_set(&c, c.auth_token) != 0) {
        ctl_free(&c);
        return CTL_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ctl_free(&c);
        fprintf(stderr, "artemisctl: libcurl failed to initialise\n");
        return CTL_FAIL;
    }
    /* Subcommands parse from their own name: reset getopt for them (GNU: optind = 0). */
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;
    opterr = 0;
    int rc = cmd->run(&c, sub_argc, sub_argv);
    ctl_free(&c);
    curl_global_cleanup();
    return rc;
}
