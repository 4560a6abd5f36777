/* Unit tests of the operator panes of issue 13: group-by, history, the event log that explains,
 * and the : command line, on a virtual curses screen. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "screen.h"
#include "tui/cmdline.h"
#include "tui/history.h"
#include "tui/pane_group.h"
#include "tui/pane_history.h"
#include "tui/ui.h"

static test_screen screen;
static uint64_t clock_ms = 1000000;
static char tmpdir[256];

static int group_setup(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C.UTF-8");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sessmon-ops-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char p[300];
    snprintf(p, sizeof p, "%s/state", tmpdir);
    setenv("XDG_STATE_HOME", p, 1);
    snprintf(p, sizeof p, "%s/config", tmpdir);
    setenv("XDG_CONFIG_HOME", p, 1);
    return test_screen_open(&screen, 30, 120);
}

static int group_teardown(void **state)
{
    (void)state;
    test_screen_close(&screen);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static smt_ui *make_ui(bool read_only)
{
    resizeterm(30, 120);
    smt_theme t;
    smt_theme_builtin("default", &t);
    smt_ui_options opt = {"ws://test", "admin", read_only, NULL, &t, true, false};
    smt_ui *ui = smt_ui_new(&opt, NULL);
    assert_non_null(ui);
    smt_ui_apply_theme(ui);
    smt_ui_set_time(ui, clock_ms, 1700000000000LL);
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    return ui;
}

static void open_session(smt_ui *ui, const char *id, const char *country, const char *tier, bool snapshot)
{
    sm_property props[] = {{"$SessionId", id}, {"$Principal", "alice"}, {"$Country", country},
                           {"Tier", tier},     {NULL, NULL}};
    if (!tier)
        props[3] = (sm_property){NULL, NULL};
    smt_event ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, props, NULL, snapshot);
    smt_ui_event(ui, &ev);
}

static void change(smt_ui *ui, const char *id, const char *key, const char *old_value, const char *new_value)
{
    sm_property now[] = {{key, new_value}, {NULL, NULL}};
    sm_property before[] = {{key, old_value}, {NULL, NULL}};
    if (!new_value)
        now[0] = (sm_property){NULL, NULL};
    smt_event ev = test_event(SMT_EVENT_PROPERTIES, id, SM_REMOTE_ACTIVE, now, before, false);
    smt_ui_event(ui, &ev);
}

static void simple(smt_ui *ui, smt_event_kind kind, const char *id, sm_remote_state st)
{
    smt_event ev = test_event(kind, id, st, NULL, NULL, false);
    smt_ui_event(ui, &ev);
}

static void type(smt_ui *ui, const char *s)
{
    for (; *s; s++)
        smt_ui_key(ui, (unsigned char)*s);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- history ---- */

