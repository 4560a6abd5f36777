/* The edit pane: add, change and delete user properties of one session, with undo. */
#include "tui/pane_edit.h"

#include <stdlib.h>
#include <string.h>

#include "tui/screen.h"
#include "tui/text.h"

static void clear_undo(smt_edit_pane *e)
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

static void clear_pending(smt_edit_pane *e)
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
static bool sent_value(const smt_edit_pane *e, const char *key, const char **value)
{
    for (size_t i = 0; i < e->pending_count; i++)
        if (strcmp(e->pending_keys[i], key) == 0) {
            *value = e->pending_values[i];
            return true;
        }
    return false;
}

static void edit_destroy(void *state)
{
    smt_edit_pane *e = state;
    if (!e)
        return;
    clear_undo(e);
    clear_pending(e);
    free(e->pending_session);
    free(e->session);
    free(e);
}

/* User properties of a row are its non-$ keys, in key order. */
static size_t user_count(const smt_row *r)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key))
            n++;
    return n;
}

static const smt_rprop *user_at(const smt_row *r, size_t idx)
{
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key) && idx-- == 0)
            return &r->props[i];
    return NULL;
}

/* Keeps the cursor on the same key when properties come and go. */
static const smt_rprop *cursor_prop(smt_edit_pane *e, const smt_row *r)
{
    size_t n = user_count(r);
    e->nav.count = n;
    if (n == 0)
        return NULL;
    if (e->cursor_key[0]) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(user_at(r, i)->key, e->cursor_key) == 0) {
                e->nav.cursor = i;
                break;
            }
    }
    smt_list_resize(&e->nav, n, e->nav.rows);
    const smt_rprop *prop = user_at(r, e->nav.cursor);
    smt_text_printf(e->cursor_key, sizeof e->cursor_key, "%s", prop->key);
    return prop;
}

/* The session the pane edits: pinned when the pane opens, so a session that closes (and the
 * table cursor moving on to its neighbour) can never redirect an edit to another session. */
static smt_row *pinned_row(smt_edit_pane *p)
{
    return p->session ? smt_model_find(p->app->model, p->session) : NULL;
}

static smt_row *edit_row(smt_edit_pane *p)
{
    smt_row *r = pinned_row(p);
    return (r && r->state != SM_REMOTE_CLOSED) ? r : NULL;
}

static bool pin(smt_edit_pane *p, const char *id)
{
    char *copy = strdup(id);
    if (!copy)
        return false;
    free(p->session);
    p->session = copy;
    smt_list_select(&p->nav, 0);
    p->cursor_key[0] = '\0';
    return true;
}

static bool edit_open(void *state)
{
    smt_edit_pane *p = state;
    if (!smt_ui_guard_write(p->app, "editing"))
        return false;
    smt_row *r = smt_ui_selected_row(p->app);
    if (!r || r->state == SM_REMOTE_CLOSED) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "select an open session first");
        return false;
    }
    return pin(p, r->id);
}

/* The user picked another session in the table (a click): the pane follows that explicit choice. */
static void edit_picked(void *state, const char *id)
{
    smt_edit_pane *p = state;
    if (id && (!p->session || strcmp(p->session, id) != 0))
        pin(p, id);
}

static void edit_form_changed(void *owner);
static void edit_form_submit(void *owner);

static void form_for_value(smt_edit_pane *p, smt_form_kind kind, const char *key, const char *value)
{
    smt_form *f =
        smt_app_open_form(p->app, kind, kind == SMT_FORM_EDIT_ADD ? "Add a user property" : "Change a user property", 2,
                          edit_form_changed, edit_form_submit, p);
    smt_text_printf(f->label[0], sizeof f->label[0], "Key");
    smt_text_printf(f->label[1], sizeof f->label[1], "Value");
    smt_line_init(&f->field[0], SM_KEY_MAX);
    smt_line_init(&f->field[1], SM_VALUE_MAX);
    smt_line_set(&f->field[0], key);
    smt_line_set(&f->field[1], value);
    char id[80];
    smt_text_escape(p->session, strlen(p->session), id, sizeof id);
    smt_text_printf(f->text[0], sizeof f->text[0], "Session %s", id);
    smt_form_say_audited(p->app, f);
    if (kind == SMT_FORM_EDIT_CHANGE) {
        f->locked[0] = true;
        f->focus = 1;
    }
    edit_form_changed(p);
}

