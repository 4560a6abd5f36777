/* The session table pane: the base of the screen; cursor, columns, sort, filter and search. */
#include <stdlib.h>
#include <string.h>

#include "tui/palette.h"
#include "tui/pane_table.h"
#include "tui/screen.h"
#include "tui/text.h"

#define COL_MAX_WIDTH 32
#define ID_MAX_WIDTH 36
#define MARK_WIDTH 2 /* change marker + space before the first column */

/* Until the user picks columns, user keys join the table as they are seen. */
static void auto_columns(smt_app *app)
{
    if (app->cols_custom)
        return;
    int user = 0;
    for (int i = 0; i < app->ncols; i++)
        if (!sm_key_is_fixed(app->cols[i].key) && strcmp(app->cols[i].key, SMT_COL_STATE) != 0 &&
            strcmp(app->cols[i].key, SMT_COL_AGE) != 0)
            user++;
    size_t nk = smt_model_key_count(app->model);
    for (size_t i = 0; i < nk && user < SMT_UI_AUTO_USER_COLUMNS; i++) {
        const smt_keystat *k = smt_model_key_at(app->model, i);
        if (k->count == 0 || sm_key_is_fixed(k->key) || smt_ui_column_index(app, k->key) >= 0)
            continue;
        if (smt_ui_column_add(app, k->key))
            user++;
    }
}

static smt_role row_role(const smt_app *app, const smt_row *r, size_t rank, bool selected)
{
    if (selected)
        return SMT_ROLE_ROW_SELECTED;
    if (r->state == SM_REMOTE_CLOSED || r->dead) { /* fades out in three steps, then leaves */
        double f = r->dead ? 1.0 : smt_row_fade(r, app->now);
        return f < 1.0 / 3 ? SMT_ROLE_ROW_CLOSING : SMT_PALETTE_FADE(f < 2.0 / 3 ? 0 : 1);
    }
    if (r->state == SM_REMOTE_DISCONNECTED)
        return SMT_ROLE_ROW_DISCONNECTED;
    if (smt_row_is_new(r, app->now))
        return SMT_ROLE_ROW_NEW;
    return (rank & 1) ? SMT_ROLE_ROW_ALT : SMT_ROLE_ROW;
}

static const char *row_mark(const smt_app *app, const smt_row *r)
{
    if (r->state == SM_REMOTE_CLOSED || r->dead)
        return "x";
    if (r->state == SM_REMOTE_DISCONNECTED)
        return "~";
    if (smt_row_is_new(r, app->now))
        return "+";
    if (r->t_changed && r->t_changed + SMT_MODEL_HIGHLIGHT_MS > app->now)
        return "*";
    return " ";
}

/* Decides which columns fit: column 0 is pinned, then from hscroll on. */
static void plan_columns(smt_table_pane *t, int w)
{
    smt_app *app = t->app;
    for (int i = 0; i <= SMT_UI_MAX_COLUMNS; i++)
        t->col_x[i] = -1;
    int x = MARK_WIDTH;
    for (int i = 0; i < app->ncols && x < w; i++) {
        if (i > 0 && i < app->hscroll + 1 && app->hscroll > 0)
            continue;
        t->col_x[i] = x;
        x += app->cols[i].width + 1;
    }
}

/* Widths follow what the rows on screen need: wider at once, narrower only after
 * COL_SHRINK_MS of needing less, so a long value scrolling by does not leave a wide column
 * behind and columns do not jitter as rows change. */
#define COL_SHRINK_MS 2000

static void measure_columns(smt_app *app, size_t first, int nrows)
{
    char buf[64];
    for (int c = 0; c < app->ncols; c++) {
        int wmax = strcmp(app->cols[c].key, SM_PROP_SESSION_ID) == 0 ? ID_MAX_WIDTH : COL_MAX_WIDTH;
        const char *title = smt_column_title(app->cols[c].key);
        int need = smt_text_width(title, strlen(title)) + 2; /* room for the sort arrow */
        if (need > wmax)
            need = wmax;
        for (int i = 0; i < nrows; i++) {
            smt_row *r = smt_view_at(app->view, first + (size_t)i);
            if (!r)
                break;
            const char *t = smt_ui_cell_text(r, app->cols[c].key, buf, sizeof buf);
            int tw = smt_text_width(t, strlen(t));
            if (tw > wmax)
                tw = wmax;
            if (tw > need)
                need = tw;
        }
        smt_column *col = &app->cols[c];
        if (need >= col->width) {
            col->width = need;
            col->narrower_since = 0;
        } else if (!col->narrower_since) {
            col->narrower_since = app->now ? app->now : 1;
        } else if (app->now >= col->narrower_since + COL_SHRINK_MS) {
            col->width = need;
            col->narrower_since = 0;
        }
    }
}

