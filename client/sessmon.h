/* libsessmon public API: an asynchronous sessmon client driven from the caller's own poll() loop. */
#ifndef SESSMON_H
#define SESSMON_H

/*
 * Overview
 * ========
 *
 * libsessmon talks to a sessmond server (docs/protocol.md) over ws:// or wss://. It has three
 * kinds of objects:
 *
 *   sm_client    a context. It owns one libwebsockets context and can hold any number of
 *                sessions (thousands, for a load generator). It owns no thread and no loop.
 *   sm_session   one server session of yours: one connection at a time, re-established
 *                automatically after an abrupt drop.
 *   sm_listener  a session listener registered through a session: it reports the server's
 *                sessions (a snapshot, then live events).
 *
 * Every call that talks to the server takes a params struct holding its arguments, its
 * callbacks and a `context` pointer handed back to every callback. Zero-initialise params
 * structs (`sm_get_params p = {0};`): every field that is 0 takes its documented default, so
 * later versions can add fields without breaking callers.
 *
 * Driving the library (it never blocks, it never owns a loop)
 * -----------------------------------------------------------
 *
 *     for (;;) {
 *         struct pollfd fds[64];
 *         int n = my_fds(fds);                                  // stdin, a signal pipe, ...
 *         int wanted = sm_client_pollfds(cl, fds + n, 64 - n);  // how many it NEEDS
 *         n += wanted < 64 - n ? wanted : 64 - n;               // more than fit: see its doc
 *         int timeout = min_timeout(my_next_timer(), sm_client_timeout_ms(cl));
 *         poll(fds, n, timeout);
 *         handle_my_fds(fds);
 *         sm_client_service(cl);                                // always, even after a timeout
 *     }
 *
 * sm_client_service() reads and writes whatever is ready, runs timers (reconnect back-off,
 * request timeouts, liveness) and calls your callbacks. Call it after every poll() wake-up,
 * whatever woke you. For one-shot command-line tools, sm_client_run_until() runs such a loop
 * internally.
 *
 * Callbacks and re-entrancy
 * -------------------------
 *
 * Callbacks run only inside sm_client_service() (or the run helpers), or inside
 * sm_session_free() / sm_client_free(), which cancel what is outstanding. A callback may call
 * any function of this API, including sm_session_close(), sm_session_free(),
 * sm_listener_close() and sm_client_free(): frees are deferred until the library is back at a
 * safe point, and no further callback is made for a freed object. The one exception: calling
 * sm_client_service() or a run helper from inside a callback does nothing (returns at once).
 *
 * Every pointer handed to a callback (strings, property arrays, event and error structs) is
 * valid only until that callback returns: copy what you keep.
 *
 * Strings from the server are valid UTF-8 without NUL bytes, but they are untrusted: escape
 * control characters before printing them on a terminal.
 *
 * Threads: an sm_client and everything in it must be used from one thread at a time.
 * Different sm_client objects may live in different threads, except that the log sink
 * (sm_client_set_log_sink) is process-wide.
 *
 * Errors
 * ------
 *
 * Functions that can fail return an sm_client_errcode (SM_CLIENT_OK = 0) and fill the
 * optional sm_client_error. When a request function fails, its callback is never called;
 * when it succeeds, its callback is called exactly once (with a reply, a server error, a
 * timeout, "connection lost" or "cancelled").
 */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_client sm_client;
typedef struct sm_session sm_session;
typedef struct sm_listener sm_listener;

/* ---------------------------------------------------------------------------------------- */
/* Basic types                                                                               */

/* A property. In maps of previous values, value NULL means "the key did not exist before"; in
 * sm_set_params, value NULL means "delete this key". */
typedef struct sm_property {
    const char *key;
    const char *value;
} sm_property;

