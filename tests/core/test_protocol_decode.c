/* Unit tests of the protocol decoder on malformed and hostile input: every field of every type, bad JSON, bad UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/protocol.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void assert_printable(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            fail_msg("error message has a non-printable byte 0x%02x: %s", (unsigned char)*p, s);
}

/* Decodes len bytes and expects failure with rc; checks type/id are reported and, when needle is
 * given, that the message mentions it. */
static void expect_fail_n(const char *json, size_t len, size_t max, int rc, sm_msg_type type, int64_t id,
                          const char *needle)
{
    sm_msg m;
    sm_error err;
    int got = sm_msg_decode(json, len, max, &m, &err);
    if (got != rc)
        fail_msg("decode of [%.*s] returned %d (expected %d): %s", (int)(len > 300 ? 300 : len), json, got, rc,
                 got ? err.message : "");
    assert_int_equal(err.code, rc);
    assert_true(err.message[0] != '\0');
    assert_printable(err.message);
    if (m.type != type || m.id != id)
        fail_msg("decode of [%.*s]: type %d id %lld reported (expected %d, %lld); %s", (int)(len > 300 ? 300 : len),
                 json, m.type, (long long)m.id, type, (long long)id, err.message);
    if (needle && !strstr(err.message, needle))
        fail_msg("decode of [%.*s]: message \"%s\" does not mention \"%s\"", (int)(len > 300 ? 300 : len), json,
                 err.message, needle);
    sm_msg_free(&m);
}

static void expect_fail(const char *json, sm_msg_type type, int64_t id, const char *needle)
{
    expect_fail_n(json, strlen(json), 0, SM_ERR_INVALID, type, id, needle);
}

static void expect_ok_n(const char *json, size_t len, sm_msg *m)
{
    sm_error err;
    int rc = sm_msg_decode(json, len, 0, m, &err);
    if (rc != SM_OK)
        fail_msg("decode of [%.*s] failed: %s", (int)(len > 300 ? 300 : len), json, err.message);
}

static void expect_ok(const char *json)
{
    sm_msg m;
    expect_ok_n(json, strlen(json), &m);
    sm_msg_free(&m);
}

/* ---- generated field tests ------------------------------------------------------------------ */

typedef enum tkind {
    T_STR,
    T_ENV,
    T_INT,
    T_ID,
    T_BOOL,
    T_MAP,
    T_MAP_NULLS,
    T_STRS,
    T_OP,
    T_CODE,
    T_PERMS,
    T_EVENTS,
    T_EVENT_NAME,
    T_STATE,
    T_REASON,
    T_KIND_COUNT
} tkind;

/* Values of the wrong JSON type, out of range, or with wrongly typed elements, per kind. */
static const char *const wrong_values[T_KIND_COUNT][16] = {
    [T_STR] = {"5", "null", "true", "[]", "{}", "[\"x\"]", "\"\xff\"", "\"a\xc0\x80\""},
    [T_ENV] = {"5", "null", "[]", "\"\xed\xa0\x80\"",
               "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
               "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
               "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\""},
    [T_INT] = {"\"5\"", "-1", "1.5", "-0.5", "9007199254740992", "1e300", "1e400", "-1e400", "null", "true", "[]",
               "{}", "[1]", "18446744073709551616"},
    [T_ID] = {"0", "\"5\"", "-1", "1.5", "0.999", "9007199254740992", "1e300", "null", "false", "[]", "{}", "-0"},
    [T_BOOL] = {"1", "0", "\"true\"", "null", "[]", "{}"},
    [T_MAP] = {"[]", "\"x\"", "5", "null", "true", "{\"a\":1}", "{\"a\":[]}", "{\"a\":{}}", "{\"a\":true}",
               "{\"a\":null}", "{\"a\":\"1\",\"a\":\"2\"}", "{\"a\":\"\xff\"}", "{\"\xff\":\"v\"}",
               "[[\"a\",\"b\"]]"},
    [T_MAP_NULLS] = {"[]", "\"x\"", "5", "null", "{\"a\":1}", "{\"a\":[]}", "{\"a\":{}}", "{\"a\":false}",
                     "{\"a\":null,\"a\":\"2\"}", "{\"a\":\"\xc3\"}", "{\"\xe2\x82\":null}"},
    [T_STRS] = {"{}", "\"x\"", "5", "null", "[1]", "[null]", "[\"a\",2]", "[[]]", "[{}]", "[\"\xff\"]",
                "[true]"},
    [T_OP] = {"5", "null", "\"\"", "\"BOGUS\"", "\"open\"", "\"resume\"", "\"heartbeat_ack\"", "\"reply\"",
              "\"GET\"", "[\"get\"]"},
    [T_CODE] = {"5", "null", "\"\"", "\"BOGUS\"", "\"access_denied\"", "\"ACCESS_DENIED \"", "[]"},
    [T_PERMS] = {"\"view_session\"", "{}", "null", "[\"nope\"]", "[1]", "[null]", "[\"VIEW_SESSION\"]",
                 "[[\"view_session\"]]"},
    [T_EVENTS] = {"{}", "null", "\"x\"", "[1]", "[\"x\"]", "[null]", "[[]]", "[{}]"},
    [T_EVENT_NAME] = {"5", "null", "\"\"", "\"open\"", "\"BOGUS\"", "[\"OPEN\"]"},
    [T_STATE] = {"5", "null", "\"\"", "\"active\"", "\"OPEN\"", "{}"},
    [T_REASON] = {"5", "null", "\"\"", "\"BOGUS\"", "\"closed_by_client\"", "[]"},
};

