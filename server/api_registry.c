/*
 * Registry endpoints (protocol.md §2.1, §2.4): register / heartbeat / unregister on lists of
 * instances, for clients and for peers (replication), over HTTP and the WebSocket
 * heartbeat. One function implements the processing order of protocol.md §2.1.2 for all of them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
#include "codec.h"
#include "log.h"
#include "api.h"
#include "reg_reader.h"
#include "server.h"

static const char *const op_identity[] = {"register", "heartbeat", "unregister"};

static void append_status_response(artemisi_buf_t *out, const char *code, const char *msg,
                                   const char *status)
{
    artemisi_buf_appends(out, "{\"failedInstances\":null,\"responseStatus\":");
    artemisi_encode_status(out, code, msg, status);
    artemisi_buf_appendc(out, '}');
}

static void append_failed(artemisi_buf_t *failed, const artemisi_instance_t *inst, const char *code,
                          const char *msg)
{
    artemisi_buf_t desc = ARTEMISI_BUF_INIT;
    artemisi_instance_describe(inst, &desc);
    artemisi_buf_appends(&desc, ": ");
    artemisi_buf_appends(&desc, msg);
    artemisi_buf_appendc(failed, failed->len ? ',' : '[');
    artemisi_buf_appends(failed, "{\"errorCode\":");
    artemisi_json_str(failed, code);
    artemisi_buf_appends(failed, ",\"errorMessage\":");
    artemisi_json_str(failed, desc.data);
    if (artemisi_buf_failed(&desc))
        failed->failed = 1; /* the message lost bytes: so does the answer */
    artemisi_buf_appends(failed, ",\"instance\":");
    artemisi_encode_instance(failed, inst);
    artemisi_buf_appendc(failed, '}');
    artemisi_buf_free(&desc);
}

static int same_ci(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

static void append_bad_request(artemisi_buf_t *out, const char *why)
{
    artemisi_buf_appends(out, "{\"error\":\"Bad Request\",\"status\":400,\"message\":");
    artemisi_json_str(out, why);
    artemisi_buf_appendc(out, '}');
}

/* Step 1 of protocol.md §2.1.2. Client writes go through per-client fairness (clients.h) on top of
 * the shared limiter; a peer's replicated writes only through the replication limiter. */
static int admitted(srv_server_t *srv, srv_client_t *client, srv_op_t op, int replication)
{
    int64_t now = srv_now_mono();
    if (replication)
        return srv_ratelimit_acquire(srv->rl[SRV_RL_REPLICATION], op_identity[op], 1, now);
    return srv_clients_admit(srv->clients, client, srv->rl[SRV_RL_REGISTRY], op_identity[op],
                             now) == SRV_ADMIT_OK;
}

/* Step 2: the instance list. Returns 0 with the list decoded (nulls skipped), or -1 with the
 * answer written. */
static int decode_list(srv_server_t *srv, json_t *root, artemisi_instance_list_t *list,
                       artemisi_buf_t *out, int *http_status)
{
    char err[256];
    json_t *arr = artemisi_json_get(root, "instances");
    int rc = artemisi_decode_instances(arr, (size_t)srv->cfg.registry_max_instances_per_request,
                                       (size_t)srv->cfg.registry_max_string_bytes, list, err,
                                       sizeof(err));
    if (rc == ARTEMISI_DECODE_TOO_MANY || rc == ARTEMISI_DECODE_TOO_LONG) {
        append_status_response(out, "bad-request", err, "fail");
        return -1;
    }
    if (rc == ARTEMISI_DECODE_NOMEM) {
        append_status_response(out, "internal-service-error", "Exception: out of memory", "fail");
        return -1;
    }
    if (rc != ARTEMISI_DECODE_OK) {
        *http_status = 400;
        append_bad_request(out, err);
        return -1;
    }
    /* Null entries are skipped (Java), so a list of nulls is not empty: it passes here and
     * succeeds with nothing done. */
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        append_status_response(out, "bad-request", "request.instances is null or empty.", "fail");
        return -1;
    }
    return 0;
}

/* Step 4a: an instance this node must refuse (region, zone, validation). Returns 1 with the
 * failure appended, else 0. */
