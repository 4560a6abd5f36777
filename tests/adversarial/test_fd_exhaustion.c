/* Attack: use up sessmond's file descriptors; it must not spin or flood its log, and must recover (docs/security.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "attacker.h"
#include "core/proc.h"
#include "probe.h"
#include "test_server.h"

#define FD_LIMIT 200

static const char *from_attacker(int i, char *buf, size_t len)
{
    (void)i;
    (void)buf;
    (void)len;
    return "127.0.0.2";
}

static void out_of_descriptors_pauses_and_recovers(void **state)
{
    (void)state;
    sm_test_server s;
    /* Pending limits out of the way (and no handshake timeout in the test's time): the attacker's
     * connections alone use up the descriptors. */
    assert_int_equal(sm_test_server_start_with(&s, "{\"limits\":{\"maxPending\":100000,\"maxPendingPerAddress\":100000,"
                                                   "\"maxPendingPerSubnet\":100000,\"handshakeTimeoutMs\":600000}}"),
                     0);
    struct rlimit rl = {.rlim_cur = FD_LIMIT, .rlim_max = FD_LIMIT};
    assert_int_equal(prlimit(s.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    char log[300];
    sm_test_server_log(&s, log, sizeof log);
    long long log_before = sm_file_size(log);

    sm_horde h;
    sm_horde_open(&h, s.port, 2 * FD_LIMIT, from_attacker, NULL, 3000);
    assert_true(h.count >= 2 * FD_LIMIT - 5);
    usleep(500 * 1000);

    /* Not spinning: CPU time over 3 s while the descriptors stay used up. */
    double t0 = sm_proc_cpu_s(s.pid);
    sleep(3);
    double t1 = sm_proc_cpu_s(s.pid);
    double cpu = (t1 - t0) / 3.0;
    print_message("CPU while out of descriptors: %.1f %%\n", cpu * 100.0);
    assert_true(t0 >= 0 && t1 >= 0);
    assert_true(cpu < 0.10);

    /* Those the server could not take were closed at once, not left waiting. */
    int alive = sm_horde_alive(&h);
    print_message("attacker connections still open: %d of %d\n", alive, h.count);
    assert_true(alive < FD_LIMIT);

    /* The log says so once per interval, with a count, and stays small. */
    long long grew = sm_file_size(log) - log_before;
    long long lines = sm_count_lines_with(log, "out of file descriptors");
    print_message("log grew %lld bytes, %lld lines about descriptors\n", grew, lines);
    assert_true(grew < 4096);
    assert_true(lines >= 1 && lines <= 3);

    /* Once the attacker lets go, new clients get in again. */
    sm_horde_close(&h);
    usleep(300 * 1000);
    double ms = sm_probe_connect_ms(s.port, "127.0.0.9", 5000);
    print_message("connect + open after the attack: %.1f ms\n", ms);
    assert_true(ms >= 0 && ms < 1000.0);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_descriptors_pauses_and_recovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
