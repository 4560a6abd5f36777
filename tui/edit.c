/* The edit pane: add, change and delete user properties of one session, with undo. */
#include "tui/edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/text.h"
#include "tui/ui.h"

void sm_edit_init(sm_edit *e)
{
    memset(e, 0, sizeof *e);
}

static void clear_undo(sm_edit *e)
{
    for (size_t i = 0; i < e->undo_count; i++) {
        free(e->undo_keys[i]);
        free(e->undo_values[i]);
    }
    free(e->undo_keys);
    free(e->undo_values);
    free(e->undo_session);
    e->undo_keys = e->undo_values = NULL;
    e->undo_session = NULL;
    e->undo_count = 0;
}

static void clear_pending(sm_edit *e)
{
    for (size_t i = 0; i < e->pending_count; i++) {
        free(e->pending_keys[i]);
        free(e->pending_values[i]);
    }
    free(e->pending_keys);
    free(e->pending_values);
    e->pending_keys = e->pending_values = NULL;
    e->pending_count = 0;
}

/* What was sent for key: true with *value (NULL = delete) when key was in the request. */
static bool sent_value(const sm_edit *e, const char *key, const char **value)
{
    for (size_t i = 0; i < e->pending_count; i++)
        if (strcmp(e->pending_keys[i], key) == 0) {
            *value = e->pending_values[i];
            return true;
        }
    return false;
}

void sm_edit_free(sm_edit *e)
{
    clear_undo(e);
    clear_pending(e);
    free(e->pending_session);
    free(e->session);
    memset(e, 0, sizeof *e);
}

/* User properties of a row are its non-$ keys, in key order. */
static size_t user_count(const sm_row *r)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key))
            n++;
    return n;
}

static const sm_rprop *user_at(const sm_row *r, size_t idx)
{
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key) && idx-- == 0)
            return &r->props[i];
    return NULL;
}

/* Keeps the cursor on the same key when properties come and go. */
static const sm_rprop *cursor_prop(sm_ui *ui, const sm_row *r)
{
    sm_edit *e = &ui->edit;
    size_t n = user_count(r);
    if (n == 0)
        return NULL;
    if (e->cursor_key[0]) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(user_at(r, i)->key, e->cursor_key) == 0) {
                e->cursor = i;
                break;
            }
    }
    if (e->cursor >= n)
        e->cursor = n - 1;
    const sm_rprop *p = user_at(r, e->cursor);
    sm_text_printf(e->cursor_key, sizeof e->cursor_key, "%s", p->key);
    return p;
}

/* The session the pane edits: pinned when the pane opens, so a session that closes (and the
 * table cursor moving on to its neighbour) can never redirect an edit to another session. */
static sm_row *pinned_row(sm_ui *ui)
{
    return ui->edit.session ? sm_model_find(ui->model, ui->edit.session) : NULL;
}

static sm_row *edit_row(sm_ui *ui)
{
    sm_row *r = pinned_row(ui);
    return (r && r->state != SM_STATE_CLOSED) ? r : NULL;
}

static bool pin(sm_ui *ui, const char *id)
{
    char *copy = strdup(id);
    if (!copy)
        return false;
    free(ui->edit.session);
    ui->edit.session = copy;
    ui->edit.cursor = 0;
    ui->edit.cursor_key[0] = '\0';
    return true;
}

void sm_edit_open(sm_ui *ui)
{
    if (!sm_ui_guard_write(ui, "editing"))
        return;
    sm_row *r = sm_ui_selected_row(ui);
    if (!r || r->state == SM_STATE_CLOSED) {
        sm_ui_message(ui, SM_LOGL_WARN, "select an open session first");
        return;
    }
    if (!pin(ui, r->id))
        return;
    ui->pane = SM_PANE_EDIT;
}

void sm_edit_retarget(sm_ui *ui, const char *id)
{
    if (ui->pane != SM_PANE_EDIT || ui->form.kind != SM_FORM_NONE || !id)
        return;
    if (!ui->edit.session || strcmp(ui->edit.session, id) != 0)
        pin(ui, id);
}

static void form_for_value(sm_ui *ui, sm_form_kind kind, const char *key, const char *value)
{
    sm_ui_open_form(ui, kind, kind == SM_FORM_EDIT_ADD ? "Add a user property" : "Change a user property", 2);
    sm_form *f = &ui->form;
    sm_text_printf(f->label[0], sizeof f->label[0], "Key");
    sm_text_printf(f->label[1], sizeof f->label[1], "Value");
    sm_line_init(&f->field[0], SM_KEY_MAX);
    sm_line_init(&f->field[1], SM_VALUE_MAX);
    sm_line_set(&f->field[0], key);
    sm_line_set(&f->field[1], value);
    char id[80];
    sm_text_escape(ui->edit.session, strlen(ui->edit.session), id, sizeof id);
    sm_text_printf(f->text[0], sizeof f->text[0], "Session %s", id);
    if (kind == SM_FORM_EDIT_CHANGE) {
        f->locked[0] = true;
        f->focus = 1;
    }
    sm_edit_form_changed(ui);
}

