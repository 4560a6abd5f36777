/* The monitor's dispatcher: owns the screen, the key dispatch, the pane stack, the header and the bars.
 * It knows the panes only through their ops tables (pane.h, pane_registry.c). */
#include "tui/ui.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/header.h"
#include "tui/palette.h"
#include "tui/screen.h"
#include "tui/text.h"

#define HEADER_ROWS 2
#define FOOTER_ROWS 2
#define HEADER_COUNTDOWN_MS 100   /* the next-attempt countdown shows tenths of a second */
#define SPLIT_MIN_BODY 14         /* below this many body lines a split pane takes the whole body */

/* ---- the pane stack ---- */

static const smt_pane_ops *ops_at(const smt_ui *ui, int depth)
{
    return smt_panes[ui->stack[depth]];
}

static void *state_at(const smt_ui *ui, int depth)
{
    return ui->panes[ui->stack[depth]];
}

static int pane_index(const char *name)
{
    for (size_t i = 0; i < smt_npanes; i++)
        if (strcmp(smt_panes[i]->name, name) == 0)
            return (int)i;
    return -1;
}

/* The pane shown in the body (above the table, under an overlay): its depth, or 0 (the table). */
static int body_depth(const smt_ui *ui)
{
    for (int d = ui->depth - 1; d > 0; d--)
        if (ops_at(ui, d)->layout != SMT_LAYOUT_OVERLAY)
            return d;
    return 0;
}

static bool stack_has(const smt_ui *ui, int index)
{
    for (int d = 0; d < ui->depth; d++)
        if (ui->stack[d] == index)
            return true;
    return false;
}

/* A body pane replaces the one shown (and closes any overlay); an overlay goes on top. */
static void push(smt_ui *ui, int index)
{
    if (smt_panes[index]->layout != SMT_LAYOUT_OVERLAY)
        ui->depth = 1;
    if (ui->depth < SMT_UI_STACK_MAX)
        ui->stack[ui->depth++] = index;
    ui->app.dirty = true;
}

static void pop(smt_ui *ui)
{
    if (ui->depth > 1)
        ui->depth--;
    ui->app.dirty = true;
}

static void open_pane(smt_ui *ui, int index)
{
    const smt_pane_ops *ops = smt_panes[index];
    if (ops->guard && !smt_ui_guard_write(&ui->app, ops->guard))
        return;
    if (ops->open && !ops->open(ui->panes[index]))
        return;
    push(ui, index);
}

/* The services' way to show a pane (smt_close_open_by_filter): as its key would, guards included. */
static bool open_pane_by_name(void *ctx, const char *name)
{
    smt_ui *ui = ctx;
    int i = pane_index(name);
    if (i <= 0)
        return false;
    open_pane(ui, i);
    return stack_has(ui, i);
}

void *smt_ui_pane_state(smt_ui *ui, const char *name)
{
    int i = pane_index(name);
    return i >= 0 ? ui->panes[i] : NULL;
}

bool smt_ui_showing(const smt_ui *ui, const char *name)
{
    int i = pane_index(name);
    return i >= 0 && stack_has(ui, i);
}

const char *smt_ui_body_pane(const smt_ui *ui)
{
    int d = body_depth(ui);
    return d > 0 ? ops_at(ui, d)->name : "";
}

void smt_ui_force_pane(smt_ui *ui, const char *name)
{
    int i = pane_index(name);
    if (i > 0)
        push(ui, i);
}

void smt_ui_close_panes(smt_ui *ui)
{
    ui->depth = 1;
    ui->app.dirty = true;
}

/* issue 13: for the command line. app is the first member of smt_ui. */
bool smt_app_open_pane(smt_app *app, const char *name)
{
    smt_ui *ui = (smt_ui *)app;
    int i = pane_index(name);
    if (i <= 0)
        return false;
    if (!stack_has(ui, i))
        open_pane(ui, i);
    return stack_has(ui, i);
}

void *smt_app_pane_state(smt_app *app, const char *name)
{
    return smt_ui_pane_state((smt_ui *)app, name);
}

void smt_app_close_pane(smt_app *app, const char *name)
{
    smt_ui *ui = (smt_ui *)app;
    if (strcmp(smt_ui_body_pane(ui), name) == 0)
        smt_ui_close_panes(ui);
}

void smt_app_apply_theme(smt_app *app)
{
    smt_ui_apply_theme((smt_ui *)app);
}

