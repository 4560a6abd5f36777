/* The session server's state and request handling, independent of the WebSocket transport. */
#ifndef SMD_SERVER_SERVER_H
#define SMD_SERVER_SERVER_H

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
#define SMD_OPEN_TIMEOUT_MS 10000
#define SMD_CLOSE_TIMEOUT_MS 5000     /* a closing connection is dropped after this */
#define SMD_BAD_MESSAGES_MAX 16       /* undecodable messages in a row before INVALID_INBOUND_MESSAGE */
#define SMD_KEYS_MAX 256              /* keys in one get / add_listener */
#define SMD_SET_ENTRIES_MAX 1024      /* entries in one set / set_by_filter map */
#define SMD_SNAPSHOT_CHUNK_BYTES (48u * 1024u)
/* Long operations (set/close by filter, shutdown) run in slices, one per loop pass, each stopping
 * after this much time or this many sessions examined; the loop serves everyone else between. */
#define SMD_SLICE_BUDGET_US 2000
#define SMD_SLICE_MAX_VISITS 4096
/* A session close counts as this many visits: its connection's close costs the transport far
 * more than the close costs the core (about 50 us in lws 4.1, in the next loop pass), so at most
 * 64 closes start per slice and the pass that carries them out stays near 3 ms. */
#define SMD_SLICE_CLOSE_COST 64
/* Messages of dropped queues freed per slice (a few hundred microseconds). */
#define SMD_DROPPED_PER_SLICE 4096
#define SMD_PENDING_OPS_MAX 4 /* set/close by filter operations one session may have running */
/* Password checks (PBKDF2) run in slices of this much time, one slice per loop pass, beside the
 * slices of long operations (docs/architecture.md § Password checks). */
#define SMD_LOGIN_SLICE_US 1000

struct smd_server;
struct smd_conn;
struct smd_login;

/* What the core needs from the transport. */
typedef struct smd_transport {
    void *ctx;
    /* Ask for a write opportunity (smd_conn_next_write) soon. */
    void (*want_write)(void *ctx, struct smd_conn *c);
    /* Drop the connection now, without a close frame. */
    void (*kill)(void *ctx, struct smd_conn *c);
    /* Long work is pending: call smd_server_run_slice once per loop pass until
     * smd_server_has_pending_work is false. */
    void (*want_slice)(void *ctx);
    /* Stop (paused) or resume reading the connection's input (its requests wait in the socket). */
    void (*pause_rx)(void *ctx, struct smd_conn *c, bool paused);
} smd_transport;

/* One WebSocket connection. Lives in the transport's per-connection memory. */
typedef struct smd_conn {
    struct smd_server *srv;
    void *handle;                  /* the transport's connection (lws wsi) */
    smd_session *session;           /* NULL before open/resume and once closed */
    struct smd_login *login;        /* its open, waiting for a password check */
    struct smd_conn *lprev, *lnext; /* limbo list: connections without a session */
    int64_t since_ms;              /* accepted, or closing since (monotonic) */
    int64_t last_rx_ms;
    int64_t hb_sent_ms;
    int64_t hb_seq;
    smd_outq q;
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
} smd_conn;

/* A session listener (docs/protocol.md § Session listeners). */
typedef struct smd_listener {
    struct smd_listener *gprev, *gnext; /* all listeners of the server */
    struct smd_listener *onext;         /* the owner's listeners */
    smd_session *owner;
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
    smd_cursor cursor; /* next session the snapshot will consider */
    int64_t snapshot_count;
    /* Cluster mode: a proxy evaluates a listener of another node here (owner is then NULL); a
     * view gathers the other nodes' parts of one of this node's listeners. */
    struct smd_cluster_proxy *proxy;
    struct smd_cluster_view *view;
} smd_listener;

/* A time and visit budget for one slice of work. */
typedef struct smd_budget {
    int64_t deadline_us;
    size_t visits_left;
} smd_budget;

struct smd_set_plan;

typedef enum smd_job_kind { SMD_JOB_SET_BY_FILTER, SMD_JOB_CLOSE_BY_FILTER, SMD_JOB_SHUTDOWN } smd_job_kind;

/* A long operation in progress (docs/architecture.md § Sliced operations): it visits the sessions
 * in open order from a cursor, a slice at a time. */
