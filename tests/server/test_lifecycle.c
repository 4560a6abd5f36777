/* sessmond integration tests: resume, reconnect timeout, heartbeats, client close, SIGTERM, restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static sm_test_server *start(const char *overrides)
{
    sm_test_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(sm_test_server_start_with(s, overrides), 0);
    return s;
}

static void stop(sm_test_server *s)
{
    assert_int_equal(sm_test_server_stop(s), 0);
    free(s);
}

static long long listen_on(tc *w, const char *filter, const char *keys)
{
    cJSON *r = tc_ok(w, "{\"type\":\"add_listener\",\"filter\":\"%s\",\"keys\":%s}", filter, keys);
    long long l = tc_int(r, "listener");
    cJSON_Delete(r);
    long long n;
    cJSON_Delete(tc_snapshot(w, l, &n));
    return l;
}

static cJSON *expect_event(tc *w, long long l, const char *type, const char *sid)
{
    cJSON *ev = tc_event(w, l, TC_TIMEOUT_MS);
    if (!ev)
        fail_msg("no %s event for %s", type, sid);
    if (strcmp(tc_str(ev, "event"), type) != 0 || strcmp(tc_str(ev, "session"), sid) != 0) {
        char *t = cJSON_PrintUnformatted(ev);
        fail_msg("expected %s for %s, got %s", type, sid, t);
    }
    return ev;
}

/* Sends resume on a new connection; returns the opened/refused message. */
static cJSON *resume(tc *c, const sm_test_server *s, const char *source, const char *sid, const char *token)
{
    memset(c, 0, sizeof *c);
    c->pending = cJSON_CreateArray();
    c->next_id = 1;
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .source_addr = source};
    assert_int_equal(sm_ws_connect(&c->ws, &o), SM_WS_OK);
    assert_int_equal(sm_ws_send_textf(&c->ws, "{\"type\":\"resume\",\"sessionId\":\"%s\",\"token\":\"%s\"}", sid, token),
                     SM_WS_OK);
    for (;;) {
        cJSON *m = tc_next(c, NULL, TC_TIMEOUT_MS);
        assert_non_null(m);
        const char *t = tc_str(m, "type");
        if (strcmp(t, "opened") == 0 || strcmp(t, "refused") == 0)
            return m;
        cJSON_Delete(m);
    }
}

