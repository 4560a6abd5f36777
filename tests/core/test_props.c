/* Unit tests of property sets, key/value validation, fixed-value normalisation, roles and UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/props.h"
#include "core/roles.h"
#include "core/unicode.h"
#include "core/utf8.h"

static void test_props_set_get_replace_remove(void **state)
{
    (void)state;
    sm_props p;
    sm_props_init(&p);
    assert_int_equal(sm_props_set(&p, "b", "2"), SM_OK);
    assert_int_equal(sm_props_set(&p, "a", "1"), SM_OK);
    assert_int_equal(sm_props_set(&p, "c", NULL), SM_OK);
    assert_int_equal(p.count, 3);
    assert_string_equal(p.items[0].key, "a");
    assert_string_equal(p.items[1].key, "b");
    assert_string_equal(sm_props_get(&p, "b"), "2");
    assert_null(sm_props_get(&p, "c"));
    assert_non_null(sm_props_find(&p, "c"));
    assert_null(sm_props_find(&p, "zz"));
    assert_int_equal(sm_props_set(&p, "b", "22"), SM_OK);
    assert_int_equal(p.count, 3);
    assert_string_equal(sm_props_get(&p, "b"), "22");
    assert_true(sm_props_remove(&p, "a"));
    assert_false(sm_props_remove(&p, "a"));
    assert_int_equal(p.count, 2);
    sm_props copy;
    assert_int_equal(sm_props_copy(&copy, &p), SM_OK);
    assert_string_equal(sm_props_get(&copy, "b"), "22");
    assert_string_equal(sm_props_lookup(&copy, "b"), "22");
    sm_props_free(&copy);
    sm_props_free(&p);
    assert_int_equal(p.count, 0);
}

static void test_props_many_keys_stay_sorted(void **state)
{
    (void)state;
    sm_props p;
    sm_props_init(&p);
    char key[16];
    for (int i = 99; i >= 0; i--) {
        snprintf(key, sizeof key, "k%03d", i);
        assert_int_equal(sm_props_set(&p, key, key), SM_OK);
    }
    assert_int_equal(p.count, 100);
    for (size_t i = 1; i < p.count; i++)
        assert_true(strcmp(p.items[i - 1].key, p.items[i].key) < 0);
    assert_string_equal(sm_props_get(&p, "k042"), "k042");
    sm_props_free(&p);
}

/* The encoder the key tests build their keys with: every length boundary decodes back. */
static void test_utf8_encode_round_trip(void **state)
{
    (void)state;
    const uint32_t cps[] = {0x01, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
    const size_t lens[] = {1, 1, 2, 2, 3, 3, 4, 4};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char buf[4];
        size_t n = sm_utf8_encode(cps[i], buf);
        assert_int_equal(n, lens[i]);
        uint32_t back = 0;
        assert_int_equal(sm_utf8_decode(buf, n, &back), n);
        assert_int_equal(back, cps[i]);
    }
}

static void test_user_key_validation(void **state)
{
    (void)state;
    sm_error err;
    const char *good[] = {"Department", "a", "x.y-z_1", "Région", "key:with:colons", "$$"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int rc = sm_validate_user_key(good[i], strlen(good[i]), &err);
        if (i == 5)
            assert_int_equal(rc, SM_ERR_INVALID); /* starts with '$' */
        else
            assert_int_equal(rc, SM_OK);
    }
    const char *bad[] = {"", "has space", "tab\there", "q\"uote", "q'uote", "(p", "p)", "[b", "b]",
                         "{c", "c}", "a,b", "$Country", "nl\n", "ctl\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_error_clear(&err);
        assert_int_equal(sm_validate_user_key(bad[i], strlen(bad[i]), &err), SM_ERR_INVALID);
        assert_true(strlen(err.message) > 0);
    }
    char longkey[SM_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey);
    assert_int_equal(sm_validate_user_key(longkey, SM_KEY_MAX, &err), SM_OK);
    assert_int_equal(sm_validate_user_key(longkey, SM_KEY_MAX + 1, &err), SM_ERR_INVALID);
    assert_int_equal(sm_validate_user_key("\xff\xfe", 2, &err), SM_ERR_INVALID);
}

/* Keys must be visible and unambiguous: no Unicode whitespace, C0/C1 controls, format characters
 * (zero-width, soft hyphen, BOM, tags ...) or bidi controls (docs/filters.md § User property keys). */
