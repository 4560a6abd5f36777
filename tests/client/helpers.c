/* Helpers for the libsessmon integration tests: callback recorders, synchronous requests, waits. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prop_cmp(const void *a, const void *b)
{
    return strcmp(((const sm_property *)a)->key, ((const sm_property *)b)->key);
}

void th_props_text(const sm_property *p, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    sm_property *copy = calloc(n ? n : 1, sizeof *copy);
    if (!copy)
        return;
    if (n)
        memcpy(copy, p, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, prop_cmp);
    size_t len = 0;
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s=%s;", copy[i].key,
                                copy[i].value ? copy[i].value : "<null>");
    free(copy);
}

/* ---- Sessions ---- */

static void s_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    th_session *t = context;
    t->opens++;
    snprintf(t->id, sizeof t->id, "%s", info->session_id);
    t->resumed = info->resumed;
    t->replaced = info->replaced;
    t->permissions = info->permissions;
}

static void s_disconnect(sm_session *s, const sm_client_error *cause, void *context)
{
    (void)s;
    th_session *t = context;
    t->disconnects++;
    t->disconnect_cause = *cause;
}

static void s_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *context)
{
    (void)s;
    th_session *t = context;
    t->closed = true;
    t->close_reason = reason;
    t->close_error = *err;
}

static void s_error(sm_session *s, const sm_client_error *err, void *context)
{
    (void)s;
    (void)err;
    th_session *t = context;
    t->errors++;
}

void th_session_params(sm_session_params *p, th_session *t)
{
    p->on_open = s_open;
    p->on_disconnect = s_disconnect;
    p->on_close = s_close;
    p->on_error = s_error;
    p->context = t;
}

sm_session *th_open(sm_client *c, th_session *t, const char *url, const char *principal,
                    const char *password, const sm_property *props, size_t nprops)
{
    memset(t, 0, sizeof *t);
    sm_session_params p = {0};
    p.url = url;
    p.principal = principal;
    p.password = password;
    p.properties = props;
    p.property_count = nprops;
    p.reconnect_initial_ms = 50;
    p.reconnect_max_ms = 400;
    th_session_params(&p, t);
    sm_client_error err;
    t->s = sm_session_open(c, &p, &err);
    if (!t->s)
        return NULL;
    TH_WAIT(c, t->opens > 0 || t->closed, TH_TIMEOUT_MS);
    return t->opens > 0 ? t->s : NULL;
}

/* ---- Listeners ---- */

static th_event *push(th_listener *t, const char *kind)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        th_event *bigger = realloc(t->ev, cap * sizeof *bigger);
        if (!bigger)
            abort();
        t->ev = bigger;
        t->cap = cap;
    }
    th_event *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    return e;
}

static void record(th_listener *t, const char *kind, const sm_session_event *ev)
{
    th_event *e = push(t, kind);
    snprintf(e->session, sizeof e->session, "%s", ev->session_id);
    e->state = ev->state;
    e->update = ev->update;
    e->reason = ev->reason;
    e->snapshot = ev->snapshot;
    e->filter_change = ev->filter_change;
    th_props_text(ev->properties, ev->property_count, e->props, sizeof e->props);
    th_props_text(ev->previous, ev->previous_count, e->previous, sizeof e->previous);
}

static void l_registered(sm_listener *l, const sm_registration *r, void *context)
{
    (void)l;
    th_event *e = push(context, "registered");
    e->resync = r->resync;
    e->count = (uint64_t)r->listener_id;
}

static void l_regerror(sm_listener *l, const sm_client_error *err, void *context)
{
    (void)l;
    th_event *e = push(context, "regerror");
    e->code = err->code;
    snprintf(e->message, sizeof e->message, "%s", err->message);
}

static void l_open(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    record(context, "open", ev);
}

static void l_update(sm_listener *l, const sm_session_event *ev, void *context)
{
    th_listener *t = context;
    record(t, "update", ev);
    if (t->close_inside_event)
        sm_listener_close(l);
}

static void l_close(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    record(context, "close", ev);
}

static void l_enter(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    record(context, "enter", ev);
}

static void l_leave(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    record(context, "leave", ev);
}

static void l_snapend(sm_listener *l, uint64_t count, void *context)
{
    (void)l;
    push(context, "snapend")->count = count;
}

static void l_error(sm_listener *l, const sm_client_error *err, void *context)
{
    (void)l;
    th_event *e = push(context, "error");
    e->code = err->code;
    snprintf(e->message, sizeof e->message, "%s", err->message);
}

static void l_lclose(sm_listener *l, void *context)
{
    (void)l;
    th_listener *t = context;
    push(t, "lclose");
    t->closed = true;
    t->l = NULL;
}

void th_listener_params(sm_listener_params *p, th_listener *t)
{
    p->on_registered = l_registered;
    p->on_registration_error = l_regerror;
    p->on_session_open = l_open;
    p->on_session_update = l_update;
    p->on_session_close = l_close;
    p->on_filter_enter = l_enter;
    p->on_filter_leave = l_leave;
    p->on_snapshot_end = l_snapend;
    p->on_error = l_error;
    p->on_close = l_lclose;
    p->context = t;
}

void th_listener_free(th_listener *t)
{
    free(t->ev);
    t->ev = NULL;
    t->n = t->cap = 0;
}

int th_find(const th_listener *t, size_t from, const char *kind, const char *session)
{
    for (size_t i = from; i < t->n; i++)
        if (strcmp(t->ev[i].kind, kind) == 0 && (!session || strcmp(t->ev[i].session, session) == 0))
            return (int)i;
    return -1;
}

size_t th_count(const th_listener *t, const char *kind)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->ev[i].kind, kind) == 0)
            n++;
    return n;
}

/* ---- Requests ---- */

void th_reply_cb(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    th_reply *t = context;
    t->done = 1;
    if (r->error) {
        t->code = r->error->code;
        snprintf(t->message, sizeof t->message, "%s", r->error->message);
        return;
    }
    t->code = SM_CLIENT_OK;
    t->prop_count = r->property_count;
    th_props_text(r->properties, r->property_count, t->props, sizeof t->props);
    t->count = r->count;
    t->server_time = r->server_time;
}

bool th_wait_reply(sm_client *c, th_reply *r, int ms)
{
    TH_WAIT(c, r->done, ms);
    return r->done;
}

sm_client_errcode th_get(sm_client *c, sm_session *s, const char *id, const char *const *keys, size_t n,
                         th_reply *r)
{
    memset(r, 0, sizeof *r);
    sm_get_params p = {.session_id = id, .keys = keys, .key_count = n, .on_reply = th_reply_cb, .context = r};
    sm_client_error err;
    sm_client_errcode rc = sm_get_properties(s, &p, &err);
    if (rc != SM_CLIENT_OK)
        return rc;
    if (!th_wait_reply(c, r, TH_TIMEOUT_MS))
        return SM_CLIENT_ERR_TIMEOUT;
    return r->code;
}

sm_client_errcode th_set(sm_client *c, sm_session *s, const char *id, const sm_property *props, size_t n,
                         th_reply *r)
{
    memset(r, 0, sizeof *r);
    sm_set_params p = {.session_id = id, .properties = props, .property_count = n, .on_reply = th_reply_cb,
                       .context = r};
    sm_client_error err;
    sm_client_errcode rc = sm_set_properties(s, &p, &err);
    if (rc != SM_CLIENT_OK)
        return rc;
    if (!th_wait_reply(c, r, TH_TIMEOUT_MS))
        return SM_CLIENT_ERR_TIMEOUT;
    return r->code;
}
