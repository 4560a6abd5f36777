/* The passive and simple panes: inspect, event log, column chooser, help overlay. */
#include "tui/panes.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/text.h"
#include "tui/ui.h"

static const char *arrow(void)
{
    return MB_CUR_MAX > 1 ? " \u2192 " : " -> ";
}

/* ---- inspect ---- */

/* Lines are produced in order; only those inside the scrolled window are drawn. */
typedef struct lines {
    sm_ui *ui;
    int y, h;    /* window */
    int x, w;    /* column of the screen this list uses */
    int skip;    /* lines scrolled away */
    int n;       /* lines produced so far */
    int keyw;    /* width of the key column */
} lines;

static int line_slot(lines *L)
{
    int i = L->n++ - L->skip;
    return (i >= 0 && i < L->h) ? L->y + i : -1;
}

#define INSPECT_VALUE_LINES 8 /* a long value wraps onto this many lines at most, then "…" */

static void line_kv(lines *L, const char *key, const char *value, size_t vlen, sm_role keyrole, sm_role valrole)
{
    int vw = L->w - L->keyw - 3;
    size_t pos = 0;
    int n = 0;
    do { /* long values wrap under themselves, so the whole of a value can be read (with [ ]) */
        size_t end = n + 1 == INSPECT_VALUE_LINES || vw < 8 ? vlen : sm_text_wrap(value, vlen, pos, vw);
        int y = line_slot(L);
        if (y >= 0) {
            if (n == 0)
                sm_ui_str(y, L->x + 1, L->keyw, key, keyrole);
            sm_ui_text(y, L->x + L->keyw + 2, vw, value + pos, end - pos, valrole);
        }
        pos = end < vlen && value[end] == ' ' ? end + 1 : end;
        n++;
    } while (pos < vlen);
}

static void line_text(lines *L, const char *text, sm_role role)
{
    int y = line_slot(L);
    if (y < 0)
        return;
    sm_ui_str(y, L->x, L->w, text, role);
}

static void inspect_fixed(lines *L, const sm_row *r)
{
    sm_ui *ui = L->ui;
    char buf[512];
    line_text(L, " Fixed properties", SM_ROLE_PANE_TITLE);
    for (size_t f = 0; f < sm_fixed_property_count; f++) {
        const char *key = sm_fixed_property_names[f];
        const char *v = sm_row_get(r, key);
        if (!v)
            continue;
        sm_role vr = sm_row_key_recent(r, key, ui->now) ? SM_ROLE_INSPECT_CHANGED : SM_ROLE_PANE;
        if (strcmp(key, SM_PROP_START_TIME) == 0) {
            char t[64];
            char *end;
            long long ms = strtoll(v, &end, 10);
            if (*end == '\0' && sm_text_format_time(ms, false, t, sizeof t)) {
                sm_text_printf(buf, sizeof buf, "%s (%s)", t, v);
                line_kv(L, key, buf, strlen(buf), SM_ROLE_INSPECT_FIXED_KEY, vr);
                continue;
            }
        }
        line_kv(L, key, v, sm_intern_len(v), SM_ROLE_INSPECT_FIXED_KEY, vr);
    }
    for (uint32_t i = 0; i < r->nprops; i++) { /* $ keys this version does not know */
        const char *key = r->props[i].key;
        if (sm_key_is_fixed(key) && !sm_key_is_known_fixed(key))
            line_kv(L, key, r->props[i].value, sm_intern_len(r->props[i].value), SM_ROLE_INSPECT_FIXED_KEY,
                    SM_ROLE_PANE);
    }
}

static void inspect_user(lines *L, const sm_row *r)
{
    sm_ui *ui = L->ui;
    char buf[128];
    size_t nuser = 0;
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key))
            nuser++;
    sm_text_printf(buf, sizeof buf, " User properties (%zu)", nuser);
    line_text(L, buf, SM_ROLE_PANE_TITLE);
    if (nuser == 0)
        line_text(L, "   (none)", SM_ROLE_PANE);
    for (uint32_t i = 0; i < r->nprops; i++) {
        const char *key = r->props[i].key;
        if (sm_key_is_fixed(key))
            continue;
        sm_role vr = sm_row_key_recent(r, key, ui->now) ? SM_ROLE_INSPECT_CHANGED : SM_ROLE_PANE;
        line_kv(L, key, r->props[i].value, sm_intern_len(r->props[i].value), SM_ROLE_INSPECT_KEY, vr);
    }
}

