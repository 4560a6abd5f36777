/* libsessmon and sessmon over wss:// to a real sessmond with a throw-away self-signed certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/sessmon.h"
#include "helpers.h"
#include "test_server.h"

static sm_test_server srv;
static sm_test_cert cert; /* made at test time by the openssl command */
static char url[96];

static int group_setup(void **state)
{
    (void)state;
    if (sm_test_cert_make(&cert) != 0)
        return -1;
    char overrides[800];
    snprintf(overrides, sizeof overrides, "{\"tls\":{\"cert\":\"%s\",\"key\":\"%s\"}}", cert.cert, cert.key);
    if (sm_test_server_start_with(&srv, overrides) != 0)
        return -1;
    snprintf(url, sizeof url, "wss://127.0.0.1:%d", srv.port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = sm_test_server_stop(&srv);
    sm_test_cert_remove(&cert);
    return rc == 0 ? 0 : -1;
}

static void open_and_check(sm_client *c, bool self_signed, bool expect_open)
{
    static th_session t;
    memset(&t, 0, sizeof t);
    sm_session_params p = {.url = url, .principal = "admin", .password = "admin", .allow_self_signed = self_signed};
    th_session_params(&p, &t);
    t.s = sm_session_open(c, &p, NULL);
    assert_non_null(t.s);
    TH_WAIT(c, t.opens || t.closed, TH_TIMEOUT_MS);
    if (expect_open) {
        assert_int_equal(t.opens, 1);
        static th_reply r;
        const char *keys[] = {"$Principal"};
        assert_int_equal(th_get(c, t.s, t.id, keys, 1, &r), SM_CLIENT_OK);
        assert_string_equal(r.props, "$Principal=admin;");
        sm_session_close(t.s, NULL);
        TH_WAIT(c, t.closed, TH_TIMEOUT_MS);
        assert_int_equal(t.close_reason, SM_REASON_CLOSED_BY_CLIENT);
    } else {
        assert_true(t.closed);
        assert_int_equal(t.opens, 0);
        assert_int_equal(t.close_error.code, SM_CLIENT_ERR_CONNECT_FAILED);
    }
    sm_session_free(t.s);
}

static void test_wss_with_ca_file(void **state)
{
    (void)state;
    sm_client_params cp = {.ca_file = cert.cert};
    sm_client *c = sm_client_new(&cp, NULL);
    assert_non_null(c);
    open_and_check(c, false, true);
    sm_client_free(c);
}

static void test_wss_self_signed_allowed(void **state)
{
    (void)state;
    sm_client *c = sm_client_new(NULL, NULL);
    assert_non_null(c);
    open_and_check(c, true, true);
    sm_client_free(c);
}

static void test_wss_untrusted_refused(void **state)
{
    (void)state;
    sm_client *c = sm_client_new(NULL, NULL);
    assert_non_null(c);
    open_and_check(c, false, false);
    sm_client_free(c);
}

static void test_wss_needs_tls_client(void **state)
{
    (void)state;
    sm_client_params cp = {.no_tls = true};
    sm_client *c = sm_client_new(&cp, NULL);
    sm_session_params p = {.url = url};
    sm_client_error err;
    assert_null(sm_session_open(c, &p, &err));
    assert_int_equal(err.code, SM_CLIENT_ERR_INVALID_ARGUMENT);
    sm_client_free(c);
}

static void test_unreadable_ca_file_refused(void **state)
{
    (void)state;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", cert.dir);
    sm_client_params cp = {.ca_file = missing};
    sm_client_error err = {0, ""};
    assert_null(sm_client_new(&cp, &err));
    assert_int_equal(err.code, SM_CLIENT_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "cannot read the CA file"));
    assert_non_null(strstr(err.message, "no-such-ca.pem"));
    /* Without TLS the CA file plays no part. */
    cp.no_tls = true;
    sm_client *c = sm_client_new(&cp, &err);
    assert_non_null(c);
    sm_client_free(c);
}

static int run_cli(const char *const *args)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        setenv("SESSMON_URL", url, 1);
        setenv("SESSMON_PRINCIPAL", "admin", 1);
        setenv("SESSMON_PASSWORD", "admin", 1);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execv(SESSMON_PATH, (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_cli_over_wss(void **state)
{
    (void)state;
    assert_int_equal(run_cli((const char *const[]){"sessmon", "list", "--ca-file", cert.cert, NULL}), 0);
    assert_int_equal(run_cli((const char *const[]){"sessmon", "list", "--insecure", NULL}), 0);
    assert_int_equal(run_cli((const char *const[]){"sessmon", "list", "--timeout", "3000", NULL}), 3);
    /* A CA file that cannot be read is a usage error, not a certificate refused by the server. */
    assert_int_equal(run_cli((const char *const[]){"sessmon", "list", "--ca-file", "/nonexistent/ca.pem", NULL}), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wss_with_ca_file),
        cmocka_unit_test(test_wss_self_signed_allowed),
        cmocka_unit_test(test_wss_untrusted_refused),
        cmocka_unit_test(test_wss_needs_tls_client),
        cmocka_unit_test(test_unreadable_ca_file_refused),
        cmocka_unit_test(test_cli_over_wss),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
