/* sessmond integration tests: the audit log (one JSON line per set/close by ID or filter), its reopening on SIGHUP and SIGUSR1, and an unwritable file. */
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
#include "core/clock.h"

#define WAIT_MS 5000

static char tmpdir[256], audit_path[300];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sessmond-audit-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(audit_path, sizeof audit_path, "%s/audit.log", tmpdir);
    char overrides[512];
    snprintf(overrides, sizeof overrides, "{\"audit\":{\"file\":\"%s\"}}", audit_path);
    *state = sm_test_server_new(overrides);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    int rc = *state ? sm_test_server_delete(*state) : 0;
    char path[320];
    snprintf(path, sizeof path, "%s.1", audit_path);
    unlink(path);
    unlink(audit_path);
    rmdir(tmpdir);
    return rc == 0 ? 0 : -1;
}

/* The audit file's records, parsed: waits (<= WAIT_MS) until it has at least n lines. Every line
 * must be one JSON object. */
static cJSON *records(const char *path, int n)
{
    int64_t until = sm_mono_ms() + WAIT_MS;
    for (;;) {
        char *text = tc_read_file(path);
        cJSON *all = cJSON_CreateArray();
        int count = 0;
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            assert_non_null(next); /* every record ends with a newline */
            *next++ = '\0';
            cJSON *o = cJSON_Parse(line);
            if (!o || !cJSON_IsObject(o))
                fail_msg("audit line is not a JSON object: %s", line);
            cJSON_AddItemToArray(all, o);
            count++;
        }
        free(text);
        if (count >= n)
            return all;
        cJSON_Delete(all);
        if (sm_mono_ms() >= until)
            fail_msg("%s: %d audit records expected, %d there", path, n, count);
        usleep(20000);
    }
}

static int count_records(const char *path)
{
    char *text = tc_read_file(path);
    int n = 0;
    for (const char *p = text; p && (p = strchr(p, '\n')) != NULL; p++)
        n++;
    free(text);
    return n;
}

static const char *field(const cJSON *rec, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_field(const cJSON *rec, const char *key, const char *want)
{
    const char *got = field(rec, key);
    if (!got || strcmp(got, want) != 0) {
        char *t = cJSON_PrintUnformatted(rec);
        fail_msg("audit record field %s: expected '%s', got '%s' in %s", key, want, got ? got : "(none)", t);
    }
}

/* time is RFC 3339 UTC with milliseconds: 2026-12-07T12:22:02.123Z */
static void assert_time(const cJSON *rec, const char *key)
{
    const char *t = field(rec, key);
    assert_non_null(t);
    assert_int_equal(strlen(t), 24);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' && t[19] == '.' &&
                t[23] == 'Z');
}

static const cJSON *last(const cJSON *all)
{
    return cJSON_GetArrayItem(all, cJSON_GetArraySize(all) - 1);
}