static void test_history_ring_is_bounded_and_carries_the_gauge(void **state)
{
    (void)state;
    smt_history h;
    smt_history_init(&h);
    smt_history_set(&h, 100, SMT_HIST_SESSIONS, 7);
    smt_history_add(&h, 100, SMT_HIST_OPENS, 3);
    smt_history_add(&h, 100, SMT_HIST_OPENS, 2);
    assert_int_equal(smt_history_at(&h, SMT_HIST_OPENS, 0), 5);
    smt_history_advance(&h, 103); /* quiet seconds: zero counts, the same gauge */
    assert_int_equal(smt_history_len(&h), 4);
    assert_int_equal(smt_history_at(&h, SMT_HIST_OPENS, 0), 0);
    assert_int_equal(smt_history_at(&h, SMT_HIST_OPENS, 3), 5);
    assert_int_equal(smt_history_at(&h, SMT_HIST_SESSIONS, 0), 7);
    smt_history_advance(&h, 50); /* the clock going back changes nothing */
    assert_int_equal(smt_history_len(&h), 4);
    for (int64_t s = 104; s < 104 + 2 * SMT_HISTORY_SECONDS; s++)
        smt_history_add(&h, s, SMT_HIST_EVENTS, (uint32_t)(s % 10));
    assert_int_equal(smt_history_len(&h), SMT_HISTORY_SECONDS);
    assert_int_equal(smt_history_max(&h, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS), 9);
    assert_int_equal(smt_history_max(&h, SMT_HIST_OPENS, SMT_HISTORY_SECONDS), 0); /* the 5 left the window */
    char spark[SMT_HISTORY_SECONDS * 4 + 1];
    smt_history_sparkline(&h, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS, 60, false, spark, sizeof spark);
    assert_int_equal(strlen(spark), 60); /* 10 s a cell */
    smt_history_sparkline(&h, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS, 600, false, spark, sizeof spark);
    assert_int_equal(strlen(spark), 600);
    assert_int_equal(spark[599], '-'); /* the newest second held 3 of at most 9 */
    assert_non_null(strchr(spark, '#'));
    smt_history_advance(&h, 104 + 5 * SMT_HISTORY_SECONDS); /* a long gap starts afresh */
    assert_int_equal(smt_history_len(&h), 1);
    assert_int_equal(smt_history_sparkline(&h, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS, 0, true, spark, sizeof spark),
                     0);
}

static void test_history_pane_records_events(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "s1", "FR", "gold", true); /* snapshot: not activity */
    open_session(ui, "s2", "FR", "gold", false);
    open_session(ui, "s3", "DE", NULL, false);
    simple(ui, SMT_EVENT_CLOSED, "s3", SM_REMOTE_CLOSED);
    smt_history_pane *hp = smt_ui_pane_state(ui, "history");
    assert_int_equal(smt_history_at(&hp->hist, SMT_HIST_OPENS, 0), 2);
    assert_int_equal(smt_history_at(&hp->hist, SMT_HIST_CLOSES, 0), 1);
    assert_int_equal(smt_history_at(&hp->hist, SMT_HIST_EVENTS, 0), 3);
    assert_int_equal(smt_history_at(&hp->hist, SMT_HIST_SESSIONS, 0), 2);
    smt_ui_key(ui, 'H');
    assert_true(smt_ui_showing(ui, "history"));
    smt_ui_set_time(ui, clock_ms + 1000, 1700000001000LL);
    smt_ui_tick(ui);
    smt_ui_paint(ui);
    assert_true(screen_has("History: the last"));
    assert_true(screen_has("opens/s"));
    char want[64];
    snprintf(want, sizeof want, " %-9s %10u ", "events/s", 3u); /* the last whole second */
    assert_true(screen_has(want));
    assert_true(screen_has("max 2"));
    smt_ui_key(ui, SMT_KEY_ESC);
    assert_false(smt_ui_showing(ui, "history"));
    /* the header's compact line, right-aligned where there is room */
    smt_ui_paint(ui);
    char l1[512];
    line_at(1, l1, sizeof l1);
    assert_non_null(strstr(l1, "events/s 10m "));
    resizeterm(30, 60);
    smt_ui_resized(ui);
    smt_ui_paint(ui);
    line_at(1, l1, sizeof l1);
    assert_null(strstr(l1, "events/s 10m ")); /* the view line keeps the room */
    smt_ui_free(ui);
}

/* ---- group-by ---- */

