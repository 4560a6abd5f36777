/* libsessmon's receive/dispatch path without a server: every event type, bad input, re-entrancy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "core/props.h"
#include "client/sessmon.h"
#include "helpers.h"

static sm_client *cl;
static sm_session *s;
static th_session ts;
static th_listener tl;

static void inject(const char *json)
{
    sm_client__inject_message(s, json, strlen(json));
}

static int setup(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true};
    cl = sm_client_new(&cp, NULL);
    memset(&ts, 0, sizeof ts);
    sm_session_params p = {0};
    th_session_params(&p, &ts);
    s = cl ? sm_client__offline_session(cl, &p) : NULL;
    if (!s)
        return -1;
    ts.s = s;
    memset(&tl, 0, sizeof tl);
    const char *keys[] = {"*U", "$Principal"};
    sm_listener_params lp = {.keys = keys, .key_count = 2};
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(s, &lp, NULL);
    if (!tl.l)
        return -1;
    sm_client__bind_listener(tl.l, 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sm_client_free(cl); /* delivers the listener's on_close */
    th_listener_free(&tl);
    return 0;
}

static void test_every_event_type(void **state)
{
    (void)state;
    assert_int_equal(th_find(&tl, 0, "registered", NULL), 0);
    assert_false(tl.ev[0].resync);
    assert_int_equal(tl.ev[0].count, 7);
    inject("{\"type\":\"events\",\"listener\":7,\"events\":["
           "{\"event\":\"OPEN\",\"session\":\"s1\",\"state\":\"ACTIVE\",\"snapshot\":true,"
           "\"properties\":{\"$Principal\":\"ann\",\"Tier\":\"gold\"}},"
           "{\"event\":\"PROPERTIES\",\"session\":\"s1\",\"state\":\"ACTIVE\",\"properties\":{\"Tier\":\"silver\"},"
           "\"changed\":{\"Tier\":\"gold\",\"Gone\":\"x\",\"New\":null}},"
           "{\"event\":\"DISCONNECTED\",\"session\":\"s1\",\"state\":\"DISCONNECTED\"},"
           "{\"event\":\"RECONNECTED\",\"session\":\"s1\",\"state\":\"ACTIVE\"},"
           "{\"event\":\"FAILED_OVER\",\"session\":\"s1\",\"state\":\"ACTIVE\"},"
           "{\"event\":\"FILTER_LEAVE\",\"session\":\"s1\",\"state\":\"ACTIVE\"},"
           "{\"event\":\"FILTER_ENTER\",\"session\":\"s1\",\"state\":\"ACTIVE\",\"properties\":{\"Tier\":\"silver\"}},"
           "{\"event\":\"CLOSED\",\"session\":\"s1\",\"state\":\"CLOSED\",\"reason\":\"CLOSED_BY_CONTROLLER\"}]}");
    inject("{\"type\":\"snapshot_end\",\"listener\":7,\"count\":1}");
    assert_int_equal(tl.n, 10);
    assert_string_equal(tl.ev[1].kind, "open");
    assert_true(tl.ev[1].snapshot);
    assert_string_equal(tl.ev[1].session, "s1");
    assert_string_equal(tl.ev[1].props, "$Principal=ann;Tier=gold;");
    assert_string_equal(tl.ev[2].kind, "update");
    assert_int_equal(tl.ev[2].update, SM_UPDATE_PROPERTIES);
    assert_string_equal(tl.ev[2].props, "Tier=silver;");
    assert_string_equal(tl.ev[2].previous, "Gone=x;New=<null>;Tier=gold;");
    assert_int_equal(tl.ev[3].update, SM_UPDATE_DISCONNECTED);
    assert_int_equal(tl.ev[3].state, SM_REMOTE_DISCONNECTED);
    assert_int_equal(tl.ev[4].update, SM_UPDATE_RECONNECTED);
    assert_int_equal(tl.ev[5].update, SM_UPDATE_FAILED_OVER);
    assert_string_equal(tl.ev[6].kind, "leave");
    assert_string_equal(tl.ev[7].kind, "enter");
    assert_string_equal(tl.ev[7].props, "Tier=silver;");
    assert_string_equal(tl.ev[8].kind, "close");
    assert_int_equal(tl.ev[8].reason, SM_REASON_CLOSED_BY_CONTROLLER);
    assert_int_equal(tl.ev[8].state, SM_REMOTE_CLOSED);
    assert_string_equal(tl.ev[9].kind, "snapend");
    assert_int_equal(tl.ev[9].count, 1);
    assert_int_equal(ts.errors, 0);
}

