/* Wire protocol codec (docs/protocol.md), part 1: enum name tables and the hand-written JSON encoder. */
#include "core/protocol.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const msg_type_names[SM_MSG_TYPE_COUNT] = {
    [SM_MSG_OPEN] = "open",
    [SM_MSG_RESUME] = "resume",
    [SM_MSG_GET] = "get",
    [SM_MSG_SET] = "set",
    [SM_MSG_SET_BY_FILTER] = "set_by_filter",
    [SM_MSG_CLOSE_SESSION] = "close_session",
    [SM_MSG_CLOSE_BY_FILTER] = "close_by_filter",
    [SM_MSG_ADD_LISTENER] = "add_listener",
    [SM_MSG_REMOVE_LISTENER] = "remove_listener",
    [SM_MSG_PING] = "ping",
    [SM_MSG_CLOSE_SELF] = "close_self",
    [SM_MSG_HEARTBEAT_ACK] = "heartbeat_ack",
    [SM_MSG_OPENED] = "opened",
    [SM_MSG_REFUSED] = "refused",
    [SM_MSG_REPLY] = "reply",
    [SM_MSG_ERROR] = "error",
    [SM_MSG_EVENTS] = "events",
    [SM_MSG_SNAPSHOT_END] = "snapshot_end",
    [SM_MSG_HEARTBEAT] = "heartbeat",
};