typedef enum sm_client_errcode {
    SM_CLIENT_OK = 0,
    /* Codes sent by the server (docs/protocol.md, "error" and "refused"). */
    SM_CLIENT_ERR_ACCESS_DENIED,         /* a permission is missing; nothing changed */
    SM_CLIENT_ERR_NO_SUCH_SESSION,       /* the target session ID is unknown or closed */
    SM_CLIENT_ERR_NO_SUCH_LISTENER,
    SM_CLIENT_ERR_INVALID_FILTER,        /* the message names the column */
    SM_CLIENT_ERR_INVALID_PROPERTY,      /* a key or value failed validation */
    SM_CLIENT_ERR_LIMIT_EXCEEDED,        /* too many properties or listeners */
    SM_CLIENT_ERR_INVALID_REQUEST,
    SM_CLIENT_ERR_AUTHENTICATION_FAILED, /* bad principal/password, or anonymous not allowed */
    SM_CLIENT_ERR_INTERNAL_ERROR,        /* a server fault */
    /* Codes produced by the library. */
    SM_CLIENT_ERR_INVALID_ARGUMENT, /* a bad argument, caught before anything was sent */
    SM_CLIENT_ERR_NOMEM,
    SM_CLIENT_ERR_CONNECT_FAILED,   /* could not connect, or the WebSocket handshake failed */
    SM_CLIENT_ERR_CONNECTION_LOST,  /* the connection dropped while the request was in flight,
                                       or reconnecting was given up */
    SM_CLIENT_ERR_TIMEOUT,          /* no reply within the request's timeout_ms */
    SM_CLIENT_ERR_CLOSED,           /* the session is closed (by you or by the server) */
    SM_CLIENT_ERR_CANCELLED,        /* the session or the client was freed */
    SM_CLIENT_ERR_QUEUE_FULL,       /* the outbound queue limit was reached */
    SM_CLIENT_ERR_PROTOCOL,         /* the server sent something docs/protocol.md forbids */
    /* Sent by the server; after the library's codes so that earlier values keep their numbers. */
    SM_CLIENT_ERR_CLUSTER_UNAVAILABLE, /* cluster mode: Redis or the node holding the session cannot be
                                          reached; nothing was changed (docs/cluster.md). Also the code
                                          of on_error when a listener's view is degraded */
    SM_CLIENT_ERR_CODE_COUNT
} sm_client_errcode;

#define SM_CLIENT_ERROR_MESSAGE_MAX 256

typedef struct sm_client_error {
    sm_client_errcode code;
    char message[SM_CLIENT_ERROR_MESSAGE_MAX]; /* human text; for server errors, the server's */
} sm_client_error;

/* "ACCESS_DENIED", "CONNECTION_LOST", ... (the protocol's names for server codes); "OK" for 0;
 * "UNKNOWN" for an out-of-range value. */
const char *sm_client_errcode_name(sm_client_errcode code);

/* Why a session was closed, as reported by the server (docs/protocol.md § Closing). */
typedef enum sm_reason {
    SM_REASON_NONE = 0, /* no reason (e.g. the connection could not be made) */
    SM_REASON_CLOSED_BY_CLIENT,
    SM_REASON_CLOSED_BY_CONTROLLER,
    SM_REASON_CONNECTION_LOST,
    SM_REASON_CLIENT_UNRESPONSIVE,
    SM_REASON_MESSAGE_QUEUE_LIMIT_REACHED,
    SM_REASON_MESSAGE_TOO_LARGE,
    SM_REASON_INVALID_INBOUND_MESSAGE,
    SM_REASON_SERVER_CLOSING,
    SM_REASON_INTERNAL_ERROR,
    SM_REASON_ABORTED,
    SM_REASON_COUNT
} sm_reason;

/* "CLOSED_BY_CONTROLLER", ...; "NONE" for SM_REASON_NONE; "UNKNOWN" when out of range. */
const char *sm_reason_name(sm_reason reason);

/* Permission bits of sm_session_info.permissions. */
enum {
    SM_PERMISSION_VIEW_SESSION = 1u << 0,
    SM_PERMISSION_MODIFY_SESSION = 1u << 1,
    SM_PERMISSION_REGISTER_HANDLER = 1u << 2
};

/* ---------------------------------------------------------------------------------------- */
/* Logging                                                                                   */

enum {
    SM_LOG_ERR = 1u << 0,
    SM_LOG_WARN = 1u << 1,
    SM_LOG_NOTICE = 1u << 2,
    SM_LOG_INFO = 1u << 3,
    SM_LOG_DEBUG = 1u << 4
};

/* level is one SM_LOG_* bit; line is one log line (it may end with '\n'). */
typedef void (*sm_log_fn)(unsigned level, const char *line, void *user);

/* Routes libwebsockets' log and the library's own messages of the given levels to fn. The
 * default is to discard everything: nothing is ever written to the terminal. The setting is
 * process-wide (libwebsockets' logger is global); call it before sm_client_new(). fn NULL or
 * levels 0 discards. */
