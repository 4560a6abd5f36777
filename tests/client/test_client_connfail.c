/* libsessmon failed connection attempts: the reason, attempt number and next retry reported to the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/sessmon.h"
#include "helpers.h"
#include "test_server.h"
#include "wsfake.h"

#define MAX_FAILURES 64

static sm_client *cl;

/* What one session reported, in order. */
typedef struct recorder {
    sm_session *s;
    int failures;
    unsigned attempt[MAX_FAILURES];
    int next_retry_ms[MAX_FAILURES];
    sm_client_errcode code[MAX_FAILURES];
    char message[MAX_FAILURES][SM_CLIENT_ERROR_MESSAGE_MAX];
    int64_t at[MAX_FAILURES];
    int opens;
    bool closed;
    int failures_before_close;
    sm_client_error close_error;
} recorder;

static void rec_failed(sm_session *s, const sm_client_error *cause, unsigned attempt, int next_retry_ms, void *ctx)
{
    (void)s;
    recorder *r = ctx;
    if (r->failures >= MAX_FAILURES)
        return;
    int i = r->failures++;
    r->attempt[i] = attempt;
    r->next_retry_ms[i] = next_retry_ms;
    r->code[i] = cause->code;
    snprintf(r->message[i], sizeof r->message[i], "%s", cause->message);
    r->at[i] = sm_mono_ms();
}

static void rec_open(sm_session *s, const sm_session_info *info, void *ctx)
{
    (void)s;
    (void)info;
    ((recorder *)ctx)->opens++;
}

static void rec_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *ctx)
{
    (void)s;
    (void)reason;
    recorder *r = ctx;
    r->closed = true;
    r->failures_before_close = r->failures;
    r->close_error = *err;
}

static sm_session *open_recorded(recorder *r, const char *url, bool retry, int connect_timeout_ms, int give_up_ms)
{
    memset(r, 0, sizeof *r);
    sm_session_params p = {.url = url, .retry_initial_connect = retry, .reconnect_initial_ms = 50,
                           .reconnect_max_ms = 200, .connect_timeout_ms = connect_timeout_ms,
                           .reconnect_give_up_ms = give_up_ms, .on_open = rec_open, .on_close = rec_close,
                           .on_connect_failed = rec_failed, .context = r};
    r->s = sm_session_open(cl, &p, NULL);
    assert_non_null(r->s);
    return r->s;
}

/* Closes (if needed) and frees the session. */
static void finish(recorder *r)
{
    if (!r->closed && sm_session_close(r->s, NULL) == SM_CLIENT_OK)
        TH_WAIT(cl, r->closed, TH_TIMEOUT_MS);
    assert_true(r->closed);
    sm_session_free(r->s);
}

/* A loopback TCP socket bound to a free port. listening: the kernel completes connections that
 * nobody ever answers; not listening: connections to the port are refused (and no other program
 * can take the port meanwhile). */
