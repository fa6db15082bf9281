/*
 * Table descriptors generated from mgmt_schema.h. The JSON names (camelCase) and the
 * alphabetical output order are written out by the preprocessor and sorted at compile time is
 * not possible in C, so the order is computed once, on first use, under a pthread_once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_schema.h"

#define SRV_MG_COMMON_COLS                                                                         \
    {"id", "id", SRV_MG_INT}, {"create_time", "createTime", SRV_MG_INT},                           \
        {"update_time", "updateTime", SRV_MG_INT},
#define SRV_MG_COL_ROW(id, name, type) {name, NULL, type},

#define SRV_MG_COL_ARRAY(id, name, cols, cached, unique)                                           \
    static srv_mg_col_t cols_##id[] = {SRV_MG_COMMON_COLS cols(SRV_MG_COL_ROW)};                   \
    static size_t order_##id[sizeof(cols_##id) / sizeof(cols_##id[0])];
SRV_MG_TABLES(SRV_MG_COL_ARRAY)
#undef SRV_MG_COL_ARRAY

static srv_mg_table_t tables[] = {
#define SRV_MG_TABLE_ROW(id, name, cols, cached, unique)                                           \
    {name, cols_##id, sizeof(cols_##id) / sizeof(cols_##id[0]), cached, unique, order_##id},
    SRV_MG_TABLES(SRV_MG_TABLE_ROW)
#undef SRV_MG_TABLE_ROW
};

_Static_assert(sizeof(tables) / sizeof(tables[0]) == SRV_MG_TABLE_COUNT, "one row per table");

/* "health_check_url" -> "healthCheckUrl" into static storage owned by the table. */
static char *camel(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        abort(); /* once, at start-up, a few hundred bytes */
    for (const char *p = sql; *p; p++) {
        if (*p == '_' && p[1]) {
            p++;
            *o++ = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

static const srv_mg_col_t *sort_cols;
static int cmp_json(const void *a, const void *b)
{
    return strcmp(sort_cols[*(const size_t *)a].json, sort_cols[*(const size_t *)b].json);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init_tables(void)
{
    for (size_t t = 0; t < SRV_MG_TABLE_COUNT; t++) {
        srv_mg_col_t *cols = (srv_mg_col_t *)tables[t].cols;
        size_t *order = (size_t *)tables[t].json_order;
        for (size_t c = 0; c < tables[t].ncols; c++) {
            if (!cols[c].json)
                cols[c].json = camel(cols[c].name);
            order[c] = c;
        }
        sort_cols = cols;
        qsort(order, tables[t].ncols, sizeof(*order), cmp_json);
    }
}

const srv_mg_table_t *srv_mg_table(srv_mg_table_id_t t)
{
    pthread_once(&once, init_tables);
    return &tables[t];
}
