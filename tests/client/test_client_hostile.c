/* libsessmon against a misbehaving server (a scripted fake, tests/support/wsfake.c): oversized
 * messages, drops and closes mid-request, silence, wrong ids, absurd announced timings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/sessmon.h"
#include "helpers.h"
#include "wsfake.h"

/* What a script saw, for the test to check after sm_fake_stop. */
typedef struct script_log {
    int requests;
    bool client_gone;
    const char *first_type[4];
} script_log;

static sm_client *cl;

static int setup(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true, .max_sessions = 4};
    cl = sm_client_new(&cp, NULL);
    return cl ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sm_client_free(cl);
    cl = NULL;
    return 0;
}

static sm_session *open_to(sm_fake *f, th_session *t, bool reconnect, int connect_timeout_ms)
{
    memset(t, 0, sizeof *t);
    sm_session_params p = {.url = f->url, .no_reconnect = !reconnect, .reconnect_initial_ms = 20,
                           .reconnect_max_ms = 50, .connect_timeout_ms = connect_timeout_ms};
    th_session_params(&p, t);
    t->s = sm_session_open(cl, &p, NULL);
    assert_non_null(t->s);
    return t->s;
}

static void get_async(sm_session *s, th_reply *r)
{
    memset(r, 0, sizeof *r);
    sm_get_params g = {.session_id = "any", .on_reply = th_reply_cb, .context = r};
    assert_int_equal(sm_get_properties(s, &g, NULL), SM_CLIENT_OK);
}

/* ---- a message over the 16 MiB the library accepts ---- */

static void script_oversized(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_fake_send_opened(ws, "fake-1", 15000);
    if (sm_fake_next_request(ws, "get", NULL, 0, 5000) > 0)
        log->requests++;
    size_t n = (16u << 20) + 4096;
    char *big = malloc(n);
    if (!big)
        return;
    memset(big, ' ', n);
    big[0] = '{';
    sm_ws_send_frame(ws, SM_WS_OP_TEXT, true, big, n); /* the client may hang up part way */
    free(big);
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void test_oversized_message(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_oversized, &log), 0);
    static th_session t;
    static th_reply r;
    open_to(&f, &t, false, 0);
    TH_WAIT(cl, t.opens || t.closed, TH_TIMEOUT_MS);
    assert_int_equal(t.opens, 1);
    get_async(t.s, &r);
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    /* The request in flight failed (it never silently vanishes), then the session ended. */
    assert_true(r.done);
    assert_int_equal(r.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_non_null(strstr(r.message, "larger than"));
    assert_true(t.closed);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_PROTOCOL);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
    assert_int_equal(log.requests, 1);
    assert_true(log.client_gone);
}

/* ---- drops and closes while a request is in flight ---- */

static void script_drop_after_request(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_fake_send_opened(ws, index == 0 ? "fake-1" : "fake-2", 15000);
    if (index == 0) {
        if (sm_fake_next_request(ws, "get", NULL, 0, 5000) > 0)
            log->requests++;
        return; /* TCP closed without a close frame */
    }
    /* After the reconnection: answer whatever comes. */
    for (;;) {
        long long id = sm_fake_next_request(ws, "get", NULL, 0, 5000);
        if (id < 0)
            return;
        log->requests++;
        sm_ws_send_textf(ws, "{\"type\":\"reply\",\"id\":%lld,\"op\":\"get\",\"properties\":{\"k\":\"v\"}}", id);
    }
}

static void test_drop_mid_request_then_reconnect(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_drop_after_request, &log), 0);
    static th_session t;
    static th_reply in_flight, queued;
    open_to(&f, &t, true, 0);
    TH_WAIT(cl, t.opens, TH_TIMEOUT_MS);
    get_async(t.s, &in_flight);
    TH_WAIT(cl, in_flight.done, TH_TIMEOUT_MS);
    assert_int_equal(in_flight.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_non_null(strstr(in_flight.message, "connection lost before the reply"));
    assert_int_equal(t.disconnects, 1);
    assert_int_equal(t.disconnect_cause.code, SM_CLIENT_ERR_CONNECTION_LOST);
    /* Issued while reconnecting: it waits and is sent on the new connection. */
    get_async(t.s, &queued);
    TH_WAIT(cl, queued.done, TH_TIMEOUT_MS);
    assert_int_equal(queued.code, SM_CLIENT_OK);
    assert_string_equal(queued.props, "k=v;");
    assert_int_equal(t.opens, 2);
    assert_false(t.closed);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 2);
    assert_string_equal(log.first_type[0], "open");
    assert_string_equal(log.first_type[1], "resume");
    assert_int_equal(log.requests, 2);
}

static void script_close_frame_after_request(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_fake_send_opened(ws, "fake-1", 15000);
    if (sm_fake_next_request(ws, "get", NULL, 0, 5000) > 0)
        log->requests++;
    sm_ws_send_close(ws, 1000, "CLOSED_BY_CONTROLLER");
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void test_close_frame_mid_request(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_close_frame_after_request, &log), 0);
    static th_session t;
    static th_reply r;
    open_to(&f, &t, true, 0); /* a close frame is final even with reconnection on */
    TH_WAIT(cl, t.opens, TH_TIMEOUT_MS);
    get_async(t.s, &r);
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    assert_true(r.done);
    assert_int_equal(r.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_true(t.closed);
    assert_int_equal(t.close_reason, SM_REASON_CLOSED_BY_CONTROLLER);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_CLOSED);
    /* Requests after the end fail at once, without a callback. */
    sm_client_error err;
    sm_ping_params pp = {0};
    assert_int_equal(sm_ping(t.s, &pp, &err), SM_CLIENT_ERR_CLOSED);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
    assert_true(log.client_gone);
}

