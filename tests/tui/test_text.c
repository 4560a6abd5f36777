/* Unit tests of tui/text: escaping untrusted text, display width, fitting into columns, search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "tui/text.h"

static void fit(const char *s, int cols, bool pad, wchar_t *out, int *used, bool *trunc)
{
    *used = smt_text_fit(s, strlen(s), cols, pad, out, SMT_TEXT_CAP(cols), trunc);
}

static void test_escape_controls(void **state)
{
    (void)state;
    char out[128];
    smt_text_escape("a\x1b[2Jb", 6, out, sizeof out);
    assert_string_equal(out, "a\u241b[2Jb");
    smt_text_escape("\x7f", 1, out, sizeof out);
    assert_string_equal(out, "\u2421");
    smt_text_escape("x\xc2\x9b" "31m", 6, out, sizeof out); /* U+009B CSI */
    assert_string_equal(out, "x\ufffd31m");
    smt_text_escape("\xff\xfe", 2, out, sizeof out);
    assert_string_equal(out, "\ufffd\ufffd");
    smt_text_escape("ab\0cd", 5, out, sizeof out);
    assert_string_equal(out, "ab\u2400cd");
    smt_text_escape("l\u202eevil", strlen("l\u202eevil"), out, sizeof out); /* bidi override */
    assert_string_equal(out, "l\ufffdevil");
    smt_text_escape("a\u200bb", strlen("a\u200bb"), out, sizeof out); /* zero width space */
    assert_string_equal(out, "a\ufffdb");
    smt_text_escape("tab\there\n", 9, out, sizeof out);
    assert_string_equal(out, "tab\u2409here\u240a");
    /* never splits a character when the output is short */
    smt_text_escape("\u65e5\u672c", 6, out, 5);
    assert_string_equal(out, "\u65e5");
    assert_int_equal(smt_text_safe_codepoint('A'), 'A');
    assert_int_equal(smt_text_safe_codepoint(0x9B), 0xFFFD);
    /* Every format character (and the line separators) is hidden: one list for monitor and CLI. */
    static const uint32_t hidden[] = {0x00AD, 0x061C, 0x180E, 0x200B, 0x200D, 0x200E, 0x2028, 0x2029, 0x202E,
                                      0x2060, 0x2066, 0x2069, 0x206F, 0xFEFF, 0xFFF9, 0xE0001, 0xE0041};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
        assert_true(smt_text_is_hidden(hidden[i]));
        assert_int_equal(smt_text_safe_codepoint(hidden[i]), 0xFFFD);
    }
    assert_false(smt_text_is_hidden(0x00A0)); /* visible as a space */
    assert_false(smt_text_is_hidden(0x00E9));
    assert_int_equal(smt_text_safe_codepoint(0x00E9), 0x00E9);
    smt_text_escape("a\u00adb\ufeffc", strlen("a\u00adb\ufeffc"), out, sizeof out);
    assert_string_equal(out, "a\ufffdb\ufffdc");
}

static void test_width(void **state)
{
    (void)state;
    assert_int_equal(smt_text_width("abc", 3), 3);
    assert_int_equal(smt_text_width("\u65e5\u672c", strlen("\u65e5\u672c")), 4);
    assert_int_equal(smt_text_width("e\u0301", strlen("e\u0301")), 1);
    assert_int_equal(smt_text_width("\u0301x", strlen("\u0301x")), 2); /* orphan mark on a dotted circle */
    assert_int_equal(smt_text_width("\x1b", 1), 1);
    assert_int_equal(smt_text_width("\xff", 1), 1);
    assert_int_equal(smt_text_width("", 0), 0);
}

static void test_fit_truncates_with_ellipsis(void **state)
{
    (void)state;
    wchar_t out[SMT_TEXT_CAP(20)];
    int used;
    bool trunc;
    fit("hello world", 5, false, out, &used, &trunc);
    assert_true(wcscmp(out, L"hell\u2026") == 0);
    assert_int_equal(used, 5);
    assert_true(trunc);
    fit("abc", 3, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"abc") == 0);
    assert_false(trunc);
    fit("abc", 6, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"abc   ") == 0);
    assert_int_equal(used, 6);
    fit("abc", 1, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"\u2026") == 0);
    fit("abc", 0, true, out, &used, &trunc);
    assert_int_equal(used, 0);
    assert_true(wcscmp(out, L"") == 0);
}

