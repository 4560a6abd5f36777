/* The monitor's screen: state, layout, key dispatch, header, session table, prompts and dialogs. */
#include "tui/ui.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/palette.h"
#include "tui/panes.h"
#include "tui/text.h"

#define MESSAGE_MS 6000
#define HEADER_ROWS 2
#define FOOTER_ROWS 2
#define COL_MAX_WIDTH 32
#define ID_MAX_WIDTH 36
#define MARK_WIDTH 2 /* change marker + space before the first column */
#define HEADER_KEEP_COLS 26       /* after a connection failure's reason: the session count and "as of" */
#define HEADER_REASON_MIN_COLS 20 /* a failure's reason is cut shorter only when the attempt would not fit */
#define HEADER_COUNTDOWN_MS 100   /* the next-attempt countdown shows tenths of a second */

static const char *const default_columns[] = {
    SM_PROP_SESSION_ID, SM_PROP_PRINCIPAL, SM_PROP_CLIENT_IP, SM_PROP_COUNTRY,
    SM_PROP_CLIENT_TYPE, SM_PROP_START_TIME, SM_COL_STATE,
};

/* Key bar entries of the last frame, for mouse clicks. */
typedef struct bar_hit {
    int x0, x1;
    int32_t key;
} bar_hit;
static bar_hit bar_hits[16];
static int nbar_hits;

static bool utf8_ok(void)
{
    return MB_CUR_MAX > 1;
}

/* ---- drawing primitives ---- */

#define LINE_COLS_MAX 1024
static wchar_t wbuf[SM_TEXT_CAP(LINE_COLS_MAX)];

int sm_ui_text(int y, int x, int w, const char *s, size_t len, int role)
{
    int room = getmaxx(stdscr) - x; /* never wrap onto the next line, whatever the caller computed */
    if (w > room)
        w = room;
    if (w <= 0 || x < 0 || y < 0 || y >= getmaxy(stdscr))
        return 0;
    if (w > LINE_COLS_MAX)
        w = LINE_COLS_MAX;
    int used = sm_text_fit(s, len, w, true, wbuf, sizeof wbuf / sizeof *wbuf, NULL);
    sm_palette_use(stdscr, (sm_role)role);
    mvwaddnwstr(stdscr, y, x, wbuf, -1);
    return used;
}

int sm_ui_str(int y, int x, int w, const char *s, int role)
{
    return sm_ui_text(y, x, w, s ? s : "", s ? strlen(s) : 0, role);
}

void sm_ui_fill(int y, int x, int w, int role)
{
    sm_ui_text(y, x, w, "", 0, role);
}

/* Draws s without padding; returns the new x (stops at maxx). */
static int seg(int y, int x, int maxx, const char *s, int role)
{
    if (x >= maxx || !s)
        return x;
    int w = sm_text_width(s, strlen(s));
    if (w > maxx - x)
        w = maxx - x;
    return x + sm_ui_text(y, x, w, s, strlen(s), role);
}

/* ---- small helpers ---- */

void sm_ui_message(sm_ui *ui, sm_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ui->message, sizeof ui->message, fmt, ap);
    va_end(ap);
    ui->message_level = level;
    ui->message_until = ui->now + MESSAGE_MS;
    sm_eventlog_add(&ui->log, ui->wall, level, "%s", ui->message);
    ui->dirty = true;
}

bool sm_ui_guard_write(sm_ui *ui, const char *what)
{
    if (!ui->read_only)
        return true;
    sm_ui_message(ui, SM_LOGL_WARN, "read-only (%s): %s refused", ui->read_only_reason, what);
    return false;
}

bool sm_ui_outcome_unknown(const char *error_code)
{
    static const char *const unknown[] = {"CONNECTION_LOST", "TIMEOUT", "CLOSED", "CANCELLED"};
    for (size_t i = 0; error_code && i < sizeof unknown / sizeof *unknown; i++)
        if (strcmp(error_code, unknown[i]) == 0)
            return true;
    return false;
}

uint64_t sm_ui_new_token(sm_ui *ui)
{
    return ++ui->next_token;
}

static void set_selected(sm_ui *ui, const char *id)
{
    if (ui->selected == id)
        return;
    sm_intern_unref(sm_model_pool(ui->model), ui->selected);
    ui->selected = sm_intern_ref(id);
}

sm_row *sm_ui_selected_row(sm_ui *ui)
{
    return ui->selected ? sm_model_find(ui->model, ui->selected) : NULL;
}

const char *sm_ui_cell_text(const sm_row *row, const char *key, char *buf, size_t cap)
{
    if (strcmp(key, SM_COL_STATE) == 0) {
        switch (row->state) {
        case SM_STATE_ACTIVE: return "ACTIVE";
        case SM_STATE_DISCONNECTED: return "DISCONNECTED";
        case SM_STATE_CLOSED: return "CLOSED";
        default: return "?";
        }
    }
    const char *v = sm_row_get(row, key);
    if (!v)
        return "";
    if (strcmp(key, SM_PROP_START_TIME) == 0) {
        char *end;
        long long ms = strtoll(v, &end, 10);
        if (*v && *end == '\0' && sm_text_format_time(ms, true, buf, cap))
            return buf;
    }
    return v;
}

static const char *column_title(const char *key)
{
    return strcmp(key, SM_COL_STATE) == 0 ? "State" : key;
}

/* ---- columns ---- */

int sm_ui_column_index(const sm_ui *ui, const char *key)
{
    for (int i = 0; i < ui->ncols; i++)
        if (strcmp(ui->cols[i].key, key) == 0)
            return i;
    return -1;
}

bool sm_ui_column_add(sm_ui *ui, const char *key)
{
    if (ui->ncols >= SM_UI_MAX_COLUMNS || strlen(key) >= sizeof ui->cols[0].key || sm_ui_column_index(ui, key) >= 0)
        return false;
    sm_text_printf(ui->cols[ui->ncols].key, sizeof ui->cols[0].key, "%s", key);
    ui->cols[ui->ncols].width = 0;
    ui->ncols++;
    return true;
}

void sm_ui_column_remove(sm_ui *ui, int index)
{
    if (index < 0 || index >= ui->ncols)
        return;
    memmove(&ui->cols[index], &ui->cols[index + 1], (size_t)(ui->ncols - index - 1) * sizeof ui->cols[0]);
    ui->ncols--;
    if (ui->hscroll >= ui->ncols)
        ui->hscroll = ui->ncols > 1 ? ui->ncols - 1 : 0;
}

void sm_ui_reset_columns(sm_ui *ui)
{
    ui->ncols = 0;
    ui->hscroll = 0;
    ui->cols_custom = false;
    for (size_t i = 0; i < sizeof default_columns / sizeof *default_columns; i++)
        sm_ui_column_add(ui, default_columns[i]);
}

/* Until the user picks columns, user keys join the table as they are seen. */
static void auto_columns(sm_ui *ui)
{
    if (ui->cols_custom)
        return;
    int user = 0;
    for (int i = 0; i < ui->ncols; i++)
        if (!sm_key_is_fixed(ui->cols[i].key) && strcmp(ui->cols[i].key, SM_COL_STATE) != 0)
            user++;
    size_t nk = sm_model_key_count(ui->model);
    for (size_t i = 0; i < nk && user < SM_UI_AUTO_USER_COLUMNS; i++) {
        const sm_keystat *k = sm_model_key_at(ui->model, i);
        if (k->count == 0 || sm_key_is_fixed(k->key) || sm_ui_column_index(ui, k->key) >= 0)
            continue;
        if (sm_ui_column_add(ui, k->key))
            user++;
    }
}

static void reset_widths(sm_ui *ui)
{
    for (int i = 0; i < ui->ncols; i++)
        ui->cols[i].width = 0;
}

void sm_ui_sort_by(sm_ui *ui, const char *key)
{
    bool desc = false;
    if (strcmp(sm_view_sort_key(ui->view), key) == 0)
        desc = !sm_view_sort_descending(ui->view);
    sm_view_set_sort(ui->view, key, desc);
    ui->sel_offset = (int)(ui->cursor >= ui->top ? ui->cursor - ui->top : 0);
    sm_ui_message(ui, SM_LOGL_INFO, "sorted by %s, %s", column_title(key), desc ? "descending" : "ascending");
}

/* ---- life cycle ---- */

sm_ui *sm_ui_new(const sm_ui_options *opt, const sm_ui_backend *backend)
{
    sm_ui *ui = calloc(1, sizeof *ui);
    if (!ui)
        return NULL;
    ui->model = sm_model_new();
    ui->view = ui->model ? sm_view_new(ui->model) : NULL;
    if (!ui->view || sm_eventlog_init(&ui->log) != 0) {
        sm_view_free(ui->view);
        sm_model_free(ui->model);
        free(ui);
        return NULL;
    }
    if (backend)
        ui->backend = *backend;
    sm_text_printf(ui->url, sizeof ui->url, "%s", opt && opt->url ? opt->url : "");
    sm_text_printf(ui->principal, sizeof ui->principal, "%s", opt && opt->principal ? opt->principal : "");
    if (opt && opt->theme)
        ui->theme = *opt->theme;
    else
        sm_theme_builtin("default", &ui->theme);
    ui->allow_color = opt ? opt->allow_color : true;
    ui->mouse = opt ? opt->mouse : false;
    ui->nthemes = sm_theme_list(ui->themes, SM_UI_MAX_THEMES);
    sm_edit_init(&ui->edit);
    sm_bulk_init(&ui->bulk);
    sm_ui_reset_columns(ui);
    sm_view_set_sort(ui->view, SM_PROP_START_TIME, false);
    ui->conn = SM_CONN_CONNECTING;
    if (opt && opt->read_only)
        sm_ui_set_read_only(ui, "--read-only");
    if (opt && opt->filter && *opt->filter) {
        sm_error err;
        if (sm_view_set_filter(ui->view, opt->filter, &err) != SM_OK)
            sm_eventlog_add(&ui->log, 0, SM_LOGL_ERROR, "%s", err.message);
    }
    ui->dirty = true;
    return ui;
}

