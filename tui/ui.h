/* The monitor's dispatcher: owns the screen, the key dispatch, the pane stack, the header and the bars. */
#ifndef SMT_TUI_UI_H
#define SMT_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/header.h"
#include "tui/input.h"
#include "tui/keys.h"
#include "tui/pane.h"
#include "tui/services.h"
#include "tui/settings.h"
#include "tui/theme.h"

#define SMT_UI_MIN_COLS 40
#define SMT_UI_MIN_ROWS 10
#define SMT_UI_STACK_MAX 4 /* the table, a pane, the help over it */
#define SMT_UI_BAR_HITS 16


typedef struct smt_ui_options {
    const char *url;
    const char *principal;
    bool read_only;      /* --read-only */
    const char *filter;  /* --filter (already validated) */
    const smt_theme *theme;
    bool allow_color;    /* false under NO_COLOR without --theme */
    bool mouse;
} smt_ui_options;

/* A key bar entry of the last frame, for mouse clicks. */
typedef struct smt_bar_hit {
    int x0, x1;
    int32_t key;
} smt_bar_hit;

typedef struct smt_ui {
    smt_app app; /* what the panes share */

    smt_link link; /* the connection, for the header */
    bool can_modify;           /* the principal has modify_session (known once opened) */

    char themes[SMT_UI_MAX_THEMES][SMT_THEME_NAME_MAX];
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
} smt_ui;

/* Creates the UI over a new model and view, with every pane of the registry (the terminal is not
 * touched). backend sends its requests (NULL: none yet; smt_ui_set_backend installs or removes one). */
smt_ui *smt_ui_new(const smt_ui_options *opt, const smt_ui_backend *backend);
void smt_ui_free(smt_ui *ui);
void smt_ui_set_backend(smt_ui *ui, const smt_ui_backend *backend);

/* Sets now/wall for this loop pass. */
void smt_ui_set_time(smt_ui *ui, uint64_t now_ms, int64_t wall_ms);

/* Connection facts for the header. */
void smt_ui_set_connection(smt_ui *ui, smt_conn_state st, const char *detail);
/* A connection attempt failed (reason: untrusted text, escaped when drawn): the header shows it
 * with the attempt number and a countdown to the next one (next_retry_ms from now, -1 = none)
 * until the connection state changes. reason NULL clears it. */
void smt_ui_set_connect_failure(smt_ui *ui, const char *reason, unsigned attempt, int next_retry_ms);
void smt_ui_set_session_info(smt_ui *ui, const char *server_name, const char *principal, bool can_modify);
/* Something came from the server (an event, a reply, a pong): the header's liveness clock. */
void smt_ui_heard(smt_ui *ui);
/* The server's heartbeat interval (ms, from the session info): silence past it shows STALE. */
void smt_ui_set_heartbeat(smt_ui *ui, int64_t heartbeat_ms);
/* The monitor's own session ID (from the session info): when the connection drops, its row
 * is shown DISCONNECTED at once (the monitor knows it is), not ACTIVE until the resync. */
void smt_ui_set_own_session(smt_ui *ui, const char *session_id);
/* Turns read-only mode on with a reason shown in the header. It can never be turned off. */
void smt_ui_set_read_only(smt_ui *ui, const char *reason);

/* Listener events and resync. */
void smt_ui_event(smt_ui *ui, const smt_event *ev);
void smt_ui_resync_begin(smt_ui *ui);
void smt_ui_resync_end(smt_ui *ui, uint64_t count);

/* A reply to a request sent through the backend: routed to the pane that sent it. */
void smt_ui_reply(smt_ui *ui, uint64_t token, const smt_reply *reply);

/* One key (see SMT_KEY_FN in keys.h). KEY_MOUSE is read with getmouse() inside. */
void smt_ui_key(smt_ui *ui, int32_t key);
/* One mouse event from the decoder (input.h). */
void smt_ui_mouse(smt_ui *ui, const smt_mouse *m);
/* The terminal changed size (after resizeterm). */
void smt_ui_resized(smt_ui *ui);

/* Timers: retire faded rows, the panes' timers. Returns ms until the next timer, -1 = none. */
int64_t smt_ui_tick(smt_ui *ui);

/* Paints one frame into stdscr (werase, draw, wnoutrefresh, doupdate). */
void smt_ui_paint(smt_ui *ui);
/* Applies the current theme to curses (after initscr and after a theme change). */
void smt_ui_apply_theme(smt_ui *ui);

/* Starts with saved columns and sort (settings may be NULL); path is where w in the column
 * chooser saves (NULL or "": saving is not offered). */
void smt_ui_use_settings(smt_ui *ui, const smt_settings *settings, const char *path);

/* The panes by name (for tests and the frame statistics): the state of one, whether it is
 * shown, the pane shown in the body ("" = only the table). */
void *smt_ui_pane_state(smt_ui *ui, const char *name);
bool smt_ui_showing(const smt_ui *ui, const char *name);
const char *smt_ui_body_pane(const smt_ui *ui);
/* Shows a pane without asking it (tests: a pane forced open behind the key table's back). */
void smt_ui_force_pane(smt_ui *ui, const char *name);
/* Closes everything above the table. */
void smt_ui_close_panes(smt_ui *ui);
/* Hands an action to a pane as a key bound in its context would. */
smt_handled smt_ui_pane_action(smt_ui *ui, const char *name, smt_action a);

#endif