static void test_every_mutating_operation_is_recorded(void **state)
{
    sm_test_server *s = *state;
    int before = count_records(audit_path);
    tc op, target, other, viewer;
    tc_open(&op, s, "operator", "operator", NULL);
    assert_true(op.audited);
    tc_open(&target, s, "client", "client", "{\"Tier\":\"gold\",\"Gone\":\"soon\",\"Group\":\"g1\"}");
    tc_open(&other, s, "client", "client", "{\"Group\":\"g2\"}");
    tc_open(&viewer, s, "viewer", "viewer", NULL);

    /* set by ID, with hostile text in keys and values: quotes, backslashes, control characters, non-ASCII */
    cJSON_Delete(tc_ok(&op,
                       "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"pl\\\"at\\\\in\\u0001um\\n\","
                       "\"Gone\":null,\"Neu\":\"\\u00e9t\\u00e9 \\u2028\"}}",
                       target.session_id));
    cJSON *all = records(audit_path, before + 1);
    const cJSON *r = last(all);
    assert_time(r, "time");
    assert_field(r, "op", "set");
    assert_field(r, "principal", "operator");
    assert_field(r, "sessionId", op.session_id);
    assert_field(r, "clientIp", "127.0.0.1");
    assert_field(r, "target", target.session_id);
    assert_field(r, "result", "OK");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(r, "changes");
    const cJSON *tier = cJSON_GetObjectItemCaseSensitive(ch, "Tier");
    assert_string_equal(field(tier, "old"), "gold");
    assert_string_equal(field(tier, "new"), "pl\"at\\in\001um\n");
    const cJSON *gone = cJSON_GetObjectItemCaseSensitive(ch, "Gone");
    assert_string_equal(field(gone, "old"), "soon");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(gone, "new")));
    const cJSON *neu = cJSON_GetObjectItemCaseSensitive(ch, "Neu");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(neu, "old")));
    assert_string_equal(field(neu, "new"), "\xc3\xa9t\xc3\xa9 \xe2\x80\xa8");
    cJSON_Delete(all);

    /* refused requests are recorded with their error code */
    cJSON_Delete(tc_err(&viewer, "ACCESS_DENIED", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"X\":\"1\"}}",
                        target.session_id));
    cJSON_Delete(tc_err(&op, "NO_SUCH_SESSION", "{\"type\":\"close_session\",\"sessionId\":\"00000000-00000000\"}"));
    all = records(audit_path, before + 3);
    r = cJSON_GetArrayItem(all, before + 1);
    assert_field(r, "principal", "viewer");
    assert_field(r, "result", "ACCESS_DENIED");
    assert_non_null(field(r, "message"));
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(r, "properties");
    assert_string_equal(field(props, "X"), "1");
    r = last(all);
    assert_field(r, "op", "close_session");
    assert_field(r, "target", "00000000-00000000");
    assert_field(r, "result", "NO_SUCH_SESSION");
    cJSON_Delete(all);

    /* set by filter: the map and the count */
    cJSON *reply = tc_ok(&op, "{\"type\":\"set_by_filter\",\"filter\":\"Group is 'g1' or Group is 'g2'\","
                              "\"properties\":{\"Flag\":\"on\",\"Tier\":null}}");
    assert_int_equal(tc_int(reply, "count"), 2);
    cJSON_Delete(reply);
    all = records(audit_path, before + 4);
    r = last(all);
    assert_field(r, "op", "set_by_filter");
    assert_field(r, "filter", "Group is 'g1' or Group is 'g2'");
    assert_field(r, "result", "OK");
    assert_time(r, "finished");
    assert_int_equal(tc_int(r, "count"), 2);
    props = cJSON_GetObjectItemCaseSensitive(r, "properties");
    assert_string_equal(field(props, "Flag"), "on");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(props, "Tier")));
    cJSON_Delete(all);

    /* close by ID, then close by filter */
    cJSON_Delete(tc_ok(&op, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", target.session_id));
    reply = tc_ok(&op, "{\"type\":\"close_by_filter\",\"filter\":\"Group is 'g2'\"}");
    assert_int_equal(tc_int(reply, "count"), 1);
    cJSON_Delete(reply);
    all = records(audit_path, before + 6);
    r = cJSON_GetArrayItem(all, before + 4);
    assert_field(r, "op", "close_session");
    assert_field(r, "target", target.session_id);
    assert_field(r, "result", "OK");
    r = last(all);
    assert_field(r, "op", "close_by_filter");
    assert_field(r, "filter", "Group is 'g2'");
    assert_int_equal(tc_int(r, "count"), 1);
    assert_field(r, "result", "OK");
    cJSON_Delete(all);

    /* a read is not audited */
    cJSON_Delete(tc_ok(&op, "{\"type\":\"get\",\"sessionId\":\"%s\"}", viewer.session_id));
    usleep(100000);
    assert_int_equal(count_records(audit_path), before + 6);

    /* never a password, nor a hash */
    char *text = tc_read_file(audit_path);
    assert_non_null(text);
    assert_null(strstr(text, "password"));
    assert_null(strstr(text, "pbkdf2"));
    free(text);
    tc_close(&op);
    tc_close(&target);
    tc_close(&other);
    tc_close(&viewer);
}

/* SIGHUP: a reload, which also reopens the file. */
static void send_sighup(sm_test_server *s)
{
    int reloads = tc_log_count(s, "reloaded ");
    cJSON *c = tc_config(s);
    char *text = cJSON_Print(c);
    cJSON_Delete(c);
    tc_reload(s, text); /* same file: SIGHUP */
    free(text);
    assert_true(tc_wait_log(s, "reloaded ", reloads + 1, WAIT_MS) > reloads);
}

/* SIGUSR1 (what the packaged logrotate entry sends): the file is reopened, the configuration is
 * not re-read (a rotation must not apply a half-edited file). */
static void send_sigusr1(sm_test_server *s)
{
    int reloads = tc_log_count(s, "reloaded ");
    int reopens = tc_log_count(s, "SIGUSR1: audit log");
    assert_int_equal(kill(s->pid, SIGUSR1), 0);
    assert_true(tc_wait_log(s, "SIGUSR1: audit log", reopens + 1, WAIT_MS) > reopens);
    assert_int_equal(tc_log_count(s, "reloaded "), reloads); /* no reload */
}

/* logrotate's way: rename the file, signal; the next record goes to a new file at the old path and
 * the renamed one keeps what was there. */
static void rotate_with(sm_test_server *s, void (*signal_server)(sm_test_server *))
{
    tc op;
    tc_open(&op, s, "operator", "operator", NULL);
    cJSON_Delete(tc_ok(&op, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"R\":\"before\"}}", op.session_id));
    int before = count_records(audit_path);
    cJSON_Delete(records(audit_path, before));
    char rotated[320];
    snprintf(rotated, sizeof rotated, "%s.1", audit_path);
    unlink(rotated);
    assert_int_equal(rename(audit_path, rotated), 0);
    signal_server(s);
    cJSON_Delete(tc_ok(&op, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"R\":\"after\"}}", op.session_id));
    cJSON *all = records(audit_path, 1);
    assert_int_equal(cJSON_GetArraySize(all), 1);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(all, 0), "changes");
    assert_string_equal(field(cJSON_GetObjectItemCaseSensitive(ch, "R"), "new"), "after");
    cJSON_Delete(all);
    assert_int_equal(count_records(rotated), before);
    tc_close(&op);
}

