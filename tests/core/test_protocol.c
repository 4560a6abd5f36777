/* Unit tests of the protocol codec: name tables, encode -> decode round trips of every message type, encoder errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/protocol.h"
#include "protocol_compare.h"

#define HEADROOM 16

/* Text exercising the escaper and the UTF-8 checks: quotes, backslash, controls, 2/3/4-byte UTF-8. */
#define NASTY "q\"b\\s/\t\n\r\b\f\x01\x1f\x7f h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"

/* Encodes in, checks the text is one JSON object, decodes it and compares every field. */
static void roundtrip(const sm_msg *in)
{
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_msg_encode(in, &b), SM_OK);
    assert_false(b.overflow);
    const char *text = sm_buf_payload(&b);
    assert_int_equal(strlen(text), b.len);
    cJSON *j = cJSON_ParseWithLength(text, b.len);
    assert_non_null(j);
    assert_true(cJSON_IsObject(j));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "type")->valuestring, sm_msg_type_name(in->type));
    cJSON_Delete(j);

    sm_msg out;
    sm_error err;
    int rc = sm_msg_decode(text, b.len, 0, &out, &err);
    if (rc != SM_OK)
        fail_msg("decode of %s failed: %s", text, err.message);
    char why[128];
    if (!sm_test_msg_equal(in, &out, why, sizeof why))
        fail_msg("round trip of %s: %s", text, why);

    /* re-encoding the decoded message gives the same bytes */
    sm_buf b2;
    sm_buf_init(&b2, 0, 0);
    assert_int_equal(sm_msg_encode(&out, &b2), SM_OK);
    assert_string_equal(sm_buf_payload(&b2), text);
    sm_buf_free(&b2);
    sm_msg_free(&out);
    sm_buf_free(&b);
}

static sm_msg msg(sm_msg_type t)
{
    sm_msg m;
    memset(&m, 0, sizeof m);
    m.type = t;
    return m;
}

static void test_names_round_trip(void **state)
{
    (void)state;
    static const char *const types[] = {
        NULL,          "open",           "resume",          "get",          "set",          "set_by_filter",
        "close_session", "close_by_filter", "add_listener", "remove_listener", "ping",      "close_self",
        "heartbeat_ack", "opened",        "refused",         "reply",        "error",        "events",
        "snapshot_end",  "heartbeat",
    };
    assert_int_equal(sizeof types / sizeof types[0], SM_MSG_TYPE_COUNT);
    for (int t = 1; t < SM_MSG_TYPE_COUNT; t++) {
        assert_string_equal(sm_msg_type_name((sm_msg_type)t), types[t]);
        assert_int_equal(sm_msg_type_from_name(types[t]), t);
    }
    static const char *const codes[] = {NULL,           "ACCESS_DENIED",   "NO_SUCH_SESSION",
                                        "NO_SUCH_LISTENER", "INVALID_FILTER", "INVALID_PROPERTY",
                                        "LIMIT_EXCEEDED", "INVALID_REQUEST", "AUTHENTICATION_FAILED",
                                        "INTERNAL_ERROR", "CLUSTER_UNAVAILABLE"};
    assert_int_equal(sizeof codes / sizeof codes[0], SM_CODE_COUNT);
    for (int c = 1; c < SM_CODE_COUNT; c++) {
        assert_string_equal(sm_errcode_name((sm_errcode)c), codes[c]);
        assert_int_equal(sm_errcode_from_name(codes[c]), c);
    }
    static const char *const reasons[] = {NULL,
                                          "CLOSED_BY_CLIENT",
                                          "CLOSED_BY_CONTROLLER",
                                          "CONNECTION_LOST",
                                          "CLIENT_UNRESPONSIVE",
                                          "MESSAGE_QUEUE_LIMIT_REACHED",
                                          "MESSAGE_TOO_LARGE",
                                          "INVALID_INBOUND_MESSAGE",
                                          "SERVER_CLOSING",
                                          "INTERNAL_ERROR",
                                          "ABORTED"};
    assert_int_equal(sizeof reasons / sizeof reasons[0], SM_CLOSE_REASON_COUNT);
    for (int r = 1; r < SM_CLOSE_REASON_COUNT; r++) {
        assert_string_equal(sm_close_reason_name((sm_close_reason)r), reasons[r]);
        assert_int_equal(sm_close_reason_from_name(reasons[r]), r);
    }
    static const char *const states[] = {NULL, "ACTIVE", "DISCONNECTED", "CLOSED"};
    assert_int_equal(sizeof states / sizeof states[0], SM_STATE_COUNT);
    for (int s = 1; s < SM_STATE_COUNT; s++) {
        assert_string_equal(sm_state_name((sm_session_state)s), states[s]);
        assert_int_equal(sm_state_from_name(states[s]), s);
    }
    static const char *const events[] = {NULL,          "OPEN",   "PROPERTIES",   "DISCONNECTED", "RECONNECTED",
                                         "FAILED_OVER", "CLOSED", "FILTER_ENTER", "FILTER_LEAVE"};
    assert_int_equal(sizeof events / sizeof events[0], SM_EVENT_TYPE_COUNT);
    for (int e = 1; e < SM_EVENT_TYPE_COUNT; e++) {
        assert_string_equal(sm_event_type_name((sm_event_type)e), events[e]);
        assert_int_equal(sm_event_type_from_name(events[e]), e);
    }
    assert_string_equal(sm_permission_name(SM_PERM_VIEW_SESSION), "view_session");
    assert_string_equal(sm_permission_name(SM_PERM_MODIFY_SESSION), "modify_session");
    assert_string_equal(sm_permission_name(SM_PERM_REGISTER_HANDLER), "register_handler");
    assert_int_equal(sm_permission_from_name("view_session"), SM_PERM_VIEW_SESSION);
    assert_int_equal(sm_permission_from_name("modify_session"), SM_PERM_MODIFY_SESSION);
    assert_int_equal(sm_permission_from_name("register_handler"), SM_PERM_REGISTER_HANDLER);
}