void sm_client_set_log_sink(sm_log_fn fn, void *user, unsigned levels);

/* ---------------------------------------------------------------------------------------- */
/* Client context                                                                            */

typedef struct sm_client_params {
    /* Sessions you will hold at once. Up to 256, it sizes libwebsockets' fd table to that
     * (saving memory; connections beyond it then fail with CONNECT_FAILED). 0 or more than 256:
     * the table follows the process's open-file limit (raise it before sm_client_new). */
    unsigned max_sessions;
    /* Bytes libwebsockets reads per connection at a time; it allocates this much per connected
     * session. 0 = 16384. Load generators with thousands of sessions may want 1024. Messages
     * larger than this are reassembled by the library (up to 16 MiB). */
    unsigned rx_buffer_size;
    /* wss://: a PEM file of CA certificates to trust in addition to the system's. A file that
     * cannot be read makes sm_client_new fail with SM_CLIENT_ERR_INVALID_ARGUMENT (unless
     * no_tls is set, when it is ignored). */
    const char *ca_file;
    /* Set to true to skip initialising OpenSSL when you will never use wss:// (saves start-up
     * time and memory); wss:// sessions then fail with SM_CLIENT_ERR_INVALID_ARGUMENT. */
    bool no_tls;
} sm_client_params;

/* Creates a client context. p may be NULL (all defaults). Returns NULL on failure (err says why). */
sm_client *sm_client_new(const sm_client_params *p, sm_client_error *err);

/* Frees the context and every session still in it (like sm_session_free on each: outstanding
 * request callbacks get SM_CLIENT_ERR_CANCELLED, listeners get on_close). Connections are cut
 * without a close frame, so a still-open session of yours lingers on the server as
 * DISCONNECTED until its reconnect timeout: close sessions first (sm_session_close, then
 * service until on_close) when that matters. Safe inside a callback (deferred). NULL is a no-op. */
void sm_client_free(sm_client *c);

/* Poll integration. Writes up to max entries (fd, events; revents = 0) describing the sockets
 * to watch into fds and returns how many it needs in total. When the return value is larger
 * than max, only max entries were written: call again with a bigger array (the timeout from
 * sm_client_timeout_ms is still correct, so a short array only delays I/O). fds may be NULL
 * when max is 0. The set changes from call to call (connections come and go): build it anew
 * before every poll(). While a connection is being set up, sm_client_timeout_ms() stays short
 * (libwebsockets drives the handshake). */
int sm_client_pollfds(sm_client *c, struct pollfd *fds, int max);

/* Milliseconds until sm_client_service() must be called even if no fd is ready: 0 when work is
 * waiting, -1 when nothing is scheduled. Use the minimum of this and your own timers. */
int sm_client_timeout_ms(sm_client *c);

/* Does all pending work without blocking: reads and writes ready sockets, runs due timers,
 * makes the callbacks. Call after every poll() wake-up (fd ready, timeout or EINTR). Calling
 * it when nothing is ready is harmless. Inside a callback it does nothing. */
void sm_client_service(sm_client *c);

/* Blocking helper for one-shot tools: polls the client's fds and services them until *done
 * becomes non-zero (checked after each pass; a signal handler may set it) or timeout_ms
 * passes (-1 = no limit). Returns SM_CLIENT_OK when *done was set, SM_CLIENT_ERR_TIMEOUT
 * otherwise. Waits at most 100 ms per pass so a flag set by a signal handler is seen quickly. */
sm_client_errcode sm_client_run_until(sm_client *c, const volatile int *done, int timeout_ms);

/* One blocking pass: waits up to max_wait_ms (clamped by the library's own deadline; -1 = as
 * long as the library allows) for the client's fds, then services. For programs whose only
 * fds are the library's (load generators). */
void sm_client_run_once(sm_client *c, int max_wait_ms);

/* ---------------------------------------------------------------------------------------- */
/* Sessions                                                                                  */

typedef enum sm_session_status {
    SM_SESSION_CONNECTING = 1, /* first connection and open in progress */
    SM_SESSION_OPEN,           /* opened; requests flow */
    SM_SESSION_RECONNECTING,   /* the connection dropped; retrying with back-off */
    SM_SESSION_CLOSED          /* final; see on_close */
} sm_session_status;

