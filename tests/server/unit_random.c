/* sessmond unit tests of smd_random_bytes: whole buffers, fresh bytes, signals do not cut it short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/error.h"
#include "server/random.h"

static void test_fills_and_differs(void **state)
{
    (void)state;
    unsigned char a[32], b[32], zero[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(zero, 0, sizeof zero);
    assert_int_equal(smd_random_bytes(a, sizeof a), SM_OK);
    assert_int_equal(smd_random_bytes(b, sizeof b), SM_OK);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(smd_random_bytes(a, 0), SM_OK);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* Large requests can be interrupted by a signal: the whole buffer must still be filled. */
static void test_interrupted_by_signals(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: getrandom sees EINTR */
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    size_t len = 4u << 20;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    for (int round = 0; round < 8; round++) {
        memset(buf, 0, len);
        assert_int_equal(smd_random_bytes(buf, len), SM_OK);
        /* The last 64 bytes all zero would mean the tail was never written. */
        size_t zeros = 0;
        for (size_t i = len - 64; i < len; i++)
            zeros += buf[i] == 0;
        assert_true(zeros < 64);
    }
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_and_differs),
        cmocka_unit_test(test_interrupted_by_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
