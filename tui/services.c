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

void smt_ui_hint(smt_app *app, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->message, sizeof app->message, fmt, ap);
    va_end(ap);
    app->message_level = SMT_LOGL_INFO;
    app->message_until = app->now + MESSAGE_MS;
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

void smt_form_say_audited(const smt_app *app, smt_form *f)
{
    if (!app->server_audits)
        return;
    static const char note[] = "This change is audited (the server records who made it).";
    for (size_t i = 0; i < sizeof f->text / sizeof f->text[0]; i++)
        if (!f->text[i][0]) {
            smt_text_printf(f->text[i], sizeof f->text[i], "%s", note);
            return;
        }
    char *last = f->text[sizeof f->text / sizeof f->text[0] - 1];
    size_t len = strlen(last);
    smt_text_printf(last + len, sizeof f->text[0] - len, " %s", note);
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

/* The wall clock the age column is drawn against (set with the loop's time). */
static int64_t cell_wall_ms;

void smt_ui_cell_clock(int64_t wall_ms)
{
    cell_wall_ms = wall_ms;
}

static const char *age_text(const smt_row *row, char *buf, size_t cap)
{
    const char *v = smt_row_get(row, SM_PROP_START_TIME);
    char *end;
    long long start = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end != '\0' || start <= 0)
        return "";
    long long s = cell_wall_ms > start ? (cell_wall_ms - start) / 1000 : 0;
    if (s < 60)
        smt_text_printf(buf, cap, "%llds", s);
    else if (s < 3600)
        smt_text_printf(buf, cap, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        smt_text_printf(buf, cap, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else
        smt_text_printf(buf, cap, "%lldd%02lldh", s / 86400, s / 3600 % 24);
    return buf;
}

const char *smt_ui_cell_text(const smt_row *row, const char *key, char *buf, size_t cap)
{
    if (strcmp(key, SMT_COL_AGE) == 0)
        return age_text(row, buf, cap);
    if (strcmp(key, SMT_COL_STATE) == 0)
        return smt_row_state_name(row);
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
    if (strcmp(key, SMT_COL_AGE) == 0)
        return "Age";
    return strcmp(key, SMT_COL_STATE) == 0 ? SMT_PSEUDO_STATE : key; /* the name the filter knows it by */
}

int smt_ui_column_index(const smt_app *app, const char *key)
{
    for (int i = 0; i < app->ncols; i++)
        if (strcmp(app->cols[i].key, key) == 0)
            return i;
    return -1;
}

/* The search looks at what the columns display: it follows every change of the columns. */
static void sync_search_columns(smt_app *app)
{
    const char *keys[SMT_UI_MAX_COLUMNS];
    size_t n = 0;
    for (int i = 0; i < app->ncols; i++)
        if (strcmp(app->cols[i].key, SMT_COL_AGE) != 0) /* it changes with the clock, not with events */
            keys[n++] = app->cols[i].key;
    smt_view_set_search_columns(app->view, keys, n, smt_ui_cell_text);
}

bool smt_ui_column_add(smt_app *app, const char *key)
{
    if (app->ncols >= SMT_UI_MAX_COLUMNS || strlen(key) >= sizeof app->cols[0].key ||
        smt_ui_column_index(app, key) >= 0)
        return false;
    smt_text_printf(app->cols[app->ncols].key, sizeof app->cols[0].key, "%s", key);
    app->cols[app->ncols].width = 0;
    app->ncols++;
    sync_search_columns(app);
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
    sync_search_columns(app);
}

void smt_ui_reset_columns(smt_app *app)
{
    app->ncols = 0;
    app->hscroll = 0;
    app->cols_custom = false;
    for (size_t i = 0; i < sizeof default_columns / sizeof *default_columns; i++)
        smt_ui_column_add(app, default_columns[i]);
    sync_search_columns(app);
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

/* ---- tagging, closing and the view filter ---- */

void smt_app_tag_toggle(smt_app *app, smt_row *row)
{
    if (!row)
        return;
    row->tagged = !row->tagged;
    app->dirty = true;
}

static bool row_open(const smt_row *r)
{
    return !r->dead && r->state != SM_REMOTE_CLOSED;
}

static void count_tag(smt_row *r, void *ctx)
{
    if (r->tagged && row_open(r))
        (*(size_t *)ctx)++;
}

size_t smt_app_tagged_count(smt_app *app)
{
    size_t n = 0;
    smt_model_foreach(app->model, count_tag, &n);
    return n;
}

static void clear_tag(smt_row *r, void *ctx)
{
    (void)ctx;
    r->tagged = false;
}

void smt_app_clear_tags(smt_app *app)
{
    smt_model_foreach(app->model, clear_tag, NULL);
    app->dirty = true;
}

typedef struct tag_filter {
    char *out;
    size_t cap, len, n;
    bool overflow;
} tag_filter;

static void add_tag(smt_row *r, void *ctx)
{
    tag_filter *t = ctx;
    if (!r->tagged || !row_open(r) || t->overflow)
        return;
    char esc[SM_FILTER_MAX];
    size_t e = 0;
    for (const char *c = r->id; *c && e + 2 < sizeof esc; c++) { /* IDs are plain, but quote safely */
        if (*c == '\'' || *c == '\\')
            esc[e++] = '\\';
        esc[e++] = *c;
    }
    esc[e] = '\0';
    size_t need = strlen(esc) + 4;
    if (t->len + need + 2 >= t->cap) {
        t->overflow = true;
        return;
    }
    t->len += (size_t)snprintf(t->out + t->len, t->cap - t->len, "%s'%s'", t->n ? ", " : "", esc);
    t->n++;
}

bool smt_app_tagged_filter(smt_app *app, char *out, size_t cap, char *why, size_t whycap)
{
    size_t limit = cap < SM_FILTER_MAX + 1 ? cap : SM_FILTER_MAX + 1;
    tag_filter t = {out, limit, 0, 0, false};
    t.len = (size_t)snprintf(out, limit, "%s in [", SM_PROP_SESSION_ID);
    smt_model_foreach(app->model, add_tag, &t);
    if (t.overflow) {
        smt_text_printf(why, whycap, "%zu tagged sessions do not fit in one filter (%d bytes): use a filter instead",
                        smt_app_tagged_count(app), SM_FILTER_MAX);
        return false;
    }
    if (t.n == 0) {
        smt_text_printf(why, whycap, "no tagged sessions (Space tags the cursor's session)");
        return false;
    }
    smt_text_printf(out + t.len, limit - t.len, "]");
    return true;
}

int smt_app_set_view_filter(smt_app *app, const char *text, sm_error *err)
{
    int rc = smt_view_set_filter(app->view, text, err);
    if (rc == SM_OK)
        smt_ui_message(app, SMT_LOGL_INFO, "%s", text && *text ? "filter applied" : "filter cleared");
    return rc;
}

bool smt_close_open_by_filter(smt_app *app, const char *text, char *err, size_t errcap)
{
    if (app->read_only) {
        smt_text_printf(err, errcap, "read-only (%s): closing sessions refused", app->read_only_reason);
        return false;
    }
    if (text && strlen(text) > SM_FILTER_MAX) {
        smt_text_printf(err, errcap, "the filter is longer than %d bytes", SM_FILTER_MAX);
        return false;
    }
    if (!app->open_pane) {
        smt_text_printf(err, errcap, "the close pane is not available");
        return false;
    }
    smt_text_printf(app->close_request, sizeof app->close_request, "%s", text ? text : "");
    bool ok = app->open_pane(app->open_pane_ctx, "close");
    app->close_request[0] = '\0';
    if (!ok)
        smt_text_printf(err, errcap, "%s", app->message[0] ? app->message : "the close pane did not open");
    return ok;
}

int smt_app_send_close_by_filter(smt_app *app, uint64_t token, const char *filter, char *err, size_t errcap)
{
    if (!app->backend.close_by_filter) {
        smt_text_printf(err, errcap, "not connected");
        return -1;
    }
    return app->backend.close_by_filter(app->backend.ctx, token, filter, err, errcap);
}

void smt_app_copy(smt_app *app, const char *what, const char *text)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text);
    bool cut = n > SMT_CLIPBOARD_MAX;
    if (cut)
        n = SMT_CLIPBOARD_MAX;
    const unsigned char *t = (const unsigned char *)text;
    char *o = app->clipboard_osc;
    size_t k = (size_t)snprintf(o, sizeof app->clipboard_osc, "\033]52;c;");
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)t[i] << 16 | (i + 1 < n ? (unsigned)t[i + 1] << 8 : 0) | (i + 2 < n ? t[i + 2] : 0);
        o[k++] = b64[v >> 18 & 63];
        o[k++] = b64[v >> 12 & 63];
        o[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        o[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    o[k++] = '\a';
    o[k] = '\0';
    smt_ui_message(app, SMT_LOGL_INFO,
                   "copied %s%s to the clipboard via OSC 52 (if nothing arrives, the terminal does not allow it: "
                   "xterm allowWindowOps, tmux set-clipboard on)",
                   what, cut ? " (cut to 4096 bytes)" : "");
}

bool smt_filter_monitor_only(const char *text, char *why, size_t cap)
{
    /* conservative: the name anywhere (even inside a quoted value) refuses; never a wrong send */
    if (!text || !strstr(text, SMT_PSEUDO_STATE))
        return false;
    smt_text_printf(why, cap,
                    "%s is known only to the monitor (the server has no such property): not sent; "
                    "filter on server properties, or tag the rows (Space) and use the tags",
                    SMT_PSEUDO_STATE);
    return true;
}