/* What the server told us when it accepted the session. */
typedef struct sm_session_info {
    const char *session_id;
    const char *principal; /* "" = anonymous */
    const char *roles;     /* canonical $Roles text */
    unsigned permissions;  /* SM_PERMISSION_* bits */
    const char *server_name;
    bool resumed;          /* a reconnect resumed the same session (same ID) */
    bool replaced;         /* a reconnect could not resume: this is a NEW session, new ID */
    int64_t reconnect_timeout_ms;
    int64_t heartbeat_interval_ms;
    int64_t max_message_bytes; /* largest message the server accepts from us */
} sm_session_info;

typedef struct sm_session_params {
    /* ws://host[:port][/path] or wss://... host may be a name (resolved with a blocking lookup:
     * prefer IP literals in latency-sensitive programs) or an IP literal ([::1] for IPv6). */
    const char *url;
    const char *principal; /* NULL or "" = anonymous */
    const char *password;  /* ignored for anonymous */
    const sm_property *properties; /* proposed user properties (values must not be NULL) */
    size_t property_count;
    const char *client_type;   /* $ClientType; NULL = "C" */
    const char *environment;   /* $Environment; NULL = "libsessmon" */
    const char *local_address; /* source IP literal (or interface name) to bind; NULL = any */
    bool allow_self_signed;    /* wss: accept a self-signed certificate, skip the host name
                                  check (tests only; prefer sm_client_params.ca_file) */

    /* Reconnection after an abrupt drop (no close frame). A close by the server with a reason
     * (CLOSED_BY_CONTROLLER, SERVER_CLOSING, ...) or a refusal is final and never retried. */
    bool no_reconnect;          /* true: an abrupt drop closes the session (CONNECTION_LOST) */
    bool retry_initial_connect; /* true: a failed FIRST connection is retried like a drop;
                                   false: it closes the session with CONNECT_FAILED */
    int reconnect_initial_ms;   /* first back-off delay; 0 = 100 */
    int reconnect_max_ms;       /* back-off cap (doubling, with jitter); 0 = 5000 */
    int reconnect_give_up_ms;   /* stop retrying this long after the drop; 0 = never */
    int connect_timeout_ms;     /* per attempt, until the server's "opened"; 0 = 10000 */
    /* No data from the server for this long: the library sends a ping, and drops the
     * connection (then reconnects) if nothing arrives for as long again. 0 = the server's
     * heartbeat interval + 5000; negative = never. */
    int liveness_timeout_ms;
    /* Bytes of requests queued (not yet written) before new requests fail with QUEUE_FULL.
     * 0 = 8 MiB. */
    size_t max_queued_bytes;

    /* The server accepted the session: first open, resumed after a reconnect, or replaced by
     * a new session (info->replaced) because the old one could not be resumed. */
    void (*on_open)(sm_session *s, const sm_session_info *info, void *context);
    /* The connection dropped abruptly; the library is reconnecting (state RECONNECTING).
     * Requests that were in flight have already failed with CONNECTION_LOST; queued ones wait.
     * Listeners are re-registered after reconnecting (on_registered with resync). */
    void (*on_disconnect)(sm_session *s, const sm_client_error *cause, void *context);
    /* Final. reason: the server's close reason (SM_REASON_CLOSED_BY_CLIENT after your own
     * sm_session_close), SM_REASON_NONE when there was none. error->code is SM_CLIENT_OK for a
     * close you asked for, otherwise why (e.g. AUTHENTICATION_FAILED for a refused open,
     * CONNECT_FAILED, CONNECTION_LOST when reconnecting was given up, CLOSED for a close by the
     * server). The handle stays valid until you call sm_session_free. */
    void (*on_close)(sm_session *s, sm_reason reason, const sm_client_error *error, void *context);
    /* An error not tied to a request (e.g. an undecodable server message). Optional. */
    void (*on_error)(sm_session *s, const sm_client_error *error, void *context);
    void *context;

    /* A connection attempt failed: every attempt that ends without the server's "opened"
     * (cannot connect, TLS or WebSocket handshake failed, no answer within connect_timeout_ms,
     * the connection closed before "opened", the open refused). cause->code is CONNECT_FAILED
     * (or the refusal's code, PROTOCOL, NOMEM); cause->message is a short printable ASCII reason
     * such as "connection refused" or "timed out after 2000 ms waiting for the WebSocket
     * handshake" (a refusal carries the server's message: untrusted).
     * attempt counts the failed attempts since the session was last open (1, 2, ...).
     * next_retry_ms: when the next attempt starts, from now; -1 when this failure is final
     * (no retry: on_close follows). Not called after your own close, nor when a resume is
     * answered NO_SUCH_SESSION (a new session is opened at once). Optional.
     * See also sm_session_last_failure(). */
    void (*on_connect_failed)(sm_session *s, const sm_client_error *cause, unsigned attempt,
                              int next_retry_ms, void *context);
} sm_session_params;