smt_handled smt_ui_pane_action(smt_ui *ui, const char *name, smt_action a)
{
    int i = pane_index(name);
    return i >= 0 && smt_panes[i]->action ? smt_panes[i]->action(ui->panes[i], a) : SMT_UNHANDLED;
}

/* ---- life cycle ---- */

smt_ui *smt_ui_new(const smt_ui_options *opt, const smt_ui_backend *backend)
{
    smt_ui *ui = calloc(1, sizeof *ui);
    if (!ui)
        return NULL;
    smt_app *app = &ui->app;
    app->model = smt_model_new();
    app->view = app->model ? smt_view_new(app->model) : NULL;
    ui->panes = calloc(smt_npanes, sizeof *ui->panes);
    bool ok = app->view && ui->panes && smt_eventlog_init(&app->log) == 0;
    for (size_t i = 0; ok && i < smt_npanes; i++)
        ok = (ui->panes[i] = smt_panes[i]->create(app)) != NULL;
    if (!ok) {
        smt_ui_free(ui);
        return NULL;
    }
    ui->stack[0] = 0; /* the table */
    ui->depth = 1;
    app->open_pane = open_pane_by_name;
    app->open_pane_ctx = ui;
    if (backend)
        app->backend = *backend;
    smt_text_printf(ui->link.url, sizeof ui->link.url, "%s", opt && opt->url ? opt->url : "");
    smt_text_printf(ui->link.principal, sizeof ui->link.principal, "%s", opt && opt->principal ? opt->principal : "");
    if (opt && opt->theme)
        app->theme = *opt->theme;
    else
        smt_theme_builtin("default", &app->theme);
    app->allow_color = opt ? opt->allow_color : true;
    ui->mouse = opt ? opt->mouse : false;
    ui->nthemes = smt_theme_list(ui->themes, SMT_UI_MAX_THEMES);
    smt_ui_reset_columns(app);
    smt_view_set_sort(app->view, SM_PROP_START_TIME, false);
    ui->link.conn = SMT_CONN_CONNECTING;
    if (opt && opt->read_only)
        smt_ui_set_read_only(ui, "--read-only");
    if (opt && opt->filter && *opt->filter) {
        sm_error err;
        if (smt_view_set_filter(app->view, opt->filter, &err) != SM_OK)
            smt_eventlog_add(&app->log, 0, SMT_LOGL_ERROR, "%s", err.message);
    }
    app->dirty = true;
    return ui;
}

void smt_ui_free(smt_ui *ui)
{
    if (!ui)
        return;
    for (size_t i = 0; ui->panes && i < smt_npanes; i++)
        if (ui->panes[i])
            smt_panes[i]->destroy(ui->panes[i]);
    free(ui->panes);
    if (ui->app.model)
        sm_intern_unref(smt_model_pool(ui->app.model), ui->app.selected);
    smt_view_free(ui->app.view);
    smt_model_free(ui->app.model);
    smt_eventlog_free(&ui->app.log);
    free(ui);
}

void smt_ui_set_backend(smt_ui *ui, const smt_ui_backend *backend)
{
    if (backend)
        ui->app.backend = *backend;
    else
        memset(&ui->app.backend, 0, sizeof ui->app.backend);
}

void smt_ui_set_time(smt_ui *ui, uint64_t now_ms, int64_t wall_ms)
{
    ui->app.now = now_ms;
    ui->app.wall = wall_ms;
    smt_ui_cell_clock(wall_ms);
    if (!ui->link.conn_since) /* the first clock reading starts the first connection attempt */
        ui->link.conn_since = now_ms;
}

static void own_session_disconnected(smt_ui *ui);

void smt_ui_set_connection(smt_ui *ui, smt_conn_state st, const char *detail)
{
    static const char *const names[] = {"connecting", "syncing", "live", "reconnecting", "closed"};
    if (st != ui->link.conn || strcmp(detail ? detail : "", ui->link.conn_detail) != 0) {
        smt_log_level level = st == SMT_CONN_RECONNECTING || st == SMT_CONN_CLOSED ? SMT_LOGL_WARN : SMT_LOGL_INFO;
        smt_eventlog_add(&ui->app.log, ui->app.wall, level, "connection: %s%s%s", names[st],
                         detail && *detail ? ": " : "", detail ? detail : "");
    }
    if (ui->link.conn == SMT_CONN_LIVE && st != SMT_CONN_LIVE)
        ui->link.stale_since = ui->app.wall; /* the figures on screen stop being current now */
    if (st == SMT_CONN_RECONNECTING || st == SMT_CONN_CLOSED || st == SMT_CONN_CONNECTING)
        own_session_disconnected(ui);
    else if (st == SMT_CONN_LIVE)
        ui->link.stale_since = 0;
    if (st != ui->link.conn || !ui->link.conn_since)
        ui->link.conn_since = ui->app.now ? ui->app.now : 1;
    if (st != ui->link.conn)
        smt_ui_set_connect_failure(ui, NULL, 0, -1); /* it belonged to the state left */
    if (st == SMT_CONN_SYNCING || (st == SMT_CONN_LIVE && ui->link.conn != SMT_CONN_LIVE))
        smt_ui_heard(ui);
    ui->link.conn = st;
    ui->app.live = st == SMT_CONN_LIVE;
    smt_text_printf(ui->link.conn_detail, sizeof ui->link.conn_detail, "%s", detail ? detail : "");
    ui->app.dirty = true;
}