typedef struct tfield {
    const char *name;
    const char *value;
    tkind kind;
    bool required;
} tfield;

typedef struct ttemplate {
    sm_msg_type type;
    int64_t id; /* the id of the template (0 = none) */
    tfield fields[12];
} ttemplate;

#define EV_OK "{\"event\":\"OPEN\",\"session\":\"s0\",\"state\":\"ACTIVE\"}"

static const ttemplate templates[] = {
    {SM_MSG_OPEN,
     0,
     {{"principal", "\"operator\"", T_STR, true},
      {"password", "\"secret\"", T_STR, false},
      {"properties", "{\"Department\":\"Accounts\"}", T_MAP, false},
      {"clientType", "\"C\"", T_STR, false},
      {"environment", "\"C_x86_64\"", T_ENV, false}}},
    {SM_MSG_RESUME, 0, {{"sessionId", "\"s1\"", T_STR, true}, {"token", "\"t\"", T_STR, true}}},
    {SM_MSG_GET,
     17,
     {{"id", "17", T_ID, true}, {"sessionId", "\"s1\"", T_STR, true}, {"keys", "[\"*F\",\"Tier\"]", T_STRS, false}}},
    {SM_MSG_SET,
     18,
     {{"id", "18", T_ID, true},
      {"sessionId", "\"s1\"", T_STR, true},
      {"properties", "{\"Tier\":\"gold\",\"Old\":null}", T_MAP_NULLS, true}}},
    {SM_MSG_SET_BY_FILTER,
     19,
     {{"id", "19", T_ID, true},
      {"filter", "\"all\"", T_STR, true},
      {"properties", "{\"Tier\":null}", T_MAP_NULLS, true}}},
    {SM_MSG_CLOSE_SESSION, 20, {{"id", "20", T_ID, true}, {"sessionId", "\"s1\"", T_STR, true}}},
    {SM_MSG_CLOSE_BY_FILTER, 21, {{"id", "21", T_ID, true}, {"filter", "\"all\"", T_STR, true}}},
    {SM_MSG_ADD_LISTENER,
     22,
     {{"id", "22", T_ID, true},
      {"keys", "[\"*U\"]", T_STRS, false},
      {"filter", "\"all\"", T_STR, false},
      {"after", "1700000000000", T_INT, false},
      {"changedOnly", "true", T_BOOL, false}}},
    {SM_MSG_REMOVE_LISTENER, 23, {{"id", "23", T_ID, true}, {"listener", "3", T_INT, true}}},
    {SM_MSG_PING, 24, {{"id", "24", T_ID, true}}},
    {SM_MSG_CLOSE_SELF, 25, {{"id", "25", T_ID, true}}},
    {SM_MSG_HEARTBEAT_ACK, 0, {{"seq", "12", T_INT, true}}},
    {SM_MSG_OPENED,
     0,
     {{"sessionId", "\"s1\"", T_STR, true},
      {"token", "\"t\"", T_STR, true},
      {"principal", "\"operator\"", T_STR, true},
      {"roles", "\"\\\"OPERATOR\\\"\"", T_STR, true},
      {"permissions", "[\"view_session\",\"register_handler\"]", T_PERMS, true},
      {"serverName", "\"sessmond\"", T_STR, true},
      {"resumed", "false", T_BOOL, true},
      {"reconnectTimeout", "60000", T_INT, true},
      {"heartbeatInterval", "15000", T_INT, true},
      {"maxMessageBytes", "65536", T_INT, true},
      {"audited", "true", T_BOOL, false}}},
    {SM_MSG_REFUSED, 0, {{"code", "\"AUTHENTICATION_FAILED\"", T_CODE, true}, {"message", "\"no\"", T_STR, true}}},
    {SM_MSG_REPLY,
     26,
     {{"id", "26", T_ID, true}, {"op", "\"get\"", T_OP, true}, {"properties", "{\"a\":\"b\"}", T_MAP, true}}},
    {SM_MSG_REPLY,
     27,
     {{"id", "27", T_ID, true}, {"op", "\"set\"", T_OP, true}, {"changed", "{\"a\":null}", T_MAP_NULLS, true}}},
    {SM_MSG_REPLY,
     28,
     {{"id", "28", T_ID, true}, {"op", "\"set_by_filter\"", T_OP, true}, {"count", "4", T_INT, true}}},
    {SM_MSG_REPLY,
     29,
     {{"id", "29", T_ID, true}, {"op", "\"close_by_filter\"", T_OP, true}, {"count", "0", T_INT, true}}},
    {SM_MSG_REPLY,
     30,
     {{"id", "30", T_ID, true}, {"op", "\"add_listener\"", T_OP, true}, {"listener", "3", T_INT, true}}},
    {SM_MSG_REPLY, 31, {{"id", "31", T_ID, true}, {"op", "\"ping\"", T_OP, true}, {"time", "1", T_INT, true}}},
    {SM_MSG_REPLY, 32, {{"id", "32", T_ID, true}, {"op", "\"close_session\"", T_OP, true}}},
    {SM_MSG_REPLY, 33, {{"id", "33", T_ID, true}, {"op", "\"remove_listener\"", T_OP, true}}},
    {SM_MSG_REPLY, 34, {{"id", "34", T_ID, true}, {"op", "\"close_self\"", T_OP, true}}},
    {SM_MSG_ERROR,
     35,
     {{"id", "35", T_ID, false}, {"code", "\"INVALID_FILTER\"", T_CODE, true}, {"message", "\"bad\"", T_STR, true}}},
    {SM_MSG_EVENTS, 0, {{"listener", "3", T_INT, true}, {"events", "[" EV_OK "]", T_EVENTS, true}}},
    {SM_MSG_SNAPSHOT_END, 0, {{"listener", "3", T_INT, true}, {"count", "14872", T_INT, true}}},
    {SM_MSG_HEARTBEAT, 0, {{"seq", "12", T_INT, true}}},
};

