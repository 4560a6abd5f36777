/* Unit tests of the screens on a virtual curses screen with a fake backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/utf8.h"
#include "events.h"
#include "screen.h"
#include "tui/keys.h"
#include "tui/palette.h"
#include "tui/pane_bulk.h"
#include "tui/pane_columns.h"
#include "tui/pane_edit.h"
#include "tui/pane_help.h"
#include "tui/pane_table.h"
#include "tui/ui.h"

#define BULK(ui) ((smt_bulk_pane *)smt_ui_pane_state(ui, "bulk"))
#define EDIT(ui) ((smt_edit_pane *)smt_ui_pane_state(ui, "edit"))
#define COLS(ui) ((smt_columns_pane *)smt_ui_pane_state(ui, "columns"))
#define HELP(ui) ((smt_help_pane *)smt_ui_pane_state(ui, "help"))
#define TABLE(ui) ((smt_table_pane *)smt_ui_pane_state(ui, "table"))

static bool edit_action(smt_ui *ui, smt_action a)
{
    return smt_ui_pane_action(ui, "edit", a) != SMT_UNHANDLED;
}

static bool bulk_action(smt_ui *ui, smt_action a)
{
    return smt_ui_pane_action(ui, "bulk", a) != SMT_UNHANDLED;
}

/* A server reply as the connection hands it over: code by its wire name (NULL = success). */
static void reply(smt_ui *ui, uint64_t token, const char *code, const char *message, const sm_property *changed,
                  size_t n, uint64_t count)
{
    smt_reply r = {SM_CLIENT_OK, message, NULL, n, count};
    for (int c = 1; code && c < SM_CLIENT_ERR_CODE_COUNT; c++)
        if (strcmp(sm_client_errcode_name((sm_client_errcode)c), code) == 0)
            r.code = (sm_client_errcode)c;
    assert_true(!code || r.code != SM_CLIENT_OK);
    sm_property props[8];
    for (size_t i = 0; i < n && i < 8; i++)
        props[i] = (sm_property){changed[i].key, changed[i].value};
    r.changed = n ? props : NULL;
    smt_ui_reply(ui, token, &r);
}

/* ---- fake backend ---- */

typedef struct call {
    bool by_filter;
    bool close; /* a close_by_filter request */
    uint64_t token;
    char target[256]; /* session ID or filter */
    char keys[8][64];
    char values[8][64];
    bool isnull[8];
    size_t n;
} call;

static call calls[64];
static int ncalls;

static void record(bool by_filter, uint64_t token, const char *target, const sm_property *props, size_t n)
{
    if (ncalls >= 64)
        return;
    call *c = &calls[ncalls++];
    memset(c, 0, sizeof *c);
    c->by_filter = by_filter;
    c->token = token;
    snprintf(c->target, sizeof c->target, "%s", target);
    for (size_t i = 0; i < n && i < 8; i++) {
        snprintf(c->keys[i], sizeof c->keys[i], "%s", props[i].key);
        c->isnull[i] = props[i].value == NULL;
        snprintf(c->values[i], sizeof c->values[i], "%s", props[i].value ? props[i].value : "");
    }
    c->n = n;
}

static int fake_set(void *ctx, uint64_t token, const char *sid, const sm_property *props, size_t n, char *err,
                    size_t cap)
{
    (void)ctx;
    (void)err;
    (void)cap;
    record(false, token, sid, props, n);
    return 0;
}

static int fake_set_by_filter(void *ctx, uint64_t token, const char *filter, const sm_property *props, size_t n,
                              char *err, size_t cap)
{
    (void)ctx;
    (void)err;
    (void)cap;
    record(true, token, filter, props, n);
    return 0;
}

static int fake_close_by_filter(void *ctx, uint64_t token, const char *filter, char *err, size_t cap)
{
    (void)ctx;
    (void)err;
    (void)cap;
    record(true, token, filter, NULL, 0);
    calls[ncalls - 1].close = true;
    return 0;
}

/* ---- virtual screen ---- */

static test_screen screen;
static uint64_t clock_ms = 1000000;

static int group_setup(void **state)
{
    (void)state;
    return test_screen_open(&screen, 30, 120);
}

static int group_teardown(void **state)
{
    (void)state;
    test_screen_close(&screen);
    return 0;
}

static smt_ui *make_ui(bool read_only)
{
    ncalls = 0;
    resizeterm(30, 120);
    smt_theme t;
    smt_theme_builtin("default", &t);
    smt_ui_options opt = {"ws://test", "admin", read_only, NULL, &t, true, false};
    smt_ui_backend be = {NULL, fake_set, fake_set_by_filter, fake_close_by_filter};
    smt_ui *ui = smt_ui_new(&opt, &be);
    assert_non_null(ui);
    smt_ui_apply_theme(ui);
    smt_ui_set_time(ui, clock_ms, 1700000000000LL);
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    return ui;
}

static void add_session(smt_ui *ui, const char *id, const char *start, const char *dept, const char *extra_key,
                        const char *extra_val)
{
    sm_property props[] = {{"$SessionId", id},     {"$Principal", "client"}, {"$StartTime", start},
                     {"Department", dept},   {extra_key, extra_val},   {NULL, NULL}};
    if (!dept)
        props[3] = (sm_property){extra_key, extra_val}, props[4] = (sm_property){NULL, NULL};
    if (!extra_key)
        props[4] = (sm_property){NULL, NULL};
    smt_event ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, props, NULL, true);
    smt_ui_event(ui, &ev);
}

static void key(smt_ui *ui, int32_t k)
{
    smt_ui_key(ui, k);
}

static void type(smt_ui *ui, const char *s)
{
    size_t len = strlen(s), pos = 0;
    while (pos < len) {
        uint32_t cp;
        size_t n = sm_utf8_decode(s + pos, len - pos, &cp);
        assert_true(n > 0);
        smt_ui_key(ui, (int32_t)cp);
        pos += n;
    }
}

/* "a" in the edit or bulk dialog, then KEY Tab VALUE Enter: one property added to the dialog's list. */
static void add_entry(smt_ui *ui, const char *k, const char *v)
{
    key(ui, 'a');
    type(ui, k);
    key(ui, '\t');
    type(ui, v);
    key(ui, '\r');
}

static void resize(smt_ui *ui, int rows, int cols)
{
    resizeterm(rows, cols);
    smt_ui_resized(ui);
}

static void paint(smt_ui *ui)
{
    smt_ui_paint(ui);
}

/* Screen column where text starts on line y, or -1. */
static int column_of(int y, const char *text)
{
    int cols = getmaxx(stdscr);
    wchar_t want[64];
    size_t n = mbstowcs(want, text, 64);
    for (int x = 0; x + (int)n <= cols; x++) {
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            cchar_t cc;
            wchar_t wc[CCHARW_MAX + 1];
            attr_t a;
            short p;
            mvwin_wch(stdscr, y, x + (int)i, &cc);
            getcchar(&cc, wc, &a, &p, NULL);
            ok = wc[0] == want[i];
        }
        if (ok)
            return x;
    }
    return -1;
}

static int line_with(const char *text)
{
    char buf[2048];
    for (int y = 0; y < getmaxy(stdscr); y++) {
        line_at(y, buf, sizeof buf);
        if (strstr(buf, text))
            return y;
    }
    return -1;
}

/* ---- tests ---- */

static void test_key_table_is_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; i < smt_keys_count(); i++) {
        const smt_binding *b = smt_keys_at(i);
        if (smt_action_mutates(b->action) && (b->flags & SMT_KEYF_SAFE))
            fail_msg("binding '%s' mutates but is allowed in read-only mode", b->label);
        if (b->flags & SMT_KEYF_BAR) {
            assert_true(SMT_KEY_IS_FN(b->keys[0]));
            assert_non_null(b->bar);
        }
        assert_non_null(b->help);
        /* a key means one thing per pane */
        for (size_t j = i + 1; j < smt_keys_count(); j++) {
            const smt_binding *c = smt_keys_at(j);
            if (c->ctx != b->ctx)
                continue;
            for (int x = 0; x < SMT_BINDING_KEYS && b->keys[x]; x++)
                for (int y = 0; y < SMT_BINDING_KEYS && c->keys[y]; y++)
                    if (b->keys[x] == c->keys[y])
                        fail_msg("key bound twice in one pane: %s / %s", b->label, c->label);
        }
    }
    assert_int_equal(smt_keys_lookup(SMT_CTX_TABLE, 'q')->action, SMT_ACT_QUIT);
    assert_int_equal(smt_keys_lookup(SMT_CTX_EDIT, 'a')->action, SMT_ACT_EDIT_ADD);
    assert_int_equal(smt_keys_lookup(SMT_CTX_EDIT, 'q')->action, SMT_ACT_QUIT); /* global */
    assert_int_equal(smt_keys_lookup(SMT_CTX_HELP, 'q')->action, SMT_ACT_CLOSE);
    assert_null(smt_keys_lookup(SMT_CTX_HELP, 'e')); /* help is modal */
    assert_null(smt_keys_lookup(SMT_CTX_EDIT, 'f')); /* table-only keys stay in the table */
    assert_false(smt_keys_allowed(smt_keys_lookup(SMT_CTX_TABLE, 'e'), true));
    assert_true(smt_keys_allowed(smt_keys_lookup(SMT_CTX_TABLE, 'e'), false));
    assert_true(smt_keys_allowed(smt_keys_lookup(SMT_CTX_TABLE, '/'), true));
}

