/* The contract between the monitor's dispatcher (ui.c) and its panes: one ops table per pane.
 *
 * A pane is one file with its own state struct and a static const smt_pane_ops; adding one is
 * that file plus one line in pane_registry.c (and its key bindings in keys.c). A pane sees the
 * shared services (services.h) and nothing of the dispatcher or of any other pane. Modelled on
 * tmux's window modes (struct window_mode) and htop's PanelClass. */
#ifndef SMT_PANE_H
#define SMT_PANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/keys.h"
#include "tui/services.h"

/* Where a pane goes on the screen. */
typedef enum smt_layout {
    SMT_LAYOUT_BASE = 0, /* the session table: always there, under everything */
    SMT_LAYOUT_SPLIT,    /* under the table, which keeps the upper part */
    SMT_LAYOUT_FULL,     /* the whole body instead of the table */
    SMT_LAYOUT_OVERLAY   /* over the body, modal (help) */
} smt_layout;

typedef enum smt_handled {
    SMT_UNHANDLED = 0, /* the dispatcher tries its global actions, then the table */
    SMT_HANDLED,
    SMT_CLOSE          /* handled, and the pane closes */
} smt_handled;

typedef struct smt_pane_ops {
    const char *name;   /* for tests and messages: "table", "inspect", ... */
    smt_ctx ctx;         /* the key table context while it has the focus */
    smt_layout layout;
    smt_action open_action; /* the global action that opens it (SMT_ACT_NONE: the base) */
    bool toggles;          /* open_action again closes it */
    const char *guard;     /* non-NULL: changes sessions; refused and closed in read-only mode ("editing") */
    const char *hint;      /* the status line while it has the focus (NULL = the table's) */
    const char *hint_read_only;

    void *(*create)(smt_app *app); /* NULL on out of memory */
    void (*destroy)(void *state);
    /* It is about to be shown: reset its view; false refuses (with a message). NULL = always. */
    bool (*open)(void *state);
    void (*draw)(void *state, int y, int h);
    smt_handled (*action)(void *state, smt_action a);
    /* Mouse: a click on line row of the pane (0 = its first line) at column x; the wheel. */
    bool (*click)(void *state, int row, int x); /* true: it picked an item */
    void (*wheel)(void *state, int dir); /* NULL: three Up or Down actions */
    /* The user picked a session in the table while this pane is shown and no dialog is open. */
    void (*picked)(void *state, const char *id);
    /* A reply from the server; false when the token is not this pane's. */
    bool (*reply)(void *state, uint64_t token, const smt_reply *r);
    /* Timers (shown: it is on screen). Returns ms until it wants to run again, -1 = never. */
    int64_t (*tick)(void *state, bool shown);
    /* Work in flight that quitting would cut short: true with a sentence in what. */
    bool (*busy)(void *state, char *what, size_t cap);
    /* A listener event was just applied to the model (snapshot events included); ev NULL: many
     * rows changed at once (a resync ended), recount. For panes that keep figures per event
     * (group-by counts, history, the event log) instead of recomputing them per frame. */
    void (*event)(void *state, const smt_event *ev);
} smt_pane_ops;

/* Every pane, the base (the table) first; defined in pane_registry.c. */
extern const smt_pane_ops *const smt_panes[];
extern const size_t smt_npanes;

#endif
