/* The bulk update pane: filter, local match count and preview, property map, confirmation, undo. */
#include "tui/pane_bulk.h"

#include <stdlib.h>
#include <string.h>

#include "tui/screen.h"
#include "tui/text.h"

#define RECOUNT_MS 1000
#define BULK_READY "Send it? The server applies it to whatever matches then."

static void bulk_form_changed(void *owner);
static void bulk_form_submit(void *owner);
static int64_t bulk_tick(void *state, bool shown);

static void free_undo(smt_bulk_pane *p, smt_bulk_undo_item *items, size_t n)
{
    sm_intern *pool = smt_model_pool(p->app->model);
    for (size_t i = 0; i < n; i++) {
        sm_intern_unref(pool, items[i].session);
        sm_intern_unref(pool, items[i].key);
        sm_intern_unref(pool, items[i].value);
        sm_intern_unref(pool, items[i].applied);
    }
    free(items);
}

static void clear_undo(smt_bulk_pane *p)
{
    smt_bulk_pane *b = p;
    free_undo(p, b->undo, b->nundo);
    b->undo = NULL;
    b->nundo = 0;
    b->undo_sessions = 0;
    b->undo_running = false;
    b->undo_next = b->undo_inflight = b->undo_done = b->undo_failed = 0;
    memset(b->undo_tokens, 0, sizeof b->undo_tokens);
}

static void bulk_destroy(void *state)
{
    smt_bulk_pane *p = state, *b = p;
    if (!p)
        return;
    sm_filter_free(b->parsed);
    for (int i = 0; i < b->nentries; i++)
        free(b->entries[i].value);
    smt_bulk_count_clear(&b->count);
    clear_undo(p);
    free_undo(p, b->pending_undo, b->pending_nundo);
    b->pending_undo = NULL;
    b->pending_nundo = b->pending_sessions = 0;
    free(p);
}

/* The filter text changed: parse it again and recount; the prompt marks where it stops parsing. */
static void filter_changed(smt_bulk_pane *p)
{
    smt_bulk_pane *b = p;
    sm_filter_free(b->parsed);
    b->parsed = NULL;
    sm_error_clear(&b->error);
    if (b->filter.len > 0)
        sm_filter_parse(b->filter.buf, b->filter.len, &b->parsed, &b->error);
    b->recount = true;
    smt_list_select(&b->preview_nav, 0);
    if (p->app->prompt.kind == SMT_PROMPT_BULK_FILTER && p->app->prompt.owner == p)
        p->app->prompt.error_column = !b->parsed && b->filter.len ? b->error.column : 0;
}

static void prompt_changed(void *owner, const char *text)
{
    smt_bulk_pane *p = owner;
    smt_line_set(&p->filter, text);
    filter_changed(p);
}

static void start_filter_prompt(smt_bulk_pane *p)
{
    smt_prompt *pr = smt_app_start_prompt(p->app, SMT_PROMPT_BULK_FILTER, "Bulk filter> ", p->filter.buf,
                                          prompt_changed, NULL, p);
    pr->mutates = true;
    pr->error_column = !p->parsed && p->filter.len ? p->error.column : 0;
}

static bool bulk_open(void *state)
{
    smt_bulk_pane *p = state, *b = p;
    if (!smt_ui_guard_write(p->app, "bulk update"))
        return false;
    char tagged[SM_FILTER_MAX + 1], why[200];
    if (smt_app_tagged_count(p->app) > 0) { /* tagged rows are what the user picked: they come first */
        if (!smt_app_tagged_filter(p->app, tagged, sizeof tagged, why, sizeof why)) {
            smt_ui_message(p->app, SMT_LOGL_WARN, "%s", why);
            return false;
        }
        smt_line_set(&b->filter, tagged);
        filter_changed(p);
        smt_ui_message(p->app, SMT_LOGL_INFO, "bulk update on the %zu tagged sessions", smt_app_tagged_count(p->app));
    } else if (b->filter.len == 0 && smt_view_filter_text(p->app->view)[0]) {
        smt_line_set(&b->filter, smt_view_filter_text(p->app->view));
        filter_changed(p);
    }
    b->recount = true;
    start_filter_prompt(p);
    return true;
}

/* The local evaluation, refreshed when the filter or the map changes and about once a second. */
static void recount(smt_bulk_pane *b)
{
    b->counted_at = b->app->now;
    b->recount = false;
    smt_bulk_count_run(&b->count, b->app->model, b->app->view, b->parsed, b->entries, b->nentries);
}

