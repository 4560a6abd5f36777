/* The modal dialog of the monitor: up to two fields or a yes/no question, its keys and its drawing. */
#include "tui/form.h"

#include <curses.h>
#include <string.h>

#include "tui/keys.h"
#include "tui/palette.h"
#include "tui/screen.h"
#include "tui/text.h"

void smt_form_open(smt_form *f, smt_form_kind kind, const char *title, int nfields)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    smt_text_printf(f->title, sizeof f->title, "%s", title);
    f->nfields = nfields;
    for (int i = 0; i < 2; i++)
        smt_line_init(&f->field[i], 0);
}

void smt_form_confirm_count(smt_form *f, size_t count, size_t typed_above, const char *ready)
{
    f->danger = true;
    if (count > typed_above) {
        f->nfields = 1;
        smt_text_printf(f->expect, sizeof f->expect, "%zu", count);
        smt_text_printf(f->label[0], sizeof f->label[0], "Type %zu", count);
        smt_line_init(&f->field[0], 24);
        smt_form_confirm_check(f, ready);
    } else {
        f->nfields = 0;
        f->expect[0] = '\0';
        f->ok = true;
        smt_text_printf(f->status, sizeof f->status, "%s", ready);
    }
}

void smt_form_confirm_check(smt_form *f, const char *ready)
{
    f->hint = false;
    if (!f->expect[0] || strcmp(f->field[0].buf, f->expect) == 0) {
        f->ok = true;
        smt_text_printf(f->status, sizeof f->status, "%s", ready);
    } else {
        f->ok = false;
        smt_text_printf(f->status, sizeof f->status, "type %s (the number of sessions) to confirm", f->expect);
        f->hint = f->field[0].len == 0;
    }
}

bool smt_form_wants_next_field(const smt_form *f)
{
    return f->nfields == 2 && f->focus == 0 && !f->locked[1] && f->field[1].len == 0;
}

int32_t smt_key_for_line(int32_t key)
{
    switch (key) {
    case SMT_KEY_FN(KEY_LEFT): return SMT_LK_LEFT;
    case SMT_KEY_FN(KEY_RIGHT): return SMT_LK_RIGHT;
    case SMT_KEY_FN(KEY_HOME): case SMT_KEY_CTRL('a'): return SMT_LK_HOME;
    case SMT_KEY_FN(KEY_END): case SMT_KEY_CTRL('e'): return SMT_LK_END;
    case SMT_KEY_FN(KEY_BACKSPACE): case 127: case 8: return SMT_LK_BACKSPACE;
    case SMT_KEY_FN(KEY_DC): case SMT_KEY_CTRL('d'): return SMT_LK_DELETE;
    case SMT_KEY_CTRL('u'): return SMT_LK_KILL_LINE;
    case SMT_KEY_CTRL('k'): return SMT_LK_KILL_END;
    case SMT_KEY_CTRL('w'): return SMT_LK_KILL_WORD;
    default: return SMT_KEY_IS_FN(key) ? 0 : key;
    }
}

bool smt_key_is_enter(int32_t key)
{
    return key == '\n' || key == '\r' || key == SMT_KEY_FN(KEY_ENTER);
}

smt_form_result smt_form_key(smt_form *f, int32_t key)
{
    if (key == SMT_KEY_ESC)
        return SMT_FORM_CANCEL;
    if (f->nfields == 0) { /* a yes/no question: only 'y' says yes */
        if (key == 'y' || key == 'Y')
            return SMT_FORM_SUBMIT;
        if (key == 'n' || key == 'N')
            return SMT_FORM_CANCEL;
        return SMT_FORM_IGNORED;
    }
    if (key == '\t' || key == SMT_KEY_FN(KEY_BTAB) || key == SMT_KEY_FN(KEY_UP) || key == SMT_KEY_FN(KEY_DOWN)) {
        for (int i = 0; i < f->nfields; i++) {
            f->focus = (f->focus + 1) % f->nfields;
            if (!f->locked[f->focus])
                break;
        }
        return SMT_FORM_EDITED; /* the status line depends on the focus */
    }
    if (smt_key_is_enter(key)) {
        if (smt_form_wants_next_field(f)) { /* Enter after the key goes on to the value */
            f->focus = 1;
            return SMT_FORM_EDITED;
        }
        return f->ok ? SMT_FORM_SUBMIT : SMT_FORM_NOT_READY;
    }
    if (f->locked[f->focus])
        return SMT_FORM_IGNORED;
    return smt_line_key(&f->field[f->focus], smt_key_for_line(key)) == SMT_LINE_CHANGED ? SMT_FORM_EDITED
                                                                                        : SMT_FORM_IGNORED;
}

/* The keys line of a dialog; a shorter wording when the dialog is narrow. */
static const char *form_keys_hint(const smt_form *f, int width, char *buf, size_t cap)
{
    bool narrow = width < 60;
    if (f->nfields == 0)
        return "y = yes   n / Esc = no";
    if (smt_form_wants_next_field(f))
        return narrow ? "Enter/Tab: to value  Esc: cancel" : "Enter / Tab = on to the value   Esc = cancel";
    const char *act = f->kind == SMT_FORM_BULK_CONFIRM                                ? "confirm"
                      : f->kind == SMT_FORM_BULK_SET || f->kind == SMT_FORM_BULK_DELETE ? "add to the map"
                                                                                     : "send";
    bool other = f->nfields > 1 && !f->locked[0] && !f->locked[1];
    if (narrow)
        smt_text_printf(buf, cap, "Enter: %s  %sEsc: cancel", f->kind == SMT_FORM_BULK_CONFIRM ? "confirm" : "OK",
                       other ? "Tab: field  " : "");
    else
        smt_text_printf(buf, cap, "Enter = %s   %sEsc = cancel", act, other ? "Tab = other field   " : "");
    return buf;
}