/* Says in the undo dialog when the values changed again since the edit (undo would overwrite
 * someone else's newer value) or the session is gone. */
static void undo_warning(sm_ui *ui)
{
    sm_edit *e = &ui->edit;
    sm_form *f = &ui->form;
    sm_row *r = sm_model_find(ui->model, e->undo_session);
    if (!r || r->state == SM_STATE_CLOSED) {
        sm_text_printf(f->status, sizeof f->status, "The session has closed: the server will refuse.");
        f->danger = true;
        return;
    }
    for (size_t i = 0; i < e->undo_count; i++) {
        const char *sent = NULL;
        if (!sent_value(e, e->undo_keys[i], &sent))
            continue;
        const char *cur = sm_row_get(r, e->undo_keys[i]);
        if ((cur == NULL) == (sent == NULL) && (!cur || strcmp(cur, sent) == 0))
            continue;
        char k[64], v[96];
        sm_text_escape(e->undo_keys[i], strlen(e->undo_keys[i]), k, sizeof k);
        if (cur)
            sm_text_escape(cur, strlen(cur), v, sizeof v);
        sm_text_printf(f->status, sizeof f->status, "%s changed again since (now %s%s%s): undo overwrites it.", k,
                       cur ? "'" : "", cur ? v : "absent", cur ? "'" : "");
        f->danger = true;
        return;
    }
}

bool sm_edit_action(sm_ui *ui, sm_action a)
{
    sm_edit *e = &ui->edit;
    sm_row *r = edit_row(ui);
    switch (a) {
    case SM_ACT_UP:
        if (e->cursor > 0)
            e->cursor--;
        e->cursor_key[0] = '\0';
        return true;
    case SM_ACT_DOWN:
        e->cursor++;
        e->cursor_key[0] = '\0';
        return true;
    case SM_ACT_EDIT_ADD:
        if (!sm_ui_guard_write(ui, "adding a property"))
            return true;
        if (!r) {
            sm_ui_message(ui, SM_LOGL_WARN, "the session is gone; nothing to edit");
            return true;
        }
        form_for_value(ui, SM_FORM_EDIT_ADD, "", "");
        return true;
    case SM_ACT_EDIT_CHANGE: {
        if (!sm_ui_guard_write(ui, "changing a property"))
            return true;
        const sm_rprop *p = r ? cursor_prop(ui, r) : NULL;
        if (!p) {
            sm_ui_message(ui, SM_LOGL_WARN, "no property selected (a adds one)");
            return true;
        }
        form_for_value(ui, SM_FORM_EDIT_CHANGE, p->key, p->value);
        return true;
    }
    case SM_ACT_EDIT_DELETE: {
        if (!sm_ui_guard_write(ui, "deleting a property"))
            return true;
        const sm_rprop *p = r ? cursor_prop(ui, r) : NULL;
        if (!p) {
            sm_ui_message(ui, SM_LOGL_WARN, "no property selected");
            return true;
        }
        sm_ui_open_form(ui, SM_FORM_EDIT_DELETE, "Delete a user property", 0);
        char id[80], key[160], val[160];
        sm_text_escape(r->id, strlen(r->id), id, sizeof id);
        sm_text_escape(p->key, sm_intern_len(p->key), key, sizeof key);
        sm_text_escape(p->value, sm_intern_len(p->value), val, sizeof val);
        sm_text_printf(ui->form.text[0], sizeof ui->form.text[0], "Delete %s (now '%s')", key, val);
        sm_text_printf(ui->form.text[1], sizeof ui->form.text[1], "from session %s?", id);
        sm_text_printf(ui->form.status, sizeof ui->form.status, "u undoes it afterwards");
        sm_text_printf(ui->form.label[0], sizeof ui->form.label[0], "%s", "");
        sm_line_set(&ui->form.field[0], p->key); /* carried to submit */
        ui->form.ok = true;
        return true;
    }
    case SM_ACT_EDIT_UNDO: {
        if (!sm_ui_guard_write(ui, "undo"))
            return true;
        if (!e->undo_session) {
            sm_ui_message(ui, SM_LOGL_INFO, "nothing to undo");
            return true;
        }
        sm_ui_open_form(ui, SM_FORM_EDIT_UNDO, "Undo the last edit", 0);
        char id[80];
        sm_text_escape(e->undo_session, strlen(e->undo_session), id, sizeof id);
        sm_text_printf(ui->form.text[0], sizeof ui->form.text[0], "Restore the previous value of %zu propert%s", e->undo_count,
                 e->undo_count == 1 ? "y" : "ies");
        size_t off = 0;
        for (size_t i = 0; i < e->undo_count && off + 1 < sizeof ui->form.text[1]; i++) {
            char k[64], v[64];
            sm_text_escape(e->undo_keys[i], strlen(e->undo_keys[i]), k, sizeof k);
            if (e->undo_values[i])
                sm_text_escape(e->undo_values[i], strlen(e->undo_values[i]), v, sizeof v);
            int m = (int)sm_text_printf(ui->form.text[1] + off, sizeof ui->form.text[1] - off, "%s%s %s", i ? ", " : "",
                                        e->undo_values[i] ? "set" : "delete", k);
            if (m < 0)
                break;
            off += (size_t)m;
            if (e->undo_values[i] && off < sizeof ui->form.text[1])
                off += (size_t)sm_text_printf(ui->form.text[1] + off, sizeof ui->form.text[1] - off, " = '%s'", v);
            if (off >= sizeof ui->form.text[1])
                off = sizeof ui->form.text[1] - 1;
        }
        sm_text_printf(ui->form.text[2], sizeof ui->form.text[2], "on session %s?", id);
        undo_warning(ui);
        ui->form.ok = true;
        return true;
    }
    default:
        return false;
    }
}

