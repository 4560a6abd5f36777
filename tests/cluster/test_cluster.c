/* Cluster-mode integration tests: three sessmond nodes joined through a private redis-server (docs/cluster.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cluster_nodes.h"
#include "core/clock.h"

#define NODES SM_TEST_CLUSTER_NODES
#define NODE_TIMEOUT_MS 1500
#define REQUEST_TIMEOUT_MS 500
#define SM_ID_TEXT 24

typedef sm_test_cluster cluster;

static const char CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,\"requestTimeoutMs\":500}}";
static const char SMALL_PROXY_CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,"
                                         "\"requestTimeoutMs\":500,\"maxProxyBytes\":65536}}";
static const char *config_overrides = CONFIG;
/* Node 2 only, when set: a configuration of its own. */
static const char *node2_overrides;
static char audit_dir[128]; /* "" = nodes without an audit log; else each writes DIR/audit-nX.log */

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    *state = sm_test_cluster_start(config_overrides, node2_overrides);
    return *state ? 0 : -1;
}

static int setup_small_proxy(void **state)
{
    config_overrides = SMALL_PROXY_CONFIG;
    int rc = setup(state);
    config_overrides = CONFIG;
    return rc;
}

/* Node 2's listener regex allowance is below one worst-case filter's cost (128). */
static int setup_small_regex_node2(void **state)
{
    node2_overrides = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,\"requestTimeoutMs\":500},"
                      "\"limits\":{\"maxListenerRegexCost\":100}}";
    int rc = setup(state);
    node2_overrides = NULL;
    return rc;
}

static int setup_audited(void **state)
{
    snprintf(audit_dir, sizeof audit_dir, "/tmp/sessmond-cluster-audit-XXXXXX");
    if (!mkdtemp(audit_dir))
        return -1;
    char overrides[512];
    snprintf(overrides, sizeof overrides, "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,"
             "\"requestTimeoutMs\":500},\"audit\":{\"file\":\"%s/audit-{node}.log\"}}", audit_dir);
    *state = sm_test_cluster_start(overrides, NULL);
    return *state ? 0 : -1;
}

/* A clean exit (and, under ASan, no leak report) from every node still running. */
static int teardown(void **state)
{
    int rc = sm_test_cluster_stop(*state);
    if (audit_dir[0]) {
        for (int i = 0; i < NODES; i++) {
            char path[200];
            snprintf(path, sizeof path, "%s/audit-n%d.log", audit_dir, i + 1);
            unlink(path);
        }
        rmdir(audit_dir);
        audit_dir[0] = '\0';
    }
    return rc;
}

static long long add_listener(tc *c, const char *extra)
{
    cJSON *r = tc_ok(c, "{\"type\":\"add_listener\"%s}", extra);
    long long id = tc_int(r, "listener");
    cJSON_Delete(r);
    return id;
}

/* Next event of listener l, skipping none; fails unless it is `type` for `session`. */
static cJSON *expect_event(tc *c, long long l, const char *type, const char *session)
{
    cJSON *ev = tc_event(c, l, TC_TIMEOUT_MS);
    if (!ev)
        fail_msg("no %s event for %s", type, session ? session : "-");
    if (strcmp(tc_str(ev, "event"), type) != 0 || (session && strcmp(tc_str(ev, "session"), session) != 0)) {
        char *t = cJSON_PrintUnformatted(ev);
        fail_msg("expected %s for %s, got %s", type, session ? session : "-", t);
    }
    return ev;
}

/* The next event of listener l within timeout_ms is CLOSED for session, with reason. */
static void expect_closed(tc *c, long long l, const char *session, const char *reason, int timeout_ms)
{
    cJSON *ev = tc_event(c, l, timeout_ms);
    assert_non_null(ev);
    assert_string_equal(tc_str(ev, "event"), "CLOSED");
    assert_string_equal(tc_str(ev, "session"), session);
    assert_string_equal(tc_str(ev, "reason"), reason);
    cJSON_Delete(ev);
}

static bool array_has(const cJSON *arr, const char *session)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *s = tc_str(e, "session");
        if (s && strcmp(s, session) == 0)
            return true;
    }
    return false;
}

/* Waits until every node sees the others (a listener's snapshot covers the live nodes). */
static void wait_converged(cluster *k, tc *probe, int expected)
{
    long long deadline = sm_mono_ms() + 8000;
    for (;;) {
        long long l = add_listener(probe, ",\"filter\":\"probe is 'yes'\"");
        long long count = -1;
        cJSON *snap = tc_snapshot(probe, l, &count);
        cJSON_Delete(snap);
        cJSON_Delete(tc_ok(probe, "{\"type\":\"remove_listener\",\"listener\":%lld}", l));
        if (count == expected)
            return;
        if (sm_mono_ms() > deadline)
            fail_msg("the cluster did not converge: %lld of %d probe sessions seen", count, expected);
        (void)k;
        sleep_ms(100);
    }
}

/* One probe session on each node and an admin on the first, the cluster converged, and a listener
 * on the probes whose snapshot has been read: the start of every node-failure test. */
