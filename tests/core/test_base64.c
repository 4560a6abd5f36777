/* Unit tests of the base64 codec used for password hash fields and WebSocket handshake keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/base64.h"

/* RFC 4648 § 10 test vectors, every padding case. */
static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *plain = vectors[i][0], *encoded = vectors[i][1];
        size_t len = strlen(plain);
        char out[SM_BASE64_LEN(6) + 1];
        assert_int_equal(SM_BASE64_LEN(len), strlen(encoded));
        sm_base64_encode((const unsigned char *)plain, len, out);
        assert_string_equal(out, encoded);
        unsigned char back[8] = {0};
        assert_true(sm_base64_decode_exact(encoded, strlen(encoded), back, len));
        assert_memory_equal(back, plain, len);
    }
}

static void test_base64_all_byte_values(void **state)
{
    (void)state;
    unsigned char in[256], back[256];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    char out[SM_BASE64_LEN(256) + 1];
    sm_base64_encode(in, sizeof in, out);
    assert_true(sm_base64_decode_exact(out, strlen(out), back, sizeof back));
    assert_memory_equal(back, in, sizeof in);
}

static void test_base64_decode_rejects(void **state)
{
    (void)state;
    unsigned char out[8];
    assert_false(sm_base64_decode_exact("Zm9v", 4, out, 2));      /* holds 3 bytes, not 2 */
    assert_false(sm_base64_decode_exact("Zm9vYg==", 8, out, 5));  /* holds 4 bytes, not 5 */
    assert_false(sm_base64_decode_exact("Zm9", 3, out, 2));       /* not a multiple of 4 */
    assert_false(sm_base64_decode_exact("Zm9v!mFy", 8, out, 6));  /* character outside the alphabet */
    assert_false(sm_base64_decode_exact("Zm-v", 4, out, 3));      /* base64url is not accepted */
    assert_false(sm_base64_decode_exact("Zg=v", 4, out, 1));      /* data after padding */
    assert_false(sm_base64_decode_exact("Zg==Zm9v", 8, out, 4));  /* padding before the end */
    assert_false(sm_base64_decode_exact("=g==", 4, out, 1));      /* padding in the first place */
    assert_false(sm_base64_decode_exact("Zm\0v", 4, out, 3));     /* NUL inside */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_all_byte_values),
        cmocka_unit_test(test_base64_decode_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
