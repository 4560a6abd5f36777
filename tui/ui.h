/* The monitor's screen: state, layout, key dispatch, header, session table, prompts and dialogs. */
#ifndef SM_TUI_UI_H
#define SM_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/props.h"
#include "core/protocol.h"
#include "tui/bulk.h"
#include "tui/edit.h"
#include "tui/eventlog.h"
#include "tui/keys.h"
#include "tui/lineedit.h"
#include "tui/model.h"
#include "tui/settings.h"
#include "tui/theme.h"
#include "tui/view.h"

#define SM_UI_MIN_COLS 40
#define SM_UI_MIN_ROWS 10
#define SM_UI_MAX_COLUMNS 48
#define SM_UI_AUTO_USER_COLUMNS 12 /* user keys shown automatically until columns are chosen */
#define SM_UI_MAX_THEMES 64

typedef enum sm_conn_state {
    SM_CONN_CONNECTING = 0,
    SM_CONN_SYNCING,      /* connected, snapshot arriving */
    SM_CONN_LIVE,
    SM_CONN_RECONNECTING, /* dropped; the library retries */
    SM_CONN_CLOSED        /* final */
} sm_conn_state;

typedef enum sm_pane {
    SM_PANE_NONE = 0,
    SM_PANE_INSPECT,
    SM_PANE_EDIT,
    SM_PANE_BULK,
    SM_PANE_LOG,
    SM_PANE_COLUMNS
} sm_pane;

typedef enum sm_prompt {
    SM_PROMPT_NONE = 0,
    SM_PROMPT_FILTER,     /* the view filter */
    SM_PROMPT_SEARCH,     /* incremental search */
    SM_PROMPT_BULK_FILTER /* the bulk update's filter */
} sm_prompt;

/* Dialogs of the edit and bulk panes. */
typedef enum sm_form_kind {
    SM_FORM_NONE = 0,
    SM_FORM_EDIT_ADD,
    SM_FORM_EDIT_CHANGE,
    SM_FORM_EDIT_DELETE,
    SM_FORM_EDIT_UNDO,
    SM_FORM_BULK_SET,
    SM_FORM_BULK_DELETE,
    SM_FORM_BULK_CONFIRM,
    SM_FORM_BULK_UNDO,
    SM_FORM_SETTINGS_SAVE,
    SM_FORM_QUIT
} sm_form_kind;

typedef struct sm_form {
    sm_form_kind kind;
    char title[160];
    char text[3][320];  /* explanation lines (raw; escaped when drawn) */
    int nfields;        /* 0 (a yes/no question), 1 or 2 */
    char label[2][24];
    sm_line field[2];
    bool locked[2];     /* shown but not editable (the key when changing a value) */
    int focus;
    char status[320];   /* validation result */
    bool hint;          /* status is guidance (nothing typed yet, next step), not an error */
    bool ok;            /* submit allowed */
    bool danger;
    char expect[32];    /* text the user must type to confirm ("" = y/Enter) */
} sm_form;

/* Sends mutations for the UI. Both return 0 when the request is on its way (its reply comes
 * back through sm_ui_reply with the same token) or -1 with a message in err. */
typedef struct sm_ui_backend {
    void *ctx;
    int (*set)(void *ctx, uint64_t token, const char *session_id, const sm_kv *props, size_t n, char *err,
               size_t errcap);
    int (*set_by_filter)(void *ctx, uint64_t token, const char *filter, const sm_kv *props, size_t n, char *err,
                         size_t errcap);
} sm_ui_backend;

typedef struct sm_column {
    char key[SM_KEY_MAX + 2];
    int width; /* sticky: grows to fit what was shown, reset on layout changes */
} sm_column;

typedef struct sm_ui_options {
    const char *url;
    const char *principal;
    bool read_only;      /* --read-only */
    const char *filter;  /* --filter (already validated) */
    const sm_theme *theme;
    bool allow_color;    /* false under NO_COLOR without --theme */
    bool mouse;
} sm_ui_options;