static long long open_probed_on_every_node(cluster *k, tc s[NODES], tc *admin, long long *snapshot_count)
{
    for (int i = 0; i < NODES; i++)
        tc_open(&s[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(admin, &k->node[0], "admin", "admin", NULL);
    wait_converged(k, admin, NODES);
    long long l = add_listener(admin, ",\"filter\":\"probe is 'yes'\"");
    cJSON_Delete(tc_snapshot(admin, l, snapshot_count));
    assert_int_equal(*snapshot_count, NODES);
    return l;
}

static void close_probed(tc s[NODES], tc *admin)
{
    for (int i = 0; i < NODES; i++)
        tc_close(&s[i]);
    tc_close(admin);
}

static void test_listener_snapshot_and_events(void **state)
{
    cluster *k = *state;
    tc a[NODES], admin;
    for (int i = 0; i < NODES; i++)
        tc_open(&a[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\",\"team\":\"red\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES);

    long long l = add_listener(&admin, ",\"filter\":\"team is 'red'\",\"keys\":[\"team\",\"$ServerName\"]");
    long long count = -1;
    cJSON *snap = tc_snapshot(&admin, l, &count);
    assert_int_equal(count, NODES);
    for (int i = 0; i < NODES; i++)
        assert_true(array_has(snap, a[i].session_id));
    cJSON_Delete(snap);

    /* Live: a session opens on node 3, changes, leaves the filter, enters again, closes. */
    tc b;
    tc_open(&b, &k->node[2], NULL, NULL, "{\"team\":\"red\"}");
    cJSON *ev = expect_event(&admin, l, "OPEN", b.session_id);
    assert_string_equal(tc_prop(ev, "properties", "$ServerName"), "n3");
    cJSON_Delete(ev);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"team\":\"blue\"}}",
                       b.session_id));
    cJSON_Delete(expect_event(&admin, l, "FILTER_LEAVE", b.session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"team\":\"red\"}}",
                       b.session_id));
    cJSON_Delete(expect_event(&admin, l, "FILTER_ENTER", b.session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", b.session_id));
    ev = expect_event(&admin, l, "CLOSED", b.session_id);
    assert_string_equal(tc_str(ev, "reason"), "CLOSED_BY_CONTROLLER");
    cJSON_Delete(ev);
    tc_close(&b);

    /* `after` is applied by every node to its own sessions. */
    sleep_ms(20);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long after = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    sleep_ms(20);
    tc late;
    tc_open(&late, &k->node[1], NULL, NULL, "{\"team\":\"red\"}");
    cJSON_Delete(expect_event(&admin, l, "OPEN", late.session_id));
    long long l2 = add_listener(&admin, ",\"filter\":\"team is 'red'\",\"after\":0");
    cJSON_Delete(tc_snapshot(&admin, l2, &count));
    assert_int_equal(count, NODES + 1);
    char extra[64];
    snprintf(extra, sizeof extra, ",\"filter\":\"team is 'red'\",\"after\":%lld", after);
    long long l3 = add_listener(&admin, extra);
    snap = tc_snapshot(&admin, l3, &count);
    assert_int_equal(count, 1);
    assert_true(array_has(snap, late.session_id));
    cJSON_Delete(snap);
    tc_close(&late);

    for (int i = 0; i < NODES; i++)
        tc_close(&a[i]);
    tc_close(&admin);
}

static void test_routed_requests(void **state)
{
    cluster *k = *state;
    tc t, admin, probe[NODES];
    for (int i = 0; i < NODES; i++)
        tc_open(&probe[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(&t, &k->node[1], NULL, NULL, "{\"color\":\"green\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES);

    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", t.session_id);
    assert_string_equal(tc_prop(r, "properties", "color"), "green");
    assert_string_equal(tc_prop(r, "properties", "$ServerName"), "n2");
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"color\":\"blue\"}}", t.session_id);
    assert_string_equal(tc_prop(r, "changed", "color"), "green");
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"color\"]}", t.session_id);
    assert_string_equal(tc_prop(r, "properties", "color"), "blue");
    cJSON_Delete(r);

    /* Errors are the owner's, as if local. */
    cJSON_Delete(tc_err(&admin, "INVALID_PROPERTY",
                        "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"bad key\":\"x\"}}", t.session_id));
    char unknown[32];
    snprintf(unknown, sizeof unknown, "%.8s-ffffffff", t.session_id);
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"%s\"}", unknown));
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"00000000-00000001\"}"));

    /* Permissions are checked where the request arrived. */
    tc viewer;
    tc_open(&viewer, &k->node[0], "viewer", "viewer", NULL);
    cJSON_Delete(tc_err(&viewer, "ACCESS_DENIED",
                        "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"color\":\"red\"}}", t.session_id));
    tc_close(&viewer);

    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", t.session_id));
    char reason[128];
    assert_true(tc_wait_close(&t, reason, sizeof reason, TC_TIMEOUT_MS) > 0);
    assert_string_equal(reason, "CLOSED_BY_CONTROLLER");
    tc_close(&t);
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", t.session_id));
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
    tc_close(&admin);
}

static void test_by_filter_totals(void **state)
{
    cluster *k = *state;
    tc s[NODES * 2], admin;
    for (int i = 0; i < NODES * 2; i++)
        tc_open(&s[i], &k->node[i % NODES], NULL, NULL, "{\"probe\":\"yes\",\"grp\":\"x\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES * 2);
    cJSON *r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"grp is 'x'\",\"properties\":{\"grp\":\"y\"}}");
    assert_int_equal(tc_int(r, "count"), NODES * 2);
    assert_null(cJSON_GetObjectItem(r, "missing"));
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"grp\"]}", s[2].session_id);
    assert_string_equal(tc_prop(r, "properties", "grp"), "y");
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"close_by_filter\",\"filter\":\"grp is 'y'\"}");
    assert_int_equal(tc_int(r, "count"), NODES * 2);
    cJSON_Delete(r);
    for (int i = 0; i < NODES * 2; i++) {
        char reason[128];
        assert_true(tc_wait_close(&s[i], reason, sizeof reason, TC_TIMEOUT_MS) > 0);
        tc_close(&s[i]);
    }
    tc_close(&admin);
}

/* The audit record of the last line of node i's file (waits for at least n lines). */
static cJSON *audit_last(int i, int n)
{
    char path[200];
    snprintf(path, sizeof path, "%s/audit-n%d.log", audit_dir, i + 1);
    int64_t until = sm_mono_ms() + 5000;
    for (;;) {
        char *text = tc_read_file(path);
        int lines = 0;
        const char *lastline = text;
        for (const char *p = text; p && *p; p++)
            if (*p == '\n') {
                lines++;
                if (p[1])
                    lastline = p + 1;
            }
        if (lines >= n) {
            cJSON *o = cJSON_ParseWithLength(lastline, strcspn(lastline, "\n"));
            free(text);
            assert_non_null(o);
            return o;
        }
        free(text);
        if (sm_mono_ms() >= until)
            fail_msg("%s: %d audit records expected, %d there", path, n, lines);
        sleep_ms(20);
    }
}