static void test_keys_documented(void **state)
{
    (void)state;
    FILE *f = fopen(SESSMON_SOURCE_DIR "/docs/tui.md", "rb");
    assert_non_null(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    for (size_t i = 0; i < smt_keys_count(); i++) {
        const smt_binding *b = smt_keys_at(i);
        char label[64];
        snprintf(label, sizeof label, "%s", b->label);
        char *save = NULL;
        for (char *tok = strtok_r(label, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            char want[80];
            snprintf(want, sizeof want, "`%s`", tok);
            if (!strstr(doc, want))
                fail_msg("docs/tui.md does not mention key %s (%s)", tok, b->help);
        }
    }
}

static void test_screen_shows_table_and_header(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s-0001", "1700000000000", "Accounts", "Tier", "gold");
    add_session(ui, "s-0002", "1700000001000", "Payroll", NULL, NULL);
    smt_ui_resync_end(ui, 2);
    paint(ui);
    assert_true(screen_has("LIVE"));
    assert_true(screen_has("2 sessions"));
    assert_true(screen_has("$SessionId"));
    assert_true(screen_has("Department"));
    assert_true(screen_has("Tier"));
    assert_true(screen_has("s-0001"));
    assert_true(screen_has("Payroll"));
    assert_true(screen_has("Shown: 2 of 2"));
    assert_true(screen_has("F1Help"));
    /* disconnected sessions are marked */
    smt_event ev = test_event(SMT_EVENT_DISCONNECTED, "s-0002", SM_REMOTE_DISCONNECTED, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_true(screen_has("DISCONNECTED"));
    assert_true(screen_has("1 disconnected"));
    int y = line_with("s-0002");
    char buf[512];
    line_at(y, buf, sizeof buf);
    assert_int_equal(buf[0], '~');
    /* the server going away: the header says so */
    smt_ui_set_connection(ui, SMT_CONN_RECONNECTING, "connection lost");
    paint(ui);
    assert_true(screen_has("STALE"));
    assert_true(screen_has("reconnecting"));
    smt_ui_free(ui);
}

static void test_untrusted_text_escaped_and_wide_aligned(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s-1", "1700000000000", "\x1b[2J\x1b]0;pwned\x07", "Z", "z1");
    add_session(ui, "s-2", "1700000001000", "\u65e5\u672c\u8a9e", "Z", "z2");
    add_session(ui, "s-3", "1700000002000", "ab", "Z", "z3");
    paint(ui);
    assert_true(screen_has("\u241b[2J\u241b]0;pwned\u2407"));
    /* the next column starts at the same screen column whatever the width of the text before */
    int x1 = column_of(line_with("s-1"), "z1");
    int x2 = column_of(line_with("s-2"), "z2");
    int x3 = column_of(line_with("s-3"), "z3");
    assert_true(x1 > 0);
    assert_int_equal(x1, x2);
    assert_int_equal(x2, x3);
    smt_ui_free(ui);
}

static void test_cursor_follows_session(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "a", "1700000000000", "x", "N", "1");
    add_session(ui, "b", "1700000000000", "x", "N", "2");
    add_session(ui, "c", "1700000000000", "x", "N", "3");
    smt_view_set_sort(ui->app.view, "N", false);
    paint(ui);
    key(ui, SMT_KEY_FN(KEY_DOWN));
    paint(ui);
    assert_string_equal(ui->app.selected, "b");
    assert_int_equal(TABLE(ui)->nav.cursor, 1);
    /* b moves to the end: the cursor goes with it */
    sm_property p[] = {{"N", "9"}, {NULL, NULL}};
    sm_property c[] = {{"N", "2"}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, "b", SM_REMOTE_ACTIVE, p, c, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_string_equal(ui->app.selected, "b");
    assert_int_equal(TABLE(ui)->nav.cursor, 2);
    /* a new session sorting first pushes it down */
    add_session(ui, "d", "1700000000000", "x", "N", "0");
    paint(ui);
    assert_string_equal(ui->app.selected, "b");
    assert_int_equal(TABLE(ui)->nav.cursor, 3);
    /* b closes and leaves: the cursor stays in place on the next session */
    ev = test_event(SMT_EVENT_FILTER_LEAVE, "b", SM_REMOTE_ACTIVE, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_int_equal(TABLE(ui)->nav.cursor, 2);
    assert_string_equal(ui->app.selected, "c");
    smt_ui_free(ui);
}

static void test_read_only_refuses_every_change(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(true);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    paint(ui);
    assert_true(screen_has("READ-ONLY (--read-only)"));
    key(ui, 'e');
    assert_string_equal(smt_ui_body_pane(ui), "");
    assert_non_null(strstr(ui->app.message, "read-only"));
    key(ui, SMT_KEY_FN(KEY_F(8)));
    assert_string_equal(smt_ui_body_pane(ui), "");
    key(ui, 'b');
    assert_string_equal(smt_ui_body_pane(ui), "");
    /* even with the pane forced open, the actions themselves refuse */
    smt_ui_force_pane(ui, "edit");
    key(ui, 'a');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_false(edit_action(ui, SMT_ACT_EDIT_ADD) && ui->app.form.kind != SMT_FORM_NONE);
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    smt_ui_force_pane(ui, "bulk");
    smt_line_set(&BULK(ui)->filter, "all");
    sm_filter_parse("all", 3, &BULK(ui)->parsed, &BULK(ui)->error); /* as if typed */
    BULK(ui)->nentries = 1;
    snprintf(BULK(ui)->entries[0].key, sizeof BULK(ui)->entries[0].key, "K");
    bulk_action(ui, SMT_ACT_BULK_APPLY);
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    BULK(ui)->nentries = 0;
    smt_ui_close_panes(ui);
    assert_int_equal(ncalls, 0);
    /* the help greys them out; the key bar too */
    key(ui, '?');
    paint(ui);
    assert_true(screen_has("(read-only)"));
    key(ui, SMT_KEY_ESC);
    /* automatic read-only keeps the first reason and cannot be undone */
    smt_ui_set_session_info(ui, "srv", "viewer", true);
    assert_true(ui->app.read_only);
    smt_ui_free(ui);

    ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    smt_ui_set_session_info(ui, "srv", "viewer", false);
    paint(ui);
    assert_true(screen_has("READ-ONLY (principal lacks modify_session)"));
    key(ui, 'e');
    assert_string_equal(smt_ui_body_pane(ui), "");
    assert_int_equal(ncalls, 0);
    smt_ui_free(ui);
}

static void test_edit_add_reply_and_undo(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    paint(ui);
    key(ui, 'e');
    assert_string_equal(smt_ui_body_pane(ui), "edit");
    key(ui, 'a');
    assert_int_equal(ui->app.form.kind, SMT_FORM_EDIT_ADD);
    type(ui, "bad key");
    key(ui, '\t');
    type(ui, "v");
    assert_false(ui->app.form.ok);
    key(ui, '\r');
    assert_int_equal(ncalls, 0); /* invalid: nothing sent */
    key(ui, SMT_KEY_ESC);
    key(ui, 'a');
    type(ui, "Region");
    key(ui, '\t');
    type(ui, "EU");
    assert_true(ui->app.form.ok);
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    assert_false(calls[0].by_filter);
    assert_string_equal(calls[0].target, "s1");
    assert_string_equal(calls[0].keys[0], "Region");
    assert_string_equal(calls[0].values[0], "EU");
    sm_property changed[] = {{"Region", NULL}};
    reply(ui, calls[0].token, NULL, NULL, changed, 1, 0);
    paint(ui);
    assert_true(screen_has("Region added"));
    /* undo sends the previous value: the key did not exist, so delete it */
    key(ui, 'u');
    assert_int_equal(ui->app.form.kind, SMT_FORM_EDIT_UNDO);
    key(ui, 'y');
    assert_int_equal(ncalls, 2);
    assert_string_equal(calls[1].keys[0], "Region");
    assert_true(calls[1].isnull[0]);
    sm_property changed2[] = {{"Region", "EU"}};
    reply(ui, calls[1].token, NULL, NULL, changed2, 1, 0);
    paint(ui);
    assert_true(screen_has("Region deleted (was 'EU')"));
    /* a refusal is shown */
    add_entry(ui, "K", "v");
    assert_int_equal(ncalls, 3);
    reply(ui, calls[2].token, "ACCESS_DENIED", "no modify_session", NULL, 0, 0);
    paint(ui);
    assert_true(screen_has("server refused: ACCESS_DENIED"));
    smt_ui_free(ui);
}

static void test_bulk_never_widens_and_sends_exact_filter(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", "Tier", "gold");
    add_session(ui, "s2", "1700000001000", "Accounts", NULL, NULL);
    add_session(ui, "s3", "1700000002000", "Payroll", "Tier", "silver");
    paint(ui);
    key(ui, 'b');
    assert_string_equal(smt_ui_body_pane(ui), "bulk");
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_BULK_FILTER);
    type(ui, "Department is 'Nobody'");
    key(ui, '\r');
    add_entry(ui, "Tier", "platinum");
    assert_int_equal(BULK(ui)->nentries, 1);
    smt_ui_tick(ui);
    paint(ui);
    assert_true(screen_has("matches 0 open sessions"));
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_non_null(strstr(ui->app.message, "no session matches locally"));
    assert_int_equal(ncalls, 0);
    /* an invalid filter cannot be applied either */
    key(ui, 'f');
    key(ui, SMT_KEY_CTRL('u'));
    type(ui, "Department is");
    key(ui, '\r');
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_int_equal(ncalls, 0);

    const char *filter = "Department   is \"Accounts\"";
    key(ui, 'f');
    key(ui, SMT_KEY_CTRL('u'));
    type(ui, filter);
    key(ui, '\r');
    smt_ui_tick(ui);
    paint(ui);
    assert_true(screen_has("matches 2 open sessions"));
    assert_true(screen_has("gold"));
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_CONFIRM);
    assert_non_null(strstr(ui->app.form.text[0], "2 sessions"));
    key(ui, 'n');
    assert_int_equal(ncalls, 0);
    key(ui, 'A');
    key(ui, 'y');
    assert_int_equal(ncalls, 1);
    assert_true(calls[0].by_filter);
    assert_string_equal(calls[0].target, filter); /* byte for byte what the user saw */
    assert_string_equal(calls[0].keys[0], "Tier");
    assert_string_equal(calls[0].values[0], "platinum");
    reply(ui, calls[0].token, NULL, NULL, NULL, 0, 2);
    paint(ui);
    assert_true(screen_has("server updated 2 sessions (local preview: 2)"));
    /* undo restores what the model knew: gold on s1, no Tier on s2 */
    key(ui, 'u');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_UNDO);
    key(ui, 'y');
    assert_int_equal(ncalls, 3);
    bool saw1 = false, saw2 = false;
    for (int i = 1; i < 3; i++) {
        assert_false(calls[i].by_filter);
        assert_string_equal(calls[i].keys[0], "Tier");
        if (strcmp(calls[i].target, "s1") == 0) {
            assert_string_equal(calls[i].values[0], "gold");
            saw1 = true;
        } else {
            assert_string_equal(calls[i].target, "s2");
            assert_true(calls[i].isnull[0]);
            saw2 = true;
        }
    }
    assert_true(saw1 && saw2);
    reply(ui, calls[1].token, NULL, NULL, NULL, 0, 0);
    reply(ui, calls[2].token, "NO_SUCH_SESSION", "closed", NULL, 0, 0);
    smt_ui_tick(ui);
    assert_non_null(strstr(BULK(ui)->result, "1 sessions restored, 1 failed"));
    smt_ui_free(ui);
}

static void test_bulk_large_match_needs_typed_count(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%02d", i);
        add_session(ui, id, "1700000000000", "Ops", NULL, NULL);
    }
    key(ui, 'b');
    type(ui, "Department is 'Ops'");
    key(ui, '\r');
    key(ui, 'x'); /* a delete entry */
    type(ui, "Tier");
    key(ui, '\r');
    assert_null(BULK(ui)->entries[0].value);
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_CONFIRM);
    assert_string_equal(ui->app.form.expect, "10");
    key(ui, 'y'); /* not enough */
    key(ui, '\r');
    assert_int_equal(ncalls, 0);
    key(ui, SMT_KEY_CTRL('u'));
    type(ui, "10");
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    assert_true(calls[0].isnull[0]);
    smt_ui_free(ui);
}

