/* libsessmon sessions: connection state machine, reconnection, the lws callback, receive and send. */
#include "client/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/props.h"
#include "core/utf8.h"

#define SM_CL_PRINCIPAL_MAX 256
#define SM_CL_URL_MAX 2048

/* How a connection is let go when the library (not lws) ends it. */
typedef enum sm_release {
    SM_RELEASE_GONE,     /* lws is already closing it: just detach */
    SM_RELEASE_ABORT,    /* cut it at the next service, no close frame */
    SM_RELEASE_GRACEFUL  /* send a close frame (CLOSED_BY_CLIENT on the server) */
} sm_release;

static void session_terminal(sm_session *s, sm_reason reason, const sm_client_error *err);

/* ---- URL parsing ---- */

static bool host_char_ok(char ch, bool v6)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    if (ch == '.' || ch == '-' || ch == '_')
        return true;
    return v6 && (ch == ':' || ch == '%');
}

static sm_client_errcode parse_url(sm_session *s, const char *url, sm_client_error *err)
{
    size_t len = strlen(url);
    if (len > SM_CL_URL_MAX || !sm_utf8_valid(url, len))
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "invalid URL");
    const char *p;
    if (strncasecmp(url, "ws://", 5) == 0) {
        s->tls = false;
        p = url + 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        s->tls = true;
        p = url + 6;
    } else {
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT,
                           "URL must start with ws:// or wss://");
    }
    const char *host = p, *host_end;
    bool v6 = false;
    if (*p == '[') {
        v6 = true;
        host = ++p;
        while (*p && *p != ']')
            p++;
        if (*p != ']')
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: missing ']'");
        host_end = p++;
    } else {
        while (*p && *p != ':' && *p != '/')
            p++;
        host_end = p;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len > 253)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: bad host");
    for (const char *q = host; q < host_end; q++)
        if (!host_char_ok(*q, v6))
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: bad character in host");
    int port = s->tls ? 443 : 80;
    if (*p == ':') {
        p++;
        long v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (!digits || v < 1 || v > 65535)
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: bad port");
        port = (int)v;
    }
    if (*p && *p != '/')
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: unexpected text after the host");
    const char *path = *p ? p : "/";
    for (const char *q = path; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "URL: bad character in path");

    s->host = strndup(host, host_len);
    s->path = strdup(path);
    s->host_header = malloc(host_len + 16);
    if (!s->host || !s->path || !s->host_header)
        return sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
    snprintf(s->host_header, host_len + 16, v6 ? "[%.*s]:%d" : "%.*s:%d", (int)host_len, host, port);
    s->port = port;
    return SM_CLIENT_OK;
}

/* Every change of s->link goes through here: it keeps the count of connections being set up,
 * which bounds how many connect at once (see SM_CL_MAX_CONNECTING). */
static void set_link(sm_session *s, sm_link link)
{
    sm_client *c = s->client;
    bool was = s->link == SM_LINK_CONNECTING || s->link == SM_LINK_HANDSHAKING;
    bool is = link == SM_LINK_CONNECTING || link == SM_LINK_HANDSHAKING;
    s->link = link;
    if (!c || was == is)
        return;
    if (is) {
        c->connecting++;
    } else if (c->connecting) {
        if (c->connecting-- >= SM_CL_MAX_CONNECTING)
            c->work_pending = true; /* a slot is free: sessions waiting to connect may go */
    }
}

/* ---- Creation ---- */

static char *dup_opt(const char *v, bool *oom)
{
    if (!v)
        return NULL;
    char *d = strdup(v);
    if (!d)
        *oom = true;
    return d;
}

sm_session *sm_session_open(sm_client *c, const sm_session_params *p, sm_client_error *err)
{
    if (!c || !p || !p->url || c->free_requested) {
        sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "client, params and url are required");
        return NULL;
    }
    if (sm_cl_validate_text("principal", p->principal, SM_CL_PRINCIPAL_MAX, err) ||
        sm_cl_validate_text("password", p->password, SM_VALUE_MAX, err) ||
        sm_cl_validate_text("client type", p->client_type, 64, err) ||
        sm_cl_validate_text("environment", p->environment, SM_ENVIRONMENT_MAX, err) ||
        sm_cl_validate_text("local address", p->local_address, 64, err) ||
        sm_cl_validate_props(p->properties, p->property_count, false, err))
        return NULL;
    for (size_t i = 0; i < p->property_count; i++) {
        sm_error e;
        if (sm_validate_user_key(p->properties[i].key, strlen(p->properties[i].key), &e) != SM_OK) {
            sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "%s", e.message);
            return NULL;
        }
    }

    sm_session *s = calloc(1, sizeof *s);
    if (!s) {
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->client = c;
    sm_buf_init(&s->rx, 0, SM_CLIENT_MAX_MESSAGE);
    if (parse_url(s, p->url, err) != SM_CLIENT_OK)
        goto fail;
    if (s->tls && !c->tls) {
        sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "wss:// needs a client created without no_tls");
        goto fail;
    }
    bool oom = false;
    s->principal = dup_opt(p->principal ? p->principal : "", &oom);
    s->password = dup_opt(p->password, &oom);
    s->client_type = dup_opt(p->client_type ? p->client_type : "C", &oom);
    s->environment = dup_opt(p->environment ? p->environment : "libsessmon", &oom);
    s->local_address = dup_opt(p->local_address, &oom);
    if (p->property_count) {
        s->props = calloc(p->property_count, sizeof *s->props);
        if (!s->props)
            oom = true;
        for (size_t i = 0; s->props && i < p->property_count; i++) {
            s->props[i].key = dup_opt(p->properties[i].key, &oom);
            s->props[i].value = dup_opt(p->properties[i].value, &oom);
            s->prop_count = i + 1;
        }
    }
    if (oom) {
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        goto fail;
    }

    s->params = *p;
    /* Never keep pointers into the caller's memory. */
    s->params.url = NULL;
    s->params.principal = s->params.password = NULL;
    s->params.client_type = s->params.environment = s->params.local_address = NULL;
    s->params.properties = NULL;
    if (s->params.reconnect_initial_ms <= 0)
        s->params.reconnect_initial_ms = SM_CL_RECONNECT_INITIAL_MS;
    if (s->params.reconnect_max_ms <= 0)
        s->params.reconnect_max_ms = SM_CL_RECONNECT_MAX_MS;
    if (s->params.reconnect_max_ms < s->params.reconnect_initial_ms)
        s->params.reconnect_max_ms = s->params.reconnect_initial_ms;
    if (s->params.connect_timeout_ms <= 0)
        s->params.connect_timeout_ms = SM_CL_CONNECT_TIMEOUT_MS;
    if (!s->params.max_queued_bytes)
        s->params.max_queued_bytes = SM_CL_MAX_QUEUED_BYTES;

    s->status = SM_SESSION_CONNECTING;
    s->link = SM_LINK_IDLE; /* calloc'd: nothing counted yet */
    s->next_id = 1;
    s->info.max_message_bytes = SM_CL_DEFAULT_MAX_MESSAGE;
    s->next_connect_at = sm_mono_ms(); /* connect from the next service, never from here */
    c->work_pending = true;

    s->prev = c->sessions_tail;
    if (c->sessions_tail)
        c->sessions_tail->next = s;
    else
        c->sessions_head = s;
    c->sessions_tail = s;
    c->session_count++;
    return s;