/* Routed and fanned-out requests: the node that owns the sessions records what it did (via the
 * requesting node and its request number), the requesting node records who asked. */
static void test_audit_across_nodes(void **state)
{
    cluster *k = *state;
    tc t, admin, probe[NODES];
    for (int i = 0; i < NODES; i++)
        tc_open(&probe[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(&t, &k->node[1], NULL, NULL, "{\"color\":\"green\",\"grp\":\"a\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    assert_true(admin.audited);
    wait_converged(k, &admin, NODES);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"color\":\"blue\"}}",
                       t.session_id));
    cJSON *here = audit_last(0, 1), *there = audit_last(1, 1);
    assert_string_equal(tc_str(here, "principal"), "admin");
    assert_string_equal(tc_str(here, "result"), "ROUTED");
    assert_string_equal(tc_str(here, "target"), t.session_id);
    /* The owner's record names the requester too: the requesting node sends who asked. */
    assert_string_equal(tc_str(there, "principal"), "admin");
    assert_string_equal(tc_str(there, "sessionId"), admin.session_id);
    assert_string_equal(tc_str(there, "clientIp"), "127.0.0.1");
    assert_string_equal(tc_str(cJSON_GetObjectItem(there, "via"), "node"), "n1");
    assert_string_equal(tc_str(there, "result"), "OK");
    const cJSON *color = cJSON_GetObjectItem(cJSON_GetObjectItem(there, "changes"), "color");
    assert_string_equal(tc_str(color, "old"), "green");
    assert_string_equal(tc_str(color, "new"), "blue");
    cJSON_Delete(here);
    cJSON_Delete(there);

    cJSON *r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"grp is 'a'\",\"properties\":{\"grp\":\"b\"}}");
    assert_int_equal(tc_int(r, "count"), 1);
    cJSON_Delete(r);
    here = audit_last(0, 2);
    there = audit_last(1, 2);
    assert_string_equal(tc_str(here, "op"), "set_by_filter");
    assert_string_equal(tc_str(here, "principal"), "admin");
    assert_int_equal(tc_int(here, "count"), 0); /* nothing matched on n1 itself */
    long long rid = tc_int(here, "clusterRequest");
    assert_true(rid > 0);
    assert_string_equal(tc_str(there, "op"), "set_by_filter");
    assert_int_equal(tc_int(there, "count"), 1);
    assert_int_equal(tc_int(cJSON_GetObjectItem(there, "via"), "request"), rid);
    assert_string_equal(tc_str(there, "principal"), "admin");
    cJSON_Delete(here);
    cJSON_Delete(there);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
    tc_close(&t);
    tc_close(&admin);
}

/* A frozen node: answers name it, its writes are never applied late; it rejoins on resume. */
static void test_frozen_node(void **state)
{
    cluster *k = *state;
    tc s[NODES], admin;
    for (int i = 0; i < NODES; i++)
        tc_open(&s[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES);

    kill(k->node[2].pid, SIGSTOP);
    /* A by-ID request to it: CLUSTER_UNAVAILABLE after requestTimeoutMs (before it is declared
     * dead, after which its IDs are NO_SUCH_SESSION). */
    long long t0 = sm_mono_ms();
    cJSON_Delete(tc_err(&admin, "CLUSTER_UNAVAILABLE", "{\"type\":\"get\",\"sessionId\":\"%s\"}", s[2].session_id));
    long long took = sm_mono_ms() - t0;
    assert_true(took >= REQUEST_TIMEOUT_MS - 50 && took < REQUEST_TIMEOUT_MS + 400);
    t0 = sm_mono_ms();
    cJSON *r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"v is '0'\",\"properties\":{\"v\":\"1\"}}");
    took = sm_mono_ms() - t0;
    assert_true(took < REQUEST_TIMEOUT_MS + 400);
    assert_int_equal(tc_int(r, "count"), 2);
    cJSON *missing = cJSON_GetObjectItem(r, "missing");
    assert_non_null(missing);
    assert_string_equal(cJSON_GetArrayItem(missing, 0)->valuestring, "n3");
    cJSON_Delete(r);

    /* A listener's snapshot arrives with the live nodes' part and names the frozen one. */
    long long l = add_listener(&admin, ",\"filter\":\"probe is 'yes'\"");
    long long count = -1;
    cJSON *snap = tc_snapshot(&admin, l, &count);
    assert_int_equal(count, 2);
    cJSON_Delete(snap);

    /* Declared dead while frozen: no longer waited for. */
    sleep_ms(NODE_TIMEOUT_MS + 800);
    cJSON *none = tc_ok(&admin, "{\"type\":\"close_by_filter\",\"filter\":\"v is 'none'\"}");
    assert_int_equal(tc_int(none, "count"), 0);
    assert_null(cJSON_GetObjectItem(none, "missing")); /* a dead node is not waited for */
    cJSON_Delete(none);
    /* Resumed: it rejoins and the late write is not applied. */
    kill(k->node[2].pid, SIGCONT);
    long long deadline = sm_mono_ms() + 8000;
    cJSON *ev = NULL;
    while (sm_mono_ms() < deadline) {
        ev = tc_event(&admin, l, 500);
        if (ev && strcmp(tc_str(ev, "event"), "OPEN") == 0 && strcmp(tc_str(ev, "session"), s[2].session_id) == 0)
            break;
        cJSON_Delete(ev);
        ev = NULL;
    }
    assert_non_null(ev); /* re-announced */
    cJSON_Delete(ev);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"v\"]}", s[2].session_id);
    assert_string_equal(tc_prop(r, "properties", "v"), "0");
    cJSON_Delete(r);
    close_probed(s, &admin);
}

