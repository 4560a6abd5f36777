/* The monitor's connection: a libsessmon session and listener feeding the UI, and its requests. */
#include "tui/conn.h"

#include <stdlib.h>
#include <string.h>

#include "client/sessmon.h"
#include "tui/app.h"
#include "tui/text.h"

#define REQUEST_TIMEOUT_MS 30000
#define REOPEN_MIN_MS 500
#define REOPEN_MAX_MS 5000
/* A server that stays down fails an attempt every few seconds: the event log lists a failure
 * when its reason changes, and the same reason again at most this often. */
#define FAILURE_LOG_MS 30000

struct smt_conn {
    smt_ui *ui;
    sm_client *client;
    sm_session *session;
    sm_listener *listener;
    char *url, *principal, *password, *ca_file;
    bool ever_opened;
    bool fatal;
    int fatal_code;
    char fatal_msg[SM_CLIENT_ERROR_MESSAGE_MAX + 64];
    uint64_t reopen_at; /* 0 = none scheduled */
    int reopen_delay;
    char logged_failure[SM_CLIENT_ERROR_MESSAGE_MAX]; /* reason of the last failure listed in the log */
    uint64_t logged_failure_at;
    unsigned unlogged_failures; /* failures since then that were not listed */
    int64_t heartbeat_ms;       /* the server's, from the session info */
    uint64_t ping_sent_at;      /* a ping in flight since (0 = none) */
};

static void log_sink(unsigned level, const char *line, void *user)
{
    smt_conn *c = user;
    if (!c || !c->ui)
        return;
    char clean[SMT_LOG_LINE_MAX];
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    smt_text_escape(line, n, clean, sizeof clean);
    smt_eventlog_add(&c->ui->app.log, c->ui->app.wall, (level & SM_LOG_ERR) ? SMT_LOGL_ERROR : SMT_LOGL_WARN,
                     "client: %s", clean);
}

/* ---- listener events: handed to the UI as they come, with the callback they came from ---- */

static void feed(sm_listener *l, const sm_session_event *e, smt_event_kind kind)
{
    smt_conn *c = sm_listener_get_context(l);
    if (!c->ui)
        return;
    smt_event ev = {kind, *e};
    smt_ui_event(c->ui, &ev);
}

static void on_listener_open(sm_listener *l, const sm_session_event *e, void *ctx)
{
    (void)ctx;
    feed(l, e, SMT_EVENT_OPEN);
}

static void on_listener_update(sm_listener *l, const sm_session_event *e, void *ctx)
{
    (void)ctx;
    smt_event_kind t = e->update == SM_UPDATE_DISCONNECTED  ? SMT_EVENT_DISCONNECTED
                      : e->update == SM_UPDATE_RECONNECTED ? SMT_EVENT_RECONNECTED
                      : e->update == SM_UPDATE_FAILED_OVER ? SMT_EVENT_FAILED_OVER
                                                           : SMT_EVENT_PROPERTIES;
    feed(l, e, t);
}

static void on_listener_close_event(sm_listener *l, const sm_session_event *e, void *ctx)
{
    (void)ctx;
    feed(l, e, SMT_EVENT_CLOSED);
}

static void on_filter_enter(sm_listener *l, const sm_session_event *e, void *ctx)
{
    (void)ctx;
    feed(l, e, SMT_EVENT_FILTER_ENTER);
}

static void on_filter_leave(sm_listener *l, const sm_session_event *e, void *ctx)
{
    (void)ctx;
    feed(l, e, SMT_EVENT_FILTER_LEAVE);
}

static void on_registered(sm_listener *l, const sm_registration *r, void *ctx)
{
    (void)l;
    smt_conn *c = ctx;
    /* every registration starts a snapshot: rows it does not confirm are gone */
    smt_ui_resync_begin(c->ui);
    smt_ui_set_connection(c->ui, SMT_CONN_SYNCING,
                          r->resync ? "resynchronising after a reconnect" : "loading sessions");
}

static void on_snapshot_end(sm_listener *l, uint64_t count, void *ctx)
{
    (void)l;
    smt_conn *c = ctx;
    smt_ui_resync_end(c->ui, count);
    smt_ui_set_connection(c->ui, SMT_CONN_LIVE, "");
}