fail:
    s->client = NULL;
    sm_cl_session_destroy(s);
    return NULL;
}

static void free_info(sm_session *s)
{
    free((char *)s->info.session_id);
    free((char *)s->info.principal);
    free((char *)s->info.roles);
    free((char *)s->info.server_name);
    free(s->token);
    s->info.session_id = s->info.principal = s->info.roles = s->info.server_name = NULL;
    s->token = NULL;
}

static void drop_ctrl(sm_session *s)
{
    while (s->ctrl_head) {
        sm_ctrl *m = s->ctrl_head;
        s->ctrl_head = m->next;
        sm_buf_free(&m->out);
        free(m);
    }
    s->ctrl_tail = NULL;
}

void sm_cl_session_destroy(sm_session *s)
{
    sm_client *c = s->client;
    if (c) {
        if (s->prev)
            s->prev->next = s->next;
        else
            c->sessions_head = s->next;
        if (s->next)
            s->next->prev = s->prev;
        else
            c->sessions_tail = s->prev;
        c->session_count--;
    }
    while (s->listeners_head) {
        sm_listener *l = s->listeners_head;
        sm_cl_listener_destroy(l);
    }
    while (s->queued.head) {
        sm_request *r = s->queued.head;
        sm_cl_list_remove(&s->queued, r);
        sm_cl_request_free(s, r);
    }
    while (s->inflight.head) {
        sm_request *r = s->inflight.head;
        sm_cl_list_remove(&s->inflight, r);
        sm_cl_request_free(s, r);
    }
    drop_ctrl(s);
    free_info(s);
    sm_buf_free(&s->rx);
    free(s->host);
    free(s->host_header);
    free(s->path);
    free(s->principal);
    free(s->password);
    free(s->client_type);
    free(s->environment);
    free(s->local_address);
    for (size_t i = 0; i < s->prop_count; i++) {
        free((char *)s->props[i].key);
        free((char *)s->props[i].value);
    }
    free(s->props);
    free(s);
}

/* ---- Accessors ---- */

sm_client_errcode sm_session_drop_connection(sm_session *s, sm_client_error *err)
{
    if (!s || s->dead)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "session is required");
    if (s->terminal || s->close_requested)
        return sm_cl_error(err, SM_CLIENT_ERR_CLOSED, "session closed");
    if (!s->wsi || (s->link != SM_LINK_HANDSHAKING && s->link != SM_LINK_OPEN))
        return sm_cl_error(err, SM_CLIENT_ERR_CONNECTION_LOST, "no connection to drop");
    int fd = lws_get_socket_fd(s->wsi);
    /* shutdown, not close: the descriptor stays lws's, which then reads end-of-stream like after
     * a peer's reset and takes the same path as any network failure. */
    if (fd < 0 || shutdown(fd, SHUT_RDWR) != 0)
        return sm_cl_error(err, SM_CLIENT_ERR_CONNECTION_LOST, "no connection to drop");
    return SM_CLIENT_OK;
}

sm_session_status sm_session_get_status(const sm_session *s)
{
    return s ? s->status : SM_SESSION_CLOSED;
}

const sm_session_info *sm_session_get_info(const sm_session *s)
{
    return s && s->has_info ? &s->info : NULL;
}

bool sm_session_server_audits(const sm_session *s)
{
    return s && s->has_info && s->server_audits;
}

void *sm_session_get_context(const sm_session *s)
{
    return s ? s->params.context : NULL;
}

sm_client *sm_session_get_client(const sm_session *s)
{
    return s ? s->client : NULL;
}

const sm_client_error *sm_session_last_failure(const sm_session *s, unsigned *attempt, int *next_retry_ms)
{
    bool known = s && !s->dead && s->has_failure;
    if (attempt)
        *attempt = known ? s->failures : 0;
    if (next_retry_ms) {
        *next_retry_ms = -1;
        if (known && !s->terminal && !s->close_requested && !s->failure_final) {
            if (s->link != SM_LINK_IDLE || !s->next_connect_at) {
                *next_retry_ms = 0; /* under way (or about to be: a resume turned into an open) */
            } else {
                int64_t left = s->next_connect_at - sm_mono_ms();
                *next_retry_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
            }
        }
    }
    return known ? &s->failure : NULL;
}

/* ---- Output ---- */

bool sm_cl_session_wants_write(const sm_session *s)
{
    if (!s->wsi)
        return false;
    if ((s->link == SM_LINK_HANDSHAKING || s->link == SM_LINK_OPEN) && s->ctrl_head)
        return true;
    return s->link == SM_LINK_OPEN && s->queued.head;
}

void sm_cl_session_kick(sm_session *s)
{
    if (sm_cl_session_wants_write(s))
        lws_callback_on_writable(s->wsi);
}

