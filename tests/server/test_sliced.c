/* sessmond integration tests: set/close by filter over thousands of sessions run in slices (docs/protocol.md § Long operations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "crowd.h"

/* Above SM_SLICE_MAX_VISITS (4096): every set_by_filter below takes several slices. */
#define CROWD 5000
/* A close counts as 64 visits (SM_SLICE_CLOSE_COST): 64 closes per slice at most. */
#define CLOSE_CROWD 2000

static int setup(void **state)
{
    *state = sm_test_server_new(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

static long long add_listener(tc *c, const char *extra)
{
    cJSON *r = tc_ok(c, "{\"type\":\"add_listener\"%s}", extra);
    long long id = tc_int(r, "listener");
    cJSON_Delete(r);
    assert_true(id > 0);
    return id;
}

/* Index of a crowd session by ID (IDs are a fixed prefix and a counter, in open order). */
typedef struct seen {
    char id[32];
    int snapshot_gold; /* 1 gold, 0 bronze in the snapshot; -1 not in it */
    int updates;
    int closes;
} seen;

static seen *find_seen(seen *v, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return &v[i];
    return NULL;
}

/* The requester's own listener gets every event of the operation before the reply; the reply
 * counts every session; events come in open order, one per session. */
static void test_set_by_filter_events_precede_reply(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}"), CROWD);
    tc op;
    tc_open(&op, s, "operator", "operator", NULL);
    long long l = add_listener(&op, ",\"filter\":\"Crowd is 'yes'\",\"keys\":[\"Tier\"]");
    long long count = -1;
    cJSON *snap = tc_snapshot(&op, l, &count);
    assert_int_equal(count, CROWD);
    cJSON_Delete(snap);

    cJSON *r = tc_ok(&op, "{\"type\":\"set_by_filter\",\"filter\":\"Crowd is 'yes'\",\"properties\":{\"Tier\":\"gold\"}}");
    assert_int_equal(tc_int(r, "count"), CROWD);
    cJSON_Delete(r);
    /* Everything tc_request read before the reply is kept: the events must all be there already. */
    char last[32] = "";
    for (int i = 0; i < CROWD; i++) {
        cJSON *ev = tc_event(&op, l, 0);
        if (!ev)
            fail_msg("only %d of %d events arrived before the reply", i, CROWD);
        assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
        assert_string_equal(tc_prop(ev, "properties", "Tier"), "gold");
        assert_string_equal(tc_prop(ev, "changed", "Tier"), "bronze");
        assert_true(strcmp(tc_str(ev, "session"), last) > 0);
        snprintf(last, sizeof last, "%s", tc_str(ev, "session"));
        cJSON_Delete(ev);
    }
    tc_no_event(&op, l, 200);
    tc_close(&op);
    crowd_free(&cr);
}

/* A session opened after the request is not touched; a listener added while the operation runs
 * sees each session once in its snapshot and then exactly the changes the snapshot did not show. */
static void test_set_by_filter_snapshot_and_late_sessions(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}"), CROWD);
    tc op, late, w;
    tc_open(&op, s, "operator", "operator", NULL);
    tc_open(&w, s, "viewer", "viewer", NULL);
    assert_int_equal(sm_ws_send_text(&op.ws, "{\"type\":\"set_by_filter\",\"id\":900,\"filter\":\"Crowd is 'yes'\","
                                              "\"properties\":{\"Tier\":\"gold\"}}"),
                     SM_WS_OK);
    tc_open(&late, s, "client", "client", "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}");
    long long l = add_listener(&w, ",\"filter\":\"Crowd is 'yes'\",\"keys\":[\"Tier\"]");

    seen *v = calloc(CROWD + 1, sizeof *v);
    assert_non_null(v);
    int nv = 0;
    long long count = -1;
    cJSON *snap = tc_snapshot(&w, l, &count);
    assert_int_equal(count, CROWD + 1);
    cJSON *ev;
    cJSON_ArrayForEach(ev, snap)
    {
        snprintf(v[nv].id, sizeof v[nv].id, "%s", tc_str(ev, "session"));
        v[nv].snapshot_gold = strcmp(tc_prop(ev, "properties", "Tier"), "gold") == 0;
        nv++;
    }
    cJSON_Delete(snap);

    cJSON *r = NULL;
    while (!r) {
        cJSON *m = tc_next(&op, NULL, TC_TIMEOUT_MS * 4);
        assert_non_null(m);
        if (tc_int(m, "id") == 900)
            r = m;
        else
            cJSON_Delete(m);
    }
    assert_string_equal(tc_str(r, "type"), "reply");
    assert_int_equal(tc_int(r, "count"), CROWD);
    cJSON_Delete(r);

    /* Live events: only for sessions the snapshot showed bronze, once each. */
    while ((ev = tc_event(&w, l, 500)) != NULL) {
        seen *x = find_seen(v, nv, tc_str(ev, "session"));
        assert_non_null(x);
        assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
        assert_string_equal(tc_prop(ev, "properties", "Tier"), "gold");
        assert_int_equal(x->snapshot_gold, 0);
        x->updates++;
        cJSON_Delete(ev);
    }
    int late_seen = 0;
    for (int i = 0; i < nv; i++) {
        if (strcmp(v[i].id, late.session_id) == 0) {
            late_seen = 1;
            assert_int_equal(v[i].snapshot_gold, 0);
            assert_int_equal(v[i].updates, 0);
            continue;
        }
        assert_int_equal(v[i].snapshot_gold + v[i].updates, 1);
    }
    assert_int_equal(late_seen, 1);
    r = tc_ok(&op, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Tier\"]}", late.session_id);
    assert_string_equal(tc_prop(r, "properties", "Tier"), "bronze");
    cJSON_Delete(r);
    free(v);
    tc_close(&late);
    tc_close(&w);
    tc_close(&op);
    crowd_free(&cr);
}