void smt_ui_set_connect_failure(smt_ui *ui, const char *reason, unsigned attempt, int next_retry_ms)
{
    smt_text_printf(ui->link.conn_failure, sizeof ui->link.conn_failure, "%s", reason ? reason : "");
    ui->link.conn_attempt = reason ? attempt : 0;
    ui->link.conn_retry_at = reason && next_retry_ms >= 0 ? ui->app.now + (uint64_t)next_retry_ms : 0;
    ui->header_due = ui->app.now; /* the countdown starts now */
    ui->app.dirty = true;
}

void smt_ui_set_session_info(smt_ui *ui, const char *server_name, const char *principal, bool can_modify)
{
    smt_text_printf(ui->link.server_name, sizeof ui->link.server_name, "%s", server_name ? server_name : "");
    if (principal)
        smt_text_printf(ui->link.principal, sizeof ui->link.principal, "%s", principal);
    ui->can_modify = can_modify;
    if (!can_modify)
        smt_ui_set_read_only(ui, "principal lacks modify_session");
    ui->app.dirty = true;
}

void smt_ui_heard(smt_ui *ui)
{
    if (ui->link.last_heard + 1000 <= ui->app.now || smt_header_stale(&ui->app, &ui->link))
        ui->app.dirty = true; /* the STALE badge may go */
    ui->link.last_heard = ui->app.now ? ui->app.now : 1;
}

void smt_ui_set_own_session(smt_ui *ui, const char *session_id)
{
    smt_text_printf(ui->link.own_id, sizeof ui->link.own_id, "%s", session_id ? session_id : "");
}

/* Our connection is down: so is our own session, whatever the last snapshot said. */
static void own_session_disconnected(smt_ui *ui)
{
    if (!ui->link.own_id[0])
        return;
    smt_row *r = smt_model_find(ui->app.model, ui->link.own_id);
    if (!r || r->state != SM_REMOTE_ACTIVE)
        return;
    smt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SMT_EVENT_DISCONNECTED;
    ev.session.session_id = ui->link.own_id;
    ev.session.state = SM_REMOTE_DISCONNECTED;
    ev.session.update = SM_UPDATE_DISCONNECTED;
    smt_model_apply(ui->app.model, &ev, ui->app.now, NULL);
}

void smt_ui_set_heartbeat(smt_ui *ui, int64_t heartbeat_ms)
{
    ui->link.heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 0;
}

void smt_ui_set_read_only(smt_ui *ui, const char *reason)
{
    smt_app *app = &ui->app;
    if (app->read_only)
        return; /* the first reason stays; there is no way back */
    app->read_only = true;
    smt_text_printf(app->read_only_reason, sizeof app->read_only_reason, "%s", reason);
    smt_eventlog_add(&app->log, app->wall, SMT_LOGL_INFO, "read-only mode: %s", reason);
    /* close anything that could change sessions */
    int body = body_depth(ui);
    if (body > 0 && ops_at(ui, body)->guard)
        smt_ui_close_panes(ui);
    if (app->form.kind != SMT_FORM_NONE)
        smt_ui_close_form(app);
    if (app->prompt.kind != SMT_PROMPT_NONE && app->prompt.mutates)
        smt_app_close_prompt(app);
    app->dirty = true;
}

/* ---- events ---- */

/* The panes that keep figures per event (group-by, history, the event log's entries). */
static void notify_panes(smt_ui *ui, const smt_event *ev)
{
    for (size_t i = 0; i < smt_npanes; i++)
        if (smt_panes[i]->event)
            smt_panes[i]->event(ui->panes[i], ev);
}

