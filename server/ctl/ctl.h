/*
 * artemisctl: the operator's command line for artemis-server. It talks to the server's HTTP
 * API only (management, discovery, status, /health, /metrics) with blocking libcurl calls:
 * a command line tool runs one request at a time, so an event loop would only add code.
 * This header is what the subcommand files share: the global options, the HTTP helpers and
 * the output helpers. Exit statuses: CTL_OK, CTL_FAIL (the server said no or could not be
 * reached; one line on stderr says which), CTL_USAGE (bad command line).
 */
#ifndef ARTEMISCTL_CTL_H
#define ARTEMISCTL_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

typedef struct ctl {
    char **servers; /* base URLs without a trailing slash */
    size_t nservers;
    size_t cur;         /* the server that answered last: later calls start there */
    const char *region; /* NULL until given or asked of the server (ctl_locate) */
    const char *zone;
    const char *token;      /* the management operation's token field, not a credential */
    const char *auth_token; /* access token (--auth-token, $ARTEMIS_TOKEN); NULL = none */
    char *auth_header;      /* "Authorization: Bearer TOKEN" on every request; NULL = none */
    const char *ca_file;    /* CA bundle for https:// servers; NULL = the system's */
    int json;
    void *curl;
    char region_buf[256];
    char zone_buf[256];
} ctl_t;

/* http.c ------------------------------------------------------------------------------- */
/* Split a comma-separated URL list into c->servers. 0, or -1 with a message (usage). */
int ctl_servers_set(ctl_t *c, const char *list);
void ctl_free(ctl_t *c);
/* Build c->auth_header from token (NULL or "" = none). 0, or -1 with a message (a token with
 * spaces or line breaks is a usage error) or out of memory. */
int ctl_auth_set(ctl_t *c, const char *token);
/* POST body (not consumed) as JSON to path and parse the JSON answer into *out. A transport
 * failure, an HTTP status >= 400 or a non-JSON answer prints one line and returns CTL_FAIL. */
int ctl_post(ctl_t *c, const char *path, json_t *body, json_t **out);
/* GET path. ok_status: an extra HTTP status accepted with its body (e.g. 503 for /health),
 * 0 for none. *out is the raw body (NUL-terminated, malloc'd), *status the HTTP status. */
int ctl_get_raw(ctl_t *c, const char *path, long ok_status, char **out, long *status);
int ctl_get(ctl_t *c, const char *path, long ok_status, json_t **out);
/* The current server's base URL (for messages and the WebSocket). */
const char *ctl_server(const ctl_t *c);
/* Fill region and zone not given on the command line from /api/status/node.json (the peer
 * probe, which is never rate-limited; "default" when it does not say). CTL_FAIL (message
 * printed) when no server can be reached. */
int ctl_locate(ctl_t *c);
/* CTL_OK when resp.responseStatus.status is "success"; else prints
 * "artemisctl: server said no: <what>: <errorCode>: <message>" and returns CTL_FAIL. */
int ctl_check(const json_t *resp, const char *what);
/* POST and ctl_check in one call; body is consumed (decref'd) whatever happens. */
int ctl_call(ctl_t *c, const char *path, json_t *body, const char *what, json_t **out);

/* out.c -------------------------------------------------------------------------------- */
typedef struct ctl_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* nrows * ncols strings, row 0 the header */
} ctl_table_t;

int ctl_table_init(ctl_table_t *t, size_t ncols, const char *const *header);
/* Append one row of ncols strings (NULL prints "-"); copies them. 0 or -1 on OOM. */
int ctl_table_add(ctl_table_t *t, const char *const *row);
/* Print with aligned columns (the last one unpadded) and free the table. */
void ctl_table_print(ctl_table_t *t);
void ctl_table_free(ctl_table_t *t);
/* End a table command: print the table (rc CTL_OK, not --json) or free it. */
void ctl_table_done(const ctl_t *c, ctl_table_t *t, int rc);
/* One compact JSON object per line with sorted keys, flushed (for pipes and watch). */
void ctl_json_line(const json_t *obj);
/* "3m12s" style age for a duration in ms; writes into buf. */
const char *ctl_fmt_age(int64_t ms, char *buf, size_t n);
/* Local "YYYY-MM-DD HH:MM:SS" for epoch ms. */
const char *ctl_fmt_time(int64_t epoch_ms, char *buf, size_t n);
int64_t ctl_now_ms(void);
/* Helpers over jansson: a string member or NULL; an integer member (numbers and numeric
 * strings, as metadata carries them) or def. */
const char *ctl_str(const json_t *o, const char *key);
int64_t ctl_int(const json_t *o, const char *key, int64_t def);
/* Report a failed allocation; returns CTL_FAIL. */
int ctl_oom(void);

/* args.c ------------------------------------------------------------------------------- */
/* Usage error: one line "artemisctl CMD: <msg>" on stderr; returns CTL_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse a non-negative integer in [lo, hi]; 0 or -1. */
int ctl_parse_int(const char *s, long lo, long hi, long *out);

/* Subcommands: argv[0] is the subcommand name. Each returns an exit status. */
int cmd_services(ctl_t *c, int argc, char **argv);
int cmd_service(ctl_t *c, int argc, char **argv);
int cmd_register(ctl_t *c, int argc, char **argv);
int cmd_unregister(ctl_t *c, int argc, char **argv);
int cmd_watch(ctl_t *c, int argc, char **argv);
int cmd_pull(ctl_t *c, int argc, char **argv);
int cmd_groups(ctl_t *c, int argc, char **argv);
int cmd_route_rules(ctl_t *c, int argc, char **argv);
int cmd_weights(ctl_t *c, int argc, char **argv);
int cmd_release(ctl_t *c, int argc, char **argv);
int cmd_canary(ctl_t *c, int argc, char **argv);
int cmd_logs(ctl_t *c, int argc, char **argv);
int cmd_cluster(ctl_t *c, int argc, char **argv);
int cmd_health(ctl_t *c, int argc, char **argv);

#endif
