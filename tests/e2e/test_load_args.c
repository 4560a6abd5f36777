/* Unit tests of sessmon-load's parsers (options, loopback only; --from NDJSON lines), simulated users, progress lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/load/from.h"
#include "tools/load/options.h"
#include "tools/load/profile.h"
#include "tools/load/stats.h"

/* Parses a NULL-terminated argument list; returns the status and keeps the message. */
static int parse(sm_load_options *o, sm_error *err, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"sessmon-load";
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 63)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    sm_load_options_init(o);
    sm_error_clear(err);
    return sm_load_parse_args(o, argc, argv, err);
}

static void defaults(void **state)
{
    (void)state;
    sm_load_options o;
    sm_error err;
    assert_int_equal(parse(&o, &err, NULL), SM_OK);
    assert_string_equal(o.url, "ws://127.0.0.1:9595");
    assert_int_equal(o.sessions, 100);
    assert_int_equal(o.source_count, 8);
    assert_string_equal(o.sources[0], "127.0.0.2");
    assert_string_equal(o.sources[7], "127.0.0.9");
    assert_int_equal(o.principal_count, 0);
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--quiet", "--help", NULL), 1);
    sm_load_options_free(&o);
}

static void urls_must_be_loopback(void **state)
{
    (void)state;
    sm_load_options o;
    sm_error err;
    static const char *const bad[] = {"ws://10.0.0.1:9595", "ws://192.168.1.2", "ws://example.com:80",
                                      "http://127.0.0.1", "ws://[::1]:9595", "ws://128.0.0.1", "ws://127.0.0.1:0",
                                      "ws://127.0.0.1:99999", "ws://", "ws://127.0.0.1/a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&o, &err, "--url", bad[i], NULL), SM_ERR_INVALID);
        assert_non_null(strstr(err.message, "--url"));
        sm_load_options_free(&o);
    }
    assert_int_equal(parse(&o, &err, "--url", "ws://localhost:1234/x", NULL), SM_OK);
    assert_string_equal(o.url, "ws://127.0.0.1:1234/x");
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--url", "wss://127.1.2.3", NULL), SM_OK);
    assert_string_equal(o.url, "wss://127.1.2.3");
    sm_load_options_free(&o);
}

static void sources(void **state)
{
    (void)state;
    sm_load_options o;
    sm_error err;
    assert_int_equal(parse(&o, &err, "--sources", "127.0.0.10-12", NULL), SM_OK);
    assert_int_equal(o.source_count, 3);
    assert_string_equal(o.sources[2], "127.0.0.12");
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--sources", "127.0.0.250-127.0.1.3", NULL), SM_OK);
    assert_int_equal(o.source_count, 10);
    assert_string_equal(o.sources[6], "127.0.1.0");
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--sources", "127.0.0.7", NULL), SM_OK);
    assert_int_equal(o.source_count, 1);
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--sources", "none", NULL), SM_OK);
    assert_int_equal(o.source_count, 0);
    sm_load_options_free(&o);
    assert_int_equal(parse(&o, &err, "--source-count", "3", NULL), SM_OK);
    assert_int_equal(o.source_count, 3);
    assert_string_equal(o.sources[2], "127.0.0.4");
    sm_load_options_free(&o);
    static const char *const bad[] = {"10.0.0.1-10.0.0.5", "127.0.0.5-126.0.0.1", "127.0.0.9-2", "127.0.0.1-300",
                                      "192.168.0.1", "127.0.0.1-127.255.255.255", "", "-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&o, &err, "--sources", bad[i], NULL), SM_ERR_INVALID);
        assert_non_null(strstr(err.message, "--sources"));
        sm_load_options_free(&o);
    }
}