/* CLOSE_CROWD sessions tagged Crowd, and a viewer whose listener on them has read its snapshot:
 * the start of the close_by_filter tests. */
static long long open_watched_close_crowd(sm_test_server *s, crowd *cr, tc *w, long long *snapshot_count)
{
    assert_int_equal(crowd_open(cr, s->port, CLOSE_CROWD, 4, "{\"Crowd\":\"yes\"}"), CLOSE_CROWD);
    tc_open(w, s, "viewer", "viewer", NULL);
    long long l = add_listener(w, ",\"filter\":\"Crowd is 'yes'\"");
    cJSON_Delete(tc_snapshot(w, l, snapshot_count));
    return l;
}

/* The requester drops its connection right after sending: the operation still closes every match. */
static void test_close_by_filter_outlives_requester(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    tc w, op;
    long long count = -1;
    long long l = open_watched_close_crowd(s, &cr, &w, &count);
    assert_int_equal(count, CLOSE_CROWD);
    tc_open(&op, s, "operator", "operator", NULL);
    assert_int_equal(sm_ws_send_text(&op.ws, "{\"type\":\"close_by_filter\",\"id\":5,\"filter\":\"Crowd is 'yes'\"}"),
                     SM_WS_OK);
    tc_close(&op);

    int by_controller = 0;
    assert_int_equal(crowd_wait_closed(&cr, 30000, "CLOSED_BY_CONTROLLER", &by_controller), CLOSE_CROWD);
    assert_int_equal(by_controller, CLOSE_CROWD);
    int closed = 0;
    cJSON *ev;
    while ((ev = tc_event(&w, l, 1000)) != NULL) {
        assert_string_equal(tc_str(ev, "event"), "CLOSED");
        assert_string_equal(tc_str(ev, "reason"), "CLOSED_BY_CONTROLLER");
        closed++;
        cJSON_Delete(ev);
    }
    assert_int_equal(closed, CLOSE_CROWD);
    cJSON *r = tc_ok(&w, "{\"type\":\"ping\"}");
    cJSON_Delete(r);
    tc_close(&w);
    crowd_free(&cr);
}

/* Sessions that close themselves while the operation runs are closed once: the reply counts those
 * the operation closed, the others are CLOSED_BY_CLIENT, and a listener hears one CLOSED each. */