/* Writes the template as JSON, leaving out field `skip` (-1: none) and using `replace` as the
 * value of field `at`. The type field goes in the middle when there are fields, so order is free. */
static void build(char *out, size_t cap, const ttemplate *t, int skip, int at, const char *replace)
{
    size_t o = (size_t)snprintf(out, cap, "{");
    bool first = true;
    int n = 0;
    while (n < 12 && t->fields[n].name)
        n++;
    for (int i = 0; i <= n; i++) {
        if (i == n / 2 + (n % 2)) {
            o += (size_t)snprintf(out + o, cap - o, "%s\"type\":\"%s\"", first ? "" : ",", sm_msg_type_name(t->type));
            first = false;
        }
        if (i == n || i == skip)
            continue;
        o += (size_t)snprintf(out + o, cap - o, "%s\"%s\":%s", first ? "" : ",", t->fields[i].name,
                              i == at ? replace : t->fields[i].value);
        first = false;
        assert_true(o < cap);
    }
    o += (size_t)snprintf(out + o, cap - o, "}");
    assert_true(o < cap);
}

static void test_templates_are_valid(void **state)
{
    (void)state;
    char json[4096];
    for (size_t ti = 0; ti < sizeof templates / sizeof templates[0]; ti++) {
        const ttemplate *t = &templates[ti];
        build(json, sizeof json, t, -1, -1, NULL);
        sm_msg m;
        expect_ok_n(json, strlen(json), &m);
        assert_int_equal(m.type, t->type);
        assert_int_equal(m.id, t->id);
        sm_msg_free(&m);
        /* every optional field may be left out */
        for (int f = 0; f < 12 && t->fields[f].name; f++) {
            if (t->fields[f].required)
                continue;
            build(json, sizeof json, t, f, -1, NULL);
            expect_ok_n(json, strlen(json), &m);
            sm_msg_free(&m);
        }
    }
}

static void test_missing_required_fields(void **state)
{
    (void)state;
    char json[4096];
    int checked = 0;
    for (size_t ti = 0; ti < sizeof templates / sizeof templates[0]; ti++) {
        const ttemplate *t = &templates[ti];
        for (int f = 0; f < 12 && t->fields[f].name; f++) {
            if (!t->fields[f].required)
                continue;
            build(json, sizeof json, t, f, -1, NULL);
            char needle[64];
            snprintf(needle, sizeof needle, "'%s' is missing", t->fields[f].name);
            bool is_id = strcmp(t->fields[f].name, "id") == 0;
            expect_fail(json, t->type, is_id ? 0 : t->id, needle);
            checked++;
        }
    }
    assert_true(checked > 40);
}

static void test_wrong_field_values(void **state)
{
    (void)state;
    char json[4096];
    int checked = 0;
    for (size_t ti = 0; ti < sizeof templates / sizeof templates[0]; ti++) {
        const ttemplate *t = &templates[ti];
        for (int f = 0; f < 12 && t->fields[f].name; f++) {
            const tfield *fd = &t->fields[f];
            bool is_id = strcmp(fd->name, "id") == 0;
            for (int w = 0; w < 16 && wrong_values[fd->kind][w]; w++) {
                const char *bad = wrong_values[fd->kind][w];
                /* an op without an extra field is only wrong if the op itself is */
                build(json, sizeof json, t, -1, f, bad);
                char needle[64];
                snprintf(needle, sizeof needle, "'%s", fd->name);
                expect_fail(json, t->type, is_id ? 0 : t->id, needle);
                checked++;
            }
        }
    }
    assert_true(checked > 300);
}

/* The fields of one event inside an `events` message. */
static const tfield event_fields[] = {
    {"event", "\"CLOSED\"", T_EVENT_NAME, true}, {"session", "\"s1\"", T_STR, true},
    {"state", "\"CLOSED\"", T_STATE, true},      {"properties", "{\"a\":\"b\"}", T_MAP, false},
    {"changed", "{\"a\":null}", T_MAP_NULLS, false}, {"reason", "\"CLOSED_BY_CLIENT\"", T_REASON, true},
    {"snapshot", "true", T_BOOL, false},
};
#define EVENT_FIELD_COUNT (sizeof event_fields / sizeof event_fields[0])

