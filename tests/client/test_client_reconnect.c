/* libsessmon resilience against a real sessmond: resume, reconnect after a crash, give-up, timeouts, re-entrancy. */
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

#include "client/internal.h"
#include "client/sessmon.h"
#include "helpers.h"
#include "test_server.h"

static sm_client *cl;

static int setup(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true};
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

static void spin(int ms)
{
    int64_t end = sm_mono_ms() + ms;
    while (sm_mono_ms() < end)
        sm_client_run_once(cl, 10);
}

static sm_listener *listen_all(sm_session *s, th_listener *tl)
{
    memset(tl, 0, sizeof *tl);
    static const char *keys[] = {"$Principal", "Tag"};
    sm_listener_params lp = {.keys = keys, .key_count = 2};
    th_listener_params(&lp, tl);
    tl->l = sm_listener_register(s, &lp, NULL);
    TH_WAIT(cl, th_find(tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    return th_find(tl, 0, "snapend", NULL) >= 0 ? tl->l : NULL;
}

/* An abrupt drop while the server stays up: the same session is resumed. */
static void test_resume_after_drop(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    static th_session a, obs;
    static th_listener la, lo;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &obs, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(listen_all(a.s, &la));
    assert_non_null(listen_all(obs.s, &lo));
    char id[128];
    snprintf(id, sizeof id, "%s", a.id);
    char token[128];
    snprintf(token, sizeof token, "%s", sm_client__token(a.s));

    sm_client_error derr;
    assert_int_equal(sm_session_drop_connection(NULL, &derr), SM_CLIENT_ERR_INVALID_ARGUMENT);
    assert_int_equal(sm_session_drop_connection(a.s, &derr), SM_CLIENT_OK);
    TH_WAIT(cl, a.opens == 2, TH_TIMEOUT_MS);
    assert_int_equal(a.disconnects, 1);
    assert_int_equal(a.opens, 2);
    assert_true(a.resumed);
    assert_false(a.replaced);
    assert_string_equal(a.id, id);
    assert_int_equal(sm_session_get_status(a.s), SM_SESSION_OPEN);

    /* The listener is registered again and resynchronises from a fresh snapshot. */
    TH_WAIT(cl, th_count(&la, "snapend") == 2, TH_TIMEOUT_MS);
    int r2 = th_find(&la, 1, "registered", NULL);
    assert_true(r2 > 0);
    assert_true(la.ev[r2].resync);
    assert_true(th_find(&la, (size_t)r2, "snapend", NULL) > r2);

    /* Other listeners saw it go DISCONNECTED and come back RECONNECTED. */
    TH_WAIT(cl, th_find(&lo, 0, "update", id) >= 0 && th_find(&lo, (size_t)th_find(&lo, 0, "update", id) + 1, "update", id) >= 0,
            TH_TIMEOUT_MS);
    int d = th_find(&lo, 0, "update", id);
    assert_true(d >= 0);
    assert_int_equal(lo.ev[d].update, SM_UPDATE_DISCONNECTED);
    assert_int_equal(lo.ev[d].state, SM_REMOTE_DISCONNECTED);
    int rc = th_find(&lo, (size_t)d + 1, "update", id);
    assert_true(rc > d);
    assert_int_equal(lo.ev[rc].update, SM_UPDATE_RECONNECTED);
    assert_int_equal(lo.ev[rc].state, SM_REMOTE_ACTIVE);

    /* Requests flow again. */
    static th_reply r;
    assert_int_equal(th_get(cl, a.s, id, NULL, 0, &r), SM_CLIENT_OK);
    sm_session_close(a.s, NULL);
    /* Closing: nothing left to drop (the close must not turn into a reconnect). */
    assert_int_equal(sm_session_drop_connection(a.s, &derr), SM_CLIENT_ERR_CLOSED);
    sm_session_close(obs.s, NULL);
    TH_WAIT(cl, a.closed && obs.closed, TH_TIMEOUT_MS);
    assert_true(la.closed);
    sm_session_free(a.s);
    sm_session_free(obs.s);
    th_listener_free(&la);
    th_listener_free(&lo);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

/* The server crashes and comes back without its state: a new session, listeners re-registered,
 * requests in flight failed with CONNECTION_LOST, queued ones sent after the reconnection. */
static void test_reconnect_after_server_restart(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    static th_session a;
    static th_listener la;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(listen_all(a.s, &la));
    char old_id[128];
    snprintf(old_id, sizeof old_id, "%s", a.id);

    /* Freeze the server so the ping is written but never answered, then crash it. */
    assert_int_equal(kill(srv.pid, SIGSTOP), 0);
    static th_reply inflight, queued;
    memset(&inflight, 0, sizeof inflight);
    memset(&queued, 0, sizeof queued);
    sm_ping_params pp = {.on_reply = th_reply_cb, .context = &inflight};
    assert_int_equal(sm_ping(a.s, &pp, NULL), SM_CLIENT_OK);
    spin(100);
    assert_false(inflight.done);
    sm_test_server_kill(&srv);
    TH_WAIT(cl, inflight.done, TH_TIMEOUT_MS);
    assert_true(inflight.done);
    assert_int_equal(inflight.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_non_null(strstr(inflight.message, "connection lost"));
    assert_int_equal(a.disconnects, 1);
    assert_int_equal(sm_session_get_status(a.s), SM_SESSION_RECONNECTING);
    assert_false(la.closed); /* listeners survive a drop */

    /* While down, a new request waits in the queue. */
    sm_ping_params qp = {.on_reply = th_reply_cb, .context = &queued};
    assert_int_equal(sm_ping(a.s, &qp, NULL), SM_CLIENT_OK);
    spin(300);
    assert_false(queued.done);

    assert_int_equal(sm_test_server_restart(&srv), 0);
    TH_WAIT(cl, a.opens == 2, TH_TIMEOUT_MS);
    assert_int_equal(a.opens, 2);
    assert_true(a.replaced);
    assert_false(a.resumed);
    assert_string_not_equal(a.id, old_id);
    assert_string_equal(sm_session_get_info(a.s)->session_id, a.id);

    TH_WAIT(cl, queued.done && th_count(&la, "snapend") == 2, TH_TIMEOUT_MS);
    assert_true(queued.done);
    assert_int_equal(queued.code, SM_CLIENT_OK);
    int r2 = th_find(&la, 1, "registered", NULL);
    assert_true(r2 > 0);
    assert_true(la.ev[r2].resync);
    /* The fresh snapshot reports our new session (the only one on the new server). */
    int o = th_find(&la, (size_t)r2, "open", a.id);
    assert_true(o > r2);
    assert_true(la.ev[o].snapshot);

    sm_session_close(a.s, NULL);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    assert_int_equal(a.close_reason, SM_REASON_CLOSED_BY_CLIENT);
    sm_session_free(a.s);
    th_listener_free(&la);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

/* Reconnecting is given up after reconnect_give_up_ms; everything pending fails clearly. */
static void test_give_up_and_no_reconnect(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    static th_session a, b;
    static th_listener la;
    memset(&a, 0, sizeof a);
    sm_session_params p = {.url = srv.url, .principal = "admin", .password = "admin",
                           .reconnect_initial_ms = 50, .reconnect_max_ms = 100, .reconnect_give_up_ms = 500};
    th_session_params(&p, &a);
    a.s = sm_session_open(cl, &p, NULL);
    memset(&b, 0, sizeof b);
    sm_session_params q = {.url = srv.url, .no_reconnect = true};
    th_session_params(&q, &b);
    b.s = sm_session_open(cl, &q, NULL);
    TH_WAIT(cl, a.opens && b.opens, TH_TIMEOUT_MS);
    assert_non_null(listen_all(a.s, &la));

    sm_test_server_kill(&srv);
    TH_WAIT(cl, b.closed, TH_TIMEOUT_MS);
    assert_true(b.closed);
    assert_int_equal(b.close_reason, SM_REASON_CONNECTION_LOST);
    assert_int_equal(b.close_error.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_int_equal(b.disconnects, 0);

    static th_reply queued;
    memset(&queued, 0, sizeof queued);
    TH_WAIT(cl, a.disconnects == 1, TH_TIMEOUT_MS);
    sm_ping_params qp = {.on_reply = th_reply_cb, .context = &queued};
    assert_int_equal(sm_ping(a.s, &qp, NULL), SM_CLIENT_OK);
    int64_t t0 = sm_mono_ms();
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    assert_true(a.closed);
    assert_true(sm_mono_ms() - t0 < 2000);
    assert_int_equal(a.close_error.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_non_null(strstr(a.close_error.message, "gave up"));
    assert_true(queued.done);
    assert_int_equal(queued.code, SM_CLIENT_ERR_CLOSED);
    /* The listener ended with an error, then on_close. */
    int e = th_find(&la, 0, "error", NULL);
    assert_true(e >= 0);
    assert_true(th_find(&la, (size_t)e, "lclose", NULL) > e);
    sm_session_free(a.s);
    sm_session_free(b.s);
    th_listener_free(&la);
    sm_test_server_stop(&srv);
}

/* A server shutdown closes with SERVER_CLOSING: final, not retried. */
static void test_server_closing(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, NULL, NULL, NULL, 0));
    assert_int_equal(sm_test_server_stop(&srv), 0);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    assert_true(a.closed);
    assert_int_equal(a.close_reason, SM_REASON_SERVER_CLOSING);
    assert_int_equal(a.close_error.code, SM_CLIENT_ERR_CLOSED);
    assert_int_equal(a.disconnects, 0);
    sm_session_free(a.s);
}

/* retry_initial_connect: a session created while the server is down opens once it is up. */
static void test_retry_initial_connect(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    sm_test_server_kill(&srv);
    static th_session a;
    memset(&a, 0, sizeof a);
    sm_session_params p = {.url = srv.url, .retry_initial_connect = true, .reconnect_initial_ms = 50,
                           .reconnect_max_ms = 200};
    th_session_params(&p, &a);
    a.s = sm_session_open(cl, &p, NULL);
    spin(300);
    assert_int_equal(a.opens, 0);
    assert_false(a.closed);
    assert_int_equal(sm_session_get_status(a.s), SM_SESSION_CONNECTING);
    assert_int_equal(sm_test_server_restart(&srv), 0);
    TH_WAIT(cl, a.opens == 1, TH_TIMEOUT_MS);
    assert_int_equal(a.opens, 1);
    assert_false(a.replaced);
    sm_session_close(a.s, NULL);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    sm_session_free(a.s);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

/* Request timeouts, and client-side liveness detecting a server that stopped answering. */
static void test_timeout_and_liveness(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    static th_session a;
    memset(&a, 0, sizeof a);
    sm_session_params p = {.url = srv.url, .principal = "admin", .password = "admin", .liveness_timeout_ms = 300,
                           .reconnect_initial_ms = 50, .reconnect_max_ms = 100};
    th_session_params(&p, &a);
    a.s = sm_session_open(cl, &p, NULL);
    TH_WAIT(cl, a.opens == 1, TH_TIMEOUT_MS);
    char id[128];
    snprintf(id, sizeof id, "%s", a.id);

    assert_int_equal(kill(srv.pid, SIGSTOP), 0);
    /* A request with a later deadline queued first must not hide the earlier one. */
    static th_reply r_long;
    memset(&r_long, 0, sizeof r_long);
    sm_ping_params pl = {.on_reply = th_reply_cb, .context = &r_long, .timeout_ms = 60000};
    assert_int_equal(sm_ping(a.s, &pl, NULL), SM_CLIENT_OK);
    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_ping_params pp = {.on_reply = th_reply_cb, .context = &r, .timeout_ms = 150};
    assert_int_equal(sm_ping(a.s, &pp, NULL), SM_CLIENT_OK);
    TH_WAIT(cl, r.done, 2000);
    assert_true(r.done);
    assert_int_equal(r.code, SM_CLIENT_ERR_TIMEOUT);
    assert_false(r_long.done);

    /* Nothing heard for 2 x 300 ms: the connection is dropped and retried. */
    TH_WAIT(cl, a.disconnects == 1, 3000);
    assert_int_equal(a.disconnects, 1);
    assert_true(r_long.done);
    assert_int_equal(r_long.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_int_equal(kill(srv.pid, SIGCONT), 0);
    TH_WAIT(cl, a.opens == 2, TH_TIMEOUT_MS);
    assert_int_equal(a.opens, 2);
    assert_true(a.resumed);
    assert_string_equal(a.id, id);
    sm_session_close(a.s, NULL);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    sm_session_free(a.s);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

/* The server's heartbeats are answered automatically: an idle session stays open. */
static void test_heartbeat(void **state)
{
    (void)state;
    static sm_test_server srv;
    const char *limits = "{\"limits\":{\"heartbeatIntervalMs\":100,\"heartbeatTimeoutMs\":150}}";
    assert_int_equal(sm_test_server_start_with(&srv, limits), 0);
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, NULL, NULL, NULL, 0));
    assert_int_equal(sm_session_get_info(a.s)->heartbeat_interval_ms, 100);
    spin(1200);
    assert_false(a.closed);
    assert_int_equal(a.disconnects, 0);
    assert_int_equal(a.opens, 1);
    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_ping_params pp = {.on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_ping(a.s, &pp, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    sm_session_close(a.s, NULL);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    assert_int_equal(a.close_reason, SM_REASON_CLOSED_BY_CLIENT);
    sm_session_free(a.s);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

/* ---- Re-entrancy: any call, including frees, is safe from inside a callback ---- */

static int reentrant_closes;
static void free_on_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *context)
{
    (void)reason;
    (void)err;
    (void)context;
    reentrant_closes++;
    sm_session_free(s);
    sm_session_free(s); /* a second free of a freed handle inside the same callback is harmless */
}

static sm_client *inner_client;
static volatile int inner_freed;
static void free_client_on_reply(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    (void)r;
    (void)context;
    sm_client_service(inner_client); /* nested service: a no-op */
    sm_client_free(inner_client);
    inner_freed = 1;
}

static int cancelled_replies;
static void count_cancel(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    (void)context;
    if (r->error && r->error->code == SM_CLIENT_ERR_CANCELLED)
        cancelled_replies++;
}

static void test_reentrancy(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);

    /* sm_session_free from on_close. */
    sm_session_params p = {.url = srv.url, .on_close = free_on_close};
    sm_session *s = sm_session_open(cl, &p, NULL);
    assert_non_null(s);
    spin(100);
    assert_int_equal(sm_session_close(s, NULL), SM_CLIENT_OK);
    TH_WAIT(cl, reentrant_closes == 1, TH_TIMEOUT_MS);
    assert_int_equal(reentrant_closes, 1);

    /* sm_listener_close from inside an event callback: no more events after it. */
    static th_session a, t;
    static th_listener tl;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, NULL, 0));
    memset(&tl, 0, sizeof tl);
    const char *keys[] = {"*U"};
    sm_listener_params lp = {.keys = keys, .key_count = 1};
    th_listener_params(&lp, &tl);
    tl.close_inside_event = true;
    tl.l = sm_listener_register(a.s, &lp, NULL);
    TH_WAIT(cl, th_find(&tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    static th_reply r;
    sm_property p1[] = {{"A", "1"}};
    sm_property p2[] = {{"A", "2"}};
    assert_int_equal(th_set(cl, a.s, t.id, p1, 1, &r), SM_CLIENT_OK);
    assert_int_equal(th_set(cl, a.s, t.id, p2, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    assert_true(tl.closed);
    assert_int_equal(th_count(&tl, "update"), 1);
    th_listener_free(&tl);

    /* sm_client_free from inside a reply callback of that client. */
    sm_client_params cp = {.no_tls = true};
    inner_client = sm_client_new(&cp, NULL);
    assert_non_null(inner_client);
    sm_session_params ip = {.url = srv.url};
    sm_session *is = sm_session_open(inner_client, &ip, NULL);
    sm_ping_params pp = {.on_reply = free_client_on_reply};
    assert_int_equal(sm_ping(is, &pp, NULL), SM_CLIENT_OK);
    sm_ping_params pc = {.on_reply = count_cancel};
    assert_int_equal(sm_ping(is, &pc, NULL), SM_CLIENT_OK); /* still outstanding at the free */
    assert_int_equal(sm_client_run_until(inner_client, &inner_freed, TH_TIMEOUT_MS), SM_CLIENT_ERR_CANCELLED);
    assert_true(inner_freed);
    assert_int_equal(cancelled_replies, 1);

    /* sm_session_free outside a callback: outstanding callbacks get CANCELLED. */
    cancelled_replies = 0;
    assert_int_equal(sm_ping(a.s, &pc, NULL), SM_CLIENT_OK);
    sm_session_free(a.s);
    assert_int_equal(cancelled_replies, 1);
    sm_session_close(t.s, NULL);
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    sm_session_free(t.s);
    assert_int_equal(sm_test_server_stop(&srv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_after_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_server_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_up_and_no_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_initial_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_liveness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reentrancy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