static void test_killed_node(void **state)
{
    cluster *k = *state;
    tc s[NODES], admin;
    long long count = -1;
    long long l = open_probed_on_every_node(k, s, &admin, &count);

    long long t0 = sm_mono_ms();
    sm_test_server_kill(&k->node[2]);
    expect_closed(&admin, l, s[2].session_id, "CONNECTION_LOST", 10000);
    assert_true(sm_mono_ms() - t0 <= 10000);
    /* Nothing of it stays in Redis. */
    sleep_ms(NODE_TIMEOUT_MS);
    char out[256];
    const char *args[] = {"KEYS", "sessmon:*n3*", NULL};
    assert_int_equal(sm_test_redis_cli(&k->redis, args, out, sizeof out), 0);
    assert_null(strstr(out, "n3"));
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"%s\"}", s[2].session_id));
    for (int i = 0; i < 2; i++)
        tc_close(&s[i]);
    tc_close(&s[2]);
    tc_close(&admin);
}

/* A node stopped cleanly: its sessions are reported closed at once, with its own reason. */
static void test_clean_shutdown(void **state)
{
    cluster *k = *state;
    tc s[NODES], admin;
    long long count = -1;
    long long l = open_probed_on_every_node(k, s, &admin, &count);
    long long t0 = sm_mono_ms();
    assert_int_equal(sm_test_server_stop(&k->node[2]), 0);
    expect_closed(&admin, l, s[2].session_id, "SERVER_CLOSING", 5000);
    assert_true(sm_mono_ms() - t0 < NODE_TIMEOUT_MS);
    tc_no_event(&admin, l, 300); /* closed once, not again when the node is dropped */
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"%s\"}", s[2].session_id));
    close_probed(s, &admin);
}

/* n probe sessions on node 3, an admin probe on node 1 whose listener on the probes has read
 * its snapshot (*l): the start of the tests with more sessions than one loop pass reports. */