static void build_event(char *out, size_t cap, int skip, int at, const char *replace)
{
    size_t o = (size_t)snprintf(out, cap, "{\"type\":\"events\",\"listener\":9,\"events\":[" EV_OK ",{");
    bool first = true;
    for (int i = 0; i < (int)EVENT_FIELD_COUNT; i++) {
        if (i == skip)
            continue;
        o += (size_t)snprintf(out + o, cap - o, "%s\"%s\":%s", first ? "" : ",", event_fields[i].name,
                              i == at ? replace : event_fields[i].value);
        first = false;
    }
    o += (size_t)snprintf(out + o, cap - o, "}," EV_OK "]}");
    assert_true(o < cap);
}

static void test_event_fields(void **state)
{
    (void)state;
    char json[4096];
    build_event(json, sizeof json, -1, -1, NULL);
    sm_msg m;
    expect_ok_n(json, strlen(json), &m);
    assert_int_equal(m.event_count, 3);
    assert_int_equal(m.events[1].type, SM_EVENT_CLOSED);
    assert_int_equal(m.events[1].reason, SM_CLOSE_CLOSED_BY_CLIENT);
    assert_true(m.events[1].snapshot);
    assert_true(m.events[1].has_changed);
    assert_false(m.events[0].has_changed);
    sm_msg_free(&m);
    for (int f = 0; f < (int)EVENT_FIELD_COUNT; f++) {
        char needle[64];
        snprintf(needle, sizeof needle, "'events[1].%s'", event_fields[f].name);
        build_event(json, sizeof json, f, -1, NULL);
        if (event_fields[f].required)
            expect_fail(json, SM_MSG_EVENTS, 0, needle);
        else
            expect_ok(json);
        for (int w = 0; w < 16 && wrong_values[event_fields[f].kind][w]; w++) {
            build_event(json, sizeof json, -1, f, wrong_values[event_fields[f].kind][w]);
            expect_fail(json, SM_MSG_EVENTS, 0, needle);
        }
    }
}

static void test_event_reason_only_for_closed(void **state)
{
    (void)state;
    /* reason on another event is an ignored extra field, whatever it holds */
    sm_msg m;
    const char *j = "{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"DISCONNECTED\",\"session\":\"s\","
                    "\"state\":\"DISCONNECTED\",\"reason\":\"BOGUS\"}]}";
    expect_ok_n(j, strlen(j), &m);
    assert_int_equal(m.events[0].reason, SM_CLOSE_NONE);
    sm_msg_free(&m);
    expect_fail("{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"CLOSED\",\"session\":\"s\","
                "\"state\":\"CLOSED\"}]}",
                SM_MSG_EVENTS, 0, "'events[0].reason' is missing");
    expect_fail("{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"CLOSED\",\"session\":\"s\","
                "\"state\":\"CLOSED\",\"reason\":\"NONE\"}]}",
                SM_MSG_EVENTS, 0, "unknown close reason");
    expect_fail("{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"OPEN\",\"event\":\"OPEN\","
                "\"session\":\"s\",\"state\":\"ACTIVE\"}]}",
                SM_MSG_EVENTS, 0, "twice");
    /* every event type and state by name */
    for (int e = 1; e < SM_EVENT_TYPE_COUNT; e++) {
        for (int s = 1; s < SM_STATE_COUNT; s++) {
            char json[512];
            snprintf(json, sizeof json,
                     "{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"%s\",\"session\":\"x\","
                     "\"state\":\"%s\",\"reason\":\"ABORTED\"}]}",
                     sm_event_type_name((sm_event_type)e), sm_state_name((sm_session_state)s));
            expect_ok_n(json, strlen(json), &m);
            assert_int_equal(m.events[0].type, e);
            assert_int_equal(m.events[0].state, s);
            assert_int_equal(m.events[0].reason, e == SM_EVENT_CLOSED ? SM_CLOSE_ABORTED : SM_CLOSE_NONE);
            sm_msg_free(&m);
        }
    }
}

/* ---- whole-message failures ----------------------------------------------------------------- */

static void test_type_and_id_reported_on_failure(void **state)
{
    (void)state;
    expect_fail("{\"type\":\"get\",\"id\":7}", SM_MSG_GET, 7, "'sessionId' is missing");
    expect_fail("{\"id\":7,\"type\":\"get\",\"sessionId\":5}", SM_MSG_GET, 7, "'sessionId' must be a string");
    expect_fail("{\"type\":\"bogus\",\"id\":9}", SM_MSG_NONE, 9, "unknown message type \"bogus\"");
    expect_fail("{\"id\":9}", SM_MSG_NONE, 9, "'type' is missing");
    expect_fail("{\"id\":9,\"type\":5}", SM_MSG_NONE, 9, "'type' must be a string");
    expect_fail("{\"id\":9,\"type\":null}", SM_MSG_NONE, 9, "'type' must be a string");
    expect_fail("{\"type\":\"PING\",\"id\":9}", SM_MSG_NONE, 9, "unknown message type");
    /* an unreadable id is not reported */
    expect_fail("{\"type\":\"bogus\",\"id\":-9}", SM_MSG_NONE, 0, "unknown");
    expect_fail("{\"type\":\"bogus\",\"id\":\"9\"}", SM_MSG_NONE, 0, "unknown");
    /* types without an id never report one */
    expect_fail("{\"type\":\"heartbeat\",\"id\":4,\"seq\":\"x\"}", SM_MSG_HEARTBEAT, 0, "'seq'");
    expect_fail("{\"type\":\"set\",\"id\":3,\"sessionId\":\"s\",\"properties\":{\"a\":1}}", SM_MSG_SET, 3,
                "'properties'");
    /* a duplicated field is an error, but type and the first id are still reported */
    expect_fail("{\"type\":\"ping\",\"id\":1,\"id\":2}", SM_MSG_PING, 1, "'id' appears twice");
    expect_fail("{\"type\":\"ping\",\"type\":\"get\",\"id\":1}", SM_MSG_PING, 1, "'type' appears twice");
}

