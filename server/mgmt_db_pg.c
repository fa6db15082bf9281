/*
 * The PostgreSQL engine of the management store (mgmt_db_int.h), on libpq: one connection,
 * statements through PQexecParams with text parameters whose types the server infers, and
 * change notification through LISTEN/NOTIFY on the channel artemis_management.
 *
 * The target URI may hold a password: every error text goes through srv_mg_db_scrub with the
 * password (as written and as decoded) as secrets.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "mgmt_db_int.h"

#define CHANNEL "artemis_management"

typedef struct {
    srv_mg_db_t base; /* first: mgmt_db.c sees only this */
    PGconn *conn;
    char *secrets[3]; /* decoded password, raw userinfo password, raw ?password= value */
} pg_t;

static void pg_errmsg(pg_t *p, const char *msg, char *err, size_t errlen)
{
    srv_mg_db_scrub(err, errlen, msg && *msg ? msg : "unknown PostgreSQL error",
                    (const char *const *)p->secrets, 3);
}

/* strndup of [s, e), or NULL for an empty range. */
static char *span_dup(const char *s, const char *e)
{
    return e > s ? strndup(s, (size_t)(e - s)) : NULL;
}

/* The password in the URI, so that it can be hidden wherever a message repeats it (libpq
 * echoes a malformed token, e.g. a bad %-escape inside the password, verbatim). */
static int find_secrets(pg_t *p, const char *uri)
{
    PQconninfoOption *opts = PQconninfoParse(uri, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val &&
            !(p->secrets[0] = strdup(o->val))) {
            PQconninfoFree(opts);
            return -1;
        }
    PQconninfoFree(opts);
    const char *start = strstr(uri, "://");
    if (start) {
        start += 3;
        const char *end = start + strcspn(start, " \t\r\n"), *at = NULL;
        for (const char *q = start; q < end; q++)
            if (*q == '@')
                at = q;
        const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
        if (colon && !(p->secrets[1] = span_dup(colon + 1, at)) && at > colon + 1)
            return -1;
    }
    const char *pw = strstr(uri, "password=");
    if (pw) {
        pw += 9;
        p->secrets[2] = span_dup(pw, pw + strcspn(pw, "& \t\r\n"));
        if (!p->secrets[2] && strcspn(pw, "& \t\r\n"))
            return -1;
    }
    return 0;
}

static void free_secrets(pg_t *p)
{
    for (size_t i = 0; i < 3; i++) {
        if (p->secrets[i])
            memset(p->secrets[i], 0, strlen(p->secrets[i]));
        free(p->secrets[i]);
        p->secrets[i] = NULL;
    }
}

static int listen_channel(pg_t *p, char *err, size_t errlen)
{
    PGresult *r = PQexec(p->conn, "LISTEN " CHANNEL);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_errmsg(p, r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn), err, errlen);
    PQclear(r);
    return ok ? 0 : -1;
}

/* Run sql; the result on success (caller clears), NULL with err on failure. */
static PGresult *run(pg_t *p, const char *sql, size_t n, const char *const *params,
                     ExecStatusType want, char *err, size_t errlen)
{
    if (n > INT_MAX) {
        srv_mg_db_err(err, errlen, "too many parameters");
        return NULL;
    }
    PGresult *r = PQexecParams(p->conn, sql, (int)n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (r && (st == want || (want == PGRES_COMMAND_OK && st == PGRES_TUPLES_OK)))
        return r;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    p->base.conflict = state && !strcmp(state, "23505");
    if (r && st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR)
        srv_mg_db_err(err, errlen, "unexpected result %s", PQresStatus(st));
    else
        pg_errmsg(p, r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn), err, errlen);
    PQclear(r);
    return NULL;
}

static int pg_exec(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                   int64_t *affected, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)db;
    *affected = 0;
    PGresult *r = run(p, sql, n, params, PGRES_COMMAND_OK, err, errlen);
    if (!r)
        return -1;
    *affected = strtoll(PQcmdTuples(r), NULL, 10); /* "" for statements that count nothing */
    PQclear(r);
    return 0;
}

static int pg_query(srv_mg_db_t *db, const char *sql, size_t n, const char *const *params,
                    srv_mg_rows_t *out, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)db;
    PGresult *r = run(p, sql, n, params, PGRES_TUPLES_OK, err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    if ((size_t)PQnfields(r) != out->ncols) {
        srv_mg_db_err(err, errlen, "query has %d columns, expected %zu", PQnfields(r), out->ncols);
        rc = -1;
    }
    const char **vals = rc ? NULL : calloc(out->ncols, sizeof(*vals));
    if (!rc && !vals) {
        srv_mg_db_err(err, errlen, "out of memory");
        rc = -1;
    }
    for (int row = 0; !rc && row < PQntuples(r); row++) {
        for (size_t c = 0; c < out->ncols; c++)
            vals[c] = PQgetisnull(r, row, (int)c) ? NULL : PQgetvalue(r, row, (int)c);
        if (srv_mg_rows_add(out, vals) < 0) {
            srv_mg_db_err(err, errlen, "out of memory");
            rc = -1;
        }
    }
    free(vals);
    PQclear(r);
    return rc;
}

