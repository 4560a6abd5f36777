/* Unit tests of sm_buf (growth, headroom, max/overflow, printf, steal) and the sm_json_* writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/error.h"

#define HEADROOM 16 /* like LWS_PRE */

static void test_buf_init_and_free_empty(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.headroom, HEADROOM);
    assert_false(b.overflow);
    assert_null(sm_buf_payload(&b));
    sm_buf_reset(&b);
    sm_buf_free(&b);
    sm_buf_free(&b); /* twice is harmless */
    assert_null(b.data);
}

static void test_buf_growth_keeps_content(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    char expect[20000];
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        char piece[16];
        int k = snprintf(piece, sizeof piece, "%d,", i);
        assert_int_equal(sm_buf_append(&b, piece, (size_t)k), SM_OK);
        memcpy(expect + n, piece, (size_t)k);
        n += (size_t)k;
    }
    expect[n] = '\0';
    assert_int_equal(b.len, n);
    assert_true(b.cap >= n + 1);
    assert_string_equal(sm_buf_payload(&b), expect);
    assert_int_equal(sm_buf_putc(&b, 'x'), SM_OK);
    assert_int_equal(sm_buf_puts(&b, "yz"), SM_OK);
    assert_memory_equal(sm_buf_payload(&b) + n, "xyz", 4);
    assert_int_equal(sm_buf_append(&b, "", 0), SM_OK);
    assert_int_equal(b.len, n + 3);
    sm_buf_free(&b);
}

static void test_buf_headroom_preserved_across_growth(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_buf_putc(&b, 'a'), SM_OK);
    assert_non_null(b.data);
    assert_ptr_equal(sm_buf_payload(&b), b.data + HEADROOM);
    memset(b.data, 0x5a, HEADROOM);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(sm_buf_putc(&b, (char)('a' + i % 26)), SM_OK);
    assert_ptr_equal(sm_buf_payload(&b), b.data + HEADROOM);
    for (size_t i = 0; i < HEADROOM; i++)
        assert_int_equal((unsigned char)b.data[i], 0x5a);
    assert_int_equal(b.len, 5001);
    assert_int_equal(sm_buf_payload(&b)[0], 'a');
    assert_int_equal(sm_buf_payload(&b)[b.len], '\0');
    assert_true(b.cap >= HEADROOM + b.len + 1);
    sm_buf_free(&b);
}

static void test_buf_reserve(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_buf_reserve(&b, 10000), SM_OK);
    assert_true(b.cap >= HEADROOM + 10000 + 1);
    assert_int_equal(b.len, 0);
    assert_string_equal(sm_buf_payload(&b), "");
    char *before = b.data;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sm_buf_putc(&b, 'q'), SM_OK);
    assert_ptr_equal(b.data, before); /* no reallocation within the reservation */
    sm_buf_free(&b);
}

static void test_buf_max_and_overflow(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 10);
    assert_int_equal(sm_buf_append(&b, "0123456789", 10), SM_OK);
    assert_false(b.overflow);
    assert_int_equal(sm_buf_putc(&b, 'x'), SM_ERR_LIMIT);
    assert_true(b.overflow);
    assert_int_equal(b.len, 10);
    assert_string_equal(sm_buf_payload(&b), "0123456789");
    assert_int_equal(sm_buf_reserve(&b, 1), SM_ERR_LIMIT);
    assert_int_equal(sm_json_string(&b, "x"), SM_ERR_LIMIT);
    assert_int_equal(sm_buf_printf(&b, "%d", 1), SM_ERR_LIMIT);
    assert_string_equal(sm_buf_payload(&b), "0123456789");
    /* the allocation never grows beyond what max can use */
    assert_true(b.cap <= HEADROOM + 10 + 1);

    sm_buf_reset(&b);
    assert_false(b.overflow);
    assert_int_equal(b.len, 0);
    assert_string_equal(sm_buf_payload(&b), "");
    assert_int_equal(sm_buf_append(&b, "0123456789A", 11), SM_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    assert_int_equal(sm_buf_append(&b, "abc", 3), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "abc");
    /* a string that only overflows because of escaping fails as a whole */
    assert_int_equal(sm_json_string(&b, "\n\n\n"), SM_ERR_LIMIT);
    assert_string_equal(sm_buf_payload(&b), "abc");
    assert_int_equal(b.len, 3);
    /* a huge request is refused without allocating */
    assert_int_equal(sm_buf_reserve(&b, SIZE_MAX - 4), SM_ERR_LIMIT);
    sm_buf_free(&b);

    sm_buf_init(&b, 0, 0);
    assert_int_equal(sm_buf_reserve(&b, SIZE_MAX - 4), SM_ERR_LIMIT);
    assert_true(b.overflow);
    sm_buf_free(&b);
}

static void test_buf_printf(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_buf_printf(&b, "%s=%d", "a", 42), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "a=42");
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sm_buf_printf(&b, "[%s]", big), SM_OK);
    assert_int_equal(b.len, 4 + 2 + sizeof big - 1);
    assert_int_equal(sm_buf_payload(&b)[4], '[');
    assert_int_equal(sm_buf_payload(&b)[b.len - 1], ']');
    assert_int_equal(sm_buf_payload(&b)[b.len], '\0');
    assert_int_equal(sm_buf_printf(&b, "%s", ""), SM_OK);
    assert_int_equal(b.len, 4 + 2 + sizeof big - 1);
    sm_buf_free(&b);

    /* printf into existing space that would cross max */
    sm_buf_init(&b, 0, 8);
    assert_int_equal(sm_buf_puts(&b, "ab"), SM_OK);
    assert_int_equal(sm_buf_printf(&b, "%s", "1234567"), SM_ERR_LIMIT);
    assert_true(b.overflow);
    assert_string_equal(sm_buf_payload(&b), "ab");
    sm_buf_reset(&b);
    assert_int_equal(sm_buf_printf(&b, "%s", "12345678"), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "12345678");
    sm_buf_free(&b);
}