static void test_unknown_fields_ignored(void **state)
{
    (void)state;
    sm_msg m;
    const char *j = "{\"future\":{\"a\":[1,2,{\"b\":null}]},\"type\":\"ping\",\"x\":\"\",\"id\":1,\"Type\":5,"
                    "\"ID\":\"x\",\"sessionId\":5,\"events\":7}";
    expect_ok_n(j, strlen(j), &m);
    assert_int_equal(m.type, SM_MSG_PING);
    assert_int_equal(m.id, 1);
    assert_null(m.session_id);
    assert_int_equal(m.event_count, 0);
    sm_msg_free(&m);
    /* an extra field on an event, and a reply field that does not belong to its op */
    expect_ok("{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"OPEN\",\"session\":\"s\","
              "\"state\":\"ACTIVE\",\"colour\":[1]}]}");
    expect_ok("{\"type\":\"reply\",\"id\":1,\"op\":\"ping\",\"time\":5,\"count\":\"x\"}");
}

static void test_not_an_object_and_invalid_json(void **state)
{
    (void)state;
    const char *not_object[] = {"[]", "\"ping\"", "5", "null", "true", "[{\"type\":\"ping\",\"id\":1}]"};
    for (size_t i = 0; i < sizeof not_object / sizeof not_object[0]; i++)
        expect_fail(not_object[i], SM_MSG_NONE, 0, "not a JSON object");
    const char *bad[] = {
        "",
        " ",
        "{",
        "}",
        "{\"type\":\"ping\",\"id\":1,}",
        "{\"type\":\"ping\" \"id\":1}",
        "{'type':'ping','id':1}",
        "{type:\"ping\",\"id\":1}",
        "{\"type\":\"ping\",\"id\":1}}",
        "{\"type\":\"ping\",\"id\":1} x",
        "{\"type\":\"ping\",\"id\":1}{}",
        "{\"type\":\"ping\",\"id\":NaN}",
        "{\"type\":\"ping\",\"id\":Infinity}",
        "{\"type\":\"ping\",\"id\":0x10}",
        "{\"type\":\"ping\",\"id\":1,\"x\":\"\\q\"}",
        "{\"type\":\"ping\",\"id\":1,\"x\":\"\\u12\"}",
        "{\"type\":\"ping\",\"id\":1,\"x\":\"unterminated}",
        "{\"type\":\"ping\",\"id\":1,\"x\":[1,2}",
        "{\"type\":\"ping\",\"id\":1,\"x\":tru}",
        "{\"type\":\"ping\",\"id\":1,\"x\":\"\\",
        "\xef\xbb\xbf",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fail(bad[i], SM_MSG_NONE, 0, NULL);
    /* trailing whitespace is fine */
    expect_ok("{\"type\":\"ping\",\"id\":1} \t\r\n");
    expect_ok(" \n{\"type\":\"ping\",\"id\":1}");
    /* NULL input */
    sm_msg m;
    sm_error err;
    assert_int_equal(sm_msg_decode(NULL, 0, 0, &m, &err), SM_ERR_INVALID);
    sm_msg_free(&m);
    assert_int_equal(sm_msg_decode("{}", 2, 0, NULL, &err), SM_ERR_INVALID);
    assert_int_equal(sm_msg_decode("{}", 2, 0, &m, NULL), SM_ERR_INVALID); /* err is optional */
    sm_msg_free(&m);
}

static void test_every_truncation_fails(void **state)
{
    (void)state;
    const char *samples[] = {
        "{\"type\":\"open\",\"principal\":\"operator\",\"password\":\"s\\\"e\",\"properties\":{\"D\":\"A\","
        "\"T\":\"g\\u00e9\"},\"clientType\":\"C\",\"environment\":\"x\"}",
        "{\"type\":\"events\",\"listener\":3,\"events\":[{\"event\":\"PROPERTIES\",\"session\":\"s\",\"state\":"
        "\"ACTIVE\",\"properties\":{\"Tier\":\"gold\"},\"changed\":{\"Tier\":\"silver\",\"R\":null}},{\"event\":"
        "\"CLOSED\",\"session\":\"t\",\"state\":\"CLOSED\",\"reason\":\"CLOSED_BY_CONTROLLER\",\"snapshot\":false}]}",
        "{\"type\":\"reply\",\"id\":7,\"op\":\"get\",\"properties\":{\"a\":\"\\ud83d\\ude00\"}}",
        "{\"type\":\"opened\",\"sessionId\":\"s\",\"token\":\"t\",\"principal\":\"p\",\"roles\":\"\",\"permissions\":"
        "[\"view_session\"],\"serverName\":\"n\",\"resumed\":true,\"reconnectTimeout\":1,\"heartbeatInterval\":2,"
        "\"maxMessageBytes\":3}",
    };
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
        size_t len = strlen(samples[s]);
        expect_ok(samples[s]);
        for (size_t cut = 0; cut < len; cut++) {
            /* a heap copy of exactly cut bytes, so the sanitizer catches any read past the end */
            char *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, samples[s], cut);
            sm_msg m;
            sm_error err;
            assert_int_not_equal(sm_msg_decode(copy, cut, 0, &m, &err), SM_OK);
            sm_msg_free(&m);
            free(copy);
        }
    }
}

