/* sessmond integration tests: hostile input never crashes the server and never changes state. */
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
    tc admin;
    long long listener; /* admin's listener on everything with Watch = 'y' */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *limits = "{\"limits\":{\"maxPropertiesPerSession\":4,\"maxMessageBytes\":8192}}";
    if (!f || sm_test_server_start_with(&f->srv, limits) != 0) {
        free(f);
        return -1;
    }
    tc_open(&f->admin, &f->srv, "admin", "admin", NULL);
    cJSON *r = tc_ok(&f->admin, "{\"type\":\"add_listener\",\"filter\":\"Watch is 'y'\"}");
    f->listener = tc_int(r, "listener");
    cJSON_Delete(r);
    long long n;
    cJSON_Delete(tc_snapshot(&f->admin, f->listener, &n));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* Whatever happened, the server still answers. */
    cJSON_Delete(tc_ok(&f->admin, "{\"type\":\"ping\"}"));
    tc_close(&f->admin);
    int st = sm_test_server_stop(&f->srv);
    free(f);
    return st == 0 ? 0 : -1;
}

static cJSON *next_error(tc *c)
{
    cJSON *e = tc_next(c, "error", TC_TIMEOUT_MS);
    assert_non_null(e);
    assert_string_equal(tc_str(e, "code"), "INVALID_REQUEST");
    return e;
}

/* The admin's next event about sid (events about earlier test sessions are skipped). */
static cJSON *event_about(fixture *f, const char *sid)
{
    for (;;) {
        cJSON *ev = tc_event(&f->admin, f->listener, TC_TIMEOUT_MS);
        if (!ev)
            fail_msg("no event about %s", sid);
        if (strcmp(tc_str(ev, "session"), sid) == 0)
            return ev;
        cJSON_Delete(ev);
    }
}

static void expect_closed(fixture *f, tc *c, int code, const char *reason)
{
    char got[128];
    assert_int_equal(tc_wait_close(c, got, sizeof got, TC_TIMEOUT_MS), code);
    assert_string_equal(got, reason);
    cJSON *ev = event_about(f, c->session_id);
    assert_string_equal(tc_str(ev, "event"), "CLOSED");
    assert_string_equal(tc_str(ev, "reason"), reason);
    cJSON_Delete(ev);
}

static void open_watched(fixture *f, tc *c)
{
    tc_open(c, &f->srv, "client", "client", "{\"Watch\":\"y\"}");
    cJSON *ev = event_about(f, c->session_id);
    assert_string_equal(tc_str(ev, "event"), "OPEN");
    cJSON_Delete(ev);
}

static void test_malformed_messages_keep_session(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    static const char *const bad[] = {
        "{not json",
        "[1,2,3]",
        "\"a string\"",
        "{\"type\":\"frobnicate\",\"id\":5}",
        "{\"type\":\"get\",\"id\":6}",
        "{\"type\":\"get\",\"id\":\"7\",\"sessionId\":\"x\"}",
        "{\"type\":\"get\",\"id\":-1,\"sessionId\":\"x\"}",
        "{\"type\":\"get\",\"id\":1.5,\"sessionId\":\"x\"}",
        "{\"type\":\"set\",\"id\":8,\"sessionId\":\"x\",\"properties\":{\"a\":5}}",
        "{\"type\":\"set\",\"id\":9,\"sessionId\":\"x\\u0000y\",\"properties\":{}}",
        "{\"type\":\"opened\",\"id\":10}",
        "{\"id\":11}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sm_ws_send_text(&c.ws, bad[i]), SM_WS_OK);
        cJSON *e = tc_next(&c, "error", TC_TIMEOUT_MS);
        if (!e || strcmp(tc_str(e, "code"), "INVALID_REQUEST") != 0)
            fail_msg("no INVALID_REQUEST for %s", bad[i]);
        if (i == 0) /* no readable id: none in the error */
            assert_null(cJSON_GetObjectItemCaseSensitive(e, "id"));
        cJSON_Delete(e);
    }
    /* An error for a readable id carries it. */
    assert_int_equal(sm_ws_send_text(&c.ws, "{\"type\":\"frobnicate\",\"id\":42}"), SM_WS_OK);
    cJSON *e = next_error(&c);
    assert_int_equal(tc_int(e, "id"), 42);
    cJSON_Delete(e);
    /* So does the refusal of a \u0000 in a value (docs/protocol.md § Transport and § error). */
    assert_int_equal(
        sm_ws_send_text(&c.ws, "{\"type\":\"set\",\"id\":5,\"sessionId\":\"x\",\"properties\":{\"k\":\"a\\u0000b\"}}"),
        SM_WS_OK);
    e = next_error(&c);
    assert_int_equal(tc_int(e, "id"), 5);
    assert_string_equal(tc_str(e, "code"), "INVALID_REQUEST");
    assert_non_null(strstr(tc_str(e, "message"), "\\u0000"));
    cJSON_Delete(e);
    /* A filter over the size limit: the documented words (libsessmon says the same). */
    char *big = malloc(4200);
    assert_non_null(big);
    memset(big, ' ', 4097);
    memcpy(big, "all", 3);
    big[4097] = '\0';
    e = tc_err(&f->admin, "INVALID_FILTER", "{\"type\":\"close_by_filter\",\"filter\":\"%s\"}", big);
    assert_string_equal(tc_str(e, "message"),
                        "filter error at column 4097: expected at most 4096 bytes; the filter is 4097 bytes long");
    cJSON_Delete(e);
    free(big);
    /* A raw NUL byte is malformed JSON, not a transport error. */
    static const char with_nul[] = "{\"type\":\"ping\",\"id\":1}\0";
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_TEXT, true, with_nul, sizeof with_nul - 1), SM_WS_OK);
    cJSON_Delete(next_error(&c));
    /* Still fine. */
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    /* A second open on an opened session (open carries no id). */
    assert_int_equal(sm_ws_send_text(&c.ws, "{\"type\":\"open\",\"principal\":\"\"}"), SM_WS_OK);
    cJSON_Delete(next_error(&c));
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    tc_close(&c);
}

