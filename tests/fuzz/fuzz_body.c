/*
 * libFuzzer target for the HTTP body path of the registry endpoints: bytes as they arrive
 * in a POST body (optionally gzip), inflated with the body limit, decoded and applied to a
 * real registry through srv_registry_request (register / heartbeat / unregister, client or
 * replication). Checks that every 200 answer is valid JSON and that the registry's own
 * views stay valid JSON too.
 *
 * Input layout: byte 0 selects the operation and flags, the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "gzip.h"
#include "api.h"
#include "server.h"
#include "server_fixture.h"

/* A fresh registry per input: state that outlives an input would make libFuzzer's leak
 * check run on every input (and a crash would depend on earlier inputs). */
static srv_server_t *setup(void)
{
    srv_server_t *srv = fixture_server_new();
    srv->cfg.registry_max_instances_per_request = 50;
    return srv;
}

static void teardown(srv_server_t *srv)
{
    fixture_server_free(srv);
}

static void must_be_json(const char *p, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(p, n, 0, &e);
    if (!j)
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    artemisi_buf_t inflated = ARTEMISI_BUF_INIT;
    if (sel & 0x80) {
        if (srv_gunzip(body, len, 1 << 16, &inflated) != 0) {
            artemisi_buf_free(&inflated);
            return 0;
        }
        body = inflated.data ? inflated.data : "";
        len = inflated.len;
    }
    srv_server_t *srv = setup();
    artemisi_buf_t out = ARTEMISI_BUF_INIT;
    int status = 0;
    /* Register first so heartbeat and unregister meet existing leases. */
    if (sel % 3 != 0) {
        srv_registry_request(srv, NULL, SRV_OP_REGISTER, 0, body, len, &out, &status);
        artemisi_buf_reset(&out);
    }
    srv_registry_request(srv, NULL, (srv_op_t)(sel % 3), (sel >> 2) & 1, body, len, &out, &status);
    if (out.len == 0)
        abort();
    must_be_json(out.data, out.len);
    const artemisi_buf_t *all = srv_registry_services_json(srv->registry);
    if (all)
        must_be_json(all->data, all->len);
    srv_registry_tick(srv->registry, INT64_MAX / 4, 0, 1, 100000); /* expire everything */
    if (srv_registry_lease_count(srv->registry) != 0)
        abort();
    artemisi_buf_free(&out);
    teardown(srv);
    artemisi_buf_free(&inflated);
    return 0;
}
