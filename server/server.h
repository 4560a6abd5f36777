/* The session server's state and request handling, independent of the WebSocket transport. */
#ifndef SM_SERVER_SERVER_H
#define SM_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/filter.h"
#include "core/protocol.h"
#include "server/auth.h"
#include "server/config.h"
#include "core/intern.h"
#include "server/outq.h"
#include "server/registry.h"

/* A connection must open or resume within this (or heartbeat interval + timeout when shorter). */
#define SM_OPEN_TIMEOUT_MS 10000
#define SM_CLOSE_TIMEOUT_MS 5000     /* a closing connection is dropped after this */
#define SM_BAD_MESSAGES_MAX 16       /* undecodable messages in a row before INVALID_INBOUND_MESSAGE */
#define SM_KEYS_MAX 256              /* keys in one get / add_listener */
#define SM_SET_ENTRIES_MAX 1024      /* entries in one set / set_by_filter map */
#define SM_SNAPSHOT_CHUNK_BYTES (48u * 1024u)
/* Long operations (set/close by filter, shutdown) run in slices, one per loop pass, each stopping
 * after this much time or this many sessions examined; the loop serves everyone else between. */
#define SM_SLICE_BUDGET_US 2000
#define SM_SLICE_MAX_VISITS 4096
/* A session close counts as this many visits: its connection's close costs the transport far
 * more than the close costs the core (about 50 us in lws 4.1, in the next loop pass), so at most
 * 64 closes start per slice and the pass that carries them out stays near 3 ms. */
#define SM_SLICE_CLOSE_COST 64
#define SM_PENDING_OPS_MAX 4 /* set/close by filter operations one session may have running */
/* Password checks (PBKDF2) run in slices of this much time, one slice per loop pass, beside the
 * slices of long operations (docs/architecture.md § Password checks). */
#define SM_LOGIN_SLICE_US 1000

struct sm_server;
struct sm_conn;
struct sm_login;

/* What the core needs from the transport. */
typedef struct sm_transport {
    void *ctx;
    /* Ask for a write opportunity (sm_conn_next_write) soon. */
    void (*want_write)(void *ctx, struct sm_conn *c);
    /* Drop the connection now, without a close frame. */
    void (*kill)(void *ctx, struct sm_conn *c);
    /* Long work is pending: call sm_server_run_slice once per loop pass until
     * sm_server_has_pending_work is false. */
    void (*want_slice)(void *ctx);
    /* Stop (paused) or resume reading the connection's input (its requests wait in the socket). */
    void (*pause_rx)(void *ctx, struct sm_conn *c, bool paused);
} sm_transport;

/* One WebSocket connection. Lives in the transport's per-connection memory. */
typedef struct sm_conn {
    struct sm_server *srv;
    void *handle;                  /* the transport's connection (lws wsi) */
    sm_session *session;           /* NULL before open/resume and once closed */
    struct sm_login *login;        /* its open, waiting for a password check */
    struct sm_conn *lprev, *lnext; /* limbo list: connections without a session */
    int64_t since_ms;              /* accepted, or closing since (monotonic) */
    int64_t last_rx_ms;
    int64_t hb_sent_ms;
    int64_t hb_seq;
    sm_outq q;
    char *rx; /* reassembly of a fragmented message */
    size_t rx_len, rx_cap;
    int close_code;         /* WebSocket close code to send once closing */
    const char *close_text; /* static text: a close reason or refusal code name */
    uint8_t bad_in_row;
    bool in_limbo;
    bool hb_outstanding;
    bool closing;     /* close requested */
    bool flush_first; /* write what is queued before the close frame */
    bool peer_closed; /* the client sent a close frame */
    bool close_sent;  /* the transport wrote our close frame; waiting for the client's answer or EOF */
    bool write_requested;
    bool established;
    bool cluster_remote; /* the cluster's stand-in for a request from another node: never routed again */
    char ip[48];
} sm_conn;