static void test_sixteen_bad_in_a_row_close(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    /* 15 bad, then a good one resets the count. */
    for (int i = 0; i < 15; i++)
        assert_int_equal(sm_ws_send_text(&c.ws, "{oops"), SM_WS_OK);
    cJSON_Delete(tc_ok(&c, "{\"type\":\"ping\"}"));
    for (int i = 0; i < 15; i++) /* their answers (no id) */
        cJSON_Delete(next_error(&c));
    /* 16 at once: every one is answered (with its id) before the close frame. */
    char msg[96];
    for (int i = 1; i <= 16; i++) {
        snprintf(msg, sizeof msg, "{\"type\":\"get\",\"id\":%d}", 100 + i);
        assert_int_equal(sm_ws_send_text(&c.ws, msg), SM_WS_OK);
    }
    for (int i = 1; i <= 16; i++) {
        cJSON *e = tc_next(&c, "error", TC_TIMEOUT_MS);
        if (!e)
            fail_msg("only %d of the 16 INVALID_REQUEST errors arrived before the close", i - 1);
        assert_string_equal(tc_str(e, "code"), "INVALID_REQUEST");
        assert_int_equal(tc_int(e, "id"), 100 + i);
        cJSON_Delete(e);
    }
    expect_closed(f, &c, 1008, "INVALID_INBOUND_MESSAGE");
    tc_close(&c);
}

static void test_oversize_closes_1009(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    size_t n = 70000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    memcpy(big, "{\"type\":\"ping\",\"id\":1}", 22);
    assert_int_equal(sm_ws_send_text(&c.ws, big), SM_WS_OK);
    free(big);
    expect_closed(f, &c, 1009, "MESSAGE_TOO_LARGE");
    tc_close(&c);
    /* 4 MiB and more: the frame's 64-bit length alone says it is too large; the close must still
     * be a close frame with 1009 while the client is busy sending the rest (it was 1006). */
    static const size_t huge[] = {4u * 1024u * 1024u, 16u * 1024u * 1024u + 1u};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        open_watched(f, &c);
        big = malloc(huge[i] + 1);
        assert_non_null(big);
        memset(big, ' ', huge[i]);
        big[huge[i]] = '\0';
        memcpy(big, "{\"type\":\"ping\",\"id\":1}", 22);
        /* The server reads the frame to its end before it closes: the send is not cut off by a
         * reset (which made clients report 1006). */
        int sent = sm_ws_send_text(&c.ws, big);
        free(big);
        assert_int_equal(sent, SM_WS_OK);
        expect_closed(f, &c, 1009, "MESSAGE_TOO_LARGE");
        tc_close(&c);
    }
    /* Fragmented: each frame small, the sum too large. */
    open_watched(f, &c);
    char chunk[1000];
    memset(chunk, ' ', sizeof chunk);
    chunk[0] = '{';
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_TEXT, false, chunk, sizeof chunk), SM_WS_OK);
    chunk[0] = ' ';
    for (int i = 0; i < 9; i++)
        assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_CONTINUATION, false, chunk, sizeof chunk), SM_WS_OK);
    expect_closed(f, &c, 1009, "MESSAGE_TOO_LARGE");
    tc_close(&c);
}

