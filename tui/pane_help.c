/* The help overlay: every key of every pane from the binding table, prompts, dialogs, mouse. */
#include <stdlib.h>
#include <string.h>

#include "tui/pane_help.h"
#include "tui/screen.h"
#include "tui/text.h"

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

typedef void (*help_fn)(void *ctx, int i, const char *text, size_t len, int indent, smt_role role);

/* Emits text as one or more lines of at most width columns; continuation lines are indented. */
static void help_wrapped(help_fn fn, void *ctx, int *n, const char *text, int first_indent, int indent, int width,
                         smt_role role)
{
    size_t len = strlen(text), pos = 0;
    int avail = width - first_indent;
    do {
        size_t end = avail > 8 ? smt_text_wrap(text, len, pos, avail) : len;
        if (fn)
            fn(ctx, *n, text + pos, end - pos, pos == 0 ? first_indent : indent, role);
        (*n)++;
        pos = end < len && text[end] == ' ' ? end + 1 : end;
        avail = width - indent;
    } while (pos < len);
}

/* Calls fn for every help line in order, wrapped to the screen width. */
static int help_lines(const smt_app *app, help_fn fn, void *ctx)
{
    int n = 0, width = app->screen_cols > 0 ? app->screen_cols - 1 : 79;
    char buf[400];
    for (int c = 0; c < SMT_CTX_COUNT; c++) {
        if (c == SMT_CTX_HELP)
            continue;
        if (n > 0 && fn)
            fn(ctx, n, "", 0, 0, SMT_ROLE_HELP);
        if (n > 0)
            n++;
        help_wrapped(fn, ctx, &n, smt_ctx_title((smt_ctx)c), 0, 2, width, SMT_ROLE_HELP_KEY);
        for (size_t i = 0; i < smt_keys_count(); i++) {
            const smt_binding *b = smt_keys_at(i);
            if (b->ctx != (smt_ctx)c)
                continue;
            bool allowed = smt_keys_allowed(b, app->read_only);
            smt_text_printf(buf, sizeof buf, "  %-13s%s %s%s", b->label, (b->flags & SMT_KEYF_GLOBAL) ? "*" : " ",
                            b->help, allowed ? "" : "  (read-only)");
            help_wrapped(fn, ctx, &n, buf, 0, HELP_INDENT, width, allowed ? SMT_ROLE_HELP : SMT_ROLE_HELP_DISABLED);
        }
    }
    if (fn)
        fn(ctx, n, "", 0, 0, SMT_ROLE_HELP);
    n++;
    help_wrapped(fn, ctx, &n, "Prompts (filter, search, bulk filter) and dialogs", 0, 2, width, SMT_ROLE_HELP_KEY);
    for (size_t i = 0; i < sizeof help_prompt_keys / sizeof *help_prompt_keys; i++) {
        smt_text_printf(buf, sizeof buf, "  %-13s  %s", help_prompt_keys[i].keys, help_prompt_keys[i].help);
        help_wrapped(fn, ctx, &n, buf, 0, HELP_INDENT, width, SMT_ROLE_HELP);
    }
    if (fn)
        fn(ctx, n, "", 0, 0, SMT_ROLE_HELP);
    n++;
    for (size_t i = 0; i < sizeof help_extra / sizeof *help_extra; i++)
        help_wrapped(fn, ctx, &n, help_extra[i], 0, 2, width, SMT_ROLE_HELP);
    return n;
}


int smt_help_line_count(const smt_help_pane *p)
{
    return help_lines(p->app, NULL, NULL);
}

typedef struct help_draw_ctx {
    int y, h, skip, cols;
} help_draw_ctx;

static void help_draw_line(void *vctx, int i, const char *text, size_t len, int indent, smt_role role)
{
    help_draw_ctx *c = vctx;
    int row = i - c->skip;
    if (row < 0 || row >= c->h)
        return;
    smt_screen_text(c->y + row, indent, c->cols - indent, text, len, role);
}

static void help_draw(void *state, int y, int h)
{
    smt_help_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    char title[160];
    smt_text_printf(title, sizeof title, " Help: every key (Up/Down/PgUp/PgDn scroll, Esc closes)%s",
                   app->read_only ? "  READ-ONLY: changes are disabled" : "");
    smt_screen_str(y, 0, w, title, SMT_ROLE_PANE_TITLE);
    int rows = h - 1;
    smt_list_resize(&p->nav, (size_t)smt_help_line_count(p), rows);
    for (int i = 0; i < rows; i++)
        smt_screen_fill(y + 1 + i, 0, w, SMT_ROLE_HELP);
    help_draw_ctx c = {y + 1, rows, (int)p->nav.top, w};
    help_lines(app, help_draw_line, &c);
}

static smt_handled help_action(void *state, smt_action a)
{
    smt_help_pane *p = state;
    smt_list_resize(&p->nav, (size_t)smt_help_line_count(p), p->nav.rows); /* the width may have changed */
    if (a == SMT_ACT_CLOSE)
        return SMT_CLOSE;
    smt_list_action(&p->nav, a);
    return SMT_HANDLED; /* modal: nothing else */
}

static bool help_open(void *state)
{
    smt_help_pane *p = state;
    smt_list_select(&p->nav, 0);
    return true;
}

static void *help_create(smt_app *app)
{
    smt_help_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, true);
    return p;
}

const smt_pane_ops smt_pane_help = {
    .name = "help",
    .ctx = SMT_CTX_HELP,
    .layout = SMT_LAYOUT_OVERLAY,
    .open_action = SMT_ACT_HELP,
    .hint = " Esc close  Up/Down/PgUp/PgDn/Space scroll",
    .create = help_create,
    .destroy = free,
    .open = help_open,
    .draw = help_draw,
    .action = help_action,
};
