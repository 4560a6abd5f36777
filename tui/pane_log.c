/* The event log pane: what the monitor did and saw, newest at the bottom; session lines say who
 * (principal, country) and what changed, can be filtered with the session filter language, jump
 * to their session and be saved as NDJSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "tui/listnav.h"
#include "tui/pane.h"
#include "tui/screen.h"
#include "tui/text.h"

#define LOG_SAVE_DEFAULT "sessmon-log.ndjson"

typedef struct log_pane {
    smt_app *app;
    smt_list nav;       /* the cursor over the entries listed, oldest first */
    bool hide_sessions; /* leaves out session lifecycle lines */
    bool follow;        /* the cursor stays on the newest entry */

    sm_filter *filter; /* NULL = every entry */
    char filter_text[SM_FILTER_MAX + 1];

    /* the entries listed: rebuilt when the log or the filter changed, not per frame */
    const smt_log_entry **items;
    size_t nitems;
    uint64_t built_total; /* the log's total when built (UINT64_MAX = rebuild) */
    uint64_t cursor_seq;
} log_pane;

/* ---- the entries listed ---- */

typedef struct lookup_ctx {
    const smt_log_entry *e;
    const smt_row *row;
} lookup_ctx;

/* The filter sees the entry's own fields first, then the session's current properties. */
static const char *entry_lookup(void *ctx, const char *key)
{
    lookup_ctx *c = ctx;
    if (strcmp(key, SM_PROP_SESSION_ID) == 0)
        return c->e->session_id;
    if (strcmp(key, SM_PROP_PRINCIPAL) == 0 && c->e->principal[0])
        return c->e->principal;
    if (strcmp(key, SM_PROP_COUNTRY) == 0 && c->e->country[0])
        return c->e->country;
    return c->row ? smt_row_get(c->row, key) : NULL;
}

static bool entry_passes(const log_pane *p, const smt_log_entry *e)
{
    if (!p->filter)
        return true;
    if (!e->session_id[0])
        return false; /* the filter is about sessions: monitor lines have none */
    lookup_ctx c = {e, smt_model_find(p->app->model, e->session_id)};
    return sm_filter_eval(p->filter, entry_lookup, &c);
}

static void rebuild(log_pane *p)
{
    const smt_eventlog *log = &p->app->log;
    if (p->built_total == log->total)
        return;
    bool sessions = !p->hide_sessions;
    size_t n = smt_eventlog_count_filtered(log, sessions);
    const smt_log_entry **items = realloc(p->items, (n ? n : 1) * sizeof *items);
    if (!items)
        return;
    p->items = items;
    p->nitems = 0;
    for (size_t i = 0; i < n; i++) {
        const smt_log_entry *e = smt_eventlog_at_filtered(log, sessions, i);
        if (e && entry_passes(p, e))
            p->items[p->nitems++] = e;
    }
    p->built_total = log->total;
    smt_list_resize(&p->nav, p->nitems, p->nav.rows > 0 ? p->nav.rows : 1);
    if (p->follow || !p->nitems) {
        smt_list_select(&p->nav, p->nitems ? p->nitems - 1 : 0);
        return;
    }
    size_t lo = 0, hi = p->nitems; /* the entry the cursor was on, or the next one still kept */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->items[mid]->seq < p->cursor_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    smt_list_select(&p->nav, lo < p->nitems ? lo : p->nitems - 1);
}

static void invalidate(log_pane *p)
{
    p->built_total = UINT64_MAX;
}

static void note_cursor(log_pane *p)
{
    p->follow = p->nitems == 0 || p->nav.cursor + 1 >= p->nitems;
    p->cursor_seq = p->nav.cursor < p->nitems ? p->items[p->nav.cursor]->seq : 0;
}

/* ---- events: one line per session event, with who and what changed ---- */

static const char *event_word(smt_event_kind k)
{
    switch (k) {
    case SMT_EVENT_OPEN: return "opened";
    case SMT_EVENT_CLOSED: return "closed";
    case SMT_EVENT_DISCONNECTED: return "disconnected";
    case SMT_EVENT_RECONNECTED: return "reconnected";
    case SMT_EVENT_FAILED_OVER: return "failed over";
    case SMT_EVENT_PROPERTIES: return "changed";
    default: return NULL;
    }
}

