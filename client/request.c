/* libsessmon requests: get/set/set-by-filter/close/ping, their queue, replies, timeouts and failures. */
#include "client/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/props.h"
#include "core/utf8.h"

#define SM_CL_SESSION_ID_MAX 256

/* ---- Lists ---- */

void sm_cl_list_push(sm_req_list *l, sm_request *r, bool front)
{
    r->prev = r->next = NULL;
    if (!l->head) {
        l->head = l->tail = r;
    } else if (front) {
        r->next = l->head;
        l->head->prev = r;
        l->head = r;
    } else {
        r->prev = l->tail;
        l->tail->next = r;
        l->tail = r;
    }
    l->count++;
}

void sm_cl_list_remove(sm_req_list *l, sm_request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->count--;
}

/* ---- Validation ---- */

sm_client_errcode sm_cl_validate_text(const char *what, const char *s, size_t max, sm_client_error *err)
{
    if (!s)
        return SM_CLIENT_OK;
    size_t len = strlen(s);
    if (len > max)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "%s longer than %zu bytes", what, max);
    if (!sm_utf8_valid(s, len))
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "%s is not valid UTF-8", what);
    return SM_CLIENT_OK;
}

sm_client_errcode sm_cl_validate_props(const sm_property *props, size_t n, bool allow_null,
                                       sm_client_error *err)
{
    if (n && !props)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "properties missing");
    for (size_t i = 0; i < n; i++) {
        const char *key = props[i].key;
        if (!key || !*key)
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "empty property key");
        size_t klen = strlen(key);
        if (klen > SM_KEY_MAX || !sm_utf8_valid(key, klen))
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY,
                               "property key too long or not valid UTF-8");
        if (!props[i].value) {
            if (!allow_null)
                return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "property %s has no value", key);
            continue;
        }
        sm_error e;
        if (sm_validate_value(props[i].value, strlen(props[i].value), &e) != SM_OK)
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "property %s: %s", key, e.message);
        for (size_t j = 0; j < i; j++)
            if (strcmp(props[j].key, key) == 0)
                return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "property %s given twice", key);
    }
    return SM_CLIENT_OK;
}

sm_client_errcode sm_cl_validate_keys(const char *const *keys, size_t n, sm_client_error *err)
{
    if (n && !keys)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "keys missing");
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !*keys[i])
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY, "empty property key");
        size_t len = strlen(keys[i]);
        if (len > SM_KEY_MAX || !sm_utf8_valid(keys[i], len))
            return sm_cl_error(err, SM_CLIENT_ERR_INVALID_PROPERTY,
                               "property key too long or not valid UTF-8");
    }
    return SM_CLIENT_OK;
}

static sm_client_errcode validate_session_id(const char *id, sm_client_error *err)
{
    if (!id || !*id)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "session ID missing");
    return sm_cl_validate_text("session ID", id, SM_CL_SESSION_ID_MAX, err);
}

sm_client_errcode sm_cl_validate_filter(const char *filter, sm_client_error *err)
{
    if (!filter)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "filter missing");
    /* The server's own checks and words (with the column), so the error reads the same whether
     * the library or the server refuses it; invalid UTF-8 could not even be sent. */
    sm_error e;
    if (sm_filter_check_text(filter, strlen(filter), &e) != SM_OK)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_FILTER, "%s", e.message);
    return SM_CLIENT_OK;
}

/* ---- Request objects ---- */

