/* libsessmon internals shared by the client/ modules, plus test hooks (never installed). */
#ifndef SM_CLIENT_INTERNAL_H
#define SM_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "client/sessmon.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/protocol.h"

/* Defaults (documented in sessmon.h). */
#define SM_CL_RX_BUFFER_DEFAULT 16384u
#define SM_CL_RECONNECT_INITIAL_MS 100
#define SM_CL_RECONNECT_MAX_MS 5000
#define SM_CL_CONNECT_TIMEOUT_MS 10000
#define SM_CL_MAX_QUEUED_BYTES (8u * 1024u * 1024u)
#define SM_CL_DEFAULT_MAX_MESSAGE 65536      /* server inbound limit until "opened" says otherwise */
#define SM_CL_LIVENESS_MARGIN_MS 5000
#define SM_CL_LIVENESS_MAX_MS 86400000 /* a server's heartbeat interval is believed up to a day */
#define SM_CL_CLOSE_SELF_TIMEOUT_MS 5000
#define SM_CL_CONNECTING_POLL_MS 10 /* lws drives the handshake; its fd is not polled yet */
#define SM_CL_ORPHAN_POLL_MS 50     /* connections being closed after their session let go */
#define SM_CL_IDLE_POLL_MS 1000     /* safety net for lws's internal timers */
/* Connections set up at once per context. lws keeps the handshake timeout of every connecting
 * socket in one sorted list with O(n) inserts: thousands connecting together (a load generator
 * starting, everyone reconnecting after a server restart) would cost O(n^2). */
#define SM_CL_MAX_CONNECTING 512
/* Up to this many sessions, max_sessions caps lws's fd table (saves memory in small programs);
 * lws 4.1.6 then finds a socket's connection by a linear scan, so larger tables stay uncapped. */
#define SM_CL_SMALL_TABLE 256

typedef struct sm_request sm_request;

/* Why a request exists: user requests report to on_reply; the others are the library's own. */
typedef enum sm_req_kind {
    SM_REQ_USER,
    SM_REQ_ADD_LISTENER,
    SM_REQ_REMOVE_LISTENER,
    SM_REQ_PROBE,     /* liveness ping */
    SM_REQ_CLOSE_SELF /* sm_session_close */
} sm_req_kind;

struct sm_request {
    sm_request *prev, *next;
    int64_t id;
    sm_msg_type op;
    sm_req_kind kind;
    bool sent;
    sm_reply_fn on_reply;
    void *context;
    int64_t deadline; /* monotonic ms; 0 = none */
    sm_listener *listener;
    sm_buf out;       /* encoded with LWS_PRE headroom; freed once written (lws masks it in place) */
};

typedef struct sm_req_list {
    sm_request *head, *tail;
    size_t count;
} sm_req_list;

/* Library-generated messages that jump the request queue (open/resume, heartbeat_ack). */
typedef struct sm_ctrl {
    struct sm_ctrl *next;
    sm_buf out;
} sm_ctrl;

/* The connection under a session. */
typedef enum sm_link {
    SM_LINK_IDLE,        /* no connection; a connect may be scheduled (next_connect_at) */
    SM_LINK_CONNECTING,  /* lws is connecting / doing the WebSocket handshake */
    SM_LINK_HANDSHAKING, /* WebSocket up, open/resume sent, waiting for opened/refused */
    SM_LINK_OPEN         /* opened: requests flow */
} sm_link;

typedef enum sm_lst_state {
    SM_LST_PENDING,  /* not registered on the current connection (yet) */
    SM_LST_ACTIVE,   /* registered: server_id valid */
    SM_LST_CLOSING,  /* remove_listener in flight */
    SM_LST_DONE      /* on_close delivered (or about to be); awaiting reclamation */
} sm_lst_state;

struct sm_listener {
    sm_listener *prev, *next;
    sm_session *session;
    sm_listener_params params; /* callbacks/context; keys and filter point at the copies below */
    char **keys;
    char *filter;
    int64_t server_id;
    sm_lst_state state;
    sm_request *reg_request; /* add_listener queued or in flight */
    bool registered_once;    /* next on_registered is a resync */
    bool close_requested;
    bool notify_close;       /* on_close due at the next safe point */
    bool dead;               /* on_close delivered; memory reclaimed when safe */
};

struct sm_session {
    sm_session *prev, *next;
    sm_client *client;