void smt_ui_event(smt_ui *ui, const smt_event *ev)
{
    smt_ui_heard(ui);
    sm_error err;
    if (smt_model_apply(ui->app.model, ev, ui->app.now, &err) != SM_OK) {
        smt_eventlog_add(&ui->app.log, ui->app.wall, SMT_LOGL_WARN, "event ignored: %s", err.message);
        return;
    }
    ui->app.dirty = true;
    notify_panes(ui, ev);
}

void smt_ui_resync_begin(smt_ui *ui)
{
    smt_model_resync_begin(ui->app.model, ui->app.now);
    ui->app.dirty = true;
}

void smt_ui_resync_end(smt_ui *ui, uint64_t count)
{
    size_t dropped = smt_model_resync_end(ui->app.model, ui->app.now);
    smt_eventlog_add(&ui->app.log, ui->app.wall, SMT_LOGL_INFO, "snapshot: %llu session%s", (unsigned long long)count,
                    count == 1 ? "" : "s");
    if (dropped)
        smt_eventlog_add(&ui->app.log, ui->app.wall, SMT_LOGL_INFO,
                         "removed %zu sessions that closed while disconnected", dropped);
    notify_panes(ui, NULL);
    ui->app.dirty = true;
}

void smt_ui_reply(smt_ui *ui, uint64_t token, const smt_reply *reply)
{
    ui->app.dirty = true;
    if (!smt_ui_outcome_unknown(reply->code))
        smt_ui_heard(ui);
    for (size_t i = 0; i < smt_npanes; i++)
        if (smt_panes[i]->reply && smt_panes[i]->reply(ui->panes[i], token, reply))
            return;
}

void smt_ui_use_settings(smt_ui *ui, const smt_settings *st, const char *path)
{
    smt_app *app = &ui->app;
    smt_text_printf(app->settings_path, sizeof app->settings_path, "%s", path ? path : "");
    if (!st)
        return;
    if (st->ncolumns > 0) { /* what the user saved last time */
        app->ncols = 0;
        app->hscroll = 0;
        for (int i = 0; i < st->ncolumns; i++)
            smt_ui_column_add(app, st->columns[i]);
        app->cols_custom = true;
    }
    if (st->sort_key[0])
        smt_view_set_sort(app->view, st->sort_key, st->sort_descending);
    app->dirty = true;
}

/* ---- themes ---- */

void smt_ui_apply_theme(smt_ui *ui)
{
    smt_palette_apply(&ui->app.theme, ui->app.allow_color);
    wbkgdset(stdscr, ' ' | smt_palette_attr(SMT_ROLE_DEFAULT) | COLOR_PAIR(smt_palette_pair(SMT_ROLE_DEFAULT)));
    ui->app.dirty = true;
}

static void cycle_theme(smt_ui *ui, int dir)
{
    if (ui->nthemes == 0)
        return;
    size_t cur = 0;
    for (size_t i = 0; i < ui->nthemes; i++)
        if (strcmp(ui->themes[i], ui->app.theme.name) == 0)
            cur = i;
    for (size_t tries = 0; tries < ui->nthemes; tries++) {
        cur = (cur + ui->nthemes + (size_t)(dir > 0 ? 1 : ui->nthemes - 1)) % ui->nthemes;
        smt_theme t;
        sm_error err;
        sm_error_clear(&err);
        if (smt_theme_resolve(ui->themes[cur], &t, NULL, 0, &err) == SM_OK) {
            ui->app.theme = t;
            ui->app.allow_color = true; /* an explicit choice overrides NO_COLOR */
            smt_ui_apply_theme(ui);
            smt_ui_message(&ui->app, SMT_LOGL_INFO, "theme: %s (%s)", t.name, t.description);
            return;
        }
        smt_ui_message(&ui->app, SMT_LOGL_ERROR, "theme skipped: %s", err.message);
    }
}

/* ---- the dialog and the prompt ---- */

static void form_key(smt_ui *ui, int32_t key)
{
    smt_app *app = &ui->app;
    smt_form *f = &app->form;
    switch (smt_form_key(f, key)) {
    case SMT_FORM_CANCEL:
        smt_ui_close_form(app);
        smt_ui_message(app, SMT_LOGL_INFO, "cancelled");
        break;
    case SMT_FORM_EDITED:
        if (f->changed)
            f->changed(f->owner);
        break;
    case SMT_FORM_SUBMIT:
        if (f->submit)
            f->submit(f->owner);
        else
            smt_ui_close_form(app);
        break;
    case SMT_FORM_NOT_READY: smt_ui_message(app, SMT_LOGL_WARN, "%s", f->status[0] ? f->status : "not ready"); break;
    default: break;
    }
}

