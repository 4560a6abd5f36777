/* sessmond integration tests: configuration errors (exit 2, field named), TLS files, --hash-password, --print-config. */
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

static char tmpdir[256];
static sm_test_cert cert_a, cert_b; /* removed by teardown too, should a test fail half-way */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sessmond-config-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/c.json", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    sm_test_cert_remove(&cert_a);
    sm_test_cert_remove(&cert_b);
    return 0;
}

static const char *write_config(const char *text)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/c.json", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void expect_config_error(const char *text, const char *needle, bool start_for_real)
{
    const char *path = write_config(text);
    const char *check[] = {"--check-config", "--config", path, NULL};
    const char *run[] = {"--config", path, "--port", "0", NULL};
    char out[4096];
    int st = sm_test_sessmond_run(start_for_real ? run : check, NULL, out, sizeof out, 10000);
    if (st != 2 || !strstr(out, needle))
        fail_msg("config %s: expected exit 2 mentioning '%s', got %d: %s", text, needle, st, out);
}

static void test_config_errors_exit_2(void **state)
{
    (void)state;
    expect_config_error("{\"bogus\":1}", "unknown field 'bogus'", false);
    expect_config_error("{\"limits\":{\"maxQueueBytes\":10}}", "limits.maxQueueBytes", false);
    expect_config_error("{\"limits\":{\"maxListenersPerSession\":\"8\"}}", "limits.maxListenersPerSession", false);
    expect_config_error("{\"limits\":{\"maxFoo\":1}}", "unknown field 'maxFoo'", false);
    expect_config_error("{\"logins\":{\"addressFreeFailures\":0}}", "logins.addressFreeFailures", false);
    expect_config_error("{\"logins\":{\"suspectSharePercent\":101}}", "logins.suspectSharePercent", false);
    expect_config_error("{\"logins\":{\"tableEntries\":\"big\"}}", "logins.tableEntries", false);
    expect_config_error("{\"logins\":{\"backoffMs\":5000,\"maxBackoffMs\":1000}}", "logins.maxBackoffMs", false);
    expect_config_error("{\"logins\":{\"lockout\":true}}", "logins: unknown field 'lockout'", false);
    /* The transport defences (docs/security.md): ranges and their order. */
    expect_config_error("{\"limits\":{\"maxPending\":0}}", "limits.maxPending", false);
    expect_config_error("{\"limits\":{\"handshakeTimeoutMs\":10}}", "limits.handshakeTimeoutMs", false);
    expect_config_error("{\"limits\":{\"maxTotalQueueBytes\":1000}}", "limits.maxTotalQueueBytes", false);
    expect_config_error("{\"limits\":{\"maxQueueBytes\":4194304,\"maxTotalQueueBytes\":2097152}}",
                        "at least limits.maxQueueBytes", false);
    expect_config_error("{\"limits\":{\"maxPendingPerAddress\":300}}", "at most limits.maxPendingPerSubnet", false);
    expect_config_error("{\"limits\":{\"maxPending\":100}}", "at most limits.maxPending", false);
    expect_config_error("{\"principals\":{\"u\":{\"password\":\"plain\",\"roles\":[]}}}", "principals.u.password", false);
    expect_config_error("{\"principals\":{\"u\":{\"roles\":[]}}}", "principals.u.password", false);
    expect_config_error("{\"roles\":{\"R\":[\"fly\"]}}", "unknown permission 'fly'", false);
    expect_config_error("{\"server\":{\"port\":70000}}", "server.port", false);
    expect_config_error("{\"server\":{\"bind\":\"localhost\"}}", "server.bind", false);
    expect_config_error("{\"geo\":[{\"cidr\":\"1.2.3.4/40\"}]}", "geo[0]", false);
    expect_config_error("{\"geo\":[{\"cidr\":\"10.0.0.0/8\",\"latitude\":200}]}", "latitude", false);
    expect_config_error("{\"anonymous\":{\"allowed\":true,\"roles\":[\"GHOST\"]}}", "role 'GHOST' is not defined",
                        false);
    expect_config_error("{\"tls\":{\"cert\":\"/x\"}}", "tls", false);
    expect_config_error("{\"server\":{\"name\":\"a\"},\n \"limits\": {oops}}", "invalid JSON near line 2", false);
    expect_config_error("[]", "must be an object", false);
    /* Not only --check-config: a real start refuses too. */
    expect_config_error("{\"bogus\":1}", "unknown field 'bogus'", true);
    const char *missing[] = {"--config", "/nonexistent/sessmond.json", NULL};
    char out[1024];
    assert_int_equal(sm_test_sessmond_run(missing, NULL, out, sizeof out, 10000), 2);
    assert_non_null(strstr(out, "cannot open"));
    const char *badport[] = {"--port", "99999", NULL};
    assert_int_equal(sm_test_sessmond_run(badport, NULL, out, sizeof out, 10000), 2);
    const char *badopt[] = {"--frobnicate", NULL};
    assert_int_equal(sm_test_sessmond_run(badopt, NULL, out, sizeof out, 10000), 2);
}