static void test_resume_within_timeout(void **state)
{
    (void)state;
    sm_test_server *s = start("{\"limits\":{\"reconnectTimeoutMs\":3000}}");
    tc w, t, t2, t3;
    tc_open(&w, s, "viewer", "viewer", NULL);
    long long l = listen_on(&w, "Grp is 'r'", "[\"$ClientIP\",\"Grp\"]");
    /* The same listener with changedOnly: state events carry only what changed. */
    cJSON *lc = tc_ok(&w, "{\"type\":\"add_listener\",\"filter\":\"Grp is 'r'\",\"keys\":[\"$ClientIP\",\"Grp\"],"
                          "\"changedOnly\":true}");
    long long lco = tc_int(lc, "listener");
    cJSON_Delete(lc);
    long long none = -1;
    cJSON_Delete(tc_snapshot(&w, lco, &none));
    assert_int_equal(none, 0);
    tc_open(&t, s, "client", "client", "{\"Grp\":\"r\"}");
    cJSON_Delete(expect_event(&w, l, "OPEN", t.session_id));
    cJSON_Delete(expect_event(&w, lco, "OPEN", t.session_id));
    /* A drop without a close frame: DISCONNECTED, resumable; the requested set in full. */
    sm_ws_abort(&t.ws, false);
    cJSON *ev = expect_event(&w, l, "DISCONNECTED", t.session_id);
    assert_string_equal(tc_str(ev, "state"), "DISCONNECTED");
    assert_string_equal(tc_prop(ev, "properties", "Grp"), "r");
    assert_string_equal(tc_prop(ev, "properties", "$ClientIP"), "127.0.0.1");
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "changed"));
    cJSON_Delete(ev);
    ev = expect_event(&w, lco, "DISCONNECTED", t.session_id);
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "properties"));
    cJSON_Delete(ev);
    /* Still listed (and visible to get) while disconnected. */
    tc admin;
    tc_open(&admin, s, "admin", "admin", NULL);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", t.session_id));
    /* A new listener's snapshot reports it with its state. */
    cJSON *lr = tc_ok(&admin, "{\"type\":\"add_listener\",\"filter\":\"Grp is 'r'\"}");
    long long count = -1;
    cJSON *snap = tc_snapshot(&admin, tc_int(lr, "listener"), &count);
    cJSON_Delete(lr);
    assert_int_equal(count, 1);
    assert_string_equal(tc_str(snap->child, "session"), t.session_id);
    assert_string_equal(tc_str(snap->child, "state"), "DISCONNECTED");
    cJSON_Delete(snap);
    /* A wrong token is refused and changes nothing. */
    cJSON *r = resume(&t2, s, NULL, t.session_id, "00000000000000000000000000000000");
    assert_string_equal(tc_str(r, "type"), "refused");
    assert_string_equal(tc_str(r, "code"), "NO_SUCH_SESSION");
    cJSON_Delete(r);
    tc_close(&t2);
    /* The right token, from another address: same ID, RECONNECTED with the new $ClientIP. */
    r = resume(&t2, s, "127.0.0.3", t.session_id, t.token);
    assert_string_equal(tc_str(r, "type"), "opened");
    assert_string_equal(tc_str(r, "sessionId"), t.session_id);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "resumed")));
    cJSON_Delete(r);
    ev = expect_event(&w, l, "RECONNECTED", t.session_id);
    assert_string_equal(tc_str(ev, "state"), "ACTIVE");
    assert_string_equal(tc_prop(ev, "properties", "$ClientIP"), "127.0.0.3");
    assert_string_equal(tc_prop(ev, "properties", "Grp"), "r");
    assert_string_equal(tc_prop(ev, "changed", "$ClientIP"), "127.0.0.1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "changed")), 1);
    cJSON_Delete(ev);
    ev = expect_event(&w, lco, "RECONNECTED", t.session_id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "properties")), 1);
    assert_string_equal(tc_prop(ev, "properties", "$ClientIP"), "127.0.0.3");
    assert_string_equal(tc_prop(ev, "changed", "$ClientIP"), "127.0.0.1");
    cJSON_Delete(ev);
    /* The resumed session works, keeps its properties, and cannot be resumed twice. */
    cJSON *g = tc_ok(&t2, "{\"type\":\"ping\"}");
    cJSON_Delete(g);
    g = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Grp\"]}", t.session_id);
    assert_string_equal(tc_prop(g, "properties", "Grp"), "r");
    cJSON_Delete(g);
    r = resume(&t3, s, NULL, t.session_id, t.token);
    assert_string_equal(tc_str(r, "code"), "NO_SUCH_SESSION");
    cJSON_Delete(r);
    tc_close(&t3);
    /* A close frame from the client: CLOSED_BY_CLIENT. */
    assert_int_equal(sm_ws_send_close(&t2.ws, 1000, "bye"), SM_WS_OK);
    ev = expect_event(&w, l, "CLOSED", t.session_id);
    assert_string_equal(tc_str(ev, "reason"), "CLOSED_BY_CLIENT");
    assert_string_equal(tc_prop(ev, "properties", "Grp"), "r");
    cJSON_Delete(ev);
    ev = expect_event(&w, lco, "CLOSED", t.session_id);
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "properties"));
    cJSON_Delete(ev);
    tc_close(&t2);
    tc_close(&t);
    tc_close(&admin);
    tc_close(&w);
    stop(s);
}

static void test_reconnect_timeout_and_listener_drop(void **state)
{
    (void)state;
    sm_test_server *s = start("{\"limits\":{\"reconnectTimeoutMs\":1000}}");
    tc w, t, again, w2;
    tc_open(&w, s, "viewer", "viewer", NULL);
    long long l = listen_on(&w, "Grp is 't'", "[]");
    /* A listening session that drops loses its listeners (they are not kept across a resume). */
    tc_open(&w2, s, "viewer", "viewer", "{\"Grp\":\"t\"}");
    cJSON_Delete(expect_event(&w, l, "OPEN", w2.session_id));
    long long l2 = listen_on(&w2, "Grp is 't'", "[]");
    sm_ws_abort(&w2.ws, true);
    cJSON_Delete(expect_event(&w, l, "DISCONNECTED", w2.session_id));
    cJSON *r = resume(&again, s, NULL, w2.session_id, w2.token);
    assert_string_equal(tc_str(r, "type"), "opened");
    cJSON_Delete(r);
    cJSON_Delete(expect_event(&w, l, "RECONNECTED", w2.session_id));
    cJSON_Delete(tc_err(&again, "NO_SUCH_LISTENER", "{\"type\":\"remove_listener\",\"listener\":%lld}", l2));
    tc_close(&again);
    cJSON_Delete(expect_event(&w, l, "DISCONNECTED", w2.session_id));
    cJSON *ev = expect_event(&w, l, "CLOSED", w2.session_id);
    assert_string_equal(tc_str(ev, "reason"), "CONNECTION_LOST");
    cJSON_Delete(ev);
    /* Too late to resume now. */
    r = resume(&again, s, NULL, w2.session_id, w2.token);
    assert_string_equal(tc_str(r, "code"), "NO_SUCH_SESSION");
    cJSON_Delete(r);
    char reason[128];
    assert_int_equal(tc_wait_close(&again, reason, sizeof reason, TC_TIMEOUT_MS), 1008);
    tc_close(&again);
    (void)t;
    tc_close(&w2);
    tc_close(&w);
    stop(s);
}

