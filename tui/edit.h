/* The edit pane: add, change and delete user properties of one session, with undo. */
#ifndef SM_TUI_EDIT_H
#define SM_TUI_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/props.h"
#include "tui/keys.h"

struct sm_ui;

typedef struct sm_edit {
    char *session;                 /* the session being edited (pinned when the pane opens) */
    size_t cursor;                 /* index into the session's user properties */
    size_t top;                    /* first property drawn (for mouse clicks) */
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
    /* undo: the previous values the server reported for the last successful edit */
    char *undo_session;
    char **undo_keys;
    char **undo_values; /* NULL = the key did not exist: undo deletes it */
    size_t undo_count;
} sm_edit;

void sm_edit_init(sm_edit *e);
void sm_edit_free(sm_edit *e);

/* Opens the pane on the selected session (refused in read-only mode). */
void sm_edit_open(struct sm_ui *ui);
/* The user picked another session in the table (a click) while the pane is open and no dialog
 * is: the pane follows that explicit choice. */
void sm_edit_retarget(struct sm_ui *ui, const char *id);
/* Handles a bound action while the pane has the focus; returns true when handled. */
bool sm_edit_action(struct sm_ui *ui, sm_action a);
/* The form of this pane changed (validate) or was submitted. */
void sm_edit_form_changed(struct sm_ui *ui);
void sm_edit_form_submit(struct sm_ui *ui);
/* The server answered request token; returns false when the token is not ours. */
bool sm_edit_reply(struct sm_ui *ui, uint64_t token, const char *error_code, const char *error_message,
                   const void *changed_kvs, size_t changed_count);
void sm_edit_draw(struct sm_ui *ui, int y, int h);

#endif
