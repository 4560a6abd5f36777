/* Cluster-mode bounds (docs/cluster.md § Bounds): slow listeners, frozen nodes, a frozen Redis and request floods keep every process's memory bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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
#define REQUEST_TIMEOUT_MS 500
#define BIG 4000 /* bytes of a churned value: each change carries ~8 KB (new and old value) */

/* Growth allowed while a bound holds (docs/cluster.md § Bounds, "tested by"). */
#define NODE_GROWTH_MAX_KIB (32 * 1024)
#define REDIS_GROWTH_MAX (16LL * 1024 * 1024)

typedef sm_test_cluster cluster;

/* Small limits so that each bound is reached in well under a second; a frozen node is resumed
 * long before nodeTimeoutMs. */
static const char SMALL_CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":3000,\"requestTimeoutMs\":500,"
                                   "\"maxProxyBytes\":65536,\"maxPendingRequests\":8,"
                                   "\"maxUnansweredBytes\":1048576},"
                                   "\"limits\":{\"maxQueueBytes\":1048576}}";
/* The same with the default 4 MiB proxy window: more than the test's Redis pubsub limit and the
 * node's unanswered bytes. */
static const char WIDE_PROXY_CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":1500,"
                                        "\"requestTimeoutMs\":500,\"maxUnansweredBytes\":1048576}}";
/* A proxy window far above the test's Redis pubsub limit plus the kernel's socket buffers, so that
 * Redis's limit is the one reached, and a node timeout longer than the test's churn, so that the
 * frozen node's peers keep publishing to it (however slow the build) until Redis drops it. */
static const char REDIS_LIMIT_CONFIG[] = "{\"cluster\":{\"heartbeatMs\":200,\"nodeTimeoutMs\":20000,"
                                         "\"requestTimeoutMs\":500,\"maxProxyBytes\":268435456},"
                                         "\"limits\":{\"maxQueueBytes\":67108864}}";
static const char *config_overrides = SMALL_CONFIG;

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    *state = sm_test_cluster_start(config_overrides, NULL);
    return *state ? 0 : -1;
}

static int setup_wide_proxy(void **state)
{
    config_overrides = WIDE_PROXY_CONFIG;
    int rc = setup(state);
    config_overrides = SMALL_CONFIG;
    return rc;
}

static int setup_redis_limit(void **state)
{
    config_overrides = REDIS_LIMIT_CONFIG;
    int rc = setup(state);
    config_overrides = SMALL_CONFIG;
    return rc;
}

static int teardown(void **state)
{
    return sm_test_cluster_stop(*state);
}

/* ---- measuring ---- */

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    assert_true(kib > 0);
    return kib;
}

/* A numeric field of `redis-cli INFO section`. */
static long long redis_info(const sm_test_redis *r, const char *section, const char *field)
{
    static char out[65536];
    const char *args[] = {"INFO", section, NULL};
    assert_int_equal(sm_test_redis_cli(r, args, out, sizeof out), 0);
    char key[96];
    snprintf(key, sizeof key, "\n%s:", field);
    const char *p = strstr(out, key);
    if (!p)
        fail_msg("no %s in INFO %s", field, section);
    return strtoll(p + strlen(key), NULL, 10);
}

/* Subscriber connections in `CLIENT LIST` (sessmond's one per node), and the largest output buffer
 * (omem) among them. */
static int redis_subscribers(const sm_test_redis *r, long long *max_omem)
{
    static char out[65536];
    const char *args[] = {"CLIENT", "LIST", NULL};
    assert_int_equal(sm_test_redis_cli(r, args, out, sizeof out), 0);
    int n = 0;
    *max_omem = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        const char *sub = strstr(line, " sub=");
        const char *omem = strstr(line, " omem=");
        if (!sub || atoi(sub + 5) == 0)
            continue;
        n++;
        if (omem && atoll(omem + 6) > *max_omem)
            *max_omem = atoll(omem + 6);
    }
    return n;
}