static void test_buf_steal(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_buf_puts(&b, "hello"), SM_OK);
    char *p = sm_buf_steal(&b);
    assert_non_null(p);
    assert_string_equal(p + HEADROOM, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.headroom, HEADROOM);
    free(p);
    /* the buffer is usable again after a steal */
    assert_int_equal(sm_buf_puts(&b, "again"), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "again");
    sm_buf_free(&b);

    /* stealing an untouched buffer still yields an allocation with an empty payload */
    sm_buf_init(&b, HEADROOM, 0);
    p = sm_buf_steal(&b);
    assert_non_null(p);
    assert_string_equal(p + HEADROOM, "");
    free(p);
}

/* Escapes s with sm_json_stringn, checks the text against expect (when given) and that cJSON
 * reads it back as the same bytes. */
static void check_escape(const char *s, size_t n, const char *expect)
{
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_json_stringn(&b, s, n), SM_OK);
    if (expect)
        assert_string_equal(sm_buf_payload(&b), expect);
    assert_int_equal(strlen(sm_buf_payload(&b)), b.len);
    cJSON *j = cJSON_ParseWithLength(sm_buf_payload(&b), b.len);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    /* cJSON turns \u0000 into a terminator, so compare only up to the first NUL */
    size_t cmp = strnlen(s, n);
    assert_int_equal(strlen(j->valuestring), cmp);
    assert_memory_equal(j->valuestring, s, cmp);
    cJSON_Delete(j);
    sm_buf_free(&b);
}

static void test_json_escape_control_chars(void **state)
{
    (void)state;
    for (int c = 1; c < 0x20; c++) {
        char in[4] = {'a', (char)c, 'b', 0};
        char expect[16];
        const char *named = NULL;
        switch (c) {
        case '\b': named = "\\b"; break;
        case '\t': named = "\\t"; break;
        case '\n': named = "\\n"; break;
        case '\f': named = "\\f"; break;
        case '\r': named = "\\r"; break;
        default: break;
        }
        if (named)
            snprintf(expect, sizeof expect, "\"a%sb\"", named);
        else
            snprintf(expect, sizeof expect, "\"a\\u%04xb\"", c);
        check_escape(in, 3, expect);
    }
    check_escape("\x7f", 1, "\"\x7f\""); /* DEL is legal in JSON strings */
    check_escape("a\0b", 3, "\"a\\u0000b\"");
}

static void test_json_escape_quotes_backslash_utf8(void **state)
{
    (void)state;
    check_escape("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    check_escape("C:\\dir\\", 7, "\"C:\\\\dir\\\\\"");
    check_escape("/", 1, "\"/\"");
    check_escape("", 0, "\"\"");
    const char *utf8 = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad";
    char expect[64];
    snprintf(expect, sizeof expect, "\"%s\"", utf8);
    check_escape(utf8, strlen(utf8), expect);
}

static void test_json_escape_long_strings_grow(void **state)
{
    (void)state;
    /* mixes of plain runs and escapes well past the initial allocation */
    size_t n = 50000;
    char *s = malloc(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(i % 7 == 0 ? '\n' : i % 11 == 0 ? 0x01 : i % 13 == 0 ? '"' : 'a' + (char)(i % 26));
    s[0] = 'x';
    check_escape(s, n, NULL);
    for (size_t i = 0; i < n; i++)
        s[i] = 0x1f;
    check_escape(s, n, NULL);
    free(s);
}

static void test_json_string_null_int_bool_key(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    assert_int_equal(sm_json_string(&b, NULL), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_int(&b, 0), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_int(&b, -1), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_int(&b, INT64_MAX), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_int(&b, INT64_MIN), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_int(&b, 9007199254740991LL), SM_OK);
    assert_int_equal(sm_buf_putc(&b, ' '), SM_OK);
    assert_int_equal(sm_json_bool(&b, true), SM_OK);
    assert_int_equal(sm_json_bool(&b, false), SM_OK);
    assert_string_equal(sm_buf_payload(&b),
                        "null 0 -1 9223372036854775807 -9223372036854775808 9007199254740991 truefalse");
    sm_buf_reset(&b);

    bool first = true;
    assert_int_equal(sm_buf_putc(&b, '{'), SM_OK);
    assert_int_equal(sm_json_key(&b, "a", &first), SM_OK);
    assert_false(first);
    assert_int_equal(sm_json_int(&b, 1), SM_OK);
    assert_int_equal(sm_json_key(&b, "b\"c", &first), SM_OK);
    assert_int_equal(sm_json_string(&b, "v"), SM_OK);
    assert_int_equal(sm_buf_putc(&b, '}'), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "{\"a\":1,\"b\\\"c\":\"v\"}");
    cJSON *j = cJSON_Parse(sm_buf_payload(&b));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "b\"c")->valuestring, "v");
    cJSON_Delete(j);
    sm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_init_and_free_empty),
        cmocka_unit_test(test_buf_growth_keeps_content),
        cmocka_unit_test(test_buf_headroom_preserved_across_growth),
        cmocka_unit_test(test_buf_reserve),
        cmocka_unit_test(test_buf_max_and_overflow),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_buf_steal),
        cmocka_unit_test(test_json_escape_control_chars),
        cmocka_unit_test(test_json_escape_quotes_backslash_utf8),
        cmocka_unit_test(test_json_escape_long_strings_grow),
        cmocka_unit_test(test_json_string_null_int_bool_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