static void queue_ctrl(sm_session *s, const sm_msg *m)
{
    sm_ctrl *ctrl = calloc(1, sizeof *ctrl);
    if (!ctrl)
        return; /* a lost heartbeat_ack or open is recovered by the liveness/connect timers */
    sm_buf_init(&ctrl->out, LWS_PRE, 0);
    if (sm_msg_encode(m, &ctrl->out) != SM_OK) {
        sm_buf_free(&ctrl->out);
        free(ctrl);
        return;
    }
    if (s->ctrl_tail)
        s->ctrl_tail->next = ctrl;
    else
        s->ctrl_head = ctrl;
    s->ctrl_tail = ctrl;
    sm_cl_session_kick(s);
}

static int write_payload(struct lws *wsi, sm_buf *b)
{
    unsigned char *payload = (unsigned char *)sm_buf_payload(b);
    int n = lws_write(wsi, payload, b->len, LWS_WRITE_TEXT);
    return n < (int)b->len ? -1 : 0;
}

/* Requests written per WRITEABLE at most. One per callback would cost a whole lws_service pass
 * (a poll of every socket of the context) per request: a session carrying thousands of requests a
 * second among thousands of idle sessions would crawl. The bound keeps one busy session from
 * holding the loop. */
#define SM_CL_WRITES_PER_CALLBACK 64

/* Control messages first (one per WRITEABLE), then requests once open: several, as long as the
 * socket takes them whole (lws buffers a partial write and must get no more until it drained). */
static int on_writeable(sm_session *s, struct lws *wsi)
{
    if (s->ctrl_head) {
        sm_ctrl *m = s->ctrl_head;
        s->ctrl_head = m->next;
        if (!s->ctrl_head)
            s->ctrl_tail = NULL;
        int rc = write_payload(wsi, &m->out);
        sm_buf_free(&m->out);
        free(m);
        if (rc < 0)
            return -1;
    } else if (s->link == SM_LINK_OPEN) {
        sm_request *r;
        unsigned written = 0;
        while (written < SM_CL_WRITES_PER_CALLBACK && (r = s->queued.head)) {
            if (written > 0 && lws_send_pipe_choked(wsi))
                break;
            sm_cl_list_remove(&s->queued, r);
            s->queued_bytes -= r->out.len;
            if ((int64_t)r->out.len > s->info.max_message_bytes) {
                /* Queued before "opened" announced a smaller limit: the server would close
                 * the whole session for it. */
                sm_client_error e;
                sm_cl_error(&e, SM_CLIENT_ERR_LIMIT_EXCEEDED,
                            "request of %zu bytes exceeds the server's limit of %lld bytes",
                            r->out.len, (long long)s->info.max_message_bytes);
                sm_cl_request_fail(s, r, &e);
                if (s->dead || s->wsi != wsi)
                    return 0;
                continue;
            }
            int rc = write_payload(wsi, &r->out);
            sm_buf_free(&r->out); /* masked in place by lws: never reusable */
            r->sent = true;
            sm_cl_list_push(&s->inflight, r, false);
            if (rc < 0)
                return -1;
            written++;
        }
    }
    if (sm_cl_session_wants_write(s))
        lws_callback_on_writable(wsi);
    else if (lws_send_pipe_choked(wsi))
        s->drain = true; /* lws holds the rest of a partial write */
    return 0;
}

void sm_cl_session_after_service(sm_session *s)
{
    if (s->drain && (!s->wsi || !lws_send_pipe_choked(s->wsi)))
        s->drain = false;
}

/* ---- Link state ---- */