static int pg_ok(srv_mg_db_t *db)
{
    return PQstatus(((pg_t *)db)->conn) == CONNECTION_OK;
}

static int pg_reconnect(srv_mg_db_t *db, char *err, size_t errlen)
{
    pg_t *p = (pg_t *)db;
    PQreset(p->conn); /* the same parameters as the first connect */
    if (PQstatus(p->conn) != CONNECTION_OK) {
        pg_errmsg(p, PQerrorMessage(p->conn), err, errlen);
        return -1;
    }
    return listen_channel(p, err, errlen);
}

static int pg_notify(srv_mg_db_t *db)
{
    pg_t *p = (pg_t *)db;
    PGresult *r = run(p, "NOTIFY " CHANNEL, 0, NULL, PGRES_COMMAND_OK, NULL, 0);
    PQclear(r);
    return r ? 0 : -1;
}

/* Consume every queued notification; 1 if there was one. */
static int drain(pg_t *p)
{
    int got = 0;
    PGnotify *n;
    while ((n = PQnotifies(p->conn))) {
        /* Our own NOTIFY comes back too: the write that sent it has reloaded already, so only
         * other sessions' notifications count (one reload per write, not two). */
        if (n->be_pid != PQbackendPID(p->conn))
            got = 1;
        PQfreemem(n);
    }
    return got;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pg_wait(srv_mg_db_t *db, int wake_fd, int timeout_ms)
{
    pg_t *p = (pg_t *)db;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (PQstatus(p->conn) != CONNECTION_OK || PQsocket(p->conn) < 0)
            return -1;
        /* Notifications that arrived with the results of earlier statements are queued. */
        if (drain(p))
            return 1;
        int left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
        if (left < 0 && timeout_ms >= 0)
            left = 0;
        struct pollfd fds[2] = {{PQsocket(p->conn), POLLIN, 0}, {wake_fd, POLLIN, 0}};
        int r = poll(fds, 2, left); /* a negative wake_fd is ignored by poll(2) */
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (wake_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            return 2;
        if (fds[0].revents) {
            /* A lost server shows as readable: PQconsumeInput reads the EOF and says so. */
            if (!PQconsumeInput(p->conn) || PQstatus(p->conn) != CONNECTION_OK)
                return -1;
            if (drain(p))
                return 1;
        }
        if (r == 0 || (timeout_ms >= 0 && now_ms() >= deadline))
            return 0;
    }
}

static void pg_close(srv_mg_db_t *db)
{
    pg_t *p = (pg_t *)db;
    PQfinish(p->conn);
    free_secrets(p);
    free(p);
}

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const srv_mg_db_ops_t pg_ops = {
    .is_pg = 1,
    .id_col = "BIGSERIAL PRIMARY KEY",
    .int_type = "BIGINT",
    .begin_sql = "BEGIN",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    /* CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin: serialize nodes. */
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(1095914835)",
    .close = pg_close,
    .ok = pg_ok,
    .reconnect = pg_reconnect,
    .exec = pg_exec,
    .query = pg_query,
    .notify = pg_notify,
    .wait = pg_wait,
};

srv_mg_db_t *srv_mg_db_pg_open(const char *uri, char *err, size_t errlen)
{
    pg_t *p = calloc(1, sizeof(*p));
    if (!p) {
        srv_mg_db_err(err, errlen, "out of memory");
        return NULL;
    }
    p->base.ops = &pg_ops;
    if (find_secrets(p, uri) < 0) { /* unscrubbable errors are not worth a connection */
        srv_mg_db_err(err, errlen, "out of memory");
        free_secrets(p);
        free(p);
        return NULL;
    }
    /* Defaults first: the URI's own settings (expanded from dbname) override them. The
     * keepalives notice a peer that vanished without a FIN within about a minute. */
    const char *const keys[] = {"connect_timeout",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "tcp_user_timeout",
                                "fallback_application_name",
                                "client_encoding",
                                "dbname",
                                NULL};
    const char *const vals[] = {"3",    "1", "30", "10", "3", "30000", "artemis-server",
                                "UTF8", uri, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn) {
        srv_mg_db_err(err, errlen, "out of memory");
        free_secrets(p);
        free(p);
        return NULL;
    }
    /* libpq prints NOTICEs (CREATE ... IF NOT EXISTS skipping) to stderr: not for our log. */
    PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    if (PQstatus(p->conn) != CONNECTION_OK || listen_channel(p, err, errlen) < 0) {
        if (PQstatus(p->conn) != CONNECTION_OK)
            pg_errmsg(p, PQerrorMessage(p->conn), err, errlen);
        pg_close(&p->base);
        return NULL;
    }
    return &p->base;
}