static void prompt_key(smt_ui *ui, int32_t key)
{
    smt_prompt *p = &ui->app.prompt;
    if (p->key && p->key(p->owner, key)) /* issue 13: completion and history of the command line */
        return;
    if (key == SMT_KEY_ESC) { /* back to what was there before */
        ui->app.message[0] = '\0'; /* what it said about the abandoned text no longer holds */
        smt_line_set(&p->line, p->saved);
        if (p->changed)
            p->changed(p->owner, p->line.buf);
        smt_app_close_prompt(&ui->app);
        return;
    }
    if (smt_key_is_enter(key)) {
        if (!p->accept || p->accept(p->owner))
            smt_app_close_prompt(&ui->app);
        return;
    }
    if (smt_line_key(&p->line, smt_key_for_line(key)) == SMT_LINE_CHANGED && p->changed)
        p->changed(p->owner, p->line.buf);
}

/* ---- keys ---- */

/* Quitting while changes are in flight leaves their outcome unseen (and an undo half done):
 * ask first then, and only then. */
static void quit_yes(void *owner)
{
    smt_app *app = owner;
    smt_ui_close_form(app);
    app->quit = true;
}

static void quit_or_ask(smt_ui *ui)
{
    char what[200] = "";
    for (size_t i = 0; i < smt_npanes && !what[0]; i++)
        if (smt_panes[i]->busy && !smt_panes[i]->busy(ui->panes[i], what, sizeof what))
            what[0] = '\0';
    if (!what[0]) {
        ui->app.quit = true;
        return;
    }
    smt_form *f = smt_app_open_form(&ui->app, SMT_FORM_QUIT, "Quit now?", 0, NULL, quit_yes, &ui->app);
    smt_text_printf(f->text[0], sizeof f->text[0], "%s", what);
    smt_text_printf(f->text[1], sizeof f->text[1], "Quitting now stops it and you will not see how it ended.");
    f->danger = true;
    f->ok = true;
}

/* Actions that work whatever has the focus: quitting, opening panes, themes; the rest goes to the table. */
static void global_action(smt_ui *ui, smt_action a)
{
    switch (a) {
    case SMT_ACT_QUIT: quit_or_ask(ui); return;
    case SMT_ACT_THEME_NEXT: cycle_theme(ui, 1); return;
    case SMT_ACT_THEME_PREV: cycle_theme(ui, -1); return;
    case SMT_ACT_REDRAW: clearok(curscr, TRUE); return;
    case SMT_ACT_CLOSE: smt_ui_close_panes(ui); return;
    case SMT_ACT_ESCAPE:
        if (body_depth(ui) > 0) {
            smt_ui_close_panes(ui);
            return;
        }
        break;
    default: break;
    }
    for (size_t i = 1; i < smt_npanes && a != SMT_ACT_NONE; i++) {
        if (smt_panes[i]->open_action != a)
            continue;
        int body = body_depth(ui);
        if (smt_panes[i]->toggles && body > 0 && ui->stack[body] == (int)i)
            smt_ui_close_panes(ui);
        else
            open_pane(ui, (int)i);
        return;
    }
    smt_panes[0]->action(ui->panes[0], a);
}

/* The focused pane first (when the key is bound in its context), then the global actions. */
static void run_action(smt_ui *ui, const smt_binding *b, smt_ctx ctx)
{
    int top = ui->depth - 1;
    if (top > 0 && b->ctx == ctx) {
        smt_handled h = ops_at(ui, top)->action(state_at(ui, top), b->action);
        if (h == SMT_CLOSE)
            pop(ui);
        if (h != SMT_UNHANDLED)
            return;
    }
    global_action(ui, b->action);
}

/* The one dispatch point: look the key up for the focused pane and apply the allow-list. */
static void dispatch(smt_ui *ui, int32_t key)
{
    smt_ctx ctx = ops_at(ui, ui->depth - 1)->ctx;
    const smt_binding *b = smt_keys_lookup(ctx, key);
    /* a message is about the last thing done: the next key starts afresh (a reply that comes
     * later posts its own) */
    ui->app.message[0] = '\0';
    if (!b) {
        char name[32];
        smt_ui_hint(&ui->app, "%s does nothing here (the %s pane): ? lists the keys",
                    smt_key_name(key, name, sizeof name), ops_at(ui, ui->depth - 1)->name);
        return;
    }
    if (!smt_keys_allowed(b, ui->app.read_only)) {
        smt_ui_message(&ui->app, SMT_LOGL_WARN, "%s refused: read-only (%s)", b->bar ? b->bar : b->label,
                      ui->app.read_only_reason);
        return;
    }
    run_action(ui, b, ctx);
}

