/*
 * ceiling: the smallest HTTP server shaped like artemis-server, for the benchmark's ceiling row.
 *
 * One thread, one libevent loop, evhttp. Every POST route the benchmark uses parses its JSON
 * body with jansson (as the registry does) and answers a fixed response of the same shape and
 * size as the real one; no registry work at all. What `make bench` gets from it is "what this
 * design (libevent + jansson, one core) could do if the registry cost nothing".
 *
 *   POST /api/registry/register.json | heartbeat.json | unregister.json -> fixed success answer
 *   POST /api/discovery/lookup.json   -> a fixed service of --lookup-instances instances
 *   POST /api/discovery/services-delta.json -> fixed success answer with an empty delta
 *   GET  /api/discovery/service.json, /health -> the same fixed bodies without parsing
 *
 * Usage: ceiling --port P [--lookup-instances N=100]. Stops on SIGTERM/SIGINT.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUCCESS "{\"errorCode\":\"success\",\"message\":\"\",\"status\":\"success\"}"

static const char k_registry_answer[] = "{\"failedInstances\":null,\"responseStatus\":" SUCCESS "}";
static const char k_delta_answer[] = "{\"delta\":{},\"responseStatus\":" SUCCESS ",\"version\":1}";
static char *g_lookup_answer;
static size_t g_lookup_len;

/* Same instance shape as bench/loadgen.c's instance i of service 0. */
static char *make_lookup(int n)
{
    size_t cap = (size_t)n * 640 + 512, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    len += (size_t)snprintf(b + len, cap - len,
                            "{\"responseStatus\":" SUCCESS ",\"services\":[{\"instances\":[");
    for (int i = 0; i < n; i++) {
        long k = (long)i * 100;
        unsigned a = (unsigned)((k >> 16) & 255), c = (unsigned)((k >> 8) & 255),
                 d = (unsigned)(k & 255);
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"groupId\":null,\"healthCheckUrl\":\"http://10.%u.%u.%u:8080/health\","
            "\"instanceId\":\"10.%u.%u.%u:8080\",\"ip\":\"10.%u.%u.%u\","
            "\"machineName\":\"host-%ld\",\"metadata\":{\"env\":\"bench\"},"
            "\"port\":8080,\"protocol\":\"http\",\"regionId\":\"sha\","
            "\"serviceId\":\"bench.service.0\",\"status\":\"up\","
            "\"url\":\"http://10.%u.%u.%u:8080/bench\",\"zoneId\":\"sha-z1\"}",
            i ? "," : "", a, c, d, a, c, d, a, c, d, k, a, c, d);
    }
    len += (size_t)snprintf(b + len, cap - len,
                            "],\"logicInstances\":[],\"metadata\":null,\"routeRules\":[],"
                            "\"serviceId\":\"bench.service.0\"}]}");
    g_lookup_len = len;
    return b;
}

static void reply(struct evhttp_request *req, int code, const char *body, size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json;charset=UTF-8");
    evbuffer_add_reference(out, body, len, NULL, NULL);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", NULL);
}

/* Parse the body like the registry would; 400 when it is not a JSON object. */
static int parse_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    const char *p = (const char *)evbuffer_pullup(in, (ssize_t)n);
    json_error_t err;
    json_t *root = p ? json_loadb(p, n, 0, &err) : NULL;
    int ok = root && json_is_object(root);
    json_decref(root);
    return ok ? 0 : -1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    (void)arg;
    if (cmd == EVHTTP_REQ_POST) {
        if (parse_body(req) != 0) {
            reply(req, 400, "{}", 2);
            return;
        }
        if (strstr(uri, "/api/discovery/lookup.json"))
            reply(req, 200, g_lookup_answer, g_lookup_len);
        else if (strstr(uri, "/api/discovery/services-delta.json"))
            reply(req, 200, k_delta_answer, sizeof k_delta_answer - 1);
        else
            reply(req, 200, k_registry_answer, sizeof k_registry_answer - 1);
        return;
    }
    if (strstr(uri, "/api/discovery/service.json"))
        reply(req, 200, g_lookup_answer, g_lookup_len);
    else
        reply(req, 200, k_registry_answer, sizeof k_registry_answer - 1);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    int port = 0, n = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--lookup-instances") == 0)
            n = atoi(argv[i + 1]);
    }
    if (port <= 0 || port > 65535 || n < 0 || n > 100000) {
        fprintf(stderr, "usage: ceiling --port P [--lookup-instances N=100]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g_lookup_answer = make_lookup(n);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct evhttp_bound_socket *bound =
        http ? evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port) : NULL;
    if (!g_lookup_answer || !bound) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    /* accepted sockets inherit TCP_NODELAY from the listener (Linux), as artemis-server sets it */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evhttp_set_max_body_size(http, 64 << 20);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(http, on_request, NULL);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    free(g_lookup_answer);
    return 0;
}