static void test_filter_prompt_shows_error_column(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    add_session(ui, "s2", "1700000000000", "Payroll", NULL, NULL);
    key(ui, 'f');
    type(ui, "Department is Accounts");
    paint(ui);
    assert_int_equal(ui->app.prompt.error_column, 15);
    assert_true(screen_has("filter error at column 15"));
    key(ui, '\r');
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_FILTER); /* not accepted */
    key(ui, SMT_KEY_ESC);
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_NONE);
    assert_string_equal(smt_view_filter_text(ui->app.view), "");
    key(ui, 'f');
    type(ui, "Department is 'Payroll'");
    key(ui, '\r');
    paint(ui);
    assert_true(screen_has("Shown: 1 of 2"));
    assert_false(screen_has("s1 "));
    /* search narrows further, Esc clears it, then the filter */
    key(ui, '/');
    type(ui, "zzz");
    key(ui, '\r');
    paint(ui);
    assert_true(screen_has("Shown: 0 of 2"));
    key(ui, SMT_KEY_ESC);
    key(ui, SMT_KEY_ESC);
    paint(ui);
    assert_true(screen_has("Shown: 2 of 2"));
    smt_ui_free(ui);
}

static void test_small_terminal_and_panes(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    resize(ui, 8, 30);
    paint(ui);
    assert_true(screen_has("Terminal too small"));
    key(ui, 'e'); /* ignored */
    assert_string_equal(smt_ui_body_pane(ui), "");
    resize(ui, 10, 40);
    paint(ui);
    assert_false(screen_has("Terminal too small"));
    assert_true(screen_has("s1"));
    /* every pane draws at the minimum size */
    const int32_t panes[] = {'i', 'e', 'l', 'c', 'b'};
    for (size_t i = 0; i < sizeof panes / sizeof *panes; i++) {
        key(ui, panes[i]);
        paint(ui);
        key(ui, SMT_KEY_ESC);
        if (ui->app.prompt.kind)
            key(ui, SMT_KEY_ESC);
        key(ui, SMT_KEY_ESC);
        paint(ui);
    }
    /* dialogs fit too */
    key(ui, 'e');
    key(ui, 'a');
    paint(ui);
    assert_true(screen_has("Add a user property"));
    key(ui, SMT_KEY_ESC);
    key(ui, SMT_KEY_ESC);
    key(ui, '?');
    paint(ui);
    assert_true(screen_has("Help"));
    assert_true(smt_help_line_count(HELP(ui)) > (int)smt_keys_count());
    key(ui, 'q');
    assert_false(smt_ui_showing(ui, "help"));
    assert_false(ui->app.quit);
    resize(ui, 30, 120);
    key(ui, 'i');
    paint(ui);
    assert_true(screen_has("Inspect s1"));
    assert_true(screen_has("User properties (1)"));
    key(ui, 'q');
    assert_true(ui->app.quit);
    smt_ui_free(ui);
}

static void test_columns_and_sort_keys(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "B", NULL, NULL);
    add_session(ui, "s2", "1700000000001", "A", NULL, NULL);
    paint(ui);
    /* > steps the sort column: $SessionId is first after $StartTime cycles */
    smt_ui_sort_by(&ui->app, "Department");
    paint(ui);
    assert_string_equal(smt_view_at(ui->app.view, 0)->id, "s2");
    key(ui, 'r');
    paint(ui);
    assert_string_equal(smt_view_at(ui->app.view, 0)->id, "s1");
    /* hide the Department column in the chooser */
    int before = ui->app.ncols;
    key(ui, 'c');
    assert_string_equal(smt_ui_body_pane(ui), "columns");
    int idx = smt_ui_column_index(&ui->app, "Department");
    assert_true(idx >= 0);
    COLS(ui)->nav.cursor = idx;
    key(ui, ' ');
    assert_int_equal(ui->app.ncols, before - 1);
    assert_true(ui->app.cols_custom);
    key(ui, 'r');
    assert_false(ui->app.cols_custom);
    key(ui, SMT_KEY_ESC);
    /* theme cycling */
    char name[SMT_THEME_NAME_MAX];
    snprintf(name, sizeof name, "%s", ui->app.theme.name);
    key(ui, 't');
    assert_string_not_equal(ui->app.theme.name, name);
    key(ui, 'T');
    assert_string_equal(ui->app.theme.name, name);
    /* pause shows in the header and freezes the view */
    key(ui, 'p');
    add_session(ui, "s3", "1700000000002", "C", NULL, NULL);
    paint(ui);
    assert_true(screen_has("PAUSED 1 queued"));
    assert_int_equal(smt_view_count(ui->app.view), 2);
    key(ui, 'p');
    paint(ui);
    assert_int_equal(smt_view_count(ui->app.view), 3);
    smt_ui_free(ui);
}

/* Whether line y holds the frame corner c (an ACS character such as ACS_ULCORNER). */
static bool line_has_acs(int y, chtype c)
{
    for (int x = 0; x < getmaxx(stdscr); x++) {
        chtype ch = mvwinch(stdscr, y, x);
        if ((ch & A_CHARTEXT) == (c & A_CHARTEXT) && (ch & A_ALTCHARSET))
            return true;
    }
    return false;
}

static void test_dialog_framed_and_enter_in_key_goes_to_value(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    paint(ui);
    key(ui, 'e');
    key(ui, 'a');
    paint(ui);
    /* a frame around the dialog, its title in the top border */
    int top = line_with("Add a user property");
    assert_true(top >= 0);
    assert_true(line_has_acs(top, ACS_ULCORNER));
    int bottom = top + 1;
    while (bottom < getmaxy(stdscr) && !line_has_acs(bottom, ACS_LLCORNER))
        bottom++;
    assert_true(bottom < getmaxy(stdscr));
    assert_true(line_with("Enter / Tab = on to the value") > top);
    /* nothing typed yet: guidance, not an error */
    assert_true(ui->app.form.hint);
    /* Enter after the key moves on to the value: nothing is sent with an empty value */
    type(ui, "Region");
    key(ui, '\r');
    assert_int_equal(ui->app.form.kind, SMT_FORM_EDIT_ADD);
    assert_int_equal(ui->app.form.focus, 1);
    assert_int_equal(ncalls, 0);
    type(ui, "EU");
    paint(ui);
    assert_true(screen_has("valid: Enter adds it"));
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    assert_string_equal(calls[0].keys[0], "Region");
    assert_string_equal(calls[0].values[0], "EU");
    sm_property added[] = {{"Region", NULL}};
    reply(ui, calls[0].token, NULL, NULL, added, 1, 0);
    /* the fixed keys a client may set are accepted too, the others refused */
    key(ui, 'a');
    type(ui, "$ClientIP");
    assert_false(ui->app.form.ok);
    assert_non_null(strstr(ui->app.form.status, "only $Country"));
    key(ui, SMT_KEY_CTRL('u'));
    type(ui, "$Country");
    key(ui, '\t');
    type(ui, "DE");
    assert_true(ui->app.form.ok);
    key(ui, SMT_KEY_ESC);
    /* an empty value is only sent on purpose: Enter again in the value field */
    key(ui, 'a');
    type(ui, "Empty");
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    paint(ui);
    assert_true(screen_has("with an empty value"));
    key(ui, '\r');
    assert_int_equal(ncalls, 2);
    assert_string_equal(calls[1].values[0], "");
    assert_false(calls[1].isnull[0]);
    key(ui, SMT_KEY_ESC);

    /* the same in the bulk pane's "set" dialog */
    key(ui, 'b');
    type(ui, "Department is 'Accounts'");
    key(ui, '\r');
    key(ui, 'a');
    type(ui, "Tier");
    key(ui, '\r');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_SET);
    assert_int_equal(BULK(ui)->nentries, 0);
    type(ui, "gold");
    key(ui, '\r');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_int_equal(BULK(ui)->nentries, 1);
    assert_string_equal(BULK(ui)->entries[0].value, "gold");
    /* a filled value lets Enter in the key field accept too (Tab back to the key) */
    key(ui, 'a');
    type(ui, "Zone");
    key(ui, '\t');
    type(ui, "z1");
    key(ui, '\t');
    assert_int_equal(ui->app.form.focus, 0);
    key(ui, '\r');
    assert_int_equal(BULK(ui)->nentries, 2);
    /* the dialog fits and keeps its frame at the minimum size */
    resize(ui, 10, 40);
    key(ui, 'a');
    paint(ui);
    top = line_with("Set a property");
    assert_true(top >= 0);
    assert_true(line_has_acs(top, ACS_ULCORNER));
    assert_true(screen_has("Key:"));
    assert_true(screen_has("Value:"));
    assert_true(screen_has("Esc: cancel"));
    key(ui, SMT_KEY_ESC);
    resize(ui, 30, 120);
    assert_int_equal(ncalls, 2);
    smt_ui_free(ui);
}