    /* Copied parameters. */
    sm_session_params params; /* callbacks, numbers; string pointers below are the copies */
    char *host;      /* for lws: address */
    char *host_header;
    char *path;
    int port;
    bool tls;
    char *principal;
    char *password;
    char *client_type;
    char *environment;
    char *local_address;
    bool server_audits; /* "audited" of the last opened */
    sm_property *props;
    size_t prop_count;

    /* Link. */
    struct lws *wsi;
    sm_link link;
    sm_session_status status;
    bool ever_opened;
    bool resume_sent;     /* the current attempt sent resume (not open) */
    bool close_requested; /* sm_session_close called */
    bool close_sent;      /* close_self queued */
    bool terminal;
    bool dead;            /* freed by the user; memory reclaimed when safe */
    bool drain;           /* lws holds a partial write: poll for POLLOUT */
    bool upgrade_sent;    /* lws wrote the WebSocket upgrade request (TCP is up) */
    bool upgrade_wait_extended; /* lws's own wait for the upgrade answer now lasts past link_deadline */
    bool listener_work;   /* a listener has a deferred on_close */
    int64_t next_connect_at;   /* monotonic ms; 0 = none */
    int64_t link_deadline;     /* connect/open deadline while CONNECTING/HANDSHAKING */
    int64_t dropped_at;        /* start of the current outage (for give-up), 0 = none */
    int64_t last_rx;           /* monotonic ms of the last message from the server */
    unsigned attempt;          /* reconnect attempts since the last successful open */
    /* The server's close frame, if any, on the current connection. */
    bool got_close_frame;
    int close_code;
    sm_reason close_reason;
    /* A "refused" on the current connection. */
    bool refused;
    sm_client_error refusal;
    /* Why the link failed (for on_disconnect / on_close). */
    sm_client_error link_error;
    /* Failed connection attempts since the last "opened" (on_connect_failed,
     * sm_session_last_failure). */
    unsigned failures;
    bool has_failure;         /* failure holds the latest one */
    bool failure_final;       /* no attempt follows it */
    sm_client_error failure;
    bool in_connect_call;     /* inside lws_client_connect_via_info: errno is the connect's */
    bool cert_rejected;       /* wss: the current attempt's server certificate failed verification */

    /* From "opened". */
    sm_session_info info;
    bool has_info;
    char *token;
    int64_t opened_at; /* monotonic ms */

    /* Receive reassembly. */
    sm_buf rx;

    /* Transmit. */
    sm_ctrl *ctrl_head, *ctrl_tail;
    sm_req_list queued;   /* not written yet */
    sm_req_list inflight; /* written, awaiting reply (in send order) */
    size_t queued_bytes;
    int64_t next_id;
    size_t timed_requests; /* requests with a deadline (queued or in flight) */
    /* No request deadline comes before this (0 = none): a lower bound, made exact whenever
     * requests expire, so a busy session is not walked request by request on every pass. */
    int64_t request_deadline_hint;
    bool probe_outstanding;

    sm_listener *listeners_head, *listeners_tail;
};

struct sm_client {
    struct lws_context *lws;
    struct lws_protocols protocols[2];
    lws_retry_bo_t retry_policy;
    char *ca_file;
    bool tls;

    sm_session *sessions_head, *sessions_tail;
    size_t session_count;

    int depth;            /* > 0 while callbacks may be on the stack */
    bool free_requested;  /* sm_client_free called inside a callback */
    bool reap_needed;     /* dead sessions/listeners to reclaim */
    bool work_pending;    /* deferred work: service soon */
    bool lws_kick;        /* lws needs one more service pass (async kill, orphan close) */
    unsigned orphans;     /* connections being closed whose session let go */
    unsigned connecting;  /* sessions with link CONNECTING or HANDSHAKING */
    uint64_t rng;
    int64_t now;          /* monotonic ms at the start of the current service pass */
    int orphan_marker;    /* address used as wsi user of orphaned connections */

    /* Scratch arrays for converting decoded maps to sm_property arrays without allocating per
     * event. */
    sm_property *scratch_a, *scratch_b;
    size_t scratch_a_cap, scratch_b_cap;
};