static int64_t bulk_tick(void *state, bool shown)
{
    smt_bulk_pane *p = state;
    smt_bulk_pane *b = p;
    int64_t next = -1;
    p->shown = shown;
    if (shown) {
        if (b->recount || p->app->now >= b->counted_at + RECOUNT_MS) {
            recount(p);
            p->app->dirty = true;
        }
        next = RECOUNT_MS;
    }
    /* feed the undo: one set per session, a bounded number in flight */
    while (b->undo_running && b->undo_inflight < SMT_BULK_UNDO_INFLIGHT && b->undo_next < b->nundo) {
        size_t start = b->undo_next, end = start;
        while (end < b->nundo && b->undo[end].session == b->undo[start].session)
            end++;
        b->undo_next = end;
        if (!smt_ui_guard_write(p->app, "undo")) {
            b->undo_running = false;
            break;
        }
        sm_property props[SMT_BULK_MAX_ENTRIES];
        size_t n = 0;
        for (size_t i = start; i < end && n < SMT_BULK_MAX_ENTRIES; i++)
            props[n++] = (sm_property){b->undo[i].key, b->undo[i].value};
        uint64_t token = smt_ui_new_token(p->app);
        char err[256] = "";
        if (smt_app_send_set(p->app, token, b->undo[start].session, props, n, err, sizeof err) != 0) {
            b->undo_failed++;
            continue;
        }
        for (int i = 0; i < SMT_BULK_UNDO_INFLIGHT; i++)
            if (b->undo_tokens[i] == 0) {
                b->undo_tokens[i] = token;
                break;
            }
        b->undo_inflight++;
        p->app->dirty = true;
    }
    if (b->undo_running && b->undo_next >= b->nundo && b->undo_inflight == 0) {
        smt_text_printf(b->result, sizeof b->result,
                        "undo finished: %zu sessions restored, %zu failed (closed or refused); the map was cleared",
                        b->undo_done, b->undo_failed);
        b->result_error = b->undo_failed > 0;
        smt_ui_message(p->app, b->undo_failed ? SMT_LOGL_WARN : SMT_LOGL_INFO, "bulk %s", b->result);
        clear_undo(p);
    }
    return next;
}

/* ---- actions ---- */

static void summary(const smt_bulk_pane *b, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < b->nentries && off + 1 < cap; i++) {
        char k[64], v[64];
        smt_text_escape(b->entries[i].key, strlen(b->entries[i].key), k, sizeof k);
        int m;
        if (b->entries[i].value) {
            smt_text_escape(b->entries[i].value, strlen(b->entries[i].value), v, sizeof v);
            m = smt_text_printf(out + off, cap - off, "%sset %s='%s'", i ? ", " : "", k, v);
        } else {
            m = smt_text_printf(out + off, cap - off, "%sdelete %s", i ? ", " : "", k);
        }
        if (m < 0)
            break;
        off += (size_t)m;
    }
}

static void open_confirm(smt_bulk_pane *p)
{
    smt_bulk_pane *b = p;
    smt_form *f = smt_app_open_form(p->app, SMT_FORM_BULK_CONFIRM, "Confirm the bulk update", 0, bulk_form_changed,
                                    bulk_form_submit, p);
    smt_text_printf(f->text[0], sizeof f->text[0], "Apply %d change%s to %zu session%s matching:", b->nentries,
             b->nentries == 1 ? "" : "s", b->count.matches, b->count.matches == 1 ? "" : "s");
    char esc[300];
    smt_text_escape(b->filter.buf, b->filter.len, esc, sizeof esc);
    smt_text_printf(f->text[1], sizeof f->text[1], "  %s", esc);
    summary(b, f->text[2], sizeof f->text[2]);
    if (b->count.hidden) {
        size_t l = strlen(f->text[2]);
        smt_text_printf(f->text[2] + l, sizeof f->text[2] - l, " (%zu of them hidden by the table's filter)",
                        b->count.hidden);
    }
    smt_form_say_audited(p->app, f);
    b->sent_local = b->count.matches;
    smt_form_confirm_count(f, b->count.matches, SMT_BULK_CONFIRM_TYPED, BULK_READY);
}

static void apply(smt_bulk_pane *p)
{
    smt_bulk_pane *b = p;
    if (!smt_ui_guard_write(p->app, "bulk update"))
        return;
    if (b->pending) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "a bulk update is still waiting for the server");
        return;
    }
    if (b->undo_running) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "an undo is still running");
        return;
    }
    if (!b->parsed) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "%s", b->filter.len ? b->error.message : "type a filter first (f)");
        return;
    }
    if (b->nentries == 0) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "nothing to apply: a adds a property to set, x one to delete");
        return;
    }
    char why[240];
    if (smt_filter_monitor_only(b->filter.buf, why, sizeof why)) {
        smt_ui_message(p->app, SMT_LOGL_WARN, "%s", why);
        return;
    }
    recount(p);
    if (b->count.matches == 0) { /* never widen an empty match */
        smt_ui_message(p->app, SMT_LOGL_WARN, "no session matches locally: nothing sent");
        return;
    }
    open_confirm(p);
}

/* Of the sessions the undo would restore: how many no longer hold what the update set (someone
 * changed them since), and how many are gone. */
static void undo_drift(smt_bulk_pane *p, size_t *changed, size_t *gone)
{
    smt_bulk_pane *b = p;
    for (size_t i = 0; i < b->nundo;) {
        size_t end = i;
        while (end < b->nundo && b->undo[end].session == b->undo[i].session)
            end++;
        smt_row *r = smt_model_find(p->app->model, b->undo[i].session);
        if (!r || r->state == SM_REMOTE_CLOSED) {
            (*gone)++;
        } else {
            for (size_t k = i; k < end; k++) {
                const char *cur = smt_row_get(r, b->undo[k].key);
                const char *set = b->undo[k].applied;
                if ((cur == NULL) != (set == NULL) || (cur && strcmp(cur, set) != 0)) {
                    (*changed)++;
                    break;
                }
            }
        }
        i = end;
    }
}

