/* Wire protocol codec (docs/protocol.md): message structs, strict JSON decoding, fast encoding. */
#ifndef SM_CORE_PROTOCOL_H
#define SM_CORE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define SM_PROTOCOL_NAME "sessmon.v1"
#define SM_CLIENT_MAX_MESSAGE (16u * 1024u * 1024u) /* largest server message a client accepts */
#define SM_INT_MAX_JSON 9007199254740991LL          /* 2^53 - 1 */
#define SM_ENVIRONMENT_MAX 256                      /* bytes of open's environment ($Environment) */

typedef enum sm_msg_type {
    SM_MSG_NONE = 0,
    /* client -> server */
    SM_MSG_OPEN,
    SM_MSG_RESUME,
    SM_MSG_GET,
    SM_MSG_SET,
    SM_MSG_SET_BY_FILTER,
    SM_MSG_CLOSE_SESSION,
    SM_MSG_CLOSE_BY_FILTER,
    SM_MSG_ADD_LISTENER,
    SM_MSG_REMOVE_LISTENER,
    SM_MSG_PING,
    SM_MSG_CLOSE_SELF,
    SM_MSG_HEARTBEAT_ACK,
    /* server -> client */
    SM_MSG_OPENED,
    SM_MSG_REFUSED,
    SM_MSG_REPLY,
    SM_MSG_ERROR,
    SM_MSG_EVENTS,
    SM_MSG_SNAPSHOT_END,
    SM_MSG_HEARTBEAT,
    SM_MSG_TYPE_COUNT
} sm_msg_type;

/* Error codes of `error` and `refused` messages. */
typedef enum sm_errcode {
    SM_CODE_NONE = 0,
    SM_CODE_ACCESS_DENIED,
    SM_CODE_NO_SUCH_SESSION,
    SM_CODE_NO_SUCH_LISTENER,
    SM_CODE_INVALID_FILTER,
    SM_CODE_INVALID_PROPERTY,
    SM_CODE_LIMIT_EXCEEDED,
    SM_CODE_INVALID_REQUEST,
    SM_CODE_AUTHENTICATION_FAILED,
    SM_CODE_INTERNAL_ERROR,
    SM_CODE_CLUSTER_UNAVAILABLE, /* cluster mode: Redis or the owning node cannot be reached (docs/cluster.md) */
    SM_CODE_COUNT
} sm_errcode;

/* Close reasons, exchanged by name. */
typedef enum sm_close_reason {
    SM_CLOSE_NONE = 0,
    SM_CLOSE_CLOSED_BY_CLIENT,
    SM_CLOSE_CLOSED_BY_CONTROLLER,
    SM_CLOSE_CONNECTION_LOST,
    SM_CLOSE_CLIENT_UNRESPONSIVE,
    SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED,
    SM_CLOSE_MESSAGE_TOO_LARGE,
    SM_CLOSE_INVALID_INBOUND_MESSAGE,
    SM_CLOSE_SERVER_CLOSING,
    SM_CLOSE_INTERNAL_ERROR,
    SM_CLOSE_ABORTED,
    SM_CLOSE_REASON_COUNT
} sm_close_reason;

typedef enum sm_session_state {
    SM_STATE_NONE = 0,
    SM_STATE_ACTIVE,
    SM_STATE_DISCONNECTED,
    SM_STATE_CLOSED,
    SM_STATE_COUNT
} sm_session_state;

typedef enum sm_event_type {
    SM_EVENT_NONE = 0,
    SM_EVENT_OPEN,
    SM_EVENT_PROPERTIES,
    SM_EVENT_DISCONNECTED,
    SM_EVENT_RECONNECTED,
    SM_EVENT_FAILED_OVER,
    SM_EVENT_CLOSED,
    SM_EVENT_FILTER_ENTER,
    SM_EVENT_FILTER_LEAVE,
    SM_EVENT_TYPE_COUNT
} sm_event_type;

/* Permission bits. */
enum {
    SM_PERM_VIEW_SESSION = 1u << 0,
    SM_PERM_MODIFY_SESSION = 1u << 1,
    SM_PERM_REGISTER_HANDLER = 1u << 2,
    SM_PERM_ALL = (1u << 3) - 1
};

/* Names <-> enums. *_name returns NULL for out-of-range values; *_from_name returns the NONE value
 * (0) for unknown names. */
