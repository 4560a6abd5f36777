/* Cluster-mode test fixture: a private redis-server and three sessmond nodes n1..n3 joined through it. */
#ifndef SM_TESTS_CLUSTER_NODES_H
#define SM_TESTS_CLUSTER_NODES_H

#include "test_server.h"

#define SM_TEST_CLUSTER_NODES 3

typedef struct sm_test_cluster {
    sm_test_redis redis;
    sm_test_server node[SM_TEST_CLUSTER_NODES];
} sm_test_cluster;

/* Starts Redis and the nodes, each with the configuration overrides (JSON merged into the test
 * configuration; each "{node}" in them becomes the node's name), node 2 with node2_overrides
 * instead when not NULL. A heap fixture, or NULL. */
sm_test_cluster *sm_test_cluster_start(const char *overrides, const char *node2_overrides);
/* Resumes whatever a test froze (SIGSTOP), stops the nodes and Redis, frees k. 0 when every node
 * still running exited cleanly (under ASan: without a leak report), -1 otherwise. */
int sm_test_cluster_stop(sm_test_cluster *k);

#endif
