/* sessmond integration tests: open, fixed properties, get, set, set_by_filter, close, ping, close_self. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

typedef struct fixture {
    sm_test_server srv;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *geo = "{\"geo\":[{\"cidr\":\"127.0.0.0/8\",\"country\":\"gb\",\"language\":\"EN\"},"
                      "{\"cidr\":\"127.0.0.2/32\",\"country\":\"FR\",\"language\":\"fr\","
                      "\"latitude\":48.85,\"longitude\":2.35}]}";
    if (sm_test_server_start_with(&f->srv, geo) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int st = sm_test_server_stop(&f->srv);
    free(f);
    return st == 0 ? 0 : -1;
}

static void test_open_sets_fixed_properties(void **state)
{
    fixture *f = *state;
    tc admin;
    tc_open(&admin, &f->srv, "admin", "admin", "{\"Department\":\"Accounts\",\"Tier\":\"gold\"}");
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", admin.session_id);
    assert_string_equal(tc_str(r, "op"), "get");
    assert_string_equal(tc_prop(r, "properties", "$SessionId"), admin.session_id);
    assert_string_equal(tc_prop(r, "properties", "$Principal"), "admin");
    assert_string_equal(tc_prop(r, "properties", "$Roles"), "\"ADMINISTRATOR\"");
    assert_string_equal(tc_prop(r, "properties", "$Transport"), "WEBSOCKET");
    assert_string_equal(tc_prop(r, "properties", "$ClientType"), "C");
    assert_string_equal(tc_prop(r, "properties", "$Environment"), "C_test");
    assert_string_equal(tc_prop(r, "properties", "$ServerName"), "sessmond");
    assert_string_equal(tc_prop(r, "properties", "$Connector"), "ws");
    assert_string_equal(tc_prop(r, "properties", "$ClientIP"), "127.0.0.1");
    /* 127.0.0.1 matches only the /8 row: codes are normalised, coordinates unknown. */
    assert_string_equal(tc_prop(r, "properties", "$Country"), "GB");
    assert_string_equal(tc_prop(r, "properties", "$Language"), "en");
    assert_string_equal(tc_prop(r, "properties", "$Latitude"), "NaN");
    assert_string_equal(tc_prop(r, "properties", "$Longitude"), "NaN");
    const char *start = tc_prop(r, "properties", "$StartTime");
    assert_non_null(start);
    assert_true(strtoll(start, NULL, 10) > 1600000000000LL);
    assert_string_equal(tc_prop(r, "properties", "Department"), "Accounts");
    assert_string_equal(tc_prop(r, "properties", "Tier"), "gold");
    cJSON_Delete(r);
    tc_close(&admin);
}

static void test_geo_longest_prefix_from_other_source(void **state)
{
    fixture *f = *state;
    tc admin, other;
    tc_open(&admin, &f->srv, "admin", "admin", NULL);
    /* A client from 127.0.0.2 hits the /32 row, which wins over /8. */
    memset(&other, 0, sizeof other);
    other.pending = cJSON_CreateArray();
    other.next_id = 1;
    sm_ws_opts o = {.host = "127.0.0.1", .port = f->srv.port, .source_addr = "127.0.0.2"};
    assert_int_equal(sm_ws_connect(&other.ws, &o), SM_WS_OK);
    char *opened = sm_ws_open_session(&other.ws, NULL, NULL, NULL, TC_TIMEOUT_MS);
    assert_non_null(opened);
    char *sid = sm_test_json_string(opened, "sessionId");
    free(opened);
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*F\"]}", sid);
    assert_string_equal(tc_prop(r, "properties", "$ClientIP"), "127.0.0.2");
    assert_string_equal(tc_prop(r, "properties", "$Country"), "FR");
    assert_string_equal(tc_prop(r, "properties", "$Language"), "fr");
    assert_string_equal(tc_prop(r, "properties", "$Latitude"), "48.85");
    assert_string_equal(tc_prop(r, "properties", "$Longitude"), "2.35");
    assert_string_equal(tc_prop(r, "properties", "$Principal"), "");
    assert_string_equal(tc_prop(r, "properties", "$Roles"), "\"CLIENT\"");
    assert_null(tc_prop(r, "properties", "Department"));
    cJSON_Delete(r);
    free(sid);
    tc_close(&other);
    tc_close(&admin);
}