static const char *new_value(const sm_session_event *s, const char *key)
{
    for (size_t i = 0; i < s->property_count; i++)
        if (s->properties[i].key && strcmp(s->properties[i].key, key) == 0)
            return s->properties[i].value;
    return NULL;
}

static void describe_changes(const sm_session_event *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s->previous_count && n + 1 < cap; i++) {
        const char *k = s->previous[i].key;
        if (!k)
            continue;
        const char *old = s->previous[i].value, *nv = new_value(s, k);
        n += smt_text_printf(out + n, cap - n, "%s%s: %s%s%s \u2192 %s%s%s", n ? "; " : "", k, old ? "'" : "",
                             old ? old : "(none)", old ? "'" : "", nv ? "'" : "", nv ? nv : "(none)", nv ? "'" : "");
    }
}

static void log_event(void *state, const smt_event *ev)
{
    log_pane *p = state;
    smt_app *app = p->app;
    if (!ev || ev->session.snapshot || !ev->session.session_id)
        return;
    const char *word = event_word(ev->kind);
    if (!word)
        return;
    /* the entry first: past this second's limit nothing below is worth formatting */
    smt_log_entry *e = smt_eventlog_session(&app->log, app->wall, "%s", "");
    if (!e)
        return;
    char changes[SMT_LOG_LINE_MAX];
    changes[0] = '\0';
    if (ev->kind == SMT_EVENT_PROPERTIES)
        describe_changes(&ev->session, changes, sizeof changes);
    else if (ev->kind == SMT_EVENT_CLOSED)
        smt_text_printf(changes, sizeof changes, "%s",
                       sm_reason_name(ev->session.reason) ? sm_reason_name(ev->session.reason) : "unknown reason");
    char id[80];
    smt_text_escape(ev->session.session_id, strlen(ev->session.session_id), id, sizeof id);
    smt_text_printf(e->text, sizeof e->text, "session %s %s%s%s", id, word, changes[0] ? ": " : "", changes);
    smt_text_printf(e->event, sizeof e->event, "%s", word);
    smt_text_printf(e->session_id, sizeof e->session_id, "%s", ev->session.session_id);
    smt_text_printf(e->changes, sizeof e->changes, "%s", changes);
    const smt_row *r = smt_model_find(app->model, ev->session.session_id);
    const char *who = r ? smt_row_get(r, SM_PROP_PRINCIPAL) : NULL, *where = r ? smt_row_get(r, SM_PROP_COUNTRY) : NULL;
    smt_text_printf(e->principal, sizeof e->principal, "%s", who ? who : "");
    smt_text_printf(e->country, sizeof e->country, "%s", where ? where : "");
}

/* ---- drawing ---- */

static smt_role level_role(smt_log_level l)
{
    return l == SMT_LOGL_ERROR ? SMT_ROLE_LOG_ERROR : l == SMT_LOGL_WARN ? SMT_ROLE_LOG_WARN : SMT_ROLE_LOG_INFO;
}

static int field(int y, int x, int w, const char *s, smt_role role)
{
    char esc[SMT_LOG_LINE_MAX * 2];
    smt_text_escape(s, strlen(s), esc, sizeof esc);
    smt_screen_str(y, x, w - 1, esc, role);
    return x + w;
}

