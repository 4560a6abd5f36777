/* Cluster-mode integration tests of /metrics and /healthz: two nodes through a private redis-server, then Redis gone (docs/metrics.md § Cluster). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "core/clock.h"

#define NODES 2
#define WAIT_MS 10000

static const char CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,\"requestTimeoutMs\":500},"
                             "\"admin\":{\"listen\":\"127.0.0.1:0\"}}";

typedef struct cluster {
    sm_test_redis redis;
    sm_test_server node[NODES];
    int admin_port[NODES];
} cluster;

static int setup(void **state)
{
    cluster *k = calloc(1, sizeof *k);
    if (!k || sm_test_redis_start(&k->redis) != 0) {
        free(k);
        return -1;
    }
    char *cfg = sm_test_config(CONFIG);
    if (!cfg)
        return -1;
    for (int i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%d", i + 1);
        const char *args[] = {"--cluster-redis", k->redis.url, "--node", name, NULL};
        if (sm_test_server_start_args(&k->node[i], cfg, args) != 0 || (k->admin_port[i] = tc_admin_port(&k->node[i])) <= 0) {
            free(cfg);
            return -1;
        }
    }
    free(cfg);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    cluster *k = *state;
    int rc = 0;
    for (int i = 0; i < NODES; i++)
        if (k->node[i].pid && sm_test_server_stop(&k->node[i]) != 0)
            rc = -1;
    sm_test_redis_stop(&k->redis);
    free(k);
    return rc;
}

/* Scrapes node i until the sample has the value (or WAIT_MS pass); returns the last value seen. */
static double wait_metric(const cluster *k, int i, const char *name, double want)
{
    int64_t deadline = sm_mono_ms() + WAIT_MS;
    double v = -1;
    for (;;) {
        int st = 0;
        char *resp = tc_http_get(k->admin_port[i], "/metrics", &st);
        assert_int_equal(st, 200);
        v = tc_metric(tc_http_body(resp), name);
        free(resp);
        if (v == want || sm_mono_ms() >= deadline)
            return v;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void test_cluster_figures(void **state)
{
    cluster *k = *state;
    assert_true(wait_metric(k, 0, "sessmond_cluster_redis_connected", 1) == 1);
    assert_true(wait_metric(k, 0, "sessmond_cluster_live_nodes", 1) == 1);
    assert_true(wait_metric(k, 1, "sessmond_cluster_live_nodes", 1) == 1);
    assert_true(wait_metric(k, 0, "sessmond_cluster_degraded", 0) == 0);

    /* A session on node 2 and a by-ID request for it from node 1: routed, not answered locally. */
    tc remote, admin;
    tc_open(&remote, &k->node[1], NULL, NULL, "{\"Grp\":\"c\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", remote.session_id));
    cJSON *r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"Grp is 'c'\",\"properties\":{\"Y\":\"1\"}}");
    assert_int_equal(tc_int(r, "count"), 1); /* the session of node 2, counted through the cluster */
    cJSON_Delete(r);
    assert_true(wait_metric(k, 0, "sessmond_sessions{state=\"active\"}", 1) == 1); /* node 1 holds admin only */
    assert_true(wait_metric(k, 1, "sessmond_sessions{state=\"active\"}", 1) == 1);
    assert_true(wait_metric(k, 0, "sessmond_request_duration_seconds_count{op=\"set_by_filter\"}", 1) == 1);

    int st = 0;
    char *resp = tc_http_get(k->admin_port[0], "/healthz", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(tc_http_body(resp), "cluster: connected, 1 other nodes live"));
    free(resp);

    /* Redis gone: degraded, and still healthy for local service. */
    sm_test_redis_stop(&k->redis);
    assert_true(wait_metric(k, 0, "sessmond_cluster_degraded", 1) == 1);
    assert_true(wait_metric(k, 0, "sessmond_cluster_redis_connected", 0) == 0);
    resp = tc_http_get(k->admin_port[0], "/healthz", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(tc_http_body(resp), "ok\ncluster: degraded"));
    free(resp);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"ping\"}"));
    tc_close(&admin);
    tc_close(&remote);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_figures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