static void inspect_history(lines *L, const sm_row *r)
{
    sm_ui *ui = L->ui;
    char buf[128];
    sm_change hist[SM_MODEL_HISTORY];
    size_t nh = sm_row_history(r, hist, SM_MODEL_HISTORY);
    sm_text_printf(buf, sizeof buf, " Recent changes (%zu, newest first)", nh);
    line_text(L, buf, SM_ROLE_PANE_TITLE);
    if (nh == 0)
        line_text(L, "   (none since the monitor started)", SM_ROLE_PANE);
    int right = L->x + L->w;
    for (size_t i = 0; i < nh; i++) {
        int ly = line_slot(L);
        if (ly < 0)
            continue;
        char t[16] = "";
        int64_t wall = ui->wall - (int64_t)(ui->now - hist[i].time);
        sm_text_format_time(wall, true, t, sizeof t);
        int x = L->x + 1;
        x += sm_ui_str(ly, x, 9, t, SM_ROLE_PANE);
        int kw = sm_text_width(hist[i].key, sm_intern_len(hist[i].key));
        if (kw > L->w / 4)
            kw = L->w / 4;
        x += sm_ui_text(ly, x, kw, hist[i].key, sm_intern_len(hist[i].key), SM_ROLE_INSPECT_KEY);
        x += sm_ui_str(ly, x, 2, ": ", SM_ROLE_PANE);
        const char *ov = hist[i].old_value ? hist[i].old_value : "(absent)";
        const char *nv = hist[i].new_value ? hist[i].new_value : "(deleted)";
        int rest = right - x - 1;
        if (rest <= 4)
            continue;
        int ow = sm_text_width(ov, strlen(ov));
        if (ow > rest / 2 - 2)
            ow = rest / 2 - 2;
        if (ow < 1)
            ow = 1;
        x += sm_ui_text(ly, x, ow, ov, strlen(ov), SM_ROLE_PANE);
        x += sm_ui_str(ly, x, 3, arrow(), SM_ROLE_PANE);
        if (right - x - 1 > 0)
            sm_ui_text(ly, x, right - x - 1, nv, strlen(nv), SM_ROLE_INSPECT_CHANGED);
    }
}

static int key_width(const sm_row *r, bool fixed, int cap)
{
    int w = 10;
    for (uint32_t i = 0; i < r->nprops; i++) {
        if (sm_key_is_fixed(r->props[i].key) != fixed)
            continue;
        int kw = sm_text_width(r->props[i].key, sm_intern_len(r->props[i].key));
        if (kw > w)
            w = kw;
    }
    return w > cap ? cap : w;
}