static void test_opened_fields(void **state)
{
    fixture *f = *state;
    sm_ws ws;
    assert_int_equal(sm_ws_connect_port(&ws, f->srv.port), SM_WS_OK);
    char *opened = sm_ws_open_session(&ws, "viewer", "viewer", NULL, TC_TIMEOUT_MS);
    assert_non_null(opened);
    cJSON *o = cJSON_Parse(opened);
    free(opened);
    assert_string_equal(tc_str(o, "principal"), "viewer");
    assert_string_equal(tc_str(o, "roles"), "\"VIEWER\"");
    assert_string_equal(tc_str(o, "serverName"), "sessmond");
    assert_int_equal(strlen(tc_str(o, "token")), 32);
    assert_int_equal(strlen(tc_str(o, "sessionId")), 17);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "resumed")));
    assert_int_equal(tc_int(o, "reconnectTimeout"), 60000);
    assert_int_equal(tc_int(o, "heartbeatInterval"), 15000);
    assert_int_equal(tc_int(o, "maxMessageBytes"), 65536);
    cJSON *perms = cJSON_GetObjectItemCaseSensitive(o, "permissions");
    assert_int_equal(cJSON_GetArraySize(perms), 2);
    cJSON_Delete(o);
    sm_ws_close(&ws);
}

static void test_authentication(void **state)
{
    fixture *f = *state;
    tc c;
    cJSON *r = tc_try_open(&c, &f->srv, "admin", "wrong", NULL);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "AUTHENTICATION_FAILED");
    cJSON_Delete(r);
    char reason[128];
    assert_int_equal(tc_wait_close(&c, reason, sizeof reason, TC_TIMEOUT_MS), 1008);
    tc_close(&c);
    r = tc_try_open(&c, &f->srv, "nobody", "x", NULL);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "AUTHENTICATION_FAILED");
    cJSON_Delete(r);
    tc_close(&c);
    r = tc_try_open(&c, &f->srv, "admin", NULL, NULL);
    assert_non_null(r);
    cJSON_Delete(r);
    tc_close(&c);
    /* The right password, twice (the second time from the verification cache). */
    for (int i = 0; i < 2; i++) {
        tc_open(&c, &f->srv, "operator", "operator", NULL);
        tc_close(&c);
    }
}

static void test_get_selectors_and_keys(void **state)
{
    fixture *f = *state;
    tc admin, t;
    tc_open(&admin, &f->srv, "admin", "admin", NULL);
    tc_open(&t, &f->srv, "client", "client", "{\"a\":\"1\",\"b\":\"2\"}");
    cJSON *r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*U\"]}", t.session_id);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(r, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*F\"]}", t.session_id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "properties")), 14);
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"a\",\"$Principal\",\"zz\",\"$Nope\",\"a\"]}",
              t.session_id);
    props = cJSON_GetObjectItemCaseSensitive(r, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    assert_string_equal(tc_str(props, "a"), "1");
    assert_string_equal(tc_str(props, "$Principal"), "client");
    cJSON_Delete(r);
    /* Default keys: everything. */
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", t.session_id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "properties")), 16);
    cJSON_Delete(r);
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"get\",\"sessionId\":\"00000000-00000000\"}"));
    cJSON_Delete(tc_err(&admin, "INVALID_PROPERTY", "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"bad key\"]}",
                        t.session_id));
    tc_close(&t);
    tc_close(&admin);
}

