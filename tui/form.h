/* The modal dialog of the monitor: up to two fields or a yes/no question, its keys and its drawing. */
#ifndef SMT_FORM_H
#define SMT_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/lineedit.h"

/* Which dialog it is: the owner's business, and the wording of the keys line. */
typedef enum smt_form_kind {
    SMT_FORM_NONE = 0,
    SMT_FORM_EDIT_ADD,
    SMT_FORM_EDIT_CHANGE,
    SMT_FORM_EDIT_DELETE,
    SMT_FORM_EDIT_UNDO,
    SMT_FORM_BULK_SET,
    SMT_FORM_BULK_DELETE,
    SMT_FORM_BULK_CONFIRM,
    SMT_FORM_BULK_UNDO,
    SMT_FORM_CLOSE_CONFIRM,
    SMT_FORM_SETTINGS_SAVE,
    SMT_FORM_QUIT
} smt_form_kind;

/* Explanation lines of a dialog: three of the pane's own and one for the audit note
 * (smt_form_say_audited), so the note never runs into a pane's last line. */
enum { SMT_FORM_TEXT_LINES = 4 };

typedef struct smt_form {
    smt_form_kind kind;
    char title[160];
    char text[SMT_FORM_TEXT_LINES][320]; /* explanation lines (raw; escaped when drawn) */
    int nfields;        /* 0 (a yes/no question), 1 or 2 */
    char label[2][24];
    smt_line field[2];
    bool locked[2];     /* shown but not editable (the key when changing a value) */
    int focus;
    char status[320];   /* validation result */
    bool hint;          /* status is guidance (nothing typed yet, next step), not an error */
    bool ok;            /* submit allowed */
    bool danger;
    char expect[32];    /* text the user must type to confirm ("" = y/Enter) */
    /* who answers: validate after every edit, act on submit (the form is still open then) */
    void (*changed)(void *owner);
    void (*submit)(void *owner);
    void *owner;
} smt_form;

typedef enum smt_form_result {
    SMT_FORM_IGNORED = 0,
    SMT_FORM_EDITED,    /* text or focus changed: the owner validates */
    SMT_FORM_SUBMIT,    /* Enter on a valid form, or y */
    SMT_FORM_CANCEL,    /* Esc, or n */
    SMT_FORM_NOT_READY  /* Enter on a form that does not validate */
} smt_form_result;

/* Clears f and opens a dialog of kind with a title and nfields fields. */
void smt_form_open(smt_form *f, smt_form_kind kind, const char *title, int nfields);
/* True when a two-field form has the focus on its first field and the second is still empty:
 * Enter then moves on instead of submitting (an empty value is only sent on purpose). */
bool smt_form_wants_next_field(const smt_form *f);
/* One key for an open dialog. */
smt_form_result smt_form_key(smt_form *f, int32_t key);
/* Draws the dialog framed over a screen of rows x cols. */
void smt_form_draw(const smt_form *f, int rows, int cols);

/* A confirmation that names how many sessions an action touches (bulk update, close): above
 * typed_above the count itself must be typed, else y confirms. ready is the status once it may
 * be sent. The owner calls smt_form_confirm_check from its changed callback. */
void smt_form_confirm_count(smt_form *f, size_t count, size_t typed_above, const char *ready);
void smt_form_confirm_check(smt_form *f, const char *ready);

/* A key as the line editor understands it (SMT_LK_* or a code point; 0 = not an editing key). */
int32_t smt_key_for_line(int32_t key);
bool smt_key_is_enter(int32_t key);

#endif