static void test_names_out_of_range_and_unknown(void **state)
{
    (void)state;
    assert_null(sm_msg_type_name(SM_MSG_NONE));
    assert_null(sm_msg_type_name(SM_MSG_TYPE_COUNT));
    assert_null(sm_msg_type_name((sm_msg_type)-1));
    assert_null(sm_errcode_name(SM_CODE_NONE));
    assert_null(sm_errcode_name(SM_CODE_COUNT));
    assert_null(sm_close_reason_name(SM_CLOSE_NONE));
    assert_null(sm_close_reason_name(SM_CLOSE_REASON_COUNT));
    assert_null(sm_state_name(SM_STATE_NONE));
    assert_null(sm_state_name(SM_STATE_COUNT));
    assert_null(sm_event_type_name(SM_EVENT_NONE));
    assert_null(sm_event_type_name(SM_EVENT_TYPE_COUNT));
    assert_null(sm_permission_name(0));
    assert_null(sm_permission_name(SM_PERM_VIEW_SESSION | SM_PERM_MODIFY_SESSION));
    assert_null(sm_permission_name(1u << 3));

    const char *bad[] = {NULL, "", "x", "OPEN ", "Open", "open\n", "ping2", "CLOSED_BY"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sm_event_type_from_name(bad[i]), SM_EVENT_NONE);
        assert_int_equal(sm_msg_type_from_name(bad[i]), SM_MSG_NONE);
        assert_int_equal(sm_errcode_from_name(bad[i]), SM_CODE_NONE);
        assert_int_equal(sm_close_reason_from_name(bad[i]), SM_CLOSE_NONE);
        assert_int_equal(sm_state_from_name(bad[i]), SM_STATE_NONE);
        assert_int_equal(sm_permission_from_name(bad[i]), 0);
    }
    /* names are case-sensitive */
    assert_int_equal(sm_msg_type_from_name("PING"), SM_MSG_NONE);
    assert_int_equal(sm_state_from_name("active"), SM_STATE_NONE);
    assert_int_equal(sm_event_type_from_name("open"), SM_EVENT_NONE);
}