sm_request *sm_cl_request_new(sm_session *s, sm_req_kind kind, sm_msg *m, int timeout_ms,
                              sm_client_error *err)
{
    sm_request *r = calloc(1, sizeof *r);
    if (!r) {
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->id = s->next_id++;
    r->kind = kind;
    r->op = m->type;
    m->id = r->id;
    /* Bounded by the largest message any server accepts from us, so a runaway caller cannot
     * make one allocation grow without limit. */
    sm_buf_init(&r->out, LWS_PRE, SM_CLIENT_MAX_MESSAGE);
    int rc = sm_msg_encode(m, &r->out);
    if (rc != SM_OK) {
        sm_cl_error(err, rc == SM_ERR_NOMEM ? SM_CLIENT_ERR_NOMEM : SM_CLIENT_ERR_INVALID_ARGUMENT,
                    rc == SM_ERR_LIMIT ? "request too large" : "request could not be encoded");
        sm_buf_free(&r->out);
        free(r);
        return NULL;
    }
    if ((int64_t)r->out.len > s->info.max_message_bytes) {
        sm_cl_error(err, SM_CLIENT_ERR_LIMIT_EXCEEDED,
                    "request of %zu bytes exceeds the server's limit of %lld bytes", r->out.len,
                    (long long)s->info.max_message_bytes);
        sm_buf_free(&r->out);
        free(r);
        return NULL;
    }
    if (kind == SM_REQ_USER && s->queued_bytes + r->out.len > s->params.max_queued_bytes) {
        sm_cl_error(err, SM_CLIENT_ERR_QUEUE_FULL, "outbound queue full (%zu bytes waiting)",
                    s->queued_bytes);
        sm_buf_free(&r->out);
        free(r);
        return NULL;
    }
    if (timeout_ms > 0) {
        r->deadline = sm_mono_ms() + timeout_ms;
        s->timed_requests++;
        if (!s->request_deadline_hint || r->deadline < s->request_deadline_hint)
            s->request_deadline_hint = r->deadline;
    }
    return r;
}

void sm_cl_request_free(sm_session *s, sm_request *r)
{
    if (r->deadline && s->timed_requests && --s->timed_requests == 0)
        s->request_deadline_hint = 0;
    if (r->listener && r->listener->reg_request == r)
        r->listener->reg_request = NULL;
    sm_buf_free(&r->out);
    free(r);
}

void sm_cl_request_enqueue(sm_session *s, sm_request *r, bool front)
{
    sm_cl_list_push(&s->queued, r, front);
    s->queued_bytes += r->out.len;
    sm_cl_session_kick(s);
}

/* Common tail of every public request function. */
static sm_client_errcode submit(sm_session *s, sm_msg *m, sm_reply_fn cb, void *context, int timeout_ms,
                                sm_client_error *err)
{
    sm_request *r = sm_cl_request_new(s, SM_REQ_USER, m, timeout_ms, err);
    if (!r)
        return err ? err->code : SM_CLIENT_ERR_NOMEM;
    r->on_reply = cb;
    r->context = context;
    sm_cl_request_enqueue(s, r, false);
    return SM_CLIENT_OK;
}

static sm_client_errcode check_session(sm_session *s, const void *params, sm_client_error *err)
{
    if (!s || s->dead || !params)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "session and params are required");
    if (s->terminal || s->close_requested)
        return sm_cl_error(err, SM_CLIENT_ERR_CLOSED, "session closed");
    return SM_CLIENT_OK;
}

/* Converts public properties to the codec's pairs (same shape; the codec wants its own type). */
static sm_kv *to_kvs(const sm_property *props, size_t n)
{
    sm_kv *kvs = calloc(n ? n : 1, sizeof *kvs);
    if (!kvs)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        kvs[i].key = props[i].key;
        kvs[i].value = props[i].value;
    }
    return kvs;
}

/* ---- Public request functions ---- */

sm_client_errcode sm_get_properties(sm_session *s, const sm_get_params *p, sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)) || (rc = validate_session_id(p->session_id, err)) ||
        (rc = sm_cl_validate_keys(p->keys, p->key_count, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_GET;
    m.session_id = p->session_id;
    if (p->key_count) {
        m.has_keys = true;
        m.keys.items = (const char **)p->keys;
        m.keys.count = p->key_count;
    }
    return submit(s, &m, p->on_reply, p->context, p->timeout_ms, err);
}

/* set and set_by_filter: the map is validated and converted the same way; m names the target. */
static sm_client_errcode submit_map(sm_session *s, sm_msg *m, const sm_property *props, size_t n, sm_reply_fn cb,
                                    void *context, int timeout_ms, sm_client_error *err)
{
    sm_client_errcode rc = sm_cl_validate_props(props, n, true, err);
    if (rc)
        return rc;
    if (!n)
        return sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "no properties to set");
    sm_kv *kvs = to_kvs(props, n);
    if (!kvs)
        return sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
    m->properties.items = kvs;
    m->properties.count = n;
    rc = submit(s, m, cb, context, timeout_ms, err);
    free(kvs);
    return rc;
}