void sm_ui_free(sm_ui *ui)
{
    if (!ui)
        return;
    sm_bulk_free(ui, &ui->bulk);
    sm_edit_free(&ui->edit);
    sm_intern_unref(sm_model_pool(ui->model), ui->selected);
    sm_view_free(ui->view);
    sm_model_free(ui->model);
    sm_eventlog_free(&ui->log);
    free(ui);
}

void sm_ui_set_time(sm_ui *ui, uint64_t now_ms, int64_t wall_ms)
{
    ui->now = now_ms;
    ui->wall = wall_ms;
    if (!ui->conn_since) /* the first clock reading starts the first connection attempt */
        ui->conn_since = now_ms;
}

void sm_ui_set_connection(sm_ui *ui, sm_conn_state st, const char *detail)
{
    static const char *const names[] = {"connecting", "syncing", "live", "reconnecting", "closed"};
    if (st != ui->conn || strcmp(detail ? detail : "", ui->conn_detail) != 0) {
        sm_log_level level = st == SM_CONN_RECONNECTING || st == SM_CONN_CLOSED ? SM_LOGL_WARN : SM_LOGL_INFO;
        sm_eventlog_add(&ui->log, ui->wall, level, "connection: %s%s%s", names[st], detail && *detail ? ": " : "",
                        detail ? detail : "");
    }
    if (ui->conn == SM_CONN_LIVE && st != SM_CONN_LIVE)
        ui->stale_since = ui->wall; /* the figures on screen stop being current now */
    else if (st == SM_CONN_LIVE)
        ui->stale_since = 0;
    if (st != ui->conn || !ui->conn_since)
        ui->conn_since = ui->now ? ui->now : 1;
    if (st != ui->conn)
        sm_ui_set_connect_failure(ui, NULL, 0, -1); /* it belonged to the state left */
    ui->conn = st;
    sm_text_printf(ui->conn_detail, sizeof ui->conn_detail, "%s", detail ? detail : "");
    ui->dirty = true;
}

void sm_ui_set_connect_failure(sm_ui *ui, const char *reason, unsigned attempt, int next_retry_ms)
{
    sm_text_printf(ui->conn_failure, sizeof ui->conn_failure, "%s", reason ? reason : "");
    ui->conn_attempt = reason ? attempt : 0;
    ui->conn_retry_at = reason && next_retry_ms >= 0 ? ui->now + (uint64_t)next_retry_ms : 0;
    ui->header_due = ui->now; /* the countdown starts now */
    ui->dirty = true;
}

void sm_ui_set_session_info(sm_ui *ui, const char *server_name, const char *principal, bool can_modify)
{
    sm_text_printf(ui->server_name, sizeof ui->server_name, "%s", server_name ? server_name : "");
    if (principal)
        sm_text_printf(ui->principal, sizeof ui->principal, "%s", principal);
    ui->can_modify = can_modify;
    if (!can_modify)
        sm_ui_set_read_only(ui, "principal lacks modify_session");
    ui->dirty = true;
}

void sm_ui_set_read_only(sm_ui *ui, const char *reason)
{
    if (ui->read_only)
        return; /* the first reason stays; there is no way back */
    ui->read_only = true;
    sm_text_printf(ui->read_only_reason, sizeof ui->read_only_reason, "%s", reason);
    sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_INFO, "read-only mode: %s", reason);
    /* close anything that could change sessions */
    if (ui->pane == SM_PANE_EDIT || ui->pane == SM_PANE_BULK)
        ui->pane = SM_PANE_NONE;
    if (ui->form.kind != SM_FORM_NONE)
        sm_ui_close_form(ui);
    if (ui->prompt == SM_PROMPT_BULK_FILTER)
        ui->prompt = SM_PROMPT_NONE;
    ui->dirty = true;
}

/* ---- events ---- */

static const char *reason_name(sm_close_reason r)
{
    const char *n = sm_close_reason_name(r);
    return n ? n : "unknown reason";
}

void sm_ui_event(sm_ui *ui, const sm_event *ev)
{
    sm_error err;
    if (sm_model_apply(ui->model, ev, ui->now, &err) != SM_OK) {
        sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_WARN, "event ignored: %s", err.message);
        return;
    }
    ui->dirty = true;
    if (ev->snapshot)
        return;
    char id[80];
    sm_text_escape(ev->session_id, strlen(ev->session_id), id, sizeof id);
    switch (ev->type) {
    case SM_EVENT_OPEN:
        sm_eventlog_session(&ui->log, ui->wall, "session %s opened", id);
        break;
    case SM_EVENT_CLOSED:
        sm_eventlog_session(&ui->log, ui->wall, "session %s closed: %s", id, reason_name(ev->reason));
        break;
    case SM_EVENT_DISCONNECTED:
        sm_eventlog_session(&ui->log, ui->wall, "session %s disconnected", id);
        break;
    case SM_EVENT_RECONNECTED:
        sm_eventlog_session(&ui->log, ui->wall, "session %s reconnected", id);
        break;
    case SM_EVENT_FAILED_OVER:
        sm_eventlog_session(&ui->log, ui->wall, "session %s failed over", id);
        break;
    default:
        break;
    }
}

void sm_ui_resync_begin(sm_ui *ui)
{
    sm_model_resync_begin(ui->model, ui->now);
    ui->dirty = true;
}

void sm_ui_resync_end(sm_ui *ui, uint64_t count)
{
    size_t dropped = sm_model_resync_end(ui->model, ui->now);
    sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_INFO, "snapshot: %llu session%s", (unsigned long long)count,
                    count == 1 ? "" : "s");
    if (dropped)
        sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_INFO, "removed %zu sessions that closed while disconnected",
                        dropped);
    ui->dirty = true;
}

void sm_ui_reply(sm_ui *ui, uint64_t token, const char *error_code, const char *error_message, const sm_kv *changed,
                 size_t changed_count, uint64_t count)
{
    ui->dirty = true;
    if (sm_edit_reply(ui, token, error_code, error_message, changed, changed_count))
        return;
    sm_bulk_reply(ui, token, error_code, error_message, count);
}

/* ---- themes ---- */

void sm_ui_apply_theme(sm_ui *ui)
{
    sm_palette_apply(&ui->theme, ui->allow_color);
    wbkgdset(stdscr, ' ' | sm_palette_attr(SM_ROLE_DEFAULT) | COLOR_PAIR(sm_palette_pair(SM_ROLE_DEFAULT)));
    ui->dirty = true;
}

static void cycle_theme(sm_ui *ui, int dir)
{
    if (ui->nthemes == 0)
        return;
    size_t cur = 0;
    for (size_t i = 0; i < ui->nthemes; i++)
        if (strcmp(ui->themes[i], ui->theme.name) == 0)
            cur = i;
    for (size_t tries = 0; tries < ui->nthemes; tries++) {
        cur = (cur + ui->nthemes + (size_t)(dir > 0 ? 1 : ui->nthemes - 1)) % ui->nthemes;
        sm_theme t;
        sm_error err;
        sm_error_clear(&err);
        if (sm_theme_resolve(ui->themes[cur], &t, NULL, 0, &err) == SM_OK) {
            ui->theme = t;
            ui->allow_color = true; /* an explicit choice overrides NO_COLOR */
            sm_ui_apply_theme(ui);
            sm_ui_message(ui, SM_LOGL_INFO, "theme: %s (%s)", t.name, t.description);
            return;
        }
        sm_ui_message(ui, SM_LOGL_ERROR, "theme skipped: %s", err.message);
    }
}

/* ---- forms and prompts ---- */

void sm_ui_open_form(sm_ui *ui, sm_form_kind kind, const char *title, int nfields)
{
    memset(&ui->form, 0, sizeof ui->form);
    ui->form.kind = kind;
    sm_text_printf(ui->form.title, sizeof ui->form.title, "%s", title);
    ui->form.nfields = nfields;
    for (int i = 0; i < 2; i++)
        sm_line_init(&ui->form.field[i], 0);
    ui->dirty = true;
}

void sm_ui_close_form(sm_ui *ui)
{
    memset(&ui->form, 0, sizeof ui->form);
    ui->dirty = true;
}

bool sm_ui_form_wants_next_field(const sm_form *f)
{
    return f->nfields == 2 && f->focus == 0 && !f->locked[1] && f->field[1].len == 0;
}

