/* The latency probe itself, against an idle sessmond: it connects, pings and reports sane figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"
#include "test_server.h"

static void probe_reports_idle_server_round_trips(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start_with(&s, NULL), 0);
    sm_probe p;
    assert_int_equal(sm_probe_start(&p, s.port, "127.0.0.7", 10), 0);
    usleep(500 * 1000);
    sm_probe_stats st;
    assert_int_equal(sm_probe_stop(&p, &st), 0);
    assert_true(st.connected);
    assert_int_equal(st.failures, 0);
    assert_true(st.pings >= 10);
    assert_true(st.p50_ms <= st.p99_ms && st.p99_ms <= st.max_ms);
    assert_true(st.p99_ms < 200.0);
    double ms = sm_probe_connect_ms(s.port, "127.0.0.8", 5000);
    assert_true(ms >= 0 && ms < 1000.0);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_reports_idle_server_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
