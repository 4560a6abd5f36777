/* The session server's state and request handling, independent of the WebSocket transport. */
#include "server/server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/roles.h"
#include "core/utf8.h"
#include "server/audit.h"
#include "server/geo.h"
#include "server/log.h"
#include "server/metrics.h"

/* Drops a queue; a long one is freed over the next slices, which the transport is asked for. */
static void drop_queue(smd_server *srv, smd_outq *q)
{
    smd_outq_clear(q);
    if (smd_outq_dropped_pending() && srv->tr.want_slice)
        srv->tr.want_slice(srv->tr.ctx);
}

static int build_identity(smd_server *srv, const smd_config *cfg, char *const *roles, size_t n, smd_identity *out)
{
    sm_roles set;
    sm_roles_init(&set);
    for (size_t i = 0; i < n; i++)
        if (sm_roles_add(&set, roles[i]) != SM_OK) {
            sm_roles_free(&set);
            return SM_ERR_NOMEM;
        }
    char *text = sm_roles_format(&set);
    sm_roles_free(&set);
    if (!text)
        return SM_ERR_NOMEM;
    out->roles = sm_intern_cstr(srv->strings, text);
    free(text);
    if (!out->roles)
        return SM_ERR_NOMEM;
    out->permissions = smd_config_permissions(cfg, roles, n);
    return SM_OK;
}

static int compare_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* The iteration count most principals' hashes use (the larger on a tie): an unknown principal's
 * check must cost what theirs does. 0 when there are no principals or out of memory. */
static unsigned usual_iterations(const smd_config *cfg)
{
    if (!cfg->principal_count)
        return 0;
    unsigned *its = malloc(cfg->principal_count * sizeof *its);
    if (!its)
        return 0;
    for (size_t i = 0; i < cfg->principal_count; i++)
        its[i] = smd_auth_hash_iterations(cfg->principals[i].password_hash);
    qsort(its, cfg->principal_count, sizeof *its, compare_unsigned);
    unsigned best = 0;
    size_t best_run = 0;
    for (size_t i = 0; i < cfg->principal_count;) {
        size_t j = i;
        while (j < cfg->principal_count && its[j] == its[i])
            j++;
        if (j - i >= best_run) {
            best_run = j - i;
            best = its[i];
        }
        i = j;
    }
    free(its);
    return best;
}

void smd_server_free_identities(smd_server *srv, size_t count, smd_identity *ids, smd_identity *anonymous,
                                char *dummy_hash)
{
    for (size_t i = 0; ids && i < count; i++)
        sm_intern_unref(srv->strings, ids[i].roles);
    if (anonymous)
        sm_intern_unref(srv->strings, anonymous->roles);
    free(ids);
    free(dummy_hash);
}

int smd_server_build_identities(smd_server *srv, const smd_config *cfg, smd_identity **ids, smd_identity *anonymous,
                                char **dummy_hash)
{
    *ids = calloc(cfg->principal_count ? cfg->principal_count : 1, sizeof **ids);
    memset(anonymous, 0, sizeof *anonymous);
    *dummy_hash = NULL;
    bool ok = *ids != NULL;
    for (size_t i = 0; ok && i < cfg->principal_count; i++)
        ok = build_identity(srv, cfg, cfg->principals[i].roles, cfg->principals[i].role_count, &(*ids)[i]) == SM_OK;
    ok = ok && build_identity(srv, cfg, cfg->anonymous_roles, cfg->anonymous_role_count, anonymous) == SM_OK;
    ok = ok && (!cfg->principal_count || (*dummy_hash = smd_auth_dummy_hash(usual_iterations(cfg))));
    if (ok)
        return SM_OK;
    smd_server_free_identities(srv, cfg->principal_count, *ids, anonymous, *dummy_hash);
    *ids = NULL;
    *dummy_hash = NULL;
    memset(anonymous, 0, sizeof *anonymous);
    return SM_ERR_NOMEM;
}

