/* Unit tests of sessmond's pre-login gate: per-address, per-subnet and total limits, release and age order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "server/gate.h"

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    return ss;
}

static smd_gate_verdict admit(smd_gate *g, int fd, struct sockaddr_storage ss, int64_t now)
{
    socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    return smd_gate_admit(g, fd, (struct sockaddr *)&ss, len, now);
}

static void limits_per_address_subnet_and_total(void **state)
{
    (void)state;
    smd_gate g;
    smd_gate_limits l = {.per_address = 2, .per_subnet = 3, .total = 5};
    assert_int_equal(smd_gate_init(&g, &l, 100), SM_OK);
    assert_int_equal(admit(&g, 10, v4("10.0.0.1"), 1), SMD_GATE_ADMITTED);
    assert_int_equal(admit(&g, 11, v4("10.0.0.1"), 2), SMD_GATE_ADMITTED);
    assert_int_equal(admit(&g, 12, v4("10.0.0.1"), 3), SMD_GATE_OVER_ADDRESS);
    assert_int_equal(admit(&g, 12, v4("10.0.0.2"), 3), SMD_GATE_ADMITTED);
    /* 10.0.0.0/24 is full, 10.0.1.0/24 is not. */
    assert_int_equal(admit(&g, 13, v4("10.0.0.3"), 4), SMD_GATE_OVER_SUBNET);
    assert_int_equal(admit(&g, 13, v4("10.0.1.3"), 4), SMD_GATE_ADMITTED);
    /* An IPv4-mapped IPv6 address is the same client as its IPv4 form. */
    assert_int_equal(admit(&g, 14, v6("::ffff:10.0.0.1"), 5), SMD_GATE_OVER_ADDRESS);
    assert_int_equal(admit(&g, 14, v6("2001:db8::1"), 5), SMD_GATE_ADMITTED);
    assert_int_equal(smd_gate_pending(&g), 5);
    assert_int_equal(admit(&g, 15, v6("2001:db8:1::1"), 6), SMD_GATE_FULL);
    /* A descriptor already held, or out of range, is refused. */
    assert_int_equal(admit(&g, 10, v4("10.9.9.9"), 6), SMD_GATE_BAD_FD);
    assert_int_equal(admit(&g, 100, v4("10.9.9.9"), 6), SMD_GATE_BAD_FD);

    struct sockaddr_storage a = v4("10.0.0.1");
    assert_int_equal(smd_gate_count_of(&g, (struct sockaddr *)&a, sizeof(struct sockaddr_in), false), 2);
    assert_int_equal(smd_gate_count_of(&g, (struct sockaddr *)&a, sizeof(struct sockaddr_in), true), 3);
    smd_gate_release(&g, 11);
    smd_gate_release(&g, 11); /* twice: nothing */
    assert_int_equal(smd_gate_count_of(&g, (struct sockaddr *)&a, sizeof(struct sockaddr_in), false), 1);
    assert_int_equal(admit(&g, 11, v4("10.0.0.1"), 7), SMD_GATE_ADMITTED);
    smd_gate_free(&g);
}

static void oldest_first_and_handles(void **state)
{
    (void)state;
    smd_gate g;
    smd_gate_limits l = {.per_address = 10, .per_subnet = 10, .total = 10};
    assert_int_equal(smd_gate_init(&g, &l, 50), SM_OK);
    int64_t since = 0;
    assert_int_equal(smd_gate_oldest(&g, &since), -1);
    for (int fd = 5; fd < 9; fd++)
        assert_int_equal(admit(&g, fd, v4("192.0.2.1"), 100 + fd), SMD_GATE_ADMITTED);
    int tag = 0;
    smd_gate_set_handle(&g, 6, &tag);
    assert_ptr_equal(smd_gate_handle(&g, 6), &tag);
    assert_null(smd_gate_handle(&g, 7));
    assert_int_equal(smd_gate_oldest(&g, &since), 5);
    assert_int_equal(since, 105);
    smd_gate_release(&g, 5);
    smd_gate_release(&g, 7); /* from the middle */
    assert_int_equal(smd_gate_oldest(&g, &since), 6);
    smd_gate_release(&g, 6);
    assert_int_equal(smd_gate_oldest(&g, &since), 8);
    smd_gate_release(&g, 8);
    assert_int_equal(smd_gate_oldest(&g, NULL), -1);
    assert_int_equal(smd_gate_pending(&g), 0);
    assert_false(smd_gate_holds(&g, 6));
    smd_gate_free(&g);
}

/* Many addresses admitted and released in random order: the counts always match a plain tally
 * (this exercises deletion from the open-addressing table). */
static void counts_stay_exact_under_churn(void **state)
{
    (void)state;
    enum { FDS = 2000, ADDRS = 300 };
    smd_gate g;
    smd_gate_limits l = {.per_address = 1000, .per_subnet = 1000, .total = 1000};
    assert_int_equal(smd_gate_init(&g, &l, FDS), SM_OK);
    static int addr_of[FDS];
    static int tally[ADDRS];
    memset(addr_of, -1, sizeof addr_of);
    srand(7);
    for (int step = 0; step < 50000; step++) {
        int fd = rand() % FDS;
        if (addr_of[fd] >= 0) {
            tally[addr_of[fd]]--;
            addr_of[fd] = -1;
            smd_gate_release(&g, fd);
            continue;
        }
        int a = rand() % ADDRS;
        char ip[32];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", a % 7, a % 13, a % 250);
        if (admit(&g, fd, v4(ip), step) == SMD_GATE_ADMITTED) {
            addr_of[fd] = a;
            tally[a]++;
        }
    }
    size_t total = 0;
    for (int a = 0; a < ADDRS; a++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.%d.%d.%d", a % 7, a % 13, a % 250);
        struct sockaddr_storage ss = v4(ip);
        assert_int_equal(smd_gate_count_of(&g, (struct sockaddr *)&ss, sizeof(struct sockaddr_in), false),
                         (size_t)tally[a]);
        total += (size_t)tally[a];
    }
    assert_int_equal(smd_gate_pending(&g), total);
    smd_gate_free(&g);
}

static void zero_limits_are_refused(void **state)
{
    (void)state;
    smd_gate g;
    smd_gate_limits l = {.per_address = 0, .per_subnet = 1, .total = 1};
    assert_int_equal(smd_gate_init(&g, &l, 10), SM_ERR_INVALID);
    smd_gate_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_per_address_subnet_and_total),
        cmocka_unit_test(oldest_first_and_handles),
        cmocka_unit_test(counts_stay_exact_under_churn),
        cmocka_unit_test(zero_limits_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
