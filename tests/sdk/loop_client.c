/*
 * External-loop mode end to end: the application owns a libevent base, attaches the client
 * with the header-only adapter, registers itself and watches its own service. Prints
 * "registered" when the registration is confirmed and "seen <json>" when the watch shows
 * the instance, then stops the client (deregistering) on the same loop and exits 0.
 * Exits 1 if that has not happened within 10 s.
 *
 * usage: loop_client SERVER_URL SERVICE_ID INSTANCE_ID
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include <artemis/artemis.h>
#include <artemis/adapters/libevent.h>

static struct event_base *base;
static artemis_client_t *client;
static int registered, seen, stopping;
static const char *instance_id;

static void maybe_stop(void)
{
    if (registered && seen && !stopping) {
        stopping = 1;
        /* In external-loop mode stop begins the deregistration on this loop; the loop must
         * keep running until it is done, so exit a little later. */
        artemis_client_stop(client, 2000);
        struct timeval tv = {0, 300000};
        event_base_loopexit(base, &tv);
    }
}

static void on_state(void *ud, const char *sid, const char *iid, artemis_reg_state_t st,
                     artemis_err_t err)
{
    (void)ud;
    (void)sid;
    (void)iid;
    (void)err;
    if (st == ARTEMIS_REG_REGISTERED && !registered) {
        registered = 1;
        printf("registered\n");
        fflush(stdout);
        maybe_stop();
    }
}

static void on_change(void *ud, const char *sid, artemis_service_t *svc)
{
    (void)ud;
    (void)sid;
    for (size_t i = 0; i < artemis_service_instance_count(svc); i++) {
        const char *id =
            artemis_instance_get(artemis_service_instance(svc, i), ARTEMIS_FIELD_INSTANCE_ID);
        if (id && strcmp(id, instance_id) == 0 && !seen) {
            char *line = artemis_service_to_json(svc);
            printf("seen %s\n", line ? line : "");
            fflush(stdout);
            artemis_free(line);
            seen = 1;
            maybe_stop();
        }
    }
}

static void deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fprintf(stderr, "loop_client: timed out (registered=%d seen=%d)\n", registered, seen);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s SERVER_URL SERVICE_ID INSTANCE_ID\n", argv[0]);
        return 2;
    }
    instance_id = argv[3];
    artemis_error_t err;
    base = event_base_new();
    artemis_config_t *cfg = artemis_config_new();
    artemis_config_set_servers(cfg, argv[1]);
    artemis_config_set_mode(cfg, ARTEMIS_MODE_EXTERNAL_LOOP);
    client = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    artemis_instance_t *inst = artemis_instance_new(argv[2], argv[3], "127.0.0.1", 7000);
    if (!client || !inst || artemis_libevent_attach(client, base) != ARTEMIS_OK ||
        artemis_client_set_registration_cb(client, on_state, NULL) != ARTEMIS_OK ||
        artemis_client_start(client, &err) != ARTEMIS_OK ||
        artemis_client_register(client, inst, &err) != ARTEMIS_OK ||
        artemis_client_watch(client, argv[2], on_change, NULL, &err) != ARTEMIS_OK) {
        fprintf(stderr, "loop_client: setup failed\n");
        return 1;
    }
    artemis_instance_free(inst);
    struct event *ev = evtimer_new(base, deadline, NULL);
    struct timeval tv = {10, 0};
    evtimer_add(ev, &tv);
    event_base_dispatch(base);
    event_free(ev);
    artemis_client_free(client);
    event_base_free(base);
    return registered && seen ? 0 : 1;
}