static void test_size_limit(void **state)
{
    (void)state;
    const char *j = "{\"type\":\"ping\",\"id\":1}";
    size_t len = strlen(j);
    sm_msg m;
    sm_error err;
    assert_int_equal(sm_msg_decode(j, len, len, &m, &err), SM_OK);
    sm_msg_free(&m);
    expect_fail_n(j, len, len - 1, SM_ERR_LIMIT, SM_MSG_NONE, 0, "limit");
    assert_int_equal(sm_msg_decode(j, len, 0, &m, &err), SM_OK); /* 0 = no limit */
    sm_msg_free(&m);
    /* the limit is checked before anything is parsed: garbage over the limit is still LIMIT */
    expect_fail_n("xxxxxxxxxx", 10, 5, SM_ERR_LIMIT, SM_MSG_NONE, 0, "10 bytes");
}

static void test_nul_escape_and_raw_nul_refused(void **state)
{
    (void)state;
    /* The escape is refused after type and id are read, so the error can carry the id. */
    expect_fail("{\"type\":\"get\",\"id\":5,\"sessionId\":\"a\\u0000b\"}", SM_MSG_GET, 5, "\\u0000");
    expect_fail("{\"type\":\"ping\",\"id\":1,\"unknown\":\"\\u0000\"}", SM_MSG_PING, 1, "\\u0000");
    expect_fail("{\"type\":\"set\",\"id\":7,\"sessionId\":\"s\",\"properties\":{\"k\\u0000\":\"v\"}}", SM_MSG_SET, 7,
                "\\u0000");
    expect_fail("{\"id\":3,\"type\":\"set\",\"sessionId\":\"s\",\"properties\":{\"k\":\"v\\u0000\"}}", SM_MSG_SET, 3,
                "\\u0000");
    /* A cut type name could read as a known type: refused all the same. */
    expect_fail("{\"type\":\"ping\\u0000\",\"id\":1}", SM_MSG_PING, 1, "\\u0000");
    expect_fail("{\"type\":\"pi\\u0000ng\",\"id\":1}", SM_MSG_NONE, 1, "\\u0000");
    static const char raw[] = "{\"type\":\"get\",\"id\":1,\"sessionId\":\"a\0b\"}";
    expect_fail_n(raw, sizeof raw - 1, 0, SM_ERR_INVALID, SM_MSG_NONE, 0, "NUL");
    /* an escaped backslash followed by u0000 is the literal text \u0000, which is allowed */
    sm_msg m;
    const char *lit = "{\"type\":\"get\",\"id\":1,\"sessionId\":\"a\\\\u0000b\"}";
    expect_ok_n(lit, strlen(lit), &m);
    assert_string_equal(m.session_id, "a\\u0000b");
    sm_msg_free(&m);
    const char *lit2 = "{\"type\":\"get\",\"id\":1,\"sessionId\":\"\\\\\\\\\\u0041\"}";
    expect_ok_n(lit2, strlen(lit2), &m);
    assert_string_equal(m.session_id, "\\\\A");
    sm_msg_free(&m);
    /* other escapes decode normally; \u001b becomes a raw ESC (callers sanitise for terminals) */
    const char *esc = "{\"type\":\"get\",\"id\":1,\"sessionId\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\u001b\\n\"}";
    expect_ok_n(esc, strlen(esc), &m);
    assert_string_equal(m.session_id, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x1b\n");
    sm_msg_free(&m);
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    const char *bad_bytes[] = {
        "\xff",         "\xfe",         "\x80",         "\xc0\x80",     "\xc1\xbf",     "\xe0\x80\x80",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98",
        "\xc3",         "a\xc3(",       "\xf8\x88\x80\x80\x80",
    };
    char json[256];
    for (size_t i = 0; i < sizeof bad_bytes / sizeof bad_bytes[0]; i++) {
        snprintf(json, sizeof json, "{\"type\":\"get\",\"id\":4,\"sessionId\":\"%s\"}", bad_bytes[i]);
        expect_fail(json, SM_MSG_GET, 4, "UTF-8");
        snprintf(json, sizeof json, "{\"type\":\"set\",\"id\":4,\"sessionId\":\"s\",\"properties\":{\"%s\":\"v\"}}",
                 bad_bytes[i]);
        expect_fail(json, SM_MSG_SET, 4, "UTF-8");
        snprintf(json, sizeof json, "{\"type\":\"get\",\"id\":4,\"sessionId\":\"s\",\"keys\":[\"a\",\"%s\"]}",
                 bad_bytes[i]);
        expect_fail(json, SM_MSG_GET, 4, "UTF-8");
        snprintf(json, sizeof json,
                 "{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"OPEN\",\"session\":\"%s\","
                 "\"state\":\"ACTIVE\"}]}",
                 bad_bytes[i]);
        expect_fail(json, SM_MSG_EVENTS, 0, "UTF-8");
        snprintf(json, sizeof json, "{\"type\":\"error\",\"code\":\"INTERNAL_ERROR\",\"message\":\"x%sy\"}",
                 bad_bytes[i]);
        expect_fail(json, SM_MSG_ERROR, 0, "UTF-8");
        /* in the type name itself: reported as unknown, with the bytes escaped in the message */
        snprintf(json, sizeof json, "{\"type\":\"%s\",\"id\":4}", bad_bytes[i]);
        expect_fail(json, SM_MSG_NONE, 4, "unknown message type");
    }
    /* valid multi-byte text at the edges of the ranges is accepted */
    sm_msg m;
    const char *good = "{\"type\":\"get\",\"id\":4,\"sessionId\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
                       "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}";
    expect_ok_n(good, strlen(good), &m);
    sm_msg_free(&m);
}

static void test_lone_surrogate_escapes_refused(void **state)
{
    (void)state;
    const char *escapes[] = {"\\ud800", "\\udc00", "\\udfff", "\\ud800\\u0041", "\\udbff", "\\ud800\\ud800",
                             "\\ude00\\ud83d", "x\\ud83d"};
    char json[256];
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        snprintf(json, sizeof json, "{\"type\":\"get\",\"id\":4,\"sessionId\":\"%s\"}", escapes[i]);
        sm_msg m;
        sm_error err;
        assert_int_equal(sm_msg_decode(json, strlen(json), 0, &m, &err), SM_ERR_INVALID);
        sm_msg_free(&m);
        snprintf(json, sizeof json, "{\"type\":\"set\",\"id\":4,\"sessionId\":\"s\",\"properties\":{\"%s\":null}}",
                 escapes[i]);
        assert_int_equal(sm_msg_decode(json, strlen(json), 0, &m, &err), SM_ERR_INVALID);
        sm_msg_free(&m);
    }
}

