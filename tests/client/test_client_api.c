/* libsessmon against a real sessmond: open, get, set, set by filter, close, listeners, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/sessmon.h"
#include "helpers.h"
#include "test_server.h"

static sm_test_server srv;
static sm_client *cl;

static int group_setup(void **state)
{
    (void)state;
    if (sm_test_server_start(&srv, NULL) != 0)
        return -1;
    sm_client_params cp = {.no_tls = true};
    cl = sm_client_new(&cp, NULL);
    return cl ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    sm_client_free(cl);
    return sm_test_server_stop(&srv) == 0 ? 0 : -1;
}

/* Closes a test session cleanly so it does not linger in other tests' snapshots. */
static void close_and_free(th_session *t)
{
    if (!t->s)
        return;
    if (!t->closed && sm_session_close(t->s, NULL) == SM_CLIENT_OK)
        TH_WAIT(cl, t->closed, TH_TIMEOUT_MS);
    sm_session_free(t->s);
    t->s = NULL;
}

static void test_open_anonymous(void **state)
{
    (void)state;
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, NULL, NULL, NULL, 0));
    assert_int_equal(sm_session_get_status(a.s), SM_SESSION_OPEN);
    const sm_session_info *info = sm_session_get_info(a.s);
    assert_non_null(info);
    assert_string_equal(info->principal, "");
    assert_string_equal(info->session_id, a.id);
    assert_true(strlen(a.id) > 0);
    assert_int_equal(info->permissions, 0); /* anonymous = CLIENT role: no permissions */
    assert_false(info->resumed);
    assert_false(info->replaced);
    assert_true(info->max_message_bytes > 0);
    close_and_free(&a);
    assert_int_equal(a.close_reason, SM_REASON_CLOSED_BY_CLIENT);
    assert_int_equal(a.close_error.code, SM_CLIENT_OK);
}

static void test_open_principals(void **state)
{
    (void)state;
    static th_session a, o, v;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &o, srv.url, "operator", "operator", NULL, 0));
    assert_non_null(th_open(cl, &v, srv.url, "viewer", "viewer", NULL, 0));
    unsigned all = SM_PERMISSION_VIEW_SESSION | SM_PERMISSION_MODIFY_SESSION | SM_PERMISSION_REGISTER_HANDLER;
    assert_int_equal(a.permissions, all);
    assert_int_equal(o.permissions, all);
    assert_int_equal(v.permissions, SM_PERMISSION_VIEW_SESSION | SM_PERMISSION_REGISTER_HANDLER);
    assert_string_equal(sm_session_get_info(a.s)->principal, "admin");
    close_and_free(&a);
    close_and_free(&o);
    close_and_free(&v);
}

static void test_wrong_password(void **state)
{
    (void)state;
    static th_session t;
    assert_null(th_open(cl, &t, srv.url, "admin", "not-the-password", NULL, 0));
    assert_true(t.closed);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_AUTHENTICATION_FAILED);
    assert_int_equal(t.disconnects, 0);
    assert_int_equal(sm_session_get_status(t.s), SM_SESSION_CLOSED);
    /* Final: no reconnection attempt follows. */
    int64_t end = sm_mono_ms() + 300;
    while (sm_mono_ms() < end)
        sm_client_run_once(cl, 20);
    assert_int_equal(t.opens, 0);
    sm_session_free(t.s);
}

static int log_lines;
static void count_log(unsigned level, const char *line, void *user)
{
    (void)level;
    (void)user;
    if (strstr(line, "libsessmon"))
        log_lines++;
}