int smd_server_init(smd_server *srv, const smd_config *cfg, const smd_transport *tr, size_t headroom, sm_error *err)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = cfg;
    if (tr)
        srv->tr = *tr;
    srv->headroom = headroom;
    srv->next_listener_id = 1;
    sm_buf_init(&srv->ev_json, 0, 0);
    srv->strings = sm_intern_new();
    srv->auth = smd_auth_new(&cfg->logins);
    srv->tally = smd_tally_new();
    if (!srv->strings || !srv->auth || !srv->tally)
        goto nomem;
    const char *connector = cfg->connector ? cfg->connector : (cfg->tls_cert ? "wss" : "ws");
    /* In a cluster $ServerName is the node's name (docs/cluster.md). */
    const char *name = cfg->cluster.enabled && cfg->cluster.node ? cfg->cluster.node
                       : cfg->server_name                       ? cfg->server_name
                                                                : "sessmond";
    if (smd_registry_init(&srv->reg, srv->strings, name, connector) !=
        SM_OK)
        goto nomem;
    if (smd_server_build_identities(srv, cfg, &srv->identities, &srv->anonymous, &srv->dummy_hash) != SM_OK)
        goto nomem;
    smd_cursor_attach(&srv->reg, &srv->sweep, NULL);
    return SM_OK;
nomem:
    smd_server_free(srv);
    return sm_error_set(err, SM_ERR_NOMEM, "out of memory (or no randomness from the kernel)");
}

static void job_free(smd_server *srv, smd_job *job)
{
    smd_session *req = job->requester;
    /* (A cluster stand-in's connection has no transport behind it.) */
    if (req && req->pending_ops && --req->pending_ops == 0 && req->conn && !req->conn->cluster_remote &&
        srv->tr.pause_rx)
        srv->tr.pause_rx(srv->tr.ctx, req->conn, false);
    smd_cursor_detach(&srv->reg, &job->cursor);
    if (job->kind == SMD_JOB_SHUTDOWN)
        free(job);
    else
        smd_requests_job_free(srv, job);
}

void smd_server_free(smd_server *srv)
{
    smd_logins_abandon_all(srv);
    while (srv->jobs) {
        smd_job *j = srv->jobs;
        srv->jobs = j->next;
        if (srv->reg.buckets)
            job_free(srv, j);
    }
    srv->jobs_tail = NULL;
    while (srv->listeners)
        smd_listener_remove(srv, srv->listeners->owner, srv->listeners->id);
    if (srv->reg.buckets) {
        for (smd_session *s = srv->reg.head; s; s = s->next)
            if (s->conn) {
                s->conn->session = NULL;
                s->conn = NULL;
            }
        smd_cursor_detach(&srv->reg, &srv->sweep);
        smd_registry_free(&srv->reg);
    }
    for (smd_conn *c = srv->limbo; c; c = c->lnext) {
        smd_outq_clear(&c->q);
        free(c->rx);
        c->rx = NULL;
    }
    smd_outq_reap_dropped(SIZE_MAX);
    if (srv->strings)
        smd_server_free_identities(srv, srv->cfg ? srv->cfg->principal_count : 0, srv->identities, &srv->anonymous,
                                   srv->dummy_hash);
    cJSON_Delete(srv->audit_rec);
    smd_audit_free(srv->audit); /* after the jobs: one stopped part way writes its record */
    smd_tally_free(srv->tally, srv);
    sm_intern_free(srv->strings);
    smd_auth_free(srv->auth);
    free(srv->doomed);
    free(srv->kv_a);
    free(srv->kv_b);
    free(srv->changes);
    sm_buf_free(&srv->ev_json);
    free(srv->interned_scratch);
    memset(srv, 0, sizeof *srv);
}

/* ---- connections ---- */

static void limbo_add(smd_server *srv, smd_conn *c)
{
    if (c->in_limbo)
        return;
    c->lprev = NULL;
    c->lnext = srv->limbo;
    if (srv->limbo)
        srv->limbo->lprev = c;
    srv->limbo = c;
    c->in_limbo = true;
}

static void limbo_remove(smd_server *srv, smd_conn *c)
{
    if (!c->in_limbo)
        return;
    if (srv->limbo_sweep == c)
        srv->limbo_sweep = c->lnext;
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        srv->limbo = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    c->lprev = c->lnext = NULL;
    c->in_limbo = false;
}

void smd_conn_want_write(smd_conn *c)
{
    if (c->write_requested || !c->srv->tr.want_write)
        return;
    c->write_requested = true;
    c->srv->tr.want_write(c->srv->tr.ctx, c);
}