static const char *const errcode_names[SM_CODE_COUNT] = {
    [SM_CODE_ACCESS_DENIED] = "ACCESS_DENIED",
    [SM_CODE_NO_SUCH_SESSION] = "NO_SUCH_SESSION",
    [SM_CODE_NO_SUCH_LISTENER] = "NO_SUCH_LISTENER",
    [SM_CODE_INVALID_FILTER] = "INVALID_FILTER",
    [SM_CODE_INVALID_PROPERTY] = "INVALID_PROPERTY",
    [SM_CODE_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
    [SM_CODE_INVALID_REQUEST] = "INVALID_REQUEST",
    [SM_CODE_AUTHENTICATION_FAILED] = "AUTHENTICATION_FAILED",
    [SM_CODE_INTERNAL_ERROR] = "INTERNAL_ERROR",
    [SM_CODE_CLUSTER_UNAVAILABLE] = "CLUSTER_UNAVAILABLE",
};

static const char *const close_reason_names[SM_CLOSE_REASON_COUNT] = {
    [SM_CLOSE_CLOSED_BY_CLIENT] = "CLOSED_BY_CLIENT",
    [SM_CLOSE_CLOSED_BY_CONTROLLER] = "CLOSED_BY_CONTROLLER",
    [SM_CLOSE_CONNECTION_LOST] = "CONNECTION_LOST",
    [SM_CLOSE_CLIENT_UNRESPONSIVE] = "CLIENT_UNRESPONSIVE",
    [SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED] = "MESSAGE_QUEUE_LIMIT_REACHED",
    [SM_CLOSE_MESSAGE_TOO_LARGE] = "MESSAGE_TOO_LARGE",
    [SM_CLOSE_INVALID_INBOUND_MESSAGE] = "INVALID_INBOUND_MESSAGE",
    [SM_CLOSE_SERVER_CLOSING] = "SERVER_CLOSING",
    [SM_CLOSE_INTERNAL_ERROR] = "INTERNAL_ERROR",
    [SM_CLOSE_ABORTED] = "ABORTED",
};

static const int close_reason_ws_codes[SM_CLOSE_REASON_COUNT] = {
    [SM_CLOSE_CLOSED_BY_CLIENT] = 1000,
    [SM_CLOSE_CLOSED_BY_CONTROLLER] = 1000,
    [SM_CLOSE_CONNECTION_LOST] = 1001,
    [SM_CLOSE_CLIENT_UNRESPONSIVE] = 1008,
    [SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED] = 1008,
    [SM_CLOSE_MESSAGE_TOO_LARGE] = 1009,
    [SM_CLOSE_INVALID_INBOUND_MESSAGE] = 1008,
    [SM_CLOSE_SERVER_CLOSING] = 1001,
    [SM_CLOSE_INTERNAL_ERROR] = 1011,
    [SM_CLOSE_ABORTED] = 1001,
};

static const char *const state_names[SM_STATE_COUNT] = {
    [SM_STATE_ACTIVE] = "ACTIVE",
    [SM_STATE_DISCONNECTED] = "DISCONNECTED",
    [SM_STATE_CLOSED] = "CLOSED",
};

static const char *const event_type_names[SM_EVENT_TYPE_COUNT] = {
    [SM_EVENT_OPEN] = "OPEN",
    [SM_EVENT_PROPERTIES] = "PROPERTIES",
    [SM_EVENT_DISCONNECTED] = "DISCONNECTED",
    [SM_EVENT_RECONNECTED] = "RECONNECTED",
    [SM_EVENT_FAILED_OVER] = "FAILED_OVER",
    [SM_EVENT_CLOSED] = "CLOSED",
    [SM_EVENT_FILTER_ENTER] = "FILTER_ENTER",
    [SM_EVENT_FILTER_LEAVE] = "FILTER_LEAVE",
};

static const char *const permission_names[] = {"view_session", "modify_session", "register_handler"};
#define PERMISSION_COUNT (sizeof permission_names / sizeof permission_names[0])

/* Index 0 is always the NONE value, so it is skipped and doubles as "not found". */
static int name_lookup(const char *const *names, int count, const char *name)
{
    if (!name)
        return 0;
    for (int i = 1; i < count; i++)
        if (names[i][0] == name[0] && strcmp(names[i], name) == 0)
            return i;
    return 0;
}

const char *sm_msg_type_name(sm_msg_type t)
{
    return (int)t > 0 && t < SM_MSG_TYPE_COUNT ? msg_type_names[t] : NULL;
}

sm_msg_type sm_msg_type_from_name(const char *name)
{
    return (sm_msg_type)name_lookup(msg_type_names, SM_MSG_TYPE_COUNT, name);
}

const char *sm_errcode_name(sm_errcode c)
{
    return (int)c > 0 && c < SM_CODE_COUNT ? errcode_names[c] : NULL;
}

sm_errcode sm_errcode_from_name(const char *name)
{
    return (sm_errcode)name_lookup(errcode_names, SM_CODE_COUNT, name);
}

const char *sm_close_reason_name(sm_close_reason r)
{
    return (int)r > 0 && r < SM_CLOSE_REASON_COUNT ? close_reason_names[r] : NULL;
}

sm_close_reason sm_close_reason_from_name(const char *name)
{
    return (sm_close_reason)name_lookup(close_reason_names, SM_CLOSE_REASON_COUNT, name);
}

int sm_close_reason_ws_code(sm_close_reason r)
{
    /* An unknown reason still maps to a code that may legally appear in a close frame. */
    return (int)r > 0 && r < SM_CLOSE_REASON_COUNT ? close_reason_ws_codes[r] : 1011;
}

const char *sm_state_name(sm_session_state s)
{
    return (int)s > 0 && s < SM_STATE_COUNT ? state_names[s] : NULL;
}

sm_session_state sm_state_from_name(const char *name)
{
    return (sm_session_state)name_lookup(state_names, SM_STATE_COUNT, name);
}

const char *sm_event_type_name(sm_event_type t)
{
    return (int)t > 0 && t < SM_EVENT_TYPE_COUNT ? event_type_names[t] : NULL;
}

sm_event_type sm_event_type_from_name(const char *name)
{
    return (sm_event_type)name_lookup(event_type_names, SM_EVENT_TYPE_COUNT, name);
}

const char *sm_permission_name(unsigned bit)
{
    for (unsigned i = 0; i < PERMISSION_COUNT; i++)
        if (bit == 1u << i)
            return permission_names[i];
    return NULL;
}

unsigned sm_permission_from_name(const char *name)
{
    if (!name)
        return 0;
    for (unsigned i = 0; i < PERMISSION_COUNT; i++)
        if (strcmp(permission_names[i], name) == 0)
            return 1u << i;
    return 0;
}

/* ---- encoder -------------------------------------------------------------------------------- */

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int try_rc_ = (expr);                                                                      \
        if (try_rc_ != SM_OK)                                                                      \
            return try_rc_;                                                                        \
    } while (0)

/* Appends a string literal (field names and punctuation never need escaping). */
#define LIT(b, s) sm_buf_append((b), (s), sizeof(s) - 1)


static bool int_ok(int64_t v)
{
    return v >= 0 && v <= SM_INT_MAX_JSON;
}

static int put_int(sm_buf *b, int64_t v)
{
    return int_ok(v) ? sm_json_int(b, v) : SM_ERR_INVALID;
}

static int put_str(sm_buf *b, const char *s)
{
    return s ? sm_json_string(b, s) : SM_ERR_INVALID;
}

