/* Unit tests of tui/bulk_eval: the bulk update's local count, per-entry changes and preview. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "events.h"
#include "tui/bulk_eval.h"

static void open_session(smt_model *m, const char *id, const char *dept, const char *tier)
{
    sm_property props[] = {{"Dept", dept}, {"Tier", tier}, {NULL, NULL}};
    if (!tier)
        props[1] = (sm_property){NULL, NULL};
    smt_event ev = test_event(SMT_EVENT_OPEN, id, SM_REMOTE_ACTIVE, props, NULL, true);
    assert_int_equal(smt_model_apply(m, &ev, 1000, NULL), SM_OK);
}

static sm_filter *parse(const char *text)
{
    sm_filter *f = NULL;
    sm_error err;
    assert_int_equal(sm_filter_parse(text, strlen(text), &f, &err), SM_OK);
    return f;
}

static void test_counts_and_changes(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    smt_view *v = smt_view_new(m);
    open_session(m, "c", "Sales", "gold");
    open_session(m, "a", "Sales", NULL);
    open_session(m, "b", "Sales", "silver");
    open_session(m, "d", "Ops", "gold");
    smt_event closed = test_event(SMT_EVENT_CLOSED, "b", SM_REMOTE_CLOSED, NULL, NULL, false);
    assert_int_equal(smt_model_apply(m, &closed, 1000, NULL), SM_OK);
    sm_filter *f = parse("Dept is 'Sales'");
    smt_bulk_entry entries[2] = {{"Tier", "gold"}, {"Dept", NULL}};
    smt_bulk_count c = {0};
    smt_bulk_count_run(&c, m, v, f, entries, 2);
    assert_int_equal(c.matches, 2);  /* a and c: b closed, d is Ops */
    assert_int_equal(c.changes[0], 1); /* only a is not gold yet */
    assert_int_equal(c.changes[1], 2); /* both have a Dept to delete */
    assert_int_equal(c.changing, 2);
    assert_int_equal(c.hidden, 0);
    assert_int_equal(c.npreview, 2);
    assert_string_equal(c.preview[0], "a"); /* in ID order */
    assert_string_equal(c.preview[1], "c");
    /* a view filter that hides one of them */
    sm_error err;
    assert_int_equal(smt_view_set_filter(v, "Tier is 'gold'", &err), SM_OK);
    smt_bulk_count_run(&c, m, v, f, entries, 2);
    assert_int_equal(c.matches, 2);
    assert_int_equal(c.hidden, 1);
    /* no filter: nothing matches, and the previous preview is gone */
    smt_bulk_count_run(&c, m, v, NULL, entries, 2);
    assert_int_equal(c.matches, 0);
    assert_int_equal(c.npreview, 0);
    assert_null(c.preview);
    smt_bulk_count_clear(&c);
    sm_filter_free(f);
    smt_view_free(v);
    smt_model_free(m);
}

static void test_preview_keeps_the_first_ids(void **state)
{
    (void)state;
    smt_model *m = smt_model_new();
    smt_view *v = smt_view_new(m);
    char id[16];
    for (int i = SMT_BULK_PREVIEW + 50; i > 0; i--) { /* opened in reverse ID order */
        snprintf(id, sizeof id, "s%05d", i);
        open_session(m, id, "X", NULL);
    }
    sm_filter *f = parse("Dept is 'X'");
    smt_bulk_count c = {0};
    smt_bulk_count_run(&c, m, v, f, NULL, 0);
    assert_int_equal(c.matches, SMT_BULK_PREVIEW + 50);
    assert_int_equal(c.npreview, SMT_BULK_PREVIEW);
    assert_string_equal(c.preview[0], "s00001");
    assert_string_equal(c.preview[SMT_BULK_PREVIEW - 1], "s00200");
    assert_int_equal(c.changing, 0); /* an empty map changes nothing */
    smt_bulk_count_clear(&c);
    sm_filter_free(f);
    smt_view_free(v);
    smt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_changes),
        cmocka_unit_test(test_preview_keeps_the_first_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