static void test_fragmented_message_is_reassembled(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    /* A 3-fragment message bigger than the server's 512-byte receive buffer. */
    char body[3000];
    int len = snprintf(body, sizeof body, "{\"type\":\"set\",\"id\":77,\"sessionId\":\"%s\",\"properties\":{\"Long\":\"",
                       c.session_id);
    memset(body + len, 'z', 2000);
    len += 2000;
    len += snprintf(body + len, sizeof body - (size_t)len, "\"}}");
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_TEXT, false, body, 700), SM_WS_OK);
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_CONTINUATION, false, body + 700, 700), SM_WS_OK);
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_CONTINUATION, true, body + 1400, (size_t)len - 1400), SM_WS_OK);
    cJSON *r = tc_next(&c, NULL, TC_TIMEOUT_MS);
    assert_non_null(r);
    /* A client session lacks modify_session: the request was decoded and answered. */
    assert_string_equal(tc_str(r, "type"), "error");
    assert_string_equal(tc_str(r, "code"), "ACCESS_DENIED");
    assert_int_equal(tc_int(r, "id"), 77);
    cJSON_Delete(r);
    tc_close(&c);
}

static void test_binary_and_bad_utf8_close(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_BINARY, true, "{}", 2), SM_WS_OK);
    expect_closed(f, &c, 1003, "INVALID_INBOUND_MESSAGE");
    tc_close(&c);
    open_watched(f, &c);
    static const char bad_utf8[] = "{\"type\":\"ping\",\"id\":1,\"x\":\"\xc3\x28\"}";
    assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_TEXT, true, bad_utf8, sizeof bad_utf8 - 1), SM_WS_OK);
    expect_closed(f, &c, 1007, "INVALID_INBOUND_MESSAGE");
    tc_close(&c);
}

static void test_first_message_and_open_refusals(void **state)
{
    fixture *f = *state;
    tc c;
    memset(&c, 0, sizeof c);
    c.pending = cJSON_CreateArray();
    assert_int_equal(sm_ws_connect_port(&c.ws, f->srv.port), SM_WS_OK);
    assert_int_equal(sm_ws_send_text(&c.ws, "{\"type\":\"ping\",\"id\":1}"), SM_WS_OK);
    cJSON *r = tc_next(&c, "refused", TC_TIMEOUT_MS);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "INVALID_REQUEST");
    cJSON_Delete(r);
    char reason[128];
    assert_int_equal(tc_wait_close(&c, reason, sizeof reason, TC_TIMEOUT_MS), 1008);
    tc_close(&c);

    static const struct {
        const char *props, *code;
    } cases[] = {
        {"{\"$Principal\":\"root\"}", "INVALID_PROPERTY"},
        {"{\"bad key\":\"v\"}", "INVALID_PROPERTY"},
        {"{\"k\":\"\"}", NULL},
        {"{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\"}", "LIMIT_EXCEEDED"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = tc_try_open(&c, &f->srv, "client", "client", cases[i].props);
        if (cases[i].code) {
            assert_non_null(r);
            assert_string_equal(tc_str(r, "code"), cases[i].code);
        } else {
            assert_null(r);
        }
        cJSON_Delete(r);
        tc_close(&c);
    }
    /* No subprotocol: the handshake is refused. */
    sm_ws ws;
    sm_ws_opts o = {.host = "127.0.0.1", .port = f->srv.port, .subprotocol = ""};
    assert_int_equal(sm_ws_connect(&ws, &o), SM_WS_ERR);
    sm_ws_close(&ws);
    o.subprotocol = "other.v9";
    assert_int_equal(sm_ws_connect(&ws, &o), SM_WS_ERR);
    sm_ws_close(&ws);
}