void sm_inspect_draw(sm_ui *ui, int y, int h)
{
    int w = ui->screen_cols;
    sm_row *r = sm_ui_selected_row(ui);
    char buf[512];
    if (!r) {
        sm_ui_str(y, 0, w, " Inspect: no session selected", SM_ROLE_PANE_TITLE);
        for (int i = 1; i < h; i++)
            sm_ui_fill(y + i, 0, w, SM_ROLE_PANE);
        return;
    }
    char id[96];
    sm_text_escape(r->id, strlen(r->id), id, sizeof id);
    const char *state = r->state == SM_STATE_ACTIVE         ? "ACTIVE"
                        : r->state == SM_STATE_DISCONNECTED ? "DISCONNECTED"
                                                            : "CLOSED";
    const char *reason = r->state == SM_STATE_CLOSED ? sm_close_reason_name(r->reason) : NULL;
    sm_text_printf(buf, sizeof buf, " Inspect %s  %s%s%s%s  ([ ] scroll, Esc closes)", id, state, reason ? " (" : "",
                   reason ? reason : "", reason ? ")" : "");
    sm_ui_str(y, 0, w, buf, SM_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        sm_ui_fill(y + i, 0, w, SM_ROLE_PANE);
    int produced;
    if (w >= 100) { /* fixed on the left; user properties and history on the right */
        int half = w / 2;
        lines left = {ui, y + 1, h - 1, 0, half, ui->inspect_scroll, 0, key_width(r, true, half / 3)};
        lines right = {ui, y + 1, h - 1, half, w - half, ui->inspect_scroll, 0, key_width(r, false, half / 3)};
        inspect_fixed(&left, r);
        inspect_user(&right, r);
        line_text(&right, "", SM_ROLE_PANE);
        inspect_history(&right, r);
        produced = left.n > right.n ? left.n : right.n;
    } else { /* one column: what operators change comes first */
        int kw = key_width(r, false, w / 3);
        int fkw = key_width(r, true, w / 3);
        lines L = {ui, y + 1, h - 1, 0, w, ui->inspect_scroll, 0, kw > fkw ? kw : fkw};
        inspect_user(&L, r);
        inspect_history(&L, r);
        inspect_fixed(&L, r);
        produced = L.n;
    }
    /* do not scroll past the end */
    if (ui->inspect_scroll > 0 && produced - ui->inspect_scroll < h - 1)
        ui->inspect_scroll = produced > h - 1 ? produced - (h - 1) : 0;
}

/* ---- event log ---- */

void sm_log_draw(sm_ui *ui, int y, int h)
{
    int w = ui->screen_cols;
    bool sessions = !ui->log_hide_sessions;
    size_t n = sm_eventlog_count_filtered(&ui->log, sessions);
    char buf[160];
    sm_text_printf(buf, sizeof buf, " Event log: %zu entries%s%s  (s %s session lines, Esc closes)", n,
                   sessions ? "" : " without session lines", ui->log_scroll ? " (scrolled; End follows)" : "",
                   sessions ? "hides" : "shows");
    sm_ui_str(y, 0, w, buf, SM_ROLE_PANE_TITLE);
    int rows = h - 1;
    if (rows <= 0)
        return;
    if (ui->log_scroll + (size_t)rows > n)
        ui->log_scroll = n > (size_t)rows ? n - (size_t)rows : 0;
    size_t end = n - ui->log_scroll; /* exclusive */
    size_t start = end > (size_t)rows ? end - (size_t)rows : 0;
    for (int i = 0; i < rows; i++) {
        int ly = y + 1 + i;
        size_t idx = start + (size_t)i;
        if (idx >= end) {
            sm_ui_fill(ly, 0, w, SM_ROLE_PANE);
            continue;
        }
        const sm_log_entry *e = sm_eventlog_at_filtered(&ui->log, sessions, idx);
        sm_role role = e->level == SM_LOGL_ERROR ? SM_ROLE_LOG_ERROR
                       : e->level == SM_LOGL_WARN ? SM_ROLE_LOG_WARN
                                                  : SM_ROLE_LOG_INFO;
        char t[16] = "--:--:--";
        if (e->wall_ms > 0)
            sm_text_format_time(e->wall_ms, true, t, sizeof t);
        sm_ui_fill(ly, 0, w, role);
        sm_ui_str(ly, 0, 9, t, role);
        if (w >= 80) {
            sm_ui_str(ly, 9, 6, e->level == SM_LOGL_ERROR ? "error" : e->level == SM_LOGL_WARN ? "warn" : "info", role);
            sm_ui_str(ly, 15, w - 15, e->text, role);
        } else { /* narrow: the text matters more than an "info" column; problems keep their word */
            int x = 9;
            const char *word = e->level == SM_LOGL_ERROR ? "error: " : e->level == SM_LOGL_WARN ? "warn: " : "";
            x += sm_ui_str(ly, x, (int)strlen(word), word, role);
            sm_ui_str(ly, x, w - x, e->text, role);
        }
    }
}

bool sm_log_action(sm_ui *ui, sm_action a)
{
    size_t page = ui->pane_h > 2 ? (size_t)ui->pane_h - 2 : 1;
    switch (a) {
    case SM_ACT_UP: ui->log_scroll++; return true;
    case SM_ACT_DOWN:
        if (ui->log_scroll)
            ui->log_scroll--;
        return true;
    case SM_ACT_PGUP: ui->log_scroll += page; return true;
    case SM_ACT_PGDN: ui->log_scroll = ui->log_scroll > page ? ui->log_scroll - page : 0; return true;
    case SM_ACT_HOME: ui->log_scroll = sm_eventlog_count(&ui->log); return true;
    case SM_ACT_END: ui->log_scroll = 0; return true;
    case SM_ACT_LOG_SESSIONS:
        ui->log_hide_sessions = !ui->log_hide_sessions;
        ui->log_scroll = 0;
        return true;
    default: return false;
    }
}

/* ---- column chooser ---- */

typedef struct col_item {
    const char *key;
    size_t count;
    int visible; /* index in ui->cols, -1 when hidden */
} col_item;

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const col_item *)a)->key, ((const col_item *)b)->key);
}