static void on_registration_error(sm_listener *l, const sm_client_error *err, void *ctx)
{
    (void)l;
    smt_conn *c = ctx;
    char msg[SM_CLIENT_ERROR_MESSAGE_MAX + 64];
    smt_text_printf(msg, sizeof msg, "listener refused: %s: %s", sm_client_errcode_name(err->code), err->message);
    smt_ui_set_connection(c->ui, SMT_CONN_CLOSED, msg);
    smt_ui_message(&c->ui->app, SMT_LOGL_ERROR, "%s (the principal needs view_session and register_handler)", msg);
}

static void on_listener_error(sm_listener *l, const sm_client_error *err, void *ctx)
{
    (void)l;
    smt_conn *c = ctx;
    smt_eventlog_add(&c->ui->app.log, c->ui->app.wall, SMT_LOGL_WARN, "listener: %s: %s",
                     sm_client_errcode_name(err->code), err->message);
}

static void on_listener_closed(sm_listener *l, void *ctx)
{
    smt_conn *c = ctx;
    if (c->listener == l)
        c->listener = NULL;
}

/* ---- the session ---- */

static void register_listener(smt_conn *c)
{
    static const char *const keys[] = {SM_SELECT_ALL_FIXED, SM_SELECT_ALL_USER};
    sm_listener_params lp = {0};
    lp.keys = keys;
    lp.key_count = 2;
    lp.filter = NULL; /* the view filter is local: the table always holds every session */
    /* The model keeps every property from the snapshot and merges updates, so full sets (all
     * ~20 properties in every update) would only cost bytes and decoding (docs/tui.md). */
    lp.changed_only = true;
    lp.on_registered = on_registered;
    lp.on_registration_error = on_registration_error;
    lp.on_session_open = on_listener_open;
    lp.on_session_update = on_listener_update;
    lp.on_session_close = on_listener_close_event;
    lp.on_filter_enter = on_filter_enter;
    lp.on_filter_leave = on_filter_leave;
    lp.on_snapshot_end = on_snapshot_end;
    lp.on_error = on_listener_error;
    lp.on_close = on_listener_closed;
    lp.context = c;
    sm_client_error err = {0, ""};
    c->listener = sm_listener_register(c->session, &lp, &err);
    if (!c->listener)
        smt_ui_message(&c->ui->app, SMT_LOGL_ERROR, "cannot register the listener: %s", err.message);
}

static void on_open(sm_session *s, const sm_session_info *info, void *ctx)
{
    smt_conn *c = ctx;
    c->ever_opened = true;
    c->reopen_delay = 0;
    c->logged_failure[0] = '\0'; /* the next outage's first failure is listed */
    c->unlogged_failures = 0;
    c->heartbeat_ms = info->heartbeat_interval_ms;
    smt_ui_set_own_session(c->ui, info->session_id);
    c->ping_sent_at = 0;
    smt_ui_set_heartbeat(c->ui, info->heartbeat_interval_ms);
    smt_ui_set_session_info(c->ui, info->server_name, info->principal,
                           (info->permissions & SM_PERMISSION_MODIFY_SESSION) != 0);
    if (info->replaced)
        smt_eventlog_add(&c->ui->app.log, c->ui->app.wall, SMT_LOGL_INFO,
                         "the server did not know our old session: new session");
    c->ui->app.server_audits = sm_session_server_audits(s);
    smt_ui_set_connection(c->ui, SMT_CONN_SYNCING, "session open");
}

static void on_disconnect(sm_session *s, const sm_client_error *cause, void *ctx)
{
    (void)s;
    smt_conn *c = ctx;
    char msg[SM_CLIENT_ERROR_MESSAGE_MAX + 32];
    smt_text_printf(msg, sizeof msg, "%s", cause && cause->message[0] ? cause->message : "connection lost");
    smt_ui_set_connection(c->ui, SMT_CONN_RECONNECTING, msg);
}

