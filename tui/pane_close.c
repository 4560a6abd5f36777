/* The close pane: close the cursor's session, the tagged ones or those matching a filter, with a
 * local count and preview first, a confirmation that says there is no undo, and the server's count after. */
#include <stdlib.h>
#include <string.h>

#include "tui/bulk_eval.h"
#include "tui/listnav.h"
#include "tui/pane.h"
#include "tui/screen.h"
#include "tui/text.h"

#define RECOUNT_MS 1000
#define CLOSE_CONFIRM_TYPED 5 /* above this many sessions the count must be typed (as bulk update) */
#define CLOSE_READY "Close them?"

typedef enum close_scope {
    SCOPE_CURSOR = 0, /* the cursor's session */
    SCOPE_TAGGED,     /* the sessions tagged with Space */
    SCOPE_FILTER      /* a filter typed here or given by the command line */
} close_scope;

typedef struct close_pane {
    smt_app *app;
    close_scope scope;
    close_scope opened_scope; /* what it opened on, and that filter text: Esc in the prompt goes back to it */
    char opened[SM_FILTER_MAX + 1];
    smt_line filter;
    sm_filter *parsed; /* NULL while the text does not parse */
    sm_error error;
    bool recount;
    uint64_t counted_at;
    smt_bulk_count count; /* the same local evaluation as bulk update's, with no property map */
    smt_list preview_nav;
    bool pending;
    uint64_t token;
    size_t sent_local;
    close_scope sent_scope;
    char result[320];
    bool result_error;
} close_pane;

static void close_form_changed(void *owner);
static void close_form_submit(void *owner);

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static const char *scope_text(const close_pane *c)
{
    switch (c->scope) {
    case SCOPE_CURSOR: return "the cursor's session";
    case SCOPE_TAGGED: return "the tagged sessions";
    default: return "the sessions matching the filter";
    }
}

static void filter_changed(close_pane *c)
{
    sm_filter_free(c->parsed);
    c->parsed = NULL;
    sm_error_clear(&c->error);
    if (c->filter.len > 0)
        sm_filter_parse(c->filter.buf, c->filter.len, &c->parsed, &c->error);
    c->recount = true;
    smt_list_select(&c->preview_nav, 0);
    if (c->app->prompt.kind == SMT_PROMPT_CLOSE_FILTER && c->app->prompt.owner == c)
        c->app->prompt.error_column = !c->parsed && c->filter.len ? c->error.column : 0;
}

static void prompt_changed(void *owner, const char *text)
{
    close_pane *c = owner;
    if (strcmp(text, c->opened) == 0)
        c->scope = c->opened_scope;
    else if (strcmp(text, c->filter.buf) != 0)
        c->scope = SCOPE_FILTER; /* typed over: it is a filter now, whatever it started as */
    smt_line_set(&c->filter, text);
    filter_changed(c);
}

static void start_filter_prompt(close_pane *c)
{
    smt_prompt *pr = smt_app_start_prompt(c->app, SMT_PROMPT_CLOSE_FILTER, "Close filter> ", c->filter.buf,
                                          prompt_changed, NULL, c);
    pr->mutates = true;
    pr->error_column = !c->parsed && c->filter.len ? c->error.column : 0;
}

static void recount(close_pane *c)
{
    c->counted_at = c->app->now;
    c->recount = false;
    smt_bulk_count_run(&c->count, c->app->model, c->app->view, c->parsed, NULL, 0);
}

/* What it works on: a filter asked for (command line), else the tagged sessions, else the
 * cursor's session. Nothing to work on refuses to open, saying how to pick something. */