static void release_wsi(sm_session *s, sm_release how)
{
    struct lws *wsi = s->wsi;
    sm_client *c = s->client;
    s->wsi = NULL;
    if (!wsi)
        return;
    if (how == SM_RELEASE_GONE) {
        lws_set_wsi_user(wsi, NULL);
        return;
    }
    /* The orphan marker lets the callback recognise the connection until lws destroys it. */
    lws_set_wsi_user(wsi, &c->orphan_marker);
    c->orphans++;
    c->lws_kick = true;
    if (how == SM_RELEASE_GRACEFUL) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 5); /* in case no WRITEABLE ever comes */
        lws_callback_on_writable(wsi);
    } else {
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

static void reset_link(sm_session *s)
{
    set_link(s, SM_LINK_IDLE);
    s->link_deadline = 0;
    s->drain = false;
    s->upgrade_sent = false;
    s->upgrade_wait_extended = false;
    s->probe_outstanding = false;
    sm_buf_reset(&s->rx);
    drop_ctrl(s);
}

static int reconnect_delay(sm_session *s)
{
    int64_t base = s->params.reconnect_initial_ms;
    for (unsigned i = 0; i < s->attempt && base < s->params.reconnect_max_ms; i++)
        base *= 2;
    if (base > s->params.reconnect_max_ms)
        base = s->params.reconnect_max_ms;
    s->attempt++;
    /* "Equal jitter": half fixed, half random, so a restarted server is not hit in lockstep. */
    int64_t half = base / 2;
    return (int)(half + (int64_t)(sm_cl_random(s->client) % (uint64_t)(half + 1)));
}

/* A failed attempt as on_connect_failed and on_close see it: a drop before "opened" is a
 * failure to connect. */
static sm_client_error attempt_error(const sm_session *s)
{
    sm_client_error e = s->link_error;
    if (e.code == SM_CLIENT_ERR_CONNECTION_LOST)
        e.code = SM_CLIENT_ERR_CONNECT_FAILED;
    return e;
}

/* Tells the caller about the latest failed attempt (already recorded in s->failure);
 * next_retry_ms -1 = final. */
static void notify_failure(sm_session *s, int next_retry_ms)
{
    s->failure_final = next_retry_ms < 0;
    if (s->params.on_connect_failed)
        s->params.on_connect_failed(s, &s->failure, s->failures, next_retry_ms, s->params.context);
}

static void record_failure(sm_session *s, const sm_client_error *why)
{
    s->failure = *why;
    if (s->failures < UINT_MAX)
        s->failures++;
    s->has_failure = true;
    s->failure_final = false;
}

/* The connection ended (or never came up). Fails what was in flight and decides between
 * reconnecting and closing the session for good. An attempt (a connection that never got
 * "opened") is reported through on_connect_failed; a drop of an open one through on_disconnect. */
static void link_down(sm_session *s, sm_release how, sm_client_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void link_down(sm_session *s, sm_release how, sm_client_errcode code, const char *fmt, ...)
{
    if (s->link == SM_LINK_IDLE)
        return;
    bool attempt = s->link != SM_LINK_OPEN;
    if (how == SM_RELEASE_GRACEFUL && s->link == SM_LINK_CONNECTING)
        how = SM_RELEASE_ABORT; /* no WebSocket yet: nothing to send a close frame on */
    release_wsi(s, how);
    reset_link(s);

    va_list ap;
    va_start(ap, fmt);
    s->link_error.code = code;
    vsnprintf(s->link_error.message, sizeof s->link_error.message, fmt, ap);
    va_end(ap);
    sm_cl_log(SM_LOG_INFO, "libsessmon: %s: %s", s->host_header, s->link_error.message);

    sm_client_error lost;
    sm_cl_error(&lost, SM_CLIENT_ERR_CONNECTION_LOST, "connection lost before the reply: %s",
                s->link_error.message);
    sm_cl_fail_inflight(s, &lost);
    if (s->dead || s->terminal)
        return;
    sm_cl_listeners_on_link_down(s);
    if (s->dead || s->terminal)
        return;

    int64_t now = sm_mono_ms();
    if (s->close_requested) {
        sm_client_error ok = {SM_CLIENT_OK, "closed"};
        session_terminal(s, SM_REASON_CLOSED_BY_CLIENT, &ok);
        return;
    }
    if (s->refused && s->resume_sent && s->refusal.code == SM_CLIENT_ERR_NO_SUCH_SESSION) {
        /* The server no longer knows the session: open a new one at once. */
        free(s->token);
        s->token = NULL;
        s->next_connect_at = now;
        s->client->work_pending = true;
        return;
    }
    sm_client_error why = s->refused ? s->refusal : attempt_error(s);
    if (attempt)
        record_failure(s, &why);

    /* Final outcomes: the failed attempt (if it was one) is reported before on_close. */
    sm_reason reason = SM_REASON_NONE;
    sm_client_error final;
    if (s->refused) {
        final = s->refusal;
    } else if (s->got_close_frame) {
        reason = s->close_reason;
        sm_cl_error(&final, SM_CLIENT_ERR_CLOSED, "closed by the server: %s (close code %d)",
                    sm_reason_name(s->close_reason), s->close_code);
    } else if (!s->ever_opened && !s->params.retry_initial_connect) {
        final = why;
        if (final.code == SM_CLIENT_ERR_CONNECT_FAILED)
            snprintf(final.message, sizeof final.message, "cannot connect to %.60s: %.170s", s->host_header,
                     why.message);
    } else if (s->params.no_reconnect) {
        reason = SM_REASON_CONNECTION_LOST;
        final = s->link_error;
    } else {
        if (!s->dropped_at)
            s->dropped_at = now;
        int delay = reconnect_delay(s);
        int64_t give_up_at = s->params.reconnect_give_up_ms > 0 ? s->dropped_at + s->params.reconnect_give_up_ms : 0;
        /* Give up when the deadline has passed or, after a failed attempt, when the next one
         * would start too late anyway (so the failure can be reported as final). */
        if (give_up_at && (now >= give_up_at || (attempt && now + delay >= give_up_at))) {
            reason = SM_REASON_CONNECTION_LOST;
            sm_cl_error(&final, SM_CLIENT_ERR_CONNECTION_LOST, "gave up reconnecting after %d ms: %s",
                        s->params.reconnect_give_up_ms, s->link_error.message);
        } else {
            s->next_connect_at = now + delay;
            if (attempt) {
                notify_failure(s, delay);
            } else if (s->status == SM_SESSION_OPEN) {
                s->status = SM_SESSION_RECONNECTING;
                if (s->params.on_disconnect)
                    s->params.on_disconnect(s, &s->link_error, s->params.context);
            }
            return;
        }
    }
    if (attempt) {
        notify_failure(s, -1);
        if (s->dead)
            return;
    }
    session_terminal(s, reason, &final);
}

static void session_terminal(sm_session *s, sm_reason reason, const sm_client_error *err)
{
    if (s->terminal)
        return;
    s->terminal = true;
    s->status = SM_SESSION_CLOSED;
    s->next_connect_at = 0;
    if (s->link != SM_LINK_IDLE) {
        release_wsi(s, s->link == SM_LINK_CONNECTING ? SM_RELEASE_ABORT : SM_RELEASE_GRACEFUL);
        reset_link(s);
    }
    sm_client_error closed;
    sm_cl_error(&closed, SM_CLIENT_ERR_CLOSED, "session closed: %s", err->message);
    sm_cl_fail_inflight(s, &closed);
    sm_cl_fail_queued(s, &closed);
    if (s->dead)
        return;
    sm_cl_listeners_end(s, err->code == SM_CLIENT_OK ? NULL : &closed);
    if (s->dead)
        return;
    if (s->params.on_close)
        s->params.on_close(s, reason, err, s->params.context);
}

static void session_connect(sm_session *s, int64_t now)
{
    sm_client *c = s->client;
    s->next_connect_at = 0;
    s->got_close_frame = false;
    s->close_code = 0;
    s->close_reason = SM_REASON_NONE;
    s->refused = false;
    s->resume_sent = false;
    s->cert_rejected = false;
    reset_link(s);

    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = c->lws;
    i.address = s->host;
    i.port = s->port;
    i.path = s->path;
    i.host = s->host_header;
    i.origin = s->host_header;
    i.protocol = SM_PROTOCOL_NAME;
    if (s->tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (s->params.allow_self_signed)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    }
    i.userdata = s;
    i.pwsi = &s->wsi;
    i.iface = s->local_address;
    i.retry_and_idle_policy = &c->retry_policy;

    set_link(s, SM_LINK_CONNECTING);
    s->link_deadline = now + s->params.connect_timeout_ms;
    /* lws may report CONNECTION_ERROR from inside this call; link_down then runs there. */
    s->in_connect_call = true;
    errno = 0;
    struct lws *wsi = lws_client_connect_via_info(&i);
    int connect_errno = errno;
    s->in_connect_call = false;
    if (!wsi && s->link == SM_LINK_CONNECTING) {
        /* No callback: lws 4.1.6 fails this way when the name does not resolve or no socket
         * can be made. */
        s->wsi = NULL;
        unsigned char addr[sizeof(struct in6_addr)];
        bool literal = inet_pton(AF_INET, s->host, addr) == 1 || inet_pton(AF_INET6, s->host, addr) == 1;
        if (connect_errno == EMFILE || connect_errno == ENFILE || connect_errno == ENOBUFS || connect_errno == ENOMEM)
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECT_FAILED, "cannot create a socket: %s",
                      strerror(connect_errno));
        else if (!literal)
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECT_FAILED, "cannot resolve the host name");
        else
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECT_FAILED, "cannot start the connection");
    }
}

