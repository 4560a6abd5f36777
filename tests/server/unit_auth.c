/* sessmond unit tests of login checks: unknown principals cost the same PBKDF2 run as wrong passwords. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/server.h"

typedef struct fixture {
    smd_config cfg;
    smd_server srv;
} fixture;

static char *hash_of(const char *password, unsigned iterations)
{
    char *h = NULL;
    sm_error err;
    assert_int_equal(smd_auth_hash_password(password, strlen(password), iterations, &h, &err), SM_OK);
    return h;
}

/* A server over the configuration text json (asserted to parse and start). */
static void start_server(smd_config *cfg, smd_server *srv, const char *json)
{
    sm_error err;
    smd_config_init(cfg);
    assert_int_equal(smd_config_parse(cfg, json, strlen(json), &err), SM_OK);
    assert_int_equal(smd_server_init(srv, cfg, NULL, 0, &err), SM_OK);
}

/* alice and bob use 1500 iterations, carol 1000: the usual cost is 1500. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char *ha = hash_of("alice-pw", 1500), *hb = hash_of("bob-pw", 1500), *hc = hash_of("carol-pw", 1000);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"roles\":{\"R\":[\"view_session\"]},\"principals\":{"
             "\"alice\":{\"password\":\"%s\",\"roles\":[\"R\"]},"
             "\"bob\":{\"password\":\"%s\"},\"carol\":{\"password\":\"%s\"}}}",
             ha, hb, hc);
    free(ha);
    free(hb);
    free(hc);
    start_server(&f->cfg, &f->srv, json);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    smd_server_free(&f->srv);
    smd_config_free(&f->cfg);
    free(f);
    return 0;
}

/* A login from one documentation address (192.0.2.0/24, RFC 5737). */
static const smd_identity *login(smd_server *srv, const char *principal, const char *password)
{
    smd_login_result lr;
    const smd_identity *id = smd_server_authenticate(srv, "192.0.2.10", principal, password, &lr);
    assert_int_equal(lr.status, id ? SMD_LOGIN_OK : SMD_LOGIN_BAD);
    return id;
}

static smd_auth_stats stats(fixture *f)
{
    smd_auth_stats st;
    smd_auth_get_stats(f->srv.auth, &st);
    return st;
}

static void test_unknown_principal_runs_the_same_check(void **state)
{
    fixture *f = *state;
    smd_auth_stats before = stats(f);
    assert_null(login(&f->srv, "mallory", "guess"));
    smd_auth_stats unknown = stats(f);
    assert_int_equal(unknown.kdf_runs, before.kdf_runs + 1);
    assert_int_equal(unknown.last_iterations, 1500);

    assert_null(login(&f->srv, "alice", "guess"));
    smd_auth_stats wrong = stats(f);
    assert_int_equal(wrong.kdf_runs, unknown.kdf_runs + 1);
    assert_int_equal(wrong.last_iterations, 1500);

    /* A principal with its own cost is checked at that cost. */
    assert_null(login(&f->srv, "carol", "guess"));
    assert_int_equal(stats(f).last_iterations, 1000);
}

static void test_right_password_and_cache(void **state)
{
    fixture *f = *state;
    const smd_identity *id = login(&f->srv, "alice", "alice-pw");
    assert_non_null(id);
    assert_ptr_equal(id, &f->srv.identities[0]);
    assert_string_equal(id->roles, "\"R\"");
    smd_auth_stats first = stats(f);
    assert_non_null(login(&f->srv, "alice", "alice-pw"));
    smd_auth_stats second = stats(f);
    assert_int_equal(second.kdf_runs, first.kdf_runs);
    assert_int_equal(second.cache_hits, first.cache_hits + 1);
    /* Another principal's password does not open alice, nor alice's bob. */
    assert_null(login(&f->srv, "alice", "bob-pw"));
    assert_null(login(&f->srv, "bob", "alice-pw"));
    assert_non_null(login(&f->srv, "bob", "bob-pw"));
}

static void test_missing_password_refused_alike(void **state)
{
    fixture *f = *state;
    smd_auth_stats before = stats(f);
    assert_null(login(&f->srv, "alice", NULL));
    assert_null(login(&f->srv, "mallory", NULL));
    assert_int_equal(stats(f).kdf_runs, before.kdf_runs);
}