static tc *open_many_watched(cluster *k, int n, tc *admin, long long *l)
{
    tc *many = calloc((size_t)n, sizeof *many);
    assert_non_null(many);
    for (int i = 0; i < n; i++)
        tc_open(&many[i], &k->node[2], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(admin, &k->node[0], "admin", "admin", "{\"probe\":\"yes\"}");
    wait_converged(k, admin, n + 1);
    *l = add_listener(admin, ",\"filter\":\"probe is 'yes'\",\"keys\":[]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(admin, *l, &count));
    assert_int_equal(count, n + 1);
    return many;
}

/* Redis goes away: the listening session c is told its view is degraded (an error without id). */
static void stop_redis_expect_degraded(cluster *k, tc *c)
{
    sm_test_redis_stop(&k->redis);
    cJSON *e = tc_next(c, "error", 5000);
    assert_non_null(e);
    assert_string_equal(tc_str(e, "code"), "CLUSTER_UNAVAILABLE");
    assert_null(cJSON_GetObjectItem(e, "id"));
    cJSON_Delete(e);
}

/* A killed node with more sessions than one loop pass reports: each CLOSED exactly once. */
static void test_killed_node_many_sessions(void **state)
{
    enum { MANY = 2300 };
    cluster *k = *state;
    tc admin;
    long long l;
    tc *many = open_many_watched(k, MANY, &admin, &l);
    sm_test_server_kill(&k->node[2]);
    char (*seen)[SM_ID_TEXT] = calloc(MANY, sizeof *seen);
    int closed = 0;
    cJSON *ev;
    while (closed < MANY && (ev = tc_event(&admin, l, 10000)) != NULL) {
        assert_string_equal(tc_str(ev, "event"), "CLOSED");
        for (int i = 0; i < closed; i++)
            assert_string_not_equal(seen[i], tc_str(ev, "session"));
        snprintf(seen[closed++], SM_ID_TEXT, "%s", tc_str(ev, "session"));
        cJSON_Delete(ev);
    }
    assert_int_equal(closed, MANY);
    tc_no_event(&admin, l, 300);
    free(seen);
    for (int i = 0; i < MANY; i++)
        tc_close(&many[i]);
    free(many);
    tc_close(&admin);
}

/* The sessmon CLI (through libsessmon) reports CLUSTER_UNAVAILABLE by name and exit code 8
 * (docs/client.md § Exit codes). */
static void expect_cli_cluster_unavailable(cluster *k, const char *remote_session)
{
    char out[1024];
    setenv("SESSMON_PRINCIPAL", "admin", 1);
    setenv("SESSMON_PASSWORD", "admin", 1);
    const char *args[] = {"get", "--url", k->node[0].url, remote_session, NULL};
    int status = sm_test_program_run(SESSMON_PATH, args, NULL, out, sizeof out, 15000);
    unsetenv("SESSMON_PRINCIPAL");
    unsetenv("SESSMON_PASSWORD");
    if (status != 8 || !strstr(out, "CLUSTER_UNAVAILABLE"))
        fail_msg("sessmon get during the outage: status %d, output: %s", status, out);
}

/* Redis restarted: listeners are told the view is degraded, keep the remote sessions they know,
 * and afterwards get exactly what they missed (docs/cluster.md § Reconvergence). */
static void test_redis_restart(void **state)
{
    cluster *k = *state;
    tc s[NODES], admin, admin2, kept, changed, closed, leaving, entering;
    for (int i = 0; i < NODES; i++)
        tc_open(&s[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(&kept, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(&changed, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\",\"w\":\"x\",\"z\":\"same\"}");
    tc_open(&closed, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(&leaving, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(&entering, &k->node[1], NULL, NULL, "{\"probe\":\"not yet\",\"v\":\"0\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    tc_open(&admin2, &k->node[1], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES + 4);
    long long l = add_listener(&admin, ",\"filter\":\"probe is 'yes'\",\"keys\":[\"v\",\"w\",\"z\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&admin, l, &count));
    assert_int_equal(count, NODES + 4);
    /* The same in the changedOnly form, on node 3. */
    tc admin3;
    tc_open(&admin3, &k->node[2], "admin", "admin", NULL);
    long long l3 = add_listener(&admin3, ",\"filter\":\"probe is 'yes'\",\"keys\":[\"v\",\"w\",\"z\"],\"changedOnly\":true");
    cJSON_Delete(tc_snapshot(&admin3, l3, &count));
    assert_int_equal(count, NODES + 4);

    /* Degraded: told once; the remote sessions it knows stay; local ones are still served and
     * cluster requests fail fast. */
    stop_redis_expect_degraded(k, &admin);
    tc_no_event(&admin, l, 300);
    cJSON_Delete(tc_err(&admin, "CLUSTER_UNAVAILABLE", "{\"type\":\"set_by_filter\",\"filter\":\"probe is 'yes'\","
                                                       "\"properties\":{\"x\":\"1\"}}"));
    cJSON_Delete(tc_err(&admin, "CLUSTER_UNAVAILABLE", "{\"type\":\"get\",\"sessionId\":\"%s\"}", s[1].session_id));
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", s[0].session_id));
    expect_cli_cluster_unavailable(k, s[1].session_id);

    /* Meanwhile on node 2: one session opens, one closes, one changes (v modified, w deleted),
     * one leaves the filter, one enters it; `kept` and the probes are untouched. */
    tc opened;
    tc_open(&opened, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", closed.session_id));
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"v\":\"1\",\"w\":null}}",
                       changed.session_id));
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"probe\":\"no\"}}",
                       leaving.session_id));
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"probe\":\"yes\"}}",
                       entering.session_id));

    /* Back: exactly the differences, once each, and nothing about the untouched sessions. */
    assert_int_equal(sm_test_redis_restart(&k->redis), 0);
    enum { OPENED, CLOSED, CHANGED, LEFT, ENTERED, KINDS };
    int got[KINDS] = {0};
    long long deadline = sm_mono_ms() + 10000;
    cJSON *ev;
    while (got[OPENED] + got[CLOSED] + got[CHANGED] + got[LEFT] + got[ENTERED] < KINDS && sm_mono_ms() < deadline &&
           (ev = tc_event(&admin, l, 1000)) != NULL) {
        const char *type = tc_str(ev, "event"), *sid = tc_str(ev, "session");
        if (strcmp(type, "OPEN") == 0 && strcmp(sid, opened.session_id) == 0) {
            assert_string_equal(tc_prop(ev, "properties", "v"), "0");
            got[OPENED]++;
        } else if (strcmp(type, "FILTER_ENTER") == 0 && strcmp(sid, entering.session_id) == 0) {
            assert_string_equal(tc_prop(ev, "properties", "v"), "0");
            got[ENTERED]++;
        } else if (strcmp(type, "CLOSED") == 0 && strcmp(sid, closed.session_id) == 0) {
            assert_string_equal(tc_str(ev, "reason"), "CONNECTION_LOST");
            got[CLOSED]++;
        } else if (strcmp(type, "PROPERTIES") == 0 && strcmp(sid, changed.session_id) == 0) {
            assert_string_equal(tc_prop(ev, "properties", "v"), "1");
            assert_string_equal(tc_prop(ev, "properties", "z"), "same"); /* the full set */
            assert_null(tc_prop(ev, "properties", "w"));
            assert_string_equal(tc_prop(ev, "changed", "v"), "0");
            assert_string_equal(tc_prop(ev, "changed", "w"), "x");
            got[CHANGED]++;
        } else if (strcmp(type, "FILTER_LEAVE") == 0 && strcmp(sid, leaving.session_id) == 0) {
            got[LEFT]++;
        } else {
            char *t = cJSON_PrintUnformatted(ev);
            fail_msg("unexpected event after reconvergence: %s", t);
        }
        cJSON_Delete(ev);
    }
    for (int i = 0; i < KINDS; i++)
        if (got[i] != 1)
            fail_msg("event kind %d seen %d times (open, closed, changed, left, entered)", i, got[i]);
    tc_no_event(&admin, l, 1000);
    /* changedOnly: only the changed keys' new values. Node 3 lost Redis too: its listener got
     * the same differences. */
    int seen3 = 0;
    while (seen3 < KINDS && (ev = tc_event(&admin3, l3, 5000)) != NULL) {
        if (strcmp(tc_str(ev, "event"), "PROPERTIES") == 0) {
            assert_string_equal(tc_str(ev, "session"), changed.session_id);
            assert_string_equal(tc_prop(ev, "properties", "v"), "1");
            assert_null(tc_prop(ev, "properties", "z"));
            assert_string_equal(tc_prop(ev, "changed", "w"), "x");
        }
        seen3++;
        cJSON_Delete(ev);
    }
    assert_int_equal(seen3, KINDS);
    tc_no_event(&admin3, l3, 300);
    tc_close(&admin3);
    /* The cluster works again, and the view is live again. */
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"v\"]}", changed.session_id);
    assert_string_equal(tc_prop(r, "properties", "v"), "1");
    cJSON_Delete(r);
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"v\":\"2\"}}",
                       kept.session_id));
    ev = expect_event(&admin, l, "PROPERTIES", kept.session_id);
    assert_string_equal(tc_prop(ev, "changed", "v"), "0");
    cJSON_Delete(ev);

    tc *all[] = {&admin, &admin2, &kept, &changed, &closed, &leaving, &entering, &opened};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tc_close(all[i]);
    for (int i = 0; i < NODES; i++)
        tc_close(&s[i]);
}

/* What a listener was told live is what reconvergence compares with: sessions changed live
 * before an outage (a value modified, one deleted, one added; in the full and the changedOnly
 * form) and untouched meanwhile get no event after it, one changed again meanwhile gets exactly
 * the change against what it was last told. */
static void test_redis_restart_after_live_changes(void **state)
{
    cluster *k = *state;
    tc still, again, admin, admin2, admin3;
    tc_open(&still, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\",\"w\":\"x\"}");
    tc_open(&again, &k->node[1], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\",\"w\":\"x\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    tc_open(&admin2, &k->node[1], "admin", "admin", NULL);
    tc_open(&admin3, &k->node[2], "admin", "admin", NULL);
    wait_converged(k, &admin, 2);
    const char *keys = ",\"filter\":\"probe is 'yes'\",\"keys\":[\"v\",\"w\",\"y\"]";
    long long l = add_listener(&admin, keys), count = -1;
    cJSON_Delete(tc_snapshot(&admin, l, &count));
    assert_int_equal(count, 2);
    char only[160];
    snprintf(only, sizeof only, "%s,\"changedOnly\":true", keys);
    long long l3 = add_listener(&admin3, only);
    cJSON_Delete(tc_snapshot(&admin3, l3, &count));
    assert_int_equal(count, 2);
    tc *sessions[] = {&still, &again};
    for (int i = 0; i < 2; i++) {
        cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"v\":\"1\"}}",
                           sessions[i]->session_id));
        cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"w\":null,\"y\":\"n\"}}",
                           sessions[i]->session_id));
        for (int j = 0; j < 2; j++) {
            cJSON_Delete(expect_event(&admin, l, "PROPERTIES", sessions[i]->session_id));
            cJSON_Delete(expect_event(&admin3, l3, "PROPERTIES", sessions[i]->session_id));
        }
    }
    stop_redis_expect_degraded(k, &admin);
    cJSON *e = tc_next(&admin3, "error", 5000);
    assert_non_null(e);
    cJSON_Delete(e);
    cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"y\":\"m\"}}",
                       again.session_id));
    assert_int_equal(sm_test_redis_restart(&k->redis), 0);
    cJSON *ev = expect_event(&admin, l, "PROPERTIES", again.session_id);
    assert_string_equal(tc_prop(ev, "properties", "v"), "1");
    assert_string_equal(tc_prop(ev, "properties", "y"), "m");
    assert_null(tc_prop(ev, "properties", "w"));
    assert_string_equal(tc_prop(ev, "changed", "y"), "n");
    assert_null(tc_prop(ev, "changed", "v"));
    assert_null(tc_prop(ev, "changed", "w"));
    cJSON_Delete(ev);
    ev = expect_event(&admin3, l3, "PROPERTIES", again.session_id);
    assert_string_equal(tc_prop(ev, "properties", "y"), "m");
    assert_null(tc_prop(ev, "properties", "v"));
    assert_string_equal(tc_prop(ev, "changed", "y"), "n");
    cJSON_Delete(ev);
    tc_no_event(&admin, l, 1000);
    tc_no_event(&admin3, l3, 300);
    tc *all[] = {&still, &again, &admin, &admin2, &admin3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tc_close(all[i]);
}