static void test_other_listener_ignored(void **state)
{
    (void)state;
    inject("{\"type\":\"events\",\"listener\":8,\"events\":[{\"event\":\"OPEN\",\"session\":\"x\",\"state\":\"ACTIVE\"}]}");
    inject("{\"type\":\"snapshot_end\",\"listener\":8,\"count\":0}");
    assert_int_equal(tl.n, 1); /* just "registered" */
    assert_int_equal(ts.errors, 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{not json",
        "[]",
        "{\"type\":\"no_such_type\"}",
        "{\"type\":\"events\",\"listener\":7,\"events\":[{\"event\":\"BOGUS\",\"session\":\"x\",\"state\":\"ACTIVE\"}]}",
        "{\"type\":\"events\",\"listener\":7,\"events\":[{\"event\":\"OPEN\",\"session\":\"x\\u0000y\",\"state\":\"ACTIVE\"}]}",
        "{\"type\":\"events\",\"listener\":7,\"events\":[{\"event\":\"OPEN\",\"session\":\"\xff\",\"state\":\"ACTIVE\"}]}",
        "{\"type\":\"get\",\"id\":1,\"sessionId\":\"x\"}", /* a client-to-server type */
        "{\"type\":\"opened\",\"sessionId\":\"a\",\"token\":\"b\",\"principal\":\"\",\"roles\":\"\","
        "\"permissions\":[],\"serverName\":\"s\",\"resumed\":false,\"reconnectTimeout\":1,"
        "\"heartbeatInterval\":1,\"maxMessageBytes\":1000}", /* not expected once open */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        inject(bad[i]);
    assert_int_equal(ts.errors, (int)(sizeof bad / sizeof *bad));
    assert_int_equal(tl.n, 1);
    assert_int_equal(sm_session_get_status(s), SM_SESSION_OPEN);
    /* A reply nobody waits for (e.g. after a timeout) is dropped quietly. */
    inject("{\"type\":\"reply\",\"id\":999,\"op\":\"ping\",\"time\":1}");
    inject("{\"type\":\"error\",\"id\":998,\"code\":\"ACCESS_DENIED\",\"message\":\"no\"}");
    assert_int_equal(ts.errors, (int)(sizeof bad / sizeof *bad));
    /* An error without an id goes to on_error. */
    inject("{\"type\":\"error\",\"code\":\"INVALID_REQUEST\",\"message\":\"bad\"}");
    assert_int_equal(ts.errors, (int)(sizeof bad / sizeof *bad) + 1);
}

static void test_heartbeat_is_answered(void **state)
{
    (void)state;
    inject("{\"type\":\"heartbeat\",\"seq\":42}");
    assert_non_null(s->ctrl_head);
    const char *ack = sm_buf_payload(&s->ctrl_head->out);
    assert_non_null(strstr(ack, "\"heartbeat_ack\""));
    assert_non_null(strstr(ack, "42"));
}

static int updates_seen;

static void free_session_on_update(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)ev;
    (void)context;
    updates_seen++;
    sm_session_free(sm_listener_get_session(l));
}

static void test_free_inside_event_stops_batch(void **state)
{
    (void)state;
    /* Replace the update callback: the first update frees the whole session. */
    tl.l->params.on_session_update = free_session_on_update;
    size_t before = tl.n;
    inject("{\"type\":\"events\",\"listener\":7,\"events\":["
           "{\"event\":\"PROPERTIES\",\"session\":\"a\",\"state\":\"ACTIVE\",\"properties\":{\"X\":\"1\"}},"
           "{\"event\":\"PROPERTIES\",\"session\":\"b\",\"state\":\"ACTIVE\",\"properties\":{\"X\":\"2\"}}]}");
    /* One update, then the listener's on_close (from the free); the second event is dropped. */
    assert_int_equal(updates_seen, 1);
    assert_int_equal(tl.n, before + 1);
    assert_true(tl.closed);
    assert_string_equal(tl.ev[tl.n - 1].kind, "lclose");
}

static void test_listener_close_stops_events(void **state)
{
    (void)state;
    sm_listener_close(tl.l);
    sm_listener_close(tl.l); /* twice is harmless */
    inject("{\"type\":\"events\",\"listener\":7,\"events\":[{\"event\":\"OPEN\",\"session\":\"x\",\"state\":\"ACTIVE\"}]}");
    assert_int_equal(th_count(&tl, "open"), 0);
    assert_false(tl.closed); /* on_close follows the server's confirmation (or the session's end) */
}

/* A key or filter is judged the same whether it goes to get/set_by_filter or to a listener. */
static void test_listener_arguments_checked_like_requests(void **state)
{
    (void)state;
    char long_key[SM_KEY_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char *long_filter = malloc(SM_FILTER_MAX + 2);
    assert_non_null(long_filter);
    memset(long_filter, ' ', SM_FILTER_MAX + 1);
    long_filter[SM_FILTER_MAX + 1] = '\0';
    const char *keys[] = {long_key};
    const char *bad_utf8[] = {"\xff"};
    sm_client_error e1, e2;

    sm_get_params g = {.session_id = "x", .keys = keys, .key_count = 1};
    assert_int_equal(sm_get_properties(s, &g, &e1), SM_CLIENT_ERR_INVALID_PROPERTY);
    sm_listener_params lp = {.keys = keys, .key_count = 1};
    assert_null(sm_listener_register(s, &lp, &e2));
    assert_int_equal(e2.code, e1.code);
    g.keys = lp.keys = bad_utf8;
    assert_int_equal(sm_get_properties(s, &g, &e1), SM_CLIENT_ERR_INVALID_PROPERTY);
    assert_null(sm_listener_register(s, &lp, &e2));
    assert_int_equal(e2.code, e1.code);

    sm_property one = {"k", "v"};
    sm_set_by_filter_params f = {.filter = long_filter, .properties = &one, .property_count = 1};
    assert_int_equal(sm_set_properties_by_filter(s, &f, &e1), SM_CLIENT_ERR_INVALID_FILTER);
    sm_listener_params lf = {.filter = long_filter};
    assert_null(sm_listener_register(s, &lf, &e2));
    assert_int_equal(e2.code, e1.code);
    free(long_filter);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sm_client_errcode_name(SM_CLIENT_ERR_ACCESS_DENIED), "ACCESS_DENIED");
    assert_string_equal(sm_client_errcode_name(SM_CLIENT_ERR_CONNECTION_LOST), "CONNECTION_LOST");
    assert_string_equal(sm_client_errcode_name(SM_CLIENT_ERR_CLUSTER_UNAVAILABLE), "CLUSTER_UNAVAILABLE");
    assert_string_equal(sm_client_errcode_name((sm_client_errcode)999), "UNKNOWN");
    assert_string_equal(sm_reason_name(SM_REASON_CLOSED_BY_CONTROLLER), "CLOSED_BY_CONTROLLER");
    assert_string_equal(sm_reason_name(SM_REASON_NONE), "NONE");
    assert_string_equal(sm_reason_name((sm_reason)99), "UNKNOWN");
}

/* Every timeout/poll call is cheap and non-blocking on an idle client. */
static void test_poll_api(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true};
    sm_client *idle = sm_client_new(&cp, NULL);
    assert_non_null(idle);
    assert_int_equal(sm_client_pollfds(idle, NULL, 0), 0);
    assert_int_equal(sm_client_timeout_ms(idle), -1);
    int64_t t0 = sm_mono_ms();
    sm_client_service(idle);
    sm_client_run_once(idle, 0);
    assert_true(sm_mono_ms() - t0 < 100);
    volatile int done = 0;
    assert_int_equal(sm_client_run_until(idle, &done, 50), SM_CLIENT_ERR_TIMEOUT);
    sm_client_free(idle);
    sm_client_free(NULL);
    sm_session_free(NULL);
    sm_listener_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_event_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_listener_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_event_stops_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_close_stops_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_arguments_checked_like_requests, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_poll_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