void sm_ui_use_settings(sm_ui *ui, const sm_settings *st, const char *path)
{
    sm_text_printf(ui->settings_path, sizeof ui->settings_path, "%s", path ? path : "");
    if (!st)
        return;
    if (st->ncolumns > 0) { /* what the user saved last time */
        ui->ncols = 0;
        ui->hscroll = 0;
        for (int i = 0; i < st->ncolumns; i++)
            sm_ui_column_add(ui, st->columns[i]);
        ui->cols_custom = true;
    }
    if (st->sort_key[0])
        sm_view_set_sort(ui->view, st->sort_key, st->sort_descending);
    ui->dirty = true;
}

void sm_ui_ask_save_settings(sm_ui *ui)
{
    if (!ui->settings_path[0]) {
        sm_ui_message(ui, SM_LOGL_WARN, "no settings file: set HOME or XDG_CONFIG_HOME (or started with --no-settings)");
        return;
    }
    sm_ui_open_form(ui, SM_FORM_SETTINGS_SAVE, "Save the monitor settings", 0);
    sm_form *f = &ui->form;
    sm_text_printf(f->text[0], sizeof f->text[0], "Save the %d columns, the sort (%s) and the theme (%s) to:", ui->ncols,
                   sm_view_sort_key(ui->view), ui->theme.name);
    sm_text_printf(f->text[1], sizeof f->text[1], "  %s", ui->settings_path);
    sm_text_printf(f->text[2], sizeof f->text[2],
                   "The monitor reads them when it starts (not with --no-settings); nothing else is saved.");
    f->ok = true;
}

static void save_settings(sm_ui *ui)
{
    sm_settings st;
    memset(&st, 0, sizeof st);
    sm_text_printf(st.theme, sizeof st.theme, "%s", ui->theme.name);
    for (int i = 0; i < ui->ncols && i < SM_SETTINGS_MAX_COLUMNS; i++)
        sm_text_printf(st.columns[st.ncolumns++], sizeof st.columns[0], "%s", ui->cols[i].key);
    sm_text_printf(st.sort_key, sizeof st.sort_key, "%s", sm_view_sort_key(ui->view));
    st.sort_descending = sm_view_sort_descending(ui->view);
    sm_error err;
    sm_error_clear(&err);
    if (sm_settings_save(ui->settings_path, &st, &err) == SM_OK)
        sm_ui_message(ui, SM_LOGL_INFO, "settings saved to %s", ui->settings_path);
    else
        sm_ui_message(ui, SM_LOGL_ERROR, "settings not saved: %s", err.message);
}

static bool form_is_edit(sm_form_kind k)
{
    return k == SM_FORM_EDIT_ADD || k == SM_FORM_EDIT_CHANGE || k == SM_FORM_EDIT_DELETE || k == SM_FORM_EDIT_UNDO;
}

static void form_changed(sm_ui *ui)
{
    if (form_is_edit(ui->form.kind))
        sm_edit_form_changed(ui);
    else
        sm_bulk_form_changed(ui);
}

static void form_submit(sm_ui *ui)
{
    if (ui->form.kind == SM_FORM_QUIT) {
        sm_ui_close_form(ui);
        ui->quit = true;
        return;
    }
    if (ui->form.kind == SM_FORM_SETTINGS_SAVE) {
        sm_ui_close_form(ui);
        save_settings(ui);
        return;
    }
    if (form_is_edit(ui->form.kind))
        sm_edit_form_submit(ui);
    else
        sm_bulk_form_submit(ui);
}

static int32_t line_key(int32_t key)
{
    switch (key) {
    case SM_KEY_FN(KEY_LEFT): return SM_LK_LEFT;
    case SM_KEY_FN(KEY_RIGHT): return SM_LK_RIGHT;
    case SM_KEY_FN(KEY_HOME): case SM_KEY_CTRL('a'): return SM_LK_HOME;
    case SM_KEY_FN(KEY_END): case SM_KEY_CTRL('e'): return SM_LK_END;
    case SM_KEY_FN(KEY_BACKSPACE): case 127: case 8: return SM_LK_BACKSPACE;
    case SM_KEY_FN(KEY_DC): case SM_KEY_CTRL('d'): return SM_LK_DELETE;
    case SM_KEY_CTRL('u'): return SM_LK_KILL_LINE;
    case SM_KEY_CTRL('k'): return SM_LK_KILL_END;
    case SM_KEY_CTRL('w'): return SM_LK_KILL_WORD;
    default: return SM_KEY_IS_FN(key) ? 0 : key;
    }
}

static bool is_enter(int32_t key)
{
    return key == '\n' || key == '\r' || key == SM_KEY_FN(KEY_ENTER);
}

static void form_key(sm_ui *ui, int32_t key)
{
    sm_form *f = &ui->form;
    if (key == SM_KEY_ESC) {
        sm_ui_close_form(ui);
        sm_ui_message(ui, SM_LOGL_INFO, "cancelled");
        return;
    }
    if (f->nfields == 0) { /* a yes/no question: only 'y' says yes */
        if (key == 'y' || key == 'Y')
            form_submit(ui);
        else if (key == 'n' || key == 'N') {
            sm_ui_close_form(ui);
            sm_ui_message(ui, SM_LOGL_INFO, "cancelled");
        }
        return;
    }
    if (key == '\t' || key == SM_KEY_FN(KEY_BTAB) || key == SM_KEY_FN(KEY_UP) || key == SM_KEY_FN(KEY_DOWN)) {
        for (int i = 0; i < f->nfields; i++) {
            f->focus = (f->focus + 1) % f->nfields;
            if (!f->locked[f->focus])
                break;
        }
        form_changed(ui); /* the status line depends on the focus */
        return;
    }
    if (is_enter(key)) {
        if (sm_ui_form_wants_next_field(f)) { /* Enter after the key goes on to the value */
            f->focus = 1;
            form_changed(ui);
            return;
        }
        if (f->ok)
            form_submit(ui);
        else
            sm_ui_message(ui, SM_LOGL_WARN, "%s", f->status[0] ? f->status : "not ready");
        return;
    }
    if (f->locked[f->focus])
        return;
    if (sm_line_key(&f->field[f->focus], line_key(key)) == SM_LINE_CHANGED)
        form_changed(ui);
}

void sm_ui_start_prompt(sm_ui *ui, sm_prompt kind, const char *initial)
{
    ui->prompt = kind;
    sm_line_init(&ui->line, kind == SM_PROMPT_SEARCH ? SM_VIEW_SEARCH_MAX : SM_FILTER_MAX);
    sm_line_set(&ui->line, initial);
    sm_text_printf(ui->prompt_saved, sizeof ui->prompt_saved, "%s", initial ? initial : "");
    ui->prompt_error[0] = '\0';
    ui->prompt_error_column = 0;
    ui->dirty = true;
}

static void prompt_changed(sm_ui *ui)
{
    sm_error err;
    sm_error_clear(&err);
    switch (ui->prompt) {
    case SM_PROMPT_FILTER:
        if (sm_view_set_filter(ui->view, ui->line.buf, &err) != SM_OK) {
            sm_text_printf(ui->prompt_error, sizeof ui->prompt_error, "%s", err.message);
            ui->prompt_error_column = err.column;
        } else {
            ui->prompt_error[0] = '\0';
            ui->prompt_error_column = 0;
        }
        break;
    case SM_PROMPT_SEARCH:
        sm_view_set_search(ui->view, ui->line.buf);
        break;
    case SM_PROMPT_BULK_FILTER:
        sm_line_set(&ui->bulk.filter, ui->line.buf);
        sm_bulk_filter_changed(ui);
        break;
    default:
        break;
    }
}

static void prompt_key(sm_ui *ui, int32_t key)
{
    if (key == SM_KEY_ESC) { /* back to what was there before */
        sm_line_set(&ui->line, ui->prompt_saved);
        prompt_changed(ui);
        ui->prompt = SM_PROMPT_NONE;
        return;
    }
    if (is_enter(key)) {
        if (ui->prompt == SM_PROMPT_FILTER && ui->prompt_error[0]) {
            sm_ui_message(ui, SM_LOGL_WARN, "%s", ui->prompt_error);
            return; /* a filter that does not parse is never accepted */
        }
        if (ui->prompt == SM_PROMPT_FILTER)
            sm_ui_message(ui, SM_LOGL_INFO, "%s", ui->line.len ? "filter applied" : "filter cleared");
        ui->prompt = SM_PROMPT_NONE;
        return;
    }
    if (sm_line_key(&ui->line, line_key(key)) == SM_LINE_CHANGED)
        prompt_changed(ui);
}

/* ---- navigation ---- */

static void select_rank(sm_ui *ui, size_t rank)
{
    sm_row *r = sm_view_at(ui->view, rank);
    if (!r)
        return;
    ui->cursor = rank;
    set_selected(ui, r->id);
}

static int table_rows(const sm_ui *ui)
{
    return ui->table_h > 1 ? ui->table_h - 1 : 1;
}

