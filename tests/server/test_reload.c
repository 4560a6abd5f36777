/* sessmond integration tests: SIGHUP reloads the config for new requests, sessions stay connected, a bad file is refused. */
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

#define RELOADED "reloaded "
#define REFUSED "refused:"
#define WAIT_MS 5000

/* The whole password-check budget for this test's one address, which has failed logins on record
 * (test_login_in_progress_during_reload's costly checks, slow under ASan, must not be refused BUSY). */
static const char start_config[] = "{\"geo\":[{\"cidr\":\"127.0.0.1/32\",\"country\":\"FR\",\"language\":\"fr\"}],"
                             "\"logins\":{\"checkBudgetMs\":1000,\"suspectSharePercent\":100}}";

static int setup(void **state)
{
    *state = sm_test_server_new(start_config);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

/* Rewrites the config with edit applied and waits for the success line (the n-th one). */
static void reload_with(sm_test_server *s, cJSON *cfg, const char *expect, int n)
{
    char *text = cJSON_Print(cfg);
    tc_reload(s, text);
    free(text);
    if (tc_wait_log(s, expect, n, WAIT_MS) < n)
        fail_msg("no '%s' line (#%d) in the server's log after SIGHUP", expect, n);
}

static void set_string(cJSON *o, const char *key, const char *value)
{
    cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(value));
}

static void assert_alive(tc *c)
{
    cJSON *r = tc_ok(c, "{\"type\":\"ping\"}");
    cJSON_Delete(r);
}

static void assert_prop(tc *c, const char *session, const char *key, const char *want)
{
    cJSON *r = tc_ok(c, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"%s\"]}", session, key);
    const char *got = tc_prop(r, "properties", key);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s of %s: expected '%s', got '%s'", key, session, want, got ? got : "(none)");
    cJSON_Delete(r);
}

static void test_password_and_role_change_new_logins_only(void **state)
{
    sm_test_server *s = *state;
    int reloads = tc_log_count(s, RELOADED);
    tc old_op, watcher;
    tc_open(&old_op, s, "operator", "operator", NULL);
    tc_open(&watcher, s, "client", "client", "{\"Group\":\"w\"}");

    cJSON *cfg = tc_config(s);
    cJSON *op = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "principals"), "operator");
    assert_non_null(op);
    char *hash = tc_hash_password("n3w-secret");
    set_string(op, "password", hash);
    free(hash);
    cJSON_ReplaceItemInObjectCaseSensitive(op, "roles", cJSON_CreateStringArray((const char *[]){"VIEWER"}, 1));
    reload_with(s, cfg, RELOADED, reloads + 1);
    cJSON_Delete(cfg);
    assert_true(tc_log_count(s, "principals 4 (+0 -0, 1 changed)") >= 1);

    /* The old password no longer opens a session; the new one does, with the new role. */
    tc refused;
    cJSON *no = tc_try_open(&refused, s, "operator", "operator", NULL);
    assert_non_null(no);
    assert_string_equal(tc_str(no, "code"), "AUTHENTICATION_FAILED");
    cJSON_Delete(no);
    tc_close(&refused);
    tc new_op;
    tc_open(&new_op, s, "operator", "n3w-secret", NULL);
    assert_prop(&new_op, new_op.session_id, "$Roles", "\"VIEWER\"");
    cJSON_Delete(tc_err(&new_op, "ACCESS_DENIED", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"A\":\"1\"}}",
                        watcher.session_id));

    /* The session opened before keeps its connection, its $Roles and what it may do. */
    assert_alive(&old_op);
    assert_alive(&watcher);
    assert_prop(&old_op, old_op.session_id, "$Roles", "\"OPERATOR\"");
    cJSON_Delete(tc_ok(&old_op, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"A\":\"1\"}}",
                       watcher.session_id));
    assert_prop(&old_op, watcher.session_id, "A", "1");
    tc_close(&new_op);
    tc_close(&old_op);
    tc_close(&watcher);
}