typedef struct smd_job {
    struct smd_job *next;
    smd_job_kind kind;
    smd_session *requester; /* NULL once it closed: the reply is dropped */
    int64_t request_id;
    sm_filter *filter;
    struct smd_set_plan *plan;
    smd_cursor cursor;
    uint64_t last_seq; /* sessions opened after the request (higher seq) are not visited */
    int phase;
    int64_t count;
    uint64_t cluster_rid; /* cluster mode: the request every node runs (0 = this node's alone) */
    struct cJSON *audit_rec; /* its audit record, written when it ends (server/audit.h) */
    int64_t started_us;   /* its request was decoded (metrics: the latency ends with its reply) */
} smd_job;

/* Cached identity of a principal (or anonymous): canonical $Roles and permission bits. */
typedef struct smd_identity {
    const char *roles; /* interned */
    unsigned permissions;
} smd_identity;

typedef struct smd_server {
    const smd_config *cfg;
    sm_intern *strings;
    smd_registry reg;
    smd_auth *auth;
    smd_transport tr;
    size_t headroom;
    smd_identity *identities; /* parallel to cfg->principals */
    smd_identity anonymous;
    char *dummy_hash; /* what an unknown principal is checked against (NULL: no principals) */
    smd_listener *listeners;
    size_t listener_count;
    size_t listener_regex_cost; /* of all listeners: what one session event may evaluate */
    int64_t next_listener_id;
    struct smd_cluster *cluster; /* NULL when standalone */
    smd_conn *limbo;
    size_t conn_count;
    smd_cursor sweep;
    bool shutting_down;
    smd_job *jobs, *jobs_tail; /* long operations, run in order */
    struct smd_login *logins;  /* opens waiting for their password checks, run in turn */
    size_t login_count;
    smd_conn *limbo_sweep;     /* where the next limbo sweep starts */
    smd_session **doomed; /* sessions to close once the current operation ends */
    size_t ndoomed, doomed_cap;
    /* scratch space reused by every operation */
    sm_kv *kv_a, *kv_b;
    size_t kv_cap;
    smd_prop_change *changes;
    size_t changes_cap;
    sm_buf ev_json; /* one event encoded once for every listener that gets the same bytes */
    const char **interned_scratch;
    size_t interned_scratch_cap;
    /* audit log (server/audit.h): the record of the mutating request being handled */
    struct smd_audit *audit;
    struct cJSON *audit_rec;
    const smd_conn *audit_conn;
    int64_t audit_id;
    /* statistics */
    uint64_t sessions_opened, sessions_closed, messages_in;
    struct smd_tally *tally;     /* metrics: sessions by state and principal (server/metrics.h) */
    int64_t request_started_us;  /* metrics: the request being handled was decoded ... */
    bool request_deferred;       /* ... and its reply comes from a job (the job observes it) */
} smd_server;

int smd_server_init(smd_server *srv, const smd_config *cfg, const smd_transport *tr, size_t headroom, sm_error *err);
/* Frees everything (sessions, listeners, queues of connections still known). */
void smd_server_free(smd_server *srv);
/* The identities of cfg's principals (parallel to cfg->principals) and of anonymous sessions, and
 * the hash an unknown principal is checked against: at start and when the config is reloaded. */
int smd_server_build_identities(smd_server *srv, const smd_config *cfg, smd_identity **ids, smd_identity *anonymous,
                                char **dummy_hash);
void smd_server_free_identities(smd_server *srv, size_t count, smd_identity *ids, smd_identity *anonymous,
                                char *dummy_hash);
/* SIGHUP (server/reload.c): replaces *cur by *next (parsed and valid) for new requests; sessions
 * keep what they opened with. Settings that need a restart keep their current values (reported).
 * next is consumed either way. SM_OK, or SM_ERR_NOMEM (nothing changed). */
int smd_server_reload(smd_server *srv, smd_config *cur, smd_config *next, const char *path);
/* requests.c: opens waiting for their password checks follow a reload: each keeps its principal
 * only where next has it with the same password hash (else it is refused once checked). */
void smd_logins_rebind(smd_server *srv, const smd_config *next);