/* A session listener (docs/protocol.md § Session listeners). */
typedef struct sm_listener {
    struct sm_listener *gprev, *gnext; /* all listeners of the server */
    struct sm_listener *onext;         /* the owner's listeners */
    sm_session *owner;
    int64_t id;
    sm_filter *filter; /* NULL = every session */
    char *filter_text; /* its source: listeners with the same text share one evaluation per event */
    size_t regex_cost; /* sm_filter_regex_cost of filter, counted in srv->listener_regex_cost */
    bool has_after;
    int64_t after;
    bool all_fixed, all_user;
    const char **keys; /* named keys not covered by a selector (interned) */
    size_t nkeys;
    bool changed_only; /* PROPERTIES/RECONNECTED/... carry only the changed keys (add_listener changedOnly) */
    bool snapshotting;
    sm_cursor cursor; /* next session the snapshot will consider */
    int64_t snapshot_count;
    /* Cluster mode: a proxy evaluates a listener of another node here (owner is then NULL); a
     * view gathers the other nodes' parts of one of this node's listeners. */
    struct sm_cluster_proxy *proxy;
    struct sm_cluster_view *view;
} sm_listener;

/* A time and visit budget for one slice of work. */
typedef struct sm_budget {
    int64_t deadline_us;
    size_t visits_left;
} sm_budget;

struct sm_set_plan;

typedef enum sm_job_kind { SM_JOB_SET_BY_FILTER, SM_JOB_CLOSE_BY_FILTER, SM_JOB_SHUTDOWN } sm_job_kind;

/* A long operation in progress (docs/architecture.md § Sliced operations): it visits the sessions
 * in open order from a cursor, a slice at a time. */
typedef struct sm_job {
    struct sm_job *next;
    sm_job_kind kind;
    sm_session *requester; /* NULL once it closed: the reply is dropped */
    int64_t request_id;
    sm_filter *filter;
    struct sm_set_plan *plan;
    sm_cursor cursor;
    uint64_t last_seq; /* sessions opened after the request (higher seq) are not visited */
    int phase;
    int64_t count;
    uint64_t cluster_rid; /* cluster mode: the request every node runs (0 = this node's alone) */
} sm_job;

/* Cached identity of a principal (or anonymous): canonical $Roles and permission bits. */
typedef struct sm_identity {
    const char *roles; /* interned */
    unsigned permissions;
} sm_identity;

typedef struct sm_server {
    const sm_config *cfg;
    sm_intern *strings;
    sm_registry reg;
    sm_auth *auth;
    sm_transport tr;
    size_t headroom;
    sm_identity *identities; /* parallel to cfg->principals */
    sm_identity anonymous;
    char *dummy_hash; /* what an unknown principal is checked against (NULL: no principals) */
    sm_listener *listeners;
    size_t listener_count;
    size_t listener_regex_cost; /* of all listeners: what one session event may evaluate */
    int64_t next_listener_id;
    struct sm_cluster *cluster; /* NULL when standalone */
    sm_conn *limbo;
    size_t conn_count;
    sm_cursor sweep;
    bool shutting_down;
    sm_job *jobs, *jobs_tail; /* long operations, run in order */
    struct sm_login *logins;  /* opens waiting for their password checks, run in turn */
    size_t login_count;
    sm_conn *limbo_sweep;     /* where the next limbo sweep starts */
    sm_session **doomed; /* sessions to close once the current operation ends */
    size_t ndoomed, doomed_cap;
    /* scratch space reused by every operation */
    sm_kv *kv_a, *kv_b;
    size_t kv_cap;
    sm_prop_change *changes;
    size_t changes_cap;
    sm_buf ev_json; /* one event encoded once for every listener that gets the same bytes */
    const char **interned_scratch;
    size_t interned_scratch_cap;
    /* statistics */
    uint64_t sessions_opened, sessions_closed, messages_in;
} sm_server;

int sm_server_init(sm_server *srv, const sm_config *cfg, const sm_transport *tr, size_t headroom, sm_error *err);
/* Frees everything (sessions, listeners, queues of connections still known). */
void sm_server_free(sm_server *srv);