static void test_group_counts_follow_every_event(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "a", "FR", "gold", true);
    open_session(ui, "b", "FR", "silver", true);
    open_session(ui, "c", "DE", NULL, true);
    smt_ui_key(ui, 'a');
    assert_true(smt_ui_showing(ui, "group"));
    smt_group_pane *g = smt_ui_pane_state(ui, "group");
    assert_string_equal(smt_group_key(g), "$Country"); /* the default when sessions have one */
    assert_int_equal(smt_group_count_of(g, "FR", NULL, NULL), 2);
    assert_int_equal(smt_group_count_of(g, "DE", NULL, NULL), 1);
    unsigned opens, closes;
    open_session(ui, "d", "DE", "gold", false);
    change(ui, "a", "$Country", "FR", "DE");
    assert_int_equal(smt_group_count_of(g, "FR", NULL, NULL), 1);
    assert_int_equal(smt_group_count_of(g, "DE", &opens, NULL), 3);
    assert_int_equal(opens, 1);
    simple(ui, SMT_EVENT_CLOSED, "c", SM_REMOTE_CLOSED);
    assert_int_equal(smt_group_count_of(g, "DE", &opens, &closes), 2);
    assert_int_equal(closes, 1);
    smt_ui_paint(ui);
    assert_true(screen_has("Group by $Country: 2 values, 3 open sessions"));
    open_session(ui, "e", "", NULL, false); /* an empty value is a value of its own */
    smt_ui_paint(ui);
    assert_true(screen_has(" '' "));
    assert_int_equal(smt_group_count_of(g, "", NULL, NULL), 1);
    simple(ui, SMT_EVENT_CLOSED, "e", SM_REMOTE_CLOSED);
    smt_ui_paint(ui);
    assert_true(screen_has("66.7%"));
    /* by a user key: sessions without it are "(none)" */
    char err[128];
    assert_true(smt_group_set_key(g, "Tier", err, sizeof err));
    assert_int_equal(smt_group_count_of(g, "gold", NULL, NULL), 2);
    assert_int_equal(smt_group_count_of(g, NULL, NULL, NULL), 0);
    change(ui, "b", "Tier", "silver", NULL); /* deleted */
    assert_int_equal(smt_group_count_of(g, NULL, NULL, NULL), 1);
    assert_int_equal(smt_group_count_of(g, "silver", NULL, NULL), 0);
    /* by state */
    assert_true(smt_group_set_key(g, "$State", err, sizeof err));
    assert_int_equal(smt_group_count_of(g, "ACTIVE", NULL, NULL), 3);
    simple(ui, SMT_EVENT_DISCONNECTED, "d", SM_REMOTE_DISCONNECTED);
    assert_int_equal(smt_group_count_of(g, "ACTIVE", NULL, NULL), 2);
    assert_int_equal(smt_group_count_of(g, "DISCONNECTED", NULL, NULL), 1);
    simple(ui, SMT_EVENT_RECONNECTED, "d", SM_REMOTE_ACTIVE);
    assert_int_equal(smt_group_count_of(g, "ACTIVE", NULL, NULL), 3);
    simple(ui, SMT_EVENT_FILTER_LEAVE, "d", SM_REMOTE_ACTIVE);
    assert_int_equal(smt_group_count_of(g, "ACTIVE", NULL, NULL), 2);
    assert_false(smt_group_set_key(g, "has space", err, sizeof err));
    smt_ui_free(ui);
}

