/* sdk_cached: cost of the SDK's in-process cached lookup (issue 6, "SDK cached lookup").
 *
 * Uses only the public API (include/artemis/artemis.h). Starts a client in threaded mode
 * against --url, discovers --service once (the server must hold its instances), then times
 * --ops calls of artemis_client_get_cached() + artemis_service_unref() in this one thread, in
 * batches of --batch, and the same again with artemis_service_pick() between the two. Prints
 * one JSON line: per-operation ns of each batch and their median/min/max.
 *
 *   build/bench/sdk_cached --url http://127.0.0.1:PORT --service bench.service.0
 *       [--region sha] [--zone sha-z1] [--ops 10000000] [--batch 1000000] [--expect 100]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artemis/artemis.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(const char *name, double *v, int n)
{
    double s[64];
    int i;
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    printf("\"%s\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f,\"batches\":[", name,
           n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1]);
    for (i = 0; i < n; i++)
        printf("%s%.2f", i ? "," : "", v[i]);
    printf("]}");
}

static volatile uintptr_t sink;

int main(int argc, char **argv)
{
    const char *url = NULL, *service = NULL, *region = "sha", *zone = "sha-z1";
    long ops = 10000000, batch = 1000000, expect = 100;
    double get_ns[64], pick_ns[64];
    artemis_error_t err;
    artemis_config_t *cfg;
    artemis_client_t *c;
    artemis_service_t *svc;
    size_t count;
    int nb, b, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--service"))
            service = argv[i + 1];
        else if (!strcmp(argv[i], "--region"))
            region = argv[i + 1];
        else if (!strcmp(argv[i], "--zone"))
            zone = argv[i + 1];
        else if (!strcmp(argv[i], "--ops"))
            ops = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--expect"))
            expect = atol(argv[i + 1]);
        else
            break;
    }
    if (i != argc || !url || !service || batch < 1 || ops < batch || ops / batch > 64) {
        fprintf(stderr, "usage: sdk_cached --url URL --service ID [--region R] [--zone Z] "
                        "[--ops N] [--batch B] [--expect K]  (N/B <= 64)\n");
        return 2;
    }
    nb = (int)(ops / batch);

    memset(&err, 0, sizeof err);
    cfg = artemis_config_new();
    if (!cfg || artemis_config_set_servers(cfg, url) != ARTEMIS_OK ||
        artemis_config_set_region(cfg, region) != ARTEMIS_OK ||
        artemis_config_set_zone(cfg, zone) != ARTEMIS_OK ||
        artemis_config_set_mode(cfg, ARTEMIS_MODE_THREADED) != ARTEMIS_OK) {
        fprintf(stderr, "sdk_cached: bad configuration\n");
        return 1;
    }
    c = artemis_client_new(cfg, &err);
    artemis_config_free(cfg);
    if (!c || artemis_client_start(c, &err) != ARTEMIS_OK) {
        fprintf(stderr, "sdk_cached: client: %s\n", err.text);
        return 1;
    }
    svc = NULL;
    if (artemis_client_discover(c, service, 10000, &svc, &err) != ARTEMIS_OK || !svc) {
        fprintf(stderr, "sdk_cached: discover %s: %s\n", service, err.text);
        artemis_client_free(c);
        return 1;
    }
    count = artemis_service_instance_count(svc);
    artemis_service_unref(svc);
    if ((long)count != expect) {
        fprintf(stderr, "sdk_cached: %s has %zu instances, expected %ld\n", service, count, expect);
        artemis_client_free(c);
        return 1;
    }

    /* warm-up: caches, branch predictors, the first-touch of the cache entry */
    for (i = 0; i < 100000; i++) {
        svc = artemis_client_get_cached(c, service);
        sink += (uintptr_t)svc;
        artemis_service_unref(svc);
    }
    for (b = 0; b < nb; b++) {
        int64_t t0 = now_ns();
        long k;
        for (k = 0; k < batch; k++) {
            svc = artemis_client_get_cached(c, service);
            sink += (uintptr_t)svc;
            artemis_service_unref(svc);
        }
        get_ns[b] = (double)(now_ns() - t0) / (double)batch;
        if (!svc) {
            fprintf(stderr, "sdk_cached: get_cached returned NULL\n");
            artemis_client_free(c);
            return 1;
        }
    }
    for (b = 0; b < nb; b++) {
        int64_t t0 = now_ns();
        long k;
        for (k = 0; k < batch; k++) {
            svc = artemis_client_get_cached(c, service);
            sink += (uintptr_t)artemis_service_pick(svc);
            artemis_service_unref(svc);
        }
        pick_ns[b] = (double)(now_ns() - t0) / (double)batch;
    }

    printf("{\"service\":\"%s\",\"instances\":%zu,\"ops_per_loop\":%ld,\"batch\":%ld,", service,
           count, (long)nb * batch, batch);
    print_stats("get_unref_ns", get_ns, nb);
    printf(",");
    print_stats("get_pick_unref_ns", pick_ns, nb);
    printf("}\n");
    fflush(stdout);
    artemis_client_stop(c, 1000);
    artemis_client_free(c);
    return 0;
}
