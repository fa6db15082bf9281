/*
 * artemis-server entry point: parse the command line and config file, then run the loop.
 * A bad option, value or config file stops the start with one line naming the key and
 * exit status 2 (docs/operations.md, "Exit status").
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "artemis/version.h"

int main(int argc, char **argv)
{
    srv_config_t cfg;
    char err[512];
    int want_help = 0, want_version = 0;
    srv_config_init(&cfg);
    if (srv_config_parse_args(&cfg, argc, argv, &want_help, &want_version, err, sizeof(err)) != 0) {
        fprintf(stderr, "artemis-server: %s\n", err);
        srv_config_free(&cfg);
        return 2;
    }
    if (want_help) {
        printf("Usage: artemis-server [--config FILE] [--KEY=VALUE ...]\n\n"
               "Artemis %s-compatible service registry. Every key below may be set in the\n"
               "config file (KEY = VALUE) or on the command line (--KEY=VALUE or its alias);\n"
               "the command line wins.\n\n",
               ARTEMIS_COMPAT_VERSION);
        srv_config_print_help(stdout);
        srv_config_free(&cfg);
        return 0;
    }
    if (want_version) {
        printf("artemis-server %s (Artemis %s wire protocol)\n", ARTEMIS_VERSION_STRING,
               ARTEMIS_COMPAT_VERSION);
        srv_config_free(&cfg);
        return 0;
    }
    return srv_run(&cfg);
}