/* ---- mouse ---- */

static void scroll_wheel(smt_ui *ui, int dir)
{
    int top = ui->depth - 1;
    if (ops_at(ui, top)->wheel) {
        ops_at(ui, top)->wheel(state_at(ui, top), dir);
        return;
    }
    smt_ctx ctx = ops_at(ui, top)->ctx;
    smt_binding b = {.ctx = ctx, .action = dir < 0 ? SMT_ACT_UP : SMT_ACT_DOWN};
    for (int i = 0; i < 3; i++)
        run_action(ui, &b, ctx);
}

/* A mouse event from the decoder (input.c): a press picks, the wheel scrolls; releases and
 * drags change nothing. */
void smt_ui_mouse(smt_ui *ui, const smt_mouse *m)
{
    ui->app.dirty = true;
    if (ui->too_small)
        return;
    if (m->kind == SMT_MOUSE_WHEEL_UP || m->kind == SMT_MOUSE_WHEEL_DOWN) {
        scroll_wheel(ui, m->kind == SMT_MOUSE_WHEEL_UP ? -1 : 1);
        return;
    }
    if (m->kind != SMT_MOUSE_PRESS || m->button != 1)
        return;
    smt_app *app = &ui->app;
    if (m->y == app->screen_rows - 1) { /* key bar: same as pressing the key */
        for (int i = 0; i < ui->nbar_hits; i++)
            if (m->x >= ui->bar_hits[i].x0 && m->x < ui->bar_hits[i].x1) {
                if (app->form.kind == SMT_FORM_NONE && app->prompt.kind == SMT_PROMPT_NONE)
                    dispatch(ui, ui->bar_hits[i].key);
                return;
            }
        return;
    }
    int body = body_depth(ui);
    if (body != ui->depth - 1 || app->form.kind != SMT_FORM_NONE || app->prompt.kind != SMT_PROMPT_NONE)
        return; /* an overlay, a dialog or a prompt has the focus */
    if (m->y >= HEADER_ROWS && m->y < ui->pane_y) { /* the table */
        bool picked = smt_panes[0]->click(ui->panes[0], m->y - HEADER_ROWS, m->x);
        /* an explicit pick moves the pane that follows the table's session (edit) */
        if (picked && body > 0 && ops_at(ui, body)->picked && app->selected)
            ops_at(ui, body)->picked(state_at(ui, body), app->selected);
        return;
    }
    if (body > 0 && ops_at(ui, body)->click && m->y >= ui->pane_y && m->y < ui->pane_y + ui->pane_h)
        ops_at(ui, body)->click(state_at(ui, body), m->y - ui->pane_y, m->x);
}

void smt_ui_key(smt_ui *ui, int32_t key)
{
    smt_app *app = &ui->app;
    app->dirty = true;
    if (key == SMT_KEY_FN(KEY_RESIZE)) {
        smt_ui_resized(ui);
        return;
    }
    if (key == SMT_KEY_FN(KEY_MOUSE)) { /* curses' own decoding (tests with ungetmouse) */
        MEVENT ev;
        if (getmouse(&ev) != OK)
            return;
        smt_mouse m = {SMT_MOUSE_PRESS, 1, ev.x, ev.y};
        if (ev.bstate & BUTTON4_PRESSED)
            m.kind = SMT_MOUSE_WHEEL_UP;
#ifdef BUTTON5_PRESSED
        else if (ev.bstate & BUTTON5_PRESSED)
            m.kind = SMT_MOUSE_WHEEL_DOWN;
#endif
        else if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
            return;
        smt_ui_mouse(ui, &m);
        return;
    }
    if (ui->too_small) { /* only quit works on a screen too small to show anything */
        if (key == 'q' || key == SMT_KEY_FN(KEY_F(10)))
            app->quit = true;
        return;
    }
    if (app->form.kind != SMT_FORM_NONE) {
        form_key(ui, key);
        return;
    }
    if (app->prompt.kind != SMT_PROMPT_NONE) {
        prompt_key(ui, key);
        return;
    }
    dispatch(ui, key);
}

