/* sessmond unit tests of the login throttle (fake time): back-off, networks, principals, bounded tables, log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/throttle.h"

static smd_login_limits limits(void)
{
    smd_login_limits l;
    smd_login_limits_default(&l);
    return l;
}

static smd_throttle_verdict verdict(smd_throttle *t, const char *ip, const char *principal, int64_t now)
{
    smd_throttle_decision d;
    smd_throttle_admit(t, ip, principal, now, &d);
    return d.verdict;
}

static int64_t retry(smd_throttle *t, const char *ip, const char *principal, int64_t now)
{
    smd_throttle_decision d;
    smd_throttle_admit(t, ip, principal, now, &d);
    return d.retry_ms;
}

static void test_address_backoff_doubles_up_to_the_cap(void **state)
{
    (void)state;
    smd_login_limits l = limits();
    l.principal_free_failures = 1000;
    smd_throttle *t = smd_throttle_new(&l);
    assert_non_null(t);
    int64_t now = 1000000;
    smd_throttle_decision d;
    smd_throttle_admit(t, "198.51.100.7", "admin", now, &d);
    assert_int_equal(d.verdict, SMD_THROTTLE_ALLOW);
    assert_false(d.suspect);
    for (int i = 0; i < 4; i++) {
        smd_throttle_failed(t, "198.51.100.7", "admin", now);
        smd_throttle_admit(t, "198.51.100.7", "admin", now, &d);
        assert_int_equal(d.verdict, SMD_THROTTLE_ALLOW);
        assert_true(d.suspect);
    }
    /* The fifth wrong password starts the back-off: 1 s, then 2, 4, ... up to 60 s. */
    smd_throttle_failed(t, "198.51.100.7", "admin", now);
    assert_int_equal(verdict(t, "198.51.100.7", "admin", now), SMD_THROTTLE_ADDRESS);
    assert_int_equal(retry(t, "198.51.100.7", "admin", now), 1000);
    /* Another address, and the same address for another principal, are not its business. */
    assert_int_equal(verdict(t, "198.51.100.8", "admin", now), SMD_THROTTLE_ALLOW);
    assert_int_equal(verdict(t, "198.51.100.7", "viewer", now), SMD_THROTTLE_ADDRESS);
    int64_t expected[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        now += retry(t, "198.51.100.7", "admin", now);
        assert_int_equal(verdict(t, "198.51.100.7", "admin", now), SMD_THROTTLE_ALLOW);
        smd_throttle_failed(t, "198.51.100.7", "admin", now);
        assert_int_equal(retry(t, "198.51.100.7", "admin", now), expected[i]);
    }
    /* Quiet for forgetMs: a clean record again. */
    now += l.forget_ms + 60000;
    smd_throttle_admit(t, "198.51.100.7", "admin", now, &d);
    assert_int_equal(d.verdict, SMD_THROTTLE_ALLOW);
    assert_false(d.suspect);
    smd_throttle_failed(t, "198.51.100.7", "admin", now);
    assert_int_equal(verdict(t, "198.51.100.7", "admin", now), SMD_THROTTLE_ALLOW);
    smd_throttle_free(t);
}

static void test_network_backoff_covers_fresh_addresses(void **state)
{
    (void)state;
    smd_login_limits l = limits();
    l.network_free_failures = 10;
    l.principal_free_failures = 1000;
    smd_throttle *t = smd_throttle_new(&l);
    assert_non_null(t);
    int64_t now = 5000;
    char ip[32];
    for (int i = 1; i <= 10; i++) {
        snprintf(ip, sizeof ip, "203.0.113.%d", i);
        assert_int_equal(verdict(t, ip, "admin", now), SMD_THROTTLE_ALLOW);
        smd_throttle_failed(t, ip, "admin", now);
    }
    assert_int_equal(verdict(t, "203.0.113.200", "viewer", now), SMD_THROTTLE_NETWORK);
    /* An IPv4-mapped IPv6 address is the same IPv4 network. */
    assert_int_equal(verdict(t, "::ffff:203.0.113.201", "viewer", now), SMD_THROTTLE_NETWORK);
    assert_int_equal(verdict(t, "203.0.114.1", "viewer", now), SMD_THROTTLE_ALLOW);

    /* IPv6: the network is the /64. */
    for (int i = 1; i <= 10; i++) {
        snprintf(ip, sizeof ip, "2001:db8:1:2::%x", i);
        smd_throttle_failed(t, ip, "admin", now);
    }
    assert_int_equal(verdict(t, "2001:db8:1:2:ffff::1", "admin", now), SMD_THROTTLE_NETWORK);
    assert_int_equal(verdict(t, "2001:db8:1:3::1", "admin", now), SMD_THROTTLE_ALLOW);
    smd_throttle_free(t);
}

