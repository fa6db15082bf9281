/*
 * lookup SERVER_URL SERVICE_ID
 *
 * Prints the service's instances as one JSON line
 *   {"serviceId":"...","instances":[{"instanceId":"...","ip":"...","port":N,"status":"..."},...]}
 * and exits 0; exits 1 with a message on stderr when the server cannot be reached (unless
 * a disk snapshot in ARTEMIS_CACHE_DIR still has the service: then that view is printed).
 */
#include <stdio.h>
#include <stdlib.h>

#include <artemis/artemis.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER_URL SERVICE_ID\n", argv[0]);
        return 2;
    }
    artemis_error_t err;
    artemis_config_t *cfg = artemis_config_new();
    if (!cfg || artemis_config_set_servers(cfg, argv[1]) != ARTEMIS_OK) {
        fprintf(stderr, "lookup: bad server URL '%s'\n", argv[1]);
        return 2;
    }
    /* TLS for https:// servers: the CA that signed the server's certificate (else the
     * system's store), and a client certificate for servers that ask for one. */
    if ((getenv("ARTEMIS_CA_FILE") &&
         artemis_config_set_tls_ca_file(cfg, getenv("ARTEMIS_CA_FILE")) != ARTEMIS_OK) ||
        (getenv("ARTEMIS_CERT_FILE") &&
         artemis_config_set_tls_client_cert(cfg, getenv("ARTEMIS_CERT_FILE"),
                                            getenv("ARTEMIS_KEY_FILE")) != ARTEMIS_OK)) {
        fprintf(stderr, "lookup: bad ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE or ARTEMIS_KEY_FILE\n");
        return 2;
    }
    if (getenv("ARTEMIS_CACHE_DIR"))
        artemis_config_set_cache_dir(cfg, getenv("ARTEMIS_CACHE_DIR"));
    /* The access token from the environment, not argv: `ps` shows every argument. */
    if (getenv("ARTEMIS_TOKEN") &&
        artemis_config_set_token(cfg, getenv("ARTEMIS_TOKEN")) != ARTEMIS_OK) {
        fprintf(stderr, "lookup: ARTEMIS_TOKEN: not a valid token\n");
        artemis_config_free(cfg);
        return 2;
    }
    artemis_client_t *c = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!c || artemis_client_start(c, &err) != ARTEMIS_OK) {
        fprintf(stderr, "lookup: %s\n", err.text);
        artemis_client_free(c);
        return 1;
    }
    artemis_service_t *svc = NULL;
    artemis_err_t rc = artemis_client_discover(c, argv[2], 3000, &svc, &err);
    int status = 0;
    if (rc != ARTEMIS_OK || !svc) {
        fprintf(stderr, "lookup: cannot reach %s: %s\n", argv[1], err.text);
        status = 1;
    } else {
        char *line = artemis_service_to_json(svc);
        if (artemis_service_is_stale(svc))
            fprintf(stderr, "lookup: server unreachable; cached view %lld ms old\n",
                    (long long)artemis_service_age_ms(svc));
        printf("%s\n", line ? line : "");
        artemis_free(line);
        artemis_service_unref(svc);
    }
    artemis_client_free(c);
    return status;
}