/* Churn at random and compare the incremental counts with a fresh recount. */
static void test_group_incremental_equals_recount(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    static const char *const countries[] = {"FR", "DE", "GB", "US"};
    unsigned seed = 7;
    smt_ui_key(ui, 'a');
    smt_group_pane *g = smt_ui_pane_state(ui, "group");
    char err[128];
    assert_true(smt_group_set_key(g, "$Country", err, sizeof err));
    char id[16];
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        int who = (int)((seed >> 8) % 200), what = (int)((seed >> 20) % 5);
        snprintf(id, sizeof id, "s%d", who);
        const char *c = countries[(seed >> 4) % 4];
        smt_row *r = smt_model_find(ui->app.model, id);
        if (!r || r->state == SM_REMOTE_CLOSED) {
            if (!r)
                open_session(ui, id, c, "gold", false);
        } else if (what == 0) {
            simple(ui, SMT_EVENT_CLOSED, id, SM_REMOTE_CLOSED);
        } else if (what == 1) {
            simple(ui, r->state == SM_REMOTE_ACTIVE ? SMT_EVENT_DISCONNECTED : SMT_EVENT_RECONNECTED, id,
                   r->state == SM_REMOTE_ACTIVE ? SM_REMOTE_DISCONNECTED : SM_REMOTE_ACTIVE);
        } else {
            const char *old = smt_row_get(r, "$Country");
            char was[8];
            snprintf(was, sizeof was, "%s", old ? old : "");
            change(ui, id, "$Country", old ? was : NULL, c);
        }
        if (step % 500 == 0) {
            clock_ms += 4000; /* closed rows fade out and leave the model */
            smt_ui_set_time(ui, clock_ms, 1700000000000LL);
            smt_ui_tick(ui);
            smt_ui_paint(ui);
        }
    }
    size_t inc[4], total = 0;
    for (int i = 0; i < 4; i++)
        total += inc[i] = smt_group_count_of(g, countries[i], NULL, NULL);
    assert_int_equal(total, smt_model_open_count(ui->app.model));
    assert_true(smt_group_set_key(g, "$Country", err, sizeof err)); /* recount from the rows */
    for (int i = 0; i < 4; i++)
        assert_int_equal(smt_group_count_of(g, countries[i], NULL, NULL), inc[i]);
    smt_ui_free(ui);
}

static void test_group_sorts_and_drills_down(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "a", "FR", "gold", true);
    open_session(ui, "b", "FR", "o'neil", true);
    open_session(ui, "c", "DE", "gold", true);
    open_session(ui, "d", "GB", NULL, true);
    smt_ui_paint(ui);
    smt_ui_key(ui, 'a');
    smt_group_pane *g = smt_ui_pane_state(ui, "group");
    char f[256];
    assert_true(smt_group_drill_filter(g, f, sizeof f)); /* largest first */
    assert_string_equal(f, "$Country is 'FR'");
    smt_ui_key(ui, 's'); /* by value: DE FR GB */
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "$Country is 'DE'");
    smt_ui_key(ui, 'r');
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "$Country is 'GB'");
    char err[64];
    assert_true(smt_group_set_key(g, "Tier", err, sizeof err));
    smt_group_set_order(g, true, false); /* gold, o'neil, (none) last */
    smt_ui_key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'o\\'neil'");
    smt_ui_key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "not has Tier");
    smt_ui_key(ui, SMT_KEY_FN(KEY_UP));
    smt_ui_key(ui, '\r'); /* drill down into o'neil */
    assert_false(smt_ui_showing(ui, "group"));
    assert_string_equal(smt_view_filter_text(ui->app.view), "Tier is 'o\\'neil'");
    smt_ui_paint(ui);
    assert_int_equal(smt_view_count(ui->app.view), 1);
    /* Tab walks the keys: $State first */
    smt_ui_key(ui, 'a');
    smt_ui_key(ui, '\t');
    assert_string_equal(smt_group_key(g), "$State");
    smt_ui_key(ui, SMT_KEY_FN(KEY_LEFT));
    assert_string_not_equal(smt_group_key(g), "$State");
    smt_ui_free(ui);
}