static void test_connect_refused(void **state)
{
    (void)state;
    static th_session t;
    sm_client_set_log_sink(count_log, NULL, SM_LOG_ERR | SM_LOG_WARN | SM_LOG_NOTICE | SM_LOG_INFO);
    assert_null(th_open(cl, &t, "ws://127.0.0.1:1", NULL, NULL, NULL, 0));
    sm_client_set_log_sink(NULL, NULL, 0);
    assert_true(log_lines > 0); /* the library's own messages reach the caller's sink */
    assert_true(t.closed);
    assert_int_equal(t.close_error.code, SM_CLIENT_ERR_CONNECT_FAILED);
    assert_int_equal(t.close_reason, SM_REASON_NONE);
    sm_session_free(t.s);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    sm_client_error err;
    sm_session_params p = {.url = "http://127.0.0.1:1"};
    assert_null(sm_session_open(cl, &p, &err));
    assert_int_equal(err.code, SM_CLIENT_ERR_INVALID_ARGUMENT);
    p.url = "ws://bad host:1";
    assert_null(sm_session_open(cl, &p, &err));
    p.url = "ws://127.0.0.1:99999";
    assert_null(sm_session_open(cl, &p, &err));
    sm_property bad = {"$SessionId", "x"};
    p.url = srv.url;
    p.properties = &bad;
    p.property_count = 1;
    assert_null(sm_session_open(cl, &p, &err));
    assert_int_equal(err.code, SM_CLIENT_ERR_INVALID_PROPERTY);

    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    sm_get_params g = {.session_id = NULL};
    assert_int_equal(sm_get_properties(a.s, &g, &err), SM_CLIENT_ERR_INVALID_ARGUMENT);
    char huge[70000];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    sm_set_by_filter_params f = {.filter = "all"};
    sm_property big = {"Big", huge};
    f.properties = &big;
    f.property_count = 1;
    /* Values are limited to 4096 bytes: caught before anything is sent. */
    assert_int_equal(sm_set_properties_by_filter(a.s, &f, &err), SM_CLIENT_ERR_INVALID_PROPERTY);
    close_and_free(&a);
}