void smd_conn_start(smd_server *srv, smd_conn *c, void *handle, const char *peer_ip)
{
    c->srv = srv;
    c->handle = handle;
    c->since_ms = c->last_rx_ms = sm_mono_ms();
    smd_outq_init(&c->q);
    smd_ip_normalise(peer_ip ? peer_ip : "", c->ip, sizeof c->ip);
    c->established = true;
    srv->conn_count++;
    limbo_add(srv, c);
    if (srv->shutting_down)
        smd_conn_close(c, sm_close_reason_ws_code(SM_CLOSE_SERVER_CLOSING),
                      sm_close_reason_name(SM_CLOSE_SERVER_CLOSING), false);
}

void smd_conn_close(smd_conn *c, int code, const char *text, bool flush)
{
    if (c->closing)
        return;
    /* A closing connection gets no `opened`: an open still waiting for its check is dropped. */
    smd_login_abandon(c->srv, c);
    c->closing = true;
    c->close_code = code;
    c->close_text = text;
    c->flush_first = flush;
    c->since_ms = sm_mono_ms();
    if (!flush)
        drop_queue(c->srv, &c->q);
    limbo_add(c->srv, c);
    smd_conn_want_write(c);
}

bool smd_conn_queue_over_limit(const smd_conn *c)
{
    const smd_limits *l = &c->srv->cfg->limits;
    if (c->q.bytes > l->max_queue_bytes)
        return true;
    /* Over the server-wide cap, the biggest queues go first: anything at least the average size
     * is over its limit, while smaller queues (clients that keep up) carry on. */
    size_t total = smd_outq_total_bytes();
    return total > l->max_total_queue_bytes && c->srv->conn_count && c->q.bytes >= total / c->srv->conn_count;
}

bool smd_conn_send(smd_conn *c, const sm_msg *m)
{
    if (c->closing && !c->flush_first)
        return false;
    smd_session *s = c->session;
    if (s && s->doomed)
        return false;
    int rc = smd_outq_push_msg(&c->q, m, c->srv->headroom);
    if (rc != SM_OK) {
        smd_log(SMD_LOG_ERROR, "cannot queue a %s message (error %d)", sm_msg_type_name(m->type), rc);
        if (s)
            smd_server_doom(c->srv, s, SM_CLOSE_INTERNAL_ERROR);
        return false;
    }
    if (s && smd_conn_queue_over_limit(c)) {
        smd_server_doom(c->srv, s, SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED);
        return false;
    }
    smd_conn_want_write(c);
    return true;
}

/* Messages quote client text and may have been cut by a fixed-size buffer: replace anything that
 * is not whole UTF-8 (and control characters) so the encoder always writes valid text. */
static void sanitise_text(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = sm_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            s[i++] = '?';
            continue;
        }
        if (cp < 0x20 || cp == 0x7f)
            s[i] = '?';
        i += n;
    }
}

/* Sends an `error` or `refused`; text is sanitised in place. */
static void send_coded(smd_conn *c, sm_msg_type type, int64_t id, sm_errcode code, char *text)
{
    sanitise_text(text);
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.id = id;
    m.code = code;
    m.message = text;
    smd_conn_send(c, &m);
}