void sm_edit_form_changed(sm_ui *ui)
{
    sm_form *f = &ui->form;
    if (f->kind != SM_FORM_EDIT_ADD && f->kind != SM_FORM_EDIT_CHANGE)
        return;
    sm_error err;
    sm_error_clear(&err);
    const char *key = f->field[0].buf;
    const char *value = f->field[1].buf;
    f->ok = false;
    f->hint = false;
    if (f->field[0].len == 0) {
        sm_text_printf(f->status, sizeof f->status, "type a key");
        f->hint = true;
        return;
    }
    bool fixed = sm_key_is_fixed(key);
    if (fixed && !sm_key_is_settable_fixed(key)) {
        sm_text_printf(f->status, sizeof f->status,
                       "of the fixed keys only $Country, $Language, $Latitude and $Longitude can be set");
        return;
    }
    if ((!fixed && sm_validate_user_key(key, f->field[0].len, &err) != SM_OK) ||
        sm_validate_value(value, f->field[1].len, &err) != SM_OK) {
        sm_text_printf(f->status, sizeof f->status, "%s", err.message);
        return;
    }
    sm_row *r = edit_row(ui);
    const char *cur = r ? sm_row_get(r, key) : NULL;
    if (cur && strcmp(cur, value) == 0) {
        sm_text_printf(f->status, sizeof f->status, "the value is already that");
        f->hint = true;
        return;
    }
    f->ok = true;
    if (sm_ui_form_wants_next_field(f)) {
        sm_text_printf(f->status, sizeof f->status, "%s: Enter or Tab moves on to the value",
                       cur ? "an existing key" : "a new key");
        f->hint = true;
        return;
    }
    sm_text_printf(f->status, sizeof f->status, "%s%s", cur ? "valid: Enter changes the existing value" : "valid: Enter adds it",
                   f->field[1].len == 0 ? " (with an empty value)" : "");
}

static void send_set(sm_ui *ui, const char *session, const sm_kv *props, size_t n, bool is_undo)
{
    sm_edit *e = &ui->edit;
    if (!sm_ui_guard_write(ui, "editing")) /* defence in depth: the keys were already checked */
        return;
    if (e->pending) {
        sm_ui_message(ui, SM_LOGL_WARN, "an edit is still waiting for the server");
        return;
    }
    if (!ui->backend.set) {
        sm_ui_message(ui, SM_LOGL_ERROR, "not connected");
        return;
    }
    char err[256] = "";
    uint64_t token = sm_ui_new_token(ui);
    if (ui->backend.set(ui->backend.ctx, token, session, props, n, err, sizeof err) != 0) {
        sm_text_printf(e->result, sizeof e->result, "not sent: %s", err);
        e->result_error = true;
        sm_ui_message(ui, SM_LOGL_ERROR, "edit not sent: %s", err);
        return;
    }
    e->pending = true;
    e->token = token;
    e->pending_is_undo = is_undo;
    free(e->pending_session);
    e->pending_session = strdup(session);
    clear_pending(e);
    e->pending_keys = calloc(n ? n : 1, sizeof *e->pending_keys);
    e->pending_values = calloc(n ? n : 1, sizeof *e->pending_values);
    if (e->pending_keys && e->pending_values) {
        for (size_t i = 0; i < n; i++) {
            e->pending_keys[i] = strdup(props[i].key);
            e->pending_values[i] = props[i].value ? strdup(props[i].value) : NULL;
        }
        e->pending_count = n;
    }
    sm_text_printf(e->result, sizeof e->result, "%s sent; waiting for the server...", is_undo ? "undo" : "edit");
    e->result_error = false;
}