static void test_counts_agree_and_closing_named(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    add_session(ui, "s2", "1700000001000", "Payroll", NULL, NULL);
    paint(ui);
    assert_true(screen_has("2 sessions"));
    assert_true(screen_has("Shown: 2 of 2"));
    assert_false(screen_has("closing"));
    smt_event ev = test_event(SMT_EVENT_CLOSED, "s2", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    /* the header and the table title count the same open sessions; the fading row is named */
    assert_true(screen_has("1 session "));
    assert_true(screen_has("Shown: 1 of 1 (+1 closing)"));
    char buf[512];
    line_at(line_with("s2"), buf, sizeof buf);
    assert_int_equal(buf[0], 'x');
    /* the connection drops: the header says since when the figures are old */
    smt_ui_set_connection(ui, SMT_CONN_RECONNECTING, "connection lost");
    paint(ui);
    assert_true(screen_has("STALE"));
    assert_true(screen_has("as of "));
    assert_true(screen_has("connection lost"));
    smt_ui_set_time(ui, clock_ms + 12500, 1700000000000LL);
    paint(ui);
    assert_true(screen_has("(12 s)")); /* how long without an answer */
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    paint(ui);
    assert_false(screen_has("as of "));
    assert_false(screen_has("(12 s)"));
    smt_ui_set_time(ui, clock_ms, 1700000000000LL);
    assert_true(screen_has("ev/s"));
    smt_ui_free(ui);
}

/* Colour pair and attributes of the cell at (y, x). */
static void cell_look(int y, int x, short *pair, attr_t *attrs)
{
    cchar_t cc;
    wchar_t wc[CCHARW_MAX + 1];
    mvwin_wch(stdscr, y, x, &cc);
    getcchar(&cc, wc, attrs, pair, NULL);
}

static void test_closed_row_fades_out(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    add_session(ui, "s2", "1700000001000", "Payroll", NULL, NULL);
    paint(ui);
    smt_event ev = test_event(SMT_EVENT_CLOSED, "s2", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    short pair[3];
    attr_t attrs[3];
    for (int step = 0; step < 3; step++) {
        smt_ui_set_time(ui, clock_ms + (uint64_t)step * 1000 + 100, 1700000000000LL);
        smt_ui_tick(ui);
        paint(ui);
        int y = line_with("s2");
        assert_true(y > 0);
        cell_look(y, column_of(y, "Payroll"), &pair[step], &attrs[step]);
    }
    /* three different looks, the last one dimmed, on a 256-colour terminal */
    assert_true(pair[0] != pair[1] && pair[1] != pair[2]);
    assert_true(attrs[2] & A_DIM);
    assert_int_equal(pair[0], smt_palette_pair(SMT_ROLE_ROW_CLOSING));
    /* then it leaves */
    smt_ui_set_time(ui, clock_ms + SMT_MODEL_FADE_MS + 10, 1700000000000LL);
    smt_ui_tick(ui);
    paint(ui);
    assert_true(line_with("s2") < 0);
    smt_ui_set_time(ui, clock_ms, 1700000000000LL);
    smt_ui_free(ui);
}

static void test_narrow_filter_line_keeps_the_count(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Accounts", NULL, NULL);
    add_session(ui, "s2", "1700000001000", "Payroll", NULL, NULL);
    key(ui, 'f');
    type(ui, "Department in ['Accounts', 'Payroll', 'Sales', 'Engineering']");
    key(ui, '\r');
    key(ui, '/');
    type(ui, "s1");
    key(ui, '\r');
    resize(ui, 10, 40);
    paint(ui);
    char buf[512];
    line_at(1, buf, sizeof buf);
    assert_non_null(strstr(buf, "Shown: 1 of 2"));
    assert_non_null(strstr(buf, "Filter: Dep")); /* the rest is cut with an ellipsis */
    assert_non_null(strstr(buf, "\u2026"));
    resize(ui, 30, 120);
    paint(ui);
    line_at(1, buf, sizeof buf);
    assert_non_null(strstr(buf, "Search: s1  Sort: $StartTime"));
    smt_ui_free(ui);
}

static void test_bulk_hidden_count_is_the_view_filter(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", NULL, NULL);
    paint(ui);
    key(ui, 'b');
    type(ui, "Department is 'Ops'");
    key(ui, '\r');
    /* a session that opened after the last frame has no place in the table yet: not hidden */
    add_session(ui, "s2", "1700000001000", "Ops", NULL, NULL);
    smt_ui_tick(ui);
    assert_int_equal(BULK(ui)->count.matches, 2);
    assert_int_equal(BULK(ui)->count.hidden, 0);
    paint(ui);
    assert_true(screen_has("matches 2 open sessions here"));
    assert_false(screen_has("hidden"));
    /* the table's search does hide one */
    smt_view_set_search(ui->app.view, "s1");
    BULK(ui)->recount = true;
    smt_ui_tick(ui);
    assert_int_equal(BULK(ui)->count.hidden, 1);
    paint(ui);
    assert_true(screen_has("(1 hidden by the table's filter or search)"));
    smt_view_set_search(ui->app.view, "");
    paint(ui);
    /* paused: a new match is not in the table yet, and says so */
    smt_view_set_paused(ui->app.view, true);
    add_session(ui, "s3", "1700000002000", "Ops", NULL, NULL);
    BULK(ui)->recount = true;
    smt_ui_tick(ui);
    assert_int_equal(BULK(ui)->count.matches, 3);
    assert_int_equal(BULK(ui)->count.hidden, 0);
    assert_int_equal(BULK(ui)->count.waiting, 1);
    paint(ui);
    assert_true(screen_has("(1 not in the paused table yet)"));
    smt_ui_free(ui);
}

static void test_bulk_preview_aligned_per_key(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", "Tier", "gold");
    add_session(ui, "s2", "1700000001000", "Ops", "Tier", "platinum");
    add_session(ui, "s3", "1700000002000", "Ops", NULL, NULL);
    add_session(ui, "s4", "1700000003000", "Sales", "Tier", "bronze");
    paint(ui);
    key(ui, 'b');
    type(ui, "Department is 'Ops'");
    key(ui, '\r');
    add_entry(ui, "Tier", "platinum");
    key(ui, 'x');
    type(ui, "Department");
    key(ui, '\r');
    assert_int_equal(BULK(ui)->nentries, 2);
    smt_ui_tick(ui);
    paint(ui);
    /* counts: Tier changes 2 of 3 (s2 already has it), the delete changes all 3 */
    assert_int_equal(BULK(ui)->count.changes[0], 2);
    assert_int_equal(BULK(ui)->count.changes[1], 3);
    assert_int_equal(BULK(ui)->count.changing, 3);
    assert_true(screen_has("2 to change, 1 already so"));
    assert_true(screen_has("3 to change"));
    /* one row per match, columns per key, the arrows in one screen column */
    int y1 = line_with("s1 "), y2 = line_with("s2 "), y3 = line_with("s3 ");
    assert_true(y1 > 0 && y2 > 0 && y3 > 0);
    assert_true(line_with("s4 ") < 0 || line_with("s4 ") < y1); /* s4 does not match */
    char l1[512], l2[512], l3[512];
    line_at(y1, l1, sizeof l1);
    line_at(y2, l2, sizeof l2);
    line_at(y3, l3, sizeof l3);
    assert_non_null(strstr(l1, "gold"));
    assert_non_null(strstr(l3, "(absent)"));
    int a1 = column_of(y1, "\u2192 platinum"), a3 = column_of(y3, "\u2192 platinum");
    int e2 = column_of(y2, "= platinum");
    assert_true(a1 > 0);
    assert_int_equal(a1, a3);
    assert_int_equal(a1, e2); /* the session that already has it shows '=' in the same place */
    int d1 = column_of(y1, "\u2192 (deleted)"), d2 = column_of(y2, "\u2192 (deleted)");
    assert_true(d1 > a1);
    assert_int_equal(d1, d2);
    /* narrow: Left/Right scroll the key columns */
    resize(ui, 24, 60);
    paint(ui);
    key(ui, SMT_KEY_FN(KEY_RIGHT));
    assert_int_equal(BULK(ui)->preview_hscroll, 1);
    paint(ui);
    assert_true(column_of(line_with("s1 "), "\u2192 (deleted)") > 0);
    assert_true(column_of(line_with("s1 "), "\u2192 platinum") < 0);
    key(ui, SMT_KEY_FN(KEY_LEFT));
    assert_int_equal(BULK(ui)->preview_hscroll, 0);
    resize(ui, 30, 120);
    smt_ui_free(ui);
}

static void test_edit_pane_stays_on_its_session(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", NULL, NULL);
    add_session(ui, "s2", "1700000001000", "Ops", NULL, NULL);
    paint(ui);
    assert_string_equal(ui->app.selected, "s1");
    key(ui, 'e');
    key(ui, 'a');
    type(ui, "Region");
    key(ui, '\t');
    type(ui, "EU");
    /* s1 leaves while the dialog is open: the table cursor moves on to s2 */
    smt_event ev = test_event(SMT_EVENT_FILTER_LEAVE, "s1", SM_REMOTE_ACTIVE, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_string_equal(ui->app.selected, "s2");
    key(ui, '\r');
    assert_int_equal(ncalls, 0); /* never redirected to s2 */
    assert_non_null(strstr(ui->app.message, "closed"));
    paint(ui);
    assert_true(screen_has("Edit s1"));
    assert_true(screen_has("The session closed"));
    key(ui, 'a');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_int_equal(ncalls, 0);
    /* a click on a table row is an explicit choice: the pane follows it */
    key(ui, SMT_KEY_ESC);
    key(ui, 'e');
    assert_string_equal(EDIT(ui)->session, "s2");
    smt_ui_free(ui);
}

static void click(smt_ui *ui, int y, int x, mmask_t what)
{
    MEVENT ev = {0};
    ev.x = x;
    ev.y = y;
    ev.bstate = what;
    assert_int_equal(ungetmouse(&ev), OK);
    wint_t ch;
    wget_wch(stdscr, &ch); /* ungetmouse also queued KEY_MOUSE: take it off */
    smt_ui_key(ui, SMT_KEY_FN(KEY_MOUSE));
}

static void test_mouse(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    for (int i = 0; i < 40; i++) {
        char id[16], t[32];
        snprintf(id, sizeof id, "m%02d", i);
        snprintf(t, sizeof t, "%lld", 1700000000000LL + i);
        add_session(ui, id, t, i % 2 ? "Odd" : "Even", NULL, NULL);
    }
    paint(ui);
    int y = line_with("m03");
    click(ui, y, 5, BUTTON1_PRESSED);
    assert_string_equal(ui->app.selected, "m03");
    click(ui, y, 5, BUTTON5_PRESSED); /* wheel down moves the cursor */
    assert_string_equal(ui->app.selected, "m06");
    click(ui, y, 5, BUTTON4_PRESSED);
    assert_string_equal(ui->app.selected, "m03");
    paint(ui);
    int title = line_with("$SessionId");
    int x = column_of(title, "Department");
    click(ui, title, x, BUTTON1_PRESSED); /* a column title sorts by it */
    assert_string_equal(smt_view_sort_key(ui->app.view), "Department");
    click(ui, title, x, BUTTON1_PRESSED); /* again: the other way */
    assert_true(smt_view_sort_descending(ui->app.view));
    paint(ui);
    int bar = getmaxy(stdscr) - 1;
    click(ui, bar, column_of(bar, "F1Help"), BUTTON1_PRESSED);
    assert_true(smt_ui_showing(ui, "help"));
    key(ui, SMT_KEY_ESC);
    smt_ui_set_read_only(ui, "--read-only");
    paint(ui);
    click(ui, bar, column_of(bar, "F7Edit"), BUTTON1_PRESSED); /* the allow-list applies to clicks */
    assert_string_equal(smt_ui_body_pane(ui), "");
    assert_non_null(strstr(ui->app.message, "read-only"));
    mousemask(0, NULL);
    smt_ui_free(ui);
}

static void set_prop(smt_ui *ui, const char *id, const char *key, const char *value, const char *old)
{
    sm_property p[] = {{key, value}, {NULL, NULL}};
    sm_property c[] = {{key, old}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, id, SM_REMOTE_ACTIVE, p, c, false);
    smt_ui_event(ui, &ev);
}

static void test_undo_warns_when_values_changed_since(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", "Tier", "gold");
    add_session(ui, "s2", "1700000001000", "Ops", "Tier", "gold");
    paint(ui);
    /* an edit: Tier gold -> silver, confirmed and seen by the listener */
    key(ui, 'e');
    paint(ui);
    key(ui, 'j'); /* Department, Tier: the second */
    key(ui, 'c');
    assert_int_equal(ui->app.form.kind, SMT_FORM_EDIT_CHANGE);
    assert_string_equal(ui->app.form.field[0].buf, "Tier");
    key(ui, SMT_KEY_CTRL('u'));
    type(ui, "silver");
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    sm_property prev[] = {{"Tier", "gold"}};
    reply(ui, calls[0].token, NULL, NULL, prev, 1, 0);
    set_prop(ui, "s1", "Tier", "silver", "gold");
    key(ui, 'u');
    assert_int_equal(ui->app.form.kind, SMT_FORM_EDIT_UNDO);
    assert_false(ui->app.form.danger);
    key(ui, 'n');
    /* someone else changes it again: the undo dialog says it would overwrite that */
    set_prop(ui, "s1", "Tier", "bronze", "silver");
    key(ui, 'u');
    assert_true(ui->app.form.danger);
    assert_non_null(strstr(ui->app.form.status, "Tier changed again since (now 'bronze')"));
    paint(ui);
    assert_true(screen_has("undo overwrites it"));
    key(ui, SMT_KEY_ESC);
    key(ui, SMT_KEY_ESC);

    /* the same for a bulk update */
    key(ui, 'b');
    type(ui, "Department is 'Ops'");
    key(ui, '\r');
    add_entry(ui, "Zone", "z1");
    key(ui, 'A');
    key(ui, 'y');
    assert_int_equal(ncalls, 2);
    reply(ui, calls[1].token, NULL, NULL, NULL, 0, 2);
    set_prop(ui, "s1", "Zone", "z1", NULL);
    set_prop(ui, "s2", "Zone", "z1", NULL);
    key(ui, 'u');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_UNDO);
    assert_string_equal(ui->app.form.text[2], "");
    key(ui, 'n');
    set_prop(ui, "s2", "Zone", "z9", "z1");
    smt_event ev = test_event(SMT_EVENT_CLOSED, "s1", SM_REMOTE_CLOSED, NULL, NULL, false);
    smt_ui_event(ui, &ev);
    key(ui, 'u');
    assert_non_null(strstr(ui->app.form.text[2], "1 session changed again"));
    assert_non_null(strstr(ui->app.form.text[2], "1 session closed"));
    smt_ui_free(ui);
}

/* Help scrolling stops at the last page however often PgDn or Down is pressed, and Up comes
 * straight back (it used to count on past the end). */
static void test_help_scroll_is_bounded(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    key(ui, '?');
    paint(ui);
    int rows = HELP(ui)->nav.rows;
    int total = smt_help_line_count(HELP(ui));
    assert_true(total > rows);
    for (int i = 0; i < 200; i++)
        key(ui, SMT_KEY_FN(KEY_NPAGE));
    for (int i = 0; i < 50; i++)
        key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_int_equal((int)HELP(ui)->nav.top, total - rows);
    key(ui, SMT_KEY_FN(KEY_UP));
    assert_int_equal((int)HELP(ui)->nav.top, total - rows - 1);
    paint(ui);
    assert_true(screen_has("Help"));
    smt_ui_free(ui);
}

/* The registry: the table first and alone at the base, every pane complete, names and opening
 * actions unique (a new pane is one file and one registry line; this keeps that line honest). */
static void test_pane_registry(void **state)
{
    (void)state;
    assert_true(smt_npanes >= 7);
    assert_int_equal(smt_panes[0]->layout, SMT_LAYOUT_BASE);
    assert_string_equal(smt_panes[0]->name, "table");
    for (size_t i = 0; i < smt_npanes; i++) {
        const smt_pane_ops *p = smt_panes[i];
        assert_non_null(p->name);
        assert_non_null(p->create);
        assert_non_null(p->destroy);
        assert_non_null(p->draw);
        assert_non_null(p->action);
        assert_true(i == 0 || p->layout != SMT_LAYOUT_BASE);
        assert_true(i == 0 || p->open_action != SMT_ACT_NONE);
        assert_true(!p->toggles || p->open_action != SMT_ACT_NONE);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(p->name, smt_panes[j]->name);
            assert_true(p->open_action == SMT_ACT_NONE || p->open_action != smt_panes[j]->open_action);
        }
    }
    /* each one opens from its action and closes again, leaving the table */
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1", "Sales", NULL, NULL);
    paint(ui);
    for (size_t i = 1; i < smt_npanes; i++) {
        smt_ui_pane_action(ui, "table", SMT_ACT_HOME);
        smt_ui_close_panes(ui);
        if (ui->app.prompt.kind != SMT_PROMPT_NONE)
            key(ui, SMT_KEY_ESC);
        for (size_t k = 0; k < smt_keys_count(); k++) {
            const smt_binding *b = smt_keys_at(k);
            if (b->action == smt_panes[i]->open_action && b->ctx == SMT_CTX_TABLE) {
                key(ui, b->keys[0]);
                break;
            }
        }
        if (ui->app.prompt.kind != SMT_PROMPT_NONE)
            key(ui, '\r');
        assert_true(smt_ui_showing(ui, smt_panes[i]->name));
        paint(ui);
        smt_ui_close_panes(ui);
        assert_string_equal(smt_ui_body_pane(ui), "");
    }
    smt_ui_free(ui);
}

static void test_help_wraps_and_lists_prompt_keys(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    resize(ui, 12, 40);
    key(ui, '?');
    int total = 0;
    bool saw_tab = false;
    /* page through: nothing is cut with an ellipsis, the prompt and dialog keys are there */
    for (int page = 0; page < 80 && smt_ui_showing(ui, "help"); page++) {
        paint(ui);
        for (int y = 3; y < getmaxy(stdscr) - 2; y++) {
            char buf[512];
            line_at(y, buf, sizeof buf);
            if (strstr(buf, "\u2026"))
                fail_msg("cut: [%s]", buf);
            if (strstr(buf, "Tab Up Down"))
                saw_tab = true;
        }
        total = smt_help_line_count(HELP(ui));
        if ((int)HELP(ui)->nav.top + 7 >= total)
            break;
        key(ui, SMT_KEY_FN(KEY_NPAGE));
    }
    assert_true(saw_tab);
    assert_true(total > (int)smt_keys_count() + 7); /* wrapped lines and the extra section */
    assert_true(screen_has(" Esc close  Up/Down"));
    key(ui, SMT_KEY_ESC);
    assert_false(smt_ui_showing(ui, "help"));
    resize(ui, 30, 120);
    smt_ui_free(ui);
}

static void test_log_hides_session_lines(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    smt_ui_set_connection(ui, SMT_CONN_RECONNECTING, "connection lost");
    for (int i = 0; i < 15; i++) {
        char id[16];
        snprintf(id, sizeof id, "live%02d", i);
        sm_property props[] = {{"$SessionId", id}, {NULL, NULL}};
        smt_event ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, props, NULL, false);
        smt_ui_event(ui, &ev);
    }
    key(ui, 'l');
    paint(ui);
    assert_true(screen_has("session live14 opened"));
    key(ui, 's');
    paint(ui);
    assert_false(screen_has("session live14 opened"));
    assert_true(screen_has("connection: reconnecting: connection lost"));
    assert_true(screen_has("without session lines"));
    key(ui, 's');
    paint(ui);
    assert_true(screen_has("session live14 opened"));
    /* narrow: no "info" column, problems keep their word */
    resize(ui, 12, 40);
    paint(ui);
    assert_true(screen_has(" session live14 opened"));
    assert_false(screen_has(" info "));
    key(ui, 's');
    paint(ui);
    assert_true(screen_has("warn: connection: reconn"));
    resize(ui, 30, 120);
    smt_ui_free(ui);
}

