/* Unit tests of sessmond's metrics: principal tallies (top N and the rest), label escaping, histogram buckets, /healthz states, admin config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intern.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/server.h"

typedef struct fake {
    smd_server srv;
    smd_session *sessions;
    size_t n;
} fake;

static void fake_init(fake *f, size_t n)
{
    memset(f, 0, sizeof *f);
    f->srv.strings = sm_intern_new();
    f->srv.tally = smd_tally_new();
    f->sessions = calloc(n, sizeof *f->sessions);
    assert_non_null(f->srv.strings);
    assert_non_null(f->srv.tally);
    assert_non_null(f->sessions);
    f->n = n;
}

static void fake_open(fake *f, size_t i, const char *principal)
{
    smd_session *s = &f->sessions[i];
    s->fixed[SMD_FIX_PRINCIPAL] = sm_intern_cstr(f->srv.strings, principal);
    s->state = SM_STATE_ACTIVE;
    f->srv.reg.count++;
    smd_metrics_session_opened(&f->srv, s);
}

static void fake_close(fake *f, size_t i, sm_close_reason reason)
{
    smd_session *s = &f->sessions[i];
    smd_metrics_session_closed(&f->srv, s, reason);
    s->state = SM_STATE_CLOSED;
    f->srv.reg.count--;
    sm_intern_unref(f->srv.strings, s->fixed[SMD_FIX_PRINCIPAL]);
    s->fixed[SMD_FIX_PRINCIPAL] = NULL;
}

static void fake_free(fake *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->sessions[i].fixed[SMD_FIX_PRINCIPAL])
            sm_intern_unref(f->srv.strings, f->sessions[i].fixed[SMD_FIX_PRINCIPAL]);
    smd_tally_free(f->srv.tally, &f->srv);
    assert_int_equal(sm_intern_count(f->srv.strings), 0); /* every reference the tally took is back */
    sm_intern_free(f->srv.strings);
    free(f->sessions);
}

static char *render(fake *f, bool stopping)
{
    smd_metrics_transport t = {.pending = 3, .fd_limit = 1024, .stopping = stopping};
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    assert_int_equal(smd_metrics_render(&f->srv, &t, &b), SM_OK);
    char *text = strdup(sm_buf_payload(&b));
    sm_buf_free(&b);
    return text;
}

static double sample(const char *page, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = page; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
    return -1;
}

static size_t lines_starting(const char *page, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *line = page; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        n += strncmp(line, prefix, len) == 0;
    return n;
}

/* 30 principals with 1..30 sessions each: the 20 biggest are named, the rest summed. */
static void top_principals_and_the_rest(void **state)
{
    (void)state;
    enum { P = 30, TOTAL = P * (P + 1) / 2 };
    fake f;
    fake_init(&f, TOTAL);
    size_t k = 0;
    for (int p = 1; p <= P; p++) {
        char name[32];
        snprintf(name, sizeof name, "user%02d", p);
        for (int j = 0; j < p; j++)
            fake_open(&f, k++, name);
    }
    char *page = render(&f, false);
    assert_int_equal(lines_starting(page, "sessmond_sessions_by_principal{"), SMD_METRICS_TOP_PRINCIPALS);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"user30\"}") == 30);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"user11\"}") == 11);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"user10\"}") == -1);
    assert_true(sample(page, "sessmond_sessions_other_principals") == 55); /* 1 + ... + 10 */
    assert_true(sample(page, "sessmond_principals_with_sessions") == P);
    assert_true(sample(page, "sessmond_sessions{state=\"active\"}") == TOTAL);
    assert_true(sample(page, "sessmond_connections_pending") == 3);
    free(page);

    /* Close every session of user30 and user29: they leave the table, user10 and user09 come in. */
    uint64_t before = smd_metrics.closed[SM_CLOSE_CLOSED_BY_CLIENT];
    for (size_t i = 0; i < TOTAL; i++) {
        const char *p = f.sessions[i].fixed[SMD_FIX_PRINCIPAL];
        if (p && (strcmp(p, "user30") == 0 || strcmp(p, "user29") == 0))
            fake_close(&f, i, SM_CLOSE_CLOSED_BY_CLIENT);
    }
    assert_int_equal(smd_metrics.closed[SM_CLOSE_CLOSED_BY_CLIENT] - before, 59);
    page = render(&f, false);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"user30\"}") == -1);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"user09\"}") == 9);
    assert_true(sample(page, "sessmond_sessions_other_principals") == 36); /* 1 + ... + 8 */
    assert_true(sample(page, "sessmond_principals_with_sessions") == P - 2);
    free(page);
    /* Everything closed: the table is empty again (no entry kept at 0). */
    for (size_t i = 0; i < TOTAL; i++)
        if (f.sessions[i].fixed[SMD_FIX_PRINCIPAL])
            fake_close(&f, i, SM_CLOSE_SERVER_CLOSING);
    page = render(&f, false);
    assert_int_equal(lines_starting(page, "sessmond_sessions_by_principal{"), 0);
    assert_true(sample(page, "sessmond_principals_with_sessions") == 0);
    free(page);
    fake_free(&f);
}