/* a (set) or x (delete): the dialog for one more entry of the map. */
static void open_entry_dialog(smt_bulk_pane *b, bool set)
{
    if (b->nentries >= SMT_BULK_MAX_ENTRIES) {
        smt_ui_message(b->app, SMT_LOGL_WARN, "at most %d properties per update", SMT_BULK_MAX_ENTRIES);
        return;
    }
    smt_form *f = smt_app_open_form(
        b->app, set ? SMT_FORM_BULK_SET : SMT_FORM_BULK_DELETE,
        set ? "Set a property on every matching session" : "Delete a property from every matching session",
        set ? 2 : 1, bulk_form_changed, bulk_form_submit, b);
    smt_text_printf(f->text[0], sizeof f->text[0],
                    "Goes into the property map for the sessions matching the filter (%zu now). Nothing is sent "
                    "until A and its confirmation.",
                    b->count.matches);
    smt_text_printf(f->text[1], sizeof f->text[1], "%s",
                    set ? "Keys: user keys, or $Country, $Language, $Latitude, $Longitude."
                        : "Only user keys can be deleted.");
    smt_text_printf(f->label[0], sizeof f->label[0], "Key");
    smt_line_init(&f->field[0], SM_KEY_MAX);
    if (set) {
        smt_text_printf(f->label[1], sizeof f->label[1], "Value");
        smt_line_init(&f->field[1], SM_VALUE_MAX);
    }
    bulk_form_changed(b);
}

static void remove_entry(smt_bulk_pane *b)
{
    if (b->nav.cursor >= (size_t)b->nentries)
        return;
    int c = (int)b->nav.cursor;
    free(b->entries[c].value);
    memmove(&b->entries[c], &b->entries[c + 1], (size_t)(b->nentries - c - 1) * sizeof b->entries[0]);
    b->nentries--;
    smt_list_resize(&b->nav, (size_t)b->nentries, b->nav.rows);
    b->recount = true;
}

/* u: asks before restoring, saying what changed since the update and what is gone. */
static void open_undo_dialog(smt_bulk_pane *b)
{
    if (!smt_ui_guard_write(b->app, "undo"))
        return;
    if (!b->undo || b->undo_running) {
        smt_ui_message(b->app, SMT_LOGL_INFO, b->undo_running ? "the undo is running" : "nothing to undo");
        return;
    }
    smt_form *f = smt_app_open_form(b->app, SMT_FORM_BULK_UNDO, "Undo the last bulk update", 0, NULL,
                                    bulk_form_submit, b);
    f->danger = true;
    smt_text_printf(f->text[0], sizeof f->text[0], "Restore the previous values on %zu session%s (one request each).",
                    b->undo_sessions, b->undo_sessions == 1 ? "" : "s");
    smt_text_printf(f->text[1], sizeof f->text[1],
                    "Values are those the monitor saw before the update; sessions it did not know are left alone.");
    size_t changed = 0, gone = 0;
    undo_drift(b, &changed, &gone);
    char *t = f->text[2];
    size_t cap = sizeof f->text[2], off = 0;
    if (changed)
        off = smt_text_printf(t, cap, "Since the update %zu session%s changed again: undo overwrites the newer values.",
                              changed, changed == 1 ? "" : "s");
    if (gone)
        smt_text_printf(t + off, cap - off, "%s%zu session%s closed (nothing to restore there).", off ? " " : "", gone,
                        gone == 1 ? "" : "s");
    smt_form_say_audited(b->app, f);
    f->ok = true;
}

static smt_handled bulk_action(void *state, smt_action a)
{
    smt_bulk_pane *b = state;
    switch (a) {
    case SMT_ACT_BULK_FILTER: start_filter_prompt(b); break;
    case SMT_ACT_BULK_ADD_SET:
    case SMT_ACT_BULK_ADD_DELETE: open_entry_dialog(b, a == SMT_ACT_BULK_ADD_SET); break;
    case SMT_ACT_BULK_REMOVE: remove_entry(b); break;
    case SMT_ACT_UP:
    case SMT_ACT_DOWN: smt_list_action(&b->nav, a); break;
    case SMT_ACT_PGUP:
    case SMT_ACT_PGDN: /* the map has few entries: the page keys scroll the preview */
        smt_list_action(&b->preview_nav, a);
        break;
    case SMT_ACT_SCROLL_LEFT:
        if (b->preview_hscroll > 0)
            b->preview_hscroll--;
        break;
    case SMT_ACT_SCROLL_RIGHT:
        if (b->preview_hscroll + 1 < b->nentries)
            b->preview_hscroll++;
        break;
    case SMT_ACT_BULK_APPLY: apply(b); break;
    case SMT_ACT_BULK_UNDO: open_undo_dialog(b); break;
    default: return SMT_UNHANDLED;
    }
    return SMT_HANDLED;
}