static void test_lost_reply_is_outcome_unknown(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", "Tier", "gold");
    paint(ui);
    key(ui, 'e');
    add_entry(ui, "Zone", "z1");
    assert_int_equal(ncalls, 1);
    reply(ui, calls[0].token, "CONNECTION_LOST", "connection lost", NULL, 0, 0);
    paint(ui);
    /* not "refused": the request left and may have been applied */
    assert_true(screen_has("outcome unknown (CONNECTION_LOST)"));
    assert_false(screen_has("server refused"));
    key(ui, SMT_KEY_ESC);
    key(ui, 'b');
    type(ui, "Department is 'Ops'");
    key(ui, '\r');
    add_entry(ui, "Tier", "silver");
    key(ui, 'A');
    key(ui, 'y');
    assert_int_equal(ncalls, 2);
    reply(ui, calls[1].token, "TIMEOUT", "no reply", NULL, 0, 0);
    assert_non_null(strstr(BULK(ui)->result, "outcome unknown (TIMEOUT)"));
    assert_non_null(BULK(ui)->undo); /* the saved values stay available */
    key(ui, 'u');
    assert_int_equal(ui->app.form.kind, SMT_FORM_BULK_UNDO);
    key(ui, 'y');
    assert_int_equal(ncalls, 3);
    assert_string_equal(calls[2].values[0], "gold");
    /* a real refusal still says so, and leaves no undo behind */
    reply(ui, calls[2].token, NULL, NULL, NULL, 0, 0);
    smt_ui_tick(ui);
    /* the undone update is not one A away from being sent again: the map was cleared */
    assert_int_equal(BULK(ui)->nentries, 0);
    key(ui, 'A');
    assert_int_equal(ncalls, 3);
    assert_non_null(strstr(ui->app.message, "nothing to apply"));
    add_entry(ui, "Tier", "silver");
    key(ui, 'A');
    key(ui, 'y');
    assert_int_equal(ncalls, 4);
    reply(ui, calls[3].token, "ACCESS_DENIED", "no", NULL, 0, 0);
    assert_non_null(strstr(BULK(ui)->result, "server refused: ACCESS_DENIED"));
    assert_null(BULK(ui)->undo);
    smt_ui_free(ui);
}