void smt_ui_resized(smt_ui *ui)
{
    for (int i = 0; i < ui->app.ncols; i++)
        ui->app.cols[i].width = 0;
    ui->app.dirty = true;
}

int64_t smt_ui_tick(smt_ui *ui)
{
    smt_app *app = &ui->app;
    /* marks and fading rows need a repaint when they change, not every frame */
    int64_t m = smt_model_tick(app->model, app->now);
    if (m >= 0 && (ui->mark_due == 0 || ui->mark_due > app->now + (uint64_t)m))
        ui->mark_due = app->now + (uint64_t)m;
    if (ui->mark_due && app->now >= ui->mark_due) {
        app->dirty = true;
        ui->mark_due = 0;
    }
    if (app->now >= ui->header_due) {
        app->dirty = true;
        ui->header_due = app->now + (smt_header_countdown_ms(&ui->app, &ui->link) > 0 ? HEADER_COUNTDOWN_MS : 1000);
    }
    int64_t next = (int64_t)(ui->header_due - app->now);
    if (ui->mark_due && (int64_t)(ui->mark_due - app->now) < next)
        next = (int64_t)(ui->mark_due - app->now);
    int body = body_depth(ui);
    for (size_t i = 0; i < smt_npanes; i++) {
        if (!smt_panes[i]->tick)
            continue;
        int64_t t = smt_panes[i]->tick(ui->panes[i], body > 0 && ui->stack[body] == (int)i);
        if (t >= 0 && t < next)
            next = t;
    }
    if (app->message[0]) {
        if (app->now >= app->message_until) {
            app->message[0] = '\0';
            app->dirty = true;
        } else if ((int64_t)(app->message_until - app->now) < next) {
            next = (int64_t)(app->message_until - app->now);
        }
    }
    if (smt_model_dirty_count(app->model) > 0 && !smt_view_paused(app->view))
        app->dirty = true;
    return next;
}

/* ---- painting ---- */

static void draw_status(smt_ui *ui, int y)
{
    smt_app *app = &ui->app;
    int w = app->screen_cols;
    const smt_prompt *p = &app->prompt;
    if (p->kind != SMT_PROMPT_NONE) {
        smt_screen_fill(y, 0, w, SMT_ROLE_PROMPT);
        int x = smt_screen_seg(y, 0, w, p->label, p->error[0] ? SMT_ROLE_FILTER_ERROR : SMT_ROLE_PROMPT);
        smt_screen_line_editor(y, x, w - x, &p->line, p->error_column);
        return;
    }
    if (app->message[0]) {
        smt_role r = app->message_level == SMT_LOGL_ERROR  ? SMT_ROLE_LOG_ERROR
                    : app->message_level == SMT_LOGL_WARN ? SMT_ROLE_LOG_WARN
                                                         : SMT_ROLE_STATUS;
        char buf[340];
        smt_text_printf(buf, sizeof buf, " %s", app->message);
        smt_screen_str(y, 0, w, buf, r);
        return;
    }
    const smt_pane_ops *focus = ops_at(ui, ui->depth - 1);
    if (!focus->hint)
        focus = smt_panes[0];
    const char *hint = app->read_only && focus->hint_read_only ? focus->hint_read_only : focus->hint;
    char compact[200];
    /* a pane's hint too wide for the line loses its double spaces; an overlay's is drawn as written */
    if (focus->layout != SMT_LAYOUT_OVERLAY &&
        smt_text_width(hint, strlen(hint)) > w) { /* one space between the entries instead of two */
        size_t n = 0;
        for (const char *c = hint; *c && n + 1 < sizeof compact; c++)
            if (!(c[0] == ' ' && c[1] == ' ' && c != hint))
                compact[n++] = *c;
        compact[n] = '\0';
        hint = compact;
    }
    smt_screen_str(y, 0, w, hint, SMT_ROLE_STATUS);
}