/* A WebSocket connection was established (c is zeroed memory). peer_ip as the transport gives it. */
void sm_conn_start(sm_server *srv, sm_conn *c, void *handle, const char *peer_ip);
/* One complete text message arrived (valid UTF-8 already checked by the caller). */
void sm_conn_on_message(sm_conn *c, const char *text, size_t len);
/* The client broke the transport rules (binary frame, bad UTF-8, oversize): the session closes
 * with reason and the connection with a close frame carrying ws_code, sent from the next write
 * opportunity like every other close; what the client still sends meanwhile is dropped. */
void sm_conn_on_violation(sm_conn *c, sm_close_reason reason, int ws_code);
/* The client sent a close frame. */
void sm_conn_on_peer_close(sm_conn *c);
/* The connection is gone (after any of the above, or a plain TCP drop). */
void sm_conn_on_closed(sm_conn *c);
/* Next message to write (snapshot chunks are produced here, lazily), or NULL. The caller frees it. */
sm_outmsg *sm_conn_next_write(sm_conn *c);
/* True when more writes are due (queue, snapshot, or a close frame). */
bool sm_conn_wants_write(const sm_conn *c);
/* True when the transport should now send the close frame (close_code/close_text) and close. */
bool sm_conn_should_close(const sm_conn *c);

/* Periodic work: heartbeats, unresponsive clients, expired DISCONNECTED sessions, stuck
 * connections. Call every few tens of ms to 1 s; the period hint is sm_server_tick_ms. */
void sm_server_tick(sm_server *srv);
int64_t sm_server_tick_ms(const sm_server *srv);
/* Closes every session with SERVER_CLOSING (listeners are told first) and every connection, in
 * slices (sm_server_run_slice); set/close by filter operations still running stop unanswered. */
void sm_server_shutdown(sm_server *srv);
/* True while a long operation waits for its next slice. */
bool sm_server_has_pending_work(const sm_server *srv);
/* Runs one slice (SM_SLICE_BUDGET_US, SM_SLICE_MAX_VISITS) of the pending long operations. */
void sm_server_run_slice(sm_server *srv);

/* ---- internal, shared between server.c, requests.c and listeners.c ---- */

/* Queues a message to a connection (and asks for a write). Returns false when the connection's
 * queue overflowed (its session is then doomed) or on allocation failure. */
bool sm_conn_send(sm_conn *c, const sm_msg *m);
/* True when c's queue is over limits.maxQueueBytes, or the server's queues together are over
 * limits.maxTotalQueueBytes and c's is among the biggest (at least the average). */