static void principals_and_numbers(void **state)
{
    (void)state;
    sm_load_options o;
    sm_error err;
    setenv("SM_TEST_PW", "secret", 1);
    unsetenv("SM_TEST_MISSING");
    assert_int_equal(parse(&o, &err, "--principal", "client", "--password-env", "SM_TEST_PW", "--weight", "3",
                           "--anonymous-weight", "1", "--admin", "admin", "--admin-password-env", "SM_TEST_PW",
                           "--sessions", "2500", "--ramp", "250.5", "--update-rate", "0.5", "--seed", "42", NULL),
                     SM_OK);
    assert_int_equal(o.principal_count, 1);
    assert_string_equal(o.principals[0].password, "secret");
    assert_int_equal(o.principals[0].weight, 3);
    assert_string_equal(o.admin_password, "secret");
    assert_int_equal(o.sessions, 2500);
    assert_true(o.ramp > 250 && o.ramp < 251);
    assert_int_equal(o.seed, 42);
    sm_load_options_free(&o);

    struct {
        const char *a, *b, *c, *d;
        const char *needle;
    } bad[] = {
        {"--principal", "client", NULL, NULL, "--password-env"},
        {"--principal", "client", "--password-env", "SM_TEST_MISSING", "not set"},
        {"--password-env", "SM_TEST_PW", NULL, NULL, "must follow"},
        {"--admin", "admin", NULL, NULL, "--admin-password-env"},
        {"--sessions", "-1", NULL, NULL, "--sessions"},
        {"--sessions", "12x", NULL, NULL, "--sessions"},
        {"--ramp", "0", NULL, NULL, "--ramp"},
        {"--drop-rate", "nan", NULL, NULL, "--drop-rate"},
        {"--anonymous-weight", "0", NULL, NULL, "weight"},
        {"--bogus", "1", NULL, NULL, "unknown"},
        {"--url", NULL, NULL, NULL, "missing value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(parse(&o, &err, bad[i].a, bad[i].b, bad[i].c, bad[i].d, NULL), SM_OK);
        if (!strstr(err.message, bad[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].needle);
        sm_load_options_free(&o);
    }
}

static int spec(const char *line, sm_load_spec *s, sm_error *err)
{
    sm_error_clear(err);
    return sm_load_spec_parse(line, strlen(line), 7, s, err);
}

static void from_lines(void **state)
{
    (void)state;
    sm_load_spec s;
    sm_error err;
    assert_int_equal(spec("{\"principal\":\"client\",\"password\":\"client\",\"properties\":{\"Department\":\"Sales\","
                          "\"Tier\":\"gold\"},\"clientType\":\"IOS\",\"environment\":\"iOS 17\","
                          "\"source\":\"127.0.0.5\"}",
                          &s, &err),
                     SM_OK);
    assert_string_equal(s.principal, "client");
    assert_string_equal(s.password, "client");
    assert_int_equal(s.prop_count, 2);
    assert_string_equal(s.props[1].key, "Tier");
    assert_string_equal(s.props[1].value, "gold");
    assert_string_equal(s.client_type, "IOS");
    assert_string_equal(s.source, "127.0.0.5");
    assert_int_equal(s.line, 7);
    sm_load_spec_free(&s);

    assert_int_equal(spec("  {}  ", &s, &err), SM_OK);
    assert_string_equal(s.principal, "");
    assert_int_equal(s.prop_count, 0);
    assert_null(s.client_type);
    assert_string_equal(s.source, "");
    sm_load_spec_free(&s);

    static const struct {
        const char *line;
        const char *needle;
    } bad[] = {
        {"{", "invalid JSON"},
        {"[]", "expected a JSON object"},
        {"{} x", "text after"},
        {"{\"principle\":\"x\"}", "unknown field 'principle'"},
        {"{\"principal\":\"client\"}", "needs a \"password\""},
        {"{\"principal\":3}", "\"principal\" must be a string"},
        {"{\"principal\":\"a\\u001bb\",\"password\":\"x\"}", "control characters"},
        {"{\"properties\":{\"$Country\":\"FR\"}}", "property key"},
        {"{\"properties\":{\"A B\":\"x\"}}", "property key"},
        {"{\"properties\":{\"A\":1}}", "string value"},
        {"{\"properties\":{\"A\":\"x\",\"A\":\"y\"}}", "appears twice"},
        {"{\"properties\":[]}", "object of strings"},
        {"{\"properties\":{\"A\":\"x\\u0000y\"}}", "\\u0000"},
        {"{\"clientType\":\"AMIGA\"}", "clientType"},
        {"{\"source\":\"10.1.2.3\"}", "127.0.0.0/8"},
        {"{\"source\":\"127.0.0.300\"}", "127.0.0.0/8"},
        {"{\"password\":\"a\",\"password\":\"b\"}", "appears twice"},
        {"{\"principal\":\"\xff\"}", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(spec(bad[i].line, &s, &err), SM_OK);
        if (!strstr(err.message, bad[i].needle) || strncmp(err.message, "line 7: ", 8) != 0)
            fail_msg("case %zu: '%s' lacks 'line 7:' or '%s'", i, err.message, bad[i].needle);
    }
}

static void from_file_line_numbers(void **state)
{
    (void)state;
    const char *text = "{\"principal\":\"\"}\n\n   \n{\"properties\":{\"Tier\":\"gold\"}}\r\n"
                       "{\"clientType\":\"JAVA\"}";
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    sm_load_specs specs;
    sm_error err;
    sm_error_clear(&err);
    assert_int_equal(sm_load_specs_read(f, &specs, &err), SM_OK);
    fclose(f);
    assert_int_equal(specs.count, 3);
    assert_int_equal(specs.items[1].line, 4);
    assert_int_equal(specs.items[2].line, 5);
    assert_string_equal(specs.items[2].client_type, "JAVA");
    sm_load_specs_free(&specs);

    const char *bad = "{}\n{}\n\n{\"oops\":1}\n{}\n";
    f = fmemopen((void *)bad, strlen(bad), "r");
    assert_int_equal(sm_load_specs_read(f, &specs, &err), SM_ERR_INVALID);
    fclose(f);
    assert_non_null(strstr(err.message, "line 4:"));
    assert_int_equal(specs.count, 0);

    /* An endless line costs at most the limit and is refused with its number. */
    size_t big = SM_LOAD_FROM_LINE_MAX + 100;
    char *huge = malloc(big + 8);
    assert_non_null(huge);
    memcpy(huge, "{}\n", 3);
    memset(huge + 3, ' ', big);
    f = fmemopen(huge, big + 3, "r");
    assert_int_equal(sm_load_specs_read(f, &specs, &err), SM_ERR_INVALID);
    fclose(f);
    free(huge);
    assert_non_null(strstr(err.message, "line 2: longer than"));
}

static void profiles_are_realistic(void **state)
{
    (void)state;
    sm_rng r;
    sm_rng_seed(&r, 7);
    unsigned gold = 0, bronze = 0, latest = 0, eu_for_fr = 0;
    const unsigned n = 10000;
    for (unsigned i = 0; i < n; i++) {
        sm_profile p;
        sm_profile_draw(&p, &r, "127.0.0.2");
        sm_property props[SM_PROFILE_MAX_PROPS];
        char user[16];
        size_t k = sm_profile_props(&p, props, user, sizeof user);
        assert_int_equal(k, SM_PROFILE_MAX_PROPS);
        for (size_t j = 0; j < k; j++) {
            if (strcmp(props[j].key, "Tier") == 0) {
                gold += strcmp(props[j].value, "gold") == 0;
                bronze += strcmp(props[j].value, "bronze") == 0;
            } else if (strcmp(props[j].key, "AppVersion") == 0) {
                latest += strcmp(props[j].value, "5.2.0") == 0;
            } else if (strcmp(props[j].key, "Region") == 0) {
                eu_for_fr += strcmp(props[j].value, "EU") == 0;
            }
        }
        assert_non_null(sm_profile_client_type(&p));
        assert_non_null(sm_profile_environment(&p));
        sm_property change;
        sm_profile before = p;
        sm_profile_mutate(&p, &r, &change);
        assert_true(memcmp(&before, &p, sizeof p) != 0);
    }
    assert_true(gold > n / 20 && gold < bronze);
    assert_true(latest > n * 4 / 10 && latest < n * 6 / 10);
    assert_int_equal(eu_for_fr, n);
    assert_string_equal(sm_profile_region_for_source("127.0.0.7"), "LATAM");
    assert_null(sm_profile_region_for_source("127.0.0.99"));
    /* Same seed, same users. */
    sm_rng a, b;
    sm_rng_seed(&a, 3);
    sm_rng_seed(&b, 3);
    for (int i = 0; i < 100; i++)
        assert_true(sm_rng_next(&a) == sm_rng_next(&b));
}

/* Prints one progress line into buf. */
static void progress_line(bool json, const sm_load_line *line, const sm_load_stats *now, const sm_load_stats *prev,
                          char *buf, size_t cap)
{
    FILE *f = fmemopen(buf, cap, "w");
    assert_non_null(f);
    sm_load_progress_print(f, json, line, now, prev);
    fclose(f);
}

static void progress_says_when_updates_fall_behind(void **state)
{
    (void)state;
    sm_load_line line = {.state = "running", .elapsed = 12, .dt = 1, .workers = 1, .rss_kb = 2048,
                         .updates_asked = 10000, .cpu_pct = 40};
    sm_load_stats prev, now;
    memset(&prev, 0, sizeof prev);
    now = prev;
    now.open = now.target = 15000;
    now.updates = 10012;
    char buf[2048];
    /* On pace (95 % or more): no reason. */
    assert_null(sm_load_update_shortfall(&line, &now, &prev));
    progress_line(false, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "updates 10,012/s of 10,000/s asked\n"));
    assert_non_null(strstr(buf, "cpu 40 %"));
    progress_line(true, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"updatesPerSec\":10012.0,\"updatesAskedPerSec\":10000.0,\"updatesBehind\":null"));
    assert_non_null(strstr(buf, "\"cpuPct\":40.0"));

    /* Behind, for each reason in turn: a full window means the server is slow... */
    now.updates = 6012;
    now.updates_skipped = now.updates_skipped_window = 3900;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev), "server replies slow (the in-flight window is full)");
    progress_line(false, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "updates 6,012/s of 10,000/s asked — behind: server replies slow (the in-flight window is full)"));
    progress_line(true, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"updatesBehind\":\"server replies slow (the in-flight window is full)\""));
    assert_non_null(strstr(buf, "\"updatesSkippedWindow\":3900"));
    /* ... unless the process itself is saturated, which also fills the window. */
    line.cpu_pct = 99;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev), "this process is CPU bound");
    line.workers = 3;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev), "a sessmon-load process is CPU bound");
    line.workers = 1;
    line.cpu_pct = 30;
    /* Late without using its core: the machine's CPUs are taken by others. */
    now.updates_late = 500;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev),
                        "this process got too little CPU (the machine is busy)");
    progress_line(true, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "\"updatesLate\":500"));
    now.updates_late = 0;
    now.updates_skipped_window = 0;
    now.updates_skipped_no_session = 3900;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev),
                        "no session may apply them (--admin not open or missing)");
    now.updates_skipped_no_session = 0;
    now.update_errors = 10;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev), "updates failing (see the errors on stderr)");
    now.update_errors = 0;
    assert_string_equal(sm_load_update_shortfall(&line, &now, &prev), "server replies slow");
    /* Nothing asked, or stopping: nothing to be behind on. */
    line.state = "stopping";
    assert_null(sm_load_update_shortfall(&line, &now, &prev));
    line.state = "running";
    line.updates_asked = 0;
    assert_null(sm_load_update_shortfall(&line, &now, &prev));
    progress_line(false, &line, &now, &prev, buf, sizeof buf);
    assert_non_null(strstr(buf, "updates 6,012/s\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(urls_must_be_loopback),
        cmocka_unit_test(sources),
        cmocka_unit_test(principals_and_numbers),
        cmocka_unit_test(from_lines),
        cmocka_unit_test(from_file_line_numbers),
        cmocka_unit_test(profiles_are_realistic),
        cmocka_unit_test(progress_says_when_updates_fall_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