static void test_dummy_hash(void **state)
{
    (void)state;
    char *d = smd_auth_dummy_hash(1000);
    assert_non_null(d);
    assert_int_equal(smd_auth_check_hash(d, NULL), SM_OK);
    assert_int_equal(smd_auth_hash_iterations(d), 1000);
    assert_false(smd_auth_verify(NULL, "x", "", 0, d));
    assert_false(smd_auth_verify(NULL, "x", "password", 8, d));
    char *e = smd_auth_dummy_hash(1000);
    assert_non_null(e);
    assert_string_not_equal(d, e); /* fresh randomness every time */
    free(d);
    free(e);
    assert_null(smd_auth_dummy_hash(SMD_AUTH_MIN_ITERATIONS - 1));
    assert_null(smd_auth_dummy_hash(SMD_AUTH_MAX_ITERATIONS + 1));
    assert_int_equal(smd_auth_hash_iterations("pbkdf2-sha256$x"), 0);
}

/* A backed-off address is refused before the cache: a fast success would tell it a guess was right. */
static void test_backed_off_address_is_refused_even_the_right_password(void **state)
{
    fixture *f = *state;
    smd_login_result lr;
    assert_non_null(smd_server_authenticate(&f->srv, "192.0.2.20", "alice", "alice-pw", &lr)); /* now cached */
    for (int i = 0; i < 5; i++) {
        assert_null(smd_server_authenticate(&f->srv, "192.0.2.20", "alice", i ? "guess" : NULL, &lr));
        assert_int_equal(lr.status, SMD_LOGIN_BAD);
    }
    smd_auth_stats before = stats(f);
    assert_null(smd_server_authenticate(&f->srv, "192.0.2.20", "alice", "alice-pw", &lr));
    assert_int_equal(lr.status, SMD_LOGIN_THROTTLED);
    assert_true(lr.retry_ms > 0 && lr.retry_ms <= 1000);
    assert_string_equal(lr.why, "too many failed logins from this address");
    smd_auth_stats after = stats(f);
    assert_int_equal(after.cache_hits, before.cache_hits);
    assert_int_equal(after.throttled, before.throttled + 1);
    assert_int_equal(after.failures, 5);
    /* Elsewhere alice still gets in. */
    assert_non_null(smd_server_authenticate(&f->srv, "192.0.3.20", "alice", "alice-pw", &lr));
    assert_int_equal(lr.status, SMD_LOGIN_OK);
}

/* Fair share of the check budget: an address with failures on record runs out of its share while
 * a clean address still gets its password checked. */
static void test_suspects_get_only_their_share_of_the_budget(void **state)
{
    (void)state;
    char *h = hash_of("dora-pw", 10000);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"principals\":{\"dora\":{\"password\":\"%s\"}},"
             "\"logins\":{\"addressFreeFailures\":1000,\"networkFreeFailures\":100000,"
             "\"principalFreeFailures\":100000,\"checkBudgetMs\":100,\"suspectSharePercent\":50}}",
             h);
    free(h);
    smd_config cfg;
    smd_server srv;
    start_server(&cfg, &srv, json);
    smd_login_result lr;
    int checked = 0;
    for (int i = 0; i < 1000; i++) {
        assert_null(smd_server_authenticate(&srv, "198.51.100.1", "dora", "guess", &lr));
        if (lr.status == SMD_LOGIN_BUSY)
            break;
        assert_int_equal(lr.status, SMD_LOGIN_BAD);
        checked++;
    }
    assert_int_equal(lr.status, SMD_LOGIN_BUSY);
    assert_string_equal(lr.why, "too many password checks right now");
    assert_true(lr.retry_ms >= 1);
    assert_true(checked >= 2);
    /* A clean address is still checked: a wrong password is answered as wrong, a right one opens. */
    assert_null(smd_server_authenticate(&srv, "203.0.113.1", "dora", "guess", &lr));
    assert_int_equal(lr.status, SMD_LOGIN_BAD);
    assert_non_null(smd_server_authenticate(&srv, "203.0.113.2", "dora", "dora-pw", &lr));
    assert_int_equal(lr.status, SMD_LOGIN_OK);
    smd_auth_stats st;
    smd_auth_get_stats(srv.auth, &st);
    assert_true(st.over_budget >= 1);
    smd_server_free(&srv);
    smd_config_free(&cfg);
}