typedef struct sm_ui {
    sm_model *model;
    sm_view *view;
    sm_ui_backend backend;
    sm_eventlog log;

    /* header */
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
    bool read_only;            /* once set, never cleared */
    char read_only_reason[96];
    bool can_modify;           /* the principal has modify_session (known once opened) */

    /* table */
    sm_column cols[SM_UI_MAX_COLUMNS];
    int ncols;
    bool cols_custom;          /* the user chose columns: stop adding user keys automatically */
    int hscroll;               /* first scrolled column (column 0 stays pinned) */
    const char *selected;      /* interned ID the cursor follows, or NULL */
    size_t cursor, top;
    int sel_offset;            /* cursor - top, kept while rows move */

    /* panes and overlays */
    sm_pane pane;
    bool help;
    int help_scroll;
    int inspect_scroll;
    size_t log_scroll;         /* lines up from the newest */
    bool log_hide_sessions;    /* the log pane leaves out session lifecycle lines */
    int col_cursor;
    int col_top;               /* first chooser line drawn (for mouse clicks) */
    sm_prompt prompt;
    sm_line line;
    char prompt_saved[SM_LINE_MAX + 1];
    char prompt_error[SM_ERROR_MESSAGE_MAX];
    size_t prompt_error_column; /* 1-based, 0 = none */
    sm_form form;
    sm_edit edit;
    sm_bulk bulk;

    /* message line */
    char message[320];
    sm_log_level message_level;
    uint64_t message_until;

    char settings_path[1024]; /* "" = saving is not possible */

    /* themes */
    sm_theme theme;
    bool allow_color;
    char themes[SM_UI_MAX_THEMES][SM_THEME_NAME_MAX];
    size_t nthemes;

    /* layout of the last frame */
    int screen_rows, screen_cols;
    int table_y, table_h, pane_y, pane_h;
    int col_x[SM_UI_MAX_COLUMNS + 1]; /* x of each drawn column, -1 when not drawn */
    bool too_small;

    bool mouse;
    bool quit;
    bool dirty;                /* something changed since the last paint */
    uint64_t now;              /* monotonic ms of this pass */
    int64_t wall;              /* ms since the epoch of this pass */
    uint64_t next_token;
    double last_paint_ms;
    uint64_t mark_due;   /* repaint when a highlight or a fading row changes (0 = none) */
    uint64_t header_due; /* the header's rates are repainted once a second */
} sm_ui;

/* Creates the UI state over a new model and view. Does not touch the terminal. */
sm_ui *sm_ui_new(const sm_ui_options *opt, const sm_ui_backend *backend);
void sm_ui_free(sm_ui *ui);

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
void sm_ui_event(sm_ui *ui, const sm_event *ev);
void sm_ui_resync_begin(sm_ui *ui);
void sm_ui_resync_end(sm_ui *ui, uint64_t count);

/* A reply to a request sent through the backend. error_code NULL = success; changed/count by
 * request kind. */
void sm_ui_reply(sm_ui *ui, uint64_t token, const char *error_code, const char *error_message, const sm_kv *changed,
                 size_t changed_count, uint64_t count);

/* One key (see SM_KEY_FN in keys.h). KEY_MOUSE is read with getmouse() inside. */
void sm_ui_key(sm_ui *ui, int32_t key);
/* The terminal changed size (after resizeterm). */
void sm_ui_resized(sm_ui *ui);

/* Timers: retire faded rows, bulk recount and undo. Returns ms until the next timer, -1 = none. */
int64_t sm_ui_tick(sm_ui *ui);

/* Paints one frame into stdscr (werase, draw, wnoutrefresh, doupdate). */
void sm_ui_paint(sm_ui *ui);
/* Applies the current theme to curses (after initscr and after a theme change). */
void sm_ui_apply_theme(sm_ui *ui);

/* A message in the status line (and the event log). */
void sm_ui_message(sm_ui *ui, sm_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether a request that failed with this error code may still have been applied: the
 * connection dropped, the reply timed out or the session went away after it was sent. */
bool sm_ui_outcome_unknown(const char *error_code);

/* Helpers shared with the panes. */
bool sm_ui_guard_write(sm_ui *ui, const char *what);
sm_row *sm_ui_selected_row(sm_ui *ui);
uint64_t sm_ui_new_token(sm_ui *ui);
void sm_ui_open_form(sm_ui *ui, sm_form_kind kind, const char *title, int nfields);
/* True when a two-field form has the focus on its first field and the second is still empty:
 * Enter then moves on instead of submitting (an empty value is only sent on purpose). */
bool sm_ui_form_wants_next_field(const sm_form *f);
void sm_ui_close_form(sm_ui *ui);
void sm_ui_start_prompt(sm_ui *ui, sm_prompt kind, const char *initial);
/* Draws untrusted text s[0..len) at (y, x) in exactly w columns with a role. Returns columns used. */
int sm_ui_text(int y, int x, int w, const char *s, size_t len, int role);
/* Same for a NUL-terminated string. */
int sm_ui_str(int y, int x, int w, const char *s, int role);
/* Fills a line range with a role's background. */
void sm_ui_fill(int y, int x, int w, int role);
/* Display text of a cell (formatting $StartTime and the state column). */
const char *sm_ui_cell_text(const sm_row *row, const char *key, char *buf, size_t cap);
/* Default columns (used by the column chooser's reset). */
void sm_ui_reset_columns(sm_ui *ui);
/* Columns: add/remove/find. */
int sm_ui_column_index(const sm_ui *ui, const char *key);
bool sm_ui_column_add(sm_ui *ui, const char *key);
void sm_ui_column_remove(sm_ui *ui, int index);
/* Sorts by key (toggles the direction when it is already the sort key). */
void sm_ui_sort_by(sm_ui *ui, const char *key);
/* Starts with saved columns and sort (settings may be NULL); path is where w in the column
 * chooser saves (NULL or "": saving is not offered). */
void sm_ui_use_settings(sm_ui *ui, const sm_settings *settings, const char *path);
/* Asks whether to save the columns, sort and theme to the settings file (w in the chooser). */
void sm_ui_ask_save_settings(sm_ui *ui);

#endif
