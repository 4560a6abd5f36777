/* The monitor's dispatcher: owns the screen, the key dispatch, the pane stack, the header and the bars. */
#ifndef SM_TUI_UI_H
#define SM_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/keys.h"
#include "tui/pane.h"
#include "tui/services.h"
#include "tui/settings.h"
#include "tui/theme.h"

#define SM_UI_MIN_COLS 40
#define SM_UI_MIN_ROWS 10
#define SMT_UI_STACK_MAX 4 /* the table, a pane, the help over it */
#define SMT_UI_BAR_HITS 16

typedef enum sm_conn_state {
    SM_CONN_CONNECTING = 0,
    SM_CONN_SYNCING,      /* connected, snapshot arriving */
    SM_CONN_LIVE,
    SM_CONN_RECONNECTING, /* dropped; the library retries */
    SM_CONN_CLOSED        /* final */
} sm_conn_state;

typedef struct sm_ui_options {
    const char *url;
    const char *principal;
    bool read_only;      /* --read-only */
    const char *filter;  /* --filter (already validated) */
    const sm_theme *theme;
    bool allow_color;    /* false under NO_COLOR without --theme */
    bool mouse;
} sm_ui_options;

/* A key bar entry of the last frame, for mouse clicks. */
typedef struct smt_bar_hit {
    int x0, x1;
    int32_t key;
} smt_bar_hit;

typedef struct sm_ui {
    smt_app app; /* what the panes share */

    /* the connection, for the header */
    char url[256];
    char server_name[128];
    char principal[128];
    sm_conn_state conn;
    char conn_detail[160];
    int64_t stale_since;       /* wall ms when the connection stopped being live (0 = live) */
    uint64_t conn_since;       /* monotonic ms of the last connection state change */
    char conn_failure[160];    /* why the last connection attempt failed ("" = none since the last state change) */
    unsigned conn_attempt;     /* its number since the session was last open */
    uint64_t conn_retry_at;    /* monotonic ms of the next attempt, 0 = none will be made */
    bool can_modify;           /* the principal has modify_session (known once opened) */

    char themes[SM_UI_MAX_THEMES][SM_THEME_NAME_MAX];
    size_t nthemes;

    /* the panes: one state per registry entry, and the stack of those shown (the table first) */
    void **panes;
    int stack[SMT_UI_STACK_MAX];
    int depth;

    /* layout of the last frame */
    int pane_y, pane_h;
    bool too_small;
    smt_bar_hit bar_hits[SMT_UI_BAR_HITS];
    int nbar_hits;

    bool mouse;
    double last_paint_ms;
    uint64_t mark_due;   /* repaint when a highlight or a fading row changes (0 = none) */
    uint64_t header_due; /* the header's rates are repainted once a second */
} sm_ui;

/* Sends mutations for the UI (see services.h). */
sm_ui *sm_ui_new(const sm_ui_options *opt, const sm_ui_backend *backend);
void sm_ui_free(sm_ui *ui);
void sm_ui_set_backend(sm_ui *ui, const sm_ui_backend *backend);

/* Sets now/wall for this loop pass. */
void sm_ui_set_time(sm_ui *ui, uint64_t now_ms, int64_t wall_ms);

/* Connection facts for the header. */
void sm_ui_set_connection(sm_ui *ui, sm_conn_state st, const char *detail);
/* A connection attempt failed (reason: untrusted text, escaped when drawn): the header shows it
 * with the attempt number and a countdown to the next one (next_retry_ms from now, -1 = none)
 * until the connection state changes. reason NULL clears it. */
void sm_ui_set_connect_failure(sm_ui *ui, const char *reason, unsigned attempt, int next_retry_ms);
void sm_ui_set_session_info(sm_ui *ui, const char *server_name, const char *principal, bool can_modify);
/* Turns read-only mode on with a reason shown in the header. It can never be turned off. */
void sm_ui_set_read_only(sm_ui *ui, const char *reason);

/* Listener events and resync. */
void sm_ui_event(sm_ui *ui, const smt_event *ev);
void sm_ui_resync_begin(sm_ui *ui);
void sm_ui_resync_end(sm_ui *ui, uint64_t count);

/* A reply to a request sent through the backend: routed to the pane that sent it. */
void sm_ui_reply(sm_ui *ui, uint64_t token, const smt_reply *reply);

/* One key (see SM_KEY_FN in keys.h). KEY_MOUSE is read with getmouse() inside. */
void sm_ui_key(sm_ui *ui, int32_t key);
/* The terminal changed size (after resizeterm). */
void sm_ui_resized(sm_ui *ui);

/* Timers: retire faded rows, the panes' timers. Returns ms until the next timer, -1 = none. */
int64_t sm_ui_tick(sm_ui *ui);

/* Paints one frame into stdscr (werase, draw, wnoutrefresh, doupdate). */
void sm_ui_paint(sm_ui *ui);
/* Applies the current theme to curses (after initscr and after a theme change). */
void sm_ui_apply_theme(sm_ui *ui);

/* Starts with saved columns and sort (settings may be NULL); path is where w in the column
 * chooser saves (NULL or "": saving is not offered). */
void sm_ui_use_settings(sm_ui *ui, const sm_settings *settings, const char *path);

/* The panes by name (for tests and the frame statistics): the state of one, whether it is
 * shown, the pane shown in the body ("" = only the table). */
void *smt_ui_pane_state(sm_ui *ui, const char *name);
bool smt_ui_showing(const sm_ui *ui, const char *name);
const char *smt_ui_body_pane(const sm_ui *ui);
/* Shows a pane without asking it (tests: a pane forced open behind the key table's back). */
void smt_ui_force_pane(sm_ui *ui, const char *name);
/* Closes everything above the table. */
void smt_ui_close_panes(sm_ui *ui);
/* Hands an action to a pane as a key bound in its context would. */
smt_handled smt_ui_pane_action(sm_ui *ui, const char *name, sm_action a);

#endif