static void move_cursor(sm_ui *ui, long delta, bool absolute)
{
    size_t n = sm_view_count(ui->view);
    if (n == 0)
        return;
    long c = absolute ? delta : (long)ui->cursor + delta;
    if (c < 0)
        c = 0;
    if (c >= (long)n)
        c = (long)n - 1;
    select_rank(ui, (size_t)c);
    int h = table_rows(ui);
    if (ui->cursor < ui->top)
        ui->top = ui->cursor;
    if (ui->cursor >= ui->top + (size_t)h)
        ui->top = ui->cursor - (size_t)h + 1;
    ui->sel_offset = (int)(ui->cursor - ui->top);
    ui->inspect_scroll = 0;
}

/* Keeps the cursor on the session it follows, at the same screen line when possible. */
static void follow_cursor(sm_ui *ui, int h)
{
    size_t n = sm_view_count(ui->view);
    if (n == 0) {
        ui->cursor = ui->top = 0;
        return;
    }
    sm_row *r = sm_ui_selected_row(ui);
    size_t rank;
    if (r && sm_view_rank(ui->view, r, &rank)) {
        ui->cursor = rank;
    } else { /* it left the view: take its place */
        if (ui->cursor >= n)
            ui->cursor = n - 1;
        select_rank(ui, ui->cursor);
    }
    if (h < 1)
        h = 1;
    long top = (long)ui->cursor - ui->sel_offset;
    if (top > (long)n - h)
        top = (long)n - h;
    if (top < 0)
        top = 0;
    if ((long)ui->cursor < top)
        top = (long)ui->cursor;
    if ((long)ui->cursor >= top + h)
        top = (long)ui->cursor - h + 1;
    ui->top = (size_t)top;
    ui->sel_offset = (int)(ui->cursor - ui->top);
}

static void sort_step(sm_ui *ui, int dir)
{
    if (ui->ncols == 0)
        return;
    int i = sm_ui_column_index(ui, sm_view_sort_key(ui->view));
    i = i < 0 ? 0 : (i + ui->ncols + dir) % ui->ncols;
    sm_view_set_sort(ui->view, ui->cols[i].key, false);
    sm_ui_message(ui, SM_LOGL_INFO, "sorted by %s, ascending", column_title(ui->cols[i].key));
}

static sm_ctx pane_ctx(const sm_ui *ui)
{
    if (ui->help)
        return SM_CTX_HELP;
    switch (ui->pane) {
    case SM_PANE_EDIT: return SM_CTX_EDIT;
    case SM_PANE_BULK: return SM_CTX_BULK;
    case SM_PANE_LOG: return SM_CTX_LOG;
    case SM_PANE_COLUMNS: return SM_CTX_COLUMNS;
    default: return SM_CTX_TABLE;
    }
}

static void toggle_pane(sm_ui *ui, sm_pane p)
{
    ui->pane = ui->pane == p ? SM_PANE_NONE : p;
    if (p == SM_PANE_LOG)
        ui->log_scroll = 0;
    if (p == SM_PANE_INSPECT)
        ui->inspect_scroll = 0;
    if (p == SM_PANE_COLUMNS)
        ui->col_cursor = 0;
}

/* Quitting while changes are in flight leaves their outcome unseen (and an undo half done):
 * ask first then, and only then. */
static void quit_or_ask(sm_ui *ui)
{
    const sm_bulk *b = &ui->bulk;
    char what[200] = "";
    if (b->undo_running)
        sm_text_printf(what, sizeof what, "A bulk undo is running (%zu of %zu sessions restored so far).", b->undo_done,
                       b->undo_sessions);
    else if (b->pending)
        sm_text_printf(what, sizeof what, "A bulk update is waiting for the server's answer.");
    else if (ui->edit.pending)
        sm_text_printf(what, sizeof what, "An edit is waiting for the server's answer.");
    if (!what[0]) {
        ui->quit = true;
        return;
    }
    sm_ui_open_form(ui, SM_FORM_QUIT, "Quit now?", 0);
    sm_text_printf(ui->form.text[0], sizeof ui->form.text[0], "%s", what);
    sm_text_printf(ui->form.text[1], sizeof ui->form.text[1],
                   "Quitting now stops it and you will not see how it ended.");
    ui->form.danger = true;
    ui->form.ok = true;
}

static void table_action(sm_ui *ui, sm_action a)
{
    int page = table_rows(ui);
    switch (a) {
    case SM_ACT_QUIT: quit_or_ask(ui); break;
    case SM_ACT_HELP: ui->help = true; ui->help_scroll = 0; break;
    case SM_ACT_UP: move_cursor(ui, -1, false); break;
    case SM_ACT_DOWN: move_cursor(ui, 1, false); break;
    case SM_ACT_PGUP: move_cursor(ui, -page, false); break;
    case SM_ACT_PGDN: move_cursor(ui, page, false); break;
    case SM_ACT_HOME: move_cursor(ui, 0, true); break;
    case SM_ACT_END: move_cursor(ui, (long)sm_view_count(ui->view) - 1, true); break;
    case SM_ACT_SCROLL_LEFT:
        if (ui->hscroll > 0)
            ui->hscroll--;
        break;
    case SM_ACT_SCROLL_RIGHT:
        if (ui->hscroll < ui->ncols - 2)
            ui->hscroll++;
        break;
    case SM_ACT_SEARCH: sm_ui_start_prompt(ui, SM_PROMPT_SEARCH, sm_view_search(ui->view)); break;
    case SM_ACT_FILTER: sm_ui_start_prompt(ui, SM_PROMPT_FILTER, sm_view_filter_text(ui->view)); break;
    case SM_ACT_ESCAPE:
        if (ui->pane != SM_PANE_NONE) {
            ui->pane = SM_PANE_NONE;
        } else if (sm_view_search(ui->view)[0]) {
            sm_view_set_search(ui->view, "");
            sm_ui_message(ui, SM_LOGL_INFO, "search cleared");
        } else if (sm_view_filter_text(ui->view)[0]) {
            sm_view_set_filter(ui->view, NULL, NULL);
            sm_ui_message(ui, SM_LOGL_INFO, "filter cleared");
        }
        break;
    case SM_ACT_SORT_NEXT: sort_step(ui, 1); break;
    case SM_ACT_SORT_PREV: sort_step(ui, -1); break;
    case SM_ACT_SORT_REVERSE:
        sm_view_set_sort(ui->view, sm_view_sort_key(ui->view), !sm_view_sort_descending(ui->view));
        sm_ui_message(ui, SM_LOGL_INFO, "sort order: %s", sm_view_sort_descending(ui->view) ? "descending" : "ascending");
        break;
    case SM_ACT_PAUSE:
        sm_view_set_paused(ui->view, !sm_view_paused(ui->view));
        sm_ui_message(ui, SM_LOGL_INFO, "%s", sm_view_paused(ui->view) ? "paused: changes queue up (p resumes)" : "resumed");
        break;
    case SM_ACT_INSPECT: toggle_pane(ui, SM_PANE_INSPECT); break;
    case SM_ACT_INSPECT_SCROLL_UP:
        if (ui->inspect_scroll > 0)
            ui->inspect_scroll--;
        break;
    case SM_ACT_INSPECT_SCROLL_DOWN: ui->inspect_scroll++; break;
    case SM_ACT_EDIT:
        if (sm_ui_guard_write(ui, "editing"))
            sm_edit_open(ui);
        break;
    case SM_ACT_BULK:
        if (sm_ui_guard_write(ui, "bulk update"))
            sm_bulk_open(ui);
        break;
    case SM_ACT_LOG: toggle_pane(ui, SM_PANE_LOG); break;
    case SM_ACT_COLUMNS: toggle_pane(ui, SM_PANE_COLUMNS); break;
    case SM_ACT_THEME_NEXT: cycle_theme(ui, 1); break;
    case SM_ACT_THEME_PREV: cycle_theme(ui, -1); break;
    case SM_ACT_REDRAW: clearok(curscr, TRUE); break;
    case SM_ACT_CLOSE: ui->pane = SM_PANE_NONE; break;
    default: break;
    }
}

/* The one dispatch point: look the key up for the focused pane and apply the allow-list. */
static void dispatch(sm_ui *ui, int32_t key)
{
    sm_ctx ctx = pane_ctx(ui);
    const sm_binding *b = sm_keys_lookup(ctx, key);
    if (!b)
        return;
    if (!sm_keys_allowed(b, ui->read_only)) {
        sm_ui_message(ui, SM_LOGL_WARN, "%s refused: read-only (%s)", b->bar ? b->bar : b->label,
                      ui->read_only_reason);
        return;
    }
    bool handled = false;
    if (b->ctx == ctx) {
        switch (ctx) {
        case SM_CTX_HELP: handled = sm_help_action(ui, b->action); break;
        case SM_CTX_EDIT: handled = sm_edit_action(ui, b->action); break;
        case SM_CTX_BULK: handled = sm_bulk_action(ui, b->action); break;
        case SM_CTX_LOG: handled = sm_log_action(ui, b->action); break;
        case SM_CTX_COLUMNS: handled = sm_columns_action(ui, b->action); break;
        default: break;
        }
    }
    if (!handled)
        table_action(ui, b->action);
}

/* ---- mouse ---- */