sm_client_errcode sm_session_close(sm_session *s, sm_client_error *err)
{
    if (!s || s->dead)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "no session");
    if (s->terminal || s->close_requested)
        return sm_cl_error(err, SM_CLIENT_ERR_CLOSED, "session already closed or closing");
    s->close_requested = true;
    if (s->link == SM_LINK_OPEN) {
        sm_msg m;
        memset(&m, 0, sizeof m);
        m.type = SM_MSG_CLOSE_SELF;
        sm_request *r = sm_cl_request_new(s, SM_REQ_CLOSE_SELF, &m, SM_CL_CLOSE_SELF_TIMEOUT_MS, NULL);
        if (r) {
            sm_cl_request_enqueue(s, r, false); /* after earlier requests: they get answered */
            s->close_sent = true;
            return SM_CLIENT_OK;
        }
    }
    s->client->work_pending = true; /* finished by the next tick, never from inside this call */
    return SM_CLIENT_OK;
}

void sm_cl_session_release_all(sm_session *s)
{
    if (s->link != SM_LINK_IDLE) {
        release_wsi(s, s->link == SM_LINK_CONNECTING ? SM_RELEASE_ABORT : SM_RELEASE_GRACEFUL);
        reset_link(s);
    }
    s->next_connect_at = 0;
    sm_client_error e;
    sm_cl_error(&e, SM_CLIENT_ERR_CANCELLED, "session freed");
    sm_cl_fail_inflight(s, &e);
    sm_cl_fail_queued(s, &e);
    sm_cl_listeners_end(s, NULL);
}

void sm_session_free(sm_session *s)
{
    if (!s || s->dead)
        return;
    sm_client *c = s->client;
    sm_cl_enter(c);
    s->dead = true;
    s->terminal = true;
    s->status = SM_SESSION_CLOSED;
    c->reap_needed = true;
    sm_cl_session_release_all(s);
    sm_cl_leave(c);
}

/* ---- Timers ---- */

/* ms without data before a probe (twice that: the link is dropped); 0 = never. The heartbeat
 * interval comes from the server, so it is bounded: an absurd one (up to 2^53) must neither
 * overflow into "already dead" nor disable the check. */
static int64_t liveness_ms(const sm_session *s)
{
    if (s->params.liveness_timeout_ms < 0)
        return 0;
    if (s->params.liveness_timeout_ms > 0)
        return s->params.liveness_timeout_ms;
    int64_t hb = s->info.heartbeat_interval_ms > 0 ? s->info.heartbeat_interval_ms : 15000;
    if (hb > SM_CL_LIVENESS_MAX_MS)
        hb = SM_CL_LIVENESS_MAX_MS;
    return hb + SM_CL_LIVENESS_MARGIN_MS;
}

int64_t sm_cl_session_deadline(const sm_session *s)
{
    if (s->dead)
        return 0;
    int64_t d = 0;
    if (s->link == SM_LINK_IDLE && s->next_connect_at && s->client->connecting < SM_CL_MAX_CONNECTING)
        d = s->next_connect_at;
    if (s->link_deadline && (!d || s->link_deadline < d))
        d = s->link_deadline;
    if (s->link == SM_LINK_OPEN) {
        int64_t live = liveness_ms(s);
        if (live) {
            int64_t t = s->last_rx + (s->probe_outstanding ? 2 * live : live);
            if (!d || t < d)
                d = t;
        }
    }
    if (s->timed_requests) {
        int64_t r = sm_cl_requests_deadline(s);
        if (r && (!d || r < d))
            d = r;
    }
    return d;
}

static void send_probe(sm_session *s)
{
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_PING;
    sm_request *r = sm_cl_request_new(s, SM_REQ_PROBE, &m, 0, NULL);
    if (!r)
        return;
    s->probe_outstanding = true;
    sm_cl_request_enqueue(s, r, true);
}

void sm_cl_session_tick(sm_session *s, int64_t now)
{
    if (s->listener_work) {
        sm_cl_listeners_tick(s);
        if (s->dead)
            return;
    }
    if (s->close_requested && !s->terminal && (s->link != SM_LINK_OPEN || !s->close_sent)) {
        /* Closed before it was open (or close_self could not be queued): a close frame, if
         * any, is all the server gets. */
        sm_client_error ok = {SM_CLIENT_OK, "closed"};
        session_terminal(s, SM_REASON_CLOSED_BY_CLIENT, &ok);
        return;
    }
    if (s->timed_requests) {
        sm_cl_expire_requests(s, now);
        if (s->dead || s->terminal)
            return;
    }
    switch (s->link) {
    case SM_LINK_IDLE:
        if (s->next_connect_at && now >= s->next_connect_at && !s->terminal) {
            if (s->dropped_at && s->params.reconnect_give_up_ms > 0 &&
                now - s->dropped_at >= s->params.reconnect_give_up_ms) {
                sm_client_error e;
                sm_cl_error(&e, SM_CLIENT_ERR_CONNECTION_LOST, "gave up reconnecting after %d ms: %s",
                            s->params.reconnect_give_up_ms, s->link_error.message);
                if (s->has_failure && !s->failure_final) {
                    notify_failure(s, -1); /* the last attempt turned out to be the final one */
                    if (s->dead || s->terminal)
                        return;
                }
                session_terminal(s, SM_REASON_CONNECTION_LOST, &e);
                return;
            }
            if (s->client->connecting >= SM_CL_MAX_CONNECTING)
                break; /* wait for a slot; its release sets work_pending */
            session_connect(s, now);
        }
        break;
    case SM_LINK_CONNECTING:
    case SM_LINK_HANDSHAKING:
        if (s->link == SM_LINK_CONNECTING && s->upgrade_sent && !s->upgrade_wait_extended && s->wsi &&
            s->link_deadline > now) {
            /* lws 4.1.6 waits for the answer to the upgrade only its context's timeout_secs (5 s)
             * and then drops the connection ("connection closed during the handshake"): the
             * session's connect_timeout_ms is the limit that counts, so lws's wait is stretched
             * past it (once: lws sets it when it has written the request, just before this). */
            int64_t left_s = (s->link_deadline - now) / 1000 + 2;
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, left_s > INT_MAX ? INT_MAX : (int)left_s);
            s->upgrade_wait_extended = true;
        }
        if (s->link_deadline && now >= s->link_deadline)
            link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_CONNECT_FAILED, "timed out after %d ms %s",
                      s->params.connect_timeout_ms,
                      s->link == SM_LINK_HANDSHAKING ? "waiting for the server to answer the open"
                      : s->upgrade_sent             ? "waiting for the WebSocket handshake"
                      : s->tls                      ? "in the TCP or TLS handshake"
                                                    : "connecting to the host");
        break;
    case SM_LINK_OPEN: {
        if (s->link_deadline && now >= s->link_deadline) {
            link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_CONNECTION_LOST,
                      "the server did not close the session");
            break;
        }
        int64_t live = liveness_ms(s);
        if (!live)
            break;
        if (now - s->last_rx >= 2 * live)
            link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_CONNECTION_LOST,
                      "no data from the server for %lld ms", (long long)(now - s->last_rx));
        else if (now - s->last_rx >= live && !s->probe_outstanding)
            send_probe(s);
        break;
    }
    }
}