static void test_close_reason_ws_codes(void **state)
{
    (void)state;
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_CLOSED_BY_CLIENT), 1000);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_CLOSED_BY_CONTROLLER), 1000);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_SERVER_CLOSING), 1001);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED), 1008);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_CLIENT_UNRESPONSIVE), 1008);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_INVALID_INBOUND_MESSAGE), 1008);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_MESSAGE_TOO_LARGE), 1009);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_INTERNAL_ERROR), 1011);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_CONNECTION_LOST), 1001);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_ABORTED), 1001);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_NONE), 1011);
    assert_int_equal(sm_close_reason_ws_code(SM_CLOSE_REASON_COUNT), 1011);
}

static sm_kv props_nasty[] = {
    {"Department", "Accounts"}, {"Tier", "gold"}, {"k\xc3\xa9y", NASTY}, {"empty", ""}, {"q\"k\\", "v"},
};
static sm_kv props_with_nulls[] = {{"Tier", "silver"}, {"Region", NULL}, {"x", ""}, {"\xe2\x82\xac", NULL}};

static void test_roundtrip_open(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_OPEN);
    m.principal = "";
    roundtrip(&m); /* anonymous, nothing optional */
    m.principal = "operator";
    m.password = "s\"cr\\et\n" NASTY;
    m.properties = (sm_kvs){props_nasty, 5};
    m.client_type = "C";
    m.environment = "C_x86_64_gcc:12.2";
    roundtrip(&m);
    m.password = "";
    m.client_type = "";
    char env[257];
    memset(env, 'e', 256);
    env[256] = '\0';
    m.environment = env; /* exactly the limit */
    roundtrip(&m);
}

static void test_roundtrip_resume(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_RESUME);
    m.session_id = "5f1c09a2-0000002a";
    m.token = "3b8e0123456789abcdef0123456789ab";
    roundtrip(&m);
    m.session_id = "";
    m.token = NASTY;
    roundtrip(&m);
}

static void test_roundtrip_get(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_GET);
    m.id = 1;
    m.session_id = "s1";
    roundtrip(&m); /* keys absent */
    const char *keys[] = {"*F", "*U", "Tier", NASTY, ""};
    m.has_keys = true;
    m.keys = (sm_strs){keys, 5};
    m.id = SM_INT_MAX_JSON;
    roundtrip(&m);
    m.keys = (sm_strs){NULL, 0}; /* present but empty */
    roundtrip(&m);
}

static void test_roundtrip_set(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_SET);
    m.id = 2;
    m.session_id = "s1";
    roundtrip(&m); /* empty map */
    m.properties = (sm_kvs){props_with_nulls, 4};
    roundtrip(&m);
    m.properties = (sm_kvs){props_nasty, 5};
    roundtrip(&m);
}

static void test_roundtrip_set_by_filter(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_SET_BY_FILTER);
    m.id = 3;
    m.filter = "Department is 'Accounts' and $Principal ne \"x\\y\"";
    m.properties = (sm_kvs){props_with_nulls, 4};
    roundtrip(&m);
    m.properties = (sm_kvs){NULL, 0};
    m.filter = "";
    roundtrip(&m);
}

static void test_roundtrip_close_session_and_by_filter(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_CLOSE_SESSION);
    m.id = 4;
    m.session_id = "5f1c09a2-0000002b";
    roundtrip(&m);
    m = msg(SM_MSG_CLOSE_BY_FILTER);
    m.id = 5;
    m.filter = "all";
    roundtrip(&m);
}

