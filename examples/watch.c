/*
 * watch SERVER_URL SERVICE_ID
 *
 * Prints the lookup example's JSON line at start and again every time the SDK's cached view
 * of the service changes, until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <artemis/artemis.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Runs on the SDK thread. stdout is only written here, so lines never interleave. */
static void on_change(void *ud, const char *service_id, artemis_service_t *svc)
{
    (void)ud;
    (void)service_id;
    char *line = artemis_service_to_json(svc);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
    }
    artemis_free(line);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER_URL SERVICE_ID\n", argv[0]);
        return 2;
    }
    artemis_error_t err;
    artemis_config_t *cfg = artemis_config_new();
    if (!cfg || artemis_config_set_servers(cfg, argv[1]) != ARTEMIS_OK) {
        fprintf(stderr, "watch: bad server URL '%s'\n", argv[1]);
        return 2;
    }
    /* TLS for https:// servers: the CA that signed the server's certificate (else the
     * system's store), and a client certificate for servers that ask for one. */
    if ((getenv("ARTEMIS_CA_FILE") &&
         artemis_config_set_tls_ca_file(cfg, getenv("ARTEMIS_CA_FILE")) != ARTEMIS_OK) ||
        (getenv("ARTEMIS_CERT_FILE") &&
         artemis_config_set_tls_client_cert(cfg, getenv("ARTEMIS_CERT_FILE"),
                                            getenv("ARTEMIS_KEY_FILE")) != ARTEMIS_OK)) {
        fprintf(stderr, "watch: bad ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE or ARTEMIS_KEY_FILE\n");
        return 2;
    }
    if (getenv("ARTEMIS_CACHE_DIR"))
        artemis_config_set_cache_dir(cfg, getenv("ARTEMIS_CACHE_DIR"));
    /* The access token from the environment, not argv: `ps` shows every argument. */
    if (getenv("ARTEMIS_TOKEN") &&
        artemis_config_set_token(cfg, getenv("ARTEMIS_TOKEN")) != ARTEMIS_OK) {
        fprintf(stderr, "watch: ARTEMIS_TOKEN: not a valid token\n");
        artemis_config_free(cfg);
        return 2;
    }
    artemis_client_t *c = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!c || artemis_client_start(c, &err) != ARTEMIS_OK ||
        artemis_client_watch(c, argv[2], on_change, NULL, &err) != ARTEMIS_OK) {
        fprintf(stderr, "watch: %s\n", err.text);
        artemis_client_free(c);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!stop)
        pause();
    artemis_client_free(c);
    return 0;
}