static void test_hash_password_and_login(void **state)
{
    (void)state;
    const char *args[] = {"--hash-password", "--iterations", "1000", NULL};
    char hash[512];
    assert_int_equal(sm_test_sessmond_run(args, "s3cret pass\n", hash, sizeof hash, 10000), 0);
    hash[strcspn(hash, "\n")] = '\0';
    assert_int_equal(strncmp(hash, "pbkdf2-sha256$1000$", 19), 0);
    /* Two hashes of the same password differ (random salt). */
    char hash2[512];
    assert_int_equal(sm_test_sessmond_run(args, "s3cret pass\n", hash2, sizeof hash2, 10000), 0);
    assert_string_not_equal(hash, hash2);
    const char *empty[] = {"--hash-password", NULL};
    assert_int_equal(sm_test_sessmond_run(empty, "", hash2, sizeof hash2, 10000), 2);

    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"server\":{\"name\":\"cfgtest\",\"connector\":\"edge\"},\"roles\":{\"OPS\":[\"view_session\"]},"
             "\"principals\":{\"alice\":{\"password\":\"%s\",\"roles\":[\"OPS\"]}}}",
             hash);
    sm_test_server s;
    assert_int_equal(sm_test_server_start(&s, cfg), 0);
    tc c;
    tc_open(&c, &s, "alice", "s3cret pass", NULL);
    cJSON *r = tc_ok(&c, "{\"type\":\"get\",\"sessionId\":\"%s\"}", c.session_id);
    assert_string_equal(tc_prop(r, "properties", "$ServerName"), "cfgtest");
    assert_string_equal(tc_prop(r, "properties", "$Connector"), "edge");
    assert_string_equal(tc_prop(r, "properties", "$Roles"), "\"OPS\"");
    cJSON_Delete(r);
    cJSON_Delete(tc_err(&c, "ACCESS_DENIED", "{\"type\":\"add_listener\"}"));
    tc_close(&c);
    r = tc_try_open(&c, &s, "alice", "s3cret", NULL);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "AUTHENTICATION_FAILED");
    cJSON_Delete(r);
    tc_close(&c);
    /* Anonymous is off unless the config allows it. */
    r = tc_try_open(&c, &s, NULL, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "AUTHENTICATION_FAILED");
    cJSON_Delete(r);
    tc_close(&c);
    assert_int_equal(sm_test_server_stop(&s), 0);
}

