/* What every pane of the monitor may use: the sessions, the status line, the dialog, the prompt,
 * the columns, the selected session, read-only mode and requests to the server. */
#include "tui/services.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/settings.h"
#include "tui/text.h"

#define MESSAGE_MS 6000

static const char *const default_columns[] = {
    SM_PROP_SESSION_ID, SM_PROP_PRINCIPAL, SM_PROP_CLIENT_IP, SM_PROP_COUNTRY,
    SM_PROP_CLIENT_TYPE, SM_PROP_START_TIME, SMT_COL_STATE,
};

void smt_ui_message(smt_app *app, smt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->message, sizeof app->message, fmt, ap);
    va_end(ap);
    app->message_level = level;
    app->message_until = app->now + MESSAGE_MS;
    smt_eventlog_add(&app->log, app->wall, level, "%s", app->message);
    app->dirty = true;
}

bool smt_ui_guard_write(smt_app *app, const char *what)
{
    if (!app->read_only)
        return true;
    smt_ui_message(app, SMT_LOGL_WARN, "read-only (%s): %s refused", app->read_only_reason, what);
    return false;
}

bool smt_ui_outcome_unknown(sm_client_errcode code)
{
    return code == SM_CLIENT_ERR_CONNECTION_LOST || code == SM_CLIENT_ERR_TIMEOUT || code == SM_CLIENT_ERR_CLOSED ||
           code == SM_CLIENT_ERR_CANCELLED;
}

uint64_t smt_ui_new_token(smt_app *app)
{
    return ++app->next_token;
}

int smt_app_send_set(smt_app *app, uint64_t token, const char *session_id, const sm_property *props, size_t n,
                     char *err, size_t errcap)
{
    if (!app->backend.set) {
        smt_text_printf(err, errcap, "not connected");
        return -1;
    }
    return app->backend.set(app->backend.ctx, token, session_id, props, n, err, errcap);
}

int smt_app_send_set_by_filter(smt_app *app, uint64_t token, const char *filter, const sm_property *props, size_t n,
                               char *err, size_t errcap)
{
    if (!app->backend.set_by_filter) {
        smt_text_printf(err, errcap, "not connected");
        return -1;
    }
    return app->backend.set_by_filter(app->backend.ctx, token, filter, props, n, err, errcap);
}

void smt_app_select(smt_app *app, const char *id)
{
    if (app->selected == id)
        return;
    sm_intern_unref(smt_model_pool(app->model), app->selected);
    app->selected = sm_intern_ref(id);
}

smt_row *smt_ui_selected_row(smt_app *app)
{
    return app->selected ? smt_model_find(app->model, app->selected) : NULL;
}

/* ---- the dialog and the prompt ---- */

smt_form *smt_app_open_form(smt_app *app, smt_form_kind kind, const char *title, int nfields,
                            void (*changed)(void *owner), void (*submit)(void *owner), void *owner)
{
    smt_form_open(&app->form, kind, title, nfields);
    app->form.changed = changed;
    app->form.submit = submit;
    app->form.owner = owner;
    app->dirty = true;
    return &app->form;
}

void smt_ui_close_form(smt_app *app)
{
    memset(&app->form, 0, sizeof app->form);
    app->dirty = true;
}

smt_prompt *smt_app_start_prompt(smt_app *app, smt_prompt_kind kind, const char *label, const char *initial,
                                 void (*changed)(void *owner, const char *text), bool (*accept)(void *owner),
                                 void *owner)
{
    smt_prompt *p = &app->prompt;
    p->kind = kind;
    p->label = label;
    smt_line_init(&p->line, kind == SMT_PROMPT_SEARCH ? SMT_VIEW_SEARCH_MAX : SM_FILTER_MAX);
    smt_line_set(&p->line, initial);
    smt_text_printf(p->saved, sizeof p->saved, "%s", initial ? initial : "");
    p->error[0] = '\0';
    p->error_column = 0;
    p->mutates = false;
    p->changed = changed;
    p->accept = accept;
    p->owner = owner;
    p->key = NULL;
    app->dirty = true;
    return p;
}

void smt_app_close_prompt(smt_app *app)
{
    app->prompt.kind = SMT_PROMPT_NONE;
    app->dirty = true;
}

/* ---- columns ---- */

