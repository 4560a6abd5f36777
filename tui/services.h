/* What every pane of the monitor may use: the sessions, the status line, the dialog, the prompt,
 * the columns, the selected session, read-only mode and requests to the server. */
#ifndef SMT_SERVICES_H
#define SMT_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sessmon.h"
#include "core/error.h"
#include "core/props.h"
#include "tui/eventlog.h"
#include "tui/form.h"
#include "tui/lineedit.h"
#include "tui/model.h"
#include "tui/theme.h"
#include "tui/view.h"

#define SMT_UI_MAX_COLUMNS 48
#define SMT_UI_AUTO_USER_COLUMNS 12 /* user keys shown automatically until columns are chosen */
#define SMT_UI_MAX_THEMES 64
#define SMT_CLIPBOARD_MAX 4096 /* bytes copied to the clipboard at most */

/* Sends mutations for the monitor. Both return 0 when the request is on its way (its reply
 * comes back through smt_ui_reply with the same token) or -1 with a message in err. */
typedef struct smt_ui_backend {
    void *ctx;
    int (*set)(void *ctx, uint64_t token, const char *session_id, const sm_property *props, size_t n, char *err,
               size_t errcap);
    int (*set_by_filter)(void *ctx, uint64_t token, const char *filter, const sm_property *props, size_t n, char *err,
                         size_t errcap);
    /* Closes every session matching filter; the reply's count is how many the server closed. */
    int (*close_by_filter)(void *ctx, uint64_t token, const char *filter, char *err, size_t errcap);
} smt_ui_backend;

/* The server's answer to a request: code SM_CLIENT_OK or why it failed; changed (previous
 * values) and count by request kind. */
typedef struct smt_reply {
    sm_client_errcode code;
    const char *message;
    const sm_property *changed;
    size_t changed_count;
    uint64_t count;
} smt_reply;

typedef struct smt_column {
    char key[SM_KEY_MAX + 2];
    int width; /* grows at once to fit what is shown, shrinks once it was too wide for a while */
    uint64_t narrower_since; /* monotonic ms since when the rows shown need less (0 = they do not) */
} smt_column;

/* The one-line prompt at the bottom: whoever opened it is told of every change. */
typedef enum smt_prompt_kind {
    SMT_PROMPT_NONE = 0,
    SMT_PROMPT_FILTER,     /* the view filter */
    SMT_PROMPT_SEARCH,     /* incremental search */
    SMT_PROMPT_BULK_FILTER, /* the bulk update's filter */
    SMT_PROMPT_CLOSE_FILTER, /* the close pane's filter */
    /* issue 13: the event log's filter, a file name, the : command line */
    SMT_PROMPT_LOG_FILTER,
    SMT_PROMPT_TEXT,
    SMT_PROMPT_COMMAND
} smt_prompt_kind;

typedef struct smt_prompt {
    smt_prompt_kind kind;
    const char *label;
    smt_line line;
    char saved[SMT_LINE_MAX + 1]; /* what Esc puts back */
    char error[SM_ERROR_MESSAGE_MAX];
    size_t error_column;         /* 1-based, 0 = none */
    bool mutates;                /* closed when read-only mode starts */
    void (*changed)(void *owner, const char *text);
    bool (*accept)(void *owner); /* Enter: false keeps the prompt open (NULL = always accept) */
    void *owner;
    /* issue 13: sees each key first (Tab completion, Up/Down history); true = consumed. NULL = none */
    bool (*key)(void *owner, int32_t key);
} smt_prompt;

typedef struct smt_app {
    smt_model *model;
    smt_view *view;
    smt_ui_backend backend;
    smt_eventlog log;

    bool live;      /* the connection is up and the snapshot complete: the table is current */
    bool read_only; /* once set, never cleared */
    bool server_audits; /* the server said it audits changes: confirmations say so */
    char read_only_reason[96];

    /* the table's columns: shared by the table, the chooser and the saved settings */
    smt_column cols[SMT_UI_MAX_COLUMNS];
    int ncols;
    bool cols_custom; /* the user chose columns: stop adding user keys automatically */
    int hscroll;      /* first scrolled column (column 0 stays pinned) */

    const char *selected; /* interned ID of the selected session, or NULL */

    smt_form form;     /* kind SMT_FORM_NONE = closed */
    smt_prompt prompt; /* kind SMT_PROMPT_NONE = closed */

    char message[320];
    smt_log_level message_level;
    uint64_t message_until;

    char settings_path[1024]; /* "" = saving is not possible */
    smt_theme theme;
    bool allow_color;

    int screen_rows, screen_cols;
    uint64_t now;  /* monotonic ms of this pass */
    int64_t wall;  /* ms since the epoch of this pass */
    bool dirty;    /* something changed since the last paint */
    bool quit;
    uint64_t next_token;

    /* the dispatcher's hook to show a pane by name (for services that open one) */
    bool (*open_pane)(void *ctx, const char *name);
    void *open_pane_ctx;
    /* what the close pane opens on when asked through smt_close_open_by_filter ("" = none) */
    char close_request[SM_FILTER_MAX + 1];
    /* an OSC 52 clipboard write waiting to go to the terminal ("" = none); the loop sends it */
    char clipboard_osc[SMT_CLIPBOARD_MAX * 4 / 3 + 16];
} smt_app;