static int refused(srv_server_t *srv, const artemisi_instance_t *d, int replication,
                   artemisi_buf_t *failed)
{
    char msg[512];
    const char *region = ARTEMISI_INST(d, REGION_ID), *zone = ARTEMISI_INST(d, ZONE_ID);
    if (!same_ci(region, srv->cfg.region_id)) {
        snprintf(msg, sizeof(msg),
                 "regionId is not the same as the registry node. regionId: %s, registry "
                 "node.regionId: %s",
                 region ? region : "null", srv->cfg.region_id);
        append_failed(failed, d, "no-permission", msg);
        return 1;
    }
    if (!replication && !srv->cfg.registry_allow_from_other_zone &&
        !same_ci(zone, srv->cfg.zone_id)) {
        snprintf(msg, sizeof(msg),
                 "zoneId is not the same as the registry node. zoneId: %s, registry "
                 "node.zoneId: %s",
                 zone ? zone : "null", srv->cfg.zone_id);
        append_failed(failed, d, "no-permission", msg);
        return 1;
    }
    const char *bad = srv_instance_check(d);
    if (bad) {
        snprintf(msg, sizeof(msg), "Exception: %s", bad);
        append_failed(failed, d, "internal-service-error", msg);
        return 1;
    }
    return 0;
}

/* The clocks of one request, read once: a batch of 100 instances read them 300 times (8 %
 * of the batched-heartbeat rate in make bench-quick). */
typedef struct op_time {
    int64_t lease, wall, mono;
    int revive; /* self-preservation keeps expired leases: their heartbeats renew them */
} op_time_t;

/* Step 4b: one operation on one instance. Returns 0, 1 (no lease) or -1 (out of memory). */
static int apply(srv_server_t *srv, srv_op_t op, int replication, const artemisi_instance_t *d,
                 const op_time_t *t)
{
    int64_t now = t->lease, wall = t->wall;
    int r = 0;
    switch (op) {
    case SRV_OP_REGISTER:
        r = srv_registry_register(srv->registry, d, now, wall);
        break;
    case SRV_OP_HEARTBEAT:
        r = srv_registry_heartbeat(srv->registry, d, now, wall, t->revive);
        if (r == 0)
            srv_selfpres_renewal(&srv->selfpres, t->mono);
        else if (r == 1 && replication) {
            /* protocol.md §2.4: a peer's heartbeat heals a lost register (not an OOM: -1) */
            r = srv_registry_register(srv->registry, d, now, wall) ? -1 : 0;
        }
        break;
    case SRV_OP_UNREGISTER:
        r = srv_registry_unregister(srv->registry, d, wall);
        break;
    }
    if (r == 0 && !replication) /* a peer's write is never replicated again */
        srv_cluster_replicate(srv, op, d);
    return r;
}

/* Step 4: every instance; returns how many failed (each appended to `failed`). */
static size_t apply_all(srv_server_t *srv, srv_op_t op, int replication,
                        const artemisi_instance_list_t *list, artemisi_buf_t *failed)
{
    size_t nfailed = 0;
    /* While self-preservation keeps expired leases, their heartbeats renew them: answering
     * data-not-found would make every protected client re-register at once. */
    op_time_t t = {srv_lease_now(srv), srv_now_wall(), srv_now_mono(),
                   !srv_selfpres_allow_expiry(&srv->selfpres)};
    for (size_t i = 0; i < list->n; i++) {
        const artemisi_instance_t *d = &list->items[i];
        if (refused(srv, d, replication, failed)) {
            nfailed++;
            continue;
        }
        int r = apply(srv, op, replication, d, &t);
        if (r == 1)
            append_failed(failed, d, "data-not-found",
                          "Instance is not exising! Need re-register.");
        else if (r < 0)
            append_failed(failed, d, "internal-service-error", "Exception: out of memory");
        nfailed += r != 0;
    }
    return nfailed;
}