/* Above 2000 values only the lines on screen are sorted: they must still be the right ones. */
static void test_group_many_values_sorts_the_lines_shown(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    char id[16], v[16];
    for (int i = 0; i < 3008; i++) {
        snprintf(id, sizeof id, "s%04d", i);
        snprintf(v, sizeof v, "u%04d", (i * 7919) % 3000);
        open_session(ui, id, "FR", i >= 3005 ? "second" : i >= 3000 ? "top" : v, true);
    }
    smt_ui_key(ui, 'a');
    smt_group_pane *g = smt_ui_pane_state(ui, "group");
    char err[64], f[128];
    assert_true(smt_group_set_key(g, "Tier", err, sizeof err));
    smt_ui_paint(ui);
    assert_int_equal(smt_group_values(g), 3002);
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'top'");
    smt_ui_key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'second'");
    smt_ui_key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'u0000'");
    smt_ui_key(ui, SMT_KEY_FN(KEY_NPAGE)); /* the page below, in order: consecutive values */
    smt_ui_paint(ui);
    int a = -1, b = -1;
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_int_equal(sscanf(f, "Tier is 'u%d'", &a), 1);
    smt_ui_key(ui, SMT_KEY_FN(KEY_UP));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_int_equal(sscanf(f, "Tier is 'u%d'", &b), 1);
    assert_true(a > 1);
    assert_int_equal(b, a - 1);
    smt_ui_key(ui, SMT_KEY_FN(KEY_END));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'u2999'");
    smt_ui_key(ui, 's'); /* by value */
    smt_ui_key(ui, SMT_KEY_FN(KEY_HOME));
    assert_true(smt_group_drill_filter(g, f, sizeof f));
    assert_string_equal(f, "Tier is 'second'");
    smt_ui_paint(ui);
    smt_ui_free(ui);
}

/* ---- the event log ---- */

static void test_log_explains_filters_jumps_and_saves(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "fr1", "FR", "gold", false);
    open_session(ui, "de1", "DE", "gold", false);
    change(ui, "fr1", "Tier", "gold", "silver");
    simple(ui, SMT_EVENT_CLOSED, "de1", SM_REMOTE_CLOSED);
    smt_ui_paint(ui);
    smt_ui_key(ui, 'l');
    smt_ui_paint(ui);
    assert_true(screen_has("session fr1 changed"));
    assert_true(screen_has("Tier: 'gold' \u2192 'silver'"));
    assert_true(screen_has("alice"));
    assert_true(screen_has("session de1 closed"));
    /* filtered with the session filter language: entry fields, then the session's properties */
    smt_ui_key(ui, '/');
    type(ui, "$Country is 'FR' and Tier is 'silver'");
    smt_ui_key(ui, '\r');
    smt_ui_paint(ui);
    assert_true(screen_has("Event log: 2 entries matching $Country is 'FR'"));
    assert_false(screen_has("session de1"));
    assert_false(screen_has("connection:"));
    /* a filter that does not parse is not accepted */
    smt_ui_key(ui, '/');
    type(ui, " and");
    smt_ui_key(ui, '\r');
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_LOG_FILTER);
    smt_ui_key(ui, SMT_KEY_ESC);
    /* save */
    char path[400];
    snprintf(path, sizeof path, "%s/log.ndjson", tmpdir);
    smt_ui_key(ui, 'w');
    smt_line_set(&ui->app.prompt.line, path);
    smt_ui_key(ui, '\r');
    char *text = slurp(path);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"event\":\"opened\",\"session\":\"fr1\",\"principal\":\"alice\",\"country\":\"FR\""));
    assert_non_null(strstr(text, "\"changes\":\"Tier: 'gold' \u2192 'silver'\""));
    assert_null(strstr(text, "de1"));
    assert_non_null(strstr(text, "\"time\":\"2023-11-14T22:13:20.000Z\""));
    /* Enter on the newest entry jumps to fr1 */
    smt_ui_key(ui, SMT_KEY_FN(KEY_END));
    smt_ui_key(ui, '\r');
    assert_false(smt_ui_showing(ui, "log"));
    assert_non_null(ui->app.selected);
    assert_string_equal(ui->app.selected, "fr1");
    smt_ui_free(ui);
}

static void test_ndjson_strings_are_escaped(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/json.txt", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    smt_json_string(f, "a\"b\\c\n\x01\xff\xc3\xa9");
    fclose(f);
    assert_string_equal(slurp(path), "\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9\"");
}

/* ---- the command line ---- */

static void command(smt_ui *ui, const char *line)
{
    smt_ui_key(ui, ':');
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_COMMAND);
    type(ui, line);
    smt_ui_key(ui, '\r');
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_NONE);
}