/* A WebSocket connection was established (c is zeroed memory). peer_ip as the transport gives it. */
void smd_conn_start(smd_server *srv, smd_conn *c, void *handle, const char *peer_ip);
/* One complete text message arrived (valid UTF-8 already checked by the caller). */
void smd_conn_on_message(smd_conn *c, const char *text, size_t len);
/* The client broke the transport rules (binary frame, bad UTF-8, oversize): the session closes
 * with reason and the connection with a close frame carrying ws_code, sent from the next write
 * opportunity like every other close; what the client still sends meanwhile is dropped. */
void smd_conn_on_violation(smd_conn *c, sm_close_reason reason, int ws_code);
/* The client sent a close frame. */
void smd_conn_on_peer_close(smd_conn *c);
/* The connection is gone (after any of the above, or a plain TCP drop). */
void smd_conn_on_closed(smd_conn *c);
/* Next message to write (snapshot chunks are produced here, lazily), or NULL. The caller frees it. */
smd_outmsg *smd_conn_next_write(smd_conn *c);
/* True when more writes are due (queue, snapshot, or a close frame). */
bool smd_conn_wants_write(const smd_conn *c);
/* True when the transport should now send the close frame (close_code/close_text) and close. */
bool smd_conn_should_close(const smd_conn *c);

/* Periodic work: heartbeats, unresponsive clients, expired DISCONNECTED sessions, stuck
 * connections. Call every few tens of ms to 1 s; the period hint is smd_server_tick_ms. */
void smd_server_tick(smd_server *srv);
int64_t smd_server_tick_ms(const smd_server *srv);
/* Closes every session with SERVER_CLOSING (listeners are told first) and every connection, in
 * slices (smd_server_run_slice); set/close by filter operations still running stop unanswered. */
void smd_server_shutdown(smd_server *srv);
/* True while a long operation waits for its next slice. */
bool smd_server_has_pending_work(const smd_server *srv);
/* Runs one slice (SMD_SLICE_BUDGET_US, SMD_SLICE_MAX_VISITS) of the pending long operations. */
void smd_server_run_slice(smd_server *srv);

/* ---- internal, shared between server.c, requests.c and listeners.c ---- */

/* Queues a message to a connection (and asks for a write). Returns false when the connection's
 * queue overflowed (its session is then doomed) or on allocation failure. */
bool smd_conn_send(smd_conn *c, const sm_msg *m);
/* True when c's queue is over limits.maxQueueBytes, or the server's queues together are over
 * limits.maxTotalQueueBytes and c's is among the biggest (at least the average). */