static void scroll_wheel(sm_ui *ui, int dir)
{
    sm_ctx ctx = pane_ctx(ui);
    sm_action a = dir < 0 ? SM_ACT_UP : SM_ACT_DOWN;
    if (ctx == SM_CTX_BULK) { /* the preview, not the map */
        size_t *s = &ui->bulk.preview_scroll;
        *s = dir < 0 ? (*s > 3 ? *s - 3 : 0) : (*s + 3 < ui->bulk.npreview ? *s + 3 : *s);
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (ctx == SM_CTX_HELP)
            sm_help_action(ui, a);
        else if (ctx == SM_CTX_LOG)
            sm_log_action(ui, a);
        else if (ctx == SM_CTX_COLUMNS)
            sm_columns_action(ui, a);
        else if (ctx == SM_CTX_EDIT)
            sm_edit_action(ui, a);
        else if (ctx == SM_CTX_TABLE)
            table_action(ui, a);
    }
}

static void handle_mouse(sm_ui *ui)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    if (ev.bstate & BUTTON4_PRESSED) {
        scroll_wheel(ui, -1);
        return;
    }
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED) {
        scroll_wheel(ui, 1);
        return;
    }
#endif
    if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
        return;
    if (ev.y == ui->screen_rows - 1) { /* key bar: same as pressing the key */
        for (int i = 0; i < nbar_hits; i++)
            if (ev.x >= bar_hits[i].x0 && ev.x < bar_hits[i].x1) {
                if (ui->form.kind == SM_FORM_NONE && ui->prompt == SM_PROMPT_NONE)
                    dispatch(ui, bar_hits[i].key);
                return;
            }
        return;
    }
    if (ui->help || ui->form.kind != SM_FORM_NONE || ui->prompt != SM_PROMPT_NONE)
        return;
    if (ui->table_h > 0 && ev.y == ui->table_y) { /* column title: sort */
        for (int i = 0; i < ui->ncols; i++)
            if (ui->col_x[i] >= 0 && ev.x >= ui->col_x[i] && ev.x < ui->col_x[i] + ui->cols[i].width + 1) {
                sm_ui_sort_by(ui, ui->cols[i].key);
                return;
            }
        return;
    }
    if (ui->table_h > 1 && ev.y > ui->table_y && ev.y < ui->table_y + ui->table_h) {
        size_t rank = ui->top + (size_t)(ev.y - ui->table_y - 1);
        if (rank < sm_view_count(ui->view)) {
            select_rank(ui, rank);
            ui->sel_offset = (int)(ui->cursor - ui->top);
            sm_edit_retarget(ui, ui->selected); /* an explicit pick moves the edit pane too */
        }
        return;
    }
    /* pane lists: the line clicked, counted from the first line the pane drew */
    if (ui->pane == SM_PANE_COLUMNS && ev.y > ui->pane_y && ev.y < ui->pane_y + ui->pane_h) {
        ui->col_cursor = ui->col_top + (ev.y - ui->pane_y - 1);
        return;
    }
    if (ui->pane == SM_PANE_EDIT && ev.y > ui->pane_y + 1 && ev.y < ui->pane_y + ui->pane_h) {
        ui->edit.cursor = ui->edit.top + (size_t)(ev.y - ui->pane_y - 2);
        ui->edit.cursor_key[0] = '\0';
    }
}

/* ---- keys ---- */

void sm_ui_key(sm_ui *ui, int32_t key)
{
    ui->dirty = true;
    if (key == SM_KEY_FN(KEY_RESIZE)) {
        sm_ui_resized(ui);
        return;
    }
    if (key == SM_KEY_FN(KEY_MOUSE)) {
        if (!ui->too_small)
            handle_mouse(ui);
        return;
    }
    if (ui->too_small) { /* only quit works on a screen too small to show anything */
        if (key == 'q' || key == SM_KEY_FN(KEY_F(10)))
            ui->quit = true;
        return;
    }
    if (ui->form.kind != SM_FORM_NONE) {
        form_key(ui, key);
        return;
    }
    if (ui->prompt != SM_PROMPT_NONE) {
        prompt_key(ui, key);
        return;
    }
    dispatch(ui, key);
}

void sm_ui_resized(sm_ui *ui)
{
    reset_widths(ui);
    ui->dirty = true;
}

/* While the header counts down to the next connection attempt: ms left (> 0), else 0. */
static int64_t retry_countdown_ms(const sm_ui *ui)
{
    bool failing = ui->conn_failure[0] && (ui->conn == SM_CONN_CONNECTING || ui->conn == SM_CONN_RECONNECTING);
    return failing && ui->conn_retry_at > ui->now ? (int64_t)(ui->conn_retry_at - ui->now) : 0;
}

int64_t sm_ui_tick(sm_ui *ui)
{
    /* marks and fading rows need a repaint when they change, not every frame */
    int64_t m = sm_model_tick(ui->model, ui->now);
    if (m >= 0 && (ui->mark_due == 0 || ui->mark_due > ui->now + (uint64_t)m))
        ui->mark_due = ui->now + (uint64_t)m;
    if (ui->mark_due && ui->now >= ui->mark_due) {
        ui->dirty = true;
        ui->mark_due = 0;
    }
    if (ui->now >= ui->header_due) {
        ui->dirty = true;
        ui->header_due = ui->now + (retry_countdown_ms(ui) > 0 ? HEADER_COUNTDOWN_MS : 1000);
    }
    int64_t next = (int64_t)(ui->header_due - ui->now);
    if (ui->mark_due && (int64_t)(ui->mark_due - ui->now) < next)
        next = (int64_t)(ui->mark_due - ui->now);
    int64_t b = sm_bulk_tick(ui);
    if (b >= 0 && b < next)
        next = b;
    if (ui->message[0]) {
        if (ui->now >= ui->message_until) {
            ui->message[0] = '\0';
            ui->dirty = true;
        } else if ((int64_t)(ui->message_until - ui->now) < next) {
            next = (int64_t)(ui->message_until - ui->now);
        }
    }
    if (sm_model_dirty_count(ui->model) > 0 && !sm_view_paused(ui->view))
        ui->dirty = true;
    return next;
}

/* ---- painting ---- */