static int put_name(sm_buf *b, const char *name)
{
    if (!name)
        return SM_ERR_INVALID;
    TRY(sm_buf_putc(b, '"'));
    TRY(sm_buf_puts(b, name));
    return sm_buf_putc(b, '"');
}

static int put_kvs(sm_buf *b, const sm_kvs *kvs, bool nulls_allowed)
{
    if (kvs->count && !kvs->items)
        return SM_ERR_INVALID;
    TRY(sm_buf_putc(b, '{'));
    for (size_t i = 0; i < kvs->count; i++) {
        const sm_kv *kv = &kvs->items[i];
        if (!kv->key || (!kv->value && !nulls_allowed))
            return SM_ERR_INVALID;
        if (i)
            TRY(sm_buf_putc(b, ','));
        TRY(sm_json_string(b, kv->key));
        TRY(sm_buf_putc(b, ':'));
        TRY(sm_json_string(b, kv->value));
    }
    return sm_buf_putc(b, '}');
}

static int put_strs(sm_buf *b, const sm_strs *strs)
{
    if (strs->count && !strs->items)
        return SM_ERR_INVALID;
    TRY(sm_buf_putc(b, '['));
    for (size_t i = 0; i < strs->count; i++) {
        if (i)
            TRY(sm_buf_putc(b, ','));
        TRY(put_str(b, strs->items[i]));
    }
    return sm_buf_putc(b, ']');
}

static int put_permissions(sm_buf *b, unsigned perms)
{
    if (perms & ~(unsigned)SM_PERM_ALL)
        return SM_ERR_INVALID;
    TRY(sm_buf_putc(b, '['));
    bool first = true;
    for (unsigned i = 0; i < PERMISSION_COUNT; i++) {
        if (!(perms & (1u << i)))
            continue;
        if (!first)
            TRY(sm_buf_putc(b, ','));
        first = false;
        TRY(put_name(b, permission_names[i]));
    }
    return sm_buf_putc(b, ']');
}

static int put_id(sm_buf *b, int64_t id)
{
    if (id < 1)
        return SM_ERR_INVALID;
    TRY(LIT(b, ",\"id\":"));
    return put_int(b, id);
}

static int encode_event(sm_buf *b, const sm_event *ev)
{
    TRY(LIT(b, "{\"event\":"));
    TRY(put_name(b, sm_event_type_name(ev->type)));
    TRY(LIT(b, ",\"session\":"));
    TRY(put_str(b, ev->session_id));
    TRY(LIT(b, ",\"state\":"));
    TRY(put_name(b, sm_state_name(ev->state)));
    if (ev->type == SM_EVENT_CLOSED) {
        TRY(LIT(b, ",\"reason\":"));
        TRY(put_name(b, sm_close_reason_name(ev->reason)));
    }
    if (ev->snapshot)
        TRY(LIT(b, ",\"snapshot\":true"));
    /* An empty properties map carries nothing the decoder would not infer, so it is left out. */
    if (ev->properties.count) {
        TRY(LIT(b, ",\"properties\":"));
        TRY(put_kvs(b, &ev->properties, false));
    }
    if (ev->has_changed) {
        TRY(LIT(b, ",\"changed\":"));
        TRY(put_kvs(b, &ev->changed, true));
    }
    return sm_buf_putc(b, '}');
}

/* Cluster mode only: the nodes that did not answer in time (absent when there are none). */
static int put_missing(sm_buf *b, const sm_msg *m)
{
    if (!m->missing.count)
        return SM_OK;
    TRY(LIT(b, ",\"missing\":"));
    return put_strs(b, &m->missing);
}

static int encode_reply_fields(sm_buf *b, const sm_msg *m)
{
    switch (m->op) {
    case SM_MSG_GET:
        TRY(LIT(b, ",\"properties\":"));
        return put_kvs(b, &m->properties, false);
    case SM_MSG_SET:
        TRY(LIT(b, ",\"changed\":"));
        return put_kvs(b, &m->changed, true);
    case SM_MSG_SET_BY_FILTER:
    case SM_MSG_CLOSE_BY_FILTER:
        TRY(LIT(b, ",\"count\":"));
        TRY(put_int(b, m->count));
        return put_missing(b, m);
    case SM_MSG_ADD_LISTENER:
        TRY(LIT(b, ",\"listener\":"));
        return put_int(b, m->listener);
    case SM_MSG_PING:
        TRY(LIT(b, ",\"time\":"));
        return put_int(b, m->time);
    case SM_MSG_CLOSE_SESSION:
    case SM_MSG_REMOVE_LISTENER:
    case SM_MSG_CLOSE_SELF:
        return SM_OK;
    default:
        return SM_ERR_INVALID; /* only requests with an id have replies */
    }
}