static void test_bad_config_refused_old_one_stays(void **state)
{
    sm_test_server *s = *state;
    int refusals = tc_log_count(s, REFUSED), reloads = tc_log_count(s, RELOADED);
    tc before;
    tc_open(&before, s, "admin", "admin", NULL);
    cJSON *good = tc_config(s);

    tc_reload(s, "{ \"roles\": { broken");
    if (tc_wait_log(s, REFUSED, refusals + 1, WAIT_MS) < refusals + 1)
        fail_msg("a broken config file was not refused in the log");
    assert_true(tc_log_count(s, "invalid JSON near line 1") >= 1);
    assert_true(tc_log_count(s, "the configuration in force is unchanged") >= 1);

    /* Valid JSON, invalid content: a principal with a role that does not exist. */
    tc_reload(s, "{\"principals\":{\"x\":{\"password\":\"pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                 "\"roles\":[\"NOPE\"]}}}");
    if (tc_wait_log(s, REFUSED, refusals + 2, WAIT_MS) < refusals + 2)
        fail_msg("a config with an unknown role was not refused");
    assert_true(tc_log_count(s, "NOPE") >= 1);
    assert_int_equal(tc_log_count(s, RELOADED), reloads);

    /* The old configuration is still the one in force: its principals log in, sessions live on. */
    assert_alive(&before);
    tc again;
    tc_open(&again, s, "viewer", "viewer", NULL);
    assert_prop(&again, again.session_id, "$Country", "FR");
    tc_close(&again);
    tc_close(&before);
    reload_with(s, good, RELOADED, reloads + 1); /* the file as it was, for the next tests */
    cJSON_Delete(good);
}

static void test_geo_table_for_new_sessions(void **state)
{
    sm_test_server *s = *state;
    int reloads = tc_log_count(s, RELOADED);
    tc old;
    tc_open(&old, s, "admin", "admin", NULL);
    cJSON *cfg = tc_config(s);
    cJSON *geo = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cfg, "geo"), 0);
    assert_non_null(geo);
    set_string(geo, "country", "DE");
    set_string(geo, "language", "de");
    reload_with(s, cfg, RELOADED, reloads + 1);
    cJSON_Delete(cfg);
    assert_true(tc_log_count(s, "geo rows 1 -> 1 (changed)") >= 1);

    tc fresh;
    tc_open(&fresh, s, "viewer", "viewer", NULL);
    assert_prop(&fresh, fresh.session_id, "$Country", "DE");
    assert_prop(&fresh, fresh.session_id, "$Language", "de");
    /* An open session keeps the location it was given. */
    assert_prop(&old, old.session_id, "$Country", "FR");
    tc_close(&fresh);

    cfg = tc_config(s);
    geo = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cfg, "geo"), 0);
    set_string(geo, "country", "FR");
    set_string(geo, "language", "fr");
    reload_with(s, cfg, RELOADED, reloads + 2);
    cJSON_Delete(cfg);
    tc_close(&old);
}

static void test_limits_and_restart_only_settings(void **state)
{
    sm_test_server *s = *state;
    int reloads = tc_log_count(s, RELOADED);
    tc admin, busy;
    tc_open(&admin, s, "admin", "admin", NULL);
    tc_open(&busy, s, "client", "client", "{\"P1\":\"a\",\"P2\":\"b\",\"P3\":\"c\"}");

    cJSON *cfg = tc_config(s);
    cJSON *limits = cJSON_GetObjectItemCaseSensitive(cfg, "limits");
    assert_non_null(limits);
    /* Lowered below what `busy` has: it must stay, and only new additions are refused. */
    cJSON_ReplaceItemInObjectCaseSensitive(limits, "maxPropertiesPerSession", cJSON_CreateNumber(2));
    cJSON_ReplaceItemInObjectCaseSensitive(limits, "maxMessageBytes", cJSON_CreateNumber(4096));
    cJSON *server = cJSON_GetObjectItemCaseSensitive(cfg, "server");
    set_string(server, "name", "renamed");
    cJSON *admin_listen = cJSON_AddObjectToObject(cfg, "admin");
    cJSON_AddStringToObject(admin_listen, "listen", "127.0.0.1:0");
    reload_with(s, cfg, RELOADED, reloads + 1);
    assert_true(tc_log_count(s, "admin changed: needs a restart, ignored") >= 1);
    cJSON_Delete(cfg);
    assert_true(tc_log_count(s, "limits.maxMessageBytes changed: needs a restart, ignored") >= 1);
    assert_true(tc_log_count(s, "server.name changed: needs a restart, ignored") >= 1);
    assert_true(tc_log_count(s, "limits 1 changed") >= 1);

    assert_alive(&busy);
    assert_prop(&admin, busy.session_id, "P3", "c");
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"P4\":\"d\"}}",
                        busy.session_id));
    /* Changing an existing key adds nothing: still allowed. */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"P1\":\"z\"}}", busy.session_id));
    /* The restart-only ones kept their running values. */
    assert_prop(&admin, busy.session_id, "$ServerName", "sessmond");
    char big[3001]; /* two of them: a message over the 4096 bytes the file asked for */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"P1\":\"%s\",\"P2\":\"%s\"}}",
                       busy.session_id, big, big));

    /* Back to the original limits for the next tests. */
    cfg = tc_config(s);
    limits = cJSON_GetObjectItemCaseSensitive(cfg, "limits");
    cJSON_ReplaceItemInObjectCaseSensitive(limits, "maxPropertiesPerSession", cJSON_CreateNumber(64));
    cJSON_ReplaceItemInObjectCaseSensitive(limits, "maxMessageBytes", cJSON_CreateNumber(65536));
    set_string(cJSON_GetObjectItemCaseSensitive(cfg, "server"), "name", "sessmond");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "admin");
    reload_with(s, cfg, RELOADED, reloads + 2);
    cJSON_Delete(cfg);
    tc_close(&busy);
    tc_close(&admin);
}