/* A message in the status line (and the event log). */
void smt_ui_message(smt_app *app, smt_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A hint in the status line only (not the event log): guidance such as an unbound key. */
void smt_ui_hint(smt_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True unless read-only mode is on (then says why what was refused). */
bool smt_ui_guard_write(smt_app *app, const char *what);
/* Whether a request that failed with this code may still have been applied: the connection
 * dropped, the reply timed out or the session went away after it was sent. */
bool smt_ui_outcome_unknown(sm_client_errcode code);
uint64_t smt_ui_new_token(smt_app *app);

/* Requests through the backend; 0 when sent, else -1 with a message in err. */
int smt_app_send_set(smt_app *app, uint64_t token, const char *session_id, const sm_property *props, size_t n,
                     char *err, size_t errcap);
int smt_app_send_set_by_filter(smt_app *app, uint64_t token, const char *filter, const sm_property *props, size_t n,
                               char *err, size_t errcap);

smt_row *smt_ui_selected_row(smt_app *app);
void smt_app_select(smt_app *app, const char *id);

/* Opens the dialog; changed and submit are called with owner (changed may be NULL). */
smt_form *smt_app_open_form(smt_app *app, smt_form_kind kind, const char *title, int nfields,
                            void (*changed)(void *owner), void (*submit)(void *owner), void *owner);
void smt_ui_close_form(smt_app *app);
/* A confirmation of a change: when the server audits changes, the dialog says so (in its first
 * free text line, else after the last one). */
void smt_form_say_audited(const smt_app *app, smt_form *f);
/* Opens the prompt with a text; changed is called with the text after every edit. */
smt_prompt *smt_app_start_prompt(smt_app *app, smt_prompt_kind kind, const char *label, const char *initial,
                                 void (*changed)(void *owner, const char *text), bool (*accept)(void *owner),
                                 void *owner);
void smt_app_close_prompt(smt_app *app);

/* Columns: display text of a cell ($StartTime formatted, the state column), titles, add/remove/find. */
const char *smt_ui_cell_text(const smt_row *row, const char *key, char *buf, size_t cap);
/* The wall clock (ms since the epoch) the age column is computed against. */
void smt_ui_cell_clock(int64_t wall_ms);
const char *smt_column_title(const char *key);
int smt_ui_column_index(const smt_app *app, const char *key);
bool smt_ui_column_add(smt_app *app, const char *key);
void smt_ui_column_remove(smt_app *app, int index);
void smt_ui_reset_columns(smt_app *app);
/* Sorts by key (toggles the direction when it is already the sort key). */
void smt_ui_sort_by(smt_app *app, const char *key);
/* Asks whether to save the columns, sort and theme to the settings file. */
void smt_ui_ask_save_settings(smt_app *app);


/* ---- tagging, closing and the view filter (also for the command line) ---- */

/* Tags (Space in the table): a mark on rows that close and bulk update can work on. Tagging
 * toggles; closed sessions leave the count. */
void smt_app_tag_toggle(smt_app *app, smt_row *row);
size_t smt_app_tagged_count(smt_app *app);
void smt_app_clear_tags(smt_app *app);
/* The tagged open sessions as one filter ($SessionId in [...]): false with why when there are
 * none or they do not fit in a filter (SM_FILTER_MAX bytes, about 180 sessions). */
bool smt_app_tagged_filter(smt_app *app, char *out, size_t cap, char *why, size_t whycap);

/* Sets the view filter as the filter prompt does (NULL or "" clears it); says so in the status
 * line. SM_OK, or an error with its column in err (the old filter stays). */
int smt_app_set_view_filter(smt_app *app, const char *text, sm_error *err);

/* Opens the close pane on the sessions matching text (NULL or "": the tagged sessions, else the
 * cursor's session): preview and confirmation as with c in the table. False with why in err
 * (read-only, the filter does not parse, nothing to close). */
bool smt_close_open_by_filter(smt_app *app, const char *text, char *err, size_t errcap);
/* Copies text to the terminal's clipboard with OSC 52 (what says what was copied). Terminals
 * may ignore it (xterm needs allowWindowOps, tmux set-clipboard on): the message says so. */
void smt_app_copy(smt_app *app, const char *what, const char *text);

/* True when a filter uses what only the monitor knows ($State): the server would evaluate it
 * differently, so bulk update and close refuse to send it (why says so). */
bool smt_filter_monitor_only(const char *text, char *why, size_t cap);

/* One close_by_filter request through the backend; 0 when sent, else -1 with a message in err. */
int smt_app_send_close_by_filter(smt_app *app, uint64_t token, const char *filter, char *err, size_t errcap);
/* issue 13 (the command line; defined in ui.c): open a pane by name as its key would (false when
 * it refused or does not exist), a pane's state by name, apply app->theme to the terminal. */
bool smt_app_open_pane(smt_app *app, const char *name);
void *smt_app_pane_state(smt_app *app, const char *name);
/* Closes the panes when the one named is shown in the body. */
void smt_app_close_pane(smt_app *app, const char *name);
void smt_app_apply_theme(smt_app *app);

#endif