bool sm_conn_queue_over_limit(const sm_conn *c);
void sm_conn_send_error(sm_conn *c, int64_t id, sm_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Closes a session (listeners get CLOSED with reason); its connection, if any, closes too. */
void sm_server_close_session(sm_server *srv, sm_session *s, sm_close_reason reason, bool flush);
/* Marks a session to be closed after the current operation (queue overflow, internal error). */
void sm_server_doom(sm_server *srv, sm_session *s, sm_close_reason reason);
/* Closes the doomed sessions. */
void sm_server_reap(sm_server *srv);
/* Ask the transport for a write opportunity (once until it comes). */
void sm_conn_want_write(sm_conn *c);
/* Sends `refused` and closes the connection after it. */
void sm_conn_refuse(sm_conn *c, sm_errcode code, const char *text);
/* Binds an opened/resumed session to its connection. */
void sm_conn_attach(sm_conn *c, sm_session *s);
/* Starts closing a connection with a close frame. */
void sm_conn_close(sm_conn *c, int code, const char *text, bool flush);

/* Appends a job (cursor at the first session, requester's pending_ops counted) and runs a first
 * slice at once when nothing else is pending. */
void sm_server_queue_job(sm_server *srv, sm_job *job);
void sm_budget_start(sm_budget *b);
/* Counts one visit; true when the slice's budget is spent. */
bool sm_budget_spent(sm_budget *b);
/* Counts n more visits for work heavier than a visit (a session close). */
void sm_budget_charge(sm_budget *b, size_t n);

/* requests.c */
/* One slice of a set/close by filter job; true when it is finished (its reply sent). */
bool sm_requests_job_step(sm_server *srv, sm_job *job, sm_budget *b);
void sm_requests_job_free(sm_server *srv, sm_job *job);
/* The identity of a principal whose password checks out, or NULL (out says why: a bad password, or
 * a refusal by the login throttle). ip is the client's address. principal is not "" (anonymous is
 * not a login). */
const sm_identity *sm_server_authenticate(sm_server *srv, const char *ip, const char *principal, const char *password,
                                          sm_login_result *out);
/* text/len: the message m was decoded from (an open that waits for its password check keeps a
 * copy and decodes it again once the check is done). */
void sm_server_handle_open(sm_conn *c, const sm_msg *m, const char *text, size_t len);
/* One slice of the password checks in progress (round robin); finishes the opens whose check is done. */
void sm_logins_step(sm_server *srv);
/* Forgets c's open in progress (its connection is going away); the check counts as a failed login. */
void sm_login_abandon(sm_server *srv, sm_conn *c);
void sm_logins_abandon_all(sm_server *srv);
void sm_server_handle_resume(sm_conn *c, const sm_msg *m);
void sm_server_handle_request(sm_conn *c, const sm_msg *m);

/* listeners.c */
void sm_listeners_session_opened(sm_server *srv, sm_session *s);
void sm_listeners_session_event(sm_server *srv, sm_session *s, sm_event_type type, const sm_prop_change *changes,
                                size_t nchanges);
void sm_listeners_session_closed(sm_server *srv, sm_session *s, sm_close_reason reason);
/* Creates a listener for owner (validated arguments); returns it or NULL (error sent). */
sm_listener *sm_listener_add(sm_server *srv, sm_conn *c, const sm_msg *m);
bool sm_listener_remove(sm_server *srv, sm_session *owner, int64_t id);
void sm_listeners_remove_owned(sm_server *srv, sm_session *owner);
/* Bytes of snapshot events produced per write opportunity: a quarter of maxQueueBytes at most,
 * so a snapshot alone never fills a queue. */
size_t sm_snapshot_chunk(const sm_server *srv);
/* Produces the next snapshot chunk of one of owner's listeners into its queue; false when none pending. */
bool sm_listeners_fill_snapshot(sm_server *srv, sm_conn *c);
bool sm_listeners_snapshot_pending(const sm_session *owner);
/* Queues one event of l (to its client, or to its cluster proxy's stream). */
void sm_listener_emit(sm_server *srv, sm_listener *l, const sm_event *ev);
/* Produces snapshot events of l until q holds limit bytes or a visit budget is spent; true when
 * the snapshot has reached its end (l->snapshotting is then false). */
bool sm_listener_snapshot_step(sm_server *srv, sm_listener *l, const sm_outq *q, size_t limit);
/* Cluster proxies: a listener without an owner; m is the add_listener request of the other node
 * (already validated there; NULL when it does not parse here). */
sm_listener *sm_listener_new_proxy(sm_server *srv, sm_conn *sink, const sm_msg *m, struct sm_cluster_proxy *proxy);
void sm_listener_free_proxy(sm_server *srv, sm_listener *l);
/* Validates a key list (selectors *F and *U, fixed or user keys) into selector flags and distinct
 * interned named keys (malloc'd array); sends the error and returns false when invalid. */
bool sm_parse_keys(sm_server *srv, sm_conn *c, int64_t id, const sm_strs *keys, bool *all_fixed, bool *all_user,
                   const char ***named, size_t *nnamed);
void sm_release_keys(sm_server *srv, const char **named, size_t nnamed);
/* Scratch helpers. */
bool sm_server_reserve_kv(sm_server *srv, size_t n);
/* Fills kv with the properties of s a listener (or a get with these selectors/keys) asks for. */
size_t sm_collect_properties(sm_server *srv, const sm_session *s, bool all_fixed, bool all_user,
                             const char *const *keys, size_t nkeys, sm_kv *kv);

#endif
