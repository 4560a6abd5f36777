/* sessmond integration tests: lws's sockets are serviced in bounded slices (server/net.c), and a mass drop serviced that way loses nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crowd.h"

#define CROWD 1500
#define DRAIN_MS 20000

static int setup(void **state)
{
    *state = sm_test_server_new(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

static bool log_contains(const sm_test_server *s, const char *needle)
{
    char path[512];
    FILE *f = fopen(sm_test_server_log(s, path, sizeof path), "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* The takeover needs the executable to export ev_io_start/ev_io_stop (server/CMakeLists.txt);
 * without it sessmond still works but says so, and mass drops stall it again. */
static void test_lws_sockets_are_taken_over(void **state)
{
    sm_test_server *s = *state;
    tc c;
    tc_open(&c, s, "viewer", "viewer", NULL);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    tc_close(&c);
    assert_false(log_contains(s, "not serviced in slices"));
}

/* Thousands of hang-ups are drained a slice at a time while a listener's events (the write side:
 * partial writes, POLLOUT) and a client's pings (the read side) go through the same slices:
 * every DISCONNECTED event arrives, once, in a session's order, and every ping is answered. */
static void test_mass_drop_in_slices_loses_nothing(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\"}"), CROWD);
    tc w;
    tc_open(&w, s, "viewer", "viewer", NULL);
    cJSON *r = tc_ok(&w, "{\"type\":\"add_listener\",\"filter\":\"Crowd is 'yes'\",\"keys\":[\"Crowd\"]}");
    long long l = tc_int(r, "listener");
    cJSON_Delete(r);
    long long count = -1;
    cJSON_Delete(tc_snapshot(&w, l, &count));
    assert_int_equal(count, CROWD);
    tc p;
    tc_open(&p, s, "client", "client", NULL);

    crowd_drop_all(&cr);
    /* pings while the drain runs: each answered (tc_ok fails the test on a timeout) */
    for (int i = 0; i < 20; i++) {
        r = tc_ok(&p, "{\"type\":\"ping\"}");
        assert_string_equal(tc_str(r, "op"), "ping");
        cJSON_Delete(r);
    }
    int disconnected = 0, others = 0;
    int64_t deadline = sm_mono_ms() + DRAIN_MS;
    while (disconnected < CROWD && sm_mono_ms() < deadline) {
        cJSON *ev = tc_event(&w, l, 1000);
        if (!ev)
            continue;
        if (strcmp(tc_str(ev, "event"), "DISCONNECTED") == 0)
            disconnected++;
        else
            others++;
        cJSON_Delete(ev);
    }
    assert_int_equal(disconnected, CROWD);
    assert_int_equal(others, 0);
    tc_no_event(&w, l, 300);
    /* the server still serves, new connections included */
    tc n;
    tc_open(&n, s, "viewer", "viewer", NULL);
    cJSON_Delete(tc_ok(&n, "{\"type\":\"ping\"}"));
    tc_close(&n);
    tc_close(&p);
    tc_close(&w);
    crowd_free(&cr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lws_sockets_are_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mass_drop_in_slices_loses_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