/* ---- Receive ---- */

static char *dup_str(const char *v)
{
    return strdup(v ? v : "");
}

static void on_opened(sm_session *s, const sm_msg *m)
{
    bool replaced = s->ever_opened && !m->resumed;
    free_info(s);
    s->info.session_id = dup_str(m->session_id);
    s->info.principal = dup_str(m->principal);
    s->info.roles = dup_str(m->roles);
    s->info.server_name = dup_str(m->server_name);
    s->token = dup_str(m->token);
    if (!s->info.session_id || !s->info.principal || !s->info.roles || !s->info.server_name ||
        !s->token) {
        free_info(s);
        link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_NOMEM, "out of memory");
        return;
    }
    s->info.permissions = m->permissions;
    s->info.resumed = m->resumed;
    s->info.replaced = replaced;
    s->info.reconnect_timeout_ms = m->reconnect_timeout;
    s->info.heartbeat_interval_ms = m->heartbeat_interval;
    s->info.max_message_bytes = m->max_message_bytes > 0 ? m->max_message_bytes : SM_CL_DEFAULT_MAX_MESSAGE;
    s->server_audits = m->audited;
    s->has_info = true;
    s->ever_opened = true;
    set_link(s, SM_LINK_OPEN);
    s->link_deadline = 0;
    s->status = SM_SESSION_OPEN;
    s->attempt = 0;
    s->dropped_at = 0;
    s->failures = 0;
    s->has_failure = false;
    s->opened_at = s->client->now;
    if (replaced)
        sm_cl_log(SM_LOG_NOTICE, "libsessmon: session could not be resumed; new session %s",
                  s->info.session_id);
    sm_cl_listeners_on_open(s);
    if (s->dead)
        return;
    sm_cl_session_kick(s);
    if (s->params.on_open)
        s->params.on_open(s, &s->info, s->params.context);
}

static void on_refused(sm_session *s, const sm_msg *m)
{
    s->refused = true;
    s->refusal.code = sm_cl_errcode_from_wire(m->code);
    snprintf(s->refusal.message, sizeof s->refusal.message, "%s", m->message ? m->message : "refused");
    /* The server closes after "refused"; close our side too so nothing waits on it. */
    link_down(s, SM_RELEASE_GRACEFUL, s->refusal.code, "refused: %s", s->refusal.message);
}

static void report_error(sm_session *s, sm_client_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_error(sm_session *s, sm_client_errcode code, const char *fmt, ...)
{
    sm_client_error e;
    va_list ap;
    va_start(ap, fmt);
    e.code = code;
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    sm_cl_log(SM_LOG_WARN, "libsessmon: %s", e.message);
    if (s->params.on_error)
        s->params.on_error(s, &e, s->params.context);
}

void sm_cl_dispatch(sm_session *s, const char *json, size_t len)
{
    sm_msg m;
    sm_error e;
    memset(&m, 0, sizeof m);
    s->last_rx = s->client->now;
    if (sm_msg_decode(json, len, SM_CLIENT_MAX_MESSAGE, &m, &e) != SM_OK) {
        if ((m.type == SM_MSG_REPLY || m.type == SM_MSG_ERROR) && m.id > 0) {
            sm_msg bad;
            memset(&bad, 0, sizeof bad);
            bad.type = SM_MSG_ERROR;
            bad.id = m.id;
            bad.code = SM_CODE_NONE; /* becomes PROTOCOL */
            bad.message = e.message;
            sm_cl_handle_error(s, &bad);
        } else {
            report_error(s, SM_CLIENT_ERR_PROTOCOL, "undecodable message from the server: %s", e.message);
        }
        sm_msg_free(&m);
        return;
    }
    if (s->link == SM_LINK_HANDSHAKING) {
        if (m.type == SM_MSG_OPENED)
            on_opened(s, &m);
        else if (m.type == SM_MSG_REFUSED)
            on_refused(s, &m);
        else
            link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_PROTOCOL,
                      "server sent \"%s\" before answering the open", sm_msg_type_name(m.type));
        sm_msg_free(&m);
        return;
    }
    if (s->link != SM_LINK_OPEN) {
        sm_msg_free(&m);
        return;
    }
    switch (m.type) {
    case SM_MSG_EVENTS:
        sm_cl_handle_events(s, &m);
        break;
    case SM_MSG_REPLY:
        sm_cl_handle_reply(s, &m);
        break;
    case SM_MSG_ERROR:
        sm_cl_handle_error(s, &m);
        break;
    case SM_MSG_SNAPSHOT_END:
        sm_cl_handle_snapshot_end(s, &m);
        break;
    case SM_MSG_HEARTBEAT: {
        sm_msg ack;
        memset(&ack, 0, sizeof ack);
        ack.type = SM_MSG_HEARTBEAT_ACK;
        ack.seq = m.seq;
        queue_ctrl(s, &ack);
        break;
    }
    default:
        report_error(s, SM_CLIENT_ERR_PROTOCOL, "unexpected \"%s\" message from the server",
                     sm_msg_type_name(m.type));
        break;
    }
    sm_msg_free(&m);
}