static void on_connect_failed(sm_session *s, const sm_client_error *cause, unsigned attempt, int next_retry_ms,
                              void *ctx)
{
    (void)s;
    smt_conn *c = ctx;
    if (!c->ui)
        return;
    smt_ui_set_connect_failure(c->ui, cause->message, attempt, next_retry_ms);
    if (strcmp(cause->message, c->logged_failure) == 0 && c->logged_failure_at &&
        c->ui->app.now < c->logged_failure_at + FAILURE_LOG_MS) {
        c->unlogged_failures++;
        return;
    }
    char next[48] = "", more[64] = "";
    if (next_retry_ms >= 0)
        smt_text_printf(next, sizeof next, "; next in %.1f s", next_retry_ms / 1000.0);
    if (c->unlogged_failures)
        smt_text_printf(more, sizeof more, " (%u similar failures not listed)", c->unlogged_failures);
    smt_eventlog_add(&c->ui->app.log, c->ui->app.wall, SMT_LOGL_WARN, "connection attempt %u failed: %s%s%s", attempt,
                    cause->message, next, more);
    smt_text_printf(c->logged_failure, sizeof c->logged_failure, "%s", cause->message);
    c->logged_failure_at = c->ui->app.now ? c->ui->app.now : 1;
    c->unlogged_failures = 0;
}

static void on_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *ctx)
{
    smt_conn *c = ctx;
    (void)s;
    if (!c->ui)
        return;
    char msg[SM_CLIENT_ERROR_MESSAGE_MAX + 64];
    smt_text_printf(msg, sizeof msg, "%s%s%s", reason != SM_REASON_NONE ? sm_reason_name(reason) : "",
                   reason != SM_REASON_NONE && err->message[0] ? ": " : "", err->message);
    if (!c->ever_opened &&
        (err->code == SM_CLIENT_ERR_AUTHENTICATION_FAILED || err->code == SM_CLIENT_ERR_ACCESS_DENIED)) {
        c->fatal = true;
        c->fatal_code = SMT_EXIT_ACCESS_DENIED;
        smt_text_printf(c->fatal_msg, sizeof c->fatal_msg, "the server refused the session: %s", msg);
        return;
    }
    /* The server ended our session for good (e.g. SERVER_CLOSING): open a new one, with back-off. */
    c->reopen_delay = c->reopen_delay ? c->reopen_delay * 2 : REOPEN_MIN_MS;
    if (c->reopen_delay > REOPEN_MAX_MS)
        c->reopen_delay = REOPEN_MAX_MS;
    c->reopen_at = c->ui->app.now + (uint64_t)c->reopen_delay;
    char detail[SM_CLIENT_ERROR_MESSAGE_MAX + 96];
    smt_text_printf(detail, sizeof detail, "session closed (%s); retrying in %d ms", msg[0] ? msg : "no reason",
                   c->reopen_delay);
    smt_ui_set_connection(c->ui, SMT_CONN_RECONNECTING, detail);
}

static int open_session(smt_conn *c, char *errbuf, size_t errcap)
{
    sm_session_params sp = {0};
    sp.url = c->url;
    sp.principal = c->principal;
    sp.password = c->principal[0] ? c->password : NULL;
    sp.client_type = "C";
    sp.environment = "sessmon-tui";
    sp.retry_initial_connect = true; /* wait for a server that is not up yet */
    sp.reconnect_max_ms = REOPEN_MAX_MS;
    sp.on_open = on_open;
    sp.on_disconnect = on_disconnect;
    sp.on_close = on_close;
    sp.on_connect_failed = on_connect_failed;
    sp.context = c;
    sm_client_error err = {0, ""};
    c->session = sm_session_open(c->client, &sp, &err);
    if (!c->session) {
        smt_text_printf(errbuf, errcap, "%s", err.message);
        return -1;
    }
    register_listener(c);
    return 0;
}

/* ---- backend for the UI ---- */