void smd_conn_send_error(smd_conn *c, int64_t id, sm_errcode code, const char *fmt, ...)
{
    char text[SM_ERROR_MESSAGE_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    smd_audit_note_error(c->srv, c, id, code, text);
    send_coded(c, SM_MSG_ERROR, id, code, text);
}

void smd_conn_refuse(smd_conn *c, sm_errcode code, const char *text)
{
    char copy[SM_ERROR_MESSAGE_MAX + 64];
    snprintf(copy, sizeof copy, "%s", text);
    send_coded(c, SM_MSG_REFUSED, 0, code, copy);
    smd_conn_close(c, 1008, sm_errcode_name(code), true);
}

/* ---- closing sessions ---- */

static void undoom(smd_server *srv, smd_session *s)
{
    if (!s->doomed)
        return;
    /* From the end: smd_server_reap takes the last one, so a mass reap stays linear. */
    for (size_t i = srv->ndoomed; i-- > 0;)
        if (srv->doomed[i] == s) {
            memmove(&srv->doomed[i], &srv->doomed[i + 1], (srv->ndoomed - i - 1) * sizeof *srv->doomed);
            srv->ndoomed--;
            break;
        }
    s->doomed = 0;
}

void smd_server_doom(smd_server *srv, smd_session *s, sm_close_reason reason)
{
    if (s->doomed || s->state == SM_STATE_CLOSED)
        return;
    /* A cluster stand-in (a request of another node) is not a session of this one: never closed. */
    if (s->conn && s->conn->cluster_remote)
        return;
    /* Drop the queue now: this is what keeps a slow consumer from growing the server's memory. */
    if (s->conn) {
        if (reason == SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED)
            smd_metrics.messages_dropped_limit += s->conn->q.count;
        drop_queue(srv, &s->conn->q);
    }
    if (srv->ndoomed == srv->doomed_cap) {
        size_t ncap = srv->doomed_cap ? srv->doomed_cap * 2 : 16;
        smd_session **n = realloc(srv->doomed, ncap * sizeof *n);
        if (!n)
            return; /* it will overflow again and be retried */
        srv->doomed = n;
        srv->doomed_cap = ncap;
    }
    s->doomed = (uint8_t)reason;
    srv->doomed[srv->ndoomed++] = s;
}

void smd_server_reap(smd_server *srv)
{
    while (srv->ndoomed) {
        smd_session *s = srv->doomed[srv->ndoomed - 1];
        sm_close_reason reason = (sm_close_reason)s->doomed;
        undoom(srv, s);
        smd_log(SMD_LOG_INFO, "closing session %s: %s", s->id, sm_close_reason_name(reason));
        smd_server_close_session(srv, s, reason, false);
    }
}

void smd_server_close_session(smd_server *srv, smd_session *s, sm_close_reason reason, bool flush)
{
    if (s->state == SM_STATE_CLOSED)
        return;
    undoom(srv, s);
    if (s->pending_ops) /* its operations go on; their replies have nowhere to go */
        for (smd_job *j = srv->jobs; j; j = j->next)
            if (j->requester == s)
                j->requester = NULL;
    s->pending_ops = 0;
    smd_listeners_remove_owned(srv, s);
    smd_metrics_session_closed(srv, s, reason);
    s->state = SM_STATE_CLOSED;
    /* Tell listeners while s is still in the open order: snapshot cursors decide who has seen it. */
    smd_listeners_session_closed(srv, s, reason);
    smd_registry_remove(&srv->reg, s);
    smd_conn *c = s->conn;
    if (c) {
        c->session = NULL;
        s->conn = NULL;
        smd_conn_close(c, sm_close_reason_ws_code(reason), sm_close_reason_name(reason), flush);
    }
    srv->sessions_closed++;
    smd_log(SMD_LOG_DEBUG, "session %s closed: %s", s->id, sm_close_reason_name(reason));
    smd_session_free(&srv->reg, s);
}

/* The connection under an ACTIVE session is gone without a close frame. */
static void session_lost(smd_server *srv, smd_session *s)
{
    s->conn = NULL;
    if (s->doomed) {
        smd_server_close_session(srv, s, (sm_close_reason)s->doomed, false);
        return;
    }
    if (srv->shutting_down) {
        smd_server_close_session(srv, s, SM_CLOSE_SERVER_CLOSING, false);
        return;
    }
    smd_listeners_remove_owned(srv, s);
    s->state = SM_STATE_DISCONNECTED;
    smd_metrics_session_disconnected(srv);
    s->disconnected_at = sm_mono_ms();
    smd_listeners_session_event(srv, s, SM_EVENT_DISCONNECTED, NULL, 0);
    if (srv->cfg->limits.reconnect_timeout_ms == 0)
        smd_server_close_session(srv, s, SM_CLOSE_CONNECTION_LOST, false);
}

void smd_conn_attach(smd_conn *c, smd_session *s)
{
    limbo_remove(c->srv, c);
    c->session = s;
    s->conn = c;
    c->bad_in_row = 0;
    c->hb_outstanding = false;
}

void smd_conn_on_violation(smd_conn *c, sm_close_reason reason, int ws_code)
{
    smd_server *srv = c->srv;
    smd_session *s = c->session;
    smd_conn_close(c, ws_code, sm_close_reason_name(reason), false);
    if (s) {
        c->session = NULL;
        s->conn = NULL;
        smd_server_close_session(srv, s, reason, false);
    }
    smd_server_reap(srv);
}

void smd_conn_on_peer_close(smd_conn *c)
{
    c->peer_closed = true;
}

void smd_conn_on_closed(smd_conn *c)
{
    if (!c->established)
        return;
    smd_server *srv = c->srv;
    smd_login_abandon(srv, c);
    smd_session *s = c->session;
    if (s) {
        c->session = NULL;
        s->conn = NULL;
        if (c->peer_closed)
            smd_server_close_session(srv, s, SM_CLOSE_CLOSED_BY_CLIENT, false);
        else
            session_lost(srv, s);
    }
    limbo_remove(srv, c);
    drop_queue(srv, &c->q);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    c->established = false;
    srv->conn_count--;
    smd_server_reap(srv);
}

/* ---- messages ---- */

void smd_conn_on_message(smd_conn *c, const char *text, size_t len)
{
    smd_server *srv = c->srv;
    c->last_rx_ms = sm_mono_ms();
    c->hb_outstanding = false;
    srv->messages_in++;
    if (c->closing)
        return;
    if (c->login) {
        /* The transport holds a connection's input while its open waits for a password check;
         * whatever it had read already is a request before `opened`, which the protocol forbids. */
        smd_login_abandon(srv, c);
        smd_conn_refuse(c, SM_CODE_INVALID_REQUEST, "a message arrived before the open was answered");
        return;
    }
    int64_t started_us = c->session ? smd_metrics_now_us() : 0;
    sm_msg m;
    sm_error err;
    sm_error_clear(&err);
    int rc = sm_msg_decode(text, len, srv->cfg->limits.max_message_bytes, &m, &err);
    if (rc != SM_OK) {
        if (!c->session) {
            smd_conn_refuse(c, SM_CODE_INVALID_REQUEST, err.message[0] ? err.message : "undecodable message");
        } else {
            smd_conn_send_error(c, m.id, SM_CODE_INVALID_REQUEST, "%s", err.message[0] ? err.message : "undecodable message");
            /* Closed with its queue flushed, so every undecodable message gets its answer
             * before the close frame, as docs/protocol.md promises (at most 16 small errors
             * after what was already queued, itself bounded by maxQueueBytes). */
            if (++c->bad_in_row >= SMD_BAD_MESSAGES_MAX && c->session)
                smd_server_close_session(srv, c->session, SM_CLOSE_INVALID_INBOUND_MESSAGE, true);
        }
    } else if (!c->session) {
        if (m.type == SM_MSG_OPEN)
            smd_server_handle_open(c, &m, text, len);
        else if (m.type == SM_MSG_RESUME)
            smd_server_handle_resume(c, &m);
        else
            smd_conn_refuse(c, SM_CODE_INVALID_REQUEST, "the first message must be open or resume");
    } else {
        c->bad_in_row = 0;
        srv->request_started_us = started_us;
        srv->request_deferred = false;
        smd_server_handle_request(c, &m);
        if (!srv->request_deferred)
            smd_metrics_observe(m.type, smd_metrics_now_us() - started_us);
    }
    sm_msg_free(&m);
    smd_server_reap(srv);
}

smd_outmsg *smd_conn_next_write(smd_conn *c)
{
    if (c->closing && !c->flush_first)
        return NULL;
    /* Below the watermark rather than only when empty, so steady live traffic cannot starve a
     * snapshot; the chunk goes after what is queued, which keeps per-session order. */
    if (c->q.bytes < smd_snapshot_chunk(c->srv) && c->session && !c->closing) {
        smd_listeners_fill_snapshot(c->srv, c);
        smd_server_reap(c->srv);
    }
    return smd_outq_pop(&c->q);
}

size_t smd_snapshot_chunk(const smd_server *srv)
{
    size_t quarter = srv->cfg->limits.max_queue_bytes / 4;
    return quarter < SMD_SNAPSHOT_CHUNK_BYTES ? quarter : SMD_SNAPSHOT_CHUNK_BYTES;
}

bool smd_conn_wants_write(const smd_conn *c)
{
    if (c->closing)
        return true;
    return c->q.head || (c->session && smd_listeners_snapshot_pending(c->session));
}

bool smd_conn_should_close(const smd_conn *c)
{
    return c->closing && (!c->flush_first || !c->q.head);
}

/* ---- periodic work ---- */

int64_t smd_server_tick_ms(const smd_server *srv)
{
    const smd_limits *l = &srv->cfg->limits;
    int64_t m = l->heartbeat_interval_ms;
    if (l->heartbeat_timeout_ms < m)
        m = l->heartbeat_timeout_ms;
    if (l->reconnect_timeout_ms > 0 && l->reconnect_timeout_ms < m)
        m = l->reconnect_timeout_ms;
    m /= 4;
    /* At most 100 ms: each tick visits (sessions x period / 1 s) sessions in one loop pass, and a
     * 1 s tick visited all 15,000 of a full server at once, a 3 ms stall in the path of every
     * event and reply once a second (docs/cluster.md § Event latency). */
    return m < 10 ? 10 : m > 100 ? 100 : m;
}

static void send_heartbeat(smd_conn *c, int64_t now)
{
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = SM_MSG_HEARTBEAT;
    m.seq = ++c->hb_seq;
    c->hb_outstanding = true;
    c->hb_sent_ms = now;
    smd_conn_send(c, &m);
}

/* Visits at most this many limbo connections per tick, continuing where the last tick stopped:
 * a mass close can put every connection in limbo. */
#define SMD_LIMBO_SWEEP_MAX 4096

static void sweep_limbo(smd_server *srv, int64_t now)
{
    const smd_limits *l = &srv->cfg->limits;
    int64_t open_timeout = l->heartbeat_interval_ms + l->heartbeat_timeout_ms;
    if (open_timeout > SMD_OPEN_TIMEOUT_MS)
        open_timeout = SMD_OPEN_TIMEOUT_MS;
    smd_conn *c = srv->limbo_sweep ? srv->limbo_sweep : srv->limbo;
    for (size_t n = 0; c && n < SMD_LIMBO_SWEEP_MAX; n++) {
        /* Saved before the kill: a synchronous kill removes c (limbo_remove moves limbo_sweep). */
        srv->limbo_sweep = c->lnext;
        if (c->closing) {
            if (now - c->since_ms >= SMD_CLOSE_TIMEOUT_MS && srv->tr.kill) {
                c->since_ms = now; /* ask again later should the kill be slow */
                srv->tr.kill(srv->tr.ctx, c);
            }
        } else if (!c->session && now - c->since_ms >= open_timeout) {
            smd_conn_close(c, sm_close_reason_ws_code(SM_CLOSE_ABORTED), sm_close_reason_name(SM_CLOSE_ABORTED),
                          false);
        }
        c = srv->limbo_sweep;
    }
}

void smd_server_tick(smd_server *srv)
{
    int64_t now = sm_mono_ms();
    const smd_limits *l = &srv->cfg->limits;
    sweep_limbo(srv, now);
    smd_auth_tick(srv->auth);
    /* Queues dropped by code that does not ask for a slice itself (cluster stand-ins) */
    if (smd_outq_dropped_pending() && srv->tr.want_slice)
        srv->tr.want_slice(srv->tr.ctx);
    size_t budget = srv->reg.count * (size_t)smd_server_tick_ms(srv) / 1000 + 1;
    if (budget < 2048)
        budget = 2048;
    bool wrapped = false;
    while (budget--) {
        smd_session *s = srv->sweep.at;
        if (!s) {
            if (wrapped || !srv->reg.head)
                break;
            wrapped = true;
            srv->sweep.at = srv->reg.head;
            continue;
        }
        srv->sweep.at = s->next;
        if (s->doomed)
            continue;
        if (s->state == SM_STATE_ACTIVE && s->conn && !s->conn->closing) {
            smd_conn *c = s->conn;
            if (c->hb_outstanding) {
                if (now - c->hb_sent_ms >= l->heartbeat_timeout_ms) {
                    smd_log(SMD_LOG_INFO, "session %s did not answer a heartbeat: closing it", s->id);
                    smd_server_close_session(srv, s, SM_CLOSE_CLIENT_UNRESPONSIVE, false);
                }
            } else if (now - c->last_rx_ms >= l->heartbeat_interval_ms) {
                send_heartbeat(c, now);
            }
        } else if (s->state == SM_STATE_DISCONNECTED && now - s->disconnected_at >= l->reconnect_timeout_ms) {
            smd_server_close_session(srv, s, SM_CLOSE_CONNECTION_LOST, false);
        }
    }
    smd_server_reap(srv);
}

/* ---- sliced operations ---- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void smd_budget_start(smd_budget *b)
{
    b->deadline_us = mono_us() + SMD_SLICE_BUDGET_US;
    b->visits_left = SMD_SLICE_MAX_VISITS;
}

bool smd_budget_spent(smd_budget *b)
{
    if (b->visits_left == 0)
        return true;
    b->visits_left--;
    /* The clock at every visit (a vDSO read, tens of ns): a visit can be a filter evaluation of up
     * to about a millisecond at the worst allowed regex (docs/filters.md), so reading it every 16
     * visits let a slice run 15 ms past its budget. */
    if (mono_us() >= b->deadline_us) {
        b->visits_left = 0;
        return true;
    }
    return false;
}

