/* Unit tests of the line editor and the event log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tui/eventlog.h"
#include "tui/lineedit.h"

static void test_line_editing(void **state)
{
    (void)state;
    smt_line l;
    smt_line_init(&l, 0);
    assert_int_equal(smt_line_key(&l, 'a'), SMT_LINE_CHANGED);
    assert_int_equal(smt_line_key(&l, 0x65E5), SMT_LINE_CHANGED); /* a wide character */
    assert_int_equal(smt_line_key(&l, 'b'), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "a\u65e5b");
    assert_int_equal(smt_line_key(&l, SMT_LK_LEFT), SMT_LINE_MOVED);
    assert_int_equal(smt_line_key(&l, SMT_LK_BACKSPACE), SMT_LINE_CHANGED); /* removes all 3 bytes */
    assert_string_equal(l.buf, "ab");
    assert_int_equal(l.cur, 1);
    assert_int_equal(smt_line_key(&l, SMT_LK_HOME), SMT_LINE_MOVED);
    assert_int_equal(smt_line_key(&l, SMT_LK_DELETE), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "b");
    /* control characters, DEL, C1 and surrogates are refused */
    assert_int_equal(smt_line_key(&l, 0x1b), SMT_LINE_IGNORED);
    assert_int_equal(smt_line_key(&l, 0x7f), SMT_LINE_IGNORED);
    assert_int_equal(smt_line_key(&l, 0x9b), SMT_LINE_IGNORED);
    assert_int_equal(smt_line_key(&l, 0xD800), SMT_LINE_IGNORED);
    assert_string_equal(l.buf, "b");
    smt_line_set(&l, "one two  three");
    assert_int_equal(smt_line_key(&l, SMT_LK_KILL_WORD), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "one two  ");
    assert_int_equal(smt_line_key(&l, SMT_LK_KILL_WORD), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "one ");
    smt_line_key(&l, SMT_LK_HOME);
    smt_line_key(&l, SMT_LK_RIGHT);
    assert_int_equal(smt_line_key(&l, SMT_LK_KILL_END), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "o");
    smt_line_set(&l, "xyz");
    smt_line_key(&l, SMT_LK_LEFT);
    assert_int_equal(smt_line_key(&l, SMT_LK_KILL_LINE), SMT_LINE_CHANGED);
    assert_string_equal(l.buf, "z");
    assert_int_equal(l.cur, 0);
}

static void test_line_limits(void **state)
{
    (void)state;
    smt_line l;
    smt_line_init(&l, 4);
    for (int i = 0; i < 10; i++)
        smt_line_key(&l, 'x');
    assert_int_equal(l.len, 4);
    smt_line_set(&l, "ab\u00e9\u00e9"); /* 6 bytes: cut at a character boundary */
    assert_string_equal(l.buf, "ab\u00e9");
    assert_int_equal(smt_line_key(&l, 0x00e9), SMT_LINE_MOVED); /* full: swallowed */
    assert_string_equal(l.buf, "ab\u00e9");
    smt_line_set(&l, NULL);
    assert_int_equal(l.len, 0);
}

static void test_eventlog_ring_and_rate_limit(void **state)
{
    (void)state;
    smt_eventlog log;
    assert_int_equal(smt_eventlog_init(&log), 0);
    for (int i = 0; i < SMT_LOG_CAPACITY + 10; i++)
        smt_eventlog_add(&log, 1000, SMT_LOGL_INFO, "line %d", i);
    assert_int_equal(smt_eventlog_count(&log), SMT_LOG_CAPACITY);
    assert_string_equal(smt_eventlog_at(&log, 0)->text, "line 10");
    assert_null(smt_eventlog_at(&log, SMT_LOG_CAPACITY));
    smt_eventlog_free(&log);

    assert_int_equal(smt_eventlog_init(&log), 0);
    for (int i = 0; i < 100; i++)
        smt_eventlog_session(&log, 5000 + i, "session %d opened", i);
    assert_int_equal(smt_eventlog_count(&log), SMT_LOG_SESSION_EVENTS_PER_SECOND);
    smt_eventlog_session(&log, 6000, "next second");
    const smt_log_entry *e = smt_eventlog_at(&log, SMT_LOG_SESSION_EVENTS_PER_SECOND);
    assert_non_null(strstr(e->text, "80 more session events"));
    assert_string_equal(smt_eventlog_at(&log, SMT_LOG_SESSION_EVENTS_PER_SECOND + 1)->text, "next second");
    /* a long line is cut on a character boundary */
    char big[600];
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\u00e9", 2);
    big[sizeof big - 1] = '\0';
    smt_eventlog_add(&log, 7000, SMT_LOGL_WARN, "x%s", big);
    e = smt_eventlog_at(&log, smt_eventlog_count(&log) - 1);
    size_t n = strlen(e->text);
    assert_true(n < SMT_LOG_LINE_MAX);
    assert_true(((unsigned char)e->text[n - 1] & 0xC0) == 0x80); /* ends with a whole character */
    smt_eventlog_free(&log);
}

/* Session lines have their own ring: a flood of them never pushes an edit or a connection
 * change out of the log; readers get both merged in order. */
static void test_eventlog_session_lines_kept_apart(void **state)
{
    (void)state;
    smt_eventlog log;
    assert_int_equal(smt_eventlog_init(&log), 0);
    smt_eventlog_add(&log, 1000, SMT_LOGL_INFO, "edit of s1: Tier: 'gold' -> 'silver'");
    srand(7);
    int general = 1;
    for (int i = 0; i < 20000; i++) {
        int64_t t = 2000 + i * 60; /* about 17 a second: all kept */
        if (rand() % 50 == 0) {
            smt_eventlog_add(&log, t, SMT_LOGL_WARN, "general %d", general++);
        } else {
            smt_eventlog_session(&log, t, "session %d opened", i);
        }
    }
    /* the first general line survived 20000 session lines */
    const smt_log_entry *e = smt_eventlog_at_filtered(&log, false, 0);
    assert_non_null(e);
    assert_non_null(strstr(e->text, "edit of s1"));
    assert_int_equal(smt_eventlog_count_filtered(&log, false), (size_t)general);
    assert_int_equal(smt_eventlog_count(&log), (size_t)general + SMT_LOG_CAPACITY);
    /* merged: strictly in the order added */
    uint64_t last = 0;
    size_t sessions = 0;
    for (size_t i = 0; i < smt_eventlog_count(&log); i++) {
        e = smt_eventlog_at(&log, i);
        assert_non_null(e);
        if (i > 0)
            assert_true(e->seq > last);
        last = e->seq;
        sessions += e->session;
    }
    assert_int_equal(sessions, SMT_LOG_CAPACITY);
    assert_null(smt_eventlog_at(&log, smt_eventlog_count(&log)));
    assert_null(smt_eventlog_at_filtered(&log, false, (size_t)general));
    smt_eventlog_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_editing),
        cmocka_unit_test(test_line_limits),
        cmocka_unit_test(test_eventlog_ring_and_rate_limit),
        cmocka_unit_test(test_eventlog_session_lines_kept_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
