/* sessmond integration tests: listener snapshots, `after`, live events, filter enter/leave, limits, queue bound. */
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
#include "core/clock.h"

static int setup(void **state)
{
    *state = sm_test_server_new("{\"limits\":{\"maxQueueBytes\":65536}}");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

static long long add_listener(tc *c, const char *body_fmt_extra)
{
    cJSON *r = tc_ok(c, "{\"type\":\"add_listener\"%s}", body_fmt_extra);
    long long id = tc_int(r, "listener");
    assert_true(id > 0);
    assert_string_equal(tc_str(r, "op"), "add_listener");
    cJSON_Delete(r);
    return id;
}

static const char *ev_str(const cJSON *ev, const char *key)
{
    return tc_str(ev, key);
}

static void expect_event(tc *c, long long l, const char *type, const char *session, cJSON **out)
{
    cJSON *ev = tc_event(c, l, TC_TIMEOUT_MS);
    if (!ev)
        fail_msg("no %s event", type);
    if (strcmp(ev_str(ev, "event"), type) != 0 || (session && strcmp(ev_str(ev, "session"), session) != 0)) {
        char *t = cJSON_PrintUnformatted(ev);
        fail_msg("expected %s for %s, got %s", type, session ? session : "-", t);
    }
    if (out)
        *out = ev;
    else
        cJSON_Delete(ev);
}

static void test_snapshot_only_requested_keys(void **state)
{
    sm_test_server *s = *state;
    tc w, t[5];
    for (int i = 0; i < 5; i++)
        tc_open(&t[i], s, "client", "client", "{\"Group\":\"snap\",\"Secret\":\"x\"}");
    tc_open(&w, s, "viewer", "viewer", NULL);
    long long l = add_listener(&w, ",\"filter\":\"Group is 'snap'\",\"keys\":[\"Group\",\"$Principal\"]");
    long long count = -1;
    cJSON *snap = tc_snapshot(&w, l, &count);
    assert_int_equal(count, 5);
    assert_int_equal(cJSON_GetArraySize(snap), 5);
    int i = 0;
    cJSON *ev;
    cJSON_ArrayForEach(ev, snap)
    {
        assert_string_equal(ev_str(ev, "event"), "OPEN");
        assert_string_equal(ev_str(ev, "state"), "ACTIVE");
        /* Open order. */
        assert_string_equal(ev_str(ev, "session"), t[i].session_id);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "snapshot")));
        cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
        assert_int_equal(cJSON_GetArraySize(props), 2);
        assert_string_equal(tc_str(props, "Group"), "snap");
        assert_string_equal(tc_str(props, "$Principal"), "client");
        i++;
    }
    cJSON_Delete(snap);
    for (i = 0; i < 5; i++)
        tc_close(&t[i]);
    tc_close(&w);
}