static void test_roundtrip_add_remove_listener(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_ADD_LISTENER);
    m.id = 6;
    roundtrip(&m); /* nothing optional */
    const char *keys[] = {"*F", "Tier"};
    m.has_keys = true;
    m.keys = (sm_strs){keys, 2};
    m.filter = "Tier is 'gold'";
    m.has_after = true;
    m.after = 0;
    roundtrip(&m);
    m.after = SM_INT_MAX_JSON;
    m.keys = (sm_strs){NULL, 0};
    roundtrip(&m);
    m.has_keys = false;
    m.filter = NULL;
    m.after = 1700000000123;
    roundtrip(&m);
    m.changed_only = true;
    roundtrip(&m);
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    sm_buf_putc(&b, '\0');
    assert_non_null(strstr(sm_buf_payload(&b), "\"changedOnly\":true"));
    sm_buf_free(&b);

    m = msg(SM_MSG_REMOVE_LISTENER);
    m.id = 7;
    m.listener = 0;
    roundtrip(&m);
    m.listener = SM_INT_MAX_JSON;
    roundtrip(&m);
}

static void test_roundtrip_ping_close_self_heartbeats(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_PING);
    m.id = 1;
    roundtrip(&m);
    m.id = SM_INT_MAX_JSON;
    roundtrip(&m);
    m = msg(SM_MSG_CLOSE_SELF);
    m.id = 99;
    roundtrip(&m);
    m = msg(SM_MSG_HEARTBEAT_ACK);
    m.seq = 0;
    roundtrip(&m);
    m.seq = SM_INT_MAX_JSON;
    roundtrip(&m);
    m = msg(SM_MSG_HEARTBEAT);
    m.seq = 12;
    roundtrip(&m);
}

static void test_roundtrip_opened(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_OPENED);
    m.session_id = "5f1c09a2-0000002a";
    m.token = "3b8e";
    m.principal = "operator";
    m.roles = "\"OPERATOR\",\"ADMIN\"";
    m.server_name = "sessmond";
    m.reconnect_timeout = 60000;
    m.heartbeat_interval = 15000;
    m.max_message_bytes = 65536;
    for (unsigned p = 0; p <= SM_PERM_ALL; p++) {
        m.permissions = p;
        m.resumed = p & 1;
        m.audited = p & 2;
        roundtrip(&m);
    }
    m.principal = "";
    m.roles = "";
    m.reconnect_timeout = 0;
    m.heartbeat_interval = SM_INT_MAX_JSON;
    m.max_message_bytes = 0;
    roundtrip(&m);
}

static void test_roundtrip_refused_and_error(void **state)
{
    (void)state;
    for (int c = 1; c < SM_CODE_COUNT; c++) {
        sm_msg m = msg(SM_MSG_REFUSED);
        m.code = (sm_errcode)c;
        m.message = "bad principal or password";
        roundtrip(&m);
        m = msg(SM_MSG_ERROR);
        m.code = (sm_errcode)c;
        m.message = "filter error at column 16: expected a quoted value after 'is' " NASTY;
        roundtrip(&m); /* no id */
        m.id = 7;
        roundtrip(&m);
        m.id = SM_INT_MAX_JSON;
        m.message = "";
        roundtrip(&m);
    }
}

static void test_roundtrip_reply_every_op(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_REPLY);
    m.id = 7;
    m.op = SM_MSG_GET;
    roundtrip(&m); /* empty map */
    m.properties = (sm_kvs){props_nasty, 5};
    roundtrip(&m);
    m = msg(SM_MSG_REPLY);
    m.id = 8;
    m.op = SM_MSG_SET;
    roundtrip(&m);
    m.changed = (sm_kvs){props_with_nulls, 4};
    roundtrip(&m);
    const sm_msg_type count_ops[] = {SM_MSG_SET_BY_FILTER, SM_MSG_CLOSE_BY_FILTER};
    for (size_t i = 0; i < 2; i++) {
        m = msg(SM_MSG_REPLY);
        m.id = 9;
        m.op = count_ops[i];
        m.count = 0;
        roundtrip(&m);
        m.count = SM_INT_MAX_JSON;
        roundtrip(&m);
    }
    m = msg(SM_MSG_REPLY);
    m.id = 10;
    m.op = SM_MSG_ADD_LISTENER;
    m.listener = 3;
    roundtrip(&m);
    m = msg(SM_MSG_REPLY);
    m.id = 11;
    m.op = SM_MSG_PING;
    m.time = 1700000000123;
    roundtrip(&m);
    const sm_msg_type bare_ops[] = {SM_MSG_CLOSE_SESSION, SM_MSG_REMOVE_LISTENER, SM_MSG_CLOSE_SELF};
    for (size_t i = 0; i < 3; i++) {
        m = msg(SM_MSG_REPLY);
        m.id = 12;
        m.op = bare_ops[i];
        roundtrip(&m);
    }
}