static void bulk_form_changed(void *owner)
{
    smt_bulk_pane *p = owner;
    smt_form *f = &p->app->form;
    sm_error err;
    sm_error_clear(&err);
    f->ok = false;
    f->hint = false;
    switch (f->kind) {
    case SMT_FORM_BULK_CONFIRM: smt_form_confirm_check(f, BULK_READY); return;
    case SMT_FORM_BULK_SET:
    case SMT_FORM_BULK_DELETE: {
        const char *key = f->field[0].buf;
        if (f->field[0].len == 0) {
            smt_text_printf(f->status, sizeof f->status, "type a key");
            f->hint = true;
            return;
        }
        if (sm_key_is_fixed(key)) {
            if (f->kind == SMT_FORM_BULK_DELETE || !sm_key_is_settable_fixed(key)) {
                smt_text_printf(f->status, sizeof f->status, "%s",
                         f->kind == SMT_FORM_BULK_DELETE ? "fixed properties cannot be deleted"
                                                        : "of the fixed keys only $Country, $Language, $Latitude and "
                                                          "$Longitude can be set");
                return;
            }
        } else if (sm_validate_user_key(key, f->field[0].len, &err) != SM_OK) {
            smt_text_printf(f->status, sizeof f->status, "%s", err.message);
            return;
        }
        if (f->kind == SMT_FORM_BULK_SET && sm_validate_value(f->field[1].buf, f->field[1].len, &err) != SM_OK) {
            smt_text_printf(f->status, sizeof f->status, "%s", err.message);
            return;
        }
        f->ok = true;
        if (smt_form_wants_next_field(f)) {
            smt_text_printf(f->status, sizeof f->status, "key valid: Enter or Tab moves on to the value");
            f->hint = true;
            return;
        }
        smt_text_printf(f->status, sizeof f->status, "valid: Enter adds it to the map%s (nothing is sent yet)",
                       f->kind == SMT_FORM_BULK_SET && f->field[1].len == 0 ? " with an empty value" : "");
        return;
    }
    default:
        return;
    }
}

static void add_entry(smt_bulk_pane *b, const char *key, const char *value)
{
    int i;
    for (i = 0; i < b->nentries; i++)
        if (strcmp(b->entries[i].key, key) == 0)
            break;
    if (i == b->nentries) {
        if (b->nentries >= SMT_BULK_MAX_ENTRIES)
            return;
        b->nentries++;
    } else {
        free(b->entries[i].value);
    }
    smt_text_printf(b->entries[i].key, sizeof b->entries[i].key, "%s", key);
    b->entries[i].value = value ? strdup(value) : NULL;
    b->nav.count = (size_t)b->nentries;
    smt_list_select(&b->nav, (size_t)i);
}

typedef struct snap_ctx {
    smt_bulk_pane *p;
    smt_bulk_undo_item *items;
    size_t n, cap, sessions;
    bool failed;
} snap_ctx;

static void snapshot_row(smt_row *r, void *vctx)
{
    snap_ctx *c = vctx;
    smt_bulk_pane *b = c->p;
    if (c->failed || !smt_bulk_row_counts(r) || !smt_row_matches_filter(b->parsed, r))
        return;
    if (c->n + (size_t)b->nentries > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        while (cap < c->n + (size_t)b->nentries)
            cap *= 2;
        smt_bulk_undo_item *it = realloc(c->items, cap * sizeof *it);
        if (!it) {
            c->failed = true;
            return;
        }
        c->items = it;
        c->cap = cap;
    }
    sm_intern *pool = smt_model_pool(c->p->app->model);
    for (int i = 0; i < b->nentries; i++) {
        const char *key = sm_intern_cstr(pool, b->entries[i].key);
        const char *applied = b->entries[i].value ? sm_intern_cstr(pool, b->entries[i].value) : NULL;
        c->items[c->n++] =
            (smt_bulk_undo_item){sm_intern_ref(r->id), key, sm_intern_ref(smt_row_get(r, b->entries[i].key)), applied};
    }
    c->sessions++;
}

