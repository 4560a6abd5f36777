/* Cluster mode (docs/cluster.md): membership through Redis, routed requests, remote listener proxies. */
#ifndef SM_SERVER_CLUSTER_H
#define SM_SERVER_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/protocol.h"

struct ev_loop;
struct sm_server;
struct sm_conn;
struct sm_listener;
struct sm_cluster_proxy;

/* Joins the cluster of srv->cfg->cluster: connects to Redis (blocking, a few seconds at most),
 * claims the node name and a session ID prefix, learns the live nodes, then runs on loop.
 * Sets srv->cluster. A name held by a live node is an error that says so. */
int sm_cluster_start(struct sm_server *srv, struct ev_loop *loop, sm_error *err);
/* Clean shutdown, step 1 (the loop still runs): tells the other nodes this one is leaving. */
void sm_cluster_leave(struct sm_server *srv);
/* Frees everything (proxies first: they are listeners without owners); srv->cluster = NULL. */
void sm_cluster_stop(struct sm_server *srv);

/* ---- hooks of requests.c ---- */

/* A by-ID request (get / set / close_session) for a session this node does not hold: true when
 * the cluster took it (forwarded to the owner, or answered with an error). */
bool sm_cluster_route(struct sm_conn *c, const sm_msg *m);
/* Before a by-filter request runs: true (and CLUSTER_UNAVAILABLE sent) when Redis cannot be reached. */
bool sm_cluster_unavailable(struct sm_conn *c, const sm_msg *m);
/* After the local part of a by-filter request: true when the cluster will send the reply (the
 * total of every node), false when this node's reply is the whole answer. */
bool sm_cluster_fan_out(struct sm_conn *c, const sm_msg *m, int64_t local_count);

/* ---- hooks of listeners.c ---- */

void sm_cluster_listener_added(struct sm_server *srv, struct sm_listener *l, const sm_msg *m);
void sm_cluster_listener_freed(struct sm_server *srv, struct sm_listener *l);
/* The local part of l's snapshot ended: snapshot_end goes once every other part has ended too. */
void sm_cluster_local_snapshot_done(struct sm_server *srv, struct sm_listener *l);
bool sm_cluster_proxy_open(const struct sm_cluster_proxy *p);
void sm_cluster_proxy_emit(struct sm_server *srv, struct sm_cluster_proxy *p, int64_t lid, const sm_event *ev);
void sm_cluster_proxy_fail(struct sm_server *srv, struct sm_cluster_proxy *p);

#endif