/* The check in slices gives what PKCS5_PBKDF2_HMAC (which made the hashes) gives, for short
 * passwords and for ones longer than the HMAC block (hashed into the key). */
static void test_sliced_checks_match_openssl(void **state)
{
    fixture *f = *state;
    char long_pw[101];
    memset(long_pw, 'p', 100);
    long_pw[100] = '\0';
    char *h_long = hash_of(long_pw, 1000);
    const struct {
        const char *password, *hash;
        smd_login_status want;
    } cases[] = {
        {"alice-pw", f->cfg.principals[0].password_hash, SMD_LOGIN_OK},
        {"alice-pX", f->cfg.principals[0].password_hash, SMD_LOGIN_BAD},
        {long_pw, h_long, SMD_LOGIN_OK},
        {"p", h_long, SMD_LOGIN_BAD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smd_login_result lr;
        smd_auth_check *chk = NULL;
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%zu", 50 + i);
        assert_false(smd_auth_login_start(f->srv.auth, ip, "alice", cases[i].password, strlen(cases[i].password),
                                         cases[i].hash, &lr, &chk));
        assert_non_null(chk);
        int steps = 1;
        while (!smd_auth_check_run(f->srv.auth, chk, 0)) /* a zero budget: one clock period (64 iterations) */
            steps++;
        assert_true(steps >= 1000 / 64);
        smd_auth_check_finish(f->srv.auth, chk, &lr);
        assert_int_equal(lr.status, cases[i].want);
    }
    free(h_long);
}

/* A check in progress counts against the budget before it ends; an abandoned one is a failure. */
static void test_checks_in_progress_count_and_abandoned_ones_fail(void **state)
{
    (void)state;
    char *h = hash_of("erin-pw", 1000);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"principals\":{\"erin\":{\"password\":\"%s\",\"roles\":[]}},"
             "\"logins\":{\"checkBudgetMs\":10}}",
             h);
    free(h);
    smd_config cfg;
    smd_server srv;
    start_server(&cfg, &srv, json);
    /* 10 ms of budget; a 1000-iteration check is expected to cost about 1 ms: start checks
     * without running them until the budget refuses one. */
    smd_auth_check *chk[64];
    int started = 0;
    smd_login_result lr;
    memset(&lr, 0, sizeof lr);
    for (; started < 64; started++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", started + 1);
        if (smd_auth_login_start(srv.auth, ip, "erin", "guess", 5, cfg.principals[0].password_hash, &lr,
                                &chk[started]))
            break;
    }
    assert_int_equal(lr.status, SMD_LOGIN_BUSY);
    assert_true(started >= 1 && started < 64);
    smd_auth_stats before, after;
    smd_auth_get_stats(srv.auth, &before);
    for (int i = 0; i < started; i++)
        smd_auth_check_abandon(srv.auth, chk[i]);
    smd_auth_get_stats(srv.auth, &after);
    assert_int_equal(after.failures, before.failures + (unsigned long long)started);
    smd_server_free(&srv);
    smd_config_free(&cfg);
}

/* Without principals there is nothing to hide and no dummy check to pay for. */
static void test_no_principals(void **state)
{
    (void)state;
    smd_config cfg;
    smd_server srv;
    sm_error err;
    smd_config_init(&cfg);
    assert_int_equal(smd_server_init(&srv, &cfg, NULL, 0, &err), SM_OK);
    assert_null(srv.dummy_hash);
    assert_null(login(&srv, "anyone", "pw"));
    smd_server_free(&srv);
    smd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_principal_runs_the_same_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_right_password_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_password_refused_alike, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backed_off_address_is_refused_even_the_right_password, setup, teardown),
        cmocka_unit_test(test_suspects_get_only_their_share_of_the_budget),
        cmocka_unit_test_setup_teardown(test_sliced_checks_match_openssl, setup, teardown),
        cmocka_unit_test(test_checks_in_progress_count_and_abandoned_ones_fail),
        cmocka_unit_test(test_dummy_hash),
        cmocka_unit_test(test_no_principals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