static int on_receive(sm_session *s, struct lws *wsi, const char *in, size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, NULL, 0);
        link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_PROTOCOL, "server sent a binary frame");
        return -1;
    }
    bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
    if (first && final && s->rx.len == 0) {
        sm_cl_dispatch(s, in, len); /* the common case: no copy */
        return 0;
    }
    if (first)
        sm_buf_reset(&s->rx);
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (s->rx.len + len + remaining > SM_CLIENT_MAX_MESSAGE) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_PROTOCOL,
                  "server message larger than %u bytes", SM_CLIENT_MAX_MESSAGE);
        return -1;
    }
    if (sm_buf_append(&s->rx, in, len) != 0) {
        link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_NOMEM, "out of memory receiving a message");
        return -1;
    }
    if (final) {
        sm_cl_dispatch(s, sm_buf_payload(&s->rx), s->rx.len);
        if (s->dead)
            return 0;
        if (s->rx.cap > (1u << 20)) {
            sm_buf_free(&s->rx); /* do not keep a huge snapshot buffer around */
            sm_buf_init(&s->rx, 0, SM_CLIENT_MAX_MESSAGE);
        } else {
            sm_buf_reset(&s->rx);
        }
    }
    return 0;
}

static void on_established(sm_session *s)
{
    set_link(s, SM_LINK_HANDSHAKING);
    s->upgrade_sent = true;
    s->last_rx = s->client->now;
    sm_msg m;
    memset(&m, 0, sizeof m);
    sm_kv *kvs = NULL;
    int64_t since_drop = s->dropped_at ? sm_mono_ms() - s->dropped_at : 0;
    if (s->token && s->info.session_id &&
        (s->info.reconnect_timeout_ms <= 0 || since_drop < s->info.reconnect_timeout_ms)) {
        m.type = SM_MSG_RESUME;
        m.session_id = s->info.session_id;
        m.token = s->token;
        s->resume_sent = true;
    } else {
        m.type = SM_MSG_OPEN;
        m.principal = s->principal;
        m.password = s->principal[0] ? s->password : NULL;
        m.client_type = s->client_type;
        m.environment = s->environment;
        if (s->prop_count) {
            kvs = calloc(s->prop_count, sizeof *kvs);
            if (!kvs) {
                link_down(s, SM_RELEASE_ABORT, SM_CLIENT_ERR_NOMEM, "out of memory");
                return;
            }
            for (size_t i = 0; i < s->prop_count; i++) {
                kvs[i].key = s->props[i].key;
                kvs[i].value = s->props[i].value;
            }
            m.properties.items = kvs;
            m.properties.count = s->prop_count;
        }
    }
    queue_ctrl(s, &m);
    free(kvs);
}

static void on_peer_close(sm_session *s, const unsigned char *in, size_t len)
{
    s->got_close_frame = true;
    s->close_code = len >= 2 ? (in[0] << 8) | in[1] : 1005;
    char reason[64] = "";
    if (len > 2) {
        size_t n = len - 2 < sizeof reason - 1 ? len - 2 : sizeof reason - 1;
        memcpy(reason, in + 2, n);
        reason[n] = '\0';
    }
    s->close_reason = sm_cl_reason_from_wire(sm_close_reason_from_name(reason));
}

/* ---- Why an attempt failed ---- */

/* Copies at most cap - 1 bytes of src (len bytes, or up to a NUL) keeping printable ASCII only:
 * lws's texts are its own, but what it quotes may come from the server. */
static void copy_printable(char *out, size_t cap, const char *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; src && i < len && src[i] && n + 1 < cap; i++)
        out[n++] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    out[n] = '\0';
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A socket error of a TCP connect, in words. */
static const char *connect_errno_text(int e)
{
    switch (e) {
    case ECONNREFUSED: return "connection refused";
    case ETIMEDOUT: return "connection timed out";
    case EHOSTUNREACH: return "host unreachable";
    case ENETUNREACH: return "network unreachable";
    case ECONNRESET: return "connection reset";
    case EADDRNOTAVAIL: return "address not available";
    case EADDRINUSE: return "no free local port";
    case EACCES:
    case EPERM: return "connection not permitted (firewall?)";
    default: return NULL;
    }
}

/* What LWS_CALLBACK_CLIENT_CONNECTION_ERROR means, in a short sentence for on_connect_failed. */
static void connection_error_reason(sm_session *s, struct lws *wsi, const char *in, size_t len, int saved_errno,
                                    char *out, size_t cap)
{
    char said[160];
    copy_printable(said, sizeof said, in, in ? len : 0);
    if (s->cert_rejected) {
        snprintf(out, cap, "TLS: the server's certificate was not accepted (unknown CA, self-signed, expired or "
                           "for another host name)");
    } else if (starts_with(said, "HS: ws upgrade response not 101") || starts_with(said, "HS: ws upgrade unauthorized")) {
        unsigned status = lws_http_client_http_response(wsi);
        if (status)
            snprintf(out, cap, "the server answered HTTP %u instead of a WebSocket upgrade (not sessmond, or a "
                               "wrong path?)", status);
        else
            snprintf(out, cap, "the server refused the WebSocket upgrade");
    } else if (starts_with(said, "HS: Cannot match protocol") || starts_with(said, "HS: PROTOCOL malformed")) {
        char chosen[64] = "";
        char raw[64];
        int n = lws_hdr_copy(wsi, raw, sizeof raw, WSI_TOKEN_PROTOCOL);
        if (n > 0)
            copy_printable(chosen, sizeof chosen, raw, (size_t)n);
        if (chosen[0])
            snprintf(out, cap, "the server chose WebSocket subprotocol \"%s\", not %s", chosen, SM_PROTOCOL_NAME);
        else
            snprintf(out, cap, "the server did not accept WebSocket subprotocol %s", SM_PROTOCOL_NAME);
    } else if (starts_with(said, "Peer hung up") || starts_with(said, "read failed")) {
        snprintf(out, cap, "the server closed the connection during the WebSocket handshake%s",
                 s->tls ? "" : " (if it uses TLS, use wss://)");
    } else if (s->tls && !s->upgrade_sent && (starts_with(said, "connect SSL") || strstr(said, "SSL") || strstr(said, "ssl"))) {
        snprintf(out, cap, "TLS handshake failed (if the server does not use TLS, use ws://)");
    } else if (starts_with(said, "Unable to connect") || !said[0]) {
        /* lws collects the socket error itself and keeps none of it; sm_cl_check_connects
         * usually reads it first. A connect() that failed at once leaves its errno. */
        const char *text = s->in_connect_call ? connect_errno_text(saved_errno) : NULL;
        snprintf(out, cap, "%s", text ? text : "connection failed");
    } else if (starts_with(said, "HS: ")) {
        snprintf(out, cap, "WebSocket handshake failed: %s", said + 4);
    } else {
        snprintf(out, cap, "%s", said);
    }
}