static void test_inspect_wraps_long_values(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    char big[4097];
    for (int i = 0; i < 4096; i++)
        big[i] = (char)('a' + i % 26);
    big[4096] = '\0';
    big[100] = 'Q'; /* marks on the first lines */
    big[200] = 'Q';
    add_session(ui, "s1", "1700000000000", "Ops", "Big", big);
    resize(ui, 50, 120);
    paint(ui);
    key(ui, 'i');
    paint(ui);
    int y = line_with("User properties (2)") + 1; /* Big, then Department */
    char l1[512];
    line_at(y, l1, sizeof l1);
    assert_non_null(strstr(l1, "Big"));
    int x = column_of(y, "abcdefghij");
    assert_true(x > 0);
    /* the value goes on under itself, at the same column */
    char l2[512];
    line_at(y + 1, l2, sizeof l2);
    int x2 = -1;
    for (int c = 0; c < 26 && x2 < 0; c++) {
        char probe[4] = {(char)('a' + c), (char)('a' + (c + 1) % 26), (char)('a' + (c + 2) % 26), 0};
        if (column_of(y + 1, probe) == x)
            x2 = x;
    }
    assert_int_equal(x2, x);
    /* at most 8 lines; the rest is cut with an ellipsis, and the next key follows */
    int y_dept = -1;
    for (int yy = y + 1; yy < getmaxy(stdscr) && y_dept < 0; yy++) {
        char b[512];
        line_at(yy, b, sizeof b);
        if (strstr(b, "Department"))
            y_dept = yy;
    }
    assert_int_equal(y_dept, y + 8);
    char last[512];
    line_at(y + 7, last, sizeof last);
    assert_non_null(strstr(last, "\u2026"));
    resize(ui, 30, 120);
    smt_ui_free(ui);
}

static void test_bottom_lines_fit_80_columns(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    resize(ui, 24, 80);
    paint(ui);
    char bar[512], status[512];
    line_at(23, bar, sizeof bar);
    line_at(22, status, sizeof status);
    /* every function key, F10 included, and the whole hint */
    assert_non_null(strstr(bar, "F1Help F2Columns"));
    assert_non_null(strstr(bar, "F10Quit"));
    assert_non_null(strstr(status, "? help q quit"));
    assert_null(strstr(status, "\u2026"));
    /* wide: the even layout */
    resize(ui, 30, 120);
    paint(ui);
    line_at(29, bar, sizeof bar);
    assert_non_null(strstr(bar, "F1Help   F2Columns"));
    line_at(28, status, sizeof status);
    assert_non_null(strstr(status, "? help  q quit"));
    smt_ui_free(ui);
}

static void test_settings_used_and_saved_only_when_asked(void **state)
{
    (void)state;
    char dir[] = "/tmp/sessmon-uisettings-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/monitor.conf", dir);
    smt_settings st;
    memset(&st, 0, sizeof st);
    snprintf(st.columns[st.ncolumns++], sizeof st.columns[0], "$SessionId");
    snprintf(st.columns[st.ncolumns++], sizeof st.columns[0], "Department");
    snprintf(st.sort_key, sizeof st.sort_key, "Department");
    st.sort_descending = true;
    smt_ui *ui = make_ui(false);
    smt_ui_use_settings(ui, &st, path);
    add_session(ui, "s1", "1700000000000", "Accounts", "Tier", "gold");
    add_session(ui, "s2", "1700000001000", "Payroll", NULL, NULL);
    paint(ui);
    /* the saved columns and sort, and no automatic columns */
    assert_int_equal(ui->app.ncols, 2);
    assert_true(ui->app.cols_custom);
    assert_true(screen_has("Sort: Department \u25bc"));
    assert_false(screen_has("Tier"));
    assert_string_equal(smt_view_at(ui->app.view, 0)->id, "s2");
    assert_int_not_equal(access(path, F_OK), 0); /* nothing written by itself */
    /* w asks first; n writes nothing */
    key(ui, 'c');
    key(ui, 'w');
    assert_int_equal(ui->app.form.kind, SMT_FORM_SETTINGS_SAVE);
    paint(ui);
    assert_true(screen_has(path));
    key(ui, 'n');
    assert_int_not_equal(access(path, F_OK), 0);
    key(ui, 'w');
    key(ui, 'y');
    assert_int_equal(access(path, F_OK), 0);
    assert_non_null(strstr(ui->app.message, "settings saved to"));
    smt_settings back;
    sm_error err;
    assert_int_equal(smt_settings_load(path, &back, &err), SM_OK);
    assert_int_equal(back.ncolumns, 2);
    assert_string_equal(back.sort_key, "Department");
    assert_true(back.sort_descending);
    assert_string_equal(back.theme, "default");
    smt_ui_free(ui);
    /* without a path, w says why it cannot save */
    ui = make_ui(false);
    smt_ui_use_settings(ui, NULL, NULL);
    key(ui, 'c');
    key(ui, 'w');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_non_null(strstr(ui->app.message, "no settings file"));
    smt_ui_free(ui);
    unlink(path);
    rmdir(dir);
}

static void test_quit_asks_while_changes_are_in_flight(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "1700000000000", "Ops", NULL, NULL);
    paint(ui);
    key(ui, 'e');
    add_entry(ui, "Zone", "z1");
    assert_int_equal(ncalls, 1);
    /* the edit waits for the server: q asks */
    key(ui, 'q');
    assert_false(ui->app.quit);
    assert_int_equal(ui->app.form.kind, SMT_FORM_QUIT);
    paint(ui);
    assert_true(screen_has("An edit is waiting for the server's answer."));
    key(ui, 'n');
    assert_false(ui->app.quit);
    key(ui, SMT_KEY_FN(KEY_F(10)));
    key(ui, 'y');
    assert_true(ui->app.quit);
    /* once answered, q quits at once */
    ui->app.quit = false;
    sm_property prev[] = {{"Zone", NULL}};
    reply(ui, calls[0].token, NULL, NULL, prev, 1, 0);
    key(ui, 'q');
    assert_true(ui->app.quit);
    smt_ui_free(ui);
}

static void test_mouse_in_scrolled_lists(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    for (int i = 0; i < 60; i++) {
        char id[16], k[16];
        snprintf(id, sizeof id, "c%02d", i);
        snprintf(k, sizeof k, "Key%02d", i);
        add_session(ui, id, "1700000000000", "Ops", k, "v");
    }
    paint(ui);
    key(ui, 'c');
    for (int i = 0; i < 50; i++)
        key(ui, 'j');
    paint(ui);
    assert_true(COLS(ui)->nav.top > 0);
    /* a click picks the line under the pointer, not the line number from the top */
    int first = ui->pane_y + 1;
    click(ui, first + 2, 10, BUTTON1_PRESSED);
    assert_int_equal(COLS(ui)->nav.cursor, COLS(ui)->nav.top + 2);
    /* the wheel scrolls the chooser */
    int before = COLS(ui)->nav.cursor;
    click(ui, first + 2, 10, BUTTON5_PRESSED);
    assert_int_equal(COLS(ui)->nav.cursor, before + 3);
    mousemask(0, NULL);
    smt_ui_free(ui);
}

/* A failed connection attempt: the header says why, which attempt, and counts down to the next
 * one; the reason is escaped and gives way before the counts; a new connection state clears it. */
static void test_header_shows_connect_failure(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s-1", "1700000000000", "Payroll", "Z", "z1");
    smt_ui_set_connection(ui, SMT_CONN_RECONNECTING, "connection to 127.0.0.1:9595 lost");
    smt_ui_set_connect_failure(ui, "connection refused", 4, 1600);
    paint(ui);
    char buf[2048];
    line_at(0, buf, sizeof buf);
    assert_non_null(strstr(buf, "STALE"));
    assert_non_null(strstr(buf, "\u25cf reconnecting: connection refused \u2014 attempt 4, next in 1.6 s"));
    assert_non_null(strstr(buf, "1 session"));
    assert_null(strstr(buf, "127.0.0.1:9595 lost")); /* the failure is the newer why */

    /* the countdown runs, then the attempt is under way */
    smt_ui_set_time(ui, clock_ms + 1000, 1700000000000LL);
    assert_in_range(smt_ui_tick(ui), 1, 100); /* tenths of a second need repainting */
    paint(ui);
    assert_true(screen_has("attempt 4, next in 0.6 s"));
    smt_ui_set_time(ui, clock_ms + 1700, 1700000000000LL);
    smt_ui_tick(ui);
    paint(ui);
    assert_true(screen_has("attempt 4, retrying now"));

    /* a long wait in whole seconds; the reason comes from the network: escaped */
    smt_ui_set_connect_failure(ui, "the server chose \x1b[2J", 5, 12000);
    smt_ui_set_time(ui, clock_ms + 1800, 1700000000000LL);
    paint(ui);
    assert_true(screen_has("reconnecting: the server chose \u241b[2J \u2014 attempt 5, next in 12 s"));

    /* a long reason is cut with an ellipsis so the session count stays; on a narrow terminal
     * the reason still keeps a few words and the attempt and countdown stay whole */
    smt_ui_set_connect_failure(ui, "the server answered HTTP 404 instead of a WebSocket upgrade (not sessmond, or a "
                                  "wrong path?) and more words to make it long",
                              6, 500);
    paint(ui);
    line_at(0, buf, sizeof buf);
    assert_non_null(strstr(buf, "reconnecting: the server answered HTTP 404"));
    assert_non_null(strstr(buf, "\u2026 \u2014 attempt 6, next in 0.5 s"));
    assert_non_null(strstr(buf, "1 session"));
    resize(ui, 20, 80);
    paint(ui);
    line_at(0, buf, sizeof buf);
    assert_non_null(strstr(buf, "reconnecting: the server"));
    assert_non_null(strstr(buf, "\u2026 \u2014 attempt 6, next in 0.5 s"));

    resize(ui, 30, 120);
    /* a final failure has no next attempt */
    smt_ui_set_connect_failure(ui, "refused: bad password", 7, -1);
    paint(ui);
    assert_true(screen_has("reconnecting: refused: bad password \u2014 attempt 7 "));
    assert_false(screen_has("next in"));

    /* connected again: gone */
    smt_ui_set_connection(ui, SMT_CONN_SYNCING, "session open");
    paint(ui);
    assert_false(screen_has("attempt 7"));
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    paint(ui);
    assert_true(screen_has("\u25cf connected"));
    smt_ui_free(ui);
}