static void test_user_key_rejects_invisible_unicode(void **state)
{
    (void)state;
    static const uint32_t forbidden[] = {
        /* White_Space */
        0x0085, 0x00A0, 0x1680, 0x2000, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        /* C1 controls (CSI among them) */
        0x0080, 0x009B, 0x009F,
        /* Cf: soft hyphen, Arabic/Syriac marks, zero-width and joiners, word joiner, BOM, ... */
        0x00AD, 0x0600, 0x0605, 0x06DD, 0x070F, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0x2064, 0x206A,
        0xFEFF, 0xFFF9, 0xFFFB, 0x110BD, 0x1BCA0, 0x1D173, 0xE0001, 0xE0041, 0xE007F,
        /* bidi controls */
        0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
    };
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        char key[16] = "ab";
        size_t n = sm_utf8_encode(forbidden[i], key + 2);
        memcpy(key + 2 + n, "cd", 3);
        sm_error err;
        sm_error_clear(&err);
        if (sm_validate_user_key(key, strlen(key), &err) != SM_ERR_INVALID)
            fail_msg("U+%04X was accepted in a key", (unsigned)forbidden[i]);
        char want[16];
        snprintf(want, sizeof want, "U+%04X", (unsigned)forbidden[i]);
        assert_non_null(strstr(err.message, want));
        assert_non_null(strstr(err.message, "at byte 3"));
    }
    /* Visible non-ASCII stays allowed, including neighbours of the forbidden ranges. */
    static const uint32_t allowed[] = {0x00A1, 0x00AC, 0x00AE, 0x0606, 0x1681, 0x2010, 0x2030,
                                       0x2065, 0x2070, 0x3001, 0xFEFE, 0xFFFC, 0x1F600, 0xE0080};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        char key[16] = "ab";
        size_t n = sm_utf8_encode(allowed[i], key + 2);
        key[2 + n] = '\0';
        sm_error err;
        if (sm_validate_user_key(key, strlen(key), &err) != SM_OK)
            fail_msg("U+%04X was refused in a key: %s", (unsigned)allowed[i], err.message);
    }
    sm_error err;
    assert_int_equal(sm_validate_user_key("Région", strlen("Région"), &err), SM_OK);
    assert_int_equal(sm_validate_user_key("日本語キー", strlen("日本語キー"), &err), SM_OK);
}

static void test_unicode_classes(void **state)
{
    (void)state;
    assert_true(sm_unicode_is_white_space(' '));
    assert_true(sm_unicode_is_white_space('\t'));
    assert_false(sm_unicode_is_white_space(0x200B)); /* zero-width space is Cf, not White_Space */
    assert_true(sm_unicode_is_format(0x200B));
    assert_true(sm_unicode_is_control(0));
    assert_true(sm_unicode_is_control(0x7F));
    assert_true(sm_unicode_is_control(0x9B));
    assert_false(sm_unicode_is_control(0xA0));
    assert_true(sm_unicode_is_bidi_control(0x202E));
    assert_true(sm_unicode_is_format(0x202E));
    assert_false(sm_unicode_is_bidi_control(0x200B));
    assert_false(sm_unicode_is_format('a'));
    assert_false(sm_unicode_is_format(0x10FFFF));
}

static void test_value_validation(void **state)
{
    (void)state;
    sm_error err;
    assert_int_equal(sm_validate_value("", 0, &err), SM_OK);
    assert_int_equal(sm_validate_value("héllo wörld ✓", strlen("héllo wörld ✓"), &err), SM_OK);
    assert_int_equal(sm_validate_value("a\0b", 3, &err), SM_ERR_INVALID);
    assert_int_equal(sm_validate_value("\xc3\x28", 2, &err), SM_ERR_INVALID);     /* bad continuation */
    assert_int_equal(sm_validate_value("\xc0\xaf", 2, &err), SM_ERR_INVALID);     /* overlong */
    assert_int_equal(sm_validate_value("\xed\xa0\x80", 3, &err), SM_ERR_INVALID); /* surrogate */
    assert_int_equal(sm_validate_value("\xf4\x90\x80\x80", 4, &err), SM_ERR_INVALID); /* > U+10FFFF */
    assert_int_equal(sm_validate_value("\xe2\x82", 2, &err), SM_ERR_INVALID);     /* truncated */
    assert_int_equal(sm_validate_value(NULL, 0, &err), SM_ERR_INVALID);
    char *big = malloc(SM_VALUE_MAX + 1);
    memset(big, 'v', SM_VALUE_MAX + 1);
    assert_int_equal(sm_validate_value(big, SM_VALUE_MAX, &err), SM_OK);
    assert_int_equal(sm_validate_value(big, SM_VALUE_MAX + 1, &err), SM_ERR_INVALID);
    free(big);
}

static void test_fixed_keys(void **state)
{
    (void)state;
    assert_int_equal(sm_fixed_property_count, 14);
    assert_true(sm_key_is_known_fixed("$SessionId"));
    assert_true(sm_key_is_known_fixed("$Environment"));
    assert_false(sm_key_is_known_fixed("$Version"));
    assert_true(sm_key_is_fixed("$Version"));
    assert_false(sm_key_is_fixed("Version"));
    assert_true(sm_key_is_settable_fixed("$Country"));
    assert_true(sm_key_is_settable_fixed("$Longitude"));
    assert_false(sm_key_is_settable_fixed("$Principal"));
    assert_false(sm_key_is_settable_fixed("$Roles"));
}