static void test_principal_backoff_spares_clean_addresses(void **state)
{
    (void)state;
    smd_login_limits l = limits();
    l.principal_free_failures = 3;
    smd_throttle *t = smd_throttle_new(&l);
    assert_non_null(t);
    int64_t now = 5000;
    smd_throttle_failed(t, "192.0.2.1", "admin", now);
    smd_throttle_failed(t, "198.51.100.1", "admin", now);
    smd_throttle_failed(t, "203.0.113.1", "admin", now);
    /* The principal is backed off for addresses that failed, not for a clean one. */
    assert_int_equal(verdict(t, "192.0.2.1", "admin", now), SMD_THROTTLE_PRINCIPAL);
    assert_int_equal(retry(t, "192.0.2.1", "admin", now), 1000);
    assert_int_equal(verdict(t, "192.0.2.99", "admin", now), SMD_THROTTLE_ALLOW);
    assert_int_equal(verdict(t, "192.0.2.1", "viewer", now), SMD_THROTTLE_ALLOW);
    assert_int_equal(verdict(t, "192.0.2.1", "admin", now + 1000), SMD_THROTTLE_ALLOW);
    smd_throttle_free(t);
}

static void test_tables_stay_bounded_and_keep_backed_off_records(void **state)
{
    (void)state;
    smd_login_limits l = limits();
    l.table_entries = 64;
    l.address_free_failures = 1;
    l.network_free_failures = 100000;
    l.principal_free_failures = 100000;
    smd_throttle *t = smd_throttle_new(&l);
    assert_non_null(t);
    int64_t now = 5000;
    smd_throttle_failed(t, "192.0.2.1", "admin", now);
    assert_int_equal(verdict(t, "192.0.2.1", "admin", now), SMD_THROTTLE_ADDRESS);
    /* Many addresses with one failure each: they are backed off too (free = 1), so the oldest go;
     * but quiet clean lookups never create records. */
    char ip[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_int_equal(verdict(t, ip, "x", now), SMD_THROTTLE_ALLOW);
    }
    smd_throttle_stats st;
    smd_throttle_get_stats(t, &st);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(verdict(t, "192.0.2.1", "admin", now), SMD_THROTTLE_ADDRESS);
    for (int i = 0; i < 100000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        smd_throttle_failed(t, ip, "x", now + 1 + i);
    }
    smd_throttle_get_stats(t, &st);
    assert_true(st.evictions > 0);
    assert_int_equal(st.failures, 100001);
    /* The log stayed within its global cap: a burst, then about 20 lines a second of fake time. */
    assert_true(st.log_lines <= 40 + 20 * (100000 / 1000) + 20);
    assert_true(st.suppressed > 0);
    smd_throttle_free(t);
}

static void test_log_lines_are_aggregated_per_address(void **state)
{
    (void)state;
    smd_login_limits l = limits();
    l.log_interval_ms = 10000;
    smd_throttle *t = smd_throttle_new(&l);
    assert_non_null(t);
    int64_t now = 5000;
    for (int i = 0; i < 1000; i++) {
        smd_throttle_decision d;
        smd_throttle_admit(t, "192.0.2.1", "admin", now + i, &d);
        if (d.verdict == SMD_THROTTLE_ALLOW)
            smd_throttle_failed(t, "192.0.2.1", "admin", now + i);
        else
            smd_throttle_refused(t, "192.0.2.1", "admin", now + i);
    }
    smd_throttle_stats st;
    smd_throttle_get_stats(t, &st);
    /* The first failure, the address's back-off notice (the principal's comes at ten). */
    assert_int_equal(st.failures, 5);
    assert_int_equal(st.refused, 995);
    assert_int_equal(st.log_lines, 2);
    smd_throttle_tick(t, now + 5000);
    smd_throttle_get_stats(t, &st);
    assert_int_equal(st.log_lines, 2);
    smd_throttle_tick(t, now + 10000); /* the interval's summary */
    smd_throttle_get_stats(t, &st);
    assert_int_equal(st.log_lines, 3);
    smd_throttle_tick(t, now + 20000); /* a quiet interval says nothing and ends */
    smd_throttle_tick(t, now + 30000);
    smd_throttle_get_stats(t, &st);
    assert_int_equal(st.log_lines, 3);
    smd_throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_backoff_doubles_up_to_the_cap),
        cmocka_unit_test(test_network_backoff_covers_fresh_addresses),
        cmocka_unit_test(test_principal_backoff_spares_clean_addresses),
        cmocka_unit_test(test_tables_stay_bounded_and_keep_backed_off_records),
        cmocka_unit_test(test_log_lines_are_aggregated_per_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