void sm_cl_check_connects(sm_client *c)
{
    enum { BATCH = 64 };
    struct pollfd fds[BATCH];
    sm_session *owner[BATCH];
    sm_session *s = c->sessions_head;
    while (s && !c->free_requested) {
        int n = 0;
        for (; s && n < BATCH; s = s->next) {
            if (s->dead || s->link != SM_LINK_CONNECTING || s->upgrade_sent || !s->wsi)
                continue;
            int fd = lws_get_socket_fd(s->wsi);
            if (fd < 0)
                continue; /* not connecting yet */
            fds[n] = (struct pollfd){.fd = fd, .events = POLLOUT};
            owner[n++] = s;
        }
        if (n == 0 || poll(fds, (nfds_t)n, 0) <= 0)
            continue;
        for (int i = 0; i < n && !c->free_requested; i++) {
            sm_session *o = owner[i];
            /* An earlier report's callback may have closed or freed it. */
            if (!(fds[i].revents & (POLLERR | POLLHUP)) || o->dead || o->link != SM_LINK_CONNECTING || !o->wsi ||
                lws_get_socket_fd(o->wsi) != fds[i].fd)
                continue;
            int e = 0;
            socklen_t elen = sizeof e;
            if (getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e == 0)
                continue; /* nothing pending: lws will see what happened */
            /* The error is consumed now, so lws must never look at this socket again: the abort
             * below kills it at the start of the next lws_service, before its poll. */
            const char *text = connect_errno_text(e);
            if (text)
                link_down(o, SM_RELEASE_ABORT, SM_CLIENT_ERR_CONNECT_FAILED, "%s", text);
            else
                link_down(o, SM_RELEASE_ABORT, SM_CLIENT_ERR_CONNECT_FAILED, "connect failed: %s", strerror(e));
        }
    }
}

int sm_cl_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    int saved_errno = errno;
    sm_client *c = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: {
        /* Here user is OpenSSL's X509_STORE_CTX and len is preverify_ok; lws has already
         * accepted what allow_self_signed allows. Returning 0 keeps lws's verdict. */
        sm_session *vs = lws_wsi_user(wsi);
        if (!len && vs && vs != (void *)&c->orphan_marker && vs->wsi == wsi)
            vs->cert_rejected = true;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_RECEIVE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        break;
    default:
        return 0; /* user is not always a session for the others (TLS context set-up, ...) */
    }
    if (user == &c->orphan_marker) {
        switch (reason) {
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        case LWS_CALLBACK_WSI_DESTROY:
            if (c->orphans)
                c->orphans--;
            return 0;
        default:
            return 0;
        }
    }
    sm_session *s = user;
    if (!s || s->wsi != wsi) {
        /* Detached: lws is finishing it. Refuse to go on with any traffic. */
        return reason == LWS_CALLBACK_CLIENT_WRITEABLE || reason == LWS_CALLBACK_CLIENT_RECEIVE ||
                       reason == LWS_CALLBACK_CLIENT_ESTABLISHED
                   ? -1
                   : 0;
    }
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        s->upgrade_sent = true;
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        on_established(s);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[SM_CLIENT_ERROR_MESSAGE_MAX];
        connection_error_reason(s, wsi, in, len, saved_errno, why, sizeof why);
        link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECT_FAILED, "%s", why);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(s, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(s, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        on_peer_close(s, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (s->link == SM_LINK_HANDSHAKING)
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECTION_LOST,
                      "the server closed the connection before answering the open");
        else if (s->link == SM_LINK_CONNECTING)
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECTION_LOST, "connection closed during the handshake");
        else
            link_down(s, SM_RELEASE_GONE, SM_CLIENT_ERR_CONNECTION_LOST, "connection to %s lost", s->host_header);
        return 0;
    default:
        return 0;
    }
}

/* ---- Test hooks ---- */

sm_session *sm_client__offline_session(sm_client *c, const sm_session_params *p)
{
    sm_session_params q = *p;
    if (!q.url)
        q.url = "ws://127.0.0.1:1/";
    sm_session *s = sm_session_open(c, &q, NULL);
    if (!s)
        return NULL;
    s->next_connect_at = 0;
    set_link(s, SM_LINK_OPEN);
    s->status = SM_SESSION_OPEN;
    s->ever_opened = true;
    s->params.liveness_timeout_ms = -1;
    s->info.session_id = strdup("offline-session");
    s->info.principal = strdup("");
    s->info.roles = strdup("");
    s->info.server_name = strdup("offline");
    s->token = strdup("offline");
    s->info.permissions = SM_PERM_ALL;
    s->has_info = true;
    return s;
}

void sm_client__inject_message(sm_session *s, const char *json, size_t len)
{
    sm_client *c = s->client;
    sm_cl_enter(c);
    c->now = sm_mono_ms();
    sm_cl_dispatch(s, json, len);
    sm_cl_leave(c);
}

const char *sm_client__token(const sm_session *s)
{
    return s->token;
}
