/* Session listeners: registration, lazy snapshots, and live events with filter enter/leave. */
#include <stdlib.h>
#include <string.h>

#include "core/props.h"
#include "server/cluster.h"
#include "server/log.h"
#include "server/server.h"

/* ---- keys ---- */

bool smd_parse_keys(smd_server *srv, smd_conn *c, int64_t id, const sm_strs *keys, bool *all_fixed, bool *all_user,
                   const char ***named, size_t *nnamed)
{
    *all_fixed = *all_user = false;
    *named = NULL;
    *nnamed = 0;
    if (keys->count > SMD_KEYS_MAX) {
        smd_conn_send_error(c, id, SM_CODE_LIMIT_EXCEEDED, "%zu keys requested; the limit is %d", keys->count,
                           SMD_KEYS_MAX);
        return false;
    }
    for (size_t i = 0; i < keys->count; i++) {
        const char *k = keys->items[i];
        if (strcmp(k, SM_SELECT_ALL_FIXED) == 0)
            *all_fixed = true;
        else if (strcmp(k, SM_SELECT_ALL_USER) == 0)
            *all_user = true;
    }
    const char **out = calloc(keys->count ? keys->count : 1, sizeof *out);
    if (!out) {
        smd_conn_send_error(c, id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < keys->count; i++) {
        const char *k = keys->items[i];
        size_t len = strlen(k);
        if (strcmp(k, SM_SELECT_ALL_FIXED) == 0 || strcmp(k, SM_SELECT_ALL_USER) == 0)
            continue;
        sm_error err;
        sm_error_clear(&err);
        if (sm_key_is_fixed(k)) {
            if (len > SM_KEY_MAX) {
                smd_conn_send_error(c, id, SM_CODE_INVALID_PROPERTY, "key of %zu bytes; the limit is %d", len,
                                   SM_KEY_MAX);
                smd_release_keys(srv, out, n);
                return false;
            }
            if (*all_fixed)
                continue;
        } else {
            if (sm_validate_user_key(k, len, &err) != SM_OK) {
                smd_conn_send_error(c, id, SM_CODE_INVALID_PROPERTY, "key %zu: %s", i + 1, err.message);
                smd_release_keys(srv, out, n);
                return false;
            }
            if (*all_user)
                continue;
        }
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcmp(out[j], k) == 0;
        if (dup)
            continue;
        if (!(out[n] = sm_intern_str(srv->strings, k, len))) {
            smd_release_keys(srv, out, n);
            smd_conn_send_error(c, id, SM_CODE_INTERNAL_ERROR, "out of memory");
            return false;
        }
        n++;
    }
    *named = out;
    *nnamed = n;
    return true;
}

void smd_release_keys(smd_server *srv, const char **named, size_t nnamed)
{
    for (size_t i = 0; i < nnamed; i++)
        sm_intern_unref(srv->strings, named[i]);
    free(named);
}

size_t smd_collect_properties(smd_server *srv, const smd_session *s, bool all_fixed, bool all_user,
                             const char *const *keys, size_t nkeys, sm_kv *kv)
{
    size_t n = 0;
    if (all_fixed)
        for (size_t i = 0; i < sm_fixed_property_count; i++) {
            const char *v = smd_session_fixed_value(&srv->reg, s, sm_fixed_property_names[i]);
            if (v)
                kv[n++] = (sm_kv){sm_fixed_property_names[i], v};
        }
    if (all_user)
        for (size_t i = 0; i < s->ucount; i++)
            kv[n++] = (sm_kv){s->uprops[i].key, s->uprops[i].value};
    for (size_t i = 0; i < nkeys; i++) {
        const char *k = keys[i];
        const char *v;
        if (k[0] == '$')
            v = all_fixed ? NULL : smd_session_fixed_value(&srv->reg, s, k);
        else
            v = all_user ? NULL : smd_session_user_value(s, k);
        if (v)
            kv[n++] = (sm_kv){k, v};
    }
    return n;
}

/* ---- registration ---- */

static void listener_free(smd_server *srv, smd_listener *l)
{
    if (l->view)
        smd_cluster_listener_freed(srv, l);
    if (l->snapshotting)
        smd_cursor_detach(&srv->reg, &l->cursor);
    sm_filter_free(l->filter);
    free(l->filter_text);
    smd_release_keys(srv, l->keys, l->nkeys);
    free(l);
}

/* Every session event may evaluate every listener's filter: the regular expressions of all of them
 * together (and of one session's) are bounded, so one event's listener work stays bounded
 * (docs/security.md § Listener cost). owner NULL: a cluster proxy, whose owner is on another node
 * (that node checks the per-session budget; this one the server's). SM_ERR_LIMIT with the
 * refusal's text when over. */
static int regex_cost_check(const smd_server *srv, const smd_session *owner, size_t cost, sm_error *err)
{
    if (cost == 0)
        return SM_OK;
    const smd_limits *lim = &srv->cfg->limits;
    size_t mine = 0;
    for (const smd_listener *o = owner ? owner->listeners : NULL; o; o = o->onext)
        mine += o->regex_cost;
    if (owner && mine + cost > lim->max_listener_regex_cost_per_session)
        return sm_error_set(err, SM_ERR_LIMIT,
                            "the regular expressions of this session's listeners would cost %zu; the limit is %zu "
                            "(limits.maxListenerRegexCostPerSession)",
                            mine + cost, lim->max_listener_regex_cost_per_session);
    if (srv->listener_regex_cost + cost > lim->max_listener_regex_cost)
        return sm_error_set(err, SM_ERR_LIMIT,
                            "the regular expressions of the server's listeners would cost %zu; the limit is %zu "
                            "(limits.maxListenerRegexCost)",
                            srv->listener_regex_cost + cost, lim->max_listener_regex_cost);
    return SM_OK;
}

/* What a listener takes from its add_listener message besides keys and filter. */
static void take_options(smd_listener *l, const sm_msg *m)
{
    l->has_after = m->has_after;
    l->after = m->after;
    l->changed_only = m->changed_only;
}

/* Gives l its ID and puts it on the server's list (unlink_global undoes it). */
static void link_global(smd_server *srv, smd_listener *l)
{
    l->id = srv->next_listener_id++;
    l->gnext = srv->listeners;
    if (srv->listeners)
        srv->listeners->gprev = l;
    srv->listeners = l;
    srv->listener_count++;
    srv->listener_regex_cost += l->regex_cost;
}

smd_listener *smd_listener_add(smd_server *srv, smd_conn *c, const sm_msg *m)
{
    smd_session *owner = c->session;
    if (owner->listener_count >= srv->cfg->limits.max_listeners) {
        smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED,
                           "a session may have at most %zu listeners (server config limits.maxListenersPerSession)",
                           srv->cfg->limits.max_listeners);
        return NULL;
    }
    smd_listener *l = calloc(1, sizeof *l);
    if (!l) {
        smd_conn_send_error(c, m->id, SM_CODE_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    if (m->has_keys && !smd_parse_keys(srv, c, m->id, &m->keys, &l->all_fixed, &l->all_user, &l->keys, &l->nkeys)) {
        free(l);
        return NULL;
    }
    if (m->filter) {
        sm_error err;
        sm_error_clear(&err);
        if (sm_filter_parse(m->filter, strlen(m->filter), &l->filter, &err) != SM_OK) {
            smd_conn_send_error(c, m->id, SM_CODE_INVALID_FILTER, "%s", err.message[0] ? err.message : "invalid filter");
            listener_free(srv, l);
            return NULL;
        }
        size_t flen = strlen(m->filter) + 1;
        if ((l->filter_text = malloc(flen)) != NULL)
            memcpy(l->filter_text, m->filter, flen);
        if (regex_cost_check(srv, owner, sm_filter_regex_cost(l->filter), &err) != SM_OK) {
            smd_conn_send_error(c, m->id, SM_CODE_LIMIT_EXCEEDED, "%s", err.message);
            listener_free(srv, l);
            return NULL;
        }
        l->regex_cost = sm_filter_regex_cost(l->filter);
    }
    take_options(l, m);
    l->owner = owner;
    link_global(srv, l);
    /* Owner's list in registration order, so snapshots are produced in that order. */
    smd_listener **pp = &owner->listeners;
    while (*pp)
        pp = &(*pp)->onext;
    *pp = l;
    owner->listener_count++;

    sm_msg r;
    memset(&r, 0, sizeof r);
    r.type = SM_MSG_REPLY;
    r.id = m->id;
    r.op = SM_MSG_ADD_LISTENER;
    r.listener = l->id;
    smd_conn_send(c, &r);

    l->snapshotting = true;
    smd_cursor_attach(&srv->reg, &l->cursor, srv->reg.head);
    if (srv->cluster)
        smd_cluster_listener_added(srv, l, m);
    smd_conn_want_write(c);
    return l;
}

smd_listener *smd_listener_new_proxy(smd_server *srv, smd_conn *sink, const sm_msg *m, struct smd_cluster_proxy *proxy,
                                     sm_error *err)
{
    smd_listener *l = calloc(1, sizeof *l);
    if (!l) {
        sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (m->has_keys && !smd_parse_keys(srv, sink, m->id, &m->keys, &l->all_fixed, &l->all_user, &l->keys, &l->nkeys)) {
        sm_error_set(err, SM_ERR_INVALID, "its keys are not valid here");
        free(l);
        return NULL;
    }
    if (m->filter) {
        size_t flen = strlen(m->filter) + 1;
        if (sm_filter_parse(m->filter, flen - 1, &l->filter, err) != SM_OK ||
            (l->filter_text = malloc(flen)) == NULL) {
            if (l->filter)
                sm_error_set(err, SM_ERR_NOMEM, "out of memory");
            listener_free(srv, l);
            return NULL;
        }
        memcpy(l->filter_text, m->filter, flen);
        /* Its filter runs on every event of this node's sessions like a local listener's: it
         * takes its share of this node's allowance, or another node could multiply it. */
        if (regex_cost_check(srv, NULL, sm_filter_regex_cost(l->filter), err) != SM_OK) {
            listener_free(srv, l);
            return NULL;
        }
        l->regex_cost = sm_filter_regex_cost(l->filter);
    }
    take_options(l, m);
    l->proxy = proxy;
    link_global(srv, l);
    l->snapshotting = true;
    smd_cursor_attach(&srv->reg, &l->cursor, srv->reg.head);
    return l;
}

static void unlink_global(smd_server *srv, smd_listener *l)
{
    if (l->gprev)
        l->gprev->gnext = l->gnext;
    else
        srv->listeners = l->gnext;
    if (l->gnext)
        l->gnext->gprev = l->gprev;
    srv->listener_count--;
    srv->listener_regex_cost -= l->regex_cost;
}

void smd_listener_free_proxy(smd_server *srv, smd_listener *l)
{
    unlink_global(srv, l);
    listener_free(srv, l);
}

bool smd_listener_remove(smd_server *srv, smd_session *owner, int64_t id)
{
    for (smd_listener **pp = &owner->listeners; *pp; pp = &(*pp)->onext) {
        smd_listener *l = *pp;
        if (l->id != id)
            continue;
        *pp = l->onext;
        owner->listener_count--;
        unlink_global(srv, l);
        listener_free(srv, l);
        return true;
    }
    return false;
}

void smd_listeners_remove_owned(smd_server *srv, smd_session *owner)
{
    while (owner->listeners) {
        smd_listener *l = owner->listeners;
        owner->listeners = l->onext;
        unlink_global(srv, l);
        listener_free(srv, l);
    }
    owner->listener_count = 0;
}

/* ---- events ---- */

static bool wants_key(const smd_listener *l, const char *key)
{
    if (key[0] == '$' ? l->all_fixed : l->all_user)
        return true;
    for (size_t i = 0; i < l->nkeys; i++)
        if (strcmp(l->keys[i], key) == 0)
            return true;
    return false;
}

static bool matches(const smd_server *srv, const smd_listener *l, const smd_session *s, const smd_prop_change *before,
                    size_t nbefore)
{
    if (!l->filter)
        return true;
    smd_lookup lk = {.r = &srv->reg, .s = s, .before = before, .nbefore = nbefore};
    return sm_filter_eval(l->filter, smd_session_lookup, &lk);
}

/* Whether l should hear about s at all right now. */
static bool concerned(const smd_listener *l, const smd_session *s)
{
    if (l->proxy ? !smd_cluster_proxy_open(l->proxy) : l->owner->doomed || !l->owner->conn)
        return false;
    if (l->has_after && s->start_ms <= l->after)
        return false;
    /* Sessions the snapshot has not reached yet are reported by the snapshot, in their state then. */
    if (l->snapshotting && l->cursor.at && s->seq >= l->cursor.at->seq)
        return false;
    return true;
}

/* One event of one session fanned out to many listeners: listeners with the same filter text
 * share its evaluation, and those that get the same bytes share one encoding (ten identical
 * listeners cost about one). Valid for one session and one event only. */
typedef struct fanout {
    const smd_listener *judged; /* last listener whose filter was evaluated */
    bool now, before;          /* its results */
    bool encoded;              /* srv->ev_json holds the event for `key` */
    uint64_t key;              /* what the encoding depends on besides the keys: see event_key */
    const smd_listener *like;   /* the listener whose requested keys it was encoded for; NULL when
                                  the encoding does not depend on them */
} fanout;

/* Event type in the top byte, a bit for the snapshot flag, a bit for the full form, then a bit
 * per change the listener wants (up to 48 changes; with more an encoding is never shared). */
#define FANOUT_MAX_CHANGES 48
#define KEY_SNAPSHOT ((uint64_t)1 << 48)
#define KEY_FULL ((uint64_t)1 << 49)

static uint64_t event_key(sm_event_type type, bool snapshot, bool full, uint64_t wanted)
{
    return (uint64_t)type << 56 | (snapshot ? KEY_SNAPSHOT : 0) | (full ? KEY_FULL : 0) | wanted;
}

static bool same_filter(const smd_listener *a, const smd_listener *b)
{
    if (!a->filter || !b->filter)
        return !a->filter && !b->filter;
    return a->filter_text && b->filter_text && strcmp(a->filter_text, b->filter_text) == 0;
}

static bool same_keys(const smd_listener *a, const smd_listener *b)
{
    if (a->all_fixed != b->all_fixed || a->all_user != b->all_user || a->nkeys != b->nkeys)
        return false;
    for (size_t i = 0; i < a->nkeys; i++)
        if (a->keys[i] != b->keys[i]) /* interned */
            return false;
    return true;
}

static bool wants_any_change(const smd_listener *l, const smd_prop_change *changes, size_t nchanges)
{
    for (size_t i = 0; i < nchanges; i++)
        if (wants_key(l, changes[i].key))
            return true;
    return false;
}

static bool filter_uses_any_change(const sm_filter *filter, const smd_prop_change *changes, size_t nchanges)
{
    for (size_t i = 0; i < nchanges; i++)
        if (sm_filter_uses_key(filter, changes[i].key))
            return true;
    return false;
}

/* The filter before and after the changes, shared with the previous listener when its filter
 * text is the same. */
static void judge(smd_server *srv, fanout *f, const smd_listener *l, const smd_session *s,
                  const smd_prop_change *changes, size_t nchanges, bool *now, bool *before)
{
    if (f->judged && same_filter(f->judged, l)) {
        *now = f->now;
        *before = f->before;
        return;
    }
    *now = matches(srv, l, s, NULL, 0);
    *before = *now;
    if (l->filter && filter_uses_any_change(l->filter, changes, nchanges))
        *before = matches(srv, l, s, changes, nchanges);
    f->judged = l;
    f->now = *now;
    f->before = *before;
}

/* The listener can no longer be served (out of memory): its session closes, or its proxy is dropped. */
static void fail(smd_server *srv, smd_listener *l, sm_close_reason reason)
{
    if (l->proxy)
        smd_cluster_proxy_fail(srv, l->proxy);
    else
        smd_server_doom(srv, l->owner, reason);
}

/* Where l's events go: its client's queue, or (cluster) the stream of its proxy. */
static smd_outq *listener_q(smd_listener *l)
{
    return l->proxy ? smd_cluster_proxy_queue(l->proxy) : &l->owner->conn->q;
}

static void queued(smd_server *srv, smd_listener *l, int rc)
{
    if (l->proxy) {
        smd_cluster_proxy_queued(srv, l->proxy, rc);
        return;
    }
    smd_conn *c = l->owner->conn;
    if (rc != SM_OK) {
        smd_log(SMD_LOG_ERROR, "cannot queue an event for session %s (error %d)", l->owner->id, rc);
        smd_server_doom(srv, l->owner, SM_CLOSE_INTERNAL_ERROR);
    } else if (smd_conn_queue_over_limit(c)) {
        smd_server_doom(srv, l->owner, SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED);
    } else {
        smd_conn_want_write(c);
    }
}

static void emit(smd_server *srv, smd_listener *l, const sm_event *ev)
{
    queued(srv, l, smd_outq_push_event(listener_q(l), l->id, ev, l->proxy ? 0 : srv->headroom));
}

void smd_listener_emit(smd_server *srv, smd_listener *l, const sm_event *ev)
{
    emit(srv, l, ev);
}

void smd_listener_emit_json(smd_server *srv, smd_listener *l, const char *json, size_t len)
{
    queued(srv, l, smd_outq_push_event_json(listener_q(l), l->id, json, len, l->proxy ? 0 : srv->headroom));
}

/* Whether the fanout's encoding is the one l would get for `key`. by_keys: the event carries
 * l's requested properties, so it must also have been encoded for the same keys. */
static bool reusable(const fanout *f, const smd_listener *l, uint64_t key, bool by_keys)
{
    if (!f || !f->encoded || f->key != key)
        return false;
    return by_keys ? f->like && same_keys(f->like, l) : !f->like;
}

static void push_shared(smd_server *srv, smd_listener *l)
{
    smd_listener_emit_json(srv, l, sm_buf_payload(&srv->ev_json), srv->ev_json.len);
}

/* Emits ev for l, encoding it only when the fanout's encoding does not fit (see reusable);
 * f NULL or shareable false: encoded for l alone. */
static void emit_shared(smd_server *srv, fanout *f, uint64_t key, bool by_keys, bool shareable, smd_listener *l,
                        const sm_event *ev)
{
    if (shareable && reusable(f, l, key, by_keys)) {
        push_shared(srv, l);
        return;
    }
    if (!f || !shareable) {
        emit(srv, l, ev);
        return;
    }
    sm_buf_reset(&srv->ev_json);
    f->encoded = sm_events_add(&srv->ev_json, ev, true) == SM_OK && !srv->ev_json.overflow;
    f->key = key;
    f->like = by_keys ? l : NULL;
    if (f->encoded)
        push_shared(srv, l);
    else
        emit(srv, l, ev);
}

/* The one place an event about a session is built for a listener: every requested property the
 * session has (when `full`), the previous values of the requested keys among `changes` (when
 * any), and the close reason. Every event type goes through here, so all listeners see the same
 * shapes (docs/protocol.md § events); events from other cluster nodes belong here too. */
static void emit_event(smd_server *srv, fanout *f, smd_listener *l, const smd_session *s, sm_event_type type,
                       sm_session_state state, bool snapshot, bool full, const smd_prop_change *changes,
                       size_t nchanges, sm_close_reason reason)
{
    uint64_t wanted = 0;
    size_t nwanted = 0;
    for (size_t i = 0; i < nchanges; i++)
        if (wants_key(l, changes[i].key)) {
            nwanted++;
            if (i < FANOUT_MAX_CHANGES)
                wanted |= (uint64_t)1 << i;
        }
    uint64_t key = event_key(type, snapshot, full, wanted);
    bool shareable = nchanges <= FANOUT_MAX_CHANGES;
    /* The requested keys decide what a full event holds (and so which changes are wanted). */
    bool by_keys = full;
    if (shareable && reusable(f, l, key, by_keys)) {
        push_shared(srv, l);
        return;
    }
    size_t room = nchanges + (full ? sm_fixed_property_count + s->ucount + l->nkeys : 0);
    if (!smd_server_reserve_kv(srv, room ? room : 1)) {
        fail(srv, l, SM_CLOSE_INTERNAL_ERROR);
        return;
    }
    sm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.session_id = s->id;
    ev.state = state;
    ev.snapshot = snapshot;
    ev.reason = reason;
    ev.properties.items = srv->kv_a;
    ev.changed.items = srv->kv_b;
    if (full)
        ev.properties.count =
            smd_collect_properties(srv, s, l->all_fixed, l->all_user, l->keys, l->nkeys, srv->kv_a);
    for (size_t i = 0; i < nchanges; i++) {
        if (!wants_key(l, changes[i].key))
            continue;
        if (!full && changes[i].new_value)
            srv->kv_a[ev.properties.count++] = (sm_kv){changes[i].key, changes[i].new_value};
        srv->kv_b[ev.changed.count++] = (sm_kv){changes[i].key, changes[i].old_value};
    }
    ev.has_changed = nwanted > 0;
    emit_shared(srv, f, key, by_keys, shareable, l, &ev);
}

void smd_listeners_session_opened(smd_server *srv, smd_session *s)
{
    fanout f = {0};
    for (smd_listener *l = srv->listeners; l; l = l->gnext) {
        if (!concerned(l, s))
            continue;
        bool now, before;
        judge(srv, &f, l, s, NULL, 0, &now, &before);
        if (now)
            emit_event(srv, &f, l, s, SM_EVENT_OPEN, (sm_session_state)s->state, false, true, NULL, 0,
                       SM_CLOSE_NONE);
    }
}

void smd_listeners_session_event(smd_server *srv, smd_session *s, sm_event_type type, const smd_prop_change *changes,
                                size_t nchanges)
{
    fanout f = {0};
    for (smd_listener *l = srv->listeners; l; l = l->gnext) {
        if (!concerned(l, s))
            continue;
        if (type == SM_EVENT_PROPERTIES && !wants_any_change(l, changes, nchanges) &&
            !(l->filter && filter_uses_any_change(l->filter, changes, nchanges)))
            /* The filter's answer cannot have changed and the listener wants none of the changed
             * keys, so there is nothing to send whatever it says: do not pay for evaluating it
             * (a filter may cost up to a millisecond per 4 KB value, docs/filters.md). */
            continue;
        bool now_matches, before_matches;
        judge(srv, &f, l, s, changes, nchanges, &now_matches, &before_matches);
        if (!before_matches && !now_matches)
            continue;
        sm_session_state state = (sm_session_state)s->state;
        if (!before_matches) {
            emit_event(srv, &f, l, s, SM_EVENT_FILTER_ENTER, state, false, true, NULL, 0, SM_CLOSE_NONE);
            continue;
        }
        if (!now_matches) {
            emit_event(srv, &f, l, s, SM_EVENT_FILTER_LEAVE, state, false, false, NULL, 0, SM_CLOSE_NONE);
            continue;
        }
        if (type == SM_EVENT_PROPERTIES && !wants_any_change(l, changes, nchanges))
            continue;
        emit_event(srv, &f, l, s, type, state, false, !l->changed_only, changes, nchanges, SM_CLOSE_NONE);
    }
}

void smd_listeners_session_closed(smd_server *srv, smd_session *s, sm_close_reason reason)
{
    fanout f = {0};
    for (smd_listener *l = srv->listeners; l; l = l->gnext) {
        if (!concerned(l, s))
            continue;
        bool now, before;
        judge(srv, &f, l, s, NULL, 0, &now, &before);
        /* A session that left the filter was reported gone by FILTER_LEAVE: nothing more (see
         * docs/protocol.md § Session listeners for why). */
        if (!now)
            continue;
        emit_event(srv, &f, l, s, SM_EVENT_CLOSED, SM_STATE_CLOSED, false, !l->changed_only, NULL, 0, reason);
    }
}

/* ---- snapshots ---- */

bool smd_listeners_snapshot_pending(const smd_session *owner)
{
    for (const smd_listener *l = owner->listeners; l; l = l->onext)
        if (l->snapshotting)
            return true;
    return false;
}

static bool listener_stopped(const smd_listener *l)
{
    return l->proxy ? !smd_cluster_proxy_open(l->proxy) : l->owner->doomed != 0;
}

bool smd_listener_snapshot_step(smd_server *srv, smd_listener *l, const smd_outq *q, size_t limit)
{
    smd_budget b;
    smd_budget_start(&b);
    while (l->cursor.at && q->bytes < limit && !listener_stopped(l) && !smd_budget_spent(&b)) {
        smd_session *s = l->cursor.at;
        l->cursor.at = s->next;
        if (l->has_after && s->start_ms <= l->after)
            continue;
        bool matching = matches(srv, l, s, NULL, 0);
        sm_event_type type = matching ? SM_EVENT_OPEN : SM_EVENT_NONE;
        if (l->proxy) /* a cluster resync also reports sessions that entered or left the filter */
            type = smd_cluster_proxy_snapshot_event(l->proxy, s, matching);
        if (type == SM_EVENT_NONE)
            continue;
        emit_event(srv, NULL, l, s, type, (sm_session_state)s->state, true, type != SM_EVENT_FILTER_LEAVE, NULL, 0,
                   SM_CLOSE_NONE);
        l->snapshot_count += type != SM_EVENT_FILTER_LEAVE;
    }
    if (l->cursor.at || listener_stopped(l))
        return false;
    l->snapshotting = false;
    smd_cursor_detach(&srv->reg, &l->cursor);
    return true;
}

bool smd_listeners_fill_snapshot(smd_server *srv, smd_conn *c)
{
    smd_session *owner = c->session;
    smd_listener *l = owner->listeners;
    while (l && !l->snapshotting)
        l = l->onext;
    if (!l)
        return false;
    /* Bounded work per write opportunity (about one chunk, and one slice's budget of time and
     * sessions examined, for a filter that matches little): the loop keeps serving everyone else. */
    size_t limit = c->q.bytes + smd_snapshot_chunk(srv);
    if (l->view) {
        /* Cluster: snapshot_end waits for the other nodes' parts (docs/cluster.md). */
        if (smd_listener_snapshot_step(srv, l, &c->q, limit))
            smd_cluster_local_snapshot_done(srv, l);
        return true;
    }
    smd_budget b;
    smd_budget_start(&b);
    while (l->cursor.at && c->q.bytes < limit && !owner->doomed && !smd_budget_spent(&b)) {
        smd_session *s = l->cursor.at;
        l->cursor.at = s->next;
        if (l->has_after && s->start_ms <= l->after)
            continue;
        if (!matches(srv, l, s, NULL, 0))
            continue;
        emit_event(srv, NULL, l, s, SM_EVENT_OPEN, (sm_session_state)s->state, true, true, NULL, 0, SM_CLOSE_NONE);
        l->snapshot_count++;
    }
    if (!l->cursor.at && !owner->doomed) {
        l->snapshotting = false;
        smd_cursor_detach(&srv->reg, &l->cursor);
        sm_msg m;
        memset(&m, 0, sizeof m);
        m.type = SM_MSG_SNAPSHOT_END;
        m.listener = l->id;
        m.count = l->snapshot_count;
        smd_conn_send(c, &m);
    }
    return true;
}