static void draw_header(sm_ui *ui)
{
    int w = ui->screen_cols;
    char buf[512];
    sm_ui_fill(0, 0, w, SM_ROLE_HEADER);
    int x = seg(0, 0, w, " sessmon ", SM_ROLE_HEADER_VALUE);
    if (sm_view_paused(ui->view)) {
        sm_text_printf(buf, sizeof buf, " PAUSED %zu queued ", sm_view_pending(ui->view));
        x = seg(0, x, w, buf, SM_ROLE_BADGE_PAUSED);
    } else if (ui->conn != SM_CONN_LIVE && ui->conn != SM_CONN_SYNCING) {
        x = seg(0, x, w, " STALE ", SM_ROLE_BADGE_PAUSED); /* what is shown is not being updated */
    } else {
        x = seg(0, x, w, " LIVE ", SM_ROLE_BADGE_LIVE);
    }
    if (ui->read_only) {
        sm_text_printf(buf, sizeof buf, " READ-ONLY (%s) ", ui->read_only_reason);
        x = seg(0, x + 1, w, buf, SM_ROLE_BADGE_READONLY);
    }
    static const char *const conn_names[] = {"connecting", "syncing", "connected", "reconnecting", "disconnected"};
    bool ok = ui->conn == SM_CONN_LIVE;
    int conn_role = ok ? SM_ROLE_CONN_OK : SM_ROLE_CONN_BAD;
    /* why the last attempt failed and when the next one comes, as long as the library retries */
    bool failing = ui->conn_failure[0] && (ui->conn == SM_CONN_CONNECTING || ui->conn == SM_CONN_RECONNECTING);
    sm_text_printf(buf, sizeof buf, " %s%s%s", utf8_ok() ? "\u25cf " : "", conn_names[ui->conn], failing ? ": " : " ");
    x = seg(0, x + 1, w, buf, conn_role);
    if (failing) {
        char tail[96];
        size_t off = sm_text_printf(tail, sizeof tail, " %s attempt %u", utf8_ok() ? "\u2014" : "-", ui->conn_attempt);
        int64_t left = retry_countdown_ms(ui);
        if (left >= 10000)
            sm_text_printf(tail + off, sizeof tail - off, ", next in %lld s ", (long long)((left + 999) / 1000));
        else if (left > 0)
            sm_text_printf(tail + off, sizeof tail - off, ", next in %lld.%lld s ", (long long)((left + 99) / 100 / 10),
                           (long long)((left + 99) / 100 % 10));
        else
            sm_text_printf(tail + off, sizeof tail - off, "%s ", ui->conn_retry_at ? ", retrying now" : "");
        /* the reason gives way first: beyond its first columns to the counts and the age of
         * the figures, then entirely to the attempt and the countdown */
        int tail_w = sm_text_width(tail, strlen(tail));
        int room = w - x - tail_w - HEADER_KEEP_COLS;
        if (room < HEADER_REASON_MIN_COLS)
            room = w - x - tail_w < HEADER_REASON_MIN_COLS ? w - x - tail_w : HEADER_REASON_MIN_COLS;
        x = seg(0, x, x + room, ui->conn_failure, conn_role);
        x = seg(0, x, w, tail, conn_role);
    }
    size_t open = sm_model_open_count(ui->model);
    size_t disc = sm_model_disconnected_count(ui->model);
    size_t off = sm_text_printf(buf, sizeof buf, " %zu session%s", open, open == 1 ? "" : "s");
    if (disc)
        sm_text_printf(buf + off, sizeof buf - off, " (%zu disconnected)", disc);
    x = seg(0, x, w, buf, SM_ROLE_HEADER_VALUE);
    bool stale = ui->conn != SM_CONN_LIVE && ui->conn != SM_CONN_SYNCING;
    char t[16];
    if (stale && ui->stale_since > 0 && sm_text_format_time(ui->stale_since, true, t, sizeof t)) {
        sm_text_printf(buf, sizeof buf, " as of %s", t); /* how old the figures on screen are */
        x = seg(0, x, w, buf, SM_ROLE_CONN_BAD);
    } else {
        sm_text_printf(buf, sizeof buf, " %.0f ev/s", sm_model_event_rate(ui->model, ui->now));
        x = seg(0, x, w, buf, SM_ROLE_HEADER);
    }
    /* while the connection is not live, why comes before who and where (a failed attempt,
     * shown above, is the newer why) */
    if (ui->conn_detail[0] && ui->conn != SM_CONN_LIVE && !failing) {
        sm_text_printf(buf, sizeof buf, " %s", ui->conn_detail);
        x = seg(0, x, w, buf, SM_ROLE_CONN_BAD);
    }
    /* a connection attempt that gets no answer gives no reason: at least say for how long */
    if ((ui->conn == SM_CONN_CONNECTING || ui->conn == SM_CONN_RECONNECTING) && ui->conn_since &&
        ui->now >= ui->conn_since + 3000) {
        sm_text_printf(buf, sizeof buf, " (%llu s)", (unsigned long long)((ui->now - ui->conn_since) / 1000));
        x = seg(0, x, w, buf, SM_ROLE_CONN_BAD);
    }
    sm_text_printf(buf, sizeof buf, " %s@%s%s%s%s", ui->principal[0] ? ui->principal : "(anonymous)", ui->url,
             ui->server_name[0] ? " (" : "", ui->server_name, ui->server_name[0] ? ")" : "");
    seg(0, x, w, buf, SM_ROLE_HEADER);

    /* second line: what the table shows */
    sm_ui_fill(1, 0, w, SM_ROLE_DEFAULT);
    x = 0;
    if (ui->prompt == SM_PROMPT_FILTER && ui->prompt_error[0]) {
        sm_text_printf(buf, sizeof buf, " %s ", ui->prompt_error);
        seg(1, 0, w, buf, SM_ROLE_FILTER_ERROR);
        return;
    }
    /* "Shown" is the count that matters most: when the line is too narrow the rest gives way */
    size_t shown = sm_view_count(ui->view), closing = sm_view_closing_count(ui->view);
    char shown_text[96], closing_text[48] = "";
    sm_text_printf(shown_text, sizeof shown_text, "  Shown: %zu of %zu", shown - (closing < shown ? closing : shown),
                   sm_model_open_count(ui->model));
    if (closing)
        sm_text_printf(closing_text, sizeof closing_text, " (+%zu closing)", closing);
    const char *filter = sm_view_filter_text(ui->view);
    const char *search = sm_view_search(ui->view);
    char sort[SM_KEY_MAX + 32];
    sm_text_printf(sort, sizeof sort, "  Sort: %s %s", column_title(sm_view_sort_key(ui->view)),
                   sm_view_sort_descending(ui->view) ? (utf8_ok() ? "\u25bc" : "v") : (utf8_ok() ? "\u25b2" : "^"));
    int sw = sm_text_width(shown_text, strlen(shown_text)) + sm_text_width(closing_text, strlen(closing_text));
    int lw = (filter[0] ? 9 + sm_text_width(filter, strlen(filter)) : 13) +
             (search[0] ? 10 + sm_text_width(search, strlen(search)) : 0) + sm_text_width(sort, strlen(sort));
    int lim = lw + sw <= w || sw >= w ? w : w - sw;
    if (filter[0]) {
        x = seg(1, x, lim, " Filter: ", SM_ROLE_FILTER_OK);
        x = seg(1, x, lim, filter, SM_ROLE_FILTER_OK);
    } else {
        x = seg(1, x, lim, " Filter: none", SM_ROLE_DEFAULT);
    }
    if (search[0]) {
        x = seg(1, x, lim, "  Search: ", SM_ROLE_FILTER_OK);
        x = seg(1, x, lim, search, SM_ROLE_FILTER_OK);
    }
    x = seg(1, x, lim, sort, SM_ROLE_DEFAULT);
    x = seg(1, x, w, shown_text, SM_ROLE_DEFAULT);
    seg(1, x, w, closing_text, SM_ROLE_ROW_CLOSING);
}

static sm_role row_role(const sm_ui *ui, const sm_row *r, size_t rank, bool selected)
{
    if (selected)
        return SM_ROLE_ROW_SELECTED;
    if (r->state == SM_STATE_CLOSED || r->dead) { /* fades out in three steps, then leaves */
        double f = r->dead ? 1.0 : sm_row_fade(r, ui->now);
        return f < 1.0 / 3 ? SM_ROLE_ROW_CLOSING : SM_PALETTE_FADE(f < 2.0 / 3 ? 0 : 1);
    }
    if (r->state == SM_STATE_DISCONNECTED)
        return SM_ROLE_ROW_DISCONNECTED;
    if (sm_row_is_new(r, ui->now))
        return SM_ROLE_ROW_NEW;
    return (rank & 1) ? SM_ROLE_ROW_ALT : SM_ROLE_ROW;
}

static const char *row_mark(const sm_ui *ui, const sm_row *r)
{
    if (r->state == SM_STATE_CLOSED || r->dead)
        return "x";
    if (r->state == SM_STATE_DISCONNECTED)
        return "~";
    if (sm_row_is_new(r, ui->now))
        return "+";
    if (r->t_changed && r->t_changed + SM_MODEL_HIGHLIGHT_MS > ui->now)
        return "*";
    return " ";
}

/* Decides which columns fit: column 0 is pinned, then from hscroll on. */
static void plan_columns(sm_ui *ui, int w)
{
    for (int i = 0; i <= SM_UI_MAX_COLUMNS; i++)
        ui->col_x[i] = -1;
    int x = MARK_WIDTH;
    for (int i = 0; i < ui->ncols && x < w; i++) {
        if (i > 0 && i < ui->hscroll + 1 && ui->hscroll > 0)
            continue;
        ui->col_x[i] = x;
        x += ui->cols[i].width + 1;
    }
}

static void measure_columns(sm_ui *ui, size_t first, int nrows)
{
    char buf[64];
    for (int c = 0; c < ui->ncols; c++) {
        int wmax = strcmp(ui->cols[c].key, SM_PROP_SESSION_ID) == 0 ? ID_MAX_WIDTH : COL_MAX_WIDTH;
        const char *title = column_title(ui->cols[c].key);
        int w = sm_text_width(title, strlen(title)) + 2; /* room for the sort arrow */
        if (w > wmax)
            w = wmax;
        if (ui->cols[c].width < w)
            ui->cols[c].width = w;
        for (int i = 0; i < nrows; i++) {
            sm_row *r = sm_view_at(ui->view, first + (size_t)i);
            if (!r)
                break;
            const char *t = sm_ui_cell_text(r, ui->cols[c].key, buf, sizeof buf);
            int tw = sm_text_width(t, strlen(t));
            if (tw > wmax)
                tw = wmax;
            if (tw > ui->cols[c].width)
                ui->cols[c].width = tw;
        }
    }
}

static void draw_table(sm_ui *ui, int y, int h)
{
    int w = ui->screen_cols;
    ui->table_y = y;
    ui->table_h = h;
    if (h <= 0)
        return;
    int nrows = h - 1;
    follow_cursor(ui, nrows);
    measure_columns(ui, ui->top, nrows);
    plan_columns(ui, w);

    /* titles */
    sm_ui_fill(y, 0, w, SM_ROLE_TABLE_HEADER);
    const char *sort_key = sm_view_sort_key(ui->view);
    for (int c = 0; c < ui->ncols; c++) {
        int x = ui->col_x[c];
        if (x < 0 || x >= w)
            continue;
        char title[SM_KEY_MAX + 16];
        bool sorted = strcmp(ui->cols[c].key, sort_key) == 0;
        sm_text_printf(title, sizeof title, "%s%s", column_title(ui->cols[c].key),
                 !sorted ? ""
                 : sm_view_sort_descending(ui->view) ? (utf8_ok() ? "\u25bc" : "v")
                                                      : (utf8_ok() ? "\u25b2" : "^"));
        int cw = ui->cols[c].width < w - x ? ui->cols[c].width : w - x;
        sm_ui_str(y, x, cw, title, sorted ? SM_ROLE_TABLE_SORTED : SM_ROLE_TABLE_HEADER);
    }

    /* rows: only the visible ones are touched */
    char buf[64];
    size_t n = sm_view_count(ui->view);
    for (int i = 0; i < nrows; i++) {
        int ry = y + 1 + i;
        size_t rank = ui->top + (size_t)i;
        if (rank >= n) {
            sm_ui_fill(ry, 0, w, SM_ROLE_DEFAULT);
            continue;
        }
        sm_row *r = sm_view_at(ui->view, rank);
        bool sel = ui->selected && r->id == ui->selected;
        sm_role role = row_role(ui, r, rank, sel);
        sm_ui_fill(ry, 0, w, role);
        sm_ui_str(ry, 0, 1, row_mark(ui, r), role);
        bool recent = r->t_changed && r->t_changed + SM_MODEL_HIGHLIGHT_MS > ui->now && r->state != SM_STATE_CLOSED &&
                      !r->dead;
        for (int c = 0; c < ui->ncols; c++) {
            int x = ui->col_x[c];
            if (x < 0 || x >= w)
                continue;
            int cw = ui->cols[c].width < w - x ? ui->cols[c].width : w - x;
            const char *t = sm_ui_cell_text(r, ui->cols[c].key, buf, sizeof buf);
            sm_role cr = role;
            if (!sel && recent && sm_row_key_recent(r, ui->cols[c].key, ui->now))
                cr = SM_ROLE_CELL_CHANGED;
            sm_ui_text(ry, x, cw, t, strlen(t), cr);
        }
    }
    if (n == 0 && nrows > 0) {
        const char *msg = sm_model_rows(ui->model) == 0
                              ? (ui->conn == SM_CONN_LIVE ? "no sessions" : "waiting for the server...")
                              : "no session matches the filter or search (Esc clears)";
        sm_ui_str(y + 1, MARK_WIDTH, w - MARK_WIDTH, msg, SM_ROLE_DEFAULT);
    }
}