static void bulk_form_submit(void *owner)
{
    smt_bulk_pane *p = owner;
    smt_form *f = &p->app->form;
    smt_bulk_pane *b = p;
    switch (f->kind) {
    case SMT_FORM_BULK_SET:
    case SMT_FORM_BULK_DELETE:
        if (!f->ok)
            return;
        add_entry(b, f->field[0].buf, f->kind == SMT_FORM_BULK_SET ? f->field[1].buf : NULL);
        b->recount = true;
        smt_ui_close_form(p->app);
        return;
    case SMT_FORM_BULK_CONFIRM: {
        if (!f->ok)
            return;
        size_t confirmed = b->sent_local;
        smt_ui_close_form(p->app);
        if (!smt_ui_guard_write(p->app, "bulk update") || !b->parsed)
            return;
        recount(p);
        if (b->count.matches == 0) {
            smt_ui_message(p->app, SMT_LOGL_WARN, "no session matches locally any more: nothing sent");
            return;
        }
        if (b->count.matches != confirmed) {
            smt_ui_message(p->app, SMT_LOGL_WARN, "the match count changed from %zu to %zu: confirm again", confirmed,
                          b->count.matches);
            open_confirm(p);
            return;
        }
        /* remember the previous values before anything changes */
        snap_ctx c = {p, NULL, 0, 0, 0, false};
        smt_model_foreach(p->app->model, snapshot_row, &c);
        if (c.failed) {
            free_undo(p, c.items, c.n);
            smt_ui_message(p->app, SMT_LOGL_ERROR, "out of memory saving the previous values: nothing sent");
            return;
        }
        sm_property props[SMT_BULK_MAX_ENTRIES];
        for (int i = 0; i < b->nentries; i++)
            props[i] = (sm_property){b->entries[i].key, b->entries[i].value};
        uint64_t token = smt_ui_new_token(p->app);
        char err[256] = "";
        /* the very filter text the user saw and confirmed */
        if (smt_app_send_set_by_filter(p->app, token, b->filter.buf, props, (size_t)b->nentries, err, sizeof err) !=
            0) {
            free_undo(p, c.items, c.n);
            smt_text_printf(b->result, sizeof b->result, "not sent: %s", err);
            b->result_error = true;
            smt_ui_message(p->app, SMT_LOGL_ERROR, "bulk update %s", b->result);
            return;
        }
        free_undo(p, b->pending_undo, b->pending_nundo);
        b->pending_undo = c.items;
        b->pending_nundo = c.n;
        b->pending_sessions = c.sessions;
        b->pending = true;
        b->token = token;
        smt_text_printf(b->result, sizeof b->result, "sent to the server (%zu sessions matched here); waiting...",
                        confirmed);
        b->result_error = false;
        char esc[200];
        smt_text_escape(b->filter.buf, b->filter.len, esc, sizeof esc);
        smt_eventlog_add(&p->app->log, p->app->wall, SMT_LOGL_INFO, "bulk update sent: filter %s (%zu local matches)",
                         esc, confirmed);
        return;
    }
    case SMT_FORM_BULK_UNDO:
        smt_ui_close_form(p->app);
        if (!smt_ui_guard_write(p->app, "undo") || !b->undo)
            return;
        b->undo_running = true;
        b->undo_next = b->undo_done = b->undo_failed = b->undo_inflight = 0;
        /* the update being undone must not stay one A away from being sent again */
        for (int i = 0; i < b->nentries; i++)
            free(b->entries[i].value);
        b->nentries = 0;
        smt_list_resize(&b->nav, 0, b->nav.rows);
        b->recount = true;
        smt_text_printf(b->result, sizeof b->result, "undo running: restoring %zu sessions...", b->undo_sessions);
        b->result_error = false;
        bulk_tick(p, p->shown);
        return;
    default:
        return;
    }
}

static bool bulk_reply(void *state, uint64_t token, const smt_reply *reply)
{
    smt_bulk_pane *p = state, *b = p;
    const char *error_code = reply->code != SM_CLIENT_OK ? sm_client_errcode_name(reply->code) : NULL;
    const char *error_message = reply->message;
    uint64_t count = reply->count;
    for (int i = 0; i < SMT_BULK_UNDO_INFLIGHT; i++) {
        if (b->undo_tokens[i] != token || token == 0)
            continue;
        b->undo_tokens[i] = 0;
        if (b->undo_inflight)
            b->undo_inflight--;
        if (error_code)
            b->undo_failed++;
        else
            b->undo_done++;
        smt_text_printf(b->result, sizeof b->result, "undo: %zu of %zu sessions restored, %zu failed", b->undo_done,
                 b->undo_sessions, b->undo_failed);
        bulk_tick(p, p->shown);
        return true;
    }
    if (!b->pending || token != b->token)
        return false;
    b->pending = false;
    if (error_code && smt_ui_outcome_unknown(reply->code)) {
        /* the request left: the server may have applied it. Keep the saved values for undo. */
        clear_undo(p);
        b->undo = b->pending_undo;
        b->nundo = b->pending_nundo;
        b->undo_sessions = b->pending_sessions;
        b->pending_undo = NULL;
        b->pending_nundo = b->pending_sessions = 0;
        smt_text_printf(b->result, sizeof b->result,
                       "outcome unknown (%s): the server may have applied it; the table shows what changed, u restores "
                       "the saved values",
                       error_code);
        b->result_error = true;
        smt_ui_message(p->app, SMT_LOGL_WARN, "bulk update: %s", b->result);
        b->recount = true;
        return true;
    }
    if (error_code) {
        free_undo(p, b->pending_undo, b->pending_nundo);
        b->pending_undo = NULL;
        b->pending_nundo = b->pending_sessions = 0;
        smt_text_printf(b->result, sizeof b->result, "server refused: %s: %s", error_code,
                        error_message ? error_message : "");
        b->result_error = true;
        smt_ui_message(p->app, SMT_LOGL_ERROR, "bulk update %s", b->result);
        return true;
    }
    clear_undo(p);
    b->undo = b->pending_undo;
    b->nundo = b->pending_nundo;
    b->undo_sessions = b->pending_sessions;
    b->pending_undo = NULL;
    b->pending_nundo = b->pending_sessions = 0;
    int off = (int)smt_text_printf(b->result, sizeof b->result, "server updated %llu session%s (local preview: %zu)",
                       (unsigned long long)count, count == 1 ? "" : "s", b->sent_local);
    if (count != b->sent_local && off > 0 && (size_t)off < sizeof b->result)
        smt_text_printf(b->result + off, sizeof b->result - (size_t)off, "; sessions changed in between");
    if (count > b->undo_sessions && off > 0 && strlen(b->result) < sizeof b->result)
        smt_text_printf(b->result + strlen(b->result), sizeof b->result - strlen(b->result),
                 "; %llu unknown here cannot be undone", (unsigned long long)(count - b->undo_sessions));
    b->result_error = false;
    smt_ui_message(p->app, SMT_LOGL_INFO, "bulk update: %s", b->result);
    b->recount = true;
    return true;
}