static void test_roundtrip_events(void **state)
{
    (void)state;
    sm_kv props[] = {{"$Principal", "operator"}, {"Department", "Accounts"}, {"n", NASTY}};
    sm_kv changed[] = {{"Tier", "silver"}, {"Region", NULL}};
    sm_event evs[SM_EVENT_TYPE_COUNT + SM_CLOSE_REASON_COUNT + 2];
    size_t n = 0;
    memset(evs, 0, sizeof evs);
    for (int t = 1; t < SM_EVENT_TYPE_COUNT; t++) {
        sm_event *e = &evs[n++];
        e->type = (sm_event_type)t;
        e->session_id = "5f1c09a2-0000002a";
        e->state = (sm_session_state)(1 + t % 3);
        e->properties = (sm_kvs){props, (size_t)(t % 4)};
        e->has_changed = t % 2 == 0;
        e->changed = (sm_kvs){e->has_changed && t > 2 ? changed : NULL, e->has_changed && t > 2 ? 2 : 0};
        e->snapshot = t == SM_EVENT_OPEN;
        if (t == SM_EVENT_CLOSED)
            e->reason = SM_CLOSE_CLOSED_BY_CONTROLLER;
    }
    for (int r = 1; r < SM_CLOSE_REASON_COUNT; r++) {
        sm_event *e = &evs[n++];
        e->type = SM_EVENT_CLOSED;
        e->session_id = "";
        e->state = SM_STATE_CLOSED;
        e->reason = (sm_close_reason)r;
    }
    sm_msg m = msg(SM_MSG_EVENTS);
    m.listener = 3;
    m.events = evs;
    m.event_count = n;
    roundtrip(&m);
    m.event_count = 1;
    m.listener = SM_INT_MAX_JSON;
    roundtrip(&m);
    m.event_count = 0; /* an empty batch is legal, if pointless */
    m.events = NULL;
    roundtrip(&m);
}

static void test_roundtrip_snapshot_end(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_SNAPSHOT_END);
    m.listener = 3;
    m.count = 14872;
    roundtrip(&m);
    m.count = 0;
    m.listener = 0;
    roundtrip(&m);
}