/* ---- the cursor ---- */

static void select_rank(smt_table_pane *t, size_t rank)
{
    smt_row *r = smt_view_at(t->app->view, rank);
    if (!r)
        return;
    t->nav.cursor = rank;
    smt_app_select(t->app, r->id);
}

static int table_rows(const smt_table_pane *t)
{
    return t->h > 1 ? t->h - 1 : 1;
}

static void move_cursor(smt_table_pane *t, smt_action a)
{
    size_t n = smt_view_count(t->app->view);
    if (n == 0)
        return;
    smt_list_resize(&t->nav, n, table_rows(t));
    smt_list_action(&t->nav, a);
    select_rank(t, t->nav.cursor);
    t->sel_offset = (int)(t->nav.cursor - t->nav.top);
}

/* Keeps the cursor on the session it follows, at the same screen line when possible. */
static void follow_cursor(smt_table_pane *t, int h)
{
    size_t n = smt_view_count(t->app->view);
    smt_list_resize(&t->nav, n, h);
    if (n == 0)
        return;
    smt_row *r = smt_ui_selected_row(t->app);
    size_t rank;
    if (r && smt_view_rank(t->app->view, r, &rank))
        t->nav.cursor = rank;
    else /* it left the view: take its place (the resize kept the index in range) */
        select_rank(t, t->nav.cursor);
    smt_list_place(&t->nav, t->nav.cursor, t->sel_offset);
    t->sel_offset = (int)(t->nav.cursor - t->nav.top);
}

/* ---- drawing ---- */

static void table_draw(void *state, int y, int h)
{
    smt_table_pane *t = state;
    smt_app *app = t->app;
    int w = app->screen_cols;
    t->y = y;
    t->h = h > 0 ? h : 0;
    auto_columns(app);
    if (h <= 0) {
        follow_cursor(t, table_rows(t));
        return;
    }
    int nrows = h - 1;
    /* a new sort shows its first rows: a cursor kept in place made it look as if nothing happened */
    const char *sk = smt_view_sort_key(app->view);
    bool desc = smt_view_sort_descending(app->view);
    if (strcmp(sk, t->drawn_sort) != 0 || desc != t->drawn_desc) {
        smt_text_printf(t->drawn_sort, sizeof t->drawn_sort, "%s", sk);
        t->drawn_desc = desc;
        select_rank(t, 0);
        t->nav.top = 0;
        t->sel_offset = 0;
    }
    follow_cursor(t, nrows);
    measure_columns(app, t->nav.top, nrows);
    plan_columns(t, w);

    /* titles */
    smt_screen_fill(y, 0, w, SMT_ROLE_TABLE_HEADER);
    const char *sort_key = smt_view_sort_key(app->view);
    for (int c = 0; c < app->ncols; c++) {
        int x = t->col_x[c];
        if (x < 0 || x >= w)
            continue;
        char title[SM_KEY_MAX + 16];
        bool sorted = strcmp(app->cols[c].key, sort_key) == 0;
        smt_text_printf(title, sizeof title, "%s%s", smt_column_title(app->cols[c].key),
                 !sorted ? ""
                 : smt_view_sort_descending(app->view) ? (smt_screen_utf8() ? "\u25bc" : "v")
                                                      : (smt_screen_utf8() ? "\u25b2" : "^"));
        int cw = app->cols[c].width < w - x ? app->cols[c].width : w - x;
        smt_screen_str(y, x, cw, title, sorted ? SMT_ROLE_TABLE_SORTED : SMT_ROLE_TABLE_HEADER);
    }

    /* rows: only the visible ones are touched */
    char buf[64];
    size_t n = smt_view_count(app->view);
    for (int i = 0; i < nrows; i++) {
        int ry = y + 1 + i;
        size_t rank = t->nav.top + (size_t)i;
        if (rank >= n) {
            smt_screen_fill(ry, 0, w, SMT_ROLE_DEFAULT);
            continue;
        }
        smt_row *r = smt_view_at(app->view, rank);
        bool sel = app->selected && r->id == app->selected;
        smt_role role = row_role(app, r, rank, sel);
        smt_screen_fill(ry, 0, w, role);
        smt_screen_str(ry, 0, 1, row_mark(app, r), role);
        if (r->tagged) /* the column between the change mark and the first cell */
            smt_screen_str(ry, 1, 1, "#", sel ? role : SMT_ROLE_TABLE_SORTED);
        bool recent = r->t_changed && r->t_changed + SMT_MODEL_HIGHLIGHT_MS > app->now &&
                      r->state != SM_REMOTE_CLOSED && !r->dead;
        for (int c = 0; c < app->ncols; c++) {
            int x = t->col_x[c];
            if (x < 0 || x >= w)
                continue;
            int cw = app->cols[c].width < w - x ? app->cols[c].width : w - x;
            const char *text = smt_ui_cell_text(r, app->cols[c].key, buf, sizeof buf);
            smt_role cr = role;
            if (!sel && recent && smt_row_key_recent(r, app->cols[c].key, app->now))
                cr = SMT_ROLE_CELL_CHANGED;
            smt_screen_text(ry, x, cw, text, strlen(text), cr);
        }
    }
    if (n == 0 && nrows > 0) {
        const char *msg = smt_model_rows(app->model) == 0
                              ? (app->live ? "no sessions" : "waiting for the server...")
                              : "no session matches the filter or search (Esc clears)";
        smt_screen_str(y + 1, MARK_WIDTH, w - MARK_WIDTH, msg, SMT_ROLE_DEFAULT);
    }
}