static void test_set_by_id(void **state)
{
    fixture *f = *state;
    tc admin, t;
    tc_open(&admin, &f->srv, "admin", "admin", NULL);
    tc_open(&t, &f->srv, "client", "client", "{\"Tier\":\"gold\",\"Old\":\"x\"}");
    cJSON *r = tc_ok(&admin,
                     "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"silver\",\"Region\":\"EU\","
                     "\"Old\":null,\"Absent\":null,\"Same\":null,\"$Country\":\"de\",\"$Language\":\"DE\","
                     "\"$Latitude\":\"north\",\"$Longitude\":\"12.5\"}}",
                     t.session_id);
    assert_string_equal(tc_str(r, "op"), "set");
    cJSON *changed = cJSON_GetObjectItemCaseSensitive(r, "changed");
    assert_non_null(changed);
    assert_string_equal(tc_str(changed, "Tier"), "gold");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(changed, "Region")));
    assert_string_equal(tc_str(changed, "Old"), "x");
    assert_string_equal(tc_str(changed, "$Country"), "GB");
    assert_string_equal(tc_str(changed, "$Language"), "en");
    assert_string_equal(tc_str(changed, "$Longitude"), "NaN");
    assert_null(cJSON_GetObjectItemCaseSensitive(changed, "$Latitude")); /* NaN -> NaN: unchanged */
    assert_null(cJSON_GetObjectItemCaseSensitive(changed, "Absent"));
    assert_int_equal(cJSON_GetArraySize(changed), 6);
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", t.session_id);
    assert_string_equal(tc_prop(r, "properties", "Tier"), "silver");
    assert_string_equal(tc_prop(r, "properties", "Region"), "EU");
    assert_null(tc_prop(r, "properties", "Old"));
    assert_string_equal(tc_prop(r, "properties", "$Country"), "DE");
    assert_string_equal(tc_prop(r, "properties", "$Language"), "de");
    assert_string_equal(tc_prop(r, "properties", "$Latitude"), "NaN");
    assert_string_equal(tc_prop(r, "properties", "$Longitude"), "12.5");
    assert_string_equal(tc_prop(r, "properties", "$Principal"), "client");
    assert_string_equal(tc_prop(r, "properties", "$Roles"), "\"CLIENT\"");
    cJSON_Delete(r);
    /* Setting the same values again changes nothing. */
    r = tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Tier\":\"silver\"}}", t.session_id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "changed")), 0);
    cJSON_Delete(r);
    /* A session may set its own properties too (admin on itself). */
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Me\":\"yes\"}}",
                       admin.session_id));
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"set\",\"sessionId\":\"x\",\"properties\":{}}"));
    tc_close(&t);
    tc_close(&admin);
}

static void test_set_by_filter(void **state)
{
    fixture *f = *state;
    tc admin, a, b, c;
    tc_open(&admin, &f->srv, "admin", "admin", NULL);
    tc_open(&a, &f->srv, "client", "client", "{\"Group\":\"sbf\",\"N\":\"1\"}");
    tc_open(&b, &f->srv, "client", "client", "{\"Group\":\"sbf\",\"N\":\"2\"}");
    tc_open(&c, &f->srv, "client", "client", "{\"Group\":\"other\"}");
    cJSON *r = tc_ok(&admin,
                     "{\"type\":\"set_by_filter\",\"filter\":\"Group is 'sbf'\",\"properties\":{\"Flag\":\"on\","
                     "\"N\":null}}");
    assert_int_equal(tc_int(r, "count"), 2);
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Flag\",\"N\"]}", b.session_id);
    assert_string_equal(tc_prop(r, "properties", "Flag"), "on");
    assert_null(tc_prop(r, "properties", "N"));
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Flag\"]}", c.session_id);
    assert_null(tc_prop(r, "properties", "Flag"));
    cJSON_Delete(r);
    /* Matches again although nothing changes: count is the number matched. */
    r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"Group is 'sbf'\",\"properties\":{\"Flag\":\"on\"}}");
    assert_int_equal(tc_int(r, "count"), 2);
    cJSON_Delete(r);
    r = tc_ok(&admin, "{\"type\":\"set_by_filter\",\"filter\":\"Group is 'none'\",\"properties\":{\"Flag\":\"x\"}}");
    assert_int_equal(tc_int(r, "count"), 0);
    cJSON_Delete(r);
    r = tc_err(&admin, "INVALID_FILTER",
               "{\"type\":\"set_by_filter\",\"filter\":\"Group is sbf\",\"properties\":{\"Flag\":\"x\"}}");
    assert_non_null(strstr(tc_str(r, "message"), "column"));
    cJSON_Delete(r);
    tc_close(&a);
    tc_close(&b);
    tc_close(&c);
    tc_close(&admin);
}

