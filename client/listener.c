/* libsessmon session listeners: registration, re-registration after reconnects, event delivery. */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>


static void free_copies(sm_listener *l)
{
    if (l->keys) {
        for (size_t i = 0; i < l->params.key_count; i++)
            free(l->keys[i]);
        free(l->keys);
    }
    free(l->filter);
}

void sm_cl_listener_destroy(sm_listener *l)
{
    sm_session *s = l->session;
    if (l->prev)
        l->prev->next = l->next;
    else
        s->listeners_head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else
        s->listeners_tail = l->prev;
    if (l->reg_request)
        l->reg_request->listener = NULL;
    /* A remove_listener request may still point here. */
    sm_req_list *lists[2] = {&s->queued, &s->inflight};
    for (int i = 0; i < 2; i++)
        for (sm_request *r = lists[i]->head; r; r = r->next)
            if (r->listener == l)
                r->listener = NULL;
    free_copies(l);
    free(l);
}

/* Queues add_listener for l. Returns false (err filled) when it cannot be encoded/queued. */
static bool queue_registration(sm_listener *l, sm_client_error *err)
{
    sm_session *s = l->session;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_ADD_LISTENER;
    if (l->params.key_count) {
        m.has_keys = true;
        m.keys.items = (const char **)l->keys;
        m.keys.count = l->params.key_count;
    }
    m.filter = l->filter;
    m.has_after = l->params.has_after;
    m.after = l->params.after;
    m.changed_only = l->params.changed_only;
    sm_request *r = sm_cl_request_new(s, SM_REQ_ADD_LISTENER, &m, 0, err);
    if (!r)
        return false;
    r->listener = l;
    l->reg_request = r;
    sm_cl_request_enqueue(s, r, false);
    return true;
}

static bool queue_removal(sm_listener *l)
{
    sm_session *s = l->session;
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_REMOVE_LISTENER;
    m.listener = l->server_id;
    sm_request *r = sm_cl_request_new(s, SM_REQ_REMOVE_LISTENER, &m, 0, NULL);
    if (!r)
        return false;
    r->listener = l;
    sm_cl_request_enqueue(s, r, false);
    return true;
}

/* Forgets l's add_listener request, queued or in flight (a reply to it is then ignored). */
static void drop_registration(sm_listener *l)
{
    sm_session *s = l->session;
    sm_request *r = l->reg_request;
    if (!r)
        return;
    sm_cl_list_remove(r->sent ? &s->inflight : &s->queued, r);
    if (!r->sent)
        s->queued_bytes -= r->out.len;
    sm_cl_request_free(s, r); /* clears l->reg_request */
}

static void schedule_close(sm_listener *l)
{
    l->notify_close = true;
    l->session->listener_work = true;
    l->session->client->work_pending = true;
}

