/* Attack: clients pipeline requests and never read the replies; queued memory stays within limits (docs/security.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "attacker.h"
#include "test_server.h"
#include "wsraw.h"

#define CLIENTS 40
#define PINGS_PER_CLIENT 6000
#define ROUND 500
#define QUEUE_LIMIT (256 * 1024)
#define TOTAL_LIMIT (4 * 1024 * 1024)

/* AddressSanitizer keeps freed memory in quarantine and pads every allocation: RSS says nothing
 * about the server's own accounting there, so the memory bounds are checked in normal builds. */
#ifdef __SANITIZE_ADDRESS__
#define RSS_MEANINGFUL false
#else
#define RSS_MEANINGFUL true
#endif

static void pipelined_pings_without_reading(void **state)
{
    (void)state;
    sm_test_server s;
    char limits[200];
    snprintf(limits, sizeof limits, "{\"limits\":{\"maxQueueBytes\":%d,\"maxTotalQueueBytes\":%d}}", QUEUE_LIMIT,
             TOTAL_LIMIT);
    assert_int_equal(sm_test_server_start_with(&s, limits), 0);

    static sm_ws ws[CLIENTS];
    bool open[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        /* A small receive buffer: the replies pile up in the server, not in the kernel. */
        sm_ws_opts o = {.host = "127.0.0.1", .port = s.port, .source_addr = "127.0.0.3", .rcvbuf = 4096};
        assert_int_equal(sm_ws_connect(&ws[i], &o), SM_WS_OK);
        char *opened = sm_ws_open_session(&ws[i], "client", "client", NULL, 5000);
        assert_non_null(opened);
        free(opened);
        open[i] = true;
    }
    usleep(300 * 1000);
    long base = sm_test_server_rss_kb(&s);
    long peak = base;

    /* Round robin, so every queue grows at once and the server-wide cap is what bites. */
    int next_id = 1;
    for (int sent = 0; sent < PINGS_PER_CLIENT; sent += ROUND) {
        for (int i = 0; i < CLIENTS; i++) {
            for (int k = 0; k < ROUND && open[i]; k++)
                if (sm_ws_send_textf(&ws[i], "{\"type\":\"ping\",\"id\":%d}", next_id++) != SM_WS_OK)
                    open[i] = false; /* closed by the server under us */
        }
        long rss = sm_test_server_rss_kb(&s);
        if (rss > peak)
            peak = rss;
    }
    usleep(200 * 1000);
    long rss = sm_test_server_rss_kb(&s);
    if (rss > peak)
        peak = rss;
    print_message("RSS: %ld KiB before, peak %ld KiB (+%ld KiB); queue limit %d KiB, total limit %d KiB\n", base,
                  peak, peak - base, QUEUE_LIMIT / 1024, TOTAL_LIMIT / 1024);
    /* Without real accounting each of the 40 queues held about 2 MB here (80 MB in all). */
    if (RSS_MEANINGFUL)
        assert_true(peak - base < 6 * TOTAL_LIMIT / 1024);

    /* The queues were closed, not left to grow: every connection ended (with the close frame, or
     * cut off while it was still sending), and the log names the reason. */
    int ended = 0;
    for (int i = 0; i < CLIENTS; i++) {
        ws[i].auto_heartbeat = false;
        int rc = sm_ws_wait_closed(&ws[i], 8000);
        if (rc == SM_WS_CLOSED || rc == SM_WS_EOF || rc == SM_WS_ERR)
            ended++;
        if (rc == SM_WS_CLOSED)
            assert_string_equal(ws[i].close_reason, "MESSAGE_QUEUE_LIMIT_REACHED");
        sm_ws_close(&ws[i]);
    }
    assert_int_equal(ended, CLIENTS);
    char log[300];
    sm_test_server_log(&s, log, sizeof log);
    long long limit_closes = sm_count_lines_with(log, "MESSAGE_QUEUE_LIMIT_REACHED");
    print_message("sessions closed with MESSAGE_QUEUE_LIMIT_REACHED: %lld of %d\n", limit_closes, CLIENTS);
    assert_int_equal(limit_closes, CLIENTS);

    /* The memory goes back to the system once they are gone. */
    usleep(1500 * 1000);
    long after = sm_test_server_rss_kb(&s);
    print_message("RSS after they left: %ld KiB (+%ld KiB over the start)\n", after, after - base);
    if (RSS_MEANINGFUL)
        assert_true(after - base < 2 * TOTAL_LIMIT / 1024);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipelined_pings_without_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