/* Says in the undo dialog when the values changed again since the edit (undo would overwrite
 * someone else's newer value) or the session is gone. */
static void undo_warning(smt_edit_pane *p)
{
    smt_edit_pane *e = p;
    smt_form *f = &p->app->form;
    smt_row *r = smt_model_find(p->app->model, e->undo_session);
    if (!r || r->state == SM_REMOTE_CLOSED) {
        smt_text_printf(f->status, sizeof f->status, "The session has closed: the server will refuse.");
        f->danger = true;
        return;
    }
    for (size_t i = 0; i < e->undo_count; i++) {
        const char *sent = NULL;
        if (!sent_value(e, e->undo_keys[i], &sent))
            continue;
        const char *cur = smt_row_get(r, e->undo_keys[i]);
        if ((cur == NULL) == (sent == NULL) && (!cur || strcmp(cur, sent) == 0))
            continue;
        char k[64], v[96];
        smt_text_escape(e->undo_keys[i], strlen(e->undo_keys[i]), k, sizeof k);
        if (cur)
            smt_text_escape(cur, strlen(cur), v, sizeof v);
        smt_text_printf(f->status, sizeof f->status, "%s changed again since (now %s%s%s): undo overwrites it.", k,
                       cur ? "'" : "", cur ? v : "absent", cur ? "'" : "");
        f->danger = true;
        return;
    }
}

/* d: asks before deleting the selected property. */
static void open_delete_dialog(smt_edit_pane *p, smt_row *r)
{
    if (!smt_ui_guard_write(p->app, "deleting a property"))
        return;
    const smt_rprop *prop = r ? cursor_prop(p, r) : NULL;
    if (!prop) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "no property selected");
        return;
    }
    smt_form *f =
        smt_app_open_form(p->app, SMT_FORM_EDIT_DELETE, "Delete a user property", 0, NULL, edit_form_submit, p);
    char id[80], key[160], val[160];
    smt_text_escape(r->id, strlen(r->id), id, sizeof id);
    smt_text_escape(prop->key, sm_intern_len(prop->key), key, sizeof key);
    smt_text_escape(prop->value, sm_intern_len(prop->value), val, sizeof val);
    smt_text_printf(f->text[0], sizeof f->text[0], "Delete %s (now '%s')", key, val);
    smt_text_printf(f->text[1], sizeof f->text[1], "from session %s?", id);
    smt_text_printf(f->status, sizeof f->status, "u undoes it afterwards");
    smt_form_say_audited(p->app, f);
    smt_text_printf(f->label[0], sizeof f->label[0], "%s", "");
    smt_line_set(&f->field[0], prop->key); /* carried to submit */
    f->ok = true;
}