/* Step 5: success, or partial_fail with the failed instances (even if all failed). */
static void append_result(artemisi_buf_t *out, size_t nfailed, const artemisi_buf_t *failed)
{
    if (nfailed == 0) {
        append_status_response(out, "success", "", "success");
    } else if (artemisi_buf_failed(failed)) {
        /* The failure list lost bytes: the caller turns the lost answer into an error. */
        out->failed = 1;
    } else {
        artemisi_buf_appends(out, "{\"failedInstances\":");
        artemisi_buf_append(out, failed->data, failed->len);
        artemisi_buf_appends(out, "],\"responseStatus\":");
        artemisi_encode_status(out, "partial_fail", "", "partial_fail");
        artemisi_buf_appendc(out, '}');
    }
}

/* Step 2 for a document the fast reader took: the same "null or empty" answer as decode_list
 * (every other decode error made the reader bail, so the jansson path gives it). */
static int fast_list(const srv_reg_doc_t *doc, artemisi_buf_t *out)
{
    if (doc->empty) {
        append_status_response(out, "bad-request", "request.instances is null or empty.", "fail");
        return -1;
    }
    return 0;
}

void srv_registry_request(srv_server_t *srv, srv_client_t *client, srv_op_t op, int replication,
                          const char *body, size_t len, artemisi_buf_t *out, int *http_status)
{
    char err[256];
    artemisi_instance_list_t list = {0};
    artemisi_buf_t failed = ARTEMISI_BUF_INIT;
    json_t *root = NULL;
    *http_status = 200;
    /* The fast reader takes what it decodes exactly as the jansson path would (docs/design.md,
     * "The registry request fast path"); anything else, errors included, goes through jansson
     * unchanged, so every answer stays byte-identical. */
    srv_reg_doc_t doc;
    char scratch[SRV_REG_READER_SCRATCH]; /* small requests allocate nothing */
    int fast = srv_reg_read(body, len, (size_t)srv->cfg.registry_max_instances_per_request,
                            (size_t)srv->cfg.registry_max_string_bytes, scratch, sizeof(scratch),
                            &doc) == SRV_REG_READ_OK;
    if (!fast) {
        root = artemisi_json_parse(body, len, err, sizeof(err));
        if (!root || !json_is_object(root)) {
            *http_status = 400;
            append_bad_request(out, root ? "request body must be a JSON object" : err);
            goto done;
        }
    }
    /* 1. rate limiters (protocol.md §3.4): one permit per request. */
    if (!admitted(srv, client, op, replication)) {
        srv->metrics.rate_limited++;
        append_status_response(out, "rate-limited", "Request is rate limited.", "fail");
        goto done;
    }
    /* 2. instances null or empty. */
    if (fast ? fast_list(&doc, out) != 0 : decode_list(srv, root, &list, out, http_status) != 0)
        goto done;
    /* 3. node status (protocol.md F8): a starting node (bootstrap) refuses client writes. */
    if (!replication && !srv_cluster_can_registry(srv)) {
        artemisi_buf_t st = ARTEMISI_BUF_INIT;
        artemisi_buf_appends(&st, "Serivce registry is not in up state. Current status: ");
        srv_node_status_text(srv, &st);
        append_status_response(out, "service-unavailable", st.data ? st.data : "", "fail");
        artemisi_buf_free(&st);
        goto done;
    }
    /* 4 and 5. */
    append_result(out, apply_all(srv, op, replication, fast ? &doc.list : &list, &failed), &failed);
done:
    artemisi_buf_free(&failed);
    artemisi_instance_list_free(&list);
    srv_reg_doc_free(&doc);
    json_decref(root);
}

static void run(srv_req_t *req, srv_op_t op, int replication)
{
    srv_registry_request(req->srv, req->client, op, replication, req->body, req->body_len, req->out,
                         &req->status);
}

void srv_api_register(srv_req_t *req)
{
    run(req, SRV_OP_REGISTER, 0);
}

void srv_api_heartbeat(srv_req_t *req)
{
    run(req, SRV_OP_HEARTBEAT, 0);
}

void srv_api_unregister(srv_req_t *req)
{
    run(req, SRV_OP_UNREGISTER, 0);
}

void srv_api_repl_register(srv_req_t *req)
{
    run(req, SRV_OP_REGISTER, 1);
}

void srv_api_repl_heartbeat(srv_req_t *req)
{
    run(req, SRV_OP_HEARTBEAT, 1);
}

void srv_api_repl_unregister(srv_req_t *req)
{
    run(req, SRV_OP_UNREGISTER, 1);
}