static void test_close_by_filter_with_sessions_closing(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    tc w, op;
    long long count = -1;
    long long l = open_watched_close_crowd(s, &cr, &w, &count);
    tc_open(&op, s, "operator", "operator", NULL);
    /* Every 7th session asks to close itself, from the end of the open order backwards, so some
     * requests land before the operation reaches them and some after. */
    for (int i = CLOSE_CROWD - 1, k = 0; i >= 0; i -= 7, k++) {
        assert_int_equal(sm_ws_send_textf(&cr.ws[i], "{\"type\":\"close_self\",\"id\":%d}", k + 1), SM_WS_OK);
        if (k == 100)
            assert_int_equal(
                sm_ws_send_text(&op.ws, "{\"type\":\"close_by_filter\",\"id\":77,\"filter\":\"Crowd is 'yes'\"}"),
                SM_WS_OK);
    }
    cJSON *r = NULL;
    while (!r) {
        cJSON *m = tc_next(&op, NULL, TC_TIMEOUT_MS * 4);
        assert_non_null(m);
        if (tc_int(m, "id") == 77)
            r = m;
        else
            cJSON_Delete(m);
    }
    long long replied = tc_int(r, "count");
    cJSON_Delete(r);
    int by_controller = 0;
    assert_int_equal(crowd_wait_closed(&cr, 30000, "CLOSED_BY_CONTROLLER", &by_controller), CLOSE_CROWD);
    assert_int_equal(by_controller, replied);
    assert_true(replied < CLOSE_CROWD);
    int closed = 0, by_client = 0;
    cJSON *ev;
    while ((ev = tc_event(&w, l, 1000)) != NULL) {
        assert_string_equal(tc_str(ev, "event"), "CLOSED");
        by_client += strcmp(tc_str(ev, "reason"), "CLOSED_BY_CLIENT") == 0;
        closed++;
        cJSON_Delete(ev);
    }
    assert_int_equal(closed, CLOSE_CROWD);
    assert_int_equal(by_client + replied, CLOSE_CROWD);
    tc_close(&op);
    tc_close(&w);
    crowd_free(&cr);
}

/* A session's later requests wait for its running operation: they take effect and are answered
 * in request order (a set right after a set_by_filter is not undone by it); other sessions are
 * served meanwhile. */
static void test_requests_of_one_session_stay_in_order(void **state)
{
    sm_test_server *s = *state;
    crowd cr;
    assert_int_equal(crowd_open(&cr, s->port, CROWD, 4, "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}"), CROWD);
    tc op, other, first;
    tc_open(&op, s, "operator", "operator", NULL);
    tc_open(&other, s, "viewer", "viewer", NULL);
    tc_open(&first, s, "client", "client", "{\"Crowd\":\"yes\",\"Tier\":\"bronze\"}");
    enum { OPS = 12 };
    for (int i = 0; i < OPS; i++)
        assert_int_equal(sm_ws_send_textf(&op.ws,
                                          "{\"type\":\"set_by_filter\",\"id\":%d,\"filter\":\"Crowd is 'yes'\","
                                          "\"properties\":{\"Round\":\"%d\",\"Tier\":\"gold\"}}",
                                          100 + i, i),
                         SM_WS_OK);
    assert_int_equal(sm_ws_send_textf(&op.ws,
                                      "{\"type\":\"set\",\"id\":200,\"sessionId\":\"%s\","
                                      "\"properties\":{\"Tier\":\"silver\"}}",
                                      first.session_id),
                     SM_WS_OK);
    assert_int_equal(sm_ws_send_text(&op.ws, "{\"type\":\"ping\",\"id\":201}"), SM_WS_OK);
    /* Another session is answered while those run. */
    cJSON_Delete(tc_ok(&other, "{\"type\":\"ping\"}"));
    long long expect = 100;
    while (expect <= 201) {
        cJSON *m = tc_next(&op, NULL, TC_TIMEOUT_MS * 4);
        assert_non_null(m);
        if (strcmp(tc_str(m, "type"), "reply") != 0) {
            cJSON_Delete(m);
            continue;
        }
        assert_int_equal(tc_int(m, "id"), expect);
        if (expect < 100 + OPS)
            assert_int_equal(tc_int(m, "count"), CROWD + 1);
        cJSON_Delete(m);
        expect = expect == 100 + OPS - 1 ? 200 : expect + 1;
    }
    cJSON *r = tc_ok(&other, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Tier\",\"Round\"]}",
                     first.session_id);
    assert_string_equal(tc_prop(r, "properties", "Tier"), "silver");
    assert_string_equal(tc_prop(r, "properties", "Round"), "11");
    cJSON_Delete(r);
    tc_close(&first);
    tc_close(&other);
    tc_close(&op);
    crowd_free(&cr);
}