/* ---- the filter and search prompts ---- */

static void filter_changed(void *owner, const char *text)
{
    smt_table_pane *t = owner;
    smt_prompt *p = &t->app->prompt;
    sm_error err;
    sm_error_clear(&err);
    if (smt_view_set_filter(t->app->view, text, &err) != SM_OK) {
        smt_text_printf(p->error, sizeof p->error, "%s", err.message);
        p->error_column = err.column;
    } else {
        p->error[0] = '\0';
        p->error_column = 0;
    }
}

static bool filter_accept(void *owner)
{
    smt_table_pane *t = owner;
    smt_prompt *p = &t->app->prompt;
    if (p->error[0]) {
        smt_ui_message(t->app, SMT_LOGL_WARN, "%s", p->error);
        return false; /* a filter that does not parse is never accepted */
    }
    smt_ui_message(t->app, SMT_LOGL_INFO, "%s", p->line.len ? "filter applied" : "filter cleared");
    return true;
}

static void search_changed(void *owner, const char *text)
{
    smt_table_pane *t = owner;
    smt_view_set_search(t->app->view, text);
}

/* ---- keys and mouse ---- */

static void sort_step(smt_app *app, int dir)
{
    if (app->ncols == 0)
        return;
    int i = smt_ui_column_index(app, smt_view_sort_key(app->view));
    i = i < 0 ? 0 : (i + app->ncols + dir) % app->ncols;
    smt_view_set_sort(app->view, app->cols[i].key, false);
    smt_ui_message(app, SMT_LOGL_INFO, "sorted by %s, ascending", smt_column_title(app->cols[i].key));
}