/* Creates a session and starts connecting (asynchronously: nothing happens until the next
 * sm_client_service, and no callback is ever made from inside this call). All strings are
 * copied. Requests and listeners may be issued at once: they are sent after the open. Returns
 * NULL with err filled on a bad argument (URL, property) or out of memory. */
sm_session *sm_session_open(sm_client *c, const sm_session_params *p, sm_client_error *err);

/* Closes your own session gracefully: the server closes it with CLOSED_BY_CLIENT, then
 * on_close is called (with SM_REASON_CLOSED_BY_CLIENT and code SM_CLIENT_OK). Requests not yet
 * answered fail with SM_CLIENT_ERR_CLOSED. Returns SM_CLIENT_ERR_CLOSED when already closed. */
sm_client_errcode sm_session_close(sm_session *s, sm_client_error *err);

/* Frees the session at once (deferred when called inside a callback). If connected, a close
 * frame is sent (the server then closes it with CLOSED_BY_CLIENT) as long as the client
 * context is serviced a little longer. Outstanding request callbacks are called with
 * SM_CLIENT_ERR_CANCELLED and listeners get on_close; on_close of the session is NOT called.
 * NULL is a no-op. */
void sm_session_free(sm_session *s);

/* Cuts the session's connection abruptly, without a close frame, as a network failure would:
 * for a program's own fault-tolerance tests. The library notices at its next service pass and
 * does what it does after any drop: on_disconnect (requests in flight fail with
 * CONNECTION_LOST), reconnects with back-off and resumes the session (on_open with resumed),
 * or opens a replacement if the server no longer holds it. The server sees a lost connection
 * (DISCONNECTED, then RECONNECTED). Returns SM_CLIENT_ERR_CLOSED for a session closed or
 * closing, SM_CLIENT_ERR_CONNECTION_LOST when it has no connection to cut right now
 * (connecting, or already reconnecting), SM_CLIENT_ERR_INVALID_ARGUMENT for NULL. */
sm_client_errcode sm_session_drop_connection(sm_session *s, sm_client_error *err);

sm_session_status sm_session_get_status(const sm_session *s);
/* What the server said in its last "opened", or NULL before the first one. Valid until the
 * next on_open or until the session is freed. */
const sm_session_info *sm_session_get_info(const sm_session *s);
/* True when the server said (in its last "opened") that it writes an audit log of mutating
 * requests (set, close, by ID or by filter; docs/security.md § Audit log): a program can tell its
 * user that a change will be recorded. False before the first open, and with servers that do not
 * say (older ones). */
bool sm_session_server_audits(const sm_session *s);
void *sm_session_get_context(const sm_session *s);
sm_client *sm_session_get_client(const sm_session *s);
/* The last failed connection attempt since the session was last open (what on_connect_failed
 * reported), for programs that poll instead of taking the callback; NULL when no attempt has
 * failed since then (or s is NULL). *attempt (optional) gets its number (0 with NULL);
 * *next_retry_ms (optional) the ms from now until the next attempt starts, 0 when one is under
 * way or due, -1 when none will be made (the session is closed or closing). The error is valid
 * until the next sm_client_service or a free. */
const sm_client_error *sm_session_last_failure(const sm_session *s, unsigned *attempt, int *next_retry_ms);

/* ---------------------------------------------------------------------------------------- */
/* Requests                                                                                  */

