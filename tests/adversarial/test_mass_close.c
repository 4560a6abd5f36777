/* Mass close, mass drop and listener fan-out over thousands of sessions: every socket goes, and an innocent client's pings stay answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crowd.h"
#include "probe.h"

#define CROWD 4000
/* Generous bounds for a busy 2-core machine; the measured figures are in docs/architecture.md. */
#define ALL_CLOSED_MS 15000
#define PROBE_P99_MS 1000.0
#define DROP_PROBE_P99_MS 2000.0

static int setup(void **state)
{
    *state = sm_test_server_new(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 2;
}

static void check_probe(sm_probe *p, double p99_bound, const char *what)
{
    sm_probe_stats st;
    assert_int_equal(sm_probe_stop(p, &st), 0);
    printf("# %s: probe %d pings, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failures\n", what, st.pings, st.p50_ms,
           st.p99_ms, st.max_ms, st.failures);
    assert_true(st.connected);
    assert_int_equal(st.failures, 0);
    assert_true(st.pings >= 5);
    assert_true(st.p99_ms < p99_bound);
}

static void test_close_by_filter_of_thousands(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\"}"), CROWD);
    sm_probe p;
    assert_int_equal(sm_probe_start(&p, s->port, "127.0.0.7", 10), 0);
    usleep(300 * 1000);
    tc op;
    tc_open(&op, s, "operator", "operator", NULL);
    int64_t t0 = sm_mono_ms();
    cJSON *r = tc_ok(&op, "{\"type\":\"close_by_filter\",\"filter\":\"Crowd is 'yes'\"}");
    assert_int_equal(tc_int(r, "count"), CROWD);
    cJSON_Delete(r);
    int by_controller = 0;
    assert_int_equal(crowd_wait_closed(&cr, ALL_CLOSED_MS, "CLOSED_BY_CONTROLLER", &by_controller), CROWD);
    int64_t ms = sm_mono_ms() - t0;
    printf("# close_by_filter of %d sessions: all closed by the server after %lld ms\n", CROWD, (long long)ms);
    assert_int_equal(by_controller, CROWD);
    assert_true(ms < ALL_CLOSED_MS);
    check_probe(&p, PROBE_P99_MS, "close_by_filter");
    tc_close(&op);
    crowd_free(&cr);
}

static void test_thousands_of_clients_drop_at_once(void **state)
{
    sm_test_server *s = *state;
    /* The probe first: a process forked later would inherit the crowd's sockets and keep them open. */
    sm_probe p;
    assert_int_equal(sm_probe_start(&p, s->port, "127.0.0.7", 10), 0);
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\"}"), CROWD);
    usleep(300 * 1000);
    int before = open_fds(s->pid);
    assert_true(before >= CROWD);
    int64_t t0 = sm_mono_ms();
    crowd_drop_all(&cr);
    int now = before;
    while ((now = open_fds(s->pid)) > before - CROWD + 8 && sm_mono_ms() - t0 < ALL_CLOSED_MS)
        usleep(20 * 1000);
    int64_t ms = sm_mono_ms() - t0;
    printf("# %d clients dropped: server sockets released after %lld ms (%d of %d fds left)\n", CROWD, (long long)ms, now, before);
    assert_true(now <= before - CROWD + 8);
    check_probe(&p, DROP_PROBE_P99_MS, "mass drop");
    /* The sessions are DISCONNECTED (resumable), and the server serves new clients. */
    tc v;
    tc_open(&v, s, "viewer", "viewer", NULL);
    long long l;
    cJSON *r = tc_ok(&v, "{\"type\":\"add_listener\",\"filter\":\"Crowd is 'yes'\"}");
    l = tc_int(r, "listener");
    cJSON_Delete(r);
    long long count = -1;
    cJSON *snap = tc_snapshot(&v, l, &count);
    assert_int_equal(count, CROWD);
    cJSON *ev;
    cJSON_ArrayForEach(ev, snap)
    assert_string_equal(tc_str(ev, "state"), "DISCONNECTED");
    cJSON_Delete(snap);
    tc_close(&v);
    crowd_free(&cr);
}

static void test_set_by_filter_fans_out_to_ten_listeners(void **state)
{
    sm_test_server *s = *state;
    enum { LISTENERS = 10, ROUNDS = 5 };
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}"), CROWD);
    tc w[LISTENERS];
    long long l[LISTENERS];
    for (int i = 0; i < LISTENERS; i++) {
        tc_open(&w[i], s, "viewer", "viewer", NULL);
        cJSON *r = tc_ok(&w[i], "{\"type\":\"add_listener\",\"filter\":\"Crowd is 'yes'\",\"keys\":[\"Tier\"]}");
        l[i] = tc_int(r, "listener");
        cJSON_Delete(r);
        long long count = -1;
        cJSON_Delete(tc_snapshot(&w[i], l[i], &count));
        assert_int_equal(count, CROWD);
    }
    sm_probe p;
    assert_int_equal(sm_probe_start(&p, s->port, "127.0.0.7", 10), 0);
    usleep(300 * 1000);
    tc op;
    tc_open(&op, s, "operator", "operator", NULL);
    for (int round = 0; round < ROUNDS; round++) {
        cJSON *r = tc_ok(&op, "{\"type\":\"set_by_filter\",\"filter\":\"Crowd is 'yes'\",\"properties\":{\"Tier\":\"t%d\"}}",
                         round);
        assert_int_equal(tc_int(r, "count"), CROWD);
        cJSON_Delete(r);
        /* Drain the listeners each round: 10 x 4000 events stay far below maxQueueBytes anyway. */
        for (int i = 0; i < LISTENERS; i++)
            for (int k = 0; k < CROWD; k++) {
                cJSON *ev = tc_event(&w[i], l[i], TC_TIMEOUT_MS);
                if (!ev)
                    fail_msg("listener %d: only %d of %d events of round %d", i, k, CROWD, round);
                assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
                cJSON_Delete(ev);
            }
    }
    check_probe(&p, PROBE_P99_MS, "set_by_filter with 10 listeners");
    tc_close(&op);
    for (int i = 0; i < LISTENERS; i++)
        tc_close(&w[i]);
    crowd_free(&cr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_close_by_filter_of_thousands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousands_of_clients_drop_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_by_filter_fans_out_to_ten_listeners, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