static void test_commands(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "a", "FR", "gold", true);
    open_session(ui, "b", "DE", "silver", true);
    open_session(ui, "c", "DE", "gold,\"x\"", true);
    smt_ui_paint(ui);
    smt_ui_key(ui, ':');
    smt_ui_paint(ui);
    assert_true(smt_ui_showing(ui, "cmdline"));
    assert_true(screen_has(":save-filter NAME [FILTER]"));
    smt_ui_key(ui, SMT_KEY_ESC);
    assert_false(smt_ui_showing(ui, "cmdline"));
    assert_int_equal(ui->app.prompt.kind, SMT_PROMPT_NONE);

    command(ui, "sort $Country desc");
    assert_string_equal(smt_view_sort_key(ui->app.view), "$Country");
    assert_true(smt_view_sort_descending(ui->app.view));
    command(ui, "sort $State");
    assert_string_equal(smt_view_sort_key(ui->app.view), SMT_COL_STATE);
    command(ui, "filter $Country is 'DE'");
    smt_ui_paint(ui);
    assert_int_equal(smt_view_count(ui->app.view), 2);
    command(ui, "filter $Country is");
    assert_string_equal(smt_view_filter_text(ui->app.view), "$Country is 'DE'"); /* kept */
    command(ui, "save-filter de");
    command(ui, "save-filter gold Tier is 'gold'");
    command(ui, "filter");
    assert_string_equal(smt_view_filter_text(ui->app.view), "");
    command(ui, "use gold");
    assert_string_equal(smt_view_filter_text(ui->app.view), "Tier is 'gold'");
    command(ui, "filter @de");
    assert_string_equal(smt_view_filter_text(ui->app.view), "$Country is 'DE'");
    command(ui, "use nope");
    assert_true(strstr(ui->app.message, "no filter named nope") != NULL);
    command(ui, "columns $SessionId,Tier $State");
    assert_int_equal(ui->app.ncols, 3);
    assert_string_equal(ui->app.cols[2].key, SMT_COL_STATE);
    command(ui, "columns +$Country -Tier");
    assert_int_equal(ui->app.ncols, 3);
    assert_string_equal(ui->app.cols[2].key, "$Country");
    command(ui, "gr $State"); /* a unique prefix */
    assert_true(smt_ui_showing(ui, "group"));
    assert_string_equal(smt_group_key(smt_ui_pane_state(ui, "group")), "$State");
    /* :close FILTER opens the close pane on that filter (its preview and confirmation). */
    command(ui, "close Tier is 'gold'");
    assert_true(smt_ui_showing(ui, "close"));
    smt_ui_key(ui, SMT_KEY_ESC); /* nothing is sent */
    assert_false(smt_ui_showing(ui, "close"));
    command(ui, "theme no-such-theme");
    assert_int_equal(ui->app.message_level, SMT_LOGL_WARN);
    command(ui, "frobnicate");
    assert_true(strstr(ui->app.message, "unknown command: frobnicate") != NULL);

    /* export: the view's rows in its order */
    command(ui, "filter");
    command(ui, "sort $SessionId");
    command(ui, "columns $SessionId Tier");
    smt_ui_paint(ui);
    char path[400], line[500];
    snprintf(path, sizeof path, "%s/view.csv", tmpdir);
    snprintf(line, sizeof line, "export %s", path);
    command(ui, line);
    assert_string_equal(slurp(path), "$SessionId,Tier\r\na,gold\r\nb,silver\r\nc,\"gold,\"\"x\"\"\"\r\n");
    snprintf(path, sizeof path, "%s/view.ndjson", tmpdir);
    snprintf(line, sizeof line, "export %s", path);
    command(ui, line);
    char *nd = slurp(path);
    assert_non_null(strstr(nd, "{\"$SessionId\":\"a\",\"$State\":\"ACTIVE\",\"$Country\":\"FR\""));
    assert_non_null(strstr(nd, "\"Tier\":\"gold,\\\"x\\\"\"}\n"));
    smt_ui_free(ui);

    /* persisted: the named filters and the history survive a restart */
    char fpath[400];
    snprintf(fpath, sizeof fpath, "%s/config/sessmon/filters", tmpdir);
    assert_string_equal(slurp(fpath), "de\t$Country is 'DE'\ngold\tTier is 'gold'\n");
    snprintf(fpath, sizeof fpath, "%s/state/sessmon/history", tmpdir);
    assert_non_null(strstr(slurp(fpath), "sort $Country desc\n"));
    ui = make_ui(false);
    smt_ui_key(ui, ':');
    smt_ui_key(ui, SMT_KEY_FN(KEY_UP));
    assert_string_equal(ui->app.prompt.line.buf, line); /* the last command */
    smt_ui_key(ui, SMT_KEY_FN(KEY_DOWN));
    assert_string_equal(ui->app.prompt.line.buf, "");
    smt_ui_key(ui, SMT_KEY_ESC);
    command(ui, "use de");
    assert_string_equal(smt_view_filter_text(ui->app.view), "$Country is 'DE'");
    smt_ui_free(ui);
}