static int log_count(const sm_test_server *s, const char *needle)
{
    char path[300], line[1024];
    FILE *f = fopen(sm_test_server_log(s, path, sizeof path), "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* ---- helpers ---- */

static long long add_listener(tc *c, const char *extra)
{
    cJSON *r = tc_ok(c, "{\"type\":\"add_listener\"%s}", extra);
    long long id = tc_int(r, "listener");
    cJSON_Delete(r);
    return id;
}

static long long snapshot_count(tc *c, const char *filter)
{
    long long l = add_listener(c, filter);
    long long count = -1;
    cJSON_Delete(tc_snapshot(c, l, &count));
    cJSON_Delete(tc_ok(c, "{\"type\":\"remove_listener\",\"listener\":%lld}", l));
    return count;
}

/* Waits until a listener added through c sees `expected` probe sessions (the cluster converged). */
static void wait_probes(tc *c, int expected, int timeout_ms)
{
    long long deadline = sm_mono_ms() + timeout_ms, count = -1;
    while ((count = snapshot_count(c, ",\"filter\":\"probe is 'yes'\"")) != expected) {
        if (sm_mono_ms() > deadline)
            fail_msg("the cluster did not converge: %lld of %d probe sessions seen", count, expected);
        sleep_ms(100);
    }
}

static void open_probes(cluster *k, tc probe[NODES], tc *admin, int admin_node)
{
    for (int i = 0; i < NODES; i++)
        tc_open(&probe[i], &k->node[i], NULL, NULL, "{\"probe\":\"yes\",\"v\":\"0\"}");
    tc_open(admin, &k->node[admin_node], "admin", "admin", NULL);
    wait_probes(admin, NODES, 8000);
}

static void set_big(tc *c, const char *session, int i)
{
    static char big[BIG + 1];
    memset(big, 'a' + (i % 26), BIG);
    big[BIG] = '\0';
    cJSON_Delete(tc_ok(c, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"big\":\"%s\"}}", session, big));
}

/* Waits for listener l's next PROPERTIES event of session whose `key` is `value`. */
static bool wait_value(tc *c, long long l, const char *session, const char *key, const char *value, int timeout_ms)
{
    long long deadline = sm_mono_ms() + timeout_ms;
    while (sm_mono_ms() < deadline) {
        cJSON *ev = tc_event(c, l, 200);
        if (!ev)
            continue;
        const char *s = tc_str(ev, "session");
        const char *v = tc_prop(ev, "properties", key);
        bool hit = s && strcmp(s, session) == 0 && v && strcmp(v, value) == 0;
        cJSON_Delete(ev);
        if (hit)
            return true;
    }
    return false;
}

/* 1. A listener on node 1 that stops reading while node 2 churns for several seconds: node 2 drops
 * its proxy at maxProxyBytes, node 1 closes the session at maxQueueBytes, memory stays bounded
 * everywhere, and another listener on node 1 keeps getting events. */
static void test_slow_listener_memory(void **state)
{
    cluster *k = *state;
    tc probe[NODES], slow, fast, churn, t;
    open_probes(k, probe, &fast, 0);
    tc_open(&t, &k->node[1], NULL, NULL, "{\"big\":\"0\"}");
    tc_open(&slow, &k->node[0], "admin", "admin", NULL);
    tc_open(&churn, &k->node[1], "admin", "admin", NULL);
    long long ls = add_listener(&slow, ",\"keys\":[\"*U\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&slow, ls, &count));
    long long lf = add_listener(&fast, ",\"filter\":\"probe is 'yes'\",\"keys\":[\"v\"]");
    cJSON_Delete(tc_snapshot(&fast, lf, &count));
    assert_int_equal(count, NODES);

    long rss0[2] = {rss_kib(k->node[0].pid), rss_kib(k->node[1].pid)}, rss_max[2] = {0, 0};
    long long used0 = redis_info(&k->redis, "memory", "used_memory"), used_max = 0, omem_max = 0;
    /* `slow` reads nothing from now on; node 2 churns for 3 s. */
    long long end = sm_mono_ms() + 3000;
    int sets = 0;
    while (sm_mono_ms() < end) {
        set_big(&churn, t.session_id, sets++);
        if (sets % 50 == 0) {
            for (int i = 0; i < 2; i++) {
                long r = rss_kib(k->node[i].pid);
                rss_max[i] = r > rss_max[i] ? r : rss_max[i];
            }
            long long used = redis_info(&k->redis, "memory", "used_memory"), omem = 0;
            redis_subscribers(&k->redis, &omem);
            used_max = used > used_max ? used : used_max;
            omem_max = omem > omem_max ? omem : omem_max;
        }
    }
    print_message("slow listener: %d sets of ~8 KB in 3 s; RSS growth n1 %ld KiB, n2 %ld KiB; Redis used_memory "
                  "growth %lld bytes, largest subscriber omem %lld bytes\n",
                  sets, rss_max[0] - rss0[0], rss_max[1] - rss0[1], used_max - used0, omem_max);
    assert_true(sets >= 100); /* the churn really ran past the bounds (~1 MB of events) */
    assert_true(rss_max[0] - rss0[0] < NODE_GROWTH_MAX_KIB);
    assert_true(rss_max[1] - rss0[1] < NODE_GROWTH_MAX_KIB);
    assert_true(used_max - used0 < REDIS_GROWTH_MAX);
    assert_true(omem_max < REDIS_GROWTH_MAX);
    /* Overflow behaviour: node 2 dropped its part of the listener, node 1 closed the session. */
    assert_true(log_count(&k->node[1], "behind; dropped") >= 1);
    char reason[128];
    assert_true(tc_wait_close(&slow, reason, sizeof reason, 10000) > 0);
    assert_string_equal(reason, "MESSAGE_QUEUE_LIMIT_REACHED");
    /* The other listener on node 1 still gets node 2's events. */
    cJSON_Delete(tc_ok(&churn, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"v\":\"after\"}}",
                       probe[1].session_id));
    assert_true(wait_value(&fast, lf, probe[1].session_id, "v", "after", 5000));
    tc_close(&slow);
    tc_close(&t);
    tc_close(&churn);
    tc_close(&fast);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
}

/* 2. A frozen node whose subscriber connection Redis drops at its client-output-buffer-limit
 * (set small here, as an operator would): the others stay bounded; on resume the node notices,
 * rejoins, its listener catches up, and nothing is left behind. */
static void test_frozen_node_dropped_by_redis(void **state)
{
    cluster *k = *state;
    const char *limit[] = {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 256kb 60", NULL};
    char out[256];
    assert_int_equal(sm_test_redis_cli(&k->redis, limit, out, sizeof out), 0);
    tc probe[NODES], admin, watcher3, admin3, churn, t;
    open_probes(k, probe, &admin, 0);
    tc_open(&t, &k->node[1], NULL, NULL, "{\"big\":\"0\"}");
    tc_open(&churn, &k->node[1], "admin", "admin", NULL);
    tc_open(&watcher3, &k->node[2], "admin", "admin", NULL);
    tc_open(&admin3, &k->node[2], "admin", "admin", NULL);
    long long l3 = add_listener(&watcher3, ",\"keys\":[\"big\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&watcher3, l3, &count));
    long long omem = 0, omem_max = 0;
    assert_int_equal(redis_subscribers(&k->redis, &omem), NODES);

    kill(k->node[2].pid, SIGSTOP);
    long rss0 = rss_kib(k->node[1].pid), rss_max = 0;
    long long used0 = redis_info(&k->redis, "memory", "used_memory"), used_max = 0;
    /* Node 2's events for node 3's listener pile up in Redis for node 3's subscriber until Redis
     * drops it (Redis 7.0 has no counter of these drops: the subscriber is gone from CLIENT LIST). */
    int sets = 0;
    while (sets < 4000 && (sets % 25 != 0 || redis_subscribers(&k->redis, &omem) == NODES)) {
        omem_max = omem > omem_max ? omem : omem_max;
        set_big(&churn, t.session_id, sets++);
        if (sets % 25 == 0) {
            long r = rss_kib(k->node[1].pid);
            long long used = redis_info(&k->redis, "memory", "used_memory");
            rss_max = r > rss_max ? r : rss_max;
            used_max = used > used_max ? used : used_max;
        }
    }
    print_message("frozen node: Redis dropped its subscriber after %d sets of ~8 KB (omem up to %lld); n2 RSS "
                  "growth %ld KiB, Redis used_memory growth %lld bytes\n",
                  sets, omem_max, rss_max - rss0, used_max - used0);
    assert_int_equal(redis_subscribers(&k->redis, &omem), NODES - 1);
    assert_true(omem_max > 0 && omem_max <= 2 * 1024 * 1024);
    assert_true(rss_max - rss0 < NODE_GROWTH_MAX_KIB);
    assert_true(used_max - used0 < REDIS_GROWTH_MAX);
    /* While node 3 is cut off: a session opens, one closes, the churned value changes once more. */
    tc late;
    tc_open(&late, &k->node[0], NULL, NULL, "{\"probe\":\"yes\"}");
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", probe[0].session_id));
    char reason[128];
    assert_true(tc_wait_close(&probe[0], reason, sizeof reason, TC_TIMEOUT_MS) > 0);
    tc_close(&probe[0]);
    cJSON_Delete(
        tc_ok(&churn, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"big\":\"final\"}}", t.session_id));
    kill(k->node[2].pid, SIGCONT);
    /* It notices the lost connection, subscribes again and rejoins. */
    long long deadline = sm_mono_ms() + 10000;
    while (redis_subscribers(&k->redis, &omem) != NODES && sm_mono_ms() < deadline)
        sleep_ms(100);
    assert_int_equal(redis_subscribers(&k->redis, &omem), NODES);
    assert_true(log_count(&k->node[2], "the connection to Redis was lost") >= 1);
    /* Its listener catches up with what it missed (reconvergence) ... */
    assert_true(wait_value(&watcher3, l3, t.session_id, "big", "final", 15000));
    /* ... and from node 3's side nothing is missing and there are no ghosts. */
    wait_probes(&admin3, NODES, 8000);
    cJSON_Delete(tc_ok(&admin3, "{\"type\":\"get\",\"sessionId\":\"%s\"}", late.session_id));
    cJSON_Delete(tc_err(&admin3, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"%s\"}", probe[0].session_id));
    tc_close(&late);
    tc_close(&t);
    tc_close(&churn);
    tc_close(&watcher3);
    tc_close(&admin3);
    tc_close(&admin);
    for (int i = 1; i < NODES; i++)
        tc_close(&probe[i]);
}

/* 3. Requests in flight to a frozen node stop at maxPendingRequests: the rest are refused at once
 * with LIMIT_EXCEEDED (a by-filter request too, before it runs anywhere), memory stays flat, and
 * the resumed node drops the requests whose deadline passed. */
static void test_request_flood_is_bounded(void **state)
{
    cluster *k = *state;
    tc probe[NODES], admin;
    open_probes(k, probe, &admin, 0);
    long rss0 = rss_kib(k->node[0].pid);

    kill(k->node[2].pid, SIGSTOP);
    long long t0 = sm_mono_ms();
    enum { PINNED = 8, FLOOD = 400 };
    for (int i = 0; i < PINNED; i++)
        assert_int_equal(sm_ws_send_textf(&admin.ws,
                                          "{\"type\":\"set\",\"id\":%d,\"sessionId\":\"%s\",\"properties\":{\"v\":\"1\"}}",
                                          1000 + i, probe[2].session_id),
                         SM_WS_OK);
    assert_int_equal(sm_ws_send_textf(&admin.ws,
                                      "{\"type\":\"set_by_filter\",\"id\":999,\"filter\":\"probe is 'yes'\","
                                      "\"properties\":{\"v\":\"2\"}}"),
                     SM_WS_OK);
    for (int i = 0; i < FLOOD; i++)
        assert_int_equal(
            sm_ws_send_textf(&admin.ws, "{\"type\":\"get\",\"id\":%d,\"sessionId\":\"%s\"}", 2000 + i, probe[2].session_id),
            SM_WS_OK);
    int limited = 0, unavailable = 0, other = 0;
    long long last_limited_ms = 0;
    for (int i = 0; i < PINNED + 1 + FLOOD; i++) {
        cJSON *m = tc_next(&admin, NULL, TC_TIMEOUT_MS);
        assert_non_null(m);
        const char *type = tc_str(m, "type"), *code = tc_str(m, "code");
        if (strcmp(type, "error") == 0 && strcmp(code, "LIMIT_EXCEEDED") == 0) {
            assert_non_null(strstr(tc_str(m, "message"), "maxPendingRequests"));
            limited++;
            last_limited_ms = sm_mono_ms() - t0;
        } else if (strcmp(type, "error") == 0 && strcmp(code, "CLUSTER_UNAVAILABLE") == 0) {
            assert_true(tc_int(m, "id") >= 1000 && tc_int(m, "id") < 1000 + PINNED);
            unavailable++;
        } else {
            other++;
        }
        cJSON_Delete(m);
    }
    long long took = sm_mono_ms() - t0;
    long rss1 = rss_kib(k->node[0].pid);
    kill(k->node[2].pid, SIGCONT); /* before it is declared dead (nodeTimeoutMs 3000) */
    print_message("request flood: %d refused (last at %lld ms), %d timed out, in %lld ms; n1 RSS growth %ld KiB\n",
                  limited, last_limited_ms, unavailable, took, rss1 - rss0);
    assert_int_equal(other, 0);
    assert_int_equal(unavailable, PINNED);
    assert_int_equal(limited, FLOOD + 1);
    assert_true(last_limited_ms < REQUEST_TIMEOUT_MS); /* refused at once, not queued */
    assert_true(took < 2500);
    assert_true(rss1 - rss0 < 8 * 1024);
    /* The refused by-filter write ran nowhere; the timed-out sets are dropped by the resumed node. */
    for (int i = 0; i < 2; i++) {
        cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"v\"]}", probe[i].session_id);
        assert_string_equal(tc_prop(r, "properties", "v"), "0");
        cJSON_Delete(r);
    }
    long long deadline = sm_mono_ms() + 5000;
    while (log_count(&k->node[2], "arrived after its deadline") < PINNED && sm_mono_ms() < deadline)
        sleep_ms(50);
    assert_int_equal(log_count(&k->node[2], "arrived after its deadline"), PINNED);
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"v\"]}", probe[2].session_id);
    assert_string_equal(tc_prop(r, "properties", "v"), "0");
    cJSON_Delete(r);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
    tc_close(&admin);
}

/* 4. close_by_filter while a node is frozen but not yet declared dead: the reply has the live
 * nodes' count and names the frozen node in `missing`; resumed, it does not apply the stale close. */
static void test_close_by_filter_frozen(void **state)
{
    cluster *k = *state;
    tc probe[NODES], admin;
    open_probes(k, probe, &admin, 0);
    kill(k->node[2].pid, SIGSTOP);
    long long t0 = sm_mono_ms();
    cJSON *r = tc_ok(&admin, "{\"type\":\"close_by_filter\",\"filter\":\"probe is 'yes'\"}");
    long long took = sm_mono_ms() - t0;
    kill(k->node[2].pid, SIGCONT); /* long before nodeTimeoutMs */
    assert_true(took >= REQUEST_TIMEOUT_MS - 50 && took < REQUEST_TIMEOUT_MS + 400);
    assert_int_equal(tc_int(r, "count"), 2);
    cJSON *missing = cJSON_GetObjectItem(r, "missing");
    assert_non_null(missing);
    assert_int_equal(cJSON_GetArraySize(missing), 1);
    assert_string_equal(cJSON_GetArrayItem(missing, 0)->valuestring, "n3");
    cJSON_Delete(r);
    char reason[128];
    for (int i = 0; i < 2; i++)
        assert_true(tc_wait_close(&probe[i], reason, sizeof reason, TC_TIMEOUT_MS) > 0);
    long long deadline = sm_mono_ms() + 5000;
    while (log_count(&k->node[2], "arrived after its deadline") < 1 && sm_mono_ms() < deadline)
        sleep_ms(50);
    assert_int_equal(log_count(&k->node[2], "arrived after its deadline"), 1);
    /* Its session is still there, reachable and open. */
    assert_int_equal(tc_wait_close(&probe[2], reason, sizeof reason, 300), -1);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"probe\"]}", probe[2].session_id);
    assert_string_equal(tc_prop(r, "properties", "probe"), "yes");
    cJSON_Delete(r);
    assert_int_equal(snapshot_count(&admin, ",\"filter\":\"probe is 'yes'\""), 1);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
    tc_close(&admin);
}

/* 5. Redis frozen (SIGSTOP) while node 2 publishes events for node 1's listener: past
 * maxUnansweredBytes node 2 drops its Redis connections instead of buffering; when Redis is back
 * the cluster reconverges and the listener gets node 2's latest value. */
static void test_unanswered_bytes_bounded(void **state)
{
    cluster *k = *state;
    tc probe[NODES], admin, churn, t;
    open_probes(k, probe, &admin, 0);
    tc_open(&t, &k->node[1], NULL, NULL, "{\"big\":\"0\",\"churn\":\"yes\"}");
    tc_open(&churn, &k->node[1], "admin", "admin", NULL);
    long long l = add_listener(&admin, ",\"filter\":\"churn is 'yes'\",\"keys\":[\"big\"]");
    long long count = -1;
    cJSON_Delete(tc_snapshot(&admin, l, &count));
    assert_int_equal(count, 1);
    long rss0 = rss_kib(k->node[1].pid), rss_max = 0;

    kill(k->redis.pid, SIGSTOP);
    int sets = 0;
    while (sets < 1000 && log_count(&k->node[1], "maxUnansweredBytes") == 0) {
        set_big(&churn, t.session_id, sets++); /* local sessions keep being served */
        long r = rss_kib(k->node[1].pid);
        rss_max = r > rss_max ? r : rss_max;
    }
    kill(k->redis.pid, SIGCONT);
    print_message("frozen Redis: node 2 dropped its connection after %d sets of ~8 KB; RSS growth %ld KiB\n", sets,
                  rss_max - rss0);
    assert_true(log_count(&k->node[1], "maxUnansweredBytes") >= 1);
    assert_true(sets < 1000);
    assert_true(rss_max - rss0 < NODE_GROWTH_MAX_KIB);
    /* Back: node 2 rejoins and the listener gets the latest value. */
    wait_probes(&admin, NODES, 10000);
    cJSON_Delete(tc_ok(&churn, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"big\":\"final\"}}",
                       t.session_id));
    assert_true(wait_value(&admin, l, t.session_id, "big", "final", 8000));
    tc_close(&t);
    tc_close(&churn);
    tc_close(&admin);
    for (int i = 0; i < NODES; i++)
        tc_close(&probe[i]);
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
    /* ASan keeps freed memory in a quarantine (256 MiB by default): RSS would measure that. */
    const char *cur = getenv("ASAN_OPTIONS");
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=4", cur ? cur : "", cur && *cur ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slow_listener_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_node_dropped_by_redis, setup_redis_limit, teardown),
        cmocka_unit_test_setup_teardown(test_request_flood_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_by_filter_frozen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_bytes_bounded, setup_wide_proxy, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
