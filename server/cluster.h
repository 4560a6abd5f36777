/* Cluster mode (docs/cluster.md): membership through Redis, routed requests, remote listener proxies. */
#ifndef SMD_SERVER_CLUSTER_H
#define SMD_SERVER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/protocol.h"
#include "server/config.h"

struct ev_loop;
struct smd_server;
struct smd_conn;
struct smd_listener;
struct smd_cluster_proxy;
struct smd_outq;

/* Joins the cluster of srv->cfg->cluster: connects to Redis (blocking, a few seconds at most),
 * claims the node name and a session ID prefix, learns the live nodes, then runs on loop.
 * Sets srv->cluster. A name held by a live node is an error that says so. */
int smd_cluster_start(struct smd_server *srv, struct ev_loop *loop, sm_error *err);
/* Clean shutdown, step 1 (the loop still runs): tells the other nodes this one is leaving. */
void smd_cluster_leave(struct smd_server *srv);
/* Frees everything (proxies first: they are listeners without owners); srv->cluster = NULL. */
void smd_cluster_stop(struct smd_server *srv);

/* Figures for the metrics page (docs/metrics.md § Cluster). */
typedef struct smd_cluster_stats {
    bool redis_connected;           /* both Redis connections up and this node joined */
    size_t live_nodes;              /* other nodes alive and in touch (this one not counted) */
    size_t pending_requests;        /* this node's requests waiting for other nodes */
    size_t remote_requests;         /* other nodes' requests running here */
    size_t proxies;                 /* other nodes' listeners evaluated here */
    uint64_t answers_missing_nodes; /* cross-node replies that had to name nodes that did not answer */
} smd_cluster_stats;
/* false (out zeroed) when the server is standalone. */
bool smd_cluster_get_stats(const struct smd_server *srv, smd_cluster_stats *out);

/* ---- hooks of requests.c ---- */

/* A by-ID request (get / set / close_session) for a session this node does not hold: true when
 * the cluster took it (forwarded to the owner, or answered with an error). */
bool smd_cluster_route(struct smd_conn *c, const sm_msg *m);
/* Before a by-filter request runs: true (and the error sent) when Redis cannot be reached
 * (CLUSTER_UNAVAILABLE) or cluster.maxPendingRequests are in flight (LIMIT_EXCEEDED). */
bool smd_cluster_unavailable(struct smd_conn *c, const sm_msg *m);
/* A by-filter request about to run here: sends it to every other live node and returns the id
 * under which this node's own part must report with smd_cluster_local_done (the reply is then the
 * total of every node), or 0 when this node's reply is the whole answer. */
uint64_t smd_cluster_fan_out(struct smd_conn *c, const sm_msg *m);
/* This node's part of request rid ended: count sessions, or an error (code != SM_CODE_NONE). */
/* Where a request of another node comes from, for the audit log. */
typedef struct smd_cluster_origin {
    char node[SMD_NODE_NAME_MAX + 1];
    uint64_t request;
    bool has_requester; /* the fields below were sent (nodes from before the audit log do not) */
    char principal[SMD_NAME_MAX + 1];
    char session_id[32];
    char client_ip[64];
} smd_cluster_origin;
/* For a cluster stand-in connection (a request of another node): where it comes from. False for
 * any other connection. */
bool smd_cluster_remote_origin(const struct smd_conn *c, smd_cluster_origin *out);
void smd_cluster_local_done(struct smd_server *srv, uint64_t rid, int64_t count, sm_errcode code, const char *text);

/* ---- hooks of listeners.c ---- */

void smd_cluster_listener_added(struct smd_server *srv, struct smd_listener *l, const sm_msg *m);
void smd_cluster_listener_freed(struct smd_server *srv, struct smd_listener *l);
/* The local part of l's snapshot ended: snapshot_end goes once every other part has ended too. */
void smd_cluster_local_snapshot_done(struct smd_server *srv, struct smd_listener *l);
bool smd_cluster_proxy_open(const struct smd_cluster_proxy *p);
/* The event proxy p's snapshot reports about session s (matching: whether s matches its
 * filter): OPEN or nothing, except after an outage (docs/cluster.md § Reconvergence), when a
 * session the listener knew that no longer matches is a FILTER_LEAVE and one it did not know
 * that existed before the outage is a FILTER_ENTER. SM_EVENT_NONE: nothing. */
struct smd_session;
sm_event_type smd_cluster_proxy_snapshot_event(const struct smd_cluster_proxy *p, const struct smd_session *s,
                                               bool matching);
/* The queue a proxy's events are encoded into (the listener code pushes, then calls queued with
 * the push's status: an error or a backlog past cluster.maxProxyBytes drops the proxy). */
struct smd_outq *smd_cluster_proxy_queue(struct smd_cluster_proxy *p);
void smd_cluster_proxy_queued(struct smd_server *srv, struct smd_cluster_proxy *p, int rc);
void smd_cluster_proxy_fail(struct smd_server *srv, struct smd_cluster_proxy *p);

#endif