static bool close_open(void *state)
{
    close_pane *c = state;
    smt_app *app = c->app;
    if (!smt_ui_guard_write(app, "closing sessions"))
        return false;
    char text[SM_FILTER_MAX + 1], why[200];
    if (app->close_request[0]) {
        sm_filter *f = NULL;
        sm_error err;
        if (sm_filter_parse(app->close_request, strlen(app->close_request), &f, &err) != SM_OK) {
            smt_ui_message(app, SMT_LOGL_ERROR, "%s", err.message);
            return false;
        }
        sm_filter_free(f);
        smt_text_printf(text, sizeof text, "%s", app->close_request);
        c->scope = SCOPE_FILTER;
    } else if (smt_app_tagged_count(app) > 0) {
        if (!smt_app_tagged_filter(app, text, sizeof text, why, sizeof why)) {
            smt_ui_message(app, SMT_LOGL_WARN, "%s", why);
            return false;
        }
        c->scope = SCOPE_TAGGED;
    } else {
        smt_row *r = smt_ui_selected_row(app);
        if (!r || r->dead || r->state == SM_REMOTE_CLOSED) {
            smt_ui_message(app, SMT_LOGL_WARN,
                           "nothing to close: put the cursor on a session, tag some with Space, or :close FILTER");
            return false;
        }
        smt_text_printf(text, sizeof text, "%s is '%s'", SM_PROP_SESSION_ID, r->id);
        c->scope = SCOPE_CURSOR;
    }
    smt_line_set(&c->filter, text);
    c->opened_scope = c->scope;
    smt_text_printf(c->opened, sizeof c->opened, "%s", text);
    filter_changed(c);
    recount(c);
    if (!c->pending) {
        c->result[0] = '\0';
        c->result_error = false;
    }
    return true;
}

static int64_t close_tick(void *state, bool shown)
{
    close_pane *c = state;
    if (!shown)
        return -1;
    if (c->recount || c->app->now >= c->counted_at + RECOUNT_MS) {
        recount(c);
        c->app->dirty = true;
    }
    return RECOUNT_MS;
}

/* ---- confirmation and sending ---- */

static void open_confirm(close_pane *c)
{
    smt_form *f = smt_app_open_form(c->app, SMT_FORM_CLOSE_CONFIRM, "Close sessions", 0,
                                    close_form_changed, close_form_submit, c);
    smt_text_printf(f->text[0], sizeof f->text[0], "Close %zu session%s (%s) matching:", c->count.matches,
                    plural(c->count.matches), scope_text(c));
    char esc[300];
    smt_text_escape(c->filter.buf, c->filter.len, esc, sizeof esc);
    smt_text_printf(f->text[1], sizeof f->text[1], "  %s", esc);
    size_t off = smt_text_printf(f->text[2], sizeof f->text[2],
                                 "There is no undo: a closed session is gone (its client may open a new one).");
    if (c->count.hidden)
        smt_text_printf(f->text[2] + off, sizeof f->text[2] - off, " %zu of them are hidden by the table's filter.",
                        c->count.hidden);
    smt_form_say_audited(c->app, f);
    c->sent_local = c->count.matches;
    smt_form_confirm_count(f, c->count.matches, CLOSE_CONFIRM_TYPED, CLOSE_READY);
}

static void apply(close_pane *c)
{
    if (!smt_ui_guard_write(c->app, "closing sessions"))
        return;
    if (c->pending) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "a close is still waiting for the server");
        return;
    }
    if (!c->parsed) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "%s", c->filter.len ? c->error.message : "type a filter first (f)");
        return;
    }
    char why[240];
    if (smt_filter_monitor_only(c->filter.buf, why, sizeof why)) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "%s", why);
        return;
    }
    recount(c);
    if (c->count.matches == 0) { /* never widen an empty match */
        smt_ui_message(c->app, SMT_LOGL_WARN, "no open session matches here: nothing sent");
        return;
    }
    open_confirm(c);
}

static void close_form_changed(void *owner)
{
    close_pane *c = owner;
    if (c->app->form.kind == SMT_FORM_CLOSE_CONFIRM)
        smt_form_confirm_check(&c->app->form, CLOSE_READY);
}