/* u: asks before restoring what the last edit changed, and says if it changed again since. */
static void open_undo_dialog(smt_edit_pane *p)
{
    smt_edit_pane *e = p;
    if (!smt_ui_guard_write(p->app, "undo"))
        return;
    if (!e->undo_session) {
        smt_ui_message(p->app, SMT_LOGL_INFO, "nothing to undo");
        return;
    }
    smt_form *f = smt_app_open_form(p->app, SMT_FORM_EDIT_UNDO, "Undo the last edit", 0, NULL, edit_form_submit, p);
    char id[80];
    smt_text_escape(e->undo_session, strlen(e->undo_session), id, sizeof id);
    smt_text_printf(f->text[0], sizeof f->text[0], "Restore the previous value of %zu propert%s", e->undo_count,
             e->undo_count == 1 ? "y" : "ies");
    size_t off = 0;
    for (size_t i = 0; i < e->undo_count && off + 1 < sizeof f->text[1]; i++) {
        char k[64], v[64];
        smt_text_escape(e->undo_keys[i], strlen(e->undo_keys[i]), k, sizeof k);
        if (e->undo_values[i])
            smt_text_escape(e->undo_values[i], strlen(e->undo_values[i]), v, sizeof v);
        int m = (int)smt_text_printf(f->text[1] + off, sizeof f->text[1] - off, "%s%s %s", i ? ", " : "",
                                    e->undo_values[i] ? "set" : "delete", k);
        if (m < 0)
            break;
        off += (size_t)m;
        if (e->undo_values[i] && off < sizeof f->text[1])
            off += (size_t)smt_text_printf(f->text[1] + off, sizeof f->text[1] - off, " = '%s'", v);
        if (off >= sizeof f->text[1])
            off = sizeof f->text[1] - 1;
    }
    smt_text_printf(f->text[2], sizeof f->text[2], "on session %s?", id);
    smt_form_say_audited(p->app, f);
    undo_warning(p);
    f->ok = true;
}

static smt_handled edit_action(void *state, smt_action a)
{
    smt_edit_pane *p = state, *e = p;
    smt_row *r = edit_row(p);
    switch (a) {
    case SMT_ACT_UP:
    case SMT_ACT_DOWN:
        if (r)
            cursor_prop(e, r);
        smt_list_move(&e->nav, a == SMT_ACT_UP ? -1 : 1);
        e->cursor_key[0] = '\0';
        return SMT_HANDLED;
    case SMT_ACT_EDIT_ADD:
        if (!smt_ui_guard_write(p->app, "adding a property"))
            return SMT_HANDLED;
        if (!r) {
            smt_ui_message(p->app, SMT_LOGL_WARN, "the session is gone; nothing to edit");
            return SMT_HANDLED;
        }
        form_for_value(p, SMT_FORM_EDIT_ADD, "", "");
        return SMT_HANDLED;
    case SMT_ACT_EDIT_CHANGE: {
        if (!smt_ui_guard_write(p->app, "changing a property"))
            return SMT_HANDLED;
        const smt_rprop *prop = r ? cursor_prop(e, r) : NULL;
        if (!prop) {
            smt_ui_message(p->app, SMT_LOGL_WARN, "no property selected (a adds one)");
            return SMT_HANDLED;
        }
        form_for_value(p, SMT_FORM_EDIT_CHANGE, prop->key, prop->value);
        return SMT_HANDLED;
    }
    case SMT_ACT_EDIT_DELETE: open_delete_dialog(p, r); return SMT_HANDLED;
    case SMT_ACT_EDIT_UNDO: open_undo_dialog(p); return SMT_HANDLED;
    default:
        return SMT_UNHANDLED;
    }
}