static void test_live_open_properties_closed(void **state)
{
    sm_test_server *s = *state;
    tc w, admin, t;
    tc_open(&w, s, "viewer", "viewer", NULL);
    tc_open(&admin, s, "admin", "admin", NULL);
    long long l = add_listener(&w, ",\"filter\":\"Group is 'live'\",\"keys\":[\"Tier\",\"$Country\"]");
    long long count;
    cJSON_Delete(tc_snapshot(&w, l, &count));
    assert_int_equal(count, 0);
    tc_open(&t, s, "client", "client", "{\"Group\":\"live\",\"Tier\":\"gold\"}");
    cJSON *ev;
    expect_event(&w, l, "OPEN", t.session_id, &ev);
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "snapshot"));
    assert_string_equal(tc_prop(ev, "properties", "Tier"), "gold");
    assert_string_equal(tc_prop(ev, "properties", "$Country"), "");
    cJSON_Delete(ev);
    /* A key nobody asked for: no event. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Other\":\"1\"}}", t.session_id));
    tc_no_event(&w, l, 200);
    cJSON_Delete(tc_ok(&admin,
                       "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"silver\",\"Other\":\"2\","
                       "\"$Country\":\"it\"}}",
                       t.session_id));
    expect_event(&w, l, "PROPERTIES", t.session_id, &ev);
    assert_string_equal(ev_str(ev, "state"), "ACTIVE");
    cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
    cJSON *changed = cJSON_GetObjectItemCaseSensitive(ev, "changed");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    assert_string_equal(tc_str(props, "Tier"), "silver");
    assert_string_equal(tc_str(props, "$Country"), "IT");
    assert_int_equal(cJSON_GetArraySize(changed), 2);
    assert_string_equal(tc_str(changed, "Tier"), "gold");
    assert_string_equal(tc_str(changed, "$Country"), "");
    cJSON_Delete(ev);
    /* One requested key changes: properties hold the whole requested set, changed only it. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"$Country\":\"fr\"}}",
                       t.session_id));
    expect_event(&w, l, "PROPERTIES", t.session_id, &ev);
    props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
    changed = cJSON_GetObjectItemCaseSensitive(ev, "changed");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    assert_string_equal(tc_str(props, "Tier"), "silver");
    assert_string_equal(tc_str(props, "$Country"), "FR");
    assert_int_equal(cJSON_GetArraySize(changed), 1);
    assert_string_equal(tc_str(changed, "$Country"), "IT");
    cJSON_Delete(ev);
    /* Deleting a requested key: absent from properties, old value in changed. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":null}}", t.session_id));
    expect_event(&w, l, "PROPERTIES", t.session_id, &ev);
    props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 1);
    assert_string_equal(tc_str(props, "$Country"), "FR");
    assert_string_equal(tc_prop(ev, "changed", "Tier"), "silver");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "changed")), 1);
    cJSON_Delete(ev);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"bronze\"}}",
                       t.session_id));
    expect_event(&w, l, "PROPERTIES", t.session_id, &ev);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "changed"), "Tier")));
    cJSON_Delete(ev);
    /* CLOSED carries the requested properties' last values with the reason (who left). */
    cJSON_Delete(tc_ok(&t, "{\"type\":\"close_self\"}"));
    expect_event(&w, l, "CLOSED", t.session_id, &ev);
    assert_string_equal(ev_str(ev, "state"), "CLOSED");
    assert_string_equal(ev_str(ev, "reason"), "CLOSED_BY_CLIENT");
    props = cJSON_GetObjectItemCaseSensitive(ev, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    assert_string_equal(tc_str(props, "Tier"), "bronze");
    assert_string_equal(tc_str(props, "$Country"), "FR");
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "changed"));
    cJSON_Delete(ev);
    tc_close(&t);
    tc_close(&admin);
    tc_close(&w);
}

