/* sessmond integration tests: every principal x every permissioned operation; denied ones change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

typedef struct who {
    const char *principal; /* NULL = anonymous */
    bool view, modify, listen;
} who;

static const who principals[] = {
    {"admin", true, true, true},      {"operator", true, true, true}, {"viewer", true, false, true},
    {"client", false, false, false},  {NULL, false, false, false},
};

enum { OP_GET, OP_SET, OP_SET_BY_FILTER, OP_CLOSE_SESSION, OP_CLOSE_BY_FILTER, OP_ADD_LISTENER, OP_COUNT };
static const char *const op_names[] = {"get", "set", "set_by_filter", "close_session", "close_by_filter",
                                       "add_listener"};

static int setup(void **state)
{
    sm_test_server *s = calloc(1, sizeof *s);
    if (!s || sm_test_server_start(s, NULL) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    return sm_test_server_delete(*state) == 0 ? 0 : -1;
}

static bool allowed(const who *w, int op)
{
    switch (op) {
    case OP_GET:
        return w->view;
    case OP_ADD_LISTENER:
        return w->view && w->listen;
    default:
        return w->view && w->modify;
    }
}

/* Is the session still open, and what is its Mark? (asked by admin) */
static bool session_mark(tc *admin, const char *sid, char *mark, size_t cap)
{
    cJSON *r = tc_request(admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Mark\"]}", sid);
    bool open = strcmp(tc_str(r, "type"), "reply") == 0;
    if (open)
        snprintf(mark, cap, "%s", tc_prop(r, "properties", "Mark") ? tc_prop(r, "properties", "Mark") : "");
    cJSON_Delete(r);
    return open;
}

static void test_permission_matrix(void **state)
{
    sm_test_server *s = *state;
    tc admin;
    tc_open(&admin, s, "admin", "admin", NULL);
    for (size_t p = 0; p < sizeof principals / sizeof principals[0]; p++) {
        const who *w = &principals[p];
        tc caller;
        tc_open(&caller, s, w->principal, w->principal, NULL);
        for (int op = 0; op < OP_COUNT; op++) {
            tc victim;
            tc_open(&victim, s, "client", "client", "{\"Mark\":\"orig\"}");
            const char *v = victim.session_id;
            cJSON *r = NULL;
            switch (op) {
            case OP_GET:
                r = tc_request(&caller, "{\"type\":\"get\",\"sessionId\":\"%s\"}", v);
                break;
            case OP_SET:
                r = tc_request(&caller, "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"Mark\":\"new\"}}", v);
                break;
            case OP_SET_BY_FILTER:
                r = tc_request(&caller,
                               "{\"type\":\"set_by_filter\",\"filter\":\"$SessionId is '%s'\",\"properties\":{\"Mark\":"
                               "\"new\"}}",
                               v);
                break;
            case OP_CLOSE_SESSION:
                r = tc_request(&caller, "{\"type\":\"close_session\",\"sessionId\":\"%s\"}", v);
                break;
            case OP_CLOSE_BY_FILTER:
                r = tc_request(&caller, "{\"type\":\"close_by_filter\",\"filter\":\"$SessionId is '%s'\"}", v);
                break;
            case OP_ADD_LISTENER:
                r = tc_request(&caller, "{\"type\":\"add_listener\",\"keys\":[\"Mark\"],\"filter\":\"$SessionId is '%s'\"}",
                               v);
                break;
            }
            const char *type = tc_str(r, "type");
            bool ok = allowed(w, op);
            if (ok != (strcmp(type, "reply") == 0) ||
                (!ok && strcmp(tc_str(r, "code") ? tc_str(r, "code") : "", "ACCESS_DENIED") != 0)) {
                char *t = cJSON_PrintUnformatted(r);
                fail_msg("%s / %s: expected %s, got %s", w->principal ? w->principal : "(anonymous)", op_names[op],
                         ok ? "a reply" : "ACCESS_DENIED", t);
            }
            long long listener = tc_int(r, "listener");
            cJSON_Delete(r);
            char mark[32] = "";
            bool open = session_mark(&admin, v, mark, sizeof mark);
            bool closes = op == OP_CLOSE_SESSION || op == OP_CLOSE_BY_FILTER;
            bool sets = op == OP_SET || op == OP_SET_BY_FILTER;
            if (ok && closes) {
                assert_false(open);
            } else {
                assert_true(open);
                assert_string_equal(mark, ok && sets ? "new" : "orig");
            }
            if (ok && op == OP_ADD_LISTENER) {
                long long n = -1;
                cJSON *snap = tc_snapshot(&caller, listener, &n);
                assert_int_equal(n, 1); /* the filter names the victim only */
                cJSON_Delete(snap);
                cJSON_Delete(tc_ok(&caller, "{\"type\":\"remove_listener\",\"listener\":%lld}", listener));
            }
            tc_close(&victim);
        }
        tc_close(&caller);
    }
    tc_close(&admin);
}

static void test_remove_listener_and_ping_need_nothing(void **state)
{
    sm_test_server *s = *state;
    tc c;
    tc_open(&c, s, "client", "client", NULL);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    cJSON_Delete(tc_err(&c, "NO_SUCH_LISTENER", "{\"type\":\"remove_listener\",\"listener\":1}"));
    cJSON_Delete(tc_ok(&c, "{\"type\":\"close_self\"}"));
    tc_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permission_matrix),
        cmocka_unit_test(test_remove_listener_and_ping_need_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