/* Result of a request, passed to its on_reply callback. */
typedef struct sm_reply {
    /* NULL on success. Otherwise the failure: a server error (code and the server's message)
     * or one of CONNECTION_LOST, TIMEOUT, CLOSED, CANCELLED, PROTOCOL. */
    const sm_client_error *error;
    /* sm_get_properties: the properties the target has among those asked for (absent keys
     * are left out). sm_set_properties: each key whose value changed -> its PREVIOUS value
     * (NULL = the key was added). Otherwise empty. */
    const sm_property *properties;
    size_t property_count;
    /* sm_set_properties_by_filter: sessions matched; sm_close_by_filter: sessions closed. */
    uint64_t count;
    /* sm_ping: the server's clock (ms since the epoch). */
    int64_t server_time;
} sm_reply;

typedef void (*sm_reply_fn)(sm_session *s, const sm_reply *reply, void *context);

/* Common tail of every request's params: the callback (optional: NULL = fire and forget),
 * its context, and a timeout in ms from the call (0 = none) after which on_reply gets
 * SM_CLIENT_ERR_TIMEOUT (a reply arriving later is ignored). */
#define SM_REQUEST_COMMON \
    sm_reply_fn on_reply;  \
    void *context;         \
    int timeout_ms

/* get (needs view_session): keys are property names or the selectors "*F" (all fixed) and
 * "*U" (all user); none = both selectors. */
typedef struct sm_get_params {
    const char *session_id;
    const char *const *keys;
    size_t key_count;
    SM_REQUEST_COMMON;
} sm_get_params;
sm_client_errcode sm_get_properties(sm_session *s, const sm_get_params *p, sm_client_error *err);

/* set (needs view_session + modify_session): user keys, or the settable fixed keys $Country,
 * $Language, $Latitude, $Longitude; value NULL deletes the key. The reply lists each changed
 * key with its previous value. */
typedef struct sm_set_params {
    const char *session_id;
    const sm_property *properties;
    size_t property_count;
    SM_REQUEST_COMMON;
} sm_set_params;
sm_client_errcode sm_set_properties(sm_session *s, const sm_set_params *p, sm_client_error *err);

/* set_by_filter (needs view_session + modify_session): applies the map to every session
 * matching the filter; the reply's count is the number of sessions matched. */
typedef struct sm_set_by_filter_params {
    const char *filter;
    const sm_property *properties;
    size_t property_count;
    SM_REQUEST_COMMON;
} sm_set_by_filter_params;
sm_client_errcode sm_set_properties_by_filter(sm_session *s, const sm_set_by_filter_params *p,
                                              sm_client_error *err);

/* close_session (needs view_session + modify_session): closes another session, which ends
 * with CLOSED_BY_CONTROLLER. */
typedef struct sm_close_by_id_params {
    const char *session_id;
    SM_REQUEST_COMMON;
} sm_close_by_id_params;
sm_client_errcode sm_close_by_id(sm_session *s, const sm_close_by_id_params *p, sm_client_error *err);

/* close_by_filter (needs view_session + modify_session): the reply's count is the number of
 * sessions closed. */
typedef struct sm_close_by_filter_params {
    const char *filter;
    SM_REQUEST_COMMON;
} sm_close_by_filter_params;
sm_client_errcode sm_close_by_filter(sm_session *s, const sm_close_by_filter_params *p,
                                     sm_client_error *err);