void smd_budget_charge(smd_budget *b, size_t n)
{
    b->visits_left = b->visits_left > n ? b->visits_left - n : 0;
}

bool smd_server_has_pending_work(const smd_server *srv)
{
    return srv->jobs != NULL || srv->logins != NULL || smd_outq_dropped_pending();
}

void smd_server_queue_job(smd_server *srv, smd_job *job)
{
    job->next = NULL;
    job->last_seq = srv->reg.next_seq - 1;
    smd_cursor_attach(&srv->reg, &job->cursor, srv->reg.head);
    if (job->requester) {
        /* Its next requests wait until this one is done: one session's requests take effect and
         * are answered in order. */
        if (job->requester->pending_ops++ == 0 && job->requester->conn && !job->requester->conn->cluster_remote &&
            srv->tr.pause_rx)
            srv->tr.pause_rx(srv->tr.ctx, job->requester->conn, true);
    }
    bool alone = srv->jobs == NULL;
    if (srv->jobs_tail)
        srv->jobs_tail->next = job;
    else
        srv->jobs = job;
    srv->jobs_tail = job;
    /* A small registry is done within this first slice, answered like any other request. */
    if (alone)
        smd_server_run_slice(srv);
    if (srv->jobs && srv->tr.want_slice)
        srv->tr.want_slice(srv->tr.ctx);
}