static void draw_entry(const log_pane *p, int ly, int w, const smt_log_entry *e, bool selected)
{
    smt_role role = selected ? SMT_ROLE_ROW_SELECTED : level_role(e->level);
    char t[16] = "--:--:--";
    if (e->wall_ms > 0)
        smt_text_format_time(e->wall_ms, true, t, sizeof t);
    smt_screen_fill(ly, 0, w, role);
    smt_screen_str(ly, 0, 9, t, role);
    (void)p;
    if (e->event[0] && w >= 100) { /* time, "session ID event", principal, country, changes */
        int what_w = w >= 160 ? 52 : 40;
        char what[SMT_LOG_FIELD_MAX + 40];
        smt_text_printf(what, sizeof what, "session %s %s", e->session_id, e->event);
        int x = field(ly, 9, what_w, what, role);
        x = field(ly, x, 16, e->principal[0] ? e->principal : "-", role);
        x = field(ly, x, 5, e->country[0] ? e->country : "-", role);
        field(ly, x, w - x, e->changes, role);
        return;
    }
    if (w >= 80) {
        smt_screen_str(ly, 9, 6, e->level == SMT_LOGL_ERROR ? "error" : e->level == SMT_LOGL_WARN ? "warn" : "info",
                       role);
        smt_screen_str(ly, 15, w - 15, e->text, role);
    } else { /* narrow: the text matters more than an "info" column; problems keep their word */
        int x = 9;
        const char *word = e->level == SMT_LOGL_ERROR ? "error: " : e->level == SMT_LOGL_WARN ? "warn: " : "";
        x += smt_screen_str(ly, x, (int)strlen(word), word, role);
        smt_screen_str(ly, x, w - x, e->text, role);
    }
}

static void log_draw(void *state, int y, int h)
{
    log_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    int rows = h - 1;
    p->nav.rows = rows > 0 ? rows : 1;
    rebuild(p);
    smt_list_resize(&p->nav, p->nitems, p->nav.rows);
    if (p->follow && p->nitems)
        smt_list_select(&p->nav, p->nitems - 1);
    char buf[SM_FILTER_MAX + 200];
    smt_text_printf(buf, sizeof buf, " Event log: %zu entries%s%s%s%s  (/ filter, Enter jump, w save, s %s session "
                                     "lines, Esc close)",
                   p->nitems, p->hide_sessions ? " without session lines" : "", p->filter ? " matching " : "",
                   p->filter ? p->filter_text : "", p->follow ? "" : " (scrolled; End follows)",
                   p->hide_sessions ? "shows" : "hides");
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    for (int i = 0; i < rows; i++) {
        int ly = y + 1 + i;
        size_t idx = p->nav.top + (size_t)i;
        if (idx >= p->nitems) {
            smt_screen_fill(ly, 0, w, SMT_ROLE_PANE);
            continue;
        }
        draw_entry(p, ly, w, p->items[idx], idx == p->nav.cursor && !p->follow);
    }
}

/* ---- keys ---- */

static void filter_changed(void *owner, const char *text)
{
    log_pane *p = owner;
    smt_prompt *pr = &p->app->prompt;
    sm_filter *f = NULL;
    sm_error err;
    sm_error_clear(&err);
    char trimmed[SM_FILTER_MAX + 1];
    smt_text_printf(trimmed, sizeof trimmed, "%s", text);
    smt_text_trim(trimmed);
    if (trimmed[0] && sm_filter_parse(trimmed, strlen(trimmed), &f, &err) != SM_OK) {
        smt_text_printf(pr->error, sizeof pr->error, "%s", err.message);
        pr->error_column = err.column;
        return;
    }
    pr->error[0] = '\0';
    pr->error_column = 0;
    sm_filter_free(p->filter);
    p->filter = f;
    smt_text_printf(p->filter_text, sizeof p->filter_text, "%s", trimmed);
    invalidate(p);
}

static bool filter_accept(void *owner)
{
    log_pane *p = owner;
    if (p->app->prompt.error[0]) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "%s", p->app->prompt.error);
        return false;
    }
    return true;
}