/* ping (no permission needed): the reply carries the server's clock. */
typedef struct sm_ping_params {
    SM_REQUEST_COMMON;
} sm_ping_params;
sm_client_errcode sm_ping(sm_session *s, const sm_ping_params *p, sm_client_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Session listeners                                                                         */

/* What happened to a session that is not the listener's "open" or "close". */
typedef enum sm_update_type {
    SM_UPDATE_PROPERTIES = 1, /* some requested properties changed */
    SM_UPDATE_DISCONNECTED,   /* lost its connection; may come back */
    SM_UPDATE_RECONNECTED,    /* came back (resumed) */
    SM_UPDATE_FAILED_OVER     /* came back on another cluster member */
} sm_update_type;

/* State of a reported session after the event. */
typedef enum sm_remote_state {
    SM_REMOTE_ACTIVE = 1,
    SM_REMOTE_DISCONNECTED,
    SM_REMOTE_CLOSED
} sm_remote_state;

/* One event about one session, as passed to the listener callbacks. */
typedef struct sm_session_event {
    const char *session_id;
    sm_remote_state state;
    /* on_session_open, on_filter_enter, on_session_close, on_session_update: every requested
     * property the session has (its last values for a close; a deleted key is absent here and
     * present in previous). With changed_only, on_session_update gets only the NEW values of
     * the requested keys that changed, and on_session_close nothing. on_filter_leave: empty. */
    const sm_property *properties;
    size_t property_count;
    /* on_session_update: the PREVIOUS values of the requested keys that changed (value NULL =
     * the key was added). Otherwise empty. */
    const sm_property *previous;
    size_t previous_count;
    sm_update_type update; /* on_session_update only */
    sm_reason reason;      /* on_session_close only (SM_REASON_NONE for a folded filter leave) */
    bool snapshot;         /* on_session_open: part of the initial snapshot */
    /* fold_filter_events only: this open/close is the session entering/leaving the filter
     * (FILTER_ENTER/FILTER_LEAVE), not the session opening/closing. */
    bool filter_change;
} sm_session_event;

typedef struct sm_registration {
    int64_t listener_id; /* the server's ID for this registration */
    /* true after a reconnection: everything this listener reported before is void (the
     * server may have lost state); a fresh snapshot follows, ended by on_snapshot_end. */
    bool resync;
} sm_registration;

typedef void (*sm_listener_event_fn)(sm_listener *l, const sm_session_event *ev, void *context);

/* Register a session listener (needs view_session + register_handler). Every callback is
 * optional. Order of calls: on_registered, snapshot on_session_open events (snapshot = true),
 * on_snapshot_end, then live events; after a reconnection on_registered (resync = true) and
 * a new snapshot. The last call is always on_close; the handle is freed after it returns. */
typedef struct sm_listener_params {
    /* Requested properties: names and/or "*F" / "*U". None: events carry no properties and no
     * property updates are reported (filter enter/leave still are). */
    const char *const *keys;
    size_t key_count;
    const char *filter; /* NULL = every session */
    bool has_after;     /* report only sessions started after `after` (ms since the epoch) */
    int64_t after;

    void (*on_registered)(sm_listener *l, const sm_registration *r, void *context);
    /* The server refused the registration (ACCESS_DENIED, INVALID_FILTER, LIMIT_EXCEEDED, ...).
     * on_close follows. */
    void (*on_registration_error)(sm_listener *l, const sm_client_error *error, void *context);
    sm_listener_event_fn on_session_open;   /* OPEN: a session exists or was opened */
    sm_listener_event_fn on_session_update; /* PROPERTIES / DISCONNECTED / RECONNECTED / FAILED_OVER */
    sm_listener_event_fn on_session_close;  /* CLOSED, with ev->reason */
    sm_listener_event_fn on_filter_enter;   /* started matching the filter (all requested props) */
    sm_listener_event_fn on_filter_leave;   /* stopped matching; nothing more about it unless
                                               it matches again */
    void (*on_snapshot_end)(sm_listener *l, uint64_t count, void *context);
    /* The listener ended because of an error (its session closed, reconnection given up);
     * on_close follows. */
    void (*on_error)(sm_listener *l, const sm_client_error *error, void *context);
    /* Last call for this listener: after sm_listener_close, a registration error, or the end
     * of its session. The handle is invalid once this returns. */
    void (*on_close)(sm_listener *l, void *context);
    void *context;

    /* Updates carry only the requested keys that changed, not every requested key (less to
     * send and decode when the caller keeps the full state itself, as the monitor does). */
    bool changed_only;
    /* Compatibility with the reference's session-properties listener (open, update and close
     * callbacks only): a session entering the filter is reported to on_session_open and one
     * leaving it to on_session_close (reason SM_REASON_NONE, ev->filter_change true), so the
     * set of sessions "open" for the caller stays exactly the set matching the filter.
     * on_filter_enter/on_filter_leave are then not called. */
    bool fold_filter_events;
} sm_listener_params;

/* Registers a listener through session s (sent once the session is open). Strings are
 * copied (they are re-sent after a reconnection). Returns NULL with err filled on a bad
 * argument or when s is closed. */
sm_listener *sm_listener_register(sm_session *s, const sm_listener_params *p, sm_client_error *err);

/* Unregisters: no more events are delivered from now on, and on_close follows (from a later
 * sm_client_service, never from inside this call). Calling it again, or after on_close has
 * been scheduled, is a no-op. */
void sm_listener_close(sm_listener *l);

void *sm_listener_get_context(const sm_listener *l);
sm_session *sm_listener_get_session(const sm_listener *l);

#ifdef __cplusplus
}
#endif

#endif
