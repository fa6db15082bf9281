/*
 * The table-driven management paths (api_mgmt.h): list upserts, deletes by id and filtered
 * reads, shared by groups, route rules, members and logical instances (protocol.md §7.6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_mgmt.h"
#include "codec.h"

void srv_mg_open_payload(artemisi_buf_t *out, const char *field)
{
    if (strcmp(field, "responseStatus") < 0) {
        artemisi_buf_appendf(out, "{\"%s\":", field);
    } else {
        artemisi_buf_appendc(out, '{');
        srv_mg_status_ok(out);
        artemisi_buf_appendf(out, ",\"%s\":", field);
    }
}

void srv_mg_close_payload(artemisi_buf_t *out, const char *field)
{
    if (strcmp(field, "responseStatus") < 0) {
        artemisi_buf_appendc(out, ',');
        srv_mg_status_ok(out);
    }
    artemisi_buf_appendc(out, '}');
}

int srv_mg_need_group_context(srv_mg_call_t *c, const char *fail_msg)
{
    if (artemisi_blank(c->operation) || artemisi_blank(c->operator_id) ||
        artemisi_blank(c->token) || artemisi_blank(c->extensions)) {
        srv_mg_fail(c, "internal-service-error", fail_msg);
        return -1;
    }
    return 0;
}

static int col_index(srv_mg_table_id_t tid, const char *name, size_t len)
{
    const srv_mg_table_t *t = srv_mg_table(tid);
    for (size_t i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i].name) == len && strncmp(t->cols[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

void srv_mg_copy_by_name(srv_mg_table_id_t from, const char *const *fvals, srv_mg_table_id_t to,
                         const char **tvals)
{
    const srv_mg_table_t *t = srv_mg_table(to);
    for (size_t i = SRV_MGC_FIRST; i < t->ncols; i++) {
        int k = col_index(from, t->cols[i].name, strlen(t->cols[i].name));
        if (k >= SRV_MGC_FIRST && !tvals[i])
            tvals[i] = fvals[k];
    }
}

/* Bits of the comma-separated column names. */
static uint64_t col_mask(srv_mg_table_id_t tid, const char *names)
{
    uint64_t m = 0;
    while (names && *names) {
        const char *e = strchr(names, ',');
        size_t len = e ? (size_t)(e - names) : strlen(names);
        int k = col_index(tid, names, len);
        if (k >= 0)
            m |= 1ull << k;
        names += len + (e ? 1 : 0);
    }
    return m;
}

/* The JSON field of a column in an entity, for "x is null or empty". */
static const srv_mg_field_t *field_of(const srv_mg_entity_t *e, const char *json, size_t len)
{
    for (size_t i = 0; i < e->n; i++)
        if (strlen(e->f[i].json) == len && strncmp(e->f[i].json, json, len) == 0)
            return &e->f[i];
    return NULL;
}

void srv_mg_upsert_list(srv_req_t *req, const srv_mg_batch_t *b)
{
    srv_mg_call_t c;
    json_t *list = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, b->fail_msg) ||
        srv_mg_list(&c, c.root, b->list, &list) != 0) {
        srv_mg_end(&c);
        return;
    }
    srv_mg_table_id_t tid = b->e->table;
    int deleted = col_index(tid, "deleted", 7);
    uint64_t set = col_mask(tid, b->set) | (deleted >= 0 ? 1ull << deleted : 0);
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    char what[96];
    for (size_t i = 0; i < json_array_size(list) && !rc && !c.answered; i++) {
        const char *vals[32], *lvals[32] = {0};
        snprintf(what, sizeof(what), "request.%s[%zu]", b->list, i);
        if (srv_mg_decode(&c, json_array_get(list, i), b->e, what, vals) != 0)
            break;
        for (const char *p = b->required; p && *p && !c.answered;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            const srv_mg_field_t *f = field_of(b->e, p, len);
            if (f && f->col >= 0 && artemisi_blank(vals[f->col]))
                srv_mg_fail(&c, "internal-service-error", b->fail_msg);
            p += len + (e ? 1 : 0);
        }
        if (c.answered)
            break;
        if (deleted >= 0)
            vals[deleted] = "0";
        /* A field the request leaves out keeps its value: an update names what changes. */
        uint64_t row_set = set;
        for (size_t k = 0; k < srv_mg_table(tid)->ncols; k++)
            if ((row_set & (1ull << k)) && !vals[k])
                row_set &= ~(1ull << k);
        srv_mg_copy_by_name(tid, vals, b->log, lvals);
        rc = srv_mg_sql_upsert(&c, tx, tid, vals, row_set) || srv_mg_sql_log(&c, tx, b->log, lvals);
    }
    if (c.answered || rc) {
        srv_mg_tx_free(tx);
        if (rc && !c.answered)
            req->out->failed = 1;
    } else {
        srv_mg_commit(&c, tx, b->fail_msg);
    }
    srv_mg_end(&c);
}