/* Many known sessions across an outage: those closed meanwhile are reported CLOSED once each
 * (more than one loop pass's worth), those whose connection dropped DISCONNECTED, the others
 * not at all. */
static void test_redis_restart_many(void **state)
{
    enum { MANY = 2300, GONE = 2100, DROPPED = 100 };
    cluster *k = *state;
    tc admin;
    long long l;
    tc *many = open_many_watched(k, MANY, &admin, &l);

    stop_redis_expect_degraded(k, &admin);
    for (int i = 0; i < GONE; i++) {
        cJSON_Delete(tc_ok(&many[i], "{\"type\":\"close_self\"}"));
        tc_close(&many[i]);
    }
    for (int i = GONE; i < GONE + DROPPED; i++)
        tc_close(&many[i]); /* no close: the session waits for its client to come back */
    assert_int_equal(sm_test_redis_restart(&k->redis), 0);
    char (*seen)[SM_ID_TEXT] = calloc(GONE + DROPPED, sizeof *seen);
    int closed = 0, disconnected = 0;
    cJSON *ev;
    while (closed + disconnected < GONE + DROPPED && (ev = tc_event(&admin, l, 10000)) != NULL) {
        const char *type = tc_str(ev, "event"), *sid = tc_str(ev, "session");
        for (int i = 0; i < closed + disconnected; i++)
            assert_string_not_equal(seen[i], sid);
        int at = -1;
        for (int i = 0; i < GONE + DROPPED && at < 0; i++)
            if (strcmp(many[i].session_id, sid) == 0)
                at = i;
        if (at < 0 || strcmp(type, at < GONE ? "CLOSED" : "DISCONNECTED") != 0) {
            char *t = cJSON_PrintUnformatted(ev);
            fail_msg("unexpected event after reconvergence: %s", t);
        }
        snprintf(seen[closed + disconnected], SM_ID_TEXT, "%s", sid);
        if (at < GONE)
            closed++;
        else
            disconnected++;
        cJSON_Delete(ev);
    }
    assert_int_equal(closed, GONE);
    assert_int_equal(disconnected, DROPPED);
    tc_no_event(&admin, l, 1000);
    free(seen);
    for (int i = GONE + DROPPED; i < MANY; i++)
        tc_close(&many[i]);
    free(many);
    tc_close(&admin);
}

/* A node that does not come back after the outage: what the listener knew of it is closed
 * within nodeTimeoutMs of its own node's return. No ghosts. */
static void test_redis_restart_node_lost(void **state)
{
    cluster *k = *state;
    tc s[NODES], admin;
    long long count = -1;
    long long l = open_probed_on_every_node(k, s, &admin, &count);
    stop_redis_expect_degraded(k, &admin);
    sm_test_server_kill(&k->node[2]);
    assert_int_equal(sm_test_redis_restart(&k->redis), 0);
    expect_closed(&admin, l, s[2].session_id, "CONNECTION_LOST", 10000);
    tc_no_event(&admin, l, 1000); /* node 2's session: unchanged, nothing */
    close_probed(s, &admin);
}