static void edit_form_changed(void *owner)
{
    smt_edit_pane *p = owner;
    smt_form *f = &p->app->form;
    if (f->kind != SMT_FORM_EDIT_ADD && f->kind != SMT_FORM_EDIT_CHANGE)
        return;
    sm_error err;
    sm_error_clear(&err);
    const char *key = f->field[0].buf;
    const char *value = f->field[1].buf;
    f->ok = false;
    f->hint = false;
    if (f->field[0].len == 0) {
        smt_text_printf(f->status, sizeof f->status, "type a key");
        f->hint = true;
        return;
    }
    bool fixed = sm_key_is_fixed(key);
    if (fixed && !sm_key_is_settable_fixed(key)) {
        smt_text_printf(f->status, sizeof f->status,
                       "of the fixed keys only $Country, $Language, $Latitude and $Longitude can be set");
        return;
    }
    if ((!fixed && sm_validate_user_key(key, f->field[0].len, &err) != SM_OK) ||
        sm_validate_value(value, f->field[1].len, &err) != SM_OK) {
        smt_text_printf(f->status, sizeof f->status, "%s", err.message);
        return;
    }
    smt_row *r = edit_row(p);
    const char *cur = r ? smt_row_get(r, key) : NULL;
    if (cur && strcmp(cur, value) == 0) {
        smt_text_printf(f->status, sizeof f->status, "the value is already that");
        f->hint = true;
        return;
    }
    f->ok = true;
    if (smt_form_wants_next_field(f)) {
        smt_text_printf(f->status, sizeof f->status, "%s: Enter or Tab moves on to the value",
                       cur ? "an existing key" : "a new key");
        f->hint = true;
        return;
    }
    smt_text_printf(f->status, sizeof f->status, "%s%s",
                    cur ? "valid: Enter changes the existing value" : "valid: Enter adds it",
                    f->field[1].len == 0 ? " (with an empty value)" : "");
}

static void send_set(smt_edit_pane *p, const char *session, const sm_property *props, size_t n, bool is_undo)
{
    smt_edit_pane *e = p;
    if (!smt_ui_guard_write(p->app, "editing")) /* defence in depth: the keys were already checked */
        return;
    if (e->pending) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "an edit is still waiting for the server");
        return;
    }
    if (!p->app->backend.set) {
        smt_ui_message(p->app, SMT_LOGL_ERROR, "not connected");
        return;
    }
    char err[256] = "";
    uint64_t token = smt_ui_new_token(p->app);
    smt_text_printf(e->result_for, sizeof e->result_for, "%s", session);
    if (smt_app_send_set(p->app, token, session, props, n, err, sizeof err) != 0) {
        smt_text_printf(e->result, sizeof e->result, "not sent: %s", err);
        e->result_error = true;
        smt_ui_message(p->app, SMT_LOGL_ERROR, "edit not sent: %s", err);
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
    smt_text_printf(e->result, sizeof e->result, "%s sent; waiting for the server...", is_undo ? "undo" : "edit");
    e->result_error = false;
}

static void edit_form_submit(void *owner)
{
    smt_edit_pane *p = owner;
    smt_form *f = &p->app->form;
    smt_edit_pane *e = p;
    smt_form_kind kind = f->kind;
    if (kind == SMT_FORM_EDIT_UNDO) {
        if (!e->undo_session) {
            smt_ui_close_form(p->app);
            return;
        }
        sm_property *props = calloc(e->undo_count ? e->undo_count : 1, sizeof *props);
        if (!props) {
            smt_ui_close_form(p->app);
            return;
        }
        for (size_t i = 0; i < e->undo_count; i++)
            props[i] = (sm_property){e->undo_keys[i], e->undo_values[i]};
        char *session = strdup(e->undo_session);
        smt_ui_close_form(p->app);
        if (session)
            send_set(p, session, props, e->undo_count, true);
        free(session);
        free(props);
        return;
    }
    smt_row *r = edit_row(p);
    if (!r) {
        smt_ui_close_form(p->app);
        smt_ui_message(p->app, SMT_LOGL_WARN, "the session closed; nothing sent");
        return;
    }
    if (!f->ok) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "%s", f->status);
        return;
    }
    char key[SM_KEY_MAX + 1];
    smt_text_printf(key, sizeof key, "%s", f->field[0].buf);
    char *value = kind == SMT_FORM_EDIT_DELETE ? NULL : strdup(f->field[1].buf);
    if (kind != SMT_FORM_EDIT_DELETE && !value) {
        smt_ui_close_form(p->app);
        return;
    }
    sm_property kv = {key, value};
    char *session = strdup(r->id);
    smt_ui_close_form(p->app);
    if (session)
        send_set(p, session, &kv, 1, false);
    smt_text_printf(e->cursor_key, sizeof e->cursor_key, "%s", key);
    free(session);
    free(value);
}