/* ---- drawing ---- */

#define PREVIEW_VALUE_MAX 24 /* columns for a current or new value in the preview */

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* How a value reads in the pane: an empty string is shown as '' so it differs from nothing. */
static const char *shown_value(const char *v)
{
    return v[0] ? v : "''";
}

static int width_of(const char *s)
{
    return smt_text_width(s, strlen(s));
}

static int clamp_width(int w, int max)
{
    return w < max ? w : max;
}

/* One line per map entry: what it does and how many of the matches it would change (in a
 * column at x = 3 + 7 + keyw + 3 + valw + 2 when there is room). */
static void draw_entry(smt_bulk_pane *p, int y, int i, int keyw, int valw)
{
    smt_bulk_pane *b = p;
    int w = p->app->screen_cols;
    const smt_bulk_entry *e = &b->entries[i];
    smt_role role = (size_t)i == b->nav.cursor ? SMT_ROLE_ROW_SELECTED : SMT_ROLE_PANE;
    smt_screen_fill(y, 0, w, role);
    int x = 3 + smt_screen_str(y, 3, 7, e->value ? "set" : "delete", role);
    x += smt_screen_str(y, x, keyw, e->key, role);
    char counts[96] = "";
    if (!b->recount && b->parsed) {
        size_t same = b->count.matches - b->count.changes[i];
        if (same)
            smt_text_printf(counts, sizeof counts, "  %zu to change, %zu already so", b->count.changes[i], same);
        else
            smt_text_printf(counts, sizeof counts, "  %zu to change", b->count.changes[i]);
    }
    int cw = width_of(counts);
    if (e->value && x + 4 < w) {
        x += smt_screen_str(y, x, 3, " = ", role);
        int vw = clamp_width(width_of(shown_value(e->value)), w - x - 1 - cw);
        if (vw < 8)
            vw = w - x - 1 > 8 ? 8 : w - x - 1;
        x += smt_screen_str(y, x, vw, shown_value(e->value), role);
    }
    int cx = 3 + 7 + keyw + (valw ? 3 + valw : 0);
    if (cx < x || cx + cw >= w)
        cx = x;
    if (counts[0] && cx + cw < w)
        smt_screen_str(y, cx, cw, counts, role == SMT_ROLE_PANE ? SMT_ROLE_INSPECT_KEY : role);
}

/* Where the preview's columns go: widths from the rows on screen, so the arrows line up. */
typedef struct preview_layout {
    size_t first, last; /* the matches on screen */
    int idw, pw;        /* session ID and principal columns */
    bool principal;     /* wide enough for the principal */
    int curw[SMT_BULK_MAX_ENTRIES], neww[SMT_BULK_MAX_ENTRIES];
    int x0;             /* where the entries start */
    int shown_to;       /* entries [preview_hscroll, shown_to) fit */
} preview_layout;

static void preview_measure(const smt_bulk_pane *b, int w, preview_layout *lay)
{
    lay->idw = width_of(SM_PROP_SESSION_ID);
    lay->pw = width_of(SM_PROP_PRINCIPAL);
    for (int e = 0; e < b->nentries; e++) {
        lay->curw[e] = clamp_width(width_of(b->entries[e].key), PREVIEW_VALUE_MAX);
        lay->neww[e] =
            clamp_width(b->entries[e].value ? width_of(shown_value(b->entries[e].value)) : width_of("(deleted)"),
                        PREVIEW_VALUE_MAX);
    }
    for (size_t i = lay->first; i < lay->last; i++) {
        smt_row *r = smt_model_find(b->app->model, b->count.preview[i]);
        if (!r)
            continue;
        lay->idw = clamp_width(lay->idw > width_of(r->id) ? lay->idw : width_of(r->id), 36);
        const char *who = smt_row_get(r, SM_PROP_PRINCIPAL);
        if (who && width_of(who) > lay->pw)
            lay->pw = clamp_width(width_of(who), 16);
        for (int e = 0; e < b->nentries; e++) {
            const char *cur = smt_row_get(r, b->entries[e].key);
            int cw = clamp_width(width_of(cur ? shown_value(cur) : "(absent)"), PREVIEW_VALUE_MAX);
            if (cw > lay->curw[e])
                lay->curw[e] = cw;
        }
    }
    lay->principal = w >= 90;
    lay->x0 = 3 + lay->idw + 2 + (lay->principal ? lay->pw + 2 : 0);
    /* which entries fit from the scrolled one on (at least one, cut at the edge) */
    lay->shown_to = b->preview_hscroll;
    for (int x = lay->x0; lay->shown_to < b->nentries && (x < w - 1 || lay->shown_to == b->preview_hscroll);
         lay->shown_to++) {
        int cw = lay->curw[lay->shown_to] + 3 + lay->neww[lay->shown_to];
        if (x + cw > w - 1 && lay->shown_to > b->preview_hscroll)
            break;
        x += cw + 2;
    }
}