static void test_completion(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(false);
    open_session(ui, "a", "FR", "gold", true);
    smt_ui_key(ui, ':');
    type(ui, "gr");
    smt_ui_key(ui, '\t');
    assert_string_equal(ui->app.prompt.line.buf, "group ");
    type(ui, "$Co");
    smt_ui_key(ui, '\t');
    assert_string_equal(ui->app.prompt.line.buf, "group $Country");
    smt_ui_key(ui, SMT_KEY_ESC);
    smt_ui_key(ui, ':');
    type(ui, "s");
    smt_ui_key(ui, '\t'); /* sort, save-filter: several choices, listed */
    assert_string_equal(ui->app.prompt.line.buf, "s");
    smt_ui_paint(ui);
    assert_true(screen_has("Tab: (sort save-filter) :"));
    type(ui, "ort $State d");
    smt_ui_key(ui, '\t');
    assert_string_equal(ui->app.prompt.line.buf, "sort $State desc");
    smt_ui_key(ui, SMT_KEY_ESC);
    smt_ui_key(ui, ':');
    type(ui, "columns +Ti");
    smt_ui_key(ui, '\t');
    assert_string_equal(ui->app.prompt.line.buf, "columns +Tier");
    smt_ui_key(ui, SMT_KEY_ESC);
    smt_ui_key(ui, ':');
    type(ui, "theme def");
    smt_ui_key(ui, '\t');
    assert_string_equal(ui->app.prompt.line.buf, "theme default");
    smt_ui_key(ui, SMT_KEY_ESC);
    smt_ui_free(ui);
}

static void test_read_only_refuses_close_command(void **state)
{
    (void)state;
    smt_ui *ui = make_ui(true);
    open_session(ui, "a", "FR", "gold", true);
    command(ui, "close Tier is 'gold'");
    assert_true(strstr(ui->app.message, "read-only") != NULL);
    command(ui, "sort Tier"); /* looking is still allowed */
    assert_string_equal(smt_view_sort_key(ui->app.view), "Tier");
    smt_ui_free(ui);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_ring_is_bounded_and_carries_the_gauge),
        cmocka_unit_test(test_history_pane_records_events),
        cmocka_unit_test(test_group_counts_follow_every_event),
        cmocka_unit_test(test_group_incremental_equals_recount),
        cmocka_unit_test(test_group_sorts_and_drills_down),
        cmocka_unit_test(test_group_many_values_sorts_the_lines_shown),
        cmocka_unit_test(test_log_explains_filters_jumps_and_saves),
        cmocka_unit_test(test_ndjson_strings_are_escaped),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_read_only_refuses_close_command),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