/* ---- closing sessions, tags, copying ---- */

static void test_close_cursor_session(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "s1", "2024-01-01T08:00:00Z", "Sales", NULL, NULL);
    add_session(ui, "s2", "2024-01-01T08:00:01Z", "Sales", NULL, NULL);
    paint(ui);
    const char *id = ui->app.selected;
    assert_non_null(id);
    key(ui, 'D');
    paint(ui);
    assert_true(smt_ui_showing(ui, "close"));
    assert_true(screen_has("Closing the cursor's session:"));
    assert_true(screen_has("matches 1 open session here"));
    /* typing over the filter makes it a filter; Esc puts back what it opened on */
    key(ui, 'f');
    type(ui, "x");
    paint(ui);
    assert_true(screen_has("Closing the sessions matching the filter:"));
    key(ui, SMT_KEY_ESC);
    paint(ui);
    assert_true(screen_has("Closing the cursor's session:"));
    assert_true(screen_has("no undo"));
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_CLOSE_CONFIRM);
    assert_int_equal(ui->app.form.nfields, 0); /* one session: y confirms */
    assert_non_null(strstr(ui->app.form.text[2], "There is no undo"));
    paint(ui);
    /* said once, in the dialog's text, not again in its title and prompt */
    assert_true(screen_has("Close sessions"));
    assert_false(screen_has("Close them? There is no undo"));
    key(ui, 'y');
    assert_int_equal(ncalls, 1);
    assert_true(calls[0].close);
    char want[64];
    snprintf(want, sizeof want, "$SessionId is '%s'", id);
    assert_string_equal(calls[0].target, want);
    reply(ui, calls[0].token, NULL, NULL, NULL, 0, 1);
    paint(ui);
    assert_true(screen_has("server closed 1 session (local preview: 1)"));
    smt_ui_free(ui);
}

static void test_close_tagged_needs_typed_count(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    char id[16];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "t%d", i);
        add_session(ui, id, "2024-01-01T08:00:00Z", "Ops", NULL, NULL);
    }
    paint(ui);
    for (int i = 0; i < 7; i++)
        key(ui, ' '); /* tags the cursor's session and moves down */
    paint(ui);
    assert_int_equal(smt_app_tagged_count(&ui->app), 7);
    assert_true(screen_has("7 sessions tagged"));
    key(ui, 'D');
    paint(ui);
    assert_true(screen_has("Closing the tagged sessions:"));
    assert_true(screen_has("matches 7 open sessions here"));
    key(ui, 'A');
    assert_int_equal(ui->app.form.nfields, 1); /* more than 5: the count must be typed */
    assert_false(ui->app.form.ok);
    type(ui, "6");
    assert_false(ui->app.form.ok);
    key(ui, '\r');
    assert_int_equal(ncalls, 0);
    key(ui, 127);
    type(ui, "7");
    assert_true(ui->app.form.ok);
    key(ui, '\r');
    assert_int_equal(ncalls, 1);
    assert_true(calls[0].close);
    assert_non_null(strstr(calls[0].target, "$SessionId in ['"));
    reply(ui, calls[0].token, NULL, NULL, NULL, 0, 7);
    paint(ui);
    assert_true(screen_has("server closed 7 sessions (local preview: 7)"));
    assert_int_equal(smt_app_tagged_count(&ui->app), 0); /* the tags went with them */
    smt_ui_free(ui);
}

static void test_close_by_filter_service_and_read_only(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "a1", "2024-01-01T08:00:00Z", "Sales", NULL, NULL);
    add_session(ui, "a2", "2024-01-01T08:00:00Z", "Ops", NULL, NULL);
    paint(ui);
    char err[256] = "";
    assert_false(smt_close_open_by_filter(&ui->app, "Department is", err, sizeof err));
    assert_non_null(strstr(err, "column"));
    assert_true(smt_close_open_by_filter(&ui->app, "Department is 'Ops'", err, sizeof err));
    paint(ui);
    assert_true(screen_has("Closing the sessions matching the filter:"));
    assert_true(screen_has("matches 1 open session here"));
    smt_ui_free(ui);

    ui = make_ui(true);
    add_session(ui, "a1", "2024-01-01T08:00:00Z", "Sales", NULL, NULL);
    paint(ui);
    key(ui, 'D');
    assert_false(smt_ui_showing(ui, "close"));
    assert_non_null(strstr(ui->app.message, "refused: read-only (--read-only)"));
    assert_false(smt_close_open_by_filter(&ui->app, "all", err, sizeof err));
    assert_non_null(strstr(err, "read-only (--read-only)"));
    assert_int_equal(ncalls, 0);
    smt_ui_free(ui);
}

static void test_tags_feed_bulk_and_copy(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "b1", "2024-01-01T08:00:00Z", "Sales", NULL, NULL);
    add_session(ui, "b2", "2024-01-01T08:00:01Z", "Sales", NULL, NULL);
    paint(ui);
    key(ui, ' ');
    paint(ui);
    assert_int_equal(column_of(line_with("b1"), "#"), 1); /* the tag mark */
    key(ui, 'b');
    assert_true(smt_ui_showing(ui, "bulk"));
    assert_string_equal(BULK(ui)->filter.buf, "$SessionId in ['b1']");
    key(ui, SMT_KEY_ESC); /* the prompt */
    key(ui, SMT_KEY_ESC); /* the pane */
    key(ui, 'U');
    assert_int_equal(smt_app_tagged_count(&ui->app), 0);
    key(ui, 'y');
    assert_string_equal(ui->app.clipboard_osc, "\033]52;c;YjI=\a"); /* base64("b2"): the cursor moved down */
    assert_non_null(strstr(ui->app.message, "OSC 52"));
    key(ui, 'Y');
    assert_non_null(strstr(ui->app.clipboard_osc, "\033]52;c;"));
    smt_ui_free(ui);
}


/* ---- never lying: STALE on silence, the own session when the connection drops ---- */

static void test_header_stale_after_heartbeat_silence(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    smt_ui_set_heartbeat(ui, 2000);
    add_session(ui, "h1", "1700000000000", "Ops", NULL, NULL);
    paint(ui);
    assert_true(screen_has(" LIVE "));
    smt_ui_set_time(ui, clock_ms + 1900, 1700000001900LL);
    smt_ui_tick(ui);
    paint(ui);
    assert_true(screen_has(" LIVE "));
    smt_ui_set_time(ui, clock_ms + 5000, 1700000005000LL);
    smt_ui_tick(ui);
    paint(ui);
    assert_false(screen_has(" LIVE "));
    assert_true(screen_has("STALE: nothing heard for 5 s"));
    add_session(ui, "h2", "1700000000000", "Ops", NULL, NULL); /* the server speaks again */
    paint(ui);
    assert_true(screen_has(" LIVE "));
    assert_false(screen_has("STALE"));
    smt_ui_free(ui);
}

static void test_own_session_disconnected_when_server_down(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "me", "1700000000000", NULL, NULL, NULL);
    smt_ui_set_own_session(ui, "me");
    paint(ui);
    assert_true(screen_has("ACTIVE"));
    smt_ui_set_connection(ui, SMT_CONN_RECONNECTING, "connection refused");
    paint(ui);
    assert_false(screen_has("ACTIVE"));
    assert_true(screen_has("DISCONNECTED"));
    assert_true(screen_has("STALE"));
    smt_ui_free(ui);
}


/* ---- search and filter on what the operator sees ---- */

static void test_state_pseudo_property_and_displayed_search(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "d1", "1700000000000", "Ops", NULL, NULL);
    add_session(ui, "d2", "1700000060000", "Ops", NULL, NULL);
    add_session(ui, "d3", "1700000120000", "Ops", NULL, NULL);
    sm_property none[] = {{NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_DISCONNECTED, "d2", SM_REMOTE_DISCONNECTED, none, NULL, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    sm_error err;
    assert_int_equal(smt_app_set_view_filter(&ui->app, "$State is 'DISCONNECTED'", &err), SM_OK);
    paint(ui);
    assert_true(screen_has("Shown: 1 of 3"));
    assert_true(line_with("d2") > 0);
    assert_true(screen_has("$State")); /* the column title is the name the filter knows */
    assert_int_equal(smt_app_set_view_filter(&ui->app, "", &err), SM_OK);

    /* the search matches the text on screen: the state and the local start time */
    smt_view_set_search(ui->app.view, "active");
    paint(ui);
    assert_true(screen_has("Shown: 2 of 3"));
    char shown[16];
    smt_row *r = smt_model_find(ui->app.model, "d3");
    char buf[64];
    snprintf(shown, sizeof shown, "%.4s", smt_ui_cell_text(r, "$StartTime", buf, sizeof buf)); /* "HH:M" */
    smt_view_set_search(ui->app.view, shown);
    paint(ui);
    assert_true(line_with("d3") > 0);
    smt_view_set_search(ui->app.view, "1700000120000"); /* the raw milliseconds are not on screen */
    paint(ui);
    assert_true(screen_has("Shown: 0 of 3"));
    smt_view_set_search(ui->app.view, "");

    /* a filter with $State is never sent: the server would read it differently */
    char why[256];
    assert_true(smt_filter_monitor_only("$State is 'ACTIVE'", why, sizeof why));
    assert_false(smt_filter_monitor_only("Department is 'Ops'", why, sizeof why));
    char e2[256];
    assert_true(smt_close_open_by_filter(&ui->app, "$State is 'DISCONNECTED'", e2, sizeof e2));
    key(ui, 'A');
    assert_int_equal(ui->app.form.kind, SMT_FORM_NONE);
    assert_non_null(strstr(ui->app.message, "known only to the monitor"));
    assert_int_equal(ncalls, 0);
    smt_ui_free(ui);
}


/* ---- the other items of issue 13's "Why" ---- */

static void test_edit_pane_forgets_other_sessions_result(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "e1", "1700000000000", "Ops", "Tier", "gold");
    add_session(ui, "e2", "1700000001000", "Ops", NULL, NULL);
    paint(ui);
    key(ui, 'e');
    add_entry(ui, "Zone", "z1");
    sm_property prev[] = {{"Zone", NULL}};
    reply(ui, calls[0].token, NULL, NULL, prev, 1, 0);
    paint(ui);
    assert_true(screen_has("server: Zone added = 'z1'"));
    smt_mouse m = {SMT_MOUSE_PRESS, 1, 5, line_with("e2")}; /* pick the other session in the table */
    smt_ui_mouse(ui, &m);
    paint(ui);
    assert_true(screen_has("Edit e2"));
    assert_false(screen_has("Zone added"));
    assert_true(screen_has("Changes go to the server"));
    smt_ui_free(ui);
}