/* Principal names may hold anything UTF-8: quotes, backslashes and line feeds are escaped. */
static void label_values_escaped(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, 2);
    fake_open(&f, 0, "a\"b\\c\nd");
    fake_open(&f, 1, "");
    char *page = render(&f, false);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"a\\\"b\\\\c\\nd\"}") == 1);
    assert_true(sample(page, "sessmond_sessions_by_principal{principal=\"\"}") == 1);
    free(page);
    fake_free(&f);
}

/* Disconnected sessions are counted apart from active ones, and leave both counts when closed. */
static void states_follow_sessions(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, 3);
    fake_open(&f, 0, "x");
    fake_open(&f, 1, "x");
    fake_open(&f, 2, "y");
    f.sessions[1].state = SM_STATE_DISCONNECTED;
    smd_metrics_session_disconnected(&f.srv);
    f.sessions[2].state = SM_STATE_DISCONNECTED;
    smd_metrics_session_disconnected(&f.srv);
    char *page = render(&f, false);
    assert_true(sample(page, "sessmond_sessions{state=\"active\"}") == 1);
    assert_true(sample(page, "sessmond_sessions{state=\"disconnected\"}") == 2);
    free(page);
    f.sessions[2].state = SM_STATE_ACTIVE;
    smd_metrics_session_resumed(&f.srv);
    fake_close(&f, 1, SM_CLOSE_CONNECTION_LOST);
    page = render(&f, false);
    assert_true(sample(page, "sessmond_sessions{state=\"active\"}") == 2);
    assert_true(sample(page, "sessmond_sessions{state=\"disconnected\"}") == 0);
    free(page);
    fake_free(&f);
}

static void latency_buckets(void **state)
{
    (void)state;
    smd_histogram before = smd_metrics.latency[SM_MSG_GET];
    smd_metrics_observe(SM_MSG_GET, 50);       /* <= 0.1 ms */
    smd_metrics_observe(SM_MSG_GET, 100);      /* exactly on a bound: that bucket */
    smd_metrics_observe(SM_MSG_GET, 3000);     /* <= 5 ms */
    smd_metrics_observe(SM_MSG_GET, 60000000); /* over 10 s: +Inf only */
    smd_metrics_observe(SM_MSG_GET, -5);       /* a clock step: counted as 0 */
    smd_metrics_observe((sm_msg_type)9999, 1); /* ignored */
    fake f;
    fake_init(&f, 0);
    char *page = render(&f, false);
    double base = (double)before.count;
    assert_true(sample(page, "sessmond_request_duration_seconds_bucket{op=\"get\",le=\"0.0001\"}") ==
                (double)before.bucket[0] + 3);
    assert_true(sample(page, "sessmond_request_duration_seconds_bucket{op=\"get\",le=\"0.005\"}") >= base + 4);
    assert_true(sample(page, "sessmond_request_duration_seconds_bucket{op=\"get\",le=\"10\"}") == base + 4);
    assert_true(sample(page, "sessmond_request_duration_seconds_bucket{op=\"get\",le=\"+Inf\"}") == base + 5);
    assert_true(sample(page, "sessmond_request_duration_seconds_count{op=\"get\"}") == base + 5);
    free(page);
    fake_free(&f);
}