static void close_form_submit(void *owner)
{
    close_pane *c = owner;
    smt_form *f = &c->app->form;
    if (f->kind != SMT_FORM_CLOSE_CONFIRM || !f->ok)
        return;
    size_t confirmed = c->sent_local;
    smt_ui_close_form(c->app);
    if (!smt_ui_guard_write(c->app, "closing sessions") || !c->parsed)
        return;
    recount(c);
    if (c->count.matches == 0) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "no open session matches here any more: nothing sent");
        return;
    }
    if (c->count.matches != confirmed) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "the match count changed from %zu to %zu: confirm again", confirmed,
                       c->count.matches);
        open_confirm(c);
        return;
    }
    uint64_t token = smt_ui_new_token(c->app);
    char err[256] = "";
    if (smt_app_send_close_by_filter(c->app, token, c->filter.buf, err, sizeof err) != 0) {
        smt_text_printf(c->result, sizeof c->result, "not sent: %s", err);
        c->result_error = true;
        smt_ui_message(c->app, SMT_LOGL_ERROR, "close %s", c->result);
        return;
    }
    c->pending = true;
    c->token = token;
    c->sent_scope = c->scope;
    smt_text_printf(c->result, sizeof c->result, "sent to the server (%zu session%s matched here); waiting...",
                    confirmed, plural(confirmed));
    c->result_error = false;
    char esc[200];
    smt_text_escape(c->filter.buf, c->filter.len, esc, sizeof esc);
    smt_eventlog_add(&c->app->log, c->app->wall, SMT_LOGL_INFO, "close sent: filter %s (%zu local matches)", esc,
                     confirmed);
}

static bool close_reply(void *state, uint64_t token, const smt_reply *reply)
{
    close_pane *c = state;
    if (!c->pending || token != c->token)
        return false;
    c->pending = false;
    c->recount = true;
    if (reply->code != SM_CLIENT_OK) {
        const char *name = sm_client_errcode_name(reply->code);
        if (smt_ui_outcome_unknown(reply->code))
            smt_text_printf(c->result, sizeof c->result,
                            "outcome unknown (%s): the server may have closed them; the table shows what is left", name);
        else
            smt_text_printf(c->result, sizeof c->result, "server refused: %s: %s", name,
                            reply->message ? reply->message : "");
        c->result_error = true;
        smt_ui_message(c->app, SMT_LOGL_ERROR, "close: %s", c->result);
        return true;
    }
    size_t off = smt_text_printf(c->result, sizeof c->result, "server closed %llu session%s (local preview: %zu)",
                                 (unsigned long long)reply->count, plural((size_t)reply->count), c->sent_local);
    if (reply->count != c->sent_local)
        smt_text_printf(c->result + off, sizeof c->result - off, "; sessions changed in between");
    c->result_error = false;
    if (c->sent_scope == SCOPE_TAGGED)
        smt_app_clear_tags(c->app);
    smt_ui_message(c->app, SMT_LOGL_INFO, "close: %s", c->result);
    return true;
}

static smt_handled close_action(void *state, smt_action a)
{
    close_pane *c = state;
    switch (a) {
    case SMT_ACT_CLOSE_FILTER: start_filter_prompt(c); return SMT_HANDLED;
    case SMT_ACT_CLOSE_APPLY: apply(c); return SMT_HANDLED;
    case SMT_ACT_UP:
    case SMT_ACT_DOWN:
    case SMT_ACT_PGUP:
    case SMT_ACT_PGDN: smt_list_action(&c->preview_nav, a); return SMT_HANDLED;
    case SMT_ACT_CLOSE: return SMT_CLOSE;
    default: return SMT_UNHANDLED;
    }
}

/* ---- drawing ---- */

static void draw_preview(close_pane *c, int y, int end)
{
    smt_app *app = c->app;
    int w = app->screen_cols;
    static const char *const keys[] = {SM_PROP_SESSION_ID, SM_PROP_PRINCIPAL, SM_PROP_CLIENT_TYPE, SM_PROP_COUNTRY,
                                       SMT_COL_STATE};
    static const int widths[] = {20, 16, 12, 10, 14};
    int x = 3;
    for (size_t k = 0; k < sizeof keys / sizeof *keys && x < w; k++) {
        smt_screen_str(y, x, widths[k], smt_column_title(keys[k]), SMT_ROLE_PANE_TITLE);
        x += widths[k];
    }
    y++;
    int rows = end - y;
    if (rows < 1)
        return;
    smt_list_resize(&c->preview_nav, c->count.npreview, rows);
    char buf[64];
    for (int i = 0; i < rows; i++) {
        size_t at = c->preview_nav.top + (size_t)i;
        if (at >= c->count.npreview)
            break;
        smt_row *r = smt_model_find(app->model, c->count.preview[at]);
        if (!r)
            continue; /* closed since the last count (at most a second ago) */
        x = 3;
        for (size_t k = 0; k < sizeof keys / sizeof *keys && x < w; k++) {
            const char *t = smt_ui_cell_text(r, keys[k], buf, sizeof buf);
            smt_screen_text(y + i, x, widths[k] - 1, t, strlen(t), SMT_ROLE_PANE);
            x += widths[k];
        }
    }
}