static smt_handled table_action(void *state, smt_action a)
{
    smt_table_pane *t = state;
    smt_app *app = t->app;
    switch (a) {
    case SMT_ACT_UP:
    case SMT_ACT_DOWN:
    case SMT_ACT_PGUP:
    case SMT_ACT_PGDN:
    case SMT_ACT_HOME:
    case SMT_ACT_END: move_cursor(t, a); break;
    case SMT_ACT_SCROLL_LEFT:
        if (app->hscroll > 0)
            app->hscroll--;
        break;
    case SMT_ACT_SCROLL_RIGHT:
        if (app->hscroll < app->ncols - 2)
            app->hscroll++;
        break;
    case SMT_ACT_SEARCH:
        smt_app_start_prompt(app, SMT_PROMPT_SEARCH, "Search> ", smt_view_search(app->view), search_changed, NULL, t);
        break;
    case SMT_ACT_FILTER:
        smt_app_start_prompt(app, SMT_PROMPT_FILTER, "Filter> ", smt_view_filter_text(app->view), filter_changed,
                             filter_accept, t);
        break;
    case SMT_ACT_ESCAPE:
        if (smt_view_search(app->view)[0]) {
            smt_text_printf(t->cleared_search, sizeof t->cleared_search, "%s", smt_view_search(app->view));
            t->cleared_filter[0] = '\0';
            smt_view_set_search(app->view, "");
            smt_ui_message(app, SMT_LOGL_INFO, "search cleared (u puts it back)");
        } else if (smt_view_filter_text(app->view)[0]) {
            smt_text_printf(t->cleared_filter, sizeof t->cleared_filter, "%s", smt_view_filter_text(app->view));
            t->cleared_search[0] = '\0';
            smt_view_set_filter(app->view, NULL, NULL);
            smt_ui_message(app, SMT_LOGL_INFO, "filter cleared (u puts it back)");
        }
        break;
    case SMT_ACT_FILTER_RESTORE:
        if (t->cleared_search[0]) {
            smt_view_set_search(app->view, t->cleared_search);
            smt_ui_message(app, SMT_LOGL_INFO, "search put back");
            t->cleared_search[0] = '\0';
        } else if (t->cleared_filter[0]) {
            sm_error err;
            if (smt_view_set_filter(app->view, t->cleared_filter, &err) == SM_OK)
                smt_ui_message(app, SMT_LOGL_INFO, "filter put back");
            t->cleared_filter[0] = '\0';
        } else {
            smt_ui_message(app, SMT_LOGL_INFO, "nothing to put back (u undoes Esc clearing the filter or search)");
        }
        break;
    case SMT_ACT_SORT_NEXT: sort_step(app, 1); break;
    case SMT_ACT_SORT_PREV: sort_step(app, -1); break;
    case SMT_ACT_SORT_REVERSE:
        smt_view_set_sort(app->view, smt_view_sort_key(app->view), !smt_view_sort_descending(app->view));
        smt_ui_message(app, SMT_LOGL_INFO, "sort order: %s",
                      smt_view_sort_descending(app->view) ? "descending" : "ascending");
        break;
    case SMT_ACT_TAG: {
        smt_row *r = smt_ui_selected_row(app);
        if (!r || r->dead || r->state == SM_REMOTE_CLOSED) {
            smt_ui_message(app, SMT_LOGL_WARN, "no open session under the cursor to tag");
            break;
        }
        smt_app_tag_toggle(app, r);
        move_cursor(t, SMT_ACT_DOWN);
        size_t n = smt_app_tagged_count(app);
        smt_ui_message(app, SMT_LOGL_INFO, "%zu session%s tagged (D closes them, b updates them, U untags all)", n,
                       n == 1 ? "" : "s");
        break;
    }
    case SMT_ACT_TAG_CLEAR:
        smt_app_clear_tags(app);
        smt_ui_message(app, SMT_LOGL_INFO, "no session tagged");
        break;
    case SMT_ACT_COPY_ID:
    case SMT_ACT_COPY_ROW: {
        smt_row *r = smt_ui_selected_row(app);
        if (!r) {
            smt_ui_message(app, SMT_LOGL_WARN, "no session under the cursor to copy");
            break;
        }
        if (a == SMT_ACT_COPY_ID) {
            smt_app_copy(app, "the session ID", r->id);
            break;
        }
        char line[SMT_CLIPBOARD_MAX + 1], buf[64];
        size_t off = 0;
        for (int c = 0; c < app->ncols && off < sizeof line; c++)
            off += smt_text_printf(line + off, sizeof line - off, "%s%s", c ? "\t" : "",
                                   smt_ui_cell_text(r, app->cols[c].key, buf, sizeof buf));
        smt_app_copy(app, "the row", line);
        break;
    }
    case SMT_ACT_PAUSE:
        smt_view_set_paused(app->view, !smt_view_paused(app->view));
        smt_ui_message(app, SMT_LOGL_INFO, "%s",
                      smt_view_paused(app->view) ? "paused: changes queue up (p resumes)" : "resumed");
        break;
    default: return SMT_UNHANDLED;
    }
    return SMT_HANDLED;
}

/* Line 0 is the column titles (a click sorts), then one session per line. */
static bool table_click(void *state, int row, int x)
{
    smt_table_pane *t = state;
    smt_app *app = t->app;
    if (row == 0) {
        for (int i = 0; i < app->ncols; i++)
            if (t->col_x[i] >= 0 && x >= t->col_x[i] && x < t->col_x[i] + app->cols[i].width + 1) {
                smt_ui_sort_by(app, app->cols[i].key);
                break;
            }
        return false;
    }
    size_t rank;
    smt_list_resize(&t->nav, smt_view_count(app->view), table_rows(t));
    if (!smt_list_item_at_row(&t->nav, row - 1, &rank))
        return false;
    select_rank(t, rank);
    t->sel_offset = (int)(t->nav.cursor - t->nav.top);
    return true;
}

static void *table_create(smt_app *app)
{
    smt_table_pane *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->app = app;
    smt_list_init(&t->nav, false);
    for (int i = 0; i <= SMT_UI_MAX_COLUMNS; i++)
        t->col_x[i] = -1;
    return t;
}

const smt_pane_ops smt_pane_table = {
    .name = "table",
    .ctx = SMT_CTX_TABLE,
    .layout = SMT_LAYOUT_BASE,
    .hint = " / search  f filter  Enter inspect  e edit  b bulk  p pause  t theme  ? help  q quit",
    .hint_read_only = " / search  f filter  Enter inspect  c columns  p pause  t theme  ? help  q quit",
    .create = table_create,
    .destroy = free,
    .draw = table_draw,
    .action = table_action,
    .click = table_click,
};