/* Draws a line editor's text in w columns with a visible cursor cell and an error column. */
static void draw_line_editor(int y, int x, int w, const sm_line *l, size_t error_column)
{
    if (w <= 1)
        return;
    size_t start = 0;
    int before = sm_text_width(l->buf, l->cur);
    while (before > w - 2 && start < l->cur) {
        size_t next = sm_text_next_char(l->buf, l->len, start);
        before -= sm_text_width(l->buf + start, next - start);
        start = next;
    }
    sm_ui_text(y, x, w, l->buf + start, l->len - start, SM_ROLE_PROMPT);
    if (error_column > 0 && error_column - 1 >= start && error_column - 1 <= l->len) {
        size_t at = error_column - 1;
        int ex = x + sm_text_width(l->buf + start, at - start);
        size_t end = at < l->len ? sm_text_next_char(l->buf, l->len, at) : at;
        if (ex < x + w)
            sm_ui_text(y, ex, 1, at < l->len ? l->buf + at : " ", at < l->len ? end - at : 1, SM_ROLE_FILTER_ERROR);
    }
    int cx = x + sm_text_width(l->buf + start, l->cur - start);
    if (cx < x + w) {
        size_t end = l->cur < l->len ? sm_text_next_char(l->buf, l->len, l->cur) : l->cur;
        const char *c = l->cur < l->len ? l->buf + l->cur : " ";
        size_t clen = l->cur < l->len ? end - l->cur : 1;
        int cw = sm_text_width(c, clen);
        sm_ui_text(y, cx, cw > 0 ? cw : 1, c, clen, SM_ROLE_PROMPT);
        mvwchgat(stdscr, y, cx, cw > 0 ? cw : 1, sm_palette_attr(SM_ROLE_PROMPT) | A_REVERSE,
                 sm_palette_pair(SM_ROLE_PROMPT), NULL);
    }
}

static void draw_status(sm_ui *ui, int y)
{
    int w = ui->screen_cols;
    if (ui->prompt != SM_PROMPT_NONE) {
        const char *label = ui->prompt == SM_PROMPT_FILTER   ? "Filter> "
                            : ui->prompt == SM_PROMPT_SEARCH ? "Search> "
                                                             : "Bulk filter> ";
        sm_ui_fill(y, 0, w, SM_ROLE_PROMPT);
        int x = seg(y, 0, w, label, ui->prompt_error[0] ? SM_ROLE_FILTER_ERROR : SM_ROLE_PROMPT);
        size_t errcol = ui->prompt == SM_PROMPT_FILTER ? ui->prompt_error_column : 0;
        if (ui->prompt == SM_PROMPT_BULK_FILTER && !ui->bulk.parsed && ui->bulk.filter.len)
            errcol = ui->bulk.error.column;
        draw_line_editor(y, x, w - x, &ui->line, errcol);
        return;
    }
    if (ui->message[0]) {
        sm_role r = ui->message_level == SM_LOGL_ERROR  ? SM_ROLE_LOG_ERROR
                    : ui->message_level == SM_LOGL_WARN ? SM_ROLE_LOG_WARN
                                                        : SM_ROLE_STATUS;
        char buf[340];
        sm_text_printf(buf, sizeof buf, " %s", ui->message);
        sm_ui_str(y, 0, w, buf, r);
        return;
    }
    const char *hint;
    if (ui->help) {
        sm_ui_str(y, 0, w, " Esc close  Up/Down/PgUp/PgDn/Space scroll", SM_ROLE_STATUS);
        return;
    }
    switch (ui->pane) {
    case SM_PANE_EDIT: hint = " a add  Enter change  d delete  u undo  Esc close  ? help"; break;
    case SM_PANE_BULK: hint = " f filter  a set  x delete  d remove  A apply  u undo  Esc close  ? help"; break;
    case SM_PANE_COLUMNS: hint = " Space show/hide  K/J move  s sort  r reset  w save  Esc close"; break;
    case SM_PANE_LOG: hint = " Up/Down PgUp/PgDn scroll  End follow  s session lines  Esc close"; break;
    default:
        hint = ui->read_only ? " / search  f filter  Enter inspect  c columns  p pause  t theme  ? help  q quit"
                             : " / search  f filter  Enter inspect  e edit  b bulk  p pause  t theme  ? help  q quit";
    }
    char compact[200];
    if (sm_text_width(hint, strlen(hint)) > w) { /* one space between the entries instead of two */
        size_t n = 0;
        for (const char *p = hint; *p && n + 1 < sizeof compact; p++)
            if (!(p[0] == ' ' && p[1] == ' ' && p != hint))
                compact[n++] = *p;
        compact[n] = '\0';
        hint = compact;
    }
    sm_ui_str(y, 0, w, hint, SM_ROLE_STATUS);
}

static void draw_keybar(sm_ui *ui, int y)
{
    int w = ui->screen_cols;
    sm_ui_fill(y, 0, w, SM_ROLE_KEYBAR_LABEL);
    int x = 0;
    nbar_hits = 0;
    /* labels padded into even cells when they all fit so, else packed (all ten fit in 80 columns) */
    int padded = 0;
    for (size_t i = 0; i < sm_keys_count(); i++) {
        const sm_binding *b = sm_keys_at(i);
        if (b->flags & SM_KEYF_BAR) {
            int lw = (int)strlen(b->bar);
            padded += (b->keys[0] >= SM_KEY_FN(KEY_F(10)) ? 3 : 2) + (lw > 6 ? lw : 6) + 1;
        }
    }
    bool pad = padded <= w;
    for (size_t i = 0; i < sm_keys_count() && x < w; i++) {
        const sm_binding *b = sm_keys_at(i);
        if (!(b->flags & SM_KEYF_BAR))
            continue;
        bool allowed = sm_keys_allowed(b, ui->read_only);
        char fk[8];
        int fn = 0;
        for (int f = 1; f <= 12; f++)
            if (b->keys[0] == SM_KEY_FN(KEY_F(f)))
                fn = f;
        sm_text_printf(fk, sizeof fk, "F%d", fn);
        int x0 = x;
        x = seg(y, x, w, fk, allowed ? SM_ROLE_KEYBAR_KEY : SM_ROLE_KEYBAR_DISABLED);
        char label[32];
        sm_text_printf(label, sizeof label, pad ? "%-6s " : "%s ", b->bar);
        x = seg(y, x, w, label, allowed ? SM_ROLE_KEYBAR_LABEL : SM_ROLE_KEYBAR_DISABLED);
        if (nbar_hits < (int)(sizeof bar_hits / sizeof *bar_hits))
            bar_hits[nbar_hits++] = (bar_hit){x0, x, b->keys[0]};
    }
}

/* The keys line of a dialog; a shorter wording when the dialog is narrow. */
static const char *form_keys_hint(const sm_form *f, int width, char *buf, size_t cap)
{
    bool narrow = width < 60;
    if (f->nfields == 0)
        return "y = yes   n / Esc = no";
    if (sm_ui_form_wants_next_field(f))
        return narrow ? "Enter/Tab: to value  Esc: cancel" : "Enter / Tab = on to the value   Esc = cancel";
    const char *act = f->kind == SM_FORM_BULK_CONFIRM                                ? "confirm"
                      : f->kind == SM_FORM_BULK_SET || f->kind == SM_FORM_BULK_DELETE ? "add to the map"
                                                                                     : "send";
    bool other = f->nfields > 1 && !f->locked[0] && !f->locked[1];
    if (narrow)
        sm_text_printf(buf, cap, "Enter: %s  %sEsc: cancel", f->kind == SM_FORM_BULK_CONFIRM ? "confirm" : "OK",
                       other ? "Tab: field  " : "");
    else
        sm_text_printf(buf, cap, "Enter = %s   %sEsc = cancel", act, other ? "Tab = other field   " : "");
    return buf;
}

