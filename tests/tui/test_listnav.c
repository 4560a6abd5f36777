/* Unit tests of the list widget (tui/listnav.c): its edge cases, which every list of the monitor shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tui/listnav.h"

static void test_empty_list(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 0, 10);
    for (int a = SMT_ACT_UP; a <= SMT_ACT_END; a++) {
        assert_true(smt_list_action(&l, (smt_action)a));
        assert_int_equal(l.cursor, 0);
        assert_int_equal(l.top, 0);
    }
    size_t item = 99;
    assert_false(smt_list_item_at_row(&l, 0, &item));
    assert_int_equal(item, 99);
    assert_int_equal(smt_list_end(&l), 0);
    assert_false(smt_list_action(&l, SMT_ACT_QUIT)); /* not a navigation key */
}

static void test_one_row(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 5, 1); /* a screen with room for one line */
    assert_int_equal(smt_list_page(&l), 1);
    smt_list_action(&l, SMT_ACT_DOWN);
    assert_int_equal(l.cursor, 1);
    assert_int_equal(l.top, 1);
    smt_list_action(&l, SMT_ACT_END);
    assert_int_equal(l.cursor, 4);
    assert_int_equal(l.top, 4);
    smt_list_action(&l, SMT_ACT_PGUP);
    assert_int_equal(l.cursor, 3);
    assert_int_equal(l.top, 3);
    /* zero or negative rows count as one */
    smt_list_resize(&l, 5, 0);
    assert_int_equal(l.rows, 1);
    assert_int_equal(l.top, 3);
}

static void test_paging_and_clicks(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 100, 10);
    smt_list_action(&l, SMT_ACT_PGDN);
    assert_int_equal(l.cursor, 10);
    assert_int_equal(l.top, 1);
    smt_list_action(&l, SMT_ACT_END);
    assert_int_equal(l.cursor, 99);
    assert_int_equal(l.top, 90);
    smt_list_action(&l, SMT_ACT_PGDN); /* stays at the end */
    assert_int_equal(l.cursor, 99);
    smt_list_action(&l, SMT_ACT_HOME);
    assert_int_equal(l.cursor, 0);
    assert_int_equal(l.top, 0);
    smt_list_move(&l, -5); /* clamped, not wrapped */
    assert_int_equal(l.cursor, 0);
    smt_list_move(&l, 1L << 40);
    assert_int_equal(l.cursor, 99);
    size_t item;
    assert_true(smt_list_item_at_row(&l, 0, &item));
    assert_int_equal(item, 90);
    assert_true(smt_list_item_at_row(&l, 9, &item));
    assert_int_equal(item, 99);
    assert_false(smt_list_item_at_row(&l, 10, &item));
    assert_false(smt_list_item_at_row(&l, -1, &item));
}

static void test_resize_while_scrolled(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 50, 10);
    smt_list_select(&l, 45);
    assert_int_equal(l.top, 36);
    /* a taller screen: no blank lines at the end while items above could fill them */
    smt_list_resize(&l, 50, 30);
    assert_int_equal(l.top, 20);
    assert_int_equal(l.cursor, 45);
    /* a shorter one: the cursor stays visible */
    smt_list_resize(&l, 50, 3);
    assert_int_equal(l.cursor, 45);
    assert_true(l.top <= 45 && 45 < l.top + 3);
}

static void test_shrinking_under_the_cursor(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 20, 5);
    smt_list_select(&l, 19);
    smt_list_resize(&l, 12, 5); /* items after the cursor left and the cursor's with them */
    assert_int_equal(l.cursor, 11);
    assert_int_equal(l.top, 7);
    smt_list_resize(&l, 0, 5);
    assert_int_equal(l.cursor, 0);
    assert_int_equal(l.top, 0);
    smt_list_resize(&l, 3, 5);
    assert_int_equal(l.cursor, 0);
    assert_int_equal(smt_list_end(&l), 3);
}

static void test_place_keeps_the_line(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, false);
    smt_list_resize(&l, 100, 10);
    smt_list_place(&l, 50, 4);
    assert_int_equal(l.top, 46);
    smt_list_place(&l, 2, 4); /* not enough items above: as close as the list allows */
    assert_int_equal(l.top, 0);
    smt_list_place(&l, 98, 2); /* nor below */
    assert_int_equal(l.top, 90);
    smt_list_place(&l, 60, 40); /* an offset past the screen still shows the cursor */
    assert_int_equal(l.top, 51);
}

static void test_viewport(void **state)
{
    (void)state;
    smt_list l;
    smt_list_init(&l, true);
    smt_list_resize(&l, 30, 10);
    smt_list_action(&l, SMT_ACT_DOWN);
    assert_int_equal(l.top, 1);
    smt_list_action(&l, SMT_ACT_END);
    assert_int_equal(l.top, 20);
    for (int i = 0; i < 5; i++) /* scrolling has an upper bound */
        smt_list_action(&l, SMT_ACT_DOWN);
    assert_int_equal(l.top, 20);
    smt_list_action(&l, SMT_ACT_PGDN);
    assert_int_equal(l.top, 20);
    smt_list_action(&l, SMT_ACT_PGUP);
    assert_int_equal(l.top, 10);
    smt_list_resize(&l, 5, 10); /* the text got shorter than the screen */
    assert_int_equal(l.top, 0);
    smt_list_action(&l, SMT_ACT_DOWN);
    assert_int_equal(l.top, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_list),          cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_paging_and_clicks),   cmocka_unit_test(test_resize_while_scrolled),
        cmocka_unit_test(test_shrinking_under_the_cursor), cmocka_unit_test(test_place_keeps_the_line),
        cmocka_unit_test(test_viewport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