static void health_states(void **state)
{
    (void)state;
    fake f;
    fake_init(&f, 0);
    smd_metrics_transport t = {.fd_limit = 1024};
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    assert_int_equal(smd_metrics_health(&f.srv, &t, &b), 200);
    assert_string_equal(sm_buf_payload(&b), "ok\n");
    sm_buf_reset(&b);
    t.out_of_fds = true;
    assert_int_equal(smd_metrics_health(&f.srv, &t, &b), 200);
    assert_non_null(strstr(sm_buf_payload(&b), "out of file descriptors"));
    sm_buf_reset(&b);
    t.stopping = true;
    assert_int_equal(smd_metrics_health(&f.srv, &t, &b), 503);
    sm_buf_free(&b);
    char *page = render(&f, true);
    assert_true(sample(page, "sessmond_shutting_down") == 1);
    free(page);
    fake_free(&f);
}

static int parse_admin(const char *json, smd_config *c, sm_error *err)
{
    smd_config_init(c);
    sm_error_clear(err);
    return smd_config_parse(c, json, strlen(json), err);
}

static void admin_config(void **state)
{
    (void)state;
    smd_config c;
    sm_error err;
    assert_int_equal(parse_admin("{}", &c, &err), SM_OK);
    assert_false(c.admin.enabled); /* off by default */
    smd_config_free(&c);
    assert_int_equal(parse_admin("{\"admin\":{\"listen\":\"127.0.0.1:9464\",\"maxConnections\":2,\"timeoutMs\":900}}",
                                 &c, &err),
                     SM_OK);
    assert_true(c.admin.enabled);
    assert_string_equal(c.admin.host, "127.0.0.1");
    assert_int_equal(c.admin.port, 9464);
    assert_int_equal(c.admin.max_connections, 2);
    assert_int_equal(c.admin.timeout_ms, 900);
    char *json = smd_config_to_json(&c);
    assert_non_null(strstr(json, "\"listen\":\t\"127.0.0.1:9464\""));
    free(json);
    smd_config_free(&c);
    assert_int_equal(parse_admin("{\"admin\":{\"listen\":\"[::1]:0\"}}", &c, &err), SM_OK);
    assert_string_equal(c.admin.host, "::1");
    assert_int_equal(c.admin.port, 0);
    smd_config_free(&c);
    assert_int_equal(parse_admin("{\"admin\":{\"listen\":\"\"}}", &c, &err), SM_OK);
    assert_false(c.admin.enabled);
    smd_config_free(&c);
    static const char *const bad[] = {
        "{\"admin\":{\"listen\":\"localhost:9464\"}}", "{\"admin\":{\"listen\":\"::1:9464\"}}",
        "{\"admin\":{\"listen\":\"127.0.0.1\"}}",      "{\"admin\":{\"listen\":\"127.0.0.1:65536\"}}",
        "{\"admin\":{\"listen\":\"127.0.0.1:-1\"}}",   "{\"admin\":{\"listen\":\"127.0.0.1:\"}}",
        "{\"admin\":{\"listen\":\"[127.0.0.1]:80\"}}", "{\"admin\":{\"listen\":9464}}",
        "{\"admin\":{\"maxConnections\":0}}",         "{\"admin\":{\"timeoutMs\":1}}",
        "{\"admin\":{\"port\":9464}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_admin(bad[i], &c, &err), SM_ERR_INVALID);
        assert_non_null(strstr(err.message, "admin"));
        smd_config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(top_principals_and_the_rest), cmocka_unit_test(label_values_escaped),
        cmocka_unit_test(states_follow_sessions),      cmocka_unit_test(latency_buckets),
        cmocka_unit_test(health_states),               cmocka_unit_test(admin_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