static void on_reply(sm_session *s, const sm_reply *r, void *ctx)
{
    smt_conn *c = sm_session_get_context(s);
    uint64_t token = (uint64_t)(uintptr_t)ctx;
    if (!c || !c->ui)
        return; /* cancelled while shutting down */
    smt_reply reply = {SM_CLIENT_OK, NULL, NULL, 0, 0};
    if (r->error) {
        reply.code = r->error->code;
        reply.message = r->error->message;
    } else {
        reply.changed = r->properties;
        reply.changed_count = r->property_count;
        reply.count = r->count;
    }
    smt_ui_reply(c->ui, token, &reply);
}

static bool usable(smt_conn *c, char *err, size_t errcap)
{
    if (!c->session || sm_session_get_status(c->session) != SM_SESSION_OPEN) {
        smt_text_printf(err, errcap, "not connected to the server");
        return false;
    }
    return true;
}

/* One set request: to session_id, or to every session matching filter when filter is given. */
static int send_set(smt_conn *c, uint64_t token, const char *session_id, const char *filter,
                    const sm_property *p, size_t n, char *err, size_t errcap)
{
    if (!usable(c, err, errcap))
        return -1;
    void *context = (void *)(uintptr_t)token;
    sm_client_error e = {0, ""};
    sm_client_errcode rc;
    if (filter) {
        sm_set_by_filter_params sp = {.filter = filter, .properties = p, .property_count = n,
                                      .on_reply = on_reply, .context = context, .timeout_ms = REQUEST_TIMEOUT_MS};
        rc = sm_set_properties_by_filter(c->session, &sp, &e);
    } else {
        sm_set_params sp = {.session_id = session_id, .properties = p, .property_count = n,
                            .on_reply = on_reply, .context = context, .timeout_ms = REQUEST_TIMEOUT_MS};
        rc = sm_set_properties(c->session, &sp, &e);
    }
    if (rc != SM_CLIENT_OK) {
        smt_text_printf(err, errcap, "%s", e.message);
        return -1;
    }
    return 0;
}

static int backend_set(void *ctx, uint64_t token, const char *session_id, const sm_property *props, size_t n,
                       char *err, size_t errcap)
{
    return send_set(ctx, token, session_id, NULL, props, n, err, errcap);
}

static int backend_set_by_filter(void *ctx, uint64_t token, const char *filter, const sm_property *props, size_t n,
                                 char *err, size_t errcap)
{
    return send_set(ctx, token, NULL, filter, props, n, err, errcap);
}

static int backend_close_by_filter(void *ctx, uint64_t token, const char *filter, char *err, size_t errcap)
{
    smt_conn *c = ctx;
    if (!usable(c, err, errcap))
        return -1;
    sm_client_error e = {0, ""};
    sm_close_by_filter_params cp = {.filter = filter, .on_reply = on_reply, .context = (void *)(uintptr_t)token,
                                    .timeout_ms = REQUEST_TIMEOUT_MS};
    if (sm_close_by_filter(c->session, &cp, &e) != SM_CLIENT_OK) {
        smt_text_printf(err, errcap, "%s", e.message);
        return -1;
    }
    return 0;
}

/* ---- life cycle ---- */

static bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if ((*s | 0x20) != (*prefix | 0x20))
            return false;
    return true;
}

smt_conn *smt_conn_new(smt_ui *ui, const smt_conn_options *opt, char *err, size_t errcap)
{
    smt_conn *c = calloc(1, sizeof *c);
    if (!c) {
        smt_text_printf(err, errcap, "out of memory");
        return NULL;
    }
    c->ui = ui;
    c->url = strdup(opt->url ? opt->url : "");
    c->principal = strdup(opt->principal ? opt->principal : "");
    c->password = strdup(opt->password ? opt->password : "");
    c->ca_file = opt->ca_file ? strdup(opt->ca_file) : NULL;
    if (!c->url || !c->principal || !c->password) {
        smt_text_printf(err, errcap, "out of memory");
        smt_conn_free(c);
        return NULL;
    }
    /* nothing from libwebsockets may reach the terminal: warnings go to the event log */
    sm_client_set_log_sink(log_sink, c, SM_LOG_ERR | SM_LOG_WARN);
    sm_client_params cp = {.max_sessions = 4, .ca_file = c->ca_file, .no_tls = !starts_with_ci(c->url, "wss://")};
    sm_client_error e = {0, ""};
    c->client = sm_client_new(&cp, &e);
    if (!c->client) {
        smt_text_printf(err, errcap, "cannot start the client: %s", e.message);
        smt_conn_free(c);
        return NULL;
    }
    if (open_session(c, err, errcap) != 0) {
        smt_conn_free(c);
        return NULL;
    }
    smt_ui_backend be = {c, backend_set, backend_set_by_filter, backend_close_by_filter};
    smt_ui_set_backend(ui, &be);
    return c;
}