static void test_integer_edges(void **state)
{
    (void)state;
    sm_msg m;
    const char *max = "{\"type\":\"ping\",\"id\":9007199254740991}";
    expect_ok_n(max, strlen(max), &m);
    assert_int_equal(m.id, SM_INT_MAX_JSON);
    sm_msg_free(&m);
    /* a number's value counts, not its spelling */
    const char *spelled[] = {"1.0", "1e0", "0.1e1", "10E-1"};
    for (size_t i = 0; i < sizeof spelled / sizeof spelled[0]; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"type\":\"ping\",\"id\":%s}", spelled[i]);
        expect_ok_n(json, strlen(json), &m);
        assert_int_equal(m.id, 1);
        sm_msg_free(&m);
    }
    const char *zero = "{\"type\":\"heartbeat\",\"seq\":0}";
    expect_ok_n(zero, strlen(zero), &m);
    assert_int_equal(m.seq, 0);
    sm_msg_free(&m);
    expect_fail("{\"type\":\"ping\",\"id\":9007199254740993}", SM_MSG_PING, 0, "between 1 and 9007199254740991");
    expect_fail("{\"type\":\"heartbeat\",\"seq\":-1}", SM_MSG_HEARTBEAT, 0, "between 0 and");
    expect_fail("{\"type\":\"heartbeat\",\"seq\":"
                "1000000000000000000000000000000000000000000000000000000000000000000000000}",
                SM_MSG_HEARTBEAT, 0, "'seq'");
    /* error.id, when present, follows the same rule as request ids */
    expect_fail("{\"type\":\"error\",\"id\":0,\"code\":\"INTERNAL_ERROR\",\"message\":\"x\"}", SM_MSG_ERROR, 0,
                "'id'");
}

static void test_duplicate_map_keys(void **state)
{
    (void)state;
    expect_fail("{\"type\":\"set\",\"id\":1,\"sessionId\":\"s\",\"properties\":{\"a\":\"1\",\"b\":null,\"a\":null}}",
                SM_MSG_SET, 1, "key \"a\" twice");
    /* a map big enough for the sorting check */
    char json[8192];
    size_t o = (size_t)snprintf(json, sizeof json, "{\"type\":\"set\",\"id\":1,\"sessionId\":\"s\",\"properties\":{");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(json + o, sizeof json - o, "%s\"k%03d\":\"v\"", i ? "," : "", i);
    size_t end = o;
    snprintf(json + end, sizeof json - end, "}}");
    sm_msg m;
    expect_ok_n(json, strlen(json), &m);
    assert_int_equal(m.properties.count, 200);
    assert_string_equal(m.properties.items[199].key, "k199");
    sm_msg_free(&m);
    snprintf(json + end, sizeof json - end, ",\"k117\":\"again\"}}");
    expect_fail(json, SM_MSG_SET, 1, "key \"k117\" twice");
    /* case differs: two keys */
    expect_ok("{\"type\":\"set\",\"id\":1,\"sessionId\":\"s\",\"properties\":{\"a\":\"1\",\"A\":\"2\"}}");
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* cJSON refuses more than 1000 levels; below that an ignored field may nest deeply */
    size_t depths[] = {10, 900, 999, 1000, 1001, 5000, 100000};
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        size_t depth = depths[d];
        size_t cap = 128 + 2 * depth;
        char *json = malloc(cap);
        assert_non_null(json);
        size_t o = (size_t)snprintf(json, cap, "{\"type\":\"ping\",\"id\":1,\"x\":");
        memset(json + o, '[', depth);
        o += depth;
        memset(json + o, ']', depth);
        o += depth;
        json[o++] = '}';
        sm_msg m;
        sm_error err;
        int rc = sm_msg_decode(json, o, 0, &m, &err);
        if (depth + 1 <= 1000)
            assert_int_equal(rc, SM_OK);
        else if (depth > 1001)
            assert_int_equal(rc, SM_ERR_INVALID);
        sm_msg_free(&m);
        /* the same nesting where a string belongs is always an error */
        o = (size_t)snprintf(json, cap, "{\"type\":\"set\",\"id\":1,\"sessionId\":\"s\",\"properties\":{\"k\":");
        size_t inner = depth > 2000 ? 2000 : depth;
        memset(json + o, '[', inner);
        o += inner;
        memset(json + o, ']', inner);
        o += inner;
        json[o++] = '}';
        json[o++] = '}';
        assert_true(o <= cap);
        assert_int_equal(sm_msg_decode(json, o, 0, &m, &err), SM_ERR_INVALID);
        sm_msg_free(&m);
        free(json);
    }
}