static void close_draw(void *state, int y, int h)
{
    close_pane *c = state;
    smt_app *app = c->app;
    int w = app->screen_cols;
    char buf[512];
    smt_screen_str(y, 0, w, " Close sessions  (f filter, A close, Esc back)  there is no undo", SMT_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    int ly = y + 1, end = y + h;
    if (ly >= end)
        return;
    smt_text_printf(buf, sizeof buf, "Closing %s:", scope_text(c));
    smt_screen_str(ly++, 1, w - 2, buf, SMT_ROLE_PANE);
    if (ly >= end)
        return;
    int x = smt_screen_str(ly, 1, 8, "Filter: ", SMT_ROLE_PANE) + 1;
    smt_screen_text(ly++, x, w - x - 1, c->filter.len ? c->filter.buf : "(none: f to type one)",
                    c->filter.len ? c->filter.len : 21,
                    c->filter.len == 0 ? SMT_ROLE_PANE
                    : c->parsed        ? SMT_ROLE_FILTER_OK
                                       : SMT_ROLE_FILTER_ERROR);
    if (ly >= end)
        return;
    if (c->filter.len && !c->parsed) {
        smt_screen_str(ly++, 1, w - 2, c->error.message, SMT_ROLE_FILTER_ERROR);
    } else if (c->parsed) {
        size_t off = smt_text_printf(buf, sizeof buf, "matches %zu open session%s here", c->count.matches,
                                     plural(c->count.matches));
        if (c->count.hidden)
            smt_text_printf(buf + off, sizeof buf - off, " (%zu hidden by the table's filter or search)",
                            c->count.hidden);
        smt_screen_str(ly++, 1, w - 2, buf, c->count.matches ? SMT_ROLE_FILTER_OK : SMT_ROLE_LOG_WARN);
    }
    if (ly < end)
        smt_screen_str(ly++, 1, w - 2,
                       "A closed session cannot be brought back (no undo); its client may reconnect as a new session.",
                       SMT_ROLE_LOG_WARN);
    if (c->result[0] && ly < end)
        smt_screen_str(ly++, 1, w - 2, c->result, c->result_error ? SMT_ROLE_LOG_ERROR : SMT_ROLE_INSPECT_CHANGED);
    if (ly + 1 < end && c->parsed && c->count.npreview)
        draw_preview(c, ly + 1, end);
}

static void close_wheel(void *state, int dir)
{
    close_pane *c = state;
    smt_list_move(&c->preview_nav, dir < 0 ? -3 : 3);
}

static bool close_busy(void *state, char *what, size_t cap)
{
    close_pane *c = state;
    if (!c->pending)
        return false;
    smt_text_printf(what, cap, "A close is waiting for the server's answer.");
    return true;
}

static void *close_create(smt_app *app)
{
    close_pane *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->app = app;
    smt_line_init(&c->filter, SM_FILTER_MAX);
    smt_list_init(&c->preview_nav, true);
    return c;
}

static void close_destroy(void *state)
{
    close_pane *c = state;
    if (!c)
        return;
    sm_filter_free(c->parsed);
    smt_bulk_count_clear(&c->count);
    free(c);
}

const smt_pane_ops smt_pane_close = {
    .name = "close",
    .ctx = SMT_CTX_CLOSE,
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_CLOSE_SESSIONS,
    .guard = "closing sessions",
    .hint = " f filter  A close (asks first; no undo)  Up/Down preview  Esc back  ? help",
    .create = close_create,
    .destroy = close_destroy,
    .open = close_open,
    .draw = close_draw,
    .action = close_action,
    .wheel = close_wheel,
    .reply = close_reply,
    .tick = close_tick,
    .busy = close_busy,
};