static void test_filter_enter_leave(void **state)
{
    sm_test_server *s = *state;
    tc w, admin, t;
    tc_open(&w, s, "viewer", "viewer", NULL);
    tc_open(&admin, s, "admin", "admin", NULL);
    tc_open(&t, s, "client", "client", "{\"Zone\":\"el\"}");
    long long l = add_listener(&w, ",\"filter\":\"Zone is 'el' and Status is 'on'\",\"keys\":[\"*U\"]");
    long long count;
    cJSON_Delete(tc_snapshot(&w, l, &count));
    assert_int_equal(count, 0);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Status\":\"on\"}}", t.session_id));
    cJSON *ev;
    expect_event(&w, l, "FILTER_ENTER", t.session_id, &ev);
    assert_string_equal(tc_prop(ev, "properties", "Zone"), "el");
    assert_string_equal(tc_prop(ev, "properties", "Status"), "on");
    cJSON_Delete(ev);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"X\":\"1\"}}", t.session_id));
    expect_event(&w, l, "PROPERTIES", t.session_id, &ev);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "changed"), "X")));
    cJSON_Delete(ev);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Status\":\"off\"}}", t.session_id));
    expect_event(&w, l, "FILTER_LEAVE", t.session_id, &ev);
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "properties"));
    cJSON_Delete(ev);
    /* Outside the filter now: nothing more, not even its close. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"X\":\"2\"}}", t.session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", t.session_id));
    tc_no_event(&w, l, 200);
    tc_close(&t);
    tc_close(&admin);
    tc_close(&w);
}

static void test_after_and_no_keys(void **state)
{
    sm_test_server *s = *state;
    tc w, old, young, admin;
    tc_open(&old, s, "client", "client", "{\"Grp\":\"after\"}");
    tc_open(&w, s, "viewer", "viewer", NULL);
    tc_open(&admin, s, "admin", "admin", NULL);
    long long now = sm_wall_ms();
    usleep(5000);
    long long l = add_listener(&w, ",\"filter\":\"Grp is 'after'\",\"after\":0");
    (void)l;
    long long count;
    cJSON_Delete(tc_snapshot(&w, l, &count));
    assert_int_equal(count, 1);
    char body[128];
    snprintf(body, sizeof body, ",\"filter\":\"Grp is 'after'\",\"after\":%lld", now);
    long long l2 = add_listener(&w, body);
    cJSON_Delete(tc_snapshot(&w, l2, &count));
    assert_int_equal(count, 0);
    tc_open(&young, s, "client", "client", "{\"Grp\":\"after\"}");
    cJSON *ev;
    expect_event(&w, l2, "OPEN", young.session_id, &ev);
    /* No keys requested: no properties on events, and no PROPERTIES events at all. */
    assert_null(cJSON_GetObjectItemCaseSensitive(ev, "properties"));
    cJSON_Delete(ev);
    expect_event(&w, l, "OPEN", young.session_id, NULL);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"P\":\"1\"}}", old.session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"P\":\"1\"}}", young.session_id));
    tc_no_event(&w, l2, 200);
    tc_no_event(&w, l, 10);
    /* The old session is not reported by the `after` listener, even when it closes. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", old.session_id));
    expect_event(&w, l, "CLOSED", old.session_id, NULL);
    tc_no_event(&w, l2, 200);
    tc_close(&old);
    tc_close(&young);
    tc_close(&admin);
    tc_close(&w);
}

static void test_several_listeners_and_remove(void **state)
{
    sm_test_server *s = *state;
    tc w, a, b;
    tc_open(&w, s, "viewer", "viewer", NULL);
    long long la = add_listener(&w, ",\"filter\":\"K is 'a'\",\"keys\":[\"K\"]");
    long long lb = add_listener(&w, ",\"filter\":\"K is 'b'\",\"keys\":[\"K\"]");
    long long lall = add_listener(&w, ",\"filter\":\"has K\"");
    long long n;
    cJSON_Delete(tc_snapshot(&w, la, &n));
    cJSON_Delete(tc_snapshot(&w, lb, &n));
    cJSON_Delete(tc_snapshot(&w, lall, &n));
    tc_open(&a, s, "client", "client", "{\"K\":\"a\"}");
    expect_event(&w, la, "OPEN", a.session_id, NULL);
    expect_event(&w, lall, "OPEN", a.session_id, NULL);
    tc_no_event(&w, lb, 100);
    cJSON_Delete(tc_ok(&w, "{\"type\":\"remove_listener\",\"listener\":%lld}", la));
    cJSON_Delete(tc_err(&w, "NO_SUCH_LISTENER", "{\"type\":\"remove_listener\",\"listener\":%lld}", la));
    tc_open(&b, s, "client", "client", "{\"K\":\"a\"}");
    expect_event(&w, lall, "OPEN", b.session_id, NULL);
    tc_no_event(&w, la, 200);
    cJSON_Delete(tc_err(&w, "INVALID_FILTER", "{\"type\":\"add_listener\",\"filter\":\"K is\"}"));
    cJSON_Delete(tc_err(&w, "INVALID_PROPERTY", "{\"type\":\"add_listener\",\"keys\":[\"a(b\"]}"));
    /* The listener limit (64 per session by default); the error names the config key. */
    for (int i = 0; i < 62; i++)
        add_listener(&w, ",\"after\":9007199254740991");
    cJSON *lim = tc_err(&w, "LIMIT_EXCEEDED", "{\"type\":\"add_listener\"}");
    assert_non_null(strstr(tc_str(lim, "message"), "at most 64 listeners"));
    assert_non_null(strstr(tc_str(lim, "message"), "limits.maxListenersPerSession"));
    cJSON_Delete(lim);
    tc_close(&a);
    tc_close(&b);
    tc_close(&w);
}