static void preview_titles(const smt_bulk_pane *b, int y, int w, const preview_layout *lay)
{
    char buf[256];
    smt_screen_str(y, 3, lay->idw, SM_PROP_SESSION_ID, SMT_ROLE_TABLE_HEADER);
    if (lay->principal)
        smt_screen_str(y, 3 + lay->idw + 2, lay->pw, SM_PROP_PRINCIPAL, SMT_ROLE_TABLE_HEADER);
    int x = lay->x0;
    for (int e = b->preview_hscroll; e < lay->shown_to; e++) {
        int cw = clamp_width(lay->curw[e] + 3 + lay->neww[e], w - x - 1);
        smt_text_printf(buf, sizeof buf, "%s", b->entries[e].key);
        smt_screen_str(y, x, cw, buf, SMT_ROLE_TABLE_HEADER);
        x += cw + 2;
    }
    if (b->preview_hscroll > 0 || lay->shown_to < b->nentries) {
        smt_text_printf(buf, sizeof buf, "%s%d of %d keys", b->preview_hscroll > 0 ? "< " : "",
                        lay->shown_to - b->preview_hscroll, b->nentries);
        if (lay->shown_to < b->nentries)
            smt_text_printf(buf + strlen(buf), sizeof buf - strlen(buf), " >");
        int bw = width_of(buf);
        if (x + bw < w)
            smt_screen_str(y, w - bw - 1, bw, buf, SMT_ROLE_PANE_TITLE);
    }
}

/* One matched session: its ID (and principal), then per entry "current -> new" or "= value". */
static void preview_row(const smt_bulk_pane *b, const smt_row *r, int y, int w, const preview_layout *lay)
{
    const char *arrow = smt_screen_utf8() ? " \u2192 " : " -> ";
    smt_screen_text(y, 3, lay->idw, r->id, strlen(r->id), SMT_ROLE_PANE);
    if (lay->principal) {
        const char *who = smt_row_get(r, SM_PROP_PRINCIPAL);
        smt_screen_str(y, 3 + lay->idw + 2, lay->pw, who ? who : "", SMT_ROLE_PANE);
    }
    int x = lay->x0;
    for (int e = b->preview_hscroll; e < lay->shown_to && x < w - 1; e++) {
        const smt_bulk_entry *en = &b->entries[e];
        const char *cur = smt_row_get(r, en->key);
        bool changes = smt_bulk_entry_changes(en, r);
        int room = w - x - 1;
        int used = smt_screen_str(y, x, clamp_width(lay->curw[e], room), cur ? shown_value(cur) : "(absent)",
                                  changes ? SMT_ROLE_PANE : SMT_ROLE_INSPECT_KEY);
        room -= used;
        if (room > 3) {
            smt_screen_str(y, x + used, 3, changes ? arrow : " = ", SMT_ROLE_PANE);
            room -= 3;
            const char *nv = en->value ? shown_value(en->value) : changes ? "(deleted)" : "(absent)";
            if (room > 0)
                smt_screen_str(y, x + used + 3, clamp_width(lay->neww[e], room), nv,
                               changes ? SMT_ROLE_INSPECT_CHANGED : SMT_ROLE_INSPECT_KEY);
        }
        x += lay->curw[e] + 3 + lay->neww[e] + 2;
    }
}

/* The preview: one row per matched session, one column per map entry, "current → new" with
 * the arrows aligned ("=" when the session already has that value). */
static void draw_preview(smt_bulk_pane *b, int y, int end)
{
    int w = b->app->screen_cols;
    char buf[256];
    if (b->preview_hscroll >= b->nentries)
        b->preview_hscroll = b->nentries > 0 ? b->nentries - 1 : 0;
    int rows = end - y - 2; /* title and column titles */
    smt_list_resize(&b->preview_nav, b->count.npreview, rows);
    preview_layout lay;
    lay.first = b->preview_nav.top;
    lay.last = lay.first + (size_t)(rows > 0 ? rows : 0);
    if (lay.last > b->count.npreview)
        lay.last = b->count.npreview;
    if (b->count.npreview == 0)
        smt_text_printf(buf, sizeof buf, "Preview: no session matches");
    else
        smt_text_printf(buf, sizeof buf, "Preview: %zu-%zu of %zu match%s by session ID%s  (PgUp/PgDn%s)",
                        lay.first + 1, lay.last > lay.first ? lay.last : lay.first + 1, b->count.matches,
                        b->count.matches == 1 ? "" : "es",
                        b->count.matches > b->count.npreview ? " (the first 200)" : "",
                        b->nentries > 1 ? ", Left/Right: keys" : "");
    smt_screen_str(y++, 1, w - 2, buf, SMT_ROLE_PANE_TITLE);
    if (y >= end || rows <= 0)
        return;
    preview_measure(b, w, &lay);
    preview_titles(b, y++, w, &lay);
    for (size_t i = lay.first; i < lay.last && y < end; i++, y++) {
        smt_row *r = smt_model_find(b->app->model, b->count.preview[i]);
        if (r) /* else closed since the last count (at most a second ago) */
            preview_row(b, r, y, w, &lay);
    }
}