static int encode_body(const sm_msg *m, sm_buf *b)
{
    const char *type = sm_msg_type_name(m->type);
    if (!type)
        return SM_ERR_INVALID;
    TRY(LIT(b, "{\"type\":"));
    TRY(put_name(b, type));
    switch (m->type) {
    case SM_MSG_OPEN:
        TRY(LIT(b, ",\"principal\":"));
        TRY(put_str(b, m->principal));
        if (m->password) {
            TRY(LIT(b, ",\"password\":"));
            TRY(sm_json_string(b, m->password));
        }
        if (m->properties.count) {
            TRY(LIT(b, ",\"properties\":"));
            TRY(put_kvs(b, &m->properties, false));
        }
        if (m->client_type) {
            TRY(LIT(b, ",\"clientType\":"));
            TRY(sm_json_string(b, m->client_type));
        }
        if (m->environment) {
            if (strlen(m->environment) > SM_ENVIRONMENT_MAX)
                return SM_ERR_INVALID;
            TRY(LIT(b, ",\"environment\":"));
            TRY(sm_json_string(b, m->environment));
        }
        break;
    case SM_MSG_RESUME:
        TRY(LIT(b, ",\"sessionId\":"));
        TRY(put_str(b, m->session_id));
        TRY(LIT(b, ",\"token\":"));
        TRY(put_str(b, m->token));
        break;
    case SM_MSG_GET:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"sessionId\":"));
        TRY(put_str(b, m->session_id));
        if (m->has_keys) {
            TRY(LIT(b, ",\"keys\":"));
            TRY(put_strs(b, &m->keys));
        }
        break;
    case SM_MSG_SET:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"sessionId\":"));
        TRY(put_str(b, m->session_id));
        TRY(LIT(b, ",\"properties\":"));
        TRY(put_kvs(b, &m->properties, true));
        break;
    case SM_MSG_SET_BY_FILTER:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"filter\":"));
        TRY(put_str(b, m->filter));
        TRY(LIT(b, ",\"properties\":"));
        TRY(put_kvs(b, &m->properties, true));
        break;
    case SM_MSG_CLOSE_SESSION:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"sessionId\":"));
        TRY(put_str(b, m->session_id));
        break;
    case SM_MSG_CLOSE_BY_FILTER:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"filter\":"));
        TRY(put_str(b, m->filter));
        break;
    case SM_MSG_ADD_LISTENER:
        TRY(put_id(b, m->id));
        if (m->has_keys) {
            TRY(LIT(b, ",\"keys\":"));
            TRY(put_strs(b, &m->keys));
        }
        if (m->filter) {
            TRY(LIT(b, ",\"filter\":"));
            TRY(sm_json_string(b, m->filter));
        }
        if (m->has_after) {
            TRY(LIT(b, ",\"after\":"));
            TRY(put_int(b, m->after));
        }
        if (m->changed_only)
            TRY(LIT(b, ",\"changedOnly\":true"));
        break;
    case SM_MSG_REMOVE_LISTENER:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"listener\":"));
        TRY(put_int(b, m->listener));
        break;
    case SM_MSG_PING:
    case SM_MSG_CLOSE_SELF:
        TRY(put_id(b, m->id));
        break;
    case SM_MSG_HEARTBEAT_ACK:
    case SM_MSG_HEARTBEAT:
        TRY(LIT(b, ",\"seq\":"));
        TRY(put_int(b, m->seq));
        break;
    case SM_MSG_OPENED:
        TRY(LIT(b, ",\"sessionId\":"));
        TRY(put_str(b, m->session_id));
        TRY(LIT(b, ",\"token\":"));
        TRY(put_str(b, m->token));
        TRY(LIT(b, ",\"principal\":"));
        TRY(put_str(b, m->principal));
        TRY(LIT(b, ",\"roles\":"));
        TRY(put_str(b, m->roles));
        TRY(LIT(b, ",\"permissions\":"));
        TRY(put_permissions(b, m->permissions));
        TRY(LIT(b, ",\"serverName\":"));
        TRY(put_str(b, m->server_name));
        TRY(LIT(b, ",\"resumed\":"));
        TRY(sm_json_bool(b, m->resumed));
        TRY(LIT(b, ",\"reconnectTimeout\":"));
        TRY(put_int(b, m->reconnect_timeout));
        TRY(LIT(b, ",\"heartbeatInterval\":"));
        TRY(put_int(b, m->heartbeat_interval));
        TRY(LIT(b, ",\"maxMessageBytes\":"));
        TRY(put_int(b, m->max_message_bytes));
        TRY(LIT(b, ",\"audited\":"));
        TRY(sm_json_bool(b, m->audited));
        break;
    case SM_MSG_REFUSED:
    case SM_MSG_ERROR:
        if (m->type == SM_MSG_ERROR && m->id != 0)
            TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"code\":"));
        TRY(put_name(b, sm_errcode_name(m->code)));
        TRY(LIT(b, ",\"message\":"));
        TRY(put_str(b, m->message));
        break;
    case SM_MSG_REPLY:
        TRY(put_id(b, m->id));
        TRY(LIT(b, ",\"op\":"));
        TRY(put_name(b, sm_msg_type_name(m->op)));
        TRY(encode_reply_fields(b, m));
        break;
    case SM_MSG_EVENTS:
        if (m->event_count && !m->events)
            return SM_ERR_INVALID;
        TRY(LIT(b, ",\"listener\":"));
        TRY(put_int(b, m->listener));
        TRY(LIT(b, ",\"events\":["));
        for (size_t i = 0; i < m->event_count; i++) {
            if (i)
                TRY(sm_buf_putc(b, ','));
            TRY(encode_event(b, &m->events[i]));
        }
        TRY(sm_buf_putc(b, ']'));
        break;
    case SM_MSG_SNAPSHOT_END:
        TRY(LIT(b, ",\"listener\":"));
        TRY(put_int(b, m->listener));
        TRY(LIT(b, ",\"count\":"));
        TRY(put_int(b, m->count));
        TRY(put_missing(b, m));
        break;
    default:
        return SM_ERR_INVALID;
    }
    return sm_buf_putc(b, '}');
}