void sm_edit_form_submit(sm_ui *ui)
{
    sm_form *f = &ui->form;
    sm_edit *e = &ui->edit;
    sm_form_kind kind = f->kind;
    if (kind == SM_FORM_EDIT_UNDO) {
        if (!e->undo_session) {
            sm_ui_close_form(ui);
            return;
        }
        sm_kv *props = calloc(e->undo_count ? e->undo_count : 1, sizeof *props);
        if (!props) {
            sm_ui_close_form(ui);
            return;
        }
        for (size_t i = 0; i < e->undo_count; i++)
            props[i] = (sm_kv){e->undo_keys[i], e->undo_values[i]};
        char *session = strdup(e->undo_session);
        sm_ui_close_form(ui);
        if (session)
            send_set(ui, session, props, e->undo_count, true);
        free(session);
        free(props);
        return;
    }
    sm_row *r = edit_row(ui);
    if (!r) {
        sm_ui_close_form(ui);
        sm_ui_message(ui, SM_LOGL_WARN, "the session closed; nothing sent");
        return;
    }
    if (!f->ok) {
        sm_ui_message(ui, SM_LOGL_WARN, "%s", f->status);
        return;
    }
    char key[SM_KEY_MAX + 1];
    sm_text_printf(key, sizeof key, "%s", f->field[0].buf);
    char *value = kind == SM_FORM_EDIT_DELETE ? NULL : strdup(f->field[1].buf);
    if (kind != SM_FORM_EDIT_DELETE && !value) {
        sm_ui_close_form(ui);
        return;
    }
    sm_kv kv = {key, value};
    char *session = strdup(r->id);
    sm_ui_close_form(ui);
    if (session)
        send_set(ui, session, &kv, 1, false);
    sm_text_printf(e->cursor_key, sizeof e->cursor_key, "%s", key);
    free(session);
    free(value);
}

bool sm_edit_reply(sm_ui *ui, uint64_t token, const char *error_code, const char *error_message,
                   const void *changed_kvs, size_t changed_count)
{
    sm_edit *e = &ui->edit;
    if (!e->pending || token != e->token)
        return false;
    e->pending = false;
    char id[80];
    sm_text_escape(e->pending_session ? e->pending_session : "", e->pending_session ? strlen(e->pending_session) : 0, id,
                   sizeof id);
    if (error_code && sm_ui_outcome_unknown(error_code)) {
        sm_text_printf(e->result, sizeof e->result,
                       "outcome unknown (%s): the server may have applied it; the table shows what changed", error_code);
        e->result_error = true;
        sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_WARN, "edit of %s: %s", id, e->result);
        return true;
    }
    if (error_code) {
        sm_text_printf(e->result, sizeof e->result, "server refused: %s: %s", error_code, error_message ? error_message : "");
        e->result_error = true;
        sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_ERROR, "edit of %s refused: %s: %s", id, error_code,
                        error_message ? error_message : "");
        return true;
    }
    const sm_kv *changed = changed_kvs;
    /* the reply's previous values are exactly what undo must put back */
    clear_undo(e);
    if (changed_count > 0 && e->pending_session) {
        e->undo_keys = calloc(changed_count, sizeof *e->undo_keys);
        e->undo_values = calloc(changed_count, sizeof *e->undo_values);
        e->undo_session = strdup(e->pending_session);
        if (!e->undo_keys || !e->undo_values || !e->undo_session) {
            clear_undo(e);
        } else {
            for (size_t i = 0; i < changed_count; i++) {
                e->undo_keys[i] = strdup(changed[i].key);
                e->undo_values[i] = changed[i].value ? strdup(changed[i].value) : NULL;
            }
            e->undo_count = changed_count;
        }
    }
    size_t off = (size_t)sm_text_printf(e->result, sizeof e->result, "%s: ", e->pending_is_undo ? "undone" : "server");
    if (changed_count == 0)
        sm_text_printf(e->result + off, sizeof e->result - off, "nothing changed");
    for (size_t i = 0; i < changed_count && off + 1 < sizeof e->result; i++) {
        char k[64], v[96], nv[96] = "";
        const char *sent = NULL;
        bool known = sent_value(e, changed[i].key, &sent);
        sm_text_escape(changed[i].key, strlen(changed[i].key), k, sizeof k);
        if (sent)
            sm_text_escape(sent, strlen(sent), nv, sizeof nv);
        if (changed[i].value)
            sm_text_escape(changed[i].value, strlen(changed[i].value), v, sizeof v);
        const char *sep = i ? "; " : "";
        if (!changed[i].value)
            off += sm_text_printf(e->result + off, sizeof e->result - off, "%s%s added = '%s'", sep, k, nv);
        else if (known && !sent)
            off += sm_text_printf(e->result + off, sizeof e->result - off, "%s%s deleted (was '%s')", sep, k, v);
        else
            off += sm_text_printf(e->result + off, sizeof e->result - off, "%s%s: '%s' -> '%s'", sep, k, v, nv);
    }
    e->result_error = false;
    sm_eventlog_add(&ui->log, ui->wall, SM_LOGL_INFO, "edit of %s: %s", id, e->result);
    return true;
}

