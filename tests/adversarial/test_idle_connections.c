/* Attack: many idle or slow connections that never log in must not keep other clients out (docs/security.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "attacker.h"
#include "probe.h"
#include "test_server.h"
#include "wsraw.h"

#define CONNECT_BOUND_MS 1000.0

/* The attackers' /24: a fresh one for each run (127.A.B.0/24 from the process ID), so that the
 * TIME_WAIT sockets left by earlier runs and other tests on this machine never leave the attacker
 * short of local ports for its thousands of connections. */
static char attack_net[24];

static void pick_attack_net(void)
{
    unsigned v = (unsigned)getpid();
    snprintf(attack_net, sizeof attack_net, "127.%u.%u", 100 + v % 100, (v / 100) % 250);
}

static const char *from_one_address(int i, char *buf, size_t len)
{
    (void)i;
    snprintf(buf, len, "%s.2", attack_net);
    return buf;
}

/* .1 .. .250 of the attackers' /24. */
static const char *from_one_subnet(int i, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%d", attack_net, 1 + i % 250);
    return buf;
}

static int setup(void **state)
{
    *state = sm_test_server_new(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    sm_test_server *s = *state;
    /* The server is still healthy once the attackers are gone. */
    double ms = sm_probe_connect_ms(s->port, "127.0.0.1", 5000);
    int st = sm_test_server_delete(s);
    return st == 0 && ms >= 0 ? 0 : -1;
}

/* Several tries, because each is a single sample on a busy 2-core machine: every one must pass. */
static void expect_quick_connects(int port, const char *src, int tries)
{
    for (int i = 0; i < tries; i++) {
        double ms = sm_probe_connect_ms(port, src, 5000);
        print_message("connect + open from %s: %.1f ms\n", src, ms);
        assert_true(ms >= 0);
        assert_true(ms < CONNECT_BOUND_MS);
        usleep(100 * 1000);
    }
}

static void idle_from_one_address(void **state)
{
    sm_test_server *s = *state;
    sm_horde h;
    sm_horde_open(&h, s->port, 1000, from_one_address, NULL, 3000);
    assert_true(h.count >= 990);
    usleep(300 * 1000); /* let the server meet them all */
    /* The server keeps only its per-address allowance of them. */
    int alive = sm_horde_alive(&h);
    print_message("idle connections from %s.2 still open: %d of %d\n", attack_net, alive, h.count);
    assert_true(alive <= 64);
    expect_quick_connects(s->port, "127.0.0.9", 5);
    sm_horde_close(&h);
}

static void slow_requests_from_one_address(void **state)
{
    sm_test_server *s = *state;
    sm_horde h;
    /* Half an upgrade request, never finished. */
    sm_horde_open(&h, s->port, 1000, from_one_address, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
                  3000);
    assert_true(h.count >= 990);
    usleep(300 * 1000);
    assert_true(sm_horde_alive(&h) <= 64);
    expect_quick_connects(s->port, "127.0.0.9", 5);
    sm_horde_close(&h);
}

static void idle_from_one_subnet(void **state)
{
    sm_test_server *s = *state;
    sm_horde h;
    sm_horde_open(&h, s->port, 1000, from_one_subnet, "GET / HTTP/1.1\r\n", 3000);
    assert_true(h.count >= 990);
    usleep(300 * 1000);
    int alive = sm_horde_alive(&h);
    print_message("connections from %s.0/24 still open: %d of %d\n", attack_net, alive, h.count);
    assert_true(alive <= 256);
    expect_quick_connects(s->port, "127.1.0.1", 5);
    sm_horde_close(&h);
}

/* 3,000 opened at once and held: a client arriving right behind them gets in within the bound,
 * and again while they are still held. */
static void burst_of_three_thousand(void **state)
{
    sm_test_server *s = *state;
    sm_horde h;
    sm_horde_open(&h, s->port, 3000, from_one_address, NULL, 0);
    assert_true(h.count >= 2900);
    expect_quick_connects(s->port, "127.0.0.9", 3);
    usleep(500 * 1000);
    expect_quick_connects(s->port, "127.1.0.1", 2);
    sm_horde_close(&h);
}

/* Pending connections within the allowance are dropped after limits.handshakeTimeoutMs. */
static void idle_ones_time_out(void **state)
{
    sm_test_server *s = *state;
    sm_test_server_stop(s);
    assert_int_equal(sm_test_server_start_with(s, "{\"limits\":{\"handshakeTimeoutMs\":500}}"), 0);
    sm_horde h;
    sm_horde_open(&h, s->port, 10, from_one_address, NULL, 3000);
    assert_int_equal(h.count, 10);
    usleep(200 * 1000);
    assert_int_equal(sm_horde_alive(&h), 10);
    usleep(1000 * 1000);
    assert_int_equal(sm_horde_alive(&h), 0);
    sm_horde_close(&h);
    /* Past the WebSocket handshake but no open: closed with ABORTED (docs/protocol.md). */
    sm_ws ws;
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .source_addr = "127.0.0.2"};
    assert_int_equal(sm_ws_connect(&ws, &o), SM_WS_OK);
    int64_t t0 = sm_mono_ms();
    assert_int_equal(sm_ws_wait_closed(&ws, 3000), SM_WS_CLOSED);
    assert_string_equal(ws.close_reason, "ABORTED");
    assert_true(sm_mono_ms() - t0 < 1500);
    sm_ws_close(&ws);
}

int main(void)
{
    pick_attack_net();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(idle_from_one_address, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_requests_from_one_address, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_from_one_subnet, setup, teardown),
        cmocka_unit_test_setup_teardown(burst_of_three_thousand, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_ones_time_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