static bool edit_reply(void *state, uint64_t token, const smt_reply *reply)
{
    smt_edit_pane *p = state, *e = p;
    if (!e->pending || token != e->token)
        return false;
    e->pending = false;
    char id[80];
    smt_text_escape(e->pending_session ? e->pending_session : "", e->pending_session ? strlen(e->pending_session) : 0,
                    id, sizeof id);
    const char *error_code = reply->code != SM_CLIENT_OK ? sm_client_errcode_name(reply->code) : NULL;
    const char *error_message = reply->message;
    if (error_code && smt_ui_outcome_unknown(reply->code)) {
        smt_text_printf(e->result, sizeof e->result,
                        "outcome unknown (%s): the server may have applied it; the table shows what changed",
                        error_code);
        e->result_error = true;
        smt_eventlog_add(&p->app->log, p->app->wall, SMT_LOGL_WARN, "edit of %s: %s", id, e->result);
        return true;
    }
    if (error_code) {
        smt_text_printf(e->result, sizeof e->result, "server refused: %s: %s", error_code,
                        error_message ? error_message : "");
        e->result_error = true;
        smt_eventlog_add(&p->app->log, p->app->wall, SMT_LOGL_ERROR, "edit of %s refused: %s: %s", id, error_code,
                        error_message ? error_message : "");
        return true;
    }
    const sm_property *changed = reply->changed;
    size_t changed_count = reply->changed_count;
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
    size_t off = (size_t)smt_text_printf(e->result, sizeof e->result, "%s: ", e->pending_is_undo ? "undone" : "server");
    if (changed_count == 0)
        smt_text_printf(e->result + off, sizeof e->result - off, "nothing changed");
    for (size_t i = 0; i < changed_count && off + 1 < sizeof e->result; i++) {
        char k[64], v[96], nv[96] = "";
        const char *sent = NULL;
        bool known = sent_value(e, changed[i].key, &sent);
        smt_text_escape(changed[i].key, strlen(changed[i].key), k, sizeof k);
        if (sent)
            smt_text_escape(sent, strlen(sent), nv, sizeof nv);
        if (changed[i].value)
            smt_text_escape(changed[i].value, strlen(changed[i].value), v, sizeof v);
        const char *sep = i ? "; " : "";
        if (!changed[i].value)
            off += smt_text_printf(e->result + off, sizeof e->result - off, "%s%s added = '%s'", sep, k, nv);
        else if (known && !sent)
            off += smt_text_printf(e->result + off, sizeof e->result - off, "%s%s deleted (was '%s')", sep, k, v);
        else
            off += smt_text_printf(e->result + off, sizeof e->result - off, "%s%s: '%s' -> '%s'", sep, k, v, nv);
    }
    e->result_error = false;
    smt_eventlog_add(&p->app->log, p->app->wall, SMT_LOGL_INFO, "edit of %s: %s", id, e->result);
    if (!p->session || strcmp(e->result_for, p->session) != 0) /* the pane moved on: say it below */
        smt_ui_message(p->app, SMT_LOGL_INFO, "edit of %s: %s", id, e->result);
    return true;
}