static void test_invalid_properties_change_nothing(void **state)
{
    fixture *f = *state;
    tc t, u;
    tc_open(&t, &f->srv, "client", "client", "{\"a\":\"1\",\"b\":\"2\"}");
    tc_open(&u, &f->srv, "client", "client", "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}");
    tc *admin = &f->admin;
    char longval[4200];
    memset(longval, 'v', 4097);
    longval[4097] = '\0';
    cJSON *r = tc_err(admin, "INVALID_PROPERTY",
                      "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"a\":\"changed\",\"bad(key\":\"x\"}}",
                      t.session_id);
    assert_non_null(strstr(tc_str(r, "message"), "bad(key"));
    cJSON_Delete(r);
    cJSON_Delete(tc_err(admin, "INVALID_PROPERTY",
                        "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"a\":\"changed\",\"z\":\"%s\"}}",
                        t.session_id, longval));
    cJSON_Delete(tc_err(admin, "INVALID_PROPERTY", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"\":\"x\"}}",
                        t.session_id));
    /* 2 + 3 new > 4. */
    cJSON_Delete(tc_err(admin, "LIMIT_EXCEEDED",
                        "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"a\":\"changed\",\"x\":\"1\",\"y\":\"2\","
                        "\"z\":\"3\"}}",
                        t.session_id));
    /* Deletes make room: 3 - 2 + 3 = 4. */
    cJSON *ok = tc_ok(admin,
                      "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"b\":null,\"c\":null,\"x\":\"1\",\"y\":\"2\",\"z\":\"3\"}}",
                      u.session_id);
    cJSON_Delete(ok);
    /* set_by_filter: u is full now, so adding one more to both is rejected as a whole. */
    cJSON_Delete(tc_err(admin, "LIMIT_EXCEEDED",
                        "{\"type\":\"set_by_filter\",\"filter\":\"a is '1'\",\"properties\":{\"w\":\"1\"}}"));
    cJSON *g = tc_ok(admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*U\"]}", t.session_id);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(g, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 2);
    assert_string_equal(tc_str(props, "a"), "1");
    cJSON_Delete(g);
    /* $ keys other than the four settable ones, and deleting a fixed key, are errors that name
     * the key and list the settable ones; nothing of the map is applied. */
    r = tc_err(admin, "INVALID_PROPERTY",
               "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"$country\":\"fr\",\"z\":\"1\"}}",
               t.session_id);
    assert_non_null(strstr(tc_str(r, "message"), "'$country'"));
    assert_non_null(strstr(tc_str(r, "message"), "$Country, $Language, $Latitude and $Longitude"));
    cJSON_Delete(r);
    r = tc_err(admin, "INVALID_PROPERTY",
               "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"$Country\":\"fr\",\"$Principal\":\"x\"}}",
               t.session_id);
    assert_non_null(strstr(tc_str(r, "message"), "'$Principal'"));
    cJSON_Delete(r);
    r = tc_err(admin, "INVALID_PROPERTY", "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"$Country\":null}}",
               t.session_id);
    assert_non_null(strstr(tc_str(r, "message"), "cannot be deleted"));
    cJSON_Delete(r);
    r = tc_err(admin, "INVALID_PROPERTY",
               "{\"type\":\"set_by_filter\",\"filter\":\"all\",\"properties\":{\"$SessionId\":\"x\",\"z\":\"1\"}}");
    assert_non_null(strstr(tc_str(r, "message"), "'$SessionId'"));
    cJSON_Delete(r);
    g = tc_ok(admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*U\",\"$Country\"]}", t.session_id);
    props = cJSON_GetObjectItemCaseSensitive(g, "properties");
    assert_null(cJSON_GetObjectItemCaseSensitive(props, "z"));
    assert_string_not_equal(tc_str(props, "$Country"), "FR");
    cJSON_Delete(g);
    /* Invalid filters name the column. */
    r = tc_err(admin, "INVALID_FILTER", "{\"type\":\"close_by_filter\",\"filter\":\"a is '1' and\"}");
    assert_non_null(strstr(tc_str(r, "message"), "column"));
    cJSON_Delete(r);
    cJSON_Delete(tc_err(admin, "INVALID_FILTER", "{\"type\":\"close_by_filter\",\"filter\":\"\"}"));
    g = tc_ok(admin, "{\"type\":\"get\",\"sessionId\":\"%s\"}", t.session_id);
    cJSON_Delete(g);
    tc_close(&t);
    tc_close(&u);
}

/* A property map naming a key twice is a decode error (docs/protocol.md § Conventions): the
 * request is refused whole and nothing changes. An over-long environment refuses the open. */