static void test_print_config_round_trips(void **state)
{
    (void)state;
    char *cfg = sm_test_config("{\"limits\":{\"maxQueueBytes\":131072,\"maxPendingPerAddress\":7,"
                               "\"handshakeTimeoutMs\":2500},\"logins\":{\"backoffMs\":2000},"
                               "\"geo\":[{\"cidr\":\"10.1.0.0/16\",\"country\":\"de\",\"latitude\":52.5}]}");
    assert_non_null(cfg);
    const char *path = write_config(cfg);
    free(cfg);
    const char *args[] = {"--print-config", "--config", path, NULL};
    static char out[65536];
    assert_int_equal(sm_test_sessmond_run(args, NULL, out, sizeof out, 10000), 0);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    cJSON *limits = cJSON_GetObjectItemCaseSensitive(root, "limits");
    assert_int_equal(tc_int(limits, "maxQueueBytes"), 131072);
    cJSON *logins = cJSON_GetObjectItemCaseSensitive(root, "logins");
    assert_int_equal(tc_int(logins, "backoffMs"), 2000);
    assert_int_equal(tc_int(logins, "addressFreeFailures"), 5);
    assert_int_equal(tc_int(logins, "checkBudgetMs"), 300);
    assert_int_equal(tc_int(limits, "maxPendingPerAddress"), 7);
    assert_int_equal(tc_int(limits, "handshakeTimeoutMs"), 2500);
    assert_int_equal(tc_int(limits, "maxPending"), 1024);
    assert_int_equal(tc_int(limits, "maxTotalQueueBytes"), 1073741824);
    cJSON *geo = cJSON_GetObjectItemCaseSensitive(root, "geo");
    assert_string_equal(tc_str(geo->child, "cidr"), "10.1.0.0/16");
    assert_string_equal(tc_str(geo->child, "country"), "DE");
    cJSON_Delete(root);
    const char *check[] = {"--check-config", "--config", path, NULL};
    assert_int_equal(sm_test_sessmond_run(check, NULL, out, sizeof out, 10000), 0);
}

/* The TLS files are loaded before start-up: --check-config and a real start name the file and
 * what is wrong with it (exit 2) instead of libwebsockets failing later with "cannot listen". */
static void expect_tls_error(const char *cert, const char *key, const char *needle)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"tls\":{\"cert\":\"%s\",\"key\":\"%s\"}}", cert, key);
    expect_config_error(cfg, needle, false);
    expect_config_error(cfg, needle, true);
}

static void test_tls_files_checked(void **state)
{
    (void)state;
    assert_int_equal(sm_test_cert_make(&cert_a), 0);
    assert_int_equal(sm_test_cert_make(&cert_b), 0);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/missing.pem", cert_a.dir);
    expect_tls_error(missing, cert_a.key, "tls.cert: cannot read");
    expect_tls_error(cert_a.key, cert_a.key, "holds no PEM certificate");
    expect_tls_error(cert_a.cert, missing, "tls.key: cannot read");
    expect_tls_error(cert_a.cert, cert_a.cert, "holds no unencrypted PEM private key");
    expect_tls_error(cert_a.cert, cert_b.key, "does not match");

    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"tls\":{\"cert\":\"%s\",\"key\":\"%s\"}}", cert_a.cert, cert_a.key);
    const char *path = write_config(cfg);
    const char *check[] = {"--check-config", "--config", path, NULL};
    char out[4096];
    assert_int_equal(sm_test_sessmond_run(check, NULL, out, sizeof out, 10000), 0);
    /* --print-config does not look at the files: the printed file may be meant for another machine. */
    snprintf(cfg, sizeof cfg, "{\"tls\":{\"cert\":\"%s\",\"key\":\"%s\"}}", missing, missing);
    path = write_config(cfg);
    const char *print[] = {"--print-config", "--config", path, NULL};
    assert_int_equal(sm_test_sessmond_run(print, NULL, out, sizeof out, 10000), 0);
    assert_non_null(strstr(out, "missing.pem"));
}

static void test_port_in_use_exits_1(void **state)
{
    (void)state;
    sm_test_server s;
    assert_int_equal(sm_test_server_start(&s, NULL), 0);
    char port[16];
    snprintf(port, sizeof port, "%d", s.port);
    const char *args[] = {"--port", port, NULL};
    char out[4096];
    assert_int_equal(sm_test_sessmond_run(args, NULL, out, sizeof out, 10000), 1);
    assert_non_null(strstr(out, "cannot listen"));
    assert_int_equal(sm_test_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors_exit_2),
        cmocka_unit_test(test_hash_password_and_login),
        cmocka_unit_test(test_print_config_round_trips),
        cmocka_unit_test(test_port_in_use_exits_1),
        cmocka_unit_test(test_tls_files_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
