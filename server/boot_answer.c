/*
 * The bootstrap copy in slices (boot_answer.h).
 */
#include <stdlib.h>
#include <string.h>

#include "boot_answer.h"
#include "codec.h"

struct srv_boot_answer {
    srv_registry_t *reg;
    char **ids; /* the services when the answer began */
    size_t n_ids, next_id, written;
    /* the service being written: its instances, one reference each */
    artemisi_instance_t **insts;
    size_t n_insts, pos;
    int open; /* its `{"instances":[` is written */
};

srv_boot_answer_t *srv_boot_answer_new(srv_registry_t *r)
{
    srv_boot_answer_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->reg = r;
    srv_registry_info_t info;
    srv_registry_info(r, &info);
    if (info.services && !(a->ids = calloc(info.services, sizeof(*a->ids)))) {
        free(a);
        return NULL;
    }
    size_t it = 0;
    srv_service_t *s;
    while (a->n_ids < info.services && (s = srv_registry_next_service(r, &it))) {
        if (!(a->ids[a->n_ids] = strdup(s->id))) {
            srv_boot_answer_free(a);
            return NULL;
        }
        a->n_ids++;
    }
    return a;
}

static void drop_service(srv_boot_answer_t *a)
{
    for (size_t i = a->pos; i < a->n_insts; i++)
        artemisi_instance_unref(a->insts[i]);
    free(a->insts);
    a->insts = NULL;
    a->n_insts = a->pos = 0;
    a->open = 0;
}

/* Take the instances of the next service that still exists. 1 when one is taken, 0 at the
 * end, -1 on OOM. */
static int take_service(srv_boot_answer_t *a)
{
    while (a->next_id < a->n_ids) {
        srv_service_t *s = srv_registry_service(a->reg, a->ids[a->next_id]);
        if (!s) { /* removed since the answer began: the peer hears of it by replication */
            free(a->ids[a->next_id]);
            a->ids[a->next_id++] = NULL;
            continue;
        }
        uint32_t n = srv_service_size(s);
        if (n && !(a->insts = malloc(n * sizeof(*a->insts))))
            return -1;
        for (uint32_t i = 0; i < n; i++)
            a->insts[i] = artemisi_instance_ref(srv_lease_inst(srv_service_lease(s, i)));
        a->n_insts = n;
        a->pos = 0;
        return 1;
    }
    return 0;
}

int srv_boot_answer_next(srv_boot_answer_t *a, artemisi_buf_t *out, size_t slice_bytes)
{
    size_t start = out->len;
    int rc = 0;
    while (out->len - start < slice_bytes) {
        if (!a->insts && !a->open) {
            int t = take_service(a);
            if (t < 0) {
                out->failed = 1;
                return -1;
            }
            if (t == 0) {
                if (artemisi_buf_appends(out, "]}") != 0)
                    return -1;
                return 0;
            }
            rc |=
                artemisi_buf_appends(out, a->written++ ? ",{\"instances\":[" : "{\"instances\":[");
            a->open = 1;
        }
        while (a->pos < a->n_insts && out->len - start < slice_bytes) {
            if (a->pos)
                rc |= artemisi_buf_appendc(out, ',');
            rc |= artemisi_encode_instance(out, a->insts[a->pos]);
            artemisi_instance_unref(a->insts[a->pos++]);
        }
        if (a->pos == a->n_insts) {
            /* Every instance, pulled-out ones included: management state is not replicated,
             * the peer applies its own. */
            rc |= artemisi_buf_appends(out, "],\"logicInstances\":null,\"metadata\":null,"
                                            "\"routeRules\":null,\"serviceId\":");
            rc |= artemisi_json_str(out, a->ids[a->next_id]);
            rc |= artemisi_buf_appendc(out, '}');
            free(a->ids[a->next_id]);
            a->ids[a->next_id++] = NULL;
            drop_service(a);
        }
        if (rc) {
            out->failed = 1;
            return -1;
        }
    }
    return 1;
}

void srv_boot_answer_free(srv_boot_answer_t *a)
{
    if (!a)
        return;
    drop_service(a);
    for (size_t i = a->next_id; i < a->n_ids; i++)
        free(a->ids[i]);
    free(a->ids);
    free(a);
}