/* Adds key unless one of items[0..check) has it (then keeps the larger count). */
static void add_hidden(col_item *items, int *n, int check, size_t cap, const char *key, size_t count)
{
    for (int j = 0; j < check; j++) {
        if (strcmp(items[j].key, key) == 0) {
            if (items[j].count < count)
                items[j].count = count;
            return;
        }
    }
    if ((size_t)*n < cap)
        items[(*n)++] = (col_item){key, count, -1};
}

/* Visible columns in order, then every other known key by name. Caller frees. */
static col_item *column_items(sm_ui *ui, int *count)
{
    size_t nk = sm_model_key_count(ui->model);
    size_t cap = (size_t)ui->ncols + nk + sm_fixed_property_count + 1;
    col_item *items = calloc(cap, sizeof *items);
    if (!items) {
        *count = 0;
        return NULL;
    }
    int n = 0;
    for (int i = 0; i < ui->ncols; i++)
        items[n++] = (col_item){ui->cols[i].key, 0, i};
    int hidden_start = n;
    for (size_t i = 0; i < nk; i++) {
        const sm_keystat *k = sm_model_key_at(ui->model, i);
        add_hidden(items, &n, hidden_start, cap, k->key, k->count); /* model keys are unique already */
    }
    for (size_t i = 0; i < sm_fixed_property_count; i++)
        add_hidden(items, &n, n, cap, sm_fixed_property_names[i], 0);
    add_hidden(items, &n, n, cap, SM_COL_STATE, 0);
    qsort(items + hidden_start, (size_t)(n - hidden_start), sizeof *items, cmp_items);
    *count = n;
    return items;
}

void sm_columns_draw(sm_ui *ui, int y, int h)
{
    int w = ui->screen_cols;
    int n;
    col_item *items = column_items(ui, &n);
    sm_ui_str(y, 0, w, " Columns: Space shows/hides, K/J moves, s sorts, r resets, w saves, Esc closes",
              SM_ROLE_PANE_TITLE);
    if (ui->col_cursor >= n)
        ui->col_cursor = n - 1;
    if (ui->col_cursor < 0)
        ui->col_cursor = 0;
    int rows = h - 1;
    int top = ui->col_cursor >= rows ? ui->col_cursor - rows + 1 : 0;
    ui->col_top = top;
    for (int i = 0; i < rows; i++) {
        int ly = y + 1 + i;
        int idx = top + i;
        if (idx >= n) {
            sm_ui_fill(ly, 0, w, SM_ROLE_PANE);
            continue;
        }
        col_item *it = &items[idx];
        sm_role role = idx == ui->col_cursor ? SM_ROLE_ROW_SELECTED : SM_ROLE_PANE;
        char head[32];
        if (it->visible >= 0)
            sm_text_printf(head, sizeof head, " [x] %2d  ", it->visible + 1);
        else
            sm_text_printf(head, sizeof head, " [ ]     ");
        sm_ui_fill(ly, 0, w, role);
        int x = sm_ui_str(ly, 0, (int)strlen(head), head, role);
        int kw = w - x - 18;
        x += sm_ui_str(ly, x, kw > 0 ? kw : 0, strcmp(it->key, SM_COL_STATE) == 0 ? "State (session state)" : it->key,
                       role);
        if (it->count) {
            char c[32];
            sm_text_printf(c, sizeof c, "%zu session%s", it->count, it->count == 1 ? "" : "s");
            sm_ui_str(ly, x, w - x, c, role);
        }
    }
    free(items);
}