sm_listener *sm_listener_register(sm_session *s, const sm_listener_params *p, sm_client_error *err)
{
    if (!s || s->dead || !p) {
        sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "session and params are required");
        return NULL;
    }
    if (s->terminal || s->close_requested) {
        sm_cl_error(err, SM_CLIENT_ERR_CLOSED, "session closed");
        return NULL;
    }
    if (sm_cl_validate_keys(p->keys, p->key_count, err) || (p->filter && sm_cl_validate_filter(p->filter, err)))
        return NULL;
    if (p->has_after && (p->after < 0 || p->after > SM_INT_MAX_JSON)) {
        sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "after out of range");
        return NULL;
    }

    sm_listener *l = calloc(1, sizeof *l);
    if (!l) {
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->session = s;
    l->params = *p;
    bool oom = false;
    if (p->key_count) {
        l->keys = calloc(p->key_count, sizeof *l->keys);
        oom = !l->keys;
        for (size_t i = 0; l->keys && i < p->key_count; i++)
            if (!(l->keys[i] = strdup(p->keys[i])))
                oom = true;
    }
    if (p->filter && !(l->filter = strdup(p->filter)))
        oom = true;
    if (oom) {
        free_copies(l);
        free(l);
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->params.keys = (const char *const *)l->keys;
    l->params.filter = l->filter;
    l->state = SM_LST_PENDING;

    l->prev = s->listeners_tail;
    if (s->listeners_tail)
        s->listeners_tail->next = l;
    else
        s->listeners_head = l;
    s->listeners_tail = l;

    if (s->link == SM_LINK_OPEN && !queue_registration(l, err)) {
        sm_cl_listener_destroy(l);
        return NULL;
    }
    return l;
}

void sm_listener_close(sm_listener *l)
{
    if (!l || l->dead || l->close_requested)
        return;
    sm_session *s = l->session;
    l->close_requested = true;
    switch (l->state) {
    case SM_LST_ACTIVE:
        if (s->link == SM_LINK_OPEN && queue_removal(l)) {
            l->state = SM_LST_CLOSING;
            return;
        }
        schedule_close(l);
        return;
    case SM_LST_PENDING:
        if (l->reg_request && !l->reg_request->sent)
            drop_registration(l);
        /* A registration in flight is removed once its reply names the listener. */
        if (!l->reg_request)
            schedule_close(l);
        return;
    case SM_LST_CLOSING:
    case SM_LST_DONE:
        return;
    }
}

void *sm_listener_get_context(const sm_listener *l)
{
    return l ? l->params.context : NULL;
}

sm_session *sm_listener_get_session(const sm_listener *l)
{
    return l ? l->session : NULL;
}

/* ---- Lifecycle driven by the session ---- */

void sm_cl_listener_finish(sm_listener *l, const sm_client_error *err)
{
    if (l->dead)
        return;
    l->dead = true;
    l->state = SM_LST_DONE;
    l->notify_close = false;
    l->session->client->reap_needed = true;
    drop_registration(l);
    if (err && l->params.on_error)
        l->params.on_error(l, err, l->params.context);
    if (l->params.on_close)
        l->params.on_close(l, l->params.context);
}

void sm_cl_listeners_on_open(sm_session *s)
{
    for (sm_listener *l = s->listeners_head; l; l = l->next) {
        if (l->dead || l->close_requested || l->state != SM_LST_PENDING || l->reg_request)
            continue;
        sm_client_error e;
        if (!queue_registration(l, &e)) {
            sm_cl_listener_registration_failed(l, &e);
            if (s->dead)
                return;
        }
    }
}

void sm_cl_listeners_on_link_down(sm_session *s)
{
    for (sm_listener *l = s->listeners_head; l; l = l->next) {
        if (l->dead)
            continue;
        l->server_id = 0;
        if (l->state == SM_LST_ACTIVE || l->state == SM_LST_CLOSING)
            l->state = SM_LST_PENDING;
        if (l->close_requested && !l->reg_request)
            schedule_close(l);
    }
}

void sm_cl_listeners_end(sm_session *s, const sm_client_error *err)
{
    for (sm_listener *l = s->listeners_head; l; l = l->next)
        if (!l->dead)
            sm_cl_listener_finish(l, err);
}

void sm_cl_listeners_tick(sm_session *s)
{
    s->listener_work = false;
    for (sm_listener *l = s->listeners_head; l && !s->dead; l = l->next)
        if (l->notify_close && !l->dead)
            sm_cl_listener_finish(l, NULL);
}

void sm_cl_listener_registered(sm_listener *l, int64_t server_id)
{
    if (l->dead)
        return;
    l->server_id = server_id;
    l->state = SM_LST_ACTIVE;
    if (l->close_requested) {
        if (l->session->link == SM_LINK_OPEN && queue_removal(l))
            l->state = SM_LST_CLOSING;
        else
            schedule_close(l);
        return;
    }
    sm_registration reg = {server_id, l->registered_once};
    l->registered_once = true;
    if (l->params.on_registered)
        l->params.on_registered(l, &reg, l->params.context);
}

void sm_cl_listener_registration_failed(sm_listener *l, const sm_client_error *err)
{
    if (l->dead)
        return;
    l->dead = true;
    l->state = SM_LST_DONE;
    l->session->client->reap_needed = true;
    if (l->params.on_registration_error)
        l->params.on_registration_error(l, err, l->params.context);
    if (l->params.on_close)
        l->params.on_close(l, l->params.context);
}

void sm_cl_listener_removed(sm_listener *l)
{
    sm_cl_listener_finish(l, NULL);
}

/* ---- Events ---- */

static sm_listener *find_active(sm_session *s, int64_t server_id)
{
    for (sm_listener *l = s->listeners_head; l; l = l->next)
        if (l->server_id == server_id && l->state == SM_LST_ACTIVE && !l->close_requested && !l->dead)
            return l;
    return NULL;
}

static sm_remote_state remote_state(sm_session_state st)
{
    switch (st) {
    case SM_STATE_DISCONNECTED: return SM_REMOTE_DISCONNECTED;
    case SM_STATE_CLOSED: return SM_REMOTE_CLOSED;
    default: return SM_REMOTE_ACTIVE;
    }
}

void sm_cl_handle_events(sm_session *s, const sm_msg *m)
{
    sm_listener *l = find_active(s, m->listener);
    if (!l)
        return; /* removed meanwhile, or from a previous registration */
    sm_client *c = s->client;
    const sm_listener_params *p = &l->params;
    for (size_t i = 0; i < m->event_count; i++) {
        const sm_event *in = &m->events[i];
        sm_session_event ev;
        ev.session_id = in->session_id;
        ev.state = remote_state(in->state);
        ev.property_count = in->properties.count;
        ev.properties = sm_cl_props(c, &in->properties, false);
        ev.previous_count = in->changed.count;
        ev.previous = sm_cl_props(c, &in->changed, true);
        if ((ev.property_count && !ev.properties) || (ev.previous_count && !ev.previous))
            return; /* out of memory: dropping is all we can do */
        ev.update = SM_UPDATE_PROPERTIES;
        ev.reason = SM_REASON_NONE;
        ev.snapshot = in->snapshot;
        ev.filter_change = false;
        sm_listener_event_fn fn = NULL;
        switch (in->type) {
        case SM_EVENT_OPEN: fn = p->on_session_open; break;
        case SM_EVENT_PROPERTIES: fn = p->on_session_update; break;
        case SM_EVENT_DISCONNECTED:
            ev.update = SM_UPDATE_DISCONNECTED;
            fn = p->on_session_update;
            break;
        case SM_EVENT_RECONNECTED:
            ev.update = SM_UPDATE_RECONNECTED;
            fn = p->on_session_update;
            break;
        case SM_EVENT_FAILED_OVER:
            ev.update = SM_UPDATE_FAILED_OVER;
            fn = p->on_session_update;
            break;
        case SM_EVENT_CLOSED:
            ev.reason = sm_cl_reason_from_wire(in->reason);
            fn = p->on_session_close;
            break;
        case SM_EVENT_FILTER_ENTER:
            ev.filter_change = p->fold_filter_events;
            fn = p->fold_filter_events ? p->on_session_open : p->on_filter_enter;
            break;
        case SM_EVENT_FILTER_LEAVE:
            ev.filter_change = p->fold_filter_events;
            fn = p->fold_filter_events ? p->on_session_close : p->on_filter_leave;
            break;
        default: break;
        }
        if (!fn)
            continue;
        fn(l, &ev, p->context);
        /* The callback may have closed the listener or freed the session or the client. */
        if (s->dead || l->dead || l->close_requested || c->free_requested)
            return;
    }
}

void sm_cl_handle_snapshot_end(sm_session *s, const sm_msg *m)
{
    sm_listener *l = find_active(s, m->listener);
    if (l && l->params.on_snapshot_end)
        l->params.on_snapshot_end(l, m->count > 0 ? (uint64_t)m->count : 0, l->params.context);
}

/* ---- Test hook ---- */

void sm_client__bind_listener(sm_listener *l, int64_t server_id)
{
    drop_registration(l);
    sm_cl_enter(l->session->client);
    sm_cl_listener_registered(l, server_id);
    sm_cl_leave(l->session->client);
}