static void test_duplicate_name_and_bad_config(void **state)
{
    cluster *k = *state;
    char out[1024];
    const char *dup[] = {"--port", "0", "--cluster-redis", k->redis.url, "--node", "n1", NULL};
    int st = sm_test_sessmond_run(dup, NULL, out, sizeof out, 8000);
    assert_int_not_equal(st, 0);
    assert_int_not_equal(st, -1);
    assert_non_null(strstr(out, "node name 'n1' is in use by a live node"));

    const char *bad_url[] = {"--check-config", "--cluster-redis", "rediss://x:1", "--node", "a", NULL};
    assert_int_equal(sm_test_sessmond_run(bad_url, NULL, out, sizeof out, 5000), 2);
    assert_non_null(strstr(out, "cluster.redis"));
    const char *bad_node[] = {"--check-config", "--cluster-redis", "redis://127.0.0.1:1", "--node", "a b", NULL};
    assert_int_equal(sm_test_sessmond_run(bad_node, NULL, out, sizeof out, 5000), 2);
    assert_non_null(strstr(out, "cluster.node"));
    const char *no_node[] = {"--check-config", "--cluster-redis", "redis://127.0.0.1:1", NULL};
    assert_int_equal(sm_test_sessmond_run(no_node, NULL, out, sizeof out, 5000), 2);
    assert_non_null(strstr(out, "cluster.node: is missing"));
    const char *ok[] = {"--check-config", "--cluster-redis", "redis://127.0.0.1:1", "--node", "a", NULL};
    assert_int_equal(sm_test_sessmond_run(ok, NULL, out, sizeof out, 5000), 0);
    /* The section in a file: unknown fields and inconsistent timings are named. */
    static const char *const bad_files[][2] = {
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:1\",\"node\":\"a\",\"bogus\":1}}", "cluster: unknown field 'bogus'"},
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:1\",\"node\":\"a\",\"heartbeatMs\":1000,"
         "\"nodeTimeoutMs\":1500}}",
         "cluster.nodeTimeoutMs"},
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:1\",\"node\":\"a\",\"passwordFile\":\"/nonexistent/pw\"}}",
         "cluster.passwordFile"},
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:99999\",\"node\":\"a\"}}", "cluster.redis"},
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:1\",\"node\":\"a\",\"maxUnansweredBytes\":65536}}",
         "cluster.maxUnansweredBytes"},
        {"{\"cluster\":{\"redis\":\"redis://127.0.0.1:1\",\"node\":\"a\",\"maxPendingRequests\":0}}",
         "cluster.maxPendingRequests"},
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        char path[] = "/tmp/sessmon-test-ccfg-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bad_files[i][0], strlen(bad_files[i][0])), (ssize_t)strlen(bad_files[i][0]));
        close(fd);
        const char *args[] = {"--check-config", "--config", path, NULL};
        int status = sm_test_sessmond_run(args, NULL, out, sizeof out, 5000);
        unlink(path);
        if (status != 2 || !strstr(out, bad_files[i][1]))
            fail_msg("config %s: status %d, output: %s", bad_files[i][0], status, out);
    }
    /* No Redis there: a clear error at start-up. */
    const char *noredis[] = {"--port", "0", "--cluster-redis", "redis://127.0.0.1:1", "--node", "a", NULL};
    assert_int_not_equal(sm_test_sessmond_run(noredis, NULL, out, sizeof out, 8000), 0);
    assert_non_null(strstr(out, "cannot connect to Redis"));
}

/* A listener that stops reading: its node stops acknowledging, the other node's proxy passes
 * cluster.maxProxyBytes and is dropped, and the listening session closes like a local slow one. */