bool sm_columns_action(sm_ui *ui, sm_action a)
{
    int n;
    col_item *items = column_items(ui, &n);
    if (!items)
        return false;
    bool handled = true;
    int c = ui->col_cursor;
    col_item *it = (c >= 0 && c < n) ? &items[c] : NULL;
    switch (a) {
    case SM_ACT_UP:
        if (ui->col_cursor > 0)
            ui->col_cursor--;
        break;
    case SM_ACT_DOWN:
        if (ui->col_cursor < n - 1)
            ui->col_cursor++;
        break;
    case SM_ACT_COL_TOGGLE:
        if (!it)
            break;
        ui->cols_custom = true;
        if (it->visible >= 0) {
            if (ui->ncols > 1)
                sm_ui_column_remove(ui, it->visible);
            else
                sm_ui_message(ui, SM_LOGL_WARN, "the table needs at least one column");
        } else {
            char key[SM_KEY_MAX + 2];
            sm_text_printf(key, sizeof key, "%s", it->key);
            if (sm_ui_column_add(ui, key))
                ui->col_cursor = ui->ncols - 1;
            else
                sm_ui_message(ui, SM_LOGL_WARN, "at most %d columns", SM_UI_MAX_COLUMNS);
        }
        break;
    case SM_ACT_COL_MOVE_UP:
    case SM_ACT_COL_MOVE_DOWN: {
        if (!it || it->visible < 0)
            break;
        int i = it->visible, j = a == SM_ACT_COL_MOVE_UP ? i - 1 : i + 1;
        if (j < 0 || j >= ui->ncols)
            break;
        sm_column tmp = ui->cols[i];
        ui->cols[i] = ui->cols[j];
        ui->cols[j] = tmp;
        ui->col_cursor = j;
        ui->cols_custom = true;
        break;
    }
    case SM_ACT_COL_SORT:
        if (it) {
            char key[SM_KEY_MAX + 2];
            sm_text_printf(key, sizeof key, "%s", it->key);
            sm_ui_sort_by(ui, key);
        }
        break;
    case SM_ACT_COL_RESET:
        sm_ui_reset_columns(ui);
        ui->col_cursor = 0;
        sm_ui_message(ui, SM_LOGL_INFO, "default columns restored");
        break;
    case SM_ACT_COL_SAVE:
        sm_ui_ask_save_settings(ui);
        break;
    default:
        handled = false;
    }
    free(items);
    return handled;
}

/* ---- help ---- */

/* Keys outside the binding table: line editing in prompts, and dialogs. */
static const struct {
    const char *keys, *help;
} help_prompt_keys[] = {
    {"Enter", "accept; in the key field of a key/value dialog: on to the value"},
    {"Esc", "cancel; a prompt puts back the text it had before"},
    {"Tab Up Down", "the other field of a dialog"},
    {"y n", "answer a yes/no question (only y says yes; Esc says no)"},
    {"Left Right", "move in the text; Home End (^A ^E) to its ends"},
    {"Backspace Del", "delete a character (^D deletes forward)"},
    {"^U ^K ^W", "clear the text; delete to the end; delete the word before the cursor"},
};

static const char *const help_extra[] = {
    "Row marks: + new   * changed   ~ disconnected   x closed (fading out)",
    "Mouse: click a row to select it, a column title to sort (again: the other way), a key bar entry to press it, "
    "a line of the column chooser or edit pane to select it; the wheel scrolls the table, log, help, chooser, edit "
    "list and bulk preview.",
    "Filters use the session filter language, e.g.  $Country is 'FR' and Tier in ['gold','silver']",
    "Read-only mode refuses every change; entries marked (read-only) are disabled. docs/tui.md has more.",
};

#define HELP_INDENT 17 /* "  " + 13 columns of keys + the global mark + a space */

typedef void (*help_fn)(void *ctx, int i, const char *text, size_t len, int indent, sm_role role);

/* Emits text as one or more lines of at most width columns; continuation lines are indented. */
static void help_wrapped(help_fn fn, void *ctx, int *n, const char *text, int first_indent, int indent, int width,
                         sm_role role)
{
    size_t len = strlen(text), pos = 0;
    int avail = width - first_indent;
    do {
        size_t end = avail > 8 ? sm_text_wrap(text, len, pos, avail) : len;
        if (fn)
            fn(ctx, *n, text + pos, end - pos, pos == 0 ? first_indent : indent, role);
        (*n)++;
        pos = end < len && text[end] == ' ' ? end + 1 : end;
        avail = width - indent;
    } while (pos < len);
}