/* Reloads in a row (as a config-management tool may send them) leave a session untouched. */
static void test_many_reloads_while_serving(void **state)
{
    sm_test_server *s = *state;
    int reloads = tc_log_count(s, RELOADED);
    tc a;
    tc_open(&a, s, "operator", "n3w-secret", NULL);
    cJSON *cfg = tc_config(s);
    char *text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    for (int i = 1; i <= 10; i++) {
        tc_reload(s, text);
        if (tc_wait_log(s, RELOADED, reloads + i, WAIT_MS) < reloads + i)
            fail_msg("reload %d did not happen", i);
        assert_alive(&a);
    }
    free(text);
    tc_close(&a);
}

/* Sends an open for principal/password without waiting for the answer. */
static void send_open(sm_ws *ws, const sm_test_server *s, const char *principal, const char *password)
{
    sm_ws_opts o = {.host = "127.0.0.1", .port = s->port};
    assert_int_equal(sm_ws_connect(ws, &o), SM_WS_OK);
    char text[256];
    snprintf(text, sizeof text, "{\"type\":\"open\",\"principal\":\"%s\",\"password\":\"%s\"}", principal, password);
    assert_int_equal(sm_ws_send_text(ws, text), SM_WS_OK);
}

/* The type of the answer to an open sent with send_open ("opened" or "refused:CODE"). */
static void expect_answer(sm_ws *ws, const char *want)
{
    sm_ws_message m;
    assert_int_equal(sm_ws_read_message(ws, &m, 10000), SM_WS_OK);
    cJSON *o = cJSON_Parse(m.data);
    free(m.data);
    assert_non_null(o);
    char got[96];
    snprintf(got, sizeof got, "%s%s%s", tc_str(o, "type"), tc_str(o, "code") ? ":" : "",
             tc_str(o, "code") ? tc_str(o, "code") : "");
    cJSON_Delete(o);
    assert_string_equal(got, want);
    sm_ws_close(ws);
}

/* A password check already running when the reload lands (a costly hash: a few hundred ms) is
 * answered under the new configuration: refused when the principal's password changed, opened
 * when it did not. */
static void test_login_in_progress_during_reload(void **state)
{
    sm_test_server *s = *state;
    int reloads = tc_log_count(s, RELOADED);
    const char *args[] = {"--hash-password", "--iterations", "400000", NULL};
    char out[1024];
    assert_int_equal(sm_test_sessmond_run(args, "slow-pw\n", out, sizeof out, 30000), 0);
    char *slow = strstr(out, "pbkdf2-sha256$");
    assert_non_null(slow);
    slow[strcspn(slow, "\r\n")] = '\0';
    cJSON *cfg = tc_config(s);
    /* Two principals: a successful check is cached, so each is opened once. */
    for (int i = 1; i <= 2; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "password", slow);
        cJSON_AddItemToObject(p, "roles", cJSON_CreateStringArray((const char *[]){"VIEWER"}, 1));
        cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(cfg, "principals"), i == 1 ? "slow1" : "slow2", p);
    }
    reload_with(s, cfg, RELOADED, ++reloads);

    /* Unchanged password, other changes: the check in progress still opens the session. */
    sm_ws ws;
    send_open(&ws, s, "slow1", "slow-pw");
    usleep(10000);
    set_string(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cfg, "geo"), 0), "country", "FR");
    reload_with(s, cfg, RELOADED, ++reloads);
    expect_answer(&ws, "opened");

    /* Changed password: the right old password no longer opens it. */
    char *hash = tc_hash_password("other");
    send_open(&ws, s, "slow2", "slow-pw");
    usleep(10000);
    set_string(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "principals"), "slow2"), "password",
               hash);
    free(hash);
    reload_with(s, cfg, RELOADED, ++reloads);
    expect_answer(&ws, "refused:AUTHENTICATION_FAILED");
    cJSON_Delete(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_and_role_change_new_logins_only),
        cmocka_unit_test(test_bad_config_refused_old_one_stays),
        cmocka_unit_test(test_geo_table_for_new_sessions),
        cmocka_unit_test(test_limits_and_restart_only_settings),
        cmocka_unit_test(test_many_reloads_while_serving),
        cmocka_unit_test(test_login_in_progress_during_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