static void test_error_messages_quote_untrusted_text_safely(void **state)
{
    (void)state;
    expect_fail("{\"type\":\"\\u001b[2J\\u0007\",\"id\":1}", SM_MSG_NONE, 1, "\\x1b[2J\\x07");
    expect_fail("{\"type\":\"reply\",\"id\":1,\"op\":\"\xe2\x82\xac\"}", SM_MSG_REPLY, 1, "\\xe2\\x82\\xac");
    /* very long names are cut */
    char json[2048];
    char name[1001];
    memset(name, 'n', 1000);
    name[1000] = '\0';
    snprintf(json, sizeof json, "{\"type\":\"%s\"}", name);
    sm_msg m;
    sm_error err;
    assert_int_equal(sm_msg_decode(json, strlen(json), 0, &m, &err), SM_ERR_INVALID);
    assert_non_null(strstr(err.message, "..."));
    assert_true(strlen(err.message) < 120);
    sm_msg_free(&m);
}

static void test_properties_map_rules(void **state)
{
    (void)state;
    /* open properties: no nulls; set/set_by_filter: nulls delete; reply(get): no nulls; reply(set).changed: nulls */
    expect_fail("{\"type\":\"open\",\"principal\":\"\",\"properties\":{\"a\":null}}", SM_MSG_OPEN, 0, "'properties'");
    expect_ok("{\"type\":\"open\",\"principal\":\"\",\"properties\":{}}");
    expect_ok("{\"type\":\"set_by_filter\",\"id\":1,\"filter\":\"all\",\"properties\":{\"a\":null}}");
    expect_fail("{\"type\":\"reply\",\"id\":1,\"op\":\"get\",\"properties\":{\"a\":null}}", SM_MSG_REPLY, 1,
                "'properties'");
    expect_ok("{\"type\":\"reply\",\"id\":1,\"op\":\"set\",\"changed\":{\"a\":null}}");
    expect_fail("{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"OPEN\",\"session\":\"s\","
                "\"state\":\"ACTIVE\",\"properties\":{\"a\":null}}]}",
                SM_MSG_EVENTS, 0, "'events[0].properties'");
    sm_msg m;
    const char *j = "{\"type\":\"events\",\"listener\":1,\"events\":[{\"event\":\"PROPERTIES\",\"session\":\"s\","
                    "\"state\":\"ACTIVE\",\"properties\":{},\"changed\":{}}]}";
    expect_ok_n(j, strlen(j), &m);
    assert_int_equal(m.events[0].properties.count, 0);
    assert_true(m.events[0].has_changed);
    assert_int_equal(m.events[0].changed.count, 0);
    sm_msg_free(&m);
    const char *p = "{\"type\":\"opened\",\"sessionId\":\"s\",\"token\":\"t\",\"principal\":\"p\",\"roles\":\"\","
                    "\"permissions\":[\"view_session\",\"view_session\",\"modify_session\"],\"serverName\":\"n\","
                    "\"resumed\":true,\"reconnectTimeout\":1,\"heartbeatInterval\":2,\"maxMessageBytes\":3}";
    expect_ok_n(p, strlen(p), &m);
    assert_int_equal(m.permissions, SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION);
    assert_true(m.resumed);
    assert_false(m.audited); /* a server from before "audited": not audited */
    sm_msg_free(&m);
    const char *q = "{\"type\":\"opened\",\"sessionId\":\"s\",\"token\":\"t\",\"principal\":\"p\",\"roles\":\"\","
                    "\"permissions\":[],\"serverName\":\"n\",\"resumed\":false,\"reconnectTimeout\":1,"
                    "\"heartbeatInterval\":2,\"maxMessageBytes\":3,\"audited\":true}";
    expect_ok_n(q, strlen(q), &m);
    assert_true(m.audited);
    sm_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates_are_valid),
        cmocka_unit_test(test_missing_required_fields),
        cmocka_unit_test(test_wrong_field_values),
        cmocka_unit_test(test_event_fields),
        cmocka_unit_test(test_event_reason_only_for_closed),
        cmocka_unit_test(test_type_and_id_reported_on_failure),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_not_an_object_and_invalid_json),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_nul_escape_and_raw_nul_refused),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_lone_surrogate_escapes_refused),
        cmocka_unit_test(test_integer_edges),
        cmocka_unit_test(test_duplicate_map_keys),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_error_messages_quote_untrusted_text_safely),
        cmocka_unit_test(test_properties_map_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