/* ---- a server that accepts the WebSocket but never answers the open ---- */

static void script_silent(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void test_never_answers_open(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_silent, &log), 0);
    static th_session t;
    static th_reply r;
    int64_t t0 = sm_mono_ms();
    open_to(&f, &t, false, 300);
    get_async(t.s, &r); /* queued until an open that never comes */
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    assert_true(t.closed);
    assert_true(sm_mono_ms() - t0 < 3000);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_CONNECT_FAILED);
    assert_true(r.done);
    assert_int_equal(r.code, SM_CLIENT_ERR_CLOSED);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
    assert_string_equal(log.first_type[0], "open");
    assert_true(log.client_gone);
}

/* ---- replies with wrong ids and ops, events nobody registered for ---- */

static void script_confused(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_fake_send_opened(ws, "fake-1", 15000);
    long long id = sm_fake_next_request(ws, "get", NULL, 0, 5000);
    if (id < 0)
        return;
    log->requests++;
    sm_ws_send_text(ws, "{\"type\":\"reply\",\"id\":999,\"op\":\"get\",\"properties\":{}}");
    sm_ws_send_text(ws, "{\"type\":\"error\",\"id\":998,\"code\":\"ACCESS_DENIED\",\"message\":\"no\"}");
    sm_ws_send_text(ws, "{\"type\":\"events\",\"listener\":5,\"events\":[{\"event\":\"OPEN\",\"session\":\"x\","
                        "\"state\":\"ACTIVE\"}]}");
    sm_ws_send_text(ws, "{\"type\":\"snapshot_end\",\"listener\":5,\"count\":1}");
    sm_ws_send_textf(ws, "{\"type\":\"reply\",\"id\":%lld,\"op\":\"ping\",\"time\":1}", id); /* wrong op */
    id = sm_fake_next_request(ws, "get", NULL, 0, 5000);
    if (id < 0)
        return;
    log->requests++;
    sm_ws_send_textf(ws, "{\"type\":\"reply\",\"id\":%lld,\"op\":\"get\",\"properties\":{\"a\":\"b\"}}", id);
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void test_wrong_ids_ops_and_listeners(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_confused, &log), 0);
    static th_session t;
    static th_reply r1, r2;
    open_to(&f, &t, false, 0);
    TH_WAIT(cl, t.opens, TH_TIMEOUT_MS);
    get_async(t.s, &r1);
    TH_WAIT(cl, r1.done, TH_TIMEOUT_MS);
    assert_int_equal(r1.code, SM_CLIENT_ERR_PROTOCOL);
    get_async(t.s, &r2);
    TH_WAIT(cl, r2.done, TH_TIMEOUT_MS);
    assert_int_equal(r2.code, SM_CLIENT_OK);
    assert_string_equal(r2.props, "a=b;");
    assert_int_equal(t.errors, 0); /* stray replies and events are dropped quietly */
    assert_false(t.closed);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
    assert_int_equal(log.requests, 2);
}

/* ---- absurd announced heartbeat interval ---- */

static void script_huge_heartbeat(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    /* Just below 2^31 ms: + the library's 5 s margin no longer fits an int. */
    sm_fake_send_opened(ws, "fake-1", 2147480000LL);
    long long id = sm_fake_next_request(ws, "ping", NULL, 0, 5000);
    if (id < 0)
        return;
    log->requests++;
    sm_ws_send_textf(ws, "{\"type\":\"reply\",\"id\":%lld,\"op\":\"ping\",\"time\":1}", id);
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void test_huge_heartbeat_interval(void **state)
{
    (void)state;
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script_huge_heartbeat, &log), 0);
    static th_session t;
    static th_reply r;
    open_to(&f, &t, false, 0);
    TH_WAIT(cl, t.opens || t.closed, TH_TIMEOUT_MS);
    assert_int_equal(t.opens, 1);
    /* The connection must not be judged dead at once. */
    TH_WAIT(cl, t.closed, 300);
    assert_false(t.closed);
    memset(&r, 0, sizeof r);
    sm_ping_params pp = {.on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_ping(t.s, &pp, NULL), SM_CLIENT_OK);
    TH_WAIT(cl, r.done, TH_TIMEOUT_MS);
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_false(t.closed);
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
}

/* ---- frames and messages the protocol forbids ---- */

static void script_binary(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_fake_send_opened(ws, "fake-1", 15000);
    sm_ws_send_frame(ws, SM_WS_OP_BINARY, true, "{}", 2);
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void script_event_before_opened(sm_ws *ws, int index, void *ctx)
{
    script_log *log = ctx;
    log->first_type[index & 3] = sm_fake_expect_open(ws, 5000);
    sm_ws_send_text(ws, "{\"type\":\"heartbeat\",\"seq\":1}");
    log->client_gone = sm_fake_wait_client_gone(ws, 5000);
}

static void expect_protocol_close(sm_fake_script script, bool opens, const char *text)
{
    script_log log = {0};
    sm_fake f;
    assert_int_equal(sm_fake_start(&f, script, &log), 0);
    static th_session t;
    open_to(&f, &t, false, 0);
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    assert_true(t.closed);
    assert_int_equal(t.opens, opens ? 1 : 0);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_PROTOCOL);
    assert_non_null(strstr(t.close_error.message, text));
    sm_session_free(t.s);
    assert_int_equal(sm_fake_stop(&f), 1);
    assert_true(log.client_gone);
}

static void test_forbidden_frames_and_messages(void **state)
{
    (void)state;
    expect_protocol_close(script_binary, true, "binary");
    expect_protocol_close(script_event_before_opened, false, "before answering the open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oversized_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_mid_request_then_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_frame_mid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_answers_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_ids_ops_and_listeners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_heartbeat_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_frames_and_messages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