bool smd_conn_queue_over_limit(const smd_conn *c);
void smd_conn_send_error(smd_conn *c, int64_t id, sm_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Closes a session (listeners get CLOSED with reason); its connection, if any, closes too. */
void smd_server_close_session(smd_server *srv, smd_session *s, sm_close_reason reason, bool flush);
/* Marks a session to be closed after the current operation (queue overflow, internal error). */
void smd_server_doom(smd_server *srv, smd_session *s, sm_close_reason reason);
/* Closes the doomed sessions. */
void smd_server_reap(smd_server *srv);
/* Ask the transport for a write opportunity (once until it comes). */
void smd_conn_want_write(smd_conn *c);
/* Sends `refused` and closes the connection after it. */
void smd_conn_refuse(smd_conn *c, sm_errcode code, const char *text);
/* Binds an opened/resumed session to its connection. */
void smd_conn_attach(smd_conn *c, smd_session *s);
/* Starts closing a connection with a close frame. */
void smd_conn_close(smd_conn *c, int code, const char *text, bool flush);

/* Appends a job (cursor at the first session, requester's pending_ops counted) and runs a first
 * slice at once when nothing else is pending. */
void smd_server_queue_job(smd_server *srv, smd_job *job);
void smd_budget_start(smd_budget *b);
/* Counts one visit; true when the slice's budget is spent. */
bool smd_budget_spent(smd_budget *b);
/* Counts n more visits for work heavier than a visit (a session close). */
void smd_budget_charge(smd_budget *b, size_t n);

/* requests.c */
/* One slice of a set/close by filter job; true when it is finished (its reply sent). */
bool smd_requests_job_step(smd_server *srv, smd_job *job, smd_budget *b);
void smd_requests_job_free(smd_server *srv, smd_job *job);
/* The identity of a principal whose password checks out, or NULL (out says why: a bad password, or
 * a refusal by the login throttle). ip is the client's address. principal is not "" (anonymous is
 * not a login). */
const smd_identity *smd_server_authenticate(smd_server *srv, const char *ip, const char *principal, const char *password,
                                          smd_login_result *out);
/* text/len: the message m was decoded from (an open that waits for its password check keeps a
 * copy and decodes it again once the check is done). */
void smd_server_handle_open(smd_conn *c, const sm_msg *m, const char *text, size_t len);
/* One slice of the password checks in progress (round robin); finishes the opens whose check is done. */
void smd_logins_step(smd_server *srv);
/* Forgets c's open in progress (its connection is going away); the check counts as a failed login. */
void smd_login_abandon(smd_server *srv, smd_conn *c);
void smd_logins_abandon_all(smd_server *srv);
void smd_server_handle_resume(smd_conn *c, const sm_msg *m);
void smd_server_handle_request(smd_conn *c, const sm_msg *m);

/* listeners.c */
void smd_listeners_session_opened(smd_server *srv, smd_session *s);
void smd_listeners_session_event(smd_server *srv, smd_session *s, sm_event_type type, const smd_prop_change *changes,
                                size_t nchanges);
void smd_listeners_session_closed(smd_server *srv, smd_session *s, sm_close_reason reason);
/* Creates a listener for owner (validated arguments); returns it or NULL (error sent). */
smd_listener *smd_listener_add(smd_server *srv, smd_conn *c, const sm_msg *m);
bool smd_listener_remove(smd_server *srv, smd_session *owner, int64_t id);
void smd_listeners_remove_owned(smd_server *srv, smd_session *owner);
/* Bytes of snapshot events produced per write opportunity: a quarter of maxQueueBytes at most,
 * so a snapshot alone never fills a queue. */
size_t smd_snapshot_chunk(const smd_server *srv);
/* Produces the next snapshot chunk of one of owner's listeners into its queue; false when none pending. */
bool smd_listeners_fill_snapshot(smd_server *srv, smd_conn *c);
bool smd_listeners_snapshot_pending(const smd_session *owner);
/* Queues one event of l (to its client, or to its cluster proxy's stream). */
void smd_listener_emit(smd_server *srv, smd_listener *l, const sm_event *ev);
/* Like smd_listener_emit with the event already encoded (sm_events_add with first = true). */
void smd_listener_emit_json(smd_server *srv, smd_listener *l, const char *json, size_t len);
/* Produces snapshot events of l until q holds limit bytes or a visit budget is spent; true when
 * the snapshot has reached its end (l->snapshotting is then false). */
bool smd_listener_snapshot_step(smd_server *srv, smd_listener *l, const smd_outq *q, size_t limit);
/* Cluster proxies: a listener without an owner; m is the add_listener request of the other node
 * (already validated there). NULL with err filled when it cannot be served here: out of memory,
 * or its filter's regular expressions do not fit in this node's limits.maxListenerRegexCost
 * (SM_ERR_LIMIT; docs/cluster.md § Bounds). */
smd_listener *smd_listener_new_proxy(smd_server *srv, smd_conn *sink, const sm_msg *m, struct smd_cluster_proxy *proxy,
                                     sm_error *err);
void smd_listener_free_proxy(smd_server *srv, smd_listener *l);
/* Validates a key list (selectors *F and *U, fixed or user keys) into selector flags and distinct
 * interned named keys (malloc'd array); sends the error and returns false when invalid. */
bool smd_parse_keys(smd_server *srv, smd_conn *c, int64_t id, const sm_strs *keys, bool *all_fixed, bool *all_user,
                   const char ***named, size_t *nnamed);
void smd_release_keys(smd_server *srv, const char **named, size_t nnamed);
/* Scratch helpers. */
bool smd_server_reserve_kv(smd_server *srv, size_t n);
/* Fills kv with the properties of s a listener (or a get with these selectors/keys) asks for. */
size_t smd_collect_properties(smd_server *srv, const smd_session *s, bool all_fixed, bool all_user,
                             const char *const *keys, size_t nkeys, sm_kv *kv);

#endif