const char *sm_msg_type_name(sm_msg_type t);
sm_msg_type sm_msg_type_from_name(const char *name);
const char *sm_errcode_name(sm_errcode c);
sm_errcode sm_errcode_from_name(const char *name);
const char *sm_close_reason_name(sm_close_reason r);
sm_close_reason sm_close_reason_from_name(const char *name);
/* WebSocket close code used for a close reason (docs/protocol.md § Closing); 1011 for an unknown value. */
int sm_close_reason_ws_code(sm_close_reason r);
const char *sm_state_name(sm_session_state s);
sm_session_state sm_state_from_name(const char *name);
const char *sm_event_type_name(sm_event_type t);
sm_event_type sm_event_type_from_name(const char *name);
const char *sm_permission_name(unsigned bit); /* one bit -> "view_session" etc. */
unsigned sm_permission_from_name(const char *name);

/* One key/value pair; value NULL encodes JSON null. Strings are borrowed (see sm_msg). */
typedef struct sm_kv {
    const char *key;
    const char *value;
} sm_kv;

/* Looks for a key that appears twice in kv[0..n) (JSON allows repeated member names, but a map
 * with two values for one key is ambiguous): *dup is one such key, or NULL. SM_ERR_NOMEM when a
 * large map's sorted copy cannot be made. */
int sm_kv_find_duplicate(const sm_kv *kv, size_t n, const char **dup);

typedef struct sm_kvs {
    sm_kv *items;
    size_t count;
} sm_kvs;

typedef struct sm_strs {
    const char **items;
    size_t count;
} sm_strs;

typedef struct sm_event {
    sm_event_type type;
    const char *session_id;
    sm_session_state state;
    sm_kvs properties;
    bool has_changed; /* `changed` present */
    sm_kvs changed;
    sm_close_reason reason; /* CLOSED only */
    bool snapshot;
} sm_event;

/* A decoded or to-be-encoded message. Which fields matter depends on type (docs/protocol.md).
 * After sm_msg_decode every string points into memory owned by the message and stays valid
 * until sm_msg_free. For sm_msg_encode the caller owns every pointer. */
typedef struct sm_msg {
    sm_msg_type type;
    int64_t id; /* requests, reply, error (0 = absent) */

    /* open */
    const char *principal;
    const char *password;     /* NULL = absent */
    const char *client_type;  /* NULL = absent */
    const char *environment;  /* NULL = absent */
    /* resume, get, set, close_session, opened */
    const char *session_id;
    const char *token;        /* resume, opened */
    sm_kvs properties;        /* open, set, set_by_filter, reply(get) */
    sm_kvs changed;           /* reply(set) */
    bool has_keys;
    sm_strs keys;             /* get, add_listener */
    const char *filter;       /* set_by_filter, close_by_filter, add_listener (NULL = none) */
    bool has_after;
    int64_t after;            /* add_listener */
    bool changed_only;        /* add_listener: events carry changed keys only, not the full set */
    int64_t listener;         /* remove_listener, reply(add_listener), events, snapshot_end */
    sm_msg_type op;           /* reply: which request it answers */
    int64_t count;            /* reply(set_by_filter, close_by_filter), snapshot_end */
    sm_strs missing;          /* reply(*_by_filter), snapshot_end: cluster nodes that did not answer (optional) */
    int64_t time;             /* reply(ping) */
    int64_t seq;              /* heartbeat, heartbeat_ack */

    /* opened (principal and session_id/token above are reused) */
    const char *roles;
    unsigned permissions;
    const char *server_name;
    bool resumed;
    int64_t reconnect_timeout;
    int64_t heartbeat_interval;
    int64_t max_message_bytes;
    bool audited; /* the server writes an audit log of mutating requests (optional on the wire) */

    /* error, refused */
    sm_errcode code;
    const char *message;

    /* events */
    sm_event *events;
    size_t event_count;

    void *priv_json;  /* decoder-owned parse tree */
    void *priv_alloc; /* decoder-owned arrays */
} sm_msg;

/* Decodes one message of len bytes (need not be NUL-terminated). Strict: invalid JSON, not an
 * object, unknown type, missing or wrongly typed field, bad enum name, non-UTF-8 text, "\u0000",
 * len > max_len (0 = no limit) -> SM_ERR_INVALID (or SM_ERR_LIMIT for size) with a message.
 * On failure out->type and out->id are still set when they could be read, so the server can
 * answer with the right id; sm_msg_free must be called either way. */
int sm_msg_decode(const char *json, size_t len, size_t max_len, sm_msg *out, sm_error *err);
void sm_msg_free(sm_msg *m);

/* Appends the JSON text of m to out. SM_OK, SM_ERR_INVALID (type/field combination that cannot be
 * encoded) or SM_ERR_LIMIT (out->max reached). */
int sm_msg_encode(const sm_msg *m, sm_buf *out);

/* Incremental encoding of an `events` message, for servers writing batches as events happen:
 * begin, then add each event, then end. */
int sm_events_begin(sm_buf *out, int64_t listener);
int sm_events_add(sm_buf *out, const sm_event *ev, bool first);
int sm_events_end(sm_buf *out);

#endif