/* Sessions without listeners first, so the listening ones can still tell their clients; then the
 * connections that have no session. */
static bool shutdown_step(smd_server *srv, smd_job *job, smd_budget *b)
{
    while (job->phase < 2) {
        smd_session *s = job->cursor.at;
        if (!s) {
            job->phase++;
            job->cursor.at = srv->reg.head;
            continue;
        }
        if (smd_budget_spent(b))
            return false;
        job->cursor.at = s->next;
        if (job->phase == 1 || !s->listeners) {
            smd_server_close_session(srv, s, SM_CLOSE_SERVER_CLOSING, true);
            smd_budget_charge(b, SMD_SLICE_CLOSE_COST - 1);
        }
    }
    for (smd_conn *c = srv->limbo; c; c = c->lnext)
        if (!c->closing)
            smd_conn_close(c, sm_close_reason_ws_code(SM_CLOSE_SERVER_CLOSING),
                          sm_close_reason_name(SM_CLOSE_SERVER_CLOSING), true);
    return true;
}

void smd_server_run_slice(smd_server *srv)
{
    if (srv->logins)
        smd_logins_step(srv);
    smd_budget b;
    smd_budget_start(&b);
    while (srv->jobs && b.visits_left > 0) {
        smd_job *job = srv->jobs;
        bool done = job->kind == SMD_JOB_SHUTDOWN ? shutdown_step(srv, job, &b) : smd_requests_job_step(srv, job, &b);
        smd_server_reap(srv);
        if (!done)
            break;
        srv->jobs = job->next;
        if (!srv->jobs)
            srv->jobs_tail = NULL;
        job_free(srv, job);
    }
    smd_outq_reap_dropped(SMD_DROPPED_PER_SLICE);
}

void smd_server_shutdown(smd_server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    /* Opens waiting for a password check will not be answered: their connections close now. */
    smd_logins_abandon_all(srv);
    /* Operations in progress stop where they are: their requesters are closing too. */
    while (srv->jobs) {
        smd_job *j = srv->jobs;
        srv->jobs = j->next;
        job_free(srv, j);
    }
    srv->jobs_tail = NULL;
    smd_job *job = calloc(1, sizeof *job);
    if (!job) {
        /* No memory for the job: close everything now, unsliced. */
        for (smd_session *s = srv->reg.head, *next; s; s = next) {
            next = s->next;
            smd_server_close_session(srv, s, SM_CLOSE_SERVER_CLOSING, true);
        }
        smd_server_reap(srv);
        for (smd_conn *c = srv->limbo; c; c = c->lnext)
            if (!c->closing)
                smd_conn_close(c, sm_close_reason_ws_code(SM_CLOSE_SERVER_CLOSING),
                              sm_close_reason_name(SM_CLOSE_SERVER_CLOSING), true);
        return;
    }
    job->kind = SMD_JOB_SHUTDOWN;
    smd_server_queue_job(srv, job);
}