/* A role's look as one curses character attribute (for the frame lines). */
static chtype role_chtype(sm_role role)
{
    return sm_palette_attr(role) | (chtype)COLOR_PAIR(sm_palette_pair(role));
}

/* The modal dialog: a framed box over everything, cleared around so it stands out. Lines that
 * do not fit on a small screen go in this order: blank spacing, then wrapped continuation
 * lines of the explanations; the fields, the status and the keys always stay. */
static void draw_form(sm_ui *ui)
{
    sm_form *f = &ui->form;
    int rows = ui->screen_rows, cols = ui->screen_cols;
    int w = cols - 2 > 84 ? 84 : cols - 2; /* outer width, frame included */
    int inner = w - 4;                     /* frame and one column of padding on each side */
    if (inner < 8)
        return;
    int left = (cols - w) / 2;
    sm_role body = f->danger ? SM_ROLE_DANGER : SM_ROLE_DIALOG;

    /* how many lines each explanation gets */
    int want[3], got[3] = {0, 0, 0};
    int room = rows - (2 + f->nfields + 2); /* frame, fields, status, keys */
    for (int i = 0; i < 3; i++)
        want[i] = f->text[i][0] ? sm_text_wrap_count(f->text[i], strlen(f->text[i]), inner, 64) : 0;
    for (int i = 0; i < 3 && room > 0; i++)
        if (want[i] > 0) {
            got[i] = 1;
            room--;
        }
    bool any_text = got[0] || got[1] || got[2];
    for (bool more = true; more && room > 0;) {
        more = false;
        for (int i = 0; i < 3 && room > 0; i++)
            if (got[i] < want[i] && got[i] < 6) {
                got[i]++;
                room--;
                more = true;
            }
    }
    bool gap_text = any_text && room > 0;
    if (gap_text)
        room--;
    bool gap_fields = f->nfields > 0 && room > 0;
    if (gap_fields)
        room--;
    int h = 2 + got[0] + got[1] + got[2] + (gap_text ? 1 : 0) + f->nfields + (gap_fields ? 1 : 0) + 2;
    if (!f->status[0] && f->nfields == 0) /* a question without a status line */
        h--;
    int top = (rows - h) / 2;
    if (top < 0)
        top = 0;

    /* a clear margin, the box, its frame and title */
    for (int y = top - 1; y <= top + h; y++)
        if (y >= 0 && y < rows)
            sm_ui_fill(y, left > 0 ? left - 1 : 0, w + (left > 0 ? 2 : 1), SM_ROLE_DEFAULT);
    for (int i = 0; i < h; i++)
        sm_ui_fill(top + i, left, w, body);
    chtype fa = role_chtype(body);
    mvwaddch(stdscr, top, left, ACS_ULCORNER | fa);
    mvwhline(stdscr, top, left + 1, ACS_HLINE | fa, w - 2);
    mvwaddch(stdscr, top, left + w - 1, ACS_URCORNER | fa);
    mvwvline(stdscr, top + 1, left, ACS_VLINE | fa, h - 2);
    mvwvline(stdscr, top + 1, left + w - 1, ACS_VLINE | fa, h - 2);
    mvwaddch(stdscr, top + h - 1, left, ACS_LLCORNER | fa);
    mvwhline(stdscr, top + h - 1, left + 1, ACS_HLINE | fa, w - 2);
    /* the last cell of the screen: addch there would scroll; insert instead */
    if (top + h - 1 == rows - 1 && left + w - 1 == cols - 1)
        mvwinsch(stdscr, top + h - 1, left + w - 1, ACS_LRCORNER | fa);
    else
        mvwaddch(stdscr, top + h - 1, left + w - 1, ACS_LRCORNER | fa);
    char title[200];
    sm_text_printf(title, sizeof title, " %s ", f->title);
    int tw = sm_text_width(title, strlen(title));
    sm_ui_str(top, left + 2, tw < w - 4 ? tw : w - 4, title, SM_ROLE_DIALOG_TITLE);

    int x = left + 2, y = top + 1;
    for (int i = 0; i < 3; i++) {
        const char *s = f->text[i];
        size_t len = strlen(s), pos = 0;
        for (int l = 0; l < got[i]; l++, y++) {
            size_t end = l + 1 == got[i] ? len : sm_text_wrap(s, len, pos, inner); /* the last line gets "…" */
            sm_ui_text(y, x, inner, s + pos, end - pos, body);
            pos = end < len && s[end] == ' ' ? end + 1 : end;
        }
    }
    if (gap_text)
        y++;
    int lw = 0;
    for (int i = 0; i < f->nfields; i++) {
        int l = (int)strlen(f->label[i]) + 2;
        if (l > lw)
            lw = l;
    }
    if (lw > inner / 2)
        lw = inner / 2;
    for (int i = 0; i < f->nfields; i++, y++) {
        char label[32];
        sm_text_printf(label, sizeof label, "%s:", f->label[i]);
        sm_ui_str(y, x, lw, label, i == f->focus && !f->locked[i] ? SM_ROLE_DIALOG_TITLE : body);
        if (f->locked[i] || i != f->focus)
            sm_ui_text(y, x + lw, inner - lw, f->field[i].buf, f->field[i].len, f->locked[i] ? body : SM_ROLE_PROMPT);
        else
            draw_line_editor(y, x + lw, inner - lw, &f->field[i], 0);
    }
    if (gap_fields)
        y++;
    if (f->status[0] || f->nfields > 0)
        sm_ui_str(y++, x, inner, f->status, f->ok || f->hint ? body : SM_ROLE_FILTER_ERROR);
    char keys[160];
    sm_ui_str(y, x, inner, form_keys_hint(f, inner, keys, sizeof keys), body);
}

static void draw_too_small(sm_ui *ui)
{
    char msg[128];
    werase(stdscr);
    sm_palette_use(stdscr, SM_ROLE_TOO_SMALL);
    sm_text_printf(msg, sizeof msg, "Terminal too small: %dx%d", ui->screen_cols, ui->screen_rows);
    const char *need = "need at least 40x10 (q quits)";
    int y = ui->screen_rows / 2 - 1;
    if (y < 0)
        y = 0;
    int w = ui->screen_cols;
    if (w <= 0)
        return;
    sm_ui_str(y, 0, w, msg, SM_ROLE_TOO_SMALL);
    if (y + 1 < ui->screen_rows)
        sm_ui_str(y + 1, 0, w, need, SM_ROLE_TOO_SMALL);
}

void sm_ui_paint(sm_ui *ui)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getmaxyx(stdscr, ui->screen_rows, ui->screen_cols);
    sm_view_sync(ui->view);
    if (sm_view_take_auto_resumed(ui->view))
        sm_ui_message(ui, SM_LOGL_WARN, "pause ended: more than %u sessions changed", SM_VIEW_MAX_PENDING);
    ui->too_small = ui->screen_cols < SM_UI_MIN_COLS || ui->screen_rows < SM_UI_MIN_ROWS;
    if (ui->too_small) {
        draw_too_small(ui);
    } else {
        werase(stdscr);
        auto_columns(ui);
        draw_header(ui);
        int body_y = HEADER_ROWS;
        int body_h = ui->screen_rows - HEADER_ROWS - FOOTER_ROWS;
        int table_h = body_h, pane_h = 0;
        switch (ui->pane) {
        case SM_PANE_INSPECT:
        case SM_PANE_EDIT:
            if (body_h >= 14) {
                pane_h = body_h * 45 / 100;
                if (pane_h < 7)
                    pane_h = 7;
                table_h = body_h - pane_h;
            } else {
                pane_h = body_h;
                table_h = 0;
            }
            break;
        case SM_PANE_BULK:
        case SM_PANE_LOG:
        case SM_PANE_COLUMNS:
            pane_h = body_h;
            table_h = 0;
            break;
        default:
            break;
        }
        if (table_h > 0)
            draw_table(ui, body_y, table_h);
        else {
            ui->table_h = 0;
            follow_cursor(ui, table_rows(ui));
        }
        ui->pane_y = body_y + table_h;
        ui->pane_h = pane_h;
        switch (ui->pane) {
        case SM_PANE_INSPECT: sm_inspect_draw(ui, ui->pane_y, pane_h); break;
        case SM_PANE_EDIT: sm_edit_draw(ui, ui->pane_y, pane_h); break;
        case SM_PANE_BULK: sm_bulk_draw(ui, ui->pane_y, pane_h); break;
        case SM_PANE_LOG: sm_log_draw(ui, ui->pane_y, pane_h); break;
        case SM_PANE_COLUMNS: sm_columns_draw(ui, ui->pane_y, pane_h); break;
        default: break;
        }
        if (ui->help)
            sm_help_draw(ui, body_y, body_h);
        draw_status(ui, ui->screen_rows - 2);
        draw_keybar(ui, ui->screen_rows - 1);
        if (ui->form.kind != SM_FORM_NONE)
            draw_form(ui);
    }
    wnoutrefresh(stdscr);
    doupdate();
    ui->dirty = false;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ui->last_paint_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}
