/* The column chooser pane: show, hide, order and sort the table's columns; save them. */
#include <stdlib.h>
#include <string.h>

#include "tui/pane_columns.h"
#include "tui/screen.h"
#include "tui/text.h"

typedef struct col_item {
    const char *key;
    size_t count;
    int visible; /* index in app->cols, -1 when hidden */
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
static col_item *column_items(smt_app *app, int *count)
{
    size_t nk = smt_model_key_count(app->model);
    size_t cap = (size_t)app->ncols + nk + sm_fixed_property_count + 2;
    col_item *items = calloc(cap, sizeof *items);
    if (!items) {
        *count = 0;
        return NULL;
    }
    int n = 0;
    for (int i = 0; i < app->ncols; i++)
        items[n++] = (col_item){app->cols[i].key, 0, i};
    int hidden_start = n;
    for (size_t i = 0; i < nk; i++) {
        const smt_keystat *k = smt_model_key_at(app->model, i);
        add_hidden(items, &n, hidden_start, cap, k->key, k->count); /* model keys are unique already */
    }
    for (size_t i = 0; i < sm_fixed_property_count; i++)
        add_hidden(items, &n, n, cap, sm_fixed_property_names[i], 0);
    add_hidden(items, &n, n, cap, SMT_COL_STATE, 0);
    add_hidden(items, &n, n, cap, SMT_COL_AGE, 0);
    qsort(items + hidden_start, (size_t)(n - hidden_start), sizeof *items, cmp_items);
    *count = n;
    return items;
}


static void columns_draw(void *state, int y, int h)
{
    smt_columns_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    int n;
    col_item *items = column_items(app, &n);
    smt_screen_str(y, 0, w, " Columns: Space shows/hides, K/J moves, s sorts, r resets, w saves, Esc closes",
                   SMT_ROLE_PANE_TITLE);
    int rows = h - 1;
    smt_list_resize(&p->nav, (size_t)n, rows);
    for (int i = 0; i < rows; i++) {
        int ly = y + 1 + i;
        size_t idx = p->nav.top + (size_t)i;
        if (idx >= (size_t)n) {
            smt_screen_fill(ly, 0, w, SMT_ROLE_PANE);
            continue;
        }
        col_item *it = &items[idx];
        smt_role role = idx == p->nav.cursor ? SMT_ROLE_ROW_SELECTED : SMT_ROLE_PANE;
        char head[32];
        if (it->visible >= 0)
            smt_text_printf(head, sizeof head, " [x] %2d  ", it->visible + 1);
        else
            smt_text_printf(head, sizeof head, " [ ]     ");
        smt_screen_fill(ly, 0, w, role);
        int x = smt_screen_str(ly, 0, (int)strlen(head), head, role);
        int kw = w - x - 18;
        x += smt_screen_str(ly, x, kw > 0 ? kw : 0,
                            strcmp(it->key, SMT_COL_STATE) == 0 ? "$State (session state)"
                            : strcmp(it->key, SMT_COL_AGE) == 0 ? "Age (since $StartTime)"
                                                               : it->key,
                            role);
        if (it->count) {
            char c[32];
            smt_text_printf(c, sizeof c, "%zu session%s", it->count, it->count == 1 ? "" : "s");
            smt_screen_str(ly, x, w - x, c, role);
        }
    }
    free(items);
}

static smt_handled columns_action(void *state, smt_action a)
{
    smt_columns_pane *p = state;
    smt_app *app = p->app;
    int n;
    col_item *items = column_items(app, &n);
    if (!items)
        return SMT_UNHANDLED;
    smt_list_resize(&p->nav, (size_t)n, p->nav.rows); /* keys come and go between frames */
    smt_handled handled = SMT_HANDLED;
    size_t c = p->nav.cursor;
    col_item *it = c < (size_t)n ? &items[c] : NULL;
    switch (a) {
    case SMT_ACT_UP:
    case SMT_ACT_DOWN: smt_list_action(&p->nav, a); break;
    case SMT_ACT_COL_TOGGLE:
        if (!it)
            break;
        app->cols_custom = true;
        if (it->visible >= 0) {
            if (app->ncols > 1)
                smt_ui_column_remove(app, it->visible);
            else
                smt_ui_message(app, SMT_LOGL_WARN, "the table needs at least one column");
        } else {
            char key[SM_KEY_MAX + 2];
            smt_text_printf(key, sizeof key, "%s", it->key);
            if (smt_ui_column_add(app, key)) {
                p->nav.count = (size_t)app->ncols; /* the new column is the last visible one */
                smt_list_select(&p->nav, (size_t)app->ncols - 1);
            } else {
                smt_ui_message(app, SMT_LOGL_WARN, "at most %d columns", SMT_UI_MAX_COLUMNS);
            }
        }
        break;
    case SMT_ACT_COL_MOVE_UP:
    case SMT_ACT_COL_MOVE_DOWN: {
        if (!it || it->visible < 0)
            break;
        int i = it->visible, j = a == SMT_ACT_COL_MOVE_UP ? i - 1 : i + 1;
        if (j < 0 || j >= app->ncols)
            break;
        smt_column tmp = app->cols[i];
        app->cols[i] = app->cols[j];
        app->cols[j] = tmp;
        smt_list_select(&p->nav, (size_t)j);
        app->cols_custom = true;
        break;
    }
    case SMT_ACT_COL_SORT:
        if (it) {
            char key[SM_KEY_MAX + 2];
            smt_text_printf(key, sizeof key, "%s", it->key);
            smt_ui_sort_by(app, key);
        }
        break;
    case SMT_ACT_COL_RESET:
        smt_ui_reset_columns(app);
        smt_list_select(&p->nav, 0);
        smt_ui_message(app, SMT_LOGL_INFO, "default columns restored");
        break;
    case SMT_ACT_COL_SAVE: smt_ui_ask_save_settings(app); break;
    default: handled = SMT_UNHANDLED;
    }
    free(items);
    return handled;
}

static bool columns_click(void *state, int row, int x)
{
    (void)x;
    smt_columns_pane *p = state;
    size_t item;
    if (!smt_list_item_at_row(&p->nav, row - 1, &item)) /* line 0 is the title */
        return false;
    smt_list_select(&p->nav, item);
    return true;
}

static bool columns_open(void *state)
{
    smt_columns_pane *p = state;
    smt_list_select(&p->nav, 0);
    return true;
}

static void *columns_create(smt_app *app)
{
    smt_columns_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, false);
    return p;
}

const smt_pane_ops smt_pane_columns = {
    .name = "columns",
    .ctx = SMT_CTX_COLUMNS,
    .layout = SMT_LAYOUT_FULL,
    .open_action = SMT_ACT_COLUMNS,
    .toggles = true,
    .hint = " Space show/hide  K/J move  s sort  r reset  w save  Esc close",
    .create = columns_create,
    .destroy = free,
    .open = columns_open,
    .draw = columns_draw,
    .action = columns_action,
    .click = columns_click,
};