/* sm_events_begin/add/end must produce exactly what sm_msg_encode produces for the same batch. */
static void test_incremental_events_match_full_encode(void **state)
{
    (void)state;
    sm_kv props[] = {{"a", "1"}, {"b", "2"}};
    sm_event evs[3] = {
        {.type = SM_EVENT_OPEN, .session_id = "s1", .state = SM_STATE_ACTIVE, .properties = {props, 2}, .snapshot = true},
        {.type = SM_EVENT_PROPERTIES, .session_id = "s1", .state = SM_STATE_ACTIVE, .properties = {props, 1},
         .has_changed = true, .changed = {props + 1, 1}},
        {.type = SM_EVENT_CLOSED, .session_id = "s2", .state = SM_STATE_CLOSED, .reason = SM_CLOSE_SERVER_CLOSING},
    };
    sm_msg m = msg(SM_MSG_EVENTS);
    m.listener = 42;
    m.events = evs;
    m.event_count = 3;
    sm_buf full, inc;
    sm_buf_init(&full, 0, 0);
    sm_buf_init(&inc, HEADROOM, 0);
    assert_int_equal(sm_msg_encode(&m, &full), SM_OK);
    assert_int_equal(sm_events_begin(&inc, 42), SM_OK);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(sm_events_add(&inc, &evs[i], i == 0), SM_OK);
    assert_int_equal(sm_events_end(&inc), SM_OK);
    assert_string_equal(sm_buf_payload(&inc), sm_buf_payload(&full));

    /* a bad event is refused and leaves the batch intact */
    sm_event bad = {.type = SM_EVENT_CLOSED, .session_id = "s3", .state = SM_STATE_CLOSED};
    sm_buf_reset(&inc);
    assert_int_equal(sm_events_begin(&inc, 42), SM_OK);
    assert_int_equal(sm_events_add(&inc, &evs[0], true), SM_OK);
    size_t len = inc.len;
    assert_int_equal(sm_events_add(&inc, &bad, false), SM_ERR_INVALID);
    assert_int_equal(inc.len, len);
    assert_int_equal(sm_events_add(&inc, &evs[1], false), SM_OK);
    assert_int_equal(sm_events_add(&inc, &evs[2], false), SM_OK);
    assert_int_equal(sm_events_end(&inc), SM_OK);
    assert_string_equal(sm_buf_payload(&inc), sm_buf_payload(&full));
    assert_int_equal(sm_events_begin(&inc, -1), SM_ERR_INVALID);
    assert_int_equal(sm_events_begin(&inc, SM_INT_MAX_JSON + 1), SM_ERR_INVALID);
    assert_int_equal(sm_events_add(&inc, NULL, true), SM_ERR_INVALID);
    sm_buf_free(&full);
    sm_buf_free(&inc);
}

/* The exact bytes of a few messages, so the wire format cannot drift unnoticed. */
static void test_encode_exact_text(void **state)
{
    (void)state;
    sm_buf b;
    sm_buf_init(&b, 0, 0);
    sm_kv changed[] = {{"Tier", "silver"}, {"Region", NULL}};
    sm_msg m = msg(SM_MSG_REPLY);
    m.id = 7;
    m.op = SM_MSG_SET;
    m.changed = (sm_kvs){changed, 2};
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_string_equal(sm_buf_payload(&b),
                        "{\"type\":\"reply\",\"id\":7,\"op\":\"set\",\"changed\":{\"Tier\":\"silver\",\"Region\":null}}");
    sm_buf_reset(&b);
    m = msg(SM_MSG_HEARTBEAT);
    m.seq = 12;
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "{\"type\":\"heartbeat\",\"seq\":12}");
    sm_buf_reset(&b);
    m = msg(SM_MSG_OPENED);
    m.session_id = "S";
    m.token = "T";
    m.principal = "P";
    m.roles = "\"OPERATOR\"";
    m.permissions = SM_PERM_ALL;
    m.server_name = "sessmond";
    m.reconnect_timeout = 60000;
    m.heartbeat_interval = 15000;
    m.max_message_bytes = 65536;
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_string_equal(sm_buf_payload(&b),
                        "{\"type\":\"opened\",\"sessionId\":\"S\",\"token\":\"T\",\"principal\":\"P\","
                        "\"roles\":\"\\\"OPERATOR\\\"\",\"permissions\":[\"view_session\",\"modify_session\","
                        "\"register_handler\"],\"serverName\":\"sessmond\",\"resumed\":false,"
                        "\"reconnectTimeout\":60000,\"heartbeatInterval\":15000,\"maxMessageBytes\":65536,"
                        "\"audited\":false}");
    sm_buf_reset(&b);
    m = msg(SM_MSG_ERROR);
    m.code = SM_CODE_INVALID_REQUEST;
    m.message = "x";
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_string_equal(sm_buf_payload(&b), "{\"type\":\"error\",\"code\":\"INVALID_REQUEST\",\"message\":\"x\"}");
    sm_buf_free(&b);
}

/* Encoding m must fail with rc and leave the buffer exactly as it was. */
static void expect_encode_fails(const sm_msg *m, int rc)
{
    sm_buf b;
    sm_buf_init(&b, HEADROOM, 0);
    assert_int_equal(sm_buf_puts(&b, "prefix"), SM_OK);
    assert_int_equal(sm_msg_encode(m, &b), rc);
    assert_int_equal(b.len, 6);
    assert_string_equal(sm_buf_payload(&b), "prefix");
    sm_buf_free(&b);
}

