/*
 * register SERVER_URL SERVICE_ID INSTANCE_ID PORT
 *
 * Registers one instance (ip 127.0.0.1 unless ARTEMIS_IP is set), keeps it alive with the
 * SDK's auto-heartbeat, prints "registered" once the server has it, runs until SIGTERM or
 * SIGINT, then deregisters and exits 0. https:// servers: ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE and
 * ARTEMIS_KEY_FILE (docs/security.md, "TLS").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <artemis/artemis.h>

static volatile sig_atomic_t stop;
static int pipe_fd[2];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Runs on the SDK thread: hand the event to main through a pipe (printing is main's job). */
static void on_state(void *ud, const char *service_id, const char *instance_id,
                     artemis_reg_state_t state, artemis_err_t err)
{
    (void)ud;
    (void)service_id;
    (void)instance_id;
    (void)err;
    char b = (char)state;
    (void)!write(pipe_fd[1], &b, 1);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s SERVER_URL SERVICE_ID INSTANCE_ID PORT\n", argv[0]);
        return 2;
    }
    const char *ip = getenv("ARTEMIS_IP") ? getenv("ARTEMIS_IP") : "127.0.0.1";
    int port = atoi(argv[4]);
    artemis_error_t err;
    if (pipe(pipe_fd) != 0)
        return 1;

    artemis_config_t *cfg = artemis_config_new();
    if (!cfg || artemis_config_set_servers(cfg, argv[1]) != ARTEMIS_OK) {
        fprintf(stderr, "register: bad server URL '%s'\n", argv[1]);
        return 2;
    }
    /* TLS for https:// servers: the CA that signed the server's certificate (else the
     * system's store), and a client certificate for servers that ask for one. */
    if ((getenv("ARTEMIS_CA_FILE") &&
         artemis_config_set_tls_ca_file(cfg, getenv("ARTEMIS_CA_FILE")) != ARTEMIS_OK) ||
        (getenv("ARTEMIS_CERT_FILE") &&
         artemis_config_set_tls_client_cert(cfg, getenv("ARTEMIS_CERT_FILE"),
                                            getenv("ARTEMIS_KEY_FILE")) != ARTEMIS_OK)) {
        fprintf(stderr, "register: bad ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE or ARTEMIS_KEY_FILE\n");
        return 2;
    }
    if (getenv("ARTEMIS_HEARTBEAT_MS"))
        artemis_config_set_heartbeat_interval_ms(cfg, atoll(getenv("ARTEMIS_HEARTBEAT_MS")));
    /* The access token from the environment, not argv: `ps` shows every argument. */
    if (getenv("ARTEMIS_TOKEN") &&
        artemis_config_set_token(cfg, getenv("ARTEMIS_TOKEN")) != ARTEMIS_OK) {
        fprintf(stderr, "register: ARTEMIS_TOKEN: not a valid token\n");
        artemis_config_free(cfg);
        return 2;
    }
    artemis_client_t *c = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!c) {
        fprintf(stderr, "register: %s\n", err.text);
        return 1;
    }
    artemis_client_set_registration_cb(c, on_state, NULL);
    artemis_instance_t *inst = artemis_instance_new(argv[2], argv[3], ip, port);
    if (!inst) {
        fprintf(stderr, "register: bad instance arguments\n");
        artemis_client_free(c);
        return 2;
    }
    if (artemis_client_start(c, &err) != ARTEMIS_OK ||
        artemis_client_register(c, inst, &err) != ARTEMIS_OK) {
        fprintf(stderr, "register: %s\n", err.text);
        artemis_instance_free(inst);
        artemis_client_free(c);
        return 1;
    }
    artemis_instance_free(inst);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int printed = 0;
    while (!stop) {
        char b;
        ssize_t n = read(pipe_fd[0], &b, 1); /* interrupted by the signal */
        if (n == 1 && b == ARTEMIS_REG_REGISTERED && !printed) {
            printf("registered\n");
            fflush(stdout);
            printed = 1;
        }
    }
    artemis_client_free(c); /* deregisters, bounded by the request timeout */
    return 0;
}
