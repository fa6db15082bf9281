/*
 * Rows of a management table as text (mgmt_model.h): the one container the store fills and
 * the snapshot, the handlers and the log readers read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_model.h"

void srv_mg_rows_init(srv_mg_rows_t *r, size_t ncols)
{
    memset(r, 0, sizeof(*r));
    r->ncols = ncols;
}

void srv_mg_rows_free(srv_mg_rows_t *r)
{
    for (size_t i = 0; r->v && i < r->nrows * r->ncols; i++)
        free(r->v[i]);
    free(r->v);
    r->v = NULL;
    r->nrows = r->cap = 0;
}

int srv_mg_rows_add(srv_mg_rows_t *r, const char *const *vals)
{
    if (r->nrows == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        char **nv = realloc(r->v, ncap * r->ncols * sizeof(*nv));
        if (!nv)
            return -1;
        r->v = nv;
        r->cap = ncap;
    }
    char **row = r->v + r->nrows * r->ncols;
    for (size_t c = 0; c < r->ncols; c++) {
        row[c] = NULL;
        if (vals[c] && !(row[c] = strdup(vals[c]))) {
            for (size_t k = 0; k < c; k++)
                free(row[k]);
            return -1;
        }
    }
    r->nrows++;
    return 0;
}

int64_t srv_mg_int(const srv_mg_rows_t *r, size_t row, size_t col, int64_t dflt)
{
    const char *s = srv_mg_val(r, row, col);
    if (!s || !*s)
        return dflt;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return dflt;
    return (int64_t)v;
}