static void test_sighup_reopens_a_rotated_file(void **state)
{
    rotate_with(*state, send_sighup);
}

static void test_sigusr1_reopens_without_a_reload(void **state)
{
    rotate_with(*state, send_sigusr1);
}

static void test_unwritable_file_is_loud_and_harmless(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start_with(&s, "{\"audit\":{\"file\":\"/nonexistent-sessmond-dir/audit.log\"},"
                                                   "\"admin\":{\"listen\":\"127.0.0.1:0\"}}"),
                     0);
    assert_true(tc_wait_log(&s, "audit log /nonexistent-sessmond-dir/audit.log: cannot open", 1, WAIT_MS) >= 1);
    tc op;
    tc_open(&op, &s, "operator", "operator", NULL);
    assert_true(op.audited); /* configured: the server still says so (the records are counted as dropped) */
    for (int i = 0; i < 50; i++)
        cJSON_Delete(tc_ok(&op, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"N\":\"%d\"}}", op.session_id, i));
    cJSON_Delete(tc_ok(&op, "{\"type\":\"ping\"}"));
    /* rate-limited: 50 lost records, not 50 lines */
    assert_true(tc_log_count(&s, "audit log /nonexistent-sessmond-dir/audit.log") <= 3);
    /* and counted where monitoring looks */
    int status = 0;
    char *page = tc_http_get(tc_admin_port(&s), "/metrics", &status);
    assert_int_equal(status, 200);
    assert_true(tc_metric(page, "sessmond_audit_records_total{result=\"dropped\"}") >= 50);
    assert_true(tc_metric(page, "sessmond_audit_records_total{result=\"written\"}") == 0);
    free(page);
    tc_close(&op);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

static void test_no_audit_configured(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start_with(&s, NULL), 0);
    tc op;
    tc_open(&op, &s, "operator", "operator", NULL);
    assert_false(op.audited);
    tc_close(&op);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_mutating_operation_is_recorded),
        cmocka_unit_test(test_sighup_reopens_a_rotated_file),
        cmocka_unit_test(test_sigusr1_reopens_without_a_reload),
        cmocka_unit_test(test_unwritable_file_is_loud_and_harmless),
        cmocka_unit_test(test_no_audit_configured),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