static void test_heartbeats(void **state)
{
    (void)state;
    sm_test_server *s = start("{\"limits\":{\"heartbeatIntervalMs\":200,\"heartbeatTimeoutMs\":300}}");
    tc w, mute, live, idle;
    /* A connection that never opens a session is dropped after heartbeat interval + timeout. */
    memset(&idle, 0, sizeof idle);
    idle.pending = cJSON_CreateArray();
    assert_int_equal(sm_ws_connect_port(&idle.ws, s->port), SM_WS_OK);
    tc_open(&w, s, "viewer", "viewer", NULL);
    long long l = listen_on(&w, "Hb is 'x'", "[]");
    tc_open(&mute, s, "client", "client", "{\"Hb\":\"x\"}");
    mute.ws.auto_heartbeat = false;
    tc_open(&live, s, "client", "client", "{\"Hb\":\"x\"}");
    cJSON_Delete(expect_event(&w, l, "OPEN", mute.session_id));
    cJSON_Delete(expect_event(&w, l, "OPEN", live.session_id));
    /* The mute client sees a heartbeat, ignores it, and is closed as unresponsive. Meanwhile the
     * watcher and the live client keep reading (wsraw answers their heartbeats). */
    cJSON *hb = NULL;
    char reason[128] = "";
    int code = -1;
    for (int i = 0; i < 200 && code < 0; i++) {
        cJSON_Delete(tc_next(&w, "none", 10));
        cJSON_Delete(tc_next(&live, "none", 1));
        if (!hb) {
            hb = tc_next(&mute, "heartbeat", 10);
            continue;
        }
        code = tc_wait_close(&mute, reason, sizeof reason, 10);
    }
    assert_non_null(hb);
    assert_true(tc_int(hb, "seq") >= 1);
    cJSON_Delete(hb);
    assert_int_equal(code, 1008);
    assert_string_equal(reason, "CLIENT_UNRESPONSIVE");
    cJSON *ev = expect_event(&w, l, "CLOSED", mute.session_id);
    assert_string_equal(tc_str(ev, "reason"), "CLIENT_UNRESPONSIVE");
    cJSON_Delete(ev);
    /* The live one answers for a while and stays open. */
    for (int i = 0; i < 60; i++) {
        cJSON_Delete(tc_next(&w, "none", 10));
        cJSON_Delete(tc_next(&live, "none", 10));
    }
    assert_true(live.ws.heartbeats_seen >= 2);
    cJSON_Delete(tc_ok(&live, "{\"type\":\"ping\"}"));
    assert_int_equal(tc_wait_close(&idle, reason, sizeof reason, TC_TIMEOUT_MS), 1001);
    assert_string_equal(reason, "ABORTED");
    tc_close(&idle);
    tc_close(&mute);
    tc_close(&live);
    tc_close(&w);
    stop(s);
}

static void test_sigterm_closes_everyone(void **state)
{
    (void)state;
    sm_test_server *s = start(NULL);
    tc w, t[3];
    tc_open(&w, s, "admin", "admin", NULL);
    long long l = listen_on(&w, "Bye is 'y'", "[]");
    for (int i = 0; i < 3; i++) {
        tc_open(&t[i], s, "client", "client", "{\"Bye\":\"y\"}");
        cJSON_Delete(expect_event(&w, l, "OPEN", t[i].session_id));
    }
    assert_int_equal(kill(s->pid, SIGTERM), 0);
    char reason[128];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_wait_close(&t[i], reason, sizeof reason, TC_TIMEOUT_MS), 1001);
        assert_string_equal(reason, "SERVER_CLOSING");
    }
    for (int i = 0; i < 3; i++) {
        cJSON *ev = expect_event(&w, l, "CLOSED", t[i].session_id);
        assert_string_equal(tc_str(ev, "reason"), "SERVER_CLOSING");
        cJSON_Delete(ev);
    }
    assert_int_equal(tc_wait_close(&w, reason, sizeof reason, TC_TIMEOUT_MS), 1001);
    assert_string_equal(reason, "SERVER_CLOSING");
    for (int i = 0; i < 3; i++)
        tc_close(&t[i]);
    tc_close(&w);
    stop(s);
}

static void test_crash_and_restart(void **state)
{
    (void)state;
    sm_test_server *s = start(NULL);
    int port = s->port;
    tc c;
    tc_open(&c, s, "client", "client", NULL);
    sm_test_server_kill(s);
    assert_true(tc_wait_close(&c, NULL, 0, TC_TIMEOUT_MS) == 0);
    tc_close(&c);
    assert_int_equal(sm_test_server_restart(s), 0);
    assert_int_equal(s->port, port);
    tc_open(&c, s, "client", "client", NULL);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    tc_close(&c);
    stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_within_timeout),
        cmocka_unit_test(test_reconnect_timeout_and_listener_drop),
        cmocka_unit_test(test_heartbeats),
        cmocka_unit_test(test_sigterm_closes_everyone),
        cmocka_unit_test(test_crash_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