sm_client_errcode sm_set_properties(sm_session *s, const sm_set_params *p, sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)) || (rc = validate_session_id(p->session_id, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_SET;
    m.session_id = p->session_id;
    return submit_map(s, &m, p->properties, p->property_count, p->on_reply, p->context, p->timeout_ms, err);
}

sm_client_errcode sm_set_properties_by_filter(sm_session *s, const sm_set_by_filter_params *p,
                                              sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)) || (rc = sm_cl_validate_filter(p->filter, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_SET_BY_FILTER;
    m.filter = p->filter;
    return submit_map(s, &m, p->properties, p->property_count, p->on_reply, p->context, p->timeout_ms, err);
}

sm_client_errcode sm_close_by_id(sm_session *s, const sm_close_by_id_params *p, sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)) || (rc = validate_session_id(p->session_id, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_CLOSE_SESSION;
    m.session_id = p->session_id;
    return submit(s, &m, p->on_reply, p->context, p->timeout_ms, err);
}

sm_client_errcode sm_close_by_filter(sm_session *s, const sm_close_by_filter_params *p,
                                     sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)) || (rc = sm_cl_validate_filter(p->filter, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_CLOSE_BY_FILTER;
    m.filter = p->filter;
    return submit(s, &m, p->on_reply, p->context, p->timeout_ms, err);
}

sm_client_errcode sm_ping(sm_session *s, const sm_ping_params *p, sm_client_error *err)
{
    sm_client_errcode rc;
    if ((rc = check_session(s, p, err)))
        return rc;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_PING;
    return submit(s, &m, p->on_reply, p->context, p->timeout_ms, err);
}

/* ---- Completion ---- */

static void complete_user(sm_session *s, sm_request *r, const sm_reply *reply)
{
    if (r->on_reply)
        r->on_reply(s, reply, r->context);
}

/* Completes a request the connection will never answer. r is unlinked already. */
void sm_cl_request_fail(sm_session *s, sm_request *r, const sm_client_error *err)
{
    switch (r->kind) {
    case SM_REQ_USER: {
        sm_reply reply;
        memset(&reply, 0, sizeof reply);
        reply.error = err;
        complete_user(s, r, &reply);
        break;
    }
    case SM_REQ_ADD_LISTENER:
        /* The listener stays pending: it is registered again on the next connection, or ended
         * with its session. */
        if (r->listener && r->listener->reg_request == r)
            r->listener->reg_request = NULL;
        break;
    case SM_REQ_REMOVE_LISTENER:
        if (r->listener)
            sm_cl_listener_removed(r->listener);
        break;
    case SM_REQ_PROBE:
        s->probe_outstanding = false;
        break;
    case SM_REQ_CLOSE_SELF:
        break;
    }
    sm_cl_request_free(s, r);
}

void sm_cl_fail_inflight(sm_session *s, const sm_client_error *err)
{
    /* Pop one at a time: a callback may re-enter (free the session) and drain the rest. */
    sm_request *r;
    while ((r = s->inflight.head)) {
        sm_cl_list_remove(&s->inflight, r);
        sm_cl_request_fail(s, r, err);
    }
}

void sm_cl_fail_queued(sm_session *s, const sm_client_error *err)
{
    sm_request *r;
    while ((r = s->queued.head)) {
        sm_cl_list_remove(&s->queued, r);
        s->queued_bytes -= r->out.len;
        sm_cl_request_fail(s, r, err);
    }
}

static int64_t earliest_request_deadline(const sm_session *s)
{
    int64_t d = 0;
    const sm_req_list *lists[2] = {&s->queued, &s->inflight};
    for (int i = 0; i < 2; i++)
        for (const sm_request *r = lists[i]->head; r; r = r->next)
            if (r->deadline && (!d || r->deadline < d))
                d = r->deadline;
    return d;
}

int64_t sm_cl_requests_deadline(const sm_session *s)
{
    /* Early rather than exact: waking at a deadline whose request was answered costs one walk,
     * which makes the hint exact again. */
    return s->timed_requests ? s->request_deadline_hint : 0;
}

void sm_cl_expire_requests(sm_session *s, int64_t now)
{
    if (!s->timed_requests) {
        s->request_deadline_hint = 0;
        return;
    }
    if (s->request_deadline_hint && now < s->request_deadline_hint)
        return;
    bool again = true;
    while (again && !s->dead) {
        again = false;
        sm_req_list *lists[2] = {&s->queued, &s->inflight};
        for (int i = 0; i < 2 && !again; i++) {
            for (sm_request *r = lists[i]->head; r; r = r->next) {
                if (!r->deadline || r->deadline > now)
                    continue;
                sm_cl_list_remove(lists[i], r);
                if (i == 0)
                    s->queued_bytes -= r->out.len;
                sm_client_error e;
                if (r->kind == SM_REQ_CLOSE_SELF) {
                    /* The server did not answer close_self: end it from our side. */
                    sm_cl_request_free(s, r);
                    s->close_sent = false; /* the next tick closes with a close frame */
                    s->client->work_pending = true;
                } else {
                    sm_cl_error(&e, SM_CLIENT_ERR_TIMEOUT, "no reply from the server in time");
                    sm_cl_request_fail(s, r, &e);
                }
                again = true; /* the lists may have changed under the callback */
                break;
            }
        }
    }
    if (!s->dead)
        s->request_deadline_hint = earliest_request_deadline(s);
}

static sm_request *find_inflight(sm_session *s, int64_t id)
{
    /* Replies come in request order, so the head nearly always matches. */
    for (sm_request *r = s->inflight.head; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

void sm_cl_handle_reply(sm_session *s, const sm_msg *m)
{
    sm_request *r = find_inflight(s, m->id);
    if (!r)
        return; /* timed out earlier: the caller was already told */
    sm_cl_list_remove(&s->inflight, r);
    if (m->op != r->op) {
        sm_client_error e;
        sm_cl_error(&e, SM_CLIENT_ERR_PROTOCOL, "reply to %s carries op %s", sm_msg_type_name(r->op),
                    sm_msg_type_name(m->op) ? sm_msg_type_name(m->op) : "?");
        sm_cl_request_fail(s, r, &e);
        return;
    }
    switch (r->kind) {
    case SM_REQ_USER: {
        sm_reply reply;
        memset(&reply, 0, sizeof reply);
        const sm_kvs *kvs = m->op == SM_MSG_GET ? &m->properties : m->op == SM_MSG_SET ? &m->changed : NULL;
        if (kvs && kvs->count) {
            reply.properties = sm_cl_props(s->client, kvs, false);
            if (!reply.properties) {
                sm_client_error e;
                sm_cl_error(&e, SM_CLIENT_ERR_NOMEM, "out of memory");
                sm_cl_request_fail(s, r, &e);
                return;
            }
            reply.property_count = kvs->count;
        }
        reply.count = m->count > 0 ? (uint64_t)m->count : 0;
        reply.server_time = m->time;
        complete_user(s, r, &reply);
        break;
    }
    case SM_REQ_ADD_LISTENER: {
        sm_listener *l = r->listener;
        if (l)
            l->reg_request = NULL;
        r->listener = NULL;
        if (l)
            sm_cl_listener_registered(l, m->listener);
        break;
    }
    case SM_REQ_REMOVE_LISTENER:
        if (r->listener) {
            sm_listener *l = r->listener;
            r->listener = NULL;
            sm_cl_listener_removed(l);
        }
        break;
    case SM_REQ_PROBE:
        s->probe_outstanding = false;
        break;
    case SM_REQ_CLOSE_SELF:
        /* The close frame follows; do not wait for it forever. */
        s->link_deadline = s->client->now + SM_CL_CLOSE_SELF_TIMEOUT_MS;
        break;
    }
    sm_cl_request_free(s, r);
}

void sm_cl_handle_error(sm_session *s, const sm_msg *m)
{
    sm_client_error e;
    e.code = sm_cl_errcode_from_wire(m->code);
    snprintf(e.message, sizeof e.message, "%s", m->message ? m->message : sm_client_errcode_name(e.code));
    sm_request *r = m->id > 0 ? find_inflight(s, m->id) : NULL;
    if (!r) {
        if (m->id <= 0 && s->params.on_error)
            s->params.on_error(s, &e, s->params.context);
        return;
    }
    sm_cl_list_remove(&s->inflight, r);
    switch (r->kind) {
    case SM_REQ_ADD_LISTENER: {
        sm_listener *l = r->listener;
        r->listener = NULL;
        if (l) {
            l->reg_request = NULL;
            sm_cl_listener_registration_failed(l, &e);
        }
        sm_cl_request_free(s, r);
        return;
    }
    case SM_REQ_CLOSE_SELF:
        /* Cannot happen with a conforming server; close from our side. */
        s->close_sent = false;
        s->client->work_pending = true;
        sm_cl_request_free(s, r);
        return;
    default:
        sm_cl_request_fail(s, r, &e);
        return;
    }
}
