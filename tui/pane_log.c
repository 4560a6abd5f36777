/* The event log pane: what the monitor did and saw, newest at the bottom, scrolled back on demand. */
#include <stdlib.h>
#include <string.h>

#include "tui/listnav.h"
#include "tui/pane.h"
#include "tui/screen.h"
#include "tui/text.h"

typedef struct log_pane {
    smt_app *app;
    smt_list nav;       /* a viewport counted from the newest entry: top = entries scrolled back */
    bool hide_sessions; /* leaves out session lifecycle lines */
} log_pane;

/* The entries the pane lists, and the lines it has: the bounds every key is clamped to. */
static void log_measure(log_pane *p, int rows)
{
    smt_list_resize(&p->nav, smt_eventlog_count_filtered(&p->app->log, !p->hide_sessions), rows);
}

static void log_draw(void *state, int y, int h)
{
    log_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    bool sessions = !p->hide_sessions;
    int rows = h - 1;
    log_measure(p, rows);
    size_t n = p->nav.count;
    char buf[160];
    smt_text_printf(buf, sizeof buf, " Event log: %zu entries%s%s  (s %s session lines, Esc closes)", n,
                   sessions ? "" : " without session lines", p->nav.top ? " (scrolled; End follows)" : "",
                   sessions ? "hides" : "shows");
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    if (rows <= 0)
        return;
    size_t end = n - p->nav.top; /* exclusive */
    size_t start = end > (size_t)rows ? end - (size_t)rows : 0;
    for (int i = 0; i < rows; i++) {
        int ly = y + 1 + i;
        size_t idx = start + (size_t)i;
        if (idx >= end) {
            smt_screen_fill(ly, 0, w, SMT_ROLE_PANE);
            continue;
        }
        const smt_log_entry *e = smt_eventlog_at_filtered(&app->log, sessions, idx);
        smt_role role = e->level == SMT_LOGL_ERROR ? SMT_ROLE_LOG_ERROR
                       : e->level == SMT_LOGL_WARN ? SMT_ROLE_LOG_WARN
                                                  : SMT_ROLE_LOG_INFO;
        char t[16] = "--:--:--";
        if (e->wall_ms > 0)
            smt_text_format_time(e->wall_ms, true, t, sizeof t);
        smt_screen_fill(ly, 0, w, role);
        smt_screen_str(ly, 0, 9, t, role);
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
}

static smt_handled log_action(void *state, smt_action a)
{
    log_pane *p = state;
    log_measure(p, p->nav.rows); /* entries arrive between frames */
    long page = (long)smt_list_page(&p->nav);
    switch (a) { /* the list counts back from the newest: up the screen is forward in it */
    case SMT_ACT_UP: smt_list_move(&p->nav, 1); return SMT_HANDLED;
    case SMT_ACT_DOWN: smt_list_move(&p->nav, -1); return SMT_HANDLED;
    case SMT_ACT_PGUP: smt_list_move(&p->nav, page); return SMT_HANDLED;
    case SMT_ACT_PGDN: smt_list_move(&p->nav, -page); return SMT_HANDLED;
    case SMT_ACT_HOME: smt_list_select(&p->nav, p->nav.count); return SMT_HANDLED;
    case SMT_ACT_END: smt_list_select(&p->nav, 0); return SMT_HANDLED;
    case SMT_ACT_LOG_SESSIONS:
        p->hide_sessions = !p->hide_sessions;
        smt_list_select(&p->nav, 0);
        return SMT_HANDLED;
    default: return SMT_UNHANDLED;
    }
}

static bool log_open(void *state)
{
    log_pane *p = state;
    smt_list_select(&p->nav, 0);
    return true;
}

static void *log_create(smt_app *app)
{
    log_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, true);
    return p;
}

const smt_pane_ops smt_pane_log = {
    .name = "log",
    .ctx = SMT_CTX_LOG,
    .layout = SMT_LAYOUT_FULL,
    .open_action = SMT_ACT_LOG,
    .toggles = true,
    .hint = " Up/Down PgUp/PgDn scroll  End follow  s session lines  Esc close",
    .create = log_create,
    .destroy = free,
    .open = log_open,
    .draw = log_draw,
    .action = log_action,
};