/* ---- client.c ---- */
void sm_cl_log(unsigned level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sm_client_errcode sm_cl_error(sm_client_error *err, sm_client_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Converts decoded key/value pairs to the public type in a reusable scratch array (a or b). */
const sm_property *sm_cl_props(sm_client *c, const sm_kvs *kvs, bool second);
sm_client_errcode sm_cl_errcode_from_wire(sm_errcode code);
sm_reason sm_cl_reason_from_wire(sm_close_reason reason);
uint64_t sm_cl_random(sm_client *c);
void sm_cl_enter(sm_client *c);
void sm_cl_leave(sm_client *c);

/* ---- session.c ---- */
int sm_cl_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);
/* Runs the due timers and deferred work of one session. */
void sm_cl_session_tick(sm_session *s, int64_t now);
/* The session's next deadline (monotonic ms), 0 = none. */
int64_t sm_cl_session_deadline(const sm_session *s);
bool sm_cl_session_wants_write(const sm_session *s);
void sm_cl_session_after_service(sm_session *s);
void sm_cl_session_destroy(sm_session *s);
void sm_cl_session_release_all(sm_session *s); /* cancel everything, detach the connection */
void sm_cl_session_kick(sm_session *s);        /* ask lws for a WRITEABLE if there is output */
void sm_cl_dispatch(sm_session *s, const char *json, size_t len);
/* Ends the attempts whose TCP connect failed, with the socket's own error, before lws_service()
 * collects it (lws 4.1.6 keeps only "Unable to connect"). */
void sm_cl_check_connects(sm_client *c);

/* ---- request.c ---- */
sm_request *sm_cl_request_new(sm_session *s, sm_req_kind kind, sm_msg *m, int timeout_ms,
                              sm_client_error *err);
void sm_cl_request_enqueue(sm_session *s, sm_request *r, bool front);
void sm_cl_request_free(sm_session *s, sm_request *r);
void sm_cl_list_remove(sm_req_list *l, sm_request *r);
void sm_cl_list_push(sm_req_list *l, sm_request *r, bool front);
/* Completes a request with an error (calls its callback), then frees it. The request must be
 * already unlinked. */
void sm_cl_request_fail(sm_session *s, sm_request *r, const sm_client_error *err);
void sm_cl_handle_reply(sm_session *s, const sm_msg *m);
void sm_cl_handle_error(sm_session *s, const sm_msg *m);
void sm_cl_fail_inflight(sm_session *s, const sm_client_error *err);
void sm_cl_fail_queued(sm_session *s, const sm_client_error *err);
void sm_cl_expire_requests(sm_session *s, int64_t now);
int64_t sm_cl_requests_deadline(const sm_session *s);
sm_client_errcode sm_cl_validate_props(const sm_property *props, size_t n, bool allow_null,
                                       sm_client_error *err);
sm_client_errcode sm_cl_validate_text(const char *what, const char *s, size_t max,
                                      sm_client_error *err);
/* Property keys of a get or a listener: INVALID_PROPERTY for an empty, too long or non-UTF-8 key. */
sm_client_errcode sm_cl_validate_keys(const char *const *keys, size_t n, sm_client_error *err);
/* A filter (required): INVALID_FILTER when too long or not UTF-8. */
sm_client_errcode sm_cl_validate_filter(const char *filter, sm_client_error *err);

/* ---- listener.c ---- */
void sm_cl_listeners_on_open(sm_session *s);       /* queue registrations after "opened" */
void sm_cl_listeners_on_link_down(sm_session *s); /* back to PENDING */
void sm_cl_listeners_end(sm_session *s, const sm_client_error *err); /* session ended/freed */
void sm_cl_listeners_tick(sm_session *s);          /* deferred on_close */
void sm_cl_listener_registered(sm_listener *l, int64_t server_id);
void sm_cl_listener_registration_failed(sm_listener *l, const sm_client_error *err);
void sm_cl_listener_removed(sm_listener *l);
void sm_cl_listener_finish(sm_listener *l, const sm_client_error *err); /* on_error? + on_close */
void sm_cl_handle_events(sm_session *s, const sm_msg *m);
void sm_cl_handle_snapshot_end(sm_session *s, const sm_msg *m);
void sm_cl_listener_destroy(sm_listener *l);

/* ---- Test hooks (tests and benchmarks only). ---- */

/* Creates a session that never connects and behaves as if it were open (permissions: all), so
 * messages can be fed to it with sm_client__inject_message. */
sm_session *sm_client__offline_session(sm_client *c, const sm_session_params *p);
/* Marks a listener of an offline session as registered under server_id (on_registered runs). */
void sm_client__bind_listener(sm_listener *l, int64_t server_id);
/* Runs one server message through the same decode/dispatch path as network data. */
void sm_client__inject_message(sm_session *s, const char *json, size_t len);
/* The session's current server-side token (to check resumption). */
const char *sm_client__token(const sm_session *s);

#endif