/* The modal dialog: a framed box over everything, cleared around so it stands out. Lines that
 * do not fit on a small screen go in this order: blank spacing, then wrapped continuation
 * lines of the explanations; the fields, the status and the keys always stay. */
void smt_form_draw(const smt_form *f, int rows, int cols)
{
    /* 84 columns, wider when a line needs it and the terminal has room (a validation message
     * cut short on a wide terminal hides its point) */
    int need = 84;
    int widest = smt_text_width(f->status, strlen(f->status));
    for (int i = 0; i < SMT_FORM_TEXT_LINES; i++) {
        int tw = smt_text_width(f->text[i], strlen(f->text[i]));
        widest = tw > widest ? tw : widest;
    }
    if (widest + 4 > need)
        need = widest + 4;
    int w = cols - 2 > need ? need : cols - 2; /* outer width, frame included */
    int inner = w - 4;                     /* frame and one column of padding on each side */
    if (inner < 8)
        return;
    int left = (cols - w) / 2;
    smt_role body = f->danger ? SMT_ROLE_DANGER : SMT_ROLE_DIALOG;

    /* how many lines each explanation gets */
    int want[SMT_FORM_TEXT_LINES], got[SMT_FORM_TEXT_LINES] = {0};
    int room = rows - (2 + f->nfields + 2); /* frame, fields, status, keys */
    for (int i = 0; i < SMT_FORM_TEXT_LINES; i++)
        want[i] = f->text[i][0] ? smt_text_wrap_count(f->text[i], strlen(f->text[i]), inner, 64) : 0;
    for (int i = 0; i < SMT_FORM_TEXT_LINES && room > 0; i++)
        if (want[i] > 0) {
            got[i] = 1;
            room--;
        }
    int text_lines = 0;
    for (int i = 0; i < SMT_FORM_TEXT_LINES; i++)
        text_lines += got[i];
    bool any_text = text_lines > 0;
    for (bool more = true; more && room > 0;) {
        more = false;
        for (int i = 0; i < SMT_FORM_TEXT_LINES && room > 0; i++)
            if (got[i] < want[i] && got[i] < 6) {
                got[i]++;
                room--;
                more = true;
            }
    }
    bool gap_text = any_text && room > 0;
    if (gap_text)
        room--;
    bool gap_fields = f->nfields > 0 && room > 0;
    if (gap_fields)
        room--;
    int h = 2 + text_lines + (gap_text ? 1 : 0) + f->nfields + (gap_fields ? 1 : 0) + 2;
    if (!f->status[0] && f->nfields == 0) /* a question without a status line */
        h--;
    int top = (rows - h) / 2;
    if (top < 0)
        top = 0;

    /* a clear margin, the box, its frame and title */
    for (int y = top - 1; y <= top + h; y++)
        if (y >= 0 && y < rows)
            smt_screen_fill(y, left > 0 ? left - 1 : 0, w + (left > 0 ? 2 : 1), SMT_ROLE_DEFAULT);
    for (int i = 0; i < h; i++)
        smt_screen_fill(top + i, left, w, body);
    smt_screen_frame(top, left, h, w, body);
    char title[200];
    smt_text_printf(title, sizeof title, " %s ", f->title);
    int tw = smt_text_width(title, strlen(title));
    smt_screen_str(top, left + 2, tw < w - 4 ? tw : w - 4, title, SMT_ROLE_DIALOG_TITLE);

    int x = left + 2, y = top + 1;
    for (int i = 0; i < SMT_FORM_TEXT_LINES; i++) {
        const char *s = f->text[i];
        size_t len = strlen(s), pos = 0;
        for (int l = 0; l < got[i]; l++, y++) {
            size_t end = l + 1 == got[i] ? len : smt_text_wrap(s, len, pos, inner); /* the last line gets "…" */
            smt_screen_text(y, x, inner, s + pos, end - pos, body);
            pos = end < len && s[end] == ' ' ? end + 1 : end;
        }
    }
    if (gap_text)
        y++;
    int lw = 0;
    for (int i = 0; i < f->nfields; i++) {
        int l = (int)strlen(f->label[i]) + 2;
        if (l > lw)
            lw = l;
    }
    if (lw > inner / 2)
        lw = inner / 2;
    for (int i = 0; i < f->nfields; i++, y++) {
        char label[32];
        smt_text_printf(label, sizeof label, "%s:", f->label[i]);
        smt_screen_str(y, x, lw, label, i == f->focus && !f->locked[i] ? SMT_ROLE_DIALOG_TITLE : body);
        if (f->locked[i] || i != f->focus)
            smt_screen_text(y, x + lw, inner - lw, f->field[i].buf, f->field[i].len,
                            f->locked[i] ? body : SMT_ROLE_PROMPT);
        else
            smt_screen_line_editor(y, x + lw, inner - lw, &f->field[i], 0);
    }
    if (gap_fields)
        y++;
    if (f->status[0] || f->nfields > 0)
        smt_screen_str(y++, x, inner, f->status, f->ok || f->hint ? body : SMT_ROLE_FILTER_ERROR);
    char keys[160];
    smt_screen_str(y, x, inner, form_keys_hint(f, inner, keys, sizeof keys), body);
}