/* A failed encode leaves the buffer as it was (apart from the overflow flag), so callers can
 * append several messages and drop only the one that did not fit. */
static void rollback(sm_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[b->headroom + len] = '\0';
}

int sm_msg_encode(const sm_msg *m, sm_buf *out)
{
    if (!m || !out)
        return SM_ERR_INVALID;
    size_t start = out->len;
    int rc = encode_body(m, out);
    if (rc != SM_OK)
        rollback(out, start);
    return rc;
}

int sm_events_begin(sm_buf *out, int64_t listener)
{
    if (!int_ok(listener))
        return SM_ERR_INVALID;
    size_t start = out->len;
    int rc = LIT(out, "{\"type\":\"events\",\"listener\":");
    if (rc == SM_OK)
        rc = sm_json_int(out, listener);
    if (rc == SM_OK)
        rc = LIT(out, ",\"events\":[");
    if (rc != SM_OK)
        rollback(out, start);
    return rc;
}

int sm_events_add(sm_buf *out, const sm_event *ev, bool first)
{
    if (!ev)
        return SM_ERR_INVALID;
    size_t start = out->len;
    int rc = first ? SM_OK : sm_buf_putc(out, ',');
    if (rc == SM_OK)
        rc = encode_event(out, ev);
    if (rc != SM_OK)
        rollback(out, start);
    return rc;
}

int sm_events_end(sm_buf *out)
{
    return LIT(out, "]}");
}

/* Maps up to this size are checked pair by pair (a session has ~20 keys); larger ones through a
 * sorted copy. */
#define DUP_CHECK_PAIRWISE_MAX 32

static int compare_key_ptrs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether a and b may be equal, from their first two bytes (the second only read when the first
 * is not the end). */
static bool same_start(const char *a, const char *b)
{
    return a[0] == b[0] && (a[0] == '\0' || a[1] == b[1]);
}

int sm_kv_find_duplicate(const sm_kv *kv, size_t n, const char **dup)
{
    *dup = NULL;
    if (n <= DUP_CHECK_PAIRWISE_MAX) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (same_start(kv[i].key, kv[j].key) && strcmp(kv[i].key, kv[j].key) == 0) {
                    *dup = kv[i].key;
                    return SM_OK;
                }
        return SM_OK;
    }
    const char **keys = malloc(n * sizeof *keys);
    if (!keys)
        return SM_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        keys[i] = kv[i].key;
    qsort(keys, n, sizeof *keys, compare_key_ptrs);
    for (size_t i = 1; i < n && !*dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            *dup = keys[i];
    free(keys);
    return SM_OK;
}
