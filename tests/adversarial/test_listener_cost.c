/* Attack: listeners with the costliest filters allowed, amplified by every session event; the listener regex cost limits bound it. */
/* Every session event (open, close, disconnect, a change of a key a filter uses) evaluates every
 * listener's filter. Before limits.maxListenerRegexCost(PerSession), 8 listeners with the worst
 * allowed filter (about 1.6 ms per session holding 4 KB values) made each anonymous open cost
 * 8 x 1.6 ms per hostile viewer session, and one unrelated set_by_filter stalled the loop 634 ms.
 * Now the regular expressions of all listeners together are bounded (docs/security.md § Listener
 * cost): the test fills the server-wide limit with hostile listeners, churns anonymous sessions
 * with hostile values and runs a set_by_filter that every listener must re-evaluate, while a
 * probe client pings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "attacker.h"
#include "client.h"
#include "probe.h"
#include "test_server.h"

#define SESSIONS 50
#define CHURN 150
#define VALUE_LEN 4096
#if defined(__SANITIZE_ADDRESS__)
#define PING_P99_MAX_MS 3000.0 /* an ASan+UBSan Debug server is several times slower */
#else
#define PING_P99_MAX_MS 250.0
#endif

/* The worst patterns the regex budget allows, both always evaluated: the most one filter may cost. */
#define WORST_FILTER "(K matches '[ab]*a[ab]{58}' or all) and (K matches '(a|b)*a(a|b){58}' or all)"
#define HALF_FILTER "K matches '[ab]*a[ab]{58}' or all"

/* {"K":"<4 KB of random a/b>"}: every byte keeps a DFA guessing. */
static char *hostile_props(void)
{
    char *props = sm_hostile_ab_props(VALUE_LEN);
    assert_non_null(props);
    return props;
}

static long long add_listener(tc *c, const char *filter)
{
    cJSON *r = tc_ok(c, "{\"type\":\"add_listener\",\"keys\":[\"K\"],\"filter\":\"%s\"}", filter);
    long long id = tc_int(r, "listener");
    cJSON_Delete(r);
    long long count = -1;
    cJSON_Delete(tc_snapshot(c, id, &count));
    return id;
}

static void refused(tc *c, const char *filter, const char *key)
{
    cJSON *e = tc_err(c, "LIMIT_EXCEEDED", "{\"type\":\"add_listener\",\"filter\":\"%s\"}", filter);
    const char *message = tc_str(e, "message");
    assert_non_null(message);
    print_message("refused: %s\n", message);
    assert_non_null(strstr(message, key));
    cJSON_Delete(e);
}

static void hostile_listeners_are_bounded_and_pings_stay_fast(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start_with(&s, NULL), 0);
    srand(11);
    static tc victims[SESSIONS];
    for (int i = 0; i < SESSIONS; i++) {
        char *props = hostile_props();
        tc_open(&victims[i], &s, NULL, NULL, props);
        free(props);
    }

    /* Registration: one worst filter fills a session's share, half of one more fills the server's. */
    tc viewer, viewer2, operator;
    tc_open(&viewer, &s, "viewer", "viewer", NULL);
    tc_open(&viewer2, &s, "viewer", "viewer", NULL);
    tc_open(&operator, &s, "operator", "operator", NULL);
    add_listener(&viewer, WORST_FILTER);
    refused(&viewer, HALF_FILTER, "limits.maxListenerRegexCostPerSession");
    add_listener(&viewer2, HALF_FILTER);
    refused(&viewer2, "K matches 'a'", "limits.maxListenerRegexCost");
    refused(&operator, "K matches 'a'", "limits.maxListenerRegexCost");
    /* Filters without regular expressions cost nothing here and are still welcome. */
    for (int i = 0; i < 6; i++)
        add_listener(&viewer, "K is 'x' or all");

    double load_before = sm_probe_contention();
    sm_probe probe;
    assert_int_equal(sm_probe_start(&probe, s.port, "127.0.0.7", 10), 0);

    /* Anonymous sessions with hostile values come and go: each open and close is an event every
     * hostile listener evaluates. */
    double churn_start = sm_probe_now_ms();
    for (int i = 0; i < CHURN; i++) {
        char *props = hostile_props();
        tc t;
        tc_open(&t, &s, NULL, NULL, props);
        free(props);
        tc_close(&t);
    }
    double churn_ms = sm_probe_now_ms() - churn_start;
    /* A change of K on every session: each is re-evaluated (before and after) by every listener. */
    double slowest_set = 0;
    for (int i = 0; i < 3; i++) {
        double start = sm_probe_now_ms();
        cJSON *r = tc_ok(&operator, "{\"type\":\"set_by_filter\",\"filter\":\"has K\",\"properties\":{\"K\":\"%s\"}}",
                         i % 2 ? "abababababababababababababababababababababababababababababababababab" : "b");
        assert_true(tc_int(r, "count") >= SESSIONS);
        cJSON_Delete(r);
        if (sm_probe_now_ms() - start > slowest_set)
            slowest_set = sm_probe_now_ms() - start;
    }

    sm_probe_stats st;
    assert_int_equal(sm_probe_stop(&probe, &st), 0);
    double load = (load_before + sm_probe_contention()) / 2;
    print_message("listener cost attack: %d opens+closes in %.0f ms (%.1f ms each), slowest set_by_filter %.1f ms; "
                  "probe %d pings, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failures; machine contention x%.2f\n",
                  CHURN, churn_ms, churn_ms / CHURN, slowest_set, st.pings, st.p50_ms, st.p99_ms, st.max_ms,
                  st.failures, load);
    assert_true(st.connected);
    assert_int_equal(st.failures, 0);
    assert_true(st.pings >= 10);
    assert_true(st.p99_ms < PING_P99_MAX_MS * (load < 4.0 ? load : 4.0));

    tc_close(&viewer);
    tc_close(&viewer2);
    tc_close(&operator);
    for (int i = 0; i < SESSIONS; i++)
        tc_close(&victims[i]);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_listeners_are_bounded_and_pings_stay_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
