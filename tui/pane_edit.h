/* The edit pane's state (for tests; the dispatcher knows it only by its ops). */
#ifndef SMT_PANE_EDIT_H
#define SMT_PANE_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/listnav.h"
#include "tui/pane.h"

typedef struct smt_edit_pane {
    smt_app *app;
    char *session;                 /* the session being edited (pinned when the pane opens) */
    smt_list nav;                  /* over the session's user properties */
    char cursor_key[SM_KEY_MAX + 1];
    /* the request in flight */
    bool pending;
    uint64_t token;
    bool pending_is_undo;
    char *pending_session;
    char **pending_keys;   /* what was sent: value NULL = delete */
    char **pending_values;
    size_t pending_count;
    /* what the last reply said, shown in the pane */
    char result[320];
    bool result_error;
    char result_for[128]; /* the session the result is about: shown only while the pane is on it */
    /* undo: the previous values the server reported for the last successful edit */
    char *undo_session;
    char **undo_keys;
    char **undo_values; /* NULL = the key did not exist: undo deletes it */
    size_t undo_count;
} smt_edit_pane;

#endif
