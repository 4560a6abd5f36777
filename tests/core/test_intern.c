/* Unit tests of the reference-counted string pool shared by the server and the monitor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/intern.h"

static void test_intern_pool(void **state)
{
    (void)state;
    sm_intern *p = sm_intern_new();
    assert_non_null(p);
    const char *a = sm_intern_cstr(p, "FR");
    const char *b = sm_intern_str(p, "FRANCE", 2);
    assert_ptr_equal(a, b);
    assert_int_equal(sm_intern_len(a), 2);
    assert_int_equal(sm_intern_count(p), 1);
    for (int i = 0; i < 5000; i++) { /* forces the table to grow */
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_non_null(sm_intern_cstr(p, k));
    }
    assert_int_equal(sm_intern_count(p), 5001);
    assert_ptr_equal(sm_intern_cstr(p, "FR"), a);
    sm_intern_unref(p, a);
    sm_intern_unref(p, a);
    assert_int_equal(sm_intern_count(p), 5001);
    sm_intern_unref(p, a);
    assert_int_equal(sm_intern_count(p), 5000);
    sm_intern_free(p);
}

static void test_intern_bytes_and_empty(void **state)
{
    (void)state;
    sm_intern *p = sm_intern_new();
    assert_non_null(p);
    assert_int_equal(sm_intern_bytes(p), 0);
    const char *e = sm_intern_str(p, "", 0);
    assert_non_null(e);
    assert_string_equal(e, "");
    assert_int_equal(sm_intern_len(e), 0);
    const char *v = sm_intern_cstr(p, "value");
    assert_true(sm_intern_bytes(p) >= 1 + 6);
    assert_ptr_equal(sm_intern_ref(v), v);
    sm_intern_unref(p, v);
    assert_int_equal(sm_intern_count(p), 2);
    sm_intern_unref(p, v);
    sm_intern_unref(p, e);
    assert_int_equal(sm_intern_count(p), 0);
    assert_int_equal(sm_intern_bytes(p), 0);
    assert_null(sm_intern_cstr(p, NULL));
    sm_intern_unref(p, NULL);
    sm_intern_free(p);
    sm_intern_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_pool),
        cmocka_unit_test(test_intern_bytes_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