void sm_edit_draw(sm_ui *ui, int y, int h)
{
    sm_edit *e = &ui->edit;
    int w = ui->screen_cols;
    sm_row *r = pinned_row(ui);
    char buf[400];
    char id[96] = "";
    if (e->session)
        sm_text_escape(e->session, strlen(e->session), id, sizeof id);
    size_t n = r ? user_count(r) : 0;
    sm_text_printf(buf, sizeof buf, " Edit %s: %zu user propert%s  (a add, Enter change, d delete, u undo, Esc close)", id, n,
             n == 1 ? "y" : "ies");
    sm_ui_str(y, 0, w, buf, SM_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        sm_ui_fill(y + i, 0, w, SM_ROLE_PANE);
    if (h < 2)
        return;
    /* line 1: the last result */
    const char *res = e->result[0] ? e->result : "Changes go to the server; the table shows them when it confirms.";
    sm_ui_str(y + 1, 1, w - 2, res, e->result_error ? SM_ROLE_LOG_ERROR : SM_ROLE_PANE);
    int list_y = y + 2;
    int list_h = h - 2;
    if (e->undo_session && list_h > 2) {
        char uid[80];
        sm_text_escape(e->undo_session, strlen(e->undo_session), uid, sizeof uid);
        sm_text_printf(buf, sizeof buf, "u undoes the last edit of %s (%zu propert%s)", uid, e->undo_count,
                 e->undo_count == 1 ? "y" : "ies");
        sm_ui_str(y + h - 1, 1, w - 2, buf, SM_ROLE_PANE);
        list_h--;
    }
    if (!r || r->state == SM_STATE_CLOSED) {
        sm_ui_str(list_y, 1, w - 2, "The session closed: nothing to edit.", SM_ROLE_LOG_WARN);
        return;
    }
    if (n == 0) {
        sm_ui_str(list_y, 1, w - 2, "(no user properties: a adds one)", SM_ROLE_PANE);
        return;
    }
    cursor_prop(ui, r);
    size_t top = e->cursor >= (size_t)list_h ? e->cursor - (size_t)list_h + 1 : 0;
    e->top = top;
    int keyw = 8;
    for (size_t i = 0; i < n; i++) {
        const sm_rprop *p = user_at(r, i);
        int kw = sm_text_width(p->key, sm_intern_len(p->key));
        if (kw > keyw)
            keyw = kw;
    }
    if (keyw > w / 3)
        keyw = w / 3;
    for (int i = 0; i < list_h; i++) {
        size_t idx = top + (size_t)i;
        if (idx >= n)
            break;
        const sm_rprop *p = user_at(r, idx);
        bool sel = idx == e->cursor;
        sm_role role = sel ? SM_ROLE_ROW_SELECTED : SM_ROLE_PANE;
        int ly = list_y + i;
        sm_ui_fill(ly, 0, w, role);
        sm_ui_text(ly, 2, keyw, p->key, sm_intern_len(p->key), sel ? role : SM_ROLE_INSPECT_KEY);
        sm_ui_str(ly, 2 + keyw, 3, " = ", role);
        sm_role vr = (!sel && sm_row_key_recent(r, p->key, ui->now)) ? SM_ROLE_INSPECT_CHANGED : role;
        sm_ui_text(ly, 5 + keyw, w - keyw - 6, p->value, sm_intern_len(p->value), vr);
    }
}