static void test_encode_rejects_unencodable(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_NONE);
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.type = SM_MSG_TYPE_COUNT;
    expect_encode_fails(&m, SM_ERR_INVALID);
    assert_int_equal(sm_msg_encode(NULL, NULL), SM_ERR_INVALID);

    m = msg(SM_MSG_OPEN); /* principal required */
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.principal = "p";
    sm_kv with_null[] = {{"a", NULL}};
    m.properties = (sm_kvs){with_null, 1}; /* open properties have no nulls */
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.properties = (sm_kvs){NULL, 1};
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.properties = (sm_kvs){NULL, 0};
    char env[258];
    memset(env, 'e', 257);
    env[257] = '\0';
    m.environment = env;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_GET);
    m.session_id = "s"; /* id 0 */
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.id = -5;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.id = SM_INT_MAX_JSON + 1;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.id = 1;
    m.session_id = NULL;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.session_id = "s";
    m.has_keys = true;
    const char *keys[] = {"a", NULL};
    m.keys = (sm_strs){keys, 2};
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_SET);
    m.id = 1;
    m.session_id = "s";
    sm_kv null_key[] = {{NULL, "v"}};
    m.properties = (sm_kvs){null_key, 1};
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_SET_BY_FILTER);
    m.id = 1;
    expect_encode_fails(&m, SM_ERR_INVALID); /* filter required */

    m = msg(SM_MSG_ADD_LISTENER);
    m.id = 1;
    m.has_after = true;
    m.after = -1;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_HEARTBEAT);
    m.seq = -1;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_OPENED);
    m.session_id = m.token = m.principal = m.roles = m.server_name = "x";
    m.permissions = 1u << 5;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.permissions = 0;
    m.roles = NULL;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_REFUSED);
    m.message = "x"; /* code NONE */
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.code = SM_CODE_COUNT;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.code = SM_CODE_ACCESS_DENIED;
    m.message = NULL;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_ERROR);
    m.code = SM_CODE_ACCESS_DENIED;
    m.message = "x";
    m.id = -1;
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_REPLY);
    m.id = 1;
    m.op = SM_MSG_OPEN; /* not a request with a reply */
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.op = SM_MSG_HEARTBEAT_ACK;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.op = SM_MSG_NONE;
    expect_encode_fails(&m, SM_ERR_INVALID);
    m.op = SM_MSG_GET;
    m.properties = (sm_kvs){with_null, 1};
    expect_encode_fails(&m, SM_ERR_INVALID);

    m = msg(SM_MSG_EVENTS);
    m.event_count = 1; /* events NULL */
    expect_encode_fails(&m, SM_ERR_INVALID);
    sm_event ev = {.type = SM_EVENT_OPEN, .session_id = "s", .state = SM_STATE_ACTIVE};
    m.events = &ev;
    ev.state = SM_STATE_NONE;
    expect_encode_fails(&m, SM_ERR_INVALID);
    ev.state = SM_STATE_ACTIVE;
    ev.type = SM_EVENT_NONE;
    expect_encode_fails(&m, SM_ERR_INVALID);
    ev.type = SM_EVENT_CLOSED; /* reason NONE */
    expect_encode_fails(&m, SM_ERR_INVALID);
    ev.type = SM_EVENT_OPEN;
    ev.session_id = NULL;
    expect_encode_fails(&m, SM_ERR_INVALID);
    ev.session_id = "s";
    ev.properties = (sm_kvs){with_null, 1};
    expect_encode_fails(&m, SM_ERR_INVALID);
}