static void test_messages_do_not_outlive_their_cause(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "m1", "1700000000000", "Ops", "AppVersion", "1.2");
    add_session(ui, "m2", "1700000001000", "Ops", "AppVersion", "1.3");
    paint(ui);
    /* a filter error, then Esc puts the valid filter back: the error goes with it */
    key(ui, 'f');
    type(ui, "Dep");
    key(ui, '\r'); /* refused: the error is the message */
    assert_true(ui->app.message[0] != '\0');
    key(ui, SMT_KEY_ESC);
    assert_string_equal(ui->app.message, "");
    /* Esc clears the filter, a search then Enter: "filter cleared" is not left behind */
    assert_int_equal(smt_app_set_view_filter(&ui->app, "has AppVersion", NULL), SM_OK);
    key(ui, SMT_KEY_ESC);
    assert_non_null(strstr(ui->app.message, "filter cleared"));
    key(ui, '/');
    type(ui, "m1");
    key(ui, '\r');
    assert_null(strstr(ui->app.message, "filter cleared"));
    /* a sort message goes at the next key */
    key(ui, '>');
    assert_non_null(strstr(ui->app.message, "sorted by"));
    key(ui, 'g');
    assert_string_equal(ui->app.message, "");
    smt_ui_free(ui);
}

static void test_escape_filter_can_be_put_back(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "f1", "1700000000000", "Ops", NULL, NULL);
    add_session(ui, "f2", "1700000001000", "Sales", NULL, NULL);
    assert_int_equal(smt_app_set_view_filter(&ui->app, "Department is 'Ops'", NULL), SM_OK);
    paint(ui);
    assert_true(screen_has("Shown: 1 of 2"));
    key(ui, SMT_KEY_ESC);
    paint(ui);
    assert_true(screen_has("Shown: 2 of 2"));
    assert_true(screen_has("u puts it back"));
    key(ui, 'u');
    paint(ui);
    assert_true(screen_has("Filter: Department is 'Ops'"));
    assert_true(screen_has("Shown: 1 of 2"));
    smt_ui_free(ui);
}

static void test_sort_shows_the_top_and_columns_shrink(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    char id[16], v[16];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "r%02d", i);
        snprintf(v, sizeof v, "%02d", 40 - i);
        add_session(ui, id, "1700000000000", "Ops", "Rank", v);
    }
    paint(ui);
    key(ui, 'G'); /* the last row */
    paint(ui);
    assert_string_equal(ui->app.selected, "r39");
    smt_ui_sort_by(&ui->app, "Rank");
    paint(ui);
    /* the new order shows from its top, cursor on the first row */
    assert_int_equal(TABLE(ui)->nav.cursor, 0);
    assert_string_equal(ui->app.selected, "r39"); /* rank 01 sorts first */
    assert_int_equal(line_with("r39"), 3);

    /* a long value widens its column; once it is gone the column narrows again after a while */
    int c = smt_ui_column_index(&ui->app, "Rank");
    assert_true(c >= 0);
    int narrow = ui->app.cols[c].width;
    sm_property props[] = {{"Rank", "00-a-very-long-value"}, {NULL, NULL}};
    sm_property prev[] = {{"Rank", "01"}, {NULL, NULL}};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, "r39", SM_REMOTE_ACTIVE, props, prev, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_true(ui->app.cols[c].width > narrow);
    sm_property back[] = {{"Rank", "01"}, {NULL, NULL}};
    sm_property was[] = {{"Rank", "00-a-very-long-value"}, {NULL, NULL}};
    ev = test_event(SMT_EVENT_PROPERTIES, "r39", SM_REMOTE_ACTIVE, back, was, false);
    smt_ui_event(ui, &ev);
    paint(ui);
    assert_true(ui->app.cols[c].width > narrow); /* not at once: no jitter */
    smt_ui_set_time(ui, clock_ms + 5000, 1700000005000LL);
    paint(ui);
    smt_ui_set_time(ui, clock_ms + 10000, 1700000010000LL);
    paint(ui);
    assert_int_equal(ui->app.cols[c].width, narrow);
    smt_ui_free(ui);
}

static void test_long_validation_message_and_unknown_keys(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    add_session(ui, "v1", "1700000000000", "Ops", NULL, NULL);
    resize(ui, 40, 200);
    paint(ui);
    key(ui, 'e');
    key(ui, 'a');
    type(ui, "Tier(1)");
    paint(ui);
    const char *status = ui->app.form.status;
    assert_true(strlen(status) > 84);
    assert_true(screen_has(status)); /* whole, on a wide terminal */
    key(ui, SMT_KEY_ESC);
    key(ui, SMT_KEY_ESC);
    /* a key bound to nothing says so instead of doing nothing */
    key(ui, '\t');
    assert_non_null(strstr(ui->app.message, "Tab does nothing here"));
    assert_non_null(strstr(ui->app.message, "? lists the keys"));
    key(ui, 'n');
    assert_non_null(strstr(ui->app.message, "'n' does nothing here"));
    smt_ui_free(ui);
}


static void test_age_column(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false); /* wall clock 1700000000000 */
    add_session(ui, "old", "1699999880000", "Ops", NULL, NULL);   /* 2 minutes before */
    add_session(ui, "young", "1699999995000", "Ops", NULL, NULL); /* 5 seconds before */
    add_session(ui, "ancient", "1699900000000", "Ops", NULL, NULL);
    assert_true(smt_ui_column_add(&ui->app, SMT_COL_AGE));
    smt_ui_sort_by(&ui->app, SMT_COL_AGE);
    paint(ui);
    assert_true(screen_has("Age"));
    int y_young = line_with("young"), y_old = line_with("old "), y_ancient = line_with("ancient");
    assert_true(y_young > 0 && y_young < y_old && y_old < y_ancient); /* youngest first */
    char buf[2048];
    line_at(y_old, buf, sizeof buf);
    assert_non_null(strstr(buf, "2m00s"));
    line_at(y_ancient, buf, sizeof buf);
    assert_non_null(strstr(buf, "1d03h")); /* 100,000 s */
    smt_ui_set_time(ui, clock_ms + 60000, 1700000060000LL); /* the age moves with the clock */
    paint(ui);
    line_at(line_with("old "), buf, sizeof buf);
    assert_non_null(strstr(buf, "3m00s"));
    smt_ui_free(ui);
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8"))
        return 77;
    setenv("XDG_CONFIG_HOME", "/nonexistent-sessmon-test", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_table_is_consistent),
        cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_screen_shows_table_and_header),
        cmocka_unit_test(test_untrusted_text_escaped_and_wide_aligned),
        cmocka_unit_test(test_cursor_follows_session),
        cmocka_unit_test(test_read_only_refuses_every_change),
        cmocka_unit_test(test_edit_add_reply_and_undo),
        cmocka_unit_test(test_bulk_never_widens_and_sends_exact_filter),
        cmocka_unit_test(test_bulk_large_match_needs_typed_count),
        cmocka_unit_test(test_filter_prompt_shows_error_column),
        cmocka_unit_test(test_small_terminal_and_panes),
        cmocka_unit_test(test_columns_and_sort_keys),
        cmocka_unit_test(test_mouse),
        cmocka_unit_test(test_dialog_framed_and_enter_in_key_goes_to_value),
        cmocka_unit_test(test_counts_agree_and_closing_named),
        cmocka_unit_test(test_closed_row_fades_out),
        cmocka_unit_test(test_narrow_filter_line_keeps_the_count),
        cmocka_unit_test(test_bulk_hidden_count_is_the_view_filter),
        cmocka_unit_test(test_bulk_preview_aligned_per_key),
        cmocka_unit_test(test_edit_pane_stays_on_its_session),
        cmocka_unit_test(test_mouse_in_scrolled_lists),
        cmocka_unit_test(test_quit_asks_while_changes_are_in_flight),
        cmocka_unit_test(test_settings_used_and_saved_only_when_asked),
        cmocka_unit_test(test_bottom_lines_fit_80_columns),
        cmocka_unit_test(test_inspect_wraps_long_values),
        cmocka_unit_test(test_lost_reply_is_outcome_unknown),
        cmocka_unit_test(test_log_hides_session_lines),
        cmocka_unit_test(test_help_wraps_and_lists_prompt_keys),
        cmocka_unit_test(test_help_scroll_is_bounded),
        cmocka_unit_test(test_pane_registry),
        cmocka_unit_test(test_undo_warns_when_values_changed_since),
        cmocka_unit_test(test_header_shows_connect_failure),
        cmocka_unit_test(test_close_cursor_session),
        cmocka_unit_test(test_age_column),
        cmocka_unit_test(test_edit_pane_forgets_other_sessions_result),
        cmocka_unit_test(test_messages_do_not_outlive_their_cause),
        cmocka_unit_test(test_escape_filter_can_be_put_back),
        cmocka_unit_test(test_sort_shows_the_top_and_columns_shrink),
        cmocka_unit_test(test_long_validation_message_and_unknown_keys),
        cmocka_unit_test(test_state_pseudo_property_and_displayed_search),
        cmocka_unit_test(test_header_stale_after_heartbeat_silence),
        cmocka_unit_test(test_own_session_disconnected_when_server_down),
        cmocka_unit_test(test_close_tagged_needs_typed_count),
        cmocka_unit_test(test_close_by_filter_service_and_read_only),
        cmocka_unit_test(test_tags_feed_bulk_and_copy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