void srv_mg_delete_ids(srv_req_t *req, const char *list_name, srv_mg_table_id_t tid,
                       srv_mg_table_id_t log, const char *id_as, int soft, const char *fail_msg)
{
    srv_mg_call_t c;
    json_t *list = NULL;
    if (srv_mg_begin(&c, req, "", "", 1) != 0 || srv_mg_need_group_context(&c, fail_msg) ||
        srv_mg_list(&c, c.root, list_name, &list) != 0) {
        srv_mg_end(&c);
        return;
    }
    const srv_mg_table_t *t = srv_mg_table(tid);
    const srv_mg_snap_t *snap = srv_mgmt_snap(req->srv);
    const srv_mg_rows_t *rows = &snap->tab[tid];
    char sql[256];
    if (soft)
        snprintf(sql, sizeof(sql), "UPDATE %s SET deleted = 1, update_time = $1 WHERE id = $2",
                 t->name);
    else
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", t->name);
    srv_mg_tx_t *tx = srv_mg_tx_new();
    int rc = tx ? 0 : -1;
    int id_col = id_as ? col_index(log, id_as, strlen(id_as)) : -1;
    for (size_t i = 0; i < json_array_size(list) && !rc; i++) {
        int64_t id;
        if (artemisi_json_int(json_array_get(list, i), INT64_MIN, INT64_MAX, &id) != 0) {
            char err[128];
            snprintf(err, sizeof(err), "request.%s[%zu] must be an integer", list_name, i);
            srv_req_bad_request(req, err);
            c.answered = 1;
            break;
        }
        char ids[24];
        snprintf(ids, sizeof(ids), "%lld", (long long)id);
        const char *params[] = {c.now, ids};
        rc = soft ? srv_mg_tx_add(tx, 0, sql, 2, params) : srv_mg_tx_add(tx, 0, sql, 1, params + 1);
        /* The audit row describes the row as it was. */
        const char *lvals[32] = {0};
        for (size_t r = 0; r < rows->nrows; r++) {
            if (srv_mg_int(rows, r, SRV_MGC_ID, -1) != id)
                continue;
            srv_mg_copy_by_name(tid, (const char *const *)&rows->v[r * rows->ncols], log, lvals);
            break;
        }
        if (id_col >= 0)
            lvals[id_col] = ids;
        if (!rc)
            rc = srv_mg_sql_log(&c, tx, log, lvals);
    }
    if (c.answered || rc) {
        srv_mg_tx_free(tx);
        if (rc && !c.answered)
            req->out->failed = 1;
    } else {
        srv_mg_commit(&c, tx, fail_msg);
    }
    srv_mg_end(&c);
}

void srv_mg_get_filtered(srv_req_t *req, const char *field, const srv_mg_entity_t *e,
                         const srv_mg_filter_t *filters, size_t nf)
{
    srv_mg_call_t c;
    char nulls[64];
    snprintf(nulls, sizeof(nulls), "\"%s\":null", field);
    int before = strcmp(field, "responseStatus") < 0;
    if (srv_mg_begin(&c, req, before ? nulls : "", before ? "" : nulls, 0) != 0) {
        srv_mg_end(&c);
        return;
    }
    const char *want[8] = {0};
    for (size_t i = 0; i < nf && i < 8; i++)
        if (filters[i].json && srv_mg_str(&c, c.root, filters[i].json, &want[i]) != 0) {
            srv_mg_end(&c);
            return;
        }
    const srv_mg_snap_t *s = srv_mgmt_snap(req->srv);
    const srv_mg_rows_t *r = &s->tab[e->table];
    const srv_mg_table_t *t = srv_mg_table(e->table);
    int deleted = col_index(e->table, "deleted", 7);
    artemisi_buf_t *out = req->out;
    srv_mg_open_payload(out, field);
    artemisi_buf_appendc(out, '[');
    size_t n = 0;
    for (size_t row = 0; row < r->nrows; row++) {
        if (deleted >= 0 && srv_mg_int(r, row, (size_t)deleted, 0) != 0)
            continue;
        int pass = 1;
        for (size_t i = 0; i < nf && i < 8 && pass; i++) {
            if (!filters[i].json || artemisi_blank(want[i]))
                continue;
            const char *v = srv_mg_val(r, row, (size_t)filters[i].col);
            pass = v && (t->cols[filters[i].col].type == SRV_MG_TEXT
                             ? strcasecmp(v, want[i]) == 0
                             : srv_mg_int(r, row, (size_t)filters[i].col, INT64_MIN) ==
                                   strtoll(want[i], NULL, 10));
        }
        if (!pass)
            continue;
        if (n++)
            artemisi_buf_appendc(out, ',');
        srv_mg_encode(out, s, e, row);
    }
    artemisi_buf_appendc(out, ']');
    srv_mg_close_payload(out, field);
    srv_mg_end(&c);
}