/* Calls fn for every help line in order, wrapped to the screen width. */
static int help_lines(const sm_ui *ui, help_fn fn, void *ctx)
{
    int n = 0, width = ui->screen_cols > 0 ? ui->screen_cols - 1 : 79;
    char buf[400];
    for (int c = 0; c < SM_CTX_COUNT; c++) {
        if (c == SM_CTX_HELP)
            continue;
        if (n > 0 && fn)
            fn(ctx, n, "", 0, 0, SM_ROLE_HELP);
        if (n > 0)
            n++;
        help_wrapped(fn, ctx, &n, sm_ctx_title((sm_ctx)c), 0, 2, width, SM_ROLE_HELP_KEY);
        for (size_t i = 0; i < sm_keys_count(); i++) {
            const sm_binding *b = sm_keys_at(i);
            if (b->ctx != (sm_ctx)c)
                continue;
            bool allowed = sm_keys_allowed(b, ui->read_only);
            sm_text_printf(buf, sizeof buf, "  %-13s%s %s%s", b->label, (b->flags & SM_KEYF_GLOBAL) ? "*" : " ", b->help,
                     allowed ? "" : "  (read-only)");
            help_wrapped(fn, ctx, &n, buf, 0, HELP_INDENT, width, allowed ? SM_ROLE_HELP : SM_ROLE_HELP_DISABLED);
        }
    }
    if (fn)
        fn(ctx, n, "", 0, 0, SM_ROLE_HELP);
    n++;
    help_wrapped(fn, ctx, &n, "Prompts (filter, search, bulk filter) and dialogs", 0, 2, width, SM_ROLE_HELP_KEY);
    for (size_t i = 0; i < sizeof help_prompt_keys / sizeof *help_prompt_keys; i++) {
        sm_text_printf(buf, sizeof buf, "  %-13s  %s", help_prompt_keys[i].keys, help_prompt_keys[i].help);
        help_wrapped(fn, ctx, &n, buf, 0, HELP_INDENT, width, SM_ROLE_HELP);
    }
    if (fn)
        fn(ctx, n, "", 0, 0, SM_ROLE_HELP);
    n++;
    for (size_t i = 0; i < sizeof help_extra / sizeof *help_extra; i++)
        help_wrapped(fn, ctx, &n, help_extra[i], 0, 2, width, SM_ROLE_HELP);
    return n;
}

int sm_help_line_count(const sm_ui *ui)
{
    return help_lines(ui, NULL, NULL);
}

typedef struct help_draw_ctx {
    sm_ui *ui;
    int y, h, skip;
} help_draw_ctx;

static void help_draw_line(void *vctx, int i, const char *text, size_t len, int indent, sm_role role)
{
    help_draw_ctx *c = vctx;
    int row = i - c->skip;
    if (row < 0 || row >= c->h)
        return;
    sm_ui_text(c->y + row, indent, c->ui->screen_cols - indent, text, len, role);
}

void sm_help_draw(sm_ui *ui, int y, int h)
{
    int w = ui->screen_cols;
    char title[160];
    sm_text_printf(title, sizeof title, " Help: every key (Up/Down/PgUp/PgDn scroll, Esc closes)%s",
             ui->read_only ? "  READ-ONLY: changes are disabled" : "");
    sm_ui_str(y, 0, w, title, SM_ROLE_PANE_TITLE);
    int rows = h - 1;
    int total = sm_help_line_count(ui);
    if (ui->help_scroll > total - rows)
        ui->help_scroll = total - rows > 0 ? total - rows : 0;
    for (int i = 0; i < rows; i++)
        sm_ui_fill(y + 1 + i, 0, w, SM_ROLE_HELP);
    help_draw_ctx c = {ui, y + 1, rows, ui->help_scroll};
    help_lines(ui, help_draw_line, &c);
}

bool sm_help_action(sm_ui *ui, sm_action a)
{
    int page = ui->screen_rows > 6 ? ui->screen_rows - 6 : 1;
    switch (a) {
    case SM_ACT_UP:
        if (ui->help_scroll > 0)
            ui->help_scroll--;
        return true;
    case SM_ACT_DOWN: ui->help_scroll++; return true;
    case SM_ACT_PGUP: ui->help_scroll = ui->help_scroll > page ? ui->help_scroll - page : 0; return true;
    case SM_ACT_PGDN: ui->help_scroll += page; return true;
    case SM_ACT_CLOSE: ui->help = false; return true;
    default: return true; /* modal: nothing else */
    }
}