static void test_fit_wide_and_combining(void **state)
{
    (void)state;
    wchar_t out[SMT_TEXT_CAP(20)];
    int used;
    bool trunc;
    /* a wide character never straddles the edge: pad the hole instead */
    fit("\u65e5\u672c\u8a9e", 4, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"\u65e5\u2026 ") == 0);
    assert_int_equal(used, 4);
    fit("\u65e5\u672c\u8a9e", 5, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"\u65e5\u672c\u2026") == 0);
    fit("\u65e5\u672c\u8a9e", 6, true, out, &used, &trunc);
    assert_true(wcscmp(out, L"\u65e5\u672c\u8a9e") == 0);
    assert_false(trunc);
    /* combining marks stay with their base */
    fit("e\u0301e\u0301e\u0301", 2, false, out, &used, &trunc);
    assert_true(wcscmp(out, L"e\u0301\u2026") == 0);
    assert_int_equal(used, 2);
    /* a control character inside a value is shown, not executed */
    fit("a\x1b]0;x\x07", 10, false, out, &used, &trunc);
    assert_true(wcscmp(out, L"a\u241b]0;x\u2407") == 0);
    /* zalgo: at most 4 marks per base */
    fit("a\u0301\u0302\u0303\u0304\u0305\u0306", 3, false, out, &used, &trunc);
    assert_int_equal(wcslen(out), 5);
    assert_int_equal(used, 1);
}

static void test_search_and_navigation(void **state)
{
    (void)state;
    assert_true(smt_text_contains_ci("Accounts", 8, "COUNT", 5));
    assert_true(smt_text_contains_ci("Accounts", 8, "", 0));
    assert_false(smt_text_contains_ci("Acc", 3, "Accounts", 8));
    assert_false(smt_text_contains_ci("Payroll", 7, "acc", 3));
    const char *s = "a\u65e5b";
    assert_int_equal(smt_text_next_char(s, strlen(s), 1), 4);
    assert_int_equal(smt_text_prev_char(s, 4), 1);
    assert_int_equal(smt_text_prev_char(s, 0), 0);
    char buf[64];
    assert_true(smt_text_format_time(0, false, buf, sizeof buf));
    assert_int_equal(strlen(buf), 19);
    assert_true(smt_text_format_time(1700000000000LL, true, buf, sizeof buf));
    assert_int_equal(strlen(buf), 8);
    assert_false(smt_text_format_time(-5, true, buf, sizeof buf));
}

static void test_trim(void **state)
{
    (void)state;
    char a[] = " \t theme = dark \t\r";
    assert_string_equal(smt_text_trim(a), "theme = dark");
    char b[] = " \t\r";
    assert_string_equal(smt_text_trim(b), "");
    char c[] = "x\ry"; /* only a CR at the end is cut */
    assert_string_equal(smt_text_trim(c), "x\ry");
    char d[] = "\rz"; /* a leading CR is not blank */
    assert_string_equal(smt_text_trim(d), "\rz");
}

static void test_wrap(void **state)
{
    (void)state;
    const char *s = "one two three four";
    size_t len = strlen(s);
    /* at the last space that fits; the next line starts after it */
    assert_int_equal(smt_text_wrap(s, len, 0, 9), 7); /* "one two" */
    assert_int_equal(smt_text_wrap(s, len, 8, 9), 13); /* "three" */
    assert_int_equal(smt_text_wrap(s, len, 14, 9), len); /* "four" */
    assert_int_equal(smt_text_wrap_count(s, len, 9, 64), 3);
    assert_int_equal(smt_text_wrap_count(s, len, 80, 64), 1);
    /* no space: cut at the last character that fits, never inside one */
    const char *cjk = "\u65e5\u672c\u8a9e\u65e5\u672c"; /* five 2-column characters */
    assert_int_equal(smt_text_wrap(cjk, strlen(cjk), 0, 5), 6); /* two characters = 4 columns */
    /* a character wider than the line still advances */
    assert_int_equal(smt_text_wrap(cjk, strlen(cjk), 0, 1), 3);
    /* a combining mark stays with its base */
    const char *comb = "abe\u0301cd";
    assert_int_equal(smt_text_wrap(comb, strlen(comb), 0, 3), 5);
    /* control characters count as their visible symbols */
    assert_int_equal(smt_text_wrap("\x1b\x1b\x1b", 3, 0, 2), 2);
    assert_int_equal(smt_text_wrap_count("", 0, 10, 64), 0);
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_controls),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_fit_truncates_with_ellipsis),
        cmocka_unit_test(test_fit_wide_and_combining),
        cmocka_unit_test(test_search_and_navigation),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_trim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