static int loopback_socket(bool listening, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (listening)
        assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int setup(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true, .max_sessions = 8};
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

/* ---- a fake HTTP server answering every request with one canned response ---- */

typedef struct canned {
    int listen_fd;
    int port;
    const char *response;
    pthread_t thread;
    atomic_bool stop;
    atomic_int served;
} canned;

static void *canned_serve(void *arg)
{
    canned *c = arg;
    while (!atomic_load(&c->stop)) {
        struct pollfd pfd = {.fd = c->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        /* Read the request up to its blank line (bounded), answer, then let the client hang up. */
        char req[4096];
        size_t got = 0;
        int64_t end = sm_mono_ms() + 2000;
        while (got < sizeof req - 1 && sm_mono_ms() < end) {
            struct pollfd q = {.fd = fd, .events = POLLIN};
            if (poll(&q, 1, 50) <= 0)
                continue;
            ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        (void)!send(fd, c->response, strlen(c->response), MSG_NOSIGNAL);
        atomic_fetch_add(&c->served, 1);
        struct pollfd q = {.fd = fd, .events = POLLIN};
        for (int i = 0; i < 40 && !atomic_load(&c->stop); i++) {
            char sink[512];
            if (poll(&q, 1, 50) > 0 && recv(fd, sink, sizeof sink, 0) <= 0)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void canned_start(canned *c, const char *response)
{
    memset(c, 0, sizeof *c);
    c->response = response;
    atomic_init(&c->stop, false);
    atomic_init(&c->served, 0);
    c->listen_fd = loopback_socket(true, &c->port);
    assert_int_equal(pthread_create(&c->thread, NULL, canned_serve, c), 0);
}

static void canned_stop(canned *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    close(c->listen_fd);
}

/* ---- tests ---- */

/* A closed port: every attempt says "connection refused", numbered 1, 2, 3, ..., with a next
 * retry inside the back-off bounds that is really kept; the accessor agrees. */
static void test_refused_attempts(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(false, &port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    static recorder r;
    open_recorded(&r, url, true, 0, 0);
    TH_WAIT(cl, r.failures >= 5, TH_TIMEOUT_MS);
    assert_true(r.failures >= 5);
    for (int i = 0; i < r.failures; i++) {
        assert_int_equal(r.attempt[i], (unsigned)i + 1);
        assert_int_equal(r.code[i], SM_CLIENT_ERR_CONNECT_FAILED);
        assert_string_equal(r.message[i], "connection refused");
        /* equal jitter: each wait is in the upper half of a base doubling from 50 to 200 ms */
        assert_in_range(r.next_retry_ms[i], 25, 200);
        if (i > 0)
            assert_true(r.at[i] - r.at[i - 1] >= r.next_retry_ms[i - 1] - 5);
    }
    assert_int_equal(r.opens, 0);
    assert_false(r.closed);
    assert_int_equal(sm_session_get_status(r.s), SM_SESSION_CONNECTING);

    unsigned attempt = 0;
    int next = -2;
    const sm_client_error *last = sm_session_last_failure(r.s, &attempt, &next);
    assert_non_null(last);
    assert_string_equal(last->message, "connection refused");
    assert_true(attempt >= (unsigned)r.failures); /* another may have failed since */
    assert_in_range(next, 0, 200);
    assert_null(sm_session_last_failure(NULL, &attempt, &next));
    assert_int_equal(attempt, 0);
    assert_int_equal(next, -1);

    /* Your own close is no failure: nothing more is reported, and no retry is pending. */
    int before = r.failures;
    assert_int_equal(sm_session_close(r.s, NULL), SM_CLIENT_OK);
    TH_WAIT(cl, r.closed, TH_TIMEOUT_MS);
    assert_true(r.closed);
    assert_int_equal(r.close_error.code, SM_CLIENT_OK);
    assert_true(r.failures <= before + 1); /* at most one that was already under way */
    assert_non_null(sm_session_last_failure(r.s, &attempt, &next));
    assert_int_equal(next, -1);
    sm_session_free(r.s);
    close(fd);
}

/* Without retry_initial_connect the first failure is final: reported with -1, then on_close
 * names the host and the reason. */
static void test_first_failure_is_final(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(false, &port);
    char url[64], expect[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    snprintf(expect, sizeof expect, "cannot connect to 127.0.0.1:%d: connection refused", port);
    static recorder r;
    open_recorded(&r, url, false, 0, 0);
    TH_WAIT(cl, r.closed, TH_TIMEOUT_MS);
    assert_true(r.closed);
    assert_int_equal(r.failures, 1);
    assert_int_equal(r.failures_before_close, 1);
    assert_int_equal(r.attempt[0], 1);
    assert_int_equal(r.next_retry_ms[0], -1);
    assert_string_equal(r.message[0], "connection refused");
    assert_int_equal(r.close_error.code, SM_CLIENT_ERR_CONNECT_FAILED);
    assert_string_equal(r.close_error.message, expect);
    unsigned attempt;
    int next;
    assert_non_null(sm_session_last_failure(r.s, &attempt, &next));
    assert_int_equal(attempt, 1);
    assert_int_equal(next, -1);
    sm_session_free(r.s);
    close(fd);
}

/* reconnect_give_up_ms: the last attempt is reported as final (-1) just before on_close. */
static void test_give_up_reports_final(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(false, &port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    static recorder r;
    open_recorded(&r, url, true, 0, 400);
    TH_WAIT(cl, r.closed, TH_TIMEOUT_MS);
    assert_true(r.closed);
    assert_true(r.failures >= 2);
    assert_int_equal(r.failures_before_close, r.failures);
    for (int i = 0; i < r.failures - 1; i++)
        assert_true(r.next_retry_ms[i] >= 0);
    assert_int_equal(r.next_retry_ms[r.failures - 1], -1);
    assert_int_equal(r.attempt[r.failures - 1], (unsigned)r.failures);
    assert_int_equal(r.close_error.code, SM_CLIENT_ERR_CONNECTION_LOST);
    assert_non_null(strstr(r.close_error.message, "gave up"));
    assert_non_null(strstr(r.close_error.message, "connection refused"));
    sm_session_free(r.s);
    close(fd);
}

/* A port that accepts TCP but never answers the upgrade: a timeout reason per attempt. */
static void test_handshake_timeout(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(true, &port);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
    static recorder r;
    open_recorded(&r, url, true, 150, 0);
    TH_WAIT(cl, r.failures >= 2, TH_TIMEOUT_MS);
    assert_true(r.failures >= 2);
    for (int i = 0; i < r.failures; i++) {
        assert_int_equal(r.attempt[i], (unsigned)i + 1);
        assert_int_equal(r.code[i], SM_CLIENT_ERR_CONNECT_FAILED);
        assert_string_equal(r.message[i], "timed out after 150 ms waiting for the WebSocket handshake");
    }
    /* each attempt lasted the connect timeout, then waited for its back-off */
    assert_true(r.at[1] - r.at[0] >= 150 + r.next_retry_ms[0] - 5);
    finish(&r);
    close(fd);
}

/* ---- a fake sessmond that takes its time to answer the upgrade ---- */

typedef struct slow_upgrade {
    int listen_fd;
    int port;
    int delay_ms;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool answered; /* the upgrade and the open were answered */
} slow_upgrade;

static void *slow_upgrade_serve(void *arg)
{
    slow_upgrade *u = arg;
    struct pollfd pfd = {.fd = u->listen_fd, .events = POLLIN};
    int64_t end = sm_mono_ms() + 5000;
    while (!atomic_load(&u->stop) && sm_mono_ms() < end && poll(&pfd, 1, 50) <= 0) {
    }
    int fd = accept4(u->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return NULL;
    /* TCP is up and the upgrade request sits unread: the client must keep waiting. */
    int64_t answer_at = sm_mono_ms() + u->delay_ms;
    while (!atomic_load(&u->stop) && sm_mono_ms() < answer_at)
        usleep(20 * 1000);
    sm_ws ws;
    if (!atomic_load(&u->stop) && sm_ws_accept(&ws, fd, 2000) == SM_WS_OK) {
        if (sm_fake_expect_open(&ws, 2000) && sm_fake_send_opened(&ws, "slow-1", 15000) == SM_WS_OK)
            atomic_store(&u->answered, true);
        while (!atomic_load(&u->stop) && !sm_fake_wait_client_gone(&ws, 100)) {
        }
    }
    sm_ws_close(&ws);
    return NULL;
}

/* connect_timeout_ms covers the whole handshake, however long: no hidden 5 s limit of
 * libwebsockets cuts a slow upgrade (sessmon list --timeout 20000 used to give up after 5 s with
 * "connection closed during the handshake"). */
static void test_slow_handshake_within_the_timeout(void **state)
{
    (void)state;
    static slow_upgrade u;
    memset(&u, 0, sizeof u);
    u.delay_ms = 7000;
    atomic_init(&u.stop, false);
    atomic_init(&u.answered, false);
    u.listen_fd = loopback_socket(true, &u.port);
    assert_int_equal(pthread_create(&u.thread, NULL, slow_upgrade_serve, &u), 0);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", u.port);
    static recorder r;
    int64_t t0 = sm_mono_ms();
    open_recorded(&r, url, false, 20000, 0);
    TH_WAIT(cl, r.opens > 0 || r.closed, 15000);
    int64_t took = sm_mono_ms() - t0;
    if (r.failures)
        fprintf(stderr, "failure after %lld ms: %s\n", (long long)(r.at[0] - t0), r.message[0]);
    assert_int_equal(r.failures, 0);
    assert_int_equal(r.opens, 1);
    assert_true(took >= 6500);
    /* The fake does not answer close_self: cut it first, then the close needs nobody. */
    atomic_store(&u.stop, true);
    pthread_join(u.thread, NULL);
    close(u.listen_fd);
    assert_true(atomic_load(&u.answered));
    finish(&r);
}

/* An HTTP server that is not sessmond: the status code is the reason. */
static void test_http_error_status(void **state)
{
    (void)state;
    static canned c;
    canned_start(&c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/sessmon", c.port);
    static recorder r;
    open_recorded(&r, url, true, 2000, 0);
    TH_WAIT(cl, r.failures >= 2, TH_TIMEOUT_MS);
    assert_true(r.failures >= 2);
    assert_int_equal(r.code[0], SM_CLIENT_ERR_CONNECT_FAILED);
    assert_non_null(strstr(r.message[0], "HTTP 404"));
    assert_int_equal(r.attempt[1], 2);
    finish(&r);
    canned_stop(&c);
    assert_true(atomic_load(&c.served) >= 2);
}

/* A WebSocket server that picks another subprotocol, with control characters in its name: the
 * reason names it, made printable. */
static void test_wrong_subprotocol(void **state)
{
    (void)state;
    static canned c;
    canned_start(&c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\x1b[2J\r\n\r\n");
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", c.port);
    static recorder r;
    open_recorded(&r, url, false, 2000, 0);
    TH_WAIT(cl, r.closed, TH_TIMEOUT_MS);
    assert_true(r.closed);
    assert_int_equal(r.failures, 1);
    assert_int_equal(r.next_retry_ms[0], -1);
    assert_non_null(strstr(r.message[0], "subprotocol"));
    assert_non_null(strstr(r.message[0], "sessmon.v1"));
    for (const char *p = r.message[0]; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    assert_int_equal(r.close_error.code, SM_CLIENT_ERR_CONNECT_FAILED);
    assert_non_null(strstr(r.close_error.message, "subprotocol"));
    sm_session_free(r.s);
    canned_stop(&c);
}

/* A real server that comes up: the failures stop, the accessor forgets them, and after the next
 * outage attempts are numbered from 1 again. */
static void test_failures_reset_on_open(void **state)
{
    (void)state;
    static sm_test_server srv;
    assert_int_equal(sm_test_server_start(&srv, NULL), 0);
    sm_test_server_kill(&srv);
    static recorder r;
    open_recorded(&r, srv.url, true, 0, 0);
    TH_WAIT(cl, r.failures >= 2, TH_TIMEOUT_MS);
    assert_true(r.failures >= 2);
    assert_string_equal(r.message[0], "connection refused");
    assert_int_equal(sm_test_server_restart(&srv), 0);
    TH_WAIT(cl, r.opens == 1, TH_TIMEOUT_MS);
    assert_int_equal(r.opens, 1);
    unsigned attempt = 99;
    int next = 99;
    assert_null(sm_session_last_failure(r.s, &attempt, &next));
    assert_int_equal(attempt, 0);
    assert_int_equal(next, -1);

    /* The server crashes: the drop is no failed attempt; the retries after it are, from 1. */
    int before = r.failures;
    sm_test_server_kill(&srv);
    TH_WAIT(cl, r.failures >= before + 2, TH_TIMEOUT_MS);
    assert_true(r.failures >= before + 2);
    assert_int_equal(r.attempt[before], 1);
    assert_int_equal(r.attempt[before + 1], 2);
    assert_int_equal(sm_session_get_status(r.s), SM_SESSION_RECONNECTING);
    assert_non_null(sm_session_last_failure(r.s, &attempt, &next));
    assert_true(attempt >= 2);
    finish(&r);
    sm_test_server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_failure_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_up_reports_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_handshake_within_the_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_error_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_subprotocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_reset_on_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