static void draw_keybar(smt_ui *ui, int y)
{
    int w = ui->app.screen_cols;
    smt_screen_fill(y, 0, w, SMT_ROLE_KEYBAR_LABEL);
    int x = 0;
    ui->nbar_hits = 0;
    /* labels padded into even cells when they all fit so, else packed (all ten fit in 80 columns) */
    int padded = 0;
    for (size_t i = 0; i < smt_keys_count(); i++) {
        const smt_binding *b = smt_keys_at(i);
        if (b->flags & SMT_KEYF_BAR) {
            int lw = (int)strlen(b->bar);
            padded += (b->keys[0] >= SMT_KEY_FN(KEY_F(10)) ? 3 : 2) + (lw > 6 ? lw : 6) + 1;
        }
    }
    bool pad = padded <= w;
    for (size_t i = 0; i < smt_keys_count() && x < w; i++) {
        const smt_binding *b = smt_keys_at(i);
        if (!(b->flags & SMT_KEYF_BAR))
            continue;
        bool allowed = smt_keys_allowed(b, ui->app.read_only);
        char fk[8];
        int fn = 0;
        for (int f = 1; f <= 12; f++)
            if (b->keys[0] == SMT_KEY_FN(KEY_F(f)))
                fn = f;
        smt_text_printf(fk, sizeof fk, "F%d", fn);
        int x0 = x;
        x = smt_screen_seg(y, x, w, fk, allowed ? SMT_ROLE_KEYBAR_KEY : SMT_ROLE_KEYBAR_DISABLED);
        char label[32];
        smt_text_printf(label, sizeof label, pad ? "%-6s " : "%s ", b->bar);
        x = smt_screen_seg(y, x, w, label, allowed ? SMT_ROLE_KEYBAR_LABEL : SMT_ROLE_KEYBAR_DISABLED);
        if (ui->nbar_hits < SMT_UI_BAR_HITS)
            ui->bar_hits[ui->nbar_hits++] = (smt_bar_hit){x0, x, b->keys[0]};
    }
}

static void draw_too_small(smt_ui *ui)
{
    char msg[128];
    werase(stdscr);
    smt_palette_use(stdscr, SMT_ROLE_TOO_SMALL);
    smt_text_printf(msg, sizeof msg, "Terminal too small: %dx%d", ui->app.screen_cols, ui->app.screen_rows);
    const char *need = "need at least 40x10 (q quits)";
    int y = ui->app.screen_rows / 2 - 1;
    if (y < 0)
        y = 0;
    int w = ui->app.screen_cols;
    if (w <= 0)
        return;
    smt_screen_str(y, 0, w, msg, SMT_ROLE_TOO_SMALL);
    if (y + 1 < ui->app.screen_rows)
        smt_screen_str(y + 1, 0, w, need, SMT_ROLE_TOO_SMALL);
}

void smt_ui_paint(smt_ui *ui)
{
    smt_app *app = &ui->app;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getmaxyx(stdscr, app->screen_rows, app->screen_cols);
    smt_view_sync(app->view);
    if (smt_view_take_auto_resumed(app->view))
        smt_ui_message(app, SMT_LOGL_WARN, "pause ended: more than %u sessions changed", SMT_VIEW_MAX_PENDING);
    ui->too_small = app->screen_cols < SMT_UI_MIN_COLS || app->screen_rows < SMT_UI_MIN_ROWS;
    if (ui->too_small) {
        draw_too_small(ui);
    } else {
        werase(stdscr);
        smt_header_draw(&ui->app, &ui->link);
        int body_y = HEADER_ROWS;
        int body_h = app->screen_rows - HEADER_ROWS - FOOTER_ROWS;
        int body = body_depth(ui);
        smt_layout layout = body > 0 ? ops_at(ui, body)->layout : SMT_LAYOUT_BASE;
        int table_h = body_h, pane_h = 0;
        if (layout == SMT_LAYOUT_SPLIT && body_h >= SPLIT_MIN_BODY) {
            pane_h = body_h * 45 / 100;
            if (pane_h < 7)
                pane_h = 7;
            table_h = body_h - pane_h;
        } else if (layout == SMT_LAYOUT_SPLIT || layout == SMT_LAYOUT_FULL) {
            pane_h = body_h;
            table_h = 0;
        }
        smt_panes[0]->draw(ui->panes[0], body_y, table_h);
        ui->pane_y = body_y + table_h;
        ui->pane_h = pane_h;
        if (body > 0)
            ops_at(ui, body)->draw(state_at(ui, body), ui->pane_y, pane_h);
        for (int d = body + 1; d < ui->depth; d++) /* overlays */
            ops_at(ui, d)->draw(state_at(ui, d), body_y, body_h);
        draw_status(ui, app->screen_rows - 2);
        draw_keybar(ui, app->screen_rows - 1);
        if (app->form.kind != SMT_FORM_NONE)
            smt_form_draw(&app->form, app->screen_rows, app->screen_cols);
    }
    wnoutrefresh(stdscr);
    doupdate();
    app->dirty = false;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ui->last_paint_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}