static void test_live_events_during_snapshot(void **state)
{
    sm_test_server *s = *state;
    enum { N = 300 };
    tc *t = calloc(N, sizeof *t);
    for (int i = 0; i < N; i++)
        tc_open(&t[i], s, "client", "client", "{\"Big\":\"yes\",\"Pad\":\"0123456789012345678901234567890123456789\"}");
    tc w, admin;
    tc_open(&w, s, "viewer", "viewer", NULL);
    tc_open(&admin, s, "admin", "admin", NULL);
    long long l = add_listener(&w, ",\"filter\":\"Big is 'yes'\",\"keys\":[\"*F\",\"*U\"]");
    /* While the snapshot is being written: one session changes, one closes, one opens. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Pad\":\"changed\"}}",
                       t[N - 1].session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", t[N - 2].session_id));
    tc extra;
    tc_open(&extra, s, "client", "client", "{\"Big\":\"yes\"}");
    long long count;
    cJSON *snap = tc_snapshot(&w, l, &count);
    assert_int_equal(count, cJSON_GetArraySize(snap));
    assert_true(count >= N - 1);
    /* Replay snapshot + live events: every session is opened once (by the snapshot or live,
     * never both), and the end state matches the server's. */
    cJSON *ev;
    while ((ev = tc_event(&w, l, 300)))
        cJSON_AddItemToArray(snap, ev);
    int opens_last = 0, opens_closed = 0, opens_extra = 0, closed_seen = 0;
    const char *pad_last = NULL;
    cJSON_ArrayForEach(ev, snap)
    {
        const char *sid = ev_str(ev, "session");
        const char *type = ev_str(ev, "event");
        bool open = strcmp(type, "OPEN") == 0;
        if (strcmp(sid, t[N - 1].session_id) == 0) {
            opens_last += open;
            if (tc_prop(ev, "properties", "Pad"))
                pad_last = tc_prop(ev, "properties", "Pad");
        }
        if (strcmp(sid, t[N - 2].session_id) == 0) {
            opens_closed += open;
            closed_seen += strcmp(type, "CLOSED") == 0;
        }
        if (strcmp(sid, extra.session_id) == 0)
            opens_extra += open;
    }
    assert_int_equal(opens_last, 1);
    assert_non_null(pad_last);
    assert_string_equal(pad_last, "changed");
    assert_int_equal(opens_extra, 1);
    /* The closed one: either never reported, or reported and then closed. */
    assert_int_equal(opens_closed, closed_seen);
    cJSON_Delete(snap);
    for (int i = 0; i < N; i++)
        tc_close(&t[i]);
    free(t);
    tc_close(&extra);
    tc_close(&admin);
    tc_close(&w);
}

static void test_queue_limit_closes_slow_listener(void **state)
{
    sm_test_server *s = *state;
    enum { N = 20 };
    tc t[N], watcher, admin;
    for (int i = 0; i < N; i++)
        tc_open(&t[i], s, "client", "client", "{\"Q\":\"q\"}");
    tc_open(&admin, s, "admin", "admin", NULL);
    tc_open(&watcher, s, "admin", "admin", NULL);
    long long wl = add_listener(&watcher, ",\"filter\":\"$Principal is 'viewer'\"");
    long long n;
    cJSON_Delete(tc_snapshot(&watcher, wl, &n));

    /* The slow consumer: a tiny receive buffer, and it never reads after registering. */
    tc slow;
    memset(&slow, 0, sizeof slow);
    slow.pending = cJSON_CreateArray();
    slow.next_id = 1;
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .rcvbuf = 4096};
    assert_int_equal(sm_ws_connect(&slow.ws, &o), SM_WS_OK);
    char *opened = sm_ws_open_session(&slow.ws, "viewer", "viewer", NULL, TC_TIMEOUT_MS);
    assert_non_null(opened);
    char *slow_id = sm_test_json_string(opened, "sessionId");
    free(opened);
    expect_event(&watcher, wl, "OPEN", slow_id, NULL);
    assert_int_equal(sm_ws_send_text(&slow.ws, "{\"type\":\"add_listener\",\"id\":1,\"keys\":[\"*U\"],\"filter\":\"Q is 'q'\"}"),
                     SM_WS_OK);
    long before = sm_test_server_rss_kb(s);
    char *big = malloc(4001);
    bool closed = false;
    for (int round = 0; round < 400 && !closed; round++) {
        memset(big, 'a' + round % 26, 4000);
        big[4000] = '\0';
        cJSON *r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"Q is 'q'\",\"properties\":{\"V\":\"%s\"}}",
                         big);
        cJSON_Delete(r);
        cJSON *ev = tc_event(&watcher, wl, 1);
        if (ev) {
            assert_string_equal(ev_str(ev, "event"), "CLOSED");
            assert_string_equal(ev_str(ev, "session"), slow_id);
            assert_string_equal(ev_str(ev, "reason"), "MESSAGE_QUEUE_LIMIT_REACHED");
            cJSON_Delete(ev);
            closed = true;
        }
    }
    free(big);
    if (!closed) {
        cJSON *ev = tc_event(&watcher, wl, TC_TIMEOUT_MS);
        assert_non_null(ev);
        assert_string_equal(ev_str(ev, "reason"), "MESSAGE_QUEUE_LIMIT_REACHED");
        cJSON_Delete(ev);
    }
    long after = sm_test_server_rss_kb(s);
    /* Bounded: the dropped queue is at most maxQueueBytes; allow allocator slack. */
    assert_true(after - before < 16 * 1024);
    /* The slow client's connection ends (with the close frame once it reads, or dropped). */
    slow.ws.auto_heartbeat = false;
    char reason[128];
    int code = tc_wait_close(&slow, reason, sizeof reason, 10000);
    assert_true(code == 1008 || code == 0);
    if (code == 1008)
        assert_string_equal(reason, "MESSAGE_QUEUE_LIMIT_REACHED");
    free(slow_id);
    tc_close(&slow);
    for (int i = 0; i < N; i++)
        tc_close(&t[i]);
    tc_close(&admin);
    tc_close(&watcher);
}