static bool save_accept(void *owner)
{
    log_pane *p = owner;
    smt_app *app = p->app;
    char path[SMT_LINE_MAX + 1];
    smt_text_printf(path, sizeof path, "%s", app->prompt.line.buf);
    smt_text_trim(path);
    if (!path[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "no file name: nothing saved");
        return true;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        smt_ui_message(app, SMT_LOGL_ERROR, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    rebuild(p);
    size_t n = 0;
    for (size_t i = 0; i < p->nitems; i++)
        if (smt_eventlog_write_ndjson(f, p->items[i]) == 0)
            n++;
    bool ok = fclose(f) == 0 && n == p->nitems;
    if (ok)
        smt_ui_message(app, SMT_LOGL_INFO, "saved %zu log entries to %s (NDJSON)", n, path);
    else
        smt_ui_message(app, SMT_LOGL_ERROR, "writing %s failed after %zu entries", path, n);
    return true;
}

static smt_handled jump(log_pane *p)
{
    smt_app *app = p->app;
    if (p->nav.cursor >= p->nitems)
        return SMT_HANDLED;
    const smt_log_entry *e = p->items[p->nav.cursor];
    if (!e->session_id[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "this entry is not about a session");
        return SMT_HANDLED;
    }
    smt_row *r = smt_model_find(app->model, e->session_id);
    char id[80];
    smt_text_escape(e->session_id, strlen(e->session_id), id, sizeof id);
    if (!r) {
        smt_ui_message(app, SMT_LOGL_WARN, "session %s is no longer in the table", id);
        return SMT_HANDLED;
    }
    smt_app_select(app, r->id);
    if (!smt_view_row_passes(app->view, r))
        smt_ui_message(app, SMT_LOGL_WARN, "session %s selected, but the view filter or search hides it", id);
    else
        smt_ui_message(app, SMT_LOGL_INFO, "session %s selected", id);
    return SMT_CLOSE;
}

static smt_handled log_action(void *state, smt_action a)
{
    log_pane *p = state;
    smt_app *app = p->app;
    rebuild(p); /* entries arrive between frames */
    if (p->follow && p->nitems)
        smt_list_select(&p->nav, p->nitems - 1);
    if (smt_list_action(&p->nav, a)) {
        note_cursor(p);
        if (a == SMT_ACT_UP && p->follow && p->nitems > 1) { /* leaving follow mode selects the last line */
            p->follow = false;
        }
        return SMT_HANDLED;
    }
    switch (a) {
    case SMT_ACT_LOG_SESSIONS:
        p->hide_sessions = !p->hide_sessions;
        p->follow = true;
        invalidate(p);
        return SMT_HANDLED;
    case SMT_ACT_LOG_FILTER:
        smt_app_start_prompt(app, SMT_PROMPT_LOG_FILTER, "Log filter> ", p->filter_text, filter_changed,
                             filter_accept, p);
        return SMT_HANDLED;
    case SMT_ACT_LOG_SAVE:
        smt_app_start_prompt(app, SMT_PROMPT_TEXT, "Save the log as NDJSON to> ", LOG_SAVE_DEFAULT, NULL,
                             save_accept, p);
        return SMT_HANDLED;
    case SMT_ACT_LOG_JUMP: return jump(p);
    default: return SMT_UNHANDLED;
    }
}

static bool log_click(void *state, int row, int x)
{
    (void)x;
    log_pane *p = state;
    size_t item;
    if (row < 1 || !smt_list_item_at_row(&p->nav, row - 1, &item))
        return false;
    smt_list_select(&p->nav, item);
    note_cursor(p);
    p->follow = false;
    return true;
}

static bool log_open(void *state)
{
    log_pane *p = state;
    p->follow = true;
    invalidate(p);
    return true;
}

static void *log_create(smt_app *app)
{
    log_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, false);
    p->follow = true;
    invalidate(p);
    return p;
}

static void log_destroy(void *state)
{
    log_pane *p = state;
    if (!p)
        return;
    sm_filter_free(p->filter);
    free(p->items);
    free(p);
}

const smt_pane_ops smt_pane_log = {
    .name = "log",
    .ctx = SMT_CTX_LOG,
    .layout = SMT_LAYOUT_FULL,
    .open_action = SMT_ACT_LOG,
    .toggles = true,
    .hint = " Up/Down PgUp/PgDn move  End follow  / filter  Enter jump to session  w save  s session lines  Esc close",
    .create = log_create,
    .destroy = log_destroy,
    .open = log_open,
    .draw = log_draw,
    .action = log_action,
    .click = log_click,
    .event = log_event,
};