static void edit_draw(void *state, int y, int h)
{
    smt_edit_pane *p = state, *e = p;
    int w = p->app->screen_cols;
    smt_row *r = pinned_row(p);
    char buf[400];
    char id[96] = "";
    if (e->session)
        smt_text_escape(e->session, strlen(e->session), id, sizeof id);
    size_t n = r ? user_count(r) : 0;
    smt_text_printf(buf, sizeof buf, " Edit %s: %zu user propert%s  (a add, Enter change, d delete, u undo, Esc close)",
                    id, n, n == 1 ? "y" : "ies");
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    if (h < 2)
        return;
    /* line 1: the last result */
    /* another session's result would read as this one's */
    bool ours = e->result[0] && p->session && strcmp(e->result_for, p->session) == 0;
    const char *res = ours ? e->result : "Changes go to the server; the table shows them when it confirms.";
    smt_screen_str(y + 1, 1, w - 2, res, ours && e->result_error ? SMT_ROLE_LOG_ERROR : SMT_ROLE_PANE);
    int list_y = y + 2;
    int list_h = h - 2;
    if (e->undo_session && list_h > 2) {
        char uid[80];
        smt_text_escape(e->undo_session, strlen(e->undo_session), uid, sizeof uid);
        smt_text_printf(buf, sizeof buf, "u undoes the last edit of %s (%zu propert%s)", uid, e->undo_count,
                 e->undo_count == 1 ? "y" : "ies");
        smt_screen_str(y + h - 1, 1, w - 2, buf, SMT_ROLE_PANE);
        list_h--;
    }
    if (!r || r->state == SM_REMOTE_CLOSED) {
        smt_screen_str(list_y, 1, w - 2, "The session closed: nothing to edit.", SMT_ROLE_LOG_WARN);
        return;
    }
    if (n == 0) {
        smt_screen_str(list_y, 1, w - 2, "(no user properties: a adds one)", SMT_ROLE_PANE);
        return;
    }
    e->nav.rows = list_h;
    cursor_prop(e, r);
    size_t top = e->nav.top;
    int keyw = 8;
    for (size_t i = 0; i < n; i++) {
        const smt_rprop *prop = user_at(r, i);
        int kw = smt_text_width(prop->key, sm_intern_len(prop->key));
        if (kw > keyw)
            keyw = kw;
    }
    if (keyw > w / 3)
        keyw = w / 3;
    for (int i = 0; i < list_h; i++) {
        size_t idx = top + (size_t)i;
        if (idx >= n)
            break;
        const smt_rprop *prop = user_at(r, idx);
        bool sel = idx == e->nav.cursor;
        smt_role role = sel ? SMT_ROLE_ROW_SELECTED : SMT_ROLE_PANE;
        int ly = list_y + i;
        smt_screen_fill(ly, 0, w, role);
        smt_screen_text(ly, 2, keyw, prop->key, sm_intern_len(prop->key), sel ? role : SMT_ROLE_INSPECT_KEY);
        smt_screen_str(ly, 2 + keyw, 3, " = ", role);
        smt_role vr = (!sel && smt_row_key_recent(r, prop->key, p->app->now)) ? SMT_ROLE_INSPECT_CHANGED : role;
        smt_screen_text(ly, 5 + keyw, w - keyw - 6, prop->value, sm_intern_len(prop->value), vr);
    }
}

static bool edit_click(void *state, int row, int x)
{
    (void)x;
    smt_edit_pane *e = state;
    size_t item;
    if (!smt_list_item_at_row(&e->nav, row - 2, &item)) /* the title and the last result come first */
        return false;
    smt_list_select(&e->nav, item);
    e->cursor_key[0] = '\0';
    return true;
}

static bool edit_busy(void *state, char *what, size_t cap)
{
    smt_edit_pane *e = state;
    if (!e->pending)
        return false;
    smt_text_printf(what, cap, "An edit is waiting for the server's answer.");
    return true;
}

static void *edit_create(smt_app *app)
{
    smt_edit_pane *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->app = app;
    smt_list_init(&e->nav, false);
    return e;
}

const smt_pane_ops smt_pane_edit = {
    .name = "edit",
    .ctx = SMT_CTX_EDIT,
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_EDIT,
    .guard = "editing",
    .hint = " a add  Enter change  d delete  u undo  Esc close  ? help",
    .create = edit_create,
    .destroy = edit_destroy,
    .open = edit_open,
    .draw = edit_draw,
    .action = edit_action,
    .click = edit_click,
    .picked = edit_picked,
    .reply = edit_reply,
    .busy = edit_busy,
};
