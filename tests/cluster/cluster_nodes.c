/* Cluster-mode test fixture: a private redis-server and three sessmond nodes n1..n3 joined through it. */
#include "cluster_nodes.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test configuration with overrides, where each "{node}" is replaced by the node's name (a
 * file of its own per node, for instance). */
static char *node_config(const char *overrides, const char *name)
{
    char text[2048];
    size_t len = 0;
    for (const char *p = overrides; p && *p && len + 64 < sizeof text;) {
        if (strncmp(p, "{node}", 6) == 0) {
            len += (size_t)snprintf(text + len, sizeof text - len, "%s", name);
            p += 6;
        } else {
            text[len++] = *p++;
        }
    }
    text[len] = '\0';
    return sm_test_config(overrides ? text : NULL);
}

sm_test_cluster *sm_test_cluster_start(const char *overrides, const char *node2_overrides)
{
    sm_test_cluster *k = calloc(1, sizeof *k);
    if (!k || sm_test_redis_start(&k->redis) != 0) {
        free(k);
        return NULL;
    }
    for (int i = 0; i < SM_TEST_CLUSTER_NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i + 1);
        char *cfg = node_config(i == 1 && node2_overrides ? node2_overrides : overrides, name);
        const char *args[] = {"--cluster-redis", k->redis.url, "--node", name, NULL};
        int rc = cfg ? sm_test_server_start_args(&k->node[i], cfg, args) : -1;
        free(cfg);
        if (rc != 0) {
            sm_test_cluster_stop(k);
            return NULL;
        }
    }
    return k;
}

int sm_test_cluster_stop(sm_test_cluster *k)
{
    int bad = 0;
    if (k->redis.pid > 0)
        kill(k->redis.pid, SIGCONT);
    for (int i = 0; i < SM_TEST_CLUSTER_NODES; i++) {
        bool running = k->node[i].pid > 0;
        if (running)
            kill(k->node[i].pid, SIGCONT);
        if (sm_test_server_stop(&k->node[i]) != 0 && running)
            bad++;
    }
    sm_test_redis_stop(&k->redis);
    free(k);
    return bad ? -1 : 0;
}