static void test_slow_listener_is_bounded(void **state)
{
    cluster *k = *state;
    tc slow, admin2, t, probe[NODES];
    for (int i = 0; i < NODES; i++)
        tc_open(&probe[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(&t, &k->node[1], NULL, NULL, "{\"big\":\"0\"}");
    tc_open(&slow, &k->node[0], "admin", "admin", NULL);
    tc_open(&admin2, &k->node[1], "admin", "admin", NULL);
    wait_converged(k, &slow, NODES);
    long long l = add_listener(&slow, ",\"keys\":[\"*U\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&slow, l, &count));
    /* From now on `slow` reads nothing. Each change carries ~8 KB (new and old value). */
    char *big = malloc(4001);
    bool closed = false;
    for (int i = 0; i < 4000 && !closed; i++) {
        memset(big, 'a' + (i % 2), 4000);
        big[4000] = '\0';
        cJSON_Delete(tc_ok(&admin2, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"big\":\"%s\"}}",
                           t.session_id, big));
        if (i % 200 == 199) {
            char path[300];
            FILE *f = fopen(sm_test_server_log(&k->node[1], path, sizeof path), "r");
            char line[512];
            while (f && fgets(line, sizeof line, f))
                closed = closed || strstr(line, "fell") != NULL;
            if (f)
                fclose(f);
        }
    }
    free(big);
    assert_true(closed); /* node 2 dropped its proxy at the bound */
    char reason[128];
    assert_true(tc_wait_close(&slow, reason, sizeof reason, 20000) > 0);
    assert_string_equal(reason, "MESSAGE_QUEUE_LIMIT_REACHED");
    tc_close(&slow);
    tc_close(&t);
    tc_close(&admin2);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
}

/* A listener's filter runs on every node: its proxies are charged to each node's
 * limits.maxListenerRegexCost like local listeners (docs/cluster.md § Bounds). Nodes 1 and 3
 * have the default 192, node 2 only 100: a worst-case filter (128) fits on 1 and 3, not on 2. */
#define WORST_FILTER "(K matches '[ab]*a[ab]{58}' or all) and (K matches '(a|b)*a(a|b){58}' or all)"

static void test_proxy_regex_budget(void **state)
{
    cluster *k = *state;
    tc probe[NODES], admin, local3;
    for (int i = 0; i < NODES; i++)
        tc_open(&probe[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(&admin, &k->node[0], "admin", "admin", NULL);
    tc_open(&local3, &k->node[2], "admin", "admin", NULL);
    wait_converged(k, &admin, NODES);

    /* Node 2 refuses its part, node 3 takes it. */
    long long l = add_listener(&admin, ",\"filter\":\"probe is 'yes' and " WORST_FILTER "\",\"keys\":[]");
    cJSON *end = tc_next(&admin, "snapshot_end", 4 * TC_TIMEOUT_MS);
    assert_non_null(end);
    assert_int_equal(tc_int(end, "listener"), l);
    assert_int_equal(tc_int(end, "count"), NODES - 1);
    cJSON *missing = cJSON_GetObjectItem(end, "missing");
    assert_int_equal(cJSON_GetArraySize(missing), 1);
    assert_string_equal(cJSON_GetArrayItem(missing, 0)->valuestring, "n2");
    cJSON_Delete(end);
    int snapshot_events = 0;
    for (cJSON *ev; (ev = tc_event(&admin, l, 0)) != NULL; cJSON_Delete(ev)) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ev, "snapshot")));
        assert_string_not_equal(tc_str(ev, "session"), probe[1].session_id);
        snapshot_events++;
    }
    assert_int_equal(snapshot_events, NODES - 1);
    cJSON *e = tc_next(&admin, "error", TC_TIMEOUT_MS);
    assert_non_null(e);
    assert_string_equal(tc_str(e, "code"), "LIMIT_EXCEEDED");
    assert_null(cJSON_GetObjectItem(e, "id"));
    const char *msg = tc_str(e, "message");
    if (!strstr(msg, "node n2") || !strstr(msg, "limits.maxListenerRegexCost"))
        fail_msg("refusal does not say who and why: %s", msg);
    cJSON_Delete(e);
    /* Its sessions are not reported later either (the part does not exist). */
    tc probe2;
    tc_open(&probe2, &k->node[1], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_no_event(&admin, l, 300);
    tc_close(&probe2);

    /* Node 3 counts the proxy it took: a local worst-case listener no longer fits there. */
    cJSON_Delete(tc_err(&local3, "LIMIT_EXCEEDED", "{\"type\":\"add_listener\",\"filter\":\"" WORST_FILTER "\"}"));
    /* Removing the listener gives the allowance back. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"remove_listener\",\"listener\":%lld}", l));
    long long deadline = sm_mono_ms() + 5000;
    for (;;) {
        cJSON *r = tc_request(&local3, "{\"type\":\"add_listener\",\"filter\":\"" WORST_FILTER "\"}");
        bool ok = r && strcmp(tc_str(r, "type"), "reply") == 0;
        cJSON_Delete(r);
        if (ok)
            break;
        if (sm_mono_ms() > deadline)
            fail_msg("node 3 kept the removed listener's regex cost");
        sleep_ms(50);
    }
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
    tc_close(&local3);
    tc_close(&admin);
}

/* Redis with an ACL user holding only the documented permissions (docs/cluster.md § Security). */
static void test_acl_user(void **state)
{
    (void)state;
    sm_test_redis r;
    assert_int_equal(sm_test_redis_start(&r), 0);
    char out[256];
    const char *acl[] = {"ACL", "SETUSER", "sessmon", "on", ">s3cret-pw", "resetkeys", "~sessmon:*", "resetchannels",
                         "&sessmon:*", "-@all", "+eval", "+get", "+set", "+pexpire", "+del", "+scan", "+publish",
                         "+subscribe", NULL};
    assert_int_equal(sm_test_redis_cli(&r, acl, out, sizeof out), 0);
    assert_non_null(strstr(out, "OK"));
    const char *off[] = {"ACL", "SETUSER", "default", "off", NULL};
    assert_int_equal(sm_test_redis_cli(&r, off, out, sizeof out), 0);
    char pwfile[] = "/tmp/sessmon-test-pw-XXXXXX";
    int fd = mkstemp(pwfile);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret-pw\n", 10), 10);
    close(fd);
    char over[512];
    snprintf(over, sizeof over,
             "{\"cluster\":{\"user\":\"sessmon\",\"passwordFile\":\"%s\",\"heartbeatMs\":200,"
             "\"nodeTimeoutMs\":1500,\"requestTimeoutMs\":500}}",
             pwfile);
    char *cfg = sm_test_config(over);
    sm_test_server n[2];
    for (int i = 0; i < 2; i++) {
        char name[8];
        snprintf(name, sizeof name, "a%d", i + 1);
        const char *args[] = {"--cluster-redis", r.url, "--node", name, NULL};
        assert_int_equal(sm_test_server_start_args(&n[i], cfg, args), 0);
    }
    tc s2, admin;
    tc_open(&s2, &n[1], NULL, NULL, "{\"probe\":\"yes\"}");
    tc_open(&admin, &n[0], "admin", "admin", "{\"probe\":\"yes\"}");
    cluster fake;
    memset(&fake, 0, sizeof fake);
    wait_converged(&fake, &admin, 2);
    cJSON *rep = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"$ServerName\"]}", s2.session_id);
    assert_string_equal(tc_prop(rep, "properties", "$ServerName"), "a2");
    cJSON_Delete(rep);
    rep = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"probe is 'yes'\",\"properties\":{\"x\":\"1\"}}");
    assert_int_equal(tc_int(rep, "count"), 2);
    cJSON_Delete(rep);
    tc_close(&s2);
    tc_close(&admin);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sm_test_server_stop(&n[i]), 0);
    free(cfg);

    /* A wrong password: refused at start-up, saying so (and never echoing it). */
    fd = open(pwfile, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "wrong\n", 6), 6);
    close(fd);
    char cfgpath[] = "/tmp/sessmon-test-cfg-XXXXXX";
    fd = mkstemp(cfgpath);
    cfg = sm_test_config(over);
    assert_int_equal(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
    close(fd);
    free(cfg);
    char log[1024];
    const char *bad[] = {"--config", cfgpath, "--port", "0", "--cluster-redis", r.url, "--node", "a3", NULL};
    assert_int_not_equal(sm_test_sessmond_run(bad, NULL, log, sizeof log, 8000), 0);
    assert_non_null(strstr(log, "refused the credentials"));
    assert_null(strstr(log, "wrong"));
    unlink(cfgpath);
    unlink(pwfile);
    sm_test_redis_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listener_snapshot_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_filter_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_node_many_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_after_live_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_node_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_name_and_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_listener_is_bounded, setup_small_proxy, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_regex_budget, setup_small_regex_node2, teardown),
        cmocka_unit_test(test_acl_user),
        cmocka_unit_test_setup_teardown(test_audit_across_nodes, setup_audited, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