static void test_normalise_fixed_values(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(sm_normalise_fixed_value("$Country", "fr", out, sizeof out), SM_OK);
    assert_string_equal(out, "FR");
    assert_int_equal(sm_normalise_fixed_value("$Language", "EN", out, sizeof out), SM_OK);
    assert_string_equal(out, "en");
    assert_int_equal(sm_normalise_fixed_value("$Latitude", "48.85", out, sizeof out), SM_OK);
    assert_string_equal(out, "48.85");
    assert_int_equal(sm_normalise_fixed_value("$Longitude", "-2.5e1", out, sizeof out), SM_OK);
    assert_string_equal(out, "-2.5e1");
    const char *not_numbers[] = {"north", "", " 1", "1 ", "inf", "nan", "0x10", "1e999"};
    for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++) {
        assert_int_equal(sm_normalise_fixed_value("$Latitude", not_numbers[i], out, sizeof out), SM_OK);
        assert_string_equal(out, "NaN");
    }
    assert_int_equal(sm_normalise_fixed_value("Other", "MiXed", out, sizeof out), SM_OK);
    assert_string_equal(out, "MiXed");
    assert_int_equal(sm_normalise_fixed_value("$Country", "toolong", out, 4), SM_ERR_LIMIT);
}

static void test_roles_parse_and_format(void **state)
{
    (void)state;
    sm_roles r;
    sm_error err;
    const char *text = "\"operator\",\"trading desk\"";
    assert_int_equal(sm_roles_parse(text, strlen(text), &r, &err), SM_OK);
    assert_int_equal(r.count, 2);
    assert_true(sm_roles_contains(&r, "trading desk"));
    char *s = sm_roles_format(&r);
    assert_string_equal(s, text);
    free(s);

    sm_roles r2;
    const char *spaced = " 'trading desk'   \"operator\" ";
    assert_int_equal(sm_roles_parse(spaced, strlen(spaced), &r2, &err), SM_OK);
    assert_true(sm_roles_equal(&r, &r2));
    assert_true(sm_roles_contains_all(&r, &r2));
    sm_roles_free(&r2);

    sm_roles empty;
    assert_int_equal(sm_roles_parse("", 0, &empty, &err), SM_OK);
    assert_int_equal(empty.count, 0);
    s = sm_roles_format(&empty);
    assert_string_equal(s, "");
    free(s);
    assert_true(sm_roles_contains_all(&r, &empty));
    sm_roles_free(&empty);

    sm_roles esc;
    const char *escaped = "\"a\\\"b\",\"c\\\\d\",\"a\\\"b\"";
    assert_int_equal(sm_roles_parse(escaped, strlen(escaped), &esc, &err), SM_OK);
    assert_int_equal(esc.count, 2); /* duplicates collapse */
    assert_true(sm_roles_contains(&esc, "a\"b"));
    assert_true(sm_roles_contains(&esc, "c\\d"));
    s = sm_roles_format(&esc);
    assert_string_equal(s, "\"a\\\"b\",\"c\\\\d\"");
    free(s);
    sm_roles_free(&esc);
    sm_roles_free(&r);
}

static void test_roles_errors(void **state)
{
    (void)state;
    sm_roles r;
    sm_error err;
    const char *bad[] = {"admin", "\"admin", "\"a\"\"b\"", "\"a\\n\"", "\"a\",b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_error_clear(&err);
        assert_int_equal(sm_roles_parse(bad[i], strlen(bad[i]), &r, &err), SM_ERR_INVALID);
        assert_true(err.column >= 1);
        assert_int_equal(r.count, 0);
    }
}

static void test_utf8_decode(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(sm_utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(sm_utf8_decode("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(sm_utf8_decode("\xe2\x9c\x93", 3, &cp), 3);
    assert_int_equal(cp, 0x2713);
    assert_int_equal(sm_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(sm_utf8_decode("\x80", 1, &cp), 0);
    assert_int_equal(sm_utf8_decode("\xf0\x9f\x98", 3, &cp), 0);
    assert_true(sm_utf8_valid("", 0));
    assert_false(sm_utf8_valid("\xff", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_props_set_get_replace_remove),
        cmocka_unit_test(test_props_many_keys_stay_sorted),
        cmocka_unit_test(test_utf8_encode_round_trip),
        cmocka_unit_test(test_user_key_validation),
        cmocka_unit_test(test_user_key_rejects_invisible_unicode),
        cmocka_unit_test(test_unicode_classes),
        cmocka_unit_test(test_value_validation),
        cmocka_unit_test(test_fixed_keys),
        cmocka_unit_test(test_normalise_fixed_values),
        cmocka_unit_test(test_roles_parse_and_format),
        cmocka_unit_test(test_roles_errors),
        cmocka_unit_test(test_utf8_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