static void test_repeated_keys_and_long_environment(void **state)
{
    fixture *f = *state;
    tc t;
    tc_open(&t, &f->srv, "client", "client", "{\"a\":\"1\"}");
    cJSON_Delete(tc_err(&f->admin, "INVALID_REQUEST",
                        "{\"type\":\"set\",\"sessionId\":\"%s\",\"properties\":{\"a\":\"2\",\"b\":\"x\",\"a\":\"3\"}}",
                        t.session_id));
    cJSON_Delete(tc_err(&f->admin, "INVALID_REQUEST",
                        "{\"type\":\"set_by_filter\",\"filter\":\"a is '1'\",\"properties\":{\"a\":null,\"a\":\"4\"}}"));
    cJSON *g = tc_ok(&f->admin, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"*U\"]}", t.session_id);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(g, "properties");
    assert_int_equal(cJSON_GetArraySize(props), 1);
    assert_string_equal(tc_str(props, "a"), "1");
    cJSON_Delete(g);
    tc_close(&t);

    tc c;
    memset(&c, 0, sizeof c);
    c.pending = cJSON_CreateArray();
    assert_int_equal(sm_ws_connect_port(&c.ws, f->srv.port), SM_WS_OK);
    char env[300];
    memset(env, 'e', 257);
    env[257] = '\0';
    assert_int_equal(sm_ws_send_textf(&c.ws, "{\"type\":\"open\",\"principal\":\"\",\"environment\":\"%s\"}", env),
                     SM_WS_OK);
    cJSON *r = tc_next(&c, "refused", TC_TIMEOUT_MS);
    assert_non_null(r);
    assert_string_equal(tc_str(r, "code"), "INVALID_REQUEST");
    assert_non_null(strstr(tc_str(r, "message"), "environment"));
    cJSON_Delete(r);
    tc_close(&c);
}

/* A message cut into thousands of tiny fragments with pings between them is reassembled (the
 * pings answered on the way) and costs nothing more than the message itself. */
static void test_tiny_fragments_with_pings(void **state)
{
    fixture *f = *state;
    tc c;
    open_watched(f, &c);
    char body[4000];
    int len = snprintf(body, sizeof body,
                       "{\"type\":\"get\",\"id\":91,\"sessionId\":\"%s\",\"keys\":[\"Watch\"],\"pad\":\"", c.session_id);
    memset(body + len, '.', 3000);
    len += 3000;
    len += snprintf(body + len, sizeof body - (size_t)len, "\"}");
    int pings = 0;
    for (int at = 0; at < len; at++) {
        int op = at == 0 ? SM_WS_OP_TEXT : SM_WS_OP_CONTINUATION;
        assert_int_equal(sm_ws_send_frame(&c.ws, op, at == len - 1, body + at, 1), SM_WS_OK);
        if (at % 100 == 50) {
            assert_int_equal(sm_ws_send_frame(&c.ws, SM_WS_OP_PING, true, "p", 1), SM_WS_OK);
            pings++;
        }
    }
    int pongs = 0;
    cJSON *r = NULL;
    while (!r) {
        int opcode;
        bool fin;
        unsigned char *data;
        size_t n;
        assert_int_equal(sm_ws_read_frame(&c.ws, &opcode, &fin, &data, &n, TC_TIMEOUT_MS), SM_WS_OK);
        if (opcode == SM_WS_OP_PONG)
            pongs++;
        else if (opcode == SM_WS_OP_TEXT)
            r = cJSON_Parse((char *)data);
        free(data);
    }
    /* lws answers the latest ping of a burst, so at least one pong, never more than pings. */
    assert_true(pongs >= 1 && pongs <= pings);
    /* A client session lacks view_session: the request was decoded whole and answered. */
    assert_string_equal(tc_str(r, "type"), "error");
    assert_string_equal(tc_str(r, "code"), "ACCESS_DENIED");
    assert_int_equal(tc_int(r, "id"), 91);
    cJSON_Delete(r);
    tc_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_messages_keep_session),
        cmocka_unit_test(test_sixteen_bad_in_a_row_close),
        cmocka_unit_test(test_oversize_closes_1009),
        cmocka_unit_test(test_fragmented_message_is_reassembled),
        cmocka_unit_test(test_binary_and_bad_utf8_close),
        cmocka_unit_test(test_first_message_and_open_refusals),
        cmocka_unit_test(test_invalid_properties_change_nothing),
        cmocka_unit_test(test_repeated_keys_and_long_environment),
        cmocka_unit_test(test_tiny_fragments_with_pings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