/* A client that floods requests and never reads the replies hits the same bounded queue as a
 * slow listener: closed with MESSAGE_QUEUE_LIMIT_REACHED, the server's memory stays flat. */
static void test_request_flood_without_reading(void **state)
{
    sm_test_server *s = *state;
    tc watcher;
    tc_open(&watcher, s, "admin", "admin", NULL);
    long long wl = add_listener(&watcher, ",\"filter\":\"has Flood\"");
    long long n;
    cJSON_Delete(tc_snapshot(&watcher, wl, &n));

    tc flood;
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .rcvbuf = 4096};
    char big[4100];
    memset(big, 'f', 4000);
    big[4000] = '\0';
    char props[4200];
    snprintf(props, sizeof props, "{\"Flood\":\"%s\"}", big);
    tc_open_opts(&flood, &o, "admin", "admin", props);
    expect_event(&watcher, wl, "OPEN", flood.session_id, NULL);

    long before = sm_test_server_rss_kb(s);
    char req[160];
    int sent = 0;
    /* Each reply is about 4 KB: enough to fill the kernel's buffers, then the 64 KiB queue. */
    for (; sent < 20000; sent++) {
        snprintf(req, sizeof req, "{\"type\":\"get\",\"id\":%d,\"sessionId\":\"%s\",\"keys\":[\"Flood\"]}", sent + 1,
                 flood.session_id);
        if (sm_ws_send_text(&flood.ws, req) != SM_WS_OK)
            break; /* the server closed the connection under us */
        if (sent % 256 == 255) {
            cJSON *ev = tc_event(&watcher, wl, 1);
            if (ev) {
                assert_string_equal(ev_str(ev, "event"), "CLOSED");
                assert_string_equal(ev_str(ev, "reason"), "MESSAGE_QUEUE_LIMIT_REACHED");
                cJSON_Delete(ev);
                goto closed;
            }
        }
    }
    expect_event(&watcher, wl, "CLOSED", flood.session_id, NULL);
closed:
    assert_true(sm_test_server_rss_kb(s) - before < 16 * 1024);
    tc_close(&flood);
    /* The server serves everyone else as before. */
    cJSON_Delete(tc_ok(&watcher, "{\"type\":\"ping\"}"));
    tc_close(&watcher);
}

/* Sessions closed in bulk while listeners are in the middle of their snapshots, including the
 * listeners' own sessions (one closes itself, one is closed by the filter): nothing breaks, the
 * survivor's snapshot and the caller's reply stay consistent. */