static void test_encode_limit(void **state)
{
    (void)state;
    sm_msg m = msg(SM_MSG_PING);
    m.id = 123;
    sm_buf b;
    /* {"type":"ping","id":123} is 24 bytes */
    sm_buf_init(&b, HEADROOM, 24);
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_int_equal(b.len, 24);
    sm_buf_reset(&b);
    b.max = 23;
    assert_int_equal(sm_msg_encode(&m, &b), SM_ERR_LIMIT);
    assert_true(b.overflow);
    assert_int_equal(b.len, 0);
    assert_string_equal(sm_buf_payload(&b), "");
    sm_buf_free(&b);

    /* a second message that does not fit leaves the first intact */
    sm_buf_init(&b, 0, 40);
    assert_int_equal(sm_msg_encode(&m, &b), SM_OK);
    assert_int_equal(sm_msg_encode(&m, &b), SM_ERR_LIMIT);
    assert_string_equal(sm_buf_payload(&b), "{\"type\":\"ping\",\"id\":123}");
    sm_buf_free(&b);
}

static void test_decoded_message_owns_its_strings(void **state)
{
    (void)state;
    char *text = strdup("{\"type\":\"set\",\"id\":5,\"sessionId\":\"abc\",\"properties\":{\"k\":\"v\",\"d\":null}}");
    assert_non_null(text);
    sm_msg m;
    sm_error err;
    assert_int_equal(sm_msg_decode(text, strlen(text), 0, &m, &err), SM_OK);
    memset(text, 'X', strlen(text)); /* the input buffer may be reused right away */
    free(text);
    assert_string_equal(m.session_id, "abc");
    assert_int_equal(m.properties.count, 2);
    assert_string_equal(m.properties.items[0].key, "k");
    assert_string_equal(m.properties.items[0].value, "v");
    assert_null(m.properties.items[1].value);
    sm_msg_free(&m);
    assert_null(m.priv_json);
    assert_null(m.priv_alloc);
    sm_msg_free(&m); /* twice is harmless */
    sm_msg zero;
    memset(&zero, 0, sizeof zero);
    sm_msg_free(&zero);
    sm_msg_free(NULL);
}

static void test_decode_big_events_batch(void **state)
{
    (void)state;
    /* 20000 events with 5 properties each: one decode, one allocation for the arrays */
    enum { N = 20000 };
    sm_kv props[5] = {{"p0", "v0"}, {"p1", "v1"}, {"p2", "v2"}, {"p3", "v3"}, {"p4", "v4"}};
    sm_event *evs = calloc(N, sizeof *evs);
    assert_non_null(evs);
    char (*ids)[24] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "s-%zu", i);
        evs[i] = (sm_event){.type = SM_EVENT_PROPERTIES, .session_id = ids[i], .state = SM_STATE_ACTIVE,
                            .properties = {props, 5}, .has_changed = true, .changed = {props, 5}};
    }
    sm_msg m = msg(SM_MSG_EVENTS);
    m.listener = 1;
    m.events = evs;
    m.event_count = N;
    roundtrip(&m);
    free(ids);
    free(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_names_out_of_range_and_unknown),
        cmocka_unit_test(test_close_reason_ws_codes),
        cmocka_unit_test(test_roundtrip_open),
        cmocka_unit_test(test_roundtrip_resume),
        cmocka_unit_test(test_roundtrip_get),
        cmocka_unit_test(test_roundtrip_set),
        cmocka_unit_test(test_roundtrip_set_by_filter),
        cmocka_unit_test(test_roundtrip_close_session_and_by_filter),
        cmocka_unit_test(test_roundtrip_add_remove_listener),
        cmocka_unit_test(test_roundtrip_ping_close_self_heartbeats),
        cmocka_unit_test(test_roundtrip_opened),
        cmocka_unit_test(test_roundtrip_refused_and_error),
        cmocka_unit_test(test_roundtrip_reply_every_op),
        cmocka_unit_test(test_roundtrip_events),
        cmocka_unit_test(test_roundtrip_snapshot_end),
        cmocka_unit_test(test_incremental_events_match_full_encode),
        cmocka_unit_test(test_encode_exact_text),
        cmocka_unit_test(test_encode_rejects_unencodable),
        cmocka_unit_test(test_encode_limit),
        cmocka_unit_test(test_decoded_message_owns_its_strings),
        cmocka_unit_test(test_decode_big_events_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