/* The property-limit check covers every matching session before anything changes, over many
 * slices: one full session at the end of the open order rejects the whole request. */
static void test_set_by_filter_limit_checked_before_any_change(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start_with(&s, "{\"limits\":{\"maxPropertiesPerSession\":3}}"), 0);
    crowd cr;
    assert_int_equal(crowd_open(&cr, s.port, CROWD, 4, "{\"Crowd\":\"yes\"}"), CROWD);
    tc full, w, op;
    tc_open(&full, &s, "client", "client", "{\"Crowd\":\"yes\",\"B\":\"1\",\"C\":\"1\"}");
    tc_open(&w, &s, "viewer", "viewer", NULL);
    long long l = add_listener(&w, ",\"filter\":\"Crowd is 'yes'\",\"keys\":[\"*U\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&w, l, &count));
    assert_int_equal(count, CROWD + 1);
    tc_open(&op, &s, "operator", "operator", NULL);
    cJSON *e = tc_err(&op, "LIMIT_EXCEEDED",
                      "{\"type\":\"set_by_filter\",\"filter\":\"Crowd is 'yes'\",\"properties\":{\"New\":\"x\"}}");
    assert_non_null(strstr(tc_str(e, "message"), full.session_id));
    cJSON_Delete(e);
    tc_no_event(&w, l, 300);
    /* Without the full session the same request applies to all. */
    cJSON_Delete(tc_ok(&full, "{\"type\":\"close_self\"}"));
    cJSON *ev = tc_event(&w, l, TC_TIMEOUT_MS);
    assert_non_null(ev);
    assert_string_equal(tc_str(ev, "event"), "CLOSED");
    cJSON_Delete(ev);
    cJSON *r = tc_ok(&op, "{\"type\":\"set_by_filter\",\"filter\":\"Crowd is 'yes'\",\"properties\":{\"New\":\"x\"}}");
    assert_int_equal(tc_int(r, "count"), CROWD);
    cJSON_Delete(r);
    tc_close(&full);
    tc_close(&op);
    tc_close(&w);
    crowd_free(&cr);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

/* Listeners share filter evaluations and encodings only when they would get the same bytes:
 * each still gets exactly its own keys, its own enter/leave. */
static void test_fanout_each_listener_gets_its_own_keys(void **state)
{
    sm_test_server *s = *state;
    tc t, op, a, b;
    tc_open(&t, s, "client", "client", "{\"Grp\":\"f\",\"A\":\"1\",\"B\":\"1\"}");
    tc_open(&op, s, "operator", "operator", NULL);
    tc_open(&a, s, "viewer", "viewer", NULL);
    tc_open(&b, s, "viewer", "viewer", NULL);
    const char *specs[] = {
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"A\"]",        /* a0 */
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"A\"]",        /* a1: same as a0 */
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"B\"]",        /* a2: other keys */
        ",\"filter\":\"A is '1'\",\"keys\":[\"A\",\"B\"]", /* b0: leaves on the change */
        ",\"filter\":\"A is '2'\",\"keys\":[\"B\"]",         /* b1: enters on the change */
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"A\",\"Grp\"]", /* a5: full set, Grp unchanged */
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"A\",\"Grp\"],\"changedOnly\":true", /* a6: same keys, changed only */
        ",\"filter\":\"Grp is 'f'\",\"keys\":[\"A\",\"Grp\"]", /* a7: same as a5 after a6 */
    };
    enum { NL = 8 };
    long long l[NL];
    for (int i = 0; i < NL; i++) {
        tc *c = i < 3 || i > 4 ? &a : &b;
        l[i] = add_listener(c, specs[i]);
        long long n = -1;
        cJSON_Delete(tc_snapshot(c, l[i], &n));
        assert_int_equal(n, i == 4 ? 0 : 1);
    }
    cJSON *r = tc_ok(&op, "{\"type\":\"set_by_filter\",\"filter\":\"Grp is 'f'\",\"properties\":{\"A\":\"2\",\"B\":\"2\"}}");
    assert_int_equal(tc_int(r, "count"), 1);
    cJSON_Delete(r);
    for (int i = 0; i < NL; i++) {
        tc *c = i < 3 || i > 4 ? &a : &b;
        cJSON *ev = tc_event(c, l[i], TC_TIMEOUT_MS);
        assert_non_null(ev);
        assert_string_equal(tc_str(ev, "session"), t.session_id);
        switch (i) {
        case 5:
        case 7:
            assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
            assert_string_equal(tc_prop(ev, "properties", "A"), "2");
            assert_string_equal(tc_prop(ev, "properties", "Grp"), "f");
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "changed")), 1);
            assert_string_equal(tc_prop(ev, "changed", "A"), "1");
            break;
        case 6:
            assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
            assert_string_equal(tc_prop(ev, "properties", "A"), "2");
            assert_null(tc_prop(ev, "properties", "Grp"));
            assert_string_equal(tc_prop(ev, "changed", "A"), "1");
            break;
        case 0:
        case 1:
            assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
            assert_string_equal(tc_prop(ev, "properties", "A"), "2");
            assert_null(tc_prop(ev, "properties", "B"));
            assert_string_equal(tc_prop(ev, "changed", "A"), "1");
            break;
        case 2:
            assert_string_equal(tc_str(ev, "event"), "PROPERTIES");
            assert_string_equal(tc_prop(ev, "properties", "B"), "2");
            assert_null(tc_prop(ev, "properties", "A"));
            break;
        case 3:
            assert_string_equal(tc_str(ev, "event"), "FILTER_LEAVE");
            break;
        case 4:
            assert_string_equal(tc_str(ev, "event"), "FILTER_ENTER");
            assert_string_equal(tc_prop(ev, "properties", "B"), "2");
            assert_null(tc_prop(ev, "properties", "A"));
            break;
        }
        cJSON_Delete(ev);
    }
    cJSON_Delete(tc_ok(&t, "{\"type\":\"close_self\"}"));
    for (int i = 0; i < NL; i++) {
        tc *c = i < 3 || i > 4 ? &a : &b;
        cJSON *ev = tc_event(c, l[i], i == 3 ? 300 : TC_TIMEOUT_MS);
        if (i == 3) { /* it left: nothing more */
            assert_null(ev);
            continue;
        }
        assert_non_null(ev);
        assert_string_equal(tc_str(ev, "event"), "CLOSED");
        assert_string_equal(tc_str(ev, "reason"), "CLOSED_BY_CLIENT");
        /* The last values of its own requested keys (none with changedOnly). */
        cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
        int want = i == 6 ? 0 : i == 5 || i == 7 ? 2 : 1;
        assert_int_equal(cJSON_GetArraySize(props), want);
        if (i == 5 || i == 7)
            assert_string_equal(tc_str(props, "Grp"), "f");
        if (i == 2 || i == 4)
            assert_string_equal(tc_str(props, "B"), "2");
        cJSON_Delete(ev);
    }
    tc_close(&t);
    tc_close(&op);
    tc_close(&a);
    tc_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_by_filter_events_precede_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_by_filter_snapshot_and_late_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_by_filter_outlives_requester, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_by_filter_with_sessions_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_of_one_session_stay_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_each_listener_gets_its_own_keys, setup, teardown),
        cmocka_unit_test(test_set_by_filter_limit_checked_before_any_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