static void test_close_by_filter_during_snapshots(void **state)
{
    sm_test_server *s = *state;
    enum { N = 150 };
    static tc t[N];
    char props[400];
    char pad[301];
    memset(pad, 'p', 300);
    pad[300] = '\0';
    snprintf(props, sizeof props, "{\"Bulk\":\"y\",\"Pad\":\"%s\"}", pad);
    for (int i = 0; i < N; i++)
        tc_open(&t[i], s, "client", "client", props);
    tc doomed, selfclose, survivor, admin;
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port, .rcvbuf = 4096};
    tc_open_opts(&doomed, &o, "admin", "admin", "{\"Bulk\":\"y\"}");
    tc_open_opts(&selfclose, &o, "admin", "admin", NULL);
    tc_open(&survivor, s, "admin", "admin", NULL);
    tc_open(&admin, s, "admin", "admin", NULL);
    /* Both register and stop reading: their snapshots (about 50 KB each) stay in progress.
     * changedOnly keeps the CLOSED events they queue small: with the full set (300 bytes of Pad
     * each) the doomed session's queue could pass the 64 KB limit before the close reaches it,
     * and a session closed for that is not the filter's to count. */
    assert_int_equal(
        sm_ws_send_text(&doomed.ws, "{\"type\":\"add_listener\",\"id\":1,\"keys\":[\"*U\"],\"changedOnly\":true}"),
        SM_WS_OK);
    assert_int_equal(
        sm_ws_send_text(&selfclose.ws, "{\"type\":\"add_listener\",\"id\":1,\"keys\":[\"*U\"],\"changedOnly\":true}"),
        SM_WS_OK);
    assert_int_equal(sm_ws_send_text(&selfclose.ws, "{\"type\":\"close_self\",\"id\":2}"), SM_WS_OK);
    long long sl = add_listener(&survivor, ",\"keys\":[\"Bulk\"],\"filter\":\"has Bulk\"");
    cJSON *r = tc_ok(&admin, "{\"type\":\"close_by_filter\",\"filter\":\"Bulk is 'y'\"}");
    assert_int_equal(tc_int(r, "count"), N + 1);
    cJSON_Delete(r);
    /* The survivor's snapshot plus live events account for every session exactly once: each
     * was reported open (snapshot or live) and then closed. */
    long long n = 0;
    cJSON *snap = tc_snapshot(&survivor, sl, &n);
    long long closes = 0;
    /* Live CLOSED events may arrive before snapshot_end (tc_snapshot collects them too). */
    cJSON *it;
    cJSON_ArrayForEach(it, snap)
    {
        if (strcmp(ev_str(it, "event"), "CLOSED") == 0) {
            assert_string_equal(ev_str(it, "reason"), "CLOSED_BY_CONTROLLER");
            closes++;
        }
    }
    for (;;) {
        cJSON *ev = tc_event(&survivor, sl, 2000);
        if (!ev)
            break;
        if (strcmp(ev_str(ev, "event"), "CLOSED") == 0) {
            assert_string_equal(ev_str(ev, "reason"), "CLOSED_BY_CONTROLLER");
            closes++;
        }
        cJSON_Delete(ev);
    }
    assert_true(n <= N + 1);
    assert_int_equal(closes, n);
    cJSON_Delete(snap);
    char reason[128];
    int code = tc_wait_close(&doomed, reason, sizeof reason, 10000);
    assert_true(code == 1000 || code == 0);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"ping\"}"));
    cJSON_Delete(tc_ok(&survivor, "{\"type\":\"ping\"}"));
    for (int i = 0; i < N; i++)
        tc_close(&t[i]);
    tc_close(&doomed);
    tc_close(&selfclose);
    tc_close(&survivor);
    tc_close(&admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_only_requested_keys),
        cmocka_unit_test(test_live_open_properties_closed),
        cmocka_unit_test(test_filter_enter_leave),
        cmocka_unit_test(test_after_and_no_keys),
        cmocka_unit_test(test_several_listeners_and_remove),
        cmocka_unit_test(test_live_events_during_snapshot),
        cmocka_unit_test(test_queue_limit_closes_slow_listener),
        cmocka_unit_test(test_request_flood_without_reading),
        cmocka_unit_test(test_close_by_filter_during_snapshots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