static void bulk_draw(void *state, int y, int h)
{
    smt_bulk_pane *p = state, *b = p;
    int w = p->app->screen_cols;
    char buf[512];
    smt_screen_str(y, 0, w, " Bulk update  (f filter, a set, x delete, d remove, A apply, u undo, Esc close)",
              SMT_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    int ly = y + 1, end = y + h;
    if (ly >= end)
        return;
    /* the filter and its evaluation */
    int x = smt_screen_str(ly, 1, 8, "Filter: ", SMT_ROLE_PANE) + 1;
    smt_screen_text(ly, x, w - x - 1, b->filter.len ? b->filter.buf : "(none: f to type one)",
                    b->filter.len ? b->filter.len : 21,
                    b->filter.len == 0 ? SMT_ROLE_PANE
                    : b->parsed        ? SMT_ROLE_FILTER_OK
                                       : SMT_ROLE_FILTER_ERROR);
    if (++ly >= end)
        return;
    if (b->filter.len && !b->parsed) {
        smt_screen_str(ly, 1, w - 2, b->error.message, SMT_ROLE_FILTER_ERROR);
    } else if (b->parsed) {
        size_t off = smt_text_printf(buf, sizeof buf, "matches %zu open session%s here", b->count.matches,
                                     plural(b->count.matches));
        if (b->nentries && b->count.matches && !b->recount)
            off += smt_text_printf(buf + off, sizeof buf - off, "; the map changes %zu of them", b->count.changing);
        if (b->count.hidden)
            off += smt_text_printf(buf + off, sizeof buf - off, " (%zu hidden by the table's filter or search)",
                                   b->count.hidden);
        if (b->count.waiting)
            smt_text_printf(buf + off, sizeof buf - off, " (%zu not in the paused table yet)", b->count.waiting);
        smt_screen_str(ly, 1, w - 2, buf, b->count.matches ? SMT_ROLE_FILTER_OK : SMT_ROLE_LOG_WARN);
    } else {
        smt_screen_str(ly, 1, w - 2, "the filter language of the view filter; nothing is sent without a confirmation",
                  SMT_ROLE_PANE);
    }
    if (++ly >= end)
        return;
    smt_text_printf(buf, sizeof buf, "Properties to apply (%d):", b->nentries);
    smt_screen_str(ly++, 1, w - 2, buf, SMT_ROLE_PANE_TITLE);
    if (b->nentries == 0 && ly < end)
        smt_screen_str(ly++, 3, w - 4, "(none: a adds one to set, x one to delete)", SMT_ROLE_PANE);
    /* the map gets at most half of what is left when the preview needs room; it scrolls */
    int left = end - ly;
    int room = b->parsed && left > 6 ? left / 2 : left;
    if (room < 1)
        room = 1;
    smt_list_resize(&b->nav, (size_t)b->nentries, room);
    int first = (int)b->nav.top;
    int keyw = 0, valw = 0;
    for (int i = 0; i < b->nentries; i++) {
        keyw = width_of(b->entries[i].key) > keyw ? width_of(b->entries[i].key) : keyw;
        if (b->entries[i].value && width_of(shown_value(b->entries[i].value)) > valw)
            valw = width_of(shown_value(b->entries[i].value));
    }
    keyw = clamp_width(keyw, w / 3);
    valw = clamp_width(valw, w / 3);
    for (int i = first; i < b->nentries && i < first + room && ly < end; i++, ly++)
        draw_entry(p, ly, i, keyw, valw);
    if (b->result[0] && ly < end)
        smt_screen_str(ly++, 1, w - 2, b->result, b->result_error ? SMT_ROLE_LOG_ERROR : SMT_ROLE_INSPECT_CHANGED);
    if (b->undo && !b->undo_running && ly < end) {
        smt_text_printf(buf, sizeof buf, "u undoes the last update on %zu session%s", b->undo_sessions,
                       plural(b->undo_sessions));
        smt_screen_str(ly++, 1, w - 2, buf, SMT_ROLE_PANE);
    }
    if (ly >= end || !b->parsed)
        return;
    draw_preview(p, ly, end);
}

static void bulk_wheel(void *state, int dir)
{
    smt_bulk_pane *b = state;
    smt_list_move(&b->preview_nav, dir < 0 ? -3 : 3); /* the preview, not the map */
}

static bool bulk_busy(void *state, char *what, size_t cap)
{
    smt_bulk_pane *b = state;
    if (b->undo_running)
        smt_text_printf(what, cap, "A bulk undo is running (%zu of %zu sessions restored so far).", b->undo_done,
                       b->undo_sessions);
    else if (b->pending)
        smt_text_printf(what, cap, "A bulk update is waiting for the server's answer.");
    else
        return false;
    return true;
}

static void *bulk_create(smt_app *app)
{
    smt_bulk_pane *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->app = app;
    smt_line_init(&b->filter, SM_FILTER_MAX);
    b->recount = true;
    smt_list_init(&b->nav, false);
    smt_list_init(&b->preview_nav, true);
    return b;
}

const smt_pane_ops smt_pane_bulk = {
    .name = "bulk",
    .ctx = SMT_CTX_BULK,
    .layout = SMT_LAYOUT_FULL,
    .open_action = SMT_ACT_BULK,
    .guard = "bulk update",
    .hint = " f filter  a set  x delete  d remove  A apply  u undo  Esc close  ? help",
    .create = bulk_create,
    .destroy = bulk_destroy,
    .open = bulk_open,
    .draw = bulk_draw,
    .action = bulk_action,
    .wheel = bulk_wheel,
    .reply = bulk_reply,
    .tick = bulk_tick,
    .busy = bulk_busy,
};