static void test_get_and_set(void **state)
{
    (void)state;
    static th_session a, b;
    sm_property props[] = {{"Department", "Accounts"}, {"Tier", "gold"}};
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &b, srv.url, NULL, NULL, props, 2));

    static th_reply r;
    assert_int_equal(th_get(cl, a.s, b.id, NULL, 0, &r), SM_CLIENT_OK);
    assert_non_null(strstr(r.props, "Department=Accounts;"));
    assert_non_null(strstr(r.props, "Tier=gold;"));
    char want[200];
    snprintf(want, sizeof want, "$SessionId=%s;", b.id);
    assert_non_null(strstr(r.props, want));
    assert_non_null(strstr(r.props, "$Principal=;"));

    const char *keys[] = {"Tier", "Missing", "$ClientType"};
    assert_int_equal(th_get(cl, a.s, b.id, keys, 3, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "$ClientType=C;Tier=gold;");

    const char *user[] = {"*U"};
    assert_int_equal(th_get(cl, a.s, b.id, user, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "Department=Accounts;Tier=gold;");

    sm_property set1[] = {{"Tier", "silver"}, {"Region", "EU"}, {"Department", NULL}};
    assert_int_equal(th_set(cl, a.s, b.id, set1, 3, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "Department=Accounts;Region=<null>;Tier=gold;");
    assert_int_equal(th_get(cl, a.s, b.id, user, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "Region=EU;Tier=silver;");

    /* Setting the same value again changes nothing. */
    sm_property same[] = {{"Tier", "silver"}};
    assert_int_equal(th_set(cl, a.s, b.id, same, 1, &r), SM_CLIENT_OK);
    assert_int_equal(r.prop_count, 0);

    /* A settable fixed property is normalised by the server. */
    sm_property country[] = {{"$Country", "de"}};
    assert_int_equal(th_set(cl, a.s, b.id, country, 1, &r), SM_CLIENT_OK);
    const char *ck[] = {"$Country"};
    assert_int_equal(th_get(cl, a.s, b.id, ck, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "$Country=DE;");
    close_and_free(&a);
    close_and_free(&b);
}

static void test_set_by_filter_and_close_by_filter(void **state)
{
    (void)state;
    static th_session a, t[3];
    sm_property props[] = {{"Batch", "sbf"}};
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    for (int i = 0; i < 3; i++)
        assert_non_null(th_open(cl, &t[i], srv.url, NULL, NULL, props, 1));

    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_property upd[] = {{"Flag", "on"}};
    sm_set_by_filter_params p = {.filter = "Batch is 'sbf'", .properties = upd, .property_count = 1,
                                 .on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_set_properties_by_filter(a.s, &p, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_int_equal(r.count, 3);
    const char *fk[] = {"Flag"};
    assert_int_equal(th_get(cl, a.s, t[1].id, fk, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "Flag=on;");

    memset(&r, 0, sizeof r);
    sm_close_by_filter_params c = {.filter = "Flag is 'on' and Batch is 'sbf'", .on_reply = th_reply_cb,
                                   .context = &r};
    assert_int_equal(sm_close_by_filter(a.s, &c, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_int_equal(r.count, 3);
    for (int i = 0; i < 3; i++) {
        TH_WAIT(cl, t[i].closed, TH_TIMEOUT_MS);
        assert_true(t[i].closed);
        assert_int_equal(t[i].close_reason, SM_REASON_CLOSED_BY_CONTROLLER);
        assert_int_equal(t[i].close_error.code, SM_CLIENT_ERR_CLOSED);
        assert_int_equal(t[i].disconnects, 0); /* a deliberate close is never retried */
        sm_session_free(t[i].s);
    }
    close_and_free(&a);
}

static void test_close_by_id(void **state)
{
    (void)state;
    static th_session a, b;
    assert_non_null(th_open(cl, &a, srv.url, "operator", "operator", NULL, 0));
    assert_non_null(th_open(cl, &b, srv.url, NULL, NULL, NULL, 0));
    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_close_by_id_params p = {.session_id = b.id, .on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_close_by_id(a.s, &p, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    TH_WAIT(cl, b.closed, TH_TIMEOUT_MS);
    assert_int_equal(b.close_reason, SM_REASON_CLOSED_BY_CONTROLLER);
    /* The closed session refuses further requests at once. */
    sm_client_error err;
    sm_ping_params pp = {0};
    assert_int_equal(sm_ping(b.s, &pp, &err), SM_CLIENT_ERR_CLOSED);
    sm_session_free(b.s);
    /* Closing it again: it is gone. */
    memset(&r, 0, sizeof r);
    assert_int_equal(sm_close_by_id(a.s, &p, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_ERR_NO_SUCH_SESSION);
    close_and_free(&a);
}

static void test_ping(void **state)
{
    (void)state;
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, NULL, NULL, NULL, 0));
    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_ping_params p = {.on_reply = th_reply_cb, .context = &r, .timeout_ms = 5000};
    assert_int_equal(sm_ping(a.s, &p, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_true(r.server_time > 1600000000000LL);
    close_and_free(&a);
}

static void count_reply(sm_session *s, const sm_reply *reply, void *context)
{
    (void)s;
    unsigned *counts = context;
    counts[reply->error ? 1 : 0]++;
}

/* Requests issued together are pipelined, several per write event: a program with many idle
 * sessions pays a poll of all their sockets per service pass, so one request per pass would
 * make a busy session crawl. */
static void test_requests_pipelined(void **state)
{
    (void)state;
    enum { REQUESTS = 300 };
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, NULL, NULL, NULL, 0));
    unsigned counts[2] = {0, 0};
    sm_ping_params p = {.on_reply = count_reply, .context = counts, .timeout_ms = 5000};
    for (int i = 0; i < REQUESTS; i++)
        assert_int_equal(sm_ping(a.s, &p, NULL), SM_CLIENT_OK);
    unsigned passes = 0;
    int64_t end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (counts[0] + counts[1] < REQUESTS && sm_mono_ms() < end) {
        sm_client_run_once(cl, 20);
        passes++;
    }
    assert_int_equal(counts[0], REQUESTS);
    assert_int_equal(counts[1], 0);
    assert_true(passes < REQUESTS / 2);
    close_and_free(&a);
}

static void test_errors(void **state)
{
    (void)state;
    static th_session a, v, n;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &v, srv.url, "viewer", "viewer", NULL, 0));
    assert_non_null(th_open(cl, &n, srv.url, "client", "client", NULL, 0));
    static th_reply r;
    sm_property p[] = {{"Tier", "x"}};

    /* No permission: ACCESS_DENIED and nothing changes. */
    assert_int_equal(th_set(cl, v.s, a.id, p, 1, &r), SM_CLIENT_ERR_ACCESS_DENIED);
    assert_true(strlen(r.message) > 0);
    assert_int_equal(th_get(cl, n.s, a.id, NULL, 0, &r), SM_CLIENT_ERR_ACCESS_DENIED);
    const char *tk[] = {"Tier"};
    assert_int_equal(th_get(cl, a.s, a.id, tk, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "");

    /* Unknown session. */
    assert_int_equal(th_get(cl, a.s, "no-such-session", NULL, 0, &r), SM_CLIENT_ERR_NO_SUCH_SESSION);
    assert_int_equal(th_set(cl, a.s, "no-such-session", p, 1, &r), SM_CLIENT_ERR_NO_SUCH_SESSION);

    /* Invalid filter: the server's message names the column. */
    memset(&r, 0, sizeof r);
    sm_set_by_filter_params f = {.filter = "Tier is", .properties = p, .property_count = 1,
                                 .on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_set_properties_by_filter(a.s, &f, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_ERR_INVALID_FILTER);
    assert_non_null(strstr(r.message, "column"));

    /* Invalid property key (a space) is refused by the server. */
    sm_property badkey[] = {{"bad key", "x"}};
    assert_int_equal(th_set(cl, a.s, a.id, badkey, 1, &r), SM_CLIENT_ERR_INVALID_PROPERTY);

    /* Listener without register_handler. */
    static th_listener tl;
    memset(&tl, 0, sizeof tl);
    sm_listener_params lp = {0};
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(n.s, &lp, NULL);
    assert_non_null(tl.l);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    int i = th_find(&tl, 0, "regerror", NULL);
    assert_true(i >= 0);
    assert_int_equal(tl.ev[i].code, SM_CLIENT_ERR_ACCESS_DENIED);
    assert_true(th_find(&tl, (size_t)i, "lclose", NULL) > i);
    th_listener_free(&tl);

    /* Listener with an invalid filter. */
    memset(&tl, 0, sizeof tl);
    lp.filter = "(((";
    tl.l = sm_listener_register(a.s, &lp, NULL);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    i = th_find(&tl, 0, "regerror", NULL);
    assert_true(i >= 0);
    assert_int_equal(tl.ev[i].code, SM_CLIENT_ERR_INVALID_FILTER);
    th_listener_free(&tl);

    /* The sessions survive all of that. */
    assert_int_equal(sm_session_get_status(a.s), SM_SESSION_OPEN);
    close_and_free(&a);
    close_and_free(&v);
    close_and_free(&n);
}

static void test_listener(void **state)
{
    (void)state;
    static th_session a, s1, s2, s3;
    sm_property sales[] = {{"Department", "Sales"}, {"Tier", "gold"}};
    sm_property other[] = {{"Department", "Other"}};
    assert_non_null(th_open(cl, &a, srv.url, "viewer", "viewer", NULL, 0));
    assert_non_null(th_open(cl, &s1, srv.url, NULL, NULL, sales, 2));
    assert_non_null(th_open(cl, &s2, srv.url, NULL, NULL, other, 1));
    static th_session op;
    assert_non_null(th_open(cl, &op, srv.url, "operator", "operator", NULL, 0));

    static th_listener tl;
    memset(&tl, 0, sizeof tl);
    const char *keys[] = {"Department", "Tier", "$Principal"};
    sm_listener_params lp = {.keys = keys, .key_count = 3, .filter = "Department is 'Sales'"};
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(a.s, &lp, NULL);
    assert_non_null(tl.l);
    TH_WAIT(cl, th_find(&tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    int reg = th_find(&tl, 0, "registered", NULL);
    assert_int_equal(reg, 0);
    assert_false(tl.ev[reg].resync);
    int o = th_find(&tl, 0, "open", s1.id);
    assert_true(o > 0);
    assert_true(tl.ev[o].snapshot);
    assert_int_equal(tl.ev[o].state, SM_REMOTE_ACTIVE);
    assert_string_equal(tl.ev[o].props, "$Principal=;Department=Sales;Tier=gold;");
    assert_int_equal(th_find(&tl, 0, "open", s2.id), -1); /* filtered out */
    int se = th_find(&tl, 0, "snapend", NULL);
    assert_int_equal(tl.ev[se].count, th_count(&tl, "open"));

    /* Live open. */
    assert_non_null(th_open(cl, &s3, srv.url, NULL, NULL, sales, 1));
    TH_WAIT(cl, th_find(&tl, (size_t)se, "open", s3.id) >= 0, TH_TIMEOUT_MS);
    o = th_find(&tl, (size_t)se, "open", s3.id);
    assert_true(o > se);
    assert_false(tl.ev[o].snapshot);

    /* Update: every requested key's value, and previous values of the changed keys only. */
    static th_reply r;
    sm_property upd[] = {{"Tier", "silver"}, {"Unwatched", "x"}};
    assert_int_equal(th_set(cl, op.s, s1.id, upd, 2, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "update", s1.id) >= 0, TH_TIMEOUT_MS);
    int u = th_find(&tl, 0, "update", s1.id);
    assert_true(u >= 0);
    assert_int_equal(tl.ev[u].update, SM_UPDATE_PROPERTIES);
    assert_string_equal(tl.ev[u].props, "$Principal=;Department=Sales;Tier=silver;");
    assert_string_equal(tl.ev[u].previous, "Tier=gold;");

    /* Deleting a key: absent from properties, present in previous. */
    sm_property del[] = {{"Tier", NULL}};
    assert_int_equal(th_set(cl, op.s, s1.id, del, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, (size_t)u + 1, "update", s1.id) >= 0, TH_TIMEOUT_MS);
    u = th_find(&tl, (size_t)u + 1, "update", s1.id);
    assert_true(u >= 0);
    assert_string_equal(tl.ev[u].props, "$Principal=;Department=Sales;");
    assert_string_equal(tl.ev[u].previous, "Tier=silver;");

    /* Filter leave and enter. */
    sm_property away[] = {{"Department", "Other"}};
    assert_int_equal(th_set(cl, op.s, s1.id, away, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "leave", s1.id) >= 0, TH_TIMEOUT_MS);
    assert_true(th_find(&tl, 0, "leave", s1.id) >= 0);
    sm_property back[] = {{"Department", "Sales"}};
    assert_int_equal(th_set(cl, op.s, s2.id, back, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "enter", s2.id) >= 0, TH_TIMEOUT_MS);
    int en = th_find(&tl, 0, "enter", s2.id);
    assert_true(en >= 0);
    assert_string_equal(tl.ev[en].props, "$Principal=;Department=Sales;");

    /* Close of a watched session carries the reason. */
    close_and_free(&s3);
    TH_WAIT(cl, th_find(&tl, 0, "close", s3.id) >= 0, TH_TIMEOUT_MS);
    int cl_ev = th_find(&tl, 0, "close", s3.id);
    assert_true(cl_ev >= 0);
    assert_int_equal(tl.ev[cl_ev].reason, SM_REASON_CLOSED_BY_CLIENT);
    assert_int_equal(tl.ev[cl_ev].state, SM_REMOTE_CLOSED);
    assert_string_equal(tl.ev[cl_ev].props, "$Principal=;Department=Sales;"); /* who left */

    /* Unregister: on_close comes from a later service, never from inside the call. */
    sm_listener_close(tl.l);
    assert_false(tl.closed);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    assert_true(tl.closed);
    size_t before = tl.n;
    assert_int_equal(th_set(cl, op.s, s2.id, upd, 1, &r), SM_CLIENT_OK);
    int64_t end = sm_mono_ms() + 200;
    while (sm_mono_ms() < end)
        sm_client_run_once(cl, 20);
    assert_int_equal(tl.n, before);
    th_listener_free(&tl);
    close_and_free(&a);
    close_and_free(&s1);
    close_and_free(&s2);
    close_and_free(&op);
}

/* A port of the reference's listener (open/update/close callbacks only) keeps a correct set of
 * sessions with fold_filter_events; changed_only sends only the changed keys. */
static void test_listener_fold_and_changed_only(void **state)
{
    (void)state;
    static th_session a, op, s1;
    sm_property sales[] = {{"Department", "Sales"}, {"Tier", "gold"}};
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &op, srv.url, "admin", "admin", NULL, 0));
    static th_listener tl;
    memset(&tl, 0, sizeof tl);
    const char *keys[] = {"Department", "Tier"};
    sm_listener_params lp = {.keys = keys, .key_count = 2, .filter = "Department is 'Fold'",
                             .fold_filter_events = true, .changed_only = true};
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(a.s, &lp, NULL);
    assert_non_null(tl.l);
    TH_WAIT(cl, th_find(&tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    assert_non_null(th_open(cl, &s1, srv.url, NULL, NULL, sales, 2));
    static th_reply r;
    /* Enters the filter: on_session_open, marked as a filter change. */
    sm_property in[] = {{"Department", "Fold"}};
    assert_int_equal(th_set(cl, op.s, s1.id, in, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "open", s1.id) >= 0, TH_TIMEOUT_MS);
    int o = th_find(&tl, 0, "open", s1.id);
    assert_true(o >= 0);
    assert_true(tl.ev[o].filter_change);
    assert_false(tl.ev[o].snapshot);
    assert_string_equal(tl.ev[o].props, "Department=Fold;Tier=gold;");
    /* changed_only: the update carries the changed key alone. */
    sm_property upd[] = {{"Tier", "silver"}};
    assert_int_equal(th_set(cl, op.s, s1.id, upd, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "update", s1.id) >= 0, TH_TIMEOUT_MS);
    int u = th_find(&tl, 0, "update", s1.id);
    assert_string_equal(tl.ev[u].props, "Tier=silver;");
    assert_string_equal(tl.ev[u].previous, "Tier=gold;");
    /* Leaves the filter: on_session_close, no reason, still active, marked. */
    sm_property out[] = {{"Department", "Away"}};
    assert_int_equal(th_set(cl, op.s, s1.id, out, 1, &r), SM_CLIENT_OK);
    TH_WAIT(cl, th_find(&tl, 0, "close", s1.id) >= 0, TH_TIMEOUT_MS);
    int c = th_find(&tl, 0, "close", s1.id);
    assert_true(tl.ev[c].filter_change);
    assert_int_equal(tl.ev[c].reason, SM_REASON_NONE);
    assert_int_equal(tl.ev[c].state, SM_REMOTE_ACTIVE);
    assert_int_equal(th_count(&tl, "enter") + th_count(&tl, "leave"), 0);
    /* Its real close afterwards is not reported (it left the filter): one close per open. */
    close_and_free(&s1);
    int64_t end = sm_mono_ms() + 300;
    while (sm_mono_ms() < end)
        sm_client_run_once(cl, 20);
    assert_int_equal(th_count(&tl, "close"), 1);
    assert_int_equal(th_count(&tl, "open"), 1);
    sm_listener_close(tl.l);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    th_listener_free(&tl);
    close_and_free(&a);
    close_and_free(&op);
}

static void test_listener_after_and_no_keys(void **state)
{
    (void)state;
    static th_session a, old, fresh;
    assert_non_null(th_open(cl, &old, srv.url, NULL, NULL, NULL, 0));
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    int64_t now = sm_wall_ms();
    static th_listener tl;
    memset(&tl, 0, sizeof tl);
    sm_listener_params lp = {.has_after = true, .after = now};
    usleep(5000); /* the server compares start times strictly, in milliseconds */
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(a.s, &lp, NULL);
    TH_WAIT(cl, th_find(&tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    assert_int_equal(th_count(&tl, "open"), 0);
    assert_int_equal(tl.ev[th_find(&tl, 0, "snapend", NULL)].count, 0);
    assert_non_null(th_open(cl, &fresh, srv.url, NULL, NULL, NULL, 0));
    TH_WAIT(cl, th_find(&tl, 0, "open", fresh.id) >= 0, TH_TIMEOUT_MS);
    int o = th_find(&tl, 0, "open", fresh.id);
    assert_true(o >= 0);
    assert_string_equal(tl.ev[o].props, ""); /* no keys requested */
    /* Without keys, property changes are not reported. */
    static th_reply r;
    sm_property p[] = {{"X", "1"}};
    assert_int_equal(th_set(cl, a.s, fresh.id, p, 1, &r), SM_CLIENT_OK);
    int64_t end = sm_mono_ms() + 200;
    while (sm_mono_ms() < end)
        sm_client_run_once(cl, 20);
    assert_int_equal(th_count(&tl, "update"), 0);
    assert_int_equal(th_find(&tl, 0, "open", old.id), -1);
    sm_listener_close(tl.l);
    TH_WAIT(cl, tl.closed, TH_TIMEOUT_MS);
    th_listener_free(&tl);
    close_and_free(&a);
    close_and_free(&old);
    close_and_free(&fresh);
}

/* Closing a session ends its listeners (on_close) and fails what was pending. */
static void test_close_own_session_with_listener(void **state)
{
    (void)state;
    static th_session a;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    static th_listener tl;
    memset(&tl, 0, sizeof tl);
    sm_listener_params lp = {0};
    th_listener_params(&lp, &tl);
    tl.l = sm_listener_register(a.s, &lp, NULL);
    TH_WAIT(cl, th_find(&tl, 0, "snapend", NULL) >= 0, TH_TIMEOUT_MS);
    static th_reply r;
    memset(&r, 0, sizeof r);
    sm_ping_params pp = {.on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_ping(a.s, &pp, NULL), SM_CLIENT_OK);
    assert_int_equal(sm_session_close(a.s, NULL), SM_CLIENT_OK);
    assert_int_equal(sm_session_close(a.s, NULL), SM_CLIENT_ERR_CLOSED);
    TH_WAIT(cl, a.closed, TH_TIMEOUT_MS);
    assert_true(a.closed);
    assert_int_equal(a.close_reason, SM_REASON_CLOSED_BY_CLIENT);
    /* The ping was queued before the close: it is answered first. */
    assert_true(r.done);
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_true(tl.closed);
    assert_int_equal(th_find(&tl, 0, "error", NULL), -1); /* a close you asked for is no error */
    th_listener_free(&tl);
    sm_session_free(a.s);
}

/* A reply far larger than one receive buffer is reassembled from its chunks. */
static void test_large_reply(void **state)
{
    (void)state;
    static th_session a, b;
    assert_non_null(th_open(cl, &a, srv.url, "admin", "admin", NULL, 0));
    assert_non_null(th_open(cl, &b, srv.url, NULL, NULL, NULL, 0));
    static char values[60][4001];
    static char keys[60][16];
    sm_property batch[12];
    static th_reply r;
    for (int i = 0; i < 60; i++) {
        snprintf(keys[i], sizeof keys[i], "K%02d", i);
        memset(values[i], 'a' + i % 26, 4000);
        values[i][4000] = '\0';
    }
    for (int i = 0; i < 60; i += 12) {
        for (int k = 0; k < 12; k++) {
            batch[k].key = keys[i + k];
            batch[k].value = values[i + k];
        }
        assert_int_equal(th_set(cl, a.s, b.id, batch, 12, &r), SM_CLIENT_OK);
        assert_int_equal(r.prop_count, 12);
    }
    memset(&r, 0, sizeof r);
    const char *user[] = {"*U"};
    sm_get_params g = {.session_id = b.id, .keys = user, .key_count = 1, .on_reply = th_reply_cb, .context = &r};
    assert_int_equal(sm_get_properties(a.s, &g, NULL), SM_CLIENT_OK);
    assert_true(th_wait_reply(cl, &r, TH_TIMEOUT_MS));
    assert_int_equal(r.code, SM_CLIENT_OK);
    assert_int_equal(r.prop_count, 60);
    /* A request over the server's inbound limit is refused before it is sent. */
    sm_property many[20];
    for (int k = 0; k < 20; k++) {
        many[k].key = keys[k];
        many[k].value = values[k];
    }
    sm_client_error err;
    sm_set_params sp = {.session_id = b.id, .properties = many, .property_count = 20};
    assert_int_equal(sm_set_properties(a.s, &sp, &err), SM_CLIENT_ERR_LIMIT_EXCEEDED);
    assert_non_null(strstr(err.message, "limit"));
    close_and_free(&a);
    close_and_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_anonymous),
        cmocka_unit_test(test_open_principals),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_get_and_set),
        cmocka_unit_test(test_set_by_filter_and_close_by_filter),
        cmocka_unit_test(test_close_by_id),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_requests_pipelined),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_listener),
        cmocka_unit_test(test_listener_fold_and_changed_only),
        cmocka_unit_test(test_listener_after_and_no_keys),
        cmocka_unit_test(test_close_own_session_with_listener),
        cmocka_unit_test(test_large_reply),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