const char *smt_ui_cell_text(const smt_row *row, const char *key, char *buf, size_t cap)
{
    if (strcmp(key, SMT_COL_STATE) == 0) {
        switch (row->state) {
        case SM_REMOTE_ACTIVE: return "ACTIVE";
        case SM_REMOTE_DISCONNECTED: return "DISCONNECTED";
        case SM_REMOTE_CLOSED: return "CLOSED";
        default: return "?";
        }
    }
    const char *v = smt_row_get(row, key);
    if (!v)
        return "";
    if (strcmp(key, SM_PROP_START_TIME) == 0) {
        char *end;
        long long ms = strtoll(v, &end, 10);
        if (*v && *end == '\0' && smt_text_format_time(ms, true, buf, cap))
            return buf;
    }
    return v;
}

const char *smt_column_title(const char *key)
{
    return strcmp(key, SMT_COL_STATE) == 0 ? "State" : key;
}

int smt_ui_column_index(const smt_app *app, const char *key)
{
    for (int i = 0; i < app->ncols; i++)
        if (strcmp(app->cols[i].key, key) == 0)
            return i;
    return -1;
}

bool smt_ui_column_add(smt_app *app, const char *key)
{
    if (app->ncols >= SMT_UI_MAX_COLUMNS || strlen(key) >= sizeof app->cols[0].key ||
        smt_ui_column_index(app, key) >= 0)
        return false;
    smt_text_printf(app->cols[app->ncols].key, sizeof app->cols[0].key, "%s", key);
    app->cols[app->ncols].width = 0;
    app->ncols++;
    return true;
}

void smt_ui_column_remove(smt_app *app, int index)
{
    if (index < 0 || index >= app->ncols)
        return;
    memmove(&app->cols[index], &app->cols[index + 1], (size_t)(app->ncols - index - 1) * sizeof app->cols[0]);
    app->ncols--;
    if (app->hscroll >= app->ncols)
        app->hscroll = app->ncols > 1 ? app->ncols - 1 : 0;
}

void smt_ui_reset_columns(smt_app *app)
{
    app->ncols = 0;
    app->hscroll = 0;
    app->cols_custom = false;
    for (size_t i = 0; i < sizeof default_columns / sizeof *default_columns; i++)
        smt_ui_column_add(app, default_columns[i]);
}

void smt_ui_sort_by(smt_app *app, const char *key)
{
    bool desc = false;
    if (strcmp(smt_view_sort_key(app->view), key) == 0)
        desc = !smt_view_sort_descending(app->view);
    smt_view_set_sort(app->view, key, desc);
    smt_ui_message(app, SMT_LOGL_INFO, "sorted by %s, %s", smt_column_title(key), desc ? "descending" : "ascending");
}

/* ---- settings ---- */

static void save_settings(void *owner)
{
    smt_app *app = owner;
    smt_ui_close_form(app);
    smt_settings st;
    memset(&st, 0, sizeof st);
    smt_text_printf(st.theme, sizeof st.theme, "%s", app->theme.name);
    for (int i = 0; i < app->ncols && i < SMT_SETTINGS_MAX_COLUMNS; i++)
        smt_text_printf(st.columns[st.ncolumns++], sizeof st.columns[0], "%s", app->cols[i].key);
    smt_text_printf(st.sort_key, sizeof st.sort_key, "%s", smt_view_sort_key(app->view));
    st.sort_descending = smt_view_sort_descending(app->view);
    sm_error err;
    sm_error_clear(&err);
    if (smt_settings_save(app->settings_path, &st, &err) == SM_OK)
        smt_ui_message(app, SMT_LOGL_INFO, "settings saved to %s", app->settings_path);
    else
        smt_ui_message(app, SMT_LOGL_ERROR, "settings not saved: %s", err.message);
}

void smt_ui_ask_save_settings(smt_app *app)
{
    if (!app->settings_path[0]) {
        smt_ui_message(app, SMT_LOGL_WARN,
                      "no settings file: set HOME or XDG_CONFIG_HOME (or started with --no-settings)");
        return;
    }
    smt_form *f = smt_app_open_form(app, SMT_FORM_SETTINGS_SAVE, "Save the monitor settings", 0, NULL, save_settings,
                                    app);
    smt_text_printf(f->text[0], sizeof f->text[0], "Save the %d columns, the sort (%s) and the theme (%s) to:",
                   app->ncols, smt_view_sort_key(app->view), app->theme.name);
    smt_text_printf(f->text[1], sizeof f->text[1], "  %s", app->settings_path);
    smt_text_printf(f->text[2], sizeof f->text[2],
                   "The monitor reads them when it starts (not with --no-settings); nothing else is saved.");
    f->ok = true;
}