static void test_close_by_id_and_filter(void **state)
{
    fixture *f = *state;
    tc admin, a, b, c;
    tc_open(&admin, &f->srv, "admin", "admin", "{\"Kill\":\"me\"}");
    tc_open(&a, &f->srv, "client", "client", "{\"Kill\":\"me\"}");
    tc_open(&b, &f->srv, "client", "client", "{\"Kill\":\"me\"}");
    tc_open(&c, &f->srv, "client", "client", NULL);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", c.session_id));
    char reason[128];
    assert_int_equal(tc_wait_close(&c, reason, sizeof reason, TC_TIMEOUT_MS), 1000);
    assert_string_equal(reason, "CLOSED_BY_CONTROLLER");
    cJSON_Delete(tc_err(&admin, "NO_SUCH_SESSION", "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", c.session_id));
    /* The caller matches its own filter but is not closed by it. */
    cJSON *r = tc_ok(&admin, "{\"type\":\"close_by_filter\",\"filter\":\"Kill is 'me'\"}");
    assert_int_equal(tc_int(r, "count"), 2);
    cJSON_Delete(r);
    assert_int_equal(tc_wait_close(&a, reason, sizeof reason, TC_TIMEOUT_MS), 1000);
    assert_string_equal(reason, "CLOSED_BY_CONTROLLER");
    assert_int_equal(tc_wait_close(&b, reason, sizeof reason, TC_TIMEOUT_MS), 1000);
    cJSON_Delete(tc_ok(&admin, "{\"type\":\"ping\"}"));
    cJSON_Delete(tc_err(&admin, "INVALID_FILTER", "{\"type\":\"close_by_filter\",\"filter\":\"(\"}"));
    tc_close(&a);
    tc_close(&b);
    tc_close(&c);
    tc_close(&admin);
}

static void test_ping_and_close_self(void **state)
{
    fixture *f = *state;
    tc c;
    tc_open(&c, &f->srv, NULL, NULL, NULL);
    cJSON *r = tc_ok(&c, "{\"type\":\"ping\"}");
    assert_string_equal(tc_str(r, "op"), "ping");
    assert_true(tc_int(r, "time") > 1600000000000LL);
    cJSON_Delete(r);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"close_self\"}"));
    char reason[128];
    assert_int_equal(tc_wait_close(&c, reason, sizeof reason, TC_TIMEOUT_MS), 1000);
    assert_string_equal(reason, "CLOSED_BY_CLIENT");
    tc_close(&c);
}

/* The per-request count limits (protocol.md: 256 keys, 1024 map entries) answer LIMIT_EXCEEDED
 * and leave nothing behind: no half-registered listener, no property changed. */
static void test_request_count_limits(void **state)
{
    fixture *f = *state;
    tc admin, t;
    tc_open(&admin, &f->srv, "admin", "admin", NULL);
    tc_open(&t, &f->srv, "client", "client", "{\"a\":\"1\"}");
    char *keys = malloc(257 * 8 + 16), *map = malloc(1025 * 16 + 16);
    assert_non_null(keys);
    assert_non_null(map);
    size_t n = 0;
    for (int i = 0; i < 257; i++)
        n += (size_t)sprintf(keys + n, "%s\"k%d\"", i ? "," : "", i);
    n = 0;
    for (int i = 0; i < 1025; i++)
        n += (size_t)sprintf(map + n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[%s]}",
                        t.session_id, keys));
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"add_listener\",\"keys\":[%s]}", keys));
    cJSON_Delete(tc_err(&admin, "INVALID_FILTER", "{\"type\":\"add_listener\",\"filter\":\"has\"}"));
    cJSON_Delete(tc_err(&admin, "INVALID_PROPERTY", "{\"type\":\"add_listener\",\"keys\":[\"bad key\"]}"));
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{%s}}",
                        t.session_id, map));
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"set_by_filter\",\"filter\":\"all\",\"properties\":{%s}}",
                        map));
    free(keys);
    free(map);
    /* None of the refused add_listener requests took one of the 64 listener slots. */
    for (int i = 0; i < 64; i++) {
        cJSON *r = tc_ok(&admin, "{\"type\":\"add_listener\",\"filter\":\"has NoSuchKey\"}");
        long long l = tc_int(r, "listener");
        cJSON_Delete(r);
        long long count;
        cJSON_Delete(tc_snapshot(&admin, l, &count));
    }
    cJSON_Delete(tc_err(&admin, "LIMIT_EXCEEDED", "{\"type\":\"add_listener\"}"));
    cJSON *g = tc_ok(&admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*U\"]}", t.session_id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "properties")), 1);
    cJSON_Delete(g);
    tc_close(&t);
    tc_close(&admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sets_fixed_properties),
        cmocka_unit_test(test_geo_longest_prefix_from_other_source),
        cmocka_unit_test(test_opened_fields),
        cmocka_unit_test(test_authentication),
        cmocka_unit_test(test_get_selectors_and_keys),
        cmocka_unit_test(test_set_by_id),
        cmocka_unit_test(test_set_by_filter),
        cmocka_unit_test(test_close_by_id_and_filter),
        cmocka_unit_test(test_ping_and_close_self),
        cmocka_unit_test(test_request_count_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