void smt_conn_free(smt_conn *c)
{
    if (!c)
        return;
    if (c->ui)
        smt_ui_set_backend(c->ui, NULL);
    if (c->session && sm_session_get_status(c->session) == SM_SESSION_OPEN) {
        /* close politely so the server does not keep us DISCONNECTED for its reconnect timeout */
        sm_session_close(c->session, NULL);
        for (int i = 0; i < 20 && sm_session_get_status(c->session) != SM_SESSION_CLOSED; i++)
            sm_client_run_once(c->client, 25);
    }
    c->ui = NULL; /* callbacks from the frees below must not touch a UI being torn down */
    sm_client_free(c->client);
    sm_client_set_log_sink(NULL, NULL, 0);
    if (c->password)
        memset(c->password, 0, strlen(c->password));
    free(c->url);
    free(c->principal);
    free(c->password);
    free(c->ca_file);
    free(c);
}

int smt_conn_pollfds(smt_conn *c, struct pollfd *fds, int max)
{
    int n = sm_client_pollfds(c->client, fds, max);
    return n > max ? max : n;
}

int smt_conn_timeout_ms(smt_conn *c, uint64_t now)
{
    int t = sm_client_timeout_ms(c->client);
    if (c->reopen_at) {
        int r = c->reopen_at > now ? (int)(c->reopen_at - now) : 0;
        if (t < 0 || r < t)
            t = r;
    }
    return t;
}

static void on_pong(sm_session *s, const sm_reply *r, void *ctx)
{
    (void)r;
    (void)ctx;
    smt_conn *c = sm_session_get_context(s);
    if (!c || !c->ui)
        return;
    c->ping_sent_at = 0;
    if (!r->error)
        smt_ui_heard(c->ui);
}

/* A quiet server (no events) is asked for a sign of life a few times per heartbeat interval,
 * so that silence past the interval means something is wrong, and the header says STALE. */
static void keep_heard(smt_conn *c, uint64_t now)
{
    if (!c->session || sm_session_get_status(c->session) != SM_SESSION_OPEN || c->heartbeat_ms <= 0 ||
        c->ping_sent_at)
        return;
    uint64_t every = (uint64_t)c->heartbeat_ms / 3;
    if (c->ui->link.last_heard + every > now)
        return;
    sm_ping_params pp = {.on_reply = on_pong, .context = NULL, .timeout_ms = REQUEST_TIMEOUT_MS};
    sm_client_error e = {0, ""};
    if (sm_ping(c->session, &pp, &e) == SM_CLIENT_OK)
        c->ping_sent_at = now ? now : 1;
}

void smt_conn_service(smt_conn *c, uint64_t now)
{
    sm_client_service(c->client);
    keep_heard(c, now);
    if (c->reopen_at && now >= c->reopen_at && !c->fatal) {
        c->reopen_at = 0;
        if (c->session) {
            sm_session_free(c->session);
            c->session = NULL;
            c->listener = NULL;
        }
        char err[256];
        if (open_session(c, err, sizeof err) != 0) {
            smt_ui_message(&c->ui->app, SMT_LOGL_ERROR, "cannot open a new session: %s", err);
            c->reopen_at = now + REOPEN_MAX_MS;
        } else {
            smt_ui_set_connection(c->ui, SMT_CONN_CONNECTING, "opening a new session");
        }
    }
}

bool smt_conn_fatal(const smt_conn *c, int *exit_code, char *msg, size_t cap)
{
    if (!c->fatal)
        return false;
    if (exit_code)
        *exit_code = c->fatal_code;
    if (msg)
        smt_text_printf(msg, cap, "%s", c->fatal_msg);
    return true;
}
